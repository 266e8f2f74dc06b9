//! golang.org/x/net/http2: what `stdlib/http-latency.gp` reads of an HTTP/2 server built on
//! x/net's (h2c, as Caddy serves it) — the stream handler's request and the status it writes —
//! on binaries without DWARF. The request is net/http's, whose layout gprobe's standard-library
//! table has.
//!
//! Rows come from DWARF of tests/go/h2c built in module mode against Debian's
//! golang-golang-x-net-dev 0.7.0, the only x/net version this machine's registries offer;
//! generated with `cargo run -p gprobe-compiler --example library_table -- xnet BINARY` and
//! checked against a fresh build of each toolchain in `verified_with` by
//! compiler/tests/gobin_libraries.rs.

use super::{FuncRow, Library, Row};

pub static XNET: Library = Library {
    name: "xnet",
    module: "golang.org/x/net",
    packages: &["golang.org/x/net/http2"],
    // x/net carries no version string of its own: a GOPATH build cannot be told apart.
    marker: None,
    functions: &[
        "golang.org/x/net/http2.(*serverConn).runHandler",
        "golang.org/x/net/http2.(*responseWriterState).writeHeader",
    ],
    structs: &[],
    rows: &[
        // The same signatures from Go 1.19 to 1.27 (the releases between those verified hold
        // them too: nothing in them depends on the release).
        Row {
            version: "0.7.0",
            go: ((1, 19), (1, 27)),
            verified_with: &["1.19.8", "1.23.9", "1.25.5", "1.27.3"],
            built_with: &["golang.org/x/text v0.7.0"],
            structs: &[],
            functions: &[
                FuncRow {
                    name: "golang.org/x/net/http2.(*serverConn).runHandler",
                    params: &[
                        ("sc", "*golang.org/x/net/http2.serverConn"),
                        ("rw", "*golang.org/x/net/http2.responseWriter"),
                        ("req", "*net/http.Request"),
                        (
                            "handler",
                            "func func(net/http.ResponseWriter, *net/http.Request)",
                        ),
                    ],
                    results: &[],
                },
                FuncRow {
                    name: "golang.org/x/net/http2.(*responseWriterState).writeHeader",
                    params: &[
                        ("rws", "*golang.org/x/net/http2.responseWriterState"),
                        ("code", "int64"),
                    ],
                    results: &[],
                },
            ],
        },
    ],
};
