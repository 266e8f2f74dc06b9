//! Raw bytes → [`crate::value`] types: fields by the manifest's [`Layout`]s, per-CPU copies
//! merged, histogram buckets gathered, stack ids and addresses symbolized. Pure: the kernel
//! reads happen elsewhere and arrive here as [`RawEntry`]s.

use crate::stack::Stack;
use crate::value::{MapEntry, MapSnapshot, MapValue, Value};
use gprobe_compiler::manifest::{self, FieldKind, Layout, MapSpec};
use gprobe_compiler::types::{AggKind, Render, StackKind};

/// Turns stack ids and addresses into text; the session provides one backed by the stack map,
/// the target's ELF symbols and /proc/kallsyms.
pub trait Resolve {
    /// Frames of stack `id` (innermost first), at most `limit`.
    fn stack(&self, kind: StackKind, id: i64, limit: u8) -> Stack;
    /// An address as `symbol+offset`, or hex when unknown.
    fn symbol(&self, user: bool, addr: u64) -> String;
    /// Frames of a Go user stack given by its addresses (innermost first), as `stack` prints
    /// a Go stack's; hex where unknown.
    fn go_frames(&self, addrs: Vec<u64>) -> Vec<String> {
        addrs.iter().map(|a| format!("0x{a:x}")).collect()
    }
    /// A code address of the traced Go program as `function+offset` (pclntab), or hex.
    fn go_pc(&self, addr: u64) -> String {
        format!("0x{addr:x}")
    }
    /// A kernel time (ns, the clock of `nsecs`) as ns since the Unix epoch. Without a session
    /// clock, times are taken as Unix times already.
    fn unix_ns(&self, ktime_ns: u64) -> u64 {
        ktime_ns
    }
    /// The name of the probe whose [`gprobe_compiler::manifest::probe_id`] is `id`.
    fn probe_name(&self, id: u64) -> String {
        format!("probe#{id}")
    }
    /// `cgroup_path(id, filter)`, `filter` indexing the manifest's `cgroup_filters`. Without
    /// the manifest's filters every hierarchy is shown.
    fn cgroup_path(&self, id: u64, _filter: Option<u32>) -> String {
        crate::cgroup::paths(id, None)
    }
}

/// Resolves nothing: stacks are empty, addresses print as hex. For tests and for sinks that
/// want raw values.
pub struct NoResolve;

impl Resolve for NoResolve {
    fn stack(&self, _: StackKind, _: i64, _: u8) -> Stack {
        Stack::default()
    }
    fn symbol(&self, _: bool, addr: u64) -> String {
        format!("0x{addr:x}")
    }
}

/// One map entry as read from the kernel: the key and one value per CPU (one in all for maps
/// that are not per-CPU).
#[derive(Clone, Debug, PartialEq)]
pub struct RawEntry {
    pub key: Vec<u8>,
    pub values: Vec<Vec<u8>>,
}

fn bytes_at(bytes: &[u8], offset: usize, len: usize) -> &[u8] {
    let start = offset.min(bytes.len());
    let end = offset.saturating_add(len).min(bytes.len());
    &bytes[start..end]
}

/// A little-endian integer of `size` bytes (missing bytes read as zero).
pub fn read_uint(bytes: &[u8], offset: usize, size: usize) -> u64 {
    let mut buf = [0u8; 8];
    let src = bytes_at(bytes, offset, size.min(8));
    buf[..src.len()].copy_from_slice(src);
    u64::from_le_bytes(buf)
}

pub fn read_int(bytes: &[u8], offset: usize, size: usize) -> i64 {
    let raw = read_uint(bytes, offset, size);
    let bits = (size.clamp(1, 8) * 8) as u32;
    if bits == 64 {
        raw as i64
    } else {
        ((raw << (64 - bits)) as i64) >> (64 - bits)
    }
}

