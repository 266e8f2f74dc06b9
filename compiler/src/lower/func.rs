//! Lowering one probe body into one IR function.

mod bits;
mod builtin_values;
mod config;
mod debugf;
mod effects;
mod exprs;
mod go;
mod go_places;
mod gocaller;
mod helper_errors;
mod incdec;
mod maps;
mod memory;
mod printing;
mod probe_id;
mod pton;
mod strcat;
mod strcontains;
mod string_values;
mod strings;
mod task;
mod uaddr;
mod usdt;
mod values;
mod watch_arm;

use super::layout::{self, align8};
use super::{Module, codes};
use crate::ast::{self, BinOp, Block, Expr, ExprKind, MapRef, Stmt, StmtKind, UnOp};
use crate::bpf::helpers::{BPF_ANY, BPF_F_USER_STACK, BPF_RB_NO_WAKEUP};
use crate::bpf::{Helper, Size};
use crate::builtins::{Builtin, ProviderKind};
use crate::check::ProbeInfo;
use crate::diag::Diagnostic;
use crate::ir::{AluOp, Base, Cond, Function, Inst, Label, Operand, VReg};
use crate::manifest::{EventSpec, FieldKind, Layout, MapValue};
use crate::span::Span;
use crate::target::{GoLocation, GoRuntime, GoSite, PerProcessGo};
use crate::types::{AddrSpace, AggKind, StackKind, Type};
use go::Goroutine;
pub(super) use go::lower_process_watch;
use std::collections::HashMap;
pub(super) use watch_arm::lower_watchpoint_arm;

/// Offsets into x86_64 `struct pt_regs`.
pub fn pt_regs_offset(name: &str) -> Option<i16> {
    const REGS: [&str; 21] = [
        "r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8", "ax", "cx", "dx", "si",
        "di", "orig_ax", "ip", "cs", "flags", "sp", "ss",
    ];
    let name = name
        .strip_prefix('r')
        .filter(|n| REGS.contains(n) && !n.starts_with(|c: char| c.is_ascii_digit()))
        .unwrap_or(name);
    REGS.iter().position(|r| *r == name).map(|i| i as i16 * 8)
}

/// C-ABI argument registers: di, si, dx, cx, r8, r9.
const ARG_REGS: [&str; 6] = ["di", "si", "dx", "cx", "r8", "r9"];

/// Upper bound on `while` iterations, so the verifier sees a finite loop.
pub const WHILE_LIMIT: i32 = 100;
/// Log2 histogram buckets: 0 negative, 1 zero, `k + 2` for `[2^k, 2^(k+1))` up to `k = 63`
/// (the decoder's top bucket).
const HIST_BUCKETS: i64 = 66;

/// An integer value during lowering.
#[derive(Clone, Copy, Debug)]
enum Val {
    Imm(i64),
    /// A register owned by someone else (a variable): copy before changing it.
    Shared(VReg),
    /// A temporary this code may change in place.
    Owned(VReg),
}

enum Var {
    Int(VReg),
    /// A string, tuple or record on the stack at `r10 + off`.
    Mem {
        off: i16,
        ty: Type,
    },
}

/// A tuple, record or string in memory, at `base + off`.
struct MemValue {
    base: Base,
    off: i16,
    /// Its stored type (a variable's or map's unified type, which may be wider than the
    /// expression's).
    ty: Type,
    /// The map lookup's result when `base` is it: null when the element is missing.
    lookup: Option<VReg>,
}

type R<T> = Result<T, Diagnostic>;

/// Where a Go value is at the probed instruction.
#[derive(Clone, Debug)]
enum Place {
    /// Register pieces: (pt_regs offset, byte offset within the value, size).
    Regs(Vec<(i16, u64, u64)>),
    /// Target memory at `addr + off`.
    Mem { addr: VReg, off: i64 },
}

impl Place {
    /// The part of this value at `off..off + size`.
    fn sub(self, off: u64, size: u64) -> Place {
        match self {
            Place::Regs(slots) => Place::Regs(
                slots
                    .into_iter()
                    .filter(|(_, o, _)| *o >= off && *o < off + size.max(1))
                    .map(|(r, o, s)| (r, o - off, s))
                    .collect(),
            ),
            Place::Mem { addr, off: base } => Place::Mem {
                addr,
                off: base + off as i64,
            },
        }
    }
}

