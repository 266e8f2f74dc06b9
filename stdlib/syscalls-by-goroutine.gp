// syscalls-by-goroutine: syscall counts and latency per goroutine, with the Go stack that made them
//
// Run:  gprobe --recipe syscalls-by-goroutine -p PID [SECONDS]
//
// The goroutine-aware strace: the kernel's `raw_syscalls:sys_enter`/`sys_exit` tracepoints see
// every syscall of every thread; `goid` there is read through the thread's TLS (Go's slot, e.g.
// `fs_base - 8` → g, and `g.m.curg` when on the system stack) and `gostack` walks the
// goroutine's frames. The target is `tpid`, the pid of -p or -c, which the runtime writes before
// attaching (no probe in the target).
// Syscalls print by name (`syscall_name`, gprobe's table for the architecture) and failures by
// errno name (`@errors[openat, ENOENT]`, from `errno_name` of the negative result).
//
// @param $1 SECONDS=0 stop after SECONDS (0: run until Ctrl-C or the target exits)
//
// Sample output (Go 1.27.3 examples/shop; examples/load -paths /syscall -n 20 -c 4; excerpt):
//   @by_goroutine[2]: 91
//   @by_goroutine[0]: 197
//   @by_stack[fsync,
//           internal/runtime/syscall/linux.Syscall6+14
//           syscall.Syscall+70
//           syscall.Fsync+37
//           internal/poll.(*FD).Fsync.func1 (inlined)
//           internal/poll.ignoringEINTR (inlined)
//           internal/poll.(*FD).Fsync+229
//           os.(*File).Sync+59
//           main.syncWrite+337
//           main.main.func4+41
//           net/http.HandlerFunc.ServeHTTP+41
//   ]: 20
//   @latency_us[fsync]:
//   [512, 1K)              3 |@@@@@@@@@@@@@@@@@@@@@@                              |
//   [1K, 2K)               7 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//   [2K, 4K)               5 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@               |
//   [4K, 8K)               2 |@@@@@@@@@@@@@@                                      |
//   [8K, 16K)              3 |@@@@@@@@@@@@@@@@@@@@@@                              |
//   @errors[accept4, EAGAIN]: 3
//   @errors[epoll_ctl, EPERM]: 20
//   @errors[read, EAGAIN]: 39
//   (... every call made ...)
//   @syscalls[fsync]: 20
//   @syscalls[openat]: 20
//   @syscalls[unlinkat]: 20
//   @syscalls[write]: 41
//   @syscalls[epoll_pwait]: 46
//   @syscalls[read]: 65
//   @syscalls[nanosleep]: 70
//   @syscalls[futex]: 75
//   @syscalls[fcntl]: 80
// (20 requests to /syscall: 20 openat and 20 fsync, all from main.syncWrite; EAGAIN is the
// netpoller's non-blocking reads, EPERM epoll_ctl on a regular file)

tracepoint:raw_syscalls:sys_enter
/pid == tpid/
{
    @entered[tid] = nsecs;
    @syscalls[syscall_name(args.id)] = count();
    @by_goroutine[goid] = count();
    @by_stack[syscall_name(args.id), gostack(8)] = count();
}

tracepoint:raw_syscalls:sys_exit
/@entered[tid]/
{
    @latency_us[syscall_name(args.id)] = hist((nsecs - @entered[tid]) / 1000);
    if (args.ret < 0) {
        @errors[syscall_name(args.id), errno_name(args.ret)] = count();
    }
    delete(@entered[tid]);
}

interval:s:1
/$1 > 0 && elapsed >= $1 * 1000000000/
{
    exit();
}

END
{
    clear(@entered);
    print(@by_goroutine, 20);
    clear(@by_goroutine);
}
