//! Back end: whole probes compiled to eBPF (disassembly snapshots), the object re-read with
//! `object`, and constructs the back end refuses reported as diagnostics, not panics.
//! The kernel verifier's view is tested in the runtime crate, which loads these objects.

use gprobe_compiler::manifest::{Attach, MapKind, MapRole, MapValue};
use gprobe_compiler::types::AggKind;
use gprobe_compiler::{CompileOptions, NoEnv, compile};
use object::{Object, ObjectSection, ObjectSymbol};

#[path = "support/case_env.rs"]
mod case_env;

fn build(source: &str) -> gprobe_compiler::Output {
    let options = CompileOptions {
        dump_ir: true,
        dump_bpf: true,
        ..Default::default()
    };
    match compile(source, &NoEnv, &options) {
        Ok(out) => out,
        Err(diags) => panic!(
            "{}",
            gprobe_compiler::diag::render(&diags, "test.gp", source, false)
        ),
    }
}

#[test]
fn count_by_comm_with_predicate() {
    let out = build("uprobe:/bin/bash:readline /pid > 100/ { @calls[comm] = count(); }");
    insta::assert_snapshot!(out.bpf.unwrap());
    let m = &out.manifest;
    assert_eq!(m.programs.len(), 1);
    assert_eq!(m.programs[0].section, "uprobe/gp_p0");
    assert!(
        matches!(&m.programs[0].attach, Attach::Uprobe { binary, ret: false, .. } if binary == "/bin/bash")
    );
    let calls = m
        .maps
        .iter()
        .find(|s| s.user_name.as_deref() == Some("@calls"))
        .unwrap();
    assert_eq!(calls.kind, MapKind::PerCpuHash);
    assert_eq!(calls.value, MapValue::Agg(AggKind::Count));
    assert_eq!(calls.key.size, 16);
    // @calls only grows: a full map is found full at the end, no counter on the insert path.
    assert!(!m.maps.iter().any(|s| s.role == MapRole::Counters));
}

