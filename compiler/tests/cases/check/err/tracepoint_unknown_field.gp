tracepoint:syscalls:sys_enter_openat { @f = args.filname; }
