//! `-p` with several pids, `--exe`/`--cgroup`, and `-p` on a process in its own mount namespace:
//! real Go programs (tests/go/work logs each call of main.work, one write per line), counts
//! checked exactly against what they log.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::*;

const LIMIT: Duration = Duration::from_secs(120);
/// How long the programs wait before their first call: gprobe must have attached by then
/// (checked: a slower attach fails the test instead of undercounting).
const DELAY: Duration = Duration::from_secs(6);

/// How many calls of main.work `out` logged.
fn logged_calls(out: &Output) -> u64 {
    assert!(out.status.success(), "work failed: {}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("work("))
        .count() as u64
}

fn work(bin: &Path, n: u32) -> Child {
    Command::new(bin)
        .args([
            "-n",
            &n.to_string(),
            "-delay",
            &format!("{}ms", DELAY.as_millis()),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start work")
}

/// gprobe with `args`, once attached (its banner read before `started + DELAY`).
fn attached(args: &[String], started: Instant) -> Tracer {
    let tracer = Tracer::start(args);
    assert!(
        started.elapsed() < DELAY,
        "gprobe took {:?} to attach, longer than the programs wait",
        started.elapsed()
    );
    tracer
}

/// `-p A,B`: two Go releases, each read on its own terms (goid from its own offsets), a third
/// process of A's binary left out (uprobes attach per pid), tracepoints filtered to A and B,
/// and the session ends by itself once both have exited.
#[test]
fn several_pids_are_traced_each_on_its_own_terms() {
    if !e2e_ready() || !toolchain_available("1.23.9") {
        return;
    }
    let old = go_target("work", "1.19", &[]);
    let new = go_target("work", "1.23.9", &["-buildmode=pie", "-ldflags=-s -w"]);
    let _k = kernel_lock();
    let started = Instant::now();
    let a = work(&old, 300);
    let b = work(&new, 500);
    let c = work(&old, 200);
    let (a_pid, b_pid, c_pid) = (a.id(), b.id(), c.id());
    let program = "uprobe:main.work { @calls[pid] = count(); @goids[pid, goid] = count(); } \
                   tracepoint:syscalls:sys_enter_write /args.fd == 1/ { @writes[pid] = count(); }";
    let tracer = attached(
        &[
            "-p".into(),
            format!("{a_pid},{b_pid}"),
            "-e".into(),
            program.into(),
        ],
        started,
    );
    let (a_calls, b_calls, c_calls) = (
        logged_calls(&wait_with_limit(a, LIMIT)),
        logged_calls(&wait_with_limit(b, LIMIT)),
        logged_calls(&wait_with_limit(c, LIMIT)),
    );
    assert_eq!((a_calls, b_calls, c_calls), (300, 500, 200));
    // No signal: the last target's exit ends the session.
    let stdout = tracer.wait();
    let expect = |pairs: &[(String, u64)]| pairs.iter().cloned().collect::<BTreeMap<_, _>>();
    assert_eq!(
        map_lines(&stdout, "@calls"),
        expect(&[(a_pid.to_string(), a_calls), (b_pid.to_string(), b_calls)]),
        "{stdout}"
    );
    assert_eq!(
        map_lines(&stdout, "@goids"),
        expect(&[
            (format!("{a_pid}, 1"), a_calls),
            (format!("{b_pid}, 1"), b_calls)
        ]),
        "{stdout}"
    );
    // One write(1, ...) per logged line.
    assert_eq!(
        map_lines(&stdout, "@writes"),
        expect(&[(a_pid.to_string(), a_calls), (b_pid.to_string(), b_calls)]),
        "{stdout}"
    );
    assert!(!stdout.contains(&c_pid.to_string()), "{stdout}");
    assert_no_gprobe_programs();
}

/// `--exe GLOB`: of two programs started after gprobe, only the one whose executable matches
/// is traced, by a binary pattern and by a tracepoint alike.
#[test]
fn exe_glob_limits_node_wide_tracing() {
    if !e2e_ready() || !toolchain_available("1.23.9") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("gprobe-exe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let chosen = dir.join("chosen-work");
    let other = dir.join("other-work");
    copy_executable(go_target("work", "1.23.9", &[]), &chosen);
    copy_executable(go_target("work", "1.19", &[]), &other);
    let _k = kernel_lock();
    let started = Instant::now();
    let program = "uprobe:*:main.work { @calls[pid] = count(); } \
                   tracepoint:syscalls:sys_enter_write /args.fd == 1/ { @writes[pid, goid] = count(); }";
    let glob = format!("{}/chosen-*", dir.display());
    let tracer = attached(
        &["--exe".into(), glob, "-e".into(), program.into()],
        started,
    );
    let (a, b) = (work(&chosen, 250), work(&other, 150));
    let a_pid = a.id();
    let calls = logged_calls(&wait_with_limit(a, LIMIT));
    assert_eq!(logged_calls(&wait_with_limit(b, LIMIT)), 150);
    let stdout = tracer.stop();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        map_lines(&stdout, "@calls"),
        [(a_pid.to_string(), calls)].into_iter().collect(),
        "{stdout}"
    );
    assert_eq!(
        map_lines(&stdout, "@writes"),
        [(format!("{a_pid}, 1"), calls)].into_iter().collect(),
        "{stdout}"
    );
    assert_no_gprobe_programs();
}

/// Where a cgroup v2 hierarchy is mounted (`0::` paths are relative to it), if any.
fn cgroup2_root() -> Option<PathBuf> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    mounts.lines().find_map(|l| {
        let mut f = l.split_whitespace();
        let (_, at, kind) = (f.next()?, f.next()?, f.next()?);
        (kind == "cgroup2").then(|| PathBuf::from(at))
    })
}

/// `--cgroup SUBSTRING`: a program started in a fresh cgroup is traced, one outside is not.
#[test]
fn cgroup_substring_limits_node_wide_tracing() {
    if !e2e_ready() {
        return;
    }
    let Some(root) = cgroup2_root() else {
        eprintln!("skipped: no cgroup v2 hierarchy mounted");
        return;
    };
    let name = format!("gprobe-cg-{}", std::process::id());
    let cg = root.join(&name);
    std::fs::create_dir_all(&cg).expect("create cgroup");
    let bin = go_target("work", "1.19", &[]);
    let _k = kernel_lock();
    let started = Instant::now();
    let program = "uprobe:*:main.work { @calls[pid] = count(); }";
    let tracer = attached(
        &["--cgroup".into(), name.clone(), "-e".into(), program.into()],
        started,
    );
    // The shell joins the cgroup, then execs the program (selection is decided at exec).
    let inside = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "echo $$ > {}/cgroup.procs && exec {} -n 120 -delay 200ms",
            cg.display(),
            bin.display()
        ))
        .stdout(Stdio::piped())
        .spawn()
        .expect("start inside");
    let outside = Command::new(&bin)
        .args(["-n", "80", "-delay", "200ms"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start outside");
    let inside_pid = inside.id();
    let calls = logged_calls(&wait_with_limit(inside, LIMIT));
    assert_eq!(logged_calls(&wait_with_limit(outside, LIMIT)), 80);
    let stdout = tracer.stop();
    let _ = std::fs::remove_dir(&cg);
    assert_eq!(
        map_lines(&stdout, "@calls"),
        [(inside_pid.to_string(), calls)].into_iter().collect(),
        "{stdout}"
    );
    assert_no_gprobe_programs();
}

/// A program in its own mount (and pid) namespace runs a copy of work from a private tmpfs at
/// a path where the host has another binary. `-p` with that path traces the process's own
/// file (through /proc/PID/root), and a path only the host has is refused with why.
#[test]
fn pid_in_another_mount_namespace_gets_its_own_file() {
    if !e2e_ready() || !toolchain_available("1.23.9") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("gprobe-ctr-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let at = dir.join("work");
    let host_only = dir.join("host-only");
    // The host's file at that path: another build, whose offsets would be wrong too.
    copy_executable(go_target("work", "1.23.9", &[]), &at);
    copy_executable(go_target("work", "1.23.9", &[]), &host_only);
    let theirs = go_target("work", "1.19", &[]);
    let _k = kernel_lock();
    let started = Instant::now();
    let script = format!(
        "mount -t tmpfs none {d} && cp {b} {at} && exec {at} -n 321 -delay {ms}ms",
        d = dir.display(),
        b = theirs.display(),
        at = at.display(),
        ms = DELAY.as_millis()
    );
    let ns = Command::new("unshare")
        .args(["-m", "-p", "-f", "--mount-proc", "sh", "-c", &script])
        .stdout(Stdio::piped())
        .spawn()
        .expect("unshare");
    let pid = host_pid_running(&at);
    let refused = run_gprobe(
        &[
            "-p",
            &pid.to_string(),
            "-e",
            &format!(
                "uprobe:{}:main.work {{ @ = count(); }}",
                host_only.display()
            ),
        ],
        LIMIT,
    );
    let stderr = text(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "process {pid} does not see {}",
            host_only.display()
        )) && stderr.contains("in its own view of the filesystem"),
        "{stderr}"
    );
    let tracer = attached(
        &[
            "-p".into(),
            pid.to_string(),
            "-e".into(),
            format!(
                "uprobe:{}:main.work {{ @calls = count(); @g[goid] = count(); }}",
                at.display()
            ),
        ],
        started,
    );
    let calls = logged_calls(&wait_with_limit(ns, LIMIT));
    assert_eq!(calls, 321);
    let stdout = tracer.wait();
    assert!(stdout.contains(&format!("@calls: {calls}")), "{stdout}");
    assert_eq!(
        map_lines(&stdout, "@g"),
        [("1".to_string(), calls)].into_iter().collect(),
        "{stdout}"
    );

    // Both at once: the host's file at that path run on the host, the copy in the namespace.
    // Named, the path is two files (refused); omitted, each process's own executable.
    let started = Instant::now();
    let script = format!(
        "mount -t tmpfs none {d} && cp {b} {at} && exec {at} -n 222 -delay {ms}ms",
        d = dir.display(),
        b = theirs.display(),
        at = at.display(),
        ms = DELAY.as_millis()
    );
    let ns = Command::new("unshare")
        .args(["-m", "-p", "-f", "--mount-proc", "sh", "-c", &script])
        .stdout(Stdio::piped())
        .spawn()
        .expect("unshare");
    let host = work(&at, 111);
    let ns_pid = host_pid_running_other_than(&at, host.id());
    let pids = format!("{ns_pid},{}", host.id());
    let refused = run_gprobe(
        &[
            "-p",
            &pids,
            "-e",
            &format!("uprobe:{}:main.work {{ @ = count(); }}", at.display()),
        ],
        LIMIT,
    );
    let stderr = text(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "the -p processes see different files at {}",
            at.display()
        )),
        "{stderr}"
    );
    let tracer = attached(
        &[
            "-p".into(),
            pids,
            "-e".into(),
            "uprobe:main.work { @calls[pid, goid] = count(); }".into(),
        ],
        started,
    );
    let host_pid = host.id();
    let (ns_calls, host_calls) = (
        logged_calls(&wait_with_limit(ns, LIMIT)),
        logged_calls(&wait_with_limit(host, LIMIT)),
    );
    assert_eq!((ns_calls, host_calls), (222, 111));
    let stdout = tracer.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        map_lines(&stdout, "@calls"),
        [
            (format!("{ns_pid}, 1"), ns_calls),
            (format!("{host_pid}, 1"), host_calls)
        ]
        .into_iter()
        .collect(),
        "{stdout}"
    );
    assert_no_gprobe_programs();
}

/// [`host_pid_running`], skipping `other` (a host process of the same path).
fn host_pid_running_other_than(exe: &Path, other: u32) -> u32 {
    wait_for_process(
        &format!("other than {other} runs {}", exe.display()),
        |pid| {
            pid != other && std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|e| e == exe)
        },
    )
}

/// The host pid of the process whose executable, as it sees it, is `exe` (waits for it).
fn host_pid_running(exe: &Path) -> u32 {
    host_pid_running_other_than(exe, 0)
}
