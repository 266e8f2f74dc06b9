//! Every valid case program (`compiler/tests/cases/**/ok/*.gp`) that the compiler accepts is
//! loaded into the REAL kernel verifier. A program that passed our checks but fails the
//! verifier is a compiler bug: the failure names the case and the source span the rejected
//! instruction came from.

#[path = "../../compiler/tests/support/case_env.rs"]
mod case_env;

use gprobe_runtime::RuntimeError;
use std::path::Path;

/// Cases the kernel still rejects, each a known back-end bug with the reason the verifier
/// gives. The test fails when one of them starts passing too (then remove it here).
const KNOWN_REJECTIONS: &[(&str, &str)] = &[];

/// Cases whose helper exists only in kernels built with an option (bpf_override_return:
/// CONFIG_BPF_KPROBE_OVERRIDE): passing and the kernel's refusal of that helper both count.
const NEEDS_KERNEL_OPTION: &[(&str, &str)] = &[(
    "check/ok/override_kprobe.gp",
    "program of this type cannot use helper bpf_override_return#58",
)];

fn ready() -> bool {
    let root = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|r| r.split_whitespace().nth(1).map(|e| e == "0"))
        .unwrap_or(false);
    if root && Path::new("/sys/kernel/btf/vmlinux").exists() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none_or(|v| v.is_empty()),
        "loading into the verifier needs root and a BPF kernel; under CI this is a failure"
    );
    eprintln!("skipped: needs root and a BPF-capable kernel");
    false
}

#[test]
fn every_valid_case_passes_the_kernel_verifier() {
    if !ready() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../compiler/tests/cases");
    let mut verified = 0;
    let mut rejected = Vec::new();
    let mut known_seen = Vec::new();
    for (relative, source, out) in case_env::compiled_ok_cases(&root) {
        match gprobe_runtime::verify(&out.object, &out.manifest, false) {
            Ok(()) => verified += 1,
            Err(RuntimeError::Verifier {
                program, reason, ..
            }) if KNOWN_REJECTIONS
                .contains(&(relative.to_str().unwrap_or(""), reason.as_str())) =>
            {
                known_seen.push(relative.to_string_lossy().into_owned());
                eprintln!(
                    "known rejection: {}: {program}: {reason}",
                    relative.display()
                );
            }
            Err(RuntimeError::Verifier {
                program, reason, ..
            }) if NEEDS_KERNEL_OPTION
                .contains(&(relative.to_str().unwrap_or(""), reason.as_str())) =>
            {
                eprintln!(
                    "this kernel lacks the helper: {}: {program}: {reason}",
                    relative.display()
                );
            }
            Err(RuntimeError::Verifier {
                program,
                reason,
                span,
                insn,
                ..
            }) => {
                let at = span.map_or("no span".to_string(), |s| {
                    let line = source[..s.start as usize].lines().count().max(1);
                    format!(
                        "line {line}: `{}`",
                        &source[s.start as usize..s.end as usize]
                    )
                });
                rejected.push(format!(
                    "{}: {program}: {reason} (insn {insn:?}, {at})",
                    relative.display()
                ));
            }
            Err(other) => rejected.push(format!("{}: {other}", relative.display())),
        }
    }
    eprintln!("{verified} case programs passed the kernel verifier");
    assert!(
        rejected.is_empty(),
        "programs our checks accepted but the kernel rejected:\n{}",
        rejected.join("\n")
    );
    for (case, _) in KNOWN_REJECTIONS {
        assert!(
            known_seen.iter().any(|c| c == case),
            "{case} no longer fails the verifier: remove it from KNOWN_REJECTIONS"
        );
    }
    assert!(verified > 30, "only {verified} case programs were verified");
}
