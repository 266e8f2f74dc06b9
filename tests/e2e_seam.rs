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

/// Stack elements `@samples[...]: N` of a printed map: (frames, count); a key's parts before
/// the stack (`@samples[running, `) come first, as one line.
fn stacks(out: &str, map: &str) -> Vec<(Vec<String>, u64)> {
    let mut all = Vec::new();
    let mut frames: Option<Vec<String>> = None;
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix(map).and_then(|r| r.strip_prefix('[')) {
            // `@m[]: N` on one line: an empty stack.
            if let Some(n) = rest.strip_prefix("]: ") {
                all.push((Vec::new(), n.trim().parse().unwrap()));
            } else if rest.trim().is_empty() {
                frames = Some(Vec::new());
            } else {
                frames = Some(vec![rest.to_string()]);
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

/// A Go 1.19 program burning CPU in main.burn: the profile puts at least 95 % of its samples
/// under main.burn and the rest in the runtime's own work (a vDSO clock read by name), none on
/// the idle task (an empty stack), no more samples than its CPU time allows, and every stack
/// ends at the function Go's own stacks start in.
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
        // Under main.burn: it is a frame of the stack (the leaf, or below the runtime's code
        // that preempted it: the scheduler, a signal handler's helpers).
        let burn: u64 = samples
            .iter()
            .filter(|(f, _)| f.iter().any(|f| f.starts_with("main.burn+")))
            .map(|(_, n)| n)
            .sum();
        assert!(total >= 30, "{what}: too few samples:\n{out}");
        // The rest is the runtime's own threads (sysmon, the GC).
        assert!(
            burn * 100 >= total * 95,
            "{what}: {burn} of {total} samples under main.burn:\n{out}"
        );
        for (frames, _) in &samples {
            // The leaf: main.burn, or the runtime's code (the scheduler after a preemption of
            // main.burn, a signal handler's assembly helpers, a vDSO clock read by name) —
            // never another function of the program's own, nor a raw address.
            let leaf = frames.first().map_or("", |f| f.as_str());
            assert!(
                leaf.starts_with("main.burn+") || !leaf.starts_with("main."),
                "{what}: a sample neither in main.burn nor in the runtime: {frames:?}"
            );
        }
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

/// gc-cpu on a program whose allocating goroutines are made to assist the GC: every sample is
/// tagged by the GC step its stack shows (mark assist: `gcAssistAlloc`; a mark worker:
/// `gcDrain` or `gcBgMarkWorker`), `running` samples are in neither step, no frame is a raw
/// `[uprobes]` slot, and assists are timed by the allocating stack.
#[test]
fn gc_cpu_tags_samples_with_the_gc_step_their_stack_shows() {
    if !e2e_ready() {
        return;
    }
    for version in ["1.19", "1.27.3"] {
        if !toolchain_available(version) {
            continue;
        }
        for flags in FLAVOURS {
            let bin = go_target("assist", version, flags);
            let what = format!("Go {version} {flags:?}");
            let _k = kernel_lock();
            // -c: tracing starts before the first GC step, so no step is under way unseen.
            let command = format!("{} -seconds 3", bin.display());
            let out = gprobe_ok(&["--recipe", "gc-cpu", "-c", &command], LIMIT);
            assert!(out.contains("\ndone\n"), "{what}:\n{out}");
            let mut by_state = std::collections::BTreeMap::<String, u64>::new();
            let mut raw_slots = Vec::new();
            for (key, n) in stacks(&out, "@samples") {
                // `@samples[STATE, ` starts the element: the first line holds the state.
                let Some((state, frames)) = key.split_first() else {
                    continue;
                };
                let state = state.trim_end_matches(", ").to_string();
                // A walk that failed (an empty stack) has nothing to check.
                if frames.is_empty() {
                    *by_state.entry(state).or_default() += n;
                    continue;
                }
                let has = |f: &str| frames.iter().any(|x| x.starts_with(f));
                let leaf = frames.first().map_or("", |f| f.as_str());
                // A leaf sampled before it pushed its frame pointer loses its caller (a limit
                // of frame-pointer walks): the step's outer frames still show.
                // A signal handler (sysmon's preemption signal) that interrupted the step runs on
                // the signal stack: its walk goes from the handler, or from the `sigreturn`
                // restorer it returns through, to the thread's system stack, short of the step's
                // frames (seen on stripped Go 1.19 GC workers: `sigtramp` leaves about one run in
                // six, `sigreturn+9` → `systemstack` → `goexit` once in CI).
                let in_handler = (leaf.starts_with("runtime.sig") && has("runtime.sigtramp+"))
                    || (leaf.starts_with("runtime.sigreturn") && has("runtime.systemstack+"));
                match state.as_str() {
                    "mark assist" => assert!(
                        has("runtime.gcAssistAlloc") || in_handler,
                        "{what}: {key:?}"
                    ),
                    "gc worker" => assert!(
                        has("runtime.gcDrain+") || has("runtime.gcBgMarkWorker") || in_handler,
                        "{what}: {key:?}"
                    ),
                    "running" => {
                        // A sample at the RET the return probe is on has already left the step.
                        for f in ["runtime.gcAssistAlloc1+", "runtime.gcDrain+"] {
                            assert!(!has(f) || leaf.starts_with(f), "{what}: {key:?}");
                        }
                    }
                    "world stopped" => {}
                    other => panic!("{what}: state {other:?}"),
                }
                // A sample while a probed instruction was stepped names the instruction.
                if frames.iter().any(|f| f.starts_with("0x7fffffffe")) {
                    raw_slots.push(format!("{key:?}"));
                }
                *by_state.entry(state).or_default() += n;
            }
            // None is expected; one is let through, with a warning, while the cause of the
            // one CI saw (a stripped Go 1.27 assist, before the slot was taken from xol_vaddr
            // alone) is not proven gone.
            if !raw_slots.is_empty() {
                eprintln!("{what}: samples with a raw [uprobes] slot: {raw_slots:?}");
            }
            assert!(raw_slots.len() <= 1, "{what}: {raw_slots:?}\n{out}");
            for state in ["running", "mark assist", "gc worker"] {
                assert!(by_state.contains_key(state), "{what}: {by_state:?}\n{out}");
            }
            let assists: u64 = out
                .lines()
                .find_map(|l| l.strip_prefix("@assists: ")?.parse().ok())
                .unwrap_or_else(|| panic!("{what}: no @assists:\n{out}"));
            let timed: u64 = out
                .lines()
                .filter_map(|l| {
                    l.strip_prefix("]: count ")?
                        .split(',')
                        .next()?
                        .parse::<u64>()
                        .ok()
                })
                .sum();
            assert_eq!(timed, assists, "{what}: assists timed by stack:\n{out}");
            assert!(
                out.contains("main.churn+"),
                "{what}: the allocating function under @assist_us:\n{out}"
            );
            assert_no_gprobe_programs();
        }
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
            // Before Go 1.22 a pause starts at the entry probe: the first one a thread takes
            // costs the kernel its per-thread uprobe setup before the program runs, after the
            // runtime read its clock (tens of µs, once). The runtime's own figures (1.22+)
            // agree from the first cycle.
            // A pause that starts at the probe is late by the trap and, when the CPUs are
            // busy, by the time the thread waited for one between the runtime's clock read
            // and the call (50 µs seen): up to 100 µs more may be missing.
            let first = usize::from(version == "1.19");
            let late = if version == "1.19" { 100_000 } else { 0 };
            for (i, (a, b)) in theirs.iter().zip(&ours).enumerate().skip(first) {
                assert!(
                    *b <= a + a / 10 && b + late + a / 10 >= *a,
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

/// Per-call counts of `strace -c` output (`% time seconds usecs/call calls errors syscall`).
fn strace_counts(summary: &str) -> std::collections::BTreeMap<String, u64> {
    summary
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let name = *w.last()?;
            if w.len() < 5 || name == "total" || !w[0].starts_with(|c: char| c.is_ascii_digit()) {
                return None;
            }
            Some((name.to_string(), w[3].parse().ok()?))
        })
        .collect()
}

/// The strace recipe on a Go program's known mix of file, socket and sleep calls, with Debian's
/// `strace -f -c -p PID` attached over the same run: the same count for every call; every
/// line of a goroutine names a function of the program; the failed openat's errno is the
/// program's own err.
#[test]
fn strace_recipe_counts_equal_strace_and_names_the_callers() {
    if !e2e_ready() {
        return;
    }
    if !Path::new("/usr/bin/strace").exists() {
        assert!(
            !under_ci(),
            "strace is missing under CI (scripts/install-deps)"
        );
        eprintln!("skipped: no strace (scripts/install-deps)");
        return;
    }
    for version in ["1.19", "1.27.3"] {
        if !toolchain_available(version) {
            continue;
        }
        let bin = go_target("sysmix", version, &[]);
        let dir = std::env::temp_dir().join(format!("gprobe-sysmix-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let what = format!("Go {version}");
        let _k = kernel_lock();
        let mut program = Program::start(&bin, &["-rounds", "3", "-dir", dir.to_str().unwrap()]);
        let pid = program.pid().to_string();
        let tracer = Tracer::start(&["--recipe", "strace", "-p", &pid]);
        // strace seizes the threads one by one: with the program stopped, no call completes
        // on a thread it has not reached yet (calls the stop interrupts show in gprobe's lines
        // as `= ? ERESTART...` before the program goes on, and are restarted after).
        let signal = |sig: &str| Command::new("kill").args([sig, &pid]).status().unwrap();
        signal("-STOP");
        // Every thread stopped, not only the first (the others take the signal a moment later).
        let state = || {
            let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
                return false;
            };
            tasks.flatten().all(|t| {
                std::fs::read_to_string(t.path().join("stat"))
                    .unwrap_or_default()
                    .rsplit_once(") ")
                    .is_some_and(|(_, rest)| rest.starts_with('T'))
            })
        };
        while !state() {
            std::thread::sleep(Duration::from_millis(5));
        }
        let summary = dir.join("strace.c");
        let mut strace = Command::new("strace")
            .args(["-f", "-c", "-o", summary.to_str().unwrap(), "-p", &pid])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // `Process N attached with M threads`, once all are seized.
        let strace_err = line_channel(strace.stderr.take().unwrap());
        let attached = strace_err.recv_timeout(LIMIT).unwrap_or_default();
        assert!(attached.contains("attached"), "{what}: strace: {attached}");
        signal("-CONT");
        std::thread::sleep(Duration::from_millis(300));
        program.go();
        let said = program.finish();
        let out = tracer.wait();
        let _ = wait_with_limit(strace, LIMIT);
        let theirs = strace_counts(&std::fs::read_to_string(&summary).unwrap());
        let _ = std::fs::remove_dir_all(&dir);

        // The summary: `@time_us[goroutines|runtime, NAME]: count N, ...`, both halves.
        let mut ours = std::collections::BTreeMap::<String, u64>::new();
        for (key, line) in out.lines().filter_map(|l| {
            let rest = l.strip_prefix("@time_us[")?;
            let (key, stats) = rest.split_once("]: count ")?;
            Some((key.to_string(), stats.split(',').next()?.to_string()))
        }) {
            let name = key.split_once(", ").unwrap().1.to_string();
            *ours.entry(name).or_default() += line.parse::<u64>().unwrap();
        }
        // Lines: `TIME TID GOID [runtime] NAME(ARGS) = RESULT <N us> CALLER`.
        let lines: Vec<&str> = out
            .lines()
            .filter(|l| l.contains(" <") && l.contains(" us> "))
            .collect();
        // strace attached after gprobe: the calls its attach interrupted (shown as `= ?
        // ERESTART...`, before the program's read of the line that let it go on) entered
        // before strace saw them, so strace does not count them.
        let go_read = lines
            .iter()
            .position(|l| l.contains(" read(0, ") && l.contains(" = 3 <"))
            .unwrap_or_else(|| panic!("{what}: no read of the go line:\n{out}"));
        for line in &lines[..go_read] {
            if line.contains("= ? ERESTART") {
                let call = line.split('(').next().unwrap().rsplit(' ').next().unwrap();
                *ours.get_mut(call).unwrap() -= 1;
            }
        }
        ours.retain(|_, n| *n > 0);
        assert!(
            theirs.contains_key("openat"),
            "{what}: strace saw:\n{theirs:?}"
        );
        // The other end: the program's exit_group kills its other threads, and one that is in
        // its syscall-exit stop then (the call returned and the exit tracepoint saw it; strace
        // had not yet taken the stop) dies without strace counting that call. So the last call
        // of each thread but the exiting one may be missing from strace's count, if it ended
        // just before the exit (seen in CI: sysmon's nanosleep, completed before the write of
        // "done" and printed before it); 250 ms is far more than strace takes to take a stop.
        let done = lines
            .iter()
            .rposition(|l| l.contains(" write(1, 5) = 5 <"))
            .unwrap_or_else(|| panic!("{what}: no write of done:\n{out}"));
        // `HH:MM:SS.micro` → µs of the day.
        let time_us = |line: &str| -> u64 {
            let t = line.split_whitespace().next().unwrap();
            let (hms, us) = t.split_once('.').unwrap();
            let secs = hms
                .split(':')
                .fold(0u64, |acc, f| acc * 60 + f.parse::<u64>().unwrap());
            secs * 1_000_000 + us.parse::<u64>().unwrap()
        };
        let exiting = lines[done].split_whitespace().nth(1).unwrap();
        let near_exit = time_us(lines[done]).saturating_sub(250_000);
        let mut last = std::collections::BTreeMap::<&str, (String, u64)>::new();
        for line in &lines {
            let mut words = line.split_whitespace();
            let tid = words.nth(1).unwrap();
            let call = words
                .find(|w| w.contains('('))
                .unwrap()
                .split('(')
                .next()
                .unwrap();
            last.insert(tid, (call.to_string(), time_us(line)));
        }
        let mut at_exit = std::collections::BTreeMap::<String, u64>::new();
        for (tid, (call, at)) in &last {
            if *tid != exiting && *at >= near_exit {
                *at_exit.entry(call.clone()).or_default() += 1;
            }
        }
        let names: std::collections::BTreeSet<&String> = ours.keys().chain(theirs.keys()).collect();
        for name in names {
            let (n, m) = (
                ours.get(name).copied().unwrap_or(0),
                theirs.get(name).copied().unwrap_or(0),
            );
            let slack = at_exit.get(name).copied().unwrap_or(0);
            assert!(
                m <= n && n <= m + slack,
                "{what}: {name}: gprobe {n}, strace -f -c {m} ({slack} at exit)\n\
                 gprobe: {ours:?}\nstrace: {theirs:?}\n{out}"
            );
        }

        assert!(lines.len() > 50, "{what}:\n{out}");
        for line in &lines {
            let goid: u64 = line.split_whitespace().nth(2).unwrap().parse().unwrap();
            if goid != 0 {
                let caller = line.rsplit(' ').next().unwrap();
                assert!(
                    caller.starts_with("main."),
                    "{what}: a goroutine's call without the program's function: {line}"
                );
            } else {
                assert!(
                    line.split_whitespace().nth(3) == Some("runtime"),
                    "{what}: {line}"
                );
            }
        }
        // Memory mapped for a goroutine's stack on the system stack (morestack clears the
        // frame pointer there) names the goroutine's function, from g.sched.
        assert!(
            lines.iter().any(|l| {
                let goid = l.split_whitespace().nth(2);
                l.contains(" mmap(") && goid != Some("0") && l.contains(" main.recurse+")
            }),
            "{what}: no mmap of main.recurse's stack:\n{out}"
        );
        // The program's own errors, and the lines of the calls that failed so.
        let errnos: Vec<i64> = said
            .iter()
            .filter(|l| l.starts_with("err main.openMissing errno "))
            .filter_map(|l| l.split_whitespace().nth(3)?.parse().ok())
            .collect();
        assert_eq!(errnos.len(), 3, "{what}: {said:?}");
        let name = gprobe_compiler::syscalls::errno_name(errnos[0]).unwrap();
        let failed: Vec<&&str> = lines
            .iter()
            .filter(|l| l.contains("no-such-file"))
            .collect();
        assert_eq!(failed.len(), 3, "{what}:\n{out}");
        for line in failed {
            assert!(line.contains("openat(AT_FDCWD, "), "{what}: {line}");
            assert!(line.contains(&format!("= -1 {name} <")), "{what}: {line}");
            assert!(line.contains(" main.openMissing+"), "{what}: {line}");
        }
        // Decoded: the file's flags, the loopback addresses.
        assert!(
            out.contains("O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC) = "),
            "{what}:\n{out}"
        );
        assert!(
            out.contains(" connect(") && out.contains(", 127.0.0.1:"),
            "{what}:\n{out}"
        );
        assert_no_gprobe_programs();
    }
}

/// `@MAP[METHOD, PATH]: count C, average A, total T` lines of a stats map, as (key) → (C, A).
fn stats_lines(out: &str, map: &str) -> std::collections::BTreeMap<String, (u64, u64)> {
    out.lines()
        .filter_map(|l| l.strip_prefix(&format!("{map}[")))
        .filter_map(|l| {
            let (key, rest) = l.split_once("]: count ")?;
            let (count, rest) = rest.split_once(", average ")?;
            let (average, _) = rest.split_once(", total ")?;
            Some((
                key.to_string(),
                (count.parse().ok()?, average.parse().ok()?),
            ))
        })
        .collect()
}

/// http-phases on a server whose handler reads the whole body, then works 20 ms: a client that
/// sends its 10-byte body over ~100 ms (one keep-alive connection, idle 150 ms between
/// requests) shows ~100 ms of reading and ~20 ms of handler, and the idle time in neither; a
/// client that reads a 16 MiB response slowly shows the time in writing.
#[test]
fn http_phases_put_a_slow_body_in_read_and_a_slow_reader_in_write() {
    if !e2e_ready() {
        return;
    }
    for version in ["1.19", "1.27.3"] {
        if toolchain_available(version) || under_ci() {
            phases_case(version);
        }
    }
}

fn phases_case(version: &str) {
    use std::io::{BufRead, BufReader, Read};
    let bin = go_target("phases", version, &[]);
    let mut server = Command::new(&bin)
        .args(["-work", "20ms", "-big", &(16 << 20).to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start tests/go/phases");
    let mut addr = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut addr)
        .expect("server address");
    let addr = addr.trim().to_string();
    let _k = kernel_lock();
    let tracer = Tracer::start(&["--recipe", "http-phases", "-p", &server.id().to_string()]);
    // Five POST /slow on one connection; the time each body took to send, as the client saw it.
    let mut conn = std::net::TcpStream::connect(&addr).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut sending = Vec::new();
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(150));
        let start = std::time::Instant::now();
        conn.write_all(b"POST /slow HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\n")
            .unwrap();
        for _ in 0..10 {
            std::thread::sleep(Duration::from_millis(10));
            conn.write_all(b"x").unwrap();
        }
        sending.push(start.elapsed().as_micros() as u64);
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&got).contains("read 10\n") {
            let n = conn.read(&mut buf).expect("response");
            assert!(
                n > 0,
                "connection closed: {}",
                String::from_utf8_lossy(&got)
            );
            got.extend_from_slice(&buf[..n]);
        }
    }
    // GET /big, read 256 KiB every 10 ms.
    let mut big = std::net::TcpStream::connect(&addr).expect("connect");
    big.write_all(b"GET /big HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut total = 0usize;
    let mut buf = vec![0u8; 256 << 10];
    loop {
        std::thread::sleep(Duration::from_millis(10));
        let n = big.read(&mut buf).expect("big response");
        if n == 0 {
            break;
        }
        total += n;
    }
    assert!(total > 16 << 20, "read {total} bytes of /big");
    let out = tracer.stop();
    let _ = server.kill();
    let _ = server.wait();
    let read = stats_lines(&out, "@read_us");
    let handler = stats_lines(&out, "@handler_us");
    let write = stats_lines(&out, "@write_us");
    let slow = "POST, /slow".to_string();
    let sent_us = sending.iter().sum::<u64>() / sending.len() as u64;
    let (n, read_us) = read[&slow];
    assert_eq!(n, 5, "{out}");
    // Reading ends when the last body byte arrives: the client's sending time, give or take
    // scheduling; the 150 ms idle before each request is not in it.
    assert!(
        read_us + 5_000 >= sent_us && read_us <= sent_us + 40_000,
        "read {read_us} µs, the client took {sent_us} µs to send:\n{out}"
    );
    let (_, handler_us) = handler[&slow];
    assert!(
        (19_000..60_000).contains(&handler_us),
        "handler {handler_us} µs (works 20 ms):\n{out}"
    );
    let (_, write_us) = write[&slow];
    assert!(write_us < 10_000, "write {write_us} µs:\n{out}");
    let big = "GET, /big".to_string();
    let ((_, big_write), (_, big_handler)) = (write[&big], handler[&big]);
    assert!(
        big_write >= 200_000 && big_write > 5 * big_handler,
        "a slow reader's 16 MiB: write {big_write} µs, handler {big_handler} µs:\n{out}"
    );
    assert_no_gprobe_programs();
}

/// Context switches (voluntary, involuntary) summed over the live threads'
/// /proc/PID/task/*/status, and minflt/majflt of /proc/PID/stat (fields 10 and 12).
fn kernel_counts(pid: u32) -> [u64; 4] {
    let mut counts = [0u64; 4];
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let Ok(status) = std::fs::read_to_string(task.unwrap().path().join("status")) else {
            continue;
        };
        for line in status.lines() {
            if let Some(n) = line.strip_prefix("voluntary_ctxt_switches:") {
                counts[0] += n.trim().parse::<u64>().unwrap();
            } else if let Some(n) = line.strip_prefix("nonvoluntary_ctxt_switches:") {
                counts[1] += n.trim().parse::<u64>().unwrap();
            }
        }
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    counts[2] = fields[7].parse().unwrap();
    counts[3] = fields[9].parse().unwrap();
    counts
}

/// The Prometheus page on `port` once it holds `line` (the exporter's view catches up with
/// the maps within its interval); the last page read after 60 s.
fn prometheus_page(port: u16, line: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let page = support::exporters::scrape(port, "").unwrap_or_default();
        if page.lines().any(|l| l == line) || std::time::Instant::now() > deadline {
            return page;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A scalar map's value at the end (`@name: N`).
fn scalar(out: &str, map: &str) -> i64 {
    out.lines()
        .find_map(|l| l.strip_prefix(map)?.strip_prefix(": ")?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {map} in:\n{out}"))
}

/// panorama's totals against the kernel's and the runtime's own over one run of a program that
/// works only between two lines the test controls (idle before and after, so the tracer's
/// window holds the same work): context switches within 2 % of the deltas of
/// /proc/PID/task/*/status, page faults equal to /proc/PID/stat's, GC cycles equal to the delta
/// of runtime/metrics the program read, and goroutines alive equal to its level (with DWARF) or
/// to its delta (stripped: created − exited).
#[test]
fn panorama_counts_equal_the_kernels_and_the_runtimes() {
    if !e2e_ready() {
        return;
    }
    // With DWARF each layout of the runtime's globals the recipe reads (Go 1.19's, 1.25's free
    // lists with sizes, 1.27's count with the runtime's own goroutines; 1.19 PIE, its globals
    // moved by the load bias); stripped, the delta.
    for (version, flags) in [
        ("1.19", &[][..]),
        ("1.19", &["-buildmode=pie"][..]),
        ("1.23.9", &[][..]),
        ("1.25.5", &[][..]),
        ("1.27.3", &[][..]),
        ("1.27.3", &["-ldflags=-s -w"][..]),
    ] {
        if !toolchain_available(version) {
            continue;
        }
        let bin = go_target("panorama", version, flags);
        let what = format!("Go {version} {flags:?}");
        let _k = kernel_lock();
        let mut program = Program::start(&bin, &["-keep", "3000", "-churn", "2000"]);
        let pid = program.pid();
        let port = free_port();
        let tracer = Tracer::start(&[
            "--recipe",
            "panorama",
            "-p",
            &pid.to_string(),
            "--prometheus",
            &format!("127.0.0.1:{port}"),
        ]);
        let before = kernel_counts(pid);
        program.go();
        let figures = |line: Option<String>, tag: &str| -> (i64, i64) {
            let line = line.unwrap_or_default();
            let w: Vec<&str> = line.split_whitespace().collect();
            assert!(w.len() == 5 && w[0] == tag, "{what}: {line:?}");
            (w[2].parse().unwrap(), w[4].parse().unwrap())
        };
        let start = figures(program.line(), "start");
        let end = figures(program.line(), "end");
        assert_eq!(program.line().as_deref(), Some("done"), "{what}");
        // Read at "done", while tracing: from then on the program only waits on a channel (its
        // stdin reader sat in read(2) all along). Detaching costs it a fault or two (a text page
        // its uprobes had copied, faulted back in), after the tracer stopped counting.
        let after = kernel_counts(pid);
        // With DWARF the level is the runtime's own count, read when tracing starts (the
        // program is idle then); stripped, the change since attaching. The gauge is set each
        // row.
        let level = if !flags.contains(&"-ldflags=-s -w") {
            end.0
        } else {
            end.0 - start.0
        };
        prometheus_page(port, &format!("go_gc_cycles_total {}", end.1 - start.1));
        let page = prometheus_page(port, &format!("go_goroutines {level}"));
        let out = tracer.stop();
        program.finish();
        let delta = |i: usize| (after[i] - before[i]) as i64;
        eprintln!(
            "{what}: /proc deltas {:?}, runtime/metrics {start:?} -> {end:?}; traced: {} {} {} goroutines {} cycles {}",
            (0..4).map(delta).collect::<Vec<_>>(),
            scalar(&out, "@voluntary_switches"),
            scalar(&out, "@involuntary_switches"),
            scalar(&out, "@minor_faults"),
            scalar(&out, "@goroutines"),
            scalar(&out, "@gc_cycles"),
        );
        // The work makes tens of thousands (how many are involuntary depends on the load);
        // the idle runtime between a /proc read and the tracer's start a handful: 2 %, and
        // 10 for a small count.
        assert!(delta(0) + delta(1) >= 10000, "{what}: {before:?} {after:?}");
        for (i, map) in [(0, "@voluntary_switches"), (1, "@involuntary_switches")] {
            let ours = scalar(&out, map);
            let theirs = delta(i);
            assert!(
                (ours - theirs).abs() <= (theirs / 50).max(10),
                "{what}: {map} {ours}, /proc/PID/task/*/status {theirs}:\n{out}"
            );
        }
        assert!(delta(2) >= 8192, "{what}: {before:?} {after:?}");
        assert_eq!(scalar(&out, "@minor_faults"), delta(2), "{what}:\n{out}");
        // No major fault is made: the map is absent when none was counted.
        let major = out
            .lines()
            .find_map(|l| l.strip_prefix("@major_faults: ")?.trim().parse().ok())
            .unwrap_or(0);
        assert_eq!(major, delta(3), "{what}:\n{out}");
        assert_eq!(end.0 - start.0, 3000, "{what}: the program's goroutines");
        assert_eq!(scalar(&out, "@goroutines"), level, "{what}:\n{out}");
        assert!(end.1 - start.1 >= 7, "{what}: the program's cycles");
        assert_eq!(
            scalar(&out, "@gc_cycles"),
            end.1 - start.1,
            "{what}:\n{out}"
        );
        // Their stop-the-world pauses were timed.
        assert!(scalar(&out, "@stw_pause_us") > 0, "{what}:\n{out}");
        // Exported by their declared names; the working maps are not (`// @metrics declared`).
        for name in [
            "process_context_switches_voluntary_total ",
            "process_paging_faults_minor_total ",
            "go_gc_pause_duration_seconds_total ",
            &format!("go_goroutines {level}\n"),
        ] {
            assert!(page.contains(name), "{what}: {name:?} in\n{page}");
        }
        assert!(
            !page.lines().any(|l| l.starts_with("gprobe_")),
            "{what}: a working map exported:\n{page}"
        );
        // The rows: one a second, with a header first.
        assert!(out.contains("vcsw/s"), "{what}:\n{out}");
        assert_no_gprobe_programs();
    }
}

/// The first hint shows under a row with 10,000 blocked goroutines while two threads switch
/// busily; the same switching with no goroutines left blocked gives no hint at all (and rows
/// with the switch rate, so it is the goroutines that made the difference).
#[test]
fn panorama_hints_many_goroutines_with_busy_switching() {
    if !e2e_ready() {
        return;
    }
    const SWITCHES: u64 = 1000;
    let bin = go_target("panorama", "1.19", &[]);
    for keep in [10000, 0] {
        let _k = kernel_lock();
        let mut program = Program::start(
            &bin,
            &["-mode", "hint", "-keep", &keep.to_string(), "-seconds", "4"],
        );
        let pid = program.pid().to_string();
        // Thresholds: 5000 goroutines, SWITCHES per second.
        let tracer = Tracer::start(&[
            "--recipe",
            "panorama",
            "-p",
            &pid,
            "0",
            "1000",
            "5000",
            &SWITCHES.to_string(),
        ]);
        program.go();
        assert_eq!(program.line().as_deref(), Some("done"));
        let out = tracer.stop();
        program.finish();
        let busy = out.lines().any(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            w.len() == 19
                && w[10] == "|"
                && w[11].parse::<u64>().unwrap_or(0) + w[12].parse::<u64>().unwrap_or(0) >= SWITCHES
        });
        assert!(busy, "keep {keep}: no row of busy switching:\n{out}");
        let hints: Vec<&str> = out.lines().filter(|l| l.starts_with("  hint: ")).collect();
        eprintln!(
            "keep {keep}: {} hint lines, e.g. {:?}",
            hints.len(),
            hints.first()
        );
        if keep > 0 {
            assert!(
                hints
                    .iter()
                    .any(|h| h.contains("look for netpoll blocking or busy select loops")),
                "keep {keep}:\n{out}"
            );
        } else {
            assert!(hints.is_empty(), "keep {keep}:\n{out}");
        }
        assert_no_gprobe_programs();
    }
}

/// In a cgo program, C threads calling into Go take the runtime's extra Ms and their goroutines
/// (and make new ones when they run out): panorama's level still equals runtime/metrics' at
/// the end, on Go 1.19 (where they count only while in use) and 1.27 (where they always do).
#[test]
fn panorama_counts_the_goroutines_of_c_threads_calling_go() {
    if !e2e_ready() {
        return;
    }
    for version in ["1.19", "1.27.3"] {
        if !toolchain_available(version) {
            continue;
        }
        let bin = go_program_with("tests/go/panocgo", version, &[], &[("CGO_ENABLED", "1")]);
        let what = format!("Go {version} cgo");
        let _k = kernel_lock();
        let mut program = Program::start(&bin, &["-threads", "8", "-calls", "50"]);
        let tracer = Tracer::start(&["--recipe", "panorama", "-p", &program.pid().to_string()]);
        program.go();
        let level = |line: Option<String>, tag: &str| -> i64 {
            let line = line.unwrap_or_default();
            let w: Vec<&str> = line.split_whitespace().collect();
            assert!(w.len() == 3 && w[0] == tag, "{what}: {line:?}");
            w[2].parse().unwrap()
        };
        let start = level(program.line(), "start");
        let end = level(program.line(), "end");
        assert_eq!(program.line().as_deref(), Some("done"), "{what}");
        let out = tracer.stop();
        program.finish();
        eprintln!(
            "{what}: runtime/metrics {start} -> {end}; traced {}",
            scalar(&out, "@goroutines")
        );
        assert_eq!(scalar(&out, "@goroutines"), end, "{what}:\n{out}");
        assert_no_gprobe_programs();
    }
}
