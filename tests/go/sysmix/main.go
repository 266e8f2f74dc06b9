// sysmix makes a known mix of system calls after a line on stdin, from named functions, and
// logs what it did and the errors it got: main.fileWork creates, writes, syncs, reads back and
// removes a file in -dir; main.openMissing opens a file that does not exist (ENOENT);
// main.socketWork listens on loopback, dials itself, and sends and receives one message;
// main.nap sleeps; main.deepStack (first round) grows a goroutine's stack to 16 MiB, so that the
// runtime maps memory for it on the system stack (morestack). -rounds repeats the mix. Each error is printed as
// "err FUNC errno N (TEXT)". It prints "done" at the end and exits.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

func report(fn string, err error) {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		fmt.Printf("err %s errno %d (%s)\n", fn, int(errno), errno.Error())
	} else if err != nil {
		fmt.Printf("err %s %v\n", fn, err)
	}
}

//go:noinline
func fileWork(dir string, i int) {
	path := filepath.Join(dir, fmt.Sprintf("f%d", i))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		report("main.fileWork", err)
		return
	}
	f.Write([]byte("hello, strace\n"))
	f.Sync()
	f.Close()
	data, err := os.ReadFile(path)
	if err != nil || len(data) == 0 {
		report("main.fileWork", err)
	}
	report("main.fileWork", os.Remove(path))
}

//go:noinline
func openMissing(dir string) {
	_, err := os.Open(filepath.Join(dir, "no-such-file"))
	report("main.openMissing", err)
}

//go:noinline
func socketWork() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		report("main.socketWork", err)
		return
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		defer c.Close()
		buf := make([]byte, 64)
		n, _ := c.Read(buf)
		got <- string(buf[:n])
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		report("main.socketWork", err)
		return
	}
	c.Write([]byte("ping"))
	<-got
	c.Close()
}

//go:noinline
func nap() { time.Sleep(5 * time.Millisecond) }

//go:noinline
func recurse(n int) int {
	var frame [1024]byte
	frame[n%len(frame)] = byte(n)
	if n == 0 {
		return 0
	}
	return recurse(n-1) + int(frame[n%len(frame)])
}

//go:noinline
func deepStack() {
	done := make(chan int)
	go func() { done <- recurse(16 << 10) }()
	<-done
}

func main() {
	dir := flag.String("dir", os.TempDir(), "directory for the files")
	rounds := flag.Int("rounds", 3, "times to run the mix")
	flag.Parse()
	in := bufio.NewReader(os.Stdin)
	fmt.Println("ready")
	in.ReadString('\n')
	for i := 0; i < *rounds; i++ {
		if i == 0 {
			deepStack()
		}
		fileWork(*dir, i)
		openMissing(*dir)
		socketWork()
		nap()
	}
	fmt.Println("done")
}
