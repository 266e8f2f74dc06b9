// grpc-client: grpc-go client RPCs: latency by full method, status codes by name, in-flight, unary vs streaming
//
// Run:  gprobe --recipe grpc-client -p PID [SECONDS]
//       gprobe --recipe grpc-client -c './client ...' [SECONDS]
//
// Times every RPC a google.golang.org/grpc client makes, unary (`Invoke`) or streaming
// (`NewStream`), from the entry of `newClientStream`, where both begin, to the entry of
// `(*clientStream).finish`, which ends every RPC once with its error: entry probes only, no
// return probe. Keys are the full method (`/pkg.Service/Method`), `unary` or `stream` (the
// StreamDesc's ClientStreams/ServerStreams), and the status code by name: `OK` for a nil
// error, else the code of the status the server sent (the attempt's `transport.Stream.status`);
// an error without one (a local failure before any status arrived) counts as `Unknown`. Keyed
// by goroutine: a unary call, and a stream read to its end with RecvMsg, finish on the
// goroutine that started them; a stream ended from another goroutine is not counted. Struct
// fields come from DWARF, or for stripped binaries from gprobe's table of grpc-go layouts
// (compiler/src/gobin/libraries/grpc.rs), chosen by the grpc version in the binary.
//
// @param $1 SECONDS=0 stop after SECONDS (0: run until Ctrl-C or the target exits)
//
// Sample output (tests/go/grpcmix, grpc-go 1.33.3 from Debian, Go 1.19: gprobe --recipe grpc-client
// -c 'grpcmix client -n 10' against `grpcmix server`, whose handlers sleep 5 ms):
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

uprobe:"google.golang.org/grpc.newClientStream"
{
    @rpc[goid] = (nsecs, str(args.method, 128),
                  args.desc.ClientStreams || args.desc.ServerStreams ? "stream" : "unary");
    @busy += 1;
    // RPCs in flight, as each new one starts (itself included).
    @in_flight = lhist(@busy, 0, 256, 1);
}

uprobe:"google.golang.org/grpc.(*clientStream).finish"
{
    // Read once (zeros when the RPC started before tracing did, or on another goroutine).
    $rpc = @rpc[goid];
    if ($rpc.0) {
        $code = 0;
        if (args.err.type != 0) {
            // Unknown unless the server's status has arrived.
            $code = 2;
            if (args.cs.attempt.s.status) {
                $code = args.cs.attempt.s.status.s.Code;
            }
        }
        @latency_us[$rpc.1, $rpc.2, @code_name[$code]] = hist((nsecs - $rpc.0) / 1000);
        @rpcs[$rpc.1, $rpc.2, @code_name[$code]] = count();
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
