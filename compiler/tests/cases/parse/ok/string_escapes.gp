BEGIN { printf("tab\there\nquote\" backslash\\ hex\x41 oct\101 nul\0\n"); }