/// NUL-terminated (or full-length) bytes as text, invalid UTF-8 replaced.
pub fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// One field's value from `bytes` (the whole record the field's offset refers to).
pub fn field(kind: &FieldKind, bytes: &[u8], offset: usize, resolve: &dyn Resolve) -> Value {
    match kind {
        FieldKind::Int { size, signed: true } => {
            Value::Int(read_int(bytes, offset, *size as usize))
        }
        FieldKind::Int {
            size,
            signed: false,
        } => Value::Uint(read_uint(bytes, offset, *size as usize)),
        FieldKind::Str { size } => Value::Str(c_string(bytes_at(bytes, offset, *size as usize))),
        FieldKind::SqlText { size } => Value::Str(crate::sqlnorm::normalize(&c_string(bytes_at(
            bytes,
            offset,
            *size as usize,
        )))),
        FieldKind::Buf { size } => {
            let used = (read_uint(bytes, offset, 1) as usize).min(*size as usize);
            Value::Buf(bytes_at(bytes, offset + 1, used).to_vec())
        }
        FieldKind::Stack { kind, limit } => {
            Value::Stack(resolve.stack(*kind, read_int(bytes, offset, 8), *limit))
        }
        FieldKind::Sym { user } => Value::Sym(resolve.symbol(*user, read_uint(bytes, offset, 8))),
        FieldKind::GoPc => Value::Sym(resolve.go_pc(read_uint(bytes, offset, 8))),
        FieldKind::GoCaller => {
            let frames = gprobe_compiler::types::GOCALLER_FRAMES as usize;
            let addrs: Vec<u64> = bytes_at(bytes, offset, 8 * frames)
                .chunks_exact(8)
                .map(|c| read_uint(c, 0, 8))
                .take_while(|&a| a != 0)
                .collect();
            Value::Sym(crate::symbolize::user_caller(&resolve.go_frames(addrs)))
        }
        FieldKind::Coded(code) => Value::Sym(code.format(read_int(bytes, offset, 8))),
        FieldKind::Inet => {
            let family = read_uint(bytes, offset, 8);
            Value::Str(crate::render::inet(family, bytes_at(bytes, offset + 8, 16)))
        }
        FieldKind::Rendered(Render::Probe) => {
            Value::Str(resolve.probe_name(read_uint(bytes, offset, 8)))
        }
        FieldKind::Rendered(Render::CgroupPath { filter }) => {
            Value::Str(resolve.cgroup_path(read_uint(bytes, offset, 8), *filter))
        }
        FieldKind::Rendered(render) => {
            Value::Str(crate::render::render(*render, read_uint(bytes, offset, 8)))
        }
        FieldKind::Timestamp { format } => {
            let unix_ns = resolve.unix_ns(read_uint(bytes, offset, 8));
            Value::Str(crate::timefmt::format_unix_ns(format, unix_ns))
        }
        FieldKind::Bytes { len, signed } => Value::Array(
            bytes_at(bytes, offset, *len as usize)
                .iter()
                .map(|&b| {
                    if *signed {
                        Value::Int(i64::from(b as i8))
                    } else {
                        Value::Uint(u64::from(b))
                    }
                })
                .collect(),
        ),
        FieldKind::CStruct { size, fields } => {
            Value::Record(c_struct(fields, bytes_at(bytes, offset, *size as usize), 0))
        }
        FieldKind::CArray { size, kind } => {
            c_value(kind, bytes_at(bytes, offset, *size as usize), 0)
        }
        FieldKind::Tuple(inner) => {
            let sub = bytes_at(bytes, offset, inner.size as usize);
            Value::Tuple(fields(inner, sub, resolve))
        }
    }
}

/// A C struct's members from its bytes (`base`: where the struct starts in them), as bpftrace
/// prints a struct's.
fn c_struct(fields: &[manifest::CField], bytes: &[u8], base: usize) -> Vec<(String, Value)> {
    fields
        .iter()
        .map(|f| {
            (
                f.name.clone(),
                c_value(&f.kind, bytes, base + f.offset as usize),
            )
        })
        .collect()
}

