//! github.com/go-chi/chi/v5: what `stdlib/include/http-route.gp` reads for chi's route pattern
//! (the routing context `(*node).FindRoute` fills), on binaries without DWARF.
//!
//! Rows come from DWARF of tests/go/routes-chi built in module mode against Debian's
//! golang-github-go-chi-chi-dev 5.0.7, the only chi version this machine's registries offer;
//! generated with `cargo run -p gprobe-compiler --example library_table -- chi BINARY` and
//! checked against a fresh build of each toolchain in `verified_with` by
//! compiler/tests/gobin_libraries.rs.

use super::{FuncRow, Library, Row, StructRow};

pub static CHI: Library = Library {
    name: "chi",
    module: "github.com/go-chi/chi/v5",
    packages: &["github.com/go-chi/chi/v5"],
    // chi carries no version string of its own: a GOPATH build cannot be told apart.
    marker: None,
    functions: &["github.com/go-chi/chi/v5.(*node).FindRoute"],
    structs: &[(
        "github.com/go-chi/chi/v5.Context",
        &["RoutePatterns", "routePattern"],
    )],
    rows: &[
        // The same layouts and signatures from Go 1.19 to 1.27 (the releases between those
        // verified hold them too: nothing in them depends on the release).
        Row {
            version: "5.0.7",
            go: ((1, 19), (1, 27)),
            verified_with: &["1.19.8", "1.23.9", "1.25.5", "1.27.3"],
            built_with: &[],
            structs: &[StructRow {
                name: "github.com/go-chi/chi/v5.Context",
                fields: &[
                    ("RoutePatterns", 176, "[]string"),
                    ("routePattern", 160, "string"),
                ],
            }],
            functions: &[FuncRow {
                name: "github.com/go-chi/chi/v5.(*node).FindRoute",
                params: &[
                    ("n", "*github.com/go-chi/chi/v5.node"),
                    ("rctx", "*github.com/go-chi/chi/v5.Context"),
                    ("method", "uint64"),
                    ("path", "string"),
                ],
                results: &[
                    ("~r0", "*github.com/go-chi/chi/v5.node"),
                    ("~r1", "map github.com/go-chi/chi/v5.endpoints"),
                    ("~r2", "iface net/http.Handler"),
                ],
            }],
        },
    ],
};
