//! The runtime against the real kernel: small programs assembled with the compiler's encoder
//! and ELF writer, loaded, attached to real processes, and checked against ground truth. After
//! every test no program of ours (all named `gp_*`) may remain loaded, unless another live
//! process (a concurrent gprobe) holds it.
//!
//! Needs root, BPF and (for the Go test) Go 1.19. Without them the tests skip, unless `CI` is
//! set, where they fail.

use gprobe_compiler::bpf::{Assembler, Helper, Insn, Reg, Size, opcode};
use gprobe_compiler::elf::{ElfProgram, write_object};
use gprobe_compiler::manifest::{
    Attach, EventSpec, FieldKind, Layout, LayoutField, Manifest, MapKind, MapRole, MapSpec,
    MapValue, ProgramSpec, UprobeTarget,
};
use gprobe_compiler::span::Span;
use gprobe_compiler::types::AggKind;
use gprobe_runtime::{Options, RuntimeError, Session, StopReason, TextSink};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// Tests share the kernel; leak checks must only see their own test's programs.
static KERNEL: Mutex<()> = Mutex::new(());

fn ready() -> bool {
    let why = if unsafe { libc::geteuid() } != 0 {
        "not root"
    } else if !Path::new("/sys/fs/bpf").exists() && !Path::new("/sys/kernel/btf").exists() {
        "no BPF support visible"
    } else {
        return true;
    };
    assert!(
        std::env::var_os("CI").is_none(),
        "{why}: under CI this is a failure"
    );
    eprintln!("skipping: {why}");
    false
}

/// No `gp_*` program outlived its session: none is held by nobody, or only by this test process
/// (whose sessions are all dropped by now). Programs other processes hold (a gprobe running
/// concurrently) are theirs.
fn assert_nothing_loaded() {
    let left = gprobe_runtime::testing::leaked_programs(&[std::process::id()]);
    assert!(left.is_empty(), "programs still loaded: {left:?}");
}

fn span(a: usize, b: usize) -> Span {
    Span::new(a, b)
}

fn program(
    name: &str,
    section: &str,
    attach: Attach,
    asm: &gprobe_compiler::bpf::Assembled,
) -> ProgramSpec {
    ProgramSpec {
        name: name.into(),
        section: section.into(),
        attach,
        span: span(0, 10),
        insn_spans: asm.spans.clone(),
        probe_name: name.into(),
        site_names: Vec::new(),
        offset_cookies: false,
        pattern: None,
    }
}

fn user_map(name: &str, user: &str, kind: MapKind, key: Layout, value: MapValue) -> MapSpec {
    MapSpec {
        name: name.into(),
        user_name: Some(user.into()),
        role: MapRole::User,
        kind,
        key,
        value,
        max_entries: 1024,
    }
}

fn ring(name: &str) -> MapSpec {
    MapSpec {
        name: name.into(),
        user_name: None,
        role: MapRole::Events,
        kind: MapKind::RingBuf,
        key: Layout::default(),
        value: MapValue::Plain(Layout::default()),
        max_entries: 1 << 16,
    }
}

/// A u32 zero key at fp-4 and the map's value pointer in r0 (or jump to `out`).
fn lookup_slot0(a: &mut Assembler, map: usize, out: gprobe_compiler::bpf::AsmLabel) {
    a.emit(Insn::st(Size::W, Reg::FP, -4, 0));
    a.ld_map(Reg::R1, map);
    a.emit(Insn::mov64_reg(Reg::R2, Reg::FP));
    a.emit(Insn::alu64_imm(opcode::ADD, Reg::R2, -4));
    a.emit(Insn::call(Helper::MapLookupElem.id()));
    a.jump(Insn::jmp_imm(opcode::JEQ, Reg::R0, 0, 0), out);
}

fn return_zero(a: &mut Assembler) {
    a.emit(Insn::mov64_imm(Reg::R0, 0));
    a.emit(Insn::exit());
}

