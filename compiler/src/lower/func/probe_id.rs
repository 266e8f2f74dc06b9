//! `probe`: the id of the probe's name ([`crate::manifest::probe_id`]), which user space
//! prints as the name.

use super::{Lower, Val};
use crate::bpf::Helper;
use crate::ir::{AluOp, Cond, Inst, Operand};

impl Lower<'_, '_, '_> {
    pub(super) fn probe_value(&mut self) -> Val {
        let id = crate::manifest::probe_id(&self.probe_name) as i64;
        if !self.go.named_sites {
            return Val::Imm(id);
        }
        // One program at several functions: the link gave each its own name's id as cookie.
        let ctx = self.ctx;
        let cookie = self.call_value(Helper::GetAttachCookie, vec![Operand::Reg(ctx)]);
        if self.go.offset_cookies {
            // The name id is the cookie's lower half; the attach offset sits above it.
            for op in [AluOp::Lsh, AluOp::Rsh] {
                self.emit(Inst::Alu {
                    op,
                    dst: cookie,
                    src: Operand::Imm(32),
                });
            }
        }
        let v = self.vreg();
        self.move_into(v, Val::Owned(cookie));
        // Attached without cookies (perf-event uprobes, no uprobe-multi): the pattern's name.
        let named = self.label();
        self.emit(Inst::Branch {
            cond: Cond::Ne,
            lhs: v,
            rhs: Operand::Imm(0),
            target: named,
        });
        self.emit(Inst::Mov {
            dst: v,
            src: Operand::Imm(id as i32),
        });
        self.emit(Inst::Label(named));
        Val::Owned(v)
    }
}
