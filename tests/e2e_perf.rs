//! Perf-event probes and the bpftrace command-line extras, end to end against a small C
//! program built here, each compared with bpftrace 0.17 on the same program: `software:`
//! page faults and context switches, a watchpoint on a global, `hardware:` where there is no
//! PMU, `--info`, `-l`, SIGUSR1 printing the maps mid-run, and BPFTRACE_MAP_KEYS_MAX.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use support::*;

const LIMIT: Duration = Duration::from_secs(60);

/// `perf_pages N K S`: after 300 ms, touches N fresh pages, writes `counter` K times and
/// sleeps 1 ms S times. `counter` sits alone in its own page of .bss, so the ELF loader's
/// zeroing of the last data page never writes it (that would be one more watchpoint hit).
const PERF_PAGES: &str = r#"
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
volatile long counter __attribute__((aligned(4096)));
int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 0;
    long k = argc > 2 ? atol(argv[2]) : 0;
    long s = argc > 3 ? atol(argv[3]) : 0;
    usleep(300000);
    char *p = mmap(0, n * 4096 + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (long i = 0; i < n; i++) p[i * 4096] = 1;
    for (long i = 0; i < k; i++) counter = i;
    for (long i = 0; i < s; i++) usleep(1000);
    return 0;
}
"#;

/// Built without PIE so `counter` has the same address in every run (a watchpoint takes an
/// absolute address).
fn perf_pages() -> PathBuf {
    c_program("perf", "perf_pages", PERF_PAGES, &["-g", "-O0", "-no-pie"])
}

/// The address of `symbol` in `binary`, from nm.
fn symbol_address(binary: &Path, symbol: &str) -> u64 {
    let out = Command::new("nm").arg(binary).output().expect("run nm");
    let text = text(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.ends_with(&format!(" {symbol}")))
        .unwrap_or_else(|| panic!("{symbol} not in nm output:\n{text}"));
    u64::from_str_radix(line.split_whitespace().next().unwrap_or(""), 16).expect("hex address")
}

/// The value of the bare map `@` in a printout, 0 when it was never set.
fn count_of(stdout: &str) -> u64 {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("@: "))
        .map_or(0, |n| n.trim().parse().expect("a count"))
}

fn both(script: &str, command: &str) -> (u64, u64) {
    let g = gprobe_ok(&["-q", "-e", script, "-c", command], LIMIT);
    let b = bpftrace_ok(&["-q", "-e", script, "-c", command]);
    (count_of(&g), count_of(&b))
}

#[test]
fn page_faults_count_the_pages_touched_as_bpftrace() {
    if !e2e_ready() {
        return;
    }
    let _k = kernel_lock();
    let bin = perf_pages();
    let n = 2000;
    let command = format!("{} {n} 0 0", bin.display());
    // Every fault of the process, and the long form with an alias (`faults`) and default count.
    let (g, b) = both(
        "software:page-faults:1 /comm == \"perf_pages\"/ { @ = count(); }",
        &command,
    );
    // The pages touched, plus the program's own start-up faults (loader, libc).
    assert!(
        (n..n + 300).contains(&g),
        "gprobe counted {g} faults for {n} pages"
    );
    assert!(
        (n..n + 300).contains(&b),
        "bpftrace counted {b} faults for {n} pages"
    );
    assert!(g.abs_diff(b) < 100, "gprobe {g}, bpftrace {b}");
    let (g_alias, _) = (
        count_of(&gprobe_ok(
            &[
                "-q",
                "-e",
                "s:faults:1 /comm == \"perf_pages\"/ { @ = count(); }",
                "-c",
                &command,
            ],
            LIMIT,
        )),
        (),
    );
    assert!(g_alias.abs_diff(g) < 100, "alias {g_alias}, full {g}");
}

#[test]
fn context_switches_count_the_sleeps_as_bpftrace() {
    if !e2e_ready() {
        return;
    }
    let _k = kernel_lock();
    let bin = perf_pages();
    let sleeps = 100;
    let command = format!("{} 0 0 {sleeps}", bin.display());
    let (g, b) = both(
        "software:context-switches:1 /comm == \"perf_pages\"/ { @ = count(); }",
        &command,
    );
    // Each sleep switches out at least once; a short-lived process rarely does much more.
    for (who, n) in [("gprobe", g), ("bpftrace", b)] {
        assert!(
            (sleeps..sleeps * 3).contains(&n),
            "{who} counted {n} switches for {sleeps} sleeps"
        );
    }
}

