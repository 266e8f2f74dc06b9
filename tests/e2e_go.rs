//! End-to-end Go-awareness: goroutine ids, Go-ABI arguments and results, HTTP requests read
//! through pointers, return probes under stack growth, stripped binaries, `-l` from pclntab —
//! real kernel, real Go programs, checked against what the programs themselves report.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;
use support::*;

const LIMIT: Duration = Duration::from_secs(120);
const STRIPPED: &[&str] = &["-ldflags=-s -w"];

/// Every (version, flags) flavour of the matrix whose toolchain is installed.
fn flavours() -> Vec<(&'static str, &'static [&'static str])> {
    let mut out = Vec::new();
    for version in GO_MATRIX {
        if toolchain_available(version) {
            out.push((*version, &[][..]));
            out.push((*version, STRIPPED));
        }
    }
    out
}

/// Runs gprobe with `-e prog -c cmd`, requires success, returns (stdout, stderr).
fn trace(what: &str, prog: &str, cmd: &str) -> String {
    let _k = kernel_lock();
    let out = run_gprobe(&["-e", prog, "-c", cmd], LIMIT);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "{what}: gprobe failed: {}\n{stdout}",
        text(&out.stderr)
    );
    assert_no_gprobe_programs();
    stdout
}

fn goids_case(what: &str, bin: &str) {
    let prog = format!("uprobe:{bin}:main.report {{ @[goid] = count(); }}");
    let stdout = trace(what, &prog, &format!("{bin} -n 40"));
    let reported: BTreeMap<String, u64> = stdout
        .lines()
        .filter_map(|l| Some((l.strip_prefix("goid ")?.to_string(), 1)))
        .collect();
    assert_eq!(
        reported.len(),
        41,
        "{what}: the program's own report:\n{stdout}"
    );
    assert_eq!(
        map_lines(&stdout, "@"),
        reported,
        "{what}: goids seen by gprobe differ from the goroutines' own ids:\n{stdout}"
    );
}

/// (1) goroutines report their own id (from `runtime.Stack`); gprobe's `goid` gives the same set.
#[test]
fn goid_matches_runtime_stack_ids() {
    if !e2e_ready() {
        return;
    }
    for (version, flags) in flavours() {
        let bin = go_target("goids", version, flags);
        goids_case(&format!("Go {version} {flags:?}"), bin.to_str().unwrap());
    }
}

/// goid also in a PIE and in a cgo (externally linked) build.
#[test]
fn goid_in_pie_and_cgo_builds() {
    if !e2e_ready() {
        return;
    }
    let pie = go_target("goids", "1.23.9", &["-buildmode=pie"]);
    goids_case("PIE", pie.to_str().unwrap());
    let cgo = go_cgo_target("goids");
    goids_case("cgo", cgo.to_str().unwrap());
}

/// `*uaddr("main.total")` in probes on Go functions reads the package's globals: in a PIE build
/// (the load bias from the site that fired: one function's entry, a wildcard's two functions,
/// a return probe's RETs) and in a default build, equal to what the program prints.
#[test]
fn uaddr_reads_go_globals_in_pie_and_default_builds() {
    if !e2e_ready() {
        return;
    }
    // Before each call (tick, tock), and tick's result, as the program's own log gives them.
    let mut want = Vec::new();
    for (total, calls, after) in [(0, 0, 1), (11, 2, 13), (33, 4, 34)] {
        want.push(format!("tick {total} {calls}"));
        want.push(format!("ret {after}"));
        want.push(format!("tock {after} {}", calls + 1));
    }
    for (version, flags) in [
        ("1.23.9", &["-buildmode=pie"][..]),
        ("1.19", &["-buildmode=pie"][..]),
        ("1.27.3", &[][..]),
    ] {
        if !toolchain_available(version) {
            continue;
        }
        let bin = go_target("globals", version, flags);
        let b = bin.to_str().unwrap();
        let prog = format!(
            r#"uprobe:{b}:main.t*ck {{ printf("%s %d %d\n", probe, *uaddr("main.total"), *uaddr("main.calls")); }}
               uretprobe:{b}:main.tick {{ printf("ret %d\n", *uaddr("main.total")); }}"#
        );
        let out = trace(&format!("Go {version} {flags:?}"), &prog, b);
        let prefix = format!("uprobe:{b}:main.");
        let traced: Vec<String> = out
            .lines()
            .filter_map(|l| {
                l.strip_prefix(&prefix)
                    .map(str::to_owned)
                    .or_else(|| l.starts_with("ret ").then(|| l.to_owned()))
            })
            .collect();
        assert_eq!(traced, want, "Go {version} {flags:?}:\n{out}");
        let logged: Vec<&str> = out.lines().filter(|l| l.starts_with("total ")).collect();
        assert_eq!(
            logged,
            ["total 11 calls 2", "total 33 calls 4", "total 64 calls 6"],
            "Go {version} {flags:?}:\n{out}"
        );
    }
}

