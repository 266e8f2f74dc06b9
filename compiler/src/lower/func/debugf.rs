//! `debugf(fmt, ...)` and the builtins only some kernels' probe types can run: `override(rc)`
//! (kprobes) and `path(p)` (fentry/fexit/iter, which gprobe does not attach).

use super::{Lower, R, unsupported};
use crate::ast::{Expr, ExprKind};
use crate::bpf::Helper;
use crate::builtins::ProviderKind;
use crate::ir::{Inst, Operand};
use crate::types::Type;

use crate::builtins::DEBUGF_MAX_ARGS as TRACE_PRINTK_ARGS;

impl Lower<'_, '_, '_> {
    /// `debugf(fmt, a, b, c)`: bpf_trace_printk with the format (NUL-terminated) on the stack,
    /// integers as values and strings as pointers to their stack copies; the kernel formats
    /// the line into trace_pipe itself (the checker allowed only conversions it knows).
    pub(super) fn debugf(&mut self, e: &Expr, args: &[Expr]) -> R<()> {
        let Some((format, values)) = args.split_first() else {
            return Err(unsupported(e.span, "debugf() without a format"));
        };
        let ExprKind::Str(text) = &format.kind else {
            return Err(unsupported(
                format.span,
                "a debugf() format that is not a literal",
            ));
        };
        if values.len() > TRACE_PRINTK_ARGS {
            return Err(unsupported(e.span, "debugf() with more than 3 values"));
        }
        let mark = self.sp;
        let mut operands = Vec::with_capacity(TRACE_PRINTK_ARGS + 2);
        for value in values {
            let operand = match &value.ty {
                Type::Str { size } => {
                    let off = self.alloc(*size)?;
                    self.write_str(value, off, *size)?;
                    Operand::Reg(self.stack_addr(off))
                }
                _ => {
                    let v = self.int(value)?;
                    self.operand(v)
                }
            };
            operands.push(operand);
        }
        // The verifier wants every argument register set.
        operands.resize(TRACE_PRINTK_ARGS, Operand::Imm(0));
        let size = text.len() as u32 + 1;
        let fmt = self.alloc(size)?;
        self.write_literal(text.as_bytes(), fmt, size);
        let fmt = self.stack_addr(fmt);
        let mut call = vec![Operand::Reg(fmt), Operand::Imm(size as i32)];
        call.extend(operands);
        self.emit(Inst::Call {
            helper: Helper::TracePrintk,
            args: call,
            ret: None,
        });
        self.sp = mark;
        Ok(())
    }

    /// `override(rc)`: bpf_override_return(ctx, rc) in a kprobe (the checker allows it only
    /// there, with --unsafe); the kernel refuses functions not marked for error injection.
    pub(super) fn override_return(&mut self, e: &Expr, args: &[Expr]) -> R<()> {
        let Some(rc) = args.first() else {
            return Err(unsupported(e.span, "override() without a return value"));
        };
        if self.provider != ProviderKind::Kprobe {
            return Err(unsupported(e.span, "override() outside kprobes"));
        }
        let v = self.int(rc)?;
        let rc = self.operand(v);
        let ctx = self.ctx;
        self.emit(Inst::Call {
            helper: Helper::OverrideReturn,
            args: vec![Operand::Reg(ctx), rc],
            ret: None,
        });
        Ok(())
    }
}
