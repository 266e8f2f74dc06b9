//! Integer constant expressions of C definitions: array sizes, bit-field widths, enumerator
//! values (`GREEN = RED + 4`, `1 << 3`), evaluated as C does in 64-bit arithmetic.

use crate::ast::{BinOp, Expr, ExprKind, UnOp};
use crate::diag::{Diagnostic, codes};
use std::collections::BTreeMap;

pub fn constant(e: &Expr, enumerators: &BTreeMap<String, i64>) -> Result<i64, Diagnostic> {
    let not_constant = |what: &str| {
        Diagnostic::error(codes::BAD_C_TYPE, "not an integer constant")
            .primary(e.span, what.to_string())
            .note("sizes, bit widths and enumerator values are integers, enumerators or operators on them")
    };
    Ok(match &e.kind {
        ExprKind::Int(v) => *v as i64,
        ExprKind::Ident(name) => match enumerators.get(name) {
            Some(v) => *v,
            None => {
                let mut d = Diagnostic::error(
                    codes::BAD_C_TYPE,
                    format!("`{name}` is not an enumerator defined above"),
                )
                .primary(e.span, "unknown constant");
                let nearest =
                    crate::names::nearest(name, enumerators.keys().map(String::as_str), 3);
                if !nearest.is_empty() {
                    d = d.help(format!("nearest enumerators: {}", nearest.join(", ")));
                }
                return Err(d);
            }
        },
        ExprKind::Unary { op, expr } => {
            let v = constant(expr, enumerators)?;
            match op {
                UnOp::Neg => v.wrapping_neg(),
                UnOp::BitNot => !v,
                UnOp::Not => i64::from(v == 0),
                UnOp::Deref => return Err(not_constant("a dereference")),
            }
        }
        ExprKind::Binary { op, lhs, rhs } => {
            let (a, b) = (constant(lhs, enumerators)?, constant(rhs, enumerators)?);
            match op {
                BinOp::Add => a.wrapping_add(b),
                BinOp::Sub => a.wrapping_sub(b),
                BinOp::Mul => a.wrapping_mul(b),
                BinOp::Div | BinOp::Mod if b == 0 => {
                    return Err(Diagnostic::error(codes::BAD_C_TYPE, "division by zero")
                        .primary(e.span, "the divisor is 0"));
                }
                BinOp::Div => a.wrapping_div(b),
                BinOp::Mod => a.wrapping_rem(b),
                BinOp::BitAnd => a & b,
                BinOp::BitOr => a | b,
                BinOp::BitXor => a ^ b,
                BinOp::Shl => a.wrapping_shl(b as u32),
                BinOp::Shr => a.wrapping_shr(b as u32),
                BinOp::Eq => i64::from(a == b),
                BinOp::Ne => i64::from(a != b),
                BinOp::Lt => i64::from(a < b),
                BinOp::Le => i64::from(a <= b),
                BinOp::Gt => i64::from(a > b),
                BinOp::Ge => i64::from(a >= b),
                BinOp::And => i64::from(a != 0 && b != 0),
                BinOp::Or => i64::from(a != 0 || b != 0),
            }
        }
        ExprKind::Ternary { cond, then, els } => {
            if constant(cond, enumerators)? != 0 {
                constant(then, enumerators)?
            } else {
                constant(els, enumerators)?
            }
        }
        _ => return Err(not_constant("not a constant")),
    })
}
