BEGIN { printf("%q\n", pid); }
