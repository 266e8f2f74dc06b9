//! Facts of the current task and the system: `cgroup`, `numaid`, `username` (the uid; user
//! space names it), `sargN`, compile-time addresses (`kaddr`, `cgroupid`) and `signal`.

use super::{Lower, R, Val, pt_regs_offset, unsupported};
use crate::ast::Expr;
use crate::bpf::{Helper, Size};
use crate::builtins::Builtin;
use crate::ir::Inst;
use crate::types::{IntType, Type};

impl Lower<'_, '_, '_> {
    /// The value of one of this file's builtins.
    pub(super) fn task_builtin(&mut self, e: &Expr, b: Builtin, args: &[Expr]) -> R<Val> {
        Ok(match b {
            Builtin::Cgroup => Val::Owned(self.call_value(Helper::GetCurrentCgroupId, vec![])),
            Builtin::Numaid => Val::Owned(self.call_value(Helper::GetNumaNodeId, vec![])),
            Builtin::Username => {
                let r = self.call_value(Helper::GetCurrentUidGid, vec![]);
                let t = self.vreg();
                self.emit(Inst::Mov32 { dst: t, src: r });
                Val::Owned(t)
            }
            // x86_64: at a function's entry, *sp is the return address and the stack
            // arguments follow it.
            Builtin::Sarg(n) => {
                if !self.function_regs() {
                    return Err(unsupported(e.span, "sargN outside uprobes and kprobes"));
                }
                let sp = self.ctx_load(pt_regs_offset("sp").unwrap_or(152), Size::DW);
                self.read_target(sp, 8 * (i64::from(n) + 1), &Type::Int(IntType::U64), e.span)?
            }
            // The checker put the resolved address (or id) in place of the name; a cgroup id
            // becomes its path in user space.
            Builtin::Kaddr | Builtin::Cgroupid | Builtin::CgroupPath => match args.first() {
                Some(a) => self.int(a)?,
                None => return Err(unsupported(e.span, "kaddr() without a name")),
            },
            _ => return Err(unsupported(e.span, format!("`{}` here", b.name()))),
        })
    }

    /// `signal(sig)`: bpf_send_signal to the current task (the checker made the name a number).
    pub(super) fn signal(&mut self, e: &Expr, args: &[Expr]) -> R<()> {
        let Some(sig) = args.first() else {
            return Err(unsupported(e.span, "signal() without a signal"));
        };
        let v = self.int(sig)?;
        let sig = self.operand(v);
        self.emit(Inst::Call {
            helper: Helper::SendSignal,
            args: vec![sig],
            ret: None,
        });
        Ok(())
    }
}
