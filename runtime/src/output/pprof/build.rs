//! Map snapshots to a `proto::Profile`: which maps, which sample types, and the tables
//! (strings, functions, mappings, locations) the samples point into.

use super::proto;
use crate::stack::{Pc, PcLine, PcMapping, Stack};
use crate::value::{MapSnapshot, MapValue, Value};
use gprobe_compiler::manifest::{FieldKind, Manifest, MapSpec};
use gprobe_compiler::types::AggKind;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// The script's `// @pprof` lines.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Annotations {
    /// `// @pprof @MAP TYPE/UNIT [from UNIT]`, in order.
    pub types: Vec<Declared>,
    /// `// @pprof drop_frames REGEX`: the profile's `drop_frames` (pprof removes frames of
    /// functions matching it, and those they called, from each stack that has others).
    pub drop_frames: Option<String>,
}

/// A `// @pprof @MAP TYPE/UNIT [from UNIT]` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Declared {
    pub map: String,
    pub r#type: String,
    pub unit: String,
    /// Map values are multiplied by this (`from microseconds` with unit nanoseconds: 1000).
    pub scale: i64,
}

impl Annotations {
    /// Every `@pprof` line of `source`. Errors name the line.
    pub fn parse(source: &str) -> Result<Annotations, String> {
        let mut out = Annotations::default();
        for (i, line) in source.lines().enumerate() {
            let Some(rest) = line.trim().strip_prefix("//") else {
                continue;
            };
            let Some(rest) = rest.trim().strip_prefix("@pprof") else {
                continue;
            };
            let bad = |why: &str| {
                format!(
                    "line {}: {why}: `// @pprof @MAP TYPE/UNIT [from UNIT]` \
                     (e.g. `// @pprof @bytes alloc_space/bytes`) or `// @pprof drop_frames REGEX`",
                    i + 1
                )
            };
            if let Some(regex) = rest.trim().strip_prefix("drop_frames") {
                let regex = regex.trim();
                if regex.is_empty() {
                    return Err(bad("drop_frames without a regular expression"));
                }
                out.drop_frames = Some(regex.to_string());
                continue;
            }
            let words: Vec<&str> = rest.split_whitespace().collect();
            let (map, kind, from) = match words.as_slice() {
                [map, kind] => (*map, *kind, None),
                [map, kind, "from", unit] => (*map, *kind, Some(*unit)),
                _ => return Err(bad("malformed @pprof annotation")),
            };
            if !map.starts_with('@') {
                return Err(bad(&format!("{map:?} is not a map name")));
            }
            let Some((r#type, unit)) = kind
                .split_once('/')
                .filter(|(t, u)| !t.is_empty() && !u.is_empty() && !u.contains('/'))
            else {
                return Err(bad(&format!("{kind:?} is not TYPE/UNIT")));
            };
            let scale = match from {
                None => 1,
                Some(from) => match (time_unit_ns(from), time_unit_ns(unit)) {
                    (Some(f), Some(t)) if f >= t => f / t,
                    _ => {
                        return Err(bad(&format!(
                            "cannot convert {from} to {unit} (time units from larger to \
                             smaller: seconds, milliseconds, microseconds, nanoseconds)"
                        )));
                    }
                },
            };
            out.types.push(Declared {
                map: map.to_string(),
                r#type: r#type.to_string(),
                unit: unit.to_string(),
                scale,
            });
        }
        Ok(out)
    }
}

fn time_unit_ns(unit: &str) -> Option<i64> {
    Some(match unit {
        "nanoseconds" | "ns" => 1,
        "microseconds" | "us" => 1_000,
        "milliseconds" | "ms" => 1_000_000,
        "seconds" | "s" => 1_000_000_000,
        _ => return None,
    })
}

/// One sample type: which map it reads, what it is called, how values scale.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Column {
    map: String,
    r#type: String,
    unit: String,
    scale: i64,
}

/// What the profile is made of, decided from the script before anything attaches.
#[derive(Clone, Debug)]
pub struct ProfileSpec {
    columns: Vec<Column>,
    /// Names of the key parts (`comm`, `pid`), by position; stacks are `None`.
    labels: Vec<Option<String>>,
    /// `profile:` probe period, for a CPU profile's `period`.
    cpu_period_ns: Option<u64>,
    drop_frames: Option<String>,
}

impl ProfileSpec {
    pub fn new(manifest: &Manifest, source: &str) -> Result<ProfileSpec, String> {
        let annotations = Annotations::parse(source)?;
        let declared = &annotations.types;
        let stack_maps: Vec<&MapSpec> = manifest
            .maps
            .iter()
            .filter(|m| super::stack_keyed(m))
            .collect();
        let name = |m: &MapSpec| m.user_name.clone().unwrap_or_else(|| m.name.clone());
        if stack_maps.is_empty() {
            return Err(
                "--pprof needs a map keyed by a stack (e.g. @[gostack] = count() or \
                 @[ustack] = sum(arg0)); this script has none"
                    .into(),
            );
        }
        for d in declared {
            if !stack_maps.iter().any(|m| name(m) == d.map) {
                return Err(format!(
                    "@pprof names {}, which is not a map keyed by a stack",
                    d.map
                ));
            }
        }
        // The maps keyed like the first declared map (else like the first by name).
        let mut by_name = stack_maps.clone();
        by_name.sort_by_key(|m| name(m));
        let first = declared
            .first()
            .and_then(|d| stack_maps.iter().find(|m| name(m) == d.map).copied())
            .unwrap_or(by_name[0]);
        let kinds = |m: &MapSpec| -> Vec<FieldKind> {
            m.key.fields.iter().map(|f| f.kind.clone()).collect()
        };
        let group: Vec<&MapSpec> = by_name
            .iter()
            .copied()
            .filter(|m| kinds(m) == kinds(first))
            .collect();
        let others: Vec<String> = by_name
            .iter()
            .filter(|m| kinds(m) != kinds(first))
            .map(|m| name(m))
            .collect();
        if !others.is_empty() {
            eprintln!(
                "gprobe: note: --pprof writes {}; {} {} keyed otherwise",
                group.iter().map(|m| name(m)).collect::<Vec<_>>().join(", "),
                others.join(", "),
                if others.len() == 1 { "is" } else { "are" }
            );
        }
        let cpu_period_ns = super::profile_period_ns(manifest);
        let mut columns = Vec::new();
        // Declared first, in the order written; then the rest by name.
        for d in declared {
            if group.iter().any(|m| name(m) == d.map) {
                columns.push(Column {
                    map: d.map.clone(),
                    r#type: d.r#type.clone(),
                    unit: d.unit.clone(),
                    scale: d.scale,
                });
            }
        }
        let mut cpu = false;
        for m in &group {
            let map = name(m);
            if declared.iter().any(|d| d.map == map) {
                continue;
            }
            let count = m.value == gprobe_compiler::manifest::MapValue::Agg(AggKind::Count);
            if count && cpu_period_ns.is_some() && !cpu {
                cpu = true;
                columns.push(Column {
                    map: map.clone(),
                    r#type: "samples".into(),
                    unit: "count".into(),
                    scale: 1,
                });
                columns.push(Column {
                    map,
                    r#type: "cpu".into(),
                    unit: "nanoseconds".into(),
                    scale: cpu_period_ns.map_or(1, |ns| ns as i64),
                });
                continue;
            }
            let bare = map.trim_start_matches('@');
            columns.push(Column {
                r#type: if bare.is_empty() { "samples" } else { bare }.into(),
                map,
                unit: "count".into(),
                scale: 1,
            });
        }
        let labels = first
            .key
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| match f.kind {
                FieldKind::Stack { .. } => None,
                _ => Some(f.name.clone().unwrap_or_else(|| format!("key{i}"))),
            })
            .collect();
        Ok(ProfileSpec {
            columns,
            labels,
            cpu_period_ns: cpu.then_some(cpu_period_ns).flatten(),
            drop_frames: annotations.drop_frames,
        })
    }