/// Bytes a value of `ty` occupies in target memory (Go layouts).
fn value_size(ty: &Type) -> u64 {
    match ty {
        Type::Int(it) => u64::from(it.bits / 8),
        Type::GoString | Type::GoInterface => 16,
        Type::GoSlice(_) => 24,
        Type::Struct(st) => st.size.max(8),
        Type::Buf { size } | Type::Str { size } => u64::from(*size),
        _ => 8,
    }
}

fn unsupported(span: Span, what: impl Into<String>) -> Diagnostic {
    let what = what.into();
    Diagnostic::error(
        codes::UNSUPPORTED,
        format!("{what} is not supported by the eBPF back end yet"),
    )
    .primary(span, "here")
}

struct Lower<'m, 'a, 'g> {
    module: &'m mut Module<'a>,
    func: Function,
    ctx: VReg,
    provider: ProviderKind,
    probe_name: String,
    span: Span,
    vars: HashMap<String, Var>,
    /// Bytes of stack in use; statements release what they allocated.
    sp: u32,
    exit_label: Label,
    go: GoCtx<'g>,
    /// The current goroutine's `g` and goid, found once at the entry of a program that uses
    /// them (each is several reads of target memory).
    goroutine: Option<Goroutine>,
    /// See [`ProbeInfo::single_step`].
    single_step: Option<crate::target::UprobeTaskOffsets>,
}

/// What lowering knows about Go for one program: the function (for `args`/`ret` locations), the
/// runtime offsets (for `goid`), and whether R14 holds g at the probed instructions.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct GoCtx<'a> {
    pub site: Option<&'a GoSite>,
    pub runtime: Option<&'a GoRuntime>,
    /// Node-wide: no constant offsets; each process's come from the Go-processes map.
    pub per_process: Option<&'a PerProcessGo>,
    pub abi_internal: bool,
    /// Some probed site's user stack lacks the direct caller, which `gostack` then takes from
    /// `*SP` (see [`GoSite::caller_at_sp`]).
    pub caller_at_sp: bool,
    /// A USDT probe's argument locations (one site's, shared by every site of the program).
    pub usdt: Option<&'a [crate::usdt::UsdtArg]>,
    /// The program's functions have names of their own (`uprobe:BIN:main.*`): `probe` is the
    /// attach cookie, which the runtime sets to each function's probe id.
    pub named_sites: bool,
    /// The program's one attach offset, if it has one (`uaddr()` in a PIE binary).
    pub site_offset: Option<u64>,
    /// See [`crate::manifest::ProgramSpec::offset_cookies`].
    pub offset_cookies: bool,
    /// See [`crate::check::ProbeInfo::uaddr_at_site`].
    pub uaddr_at_site: bool,
}

pub(super) fn lower_probe(
    module: &mut Module,
    probe: &ast::Probe,
    info: &ProbeInfo,
    name: &str,
    provider: ProviderKind,
    probe_name: &str,
    go: GoCtx,
) -> Function {
    lower_with(module, name, provider, probe_name, probe.span, go, |l| {
        l.single_step = info.single_step;
        if l.module.options.filter_processes
            && matches!(
                provider,
                ProviderKind::Uprobe
                    | ProviderKind::Uretprobe
                    | ProviderKind::Usdt
                    | ProviderKind::Tracepoint
                    | ProviderKind::RawTracepoint
                    | ProviderKind::Profile
                    | ProviderKind::Software
                    | ProviderKind::Hardware
            )
        {
            l.process_filter()?;
        }
        l.declare_mem_vars(info)?;
        if let Some(at) = info.goroutine_at
            && (go.runtime.is_some() || go.per_process.is_some())
        {
            l.goroutine = Some(l.find_goroutine(at)?);
        }
        if let Some(pred) = &probe.predicate {
            l.span = pred.span;
            if l.never_true(pred) {
                // No body: code after an unconditional jump is unreachable, which the
                // verifier rejects (e.g. `/$1 > 0 && .../` with `$1` = 0).
                return Ok(());
            }
            let exit = l.exit_label;
            l.branch(pred, exit, false)?;
        }
        l.block(&probe.body)
    })
}

/// A program gprobe adds on its own (no probe in the source): `body` emits what it does
/// between the entry and the exit.
fn lower_internal(
    module: &mut Module,
    name: &str,
    body: impl FnOnce(&mut Lower) -> R<()>,
) -> Function {
    let span = Span { start: 0, end: 0 };
    let go = GoCtx::default();
    lower_with(module, name, ProviderKind::Tracepoint, name, span, go, body)
}

