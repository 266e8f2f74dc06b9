//! Providers, one per probe type (ply's idea): each says which builtins its probes may use and
//! what `args`, `ret` and `retval` mean there. The builtin table holds the allow-lists; a provider
//! adds the facts that depend on the attach point (tracepoint fields, Go signatures).

use super::{Env, Options};
use crate::ast::{AttachPoint, ProbeKind};
use crate::builtins::{Builtin, ProviderKind, spec};
use crate::diag::{Diagnostic, codes};
use crate::span::Span;
use crate::types::{IntType, StructType, Type};

pub trait Provider {
    fn kind(&self) -> ProviderKind;

    /// The attach point, for messages.
    fn span(&self) -> Span;

    fn allows(&self, builtin: Builtin) -> bool {
        spec(builtin).providers.contains(self.kind())
    }

    /// The type of `args` in this probe, or why there is none.
    fn args(&self, env: &dyn Env, at: Span) -> Result<Type, Diagnostic> {
        let _ = env;
        Err(not_here(Builtin::Args, self.kind(), at))
    }

    /// The type of `ret` (a Go function's named results).
    fn ret(&self, env: &dyn Env, at: Span) -> Result<Type, Diagnostic> {
        let _ = env;
        Err(not_here(Builtin::Ret, self.kind(), at))
    }

    /// The type of `retval`.
    fn retval(&self, env: &dyn Env) -> Type {
        let _ = env;
        Type::Int(IntType::U64)
    }

    /// The type of `argN` here (a USDT probe's spec gives its size and sign), or why it has
    /// no such argument.
    fn arg(&self, env: &dyn Env, n: u8, at: Span) -> Result<Type, Diagnostic> {
        let _ = (env, n, at);
        Ok(Type::Int(IntType::U64))
    }

    /// For the pending form of a binary pattern (`uprobe:*:FUNC`, see `crate::expand`): how
    /// many binaries matched. Its `args`/`ret` come from those binaries, not from it.
    fn pending(&self) -> Option<usize> {
        None
    }

    /// For one binary a pattern matched: that binary.
    fn expanded_binary(&self) -> Option<&str> {
        None
    }
}

/// "`retval` is not available in uprobe probes", with where it is available.
pub fn not_here(builtin: Builtin, kind: ProviderKind, at: Span) -> Diagnostic {
    let allowed: Vec<&str> = spec(builtin)
        .providers
        .kinds()
        .map(ProviderKind::name)
        .collect();
    let mut d = Diagnostic::error(
        codes::NOT_IN_PROBE,
        format!(
            "`{}` is not available in {} probes",
            builtin.name(),
            kind.name()
        ),
    )
    .primary(at, format!("not available in {}", kind.name()));
    d = if allowed.is_empty() {
        d
    } else {
        d.note(format!(
            "`{}` is available in: {}",
            builtin.name(),
            allowed.join(", ")
        ))
    };
    match (builtin, kind) {
        (Builtin::Retval | Builtin::Ret, ProviderKind::Uprobe) => {
            d.help("return values are read in a `uretprobe:` on the same function")
        }
        (Builtin::Args, ProviderKind::RawTracepoint) => d.help(
            "a raw tracepoint passes its TP_PROTO arguments as arg0, arg1, … (`gprobe -lv 'rawtracepoint:NAME'` lists their types); `tracepoint:CATEGORY:NAME` has the tracefs record as `args`",
        ),
        (Builtin::Args, ProviderKind::Uretprobe) => d.help(
            "arguments are gone when the function returns: save them in the uprobe, e.g. `@a[tid] = args.x`",
        ),
        // bpf_d_path is a helper of BTF-typed programs only.
        (Builtin::Path, _) => d.help(
            "bpf_d_path runs only in fentry/fexit and iterator programs, which gprobe does not attach (kernels it is tested on refuse fentry; `gprobe --info` says whether this one loads them); read a file name from a tracepoint instead, e.g. `str(args.filename)` in tracepoint:syscalls:sys_enter_openat",
        ),
        (Builtin::Override, _) => d.help(
            "bpf_override_return runs only in a kprobe on a kernel function marked for error injection (CONFIG_BPF_KPROBE_OVERRIDE); `gprobe --info` says whether this kernel has kprobes",
        ),
        _ => d,
    }
}

