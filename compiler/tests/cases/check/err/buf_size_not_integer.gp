tracepoint:syscalls:sys_enter_openat { printf("%r\n", buf(args->filename, "all")); }
