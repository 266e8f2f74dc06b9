//! The `gprobe` command line: read a program, compile it, render diagnostics, and hand the
//! result to the runtime.

mod builtin_docs;
mod env;
mod info;
mod knobs;
mod libs;
mod list_usdt;
mod listing;
mod native_list;
mod patterns;
mod recipes;
mod report;
mod sinks;
mod target_defines;
mod target_info;
mod targets;

use clap::{Parser, ValueEnum};
use gprobe_compiler::check::{self, Options};
use gprobe_compiler::{CompileOptions, dump};
use gprobe_runtime::Session;
use report::Reporter;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "gprobe",
    version,
    about = "A dynamic tracer for Go programs, with a bpftrace-like language compiled straight to eBPF"
)]
struct Cli {
    /// The program text (instead of FILE).
    #[arg(short = 'e', value_name = "PROGRAM")]
    program: Option<String>,

    /// Compile the program and exit (0 if it is valid, 1 if not) without loading anything.
    #[arg(long)]
    check: bool,

    /// Search DIR for `#include` (before the system's include directories), as bpftrace's -I.
    #[arg(short = 'I', value_name = "DIR")]
    include_dir: Vec<PathBuf>,

    /// Print an intermediate form: the checked AST, the IR, or the eBPF instructions.
    #[arg(short = 'd', value_name = "STAGE")]
    dump: Option<Stage>,

    /// List probes matching the pattern given as FILE (e.g. 'tracepoint:syscalls:*'); with -v,
    /// their arguments too.
    #[arg(short = 'l')]
    list: bool,

    /// Write the compiled program instead of running it (`obj`: ELF object to -o FILE, and its
    /// manifest to FILE.manifest.json).
    #[arg(long, value_name = "KIND")]
    emit: Option<Emit>,

    /// Output file: where trace output goes (instead of stdout), or, with --emit obj, the
    /// object file.
    #[arg(short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,

    /// Output format of trace output: bpftrace-compatible text, or JSON lines.
    #[arg(short = 'f', value_name = "FORMAT", default_value = "text")]
    format: sinks::Format,

    /// Serve the maps as Prometheus metrics on http://ADDR/metrics while tracing (ADDR is
    /// HOST:PORT, or a PORT on 127.0.0.1).
    #[arg(long, value_name = "ADDR")]
    prometheus: Option<String>,

    /// TLS and basic auth for --prometheus: a Prometheus exporter web configuration file
    /// (YAML: tls_server_config with cert_file, key_file, optional client_ca_file and
    /// client_auth_type; basic_auth_users mapping users to bcrypt hashes).
    #[arg(long = "web.config.file", value_name = "FILE", requires = "prometheus")]
    web_config_file: Option<PathBuf>,

    /// Push the maps as OpenTelemetry metrics (OTLP) to this http:// or https:// URL every
    /// --interval and at exit; a URL without a path gets /v1/metrics. Without a URL, the
    /// endpoint is OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318; put --otlp after
    /// FILE, or write --otlp=URL). The protocol (http/protobuf or grpc), headers, gzip, timeout,
    /// CA and resource come from the standard OTEL_* variables (docs/output-formats.md).
    #[arg(long, value_name = "URL", num_args = 0..=1, default_missing_value = "")]
    otlp: Option<String>,

