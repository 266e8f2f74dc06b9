//! Everything that can go wrong at run time, as data: the CLI renders these with spans from the
//! manifest. No raw errno ever reaches the user without saying what gprobe was doing.

use gprobe_compiler::span::Span;
use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("gprobe needs root (or CAP_BPF and CAP_PERFMON) to load eBPF programs")]
    NotPrivileged,

    #[error("tracefs is not mounted at /sys/kernel/tracing and mounting it failed: {reason}")]
    Tracefs { reason: String },

    #[error("binary not found: {path}")]
    BinaryNotFound { path: PathBuf, span: Span },

    #[error("{path} is not an ELF executable")]
    NotElf { path: PathBuf, span: Span },

    #[error("{path} is built for {arch}, but this machine is {host}")]
    WrongArch {
        path: PathBuf,
        arch: String,
        host: String,
        span: Span,
    },

    #[error("{binary} is not a Go binary (no .gopclntab), so it has no Go function `{symbol}`")]
    NotGo {
        symbol: String,
        binary: String,
        span: Span,
    },

    #[error("symbol `{symbol}` not found in {binary}{}", hint(nearest))]
    SymbolNotFound {
        symbol: String,
        binary: String,
        nearest: Vec<String>,
        span: Span,
    },

    #[error("tracepoint {category}:{name} not found{}", hint(nearest))]
    TracepointNotFound {
        category: String,
        name: String,
        nearest: Vec<String>,
        span: Span,
    },

    #[error("process {pid} does not exist (or exited)")]
    PidGone { pid: u32 },

    #[error("this kernel has no {kind} support: {reason}")]
    ProbeTypeMissing {
        kind: String,
        reason: String,
        span: Span,
    },

    #[error("cannot attach {probe}: {reason}")]
    Attach {
        probe: String,
        reason: String,
        span: Span,
    },

    #[error("the kernel's verifier rejected {program}: {reason}")]
    Verifier {
        program: String,
        reason: String,
        /// The source span of the rejected instruction, when the log names one we know.
        span: Option<Span>,
        /// The instruction index the log names.
        insn: Option<u32>,
        /// The whole verifier log, for `-v`.
        log: String,
    },

    #[error("loading the eBPF object failed: {reason}")]
    Load { reason: String },

    #[error("the manifest and the object disagree: {reason}")]
    Manifest { reason: String },

    #[error("cannot start `{command}`: {source}")]
    Command { command: String, source: io::Error },

    #[error("{what}: {source}")]
    Io { what: String, source: io::Error },

    #[error("writing output failed: {0}")]
    Output(io::Error),
}

fn hint(nearest: &[String]) -> String {
    if nearest.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", nearest.join(", "))
    }
}

impl RuntimeError {
    /// The source span this error points at, if any.
    pub fn span(&self) -> Option<Span> {
        match self {
            RuntimeError::BinaryNotFound { span, .. }
            | RuntimeError::NotElf { span, .. }
            | RuntimeError::WrongArch { span, .. }
            | RuntimeError::NotGo { span, .. }
            | RuntimeError::SymbolNotFound { span, .. }
            | RuntimeError::TracepointNotFound { span, .. }
            | RuntimeError::ProbeTypeMissing { span, .. }
            | RuntimeError::Attach { span, .. } => Some(*span),
            RuntimeError::Verifier { span, .. } => *span,
            _ => None,
        }
    }

    pub(crate) fn io(what: impl Into<String>, source: io::Error) -> RuntimeError {
        RuntimeError::Io {
            what: what.into(),
            source,
        }
    }
}

/// Up to three names closest to `wanted` (edit distance), for "did you mean" hints.
pub fn nearest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    gprobe_compiler::names::nearest(wanted, candidates, 3)
        .into_iter()
        .map(str::to_owned)
        .collect()
}
