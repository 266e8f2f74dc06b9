//! Decoded values: what the runtime reads out of maps and ring-buffer events, after per-CPU
//! merging and symbolization, before any output sink formats it. Sinks (text, JSON, OTLP,
//! Prometheus, flame graphs) only ever see these types, never raw bytes.

/// One decoded key part, map value or printf argument.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Int(i64),
    Uint(u64),
    Str(String),
    /// Raw bytes from `buf()`.
    Buf(Vec<u8>),
    /// A symbolized stack, innermost frame first (one line per frame as it should print;
    /// addresses too when a profile output asked for them).
    Stack(crate::stack::Stack),
    /// A symbolized address (`usym`, `ksym`).
    Sym(String),
    Tuple(Vec<Value>),
    /// A fixed-size array (`pton`'s bytes), printed `[1,2,3,4]` as bpftrace does.
    Array(Vec<Value>),
    Record(Vec<(String, Value)>),
}

/// A map read in full at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct MapSnapshot {
    /// As the user wrote it: `@lat`, or `@` for the bare map.
    pub name: String,
    /// Empty `key` for a scalar map (`@x = count()`).
    pub entries: Vec<MapEntry>,
}

impl MapSnapshot {
    /// A keyless map (`@x = count()`) holding `value`.
    pub fn scalar(name: &str, value: MapValue) -> MapSnapshot {
        MapSnapshot::keyed(name, vec![(vec![], value)])
    }

    /// A map with these (key, value) entries, in order.
    pub fn keyed(name: &str, entries: Vec<(Vec<Value>, MapValue)>) -> MapSnapshot {
        MapSnapshot {
            name: name.into(),
            entries: entries
                .into_iter()
                .map(|(key, value)| MapEntry { key, value })
                .collect(),
        }
    }

    /// Keeps the `top` entries printed last (the largest values), as `print(@m, top)`;
    /// 0 keeps all.
    pub fn keep_top(&mut self, top: u64) {
        let top = top as usize;
        if top == 0 || self.entries.len() <= top {
            return;
        }
        let sorted = crate::output::text::sorted_entries(&self.entries);
        let keep: Vec<MapEntry> = sorted[sorted.len() - top..]
            .iter()
            .map(|e| (*e).clone())
            .collect();
        self.entries = keep;
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct MapEntry {
    pub key: Vec<Value>,
    pub value: MapValue,
}

/// A map value after merging every CPU's copy.
#[derive(Clone, Debug, PartialEq)]
pub enum MapValue {
    Plain(Value),
    Count(u64),
    Sum(i64),
    Avg {
        sum: i64,
        count: u64,
    },
    Min(i64),
    Max(i64),
    Stats {
        sum: i64,
        count: u64,
    },
    /// log2 buckets, indexed as in bpftrace: 0 holds negatives, 1 holds 0, `k + 2` holds
    /// `2^k ..= 2^(k+1) - 1`. `counts[i]` is bucket i (trailing zero buckets may be absent);
    /// `sum` is the sum of every value counted (for exporters; bpftrace's text omits it).
    Hist {
        counts: Vec<u64>,
        sum: i64,
    },
    /// Linear buckets: 0 holds `< min`, `i + 1` holds `min + i*step .. min + (i+1)*step`, the last
    /// (`(max - min) / step + 1`) holds `>= max`.
    Lhist {
        min: i64,
        max: i64,
        step: i64,
        counts: Vec<u64>,
        /// The sum of every value counted.
        sum: i64,
    },
}

impl Value {
    /// `print(@m, top, div)` of a plain value: integers divided (tuple members too, as
    /// bpftrace's `(1, 2)` / 2 prints `(0, 1)`), everything else as it is.
    pub fn divided(&self, div: u64) -> Value {
        match self {
            Value::Int(i) => Value::Int(i / div as i64),
            Value::Uint(u) => Value::Uint(u / div),
            Value::Tuple(items) => Value::Tuple(items.iter().map(|v| v.divided(div)).collect()),
            Value::Record(fields) => Value::Record(
                fields
                    .iter()
                    .map(|(n, v)| (n.clone(), v.divided(div)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

impl MapValue {
    /// The value `print(@m, top, div)` shows, divided by `div` (at least 1) as bpftrace 0.17
    /// does: a count, sum, min, max or average (histograms: see the text and JSON outputs).
    pub fn divided(&self, div: u64) -> MapValue {
        let d = div as i64;
        match self {
            MapValue::Plain(v) => MapValue::Plain(v.divided(div)),
            MapValue::Count(n) => MapValue::Count(n / div),
            MapValue::Sum(n) => MapValue::Sum(n / d),
            MapValue::Min(n) => MapValue::Min(n / d),
            MapValue::Max(n) => MapValue::Max(n / d),
            // bpftrace divides the average itself, so one sample of that value.
            MapValue::Avg { sum, count } => MapValue::Avg {
                sum: crate::output::text::average(*sum, *count) / d,
                count: 1,
            },
            // bpftrace 0.17 divides neither stats() (with a warning) nor lhist; a hist's counts
            // are divided where printed, over the undivided buckets' range and bars.
            MapValue::Stats { .. } | MapValue::Lhist { .. } | MapValue::Hist { .. } => self.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_top_keeps_the_largest_values() {
        let entry = |k: u64, n: u64| MapEntry {
            key: vec![Value::Uint(k)],
            value: MapValue::Count(n),
        };
        let mut m = MapSnapshot {
            name: "@a".into(),
            entries: vec![entry(1, 5), entry(2, 9), entry(3, 1), entry(4, 7)],
        };
        m.keep_top(0);
        assert_eq!(m.entries.len(), 4);
        m.keep_top(2);
        assert_eq!(m.entries, vec![entry(4, 7), entry(2, 9)]);
    }
}
