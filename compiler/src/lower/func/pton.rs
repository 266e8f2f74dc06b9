//! Byte-array values ([`Type::Bytes`], from `pton`): written into a slot, indexed, compared.
//! The address is a literal, so its bytes are constants stored a word at a time.

use super::{Lower, R, Val, unsupported};
use crate::ast::{BinOp, Expr, ExprKind};
use crate::bpf::Size;
use crate::builtins::Builtin;
use crate::ir::{AluOp, Base, Cond, Inst, Label, Operand};
use crate::lower::layout::{self, align8};
use crate::types::Type;

impl Lower<'_, '_, '_> {
    /// Writes the byte array `e` (`pton(...)`, a variable or a map value) at `r10 + off`,
    /// zero-padded to 8 bytes.
    pub(super) fn write_bytes(&mut self, e: &Expr, off: i16, len: u32) -> R<()> {
        let ty = Type::Bytes { len };
        match &e.kind {
            ExprKind::Var(name) => self.copy_var(name, off, &ty, e.span),
            ExprKind::Builtin {
                builtin: Builtin::Pton,
                args,
            } => {
                let Some(ExprKind::Str(text)) = args.first().map(|a| &a.kind) else {
                    return Err(unsupported(e.span, "pton() without an address literal"));
                };
                let mut bytes = crate::check::pton_bytes(text)
                    .map_err(|why| unsupported(e.span, format!("pton(\"{text}\"): {why}")))?;
                bytes.resize(align8(len) as usize, 0);
                for (i, word) in bytes.chunks(8).enumerate() {
                    let word = u64::from_le_bytes(word.try_into().unwrap_or([0; 8]));
                    self.store_imm64(off + 8 * i as i16, word);
                }
                Ok(())
            }
            _ => self.copy_mem_value(e, off, &ty),
        }
    }

    /// `bytes[i]`: one byte (unsigned, as bpftrace prints them), 0 past the end or when a map
    /// element is missing.
    pub(super) fn byte_element(&mut self, array: &Expr, index: &Expr, len: u32) -> R<Val> {
        let mark = self.sp;
        let off = self.alloc(len)?;
        self.write_bytes(array, off, len)?;
        let i = self.int(index)?;
        let r = self.vreg();
        if let Val::Imm(i) = i {
            if !(0..i64::from(len)).contains(&i) {
                self.sp = mark;
                return Ok(Val::Imm(0));
            }
            self.emit(Inst::Load {
                dst: r,
                base: Base::Fp,
                off: off + i as i16,
                size: Size::B,
            });
            self.sp = mark;
            return Ok(Val::Owned(r));
        }
        // A run-time index: bounds-checked, so the verifier sees the read inside the slot.
        let i = self.owned(i);
        let done = self.label();
        self.emit(Inst::Mov {
            dst: r,
            src: Operand::Imm(0),
        });
        self.emit(Inst::Branch {
            cond: Cond::Ge,
            lhs: i,
            rhs: Operand::Imm(len as i32),
            target: done,
        });
        let at = self.stack_addr(off);
        self.emit(Inst::Alu {
            op: AluOp::Add,
            dst: at,
            src: Operand::Reg(i),
        });
        self.emit(Inst::Load {
            dst: r,
            base: Base::Reg(at),
            off: 0,
            size: Size::B,
        });
        self.emit(Inst::Label(done));
        self.sp = mark;
        Ok(Val::Owned(r))
    }

    /// `a == b` / `a != b` of two byte arrays of one length: both into slots, compared a
    /// word at a time (the padding is zero in both).
    pub(super) fn branch_bytes(
        &mut self,
        op: BinOp,
        lhs: &Expr,
        rhs: &Expr,
        target: Label,
        when: bool,
    ) -> R<()> {
        let Type::Bytes { len } = lhs.ty else {
            return Err(unsupported(lhs.span, "comparing this value"));
        };
        let equal_wanted = match op {
            BinOp::Eq => when,
            BinOp::Ne => !when,
            _ => return Err(unsupported(lhs.span, "ordering comparisons of byte arrays")),
        };
        let size = layout::stack_size(&lhs.ty).unwrap_or(8);
        let mark = self.sp;
        let a = self.alloc(size)?;
        self.write_bytes(lhs, a, len)?;
        let b = self.alloc(size)?;
        self.write_bytes(rhs, b, len)?;
        let differ = if equal_wanted { self.label() } else { target };
        let (x, y) = (self.vreg(), self.vreg());
        for word in 0..size / 8 {
            let at = 8 * word as i16;
            for (r, slot) in [(x, a), (y, b)] {
                self.emit(Inst::Load {
                    dst: r,
                    base: Base::Fp,
                    off: slot + at,
                    size: Size::DW,
                });
            }
            self.emit(Inst::Branch {
                cond: Cond::Ne,
                lhs: x,
                rhs: Operand::Reg(y),
                target: differ,
            });
        }
        if equal_wanted {
            self.emit(Inst::Jump { target });
            self.emit(Inst::Label(differ));
        }
        self.sp = mark;
        Ok(())
    }
}