    /// The maps read, for messages: `@bytes, @allocs`.
    pub fn maps_named(&self) -> String {
        let mut names: Vec<&str> = self.columns.iter().map(|c| c.map.as_str()).collect();
        names.dedup();
        names.join(", ")
    }
}

/// What one map value adds to a sample (sums for sums, counts for counts and histograms).
fn amount(v: &MapValue) -> i64 {
    match v {
        MapValue::Count(n) => *n as i64,
        MapValue::Sum(n) | MapValue::Min(n) | MapValue::Max(n) => *n,
        MapValue::Avg { sum, .. } | MapValue::Stats { sum, .. } => *sum,
        MapValue::Plain(Value::Int(n)) => *n,
        MapValue::Plain(Value::Uint(n)) => *n as i64,
        MapValue::Plain(_) => 1,
        MapValue::Hist { counts, .. } | MapValue::Lhist { counts, .. } => {
            counts.iter().sum::<u64>() as i64
        }
    }
}

/// Interns strings, functions, mappings and locations into the profile's tables.
#[derive(Default)]
struct Tables {
    p: proto::Profile,
    strings: HashMap<String, i64>,
    functions: HashMap<(String, String), u64>,
    mappings: HashMap<Arc<PcMapping>, u64>,
    locations: HashMap<(u64, u64, Vec<PcLine>), u64>,
}

