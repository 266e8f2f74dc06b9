//! C-style target memory: fields of structs behind pointers (kernel structs from BTF, casts),
//! members of nested structs, array elements and `ptr[i]`, `*p`, bit-fields, `char` arrays as
//! strings, and pointer arithmetic scaled by the pointee's size. Each read takes the helper of
//! the pointer's address space (see [`AddrSpace`]); Go values keep their own paths (`place`).

use super::{Lower, R, Val, unsupported};
use crate::ast::{BinOp, Expr, ExprKind, UnOp};
use crate::bpf::{Helper, Size};
use crate::ir::{AluOp, Base, Inst, Operand, VReg};
use crate::types::{AddrSpace, Field, StructType, Type};

fn size_in_memory(ty: &Type) -> Option<u64> {
    ty.memory_size()
}

/// The struct a field of `base` is read from: behind a pointer or a struct value.
fn struct_of(base: &Type) -> Option<&StructType> {
    match base {
        Type::Ptr(inner, _) => match inner.as_ref() {
            Type::Struct(s) => Some(s),
            _ => None,
        },
        Type::Struct(s) => Some(s),
        _ => None,
    }
}

/// The address space `e` is read from when `e` is a field, element or dereference in target
/// memory: its pointer's, or for a member of a struct or array value, the space that value
/// was reached through. `None`: not such an expression (a tracepoint's `args`, a tuple, ...).
pub(super) fn memory_space(e: &Expr) -> Option<AddrSpace> {
    let base = match &e.kind {
        ExprKind::Field { expr, .. } | ExprKind::Index { expr, .. } => expr,
        ExprKind::Unary {
            op: UnOp::Deref,
            expr,
        } => expr,
        _ => return None,
    };
    match &base.ty {
        Type::Ptr(_, space) => Some(*space),
        Type::Struct(_) | Type::Array { .. } if !matches!(e.kind, ExprKind::Unary { .. }) => {
            match base.kind {
                // A copy in a variable, on the program's stack (see `base_addr`).
                ExprKind::Var(_) => Some(AddrSpace::Kernel),
                _ => memory_space(base),
            }
        }
        _ => None,
    }
}

