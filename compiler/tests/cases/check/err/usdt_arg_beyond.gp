// `app:request` has two arguments: arg2 is not one of them.
usdt:./app:app:request { printf("%d %d\n", arg1, arg2); }
