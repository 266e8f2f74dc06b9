// Without -p/-c a one-part USDT attach point has no binary.
usdt:request { printf("hit\n"); }
