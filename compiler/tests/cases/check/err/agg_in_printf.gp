BEGIN { printf("%d\n", count()); }