    /// The OTLP protocol for --otlp (over OTEL_EXPORTER_OTLP_PROTOCOL): http/protobuf or grpc.
    #[arg(long, value_name = "PROTOCOL", requires = "otlp",
          value_parser = clap::builder::PossibleValuesParser::new(["http/protobuf", "grpc"]))]
    otlp_protocol: Option<String>,

    /// How often --otlp pushes (e.g. 10s, 500ms, 1m).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = sinks::parse_duration)]
    interval: std::time::Duration,

    /// At exit, draw the map keyed by a stack (e.g. `@[ustack] = count()`) as a flame graph SVG.
    #[arg(long, value_name = "FILE")]
    flamegraph: Option<PathBuf>,

    /// At exit, write the map keyed by a stack as folded stacks (`root;...;leaf count`).
    #[arg(long, value_name = "FILE")]
    folded: Option<PathBuf>,

    /// At exit, write the maps keyed by a stack as a gzipped pprof profile (`go tool pprof
    /// FILE`): function names, file:line and inlined frames from the pclntab, one sample type
    /// per map (see docs/output-formats.md).
    #[arg(long, value_name = "FILE")]
    pprof: Option<PathBuf>,

    /// Trace this process (uprobes may then omit the binary); tracing ends when it exits. A
    /// comma list (`-p 12,34`) traces those processes, each on its own terms (node-wide form),
    /// until all have exited.
    #[arg(short = 'p', value_name = "PID[,PID...]", value_parser = targets::pids_arg)]
    pids: Option<targets::Pids>,

    /// Node-wide: trace only processes whose executable path (as the process sees it) matches
    /// this glob (`*`, `?` within a component, `**` across); repeatable, any may match.
    #[arg(long = "exe", value_name = "GLOB", conflicts_with_all = ["pids", "command"])]
    exe: Vec<String>,

    /// Node-wide: trace only processes whose cgroup path contains this text (e.g. a container
    /// id or `kubepods`); repeatable, any may match.
    #[arg(long = "cgroup", value_name = "SUBSTRING", conflicts_with_all = ["pids", "command"])]
    cgroup: Vec<String>,

    /// Run this command and trace it until it exits.
    #[arg(short = 'c', value_name = "CMD")]
    command: Option<String>,

    /// Run a recipe from the built-in library on the -p/-c target (ARGS are its parameters).
    #[arg(long, value_name = "NAME", conflicts_with = "program")]
    recipe: Option<String>,

    /// List the recipes, with their parameters and what they show.
    #[arg(long)]
    recipes: bool,

    /// Print the builtin reference (docs/builtins.md) generated from the builtin table.
    #[arg(long)]
    builtins: bool,

    /// Most entries each map holds (default 4096). New keys past it are dropped, and reported
    /// when tracing ends.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    map_keys_max: Option<u32>,

    /// Size of the event ring buffer in 4 KiB pages, a power of two (default 256 = 1 MiB).
    /// Events that do not fit are lost, counted and reported when tracing ends.
    #[arg(long, value_name = "PAGES", value_parser = ring_pages)]
    ring_pages: Option<u32>,

    /// DWARF for the -p/-c target (with -l, the listed binary) from FILE: the debug info of the
    /// same build kept aside (`objcopy --only-keep-debug`), so a stripped binary is traced with
    /// arguments by name.
    /// Refused unless its build id is the binary's. Without it, a binary without DWARF has its
    /// debug file looked up in /usr/lib/debug/.build-id/ by GNU build id.
    #[arg(long, value_name = "FILE")]
    debug_file: Option<PathBuf>,

    /// Verbose output (full verifier logs, probe arguments with -l).
    #[arg(short = 'v')]
    verbose: bool,

    /// Quiet: no "Attaching N probes..." banner (as bpftrace -q).
    #[arg(short = 'q')]
    quiet: bool,

    /// Helper error reporting, as bpftrace's: `-kk` prints a warning with the source location
    /// for every probe read that fails (`-k` alone reports nothing more yet).
    #[arg(short = 'k', action = clap::ArgAction::Count)]
    helper_errors: u8,

    /// Allow builtins that act on the system (`system()`, `signal()`), as bpftrace's --unsafe.
    #[arg(long = "unsafe")]
    unsafe_allowed: bool,

    /// Output buffering of text output: `none` (every printf is written at once), `line`
    /// (at each newline), `full` (when the buffer fills); default: after each batch of events.
    #[arg(short = 'B', value_name = "MODE")]
    buffering: Option<BufferMode>,

    /// Print what this kernel and machine support, probe type by probe type, and exit.
    #[arg(long)]
    info: bool,

    /// FILE (`-` reads the program from stdin; unless -e is given) then positional parameters
    /// `$1`, `$2`, ...
    /// Options may come after FILE (`gprobe x.gp -p 42`); put `--` before parameters that start
    /// with `-`.
    #[arg(value_name = "FILE | ARGS")]
    rest: Vec<String>,
}

