tracepoint:syscalls:sys_enter_openat { @files[str(args.filename)] = count(); @flags = args->flags; }
