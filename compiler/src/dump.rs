//! `gprobe -d ast`: the (checked) AST as an indented tree, one node per line, with each
//! expression's type when known and each node's `line:col`.

use crate::ast::*;
use crate::types::{AggKind, IntType, StackKind, Type};
use std::fmt::Write as _;

pub fn ast(program: &Program, source: &str) -> String {
    let mut dumper = Dumper {
        out: String::new(),
        source,
        depth: 0,
    };
    dumper.line("Program".to_string(), program.span);
    dumper.depth += 1;
    for probe in &program.probes {
        dumper.probe(probe);
    }
    dumper.out
}

struct Dumper<'a> {
    out: String,
    source: &'a str,
    depth: usize,
}

/// A type as a user would write it: `u32`, `string[16]`, `(u64, string[16])`, `*i8`.
pub fn type_name(ty: &Type) -> String {
    match ty {
        Type::Unknown => "?".into(),
        Type::Void => "void".into(),
        Type::Int(IntType { bits, signed }) => format!("{}{bits}", if *signed { "i" } else { "u" }),
        Type::Str { size } => format!("string[{size}]"),
        Type::Buf { size } => format!("buf[{size}]"),
        Type::Bytes { len } => format!("u8[{len}]"),
        Type::SqlText { size } => format!("sqltext[{size}]"),
        Type::Tuple(items) => format!(
            "({})",
            items.iter().map(type_name).collect::<Vec<_>>().join(", ")
        ),
        Type::Record(fields) => format!(
            "({})",
            fields
                .iter()
                .map(|(n, t)| format!("{n}: {}", type_name(t)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Type::Ptr(inner, _) => format!("*{}", type_name(inner)),
        Type::Array { elem, len } => format!("{}[{len}]", type_name(elem)),
        Type::BitField { int, bits, .. } => format!("{}:{bits}", type_name(&Type::Int(*int))),
        Type::Struct(s) if s.name.is_empty() => "struct (anonymous)".into(),
        Type::Struct(s) => format!("struct {}", s.name),
        Type::Named(n) => n.clone(),
        Type::GoString => "go string".into(),
        Type::GoSlice(elem) => format!("[]{}", type_name(elem)),
        Type::GoInterface => "go interface".into(),
        Type::Stack { kind, limit } => {
            let k = match kind {
                StackKind::User => "ustack",
                StackKind::Kernel => "kstack",
                StackKind::Go => "gostack",
            };
            format!("{k}[{limit}]")
        }
        Type::Timestamp { format } => format!("timestamp(\"{format}\")"),
        Type::GoPc => "gopc".into(),
        Type::Rendered(render) => format!("{render:?}").to_lowercase(),
        Type::Sym { user: true } => "usym".into(),
        Type::Sym { user: false } => "ksym".into(),
        Type::GoCaller => "gocaller".into(),
        Type::Inet => "inet".into(),
        Type::Coded(code) => format!("{code:?} name").to_lowercase(),
        Type::Agg(kind) => match kind {
            AggKind::Lhist { min, max, step } => format!("lhist({min}, {max}, {step})"),
            other => format!("{other:?}").to_lowercase(),
        },
    }
}

impl Dumper<'_> {
    fn line(&mut self, text: String, span: crate::span::Span) {
        let (line, col) = line_col(self.source, span.start as usize);
        let _ = writeln!(self.out, "{}{text}  @{line}:{col}", "  ".repeat(self.depth));
    }

    fn nested(&mut self, f: impl FnOnce(&mut Self)) {
        self.depth += 1;
        f(self);
        self.depth -= 1;
    }

    fn probe(&mut self, probe: &Probe) {
        self.line("Probe".into(), probe.span);
        self.nested(|d| {
            for attach in &probe.attach {
                let expansion = match &attach.expansion {
                    None => String::new(),
                    Some(crate::ast::Expansion::Pending { pattern, matched }) => {
                        format!(" (pattern {pattern:?}: pending, {matched} matched)")
                    }
                    Some(crate::ast::Expansion::Binary { pattern }) => {
                        format!(" (from pattern {pattern:?})")
                    }
                };
                d.line(
                    format!("attach {}{expansion}", probe_kind(&attach.kind)),
                    attach.span,
                );
            }
            if let Some(pred) = &probe.predicate {
                d.line("predicate".into(), pred.span);
                d.nested(|d| d.expr(pred));
            }
            d.block("body", &probe.body);
        });
    }

    fn block(&mut self, label: &str, block: &Block) {
        self.line(label.to_string(), block.span);
        self.nested(|d| {
            for stmt in &block.stmts {
                d.stmt(stmt);
            }
        });
    }

    fn stmt(&mut self, stmt: &Stmt) {
        let op = |op: &Option<BinOp>| op.map_or("=".to_string(), |o| format!("{}=", o.symbol()));
        match &stmt.kind {
            StmtKind::Expr(e) => {
                self.line("ExprStmt".into(), stmt.span);
                self.nested(|d| d.expr(e));
            }
            StmtKind::AssignVar { var, op: o, value } => {
                self.line(format!("AssignVar ${} {}", var.node, op(o)), stmt.span);
                self.nested(|d| d.expr(value));
            }
            StmtKind::AssignMap { map, op: o, value } => {
                self.line(format!("AssignMap @{} {}", map.name.node, op(o)), stmt.span);
                self.nested(|d| {
                    d.keys(&map.keys);
                    d.expr(value);
                });
            }
            StmtKind::If { cond, then, els } => {
                self.line("If".into(), stmt.span);
                self.nested(|d| {
                    d.expr(cond);
                    d.block("then", then);
                    if let Some(els) = els {
                        d.block("else", els);
                    }
                });
            }
            StmtKind::Unroll { count, body } => {
                self.line(format!("Unroll {count}"), stmt.span);
                self.nested(|d| d.block("body", body));
            }
            StmtKind::While { cond, body } => {
                self.line("While".into(), stmt.span);
                self.nested(|d| {
                    d.expr(cond);
                    d.block("body", body);
                });
            }
            StmtKind::Return => self.line("Return".into(), stmt.span),
            StmtKind::Block(block) => self.block("Block", block),
        }
    }

    fn keys(&mut self, keys: &[Expr]) {
        if keys.is_empty() {
            return;
        }
        let span = keys[0].span.to(keys[keys.len() - 1].span);
        self.line("keys".into(), span);
        self.nested(|d| keys.iter().for_each(|k| d.expr(k)));
    }

    fn expr(&mut self, e: &Expr) {
        let ty = match &e.ty {
            Type::Unknown => String::new(),
            t => format!(" : {}", type_name(t)),
        };
        let text = match &e.kind {
            ExprKind::Int(n) => {
                if matches!(e.ty, Type::Int(IntType { signed: true, .. })) && (*n as i64) < 0 {
                    format!("Int {}", *n as i64)
                } else {
                    format!("Int {n}")
                }
            }
            ExprKind::Str(s) => format!("Str {s:?}"),
            ExprKind::Positional(n) => format!("Positional ${n}"),
            ExprKind::PositionalCount => "PositionalCount $#".into(),
            ExprKind::Var(v) => format!("Var ${v}"),
            ExprKind::Map(m) => format!("Map @{}", m.name.node),
            ExprKind::Ident(name) => format!("Ident {name}"),
            ExprKind::Call { func, .. } => format!("Call {}", func.node),
            ExprKind::Builtin { builtin, .. } => format!("Builtin {}", builtin.name()),
            ExprKind::Unary { op, .. } => format!("Unary {op:?}"),
            ExprKind::Binary { op, .. } => format!("Binary {}", op.symbol()),
            ExprKind::Ternary { .. } => "Ternary".into(),
            ExprKind::Cast { to, .. } => format!(
                "Cast ({}{})",
                to.name,
                " *".repeat(to.pointer_depth as usize)
            ),
            ExprKind::Field { name, arrow, .. } => {
                format!("Field {}{}", if *arrow { "->" } else { "." }, name.node)
            }
            ExprKind::Index { .. } => "Index".into(),
            ExprKind::SizeofType(t) => format!(
                "Sizeof ({}{})",
                t.name,
                " *".repeat(t.pointer_depth as usize)
            ),
            ExprKind::SizeofExpr(_) => "Sizeof".into(),
            ExprKind::Offsetof { ty, path } => format!(
                "Offsetof ({}, {})",
                ty.name,
                path.iter()
                    .map(|n| n.node.as_str())
                    .collect::<Vec<_>>()
                    .join(".")
            ),
            ExprKind::Tuple(_) => "Tuple".into(),
            ExprKind::Record(_) => "Record".into(),
        };
        self.line(format!("{text}{ty}"), e.span);
        self.nested(|d| match &e.kind {
            ExprKind::Map(m) => d.keys(&m.keys),
            ExprKind::Call { args, .. }
            | ExprKind::Builtin { args, .. }
            | ExprKind::Tuple(args) => args.iter().for_each(|a| d.expr(a)),
            ExprKind::Unary { expr, .. }
            | ExprKind::Cast { expr, .. }
            | ExprKind::SizeofExpr(expr)
            | ExprKind::Field { expr, .. } => d.expr(expr),
            ExprKind::Binary { lhs, rhs, .. } => {
                d.expr(lhs);
                d.expr(rhs);
            }
            ExprKind::Ternary { cond, then, els } => {
                d.expr(cond);
                d.expr(then);
                d.expr(els);
            }
            ExprKind::Index { expr, index } => {
                d.expr(expr);
                d.expr(index);
            }
            ExprKind::Record(fields) => {
                for (name, value) in fields {
                    d.line(format!("{} =", name.node), name.span);
                    d.nested(|d| d.expr(value));
                }
            }
            _ => {}
        });
    }
}

pub fn probe_kind(kind: &ProbeKind) -> String {
    match kind {
        ProbeKind::Begin => "BEGIN".into(),
        ProbeKind::End => "END".into(),
        ProbeKind::Interval { period_ns } => format!("interval every {period_ns}ns"),
        ProbeKind::Profile {
            rate: ProfileRate::Hz(hz),
        } => format!("profile at {hz}Hz"),
        ProbeKind::Profile {
            rate: ProfileRate::PeriodNs(ns),
        } => format!("profile every {ns}ns"),
        ProbeKind::Tracepoint { category, name } => {
            format!("tracepoint {}:{}", category.node, name.node)
        }
        ProbeKind::Uprobe {
            ret,
            binary,
            function,
            glob,
            offset,
        } => format!(
            "{} binary={} function={:?}{}{}",
            if *ret { "uretprobe" } else { "uprobe" },
            binary
                .as_ref()
                .map_or("(target)".to_string(), |b| format!("{:?}", b.node)),
            function.node,
            if *glob { " glob" } else { "" },
            offset.map_or(String::new(), |o| format!(" offset={o:#x}")),
        ),
        ProbeKind::Kprobe {
            ret,
            function,
            glob,
            offset,
        } => format!(
            "{} function={:?}{}{}",
            if *ret { "kretprobe" } else { "kprobe" },
            function.node,
            if *glob { " glob" } else { "" },
            offset.map_or(String::new(), |o| format!(" offset={o:#x}")),
        ),
        ProbeKind::Software { event, count } => {
            format!("software event={} count={count}", event.node)
        }
        ProbeKind::Hardware { event, count } => {
            format!("hardware event={} count={count}", event.node)
        }
        ProbeKind::Watchpoint {
            address,
            len,
            mode,
            is_async,
        } => format!(
            "{} address={address:#x} len={len} mode={}",
            if *is_async {
                "asyncwatchpoint"
            } else {
                "watchpoint"
            },
            mode.node
        ),
        ProbeKind::Usdt {
            binary,
            provider,
            name,
        } => format!(
            "usdt binary={} provider={} name={:?}",
            binary
                .as_ref()
                .map_or("(target)".to_string(), |b| format!("{:?}", b.node)),
            provider
                .as_ref()
                .map_or("(any)".to_string(), |p| format!("{:?}", p.node)),
            name.node,
        ),
        ProbeKind::Unsupported { provider, parts } => format!(
            "unsupported {}:{}",
            provider.node,
            parts
                .iter()
                .map(|p| p.node.as_str())
                .collect::<Vec<_>>()
                .join(":")
        ),
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}
