//! End-to-end: `--pprof FILE` from the stdlib recipes cpu-profile, alloc-hotspots and
//! goroutine-block on tests/go/hotspots (a known hot function per kind), read back by
//! `go tool pprof` of Go 1.19 and Go 1.27: the hot function is first in `-top`, sample types
//! and units are pprof's own (`-sample_index`, `-raw`), and `-lines`/`-traces` give the
//! program's file:line, with an inlined call on a line of its own.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support::*;

/// Go releases the target is built with.
const TARGETS: &[&str] = &["1.19", "1.27.3"];
/// Go releases whose `go tool pprof` reads the profiles.
const READERS: &[&str] = &["1.19", "1.27.3"];
/// Safety net for a hung gprobe, not a timing assertion.
const LIMIT: Duration = Duration::from_secs(120);

fn go_tool(version: &str) -> PathBuf {
    if version.starts_with("1.19") {
        PathBuf::from("/usr/lib/go-1.19/bin/go")
    } else {
        cache_dir().join("go").join(version).join("go/bin/go")
    }
}

fn ready() -> bool {
    e2e_ready()
        && TARGETS
            .iter()
            .chain(READERS)
            .all(|v| toolchain_available(v))
}

/// `go tool pprof ARGS FILE` of Go `version`; fails the test if it fails.
fn pprof(version: &str, args: &[&str], file: &Path) -> String {
    let out = Command::new(go_tool(version))
        .args(["tool", "pprof"])
        .args(args)
        .arg(file)
        .env("GOTOOLCHAIN", "local")
        // pprof must not look for binaries or symbol servers: the profile names everything.
        .env("PPROF_BINARY_PATH", "/nonexistent")
        .output()
        .expect("run go tool pprof");
    assert!(
        out.status.success(),
        "go {version} tool pprof {args:?} failed: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// The rows of `-top`: (flat, cum, name), in order.
fn top_rows(out: &str) -> Vec<(String, String, String)> {
    out.lines()
        .skip_while(|l| !l.trim_start().starts_with("flat"))
        .skip(1)
        .filter_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            (words.len() >= 6).then(|| {
                (
                    words[0].to_string(),
                    words[3].to_string(),
                    words[5..].join(" "),
                )
            })
        })
        .collect()
}

/// The `Type:` line of a pprof report.
fn report_type(out: &str) -> &str {
    out.lines()
        .find_map(|l| l.strip_prefix("Type: "))
        .unwrap_or("")
        .trim()
}

/// The sample rows of `-raw`: the values of each sample.
fn raw_samples(raw: &str) -> (String, Vec<Vec<i64>>) {
    let mut lines = raw.lines().skip_while(|l| *l != "Samples:").skip(1);
    let header = lines.next().unwrap_or("").trim().to_string();
    let rows = lines
        .take_while(|l| !l.starts_with("Locations"))
        .filter_map(|l| {
            let (values, _) = l.split_once(':')?;
            values
                .split_whitespace()
                .map(|v| v.parse().ok())
                .collect::<Option<Vec<i64>>>()
        })
        .collect();
    (header, rows)
}

/// The 1-based line of tests/go/hotspots/main.go that contains `code`.
fn source_line(code: &str) -> usize {
    let src = std::fs::read_to_string(repo_root().join("tests/go/hotspots/main.go")).unwrap();
    src.lines()
        .position(|l| l.contains(code))
        .unwrap_or_else(|| panic!("{code:?} not in hotspots/main.go"))
        + 1
}

