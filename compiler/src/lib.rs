//! gprobe's compiler: source → diagnostics, or an eBPF ELF object plus a [`manifest::Manifest`].
//! Pure: it reads files (Go binaries, given tracepoint formats) but never calls the kernel.
//!
//! The front end is [`parse`] (text → [`ast::Program`]) then [`check`] (annotates the tree in
//! place and returns [`check::Checked`]); [`front_end`] does both. See `check` for what a checked
//! tree guarantees to later phases.

pub mod ast;
pub mod bpf;
pub mod builtins;
pub mod by_process;
pub mod check;
pub mod compile;
pub mod ctypes;
pub mod diag;
pub mod dump;
pub mod elf;
pub mod emit;
pub mod expand;
pub mod gobin;
pub mod ir;
pub mod lower;
pub mod manifest;
pub mod names;
pub mod native;
pub mod opt;
pub mod regalloc;
pub mod span;
pub mod split;
pub mod syntax;
pub mod syscalls;
pub mod target;
pub mod types;
pub mod usdt;

pub use check::{Checked, Env, NoEnv, Options};
pub use compile::{CompileOptions, Output, compile, compile_checked};
pub use diag::Diagnostic;

/// Parses a program; syntax errors come back as diagnostics.
pub fn parse(source: &str) -> Result<ast::Program, Vec<Diagnostic>> {
    syntax::parse(source)
}

/// [`parse`] with positional parameters (used in attach points and `unroll`) and `#include`
/// directories.
pub fn parse_with(
    source: &str,
    options: &syntax::ParseOptions,
) -> Result<ast::Program, Vec<Diagnostic>> {
    syntax::parse_with(source, options)
}

/// Checks and annotates a parsed program (see [`check`] for the guarantees of a checked tree).
pub fn check(
    program: &mut ast::Program,
    env: &dyn Env,
    options: &Options,
) -> Result<Checked, Vec<Diagnostic>> {
    check::check(program, env, options)
}

/// Parse then check: a checked program and what the checker learned, or every diagnostic.
pub fn front_end(
    source: &str,
    env: &dyn Env,
    options: &Options,
) -> Result<(ast::Program, Checked), Vec<Diagnostic>> {
    let mut program = parse(source)?;
    let checked = check(&mut program, env, options)?;
    Ok((program, checked))
}