fn c_value(kind: &manifest::CKind, bytes: &[u8], at: usize) -> Value {
    use manifest::CKind;
    match kind {
        CKind::Int { size, signed: true } => Value::Int(read_int(bytes, at, *size as usize)),
        CKind::Int { size, .. } => Value::Uint(read_uint(bytes, at, *size as usize)),
        // A number, as bpftrace 0.17 prints a pointer member.
        CKind::Ptr => Value::Uint(read_uint(bytes, at, 8)),
        CKind::Str { len } => Value::Str(c_string(bytes_at(bytes, at, *len as usize))),
        CKind::Array { elem, stride, len } => Value::Array(
            (0..*len as usize)
                .map(|i| c_value(elem, bytes, at + i * *stride as usize))
                .collect(),
        ),
        CKind::BitField {
            size,
            shift,
            bits,
            signed,
        } => {
            let raw = read_uint(bytes, at, *size as usize) >> shift;
            let bits = u32::from(*bits).clamp(1, 64);
            let up = 64 - bits;
            if *signed {
                Value::Int(((raw << up) as i64) >> up)
            } else {
                Value::Uint((raw << up) >> up)
            }
        }
        CKind::Struct(fields) => Value::Record(c_struct(fields, bytes, at)),
    }
}

/// Every field of `layout`, in order.
pub fn fields(layout: &Layout, bytes: &[u8], resolve: &dyn Resolve) -> Vec<Value> {
    layout
        .fields
        .iter()
        .map(|f| field(&f.kind, bytes, f.offset as usize, resolve))
        .collect()
}

/// A record (`emit`): named fields become a `Record`, one unnamed field its value, several a
/// `Tuple`.
pub fn record(layout: &Layout, bytes: &[u8], resolve: &dyn Resolve) -> Value {
    if layout.fields.iter().all(|f| f.name.is_some()) && !layout.fields.is_empty() {
        Value::Record(
            layout
                .fields
                .iter()
                .map(|f| {
                    (
                        f.name.clone().unwrap_or_default(),
                        field(&f.kind, bytes, f.offset as usize, resolve),
                    )
                })
                .collect(),
        )
    } else {
        let mut values = fields(layout, bytes, resolve);
        if values.len() == 1 {
            values.pop().unwrap_or(Value::Int(0))
        } else {
            Value::Tuple(values)
        }
    }
}

/// A plain map value: its single field, or a tuple of several.
fn plain(layout: &Layout, bytes: &[u8], resolve: &dyn Resolve) -> Value {
    let mut values = fields(layout, bytes, resolve);
    if values.len() == 1 {
        values.pop().unwrap_or(Value::Int(0))
    } else {
        Value::Tuple(values)
    }
}

/// Merges every CPU's copy of an aggregation value.
pub fn merge_agg(kind: AggKind, per_cpu: &[Vec<u8>]) -> MapValue {
    let pairs = || {
        per_cpu
            .iter()
            .map(|v| (read_int(v, 0, 8), read_uint(v, 8, 8)))
    };
    match kind {
        AggKind::Count => MapValue::Count(
            per_cpu
                .iter()
                .map(|v| read_uint(v, 0, 8))
                .fold(0, u64::wrapping_add),
        ),
        AggKind::Sum => MapValue::Sum(
            per_cpu
                .iter()
                .map(|v| read_int(v, 0, 8))
                .fold(0, i64::wrapping_add),
        ),
        AggKind::Avg | AggKind::Stats => {
            let (sum, count) = pairs().fold((0i64, 0u64), |(s, c), (v, n)| {
                (s.wrapping_add(v), c.wrapping_add(n))
            });
            if matches!(kind, AggKind::Avg) {
                MapValue::Avg { sum, count }
            } else {
                MapValue::Stats { sum, count }
            }
        }
        AggKind::Min => MapValue::Min(
            pairs()
                .filter(|&(_, set)| set != 0)
                .map(|(v, _)| v)
                .min()
                .unwrap_or(0),
        ),
        AggKind::Max => MapValue::Max(
            pairs()
                .filter(|&(_, set)| set != 0)
                .map(|(v, _)| v)
                .max()
                .unwrap_or(0),
        ),
        // Histograms are merged per bucket in `snapshot`; a lone bucket count is summed here.
        AggKind::Hist | AggKind::Lhist { .. } => MapValue::Count(
            per_cpu
                .iter()
                .map(|v| read_uint(v, 0, 8))
                .fold(0, u64::wrapping_add),
        ),
    }
}

