//! Machine code from allocated IR: each IR instruction becomes one or a few eBPF instructions;
//! call arguments are placed in r1..r5 by a parallel move; jumps to the next instruction are
//! dropped.

use crate::bpf::asm::{Assembled, Assembler, remove_nop_jumps};
use crate::bpf::insn::{Insn, Reg};
use crate::bpf::opcode::*;
use crate::ir::{AluOp, Base, Cond, Function, Inst, Operand};
use crate::regalloc::Allocation;

pub fn emit(func: &Function, alloc: &Allocation) -> Assembled {
    let mut asm = Assembler::new();
    let labels: Vec<_> = (0..func.next_label).map(|_| asm.new_label()).collect();
    let reg = |v| alloc.reg(v);
    for s in &func.insts {
        asm.set_span(s.span);
        match &s.inst {
            Inst::Entry { ctx } => mov(&mut asm, reg(*ctx), Reg::R1),
            Inst::Mov {
                dst,
                src: Operand::Reg(src),
            } => mov(&mut asm, reg(*dst), reg(*src)),
            Inst::Mov {
                dst,
                src: Operand::Imm(imm),
            } => asm.emit(Insn::mov64_imm(reg(*dst), *imm)),
            Inst::MovImm64 { dst, imm } => match i32::try_from(*imm as i64) {
                Ok(small) => asm.emit(Insn::mov64_imm(reg(*dst), small)),
                Err(_) => asm.ld_imm64(reg(*dst), *imm),
            },
            Inst::Mov32 { dst, src } => asm.emit(Insn::alu32_reg(MOV, reg(*dst), reg(*src))),
            Inst::Alu { op, dst, src } => {
                let op = alu_code(*op);
                asm.emit(match src {
                    Operand::Reg(r) => Insn::alu64_reg(op, reg(*dst), reg(*r)),
                    Operand::Imm(i) => Insn::alu64_imm(op, reg(*dst), *i),
                })
            }
            Inst::Neg { dst } => asm.emit(Insn::neg64(reg(*dst))),
            Inst::Load {
                dst,
                base,
                off,
                size,
            } => asm.emit(Insn::ldx(*size, reg(*dst), base_reg(base, &reg), *off)),
            Inst::Store {
                base,
                off,
                size,
                src,
            } => asm.emit(match src {
                Operand::Reg(r) => Insn::stx(*size, base_reg(base, &reg), *off, reg(*r)),
                Operand::Imm(i) => Insn::st(*size, base_reg(base, &reg), *off, *i),
            }),
            Inst::StackAddr { dst, off } => {
                asm.emit(Insn::mov64_reg(reg(*dst), Reg::FP));
                asm.emit(Insn::alu64_imm(ADD, reg(*dst), *off as i32));
            }
            Inst::LoadMap { dst, map } => asm.ld_map(reg(*dst), *map),
            Inst::LoadMapValue { dst, map, off } => asm.ld_map_value(reg(*dst), *map, *off),
            Inst::AtomicAdd { base, off, src } => asm.emit(Insn::atomic_add(
                crate::bpf::Size::DW,
                reg(*base),
                *off,
                reg(*src),
            )),
            Inst::Call { helper, args, ret } => {
                let moves: Vec<(Reg, Source)> = args
                    .iter()
                    .enumerate()
                    .map(|(k, a)| {
                        let src = match a {
                            Operand::Reg(v) => Source::Reg(reg(*v)),
                            Operand::Imm(i) => Source::Imm(*i),
                        };
                        (Reg::ARGS[k], src)
                    })
                    .collect();
                parallel_move(&mut asm, moves);
                asm.emit(Insn::call(helper.id()));
                if let Some(r) = ret {
                    mov(&mut asm, reg(*r), Reg::R0);
                }
            }
            Inst::Jump { target } => asm.jump(Insn::ja(0), labels[target.0 as usize]),
            Inst::Branch {
                cond,
                lhs,
                rhs,
                target,
            } => {
                let op = cond_code(*cond);
                let insn = match rhs {
                    Operand::Reg(r) => Insn::jmp_reg(op, reg(*lhs), reg(*r), 0),
                    Operand::Imm(i) => Insn::jmp_imm(op, reg(*lhs), *i, 0),
                };
                asm.jump(insn, labels[target.0 as usize]);
            }
            Inst::Label(l) => asm.place(labels[l.0 as usize]),
            Inst::Exit { value } => {
                asm.emit(Insn::mov64_imm(Reg::R0, *value));
                asm.emit(Insn::exit());
            }
        }
    }
    // Labels are all placed by construction (lowering places every label it creates).
    let mut prog = asm.finish().unwrap_or_default();
    remove_nop_jumps(&mut prog);
    prog
}