/// `@name = count()` on a per-CPU array slot 0.
fn count_into_slot0(map: usize) -> gprobe_compiler::bpf::Assembled {
    let mut a = Assembler::new();
    let out = a.new_label();
    lookup_slot0(&mut a, map, out);
    a.emit(Insn::ldx(Size::DW, Reg::R1, Reg::R0, 0));
    a.emit(Insn::alu64_imm(opcode::ADD, Reg::R1, 1));
    a.emit(Insn::stx(Size::DW, Reg::R0, 0, Reg::R1));
    a.place(out);
    return_zero(&mut a);
    a.finish().unwrap()
}

/// Writes `bytes` (whole u64 words) at fp-`at` and sends them to ring map `ring`.
fn emit_record(a: &mut Assembler, ring: usize, words: &[u64], at: i16) {
    for (i, w) in words.iter().enumerate() {
        a.ld_imm64(Reg::R1, *w);
        a.emit(Insn::stx(Size::DW, Reg::FP, -at + 8 * i as i16, Reg::R1));
    }
    a.ld_map(Reg::R1, ring);
    a.emit(Insn::mov64_reg(Reg::R2, Reg::FP));
    a.emit(Insn::alu64_imm(opcode::ADD, Reg::R2, -(at as i32)));
    a.emit(Insn::mov64_imm(Reg::R3, 8 * words.len() as i32));
    a.emit(Insn::mov64_imm(Reg::R4, 0));
    a.emit(Insn::call(Helper::RingbufOutput.id()));
}

fn object(manifest: &Manifest, code: &[&gprobe_compiler::bpf::Assembled]) -> Vec<u8> {
    let programs: Vec<ElfProgram> = manifest
        .programs
        .iter()
        .zip(code)
        .map(|(p, c)| ElfProgram {
            section: &p.section,
            name: &p.name,
            insns: &c.insns,
            relocs: &c.relocs,
        })
        .collect();
    write_object(&programs, &manifest.maps).unwrap()
}

fn run(object: &[u8], manifest: &Manifest, options: &Options) -> (String, gprobe_runtime::Summary) {
    let session = Session::load(object, manifest, options).unwrap_or_else(|e| panic!("load: {e}"));
    let mut sink = TextSink::new(Vec::new());
    let summary = session
        .run(&mut sink)
        .unwrap_or_else(|e| panic!("run: {e}"));
    (String::from_utf8(sink.into_inner()).unwrap(), summary)
}

fn go_work_binary() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let out = std::env::temp_dir().join(format!("gprobe-rt-work-{}", std::process::id()));
    let status = Command::new(root.join("scripts/go-build"))
        .args([
            "1.19",
            root.join("tests/go/work").to_str().unwrap(),
            out.to_str().unwrap(),
        ])
        .status();
    match status {
        Ok(s) if s.success() => Some(out),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "Go 1.19 build failed under CI"
            );
            eprintln!("skipping: Go 1.19 not available");
            None
        }
    }
}

fn count_manifest(
    attach: Attach,
    section: &str,
    asm: &gprobe_compiler::bpf::Assembled,
) -> Manifest {
    Manifest {
        programs: vec![program("gp_count", section, attach, asm)],
        maps: vec![user_map(
            "calls",
            "@calls",
            MapKind::PerCpuArray,
            Layout {
                size: 4,
                fields: vec![],
            },
            MapValue::Agg(AggKind::Count),
        )],
        events: vec![],
        node_wide: false,
        cgroup_filters: Vec::new(),
    }
}

