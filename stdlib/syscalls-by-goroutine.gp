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
//   @by_goroutine[22]: 98
//   @by_goroutine[0]: 188          (threads with no goroutine: sysmon, idle Ms)
//   @by_stack[74,
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
//   @latency_us[74]:
//   [256, 512)             2 |@@@@@@@@@@                                          |
//   [512, 1K)             10 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//   [1K, 2K)               3 |@@@@@@@@@@@@@@@                                     |
//   [2K, 4K)               1 |@@@@@                                               |
//   [4K, 8K)               2 |@@@@@@@@@@                                          |
//   [8K, 16K)              2 |@@@@@@@@@@                                          |
//   @syscalls[257]: 20
//   @syscalls[74]: 20
//   @syscalls[1]: 41
//   @syscalls[202]: 63
//   @syscalls[0]: 64
// (20 requests to /syscall: 20 openat (257) and 20 fsync (74), all from main.syncWrite)

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
