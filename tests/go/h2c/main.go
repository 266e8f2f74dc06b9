// h2c serves HTTP/2 without TLS through golang.org/x/net/http2's server, as Caddy does
// (h2c.NewHandler around a ServeMux), on 127.0.0.1:0, and prints the address it listens on.
// With -client URL it is the client instead: -n rounds of GET /a, GET /b and POST /c over one
// h2c (prior knowledge) connection, then a line "sent METHOD PATH STATUS N" per kind (e2e_routes
// checks http-latency counts those exactly).
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
)

func main() {
	client := flag.String("client", "", "be the client of the server at this URL")
	n := flag.Int("n", 5, "rounds of requests (client)")
	flag.Parse()
	if *client != "" {
		os.Exit(runClient(*client, *n))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/a", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "a") })
	mux.HandleFunc("/b", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) })
	mux.HandleFunc("/c", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr())
	_ = http.Serve(ln, h2c.NewHandler(mux, &http2.Server{}))
}

func runClient(url string, n int) int {
	tr := &http2.Transport{
		AllowHTTP: true,
		DialTLS: func(network, addr string, _ *tls.Config) (net.Conn, error) {
			return net.Dial(network, addr)
		},
	}
	c := &http.Client{Transport: tr}
	sent := map[string]int{}
	for i := 0; i < n; i++ {
		for _, req := range [][2]string{{"GET", "/a"}, {"GET", "/b"}, {"POST", "/c"}} {
			r, err := http.NewRequest(req[0], url+req[1], strings.NewReader("body"))
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			resp, err := c.Do(r)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.ProtoMajor != 2 {
				fmt.Fprintln(os.Stderr, "not HTTP/2:", resp.Proto)
				return 1
			}
			sent[fmt.Sprintf("%s %s %d", req[0], req[1], resp.StatusCode)]++
		}
	}
	keys := make([]string, 0, len(sent))
	for k := range sent {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("sent %s %d\n", k, sent[k])
	}
	return 0
}
