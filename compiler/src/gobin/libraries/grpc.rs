//! google.golang.org/grpc (grpc-go): what `stdlib/grpc-server.gp` and `grpc-client.gp` read,
//! and `args.NAME` of these functions in a one-liner, on binaries without DWARF.
//!
//! Rows come from DWARF of tests/go/grpcmix built from Debian's golang-google-grpc-dev 1.33.3
//! (with genproto 0.0~git20200413 and golang/protobuf 1.3.5, GOPATH mode), the only grpc-go
//! version this machine's registries offer; generated with
//! `cargo run -p gprobe-compiler --example library_table -- grpc BINARY` and checked against a
//! fresh build of each toolchain in `verified_with` by compiler/tests/gobin_libraries.rs.

use super::{FuncRow, Library, Row, StructRow};

pub static GRPC: Library = Library {
    name: "grpc",
    module: "google.golang.org/grpc",
    // The status proto the server's `internal/status.Status` wraps is genproto's.
    packages: &[
        "google.golang.org/grpc",
        "google.golang.org/genproto/googleapis/rpc/status",
    ],
    // rpc_util.go: `const grpcUA = "grpc-go/" + Version`, the client's user agent.
    marker: Some("grpc-go/"),
    functions: &[
        "google.golang.org/grpc.(*Server).processUnaryRPC",
        "google.golang.org/grpc.(*Server).processStreamingRPC",
        "google.golang.org/grpc.(*Server).handleStream",
        "google.golang.org/grpc/internal/transport.(*http2Server).WriteStatus",
        "google.golang.org/grpc.newClientStream",
        "google.golang.org/grpc.(*clientStream).finish",
        "google.golang.org/grpc.(*ClientConn).Invoke",
    ],
    structs: &[
        (
            "google.golang.org/grpc/internal/transport.Stream",
            &["id", "method", "recvCompress", "status"],
        ),
        ("google.golang.org/grpc/internal/status.Status", &["s"]),
        (
            "google.golang.org/genproto/googleapis/rpc/status.Status",
            &["Code", "Message"],
        ),
        (
            "google.golang.org/grpc.StreamDesc",
            &["StreamName", "ServerStreams", "ClientStreams"],
        ),
        (
            "google.golang.org/grpc.clientStream",
            &["callHdr", "cc", "desc", "attempt"],
        ),
        ("google.golang.org/grpc.csAttempt", &["cs", "t", "s"]),
        (
            "google.golang.org/grpc/internal/transport.CallHdr",
            &["Host", "Method"],
        ),
    ],
    rows: &[
        // Go 1.19 spells the blank result of newClientStream `~b0`, 1.23 on `~r0` (1.20-1.22
        // unverified: no toolchain here, so refused).
        Row {
            version: "1.33.3",
            go: ((1, 19), (1, 19)),
            verified_with: &["1.19.8"],
            built_with: &[],
            structs: &[
                StructRow {
                    name: "google.golang.org/grpc/internal/transport.Stream",
                    fields: &[
                        ("id", 0, "uint32"),
                        ("method", 72, "string"),
                        ("recvCompress", 88, "string"),
                        (
                            "status",
                            224,
                            "*google.golang.org/grpc/internal/status.Status",
                        ),
                    ],
                },
                StructRow {
                    name: "google.golang.org/grpc/internal/status.Status",
                    fields: &[(
                        "s",
                        0,
                        "*google.golang.org/genproto/googleapis/rpc/status.Status",
                    )],
                },
                StructRow {
                    name: "google.golang.org/genproto/googleapis/rpc/status.Status",
                    fields: &[("Code", 0, "int32"), ("Message", 8, "string")],
                },
                StructRow {
                    name: "google.golang.org/grpc.StreamDesc",
                    fields: &[
                        ("StreamName", 0, "string"),
                        ("ServerStreams", 24, "bool"),
                        ("ClientStreams", 25, "bool"),
                    ],
                },
                StructRow {
                    name: "google.golang.org/grpc.clientStream",
                    fields: &[
                        (
                            "callHdr",
                            0,
                            "*google.golang.org/grpc/internal/transport.CallHdr",
                        ),
                        ("cc", 40, "*google.golang.org/grpc.ClientConn"),
                        ("desc", 48, "*google.golang.org/grpc.StreamDesc"),
                        ("attempt", 224, "*google.golang.org/grpc.csAttempt"),
                    ],
                },
                StructRow {
                    name: "google.golang.org/grpc.csAttempt",
                    fields: &[
                        ("cs", 0, "*google.golang.org/grpc.clientStream"),
                        (
                            "t",
                            8,
                            "iface google.golang.org/grpc/internal/transport.ClientTransport",
                        ),
                        ("s", 24, "*google.golang.org/grpc/internal/transport.Stream"),
                    ],
                },
                StructRow {
                    name: "google.golang.org/grpc/internal/transport.CallHdr",
                    fields: &[("Host", 0, "string"), ("Method", 16, "string")],
                },
            ],
            functions: &[
                FuncRow {
                    name: "google.golang.org/grpc.(*Server).processUnaryRPC",
                    params: &[
                        ("s", "*google.golang.org/grpc.Server"),
                        (
                            "t",
                            "iface google.golang.org/grpc/internal/transport.ServerTransport",
                        ),
                        (
                            "stream",
                            "*google.golang.org/grpc/internal/transport.Stream",
                        ),
                        ("info", "*google.golang.org/grpc.serviceInfo"),
                        ("md", "*google.golang.org/grpc.MethodDesc"),
                        ("trInfo", "*google.golang.org/grpc.traceInfo"),
                    ],
                    results: &[("err", "iface error")],
                },
                FuncRow {
                    name: "google.golang.org/grpc.(*Server).processStreamingRPC",
                    params: &[
                        ("s", "*google.golang.org/grpc.Server"),
                        (
                            "t",
                            "iface google.golang.org/grpc/internal/transport.ServerTransport",
                        ),
                        (
                            "stream",
                            "*google.golang.org/grpc/internal/transport.Stream",
                        ),
                        ("info", "*google.golang.org/grpc.serviceInfo"),
                        ("sd", "*google.golang.org/grpc.StreamDesc"),
                        ("trInfo", "*google.golang.org/grpc.traceInfo"),
                    ],
                    results: &[("err", "iface error")],
                },
                FuncRow {
                    name: "google.golang.org/grpc.(*Server).handleStream",
                    params: &[
                        ("s", "*google.golang.org/grpc.Server"),
                        (
                            "t",
                            "iface google.golang.org/grpc/internal/transport.ServerTransport",
                        ),
                        (
                            "stream",
                            "*google.golang.org/grpc/internal/transport.Stream",
                        ),
                        ("trInfo", "*google.golang.org/grpc.traceInfo"),
                    ],
                    results: &[],
                },
                FuncRow {
                    name: "google.golang.org/grpc/internal/transport.(*http2Server).WriteStatus",
                    params: &[
                        (
                            "t",
                            "*google.golang.org/grpc/internal/transport.http2Server",
                        ),
                        ("s", "*google.golang.org/grpc/internal/transport.Stream"),
                        ("st", "*google.golang.org/grpc/internal/status.Status"),
                    ],
                    results: &[("~r0", "iface error")],
                },
                FuncRow {
                    name: "google.golang.org/grpc.newClientStream",
                    params: &[
                        ("ctx", "iface context.Context"),
                        ("desc", "*google.golang.org/grpc.StreamDesc"),
                        ("cc", "*google.golang.org/grpc.ClientConn"),
                        ("method", "string"),
                        ("opts", "[]google.golang.org/grpc.CallOption"),
                    ],
                    results: &[
                        ("~b0", "iface google.golang.org/grpc.ClientStream"),
                        ("err", "iface error"),
                    ],
                },
                FuncRow {
                    name: "google.golang.org/grpc.(*clientStream).finish",
                    params: &[
                        ("cs", "*google.golang.org/grpc.clientStream"),
                        ("err", "iface error"),
                    ],
                    results: &[],
                },
                FuncRow {
                    name: "google.golang.org/grpc.(*ClientConn).Invoke",
                    params: &[
                        ("cc", "*google.golang.org/grpc.ClientConn"),
                        ("ctx", "iface context.Context"),
                        ("method", "string"),
                        ("args", "eface interface {}"),
                        ("reply", "eface interface {}"),
                        ("opts", "[]google.golang.org/grpc.CallOption"),
                    ],
                    results: &[("~r0", "iface error")],
                },
            ],
        },
        Row {
            version: "1.33.3",
            go: ((1, 23), (1, 27)),
            verified_with: &["1.23.9", "1.25.5", "1.27.3"],
            built_with: &[],
            structs: &[
                StructRow {
                    name: "google.golang.org/grpc/internal/transport.Stream",
                    fields: &[
                        ("id", 0, "uint32"),
                        ("method", 72, "string"),
                        ("recvCompress", 88, "string"),
                        (
                            "status",
                            224,
                            "*google.golang.org/grpc/internal/status.Status",
                        ),
                    ],
                },
                StructRow {
                    name: "google.golang.org/grpc/internal/status.Status",
                    fields: &[(
                        "s",
                        0,
                        "*google.golang.org/genproto/googleapis/rpc/status.Status",
                    )],
                },
                StructRow {
                    name: "google.golang.org/genproto/googleapis/rpc/status.Status",
                    fields: &[("Code", 0, "int32"), ("Message", 8, "string")],
                },
                StructRow {
                    name: "google.golang.org/grpc.StreamDesc",
                    fields: &[
                        ("StreamName", 0, "string"),
                        ("ServerStreams", 24, "bool"),
                        ("ClientStreams", 25, "bool"),
                    ],
                },
                StructRow {
                    name: "google.golang.org/grpc.clientStream",
                    fields: &[
                        (
                            "callHdr",
                            0,
                            "*google.golang.org/grpc/internal/transport.CallHdr",
                        ),
                        ("cc", 40, "*google.golang.org/grpc.ClientConn"),
                        ("desc", 48, "*google.golang.org/grpc.StreamDesc"),
                        ("attempt", 224, "*google.golang.org/grpc.csAttempt"),
                    ],
                },
                StructRow {
                    name: "google.golang.org/grpc.csAttempt",
                    fields: &[
                        ("cs", 0, "*google.golang.org/grpc.clientStream"),
                        (
                            "t",
                            8,
                            "iface google.golang.org/grpc/internal/transport.ClientTransport",
                        ),
                        ("s", 24, "*google.golang.org/grpc/internal/transport.Stream"),
                    ],
                },
                StructRow {
                    name: "google.golang.org/grpc/internal/transport.CallHdr",
                    fields: &[("Host", 0, "string"), ("Method", 16, "string")],
                },
            ],
            functions: &[
                FuncRow {
                    name: "google.golang.org/grpc.(*Server).processUnaryRPC",
                    params: &[
                        ("s", "*google.golang.org/grpc.Server"),
                        (
                            "t",
                            "iface google.golang.org/grpc/internal/transport.ServerTransport",
                        ),
                        (
                            "stream",
                            "*google.golang.org/grpc/internal/transport.Stream",
                        ),
                        ("info", "*google.golang.org/grpc.serviceInfo"),
                        ("md", "*google.golang.org/grpc.MethodDesc"),
                        ("trInfo", "*google.golang.org/grpc.traceInfo"),
                    ],
                    results: &[("err", "iface error")],
                },
                FuncRow {
                    name: "google.golang.org/grpc.(*Server).processStreamingRPC",
                    params: &[
                        ("s", "*google.golang.org/grpc.Server"),
                        (
                            "t",
                            "iface google.golang.org/grpc/internal/transport.ServerTransport",
                        ),
                        (
                            "stream",
                            "*google.golang.org/grpc/internal/transport.Stream",
                        ),
                        ("info", "*google.golang.org/grpc.serviceInfo"),
                        ("sd", "*google.golang.org/grpc.StreamDesc"),
                        ("trInfo", "*google.golang.org/grpc.traceInfo"),
                    ],
                    results: &[("err", "iface error")],
                },
                FuncRow {
                    name: "google.golang.org/grpc.(*Server).handleStream",
                    params: &[
                        ("s", "*google.golang.org/grpc.Server"),
                        (
                            "t",
                            "iface google.golang.org/grpc/internal/transport.ServerTransport",
                        ),
                        (
                            "stream",
                            "*google.golang.org/grpc/internal/transport.Stream",
                        ),
                        ("trInfo", "*google.golang.org/grpc.traceInfo"),
                    ],
                    results: &[],
                },
                FuncRow {
                    name: "google.golang.org/grpc/internal/transport.(*http2Server).WriteStatus",
                    params: &[
                        (
                            "t",
                            "*google.golang.org/grpc/internal/transport.http2Server",
                        ),
                        ("s", "*google.golang.org/grpc/internal/transport.Stream"),
                        ("st", "*google.golang.org/grpc/internal/status.Status"),
                    ],
                    results: &[("~r0", "iface error")],
                },
                FuncRow {
                    name: "google.golang.org/grpc.newClientStream",
                    params: &[
                        ("ctx", "iface context.Context"),
                        ("desc", "*google.golang.org/grpc.StreamDesc"),
                        ("cc", "*google.golang.org/grpc.ClientConn"),
                        ("method", "string"),
                        ("opts", "[]google.golang.org/grpc.CallOption"),
                    ],
                    results: &[
                        ("~r0", "iface google.golang.org/grpc.ClientStream"),
                        ("err", "iface error"),
                    ],
                },
                FuncRow {
                    name: "google.golang.org/grpc.(*clientStream).finish",
                    params: &[
                        ("cs", "*google.golang.org/grpc.clientStream"),
                        ("err", "iface error"),
                    ],
                    results: &[],
                },
                FuncRow {
                    name: "google.golang.org/grpc.(*ClientConn).Invoke",
                    params: &[
                        ("cc", "*google.golang.org/grpc.ClientConn"),
                        ("ctx", "iface context.Context"),
                        ("method", "string"),
                        ("args", "eface interface {}"),
                        ("reply", "eface interface {}"),
                        ("opts", "[]google.golang.org/grpc.CallOption"),
                    ],
                    results: &[("~r0", "iface error")],
                },
            ],
        },
    ],
};
