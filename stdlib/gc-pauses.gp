// gc-pauses: GC stop-the-world pause durations by phase, GC cycle count and concurrent mark time
//
// Run:  gprobe --recipe gc-pauses -p PID [SECONDS] [CYCLES]
//
// Each stop-the-world pause is timed as the runtime itself times it for
// `runtime.MemStats.PauseNs` (and `GODEBUG=gctrace=1`), so the figures agree with the program's
// own. From Go 1.22 the runtime hands its own figures to `runtime.startTheWorldWithSema(now, w)`:
// `w` is the `worldStop` that `stopTheWorldWithSema` returned (`w.startedStopping`, the start
// of the pause; `w.reason`, 1 mark termination, 2 sweep termination), and the function returns
// the end of the pause the runtime counts; the pause is the difference, read at its return (a
// Go return probe, i.e. uprobes on every RET — never a kernel uretprobe). Before Go 1.22 the
// runtime reads the clock just before `stopTheWorldWithSema` (its entry is the start here, a
// microsecond or two late: the trap; tens of µs for the first pause traced, when the kernel
// sets up the thread's first uprobe hit), and ends the pause at the time `startTheWorldWithSema`
// returns — except for the last pause of a cycle (mark termination), which it ends at a clock
// read before the rest of the world-stopped clean-up, the `now` it passes to the CPU limiter's
// `finishGCTransition` (Go 1.19–1.21; before 1.19, the return of `gcControllerCommit`). A pause
// requested by `gcStart` is the sweep-termination pause, one requested by `gcMarkDone` the
// mark-termination pause; anything else (ReadMemStats, GOMAXPROCS, ...) is `other`, which
// `PauseNs` does not count (nor `@total_pause_us`). `@cycles` counts
// `gcMarkTermination`, which runs once per completed cycle — the same cycles gctrace prints a
// line for. `@mark_ms` is the concurrent mark phase between the two pauses. With CYCLES=1, one
// line per cycle gives its pauses in ns: the sum is that cycle's `MemStats.PauseNs` entry.
// These functions exist under these names in every Go release from 1.17 to 1.27, stripped or
// not (their parameters changed in 1.21 and 1.22; the registers read are the Go ABI's).
//
// @param $1 SECONDS=0 stop after SECONDS (0: run until Ctrl-C or the target exits)
// @param $2 CYCLES=0 1: print one line per GC cycle with its pauses in ns
//
// Sample output (Go 1.27.3 examples/shop; examples/load -paths /alloc,/fast -n 100 -c 4; CYCLES=1):
//   gc cycle: pause 316093 ns (sweep termination 309300 ns, mark termination 6793 ns)
//   gc cycle: pause 40657 ns (sweep termination 31890 ns, mark termination 8767 ns)
//   gc cycle: pause 105017 ns (sweep termination 97002 ns, mark termination 8015 ns)
//   (... one line per cycle ...)
//   @cycles: 34
//   @mark_ms:
//   [0]                   19 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//   [1]                   15 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@           |
//
//   @pause_us[mark termination]:
//   [4, 8)                21 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//   [8, 16)               12 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@                       |
//   [16, 32)               0 |                                                    |
//   [32, 64)               1 |@@                                                  |
//
//   @pause_us[sweep termination]:
//   [16, 32)               2 |@@@@@@@@                                            |
//   [32, 64)               1 |@@@@                                                |
//   [64, 128)              2 |@@@@@@@@                                            |
//   [128, 256)             4 |@@@@@@@@@@@@@@@@                                    |
//   [256, 512)             9 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@                |
//   [512, 1K)             13 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//   [1K, 2K)               3 |@@@@@@@@@@@@                                        |
//
//   @total_pause_us: 17959
// (sweep termination waits for the Ps, busy with the load on 2 CPUs; the mark termination the
// runtime counts ends before its clean-up, so it is short)

