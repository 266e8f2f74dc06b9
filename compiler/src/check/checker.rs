//! The checker proper. It runs twice: a first pass over a copy learns every map's and scratch
//! variable's type whatever the order of uses (a map may be read in a probe above the one that
//! assigns it), then the real pass checks and annotates the program against those tables and
//! keeps its diagnostics.

pub(crate) mod addresses;
mod calls;
mod debugf;
mod maps;
mod members;
mod resolve;
mod strcat;

use super::providers::{self, Provider};
use super::unify::{describe, is_integral, is_storable, unify};
use super::{Checked, Env, MapInfo, MapValue, Options, ProbeInfo, UprobeNeeds, VarInfo, printf};
use crate::ast::*;
use crate::builtins::{
    self, Builtin, DEFAULT_STACK_LIMIT, DEFAULT_STR_SIZE, Form, MAX_STR_SIZE, ParamKind, Returns,
    spec,
};
use crate::diag::{Diagnostic, codes, did_you_mean};
use crate::span::Span;
use crate::target::{GoLocation, GoSite, PerProcessGo, Resolved};
use crate::types::{AddrSpace, AggKind, IntType, StackKind, StructType, Type};
use std::collections::HashSet;

pub fn run(
    program: &mut Program,
    env: &dyn Env,
    options: &Options,
) -> (Result<Checked, Vec<Diagnostic>>, Vec<Diagnostic>) {
    let split_errors = crate::split::split_tracepoints(program, env);
    if !split_errors.is_empty() {
        return (Err(split_errors), Vec::new());
    }
    if let Some(refusal) = super::unlinked::refusal(&program.probes, env, options) {
        return (Err(vec![refusal]), Vec::new());
    }
    // The program's C definitions, laid out before any probe uses them (kernel structs they
    // hold by value from BTF).
    let (c_types, c_errors) = crate::ctypes::build_with(&program.c_defs, &|key| {
        super::kernel_records::size_align(env, key)
    });
    if !c_errors.is_empty() {
        return (Err(c_errors), Vec::new());
    }
    program.c_types = c_types;
    let c_types = std::rc::Rc::new(program.c_types.clone());
    // Two learning passes settle self-references like `@n = @n + 1` and reads above writes.
    let mut tables = Tables::default();
    for _ in 0..2 {
        let mut learn = Checker::new(env, options, tables, false, c_types.clone());
        learn.program(&mut program.clone());
        tables = learn.tables;
    }

    let mut check = Checker::new(env, options, tables, true, c_types);
    check.program(program);
    // Probes split per attach point (see `split`) share spans: say each finding once.
    let mut seen = Vec::new();
    check.diags.retain(|d| {
        let new = !seen.contains(d);
        if new {
            seen.push(d.clone());
        }
        new
    });
    let warnings: Vec<Diagnostic> = check
        .diags
        .iter()
        .filter(|d| !d.is_error())
        .cloned()
        .collect();
    let errors: Vec<Diagnostic> = check
        .diags
        .into_iter()
        .filter(Diagnostic::is_error)
        .collect();
    if !errors.is_empty() {
        return (Err(errors), warnings);
    }
    let maps = check
        .tables
        .maps
        .into_iter()
        .filter_map(|m| {
            let (value, span) = m.value?;
            Some(MapInfo {
                name: m.name,
                keys: m.keys.map(|(k, _)| k).unwrap_or_default(),
                value,
                span,
            })
        })
        .collect();
    let mut probes = check.infos;
    mark_single_step(&mut probes, env, options);
    let cgroup_filters = check.tables.cgroup_filters;
    (
        Ok(Checked {
            maps,
            probes,
            cgroup_filters,
        }),
        warnings,
    )
}

/// Sampling probes of a program with uprobes, for a `-p`/`-c` target (node-wide stack values
/// have no room for the address): see [`ProbeInfo::single_step`].
fn mark_single_step(probes: &mut [ProbeInfo], env: &dyn Env, options: &Options) {
    use crate::builtins::ProviderKind::*;
    let uprobes = probes
        .iter()
        .flat_map(|p| &p.providers)
        .any(|k| matches!(k, Uprobe | Uretprobe | Usdt));
    if !uprobes || !options.has_target {
        return;
    }
    for probe in probes {
        if !probe.providers.is_empty()
            && probe
                .providers
                .iter()
                .all(|k| matches!(k, Profile | Software | Hardware))
        {
            probe.single_step = env.uprobe_task();
        }
    }
}

#[derive(Default)]
struct Tables {
    maps: Vec<MapEntry>,
    /// Per probe: scratch variables with their unified type and first assignment.
    vars: Vec<Vec<VarInfo>>,
    /// The `filter`s of `cgroup_path(id, filter)`, each once ([`Render::CgroupPath`]).
    cgroup_filters: Vec<String>,
}

