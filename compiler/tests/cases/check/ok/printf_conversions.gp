BEGIN { printf("%d %i %u %x %X %o %c %s %p %-10s %5d %lld %% %s %s\n", 1, 2, 3, 4, 5, 6, 65, comm, curtask, "left", 7, 8, (1, "t"), probe); }
