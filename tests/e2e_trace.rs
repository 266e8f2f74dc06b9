//! End-to-end: real programs in the real kernel against real Go processes, checked against
//! ground truth (the target's own call counts) and against bpftrace 0.17 on the same script.

mod support;

use std::time::Duration;
use support::*;

const LIMIT: Duration = Duration::from_secs(60);

/// `main.work` is called exactly `-n` times: the uprobe count must equal it, on every Go version
/// of the matrix, stripped or not, and the target must finish normally.
#[test]
fn uprobe_counts_every_call_of_a_go_function() {
    if !e2e_ready() {
        return;
    }
    for version in GO_MATRIX {
        if !toolchain_available(version) {
            continue;
        }
        for flags in [&[][..], &["-ldflags=-s -w"][..]] {
            let bin = go_target("work", version, flags);
            let bin = bin.to_str().unwrap();
            let _k = kernel_lock();
            let prog = format!("uprobe:{bin}:main.work {{ @calls = count(); }}");
            let cmd = format!("{bin} -n 1234 -q");
            let out = run_gprobe(&["-e", &prog, "-c", &cmd], LIMIT);
            let stdout = text(&out.stdout);
            assert!(
                out.status.success(),
                "Go {version} {flags:?}: gprobe failed: {}\n{stdout}",
                text(&out.stderr)
            );
            assert!(
                stdout.contains("@calls: 1234\n"),
                "Go {version} {flags:?}: expected 1234 calls in:\n{stdout}"
            );
            assert_no_gprobe_programs();
        }
    }
}

/// A Go program creates a marker file, then opens it K times: `sys_enter_openat` keyed by
/// filename shows K + 1 for it.
#[test]
fn tracepoint_counts_openat_by_filename() {
    if !e2e_ready() {
        return;
    }
    let bin = go_target("opener", "1.19", &[]);
    let marker = format!("/tmp/gprobe-opener-{}", std::process::id());
    let _k = kernel_lock();
    let prog = r#"tracepoint:syscalls:sys_enter_openat /comm == "opener-1.19"/ { @opens[str(args.filename)] = count(); }"#;
    let cmd = format!("{} -n 17 -path {marker}", bin.display());
    let out = run_gprobe(&["-e", prog, "-c", &cmd], LIMIT);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "gprobe failed: {}\n{stdout}",
        text(&out.stderr)
    );
    // 17 opens plus the one `os.WriteFile` makes to create the marker.
    assert!(
        stdout.contains(&format!("@opens[{marker}]: 18\n")),
        "expected 18 opens of {marker} in:\n{stdout}"
    );
    assert_no_gprobe_programs();
    let _ = std::fs::remove_file(marker);
}

/// printf events reach userspace formatted like bpftrace's, in order.
#[test]
fn printf_from_begin_and_exit() {
    if !e2e_ready() {
        return;
    }
    let _k = kernel_lock();
    let out = run_gprobe(
        &[
            "-e",
            r#"BEGIN { printf("hello %s %d %5d|%-4s|%x\n", "gprobe", -3, 42, "ab", 255); exit(); }"#,
        ],
        LIMIT,
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "gprobe failed: {}", text(&out.stderr));
    assert!(
        stdout.contains("hello gprobe -3    42|ab  |ff\n"),
        "got:\n{stdout}"
    );
    assert_no_gprobe_programs();
}

/// The map section of the output is byte-for-byte what bpftrace 0.17 prints for the same script.
#[test]
fn map_output_matches_bpftrace() {
    if !e2e_ready() {
        return;
    }
    let script = r#"BEGIN {
        @c = count(); @c = count(); @c = count();
        @s["a"] = sum(5); @s["b"] = sum(7); @s["a"] = sum(10);
        @avg = avg(10); @avg = avg(20); @avg = avg(40);
        @mn = min(7); @mn = min(-3); @mx = max(7); @mx = max(70);
        @st = stats(1); @st = stats(2); @st = stats(9);
        @h = hist(0); @h = hist(1); @h = hist(3); @h = hist(1000); @h = hist(1000); @h = hist(1200000); @h = hist(-5);
        @l = lhist(3, 0, 100, 10); @l = lhist(55, 0, 100, 10); @l = lhist(150, 0, 100, 10); @l = lhist(-1, 0, 100, 10);
        @k[1, "x"] = count(); @k[2, "y"] = count(); @k[2, "y"] = count();
        @v = 42; @str = "text";
        exit();
    }"#;
    let _k = kernel_lock();
    let ours = gprobe_ok(&["-e", script], LIMIT);
    let theirs = bpftrace_ok(&["-e", script]);
    assert_eq!(maps_section(&ours), maps_section(&theirs));
    assert_no_gprobe_programs();
}