/// Runs `recipe` on hotspots built with Go `version` in `mode`, with `--pprof`; returns the
/// profile's path (removed by the caller) and the size of the file.
fn record(recipe: &str, version: &str, mode: &str) -> (PathBuf, u64) {
    let bin = go_target("hotspots", version, &[]);
    let file = std::env::temp_dir().join(format!(
        "gprobe-pprof-{}-{recipe}-{version}.pb.gz",
        std::process::id()
    ));
    let command = format!("{} -mode {mode}", bin.display());
    let _k = kernel_lock();
    let out = run_gprobe(
        &[
            "--recipe",
            recipe,
            "-c",
            &command,
            "--pprof",
            file.to_str().unwrap(),
        ],
        LIMIT,
    );
    assert!(
        out.status.success(),
        "{recipe} on Go {version}: {}",
        text(&out.stderr)
    );
    assert_no_gprobe_programs();
    let bytes = std::fs::read(&file).expect("the profile was written");
    assert_eq!(&bytes[..2], &[0x1f, 0x8b], "gzipped");
    (file, bytes.len() as u64)
}

#[test]
fn cpu_profile_is_a_cpu_profile_of_the_hot_function() {
    if !ready() {
        return;
    }
    // The body of main.mix: its three shifts and the return.
    let mix_lines: Vec<usize> = (1..=4).map(|i| source_line("func mix(") + i).collect();
    let call_line = source_line("x = mix(x)");
    for version in TARGETS {
        let (file, size) = record("cpu-profile", version, "cpu");
        for reader in READERS {
            let what = format!("Go {version} target, Go {reader} pprof ({size} bytes)");
            let top = pprof(reader, &["-top"], &file);
            assert_eq!(report_type(&top), "cpu", "{what}:\n{top}");
            // duration_nanos: the probes ran while main.crunch did (about 1.6 s of work).
            let seconds: f64 = top
                .lines()
                .find_map(|l| l.strip_prefix("Duration: "))
                .and_then(|d| d.split(['s', ',']).next()?.parse().ok())
                .unwrap_or(0.0);
            assert!(seconds >= 0.5, "{what}:\n{top}");
            let rows = top_rows(&top);
            // main.mix is inlined into main.crunch: samples land in its code (about half of
            // them: which of the two is first varies from run to run).
            assert!(
                rows.iter()
                    .any(|r| r.2 == "main.mix (inline)" && r.0 != "0"),
                "{what}:\n{top}"
            );
            assert!(
                rows.iter().any(|r| r.2 == "main.crunch" && r.1 != "0"),
                "{what}:\n{top}"
            );
            let samples = pprof(reader, &["-top", "-sample_index=samples"], &file);
            assert_eq!(report_type(&samples), "samples", "{what}:\n{samples}");
            assert_eq!(
                top_rows(&samples).first().map(|r| r.2.as_str()),
                Some("main.mix (inline)"),
                "{what}:\n{samples}"
            );
            // Value = count × period; the period is the probe's (99 Hz).
            let raw = pprof(reader, &["-raw"], &file);
            assert!(
                raw.contains("PeriodType: cpu nanoseconds"),
                "{what}:\n{raw}"
            );
            assert!(raw.contains("Period: 10101010\n"), "{what}:\n{raw}");
            let (header, rows) = raw_samples(&raw);
            assert_eq!(header, "samples/count cpu/nanoseconds", "{what}:\n{raw}");
            let total: i64 = rows.iter().map(|r| r[0]).sum();
            assert!(total >= 20, "{what}: {total} samples:\n{raw}");
            for r in &rows {
                assert_eq!(r[1], r[0] * 10_101_010, "{what}: {r:?}");
            }
            // Every line of mix is its own source line, marked inlined; the call below it.
            let lines = pprof(reader, &["-top", "-lines"], &file);
            let mix_at = |l: &str| {
                mix_lines
                    .iter()
                    .any(|n| l.contains(&format!("hotspots/main.go:{n} (inline)")))
            };
            assert!(
                lines.lines().any(|l| l.contains("main.mix /") && mix_at(l)),
                "{what}:\n{lines}"
            );
            let traces = pprof(reader, &["-traces", "-lines"], &file);
            let frames: Vec<&str> = traces.lines().map(str::trim).collect();
            let call = format!("main.crunch {}", repo_path(&format!("main.go:{call_line}")));
            assert!(
                frames
                    .windows(2)
                    .any(|w| { w[0].contains("main.mix ") && mix_at(w[0]) && w[1] == call }),
                "{what}: no `main.mix … (inline)` line above `{call}`:\n{traces}"
            );
        }
        let _ = std::fs::remove_file(&file);
    }
}

