//! `--flamegraph FILE` / `--folded FILE`: at exit, a map keyed by a stack (`@[ustack] =
//! count()`, `@[comm, gostack] = count()`, ...) becomes folded stacks (`root;...;leaf weight`, one
//! line per distinct stack) and an SVG flame graph drawn by inferno. Other key parts become root
//! frames, so `@[comm, ustack]` gets one tower per command.

use super::Sink;
use crate::value::{MapEntry, MapSnapshot, MapValue, Value};
use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;

/// A frame as it should appear in a flame graph: without the offset inside the function
/// (`+28` or `+0x1c`), so samples in one function merge.
pub fn frame_name(frame: &str) -> &str {
    let frame = frame.trim();
    let is_offset = |o: &str| match o.strip_prefix("0x") {
        Some(hex) => !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()),
        None => !o.is_empty() && o.chars().all(|c| c.is_ascii_digit()),
    };
    match frame.rsplit_once('+') {
        Some((name, offset)) if !name.is_empty() && is_offset(offset) => name,
        _ => frame,
    }
}

fn weight(v: &MapValue) -> u64 {
    match v {
        MapValue::Count(n) => *n,
        MapValue::Sum(n) | MapValue::Min(n) | MapValue::Max(n) => (*n).max(0) as u64,
        MapValue::Avg { count, .. } | MapValue::Stats { count, .. } => *count,
        MapValue::Plain(Value::Int(n)) => (*n).max(0) as u64,
        MapValue::Plain(Value::Uint(n)) => *n,
        MapValue::Plain(_) => 1,
        MapValue::Hist { counts: c, .. } | MapValue::Lhist { counts: c, .. } => c.iter().sum(),
    }
}

fn has_stack(e: &MapEntry) -> bool {
    e.key.iter().any(|k| matches!(k, Value::Stack(_)))
}

/// Folded stacks of one map, sorted: root first, `;`-separated, then the summed weight.
pub fn folded(map: &MapSnapshot) -> Vec<String> {
    let mut stacks: BTreeMap<String, u64> = BTreeMap::new();
    for e in map.entries.iter().filter(|e| has_stack(e)) {
        let mut frames: Vec<String> = Vec::new();
        for part in &e.key {
            match part {
                // Innermost first in the value; a flame graph wants the root first.
                Value::Stack(inner_first) => frames.extend(
                    inner_first
                        .iter()
                        .rev()
                        .map(|f| frame_name(f).replace(';', ":")),
                ),
                other => frames.push(super::text::value(other).replace(';', ":")),
            }
        }
        if frames.is_empty() {
            frames.push("[unknown]".into());
        }
        *stacks.entry(frames.join(";")).or_default() += weight(&e.value);
    }
    stacks
        .into_iter()
        .filter(|(_, w)| *w > 0)
        .map(|(s, w)| format!("{s} {w}"))
        .collect()
}

/// The first map (by name) that has a stack in its key.
pub fn stack_map(maps: &[MapSnapshot]) -> Option<&MapSnapshot> {
    let mut candidates: Vec<&MapSnapshot> = maps
        .iter()
        .filter(|m| m.entries.iter().any(has_stack))
        .collect();
    candidates.sort_by(|a, b| a.name.cmp(&b.name));
    if candidates.len() > 1 {
        eprintln!(
            "gprobe: note: several maps are keyed by stacks; the flame graph shows {}",
            candidates[0].name
        );
    }
    candidates.first().copied()
}

/// An SVG flame graph of folded lines.
pub fn svg(lines: &[String], title: &str) -> io::Result<Vec<u8>> {
    let mut options = inferno::flamegraph::Options::default();
    options.title = title.to_string();
    options.count_name = "samples".into();
    let mut out = Vec::new();
    inferno::flamegraph::from_lines(&mut options, lines.iter().map(String::as_str), &mut out)?;
    Ok(out)
}

pub struct FlameGraphSink {
    pub svg: Option<PathBuf>,
    pub folded: Option<PathBuf>,
    pub title: String,
}

impl Sink for FlameGraphSink {
    fn finish(&mut self, maps: &[MapSnapshot]) -> io::Result<()> {
        let Some(map) = stack_map(maps) else {
            eprintln!(
                "gprobe: warning: no map is keyed by a stack (e.g. @[ustack] = count()); no flame graph written"
            );
            return Ok(());
        };
        let lines = folded(map);
        let with_path = |path: &PathBuf, e: io::Error| {
            io::Error::new(e.kind(), format!("writing {}: {e}", path.display()))
        };
        if let Some(path) = &self.folded {
            let mut text = lines.join("\n");
            text.push('\n');
            std::fs::write(path, text).map_err(|e| with_path(path, e))?;
        }
        if let Some(path) = &self.svg {
            if lines.is_empty() {
                eprintln!(
                    "gprobe: warning: {} has no samples; no flame graph written",
                    map.name
                );
                return Ok(());
            }
            let bytes = svg(&lines, &self.title)?;
            std::fs::write(path, bytes).map_err(|e| with_path(path, e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(frames: &[&str]) -> Value {
        Value::Stack(frames.iter().map(|f| f.to_string()).collect())
    }

    #[test]
    fn frames_lose_offsets() {
        assert_eq!(frame_name("main.burn+0x1c"), "main.burn");
        assert_eq!(
            frame_name("crypto/sha256.block.abi0+10347"),
            "crypto/sha256.block.abi0"
        );
        assert_eq!(frame_name("  main.main"), "main.main");
        assert_eq!(frame_name("0x7ffed134d9d8"), "0x7ffed134d9d8");
        assert_eq!(frame_name("a+b"), "a+b");
    }

    #[test]
    fn folded_is_root_first_and_merged() {
        let m = MapSnapshot {
            name: "@".into(),
            entries: vec![
                MapEntry {
                    key: vec![stack(&[
                        "main.burn+0x10",
                        "main.main+0x4",
                        "runtime.main+0x9",
                    ])],
                    value: MapValue::Count(3),
                },
                MapEntry {
                    key: vec![stack(&[
                        "main.burn+0x18",
                        "main.main+0x4",
                        "runtime.main+0x9",
                    ])],
                    value: MapValue::Count(2),
                },
                MapEntry {
                    key: vec![stack(&["main.idle", "runtime.main"])],
                    value: MapValue::Count(1),
                },
            ],
        };
        assert_eq!(
            folded(&m),
            vec![
                "runtime.main;main.idle 1".to_string(),
                "runtime.main;main.main;main.burn 5".to_string()
            ]
        );
        let svg = String::from_utf8(svg(&folded(&m), "t").unwrap()).unwrap();
        assert!(svg.contains("<svg") && svg.contains("main.burn"));
    }

    #[test]
    fn other_key_parts_are_roots() {
        let m = MapSnapshot::keyed(
            "@s",
            vec![(
                vec![Value::Str("shop".into()), stack(&["f", "g"])],
                MapValue::Count(4),
            )],
        );
        assert_eq!(folded(&m), vec!["shop;g;f 4".to_string()]);
    }
}
