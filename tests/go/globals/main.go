// globals keeps package-level counters that main.tick and main.tock change and prints them
// after each round, so a tracer's *uaddr("main.total") can be checked against the program.
package main

import "fmt"

var total int64
var calls int32

//go:noinline
func tick(n int64) int64 {
	calls++
	if n%2 == 0 {
		total += n
		return total
	}
	total++
	return -total
}

//go:noinline
func tock(n int64) int64 {
	calls++
	total += 10 * n
	return total
}

func main() {
	for i := int64(1); i <= 3; i++ {
		tick(i)
		tock(i)
		fmt.Printf("total %d calls %d\n", total, calls)
	}
}
