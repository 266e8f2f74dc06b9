//! Bad inputs, each answered with an exact, clear message by the real `gprobe` binary: no
//! panic, no raw errno without context, nothing left behind.

mod support;

use std::process::{Command, Output, Stdio};
use std::time::Duration;
use support::*;

const LIMIT: Duration = Duration::from_secs(60);

fn gprobe(args: &[&str]) -> (Output, String, String) {
    let out = run_gprobe(args, LIMIT);
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    (out, stdout, stderr)
}

/// Fails (with both streams shown) unless gprobe exited 1 and stderr contains every line.
fn assert_error(out: &Output, stderr: &str, expected: &[&str]) {
    assert_eq!(out.status.code(), Some(1), "exit status; stderr:\n{stderr}");
    for line in expected {
        assert!(
            stderr.contains(line),
            "expected {line:?} in stderr:\n{stderr}"
        );
    }
    assert!(!stderr.contains("panicked"), "panic:\n{stderr}");
}

fn work_binary() -> String {
    go_target("work", "1.19", &[]).display().to_string()
}

#[test]
fn not_root() {
    if !e2e_ready() {
        return;
    }
    let out = Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        .arg(gprobe_bin())
        .args(["-e", "BEGIN { exit(); }"])
        .stdin(Stdio::null())
        .output()
        .expect("run setpriv");
    let stderr = text(&out.stderr);
    assert_error(
        &out,
        &stderr,
        &[
            "gprobe: error: gprobe needs root (or CAP_BPF and CAP_PERFMON) to load eBPF programs\n",
            "  = help: run gprobe as root, e.g. `sudo gprobe ...`\n",
        ],
    );
}

#[test]
fn root_without_cap_bpf() {
    if !e2e_ready() {
        return;
    }
    // Root, but with CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN dropped from the bounding set.
    let out = Command::new("capsh")
        .args(["--drop=cap_bpf,cap_perfmon,cap_sys_admin", "--"])
        .arg("-c")
        .arg(format!(
            "{} -e 'BEGIN {{ exit(); }}'",
            gprobe_bin().display()
        ))
        .stdin(Stdio::null())
        .output()
        .expect("run capsh");
    let stderr = text(&out.stderr);
    assert_error(
        &out,
        &stderr,
        &[
            "gprobe: error: gprobe needs root (or CAP_BPF and CAP_PERFMON) to load eBPF programs\n",
            "  = help: gprobe runs as root here but without CAP_BPF/CAP_PERFMON (dropped capabilities?)\n",
        ],
    );
}

#[test]
fn binary_missing() {
    if !e2e_ready() {
        return;
    }
    let _k = kernel_lock();
    let (out, _, stderr) = gprobe(&["-e", "uprobe:/nonexistent/srv:main.work { @c = count(); }"]);
    assert_error(
        &out,
        &stderr,
        &[
            "error[E0411]: binary not found: /nonexistent/srv\n",
            "1 │ uprobe:/nonexistent/srv:main.work { @c = count(); }\n",
            "^^^^^^^^^^^^^^^ uprobes cannot go into this file\n",
        ],
    );
    assert_no_gprobe_programs();
}

#[test]
fn binary_not_elf() {
    if !e2e_ready() {
        return;
    }
    let _k = kernel_lock();
    let (out, _, stderr) = gprobe(&["-e", "uprobe:/etc/passwd:main.work { @c = count(); }"]);
    assert_error(
        &out,
        &stderr,
        &[
            "error[E0411]: /etc/passwd is not an ELF executable\n",
            "^^^^^^^^^^^ uprobes cannot go into this file\n",
        ],
    );
    assert_no_gprobe_programs();
}

#[test]
fn binary_not_go() {
    if !e2e_ready() {
        return;
    }
    let _k = kernel_lock();
    let (out, _, stderr) = gprobe(&["-e", "uprobe:/bin/true:main.work { @c = count(); }"]);
    assert_error(
        &out,
        &stderr,
        &[
            "error[E0816]: /bin/true is not a Go binary (no .gopclntab), so it has no Go function `main.work`\n",
        ],
    );
    assert_no_gprobe_programs();
}

/// Go builtins on a binary that is not Go: the Go-aware checker must say so at compile time.
#[test]
fn go_builtins_on_a_binary_that_is_not_go() {
    if !e2e_ready() {
        return;
    }
    let (out, _, stderr) = gprobe(&["-e", "uprobe:/bin/true:main { @g[goid] = count(); }"]);
    assert_error(&out, &stderr, &["/bin/true is not a Go binary"]);
}

