//! Node-wide tracing (no `-p`/`-c`): every process on the host understood on its own terms —
//! Go processes of different releases, a stripped PIE build, one in its own mount and pid
//! namespace running a binary the host cannot see, and a C program — checked against what
//! each program reports about itself.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::*;

const LIMIT: Duration = Duration::from_secs(120);

/// A C program that opens `argv[1]` `argv[2]` times, after `argv[3]` ms.
const C_OPENER: &str = r#"
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
    usleep(atoi(argv[3]) * 1000);
    for (int i = 0; i < atoi(argv[2]); i++) close(open(argv[1], O_RDONLY));
    return 0;
}
"#;

fn c_opener() -> PathBuf {
    let dir = repo_root().join("target/ctargets");
    std::fs::create_dir_all(&dir).expect("target/ctargets");
    let src = dir.join("c_opener.c");
    let out = dir.join("c_opener");
    std::fs::write(&src, C_OPENER).expect("write c_opener.c");
    let status = Command::new("cc")
        .arg("-O1")
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .status()
        .expect("run cc");
    assert!(status.success(), "cc c_opener.c failed");
    out
}

/// `open PID GOID COUNT` lines of goopen, as `"PID, GOID" → COUNT`, with PID replaced by
/// `host_pid` when given (a program in its own pid namespace logs its namespace pid).
fn logged_opens(stdout: &str, host_pid: Option<u32>) -> BTreeMap<String, u64> {
    stdout
        .lines()
        .filter_map(|l| {
            let mut f = l.strip_prefix("open ")?.split_whitespace();
            let pid: u32 = f.next()?.parse().ok()?;
            let goid: u64 = f.next()?.parse().ok()?;
            let count: u64 = f.next()?.parse().ok()?;
            Some((format!("{}, {goid}", host_pid.unwrap_or(pid)), count))
        })
        .collect()
}

/// The host pid of the process whose command line contains `needle` (waits for it).
fn host_pid_of(needle: &str) -> u32 {
    wait_for_process(&format!("runs {needle}"), |pid| {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
        // The Go program itself, not the shell or unshare around it.
        cmdline.starts_with(needle) && exe.to_string_lossy().contains("goopen")
    })
}

/// `bin` copied onto a tmpfs mounted in a new mount and pid namespace (so the host cannot see
/// the file) and run there: `unshare -m -p -f --mount-proc`.
fn spawn_in_namespace(bin: &Path, dir: &Path, args: &str) -> Child {
    std::fs::create_dir_all(dir).expect("namespace dir");
    let script = format!(
        "mount -t tmpfs none {d} && cp {b} {d}/goopen && exec {d}/goopen {args}",
        d = dir.display(),
        b = bin.display()
    );
    Command::new("unshare")
        .args(["-m", "-p", "-f", "--mount-proc", "sh", "-c", &script])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("unshare")
}

