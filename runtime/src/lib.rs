//! gprobe's runtime: the only crate that touches the kernel. Loads what `gprobe-compiler`
//! produced, attaches it, runs the event loop and hands decoded values to output sinks.

pub mod value;