/// Where `#include` looks: `-I` directories first, then the system's.
fn include_dirs(cli: &Cli) -> Vec<PathBuf> {
    let system = gprobe_compiler::syntax::preprocess::SYSTEM_INCLUDE_DIRS;
    cli.include_dir
        .iter()
        .cloned()
        .chain(system.iter().map(PathBuf::from))
        .collect()
}

impl Cli {
    /// `-p PID` with one pid: the fast path (the checker knows the one target).
    fn pid(&self) -> Option<u32> {
        self.pids.as_ref().and_then(targets::Pids::single)
    }

    /// `-p A,B` with two or more pids (node-wide form limited to them); empty otherwise.
    fn many_pids(&self) -> targets::Pids {
        match &self.pids {
            Some(p) if p.0.len() > 1 => p.clone(),
            _ => targets::Pids(Vec::new()),
        }
    }

    /// Node-wide but not every process: several pids, `--exe` or `--cgroup`.
    fn limited(&self) -> bool {
        !self.many_pids().0.is_empty() || !self.exe.is_empty() || !self.cgroup.is_empty()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Stage {
    Ast,
    Ir,
    Bpf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum BufferMode {
    None,
    Line,
    Full,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Emit {
    Obj,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Every compiler phase recurses on the program's nesting; give it room whatever the input.
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
    if cli.info {
        return print_out(&info::report());
    }
    if cli.list {
        return list(&cli);
    }
    // BPFTRACE_*/GPROBE_* environment knobs; a flag given on the command line wins.
    let knobs = match knobs::Knobs::from_env() {
        Ok(knobs) => knobs,
        Err(message) => {
            eprintln!("gprobe: error: {message}");
            return ExitCode::FAILURE;
        }
    };
    if cli.recipes || cli.builtins {
        return print_out(&if cli.recipes {
            recipes::listing()
        } else {
            builtin_docs::markdown()
        });
    }
    // Before compiling: the checker resolves `-p`'s binary through /proc/PID/exe, and "binary
    // not found: /proc/PID/exe" would hide the real problem.
    if let Some(pid) = cli
        .pids
        .iter()
        .flat_map(|p| &p.0)
        .find(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists())
    {
        eprintln!("gprobe: error: -p {pid}: no such process");
        return ExitCode::FAILURE;
    }
    let many = cli.many_pids();
    if !many.0.is_empty() && cli.command.is_some() {
        eprintln!(
            "gprobe: error: -p {} traces running processes node-wide; it cannot be combined with -c",
            many.listed()
        );
        return ExitCode::FAILURE;
    }
    if !many.0.is_empty() && cli.recipe.is_some() {
        eprintln!(
            "gprobe: error: a recipe traces one Go program, and -p {} names several: give one pid",
            many.listed()
        );
        return ExitCode::FAILURE;
    }
    let mut rest = cli.rest.clone();
    if rest.first().is_some_and(|a| a == "--") {
        rest.remove(0);
    }
    let (source, file_name) = match (&cli.program, rest.is_empty()) {
        _ if cli.recipe.is_some() => {
            let name = cli.recipe.as_deref().unwrap_or_default();
            match recipes::load(name, cli.pid(), cli.command.as_deref(), &rest) {
                Ok((source, file_name, positional)) => {
                    rest = positional;
                    (source, file_name)
                }
                Err(e) => {
                    eprintln!("gprobe: error: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        (Some(program), _) => (program.clone(), "<command line>".to_string()),
        (None, false) => {
            let path = PathBuf::from(rest.remove(0));
            // `-` is the program on stdin (`gprobe - < x.bt`), as for bpftrace.
            let from_stdin = path.as_os_str() == "-";
            let read = if from_stdin {
                std::io::read_to_string(std::io::stdin())
            } else {
                std::fs::read_to_string(&path)
            };
            let file_name = if from_stdin {
                "<stdin>".to_string()
            } else {
                path.display().to_string()
            };
            let text = match read {
                Ok(text) => text,
                Err(e) => {
                    eprintln!(
                        "gprobe: error: cannot read {file_name}: {}",
                        sinks::reason(&e)
                    );
                    return ExitCode::FAILURE;
                }
            };
            // `gprobe stdlib/NAME.gp` behaves as `--recipe NAME`: defaults and version regions.
            if rest.first().is_some_and(|a| a == "--") {
                rest.remove(0);
            }
            match recipes::load_file(&file_name, &text, cli.pid(), cli.command.as_deref(), &rest) {
                Ok((source, positional)) => {
                    rest = positional;
                    (source, file_name)
                }
                Err(e) => {
                    eprintln!("gprobe: error: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        (None, true) => {
            eprintln!("gprobe: error: give a program with -e PROGRAM or a FILE (see --help)");
            return ExitCode::FAILURE;
        }
    };
    if rest.first().is_some_and(|a| a == "--") {
        rest.remove(0);
    }
    let reporter = Reporter::new(&file_name, &source);
    let options = Options {
        positional: rest,
        has_target: cli.pid().is_some() || cli.command.is_some(),
        has_command: cli.command.is_some(),
        check_only: cli.check || cli.dump.is_some(),
        unsafe_allowed: cli.unsafe_allowed,
        str_size: knobs.strlen,
        requires: gprobe_compiler::check::Requirement::from_header(&source),
    };

    let parse_options = gprobe_compiler::syntax::ParseOptions {
        positional: options.positional.clone(),
        include_dirs: include_dirs(&cli),
        defines: target_defines::for_target(cli.pid(), cli.command.as_deref()),
    };
    let mut program = match gprobe_compiler::parse_with(&source, &parse_options) {
        Ok(program) => program,
        Err(diagnostics) => {
            reporter.diagnostics(&diagnostics);
            return ExitCode::FAILURE;
        }
    };
    // `--exe`/`--cgroup`: which processes node-wide work is limited to.
    let selector = gprobe_runtime::procs::Selector {
        exe_globs: cli.exe.iter().map(|g| patterns::absolute(g)).collect(),
        cgroups: cli.cgroup.clone(),
        pids: Vec::new(),
    };
    // With -p, a named binary is the file the target sees at that path (a container's own).
    if let Some(pids) = cli.pids.as_ref() {
        match targets::own_binaries(&mut program, pids) {
            Ok(notes) if cli.verbose => notes.iter().for_each(|n| eprintln!("gprobe: note: {n}")),
            Ok(_) => {}
            Err(diagnostics) => {
                reporter.diagnostics(&diagnostics);
                return ExitCode::FAILURE;
            }
        }
    }
    // A recipe without a target runs over every Go process: its uprobes on every Go binary,
    // its maps keyed by process first.
    let recipe_node_wide = cli.recipe.is_some() && !options.has_target;
    if recipe_node_wide {
        by_process(&mut program);
    }
    // Binary patterns (`uprobe:*:FUNC`) become one attach point per matching binary now;
    // programs started later are compiled for when they start (see `recompile_for`). With
    // several pids, patterns (and uprobes without a binary) match their executables alone.
    let mut expanded = if options.has_target {
        patterns::Expanded::default() // the checker rejects patterns with -p/-c
    } else if !many.0.is_empty() {
        targets::each_pid_binary(&mut program);
        let expanded = patterns::expand_in_pids(&mut program, &many.0);
        let unmatched = targets::unmatched_in_pids(&program, &many);
        if !unmatched.is_empty() {
            reporter.diagnostics(&unmatched);
            return ExitCode::FAILURE;
        }
        expanded
    } else {
        patterns::expand_at_start(&mut program, &selector)
    };
    // The env maps the binaries it reads: drop it before the -c command is forked, or the child
    // would inherit mappings of the target's own file (and look, until it execs, like the
    // target at another load address).
    let (checked, warnings) = {
        let system = env::SystemEnv::new(cli.pid(), cli.command.as_deref())
            .with_debug_file(cli.debug_file.clone());
        if let Err(message) =
            target_info::check_and_describe(&system, cli.debug_file.is_some(), cli.verbose)
        {
            eprintln!("gprobe: error: {message}");
            return ExitCode::FAILURE;
        }
        check::check_with_warnings(&mut program, &system, &options)
    };
    if !warnings.is_empty() {
        reporter.diagnostics(&warnings);
    }
    let checked = match checked {
        Ok(checked) => checked,
        Err(diagnostics) => {
            reporter.diagnostics(&diagnostics);
            return ExitCode::FAILURE;
        }
    };
    if expanded.patterns > 0 {
        expanded.initial = patterns::kept_binaries(&program);
    }
    if cli.dump == Some(Stage::Ast) && print_out(&dump::ast(&program, &source)) != ExitCode::SUCCESS
    {
        return ExitCode::FAILURE;
    }
    let mut lower = gprobe_compiler::lower::LowerOptions::default();
    if let Some(n) = cli.map_keys_max.or(knobs.map_keys_max) {
        lower.map_entries = n;
    }
    if let Some(pages) = cli.ring_pages {
        lower.ringbuf_bytes = pages * 4096;
    }
    // No target: node-wide, every process is traced on its own terms.
    lower.node_wide = !options.has_target;
    lower.filter_processes = lower.node_wide && cli.limited();
    lower.helper_errors = cli.helper_errors;
    if lower.node_wide {
        lower.exe_inode = gprobe_runtime::btf::exe_inode_offsets();
    }
    let compile_options = CompileOptions {
        check: options,
        lower,
        dump_ir: cli.dump == Some(Stage::Ir),
        dump_bpf: cli.dump == Some(Stage::Bpf),
    };
    let compiled =
        match gprobe_compiler::compile_checked(&program, &checked, &source, &compile_options) {
            Ok(compiled) => compiled,
            Err(diagnostics) => {
                reporter.diagnostics(&diagnostics);
                return ExitCode::FAILURE;
            }
        };
    if let Some(max) = knobs.max_probes
        && compiled.manifest.programs.len() > max
    {
        eprintln!(
            "gprobe: error: the program attaches {} probes, more than the limit of {max} (BPFTRACE_MAX_PROBES / GPROBE_MAX_PROBES)",
            compiled.manifest.programs.len()
        );
        return ExitCode::FAILURE;
    }
    if let Some(text) = compiled.ir.as_deref().or(compiled.bpf.as_deref())
        && print_out(text) != ExitCode::SUCCESS
    {
        return ExitCode::FAILURE;
    }
    // `// @metric` annotations, checked against the compiled maps even when nothing exports.
    let meta = match sinks::map_meta(&compiled.manifest, &source) {
        Ok(meta) => meta,
        Err(diagnostics) => {
            reporter.diagnostics(&diagnostics);
            return ExitCode::FAILURE;
        }
    };
    if cli.check || cli.dump.is_some() {
        return ExitCode::SUCCESS;
    }
    if cli.emit == Some(Emit::Obj) {
        return emit_object(&compiled, cli.output.as_deref());
    }

    // Outputs first: a bad output file or a port in use fails before anything is attached.
    let mut sink = match sinks::build(&sink_options(&cli), &compiled.manifest, &source, &meta) {
        Ok(sink) => sink,
        Err(message) => {
            eprintln!("gprobe: error: {message}");
            return ExitCode::FAILURE;
        }
    };
    let runtime_options = gprobe_runtime::Options {
        pid: cli.pid(),
        pids: many.0.clone(),
        selector: selector.clone(),
        command: cli.command.clone(),
        verbose: cli.verbose,
    };
    for (binary, function) in &expanded.waiting {
        eprintln!(
            "gprobe: waiting for a Go program with {function} (uprobe:{binary}:{function} matches none running yet)"
        );
    }
    let mut session = match Session::load(&compiled.object, &compiled.manifest, &runtime_options) {
        Ok(session) => session,
        Err(error) => {
            reporter.runtime(&error, cli.verbose);
            return ExitCode::FAILURE;
        }
    };
    // Several pids: nothing started later is traced, so nothing is compiled for it.
    if expanded.patterns > 0 && many.0.is_empty() {
        session.set_recompile(recompile_for(
            source.clone(),
            file_name.clone(),
            include_dirs(&cli),
            recipe_node_wide,
            compile_options.clone(),
            expanded.initial.clone(),
        ));
    }
    let target_pid = cli.pid().or(session.command_pid());
    if let Err(message) = sinks::add_otlp(
        &mut sink,
        &sink_options(&cli),
        &compiled.manifest,
        &meta,
        target_pid,
    ) {
        eprintln!("gprobe: error: {message}");
        return ExitCode::FAILURE;
    }
    match session.run(&mut sink) {
        Ok(_summary) => {
            // Only to a terminal: stderr may be the very pipe that stalled (`2>&1 |`).
            if gprobe_runtime::output::fdout::output_abandoned() && std::io::stderr().is_terminal()
            {
                eprintln!(
                    "gprobe: note: the output was not being read when tracing stopped; \
                     what it had not taken was dropped"
                );
            }
            ExitCode::SUCCESS
        }
        // The reader went away (`| head`): the session is detached by now; end as bpftrace
        // does, by SIGPIPE, without a message.
        Err(gprobe_runtime::RuntimeError::Output(e))
            if e.kind() == std::io::ErrorKind::BrokenPipe =>
        {
            gprobe_runtime::output::fdout::exit_by_sigpipe()
        }
        Err(error) => {
            reporter.runtime(&error, cli.verbose);
            ExitCode::FAILURE
        }
    }
}

/// The compiler the session calls for a program started later whose executable may match a
/// binary pattern: the same source and options, the patterns expanded to that binary (see
/// `patterns::expand_for`). Diagnostics come back as plain text, for a warning.
/// A recipe run node-wide: see `gprobe_compiler::by_process`.
fn by_process(program: &mut gprobe_compiler::ast::Program) {
    gprobe_compiler::by_process::uprobes_on_every_binary(program);
    gprobe_compiler::by_process::key_maps_by_process(program);
}

fn recompile_for(
    source: String,
    file_name: String,
    include_dirs: Vec<PathBuf>,
    recipe_node_wide: bool,
    options: CompileOptions,
    initial: std::collections::HashMap<(String, String), Vec<String>>,
) -> gprobe_runtime::Recompile {
    Box::new(move |new: &gprobe_runtime::NewExecutable| {
        let render = |d: &[gprobe_compiler::diag::Diagnostic]| {
            gprobe_compiler::diag::render(d, &file_name, &source, false)
        };
        let parse_options = gprobe_compiler::syntax::ParseOptions {
            positional: options.check.positional.clone(),
            include_dirs: include_dirs.clone(),
            defines: Vec::new(),
        };
        let mut program =
            gprobe_compiler::parse_with(&source, &parse_options).map_err(|d| render(&d))?;
        if recipe_node_wide {
            by_process(&mut program);
        }
        if patterns::expand_for(&mut program, &new.path, &new.shown, &initial).is_none() {
            return Ok(None);
        }
        let env = env::SystemEnv::new(None, None);
        let (checked, warnings) = check::check_with_warnings(&mut program, &env, &options.check);
        // E.g. this binary's `args` differ from the session's: it is left out, and said so.
        if !warnings.is_empty() {
            eprint!("{}", render(&warnings));
        }
        let checked = checked.map_err(|d| render(&d))?;
        let out = gprobe_compiler::compile_checked(&program, &checked, &source, &options)
            .map_err(|d| render(&d))?;
        Ok(Some((out.object, out.manifest)))
    })
}

fn sink_options(cli: &Cli) -> sinks::Options {
    sinks::Options {
        format: cli.format,
        output: cli.output.clone(),
        prometheus: cli.prometheus.clone(),
        web_config_file: cli.web_config_file.clone(),
        otlp: cli.otlp.clone(),
        otlp_protocol: cli.otlp_protocol.clone(),
        interval: cli.interval,
        flamegraph: cli.flamegraph.clone(),
        folded: cli.folded.clone(),
        pprof: cli.pprof.clone(),
        quiet: cli.quiet,
        buffering: match cli.buffering {
            None => gprobe_runtime::output::text::Buffering::Batch,
            Some(BufferMode::None) => gprobe_runtime::output::text::Buffering::None,
            Some(BufferMode::Line) => gprobe_runtime::output::text::Buffering::Line,
            Some(BufferMode::Full) => gprobe_runtime::output::text::Buffering::Full,
        },
        pid: cli.pid(),
        command: cli.command.clone(),
    }
}

/// Writes `text` to stdout. A reader that went away (`gprobe -l | head -1`) ends gprobe as it
/// ends bpftrace, by SIGPIPE; `print!` would panic instead.
fn print_out(text: &str) -> ExitCode {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            gprobe_runtime::output::fdout::exit_by_sigpipe()
        }
        Err(e) => {
            eprintln!("gprobe: error: writing to stdout: {}", sinks::reason(&e));
            ExitCode::FAILURE
        }
    }
}

fn ring_pages(text: &str) -> Result<u32, String> {
    let pages: u32 = text.parse().map_err(|e| format!("{e}"))?;
    if pages == 0 || !pages.is_power_of_two() || pages > 1 << 18 {
        return Err("must be a power of two from 1 to 262144".into());
    }
    Ok(pages)
}

fn emit_object(compiled: &gprobe_compiler::Output, output: Option<&std::path::Path>) -> ExitCode {
    let Some(path) = output else {
        eprintln!("gprobe: error: --emit obj needs -o FILE");
        return ExitCode::FAILURE;
    };
    let manifest_path = path.with_extension("manifest.json");
    let manifest =
        serde_json::to_string_pretty(&compiled.manifest).expect("manifest is plain data");
    for (file, bytes) in [
        (path, compiled.object.as_slice()),
        (manifest_path.as_path(), manifest.as_bytes()),
    ] {
        if let Err(e) = std::fs::write(file, bytes) {
            eprintln!("gprobe: error: cannot write {}: {e}", file.display());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

fn list(cli: &Cli) -> ExitCode {
    let pattern = cli.rest.first().map_or("*", String::as_str);
    if let Some(text) = listing::perf_events(pattern) {
        return print_out(&text);
    }
    if let Some(rest) = ["uprobe:", "uretprobe:", "u:", "ur:"]
        .iter()
        .find_map(|p| pattern.strip_prefix(p))
    {
        return list_go_functions(
            pattern,
            rest,
            cli.verbose,
            cli.pid(),
            cli.debug_file.as_deref(),
        );
    }
    if let Some(rest) = ["usdt:", "U:"].iter().find_map(|p| pattern.strip_prefix(p)) {
        return list_usdt::list(rest, cli.pid(), cli.verbose);
    }
    if let Some(rest) = ["rawtracepoint:", "rt:"]
        .iter()
        .find_map(|p| pattern.strip_prefix(p))
    {
        return match gprobe_runtime::list_raw_tracepoints(rest, cli.verbose) {
            Ok(text) => print_out(&text),
            Err(error) => {
                eprintln!("gprobe: error: {error}");
                ExitCode::FAILURE
            }
        };
    }
    match gprobe_runtime::list_tracepoints(pattern, cli.verbose) {
        // Everything (`-l`, `-l '*sched_switch*'`): tracepoints, then software and hardware
        // events, then the functions of the -p process's binary. A bare `-l` lists the raw
        // tracepoints too; a bare pattern matches what bpftrace 0.17 lists, which has none.
        Ok(mut text) => {
            if pattern == "*"
                && let Ok(raw) = gprobe_runtime::list_raw_tracepoints("*", false)
            {
                text.push_str(&raw);
            }
            text.push_str(&listing::perf_events_matching(pattern));
            if let Some(pid) = cli.pid()
                && !pattern.contains(':')
            {
                text.push_str(&listing::target_functions(pid, pattern));
            }
            print_out(&text)
        }
        Err(error) => {
            eprintln!("gprobe: error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `-l 'uprobe:./srv:net/http.*'`: the Go functions of a binary from its pclntab (so stripped
/// binaries list the same), one `uprobe:BIN:NAME` per line, names unquoted; with `-v` each
/// followed by its parameters and results (`args.NAME TYPE`, `ret.NAME TYPE`), from DWARF: the
/// binary's, `--debug-file`'s, or the debug file found by build id.
fn list_go_functions(
    pattern: &str,
    rest: &str,
    verbose: bool,
    pid: Option<u32>,
    debug_file: Option<&Path>,
) -> ExitCode {
    let Some((binary, glob)) = rest.split_once(':') else {
        eprintln!(
            "gprobe: error: `{pattern}` needs a binary and a function pattern, e.g. uprobe:./srv:main.*"
        );
        return ExitCode::FAILURE;
    };
    let glob = glob.trim_matches('"');
    let glob = if glob.is_empty() { "*" } else { glob };
    if gprobe_compiler::names::is_binary_pattern(binary) {
        // A pattern: every binary it matches now, one after the other.
        let mut code = ExitCode::SUCCESS;
        for path in patterns::binaries_matching(binary, glob) {
            if list_go_functions(
                &format!("uprobe:{path}:{glob}"),
                &format!("{path}:{glob}"),
                verbose,
                None,
                None,
            ) != ExitCode::SUCCESS
            {
                code = ExitCode::FAILURE;
            }
        }
        return code;
    }
    // `libc`, `libfoo` (with -p: as the process maps it), `bash`: as a probe finds them.
    let resolved = libs::resolve_binary(binary, pid);
    let binary = &resolved
        .as_ref()
        .map_or_else(|| binary.to_owned(), |p| p.display().to_string());
    let bin = match gprobe_compiler::gobin::GoBinary::open_with_debug(binary, debug_file) {
        Ok(bin) => bin,
        Err(gprobe_compiler::gobin::GoBinError::NotGo) => {
            return match gprobe_compiler::native::NativeElf::open(binary) {
                Ok(elf) => print_out(&native_list::listing(&elf, binary, glob, verbose)),
                Err(e) => {
                    eprintln!("gprobe: error: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        Err(e) => {
            eprintln!("gprobe: error: {binary}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut names: Vec<&str> = bin
        .functions_matching(glob)
        .into_iter()
        .map(|f| f.name.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut out = String::new();
    for name in names {
        out.push_str(&format!("uprobe:{binary}:{name}\n"));
        if verbose {
            for line in gprobe_compiler::target::signature_lines(&bin, name) {
                out.push_str(&format!("    {line}\n"));
            }
        }
    }
    print_out(&out)
}
