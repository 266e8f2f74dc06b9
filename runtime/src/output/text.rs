//! bpftrace-0.17-compatible text: `@x: 5`, `@[a, b]: 7`, histogram bars, `stats` lines. Every
//! function here is pure (values in, `String` out); [`TextSink`] only writes what they return.

use super::Sink;
use crate::value::{MapEntry, MapSnapshot, MapValue, Value};
use std::cmp::Ordering;
use std::fmt::Write as _;
use std::io::{self, Write};

/// Width of a full histogram bar (the bucket with the largest count).
const BAR_WIDTH: u64 = 52;

/// One value as bpftrace prints it inside keys, tuples and plain map values.
pub fn value(v: &Value) -> String {
    match v {
        Value::Int(i) => i.to_string(),
        Value::Uint(u) => u.to_string(),
        Value::Str(s) | Value::Sym(s) => s.clone(),
        Value::Buf(bytes) => buf(bytes),
        Value::Stack(frames) => {
            // A stack prints as an indented block, one frame a line, opening and closing on
            // its own line: `@[\n        f\n        g\n]: 3`.
            let mut out = String::from("\n");
            for frame in frames {
                let _ = writeln!(out, "        {frame}");
            }
            out
        }
        Value::Tuple(items) => {
            let parts: Vec<String> = items.iter().map(value).collect();
            format!("({})", parts.join(", "))
        }
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(value).collect();
            format!("[{}]", parts.join(","))
        }
        Value::Record(fields) => {
            let parts: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!(".{k} = {}", value(v)))
                .collect();
            format!("{{ {} }}", parts.join(", "))
        }
    }
}

/// Printable ASCII as is, everything else as `\xNN`, like bpftrace's `buf()` output.
pub fn buf(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        if (0x20..0x7f).contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// `@name` or `@name[k1, k2]`.
pub fn entry_name(map: &str, key: &[Value]) -> String {
    if key.is_empty() {
        map.to_string()
    } else {
        let parts: Vec<String> = key.iter().map(value).collect();
        format!("{map}[{}]", parts.join(", "))
    }
}

/// A whole map as bpftrace prints it for `print(@m)` and at exit: entries sorted (by value
/// ascending where the value is a number, by key otherwise), and a blank line after maps whose
/// values are averages, statistics or histograms (after each entry, for histograms).
pub fn map(m: &MapSnapshot) -> String {
    map_divided(m, 1)
}

/// `print(@m, top, div)`: as [`map`], each value divided by `div` (at least 1); `hist` bars
/// keep the undivided counts' lengths and `lhist` counts are not divided, as bpftrace 0.17
/// prints them.
pub fn map_divided(m: &MapSnapshot, div: u64) -> String {
    let mut out = String::new();
    let mut blank_after_map = false;
    for e in sorted_entries(&m.entries) {
        let name = entry_name(&m.name, &e.key);
        match &e.value {
            MapValue::Hist { counts, .. } => {
                let _ = writeln!(out, "{name}: ");
                out.push_str(&hist_divided(counts, div));
                out.push('\n');
            }
            MapValue::Lhist {
                min,
                max,
                step,
                counts,
                ..
            } => {
                let _ = writeln!(out, "{name}: ");
                // bpftrace 0.17 divides log2 histograms only.
                out.push_str(&lhist(*min, *max, *step, counts));
                out.push('\n');
            }
            other => {
                blank_after_map |= matches!(other, MapValue::Avg { .. } | MapValue::Stats { .. });
                let _ = writeln!(out, "{name}: {}", map_value(&other.divided(div)));
            }
        }
    }
    if blank_after_map {
        out.push('\n');
    }
    out
}

/// What follows `@name[key]: ` for a non-histogram value.
pub fn map_value(v: &MapValue) -> String {
    match v {
        MapValue::Plain(v) => value(v),
        MapValue::Count(n) => n.to_string(),
        MapValue::Sum(n) | MapValue::Min(n) | MapValue::Max(n) => n.to_string(),
        MapValue::Avg { sum, count } => average(*sum, *count).to_string(),
        MapValue::Stats { sum, count } => {
            format!(
                "count {count}, average {}, total {sum}",
                average(*sum, *count)
            )
        }
        MapValue::Hist { counts, .. } => hist(counts),
        MapValue::Lhist {
            min,
            max,
            step,
            counts,
            ..
        } => lhist(*min, *max, *step, counts),
    }
}

/// Integer average truncated toward zero, 0 for no samples (as bpftrace).
pub fn average(sum: i64, count: u64) -> i64 {
    if count == 0 {
        0
    } else {
        sum.wrapping_div(count as i64)
    }
}

/// The numeric sort key of a value, when bpftrace sorts that kind of map by value.
fn sort_number(v: &MapValue) -> Option<i128> {
    Some(match v {
        MapValue::Count(n) => *n as i128,
        MapValue::Sum(n) | MapValue::Min(n) | MapValue::Max(n) => *n as i128,
        MapValue::Avg { sum, count } | MapValue::Stats { sum, count } => {
            average(*sum, *count) as i128
        }
        MapValue::Plain(Value::Int(n)) => *n as i128,
        MapValue::Plain(Value::Uint(n)) => *n as i128,
        MapValue::Hist { counts, .. } | MapValue::Lhist { counts, .. } => {
            counts.iter().map(|&c| c as i128).sum()
        }
        MapValue::Plain(_) => return None,
    })
}

/// Entries by key, then (stable) by numeric value, so ties keep key order.
pub fn sorted_entries(entries: &[MapEntry]) -> Vec<&MapEntry> {
    let mut sorted: Vec<&MapEntry> = entries.iter().collect();
    sorted.sort_by(|a, b| compare_keys(&a.key, &b.key));
    sorted.sort_by(
        |a, b| match (sort_number(&a.value), sort_number(&b.value)) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => Ordering::Equal,
        },
    );
    sorted
}