struct MapEntry {
    name: String,
    /// Key types and the span of the first use that fixed them.
    keys: Option<(Vec<Type>, Span)>,
    /// Value and the span of the first assignment.
    value: Option<(MapValue, Span)>,
}

pub(super) struct Checker<'a> {
    pub(super) env: &'a dyn Env,
    pub(super) options: &'a Options,
    /// The program's own C types (they win over the kernel's for the same name).
    pub(super) ctypes: std::rc::Rc<crate::ctypes::CTypes>,
    tables: Tables,
    /// The second pass: tables are complete, so "never assigned" is an error.
    complete: bool,
    diags: Vec<Diagnostic>,
    infos: Vec<ProbeInfo>,
    // Per probe:
    probe: usize,
    providers: Vec<Box<dyn Provider>>,
    set: HashSet<String>,
    /// `args`/`ret` types, computed on first use (`Err` once reported).
    args: Option<Result<Type, ()>>,
    ret: Option<Result<Type, ()>>,
    /// The first goroutine builtin (`goid`, `gocreator`, `goparent`) this probe uses, and
    /// where: the probe then needs Go runtime offsets.
    goid_at: Option<(Builtin, Span)>,
    /// This probe uses `gocaller`: with a Go target it reads g (the goroutine's own frames
    /// when the call is made on the system stack), and degrades to the kernel's walk elsewhere.
    gocaller: bool,
    /// Where this probe uses `goparent` (g.parentGoid exists from Go 1.21).
    goparent_at: Option<Span>,
    /// This probe reads Go arguments or results (`args`, `ret`, `retval`).
    go_values: bool,
    /// Providers (= attach points) of binaries a pattern matched whose `args`/`ret` cannot be
    /// read as the others': left out of the probe after its body is checked.
    left_out: Vec<usize>,
    /// The probe's uprobe and USDT attach points, for `uaddr()`.
    pub(super) uaddr_sites: Vec<super::uaddr::UaddrSite>,
    /// This probe's `uaddr()` takes the load bias from the site that fired (see
    /// [`ProbeInfo::uaddr_at_site`]).
    pub(super) uaddr_at_site: bool,
}

fn bool_type() -> Type {
    Type::Int(IntType::U64)
}

impl<'a> Checker<'a> {
    fn new(
        env: &'a dyn Env,
        options: &'a Options,
        tables: Tables,
        complete: bool,
        ctypes: std::rc::Rc<crate::ctypes::CTypes>,
    ) -> Self {
        Checker {
            env,
            options,
            ctypes,
            tables,
            complete,
            diags: Vec::new(),
            infos: Vec::new(),
            probe: 0,
            providers: Vec::new(),
            set: HashSet::new(),
            args: None,
            ret: None,
            goid_at: None,
            gocaller: false,
            goparent_at: None,
            go_values: false,
            left_out: Vec::new(),
            uaddr_sites: Vec::new(),
            uaddr_at_site: false,
        }
    }

