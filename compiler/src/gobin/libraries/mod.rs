//! Struct layouts and function signatures of well-known Go *libraries* (not the standard
//! library: that is `known_funcs.rs` / `known_types.rs`) for binaries without DWARF, one table
//! row per library version we could build, and the Go releases the row was checked with.
//!
//! The library's version comes from `.go.buildinfo`'s module list (`dep MODULE VERSION`); a
//! GOPATH build records no modules, so each library may name a marker the binary carries instead
//! (grpc-go's user agent `grpc-go/1.33.3`). A version without a row is refused with the nearest
//! row named, never read with another version's offsets.
//!
//! Rows are generated from DWARF by `cargo run -p gprobe-compiler --example library_table --
//! LIBRARY BINARY` (the [`Library::functions`] and [`Library::structs`] it needs, read with
//! [`extract`] and printed by [`render`]), and `compiler/tests/gobin_libraries.rs` checks every
//! row against the DWARF of a fresh build of each toolchain it lists.

pub mod chi;
pub mod gin;
pub mod gorilla;
pub mod grpc;
pub mod xnet;

use super::GoBinary;
use super::dwarf::GoParam;
use super::types::{GoField, GoStruct, GoType};

/// A library gprobe has tables for.
pub struct Library {
    /// Short name (`grpc`), as the generator takes it.
    pub name: &'static str,
    /// The module path, as `.go.buildinfo` lists it.
    pub module: &'static str,
    /// Package path prefixes whose functions and types the rows describe (the module's, and
    /// companions whose layout the recipes read through it, e.g. genproto's `rpc/status`).
    pub packages: &'static [&'static str],
    /// For GOPATH builds (no module list): a byte string in the binary followed by the version.
    pub marker: Option<&'static str>,
    /// The functions whose signatures the rows hold.
    pub functions: &'static [&'static str],
    /// The structs and the fields of each the rows hold (partial layouts).
    pub structs: &'static [(&'static str, &'static [&'static str])],
    pub rows: &'static [Row],
}

/// One library version's layouts and signatures. Types are spelled as [`spell`] writes them.
#[derive(Debug)]
pub struct Row {
    /// `1.33.3` (no `v`).
    pub version: &'static str,
    /// The Go releases the row holds for: those it was checked with (`verified_with`) and the
    /// ones between them.
    pub go: ((u32, u32), (u32, u32)),
    pub verified_with: &'static [&'static str],
    /// Companion modules' versions in the build the row came from (`module version`).
    pub built_with: &'static [&'static str],
    pub structs: &'static [StructRow],
    pub functions: &'static [FuncRow],
}

#[derive(Debug)]
pub struct StructRow {
    pub name: &'static str,
    /// (field, offset, type)
    pub fields: &'static [(&'static str, u64, &'static str)],
}

#[derive(Debug)]
pub struct FuncRow {
    pub name: &'static str,
    /// (name, type) in order; results after parameters.
    pub params: &'static [(&'static str, &'static str)],
    pub results: &'static [(&'static str, &'static str)],
}

pub const LIBRARIES: &[&Library] = &[
    &grpc::GRPC,
    &gin::GIN,
    &chi::CHI,
    &gorilla::GORILLA,
    &xnet::XNET,
];

/// The library whose packages hold `name` (a function or type, `pkg/path.Name...`).
pub fn library_of(name: &str) -> Option<&'static Library> {
    LIBRARIES.iter().copied().find(|lib| {
        lib.packages.iter().any(|p| {
            name.strip_prefix(p)
                .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('/'))
        })
    })
}

/// The library's version in `bin` (`1.33.3`) and where it was read, if the binary tells
/// (cached per binary).
pub fn detect_version(bin: &GoBinary, lib: &Library) -> Option<(String, &'static str)> {
    let index = LIBRARIES.iter().position(|l| std::ptr::eq(*l, lib))?;
    bin.library_version(index).cloned()
}

/// [`detect_version`] uncached.
pub(crate) fn find_version(bin: &GoBinary, lib: &Library) -> Option<(String, &'static str)> {
    if let Some(info) = bin.build_info()
        && let Some(v) = info.module_version(lib.module)
    {
        let from = if info.replaced_by_directory(lib.module) {
            // The code compiled is the directory's: trusted to be the version required.
            "the module list's require line (the module is replaced by a directory)"
        } else {
            "the module list"
        };
        return Some((v.trim_start_matches('v').to_owned(), from));
    }
    let marker = lib.marker?.as_bytes();
    let data = bin.data();
    let at = data.windows(marker.len()).position(|w| w == marker)? + marker.len();
    let version: String = data[at..]
        .iter()
        .take(32)
        .take_while(|b| b.is_ascii_digit() || **b == b'.')
        .map(|&b| char::from(b))
        .collect();
    let version = version.trim_end_matches('.');
    (!version.is_empty()).then(|| (version.to_owned(), "its user agent string"))
}

