//! Reading the kernel verifier's log: which instruction it rejected and why, and which source
//! span that instruction came from.

use gprobe_compiler::span::Span;

#[derive(Debug, Default, PartialEq)]
pub struct Rejection {
    /// The index of the last instruction the verifier was looking at.
    pub insn: Option<u32>,
    /// The kernel's one-line reason (e.g. `invalid mem access 'scalar'`).
    pub reason: Option<String>,
}

/// An instruction line looks like `12: (61) r1 = *(u32 *)(r2 +0)`; register-state lines
/// (`12: R1=ctx()`) and summary lines are not instructions.
fn insn_index(line: &str) -> Option<u32> {
    let (index, rest) = line.split_once(": ")?;
    let index: u32 = index.trim().parse().ok()?;
    rest.starts_with('(').then_some(index)
}

fn is_summary(line: &str) -> bool {
    [
        "processed ",
        "verification time",
        "stack depth",
        "max_states_per_insn",
        "mark_read",
        "peak_states",
    ]
    .iter()
    .any(|p| line.starts_with(p))
}

/// The rejected instruction and reason from a verifier log: the reason is the last line that
/// is neither an instruction, a register state nor a statistics line.
pub fn rejection(log: &str) -> Rejection {
    let lines: Vec<&str> = log
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .collect();
    let mut out = Rejection::default();
    for (i, line) in lines.iter().enumerate().rev() {
        if is_summary(line) || line.starts_with(';') {
            continue;
        }
        let is_state = line
            .split_once(": ")
            .is_some_and(|(n, _)| n.trim().parse::<u32>().is_ok())
            || line.starts_with("from ");
        if out.reason.is_none() && !is_state {
            out.reason = Some(line.trim().to_string());
            // The instruction it complains about is the nearest one above.
            out.insn = lines[..i].iter().rev().find_map(|l| insn_index(l));
            break;
        }
    }
    if out.insn.is_none() {
        out.insn = lines.iter().rev().find_map(|l| insn_index(l));
    }
    out
}

/// The span of the statement instruction `insn` was generated from: the last entry at or
/// before it in the (sorted) table.
pub fn span_of(insn_spans: &[(u32, Span)], insn: u32) -> Option<Span> {
    let i = insn_spans
        .partition_point(|(at, _)| *at <= insn)
        .checked_sub(1)?;
    Some(insn_spans[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_reason_and_instruction() {
        let log = "0: R1=ctx() R10=fp0\n0: (79) r2 = *(u64 *)(r1 +104)       ; R1=ctx() R2_w=scalar()\n\
                   1: (61) r3 = *(u32 *)(r2 +0)\nR2 invalid mem access 'scalar'\n\
                   processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n";
        assert_eq!(
            rejection(log),
            Rejection {
                insn: Some(1),
                reason: Some("R2 invalid mem access 'scalar'".into())
            }
        );
        let spans = [
            (0, Span::new(0, 5)),
            (1, Span::new(10, 20)),
            (4, Span::new(30, 40)),
        ];
        assert_eq!(span_of(&spans, 1), Some(Span::new(10, 20)));
        assert_eq!(span_of(&spans, 3), Some(Span::new(10, 20)));
        assert_eq!(span_of(&[], 3), None);
    }

    #[test]
    fn exit_without_r0() {
        let log =
            "0: R1=ctx() R10=fp0\n0: (95) exit\nR0 !read_ok\nprocessed 1 insns (limit 1000000)\n";
        assert_eq!(
            rejection(log),
            Rejection {
                insn: Some(0),
                reason: Some("R0 !read_ok".into())
            }
        );
    }
}
