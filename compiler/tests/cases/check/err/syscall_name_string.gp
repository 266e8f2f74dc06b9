// syscall_name takes a number, not a name.
BEGIN { printf("%s\n", syscall_name("openat")); }
