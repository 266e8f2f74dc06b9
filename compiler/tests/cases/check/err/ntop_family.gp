BEGIN { printf("%s\n", ntop(10, 1)); }
BEGIN { $af = 2; printf("%s\n", ntop($af, 1)); }
BEGIN { printf("%s\n", ntop(3, 1)); }
