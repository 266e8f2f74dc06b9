//! Prints what the Go binary reader sees: `gobin_info BINARY [GLOB]` lists version, timing of
//! the open + function table decode, and functions matching GLOB with their RET offsets
//! (`gobin_info BINARY GLOB params` also prints DWARF parameters and their ABI locations).

use std::time::Instant;

use gprobe_compiler::gobin::GoBinary;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: gobin_info BINARY [GLOB]");
        std::process::exit(2);
    };
    let t0 = Instant::now();
    let bin = match GoBinary::open(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let t_open = t0.elapsed();
    let n = bin.try_functions().map(|f| f.len());
    let t_funcs = t0.elapsed();
    println!(
        "{path}: {} pie={} dwarf={} functions={n:?} open={t_open:?} open+functions={t_funcs:?}",
        bin.go_version().unwrap_or("?"),
        bin.is_pie(),
        bin.has_dwarf()
    );
    let Some(glob) = args.next() else { return };
    let with_params = args.next().as_deref() == Some("params");
    for f in bin.functions_matching(&glob) {
        let rets = bin.ret_offsets(f).unwrap_or_default();
        println!("{:#x} {:#x} {} rets={rets:?}", f.entry, f.end, f.name);
        if with_params {
            let t = Instant::now();
            match bin.params(&f.name) {
                Ok(list) => {
                    for p in &list.params {
                        println!("    {} {} {:?}", p.name, p.ty.go_name(), p.location);
                    }
                }
                Err(e) => println!("    {e}"),
            }
            println!("    ({:?})", t.elapsed());
        }
    }
}