/// `uprobe:work:main.work { @calls = count(); }` with `-c 'work -n 1234 -q'`: exactly 1234.
#[test]
fn uprobe_counts_every_call_of_a_go_function() {
    if !ready() {
        return;
    }
    let Some(bin) = go_work_binary() else { return };
    let _k = KERNEL.lock().unwrap_or_else(|e| e.into_inner());
    let asm = count_into_slot0(0);
    // After the stack-growth check, as gprobe attaches Go probes: at the symbol itself, a call
    // that grows its stack runs the entry twice and would count twice.
    let go = gprobe_compiler::gobin::GoBinary::open(&bin).expect("read the Go binary");
    let sites = gprobe_compiler::target::resolve_uprobe(&go, "main.work", false, false)
        .expect("main.work resolves");
    let attach = Attach::Uprobe {
        binary: bin.to_str().unwrap().into(),
        target: UprobeTarget::Offset(sites[0].offsets[0]),
        ret: false,
    };
    let manifest = count_manifest(attach, "uprobe/gp_count", &asm);
    let obj = object(&manifest, &[&asm]);
    let options = Options {
        command: Some(format!("{} -n 1234 -q", bin.display())),
        ..Options::default()
    };
    let (out, summary) = run(&obj, &manifest, &options);
    assert_eq!(out, "Attaching 1 probe...\n\n\n@calls: 1234\n");
    assert_eq!(summary.stop, StopReason::CommandExited);
    assert_eq!(summary.command_status, Some(0));
    assert_eq!((summary.lost_events, summary.dropped_updates), (0, 0));
    assert_nothing_loaded();

    // A missing symbol is an error naming the nearest ones; nothing stays loaded.
    let attach = Attach::Uprobe {
        binary: bin.to_str().unwrap().into(),
        target: UprobeTarget::Symbol("main.wrok".into()),
        ret: false,
    };
    let manifest = count_manifest(attach, "uprobe/gp_count", &asm);
    match Session::load(&object(&manifest, &[&asm]), &manifest, &Options::default()) {
        Err(RuntimeError::SymbolNotFound {
            nearest, span: s, ..
        }) => {
            assert!(nearest.contains(&"main.work".to_string()), "{nearest:?}");
            assert_eq!(s, span(0, 10));
        }
        Err(e) => panic!("expected SymbolNotFound, got {e}"),
        Ok(_) => panic!("expected SymbolNotFound, got a session"),
    }
    assert_nothing_loaded();
    let _ = std::fs::remove_file(bin);
}

/// `tracepoint:syscalls:sys_enter_openat { @opens[str(args.filename)] = count(); }` while a
/// command opens a marker file K times.
#[test]
fn tracepoint_counts_openat_by_filename() {
    if !ready() {
        return;
    }
    let _k = KERNEL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = std::env::temp_dir();
    let marker = dir.join(format!("gprobe-rt-marker-{}", std::process::id()));
    std::fs::write(&marker, "x").unwrap();
    let script = dir.join(format!("gprobe-rt-opener-{}.sh", std::process::id()));
    std::fs::write(
        &script,
        format!(
            "for i in 1 2 3 4 5 6 7; do cat {} > /dev/null; done\n",
            marker.display()
        ),
    )
    .unwrap();

    let mut a = Assembler::new();
    let out = a.new_label();
    let inc = a.new_label();
    a.emit(Insn::mov64_reg(Reg::R6, Reg::R1));
    for off in (8..=64).step_by(8) {
        a.emit(Insn::st(Size::DW, Reg::FP, -off, 0));
    }
    a.emit(Insn::st(Size::DW, Reg::FP, -72, 0));
    a.emit(Insn::mov64_reg(Reg::R1, Reg::FP));
    a.emit(Insn::alu64_imm(opcode::ADD, Reg::R1, -64));
    a.emit(Insn::mov64_imm(Reg::R2, 64));
    a.emit(Insn::ldx(Size::DW, Reg::R3, Reg::R6, 24)); // args.filename
    a.emit(Insn::call(Helper::ProbeReadUserStr.id()));
    let key = |a: &mut Assembler| {
        a.ld_map(Reg::R1, 0);
        a.emit(Insn::mov64_reg(Reg::R2, Reg::FP));
        a.emit(Insn::alu64_imm(opcode::ADD, Reg::R2, -64));
    };
    key(&mut a);
    a.emit(Insn::call(Helper::MapLookupElem.id()));
    a.jump(Insn::jmp_imm(opcode::JNE, Reg::R0, 0, 0), inc);
    key(&mut a);
    a.emit(Insn::mov64_reg(Reg::R3, Reg::FP));
    a.emit(Insn::alu64_imm(opcode::ADD, Reg::R3, -72));
    a.emit(Insn::mov64_imm(Reg::R4, 1)); // BPF_NOEXIST
    a.emit(Insn::call(Helper::MapUpdateElem.id()));
    key(&mut a);
    a.emit(Insn::call(Helper::MapLookupElem.id()));
    a.jump(Insn::jmp_imm(opcode::JEQ, Reg::R0, 0, 0), out);
    a.place(inc);
    a.emit(Insn::mov64_imm(Reg::R1, 1));
    a.emit(Insn::atomic_add(Size::DW, Reg::R0, 0, Reg::R1));
    a.place(out);
    return_zero(&mut a);
    let asm = a.finish().unwrap();

    let manifest = Manifest {
        programs: vec![program(
            "gp_openat",
            "tracepoint/gp_openat",
            Attach::Tracepoint {
                category: "syscalls".into(),
                name: "sys_enter_openat".into(),
            },
            &asm,
        )],
        maps: vec![user_map(
            "opens",
            "@opens",
            MapKind::Hash,
            Layout {
                size: 64,
                fields: vec![LayoutField {
                    name: None,
                    offset: 0,
                    kind: FieldKind::Str { size: 64 },
                }],
            },
            MapValue::Agg(AggKind::Count),
        )],
        events: vec![],
        node_wide: false,
        cgroup_filters: Vec::new(),
    };
    let obj = object(&manifest, &[&asm]);
    let options = Options {
        command: Some(format!("/bin/sh {}", script.display())),
        ..Options::default()
    };
    let (text, summary) = run(&obj, &manifest, &options);
    assert_eq!(summary.stop, StopReason::CommandExited);
    assert!(
        text.contains(&format!("@opens[{}]: 7\n", marker.display())),
        "{text}"
    );
    assert_nothing_loaded();

    // A tracepoint that does not exist: an error with the nearest names, nothing loaded.
    let mut bad = manifest.clone();
    bad.programs[0].attach = Attach::Tracepoint {
        category: "syscalls".into(),
        name: "sys_enter_opnat".into(),
    };
    match Session::load(&obj, &bad, &Options::default()) {
        Err(RuntimeError::TracepointNotFound { nearest, .. }) => {
            assert!(
                nearest.contains(&"syscalls:sys_enter_openat".to_string()),
                "{nearest:?}"
            )
        }
        Err(e) => panic!("expected TracepointNotFound, got {e}"),
        Ok(_) => panic!("expected TracepointNotFound"),
    }
    assert_nothing_loaded();
    let _ = std::fs::remove_file(marker);
    let _ = std::fs::remove_file(script);
}

