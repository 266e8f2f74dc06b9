//! The `gprobe` command line: read a program, run the front end, render diagnostics, and (once
//! wired) hand the compiled program to the runtime.

use clap::{Parser, ValueEnum};
use gprobe_compiler::check::{Env, GoFunction, Options, tracefs};
use gprobe_compiler::types::Field;
use gprobe_compiler::{Diagnostic, ast, diag, dump};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "gprobe",
    version,
    about = "A dynamic tracer for Go programs, with a bpftrace-like language"
)]
struct Cli {
    /// The program text (instead of FILE).
    #[arg(short = 'e', value_name = "PROGRAM")]
    program: Option<String>,

    /// Check the program and exit (0 if it is valid, 1 if not) without loading anything.
    #[arg(long)]
    check: bool,

    /// Print an intermediate form: `ast` is the checked, type-annotated syntax tree.
    #[arg(short = 'd', value_name = "STAGE")]
    dump: Option<Stage>,

    /// Trace this process (uprobes may then omit the binary).
    #[arg(short = 'p', value_name = "PID")]
    pid: Option<u32>,

    /// Run this command and trace it until it exits.
    #[arg(short = 'c', value_name = "CMD")]
    command: Option<String>,

    /// Verbose output.
    #[arg(short = 'v')]
    verbose: bool,

    /// FILE (unless -e is given) then positional parameters `$1`, `$2`, ...
    #[arg(
        value_name = "FILE | ARGS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    rest: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Stage {
    Ast,
}

/// Facts from this machine: tracepoint formats from tracefs (read only if mounted; mounting is
/// the runtime's job). Go signatures are not read yet.
struct SystemEnv;

impl Env for SystemEnv {
    fn tracepoint_fields(&self, category: &str, name: &str) -> Result<Vec<Field>, String> {
        let roots = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];
        if category.contains(['/', '.']) || name.contains(['/', '.']) {
            return Err("tracepoint names cannot contain `/` or `.`".into());
        }
        let mut tried = Vec::new();
        for root in roots {
            let path = format!("{root}/events/{category}/{name}/format");
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    return tracefs::parse_format(&text).map_err(|e| format!("{path}: {e}"));
                }
                Err(e) => tried.push(format!("{path}: {e}")),
            }
        }
        Err(format!(
            "cannot read the tracepoint format ({}); is tracefs mounted?",
            tried.join("; ")
        ))
    }

    fn go_function(&self, _binary: Option<&str>, function: &str) -> Result<GoFunction, String> {
        Err(format!(
            "reading Go signatures from binaries is not implemented yet (`{function}`)"
        ))
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Every phase recurses on the program's nesting; give it room whatever the input.
    let worker = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || run(cli));
    match worker.map(|handle| handle.join()) {
        Ok(Ok(code)) => code,
        _ => {
            eprintln!("gprobe: internal error");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> ExitCode {
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut rest = cli.rest.clone();
    let (source, file_name) = match (&cli.program, rest.is_empty()) {
        (Some(program), _) => (program.clone(), "<command line>".to_string()),
        (None, false) => {
            let path = PathBuf::from(rest.remove(0));
            match std::fs::read_to_string(&path) {
                Ok(text) => (text, path.display().to_string()),
                Err(e) => {
                    eprintln!("gprobe: cannot read {}: {e}", path.display());
                    return ExitCode::FAILURE;
                }
            }
        }
        (None, true) => {
            eprintln!("gprobe: give a program with -e PROGRAM or a FILE (see --help)");
            return ExitCode::FAILURE;
        }
    };
    if rest.first().is_some_and(|a| a == "--") {
        rest.remove(0);
    }
    let options = Options {
        positional: rest,
        has_target: cli.pid.is_some() || cli.command.is_some(),
    };

    let report = |diagnostics: &[Diagnostic]| {
        eprint!("{}", diag::render(diagnostics, &file_name, &source, color));
        let errors = diagnostics.iter().filter(|d| d.is_error()).count();
        if errors > 0 {
            eprintln!("gprobe: {errors} error(s) in {file_name}");
        }
    };

    let mut program = match gprobe_compiler::parse(&source) {
        Ok(program) => program,
        Err(diagnostics) => {
            report(&diagnostics);
            return ExitCode::FAILURE;
        }
    };
    let (result, warnings) =
        gprobe_compiler::check::check_with_warnings(&mut program, &SystemEnv, &options);
    if !warnings.is_empty() {
        report(&warnings);
    }
    let checked = match result {
        Ok(checked) => checked,
        Err(diagnostics) => {
            report(&diagnostics);
            return ExitCode::FAILURE;
        }
    };
    if cli.dump == Some(Stage::Ast) {
        print!("{}", dump::ast(&program, &source));
    }
    if cli.check || cli.dump.is_some() {
        return ExitCode::SUCCESS;
    }
    match trace(&program, &checked, &cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("gprobe: {message}");
            ExitCode::FAILURE
        }
    }
}

/// THE call site to wire to the backend and runtime (lower → ELF + manifest → load, attach, run
/// the event loop, print maps). Until then running a program is refused clearly.
fn trace(
    program: &ast::Program,
    checked: &gprobe_compiler::Checked,
    cli: &Cli,
) -> Result<(), String> {
    let _ = (program, checked, cli.verbose, &cli.command, cli.pid);
    Err("tracing is not wired yet: only `--check` and `-d ast` work in this build".into())
}
