//! End-to-end: recipes tell the truth about a Go program, checked against the program's own
//! figures — a CPU profile of a program that burns CPU in one function, GC pauses against
//! `runtime.MemStats.PauseNs`, leaked goroutines of two `go` statements in one function.

mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;
use support::*;

const LIMIT: Duration = Duration::from_secs(120);
const FLAVOURS: &[&[&str]] = &[&[], &["-ldflags=-s -w"]];

/// A Go test program that says `ready` and then waits for a line on stdin before doing its
/// work: started, its stdout lines arrive on a channel.
struct Program {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Program {
    fn start(bin: &Path, args: &[&str]) -> Program {
        let mut child = Command::new(bin)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let lines = line_channel(child.stdout.take().unwrap());
        let program = Program {
            child,
            stdin,
            lines,
        };
        assert_eq!(program.line().as_deref(), Some("ready"));
        program
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn line(&self) -> Option<String> {
        self.lines.recv_timeout(LIMIT).ok()
    }

    /// Lets it go on (a line on its stdin).
    fn go(&mut self) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(b"go\n").unwrap();
        stdin.flush().unwrap();
    }

    /// Its remaining output once it exits.
    fn finish(mut self) -> Vec<String> {
        drop(self.stdin.take());
        let _ = wait_with_limit(self.child, LIMIT);
        self.lines.iter().collect()
    }
}

/// Stack elements `@samples[...]: N` of a printed map: (frames, count).
fn stacks(out: &str, map: &str) -> Vec<(Vec<String>, u64)> {
    let mut all = Vec::new();
    let mut frames: Option<Vec<String>> = None;
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix(map).and_then(|r| r.strip_prefix('[')) {
            // `@m[]: N` on one line: an empty stack.
            if let Some(n) = rest.strip_prefix("]: ") {
                all.push((Vec::new(), n.trim().parse().unwrap()));
            } else {
                frames = Some(Vec::new());
            }
        } else if let Some(n) = line.strip_prefix("]: ") {
            if let Some(f) = frames.take() {
                all.push((f, n.trim().parse().unwrap()));
            }
        } else if let Some(f) = frames.as_mut() {
            f.push(line.trim().to_string());
        }
    }
    all
}

