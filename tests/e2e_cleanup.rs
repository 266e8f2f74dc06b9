//! Nothing outlives gprobe: after a normal exit, Ctrl-C (SIGINT), SIGTERM, an error exit and
//! SIGKILL, no gprobe program, link, perf event or uprobe event remains. Uprobes, tracepoints
//! and perf events are tied to fds, so the kernel detaches them when the process dies: SIGKILL
//! is proven clean here, not assumed.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::*;

const LIMIT: Duration = Duration::from_secs(60);

/// Every probe type gprobe attaches today, on a long-running Go target.
fn script(bin: &str) -> String {
    format!(
        r#"uprobe:{bin}:main.work {{ @calls = count(); }}
tracepoint:syscalls:sys_enter_write {{ @writes = count(); }}
profile:hz:99 {{ @samples = count(); }}
interval:ms:100 {{ @ticks = count(); }}
END {{ printf("end\n"); }}
"#
    )
}

/// A target that keeps calling main.work for a while.
fn start_target(bin: &str) -> Child {
    Command::new(bin)
        .args(["-n", "100000000", "-q"])
        .stdout(Stdio::null())
        .spawn()
        .expect("start work")
}

/// Starts gprobe on `prog` and returns once it reports its probes attached.
fn attached(prog: &str) -> Child {
    let mut child = Command::new(gprobe_bin())
        .args(["-e", prog])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn gprobe");
    let mut first = String::new();
    BufReader::new(child.stdout.as_mut().expect("stdout"))
        .read_line(&mut first)
        .expect("read gprobe's first line");
    assert!(first.starts_with("Attaching 5 probes"), "{first:?}");
    child
}

fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

/// The kernel frees programs when their last fd closes, which may trail the exit by a moment:
/// settle briefly, then assert.
fn assert_clean(pid: u32) {
    for _ in 0..50 {
        if orphaned_gprobe_programs().is_empty() && perf_events_of(pid).is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(perf_events_of(pid).is_empty(), "{:?}", perf_events_of(pid));
    assert_no_gprobe_programs();
}

fn stop_with(sig: &str) {
    if !e2e_ready() {
        return;
    }
    let bin = go_target("work", "1.19", &[]).display().to_string();
    let mut target = start_target(&bin);
    let _k = kernel_lock();
    let mut child = attached(&script(&bin));
    let pid = child.id();
    if perf_events_of(pid).is_empty() {
        let _ = child.kill();
        let _ = target.kill();
        panic!("no links or perf events held while attached");
    }
    std::thread::sleep(Duration::from_millis(300));
    signal(pid, sig);
    let out = wait_with_limit(child, LIMIT);
    let stdout = text(&out.stdout);
    if sig == "-KILL" {
        assert_eq!(out.status.code(), None, "killed by a signal");
    } else {
        // A stop signal ends tracing normally: END runs and the maps print.
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(
            stdout.contains("end\n") && stdout.contains("@calls: "),
            "{stdout}"
        );
    }
    assert_clean(pid);
    let _ = target.kill();
    let _ = target.wait();
}

#[test]
fn clean_after_sigint() {
    stop_with("-INT");
}

#[test]
fn clean_after_sigterm() {
    stop_with("-TERM");
}

#[test]
fn clean_after_sigkill() {
    stop_with("-KILL");
}

#[test]
fn clean_after_normal_exit() {
    if !e2e_ready() {
        return;
    }
    let bin = go_target("work", "1.19", &[]).display().to_string();
    let _k = kernel_lock();
    let prog = script(&bin) + "interval:ms:300 { exit(); }";
    let mut target = start_target(&bin);
    let out = run_gprobe(&["-e", &prog], LIMIT);
    let _ = target.kill();
    let _ = target.wait();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_no_gprobe_programs();
}

/// The last probe fails to attach after the others attached: the error exit detaches them.
#[test]
fn clean_after_error_exit() {
    if !e2e_ready() {
        return;
    }
    let bin = go_target("work", "1.19", &[]).display().to_string();
    let _k = kernel_lock();
    let prog = script(&bin) + &format!("uprobe:{bin}:main.nosuchfunction {{ @x = count(); }}");
    let out = run_gprobe(&["-e", &prog], LIMIT);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("cannot attach to `main.nosuchfunction`"),
        "{}",
        text(&out.stderr)
    );
    assert_no_gprobe_programs();
}

/// tracefs mounts and rlimits: gprobe mounts tracefs only where it is missing (a mount that is
/// harmless to leave), and does not raise RLIMIT_MEMLOCK: the `-c` command it starts runs with
/// exactly the limits gprobe was given.
#[test]
fn tracefs_and_rlimits_are_harmless() {
    if !e2e_ready() {
        return;
    }
    let _k = kernel_lock();
    let ours = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let out = run_gprobe(
        &[
            "-e",
            "tracepoint:syscalls:sys_enter_openat { @opens = count(); }",
            "-c",
            "/bin/cat /proc/self/limits",
        ],
        LIMIT,
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let memlock = |limits: &str| {
        limits
            .lines()
            .find(|l| l.starts_with("Max locked memory"))
            .map(str::to_owned)
    };
    assert!(memlock(&ours).is_some());
    assert_eq!(memlock(&stdout), memlock(&ours), "{stdout}");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    assert!(
        mounts
            .lines()
            .any(|l| l.contains(" /sys/kernel/tracing ") && l.contains("tracefs")),
        "tracefs is mounted where the tracepoint needed it"
    );
    // The private mount namespace used to skip vmlinux BTF must not leak a bind mount.
    assert!(!mounts.contains("/sys/kernel/btf/vmlinux"), "{mounts}");
    assert_no_gprobe_programs();
}
