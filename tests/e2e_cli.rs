//! The command line as a bpftrace user first meets it, end to end: scripts run by their `#!`
//! line, the program on stdin, `-q`, output into a closed pipe (`| head`), a stop signal while
//! stdout is blocked, and `-p` ending with its target. Each leaves nothing attached.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

const LIMIT: Duration = Duration::from_secs(60);

fn write_temp(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gprobe-e2e-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write script");
    path
}

fn spawn(args: &[&str]) -> Child {
    Command::new(gprobe_bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn gprobe")
}

fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

/// The kernel frees programs when their last fd closes, which may trail the exit a moment.
fn assert_clean() {
    for _ in 0..50 {
        if orphaned_gprobe_programs().is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_no_gprobe_programs();
}

#[test]
fn shebang_script_and_stdin_program_run() {
    if !e2e_ready() {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let _k = kernel_lock();
    let script = write_temp(
        "hello.gp",
        &format!(
            "#!{}\nBEGIN {{ printf(\"hi\\n\"); exit(); }}\n",
            gprobe_bin().display()
        ),
    );
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    // ETXTBSY while another test thread's fork still holds the new file open for writing.
    let out = (0..50)
        .find_map(|_| match Command::new(&script).output() {
            Err(e) if e.raw_os_error() == Some(26) => {
                std::thread::sleep(Duration::from_millis(20));
                None
            }
            other => Some(other.expect("run the script")),
        })
        .expect("script stayed busy");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("Attaching 1 probe...\nhi\n"),
        "{}",
        text(&out.stdout)
    );

    // `-q -`: the program from stdin, without the banner (text and JSON).
    for (format, first) in [("text", "hi\n"), ("json", "{\"type\": \"printf\"")] {
        let mut child = Command::new(gprobe_bin())
            .args(["-q", "-f", format, "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn gprobe");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(b"#!/usr/bin/env bpftrace\nBEGIN { printf(\"hi\\n\"); exit(); }\n")
            .expect("write the program");
        let out = wait_with_limit(child, LIMIT);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(
            stdout.starts_with(first) && !stdout.contains("ttach"),
            "{format}: {stdout}"
        );
    }
    assert_clean();
}

/// `gprobe ... | head -1`: once the reader has gone, gprobe ends as bpftrace does, killed by
/// SIGPIPE (status 141 in a shell), with nothing on stderr (no panic, no "internal error")
/// and nothing left attached: for `-l`, for BEGIN output, and for a running trace.
#[test]
fn a_closed_stdout_ends_gprobe_by_sigpipe() {
    if !e2e_ready() {
        return;
    }
    let _k = kernel_lock();
    let long = ".".repeat(1000);
    // 100 KB: more than a pipe holds, so gprobe is still writing when the reader leaves.
    let begin = format!(
        "BEGIN {{ $i = 0; while ($i < 100) {{ printf(\"%d {long}\\n\", $i); $i++; }} exit(); }}"
    );
    let running = format!(
        "profile:hz:999 {{ printf(\"%d {}\\n\", pid); }}",
        &long[..200]
    );
    let cases: [&[&str]; 3] = [&["-l"], &["-e", &begin], &["-e", &running]];
    for args in cases {
        let mut child = spawn(args);
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        stdout.read_line(&mut first).expect("read the first line");
        assert!(!first.is_empty(), "{args:?}");
        drop(stdout);
        let out = wait_with_limit(child, LIMIT);
        assert_eq!(
            out.status.signal(),
            Some(13),
            "{args:?}: {:?} {}",
            out.status,
            text(&out.stderr)
        );
        assert!(out.stderr.is_empty(), "{args:?}: {}", text(&out.stderr));
        assert_clean();
    }
}

/// Ctrl-C and SIGTERM act at once even when nobody reads stdout (`gprobe ... | (sleep 25;
/// cat)`): the output that cannot be written is dropped, tracing ends, END runs, the exit is
/// normal and nothing stays attached. Before, gprobe stayed blocked in write(2) until the
/// reader came back.
#[test]
fn stop_signals_act_while_stdout_is_blocked() {
    if !e2e_ready() {
        return;
    }
    let _k = kernel_lock();
    let flame = write_temp("blocked.folded", "");
    std::fs::remove_file(&flame).expect("start without the file");
    let line = ".".repeat(300);
    let program = format!(
        "profile:hz:999 {{ printf(\"%d {line}\\n\", pid); @[kstack] = count(); }} END {{ printf(\"end\\n\"); }}"
    );
    for sig in ["-INT", "-TERM"] {
        let mut child = spawn(&["--folded", flame.to_str().expect("utf-8"), "-e", &program]);
        let pid = child.id();
        let mut stdout = child.stdout.take().expect("stdout");
        // Read the banner, then never again: ~600 KB/s fill the 64 KiB pipe in well under 2 s.
        let mut banner = [0u8; 64];
        let n = stdout.read(&mut banner).expect("read the banner");
        assert!(
            String::from_utf8_lossy(&banner[..n]).starts_with("Attaching 2 probes"),
            "{}",
            String::from_utf8_lossy(&banner[..n])
        );
        std::thread::sleep(Duration::from_secs(2));
        let start = Instant::now();
        signal(pid, sig);
        let out = wait_with_limit(child, LIMIT);
        let took = start.elapsed();
        drop(stdout);
        assert!(
            took < Duration::from_secs(5),
            "{sig}: exited after {took:?}"
        );
        assert!(out.status.success(), "{sig}: {}", text(&out.stderr));
        // The exporters still got the final maps.
        let folded = std::fs::read_to_string(&flame).unwrap_or_default();
        assert!(!folded.is_empty(), "{sig}: no folded stacks written");
        std::fs::remove_file(&flame).expect("remove the folded stacks");
        assert_clean();
    }
}

/// `-p PID` ends when its target exits, as `-c` does, with END and the final maps.
#[test]
fn pid_sessions_end_with_their_target() {
    if !e2e_ready() {
        return;
    }
    let _k = kernel_lock();
    let mut target = Command::new("sleep").arg("1").spawn().expect("start sleep");
    let pid = target.id().to_string();
    // Reap it as soon as it exits, as a shell would.
    let reaper = std::thread::spawn(move || target.wait());
    let start = Instant::now();
    let out = wait_with_limit(
        spawn(&[
            "-p",
            &pid,
            "-e",
            "interval:ms:100 { @ticks = count(); } END { printf(\"end\\n\"); }",
        ]),
        LIMIT,
    );
    let took = start.elapsed();
    let _ = reaper.join();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(took < Duration::from_secs(10), "ended after {took:?}");
    assert!(
        stdout.contains("end\n") && stdout.contains("@ticks: "),
        "{stdout}"
    );
    assert_clean();
}

/// An existing `--folded` file is checked before attaching without being changed, and left as
/// is when there is nothing to write.
#[test]
fn an_existing_output_file_is_checked_without_truncating() {
    if !e2e_ready() {
        return;
    }
    let _k = kernel_lock();
    let kept = write_temp("kept.folded", "old\n");
    let out = run_gprobe(
        &[
            "--folded",
            kept.to_str().expect("utf-8"),
            "-e",
            "BEGIN { exit(); }",
        ],
        LIMIT,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&kept).expect("read"), "old\n");
}