/// The absolute path of a hotspots source position, as the pclntab records it.
fn repo_path(file_line: &str) -> String {
    repo_root()
        .join("tests/go/hotspots")
        .join(file_line)
        .display()
        .to_string()
}

#[test]
fn alloc_hotspots_is_an_allocation_profile_of_the_allocating_function() {
    if !ready() {
        return;
    }
    let make_line = source_line("b := make([]byte, size)");
    for version in TARGETS {
        let (file, size) = record("alloc-hotspots", version, "alloc");
        for reader in READERS {
            let what = format!("Go {version} target, Go {reader} pprof ({size} bytes)");
            let space = pprof(reader, &["-top", "-unit=B"], &file);
            assert_eq!(report_type(&space), "alloc_space", "{what}:\n{space}");
            let rows = top_rows(&space);
            assert_eq!(
                rows.first().map(|r| r.2.as_str()),
                Some("main.allocate"),
                "{what}:\n{space}"
            );
            // 20000 slices of 1 KiB (and the growth of the slice keeping them).
            let bytes: u64 = rows[0].0.trim_end_matches('B').parse().unwrap();
            assert!(bytes >= 20_000 * 1024, "{what}:\n{space}");
            let objects = pprof(reader, &["-top", "-sample_index=alloc_objects"], &file);
            assert_eq!(report_type(&objects), "alloc_objects", "{what}:\n{objects}");
            let rows = top_rows(&objects);
            assert_eq!(
                rows.first().map(|r| r.2.as_str()),
                Some("main.allocate"),
                "{what}:\n{objects}"
            );
            let count: u64 = rows[0].0.parse().unwrap();
            assert!(
                (20_000..21_000).contains(&count),
                "{what}: {count} allocations:\n{objects}"
            );
            let raw = pprof(reader, &["-raw"], &file);
            assert_eq!(
                raw_samples(&raw).0,
                "alloc_objects/count alloc_space/bytes",
                "{what}:\n{raw}"
            );
            // The allocating line, the runtime's allocator dropped (drop_frames).
            let lines = pprof(reader, &["-top", "-lines"], &file);
            let at = format!(
                "main.allocate {}",
                repo_path(&format!("main.go:{make_line}"))
            );
            assert!(
                lines
                    .lines()
                    .nth(top_header(&lines) + 1)
                    .is_some_and(|l| l.ends_with(&at)),
                "{what}: first line not `{at}`:\n{lines}"
            );
            assert!(!lines.contains("runtime.mallocgc"), "{what}:\n{lines}");
        }
        let _ = std::fs::remove_file(&file);
    }
}

/// Index of the `flat  flat% …` header line.
fn top_header(out: &str) -> usize {
    out.lines()
        .position(|l| l.trim_start().starts_with("flat"))
        .unwrap_or(0)
}

