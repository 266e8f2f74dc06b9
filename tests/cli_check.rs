//! `gprobe --check` end to end: the realistic example passes, and each bad variant of it fails
//! with exit code 1 and a rendered diagnostic pointing at the right line.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

fn gprobe() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gprobe"))
}

fn realistic() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/realistic.gp");
    std::fs::read_to_string(path).expect("examples/realistic.gp")
}

fn write_temp(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gprobe-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write case");
    path
}

/// The script probes `./srv`: the example shop service, built as `srv` in a scratch directory
/// (once: tests run in parallel, and one must not run `srv` while another rewrites it).
fn srv_dir() -> Option<PathBuf> {
    static DIR: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        if !support::toolchain_available("1.19") {
            return None;
        }
        let shop = support::go_program("examples/shop", "1.19", &[]);
        let dir = std::env::temp_dir().join(format!("gprobe-srv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        support::copy_executable(&shop, dir.join("srv"));
        Some(dir)
    })
    .clone()
}

#[test]
fn realistic_script_checks() {
    let Some(dir) = srv_dir() else { return };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/realistic.gp");
    let out = gprobe()
        .current_dir(&dir)
        .args(["--check", "-c", "./srv"])
        .arg(&path)
        .args(["--", "5", "srv"])
        .output()
        .expect("run gprobe");
    assert!(
        out.status.success(),
        "stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(realistic().lines().count() >= 200);
}

/// (name, text to replace, replacement, expected message, expected line of the primary label)
const BAD: &[(&str, &str, &str, &str, &str)] = &[
    (
        "typo_builtin",
        "@start_ns = nsecs;",
        "@start_ns = nsec;",
        "unknown identifier `nsec`",
        "did you mean `nsecs`?",
    ),
    (
        "agg_mix",
        "@requests_by_thread[tid] = count();",
        "@requests_by_thread[tid] = count(); @requests_by_thread[tid] = sum(1);",
        "map `@requests_by_thread` is assigned both count() and sum()",
        "one map holds one kind",
    ),
    (
        "printf_args",
        "printf(\"one hour is enough\\n\");",
        "printf(\"one hour is enough\\n\", 1);",
        "0 conversion(s) but 1 value(s)",
        "no conversion for this value",
    ),
    (
        "kfunc",
        "profile:ms:10",
        "kfunc:do_sys_open",
        "`kfunc` probes are not supported",
        "gprobe does not compile fentry/fexit programs",
    ),
    (
        "retval_in_uprobe",
        "@goroutines_created += 1;",
        "@goroutines_created += retval;",
        "`retval` is not available in uprobe probes",
        "uretprobe",
    ),
    (
        "unroll_range",
        "unroll(3)",
        "unroll(300)",
        "`unroll(300)` is out of range",
        "between 1 and 100",
    ),
    (
        "missing_brace",
        "        $i++;\n    }",
        "        $i++;\n",
        "syntax error",
        "expected",
    ),
    (
        "positional",
        "str($2)",
        "str($0)",
        "positional parameters are `$1`, `$2`, ...",
        "not a valid positional parameter",
    ),
    (
        "map_keys",
        "@handler_enter[goid] = nsecs;",
        "@handler_enter[comm] = nsecs;",
        "map `@handler_enter` is used with different keys",
        "used with key",
    ),
    (
        "unknown_map",
        "print(@conn_lat_stats);",
        "print(@conn_lat_stat);",
        "map `@conn_lat_stat` is never assigned",
        "did you mean `@conn_lat_stats`?",
    ),
    (
        "unset_var",
        "$total = @slow + @medium + @fast;",
        "$totl = @slow + @medium + @fast;",
        "unknown variable `$total`",
        "did you mean `$totl`?",
    ),
    (
        "printf_type",
        "printf(\"  slow share: %d%%\\n\", @slow * 100 / $total);",
        "printf(\"  slow share: %d%%\\n\", comm);",
        "`%d` cannot print string",
        "use `%s` for strings",
    ),
];

#[test]
fn bad_variants_are_rejected_with_spans() {
    let good = realistic();
    for (name, from, to, message, detail) in BAD {
        assert!(
            good.contains(from),
            "{name}: `{from}` is not in realistic.gp"
        );
        let bad = good.replacen(from, to, 1);
        let path = write_temp(&format!("{name}.gp"), &bad);
        let out = gprobe()
            .arg("--check")
            .arg(&path)
            .args(["--", "5", "srv"])
            .output()
            .expect("run gprobe");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{name}: expected exit 1, stderr:\n{stderr}"
        );
        assert!(
            stderr.contains(message),
            "{name}: expected `{message}` in:\n{stderr}"
        );
        assert!(
            stderr.contains(detail),
            "{name}: expected `{detail}` in:\n{stderr}"
        );
        // The span: `┌─ FILE:LINE:COL`, the source line and an underline.
        let location = format!("{}:", path.display());
        assert!(
            stderr.contains(&location),
            "{name}: no file location in:\n{stderr}"
        );
        assert!(stderr.contains('^'), "{name}: no underline in:\n{stderr}");
        assert!(
            !stderr.contains('\u{1b}'),
            "{name}: colour on a pipe:\n{stderr}"
        );
    }
}

