//! Maps as metrics: the model the Prometheus and OTLP exporters share. A map becomes one
//! metric; its keys become labels (attributes) named after the key expressions or record
//! fields; its values become counter, gauge, histogram or summary points.
//!
//! | map value          | metric                                                       |
//! |--------------------|--------------------------------------------------------------|
//! | `count()`, `sum()` | counter (cumulative, monotonic)                              |
//! | `min`, `max`, `avg`, plain integers | gauge                                       |
//! | `stats()`          | summary: count and sum                                       |
//! | `hist`, `lhist`    | histogram with explicit, upper-inclusive bounds that reproduce |
//! |                    | the buckets exactly (the values are integers)                |
//!
//! Maps of strings, stacks and tuples are not metrics and are left out. A map a `// @metric`
//! annotation declares ([`super::annotations`]) takes its name, unit and label names, and its
//! values are converted to the exported unit ([`Export`]).

use super::annotations::Unit;
use super::text;
use crate::value::{MapSnapshot, MapValue, Value};
use gprobe_compiler::manifest::{FieldKind, Manifest, MapRole};
use std::collections::BTreeSet;

/// What an exporter needs to know about a map beyond its contents.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MapMeta {
    /// `@lat`.
    pub map: String,
    /// A description: the comment above the map's first assignment, when there is one.
    pub help: Option<String>,
    /// Per key part: its label name(s). A record key has one label per field.
    pub key_labels: Vec<Vec<String>>,
    /// Key parts (indexes) holding `host:port` text, exported as two labels (see
    /// [`super::annotations::KeyAttribute::HostPort`]).
    pub host_port: Vec<usize>,
    /// A `// @metric` annotation's name and unit (see [`super::annotations`]).
    pub export: Option<Export>,
    /// Not exported: the script exports only its declared maps (`// @metrics declared`), and
    /// this one has no `// @metric` annotation (a working map, such as a timestamp).
    pub hidden: bool,
}

/// How an annotated map is exported.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Export {
    /// `http.server.request.duration`.
    pub name: String,
    pub unit: Option<Unit>,
}

impl MapMeta {
    /// Every user map of the manifest, with label names from the key layout (the key
    /// expression as written, or the record's field names), made into identifiers.
    pub fn from_manifest(manifest: &Manifest) -> Vec<MapMeta> {
        manifest
            .maps
            .iter()
            .filter(|m| m.role == MapRole::User)
            .map(|m| MapMeta {
                map: m.user_name.clone().unwrap_or_else(|| m.name.clone()),
                help: None,
                host_port: Vec::new(),
                export: None,
                hidden: false,
                key_labels: m
                    .key
                    .fields
                    .iter()
                    .enumerate()
                    .map(|(i, f)| match &f.kind {
                        FieldKind::Tuple(inner)
                            if inner.fields.iter().all(|f| f.name.is_some()) =>
                        {
                            inner
                                .fields
                                .iter()
                                .map(|f| identifier(f.name.as_deref().unwrap_or("")))
                                .collect()
                        }
                        _ => vec![
                            f.name
                                .as_deref()
                                .map(identifier)
                                .filter(|n| !n.is_empty())
                                .unwrap_or_else(|| format!("key{i}")),
                        ],
                    })
                    .collect(),
            })
            .collect()
    }
}

/// The `//` comment lines right above the first line that assigns `map` (`@name = ...` or
/// `@name[...] = ...`, compound assignments included), joined by spaces.
pub fn help_from_source(source: &str, map: &str) -> Option<String> {
    let lines: Vec<&str> = source.lines().collect();
    let assigns = |line: &str| {
        let mut rest = line;
        while let Some(at) = rest.find(map) {
            let after = &rest[at + map.len()..];
            let next = after.chars().next();
            let is_whole_name = !next.is_some_and(|c| c.is_alphanumeric() || c == '_');
            if is_whole_name {
                let after = if after.starts_with('[') {
                    closing_bracket(after).map_or("", |end| &after[end + 1..])
                } else {
                    after
                };
                let after = after.trim_start();
                let op =
                    after.trim_start_matches(['+', '-', '*', '/', '%', '|', '&', '^', '<', '>']);
                if op.starts_with('=') && !op.starts_with("==") {
                    return true;
                }
            }
            rest = &rest[at + map.len()..];
        }
        false
    };
    let first = lines.iter().position(|l| assigns(l))?;
    let mut comments = Vec::new();
    for line in lines[..first].iter().rev() {
        let Some(comment) = line.trim().strip_prefix("//") else {
            break;
        };
        comments.push(comment.trim());
    }
    comments.reverse();
    let help = comments.join(" ");
    (!help.is_empty()).then_some(help)
}

