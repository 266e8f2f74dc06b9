// opener opens a marker file exactly -n times, so a tracer counting sys_enter_openat by filename
// can be checked against ground truth.
package main

import (
	"flag"
	"os"
	"time"
)

func main() {
	n := flag.Int("n", 10, "times to open the marker file")
	path := flag.String("path", "/tmp/gprobe-opener-marker", "file to open")
	delay := flag.Duration("delay", 0, "sleep before starting")
	flag.Parse()
	time.Sleep(*delay)
	if err := os.WriteFile(*path, []byte("x"), 0o644); err != nil {
		panic(err)
	}
	for i := 0; i < *n; i++ {
		f, err := os.Open(*path)
		if err != nil {
			panic(err)
		}
		f.Close()
	}
}
