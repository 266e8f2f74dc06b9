// load drives an HTTP service on loopback with a fixed, known mix of requests and prints how many
// it sent per method and path, so tracer output can be checked against ground truth.
//
// Usage: load -url http://127.0.0.1:8080 -n 200 -c 4 -paths /fast,/lock,/alloc
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "service base URL (loopback only)")
	n := flag.Int("n", 200, "requests per path")
	conc := flag.Int("c", 4, "concurrent clients")
	paths := flag.String("paths", "/fast,/lock,/alloc,/syscall,/cpu,/sleep", "comma-separated paths")
	wait := flag.Duration("wait", 5*time.Second, "how long to wait for the service to come up")
	h2c := flag.Bool("h2c", false, "speak unencrypted HTTP/2 (needs Go 1.24+)")
	flag.Parse()
	if !strings.HasPrefix(*base, "http://127.") && !strings.HasPrefix(*base, "http://localhost") && !strings.HasPrefix(*base, "http://[::1]") {
		fmt.Fprintln(os.Stderr, "load: refusing a non-loopback target")
		os.Exit(2)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	if *h2c {
		t, err := h2cTransport()
		if err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(2)
		}
		client.Transport = t
	}
	deadline := time.Now().Add(*wait)
	for {
		resp, err := client.Get(*base + "/fast")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			fmt.Fprintln(os.Stderr, "load: service did not come up:", err)
			os.Exit(1)
		}
		time.Sleep(50 * time.Millisecond)
	}

	type job struct{ method, path string }
	jobs := make(chan job)
	var mu sync.Mutex
	sent := map[string]int{}
	protos := map[string]int{}
	failed := 0
	var wg sync.WaitGroup
	for i := 0; i < *conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				req, _ := http.NewRequest(j.method, *base+j.path, nil)
				resp, err := client.Do(req)
				mu.Lock()
				if err != nil {
					failed++
				} else {
					sent[j.method+" "+j.path]++
					protos[resp.Proto]++
				}
				mu.Unlock()
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	for i := 0; i < *n; i++ {
		for _, p := range strings.Split(*paths, ",") {
			method := "GET"
			if i%4 == 3 {
				method = "POST"
			}
			jobs <- job{method, p}
		}
	}
	close(jobs)
	wg.Wait()
	keys := make([]string, 0, len(sent))
	for k := range sent {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("sent %s %d\n", k, sent[k])
	}
	for p, count := range protos {
		fmt.Printf("protocol %s %d\n", p, count)
	}
	fmt.Printf("failed %d\n", failed)
}
