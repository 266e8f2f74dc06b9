// burn spends its CPU time in main.burn, a plain Go loop (no assembly, so frame-pointer
// unwinding sees main.burn → main.main → runtime.main), for a fixed amount of work (-rounds),
// so a CPU profile of it is dominated by that one named function.
package main

import (
	"flag"
	"fmt"
)

//go:noinline
func burn(rounds int) uint64 {
	x := uint64(88172645463325252)
	for i := 0; i < rounds; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

func main() {
	rounds := flag.Int("rounds", 600000000, "xorshift rounds in main.burn")
	flag.Parse()
	fmt.Println(burn(*rounds))
}
