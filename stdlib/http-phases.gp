// http-phases: where a net/http server's requests spend their time: reading the request, the handler, writing the response
//
// Run:  gprobe --recipe http-phases -p PID [SECONDS]
//       gprobe --recipe http-phases -c './server -addr 127.0.0.1:8080' [SECONDS]
//
// Splits each HTTP/1 request of a Go net/http server into three phases, by method and path:
// - read: from the request's first byte to the handler's start (the request line and headers),
//   plus the time the handler spends in reads of the request body (`(*body).Read`): a client
//   that sends its body slowly shows here, not as a slow handler.
// - handler: the handler's own time, from `serverHandler.ServeHTTP` to `(*response).finishRequest`,
//   less its body reads and its writes to the connection.
// - write: the handler's writes to the connection (`checkConnErrorWriter.Write`, under the
//   response's buffers: time the socket took them, so a client that reads slowly shows here),
//   plus `finishRequest`, which flushes the rest of the response (and drains a body the handler
//   left unread).
// The three add up to the request's time from its first byte to the end of `finishRequest`.
// The first byte is when the connection's first read after the previous request (or, on a new
// connection, in `(*conn).readRequest`) returns, so the time a keep-alive connection sits idle
// between requests is no part of any request.
// Everything is timed on the connection's goroutine, which reads the request and runs the
// handler for HTTP/1 (a handler that hands the body to another goroutine has that goroutine's
// reads counted as its own time). HTTP/2 requests are not split (http-latency times them). The
// return probes are uprobes on the functions' RET instructions (never a kernel uretprobe): a
// body read, a connection write and `connReader.Read` each cost one more probe hit than an entry
// probe would; `http-latency` alone is cheaper when the total is all that is needed.
// Keys are the method and the route as http-latency has them: the pattern the router matched
// (gin's full path, chi's route pattern, gorilla/mux's path template, net/http's ServeMux
// pattern on Go 1.23+; the routers' with DWARF only), read when the response header is written,
// else the URL path under http-latency's cardinality guard: the first $2 distinct paths are
// keys, every later one is `other`.
//
// @requires net/http HTTP server
// @include http-route
// @param $1 SECONDS=0 stop after SECONDS (0: run until Ctrl-C or the target exits)
// @param $2 PATHS=100 distinct raw paths kept as keys when no router names the route; the rest are `other`
//
// Sample output (Go 1.19 tests/go/phases -work 20ms -big 16777216; five POST /slow on one
// keep-alive connection, each 10-byte body sent over 100 ms after 150 ms idle, then one GET /big
// of 16 MiB read 256 KiB every 10 ms):
//   @handler_us[POST, /slow]: count 5, average 20273, total 101366
//   @handler_us[GET, /big]: count 1, average 37919, total 37919
//
//   @read_us[GET, /big]: count 1, average 71, total 71
//   @read_us[POST, /slow]: count 5, average 102750, total 513750
//
//   @write_us[POST, /slow]: count 5, average 264, total 1321
//   @write_us[GET, /big]: count 1, average 545413, total 545413

uprobe:"net/http.(*conn).readRequest"
/@waiting[goid] != 2/
{
    // Waiting for a request: its first byte ends the wait (below). A keep-alive connection
    // waits from the end of its previous request (an idle timeout makes the server peek at the
    // next request before `readRequest`).
    @waiting[goid] = 1;
}

uretprobe:"net/http.(*connReader).Read"
/@waiting[goid] == 1/
{
    @first[goid] = nsecs;
    @waiting[goid] = 2;
}

uprobe:"net/http.serverHandler.ServeHTTP"
{
    $first = @first[goid];
    $now = nsecs;
    delete(@waiting[goid]);
    delete(@first[goid]);
    @req[goid] = ($now, $first ? $first : $now, str(args.req.Method, 15), str(args.req.URL.Path, 128));
}

uprobe:"net/http.(*body).Read"
/@req[goid].0/
{
    @body_at[goid] = nsecs;
}

uretprobe:"net/http.(*body).Read"
/@body_at[goid]/
{
    @body_ns[goid] += nsecs - @body_at[goid];
    delete(@body_at[goid]);
}

uprobe:"net/http.checkConnErrorWriter.Write"
/@req[goid].0/
{
    @write_at[goid] = nsecs;
}

uretprobe:"net/http.checkConnErrorWriter.Write"
/@write_at[goid]/
{
    @write_ns[goid] += nsecs - @write_at[goid];
    delete(@write_at[goid]);
}

uprobe:"net/http.(*response).finishRequest"
/@req[goid].0/
{
    // The handler has returned: what it wrote so far was its own writing.
    @handler_end[goid] = (nsecs, @write_ns[goid]);
}

uretprobe:"net/http.(*response).finishRequest"
{
    $req = @req[goid];
    $end = @handler_end[goid];
    if ($req.0 && $end.0) {
        // The router's pattern (http-route, where a router or ServeMux tells), else the path
        // under the guard, as http-latency keys it.
        if (@route[goid] == "") {
            if (@paths[$req.3]) {
                @route[goid] = $req.3;
            } else if (@npaths < $2) {
                @paths[$req.3] = 1;
                @npaths += 1;
                @route[goid] = $req.3;
            } else {
                @route[goid] = "other";
            }
        }
        $path = @route[goid];
        $body = @body_ns[goid];
        @read_us[$req.2, $path] = stats(($req.0 - $req.1 + $body) / 1000);
        @handler_us[$req.2, $path] = stats(($end.0 - $req.0 - $body - $end.1) / 1000);
        @write_us[$req.2, $path] = stats(($end.1 + nsecs - $end.0) / 1000);
    }
    delete(@req[goid]);
    delete(@route[goid]);
    delete(@handler_end[goid]);
    delete(@body_ns[goid]);
    delete(@write_ns[goid]);
    // The connection's next request starts with its first byte.
    @waiting[goid] = 1;
}

interval:s:1
/$1 > 0 && elapsed >= $1 * 1000000000/
{
    exit();
}

END
{
    // Requests still running at the end, and the bookkeeping maps, are not results.
    clear(@waiting);
    clear(@first);
    clear(@req);
    clear(@route);
    clear(@body_at);
    clear(@body_ns);
    clear(@write_at);
    clear(@write_ns);
    clear(@handler_end);
    clear(@paths);
    delete(@npaths);
}
