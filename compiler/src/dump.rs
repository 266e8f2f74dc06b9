//! `gprobe -d ast`: the (checked) AST as an indented tree, one node per line, with each
//! expression's type when known and each node's `line:col`.

use crate::ast::*;
use crate::types::{IntType, Type};
use std::fmt::Write as _;

pub fn ast(program: &Program, source: &str) -> String {
    let mut dumper = Dumper {
        out: String::new(),
        source,
        depth: 0,
    };
    dumper.line("Program".to_string(), program.span);
    dumper.depth += 1;
    dumper.c_types(&program.c_types);
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

/// A C type of the program's, for the dump: `*struct foo`, `i8[16]`, `enum u32`.
fn c_type_name(t: &crate::ctypes::CType) -> String {
    use crate::ctypes::CType;
    match t {
        CType::Int { int, char: true } => format!("char {}", type_name(&Type::Int(*int))),
        CType::Int { int, .. } => type_name(&Type::Int(*int)),
        CType::Enum(int) => format!("enum {}", type_name(&Type::Int(*int))),
        CType::Bool => "bool".into(),
        CType::Float(n) => format!("float{}", n * 8),
        CType::Void => "void".into(),
        CType::Func => "fn".into(),
        CType::Ptr(inner) => format!("*{}", c_type_name(inner)),
        // C order: `char grid[3][5]` is `char i8[3][5]`.
        CType::Array(..) => {
            let (mut t, mut dims) = (t, String::new());
            while let CType::Array(elem, n) = t {
                dims.push_str(&format!("[{n}]"));
                t = elem;
            }
            format!("{}{dims}", c_type_name(t))
        }
        CType::Record(key) => key.clone(),
    }
}

use crate::types::type_name;

impl Dumper<'_> {
    fn line(&mut self, text: String, span: crate::span::Span) {
        let (line, col) = line_col(self.source, span.start as usize);
        let _ = writeln!(self.out, "{}{text}  @{line}:{col}", "  ".repeat(self.depth));
    }

    /// The program's C types with their layouts: `sizeof`, alignment and each member's offset
    /// (`byte` or `byte.bit:width` for bit-fields), as gcc lays them out.
    fn c_types(&mut self, c: &crate::ctypes::CTypes) {
        let pad = "  ".repeat(self.depth);
        for key in &c.order {
            let Some(r) = c.records.get(key) else {
                continue;
            };
            let _ = writeln!(self.out, "{pad}C {key}: size {} align {}", r.size, r.align);
            for m in &r.members {
                let at = match m.bits {
                    Some(bits) => format!("{}.{}:{bits}", m.offset_bits / 8, m.offset_bits % 8),
                    None => format!("{}", m.offset_bits / 8),
                };
                let name = m.name.as_deref().unwrap_or("(anonymous)");
                let _ = writeln!(self.out, "{pad}  {name} @{at} : {}", c_type_name(&m.ty));
            }
        }
        for (name, t) in &c.typedefs {
            let _ = writeln!(self.out, "{pad}C typedef {name} = {}", c_type_name(t));
        }
        for (name, v) in &c.enumerators {
            let _ = writeln!(self.out, "{pad}C enumerator {name} = {v}");
        }
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
            ExprKind::IncDec { inc, post, .. } => format!(
                "IncDec {}{}",
                if *post { "post" } else { "pre" },
                if *inc { "++" } else { "--" }
            ),
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
            | ExprKind::IncDec { target: expr, .. }
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
        ProbeKind::RawTracepoint { name, glob } => format!(
            "rawtracepoint {:?}{}",
            name.node,
            if *glob { " glob" } else { "" }
        ),
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
            armed_at,
            len,
            mode,
            is_async,
        } => format!(
            "{} {} len={len} mode={}",
            if *is_async {
                "asyncwatchpoint"
            } else {
                "watchpoint"
            },
            match armed_at {
                Some((function, n)) => format!("at={}+arg{n}", function.node),
                None => format!("address={address:#x}"),
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