/// Builds a target with CGO_ENABLED=1 (external linking) with Go 1.23.
fn go_cgo_target(name: &str) -> std::path::PathBuf {
    go_cgo_build(name, "1.23.9", &[])
}

/// Builds `tests/go/<name>` with CGO_ENABLED=1 and Go `version` (`flags` as for [`go_target`]).
fn go_cgo_build(name: &str, version: &str, flags: &[&str]) -> std::path::PathBuf {
    go_program_with(
        &format!("tests/go/{name}"),
        version,
        flags,
        &[("CGO_ENABLED", "1")],
    )
}

/// In a cgo program whose C code has `__thread` variables, Go's TLS slot for g is not at
/// `fs_base - 8`: `goid` in a tracepoint (g read from TLS) still names the goroutines that made
/// the system calls, as they report themselves — stripped or not (the slot comes from code).
#[test]
fn goid_from_tls_in_cgo_with_c_thread_locals() {
    if !e2e_ready() {
        return;
    }
    for (version, flags) in flavours() {
        let what = format!("Go {version} cgo {flags:?}");
        let bin = go_cgo_build("cgotls", version, flags);
        let bin = bin.to_str().unwrap();
        // Each goroutine prints "goid N" itself: one write(1) on its own thread.
        let prog = format!(
            "uprobe:{bin}:runtime.execute /!@target_pid/ {{ @target_pid = pid; }}
             tracepoint:syscalls:sys_enter_write /pid == @target_pid && args.fd == 1/ {{ @w[goid] = count(); }}"
        );
        let stdout = trace(&what, &prog, &format!("{bin} -n 12"));
        let reported: BTreeMap<String, u64> = stdout
            .lines()
            .filter_map(|l| Some((l.strip_prefix("goid ")?.to_string(), 1)))
            .collect();
        assert_eq!(reported.len(), 12, "{what}: program output:\n{stdout}");
        assert_eq!(map_lines(&stdout, "@w"), reported, "{what}:\n{stdout}");
    }
}

/// The program's own log lines `work(3, "job-3") = 6, <nil>` as (id, name, result, failed).
fn logged_work(stdout: &str) -> Vec<(i64, String, i64, bool)> {
    stdout
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("work(")?;
            let (id, rest) = rest.split_once(", \"")?;
            let (name, rest) = rest.split_once("\") = ")?;
            let (r, err) = rest.split_once(", ")?;
            Some((
                id.parse().ok()?,
                name.to_string(),
                r.parse().ok()?,
                err != "<nil>",
            ))
        })
        .collect()
}

fn traced_work(stdout: &str) -> Vec<(i64, String, i64, bool)> {
    let mut out = Vec::new();
    let mut pending: Option<(i64, String)> = None;
    for l in stdout.lines() {
        if let Some(rest) = l.strip_prefix("in ") {
            let (id, name) = rest.split_once(' ').unwrap_or((rest, ""));
            pending = Some((id.parse().unwrap_or(-1), name.to_string()));
        } else if let Some(rest) = l.strip_prefix("out ") {
            let (r, failed) = rest.split_once(' ').unwrap_or((rest, "?"));
            if let Some((id, name)) = pending.take() {
                out.push((id, name, r.parse().unwrap_or(i64::MIN), failed == "1"));
            }
        }
    }
    out
}

