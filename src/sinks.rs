//! Builds the session's output from the command line: text or JSON lines on stdout or `-o FILE`,
//! plus the exporters asked for (Prometheus, OTLP, flame graphs).

use clap::ValueEnum;
use gprobe_compiler::diag::Diagnostic;
use gprobe_compiler::gobin::GoBinary;
use gprobe_compiler::manifest::{Attach, Manifest};
use gprobe_runtime::output::fdout::FdOut;
use gprobe_runtime::output::otlp::config::{self, Config};
use gprobe_runtime::output::otlp::{AttrValue, ResourceInfo};
use gprobe_runtime::output::{annotations, metrics};
use gprobe_runtime::{
    FlameGraphSink, JsonSink, MapMeta, OtlpSink, PprofSink, PrometheusSink, Sink, Tee, TextSink,
};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    #[default]
    Text,
    Json,
}

#[derive(Clone, Debug, Default)]
pub struct Options {
    pub format: Format,
    /// `-o FILE`: trace output goes there instead of stdout.
    pub output: Option<PathBuf>,
    /// `--prometheus ADDR` and `--web.config.file FILE`.
    pub prometheus: Option<String>,
    pub web_config_file: Option<PathBuf>,
    /// `--otlp [URL]` (an empty URL: the endpoint from the environment) and `--interval`.
    pub otlp: Option<String>,
    /// `--otlp-protocol`: wins over the environment's.
    pub otlp_protocol: Option<String>,
    pub interval: Duration,
    pub flamegraph: Option<PathBuf>,
    pub folded: Option<PathBuf>,
    /// `--pprof FILE`.
    pub pprof: Option<PathBuf>,
    /// `-q`: no "Attaching N probes..." banner.
    pub quiet: bool,
    /// `-B none|line|full` (text output).
    pub buffering: gprobe_runtime::output::text::Buffering,
    pub pid: Option<u32>,
    pub command: Option<String>,
}

/// `10s`, `500ms`, `2m`, `1h`, or plain seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (e.g. 10s, 500ms, 1m)"))?;
    let d = match unit {
        "" | "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        _ => {
            return Err(format!(
                "{text:?}: unknown unit {unit:?} (use ms, s, m or h)"
            ));
        }
    };
    if d.is_zero() {
        return Err(format!("{text:?}: the interval must be above zero"));
    }
    Ok(d)
}

/// Every sink the options ask for except OTLP (which needs the target's pid, known only once
/// the session is loaded: see [`add_otlp`]). Errors are messages for the user.
pub fn build(
    options: &Options,
    manifest: &Manifest,
    source: &str,
    meta: &[MapMeta],
) -> Result<Tee, String> {
    if let Some(url) = &options.otlp {
        Config::new(Some(url), &otlp_env(options))?;
        config::resource_attributes(&config::process_env)?;
    }
    // Files written only at exit are proven writable now, so a typo in a path fails before
    // anything is attached rather than after a long trace.
    for path in [&options.flamegraph, &options.folded, &options.pprof]
        .into_iter()
        .flatten()
    {
        check_writable(path)?;
    }
    let pprof = match &options.pprof {
        Some(path) => Some(PprofSink::new(path.clone(), manifest, source)?),
        None => None,
    };
    // Buffered: the session flushes after each batch of events, so bursts cost few writes.
    // FdOut underneath: a stalled reader never keeps a Ctrl-C waiting.
    let fd = match &options.output {
        Some(path) => FdOut::new(File::create(path).map_err(|e| cannot("create", path, &e))?),
        None => FdOut::stdout().map_err(|e| format!("cannot write to stdout: {}", reason(&e)))?,
    };
    let out: Box<dyn Write> = Box::new(BufWriter::with_capacity(1 << 16, fd));
    let main: Box<dyn Sink> = match options.format {
        Format::Text => Box::new(
            TextSink::new(out)
                .quiet(options.quiet)
                .buffering(options.buffering),
        ),
        Format::Json => Box::new(JsonSink::new(out).quiet(options.quiet)),
    };
    let mut sinks = vec![main];
    if let Some(addr) = &options.prometheus {
        let sink = PrometheusSink::bind(addr, options.web_config_file.as_deref(), meta.to_vec())?;
        // Said always: with port 0 this is the only way to learn the port.
        eprintln!(
            "gprobe: serving Prometheus metrics on {}://{}/metrics",
            if sink.tls { "https" } else { "http" },
            sink.local_addr
        );
        sinks.push(Box::new(sink));
    }
    if options.flamegraph.is_some() || options.folded.is_some() {
        sinks.push(Box::new(FlameGraphSink {
            svg: options.flamegraph.clone(),
            folded: options.folded.clone(),
            title: target_exe(manifest, options)
                .map_or("gprobe".into(), |p| format!("gprobe: {}", p.display())),
        }));
    }
    if let Some(sink) = pprof {
        sinks.push(Box::new(sink));
    }
    Ok(Tee { sinks })
}

/// Fails unless `path` can be written: an existing file must open for writing (left as is),
/// a new one is created and removed again.
fn check_writable(path: &Path) -> Result<(), String> {
    let opened = if path.exists() {
        std::fs::OpenOptions::new().write(true).open(path)
    } else {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .inspect(|_| {
                let _ = std::fs::remove_file(path);
            })
    };
    opened.map(drop).map_err(|e| cannot("write", path, &e))
}

fn cannot(what: &str, path: &Path, e: &std::io::Error) -> String {
    format!("cannot {what} {}: {}", path.display(), reason(e))
}

