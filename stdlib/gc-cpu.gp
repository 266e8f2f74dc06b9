// gc-cpu: on-CPU Go stacks at 99 Hz tagged with their GC state, and GC mark assists by stack
//
// Run:  gprobe --recipe gc-cpu -p PID [SECONDS]
//       gprobe --recipe gc-cpu -c ./server 10 --flamegraph gc.svg   (one root per state)
//
// cpu-profile's samples (a perf-event timer, samples of the target `tpid`), each keyed first by
// what the garbage collector had its thread doing: `world stopped` (the thread that stopped the
// world, from the entry of `runtime.stopTheWorldWithSema` to the return of
// `startTheWorldWithSema`: the pause's own work; the other threads wait), `mark assist` (the goroutine pays for its allocations by marking, in
// `runtime.gcAssistAlloc1`), `gc worker` (a background mark worker draining work, in
// `runtime.gcDrain`), else `running`. A flame graph of `@samples` then has one root per state,
// so the CPU the GC takes from the program is seen apart from the program's own.
// `@assist_us` is the time of each mark assist by the stack that allocated (the `mallocgc`
// caller shows who pays), `@assists` their count. The probes are on the GC's own functions,
// which run per GC step, never per allocation. Go return probes (uprobes on the functions' RET
// instructions: never a kernel uretprobe) end the states.
// A GC step already under way when tracing starts is counted as `running` until it ends: start
// the program with -c for exact states from its first cycle.
//
// @param $1 SECONDS=0 stop after SECONDS (0: run until Ctrl-C or the target exits)
//
// Sample output (Go 1.27.3 examples/shop; examples/load -paths /alloc,/fast -n 200 -c 4; excerpt):
//   @assist_us[
//           runtime.gcAssistAlloc1+540
//           runtime.systemstack+74
//           runtime.gcAssistAlloc+663
//           runtime.deductAssistCredit+70
//           runtime.mallocgc+199
//           runtime.makeslice+73
//           main.allocate+43
//           main.main.func3+38
//           net/http.HandlerFunc.ServeHTTP+41
//           (...)
//   ]: count 2, average 4, total 8
//   @assists: 471
//   @samples[gc worker,
//           runtime.shrinkstack+179
//           runtime.scanstack+306
//           runtime.markroot.func1+177
//           runtime.markroot+421
//           runtime.gcDrain+1191
//           runtime.gcDrainMarkWorkerFractional (inlined)
//           runtime.gcBgMarkWorker.func2+124
//           runtime.systemstack+74
//           runtime.gcBgMarkWorker+479
//           runtime.gcBgMarkStartWorkers.gowrap1+23
//           runtime.goexit+1
//   ]: 1
//   @samples[world stopped,
//           internal/runtime/syscall/linux.Syscall6+14
//           runtime.netpoll+211
//           runtime.startTheWorldWithSema+69
//           runtime.gcMarkTermination.func3+69
//           (...)
//   ]: 1
//   (... `running` and `mark assist` elements likewise ...)

profile:hz:99
/pid == tpid/
{
    if (@stw == tid) {
        @samples["world stopped", gostack] = count();
    } else if (@assist[goid]) {
        @samples["mark assist", gostack] = count();
    } else if (@worker[goid]) {
        @samples["gc worker", gostack] = count();
    } else {
        @samples["running", gostack] = count();
    }
}

uprobe:runtime.stopTheWorldWithSema
{
    @stw = tid;
}

uretprobe:runtime.startTheWorldWithSema
{
    @stw = 0;
}

uprobe:runtime.gcAssistAlloc1
{
    @assist[goid] = nsecs;
}

uretprobe:runtime.gcAssistAlloc1
/@assist[goid]/
{
    @assist_us[gostack] = stats((nsecs - @assist[goid]) / 1000);
    @assists = count();
    delete(@assist[goid]);
}

uprobe:runtime.gcDrain
{
    @worker[goid] = 1;
}

uretprobe:runtime.gcDrain
{
    delete(@worker[goid]);
}

interval:s:1
/$1 > 0 && elapsed >= $1 * 1000000000/
{
    exit();
}

END
{
    clear(@assist);
    clear(@worker);
    delete(@stw);
}
