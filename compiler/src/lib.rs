//! gprobe's compiler: source → diagnostics, or an eBPF ELF object plus a [`manifest::Manifest`].
//! Pure: it reads files (Go binaries, given tracepoint formats) but never calls the kernel.

pub mod ast;
pub mod bpf;
pub mod builtins;
pub mod diag;
pub mod dump;
pub mod elf;
pub mod emit;
pub mod ir;
pub mod lower;
pub mod manifest;
pub mod regalloc;
pub mod span;
pub mod syntax;
pub mod types;
