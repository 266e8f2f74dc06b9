//! Uprobes on binary patterns: `uprobe:*:main.work` on every Go program with `main.work`,
//! running when gprobe starts or started later, and path globs that pick some binaries only.
//! Real kernel, real Go programs of different releases (one a stripped PIE); the counts are
//! checked per process against the calls each program makes.
//!
//! A pattern sees every matching program on the host, other tests' too, so results are read by
//! the pids started here.

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::*;

const LIMIT: Duration = Duration::from_secs(120);
const STRIPPED_PIE: &[&str] = &["-buildmode=pie", "-ldflags=-s -w"];
/// How long the programs running before gprobe sleep before their calls: gprobe must have
/// found and attached to them by then (a debug build on a busy machine takes seconds).
const EARLY_DELAY: &str = "8s";

/// `work` calling main.work `n` times after `delay`.
fn start_work(bin: &Path, n: u32, delay: &str) -> Child {
    Command::new(bin)
        .args(["-n", &n.to_string(), "-q", "-delay", delay])
        .stdout(Stdio::null())
        .spawn()
        .expect("start work")
}

/// gprobe on `prog`, returned once it reports its probes attached, with its stderr lines.
fn attached(prog: &str) -> (Child, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(gprobe_bin())
        .args(["-v", "-e", prog])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn gprobe");
    let stderr = line_channel(child.stderr.take().expect("stderr"));
    let mut first = String::new();
    BufReader::new(child.stdout.as_mut().expect("stdout"))
        .read_line(&mut first)
        .expect("read gprobe's first line");
    assert!(first.starts_with("Attaching"), "{first:?}");
    (child, stderr)
}

