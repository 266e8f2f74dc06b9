//! Values in memory: writing an expression's value into a stack slot (map keys, map values,
//! event fields), tuples and their fields, and copies that convert between sizes.

use super::*;

impl Lower<'_, '_, '_> {
    /// Writes `e` (of type `ty`) into the stack at `r10 + off`, laid out as [`layout`] says.
    pub(super) fn write_value(&mut self, e: &Expr, off: i16, ty: &Type) -> R<()> {
        match ty {
            Type::Int(_)
            | Type::Ptr(..)
            | Type::Sym { .. }
            | Type::Coded(_)
            | Type::GoPc
            | Type::Rendered(_)
            | Type::Stack { .. }
            | Type::Timestamp { .. } => {
                let v = self.int(e)?;
                self.store_val(off, v);
                Ok(())
            }
            Type::Str { size } => self.write_str(e, off, *size),
            // The string as read; user space normalizes it when printing.
            Type::SqlText { size } => match &e.kind {
                ExprKind::Var(name) => self.copy_var(name, off, ty, e.span),
                ExprKind::Builtin {
                    builtin: Builtin::Sqlnorm,
                    args,
                } if args.len() == 1 => self.write_str(&args[0], off, *size),
                _ => self.copy_mem_value(e, off, ty),
            },
            Type::Buf { size } => self.write_buf(e, off, *size),
            Type::Bytes { len } => self.write_bytes(e, off, *len),
            Type::GoCaller => self.write_gocaller(e, off),
            Type::Inet => self.write_inet(e, off),
            Type::Tuple(_) | Type::Record(_) => {
                let parts: Vec<&Expr> = match &e.kind {
                    ExprKind::Tuple(items) => items.iter().collect(),
                    ExprKind::Record(fields) => fields.iter().map(|(_, x)| x).collect(),
                    ExprKind::Var(name) => return self.copy_var(name, off, ty, e.span),
                    _ => return self.copy_mem_value(e, off, ty),
                };
                let slots = component_types(ty);
                let (FieldKind::Tuple(layout), _) =
                    layout::field_kind(ty).ok_or_else(|| unsupported(e.span, "this tuple"))?
                else {
                    return Err(unsupported(e.span, "this tuple"));
                };
                for ((p, f), slot) in parts.into_iter().zip(&layout.fields).zip(slots) {
                    self.write_value(p, off + f.offset as i16, slot)?;
                }
                Ok(())
            }
            Type::Struct(s) => match &e.kind {
                ExprKind::Var(name) => self.copy_var(name, off, ty, e.span),
                _ => self.write_c_struct(e, off, s.size),
            },
            Type::Array { .. } => match &e.kind {
                ExprKind::Var(name) => self.copy_var(name, off, ty, e.span),
                _ => self.write_c_struct(e, off, ty.memory_size().unwrap_or(0)),
            },
            _ => Err(unsupported(
                e.span,
                format!("a value of type {ty:?} in memory"),
            )),
        }
    }

    /// `buf(p, n)`: a length byte, then `n` bytes read from the probed address space (zeros
    /// where the read faults), as the manifest's `FieldKind::Buf` lays it out.
    pub(super) fn write_buf(&mut self, e: &Expr, off: i16, size: u32) -> R<()> {
        let ty = Type::Buf { size };
        match &e.kind {
            ExprKind::Var(name) => self.copy_var(name, off, &ty, e.span),
            ExprKind::Builtin {
                builtin: Builtin::Buf,
                args,
            } => {
                let Some(ptr) = args.first() else {
                    return Err(unsupported(e.span, "buf() without an argument"));
                };
                self.zero_stack(off, size + 1);
                // A run-time length (`buf($skb->data, $skb->len)`), clamped to the buffer for
                // the verifier and for the length byte.
                let len = match args.get(1) {
                    Some(n) => match self.int(n)? {
                        Val::Imm(_) => Operand::Imm(size as i32),
                        v => {
                            let n = self.owned(v);
                            self.clamp_unsigned(n, size);
                            Operand::Reg(n)
                        }
                    },
                    None => Operand::Imm(size as i32),
                };
                self.emit(Inst::Store {
                    base: Base::Fp,
                    off,
                    size: Size::B,
                    src: len,
                });
                let p = self.int(ptr)?;
                let p = self.operand(p);
                let dst = self.stack_addr(off + 1);
                let helper = if self.user_space() {
                    Helper::ProbeReadUser
                } else {
                    Helper::ProbeRead
                };
                self.emit(Inst::Call {
                    helper,
                    args: vec![Operand::Reg(dst), len, p],
                    ret: None,
                });
                Ok(())
            }
            _ => Err(unsupported(e.span, "a buffer from this expression")),
        }
    }

    /// Where the tuple, record or string `e` is in memory: a variable's stack slot, a map
    /// element's value (found with one lookup, never copied as a whole), a literal built in a
    /// new stack slot, or a field of one of those.
    pub(super) fn mem_value(&mut self, e: &Expr) -> R<MemValue> {
        match &e.kind {
            ExprKind::Var(name) => match self.vars.get(name) {
                Some(Var::Mem { off, ty }) => Ok(MemValue {
                    base: Base::Fp,
                    off: *off,
                    ty: ty.clone(),
                    lookup: None,
                }),
                _ => Err(unsupported(e.span, "this variable here")),
            },
            ExprKind::Map(m) => {
                let (index, value) = self.user_map(m)?;
                let stored = match (value, self.module.checked.map(&m.name.node)) {
                    (MapValue::Plain(_), Some(info)) => match &info.value {
                        crate::check::MapValue::Plain(ty) => ty.clone(),
                        crate::check::MapValue::Agg(_) => {
                            return Err(unsupported(e.span, "this map's value here"));
                        }
                    },
                    _ => return Err(unsupported(e.span, "this map's value here")),
                };
                let key = self.key(m, index, None)?;
                let p = self.lookup(index, key);
                Ok(MemValue {
                    base: Base::Reg(p),
                    off: 0,
                    ty: stored,
                    lookup: Some(p),
                })
            }
            ExprKind::Field { expr, name, .. } if is_tuple_value(expr) => {
                let outer = self.mem_value(expr)?;
                let (FieldKind::Tuple(layout), _) = layout::field_kind(&outer.ty)
                    .ok_or_else(|| unsupported(e.span, "this tuple"))?
                else {
                    return Err(unsupported(e.span, "a field of this value"));
                };
                let names: Vec<String> = match &outer.ty {
                    Type::Record(fields) => fields.iter().map(|(n, _)| n.clone()).collect(),
                    _ => (0..layout.fields.len()).map(|i| i.to_string()).collect(),
                };
                let types = component_types(&outer.ty);
                let at = names
                    .iter()
                    .position(|n| *n == name.node)
                    .ok_or_else(|| unsupported(name.span, format!("field `{}`", name.node)))?;
                let (Some(field), Some(ty)) = (layout.fields.get(at), types.get(at)) else {
                    return Err(unsupported(name.span, format!("field `{}`", name.node)));
                };
                Ok(MemValue {
                    off: outer.off + field.offset as i16,
                    ty: (*ty).clone(),
                    ..outer
                })
            }
            ExprKind::Tuple(_) | ExprKind::Record(_) => {
                let size = layout::stack_size(&e.ty)
                    .ok_or_else(|| unsupported(e.span, "a tuple of this type"))?;
                let off = self.alloc(size)?;
                self.write_value(e, off, &e.ty)?;
                Ok(MemValue {
                    base: Base::Fp,
                    off,
                    ty: e.ty.clone(),
                    lookup: None,
                })
            }
            _ => Err(unsupported(e.span, "a tuple from this expression")),
        }
    }

    /// Runs `present` on the value at `v`, or `absent` instead when `v` is a map element that
    /// is not there (bpftrace reads a missing element as zeros).
    pub(super) fn with_mem_value(
        &mut self,
        v: &MemValue,
        present: impl FnOnce(&mut Self, Base, i16, &Type) -> R<()>,
        absent: impl FnOnce(&mut Self) -> R<()>,
    ) -> R<()> {
        let Some(p) = v.lookup else {
            return present(self, v.base, v.off, &v.ty);
        };
        let (missing, done) = (self.label(), self.label());
        self.branch_if_zero(p, missing);
        present(self, v.base, v.off, &v.ty)?;
        self.emit(Inst::Jump { target: done });
        self.emit(Inst::Label(missing));
        absent(self)?;
        self.emit(Inst::Label(done));
        Ok(())
    }

    /// Copies the tuple, record or string `e` into a slot of type `ty` at `r10 + off`.
    pub(super) fn copy_mem_value(&mut self, e: &Expr, off: i16, ty: &Type) -> R<()> {
        let v = self.mem_value(e)?;
        let size = layout::stack_size(ty).ok_or_else(|| unsupported(e.span, "this value"))?;
        let span = e.span;
        self.with_mem_value(
            &v,
            |l, base, src, src_ty| {
                if base == Base::Fp && src == off && src_ty == ty {
                    return Ok(());
                }
                l.copy_converting(base, src, src_ty, off, ty, span)
            },
            |l| {
                l.zero_stack(off, size);
                Ok(())
            },
        )
    }

    /// An integer field of a tuple or record (`$t.0`, `@m[k].1`, `(a, b).0`).
    pub(super) fn tuple_field_int(&mut self, e: &Expr) -> R<Val> {
        let v = self.mem_value(e)?;
        if !matches!(
            v.ty,
            Type::Int(_)
                | Type::Ptr(..)
                | Type::Sym { .. }
                | Type::Coded(_)
                | Type::GoPc
                | Type::Rendered(_)
                | Type::Stack { .. }
                | Type::Timestamp { .. }
        ) {
            return Err(unsupported(e.span, "this tuple field as a number"));
        }
        let dst = self.vreg();
        if v.lookup.is_some() {
            self.emit(Inst::Mov {
                dst,
                src: Operand::Imm(0),
            });
        }
        self.with_mem_value(
            &v,
            |l, base, off, _| {
                l.emit(Inst::Load {
                    dst,
                    base,
                    off,
                    size: Size::DW,
                });
                Ok(())
            },
            |_| Ok(()),
        )?;
        Ok(Val::Owned(dst))
    }

    /// Copies variable `name` into a slot of type `dst_ty` at `dst`.
    pub(super) fn copy_var(&mut self, name: &str, dst: i16, dst_ty: &Type, span: Span) -> R<()> {
        let Some(Var::Mem { off, ty }) = self.vars.get(name) else {
            return Err(unsupported(span, "this variable here"));
        };
        let (src, src_ty) = (*off, ty.clone());
        if src != dst {
            self.copy_converting(Base::Fp, src, &src_ty, dst, dst_ty, span)?;
        }
        Ok(())
    }

    /// Copies a value of type `src_ty` at `base + src` (the stack or a map value) into a slot
    /// of type `dst_ty` at `r10 + dst`: a string is cut to the slot (keeping a NUL) or
    /// NUL-padded, tuples convert field by field.
    pub(super) fn copy_converting(
        &mut self,
        base: Base,
        src: i16,
        src_ty: &Type,
        dst: i16,
        dst_ty: &Type,
        span: Span,
    ) -> R<()> {
        if src_ty == dst_ty {
            let size = layout::stack_size(dst_ty).unwrap_or(0);
            self.copy_words(base, src, dst, size);
            return Ok(());
        }
        match (src_ty, dst_ty) {
            (Type::Str { size: from }, Type::Str { size: to }) => {
                self.copy_str(base, src, *from, dst, *to);
                Ok(())
            }
            (Type::Tuple(_) | Type::Record(_), Type::Tuple(_) | Type::Record(_)) => {
                let (Some((FieldKind::Tuple(from), _)), Some((FieldKind::Tuple(to), _))) =
                    (layout::field_kind(src_ty), layout::field_kind(dst_ty))
                else {
                    return Err(unsupported(span, "this tuple"));
                };
                let pairs = from
                    .fields
                    .iter()
                    .zip(component_types(src_ty))
                    .zip(to.fields.iter().zip(component_types(dst_ty)));
                for ((sf, st), (df, dt)) in pairs {
                    self.copy_converting(
                        base,
                        src + sf.offset as i16,
                        st,
                        dst + df.offset as i16,
                        dt,
                        span,
                    )?;
                }
                Ok(())
            }
            _ => {
                // Integers and ids: one 8-byte word either way.
                self.copy_words(base, src, dst, 8);
                Ok(())
            }
        }
    }

    /// Copies a string of `from` bytes at `base + src` into a `to`-byte slot at `r10 + dst`:
    /// never more than the slot holds, the rest zeroed, and a cut string still ends in NUL.
    pub(super) fn copy_str(&mut self, base: Base, src: i16, from: u32, dst: i16, to: u32) {
        let words = align8(from.min(to)) / 8;
        let t = self.vreg();
        for i in 0..words as i16 {
            self.emit(Inst::Load {
                dst: t,
                base,
                off: src + i * 8,
                size: Size::DW,
            });
            self.emit(Inst::Store {
                base: Base::Fp,
                off: dst + i * 8,
                size: Size::DW,
                src: Operand::Reg(t),
            });
        }
        let copied = words * 8;
        if copied < align8(to) {
            self.zero_stack(dst + copied as i16, align8(to) - copied);
        }
        if from > to && to > 0 {
            self.emit(Inst::Store {
                base: Base::Fp,
                off: dst + to as i16 - 1,
                size: Size::B,
                src: Operand::Imm(0),
            });
        }
    }

    /// Copies `size` bytes (whole words) from `base + src` to `r10 + dst`.
    pub(super) fn copy_words(&mut self, base: Base, src: i16, dst: i16, size: u32) {
        let t = self.vreg();
        for i in (0..size as i16).step_by(8) {
            self.emit(Inst::Load {
                dst: t,
                base,
                off: src + i,
                size: Size::DW,
            });
            self.emit(Inst::Store {
                base: Base::Fp,
                off: dst + i,
                size: Size::DW,
                src: Operand::Reg(t),
            });
        }
    }
}
