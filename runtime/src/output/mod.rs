//! Output sinks: where decoded events and map snapshots go. Formatters are pure functions from
//! [`crate::value`] types to text so that other sinks (JSON lines, OTLP, Prometheus) can sit
//! beside the text one without touching the runtime.

pub mod text;

use crate::value::{MapSnapshot, Value};
use std::io;

/// Receives everything a session produces, in order.
pub trait Sink {
    /// All probes are attached; `probes` is how many (bpftrace prints "Attaching N probes...").
    fn attached(&mut self, probes: usize) -> io::Result<()>;
    /// A formatted `printf` line (already contains its own newlines, if any).
    fn printf(&mut self, text: &str) -> io::Result<()>;
    /// `print(@m)` while running.
    fn print_map(&mut self, map: &MapSnapshot) -> io::Result<()>;
    /// `time(fmt)`: the wall clock, already formatted.
    fn time(&mut self, text: &str) -> io::Result<()>;
    /// `emit((k=v, ...))` from the probe named `probe`.
    fn emit(&mut self, probe: &str, record: &Value) -> io::Result<()>;
    /// Tracing stopped: the final contents of every non-empty user map, sorted by name.
    fn finish(&mut self, maps: &[MapSnapshot]) -> io::Result<()>;
    /// The session drained a batch of events: write out whatever is buffered. Sinks may
    /// buffer `printf` lines until then, so a burst of events costs one write, not one each.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
