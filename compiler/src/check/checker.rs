//! The checker proper. It runs twice: a first pass over a copy learns every map's and scratch
//! variable's type whatever the order of uses (a map may be read in a probe above the one that
//! assigns it), then the real pass checks and annotates the program against those tables and
//! keeps its diagnostics.

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
    // Two learning passes settle self-references like `@n = @n + 1` and reads above writes.
    let mut tables = Tables::default();
    for _ in 0..2 {
        let mut learn = Checker::new(env, options, tables, false);
        learn.program(&mut program.clone());
        tables = learn.tables;
    }

    let mut check = Checker::new(env, options, tables, true);
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
    (
        Ok(Checked {
            maps,
            probes: check.infos,
        }),
        warnings,
    )
}

#[derive(Default)]
struct Tables {
    maps: Vec<MapEntry>,
    /// Per probe: scratch variables with their unified type and first assignment.
    vars: Vec<Vec<VarInfo>>,
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
    /// Where this probe uses `goparent` (g.parentGoid exists from Go 1.21).
    goparent_at: Option<Span>,
    /// This probe reads Go arguments or results (`args`, `ret`, `retval`).
    go_values: bool,
    /// Providers (= attach points) of binaries a pattern matched whose `args`/`ret` cannot be
    /// read as the others': left out of the probe after its body is checked.
    left_out: Vec<usize>,
}

fn bool_type() -> Type {
    Type::Int(IntType::U64)
}

