//! `rawtracepoint:NAME` end to end on this kernel: a tracepoint's raw `TP_PROTO` arguments
//! (`argN`), counted against the same events through `tracepoint:` in the same gprobe run and
//! through bpftrace 0.17's `tracepoint:` (bpftrace has raw tracepoints only from 0.18), on a
//! small C program built here; globs, `probe`, `-l`/`-lv` and the refusals.

mod support;

use std::path::PathBuf;
use std::time::Duration;
use support::*;

const LIMIT: Duration = Duration::from_secs(60);

/// `raw_calls N S`: N getppid system calls (110 on x86-64; libc's start-up makes none), the
/// parent's pid they returned on stdout, then S sleeps of 1 ms.
const RAW_CALLS: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 0;
    long s = argc > 2 ? atol(argv[2]) : 0;
    long ppid = 0;
    for (long i = 0; i < n; i++) ppid = syscall(SYS_getppid);
    printf("ppid=%ld\n", ppid);
    fflush(stdout);
    for (long i = 0; i < s; i++) usleep(1000);
    return 0;
}
"#;

fn raw_calls() -> PathBuf {
    c_program("rawtracepoint", "raw_calls", RAW_CALLS, &["-O1"])
}

/// `@name: N` in a printout.
fn scalar(stdout: &str, name: &str) -> Option<u64> {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .map(|n| n.trim().parse().expect("a number"))
}

/// sys_enter's arg1 is the syscall number, sys_exit's arg0 the registers (its `orig_ax` the
/// number again) and arg1 the result: 1000 getppid calls are 1000 of each, as
/// `tracepoint:raw_syscalls:sys_enter` counts them in the same run and bpftrace in its own,
/// and the result is the pid the program itself printed.
#[test]
fn raw_syscall_arguments_count_as_the_tracepoint_and_bpftrace() {
    if !e2e_ready() {
        return;
    }
    let _k = kernel_lock();
    let command = format!("{} 1000 0", raw_calls().display());
    let script = "rawtracepoint:sys_enter /pid == cpid && arg1 == 110/ { @raw_enter = count(); }
        rawtracepoint:sys_exit /pid == cpid && ((struct pt_regs *)arg0)->orig_ax == 110/ {
            @raw_exit = count(); @result = max(arg1); }
        tracepoint:raw_syscalls:sys_enter /pid == cpid && args.id == 110/ { @tp_enter = count(); }";
    let out = gprobe_ok(&["-q", "-e", script, "-c", &command], LIMIT);
    for map in ["@raw_enter", "@raw_exit", "@tp_enter"] {
        assert_eq!(scalar(&out, map), Some(1000), "{map} in:\n{out}");
    }
    let printed: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("ppid="))
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("the program's ppid line in:\n{out}"));
    assert_eq!(scalar(&out, "@result"), Some(printed), "{out}");
    let bt = bpftrace_ok(&[
        "-q",
        "-e",
        "tracepoint:raw_syscalls:sys_enter /pid == cpid && args->id == 110/ { @tp_enter = count(); }",
        "-c",
        &command,
    ]);
    assert_eq!(scalar(&bt, "@tp_enter"), Some(1000), "bpftrace:\n{bt}");
}