/// One program: the entry, what `body` emits (its error becomes a diagnostic), the exit.
fn lower_with(
    module: &mut Module,
    name: &str,
    provider: ProviderKind,
    probe_name: &str,
    span: Span,
    go: GoCtx,
    body: impl FnOnce(&mut Lower) -> R<()>,
) -> Function {
    let mut func = Function::new(name);
    let ctx = func.vreg();
    let exit_label = func.label();
    let mut l = Lower {
        module,
        func,
        ctx,
        provider,
        probe_name: probe_name.to_string(),
        span,
        vars: HashMap::new(),
        sp: 0,
        exit_label,
        go,
        goroutine: None,
        single_step: None,
    };
    l.emit(Inst::Entry { ctx });
    if let Err(d) = body(&mut l) {
        l.module.diags.push(d);
    }
    l.span = span;
    l.emit(Inst::Label(exit_label));
    l.emit(Inst::Exit { value: 0 });
    l.func
}

impl Lower<'_, '_, '_> {
    fn emit(&mut self, inst: Inst) {
        self.func.push(inst, self.span);
    }

    fn vreg(&mut self) -> VReg {
        self.func.vreg()
    }

    fn label(&mut self) -> Label {
        self.func.label()
    }

    /// `size` bytes of stack, 8-aligned; returns the r10-relative offset.
    fn alloc(&mut self, size: u32) -> R<i16> {
        self.sp += align8(size.max(1));
        self.func.frame = self.func.frame.max(self.sp);
        if self.sp > crate::regalloc::STACK_LIMIT {
            return Err(Diagnostic::error(
                codes::STACK,
                "this probe needs more than the 512 bytes of eBPF stack",
            )
            .primary(self.span, "while lowering this"));
        }
        Ok(-(self.sp as i32) as i16)
    }

    /// Strings, tuples and records held in variables live in stack slots for the whole probe,
    /// sized by the checker's unified type (the widest value ever assigned).
    fn declare_mem_vars(&mut self, info: &ProbeInfo) -> R<()> {
        for var in &info.vars {
            if matches!(
                var.ty,
                Type::Int(_)
                    | Type::Ptr(..)
                    | Type::Sym { .. }
                    | Type::Coded(_)
                    | Type::GoPc
                    | Type::Rendered(_)
                    | Type::Stack { .. }
                    | Type::Timestamp { .. }
            ) {
                continue;
            }
            self.span = var.span;
            let size = layout::stack_size(&var.ty)
                .ok_or_else(|| unsupported(var.span, "a variable of this type"))?;
            let off = self.alloc(size)?;
            self.vars.insert(
                var.name.clone(),
                Var::Mem {
                    off,
                    ty: var.ty.clone(),
                },
            );
        }
        Ok(())
    }

    fn block(&mut self, block: &Block) -> R<()> {
        for s in &block.stmts {
            let mark = self.sp;
            self.span = s.span;
            self.stmt(s)?;
            self.sp = mark;
        }
        Ok(())
    }

    // ---- statements -------------------------------------------------------------------

    fn stmt(&mut self, s: &Stmt) -> R<()> {
        match &s.kind {
            StmtKind::Expr(e) => self.effect(e),
            StmtKind::AssignVar { var, op, value } => self.assign_var(var, *op, value, s.span),
            StmtKind::AssignMap { map, op, value } => self.assign_map(map, *op, value),
            StmtKind::If { cond, els, .. } if self.never_true(cond) => match els {
                Some(els) => self.block(els),
                None => Ok(()),
            },
            StmtKind::If { cond, then, els } => {
                // A constant condition lowers one arm: the verifier rejects unreachable code.
                if let Some(c) = self.constant(cond) {
                    return match (c != 0, els) {
                        (true, _) => self.block(then),
                        (false, Some(els)) => self.block(els),
                        (false, None) => Ok(()),
                    };
                }
                let else_label = self.label();
                self.branch(cond, else_label, false)?;
                self.block(then)?;
                match els {
                    Some(els) => {
                        let end = self.label();
                        self.emit(Inst::Jump { target: end });
                        self.emit(Inst::Label(else_label));
                        self.block(els)?;
                        self.emit(Inst::Label(end));
                    }
                    None => self.emit(Inst::Label(else_label)),
                }
                Ok(())
            }
            StmtKind::Unroll { count, body } => {
                for _ in 0..*count {
                    self.block(body)?;
                }
                Ok(())
            }
            StmtKind::While { cond, body } => {
                let counter = self.vreg();
                let (top, end) = (self.label(), self.label());
                self.emit(Inst::Mov {
                    dst: counter,
                    src: Operand::Imm(0),
                });
                self.emit(Inst::Label(top));
                self.emit(Inst::Branch {
                    cond: Cond::Sge,
                    lhs: counter,
                    rhs: Operand::Imm(WHILE_LIMIT),
                    target: end,
                });
                self.emit(Inst::Alu {
                    op: AluOp::Add,
                    dst: counter,
                    src: Operand::Imm(1),
                });
                self.branch(cond, end, false)?;
                self.block(body)?;
                self.emit(Inst::Jump { target: top });
                self.emit(Inst::Label(end));
                Ok(())
            }
            StmtKind::Return => {
                let exit = self.exit_label;
                self.emit(Inst::Jump { target: exit });
                Ok(())
            }
            StmtKind::Block(b) => self.block(b),
        }
    }

    fn assign_var(
        &mut self,
        var: &ast::Name,
        op: Option<BinOp>,
        value: &Expr,
        span: Span,
    ) -> R<()> {
        if let Some(Var::Mem { off, ty }) = self.vars.get(&var.node) {
            let (off, ty) = (*off, ty.clone());
            if op.is_some() {
                return Err(unsupported(
                    span,
                    "a compound assignment to a string variable",
                ));
            }
            return self.write_value(value, off, &ty);
        }
        let dst = match self.vars.get(&var.node) {
            Some(Var::Int(v)) => *v,
            _ => {
                let v = self.vreg();
                self.vars.insert(var.node.clone(), Var::Int(v));
                v
            }
        };
        match op {
            None => {
                let v = self.int(value)?;
                self.move_into(dst, v);
            }
            Some(op) => {
                let rhs = self.int(value)?;
                let rhs = self.operand(rhs);
                let alu = alu_of(op, is_signed(value))
                    .ok_or_else(|| unsupported(span, "this compound operator"))?;
                self.emit(Inst::Alu {
                    op: alu,
                    dst,
                    src: rhs,
                });
            }
        }
        Ok(())
    }

    // ---- events -----------------------------------------------------------------------

    /// `r = min(r, cap)`, comparing unsigned: a size the verifier sees bounded by 0..=cap.
    fn clamp_unsigned(&mut self, r: VReg, cap: u32) {
        let ok = self.label();
        self.emit(Inst::Branch {
            cond: Cond::Le,
            lhs: r,
            rhs: Operand::Imm(cap as i32),
            target: ok,
        });
        self.emit(Inst::Mov {
            dst: r,
            src: Operand::Imm(cap as i32),
        });
        self.emit(Inst::Label(ok));
    }

    fn store_imm64(&mut self, off: i16, value: u64) {
        match i32::try_from(value as i64) {
            Ok(small) => self.emit(Inst::Store {
                base: Base::Fp,
                off,
                size: Size::DW,
                src: Operand::Imm(small),
            }),
            Err(_) => {
                let t = self.vreg();
                self.emit(Inst::MovImm64 { dst: t, imm: value });
                self.emit(Inst::Store {
                    base: Base::Fp,
                    off,
                    size: Size::DW,
                    src: Operand::Reg(t),
                });
            }
        }
    }

    fn stack_addr(&mut self, off: i16) -> VReg {
        let v = self.vreg();
        self.emit(Inst::StackAddr { dst: v, off });
        v
    }

    /// A limited session: return unless the current tgid is one the runtime listed. First, so
    /// that other processes pay one hash lookup and nothing else. (Interval, BEGIN and END
    /// fire in no particular process and are never filtered.)
    fn process_filter(&mut self) -> R<()> {
        let map = self.module.processes_map();
        let saved = self.sp;
        let key = self.alloc(8)?;
        let r = self.call_value(Helper::GetCurrentPidTgid, vec![]);
        let tgid = self.vreg();
        self.move_into(tgid, Val::Owned(r));
        self.emit(Inst::Alu {
            op: AluOp::Rsh,
            dst: tgid,
            src: Operand::Imm(32),
        });
        self.store_val(key, Val::Owned(tgid));
        let found = self.lookup(map, key);
        let exit = self.exit_label;
        self.branch_if_zero(found, exit);
        // The key is dead from here: its slot serves the probe's own values.
        self.sp = saved;
        Ok(())
    }

    /// `if v == 0 goto target`: a failed lookup or helper call.
    fn branch_if_zero(&mut self, v: VReg, target: Label) {
        self.emit(Inst::Branch {
            cond: Cond::Eq,
            lhs: v,
            rhs: Operand::Imm(0),
            target,
        });
    }

    fn zero_stack(&mut self, off: i16, size: u32) {
        for i in (0..align8(size) as i16).step_by(8) {
            self.emit(Inst::Store {
                base: Base::Fp,
                off: off + i,
                size: Size::DW,
                src: Operand::Imm(0),
            });
        }
    }

    /// Copies `size` bytes from the tracepoint record at `src` with naturally aligned loads.
    fn copy_from_ctx(&mut self, src: i16, dst: i16, size: u32) {
        let t = self.vreg();
        let mut done = 0i16;
        while (done as u32) < size {
            let left = size - done as u32;
            let width = [8u32, 4, 2, 1]
                .into_iter()
                .find(|w| {
                    *w <= left
                        && ((src + done) as u32).is_multiple_of(*w)
                        && (dst + done).rem_euclid(*w as i16) == 0
                })
                .unwrap_or(1);
            let sz = Size::from_bytes(width).unwrap_or(Size::B);
            let ctx = self.ctx;
            self.emit(Inst::Load {
                dst: t,
                base: Base::Reg(ctx),
                off: src + done,
                size: sz,
            });
            self.emit(Inst::Store {
                base: Base::Fp,
                off: dst + done,
                size: sz,
                src: Operand::Reg(t),
            });
            done += width as i16;
        }
    }

    fn user_space(&self) -> bool {
        matches!(
            self.provider,
            ProviderKind::Uprobe | ProviderKind::Uretprobe | ProviderKind::Usdt
        )
    }

    /// Whether the context is the probed function's `pt_regs` (uprobes and kprobes).
    fn function_regs(&self) -> bool {
        matches!(
            self.provider,
            ProviderKind::Uprobe
                | ProviderKind::Uretprobe
                | ProviderKind::Kprobe
                | ProviderKind::Kretprobe
                | ProviderKind::Usdt
        )
    }

    fn is_tracepoint_args(&self, e: &Expr) -> bool {
        self.provider == ProviderKind::Tracepoint
            && matches!(
                e.kind,
                ExprKind::Builtin {
                    builtin: Builtin::Args,
                    ..
                }
            )
    }

    fn tracepoint_field(&self, args: &Expr, name: &ast::Name) -> R<(i16, Type)> {
        let Type::Struct(st) = &args.ty else {
            return Err(unsupported(
                args.span,
                "tracepoint args without a known format",
            ));
        };
        let f = st
            .fields
            .iter()
            .find(|f| f.name == name.node)
            .ok_or_else(|| unsupported(name.span, format!("tracepoint field `{}`", name.node)))?;
        Ok((f.offset as i16, f.ty.clone()))
    }

    // ---- integer expressions ------------------------------------------------------------

    fn operand(&mut self, v: Val) -> Operand {
        match v {
            Val::Imm(i) => match i32::try_from(i) {
                Ok(small) => Operand::Imm(small),
                Err(_) => {
                    let t = self.vreg();
                    self.emit(Inst::MovImm64 {
                        dst: t,
                        imm: i as u64,
                    });
                    Operand::Reg(t)
                }
            },
            Val::Shared(r) | Val::Owned(r) => Operand::Reg(r),
        }
    }

    /// A register this code may modify holding `v`.
    fn owned(&mut self, v: Val) -> VReg {
        match v {
            Val::Owned(r) => r,
            v => {
                let t = self.vreg();
                self.move_into(t, v);
                t
            }
        }
    }

    fn move_into(&mut self, dst: VReg, v: Val) {
        match v {
            Val::Imm(i) => match i32::try_from(i) {
                Ok(small) => self.emit(Inst::Mov {
                    dst,
                    src: Operand::Imm(small),
                }),
                Err(_) => self.emit(Inst::MovImm64 { dst, imm: i as u64 }),
            },
            Val::Shared(r) | Val::Owned(r) => {
                if r != dst {
                    self.emit(Inst::Mov {
                        dst,
                        src: Operand::Reg(r),
                    })
                }
            }
        }
    }

    fn call_value(&mut self, helper: Helper, args: Vec<Operand>) -> VReg {
        let r = self.vreg();
        self.emit(Inst::Call {
            helper,
            args,
            ret: Some(r),
        });
        r
    }

    fn ctx_load(&mut self, off: i16, size: Size) -> Val {
        let r = self.vreg();
        let ctx = self.ctx;
        self.emit(Inst::Load {
            dst: r,
            base: Base::Reg(ctx),
            off,
            size,
        });
        Val::Owned(r)
    }

    /// The value of an integer-like expression.
    fn int(&mut self, e: &Expr) -> R<Val> {
        let saved = self.span;
        let r = self.int_inner(e);
        self.span = saved;
        r
    }

    fn int_inner(&mut self, e: &Expr) -> R<Val> {
        match &e.kind {
            ExprKind::Int(n) => Ok(Val::Imm(*n as i64)),
            ExprKind::Positional(n) => {
                let text = self
                    .module
                    .options
                    .positional
                    .get(*n as usize - 1)
                    .cloned()
                    .unwrap_or_default();
                match text.parse::<i64>() {
                    Ok(v) => Ok(Val::Imm(v)),
                    Err(_) if text.is_empty() => Ok(Val::Imm(0)),
                    Err(_) => Err(unsupported(e.span, "a non-numeric positional parameter")),
                }
            }
            ExprKind::PositionalCount => Ok(Val::Imm(self.module.options.positional.len() as i64)),
            ExprKind::Var(name) => match self.vars.get(name) {
                Some(Var::Int(v)) => Ok(Val::Shared(*v)),
                Some(Var::Mem { .. }) => Err(unsupported(e.span, "a string variable as a number")),
                None => Ok(Val::Imm(0)),
            },
            ExprKind::Map(m) => self.map_read(m),
            ExprKind::Builtin { builtin, args } => self.builtin(e, *builtin, args),
            ExprKind::Unary { op, expr } => self.unary(e, *op, expr),
            ExprKind::IncDec { target, inc, post } => self.incdec(e, target, *inc, *post),
            ExprKind::Binary { op, lhs, rhs } => self.binary(e, *op, lhs, rhs),
            ExprKind::Ternary { cond, then, els } => {
                if let Some(c) = self.constant(cond) {
                    return self.int(if c != 0 { then } else { els });
                }
                let dst = self.vreg();
                let (other, done) = (self.label(), self.label());
                self.branch(cond, other, false)?;
                let a = self.int(then)?;
                self.move_into(dst, a);
                self.emit(Inst::Jump { target: done });
                self.emit(Inst::Label(other));
                let b = self.int(els)?;
                self.move_into(dst, b);
                self.emit(Inst::Label(done));
                Ok(Val::Owned(dst))
            }
            ExprKind::Cast { expr, .. } => {
                let v = self.int(expr)?;
                Ok(self.convert(v, &e.ty))
            }
            ExprKind::Field { expr, name, .. } if self.is_tracepoint_args(expr) => {
                let (off, ty) = self.tracepoint_field(expr, name)?;
                let (bytes, signed) = match &ty {
                    Type::Int(it) => (it.bits as u32 / 8, it.signed),
                    Type::Ptr(..) => (8, false),
                    _ => return Err(unsupported(e.span, "this tracepoint field as a number")),
                };
                let size = Size::from_bytes(bytes)
                    .ok_or_else(|| unsupported(e.span, "this field size"))?;
                let v = self.ctx_load(off, size);
                Ok(if signed && bytes < 8 {
                    self.sign_extend(v, bytes * 8)
                } else {
                    v
                })
            }
            ExprKind::Field { expr, .. } if is_tuple_value(expr) => self.tuple_field_int(e),
            ExprKind::Field { expr, name, .. } => {
                // Kernel structs and casts; Go values (user memory) take `place`.
                if memory::memory_space(e).is_some_and(|s| s != AddrSpace::User) {
                    return self.read_memory_int(e);
                }
                if let Some(place) = self.place(e)? {
                    return self.load_place(place, &e.ty, e.span);
                }
                // `p->f` / `s.f` on a struct in target memory.
                let (base_ty, ptr) = match &expr.ty {
                    Type::Ptr(inner, _) => (inner.as_ref().clone(), self.int(expr)?),
                    _ => return Err(unsupported(e.span, "this field access")),
                };
                let Type::Struct(st) = base_ty else {
                    return Err(unsupported(e.span, "a field of this type"));
                };
                let f = st
                    .fields
                    .iter()
                    .find(|f| f.name == name.node)
                    .ok_or_else(|| unsupported(name.span, format!("field `{}`", name.node)))?;
                self.read_target(ptr, f.offset as i64, &f.ty, e.span)
            }
            ExprKind::Str(_) | ExprKind::Tuple(_) | ExprKind::Record(_) => Err(unsupported(
                e.span,
                "a string or tuple where a number is needed",
            )),
            ExprKind::Ident(_) | ExprKind::Call { .. } => Err(unsupported(
                e.span,
                "an unresolved name (the checker did not run)",
            )),
            ExprKind::Index { expr, index } => match expr.ty {
                Type::Bytes { len } => self.byte_element(expr, index, len),
                _ => self.read_memory_int(e),
            },
            ExprKind::SizeofType(_) | ExprKind::SizeofExpr(_) | ExprKind::Offsetof { .. } => {
                Err(unsupported(
                    e.span,
                    "an unchecked sizeof/offsetof (the checker did not run)",
                ))
            }
        }
    }

    /// Reads an integer of type `ty` at `ptr + off` in the probed address space.
    fn read_target(&mut self, ptr: Val, off: i64, ty: &Type, span: Span) -> R<Val> {
        let helper = if self.user_space() {
            Helper::ProbeReadUser
        } else {
            Helper::ProbeRead
        };
        self.read_with(helper, ptr, off, ty, span)
    }

    /// Reads an integer of type `ty` at `ptr + off` with a probe-read `helper` (0 if it faults).
    fn read_with(&mut self, helper: Helper, ptr: Val, off: i64, ty: &Type, span: Span) -> R<Val> {
        let (bytes, signed) = match ty {
            Type::Int(it) => (it.bits as u32 / 8, it.signed),
            Type::Ptr(..) | Type::Unknown => (8, false),
            _ => return Err(unsupported(span, "reading a value of this type")),
        };
        let mark = self.sp;
        let slot = self.alloc(8)?;
        let addr = self.owned(ptr);
        if off != 0 {
            let o = self.operand(Val::Imm(off));
            self.emit(Inst::Alu {
                op: AluOp::Add,
                dst: addr,
                src: o,
            });
        }
        let buf = self.stack_addr(slot);
        let ret = self.checks_reads().then(|| self.vreg());
        self.emit(Inst::Call {
            helper,
            args: vec![
                Operand::Reg(buf),
                Operand::Imm(bytes as i32),
                Operand::Reg(addr),
            ],
            ret,
        });
        if let Some(ret) = ret {
            self.report_helper_error(helper, ret, span)?;
        }
        let r = self.vreg();
        let size = Size::from_bytes(bytes).ok_or_else(|| unsupported(span, "this size"))?;
        self.emit(Inst::Load {
            dst: r,
            base: Base::Fp,
            off: slot,
            size,
        });
        self.sp = mark;
        Ok(if signed && bytes < 8 {
            self.sign_extend(Val::Owned(r), bytes * 8)
        } else {
            Val::Owned(r)
        })
    }

    fn sign_extend(&mut self, v: Val, bits: u32) -> Val {
        if let Val::Imm(i) = v {
            let s = 64 - bits;
            return Val::Imm((i << s) >> s);
        }
        let r = self.owned(v);
        let s = (64 - bits) as i32;
        self.emit(Inst::Alu {
            op: AluOp::Lsh,
            dst: r,
            src: Operand::Imm(s),
        });
        self.emit(Inst::Alu {
            op: AluOp::Arsh,
            dst: r,
            src: Operand::Imm(s),
        });
        Val::Owned(r)
    }

    /// Truncates or sign-extends to the integer type `ty` (no-op for pointers and 64 bits).
    fn convert(&mut self, v: Val, ty: &Type) -> Val {
        let Type::Int(it) = ty else { return v };
        if it.bits >= 64 {
            return v;
        }
        if it.signed {
            return self.sign_extend(v, it.bits as u32);
        }
        if let Val::Imm(i) = v {
            return Val::Imm(i & ((1i64 << it.bits) - 1));
        }
        let src = match v {
            Val::Shared(r) | Val::Owned(r) => r,
            Val::Imm(_) => unreachable!("handled above"),
        };
        if it.bits == 32 {
            let r = self.vreg();
            self.emit(Inst::Mov32 { dst: r, src });
            return Val::Owned(r);
        }
        let r = self.owned(v);
        self.emit(Inst::Alu {
            op: AluOp::And,
            dst: r,
            src: Operand::Imm(((1i64 << it.bits) - 1) as i32),
        });
        Val::Owned(r)
    }

    // ---- Go values ----------------------------------------------------------------------
}

