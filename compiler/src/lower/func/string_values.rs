//! String values: `str()` of a C string or a Go string into a buffer, and literals.

use super::*;

impl Lower<'_, '_, '_> {
    /// Writes a NUL-padded string of `size` bytes at `r10 + off`.
    pub(super) fn write_str(&mut self, e: &Expr, off: i16, size: u32) -> R<()> {
        match &e.kind {
            ExprKind::Str(s) => {
                self.write_literal(s.as_bytes(), off, size);
                Ok(())
            }
            ExprKind::Var(name) => self.copy_var(name, off, &Type::Str { size }, e.span),
            ExprKind::Builtin {
                builtin: Builtin::Comm,
                ..
            } => {
                self.zero_stack(off + 16, size.saturating_sub(16));
                let buf = self.stack_addr(off);
                self.emit(Inst::Call {
                    helper: Helper::GetCurrentComm,
                    args: vec![Operand::Reg(buf), Operand::Imm(size.min(16) as i32)],
                    ret: None,
                });
                Ok(())
            }
            ExprKind::Builtin {
                builtin: Builtin::Str,
                args,
            } => {
                let Some(ptr) = args.first() else {
                    return Err(unsupported(e.span, "str() without an argument"));
                };
                // `str("text")` / `str($2)`: already a string, nothing to read.
                if matches!(ptr.ty, Type::Str { .. }) {
                    return self.write_str(ptr, off, size);
                }
                if ptr.ty == Type::GoString {
                    return self.write_go_string(ptr, args.get(1), off, size);
                }
                self.zero_stack(off, size);
                let p = self.int(ptr)?;
                let p = self.operand(p);
                // n characters and the NUL (bpftrace's str(p, n)).
                let len = match args.get(1) {
                    None => Operand::Imm(size as i32),
                    Some(n) => match self.int(n)? {
                        Val::Imm(n) => Operand::Imm((n + 1).clamp(0, size as i64) as i32),
                        v => {
                            // Clamp for the verifier: 0 ..= size.
                            let n = self.owned(v);
                            self.emit(Inst::Alu {
                                op: AluOp::Add,
                                dst: n,
                                src: Operand::Imm(1),
                            });
                            self.clamp_unsigned(n, size);
                            Operand::Reg(n)
                        }
                    },
                };
                let buf = self.stack_addr(off);
                let space = match ptr.ty {
                    Type::Ptr(_, space) => space,
                    _ => AddrSpace::Default,
                };
                let helper = self.read_helper(space, true);
                self.emit(Inst::Call {
                    helper,
                    args: vec![Operand::Reg(buf), len, p],
                    ret: None,
                });
                Ok(())
            }
            ExprKind::Builtin {
                builtin: Builtin::Strcat,
                args,
            } => self.write_strcat(e, args, off, size),
            ExprKind::Ternary { cond, then, els } => {
                // A constant condition lowers one arm: the verifier rejects unreachable code.
                if let Some(c) = self.constant(cond) {
                    return self.write_str(if c != 0 { then } else { els }, off, size);
                }
                let (other, done) = (self.label(), self.label());
                self.branch(cond, other, false)?;
                self.write_str(then, off, size)?;
                self.emit(Inst::Jump { target: done });
                self.emit(Inst::Label(other));
                self.write_str(els, off, size)?;
                self.emit(Inst::Label(done));
                Ok(())
            }
            ExprKind::Map(m) => {
                let (index, value) = self.user_map(m)?;
                let stored = match value {
                    MapValue::Plain(layout) => match layout.fields.first().map(|f| &f.kind) {
                        Some(FieldKind::Str { size }) => *size,
                        _ => return Err(unsupported(e.span, "this map as a string")),
                    },
                    MapValue::Agg(_) => return Err(unsupported(e.span, "this map as a string")),
                };
                let key = self.key(m, index, None)?;
                let p = self.lookup(index, key);
                let (absent, done) = (self.label(), self.label());
                self.branch_if_zero(p, absent);
                self.copy_str(Base::Reg(p), 0, stored, off, size);
                self.emit(Inst::Jump { target: done });
                self.emit(Inst::Label(absent));
                self.zero_stack(off, size);
                self.emit(Inst::Label(done));
                Ok(())
            }
            ExprKind::Field { expr, .. } if is_tuple_value(expr) => {
                self.copy_mem_value(e, off, &Type::Str { size })
            }
            ExprKind::Field { expr, name, .. } if self.is_tracepoint_args(expr) => {
                let (field_off, field_ty) = self.tracepoint_field(expr, name)?;
                let field_size = match field_ty {
                    Type::Str { size: n } | Type::Buf { size: n } => n,
                    _ => size,
                };
                self.zero_stack(off, size);
                self.copy_from_ctx(field_off, off, field_size.min(size));
                if field_size > size && size > 0 {
                    // Cut to the slot: keep it NUL-terminated.
                    self.emit(Inst::Store {
                        base: Base::Fp,
                        off: off + size as i16 - 1,
                        size: Size::B,
                        src: Operand::Imm(0),
                    });
                }
                Ok(())
            }
            ExprKind::Field { .. } | ExprKind::Index { .. }
                if memory::memory_space(e).is_some() =>
            {
                self.write_memory_str(e, off, size)
            }
            _ => Err(unsupported(e.span, "this string expression")),
        }
    }

    /// Writes `bytes` NUL-padded to a `size`-byte slot, cut to `size - 1` bytes if longer.
    pub(super) fn write_literal(&mut self, bytes: &[u8], off: i16, size: u32) {
        let mut padded = bytes[..bytes.len().min(size.saturating_sub(1) as usize)].to_vec();
        padded.resize(align8(size) as usize, 0);
        for (i, chunk) in padded.chunks(8).enumerate() {
            let at = off + (i * 8) as i16;
            let word = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
            if word >> 31 == 0 || word >> 31 == (1 << 33) - 1 {
                self.emit(Inst::Store {
                    base: Base::Fp,
                    off: at,
                    size: Size::DW,
                    src: Operand::Imm(word as i32),
                });
            } else {
                self.emit(Inst::Store {
                    base: Base::Fp,
                    off: at,
                    size: Size::W,
                    src: Operand::Imm(word as u32 as i32),
                });
                self.emit(Inst::Store {
                    base: Base::Fp,
                    off: at + 4,
                    size: Size::W,
                    src: Operand::Imm((word >> 32) as u32 as i32),
                });
            }
        }
    }

    /// `str(s)` of a Go string: exactly `len` bytes (at most the buffer), NUL-padded.
    pub(super) fn write_go_string(
        &mut self,
        s: &Expr,
        limit: Option<&Expr>,
        off: i16,
        size: u32,
    ) -> R<()> {
        let place = self
            .place(s)?
            .ok_or_else(|| unsupported(s.span, "this Go string expression"))?;
        let u64t = Type::Int(crate::types::IntType::U64);
        let ptr = self.load_place(place.clone().sub(0, 8), &u64t, s.span)?;
        let ptr = self.owned(ptr);
        let len = self.load_place(place.sub(8, 8), &u64t, s.span)?;
        let len = self.owned(len);
        let mut cap = size;
        match limit.map(|n| (n, self.constant(n))) {
            Some((_, Some(n))) => cap = cap.min(n.clamp(0, size as i64) as u32),
            // A run-time limit (`str(arg1, arg2)` on a stripped binary): len = min(len, n).
            Some((n, None)) => {
                let n = self.int(n)?;
                let n = self.owned(n);
                let keep = self.label();
                self.emit(Inst::Branch {
                    cond: Cond::Le,
                    lhs: len,
                    rhs: Operand::Reg(n),
                    target: keep,
                });
                self.emit(Inst::Mov {
                    dst: len,
                    src: Operand::Reg(n),
                });
                self.emit(Inst::Label(keep));
            }
            None => {}
        }
        // So the verifier sees a bounded size.
        self.clamp_unsigned(len, cap);
        self.zero_stack(off, size);
        let buf = self.stack_addr(off);
        self.emit(Inst::Call {
            helper: Helper::ProbeReadUser,
            args: vec![Operand::Reg(buf), Operand::Reg(len), Operand::Reg(ptr)],
            ret: None,
        });
        Ok(())
    }
}
