// http-latency: net/http server latency histograms by method and route, status codes, in-flight requests
//
// Run:  gprobe --recipe http-latency -p PID [SECONDS]
//       gprobe --recipe http-latency -c './server -addr 127.0.0.1:8080' [SECONDS]
//
// Times every request a Go net/http server handles, from the moment the handler chain starts
// (`serverHandler.ServeHTTP`, once per request, whatever router sits inside) to the moment it has
// returned, on the goroutine that serves it: for HTTP/1 that is the entry of
// `(*response).finishRequest`, which the connection's goroutine calls right after the handler
// returns; for HTTP/2 the return of the stream's `runHandler`. HTTP/2 without TLS through
// golang.org/x/net/http2 (h2c, as Caddy serves it) starts at that package's `runHandler` instead,
// where the stream's goroutine calls the handler (with DWARF, or stripped from gprobe's table of
// x/net's signatures for the version in the module list; a stripped GOPATH build's streams are
// not seen). An entry probe costs the traced
// server far less than a return probe (the kernel emulates the `push %rbp` an entry probe sits on,
// but must single-step a `RET`), so HTTP/1 requests pay for entry probes only. Hijacked
// connections (websockets) never finish a request: their start is dropped at the end. Keys are the
// request's method, route and status. The route is the pattern the router matched where a router
// tells: gin's full path (`/users/:id`), chi's route pattern (`/users/{id}`; a sub-router's
// `/api/items/{item}` as chi joins it, deeper nesting keyed by the path), gorilla/mux's path
// template (`/api/items/{item}`, a subrouter's prefix included), net/http's ServeMux pattern on
// Go 1.23+ (`Request.Pattern`: `GET /users/{id}`, stripped too). These are read when the response header is written
// (`(*response).WriteHeader`: one entry probe more per request, attached only where a router can
// tell), from pointers the router's own functions hand over (gin's `handleHTTPRequest`, chi's
// `FindRoute`, gorilla's `requestWithRoute`), and only where the target links that router and has
// DWARF (gprobe defines `__GO_PKG_<path>__` and `__GO_DWARF__` for the target; a stripped build
// has no layout for the routers' structs, so its requests are keyed by the guarded path). Where no
// router tells, the key is the URL path as the client sent it, under a cardinality guard: the
// first $2 distinct paths are keys, every later one is counted under `other` (so a client cannot
// make a series per user id; requests racing on several CPUs may admit one path more per CPU; keep
// PATHS times methods and codes under the 4,096 elements a map holds). Method and path are read
// from the Go strings of `*http.Request` (Go register ABI; signatures from DWARF, or from gprobe's
// tables for stripped binaries). The status is HTTP/1's `response.status` when the request ends
// (the code the handler wrote, directly or through the implicit 200 of its first Write; 0 if it
// wrote nothing), or for HTTP/2 the code first passed to the response state's `writeHeader`;
// HTTP/2 requests are keyed by the guarded path. A request's start time, method and path are one
// element of a goroutine-keyed tuple map (one map update when it starts, one lookup when it ends).
// Works on Go 1.17+, stripped or not.
//
// @requires net/http HTTP server
// @include http-route
// @param $1 SECONDS=0 stop after SECONDS (0: run until Ctrl-C or the target exits)
// @param $2 PATHS=100 distinct raw paths kept as keys when no router names the route; the rest are `other`
//
// Exported (--prometheus, --otlp) by OpenTelemetry's HTTP semantic conventions: the latency as
// `http.server.request.duration` in seconds (Prometheus `http_server_request_duration_seconds`).
// The route is `http.route`: a router's pattern, or the guarded path (bounded either way).
// @metric @latency_us http.server.request.duration unit=us keys=http.request.method,http.route,http.response.status_code desc="Duration of HTTP server requests."
// @metric @requests http.server.requests unit={request} keys=http.request.method,http.route,http.response.status_code desc="HTTP server requests handled, by status code."
//
// Sample output (Go 1.19 tests/go/routes-gin, a gin router; examples/load -paths
// /users/1,/users/2,/users/42/orders,/api/v1/items/7/a/b -n 40 -c 4):
//   @in_flight:
//   [1, 2)               142 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//   [2, 3)                19 |@@@@@@                                              |
//
//   @latency_us[GET, /api/v1/items/:item/*rest, 200]:
//   [8, 16)               12 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@           |
//   [16, 32)              15 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//   [32, 64)               1 |@@@                                                 |
//   [64, 128)              0 |                                                    |
//   [128, 256)             1 |@@@                                                 |
//   [256, 512)             1 |@@@                                                 |
//
//   @latency_us[GET, /users/:id, 200]:
//   [8, 16)               25 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@         |
//   [16, 32)              30 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//   [32, 64)               5 |@@@@@@@@                                            |
//
//   (... the other histograms ...)
//
//   @requests[GET, /fast, 404]: 1
//   @requests[POST, /api/v1/items/7/a/b, 404]: 10
//   @requests[POST, /users/1, 404]: 10
//   @requests[POST, /users/2, 404]: 10
//   @requests[POST, /users/:id/orders, 201]: 10
//   @requests[GET, /api/v1/items/:item/*rest, 200]: 30
//   @requests[GET, /users/42/orders, 404]: 30
//   @requests[GET, /users/:id, 200]: 60
// (the load generator sent 30 GET and 10 POST per path, plus one GET /fast to see the service
// up; the 404s matched no route, so they are keyed by their paths)
//
// Without a router (Go 1.19 tests/go/httpsrv; `--recipe http-latency -p PID 0 3`, PATHS=3;
// examples/load -paths /u/1,...,/u/8 -n 4 -c 1): /fast, /u/1 and /u/2 were the first three
// distinct paths; the other six are `other`.
//   @requests[GET, /fast, 200]: 1
//   @requests[POST, /u/1, 200]: 1
//   @requests[POST, /u/2, 200]: 1
//   @requests[GET, /u/1, 200]: 3
//   @requests[GET, /u/2, 200]: 3
//   @requests[POST, other, 200]: 6
//   @requests[GET, other, 200]: 18

