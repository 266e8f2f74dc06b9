//! The encoder, decoded back with prost: sample types chosen from the script, keys joined across
//! maps, tables interned, inlined lines kept in one location, labels, the gzipped file.

use super::*;
use crate::stack::{Pc, PcLine, PcMapping, Stack};
use crate::value::{MapEntry, MapValue, Value};
use std::io::Read;
use std::sync::Arc;

fn manifest(source: &str) -> Manifest {
    gprobe_compiler::compile(
        source,
        &gprobe_compiler::NoEnv,
        &gprobe_compiler::CompileOptions::default(),
    )
    .unwrap_or_else(|d| panic!("{source}: {d:?}"))
    .manifest
}

fn spec(source: &str) -> Result<ProfileSpec, String> {
    ProfileSpec::new(&manifest(source), source)
}

fn line(function: &str, file: &str, line: i64) -> PcLine {
    PcLine {
        function: function.into(),
        file: file.into(),
        line,
    }
}

fn binary() -> Arc<PcMapping> {
    Arc::new(PcMapping {
        start: 0x401000,
        limit: 0x4a5000,
        offset: 0x1000,
        file: "/srv/app".into(),
        build_id: "abc123".into(),
        go: true,
    })
}

/// A Go stack: `main.mix` inlined into `main.crunch` at the leaf, called from `main.main`.
fn go_stack(leaf: u64) -> Value {
    Value::Stack(Stack {
        frames: vec!["main.crunch+19".into()],
        pcs: vec![
            Pc {
                address: leaf,
                return_address: false,
                mapping: Some(binary()),
                lines: vec![
                    line("main.mix", "/src/main.go", 18),
                    line("main.crunch", "/src/main.go", 28),
                ],
            },
            Pc {
                address: 0x402000,
                return_address: true,
                mapping: Some(binary()),
                lines: vec![line("main.main", "/src/main.go", 40)],
            },
        ],
    })
}

fn entry(key: Vec<Value>, value: MapValue) -> MapEntry {
    MapEntry { key, value }
}

fn str_of(p: &proto::Profile, i: i64) -> &str {
    &p.string_table[i as usize]
}

