// hotspots has one known hot spot per profile kind, chosen with -mode, for e2e_pprof:
//   - cpu:   main.crunch loops over main.mix, small enough to be inlined into it, so CPU
//     samples land in mix's code: pprof shows main.mix (inlined) on a line of its own above
//     main.crunch, and mix as the hottest function.
//   - alloc: main.allocate makes -n slices of 1 KiB (sizes not known at compile time, so each
//     is a heap allocation through runtime.makeslice).
//   - block: main.waitForTicks receives -n times from a channel that a sender fills every
//     10 ms (spinning in between), so that receive is where goroutines spend their blocked time.
package main

import (
	"flag"
	"fmt"
	"time"
)

func mix(x uint64) uint64 {
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	return x
}

//go:noinline
func crunch(rounds int) uint64 {
	x := uint64(88172645463325252)
	for i := 0; i < rounds; i++ {
		x = mix(x)
	}
	return x
}

var keep [][]byte

//go:noinline
func allocate(n, size int) int {
	total := 0
	for i := 0; i < n; i++ {
		b := make([]byte, size)
		keep = append(keep, b)
		total += len(b)
		if len(keep) >= 256 {
			keep = keep[:0]
		}
	}
	return total
}

//go:noinline
func waitForTicks(ticks chan int, n int) int {
	sum := 0
	for i := 0; i < n; i++ {
		sum += <-ticks
	}
	return sum
}

func main() {
	mode := flag.String("mode", "cpu", "cpu, alloc or block")
	n := flag.Int("n", 0, "rounds (cpu), allocations (alloc) or receives (block); 0: a default")
	flag.Parse()
	switch *mode {
	case "cpu":
		if *n == 0 {
			*n = 800000000
		}
		fmt.Println(crunch(*n))
	case "alloc":
		if *n == 0 {
			*n = 20000
		}
		fmt.Println(allocate(*n, 1024+*n%1))
	case "block":
		if *n == 0 {
			*n = 40
		}
		ticks := make(chan int)
		go func() {
			for i := 0; i < *n; i++ {
				// Spins rather than sleeps: the receiver is the only one parked.
				for start := time.Now(); time.Since(start) < 10*time.Millisecond; {
				}
				ticks <- 1
			}
		}()
		fmt.Println(waitForTicks(ticks, *n))
	}
}
