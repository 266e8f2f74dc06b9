// goroutine-block: time goroutines spend parked (gopark → runnable again), by wait reason and stack
//
// Run:  gprobe --recipe goroutine-block -p PID [SECONDS]
//
// A goroutine blocks by calling `runtime.gopark` on its own stack, so the probe there sees the
// goroutine id, the wait reason (gopark's `reason` parameter) and the Go stack that blocked. It
// becomes runnable again when some other goroutine or the network poller moves it from waiting
// (4) to runnable (1) in `runtime.casgstatus` — the one place every wake-up passes through
// (`goready` is inlined from Go 1.21; netpoll wake-ups never call `ready`). The time in between
// is the blocked time. Wait reasons are numbered differently by each Go release: the names below
// come from runtime2.go of the releases we verified (1.19, 1.23–1.24, 1.25, 1.27; 1.27
// reordered them); other releases show the number (`@blocked_us_by_reason_number`).
// At the end: the 10 stacks that spent longest blocked, then the histograms by reason.
//
// With --pprof FILE, `go tool pprof` reads the stacks as a Go block profile, the runtime's
// parking frames dropped from each (as from Go's own block profiles):
// @pprof @blocks_by_stack contentions/count
// @pprof @blocked_us_by_stack delay/nanoseconds from microseconds
// @pprof drop_frames runtime\..*|(internal/)?sync\.runtime_.*
//
// @param $1 SECONDS=0 stop after SECONDS (0: run until Ctrl-C or the target exits)
//
// Sample output (Go 1.27.3 examples/shop; examples/load -paths /lock,/sleep -n 40 -c 4; excerpt):
//   @blocked_us_by_stack[
//           runtime.gopark+10
//           runtime.goparkunlock (inlined)
//           runtime.semacquire1+562
//           internal/sync.runtime_SemacquireMutex+37
//           internal/sync.(*Mutex).lockSlow+346
//           internal/sync.(*Mutex).Lock (inlined)
//           sync.(*Mutex).Lock (inlined)
//           main.holdLock+86
//           main.main.func2+38
//           net/http.HandlerFunc.ServeHTTP+41
//           net/http.(*ServeMux).ServeHTTP+463
//   ]: 43524
//   @blocked_us_by_stack[
//           runtime.gopark+10
//           time.Sleep+357
//           main.holdLock+138
//           main.main.func2+38
//           ...
//   ]: 170511
//   (... up to 10 stacks, the longest blocked last ...)
//
//   @blocked_us[sync.Mutex.Lock]:
//   [16, 32)               1 |@@@@@                                               |
//   [32, 64)               0 |                                                    |
//   [64, 128)              0 |                                                    |
//   [128, 256)             0 |                                                    |
//   [256, 512)             0 |                                                    |
//   [512, 1K)              0 |                                                    |
//   [1K, 2K)               0 |                                                    |
//   [2K, 4K)               9 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//   [4K, 8K)               0 |                                                    |
//   [8K, 16K)              0 |                                                    |
//   [16K, 32K)             1 |@@@@@                                               |
//
//   @blocked_us[sleep]:
//   [2K, 4K)              37 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//   [4K, 8K)               7 |@@@@@@@@@                                           |
//   [8K, 16K)             15 |@@@@@@@@@@@@@@@@@@@@@                               |
//   [16K, 32K)            17 |@@@@@@@@@@@@@@@@@@@@@@@                             |
//   [32K, 64K)             4 |@@@@@                                               |
//   (... sync.Cond.Wait and IO wait: net/http's connection reader ...)
// (Go 1.19 names the mutex wait `semacquire`; sync.Mutex got a wait reason of its own in Go 1.22)