fn numbers(version: &str) -> Vec<u64> {
    version
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect()
}

/// The row for `version` under Go `release`, or why there is none (naming the nearest row).
pub fn row_for(
    lib: &'static Library,
    version: Option<&str>,
    release: (u32, u32),
) -> Result<&'static Row, String> {
    let Some(version) = version else {
        return Err(format!(
            "the binary does not say which {} version it links (no module list{}), so gprobe \
             cannot pick layouts for it without DWARF",
            lib.module,
            if lib.marker.is_some() {
                ", and no version marker"
            } else {
                ""
            }
        ));
    };
    if let Some(row) = lib
        .rows
        .iter()
        .find(|r| r.version == version && (r.go.0..=r.go.1).contains(&release))
    {
        return Ok(row);
    }
    let want = numbers(version);
    let distance = |r: &Row| {
        let have = numbers(r.version);
        let d: Vec<u64> = (0..3)
            .map(|i| {
                let (a, b) = (
                    want.get(i).copied().unwrap_or(0),
                    have.get(i).copied().unwrap_or(0),
                );
                a.abs_diff(b)
            })
            .collect();
        (d, r.go.0.1.abs_diff(release.1))
    };
    let nearest = lib.rows.iter().min_by_key(|r| distance(r));
    Err(format!(
        "{} v{version} built with Go {}.{} is not in gprobe's tables{}; refusing to read it with \
         another version's offsets (trace a build with DWARF, or add a row: \
         compiler/src/gobin/libraries/{}.rs)",
        lib.module,
        release.0,
        release.1,
        match nearest {
            Some(r) if r.go.0 == r.go.1 => {
                format!(
                    " (nearest: v{} for Go {}.{})",
                    r.version, r.go.0.0, r.go.0.1
                )
            }
            Some(r) => format!(
                " (nearest: v{} for Go {}.{}-{}.{})",
                r.version, r.go.0.0, r.go.0.1, r.go.1.0, r.go.1.1
            ),
            None => String::new(),
        },
        lib.name,
    ))
}

/// Whether `bin` links one of the functions `lib`'s rows describe.
pub fn links(bin: &GoBinary, lib: &Library) -> bool {
    lib.functions
        .iter()
        .any(|f| bin.functions().iter().any(|g| g.name == *f))
}

/// Whether `bin` links `lib` and the tables hold it in its version (a row for its Go release),
/// so its functions' arguments and its structs read by name without DWARF.
pub fn covers(bin: &GoBinary, lib: &'static Library) -> bool {
    links(bin, lib) && row_of_binary(bin, lib).is_ok()
}

