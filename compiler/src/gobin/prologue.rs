//! Where an entry probe should go so that it fires once per call.
//!
//! A Go function that may grow its stack starts with a stack check: compare SP with
//! `g.stackguard0` (`0x10(R14)` on amd64, `16(R28)` on arm64) and branch to a tail stub calling
//! `runtime.morestack`, which grows the stack and jumps back to the function's entry. A probe at
//! the entry therefore fires twice for such a call; a probe on the instruction after the branch
//! fires once. Nothing before that point touches argument registers or SP, so arguments are read
//! there exactly as at the entry (registers, stack arguments from SP+8).

use iced_x86::{Decoder, DecoderOptions, Mnemonic, OpKind, Register};

use super::Arch;

/// The longest stack check is the huge-frame form (MOVQ SP, R12; SUBQ; JCS; CMPQ; JLS).
const MAX_PROLOGUE_INSNS: usize = 6;
/// arm64 `ldr x16, [x28, #16]` (MOVD 16(g), R16): loads g.stackguard0.
const ARM64_LOAD_STACKGUARD: u32 = 0xf940_0b90;

/// Offset from the entry of the first instruction after the stack check's branch to morestack,
/// or 0 when the function has no stack check (NOSPLIT, assembly, C).
pub fn entry_probe_offset(arch: Arch, entry: u64, code: &[u8]) -> u64 {
    match arch {
        Arch::X86_64 => amd64(entry, code),
        Arch::Aarch64 => arm64(code),
    }
}

fn amd64(entry: u64, code: &[u8]) -> u64 {
    let end = entry + code.len() as u64;
    let mut decoder = Decoder::with_ip(64, code, entry, DecoderOptions::NONE);
    let mut compared_stackguard = false;
    for insn in decoder.iter().take(MAX_PROLOGUE_INSNS) {
        if insn.mnemonic() == Mnemonic::Cmp
            && (0..insn.op_count()).any(|i| insn.op_kind(i) == OpKind::Memory)
            && insn.memory_base() == Register::R14
            && insn.memory_displacement64() == 0x10
        {
            compared_stackguard = true;
            continue;
        }
        if is_jcc(insn.mnemonic()) && insn.op0_kind() == OpKind::NearBranch64 {
            let target = insn.near_branch_target();
            if compared_stackguard && target > insn.ip() && target < end {
                return insn.next_ip() - entry;
            }
            if compared_stackguard {
                return 0;
            }
        }
    }
    0
}

/// Whether a frame-pointer walk taken by a uprobe on the instruction `code` starts with misses
/// the probed function's direct caller. Before the function pushes its frame pointer, the
/// return address sits at `*SP` and no frame links to it; the kernel (since Linux 6.11) adds
/// `*SP` itself only when the probed instruction is `push %rbp` or `endbr64`. Go 1.19 allocates
/// the frame first (`SUB $n, SP`), frameless leaf functions never push: there the caller is lost.
/// arm64 keeps the return address in LR, which gprobe does not read: false there.
pub fn fp_walk_misses_caller(arch: Arch, code: &[u8]) -> bool {
    const PUSH_RBP: u8 = 0x55;
    const ENDBR64: [u8; 4] = [0xf3, 0x0f, 0x1e, 0xfa];
    match arch {
        Arch::X86_64 => !(code.first() == Some(&PUSH_RBP) || code.starts_with(&ENDBR64)),
        Arch::Aarch64 => false,
    }
}

fn is_jcc(m: Mnemonic) -> bool {
    use Mnemonic::*;
    matches!(
        m,
        Jo | Jno | Jb | Jae | Je | Jne | Jbe | Ja | Js | Jns | Jp | Jnp | Jl | Jge | Jle | Jg
    )
}

fn arm64(code: &[u8]) -> u64 {
    let mut loaded_stackguard = false;
    for (i, w) in code.chunks_exact(4).take(MAX_PROLOGUE_INSNS).enumerate() {
        let w = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
        if w == ARM64_LOAD_STACKGUARD {
            loaded_stackguard = true;
        }
        // B.cond: 0101 0100 imm19 0 cond; the check branches on LS (unsigned <=).
        let is_bcond = w & 0xff00_0010 == 0x5400_0000;
        if loaded_stackguard && is_bcond && w & 0xf == 0x9 {
            return (i as u64 + 1) * 4;
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amd64_small_frame_check() {
        // CMPQ SP, 0x10(R14); JBE +0x10; PUSHQ BP; ... ; (stub) CALL morestack
        let mut code = vec![0x49, 0x3b, 0x66, 0x10, 0x76, 0x10, 0x55];
        code.resize(0x20, 0xcc);
        assert_eq!(entry_probe_offset(Arch::X86_64, 0x1000, &code), 6);
    }

    #[test]
    fn caller_missing_unless_push_rbp_or_endbr() {
        // PUSHQ BP (Go 1.21+ after the stack check): the kernel adds the caller.
        assert!(!fp_walk_misses_caller(
            Arch::X86_64,
            &[0x55, 0x48, 0x89, 0xe5]
        ));
        assert!(!fp_walk_misses_caller(
            Arch::X86_64,
            &[0xf3, 0x0f, 0x1e, 0xfa, 0x55]
        ));
        // SUBQ $0x18, SP (Go 1.19) and a frameless MOVQ: it does not.
        assert!(fp_walk_misses_caller(
            Arch::X86_64,
            &[0x48, 0x83, 0xec, 0x18]
        ));
        assert!(fp_walk_misses_caller(Arch::X86_64, &[0x48, 0x89, 0xc3]));
        assert!(!fp_walk_misses_caller(Arch::Aarch64, &[0, 0, 0, 0]));
    }

    #[test]
    fn no_check_means_entry() {
        // PUSHQ BP; MOVQ SP, BP; RET
        let code = [0x55, 0x48, 0x89, 0xe5, 0xc3];
        assert_eq!(entry_probe_offset(Arch::X86_64, 0, &code), 0);
        assert_eq!(entry_probe_offset(Arch::X86_64, 0, &[]), 0);
        assert_eq!(
            entry_probe_offset(Arch::Aarch64, 0, &[0xc0, 0x03, 0x5f, 0xd6]),
            0
        );
    }
}
