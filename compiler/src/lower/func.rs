//! Lowering one probe body into one IR function.

mod bits;
mod config;
mod go;
mod gocaller;
mod helper_errors;
mod memory;
mod strings;
mod task;
mod usdt;

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
        if l.module.options.filter_processes
            && matches!(
                provider,
                ProviderKind::Uprobe
                    | ProviderKind::Uretprobe
                    | ProviderKind::Usdt
                    | ProviderKind::Tracepoint
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

    /// Evaluates an expression statement.
    fn effect(&mut self, e: &Expr) -> R<()> {
        let ExprKind::Builtin { builtin, args } = &e.kind else {
            self.int(e)?;
            return Ok(());
        };
        match builtin {
            Builtin::Printf => self.printf(e, args),
            Builtin::Exit => {
                // A full ring buffer must not swallow exit(): its failure counts in slot 2,
                // which the runtime polls.
                let id = self.module.event(EventSpec::Exit);
                self.send_event_or_count(id, &[], None, 2)?;
                // bpftrace: nothing after exit() in the probe runs.
                let exit = self.exit_label;
                self.emit(Inst::Jump { target: exit });
                Ok(())
            }
            Builtin::Print | Builtin::Clear | Builtin::Zero => {
                let m = match args.first().map(|a| &a.kind) {
                    Some(ExprKind::Map(m)) if *builtin != Builtin::Print || m.keys.is_empty() => m,
                    _ if *builtin == Builtin::Print => return self.print_value(e, args),
                    _ => return Err(unsupported(e.span, "clearing a non-map value")),
                };
                let map = format!("@{}", m.name.node);
                let spec = match builtin {
                    Builtin::Print => EventSpec::Print {
                        map,
                        top: args
                            .get(1)
                            .and_then(|a| self.constant(a))
                            .map_or(0, |n| n.max(0) as u64),
                    },
                    Builtin::Clear => EventSpec::Clear { map },
                    _ => EventSpec::Zero { map },
                };
                let id = self.module.event(spec);
                self.send_event(id, &[], None)
            }
            Builtin::Time => {
                let format = match args.first().map(|a| &a.kind) {
                    Some(ExprKind::Str(s)) => s.clone(),
                    _ => "%H:%M:%S\n".to_string(),
                };
                let id = self.module.event(EventSpec::Time { format });
                self.send_event(id, &[], None)
            }
            Builtin::Delete => {
                let Some(ExprKind::Map(m)) = args.first().map(|a| &a.kind) else {
                    return Err(unsupported(e.span, "delete of a non-map value"));
                };
                let (index, spec) = self.user_map(m)?;
                let buckets = match spec {
                    MapValue::Agg(AggKind::Hist) => Some(HIST_BUCKETS),
                    MapValue::Agg(AggKind::Lhist { min, max, step }) => {
                        Some((max - min) / step.max(1) + 2)
                    }
                    _ => None,
                };
                let Some(buckets) = buckets else {
                    let key = self.key(m, index, None)?;
                    self.delete_key(index, key);
                    return Ok(());
                };
                // A histogram's BPF key is (user key, bucket): deleting the user key deletes
                // every bucket, one `map_delete_elem` per bucket in a loop the verifier sees
                // end (the counter is a known constant on each pass).
                let key = self.key(m, index, None)?;
                let bucket_at = key + self.module.maps[index].key.size as i16 - 8;
                let (bucket, top) = (self.vreg(), self.label());
                self.emit(Inst::Mov {
                    dst: bucket,
                    src: Operand::Imm(0),
                });
                self.emit(Inst::Label(top));
                self.store_val(bucket_at, Val::Shared(bucket));
                self.delete_key(index, key);
                self.emit(Inst::Alu {
                    op: AluOp::Add,
                    dst: bucket,
                    src: Operand::Imm(1),
                });
                self.emit(Inst::Branch {
                    cond: Cond::Lt,
                    lhs: bucket,
                    rhs: Operand::Imm(buckets as i32),
                    target: top,
                });
                Ok(())
            }
            Builtin::Emit => self.emit_record(e, args),
            Builtin::Join => self.join(e, args),
            Builtin::Cat | Builtin::System => self.printf(e, args),
            Builtin::Signal => self.signal(e, args),
            _ => {
                self.int(e)?;
                Ok(())
            }
        }
    }

    // ---- events -----------------------------------------------------------------------

    fn printf(&mut self, e: &Expr, args: &[Expr]) -> R<()> {
        let Some(ExprKind::Str(format)) = args.first().map(|a| &a.kind) else {
            return Err(unsupported(e.span, "printf without a literal format"));
        };
        let values = &args[1..];
        let layout = layout::layout_of(values.iter().map(|v| (None, &v.ty)))
            .ok_or_else(|| unsupported(e.span, "a printf argument of this type"))?;
        let (format, args) = (format.clone(), layout.clone());
        let spec = match &e.kind {
            ExprKind::Builtin {
                builtin: Builtin::Cat,
                ..
            } => EventSpec::Cat { format, args },
            ExprKind::Builtin {
                builtin: Builtin::System,
                ..
            } => EventSpec::System { format, args },
            _ => EventSpec::Printf {
                format,
                args,
                span: e.span,
            },
        };
        let id = self.module.event(spec);
        self.send_event(id, values, Some(&layout))
    }

    /// `print(value)` of anything but a whole map: one event with the value.
    fn print_value(&mut self, e: &Expr, args: &[Expr]) -> R<()> {
        let Some(value) = args.first() else {
            return Err(unsupported(e.span, "print() without a value"));
        };
        let layout = layout::layout_of([(None, &value.ty)])
            .ok_or_else(|| unsupported(value.span, "print() of a value of this type"))?;
        let id = self.module.event(EventSpec::PrintValue {
            value: layout.clone(),
        });
        self.send_event(id, std::slice::from_ref(value), Some(&layout))
    }

    /// `emit(value)`: the payload is the kernel time (u64 ns, `bpf_ktime_get_ns`) then the value;
    /// a record's fields keep their names, anything else is one unnamed field.
    fn emit_record(&mut self, e: &Expr, args: &[Expr]) -> R<()> {
        let Some(value) = args.first() else {
            return Err(unsupported(e.span, "emit() without a value"));
        };
        let mut record = match &value.ty {
            Type::Record(fields) => {
                layout::layout_of(fields.iter().map(|(n, t)| (Some(n.clone()), t)))
            }
            ty => layout::layout_of([(None, ty)]),
        }
        .ok_or_else(|| unsupported(value.span, "emit() of a value of this type"))?;
        for field in &mut record.fields {
            field.offset += 8;
        }
        record.size += 8;
        let id = self.module.event(EventSpec::Emit {
            probe: self.probe_name.clone(),
            record: record.clone(),
            span: e.span,
        });
        let base = self.alloc(8 + record.size)?;
        self.store_imm64(base, id);
        let now = self.call_value(Helper::KtimeGetNs, vec![]);
        self.store_val(base + 8, Val::Owned(now));
        self.write_value(value, base + 16, &value.ty)?;
        self.output_event(base, record.size, false, 0)
    }

    /// Builds `u64 id` + payload on the stack and outputs it to the ring buffer; a failed
    /// output counts in counters slot 0.
    fn send_event(&mut self, id: u64, values: &[Expr], layout: Option<&Layout>) -> R<()> {
        self.send_event_or_count(id, values, layout, 0)
    }

    /// As [`Self::send_event`], counting a failed output in counters slot `slot`.
    fn send_event_or_count(
        &mut self,
        id: u64,
        values: &[Expr],
        layout: Option<&Layout>,
        slot: i32,
    ) -> R<()> {
        let payload = layout.map_or(0, |l| l.size);
        let base = self.alloc(8 + payload)?;
        self.store_imm64(base, id);
        if let Some(layout) = layout {
            for (v, f) in values.iter().zip(&layout.fields) {
                self.write_value(v, base + 8 + f.offset as i16, &v.ty)?;
            }
        }
        self.output_event(base, payload, layout.is_none(), slot)
    }

    /// Outputs the `8 + payload` bytes at `base` (id, payload) to the ring buffer, counting a
    /// failure in counters slot `slot`. Only control events (`wake`: exit, print, ...) wake the
    /// reader.
    fn output_event(&mut self, base: i16, payload: u32, wake: bool, slot: i32) -> R<()> {
        let events = self.module.events_map();
        let map = self.vreg();
        self.emit(Inst::LoadMap {
            dst: map,
            map: events,
        });
        let data = self.stack_addr(base);
        let ret = self.vreg();
        // Data events (printf) do not wake the reader: a wakeup per event costs microseconds
        // in the traced thread. The runtime polls every few ms when a program has them; control
        // events (exit, print, ...) still wake it.
        let flags = if wake { 0 } else { BPF_RB_NO_WAKEUP };
        self.emit(Inst::Call {
            helper: Helper::RingbufOutput,
            args: vec![
                Operand::Reg(map),
                Operand::Reg(data),
                Operand::Imm(8 + payload as i32),
                Operand::Imm(flags),
            ],
            ret: Some(ret),
        });
        self.count_failure(ret, slot)
    }

    /// `if ret != 0 { counters[slot]++ }`
    fn count_failure(&mut self, ret: VReg, slot: i32) -> R<()> {
        let done = self.label();
        self.branch_if_zero(ret, done);
        let counters = self.module.counters_map();
        let mark = self.sp;
        let key = self.alloc(4)?;
        self.emit(Inst::Store {
            base: Base::Fp,
            off: key,
            size: Size::W,
            src: Operand::Imm(slot),
        });
        let p = self.lookup(counters, key);
        self.branch_if_zero(p, done);
        self.add_in_place(p, 0, Operand::Imm(1));
        self.emit(Inst::Label(done));
        self.sp = mark;
        Ok(())
    }

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

    /// `map_delete_elem(map, r10 + key)`, its result ignored (a missing key is fine).
    fn delete_key(&mut self, map_index: usize, key: i16) {
        let map = self.vreg();
        self.emit(Inst::LoadMap {
            dst: map,
            map: map_index,
        });
        let keyp = self.stack_addr(key);
        self.emit(Inst::Call {
            helper: Helper::MapDeleteElem,
            args: vec![Operand::Reg(map), Operand::Reg(keyp)],
            ret: None,
        });
    }

    /// `map_lookup_elem(map, r10 + key)`
    fn lookup(&mut self, map_index: usize, key: i16) -> VReg {
        let map = self.vreg();
        self.emit(Inst::LoadMap {
            dst: map,
            map: map_index,
        });
        let keyp = self.stack_addr(key);
        let p = self.vreg();
        self.emit(Inst::Call {
            helper: Helper::MapLookupElem,
            args: vec![Operand::Reg(map), Operand::Reg(keyp)],
            ret: Some(p),
        });
        p
    }

    /// `*(u64 *)(p + off) += value`
    fn add_in_place(&mut self, p: VReg, off: i16, value: Operand) {
        let t = self.vreg();
        self.emit(Inst::Load {
            dst: t,
            base: Base::Reg(p),
            off,
            size: Size::DW,
        });
        self.emit(Inst::Alu {
            op: AluOp::Add,
            dst: t,
            src: value,
        });
        self.emit(Inst::Store {
            base: Base::Reg(p),
            off,
            size: Size::DW,
            src: Operand::Reg(t),
        });
    }

    // ---- maps -------------------------------------------------------------------------

    fn user_map(&mut self, m: &MapRef) -> R<(usize, MapValue)> {
        let index = *self
            .module
            .user_maps
            .get(&m.name.node)
            .ok_or_else(|| unsupported(m.span, format!("map @{}", m.name.node)))?;
        Ok((index, self.module.maps[index].value.clone()))
    }

    /// Writes the key of `@m[keys]` to a new stack slot; `bucket` goes in the trailing u64.
    fn key(&mut self, m: &MapRef, index: usize, bucket: Option<Val>) -> R<i16> {
        let key_layout = self.module.maps[index].key.clone();
        let off = self.alloc(key_layout.size)?;
        if m.keys.len() != key_layout.fields.len() {
            return Err(Diagnostic::error(
                super::codes::MAP_SHAPE,
                format!(
                    "@{} is used with {} keys here and {} elsewhere",
                    m.name.node,
                    m.keys.len(),
                    key_layout.fields.len()
                ),
            )
            .primary(m.span, "here"));
        }
        if m.keys.is_empty() && bucket.is_none() {
            self.emit(Inst::Store {
                base: Base::Fp,
                off,
                size: Size::DW,
                src: Operand::Imm(0),
            });
        }
        let key_types = self
            .module
            .checked
            .map(&m.name.node)
            .map(|info| info.keys.clone())
            .unwrap_or_default();
        for ((k, f), ty) in m.keys.iter().zip(&key_layout.fields).zip(&key_types) {
            self.write_value(k, off + f.offset as i16, ty)?;
        }
        if let Some(b) = bucket {
            let at = off + key_layout.size as i16 - 8;
            self.store_val(at, b);
        }
        Ok(off)
    }

    fn store_val(&mut self, off: i16, v: Val) {
        match v {
            Val::Imm(i) => self.store_imm64(off, i as u64),
            Val::Shared(r) | Val::Owned(r) => self.emit(Inst::Store {
                base: Base::Fp,
                off,
                size: Size::DW,
                src: Operand::Reg(r),
            }),
        }
    }

    fn assign_map(&mut self, m: &MapRef, op: Option<BinOp>, value: &Expr) -> R<()> {
        let (index, spec) = self.user_map(m)?;
        match (&spec, &value.ty) {
            (MapValue::Agg(kind), Type::Agg(_)) => self.aggregate(m, index, *kind, value),
            (MapValue::Plain(layout), _) => {
                let layout = layout.clone();
                if let Some(op) = op {
                    return self.map_compound(m, index, op, value);
                }
                let slot = match self.module.checked.map(&m.name.node).map(|i| &i.value) {
                    Some(crate::check::MapValue::Plain(ty)) => ty.clone(),
                    _ => value.ty.clone(),
                };
                let key = self.key(m, index, None)?;
                let val = self.alloc(layout.size)?;
                self.write_value(value, val, &slot)?;
                self.update(index, key, val)
            }
            _ => Err(Diagnostic::error(
                super::codes::MAP_SHAPE,
                format!("@{} holds another kind of value", m.name.node),
            )
            .primary(value.span, "assigned here")),
        }
    }

    /// `map_update_elem(map, key, value, BPF_ANY)`; a failure (map full) counts in slot 1 for
    /// maps that lose keys while tracing (see `Module::emptied_maps`).
    fn update(&mut self, index: usize, key: i16, val: i16) -> R<()> {
        let map = self.vreg();
        self.emit(Inst::LoadMap {
            dst: map,
            map: index,
        });
        let keyp = self.stack_addr(key);
        let valp = self.stack_addr(val);
        let ret = self.vreg();
        self.emit(Inst::Call {
            helper: Helper::MapUpdateElem,
            args: vec![
                Operand::Reg(map),
                Operand::Reg(keyp),
                Operand::Reg(valp),
                Operand::Imm(BPF_ANY),
            ],
            ret: Some(ret),
        });
        if self.module.emptied_maps.contains(&index) {
            self.count_failure(ret, 1)?;
        }
        Ok(())
    }

    /// `@m[k] op= v` on a plain integer map: in place when present, else inserted.
    fn map_compound(&mut self, m: &MapRef, index: usize, op: BinOp, value: &Expr) -> R<()> {
        let alu = alu_of(op, is_signed(value))
            .ok_or_else(|| unsupported(value.span, "this compound operator"))?;
        let key = self.key(m, index, None)?;
        let rhs = self.int(value)?;
        let rhs = self.operand(rhs);
        let p = self.lookup(index, key);
        let (absent, done) = (self.label(), self.label());
        self.branch_if_zero(p, absent);
        let t = self.vreg();
        if matches!(op, BinOp::Add | BinOp::Sub) {
            // `@n += x` / `@n -= x` from several CPUs at once (a gauge such as requests in
            // flight) must not lose updates: an atomic add in place.
            match (op, rhs) {
                (BinOp::Sub, Operand::Imm(i)) if i != i32::MIN => {
                    self.emit(Inst::Mov {
                        dst: t,
                        src: Operand::Imm(-i),
                    });
                }
                _ => {
                    self.emit(Inst::Mov { dst: t, src: rhs });
                    if op == BinOp::Sub {
                        self.emit(Inst::Neg { dst: t });
                    }
                }
            }
            self.emit(Inst::AtomicAdd {
                base: p,
                off: 0,
                src: t,
            });
        } else {
            self.emit(Inst::Load {
                dst: t,
                base: Base::Reg(p),
                off: 0,
                size: Size::DW,
            });
            self.emit(Inst::Alu {
                op: alu,
                dst: t,
                src: rhs,
            });
            self.emit(Inst::Store {
                base: Base::Reg(p),
                off: 0,
                size: Size::DW,
                src: Operand::Reg(t),
            });
        }
        self.emit(Inst::Jump { target: done });
        self.emit(Inst::Label(absent));
        let val = self.alloc(8)?;
        let fresh = self.vreg();
        self.emit(Inst::Mov {
            dst: fresh,
            src: Operand::Imm(0),
        });
        self.emit(Inst::Alu {
            op: alu,
            dst: fresh,
            src: rhs,
        });
        self.emit(Inst::Store {
            base: Base::Fp,
            off: val,
            size: Size::DW,
            src: Operand::Reg(fresh),
        });
        self.update(index, key, val)?;
        self.emit(Inst::Label(done));
        Ok(())
    }

    fn aggregate(&mut self, m: &MapRef, index: usize, kind: AggKind, value: &Expr) -> R<()> {
        let ExprKind::Builtin { args, .. } = &value.kind else {
            return Err(unsupported(value.span, "this aggregation"));
        };
        let arg = match args.first() {
            Some(a) => Some(self.int(a)?),
            None => None,
        };
        let bucket = match kind {
            AggKind::Hist => Some(self.log2_bucket(arg.unwrap_or(Val::Imm(0)))),
            AggKind::Lhist { min, max, step } => {
                Some(self.linear_bucket(arg.unwrap_or(Val::Imm(0)), min, max, step))
            }
            _ => None,
        };
        let key = self.key(m, index, bucket)?;
        let v = arg.map(|a| self.operand(a)).unwrap_or(Operand::Imm(1));
        let p = self.lookup(index, key);
        let (absent, done) = (self.label(), self.label());
        self.branch_if_zero(p, absent);
        match kind {
            AggKind::Count => self.add_in_place(p, 0, Operand::Imm(1)),
            // A bucket keeps its count and the sum of its values (exporters' `_sum`).
            AggKind::Hist | AggKind::Lhist { .. } => {
                self.add_in_place(p, 0, Operand::Imm(1));
                self.add_in_place(p, 8, v);
            }
            AggKind::Sum => self.add_in_place(p, 0, v),
            AggKind::Avg | AggKind::Stats => {
                self.add_in_place(p, 0, v);
                self.add_in_place(p, 8, Operand::Imm(1));
            }
            AggKind::Min | AggKind::Max => {
                // Replace when unset or better.
                let (replace, keep) = (self.label(), self.label());
                let set = self.vreg();
                self.emit(Inst::Load {
                    dst: set,
                    base: Base::Reg(p),
                    off: 8,
                    size: Size::DW,
                });
                self.branch_if_zero(set, replace);
                let cur = self.vreg();
                self.emit(Inst::Load {
                    dst: cur,
                    base: Base::Reg(p),
                    off: 0,
                    size: Size::DW,
                });
                let keep_if = if kind == AggKind::Min {
                    Cond::Sle
                } else {
                    Cond::Sge
                };
                self.emit(Inst::Branch {
                    cond: keep_if,
                    lhs: cur,
                    rhs: v,
                    target: keep,
                });
                self.emit(Inst::Label(replace));
                self.emit(Inst::Store {
                    base: Base::Reg(p),
                    off: 0,
                    size: Size::DW,
                    src: v,
                });
                self.emit(Inst::Store {
                    base: Base::Reg(p),
                    off: 8,
                    size: Size::DW,
                    src: Operand::Imm(1),
                });
                self.emit(Inst::Label(keep));
            }
        }
        self.emit(Inst::Jump { target: done });
        self.emit(Inst::Label(absent));
        let val = self.alloc(16)?;
        match kind {
            AggKind::Count => self.emit(Inst::Store {
                base: Base::Fp,
                off: val,
                size: Size::DW,
                src: Operand::Imm(1),
            }),
            AggKind::Hist | AggKind::Lhist { .. } => {
                self.emit(Inst::Store {
                    base: Base::Fp,
                    off: val,
                    size: Size::DW,
                    src: Operand::Imm(1),
                });
                self.emit(Inst::Store {
                    base: Base::Fp,
                    off: val + 8,
                    size: Size::DW,
                    src: v,
                });
            }
            AggKind::Sum => self.emit(Inst::Store {
                base: Base::Fp,
                off: val,
                size: Size::DW,
                src: v,
            }),
            AggKind::Avg | AggKind::Stats | AggKind::Min | AggKind::Max => {
                self.emit(Inst::Store {
                    base: Base::Fp,
                    off: val,
                    size: Size::DW,
                    src: v,
                });
                self.emit(Inst::Store {
                    base: Base::Fp,
                    off: val + 8,
                    size: Size::DW,
                    src: Operand::Imm(1),
                });
            }
        }
        self.update(index, key, val)?;
        self.emit(Inst::Label(done));
        Ok(())
    }

    /// bpftrace's log2 bucket: 0 for negatives, 1 for 0, `k + 2` for `2^k ..= 2^(k+1) - 1`.
    /// `v` itself is left unchanged (a histogram also sums the values).
    fn log2_bucket(&mut self, v: Val) -> Val {
        if let Val::Imm(i) = v {
            return Val::Imm(match i {
                i64::MIN..=-1 => 0,
                0 => 1,
                _ => 2 + 63 - i.leading_zeros() as i64,
            });
        }
        let below_2_32 = self.zero_extended_32(&v);
        let (Val::Shared(n) | Val::Owned(n)) = v else {
            unreachable!("immediates are handled above")
        };
        let bucket = self.vreg();
        let done = self.label();
        if !below_2_32 {
            self.emit(Inst::Mov {
                dst: bucket,
                src: Operand::Imm(0),
            });
            self.emit(Inst::Branch {
                cond: Cond::Slt,
                lhs: n,
                rhs: Operand::Imm(0),
                target: done,
            });
        }
        self.emit(Inst::Mov {
            dst: bucket,
            src: Operand::Imm(1),
        });
        self.branch_if_zero(n, done);
        // bucket = 2 + floor(log2 n), by halving the search range: a step is a compare with
        // 2^k, a shift and an add. 2^32 is no immediate, so that step shifts first and tests
        // the result, and is left out when the value is known to fit 32 bits.
        self.emit(Inst::Mov {
            dst: bucket,
            src: Operand::Imm(2),
        });
        let rest = self.vreg();
        self.emit(Inst::Mov {
            dst: rest,
            src: Operand::Reg(n),
        });
        if !below_2_32 {
            let skip = self.label();
            let high = self.vreg();
            self.emit(Inst::Mov {
                dst: high,
                src: Operand::Reg(rest),
            });
            self.emit(Inst::Alu {
                op: AluOp::Rsh,
                dst: high,
                src: Operand::Imm(32),
            });
            self.branch_if_zero(high, skip);
            self.emit(Inst::Mov {
                dst: rest,
                src: Operand::Reg(high),
            });
            self.emit(Inst::Alu {
                op: AluOp::Add,
                dst: bucket,
                src: Operand::Imm(32),
            });
            self.emit(Inst::Label(skip));
        }
        for shift in [16, 8, 4, 2, 1] {
            let skip = self.label();
            self.emit(Inst::Branch {
                cond: Cond::Lt,
                lhs: rest,
                rhs: Operand::Imm(1 << shift),
                target: skip,
            });
            // The last step's shifted value is never read.
            if shift > 1 {
                self.emit(Inst::Alu {
                    op: AluOp::Rsh,
                    dst: rest,
                    src: Operand::Imm(shift),
                });
            }
            self.emit(Inst::Alu {
                op: AluOp::Add,
                dst: bucket,
                src: Operand::Imm(shift),
            });
            self.emit(Inst::Label(skip));
        }
        self.emit(Inst::Label(done));
        Val::Owned(bucket)
    }

    /// Whether `v`'s register is known to hold a value below 2^32 here: a temporary whose
    /// latest definition zero-extends 32 bits or less whatever its input, with no label since
    /// (so every path to this point went through it). Variables do not qualify: one may be
    /// assigned again later inside a loop.
    fn zero_extended_32(&self, v: &Val) -> bool {
        let Val::Owned(r) = *v else { return false };
        for s in self.func.insts.iter().rev() {
            if s.inst.def() == Some(r) {
                return match s.inst {
                    Inst::Mov32 { .. } => true,
                    Inst::Load { size, .. } => size != Size::DW,
                    Inst::Alu {
                        op: AluOp::And,
                        src: Operand::Imm(mask),
                        ..
                    } => mask >= 0,
                    Inst::Alu {
                        op: AluOp::Rsh,
                        src: Operand::Imm(shift),
                        ..
                    } => (32..64).contains(&shift),
                    _ => false,
                };
            }
            if matches!(s.inst, Inst::Label(_)) {
                return false;
            }
        }
        false
    }

    /// lhist bucket: 0 below `min`, `(v - min) / step + 1` inside, `(max - min) / step + 1` at or
    /// above `max`.
    fn linear_bucket(&mut self, v: Val, min: i64, max: i64, step: i64) -> Val {
        let top = (max - min) / step.max(1) + 1;
        if let Val::Imm(i) = v {
            return Val::Imm(if i < min {
                0
            } else if i >= max {
                top
            } else {
                (i - min) / step + 1
            });
        }
        let (Ok(min32), Ok(max32), Ok(step32)) = (
            i32::try_from(min),
            i32::try_from(max),
            i32::try_from(step.max(1)),
        ) else {
            // The checker keeps lhist bounds small; fall back to the top bucket rather than panic.
            return Val::Imm(top);
        };
        let n = self.owned(v);
        let bucket = self.vreg();
        let done = self.label();
        self.emit(Inst::Mov {
            dst: bucket,
            src: Operand::Imm(0),
        });
        self.emit(Inst::Branch {
            cond: Cond::Slt,
            lhs: n,
            rhs: Operand::Imm(min32),
            target: done,
        });
        self.emit(Inst::Mov {
            dst: bucket,
            src: Operand::Imm(top as i32),
        });
        self.emit(Inst::Branch {
            cond: Cond::Sge,
            lhs: n,
            rhs: Operand::Imm(max32),
            target: done,
        });
        self.emit(Inst::Mov {
            dst: bucket,
            src: Operand::Reg(n),
        });
        if min32 != 0 {
            self.emit(Inst::Alu {
                op: AluOp::Sub,
                dst: bucket,
                src: Operand::Imm(min32),
            });
        }
        if step32 != 1 {
            self.emit(Inst::Alu {
                op: AluOp::Div,
                dst: bucket,
                src: Operand::Imm(step32),
            });
        }
        self.emit(Inst::Alu {
            op: AluOp::Add,
            dst: bucket,
            src: Operand::Imm(1),
        });
        self.emit(Inst::Label(done));
        Val::Owned(bucket)
    }

    // ---- values in memory ---------------------------------------------------------------

    /// Writes `e` (of type `ty`) into the stack at `r10 + off`, laid out as [`layout`] says.
    fn write_value(&mut self, e: &Expr, off: i16, ty: &Type) -> R<()> {
        match ty {
            Type::Int(_)
            | Type::Ptr(..)
            | Type::Sym { .. }
            | Type::Coded(_)
            | Type::GoPc
            | Type::Rendered(_)
            | Type::Stack { .. }
            | Type::Timestamp { .. } => {
                let v = self.int(e)?;
                self.store_val(off, v);
                Ok(())
            }
            Type::Str { size } => self.write_str(e, off, *size),
            Type::Buf { size } => self.write_buf(e, off, *size),
            Type::GoCaller => self.write_gocaller(e, off),
            Type::Tuple(_) | Type::Record(_) => {
                let parts: Vec<&Expr> = match &e.kind {
                    ExprKind::Tuple(items) => items.iter().collect(),
                    ExprKind::Record(fields) => fields.iter().map(|(_, x)| x).collect(),
                    ExprKind::Var(name) => return self.copy_var(name, off, ty, e.span),
                    _ => return self.copy_mem_value(e, off, ty),
                };
                let slots = component_types(ty);
                let (FieldKind::Tuple(layout), _) =
                    layout::field_kind(ty).ok_or_else(|| unsupported(e.span, "this tuple"))?
                else {
                    return Err(unsupported(e.span, "this tuple"));
                };
                for ((p, f), slot) in parts.into_iter().zip(&layout.fields).zip(slots) {
                    self.write_value(p, off + f.offset as i16, slot)?;
                }
                Ok(())
            }
            _ => Err(unsupported(
                e.span,
                format!("a value of type {ty:?} in memory"),
            )),
        }
    }

    /// `buf(p, n)`: a length byte, then `n` bytes read from the probed address space (zeros
    /// where the read faults), as the manifest's `FieldKind::Buf` lays it out.
    fn write_buf(&mut self, e: &Expr, off: i16, size: u32) -> R<()> {
        let ty = Type::Buf { size };
        match &e.kind {
            ExprKind::Var(name) => self.copy_var(name, off, &ty, e.span),
            ExprKind::Builtin {
                builtin: Builtin::Buf,
                args,
            } => {
                let Some(ptr) = args.first() else {
                    return Err(unsupported(e.span, "buf() without an argument"));
                };
                self.zero_stack(off, size + 1);
                self.emit(Inst::Store {
                    base: Base::Fp,
                    off,
                    size: Size::B,
                    src: Operand::Imm(size as i32),
                });
                let p = self.int(ptr)?;
                let p = self.operand(p);
                let dst = self.stack_addr(off + 1);
                let helper = if self.user_space() {
                    Helper::ProbeReadUser
                } else {
                    Helper::ProbeRead
                };
                self.emit(Inst::Call {
                    helper,
                    args: vec![Operand::Reg(dst), Operand::Imm(size as i32), p],
                    ret: None,
                });
                Ok(())
            }
            _ => Err(unsupported(e.span, "a buffer from this expression")),
        }
    }

    /// Where the tuple, record or string `e` is in memory: a variable's stack slot, a map
    /// element's value (found with one lookup, never copied as a whole), a literal built in a
    /// new stack slot, or a field of one of those.
    fn mem_value(&mut self, e: &Expr) -> R<MemValue> {
        match &e.kind {
            ExprKind::Var(name) => match self.vars.get(name) {
                Some(Var::Mem { off, ty }) => Ok(MemValue {
                    base: Base::Fp,
                    off: *off,
                    ty: ty.clone(),
                    lookup: None,
                }),
                _ => Err(unsupported(e.span, "this variable here")),
            },
            ExprKind::Map(m) => {
                let (index, value) = self.user_map(m)?;
                let stored = match (value, self.module.checked.map(&m.name.node)) {
                    (MapValue::Plain(_), Some(info)) => match &info.value {
                        crate::check::MapValue::Plain(ty) => ty.clone(),
                        crate::check::MapValue::Agg(_) => {
                            return Err(unsupported(e.span, "this map's value here"));
                        }
                    },
                    _ => return Err(unsupported(e.span, "this map's value here")),
                };
                let key = self.key(m, index, None)?;
                let p = self.lookup(index, key);
                Ok(MemValue {
                    base: Base::Reg(p),
                    off: 0,
                    ty: stored,
                    lookup: Some(p),
                })
            }
            ExprKind::Field { expr, name, .. } if is_tuple_value(expr) => {
                let outer = self.mem_value(expr)?;
                let (FieldKind::Tuple(layout), _) = layout::field_kind(&outer.ty)
                    .ok_or_else(|| unsupported(e.span, "this tuple"))?
                else {
                    return Err(unsupported(e.span, "a field of this value"));
                };
                let names: Vec<String> = match &outer.ty {
                    Type::Record(fields) => fields.iter().map(|(n, _)| n.clone()).collect(),
                    _ => (0..layout.fields.len()).map(|i| i.to_string()).collect(),
                };
                let types = component_types(&outer.ty);
                let at = names
                    .iter()
                    .position(|n| *n == name.node)
                    .ok_or_else(|| unsupported(name.span, format!("field `{}`", name.node)))?;
                let (Some(field), Some(ty)) = (layout.fields.get(at), types.get(at)) else {
                    return Err(unsupported(name.span, format!("field `{}`", name.node)));
                };
                Ok(MemValue {
                    off: outer.off + field.offset as i16,
                    ty: (*ty).clone(),
                    ..outer
                })
            }
            ExprKind::Tuple(_) | ExprKind::Record(_) => {
                let size = layout::stack_size(&e.ty)
                    .ok_or_else(|| unsupported(e.span, "a tuple of this type"))?;
                let off = self.alloc(size)?;
                self.write_value(e, off, &e.ty)?;
                Ok(MemValue {
                    base: Base::Fp,
                    off,
                    ty: e.ty.clone(),
                    lookup: None,
                })
            }
            _ => Err(unsupported(e.span, "a tuple from this expression")),
        }
    }

    /// Runs `present` on the value at `v`, or `absent` instead when `v` is a map element that
    /// is not there (bpftrace reads a missing element as zeros).
    fn with_mem_value(
        &mut self,
        v: &MemValue,
        present: impl FnOnce(&mut Self, Base, i16, &Type) -> R<()>,
        absent: impl FnOnce(&mut Self) -> R<()>,
    ) -> R<()> {
        let Some(p) = v.lookup else {
            return present(self, v.base, v.off, &v.ty);
        };
        let (missing, done) = (self.label(), self.label());
        self.branch_if_zero(p, missing);
        present(self, v.base, v.off, &v.ty)?;
        self.emit(Inst::Jump { target: done });
        self.emit(Inst::Label(missing));
        absent(self)?;
        self.emit(Inst::Label(done));
        Ok(())
    }

    /// Copies the tuple, record or string `e` into a slot of type `ty` at `r10 + off`.
    fn copy_mem_value(&mut self, e: &Expr, off: i16, ty: &Type) -> R<()> {
        let v = self.mem_value(e)?;
        let size = layout::stack_size(ty).ok_or_else(|| unsupported(e.span, "this value"))?;
        let span = e.span;
        self.with_mem_value(
            &v,
            |l, base, src, src_ty| {
                if base == Base::Fp && src == off && src_ty == ty {
                    return Ok(());
                }
                l.copy_converting(base, src, src_ty, off, ty, span)
            },
            |l| {
                l.zero_stack(off, size);
                Ok(())
            },
        )
    }

    /// An integer field of a tuple or record (`$t.0`, `@m[k].1`, `(a, b).0`).
    fn tuple_field_int(&mut self, e: &Expr) -> R<Val> {
        let v = self.mem_value(e)?;
        if !matches!(
            v.ty,
            Type::Int(_)
                | Type::Ptr(..)
                | Type::Sym { .. }
                | Type::Coded(_)
                | Type::GoPc
                | Type::Rendered(_)
                | Type::Stack { .. }
                | Type::Timestamp { .. }
        ) {
            return Err(unsupported(e.span, "this tuple field as a number"));
        }
        let dst = self.vreg();
        if v.lookup.is_some() {
            self.emit(Inst::Mov {
                dst,
                src: Operand::Imm(0),
            });
        }
        self.with_mem_value(
            &v,
            |l, base, off, _| {
                l.emit(Inst::Load {
                    dst,
                    base,
                    off,
                    size: Size::DW,
                });
                Ok(())
            },
            |_| Ok(()),
        )?;
        Ok(Val::Owned(dst))
    }

    /// Copies variable `name` into a slot of type `dst_ty` at `dst`.
    fn copy_var(&mut self, name: &str, dst: i16, dst_ty: &Type, span: Span) -> R<()> {
        let Some(Var::Mem { off, ty }) = self.vars.get(name) else {
            return Err(unsupported(span, "this variable here"));
        };
        let (src, src_ty) = (*off, ty.clone());
        if src != dst {
            self.copy_converting(Base::Fp, src, &src_ty, dst, dst_ty, span)?;
        }
        Ok(())
    }

    /// Copies a value of type `src_ty` at `base + src` (the stack or a map value) into a slot
    /// of type `dst_ty` at `r10 + dst`: a string is cut to the slot (keeping a NUL) or
    /// NUL-padded, tuples convert field by field.
    fn copy_converting(
        &mut self,
        base: Base,
        src: i16,
        src_ty: &Type,
        dst: i16,
        dst_ty: &Type,
        span: Span,
    ) -> R<()> {
        if src_ty == dst_ty {
            let size = layout::stack_size(dst_ty).unwrap_or(0);
            self.copy_words(base, src, dst, size);
            return Ok(());
        }
        match (src_ty, dst_ty) {
            (Type::Str { size: from }, Type::Str { size: to }) => {
                self.copy_str(base, src, *from, dst, *to);
                Ok(())
            }
            (Type::Tuple(_) | Type::Record(_), Type::Tuple(_) | Type::Record(_)) => {
                let (Some((FieldKind::Tuple(from), _)), Some((FieldKind::Tuple(to), _))) =
                    (layout::field_kind(src_ty), layout::field_kind(dst_ty))
                else {
                    return Err(unsupported(span, "this tuple"));
                };
                let pairs = from
                    .fields
                    .iter()
                    .zip(component_types(src_ty))
                    .zip(to.fields.iter().zip(component_types(dst_ty)));
                for ((sf, st), (df, dt)) in pairs {
                    self.copy_converting(
                        base,
                        src + sf.offset as i16,
                        st,
                        dst + df.offset as i16,
                        dt,
                        span,
                    )?;
                }
                Ok(())
            }
            _ => {
                // Integers and ids: one 8-byte word either way.
                self.copy_words(base, src, dst, 8);
                Ok(())
            }
        }
    }

    /// Copies a string of `from` bytes at `base + src` into a `to`-byte slot at `r10 + dst`:
    /// never more than the slot holds, the rest zeroed, and a cut string still ends in NUL.
    fn copy_str(&mut self, base: Base, src: i16, from: u32, dst: i16, to: u32) {
        let words = align8(from.min(to)) / 8;
        let t = self.vreg();
        for i in 0..words as i16 {
            self.emit(Inst::Load {
                dst: t,
                base,
                off: src + i * 8,
                size: Size::DW,
            });
            self.emit(Inst::Store {
                base: Base::Fp,
                off: dst + i * 8,
                size: Size::DW,
                src: Operand::Reg(t),
            });
        }
        let copied = words * 8;
        if copied < align8(to) {
            self.zero_stack(dst + copied as i16, align8(to) - copied);
        }
        if from > to && to > 0 {
            self.emit(Inst::Store {
                base: Base::Fp,
                off: dst + to as i16 - 1,
                size: Size::B,
                src: Operand::Imm(0),
            });
        }
    }

    /// Copies `size` bytes (whole words) from `base + src` to `r10 + dst`.
    fn copy_words(&mut self, base: Base, src: i16, dst: i16, size: u32) {
        let t = self.vreg();
        for i in (0..size as i16).step_by(8) {
            self.emit(Inst::Load {
                dst: t,
                base,
                off: src + i,
                size: Size::DW,
            });
            self.emit(Inst::Store {
                base: Base::Fp,
                off: dst + i,
                size: Size::DW,
                src: Operand::Reg(t),
            });
        }
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

    /// Writes a NUL-padded string of `size` bytes at `r10 + off`.
    fn write_str(&mut self, e: &Expr, off: i16, size: u32) -> R<()> {
        match &e.kind {
            ExprKind::Str(s) => {
                self.write_literal(s.as_bytes(), off, size);
                Ok(())
            }
            ExprKind::Var(name) => self.copy_var(name, off, &Type::Str { size }, e.span),
            ExprKind::Builtin {
                builtin: Builtin::Comm,
                ..
            } => {
                self.zero_stack(off + 16, size.saturating_sub(16));
                let buf = self.stack_addr(off);
                self.emit(Inst::Call {
                    helper: Helper::GetCurrentComm,
                    args: vec![Operand::Reg(buf), Operand::Imm(size.min(16) as i32)],
                    ret: None,
                });
                Ok(())
            }
            ExprKind::Builtin {
                builtin: Builtin::Probe,
                ..
            } => {
                let name = self.probe_name.clone();
                self.write_literal(name.as_bytes(), off, size);
                Ok(())
            }
            ExprKind::Builtin {
                builtin: Builtin::Str,
                args,
            } => {
                let Some(ptr) = args.first() else {
                    return Err(unsupported(e.span, "str() without an argument"));
                };
                // `str("text")` / `str($2)`: already a string, nothing to read.
                if matches!(ptr.ty, Type::Str { .. }) {
                    return self.write_str(ptr, off, size);
                }
                if ptr.ty == Type::GoString {
                    return self.write_go_string(ptr, args.get(1), off, size);
                }
                self.zero_stack(off, size);
                let p = self.int(ptr)?;
                let p = self.operand(p);
                // n characters and the NUL (bpftrace's str(p, n)).
                let len = match args.get(1) {
                    None => Operand::Imm(size as i32),
                    Some(n) => match self.int(n)? {
                        Val::Imm(n) => Operand::Imm((n + 1).clamp(0, size as i64) as i32),
                        v => {
                            // Clamp for the verifier: 0 ..= size.
                            let n = self.owned(v);
                            self.emit(Inst::Alu {
                                op: AluOp::Add,
                                dst: n,
                                src: Operand::Imm(1),
                            });
                            self.clamp_unsigned(n, size);
                            Operand::Reg(n)
                        }
                    },
                };
                let buf = self.stack_addr(off);
                let space = match ptr.ty {
                    Type::Ptr(_, space) => space,
                    _ => AddrSpace::Default,
                };
                let helper = self.read_helper(space, true);
                self.emit(Inst::Call {
                    helper,
                    args: vec![Operand::Reg(buf), len, p],
                    ret: None,
                });
                Ok(())
            }
            ExprKind::Ternary { cond, then, els } => {
                // A constant condition lowers one arm: the verifier rejects unreachable code.
                if let Some(c) = self.constant(cond) {
                    return self.write_str(if c != 0 { then } else { els }, off, size);
                }
                let (other, done) = (self.label(), self.label());
                self.branch(cond, other, false)?;
                self.write_str(then, off, size)?;
                self.emit(Inst::Jump { target: done });
                self.emit(Inst::Label(other));
                self.write_str(els, off, size)?;
                self.emit(Inst::Label(done));
                Ok(())
            }
            ExprKind::Map(m) => {
                let (index, value) = self.user_map(m)?;
                let stored = match value {
                    MapValue::Plain(layout) => match layout.fields.first().map(|f| &f.kind) {
                        Some(FieldKind::Str { size }) => *size,
                        _ => return Err(unsupported(e.span, "this map as a string")),
                    },
                    MapValue::Agg(_) => return Err(unsupported(e.span, "this map as a string")),
                };
                let key = self.key(m, index, None)?;
                let p = self.lookup(index, key);
                let (absent, done) = (self.label(), self.label());
                self.branch_if_zero(p, absent);
                self.copy_str(Base::Reg(p), 0, stored, off, size);
                self.emit(Inst::Jump { target: done });
                self.emit(Inst::Label(absent));
                self.zero_stack(off, size);
                self.emit(Inst::Label(done));
                Ok(())
            }
            ExprKind::Field { expr, .. } if is_tuple_value(expr) => {
                self.copy_mem_value(e, off, &Type::Str { size })
            }
            ExprKind::Field { expr, name, .. } if self.is_tracepoint_args(expr) => {
                let (field_off, field_ty) = self.tracepoint_field(expr, name)?;
                let field_size = match field_ty {
                    Type::Str { size: n } | Type::Buf { size: n } => n,
                    _ => size,
                };
                self.zero_stack(off, size);
                self.copy_from_ctx(field_off, off, field_size.min(size));
                if field_size > size && size > 0 {
                    // Cut to the slot: keep it NUL-terminated.
                    self.emit(Inst::Store {
                        base: Base::Fp,
                        off: off + size as i16 - 1,
                        size: Size::B,
                        src: Operand::Imm(0),
                    });
                }
                Ok(())
            }
            ExprKind::Field { .. } | ExprKind::Index { .. }
                if memory::memory_space(e).is_some() =>
            {
                self.write_memory_str(e, off, size)
            }
            _ => Err(unsupported(e.span, "this string expression")),
        }
    }

    /// Writes `bytes` NUL-padded to a `size`-byte slot, cut to `size - 1` bytes if longer.
    fn write_literal(&mut self, bytes: &[u8], off: i16, size: u32) {
        let mut padded = bytes[..bytes.len().min(size.saturating_sub(1) as usize)].to_vec();
        padded.resize(align8(size) as usize, 0);
        for (i, chunk) in padded.chunks(8).enumerate() {
            let at = off + (i * 8) as i16;
            let word = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
            if word >> 31 == 0 || word >> 31 == (1 << 33) - 1 {
                self.emit(Inst::Store {
                    base: Base::Fp,
                    off: at,
                    size: Size::DW,
                    src: Operand::Imm(word as i32),
                });
            } else {
                self.emit(Inst::Store {
                    base: Base::Fp,
                    off: at,
                    size: Size::W,
                    src: Operand::Imm(word as u32 as i32),
                });
                self.emit(Inst::Store {
                    base: Base::Fp,
                    off: at + 4,
                    size: Size::W,
                    src: Operand::Imm((word >> 32) as u32 as i32),
                });
            }
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
            ExprKind::Index { .. } => self.read_memory_int(e),
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

    fn map_read(&mut self, m: &MapRef) -> R<Val> {
        let (index, spec) = self.user_map(m)?;
        if let MapValue::Agg(_) = spec {
            return Err(unsupported(
                m.span,
                "reading an aggregation's value in a probe",
            ));
        }
        let mark = self.sp;
        let key = self.key(m, index, None)?;
        let p = self.lookup(index, key);
        self.sp = mark;
        let dst = self.vreg();
        let absent = self.label();
        self.emit(Inst::Mov {
            dst,
            src: Operand::Imm(0),
        });
        self.branch_if_zero(p, absent);
        self.emit(Inst::Load {
            dst,
            base: Base::Reg(p),
            off: 0,
            size: Size::DW,
        });
        self.emit(Inst::Label(absent));
        Ok(Val::Owned(dst))
    }

    fn builtin(&mut self, e: &Expr, b: Builtin, args: &[Expr]) -> R<Val> {
        Ok(match b {
            Builtin::Pid | Builtin::Tid => {
                let r = self.call_value(Helper::GetCurrentPidTgid, vec![]);
                if b == Builtin::Pid {
                    // The call's own register stays unchanged, so that opt::values can let
                    // this call serve a later one.
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
            Builtin::Uid | Builtin::Gid => {
                let r = self.call_value(Helper::GetCurrentUidGid, vec![]);
                if b == Builtin::Gid {
                    // The call's own register stays unchanged, so that opt::values can let
                    // this call serve a later one.
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
            Builtin::Tpid => Val::Owned(self.config_slot(crate::manifest::CONFIG_TARGET_PID)?),
            Builtin::Cpu => Val::Owned(self.call_value(Helper::GetSmpProcessorId, vec![])),
            Builtin::Rand => Val::Owned(self.call_value(Helper::GetPrandomU32, vec![])),
            Builtin::Curtask => Val::Owned(self.call_value(Helper::GetCurrentTask, vec![])),
            Builtin::Arg(n) => {
                if let Some(args) = self.go.usdt {
                    return self.usdt_arg(args, n, e.span);
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
                self.ctx_load(pt_regs_offset("ip").unwrap_or(128), Size::DW)
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
            | Builtin::Cgroupid => return self.task_builtin(e, b, args),
            Builtin::Bswap | Builtin::Strerror | Builtin::Ntop | Builtin::Macaddr => {
                return self.bits_builtin(e, b, args);
            }
            Builtin::Strncmp => return self.strncmp(e, args),
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
            Builtin::Comm | Builtin::Probe | Builtin::Str | Builtin::Buf => {
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

    // ---- Go values ----------------------------------------------------------------------

    /// Where a Go value lives: `args.NAME`, `ret.NAME`, `retval`, and fields of those (struct
    /// fields, a string's `ptr`/`len`, a slice's `ptr`/`len`/`cap`, an interface's
    /// `type`/`data`) and of structs behind pointers. `None`: not a Go value.
    fn place(&mut self, e: &Expr) -> R<Option<Place>> {
        match &e.kind {
            ExprKind::Builtin {
                builtin: Builtin::Retval,
                ..
            } => {
                let Some(site) = self.go.site else {
                    return Ok(None);
                };
                Ok(site
                    .results
                    .first()
                    .map(|(_, loc)| self.location(loc, e.span))
                    .transpose()?)
            }
            ExprKind::Field { expr, name, .. } => {
                if let ExprKind::Builtin {
                    builtin: b @ (Builtin::Args | Builtin::Ret),
                    ..
                } = &expr.kind
                {
                    if !self.user_space() {
                        return Ok(None);
                    }
                    let site = self.go.site.ok_or_else(|| {
                        unsupported(e.span, "Go arguments without a resolved Go function")
                    })?;
                    let list = if *b == Builtin::Args {
                        &site.params
                    } else {
                        &site.results
                    };
                    let (_, loc) = list.iter().find(|(n, _)| *n == name.node).ok_or_else(|| {
                        unsupported(name.span, format!("`{}` of `{}`", name.node, site.name))
                    })?;
                    return Ok(Some(self.location(loc, e.span)?));
                }
                let (field_off, field_size) = match &expr.ty {
                    Type::GoString | Type::GoSlice(_) | Type::GoInterface => {
                        let off = match name.node.as_str() {
                            "ptr" | "type" | "tab" => 0,
                            "len" | "data" => 8,
                            "cap" => 16,
                            _ => return Ok(None),
                        };
                        (off, 8)
                    }
                    Type::Struct(_) | Type::Ptr(..) => {
                        let st = match &expr.ty {
                            Type::Ptr(inner, _) => match inner.as_ref() {
                                Type::Struct(st) => st,
                                _ => return Ok(None),
                            },
                            Type::Struct(st) => st,
                            _ => return Ok(None),
                        };
                        let Some(f) = st.fields.iter().find(|f| f.name == name.node) else {
                            return Ok(None);
                        };
                        (f.offset, value_size(&f.ty))
                    }
                    _ => return Ok(None),
                };
                if let Type::Ptr(..) = &expr.ty {
                    let p = self.int(expr)?;
                    let addr = self.owned(p);
                    return Ok(Some(Place::Mem {
                        addr,
                        off: field_off as i64,
                    }));
                }
                Ok(self.place(expr)?.map(|p| p.sub(field_off, field_size)))
            }
            _ => Ok(None),
        }
    }

    fn location(&mut self, loc: &GoLocation, span: Span) -> R<Place> {
        match loc {
            GoLocation::Registers(slots) => Ok(Place::Regs(
                slots
                    .iter()
                    .map(|s| (s.pt_regs as i16, s.offset, s.size))
                    .collect(),
            )),
            GoLocation::Stack { offset } => {
                let sp = self.ctx_load(pt_regs_offset("sp").unwrap_or(152), Size::DW);
                let addr = self.owned(sp);
                Ok(Place::Mem {
                    addr,
                    off: *offset as i64,
                })
            }
            GoLocation::Unavailable => Err(unsupported(
                span,
                "a value pt_regs does not hold (a float, a struct passed by value, or an argument after one)",
            )),
        }
    }

    /// An integer (or pointer) Go value from its place.
    fn load_place(&mut self, place: Place, ty: &Type, span: Span) -> R<Val> {
        if !matches!(ty, Type::Int(_) | Type::Ptr(..)) {
            return Err(unsupported(
                span,
                "this Go value as a number (read a field, e.g. `.len`, or use `str()`)",
            ));
        }
        match place {
            Place::Regs(slots) => {
                let Some((reg, _, _)) = slots.iter().find(|(_, off, _)| *off == 0) else {
                    return Err(unsupported(span, "this register piece"));
                };
                let v = self.ctx_load(*reg, Size::DW);
                Ok(self.convert(v, ty))
            }
            Place::Mem { addr, off } => self.read_target(Val::Shared(addr), off, ty, span),
        }
    }

    /// `str(s)` of a Go string: exactly `len` bytes (at most the buffer), NUL-padded.
    fn write_go_string(&mut self, s: &Expr, limit: Option<&Expr>, off: i16, size: u32) -> R<()> {
        let place = self
            .place(s)?
            .ok_or_else(|| unsupported(s.span, "this Go string expression"))?;
        let u64t = Type::Int(crate::types::IntType::U64);
        let ptr = self.load_place(place.clone().sub(0, 8), &u64t, s.span)?;
        let ptr = self.owned(ptr);
        let len = self.load_place(place.sub(8, 8), &u64t, s.span)?;
        let len = self.owned(len);
        let mut cap = size;
        match limit.map(|n| (n, self.constant(n))) {
            Some((_, Some(n))) => cap = cap.min(n.clamp(0, size as i64) as u32),
            // A run-time limit (`str(arg1, arg2)` on a stripped binary): len = min(len, n).
            Some((n, None)) => {
                let n = self.int(n)?;
                let n = self.owned(n);
                let keep = self.label();
                self.emit(Inst::Branch {
                    cond: Cond::Le,
                    lhs: len,
                    rhs: Operand::Reg(n),
                    target: keep,
                });
                self.emit(Inst::Mov {
                    dst: len,
                    src: Operand::Reg(n),
                });
                self.emit(Inst::Label(keep));
            }
            None => {}
        }
        // So the verifier sees a bounded size.
        self.clamp_unsigned(len, cap);
        self.zero_stack(off, size);
        let buf = self.stack_addr(off);
        self.emit(Inst::Call {
            helper: Helper::ProbeReadUser,
            args: vec![Operand::Reg(buf), Operand::Reg(len), Operand::Reg(ptr)],
            ret: None,
        });
        Ok(())
    }

    fn unary(&mut self, e: &Expr, op: UnOp, inner: &Expr) -> R<Val> {
        match op {
            UnOp::Not => self.bool_value(e),
            UnOp::Neg | UnOp::BitNot => {
                let v = self.int(inner)?;
                if let Val::Imm(i) = v {
                    return Ok(Val::Imm(if op == UnOp::Neg {
                        i.wrapping_neg()
                    } else {
                        !i
                    }));
                }
                let r = self.owned(v);
                if op == UnOp::Neg {
                    self.emit(Inst::Neg { dst: r });
                } else {
                    self.emit(Inst::Alu {
                        op: AluOp::Xor,
                        dst: r,
                        src: Operand::Imm(-1),
                    });
                }
                Ok(Val::Owned(r))
            }
            UnOp::Deref => {
                let (pointee, space) = match &inner.ty {
                    Type::Ptr(t, space) => (t.as_ref().clone(), *space),
                    _ => (Type::Int(crate::types::IntType::U64), AddrSpace::Default),
                };
                let p = self.int(inner)?;
                let helper = self.read_helper(space, false);
                self.read_with(helper, p, 0, &pointee, e.span)
            }
        }
    }

    fn binary(&mut self, e: &Expr, op: BinOp, lhs: &Expr, rhs: &Expr) -> R<Val> {
        if matches!(
            op,
            BinOp::Eq
                | BinOp::Ne
                | BinOp::Lt
                | BinOp::Le
                | BinOp::Gt
                | BinOp::Ge
                | BinOp::And
                | BinOp::Or
        ) {
            return self.bool_value(e);
        }
        if let Some(v) = self.pointer_arith(e, op, lhs, rhs)? {
            return Ok(v);
        }
        let signed = is_signed(lhs) || is_signed(rhs);
        let alu = alu_of(op, signed).ok_or_else(|| unsupported(e.span, "this operator"))?;
        let a = self.int(lhs)?;
        let b = self.int(rhs)?;
        if let (Val::Imm(x), Val::Imm(y)) = (a, b) {
            return Ok(Val::Imm(fold(alu, x, y)));
        }
        // Identities that need no instruction.
        if let Val::Imm(y) = b {
            let identity = match alu {
                AluOp::Add
                | AluOp::Sub
                | AluOp::Or
                | AluOp::Xor
                | AluOp::Lsh
                | AluOp::Rsh
                | AluOp::Arsh => y == 0,
                AluOp::Mul | AluOp::Div => y == 1,
                _ => false,
            };
            if identity {
                return Ok(a);
            }
        }
        // Commutative operations keep an owned or immediate operand on the right.
        let (a, b) = match (alu, a, b) {
            (
                AluOp::Add | AluOp::Mul | AluOp::And | AluOp::Or | AluOp::Xor,
                Val::Imm(_) | Val::Shared(_),
                Val::Owned(_),
            ) => (b, a),
            _ => (a, b),
        };
        let dst = self.owned(a);
        let src = self.operand(b);
        self.emit(Inst::Alu { op: alu, dst, src });
        Ok(Val::Owned(dst))
    }

    /// 0 or 1 from a condition.
    fn bool_value(&mut self, e: &Expr) -> R<Val> {
        if let Some(c) = self.constant(e) {
            return Ok(Val::Imm((c != 0) as i64));
        }
        let dst = self.vreg();
        let done = self.label();
        self.emit(Inst::Mov {
            dst,
            src: Operand::Imm(1),
        });
        self.branch(e, done, true)?;
        self.emit(Inst::Mov {
            dst,
            src: Operand::Imm(0),
        });
        self.emit(Inst::Label(done));
        Ok(Val::Owned(dst))
    }

    /// The value of a constant expression, if it is one.
    fn constant(&self, e: &Expr) -> Option<i64> {
        match &e.kind {
            ExprKind::Int(n) => Some(*n as i64),
            ExprKind::Unary {
                op: UnOp::Neg,
                expr,
            } => self.constant(expr).map(i64::wrapping_neg),
            ExprKind::Unary {
                op: UnOp::BitNot,
                expr,
            } => self.constant(expr).map(|v| !v),
            ExprKind::Unary {
                op: UnOp::Not,
                expr,
            } => self.constant(expr).map(|v| (v == 0) as i64),
            ExprKind::Binary { op, lhs, rhs } => {
                let (a, b) = (self.constant(lhs)?, self.constant(rhs)?);
                let signed = is_signed(lhs) || is_signed(rhs);
                Some(match op {
                    BinOp::And => (a != 0 && b != 0) as i64,
                    BinOp::Or => (a != 0 || b != 0) as i64,
                    _ => match cond_of(*op, signed) {
                        Some(c) => c.eval(a as u64, b as u64) as i64,
                        None => fold(alu_of(*op, signed)?, a, b),
                    },
                })
            }
            _ => None,
        }
    }

    /// Whether `e` is false whatever runs (a constant, or `&&` with such a side): code guarded
    /// by it is not emitted, since the verifier rejects unreachable instructions.
    fn never_true(&self, e: &Expr) -> bool {
        if let Some(c) = self.constant(e) {
            return c == 0;
        }
        match &e.kind {
            ExprKind::Binary {
                op: BinOp::And,
                lhs,
                rhs,
            } => self.never_true(lhs) || self.never_true(rhs),
            _ => false,
        }
    }

    /// Jumps to `target` when the truth of `e` equals `when`; falls through otherwise.
    fn branch(&mut self, e: &Expr, target: Label, when: bool) -> R<()> {
        if let Some(c) = self.constant(e) {
            if (c != 0) == when {
                self.emit(Inst::Jump { target });
            }
            return Ok(());
        }
        match &e.kind {
            ExprKind::Unary {
                op: UnOp::Not,
                expr,
            } => self.branch(expr, target, !when),
            ExprKind::Binary {
                op: BinOp::And,
                lhs,
                rhs,
            }
            | ExprKind::Binary {
                op: BinOp::Or,
                lhs,
                rhs,
            } => {
                let is_and = matches!(e.kind, ExprKind::Binary { op: BinOp::And, .. });
                if is_and != when {
                    // (a && b) false ⇔ a false or b false; (a || b) true ⇔ a true or b true.
                    self.branch(lhs, target, when)?;
                    self.branch(rhs, target, when)
                } else {
                    let skip = self.label();
                    self.branch(lhs, skip, !when)?;
                    self.branch(rhs, target, when)?;
                    self.emit(Inst::Label(skip));
                    Ok(())
                }
            }
            ExprKind::Binary { op, lhs, rhs } if cond_of(*op, false).is_some() => {
                if matches!(lhs.ty, Type::Str { .. }) || matches!(rhs.ty, Type::Str { .. }) {
                    return self.branch_str(*op, lhs, rhs, target, when, e.span);
                }
                let signed = is_signed(lhs) || is_signed(rhs);
                let mut cond = cond_of(*op, signed).unwrap_or(Cond::Ne);
                let a = self.int(lhs)?;
                let b = self.int(rhs)?;
                // The register side goes left.
                let (a, b) = if matches!(a, Val::Imm(_)) {
                    cond = cond.swap();
                    (b, a)
                } else {
                    (a, b)
                };
                let lhs_reg = match a {
                    Val::Shared(r) | Val::Owned(r) => r,
                    Val::Imm(_) => self.owned(a),
                };
                let rhs_op = self.operand(b);
                if !when {
                    cond = cond.negate().unwrap_or(cond);
                }
                self.emit(Inst::Branch {
                    cond,
                    lhs: lhs_reg,
                    rhs: rhs_op,
                    target,
                });
                Ok(())
            }
            _ => {
                let v = self.int(e)?;
                let r = match v {
                    Val::Shared(r) | Val::Owned(r) => r,
                    Val::Imm(_) => self.owned(v),
                };
                let cond = if when { Cond::Ne } else { Cond::Eq };
                self.emit(Inst::Branch {
                    cond,
                    lhs: r,
                    rhs: Operand::Imm(0),
                    target,
                });
                Ok(())
            }
        }
    }

    /// String `==`/`!=`: both sides to the stack, then compared 8 bytes at a time up to the
    /// shorter size (a literal compares through its NUL).
    fn branch_str(
        &mut self,
        op: BinOp,
        lhs: &Expr,
        rhs: &Expr,
        target: Label,
        when: bool,
        span: Span,
    ) -> R<()> {
        let equal_wanted = match op {
            BinOp::Eq => when,
            BinOp::Ne => !when,
            _ => return Err(unsupported(span, "ordering comparisons of strings")),
        };
        self.branch_str_prefix(lhs, rhs, u32::MAX, target, equal_wanted)
    }

    /// Jumps to `target` when the first `limit` bytes of two strings are equal
    /// (`equal_wanted`) or differ (not `equal_wanted`).
    fn branch_str_prefix(
        &mut self,
        lhs: &Expr,
        rhs: &Expr,
        limit: u32,
        target: Label,
        equal_wanted: bool,
    ) -> R<()> {
        let size_of = |e: &Expr| match (&e.kind, &e.ty) {
            (ExprKind::Str(s), _) => s.len() as u32 + 1,
            (_, Type::Str { size }) => *size,
            _ => 0,
        };
        let n = size_of(lhs).min(size_of(rhs)).min(limit);
        let mark = self.sp;
        let a = self.alloc(lhs.ty_str_size().max(n))?;
        self.write_str(lhs, a, lhs.ty_str_size().max(n))?;
        let b = self.alloc(rhs.ty_str_size().max(n))?;
        self.write_str(rhs, b, rhs.ty_str_size().max(n))?;
        // Compare only the first n bytes: mask the last word.
        let differ = if equal_wanted { self.label() } else { target };
        let (x, y) = (self.vreg(), self.vreg());
        let mut i = 0u32;
        while i < n {
            let take = (n - i).min(8);
            self.emit(Inst::Load {
                dst: x,
                base: Base::Fp,
                off: a + i as i16,
                size: Size::DW,
            });
            self.emit(Inst::Load {
                dst: y,
                base: Base::Fp,
                off: b + i as i16,
                size: Size::DW,
            });
            if take < 8 {
                let shift = (64 - take * 8) as i32;
                for r in [x, y] {
                    self.emit(Inst::Alu {
                        op: AluOp::Lsh,
                        dst: r,
                        src: Operand::Imm(shift),
                    });
                }
            }
            self.emit(Inst::Branch {
                cond: Cond::Ne,
                lhs: x,
                rhs: Operand::Reg(y),
                target: differ,
            });
            i += 8;
        }
        if equal_wanted {
            self.emit(Inst::Jump { target });
            self.emit(Inst::Label(differ));
        }
        self.sp = mark;
        Ok(())
    }
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