fn go_flavours() -> Vec<(&'static str, &'static [&'static str])> {
    vec![
        ("1.19", &[][..]),
        ("1.23.9", &["-buildmode=pie", "-ldflags=-s -w"][..]),
    ]
}

#[test]
fn tracepoint_goids_node_wide_match_each_program() {
    if !e2e_ready() || !toolchain_available("1.23.9") || !toolchain_available("1.27.3") {
        return;
    }
    let marker = format!("/tmp/gprobe-node-marker-{}", std::process::id());
    std::fs::write(&marker, "x").expect("marker");
    let bins: Vec<PathBuf> = go_flavours()
        .into_iter()
        .map(|(v, f)| go_target("goopen", v, f))
        .collect();
    let ns_bin = go_target("goopen", "1.27.3", &[]);
    let c = c_opener();
    let _k = kernel_lock();
    // One program runs before gprobe starts (found by the scan), the rest start after.
    let early = Command::new(&bins[0])
        .args(["-g", "3", "-path", &marker, "-delay", "3s"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start early goopen");
    let script = format!(
        "tracepoint:syscalls:sys_enter_openat /str(args.filename) == \"{marker}\"/ {{ @[pid, goid] = count(); }}"
    );
    let tracer = Tracer::start(&["-e", &script]);
    let late = Command::new(&bins[1])
        .args(["-g", "5", "-path", &marker, "-delay", "500ms"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start late goopen");
    let ns_dir = std::env::temp_dir().join(format!("gprobe-ns-{}", std::process::id()));
    let ns = spawn_in_namespace(
        &ns_bin,
        &ns_dir,
        &format!("-g 4 -path {marker} -delay 1500ms"),
    );
    let ns_host_pid = host_pid_of(&format!("{}/goopen", ns_dir.display()));
    let c_run = Command::new(&c)
        .args([&marker, "6", "500"])
        .spawn()
        .expect("start c opener");
    let c_pid = c_run.id();
    let mut expected = BTreeMap::new();
    for (child, host) in [(early, None), (late, None), (ns, Some(ns_host_pid))] {
        let out = wait_with_limit(child, LIMIT);
        assert!(out.status.success(), "goopen failed: {}", text(&out.stderr));
        let logged = logged_opens(&text(&out.stdout), host);
        assert!(!logged.is_empty(), "goopen logged nothing");
        expected.extend(logged);
    }
    let c_out = wait_with_limit(c_run, LIMIT);
    assert!(c_out.status.success());
    expected.insert(format!("{c_pid}, 0"), 6);
    let stdout = tracer.stop();
    let _ = std::fs::remove_file(&marker);
    let _ = std::fs::remove_dir(&ns_dir);
    assert_eq!(
        map_lines(&stdout, "@"),
        expected,
        "openat by (pid, goid) differs from what each program logged:\n{stdout}"
    );
    assert_no_gprobe_programs();
}

#[test]
fn profile_names_each_programs_hot_function_node_wide() {
    if !e2e_ready() || !toolchain_available("1.23.9") {
        return;
    }
    let bins: Vec<PathBuf> = go_flavours()
        .into_iter()
        .map(|(v, f)| go_target("burn", v, f))
        .collect();
    let _k = kernel_lock();
    let tracer = Tracer::start(&["-e", "profile:hz:99 { @[comm, gostack(3)] = count(); }"]);
    let runs: Vec<Child> = bins
        .iter()
        .map(|b| {
            Command::new(b)
                .args(["-rounds", "1500000000"])
                .stdout(Stdio::null())
                .spawn()
                .expect("start burn")
        })
        .collect();
    for run in runs {
        assert!(wait_with_limit(run, LIMIT).status.success());
    }
    let stdout = tracer.stop();
    for bin in &bins {
        let comm: String = bin
            .file_name()
            .unwrap()
            .to_string_lossy()
            .chars()
            .take(15)
            .collect();
        // The heaviest stack of this program's samples starts in main.burn.
        let mut best: Option<(u64, String)> = None;
        let mut block = String::new();
        for line in stdout.lines() {
            if line.starts_with("@[") {
                block = line.to_string();
            } else if let Some((_, n)) = line.rsplit_once("]: ") {
                // A failed walk (an empty stack: a stack-map collision when the whole host's
                // samples share it) names no function.
                if block.contains(&comm)
                    && block.lines().count() > 1
                    && let Ok(n) = n.trim().parse::<u64>()
                    && best.as_ref().is_none_or(|(m, _)| n > *m)
                {
                    best = Some((n, block.clone()));
                }
            } else {
                block.push_str(line);
                block.push('\n');
            }
        }
        let (n, stack) = best.unwrap_or_else(|| panic!("no samples of {comm}:\n{stdout}"));
        // `@[comm, ` and the innermost frame share the first line.
        assert!(
            stack
                .lines()
                .next()
                .is_some_and(|f| f.contains("main.burn")),
            "{comm}'s heaviest stack ({n} samples) does not start in main.burn:\n{stack}\n{stdout}"
        );
    }
    assert_no_gprobe_programs();
}

/// The pids (keys, u64) of the node-wide Go facts map, read with bpftool while gprobe runs.
fn go_procs_pids() -> Vec<u64> {
    let out = Command::new("bpftool")
        .args(["-j", "map", "dump", "name", "go_procs"])
        .output()
        .expect("bpftool");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let byte = |b: &serde_json::Value| {
        b.as_str()
            .and_then(|s| u8::from_str_radix(s.trim_start_matches("0x"), 16).ok())
            .unwrap_or(0)
    };
    v.as_array()
        .map(|entries| {
            entries
                .iter()
                .filter_map(|e| e["key"].as_array())
                .map(|key| {
                    key.iter()
                        .take(8)
                        .enumerate()
                        .map(|(i, b)| u64::from(byte(b)) << (8 * i))
                        .sum()
                })
                .collect()
        })
        .unwrap_or_default()
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

#[test]
fn churn_of_short_go_processes_leaves_no_state() {
    if !e2e_ready() {
        return;
    }
    let bin = go_target("goopen", "1.19", &[]);
    let marker = format!("/tmp/gprobe-churn-marker-{}", std::process::id());
    std::fs::write(&marker, "x").expect("marker");
    let _k = kernel_lock();
    let script = format!(
        "tracepoint:syscalls:sys_enter_openat /str(args.filename) == \"{marker}\"/ {{ @[goid > 0] = count(); }}"
    );
    let tracer = Tracer::start(&["-e", &script]);
    let warm_up = format!("{marker}-warm-up");
    std::fs::write(&warm_up, "x").expect("warm-up marker");
    let run = |n: usize, path: &str| {
        for _ in 0..n {
            let out = Command::new(&bin)
                .args(["-g", "1", "-path", path])
                .output()
                .expect("goopen");
            assert!(out.status.success());
        }
    };
    // The first processes of a binary gprobe has not seen may run before it reads the
    // binary; from then on each new process gets its Go facts in the kernel at exec.
    run(20, &warm_up);
    std::thread::sleep(Duration::from_millis(300));
    let rss_before = rss_kib(tracer.pid());
    run(200, &marker);
    std::thread::sleep(Duration::from_millis(500));
    let rss_after = rss_kib(tracer.pid());
    // Entries of processes that have exited (other Go programs may run on the machine: a
    // toolchain building another test's program; theirs are live), still there a second
    // later (one that exited just now may not be forgotten yet).
    let dead = |pid: &u64| !std::path::Path::new(&format!("/proc/{pid}")).exists();
    let exited: Vec<u64> = go_procs_pids().into_iter().filter(dead).collect();
    std::thread::sleep(Duration::from_secs(1));
    let now = go_procs_pids();
    let stale: Vec<u64> = exited.into_iter().filter(|p| now.contains(p)).collect();
    let stdout = tracer.stop();
    let _ = std::fs::remove_file(&marker);
    let _ = std::fs::remove_file(&warm_up);
    assert_eq!(
        stale,
        Vec::<u64>::new(),
        "per-process entries in go_procs of processes that exited, after 220 did"
    );
    assert!(
        rss_after <= rss_before + 4096,
        "gprobe's RSS grew from {rss_before} KiB to {rss_after} KiB over 200 short processes"
    );
    // Every open was made by a goroutine the tracer recognised, none with goid 0.
    assert_eq!(
        map_lines(&stdout, "@"),
        BTreeMap::from([("1".to_string(), 200)]),
        "{stdout}"
    );
    assert_no_gprobe_programs();
}

/// A load-generating server: its binary, then how many GET /a, POST /b and GET /missing.
type Server = (PathBuf, u32, u32, u32);

/// `--recipe http-latency` without a target: every Go HTTP server on the host, each counted
/// exactly under its own pid, and `--prometheus` names each series' process.
#[test]
fn http_latency_recipe_node_wide_over_two_servers() {
    if !e2e_ready() || !toolchain_available("1.27.3") {
        return;
    }
    let servers = [
        (go_target("httpload", "1.19", &[]), 4, 3, 2),
        (go_target("httpload", "1.27.3", &[]), 6, 1, 3),
    ];
    let go_file = std::env::temp_dir()
        .join(format!("gprobe-node-http-go-{}", std::process::id()))
        .to_string_lossy()
        .into_owned();
    let _ = std::fs::remove_file(&go_file);
    let _k = kernel_lock();
    // Running before gprobe starts: the recipe's `args` are typed from the binaries it finds.
    let runs: Vec<(Child, &Server)> = servers
        .iter()
        .map(|s| {
            let child = Command::new(&s.0)
                .args([
                    "-get",
                    &s.1.to_string(),
                    "-post",
                    &s.2.to_string(),
                    "-missing",
                    &s.3.to_string(),
                    "-start",
                    &go_file,
                ])
                .stdout(Stdio::piped())
                .spawn()
                .expect("start httpload");
            (child, s)
        })
        .collect();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let addr = format!("127.0.0.1:{port}");
    let tracer = Tracer::start(&["--recipe", "http-latency", "--prometheus", &addr]);
    std::fs::write(&go_file, "go").expect("start file");
    let mut expected = BTreeMap::new();
    let mut pids = Vec::new();
    for (child, (bin, gets, posts, missing)) in runs {
        let pid = child.id();
        let out = wait_with_limit(child, LIMIT);
        assert!(
            out.status.success(),
            "{}: {}",
            bin.display(),
            text(&out.stderr)
        );
        for (key, n) in [
            (format!("{pid}, GET, /a, 200"), gets),
            (format!("{pid}, POST, /b, 200"), posts),
            (format!("{pid}, GET, /missing, 404"), missing),
        ] {
            expected.insert(key, u64::from(*n));
        }
        pids.push((
            pid,
            bin.file_name().unwrap().to_string_lossy().into_owned(),
            *gets,
        ));
    }
    let page = Command::new("curl")
        .args(["-sf", &format!("http://{addr}/metrics")])
        .output()
        .expect("curl");
    let page = text(&page.stdout);
    let stdout = tracer.stop();
    let _ = std::fs::remove_file(&go_file);
    assert_eq!(
        map_lines(&stdout, "@requests"),
        expected,
        "requests by (pid, method, path, status) differ from what each server sent:\n{stdout}"
    );
    for (pid, name, gets) in pids {
        let series =
            format!("pid=\"{pid}\",service_name=\"{name}\",process_executable_name=\"{name}\"");
        assert!(
            page.lines()
                .any(|l| l.starts_with("http_server_requests_total{") && l.contains(&series)),
            "no requests series labelled {series}:\n{page}"
        );
        // The annotated duration keeps the process labels beside its semantic-convention ones.
        assert!(
            page.lines().any(
                |l| l.starts_with("http_server_request_duration_seconds_count{")
                    && l.contains(&series)
                    && l.contains(
                        "http_request_method=\"GET\",http_route=\"/a\",http_response_status_code=\"200\"}"
                    )
                    && l.ends_with(&format!(" {gets}"))
            ),
            "no duration series labelled {series} counting {gets} GET /a:\n{page}"
        );
    }
    assert_no_gprobe_programs();
}
