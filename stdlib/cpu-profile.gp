// cpu-profile: on-CPU Go stacks sampled at 99 Hz, for a flame graph
//
// Run:  gprobe --recipe cpu-profile -p PID [SECONDS]
//       gprobe --recipe cpu-profile -p PID 10 --flamegraph cpu.svg   (see docs/output-formats.md)
//
// A perf-event timer on every CPU samples whatever runs; samples of the target (`tpid`, the pid
// of -p or -c, which the runtime knows before attaching: no probe in the target, so it pays
// nothing but the samples themselves) are counted by Go stack — frame pointers
// walked in the kernel, symbolized from .gopclntab with inlined frames expanded, so stripped
// binaries give the same names. Stacks taken on the system stack (GC, scheduler) show those
// frames. `@samples` is the map a flame graph is drawn from; `--flamegraph` renders it.
// Frameless leaf functions lose their caller in a sample, and assembly that uses BP for data
// (crypto/sha256's block function of Go 1.19 on amd64) cuts the chain after the leaf: limits of
// frame-pointer unwinding.
//
// @param $1 SECONDS=0 stop after SECONDS (0: run until Ctrl-C or the target exits)
//
// Sample output (Go 1.27.3 examples/shop; examples/load -paths /cpu,/fast -n 40 -c 4):
//   @samples[
//           main.burn+121
//           main.main.func5+44
//           net/http.HandlerFunc.ServeHTTP+41
//           net/http.(*ServeMux).ServeHTTP+463
//           net/http.serverHandler.ServeHTTP+142
//           net/http.(*conn).serve+1756
//           net/http.(*Server).Serve.gowrap3+31
//           runtime.goexit+1
//   ]: 4
//   (... one element per sampled pc ...)
//
//   $ cat cpu.folded    # with --folded cpu.folded: offsets merged; the heaviest line
//   runtime.goexit;net/http.(*Server).Serve.gowrap3;net/http.(*conn).serve;net/http.serverHandler.ServeHTTP;net/http.(*ServeMux).ServeHTTP;net/http.HandlerFunc.ServeHTTP;main.main.func5;main.burn 21

profile:hz:99
/pid == tpid/
{
    @samples[gostack] = count();
}

interval:s:1
/$1 > 0 && elapsed >= $1 * 1000000000/
{
    exit();
}
