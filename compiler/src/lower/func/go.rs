//! Go values: the current goroutine (`goid`, `goparent`, `gocreator`), the direct caller a
//! `gostack` at an entry probe lacks, and node-wide programs, whose Go facts and user addresses
//! belong to whichever process the probe fired in.
//!
//! With a `-p`/`-c` target the runtime offsets are compile-time constants. Node-wide they are
//! looked up per process in the map the runtime fills ([`crate::manifest::GoProcFacts`]); a
//! process that is not Go (no entry) reads goid 0. Stack and address values then carry the
//! host tgid (see [`crate::manifest::stack_parts`] and [`crate::manifest::addr_parts`]), so
//! the runtime symbolizes each with its own process's binary.

use super::{Lower, R, Val, pt_regs_offset, unsupported};
use crate::bpf::{Helper, Size};
use crate::builtins::Builtin;
use crate::ir::{AluOp, Base, Cond, Function, Inst, Operand, VReg};
use crate::manifest::{self, EventSpec, GO_STACK_ID_BITS, STACK_TGID_BITS};
use crate::span::Span;
use crate::target::GoRuntime;
use crate::types::{IntType, Type};

#[derive(Clone, Copy)]
pub(super) struct Goroutine {
    pub g: VReg,
    pub goid: VReg,
    /// Node-wide: the process's [`manifest::GoProcFacts`] (a map value), or 0 for a process
    /// gprobe does not know as Go.
    pub facts: Option<VReg>,
}

const U64: Type = Type::Int(IntType::U64);
const I64: Type = Type::Int(IntType::I64);

