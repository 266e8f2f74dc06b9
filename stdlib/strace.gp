// strace: every system call of the target as it completes, with its goroutine and the Go function that made it
//
// Run:  gprobe --recipe strace -p PID [SECONDS] [MIN_US] [SYSCALL] [EVENTS]
//       gprobe --recipe strace -c './server' 0 1000 openat     (openat calls of 1 ms or more)
//       gprobe --recipe strace -p PID 10 0 all 1 -f json       (one JSON event per call)
//
// The goroutine-aware strace, without ptrace: the kernel's `raw_syscalls:sys_enter`/`sys_exit`
// tracepoints see every system call of every thread of the target (`tpid`), and the line is
// printed when the call returns (so in the order calls complete): wall-clock time, thread id,
// goroutine id — 0 and marked `runtime` for threads running no goroutine (idle Ms in `futex`,
// the netpoller's `epoll_pwait`, sysmon's `nanosleep`) — the call by name (`syscall_name`), its
// decoded arguments, the result or `-1 ENOENT` (`errno_name`), the time it took, and the user's
// Go function (`gocaller`: the innermost frame outside the standard library, else outside
// `runtime`, `syscall`, `internal/...`, `os` and `net`). At the end, a `strace -c`-style summary:
// per call, count, mean and total µs (`@time_us`, a `stats()`), and failures by errno
// (`@errors`), each split into calls made by goroutines and the runtime's background work.
//
// Decoded (from the calls' own `syscalls:sys_enter_*` tracepoints, which fire only for their
// call): the path of openat, newfstatat, unlinkat, mkdirat, execve; openat's directory fd and
// flags (`AT_FDCWD`, `O_WRONLY|O_CREAT|O_CLOEXEC`); the fd and size of read, write, pread64,
// pwrite64; the fd of close, fsync, fdatasync; the fd and address (`127.0.0.1:8080`; IPv6 shows
// its port only) of connect and bind, and the peer address accept4 returns; the pid and signal
// name of kill and tgkill. Other calls print as `name(...)`. Paths are cut at 64 bytes (a line
// must fit the 512 bytes of eBPF stack, with the caller's 30 frames); a path the program has not
// touched yet (a page not faulted in) reads as "".
// A call in progress when tracing starts is not shown (its entry was not seen).
//
// @param $1 SECONDS=0 stop after SECONDS (0: run until Ctrl-C or the target exits)
// @param $2 MIN_US=0 print only calls that took at least MIN_US microseconds (all are counted)
// @param $3 SYSCALL=all print and count only this system call (a name: openat)
// @param $4 EVENTS=0 1: one structured event per call (emit) instead of a line, for -f json/--otlp
//
// Sample output (Go 1.27.3 examples/shop; examples/load -paths /syscall,/fast -n 10 -c 2; excerpt):
//   12:42:02.842102  25789     1 accept4(3, 127.0.0.1:49518) = 4 <16 us> main.main+807
//   12:42:02.842297  25790     0 runtime nanosleep(...) = 0 <80 us> runtime.usleep+55
//   12:42:02.842313  25791     0 runtime epoll_pwait(...) = 1 <4 us> internal/runtime/syscall/linux.Syscall6+14
//   12:42:02.842352  25789     5 read(4, 4096) = 100 <8 us> net/http.(*connReader).Read+336
//   12:42:02.842580  25789     5 write(4, 119) = 119 <62 us> net/http.checkConnErrorWriter.Write+38
//   12:42:02.842629  25789     5 read(4, 4096) = -1 EAGAIN <1 us> net/http.(*connReader).Read+336
//   12:42:02.843262  25791     5 openat(AT_FDCWD, "/tmp/shop-4067339099", O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC) = 8 <89 us> main.syncWrite+85
//   12:42:03.034500  25791     5 fsync(8) = 0 <191195 us> main.syncWrite+337
//   12:42:03.040324  25791     5 unlinkat(AT_FDCWD, "/tmp/shop-4067339099", 0) = 0 <5756 us> main.syncWrite.deferwrap1+27
//   (...)
//   @errors[goroutines, epoll_ctl, EPERM]: 10
//   @errors[goroutines, read, EAGAIN]: 29
//   @time_us[goroutines, read]: count 54, average 2, total 128
//   @time_us[goroutines, openat]: count 10, average 59, total 594
//   @time_us[runtime, nanosleep]: count 314, average 201, total 63218
//   @time_us[goroutines, unlinkat]: count 10, average 4676, total 46765
//   @time_us[runtime, epoll_pwait]: count 51, average 5118, total 261052
//   @time_us[runtime, futex]: count 48, average 6631, total 318319
//   @time_us[goroutines, fsync]: count 10, average 46520, total 465207
// (goroutine 5 serves a connection: net/http's reads and writes, and /syscall's file calls from
// main.syncWrite; the runtime's own threads wait in futex, epoll_pwait and sysmon's nanosleep)

// The program is ending: calls its other threads are in end as they are killed, and never
// return to the program (strace does not see them return either).
tracepoint:syscalls:sys_enter_exit_group
/pid == tpid/
{
    @exiting = 1;
}

