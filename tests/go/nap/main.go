// nap calls the nanosleep system call itself (glibc's sleep uses clock_nanosleep) -n times for
// -d each, from the main thread, so a tracer of sys_enter_nanosleep sees a known duration
// from a known task (naptime.bt, kernel struct reads through curtask).
package main

import (
	"flag"
	"runtime"
	"syscall"
	"time"
)

func init() {
	// The main goroutine stays on the process's first thread: its task is the one `-c`
	// started (and `chrt --reset-on-fork` marked; threads it clones are not).
	runtime.LockOSThread()
}

func main() {
	n := flag.Int("n", 1, "times to sleep")
	d := flag.Duration("d", 1250*time.Millisecond, "each sleep")
	flag.Parse()
	ts := syscall.NsecToTimespec(d.Nanoseconds())
	for i := 0; i < *n; i++ {
		for syscall.Nanosleep(&ts, nil) == syscall.EINTR {
		}
	}
}
