// alloc-hotspots: heap allocation bytes and counts by goroutine stack (runtime.mallocgc and friends)
//
// Run:  gprobe --recipe alloc-hotspots -p PID [SECONDS]
//
// Every heap allocation enters `runtime.mallocgc(size, typ, needzero)` — until Go 1.27, whose
// compiler calls size-specialised allocators (`mallocgcSmallScanNoHeaderSC1..7`,
// `mallocgcSmallNoScanSC2..7`, `mallocgcTinySC2`, same parameters) directly for small sizes, and
// whose `mallocgc` dispatches sizes below 81 bytes to those same functions. So on a target that
// has them, `mallocgc` counts only sizes of 81 bytes and more, and the wildcard probe counts the
// rest once each. Keys are the allocating goroutine's Go stack (innermost frame first). Works on
// Go 1.17–1.27, stripped or not.
//
// With --pprof FILE, `go tool pprof` reads the two maps as a Go heap profile's allocation types,
// the runtime's allocator frames dropped from each stack (as from Go's own heap profiles):
// @pprof @allocs alloc_objects/count
// @pprof @bytes alloc_space/bytes
// @pprof drop_frames runtime\..*
//
// @param $1 SECONDS=0 stop after SECONDS (0: run until Ctrl-C or the target exits)
//
// Sample output (Go 1.27.3 examples/shop; examples/load -paths /alloc,/fast -n 20 -c 4; the
// two largest of the 10 stacks printed per map):
//   @bytes[
//           runtime.mallocgc+10
//           runtime.makeslice+73
//           main.allocate+43
//           main.main.func3+38
//           net/http.HandlerFunc.ServeHTTP+41
//           ...
//   ]: 491520
//   @bytes[
//           runtime.mallocgc+10
//           runtime.makeslice+73
//           main.allocate+153
//           main.main.func3+38
//           net/http.HandlerFunc.ServeHTTP+41
//           ...
//   ]: 20971520
//   (@allocs: the same stacks by count; main.allocate+153: 20480)
//
//   @size:
//   [4, 8)                45 |                                                    |
//   [8, 16)               82 |                                                    |
//   [16, 32)             179 |                                                    |
//   [32, 64)             171 |                                                    |
//   [64, 128)            115 |                                                    |
//   [128, 256)           106 |                                                    |
//   [256, 512)           127 |                                                    |
//   [512, 1K)              3 |                                                    |
//   [1K, 2K)           20484 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//   [2K, 4K)               5 |                                                    |
//   [4K, 8K)               8 |                                                    |
//   [8K, 16K)              0 |                                                    |
//   [16K, 32K)            20 |                                                    |
// (20 requests × 1024 slices of 1 KiB = 20971520 bytes, plus 20 × the 24 KiB [][]byte that
// keeps them = 491520; small sizes show `runtime.mallocgcSmallScanNoHeaderSC2+10` etc. on top)

// @if func runtime.mallocgcTinySC2
uprobe:runtime.mallocgc
/args.size >= 81/
{
    @bytes[gostack(12)] = sum(args.size);
    @allocs[gostack(12)] = count();
    @size = hist(args.size);
}

// The size-specialised allocators share mallocgc's parameters; `size` is the first integer
// argument (RAX on amd64) under the Go register ABI.
uprobe:runtime.mallocgc*SC*
{
    @bytes[gostack(12)] = sum(reg("rax"));
    @allocs[gostack(12)] = count();
    @size = hist(reg("rax"));
}
// @else
uprobe:runtime.mallocgc
/args.size > 0/
{
    @bytes[gostack(12)] = sum(args.size);
    @allocs[gostack(12)] = count();
    @size = hist(args.size);
}
// @end

interval:s:1
/$1 > 0 && elapsed >= $1 * 1000000000/
{
    exit();
}

END
{
    print(@bytes, 10);
    print(@allocs, 10);
    clear(@bytes);
    clear(@allocs);
}
