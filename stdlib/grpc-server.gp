// grpc-server: grpc-go server RPCs: latency by full method, status codes by name, in-flight, unary vs streaming
//
// Run:  gprobe --recipe grpc-server -p PID [SECONDS]
//
// Times every RPC a google.golang.org/grpc server runs, from the entry of
// `(*Server).processUnaryRPC` or `(*Server).processStreamingRPC` (which one says `unary` or
// `stream`) to the entry of the transport's `(*http2Server).WriteStatus`, which the same
// goroutine calls once the handler has returned, with the status it sends: entry probes only,
// no return probe. Keys are the full method as the client sent it (`/pkg.Service/Method`, the
// stream's `method`), the kind, and the status code by name (`OK`, `NotFound`, ...: gRPC's
// codes are fixed by the protocol). An RPC's start time, method and kind are one element of a
// goroutine-keyed tuple map. Calls for unknown services or methods never reach a handler and
// are not counted. Struct fields (`transport.Stream.method`, `status.Status.s`, `Status.Code`)
// come from DWARF, or for stripped binaries from gprobe's table of grpc-go layouts
// (compiler/src/gobin/libraries/grpc.rs), chosen by the grpc version in the binary.
//
// @param $1 SECONDS=0 stop after SECONDS (0: run until Ctrl-C or the target exits)
//
// Sample output (tests/go/grpcmix, grpc-go 1.33.3 from Debian, Go 1.19: gprobe --recipe grpc-server
// -p PID while `grpcmix client -n 10` ran; every handler sleeps 5 ms):
//   @in_flight:
//   [1, 2)                90 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//
//   @latency_us[/grpcmix.Mix/Get, unary, NotFound]:
//   [4K, 8K)              10 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//
//   @latency_us[/grpcmix.Mix/Put, unary, OK]:
//   [4K, 8K)              10 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//
//   @latency_us[/grpcmix.Mix/Watch, stream, OK]:
//   [4K, 8K)              10 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//
//   @latency_us[/grpcmix.Mix/Watch, stream, PermissionDenied]:
//   [4K, 8K)              10 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//
//   @latency_us[/grpcmix.Mix/Put, unary, InvalidArgument]:
//   [4K, 8K)              20 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//
//   @latency_us[/grpcmix.Mix/Get, unary, OK]:
//   [4K, 8K)              30 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//
//   @rpcs[/grpcmix.Mix/Get, unary, NotFound]: 10
//   @rpcs[/grpcmix.Mix/Put, unary, OK]: 10
//   @rpcs[/grpcmix.Mix/Watch, stream, OK]: 10
//   @rpcs[/grpcmix.Mix/Watch, stream, PermissionDenied]: 10
//   @rpcs[/grpcmix.Mix/Put, unary, InvalidArgument]: 20
//   @rpcs[/grpcmix.Mix/Get, unary, OK]: 30
// (the client logged: Get OK 30, NotFound 10; Put OK 10, InvalidArgument 20; Watch OK 10,
// PermissionDenied 10)

BEGIN
{
    // google.golang.org/grpc/codes: the numbers are the protocol's, the names Go's String().
    @code_name[0] = "OK";
    @code_name[1] = "Canceled";
    @code_name[2] = "Unknown";
    @code_name[3] = "InvalidArgument";
    @code_name[4] = "DeadlineExceeded";
    @code_name[5] = "NotFound";
    @code_name[6] = "AlreadyExists";
    @code_name[7] = "PermissionDenied";
    @code_name[8] = "ResourceExhausted";
    @code_name[9] = "FailedPrecondition";
    @code_name[10] = "Aborted";
    @code_name[11] = "OutOfRange";
    @code_name[12] = "Unimplemented";
    @code_name[13] = "Internal";
    @code_name[14] = "Unavailable";
    @code_name[15] = "DataLoss";
    @code_name[16] = "Unauthenticated";
}

uprobe:"google.golang.org/grpc.(*Server).processUnaryRPC"
{
    @rpc[goid] = (nsecs, str(args.stream.method, 128), "unary");
    @busy += 1;
    // RPCs in flight, as each new one starts (itself included).
    @in_flight = lhist(@busy, 0, 256, 1);
}

uprobe:"google.golang.org/grpc.(*Server).processStreamingRPC"
{
    @rpc[goid] = (nsecs, str(args.stream.method, 128), "stream");
    @busy += 1;
    @in_flight = lhist(@busy, 0, 256, 1);
}

// The handler has returned: its status goes to the client.
uprobe:"google.golang.org/grpc/internal/transport.(*http2Server).WriteStatus"
{
    // Read once (zeros when the RPC started before tracing did).
    $rpc = @rpc[goid];
    if ($rpc.0) {
        $code = @code_name[args.st.s.Code];
        @latency_us[$rpc.1, $rpc.2, $code] = hist((nsecs - $rpc.0) / 1000);
        @rpcs[$rpc.1, $rpc.2, $code] = count();
        @busy -= 1;
        delete(@rpc[goid]);
    }
}

interval:s:1
/$1 > 0 && elapsed >= $1 * 1000000000/
{
    exit();
}

END
{
    // RPCs still running at the end, and the bookkeeping maps, are not results.
    clear(@rpc);
    clear(@code_name);
    delete(@busy);
}
