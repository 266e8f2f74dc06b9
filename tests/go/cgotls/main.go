// cgotls is a cgo program whose C code declares thread-local variables: the external linker then
// places Go's own TLS slot for g (runtime.tlsg) elsewhere than fs_base-8. -n goroutines each
// learn their id from runtime.Stack, call C (which uses the __thread variables), print
// "goid N", then sleep (a nanosleep system call made on their own goroutine's thread).
package main

/*
#include <stdint.h>
static __thread int64_t calls;
static __thread char scratch[40];
static int64_t bump(int64_t x) {
	scratch[x % 40] = (char)x;
	calls += x + scratch[0];
	return calls;
}
*/
import "C"

import (
	"bytes"
	"flag"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"time"
)

func ownID() int {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	id, err := strconv.Atoi(string(bytes.Fields(buf)[1]))
	if err != nil {
		panic(err)
	}
	return id
}

func main() {
	n := flag.Int("n", 5, "goroutines")
	flag.Parse()
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := 0; i < *n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := ownID()
			C.bump(C.int64_t(id))
			mu.Lock()
			fmt.Printf("goid %d\n", id)
			mu.Unlock()
			time.Sleep(time.Millisecond)
		}()
	}
	wg.Wait()
}