/// sched_switch passes (preempt, prev, next, prev_state): switches *to* the program, read
/// through the `next` task pointer, are exactly those `tracepoint:sched:sched_switch` sees
/// with `next_pid` in the same run (the same events), and about what bpftrace counts.
#[test]
fn a_task_pointer_argument_reads_as_the_tracepoint_field() {
    if !e2e_ready() {
        return;
    }
    let _k = kernel_lock();
    let sleeps = 100;
    let command = format!("{} 0 {sleeps}", raw_calls().display());
    let out = gprobe_ok(
        &[
            "-q",
            "-e",
            "rawtracepoint:sched_switch /((struct task_struct *)arg2)->pid == cpid/ { @raw = count(); }
             tracepoint:sched:sched_switch /args.next_pid == cpid/ { @tp = count(); }",
            "-c",
            &command,
        ],
        LIMIT,
    );
    let raw = scalar(&out, "@raw").unwrap_or_else(|| panic!("no @raw in:\n{out}"));
    assert_eq!(Some(raw), scalar(&out, "@tp"), "{out}");
    let bt = bpftrace_ok(&[
        "-q",
        "-e",
        "tracepoint:sched:sched_switch /args->next_pid == cpid/ { @tp = count(); }",
        "-c",
        &command,
    ]);
    let theirs = scalar(&bt, "@tp").unwrap_or_else(|| panic!("bpftrace:\n{bt}"));
    // Each sleep switches back in once at least; a short-lived process rarely does much more.
    for (who, n) in [("gprobe", raw), ("bpftrace", theirs)] {
        assert!(
            (sleeps..sleeps * 3).contains(&n),
            "{who} counted {n} switches in for {sleeps} sleeps"
        );
    }
}

/// A glob attaches every tracepoint it names and `probe` names each; `-l` lists the names
/// bpftrace 0.17 lists as tracepoints (less the per-syscall `syscalls:` events), `-lv` their
/// arguments from BTF; a misspelt name and an argument beyond the count are refused, spanned.
#[test]
fn globs_listing_and_refusals() {
    if !e2e_ready() {
        return;
    }
    let _k = kernel_lock();
    let command = format!("{} 0 0", raw_calls().display());
    let out = gprobe_ok(
        &[
            "-q",
            "-e",
            "rawtracepoint:sched_process_e* /pid == cpid/ { @[probe] = count(); }",
            "-c",
            &command,
        ],
        LIMIT,
    );
    let fired = map_lines(&out, "@");
    let bt = bpftrace_ok(&[
        "-q",
        "-e",
        "tracepoint:sched:sched_process_e* /pid == cpid/ { @[probe] = count(); }",
        "-c",
        &command,
    ]);
    let theirs: std::collections::BTreeMap<String, u64> = map_lines(&bt, "@")
        .into_iter()
        .map(|(k, n)| (k.replace("tracepoint:sched:", "rawtracepoint:"), n))
        .collect();
    assert_eq!(fired, theirs, "gprobe:\n{out}\nbpftrace:\n{bt}");
    assert_eq!(
        fired.get("rawtracepoint:sched_process_exec"),
        Some(&1),
        "{out}"
    );

    let listed = gprobe_ok(&["-l", "rawtracepoint:sched_*"], LIMIT);
    let bt_listed = bpftrace_ok(&["-l", "tracepoint:sched:sched_*"]);
    let mut ours: Vec<&str> = listed.lines().collect();
    let mut names: Vec<String> = bt_listed
        .lines()
        .map(|l| l.replace("tracepoint:sched:", "rawtracepoint:"))
        .collect();
    ours.sort_unstable();
    names.sort_unstable();
    assert_eq!(ours, names, "{listed}");
    let verbose = gprobe_ok(&["-lv", "rawtracepoint:sys_enter"], LIMIT);
    assert_eq!(
        verbose,
        "rawtracepoint:sys_enter\n    struct pt_regs *arg0\n    long int arg1\n"
    );
    assert!(
        !gprobe_ok(&["-l", "rawtracepoint:sys_enter_*"], LIMIT).contains("sys_enter_"),
        "the syscalls: events are no raw tracepoints"
    );

    for (script, code, says) in [
        (
            "rawtracepoint:sched_swich { @ = count(); }",
            "E0405",
            "similar: sched_switch",
        ),
        (
            "rawtracepoint:sys_enter { @[arg2] = count(); }",
            "E0422",
            "raw tracepoint `sys_enter` passes 2 arguments",
        ),
        (
            "rawtracepoint:vfs_nope* { @ = count(); }",
            "E0405",
            "no tracepoint matches",
        ),
    ] {
        let out = run_gprobe(&["-e", script], LIMIT);
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{script} ran");
        assert!(err.contains(code) && err.contains(says), "{script}:\n{err}");
        assert!(err.contains("<command line>:1:"), "spanned: {err}");
    }
}
