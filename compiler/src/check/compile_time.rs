//! Builtin arguments resolved when the program is compiled: `kaddr("sym")` (kallsyms),
//! `cgroupid("path")` (the directory's inode), `signal("SIGUSR1")` (the number), `uaddr("sym")`
//! (the probed binary's symbol table, see [`uaddr`](Checker::uaddr)). The resolved value
//! replaces the argument as an integer literal, so lowering only ever sees a constant; and the
//! builtins that act on the system need `--unsafe`.

use super::checker::Checker;
use crate::ast::{Expr, ExprKind};
use crate::builtins::Builtin;
use crate::diag::{Diagnostic, codes};
use crate::span::Span;
use crate::types::Type;

/// Signal names and numbers (x86_64 Linux), as bpftrace's `signal()` takes them.
const SIGNALS: [(&str, u64); 31] = [
    ("SIGHUP", 1),
    ("SIGINT", 2),
    ("SIGQUIT", 3),
    ("SIGILL", 4),
    ("SIGTRAP", 5),
    ("SIGABRT", 6),
    ("SIGBUS", 7),
    ("SIGFPE", 8),
    ("SIGKILL", 9),
    ("SIGUSR1", 10),
    ("SIGSEGV", 11),
    ("SIGUSR2", 12),
    ("SIGPIPE", 13),
    ("SIGALRM", 14),
    ("SIGTERM", 15),
    ("SIGSTKFLT", 16),
    ("SIGCHLD", 17),
    ("SIGCONT", 18),
    ("SIGSTOP", 19),
    ("SIGTSTP", 20),
    ("SIGTTIN", 21),
    ("SIGTTOU", 22),
    ("SIGURG", 23),
    ("SIGXCPU", 24),
    ("SIGXFSZ", 25),
    ("SIGVTALRM", 26),
    ("SIGPROF", 27),
    ("SIGWINCH", 28),
    ("SIGIO", 29),
    ("SIGPWR", 30),
    ("SIGSYS", 31),
];

/// The number of signal `name` (`SIGKILL` or `KILL`, any case).
pub fn signal_number(name: &str) -> Option<u64> {
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    SIGNALS.iter().find(|(n, _)| *n == full).map(|(_, v)| *v)
}

