// goopen opens a marker file from -g goroutines, goroutine i (from 1) exactly i times, and logs
// "open PID GOID COUNT" for each, learning its goid from runtime.Stack, so a tracer counting
// openat by (pid, goid) across several processes can be checked against each one's own log.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"
)

func ownID() int {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	id, err := strconv.Atoi(string(bytes.Fields(buf)[1]))
	if err != nil {
		panic(err)
	}
	return id
}

func main() {
	g := flag.Int("g", 4, "goroutines")
	path := flag.String("path", "/tmp/gprobe-goopen-marker", "file to open")
	delay := flag.Duration("delay", 0, "sleep before starting")
	flag.Parse()
	time.Sleep(*delay)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := 1; i <= *g; i++ {
		wg.Add(1)
		go func(times int) {
			defer wg.Done()
			// One OS thread per goroutine while it opens: the goid is read from its TLS.
			runtime.LockOSThread()
			for k := 0; k < times; k++ {
				f, err := os.Open(*path)
				if err != nil {
					panic(err)
				}
				f.Close()
			}
			mu.Lock()
			fmt.Printf("open %d %d %d\n", os.Getpid(), ownID(), times)
			mu.Unlock()
		}(i)
	}
	wg.Wait()
}