/// A uprobe or USDT probe without a binary, and no `-p`/`-c` target to stand for it.
fn no_binary(kind: &str, what: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        codes::NO_TARGET,
        format!("`{what}` names no binary and no target process was given"),
    )
    .primary(span, "which binary?")
    .help(format!(
        "write `{kind}:./path/to/binary:{what}`, or run with `-p PID` or `-c CMD`"
    ))
}

/// The provider of an attach point, or why it cannot be attached.
pub fn provider(attach: &AttachPoint, options: &Options) -> Result<Box<dyn Provider>, Diagnostic> {
    let span = attach.span;
    Ok(match &attach.kind {
        ProbeKind::Begin => Box::new(Simple {
            kind: ProviderKind::Begin,
            span,
        }),
        ProbeKind::End => Box::new(Simple {
            kind: ProviderKind::End,
            span,
        }),
        ProbeKind::Interval { .. } => Box::new(Simple {
            kind: ProviderKind::Interval,
            span,
        }),
        ProbeKind::Profile { .. } => Box::new(Simple {
            kind: ProviderKind::Profile,
            span,
        }),
        ProbeKind::Tracepoint { category, name } => Box::new(Tracepoint {
            category: category.node.clone(),
            name: name.node.clone(),
            span,
        }),
        ProbeKind::RawTracepoint { name, glob } => Box::new(RawTracepoint {
            name: name.node.clone(),
            glob: *glob,
            span,
        }),
        ProbeKind::Uprobe {
            ret,
            binary,
            function,
            glob,
            offset,
        } => {
            if binary.is_none() && !options.has_target {
                let kind = if *ret { "uretprobe" } else { "uprobe" };
                return Err(no_binary(kind, &function.node, span));
            }
            let expansion = crate::expand::expansion_of(attach);
            if let (Some(e), true) = (&expansion, options.has_target) {
                return Err(Diagnostic::error(
                    codes::BAD_ATTACH,
                    format!(
                        "`{}` is a binary pattern, which traces every matching program on the host",
                        e.pattern()
                    ),
                )
                .primary(
                    binary.as_ref().map_or(span, |b| b.span),
                    "a pattern cannot be combined with -p/-c",
                )
                .help(format!(
                    "with -p/-c, omit the binary: `{}:{}`",
                    if *ret { "uretprobe" } else { "uprobe" },
                    function.node
                )));
            }
            Box::new(Uprobe {
                ret: *ret,
                binary: binary.as_ref().map(|b| b.node.clone()),
                function: function.node.clone(),
                glob: *glob,
                at_offset: offset.is_some()
                    || crate::native::parse_address(&function.node).is_some(),
                span,
                pending: match expansion {
                    Some(crate::ast::Expansion::Pending { matched, .. }) => Some(matched),
                    _ => None,
                },
                expanded: matches!(expansion, Some(crate::ast::Expansion::Binary { .. })),
            })
        }
        ProbeKind::Kprobe { ret, .. } => Box::new(Simple {
            kind: if *ret {
                ProviderKind::Kretprobe
            } else {
                ProviderKind::Kprobe
            },
            span,
        }),
        ProbeKind::Software { .. } => Box::new(Simple {
            kind: ProviderKind::Software,
            span,
        }),
        ProbeKind::Hardware { .. } => Box::new(Simple {
            kind: ProviderKind::Hardware,
            span,
        }),
        ProbeKind::Watchpoint { .. } => {
            if !options.has_target {
                return Err(Diagnostic::error(
                    codes::NO_TARGET,
                    "a watchpoint needs a target process: its address is in that process",
                )
                .primary(span, "whose address?")
                .help("run with `-p PID` or `-c CMD`"));
            }
            Box::new(Simple {
                kind: ProviderKind::Watchpoint,
                span,
            })
        }
        ProbeKind::Usdt {
            binary,
            provider,
            name,
        } => {
            if binary.is_none() && !options.has_target {
                return Err(no_binary("usdt", &name.node, span));
            }
            Box::new(super::usdt::Usdt {
                binary: binary.as_ref().map(|b| b.node.clone()),
                provider: provider.as_ref().map(|p| p.node.clone()),
                name: name.node.clone(),
                span,
            })
        }
        ProbeKind::Unsupported { provider, .. } => {
            let word = provider.node.as_str();
            let canonical = crate::syntax::unsupported_canonical(word);
            let d = Diagnostic::error(
                codes::UNSUPPORTED_PROVIDER,
                format!("`{canonical}` probes are not supported"),
            )
            .primary(provider.span, "cannot attach this");
            return Err(match canonical {
                "kfunc" | "kretfunc" => d
                    .note("gprobe does not compile fentry/fexit programs (bpftrace's kfunc/kretfunc): the kernels it is tested on refuse them (loading one fails with EPERM before the verifier runs, as bpftrace reports kfunc unavailable); `gprobe --info` says whether this one loads them")
                    .help("use a tracepoint (`gprobe -l '*vfs*'`), a kprobe where the kernel has kprobes, or a uprobe"),
                _ => d.help("gprobe supports BEGIN, END, interval, profile, tracepoint, rawtracepoint, kprobe, kretprobe, uprobe, uretprobe, usdt, software, hardware and watchpoint"),
            });
        }
    })
}

