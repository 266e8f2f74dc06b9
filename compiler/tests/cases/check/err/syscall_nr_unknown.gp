// syscall_nr: a constant from a name; unknown names are refused.
BEGIN { @[syscall_nr("openat"), syscall_nr("all")] = count(); printf("%d\n", syscall_nr("opnat")); }
