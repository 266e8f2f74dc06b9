//! gprobe's runtime: the only crate that touches the kernel. Loads what `gprobe-compiler`
//! produced, attaches it, runs the event loop and hands decoded values to output sinks.

pub mod decode;
pub mod error;
pub mod output;
pub mod printf;
pub mod tracefs;
pub mod value;

pub use error::RuntimeError;
pub use tracefs::list_tracepoints;
