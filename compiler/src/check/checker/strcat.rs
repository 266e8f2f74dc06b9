//! `strcat(a, b)`: both strings, and the joined one no longer than a string can be.

use super::*;
use crate::builtins::MAX_STR_SIZE;

impl<'a> Checker<'a> {
    /// `str[sa + sb - 1]`: `a`'s characters, then `b`'s and its NUL.
    pub(super) fn strcat(&mut self, args: &[Expr], types: &[Type]) -> Type {
        let mut sizes = Vec::with_capacity(2);
        for (arg, ty) in args.iter().zip(types) {
            match ty {
                Type::Str { size } => sizes.push(*size),
                Type::Unknown => return Type::Unknown,
                other => {
                    let help = if matches!(other, Type::GoString) {
                        "a Go string is read with str() first: `strcat(str(a), str(b))`"
                    } else {
                        "read a C string with str() first"
                    };
                    self.error(
                        Diagnostic::error(codes::ARG_TYPE, "`strcat` joins two strings")
                            .primary(arg.span, format!("this is {}", describe(other)))
                            .help(help),
                    );
                    return Type::Unknown;
                }
            }
        }
        let [a, b] = sizes[..] else {
            return Type::Unknown;
        };
        let size = a + b - 1;
        if size > MAX_STR_SIZE {
            self.error(
                Diagnostic::error(
                    codes::ARG_TYPE,
                    format!(
                        "`strcat` of a {a}-byte and a {b}-byte string needs {size} bytes, more than a string holds ({MAX_STR_SIZE})"
                    ),
                )
                .primary(args[0].span.to(args[1].span), "too long together")
                .help("read shorter strings, e.g. `str(p, 100)`"),
            );
            return Type::Unknown;
        }
        Type::Str { size }
    }
}