/// An I/O error as words, without Rust's ` (os error N)` suffix.
pub fn reason(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => text[..at].to_string(),
        _ => text,
    }
}

/// Adds the OTLP exporter, now that the traced process (if any) is known.
pub fn add_otlp(
    tee: &mut Tee,
    options: &Options,
    manifest: &Manifest,
    meta: &[MapMeta],
    target_pid: Option<u32>,
) -> Result<(), String> {
    let Some(url) = &options.otlp else {
        return Ok(());
    };
    let config = Config::new(Some(url), &otlp_env(options))?;
    let resource = resource(manifest, options, target_pid)?;
    tee.sinks.push(Box::new(OtlpSink::new(
        config,
        options.interval,
        meta.to_vec(),
        resource,
    )?));
    Ok(())
}

/// The environment, with `--otlp-protocol` as the protocol setting that takes precedence.
fn otlp_env(options: &Options) -> impl Fn(&str) -> Option<String> + '_ {
    move |name| match (name, &options.otlp_protocol) {
        ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", Some(p)) => Some(p.clone()),
        _ => config::process_env(name),
    }
}

/// How the exporters name and describe each map: label names from the keys, help from the
/// comment above the map, and what `// @metric` annotations declare. A bad annotation is an
/// error (a diagnostic pointing at it) whatever the outputs, so `--check` finds it too.
pub fn map_meta(manifest: &Manifest, source: &str) -> Result<Vec<MapMeta>, Vec<Diagnostic>> {
    let mut meta = MapMeta::from_manifest(manifest);
    for m in &mut meta {
        m.help = metrics::help_from_source(source, &m.map);
    }
    annotations::parse(source)
        .and_then(|declared| annotations::apply(&mut meta, &declared, manifest))
        .map_err(|errors| annotations::diagnostics(&errors))?;
    if annotations::only_declared(source).map_err(|errors| annotations::diagnostics(&errors))? {
        for m in &mut meta {
            m.hidden = m.export.is_none();
        }
    }
    Ok(meta)
}

/// The traced executable: the first uprobe's binary, else the `-c` command's, else `-p`'s.
fn target_exe(manifest: &Manifest, options: &Options) -> Option<PathBuf> {
    let uprobe = manifest.programs.iter().find_map(|p| match &p.attach {
        Attach::Uprobe { binary, .. } => Some(PathBuf::from(binary)),
        _ => None,
    });
    let command = || {
        let program = options.command.as_deref()?.split_whitespace().next()?;
        if program.contains('/') {
            return Some(PathBuf::from(program));
        }
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(program))
                .find(|p| p.is_file())
        })
    };
    let pid = || {
        options
            .pid
            .and_then(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).ok())
    };
    uprobe.or_else(command).or_else(pid)
}

/// Whether every uprobe goes into one named binary (no pattern): that program is the target.
fn one_uprobe_binary(manifest: &Manifest) -> bool {
    let mut binaries = manifest.programs.iter().filter_map(|p| match &p.attach {
        Attach::Uprobe { binary, .. } => Some((binary, p.pattern.is_some())),
        _ => None,
    });
    let Some((first, false)) = binaries.next() else {
        return false;
    };
    binaries.all(|(b, pattern)| b == first && !pattern)
}

/// `service.name` (`OTEL_SERVICE_NAME`, else the target's file name, else `gprobe`),
/// `host.name`, `process.pid`, `process.executable.*` and the Go version of the target, then
/// `OTEL_RESOURCE_ATTRIBUTES` (which win: the user knows best).
/// Node-wide with uprobes on patterns or several binaries there is no one target: the resource
/// is gprobe on this host, each series names its own process (see `metrics::ProcessTable`), and
/// a `service.name` from the environment is not used.
fn resource(
    manifest: &Manifest,
    options: &Options,
    target_pid: Option<u32>,
) -> Result<ResourceInfo, String> {
    let one_target = !manifest.node_wide || one_uprobe_binary(manifest);
    let exe = one_target.then(|| target_exe(manifest, options)).flatten();
    let exe_name = exe
        .as_deref()
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned());
    let service = std::env::var("OTEL_SERVICE_NAME")
        .ok()
        .filter(|s| !s.is_empty() && one_target)
        .or_else(|| exe_name.clone())
        .unwrap_or_else(|| "gprobe".into());
    let mut attributes = vec![
        ("service.name".to_string(), AttrValue::Str(service)),
        ("host.name".to_string(), AttrValue::Str(host_name())),
        (
            "process.pid".to_string(),
            AttrValue::Int(target_pid.unwrap_or(std::process::id()) as i64),
        ),
    ];
    if let Some(exe) = &exe {
        attributes.push((
            "process.executable.path".into(),
            AttrValue::Str(exe.display().to_string()),
        ));
        if let Some(name) = exe_name {
            attributes.push(("process.executable.name".into(), AttrValue::Str(name)));
        }
        if let Some(version) = GoBinary::open(exe)
            .ok()
            .and_then(|b| b.go_version().map(str::to_string))
        {
            attributes.push(("process.runtime.name".into(), AttrValue::Str("go".into())));
            attributes.push(("process.runtime.version".into(), AttrValue::Str(version)));
        }
    }
    attributes.push(("telemetry.sdk.name".into(), AttrValue::Str("gprobe".into())));
    for (key, value) in config::resource_attributes(&config::process_env)? {
        if key == "service.name" && !one_target {
            continue;
        }
        attributes.retain(|(k, _)| *k != key);
        attributes.push((key, AttrValue::Str(value)));
    }
    Ok(ResourceInfo { attributes })
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("1d").is_err());
        assert!(parse_duration("s").is_err());
    }
}