trait StrSize {
    fn ty_str_size(&self) -> u32;
}

impl StrSize for Expr {
    fn ty_str_size(&self) -> u32 {
        match (&self.kind, &self.ty) {
            (_, Type::Str { size }) => *size,
            (ExprKind::Str(s), _) => s.len() as u32 + 1,
            _ => 8,
        }
    }
}

fn is_signed(e: &Expr) -> bool {
    matches!(e.ty, Type::Int(it) if it.signed)
}

fn alu_of(op: BinOp, signed: bool) -> Option<AluOp> {
    Some(match op {
        BinOp::Add => AluOp::Add,
        BinOp::Sub => AluOp::Sub,
        BinOp::Mul => AluOp::Mul,
        BinOp::Div => AluOp::Div,
        BinOp::Mod => AluOp::Mod,
        BinOp::BitAnd => AluOp::And,
        BinOp::BitOr => AluOp::Or,
        BinOp::BitXor => AluOp::Xor,
        BinOp::Shl => AluOp::Lsh,
        BinOp::Shr if signed => AluOp::Arsh,
        BinOp::Shr => AluOp::Rsh,
        _ => return None,
    })
}

fn cond_of(op: BinOp, signed: bool) -> Option<Cond> {
    Some(match (op, signed) {
        (BinOp::Eq, _) => Cond::Eq,
        (BinOp::Ne, _) => Cond::Ne,
        (BinOp::Lt, false) => Cond::Lt,
        (BinOp::Le, false) => Cond::Le,
        (BinOp::Gt, false) => Cond::Gt,
        (BinOp::Ge, false) => Cond::Ge,
        (BinOp::Lt, true) => Cond::Slt,
        (BinOp::Le, true) => Cond::Sle,
        (BinOp::Gt, true) => Cond::Sgt,
        (BinOp::Ge, true) => Cond::Sge,
        _ => return None,
    })
}

