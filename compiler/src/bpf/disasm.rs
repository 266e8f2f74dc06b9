//! A disassembler in the style of `bpftool prog dump xlated`: `   3: (63) *(u32 *)(r10 -4) = r0`.
//! Map loads print the map's name when the caller knows it.

use super::helpers::Helper;
use super::insn::{Insn, Reg};
use super::opcode::*;

/// One instruction as text, without index or opcode. `map` names the map an LD_IMM64 refers
/// to; `next` is the following slot (for LD_IMM64's upper half).
pub fn format_insn(insn: &Insn, next: Option<&Insn>, map: Option<&str>) -> String {
    let dst = Reg(insn.dst);
    let src = Reg(insn.src);
    let class = class(insn.code);
    let op = insn.code & 0xf0;
    let from_reg = insn.code & X != 0;
    match class {
        ALU64 | ALU => {
            let (d, s) = if class == ALU {
                (format!("w{}", insn.dst), format!("w{}", insn.src))
            } else {
                (dst.to_string(), src.to_string())
            };
            let rhs = if from_reg { s } else { imm_text(insn.imm) };
            match op {
                NEG => format!("{d} = -{d}"),
                MOV => format!("{d} = {rhs}"),
                _ => format!("{d} {}= {rhs}", alu_symbol(op)),
            }
        }
        LDX => format!(
            "{dst} = *({} *)({src} {:+})",
            insn.size().c_type(),
            insn.off
        ),
        STX if insn.code & 0xe0 == ATOMIC => {
            format!(
                "lock *({} *)({dst} {:+}) += {src}",
                insn.size().c_type(),
                insn.off
            )
        }
        STX => format!(
            "*({} *)({dst} {:+}) = {src}",
            insn.size().c_type(),
            insn.off
        ),
        ST => format!(
            "*({} *)({dst} {:+}) = {}",
            insn.size().c_type(),
            insn.off,
            insn.imm
        ),
        LD if insn.code == LD_IMM64 => {
            if insn.src == PSEUDO_MAP_VALUE {
                format!("{dst} = &map[{}] + {}", map.unwrap_or("?"), insn.imm)
            } else if insn.src == PSEUDO_MAP_FD || map.is_some() {
                format!("{dst} = map[{}]", map.unwrap_or("?"))
            } else {
                let hi = next.map_or(0, |n| n.imm as u32 as u64);
                format!("{dst} = {:#x}", (hi << 32) | insn.imm as u32 as u64)
            }
        }
        JMP | JMP32 => match op {
            CALL => match Helper::from_id(insn.imm) {
                Some(h) => format!("call {}#{}", h.name(), insn.imm),
                None => format!("call #{}", insn.imm),
            },
            EXIT => "exit".to_string(),
            JA => format!("goto pc{:+}", insn.off),
            _ => {
                let rhs = if from_reg {
                    src.to_string()
                } else {
                    imm_text(insn.imm)
                };
                format!("if {dst} {} {rhs} goto pc{:+}", jump_symbol(op), insn.off)
            }
        },
        _ => format!("<unknown opcode {:#04x}>", insn.code),
    }
}

fn imm_text(imm: i32) -> String {
    if imm < 0 {
        imm.to_string()
    } else {
        format!("{imm:#x}")
    }
}

fn alu_symbol(op: u8) -> &'static str {
    match op {
        ADD => "+",
        SUB => "-",
        MUL => "*",
        DIV => "/",
        OR => "|",
        AND => "&",
        LSH => "<<",
        RSH => ">>",
        MOD => "%",
        XOR => "^",
        ARSH => "s>>",
        _ => "?",
    }
}

fn jump_symbol(op: u8) -> &'static str {
    match op {
        JEQ => "==",
        JGT => ">",
        JGE => ">=",
        JSET => "&",
        JNE => "!=",
        JSGT => "s>",
        JSGE => "s>=",
        JLT => "<",
        JLE => "<=",
        JSLT => "s<",
        JSLE => "s<=",
        _ => "?",
    }
}

/// A whole program, one line per instruction (LD_IMM64 counts two slots, as in the kernel).
/// `map_at(i)` names the map loaded at instruction `i`, if any.
pub fn disassemble(insns: &[Insn], map_at: &dyn Fn(usize) -> Option<String>) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < insns.len() {
        let insn = &insns[i];
        let map = map_at(i);
        let text = format_insn(insn, insns.get(i + 1), map.as_deref());
        out.push_str(&format!("{i:4}: ({:02x}) {text}\n", insn.code));
        i += if insn.code == LD_IMM64 { 2 } else { 1 };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::insn::Size;

    fn text(insn: Insn) -> String {
        format_insn(&insn, None, None)
    }

    #[test]
    fn bpftool_style() {
        assert_eq!(text(Insn::mov64_reg(Reg::R6, Reg::R1)), "r6 = r1");
        assert_eq!(text(Insn::call(14)), "call bpf_get_current_pid_tgid#14");
        assert_eq!(text(Insn::alu64_imm(RSH, Reg::R0, 32)), "r0 >>= 0x20");
        assert_eq!(
            text(Insn::stx(Size::W, Reg::FP, -4, Reg::R0)),
            "*(u32 *)(r10 -4) = r0"
        );
        assert_eq!(
            text(Insn::ldx(Size::DW, Reg::R0, Reg::R1, 0)),
            "r0 = *(u64 *)(r1 +0)"
        );
        assert_eq!(
            text(Insn::jmp_imm(JEQ, Reg::R0, 0, 3)),
            "if r0 == 0x0 goto pc+3"
        );
        assert_eq!(text(Insn::alu32_reg(MOV, Reg::R0, Reg::R0)), "w0 = w0");
        assert_eq!(
            text(Insn::atomic_add(Size::DW, Reg::R1, 8, Reg::R2)),
            "lock *(u64 *)(r1 +8) += r2"
        );
        let [lo, hi] = Insn::ld_map_fd(Reg::R1);
        assert_eq!(
            format_insn(&lo, Some(&hi), Some("counts")),
            "r1 = map[counts]"
        );
        let [lo, hi] = Insn::ld_imm64(Reg::R1, 1 << 33);
        assert_eq!(format_insn(&lo, Some(&hi), None), "r1 = 0x200000000");
    }

    /// rbpf's disassembler reads our bytes as the same instructions.
    #[test]
    fn agrees_with_rbpf() {
        let insns = [
            Insn::mov64_reg(Reg::R6, Reg::R1),
            Insn::alu64_imm(ADD, Reg::R2, -8),
            Insn::ldx(Size::W, Reg::R3, Reg::R6, 16),
            Insn::stx(Size::DW, Reg::FP, -16, Reg::R3),
            Insn::st(Size::H, Reg::FP, -2, 7),
            Insn::jmp_reg(JSGT, Reg::R1, Reg::R2, 4),
            Insn::call(5),
            Insn::exit(),
        ];
        let bytes = crate::bpf::insn::encode_all(&insns);
        let ours: Vec<_> = insns
            .iter()
            .map(|i| (i.code, i.dst, i.src, i.off, i.imm))
            .collect();
        let theirs: Vec<_> = rbpf::ebpf::to_insn_vec(&bytes)
            .iter()
            .map(|i| (i.opc, i.dst, i.src, i.off, i.imm))
            .collect();
        assert_eq!(ours, theirs);
        let names: Vec<String> = rbpf::disassembler::to_insn_vec(&bytes)
            .into_iter()
            .map(|i| i.name)
            .collect();
        assert_eq!(
            names,
            [
                "mov64", "add64", "ldxw", "stxdw", "sth", "jsgt", "call", "exit"
            ]
        );
    }
}
