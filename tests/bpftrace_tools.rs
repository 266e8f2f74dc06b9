//! The bpftrace-compatibility suite: every tool Debian's bpftrace 0.17 package ships
//! (`dpkg -L bpftrace | grep '\.bt$'`), unchanged, through `gprobe --check`; and each tool this
//! kernel can run (no kprobes here) run for a few seconds next to bpftrace under one generated
//! load, comparing map names, key shapes and printf line shapes.

mod support;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::*;

/// Tools `--check` refuses, with a word of the reason, because the tool does not fit this
/// kernel: bpftrace refuses each with the same reason (checked when it is installed). The
/// suite fails when one of them starts passing (take it off the list) or another one stops.
const KNOWN_FAILING: &[(&str, &str)] = &[
    // Kernel 6.18's `struct cfs_rq` has no `nr_running` (it became `nr_queued`).
    ("runqlen.bt", "nr_running"),
];

/// Runnable tools whose final maps still differ from bpftrace's, and why. The suite fails when
/// one starts matching.
const KNOWN_DIFFERENT: &[(&str, &str)] = &[];

/// The tools of the installed bpftrace package; empty (the test then fails under CI) without it.
fn tools() -> Vec<PathBuf> {
    let out = Command::new("dpkg").args(["-L", "bpftrace"]).output();
    let listing = out.map(|o| text(&o.stdout)).unwrap_or_default();
    let mut tools: Vec<PathBuf> = listing
        .lines()
        .filter(|l| l.ends_with(".bt"))
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .collect();
    tools.sort();
    tools
}

fn name_of(tool: &std::path::Path) -> String {
    tool.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[test]
fn every_bpftrace_tool_checks_unchanged() {
    let tools = tools();
    if tools.is_empty() {
        assert!(
            !under_ci(),
            "bpftrace's tools are missing: scripts/install-deps installs bpftrace"
        );
        eprintln!("skipped: bpftrace is not installed");
        return;
    }
    assert!(
        tools.len() >= 38,
        "expected bpftrace 0.17's 38 tools, found {}",
        tools.len()
    );
    let mut regressed = Vec::new();
    let mut now_passing = Vec::new();
    let mut passing = 0;
    for tool in &tools {
        let name = name_of(tool);
        let out = Command::new(gprobe_bin())
            .arg("--check")
            .arg(tool)
            .output()
            .expect("run gprobe");
        let stderr = text(&out.stderr);
        assert!(
            !stderr.contains("panicked") && !stderr.contains("internal error"),
            "{name}: {stderr}"
        );
        let known = KNOWN_FAILING.iter().find(|(n, _)| *n == name);
        match (out.status.success(), known) {
            (true, None) => passing += 1,
            (true, Some(_)) => now_passing.push(name),
            (false, Some((_, why))) => {
                // Still refused, and for the known reason, with a span into the tool.
                assert!(
                    stderr.contains(why) && stderr.contains(&format!("{}:", tool.display())),
                    "{name}: expected a spanned diagnostic about `{why}`:\n{stderr}"
                );
                assert_bpftrace_refuses(tool, why);
            }
            (false, None) => regressed.push(format!("{name}:\n{stderr}")),
        }
    }
    eprintln!(
        "{passing} of {} bpftrace tools pass `gprobe --check`",
        tools.len()
    );
    assert!(
        regressed.is_empty(),
        "tools that no longer check:\n{}",
        regressed.join("\n")
    );
    assert!(
        now_passing.is_empty(),
        "these tools pass now: take them off KNOWN_FAILING: {now_passing:?}"
    );
}

/// bpftrace, when installed, refuses `tool` for the same reason gprobe does (it stops at its
/// semantic checks; were it to attach, it is stopped after 20 s and the test fails).
fn assert_bpftrace_refuses(tool: &std::path::Path, why: &str) {
    let bpftrace = std::path::Path::new("/usr/bin/bpftrace");
    if !bpftrace.is_file() {
        assert!(!under_ci(), "bpftrace is missing");
        return;
    }
    let child = Command::new(bpftrace)
        .arg(tool)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start bpftrace");
    let out = wait_with_limit(child, Duration::from_secs(20));
    let stderr = text(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains(why),
        "{}: bpftrace does not refuse it for `{why}`:\n{stderr}",
        tool.display()
    );
}

/// A tool started under one tracer, stopped with SIGINT (as a user ends it). Its output is
/// drained while it runs: a busy machine prints more than a pipe holds, and a blocked tracer
/// would drop the very events the comparison needs.
struct Running {
    child: Child,
    stdout: std::thread::JoinHandle<String>,
    stderr: std::thread::JoinHandle<String>,
}

fn drain(mut r: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = r.read_to_end(&mut bytes);
        text(&bytes)
    })
}

