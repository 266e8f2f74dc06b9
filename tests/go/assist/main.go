// assist allocates for -seconds in -workers goroutines, keeping a live heap so that the GC runs
// often (GOGC=10 from SetGCPercent) and allocating goroutines are made to assist its marking,
// while background mark workers run beside them. main.churn is the allocator. Prints "done".
package main

import (
	"flag"
	"fmt"
	"runtime/debug"
	"sync"
	"time"
)

type node struct {
	next *node
	data [16]int
}

//go:noinline
func churn(live int, until time.Time) int {
	ring := make([]*node, live)
	n := 0
	for i := 0; time.Now().Before(until); i++ {
		for j := 0; j < 1000; j++ {
			ring[(i*1000+j)%live] = &node{next: ring[(i*1000+j+1)%live]}
		}
		n++
	}
	return n
}

func main() {
	seconds := flag.Float64("seconds", 3, "how long to allocate")
	workers := flag.Int("workers", 2, "allocating goroutines")
	flag.Parse()
	debug.SetGCPercent(10)
	until := time.Now().Add(time.Duration(*seconds * float64(time.Second)))
	var wg sync.WaitGroup
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			churn(200000, until)
		}()
	}
	wg.Wait()
	fmt.Println("done")
}
