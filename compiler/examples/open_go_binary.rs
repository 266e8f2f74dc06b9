//! Times opening a Go binary the way `gprobe` does for a uprobe: map it, read its functions from
//! .gopclntab, find one function and its entry-probe and RET offsets. Used by `bench/run`.
//!
//!     cargo run --release -p gprobe-compiler --example open_go_binary -- BINARY [FUNCTION] [RUNS]
//!
//! Prints the median wall time in milliseconds over RUNS fresh opens, and the function count.

use gprobe_compiler::gobin::GoBinary;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: open_go_binary BINARY [FUNCTION] [RUNS]");
        std::process::exit(2);
    };
    let function = args.next().unwrap_or_else(|| "main.main".into());
    let runs: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(9);
    let mut times = Vec::with_capacity(runs);
    let mut count = 0;
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        let bin = match GoBinary::open(&path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("open_go_binary: {path}: {e}");
                std::process::exit(1);
            }
        };
        count = bin.functions().len();
        if let Some(f) = bin.function(&function) {
            let _ = bin.entry_probe_offset(f);
            let _ = bin.ret_offsets(f);
        }
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    println!("{:.3} ms median, {count} functions", times[times.len() / 2]);
}