// @if go >= 1.22
// startTheWorldWithSema(now int64, w worldStop): now in RAX (0: read the clock), w split over
// RBX (reason, a uint8), RCX (startedStopping), RDI, RSI. World stopped: one call at a time.
uprobe:runtime.startTheWorldWithSema
{
    @stw_start = reg("rcx");
    $reason = reg("rbx") & 0xff;
    @stw_phase = $reason == 2 ? 1 : ($reason == 1 ? 2 : 0);
    // A mark termination that restarts the world with work left passes now == 0; the last
    // pause of a cycle passes the runtime's own end time.
    @stw_last = @stw_phase == 2 && reg("rax") != 0;
    if (@stw_phase == 2 && @mark_start) {
        @mark_ms = hist((@stw_start - @mark_start) / 1000000);
        @mark_start = 0;
    }
}
// @else
// Who is about to stop the world: the goroutine running gcStart / gcMarkDone. The pause itself
// runs on the system stack, where `goid` is still this goroutine's.
uprobe:runtime.gcStart
{
    @phase[goid] = 1;
}

uprobe:runtime.gcMarkDone
{
    @phase[goid] = 2;
}

uretprobe:runtime.gcStart,
uretprobe:runtime.gcMarkDone
{
    delete(@phase[goid]);
}

uprobe:runtime.stopTheWorldWithSema
{
    @stw_start = nsecs;
    @stw_phase = @phase[goid];
    if (@stw_phase == 2 && @mark_start) {
        @mark_ms = hist((nsecs - @mark_start) / 1000000);
        @mark_start = 0;
    }
}

// The last pause of a cycle ends, for the runtime, at the clock read right after
// gcControllerCommit (the world stays stopped a little longer, uncounted); from Go 1.19 that
// time is passed to the CPU limiter's finishGCTransition(now) (receiver RAX, now RBX).
// @if func runtime.(*gcCPULimiterState).finishGCTransition
uprobe:"runtime.(*gcCPULimiterState).finishGCTransition"
/@stw_start && @stw_phase == 2/
{
    @stw_end = reg("rbx");
    @stw_last = 1;
}
// @else
uretprobe:runtime.gcControllerCommit
/@stw_start && @stw_phase == 2/
{
    @stw_end = nsecs;
    @stw_last = 1;
}
// @end
// @end

// The world runs again. Any pause but a cycle's last ends where this function read the clock:
// its result.
uretprobe:runtime.startTheWorldWithSema
/@stw_start/
{
    $end = @stw_end ? @stw_end : retval;
    $ns = $end - @stw_start;
    $pause_us = $ns / 1000;
    if (@stw_phase == 1) {
        @pause_us["sweep termination"] = hist($pause_us);
        @cycle_sweep_ns += $ns;
        @mark_start = $end;
    } else if (@stw_phase == 2) {
        @pause_us["mark termination"] = hist($pause_us);
        @cycle_mark_ns += $ns;
    } else {
        @pause_us["other"] = hist($pause_us);
    }
    // GC pauses only, as MemStats.PauseTotalNs.
    if (@stw_phase) {
        @total_pause_us = sum($pause_us);
    }
    if (@stw_last) {
        if ($2 == 1) {
            printf("gc cycle: pause %d ns (sweep termination %d ns, mark termination %d ns)\n",
                   @cycle_sweep_ns + @cycle_mark_ns, @cycle_sweep_ns, @cycle_mark_ns);
        }
        @cycle_sweep_ns = 0;
        @cycle_mark_ns = 0;
    }
    @stw_start = 0;
    @stw_end = 0;
    @stw_last = 0;
}

uprobe:runtime.gcMarkTermination
{
    @cycles = count();
}

interval:s:1
/$1 > 0 && elapsed >= $1 * 1000000000/
{
    exit();
}

END
{
    // @if go < 1.22
    clear(@phase);
    // @end
    delete(@stw_start);
    delete(@stw_phase);
    delete(@stw_last);
    delete(@stw_end);
    delete(@mark_start);
    delete(@cycle_sweep_ns);
    delete(@cycle_mark_ns);
}
