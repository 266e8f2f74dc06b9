BEGIN { @a = sizeof(struct nope); }
BEGIN { @b = offsetof(struct task_struct, thread.fsbas); }
BEGIN { @c = offsetof(struct task_struct, pid.x); }
tracepoint:syscalls:sys_enter_openat { @d = sizeof(kstack); }