/// A whole user map, decoded and merged. Histogram maps carry the bucket index as the key's
/// trailing u64: entries with the same leading key bytes become one `Hist`/`Lhist` value.
pub fn snapshot(spec: &MapSpec, raw: &[RawEntry], resolve: &dyn Resolve) -> MapSnapshot {
    let name = spec.user_name.clone().unwrap_or_else(|| spec.name.clone());
    let mut entries = Vec::new();
    match &spec.value {
        manifest::MapValue::Plain(layout) => {
            for e in raw {
                let Some(v) = e.values.first() else { continue };
                entries.push(MapEntry {
                    key: fields(&spec.key, &e.key, resolve),
                    value: MapValue::Plain(plain(layout, v, resolve)),
                });
            }
        }
        manifest::MapValue::Agg(kind @ (AggKind::Hist | AggKind::Lhist { .. })) => {
            // Group by the key without its bucket index, keeping first-seen order. Each bucket
            // value is (count, sum of the values counted), per CPU.
            let mut groups: Vec<(Vec<u8>, Vec<u64>, i64)> = Vec::new();
            for e in raw {
                let split = e.key.len().saturating_sub(8);
                let (user_key, bucket) = e.key.split_at(split);
                let bucket = read_uint(bucket, 0, 8) as usize;
                let count: u64 = e
                    .values
                    .iter()
                    .map(|v| read_uint(v, 0, 8))
                    .fold(0, u64::wrapping_add);
                let sum: i64 = e
                    .values
                    .iter()
                    .map(|v| read_int(v, 8, 8))
                    .fold(0, i64::wrapping_add);
                if bucket > 4096 {
                    continue; // not a bucket index gprobe writes; ignore rather than allocate
                }
                let slot = match groups.iter().position(|(k, _, _)| k == user_key) {
                    Some(i) => i,
                    None => {
                        groups.push((user_key.to_vec(), Vec::new(), 0));
                        groups.len() - 1
                    }
                };
                groups[slot].2 = groups[slot].2.wrapping_add(sum);
                let counts = &mut groups[slot].1;
                if counts.len() <= bucket {
                    counts.resize(bucket + 1, 0);
                }
                counts[bucket] = counts[bucket].wrapping_add(count);
            }
            for (key, counts, sum) in groups {
                let value = match kind {
                    AggKind::Lhist { min, max, step } => MapValue::Lhist {
                        min: *min,
                        max: *max,
                        step: *step,
                        counts,
                        sum,
                    },
                    _ => MapValue::Hist { counts, sum },
                };
                entries.push(MapEntry {
                    key: fields(&spec.key, &key, resolve),
                    value,
                });
            }
        }
        manifest::MapValue::Agg(kind) => {
            for e in raw {
                let value = merge_agg(*kind, &e.values);
                // A min/max no CPU ever set is not a value yet.
                if matches!(kind, AggKind::Min | AggKind::Max)
                    && !e.values.iter().any(|v| read_uint(v, 8, 8) != 0)
                {
                    continue;
                }
                entries.push(MapEntry {
                    key: fields(&spec.key, &e.key, resolve),
                    value,
                });
            }
            // bpftrace: a keyless count() prints `@x: 0` when cleared, zeroed or never hit.
            if *kind == AggKind::Count && spec.key.fields.is_empty() && entries.is_empty() {
                entries.push(MapEntry {
                    key: Vec::new(),
                    value: MapValue::Count(0),
                });
            }
        }
    }
    if spec.key.fields.iter().any(|f| folds(&f.kind)) {
        entries = merge_equal_keys(entries);
    }
    MapSnapshot { name, entries }
}

/// Whether keys holding this field can differ in the kernel yet print the same (`sqlnorm`).
fn folds(kind: &FieldKind) -> bool {
    match kind {
        FieldKind::SqlText { .. } => true,
        FieldKind::Tuple(layout) => layout.fields.iter().any(|f| folds(&f.kind)),
        _ => false,
    }
}

/// Entries whose decoded keys are equal as one entry, their aggregations combined (in
/// first-seen order): `sqlnorm` keys of statements that differ only in their literals.
fn merge_equal_keys(entries: Vec<MapEntry>) -> Vec<MapEntry> {
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut merged: Vec<MapEntry> = Vec::with_capacity(entries.len());
    for e in entries {
        let id = format!("{:?}", e.key);
        match index.get(&id) {
            Some(&i) => merge_value(&mut merged[i].value, e.value),
            None => {
                index.insert(id, merged.len());
                merged.push(e);
            }
        }
    }
    merged
}

