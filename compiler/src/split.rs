//! Tracepoint probes made concrete before checking, as bpftrace compiles them:
//!
//! - a wildcard (`tracepoint:syscalls:sys_enter_exec*`, `tracepoint:sched:*`,
//!   `rawtracepoint:sched_*`) becomes the tracepoints it matches on this kernel;
//! - a probe over several tracepoints whose body reads `args` (each tracepoint has its own
//!   format) becomes one probe per tracepoint, each typed by its own format. Maps stay shared,
//!   so the output is the same. (Each attach point is its own program anyway, so `probe`
//!   needs no split.)
//!
//! Copies keep the original spans, so a diagnostic in the body would be found once per copy;
//! the checker reports each only once.

use crate::ast::{AttachPoint, Name, Probe, ProbeKind, Program};
use crate::check::Env;
use crate::diag::{Diagnostic, codes};
use crate::names::{glob_match, nearest};

/// Expands tracepoint wildcards and splits probes (see the module docs). When the environment
/// cannot list tracepoints, wildcards are left as written (the checker and runtime say why).
pub fn split_tracepoints(program: &mut Program, env: &dyn Env) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    let has_wildcard = program
        .probes
        .iter()
        .any(|p| p.attach.iter().any(is_wildcard));
    let all = if has_wildcard {
        env.tracepoints().ok()
    } else {
        None
    };
    let mut probes = Vec::with_capacity(program.probes.len());
    for mut probe in std::mem::take(&mut program.probes) {
        if let Some(all) = &all {
            let mut attach = Vec::with_capacity(probe.attach.len());
            for a in std::mem::take(&mut probe.attach) {
                if !is_wildcard(&a) {
                    attach.push(a);
                    continue;
                }
                let matched = expand(&a, all);
                if matched.is_empty() {
                    errors.push(no_match(&a, all));
                    attach.push(a);
                }
                attach.extend(matched);
            }
            probe.attach = attach;
        }
        let tracepoints = probe
            .attach
            .iter()
            .filter(|a| matches!(a.kind, ProbeKind::Tracepoint { .. }))
            .count();
        if tracepoints > 1 && probe.mentions("args") {
            for a in std::mem::take(&mut probe.attach) {
                probes.push(Probe {
                    attach: vec![a],
                    ..probe.clone()
                });
            }
        } else {
            probes.push(probe);
        }
    }
    program.probes = probes;
    errors
}

fn is_wildcard(a: &AttachPoint) -> bool {
    match &a.kind {
        ProbeKind::Tracepoint { category, name } => {
            category.node.contains(['*', '?']) || name.node.contains(['*', '?'])
        }
        ProbeKind::RawTracepoint { glob, .. } => *glob,
        _ => false,
    }
}

/// The names a raw tracepoint can attach to: every tracepoint's, less the `syscalls:`
/// events, which ftrace makes per syscall on top of `raw_syscalls:sys_enter`/`sys_exit` and
/// are no tracepoints of their own (bpftrace leaves them out too).
pub fn raw_tracepoint_names(all: &[(String, String)]) -> Vec<&str> {
    let mut names: Vec<&str> = all
        .iter()
        .filter(|(c, n)| {
            !(c == "syscalls" && (n.starts_with("sys_enter_") || n.starts_with("sys_exit_")))
        })
        .map(|(_, n)| n.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

fn expand(a: &AttachPoint, all: &[(String, String)]) -> Vec<AttachPoint> {
    if let ProbeKind::RawTracepoint { name, .. } = &a.kind {
        return raw_tracepoint_names(all)
            .into_iter()
            .filter(|n| glob_match(&name.node, n))
            .map(|n| AttachPoint {
                kind: ProbeKind::RawTracepoint {
                    name: Name {
                        node: n.to_string(),
                        span: name.span,
                    },
                    glob: false,
                },
                ..a.clone()
            })
            .collect();
    }
    let ProbeKind::Tracepoint { category, name } = &a.kind else {
        return Vec::new();
    };
    all.iter()
        .filter(|(c, n)| glob_match(&category.node, c) && glob_match(&name.node, n))
        .map(|(c, n)| AttachPoint {
            kind: ProbeKind::Tracepoint {
                category: Name {
                    node: c.clone(),
                    span: category.span,
                },
                name: Name {
                    node: n.clone(),
                    span: name.span,
                },
            },
            ..a.clone()
        })
        .collect()
}

fn no_match(a: &AttachPoint, all: &[(String, String)]) -> Diagnostic {
    let (written, names): (String, Vec<String>) = match &a.kind {
        ProbeKind::RawTracepoint { name, .. } => (
            name.node.clone(),
            raw_tracepoint_names(all)
                .into_iter()
                .map(str::to_string)
                .collect(),
        ),
        ProbeKind::Tracepoint { category, name } => (
            format!("{}:{}", category.node, name.node),
            all.iter().map(|(c, n)| format!("{c}:{n}")).collect(),
        ),
        _ => (String::new(), Vec::new()),
    };
    let mut d = Diagnostic::error(
        codes::NO_TRACEPOINT,
        format!("no tracepoint matches `{written}`"),
    )
    .primary(a.span, "matches nothing on this kernel");
    let close = nearest(
        &written.replace(['*', '?'], ""),
        names.iter().map(String::as_str),
        3,
    );
    if !close.is_empty() {
        d = d.help(format!(
            "tracepoints with similar names: {}",
            close.join(", ")
        ));
    }
    d
}
