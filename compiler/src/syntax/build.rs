//! Pest pairs → AST. Errors found here (bad literals, malformed attach points) are collected so
//! one run reports all of them; the offending node is replaced by a harmless placeholder.

use super::attach::{self, Part};
use super::literal;
use super::preprocess::{self, Macros};
use super::{GrammarParser, Rule};
use crate::ast::*;
use crate::diag::{Diagnostic, codes};
use crate::span::{Span, Spanned};
use crate::types::Type;
use pest::Parser as _;
use pest::iterators::Pair;
use std::rc::Rc;

/// Operators in one flat expression; bounds the depth of the tree later phases recurse on.
const MAX_OPERATORS: usize = 256;

/// How deep macros may expand into macros (a macro naming itself stops here too).
const MAX_MACRO_DEPTH: usize = 32;

#[derive(Default)]
pub struct Builder {
    pub errors: Vec<Diagnostic>,
    macros: Rc<Macros>,
    positional: Vec<String>,
    /// Macros being expanded, innermost last.
    expanding: Vec<String>,
}

pub(super) fn span_of(pair: &Pair<Rule>) -> Span {
    let s = pair.as_span();
    Span::new(s.start(), s.end())
}

fn expr(kind: ExprKind, span: Span) -> Expr {
    Expr {
        kind,
        span,
        ty: Type::Unknown,
    }
}

impl Builder {
    pub fn new(macros: Rc<Macros>, positional: Vec<String>) -> Builder {
        Builder {
            macros,
            positional,
            ..Builder::default()
        }
    }

