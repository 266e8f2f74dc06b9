// phases serves on 127.0.0.1:0 and prints the address it listens on. POST /slow reads the
// whole body, then works (sleeps) for -work, then writes a small response; GET /big writes
// -big bytes (e2e_seam's http-phases test sends /slow's body slowly and reads /big slowly).
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
	work := flag.Duration("work", 20*time.Millisecond, "time /slow's handler works after reading the body")
	big := flag.Int("big", 4<<20, "bytes /big writes")
	flag.Parse()
	http.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		time.Sleep(*work)
		fmt.Fprintf(w, "read %d\n", n)
	})
	payload := strings.Repeat("x", *big)
	http.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, payload)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr())
	_ = http.Serve(ln, nil)
}