/// BEGIN sends a printf and exit(); END sends another printf; both arrive, in order, then the
/// (empty) map section.
#[test]
fn printf_from_begin_exit_and_end() {
    if !ready() {
        return;
    }
    let _k = KERNEL.lock().unwrap_or_else(|e| e.into_inner());
    // printf("hello %s %d %5d|\n", "gprobe", -3, 42): payload = str[8], i64, i64.
    let mut a = Assembler::new();
    let name = u64::from_le_bytes(*b"gprobe\0\0");
    emit_record(&mut a, 0, &[0, name, -3i64 as u64, 42], 64);
    emit_record(&mut a, 0, &[1], 64);
    return_zero(&mut a);
    let begin = a.finish().unwrap();
    let mut a = Assembler::new();
    emit_record(&mut a, 0, &[2], 64);
    return_zero(&mut a);
    let end = a.finish().unwrap();

    let args = Layout {
        size: 24,
        fields: vec![
            LayoutField {
                name: None,
                offset: 0,
                kind: FieldKind::Str { size: 8 },
            },
            LayoutField {
                name: None,
                offset: 8,
                kind: FieldKind::Int {
                    size: 8,
                    signed: true,
                },
            },
            LayoutField {
                name: None,
                offset: 16,
                kind: FieldKind::Int {
                    size: 8,
                    signed: true,
                },
            },
        ],
    };
    let manifest = Manifest {
        programs: vec![
            program("gp_begin", "uprobe/gp_begin", Attach::Begin, &begin),
            program("gp_end", "uprobe/gp_end", Attach::End, &end),
        ],
        maps: vec![ring("events")],
        events: vec![
            EventSpec::Printf {
                format: "hello %s %d %5d|\n".into(),
                args,
                span: span(0, 1),
            },
            EventSpec::Exit,
            EventSpec::Printf {
                format: "end\n".into(),
                args: Layout::default(),
                span: span(0, 1),
            },
        ],
        node_wide: false,
        cgroup_filters: Vec::new(),
    };
    let obj = object(&manifest, &[&begin, &end]);
    let (text, summary) = run(&obj, &manifest, &Options::default());
    assert_eq!(
        text,
        "Attaching 2 probes...\nhello gprobe -3    42|\nend\n\n\n"
    );
    assert_eq!(summary.stop, StopReason::Exit);
    assert_nothing_loaded();
}

