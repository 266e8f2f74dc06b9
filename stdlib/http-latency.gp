// http-latency: net/http server latency histograms by method and route, status codes, in-flight requests
//
// Run:  gprobe --recipe http-latency -p PID [SECONDS]
//       gprobe --recipe http-latency -c './server -addr 127.0.0.1:8080' [SECONDS]
//
// Times every request a Go net/http server handles, from the moment the handler chain starts
// (`serverHandler.ServeHTTP`, once per request, whatever router sits inside) to the moment it has
// returned, on the goroutine that serves it: for HTTP/1 that is the entry of
// `(*response).finishRequest`, which the connection's goroutine calls right after the handler
// returns; for HTTP/2 the return of the stream's `runHandler`. An entry probe costs the traced
// server far less than a return probe (the kernel emulates the `push %rbp` an entry probe sits
// on, but must single-step a `RET`), so HTTP/1 requests pay for entry probes only. Hijacked
// connections (websockets) never finish a request: their start is dropped at the end. Keys are
// the request's method, URL path as the client sent it, and status, read from the Go strings of
// `*http.Request` (Go register ABI; signatures from DWARF, or from gprobe's tables for stripped
// binaries). The status is HTTP/1's `response.status` when the request ends (the code the
// handler wrote, directly or through the implicit 200 of its first Write; 0 if it wrote
// nothing), or for HTTP/2 the code first passed to the response state's `writeHeader`. A
// request's start time, method and route are one element of a goroutine-keyed tuple map (one
// map update when it starts, one lookup when it ends); HTTP/2's status is a map of its own.
// Works on Go 1.17+, stripped or not.
//
// @requires net/http HTTP server
// @param $1 SECONDS=0 stop after SECONDS (0: run until Ctrl-C or the target exits)
//
// Exported (--prometheus, --otlp) by OpenTelemetry's HTTP semantic conventions: the latency as
// `http.server.request.duration` in seconds (Prometheus `http_server_request_duration_seconds`).
// The key is the raw URL path, not a route pattern, so it is `url.path`: the conventions keep
// `http.route` for the router's template and forbid filling it with the path.
// @metric @latency_us http.server.request.duration unit=us keys=http.request.method,url.path,http.response.status_code desc="Duration of HTTP server requests."
// @metric @requests http.server.requests unit={request} keys=http.request.method,url.path,http.response.status_code desc="HTTP server requests handled, by status code."
//
// Sample output (Go 1.27.3 examples/shop; examples/load -paths /fast,/lock,/sleep -n 40 -c 4):
//   @in_flight:
//   [1, 2)                 3 |@                                                   |
//   [2, 3)                 2 |@                                                   |
//   [3, 4)                24 |@@@@@@@@@@@@@                                       |
//   [4, 5)                92 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//
//   @latency_us[GET, /lock, 200]:
//   [2K, 4K)              29 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//   [4K, 8K)               1 |@                                                   |
//
//   @latency_us[GET, /sleep, 200]:
//   [4K, 8K)               9 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@          |
//   [8K, 16K)             10 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@     |
//   [16K, 32K)            11 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//
//   @latency_us[GET, /fast, 200]:
//   [4, 8)                 8 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@                       |
//   [8, 16)               14 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//   [16, 32)               9 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@                   |
//
//   (... POST histograms ...)
//
//   @requests[POST, /fast, 200]: 10
//   @requests[POST, /lock, 200]: 10
//   @requests[POST, /sleep, 200]: 10
//   @requests[GET, /lock, 200]: 30
//   @requests[GET, /sleep, 200]: 30
//   @requests[GET, /fast, 200]: 31
// (the load generator sent 30 GET and 10 POST per path, plus one GET /fast to see the service up)

uprobe:"net/http.serverHandler.ServeHTTP"
{
    // The request's state in one map element (start time, method, route): one map update
    // here and one lookup at the end, where four maps would take four of each.
    @req[goid] = (nsecs, str(args.req.Method), str(args.req.URL.Path, 128));
    @busy += 1;
    // Requests in flight, as each new one arrives (itself included).
    @in_flight = lhist(@busy, 0, 256, 1);
}

// HTTP/2's status: the response state's `writeHeader`, where an explicit WriteHeader and the
// implicit 200 of a first Write both end up (the writers' own WriteHeader methods are often
// inlined). Named `net/http.(*http2responseWriterState)` up to Go 1.26 and
// `net/http/internal/http2.(*responseWriterState)` from 1.27. (HTTP/1's status is read from the
// response when the request ends: one probe hit per request fewer.)
uprobe:net/http*responseWriterState*writeHeader
/@req[goid].0 && !@status[goid]/
{
    @status[goid] = args.code;
}

// HTTP/1: the handler has returned; `w.status` is the code it wrote (0 if it wrote nothing).
uprobe:"net/http.(*response).finishRequest"
{
    // Read once (zeros when the request started before tracing did).
    $req = @req[goid];
    if ($req.0) {
        @latency_us[$req.1, $req.2, args.w.status] = hist((nsecs - $req.0) / 1000);
        @requests[$req.1, $req.2, args.w.status] = count();
        @busy -= 1;
        delete(@req[goid]);
    }
}

// HTTP/2: the stream's handler has returned (`runHandler` of `net/http.(*http2serverConn)` up
// to Go 1.26, of `net/http/internal/http2.(*serverConn)` from 1.27).
uretprobe:net/http*serverConn*runHandler
{
    $req = @req[goid];
    if ($req.0) {
        @latency_us[$req.1, $req.2, @status[goid]] = hist((nsecs - $req.0) / 1000);
        @requests[$req.1, $req.2, @status[goid]] = count();
        @busy -= 1;
        delete(@req[goid]);
        delete(@status[goid]);
    }
}

interval:s:1
/$1 > 0 && elapsed >= $1 * 1000000000/
{
    exit();
}

END
{
    // Requests still running at the end, and the bookkeeping maps, are not results.
    clear(@req);
    clear(@status);
    delete(@busy);
}
