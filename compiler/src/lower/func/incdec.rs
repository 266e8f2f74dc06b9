//! `++$i`, `$i--`, `++@m[k]`, `@m[k]--` as values: the pre forms yield the new value, the post
//! forms the old one, as in C and bpftrace.

use super::*;

impl Lower<'_, '_, '_> {
    pub(super) fn incdec(&mut self, e: &Expr, target: &Expr, inc: bool, post: bool) -> R<Val> {
        let step = if inc { 1 } else { -1 };
        match &target.kind {
            ExprKind::Var(name) => {
                let v = match self.vars.get(name) {
                    Some(Var::Int(v)) => *v,
                    _ => return Err(unsupported(e.span, "`++`/`--` on this variable")),
                };
                let old = post.then(|| {
                    let t = self.vreg();
                    self.move_into(t, Val::Shared(v));
                    t
                });
                self.emit(Inst::Alu {
                    op: AluOp::Add,
                    dst: v,
                    src: Operand::Imm(step),
                });
                // A `uint8` variable wraps at its width (bpftrace: 255 + 1 is 0).
                let wrapped = self.convert(Val::Shared(v), &target.ty);
                self.move_into(v, wrapped);
                Ok(match old {
                    Some(t) => Val::Owned(t),
                    None => Val::Shared(v),
                })
            }
            ExprKind::Map(m) => self.map_incdec(m, step, post),
            _ => Err(unsupported(e.span, "`++`/`--` on this expression")),
        }
    }

    /// Maps hold 64-bit integers; an absent key counts from 0 (bpftrace: `@x--` on a new key
    /// stores -1 and yields 0). A present value is changed by an atomic add, as `@x++` the
    /// statement does, so concurrent updates are never lost.
    fn map_incdec(&mut self, m: &MapRef, step: i32, post: bool) -> R<Val> {
        let (index, _) = self.user_map(m)?;
        let key = self.key(m, index, None)?;
        let p = self.lookup(index, key);
        let old = self.vreg();
        let (absent, done) = (self.label(), self.label());
        self.branch_if_zero(p, absent);
        self.emit(Inst::Load {
            dst: old,
            base: Base::Reg(p),
            off: 0,
            size: Size::DW,
        });
        let t = self.vreg();
        self.emit(Inst::Mov {
            dst: t,
            src: Operand::Imm(step),
        });
        self.emit(Inst::AtomicAdd {
            base: p,
            off: 0,
            src: t,
        });
        self.emit(Inst::Jump { target: done });
        self.emit(Inst::Label(absent));
        self.emit(Inst::Mov {
            dst: old,
            src: Operand::Imm(0),
        });
        let val = self.alloc(8)?;
        self.emit(Inst::Store {
            base: Base::Fp,
            off: val,
            size: Size::DW,
            src: Operand::Imm(step),
        });
        self.update(index, key, val, m.span)?;
        self.emit(Inst::Label(done));
        if post {
            return Ok(Val::Owned(old));
        }
        self.emit(Inst::Alu {
            op: AluOp::Add,
            dst: old,
            src: Operand::Imm(step),
        });
        Ok(Val::Owned(old))
    }
}
