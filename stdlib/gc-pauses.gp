// gc-pauses: GC stop-the-world pause durations by phase, GC cycle count and concurrent mark time
//
// Run:  gprobe --recipe gc-pauses -p PID [SECONDS]
//
// Every stop-the-world pause is timed from `runtime.stopTheWorldWithSema` (world stopping) to
// the return of `runtime.startTheWorldWithSema` (world running again; a Go return probe, i.e.
// uprobes on every RET — never a kernel uretprobe). While the world is stopped nothing else runs,
// so one pause is in flight at a time. A pause requested by `gcStart` is the sweep-termination
// pause, one requested by `gcMarkDone` the mark-termination pause; anything else (ReadMemStats,
// GOMAXPROCS, ...) is `other`. `@cycles` counts `gcMarkTermination`, which runs once per
// completed cycle — the same cycles `GODEBUG=gctrace=1` prints a line for. `@mark_ms` is the
// concurrent mark phase between the two pauses.
// These functions exist under these names in every Go release from 1.17 to 1.27 (their
// parameters changed in 1.21 and 1.22; this recipe reads none of them), stripped or not.
//
// @param $1 SECONDS=0 stop after SECONDS (0: run until Ctrl-C or the target exits)
//
// Sample output (Go 1.27.3 examples/shop; examples/load -paths /alloc,/fast -n 100 -c 4):
//   @cycles: 34
//   @mark_ms:
//   [0]                   24 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//   [1]                   10 |@@@@@@@@@@@@@@@@@@@@@                               |
//
//   @pause_us[mark termination]:
//   [16, 32)               8 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//   [32, 64)               3 |@@@@@@@@@@@@@@@@@@@                                 |
//   [64, 128)              5 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@                    |
//   [128, 256)             3 |@@@@@@@@@@@@@@@@@@@                                 |
//   [256, 512)             4 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |
//   [512, 1K)              4 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |
//   [1K, 2K)               2 |@@@@@@@@@@@@@                                       |
//   [2K, 4K)               5 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@                    |
//
//   @pause_us[sweep termination]:
//   [16, 32)               1 |@@@@                                                |
//   [32, 64)               2 |@@@@@@@@                                            |
//   [64, 128)              6 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |
//   [128, 256)            12 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//   [256, 512)             7 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@                      |
//   [512, 1K)              6 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |
//
//   @total_pause_us: 32976
// (pauses are long here: 2 CPUs shared with the load generator, and a uprobe on each pause)

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

uretprobe:runtime.startTheWorldWithSema
/@stw_start/
{
    $pause_us = (nsecs - @stw_start) / 1000;
    if (@stw_phase == 1) {
        @pause_us["sweep termination"] = hist($pause_us);
        @mark_start = nsecs;
    } else if (@stw_phase == 2) {
        @pause_us["mark termination"] = hist($pause_us);
    } else {
        @pause_us["other"] = hist($pause_us);
    }
    @total_pause_us = sum($pause_us);
    @stw_start = 0;
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
    clear(@phase);
    delete(@stw_start);
    delete(@stw_phase);
    delete(@mark_start);
}
