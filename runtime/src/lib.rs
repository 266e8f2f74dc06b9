//! gprobe's runtime: the only crate that touches the kernel. Loads what `gprobe-compiler`
//! produced, attaches it, runs the event loop and hands decoded values to output sinks.
//!
//! ```text
//! let session = Session::load(&object, &manifest, &Options { pid, command, verbose })?;
//! let summary = session.run(&mut TextSink::new(std::io::stdout()))?;
//! ```

pub mod btf;
pub mod cgroup;
pub mod decode;
mod dynamic;
pub mod error;
pub mod features;
mod kernel;
pub mod kernel_types;
mod kprobe;
pub mod output;
pub mod perf_event;
pub mod printf;
pub mod procs;
pub mod render;
mod resolver;
pub mod session;
pub mod sqlnorm;
pub mod stack;
pub mod symbolize;
mod sys;
mod target;
#[doc(hidden)]
pub mod testing;
pub mod timefmt;
pub mod tracefs;
mod uprobe_multi;
pub mod value;
pub mod verifier;

pub use dynamic::{NewExecutable, Recompile};
pub use error::RuntimeError;
pub use kprobe::kprobes_available;
pub use output::flamegraph::FlameGraphSink;
pub use output::json::JsonSink;
pub use output::metrics::MapMeta;
pub use output::otlp::OtlpSink;
pub use output::pprof::PprofSink;
pub use output::prometheus::PrometheusSink;
pub use output::text::TextSink;
pub use output::{Sink, Tee};
pub use session::{Options, Session, StopReason, Summary, verify};
pub use target::uprobe_binary_problem;
pub use tracefs::{format_text, list_raw_tracepoints, list_tracepoints};