// Every call of the target, filtered when it returns: each entry replaces the thread's last, so
// an exit always finds its own (nothing is deleted: the two exit programs below run in no
// fixed order, and neither may take the other's data away).
tracepoint:raw_syscalls:sys_enter
/pid == tpid/
{
    // The number as it entered: at the exit of rt_sigreturn the registers are the interrupted
    // context's, and the exit tracepoint's id is -1.
    @start[tid] = (nsecs, args.id);
}

// Arguments worth decoding, kept until the call returns: (a, b, c) and a path.
tracepoint:syscalls:sys_enter_openat
/pid == tpid/
{
    @path[tid] = str(args.filename, 64);
    @a[tid] = (args.dfd, args.flags, args.mode);
}

tracepoint:syscalls:sys_enter_newfstatat
/pid == tpid/
{
    @path[tid] = str(args.filename, 64);
    @a[tid] = (args.dfd, args.flag, 0);
}

tracepoint:syscalls:sys_enter_unlinkat
/pid == tpid/
{
    @path[tid] = str(args.pathname, 64);
    @a[tid] = (args.dfd, args.flag, 0);
}

tracepoint:syscalls:sys_enter_mkdirat
/pid == tpid/
{
    @path[tid] = str(args.pathname, 64);
    @a[tid] = (args.dfd, args.mode, 0);
}

tracepoint:syscalls:sys_enter_execve
/pid == tpid/
{
    @path[tid] = str(args.filename, 64);
}

tracepoint:syscalls:sys_enter_read
/pid == tpid/
{
    @a[tid] = (args.fd, args.count, 0);
}

tracepoint:syscalls:sys_enter_write
/pid == tpid/
{
    @a[tid] = (args.fd, args.count, 0);
}

tracepoint:syscalls:sys_enter_pread64
/pid == tpid/
{
    @a[tid] = (args.fd, args.count, 0);
}

tracepoint:syscalls:sys_enter_pwrite64
/pid == tpid/
{
    @a[tid] = (args.fd, args.count, 0);
}

tracepoint:syscalls:sys_enter_close
/pid == tpid/
{
    @a[tid] = (args.fd, 0, 0);
}

tracepoint:syscalls:sys_enter_fsync
/pid == tpid/
{
    @a[tid] = (args.fd, 0, 0);
}

tracepoint:syscalls:sys_enter_fdatasync
/pid == tpid/
{
    @a[tid] = (args.fd, 0, 0);
}

tracepoint:syscalls:sys_enter_connect
/pid == tpid/
{
    @a[tid] = (args.fd, args.addrlen, 0);
    @addr[tid] = sockaddr(args.uservaddr);
}

tracepoint:syscalls:sys_enter_bind
/pid == tpid/
{
    @a[tid] = (args.fd, args.addrlen, 0);
    @addr[tid] = sockaddr(args.umyaddr);
}

tracepoint:syscalls:sys_enter_accept4
/pid == tpid/
{
    // The peer's address is written by the call: read it when it returns.
    @a[tid] = (args.fd, (uint64)args.upeer_sockaddr, 0);
}

tracepoint:syscalls:sys_enter_kill
/pid == tpid/
{
    @a[tid] = (args.pid, args.sig, 0);
}

tracepoint:syscalls:sys_enter_tgkill
/pid == tpid/
{
    @a[tid] = (args.tgid, args.pid, args.sig);
}

// A call the kernel interrupts to restart it (a signal arrived: -ERESTARTSYS ..
// -ERESTART_RESTARTBLOCK, -512 .. -516) shows as `= ? ERESTARTSYS`, and again when the
// restarted call completes (as `restart_syscall` where the kernel restarts it so), as strace
// shows it. Once the program calls exit_group, nothing returns to it any more (its threads are
// killed on their way back): calls ending then are not shown.
// The summary, in a program of its own (each program has 512 bytes of stack; a line's event
// takes most of them).
tracepoint:raw_syscalls:sys_exit
/@start[tid].0 && !@exiting && (syscall_nr($3) < 0 || @start[tid].1 == syscall_nr($3))/
{
    $s = @start[tid];
    $who = goid ? "goroutines" : "runtime";
    @time_us[$who, syscall_name($s.1)] = stats((nsecs - $s.0) / 1000);
    if (args.ret < 0 && args.ret > -4096) {
        @errors[$who, syscall_name($s.1), errno_name(args.ret)] = count();
    }
}

