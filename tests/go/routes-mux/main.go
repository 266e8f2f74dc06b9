// routes-mux serves net/http's ServeMux with Go 1.22+ patterns (methods and wildcards) on
// 127.0.0.1:0 and prints the address it listens on (e2e_routes checks http-latency keys them by
// `Request.Pattern`, Go 1.23+).
//go:debug httpmuxgo121=0

// Built in GOPATH mode (no go.mod), which defaults to Go 1.21's ServeMux: the directive above
// asks for the 1.22+ patterns.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
)

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "user %s\n", r.PathValue("id")) })
	mux.HandleFunc("POST /users/{id}/orders", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) })
	mux.HandleFunc("/files/{path...}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "file") })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr())
	_ = http.Serve(ln, mux)
}
