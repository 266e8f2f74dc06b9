// routes-chi serves a chi router with a sub-router on 127.0.0.1:0 and prints the address it
// listens on (e2e_routes checks http-latency keys them by chi's route pattern).
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"

	"github.com/go-chi/chi/v5"
)

func main() {
	r := chi.NewRouter()
	r.Get("/users/{id}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "user %s\n", chi.URLParam(r, "id")) })
	r.Route("/api", func(r chi.Router) {
		r.Get("/items/{item}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "item") })
		r.Post("/items", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) })
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr())
	_ = http.Serve(ln, r)
}
