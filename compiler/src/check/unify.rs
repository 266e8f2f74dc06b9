//! Type compatibility: two uses of one map or variable must agree up to integer width and string
//! size; the unified type is the wider one.

use crate::types::{IntType, Type};

/// The type both `a` and `b` fit in, or `None` when they are different kinds of value.
pub fn unify(a: &Type, b: &Type) -> Option<Type> {
    Some(match (a, b) {
        (Type::Unknown, other) | (other, Type::Unknown) => other.clone(),
        (Type::Int(x), Type::Int(y)) => Type::Int(IntType {
            bits: x.bits.max(y.bits),
            signed: x.signed,
        }),
        (Type::Str { size: x }, Type::Str { size: y }) => Type::Str { size: (*x).max(*y) },
        (Type::Buf { size: x }, Type::Buf { size: y }) => Type::Buf { size: (*x).max(*y) },
        (Type::Bytes { len: x }, Type::Bytes { len: y }) if x == y => Type::Bytes { len: *x },
        (Type::SqlText { size: x }, Type::SqlText { size: y }) => {
            Type::SqlText { size: (*x).max(*y) }
        }
        (Type::Tuple(xs), Type::Tuple(ys)) if xs.len() == ys.len() => Type::Tuple(
            xs.iter()
                .zip(ys)
                .map(|(x, y)| unify(x, y))
                .collect::<Option<_>>()?,
        ),
        (Type::Record(xs), Type::Record(ys))
            if xs.len() == ys.len() && xs.iter().zip(ys).all(|((n, _), (m, _))| n == m) =>
        {
            Type::Record(
                xs.iter()
                    .zip(ys)
                    .map(|((n, x), (_, y))| Some((n.clone(), unify(x, y)?)))
                    .collect::<Option<_>>()?,
            )
        }
        (
            Type::Stack {
                kind: k1,
                limit: l1,
            },
            Type::Stack {
                kind: k2,
                limit: l2,
            },
        ) if k1 == k2 => Type::Stack {
            kind: *k1,
            limit: (*l1).max(*l2),
        },
        (x, y) if x == y => x.clone(),
        _ => return None,
    })
}

/// A value that can be computed and compared as an integer (conditions, arithmetic).
pub fn is_integral(ty: &Type) -> bool {
    matches!(ty, Type::Int(_) | Type::Ptr(..) | Type::Unknown)
}

/// A value that can be stored in a variable, map or event and printed.
pub fn is_storable(ty: &Type) -> bool {
    match ty {
        Type::Void | Type::Agg(_) | Type::Named(_) | Type::BitField { .. } => false,
        // A C array's bytes, printed `[1,2,3]`.
        Type::Array { .. } => crate::manifest::c_kind(ty).is_some(),
        // A C struct's bytes, printed member by member (`print(*$p)`), when every member prints.
        Type::Struct(s) => crate::manifest::c_fields(s).is_some(),
        Type::Tuple(items) => items.iter().all(is_storable),
        Type::Record(fields) => fields.iter().all(|(_, t)| is_storable(t)),
        _ => true,
    }
}

/// A type as the user knows it, for messages.
pub fn describe(ty: &Type) -> String {
    match ty {
        Type::Int(_) => format!("integer ({})", crate::types::type_name(ty)),
        Type::Str { .. } => "string".into(),
        Type::Void => "nothing (a statement)".into(),
        Type::Agg(_) => format!("an aggregation ({})", crate::types::type_name(ty)),
        Type::Struct(s) if s.name.starts_with("tracepoint:") => format!("`args` of {}", s.name),
        other => format!("`{}`", crate::types::type_name(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widens_ints_and_strings() {
        let u32 = Type::Int(IntType::U32);
        let i64 = Type::Int(IntType::I64);
        assert_eq!(
            unify(&u32, &i64),
            Some(Type::Int(IntType {
                bits: 64,
                signed: false
            }))
        );
        assert_eq!(
            unify(&Type::Str { size: 4 }, &Type::Str { size: 16 }),
            Some(Type::Str { size: 16 })
        );
        assert_eq!(unify(&u32, &Type::Str { size: 4 }), None);
    }
}