#[test]
fn binary_for_another_architecture() {
    if !e2e_ready() {
        return;
    }
    let out_path = repo_root().join("target/gotargets/work-1.19-arm64");
    if !out_path.exists() {
        let status = Command::new(repo_root().join("scripts/go-build"))
            .env("GOARCH", "arm64")
            .arg("1.19")
            .arg(repo_root().join("tests/go/work"))
            .arg(&out_path)
            .status()
            .expect("run scripts/go-build");
        assert!(status.success(), "cross-building work for arm64");
    }
    let _k = kernel_lock();
    let prog = format!(
        "uprobe:{}:main.work {{ @c = count(); }}",
        out_path.display()
    );
    let (out, _, stderr) = gprobe(&["-e", &prog]);
    assert_error(
        &out,
        &stderr,
        &[&format!(
            "error[E0411]: {} is built for arm64, but this machine is x86_64",
            out_path.display()
        )],
    );
    assert_no_gprobe_programs();
}

#[test]
fn function_missing_suggests_nearest_names() {
    if !e2e_ready() {
        return;
    }
    let bin = work_binary();
    let _k = kernel_lock();
    let prog = format!("uprobe:{bin}:main.wrok {{ @c = count(); }}");
    let (out, _, stderr) = gprobe(&["-e", &prog]);
    assert_error(
        &out,
        &stderr,
        &[
            "error[E0408]: cannot attach to `main.wrok`\n",
            "= no function `main.wrok` in this Go binary; nearest: main.work, ",
        ],
    );
    assert_no_gprobe_programs();
}

#[test]
fn pid_that_exits_during_attach() {
    if !e2e_ready() {
        return;
    }
    let bin = work_binary();
    // A child that has exited but is not reaped yet: /proc/PID still exists (a zombie) while
    // the kernel refuses to attach to it, exactly the state of a pid exiting mid-attach.
    let mut child = Command::new(&bin)
        .args(["-n", "0"])
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn work");
    let pid = child.id();
    while !std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .unwrap_or_default()
        .contains(") Z ")
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    let _k = kernel_lock();
    let prog = format!("uprobe:{bin}:main.work {{ @c = count(); }}");
    let (out, _, stderr) = gprobe(&["-p", &pid.to_string(), "-e", &prog]);
    let _ = child.wait();
    assert_error(
        &out,
        &stderr,
        &[&format!(
            "gprobe: error: process {pid} does not exist (or exited)\n"
        )],
    );
    assert_no_gprobe_programs();
}

#[test]
fn tracepoint_missing() {
    if !e2e_ready() {
        return;
    }
    let _k = kernel_lock();
    let (out, _, stderr) = gprobe(&[
        "-e",
        "tracepoint:syscalls:sys_enter_opnat { @c = count(); }",
    ]);
    assert_error(
        &out,
        &stderr,
        &["tracepoint syscalls:sys_enter_opnat not found (did you mean syscalls:sys_enter_openat"],
    );
    assert_no_gprobe_programs();
}

#[test]
fn kprobe_on_a_kernel_without_kprobes() {
    if !e2e_ready() {
        return;
    }
    let (out, _, stderr) = gprobe(&["-e", "kprobe:do_sys_openat2 { @c = count(); }"]);
    assert_error(
        &out,
        &stderr,
        &[
            "error[E0401]: kprobes cannot attach on this kernel: this kernel has no kprobes (it was built without CONFIG_KPROBES",
            "^^^^^^^^^^^^^^^^^^^^^ needs kprobes\n",
            "= help: a tracepoint often sees the same event (`gprobe -l 'tracepoint:*'`)\n",
        ],
    );
}

/// A map of 8 entries written under 20 keys: 8 entries kept and one warning. A map that only
/// grows is found full at the end; one that loses keys (`delete`) counts every dropped insert
/// in the program, since it may no longer be full at the end.
#[test]
fn map_full_warns_once() {
    if !e2e_ready() {
        return;
    }
    let _k = kernel_lock();
    let (out, stdout, stderr) = gprobe(&[
        "--map-keys-max",
        "8",
        "-e",
        "BEGIN { $i = 0; while ($i < 20) { @m[$i] = 1; $i++; } exit(); }",
    ]);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout.matches("@m[").count(), 8, "{stdout}");
    assert_eq!(
        stderr,
        "WARNING: @m reached its limit of 8 entries: new keys were dropped (raise the limit with --map-keys-max)\n"
    );
    let (out, stdout, stderr) = gprobe(&[
        "--map-keys-max",
        "8",
        "-e",
        "BEGIN { $i = 0; while ($i < 20) { @m[$i] = 1; $i++; } delete(@m[0]); exit(); }",
    ]);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout.matches("@m[").count(), 7, "{stdout}");
    assert_eq!(
        stderr,
        "WARNING: 12 map updates dropped (map full; raise the limit with --map-keys-max)\n"
    );
    assert_no_gprobe_programs();
}