/// A hist filled by BEGIN with the bucket indexes of known values prints exactly what
/// bpftrace 0.17 prints for `@h = hist(v)` over the same values.
#[test]
fn hist_matches_bpftrace() {
    if !ready() {
        return;
    }
    let _k = KERNEL.lock().unwrap_or_else(|e| e.into_inner());
    let values: [i64; 7] = [0, 1, 3, 1000, 1000, 1_200_000, -5];
    let bucket = |v: i64| -> u64 {
        if v < 0 {
            0
        } else if v == 0 {
            1
        } else {
            (63 - v.leading_zeros()) as u64 + 2
        }
    };
    let mut a = Assembler::new();
    a.emit(Insn::st(Size::DW, Reg::FP, -16, 0)); // zero value for inserts
    for v in values {
        let (inc, next) = (a.new_label(), a.new_label());
        a.ld_imm64(Reg::R1, bucket(v));
        a.emit(Insn::stx(Size::DW, Reg::FP, -8, Reg::R1));
        let key = |a: &mut Assembler| {
            a.ld_map(Reg::R1, 0);
            a.emit(Insn::mov64_reg(Reg::R2, Reg::FP));
            a.emit(Insn::alu64_imm(opcode::ADD, Reg::R2, -8));
        };
        key(&mut a);
        a.emit(Insn::call(Helper::MapLookupElem.id()));
        a.jump(Insn::jmp_imm(opcode::JNE, Reg::R0, 0, 0), inc);
        key(&mut a);
        a.emit(Insn::mov64_reg(Reg::R3, Reg::FP));
        a.emit(Insn::alu64_imm(opcode::ADD, Reg::R3, -16));
        a.emit(Insn::mov64_imm(Reg::R4, 0));
        a.emit(Insn::call(Helper::MapUpdateElem.id()));
        key(&mut a);
        a.emit(Insn::call(Helper::MapLookupElem.id()));
        a.jump(Insn::jmp_imm(opcode::JEQ, Reg::R0, 0, 0), next);
        a.place(inc);
        a.emit(Insn::ldx(Size::DW, Reg::R1, Reg::R0, 0));
        a.emit(Insn::alu64_imm(opcode::ADD, Reg::R1, 1));
        a.emit(Insn::stx(Size::DW, Reg::R0, 0, Reg::R1));
        a.place(next);
    }
    emit_record(&mut a, 1, &[0], 32);
    return_zero(&mut a);
    let begin = a.finish().unwrap();
    let manifest = Manifest {
        programs: vec![program("gp_hist", "uprobe/gp_hist", Attach::Begin, &begin)],
        maps: vec![
            user_map(
                "h",
                "@h",
                MapKind::PerCpuHash,
                Layout {
                    size: 8,
                    fields: vec![],
                },
                MapValue::Agg(AggKind::Hist),
            ),
            ring("events"),
        ],
        events: vec![EventSpec::Exit],
        node_wide: false,
        cgroup_filters: Vec::new(),
    };
    let obj = object(&manifest, &[&begin]);
    let (ours, _) = run(&obj, &manifest, &Options::default());
    assert_nothing_loaded();
    let script = format!(
        "BEGIN {{ {} exit(); }}",
        values
            .iter()
            .map(|v| format!("@h = hist({v});"))
            .collect::<String>()
    );
    let theirs = Command::new("bpftrace").args(["-e", &script]).output();
    let Some(theirs) = theirs.ok().filter(|o| o.status.success()) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "bpftrace 0.17 missing under CI"
        );
        return;
    };
    let theirs = String::from_utf8_lossy(&theirs.stdout).into_owned();
    assert_eq!(ours, theirs);
}

