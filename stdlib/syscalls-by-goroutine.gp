// syscalls-by-goroutine: syscall counts and latency per goroutine, with the Go stack that made them
//
// Run:  gprobe --recipe syscalls-by-goroutine -p PID [SECONDS]
//
// The goroutine-aware strace: the kernel's `raw_syscalls:sys_enter`/`sys_exit` tracepoints see
// every syscall of every thread; `goid` there is read through the thread's TLS (`fs_base - 8` →
// g, and `g.m.curg` when on the system stack) and `gostack` walks the goroutine's frames. The
// target's pid is learned from a uprobe on its scheduler (`runtime.execute` fires only in the
// target), so the recipe works with -p and -c alike. Syscall numbers are the architecture's
// (`ausyscall --dump`, e.g. 0 read, 1 write, 74 fsync, 202 futex on x86-64).
//
// @param $1 SECONDS=0 stop after SECONDS (0: run until Ctrl-C or the target exits)
//
// Sample output: NOT YET CAPTURED (needs the Go-aware back end: goid/gostack in tracepoints);
// the shape it will have, for examples/shop under examples/load (/syscall writes and fsyncs):
//   @syscalls[74]: 200
//   @latency_us[74]:
//   [512, 1K)            143 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//   @by_stack[74,
//       syscall.Syscall
//       internal/poll.(*FD).Fsync.func1
//       os.(*File).Sync
//       main.syncWrite
//   ]: 200

uprobe:runtime.execute
/!@target_pid/
{
    @target_pid = pid;
}

tracepoint:raw_syscalls:sys_enter
/pid == @target_pid/
{
    @entered[tid] = nsecs;
    @syscalls[args.id] = count();
    @by_goroutine[goid] = count();
    @by_stack[args.id, gostack(8)] = count();
}

tracepoint:raw_syscalls:sys_exit
/@entered[tid]/
{
    @latency_us[args.id] = hist((nsecs - @entered[tid]) / 1000);
    delete(@entered[tid]);
}

interval:s:1
/$1 > 0 && elapsed >= $1 * 1000000000/
{
    exit();
}

END
{
    delete(@target_pid);
    clear(@entered);
    print(@by_goroutine, 20);
    clear(@by_goroutine);
}