impl Tables {
    fn string(&mut self, s: &str) -> i64 {
        if let Some(&i) = self.strings.get(s) {
            return i;
        }
        let i = self.p.string_table.len() as i64;
        self.p.string_table.push(s.to_string());
        self.strings.insert(s.to_string(), i);
        i
    }

    fn value_type(&mut self, r#type: &str, unit: &str) -> proto::ValueType {
        proto::ValueType {
            r#type: self.string(r#type),
            unit: self.string(unit),
        }
    }

    fn function(&mut self, line: &PcLine) -> u64 {
        let key = (line.function.clone(), line.file.clone());
        if let Some(&id) = self.functions.get(&key) {
            return id;
        }
        let id = self.p.function.len() as u64 + 1;
        let name = self.string(&line.function);
        let filename = self.string(&line.file);
        self.p.function.push(proto::Function {
            id,
            name,
            system_name: name,
            filename,
            start_line: 0,
        });
        self.functions.insert(key, id);
        id
    }

    fn mapping(&mut self, m: &Arc<PcMapping>) -> u64 {
        if let Some(&id) = self.mappings.get(m) {
            return id;
        }
        let id = self.p.mapping.len() as u64 + 1;
        let filename = self.string(&m.file);
        let build_id = self.string(&m.build_id);
        self.p.mapping.push(proto::Mapping {
            id,
            memory_start: m.start,
            memory_limit: m.limit,
            file_offset: m.offset,
            filename,
            build_id,
            // Every address is named here, so pprof looks for no binary to symbolize with.
            has_functions: true,
            has_filenames: m.go,
            has_line_numbers: m.go,
            has_inline_frames: m.go,
        });
        self.mappings.insert(m.clone(), id);
        id
    }

    fn location(&mut self, pc: &Pc) -> u64 {
        let mapping_id = pc.mapping.as_ref().map_or(0, |m| self.mapping(m));
        // A return address points after its call; the call itself is what the lines describe
        // (pprof allows a non-leaf address inside the call instruction).
        let address = if pc.return_address {
            pc.address.saturating_sub(1)
        } else {
            pc.address
        };
        let key = (mapping_id, address, pc.lines.clone());
        if let Some(&id) = self.locations.get(&key) {
            return id;
        }
        let id = self.p.location.len() as u64 + 1;
        let line = pc
            .lines
            .iter()
            .map(|l| proto::Line {
                function_id: self.function(l),
                line: l.line,
            })
            .collect();
        self.p.location.push(proto::Location {
            id,
            mapping_id,
            address,
            line,
            is_folded: false,
        });
        self.locations.insert(key, id);
        id
    }
}

