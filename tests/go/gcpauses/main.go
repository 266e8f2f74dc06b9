// gcpauses runs -n garbage collections on request and prints the runtime's own figure for each
// one's stop-the-world pauses (runtime.MemStats.PauseNs), for a tracer's per-pause times to be
// checked against. Automatic GC is off (SetGCPercent(-1)), so the only cycles are the ones it
// starts with runtime.GC() after reading a line on stdin; -spin goroutines keep the Ps busy in
// plain loops, so each pause must preempt them (as a loaded service's pauses do).
//
// Output: "ready", then after the line on stdin one "cycle N pause_ns P" per collection.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
)

type node struct {
	next *node
	data [8]int
}

var sink *node

//go:noinline
func spin(stop *bool) uint64 {
	x := uint64(1)
	for !*stop {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

//go:noinline
func garbage(n int) {
	var head *node
	for i := 0; i < n; i++ {
		head = &node{next: head}
	}
	sink = head
}

func main() {
	n := flag.Int("n", 10, "collections")
	spinners := flag.Int("spin", 1, "goroutines spinning while collections run")
	flag.Parse()
	debug.SetGCPercent(-1)
	fmt.Println("ready")
	bufio.NewReader(os.Stdin).ReadString('\n')
	stop := false
	for i := 0; i < *spinners; i++ {
		go spin(&stop)
	}
	var ms runtime.MemStats
	for i := 0; i < *n; i++ {
		garbage(200000)
		runtime.GC()
		runtime.ReadMemStats(&ms)
		fmt.Printf("cycle %d pause_ns %d\n", ms.NumGC, ms.PauseNs[(ms.NumGC+255)%256])
	}
	stop = true
}
