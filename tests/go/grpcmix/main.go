// grpcmix: a grpc-go server and client for the gRPC recipes' tests (tests/e2e_grpc.rs).
//
//	grpcmix server -addr 127.0.0.1:0        prints "listening ADDR", serves until killed
//	grpcmix client -addr ADDR -n N          makes a known mix of calls, then prints its log
//	grpcmix load -addr ADDR -d 5s -c 8      unary Get calls from 8 goroutines for 5 s (bench/run),
//	                                        then prints "done CALLS"
//
// Built from Debian's golang-google-grpc-dev in GOPATH mode (Go 1.19). The service is
// registered by hand (grpc.ServiceDesc) with a raw-bytes codec, so no generated protobuf code is
// needed: /grpcmix.Mix/Get and /grpcmix.Mix/Put are unary, /grpcmix.Mix/Watch server-streaming.
// Every handler sleeps `-sleep` first, so latencies have a known floor.
//
// The client's log is what the tests compare the recipes with, one line per (method, code):
//
//	calls METHOD CODE COUNT
//
// and one line per call with its own timing, measured around the call:
//
//	call METHOD CODE MICROSECONDS
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/status"
)

// raw is a message: its bytes as they are on the wire.
type raw struct{ b []byte }

// rawCodec passes bytes through; registered under "raw", the content-subtype the client asks
// for (CallContentSubtype), so both sides pick it by name.
type rawCodec struct{}

func (rawCodec) Marshal(v interface{}) ([]byte, error) { return v.(*raw).b, nil }
func (rawCodec) Unmarshal(data []byte, v interface{}) error {
	v.(*raw).b = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "raw" }

var sleep = flag.Duration("sleep", 5*time.Millisecond, "handler sleep before answering")

type mix struct{}

// Get: OK for any key but "missing" (NotFound).
func (mix) get(key string) (string, error) {
	time.Sleep(*sleep)
	if key == "missing" {
		return "", status.Error(codes.NotFound, "no such key")
	}
	return "value of " + key, nil
}

// Put: InvalidArgument for an empty key, else OK.
func (mix) put(key string) (string, error) {
	time.Sleep(*sleep)
	if key == "" {
		return "", status.Error(codes.InvalidArgument, "empty key")
	}
	return "stored", nil
}

func unary(f func(mix, string) (string, error)) func(interface{}, context.Context, func(interface{}) error, grpc.UnaryServerInterceptor) (interface{}, error) {
	return func(srv interface{}, ctx context.Context, dec func(interface{}) error, _ grpc.UnaryServerInterceptor) (interface{}, error) {
		in := new(raw)
		if err := dec(in); err != nil {
			return nil, err
		}
		out, err := f(srv.(mix), string(in.b))
		if err != nil {
			return nil, err
		}
		return &raw{[]byte(out)}, nil
	}
}

// Watch: sends as many messages as the request's first byte says, then OK; PermissionDenied
// when the request is "deny".
func watch(srv interface{}, stream grpc.ServerStream) error {
	in := new(raw)
	if err := stream.RecvMsg(in); err != nil {
		return err
	}
	time.Sleep(*sleep)
	if string(in.b) == "deny" {
		return status.Error(codes.PermissionDenied, "denied")
	}
	n := 0
	if len(in.b) > 0 {
		n = int(in.b[0])
	}
	for i := 0; i < n; i++ {
		if err := stream.SendMsg(&raw{[]byte{byte(i)}}); err != nil {
			return err
		}
	}
	return nil
}

var serviceDesc = grpc.ServiceDesc{
	ServiceName: "grpcmix.Mix",
	HandlerType: (*interface{})(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "Get", Handler: unary(mix.get)},
		{MethodName: "Put", Handler: unary(mix.put)},
	},
	Streams: []grpc.StreamDesc{
		{StreamName: "Watch", Handler: watch, ServerStreams: true},
	},
}

func server(addr string) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s := grpc.NewServer()
	s.RegisterService(&serviceDesc, mix{})
	fmt.Printf("listening %s\n", lis.Addr())
	if err := s.Serve(lis); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

