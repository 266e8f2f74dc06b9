// panocgo has C threads call into Go between two lines on stdin, for panorama's goroutine level
// in a cgo program: each C thread's first call takes an extra M (and its goroutine) from the
// runtime, which makes new ones when they run out. Prints "ready"; after a line on stdin prints
// "start goroutines N", starts -threads C threads that each call Go -calls times, joins them,
// prints "end goroutines N" and "done", and waits for stdin to close. Figures are runtime/metrics'.
package main

/*
#include <pthread.h>

extern void goCallback(int);

static void *run(void *arg) {
	int calls = *(int *)arg;
	for (int i = 0; i < calls; i++)
		goCallback(i);
	return 0;
}

static void callFromThreads(int threads, int calls) {
	pthread_t t[64];
	if (threads > 64)
		threads = 64;
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], 0, run, &calls);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], 0);
}
*/
import "C"

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"runtime/metrics"
	"sync/atomic"
)

var calls atomic.Int64

//export goCallback
func goCallback(i C.int) { calls.Add(1) }

func goroutines() uint64 {
	s := []metrics.Sample{{Name: "/sched/goroutines:goroutines"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func main() {
	threads := flag.Int("threads", 8, "C threads calling Go")
	n := flag.Int("calls", 50, "calls into Go per thread")
	flag.Parse()
	in := bufio.NewReader(os.Stdin)
	fmt.Println("ready")
	if _, err := in.ReadString('\n'); err != nil {
		return
	}
	fmt.Printf("start goroutines %d\n", goroutines())
	C.callFromThreads(C.int(*threads), C.int(*n))
	if calls.Load() != int64(*threads**n) {
		panic("calls lost")
	}
	fmt.Printf("end goroutines %d\n", goroutines())
	fmt.Println("done")
	in.ReadString('\n')
}
