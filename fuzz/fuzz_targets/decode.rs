//! The runtime's decoders on arbitrary bytes: ring-buffer records and map entries decoded by the
//! layouts real compiled programs produce (and by layouts built from the input), printf
//! formatting with arbitrary format strings, and the text rendering of every decoded map.
//! Kernel bytes are trusted in shape only; nothing here may panic or allocate without bound.
#![no_main]

use gprobe_compiler::CompileOptions;
use gprobe_compiler::manifest::{FieldKind, Layout, LayoutField, Manifest, MapRole};
use gprobe_compiler::types::StackKind;
use gprobe_runtime::decode::{self, RawEntry, Resolve};
use gprobe_runtime::output::text;
use gprobe_runtime::printf;
use gprobe_runtime::value::Value;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

#[path = "../../compiler/tests/support/case_env.rs"]
mod case_env;

/// Programs covering every field kind and aggregation the decoder knows.
const PROGRAMS: &[&str] = &[
    r#"tracepoint:syscalls:sys_enter_openat {
        printf("%s %d %u %x %-8s|%5d|%c %p %lld %%\n", comm, pid, tid, args.flags, str(args.filename), cpu, 65, 0, nsecs);
        @opens[comm, pid] = count(); @bytes[str(args.filename)] = sum(args.flags);
        @lat = hist(nsecs); @l[cpu] = lhist(args.mode, 0, 100, 10);
        @a = avg(args.dfd); @s = stats(args.dfd); @mn = min(args.dfd); @mx = max(args.dfd);
        @last[tid] = (comm, nsecs, (pid, "x")); @b = buf(args.filename, 16);
    }"#,
    r#"profile:hz:99 { @stacks[ustack, kstack(3)] = count(); @u[usym(0)] = count(); @k[ksym(0)] = count(); }"#,
    r#"uprobe:./srv:main.work { printf("%d %s\n", args.id, args.name); @w[args.name] = count(); emit((id = args.id, name = args.name, at = nsecs)); }"#,
    r#"BEGIN { time("%H:%M:%S\n"); @x = 1; print(@x); clear(@x); zero(@x); exit(); }"#,
];

struct Programs {
    manifests: Vec<Manifest>,
}

fn programs() -> &'static Programs {
    static PROGRAMS_ONCE: OnceLock<Programs> = OnceLock::new();
    PROGRAMS_ONCE.get_or_init(|| {
        let manifests = PROGRAMS
            .iter()
            .filter_map(|source| {
                gprobe_compiler::compile(source, &case_env::CaseEnv, &CompileOptions::default())
                    .ok()
                    .map(|out| out.manifest)
            })
            .collect::<Vec<_>>();
        assert!(!manifests.is_empty(), "the decoder seed programs compile");
        Programs { manifests }
    })
}

/// Stacks resolve to a few frames so that stack rendering is exercised too.
struct FakeResolve;

impl Resolve for FakeResolve {
    fn stack(&self, _: StackKind, id: i64, limit: u8) -> gprobe_runtime::stack::Stack {
        let n = (id.unsigned_abs() % 5) as usize;
        (0..n.min(limit.max(1) as usize))
            .map(|i| format!("f{i}+{id}"))
            .collect()
    }
    fn symbol(&self, _: bool, addr: u64) -> String {
        format!("sym_{addr:x}")
    }
}

/// A small input-driven byte reader.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        *first
    }
    fn take(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head.to_vec()
    }
}

/// A layout built from the input: nested at most `depth` deep, offsets and sizes anywhere
/// (the decoder must clamp them itself).
fn layout(input: &mut Bytes, depth: u32) -> Layout {
    let count = input.byte() % 5;
    let mut fields = Vec::new();
    for _ in 0..count {
        let offset = u32::from(input.byte()) * 3;
        let kind = match input.byte() % 7 {
            0 => FieldKind::Int {
                size: input.byte() % 10,
                signed: input.byte() & 1 == 1,
            },
            1 => FieldKind::Str {
                size: u32::from(input.byte()) * 17,
            },
            2 => FieldKind::Buf {
                size: u32::from(input.byte()),
            },
            3 => FieldKind::Stack {
                kind: StackKind::User,
                limit: input.byte(),
            },
            4 => FieldKind::Sym {
                user: input.byte() & 1 == 1,
            },
            5 if depth > 0 => FieldKind::Tuple(layout(input, depth - 1)),
            _ => FieldKind::Int {
                size: 8,
                signed: false,
            },
        };
        let name = (input.byte() & 1 == 1).then(|| format!("f{offset}"));
        fields.push(LayoutField { name, offset, kind });
    }
    Layout {
        size: u32::from(input.byte()) * 4,
        fields,
    }
}

fn render(values: &[Value]) -> String {
    values.iter().map(text::value).collect::<Vec<_>>().join(",")
}

fn handle_record(manifest: &Manifest, record: &[u8]) {
    use gprobe_compiler::manifest::EventSpec;
    if manifest.events.is_empty() {
        return;
    }
    let id = decode::read_uint(record, 0, 8) as usize % manifest.events.len();
    let payload = record.get(8..).unwrap_or(&[]);
    match &manifest.events[id] {
        EventSpec::Printf { format, args, .. } => {
            let values = decode::fields(args, payload, &FakeResolve);
            let _ = printf::format(format, &values);
        }
        EventSpec::Emit { record, .. } => {
            let _ = text::value(&decode::record(record, payload, &FakeResolve));
        }
        _ => {}
    }
}

fn map_entries(manifest: &Manifest, input: &mut Bytes) {
    let user: Vec<_> = manifest
        .maps
        .iter()
        .filter(|m| m.role == MapRole::User)
        .collect();
    if user.is_empty() {
        return;
    }
    let spec = user[input.byte() as usize % user.len()];
    let copies = 1 + (input.byte() % 3) as usize;
    let key_size = spec.key.size as usize + if input.byte() & 1 == 1 { 8 } else { 0 };
    let value_size = spec.value.size() as usize;
    let mut raw = Vec::new();
    while !input.0.is_empty() && raw.len() < 64 {
        let key = input.take(key_size);
        let values = (0..copies).map(|_| input.take(value_size)).collect();
        raw.push(RawEntry { key, values });
    }
    let snapshot = decode::snapshot(spec, &raw, &FakeResolve);
    let _ = text::map(&snapshot);
}

fuzz_target!(|data: &[u8]| {
    let programs = programs();
    let mut input = Bytes(data);
    let mode = input.byte();
    let manifest = &programs.manifests[input.byte() as usize % programs.manifests.len()];
    match mode % 4 {
        0 => handle_record(manifest, input.0),
        1 => map_entries(manifest, &mut input),
        2 => {
            // A format string from the input against values from an input-built layout.
            let format_len = input.byte() as usize;
            let format = String::from_utf8_lossy(&input.take(format_len)).into_owned();
            let args = layout(&mut input, 2);
            let values = decode::fields(&args, input.0, &FakeResolve);
            let _ = printf::format(&format, &values);
            let _ = render(&values);
        }
        _ => {
            let args = layout(&mut input, 3);
            let _ = text::value(&decode::record(&args, input.0, &FakeResolve));
            let per_cpu = decode::split_per_cpu(input.0, args.size as usize, 3);
            let _ = per_cpu.len();
        }
    }
});
