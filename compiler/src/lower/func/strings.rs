//! Strings compared and joined: `strncmp`, `join(argv)`.

use super::{Lower, R, Val, unsupported};
use crate::ast::{Expr, ExprKind};
use crate::bpf::{Helper, Size};
use crate::ir::{Base, Cond, Inst, Operand};
use crate::manifest::EventSpec;

/// Elements `join` prints at most, and the bytes of each (bpftrace: 16 elements).
const JOIN_ELEMENTS: u32 = 16;
const JOIN_ELEMENT_SIZE: u32 = 256;

impl Lower<'_, '_, '_> {
    /// `strncmp(a, b, n)`: 0 when the first `n` bytes are equal, else 1 (bpftrace's result).
    pub(super) fn strncmp(&mut self, e: &Expr, args: &[Expr]) -> R<Val> {
        let [a, b, n] = args else {
            return Err(unsupported(e.span, "strncmp() without three arguments"));
        };
        let Some(n) = self.constant(n) else {
            return Err(unsupported(
                n.span,
                "a strncmp() length that is not a constant",
            ));
        };
        let r = self.vreg();
        self.emit(Inst::Mov {
            dst: r,
            src: Operand::Imm(0),
        });
        let done = self.label();
        self.branch_str_prefix(a, b, n.max(0) as u32, done, true)?;
        self.emit(Inst::Mov {
            dst: r,
            src: Operand::Imm(1),
        });
        self.emit(Inst::Label(done));
        Ok(Val::Owned(r))
    }

    /// `join(argv [, delimiter])`: one event per element up to the first NULL pointer (at most
    /// [`JOIN_ELEMENTS`]), then an end marker; the runtime prints the joined line.
    pub(super) fn join(&mut self, e: &Expr, args: &[Expr]) -> R<()> {
        let Some(array) = args.first() else {
            return Err(unsupported(e.span, "join() without an array"));
        };
        let delimiter = match args.get(1).map(|a| &a.kind) {
            Some(ExprKind::Str(d)) => d.clone(),
            _ => " ".to_string(),
        };
        let size = JOIN_ELEMENT_SIZE;
        let id = self.module.event(EventSpec::JoinPart { delimiter, size });
        let base = self.int(array)?;
        let base = self.owned(base);
        let mark = self.sp;
        let event = self.alloc(16 + size)?;
        let slot = self.alloc(8)?;
        self.store_imm64(event, id);
        let cpu = self.call_value(Helper::GetSmpProcessorId, vec![]);
        self.emit(Inst::Store {
            base: Base::Fp,
            off: event + 8,
            size: Size::W,
            src: Operand::Reg(cpu),
        });
        let end = self.label();
        // Legacy probe_read(_str): argv is user memory in a tracepoint, kernel memory in a
        // kprobe; on x86_64 these read either.
        for i in 0..JOIN_ELEMENTS {
            let buf = self.stack_addr(slot);
            let at = self.vreg();
            self.emit(Inst::Mov {
                dst: at,
                src: Operand::Reg(base),
            });
            self.emit(Inst::Alu {
                op: crate::ir::AluOp::Add,
                dst: at,
                src: Operand::Imm(8 * i as i32),
            });
            self.emit(Inst::Store {
                base: Base::Fp,
                off: slot,
                size: Size::DW,
                src: Operand::Imm(0),
            });
            self.emit(Inst::Call {
                helper: Helper::ProbeRead,
                args: vec![Operand::Reg(buf), Operand::Imm(8), Operand::Reg(at)],
                ret: None,
            });
            let ptr = self.vreg();
            self.emit(Inst::Load {
                dst: ptr,
                base: Base::Fp,
                off: slot,
                size: Size::DW,
            });
            self.emit(Inst::Branch {
                cond: Cond::Eq,
                lhs: ptr,
                rhs: Operand::Imm(0),
                target: end,
            });
            self.emit(Inst::Store {
                base: Base::Fp,
                off: event + 12,
                size: Size::W,
                src: Operand::Imm(i as i32),
            });
            self.zero_stack(event + 16, size);
            let dst = self.stack_addr(event + 16);
            self.emit(Inst::Call {
                helper: Helper::ProbeReadStr,
                args: vec![
                    Operand::Reg(dst),
                    Operand::Imm(size as i32),
                    Operand::Reg(ptr),
                ],
                ret: None,
            });
            self.output_event(event, 8 + size, false, 0)?;
        }
        self.emit(Inst::Label(end));
        self.emit(Inst::Store {
            base: Base::Fp,
            off: event + 12,
            size: Size::W,
            src: Operand::Imm(-1),
        });
        self.output_event(event, 8, false, 0)?;
        self.sp = mark;
        Ok(())
    }
}