/// (2) `work(id int, name string) (int, error)`: arguments and results exactly as logged.
/// With DWARF by name (`args.id`, `str(args.name)`, `ret.r0`, `ret.r1`); stripped, where no
/// signature exists, by Go ABI register (`arg0`, `retval`, `reg("bx")` = the error's type word).
#[test]
fn work_arguments_and_results_match_the_log() {
    if !e2e_ready() {
        return;
    }
    for (version, flags) in flavours() {
        let what = format!("Go {version} {flags:?}");
        let bin = go_target("work", version, flags);
        let bin = bin.to_str().unwrap();
        let prog = if flags.is_empty() {
            format!(
                r#"uprobe:{bin}:main.work {{ printf("in %d %s\n", args.id, str(args.name)); }}
                   uretprobe:{bin}:main.work {{ printf("out %d %d\n", ret.r0, ret.r1.type != 0); }}"#
            )
        } else {
            format!(
                r#"uprobe:{bin}:main.work {{ printf("in %d %s\n", arg0, str(arg1)); }}
                   uretprobe:{bin}:main.work {{ printf("out %d %d\n", (int64)retval, reg("rbx") != 0); }}"#
            )
        };
        let stdout = trace(&what, &prog, &format!("{bin} -n 30"));
        let logged = logged_work(&stdout);
        assert_eq!(logged.len(), 30, "{what}: program log:\n{stdout}");
        let mut traced = traced_work(&stdout);
        if !flags.is_empty() {
            // Without a signature str(arg1) reads to a NUL, not `len` bytes: compare the prefix.
            for (t, l) in traced.iter_mut().zip(&logged) {
                if t.1.starts_with(&l.1) {
                    t.1 = l.1.clone();
                }
            }
        }
        assert_eq!(traced, logged, "{what}: traced vs logged:\n{stdout}");
    }
}

/// (3) An HTTP server driven by its own loopback client: requests counted by method and path
/// read through `*http.Request` and `*url.URL` — from DWARF, or the built-in tables when stripped.
#[test]
fn http_requests_by_method_and_path() {
    if !e2e_ready() {
        return;
    }
    for (version, flags) in flavours() {
        let what = format!("Go {version} {flags:?}");
        let bin = go_target("httpload", version, flags);
        let bin = bin.to_str().unwrap();
        let prog = format!(
            r#"uprobe:{bin}:"net/http.serverHandler.ServeHTTP" {{ @[str(args.req.Method), str(args.req.URL.Path)] = count(); }}"#
        );
        let stdout = trace(&what, &prog, &format!("{bin} -get 4 -post 3 -missing 2"));
        let expected: BTreeMap<String, u64> = [
            ("GET, /a".to_string(), 4),
            ("POST, /b".to_string(), 3),
            ("GET, /missing".to_string(), 2),
        ]
        .into_iter()
        .collect();
        assert_eq!(map_lines(&stdout, "@"), expected, "{what}:\n{stdout}");
    }
}

/// (4) Return probes on a recursive function whose stacks grow and move, under 1000 goroutines:
/// the program finishes with correct results, and entry and return counts equal the calls
/// (an entry probe does not fire twice when morestack re-enters the function).
#[test]
fn return_probes_survive_stack_growth() {
    if !e2e_ready() {
        return;
    }
    for (version, flags) in flavours() {
        let what = format!("Go {version} {flags:?}");
        let bin = go_target("recurse", version, flags);
        let bin = bin.to_str().unwrap();
        let prog = format!(
            "uprobe:{bin}:main.depth {{ @calls = count(); }} uretprobe:{bin}:main.depth {{ @rets = count(); }}"
        );
        let stdout = trace(&what, &prog, &format!("{bin} -g 1000 -d 200"));
        assert!(
            stdout.contains("ok 201000\n"),
            "{what}: program output:\n{stdout}"
        );
        assert!(stdout.contains("@calls: 201000\n"), "{what}:\n{stdout}");
        assert!(stdout.contains("@rets: 201000\n"), "{what}:\n{stdout}");
    }
}

