// descend starts -g goroutines that each recurse -d levels deep through main.descend, whose
// large frames force several goroutine stack growths (stack copies) per goroutine. Each
// goroutine checks its own result; the program prints "ok calls=N" only if all are right, so
// a tracer that corrupts return addresses or stacks shows up as a crash or a wrong result.
package main

import (
	"flag"
	"fmt"
	"os"
	"sync"
)

//go:noinline
func descend(level, max int) int {
	var pad [256]byte // a big frame: deep recursion must grow the goroutine stack
	pad[level%256] = byte(level)
	if level == max {
		return int(pad[level%256]) & 1
	}
	return descend(level+1, max) + int(pad[level%256])&1
}

func main() {
	goroutines := flag.Int("g", 64, "goroutines")
	depth := flag.Int("d", 2000, "recursion depth per goroutine")
	rounds := flag.Int("r", 1, "rounds")
	flag.Parse()
	want := 0
	for level := 0; level <= *depth; level++ {
		want += level % 256 & 1
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	bad := 0
	for r := 0; r < *rounds; r++ {
		for i := 0; i < *goroutines; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if got := descend(0, *depth); got != want {
					mu.Lock()
					bad++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	}
	if bad > 0 {
		fmt.Printf("FAIL: %d goroutines got a wrong result\n", bad)
		os.Exit(1)
	}
	fmt.Printf("ok calls=%d\n", *rounds**goroutines*(*depth+1))
}
