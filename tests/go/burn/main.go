// burn spends its CPU time in main.burn (hashing), for a fixed amount of work (-rounds), so a
// CPU profile of it is dominated by that one named function.
package main

import (
	"crypto/sha256"
	"flag"
	"fmt"
)

//go:noinline
func burn(rounds int) [32]byte {
	sum := sha256.Sum256([]byte("gprobe"))
	for i := 0; i < rounds; i++ {
		sum = sha256.Sum256(sum[:])
	}
	return sum
}

func main() {
	rounds := flag.Int("rounds", 3000000, "hash rounds in main.burn")
	flag.Parse()
	fmt.Printf("%x\n", burn(*rounds))
}