impl<'a> Checker<'a> {
    fn new(env: &'a dyn Env, options: &'a Options, tables: Tables, complete: bool) -> Self {
        Checker {
            env,
            options,
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
            goparent_at: None,
            go_values: false,
            left_out: Vec::new(),
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
        if self.complete {
            for attach in &mut probe.attach {
                self.resolve(attach);
            }
        }
        let info = ProbeInfo {
            providers: self.providers.iter().map(|p| p.kind()).collect(),
            vars: self.tables.vars[self.probe].clone(),
            args: self.args.clone().and_then(Result::ok),
            ret: self.ret.clone().and_then(Result::ok),
            goroutine_at: self.goid_at.map(|(_, at)| at),
        };
        self.infos.push(info);
    }

    /// Reports each uprobe binary that cannot take probes (missing, not an ELF executable,
    /// another architecture) before the body is checked, so that `args`/`ret` of such a probe
    /// are not reported again as unknown signatures.
    fn check_binaries(&mut self, probe: &Probe) {
        for attach in &probe.attach {
            if let ProbeKind::Kprobe { ret, .. } = &attach.kind
                && let Err(why) = self.env.kprobes()
            {
                let what = if *ret { "kretprobe" } else { "kprobe" };
                let message = format!("{what}s cannot attach on this kernel: {why}");
                let d = if self.options.check_only {
                    Diagnostic::warning(codes::UNSUPPORTED_PROVIDER, message)
                } else {
                    Diagnostic::error(codes::UNSUPPORTED_PROVIDER, message)
                };
                self.error(
                    d.primary(attach.span, "needs kprobes").help(
                        "a tracepoint often sees the same event (`gprobe -l 'tracepoint:*'`)",
                    ),
                );
                continue;
            }
            if let ProbeKind::Hardware { .. } = &attach.kind
                && let Err(why) = self.env.hardware_events()
            {
                let message = format!("hardware events cannot be counted on this machine: {why}");
                let d = if self.options.check_only {
                    Diagnostic::warning(codes::UNSUPPORTED_PROVIDER, message)
                } else {
                    Diagnostic::error(codes::UNSUPPORTED_PROVIDER, message)
                };
                self.error(
                    d.primary(attach.span, "needs a CPU PMU")
                        .help("a software event counts without one (`software:cpu-clock:1000000`)"),
                );
                continue;
            }
            if let ProbeKind::Usdt {
                binary,
                provider,
                name,
            } = &attach.kind
            {
                self.check_usdt(attach.span, binary.as_ref(), provider.as_ref(), name);
                continue;
            }
            let ProbeKind::Uprobe { binary, .. } = &attach.kind else {
                continue;
            };
            if binary.is_none() && !self.options.has_target {
                continue; // reported by the provider
            }
            if crate::expand::expansion_of(attach).is_some_and(|e| e.is_pending()) {
                continue; // a pattern: its binaries are checked as its expansions
            }
            let Err(why) = self
                .env
                .uprobe_binary(binary.as_ref().map(|b| b.node.as_str()))
            else {
                continue;
            };
            let (at, label) = match binary {
                Some(b) => (b.span, "uprobes cannot go into this file"),
                None => (attach.span, "a uprobe in the -p/-c target"),
            };
            self.error(Diagnostic::error(codes::BAD_BINARY, why).primary(at, label));
            self.args = Some(Err(()));
            self.ret = Some(Err(()));
        }
    }

    /// Reports a `usdt:` attach point whose binary cannot take probes or has no such probe.
    fn check_usdt(
        &mut self,
        span: Span,
        binary: Option<&crate::ast::Name>,
        provider: Option<&crate::ast::Name>,
        name: &crate::ast::Name,
    ) {
        if binary.is_none() && !self.options.has_target {
            return; // reported by the provider
        }
        let path = binary.map(|b| b.node.as_str());
        let (at, label) = match binary {
            Some(b) => (b.span, "uprobes cannot go into this file"),
            None => (span, "a USDT probe in the -p/-c target"),
        };
        let files = self
            .env
            .uprobe_binary(path)
            .and_then(|()| super::usdt::files(self.env, path));
        let files = match files {
            Ok(files) => files,
            Err(why) => {
                self.error(Diagnostic::error(codes::BAD_BINARY, why).primary(at, label));
                return;
            }
        };
        if let Err(why) = super::usdt::select(&files, provider.map(|p| p.node.as_str()), &name.node)
        {
            let wanted = match provider {
                Some(p) => format!("{}:{}", p.node, name.node),
                None => name.node.clone(),
            };
            let listed = path.map_or_else(|| files[0].path.clone(), str::to_owned);
            self.error(
                Diagnostic::error(codes::NO_USDT, format!("no USDT probe `{wanted}`"))
                    .primary(name.span, "not found")
                    .note(why)
                    .help(format!(
                        "list the probes with `gprobe -l 'usdt:{listed}:*'`"
                    )),
            );
        }
    }

    /// Asks the environment where a uprobe attaches and, when the probe uses `goid`, for the
    /// Go runtime offsets; stores the answer on the attach point for lowering.
    fn resolve(&mut self, attach: &mut AttachPoint) {
        let goid = self.goid_at;
        let go_name = |b: Builtin| b.name();
        if let Some(Expansion::Pending { pattern, .. }) = crate::expand::expansion_of(attach) {
            attach.resolved = Some(self.pending_resolution(pattern, &attach.kind));
            return;
        }
        let resolved = match &attach.kind {
            ProbeKind::Uprobe {
                ret,
                binary,
                function,
                glob,
                offset,
            } => {
                let binary = binary.as_ref().map(|b| b.node.as_str());
                if binary.is_none() && !self.options.has_target {
                    return; // reported by the provider
                }
                if self.env.uprobe_binary(binary).is_err() {
                    return; // reported by `check_binaries`
                }
                let needs = UprobeNeeds {
                    values: self.go_values,
                    runtime: goid.is_some(),
                };
                let address = crate::native::parse_address(&function.node).is_some();
                if *ret && address {
                    self.error(
                        Diagnostic::error(
                            codes::BAD_ATTACH,
                            "a return probe cannot attach at an address",
                        )
                        .primary(function.span, "name the function instead"),
                    );
                    return;
                }
                let found = if offset.is_some() || address {
                    self.env
                        .uprobe_at(binary, &function.node, offset.unwrap_or(0))
                } else {
                    self.env
                        .resolve_uprobe_for(binary, &function.node, *glob, *ret, needs)
                };
                match found {
                    Ok(r) => {
                        if let (Some((b, at)), None) = (goid, &r.go) {
                            self.error(
                                Diagnostic::error(
                                    codes::NOT_GO,
                                    format!(
                                        "`{}` needs a Go program, and {} is not a Go binary",
                                        go_name(b),
                                        binary.unwrap_or("the target")
                                    ),
                                )
                                .primary(at, "no goroutines here")
                                .secondary(attach.span, "this probe's binary"),
                            );
                        }
                        r
                    }
                    Err(why) => {
                        let mut d = match offset {
                            Some(off) => Diagnostic::error(
                                codes::NO_FUNCTION,
                                format!("cannot attach at `{}+{off}`", function.node),
                            )
                            .primary(attach.span, "not an attach point"),
                            None => Diagnostic::error(
                                codes::NO_FUNCTION,
                                format!("cannot attach to `{}`", function.node),
                            )
                            .primary(function.span, "not found"),
                        }
                        .note(why);
                        // The source shows the pattern, not the binary it matched.
                        if let (Some(Expansion::Binary { .. }), Some(b)) =
                            (&attach.expansion, binary)
                        {
                            d = d.note(format!("in {b}, which the pattern matched"));
                        }
                        self.error(d);
                        return;
                    }
                }
            }
            ProbeKind::Usdt {
                binary,
                provider,
                name,
            } => {
                let binary = binary.as_ref().map(|b| b.node.as_str());
                let Ok(files) = super::usdt::files(self.env, binary) else {
                    return; // reported by `check_usdt`
                };
                let provider = provider.as_ref().map(|p| p.node.as_str());
                let Ok(usdt) = super::usdt::select(&files, provider, &name.node) else {
                    return;
                };
                let go = match goid {
                    None => None,
                    Some((b, at)) => match self.env.go_runtime(binary) {
                        Ok(go) => Some(go),
                        Err(_) => {
                            self.error(
                                Diagnostic::error(
                                    codes::NOT_GO,
                                    format!(
                                        "`{}` needs a Go program, and {} is not a Go binary",
                                        go_name(b),
                                        files[0].path
                                    ),
                                )
                                .primary(at, "no goroutines here")
                                .secondary(attach.span, "this probe's binary"),
                            );
                            return;
                        }
                    },
                };
                Resolved {
                    binary: Some(files[0].path.clone()),
                    usdt,
                    go,
                    ..Resolved::default()
                }
            }
            ProbeKind::Tracepoint { .. }
            | ProbeKind::Profile { .. }
            | ProbeKind::Interval { .. }
            | ProbeKind::Kprobe { .. }
            | ProbeKind::Software { .. }
            | ProbeKind::Hardware { .. }
            | ProbeKind::Watchpoint { .. }
                if goid.is_some() =>
            {
                let (b, at) = goid.unwrap_or((Builtin::Goid, attach.span));
                if !self.options.has_target {
                    // Node-wide: each Go process's offsets are looked up when the probe fires;
                    // other processes read goid 0.
                    attach.resolved = Some(Resolved {
                        per_process: Some(PerProcessGo {
                            task_fsbase: self.env.task_fsbase(),
                        }),
                        ..Resolved::default()
                    });
                    return;
                }
                match self.env.go_runtime(None) {
                    Ok(go) => Resolved {
                        go: Some(go),
                        ..Resolved::default()
                    },
                    Err(why) => {
                        self.error(
                            Diagnostic::error(
                                codes::NOT_GO,
                                format!("`{}` needs a Go target", go_name(b)),
                            )
                            .primary(at, "no goroutines here")
                            .note(why),
                        );
                        return;
                    }
                }
            }
            _ => return,
        };
        if let (Some(at), Some(go)) = (self.goparent_at, &resolved.go)
            && go.g_parent_goid.is_none()
        {
            self.error(
                Diagnostic::error(
                    codes::GO_TOO_OLD,
                    format!(
                        "`goparent` needs Go 1.21 or later, and this program is {}",
                        go.version
                    ),
                )
                .primary(at, "no parent goroutine id before Go 1.21")
                .secondary(attach.span, "this probe's program")
                .note("Go 1.21 added the parent's id to the goroutine (runtime.g.parentGoid); `gocreator` works in every release"),
            );
            return;
        }
        let mut resolved = resolved;
        if goid.is_some()
            && reads_g_from_tls(&attach.kind, &resolved)
            && let Some(go) = &mut resolved.go
        {
            go.task_fsbase = go.task_fsbase.or_else(|| self.env.task_fsbase());
        }
        attach.resolved = Some(resolved);
    }

    /// What the pending form of a binary pattern is lowered with: the same, whichever binaries
    /// match, so that its maps and events are too (see `crate::expand`). Its `args`/`ret` are
    /// placeholders on the stack, as typed from the expansions: the program is never loaded.
    /// Goroutine builtins read each process's facts, like other node-wide probes.
    fn pending_resolution(&self, pattern: String, kind: &ProbeKind) -> Resolved {
        let placeholders = |ty: &Option<Result<Type, ()>>| -> Vec<(String, GoLocation)> {
            match ty {
                Some(Ok(Type::Record(fields))) => fields
                    .iter()
                    .map(|(name, _)| (name.clone(), GoLocation::Stack { offset: 8 }))
                    .collect(),
                _ => Vec::new(),
            }
        };
        let function = match kind {
            ProbeKind::Uprobe { function, .. } => function.node.clone(),
            _ => String::new(),
        };
        Resolved {
            binary: Some(pattern),
            functions: vec![GoSite {
                name: function,
                offsets: Vec::new(),
                abi_internal: true,
                caller_at_sp: false,
                params: placeholders(&self.args),
                results: placeholders(&self.ret),
                native: false,
            }],
            go: None,
            per_process: Some(PerProcessGo { task_fsbase: None }),
            usdt: Vec::new(),
        }
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

    fn map_index(&mut self, name: &str) -> usize {
        match self.tables.maps.iter().position(|m| m.name == name) {
            Some(i) => i,
            None => {
                self.tables.maps.push(MapEntry {
                    name: name.to_string(),
                    keys: None,
                    value: None,
                });
                self.tables.maps.len() - 1
            }
        }
    }

    /// Checks a map's keys against its earlier uses; returns its table index.
    fn map_keys(&mut self, map: &mut MapRef) -> usize {
        let key_types: Vec<Type> = map.keys.iter_mut().map(|k| self.expr(k)).collect();
        for (key, ty) in map.keys.iter().zip(&key_types) {
            if !matches!(ty, Type::Unknown) && !is_storable(ty) {
                self.error(
                    Diagnostic::error(
                        codes::MAP_KEYS,
                        format!("{} cannot be a map key", describe(ty)),
                    )
                    .primary(key.span, "not a valid key"),
                );
            }
        }
        let keys_span = match (map.keys.first(), map.keys.last()) {
            (Some(first), Some(last)) => first.span.to(last.span),
            _ => map.span,
        };
        let index = self.map_index(&map.name.node);
        let label = map_label(&map.name.node);
        match &mut self.tables.maps[index].keys {
            slot @ None => *slot = Some((key_types, keys_span)),
            Some((known, first)) => {
                let first = *first;
                let unified: Option<Vec<Type>> = (known.len() == key_types.len())
                    .then(|| {
                        known
                            .iter()
                            .zip(&key_types)
                            .map(|(a, b)| unify(a, b))
                            .collect()
                    })
                    .flatten();
                match unified {
                    Some(unified) => *known = unified,
                    None => {
                        let describe_keys = |keys: &[Type]| match keys.len() {
                            0 => "no key".to_string(),
                            _ => format!(
                                "key [{}]",
                                keys.iter()
                                    .map(crate::dump::type_name)
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        };
                        let (before, now) = (describe_keys(known), describe_keys(&key_types));
                        self.error(
                            Diagnostic::error(
                                codes::MAP_KEYS,
                                format!("map `{label}` is used with different keys"),
                            )
                            .primary(keys_span, format!("used with {now} here"))
                            .secondary(first, format!("used with {before} here"))
                            .help("every use of a map needs the same number and types of keys"),
                        );
                    }
                }
            }
        }
        index
    }

    /// The value a map holds, reporting a never-assigned map (second pass only).
    fn map_value(&mut self, index: usize, map: &MapRef) -> Option<MapValue> {
        if let Some((value, _)) = &self.tables.maps[index].value {
            return Some(value.clone());
        }
        if self.complete {
            let name = &map.name.node;
            let assigned: Vec<String> = self
                .tables
                .maps
                .iter()
                .filter(|m| m.value.is_some())
                .map(|m| m.name.clone())
                .collect();
            let mut d = Diagnostic::error(
                codes::UNKNOWN_MAP,
                format!("map `{}` is never assigned", map_label(name)),
            )
            .primary(map.name.span, "no value is ever stored here");
            if let Some(guess) = did_you_mean(name, assigned.iter().map(String::as_str)) {
                d = d.help(format!("did you mean `@{guess}`?"));
            }
            self.error(d);
        }
        None
    }

    fn read_map(&mut self, map: &mut MapRef) -> Type {
        let index = self.map_keys(map);
        match self.map_value(index, map) {
            None => Type::Unknown,
            Some(MapValue::Plain(ty)) => ty,
            // As in bpftrace: an aggregation lives in one slot per CPU and is merged only when
            // printed, so a probe has no single value to read.
            Some(MapValue::Agg(kind)) => {
                self.error(
                    Diagnostic::error(
                        codes::AGG_READ,
                        format!(
                            "map `{}` holds a {} and cannot be read as a value",
                            map_label(&map.name.node),
                            crate::dump::type_name(&Type::Agg(kind))
                        ),
                    )
                    .primary(map.span, "cannot read this")
                    .note("aggregations are kept per CPU and merged only when printed")
                    .help("print it with `print(@map)` (it is also printed at exit), or keep a plain map to read in a probe: `@n = @n + 1`"),
                );
                Type::Unknown
            }
        }
    }

    fn assign_map(&mut self, map: &mut MapRef, op: Option<BinOp>, value: &mut Expr) {
        let index = self.map_keys(map);
        let label = map_label(&map.name.node);
        let new = if let Some(op) = op {
            let ty = self.expr(value);
            if !matches!(ty, Type::Int(_) | Type::Unknown) {
                self.error(
                    Diagnostic::error(
                        codes::BAD_OPERAND,
                        format!("`{}=` needs an integer", op.symbol()),
                    )
                    .primary(value.span, format!("this is {}", describe(&ty))),
                );
                return;
            }
            MapValue::Plain(Type::Int(IntType::I64))
        } else {
            let ty = self.expr_any(value);
            match ty {
                Type::Agg(kind) => MapValue::Agg(kind),
                Type::Unknown => return,
                Type::Void => {
                    self.error(
                        Diagnostic::error(codes::NO_VALUE, "this expression produces no value")
                            .primary(value.span, "nothing to store"),
                    );
                    return;
                }
                ty if !is_storable(&ty) => {
                    self.error(
                        Diagnostic::error(
                            codes::TYPE_MISMATCH,
                            format!("cannot store {} in a map", describe(&ty)),
                        )
                        .primary(value.span, "not storable"),
                    );
                    return;
                }
                ty => MapValue::Plain(ty),
            }
        };
        let entry = &mut self.tables.maps[index];
        let Some((known, first)) = &mut entry.value else {
            entry.value = Some((new, value.span));
            return;
        };
        let first = *first;
        let what = |v: &MapValue| match v {
            MapValue::Agg(kind) => format!(
                "{}()",
                crate::dump::type_name(&Type::Agg(*kind))
                    .split('(')
                    .next()
                    .unwrap_or("")
            ),
            MapValue::Plain(ty) => describe(ty),
        };
        let conflict = match (&*known, &new) {
            (MapValue::Plain(a), MapValue::Plain(b)) => match unify(a, b) {
                Some(unified) => {
                    *known = MapValue::Plain(unified);
                    None
                }
                None => Some(codes::MAP_VALUE),
            },
            (MapValue::Agg(a), MapValue::Agg(b)) if a == b => None,
            (MapValue::Agg(AggKind::Lhist { .. }), MapValue::Agg(AggKind::Lhist { .. })) => {
                Some(codes::AGG_MIXED)
            }
            (MapValue::Agg(_), MapValue::Agg(_)) => Some(codes::AGG_MIXED),
            _ => Some(codes::MAP_VALUE),
        };
        if let Some(code) = conflict {
            let (before, now) = (what(known), what(&new));
            let (before, now) = if before == now {
                (
                    crate::dump::type_name(&agg_type(known)),
                    crate::dump::type_name(&agg_type(&new)),
                )
            } else {
                (before, now)
            };
            let mut d = Diagnostic::error(
                code,
                format!("map `{label}` is assigned both {before} and {now}"),
            )
            .primary(value.span, format!("{now} here"))
            .secondary(first, format!("{before} here"));
            d = if code == codes::AGG_MIXED {
                d.help("one map holds one kind of aggregation; use a second map")
            } else if op.is_some() && matches!(known, MapValue::Agg(_)) {
                d.help("an aggregation map is updated by assigning the aggregation again, e.g. `@m = count()`")
            } else {
                d.help("every assignment to a map must store the same type; use a second map")
            };
            self.error(d);
        }
    }

    /// The map named by a builtin's map argument (`clear(@m)`, `delete(@m[k])`).
    fn map_arg(&mut self, arg: &mut Expr, whole: bool, builtin: Builtin) -> Type {
        let ExprKind::Map(map) = &mut arg.kind else {
            let example = if whole { "@name" } else { "@name[key]" };
            self.expr_any(arg);
            self.error(
                Diagnostic::error(
                    codes::NOT_A_MAP,
                    format!("`{}` needs a map", builtin.name()),
                )
                .primary(arg.span, "not a map")
                .help(format!("write `{}({example})`", builtin.name())),
            );
            return Type::Unknown;
        };
        if whole && !map.keys.is_empty() {
            let label = map_label(&map.name.node);
            self.error(
                Diagnostic::error(
                    codes::NOT_A_MAP,
                    format!("`{}` takes a whole map, not an element", builtin.name()),
                )
                .primary(arg.span, "an element")
                .help(format!("write `{}({label})`", builtin.name())),
            );
            return Type::Unknown;
        }
        let index = if whole {
            self.map_index(&map.name.node)
        } else {
            self.map_keys(map)
        };
        let ty = match self.map_value(index, map) {
            Some(MapValue::Plain(ty)) => ty,
            Some(MapValue::Agg(kind)) => Type::Agg(kind),
            None => Type::Unknown,
        };
        arg.ty = ty.clone();
        ty
    }

    // ---- expressions ------------------------------------------------------------------------

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
                    // A kernel enumerator (`SKB_DROP_REASON_NOT_SPECIFIED`), as in bpftrace.
                    None => match self.env.kernel_enum(&name) {
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

    /// A builtin's type; with BTF, `curtask` is bpftrace's `struct task_struct *`.
    fn builtin_value(&mut self, b: Builtin, args: &mut [Expr], span: Span) -> Type {
        let ty = self.builtin(b, args, span);
        if b == Builtin::Curtask
            && let Some(task) = self.env.kernel_struct("struct task_struct")
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
            (UnOp::Deref, Type::Int(_)) => {
                self.error(
                    Diagnostic::error(codes::BAD_OPERAND, "cannot dereference an integer")
                        .primary(operand, "an integer, not a pointer")
                        .help("cast it to a pointer first, e.g. `*(uint64 *)addr`"),
                );
                Type::Unknown
            }
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

    fn cast(&mut self, to: &TypeName, from: Type, at: Span) -> Type {
        // A pointer cast keeps its operand's address space (`(uint32 *)curtask` is kernel
        // memory, as in bpftrace); an integer cast to a pointer takes the probe's.
        let mut space = match &from {
            Type::Ptr(_, space) => *space,
            _ => AddrSpace::Default,
        };
        let base = if let Some(int) = int_type(&to.name) {
            Type::Int(int)
        } else if let Some(name) = to.name.strip_prefix("struct ") {
            if to.pointer_depth == 0 {
                self.error(
                    Diagnostic::error(codes::BAD_CAST, "cannot cast to a struct value")
                        .primary(to.span, "cast to a pointer instead")
                        .help(format!("write `(struct {name} *)`")),
                );
                return Type::Unknown;
            }
            // A kernel struct (BTF) is read from kernel memory, whatever the probe.
            if let Some(s) = self.kernel_struct(&to.name) {
                space = AddrSpace::Kernel;
                Type::Struct(s)
            } else {
                match self.env.struct_type(name) {
                    Some(s) => Type::Struct(s),
                    None => Type::Named(to.name.clone()),
                }
            }
        } else {
            self.error(
                Diagnostic::error(codes::BAD_CAST, format!("unknown type `{}`", to.name))
                    .primary(to.span, "unknown type"),
            );
            return Type::Unknown;
        };
        if !is_integral(&from) {
            self.error(
                Diagnostic::error(
                    codes::BAD_CAST,
                    format!("cannot cast {} to `{}`", describe(&from), to.name),
                )
                .primary(at, format!("this is {}", describe(&from)))
                .note("only integers and pointers can be cast"),
            );
            return Type::Unknown;
        }
        let mut ty = base;
        for _ in 0..to.pointer_depth {
            ty = Type::Ptr(Box::new(ty), space);
        }
        ty
    }

    /// `sizeof(TYPE)`: `e` becomes the size, a `u64` as in bpftrace.
    fn sizeof_type(&mut self, t: &TypeName, e: &mut Expr) -> Type {
        let size = if t.pointer_depth > 0 {
            Some(8)
        } else if let Some(int) = int_type(&t.name) {
            Some(u64::from(int.bits / 8))
        } else {
            self.named_struct(&t.name).map(|s| s.size)
        };
        match size {
            Some(n) => {
                e.kind = ExprKind::Int(n);
                Type::Int(IntType::U64)
            }
            None => {
                self.unknown_struct(&t.name, t.span);
                Type::Unknown
            }
        }
    }

    /// `offsetof(struct X, a.b)`: `e` becomes the byte offset, a `u64`.
    fn offsetof(&mut self, t: &TypeName, path: &[Name], e: &mut Expr) -> Type {
        let Some(mut st) = self.named_struct(&t.name) else {
            self.unknown_struct(&t.name, t.span);
            return Type::Unknown;
        };
        let mut total = 0;
        for (i, member) in path.iter().enumerate() {
            let Some(f) = st.fields.iter().find(|f| f.name == member.node) else {
                let mut d = Diagnostic::error(
                    codes::UNKNOWN_FIELD,
                    format!("`struct {}` has no field `{}`", st.name, member.node),
                )
                .primary(member.span, "unknown field");
                let nearest = crate::names::nearest(
                    &member.node,
                    st.fields.iter().map(|f| f.name.as_str()),
                    5,
                );
                if !nearest.is_empty() {
                    d = d.help(format!("nearest fields: {}", nearest.join(", ")));
                }
                self.error(d);
                return Type::Unknown;
            };
            total += f.offset;
            if i + 1 < path.len() {
                match self.resolve_named(f.ty.clone()) {
                    Type::Struct(inner) => st = inner,
                    other => {
                        self.error(
                            Diagnostic::error(
                                codes::BAD_OPERAND,
                                format!("{} has no fields", describe(&other)),
                            )
                            .primary(path[i + 1].span, "not a member of a struct"),
                        );
                        return Type::Unknown;
                    }
                }
            }
        }
        e.kind = ExprKind::Int(total);
        Type::Int(IntType::U64)
    }

    fn unknown_struct(&mut self, name: &str, at: Span) {
        self.error(
            Diagnostic::error(codes::UNKNOWN_FIELD, format!("the layout of `{name}` is unknown"))
                .primary(at, "unknown type")
                .note("struct layouts come from the kernel's BTF (kernel structs) and the target's DWARF (Go structs); neither has this one"),
        );
    }

    /// An element read with `[i]`: a struct known by name gets its layout, for `.field`.
    fn element(&self, elem: Type) -> Type {
        self.resolve_named(elem)
    }

    /// The layout behind `Named(name)`: a kernel struct from BTF (`struct sock`), or a Go
    /// struct (`net/url.URL`, `struct main.T` from a cast).
    fn named_struct(&self, name: &str) -> Option<StructType> {
        if let Some(s) = self.kernel_struct(name) {
            return Some(s);
        }
        self.env.struct_type(name.trim_start_matches("struct "))
    }

    /// A kernel struct by C name; Go names (`struct main.T`, `net/url.URL`) are never asked
    /// for, which spares a Go-only program opening the kernel's BTF.
    fn kernel_struct(&self, name: &str) -> Option<StructType> {
        let tag = name
            .strip_prefix("struct ")
            .or_else(|| name.strip_prefix("union "))?;
        if tag.is_empty() || !tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        self.env.kernel_struct(name)
    }

    /// `Named` → its struct, also behind one pointer, when the environment knows the layout.
    fn resolve_named(&self, ty: Type) -> Type {
        match ty {
            Type::Named(n) => match self.named_struct(&n) {
                Some(s) => Type::Struct(s),
                None => Type::Named(n),
            },
            Type::Ptr(inner, space) if matches!(*inner, Type::Named(_)) => {
                Type::Ptr(Box::new(self.resolve_named(*inner)), space)
            }
            other => other,
        }
    }

    fn field(&mut self, base: Type, name: &Name, arrow: bool, at: Span) -> Type {
        let _ = arrow; // `.` and `->` both reach through one pointer, as in bpftrace's `args`.
        let base = match base {
            Type::Ptr(inner, _) if matches!(*inner, Type::Struct(_) | Type::Named(_)) => *inner,
            other => other,
        };
        let base = match base {
            Type::Named(n) => match self.named_struct(&n) {
                Some(s) => Type::Struct(s),
                None => {
                    self.error(
                        Diagnostic::error(codes::UNKNOWN_FIELD, format!("the layout of `{n}` is unknown"))
                            .primary(at, "cannot read its fields")
                            .note("struct layouts come from the kernel's BTF (kernel structs) and the target's DWARF (Go structs); neither has this one"),
                    );
                    return Type::Unknown;
                }
            },
            other => other,
        };
        let fields: Vec<(String, Type)> = match &base {
            Type::Unknown => return Type::Unknown,
            Type::Struct(s) => s
                .fields
                .iter()
                .map(|f| (f.name.clone(), f.ty.clone()))
                .collect(),
            Type::Record(fields) => fields.clone(),
            Type::Tuple(items) => items
                .iter()
                .enumerate()
                .map(|(i, t)| (i.to_string(), t.clone()))
                .collect(),
            Type::GoString => vec![
                (
                    "ptr".into(),
                    Type::Ptr(
                        Box::new(Type::Int(IntType {
                            bits: 8,
                            signed: false,
                        })),
                        AddrSpace::User,
                    ),
                ),
                ("len".into(), Type::Int(IntType::I64)),
            ],
            Type::GoSlice(elem) => vec![
                ("ptr".into(), Type::Ptr(elem.clone(), AddrSpace::User)),
                ("len".into(), Type::Int(IntType::I64)),
                ("cap".into(), Type::Int(IntType::I64)),
            ],
            // (itab or type, data): `type` is 0 for a nil interface (a nil error).
            Type::GoInterface => vec![
                ("type".into(), Type::Int(IntType::U64)),
                ("tab".into(), Type::Int(IntType::U64)),
                ("data".into(), Type::Int(IntType::U64)),
            ],
            other => {
                self.error(
                    Diagnostic::error(
                        codes::BAD_OPERAND,
                        format!("{} has no fields", describe(other)),
                    )
                    .primary(name.span, format!("no field `{}`", name.node)),
                );
                return Type::Unknown;
            }
        };
        if let Some((_, ty)) = fields.iter().find(|(n, _)| *n == name.node) {
            return match ty {
                // Reading a bit-field gives its integer.
                Type::BitField { int, .. } => Type::Int(*int),
                other => other.clone(),
            };
        }
        if let Type::Tuple(items) = &base {
            // Elements are numbered: no spelling suggestion, the valid range instead.
            let count = items.len();
            let message = match name.node.parse::<u64>() {
                Ok(index) => format!(
                    "tuple index {index} is out of range: {} has {count} element{}",
                    describe(&base),
                    if count == 1 { "" } else { "s" }
                ),
                Err(_) => format!(
                    "a tuple's elements are read by index (`.0`), not by name (`.{}`)",
                    name.node
                ),
            };
            self.error(
                Diagnostic::error(codes::UNKNOWN_FIELD, message)
                    .primary(name.span, "no such element")
                    .note(format!("valid indexes: .0 to .{}", count.saturating_sub(1))),
            );
            return Type::Unknown;
        }
        let mut d = Diagnostic::error(
            codes::UNKNOWN_FIELD,
            format!("{} has no field `{}`", describe(&base), name.node),
        )
        .primary(name.span, "unknown field");
        if let Some(guess) = did_you_mean(&name.node, fields.iter().map(|(n, _)| n.as_str())) {
            d = d.help(format!("did you mean `{guess}`?"));
        }
        if !fields.is_empty() && fields.len() <= 20 {
            d = d.note(format!(
                "fields: {}",
                fields
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        } else if fields.len() > 20 {
            // A kernel struct has hundreds: the nearest few.
            let nearest =
                crate::names::nearest(&name.node, fields.iter().map(|(n, _)| n.as_str()), 5);
            if nearest.len() > 1 {
                d = d.note(format!("nearest fields: {}", nearest.join(", ")));
            }
        }
        self.error(d);
        Type::Unknown
    }

    // ---- builtins ---------------------------------------------------------------------------

    fn allowed(&mut self, builtin: Builtin, at: Span) -> bool {
        let refused = self
            .providers
            .iter()
            .find(|p| !p.allows(builtin))
            .map(|p| (p.kind(), p.span()));
        match refused {
            None => true,
            Some((kind, probe_span)) => {
                let d = providers::not_here(builtin, kind, at);
                let d = if self.providers.len() > 1 {
                    d.secondary(probe_span, "this attach point")
                } else {
                    d
                };
                self.error(d);
                false
            }
        }
    }

    fn builtin(&mut self, b: Builtin, args: &mut [Expr], span: Span) -> Type {
        if matches!(b, Builtin::Goid | Builtin::Gocreator | Builtin::Goparent) {
            self.goid_at.get_or_insert((b, span));
        }
        if b == Builtin::Goparent {
            self.goparent_at.get_or_insert(span);
        }
        if matches!(b, Builtin::Args | Builtin::Ret | Builtin::Retval) {
            self.go_values = true;
        }
        if b == Builtin::Gocaller && !self.options.has_target {
            // Its addresses carry no process: node-wide they could not be symbolized.
            self.error(
                Diagnostic::error(codes::NO_TARGET, "`gocaller` needs a -p/-c target")
                    .primary(span, "needs -p PID or -c CMD")
                    .help("use `gostack` to trace every process"),
            );
            return Type::Unknown;
        }
        if b == Builtin::Tpid && !self.options.has_target {
            // Node-wide there is no one target; 0 would match the idle task.
            self.error(
                Diagnostic::error(
                    codes::NO_TARGET,
                    "`tpid` is the -p/-c target's pid, and there is no target",
                )
                .primary(span, "needs -p PID or -c CMD")
                .help("run with -p PID or -c CMD, or compare `pid` with a number"),
            );
            return Type::Unknown;
        }
        let spec = spec(b);
        let allowed = self.allowed(b, span);
        // `str($1)` means the parameter's text, even when it looks like a number.
        if matches!(b, Builtin::Str | Builtin::SyscallNr)
            && let Some(first) = args.first_mut()
            && let ExprKind::Positional(n) = first.kind
        {
            let value = self.positional(n, first.span).unwrap_or_default();
            first.kind = ExprKind::Str(value);
        }
        let n = args.len();
        let (min, max) = (spec.min_args(), spec.max_args());
        if n < min || max.is_some_and(|max| n > max) {
            let wanted = match max {
                None => format!("at least {min}"),
                Some(max) if max == min => format!("{min}"),
                Some(max) => format!("{min} to {max}"),
            };
            self.error(
                Diagnostic::error(
                    codes::ARG_COUNT,
                    format!(
                        "`{}` takes {wanted} argument(s), but {n} were given",
                        b.name()
                    ),
                )
                .primary(span, format!("{n} argument(s)"))
                .help(format!("usage: {}", spec.signature())),
            );
            for arg in args.iter_mut() {
                self.expr_any(arg);
            }
            return Type::Unknown;
        }
        let mut literals: Vec<Option<i64>> = Vec::new();
        let mut types = Vec::new();
        for (i, arg) in args.iter_mut().enumerate() {
            let kind = spec.params.get(i).map_or(ParamKind::Any, |p| p.kind);
            let param = spec.params.get(i).map_or("argument", |p| p.name);
            let (ty, literal) = self.param(b, kind, param, arg);
            types.push(ty);
            literals.push(literal);
        }
        if !allowed {
            return Type::Unknown;
        }
        let literal = |i: usize| literals.get(i).copied().flatten();
        if !self.compile_time_args(b, args, &types, span) {
            return Type::Unknown;
        }
        match spec.result {
            Returns::Void if matches!(b, Builtin::Printf | Builtin::Cat | Builtin::System) => {
                self.printf(args);
                Type::Void
            }
            Returns::Void => Type::Void,
            Returns::Int(_) if matches!(b, Builtin::Arg(_)) => self.arg_type(b, span),
            Returns::Int(i) => {
                if b == Builtin::Reg {
                    self.check_register(&args[0]);
                }
                if b == Builtin::SyscallNr
                    && let Some(ExprKind::Str(name)) = args.first().map(|a| &a.kind)
                    && !matches!(name.as_str(), "" | "all")
                    && crate::syscalls::syscall_number(name).is_none()
                {
                    let mut d = Diagnostic::error(
                        codes::ARG_TYPE,
                        format!("no system call is named `{name}` on x86-64"),
                    )
                    .primary(args[0].span, "not a system call name");
                    if let Some(guess) = did_you_mean(name, crate::syscalls::names()) {
                        d = d.help(format!("did you mean `{guess}`?"));
                    }
                    self.error(d);
                    return Type::Unknown;
                }
                Type::Int(i)
            }
            Returns::Str { size } => Type::Str { size },
            Returns::Timestamp => match args.first().map(|a| &a.kind) {
                Some(ExprKind::Str(format)) => Type::Timestamp {
                    format: format.clone(),
                },
                _ => Type::Unknown,
            },
            Returns::Sym { user } => Type::Sym { user },
            Returns::Rendered(render) => Type::Rendered(render),
            Returns::GoPc => Type::GoPc,
            Returns::Coded(code) => Type::Coded(code),
            Returns::GoCaller => Type::GoCaller,
            Returns::Agg(kind) => Type::Agg(kind),
            Returns::Stack(kind) => {
                let limit = match literal(0) {
                    None if args.is_empty() => DEFAULT_STACK_LIMIT,
                    None => return Type::Unknown,
                    Some(l) if (1..=i64::from(DEFAULT_STACK_LIMIT)).contains(&l) => l as u8,
                    Some(l) => {
                        self.error(
                            Diagnostic::error(
                                codes::ARG_TYPE,
                                format!("a stack of {l} frames is out of range"),
                            )
                            .primary(args[0].span, format!("use 1 to {DEFAULT_STACK_LIMIT}")),
                        );
                        return Type::Unknown;
                    }
                };
                let _ = StackKind::User;
                Type::Stack { kind, limit }
            }
            Returns::Special => self.special(b, args, &types, &literals, span),
        }
    }

    /// Checks one argument against its parameter kind: (type, literal value if an integer literal).
    fn param(
        &mut self,
        b: Builtin,
        kind: ParamKind,
        param: &str,
        arg: &mut Expr,
    ) -> (Type, Option<i64>) {
        let bad = |this: &mut Self, arg: &Expr, wanted: &str, found: &Type| {
            this.error(
                Diagnostic::error(
                    codes::ARG_TYPE,
                    format!("`{}` needs {wanted} for `{param}`", b.name()),
                )
                .primary(arg.span, format!("this is {}", describe(found))),
            );
        };
        match kind {
            ParamKind::Map => (self.map_arg(arg, true, b), None),
            ParamKind::MapElem => (self.map_arg(arg, false, b), None),
            ParamKind::MapOrAny => match &arg.kind {
                ExprKind::Map(m) if m.keys.is_empty() => (self.map_arg(arg, true, b), None),
                _ => {
                    let ty = self.expr(arg);
                    self.require_value(&ty, arg.span);
                    (ty, None)
                }
            },
            ParamKind::Int => {
                let ty = self.expr(arg);
                if !is_integral(&ty) {
                    bad(self, arg, "an integer", &ty);
                }
                let literal = match arg.kind {
                    ExprKind::Int(v) => Some(v as i64),
                    _ => None,
                };
                (ty, literal)
            }
            ParamKind::IntLiteral => {
                let ty = self.expr(arg);
                match arg.kind {
                    ExprKind::Int(v) => (ty, Some(v as i64)),
                    _ => {
                        if !matches!(ty, Type::Unknown) {
                            self.error(
                                Diagnostic::error(
                                    codes::NEEDS_LITERAL,
                                    format!(
                                        "`{param}` of `{}` must be an integer literal",
                                        b.name()
                                    ),
                                )
                                .primary(arg.span, "not a constant")
                                .note("the value is fixed when the program is compiled"),
                            );
                        }
                        (ty, None)
                    }
                }
            }
            ParamKind::StrLiteral => {
                let ty = self.expr(arg);
                if !matches!(arg.kind, ExprKind::Str(_)) && !matches!(ty, Type::Unknown) {
                    self.error(
                        Diagnostic::error(
                            codes::NEEDS_LITERAL,
                            format!("`{param}` of `{}` must be a string literal", b.name()),
                        )
                        .primary(arg.span, "not a string literal"),
                    );
                }
                (ty, None)
            }
            ParamKind::Addr => {
                let ty = self.expr(arg);
                if !matches!(
                    ty,
                    Type::Int(_)
                        | Type::Ptr(..)
                        | Type::GoString
                        | Type::GoSlice(_)
                        | Type::Str { .. }
                        | Type::Unknown
                ) {
                    bad(self, arg, "an address, pointer or Go string", &ty);
                }
                (ty, None)
            }
            ParamKind::Any => {
                let ty = self.expr(arg);
                self.require_value(&ty, arg.span);
                (ty, None)
            }
        }
    }

    /// `argN`: each attach point's provider types it (a USDT spec may say signed); signed only
    /// when all agree.
    fn arg_type(&mut self, b: Builtin, span: Span) -> Type {
        let Builtin::Arg(n) = b else {
            return Type::Int(IntType::U64);
        };
        let mut signed = true;
        let mut failed = None;
        for p in &self.providers {
            match p.arg(self.env, n, span) {
                Ok(Type::Int(i)) => signed &= i.signed,
                Ok(_) => signed = false,
                Err(d) => {
                    failed = Some(d);
                    break;
                }
            }
        }
        if let Some(d) = failed {
            self.error(d);
            return Type::Unknown;
        }
        Type::Int(if signed && !self.providers.is_empty() {
            IntType::I64
        } else {
            IntType::U64
        })
    }

    fn special(
        &mut self,
        b: Builtin,
        args: &[Expr],
        types: &[Type],
        literals: &[Option<i64>],
        span: Span,
    ) -> Type {
        match b {
            Builtin::Retval => self
                .providers
                .first()
                .map_or(Type::Int(IntType::U64), |p| p.retval(self.env)),
            // The probed function's address: a kernel symbol in kprobes, a user one elsewhere.
            Builtin::Func => Type::Sym {
                user: !self.providers.iter().any(|p| {
                    matches!(
                        p.kind(),
                        crate::builtins::ProviderKind::Kprobe
                            | crate::builtins::ProviderKind::Kretprobe
                    )
                }),
            },
            Builtin::Args | Builtin::Ret => self.args_or_ret(b, span),
            // The same pointer in the named address space (an integer stays an integer).
            Builtin::Kptr | Builtin::Uptr => match types.first() {
                Some(Type::Ptr(inner, _)) => Type::Ptr(
                    inner.clone(),
                    if b == Builtin::Kptr {
                        AddrSpace::Kernel
                    } else {
                        AddrSpace::User
                    },
                ),
                Some(other) => other.clone(),
                None => Type::Unknown,
            },
            // Of the argument's own width, as bpftrace: bswap((uint16)x) swaps two bytes.
            Builtin::Bswap => match &types[0] {
                Type::Int(it) => Type::Int(*it),
                _ => Type::Int(IntType::U64),
            },
            Builtin::Str | Builtin::Buf => {
                let size = match (literals.get(1).copied().flatten(), args.len()) {
                    (Some(size), _) => size,
                    (None, 1) => i64::from(self.options.str_size.unwrap_or(DEFAULT_STR_SIZE)),
                    // str(p, len) with a run-time len: read at most the default buffer, as
                    // bpftrace does; lowering clamps len to it.
                    (None, _) if b == Builtin::Str && is_integral(&types[1]) => {
                        i64::from(self.options.str_size.unwrap_or(DEFAULT_STR_SIZE))
                    }
                    (None, _) => return Type::Unknown,
                };
                if !(1..=i64::from(MAX_STR_SIZE)).contains(&size) {
                    self.error(
                        Diagnostic::error(codes::ARG_TYPE, format!("size {size} is out of range"))
                            .primary(args[1].span, format!("use 1 to {MAX_STR_SIZE}")),
                    );
                    return Type::Unknown;
                }
                let size = size as u32;
                match (b, &types[0]) {
                    (Builtin::Str, Type::Str { size: have }) => Type::Str {
                        size: (*have).min(size.max(*have)),
                    },
                    // str(p, n) reads n characters and the NUL, as bpftrace's.
                    (Builtin::Str, Type::GoString) => Type::Str { size },
                    (Builtin::Str, _) if args.len() == 2 && literals[1].is_some() => Type::Str {
                        size: (size + 1).min(MAX_STR_SIZE),
                    },
                    (Builtin::Str, _) => Type::Str { size },
                    _ => Type::Buf { size },
                }
            }
            Builtin::Lhist => {
                let (Some(min), Some(max), Some(step)) = (literals[1], literals[2], literals[3])
                else {
                    return Type::Unknown;
                };
                if step <= 0 || max <= min {
                    self.error(
                        Diagnostic::error(
                            codes::ARG_TYPE,
                            "`lhist` needs min < max and a positive step",
                        )
                        .primary(
                            args[1].span.to(args[3].span),
                            format!("min {min}, max {max}, step {step}"),
                        ),
                    );
                    return Type::Unknown;
                }
                if (max - min) / step > 10_000 {
                    self.error(
                        Diagnostic::error(
                            codes::ARG_TYPE,
                            "`lhist` would have more than 10000 buckets",
                        )
                        .primary(args[3].span, "use a larger step"),
                    );
                    return Type::Unknown;
                }
                Type::Agg(AggKind::Lhist { min, max, step })
            }
            _ => Type::Unknown,
        }
    }

    fn args_or_ret(&mut self, b: Builtin, at: Span) -> Type {
        let cached = if b == Builtin::Args {
            &self.args
        } else {
            &self.ret
        };
        if let Some(result) = cached {
            return result.clone().unwrap_or(Type::Unknown);
        }
        let mut result: Result<Type, ()> = Err(());
        let mut first: Option<(Type, Span)> = None;
        let mut errors = Vec::new();
        // A binary pattern's pending form takes its signature from the binaries it matched;
        // with none, nothing says what FUNC's parameters are.
        if let Some(p) = self.providers.iter().find(|p| p.pending() == Some(0)) {
            errors.push(
                Diagnostic::error(
                    codes::NO_SIGNATURE,
                    format!(
                        "`{}` on a binary pattern needs a running program that matches it",
                        b.name()
                    ),
                )
                .primary(at, format!("cannot type `{}`", b.name()))
                .secondary(p.span(), "no running Go program matches this yet")
                .note("the signature is read from the matching binaries, and none is running")
                .help("start the program first, or name its binary: `uprobe:/path/to/binary:FUNC`"),
            );
        }
        // Binaries of a pattern that cannot give this value as the first one does.
        let mut left_out: Vec<(usize, Diagnostic)> = Vec::new();
        for (i, p) in self.providers.iter().enumerate() {
            if !errors.is_empty() {
                break;
            }
            if p.pending().is_some() {
                continue;
            }
            let ty = if b == Builtin::Args {
                p.args(self.env, at)
            } else {
                p.ret(self.env, at)
            };
            match ty {
                Err(d) if p.expanded_binary().is_some() => left_out.push((i, d)),
                Ok(ty)
                    if p.expanded_binary().is_some()
                        && first.as_ref().is_some_and(|(known, _)| *known != ty) =>
                {
                    let d = Diagnostic::error(
                        codes::MIXED_ARGS,
                        format!("`{}` differs from the other binaries'", b.name()),
                    )
                    .primary(at, format!("this is {}", describe(&ty)));
                    left_out.push((i, d));
                }
                Err(d) => {
                    errors.push(d);
                    result = Err(());
                    break;
                }
                Ok(ty) => match &first {
                    None => {
                        first = Some((ty.clone(), p.span()));
                        result = Ok(ty);
                    }
                    Some((known, known_span)) if *known != ty => {
                        errors.push(
                            Diagnostic::error(
                                codes::MIXED_ARGS,
                                format!(
                                    "`{}` differs between the attach points of this probe",
                                    b.name()
                                ),
                            )
                            .primary(at, "ambiguous")
                            .secondary(*known_span, "one signature here")
                            .secondary(p.span(), "another here")
                            .help("split the probe into one block per attach point"),
                        );
                        result = Err(());
                        break;
                    }
                    Some(_) => {}
                },
            }
        }
        // A copy of a pattern's probe for one more binary (see `expand`) has no pending form:
        // when its binary cannot give the value, that binary alone is left out.
        let copy = self.providers.iter().all(|p| p.expanded_binary().is_some());
        if first.is_none() && errors.is_empty() && !copy {
            // No binary of the pattern gives it: that is the error.
            errors.extend(left_out.drain(..).map(|(_, d)| d));
        }
        for (i, d) in left_out {
            // A pattern goes on with the binaries that agree; this one is not traced.
            let binary = self.providers[i].expanded_binary().unwrap_or_default();
            let mut warning =
                Diagnostic::warning(d.code, format!("not tracing {binary}: {}", d.message));
            warning.labels = d.labels;
            warning.notes = d.notes;
            self.error(warning);
            self.left_out.push(i);
        }
        for d in errors {
            self.error(d);
        }
        if b == Builtin::Args {
            self.args = Some(result.clone());
        } else {
            self.ret = Some(result.clone());
        }
        result.unwrap_or(Type::Unknown)
    }

    fn check_register(&mut self, arg: &Expr) {
        const REGISTERS: &[&str] = &[
            "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11",
            "r12", "r13", "r14", "r15", "rip", "ip", "sp", "bp", "flags", "orig_rax", "cs", "ss",
        ];
        if let ExprKind::Str(name) = &arg.kind
            && !REGISTERS.contains(&name.as_str())
        {
            let mut d = Diagnostic::error(codes::ARG_TYPE, format!("unknown register `{name}`"))
                .primary(arg.span, "not an x86-64 register");
            if let Some(guess) = did_you_mean(name, REGISTERS.iter().copied()) {
                d = d.help(format!("did you mean `{guess}`?"));
            }
            self.error(d);
        }
    }

    fn printf(&mut self, args: &[Expr]) {
        let Some((format_arg, values)) = args.split_first() else {
            return;
        };
        let ExprKind::Str(format) = &format_arg.kind else {
            return;
        };
        let pieces = match printf::parse(format) {
            Ok(pieces) => pieces,
            Err((_, message)) => {
                self.error(
                    Diagnostic::error(codes::PRINTF_FORMAT, format!("bad printf format: {message}"))
                        .primary(format_arg.span, message)
                        .note("conversions: %d %i %u %x %X %o %c %s %p %r, with flags, width and `l`/`ll`"),
                );
                return;
            }
        };
        let conversions: Vec<&printf::Conversion> = printf::conversions(&pieces).collect();
        if conversions.len() != values.len() {
            let mut d = Diagnostic::error(
                codes::PRINTF_ARGS,
                format!(
                    "the format has {} conversion(s) but {} value(s) were given",
                    conversions.len(),
                    values.len()
                ),
            )
            .primary(
                format_arg.span,
                format!("{} conversion(s)", conversions.len()),
            );
            for extra in values.iter().skip(conversions.len()) {
                d = d.secondary(extra.span, "no conversion for this value");
            }
            self.error(d);
            return;
        }
        for (conversion, value) in conversions.iter().zip(values) {
            let ty = &value.ty;
            let ok = match conversion.accepts() {
                printf::Accepts::Integer => {
                    matches!(ty, Type::Int(_) | Type::Ptr(..) | Type::Unknown)
                }
                printf::Accepts::Pointer => {
                    matches!(ty, Type::Int(_) | Type::Ptr(..) | Type::Unknown)
                }
                printf::Accepts::Buffer => {
                    matches!(ty, Type::Buf { .. } | Type::Str { .. } | Type::Unknown)
                }
                printf::Accepts::Text => is_storable(ty) || matches!(ty, Type::Unknown),
            };
            if !ok {
                let mut d = Diagnostic::error(
                    codes::PRINTF_ARGS,
                    format!("`%{}` cannot print {}", conversion.conversion, describe(ty)),
                )
                .primary(value.span, format!("this is {}", describe(ty)))
                .secondary(
                    format_arg.span,
                    format!("`%{}` in this format", conversion.conversion),
                );
                if matches!(ty, Type::Str { .. } | Type::GoString) {
                    d = d.help("use `%s` for strings");
                } else if matches!(ty, Type::Ptr(..)) && conversion.conversion == 's' {
                    d = d.help("read the string first: `str(p)`");
                }
                self.error(d);
            }
        }
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