/// `watch_args`: `increment(p)` three times on one heap int, then once on another; each call
/// writes `*p` once, after the call is entered (so a watchpoint set at the entry sees it).
const WATCH_ARGS: &str = r#"
#include <stdio.h>
#include <stdlib.h>
__attribute__((noinline)) void increment(int *p) { (*p)++; }
int main(void) {
    int *x = calloc(1, sizeof(int));
    for (int i = 0; i < 3; i++) increment(x);
    int *y = calloc(1, sizeof(int));
    increment(y);
    printf("%d %d\n", *x, *y);
    return 0;
}
"#;

/// `watchpoint:FUNC+argN:LEN:MODE`, as bpftrace 0.17 has it: at each call of `increment`
/// with an address not watched yet, a watchpoint there (the process waits, stopped, while it
/// is attached): 3 writes of the first int and 1 of the second are 4 hits, as bpftrace counts.
#[test]
fn a_watchpoint_on_a_functions_argument_counts_as_bpftrace() {
    if !e2e_ready() {
        return;
    }
    let _k = kernel_lock();
    let bin = c_program("perf", "watch_args", WATCH_ARGS, &["-g", "-O0"]);
    let command = bin.display().to_string();
    let script = "watchpoint:increment+arg0:4:w { @ = count(); @pids[pid] = count(); }";
    let ours = gprobe_ok(&["-e", script, "-c", &command], LIMIT);
    let theirs = bpftrace_ok(&["-e", script, "-c", &command]);
    assert_eq!(count_of(&ours), 4, "{ours}");
    assert_eq!(count_of(&ours), count_of(&theirs), "bpftrace:\n{theirs}");
    // The program ran to its end, with its own result, and was not left stopped.
    assert!(ours.contains("3 1"), "{ours}");
    assert!(ours.starts_with("Attaching 1 probe..."), "{ours}");
    assert_no_gprobe_programs();
    // A misspelled function: one diagnostic, nothing attached.
    let out = run_gprobe(
        &[
            "-e",
            "watchpoint:incremnt+arg0:4:w { @ = count(); }",
            "-c",
            &command,
        ],
        LIMIT,
    );
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("cannot watch an argument of `incremnt`"),
        "{stderr}"
    );
    assert_no_gprobe_programs();
}

