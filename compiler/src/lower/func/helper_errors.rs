//! `-k` and `-kk`, as bpftrace's: a map update or delete (`-k`), or a probe read (`-kk`), that
//! fails sends a `HelperError` event (the helper's negative return value), which the runtime
//! prints as a warning with the source location.

use super::{Lower, R};
use crate::bpf::{Helper, Size};
use crate::ir::{Base, Cond, Inst, Operand, VReg};
use crate::manifest::EventSpec;
use crate::span::Span;

impl Lower<'_, '_, '_> {
    /// Whether failed map updates and deletes are reported (`-k`, and `-kk`).
    pub(super) fn checks_helpers(&self) -> bool {
        self.module.options.helper_errors >= 1
    }

    /// Where bpftrace places a failed update of the map written at `map`: on the assignment's
    /// operator after it (`=`, `+=`, ...), else on the map.
    pub(super) fn assignment_at(&self, map: Span) -> Span {
        let source = self.module.source;
        let after = source.get(map.end as usize..).unwrap_or_default();
        let start = after.len() - after.trim_start().len();
        let op = after[start..].find('=').filter(|&eq| {
            after[start..start + eq]
                .chars()
                .all(|c| "+-*/%&|^<>".contains(c))
        });
        match op {
            Some(eq) => {
                let from = map.end as usize + start;
                Span::new(from, from + eq + 1)
            }
            None => map,
        }
    }

    /// Whether failed reads are reported (`-kk`).
    pub(super) fn checks_reads(&self) -> bool {
        self.module.options.helper_errors >= 2
    }

    /// `if ret < 0 { send HelperError(ret) }` for the `helper` call written at `span`.
    pub(super) fn report_helper_error(&mut self, helper: Helper, ret: VReg, span: Span) -> R<()> {
        let source = self.module.source;
        let (line, col) = line_col(source, span.start as usize);
        let text = source.lines().nth(line - 1).unwrap_or_default();
        // bpftrace's form: `1:24-25`, then the line and `~` under the expression.
        let width = (span.end.saturating_sub(span.start) as usize)
            .clamp(1, text.len().saturating_sub(col - 1).max(1));
        let id = self.module.event(EventSpec::HelperError {
            helper: helper.name().trim_start_matches("bpf_").to_string(),
            location: format!(
                "{line}:{col}-{}\n{text}\n{}{}",
                col + width,
                " ".repeat(col - 1),
                "~".repeat(width)
            ),
        });
        let done = self.label();
        self.emit(Inst::Branch {
            cond: Cond::Sge,
            lhs: ret,
            rhs: Operand::Imm(0),
            target: done,
        });
        let mark = self.sp;
        let base = self.alloc(16)?;
        self.store_imm64(base, id);
        self.emit(Inst::Store {
            base: Base::Fp,
            off: base + 8,
            size: Size::DW,
            src: Operand::Reg(ret),
        });
        self.output_event(base, 8, true, 0)?;
        self.sp = mark;
        self.emit(Inst::Label(done));
        Ok(())
    }
}

/// 1-based line and column of byte `at` in `source`.
fn line_col(source: &str, at: usize) -> (usize, usize) {
    let before = &source[..at.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, col)
}
