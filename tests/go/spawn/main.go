// spawn starts goroutines from known places: main.spawnA (in the main goroutine) starts -a
// workers; main.spawnB runs in a goroutine main.main started and starts -b workers. Each worker
// reads its own traceback (runtime.Stack), passes its id to main.report and prints
// "worker N created by F in goroutine P" exactly as Go's "created by" line says (Go 1.19 prints
// no parent: "in goroutine ?"). A tracer's gocreator/goparent in main.report must agree.
package main

import (
	"flag"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

var (
	wg  sync.WaitGroup
	out sync.Mutex
)

//go:noinline
func report(id int) int { return id }

func worker() {
	defer wg.Done()
	buf := make([]byte, 4096)
	trace := string(buf[:runtime.Stack(buf, false)])
	id, _ := strconv.Atoi(strings.Fields(trace)[1])
	creator, parent := "?", "?"
	for _, line := range strings.Split(trace, "\n") {
		if strings.HasPrefix(line, "created by ") {
			rest := strings.TrimPrefix(line, "created by ")
			creator, rest, _ = strings.Cut(rest, " in goroutine ")
			if rest != "" {
				parent = rest
			}
		}
	}
	report(id)
	out.Lock()
	fmt.Printf("worker %d created by %s in goroutine %s\n", id, creator, parent)
	out.Unlock()
}

//go:noinline
func spawnA(n int) {
	for i := 0; i < n; i++ {
		wg.Add(1)
		go worker()
	}
}

//go:noinline
func spawnB(n int, done *sync.WaitGroup) {
	defer done.Done()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go worker()
	}
}

func main() {
	a := flag.Int("a", 3, "workers started by main.spawnA")
	b := flag.Int("b", 2, "workers started by main.spawnB")
	flag.Parse()
	spawnA(*a)
	var started sync.WaitGroup
	started.Add(1)
	go spawnB(*b, &started)
	started.Wait()
	wg.Wait()
}
