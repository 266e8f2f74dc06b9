// A probe the binary does not have: the nearest names it does.
usdt:./app:app:reqest { printf("%d\n", arg0); }
