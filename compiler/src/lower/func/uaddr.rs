//! `uaddr("symbol")`: the checker resolved the symbol's file address (see `check::uaddr`). In
//! a position-independent binary the symbol is where the probe fired (`bpf_get_func_ip`: the
//! probed address in this process, for uprobes and uretprobes alike) plus the symbol's distance
//! from the same place in the file, which the checker gave as an address (`[symbol, probed]`,
//! one C function) or lowering takes from the site (`[symbol, exec_delta]` in a probe whose
//! `uaddr_at_site` is set: the attach offset plus the executable segment's `exec_delta`; at
//! several sites, the cookie's upper half).

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
        let Some(second) = constant(args.get(1)) else {
            return Ok(Val::Imm(symbol as i64));
        };
        let ctx = self.ctx;
        let at_site = self.go.uaddr_at_site;
        // The probed place in the file: a constant, or the cookie's offset plus `exec_delta`.
        let probed = match (at_site, self.go.site_offset) {
            (false, _) => Some(second),
            (true, Some(offset)) => Some(offset.wrapping_add(second)),
            (true, None) if self.go.offset_cookies => None,
            (true, None) => {
                return Err(unsupported(
                    e.span,
                    "uaddr() in a position-independent binary here: the probe attaches by symbol, without the file offset the load bias is measured from",
                ));
            }
        };
        let site = match probed {
            Some(_) => None,
            None => {
                let cookie = self.call_value(Helper::GetAttachCookie, vec![Operand::Reg(ctx)]);
                self.emit(Inst::Alu {
                    op: AluOp::Rsh,
                    dst: cookie,
                    src: Operand::Imm(32),
                });
                Some(cookie)
            }
        };
        let ip = self.call_value(Helper::GetFuncIp, vec![Operand::Reg(ctx)]);
        if let Some(offset) = site {
            self.emit(Inst::Alu {
                op: AluOp::Sub,
                dst: ip,
                src: Operand::Reg(offset),
            });
        }
        let distance = symbol.wrapping_sub(probed.unwrap_or(second)) as i64;
        self.add_constant(ip, distance);
        Ok(Val::Owned(ip))
    }

    /// `dst += value`, through a 64-bit immediate when it does not fit 32 bits.
    fn add_constant(&mut self, dst: VReg, value: i64) {
        match i32::try_from(value) {
            Ok(small) => self.emit(Inst::Alu {
                op: AluOp::Add,
                dst,
                src: Operand::Imm(small),
            }),
            Err(_) => {
                let d = self.vreg();
                self.emit(Inst::MovImm64 {
                    dst: d,
                    imm: value as u64,
                });
                self.emit(Inst::Alu {
                    op: AluOp::Add,
                    dst,
                    src: Operand::Reg(d),
                });
            }
        }
    }
}
