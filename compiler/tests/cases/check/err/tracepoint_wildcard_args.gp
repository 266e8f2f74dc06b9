tracepoint:syscalls:sys_enter_* { @x = args.fd; }