impl Lower<'_, '_, '_> {
    /// The current goroutine's `g` and goid, with the target's constant offsets or, node-wide,
    /// the offsets of the process the probe fired in.
    pub(super) fn find_goroutine(&mut self, span: Span) -> R<Goroutine> {
        if let Some(rt) = self.go.runtime {
            return self.find_goroutine_fixed(rt, span);
        }
        if self.go.per_process.is_some() {
            return self.find_goroutine_per_process(span);
        }
        Err(unsupported(
            span,
            "goroutines without Go runtime offsets (not a Go target)",
        ))
    }

    /// g from R14 in Go-ABI code, else from the thread's TLS: `*(task->thread.fsbase + tls_g)`;
    /// `tls_g` is an immediate or, node-wide, a register holding the process's slot.
    pub(super) fn read_g(&mut self, tls_g: Operand, span: Span) -> R<VReg> {
        if self.user_space() && self.go.abi_internal {
            let g = self.ctx_load(pt_regs_offset("r14").unwrap_or(8), Size::DW);
            return Ok(self.owned(g));
        }
        let fsbase_off = self
            .go
            .runtime
            .and_then(|rt| rt.task_fsbase)
            .or_else(|| self.go.per_process.and_then(|p| p.task_fsbase))
            .ok_or_else(|| {
                unsupported(
                    span,
                    "goroutines here (the kernel's BTF does not give task_struct.thread.fsbase)",
                )
            })?;
        let task = self.call_value(Helper::GetCurrentTask, vec![]);
        let fsbase = self.read_with(
            Helper::ProbeReadKernel,
            Val::Owned(task),
            fsbase_off as i64,
            &U64,
            span,
        )?;
        let fsbase = self.owned(fsbase);
        self.emit(Inst::Alu {
            op: AluOp::Add,
            dst: fsbase,
            src: tls_g,
        });
        let g = self.read_with(Helper::ProbeReadUser, Val::Owned(fsbase), 0, &U64, span)?;
        Ok(self.owned(g))
    }

    /// Only the system goroutines (g0, gsignal) have goid 0: on their stacks the user
    /// goroutine is `g.m.curg` — so the common case costs one read of target memory, the goid.
    fn find_goroutine_fixed(&mut self, rt: &GoRuntime, span: Span) -> R<Goroutine> {
        let g = self.read_g(Operand::Imm(rt.tls_g as i32), span)?;
        let goid = self.read_with(
            Helper::ProbeReadUser,
            Val::Shared(g),
            rt.g_goid as i64,
            &I64,
            span,
        )?;
        let goid = self.owned(goid);
        let user = self.label();
        self.emit(Inst::Branch {
            cond: Cond::Ne,
            lhs: goid,
            rhs: Operand::Imm(0),
            target: user,
        });
        let m = self.read_with(
            Helper::ProbeReadUser,
            Val::Shared(g),
            rt.g_m as i64,
            &U64,
            span,
        )?;
        let curg = self.read_with(Helper::ProbeReadUser, m, rt.m_curg as i64, &U64, span)?;
        self.move_into(g, curg);
        let curg_goid = self.read_with(
            Helper::ProbeReadUser,
            Val::Shared(g),
            rt.g_goid as i64,
            &I64,
            span,
        )?;
        self.move_into(goid, curg_goid);
        self.emit(Inst::Label(user));
        Ok(Goroutine {
            g,
            goid,
            facts: None,
        })
    }

    /// As [`Self::find_goroutine_fixed`], with the offsets of the current process from the
    /// Go-processes map; g and goid are 0 in a process without an entry.
    fn find_goroutine_per_process(&mut self, span: Span) -> R<Goroutine> {
        let procs = self.module.go_processes_map();
        let key = self.alloc(8)?;
        let tgid = self.current_tgid();
        self.emit(Inst::Store {
            base: Base::Fp,
            off: key,
            size: Size::DW,
            src: Operand::Reg(tgid),
        });
        let facts = self.lookup(procs, key);
        let g = self.vreg();
        let goid = self.vreg();
        for r in [g, goid] {
            self.emit(Inst::Mov {
                dst: r,
                src: Operand::Imm(0),
            });
        }
        let done = self.label();
        self.branch_if_zero(facts, done);
        let tls_g = self.field_of(facts, manifest::GO_PROC_TLS_G);
        let found = self.read_g(Operand::Reg(tls_g), span)?;
        self.move_into(g, Val::Owned(found));
        let read_goid = |l: &mut Self, goid: VReg| -> R<()> {
            let at = l.field_of(facts, manifest::GO_PROC_G_GOID);
            l.emit(Inst::Alu {
                op: AluOp::Add,
                dst: at,
                src: Operand::Reg(g),
            });
            let v = l.read_with(Helper::ProbeReadUser, Val::Owned(at), 0, &I64, span)?;
            l.move_into(goid, v);
            Ok(())
        };
        read_goid(self, goid)?;
        self.emit(Inst::Branch {
            cond: Cond::Ne,
            lhs: goid,
            rhs: Operand::Imm(0),
            target: done,
        });
        for field in [manifest::GO_PROC_G_M, manifest::GO_PROC_M_CURG] {
            let at = self.field_of(facts, field);
            self.emit(Inst::Alu {
                op: AluOp::Add,
                dst: at,
                src: Operand::Reg(g),
            });
            let next = self.read_with(Helper::ProbeReadUser, Val::Owned(at), 0, &U64, span)?;
            self.move_into(g, next);
        }
        read_goid(self, goid)?;
        self.emit(Inst::Label(done));
        Ok(Goroutine {
            g,
            goid,
            facts: Some(facts),
        })
    }

    /// `*(u64 *)(facts + off)`, a field of a non-null [`manifest::GoProcFacts`].
    fn field_of(&mut self, facts: VReg, off: i16) -> VReg {
        let r = self.vreg();
        self.emit(Inst::Load {
            dst: r,
            base: Base::Reg(facts),
            off,
            size: Size::DW,
        });
        r
    }

    /// The host tgid of the current task.
    pub(super) fn current_tgid(&mut self) -> VReg {
        let r = self.call_value(Helper::GetCurrentPidTgid, vec![]);
        self.emit(Inst::Alu {
            op: AluOp::Rsh,
            dst: r,
            src: Operand::Imm(32),
        });
        r
    }

    /// A field of the current goroutine's `runtime.g`: `goid`, `goparent` (parentGoid) or
    /// `gocreator` (gopc).
    pub(super) fn goroutine_field(&mut self, builtin: Builtin, span: Span) -> R<Val> {
        self.goroutine_field_of(builtin, None, span)
    }

    /// As [`Self::goroutine_field`], of the goroutine whose `g` is `of` when given
    /// (`gocreator(args.gp)`): with a fixed target that costs one read, no goroutine lookup.
    pub(super) fn goroutine_field_of(
        &mut self,
        builtin: Builtin,
        of: Option<VReg>,
        span: Span,
    ) -> R<Val> {
        let mut found = match (self.goroutine, of, self.go.runtime) {
            (Some(found), _, _) => found,
            (None, Some(g), Some(_)) => Goroutine {
                g,
                goid: g,
                facts: None,
            },
            (None, _, _) => self.find_goroutine(span)?,
        };
        if let Some(g) = of {
            found.g = g;
        }
        if builtin == Builtin::Goid {
            // A copy: the caller may compute in place.
            let goid = self.vreg();
            self.move_into(goid, Val::Shared(found.goid));
            return Ok(Val::Owned(goid));
        }
        let ty = if builtin == Builtin::Goparent {
            I64
        } else {
            U64
        };
        if let Some(facts) = found.facts {
            return self.goroutine_field_per_process(builtin, found.g, facts, &ty, span);
        }
        let name = builtin.name();
        let rt = self.go.runtime.ok_or_else(|| {
            unsupported(
                span,
                format!("`{name}` without Go runtime offsets (not a Go target)"),
            )
        })?;
        let offset = match builtin {
            Builtin::Goparent => rt.g_parent_goid,
            _ => rt.g_gopc,
        };
        let offset = offset.ok_or_else(|| {
            unsupported(
                span,
                format!("`{name}` in {} (no such field in runtime.g)", rt.version),
            )
        })?;
        self.read_with(
            Helper::ProbeReadUser,
            Val::Shared(found.g),
            offset as i64,
            &ty,
            span,
        )
    }

    /// Node-wide `goparent`/`gocreator`: 0 outside Go processes and where the process's Go
    /// release lacks the field (its offset is 0); `gocreator` carries the tgid.
    fn goroutine_field_per_process(
        &mut self,
        builtin: Builtin,
        g: VReg,
        facts: VReg,
        ty: &Type,
        span: Span,
    ) -> R<Val> {
        let out = self.vreg();
        self.emit(Inst::Mov {
            dst: out,
            src: Operand::Imm(0),
        });
        let done = self.label();
        self.branch_if_zero(facts, done);
        let field = if builtin == Builtin::Goparent {
            manifest::GO_PROC_G_PARENT_GOID
        } else {
            manifest::GO_PROC_G_GOPC
        };
        let at = self.field_of(facts, field);
        self.branch_if_zero(at, done);
        self.emit(Inst::Alu {
            op: AluOp::Add,
            dst: at,
            src: Operand::Reg(g),
        });
        let v = self.read_with(Helper::ProbeReadUser, Val::Owned(at), 0, ty, span)?;
        self.move_into(out, v);
        self.emit(Inst::Label(done));
        if builtin == Builtin::Gocreator {
            self.tag_address(out);
        }
        Ok(Val::Owned(out))
    }

    /// Node-wide: keeps the low [`manifest::ADDR_BITS`] of the user address in `addr` and puts
    /// the current tgid above them (see [`manifest::addr_parts`]). Otherwise nothing.
    pub(super) fn tag_address(&mut self, addr: VReg) {
        if !self.module.options.node_wide {
            return;
        }
        self.module.tagged_addresses = true;
        let keep = 64 - manifest::ADDR_BITS as i32;
        for op in [AluOp::Lsh, AluOp::Rsh] {
            self.emit(Inst::Alu {
                op,
                dst: addr,
                src: Operand::Imm(keep),
            });
        }
        let tgid = self.current_tgid();
        self.or_shifted(addr, tgid, manifest::ADDR_BITS);
    }

    /// Node-wide: puts the current tgid above the user stack id in `id` (see
    /// [`manifest::stack_parts`]); a failed walk (negative id) stays as is.
    pub(super) fn tag_stack(&mut self, id: VReg) {
        if !self.module.options.node_wide {
            return;
        }
        let failed = self.label();
        self.emit(Inst::Branch {
            cond: Cond::Slt,
            lhs: id,
            rhs: Operand::Imm(0),
            target: failed,
        });
        let tgid = self.current_tgid();
        self.or_shifted(id, tgid, GO_STACK_ID_BITS);
        self.emit(Inst::Label(failed));
    }

    /// `dst |= src << shift` (`src` is clobbered).
    fn or_shifted(&mut self, dst: VReg, src: VReg, shift: u32) {
        self.emit(Inst::Alu {
            op: AluOp::Lsh,
            dst: src,
            src: Operand::Imm(shift as i32),
        });
        self.emit(Inst::Alu {
            op: AluOp::Or,
            dst,
            src: Operand::Reg(src),
        });
    }

    /// Stores the return address at `*SP` above the stack id in `id` (see
    /// [`crate::manifest::go_stack_parts`]; node-wide its low bits, above the tgid): at an entry
    /// probe before the frame pointer is pushed, it is the direct caller the kernel's walk
    /// lacks. A failed walk (negative id) stays as is.
    pub(super) fn add_caller_at_sp(&mut self, id: VReg, span: Span) -> R<()> {
        let failed = self.label();
        self.emit(Inst::Branch {
            cond: Cond::Slt,
            lhs: id,
            rhs: Operand::Imm(0),
            target: failed,
        });
        let sp = self.ctx_load(pt_regs_offset("sp").unwrap_or(152), Size::DW);
        let caller = self.read_with(Helper::ProbeReadUser, sp, 0, &U64, span)?;
        let caller = self.owned(caller);
        let shift = if self.module.options.node_wide {
            GO_STACK_ID_BITS + STACK_TGID_BITS
        } else {
            GO_STACK_ID_BITS
        };
        self.or_shifted(id, caller, shift);
        self.emit(Inst::Label(failed));
        Ok(())
    }

    /// Stores the probed instruction's address above the stack id in `id`, as
    /// [`Self::add_caller_at_sp`] stores a caller, when the sampled task is single-stepping a
    /// uprobe's copy of it (`task->utask->state` not running, the pc in the task's slot): frame 0
    /// is then that slot of the
    /// `[uprobes]` page, and the runtime names the probed instruction in its place.
    pub(super) fn add_single_step_address(
        &mut self,
        id: VReg,
        task: crate::target::UprobeTaskOffsets,
        span: Span,
    ) -> R<()> {
        let done = self.label();
        self.emit(Inst::Branch {
            cond: Cond::Slt,
            lhs: id,
            rhs: Operand::Imm(0),
            target: done,
        });
        let current = self.call_value(Helper::GetCurrentTask, vec![]);
        let utask = self.read_with(
            Helper::ProbeReadKernel,
            Val::Owned(current),
            task.task_utask as i64,
            &U64,
            span,
        )?;
        let utask = self.owned(utask);
        self.branch_if_zero(utask, done);
        // The user pc in the task's slot: `xol_vaddr` is set (with `vaddr`) before the kernel
        // points the pc at the slot, and cleared when it frees it, so it alone says the task
        // is stepping; `state` becomes UTASK_SSTEP only after the pc moved, and a sample in
        // between would keep the raw slot (the suspected cause of one seen in CI, in a stripped
        // Go 1.27 GC assist). After
        // the step traps, the pc is past the copied instruction, still in the slot, until the
        // kernel moves it back; after a RET, at the caller.
        let xol = self.read_with(
            Helper::ProbeReadKernel,
            Val::Shared(utask),
            task.utask_xol_vaddr as i64,
            &U64,
            span,
        )?;
        let xol = self.owned(xol);
        let mark = self.sp;
        let slot = self.alloc(8)?;
        let buf = self.stack_addr(slot);
        let ctx = self.ctx;
        self.emit(Inst::Call {
            helper: Helper::GetStack,
            args: vec![
                Operand::Reg(ctx),
                Operand::Reg(buf),
                Operand::Imm(8),
                Operand::Imm(crate::bpf::helpers::BPF_F_USER_STACK),
            ],
            ret: None,
        });
        let pc = self.vreg();
        self.emit(Inst::Load {
            dst: pc,
            base: Base::Fp,
            off: slot,
            size: Size::DW,
        });
        self.sp = mark;
        self.emit(Inst::Alu {
            op: AluOp::Sub,
            dst: pc,
            src: Operand::Reg(xol),
        });
        // UPROBE_XOL_SLOT_BYTES: one slot (unsigned: a pc below the slot wraps above).
        self.emit(Inst::Branch {
            cond: Cond::Ge,
            lhs: pc,
            rhs: Operand::Imm(128),
            target: done,
        });
        let vaddr = self.read_with(
            Helper::ProbeReadKernel,
            Val::Shared(utask),
            task.utask_vaddr as i64,
            &U64,
            span,
        )?;
        let vaddr = self.owned(vaddr);
        self.or_shifted(id, vaddr, GO_STACK_ID_BITS);
        self.emit(Inst::Label(done));
        Ok(())
    }

    /// The body of a node-wide process watch on `sched_process_exec` (`exec`) or
    /// `sched_process_exit`: forget the process's Go facts at once (its image changed or it
    /// is gone, and its pid may be reused) and tell the runtime, which learns the new image.
    /// An exit counts only for the thread group's last thread (`group_dead`).
    pub(super) fn process_watch(&mut self, exec: bool) -> R<()> {
        if !exec {
            // sched_process_exit's `bool group_dead` at offset 32 of its record.
            let dead = self.ctx_load(32, Size::B);
            let dead = self.owned(dead);
            let exit = self.exit_label;
            self.branch_if_zero(dead, exit);
        }
        let tgid = self.current_tgid();
        if self.module.uses_go_processes() {
            let procs = self.module.go_processes_map();
            let key = self.alloc(8)?;
            self.emit(Inst::Store {
                base: Base::Fp,
                off: key,
                size: Size::DW,
                src: Operand::Reg(tgid),
            });
            self.delete_key(procs, key, None)?;
        }
        // The new image's (device, inode), for the runtime to learn its binary by even when
        // the process is gone before it looks.
        let mut image = None;
        if exec && let Some(offsets) = self.module.options.exe_inode {
            image = Some(self.facts_from_executable(tgid, offsets)?);
        }
        let id = self.module.event(if exec {
            EventSpec::ProcessExec
        } else {
            EventSpec::ProcessExit
        });
        // Exec: tgid, time, device, inode, then the file name; exit: tgid, time.
        let payload = if exec {
            32 + manifest::EXEC_FILENAME_BYTES
        } else {
            16
        };
        let base = self.alloc(8 + payload)?;
        self.store_imm64(base, id);
        self.emit(Inst::Store {
            base: Base::Fp,
            off: base + 8,
            size: Size::DW,
            src: Operand::Reg(tgid),
        });
        // When it happened: the runtime measures how long a program started after gprobe
        // waits for its pattern uprobes (see the runtime's `dynamic`).
        let now = self.call_value(Helper::KtimeGetNs, vec![]);
        self.store_val(base + 16, Val::Owned(now));
        if exec {
            let (dev, ino) = match image {
                Some((dev, ino)) => (Val::Owned(dev), Val::Owned(ino)),
                None => (Val::Imm(0), Val::Imm(0)),
            };
            self.store_val(base + 24, dev);
            self.store_val(base + 32, ino);
            // sched_process_exec's `__data_loc char[] filename` at offset 8: the low 16 bits
            // are the string's offset in the record.
            let loc = self.ctx_load(8, Size::W);
            let loc = self.owned(loc);
            self.emit(Inst::Alu {
                op: AluOp::And,
                dst: loc,
                src: Operand::Imm(0xffff),
            });
            let ctx = self.ctx;
            self.emit(Inst::Alu {
                op: AluOp::Add,
                dst: loc,
                src: Operand::Reg(ctx),
            });
            let name = base + 40;
            self.zero_stack(name, manifest::EXEC_FILENAME_BYTES);
            let dst = self.stack_addr(name);
            self.emit(Inst::Call {
                helper: Helper::ProbeReadKernelStr,
                args: vec![
                    Operand::Reg(dst),
                    Operand::Imm(manifest::EXEC_FILENAME_BYTES as i32),
                    Operand::Reg(loc),
                ],
                ret: None,
            });
        }
        self.output_event(base, payload, true, 0)
    }
}

