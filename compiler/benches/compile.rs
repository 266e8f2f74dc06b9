//! Compile time of a large script: the top-level blocks (probes, macros) of every
//! `examples/*.gp` and `stdlib/*.gp` file, concatenated as far as they compile (a block joins
//! only if the whole still compiles, so clashing map names or constructs the back end does not
//! support yet are left out), and `examples/realistic.gp` through the front end (parse + check)
//! plus, once it compiles, the whole pipeline. Run with `cargo bench -p gprobe-compiler`.

use criterion::{Criterion, criterion_group, criterion_main};
use gprobe_compiler::check::{self, Options};
use gprobe_compiler::{CompileOptions, NoEnv, compile};
use std::hint::black_box;
use std::path::{Path, PathBuf};

/// realistic.gp reads `$1` (seconds) and `$2` (a comm).
fn options() -> CompileOptions {
    let mut o = CompileOptions::default();
    o.check.positional = vec!["5".into(), "srv".into()];
    o
}

fn gp_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "gp"))
        .collect();
    files.sort();
    files
}

/// Splits a script at closing braces of depth 0, skipping strings and `//` comments.
fn top_level_blocks(text: &str) -> Vec<&str> {
    let (mut blocks, mut start, mut depth) = (Vec::new(), 0, 0i32);
    let (mut in_str, mut in_comment, mut prev) = (false, false, '\0');
    for (i, c) in text.char_indices() {
        match c {
            '\n' => in_comment = false,
            _ if in_comment => {}
            '"' if prev != '\\' => in_str = !in_str,
            _ if in_str => {}
            '/' if prev == '/' => in_comment = true,
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    blocks.push(&text[start..=i]);
                    start = i + 1;
                }
            }
            _ => {}
        }
        prev = c;
    }
    blocks
}

/// The largest concatenation of the repository's script blocks that compiles as one program.
fn large_script(root: &Path, options: &CompileOptions) -> (String, usize) {
    let mut all = String::new();
    let mut joined = 0;
    for file in gp_files(&root.join("examples"))
        .into_iter()
        .chain(gp_files(&root.join("stdlib")))
    {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        for block in top_level_blocks(&text) {
            let candidate = format!("{all}\n{block}");
            if compile(&candidate, &NoEnv, options).is_ok() {
                all = candidate;
                joined += 1;
            }
        }
    }
    (all, joined)
}

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let options = options();
    let (large, joined) = large_script(&root, &options);
    eprintln!(
        "large script: {joined} blocks, {} lines",
        large.lines().count()
    );
    c.bench_function("compile large script", |b| {
        b.iter(|| compile(black_box(&large), &NoEnv, &options))
    });

    let realistic = std::fs::read_to_string(root.join("examples/realistic.gp")).unwrap_or_default();
    let check_options = Options {
        positional: options.check.positional.clone(),
        ..Options::default()
    };
    c.bench_function("parse + check examples/realistic.gp", |b| {
        b.iter(|| {
            let mut program = gprobe_compiler::parse(black_box(&realistic)).ok()?;
            check::check_with_warnings(&mut program, &NoEnv, &check_options)
                .0
                .ok()
        })
    });
    if compile(&realistic, &NoEnv, &options).is_ok() {
        c.bench_function("compile examples/realistic.gp", |b| {
            b.iter(|| compile(black_box(&realistic), &NoEnv, &options))
        });
    } else {
        eprintln!("examples/realistic.gp does not compile yet: only its front end is timed");
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
