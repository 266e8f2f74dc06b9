// cpu-profile: on-CPU Go stacks sampled at 99 Hz, for a flame graph
//
// Run:  gprobe --recipe cpu-profile -p PID [SECONDS]
//       gprobe --recipe cpu-profile -p PID 10 --flamegraph > cpu.svg   (see docs/output-formats.md)
//
// A perf-event timer on every CPU samples whatever runs; samples of the target (its pid is learned
// from a uprobe on its scheduler, so -p and -c both work) are counted by Go stack — frame pointers
// walked in the kernel, symbolized from .gopclntab with inlined frames expanded, so stripped
// binaries give the same names. Stacks taken on the system stack (GC, scheduler) show those
// frames. `@samples` is the map a flame graph is drawn from; `--flamegraph` renders it.
// Frameless leaf functions lose their caller in a sample (a limit of frame-pointer unwinding).
//
// @param $1 SECONDS=0 stop after SECONDS (0: run until Ctrl-C or the target exits)
//
// Sample output: NOT YET CAPTURED (needs the Go-aware back end: gostack in profile probes);
// the shape it will have, for examples/shop under examples/load (/cpu hashes in main.burn):
//   @samples[
//       crypto/sha256.block
//       crypto/sha256.(*digest).checkSum
//       crypto/sha256.Sum256
//       main.burn
//       main.main.func5
//   ]: 412

uprobe:runtime.execute
/!@target_pid/
{
    @target_pid = pid;
}

profile:hz:99
/pid == @target_pid/
{
    @samples[gostack] = count();
}

interval:s:1
/$1 > 0 && elapsed >= $1 * 1000000000/
{
    exit();
}

END
{
    delete(@target_pid);
}