fn closing_bracket(s: &str) -> Option<usize> {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `str(args.filename)` → `str_args_filename`: letters, digits and `_`, not starting with a
/// digit, no runs of `_` (Prometheus label and metric names; readable as OTLP attributes).
pub fn identifier(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    let out = out.trim_end_matches('_').to_string();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{out}")
    } else {
        out
    }
}

pub type Labels = Vec<(String, String)>;

#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    /// The annotation's name, else the map's name without `@` (`@` alone is `map`), made an
    /// identifier.
    pub name: String,
    pub map: String,
    pub help: String,
    /// The exported unit (`s`), empty when the map has none.
    pub unit: String,
    /// Named by a `// @metric` annotation: exporters use the name as it is (Prometheus adds
    /// its unit suffix but no `gprobe_` prefix).
    pub declared: bool,
    /// Labels whose values are integers (integer keys, a `host:port` key's port): OTLP sends
    /// them as int attributes (`http.response.status_code`, `server.port`, `pid`).
    pub integer_labels: BTreeSet<String>,
    pub points: Points,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Points {
    Counter(Vec<(Labels, Number)>),
    Gauge(Vec<(Labels, Number)>),
    Summary(Vec<(Labels, Summary)>),
    Histogram(Vec<(Labels, Histogram)>),
}

/// A counter or gauge value: the map's integer, or a converted value (`sum()` of
/// microseconds exported in seconds).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Number {
    Int(i64),
    Float(f64),
}

impl Number {
    pub fn is_negative(self) -> bool {
        match self {
            Number::Int(n) => n < 0,
            Number::Float(f) => f < 0.0,
        }
    }

    fn scaled(n: i64, unit: Option<&Unit>) -> Number {
        match unit {
            Some(u) if u.divisor != 1.0 => Number::Float(n as f64 / u.divisor),
            _ => Number::Int(n),
        }
    }
}

impl std::fmt::Display for Number {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Number::Int(n) => write!(f, "{n}"),
            Number::Float(x) => write!(f, "{x}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    pub count: u64,
    pub sum: f64,
}

/// Explicit-bounds buckets: `counts[i]` holds values in `(bounds[i-1], bounds[i]]`, the last
/// count everything above the last bound (`counts.len() == bounds.len() + 1`).
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    pub bounds: Vec<f64>,
    pub counts: Vec<u64>,
    pub count: u64,
    /// The sum of the values counted.
    pub sum: f64,
}

impl Histogram {
    /// In the annotation's exported unit. The map's values are integers that truncate what
    /// they measure (`(nsecs - $start) / 1000` is a time in `[v, v + 1)` us), so a bucket's
    /// bound becomes its exclusive upper edge, `bound + 1`, converted: log2's `[2, 4)` us is
    /// `le = 4e-6` s, as the text output's `[2, 4)` says.
    fn converted(mut self, unit: Option<&Unit>) -> Histogram {
        if let Some(u) = unit
            && u.divisor != 1.0
        {
            for b in &mut self.bounds {
                *b = (*b + 1.0) / u.divisor;
            }
            self.sum /= u.divisor;
        }
        self
    }
}

