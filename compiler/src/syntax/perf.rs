//! Perf-event attach points: `software:EVENT[:COUNT]`, `hardware:EVENT[:COUNT]` and
//! `watchpoint:ADDR:LEN:MODE` / `asyncwatchpoint:…`, with bpftrace 0.17's event names, aliases
//! and default counts (the sample period when COUNT is omitted).

use super::attach::Part;
use super::literal;
use crate::ast::ProbeKind;
use crate::diag::{Diagnostic, codes, did_you_mean};
use crate::span::{Span, Spanned};

/// One perf event as bpftrace names it.
pub struct PerfEventName {
    pub name: &'static str,
    /// bpftrace's short name (`cs` for `context-switches`), `""` when none.
    pub alias: &'static str,
    /// The sample period when the attach point gives no count.
    pub default_count: u64,
}

const fn ev(name: &'static str, alias: &'static str, default_count: u64) -> PerfEventName {
    PerfEventName {
        name,
        alias,
        default_count,
    }
}

/// `software:` events (PERF_TYPE_SOFTWARE), as bpftrace 0.17 lists them.
pub const SOFTWARE: &[PerfEventName] = &[
    ev("alignment-faults", "", 1),
    ev("bpf-output", "", 1),
    ev("context-switches", "cs", 1000),
    ev("cpu-clock", "cpu", 1_000_000),
    ev("cpu-migrations", "", 1),
    ev("dummy", "", 1),
    ev("emulation-faults", "", 1),
    ev("major-faults", "", 1),
    ev("minor-faults", "", 100),
    ev("page-faults", "faults", 100),
    ev("task-clock", "", 1),
];

/// `hardware:` events (PERF_TYPE_HARDWARE), as bpftrace 0.17 lists them.
pub const HARDWARE: &[PerfEventName] = &[
    ev("backend-stalls", "", 1_000_000),
    ev("branch-instructions", "branches", 100_000),
    ev("branch-misses", "", 100_000),
    ev("bus-cycles", "", 100_000),
    ev("cache-misses", "", 1_000_000),
    ev("cache-references", "", 1_000_000),
    ev("cpu-cycles", "cycles", 1_000_000),
    ev("frontend-stalls", "", 1_000_000),
    ev("instructions", "", 1_000_000),
    ev("ref-cycles", "", 1_000_000),
];

/// `software:EVENT[:COUNT]` or `hardware:EVENT[:COUNT]`; the event is stored by its full name.
pub fn counter(
    provider: &Part,
    rest: &[Part],
    span: Span,
    hardware: bool,
) -> Result<ProbeKind, Diagnostic> {
    let (table, what, example) = if hardware {
        (HARDWARE, "hardware", "hardware:cpu-cycles:1000000")
    } else {
        (SOFTWARE, "software", "software:page-faults:100")
    };
    let Some(event) = rest.first() else {
        return Err(Diagnostic::error(
            codes::BAD_ATTACH,
            format!("`{}` needs an event name", provider.text),
        )
        .primary(span, "which event?")
        .help(format!("write it like `{example}`"))
        .note(format!("{what} events: {}", names(table))));
    };
    if rest.len() > 2 {
        return Err(Diagnostic::error(
            codes::BAD_ATTACH,
            format!(
                "`{}` takes an event and an optional count, found {} parts",
                provider.text,
                rest.len()
            ),
        )
        .primary(span, "malformed attach point")
        .help(format!("write it like `{example}`")));
    }
    let Some(known) = table
        .iter()
        .find(|e| e.name == event.text || (!e.alias.is_empty() && e.alias == event.text))
    else {
        let mut d = Diagnostic::error(
            codes::BAD_ATTACH,
            format!("`{}` is not a {what} event", event.text),
        )
        .primary(event.span, format!("unknown {what} event"));
        let candidates = table
            .iter()
            .flat_map(|e| [e.name, e.alias])
            .filter(|n| !n.is_empty());
        if let Some(guess) = did_you_mean(&event.text, candidates) {
            d = d.help(format!("did you mean `{guess}`?"));
        }
        return Err(d.note(format!("{what} events: {}", names(table))));
    };
    let count = match rest.get(1) {
        None => known.default_count,
        Some(part) => positive(part, "a positive sample count")?,
    };
    let event = Spanned::new(known.name.to_string(), event.span);
    Ok(if hardware {
        ProbeKind::Hardware { event, count }
    } else {
        ProbeKind::Software { event, count }
    })
}

