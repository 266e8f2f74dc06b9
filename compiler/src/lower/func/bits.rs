//! Integers taken apart: `bswap` (pure code: shifts and masks), and the u64s user space renders
//! as addresses or text (`macaddr`, `strerror`); `ntop`'s address value (IPv4 or IPv6).

use super::{Lower, R, Val, unsupported};
use crate::ast::{Expr, ExprKind};
use crate::bpf::{Helper, Size};
use crate::builtins::Builtin;
use crate::ir::{AluOp, Base, Inst, Operand};
use crate::types::Type;

impl Lower<'_, '_, '_> {
    pub(super) fn bits_builtin(&mut self, e: &Expr, b: Builtin, args: &[Expr]) -> R<Val> {
        let Some(last) = args.last() else {
            return Err(unsupported(
                e.span,
                format!("`{}` without an argument", b.name()),
            ));
        };
        Ok(match b {
            Builtin::Bswap => {
                let bytes = match &e.ty {
                    Type::Int(it) => u32::from(it.bits / 8),
                    _ => 8,
                };
                let v = self.int(last)?;
                self.bswap(v, bytes)
            }
            Builtin::Strerror => self.int(last)?,
            Builtin::Macaddr => {
                let p = self.int(last)?;
                let p = self.operand(p);
                let mark = self.sp;
                let slot = self.alloc(8)?;
                self.zero_stack(slot, 8);
                let dst = self.stack_addr(slot);
                let helper = if self.user_space() {
                    Helper::ProbeReadUser
                } else {
                    Helper::ProbeRead
                };
                self.emit(Inst::Call {
                    helper,
                    args: vec![Operand::Reg(dst), Operand::Imm(6), p],
                    ret: None,
                });
                let r = self.vreg();
                self.emit(Inst::Load {
                    dst: r,
                    base: Base::Fp,
                    off: slot,
                    size: Size::DW,
                });
                self.sp = mark;
                Val::Owned(r)
            }
            _ => return Err(unsupported(e.span, format!("`{}` here", b.name()))),
        })
    }

    /// The low `bytes` bytes of `v` in reverse order.
    fn bswap(&mut self, v: Val, bytes: u32) -> Val {
        if let Val::Imm(i) = v {
            let mut out = 0u64;
            for k in 0..bytes {
                out |= ((i as u64 >> (8 * k)) & 0xff) << (8 * (bytes - 1 - k));
            }
            return Val::Imm(out as i64);
        }
        let src = self.owned(v);
        let (out, byte) = (self.vreg(), self.vreg());
        self.emit(Inst::Mov {
            dst: out,
            src: Operand::Imm(0),
        });
        for k in 0..bytes {
            self.emit(Inst::Mov {
                dst: byte,
                src: Operand::Reg(src),
            });
            let alu = |op, imm: u32| Inst::Alu {
                op,
                dst: byte,
                src: Operand::Imm(imm as i32),
            };
            if k > 0 {
                self.emit(alu(AluOp::Rsh, 8 * k));
            }
            self.emit(alu(AluOp::And, 0xff));
            let up = 8 * (bytes - 1 - k);
            if up > 0 {
                self.emit(alu(AluOp::Lsh, up));
            }
            self.emit(Inst::Alu {
                op: AluOp::Or,
                dst: out,
                src: Operand::Reg(byte),
            });
        }
        Val::Owned(out)
    }
}

impl Lower<'_, '_, '_> {
    /// `ntop(...)` (or a variable holding one) at `r10 + off`: the family, then the address as
    /// it lies in memory — an integer's low 4 bytes (IPv4), or the bytes of a `u8[4]` or
    /// `u8[16]` array read from target memory (zeros where the read faults).
    pub(super) fn write_inet(&mut self, e: &Expr, off: i16) -> R<()> {
        let args = match &e.kind {
            ExprKind::Var(name) => return self.copy_var(name, off, &Type::Inet, e.span),
            ExprKind::Builtin {
                builtin: Builtin::Ntop,
                args,
            } => args,
            _ => return self.copy_mem_value(e, off, &Type::Inet),
        };
        let Some(addr) = args.last() else {
            return Err(unsupported(e.span, "`ntop` without an argument"));
        };
        let len = match &addr.ty {
            Type::Array { len, .. } | Type::Bytes { len } => *len,
            _ => 4,
        };
        // AF_INET6 (10) for 16 bytes unless the family says otherwise (the checker allows
        // only 2 or 10, matching the address).
        let family = match args.first().map(|a| &a.kind) {
            Some(ExprKind::Int(af)) if args.len() == 2 => *af as i32,
            _ if len == 16 => 10,
            _ => 2,
        };
        self.zero_stack(off, 24);
        self.emit(Inst::Store {
            base: Base::Fp,
            off,
            size: Size::DW,
            src: Operand::Imm(family),
        });
        if let Type::Bytes { len } = addr.ty {
            // `ntop(pton("..."))`: the bytes are a value already.
            self.write_bytes(addr, off + 8, len)?;
        } else if matches!(addr.ty, Type::Array { .. }) {
            let (src, space) = self.mem_addr(addr)?;
            let dst = self.stack_addr(off + 8);
            let helper = self.read_helper(space, false);
            self.emit(Inst::Call {
                helper,
                args: vec![
                    Operand::Reg(dst),
                    Operand::Imm(len as i32),
                    Operand::Reg(src),
                ],
                ret: None,
            });
        } else {
            let v = self.int(addr)?;
            let v = self.operand(v);
            self.emit(Inst::Store {
                base: Base::Fp,
                off: off + 8,
                size: Size::W,
                src: v,
            });
        }
        Ok(())
    }
}