fn types(p: &proto::Profile) -> Vec<String> {
    p.sample_type
        .iter()
        .map(|t| format!("{}/{}", str_of(p, t.r#type), str_of(p, t.unit)))
        .collect()
}

/// Encoded, then decoded again as a pprof reader would.
fn round_trip(p: &proto::Profile) -> proto::Profile {
    proto::Profile::decode(p.encode_to_vec().as_slice()).unwrap()
}

#[test]
fn annotations_parse_and_reject() {
    let a = Annotations::parse(
        "// @pprof @allocs alloc_objects/count\n\
         x = 1\n\
         //   @pprof @blocked delay/nanoseconds from microseconds\n\
         // @pprof drop_frames runtime\\..*\n",
    )
    .unwrap();
    assert_eq!(a.types.len(), 2);
    assert_eq!(
        a.types[1],
        Declared {
            map: "@blocked".into(),
            r#type: "delay".into(),
            unit: "nanoseconds".into(),
            scale: 1000,
        }
    );
    assert_eq!(a.drop_frames.as_deref(), Some("runtime\\..*"));
    for (bad, why) in [
        ("// @pprof @x cpu", "is not TYPE/UNIT"),
        ("// @pprof x cpu/nanoseconds", "is not a map name"),
        ("// @pprof @x a/b c", "malformed"),
        (
            "// @pprof @x a/nanoseconds from bytes",
            "cannot convert bytes",
        ),
        ("// @pprof @x a/seconds from nanoseconds", "cannot convert"),
        ("// @pprof drop_frames", "without a regular expression"),
    ] {
        let e = Annotations::parse(&format!("\n{bad}\n")).unwrap_err();
        assert!(e.starts_with("line 2: ") && e.contains(why), "{bad}: {e}");
    }
}

#[test]
fn a_profile_probe_count_map_is_a_cpu_profile() {
    let s = spec("profile:hz:99 { @samples[kstack] = count(); }").unwrap();
    let maps = [MapSnapshot::keyed(
        "@samples",
        vec![(vec![go_stack(0x401010)], MapValue::Count(3))],
    )];
    let p = round_trip(&profile(&s, &maps, 1_000, 2_000_000_000));
    assert_eq!(types(&p), ["samples/count", "cpu/nanoseconds"]);
    assert_eq!(p.sample[0].value, [3, 3 * 10_101_010]);
    let period_type = p.period_type.as_ref().unwrap();
    assert_eq!(str_of(&p, period_type.r#type), "cpu");
    assert_eq!(str_of(&p, period_type.unit), "nanoseconds");
    assert_eq!(p.period, 10_101_010);
    assert_eq!((p.time_nanos, p.duration_nanos), (1_000, 2_000_000_000));
    assert_eq!(p.string_table[0], "");
}

#[test]
fn maps_keyed_alike_are_sample_types_of_one_profile() {
    let source = "// @pprof @allocs alloc_objects/count\n\
                  // @pprof @bytes alloc_space/bytes\n\
                  // @pprof drop_frames runtime\\..*\n\
                  tracepoint:syscalls:sys_enter_openat {\n\
                  @bytes[comm, kstack] = sum(4); @allocs[comm, kstack] = count();\n\
                  @other[kstack, pid] = count(); }";
    let s = spec(source).unwrap();
    let key = |leaf| vec![Value::Str("app".into()), go_stack(leaf)];
    let maps = [
        MapSnapshot::keyed(
            "@bytes",
            vec![
                (key(0x401010), MapValue::Sum(4096)),
                (key(0x401020), MapValue::Sum(64)),
            ],
        ),
        // Only the first key in common; a zero sample is left out.
        MapSnapshot {
            name: "@allocs".into(),
            entries: vec![
                entry(key(0x401010), MapValue::Count(2)),
                entry(key(0x401030), MapValue::Count(0)),
            ],
        },
        MapSnapshot::keyed("@other", vec![(key(0x401040), MapValue::Count(9))]),
    ];
    let p = round_trip(&profile(&s, &maps, 0, 0));
    assert_eq!(types(&p), ["alloc_objects/count", "alloc_space/bytes"]);
    let values: Vec<Vec<i64>> = p.sample.iter().map(|s| s.value.clone()).collect();
    assert_eq!(values, [vec![2, 4096], vec![0, 64]]);
    assert_eq!(str_of(&p, p.drop_frames), "runtime\\..*");
    // The comm key part is a string label named as the key was written.
    let label = &p.sample[0].label[0];
    assert_eq!(
        (str_of(&p, label.key), str_of(&p, label.str)),
        ("comm", "app")
    );

    // Two leaf locations (one per address) share the caller's; one mapping, three functions.
    assert_eq!(p.location.len(), 3);
    assert_eq!(p.mapping.len(), 1);
    assert_eq!(p.function.len(), 3);
    let m = &p.mapping[0];
    assert_eq!(
        (m.memory_start, m.memory_limit, m.file_offset),
        (0x401000, 0x4a5000, 0x1000)
    );
    assert_eq!(str_of(&p, m.filename), "/srv/app");
    assert_eq!(str_of(&p, m.build_id), "abc123");
    assert!(m.has_functions && m.has_filenames && m.has_line_numbers && m.has_inline_frames);
    let leaf = &p.location[(p.sample[0].location_id[0] - 1) as usize];
    assert_eq!(leaf.address, 0x401010);
    assert_eq!(leaf.mapping_id, m.id);
    let names: Vec<(&str, &str, i64)> = leaf
        .line
        .iter()
        .map(|l| {
            let f = &p.function[(l.function_id - 1) as usize];
            (str_of(&p, f.name), str_of(&p, f.filename), l.line)
        })
        .collect();
    assert_eq!(
        names,
        [
            ("main.mix", "/src/main.go", 18),
            ("main.crunch", "/src/main.go", 28)
        ]
    );
    // A return address is put inside its call instruction.
    let caller = &p.location[(p.sample[0].location_id[1] - 1) as usize];
    assert_eq!(caller.address, 0x402000 - 1);
}

#[test]
fn stacks_without_addresses_and_numeric_labels() {
    let s = spec("profile:hz:99 { @[pid, kstack] = count(); }").unwrap();
    let stack = Value::Stack(vec!["do_sys_open+12".to_string(), "x64_sys_call+5".into()].into());
    let maps = [MapSnapshot::keyed(
        "@",
        vec![(vec![Value::Uint(42), stack], MapValue::Count(1))],
    )];
    let p = round_trip(&profile(&s, &maps, 0, 0));
    let sample = &p.sample[0];
    let names: Vec<&str> = sample
        .location_id
        .iter()
        .map(|id| {
            let l = &p.location[(id - 1) as usize];
            str_of(&p, p.function[(l.line[0].function_id - 1) as usize].name)
        })
        .collect();
    assert_eq!(names, ["do_sys_open", "x64_sys_call"]);
    assert_eq!(str_of(&p, sample.label[0].key), "pid");
    assert_eq!(sample.label[0].num, 42);
}

#[test]
fn scripts_without_a_stack_map_or_with_a_stray_annotation_are_refused() {
    let e = spec("BEGIN { @n = count(); }").unwrap_err();
    assert!(e.contains("needs a map keyed by a stack"), "{e}");
    let e = spec("// @pprof @n x/count\nprofile:hz:99 { @n = count(); @s[kstack] = count(); }")
        .unwrap_err();
    assert!(e.contains("@n, which is not a map keyed by a stack"), "{e}");
}

#[test]
fn undeclared_sums_are_named_after_their_map_and_scaled_declared_ones() {
    let s = spec(
        "// @pprof @wait_us delay/nanoseconds from microseconds\n\
         tracepoint:syscalls:sys_enter_openat { @wait_us[kstack] = sum(3); @hits[kstack] = count(); }",
    )
    .unwrap();
    let maps = [
        MapSnapshot::keyed("@hits", vec![(vec![go_stack(1)], MapValue::Count(5))]),
        MapSnapshot::keyed("@wait_us", vec![(vec![go_stack(1)], MapValue::Sum(7))]),
    ];
    let p = round_trip(&profile(&s, &maps, 0, 0));
    assert_eq!(types(&p), ["delay/nanoseconds", "hits/count"]);
    assert_eq!(p.sample[0].value, [7000, 5]);
    // No CPU probe: every event counted, period 1 of the first type.
    assert_eq!(p.period, 1);
}

#[test]
fn the_sink_writes_a_gzipped_profile() {
    let source = "profile:hz:99 { @s[kstack] = count(); }";
    let path = std::env::temp_dir().join(format!("gprobe-pprof-unit-{}.pb.gz", std::process::id()));
    let mut sink = PprofSink::new(path.clone(), &manifest(source), source).unwrap();
    assert!(sink.wants_profile());
    sink.attached(1).unwrap();
    let maps = [MapSnapshot::keyed(
        "@s",
        vec![(vec![go_stack(0x401010)], MapValue::Count(2))],
    )];
    sink.profile(&maps, std::time::Instant::now()).unwrap();
    sink.finish(&[]).unwrap();
    let gz = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(gz.as_slice())
        .read_to_end(&mut raw)
        .unwrap();
    let p = proto::Profile::decode(raw.as_slice()).unwrap();
    assert_eq!(p.sample[0].value, [2, 2 * 10_101_010]);
    assert!(p.time_nanos > 0);
}
