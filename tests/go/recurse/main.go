// recurse runs -g goroutines, each recursing -d levels deep through main.depth with a large
// frame, so goroutine stacks grow (runtime.morestack re-enters main.depth) and get copied while
// return probes are attached. It checks every result and prints "ok CALLS" or exits 1.
package main

import (
	"flag"
	"fmt"
	"os"
	"sync"
)

//go:noinline
func depth(n int, pad [64]int) int {
	if n == 0 {
		return pad[0]
	}
	pad[1+n%63] += n
	return depth(n-1, pad) + 1
}

func main() {
	g := flag.Int("g", 1000, "goroutines")
	d := flag.Int("d", 200, "recursion depth")
	flag.Parse()
	var wg sync.WaitGroup
	bad := make(chan int, *g)
	for i := 0; i < *g; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var pad [64]int
			pad[0] = i
			if got := depth(*d, pad); got != *d+i {
				bad <- got
			}
		}(i)
	}
	wg.Wait()
	close(bad)
	for b := range bad {
		fmt.Fprintf(os.Stderr, "wrong result %d\n", b)
		os.Exit(1)
	}
	fmt.Printf("ok %d\n", *g*(*d+1))
}
