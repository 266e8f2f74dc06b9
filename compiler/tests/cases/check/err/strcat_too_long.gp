// Two 200-byte strings make more than a string holds (256 bytes).
tracepoint:syscalls:sys_enter_openat { @ = strcat(str(args.filename, 200), str(args.filename, 200)); }