type key struct{ method, code string }

func client(addr string, n int, wait time.Duration) {
	// Time for a tracer to attach to this process before the first call (the tests trace the
	// client with -c; the server is traced with -p).
	time.Sleep(wait)
	conn, err := grpc.Dial(addr, grpc.WithInsecure(), grpc.WithBlock(),
		grpc.WithDefaultCallOptions(grpc.CallContentSubtype("raw")))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer conn.Close()
	counts := map[key]int{}
	record := func(method string, start time.Time, err error) {
		code := status.Code(err).String()
		counts[key{method, code}]++
		fmt.Printf("call %s %s %d\n", method, code, time.Since(start).Microseconds())
	}
	ctx := context.Background()
	call := func(method, arg string) {
		start := time.Now()
		out := new(raw)
		err := conn.Invoke(ctx, method, &raw{[]byte(arg)}, out)
		record(method, start, err)
	}
	stream := func(arg string) {
		const method = "/grpcmix.Mix/Watch"
		start := time.Now()
		desc := &serviceDesc.Streams[0]
		cs, err := conn.NewStream(ctx, desc, method)
		if err == nil {
			err = cs.SendMsg(&raw{[]byte(arg)})
		}
		if err == nil {
			err = cs.CloseSend()
		}
		for err == nil {
			err = cs.RecvMsg(new(raw))
		}
		if err == io.EOF {
			err = nil
		}
		record(method, start, err)
	}
	// A fixed mix per round: Get OK x3, Get NotFound x1, Put OK x1, Put InvalidArgument x2,
	// Watch OK x1 (three messages), Watch PermissionDenied x1.
	for i := 0; i < n; i++ {
		call("/grpcmix.Mix/Get", "a")
		call("/grpcmix.Mix/Get", "b")
		call("/grpcmix.Mix/Get", "missing")
		call("/grpcmix.Mix/Get", "c")
		call("/grpcmix.Mix/Put", "k")
		call("/grpcmix.Mix/Put", "")
		call("/grpcmix.Mix/Put", "")
		stream("\x03")
		stream("deny")
	}
	keys := make([]key, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].method+keys[i].code < keys[j].method+keys[j].code
	})
	for _, k := range keys {
		fmt.Printf("calls %s %s %d\n", k.method, k.code, counts[k])
	}
}

// load: as many unary calls as `conns` goroutines make in `d`, all OK or it exits non-zero.
func load(addr string, d time.Duration, conns int) {
	conn, err := grpc.Dial(addr, grpc.WithInsecure(), grpc.WithBlock(),
		grpc.WithDefaultCallOptions(grpc.CallContentSubtype("raw")))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer conn.Close()
	deadline := time.Now().Add(d)
	done := make(chan int)
	for i := 0; i < conns; i++ {
		go func() {
			n := 0
			for time.Now().Before(deadline) {
				err := conn.Invoke(context.Background(), "/grpcmix.Mix/Get", &raw{[]byte("a")}, new(raw))
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				n++
			}
			done <- n
		}()
	}
	total := 0
	for i := 0; i < conns; i++ {
		total += <-done
	}
	fmt.Printf("done %d\n", total)
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: grpcmix server|client|load [flags]")
		os.Exit(2)
	}
	fs := flag.CommandLine
	addr := fs.String("addr", "127.0.0.1:0", "address")
	n := fs.Int("n", 10, "rounds of the call mix (client)")
	wait := fs.Duration("wait", 0, "sleep before the first call (client)")
	dur := fs.Duration("d", 5*time.Second, "how long to send (load)")
	conns := fs.Int("c", 8, "concurrent callers (load)")
	fs.Parse(os.Args[2:])
	encoding.RegisterCodec(rawCodec{})
	switch os.Args[1] {
	case "server":
		server(*addr)
	case "client":
		client(*addr, *n, *wait)
	case "load":
		load(*addr, *dur, *conns)
	default:
		fmt.Fprintln(os.Stderr, "usage: grpcmix server|client|load [flags]")
		os.Exit(2)
	}
}
