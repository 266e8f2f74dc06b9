//! End-to-end checks of the paths made fast for the benchmarks (docs/performance.md): BEGIN and
//! END run directly (no trigger uprobes), printf events reach the reader without wakeups,
//! scalar counts live in per-CPU arrays, and failure counters in a `.bss` value.

mod support;

use std::time::Duration;
use support::*;

const LIMIT: Duration = Duration::from_secs(60);

/// BEGIN runs before anything else and END after the last event; both see gprobe's context.
#[test]
fn begin_and_end_run_in_order_around_the_maps() {
    if !e2e_ready() {
        return;
    }
    let _k = kernel_lock();
    let out = run_gprobe(
        &[
            "-e",
            r#"BEGIN { printf("begin %s\n", comm); @n = count(); exit(); } END { printf("end\n"); @n = count(); }"#,
        ],
        LIMIT,
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "gprobe failed: {}", text(&out.stderr));
    let begin = stdout.find("begin gprobe\n").expect(&stdout);
    let end = stdout.find("end\n").expect(&stdout);
    let map = stdout.find("@n: 2\n").expect(&stdout);
    assert!(begin < end && end < map, "order in:\n{stdout}");
    assert_no_gprobe_programs();
}

/// Every printf written without a ring-buffer wakeup is still delivered, none lost.
#[test]
fn printf_events_without_wakeups_all_arrive() {
    if !e2e_ready() {
        return;
    }
    let bin = go_target("work", "1.23.9", &[]);
    let bin = bin.to_str().unwrap();
    let _k = kernel_lock();
    let prog = format!(r#"uprobe:{bin}:main.work {{ @n = count(); printf("ev %d\n", tid); }}"#);
    let cmd = format!("{bin} -n 3000 -q");
    let out = run_gprobe(&["-e", &prog, "-c", &cmd], LIMIT);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "gprobe failed: {}", text(&out.stderr));
    // As many lines as probe hits (a call restarted after stack growth may hit twice).
    let lines = stdout.lines().filter(|l| l.starts_with("ev ")).count();
    assert!(lines >= 3000, "{lines} lines");
    assert!(
        stdout.contains(&format!("@n: {lines}\n")),
        "{lines} lines but no @n: {lines}"
    );
    assert!(!text(&out.stderr).contains("lost"), "{}", text(&out.stderr));
    assert_no_gprobe_programs();
}

/// A scalar count (per-CPU array) counts every call; a full hash map that END clears has its
/// dropped updates counted in the `.bss` failure counters and reported.
#[test]
fn scalar_counts_and_dropped_updates() {
    if !e2e_ready() {
        return;
    }
    let bin = go_target("work", "1.23.9", &[]);
    let bin = bin.to_str().unwrap();
    let _k = kernel_lock();
    // Hash maps hold 4096 entries and every call stores under a new key. END clears @m so the
    // output stays small.
    let prog =
        format!("uprobe:{bin}:main.work {{ @n = count(); @m[nsecs] = 1; }} END {{ clear(@m); }}");
    let cmd = format!("{bin} -n 5000 -q");
    let out = run_gprobe(&["-e", &prog, "-c", &cmd], LIMIT);
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "gprobe failed: {stderr}");
    // An entry uprobe may fire again when a call restarts after growing its stack, so the hit
    // count is read from @n rather than assumed.
    let hits: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("@n: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no @n in:\n{stdout}"));
    assert!(hits >= 5000, "{stdout}");
    let dropped = format!("{} map updates dropped", hits - 4096);
    assert!(
        stderr.contains(&dropped),
        "expected `{dropped}` in: {stderr}"
    );
    assert_no_gprobe_programs();
}