fn compare_keys(a: &[Value], b: &[Value]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let o = compare_values(x, y);
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

fn compare_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Uint(x), Value::Uint(y)) => x.cmp(y),
        (Value::Int(x), Value::Uint(y)) => (*x as i128).cmp(&(*y as i128)),
        (Value::Uint(x), Value::Int(y)) => (*x as i128).cmp(&(*y as i128)),
        (Value::Tuple(x), Value::Tuple(y)) => compare_keys(x, y),
        _ => value(a).cmp(&value(b)),
    }
}

/// A number with a K/M/G/T/P/E suffix when it is an exact multiple of a power of 1024.
pub fn size_label(n: i64) -> String {
    const SUFFIXES: [&str; 7] = ["", "K", "M", "G", "T", "P", "E"];
    if n == 0 {
        return "0".into();
    }
    let mut v = n;
    let mut i = 0;
    while i + 1 < SUFFIXES.len() && v % 1024 == 0 {
        v /= 1024;
        i += 1;
    }
    format!("{v}{}", SUFFIXES[i])
}

/// One bar line: label left in 16 columns, count (divided by `div`) right in 8, bar scaled to
/// the largest count.
fn bar_line(label: &str, count: u64, max: u64, div: u64) -> String {
    let filled = if max == 0 {
        0
    } else {
        (count as u128 * BAR_WIDTH as u128 / max as u128) as usize
    };
    format!(
        "{label:<16}{:>8} |{}{}|\n",
        count / div.max(1),
        "@".repeat(filled),
        " ".repeat(BAR_WIDTH as usize - filled)
    )
}

/// The rows of a histogram from its first to its last non-empty bucket; nothing if all empty.
fn bars(counts: &[u64], div: u64, label: impl Fn(usize) -> String) -> String {
    let Some(first) = counts.iter().position(|&c| c != 0) else {
        return String::new();
    };
    let last = counts.iter().rposition(|&c| c != 0).unwrap_or(first);
    let max = counts.iter().copied().max().unwrap_or(0);
    (first..=last)
        .map(|i| bar_line(&label(i), counts[i], max, div))
        .collect()
}

/// log2 histogram rows; bucket 0 = negative, 1 = zero, `k + 2` = `[2^k, 2^(k+1))`.
pub fn hist(counts: &[u64]) -> String {
    hist_divided(counts, 1)
}

/// [`hist`] with the counts shown divided by `div` (`print(@h, 0, div)`).
pub fn hist_divided(counts: &[u64], div: u64) -> String {
    bars(counts, div, |i| match i {
        0 => "(..., 0)".to_string(),
        1 => "[0]".to_string(),
        2 => "[1]".to_string(),
        _ => {
            let k = (i - 2) as u32;
            let low = 1i128 << k;
            let high = 1i128 << (k + 1);
            format!("[{}, {})", size_label_wide(low), size_label_wide(high))
        }
    })
}

/// `size_label` for bounds up to 2^64, which do not fit an i64.
fn size_label_wide(n: i128) -> String {
    match i64::try_from(n) {
        Ok(n) => size_label(n),
        Err(_) => format!("{}E", n >> 60),
    }
}