#[test]
fn goroutine_block_is_a_block_profile_of_the_waiting_function() {
    if !ready() {
        return;
    }
    let receive_line = source_line("sum += <-ticks");
    for version in TARGETS {
        let (file, size) = record("goroutine-block", version, "block");
        for reader in READERS {
            let what = format!("Go {version} target, Go {reader} pprof ({size} bytes)");
            let delay = pprof(reader, &["-top", "-unit=ms"], &file);
            assert_eq!(report_type(&delay), "delay", "{what}:\n{delay}");
            let rows = top_rows(&delay);
            assert_eq!(
                rows.first().map(|r| r.2.as_str()),
                Some("main.waitForTicks"),
                "{what}:\n{delay}"
            );
            // 40 receives, most waiting for a 10 ms spin of the sender.
            let ms: f64 = rows[0].0.trim_end_matches("ms").parse().unwrap();
            assert!(ms >= 250.0, "{what}: {ms} ms blocked:\n{delay}");
            let contentions = pprof(reader, &["-top", "-sample_index=contentions"], &file);
            assert_eq!(
                report_type(&contentions),
                "contentions",
                "{what}:\n{contentions}"
            );
            let rows = top_rows(&contentions);
            assert_eq!(
                rows.first().map(|r| r.2.as_str()),
                Some("main.waitForTicks"),
                "{what}:\n{contentions}"
            );
            // One side of each of the 40 hand-overs parks: the receiver, unless it came late
            // (a busy machine) and the sender waited instead.
            let parked = |name: &str| -> u64 {
                rows.iter()
                    .find(|r| r.2 == name)
                    .map_or(0, |r| r.0.parse().unwrap())
            };
            assert_eq!(
                parked("main.waitForTicks") + parked("main.main.func1"),
                40,
                "{what}:\n{contentions}"
            );
            assert!(parked("main.waitForTicks") >= 30, "{what}:\n{contentions}");
            let raw = pprof(reader, &["-raw"], &file);
            assert_eq!(
                raw_samples(&raw).0,
                "contentions/count delay/nanoseconds",
                "{what}:\n{raw}"
            );
            let traces = pprof(reader, &["-traces", "-lines"], &file);
            let at = format!(
                "main.waitForTicks {}",
                repo_path(&format!("main.go:{receive_line}"))
            );
            assert!(
                traces.lines().any(|l| l.trim().ends_with(&at)),
                "{what}: no `{at}`:\n{traces}"
            );
        }
        let _ = std::fs::remove_file(&file);
    }
}

/// Said before anything attaches: a script with no map keyed by a stack, a bad `@pprof` line,
/// a path that cannot be written.
#[test]
fn pprof_problems_are_reported_before_attaching() {
    if !e2e_ready() {
        return;
    }
    let file = std::env::temp_dir().join(format!("gprobe-pprof-{}-bad.pb.gz", std::process::id()));
    let path = file.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["-e", "BEGIN { @n = count(); exit(); }", "--pprof", path],
            "--pprof needs a map keyed by a stack",
        ),
        (
            &[
                "-e",
                "// @pprof @x cpu\nprofile:hz:99 { @s[kstack] = count(); }",
                "--pprof",
                path,
            ],
            "is not TYPE/UNIT",
        ),
        (
            &[
                "-e",
                "// @pprof @other cpu/nanoseconds\nprofile:hz:99 { @s[kstack] = count(); }",
                "--pprof",
                path,
            ],
            "@pprof names @other, which is not a map keyed by a stack",
        ),
        (
            &[
                "-e",
                "profile:hz:99 { @s[kstack] = count(); }",
                "--pprof",
                "/nonexistent-dir/p.pb.gz",
            ],
            "cannot write /nonexistent-dir/p.pb.gz",
        ),
    ];
    let _k = kernel_lock();
    for (args, message) in cases {
        let out = run_gprobe(args, LIMIT);
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(
            !text(&out.stdout).contains("Attaching"),
            "{args:?}: attached"
        );
        assert!(!file.exists(), "{args:?} wrote {path}");
    }
    assert_no_gprobe_programs();
}

