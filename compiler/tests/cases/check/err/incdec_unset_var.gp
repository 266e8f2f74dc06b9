BEGIN { printf("%d\n", ++$k); }
