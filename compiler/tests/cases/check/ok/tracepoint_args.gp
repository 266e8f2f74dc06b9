tracepoint:syscalls:sys_enter_openat /args.flags & 1/ { @[comm, str(args->filename, 128)] = count(); }