#[test]
fn printf_event() {
    let out = build(r#"BEGIN { printf("pid %d comm %s\n", pid, comm); exit(); }"#);
    insta::assert_snapshot!(out.bpf.unwrap());
    let m = &out.manifest;
    assert_eq!(m.events.len(), 2);
    let gprobe_compiler::manifest::EventSpec::Printf { format, args, .. } = &m.events[0] else {
        panic!("first event is the printf")
    };
    assert_eq!(format, "pid %d comm %s\n");
    assert_eq!(args.size, 24);
    assert_eq!(
        args.fields.iter().map(|f| f.offset).collect::<Vec<_>>(),
        [0, 8]
    );
    assert!(
        m.maps
            .iter()
            .any(|s| s.kind == MapKind::RingBuf && s.role == MapRole::Events)
    );
}

#[test]
fn histogram_ir() {
    let out = build("uretprobe:/bin/bash:readline { @h = hist(retval); }");
    insta::assert_snapshot!(out.ir.unwrap());
    let h = out
        .manifest
        .maps
        .iter()
        .find(|s| s.user_name.as_deref() == Some("@h"))
        .unwrap();
    // A scalar histogram's key is just the bucket index.
    assert_eq!(h.key.size, 8);
    assert!(h.key.fields.is_empty());
}

#[test]
fn object_matches_manifest() {
    let out = build(
        "uprobe:/bin/bash:readline { @a = count(); } interval:s:1 { @b[cpu] = sum(rand); printf(\"%d\\n\", elapsed); }",
    );
    let file = object::File::parse(&*out.object).unwrap();
    for p in &out.manifest.programs {
        let sym = file
            .symbols()
            .find(|s| s.name() == Ok(p.name.as_str()))
            .unwrap();
        let section = file.section_by_name(&p.section).unwrap();
        assert_eq!(
            sym.size(),
            section.size(),
            "{} covers its whole section",
            p.name
        );
        // Every relocation points at a map symbol, at an LD_IMM64.
        let data = section.data().unwrap();
        for (offset, reloc) in section.relocations() {
            assert_eq!(data[offset as usize], 0x18);
            assert_eq!(reloc.addend(), 0);
            let object::RelocationTarget::Symbol(i) = reloc.target() else {
                panic!("not a symbol")
            };
            let target = file.symbol_by_index(i).unwrap();
            assert!(
                out.manifest
                    .maps
                    .iter()
                    .any(|m| Ok(m.name.as_str()) == target.name())
            );
        }
        assert_eq!(p.insn_spans.first().map(|s| s.0), Some(0));
    }
    assert_eq!(out.manifest.programs[1].section, "perf_event/gp_p1");
    let maps = file.section_by_name("maps").unwrap();
    // Data-section maps (the failure counters in `.bss`) have no bpf_map_def.
    let defs = out
        .manifest
        .maps
        .iter()
        .filter(|m| m.kind != MapKind::Global)
        .count();
    assert_eq!(maps.size(), 28 * defs as u64);
    assert!(file.section_by_name(".bss").is_some());
}

#[test]
fn constants_fold() {
    let out = build("BEGIN { @x = (2 + 3) * 4 - (1 << 2); }");
    let ir = out.ir.unwrap();
    assert!(ir.contains("= 16"), "{ir}");
    assert!(!ir.contains("*="), "{ir}");
}

#[test]
fn go_builtins_are_diagnostics_not_panics() {
    let result = compile(
        "uprobe:/bin/bash:readline { @g[goid] = count(); }",
        &NoEnv,
        &CompileOptions::default(),
    );
    let Err(diags) = result else {
        panic!("goid is not lowered by this back end")
    };
    assert!(
        diags.iter().all(|d| d.is_error() && !d.labels.is_empty()),
        "{diags:?}"
    );
}

#[test]
fn register_pressure_spills_within_the_stack() {
    // Six values live across helper calls, four callee-saved registers.
    let out = build(
        "uprobe:/bin/bash:readline { $a = nsecs; $b = nsecs; $c = nsecs; $d = nsecs; $e = nsecs; $f = nsecs; \
         @s = sum($a + $b + $c + $d + $e + $f); }",
    );
    let bpf = out.bpf.unwrap();
    assert!(
        bpf.contains("*(u64 *)(r10 -") && bpf.contains("= *(u64 *)(r10 -"),
        "{bpf}"
    );
}

/// Map keys, values and variables are laid out with the checker's unified type: the widest
/// string ever stored, not the first one.
#[test]
fn string_slots_take_the_widest_size() {
    use gprobe_compiler::manifest::FieldKind;
    let out = build(
        r#"BEGIN { @s = "a"; @s = "longer string"; @k["x"] = 1; @k["a much longer key"] = 2;
           $v = "ab"; $v = "much longer"; printf("%s\n", $v); }"#,
    );
    let map = |name: &str| {
        out.manifest
            .maps
            .iter()
            .find(|m| m.user_name.as_deref() == Some(name))
            .unwrap()
    };
    let MapValue::Plain(value) = &map("@s").value else {
        panic!("@s is a plain map")
    };
    assert_eq!(value.fields[0].kind, FieldKind::Str { size: 14 });
    assert_eq!(map("@k").key.fields[0].kind, FieldKind::Str { size: 18 });
    let printf = out
        .manifest
        .events
        .iter()
        .find_map(|e| match e {
            gprobe_compiler::manifest::EventSpec::Printf { args, .. } => Some(args),
            _ => None,
        })
        .unwrap();
    assert_eq!(printf.fields[0].kind, FieldKind::Str { size: 12 });
}