    /// `$N` in an attach point is replaced by the parameter's text (nothing when unset), as
    /// bpftrace does: `BEG$1`, `interval:ms:$1`, `uprobe:$1:main.f`.
    fn with_positionals(&self, text: &str) -> String {
        if !text.contains('$') {
            return text.to_string();
        }
        let mut out = String::new();
        let mut rest = text;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let digits = rest[i + 1..]
                .find(|c: char| !c.is_ascii_digit())
                .map_or(rest.len() - i - 1, |n| n);
            match rest[i + 1..i + 1 + digits].parse::<usize>() {
                Ok(n) if n > 0 => {
                    out.push_str(self.positional.get(n - 1).map_or("", String::as_str))
                }
                _ => out.push_str(&rest[i..i + 1 + digits]),
            }
            rest = &rest[i + 1 + digits..];
        }
        out.push_str(rest);
        out
    }

    /// A macro's expansion parsed as an expression; every node carries the use's span.
    fn expand_macro(&mut self, name: &str, text: &str, span: Span) -> Option<Expr> {
        if self.expanding.len() >= MAX_MACRO_DEPTH || self.expanding.iter().any(|m| m == name) {
            self.errors.push(
                Diagnostic::error(
                    codes::BAD_MACRO,
                    format!("macro `{name}` expands into itself"),
                )
                .primary(span, "in this expansion"),
            );
            return Some(expr(ExprKind::Int(0), span));
        }
        let body = text.trim();
        if body.is_empty() {
            self.errors.push(
                Diagnostic::error(codes::BAD_MACRO, format!("macro `{name}` is empty"))
                    .primary(span, "used as a value here"),
            );
            return Some(expr(ExprKind::Int(0), span));
        }
        let parsed = GrammarParser::parse(Rule::macro_expr, body);
        let Some(pair) = parsed
            .ok()
            .and_then(|mut p| p.next())
            .and_then(|p| p.into_inner().next())
        else {
            self.errors.push(
                Diagnostic::error(
                    codes::BAD_MACRO,
                    format!("macro `{name}` does not expand to an expression"),
                )
                .primary(span, format!("expands to `{body}`"))
                .note("gprobe expands macros that stand for values, e.g. `#define AF_INET 2`"),
            );
            return Some(expr(ExprKind::Int(0), span));
        };
        self.expanding.push(name.to_string());
        let errors_before = self.errors.len();
        let mut e = self.expr(pair);
        self.expanding.pop();
        // Spans inside the expansion are offsets into the macro's body: point at the use.
        for d in &mut self.errors[errors_before..] {
            for label in &mut d.labels {
                label.span = span;
            }
        }
        respan(&mut e, span);
        Some(e)
    }

    pub fn program(&mut self, pair: Pair<Rule>) -> Program {
        let span = span_of(&pair);
        let mut probes = Vec::new();
        let mut c_defs = Vec::new();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::probe => probes.push(self.probe(p)),
                Rule::c_def => c_defs.extend(self.c_def(p)),
                _ => {}
            }
        }
        Program {
            probes,
            c_defs,
            c_types: Default::default(),
            span,
        }
    }

    fn probe(&mut self, pair: Pair<Rule>) -> Probe {
        let span = span_of(&pair);
        let mut attach = Vec::new();
        let mut predicate = None;
        let mut body = Block {
            stmts: Vec::new(),
            span,
        };
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::attach_list => {
                    attach = inner.into_inner().filter_map(|a| self.attach(a)).collect()
                }
                Rule::predicate => predicate = inner.into_inner().next().map(|e| self.expr(e)),
                Rule::block => body = self.block(inner),
                _ => {}
            }
        }
        Probe {
            attach,
            predicate,
            body,
            span,
        }
    }

    fn attach(&mut self, pair: Pair<Rule>) -> Option<AttachPoint> {
        let span = span_of(&pair);
        let mut parts = Vec::new();
        let mut offset = None;
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::attach_part => {
                    let mut pieces = inner.into_inner();
                    let part = pieces.next()?;
                    let (mut text, mut part_span, quoted) = match part.as_rule() {
                        Rule::quoted_part => {
                            let body = part.into_inner().next()?;
                            (body.as_str().to_string(), span_of(&body), true)
                        }
                        _ => (part.as_str().to_string(), span_of(&part), false),
                    };
                    if let Some(arg) = pieces.next() {
                        text.push_str(arg.as_str());
                        part_span = Span::new(part_span.start as usize, span_of(&arg).end as usize);
                    }
                    parts.push(Part {
                        text: self.with_positionals(&text),
                        span: part_span,
                        quoted,
                    });
                }
                Rule::attach_offset => {
                    let lit = inner.clone().into_inner().next()?;
                    match literal::int(lit.as_str()) {
                        Ok(value) => offset = Some((value, span_of(&inner))),
                        Err(message) => {
                            self.errors.push(
                                Diagnostic::error(codes::BAD_LITERAL, message)
                                    .primary(span_of(&lit), "bad offset"),
                            );
                            return None;
                        }
                    }
                }
                _ => {}
            }
        }
        if parts.is_empty() {
            return None;
        }
        match attach::probe_kind(parts, offset, span) {
            Ok(kind) => Some(AttachPoint {
                kind,
                span,
                expansion: None,
            }),
            Err(diagnostic) => {
                self.errors.push(diagnostic);
                None
            }
        }
    }

    fn block(&mut self, pair: Pair<Rule>) -> Block {
        let span = span_of(&pair);
        let stmts = pair.into_inner().filter_map(|s| self.stmt(s)).collect();
        Block { stmts, span }
    }

    fn stmt(&mut self, pair: Pair<Rule>) -> Option<Stmt> {
        let span = span_of(&pair);
        let rule = pair.as_rule();
        let mut inner = pair.into_inner();
        let kind = match rule {
            Rule::block => {
                // `into_inner` consumed the pair; rebuild the block from its statements.
                let stmts = inner.filter_map(|s| self.stmt(s)).collect();
                StmtKind::Block(Block { stmts, span })
            }
            Rule::if_stmt => self.if_stmt(inner),
            Rule::unroll_stmt => {
                inner.next(); // kw_unroll
                let count_pair = inner.next()?;
                let count_expr = self.expr(count_pair);
                let body = self.block(inner.next()?);
                let count = match count_expr.kind {
                    ExprKind::Int(n) => n,
                    ExprKind::Positional(n)
                        if let Some(v) = self
                            .positional
                            .get(n as usize - 1)
                            .and_then(|v| super::int_literal(v)) =>
                    {
                        v
                    }
                    _ => {
                        self.errors.push(
                            Diagnostic::error(
                                codes::BAD_UNROLL,
                                "`unroll` needs an integer literal",
                            )
                            .primary(count_expr.span, "not a literal")
                            .help("write the count directly, e.g. `unroll(8) { ... }`"),
                        );
                        1
                    }
                };
                StmtKind::Unroll { count, body }
            }
            Rule::while_stmt => {
                inner.next(); // kw_while
                let cond = self.expr(inner.next()?);
                let body = self.block(inner.next()?);
                StmtKind::While { cond, body }
            }
            Rule::return_stmt => StmtKind::Return,
            Rule::map_assign => {
                let map = self.map_ref(inner.next()?);
                let op = assign_op(inner.next()?.as_str());
                let value = self.expr(inner.next()?);
                StmtKind::AssignMap { map, op, value }
            }
            Rule::var_assign => {
                let var = var_name(inner.next()?);
                let op = assign_op(inner.next()?.as_str());
                let value = self.expr(inner.next()?);
                StmtKind::AssignVar { var, op, value }
            }
            Rule::map_incdec | Rule::var_incdec => {
                let (mut target, mut op_text, mut post) = (None, "++", false);
                for p in inner {
                    match p.as_rule() {
                        Rule::incdec_op => {
                            op_text = if p.as_str() == "++" { "++" } else { "--" };
                            post = target.is_some();
                        }
                        _ => target = Some(p),
                    }
                }
                let target = target?;
                let op = Some(if op_text == "++" {
                    BinOp::Add
                } else {
                    BinOp::Sub
                });
                let one = expr(ExprKind::Int(1), span);
                if rule == Rule::map_incdec {
                    StmtKind::AssignMap {
                        map: self.map_ref(target),
                        op,
                        value: one,
                    }
                } else {
                    // As the value form, so a narrow variable wraps at its width (bpftrace:
                    // a uint8 255 becomes 0); the value is unused.
                    let var = var_name(target);
                    StmtKind::Expr(expr(
                        ExprKind::IncDec {
                            target: Box::new(expr(ExprKind::Var(var.node), var.span)),
                            inc: op == Some(BinOp::Add),
                            post,
                        },
                        span,
                    ))
                }
            }
            Rule::expr_stmt => StmtKind::Expr(self.expr(inner.next()?)),
            _ => return None,
        };
        Some(Stmt { kind, span })
    }

    fn if_stmt(&mut self, mut inner: pest::iterators::Pairs<Rule>) -> StmtKind {
        inner.next(); // kw_if
        let cond = match inner.next() {
            Some(p) => self.expr(p),
            None => expr(ExprKind::Int(0), Span::default()),
        };
        let then = match inner.next() {
            Some(p) => self.block(p),
            None => Block {
                stmts: Vec::new(),
                span: cond.span,
            },
        };
        inner.next(); // kw_else
        let els = inner.next().map(|p| {
            if p.as_rule() == Rule::if_stmt {
                let span = span_of(&p);
                let nested = self.if_stmt(p.into_inner());
                Block {
                    stmts: vec![Stmt { kind: nested, span }],
                    span,
                }
            } else {
                self.block(p)
            }
        });
        StmtKind::If { cond, then, els }
    }

    fn map_ref(&mut self, pair: Pair<Rule>) -> MapRef {
        let span = span_of(&pair);
        let mut name = Spanned::new(
            String::new(),
            Span::new(span.start as usize, span.start as usize + 1),
        );
        let mut keys = Vec::new();
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::ident => {
                    // The name includes the `@` in its span so diagnostics underline `@name`.
                    name = Spanned::new(
                        inner.as_str().to_string(),
                        Span::new(span.start as usize, inner.as_span().end()),
                    );
                }
                Rule::map_keys => keys = inner.into_inner().map(|k| self.expr(k)).collect(),
                _ => {}
            }
        }
        MapRef { name, keys, span }
    }

    pub fn expr(&mut self, pair: Pair<Rule>) -> Expr {
        let span = span_of(&pair);
        match pair.as_rule() {
            Rule::expr => {
                let mut inner = pair.into_inner();
                let Some(first) = inner.next() else {
                    return expr(ExprKind::Int(0), span);
                };
                let cond = self.expr(first);
                match (inner.next(), inner.next()) {
                    (Some(then), Some(els)) => {
                        let then = self.expr(then);
                        let els = self.expr(els);
                        expr(
                            ExprKind::Ternary {
                                cond: Box::new(cond),
                                then: Box::new(then),
                                els: Box::new(els),
                            },
                            span,
                        )
                    }
                    _ => cond,
                }
            }
            Rule::binary => self.binary(pair),
            Rule::unary => self.unary(pair),
            Rule::postfix_expr => self.postfix_expr(pair),
            _ => self.primary(pair),
        }
    }

    /// Folds `unary (op unary)*` by C precedence (precedence climbing, left associative).
    fn binary(&mut self, pair: Pair<Rule>) -> Expr {
        let span = span_of(&pair);
        let mut operands = Vec::new();
        let mut ops = Vec::new();
        for inner in pair.into_inner() {
            match binop(inner.as_rule()) {
                Some(op) => ops.push(op),
                None => operands.push(self.expr(inner)),
            }
        }
        if ops.len() > MAX_OPERATORS {
            self.errors.push(
                Diagnostic::error(
                    codes::SYNTAX,
                    format!("expression has more than {MAX_OPERATORS} operators"),
                )
                .primary(span, "split it using variables"),
            );
            return expr(ExprKind::Int(0), span);
        }
        let mut operands = operands.into_iter();
        let Some(first) = operands.next() else {
            return expr(ExprKind::Int(0), Span::default());
        };
        let mut rest: Vec<(BinOp, Expr)> = ops.into_iter().zip(operands).collect();
        rest.reverse();
        climb(first, &mut rest, 0)
    }

    fn unary(&mut self, pair: Pair<Rule>) -> Expr {
        let mut prefixes = Vec::new();
        let mut operand = None;
        // `(is "++", after the operand, its span)`
        let mut incdec = None;
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::prefix => prefixes.push(inner),
                Rule::incdec_op => {
                    incdec = Some((inner.as_str() == "++", operand.is_some(), span_of(&inner)))
                }
                _ => operand = Some(self.expr(inner)),
            }
        }
        let mut result = operand.unwrap_or_else(|| expr(ExprKind::Int(0), Span::default()));
        if let Some((inc, post, op_span)) = incdec {
            result = self.incdec(result, inc, post, op_span);
        }
        // Prefix operators apply innermost-first (`-!x` is `-(!x)`).
        for prefix in prefixes.into_iter().rev() {
            let prefix_span = span_of(&prefix);
            let span = prefix_span.to(result.span);
            let Some(op) = prefix.into_inner().next() else {
                continue;
            };
            let kind = match op.as_rule() {
                Rule::neg => match result.kind {
                    // Fold `-literal` so `lhist(x, -10, 10, 1)` sees a constant.
                    ExprKind::Int(n) if n <= i64::MAX as u64 + 1 => {
                        ExprKind::Int((n as i64).wrapping_neg() as u64)
                    }
                    _ => ExprKind::Unary {
                        op: UnOp::Neg,
                        expr: Box::new(result),
                    },
                },
                Rule::not => ExprKind::Unary {
                    op: UnOp::Not,
                    expr: Box::new(result),
                },
                Rule::bit_not => ExprKind::Unary {
                    op: UnOp::BitNot,
                    expr: Box::new(result),
                },
                Rule::deref => ExprKind::Unary {
                    op: UnOp::Deref,
                    expr: Box::new(result),
                },
                Rule::cast => {
                    let Some(type_pair) = op.into_inner().next() else {
                        continue;
                    };
                    ExprKind::Cast {
                        to: type_name(type_pair),
                        expr: Box::new(result),
                    }
                }
                _ => continue,
            };
            result = expr(kind, span);
        }
        result
    }

    /// `++e` / `e--`: only a variable or a map element has a value to change (bpftrace: "The
    /// ++ operator must be applied to a map or variable").
    fn incdec(&mut self, target: Expr, inc: bool, post: bool, op_span: Span) -> Expr {
        let span = target.span.to(op_span);
        let symbol = if inc { "++" } else { "--" };
        if !matches!(target.kind, ExprKind::Var(_) | ExprKind::Map(_)) {
            self.errors.push(
                Diagnostic::error(
                    codes::BAD_OPERAND,
                    format!("`{symbol}` needs a variable or a map element"),
                )
                .primary(target.span, "this has no place to store a new value")
                .help(format!("write `$x{symbol}` or `@m[key]{symbol}`")),
            );
            return target;
        }
        expr(
            ExprKind::IncDec {
                target: Box::new(target),
                inc,
                post,
            },
            span,
        )
    }

    fn postfix_expr(&mut self, pair: Pair<Rule>) -> Expr {
        let mut inner = pair.into_inner();
        let Some(first) = inner.next() else {
            return expr(ExprKind::Int(0), Span::default());
        };
        let mut result = self.primary(first);
        for postfix in inner {
            let Some(op) = postfix.into_inner().next() else {
                continue;
            };
            let op_span = span_of(&op);
            let span = result.span.to(op_span);
            let rule = op.as_rule();
            let Some(arg) = op.into_inner().next() else {
                continue;
            };
            let kind = match rule {
                Rule::field_dot | Rule::field_arrow => ExprKind::Field {
                    expr: Box::new(result),
                    name: Spanned::new(arg.as_str().to_string(), span_of(&arg)),
                    arrow: rule == Rule::field_arrow,
                },
                _ => ExprKind::Index {
                    expr: Box::new(result),
                    index: Box::new(self.expr(arg)),
                },
            };
            result = expr(kind, span);
        }
        result
    }

    fn primary(&mut self, pair: Pair<Rule>) -> Expr {
        let span = span_of(&pair);
        let kind = match pair.as_rule() {
            Rule::int_lit => match literal::int(pair.as_str()) {
                Ok(value) => ExprKind::Int(value),
                Err(message) => {
                    self.errors.push(
                        Diagnostic::error(codes::BAD_LITERAL, message)
                            .primary(span, "this literal"),
                    );
                    ExprKind::Int(0)
                }
            },
            Rule::string => {
                let body = pair.into_inner().next();
                let text = body.as_ref().map_or("", |b| b.as_str());
                let body_start = body
                    .as_ref()
                    .map_or(span.start as usize, |b| b.as_span().start());
                match literal::string(text) {
                    Ok(value) => ExprKind::Str(value),
                    Err((at, message)) => {
                        let start = body_start + at;
                        let end = start
                            + text[at..]
                                .chars()
                                .take(2)
                                .map(char::len_utf8)
                                .sum::<usize>();
                        self.errors.push(
                            Diagnostic::error(codes::BAD_ESCAPE, message)
                                .primary(Span::new(start, end), "in this string")
                                .note("escapes: \\n \\t \\r \\\\ \\\" \\0 \\xHH \\NNN"),
                        );
                        ExprKind::Str(String::new())
                    }
                }
            }
            Rule::positional_count => ExprKind::PositionalCount,
            Rule::positional => match pair.as_str()[1..].parse::<u32>() {
                Ok(n) if n > 0 => ExprKind::Positional(n),
                _ => {
                    self.errors.push(
                        Diagnostic::error(
                            codes::BAD_POSITIONAL,
                            "positional parameters are `$1`, `$2`, ...",
                        )
                        .primary(span, "not a valid positional parameter"),
                    );
                    ExprKind::Positional(1)
                }
            },
            Rule::var => ExprKind::Var(pair.as_str()[1..].to_string()),
            Rule::map_ref => ExprKind::Map(self.map_ref(pair)),
            Rule::sizeof_expr => {
                let Some(arg) = pair.into_inner().find(|p| p.as_rule() != Rule::kw_sizeof) else {
                    return expr(ExprKind::Int(0), span);
                };
                if arg.as_rule() == Rule::type_name {
                    ExprKind::SizeofType(type_name(arg))
                } else {
                    ExprKind::SizeofExpr(Box::new(self.expr(arg)))
                }
            }
            Rule::offsetof_expr => {
                let mut inner = pair
                    .into_inner()
                    .filter(|p| p.as_rule() != Rule::kw_offsetof);
                let Some(st) = inner.next() else {
                    return expr(ExprKind::Int(0), span);
                };
                let st_span = span_of(&st);
                let name = if st.as_rule() == Rule::typedef_name {
                    st.as_str().to_string()
                } else {
                    let mut parts = st.into_inner();
                    let tag = parts.next().map_or("struct", |k| k.as_str());
                    format!("{tag} {}", parts.next().map_or("", |i| i.as_str()))
                };
                ExprKind::Offsetof {
                    ty: TypeName {
                        name,
                        pointer_depth: 0,
                        span: st_span,
                    },
                    path: inner
                        .map(|f| Name {
                            node: f.as_str().to_string(),
                            span: span_of(&f),
                        })
                        .collect(),
                }
            }
            Rule::call => {
                let mut inner = pair.into_inner();
                let Some(func) = inner.next() else {
                    return expr(ExprKind::Int(0), span);
                };
                let name = func.as_str();
                if let Some(m) = self.macros.get(name).cloned() {
                    let Some(params) = &m.params else {
                        self.errors.push(
                            Diagnostic::error(
                                codes::BAD_MACRO,
                                format!("macro `{name}` takes no arguments"),
                            )
                            .primary(span, "called here"),
                        );
                        return expr(ExprKind::Int(0), span);
                    };
                    let args: Vec<String> = inner.map(|a| a.as_str().to_string()).collect();
                    if args.len() != params.len() {
                        self.errors.push(
                            Diagnostic::error(
                                codes::BAD_MACRO,
                                format!(
                                    "macro `{name}` takes {} argument(s), {} given",
                                    params.len(),
                                    args.len()
                                ),
                            )
                            .primary(span, "in this use"),
                        );
                        return expr(ExprKind::Int(0), span);
                    }
                    let text = preprocess::substitute(&m.body, params, &args);
                    let name = name.to_string();
                    return self
                        .expand_macro(&name, &text, span)
                        .unwrap_or_else(|| expr(ExprKind::Int(0), span));
                }
                let func = Spanned::new(name.to_string(), span_of(&func));
                let args = inner.map(|a| self.expr(a)).collect();
                ExprKind::Call { func, args }
            }
            Rule::ident_expr => {
                let name = pair.as_str();
                if let Some(m) = self.macros.get(name).cloned()
                    && m.params.is_none()
                {
                    let name = name.to_string();
                    return self
                        .expand_macro(&name, &m.body, span)
                        .unwrap_or_else(|| expr(ExprKind::Int(0), span));
                }
                ExprKind::Ident(name.to_string())
            }
            Rule::parens => {
                let has_comma = pair
                    .as_str()
                    .trim_end_matches(')')
                    .trim_end()
                    .ends_with(',');
                let mut items: Vec<Expr> = pair.into_inner().map(|e| self.expr(e)).collect();
                if items.len() == 1 && !has_comma {
                    // Parentheses only group; the inner expression keeps its own span.
                    return items.pop().unwrap_or_else(|| expr(ExprKind::Int(0), span));
                }
                ExprKind::Tuple(items)
            }
            Rule::record => ExprKind::Record(
                pair.into_inner()
                    .filter_map(|field| {
                        let mut inner = field.into_inner();
                        let name = inner.next()?;
                        let value = inner.next()?;
                        Some((
                            Spanned::new(name.as_str().to_string(), span_of(&name)),
                            self.expr(value),
                        ))
                    })
                    .collect(),
            ),
            Rule::expr | Rule::binary | Rule::unary | Rule::postfix_expr => return self.expr(pair),
            _ => ExprKind::Int(0),
        };
        expr(kind, span)
    }
}

