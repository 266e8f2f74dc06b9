// twogo starts goroutines that never exit from two `go` statements of one function
// (main.leakBoth: -n from the first, 2×-n from the second) after a line on stdin, prints
// "started", and waits for stdin to close: a leak tracer must keep the two statements apart.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
)

//go:noinline
func wait(block chan struct{}) { <-block }

//go:noinline
func leakBoth(n int, block chan struct{}) {
	for i := 0; i < n; i++ {
		go wait(block)
	}
	for i := 0; i < 2*n; i++ {
		go func() { <-block }()
	}
}

func main() {
	n := flag.Int("n", 5, "goroutines from the first go statement (twice as many from the second)")
	flag.Parse()
	in := bufio.NewReader(os.Stdin)
	fmt.Println("ready")
	in.ReadString('\n')
	leakBoth(*n, make(chan struct{}))
	fmt.Println("started")
	in.ReadString('\n')
}