/// Linear histogram rows: bucket 0 = below `min`, `i + 1` = `[min + i*step, min + (i+1)*step)`,
/// the last = at or above `max`.
pub fn lhist(min: i64, max: i64, step: i64, counts: &[u64]) -> String {
    let inner = if step > 0 {
        ((max - min) / step) as usize
    } else {
        0
    };
    bars(counts, 1, |i| {
        if i == 0 {
            format!("(..., {})", size_label(min))
        } else if i > inner {
            format!("[{}, ...)", size_label(max))
        } else {
            let low = min + (i as i64 - 1) * step;
            format!("[{}, {})", size_label(low), size_label(low + step))
        }
    })
}

/// What bpftrace prints after tracing stops: two blank lines, then every map in name order.
pub fn final_maps(maps: &[MapSnapshot]) -> String {
    let mut sorted: Vec<&MapSnapshot> = maps.iter().filter(|m| !m.entries.is_empty()).collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = String::from("\n\n");
    for m in sorted {
        out.push_str(&map(m));
    }
    out
}

/// `Attaching 1 probe...` / `Attaching 3 probes...`.
pub fn attaching(probes: usize) -> String {
    format!(
        "Attaching {probes} probe{}...\n",
        if probes == 1 { "" } else { "s" }
    )
}

/// Writes bpftrace-style text to any writer (stdout, a file).
pub struct TextSink<W: Write> {
    out: W,
    /// `-q`: no "attached" banner.
    quiet: bool,
    buffering: Buffering,
}

/// `-B`, as bpftrace's: when printf output reaches the writer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Buffering {
    /// After each batch of events (gprobe's default: few writes, little delay).
    #[default]
    Batch,
    /// After every printf.
    None,
    /// After every printf that ends a line.
    Line,
    /// When the writer's buffer fills, and at exit.
    Full,
}

impl<W: Write> TextSink<W> {
    pub fn new(out: W) -> Self {
        TextSink {
            out,
            quiet: false,
            buffering: Buffering::Batch,
        }
    }

    /// `-B none|line|full`.
    pub fn buffering(mut self, buffering: Buffering) -> Self {
        self.buffering = buffering;
        self
    }

