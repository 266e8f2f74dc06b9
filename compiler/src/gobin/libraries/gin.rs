//! github.com/gin-gonic/gin: what `stdlib/include/http-route.gp` reads for gin's full path (the
//! engine's Context for the request), on binaries without DWARF.
//!
//! Rows come from DWARF of tests/go/routes-gin built in module mode (vendored from Debian's
//! golang-github-gin-gonic-gin-dev 1.8.1), the only gin version this machine's registries
//! offer; generated with `cargo run -p gprobe-compiler --example library_table -- gin BINARY`
//! and checked against a fresh build of each toolchain in `verified_with` by
//! compiler/tests/gobin_libraries.rs.

use super::{FuncRow, Library, Row, StructRow};

pub static GIN: Library = Library {
    name: "gin",
    module: "github.com/gin-gonic/gin",
    packages: &["github.com/gin-gonic/gin"],
    // gin's `Version` constant is not in the binary unless the program uses it: a GOPATH build
    // cannot be told apart.
    marker: None,
    functions: &["github.com/gin-gonic/gin.(*Engine).handleHTTPRequest"],
    structs: &[("github.com/gin-gonic/gin.Context", &["fullPath"])],
    rows: &[
        // The same layout and signature from Go 1.19 to 1.27 (the releases between those
        // verified hold them too: nothing in them depends on the release).
        Row {
            version: "1.8.1",
            go: ((1, 19), (1, 27)),
            verified_with: &["1.19.8", "1.23.9", "1.25.5", "1.27.3"],
            built_with: &[
                "github.com/gin-contrib/sse v0.1.0",
                "github.com/go-playground/locales v0.14.0",
                "github.com/go-playground/universal-translator v0.17.0",
                "github.com/go-playground/validator/v10 v10.4.1",
                "github.com/leodido/go-urn v1.2.1",
                "github.com/mattn/go-isatty v0.0.17",
                "github.com/pelletier/go-toml/v2 v2.0.6",
                "github.com/ugorji/go/codec v1.2.8",
                "golang.org/x/crypto v0.4.0",
                "golang.org/x/net v0.7.0",
                "golang.org/x/sys v0.3.0",
                "golang.org/x/text v0.7.0",
                "google.golang.org/protobuf v1.28.1",
                "gopkg.in/yaml.v2 v2.4.0",
            ],
            structs: &[StructRow {
                name: "github.com/gin-gonic/gin.Context",
                fields: &[("fullPath", 112, "string")],
            }],
            functions: &[FuncRow {
                name: "github.com/gin-gonic/gin.(*Engine).handleHTTPRequest",
                params: &[
                    ("engine", "*github.com/gin-gonic/gin.Engine"),
                    ("c", "*github.com/gin-gonic/gin.Context"),
                ],
                results: &[],
            }],
        },
    ],
};