/// `delete(@h[key])` on a `hist`/`lhist` map removes that key with all its buckets, leaving the
/// other keys. On one bucket per key the output equals bpftrace 0.17's; with several buckets
/// per key, or on a map without keys, bpftrace 0.17 deletes at most one bucket (its delete key
/// carries whatever bucket index was last on the stack), so there the output is checked as is.
#[test]
fn delete_of_a_histogram_key_removes_all_its_buckets() {
    if !e2e_ready() {
        return;
    }
    let _k = kernel_lock();
    let simple = "BEGIN { @h[1] = hist(5); @h[2] = hist(7); delete(@h[1]); exit(); }";
    let ours = maps_section(&gprobe_ok(&["-e", simple], LIMIT));
    assert_eq!(ours, maps_section(&bpftrace_ok(&["-e", simple])));
    assert!(
        ours.contains("@h[2]:") && !ours.contains("@h[1]"),
        "got:\n{ours}"
    );

    let script = r#"BEGIN {
        @h[1] = hist(5); @h[1] = hist(-3); @h[1] = hist(1 << 40); @h[2] = hist(7);
        @l[1, "a"] = lhist(5, 0, 10, 1); @l[2, "b"] = lhist(3, 0, 10, 1); @l[2, "b"] = lhist(99, 0, 10, 1);
        @s = hist(4); @t = lhist(4, 0, 10, 2); @u = hist(1);
        delete(@h[1]); delete(@l[2, "b"]); delete(@s); delete(@t); delete(@h[9]);
        exit();
    }"#;
    let bar = "@".repeat(52);
    let expected = format!(
        "\n\n@h[2]: \n[4, 8)                 1 |{bar}|\n\n\
         @l[1, a]: \n[5, 6)                 1 |{bar}|\n\n\
         @u: \n[1]                    1 |{bar}|\n"
    );
    assert_eq!(maps_section(&gprobe_ok(&["-e", script], LIMIT)), expected);
    assert_no_gprobe_programs();
}

/// Strings of different lengths stored in one map, key or variable take the widest size (as
/// bpftrace's string types do): a longer string written later is neither cut nor written past
/// its slot. Output equals bpftrace's, printf line included.
#[test]
fn mixed_string_sizes_match_bpftrace() {
    if !e2e_ready() {
        return;
    }
    let script = r#"BEGIN {
        @s = "a"; @s = "longer string";
        $v = "ab"; $v = "much longer"; printf("%s|%s\n", $v, 1 ? "t" : "ffffffffffff");
        @k["x"] = 1; @k["a much longer key"] = 2;
        $t = 1; @w[$t ? "short" : "a longer one"] = 3; @y = $t ? "y" : "zzzzzzzzzzzzzzzz";
        @t = ("a", 1); @t = ("bbbbbbbbbbbbb", 2);
        $x = ("c", 3); $x = ("dddddddddddd", 4); @u = $x;
        @m[(uint64)1] = "one"; @m[(uint64)2] = "twotwotwotwotwo";
        exit();
    }"#;
    let _k = kernel_lock();
    let ours = maps_section(&gprobe_ok(&["-e", script], LIMIT));
    let theirs = bpftrace_ok(&["-e", script]);
    assert!(ours.contains("@s: longer string\n"), "got:\n{ours}");
    assert_eq!(ours, maps_section(&theirs));
    assert_no_gprobe_programs();
}