fn merge_value(into: &mut MapValue, from: MapValue) {
    fn add_buckets(into: &mut Vec<u64>, from: Vec<u64>) {
        if into.len() < from.len() {
            into.resize(from.len(), 0);
        }
        for (a, b) in into.iter_mut().zip(from) {
            *a = a.wrapping_add(b);
        }
    }
    match (into, from) {
        (MapValue::Count(a), MapValue::Count(b)) => *a = a.wrapping_add(b),
        (MapValue::Sum(a), MapValue::Sum(b)) => *a = a.wrapping_add(b),
        (MapValue::Min(a), MapValue::Min(b)) => *a = (*a).min(b),
        (MapValue::Max(a), MapValue::Max(b)) => *a = (*a).max(b),
        (MapValue::Avg { sum, count }, MapValue::Avg { sum: s, count: c })
        | (MapValue::Stats { sum, count }, MapValue::Stats { sum: s, count: c }) => {
            *sum = sum.wrapping_add(s);
            *count = count.wrapping_add(c);
        }
        (MapValue::Hist { counts, sum }, MapValue::Hist { counts: c, sum: s })
        | (
            MapValue::Lhist { counts, sum, .. },
            MapValue::Lhist {
                counts: c, sum: s, ..
            },
        ) => {
            add_buckets(counts, c);
            *sum = sum.wrapping_add(s);
        }
        // A plain value is the last one written; of several, one is kept.
        _ => {}
    }
}

