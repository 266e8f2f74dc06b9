//! JSON lines with bpftrace 0.17's `-f json` shapes (one object per line, same keys, same
//! spacing), plus `event` lines for `emit()`. The schema is in docs/output-formats.md.
//!
//! Objects are written by hand rather than through `serde_json::Map` so that entries keep
//! bpftrace's print order (sorted by value) without a map type that preserves insertion order.

use super::Sink;
use super::text;
use crate::value::{MapEntry, MapSnapshot, MapValue, Value};
use std::fmt::Write as _;
use std::io::{self, Write};

/// Integers whose magnitude is above this lose precision as JSON numbers in most consumers
/// (IEEE doubles); they are written as strings instead.
const MAX_SAFE_INTEGER: u64 = 1 << 53;

/// A JSON string literal.
pub fn string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

pub fn int(n: i64) -> String {
    if n.unsigned_abs() > MAX_SAFE_INTEGER {
        format!("\"{n}\"")
    } else {
        n.to_string()
    }
}

pub fn uint(n: u64) -> String {
    if n > MAX_SAFE_INTEGER {
        format!("\"{n}\"")
    } else {
        n.to_string()
    }
}

fn wide(n: i128) -> String {
    match i64::try_from(n) {
        Ok(n) => int(n),
        Err(_) => format!("\"{n}\""),
    }
}

/// A stack as bpftrace writes it inside JSON: one string, each frame on its own line.
fn stack_text(frames: &[String]) -> String {
    let mut out = String::from("\n");
    for frame in frames {
        let _ = writeln!(out, "    {frame}");
    }
    out
}

