BEGIN { printf("%x %d\n", kaddr("no_such_symbol"), cgroupid("/nope")); }
