//! Attach point parts (`provider:part:part+offset`) → [`ProbeKind`]. The provider word decides
//! the kind; each kind validates its own parts here so the AST holds structured, checked data.

use super::literal;
use crate::ast::{Name, ProbeKind, ProfileRate};
use crate::diag::{Diagnostic, codes, did_you_mean};
use crate::span::{Span, Spanned};

/// Providers gprobe knows but cannot attach on this kernel or yet; the message says why.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("kfunc", "kfunc"),
    ("f", "kfunc"),
    ("fentry", "kfunc"),
    ("kretfunc", "kretfunc"),
    ("fr", "kretfunc"),
    ("fexit", "kretfunc"),
    ("iter", "iter"),
];

const KNOWN: &[&str] = &[
    "BEGIN",
    "END",
    "begin",
    "end",
    "interval",
    "profile",
    "tracepoint",
    "uprobe",
    "uretprobe",
    "kprobe",
    "kretprobe",
    "rawtracepoint",
    "usdt",
    "software",
    "hardware",
    "watchpoint",
    "asyncwatchpoint",
];

pub struct Part {
    pub text: String,
    pub span: Span,
    /// Written in double quotes: taken literally, never a wildcard.
    pub quoted: bool,
}

pub fn probe_kind(
    parts: Vec<Part>,
    offset: Option<(u64, Span)>,
    span: Span,
) -> Result<ProbeKind, Diagnostic> {
    let provider = &parts[0];
    let provider_name = provider.text.as_str();
    let rest = &parts[1..];
    let kind = match provider_name {
        "BEGIN" | "begin" => {
            expect_parts(provider_name, rest, 0, 0, span, "BEGIN")?;
            ProbeKind::Begin
        }
        "END" | "end" => {
            expect_parts(provider_name, rest, 0, 0, span, "END")?;
            ProbeKind::End
        }
        "interval" | "i" => {
            expect_parts(provider_name, rest, 1, 2, span, "interval:s:1")?;
            ProbeKind::Interval {
                period_ns: period(rest, span, false)?,
            }
        }
        "profile" | "p" => {
            expect_parts(provider_name, rest, 1, 2, span, "profile:hz:99")?;
            if rest.len() == 2 && rest[0].text == "hz" {
                ProbeKind::Profile {
                    rate: ProfileRate::Hz(count(&rest[1])?),
                }
            } else {
                ProbeKind::Profile {
                    rate: ProfileRate::PeriodNs(period(rest, span, true)?),
                }
            }
        }
        "tracepoint" | "t" => {
            expect_parts(
                provider_name,
                rest,
                2,
                2,
                span,
                "tracepoint:syscalls:sys_enter_openat",
            )?;
            ProbeKind::Tracepoint {
                category: name(&rest[0]),
                name: name(&rest[1]),
            }
        }
        "uprobe" | "u" | "uretprobe" | "ur" => {
            let ret = matches!(provider_name, "uretprobe" | "ur");
            expect_parts(provider_name, rest, 1, 2, span, "uprobe:./bin:main.work")?;
            let (binary, function) = match rest {
                [function] => (None, name(function)),
                [binary, function] => (Some(name(binary)), name(function)),
                _ => unreachable!("expect_parts checked the count"),
            };
            if function.node.is_empty() {
                return Err(Diagnostic::error(codes::BAD_ATTACH, "empty function name")
                    .primary(function.span, "name the function to probe"));
            }
            if ret && offset.is_some() {
                let (_, at) = offset.unwrap_or_default();
                return Err(Diagnostic::error(
                    codes::BAD_ATTACH,
                    "a return probe cannot take an offset",
                )
                .primary(at, "remove this offset"));
            }
            let quoted = rest.last().is_some_and(|p| p.quoted);
            ProbeKind::Uprobe {
                ret,
                binary,
                glob: !quoted && crate::target::has_wildcard(&function.node),
                function,
                offset: offset.map(|(value, _)| value),
            }
        }
        "kprobe" | "k" | "kretprobe" | "kr" => {
            let ret = matches!(provider_name, "kretprobe" | "kr");
            // `kprobe:MODULE:FUNC` names the module too; the function is what attaches.
            expect_parts(provider_name, rest, 1, 2, span, "kprobe:vfs_read")?;
            let function = name(&rest[rest.len() - 1]);
            if function.node.is_empty() {
                return Err(Diagnostic::error(codes::BAD_ATTACH, "empty function name")
                    .primary(function.span, "name the kernel function to probe"));
            }
            if ret && offset.is_some() {
                let (_, at) = offset.unwrap_or_default();
                return Err(Diagnostic::error(
                    codes::BAD_ATTACH,
                    "a return probe cannot take an offset",
                )
                .primary(at, "remove this offset"));
            }
            ProbeKind::Kprobe {
                ret,
                glob: crate::target::has_wildcard(&function.node),
                function,
                offset: offset.map(|(value, _)| value),
            }
        }
        "rawtracepoint" | "rt" => {
            // `rawtracepoint:MODULE:NAME` (bpftrace 0.18+) names the module too; tracepoint
            // names are unique across modules, so the name is what attaches.
            expect_parts(
                provider_name,
                rest,
                1,
                2,
                span,
                "rawtracepoint:sched_switch",
            )?;
            let name = name(&rest[rest.len() - 1]);
            if name.node.is_empty() {
                return Err(
                    Diagnostic::error(codes::BAD_ATTACH, "empty tracepoint name")
                        .primary(name.span, "name the tracepoint (or a glob: `sched_*`)"),
                );
            }
            ProbeKind::RawTracepoint {
                glob: crate::target::has_wildcard(&name.node),
                name,
            }
        }
        "software" | "s" | "hardware" | "h" => super::perf::counter(
            provider,
            rest,
            span,
            matches!(provider_name, "hardware" | "h"),
        )?,
        "watchpoint" | "w" | "asyncwatchpoint" => super::perf::watchpoint(provider, rest, span)?,
        "usdt" | "U" => {
            expect_parts(provider_name, rest, 1, 3, span, "usdt:./bin:provider:name")?;
            // Two parts: a binary when it looks like a path; otherwise the checker decides
            // (a provider in the -p/-c target, else a binary in the working directory).
            let (binary, provider) = match rest.len() {
                1 => (None, None),
                2 if rest[0].text.contains('/') => (Some(name(&rest[0])), None),
                2 => (None, Some(name(&rest[0]))),
                _ => (Some(name(&rest[0])), Some(name(&rest[1]))),
            };
            let probe = name(&rest[rest.len() - 1]);
            if probe.node.is_empty() {
                return Err(
                    Diagnostic::error(codes::BAD_ATTACH, "empty USDT probe name")
                        .primary(probe.span, "name the probe (or `*`)"),
                );
            }
            ProbeKind::Usdt {
                binary,
                provider,
                name: probe,
            }
        }
        other => {
            if let Some((_, canonical)) = UNSUPPORTED.iter().find(|(word, _)| *word == other) {
                let _ = canonical;
                ProbeKind::Unsupported {
                    provider: name(provider),
                    parts: rest.iter().map(name).collect(),
                }
            } else {
                let mut d = Diagnostic::error(
                    codes::UNKNOWN_PROVIDER,
                    format!("unknown probe type `{other}`"),
                )
                .primary(provider.span, "not a probe type");
                if let Some(guess) = did_you_mean(other, KNOWN.iter().copied()) {
                    d = d.help(format!("did you mean `{guess}`?"));
                } else {
                    d = d.note(
                        "probe types: BEGIN, END, interval, profile, tracepoint, rawtracepoint, uprobe, uretprobe, usdt, kprobe, kretprobe, software, hardware, watchpoint",
                    );
                }
                return Err(d);
            }
        }
    };
    if let Some((_, at)) = offset
        && !matches!(kind, ProbeKind::Uprobe { .. } | ProbeKind::Kprobe { .. })
    {
        return Err(Diagnostic::error(
            codes::BAD_ATTACH,
            "only uprobes and kprobes take an offset",
        )
        .primary(at, "remove this"));
    }
    Ok(kind)
}

