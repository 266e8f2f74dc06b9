//! `gocaller`: the user stack's innermost return addresses copied into the value (a map key, a
//! map value or an event field) with `bpf_get_stack`, for user space to pick the user's frame
//! from. A stack map would do for `gostack`, but an event is printed a moment later, when a
//! stack id may already name another stack (or a collision left it empty).

use super::{Lower, R, unsupported};
use crate::ast::{Expr, ExprKind};
use crate::bpf::Helper;
use crate::bpf::helpers::BPF_F_USER_STACK;
use crate::builtins::Builtin;
use crate::ir::Operand;
use crate::types::{GOCALLER_FRAMES, Type};

impl Lower<'_, '_, '_> {
    /// Writes `e` (a `gocaller` or a variable holding one) at `r10 + off`: the frames, then
    /// zeros (the kernel zero-fills what the walk did not reach, and the whole buffer when it
    /// fails).
    pub(super) fn write_gocaller(&mut self, e: &Expr, off: i16) -> R<()> {
        match &e.kind {
            ExprKind::Var(name) => self.copy_var(name, off, &Type::GoCaller, e.span),
            ExprKind::Builtin {
                builtin: Builtin::Gocaller,
                ..
            } => {
                let dst = self.stack_addr(off);
                let ctx = self.ctx;
                self.emit(crate::ir::Inst::Call {
                    helper: Helper::GetStack,
                    args: vec![
                        Operand::Reg(ctx),
                        Operand::Reg(dst),
                        Operand::Imm((8 * GOCALLER_FRAMES) as i32),
                        Operand::Imm(BPF_F_USER_STACK),
                    ],
                    ret: None,
                });
                Ok(())
            }
            _ => Err(unsupported(e.span, "this gocaller value")),
        }
    }
}
