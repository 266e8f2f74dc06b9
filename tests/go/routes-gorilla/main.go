// routes-gorilla serves a gorilla/mux router with path templates on 127.0.0.1:0 and prints the
// address it listens on (e2e_routes checks http-latency keys them by the route's template).
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"

	"github.com/gorilla/mux"
)

func main() {
	r := mux.NewRouter()
	r.HandleFunc("/users/{id}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "user %s\n", mux.Vars(r)["id"]) }).Methods("GET")
	r.HandleFunc("/users/{id:[0-9]+}/orders", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) }).Methods("POST")
	api := r.PathPrefix("/api").Subrouter()
	api.HandleFunc("/items/{item}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "item") })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr())
	_ = http.Serve(ln, r)
}
