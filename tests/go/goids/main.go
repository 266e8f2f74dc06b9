// goids starts -n goroutines; each learns its own id from runtime.Stack ("goroutine N [...")
// and passes it to main.report, then prints "goid N". A tracer reading goid in main.report must
// see exactly the same set of ids.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"runtime"
	"strconv"
	"sync"
)

//go:noinline
func report(id int) int {
	return id
}

func ownID() int {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	fields := bytes.Fields(buf)
	id, err := strconv.Atoi(string(fields[1]))
	if err != nil {
		panic(err)
	}
	return id
}

func main() {
	n := flag.Int("n", 50, "goroutines")
	flag.Parse()
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := 0; i < *n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := ownID()
			report(id)
			mu.Lock()
			fmt.Printf("goid %d\n", id)
			mu.Unlock()
		}()
	}
	wg.Wait()
	report(ownID())
	fmt.Printf("goid %d\n", ownID())
}