/// `watchpoint:ADDR:LEN:MODE` (and `asyncwatchpoint:`): a hardware breakpoint on LEN bytes at
/// the absolute address ADDR of the `-p`/`-c` process, firing on MODE accesses.
pub fn watchpoint(provider: &Part, rest: &[Part], span: Span) -> Result<ProbeKind, Diagnostic> {
    let is_async = provider.text == "asyncwatchpoint";
    if rest.len() != 3 {
        let mut d = Diagnostic::error(
            codes::BAD_ATTACH,
            format!(
                "`{}` takes an address, a length and a mode, found {} part(s)",
                provider.text,
                rest.len()
            ),
        )
        .primary(span, "malformed attach point")
        .help(format!("write it like `{}:0x601040:8:w`", provider.text));
        if rest.len() == 2 {
            d = d
                .note("the address is an absolute address or `FUNC+argN`, a C function's argument");
        }
        return Err(d);
    }
    // `FUNC+argN`: the address FUNC is called with, as its C-ABI argument N.
    let armed_at = match rest[0].text.rsplit_once("+arg") {
        Some((function, n)) if !function.is_empty() => match n.parse::<u8>() {
            Ok(n) if n < 6 => {
                let start = rest[0].span.start as usize;
                Some((
                    Spanned::new(
                        function.to_string(),
                        Span::new(start, start + function.len()),
                    ),
                    n,
                ))
            }
            _ => {
                return Err(Diagnostic::error(
                    codes::BAD_ATTACH,
                    format!("`arg{n}` is not an argument register"),
                )
                .primary(rest[0].span, "expected arg0 to arg5")
                .note("a watchpoint takes its address from one of the six argument registers"));
            }
        },
        _ => None,
    };
    let address = match (&armed_at, literal::int(&rest[0].text)) {
        (Some(_), _) => 0,
        (None, Ok(a)) if a > 0 => a,
        _ => {
            return Err(Diagnostic::error(
                codes::BAD_ATTACH,
                format!("`{}` is not an address", rest[0].text),
            )
            .primary(
                rest[0].span,
                "expected an address like 0x601040, or FUNC+argN",
            )
            .note(
                "`FUNC+argN` watches the address the target's function FUNC gets as argument N",
            ));
        }
    };
    let len = match literal::int(&rest[1].text) {
        Ok(n @ (1 | 2 | 4 | 8)) => n as u8,
        _ => {
            return Err(Diagnostic::error(
                codes::BAD_ATTACH,
                format!("watchpoint length `{}` is not 1, 2, 4 or 8", rest[1].text),
            )
            .primary(rest[1].span, "must be one of 1, 2, 4, 8")
            .note("a debug register watches 1, 2, 4 or 8 aligned bytes"));
        }
    };
    let mode = &rest[2];
    let normal = match mode.text.as_str() {
        "r" | "w" | "x" => mode.text.clone(),
        "rw" | "wr" => "rw".to_string(),
        _ => {
            return Err(Diagnostic::error(
                codes::BAD_ATTACH,
                format!("invalid watchpoint mode `{}`", mode.text),
            )
            .primary(mode.span, "expected r, w, rw or x")
            .note("the CPU can watch reads and writes together, but not execution with either"));
        }
    };
    if address % u64::from(len) != 0 {
        return Err(Diagnostic::error(
            codes::BAD_ATTACH,
            format!("address {address:#x} is not aligned to the length {len}"),
        )
        .primary(rest[0].span, "misaligned")
        .note("a debug register watches an aligned range: the address must be a multiple of the length"));
    }
    Ok(ProbeKind::Watchpoint {
        address,
        armed_at,
        len,
        mode: Spanned::new(normal, mode.span),
        is_async,
    })
}

fn positive(part: &Part, what: &str) -> Result<u64, Diagnostic> {
    match literal::int(&part.text) {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(Diagnostic::error(
            codes::BAD_ATTACH,
            format!("`{}` is not a positive count", part.text),
        )
        .primary(part.span, format!("expected {what}"))),
    }
}

fn names(table: &[PerfEventName]) -> String {
    table
        .iter()
        .map(|e| {
            if e.alias.is_empty() {
                e.name.to_string()
            } else {
                format!("{} ({})", e.name, e.alias)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}