/// No annotations: a bpftrace-style `profile:hz:99 { @[comm, ustack] = count(); }` is a CPU
/// profile at the probe's period, named from the pclntab (file:line, inlined calls) although
/// `ustack` names frames by ELF symbols, with `comm` as a sample label.
#[test]
fn a_plain_ustack_profile_is_a_cpu_profile_with_labels() {
    if !ready() {
        return;
    }
    let bin = go_target("hotspots", "1.27.3", &[]);
    let comm: String = bin
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .chars()
        .take(15)
        .collect();
    let file =
        std::env::temp_dir().join(format!("gprobe-pprof-{}-ustack.pb.gz", std::process::id()));
    let script = format!("profile:hz:49 /comm == \"{comm}\"/ {{ @[comm, ustack] = count(); }}");
    let command = format!("{} -mode cpu", bin.display());
    {
        let _k = kernel_lock();
        let out = run_gprobe(
            &[
                "-e",
                &script,
                "-c",
                &command,
                "--pprof",
                file.to_str().unwrap(),
            ],
            LIMIT,
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_no_gprobe_programs();
    }
    for reader in READERS {
        let top = pprof(reader, &["-top", "-lines"], &file);
        assert_eq!(report_type(&top), "cpu", "Go {reader}:\n{top}");
        let rows = top_rows(&top);
        // The inlined callee's lines are rows of their own (which of main.mix's and
        // main.crunch's lines is heaviest varies from run to run).
        assert!(
            rows.iter()
                .any(|r| r.2.starts_with("main.mix /") && r.2.ends_with(" (inline)")),
            "Go {reader}:\n{top}"
        );
        let raw = pprof(reader, &["-raw"], &file);
        // 1e9 / 49 Hz.
        assert!(raw.contains("Period: 20408163\n"), "Go {reader}:\n{raw}");
        let tags = pprof(reader, &["-tags"], &file);
        assert!(
            tags.contains("comm: Total") && tags.contains(&format!("(  100%): {comm}")),
            "Go {reader}:\n{tags}"
        );
    }
    let _ = std::fs::remove_file(&file);
}

/// Node-wide (`--exe`, no `-p`/`-c`): each process's addresses are placed in its own mappings
/// (from /proc/PID/maps, with the binary's build id: Go 1.19 writes no GNU build id, so Go's
/// own, as `go tool buildid` prints it), and `pid` is a numeric sample label.
#[test]
fn a_node_wide_profile_maps_each_process() {
    if !ready() {
        return;
    }
    let bin = go_target("hotspots", "1.19", &[]);
    let file = std::env::temp_dir().join(format!("gprobe-pprof-{}-node.pb.gz", std::process::id()));
    let _k = kernel_lock();
    let mut child = Command::new(&bin)
        .args(["-mode", "cpu", "-n", "4000000000"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let glob = format!("**/{}", bin.file_name().unwrap().to_str().unwrap());
    let out = run_gprobe(
        &[
            "--exe",
            &glob,
            "-e",
            "profile:hz:99 { @[pid, gostack] = count(); } interval:s:2 { exit(); }",
            "--pprof",
            file.to_str().unwrap(),
        ],
        LIMIT,
    );
    let _ = child.kill();
    let _ = child.wait();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_no_gprobe_programs();
    let build_id = {
        let out = Command::new(go_tool("1.19"))
            .args(["tool", "buildid"])
            .arg(&bin)
            .output()
            .unwrap();
        text(&out.stdout).trim().to_string()
    };
    for reader in READERS {
        let top = pprof(reader, &["-top"], &file);
        assert_eq!(
            top_rows(&top).first().map(|r| r.2.as_str()),
            Some("main.mix (inline)"),
            "Go {reader}:\n{top}"
        );
        let raw = pprof(reader, &["-raw"], &file);
        let mapping = raw
            .lines()
            .skip_while(|l| *l != "Mappings")
            .nth(1)
            .unwrap_or("");
        assert!(
            mapping.contains(&format!(" {} ", bin.display()))
                && mapping.contains("[FN][FL][LN][IN]"),
            "Go {reader}: {mapping}\n{raw}"
        );
        // The GNU build id when the linker wrote one, else Go's own.
        assert!(
            mapping
                .split_whitespace()
                .nth(2)
                .is_some_and(|id| id.len() >= 32),
            "Go {reader}: {mapping} (go build id {build_id})"
        );
        let tags = pprof(reader, &["-tags"], &file);
        assert!(
            tags.contains("pid: Total") && tags.contains(&format!("): {}", child.id())),
            "Go {reader}:\n{tags}"
        );
    }
    let _ = std::fs::remove_file(&file);
}
