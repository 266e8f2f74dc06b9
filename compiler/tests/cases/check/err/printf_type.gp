BEGIN { printf("%d\n", comm); }