    pub(super) fn error(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn program(&mut self, program: &mut Program) {
        for (i, probe) in program.probes.iter_mut().enumerate() {
            self.probe = i;
            if self.tables.vars.len() <= i {
                self.tables.vars.push(Vec::new());
            }
            self.probe_(probe);
        }
    }

    fn probe_(&mut self, probe: &mut Probe) {
        self.providers.clear();
        self.set.clear();
        self.args = None;
        self.ret = None;
        self.goid_at = None;
        self.gocaller = false;
        self.goparent_at = None;
        self.go_values = false;
        self.left_out.clear();
        for attach in &mut probe.attach {
            // `usdt:A:NAME` without -p/-c: `A` is a binary in the working directory.
            if let ProbeKind::Usdt {
                binary: binary @ None,
                provider: provider @ Some(_),
                ..
            } = &mut attach.kind
                && !self.options.has_target
            {
                *binary = provider.take();
            }
        }
        self.uaddr_sites = super::uaddr::uaddr_sites(&probe.attach);
        self.uaddr_at_site = false;
        for attach in &probe.attach {
            match providers::provider(attach, self.options) {
                Ok(p) => self.providers.push(p),
                Err(d) => self.error(d),
            }
        }
        self.check_binaries(probe);
        if let Some(pred) = &mut probe.predicate {
            let ty = self.expr(pred);
            if !is_integral(&ty) {
                self.error(
                    Diagnostic::error(
                        codes::TYPE_MISMATCH,
                        "a predicate must be an integer condition",
                    )
                    .primary(pred.span, format!("this is {}", describe(&ty))),
                );
            }
        }
        self.block(&mut probe.body);
        if self.complete && !self.left_out.is_empty() {
            // Binaries of a pattern whose `args`/`ret` differ (warned about): not traced.
            let mut i = 0;
            let left_out = std::mem::take(&mut self.left_out);
            probe.attach.retain(|_| {
                i += 1;
                !left_out.contains(&(i - 1))
            });
            let mut i = 0;
            self.providers.retain(|_| {
                i += 1;
                !left_out.contains(&(i - 1))
            });
        }
        let resolved = if self.complete {
            probe.attach.iter().map(|a| self.resolve(a)).collect()
        } else {
            Vec::new()
        };
        let info = ProbeInfo {
            resolved,
            providers: self.providers.iter().map(|p| p.kind()).collect(),
            vars: self.tables.vars[self.probe].clone(),
            args: self.args.clone().and_then(Result::ok),
            ret: self.ret.clone().and_then(Result::ok),
            goroutine_at: self.goid_at.map(|(_, at)| at),
            single_step: None,
            uaddr_at_site: self.uaddr_at_site,
        };
        self.infos.push(info);
    }

    fn block(&mut self, block: &mut Block) {
        for stmt in &mut block.stmts {
            self.stmt(stmt);
        }
    }

    fn stmt(&mut self, stmt: &mut Stmt) {
        let span = stmt.span;
        match &mut stmt.kind {
            StmtKind::Expr(e) => {
                self.expr(e);
            }
            StmtKind::AssignVar { var, op, value } => self.assign_var(var, *op, value, span),
            StmtKind::AssignMap { map, op, value } => self.assign_map(map, *op, value),
            StmtKind::If { cond, then, els } => {
                self.condition(cond, "an `if` condition");
                self.block(then);
                if let Some(els) = els {
                    self.block(els);
                }
            }
            StmtKind::Unroll { count, body } => {
                if !(1..=100).contains(count) {
                    self.error(
                        Diagnostic::error(codes::BAD_UNROLL, format!("`unroll({count})` is out of range"))
                            .primary(span, "the count must be between 1 and 100")
                            .note("every iteration is copied into the program; the kernel limits its size"),
                    );
                }
                self.block(body);
            }
            StmtKind::While { cond, body } => {
                self.condition(cond, "a `while` condition");
                self.block(body);
            }
            StmtKind::Return => {}
            StmtKind::Block(block) => self.block(block),
        }
    }

    fn condition(&mut self, cond: &mut Expr, what: &str) {
        let ty = self.expr(cond);
        if !is_integral(&ty) {
            self.error(
                Diagnostic::error(codes::TYPE_MISMATCH, format!("{what} must be an integer"))
                    .primary(cond.span, format!("this is {}", describe(&ty))),
            );
        }
    }

    // ---- scratch variables ------------------------------------------------------------------

    fn var_entry(&mut self, name: &str) -> Option<&mut VarInfo> {
        self.tables.vars[self.probe]
            .iter_mut()
            .find(|v| v.name == name)
    }

    fn assign_var(&mut self, var: &Name, op: Option<BinOp>, value: &mut Expr, stmt: Span) {
        let ty = self.expr(value);
        if op.is_some() {
            if !self.set.contains(&var.node) {
                self.unset_var(&var.node, var.span);
                return;
            }
            if !matches!(ty, Type::Int(_) | Type::Unknown) {
                self.error(
                    Diagnostic::error(codes::BAD_OPERAND, "compound assignment needs an integer")
                        .primary(value.span, format!("this is {}", describe(&ty))),
                );
            }
            if let Some(entry) = self.var_entry(&var.node)
                && !matches!(entry.ty, Type::Int(_) | Type::Unknown)
            {
                let d = Diagnostic::error(
                    codes::BAD_OPERAND,
                    format!("`${}` is not an integer", var.node),
                )
                .primary(
                    var.span,
                    format!("`${}` holds {}", var.node, describe(&entry.ty)),
                );
                self.error(d);
            }
            return;
        }
        if matches!(ty, Type::Void) {
            self.error(
                Diagnostic::error(codes::NO_VALUE, "this expression produces no value")
                    .primary(value.span, "nothing to assign"),
            );
            return;
        }
        if !matches!(ty, Type::Unknown) && !is_storable(&ty) {
            self.error(
                Diagnostic::error(
                    codes::TYPE_MISMATCH,
                    format!("cannot store {} in a variable", describe(&ty)),
                )
                .primary(value.span, "not storable")
                .help("read a field, or use `str()`/`buf()` to copy memory"),
            );
            return;
        }
        self.set.insert(var.node.clone());
        match self.var_entry(&var.node) {
            None => self.tables.vars[self.probe].push(VarInfo {
                name: var.node.clone(),
                ty,
                span: stmt,
            }),
            Some(entry) => match unify(&entry.ty, &ty) {
                Some(unified) => entry.ty = unified,
                None => {
                    let (first_ty, first_span) = (entry.ty.clone(), entry.span);
                    self.error(
                        Diagnostic::error(
                            codes::VAR_TYPE_CHANGED,
                            format!(
                                "`${}` cannot change type from {} to {}",
                                var.node,
                                describe(&first_ty),
                                describe(&ty)
                            ),
                        )
                        .primary(value.span, format!("this is {}", describe(&ty)))
                        .secondary(
                            first_span,
                            format!(
                                "`${}` was first set to {} here",
                                var.node,
                                describe(&first_ty)
                            ),
                        )
                        .help("use a different variable name"),
                    );
                }
            },
        }
    }

    /// `++$i` / `@m[k]--` as a value: checked as the compound assignment `+= 1` / `-= 1` it
    /// performs (an unset variable, a non-integer or an aggregation map is refused there); its
    /// value has the target's type.
    fn incdec(&mut self, target: &mut Expr, inc: bool, span: Span) -> Type {
        let op = if inc { BinOp::Add } else { BinOp::Sub };
        let mut one = Expr {
            kind: ExprKind::Int(1),
            span,
            ty: Type::Unknown,
        };
        self.expr(&mut one);
        let errors = |c: &Self| c.diags.iter().filter(|d| d.is_error()).count();
        let before = errors(self);
        match &mut target.kind {
            ExprKind::Var(name) => {
                let name = crate::span::Spanned {
                    node: name.clone(),
                    span: target.span,
                };
                self.assign_var(&name, Some(op), &mut one, span);
            }
            ExprKind::Map(map) => self.assign_map(map, Some(op), &mut one),
            _ => return Type::Unknown,
        }
        if errors(self) > before {
            return Type::Unknown;
        }
        let ty = self.expr(target);
        target.ty = ty.clone();
        ty
    }

    fn unset_var(&mut self, name: &str, at: Span) {
        let first = self.tables.vars[self.probe]
            .iter()
            .find(|v| v.name == name)
            .map(|v| v.span);
        let d = match first {
            Some(first) => Diagnostic::error(
                codes::UNSET_VARIABLE,
                format!("`${name}` is used before it is set"),
            )
            .primary(at, "used here")
            .secondary(first, "first set here"),
            None => {
                let mut d =
                    Diagnostic::error(codes::UNSET_VARIABLE, format!("unknown variable `${name}`"))
                        .primary(at, "never set in this probe");
                let known: Vec<&str> = self.tables.vars[self.probe]
                    .iter()
                    .map(|v| v.name.as_str())
                    .collect();
                if let Some(guess) = did_you_mean(name, known.iter().copied()) {
                    d = d.help(format!("did you mean `${guess}`?"));
                } else {
                    d = d.note(
                        "scratch variables belong to one probe; use a map `@name` to share values",
                    );
                }
                d
            }
        };
        self.error(d);
    }

    // ---- maps -------------------------------------------------------------------------------

    /// An expression whose value is used: aggregations are rejected here.
    fn expr(&mut self, e: &mut Expr) -> Type {
        let ty = self.expr_any(e);
        if let Type::Agg(_) = ty {
            let name = match &e.kind {
                ExprKind::Builtin { builtin, .. } => builtin.name(),
                _ => "aggregation".into(),
            };
            self.error(
                Diagnostic::error(
                    codes::AGG_OUTSIDE_MAP,
                    format!("`{name}()` can only be assigned to a map"),
                )
                .primary(e.span, "not assigned to a map")
                .help(format!(
                    "write `@name = {name}(...)` (or `@name[key] = ...`)"
                )),
            );
            e.ty = Type::Unknown;
            return Type::Unknown;
        }
        ty
    }

    fn expr_any(&mut self, e: &mut Expr) -> Type {
        let ty = self.expr_kind(e);
        e.ty = ty.clone();
        ty
    }

    fn expr_kind(&mut self, e: &mut Expr) -> Type {
        let span = e.span;
        match &mut e.kind {
            ExprKind::Int(_) => Type::Int(IntType::I64),
            ExprKind::Str(s) => Type::Str {
                size: s.len() as u32 + 1,
            },
            ExprKind::Positional(n) => {
                let n = *n;
                match self.positional(n, span) {
                    Some(value) => match crate::syntax::int_literal(&value) {
                        Some(v) => {
                            e.kind = ExprKind::Int(v);
                            Type::Int(IntType::I64)
                        }
                        None => {
                            let size = value.len() as u32 + 1;
                            e.kind = ExprKind::Str(value);
                            Type::Str { size }
                        }
                    },
                    // Unset: 0, as in bpftrace (`str($1)` is "", see `call`).
                    None => {
                        e.kind = ExprKind::Int(0);
                        Type::Int(IntType::I64)
                    }
                }
            }
            ExprKind::PositionalCount => {
                e.kind = ExprKind::Int(self.options.positional.len() as u64);
                Type::Int(IntType::I64)
            }
            ExprKind::Var(name) => {
                if !self.set.contains(name.as_str()) {
                    let name = name.clone();
                    self.unset_var(&name, span);
                    return Type::Unknown;
                }
                let name = name.clone();
                self.var_entry(&name)
                    .map_or(Type::Unknown, |v| v.ty.clone())
            }
            ExprKind::Map(map) => self.read_map(map),
            ExprKind::Ident(name) => {
                let name = name.clone();
                match builtins::lookup(&name) {
                    Some(b) if spec(b).form == Form::Call => {
                        self.error(
                            Diagnostic::error(
                                codes::NOT_A_VALUE,
                                format!("`{name}` is a function"),
                            )
                            .primary(span, "call it")
                            .help(format!("write `{}`", spec(b).signature())),
                        );
                        Type::Unknown
                    }
                    Some(b) => {
                        let mut args = Vec::new();
                        let ty = self.builtin_value(b, &mut args, span);
                        e.kind = ExprKind::Builtin { builtin: b, args };
                        ty
                    }
                    // An enumerator of the program's, then of the kernel's
                    // (`SKB_DROP_REASON_NOT_SPECIFIED`), as in bpftrace.
                    None => match self
                        .ctypes
                        .enumerator(&name)
                        .or_else(|| self.env.kernel_enum(&name))
                    {
                        Some(value) => {
                            e.kind = ExprKind::Int(value as u64);
                            Type::Int(IntType::I64)
                        }
                        None => {
                            self.unknown_name(&name, span);
                            Type::Unknown
                        }
                    },
                }
            }
            ExprKind::Call { func, args } => {
                let name = func.node.clone();
                let func_span = func.span;
                match builtins::lookup(&name) {
                    Some(b) if spec(b).form == Form::Value => {
                        self.error(
                            Diagnostic::error(
                                codes::NOT_A_FUNCTION,
                                format!("`{name}` is not a function"),
                            )
                            .primary(func_span, "not callable")
                            .help(format!("write `{name}` without parentheses")),
                        );
                        Type::Unknown
                    }
                    Some(b) => {
                        let mut args = std::mem::take(args);
                        let ty = self.builtin(b, &mut args, span);
                        e.kind = ExprKind::Builtin { builtin: b, args };
                        ty
                    }
                    None => {
                        for arg in args.iter_mut() {
                            self.expr_any(arg);
                        }
                        let calls = builtins::BUILTINS
                            .iter()
                            .filter(|s| s.form != Form::Value)
                            .map(|s| s.name);
                        let mut d = Diagnostic::error(
                            codes::UNKNOWN_FUNCTION,
                            format!("unknown function `{name}`"),
                        )
                        .primary(func_span, "not a builtin function");
                        if let Some(guess) = did_you_mean(&name, calls) {
                            d = d.help(format!("did you mean `{guess}`?"));
                        }
                        self.error(d);
                        Type::Unknown
                    }
                }
            }
            ExprKind::Builtin { builtin, args } => {
                let b = *builtin;
                self.builtin_value(b, args, span)
            }
            ExprKind::Unary { op, expr } => {
                let op = *op;
                let ty = self.expr(expr);
                self.unary(op, ty, expr.span, span)
            }
            ExprKind::IncDec { target, inc, .. } => self.incdec(target, *inc, span),
            ExprKind::Binary { op, lhs, rhs } => {
                let op = *op;
                let l = self.expr(lhs);
                let r = self.expr(rhs);
                // Pointer arithmetic scales by the pointee's size: lowering needs its layout.
                let (l, r) = if matches!(op, BinOp::Add | BinOp::Sub) {
                    lhs.ty = self.resolve_named(l);
                    rhs.ty = self.resolve_named(r);
                    (lhs.ty.clone(), rhs.ty.clone())
                } else {
                    (l, r)
                };
                self.binary(op, l, r, lhs.span, rhs.span)
            }
            ExprKind::Ternary { cond, then, els } => {
                self.condition(cond, "a `?:` condition");
                let t = self.expr(then);
                let f = self.expr(els);
                match unify(&t, &f) {
                    Some(ty) => ty,
                    None => {
                        self.error(
                            Diagnostic::error(
                                codes::TYPE_MISMATCH,
                                "the two branches of `?:` have different types",
                            )
                            .primary(els.span, describe(&f))
                            .secondary(then.span, describe(&t)),
                        );
                        Type::Unknown
                    }
                }
            }
            ExprKind::Cast { to, expr } => {
                let from = self.expr(expr);
                let to = to.clone();
                self.cast(&to, from, expr.span)
            }
            ExprKind::Field { expr, name, arrow } => {
                let base = self.expr(expr);
                // Lowering needs the layout of a struct known only by name (Go pointers).
                let base = self.resolve_named(base);
                expr.ty = base.clone();
                let (name, arrow) = (name.clone(), *arrow);
                self.field(base, &name, arrow, expr.span)
            }
            ExprKind::Index { expr, index } => {
                let base = self.expr(expr);
                // Lowering scales the index by the element's size: it needs its layout.
                let base = self.resolve_named(base);
                expr.ty = base.clone();
                let index_ty = self.expr(index);
                if !matches!(index_ty, Type::Int(_) | Type::Unknown) {
                    self.error(
                        Diagnostic::error(codes::BAD_OPERAND, "an index must be an integer")
                            .primary(index.span, format!("this is {}", describe(&index_ty))),
                    );
                }
                match base {
                    Type::Ptr(inner, _) | Type::GoSlice(inner) => self.element(*inner),
                    Type::Array { elem, .. } => self.element(*elem),
                    Type::Bytes { len } if matches!(index.kind, ExprKind::Int(i) if i >= u64::from(len)) =>
                    {
                        self.error(
                            Diagnostic::error(
                                codes::BAD_OPERAND,
                                format!("the index is out of bounds for `u8[{len}]`"),
                            )
                            .primary(index.span, format!("use 0 to {}", len - 1)),
                        );
                        Type::Unknown
                    }
                    // pton()'s bytes, printed unsigned as bpftrace does.
                    Type::Bytes { .. } => Type::Int(IntType {
                        bits: 8,
                        signed: false,
                    }),
                    Type::Unknown => Type::Unknown,
                    other => {
                        self.error(
                            Diagnostic::error(
                                codes::BAD_OPERAND,
                                format!("cannot index {}", describe(&other)),
                            )
                            .primary(expr.span, "not a pointer, array or slice"),
                        );
                        Type::Unknown
                    }
                }
            }
            ExprKind::SizeofType(t) => {
                let t = t.clone();
                self.sizeof_type(&t, e)
            }
            // `sizeof(foo_t)`, `sizeof(size_t)`: a typedef name parses as an identifier.
            ExprKind::SizeofExpr(inner) if matches!(&inner.kind, ExprKind::Ident(n) if self.ctypes.lookup(n).is_some()) =>
            {
                let ExprKind::Ident(name) = &inner.kind else {
                    return Type::Unknown;
                };
                let t = TypeName {
                    name: name.clone(),
                    pointer_depth: 0,
                    span: inner.span,
                };
                self.sizeof_type(&t, e)
            }
            ExprKind::SizeofExpr(inner) => {
                let ty = self.expr(inner);
                let ty = self.resolve_named(ty);
                match ty.memory_size() {
                    Some(n) => {
                        e.kind = ExprKind::Int(n);
                        Type::Int(IntType::U64)
                    }
                    None if ty == Type::Unknown => Type::Unknown,
                    None => {
                        self.error(
                            Diagnostic::error(
                                codes::BAD_OPERAND,
                                format!("the size of {} is unknown", describe(&ty)),
                            )
                            .primary(inner.span, "sizeof of this"),
                        );
                        Type::Unknown
                    }
                }
            }
            ExprKind::Offsetof { ty, path } => {
                let (ty, path) = (ty.clone(), path.clone());
                self.offsetof(&ty, &path, e)
            }
            ExprKind::Tuple(items) => {
                let mut types = Vec::new();
                for item in items.iter_mut() {
                    let ty = self.expr(item);
                    self.require_value(&ty, item.span);
                    types.push(ty);
                }
                Type::Tuple(types)
            }
            ExprKind::Record(fields) => {
                let mut types = Vec::new();
                let mut seen = HashSet::new();
                for (name, value) in fields.iter_mut() {
                    let ty = self.expr(value);
                    self.require_value(&ty, value.span);
                    if !seen.insert(name.node.clone()) {
                        self.error(
                            Diagnostic::error(
                                codes::TYPE_MISMATCH,
                                format!("field `{}` appears twice", name.node),
                            )
                            .primary(name.span, "repeated"),
                        );
                    }
                    types.push((name.node.clone(), ty));
                }
                Type::Record(types)
            }
        }
    }

    /// A builtin's type; with BTF, `curtask` is bpftrace's `struct task_struct *` (the
    /// program's own definition first, as bpftrace's clang sees it).
    fn builtin_value(&mut self, b: Builtin, args: &mut Vec<Expr>, span: Span) -> Type {
        let ty = self.builtin(b, args, span);
        if b == Builtin::Curtask
            && let Some(task) = self
                .ctypes
                .struct_type("struct task_struct")
                .or_else(|| self.env.kernel_struct("struct task_struct"))
        {
            return Type::Ptr(Box::new(Type::Struct(task)), AddrSpace::Kernel);
        }
        ty
    }

    fn require_value(&mut self, ty: &Type, at: Span) {
        if matches!(ty, Type::Void) || (!matches!(ty, Type::Unknown) && !is_storable(ty)) {
            self.error(
                Diagnostic::error(codes::NO_VALUE, format!("{} is not a value", describe(ty)))
                    .primary(at, "not a value here"),
            );
        }
    }

    /// A positional parameter's text; `None` (with a warning) when it was not given, which
    /// bpftrace reads as 0 or "".
    fn positional(&mut self, n: u32, at: Span) -> Option<String> {
        let given = self.options.positional.len();
        match self.options.positional.get(n as usize - 1) {
            Some(value) => Some(value.clone()),
            None => {
                self.error(
                    Diagnostic::warning(
                        codes::BAD_POSITIONAL,
                        format!("positional parameter `${n}` was not given: it reads as 0 (\"\" in `str()`)"),
                    )
                    .primary(at, format!("{given} positional parameter(s) given"))
                    .help("pass values after the program: `gprobe script.gp -- value1 value2`"),
                );
                None
            }
        }
    }

    fn unknown_name(&mut self, name: &str, at: Span) {
        let mut d = Diagnostic::error(codes::UNKNOWN_NAME, format!("unknown identifier `{name}`"))
            .primary(at, "not a builtin");
        if let Some(rest) = name.strip_prefix("arg")
            && rest.parse::<u32>().is_ok()
        {
            d = d.note(format!(
                "only `arg0` to `arg{}` exist",
                builtins::MAX_ARGS - 1
            ));
        } else if self.tables.vars[self.probe].iter().any(|v| v.name == name) {
            d = d.help(format!("did you mean the variable `${name}`?"));
        } else if self.tables.maps.iter().any(|m| m.name == name) {
            d = d.help(format!("did you mean the map `@{name}`?"));
        } else if let Some(guess) = did_you_mean(
            name,
            builtins::BUILTINS
                .iter()
                .filter(|s| s.form != Form::Call)
                .map(|s| s.name),
        ) {
            d = d.help(format!("did you mean `{guess}`?"));
        }
        self.error(d);
    }

    fn unary(&mut self, op: UnOp, ty: Type, operand: Span, span: Span) -> Type {
        match (op, &ty) {
            (_, Type::Unknown) => Type::Unknown,
            (UnOp::Neg, Type::Int(i)) => Type::Int(IntType {
                bits: 64.max(i.bits),
                signed: true,
            }),
            (UnOp::BitNot, Type::Int(_)) => ty,
            (UnOp::Not, Type::Int(_) | Type::Ptr(..)) => bool_type(),
            (UnOp::Deref, Type::Ptr(inner, _)) => match &**inner {
                Type::Int(_) | Type::Ptr(..) => (**inner).clone(),
                // `(*p).field`: the struct in memory, read a field of it.
                Type::Struct(_) | Type::Named(_) => self.resolve_named((**inner).clone()),
                other => {
                    self.error(
                        Diagnostic::error(
                            codes::BAD_OPERAND,
                            format!("cannot dereference a pointer to {}", describe(other)),
                        )
                        .primary(span, "read a field instead, e.g. `p->field`"),
                    );
                    Type::Unknown
                }
            },
            // An integer read as an address, as bpftrace does (`*kaddr("avenrun")`): an unsigned
            // integer of the operand's size.
            (UnOp::Deref, Type::Int(i)) => Type::Int(IntType {
                bits: i.bits,
                signed: false,
            }),
            _ => {
                let symbol = match op {
                    UnOp::Neg => "-",
                    UnOp::Not => "!",
                    UnOp::BitNot => "~",
                    UnOp::Deref => "*",
                };
                self.error(
                    Diagnostic::error(
                        codes::BAD_OPERAND,
                        format!("cannot apply `{symbol}` to {}", describe(&ty)),
                    )
                    .primary(operand, format!("this is {}", describe(&ty))),
                );
                Type::Unknown
            }
        }
    }

    fn binary(&mut self, op: BinOp, l: Type, r: Type, ls: Span, rs: Span) -> Type {
        use BinOp::*;
        if matches!(l, Type::Unknown) || matches!(r, Type::Unknown) {
            // An error was reported already, or (while learning) a map's type is not known yet:
            // keep the known side so `@n = @n + 1` gets a type.
            return match (op, &l, &r) {
                (Eq | Ne | Lt | Le | Gt | Ge | And | Or, _, _) => bool_type(),
                (_, Type::Int(_), _) | (_, _, Type::Int(_)) => Type::Int(IntType::I64),
                _ => Type::Unknown,
            };
        }
        if matches!(op, Add | Sub)
            && let Some((side, other)) = match (&l, &r) {
                (Type::Int(_), v) if op == Add => Some((rs, v)),
                (v, Type::Int(_)) => Some((ls, v)),
                _ => None,
            }
            && matches!(other, Type::Struct(_) | Type::Named(_) | Type::Array { .. })
        {
            self.error(
                Diagnostic::error(
                    codes::BAD_OPERAND,
                    format!(
                        "pointer arithmetic needs a pointer: {} is not one",
                        describe(other)
                    ),
                )
                .primary(side, format!("this is {}", describe(other)))
                .help("cast an address to a pointer first, e.g. `(uint8 *)addr + 1`, or read a field with `->`"),
            );
            return Type::Unknown;
        }
        let result = match (op, &l, &r) {
            (
                Eq | Ne | Lt | Le | Gt | Ge,
                Type::Int(_) | Type::Ptr(..),
                Type::Int(_) | Type::Ptr(..),
            ) => Some(bool_type()),
            (Eq | Ne, Type::Str { .. }, Type::Str { .. }) => Some(bool_type()),
            (Eq | Ne, Type::Bytes { len: a }, Type::Bytes { len: b }) if a == b => {
                Some(bool_type())
            }
            (And | Or, a, b) if is_integral(a) && is_integral(b) => Some(bool_type()),
            (Add | Sub, Type::Ptr(..), Type::Int(_)) => Some(l.clone()),
            (Add, Type::Int(_), Type::Ptr(..)) => Some(r.clone()),
            (Sub, Type::Ptr(..), Type::Ptr(..)) => Some(Type::Int(IntType::I64)),
            (
                Add | Sub | Mul | Div | Mod | BitAnd | BitOr | BitXor | Shl | Shr,
                Type::Int(a),
                Type::Int(b),
            ) => {
                let unsigned64 = |i: &IntType| i.bits == 64 && !i.signed;
                Some(Type::Int(IntType {
                    bits: 64,
                    signed: !(unsigned64(a) || unsigned64(b)),
                }))
            }
            _ => None,
        };
        result.unwrap_or_else(|| {
            let d = Diagnostic::error(
                codes::BAD_OPERAND,
                format!(
                    "cannot apply `{}` to {} and {}",
                    op.symbol(),
                    describe(&l),
                    describe(&r)
                ),
            )
            .primary(ls, describe(&l))
            .primary(rs, describe(&r));
            let d = if matches!((&l, &r), (Type::Str { .. }, Type::Str { .. })) {
                d.note("strings can only be compared with `==` and `!=`")
            } else {
                d
            };
            self.error(d);
            Type::Unknown
        })
    }
}

fn map_label(name: &str) -> String {
    format!("@{name}")
}

/// Aggregation maps: a type to name them in messages.
fn agg_type(value: &MapValue) -> Type {
    match value {
        MapValue::Agg(kind) => Type::Agg(*kind),
        MapValue::Plain(ty) => ty.clone(),
    }
}

/// `uint32`, `u32`, `int8`, `i64`, ... → the integer type.
fn int_type(name: &str) -> Option<IntType> {
    let (signed, bits) =
        if let Some(bits) = name.strip_prefix("uint").or_else(|| name.strip_prefix('u')) {
            (false, bits)
        } else if let Some(bits) = name.strip_prefix("int").or_else(|| name.strip_prefix('i')) {
            (true, bits)
        } else {
            return None;
        };
    match bits.parse::<u8>().ok()? {
        bits @ (8 | 16 | 32 | 64) => Some(IntType { bits, signed }),
        _ => None,
    }
}

/// Whether lowering reads g through the thread pointer (`task->thread.fsbase`) for `goid` at
/// this attach point: everywhere but Go-ABI functions, where R14 holds g (see `lower::func`).
fn reads_g_from_tls(kind: &ProbeKind, resolved: &Resolved) -> bool {
    match kind {
        ProbeKind::Uprobe { .. } => {
            resolved.functions.is_empty() || resolved.functions.iter().any(|f| !f.abi_internal)
        }
        _ => true,
    }
}