/// utime + stime of a process in clock ticks (/proc/PID/stat fields 14 and 15).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// A Go 1.19 program burning CPU in main.burn: the profile puts ≥ 95 % of its samples there,
/// none on the idle task (an empty stack), no more samples than its CPU time allows, and every
/// stack ends at the function Go's own stacks start in.
#[test]
fn cpu_profile_puts_the_burners_samples_under_main_burn() {
    if !e2e_ready() {
        return;
    }
    for flags in FLAVOURS {
        let bin = go_target("burn", "1.19", flags);
        let _k = kernel_lock();
        let mut burner = Command::new(&bin)
            .args(["-rounds", "1000000000000"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let pid = burner.id();
        let before = cpu_ticks(pid);
        let out = gprobe_ok(
            &["--recipe", "cpu-profile", "-p", &pid.to_string(), "4"],
            LIMIT,
        );
        let ticks = cpu_ticks(pid) - before;
        let _ = burner.kill();
        let _ = burner.wait();
        let what = format!("{flags:?}");
        let samples = stacks(&out, "@samples");
        let total: u64 = samples.iter().map(|(_, n)| n).sum();
        let burn: u64 = samples
            .iter()
            .filter(|(f, _)| f.first().is_some_and(|f| f.starts_with("main.burn+")))
            .map(|(_, n)| n)
            .sum();
        assert!(total > 100, "{what}: too few samples:\n{out}");
        assert!(
            burn * 100 >= total * 95,
            "{what}: {burn} of {total} samples in main.burn:\n{out}"
        );
        assert!(
            samples.iter().all(|(f, _)| !f.is_empty()),
            "{what}: samples without a stack (another task's, e.g. the idle task):\n{out}"
        );
        // 99 Hz over the target's own CPU time (ticks at 100 Hz), with room for the tick
        // granularity; more would be samples of other tasks.
        let hz = 100;
        assert!(
            total <= ticks * 99 / hz * 11 / 10 + 10,
            "{what}: {total} samples for {ticks} ticks of the target's CPU:\n{out}"
        );
        for (frames, _) in &samples {
            let last = frames.last().unwrap();
            assert!(
                last.starts_with("runtime.goexit+") || last.starts_with("runtime.mstart+"),
                "{what}: a stack that does not end where Go stacks start: {frames:?}"
            );
            assert!(
                frames.iter().all(|f| !f.starts_with("0x")),
                "{what}: an unsymbolized frame: {frames:?}"
            );
        }
        assert_no_gprobe_programs();
    }
}

/// gc-pauses' per-cycle lines against the program's own `MemStats.PauseNs` of each cycle,
/// within 10 %, on Go 1.19 and 1.27 (the runtime's figures are read differently from 1.22).
#[test]
fn gc_pauses_agree_with_memstats_pause_ns() {
    if !e2e_ready() {
        return;
    }
    for version in ["1.19", "1.27.3"] {
        if !toolchain_available(version) {
            continue;
        }
        for flags in FLAVOURS {
            let bin = go_target("gcpauses", version, flags);
            let what = format!("Go {version} {flags:?}");
            let _k = kernel_lock();
            let mut program = Program::start(&bin, &["-n", "12", "-spin", "1"]);
            let tracer = Tracer::start(&[
                "--recipe",
                "gc-pauses",
                "-p",
                &program.pid().to_string(),
                "0",
                "1",
            ]);
            program.go();
            let theirs: Vec<u64> = program
                .finish()
                .iter()
                .filter_map(|l| l.split_once("pause_ns ")?.1.parse().ok())
                .collect();
            // The target's exit ends tracing.
            let out = tracer.wait();
            let ours: Vec<u64> = out
                .lines()
                .filter_map(|l| {
                    l.strip_prefix("gc cycle: pause ")?
                        .split_once(" ns")?
                        .0
                        .parse()
                        .ok()
                })
                .collect();
            assert_eq!(theirs.len(), 12, "{what}: the program's cycles");
            assert_eq!(ours.len(), theirs.len(), "{what}: cycles seen:\n{out}");
            for (i, (a, b)) in theirs.iter().zip(&ours).enumerate() {
                assert!(
                    b.abs_diff(*a) * 10 <= *a,
                    "{what}: cycle {i}: {b} ns traced, {a} ns in MemStats.PauseNs\n{theirs:?}\n{ours:?}"
                );
            }
            assert_eq!(
                out.lines()
                    .find_map(|l| l.strip_prefix("@cycles: "))
                    .and_then(|n| n.parse().ok()),
                Some(12u64),
                "{what}:\n{out}"
            );
            assert_no_gprobe_programs();
        }
    }
}

/// Two `go` statements in one function are two keys of goroutine-leaks (function+offset).
#[test]
fn goroutine_leaks_keeps_two_go_statements_of_one_function_apart() {
    if !e2e_ready() {
        return;
    }
    for version in ["1.19", "1.27.3"] {
        if !toolchain_available(version) {
            continue;
        }
        let bin = go_target("twogo", version, &[]);
        let _k = kernel_lock();
        let mut program = Program::start(&bin, &["-n", "4"]);
        let tracer = Tracer::start(&[
            "--recipe",
            "goroutine-leaks",
            "-p",
            &program.pid().to_string(),
        ]);
        program.go();
        assert_eq!(program.line().as_deref(), Some("started"));
        let out = tracer.stop();
        program.finish();
        let alive = map_lines(&out, "@alive");
        let mine: Vec<(&String, &u64)> = alive
            .iter()
            .filter(|(k, _)| k.starts_with("main.leakBoth+"))
            .collect();
        let mut counts: Vec<u64> = mine.iter().map(|(_, n)| **n).collect();
        counts.sort();
        assert_eq!(counts, vec![4, 8], "Go {version}:\n{out}");
        assert_no_gprobe_programs();
    }
}
