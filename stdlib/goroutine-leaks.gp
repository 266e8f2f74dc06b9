// goroutine-leaks: goroutines created and not exited, by the `go` statement that created them
//
// Run:  gprobe --recipe goroutine-leaks -p PID [SECONDS]
//
// A goroutine is born when `runtime.casgstatus` moves its `g` from dead (6) to runnable (1, or
// waiting 4 for goroutines created parked) in `newproc1`, and dies when `goexit0` moves it from
// running (2) to dead. `g.gopc` is the pc of the `go` statement that created it, set before it is
// born and still there when it dies, so created, exited and still-alive counts are kept per
// `go` statement (`gocreator(gp)`: function+offset, so two `go` statements in one function
// stay apart). `@alive` at the end is what was created while tracing and has
// not exited: a number that keeps growing across runs is a leak. Works on Go 1.17–1.27,
// stripped or not.
//
// @param $1 SECONDS=0 stop after SECONDS (0: run until Ctrl-C or the target exits)
//
// Sample output (Go 1.27.3 examples/shop; examples/load -paths /fast,/leak -n 30 -c 4):
//   @alive[net/http.(*Server).Serve+1277]: 0
//   @alive[net/http.(*connReader).startBackgroundRead+186]: 0
//   @alive[main.leak+26]: 30
//   @created[net/http.(*Server).Serve+1277]: 13
//   @created[main.leak+26]: 30
//   @created[net/http.(*connReader).startBackgroundRead+186]: 61
//   @exited[net/http.(*Server).Serve+1277]: 13
//   @exited[net/http.(*connReader).startBackgroundRead+186]: 61
// (30 requests to /leak: 30 goroutines created by the `go` statement at main.leak+26, none exited)

uprobe:runtime.casgstatus
/args.oldval == 6 && (args.newval == 1 || args.newval == 4)/
{
    @created[gocreator(args.gp)] = count();
    @alive[gocreator(args.gp)] = sum(1);
}

uprobe:runtime.casgstatus
/args.oldval == 2 && args.newval == 6/
{
    @exited[gocreator(args.gp)] = count();
    @alive[gocreator(args.gp)] = sum(-1);
}

interval:s:1
/$1 > 0 && elapsed >= $1 * 1000000000/
{
    exit();
}
