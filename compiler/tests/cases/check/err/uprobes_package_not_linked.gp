// target
// @requires google.golang.org/grpc gRPC server
// Every uprobe is on grpc, which the target does not link: one refusal, not an error per probe
// and `@calls` never assigned.
uprobe:"google.golang.org/grpc.(*Server).handleStream" { @start[tid] = nsecs; @calls[args.stream] = count(); }
uprobe:"google.golang.org/grpc.(*Server).processUnaryRPC" /@start[tid]/ { @lat = hist(nsecs - @start[tid]); }
interval:s:1 { print(@calls); }
