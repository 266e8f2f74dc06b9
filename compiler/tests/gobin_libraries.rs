//! The library tables (compiler/src/gobin/libraries/) against the DWARF of fresh builds: for
//! each toolchain, tests/go/grpcmix built from Debian's grpc-go sources must give exactly the
//! table's row for its grpc version and Go release, and its stripped twin must find that row
//! (from the version in the binary) and give the same signatures with the same ABI locations.

#[path = "support/gotargets.rs"]
mod gotargets;

use gotargets::{Flavour, VERSIONS, target};
use gprobe_compiler::gobin::GoBinary;
use gprobe_compiler::gobin::libraries::{self, LIBRARIES};
use gprobe_compiler::target as gtarget;

fn release(bin: &GoBinary) -> (u32, u32) {
    bin.go_release()
}

#[test]
fn grpc_rows_equal_the_dwarf_of_a_fresh_build() {
    let lib = LIBRARIES.iter().find(|l| l.name == "grpc").unwrap();
    for version in VERSIONS {
        let Some(path) = target("grpcmix", version, Flavour::Debian) else {
            continue;
        };
        let bin = GoBinary::open(&path).expect("open grpcmix");
        let (grpc, _) = libraries::detect_version(&bin, lib).expect("grpc version");
        let row = libraries::row_for(lib, Some(&grpc), release(&bin))
            .unwrap_or_else(|e| panic!("Go {version}: {e}"));
        let dwarf = libraries::extract(&bin, lib).expect("DWARF");
        assert_eq!(
            libraries::owned(lib, row),
            dwarf,
            "Go {version}: the grpc v{grpc} row differs from the DWARF; regenerate it with \
             `cargo run -p gprobe-compiler --example library_table -- grpc {}`",
            path.display()
        );
    }
}

#[test]
fn stripped_grpc_binaries_get_the_dwarf_signatures_and_layouts() {
    let lib = LIBRARIES.iter().find(|l| l.name == "grpc").unwrap();
    for version in VERSIONS {
        let (Some(plain), Some(stripped)) = (
            target("grpcmix", version, Flavour::Debian),
            target("grpcmix", version, Flavour::DebianStripped),
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
        for (name, fields) in lib.structs {
            let want = plain.go_struct(name).expect("DWARF struct");
            let got = stripped
                .go_struct(name)
                .unwrap_or_else(|| panic!("Go {version} stripped: no {name}"));
            for field in *fields {
                let (w, g) = (want.field(field).unwrap(), got.field(field).unwrap());
                assert_eq!(
                    (w.offset, libraries::spell(&w.ty)),
                    (g.offset, libraries::spell(&g.ty)),
                    "Go {version}: {name}.{field}"
                );
            }
        }
    }
}