/// SIGINT (a normal stop), then gprobe's stdout and stderr.
fn stop(mut gprobe: Child, stderr: std::sync::mpsc::Receiver<String>) -> (String, String) {
    let status = Command::new("kill")
        .args(["-INT", &gprobe.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(status.success());
    let mut stdout = gprobe.stdout.take().expect("stdout");
    let out = wait_with_limit(gprobe, LIMIT);
    let mut text_out = text(&out.stdout);
    std::io::Read::read_to_string(&mut stdout, &mut text_out).ok();
    let err: Vec<String> = stderr.try_iter().collect();
    assert!(out.status.success(), "gprobe failed:\n{}", err.join("\n"));
    (text_out, err.join("\n"))
}

/// `@[PID]: N` lines.
fn counts(stdout: &str) -> BTreeMap<u32, u64> {
    stdout
        .lines()
        .filter_map(|l| {
            let (key, n) = l.strip_prefix("@[")?.split_once("]: ")?;
            Some((key.parse().ok()?, n.trim().parse().ok()?))
        })
        .collect()
}

fn wait_for(mut child: Child, what: &str) {
    let status = child.wait().expect("wait");
    assert!(status.success(), "{what} failed");
}

/// A copy of `bin` under a new name in a directory of its own: another file (inode) with the
/// same code, for a program the startup compile cannot have seen.
fn fresh_copy(bin: &Path, name: &str) -> PathBuf {
    let dir = repo_root().join("target/gotargets/patterns");
    std::fs::create_dir_all(&dir).expect("create dir");
    let to = dir.join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_file(&to);
    copy_executable(bin, &to);
    to
}

#[test]
fn every_go_program_running_or_started_later_counts_exactly() {
    if !e2e_ready() || !toolchain_available("1.23.9") {
        return;
    }
    let _k = kernel_lock();
    let old = go_target("work", "1.19", &[]);
    let pie = go_target("work", "1.23.9", STRIPPED_PIE);
    // Started after gprobe: Go 1.27 when installed, else a fresh copy of the 1.19 build.
    let late_bin = if toolchain_available("1.27.3") {
        fresh_copy(&go_target("work", "1.27.3", &[]), "work-late")
    } else {
        fresh_copy(&old, "work-late")
    };
    let a = start_work(&old, 11, EARLY_DELAY);
    let b = start_work(&pie, 13, EARLY_DELAY);
    let (pa, pb) = (a.id(), b.id());
    let (gprobe, stderr) = attached("uprobe:*:main.work { @[pid] = count(); }");
    let late = start_work(&late_bin, 17, "1s");
    let pl = late.id();
    wait_for(late, "the late program");
    wait_for(a, "the Go 1.19 program");
    wait_for(b, "the Go 1.23 PIE");
    let (stdout, err) = stop(gprobe, stderr);
    let _ = std::fs::remove_file(&late_bin);
    let got = counts(&stdout);
    let want = [(pa, 11), (pb, 13), (pl, 17)];
    for (pid, n) in want {
        assert_eq!(
            got.get(&pid).copied(),
            Some(n),
            "pid {pid}: calls counted\n{stdout}\n{err}"
        );
    }
    // -v tells how long the late program waited for its probes.
    let timing = err
        .lines()
        .find(|l| l.contains("attached uprobe:*:main.work to") && l.contains("after exec"));
    assert!(timing.is_some(), "{err}");
    eprintln!("{}", timing.unwrap_or_default());
    assert_no_gprobe_programs();
}

#[test]
fn path_glob_counts_only_the_binaries_it_matches() {
    if !e2e_ready() || !toolchain_available("1.23.9") {
        return;
    }
    let _k = kernel_lock();
    let old = go_target("work", "1.19", &[]);
    let pie = go_target("work", "1.23.9", STRIPPED_PIE);
    let a = start_work(&old, 5, EARLY_DELAY);
    let b = start_work(&pie, 9, EARLY_DELAY);
    let (pa, pb) = (a.id(), b.id());
    // Matches the 1.19 build only (`work-1.19`, not `work-1.23.9-…`).
    let dir = old.parent().expect("dir").display().to_string();
    let prog = format!("uprobe:{dir}/work-1.1?:main.work {{ @[pid] = count(); }}");
    let (gprobe, stderr) = attached(&prog);
    wait_for(a, "the Go 1.19 program");
    wait_for(b, "the Go 1.23 PIE");
    let (stdout, err) = stop(gprobe, stderr);
    let got = counts(&stdout);
    assert_eq!(got.get(&pa).copied(), Some(5), "{stdout}\n{err}");
    assert_eq!(got.get(&pb), None, "{stdout}\n{err}");
    assert_no_gprobe_programs();
}

#[test]
fn args_on_a_pattern_with_nothing_running_is_one_clear_error() {
    if !e2e_ready() {
        return;
    }
    let out = run_gprobe(
        &[
            "-e",
            "uprobe:/nonexistent/*/bin/*:main.work { printf(\"%d\\n\", args.id); }",
        ],
        LIMIT,
    );
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert_eq!(err.matches("error[").count(), 1, "{err}");
    assert!(
        err.contains("`args` on a binary pattern needs a running program that matches it")
            && err.contains("no running Go program matches this yet")
            && err.contains("start the program first"),
        "{err}"
    );
}

#[test]
fn a_pattern_that_matches_nothing_yet_says_it_waits_once() {
    if !e2e_ready() {
        return;
    }
    let _k = kernel_lock();
    let (gprobe, stderr) = attached("uprobe:*:main.noSuchFunctionAnywhere { @ = count(); }");
    // A Go program without the function starts meanwhile: still waiting, said only once.
    let other = start_work(&go_target("work", "1.19", &[]), 1, "0s");
    wait_for(other, "work");
    std::thread::sleep(Duration::from_millis(300));
    let (_, err) = stop(gprobe, stderr);
    assert_eq!(
        err.matches("waiting for a Go program with main.noSuchFunctionAnywhere")
            .count(),
        1,
        "{err}"
    );
    assert_no_gprobe_programs();
}

/// `work` copied into a tmpfs only a new mount namespace sees, run there: gprobe cannot open
/// its path, and reads (and attaches to) it through /proc/PID/exe.
fn start_in_mount_namespace(bin: &Path, dir: &Path, name: &str, n: u32, delay: &str) -> Child {
    let script = format!(
        "mount --make-rprivate / && mount -t tmpfs none {dir} && cp {bin} {dir}/{name} && exec {dir}/{name} -n {n} -q -delay {delay}",
        dir = dir.display(),
        bin = bin.display(),
    );
    Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .stdout(Stdio::null())
        .spawn()
        .expect("unshare")
}

#[test]
fn programs_in_another_mount_namespace_are_traced() {
    let has_unshare = Command::new("unshare")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !e2e_ready() || !has_unshare || !toolchain_available("1.23.9") {
        return;
    }
    let _k = kernel_lock();
    let dir = repo_root().join(format!(
        "target/gotargets/patterns/ns-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("create dir");
    let early = start_in_mount_namespace(
        &go_target("work", "1.19", &[]),
        &dir,
        "nswork",
        3,
        EARLY_DELAY,
    );
    // Its exec inside the namespace must be done before gprobe looks.
    std::thread::sleep(Duration::from_millis(500));
    let pe = early.id();
    let (gprobe, stderr) = attached("uprobe:*:main.work { @[pid] = count(); }");
    let late = start_in_mount_namespace(
        &go_target("work", "1.23.9", STRIPPED_PIE),
        &dir,
        "nslate",
        4,
        "1s",
    );
    let pl = late.id();
    wait_for(late, "the late program");
    wait_for(early, "the early program");
    let (stdout, err) = stop(gprobe, stderr);
    let _ = std::fs::remove_dir(&dir);
    // `unshare` execs `sh`, which execs the program: the pids stay the same.
    let got = counts(&stdout);
    assert_eq!(got.get(&pe).copied(), Some(3), "{stdout}\n{err}");
    assert_eq!(got.get(&pl).copied(), Some(4), "{stdout}\n{err}");
    assert_no_gprobe_programs();
}