/// A value as bpftrace writes map values: tuples as arrays, stacks as one string.
pub fn value(v: &Value) -> String {
    match v {
        Value::Int(n) => int(*n),
        Value::Uint(n) => uint(*n),
        Value::Str(s) | Value::Sym(s) => string(s),
        Value::Buf(bytes) => string(&text::buf(bytes)),
        Value::Stack(frames) => string(&stack_text(frames)),
        Value::Tuple(items) | Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(value).collect();
            format!("[{}]", parts.join(","))
        }
        Value::Record(fields) => {
            let parts: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{}: {}", string(k), value(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

/// A value inside an `event`: like [`value`], but a stack is an array of frames (innermost
/// first), which is what a consumer of structured events wants.
pub fn event_value(v: &Value) -> String {
    match v {
        Value::Stack(frames) => {
            let parts: Vec<String> = frames.iter().map(|f| string(f)).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Tuple(items) => {
            let parts: Vec<String> = items.iter().map(event_value).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Record(fields) => {
            let parts: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{}: {}", string(k), event_value(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        other => value(other),
    }
}

/// The object key of a map entry: the key parts as text, joined by commas (`"1,a"`).
pub fn key(parts: &[Value]) -> String {
    let texts: Vec<String> = parts
        .iter()
        .map(|p| match p {
            Value::Stack(frames) => stack_text(frames),
            other => text::value(other),
        })
        .collect();
    string(&texts.join(","))
}

/// `map`, `stats` or `hist`: the line type bpftrace uses for a map of these values.
pub fn map_type(entries: &[MapEntry]) -> &'static str {
    match entries.first().map(|e| &e.value) {
        Some(MapValue::Avg { .. } | MapValue::Stats { .. }) => "stats",
        Some(MapValue::Hist { .. } | MapValue::Lhist { .. }) => "hist",
        _ => "map",
    }
}

/// One bucket object; `None` bounds are left out (the open ends of a histogram).
fn bucket(min: Option<i128>, max: Option<i128>, count: u64) -> String {
    let mut parts = Vec::new();
    if let Some(min) = min {
        parts.push(format!("\"min\": {}", wide(min)));
    }
    if let Some(max) = max {
        parts.push(format!("\"max\": {}", wide(max)));
    }
    parts.push(format!("\"count\": {}", uint(count)));
    format!("{{{}}}", parts.join(", "))
}

/// The buckets from the first to the last non-empty one, as bpftrace prints them; with
/// `print(@h, top, div)` each count divided by `div` (the range stays the undivided one's).
fn buckets(
    counts: &[u64],
    div: u64,
    bounds: impl Fn(usize) -> (Option<i128>, Option<i128>),
) -> String {
    let Some(first) = counts.iter().position(|&c| c != 0) else {
        return "[]".into();
    };
    let last = counts.iter().rposition(|&c| c != 0).unwrap_or(first);
    let parts: Vec<String> = (first..=last)
        .map(|i| {
            let (min, max) = bounds(i);
            bucket(min, max, counts[i] / div.max(1))
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

/// Inclusive bounds of log2 bucket `i` (0 = negative, 1 = zero, `k + 2` = `[2^k, 2^(k+1))`).
pub fn hist_bounds(i: usize) -> (Option<i128>, Option<i128>) {
    match i {
        0 => (None, Some(-1)),
        1 => (Some(0), Some(0)),
        _ => {
            let k = (i - 2) as u32;
            (Some(1i128 << k), Some((1i128 << (k + 1)) - 1))
        }
    }
}

/// Inclusive bounds of linear bucket `i` (0 = below `min`, the last = at or above `max`).
pub fn lhist_bounds(min: i64, max: i64, step: i64, i: usize) -> (Option<i128>, Option<i128>) {
    let inner = if step > 0 { (max - min) / step } else { 0 } as usize;
    let (min, max, step) = (min as i128, max as i128, step as i128);
    if i == 0 {
        (None, Some(min - 1))
    } else if i > inner {
        (Some(max), None)
    } else {
        let low = min + (i as i128 - 1) * step;
        (Some(low), Some(low + step - 1))
    }
}

pub fn map_value(v: &MapValue) -> String {
    match v {
        MapValue::Plain(v) => value(v),
        MapValue::Count(n) => uint(*n),
        MapValue::Sum(n) | MapValue::Min(n) | MapValue::Max(n) => int(*n),
        MapValue::Avg { sum, count } => int(text::average(*sum, *count)),
        MapValue::Stats { sum, count } => format!(
            "{{\"count\": {}, \"average\": {}, \"total\": {}}}",
            uint(*count),
            int(text::average(*sum, *count)),
            int(*sum)
        ),
        MapValue::Hist { counts, .. } => buckets(counts, 1, hist_bounds),
        MapValue::Lhist {
            min,
            max,
            step,
            counts,
            ..
        } => buckets(counts, 1, |i| lhist_bounds(*min, *max, *step, i)),
    }
}

/// `{"type": "map", "data": {"@m": {"k": 1, ...}}}`, or `{"@x": 5}` for a scalar map.
pub fn map(m: &MapSnapshot) -> String {
    map_divided(m, 1)
}

/// `print(@m, top, div)`: [`map`] with the values divided as bpftrace 0.17 divides them
/// ([`MapValue::divided`]; a `hist`'s counts too, `lhist` not).
pub fn map_divided(m: &MapSnapshot, div: u64) -> String {
    let shown = |v: &MapValue| match v {
        MapValue::Hist { counts, .. } => buckets(counts, div, hist_bounds),
        other => map_value(&other.divided(div)),
    };
    let sorted = text::sorted_entries(&m.entries);
    let data = match sorted.as_slice() {
        [only] if only.key.is_empty() => shown(&only.value),
        entries => {
            let parts: Vec<String> = entries
                .iter()
                .map(|e| format!("{}: {}", key(&e.key), shown(&e.value)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    };
    line(
        map_type(&m.entries),
        &format!("{{{}: {data}}}", string(&m.name)),
    )
}

/// `{"type": TYPE, "data": DATA}` with DATA already JSON.
pub fn line(kind: &str, data: &str) -> String {
    format!("{{\"type\": {}, \"data\": {data}}}", string(kind))
}

/// `{"type": "event", "probe": ..., "ts": ..., "data": ...}`.
pub fn event(probe: &str, ts_ns: u64, record: &Value) -> String {
    format!(
        "{{\"type\": \"event\", \"probe\": {}, \"ts\": {}, \"data\": {}}}",
        string(probe),
        uint(ts_ns),
        event_value(record)
    )
}

/// Writes JSON lines to any writer (stdout, a file).
pub struct JsonSink<W: Write> {
    out: W,
    /// `-q`: no "attached" banner.
    quiet: bool,
}

impl<W: Write> JsonSink<W> {
    pub fn new(out: W) -> Self {
        JsonSink { out, quiet: false }
    }

    /// `-q`, as bpftrace's: leaves out the "attached" banner.
    pub fn quiet(mut self, quiet: bool) -> Self {
        self.quiet = quiet;
        self
    }

    fn write_line(&mut self, line: &str) -> io::Result<()> {
        self.out.write_all(line.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}

impl<W: Write> Sink for JsonSink<W> {
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn attached(&mut self, probes: usize) -> io::Result<()> {
        if self.quiet {
            return Ok(());
        }
        self.write_line(&line(
            "attached_probes",
            &format!("{{\"probes\": {probes}}}"),
        ))
    }

    fn printf(&mut self, text: &str) -> io::Result<()> {
        self.write_line(&line("printf", &string(text)))
    }

    fn print_map(&mut self, m: &MapSnapshot, div: u64) -> io::Result<()> {
        self.write_line(&map_divided(m, div))
    }

    fn time(&mut self, text: &str) -> io::Result<()> {
        self.write_line(&line("time", &string(text)))
    }

    fn emit(&mut self, probe: &str, ts_ns: u64, record: &Value) -> io::Result<()> {
        self.write_line(&event(probe, ts_ns, record))
    }

    /// Every non-empty map in name order. bpftrace also prints two blank lines first; those are
    /// not JSON and are left out, so that every line parses.
    fn finish(&mut self, maps: &[MapSnapshot]) -> io::Result<()> {
        let mut sorted: Vec<&MapSnapshot> = maps.iter().filter(|m| !m.entries.is_empty()).collect();
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        for m in sorted {
            self.write_line(&map(m))?;
        }
        Ok(())
    }

    fn lost_events(&mut self, count: u64) -> io::Result<()> {
        self.write_line(&line(
            "lost_events",
            &format!("{{\"events\": {}}}", uint(count)),
        ))
    }
}

#[cfg(test)]
mod tests {
    //! Expected lines are bpftrace 0.17's `-f json` output for the same values, captured on this
    //! machine (the scripts are in the comments).
    use super::*;

    fn s(x: &str) -> Value {
        Value::Str(x.into())
    }

    fn parse(line: &str) -> serde_json::Value {
        serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    // @h = hist(5); hist(100); hist(0); hist(-3)
    #[test]
    fn hist_matches_bpftrace() {
        let mut counts = vec![0u64; 66];
        counts[0] = 1;
        counts[1] = 1;
        counts[4] = 1; // 5
        counts[8] = 1; // 100
        let got = map(&MapSnapshot::scalar(
            "@h",
            MapValue::Hist { counts, sum: 0 },
        ));
        let want = r#"{"type": "hist", "data": {"@h": [{"max": -1, "count": 1}, {"min": 0, "max": 0, "count": 1}, {"min": 1, "max": 1, "count": 0}, {"min": 2, "max": 3, "count": 0}, {"min": 4, "max": 7, "count": 1}, {"min": 8, "max": 15, "count": 0}, {"min": 16, "max": 31, "count": 0}, {"min": 32, "max": 63, "count": 0}, {"min": 64, "max": 127, "count": 1}]}}"#;
        assert_eq!(got, want);
        parse(&got);
    }

    // @l = lhist(3,0,10,2); lhist(11,0,10,2)  and  lhist(-5,0,10,2); lhist(3,0,10,2)
    #[test]
    fn lhist_matches_bpftrace() {
        let l = |counts: Vec<u64>| MapValue::Lhist {
            min: 0,
            max: 10,
            step: 2,
            counts,
            sum: 0,
        };
        assert_eq!(
            map(&MapSnapshot::scalar("@l", l(vec![0, 0, 1, 0, 0, 0, 1]))),
            r#"{"type": "hist", "data": {"@l": [{"min": 2, "max": 3, "count": 1}, {"min": 4, "max": 5, "count": 0}, {"min": 6, "max": 7, "count": 0}, {"min": 8, "max": 9, "count": 0}, {"min": 10, "count": 1}]}}"#
        );
        assert_eq!(
            map(&MapSnapshot::scalar("@l", l(vec![1, 0, 1, 0, 0, 0, 0]))),
            r#"{"type": "hist", "data": {"@l": [{"max": -1, "count": 1}, {"min": 0, "max": 1, "count": 0}, {"min": 2, "max": 3, "count": 1}]}}"#
        );
    }

    #[test]
    fn maps_and_stats_match_bpftrace() {
        // @a[1] = avg(7); @a[2] = avg(3)
        let a = MapSnapshot {
            name: "@a".into(),
            entries: vec![
                MapEntry {
                    key: vec![Value::Int(1)],
                    value: MapValue::Avg { sum: 7, count: 1 },
                },
                MapEntry {
                    key: vec![Value::Int(2)],
                    value: MapValue::Avg { sum: 3, count: 1 },
                },
            ],
        };
        assert_eq!(
            map(&a),
            r#"{"type": "stats", "data": {"@a": {"2": 3, "1": 7}}}"#
        );
        assert_eq!(
            map(&MapSnapshot::scalar(
                "@st",
                MapValue::Stats { sum: 13, count: 2 }
            )),
            r#"{"type": "stats", "data": {"@st": {"count": 2, "average": 6, "total": 13}}}"#
        );
        let m2 = MapSnapshot::keyed(
            "@m2",
            vec![(vec![Value::Int(1), s("a")], MapValue::Count(1))],
        );
        assert_eq!(map(&m2), r#"{"type": "map", "data": {"@m2": {"1,a": 1}}}"#);
        assert_eq!(
            map(&MapSnapshot::scalar(
                "@t",
                MapValue::Plain(Value::Tuple(vec![Value::Int(1), s("a")]))
            )),
            r#"{"type": "map", "data": {"@t": [1,"a"]}}"#
        );
        assert_eq!(
            map(&MapSnapshot::scalar("@str", MapValue::Plain(s("hi")))),
            r#"{"type": "map", "data": {"@str": "hi"}}"#
        );
    }

    #[test]
    fn big_integers_are_strings() {
        assert_eq!(uint(1 << 53), "9007199254740992");
        assert_eq!(uint((1 << 53) + 1), "\"9007199254740993\"");
        assert_eq!(int(-(1 << 53) - 1), "\"-9007199254740993\"");
        assert_eq!(uint(u64::MAX), "\"18446744073709551615\"");
        // The top log2 bucket's upper bound does not fit an i64.
        assert_eq!(hist_bounds(65), (Some(1 << 63), Some((1 << 64) - 1)));
        assert_eq!(wide((1 << 64) - 1), "\"18446744073709551615\"");
    }

    #[test]
    fn events_are_objects() {
        let record = Value::Record(vec![
            ("goid".into(), Value::Int(42)),
            ("method".into(), s("GET \"x\"")),
            (
                "stack".into(),
                Value::Stack(vec!["main.f".to_string()].into()),
            ),
        ]);
        let got = event("uprobe:/srv:main.h", 1_700_000_000_000_000_000, &record);
        let v = parse(&got);
        assert_eq!(v["type"], "event");
        assert_eq!(v["probe"], "uprobe:/srv:main.h");
        assert_eq!(v["ts"], "1700000000000000000");
        assert_eq!(v["data"]["goid"], 42);
        assert_eq!(v["data"]["method"], "GET \"x\"");
        assert_eq!(v["data"]["stack"][0], "main.f");
    }

    #[test]
    fn sink_lines_all_parse() {
        let mut sink = JsonSink::new(Vec::new());
        sink.attached(2).unwrap();
        sink.printf("a\tb\n").unwrap();
        sink.time("12:00\n").unwrap();
        sink.finish(&[
            MapSnapshot::scalar("@x", MapValue::Count(3)),
            MapSnapshot {
                name: "@empty".into(),
                entries: vec![],
            },
        ])
        .unwrap();
        sink.lost_events(7).unwrap();
        let out = String::from_utf8(sink.out).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 5, "{out}");
        for l in &lines {
            parse(l);
        }
        assert_eq!(
            lines[0],
            r#"{"type": "attached_probes", "data": {"probes": 2}}"#
        );
        assert_eq!(lines[1], r#"{"type": "printf", "data": "a\tb\n"}"#);
        assert_eq!(
            lines[4],
            r#"{"type": "lost_events", "data": {"events": 7}}"#
        );
    }
}
