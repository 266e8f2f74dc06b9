usdt:./nousdt:app:request { printf("hit\n"); }
