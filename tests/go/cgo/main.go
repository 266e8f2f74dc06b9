// cgo links C code so the binary is externally linked (runtime.text differs from .text's start).
package main

/*
static int twice(int x) { return 2 * x; }
*/
import "C"

import "fmt"

//go:noinline
func work(id int, name string) (int, error) {
	return int(C.twice(C.int(id))) + len(name), nil
}

func main() {
	fmt.Println(work(21, "cgo"))
}
