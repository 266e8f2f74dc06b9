//! Builtins as values (`pid`, `nsecs`, `elapsed`, `cpu`, `kaddr`, ...): what each computes.

use super::*;

impl Lower<'_, '_, '_> {
    /// The high (`pid`, `gid`) or low (`tid`, `uid`) 32 bits of a helper that packs two ids.
    pub(super) fn half_of(&mut self, helper: Helper, high: bool) -> Val {
        let r = self.call_value(helper, vec![]);
        if high {
            // The call's own register stays unchanged, so that opt::values can let this call
            // serve a later one.
            let high = self.vreg();
            self.move_into(high, Val::Owned(r));
            self.emit(Inst::Alu {
                op: AluOp::Rsh,
                dst: high,
                src: Operand::Imm(32),
            });
            Val::Owned(high)
        } else {
            let t = self.vreg();
            self.emit(Inst::Mov32 { dst: t, src: r });
            Val::Owned(t)
        }
    }

    pub(super) fn builtin(&mut self, e: &Expr, b: Builtin, args: &[Expr]) -> R<Val> {
        Ok(match b {
            Builtin::Pid | Builtin::Tid => {
                self.half_of(Helper::GetCurrentPidTgid, b == Builtin::Pid)
            }
            Builtin::Uid | Builtin::Gid => {
                self.half_of(Helper::GetCurrentUidGid, b == Builtin::Gid)
            }
            Builtin::Nsecs => Val::Owned(self.call_value(Helper::KtimeGetNs, vec![])),
            Builtin::Elapsed => {
                let now = self.call_value(Helper::KtimeGetNs, vec![]);
                let start = self.config_slot(crate::manifest::CONFIG_START_NS)?;
                self.emit(Inst::Alu {
                    op: AluOp::Sub,
                    dst: now,
                    src: Operand::Reg(start),
                });
                Val::Owned(now)
            }
            // The runtime writes the target's pid before attaching (the -c command's is
            // known only after its fork): one array lookup, no probe in the target.
            Builtin::Tpid | Builtin::Cpid => {
                Val::Owned(self.config_slot(crate::manifest::CONFIG_TARGET_PID)?)
            }
            Builtin::Cpu => Val::Owned(self.call_value(Helper::GetSmpProcessorId, vec![])),
            Builtin::Rand => Val::Owned(self.call_value(Helper::GetPrandomU32, vec![])),
            Builtin::Curtask => Val::Owned(self.call_value(Helper::GetCurrentTask, vec![])),
            Builtin::Arg(n) => {
                if let Some(args) = self.go.usdt {
                    return self.usdt_arg(args, n, e.span);
                }
                // `struct bpf_raw_tracepoint_args { __u64 args[]; }`: the Nth slot.
                if self.provider == ProviderKind::RawTracepoint {
                    return Ok(self.ctx_load(i16::from(n) * 8, Size::DW));
                }
                if !self.function_regs() {
                    return Err(unsupported(e.span, "argN outside uprobes and kprobes"));
                }
                if self.go.abi_internal {
                    // Go functions: the Nth integer register of Go's ABI (a string or slice
                    // takes 2 or 3 of them), so stripped binaries without signatures can still
                    // read arguments.
                    const GO_INT_REGS: [&str; 9] =
                        ["ax", "bx", "cx", "di", "si", "r8", "r9", "r10", "r11"];
                    let reg = GO_INT_REGS.get(n as usize).ok_or_else(|| {
                        unsupported(e.span, format!("arg{n} (Go passes 9 integer registers)"))
                    })?;
                    let off = pt_regs_offset(reg).unwrap_or(0);
                    return Ok(self.ctx_load(off, Size::DW));
                }
                let reg = ARG_REGS.get(n as usize).ok_or_else(|| {
                    unsupported(e.span, format!("arg{n} (the C ABI passes 6 in registers)"))
                })?;
                let off = pt_regs_offset(reg).unwrap_or(0);
                self.ctx_load(off, Size::DW)
            }
            Builtin::Retval => {
                if !self.function_regs() {
                    return Err(unsupported(e.span, "retval outside return probes"));
                }
                if let Some(place) = self.place(e)? {
                    return self.load_place(place, &e.ty, e.span);
                }
                let v = self.ctx_load(pt_regs_offset("ax").unwrap_or(80), Size::DW);
                self.convert(v, &e.ty)
            }
            Builtin::Goid => self.goroutine_field(Builtin::Goid, e.span)?,
            Builtin::Gocreator => match args.first() {
                Some(g) => {
                    let g = self.int(g)?;
                    let g = self.owned(g);
                    self.goroutine_field_of(Builtin::Gocreator, Some(g), e.span)?
                }
                None => self.goroutine_field(Builtin::Gocreator, e.span)?,
            },
            Builtin::Goparent => self.goroutine_field(Builtin::Goparent, e.span)?,
            Builtin::Gocaller => {
                return Err(unsupported(
                    e.span,
                    "gocaller outside a map key, value or event",
                ));
            }
            Builtin::Gostack => {
                // Go keeps frame pointers, so the kernel's user-stack walk follows Go frames;
                // the runtime symbolizes them with the binary's pclntab.
                let stacks = self.module.stack_map(StackKind::Go);
                let map = self.vreg();
                self.emit(Inst::LoadMap {
                    dst: map,
                    map: stacks,
                });
                let ctx = self.ctx;
                let id = self.call_value(
                    Helper::GetStackid,
                    vec![
                        Operand::Reg(ctx),
                        Operand::Reg(map),
                        Operand::Imm(BPF_F_USER_STACK),
                    ],
                );
                self.tag_stack(id);
                if self.go.caller_at_sp && self.provider == ProviderKind::Uprobe {
                    self.add_caller_at_sp(id, e.span)?;
                }
                if let Some(task) = self.single_step {
                    self.add_single_step_address(id, task, e.span)?;
                }
                Val::Owned(id)
            }
            Builtin::Func => {
                if !self.function_regs() {
                    return Err(unsupported(e.span, "func outside uprobes and kprobes"));
                }
                if !self.user_space() {
                    // A kprobe's ip is past the breakpoint (or in a trampoline): the kernel
                    // knows the function's own address.
                    let ctx = self.ctx;
                    return Ok(Val::Owned(
                        self.call_value(Helper::GetFuncIp, vec![Operand::Reg(ctx)]),
                    ));
                }
                let ip = self.ctx_load(pt_regs_offset("ip").unwrap_or(128), Size::DW);
                if !self.module.options.node_wide {
                    return Ok(ip);
                }
                // Node-wide, a user address names its process for user space, as usym's.
                let ip = self.owned(ip);
                self.tag_address(ip);
                Val::Owned(ip)
            }
            Builtin::Reg => {
                let Some(ExprKind::Str(name)) = args.first().map(|a| &a.kind) else {
                    return Err(unsupported(e.span, "reg() without a literal register name"));
                };
                if !self.function_regs() {
                    return Err(unsupported(e.span, "reg() outside uprobes and kprobes"));
                }
                let off = pt_regs_offset(name).ok_or_else(|| {
                    unsupported(
                        e.span,
                        format!("register `{name}` (x86_64 pt_regs has no such field)"),
                    )
                })?;
                self.ctx_load(off, Size::DW)
            }
            Builtin::Ustack | Builtin::Kstack => {
                let kind = if b == Builtin::Ustack {
                    StackKind::User
                } else {
                    StackKind::Kernel
                };
                let stacks = self.module.stack_map(kind);
                let map = self.vreg();
                self.emit(Inst::LoadMap {
                    dst: map,
                    map: stacks,
                });
                let flags = if kind == StackKind::User {
                    BPF_F_USER_STACK
                } else {
                    0
                };
                let ctx = self.ctx;
                let id = self.call_value(
                    Helper::GetStackid,
                    vec![Operand::Reg(ctx), Operand::Reg(map), Operand::Imm(flags)],
                );
                if kind == StackKind::User {
                    self.tag_stack(id);
                }
                Val::Owned(id)
            }
            // A constant (the checker refused unknown names).
            Builtin::SyscallNr => match args.first().map(|a| &a.kind) {
                Some(ExprKind::Str(name)) => {
                    Val::Imm(crate::syscalls::syscall_number(name).map_or(-1, |n| n as i64))
                }
                _ => return Err(unsupported(e.span, "syscall_nr() without a literal name")),
            },
            // 8 bytes of the sockaddr (family, port, IPv4 address), printed in user space.
            Builtin::Sockaddr => {
                let Some(a) = args.first() else {
                    return Err(unsupported(e.span, "sockaddr() without an address"));
                };
                let p = self.int(a)?;
                self.read_target(p, 0, &Type::Int(crate::types::IntType::U64), e.span)?
            }
            // The number itself; user space prints it by name.
            Builtin::SyscallName
            | Builtin::ErrnoName
            | Builtin::SignalName
            | Builtin::OpenFlags
            | Builtin::Dirfd => {
                let Some(a) = args.first() else {
                    return Err(unsupported(e.span, "a name without a number"));
                };
                self.int(a)?
            }
            Builtin::Usym | Builtin::Ksym => {
                let Some(a) = args.first() else {
                    return Err(unsupported(e.span, "usym() without an address"));
                };
                let addr = self.int(a)?;
                if b == Builtin::Ksym || !self.module.options.node_wide {
                    addr
                } else {
                    let addr = self.owned(addr);
                    self.tag_address(addr);
                    Val::Owned(addr)
                }
            }
            Builtin::Cgroup
            | Builtin::Numaid
            | Builtin::Username
            | Builtin::Sarg(_)
            | Builtin::Kaddr
            | Builtin::CgroupPath
            | Builtin::Cgroupid => return self.task_builtin(e, b, args),
            Builtin::Ntop | Builtin::Pton => {
                return Err(unsupported(
                    e.span,
                    format!("{}() outside a value in memory", b.name()),
                ));
            }
            Builtin::Bswap | Builtin::Strerror | Builtin::Macaddr => {
                return self.bits_builtin(e, b, args);
            }
            Builtin::Strncmp => return self.strncmp(e, args),
            Builtin::Strcontains => return self.strcontains(e, args),
            // The checker allows path() only in probes gprobe does not compile.
            Builtin::Path => {
                return Err(unsupported(
                    e.span,
                    "path() (bpf_d_path) outside kfunc, kretfunc and iter probes",
                ));
            }
            Builtin::Uaddr => return self.uaddr(e, args),
            Builtin::Count
            | Builtin::Sum
            | Builtin::Avg
            | Builtin::Min
            | Builtin::Max
            | Builtin::Stats
            | Builtin::Hist
            | Builtin::Lhist => {
                return Err(Diagnostic::error(
                    codes::UNSUPPORTED,
                    "an aggregation is only valid as a map's value",
                )
                .primary(e.span, "assign this to a map"));
            }
            Builtin::Printf
            | Builtin::Print
            | Builtin::Exit
            | Builtin::Delete
            | Builtin::Clear
            | Builtin::Zero
            | Builtin::Emit
            | Builtin::Join
            | Builtin::Signal
            | Builtin::Cat
            | Builtin::System
            | Builtin::Debugf
            | Builtin::Override
            | Builtin::Time => {
                self.effect(e)?;
                Val::Imm(0)
            }
            // The kernel keeps the time; user space formats it.
            // Only the type changes (which helper reads through it).
            Builtin::Kptr | Builtin::Uptr => match args.first() {
                Some(p) => return self.int(p),
                None => return Err(unsupported(e.span, "kptr()/uptr() without an argument")),
            },
            Builtin::Strftime => match args.get(1) {
                Some(nsecs) => return self.int(nsecs),
                None => return Err(unsupported(e.span, "strftime() without a time")),
            },
            Builtin::Probe => self.probe_value(),
            Builtin::Comm | Builtin::Str | Builtin::Buf | Builtin::Sqlnorm | Builtin::Strcat => {
                return Err(unsupported(e.span, "a string where a number is needed"));
            }
            Builtin::Args => return Err(unsupported(e.span, "`args` as a whole value")),
            Builtin::Ret => {
                return Err(unsupported(
                    e.span,
                    "`ret` as a whole value (read one result: `ret.NAME`)",
                ));
            }
        })
    }
}
