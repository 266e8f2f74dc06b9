// Bit-fields read as integers of their declared type.
tracepoint:syscalls:sys_enter_openat {
  @reset[curtask->sched_reset_on_fork] = count();
  if (curtask->sched_contributes_to_load) { printf("load\n"); }
}