/// The row for the version of `lib` that `bin` links, or why there is none.
pub fn row_of_binary(bin: &GoBinary, lib: &'static Library) -> Result<&'static Row, String> {
    let version = detect_version(bin, lib).map(|(v, _)| v);
    row_for(lib, version.as_deref(), bin.go_release())
}

/// The table's signature of `function` (parameters then results, no ABI locations): None when
/// no library table covers the function; an error when its library's version has no row.
pub fn signature(bin: &GoBinary, function: &str) -> Option<Result<Vec<GoParam>, String>> {
    let lib = library_of(function)?;
    if !lib.functions.contains(&function) {
        return None;
    }
    Some(row_of_binary(bin, lib).and_then(|row| {
        let f = row
            .functions
            .iter()
            .find(|f| f.name == function)
            .ok_or_else(|| format!("{function} is not in the v{} row", row.version))?;
        Ok(params_of(f))
    }))
}

/// The parameters of a row's function.
pub fn params_of(f: &FuncRow) -> Vec<GoParam> {
    let one = |&(name, ty): &(&str, &str), is_result| GoParam {
        name: name.into(),
        ty: parse_spelling(ty),
        is_result,
        location: None,
    };
    f.params
        .iter()
        .map(|p| one(p, false))
        .chain(f.results.iter().map(|p| one(p, true)))
        .collect()
}

/// The table's partial layout of struct `name` for this binary's library version.
pub fn struct_type(bin: &GoBinary, name: &str) -> Option<GoStruct> {
    let lib = library_of(name)?;
    let row = row_of_binary(bin, lib).ok()?;
    row.structs.iter().find(|s| s.name == name).map(struct_of)
}

pub fn struct_of(s: &StructRow) -> GoStruct {
    GoStruct {
        name: s.name.into(),
        size: 0,
        fields: s
            .fields
            .iter()
            .map(|&(name, offset, ty)| GoField {
                name: name.into(),
                offset,
                ty: parse_spelling(ty),
            })
            .collect(),
    }
}

/// A type in the tables' spelling: Go's, with interfaces marked (`iface NAME`, `eface NAME`:
/// two words either way, but Go's name alone does not say it is an interface) and
/// maps/channels/funcs as `map NAME` / `chan NAME` / `func NAME`.
pub fn spell(ty: &GoType) -> String {
    match ty {
        GoType::Interface { name, empty } => {
            format!("{} {name}", if *empty { "eface" } else { "iface" })
        }
        GoType::Ptr(t) => format!("*{}", spell(t)),
        GoType::Slice(t) => format!("[]{}", spell(t)),
        GoType::Array { elem, len } => format!("[{len}]{}", spell(elem)),
        GoType::Map(n) => format!("map {n}"),
        GoType::Chan(n) => format!("chan {n}"),
        GoType::Func(n) => format!("func {n}"),
        GoType::Opaque { name, size } => format!("opaque{size} {name}"),
        GoType::Struct(s) => s.name.clone(),
        other => other.go_name(),
    }
}

/// The inverse of [`spell`] (a named struct comes back as [`GoType::Named`], size unknown).
pub fn parse_spelling(s: &str) -> GoType {
    if let Some(t) = s.strip_prefix('*') {
        return GoType::Ptr(Box::new(parse_spelling(t)));
    }
    if let Some(t) = s.strip_prefix("[]") {
        return GoType::Slice(Box::new(parse_spelling(t)));
    }
    if let Some((word, name)) = s.split_once(' ') {
        match word {
            "iface" | "eface" => {
                return GoType::Interface {
                    name: name.into(),
                    empty: word == "eface",
                };
            }
            "map" => return GoType::Map(name.into()),
            "chan" => return GoType::Chan(name.into()),
            "func" => return GoType::Func(name.into()),
            _ => {}
        }
        if let Some(size) = word.strip_prefix("opaque").and_then(|n| n.parse().ok()) {
            return GoType::Opaque {
                name: name.into(),
                size,
            };
        }
    }
    if let Some(rest) = s.strip_prefix('[')
        && let Some((len, elem)) = rest.split_once(']')
        && let Ok(len) = len.parse()
    {
        return GoType::Array {
            elem: Box::new(parse_spelling(elem)),
            len,
        };
    }
    let int = |bits, signed| GoType::Int { bits, signed };
    match s {
        "bool" => GoType::Bool,
        "string" => GoType::String,
        "unsafe.Pointer" => GoType::UnsafePointer,
        "float32" => GoType::Float { bits: 32 },
        "float64" => GoType::Float { bits: 64 },
        _ => {
            let (signed, digits) = match s.strip_prefix("uint") {
                Some(d) => (false, d),
                None => (true, s.strip_prefix("int").unwrap_or("x")),
            };
            match digits.parse::<u8>() {
                Ok(bits @ (8 | 16 | 32 | 64)) => int(bits, signed),
                _ => GoType::Named {
                    name: s.into(),
                    size: 0,
                },
            }
        }
    }
}

/// (field, offset, spelled type)
pub type FieldLine = (String, u64, String);
/// (name, spelled type)
pub type ParamLine = (String, String);

/// A row as read from DWARF, owned: what [`render`] prints and the CI test compares.
#[derive(Debug, PartialEq, Eq)]
pub struct Extracted {
    /// (struct, its fields)
    pub structs: Vec<(String, Vec<FieldLine>)>,
    /// (function, parameters, results)
    pub functions: Vec<(String, Vec<ParamLine>, Vec<ParamLine>)>,
}

/// The layouts and signatures `lib` needs, from `bin`'s DWARF.
pub fn extract(bin: &GoBinary, lib: &Library) -> Result<Extracted, String> {
    let dw = bin.dwarf().map_err(|e| e.to_string())?;
    let mut structs = Vec::new();
    for &(name, fields) in lib.structs {
        let s = dw
            .struct_type(name)
            .ok_or_else(|| format!("no struct {name} in the DWARF"))?;
        let mut out = Vec::new();
        for &field in fields {
            let f = s
                .field(field)
                .ok_or_else(|| format!("no field {field} in {name}"))?;
            out.push((field.to_owned(), f.offset, spell(&f.ty)));
        }
        structs.push((name.to_owned(), out));
    }
    let mut functions = Vec::new();
    for &name in lib.functions {
        let list = dw.params(name).map_err(|e| e.to_string())?;
        let pick = |results: bool| {
            list.params
                .iter()
                .filter(|p| p.is_result == results)
                .map(|p| (p.name.clone(), spell(&p.ty)))
                .collect::<Vec<_>>()
        };
        functions.push((name.to_owned(), pick(false), pick(true)));
    }
    Ok(Extracted { structs, functions })
}

/// A table row in the same owned form as [`extract`]'s.
pub fn owned(lib: &Library, row: &Row) -> Extracted {
    let pairs = |ps: &[(&str, &str)]| {
        ps.iter()
            .map(|&(n, t)| (n.to_owned(), t.to_owned()))
            .collect::<Vec<_>>()
    };
    Extracted {
        structs: lib
            .structs
            .iter()
            .map(|&(name, _)| {
                let fields = row
                    .structs
                    .iter()
                    .find(|s| s.name == name)
                    .map(|s| {
                        s.fields
                            .iter()
                            .map(|&(f, o, t)| (f.to_owned(), o, t.to_owned()))
                            .collect()
                    })
                    .unwrap_or_default();
                (name.to_owned(), fields)
            })
            .collect(),
        functions: lib
            .functions
            .iter()
            .map(|&name| {
                let f = row.functions.iter().find(|f| f.name == name);
                (
                    name.to_owned(),
                    f.map(|f| pairs(f.params)).unwrap_or_default(),
                    f.map(|f| pairs(f.results)).unwrap_or_default(),
                )
            })
            .collect(),
    }
}

/// Rust source of a [`Row`] for `version`, built with `go` (the generator's output).
pub fn render(e: &Extracted, version: &str, go: &str, built_with: &[String]) -> String {
    let release = numbers(go);
    let (major, minor) = (
        release.first().copied().unwrap_or(1),
        release.get(1).copied().unwrap_or(0),
    );
    let mut s = String::new();
    s.push_str("Row {\n");
    s.push_str(&format!("    version: {version:?},\n"));
    s.push_str(&format!(
        "    go: (({major}, {minor}), ({major}, {minor})),\n"
    ));
    s.push_str(&format!("    verified_with: &[{go:?}],\n"));
    s.push_str(&format!("    built_with: &{built_with:?},\n"));
    s.push_str("    structs: &[\n");
    for (name, fields) in &e.structs {
        s.push_str(&format!(
            "        StructRow {{\n            name: {name:?},\n            fields: &[\n"
        ));
        for (f, o, t) in fields {
            s.push_str(&format!("                ({f:?}, {o}, {t:?}),\n"));
        }
        s.push_str("            ],\n        },\n");
    }
    s.push_str("    ],\n    functions: &[\n");
    for (name, params, results) in &e.functions {
        s.push_str(&format!(
            "        FuncRow {{\n            name: {name:?},\n            params: &[\n"
        ));
        for (n, t) in params {
            s.push_str(&format!("                ({n:?}, {t:?}),\n"));
        }
        s.push_str("            ],\n            results: &[\n");
        for (n, t) in results {
            s.push_str(&format!("                ({n:?}, {t:?}),\n"));
        }
        s.push_str("            ],\n        },\n");
    }
    s.push_str("    ],\n}\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip() {
        for s in [
            "bool",
            "int32",
            "uint8",
            "string",
            "*google.golang.org/grpc/internal/transport.Stream",
            "iface context.Context",
            "eface interface {}",
            "[]google.golang.org/grpc.CallOption",
            "**x.T",
            "map map[string]string",
            "opaque24 sync.Mutex",
            "[4]uint8",
        ] {
            assert_eq!(spell(&parse_spelling(s)), s);
        }
    }

    #[test]
    fn an_unknown_version_is_refused_naming_the_nearest_row() {
        let err = row_for(&grpc::GRPC, Some("1.40.0"), (1, 19)).unwrap_err();
        assert!(err.contains("google.golang.org/grpc v1.40.0"), "{err}");
        assert!(err.contains("nearest: v1.33.3"), "{err}");
        assert!(err.contains("refusing"), "{err}");
        let err = row_for(&grpc::GRPC, Some("1.33.3"), (1, 12)).unwrap_err();
        assert!(err.contains("Go 1.12"), "{err}");
        assert!(row_for(&grpc::GRPC, None, (1, 19)).is_err());
        assert!(row_for(&grpc::GRPC, Some("1.33.3"), (1, 19)).is_ok());
    }

    #[test]
    fn functions_and_types_belong_to_their_library() {
        assert!(library_of("google.golang.org/grpc.(*Server).processUnaryRPC").is_some());
        assert!(library_of("google.golang.org/grpc/internal/transport.Stream").is_some());
        assert!(library_of("google.golang.org/genproto/googleapis/rpc/status.Status").is_some());
        assert!(library_of("google.golang.org/grpcx.F").is_none());
        assert!(library_of("net/http.Request").is_none());
    }

    #[test]
    fn every_row_covers_what_the_library_needs() {
        for lib in LIBRARIES {
            for row in lib.rows {
                let e = owned(lib, row);
                for (name, fields) in &e.structs {
                    assert!(!fields.is_empty(), "{} v{}: {name}", lib.name, row.version);
                }
                for f in lib.functions {
                    assert!(
                        row.functions.iter().any(|r| r.name == *f),
                        "{} v{}: {f}",
                        lib.name,
                        row.version
                    );
                }
            }
        }
    }
}