/// Stripped and unstripped give the same output for the same script, and `-l` lists the same
/// Go functions (names from pclntab).
#[test]
fn stripped_equals_unstripped() {
    if !e2e_ready() {
        return;
    }
    for version in GO_MATRIX {
        if !toolchain_available(version) {
            continue;
        }
        let mut outputs = Vec::new();
        let mut listings = Vec::new();
        for flags in [&[][..], STRIPPED] {
            let bin = go_target("work", version, flags);
            let bin = bin.to_str().unwrap();
            let prog = format!(
                "uprobe:{bin}:main.work {{ @calls = count(); @g[goid] = count(); }} uretprobe:{bin}:main.work {{ @r[(int64)retval] = count(); }}"
            );
            let stdout = trace(version, &prog, &format!("{bin} -n 20 -q"));
            outputs.push(stdout.replace(bin, "BIN"));
            // A listing is larger than a pipe buffer: read it while gprobe writes.
            let out = std::process::Command::new(gprobe_bin())
                .args(["-l", &format!("uprobe:{bin}:*")])
                .output()
                .expect("run gprobe -l");
            assert!(out.status.success(), "{}", text(&out.stderr));
            listings.push(text(&out.stdout).replace(bin, "BIN"));
        }
        assert_eq!(
            outputs[0], outputs[1],
            "Go {version}: stripped output differs"
        );
        assert!(listings[0].lines().count() > 1000, "{}", listings[0]);
        assert!(listings[0].contains("uprobe:BIN:main.work\n"));
        assert_eq!(
            listings[0], listings[1],
            "Go {version}: -l differs when stripped"
        );
    }
}

/// Diagnostics: a missing function names the nearest ones; `goid` needs a Go program.
#[test]
fn go_diagnostics() {
    if !e2e_ready() {
        return;
    }
    let bin = go_target("work", "1.19", STRIPPED);
    let bin = bin.to_str().unwrap();
    let out = run_gprobe(
        &[
            "--check",
            "-e",
            &format!("uprobe:{bin}:main.wrok {{ @ = count(); }}"),
        ],
        LIMIT,
    );
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("no function `main.wrok`"), "{stderr}");
    assert!(stderr.contains("main.work"), "{stderr}");
    let out = run_gprobe(
        &[
            "--check",
            "-e",
            "uprobe:/bin/true:main { @[goid] = count(); }",
        ],
        LIMIT,
    );
    assert!(
        text(&out.stderr).contains("not a Go binary"),
        "{}",
        text(&out.stderr)
    );
    let out = run_gprobe(
        &[
            "--check",
            "-e",
            &format!("uretprobe:{bin}:main.work {{ @[ret.nope] = count(); }}"),
        ],
        LIMIT,
    );
    assert!(!out.status.success());
}

/// `gostack` and `usym` in a PIE build name Go functions: runtime addresses are taken back to
/// link-time ones with the load bias read from the target's mappings. (A command that exits
/// within a few ms of starting can be gone before its mappings are read: see docs/go.md.)
#[test]
fn stacks_are_named_in_pie_builds() {
    if !e2e_ready() {
        return;
    }
    for version in ["1.19", "1.27.3"] {
        if !toolchain_available(version) {
            continue;
        }
        let bin = go_target("work", version, &["-buildmode=pie", "-ldflags=-s -w"]);
        let bin = bin.to_str().unwrap();
        let prog = format!(
            r#"uprobe:{bin}:main.work {{ @s[gostack(2)] = count(); @u[usym(reg("ip"))] = count(); }}"#
        );
        let stdout = trace("PIE stacks", &prog, &format!("{bin} -n 40 -q -delay 200ms"));
        assert!(
            stdout.contains("        main.work+"),
            "Go {version}:\n{stdout}"
        );
        assert!(
            stdout.contains("@u[main.work]: 40\n"),
            "Go {version}:\n{stdout}"
        );
        assert!(
            !stdout.contains("0x"),
            "unnamed frame, Go {version}:\n{stdout}"
        );
    }
}

