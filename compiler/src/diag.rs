//! Diagnostics as data. Every phase reports [`Diagnostic`]s (a code, a message, spans with labels,
//! notes and a help line); only the edge (the CLI, tests) renders them, with codespan-reporting.

use crate::span::Span;
use codespan_reporting::diagnostic as cs;
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term;
use codespan_reporting::term::termcolor::Ansi;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Severity {
    Error,
    Warning,
}

/// A span with a message. The primary label is where the problem is; secondary labels give
/// context ("first used here").
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Label {
    pub span: Span,
    pub message: String,
    pub primary: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[error("{message}")]
pub struct Diagnostic {
    pub severity: Severity,
    /// A stable short code, e.g. `E0201`; see [`codes`].
    pub code: &'static str,
    pub message: String,
    pub labels: Vec<Label>,
    pub notes: Vec<String>,
    /// "did you mean `nsecs`?" and similar fix suggestions.
    pub help: Option<String>,
}

/// Diagnostic codes: `E01xx` syntax, `E02xx` names, `E03xx` types, `E04xx` probes and
/// providers, `E05xx` maps and aggregations, `E06xx` builtin calls and printf.
pub mod codes {
    pub const SYNTAX: &str = "E0100";
    pub const BAD_LITERAL: &str = "E0101";
    pub const BAD_ESCAPE: &str = "E0102";
    pub const BAD_UNROLL: &str = "E0103";
    /// A `#` directive that cannot be carried out (unknown, malformed, unbalanced `#if`).
    pub const PREPROCESSOR: &str = "E0104";
    /// A macro use that does not expand to an expression.
    pub const BAD_MACRO: &str = "E0105";
    /// A C definition of the program that cannot be laid out (unknown type, duplicate member,
    /// bit-field too wide, a struct containing itself).
    pub const BAD_C_TYPE: &str = "E0106";

    pub const UNKNOWN_NAME: &str = "E0200";
    pub const UNKNOWN_FUNCTION: &str = "E0201";
    pub const UNKNOWN_MAP: &str = "E0202";
    pub const UNSET_VARIABLE: &str = "E0203";
    pub const BAD_POSITIONAL: &str = "E0204";
    pub const UNKNOWN_FIELD: &str = "E0205";
    pub const NOT_A_FUNCTION: &str = "E0206";
    pub const NOT_A_VALUE: &str = "E0207";

    pub const TYPE_MISMATCH: &str = "E0300";
    pub const BAD_OPERAND: &str = "E0301";
    pub const BAD_CAST: &str = "E0302";
    pub const VAR_TYPE_CHANGED: &str = "E0303";
    pub const NO_VALUE: &str = "E0304";

    pub const UNKNOWN_PROVIDER: &str = "E0400";
    pub const UNSUPPORTED_PROVIDER: &str = "E0401";
    pub const BAD_ATTACH: &str = "E0402";
    pub const NOT_IN_PROBE: &str = "E0403";
    pub const NO_SIGNATURE: &str = "E0404";
    pub const NO_TRACEPOINT: &str = "E0405";
    pub const NO_TARGET: &str = "E0406";
    pub const MIXED_ARGS: &str = "E0407";
    /// A uprobe names a function the binary does not have (or one without a RET for a return probe).
    pub const NO_FUNCTION: &str = "E0408";
    /// A Go builtin (`goid`) used where the program is not Go (or no Go target is given).
    pub const NOT_GO: &str = "E0409";
    /// A Go builtin the target's Go release does not support (`goparent` before Go 1.21).
    pub const GO_TOO_OLD: &str = "E0410";
    /// A uprobe's binary cannot take probes: missing, not an ELF executable or shared library,
    /// or built for another architecture.
    pub const BAD_BINARY: &str = "E0411";
    /// None of a program's uprobes is in its binary: the package they trace is not linked.
    pub const NOT_LINKED: &str = "E0412";
    /// A `usdt:` attach point names a probe the binary does not have.
    pub const NO_USDT: &str = "E0420";
    /// `argN` beyond a USDT probe's arguments, or one whose location cannot be read.
    pub const USDT_ARG: &str = "E0421";
    /// `argN` beyond the arguments a raw tracepoint passes.
    pub const RAW_TRACEPOINT_ARG: &str = "E0422";

    pub const MAP_KEYS: &str = "E0500";
    pub const MAP_VALUE: &str = "E0501";
    pub const AGG_OUTSIDE_MAP: &str = "E0502";
    pub const AGG_MIXED: &str = "E0503";
    pub const AGG_READ: &str = "E0504";
    pub const NOT_A_MAP: &str = "E0505";

    pub const ARG_COUNT: &str = "E0600";
    pub const ARG_TYPE: &str = "E0601";
    pub const NEEDS_LITERAL: &str = "E0602";
    pub const PRINTF_FORMAT: &str = "E0603";
    pub const PRINTF_ARGS: &str = "E0604";
    /// A compile-time look-up failed: `kaddr("sym")`, `cgroupid("path")`, a signal name.
    pub const NOT_FOUND: &str = "E0605";
    /// `signal()` and the like without `--unsafe`.
    pub const NEEDS_UNSAFE: &str = "E0606";
    /// `debugf()`: output into the kernel's trace_pipe (a warning, as in bpftrace).
    pub const DEBUG_OUTPUT: &str = "E0607";
    /// `pton("...")`: not an IPv4 or IPv6 address.
    pub const BAD_ADDRESS: &str = "E0608";
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            labels: Vec::new(),
            notes: Vec::new(),
            help: None,
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    /// Where the problem is.
    pub fn primary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
            primary: true,
        });
        self
    }

    /// Context for the problem (e.g. an earlier, conflicting use).
    pub fn secondary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
            primary: false,
        });
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The codespan-reporting form, for a single file with id `()`.
    pub fn to_codespan(&self, source_len: usize) -> cs::Diagnostic<()> {
        let severity = match self.severity {
            Severity::Error => cs::Severity::Error,
            Severity::Warning => cs::Severity::Warning,
        };
        // Spans past the end (e.g. "unexpected end of input") are clamped so rendering never fails.
        let clamp = |span: Span| {
            let start = (span.start as usize).min(source_len);
            let end = (span.end as usize).clamp(start, source_len);
            start..end
        };
        let labels = self
            .labels
            .iter()
            .map(|l| {
                let style = if l.primary {
                    cs::LabelStyle::Primary
                } else {
                    cs::LabelStyle::Secondary
                };
                cs::Label::new(style, (), clamp(l.span)).with_message(l.message.clone())
            })
            .collect();
        let mut notes = self.notes.clone();
        if let Some(help) = &self.help {
            notes.push(format!("help: {help}"));
        }
        cs::Diagnostic::new(severity)
            .with_code(self.code)
            .with_message(self.message.clone())
            .with_labels(labels)
            .with_notes(notes)
    }
}

/// Renders diagnostics for `source` (shown as `file_name`) into a string, with ANSI colours when
/// `color` is set. Callers decide colour (the CLI: only when stderr is a terminal).
pub fn render(diagnostics: &[Diagnostic], file_name: &str, source: &str, color: bool) -> String {
    let file = SimpleFile::new(file_name, source);
    let config = term::Config::default();
    let mut out = String::new();
    for d in diagnostics {
        let diagnostic = d.to_codespan(source.len());
        let rendered = if color {
            let mut buffer = Ansi::new(Vec::new());
            term::emit_to_write_style(&mut buffer, &config, &file, &diagnostic)
                .map(|()| String::from_utf8_lossy(&buffer.into_inner()).into_owned())
        } else {
            term::emit_into_string(&config, &file, &diagnostic)
        };
        // Spans are clamped to the source, so this only fails on a broken file table; keep the
        // message rather than lose it.
        match rendered {
            Ok(text) => out.push_str(&text),
            Err(_) => out.push_str(&format!("error[{}]: {}\n", d.code, d.message)),
        }
    }
    out
}

/// The closest of `candidates` to `name` by edit distance, if close enough to be a likely typo.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    crate::names::nearest(name, candidates, 1)
        .into_iter()
        .next()
}