/// A program the verifier rejects: the error carries the kernel's reason, the instruction, the
/// source span of that instruction and the full log; nothing stays loaded.
#[test]
fn verifier_rejection_points_at_the_source() {
    if !ready() {
        return;
    }
    let _k = KERNEL.lock().unwrap_or_else(|e| e.into_inner());
    let mut a = Assembler::new();
    a.set_span(span(3, 9));
    a.emit(Insn::mov64_imm(Reg::R0, 0));
    a.set_span(span(12, 30));
    // Reads through a scalar: rejected.
    a.emit(Insn::mov64_imm(Reg::R2, 1234));
    a.emit(Insn::ldx(Size::DW, Reg::R0, Reg::R2, 0));
    a.emit(Insn::exit());
    let bad = a.finish().unwrap();
    let mut good = Assembler::new();
    return_zero(&mut good);
    let good = good.finish().unwrap();
    let manifest = Manifest {
        programs: vec![
            program("gp_ok", "uprobe/gp_ok", Attach::Begin, &good),
            program("gp_bad", "uprobe/gp_bad", Attach::Begin, &bad),
        ],
        // (The ELF writer currently emits an empty `maps` section for no maps, which aya
        // rejects; one map keeps this test about the verifier.)
        maps: vec![ring("events")],
        events: vec![],
        node_wide: false,
        cgroup_filters: Vec::new(),
    };
    let obj = object(&manifest, &[&good, &bad]);
    match Session::load(
        &obj,
        &manifest,
        &Options {
            verbose: true,
            ..Options::default()
        },
    ) {
        Err(RuntimeError::Verifier {
            program,
            reason,
            span: s,
            insn,
            log,
        }) => {
            assert_eq!(program, "gp_bad");
            assert!(reason.contains("invalid mem access"), "{reason}\n{log}");
            assert_eq!(insn, Some(2), "{log}");
            assert_eq!(s, Some(span(12, 30)));
            assert!(log.contains("processed"), "{log}");
        }
        Err(e) => panic!("expected a verifier error, got {e}"),
        Ok(_) => panic!("expected a verifier error"),
    }
    assert_nothing_loaded();
}

/// `interval:ms:20 { @ticks = count(); if (@ticks >= 3) exit(); }` stops on its own with 3.
#[test]
fn interval_timer_and_exit() {
    if !ready() {
        return;
    }
    let _k = KERNEL.lock().unwrap_or_else(|e| e.into_inner());
    let mut a = Assembler::new();
    let out = a.new_label();
    lookup_slot0(&mut a, 0, out);
    a.emit(Insn::ldx(Size::DW, Reg::R1, Reg::R0, 0));
    a.emit(Insn::alu64_imm(opcode::ADD, Reg::R1, 1));
    a.emit(Insn::stx(Size::DW, Reg::R0, 0, Reg::R1));
    a.jump(Insn::jmp_imm(opcode::JNE, Reg::R1, 3, 0), out);
    emit_record(&mut a, 1, &[0], 32);
    a.place(out);
    return_zero(&mut a);
    let asm = a.finish().unwrap();
    let mut manifest = count_manifest(
        Attach::Interval {
            period_ns: 20_000_000,
        },
        "perf_event/gp_tick",
        &asm,
    );
    manifest.programs[0].name = "gp_tick".into();
    manifest.maps[0].kind = MapKind::Array;
    manifest.maps[0].user_name = Some("@ticks".into());
    manifest.maps.push(ring("events"));
    manifest.events.push(EventSpec::Exit);
    let obj = object(&manifest, &[&asm]);
    let (text, summary) = run(&obj, &manifest, &Options::default());
    assert_eq!(summary.stop, StopReason::Exit);
    // The timer may fire once more between exit() and detaching.
    assert!(
        text == "Attaching 1 probe...\n\n\n@ticks: 3\n"
            || text == "Attaching 1 probe...\n\n\n@ticks: 4\n",
        "{text}"
    );
    assert_nothing_loaded();
}