/// Providers without attach-point facts: BEGIN, END, interval, profile.
struct Simple {
    kind: ProviderKind,
    span: Span,
}

impl Provider for Simple {
    fn kind(&self) -> ProviderKind {
        self.kind
    }

    fn span(&self) -> Span {
        self.span
    }
}

struct Tracepoint {
    category: String,
    name: String,
    span: Span,
}

impl Provider for Tracepoint {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Tracepoint
    }

    fn span(&self) -> Span {
        self.span
    }

    fn args(&self, env: &dyn Env, at: Span) -> Result<Type, Diagnostic> {
        if self.category.contains('*') || self.name.contains('*') {
            return Err(Diagnostic::error(
                codes::NO_TRACEPOINT,
                "`args` needs one tracepoint, not a wildcard",
            )
            .primary(at, "fields differ between tracepoints")
            .secondary(self.span, "this matches several tracepoints"));
        }
        let fields = env
            .tracepoint_fields(&self.category, &self.name)
            .map_err(|why| {
                Diagnostic::error(
                    codes::NO_TRACEPOINT,
                    format!(
                        "cannot read the fields of tracepoint `{}:{}`",
                        self.category, self.name
                    ),
                )
                .primary(at, "fields unknown")
                .secondary(self.span, "this tracepoint")
                .note(why)
            })?;
        let size = fields
            .iter()
            .map(|f| f.offset + super::tracefs::size_of(&f.ty))
            .max()
            .unwrap_or(0);
        Ok(Type::Struct(StructType {
            name: format!("{}:{}", self.category, self.name),
            size,
            fields,
        }))
    }
}

/// The kernel passes at most this many arguments to a raw tracepoint program
/// (`MAX_BPF_FUNC_ARGS`).
const RAW_TRACEPOINT_MAX_ARGS: u8 = 12;

struct RawTracepoint {
    name: String,
    glob: bool,
    span: Span,
}

impl Provider for RawTracepoint {
    fn kind(&self) -> ProviderKind {
        ProviderKind::RawTracepoint
    }

    fn span(&self) -> Span {
        self.span
    }

    /// Each argument is a u64 slot of `bpf_raw_tracepoint_args`; the kernel refuses at attach
    /// time a program that reads past the tracepoint's count, so say it here, with the count.
    fn arg(&self, env: &dyn Env, n: u8, at: Span) -> Result<Type, Diagnostic> {
        let beyond = |count: usize, what: String| {
            Diagnostic::error(codes::RAW_TRACEPOINT_ARG, what)
                .primary(at, format!("arg{n} does not exist here"))
                .secondary(self.span, "this raw tracepoint")
                .note(match count {
                    0 => "it passes no arguments".to_string(),
                    1 => "only arg0 can be read".to_string(),
                    _ => format!("arg0..arg{} can be read", count - 1),
                })
        };
        if n >= RAW_TRACEPOINT_MAX_ARGS {
            return Err(beyond(
                RAW_TRACEPOINT_MAX_ARGS as usize,
                format!("raw tracepoints pass at most {RAW_TRACEPOINT_MAX_ARGS} arguments"),
            ));
        }
        if !self.glob
            && let Ok(Some(count)) = env.raw_tracepoint(&self.name)
            && n as usize >= count
        {
            return Err(beyond(
                count,
                format!(
                    "raw tracepoint `{}` passes {count} argument{}",
                    self.name,
                    if count == 1 { "" } else { "s" }
                ),
            )
            .help(format!(
                "`gprobe -lv 'rawtracepoint:{}'` lists their types",
                self.name
            )));
        }
        Ok(Type::Int(IntType::U64))
    }
}

