// Numbers printed by name: a syscall (this architecture) and a failed result (-errno).
tracepoint:syscalls:sys_enter_openat { @[syscall_name(args.__syscall_nr)] = count(); }
BEGIN { printf("%s %s %s\n", syscall_name(257), errno_name(-2), errno_name(3)); }