/// A log2 histogram with explicit bounds: bucket 0 (negatives) is `(-inf, -1]`, bucket 1 (zero)
/// `(-1, 0]`, bucket `k + 2` (`[2^k, 2^(k+1) - 1]`) is `(2^k - 1, 2^(k+1) - 1]`. Bounds stop at
/// the last non-empty bucket (at least the zero bucket), so the overflow bucket is empty.
pub fn log2_histogram(counts: &[u64], sum: i64) -> Histogram {
    let last = counts.iter().rposition(|&c| c != 0).unwrap_or(1).max(1);
    let bounds: Vec<f64> = (0..=last)
        .map(|i| match i {
            0 => -1.0,
            _ => ((1u128 << (i - 1)) - 1) as f64,
        })
        .collect();
    let mut out: Vec<u64> = (0..=last)
        .map(|i| counts.get(i).copied().unwrap_or(0))
        .collect();
    out.push(0);
    Histogram {
        bounds,
        count: counts.iter().copied().fold(0, u64::wrapping_add),
        counts: out,
        sum: sum as f64,
    }
}

/// A linear histogram: bucket 0 (`< min`) is `(-inf, min - 1]`, bucket `i` is
/// `(min + (i-1)*step - 1, min + i*step - 1]`, the last (`>= max`) is above `max - 1`.
pub fn linear_histogram(min: i64, max: i64, step: i64, counts: &[u64], sum: i64) -> Histogram {
    let inner = if step > 0 {
        ((max - min) / step) as usize
    } else {
        0
    };
    let bounds: Vec<f64> = (0..=inner)
        .map(|i| (min as i128 + i as i128 * step as i128 - 1) as f64)
        .collect();
    let out: Vec<u64> = (0..=inner + 1)
        .map(|i| counts.get(i).copied().unwrap_or(0))
        .collect();
    Histogram {
        bounds,
        count: counts.iter().copied().fold(0, u64::wrapping_add),
        counts: out,
        sum: sum as f64,
    }
}

fn label_value(v: &Value) -> String {
    match v {
        Value::Stack(frames) => frames.join(";"),
        other => text::value(other),
    }
}

/// Node-wide: for each process (host pid), the labels added beside a series' `pid` key to name
/// it — `service.name` (the main module from `.go.buildinfo`, else the executable's name),
/// `process.executable.name`, and `container.id` when its cgroup names one (OpenTelemetry's
/// resource attribute names; Prometheus writes `_` for `.`).
pub type ProcessTable = std::collections::HashMap<u32, Labels>;

/// The labels of one key; names of the labels whose values are integers go into `integers`.
fn labels(
    meta: Option<&MapMeta>,
    key: &[Value],
    procs: &ProcessTable,
    integers: &mut BTreeSet<String>,
) -> Labels {
    let mut out = Labels::new();
    let mut note = |name: &str, integer: bool| {
        if integer && !integers.contains(name) {
            integers.insert(name.to_string());
        }
    };
    let integer = |v: &Value| matches!(v, Value::Int(_) | Value::Uint(_));
    for (i, part) in key.iter().enumerate() {
        let names = meta.and_then(|m| m.key_labels.get(i));
        match (part, names) {
            (Value::Tuple(items), Some(names)) if names.len() == items.len() && names.len() > 1 => {
                for (n, v) in names.iter().zip(items) {
                    note(n, integer(v));
                    out.push((n.clone(), label_value(v)));
                }
            }
            (Value::Record(fields), _) => {
                for (n, v) in fields {
                    note(&identifier(n), integer(v));
                    out.push((identifier(n), label_value(v)));
                }
            }
            (Value::Str(text), Some(names))
                if names.len() == 2 && meta.is_some_and(|m| m.host_port.contains(&i)) =>
            {
                let (host, port) = host_port(text);
                out.push((names[0].clone(), host.to_string()));
                if let Some(port) = port {
                    note(&names[1], true);
                    out.push((names[1].clone(), port.to_string()));
                }
            }
            _ => {
                let name = names
                    .and_then(|n| n.first().cloned())
                    .unwrap_or_else(|| format!("key{i}"));
                let process = match (name.as_str(), part) {
                    ("pid", Value::Int(pid)) => procs.get(&(*pid as u32)),
                    ("pid", Value::Uint(pid)) => procs.get(&(*pid as u32)),
                    _ => None,
                };
                note(&name, integer(part));
                out.push((name, label_value(part)));
                // The first pid key says whose series it is (once: `@b[pid, pid]` is one process).
                if let Some(named) = process
                    && !out.iter().any(|(n, _)| n == "service.name")
                {
                    out.extend(named.iter().cloned());
                }
            }
        }
    }
    out
}

