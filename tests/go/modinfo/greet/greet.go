// Package greet is a library module of tests/go/modinfo, so its build info lists a dependency
// (replaced by this directory: the tests build offline).
package greet

import "fmt"

//go:noinline
func Hello(name string) string { return fmt.Sprintf("hello, %s", name) }