/// The stacks of one key, leaf first: each stack part's addresses in key order; a stack without
/// addresses (resolved as text only) as one named location per frame.
fn key_pcs(key: &[Value]) -> Vec<Pc> {
    let mut out = Vec::new();
    for part in key {
        if let Value::Stack(Stack { frames, pcs }) = part {
            if pcs.is_empty() {
                out.extend(frames.iter().map(|f| Pc {
                    address: 0,
                    return_address: false,
                    mapping: None,
                    lines: vec![PcLine::symbol(f)],
                }));
            } else {
                out.extend(pcs.iter().cloned());
            }
        }
    }
    out
}

/// The profile of `maps` per `spec`. `time_nanos`: start (Unix ns); `duration_nanos`: length.
pub fn profile(
    spec: &ProfileSpec,
    maps: &[MapSnapshot],
    time_nanos: i64,
    duration_nanos: i64,
) -> proto::Profile {
    let mut t = Tables::default();
    t.string("");
    for c in &spec.columns {
        let vt = t.value_type(&c.r#type, &c.unit);
        t.p.sample_type.push(vt);
    }
    // Keys joined across maps by their printed form (the stack's addresses and frames, the
    // other parts as text), in first-seen order.
    let mut rows: Vec<(Vec<Value>, Vec<i64>)> = Vec::new();
    let mut row_of: BTreeMap<String, usize> = BTreeMap::new();
    for (col, c) in spec.columns.iter().enumerate() {
        let Some(map) = maps.iter().find(|m| m.name == c.map) else {
            continue;
        };
        for e in &map.entries {
            let join = format!("{:?}", e.key);
            let row = *row_of.entry(join).or_insert_with(|| {
                rows.push((e.key.clone(), vec![0; spec.columns.len()]));
                rows.len() - 1
            });
            let v = amount(&e.value).saturating_mul(c.scale);
            rows[row].1[col] = rows[row].1[col].saturating_add(v);
        }
    }
    for (key, value) in rows {
        if value.iter().all(|&v| v == 0) {
            continue;
        }
        let location_id = key_pcs(&key).iter().map(|pc| t.location(pc)).collect();
        let mut label = Vec::new();
        for (part, name) in key.iter().zip(&spec.labels) {
            let Some(name) = name else { continue };
            let key = t.string(name);
            label.push(match part {
                Value::Int(n) => proto::Label {
                    key,
                    num: *n,
                    ..Default::default()
                },
                Value::Uint(n) => proto::Label {
                    key,
                    num: *n as i64,
                    ..Default::default()
                },
                other => proto::Label {
                    key,
                    str: t.string(&crate::output::text::value(other)),
                    ..Default::default()
                },
            });
        }
        t.p.sample.push(proto::Sample {
            location_id,
            value,
            label,
        });
    }
    t.p.time_nanos = time_nanos;
    t.p.duration_nanos = duration_nanos;
    match spec.cpu_period_ns {
        Some(ns) => {
            t.p.period_type = Some(t.value_type("cpu", "nanoseconds"));
            t.p.period = ns as i64;
        }
        None => {
            // Every event is counted (no sampling): a period of 1 of the first sample type.
            if let Some(c) = spec.columns.first() {
                t.p.period_type = Some(t.value_type(&c.r#type, &c.unit));
                t.p.period = 1;
            }
        }
    }
    if let Some(regex) = &spec.drop_frames {
        t.p.drop_frames = t.string(regex);
    }
    let comment = t.string(&format!("gprobe {}", env!("CARGO_PKG_VERSION")));
    t.p.comment.push(comment);
    t.p
}
