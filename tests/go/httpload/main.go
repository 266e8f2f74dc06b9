// httpload serves HTTP on loopback and drives itself with a known set of requests, so a tracer
// can compare what it saw with what was sent. Flags: -get N (GET /a), -post N (POST /b),
// -missing N (GET /missing → 404). It waits -delay first so a tracer can attach, or with
// -start FILE until FILE exists (at most a minute), so a test can say when the tracer is ready.
// With -linger it stays up that long after its requests (printing "done" first), so a tracer's
// exporters can be asked about them while it still runs.
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	gets := flag.Int("get", 3, "GET /a requests")
	posts := flag.Int("post", 2, "POST /b requests")
	missing := flag.Int("missing", 1, "GET /missing requests")
	delay := flag.Duration("delay", 0, "sleep before starting")
	start := flag.String("start", "", "wait until this file exists before starting")
	linger := flag.Duration("linger", 0, "stay up this long after the requests")
	flag.Parse()
	time.Sleep(*delay)
	for waited := 0; *start != "" && waited < 6000; waited++ {
		if _, err := os.Stat(*start); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, "%s %s\n", r.Method, r.URL.Path)
	})
	go func() { _ = http.Serve(ln, mux) }()
	base := "http://" + ln.Addr().String()
	do := func(method, path string) {
		req, err := http.NewRequest(method, base+path, strings.NewReader("x"))
		if err != nil {
			panic(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		fmt.Printf("%s %s %d\n", method, path, resp.StatusCode)
	}
	for i := 0; i < *gets; i++ {
		do("GET", "/a")
	}
	for i := 0; i < *posts; i++ {
		do("POST", "/b")
	}
	for i := 0; i < *missing; i++ {
		do("GET", "/missing")
	}
	if *linger > 0 {
		fmt.Println("done")
		time.Sleep(*linger)
	}
}
