//! Kernel types from BTF, end to end, next to bpftrace 0.17 on the same script and program:
//! `curtask` and casts to `struct task_struct *` (pid, tgid, comm, the parent chain), a
//! bit-field, naptime.bt's `args->rqtp->tv_sec` through a tracepoint's `struct
//! __kernel_timespec *` field, and kernel reads from a uprobe. The traced program
//! (tests/go/nap) calls nanosleep for a known duration from its first thread.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;
use support::*;

const GO: &str = "1.19";

/// naptime.bt's probe, printing the nap task's fields (`"nap"` becomes the program's comm).
const NAPTIME: &str = r#"
tracepoint:syscalls:sys_enter_nanosleep /comm == "nap" && args->rqtp->tv_sec == 1/ {
  $t = (struct task_struct *)curtask;
  printf("%d %d %d %d %s\n", $t->tgid, pid, $t->pid, tid, $t->comm);
  printf("%s %d\n", curtask->real_parent->comm, curtask->real_parent->real_parent->pid);
  printf("%d %d.%03d\n", $t->sched_reset_on_fork, args->rqtp->tv_sec, (uint64)args->rqtp->tv_nsec / 1e6);
  exit();
}
"#;

/// `tool` (gprobe or bpftrace) running `script` with `-c command`: its output lines without
/// the banner and the blank lines of the (empty) map printout at exit.
fn run(tool: &str, script: &str, command: &str) -> Vec<String> {
    let path = std::env::temp_dir().join(format!("gprobe-e2e-btf-{}.bt", std::process::id()));
    std::fs::write(&path, script).unwrap();
    let program = if tool == "gprobe" {
        gprobe_bin()
    } else {
        "bpftrace".into()
    };
    let child = Command::new(program)
        .arg(&path)
        .args(["-c", command])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {tool}: {e}"));
    let out = wait_with_limit(child, Duration::from_secs(60));
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "{tool} failed: {}\n{}",
        text(&out.stderr),
        text(&out.stdout)
    );
    text(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("Attaching"))
        .map(str::to_owned)
        .collect()
}

/// The nap program and its comm (its file name, cut to 15 bytes as the kernel does).
fn nap() -> (String, String) {
    let path = go_target("nap", GO, &[]);
    let comm: String = path
        .file_name()
        .unwrap()
        .to_string_lossy()
        .chars()
        .take(15)
        .collect();
    (path.display().to_string(), comm)
}

/// The calling thread's id: a task's `real_parent` is the thread that forked it.
fn this_thread() -> String {
    let link = std::fs::read_link("/proc/thread-self").expect("/proc/thread-self");
    link.file_name().unwrap().to_string_lossy().into_owned()
}

/// Checks one tool's NAPTIME output: the task is the nap process's first thread, its parent
/// the tool (which this test started), the sleep 1.250 s; returns the bit-field's value.
fn check_naptime(tool: &str, comm: &str, lines: &[String]) -> String {
    assert_eq!(lines.len(), 3, "{tool}: {lines:?}");
    let task: Vec<&str> = lines[0].split(' ').collect();
    assert_eq!(task.len(), 5, "{tool}: {lines:?}");
    assert_eq!(task[0], task[1], "{tool}: tgid == pid: {lines:?}");
    assert_eq!(task[2], task[3], "{tool}: task pid == tid: {lines:?}");
    assert_eq!(task[0], task[2], "{tool}: the first thread: {lines:?}");
    assert_eq!(task[4], comm, "{tool}: comm: {lines:?}");
    assert_eq!(
        lines[1],
        format!("{tool} {}", this_thread()),
        "{tool}: parent and grandparent (the test thread that started the tool)"
    );
    let (bit, sleep) = lines[2].split_once(' ').unwrap();
    assert_eq!(sleep, "1.250", "{tool}: the timespec the program passed");
    bit.to_string()
}

/// Fields read through `curtask` and a cast to `struct task_struct *`, and through the
/// tracepoint's `struct __kernel_timespec *` (user memory): the same as bpftrace's. Under
/// `chrt --reset-on-fork` the task's `sched_reset_on_fork` bit-field is 1.
#[test]
fn task_struct_fields_and_naptime_match_bpftrace() {
    if !e2e_ready() {
        return;
    }
    let _lock = kernel_lock();
    let (nap, comm) = nap();
    let script = NAPTIME.replace("\"nap\"", &format!("\"{comm}\""));
    let reset = format!("/usr/bin/chrt --reset-on-fork --other 0 {nap} -d 1250ms");
    let ours = run("gprobe", &script, &reset);
    let theirs = run("bpftrace", &script, &reset);
    assert_eq!(check_naptime("gprobe", &comm, &ours), "1", "{ours:?}");
    assert_eq!(check_naptime("bpftrace", &comm, &theirs), "1", "{theirs:?}");
    // Without the flag the bit reads 0: the read is the bit, not its neighbours.
    let plain = run("gprobe", &script, &format!("{nap} -d 1250ms"));
    assert_eq!(check_naptime("gprobe", &comm, &plain), "0", "{plain:?}");
    assert_no_gprobe_programs();
}

/// A uprobe's default address space is user memory, yet `curtask` points into the kernel:
/// its fields read with `bpf_probe_read_kernel` there too.
#[test]
fn curtask_fields_from_a_uprobe_match_bpftrace() {
    if !e2e_ready() {
        return;
    }
    let _lock = kernel_lock();
    let (nap, comm) = nap();
    let script = format!(
        r#"uprobe:{nap}:main.main {{ printf("%d %d %s %s\n", curtask->pid, tid, curtask->comm, curtask->real_parent->comm); exit(); }}"#
    );
    let command = format!("{nap} -d 1ms");
    for tool in ["gprobe", "bpftrace"] {
        let lines = run(tool, &script, &command);
        assert_eq!(lines.len(), 1, "{tool}: {lines:?}");
        let f: Vec<&str> = lines[0].split(' ').collect();
        assert_eq!(f.len(), 4, "{tool}: {lines:?}");
        assert_eq!(f[0], f[1], "{tool}: curtask->pid == tid: {lines:?}");
        assert_eq!(&f[2..], [comm.as_str(), tool], "{tool}: {lines:?}");
    }
    assert_no_gprobe_programs();
}
