//! A recipe run node-wide (no `-p`/`-c`): the same program over every Go process of the host.
//! Two rewrites before checking make it so:
//!
//! - a uprobe without a binary (which means "the target") becomes `uprobe:*:FUNC`, every Go
//!   binary with FUNC, running now or started later;
//! - every map gains the process as its first key (`@requests[m, p, s]` becomes
//!   `@requests[pid, m, p, s]`, `@busy` becomes `@busy[pid]`), so each process keeps its own
//!   figures — and goroutine-keyed bookkeeping (`@req[goid]`) cannot mix two processes'
//!   goroutines, whose ids collide. Whole-map operations (`print`, `clear`, `zero`) stay as they
//!   are; `delete(@m)` of a map that had no keys clears it (every process's value).
//!
//! The spans of inserted nodes are the map reference's, so diagnostics still point at the
//! source the user can read.

use crate::ast::{AttachPoint, Block, Expr, ExprKind, MapRef, Name, ProbeKind, Program, StmtKind};
use crate::span::Span;
use crate::types::Type;

/// Makes binary-less uprobes patterns over every Go binary (see the module docs).
pub fn uprobes_on_every_binary(program: &mut Program) {
    for probe in &mut program.probes {
        for AttachPoint { kind, span, .. } in &mut probe.attach {
            if let ProbeKind::Uprobe { binary, .. } = kind
                && binary.is_none()
            {
                *binary = Some(Name {
                    node: "*".into(),
                    span: Span {
                        start: span.start,
                        end: span.start,
                    },
                });
            }
        }
    }
}

/// Gives every map the process as its first key (see the module docs).
pub fn key_maps_by_process(program: &mut Program) {
    for probe in &mut program.probes {
        if let Some(pred) = &mut probe.predicate {
            expr(pred);
        }
        block(&mut probe.body);
    }
}

fn block(b: &mut Block) {
    for stmt in &mut b.stmts {
        match &mut stmt.kind {
            StmtKind::Expr(e) => {
                if let Some(cleared) = delete_of_keyless_map(e) {
                    *e = cleared;
                } else {
                    expr(e);
                }
            }
            StmtKind::AssignVar { value, .. } => expr(value),
            StmtKind::AssignMap { map, value, .. } => {
                map_ref(map);
                expr(value);
            }
            StmtKind::If { cond, then, els } => {
                expr(cond);
                block(then);
                if let Some(els) = els {
                    block(els);
                }
            }
            StmtKind::Unroll { body, .. } => block(body),
            StmtKind::While { cond, body } => {
                expr(cond);
                block(body);
            }
            StmtKind::Return => {}
            StmtKind::Block(b) => block(b),
        }
    }
}

/// `delete(@m)` (a map used without keys): every process's value goes, so `clear(@m)`.
fn delete_of_keyless_map(e: &Expr) -> Option<Expr> {
    let ExprKind::Call { func, args } = &e.kind else {
        return None;
    };
    match args.as_slice() {
        [arg]
            if func.node == "delete"
                && matches!(&arg.kind, ExprKind::Map(m) if m.keys.is_empty()) =>
        {
            Some(Expr {
                kind: ExprKind::Call {
                    func: Name {
                        node: "clear".into(),
                        span: func.span,
                    },
                    args: args.clone(),
                },
                span: e.span,
                ty: Type::Unknown,
            })
        }
        _ => None,
    }
}

/// Calls whose map argument means the whole map, not one of its values.
fn takes_whole_map(func: &str) -> bool {
    matches!(func, "print" | "clear" | "zero")
}

fn map_ref(m: &mut MapRef) {
    for k in &mut m.keys {
        expr(k);
    }
    m.keys.insert(
        0,
        Expr {
            kind: ExprKind::Ident("pid".into()),
            span: m.span,
            ty: Type::Unknown,
        },
    );
}

fn expr(e: &mut Expr) {
    match &mut e.kind {
        ExprKind::Map(m) => map_ref(m),
        ExprKind::Call { func, args } => {
            let whole = takes_whole_map(&func.node);
            for (i, a) in args.iter_mut().enumerate() {
                if whole && i == 0 && matches!(a.kind, ExprKind::Map(_)) {
                    continue;
                }
                expr(a);
            }
        }
        ExprKind::Builtin { args, .. } => args.iter_mut().for_each(expr),
        ExprKind::Unary { expr: inner, .. }
        | ExprKind::Cast { expr: inner, .. }
        | ExprKind::SizeofExpr(inner)
        | ExprKind::IncDec { target: inner, .. }
        | ExprKind::Field { expr: inner, .. } => expr(inner),
        ExprKind::Binary { lhs, rhs, .. } => {
            expr(lhs);
            expr(rhs);
        }
        ExprKind::Ternary { cond, then, els } => {
            expr(cond);
            expr(then);
            expr(els);
        }
        ExprKind::Index { expr: inner, index } => {
            expr(inner);
            expr(index);
        }
        ExprKind::Tuple(items) => items.iter_mut().for_each(expr),
        ExprKind::Record(fields) => fields.iter_mut().for_each(|(_, v)| expr(v)),
        ExprKind::Int(_)
        | ExprKind::Str(_)
        | ExprKind::Positional(_)
        | ExprKind::PositionalCount
        | ExprKind::Var(_)
        | ExprKind::SizeofType(_)
        | ExprKind::Offsetof { .. }
        | ExprKind::Ident(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(src: &str) -> String {
        let mut program = crate::parse(src).expect("parses");
        uprobes_on_every_binary(&mut program);
        key_maps_by_process(&mut program);
        crate::dump::ast(&program, src)
    }

    #[test]
    fn maps_gain_the_process_and_uprobes_every_binary() {
        let out = rewritten(
            "uprobe:main.f { @busy += 1; @req[goid] = nsecs; $x = @req[goid]; print(@busy); }
             END { clear(@req); delete(@busy); }",
        );
        assert!(out.contains("binary=\"*\""), "{out}");
        // Every map reference starts with `pid`; the whole-map arguments do not.
        assert_eq!(out.matches("Ident pid").count(), 3, "{out}");
        assert_eq!(out.matches("Call clear").count(), 2, "{out}");
        assert!(!out.contains("Call delete"), "{out}");
    }
}