tracepoint:raw_syscalls:sys_exit
/@start[tid].0 && !@exiting && (syscall_nr($3) < 0 || @start[tid].1 == syscall_nr($3)) &&
 (nsecs - @start[tid].0) / 1000 >= $2/
{
    $s = @start[tid];
    $us = (nsecs - $s.0) / 1000;
    $id = $s.1;
    $ret = args.ret;
    $a = @a[tid];
    if ($4 == 1) {
        emit((time = strftime("%H:%M:%S.%f", nsecs), tid = tid, goid = goid,
              syscall = syscall_name($id), result = $ret, error = errno_name($ret),
              us = $us, path = @path[tid], caller = gocaller));
        return;
    }
    // `-1 ENOENT` for a failure, `? ERESTARTSYS` for a call to be restarted, else the result.
    $fail = $ret <= -512 && $ret >= -516 ? 2 : ($ret < 0 && $ret > -4096 ? 1 : 0);
    if ($id == syscall_nr("openat")) {
        printf("%s %6d %5d%s openat(%s, \"%s\", %s) = %s%s <%d us> %s\n", strftime("%H:%M:%S.%f", nsecs), tid, goid,
               goid ? "" : " runtime",
               dirfd($a.0), @path[tid], open_flags($a.1), $fail == 2 ? "? " : ($fail == 1 ? "-1 " : ""), errno_name($ret), $us,
               gocaller);
    } else if ($id == syscall_nr("newfstatat") || $id == syscall_nr("unlinkat") ||
               $id == syscall_nr("mkdirat")) {
        printf("%s %6d %5d%s %s(%s, \"%s\", %d) = %s%s <%d us> %s\n", strftime("%H:%M:%S.%f", nsecs), tid, goid,
               goid ? "" : " runtime",
               syscall_name($id), dirfd($a.0), @path[tid], $a.1, $fail == 2 ? "? " : ($fail == 1 ? "-1 " : ""), errno_name($ret), $us,
               gocaller);
    } else if ($id == syscall_nr("execve")) {
        printf("%s %6d %5d%s execve(\"%s\", ...) = %s%s <%d us> %s\n", strftime("%H:%M:%S.%f", nsecs), tid, goid,
               goid ? "" : " runtime",
               @path[tid], $fail == 2 ? "? " : ($fail == 1 ? "-1 " : ""), errno_name($ret), $us, gocaller);
    } else if ($id == syscall_nr("read") || $id == syscall_nr("write") ||
               $id == syscall_nr("pread64") || $id == syscall_nr("pwrite64")) {
        printf("%s %6d %5d%s %s(%d, %d) = %s%s <%d us> %s\n", strftime("%H:%M:%S.%f", nsecs), tid, goid,
               goid ? "" : " runtime",
               syscall_name($id), $a.0, $a.1, $fail == 2 ? "? " : ($fail == 1 ? "-1 " : ""), errno_name($ret), $us, gocaller);
    } else if ($id == syscall_nr("close") || $id == syscall_nr("fsync") ||
               $id == syscall_nr("fdatasync")) {
        printf("%s %6d %5d%s %s(%d) = %s%s <%d us> %s\n", strftime("%H:%M:%S.%f", nsecs), tid, goid,
               goid ? "" : " runtime",
               syscall_name($id), $a.0, $fail == 2 ? "? " : ($fail == 1 ? "-1 " : ""), errno_name($ret), $us, gocaller);
    } else if ($id == syscall_nr("connect") || $id == syscall_nr("bind")) {
        printf("%s %6d %5d%s %s(%d, %s) = %s%s <%d us> %s\n", strftime("%H:%M:%S.%f", nsecs), tid, goid,
               goid ? "" : " runtime",
               syscall_name($id), $a.0, @addr[tid], $fail == 2 ? "? " : ($fail == 1 ? "-1 " : ""), errno_name($ret), $us, gocaller);
    } else if ($id == syscall_nr("accept4")) {
        printf("%s %6d %5d%s accept4(%d, %s) = %s%s <%d us> %s\n", strftime("%H:%M:%S.%f", nsecs), tid, goid,
               goid ? "" : " runtime",
               $a.0, $ret >= 0 && $a.1 ? sockaddr($a.1) : sockaddr(0), $fail == 2 ? "? " : ($fail == 1 ? "-1 " : ""),
               errno_name($ret), $us, gocaller);
    } else if ($id == syscall_nr("kill")) {
        printf("%s %6d %5d%s kill(%d, %s) = %s%s <%d us> %s\n", strftime("%H:%M:%S.%f", nsecs), tid, goid,
               goid ? "" : " runtime",
               $a.0, signal_name($a.1), $fail == 2 ? "? " : ($fail == 1 ? "-1 " : ""), errno_name($ret), $us, gocaller);
    } else if ($id == syscall_nr("tgkill")) {
        printf("%s %6d %5d%s tgkill(%d, %d, %s) = %s%s <%d us> %s\n", strftime("%H:%M:%S.%f", nsecs), tid, goid,
               goid ? "" : " runtime",
               $a.0, $a.1, signal_name($a.2), $fail == 2 ? "? " : ($fail == 1 ? "-1 " : ""), errno_name($ret), $us, gocaller);
    } else {
        printf("%s %6d %5d%s %s(...) = %s%s <%d us> %s\n", strftime("%H:%M:%S.%f", nsecs), tid, goid,
               goid ? "" : " runtime",
               syscall_name($id), $fail == 2 ? "? " : ($fail == 1 ? "-1 " : ""), errno_name($ret), $us, gocaller);
    }
}

interval:s:1
/$1 > 0 && elapsed >= $1 * 1000000000/
{
    exit();
}

END
{
    clear(@start);
    clear(@a);
    clear(@path);
    clear(@addr);
    delete(@exiting);
}
