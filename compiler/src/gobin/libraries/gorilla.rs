//! github.com/gorilla/mux: what `stdlib/include/http-route.gp` reads for the matched route's
//! path template (the route `requestWithRoute` attaches to the request), on binaries without
//! DWARF.
//!
//! Rows come from DWARF of tests/go/routes-gorilla built in module mode against Debian's
//! golang-github-gorilla-mux-dev 1.8.0, the only gorilla/mux version this machine's registries
//! offer; generated with `cargo run -p gprobe-compiler --example library_table -- gorilla
//! BINARY` and checked against a fresh build of each toolchain in `verified_with` by
//! compiler/tests/gobin_libraries.rs.

use super::{FuncRow, Library, Row, StructRow};

pub static GORILLA: Library = Library {
    name: "gorilla",
    module: "github.com/gorilla/mux",
    packages: &["github.com/gorilla/mux"],
    // gorilla/mux carries no version string of its own: a GOPATH build cannot be told apart.
    marker: None,
    functions: &["github.com/gorilla/mux.requestWithRoute"],
    // `Route` embeds `routeConf` by value, which holds the `routeRegexpGroup` by value.
    structs: &[
        ("github.com/gorilla/mux.Route", &["routeConf"]),
        ("github.com/gorilla/mux.routeConf", &["regexp"]),
        ("github.com/gorilla/mux.routeRegexpGroup", &["path"]),
        ("github.com/gorilla/mux.routeRegexp", &["template"]),
    ],
    rows: &[
        // The same layouts and signatures from Go 1.19 to 1.27 (the releases between those
        // verified hold them too: nothing in them depends on the release).
        Row {
            version: "1.8.0",
            go: ((1, 19), (1, 27)),
            verified_with: &["1.19.8", "1.23.9", "1.25.5", "1.27.3"],
            built_with: &[],
            structs: &[
                StructRow {
                    name: "github.com/gorilla/mux.Route",
                    fields: &[("routeConf", 64, "github.com/gorilla/mux.routeConf")],
                },
                StructRow {
                    name: "github.com/gorilla/mux.routeConf",
                    fields: &[("regexp", 8, "github.com/gorilla/mux.routeRegexpGroup")],
                },
                StructRow {
                    name: "github.com/gorilla/mux.routeRegexpGroup",
                    fields: &[("path", 8, "*github.com/gorilla/mux.routeRegexp")],
                },
                StructRow {
                    name: "github.com/gorilla/mux.routeRegexp",
                    fields: &[("template", 0, "string")],
                },
            ],
            functions: &[FuncRow {
                name: "github.com/gorilla/mux.requestWithRoute",
                params: &[
                    ("r", "*net/http.Request"),
                    ("route", "*github.com/gorilla/mux.Route"),
                ],
                results: &[("~r0", "*net/http.Request")],
            }],
        },
    ],
};
