//! `argN` of a USDT probe: where the note's argument spec says it is at the probe — a register,
//! user memory at `off(%base[,%index,scale])` or at a global (`sym(%rip)`, found from the probe
//! site), or a constant — read at its size and extended by its sign to 64 bits, as bpftrace does.

use super::{Lower, R, Val, pt_regs_offset, unsupported};
use crate::bpf::{Helper, Size};
use crate::ir::{AluOp, Inst, Operand};
use crate::span::Span;
use crate::types::{IntType, Type};
use crate::usdt::{UsdtArg, UsdtLoc};

impl Lower<'_, '_, '_> {
    pub(super) fn usdt_arg(&mut self, args: &[UsdtArg], n: u8, span: Span) -> R<Val> {
        // The checker refused an argument the probe lacks or cannot be read.
        let arg = args
            .get(usize::from(n))
            .ok_or_else(|| unsupported(span, format!("arg{n} of this USDT probe")))?;
        let ty = Type::Int(IntType {
            bits: arg.size * 8,
            signed: arg.signed,
        });
        let reg = |name: &str| {
            pt_regs_offset(name)
                .ok_or_else(|| unsupported(span, format!("the register `{name}` in USDT specs")))
        };
        match &arg.loc {
            UsdtLoc::Const(v) => Ok(self.convert(Val::Imm(*v), &ty)),
            UsdtLoc::Reg(name) => {
                let v = self.ctx_load(reg(name)?, Size::DW);
                Ok(self.convert(v, &ty))
            }
            UsdtLoc::Mem {
                base,
                offset,
                index,
            } => {
                let addr = self.ctx_load(reg(base)?, Size::DW);
                let addr = if let Some((index, scale)) = index {
                    let i = self.ctx_load(reg(index)?, Size::DW);
                    let i = self.owned(i);
                    if *scale > 1 {
                        self.emit(Inst::Alu {
                            op: AluOp::Mul,
                            dst: i,
                            src: Operand::Imm(i32::from(*scale)),
                        });
                    }
                    let a = self.owned(addr);
                    self.emit(Inst::Alu {
                        op: AluOp::Add,
                        dst: a,
                        src: Operand::Reg(i),
                    });
                    Val::Owned(a)
                } else {
                    addr
                };
                self.read_with(Helper::ProbeReadUser, addr, *offset, &ty, span)
            }
            UsdtLoc::FromSite { distance } => {
                let ctx = self.ctx;
                let ip = self.call_value(Helper::GetFuncIp, vec![Operand::Reg(ctx)]);
                self.read_with(Helper::ProbeReadUser, Val::Owned(ip), *distance, &ty, span)
            }
            // `probes` resolved every symbol, or said why not.
            UsdtLoc::Symbol { name, .. } => Err(unsupported(span, format!("the symbol `{name}`"))),
            UsdtLoc::Unsupported(why) => Err(unsupported(span, why.clone())),
        }
    }
}
