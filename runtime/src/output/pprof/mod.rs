//! `--pprof FILE`: the maps keyed by a stack as a gzipped `profile.proto`, the format
//! `go tool pprof` reads. Maps keyed alike (`@bytes[gostack]`, `@allocs[gostack]`) are one
//! profile with a sample type per map; their other key parts (`comm`, `pid`) become sample
//! labels. Locations are addresses with their mapping (file, build id) and source lines from the
//! pclntab, inlined calls as lines of one location.
//!
//! Sample types: a `// @pprof @MAP TYPE/UNIT [from UNIT]` line in the script declares one (in
//! the order written; tools show the last by default), e.g. `// @pprof @bytes alloc_space/bytes`
//! or `// @pprof @blocked_us delay/nanoseconds from microseconds`. Undeclared, a `count()` map
//! of a script with a `profile:` probe is a CPU profile (`samples/count` and `cpu/nanoseconds`,
//! the period from the probe's rate); any other map is `NAME/count`.
//! `// @pprof drop_frames REGEX` sets the profile's `drop_frames`: pprof then cuts each stack
//! at the first matching function below the program's own code (e.g. the runtime's allocator
//! under the allocating function, as Go's own heap profiles do).

mod build;
pub mod proto;
#[cfg(test)]
mod tests;

pub use build::{Annotations, Declared, ProfileSpec, profile};

use super::Sink;
use crate::value::MapSnapshot;
use gprobe_compiler::manifest::{Attach, FieldKind, Manifest, MapRole, MapSpec};
use prost::Message;
use std::io::{self, Write};
use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Writes the profile when probes are detached (before END clears maps).
pub struct PprofSink {
    path: PathBuf,
    spec: ProfileSpec,
    started: Option<(Instant, SystemTime)>,
}

impl PprofSink {
    /// The sink for `manifest` compiled from `source`, writing `path`. Errors (no map keyed by a
    /// stack, a bad `@pprof` line) are messages for the user, given before anything attaches.
    pub fn new(path: PathBuf, manifest: &Manifest, source: &str) -> Result<PprofSink, String> {
        let spec = ProfileSpec::new(manifest, source)?;
        Ok(PprofSink {
            path,
            spec,
            started: None,
        })
    }
}

/// Whether a map is a user map with a stack in its key.
pub(crate) fn stack_keyed(spec: &MapSpec) -> bool {
    spec.role == MapRole::User
        && spec
            .key
            .fields
            .iter()
            .any(|f| matches!(f.kind, FieldKind::Stack { .. }))
}

/// The sampling period of the script's `profile:` probe in ns, if it has one.
pub(crate) fn profile_period_ns(manifest: &Manifest) -> Option<u64> {
    manifest.programs.iter().find_map(|p| match p.attach {
        Attach::Profile {
            period_ns: Some(ns),
            ..
        } => Some(ns),
        Attach::Profile { hz: Some(hz), .. } if hz > 0 => Some(1_000_000_000 / hz),
        _ => None,
    })
}

impl Sink for PprofSink {
    fn attached(&mut self, _probes: usize) -> io::Result<()> {
        self.started = Some((Instant::now(), SystemTime::now()));
        Ok(())
    }

    fn wants_profile(&self) -> bool {
        true
    }

    fn profile(&mut self, maps: &[MapSnapshot], stopped: Instant) -> io::Result<()> {
        let (duration, start) = match self.started {
            Some((at, wall)) => (stopped.saturating_duration_since(at), wall),
            None => (Default::default(), SystemTime::now()),
        };
        let time_nanos = start
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64);
        let p = profile(&self.spec, maps, time_nanos, duration.as_nanos() as i64);
        if p.sample.is_empty() {
            eprintln!(
                "gprobe: warning: {} has no samples; {} holds an empty profile",
                self.spec.maps_named(),
                self.path.display()
            );
        }
        let with_path = |e: io::Error| {
            io::Error::new(e.kind(), format!("writing {}: {e}", self.path.display()))
        };
        let file = std::fs::File::create(&self.path).map_err(with_path)?;
        let mut gz = flate2::write::GzEncoder::new(io::BufWriter::new(file), Default::default());
        gz.write_all(&p.encode_to_vec()).map_err(with_path)?;
        gz.finish().and_then(|mut w| w.flush()).map_err(with_path)?;
        Ok(())
    }

    fn finish(&mut self, _maps: &[MapSnapshot]) -> io::Result<()> {
        Ok(())
    }
}
