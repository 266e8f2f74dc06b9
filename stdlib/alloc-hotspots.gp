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
// @param $1 SECONDS=0 stop after SECONDS (0: run until Ctrl-C or the target exits)
//
// Sample output: NOT YET CAPTURED (needs the Go-aware back end: args, gostack, wildcard uprobes);
// the shape it will have, for examples/shop under examples/load (/alloc makes 1024 × 1 KiB):
//   @bytes[
//       runtime.mallocgc
//       runtime.makeslice
//       main.allocate
//       main.main.func3
//       net/http.HandlerFunc.ServeHTTP
//   ]: 209715200

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