/// 100 64-byte printf records into a one-page ring buffer before anything drains it: the
/// overflow (and the lost exit() record) are reported, and exit() still stops tracing.
#[test]
fn ring_buffer_overrun_reports_lost_events() {
    if !e2e_ready() {
        return;
    }
    let _k = kernel_lock();
    let (out, stdout, stderr) = gprobe(&[
        "--ring-pages",
        "1",
        "-e",
        r#"BEGIN { unroll(100) { printf("%s %s %s %s\n", comm, comm, comm, comm); } exit(); }"#,
    ]);
    assert!(out.status.success(), "{stderr}");
    let printed = stdout.lines().filter(|l| l.starts_with("gprobe")).count();
    let lost: usize = stderr
        .strip_prefix("WARNING: ")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no lost-events warning in:\n{stderr}"));
    assert!(
        stderr.ends_with(" events lost (ring buffer full; enlarge it with --ring-pages)\n"),
        "{stderr}"
    );
    // Every record is either printed or counted as lost (the +1 is exit()'s own record).
    assert!(printed > 0 && printed < 100, "{printed} printed");
    assert!(
        lost == 100 - printed + 1 || lost == 100 - printed,
        "{lost} lost, {printed} printed"
    );
    assert_no_gprobe_programs();
}

#[test]
fn verifier_rejection_points_at_the_source() {
    if !e2e_ready() {
        return;
    }
    let _k = kernel_lock();
    // Three nested loops of up to 1000 iterations each pass our checks but exceed what the
    // verifier will walk.
    let prog = "BEGIN { $i = 0; while ($i < 1000) { $j = 0; while ($j < 1000) { $k = 0; while ($k < 1000) { @x = @x + 1; $k++; } $j++; } $i++; } exit(); }";
    let (out, _, stderr) = gprobe(&["-e", prog]);
    assert_error(
        &out,
        &stderr,
        &[
            "error[E0808]: the kernel's verifier rejected BEGIN: ",
            "comes from here",
            "= help: run with -v to see the kernel's whole verifier log",
        ],
    );
    // The caret line underlines a part of the innermost loop.
    let carets = stderr
        .lines()
        .find(|l| l.contains("comes from here"))
        .unwrap_or_default();
    let column = carets.find('^').unwrap_or(0);
    let source_line = stderr
        .lines()
        .find(|l| l.starts_with("1 │ "))
        .unwrap_or_default();
    assert!(
        source_line
            .get(column..)
            .is_some_and(|s| s.starts_with("@x")
                || s.starts_with("$k")
                || s.starts_with("while ($k")),
        "span does not point into the innermost loop:\n{stderr}"
    );
    assert_no_gprobe_programs();
}

#[test]
fn program_too_large_is_refused_before_register_allocation() {
    let (out, _, stderr) = gprobe(&[
        "--check",
        "-e",
        "BEGIN { unroll(100) { unroll(100) { unroll(10) { @x = @x + 1; } } } }",
    ]);
    assert_error(
        &out,
        &stderr,
        &[
            "error[E0703]: this probe compiles to ",
            "gprobe accepts at most 20000",
        ],
    );
}

#[test]
fn output_file_unwritable() {
    let (out, _, stderr) = gprobe(&[
        "-e",
        "BEGIN { exit(); }",
        "--emit",
        "obj",
        "-o",
        "/nonexistent/x.o",
    ]);
    assert_error(
        &out,
        &stderr,
        &["gprobe: error: cannot write /nonexistent/x.o: No such file or directory"],
    );
}

#[test]
fn stdout_unwritable() {
    if !e2e_ready() {
        return;
    }
    let _k = kernel_lock();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("open /dev/full");
    let out = Command::new(gprobe_bin())
        .args(["-e", r#"BEGIN { printf("hello\n"); exit(); }"#])
        .stdin(Stdio::null())
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .expect("run gprobe");
    let stderr = text(&out.stderr);
    assert_error(
        &out,
        &stderr,
        &["gprobe: error: writing output failed: No space left on device"],
    );
    assert_no_gprobe_programs();
}
