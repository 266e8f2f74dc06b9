BEGIN { printf("%d\n", *uaddr("counter")); }
