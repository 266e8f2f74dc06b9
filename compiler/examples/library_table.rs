//! Generates a row of a library's table (compiler/src/gobin/libraries/) from the DWARF of a
//! binary that links the library: `library_table LIBRARY BINARY` (e.g. `grpc
//! target/gotargets/grpcmix-1.19-...`) prints the `Row { ... }` to paste into LIBRARY.rs.

use gprobe_compiler::gobin::GoBinary;
use gprobe_compiler::gobin::libraries::{self, LIBRARIES};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [name, path] = &args[..] else {
        eprintln!("usage: library_table LIBRARY BINARY");
        std::process::exit(2);
    };
    let Some(lib) = LIBRARIES.iter().find(|l| l.name == name) else {
        let names: Vec<_> = LIBRARIES.iter().map(|l| l.name).collect();
        eprintln!("no library {name}; known: {}", names.join(", "));
        std::process::exit(2);
    };
    let fail = |e: String| -> ! {
        eprintln!("{path}: {e}");
        std::process::exit(1);
    };
    let bin = GoBinary::open(path).unwrap_or_else(|e| fail(e.to_string()));
    let (version, from) = libraries::detect_version(&bin, lib)
        .unwrap_or_else(|| fail(format!("no {} version in the binary", lib.module)));
    let extracted = libraries::extract(&bin, lib).unwrap_or_else(|e| fail(e));
    let go = bin.go_version().unwrap_or("go?").trim_start_matches("go");
    // Companion modules, when the build was in module mode.
    let built_with: Vec<String> = bin
        .build_info()
        .map(|b| {
            b.mod_info
                .lines()
                .filter_map(|l| l.strip_prefix("dep\t"))
                .filter_map(|l| {
                    let mut w = l.split('\t');
                    let (m, v) = (w.next()?, w.next()?);
                    (m != lib.module).then(|| format!("{m} {v}"))
                })
                .collect()
        })
        .unwrap_or_default();
    eprintln!("{} v{version} (from {from}), Go {go}", lib.module);
    print!(
        "{}",
        libraries::render(&extracted, &version, go, &built_with)
    );
}
