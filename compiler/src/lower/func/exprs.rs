//! Operators and conditions: unary and binary operators, constant folding, and branches
//! (predicates, `if`, `&&`/`||`, string comparisons).

use super::*;

impl Lower<'_, '_, '_> {
    pub(super) fn unary(&mut self, e: &Expr, op: UnOp, inner: &Expr) -> R<Val> {
        match op {
            UnOp::Not => self.bool_value(e),
            UnOp::Neg | UnOp::BitNot => {
                let v = self.int(inner)?;
                if let Val::Imm(i) = v {
                    return Ok(Val::Imm(if op == UnOp::Neg {
                        i.wrapping_neg()
                    } else {
                        !i
                    }));
                }
                let r = self.owned(v);
                if op == UnOp::Neg {
                    self.emit(Inst::Neg { dst: r });
                } else {
                    self.emit(Inst::Alu {
                        op: AluOp::Xor,
                        dst: r,
                        src: Operand::Imm(-1),
                    });
                }
                Ok(Val::Owned(r))
            }
            UnOp::Deref => {
                let (pointee, space) = match &inner.ty {
                    Type::Ptr(t, space) => (t.as_ref().clone(), *space),
                    // `*addr` of an integer: an unsigned integer of its size (bpftrace's rule).
                    _ => (e.ty.clone(), AddrSpace::Default),
                };
                let p = self.int(inner)?;
                let helper = self.read_helper(space, false);
                self.read_with(helper, p, 0, &pointee, e.span)
            }
        }
    }

    pub(super) fn binary(&mut self, e: &Expr, op: BinOp, lhs: &Expr, rhs: &Expr) -> R<Val> {
        if matches!(
            op,
            BinOp::Eq
                | BinOp::Ne
                | BinOp::Lt
                | BinOp::Le
                | BinOp::Gt
                | BinOp::Ge
                | BinOp::And
                | BinOp::Or
        ) {
            return self.bool_value(e);
        }
        if let Some(v) = self.pointer_arith(e, op, lhs, rhs)? {
            return Ok(v);
        }
        let signed = is_signed(lhs) || is_signed(rhs);
        let alu = alu_of(op, signed).ok_or_else(|| unsupported(e.span, "this operator"))?;
        let a = self.int(lhs)?;
        let b = self.int(rhs)?;
        if let (Val::Imm(x), Val::Imm(y)) = (a, b) {
            return Ok(Val::Imm(fold(alu, x, y)));
        }
        // Identities that need no instruction.
        if let Val::Imm(y) = b {
            let identity = match alu {
                AluOp::Add
                | AluOp::Sub
                | AluOp::Or
                | AluOp::Xor
                | AluOp::Lsh
                | AluOp::Rsh
                | AluOp::Arsh => y == 0,
                AluOp::Mul | AluOp::Div => y == 1,
                _ => false,
            };
            if identity {
                return Ok(a);
            }
        }
        // Commutative operations keep an owned or immediate operand on the right.
        let (a, b) = match (alu, a, b) {
            (
                AluOp::Add | AluOp::Mul | AluOp::And | AluOp::Or | AluOp::Xor,
                Val::Imm(_) | Val::Shared(_),
                Val::Owned(_),
            ) => (b, a),
            _ => (a, b),
        };
        let dst = self.owned(a);
        let src = self.operand(b);
        self.emit(Inst::Alu { op: alu, dst, src });
        Ok(Val::Owned(dst))
    }

    /// 0 or 1 from a condition.
    pub(super) fn bool_value(&mut self, e: &Expr) -> R<Val> {
        if let Some(c) = self.constant(e) {
            return Ok(Val::Imm((c != 0) as i64));
        }
        let dst = self.vreg();
        let done = self.label();
        self.emit(Inst::Mov {
            dst,
            src: Operand::Imm(1),
        });
        self.branch(e, done, true)?;
        self.emit(Inst::Mov {
            dst,
            src: Operand::Imm(0),
        });
        self.emit(Inst::Label(done));
        Ok(Val::Owned(dst))
    }

    /// The value of a constant expression, if it is one.
    pub(super) fn constant(&self, e: &Expr) -> Option<i64> {
        match &e.kind {
            ExprKind::Int(n) => Some(*n as i64),
            ExprKind::Unary {
                op: UnOp::Neg,
                expr,
            } => self.constant(expr).map(i64::wrapping_neg),
            ExprKind::Unary {
                op: UnOp::BitNot,
                expr,
            } => self.constant(expr).map(|v| !v),
            ExprKind::Unary {
                op: UnOp::Not,
                expr,
            } => self.constant(expr).map(|v| (v == 0) as i64),
            ExprKind::Binary { op, lhs, rhs } => {
                let (a, b) = (self.constant(lhs)?, self.constant(rhs)?);
                let signed = is_signed(lhs) || is_signed(rhs);
                Some(match op {
                    BinOp::And => (a != 0 && b != 0) as i64,
                    BinOp::Or => (a != 0 || b != 0) as i64,
                    _ => match cond_of(*op, signed) {
                        Some(c) => c.eval(a as u64, b as u64) as i64,
                        None => fold(alu_of(*op, signed)?, a, b),
                    },
                })
            }
            _ => None,
        }
    }

    /// Whether `e` is false whatever runs (a constant, or `&&` with such a side): code guarded
    /// by it is not emitted, since the verifier rejects unreachable instructions.
    pub(super) fn never_true(&self, e: &Expr) -> bool {
        if let Some(c) = self.constant(e) {
            return c == 0;
        }
        match &e.kind {
            ExprKind::Binary {
                op: BinOp::And,
                lhs,
                rhs,
            } => self.never_true(lhs) || self.never_true(rhs),
            _ => false,
        }
    }

    /// Jumps to `target` when the truth of `e` equals `when`; falls through otherwise.
    pub(super) fn branch(&mut self, e: &Expr, target: Label, when: bool) -> R<()> {
        if let Some(c) = self.constant(e) {
            if (c != 0) == when {
                self.emit(Inst::Jump { target });
            }
            return Ok(());
        }
        match &e.kind {
            ExprKind::Unary {
                op: UnOp::Not,
                expr,
            } => self.branch(expr, target, !when),
            ExprKind::Binary {
                op: BinOp::And,
                lhs,
                rhs,
            }
            | ExprKind::Binary {
                op: BinOp::Or,
                lhs,
                rhs,
            } => {
                let is_and = matches!(e.kind, ExprKind::Binary { op: BinOp::And, .. });
                if is_and != when {
                    // (a && b) false ⇔ a false or b false; (a || b) true ⇔ a true or b true.
                    self.branch(lhs, target, when)?;
                    self.branch(rhs, target, when)
                } else {
                    let skip = self.label();
                    self.branch(lhs, skip, !when)?;
                    self.branch(rhs, target, when)?;
                    self.emit(Inst::Label(skip));
                    Ok(())
                }
            }
            ExprKind::Binary { op, lhs, rhs } if cond_of(*op, false).is_some() => {
                if matches!(lhs.ty, Type::Str { .. }) || matches!(rhs.ty, Type::Str { .. }) {
                    return self.branch_str(*op, lhs, rhs, target, when, e.span);
                }
                if matches!(lhs.ty, Type::Bytes { .. }) {
                    return self.branch_bytes(*op, lhs, rhs, target, when);
                }
                let signed = is_signed(lhs) || is_signed(rhs);
                let mut cond = cond_of(*op, signed).unwrap_or(Cond::Ne);
                let a = self.int(lhs)?;
                let b = self.int(rhs)?;
                // The register side goes left.
                let (a, b) = if matches!(a, Val::Imm(_)) {
                    cond = cond.swap();
                    (b, a)
                } else {
                    (a, b)
                };
                let lhs_reg = match a {
                    Val::Shared(r) | Val::Owned(r) => r,
                    Val::Imm(_) => self.owned(a),
                };
                let rhs_op = self.operand(b);
                if !when {
                    cond = cond.negate().unwrap_or(cond);
                }
                self.emit(Inst::Branch {
                    cond,
                    lhs: lhs_reg,
                    rhs: rhs_op,
                    target,
                });
                Ok(())
            }
            _ => {
                let v = self.int(e)?;
                let r = match v {
                    Val::Shared(r) | Val::Owned(r) => r,
                    Val::Imm(_) => self.owned(v),
                };
                let cond = if when { Cond::Ne } else { Cond::Eq };
                self.emit(Inst::Branch {
                    cond,
                    lhs: r,
                    rhs: Operand::Imm(0),
                    target,
                });
                Ok(())
            }
        }
    }

    /// String `==`/`!=`: both sides to the stack, then compared 8 bytes at a time up to the
    /// shorter size (a literal compares through its NUL).
    pub(super) fn branch_str(
        &mut self,
        op: BinOp,
        lhs: &Expr,
        rhs: &Expr,
        target: Label,
        when: bool,
        span: Span,
    ) -> R<()> {
        let equal_wanted = match op {
            BinOp::Eq => when,
            BinOp::Ne => !when,
            _ => return Err(unsupported(span, "ordering comparisons of strings")),
        };
        self.branch_str_prefix(lhs, rhs, u32::MAX, target, equal_wanted)
    }

    /// Jumps to `target` when the first `limit` bytes of two strings are equal
    /// (`equal_wanted`) or differ (not `equal_wanted`).
    pub(super) fn branch_str_prefix(
        &mut self,
        lhs: &Expr,
        rhs: &Expr,
        limit: u32,
        target: Label,
        equal_wanted: bool,
    ) -> R<()> {
        let size_of = |e: &Expr| match (&e.kind, &e.ty) {
            (ExprKind::Str(s), _) => s.len() as u32 + 1,
            (_, Type::Str { size }) => *size,
            _ => 0,
        };
        let n = size_of(lhs).min(size_of(rhs)).min(limit);
        let mark = self.sp;
        let a = self.alloc(lhs.ty_str_size().max(n))?;
        self.write_str(lhs, a, lhs.ty_str_size().max(n))?;
        let b = self.alloc(rhs.ty_str_size().max(n))?;
        self.write_str(rhs, b, rhs.ty_str_size().max(n))?;
        // Compare only the first n bytes: mask the last word.
        let differ = if equal_wanted { self.label() } else { target };
        let (x, y) = (self.vreg(), self.vreg());
        let mut i = 0u32;
        while i < n {
            let take = (n - i).min(8);
            self.emit(Inst::Load {
                dst: x,
                base: Base::Fp,
                off: a + i as i16,
                size: Size::DW,
            });
            self.emit(Inst::Load {
                dst: y,
                base: Base::Fp,
                off: b + i as i16,
                size: Size::DW,
            });
            if take < 8 {
                let shift = (64 - take * 8) as i32;
                for r in [x, y] {
                    self.emit(Inst::Alu {
                        op: AluOp::Lsh,
                        dst: r,
                        src: Operand::Imm(shift),
                    });
                }
            }
            self.emit(Inst::Branch {
                cond: Cond::Ne,
                lhs: x,
                rhs: Operand::Reg(y),
                target: differ,
            });
            i += 8;
        }
        if equal_wanted {
            self.emit(Inst::Jump { target });
            self.emit(Inst::Label(differ));
        }
        self.sp = mark;
        Ok(())
    }
}
