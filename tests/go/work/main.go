// work calls main.work exactly N times (N = first argument, default 1000), each call logged,
// then waits for SIGTERM/stdin close so a tracer can attach first when asked (-wait).
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"time"
)

//go:noinline
func work(id int, name string) (int, error) {
	if id%7 == 0 {
		return -id, errors.New("divisible by seven")
	}
	return id * 2, nil
}

func main() {
	n := flag.Int("n", 1000, "calls to main.work")
	delay := flag.Duration("delay", 0, "sleep before starting (lets a tracer attach)")
	quiet := flag.Bool("q", false, "do not log each call")
	flag.Parse()
	time.Sleep(*delay)
	for i := 1; i <= *n; i++ {
		r, err := work(i, fmt.Sprintf("job-%d", i))
		if !*quiet {
			fmt.Fprintf(os.Stdout, "work(%d, %q) = %d, %v\n", i, fmt.Sprintf("job-%d", i), r, err)
		}
	}
}
