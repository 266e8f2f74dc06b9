// sched-latency: runnable-to-running delay of goroutines (time waiting in a run queue)
//
// Run:  gprobe --recipe sched-latency -p PID [SECONDS]
//
// Every goroutine state change goes through `runtime.casgstatus(gp, oldval, newval)` (on any
// stack, so the goroutine is taken from `gp`, not from `goid`): becoming runnable (1) — new,
// woken, or preempted — starts the clock; runnable → running (2) in `execute` stops it. Keys are
// the `g` address, since a new goroutine gets its id after it becomes runnable on Go 1.19.
// `runqget`/`goready` are inlined from Go 1.21, `casgstatus` never is: this works on 1.17–1.27,
// stripped or not. High delays mean too few Ps (GOMAXPROCS) for the runnable work, or long
// non-preemptible stretches.
//
// @param $1 SECONDS=0 stop after SECONDS (0: run until Ctrl-C or the target exits)
//
// Sample output (Go 1.27.3 examples/shop; examples/load -paths /cpu,/fast,/sleep -n 40 -c 4, 2 CPUs):
//   @max_delay_us_by_goroutine[120]: 14880
//   @max_delay_us_by_goroutine[130]: 15232
//   @max_delay_us_by_goroutine[116]: 15312
//   (... the 10 largest ...)
//
//   @runnable_to_running_us:
//   [1]                   53 |@@@@@@@@@@@@@@@@@@@                                 |
//   [2, 4)               143 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//   [4, 8)                79 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@                        |
//   [8, 16)               21 |@@@@@@@                                             |
//   [16, 32)              22 |@@@@@@@@                                            |
//   [32, 64)              20 |@@@@@@@                                             |
//   [64, 128)             30 |@@@@@@@@@@                                          |
//   [128, 256)            19 |@@@@@@                                              |
//   [256, 512)             5 |@                                                   |
//   [512, 1K)              1 |                                                    |
//   [1K, 2K)               5 |@                                                   |
//   [2K, 4K)               8 |@@                                                  |
//   [4K, 8K)              15 |@@@@@                                               |
//   [8K, 16K)              7 |@@                                                  |
// (the millisecond delays are goroutines waiting while /cpu requests hold both Ps in main.burn)

uprobe:runtime.casgstatus
/args.newval == 1/
{
    @runnable_since[args.gp] = nsecs;
}

uprobe:runtime.casgstatus
/args.oldval == 1 && args.newval == 2 && @runnable_since[args.gp]/
{
    $us = (nsecs - @runnable_since[args.gp]) / 1000;
    @runnable_to_running_us = hist($us);
    @max_delay_us_by_goroutine[args.gp.goid] = max($us);
    delete(@runnable_since[args.gp]);
}

interval:s:1
/$1 > 0 && elapsed >= $1 * 1000000000/
{
    exit();
}

END
{
    clear(@runnable_since);
    print(@max_delay_us_by_goroutine, 10);
    clear(@max_delay_us_by_goroutine);
}