struct Uprobe {
    ret: bool,
    binary: Option<String>,
    function: String,
    glob: bool,
    /// `func+OFFSET` or an address: arguments are in their registers only at entry.
    at_offset: bool,
    span: Span,
    /// The pending form of a binary pattern, and how many binaries it matched.
    pending: Option<usize>,
    /// One binary a pattern matched: messages name it, as the source shows only the pattern.
    expanded: bool,
}

impl Uprobe {
    fn signature(
        &self,
        env: &dyn Env,
        at: Span,
        what: &str,
    ) -> Result<super::GoFunction, Diagnostic> {
        let named = |d: Diagnostic| match (&self.binary, self.expanded) {
            (Some(binary), true) => d.note(format!("in {binary}, which the pattern matched")),
            _ => d,
        };
        self.signature_in(env, at, what).map_err(named)
    }

    fn signature_in(
        &self,
        env: &dyn Env,
        at: Span,
        what: &str,
    ) -> Result<super::GoFunction, Diagnostic> {
        if self.glob {
            return env
                .go_function_glob(self.binary.as_deref(), &self.function)
                .map_err(|why| {
                    Diagnostic::error(
                        codes::NO_SIGNATURE,
                        format!("`{what}` on a wildcard has only what all its functions share"),
                    )
                    .primary(at, format!("cannot type `{what}`"))
                    .secondary(self.span, "this matches several functions")
                    .note(why)
                    .help(format!(
                        "a quoted name is literal: write `\"{}\"` if its `*` is part of the name",
                        self.function
                    ))
                });
        }
        env.go_function(self.binary.as_deref(), &self.function)
            .map_err(|why| {
                Diagnostic::error(
                    codes::NO_SIGNATURE,
                    format!("the signature of `{}` is unknown", self.function),
                )
                .primary(at, format!("cannot type `{what}`"))
                .secondary(self.span, "this function")
                .note(why)
            })
    }
}

impl Provider for Uprobe {
    fn kind(&self) -> ProviderKind {
        if self.ret {
            ProviderKind::Uretprobe
        } else {
            ProviderKind::Uprobe
        }
    }

    fn span(&self) -> Span {
        self.span
    }

    fn args(&self, env: &dyn Env, at: Span) -> Result<Type, Diagnostic> {
        if self.ret {
            return Err(not_here(Builtin::Args, self.kind(), at));
        }
        if self.at_offset {
            return Err(Diagnostic::error(
                codes::NO_SIGNATURE,
                "`args` is known only at a function's entry",
            )
            .primary(at, "no arguments here")
            .secondary(self.span, "this probe is inside the function")
            .help("read registers with `reg(\"di\")`, or probe the function itself"));
        }
        Ok(Type::Record(self.signature(env, at, "args")?.params))
    }

    fn ret(&self, env: &dyn Env, at: Span) -> Result<Type, Diagnostic> {
        if !self.ret {
            return Err(not_here(Builtin::Ret, self.kind(), at));
        }
        Ok(Type::Record(self.signature(env, at, "ret")?.results))
    }

    fn pending(&self) -> Option<usize> {
        self.pending
    }

    fn expanded_binary(&self) -> Option<&str> {
        self.binary.as_deref().filter(|_| self.expanded)
    }

    fn retval(&self, env: &dyn Env) -> Type {
        // A pattern's binaries differ: the raw return register, the same in every compile.
        if self.pending.is_some() {
            return Type::Int(IntType::U64);
        }
        // A known Go signature types the first result; otherwise the raw return register.
        match env.go_function(self.binary.as_deref(), &self.function) {
            Ok(f) if !f.results.is_empty() => f.results[0].1.clone(),
            _ => Type::Int(IntType::U64),
        }
    }
}