/// Tuples read back as bpftrace 0.17 reads them: a map element into a variable (zeros when
/// missing), `.N` on variables, map elements, literals and nested tuples, in printf, map keys
/// and values and conditions. The whole stdout equals bpftrace's, byte for byte.
#[test]
fn tuple_fields_match_bpftrace() {
    if !e2e_ready() {
        return;
    }
    let script = r#"BEGIN {
        @m[1] = (2, "b"); @m[2] = (-3, "longer");
        $t = @m[1];
        printf("%d %s\n", $t.0, $t.1);
        @x[$t.1] = count();
        if ($t.0 == 2 && $t.1 == "b") { printf("match\n"); }
        if (@m[2].0 < 0) { printf("%d %s %d\n", @m[2].0, @m[2].1, (7, "lit").0); }
        @v[@m[2].1, @m[1].0] = @m[2];
        $n = ((1, "x"), 5); @n = $n.0;
        printf("%s %d\n", $n.0.1, $n.1 + $n.0.0);
        $missing = @m[9];
        printf("%d [%s]\n", $missing.0, $missing.1);
        exit();
    }"#;
    let _k = kernel_lock();
    let ours = gprobe_ok(&["-e", script], LIMIT);
    let theirs = bpftrace_ok(&["-e", script]);
    assert!(ours.contains("2 b\nmatch\n"), "got:\n{ours}");
    assert_eq!(ours, theirs);
    assert_no_gprobe_programs();
}

/// `strftime()` keeps the kernel time and formats it in user space as wall-clock time: the
/// Unix time it prints (`%s.%f`) lies between the clock read before and after the run, and a
/// timestamp stored in a variable, a map key and a map value prints with its own format.
#[test]
fn strftime_prints_wall_clock_time() {
    if !e2e_ready() {
        return;
    }
    let script = r#"BEGIN {
        printf("unix %s\n", strftime("%s.%f", nsecs));
        $t = strftime("%Y", nsecs); printf("year %s\n", $t);
        @k[strftime("%Y", nsecs)] = count(); @v = strftime("%%Y %Y", nsecs);
        exit();
    }"#;
    let unix_now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
    };
    let _k = kernel_lock();
    let before = unix_now();
    let out = run_gprobe(&["-e", script], LIMIT);
    let after = unix_now();
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "gprobe failed: {}", text(&out.stderr));
    let line = |prefix: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no `{prefix}` line in:\n{stdout}"))
            .to_string()
    };
    let unix = line("unix ");
    let (secs, micros) = unix.split_once('.').expect("%s.%f");
    assert_eq!(micros.len(), 6, "{unix}");
    let printed: f64 = unix.parse().expect("a number");
    // The probe ran inside the run; %s truncates to whole seconds.
    assert!(
        before.floor() <= printed && printed <= after,
        "{before} <= {printed} <= {after}"
    );
    let year = line("year ");
    let year_of = |secs: &str| {
        let out = std::process::Command::new("date")
            .args(["-d", &format!("@{secs}"), "+%Y"])
            .output()
            .expect("run date");
        text(&out.stdout).trim().to_string()
    };
    assert_eq!(year, year_of(secs));
    assert!(stdout.contains(&format!("@k[{year}]: 1\n")), "{stdout}");
    assert!(stdout.contains(&format!("@v: %Y {year}\n")), "{stdout}");
    assert_no_gprobe_programs();
}

