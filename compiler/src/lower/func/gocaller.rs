//! `gocaller`: the user stack's innermost return addresses copied into the value (a map key, a
//! map value or an event field) with `bpf_get_stack`, for user space to pick the user's frame
//! from. A stack map would do for `gostack`, but an event is printed a moment later, when a
//! stack id may already name another stack (or a collision left it empty).
//!
//! On the system stack the walk would end in the runtime: see [`Lower::goroutine_frames_on_g0`].

use super::{Lower, R, unsupported};
use crate::ast::{Expr, ExprKind};
use crate::bpf::helpers::BPF_F_USER_STACK;
use crate::bpf::{Helper, Size};
use crate::builtins::Builtin;
use crate::ir::{AluOp, Base, Cond, Inst, Operand, VReg};
use crate::span::Span;
use crate::target::GoRuntime;
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
                let done = self.label();
                let kernel = self.label();
                if let Some(rt) = self.go.runtime
                    && (self.go.abi_internal || rt.task_fsbase.is_some())
                {
                    self.goroutine_frames_on_g0(rt, off, kernel, e.span)?;
                    self.emit(Inst::Jump { target: done });
                }
                self.emit(Inst::Label(kernel));
                let dst = self.stack_addr(off);
                let ctx = self.ctx;
                self.emit(Inst::Call {
                    helper: Helper::GetStack,
                    args: vec![
                        Operand::Reg(ctx),
                        Operand::Reg(dst),
                        Operand::Imm((8 * GOCALLER_FRAMES) as i32),
                        Operand::Imm(BPF_F_USER_STACK),
                    ],
                    ret: None,
                });
                self.emit(Inst::Label(done));
                Ok(())
            }
            _ => Err(unsupported(e.span, "this gocaller value")),
        }
    }

    /// On the system stack for a goroutine (g is its M's g0 and `m.curg` is set: inside
    /// `systemstack`, `mcall` or `morestack`), the kernel's frame-pointer walk ends in the
    /// runtime (`mcall` and `morestack` clear BP: a heap grown for a stack shows only
    /// `runtime.sysMmap`). The frames are then the goroutine's own, from where it left its
    /// stack — `curg.sched.pc`, then the frame-pointer chain from `curg.sched.bp` — as Go's
    /// execution tracer unwinds a goroutine that is not running. A zero ends them.
    /// Elsewhere this goes to `kernel` (the value's slots are scratch until then).
    fn goroutine_frames_on_g0(
        &mut self,
        rt: &GoRuntime,
        off: i16,
        kernel: crate::ir::Label,
        span: Span,
    ) -> R<()> {
        // The value's slots hold what is read, and g: nothing stays in a register across
        // the reads (the probes that print a caller use every byte of their stack).
        let slot = |i: i16| off + 8 * i;
        let last = GOCALLER_FRAMES as i16 - 1;
        // g as the thread holds it (g0 on the system stack), not the user goroutine.
        let g = self.read_g(Operand::Imm(rt.tls_g as i32), span)?;
        self.store_frame(off, last, Operand::Reg(g));
        self.read_user(g, rt.g_m, slot(0), 8);
        let m = self.load_slot(slot(0));
        self.branch_if_zero(m, kernel);
        self.read_user(m, rt.m_g0, slot(1), 8);
        let m = self.load_slot(slot(0));
        self.read_user(m, rt.m_curg, slot(2), 8);
        let g0 = self.load_slot(slot(1));
        let g = self.load_slot(slot(last));
        self.emit(Inst::Branch {
            cond: Cond::Ne,
            lhs: g,
            rhs: Operand::Reg(g0),
            target: kernel,
        });
        let curg = self.load_slot(slot(2));
        self.branch_if_zero(curg, kernel);
        // g.sched from its pc to its bp, in one read.
        let bp_at = (rt.g_sched_bp - rt.g_sched_pc) as i16;
        self.read_user(curg, rt.g_sched_pc, slot(0), bp_at as u32 + 8);
        let pc = self.load_slot(slot(0));
        self.branch_if_zero(pc, kernel);
        let bp = self.load_slot(slot(0) + bp_at);
        let done = self.label();
        // Zeros after the last frame, as the kernel's walk leaves them (a map key is all of it).
        self.zero_stack(off, 8 * GOCALLER_FRAMES);
        self.store_frame(off, 0, Operand::Reg(pc));
        // One read per frame, into the value's own slots i and i + 1 (the stack has no room
        // for more): the saved BP (the caller's frame), then the return address, moved down
        // to slot i. The helper zero-fills on a fault, which ends the frames.
        for i in 1..GOCALLER_FRAMES as i16 - 1 {
            self.branch_if_zero(bp, done);
            let frame = self.stack_addr(off + 8 * i);
            let ret = self.vreg();
            self.emit(Inst::Call {
                helper: Helper::ProbeReadUser,
                args: vec![Operand::Reg(frame), Operand::Imm(16), Operand::Reg(bp)],
                ret: Some(ret),
            });
            self.emit(Inst::Branch {
                cond: Cond::Ne,
                lhs: ret,
                rhs: Operand::Imm(0),
                target: done,
            });
            self.emit(Inst::Load {
                dst: bp,
                base: Base::Fp,
                off: off + 8 * i,
                size: Size::DW,
            });
            let pc = self.vreg();
            self.emit(Inst::Load {
                dst: pc,
                base: Base::Fp,
                off: off + 8 * (i + 1),
                size: Size::DW,
            });
            self.store_frame(off, i, Operand::Reg(pc));
            self.store_frame(off, i + 1, Operand::Imm(0));
            self.branch_if_zero(pc, done);
        }
        self.emit(Inst::Label(done));
        Ok(())
    }

    /// `size` bytes of target memory at `base + off` into the stack at `to` (zeros if it
    /// faults).
    fn read_user(&mut self, base: VReg, off: u64, to: i16, size: u32) {
        let addr = self.vreg();
        self.emit(Inst::Mov {
            dst: addr,
            src: Operand::Reg(base),
        });
        self.emit(Inst::Alu {
            op: AluOp::Add,
            dst: addr,
            src: Operand::Imm(off as i32),
        });
        let buf = self.stack_addr(to);
        self.emit(Inst::Call {
            helper: Helper::ProbeReadUser,
            args: vec![
                Operand::Reg(buf),
                Operand::Imm(size as i32),
                Operand::Reg(addr),
            ],
            ret: None,
        });
    }

    fn load_slot(&mut self, at: i16) -> VReg {
        let v = self.vreg();
        self.emit(Inst::Load {
            dst: v,
            base: Base::Fp,
            off: at,
            size: Size::DW,
        });
        v
    }

    fn store_frame(&mut self, off: i16, i: i16, pc: Operand) {
        self.emit(Inst::Store {
            base: Base::Fp,
            off: off + 8 * i,
            size: Size::DW,
            src: pc,
        });
    }
}
