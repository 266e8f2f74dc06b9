//! Where a Go program keeps `g` in thread-local storage (amd64), for reading the current
//! goroutine where R14 is not g (tracepoints, profile, assembly functions).
//!
//! A purely Go-linked program puts it at `fs_base - 8`. With external linking (cgo) Go's slot is
//! the TLS variable `runtime.tlsg`, and the C linker lays out the executable's TLS block: C
//! `__thread` variables move it (e.g. to `fs_base - 56`). Either way Go code reads g with an
//! absolute `%fs:disp` operand (local-exec TLS), so the displacement of that load in a runtime
//! function that always reads g from TLS — `runtime.systemstack` (assembly, `get_tls`) — is the
//! slot, read the same way from stripped and unstripped binaries.

use iced_x86::{Decoder, DecoderOptions, Mnemonic, OpKind, Register};

/// Go's TLS slot for g when nothing else shares the block (internal linking).
pub const DEFAULT_TLS_G: i64 = -8;

/// The instructions of a function searched for the TLS load of g.
const MAX_INSNS: usize = 32;

/// The `fs_base`-relative displacement of the first `MOV reg64, %fs:disp` (no base or index
/// register) in amd64 `code`, or `None` when the function has none.
pub fn fs_load_displacement(code: &[u8]) -> Option<i64> {
    let mut decoder = Decoder::new(64, code, DecoderOptions::NONE);
    decoder.iter().take(MAX_INSNS).find_map(|insn| {
        let loads_fs_slot = insn.mnemonic() == Mnemonic::Mov
            && insn.op0_kind() == OpKind::Register
            && is_gpr64(insn.op0_register())
            && insn.op1_kind() == OpKind::Memory
            && insn.segment_prefix() == Register::FS
            && insn.memory_base() == Register::None
            && insn.memory_index() == Register::None;
        loads_fs_slot.then(|| insn.memory_displacement64() as i64)
    })
}

/// RAX..R15 (contiguous in iced's `Register`; its `is_gpr64` needs a feature we leave off).
fn is_gpr64(r: Register) -> bool {
    (Register::RAX as u32..=Register::R15 as u32).contains(&(r as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_linking_slot() {
        // PUSHQ BP; MOVQ SP, BP; MOVQ 0x10(SP), DI; MOVQ %fs:-8, AX
        let code = [
            0x55, 0x48, 0x89, 0xe5, 0x48, 0x8b, 0x7c, 0x24, 0x10, 0x64, 0x48, 0x8b, 0x04, 0x25,
            0xf8, 0xff, 0xff, 0xff,
        ];
        assert_eq!(fs_load_displacement(&code), Some(-8));
    }

    #[test]
    fn cgo_slot_moved_by_c_thread_locals() {
        // MOVQ %fs:-0x38, R14 (runtime.tlsg after 48 bytes of C __thread variables)
        let code = [0x64, 0x4c, 0x8b, 0x34, 0x25, 0xc8, 0xff, 0xff, 0xff];
        assert_eq!(fs_load_displacement(&code), Some(-0x38));
    }

    #[test]
    fn stores_and_other_loads_are_not_the_slot() {
        // MOVQ DX, %fs:-8 (a store); MOVQ 8(AX), AX; RET
        let code = [
            0x64, 0x48, 0x89, 0x14, 0x25, 0xf8, 0xff, 0xff, 0xff, 0x48, 0x8b, 0x40, 0x08, 0xc3,
        ];
        assert_eq!(fs_load_displacement(&code), None);
        assert_eq!(fs_load_displacement(&[]), None);
    }
}