/// The canonical name of an unsupported provider word (`k` → `kprobe`).
pub fn unsupported_canonical(word: &str) -> &'static str {
    UNSUPPORTED
        .iter()
        .find(|(w, _)| *w == word)
        .map_or("this probe type", |(_, c)| c)
}

fn name(part: &Part) -> Name {
    Spanned::new(part.text.clone(), part.span)
}

fn expect_parts(
    provider: &str,
    rest: &[Part],
    min: usize,
    max: usize,
    span: Span,
    example: &str,
) -> Result<(), Diagnostic> {
    if (min..=max).contains(&rest.len()) {
        return Ok(());
    }
    let wanted = if min == max {
        format!("{min}")
    } else if max > min + 1 {
        format!("{min} to {max}")
    } else {
        format!("{min} or {max}")
    };
    Err(Diagnostic::error(
        codes::BAD_ATTACH,
        format!(
            "`{provider}` takes {wanted} part(s) after the probe type, found {}",
            rest.len()
        ),
    )
    .primary(span, "malformed attach point")
    .help(format!("write it like `{example}`")))
}

fn count(part: &Part) -> Result<u64, Diagnostic> {
    match literal::int(&part.text) {
        Ok(0) | Err(_) => Err(Diagnostic::error(
            codes::BAD_ATTACH,
            format!("`{}` is not a positive count", part.text),
        )
        .primary(part.span, "expected a positive integer")),
        Ok(value) => Ok(value),
    }
}

/// `s:1`, `ms:100`, `us:50`, `hz:10` or a single duration `100ms` → a period in ns.
fn period(rest: &[Part], span: Span, profile: bool) -> Result<u64, Diagnostic> {
    let ns = match rest {
        [unit, value] => {
            let value_n = count(value)?;
            let scale = match unit.text.as_str() {
                "s" => 1_000_000_000,
                "ms" => 1_000_000,
                "us" => 1_000,
                "ns" if profile => 1,
                "hz" => {
                    return Ok(1_000_000_000 / value_n.max(1)).and_then(|ns| {
                        if ns == 0 {
                            Err(Diagnostic::error(codes::BAD_ATTACH, "rate above 1 GHz")
                                .primary(value.span, "too high"))
                        } else {
                            Ok(ns)
                        }
                    });
                }
                other => {
                    return Err(Diagnostic::error(
                        codes::BAD_ATTACH,
                        format!("unknown time unit `{other}`"),
                    )
                    .primary(unit.span, "expected s, ms, us or hz"));
                }
            };
            value_n.checked_mul(scale).ok_or_else(|| {
                Diagnostic::error(codes::BAD_ATTACH, "period too long")
                    .primary(value.span, "too large")
            })?
        }
        [duration] => match literal::int(&duration.text) {
            Ok(ns) if ns > 0 && duration.text.ends_with('s') => ns,
            _ => {
                return Err(Diagnostic::error(
                    codes::BAD_ATTACH,
                    format!("`{}` is not a duration", duration.text),
                )
                .primary(duration.span, "expected a duration like `1s` or `100ms`")
                .help("or write the unit as its own part: `interval:ms:100`"));
            }
        },
        _ => {
            return Err(
                Diagnostic::error(codes::BAD_ATTACH, "expected a period").primary(span, "here")
            );
        }
    };
    Ok(ns)
}