    /// `-q`, as bpftrace's: leaves out the "attached" banner.
    pub fn quiet(mut self, quiet: bool) -> Self {
        self.quiet = quiet;
        self
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> Sink for TextSink<W> {
    fn attached(&mut self, probes: usize) -> io::Result<()> {
        if self.quiet {
            return Ok(());
        }
        self.out.write_all(attaching(probes).as_bytes())?;
        self.out.flush()
    }

    /// Buffered until the batch ends ([`Sink::flush`]), unless `-B` says otherwise.
    fn printf(&mut self, text: &str) -> io::Result<()> {
        self.out.write_all(text.as_bytes())?;
        match self.buffering {
            Buffering::None => self.out.flush(),
            Buffering::Line if text.contains('\n') => self.out.flush(),
            _ => Ok(()),
        }
    }

    fn print_map(&mut self, m: &MapSnapshot, div: u64) -> io::Result<()> {
        self.out.write_all(map_divided(m, div).as_bytes())?;
        self.out.flush()
    }

    fn time(&mut self, text: &str) -> io::Result<()> {
        self.out.write_all(text.as_bytes())?;
        self.out.flush()
    }

    fn emit(&mut self, probe: &str, _ts_ns: u64, record: &Value) -> io::Result<()> {
        writeln!(self.out, "{probe}: {}", value(record))?;
        self.out.flush()
    }

    fn finish(&mut self, maps: &[MapSnapshot]) -> io::Result<()> {
        self.out.write_all(final_maps(maps).as_bytes())?;
        self.out.flush()
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buffering == Buffering::Full {
            return Ok(());
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    //! Expected strings were captured from bpftrace 0.17 on this machine for the same values.
    use super::*;

    fn s(x: &str) -> Value {
        Value::Str(x.into())
    }

    /// Bucket counts from recorded values, indexed as in the manifest contract.
    fn hist_of(values: &[i64]) -> Vec<u64> {
        let mut counts = vec![0u64; 66];
        for &v in values {
            let i = if v < 0 {
                0
            } else if v == 0 {
                1
            } else {
                (63 - v.leading_zeros()) as usize + 2
            };
            counts[i] += 1;
        }
        counts
    }

    const FULL: &str = "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@";
    const EMPTY: &str = "                                                    ";

    // bpftrace -e 'BEGIN { @h = hist(5); @h = hist(100); @h = hist(0); @h=hist(-3); @h = hist(1);
    //   @h=hist(2); @h=hist(1500); @h=hist(1048576*3); exit(); }'
    #[test]
    fn hist_matches_bpftrace() {
        let counts = hist_of(&[5, 100, 0, -3, 1, 2, 1500, 1048576 * 3]);
        let got = map(&MapSnapshot::scalar(
            "@h",
            MapValue::Hist { counts, sum: 0 },
        ));
        let rows: &[(&str, u64)] = &[
            ("(..., 0)", 1),
            ("[0]", 1),
            ("[1]", 1),
            ("[2, 4)", 1),
            ("[4, 8)", 1),
            ("[8, 16)", 0),
            ("[16, 32)", 0),
            ("[32, 64)", 0),
            ("[64, 128)", 1),
            ("[128, 256)", 0),
            ("[256, 512)", 0),
            ("[512, 1K)", 0),
            ("[1K, 2K)", 1),
            ("[2K, 4K)", 0),
            ("[4K, 8K)", 0),
            ("[8K, 16K)", 0),
            ("[16K, 32K)", 0),
            ("[32K, 64K)", 0),
            ("[64K, 128K)", 0),
            ("[128K, 256K)", 0),
            ("[256K, 512K)", 0),
            ("[512K, 1M)", 0),
            ("[1M, 2M)", 0),
            ("[2M, 4M)", 1),
        ];
        let mut want = String::from("@h: \n");
        for (label, c) in rows {
            let bar = if *c == 1 { FULL } else { EMPTY };
            want.push_str(&format!("{label:<16}{c:>8} |{bar}|\n"));
        }
        want.push('\n');
        assert_eq!(got, want);
        // One literal row, to pin the column layout independently of the format! above.
        assert!(got.contains(
            "\n[512, 1K)              0 |                                                    |\n"
        ));
    }

    #[test]
    fn hist_bars_scale_to_the_largest_bucket() {
        // bpftrace: hist(1) x3, hist(8): `[1] 3 |@x52|`, `[8, 16) 1 |@x17 ...|`
        let got = hist(&hist_of(&[1, 1, 1, 8]));
        let want = "[1]                    3 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n\
                    [2, 4)                 0 |                                                    |\n\
                    [4, 8)                 0 |                                                    |\n\
                    [8, 16)                1 |@@@@@@@@@@@@@@@@@                                   |\n";
        assert_eq!(got, want);
    }

    // bpftrace: @l = lhist(3,0,10,2); lhist(11,..); lhist(-1,..); lhist(5,..)
    #[test]
    fn lhist_matches_bpftrace() {
        // buckets: 0 below, 1..=5 inside, 6 at/above max
        let counts = vec![1, 0, 1, 1, 0, 0, 1];
        let got = map(&MapSnapshot::scalar(
            "@l",
            MapValue::Lhist {
                min: 0,
                max: 10,
                step: 2,
                counts,
                sum: 0,
            },
        ));
        let want = format!(
            "@l: \n(..., 0)               1 |{FULL}|\n[0, 2)                 0 |{EMPTY}|\n\
             [2, 4)                 1 |{FULL}|\n[4, 6)                 1 |{FULL}|\n\
             [6, 8)                 0 |{EMPTY}|\n[8, 10)                0 |{EMPTY}|\n\
             [10, ...)              1 |{FULL}|\n\n"
        );
        assert_eq!(got, want);
    }

    // bpftrace: lhist(5000, 0, 10000, 1024); lhist(2000, ...) x2
    #[test]
    fn lhist_labels_use_size_suffixes() {
        let mut counts = vec![0u64; 11];
        counts[2] = 2; // [1K, 2K)
        counts[5] = 1; // [4K, 5K)
        let got = lhist(0, 10000, 1024, &counts);
        let want = "[1K, 2K)               2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n\
                    [2K, 3K)               0 |                                                    |\n\
                    [3K, 4K)               0 |                                                    |\n\
                    [4K, 5K)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n";
        assert_eq!(got, want);
    }

    #[test]
    fn final_output_matches_bpftrace_for_mixed_maps() {
        // The bpftrace reference (maps part of one run, see the script in the comment above
        // hist_matches_bpftrace, plus these maps):
        let maps = vec![
            MapSnapshot::scalar("@x", MapValue::Plain(Value::Int(5))),
            MapSnapshot::scalar("@str", MapValue::Plain(s("hi"))),
            MapSnapshot::scalar("@st", MapValue::Stats { sum: 13, count: 2 }),
            MapSnapshot::scalar("@s", MapValue::Sum(7)),
            MapSnapshot::scalar("@mx", MapValue::Max(9)),
            MapSnapshot::scalar("@mn", MapValue::Min(-4)),
            MapSnapshot::keyed(
                "@m2",
                vec![
                    (vec![Value::Int(1), s("a")], MapValue::Count(7)),
                    (vec![Value::Int(2), s("b")], MapValue::Count(2)),
                ],
            ),
            MapSnapshot::keyed(
                "@m",
                vec![
                    (vec![s("foo")], MapValue::Count(3)),
                    (vec![s("bar")], MapValue::Count(1)),
                ],
            ),
            MapSnapshot::keyed(
                "@hk",
                vec![
                    (
                        vec![s("y")],
                        MapValue::Hist {
                            counts: hist_of(&[10]),
                            sum: 0,
                        },
                    ),
                    (
                        vec![s("x")],
                        MapValue::Hist {
                            counts: hist_of(&[3]),
                            sum: 0,
                        },
                    ),
                ],
            ),
            MapSnapshot::scalar("@c", MapValue::Count(1)),
            MapSnapshot::scalar("@a", MapValue::Avg { sum: 11, count: 2 }),
            MapSnapshot {
                name: "@empty".into(),
                entries: vec![],
            },
        ];
        let want = format!(
            "\n\n@a: 5\n\n@c: 1\n@hk[x]: \n[2, 4)                 1 |{FULL}|\n\n\
             @hk[y]: \n[8, 16)                1 |{FULL}|\n\n\
             @m[bar]: 1\n@m[foo]: 3\n@m2[2, b]: 2\n@m2[1, a]: 7\n@mn: -4\n@mx: 9\n@s: 7\n\
             @st: count 2, average 6, total 13\n\n@str: hi\n@x: 5\n"
        );
        assert_eq!(final_maps(&maps), want);
    }

    #[test]
    fn sorting_follows_bpftrace() {
        // Equal counts keep key order: @m[a], @m[b], @m[c].
        let m = MapSnapshot::keyed(
            "@m",
            vec![
                (vec![s("b")], MapValue::Count(1)),
                (vec![s("c")], MapValue::Count(1)),
                (vec![s("a")], MapValue::Count(1)),
            ],
        );
        assert_eq!(map(&m), "@m[a]: 1\n@m[b]: 1\n@m[c]: 1\n");
        // String values sort by key: @m[1]: z, @m[2]: a, @m[3]: x.
        let m = MapSnapshot::keyed(
            "@m",
            vec![
                (vec![Value::Int(3)], MapValue::Plain(s("x"))),
                (vec![Value::Int(1)], MapValue::Plain(s("z"))),
                (vec![Value::Int(2)], MapValue::Plain(s("a"))),
            ],
        );
        assert_eq!(map(&m), "@m[1]: z\n@m[2]: a\n@m[3]: x\n");
        // Histograms sort by total count; a blank line after each.
        let m = MapSnapshot::keyed(
            "@h",
            vec![
                (
                    vec![Value::Int(1)],
                    MapValue::Hist {
                        counts: hist_of(&[3, 3]),
                        sum: 0,
                    },
                ),
                (
                    vec![Value::Int(2)],
                    MapValue::Hist {
                        counts: hist_of(&[100]),
                        sum: 0,
                    },
                ),
            ],
        );
        assert_eq!(
            map(&m),
            format!(
                "@h[2]: \n[64, 128)              1 |{FULL}|\n\n@h[1]: \n[2, 4)                 2 |{FULL}|\n\n"
            )
        );
        // Averages by value, one blank line after the map.
        let m = MapSnapshot::keyed(
            "@a",
            vec![
                (vec![Value::Int(1)], MapValue::Avg { sum: 10, count: 1 }),
                (vec![Value::Int(2)], MapValue::Avg { sum: 2, count: 1 }),
            ],
        );
        assert_eq!(map(&m), "@a[2]: 2\n@a[1]: 10\n\n");
    }

    #[test]
    fn small_things() {
        assert_eq!(attaching(1), "Attaching 1 probe...\n");
        assert_eq!(attaching(2), "Attaching 2 probes...\n");
        assert_eq!(final_maps(&[]), "\n\n");
        assert_eq!(
            map_value(&MapValue::Stats { sum: -7, count: 1 }),
            "count 1, average -7, total -7"
        );
        assert_eq!(value(&Value::Tuple(vec![Value::Int(1), s("a")])), "(1, a)");
        assert_eq!(buf(b"ab\x00\xff"), "ab\\x00\\xff");
        assert_eq!(size_label(3072), "3K");
        assert_eq!(size_label(1536), "1536");
        assert_eq!(size_label(-1024), "-1K");
        assert_eq!(entry_name("@", &[]), "@");
    }
}