/// Binding power of each binary operator (C precedence; higher binds tighter).
fn precedence(op: BinOp) -> u8 {
    use BinOp::*;
    match op {
        Or => 1,
        And => 2,
        BitOr => 3,
        BitXor => 4,
        BitAnd => 5,
        Eq | Ne => 6,
        Lt | Le | Gt | Ge => 7,
        Shl | Shr => 8,
        Add | Sub => 9,
        Mul | Div | Mod => 10,
    }
}

/// Precedence climbing over `rest` (reversed: the next operator is last).
fn climb(mut lhs: Expr, rest: &mut Vec<(BinOp, Expr)>, min: u8) -> Expr {
    while let Some((op, _)) = rest.last() {
        let prec = precedence(*op);
        if prec < min {
            break;
        }
        let Some((op, mut rhs)) = rest.pop() else {
            break;
        };
        while let Some((next, _)) = rest.last() {
            if precedence(*next) > prec {
                rhs = climb(rhs, rest, prec + 1);
            } else {
                break;
            }
        }
        let span = lhs.span.to(rhs.span);
        lhs = expr(
            ExprKind::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            },
            span,
        );
    }
    lhs
}

fn binop(rule: Rule) -> Option<BinOp> {
    use BinOp::*;
    Some(match rule {
        Rule::or => Or,
        Rule::and => And,
        Rule::bit_or => BitOr,
        Rule::bit_xor => BitXor,
        Rule::bit_and => BitAnd,
        Rule::eq => Eq,
        Rule::ne => Ne,
        Rule::le => Le,
        Rule::ge => Ge,
        Rule::shl => Shl,
        Rule::shr => Shr,
        Rule::lt => Lt,
        Rule::gt => Gt,
        Rule::add => Add,
        Rule::sub => Sub,
        Rule::mul => Mul,
        Rule::div => Div,
        Rule::rem => Mod,
        _ => return None,
    })
}

