// modinfo is built in module mode with one library module (example.com/greet, replaced by
// ./greet), so `.go.buildinfo` records a main module and a dependency for `gprobe -v` to print.
package main

import (
	"fmt"

	"example.com/greet"
)

func main() { fmt.Println(greet.Hello("gprobe")) }
