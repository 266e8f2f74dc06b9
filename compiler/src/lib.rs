//! gprobe's compiler: source → diagnostics, or an eBPF ELF object plus a [`manifest::Manifest`].
//! Pure: it reads files (Go binaries, given tracepoint formats) but never calls the kernel.

pub mod ast;
pub mod builtins;
pub mod gobin;
pub mod manifest;
pub mod span;
pub mod types;