/// Splits a per-CPU value buffer as the kernel returns it (each CPU's copy rounded up to 8
/// bytes) into one buffer per CPU.
pub fn split_per_cpu(buf: &[u8], value_size: usize, cpus: usize) -> Vec<Vec<u8>> {
    let stride = value_size.div_ceil(8) * 8;
    (0..cpus)
        .map(|i| bytes_at(buf, i * stride, value_size).to_vec())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use gprobe_compiler::manifest::{LayoutField, MapKind, MapRole};

    fn int_field(offset: u32, size: u8, signed: bool) -> LayoutField {
        LayoutField {
            name: None,
            offset,
            kind: FieldKind::Int { size, signed },
        }
    }

    fn spec(key: Layout, value: manifest::MapValue) -> MapSpec {
        MapSpec {
            name: "m0".into(),
            user_name: Some("@m".into()),
            role: MapRole::User,
            kind: MapKind::PerCpuHash,
            key,
            value,
            max_entries: 16,
        }
    }

    fn le(v: i64) -> Vec<u8> {
        v.to_le_bytes().to_vec()
    }

    fn pair(a: i64, b: u64) -> Vec<u8> {
        let mut v = le(a);
        v.extend_from_slice(&b.to_le_bytes());
        v
    }

    #[test]
    fn sqlnorm_keys_that_print_the_same_are_one_entry() {
        let key = Layout {
            size: 40,
            fields: vec![LayoutField {
                name: None,
                offset: 0,
                kind: FieldKind::SqlText { size: 40 },
            }],
        };
        let text = |s: &str| {
            let mut b = s.as_bytes().to_vec();
            b.resize(40, 0);
            b
        };
        let raw = [
            RawEntry {
                key: text("SELECT a FROM t WHERE id = 7"),
                values: vec![le(2), le(1)],
            },
            RawEntry {
                key: text("SELECT b FROM t"),
                values: vec![le(5)],
            },
            RawEntry {
                key: text("SELECT a FROM t WHERE id =  8"),
                values: vec![le(4)],
            },
        ];
        let snap = snapshot(
            &spec(key, manifest::MapValue::Agg(AggKind::Count)),
            &raw,
            &NoResolve,
        );
        assert_eq!(
            snap.entries,
            vec![
                MapEntry {
                    key: vec![Value::Str("SELECT a FROM t WHERE id = ?".into())],
                    value: MapValue::Count(7),
                },
                MapEntry {
                    key: vec![Value::Str("SELECT b FROM t".into())],
                    value: MapValue::Count(5),
                },
            ]
        );
    }

    #[test]
    fn ints_strings_and_tuples() {
        let layout = Layout {
            size: 24,
            fields: vec![
                int_field(0, 4, true),
                LayoutField {
                    name: None,
                    offset: 4,
                    kind: FieldKind::Str { size: 8 },
                },
                LayoutField {
                    name: None,
                    offset: 12,
                    kind: FieldKind::Tuple(Layout {
                        size: 4,
                        fields: vec![int_field(0, 2, false), int_field(2, 2, true)],
                    }),
                },
            ],
        };
        let mut bytes = (-5i32).to_le_bytes().to_vec();
        bytes.extend_from_slice(b"go\0junk!");
        bytes.extend_from_slice(&7u16.to_le_bytes());
        bytes.extend_from_slice(&(-1i16).to_le_bytes());
        assert_eq!(
            fields(&layout, &bytes, &NoResolve),
            vec![
                Value::Int(-5),
                Value::Str("go".into()),
                Value::Tuple(vec![Value::Uint(7), Value::Int(-1)])
            ]
        );
    }

    #[test]
    fn per_cpu_aggregations_merge() {
        assert_eq!(
            merge_agg(AggKind::Count, &[le(2), le(3)]),
            MapValue::Count(5)
        );
        assert_eq!(merge_agg(AggKind::Sum, &[le(-2), le(3)]), MapValue::Sum(1));
        assert_eq!(
            merge_agg(AggKind::Avg, &[pair(10, 1), pair(20, 2)]),
            MapValue::Avg { sum: 30, count: 3 }
        );
        assert_eq!(
            merge_agg(AggKind::Min, &[pair(-9, 0), pair(4, 1), pair(2, 1)]),
            MapValue::Min(2)
        );
        assert_eq!(
            merge_agg(AggKind::Max, &[pair(99, 0), pair(4, 1), pair(2, 1)]),
            MapValue::Max(4)
        );
    }

    #[test]
    fn hist_buckets_gather_by_key() {
        let key = Layout {
            size: 8,
            fields: vec![int_field(0, 8, false)],
        };
        let s = spec(key, manifest::MapValue::Agg(AggKind::Hist));
        let raw_key = |k: u64, bucket: u64| {
            let mut v = k.to_le_bytes().to_vec();
            v.extend_from_slice(&bucket.to_le_bytes());
            v
        };
        // Per CPU (count, sum of the values counted).
        let raw = vec![
            RawEntry {
                key: raw_key(1, 4),
                values: vec![pair(1, 20), pair(2, 50)],
            },
            RawEntry {
                key: raw_key(2, 1),
                values: vec![pair(1, 0), pair(0, 0)],
            },
            RawEntry {
                key: raw_key(1, 2),
                values: vec![pair(0, 0), pair(5, 14)],
            },
        ];
        let snap = snapshot(&s, &raw, &NoResolve);
        assert_eq!(snap.name, "@m");
        assert_eq!(
            snap.entries,
            vec![
                MapEntry {
                    key: vec![Value::Uint(1)],
                    value: MapValue::Hist {
                        counts: vec![0, 0, 5, 0, 3],
                        sum: 84
                    }
                },
                MapEntry {
                    key: vec![Value::Uint(2)],
                    value: MapValue::Hist {
                        counts: vec![0, 1],
                        sum: 0
                    }
                },
            ]
        );
    }

    #[test]
    fn scalar_map_and_unset_min() {
        let s = spec(Layout::default(), manifest::MapValue::Agg(AggKind::Min));
        let raw = vec![RawEntry {
            key: vec![0; 4],
            values: vec![pair(0, 0), pair(0, 0)],
        }];
        assert!(snapshot(&s, &raw, &NoResolve).entries.is_empty());
        let s = spec(Layout::default(), manifest::MapValue::Agg(AggKind::Count));
        let raw = vec![RawEntry {
            key: vec![0; 4],
            values: vec![le(1), le(2)],
        }];
        assert_eq!(
            snapshot(&s, &raw, &NoResolve).entries,
            vec![MapEntry {
                key: vec![],
                value: MapValue::Count(3)
            }]
        );
    }

    #[test]
    fn per_cpu_split_rounds_to_eight() {
        let buf: Vec<u8> = (0..24).collect();
        assert_eq!(
            split_per_cpu(&buf, 4, 3),
            vec![vec![0, 1, 2, 3], vec![8, 9, 10, 11], vec![16, 17, 18, 19]]
        );
    }
}