fn mov(asm: &mut Assembler, dst: Reg, src: Reg) {
    if dst != src {
        asm.emit(Insn::mov64_reg(dst, src));
    }
}

fn base_reg(base: &Base, reg: &dyn Fn(crate::ir::VReg) -> Reg) -> Reg {
    match base {
        Base::Reg(v) => reg(*v),
        Base::Fp => Reg::FP,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Reg(Reg),
    Imm(i32),
}

/// Moves every source into its destination at once. Cycles among r1..r5 are broken through a
/// caller-saved register that no pending move reads (there are six, and at most five sources).
fn parallel_move(asm: &mut Assembler, mut moves: Vec<(Reg, Source)>) {
    moves.retain(|(d, s)| *s != Source::Reg(*d));
    loop {
        let pending_sources: Vec<Reg> = moves
            .iter()
            .filter_map(|(_, s)| match s {
                Source::Reg(r) => Some(*r),
                Source::Imm(_) => None,
            })
            .collect();
        let ready = moves
            .iter()
            .position(|(d, s)| matches!(s, Source::Reg(_)) && !pending_sources.contains(d));
        if let Some(i) = ready {
            let (d, s) = moves.remove(i);
            if let Source::Reg(s) = s {
                mov(asm, d, s);
            }
            continue;
        }
        let Some(i) = moves.iter().position(|(_, s)| matches!(s, Source::Reg(_))) else {
            break;
        };
        // Every remaining register move is in a cycle: park one source elsewhere.
        let Source::Reg(parked) = moves[i].1 else {
            break;
        };
        let temp = [Reg::R0, Reg::R1, Reg::R2, Reg::R3, Reg::R4, Reg::R5]
            .into_iter()
            .find(|r| !pending_sources.contains(r))
            .unwrap_or(Reg::R0);
        mov(asm, temp, parked);
        for m in &mut moves {
            if m.1 == Source::Reg(parked) {
                m.1 = Source::Reg(temp);
            }
        }
    }
    for (d, s) in moves {
        if let Source::Imm(i) = s {
            asm.emit(Insn::mov64_imm(d, i));
        }
    }
}

fn alu_code(op: AluOp) -> u8 {
    match op {
        AluOp::Add => ADD,
        AluOp::Sub => SUB,
        AluOp::Mul => MUL,
        AluOp::Div => DIV,
        AluOp::Mod => MOD,
        AluOp::And => AND,
        AluOp::Or => OR,
        AluOp::Xor => XOR,
        AluOp::Lsh => LSH,
        AluOp::Rsh => RSH,
        AluOp::Arsh => ARSH,
    }
}

fn cond_code(c: Cond) -> u8 {
    match c {
        Cond::Eq => JEQ,
        Cond::Ne => JNE,
        Cond::Gt => JGT,
        Cond::Ge => JGE,
        Cond::Lt => JLT,
        Cond::Le => JLE,
        Cond::Sgt => JSGT,
        Cond::Sge => JSGE,
        Cond::Slt => JSLT,
        Cond::Sle => JSLE,
        Cond::Set => JSET,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moves_of(moves: Vec<(Reg, Source)>) -> Vec<Insn> {
        let mut asm = Assembler::new();
        parallel_move(&mut asm, moves);
        asm.finish().unwrap().insns
    }

    #[test]
    fn swap_goes_through_a_free_register() {
        let insns = moves_of(vec![
            (Reg::R1, Source::Reg(Reg::R2)),
            (Reg::R2, Source::Reg(Reg::R1)),
        ]);
        // Simulate: r1=1, r2=2.
        let mut regs = [0u64; 11];
        regs[1] = 1;
        regs[2] = 2;
        for i in &insns {
            regs[i.dst as usize] = regs[i.src as usize];
        }
        assert_eq!((regs[1], regs[2]), (2, 1));
        assert_eq!(insns.len(), 3);
    }

    #[test]
    fn chains_are_ordered() {
        let insns = moves_of(vec![
            (Reg::R1, Source::Reg(Reg::R6)),
            (Reg::R2, Source::Reg(Reg::R1)),
            (Reg::R3, Source::Imm(7)),
        ]);
        assert_eq!(insns[0], Insn::mov64_reg(Reg::R2, Reg::R1));
        assert_eq!(insns[1], Insn::mov64_reg(Reg::R1, Reg::R6));
        assert_eq!(insns[2], Insn::mov64_imm(Reg::R3, 7));
    }
}
