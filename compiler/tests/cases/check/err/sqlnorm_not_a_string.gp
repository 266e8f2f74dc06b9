tracepoint:syscalls:sys_enter_openat { @calls[sqlnorm(args->flags)] = count(); }
