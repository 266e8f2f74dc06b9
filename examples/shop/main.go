// shop is a small HTTP service (standard library only) whose endpoints are slow for known
// reasons, so each gprobe recipe has something real to find:
//
//	/fast     answers at once
//	/lock     waits on a contended mutex        (goroutine-block, sched-latency)
//	/alloc    allocates ~1 MiB in small pieces  (alloc-hotspots, gc-pauses)
//	/syscall  writes and fsyncs a temp file     (syscalls-by-goroutine)
//	/cpu      burns CPU in main.burn            (cpu-profile)
//	/sleep    sleeps 5–20 ms                    (http-latency)
//	/leak     starts a goroutine that never ends (goroutine-leaks)
//
// Usage: shop -addr 127.0.0.1:8080
package main

import (
	"flag"
	"fmt"
	"log"
	"math/rand"
	"net/http"
	"os"
	"sync"
	"time"
)

var (
	mu      sync.Mutex
	counter int
	sink    [][]byte
)

//go:noinline
func holdLock(d time.Duration) int {
	mu.Lock()
	defer mu.Unlock()
	time.Sleep(d)
	counter++
	return counter
}

//go:noinline
func allocate(n int) int {
	total := 0
	keep := make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		b := make([]byte, 1024)
		b[0] = byte(i)
		keep = append(keep, b)
		total += len(b)
	}
	sink = keep
	return total
}

// burn hashes in plain Go (FNV-1a rounds), not crypto/sha256: on amd64 sha256's assembly uses
// BP as a data register, which cuts the frame-pointer chain every profiler walks.
//
//go:noinline
func burn(rounds int) [32]byte {
	var sum [32]byte
	copy(sum[:], "gprobe")
	for i := 0; i < rounds; i++ {
		h := uint64(14695981039346656037)
		for _, b := range sum {
			h ^= uint64(b)
			h *= 1099511628211
		}
		for j := range sum {
			sum[j] ^= byte(h >> (uint(j) % 8 * 8))
		}
	}
	return sum
}

//go:noinline
func syncWrite(dir string) error {
	f, err := os.CreateTemp(dir, "shop-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if _, err := f.Write(make([]byte, 4096)); err != nil {
		return err
	}
	return f.Sync()
}

var leaked = make(chan struct{})

//go:noinline
func leak() {
	go func() { <-leaked }()
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address (loopback by default)")
	h2c := flag.Bool("h2c", false, "also serve unencrypted HTTP/2 (needs Go 1.24+)")
	flag.Parse()
	tmp := os.TempDir()

	http.HandleFunc("/fast", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	http.HandleFunc("/lock", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, holdLock(2*time.Millisecond))
	})
	http.HandleFunc("/alloc", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, allocate(1024))
	})
	http.HandleFunc("/syscall", func(w http.ResponseWriter, r *http.Request) {
		if err := syncWrite(tmp); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "synced")
	})
	http.HandleFunc("/cpu", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%x\n", burn(100000))
	})
	http.HandleFunc("/sleep", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Duration(5+rand.Intn(15)) * time.Millisecond)
		fmt.Fprintln(w, "slept")
	})
	http.HandleFunc("/leak", func(w http.ResponseWriter, r *http.Request) {
		leak()
		fmt.Fprintln(w, "leaked one goroutine")
	})
	http.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) {
		http.NotFound(w, r)
	})
	log.Printf("shop listening on %s", *addr)
	if *h2c {
		log.Fatal(serveH2C(*addr))
	}
	log.Fatal(http.ListenAndServe(*addr, nil))
}