impl Lower<'_, '_, '_> {
    /// The probe-read helper for `space`: bytes, or (`string`) a NUL-terminated string.
    pub(super) fn read_helper(&self, space: AddrSpace, string: bool) -> Helper {
        match (space, string) {
            (AddrSpace::Kernel, false) => Helper::ProbeReadKernel,
            (AddrSpace::Kernel, true) => Helper::ProbeReadKernelStr,
            (AddrSpace::User, false) => Helper::ProbeReadUser,
            (AddrSpace::User, true) => Helper::ProbeReadUserStr,
            (AddrSpace::Default, false) if self.user_space() => Helper::ProbeReadUser,
            (AddrSpace::Default, true) if self.user_space() => Helper::ProbeReadUserStr,
            (AddrSpace::Default, false) => Helper::ProbeRead,
            (AddrSpace::Default, true) => Helper::ProbeReadStr,
        }
    }

    /// The member `name` of the struct `base` reads from (as declared: a bit-field's storage).
    fn member<'t>(&self, base: &'t Expr, name: &str) -> R<&'t Field> {
        let st = struct_of(&base.ty).ok_or_else(|| {
            unsupported(base.span, "a field of this type (its layout is unknown)")
        })?;
        st.fields
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| unsupported(base.span, format!("field `{name}` of `{}`", st.name)))
    }

    /// The address of `e` (a field, element or `*p` in target memory) in a register this code
    /// may modify, and its address space.
    pub(super) fn mem_addr(&mut self, e: &Expr) -> R<(VReg, AddrSpace)> {
        match &e.kind {
            ExprKind::Field { expr, name, .. } => {
                let off = self.member(expr, &name.node)?.offset;
                let (addr, space) = self.base_addr(expr)?;
                self.add_imm(addr, off as i64);
                Ok((addr, space))
            }
            ExprKind::Index { expr, index } => {
                let elem = match &expr.ty {
                    Type::Ptr(t, _) => t.as_ref(),
                    Type::Array { elem, .. } => elem.as_ref(),
                    _ => return Err(unsupported(expr.span, "indexing this value")),
                };
                let size = size_in_memory(elem)
                    .ok_or_else(|| unsupported(expr.span, "elements of an unknown size"))?;
                let (addr, space) = self.base_addr(expr)?;
                let i = self.int(index)?;
                self.add_scaled(addr, i, size as i64, AluOp::Add);
                Ok((addr, space))
            }
            ExprKind::Unary {
                op: UnOp::Deref,
                expr,
            } => {
                let Type::Ptr(_, space) = expr.ty else {
                    return Err(unsupported(e.span, "dereferencing a non-pointer"));
                };
                let p = self.int(expr)?;
                Ok((self.owned(p), space))
            }
            _ => Err(unsupported(e.span, "the address of this expression")),
        }
    }

    /// Where the struct or array `base` starts: the pointer's value, or the address of the
    /// value in memory.
    fn base_addr(&mut self, base: &Expr) -> R<(VReg, AddrSpace)> {
        match (&base.ty, &base.kind) {
            (Type::Ptr(_, space), _) => {
                let p = self.int(base)?;
                Ok((self.owned(p), *space))
            }
            // A struct or array copied into a variable (`$s = *$p; $s.in`): on this program's
            // stack, which the kernel read reads as any kernel memory.
            (Type::Struct(_) | Type::Array { .. }, ExprKind::Var(name)) => {
                match self.vars.get(name) {
                    Some(super::Var::Mem { off, .. }) => {
                        let off = *off;
                        Ok((self.stack_addr(off), AddrSpace::Kernel))
                    }
                    _ => Err(unsupported(base.span, "a member of this variable")),
                }
            }
            _ => self.mem_addr(base),
        }
    }

    fn add_imm(&mut self, r: VReg, n: i64) {
        if n != 0 {
            let src = self.operand(Val::Imm(n));
            self.emit(Inst::Alu {
                op: AluOp::Add,
                dst: r,
                src,
            });
        }
    }

    /// `r op= i * scale`.
    fn add_scaled(&mut self, r: VReg, i: Val, scale: i64, op: AluOp) {
        let src = match i {
            Val::Imm(n) => self.operand(Val::Imm(n.wrapping_mul(scale))),
            v if scale == 1 => self.operand(v),
            v => {
                let t = self.owned(v);
                let s = self.operand(Val::Imm(scale));
                self.emit(Inst::Alu {
                    op: AluOp::Mul,
                    dst: t,
                    src: s,
                });
                Operand::Reg(t)
            }
        };
        if src != Operand::Imm(0) {
            self.emit(Inst::Alu { op, dst: r, src });
        }
    }

    /// The integer (or pointer) value of a field, element or `*p` in target memory; a
    /// bit-field is shifted and masked out of its storage.
    pub(super) fn read_memory_int(&mut self, e: &Expr) -> R<Val> {
        let declared = match &e.kind {
            ExprKind::Field { expr, name, .. } => self.member(expr, &name.node)?.ty.clone(),
            _ => e.ty.clone(),
        };
        let (addr, space) = self.mem_addr(e)?;
        let helper = self.read_helper(space, false);
        let Type::BitField { int, shift, bits } = declared else {
            return self.read_with(helper, Val::Owned(addr), 0, &declared, e.span);
        };
        // The smallest load that covers the bits (little-endian), zero-extended.
        let bytes = match (shift as u32 + bits as u32).div_ceil(8) {
            0..=1 => 1,
            2 => 2,
            3..=4 => 4,
            _ => 8,
        };
        let storage = Type::Int(crate::types::IntType {
            bits: bytes * 8,
            signed: false,
        });
        let v = self.read_with(helper, Val::Owned(addr), 0, &storage, e.span)?;
        let r = self.owned(v);
        let up = 64 - (shift as i32 + bits as i32);
        if up > 0 {
            self.emit(Inst::Alu {
                op: AluOp::Lsh,
                dst: r,
                src: Operand::Imm(up),
            });
        }
        let down = 64 - bits as i32;
        if down > 0 {
            self.emit(Inst::Alu {
                op: if int.signed { AluOp::Arsh } else { AluOp::Rsh },
                dst: r,
                src: Operand::Imm(down),
            });
        }
        Ok(Val::Owned(r))
    }

    /// A C struct in target memory (`*$p`, `$p->inner`) as its bytes at `r10 + off` (zeros
    /// where the read faults), then zeros up to the 8-byte slot's end.
    pub(super) fn write_c_struct(&mut self, e: &Expr, off: i16, size: u64) -> R<()> {
        let size = u32::try_from(size).map_err(|_| unsupported(e.span, "a struct this large"))?;
        let (addr, space) = self.mem_addr(e)?;
        // The slot's whole 8-byte words, aligned, before the read fills the struct's bytes.
        if size % 8 != 0 {
            self.zero_stack(off, super::layout::align8(size));
        }
        let buf = self.stack_addr(off);
        let helper = self.read_helper(space, false);
        self.emit(Inst::Call {
            helper,
            args: vec![
                Operand::Reg(buf),
                Operand::Imm(size as i32),
                Operand::Reg(addr),
            ],
            ret: None,
        });
        Ok(())
    }

    /// A `char` array in target memory (`$t->comm`) as a NUL-padded string at `r10 + off`,
    /// cut to `size - 1` bytes if longer.
    pub(super) fn write_memory_str(&mut self, e: &Expr, off: i16, size: u32) -> R<()> {
        let n = match &e.ty {
            Type::Str { size: n } => *n,
            _ => return Err(unsupported(e.span, "this value as a string")),
        };
        let (addr, space) = self.mem_addr(e)?;
        self.zero_stack(off, size);
        let buf = self.stack_addr(off);
        let helper = self.read_helper(space, false);
        self.emit(Inst::Call {
            helper,
            args: vec![
                Operand::Reg(buf),
                Operand::Imm(n.min(size) as i32),
                Operand::Reg(addr),
            ],
            ret: None,
        });
        if n >= size && size > 0 {
            self.emit(Inst::Store {
                base: Base::Fp,
                off: off + size as i16 - 1,
                size: Size::B,
                src: Operand::Imm(0),
            });
        }
        Ok(())
    }

    /// `p + n`, `n + p`, `p - n` scaled by the size of `p`'s pointee, and `p - q` in elements,
    /// as in C. `None`: no scaling needed (not pointers, or 1-byte pointees).
    pub(super) fn pointer_arith(
        &mut self,
        e: &Expr,
        op: BinOp,
        lhs: &Expr,
        rhs: &Expr,
    ) -> R<Option<Val>> {
        let pointee = |t: &Type| match t {
            Type::Ptr(inner, _) => Some(size_in_memory(inner)),
            _ => None,
        };
        let (l, r) = (pointee(&lhs.ty), pointee(&rhs.ty));
        let size = match (op, l, r) {
            (BinOp::Add | BinOp::Sub, Some(s), None) | (BinOp::Add, None, Some(s)) => s,
            (BinOp::Sub, Some(s), Some(_)) => s,
            _ => return Ok(None),
        }
        .ok_or_else(|| unsupported(e.span, "pointer arithmetic on a pointer to an unknown type"))?;
        if size == 1 {
            return Ok(None);
        }
        let size = size as i64;
        let a = self.int(lhs)?;
        let b = self.int(rhs)?;
        match (l.is_some(), r.is_some()) {
            (true, true) => {
                let d = self.owned(a);
                let src = self.operand(b);
                self.emit(Inst::Alu {
                    op: AluOp::Sub,
                    dst: d,
                    src,
                });
                let (op, by) = if size.count_ones() == 1 {
                    (AluOp::Arsh, size.trailing_zeros() as i64)
                } else {
                    (AluOp::Div, size)
                };
                let src = self.operand(Val::Imm(by));
                self.emit(Inst::Alu { op, dst: d, src });
                Ok(Some(Val::Owned(d)))
            }
            (true, false) => {
                let d = self.owned(a);
                let alu = if op == BinOp::Add {
                    AluOp::Add
                } else {
                    AluOp::Sub
                };
                self.add_scaled(d, b, size, alu);
                Ok(Some(Val::Owned(d)))
            }
            _ => {
                let d = self.owned(b);
                self.add_scaled(d, a, size, AluOp::Add);
                Ok(Some(Val::Owned(d)))
            }
        }
    }
}
