// probe exercises the Go register ABI with every kind of parameter (the facts file's verified
// example) and a deep recursion that grows the stack.
package main

import (
	"errors"
	"fmt"
	"os"
)

type pair struct{ a, b int }

//go:noinline
func Probe(s string, b []byte, i any, e error, x int, f float64, sm struct{ a, b int }, p *int) (int, string, error) {
	if x < 0 {
		return 0, "", e
	}
	return len(s) + len(b) + x + sm.a + sm.b + *p + int(f), fmt.Sprint(i), nil
}

//go:noinline
func deep(n int) int {
	var pad [64]byte
	pad[n%64] = byte(n)
	if n == 0 {
		return int(pad[0])
	}
	return deep(n-1) + int(pad[n%64]&1)
}

// blankResult has a blank-named result next to a named one: Go's DWARF may list `~r0` twice.
//
//go:noinline
func blankResult(p *pair) (_ *pair, err error) {
	if p == nil {
		err = errors.New("nil pair")
	}
	return p, err
}

// twice is small enough to be inlined into main: the inline tree must name it.
func twice(x int) int { return x * 2 }

//go:noinline
func (p *pair) sum(scale int) int { return (p.a + p.b) * scale }

func main() {
	v := 3
	r, s, err := Probe("hello", []byte("ab"), 42, errors.New("e"), len(os.Args), 1.5, struct{ a, b int }{1, 2}, &v)
	pp := &pair{1, 2}
	_, _ = blankResult(pp)
	fmt.Println(r, s, err, deep(100), pp.sum(3), twice(len(os.Args)))
}