fn assign_op(text: &str) -> Option<BinOp> {
    use BinOp::*;
    match text {
        "+=" => Some(Add),
        "-=" => Some(Sub),
        "*=" => Some(Mul),
        "/=" => Some(Div),
        "%=" => Some(Mod),
        "&=" => Some(BitAnd),
        "|=" => Some(BitOr),
        "^=" => Some(BitXor),
        "<<=" => Some(Shl),
        ">>=" => Some(Shr),
        _ => None,
    }
}

fn var_name(pair: Pair<Rule>) -> Name {
    Spanned::new(
        pair.as_str().trim_start_matches('$').to_string(),
        span_of(&pair),
    )
}

fn type_name(pair: Pair<Rule>) -> TypeName {
    let span = span_of(&pair);
    let mut name = String::new();
    let mut pointer_depth = 0u8;
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::ptr_star => pointer_depth = pointer_depth.saturating_add(1),
            Rule::struct_type => {
                let mut parts = inner.into_inner();
                let tag = parts.next().map_or("struct", |k| k.as_str());
                let ident = parts
                    .next()
                    .map_or("", |i| i.as_str())
                    .trim_matches('"')
                    .to_string();
                name = format!("{tag} {ident}");
            }
            // `unsigned   long` is `unsigned long`.
            Rule::c_base_type => {
                name = inner
                    .into_inner()
                    .map(|w| w.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            }
            Rule::typedef_ptr => {
                name = inner
                    .into_inner()
                    .next()
                    .map_or("", |i| i.as_str())
                    .to_string()
            }
            _ => name = inner.as_str().to_string(),
        }
    }
    TypeName {
        name,
        pointer_depth,
        span,
    }
}