/// Multi-line stack keys of map `map` (`@f[` … `]: N`) as frames without offsets, with counts.
fn stack_entries(stdout: &str, map: &str) -> BTreeMap<Vec<String>, u64> {
    let mut out = BTreeMap::new();
    let mut frames: Option<Vec<String>> = None;
    for line in stdout.lines() {
        if line == format!("{map}[") {
            frames = Some(Vec::new());
        } else if let Some(count) = line.strip_prefix("]: ") {
            if let Some(f) = frames.take() {
                out.insert(f, count.parse().unwrap_or(0));
            }
        } else if let Some(f) = frames.as_mut() {
            let frame = line.trim();
            f.push(frame.split('+').next().unwrap_or(frame).to_string());
        }
    }
    out
}

/// `gostack` at an entry probe names the probed function's direct caller, also where the
/// kernel's frame-pointer walk lacks it: Go 1.19 allocates the frame before pushing the frame
/// pointer, and a frameless leaf never pushes one (every version).
#[test]
fn entry_stacks_name_the_direct_caller() {
    if !e2e_ready() {
        return;
    }
    let path = |frames: &[&str]| frames.iter().map(|f| f.to_string()).collect::<Vec<_>>();
    for (version, flags) in flavours() {
        let what = format!("Go {version} {flags:?}");
        let bin = go_target("callers", version, flags);
        let bin = bin.to_str().unwrap();
        let prog = format!(
            "uprobe:{bin}:main.framed {{ @f[gostack(3)] = count(); }} uprobe:{bin}:main.leaf {{ @l[gostack(3)] = count(); }}
             uprobe:{bin}:main.*e* {{ @g[gostack(3)] = count(); }}"
        );
        let stdout = trace(&what, &prog, &format!("{bin} -n 7"));
        assert_eq!(
            stack_entries(&stdout, "@f"),
            [(path(&["main.framed", "main.middle", "main.outer"]), 7)].into(),
            "{what}:\n{stdout}"
        );
        assert_eq!(
            stack_entries(&stdout, "@l"),
            [
                (path(&["main.leaf", "main.framed", "main.middle"]), 7),
                (path(&["main.leaf", "main.middle", "main.outer"]), 7),
            ]
            .into(),
            "{what}:\n{stdout}"
        );
        // One program on functions that push a frame pointer and functions that do not.
        let glob = stack_entries(&stdout, "@g");
        for frames in [
            &["main.framed", "main.middle", "main.outer"][..],
            &["main.leaf", "main.framed", "main.middle"],
            &["main.leaf", "main.middle", "main.outer"],
            &["main.middle", "main.outer", "main.main"],
        ] {
            assert_eq!(glob.get(&path(frames)), Some(&7), "{what}:\n{stdout}");
        }
    }
}