uprobe:"net/http.serverHandler.ServeHTTP"
{
    // The request's state in one map element (start time, method, path): one map update
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

#if (defined(__GO_DWARF__) || defined(__GO_TABLE_xnet__)) && defined(__GO_FUNC_golang_org_x_net_http2___serverConn__runHandler__)
// HTTP/2 without TLS through golang.org/x/net/http2 (Caddy's h2c): each stream's handler is
// called by the stream's goroutine in `runHandler`, not through net/http's serverHandler, so
// the request starts there. (The connection's `PRI *` preface request is hijacked by h2c and
// never finishes: not counted.)
#define XNET_H2C 1
uprobe:"golang.org/x/net/http2.(*serverConn).runHandler"
{
    @req[goid] = (nsecs, str(args.req.Method), str(args.req.URL.Path, 128));
    @busy += 1;
    @in_flight = lhist(@busy, 0, 256, 1);
}

uprobe:"golang.org/x/net/http2.(*responseWriterState).writeHeader"
/@req[goid].0 && !@status[goid]/
{
    @status[goid] = args.code;
}
#endif

// HTTP/1: the handler has returned; `w.status` is the code it wrote (0 if it wrote nothing).
uprobe:"net/http.(*response).finishRequest"
{
    // Read once (zeros when the request started before tracing did).
    $req = @req[goid];
    if ($req.0) {
        if (@route[goid] == "") {
            // No router told: the path, while fewer than $2 distinct paths were seen; every
            // further one is counted under `other`.
            if (@paths[$req.2]) {
                @route[goid] = $req.2;
            } else if (@npaths < $2) {
                @paths[$req.2] = 1;
                @npaths += 1;
                @route[goid] = $req.2;
            } else {
                @route[goid] = "other";
            }
        }
        @latency_us[$req.1, @route[goid], args.w.status] = hist((nsecs - $req.0) / 1000);
        @requests[$req.1, @route[goid], args.w.status] = count();
        @busy -= 1;
        delete(@req[goid]);
        delete(@route[goid]);
    }
}
// HTTP/2: the stream's handler has returned (`runHandler` of `net/http.(*http2serverConn)` up
// to Go 1.26, of `net/http/internal/http2.(*serverConn)` from 1.27). Keyed by the guarded path:
// HTTP/2 responses do not pass `(*response).WriteHeader`, where HTTP/1 reads the route.
uretprobe:net/http*serverConn*runHandler
#ifdef XNET_H2C
, uretprobe:"golang.org/x/net/http2.(*serverConn).runHandler"
#endif
{
    $req = @req[goid];
    if ($req.0) {
        if (@paths[$req.2]) {
            @route[goid] = $req.2;
        } else if (@npaths < $2) {
            @paths[$req.2] = 1;
            @npaths += 1;
            @route[goid] = $req.2;
        } else {
            @route[goid] = "other";
        }
        @latency_us[$req.1, @route[goid], @status[goid]] = hist((nsecs - $req.0) / 1000);
        @requests[$req.1, @route[goid], @status[goid]] = count();
        @busy -= 1;
        delete(@req[goid]);
        delete(@route[goid]);
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
    clear(@route);
    clear(@paths);
    delete(@npaths);
    delete(@busy);
}
