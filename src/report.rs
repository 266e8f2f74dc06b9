//! Rendering at the edge: compiler diagnostics and runtime errors become codespan-reporting
//! output pointing at the script, colour only on a terminal.

use gprobe_compiler::diag::{self, Diagnostic};
use gprobe_runtime::RuntimeError;
use std::io::IsTerminal;

pub struct Reporter<'a> {
    pub file_name: &'a str,
    pub source: &'a str,
    pub color: bool,
}

impl<'a> Reporter<'a> {
    pub fn new(file_name: &'a str, source: &'a str) -> Reporter<'a> {
        let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Reporter {
            file_name,
            source,
            color,
        }
    }

    pub fn diagnostics(&self, diagnostics: &[Diagnostic]) {
        eprint!(
            "{}",
            diag::render(diagnostics, self.file_name, self.source, self.color)
        );
        let errors = diagnostics.iter().filter(|d| d.is_error()).count();
        if errors > 0 {
            eprintln!("gprobe: {errors} error(s) in {}", self.file_name);
        }
    }

    /// A runtime error: with a span it renders like a compile error (the attach point or the
    /// rejected instruction's source), otherwise as one line.
    pub fn runtime(&self, error: &RuntimeError, verbose: bool) {
        let code = runtime_code(error);
        match error.span() {
            Some(span) => {
                let label = match error {
                    RuntimeError::Verifier { insn: Some(i), .. } => {
                        format!("instruction {i} comes from here")
                    }
                    _ => "in this probe".to_string(),
                };
                let mut d = Diagnostic::error(code, error.to_string()).primary(span, label);
                if let Some(help) = runtime_help(error, verbose) {
                    d = d.help(help);
                }
                eprint!(
                    "{}",
                    diag::render(&[d], self.file_name, self.source, self.color)
                );
            }
            None => {
                eprintln!("gprobe: error: {error}");
                if let Some(help) = runtime_help(error, verbose) {
                    eprintln!("  = help: {help}");
                }
            }
        }
        if verbose && let RuntimeError::Verifier { log, .. } = error {
            eprintln!("--- verifier log ---\n{log}");
        }
    }
}

fn runtime_code(error: &RuntimeError) -> &'static str {
    match error {
        RuntimeError::NotPrivileged => "E0800",
        RuntimeError::Tracefs { .. } => "E0801",
        RuntimeError::BinaryNotFound { .. } => "E0802",
        RuntimeError::SymbolNotFound { .. } => "E0803",
        RuntimeError::TracepointNotFound { .. } => "E0804",
        RuntimeError::PidGone { .. } => "E0805",
        RuntimeError::ProbeTypeMissing { .. } => "E0806",
        RuntimeError::Attach { .. } => "E0807",
        RuntimeError::Verifier { .. } => "E0808",
        RuntimeError::Load { .. } => "E0809",
        RuntimeError::Manifest { .. } => "E0810",
        RuntimeError::Command { .. } => "E0811",
        RuntimeError::Io { .. } => "E0812",
        RuntimeError::Output(_) => "E0813",
        RuntimeError::NotElf { .. } => "E0814",
        RuntimeError::WrongArch { .. } => "E0815",
        RuntimeError::NotGo { .. } => "E0816",
    }
}

fn runtime_help(error: &RuntimeError, verbose: bool) -> Option<String> {
    match error {
        RuntimeError::NotPrivileged if running_as_root() => Some(
            "gprobe runs as root here but without CAP_BPF/CAP_PERFMON (dropped capabilities?)"
                .into(),
        ),
        RuntimeError::NotPrivileged => Some("run gprobe as root, e.g. `sudo gprobe ...`".into()),
        RuntimeError::Verifier { .. } if !verbose => {
            Some("run with -v to see the kernel's whole verifier log".into())
        }
        _ => None,
    }
}

/// Effective uid 0, read from /proc (no libc dependency in the CLI just for this).
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_whitespace().nth(1).map(|euid| euid == "0"))
        .unwrap_or(false)
}
