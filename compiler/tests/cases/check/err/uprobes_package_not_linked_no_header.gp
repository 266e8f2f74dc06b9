// target
// Without a `// @requires` header the refusal names the packages the uprobes trace.
uprobe:"google.golang.org/grpc.(*Server).handleStream" { @n = count(); }
uprobe:database/sql*QueryContext { @q = count(); }