#[test]
fn command_line_program_is_named_and_several_errors_reported() {
    let out = gprobe()
        .args(["--check", "-e", "BEGIN { @a = nsec; pritnf(\"x\"); }"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("<command line>:1:14"), "{stderr}");
    assert!(stderr.contains("unknown function `pritnf`"), "{stderr}");
    assert!(stderr.contains("2 error(s)"), "{stderr}");
}

#[test]
fn dump_ast_shows_types() {
    let out = gprobe()
        .args([
            "-d",
            "ast",
            "-e",
            "BEGIN { @x[$1] = hist(nsecs); }",
            "--",
            "7",
        ])
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("AssignMap @x ="), "{stdout}");
    assert!(stdout.contains("Int 7 : i64"), "{stdout}");
    assert!(stdout.contains("Builtin hist : hist"), "{stdout}");
    assert!(stdout.contains("Builtin nsecs : u64"), "{stdout}");
}

#[test]
fn uprobe_without_binary_needs_a_target() {
    let program = "uprobe:runtime.gopark { @p = count(); }";
    let out = gprobe()
        .args(["--check", "-e", program])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    // With a Go process as the target, the binary comes from /proc/PID/exe.
    let Some(dir) = srv_dir() else { return };
    let mut srv = Command::new(dir.join("srv"))
        .args(["-addr", "127.0.0.1:0"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start srv");
    let pid = srv.id().to_string();
    let out = gprobe()
        .args(["--check", "-p", &pid, "-e", program])
        .output()
        .expect("run");
    let _ = srv.kill();
    let _ = srv.wait();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn missing_program_and_unreadable_file_fail_cleanly() {
    let out = gprobe().arg("--check").output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    let out = gprobe()
        .args(["--check", "/nonexistent/x.gp"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
}

/// A uprobe into a file no uprobe can go into fails `--check` the way a real run would, with
/// the binary underlined: a text file, a relocatable object, a missing path, a `-c` target.
#[test]
fn check_refuses_a_binary_that_cannot_take_uprobes() {
    let text = write_temp("notelf", "not a program\n");
    // An x86-64 ELF header of a relocatable object (`e_type` 1), as `cc -c` writes.
    let mut object = vec![0u8; 64];
    object[..7].copy_from_slice(b"\x7fELF\x02\x01\x01");
    object[16] = 1;
    object[18] = 62;
    let object_path = text.with_file_name("x.o");
    std::fs::write(&object_path, &object).expect("write object");
    let dir = text.parent().expect("temp dir");
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["-e", "uprobe:./notelf:main.x { @[args.a] = count(); }"],
            "error[E0411]: ./notelf is not an ELF executable",
            "^^^^^^^^ uprobes cannot go into this file",
        ),
        (
            &["-e", "uprobe:./x.o:main.x {}"],
            "error[E0411]: ./x.o is not an ELF executable",
            "^^^^^ uprobes cannot go into this file",
        ),
        (
            &["-e", "uretprobe:./missing:main.x { @ = retval; }"],
            "error[E0411]: binary not found: ./missing",
            "^^^^^^^^^ uprobes cannot go into this file",
        ),
        (
            &["-c", "./notelf", "-e", "uprobe:main.x {}"],
            "error[E0411]: ./notelf is not an ELF executable",
            "^^^^^^^^^^^^^ a uprobe in the -p/-c target",
        ),
    ];
    for (args, message, label) in cases {
        let out = gprobe()
            .current_dir(dir)
            .arg("--check")
            .args(*args)
            .output()
            .expect("run gprobe");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: stderr:\n{stderr}");
        assert!(stderr.contains(message), "{args:?}: stderr:\n{stderr}");
        assert!(stderr.contains(label), "{args:?}: stderr:\n{stderr}");
        assert!(stderr.contains("1 error(s)"), "{args:?}: stderr:\n{stderr}");
    }
}

/// A recipe file run directly is what `--recipe` runs: its `// @param` defaults fill the
/// parameters not given (no E0204 for `$1`), and its `// @if` regions follow the target
/// (alloc-hotspots' Go 1.27 region names functions a Go 1.19 program does not have). A script
/// with regions but no target is refused with the flags to give.
#[test]
fn recipe_files_run_directly_get_defaults_and_regions() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = write_temp(
        "params.gp",
        "// @param $1 TIMES=3 how many\n// @param $2 WHAT=x the label\nBEGIN { printf(\"%d %s\\n\", $1, str($2)); exit(); }\n",
    );
    let out = gprobe()
        .args(["--check", "-d", "ast"])
        .arg(&script)
        .output()
        .expect("run gprobe");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains('3') && stdout.contains("\"x\""), "{stdout}");

    let regions = write_temp(
        "regions.gp",
        "// @if go >= 1.21\nBEGIN { exit(); }\n// @end\n",
    );
    let out = gprobe()
        .arg("--check")
        .arg(&regions)
        .output()
        .expect("run gprobe");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("`// @if` regions") && stderr.contains("-p PID or -c CMD"),
        "{stderr}"
    );

    let Some(dir) = srv_dir() else { return };
    for recipe in ["http-latency", "alloc-hotspots", "goroutine-block"] {
        let out = gprobe()
            .current_dir(&dir)
            .args(["--check", "-c", "./srv"])
            .arg(root.join(format!("stdlib/{recipe}.gp")))
            .output()
            .expect("run gprobe");
        assert!(
            out.status.success(),
            "{recipe}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `-l -v` on Go functions shows each parameter and result with its Go type, from DWARF, or
/// from the built-in table when the binary is stripped; a short note when it is unknown.
#[test]
fn listing_go_functions_verbosely_shows_their_signatures() {
    if !support::toolchain_available("1.19") {
        return;
    }
    let work = support::go_target("work", "1.19", &[]);
    let stripped = support::go_program("examples/shop", "1.19", &["-ldflags=-s -w"]);
    let list = |binary: &Path, function: &str| {
        let out = gprobe()
            .args(["-l", "-v"])
            .arg(format!("uprobe:{}:{function}", binary.display()))
            .output()
            .expect("run gprobe");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let work_name = work.display();
    assert_eq!(
        list(&work, "main.w*"),
        format!(
            "uprobe:{work_name}:main.work\n    args.id int64\n    args.name string\n    \
             ret.r0 int64\n    ret.r1 error\n"
        )
    );
    let shop_name = stripped.display();
    assert_eq!(
        list(&stripped, "net/http.serverHandler.ServeHTTP"),
        format!(
            "uprobe:{shop_name}:net/http.serverHandler.ServeHTTP\n    args.sh *net/http.Server\n    \
             args.rw net/http.ResponseWriter\n    args.req *net/http.Request\n"
        )
    );
    assert_eq!(
        list(&stripped, "main.main"),
        format!(
            "uprobe:{shop_name}:main.main\n    (signature unknown: no DWARF, and not in gprobe's table)\n"
        )
    );
    // Without -v, names only.
    let out = gprobe()
        .arg("-l")
        .arg(format!("uprobe:{work_name}:main.w*"))
        .output()
        .expect("run gprobe");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("uprobe:{work_name}:main.work\n")
    );
}

/// Runs an executable script by its `#!` line, retrying while another test thread's fork
/// still holds the just-written file open for writing (ETXTBSY).
fn exec_script(path: &Path) -> std::process::Output {
    for _ in 0..50 {
        match Command::new(path).output() {
            Err(e) if e.raw_os_error() == Some(26) => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            other => return other.expect("run the script"),
        }
    }
    panic!("{} stayed busy (ETXTBSY)", path.display());
}

/// A `#!` first line is skipped: a script whose shebang names gprobe runs directly, and a
/// bpftrace tool (`#!/usr/bin/env bpftrace`) passes `--check`.
#[test]
fn shebang_scripts_run_directly_and_bpftrace_tools_check() {
    use std::os::unix::fs::PermissionsExt;
    let script = write_temp(
        "shebang.gp",
        &format!(
            "#!{} --check\nBEGIN {{ printf(\"hi\\n\"); exit(); }}\n",
            env!("CARGO_BIN_EXE_gprobe")
        ),
    );
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let out = exec_script(&script);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let tool = write_temp(
        "tool.bt",
        "#!/usr/bin/env bpftrace\n// counts\ntracepoint:syscalls:sys_enter_openat { @[comm] = count(); }\n",
    );
    let out = gprobe()
        .arg("--check")
        .arg(&tool)
        .output()
        .expect("run gprobe");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Spans after the skipped line keep their line numbers.
    let bad = write_temp("bad.bt", "#!/usr/bin/env bpftrace\nBEGIN { nsec }\n");
    let out = gprobe()
        .arg("--check")
        .arg(&bad)
        .output()
        .expect("run gprobe");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("bad.bt:2:9"), "{stderr}");
}

/// `-` as the file reads the program from stdin; diagnostics call it `<stdin>`.
#[test]
fn dash_reads_the_program_from_stdin() {
    use std::io::Write;
    let check = |program: &str| {
        let mut child = gprobe()
            .args(["--check", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn gprobe");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(program.as_bytes())
            .expect("write the program");
        child.wait_with_output().expect("wait for gprobe")
    };
    let out = check("#!/usr/bin/env bpftrace\nBEGIN { printf(\"hi\\n\"); exit(); }\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = check("BEGIN { nsec }");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("<stdin>:1:9") && stderr.contains("1 error(s) in <stdin>"),
        "{stderr}"
    );
}

/// `--exe` and `--cgroup` limit node-wide work: with a `-p`/`-c` target they mean nothing, and
/// clap says so.
#[test]
fn node_wide_limits_refuse_a_target() {
    for args in [
        ["--exe", "/srv/*", "-p", "1"],
        ["--cgroup", "kubepods", "-c", "true"],
    ] {
        let out = gprobe()
            .args(args)
            .args(["-e", "BEGIN { exit(); }"])
            .output()
            .expect("run gprobe");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("cannot be used with"), "{stderr}");
    }
}

/// A recipe traces one Go program: several pids are refused with one line that says so.
#[test]
fn recipes_take_one_pid() {
    let own = std::process::id().to_string();
    let out = gprobe()
        .args(["--recipe", "gc-pauses", "-p", &format!("1,{own}")])
        .output()
        .expect("run gprobe");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "gprobe: error: a recipe traces one Go program, and -p 1,{own} names several: give one pid\n"
        )
    );
    let out = gprobe()
        .args([
            "-p",
            &format!("1,{own}"),
            "-c",
            "true",
            "-e",
            "BEGIN { exit(); }",
        ])
        .output()
        .expect("run gprobe");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot be combined with -c"), "{stderr}");
}

/// A bad `-p` gets one clear line, before anything is compiled: not a number, out of the
/// pid range, or no such process (not "binary not found: /proc/PID/exe").
#[test]
fn bad_pids_are_refused_plainly() {
    let absent = (1u32 << 22) - 7;
    assert!(!Path::new(&format!("/proc/{absent}")).exists());
    let absent = absent.to_string();
    let in_list = format!("1,{absent}");
    for (pid, expected) in [
        ("abc", "a process id is a decimal number"),
        ("0", "process ids start at 1"),
        ("99999999", "process ids are at most 4194304"),
        (absent.as_str(), "no such process"),
        // Comma lists: the item at fault is named.
        (
            "12,,x",
            "item 2 is empty: give process ids separated by single commas",
        ),
        ("1,x", "item 2 (`x`): a process id is a decimal number"),
        ("1,0", "item 2 (`0`): process ids start at 1"),
        ("1,", "item 2 is empty"),
        (in_list.as_str(), "no such process"),
    ] {
        for program in ["BEGIN { exit(); }", "uprobe:main.main { exit(); }"] {
            let out = gprobe()
                .args(["-p", pid, "-e", program])
                .output()
                .expect("run gprobe");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "-p {pid}: {stderr}");
            assert!(stderr.contains(expected), "-p {pid}: {stderr}");
            assert_eq!(
                stderr.matches("error").count(),
                1,
                "-p {pid}: one diagnostic: {stderr}"
            );
            assert!(!stderr.contains("/exe"), "-p {pid}: {stderr}");
        }
    }
}

