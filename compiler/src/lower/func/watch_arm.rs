//! `watchpoint:FUNC+argN:LEN:MODE`: the uprobe at the target function's entry that reports
//! the address it was called with, so the runtime can attach the watchpoint there (bpftrace's
//! form). A `watchpoint` also stops the process (SIGSTOP) until the runtime has attached it and
//! continues the process, so that no access right after the call goes unseen; an
//! `asyncwatchpoint` lets it run on.

use super::{Lower, R};
use crate::bpf::{Helper, Size};
use crate::ir::{Function, Inst, Operand};
use crate::manifest::EventSpec;

/// Byte offsets of the C-ABI argument registers (rdi, rsi, rdx, rcx, r8, r9) in x86-64's
/// `struct pt_regs`, the context of a uprobe program.
const ARG_REGS: [i16; 6] = [112, 104, 96, 88, 72, 64];

/// SIGSTOP and SIGCONT on x86-64.
const SIGSTOP: i32 = 19;
const SIGCONT: i32 = 18;

pub(in crate::lower) fn lower_watchpoint_arm(
    module: &mut crate::lower::Module,
    name: &str,
    program: &str,
    arg: u8,
    resume: bool,
) -> Function {
    super::lower_internal(module, name, |l| l.watchpoint_arm(program, arg, resume))
}

impl Lower<'_, '_, '_> {
    fn watchpoint_arm(&mut self, program: &str, arg: u8, resume: bool) -> R<()> {
        let address = self.ctx_load(ARG_REGS[usize::from(arg.min(5))], Size::DW);
        let tgid = self.half_of(Helper::GetCurrentPidTgid, true);
        let id = self.module.event(EventSpec::WatchpointArm {
            program: program.to_string(),
            resume,
        });
        // The stop is sent before the event: the runtime's SIGCONT follows its reading of the
        // event, so it comes after the SIGSTOP (and cancels it if still pending). Sent after,
        // the runtime on another CPU could continue the process before it was stopped, which
        // then stayed stopped for good (seen in CI).
        if resume {
            self.emit(Inst::Call {
                helper: Helper::SendSignal,
                args: vec![Operand::Imm(SIGSTOP)],
                ret: None,
            });
        }
        let base = self.alloc(24)?;
        self.store_imm64(base, id);
        self.store_val(base + 8, tgid);
        self.store_val(base + 16, address);
        let ret = self.ringbuf_output(base, 16, true);
        if resume {
            // The event was not written (the ring is full): the runtime will never continue the
            // process, so it goes on at once, unwatched this time.
            let written = self.label();
            self.branch_if_zero(ret, written);
            self.emit(Inst::Call {
                helper: Helper::SendSignal,
                args: vec![Operand::Imm(SIGCONT)],
                ret: None,
            });
            self.emit(Inst::Label(written));
        }
        self.count_failure(ret, 0)
    }
}
