// http-client: outgoing net/http client requests: latency by method and host, status codes, errors
//
// Run:  gprobe --recipe http-client -p PID [SECONDS]
//
// Times each request an `http.Transport` sends (`(*Transport).roundTrip`, once per attempt
// including redirects' follow-ups), keyed by method and `host[:port]`, from entry to return on the
// calling goroutine. The status comes from the returned `*http.Response`; a nil response means
// the round trip failed (`error`). Works on Go 1.17+, stripped or not.
//
// @requires net/http HTTP client
// @param $1 SECONDS=0 stop after SECONDS (0: run until Ctrl-C or the target exits)
//
// Exported (--prometheus, --otlp) by OpenTelemetry's HTTP semantic conventions: the latency as
// `http.client.request.duration` in seconds (Prometheus `http_client_request_duration_seconds`),
// the `host[:port]` key as `server.address` and `server.port` (no port when the URL gave none).
// @metric @latency_us http.client.request.duration unit=us keys=http.request.method,server.address:server.port desc="Duration of HTTP client requests."
// @metric @responses http.client.responses unit={response} keys=http.request.method,server.address:server.port,http.response.status_code desc="HTTP client responses received, by status code."
// @metric @errors http.client.errors unit={request} keys=http.request.method,server.address:server.port desc="HTTP client requests that failed without a response."
//
// Sample output (Go 1.27.3: gprobe --recipe http-client -c 'load -url http://127.0.0.1:31995
// -paths /fast,/missing,/sleep -n 40 -c 4' against examples/shop):
//   @latency_us[GET, 127.0.0.1:31995]:
//   [64, 128)              7 |@@@@@@@@@@@@                                        |
//   [128, 256)            29 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
//   [256, 512)            11 |@@@@@@@@@@@@@@@@@@@                                 |
//   [512, 1K)              7 |@@@@@@@@@@@@                                        |
//   [1K, 2K)               3 |@@@@@                                               |
//   [2K, 4K)               2 |@@@                                                 |
//   [4K, 8K)               5 |@@@@@@@@                                            |
//   [8K, 16K)             12 |@@@@@@@@@@@@@@@@@@@@@                               |
//   [16K, 32K)            15 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |
//   (... POST ...)
//
//   @responses[POST, 127.0.0.1:31995, 404]: 10
//   @responses[POST, 127.0.0.1:31995, 200]: 20
//   @responses[GET, 127.0.0.1:31995, 404]: 30
//   @responses[GET, 127.0.0.1:31995, 200]: 61
// (the load generator sent 30 GET and 10 POST per path, plus one GET /fast to see the service up)

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
