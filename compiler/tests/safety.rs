//! Security properties of what the compiler emits, checked on every valid case program: no
//! helper that writes to the target's memory or changes its behaviour ever appears in the
//! object the kernel would load. Tracing observes; it never modifies the traced program —
//! unless the user asked for it with `--unsafe` (`signal()`, `override()`), which a case
//! states with a `// unsafe` directive. One exception, as bpftrace's: `watchpoint:FUNC+argN`
//! stops the target (SIGSTOP, and nothing else) in its arming program until the runtime has
//! attached the watchpoint and continued it.

#[path = "support/case_env.rs"]
mod case_env;

use object::{Object, ObjectSection, SectionKind};
use std::path::Path;

/// Helpers that let a program act on the target instead of observing it.
const FORBIDDEN_HELPERS: &[(i32, &str)] = &[
    (36, "bpf_probe_write_user"),
    (58, "bpf_override_return"),
    (109, "bpf_send_signal"),
    (117, "bpf_send_signal_thread"),
];

/// SIGSTOP and SIGCONT on x86-64.
const SIGSTOP: i32 = 19;
const SIGCONT: i32 = 18;

/// Helper ids called by every program section of an ELF object (`call imm` with src_reg 0;
/// src_reg 1 is a BPF-to-BPF call, not a helper), each with the constant the instruction
/// before it moved into r1, if it did.
fn helper_calls(object: &[u8]) -> Vec<(String, i32, Option<i32>)> {
    let file = object::File::parse(object).expect("the compiler writes valid ELF");
    let mut calls = Vec::new();
    for section in file.sections() {
        // Program sections are SHF_ALLOC|SHF_EXECINSTR, which `object` reads as Text.
        if section.kind() != SectionKind::Text {
            continue;
        }
        let name = section.name().unwrap_or("?").to_string();
        let data = section.data().expect("section data");
        let mut r1 = None;
        for insn in data.chunks_exact(8) {
            let opcode = insn[0];
            let src_reg = insn[1] >> 4;
            let imm = i32::from_le_bytes([insn[4], insn[5], insn[6], insn[7]]);
            if opcode == 0x85 && src_reg == 0 {
                calls.push((name.clone(), imm, r1));
            }
            // `mov64 r1, imm`
            r1 = (opcode == 0xb7 && insn[1] & 0x0f == 1).then_some(imm);
        }
    }
    calls
}

#[test]
fn no_case_program_writes_to_user_memory() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut compiled = 0;
    let mut all_calls = 0;
    let mut unsafe_signals = 0;
    let mut watch_stops = 0;
    let mut unsafe_overrides = 0;
    for (relative, source, out) in case_env::compiled_ok_cases(&root) {
        compiled += 1;
        let unsafe_ok = source.lines().any(|l| l.trim() == "// unsafe");
        for (section, helper, r1) in helper_calls(&out.object) {
            all_calls += 1;
            if unsafe_ok && helper == 109 {
                unsafe_signals += 1;
                continue;
            }
            // A watchpoint's arming program stops the process until the runtime continues it,
            // and continues it itself when its event could not be written.
            if section.ends_with("_arm") && helper == 109 && matches!(r1, Some(SIGSTOP | SIGCONT)) {
                watch_stops += 1;
                continue;
            }
            // bpf_override_return: `override()` in a kprobe, with --unsafe only.
            if unsafe_ok && helper == 58 {
                unsafe_overrides += 1;
                continue;
            }
            if let Some((_, name)) = FORBIDDEN_HELPERS.iter().find(|(id, _)| *id == helper) {
                panic!(
                    "{}: section {section} calls {name} (#{helper})",
                    relative.display()
                );
            }
        }
    }
    assert!(compiled > 30, "only {compiled} case programs compiled");
    assert!(
        unsafe_signals > 0,
        "the --unsafe signal() case sends no signal"
    );
    assert!(
        watch_stops > 0,
        "the watchpoint:FUNC+argN case stops nothing"
    );
    assert!(
        unsafe_overrides > 0,
        "the --unsafe override() case overrides nothing"
    );
    assert!(all_calls > 0, "the scan found no helper calls at all");
}

#[test]
fn the_scan_sees_a_forbidden_helper() {
    // Guards the scanner itself: an object with a bpf_probe_write_user call is caught.
    use gprobe_compiler::bpf::{Assembler, Insn, Reg};
    let mut asm = Assembler::new();
    asm.emit(Insn::call(36));
    asm.emit(Insn::mov64_imm(Reg::R0, 0));
    asm.emit(Insn::exit());
    let code = asm.finish().expect("assemble");
    let object = gprobe_compiler::elf::write_object(
        &[gprobe_compiler::elf::ElfProgram {
            section: "uprobe/p0",
            name: "gp_p0",
            insns: &code.insns,
            relocs: &code.relocs,
        }],
        &[],
    )
    .expect("object");
    assert!(
        helper_calls(&object)
            .iter()
            .any(|(section, helper, _)| section == "uprobe/p0" && *helper == 36)
    );
}
