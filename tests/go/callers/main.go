// callers: main.outer calls main.middle -n times; main.middle calls main.framed (which sets up a
// stack frame) and main.leaf (a leaf without a frame); main.framed calls main.leaf too. An entry
// probe's gostack must name each function's direct caller: every call path appears -n times.
package main

import (
	"flag"
	"fmt"
)

//go:noinline
func leaf(x int) int { return x * 3 }

//go:noinline
func framed(x int) int { return leaf(x) + 1 }

//go:noinline
func middle(x int) int { return framed(x) + leaf(x) }

//go:noinline
func outer(n int) int {
	sum := 0
	for i := 0; i < n; i++ {
		sum += middle(i)
	}
	return sum
}

func main() {
	n := flag.Int("n", 10, "calls of main.middle")
	flag.Parse()
	fmt.Println("sum", outer(*n))
}