/// Writes text like `TextSink`, and raises SIGTERM at this process as soon as the probes are
/// attached (the session's handler is installed by then).
struct TerminateWhenAttached(TextSink<Vec<u8>>);

impl gprobe_runtime::Sink for TerminateWhenAttached {
    fn attached(&mut self, probes: usize) -> std::io::Result<()> {
        self.0.attached(probes)?;
        unsafe { libc::raise(libc::SIGTERM) };
        Ok(())
    }
    fn printf(&mut self, text: &str) -> std::io::Result<()> {
        self.0.printf(text)
    }
    fn print_map(
        &mut self,
        map: &gprobe_runtime::value::MapSnapshot,
        div: u64,
    ) -> std::io::Result<()> {
        self.0.print_map(map, div)
    }
    fn time(&mut self, text: &str) -> std::io::Result<()> {
        self.0.time(text)
    }
    fn emit(
        &mut self,
        probe: &str,
        ts_ns: u64,
        record: &gprobe_runtime::value::Value,
    ) -> std::io::Result<()> {
        self.0.emit(probe, ts_ns, record)
    }
    fn finish(&mut self, maps: &[gprobe_runtime::value::MapSnapshot]) -> std::io::Result<()> {
        self.0.finish(maps)
    }
}

/// `profile:hz:99 { @samples = count(); }` on every CPU, stopped by SIGTERM: the session ends
/// cleanly, prints the map, and detaches everything.
#[test]
fn profile_on_every_cpu_stops_on_sigterm() {
    if !ready() {
        return;
    }
    let _k = KERNEL.lock().unwrap_or_else(|e| e.into_inner());
    let asm = count_into_slot0(0);
    let mut manifest = count_manifest(
        Attach::Profile {
            hz: Some(99),
            period_ns: None,
        },
        "perf_event/gp_prof",
        &asm,
    );
    manifest.programs[0].name = "gp_prof".into();
    manifest.maps[0].user_name = Some("@samples".into());
    let obj = object(&manifest, &[&asm]);
    let session =
        Session::load(&obj, &manifest, &Options::default()).unwrap_or_else(|e| panic!("load: {e}"));
    let mut sink = TerminateWhenAttached(TextSink::new(Vec::new()));
    let summary = session
        .run(&mut sink)
        .unwrap_or_else(|e| panic!("run: {e}"));
    assert_eq!(summary.stop, StopReason::Signal);
    let text = String::from_utf8(sink.0.into_inner()).unwrap();
    assert!(text.starts_with("Attaching 1 probe...\n\n\n"), "{text}");
    assert_nothing_loaded();
}

/// A missing binary and a pid that does not exist are clear errors; nothing stays loaded.
#[test]
fn missing_binary_and_pid_are_errors() {
    if !ready() {
        return;
    }
    let _k = KERNEL.lock().unwrap_or_else(|e| e.into_inner());
    let asm = count_into_slot0(0);
    let attach = Attach::Uprobe {
        binary: "/nonexistent/srv".into(),
        target: UprobeTarget::Offset(0x1000),
        ret: false,
    };
    let manifest = count_manifest(attach, "uprobe/gp_count", &asm);
    let obj = object(&manifest, &[&asm]);
    match Session::load(&obj, &manifest, &Options::default()) {
        Err(RuntimeError::BinaryNotFound { path, span: s }) => {
            assert_eq!(path, Path::new("/nonexistent/srv"));
            assert_eq!(s, span(0, 10));
        }
        Err(e) => panic!("expected BinaryNotFound, got {e}"),
        Ok(_) => panic!("expected BinaryNotFound"),
    }
    assert_nothing_loaded();
    // pid_max is at most 2^22, so this pid cannot exist.
    let gone = 1 << 23;
    match Session::load(
        &obj,
        &manifest,
        &Options {
            pid: Some(gone),
            ..Options::default()
        },
    ) {
        Err(RuntimeError::PidGone { pid }) => assert_eq!(pid, gone),
        Err(e) => panic!("expected PidGone, got {e}"),
        Ok(_) => panic!("expected PidGone"),
    }
    assert_nothing_loaded();
}
