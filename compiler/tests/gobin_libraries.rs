//! The library tables (compiler/src/gobin/libraries/) against the DWARF of fresh builds: for
//! each toolchain, each library's test program (tests/go/grpcmix from Debian's grpc-go sources
//! in GOPATH mode; tests/go/routes-gin, routes-chi, routes-gorilla and h2c in module mode
//! against Debian's gin, chi, gorilla/mux and x/net) must give exactly the table's row for its library version and Go release, and
//! its stripped twin must find that row (from the version in the binary) and give the same
//! signatures with the same ABI locations.

#[path = "support/gotargets.rs"]
mod gotargets;

use gotargets::{Flavour, VERSIONS, target};
use gprobe_compiler::gobin::GoBinary;
use gprobe_compiler::gobin::libraries::{self, LIBRARIES};
use gprobe_compiler::target as gtarget;

fn release(bin: &GoBinary) -> (u32, u32) {
    bin.go_release()
}

/// Each library's test program, as built with DWARF and stripped.
const PROGRAMS: &[(&str, &str, Flavour, Flavour)] = &[
    ("grpc", "grpcmix", Flavour::Debian, Flavour::DebianStripped),
    ("gin", "routes-gin", Flavour::Plain, Flavour::Stripped),
    ("chi", "routes-chi", Flavour::Plain, Flavour::Stripped),
    ("xnet", "h2c", Flavour::Plain, Flavour::Stripped),
    (
        "gorilla",
        "routes-gorilla",
        Flavour::Plain,
        Flavour::Stripped,
    ),
];

#[test]
fn every_library_has_a_test_program() {
    for lib in LIBRARIES {
        assert!(
            PROGRAMS.iter().any(|p| p.0 == lib.name),
            "no test program for {}",
            lib.name
        );
    }
}

#[test]
fn rows_equal_the_dwarf_of_a_fresh_build() {
    for &(name, program, plain, _) in PROGRAMS {
        let lib = LIBRARIES.iter().find(|l| l.name == name).unwrap();
        for version in VERSIONS {
            let Some(path) = target(program, version, plain) else {
                continue;
            };
            let bin = GoBinary::open(&path).expect("open the test program");
            let (found, _) = libraries::detect_version(&bin, lib)
                .unwrap_or_else(|| panic!("Go {version}: no {name} version in {program}"));
            let row = libraries::row_for(lib, Some(&found), release(&bin))
                .unwrap_or_else(|e| panic!("Go {version}: {e}"));
            let dwarf = libraries::extract(&bin, lib).expect("DWARF");
            assert_eq!(
                libraries::owned(lib, row),
                dwarf,
                "Go {version}: the {name} v{found} row differs from the DWARF; regenerate it \
                 with `cargo run -p gprobe-compiler --example library_table -- {name} {}`",
                path.display()
            );
        }
    }
}

#[test]
fn stripped_binaries_get_the_dwarf_signatures_and_layouts() {
    for &(name, program, plain, stripped) in PROGRAMS {
        let lib = LIBRARIES.iter().find(|l| l.name == name).unwrap();
        for version in VERSIONS {
            let (Some(plain), Some(stripped)) = (
                target(program, version, plain),
                target(program, version, stripped),
            ) else {
                continue;
            };
            let plain = GoBinary::open(&plain).unwrap();
            let stripped = GoBinary::open(&stripped).unwrap();
            assert!(!stripped.has_dwarf());
            let shape = |ps: &[gprobe_compiler::gobin::GoParam]| {
                ps.iter()
                    .map(|p| {
                        (
                            gtarget::script_name(&p.name),
                            p.is_result,
                            libraries::spell(&p.ty),
                            format!("{:?}", p.location),
                        )
                    })
                    .collect::<Vec<_>>()
            };
            for f in lib.functions {
                let want = gtarget::go_params(&plain, f).expect("DWARF params");
                let got = gtarget::go_params(&stripped, f)
                    .unwrap_or_else(|e| panic!("Go {version} stripped: {f}: {e}"));
                assert_eq!(shape(&got), shape(&want), "Go {version}: {f}");
            }
            for (struct_name, fields) in lib.structs {
                let want = plain.go_struct(struct_name).expect("DWARF struct");
                let got = stripped
                    .go_struct(struct_name)
                    .unwrap_or_else(|| panic!("Go {version} stripped: no {struct_name}"));
                for field in *fields {
                    let (w, g) = (want.field(field).unwrap(), got.field(field).unwrap());
                    assert_eq!(
                        (w.offset, libraries::spell(&w.ty)),
                        (g.offset, libraries::spell(&g.ty)),
                        "Go {version}: {struct_name}.{field}"
                    );
                }
            }
        }
    }
}