/// `host:port` → (`host`, `port`); `[::1]:80` → (`::1`, `80`); a text without a port (or
/// whose part after the last `:` is no port number) is all host.
pub fn host_port(text: &str) -> (&str, Option<&str>) {
    let split = text.rsplit_once(':').filter(|(host, port)| {
        !port.is_empty()
            && port.bytes().all(|b| b.is_ascii_digit())
            && (!host.contains(':') || (host.starts_with('[') && host.ends_with(']')))
    });
    match split {
        Some((host, port)) => (
            host.trim_start_matches('[').trim_end_matches(']'),
            Some(port),
        ),
        None => (text.trim_start_matches('[').trim_end_matches(']'), None),
    }
}

fn plain_number(v: &Value) -> Option<i64> {
    match v {
        Value::Int(n) => Some(*n),
        Value::Uint(n) => Some(*n as i64),
        _ => None,
    }
}

/// The metrics of the maps that are metrics, in map-name order.
pub fn metrics(maps: &[MapSnapshot], meta: &[MapMeta]) -> Vec<Metric> {
    metrics_of_processes(maps, meta, &ProcessTable::new())
}

/// [`metrics`], with a `pid` key of the processes in `procs` labelled as [`ProcessTable`] says.
pub fn metrics_of_processes(
    maps: &[MapSnapshot],
    meta: &[MapMeta],
    procs: &ProcessTable,
) -> Vec<Metric> {
    let mut sorted: Vec<&MapSnapshot> = maps.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = Vec::new();
    for m in sorted {
        let info = meta.iter().find(|i| i.map == m.name);
        if info.is_some_and(|i| i.hidden) {
            continue;
        }
        let Some(first) = m.entries.first() else {
            continue;
        };
        let mut points = match &first.value {
            MapValue::Count(_) | MapValue::Sum(_) => Points::Counter(Vec::new()),
            MapValue::Hist { .. } | MapValue::Lhist { .. } => Points::Histogram(Vec::new()),
            MapValue::Stats { .. } => Points::Summary(Vec::new()),
            MapValue::Plain(v) if plain_number(v).is_none() => continue,
            _ => Points::Gauge(Vec::new()),
        };
        let unit = info.and_then(|i| i.export.as_ref()?.unit.as_ref());
        let number = |n: i64| Number::scaled(n, unit);
        let mut integer_labels = BTreeSet::new();
        for e in text::sorted_entries(&m.entries) {
            let l = labels(info, &e.key, procs, &mut integer_labels);
            match (&mut points, &e.value) {
                (Points::Counter(p), MapValue::Count(n)) => p.push((l, Number::Int(*n as i64))),
                (Points::Counter(p), MapValue::Sum(n)) => p.push((l, number(*n))),
                (Points::Gauge(p), MapValue::Min(n) | MapValue::Max(n)) => p.push((l, number(*n))),
                // Converted: the exact mean, not the text output's integer one, scaled.
                (Points::Gauge(p), MapValue::Avg { sum, count }) => match unit {
                    Some(u) if u.divisor != 1.0 && *count > 0 => {
                        p.push((l, Number::Float(*sum as f64 / *count as f64 / u.divisor)))
                    }
                    _ => p.push((l, Number::Int(text::average(*sum, *count)))),
                },
                (Points::Gauge(p), MapValue::Plain(v)) => {
                    if let Some(n) = plain_number(v) {
                        p.push((l, number(n)));
                    }
                }
                (Points::Summary(p), MapValue::Stats { sum, count }) => p.push((
                    l,
                    Summary {
                        count: *count,
                        sum: *sum as f64 / unit.map_or(1.0, |u| u.divisor),
                    },
                )),
                (Points::Histogram(p), MapValue::Hist { counts, sum }) => {
                    p.push((l, log2_histogram(counts, *sum).converted(unit)))
                }
                (
                    Points::Histogram(p),
                    MapValue::Lhist {
                        min,
                        max,
                        step,
                        counts,
                        sum,
                    },
                ) => p.push((
                    l,
                    linear_histogram(*min, *max, *step, counts, *sum).converted(unit),
                )),
                _ => {}
            }
        }
        let bare = m.name.trim_start_matches('@');
        let export = info.and_then(|i| i.export.as_ref());
        out.push(Metric {
            name: match export {
                Some(e) => e.name.clone(),
                None if bare.is_empty() => "map".into(),
                None => identifier(bare),
            },
            map: m.name.clone(),
            help: info
                .and_then(|i| i.help.clone())
                .unwrap_or_else(|| format!("gprobe map {}", m.name)),
            unit: unit.map(|u| u.exported.clone()).unwrap_or_default(),
            declared: export.is_some(),
            integer_labels,
            points,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_is_the_comment_above_the_first_assignment() {
        let src = "uprobe:x:main.f {\n  // Calls of main.f\n  // by name.\n  @calls[comm] = count();\n  @calls2 = count();\n}\n// not this\nEND { if (@calls[\"a\"] == 1) { } }";
        assert_eq!(
            help_from_source(src, "@calls").as_deref(),
            Some("Calls of main.f by name.")
        );
        assert_eq!(help_from_source(src, "@calls2"), None);
        assert_eq!(
            help_from_source("// total\n@x += 1;", "@x").as_deref(),
            Some("total")
        );
    }

    #[test]
    fn identifiers() {
        assert_eq!(identifier("str(args.filename)"), "str_args_filename");
        assert_eq!(identifier("comm"), "comm");
        assert_eq!(identifier("1x"), "_1x");
        assert_eq!(identifier("arg0 + 1"), "arg0_1");
    }

    /// Every integer lands in the bucket whose bounds hold it, the same bucket the log2
    /// histogram counts it in.
    #[test]
    fn log2_bounds_reproduce_the_buckets() {
        for v in [-5i64, -1, 0, 1, 2, 3, 4, 7, 8, 1000, 1 << 40] {
            let bucket = if v < 0 {
                0
            } else if v == 0 {
                1
            } else {
                (63 - v.leading_zeros()) as usize + 2
            };
            let mut counts = vec![0u64; bucket + 1];
            counts[bucket] = 1;
            let h = log2_histogram(&counts, v);
            let at = h.bounds.iter().position(|&b| v as f64 <= b).unwrap();
            assert_eq!(at, bucket, "{v}");
            assert_eq!(h.counts[at], 1);
            assert_eq!(h.counts.len(), h.bounds.len() + 1);
            assert_eq!(h.count, 1);
        }
    }

    #[test]
    fn linear_bounds_reproduce_the_buckets() {
        // lhist(v, 0, 10, 2): 0 below, 1..=5 inside, 6 at/above 10
        let h = linear_histogram(0, 10, 2, &[1, 0, 1, 0, 0, 0, 1], 0);
        assert_eq!(h.bounds, vec![-1.0, 1.0, 3.0, 5.0, 7.0, 9.0]);
        assert_eq!(h.counts, vec![1, 0, 1, 0, 0, 0, 1]);
        assert_eq!(h.count, 3);
    }

    #[test]
    fn maps_become_typed_metrics_with_labels() {
        let maps = vec![
            MapSnapshot::keyed(
                "@calls",
                vec![(
                    vec![Value::Str("a".into()), Value::Int(3)],
                    MapValue::Count(5),
                )],
            ),
            MapSnapshot::scalar("@names", MapValue::Plain(Value::Str("x".into()))),
            MapSnapshot::scalar("@", MapValue::Max(9)),
        ];
        let meta = vec![MapMeta {
            map: "@calls".into(),
            help: Some("Calls.".into()),
            key_labels: vec![vec!["comm".into()], vec!["arg0".into()]],
            ..Default::default()
        }];
        let got = metrics(&maps, &meta);
        assert_eq!(got.len(), 2, "strings are not metrics");
        assert_eq!(got[0].name, "map");
        assert_eq!(got[0].points, Points::Gauge(vec![(vec![], Number::Int(9))]));
        assert_eq!(got[1].name, "calls");
        assert_eq!(got[1].help, "Calls.");
        assert_eq!(
            got[1].points,
            Points::Counter(vec![(
                vec![("comm".into(), "a".into()), ("arg0".into(), "3".into())],
                Number::Int(5)
            )])
        );
    }
}