/// `probe` in a glob's program names the function that fired, as bpftrace expands the glob
/// (`uprobe:BIN:main.*e*` at `main.leaf` is `uprobe:BIN:main.leaf`): one uprobe-multi link,
/// each offset's cookie the id of its function's name. Same script, same program, same counts
/// as bpftrace (which attaches one uprobe per function). The path is relative, as typed.
#[test]
fn probe_names_each_function_a_glob_matched_as_bpftrace() {
    if !e2e_ready() {
        return;
    }
    let bin = go_target("callers", "1.19", &[]);
    let dir = bin.parent().unwrap().to_str().unwrap().to_string();
    let name = bin.file_name().unwrap().to_str().unwrap().to_string();
    let prog = format!(
        "uprobe:./{name}:main.*e* {{ @[probe] = count(); }} uprobe:./{name}:main.l* {{ @one[probe] = count(); }}"
    );
    let cmd = format!("./{name} -n 7");
    let _k = kernel_lock();
    let run = |tracer: &std::path::Path| {
        let out = std::process::Command::new(tracer)
            .args(["-e", &prog, "-c", &cmd])
            .current_dir(&dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start tracer");
        let out = wait_with_limit(out, LIMIT);
        assert!(
            out.status.success(),
            "{}: {}",
            tracer.display(),
            text(&out.stderr)
        );
        text(&out.stdout)
    };
    let ours = run(&gprobe_bin());
    let at = |f: &str| format!("uprobe:./{name}:{f}");
    let want: BTreeMap<String, u64> = [
        (at("main.leaf"), 14),
        (at("main.framed"), 7),
        (at("main.middle"), 7),
        (at("main.outer"), 1),
    ]
    .into();
    assert_eq!(map_lines(&ours, "@"), want, "{ours}");
    // A glob that matched one function names it without a cookie.
    assert_eq!(
        map_lines(&ours, "@one"),
        [(at("main.leaf"), 14)].into(),
        "{ours}"
    );
    let bpftrace = std::path::Path::new("/usr/bin/bpftrace");
    if bpftrace.is_file() || under_ci() {
        let theirs = run(bpftrace);
        assert_eq!(
            map_lines(&ours, "@"),
            map_lines(&theirs, "@"),
            "bpftrace:\n{theirs}"
        );
        assert_eq!(
            map_lines(&ours, "@one"),
            map_lines(&theirs, "@one"),
            "bpftrace:\n{theirs}"
        );
    }
    assert_no_gprobe_programs();
}

/// `worker N created by F in goroutine P` lines of tests/go/spawn, and gprobe's
/// `traced N F+off P` lines, as (goid, creator function, parent) — `?` where Go 1.19 has none.
fn creators(stdout: &str, prefix: &str) -> BTreeMap<i64, (String, String)> {
    stdout
        .lines()
        .filter_map(|l| {
            let fields: Vec<&str> = l.strip_prefix(prefix)?.split_whitespace().collect();
            let (id, creator, parent) = match fields[..] {
                [id, "created", "by", creator, "in", "goroutine", parent] => (id, creator, parent),
                [id, creator, parent] => (id, creator, parent),
                [id, creator] => (id, creator, "?"),
                _ => return None,
            };
            let creator = creator.split('+').next().unwrap_or(creator);
            Some((id.parse().ok()?, (creator.to_string(), parent.to_string())))
        })
        .collect()
}

/// `gocreator` and `goparent` name the `go` statement's function and the parent goroutine exactly
/// as Go's own "created by F in goroutine P" traceback line; `@[gocreator] = count()` groups
/// goroutines by where they were started. Go 1.19 has no parent id (`goparent` is refused).
#[test]
fn goroutine_creator_and_parent_match_the_traceback() {
    if !e2e_ready() {
        return;
    }
    for (version, flags) in flavours() {
        let what = format!("Go {version} {flags:?}");
        let bin = go_target("spawn", version, flags);
        let bin = bin.to_str().unwrap();
        let parent = if version == "1.19" { "" } else { ", goparent" };
        let conversion = if version == "1.19" { "" } else { " %d" };
        let prog = format!(
            r#"uprobe:{bin}:main.report {{ printf("traced %d %s{conversion}\n", goid, gocreator{parent}); @[gocreator] = count(); }}"#
        );
        let stdout = trace(&what, &prog, &format!("{bin} -a 5 -b 3"));
        let logged = creators(&stdout, "worker ");
        assert_eq!(logged.len(), 8, "{what}: program output:\n{stdout}");
        assert_eq!(creators(&stdout, "traced "), logged, "{what}:\n{stdout}");
        let by_creator: BTreeMap<String, u64> = map_lines(&stdout, "@")
            .into_iter()
            .map(|(k, n)| (k.split('+').next().unwrap_or(&k).to_string(), n))
            .collect();
        assert_eq!(
            by_creator,
            [
                ("main.spawnA".to_string(), 5),
                ("main.spawnB".to_string(), 3)
            ]
            .into(),
            "{what}:\n{stdout}"
        );
    }
    // Before Go 1.21 a goroutine does not record its parent: a clear error, not a wrong number.
    let old = go_target("spawn", "1.19", &[]);
    let out = run_gprobe(
        &[
            "--check",
            "-e",
            &format!(
                "uprobe:{}:main.report {{ @[goparent] = count(); }}",
                old.display()
            ),
        ],
        LIMIT,
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("`goparent` needs Go 1.21 or later"),
        "{}",
        text(&out.stderr)
    );
}
