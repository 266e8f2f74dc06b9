//! RET instructions of a function, for return probes: kernel uretprobes corrupt Go stacks, so a
//! Go "return probe" is a uprobe on each RET. amd64 code is decoded instruction by instruction
//! (a byte scan for 0xC3 hits immediates and displacements); arm64 has fixed 4-byte instructions.

use iced_x86::{Decoder, DecoderOptions, Mnemonic};

use super::{Arch, Result};

/// Offsets from `entry` of every RET in `code` (the bytes of `[entry, end)`). A function that
/// only tail-calls or never returns has none. ENDBR64 and INT3 padding decode like any other
/// instruction; undecodable bytes (data in text) are stepped over one at a time.
pub fn ret_offsets(arch: Arch, entry: u64, code: &[u8]) -> Result<Vec<u64>> {
    match arch {
        Arch::X86_64 => {
            let mut decoder = Decoder::with_ip(64, code, entry, DecoderOptions::NONE);
            let mut out = Vec::new();
            for insn in &mut decoder {
                if insn.mnemonic() == Mnemonic::Ret {
                    out.push(insn.ip() - entry);
                }
            }
            Ok(out)
        }
        Arch::Aarch64 => Ok(code
            .chunks_exact(4)
            .enumerate()
            .filter(|(_, w)| {
                let w = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
                (w & 0xffff_fc1f) == 0xd65f_0000
            })
            .map(|(i, _)| i as u64 * 4)
            .collect()),
    }
}

/// Offset of the first instruction after an ENDBR64 at the entry (0 without one): where an entry
/// probe may go when the caller wants to skip the landing pad.
pub fn skip_endbr64(code: &[u8]) -> u64 {
    if code.starts_with(&[0xf3, 0x0f, 0x1e, 0xfa]) {
        4
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c3_inside_an_instruction_is_not_a_ret() {
        // mov eax, 0xc3c3c3c3; ret; int3
        let code = [0xb8, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xcc];
        assert_eq!(ret_offsets(Arch::X86_64, 0x1000, &code).unwrap(), [5]);
    }

    #[test]
    fn endbr64_then_ret() {
        let code = [0xf3, 0x0f, 0x1e, 0xfa, 0xc3];
        assert_eq!(ret_offsets(Arch::X86_64, 0, &code).unwrap(), [4]);
        assert_eq!(skip_endbr64(&code), 4);
    }

    #[test]
    fn garbage_and_empty_do_not_panic() {
        assert!(ret_offsets(Arch::X86_64, 0, &[]).unwrap().is_empty());
        let garbage: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
        let _ = ret_offsets(Arch::X86_64, 0, &garbage).unwrap();
        assert!(ret_offsets(Arch::X86_64, 0, &[0x0f]).unwrap().is_empty());
    }

    #[test]
    fn arm64_ret() {
        // nop; ret (x30)
        let code = [0x1f, 0x20, 0x03, 0xd5, 0xc0, 0x03, 0x5f, 0xd6];
        assert_eq!(ret_offsets(Arch::Aarch64, 0, &code).unwrap(), [4]);
    }
}
