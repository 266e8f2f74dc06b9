// str(p, n) with a run-time n reads at most the 64-byte string buffer; n characters and a NUL.
tracepoint:syscalls:sys_enter_openat { $n = args->flags & 7; printf("%s %s %s\n", str(args->filename, $n), str(args->filename, $n + 100), str(args->filename, 5)); }