impl Lower<'_, '_, '_> {
    /// At exec: when the new image is a Go binary the runtime already knows (by device and
    /// inode), its facts go into the Go-processes map under `key` (the tgid) right away.
    /// Returns the image's (device, inode) registers.
    fn facts_from_executable(
        &mut self,
        tgid: VReg,
        off: crate::target::ExeInodeOffsets,
    ) -> R<(VReg, VReg)> {
        let span = self.span;
        let task = self.call_value(Helper::GetCurrentTask, vec![]);
        let mut at = Val::Owned(task);
        for step in [off.task_mm, off.mm_exe_file, off.file_inode] {
            at = self.read_with(Helper::ProbeReadKernel, at, step as i64, &U64, span)?;
        }
        let inode = self.owned(at);
        let ino = self.read_with(
            Helper::ProbeReadKernel,
            Val::Shared(inode),
            off.inode_ino as i64,
            &U64,
            span,
        )?;
        let sb = self.read_with(
            Helper::ProbeReadKernel,
            Val::Shared(inode),
            off.inode_sb as i64,
            &U64,
            span,
        )?;
        let dev = self.read_with(
            Helper::ProbeReadKernel,
            sb,
            off.sb_dev as i64,
            &Type::Int(IntType::U32),
            span,
        )?;
        let (dev, ino) = (self.owned(dev), self.owned(ino));
        let bin_key = self.alloc(16)?;
        self.store_val(bin_key, Val::Shared(dev));
        self.store_val(bin_key + 8, Val::Shared(ino));
        let bins = self.module.go_binaries_map();
        let facts = self.lookup(bins, bin_key);
        let unknown = self.label();
        self.branch_if_zero(facts, unknown);
        let procs = self.module.go_processes_map();
        let key = self.alloc(8)?;
        self.emit(Inst::Store {
            base: Base::Fp,
            off: key,
            size: Size::DW,
            src: Operand::Reg(tgid),
        });
        let map = self.vreg();
        self.emit(Inst::LoadMap {
            dst: map,
            map: procs,
        });
        let keyp = self.stack_addr(key);
        self.emit(Inst::Call {
            helper: Helper::MapUpdateElem,
            args: vec![
                Operand::Reg(map),
                Operand::Reg(keyp),
                Operand::Reg(facts),
                Operand::Imm(crate::bpf::helpers::BPF_ANY),
            ],
            ret: None,
        });
        self.emit(Inst::Label(unknown));
        Ok((dev, ino))
    }
}

/// A node-wide process watch program (see [`Lower::process_watch`]).
pub(in crate::lower) fn lower_process_watch(
    module: &mut crate::lower::Module,
    name: &str,
    exec: bool,
) -> Function {
    super::lower_internal(module, name, |l| l.process_watch(exec))
}
