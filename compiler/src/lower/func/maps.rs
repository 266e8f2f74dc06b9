//! Maps: keys, lookups, updates and deletes, compound assignment, and the aggregations
//! (`count`, `sum`, `hist`, `lhist`, ...) with their bucket arithmetic.

use super::*;

impl Lower<'_, '_, '_> {
    /// `map_delete_elem(map, r10 + key)`. A missing key is fine, but `-k` reports it as bpftrace
    /// does when the delete is the user's (`span`: the `delete(...)` written).
    pub(super) fn delete_key(&mut self, map_index: usize, key: i16, span: Option<Span>) -> R<()> {
        let map = self.vreg();
        self.emit(Inst::LoadMap {
            dst: map,
            map: map_index,
        });
        let keyp = self.stack_addr(key);
        let reported = span.filter(|_| self.checks_helpers());
        let ret = reported.map(|_| self.vreg());
        self.emit(Inst::Call {
            helper: Helper::MapDeleteElem,
            args: vec![Operand::Reg(map), Operand::Reg(keyp)],
            ret,
        });
        if let (Some(span), Some(ret)) = (reported, ret) {
            self.report_helper_error(Helper::MapDeleteElem, ret, span)?;
        }
        Ok(())
    }

    /// `map_lookup_elem(map, r10 + key)`
    pub(super) fn lookup(&mut self, map_index: usize, key: i16) -> VReg {
        let map = self.vreg();
        self.emit(Inst::LoadMap {
            dst: map,
            map: map_index,
        });
        let keyp = self.stack_addr(key);
        let p = self.vreg();
        self.emit(Inst::Call {
            helper: Helper::MapLookupElem,
            args: vec![Operand::Reg(map), Operand::Reg(keyp)],
            ret: Some(p),
        });
        p
    }

    /// `*(u64 *)(p + off) += value`
    pub(super) fn add_in_place(&mut self, p: VReg, off: i16, value: Operand) {
        let t = self.vreg();
        self.emit(Inst::Load {
            dst: t,
            base: Base::Reg(p),
            off,
            size: Size::DW,
        });
        self.emit(Inst::Alu {
            op: AluOp::Add,
            dst: t,
            src: value,
        });
        self.emit(Inst::Store {
            base: Base::Reg(p),
            off,
            size: Size::DW,
            src: Operand::Reg(t),
        });
    }

    // ---- maps -------------------------------------------------------------------------

    pub(super) fn user_map(&mut self, m: &MapRef) -> R<(usize, MapValue)> {
        let index = *self
            .module
            .user_maps
            .get(&m.name.node)
            .ok_or_else(|| unsupported(m.span, format!("map @{}", m.name.node)))?;
        Ok((index, self.module.maps[index].value.clone()))
    }

    /// Writes the key of `@m[keys]` to a new stack slot; `bucket` goes in the trailing u64.
    pub(super) fn key(&mut self, m: &MapRef, index: usize, bucket: Option<Val>) -> R<i16> {
        let key_layout = self.module.maps[index].key.clone();
        let off = self.alloc(key_layout.size)?;
        if m.keys.len() != key_layout.fields.len() {
            return Err(Diagnostic::error(
                super::codes::MAP_SHAPE,
                format!(
                    "@{} is used with {} keys here and {} elsewhere",
                    m.name.node,
                    m.keys.len(),
                    key_layout.fields.len()
                ),
            )
            .primary(m.span, "here"));
        }
        if m.keys.is_empty() && bucket.is_none() {
            self.emit(Inst::Store {
                base: Base::Fp,
                off,
                size: Size::DW,
                src: Operand::Imm(0),
            });
        }
        let key_types = self
            .module
            .checked
            .map(&m.name.node)
            .map(|info| info.keys.clone())
            .unwrap_or_default();
        for ((k, f), ty) in m.keys.iter().zip(&key_layout.fields).zip(&key_types) {
            self.write_value(k, off + f.offset as i16, ty)?;
        }
        if let Some(b) = bucket {
            let at = off + key_layout.size as i16 - 8;
            self.store_val(at, b);
        }
        Ok(off)
    }

    pub(super) fn store_val(&mut self, off: i16, v: Val) {
        match v {
            Val::Imm(i) => self.store_imm64(off, i as u64),
            Val::Shared(r) | Val::Owned(r) => self.emit(Inst::Store {
                base: Base::Fp,
                off,
                size: Size::DW,
                src: Operand::Reg(r),
            }),
        }
    }

    pub(super) fn assign_map(&mut self, m: &MapRef, op: Option<BinOp>, value: &Expr) -> R<()> {
        let (index, spec) = self.user_map(m)?;
        match (&spec, &value.ty) {
            (MapValue::Agg(kind), Type::Agg(_)) => self.aggregate(m, index, *kind, value),
            (MapValue::Plain(layout), _) => {
                let layout = layout.clone();
                if let Some(op) = op {
                    return self.map_compound(m, index, op, value);
                }
                let slot = match self.module.checked.map(&m.name.node).map(|i| &i.value) {
                    Some(crate::check::MapValue::Plain(ty)) => ty.clone(),
                    _ => value.ty.clone(),
                };
                let key = self.key(m, index, None)?;
                let val = self.alloc(layout.size)?;
                self.write_value(value, val, &slot)?;
                self.update(index, key, val, m.span)
            }
            _ => Err(Diagnostic::error(
                super::codes::MAP_SHAPE,
                format!("@{} holds another kind of value", m.name.node),
            )
            .primary(value.span, "assigned here")),
        }
    }

    /// `map_update_elem(map, key, value, BPF_ANY)`; a failure (map full) counts in slot 1 for
    /// maps that lose keys while tracing (see `Module::emptied_maps`).
    pub(super) fn update(&mut self, index: usize, key: i16, val: i16, span: Span) -> R<()> {
        let map = self.vreg();
        self.emit(Inst::LoadMap {
            dst: map,
            map: index,
        });
        let keyp = self.stack_addr(key);
        let valp = self.stack_addr(val);
        let ret = self.vreg();
        self.emit(Inst::Call {
            helper: Helper::MapUpdateElem,
            args: vec![
                Operand::Reg(map),
                Operand::Reg(keyp),
                Operand::Reg(valp),
                Operand::Imm(BPF_ANY),
            ],
            ret: Some(ret),
        });
        if self.module.emptied_maps.contains(&index) {
            self.count_failure(ret, 1)?;
        }
        if self.checks_helpers() {
            let at = self.assignment_at(span);
            self.report_helper_error(Helper::MapUpdateElem, ret, at)?;
        }
        Ok(())
    }

    /// `@m[k] op= v` on a plain integer map: in place when present, else inserted.
    pub(super) fn map_compound(
        &mut self,
        m: &MapRef,
        index: usize,
        op: BinOp,
        value: &Expr,
    ) -> R<()> {
        let alu = alu_of(op, is_signed(value))
            .ok_or_else(|| unsupported(value.span, "this compound operator"))?;
        let key = self.key(m, index, None)?;
        let rhs = self.int(value)?;
        let rhs = self.operand(rhs);
        let p = self.lookup(index, key);
        let (absent, done) = (self.label(), self.label());
        self.branch_if_zero(p, absent);
        let t = self.vreg();
        if matches!(op, BinOp::Add | BinOp::Sub) {
            // `@n += x` / `@n -= x` from several CPUs at once (a gauge such as requests in
            // flight) must not lose updates: an atomic add in place.
            match (op, rhs) {
                (BinOp::Sub, Operand::Imm(i)) if i != i32::MIN => {
                    self.emit(Inst::Mov {
                        dst: t,
                        src: Operand::Imm(-i),
                    });
                }
                _ => {
                    self.emit(Inst::Mov { dst: t, src: rhs });
                    if op == BinOp::Sub {
                        self.emit(Inst::Neg { dst: t });
                    }
                }
            }
            self.emit(Inst::AtomicAdd {
                base: p,
                off: 0,
                src: t,
            });
        } else {
            self.emit(Inst::Load {
                dst: t,
                base: Base::Reg(p),
                off: 0,
                size: Size::DW,
            });
            self.emit(Inst::Alu {
                op: alu,
                dst: t,
                src: rhs,
            });
            self.emit(Inst::Store {
                base: Base::Reg(p),
                off: 0,
                size: Size::DW,
                src: Operand::Reg(t),
            });
        }
        self.emit(Inst::Jump { target: done });
        self.emit(Inst::Label(absent));
        let val = self.alloc(8)?;
        let fresh = self.vreg();
        self.emit(Inst::Mov {
            dst: fresh,
            src: Operand::Imm(0),
        });
        self.emit(Inst::Alu {
            op: alu,
            dst: fresh,
            src: rhs,
        });
        self.emit(Inst::Store {
            base: Base::Fp,
            off: val,
            size: Size::DW,
            src: Operand::Reg(fresh),
        });
        self.update(index, key, val, m.span)?;
        self.emit(Inst::Label(done));
        Ok(())
    }

    pub(super) fn aggregate(
        &mut self,
        m: &MapRef,
        index: usize,
        kind: AggKind,
        value: &Expr,
    ) -> R<()> {
        let ExprKind::Builtin { args, .. } = &value.kind else {
            return Err(unsupported(value.span, "this aggregation"));
        };
        let arg = match args.first() {
            Some(a) => Some(self.int(a)?),
            None => None,
        };
        let bucket = match kind {
            AggKind::Hist => Some(self.log2_bucket(arg.unwrap_or(Val::Imm(0)))),
            AggKind::Lhist { min, max, step } => {
                Some(self.linear_bucket(arg.unwrap_or(Val::Imm(0)), min, max, step))
            }
            _ => None,
        };
        let key = self.key(m, index, bucket)?;
        let v = arg.map(|a| self.operand(a)).unwrap_or(Operand::Imm(1));
        let p = self.lookup(index, key);
        let (absent, done) = (self.label(), self.label());
        self.branch_if_zero(p, absent);
        match kind {
            AggKind::Count => self.add_in_place(p, 0, Operand::Imm(1)),
            // A bucket keeps its count and the sum of its values (exporters' `_sum`).
            AggKind::Hist | AggKind::Lhist { .. } => {
                self.add_in_place(p, 0, Operand::Imm(1));
                self.add_in_place(p, 8, v);
            }
            AggKind::Sum => self.add_in_place(p, 0, v),
            AggKind::Avg | AggKind::Stats => {
                self.add_in_place(p, 0, v);
                self.add_in_place(p, 8, Operand::Imm(1));
            }
            AggKind::Min | AggKind::Max => {
                // Replace when unset or better.
                let (replace, keep) = (self.label(), self.label());
                let set = self.vreg();
                self.emit(Inst::Load {
                    dst: set,
                    base: Base::Reg(p),
                    off: 8,
                    size: Size::DW,
                });
                self.branch_if_zero(set, replace);
                let cur = self.vreg();
                self.emit(Inst::Load {
                    dst: cur,
                    base: Base::Reg(p),
                    off: 0,
                    size: Size::DW,
                });
                let keep_if = if kind == AggKind::Min {
                    Cond::Sle
                } else {
                    Cond::Sge
                };
                self.emit(Inst::Branch {
                    cond: keep_if,
                    lhs: cur,
                    rhs: v,
                    target: keep,
                });
                self.emit(Inst::Label(replace));
                self.emit(Inst::Store {
                    base: Base::Reg(p),
                    off: 0,
                    size: Size::DW,
                    src: v,
                });
                self.emit(Inst::Store {
                    base: Base::Reg(p),
                    off: 8,
                    size: Size::DW,
                    src: Operand::Imm(1),
                });
                self.emit(Inst::Label(keep));
            }
        }
        self.emit(Inst::Jump { target: done });
        self.emit(Inst::Label(absent));
        let val = self.alloc(16)?;
        match kind {
            AggKind::Count => self.emit(Inst::Store {
                base: Base::Fp,
                off: val,
                size: Size::DW,
                src: Operand::Imm(1),
            }),
            AggKind::Hist | AggKind::Lhist { .. } => {
                self.emit(Inst::Store {
                    base: Base::Fp,
                    off: val,
                    size: Size::DW,
                    src: Operand::Imm(1),
                });
                self.emit(Inst::Store {
                    base: Base::Fp,
                    off: val + 8,
                    size: Size::DW,
                    src: v,
                });
            }
            AggKind::Sum => self.emit(Inst::Store {
                base: Base::Fp,
                off: val,
                size: Size::DW,
                src: v,
            }),
            AggKind::Avg | AggKind::Stats | AggKind::Min | AggKind::Max => {
                self.emit(Inst::Store {
                    base: Base::Fp,
                    off: val,
                    size: Size::DW,
                    src: v,
                });
                self.emit(Inst::Store {
                    base: Base::Fp,
                    off: val + 8,
                    size: Size::DW,
                    src: Operand::Imm(1),
                });
            }
        }
        self.update(index, key, val, m.span)?;
        self.emit(Inst::Label(done));
        Ok(())
    }

    /// bpftrace's log2 bucket: 0 for negatives, 1 for 0, `k + 2` for `2^k ..= 2^(k+1) - 1`.
    /// `v` itself is left unchanged (a histogram also sums the values).
    pub(super) fn log2_bucket(&mut self, v: Val) -> Val {
        if let Val::Imm(i) = v {
            return Val::Imm(match i {
                i64::MIN..=-1 => 0,
                0 => 1,
                _ => 2 + 63 - i.leading_zeros() as i64,
            });
        }
        let below_2_32 = self.zero_extended_32(&v);
        let (Val::Shared(n) | Val::Owned(n)) = v else {
            unreachable!("immediates are handled above")
        };
        let bucket = self.vreg();
        let done = self.label();
        if !below_2_32 {
            self.emit(Inst::Mov {
                dst: bucket,
                src: Operand::Imm(0),
            });
            self.emit(Inst::Branch {
                cond: Cond::Slt,
                lhs: n,
                rhs: Operand::Imm(0),
                target: done,
            });
        }
        self.emit(Inst::Mov {
            dst: bucket,
            src: Operand::Imm(1),
        });
        self.branch_if_zero(n, done);
        // bucket = 2 + floor(log2 n), by halving the search range: a step is a compare with
        // 2^k, a shift and an add. 2^32 is no immediate, so that step shifts first and tests
        // the result, and is left out when the value is known to fit 32 bits.
        self.emit(Inst::Mov {
            dst: bucket,
            src: Operand::Imm(2),
        });
        let rest = self.vreg();
        self.emit(Inst::Mov {
            dst: rest,
            src: Operand::Reg(n),
        });
        if !below_2_32 {
            let skip = self.label();
            let high = self.vreg();
            self.emit(Inst::Mov {
                dst: high,
                src: Operand::Reg(rest),
            });
            self.emit(Inst::Alu {
                op: AluOp::Rsh,
                dst: high,
                src: Operand::Imm(32),
            });
            self.branch_if_zero(high, skip);
            self.emit(Inst::Mov {
                dst: rest,
                src: Operand::Reg(high),
            });
            self.emit(Inst::Alu {
                op: AluOp::Add,
                dst: bucket,
                src: Operand::Imm(32),
            });
            self.emit(Inst::Label(skip));
        }
        for shift in [16, 8, 4, 2, 1] {
            let skip = self.label();
            self.emit(Inst::Branch {
                cond: Cond::Lt,
                lhs: rest,
                rhs: Operand::Imm(1 << shift),
                target: skip,
            });
            // The last step's shifted value is never read.
            if shift > 1 {
                self.emit(Inst::Alu {
                    op: AluOp::Rsh,
                    dst: rest,
                    src: Operand::Imm(shift),
                });
            }
            self.emit(Inst::Alu {
                op: AluOp::Add,
                dst: bucket,
                src: Operand::Imm(shift),
            });
            self.emit(Inst::Label(skip));
        }
        self.emit(Inst::Label(done));
        Val::Owned(bucket)
    }

    /// Whether `v`'s register is known to hold a value below 2^32 here: a temporary whose
    /// latest definition zero-extends 32 bits or less whatever its input, with no label since
    /// (so every path to this point went through it). Variables do not qualify: one may be
    /// assigned again later inside a loop.
    pub(super) fn zero_extended_32(&self, v: &Val) -> bool {
        let Val::Owned(r) = *v else { return false };
        for s in self.func.insts.iter().rev() {
            if s.inst.def() == Some(r) {
                return match s.inst {
                    Inst::Mov32 { .. } => true,
                    Inst::Load { size, .. } => size != Size::DW,
                    Inst::Alu {
                        op: AluOp::And,
                        src: Operand::Imm(mask),
                        ..
                    } => mask >= 0,
                    Inst::Alu {
                        op: AluOp::Rsh,
                        src: Operand::Imm(shift),
                        ..
                    } => (32..64).contains(&shift),
                    _ => false,
                };
            }
            if matches!(s.inst, Inst::Label(_)) {
                return false;
            }
        }
        false
    }

    /// lhist bucket: 0 below `min`, `(v - min) / step + 1` inside, `(max - min) / step + 1` at or
    /// above `max`.
    pub(super) fn linear_bucket(&mut self, v: Val, min: i64, max: i64, step: i64) -> Val {
        let top = (max - min) / step.max(1) + 1;
        if let Val::Imm(i) = v {
            return Val::Imm(if i < min {
                0
            } else if i >= max {
                top
            } else {
                (i - min) / step + 1
            });
        }
        let (Ok(min32), Ok(max32), Ok(step32)) = (
            i32::try_from(min),
            i32::try_from(max),
            i32::try_from(step.max(1)),
        ) else {
            // The checker keeps lhist bounds small; fall back to the top bucket rather than panic.
            return Val::Imm(top);
        };
        let n = self.owned(v);
        let bucket = self.vreg();
        let done = self.label();
        self.emit(Inst::Mov {
            dst: bucket,
            src: Operand::Imm(0),
        });
        self.emit(Inst::Branch {
            cond: Cond::Slt,
            lhs: n,
            rhs: Operand::Imm(min32),
            target: done,
        });
        self.emit(Inst::Mov {
            dst: bucket,
            src: Operand::Imm(top as i32),
        });
        self.emit(Inst::Branch {
            cond: Cond::Sge,
            lhs: n,
            rhs: Operand::Imm(max32),
            target: done,
        });
        self.emit(Inst::Mov {
            dst: bucket,
            src: Operand::Reg(n),
        });
        if min32 != 0 {
            self.emit(Inst::Alu {
                op: AluOp::Sub,
                dst: bucket,
                src: Operand::Imm(min32),
            });
        }
        if step32 != 1 {
            self.emit(Inst::Alu {
                op: AluOp::Div,
                dst: bucket,
                src: Operand::Imm(step32),
            });
        }
        self.emit(Inst::Alu {
            op: AluOp::Add,
            dst: bucket,
            src: Operand::Imm(1),
        });
        self.emit(Inst::Label(done));
        Val::Owned(bucket)
    }

    // ---- values in memory ---------------------------------------------------------------

    pub(super) fn map_read(&mut self, m: &MapRef) -> R<Val> {
        let (index, spec) = self.user_map(m)?;
        if let MapValue::Agg(_) = spec {
            return Err(unsupported(
                m.span,
                "reading an aggregation's value in a probe",
            ));
        }
        let mark = self.sp;
        let key = self.key(m, index, None)?;
        let p = self.lookup(index, key);
        self.sp = mark;
        let dst = self.vreg();
        let absent = self.label();
        self.emit(Inst::Mov {
            dst,
            src: Operand::Imm(0),
        });
        self.branch_if_zero(p, absent);
        self.emit(Inst::Load {
            dst,
            base: Base::Reg(p),
            off: 0,
            size: Size::DW,
        });
        self.emit(Inst::Label(absent));
        Ok(Val::Owned(dst))
    }
}
