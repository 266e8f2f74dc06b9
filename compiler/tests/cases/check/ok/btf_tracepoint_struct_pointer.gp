// naptime.bt: a tracepoint field typed `struct __kernel_timespec *` by its format.
tracepoint:syscalls:sys_enter_nanosleep
/args->rqtp->tv_sec + args->rqtp->tv_nsec/
{
  $task = (struct task_struct *)curtask;
  printf("%-6d %-16s %d.%03d\n", $task->real_parent->pid, $task->real_parent->comm,
    args->rqtp->tv_sec, (uint64)args->rqtp->tv_nsec / 1e6);
}
