//! `strcontains(haystack, needle)`: a substring search over stack copies of the strings: a
//! bounded loop over the start in the haystack, the needle's bytes compared unrolled.

use super::{Lower, R, StrSize, Val, unsupported};
use crate::ast::Expr;
use crate::bpf::Size;
use crate::ir::{AluOp, Base, Cond, Inst, Operand};
use crate::lower::layout::align8;

impl Lower<'_, '_, '_> {
    /// 1 when `needle` (up to its NUL) occurs in `haystack` (up to its NUL), else 0, as
    /// bpftrace: an empty needle is always found.
    pub(super) fn strcontains(&mut self, e: &Expr, args: &[Expr]) -> R<Val> {
        let [hay, needle] = args else {
            return Err(unsupported(e.span, "strcontains() without two strings"));
        };
        let (h, n) = (hay.ty_str_size(), needle.ty_str_size());
        let mark = self.sp;
        // The haystack, then zeros for the needle's length, so `hay[i + j]` (i < h, j < n)
        // stays inside initialized stack.
        let hay_off = self.alloc(align8(h) + n)?;
        self.write_str(hay, hay_off, h)?;
        self.zero_stack(hay_off + align8(h) as i16, n);
        let needle_off = self.alloc(n)?;
        self.write_str(needle, needle_off, n)?;

        let result = self.vreg();
        self.emit(Inst::Mov {
            dst: result,
            src: Operand::Imm(0),
        });
        let i = self.vreg();
        let (c, d, at) = (self.vreg(), self.vreg(), self.vreg());
        let (outer, next, found, done) = (self.label(), self.label(), self.label(), self.label());
        self.emit(Inst::Mov {
            dst: i,
            src: Operand::Imm(0),
        });
        self.emit(Inst::Label(outer));
        self.emit(Inst::Branch {
            cond: Cond::Ge,
            lhs: i,
            rhs: Operand::Imm(h as i32),
            target: done,
        });
        // The needle's bytes at constant offsets: only `i` varies, so every mismatch reaches
        // `next` in the same verifier state and the paths prune (a loop over j would not).
        for j in 0..n {
            self.emit(Inst::Load {
                dst: c,
                base: Base::Fp,
                off: needle_off + j as i16,
                size: Size::B,
            });
            self.emit(Inst::Branch {
                cond: Cond::Eq,
                lhs: c,
                rhs: Operand::Imm(0),
                target: found,
            });
            self.load_byte_at(d, hay_off + j as i16, i, at);
            // The verifier walks a branch's fall-through first and queues the jump: a match
            // is the jump, so the queue holds a few states per start, not one per byte
            // compared (it allows 8192).
            let matched = self.label();
            self.emit(Inst::Branch {
                cond: Cond::Eq,
                lhs: d,
                rhs: Operand::Reg(c),
                target: matched,
            });
            self.emit(Inst::Jump { target: next });
            self.emit(Inst::Label(matched));
        }
        // The whole needle matched (a needle filling its buffer has no NUL).
        self.emit(Inst::Jump { target: found });
        self.emit(Inst::Label(next));
        // The haystack ended here: no later start can match.
        self.load_byte_at(d, hay_off, i, at);
        self.emit(Inst::Branch {
            cond: Cond::Eq,
            lhs: d,
            rhs: Operand::Imm(0),
            target: done,
        });
        self.emit(Inst::Alu {
            op: AluOp::Add,
            dst: i,
            src: Operand::Imm(1),
        });
        self.emit(Inst::Jump { target: outer });
        self.emit(Inst::Label(found));
        self.emit(Inst::Mov {
            dst: result,
            src: Operand::Imm(1),
        });
        self.emit(Inst::Label(done));
        self.sp = mark;
        Ok(Val::Owned(result))
    }

    /// `dst = *(u8 *)(r10 + off + index)`, the address built in `at`.
    fn load_byte_at(
        &mut self,
        dst: crate::ir::VReg,
        off: i16,
        index: crate::ir::VReg,
        at: crate::ir::VReg,
    ) {
        self.emit(Inst::StackAddr { dst: at, off });
        self.emit(Inst::Alu {
            op: AluOp::Add,
            dst: at,
            src: Operand::Reg(index),
        });
        self.emit(Inst::Load {
            dst,
            base: Base::Reg(at),
            off: 0,
            size: Size::B,
        });
    }
}