BEGIN
{
    // Names of wait reasons (runtime.waitReasonStrings), by release: Go 1.27 reordered them.
    // The longest name goes first: a map's string values take the size of the first one stored.
    // @if go < 1.20
    @reason_name[3] = "chan receive (nil chan)";
    @reason_name[0] = "unknown";
    @reason_name[1] = "GC assist marking";
    @reason_name[2] = "IO wait";
    @reason_name[4] = "chan send (nil chan)";
    @reason_name[6] = "garbage collection";
    @reason_name[9] = "select";
    @reason_name[11] = "GC assist wait";
    @reason_name[12] = "GC sweep wait";
    @reason_name[13] = "GC scavenge wait";
    @reason_name[14] = "chan receive";
    @reason_name[15] = "chan send";
    @reason_name[16] = "finalizer wait";
    @reason_name[17] = "force gc (idle)";
    @reason_name[18] = "semacquire";
    @reason_name[19] = "sleep";
    @reason_name[20] = "sync.Cond.Wait";
    @reason_name[24] = "GC worker (idle)";
    @reason_name[25] = "preempted";
    // @end
    // @if go >= 1.23 && go < 1.25
    @reason_name[3] = "chan receive (nil chan)";
    @reason_name[0] = "unknown";
    @reason_name[1] = "GC assist marking";
    @reason_name[2] = "IO wait";
    @reason_name[4] = "chan send (nil chan)";
    @reason_name[6] = "garbage collection";
    @reason_name[9] = "select";
    @reason_name[11] = "GC assist wait";
    @reason_name[12] = "GC sweep wait";
    @reason_name[13] = "GC scavenge wait";
    @reason_name[14] = "chan receive";
    @reason_name[15] = "chan send";
    @reason_name[16] = "finalizer wait";
    @reason_name[17] = "force gc (idle)";
    @reason_name[18] = "semacquire";
    @reason_name[19] = "sleep";
    @reason_name[20] = "sync.Cond.Wait";
    @reason_name[21] = "sync.Mutex.Lock";
    @reason_name[22] = "sync.RWMutex.RLock";
    @reason_name[23] = "sync.RWMutex.Lock";
    @reason_name[26] = "GC worker (idle)";
    @reason_name[28] = "preempted";
    // @end
    // @if go >= 1.25 && go < 1.26
    @reason_name[3] = "chan receive (nil chan)";
    @reason_name[0] = "unknown";
    @reason_name[1] = "GC assist marking";
    @reason_name[2] = "IO wait";
    @reason_name[4] = "chan send (nil chan)";
    @reason_name[6] = "garbage collection";
    @reason_name[9] = "select";
    @reason_name[11] = "GC assist wait";
    @reason_name[12] = "GC sweep wait";
    @reason_name[13] = "GC scavenge wait";
    @reason_name[14] = "chan receive";
    @reason_name[15] = "chan send";
    @reason_name[16] = "finalizer wait";
    @reason_name[17] = "force gc (idle)";
    @reason_name[19] = "semacquire";
    @reason_name[20] = "sleep";
    @reason_name[21] = "sync.Cond.Wait";
    @reason_name[22] = "sync.Mutex.Lock";
    @reason_name[23] = "sync.RWMutex.RLock";
    @reason_name[24] = "sync.RWMutex.Lock";
    @reason_name[25] = "sync.WaitGroup.Wait";
    @reason_name[28] = "GC worker (idle)";
    @reason_name[30] = "preempted";
    // @end
    // @if go >= 1.27 && go < 1.28
    @reason_name[15] = "chan receive (nil chan)";
    @reason_name[0] = "unknown";
    @reason_name[1] = "GC assist marking";
    @reason_name[2] = "IO wait";
    @reason_name[4] = "garbage collection";
    @reason_name[7] = "GC assist wait";
    @reason_name[8] = "GC sweep wait";
    @reason_name[9] = "GC scavenge wait";
    @reason_name[10] = "finalizer wait";
    @reason_name[11] = "force gc (idle)";
    @reason_name[13] = "semacquire";
    @reason_name[14] = "sleep";
    @reason_name[16] = "chan send (nil chan)";
    @reason_name[18] = "select";
    @reason_name[19] = "chan receive";
    @reason_name[20] = "chan send";
    @reason_name[21] = "sync.Cond.Wait";
    @reason_name[22] = "sync.Mutex.Lock";
    @reason_name[23] = "sync.RWMutex.RLock";
    @reason_name[24] = "sync.RWMutex.Lock";
    @reason_name[25] = "sync.WaitGroup.Wait";
    @reason_name[28] = "GC worker (idle)";
    @reason_name[30] = "preempted";
    // @end
}

uprobe:runtime.gopark
{
    @parked_at[goid] = nsecs;
    @reason[goid] = args.reason;
    @stack[goid] = gostack(8);
}

uprobe:runtime.casgstatus
/args.oldval == 4 && args.newval == 1 && @parked_at[args.gp.goid]/
{
    $g = args.gp.goid;
    $us = (nsecs - @parked_at[$g]) / 1000;
    if (@reason_name[@reason[$g]] != "") {
        @blocked_us[@reason_name[@reason[$g]]] = hist($us);
    } else {
        @blocked_us_by_reason_number[@reason[$g]] = hist($us);
    }
    @blocked_us_by_stack[@stack[$g]] = sum($us);
    @blocks_by_stack[@stack[$g]] = count();
    delete(@parked_at[$g]);
    delete(@reason[$g]);
    delete(@stack[$g]);
}

interval:s:1
/$1 > 0 && elapsed >= $1 * 1000000000/
{
    exit();
}

END
{
    // The 10 stacks that spent longest blocked, then the histograms by reason.
    print(@blocked_us_by_stack, 10);
    clear(@blocked_us_by_stack);
    clear(@blocks_by_stack);
    clear(@reason_name);
    clear(@parked_at);
    clear(@reason);
    clear(@stack);
}
