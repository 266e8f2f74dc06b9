// target
// gocaller: the user's frame of the goroutine's stack, kept in the value (an event field here).
tracepoint:syscalls:sys_enter_openat /pid == tpid/ { printf("%s %s\n", str(args.filename), gocaller); @[gocaller] = count(); }
