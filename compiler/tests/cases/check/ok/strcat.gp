// strcat joins two strings into one of both sizes less one NUL: a map key, a value, printed.
tracepoint:syscalls:sys_enter_openat { @[strcat(comm, ":")] = count(); $p = strcat(str(args.filename, 32), "!"); printf("%s\n", $p); }