impl Running {
    fn start(program: &std::path::Path, tool: &std::path::Path) -> Running {
        let mut child = Command::new(program)
            .arg(tool)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tracer");
        let stdout = drain(child.stdout.take().expect("stdout"));
        let stderr = drain(child.stderr.take().expect("stderr"));
        Running {
            child,
            stdout,
            stderr,
        }
    }

    fn stop(mut self) -> (String, String) {
        let pid = self.child.id();
        let _ = Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().ok().flatten().is_none() {
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.wait();
        (
            self.stdout.join().unwrap_or_default(),
            self.stderr.join().unwrap_or_default(),
        )
    }
}

/// Map names (`@name`) printed at the end, and how many key parts each has.
fn map_shapes(out: &str) -> BTreeSet<(String, usize)> {
    out.lines()
        .filter(|l| l.starts_with('@'))
        .filter_map(|l| {
            let name_end = l.find(['[', ':']).unwrap_or(l.len());
            let name = l[..name_end].to_string();
            let keys = if l[name_end..].starts_with('[') {
                let inner = &l[name_end + 1..l.rfind(']')?];
                // Top-level commas only: `@[comm, kstack]` has 2 parts.
                let mut depth = 0i32;
                1 + inner
                    .chars()
                    .filter(|c| {
                        match c {
                            '[' | '(' => depth += 1,
                            ']' | ')' => depth -= 1,
                            _ => {}
                        }
                        *c == ',' && depth == 0
                    })
                    .count()
            } else {
                0
            };
            Some((name, keys))
        })
        .collect()
}

/// The printf header (first output line after the banner) and how many fields a line naming
/// `marker` has.
fn line_shape(out: &str, marker: &str) -> (Option<String>, Option<usize>) {
    let mut lines = out
        .lines()
        .filter(|l| !l.starts_with("Attaching") && !l.trim().is_empty());
    let header = lines
        .next()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "));
    let fields = out
        .lines()
        .find(|l| l.contains(marker))
        .map(|l| l.split_whitespace().count());
    (header, fields)
}

/// The load: file opens and stats by `cat`/`stat`, signals, fork+exec, syncs, name lookups
/// (`getent`: libc's getaddrinfo) and TLS (an `openssl s_client` to an `s_server` on loopback:
/// libssl's handshake, reads and writes) — a known mix the runnable tools see. Bounded: a fixed
/// number of rounds.
fn load() {
    let tls = repo_root().join("target/ctargets/tls");
    std::fs::create_dir_all(&tls).expect("target/ctargets/tls");
    let port = free_port();
    let script = format!(
        "cd {dir} && {{ [ -f cert.pem ] || openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost \
           -keyout key.pem -out cert.pem -days 3650 2>/dev/null; }}; \
         openssl s_server -quiet -accept 127.0.0.1:{port} -cert cert.pem -key key.pem -www >/dev/null 2>&1 & \
         server=$!; \
         for i in 1 2 3 4 5 6 7 8 9 10; do cat /etc/hostname >/dev/null; \
           stat /etc/passwd >/dev/null; kill -0 $$; sync; /bin/true; getent ahosts localhost >/dev/null; \
           sleep 0.05; done; \
         printf 'GET / HTTP/1.0\\r\\n\\r\\n' | timeout 5 openssl s_client -quiet -connect 127.0.0.1:{port} \
           >/dev/null 2>&1; kill $server; wait $server 2>/dev/null; true",
        dir = tls.display()
    );
    // Run from a file: the tools that print a command line then show a short one.
    let file = tls.join("load.sh");
    std::fs::write(&file, script).expect("write load.sh");
    let script = file.to_str().expect("a UTF-8 path");
    let status = Command::new("sh").arg(script).status().expect("run load");
    assert!(status.success());
}

#[test]
fn runnable_tools_match_bpftrace_under_the_same_load() {
    if !e2e_ready() {
        return;
    }
    let tools = tools();
    assert!(
        !tools.is_empty() || !under_ci(),
        "bpftrace's tools are missing"
    );
    // Tools whose probes this kernel has (tracepoints, profile, uprobes), each with a word its
    // output shows for the load (or nothing when it only prints maps).
    let runnable: &[(&str, Option<&str>)] = &[
        ("opensnoop.bt", Some("/etc/hostname")),
        ("statsnoop.bt", Some("/etc/passwd")),
        ("syscount.bt", None),
        ("killsnoop.bt", Some(" 0 ")),
        ("pidpersec.bt", None),
        ("syncsnoop.bt", Some("sync")),
        ("cpuwalk.bt", None),
        ("execsnoop.bt", Some("/bin/true")),
        ("gethostlatency.bt", Some("localhost")),
        ("sslsnoop.bt", Some(" openssl ")),
        ("ssllatency.bt", None),
        ("naptime.bt", None),
        ("setuids.bt", None),
        ("bashreadline.bt", None),
        ("bitesize.bt", None),
        ("writeback.bt", None),
    ];
    // Also runnable here, not compared: runqlat.bt (bpftrace 0.17's clang cannot parse this
    // machine's <linux/sched.h>: `unknown type name '__aligned_u64'`), threadsnoop.bt
    // (`pthread_create` moved from libpthread to libc in glibc 2.34: bpftrace 0.17 silently
    // attaches only BEGIN, gprobe refuses the missing symbol, E0803), loads.bt (this kernel's
    // /proc/kallsyms has no `avenrun`: both refuse `kaddr("avenrun")`), tcpdrop.bt (bpftrace
    // 0.17 needs the kernel's headers, `net/sock.h`, which this machine lacks; gprobe takes
    // `struct sock` from BTF and attaches).
    let bpftrace = PathBuf::from("/usr/bin/bpftrace");
    let _k = kernel_lock();
    let mut compared = 0;
    for (name, marker) in runnable {
        let Some(tool) = tools.iter().find(|t| name_of(t) == *name) else {
            continue;
        };
        let ours = Running::start(&gprobe_bin(), tool);
        let theirs = Running::start(&bpftrace, tool);
        // Both attached (bpftrace takes a second or two), then the same load for both.
        std::thread::sleep(Duration::from_millis(2500));
        load();
        std::thread::sleep(Duration::from_millis(300));
        let (ours, our_err) = ours.stop();
        let (theirs, their_err) = theirs.stop();
        assert!(
            ours.contains("Attaching"),
            "{name}: gprobe did not attach:\n{our_err}\n{ours}"
        );
        assert!(
            theirs.contains("Attaching"),
            "{name}: bpftrace did not attach:\n{their_err}\n{theirs}"
        );
        let differs = map_shapes(&ours) != map_shapes(&theirs);
        match KNOWN_DIFFERENT.iter().find(|(n, _)| n == name) {
            Some((_, why)) => assert!(
                differs,
                "{name} matches bpftrace now ({why} is fixed): take it off KNOWN_DIFFERENT"
            ),
            None => assert!(
                !differs,
                "{name}: map names or key shapes differ\ngprobe:\n{ours}\nbpftrace:\n{theirs}"
            ),
        }
        let (our_header, our_fields) = line_shape(&ours, marker.unwrap_or("\u{0}"));
        let (their_header, their_fields) = line_shape(&theirs, marker.unwrap_or("\u{0}"));
        if marker.is_some() {
            assert_eq!(our_header, their_header, "{name}: printf header differs");
            assert!(
                our_fields.is_some(),
                "{name}: gprobe printed no line for the load:\n{ours}"
            );
            assert_eq!(
                our_fields, their_fields,
                "{name}: a line for the load has another shape\ngprobe:\n{ours}\nbpftrace:\n{theirs}"
            );
        }
        compared += 1;
    }
    assert!(
        compared >= 5 || !under_ci(),
        "only {compared} tools compared"
    );
    assert_no_gprobe_programs();
}