impl Checker<'_> {
    /// Resolves compile-time arguments in place; `false` after reporting why one cannot be.
    pub(super) fn compile_time_args(
        &mut self,
        b: Builtin,
        args: &mut Vec<Expr>,
        types: &[Type],
        span: Span,
    ) -> bool {
        match b {
            Builtin::Uaddr => self.uaddr(args),
            Builtin::Kaddr | Builtin::Cgroupid => {
                let Some(ExprKind::Str(name)) = args.first().map(|a| &a.kind) else {
                    return false;
                };
                let found = if b == Builtin::Kaddr {
                    self.env.kernel_symbol(name)
                } else {
                    self.env.cgroup_id(name)
                };
                match found {
                    Ok(value) => {
                        args[0].kind = ExprKind::Int(value);
                        true
                    }
                    Err(why) => {
                        let what = if b == Builtin::Kaddr {
                            format!("no kernel symbol `{name}`")
                        } else {
                            format!("no cgroup `{name}`")
                        };
                        // --check: another machine's kernel or cgroups may have it.
                        if self.options.check_only {
                            self.error(
                                Diagnostic::warning(codes::NOT_FOUND, what)
                                    .primary(args[0].span, "not found here: reads as 0")
                                    .note(why),
                            );
                            args[0].kind = ExprKind::Int(0);
                            return true;
                        }
                        self.error(
                            Diagnostic::error(codes::NOT_FOUND, what)
                                .primary(args[0].span, "not found")
                                .note(why),
                        );
                        false
                    }
                }
            }
            Builtin::System if !self.options.unsafe_allowed => {
                self.error(
                    Diagnostic::error(
                        codes::NEEDS_UNSAFE,
                        "`system` runs commands: it needs --unsafe",
                    )
                    .primary(span, "an unsafe builtin")
                    .help("run with --unsafe to allow it"),
                );
                false
            }
            Builtin::Signal => {
                if !self.options.unsafe_allowed {
                    self.error(
                        Diagnostic::error(
                            codes::NEEDS_UNSAFE,
                            "`signal` acts on the traced task: it needs --unsafe",
                        )
                        .primary(span, "an unsafe builtin")
                        .help("run with --unsafe to allow it"),
                    );
                    return false;
                }
                let arg = &mut args[0];
                match (&arg.kind, &types[0]) {
                    (ExprKind::Str(name), _) => match signal_number(name) {
                        Some(n) => {
                            arg.kind = ExprKind::Int(n);
                            arg.ty = Type::Int(crate::types::IntType::U64);
                            true
                        }
                        None => {
                            self.error(
                                Diagnostic::error(
                                    codes::NOT_FOUND,
                                    format!("unknown signal `{name}`"),
                                )
                                .primary(arg.span, "not a signal name")
                                .help("e.g. \"SIGKILL\", \"KILL\" or a number 1..64"),
                            );
                            false
                        }
                    },
                    (ExprKind::Int(n), _) if !(1..=64).contains(n) => {
                        self.error(
                            Diagnostic::error(
                                codes::ARG_TYPE,
                                format!("signal {n} is out of range"),
                            )
                            .primary(arg.span, "use 1 to 64"),
                        );
                        false
                    }
                    (_, Type::Int(_) | Type::Unknown) => true,
                    (_, other) => {
                        self.error(
                            Diagnostic::error(
                                codes::ARG_TYPE,
                                "`signal` needs a signal name or number",
                            )
                            .primary(
                                arg.span,
                                format!("this is {}", super::unify::describe(other)),
                            ),
                        );
                        false
                    }
                }
            }
            Builtin::Override if !self.options.unsafe_allowed => {
                self.error(
                    Diagnostic::error(
                        codes::NEEDS_UNSAFE,
                        "`override` changes what a kernel function returns: it needs --unsafe",
                    )
                    .primary(span, "an unsafe builtin")
                    .help("run with --unsafe to allow it"),
                );
                false
            }
            Builtin::Strncmp | Builtin::Strcontains => {
                for (arg, ty) in args.iter().zip(types).take(2) {
                    if !matches!(ty, Type::Str { .. } | Type::Unknown) {
                        self.error(
                            Diagnostic::error(
                                codes::ARG_TYPE,
                                format!("`{}` compares strings", b.name()),
                            )
                            .primary(arg.span, format!("this is {}", super::unify::describe(ty)))
                            .help("read a string first: str(ptr)"),
                        );
                        return false;
                    }
                }
                true
            }
            // ntop(af, addr): AF_INET with an integer or 4 bytes, AF_INET6 with 16 bytes.
            Builtin::Ntop if args.len() == 2 => {
                let len = match &types[1] {
                    Type::Array { len, .. } | Type::Bytes { len } => Some(*len),
                    _ => None,
                };
                match (&args[0].kind, len) {
                    (ExprKind::Int(2), None | Some(4)) | (ExprKind::Int(10), Some(16)) => true,
                    (ExprKind::Int(af @ (2 | 10)), _) => {
                        let (name, wanted) = if *af == 2 {
                            ("AF_INET", "an integer or 4 bytes")
                        } else {
                            ("AF_INET6", "16 bytes (a `u8[16]` array)")
                        };
                        self.error(
                            Diagnostic::error(
                                codes::ARG_TYPE,
                                format!("an {name} address is {wanted}"),
                            )
                            .primary(
                                args[1].span,
                                format!("this is {}", super::unify::describe(&types[1])),
                            ),
                        );
                        false
                    }
                    (ExprKind::Int(af), _) => {
                        self.error(
                            Diagnostic::error(
                                codes::ARG_TYPE,
                                format!("address family {af} is not one `ntop` knows"),
                            )
                            .primary(args[0].span, "AF_INET (2) or AF_INET6 (10)"),
                        );
                        false
                    }
                    _ => {
                        self.error(
                            Diagnostic::error(
                                codes::NEEDS_LITERAL,
                                "the address family of `ntop` must be an integer literal",
                            )
                            .primary(args[0].span, "AF_INET is 2, AF_INET6 is 10"),
                        );
                        false
                    }
                }
            }
            _ => true,
        }
    }
}
