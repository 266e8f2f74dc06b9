// `curtask` is `struct task_struct *` (from BTF): fields to any depth, `comm` as a string.
tracepoint:syscalls:sys_enter_openat {
  printf("%d %s %d\n", curtask->pid, curtask->comm, curtask->real_parent->real_parent->pid);
  $t = (struct task_struct *)curtask;
  @comms[$t->comm, str($t->real_parent->comm)] = count();
  @fsbase = $t->thread.fsbase;
}