/// Drops bpftrace's "Attaching N probes..." banner; what follows is the maps printed at exit.
fn maps_section(stdout: &str) -> String {
    stdout
        .lines()
        .filter(|l| !l.starts_with("Attaching "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `buf(p, n)` reads exactly n bytes of a Go string's data (no NUL needed) and prints them with
/// bpftrace's `%r`; it is also usable as a map key.
#[test]
fn buf_reads_raw_bytes() {
    if !e2e_ready() {
        return;
    }
    let bin = go_target("work", "1.19", &[]);
    let bin = bin.to_str().unwrap();
    let _k = kernel_lock();
    // In Go's register ABI `name`'s data pointer is the second integer register (arg1).
    let prog = format!(
        r#"uprobe:{bin}:main.work {{ printf("[%r]\n", buf(arg1, 5)); @names[buf(arg1, 5)] = count(); }}"#
    );
    let cmd = format!("{bin} -n 2 -q");
    let out = run_gprobe(&["-e", &prog, "-c", &cmd], LIMIT);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "gprobe failed: {}", text(&out.stderr));
    for line in [
        "[job-1]\n",
        "[job-2]\n",
        "@names[job-1]: 1\n",
        "@names[job-2]: 1\n",
    ] {
        assert!(stdout.contains(line), "expected {line:?} in:\n{stdout}");
    }
    assert_no_gprobe_programs();
}

/// bpftrace's opensnoop shape: one block over `sys_enter_open` and `sys_enter_openat` reading
/// `args->filename` (at different offsets in the two formats), and a tracepoint wildcard keyed by
/// `probe`. The Go opener's opens of its marker are counted exactly, and the wildcard's keys are
/// the full tracepoint names bpftrace prints, for the same program under both tools.
#[test]
fn tracepoint_lists_and_wildcards_read_each_format() {
    if !e2e_ready() {
        return;
    }
    let bin = go_target("opener", "1.19", &[]);
    let marker = format!("/tmp/gprobe-opensnoop-{}", std::process::id());
    let _k = kernel_lock();
    let prog = r#"tracepoint:syscalls:sys_enter_open,
        tracepoint:syscalls:sys_enter_openat
        /comm == "opener-1.19"/ { @opens[str(args->filename)] = count(); }
        tracepoint:syscalls:sys_enter_open* /comm == "opener-1.19"/ { @by[probe] = count(); }"#;
    let cmd = format!("{} -n 9 -path {marker}", bin.display());
    let out = run_gprobe(&["-e", prog, "-c", &cmd], LIMIT);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}\n{stdout}", text(&out.stderr));
    assert!(
        stdout.contains(&format!("@opens[{marker}]: 10\n")),
        "expected 10 opens of {marker} in:\n{stdout}"
    );
    let ours: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("@by[") && l.contains("sys_enter_open"))
        .map(|l| l.split(']').next().unwrap_or(""))
        .collect();
    // bpftrace 0.17 fails to load the list's block here (its `str(args->filename)` on
    // `sys_enter_open`), so the wildcard alone is compared: as many programs as bpftrace
    // attaches (each tracepoint it matches), and the same keys.
    let wildcard = prog.lines().last().unwrap_or("").trim();
    let theirs = bpftrace_ok(&["-e", wildcard, "-c", &cmd]);
    let alone = gprobe_ok(&["-e", wildcard, "-c", &cmd], LIMIT);
    let banner = |out: &str| {
        out.lines()
            .find(|l| l.starts_with("Attaching"))
            .map(String::from)
    };
    assert_eq!(
        banner(&alone),
        banner(&theirs),
        "gprobe:\n{alone}\nbpftrace:\n{theirs}"
    );
    let theirs: Vec<&str> = theirs
        .lines()
        .filter(|l| l.starts_with("@by["))
        .map(|l| l.split(']').next().unwrap_or(""))
        .collect();
    assert_eq!(ours, theirs, "gprobe:\n{stdout}");
    assert!(
        ours.contains(&"@by[tracepoint:syscalls:sys_enter_openat"),
        "{stdout}"
    );
    assert_no_gprobe_programs();
    let _ = std::fs::remove_file(marker);
}

/// A script with bpftrace's preprocessor lines runs as bpftrace runs it: `#include
/// <sys/socket.h>` gives `AF_INET6`, `#ifndef BPFTRACE_HAVE_BTF` drops out, a function-like
/// macro expands (bpftrace 0.17 has none: compared by value), positional parameters fill an
/// attach point and `unroll`, and an octal and a `1e6` literal fold as in C.
#[test]
fn preprocessor_and_positional_parameters_run() {
    if !e2e_ready() {
        return;
    }
    let script = "#include <sys/socket.h>\n#define TWICE(x) ((x) * 2)\n#define BASE 0775\n\
        #ifndef BPFTRACE_HAVE_BTF\nstruct never { int parsed; }\n#endif\n\
        BEG$1 { $i = 0; unroll($2) { $i++; } printf(\"%d %d %d %d %d\\n\", AF_INET6, TWICE(BASE), 1e6, $i, $3); exit(); }\n";
    let path = std::env::temp_dir().join(format!("gprobe-pp-{}.bt", std::process::id()));
    std::fs::write(&path, script).unwrap();
    let _k = kernel_lock();
    let out = gprobe_ok(&[path.to_str().unwrap(), "IN", "3"], LIMIT);
    assert!(out.contains("10 1018 1000000 3 0\n"), "{out}");
    let _ = std::fs::remove_file(path);
}
