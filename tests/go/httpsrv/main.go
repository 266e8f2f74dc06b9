// httpsrv serves a few paths on the address given as the first argument (default 127.0.0.1:0)
// and prints the address it listens on.
package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
)

func main() {
	addr := "127.0.0.1:0"
	if len(os.Args) > 1 {
		addr = os.Args[1]
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr())
	// /api does what a small JSON API handler does: build a response and encode it.
	http.HandleFunc("/api", func(w http.ResponseWriter, r *http.Request) {
		type item struct {
			ID    int      `json:"id"`
			Name  string   `json:"name"`
			Tags  []string `json:"tags"`
			Price float64  `json:"price"`
		}
		items := make([]item, 50)
		for i := range items {
			items[i] = item{ID: i, Name: fmt.Sprintf("item-%d", i), Tags: []string{"a", "b"}, Price: float64(i) * 1.25}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(items)
	})
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, "%s %s\n", r.Method, r.URL.Path)
	})
	_ = http.Serve(ln, nil)
}