/// A predicate false whatever runs (`$1` = 0 in a recipe's `/$1 > 0 && .../`) leaves an empty
/// probe: code after an unconditional jump is unreachable, which the verifier rejects.
#[test]
fn never_true_predicates_emit_no_body() {
    let mut options = CompileOptions {
        dump_bpf: true,
        ..Default::default()
    };
    options.check.positional = vec!["0".into()];
    let source = "interval:s:1 /$1 > 0 && elapsed >= $1 * 1000000000/ { exit(); }
        BEGIN { if ($1 > 0 && pid > 1) { printf(\"never\\n\"); } else { @x = 1; } }";
    let out = match compile(source, &NoEnv, &options) {
        Ok(out) => out,
        Err(diags) => panic!(
            "{}",
            gprobe_compiler::diag::render(&diags, "test.gp", source, false)
        ),
    };
    let bpf = out.bpf.unwrap();
    let interval = bpf.split("\n\n").next().unwrap();
    assert_eq!(interval.lines().count(), 3, "{bpf}");
    assert!(!bpf.contains("ringbuf"), "{bpf}");
}

/// A histogram of a 32-bit value: no sign test, no 2^32 step, one compare-shift-add per
/// halving; the value itself stays intact for the bucket's sum.
#[test]
fn histogram_of_u32_bpf() {
    let out = build("uprobe:/bin/bash:readline { @h = hist(tid); }");
    insta::assert_snapshot!(out.bpf.unwrap());
}

/// `tid` named three times: one helper call and one zero-extension serve all three.
#[test]
fn task_values_computed_once_bpf() {
    let out = build(
        "uprobe:/bin/bash:readline { @start[tid] = nsecs; @sum = sum(tid); delete(@start[tid]); }",
    );
    let bpf = out.bpf.unwrap();
    assert_eq!(bpf.matches("bpf_get_current_pid_tgid").count(), 1, "{bpf}");
    insta::assert_snapshot!(bpf);
}

fn build_with_kernel(source: &str) -> gprobe_compiler::Output {
    let options = CompileOptions {
        dump_bpf: true,
        ..Default::default()
    };
    compile(source, &case_env::CaseEnv, &options).unwrap_or_else(|diags| {
        panic!(
            "{}",
            gprobe_compiler::diag::render(&diags, "test.gp", source, false)
        )
    })
}

/// Kernel structs are read with `bpf_probe_read_kernel` whatever the probe; a uprobe's own
/// pointers stay user reads.
#[test]
fn kernel_structs_read_kernel_memory_in_uprobes() {
    let bpf = build_with_kernel(
        r#"uprobe:/bin/true:main { printf("%d %s %d %d\n", curtask->real_parent->pid, curtask->comm, *(uint32 *)arg0, *kptr((uint32 *)arg1)); }"#,
    )
    .bpf
    .unwrap();
    // real_parent, its pid, comm, kptr().
    assert_eq!(bpf.matches("bpf_probe_read_kernel").count(), 4, "{bpf}");
    assert_eq!(bpf.matches("bpf_probe_read_user").count(), 1, "{bpf}");
    assert!(!bpf.contains("bpf_probe_read#"), "{bpf}");
    // In a tracepoint, `uptr()` names user memory; other pointers take the compatible read.
    let bpf = build_with_kernel(
        "tracepoint:syscalls:sys_enter_openat { @a = *uptr((uint32 *)args->filename); @b = *(uint32 *)args->filename; }",
    )
    .bpf
    .unwrap();
    assert_eq!(bpf.matches("bpf_probe_read_user#").count(), 1, "{bpf}");
    assert_eq!(bpf.matches("bpf_probe_read#").count(), 1, "{bpf}");
}

/// `p + n` moves by `n` pointees, `p[i]` reads element `i`, `p - q` counts elements; a
/// bit-field is shifted and masked out of its storage.
#[test]
fn pointer_arithmetic_scales_and_bitfields_mask_bpf() {
    let bpf = build_with_kernel(
        "tracepoint:syscalls:sys_enter_openat { $p = (uint32 *)args->filename; @a = *($p + 3); @b = $p[5]; \
         @c = ($p + 4) - $p; @d = curtask->sched_contributes_to_load; }",
    )
    .bpf
    .unwrap();
    insta::assert_snapshot!(bpf);
}

/// `pid` and `tid` come from the same helper: one call serves both.
#[test]
fn pid_and_tid_share_one_call() {
    let out = build(r#"uprobe:/bin/bash:readline { printf("%d %d\n", pid, tid); }"#);
    let bpf = out.bpf.unwrap();
    assert_eq!(bpf.matches("bpf_get_current_pid_tgid").count(), 1, "{bpf}");
}

/// A probe finds its goroutine once, at entry, however often it uses `goid`: the reads of
/// target memory (g from TLS here, its goid, and g.m, m.curg, curg.goid on a system stack only)
/// do not repeat per use.
#[test]
fn goroutine_found_once_per_program() {
    let reads = |source: &str| {
        let options = CompileOptions {
            dump_bpf: true,
            ..Default::default()
        };
        let out = compile(source, &case_env::CaseEnv, &options).unwrap_or_else(|diags| {
            panic!(
                "{}",
                gprobe_compiler::diag::render(&diags, "test.gp", source, false)
            )
        });
        out.bpf.unwrap().matches("bpf_probe_read_user").count()
    };
    let once = reads("uprobe:./srv:main.work { @a[goid] = count(); }");
    let thrice = reads(
        "uprobe:./srv:main.work { @a[goid] = count(); @b[goid] = 1; if (goid > 5) { @c = 1; } }",
    );
    assert_eq!(once, 5);
    assert_eq!(thrice, once);
}

/// A tuple read back from a map: one lookup copies the element into the variable's slot (zeros
/// when missing), and `.N` on a map element loads just that field from the looked-up value.
#[test]
fn tuple_map_element_read_once_bpf() {
    let out = build(
        r#"uprobe:/bin/bash:readline { @req[tid] = (nsecs, comm); }
           uretprobe:/bin/bash:readline { $r = @req[tid]; delete(@req[tid]);
             printf("%d %s %d\n", $r.0, $r.1, @req[tid].0); }"#,
    );
    let bpf = out.bpf.unwrap();
    let ret_probe = bpf.split("\n\n").nth(1).unwrap();
    // `$r = @req[tid]` and `@req[tid].0`: one lookup each, no copy of the tuple for the latter.
    assert_eq!(
        ret_probe.matches("bpf_map_lookup_elem").count(),
        2,
        "{ret_probe}"
    );
    insta::assert_snapshot!(bpf);
}

/// The tuple case programs get through the back end too: the verifier test loads only the ok
/// cases that compile, and would skip them silently.
#[test]
fn tuple_cases_compile() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/check/ok");
    for case in ["tuple_fields.gp", "tuple_map_in_uprobe.gp"] {
        let source = std::fs::read_to_string(root.join(case)).unwrap();
        let options = CompileOptions {
            check: case_env::options_for(&source),
            ..Default::default()
        };
        if let Err(diags) = compile(&source, &case_env::CaseEnv, &options) {
            panic!(
                "{}",
                gprobe_compiler::diag::render(&diags, case, &source, false)
            );
        }
    }
}

/// `@n += x` / `@n -= x` update a plain map in place with an atomic add, so CPUs updating a
/// gauge at once lose nothing; other compound operators load, compute and store.
#[test]
fn compound_add_and_sub_are_atomic() {
    let out = build("uprobe:/bin/bash:readline { @busy += 1; @busy -= 1; @p *= 2; }");
    let bpf = out.bpf.unwrap();
    assert_eq!(bpf.matches("lock *(u64 *)").count(), 2, "{bpf}");
}

/// A binary pattern's maps and events do not depend on which binaries it matched (the pending
/// form is lowered first and identical events share an id), so a compile for a program started
/// later lines up with the running session's maps. Its programs are marked for the runtime.
#[test]
fn binary_pattern_layouts_do_not_depend_on_the_matches() {
    let source = r#"uprobe:*:main.work { @[pid] = count(); printf("%d %d\n", args.id, goid); @s[ustack] = count(); }
tracepoint:syscalls:sys_enter_openat { printf("open\n"); }"#;
    let compile_with = |binaries: &[&str]| {
        let mut program = gprobe_compiler::parse(source).expect("parses");
        gprobe_compiler::expand::expand_patterns(&mut program, &mut |q| {
            gprobe_compiler::expand::PatternMatch {
                pattern: q.binary.to_owned(),
                binaries: binaries.iter().map(|b| b.to_string()).collect(),
            }
        });
        let options = CompileOptions {
            lower: gprobe_compiler::lower::LowerOptions {
                node_wide: true,
                ..Default::default()
            },
            ..Default::default()
        };
        let checked =
            gprobe_compiler::check::check(&mut program, &SitesEnv, &options.check).expect("checks");
        gprobe_compiler::compile_checked(&program, &checked, source, &options)
            .expect("compiles")
            .manifest
    };
    let two = compile_with(&["/srv/a/work", "/srv/b/work-go1.19"]);
    let one = compile_with(&["/srv/c/work"]);
    assert_eq!(two.maps, one.maps);
    assert_eq!(two.events, one.events);
    let origin = |m: &gprobe_compiler::manifest::Manifest| -> Vec<(String, bool)> {
        m.programs
            .iter()
            .filter_map(|p| match (&p.pattern, &p.attach) {
                (Some(o), Attach::Uprobe { binary, .. }) => Some((binary.clone(), o.pending)),
                _ => None,
            })
            .collect()
    };
    assert_eq!(
        origin(&two),
        vec![
            ("*".to_string(), true),
            ("/srv/a/work".to_string(), false),
            ("/srv/b/work-go1.19".to_string(), false)
        ]
    );
    // The runtime hears of every exec, to attach to programs started later.
    assert!(
        two.programs
            .iter()
            .any(|p| p.probe_name == "gprobe:sched_process_exec")
    );
}

/// [`case_env::CaseEnv`] whose Go uprobes resolve to one `main.work` site with its parameters,
/// in registers for binaries named `*go1.19*` and on the stack otherwise: argument places that
/// differ between binaries, as between Go releases.
struct SitesEnv;

impl gprobe_compiler::check::Env for SitesEnv {
    fn tracepoint_fields(
        &self,
        category: &str,
        name: &str,
    ) -> Result<Vec<gprobe_compiler::types::Field>, String> {
        case_env::CaseEnv.tracepoint_fields(category, name)
    }

    fn go_function(
        &self,
        binary: Option<&str>,
        function: &str,
    ) -> Result<gprobe_compiler::check::GoFunction, String> {
        if binary.is_some_and(|b| b.contains("stripped")) {
            return Err("the binary has no DWARF debug info".into());
        }
        case_env::CaseEnv.go_function(binary, function)
    }

    fn resolve_uprobe(
        &self,
        binary: Option<&str>,
        function: &str,
        glob: bool,
        ret: bool,
    ) -> Result<gprobe_compiler::target::Resolved, String> {
        use gprobe_compiler::target::{GoLocation, GoSite, RegSlot};
        let mut resolved = case_env::CaseEnv.resolve_uprobe(binary, function, glob, ret)?;
        let id = if binary.is_some_and(|b| b.contains("go1.19")) {
            GoLocation::Stack { offset: 8 }
        } else {
            GoLocation::Registers(vec![RegSlot {
                pt_regs: 80,
                offset: 0,
                size: 8,
            }])
        };
        resolved.functions = vec![GoSite {
            name: function.to_owned(),
            offsets: vec![0x1000],
            abi_internal: true,
            caller_at_sp: false,
            params: vec![("id".into(), id)],
            results: Vec::new(),
            native: false,
        }];
        Ok(resolved)
    }

    fn task_fsbase(&self) -> Option<u64> {
        Some(5000)
    }
}

/// A binary a pattern matched whose `args` cannot be typed (stripped) is left out with a
/// warning naming it; the pattern goes on with the others. With no other, it is the error.
#[test]
fn binary_pattern_leaves_out_a_binary_without_the_signature() {
    let source = r#"uprobe:*:main.work { @[args.id] = count(); }"#;
    let check_with = |binaries: &[&str]| {
        let mut program = gprobe_compiler::parse(source).expect("parses");
        gprobe_compiler::expand::expand_patterns(&mut program, &mut |q| {
            gprobe_compiler::expand::PatternMatch {
                pattern: q.binary.to_owned(),
                binaries: binaries.iter().map(|b| b.to_string()).collect(),
            }
        });
        let options = gprobe_compiler::check::Options::default();
        let (checked, warnings) =
            gprobe_compiler::check::check_with_warnings(&mut program, &SitesEnv, &options);
        let render = |d: &[gprobe_compiler::diag::Diagnostic]| {
            gprobe_compiler::diag::render(d, "t.gp", source, false)
        };
        (
            checked.map(|_| program).map_err(|d| render(&d)),
            render(&warnings),
        )
    };
    let (program, warnings) = check_with(&["/srv/a/work", "/srv/b/work-stripped"]);
    let program = program.expect("checks without the stripped binary");
    assert!(
        warnings.contains("not tracing /srv/b/work-stripped"),
        "{warnings}"
    );
    // The pending form and the one binary left.
    assert_eq!(program.probes[0].attach.len(), 2);
    let (only, _) = check_with(&["/srv/b/work-stripped"]);
    let err = only.expect_err("no binary gives `args`");
    assert!(err.contains("no DWARF"), "{err}");
}

/// A limited node-wide session (`-p A,B`, `--exe`, `--cgroup`): programs of probes that fire in
/// any process look the tgid up in the `Processes` map before anything else, and return when it
/// is absent; `interval` (no particular process) and BEGIN are not filtered.
#[test]
fn limited_sessions_filter_by_tgid_first() {
    let source = "BEGIN { @x = 1; } uprobe:/bin/bash:readline { @a = count(); } \
                  tracepoint:syscalls:sys_enter_openat { @b = count(); } interval:ms:100 { @c = count(); }";
    let compile_with = |filter: bool| {
        let options = CompileOptions {
            dump_ir: true,
            lower: gprobe_compiler::lower::LowerOptions {
                node_wide: true,
                filter_processes: filter,
                ..Default::default()
            },
            ..Default::default()
        };
        compile(source, &NoEnv, &options).expect("compiles")
    };
    let out = compile_with(true);
    let maps = &out.manifest.maps;
    let traced = maps
        .iter()
        .position(|m| m.role == MapRole::Processes)
        .expect("a Processes map");
    assert_eq!(maps[traced].kind, MapKind::Hash);
    let ir = out.ir.unwrap();
    let programs: Vec<&str> = ir.split("\n\n").map(str::trim_start).collect();
    let filtered = |name: &str| {
        let body = programs
            .iter()
            .find(|p| p.starts_with(&format!("{name}:")))
            .unwrap_or_else(|| panic!("no {name} in\n{ir}"));
        // The first map the program loads is the filter's.
        let first_map = body.lines().find(|l| l.contains("= map "));
        first_map.is_some_and(|l| l.ends_with("= map traced"))
    };
    assert!(filtered("gp_p1"), "uprobe not filtered:\n{ir}");
    assert!(filtered("gp_p2"), "tracepoint not filtered:\n{ir}");
    assert!(!filtered("gp_p3"), "interval filtered:\n{ir}");
    assert!(!filtered("gp_p0"), "BEGIN filtered:\n{ir}");
    // The runtime keeps the set from exec and exit events.
    assert!(
        out.manifest
            .programs
            .iter()
            .any(|p| p.probe_name == "gprobe:sched_process_exec")
    );
    // Unlimited: no map, no lookup.
    let all = compile_with(false);
    assert!(
        !all.manifest
            .maps
            .iter()
            .any(|m| m.role == MapRole::Processes)
    );
}

/// A raw tracepoint's argN is the Nth u64 of its context (`bpf_raw_tracepoint_args`), read
/// directly; a pointer among them cast to a kernel struct is read through as in a tracepoint.
#[test]
fn raw_tracepoint_args_are_context_slots_bpf() {
    let out = build_with_kernel(
        "rawtracepoint:sched_switch { @[arg3] = count(); @flags = max(((struct task_struct *)arg2)->flags); }",
    );
    let m = &out.manifest;
    assert_eq!(m.programs[0].section, "raw_tracepoint/gp_p0");
    assert!(
        matches!(&m.programs[0].attach, Attach::RawTracepoint { name } if name == "sched_switch"),
        "{:?}",
        m.programs[0].attach
    );
    let bpf = out.bpf.unwrap();
    assert!(
        bpf.contains("r0 = *(u64 *)(r6 +24)"),
        "arg3 is the 4th slot: {bpf}"
    );
    assert_eq!(bpf.matches("call bpf_probe_read").count(), 1, "{bpf}");
    insta::assert_snapshot!(bpf);
}

/// `uaddr()` in a PIE binary: one C function adds the distance from the probed function to
/// where the probe fired; a USDT probe's one site, from its attach offset.
#[test]
fn uaddr_adds_the_load_bias_in_pie_binaries_bpf() {
    let bpf = build_with_kernel(
        r#"uprobe:/bin/cpie:tick { @a = *uaddr("counter"); } usdt:/bin/cpie:app:start { @b = *uaddr("flag"); }"#,
    )
    .bpf
    .unwrap();
    assert_eq!(bpf.matches("bpf_get_func_ip").count(), 2, "{bpf}");
    assert!(!bpf.contains("bpf_get_attach_cookie"), "{bpf}");
    insta::assert_snapshot!(bpf);
}
