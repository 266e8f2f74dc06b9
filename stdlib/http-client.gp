// http-client: outgoing net/http client requests: latency by method and host, status codes, errors
//
// Run:  gprobe --recipe http-client -p PID [SECONDS]
//
// Times each request an `http.Transport` sends (`(*Transport).roundTrip`, once per attempt
// including redirects' follow-ups), keyed by method and `host[:port]`, from entry to return on the
// calling goroutine. The status comes from the returned `*http.Response`; a nil response means
// the round trip failed (`error`). Works on Go 1.17+, stripped or not.
//
// @param $1 SECONDS=0 stop after SECONDS (0: run until Ctrl-C or the target exits)
//
// Sample output: NOT YET CAPTURED (needs the Go-aware back end: goid, args, retval typed by DWARF);
// the shape it will have, for examples/load driving examples/shop:
//   @responses[GET, 127.0.0.1:8080, 200]: 600
//   @responses[POST, 127.0.0.1:8080, 200]: 200
//   @latency_us[GET, 127.0.0.1:8080]:
//   [128, 256)           310 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|

uprobe:"net/http.(*Transport).roundTrip"
{
    @start[goid] = nsecs;
    @method[goid] = str(args.req.Method);
    @host[goid] = str(args.req.URL.Host, 128);
}

uretprobe:"net/http.(*Transport).roundTrip"
/@start[goid]/
{
    @latency_us[@method[goid], @host[goid]] = hist((nsecs - @start[goid]) / 1000);
    if (retval == 0) {
        @errors[@method[goid], @host[goid]] = count();
    } else {
        @responses[@method[goid], @host[goid], retval.StatusCode] = count();
    }
    delete(@start[goid]);
    delete(@method[goid]);
    delete(@host[goid]);
}

interval:s:1
/$1 > 0 && elapsed >= $1 * 1000000000/
{
    exit();
}

END
{
    clear(@start);
    clear(@method);
    clear(@host);
}
