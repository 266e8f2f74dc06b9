//! `uaddr("symbol")`: the checker resolved the symbol's file address (see `check::uaddr`); in
//! a position-independent binary it also gave the probed function's file address, and the
//! symbol is where the probe fired (`bpf_get_func_ip`: the probed address in this process,
//! for uprobes and uretprobes alike) plus the symbol's distance from the probed function.

use super::*;

impl Lower<'_, '_, '_> {
    pub(super) fn uaddr(&mut self, e: &Expr, args: &[Expr]) -> R<Val> {
        let constant = |a: Option<&Expr>| match a.map(|a| &a.kind) {
            Some(ExprKind::Int(v)) => Some(*v),
            _ => None,
        };
        let Some(symbol) = constant(args.first()) else {
            return Err(unsupported(e.span, "uaddr() of an unresolved symbol"));
        };
        let Some(probed) = constant(args.get(1)) else {
            return Ok(Val::Imm(symbol as i64));
        };
        let ctx = self.ctx;
        let ip = self.call_value(Helper::GetFuncIp, vec![Operand::Reg(ctx)]);
        let distance = symbol.wrapping_sub(probed) as i64;
        match i32::try_from(distance) {
            Ok(small) => self.emit(Inst::Alu {
                op: AluOp::Add,
                dst: ip,
                src: Operand::Imm(small),
            }),
            Err(_) => {
                let d = self.vreg();
                self.emit(Inst::MovImm64 {
                    dst: d,
                    imm: distance as u64,
                });
                self.emit(Inst::Alu {
                    op: AluOp::Add,
                    dst: ip,
                    src: Operand::Reg(d),
                });
            }
        }
        Ok(Val::Owned(ip))
    }
}
