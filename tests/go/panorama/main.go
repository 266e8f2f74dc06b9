// panorama does a known amount of work between two lines on stdin and logs the runtime's own
// figures (runtime/metrics) at both ends, for the panorama recipe's tests.
//
// -mode counts: prints "ready"; after a line on stdin prints "start goroutines N cycles M", then
// leaves -keep goroutines blocked and -churn that exited, runs -gcs GC cycles, touches -mib MiB
// of fresh memory (minor faults), ping-pongs -switches times between two OS threads over a
// pipe (context switches), ends with a GC (no cycle left under way), prints "end goroutines N
// cycles M" and "done", and waits for stdin to close. Outside the two lines it is idle.
//
// -mode hint: prints "ready"; after a line on stdin leaves -keep goroutines blocked and
// ping-pongs between two threads for -seconds, prints "done" and waits for stdin to close.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"sync"
	"syscall"
	"time"
)

func figures() (goroutines, cycles uint64) {
	s := []metrics.Sample{{Name: "/sched/goroutines:goroutines"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}

var sink []byte

// pingPong hands a byte back and forth between two goroutines locked to their own threads,
// over blocking pipes (not Go's netpoller): every hand-off puts a thread to sleep in read(2).
// rounds < 0: until stop is closed.
func pingPong(rounds int, stop chan struct{}) {
	var ab, ba [2]int
	if err := syscall.Pipe(ab[:]); err != nil {
		panic(err)
	}
	if err := syscall.Pipe(ba[:]); err != nil {
		panic(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	quit := false
	go func() {
		defer wg.Done()
		runtime.LockOSThread()
		// Unlocked before it exits, so its thread stays (a locked goroutine's exit ends the thread).
		defer runtime.UnlockOSThread()
		b := []byte{1}
		for i := 0; rounds < 0 || i < rounds; i++ {
			if rounds < 0 {
				select {
				case <-stop:
					quit = true
				default:
				}
				if quit {
					b[0] = 0
				}
			}
			syscall.Write(ab[1], b)
			syscall.Read(ba[0], b)
			if b[0] == 0 {
				return
			}
		}
		b[0] = 0
		syscall.Write(ab[1], b)
		syscall.Read(ba[0], b)
	}()
	go func() {
		defer wg.Done()
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		b := []byte{1}
		for {
			syscall.Read(ab[0], b)
			syscall.Write(ba[1], b)
			if b[0] == 0 {
				return
			}
		}
	}()
	wg.Wait()
	for _, fd := range []int{ab[0], ab[1], ba[0], ba[1]} {
		syscall.Close(fd)
	}
}

func main() {
	mode := flag.String("mode", "counts", "counts or hint")
	keep := flag.Int("keep", 3000, "goroutines left blocked")
	churn := flag.Int("churn", 2000, "goroutines started that exit")
	gcs := flag.Int("gcs", 6, "GC cycles run (runtime.GC)")
	mib := flag.Int("mib", 32, "MiB of fresh memory touched")
	switches := flag.Int("switches", 20000, "ping-pong round trips between two threads")
	seconds := flag.Int("seconds", 4, "hint mode: seconds of ping-pong")
	flag.Parse()

	// Everything the runtime starts once (GC workers, the scavenger) before the window.
	runtime.GC()
	// Lines from stdin, read by a goroutine that sits in read(2) from now on: after "done"
	// only main waits (on the channel), and nothing the runtime does for a thread leaving a
	// system call (another thread to start, its stack to fault in) comes after it.
	lines := make(chan string)
	go func() {
		in := bufio.NewReader(os.Stdin)
		for {
			line, err := in.ReadString('\n')
			if err != nil {
				close(lines)
				return
			}
			lines <- line
		}
	}()
	fmt.Println("ready")
	<-lines
	block := make(chan struct{})

	if *mode == "hint" {
		for i := 0; i < *keep; i++ {
			go func() { <-block }()
		}
		stop := make(chan struct{})
		time.AfterFunc(time.Duration(*seconds)*time.Second, func() { close(stop) })
		pingPong(-1, stop)
		fmt.Println("done")
		<-lines
		return
	}

	g, c := figures()
	fmt.Printf("start goroutines %d cycles %d\n", g, c)
	for i := 0; i < *keep; i++ {
		go func() { <-block }()
	}
	var wg sync.WaitGroup
	for i := 0; i < *churn; i++ {
		wg.Add(1)
		go func() { wg.Done() }()
	}
	wg.Wait()
	for i := 0; i < *gcs; i++ {
		sink = make([]byte, 1<<20)
		runtime.GC()
	}
	mem, err := syscall.Mmap(-1, 0, *mib<<20, syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		panic(err)
	}
	for i := 0; i < len(mem); i += 4096 {
		mem[i] = 1
	}
	syscall.Munmap(mem)
	pingPong(*switches, nil)
	runtime.GC()
	// The goroutines that exited are dead once wg.Wait returned; let the ping-pong pair's
	// deferred unlocks finish before counting.
	for {
		g2, _ := figures()
		if g2 == g+uint64(*keep) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	// The GC's background work (sweeping, scavenging) done before the end of the window.
	time.Sleep(500 * time.Millisecond)
	g, c = figures()
	fmt.Printf("end goroutines %d cycles %d\n", g, c)
	fmt.Println("done")
	<-lines
}