/// Gives every node of `e` the span `span` (a macro's expansion points at its use).
fn respan(e: &mut Expr, span: Span) {
    e.span = span;
    match &mut e.kind {
        ExprKind::Int(_)
        | ExprKind::Str(_)
        | ExprKind::Positional(_)
        | ExprKind::PositionalCount
        | ExprKind::Var(_)
        | ExprKind::Ident(_) => {}
        ExprKind::SizeofType(t) => t.span = span,
        ExprKind::SizeofExpr(inner) => respan(inner, span),
        ExprKind::Offsetof { ty, path } => {
            ty.span = span;
            path.iter_mut().for_each(|n| n.span = span);
        }
        ExprKind::Map(m) => {
            m.span = span;
            m.name.span = span;
            m.keys.iter_mut().for_each(|k| respan(k, span));
        }
        ExprKind::Call { func, args } => {
            func.span = span;
            args.iter_mut().for_each(|a| respan(a, span));
        }
        ExprKind::Builtin { args, .. } => args.iter_mut().for_each(|a| respan(a, span)),
        ExprKind::Unary { expr, .. }
        | ExprKind::Cast { expr, .. }
        | ExprKind::IncDec { target: expr, .. } => respan(expr, span),
        ExprKind::Field { expr, name, .. } => {
            name.span = span;
            respan(expr, span);
        }
        ExprKind::Binary { lhs, rhs, .. } => {
            respan(lhs, span);
            respan(rhs, span);
        }
        ExprKind::Ternary { cond, then, els } => {
            respan(cond, span);
            respan(then, span);
            respan(els, span);
        }
        ExprKind::Index { expr, index } => {
            respan(expr, span);
            respan(index, span);
        }
        ExprKind::Tuple(items) => items.iter_mut().for_each(|i| respan(i, span)),
        ExprKind::Record(fields) => fields.iter_mut().for_each(|(n, v)| {
            n.span = span;
            respan(v, span);
        }),
    }
}
