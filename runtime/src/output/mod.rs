//! Output sinks: where decoded events and map snapshots go. Formatters are pure functions from
//! [`crate::value`] types to text, so every sink (text, JSON lines, OTLP, Prometheus, flame
//! graphs) sits beside the others without touching the runtime.

pub mod annotations;
pub mod fdout;
pub mod flamegraph;
pub mod json;
pub mod metrics;
pub mod otlp;
pub mod pprof;
pub mod prometheus;
pub mod text;

use crate::value::{MapSnapshot, Value};
use std::io;

/// Receives everything a session produces, in order. Only `finish` is required: event output
/// (`attached`, `printf`, `print_map`, `time`, `emit`) and the rest have do-nothing defaults, so
/// exporters that only publish maps (OTLP, Prometheus, flame graphs) implement just that.
pub trait Sink {
    /// All probes are attached; `probes` is how many (bpftrace prints "Attaching N probes...").
    fn attached(&mut self, _probes: usize) -> io::Result<()> {
        Ok(())
    }
    /// A formatted `printf` line (already contains its own newlines, if any).
    fn printf(&mut self, _text: &str) -> io::Result<()> {
        Ok(())
    }
    /// `print(@m)` while running; `print(@m, top, div)` shows each value divided by `div`
    /// (1 for none).
    fn print_map(&mut self, _map: &MapSnapshot, _div: u64) -> io::Result<()> {
        Ok(())
    }
    /// `time(fmt)`: the wall clock, already formatted.
    fn time(&mut self, _text: &str) -> io::Result<()> {
        Ok(())
    }
    /// `emit(value)` from the probe named `probe`, at `ts_ns` (Unix time in nanoseconds).
    fn emit(&mut self, _probe: &str, _ts_ns: u64, _record: &Value) -> io::Result<()> {
        Ok(())
    }
    /// Whether this sink wants [`Sink::profile`]: asked once, when probes are detached.
    fn wants_profile(&self) -> bool {
        false
    }
    /// Probes are detached (at `stopped`) and END has not run yet (it may print, trim or clear
    /// maps): every user map as tracing left it, stacks with their addresses (`Stack::pcs`).
    fn profile(&mut self, _maps: &[MapSnapshot], _stopped: std::time::Instant) -> io::Result<()> {
        Ok(())
    }
    /// Tracing stopped: the final contents of every user map (empty ones included).
    fn finish(&mut self, maps: &[MapSnapshot]) -> io::Result<()>;

    /// Ring-buffer records lost during the session (said once, after `finish`, when not 0).
    fn lost_events(&mut self, _count: u64) -> io::Result<()> {
        Ok(())
    }
    /// Asked by the event loop about every 100 ms: does this sink want fresh map snapshots now
    /// (a scrape is waiting, an export interval has passed)? If so, [`Sink::maps`] follows.
    fn wants_maps(&mut self) -> bool {
        false
    }
    /// Every user map, read just now because [`Sink::wants_maps`] said so.
    fn maps(&mut self, _maps: &[MapSnapshot]) -> io::Result<()> {
        Ok(())
    }
    /// `clear(@m)` ran: cumulative metrics of `map` start again from now.
    /// Node-wide: who each pid in the maps is, given before [`Sink::maps`] and
    /// [`Sink::finish`], for exporters that label series with the process.
    fn processes(&mut self, _table: &metrics::ProcessTable) {}
    fn cleared(&mut self, _map: &str) {}
    /// The session drained a batch of events: write out whatever is buffered. Sinks may
    /// buffer `printf` lines until then, so a burst of events costs one write, not one each.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Several sinks fed the same stream, in order (stdout text or JSON, plus exporters).
#[derive(Default)]
pub struct Tee {
    pub sinks: Vec<Box<dyn Sink>>,
}

impl Tee {
    fn each(&mut self, mut f: impl FnMut(&mut dyn Sink) -> io::Result<()>) -> io::Result<()> {
        let mut first_error = None;
        for sink in &mut self.sinks {
            if let Err(e) = f(sink.as_mut()) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Sink for Tee {
    fn attached(&mut self, probes: usize) -> io::Result<()> {
        self.each(|s| s.attached(probes))
    }
    fn printf(&mut self, text: &str) -> io::Result<()> {
        self.each(|s| s.printf(text))
    }
    fn print_map(&mut self, map: &MapSnapshot, div: u64) -> io::Result<()> {
        self.each(|s| s.print_map(map, div))
    }
    fn time(&mut self, text: &str) -> io::Result<()> {
        self.each(|s| s.time(text))
    }
    fn emit(&mut self, probe: &str, ts_ns: u64, record: &Value) -> io::Result<()> {
        self.each(|s| s.emit(probe, ts_ns, record))
    }
    fn wants_profile(&self) -> bool {
        self.sinks.iter().any(|s| s.wants_profile())
    }
    fn profile(&mut self, maps: &[MapSnapshot], stopped: std::time::Instant) -> io::Result<()> {
        self.each(|s| {
            if s.wants_profile() {
                s.profile(maps, stopped)
            } else {
                Ok(())
            }
        })
    }
    fn finish(&mut self, maps: &[MapSnapshot]) -> io::Result<()> {
        self.each(|s| s.finish(maps))
    }
    fn lost_events(&mut self, count: u64) -> io::Result<()> {
        self.each(|s| s.lost_events(count))
    }
    fn wants_maps(&mut self) -> bool {
        // Every sink is asked (no short-circuit): asking may be what starts its timer.
        self.sinks
            .iter_mut()
            .fold(false, |any, s| s.wants_maps() | any)
    }
    fn maps(&mut self, maps: &[MapSnapshot]) -> io::Result<()> {
        self.each(|s| s.maps(maps))
    }
    fn cleared(&mut self, map: &str) {
        for s in &mut self.sinks {
            s.cleared(map);
        }
    }
    fn processes(&mut self, table: &metrics::ProcessTable) {
        for s in &mut self.sinks {
            s.processes(table);
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        self.each(|s| s.flush())
    }
}