/// Every output file is proven writable before anything attaches: a path in a directory
/// that does not exist fails at once, with the path and the reason (no errno number).
#[test]
fn output_paths_are_checked_before_attaching() {
    let missing = std::env::temp_dir().join(format!("gprobe-no-such-dir-{}", std::process::id()));
    let program = "profile:hz:99 { @[kstack] = count(); exit(); }";
    for flag in ["-o", "--flamegraph", "--folded", "--pprof"] {
        let path = missing.join("out");
        let out = gprobe()
            .arg(flag)
            .arg(&path)
            .args(["-e", program])
            .output()
            .expect("run gprobe");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{flag}: {stderr}");
        assert!(
            stderr.contains(&format!("{}: No such file or directory", path.display()))
                && !stderr.contains("os error"),
            "{flag}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{flag}: nothing attached");
    }
    assert!(!missing.exists());
}

/// A kprobe script compiles everywhere; on a kernel without kprobes (this VM: CONFIG_KPROBES is
/// not set) `--check` passes with one warning naming the option, and a run is refused with the
/// same diagnostic as an error before anything attaches. Where the kernel has kprobes, the run
/// traces.
#[test]
fn kprobes_check_everywhere_and_refuse_to_run_without_kernel_support() {
    let script = write_temp(
        "vfs.bt",
        "kprobe:vfs_read { @reads[func] = count(); }\nkretprobe:vfs_read { @bytes = hist(retval); }\ninterval:ms:200 { exit(); }\n",
    );
    let check = gprobe()
        .arg("--check")
        .arg(&script)
        .output()
        .expect("run gprobe");
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(check.status.success(), "{stderr}");
    let has_kprobes = Path::new("/sys/bus/event_source/devices/kprobe").exists();
    if has_kprobes {
        assert!(!stderr.contains("warning"), "{stderr}");
    } else {
        assert!(
            stderr.contains("warning[E0401]: kprobes cannot attach on this kernel")
                && stderr.contains("CONFIG_KPROBES")
                && stderr.contains("vfs.bt:1:1"),
            "{stderr}"
        );
    }
    let is_root = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    if !is_root || has_kprobes {
        return; // a run that attaches is e2e's business
    }
    let run = gprobe().arg(&script).output().expect("run gprobe");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("error[E0401]: kprobes cannot attach on this kernel")
            && stderr.contains("error[E0401]: kretprobes cannot attach")
            && !String::from_utf8_lossy(&run.stdout).contains("Attaching"),
        "{stderr}"
    );
}
