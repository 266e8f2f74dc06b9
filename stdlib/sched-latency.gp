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
// Sample output: NOT YET CAPTURED (needs the Go-aware back end: args typed by the Go ABI);
// the shape it will have, for examples/shop under examples/load:
//   @runnable_to_running_us:
//   [0]                  812 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//   [1]                  301 |@@@@@@@@@@@@@@@@@@@                                 |
//   [2, 4)               120 |@@@@@@@                                             |
//   @max_delay_us_by_goroutine[118]: 3120

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