#[test]
fn a_watchpoint_counts_each_write_as_bpftrace() {
    if !e2e_ready() {
        return;
    }
    let _k = kernel_lock();
    let bin = perf_pages();
    let address = symbol_address(&bin, "counter");
    let k = 500;
    let command = format!("{} 1 {k} 0", bin.display());
    let script = format!("watchpoint:{address:#x}:8:w {{ @ = count(); }}");
    let (g, b) = both(&script, &command);
    assert_eq!(g, k, "gprobe");
    assert_eq!(b, k, "bpftrace");
    // asyncwatchpoint on an address is the same watch.
    let script = format!("asyncwatchpoint:{address:#x}:8:w {{ @ = count(); }}");
    let g = count_of(&gprobe_ok(&["-q", "-e", &script, "-c", &command], LIMIT));
    assert_eq!(g, k, "asyncwatchpoint");
    // The writer's stack: every hit is in main (aya's own breakpoint attach refuses stacks).
    let script = format!("watchpoint:{address:#x}:8:w {{ @[ustack(1)] = count(); }}");
    let out = gprobe_ok(&["-q", "-e", &script, "-c", &command], LIMIT);
    let stacks: Vec<&str> = out.lines().filter(|l| l.contains("main+")).collect();
    assert_eq!(stacks.len(), 1, "{out}");
    assert!(out.contains(&format!("]: {k}")), "{out}");
    // No target: refused before anything loads.
    let out = run_gprobe(&["-e", "watchpoint:0x601040:8:w { @ = count(); }"], LIMIT);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("a watchpoint needs a target process"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn hardware_events_need_a_pmu() {
    if !e2e_ready() {
        return;
    }
    let _k = kernel_lock();
    let has_pmu = Path::new("/sys/bus/event_source/devices/cpu").exists();
    let script = "hardware:cycles:100000 { @ = count(); exit(); }";
    let out = run_gprobe(&["-q", "-e", script], LIMIT);
    let stderr = text(&out.stderr);
    if has_pmu {
        assert!(out.status.success(), "{stderr}");
        assert!(count_of(&text(&out.stdout)) >= 1);
        return;
    }
    assert!(!out.status.success());
    assert!(
        stderr.contains("hardware events cannot be counted on this machine")
            && stderr.contains("/sys/bus/event_source/devices/cpu is missing")
            && stderr.contains("hardware:cycles:100000"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("error[").count(), 1, "{stderr}");
    // bpftrace fails too, less clearly.
    let bt = Command::new("bpftrace")
        .args(["-e", script])
        .output()
        .expect("run bpftrace");
    assert!(!bt.status.success());
    // --check: a warning, so the script can be checked here for a machine that has a PMU.
    let out = run_gprobe(&["--check", "-e", script], LIMIT);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("warning["),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn info_says_what_this_kernel_supports() {
    if !e2e_ready() {
        return;
    }
    let _k = kernel_lock();
    let out = gprobe_ok(&["--info"], LIMIT);
    let row = |what: &str| -> bool {
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{what}:")))
            .unwrap_or_else(|| panic!("no `{what}` row in:\n{out}"));
        line.contains(": yes")
    };
    let pmu = |name: &str| Path::new(&format!("/sys/bus/event_source/devices/{name}")).exists();
    assert_eq!(row("uprobe, uretprobe"), pmu("uprobe"), "{out}");
    assert_eq!(row("kprobe, kretprobe"), pmu("kprobe"), "{out}");
    assert_eq!(row("hardware"), pmu("cpu"), "{out}");
    assert_eq!(
        row("watchpoint, asyncwatchpoint"),
        pmu("breakpoint"),
        "{out}"
    );
    assert!(row("profile, interval, software"), "{out}");
    assert!(row("tracepoint"), "{out}");
    assert!(row("BTF (/sys/kernel/btf/vmlinux)"), "{out}");
    assert!(row("ring buffer maps"), "{out}");
    // fentry agrees with bpftrace's own probe of this kernel.
    let bt = Command::new("bpftrace")
        .arg("--info")
        .output()
        .expect("run bpftrace --info");
    // bpftrace 0.17 writes its --info to stderr.
    let bt = format!("{}{}", text(&bt.stdout), text(&bt.stderr));
    let bt_kfunc = bt
        .lines()
        .find(|l| l.trim_start().starts_with("kfunc:"))
        .map(|l| l.contains("yes"));
    assert_eq!(
        Some(row("kfunc, kretfunc (fentry/fexit)")),
        bt_kfunc,
        "{out}\n{bt}"
    );
    // Raw tracepoints load where bpftrace's own raw-tracepoint programs (its BEGIN/END) do.
    let bt_raw = bt
        .lines()
        .find(|l| l.trim_start().starts_with("raw_tp_special:"))
        .map(|l| l.contains("yes"));
    assert_eq!(Some(row("rawtracepoint")), bt_raw, "{out}\n{bt}");
}

#[test]
fn listing_everything_and_a_bare_pattern() {
    if !e2e_ready() {
        return;
    }
    // More than a pipe holds: read while it runs (gprobe_ok waits first).
    let out = Command::new(gprobe_bin())
        .arg("-l")
        .output()
        .expect("run gprobe -l");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let all = text(&out.stdout);
    for line in [
        "tracepoint:sched:sched_switch",
        "software:page-faults:",
        "software:context-switches:",
        "hardware:cpu-cycles:",
    ] {
        assert!(all.lines().any(|l| l == line), "`{line}` not in -l");
    }
    let switch = gprobe_ok(&["-l", "*sched_switch*"], LIMIT);
    let bt = bpftrace_ok(&["-l", "*sched_switch*"]);
    let tracepoints = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| l.starts_with("tracepoint:"))
            .map(String::from)
            .collect()
    };
    assert_eq!(tracepoints(&switch), tracepoints(&bt));
    assert_eq!(
        switch.lines().count(),
        tracepoints(&switch).len(),
        "{switch}"
    );
    let faults = gprobe_ok(&["-l", "software:*faults"], LIMIT);
    assert_eq!(
        faults,
        "software:alignment-faults:\nsoftware:emulation-faults:\nsoftware:major-faults:\nsoftware:minor-faults:\nsoftware:page-faults:\n"
    );
}

#[test]
fn sigusr1_prints_the_maps_and_tracing_goes_on() {
    if !e2e_ready() {
        return;
    }
    let _k = kernel_lock();
    let tracer = Tracer::start(&["-e", "interval:ms:20 { @ticks = count(); }"]);
    std::thread::sleep(Duration::from_millis(500));
    let status = Command::new("kill")
        .args(["-USR1", &tracer.pid().to_string()])
        .status()
        .expect("kill -USR1");
    assert!(status.success());
    std::thread::sleep(Duration::from_millis(500));
    let out = tracer.stop();
    let ticks: Vec<u64> = out
        .lines()
        .filter_map(|l| l.strip_prefix("@ticks: "))
        .map(|n| n.trim().parse().expect("a count"))
        .collect();
    // Once at SIGUSR1, once at the end, larger: tracing went on.
    assert_eq!(ticks.len(), 2, "{out}");
    assert!(ticks[0] >= 5 && ticks[1] > ticks[0], "{out}");
}

#[test]
fn bpftrace_map_keys_max_is_honoured_as_by_bpftrace() {
    if !e2e_ready() {
        return;
    }
    let _k = kernel_lock();
    let script = "BEGIN { @[1] = 1; @[2] = 2; @[3] = 3; @[4] = 4; @[5] = 5; exit(); }";
    let run = |program: &str, args: &[&str]| {
        let out = Command::new(program)
            .args(args)
            .env("BPFTRACE_MAP_KEYS_MAX", "3")
            .stdin(Stdio::null())
            .output()
            .expect("run");
        assert!(out.status.success(), "{program}: {}", text(&out.stderr));
        (map_lines(&text(&out.stdout), "@"), text(&out.stderr))
    };
    let (g, g_err) = run(
        gprobe_bin().to_str().expect("utf-8 path"),
        &["-q", "-e", script],
    );
    let (b, _) = run("bpftrace", &["-q", "-e", script]);
    assert_eq!(g.len(), 3, "{g:?}");
    assert_eq!(g, b);
    assert!(g_err.contains("reached its limit of 3 entries"), "{g_err}");
    // GPROBE_ wins over BPFTRACE_, and a bad value is refused with the variable's name.
    let out = Command::new(gprobe_bin())
        .args(["-q", "-e", script])
        .env("BPFTRACE_MAP_KEYS_MAX", "3")
        .env("GPROBE_MAP_KEYS_MAX", "4")
        .output()
        .expect("run gprobe");
    assert_eq!(map_lines(&text(&out.stdout), "@").len(), 4);
    let out = Command::new(gprobe_bin())
        .args(["-q", "-e", script])
        .env("BPFTRACE_MAP_KEYS_MAX", "lots")
        .output()
        .expect("run gprobe");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("BPFTRACE_MAP_KEYS_MAX=lots"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn kk_warns_of_a_failed_read_with_its_location_as_bpftrace() {
    if !e2e_ready() {
        return;
    }
    let _k = kernel_lock();
    let script = "BEGIN { printf(\"%d\\n\", *(int64*)8); exit(); }";
    let out = run_gprobe(&["-kk", "-q", "-e", script], LIMIT);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let bt = Command::new("bpftrace")
        .args(["-kk", "-q", "-e", script])
        .output()
        .expect("run bpftrace");
    // bpftrace 0.17 writes the warning (and the source lines under it) to stdout; gprobe to
    // stderr, so that stdout holds only the trace (and JSON stays JSON).
    let bt_stdout = text(&bt.stdout);
    let warning = "WARNING: Failed to probe_read: Bad address (-14)";
    assert!(bt_stdout.contains(warning), "{bt_stdout}");
    let line = stderr
        .lines()
        .find(|l| l.contains(warning))
        .unwrap_or_else(|| panic!("no warning in:\n{stderr}"));
    // Where: line 1, column 24 (the dereference), as bpftrace's `stdin:1:24-25`.
    assert!(line.starts_with("1:24-"), "{line}");
    assert!(stderr.contains(script), "{stderr}");
    let bt_trace: Vec<&str> = bt_stdout.lines().skip(3).collect();
    assert_eq!(text(&out.stdout).trim(), bt_trace.join("\n").trim());
    // Without -kk: no warning.
    let out = run_gprobe(&["-q", "-e", script], LIMIT);
    assert!(
        !text(&out.stderr).contains("WARNING"),
        "{}",
        text(&out.stderr)
    );
}

/// `-k` (bpftrace: helper errors other than reads): a map update into a full map and a delete
/// of a missing key each print bpftrace's warning, with the location; reads are `-kk`'s only.
#[test]
fn k_warns_of_a_failed_map_update_and_delete_as_bpftrace() {
    if !e2e_ready() {
        return;
    }
    let _k = kernel_lock();
    let script = "BEGIN { @[1] = 1; @[2] = 2; @[3] = 3; delete(@[7]); $x = *(int64*)8; exit(); }";
    let run = |program: &str| {
        Command::new(program)
            .args(["-k", "-q", "-e", script])
            .env("BPFTRACE_MAP_KEYS_MAX", "2")
            .output()
            .expect("run tracer")
    };
    let ours = run(gprobe_bin().to_str().unwrap());
    assert!(ours.status.success(), "{}", text(&ours.stderr));
    let theirs = run("bpftrace");
    // bpftrace 0.17 writes its warnings to stdout, gprobe to stderr.
    let warnings = |out: &str| -> Vec<String> {
        out.lines()
            .filter_map(|l| Some(l.split_once("WARNING: Failed to ")?.1.to_string()))
            .collect()
    };
    let ours_w = warnings(&text(&ours.stderr));
    assert_eq!(
        ours_w,
        [
            "map_update_elem: Argument list too long (-7)",
            "map_delete_elem: No such file or directory (-2)"
        ],
        "{}",
        text(&ours.stderr)
    );
    assert_eq!(
        ours_w,
        warnings(&text(&theirs.stdout)),
        "{}",
        text(&theirs.stdout)
    );
    // Where, as bpftrace's `stdin:1:34-35` (the third assignment's `=`) and `stdin:1:39-51`.
    let ours_err = text(&ours.stderr);
    assert!(
        ours_err.contains("1:34-35: WARNING: Failed to map_update_elem"),
        "{ours_err}"
    );
    assert!(
        ours_err.contains("1:39-51: WARNING: Failed to map_delete_elem"),
        "{ours_err}"
    );
    assert_eq!(
        map_lines(&text(&ours.stdout), "@"),
        map_lines(&text(&theirs.stdout), "@")
    );
}

#[test]
fn listing_with_a_pid_adds_its_functions() {
    if !e2e_ready() {
        return;
    }
    let bin = go_target("work", "1.19", &[]);
    let mut child = Command::new(&bin)
        .args(["-n", "1", "-q", "-delay", "30s"])
        .stdout(Stdio::null())
        .spawn()
        .expect("start work");
    let pid = child.id().to_string();
    let out = Command::new(gprobe_bin())
        .args(["-l", "-p", &pid, "*main.work*"])
        .output()
        .expect("run gprobe -l -p");
    let _ = child.kill();
    let _ = child.wait();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let shown = std::fs::canonicalize(&bin).expect("canonical path");
    assert!(
        stdout
            .lines()
            .any(|l| l == format!("uprobe:{}:main.work", shown.display())),
        "{stdout}"
    );
    // The pattern filters: no tracepoint or software event matches `*main.work*`.
    assert!(stdout.lines().all(|l| l.starts_with("uprobe:")), "{stdout}");
}