/// Constant folding with eBPF's semantics (unsigned division, x / 0 = 0, x % 0 = x).
fn fold(op: AluOp, a: i64, b: i64) -> i64 {
    let (ua, ub) = (a as u64, b as u64);
    match op {
        AluOp::Add => a.wrapping_add(b),
        AluOp::Sub => a.wrapping_sub(b),
        AluOp::Mul => a.wrapping_mul(b),
        AluOp::Div => ua.checked_div(ub).unwrap_or(0) as i64,
        AluOp::Mod => ua.checked_rem(ub).unwrap_or(ua) as i64,
        AluOp::And => a & b,
        AluOp::Or => a | b,
        AluOp::Xor => a ^ b,
        AluOp::Lsh => ua.wrapping_shl(b as u32) as i64,
        AluOp::Rsh => ua.wrapping_shr(b as u32) as i64,
        AluOp::Arsh => a.wrapping_shr(b as u32),
    }
}

/// Whether `e` is a tuple or record value (`$t`, `@m[k]`, `(a, b)`), whose fields `.N` /
/// `.name` are read from memory. Go's `args` and `ret` have record types too, but their fields
/// are parameters and results, read where the Go ABI puts them.
fn is_tuple_value(e: &Expr) -> bool {
    matches!(e.ty, Type::Tuple(_) | Type::Record(_))
        && !matches!(
            e.kind,
            ExprKind::Builtin {
                builtin: Builtin::Args | Builtin::Ret,
                ..
            }
        )
}

/// The types of a tuple's or record's fields, in layout order.
fn component_types(ty: &Type) -> Vec<&Type> {
    match ty {
        Type::Tuple(items) => items.iter().collect(),
        Type::Record(fields) => fields.iter().map(|(_, t)| t).collect(),
        _ => Vec::new(),
    }
}
