//! End-to-end: the bpftrace builtins gprobe adds (issue 13), each script run by gprobe and by
//! bpftrace 0.17 on the same machine and compared line for line. BEGIN-only scripts, so the
//! events are the same; `join` runs on execve events of a command the test starts.

mod support;

use std::process::Command;
use std::time::Duration;
use support::*;

const LIMIT: Duration = Duration::from_secs(60);

/// Output after the "Attaching" banner.
fn body(out: &str) -> String {
    out.lines()
        .filter(|l| !l.starts_with("Attaching"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn same_as_bpftrace(script: &str) -> String {
    same_as_bpftrace_with(&[], script)
}

fn same_as_bpftrace_with(flags: &[&str], script: &str) -> String {
    let _k = kernel_lock();
    let args: Vec<&str> = flags.iter().copied().chain(["-e", script]).collect();
    let ours = body(&gprobe_ok(&args, LIMIT));
    let theirs = body(&bpftrace_ok(&args));
    assert_eq!(ours, theirs, "gprobe (left) and bpftrace (right) differ");
    ours
}

#[test]
fn rendered_and_computed_builtins_print_as_bpftrace() {
    if !e2e_ready() {
        return;
    }
    let out = same_as_bpftrace(
        r#"BEGIN {
            printf("%s|%s|%s|%s|%s\n", ntop(0x0100007f), ntop(2, 0x0a00a8c0), strerror(2), strerror(13), username);
            printf("%d %d %d %d\n", bswap((uint32)1), bswap((uint16)0x1234), bswap((uint8)7), bswap((uint32)0x01020304));
            printf("%d %d %d\n", strncmp("hello", "help", 3), strncmp("hello", "help", 4), strncmp("ab", "ab", 8));
            print(numaid); print(cgroup);
            exit();
        }"#,
    );
    assert!(
        out.contains("127.0.0.1|192.168.0.10|No such file or directory|Permission denied|root"),
        "{out}"
    );
    assert!(out.contains("16777216 13330 7 67305985"), "{out}");
}

#[test]
fn print_of_values_and_exit_ending_the_body() {
    if !e2e_ready() {
        return;
    }
    let out = same_as_bpftrace(
        r#"BEGIN { print(5); print("text"); print((1, "two", -3)); $x = bswap((uint16)1); print($x); exit(); printf("never\n"); }"#,
    );
    assert!(
        out.contains("(1, two, -3)") && !out.contains("never"),
        "{out}"
    );
}

/// A keyless count() prints `@x: 0` once cleared or zeroed, as bpftrace's does.
#[test]
fn cleared_count_prints_zero() {
    if !e2e_ready() {
        return;
    }
    let out = same_as_bpftrace_maps(
        "BEGIN { @x = count(); clear(@x); @y = count(); zero(@y); @z[1] = count(); zero(@z); exit(); }",
    );
    assert!(
        out.contains("@x: 0") && out.contains("@y: 0") && out.contains("@z[1]: 0"),
        "{out}"
    );
}

/// The map lines (bpftrace also prints a blank line for each empty map, which gprobe leaves out).
fn same_as_bpftrace_maps(script: &str) -> String {
    let _k = kernel_lock();
    let lines = |s: &str| {
        s.lines()
            .filter(|l| l.starts_with('@'))
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let ours = lines(&gprobe_ok(&["-e", script], LIMIT));
    assert_eq!(ours, lines(&bpftrace_ok(&["-e", script])));
    ours.join("\n")
}

/// Every non-blank line after the banner, with `flags` (e.g. `-c CMD`) given to both tools;
/// the map lines sorted (elements of equal value print in either tool's hash order).
fn same_as_bpftrace_maps_with(flags: &[&str], script: &str) -> String {
    let _k = kernel_lock();
    let lines = |s: &str| {
        let (mut maps, mut rest): (Vec<String>, Vec<String>) = body(s)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(String::from)
            .partition(|l| l.starts_with('@'));
        maps.sort();
        rest.extend(maps);
        rest
    };
    let args: Vec<&str> = flags.iter().copied().chain(["-e", script]).collect();
    let ours = lines(&gprobe_ok(&args, LIMIT));
    assert_eq!(
        ours,
        lines(&bpftrace_ok(&args)),
        "gprobe (left), bpftrace (right)"
    );
    ours.join("\n")
}

/// `join(args->argv)` prints a command line as exec'd (Debian's execsnoop.bt), with its
/// delimiter; bpftrace prints the same lines for the same exec.
#[test]
fn join_prints_execve_argv() {
    if !e2e_ready() {
        return;
    }
    let _k = kernel_lock();
    let script = r#"tracepoint:syscalls:sys_enter_execve /str(args->filename) == "/bin/echo"/ { join(args->argv); join(args->argv, ","); }"#;
    let run = |tracer_out: String| tracer_out;
    let tracer = Tracer::start(&["-e", script]);
    Command::new("/bin/echo")
        .args(["gprobe-join", "a b", "c"])
        .output()
        .expect("run echo");
    std::thread::sleep(Duration::from_millis(500));
    let ours = run(tracer.stop());
    assert!(ours.contains("/bin/echo gprobe-join a b c"), "{ours}");
    assert!(ours.contains("/bin/echo,gprobe-join,a b,c"), "{ours}");
    // bpftrace on the same exec.
    let mut bt = Command::new("bpftrace")
        .args(["-e", script])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start bpftrace");
    let lines = line_channel(bt.stdout.take().expect("stdout"));
    let banner = lines
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_default();
    assert!(banner.starts_with("Attaching"), "bpftrace: {banner}");
    // bpftrace prints its banner before it attaches.
    std::thread::sleep(Duration::from_millis(2500));
    Command::new("/bin/echo")
        .args(["gprobe-join", "a b", "c"])
        .output()
        .expect("run echo");
    std::thread::sleep(Duration::from_millis(500));
    let _ = Command::new("kill")
        .args(["-INT", &bt.id().to_string()])
        .status();
    let _ = wait_with_limit(bt, LIMIT);
    let theirs: Vec<String> = lines.iter().filter(|l| !l.is_empty()).collect();
    let ours: Vec<&str> = ours.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(ours, theirs);
}

/// `signal()` needs --unsafe; with it, the probed process gets the signal.
#[test]
fn signal_needs_unsafe_and_is_sent() {
    if !e2e_ready() {
        return;
    }
    let refused = run_gprobe(
        &[
            "--check",
            "-e",
            r#"tracepoint:syscalls:sys_enter_nanosleep { signal("KILL"); }"#,
        ],
        LIMIT,
    );
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("needs --unsafe"),
        "{}",
        text(&refused.stderr)
    );
    let _k = kernel_lock();
    // A copy of sleep with a name nothing else on the machine has, started after attaching.
    let dir = std::env::temp_dir().join(format!("gprobe-signal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let exe = dir.join("gp_sigtest");
    copy_executable("/bin/sleep", &exe);
    let script = r#"tracepoint:syscalls:sys_enter_clock_nanosleep /comm == "gp_sigtest"/ { signal("SIGKILL"); exit(); }"#;
    let tracer = Tracer::start(&["--unsafe", "-e", script]);
    let status = Command::new(&exe)
        .arg("30")
        .status()
        .expect("run sleep copy");
    let _ = tracer.wait();
    let _ = std::fs::remove_dir_all(&dir);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(9), "{status:?}");
}

/// Runs `script` under gprobe, then under bpftrace, each while a copy of `cat` named `comm`
/// opens `file`; returns (gprobe's, bpftrace's) non-empty lines after the banner.
fn same_load(script: &str, comm: &str, file: &str) -> (Vec<String>, Vec<String>) {
    let dir = std::env::temp_dir().join(format!("gprobe-{comm}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let exe = dir.join(comm);
    copy_executable("/bin/cat", &exe);
    let load = || {
        // A clean environment: the test's own (LD_LIBRARY_PATH) would add opens.
        Command::new(&exe)
            .arg(file)
            .env_clear()
            .output()
            .expect("run cat copy");
        std::thread::sleep(Duration::from_millis(500));
    };
    let tracer = Tracer::start(&["-e", script]);
    load();
    let ours: Vec<String> = tracer
        .stop()
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    let mut bt = Command::new("bpftrace")
        .args(["-e", script])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start bpftrace");
    let lines = line_channel(bt.stdout.take().expect("stdout"));
    let banner = lines
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_default();
    assert!(banner.starts_with("Attaching"), "bpftrace: {banner}");
    // bpftrace prints its banner before it attaches.
    std::thread::sleep(Duration::from_millis(2500));
    load();
    let _ = Command::new("kill")
        .args(["-INT", &bt.id().to_string()])
        .status();
    let _ = wait_with_limit(bt, LIMIT);
    let theirs: Vec<String> = lines.iter().filter(|l| !l.trim().is_empty()).collect();
    let _ = std::fs::remove_dir_all(&dir);
    (ours, theirs)
}

/// `str(p, n)` with a run-time `n`: n characters, clamped to the 64-byte string buffer.
#[test]
fn str_with_a_run_time_length() {
    if !e2e_ready() {
        return;
    }
    let _k = kernel_lock();
    let script = r#"tracepoint:syscalls:sys_enter_openat /comm == "gp_strlen"/ { $n = 5; printf("[%s] [%s] [%s]\n", str(args->filename, $n), str(args->filename, $n + 100), str(args->filename, 7)); }"#;
    let (ours, theirs) = same_load(script, "gp_strlen", "/etc/hostname");
    // The open of the file asked for, as both print it (the loader's opens before it vary
    // with the machine's state).
    let wanted = "[/etc/] [/etc/hostname] [/etc/ho]";
    assert!(ours.iter().any(|l| l == wanted), "{ours:?}");
    assert!(theirs.iter().any(|l| l == wanted), "{theirs:?}");
    let of_file = |v: &[String]| {
        v.iter()
            .filter(|l| l.contains("/etc/hostname"))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(of_file(&ours), of_file(&theirs));
}

/// `cat()` prints a file at print time; `system()` (with --unsafe) runs a command, its output
/// in order with printf's.
#[test]
fn cat_and_system_print_as_bpftrace() {
    if !e2e_ready() {
        return;
    }
    let out = same_as_bpftrace_with(
        &["--unsafe"],
        r#"BEGIN { cat("/proc/sys/kernel/%s", "ostype"); system("echo hello %d %s", 42, "x"); printf("after\n"); exit(); }"#,
    );
    assert!(out.contains("Linux\nhello 42 x\nafter"), "{out}");
    let refused = run_gprobe(&["-e", r#"BEGIN { system("true"); }"#], LIMIT);
    assert!(!refused.status.success());
    assert!(text(&refused.stderr).contains("needs --unsafe"));
}

/// `ntop` of IPv6 addresses (`u8[16]` arrays of a kernel struct read through a tracepoint's
/// user pointer), and one variable holding IPv4 and IPv6 values, as the tcp* tools write it:
/// the same lines as bpftrace's on a command that connects to `::1`, `fe80::1:2:3` and
/// `127.0.0.1`.
#[test]
fn ntop_of_ipv6_addresses_prints_as_bpftrace() {
    if !e2e_ready() {
        return;
    }
    let connects = "import socket\n\
        for family, addr in [(socket.AF_INET6, ('::1', 9)), (socket.AF_INET6, ('fe80::1:2:3', 9, 0, 1)), (socket.AF_INET, ('127.0.0.1', 9))]:\n\
        \x20   s = socket.socket(family)\n\
        \x20   try: s.connect(addr)\n\
        \x20   except OSError: pass\n";
    let dir = std::env::temp_dir().join(format!("gprobe-ntop6-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let py = dir.join("connects.py");
    std::fs::write(&py, connects).unwrap();
    let command = format!("/usr/bin/python3 {}", py.display());
    let script = r#"#include <sys/socket.h>
tracepoint:syscalls:sys_enter_connect /pid == cpid/ {
    $sa = (struct sockaddr_in6 *)args->uservaddr;
    $addr = ntop(0);
    if ($sa->sin6_family == AF_INET6) {
        $addr = ntop($sa->sin6_addr.in6_u.u6_addr8);
        printf("%s %s\n", $addr, ntop(AF_INET6, $sa->sin6_addr.in6_u.u6_addr8));
    } else {
        $addr = ntop(((struct sockaddr_in *)args->uservaddr)->sin_addr.s_addr);
        printf("%s\n", $addr);
    }
    @by[$addr] = count();
}"#;
    let out = same_as_bpftrace_maps_with(&["-c", &command], script);
    let _ = std::fs::remove_dir_all(&dir);
    for line in [
        "::1 ::1",
        "fe80::1:2:3 fe80::1:2:3",
        "127.0.0.1",
        "@by[::1]: 1",
    ] {
        assert!(out.contains(line), "{line}:\n{out}");
    }
}

/// `++`/`--` as values, pre and post, on variables and map elements (an absent key counts from
/// 0), evaluated left to right, as bpftrace 0.17 prints them.
#[test]
fn increments_as_values_match_bpftrace() {
    if !e2e_ready() {
        return;
    }
    let out = same_as_bpftrace_maps_with(
        &[],
        r#"BEGIN {
            $i = 5;
            printf("%d %d %d\n", $i++, ++$i, $i);
            $j = 1; @x[1] = ++$j; @y = @x[1]--; @z = @x[1]++; @w = ++@x[2]; @v = @q--;
            @n = 1; printf("%d %d\n", @n++ + @n++, --@n);
            $u = (uint8)255; $u++; $s = (int8)127; $s++; $w = (uint16)0; $w--;
            printf("%d %d %d %d\n", $u, $s, $w, ++$u);
            exit();
        }"#,
    );
    assert!(out.contains("5 7 7") && out.contains("3 2"), "{out}");
    // A narrow variable wraps at its width.
    assert!(out.contains("0 -128 65535 1"), "{out}");
    assert!(out.contains("@q: -1") && out.contains("@v: 0"), "{out}");
}

/// `print(@m, top, div)` divides as bpftrace 0.17: plain values (tuple members too), counts,
/// sums, averages, min/max and log2 histogram counts (the bars keep the undivided lengths);
/// `lhist` and `stats()` are printed undivided. Text and JSON both.
#[test]
fn print_top_and_div_match_bpftrace() {
    if !e2e_ready() {
        return;
    }
    let script = r#"BEGIN {
        @[1] = 5; @[2] = 7; @[3] = -9; @t[1] = (1, "a", 7);
        @c[1] = count(); @c[1] = count(); @c[1] = count(); @c[2] = count();
        @s[1] = sum(10); @s[2] = sum(25); @a = avg(10); @a = avg(20); @m = max(7);
        @h = hist(1); @h = hist(1); @h = hist(1); @h = hist(5);
        @k[1] = hist(1); @k[1] = hist(1); @k[2] = hist(100); @k[3] = hist(3);
        @l = lhist(3, 0, 10, 2); @l = lhist(3, 0, 10, 2); @l = lhist(7, 0, 10, 2);
        print(@, 2, 2); print(@, 1); print(@, 0, 3); print(@t, 0, 2);
        print(@c, 0, 2); print(@s, 1, 10); print(@a, 0, 5); print(@m, 0, 2);
        print(@h, 0, 2); print(@k, 2, 2); print(@l, 0, 2);
        clear(@); clear(@t); clear(@c); clear(@s); clear(@a); clear(@m); clear(@h); clear(@k); clear(@l);
        exit();
    }"#;
    let _k = kernel_lock();
    for format in ["text", "json"] {
        let args = ["-f", format, "-e", script];
        let lines = |s: &str| {
            body(s)
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(String::from)
                .collect::<Vec<_>>()
        };
        let ours = lines(&gprobe_ok(&args, LIMIT));
        assert_eq!(
            ours,
            lines(&bpftrace_ok(&args)),
            "{format}: gprobe (left), bpftrace (right)"
        );
        let ours = ours.join("\n");
        if format == "text" {
            assert!(
                ours.contains("@[1]: 2\n@[2]: 3\n@[2]: 7\n@[3]: -3"),
                "{ours}"
            );
            assert!(ours.contains("@t[1]: (0, a, 3)"), "{ours}");
            assert!(
                ours.contains("[4, 8)                 0 |@@@@@@@@@@@@@@@@@ "),
                "{ours}"
            );
        }
    }
}

/// A cgroup the test makes under the cgroup2 mount (`/sys/fs/cgroup` or, on a hybrid
/// machine, `/sys/fs/cgroup/unified`), removed when dropped.
struct TestCgroup(std::path::PathBuf);

impl TestCgroup {
    fn new(name: &str) -> Option<TestCgroup> {
        let mounts = std::fs::read_to_string("/proc/mounts").ok()?;
        let root = mounts.lines().find_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (f.get(2) == Some(&"cgroup2")).then(|| std::path::PathBuf::from(f[1]))
        })?;
        let dir = root.join(format!("{name}-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("inner")).ok()?;
        Some(TestCgroup(dir))
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        // The moved command has exited and been reaped by the tracer by now.
        let _ = std::fs::remove_dir(self.0.join("inner"));
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// `cgroup_path(cgroup)` of a process the test moves into a cgroup it made prints the path
/// bpftrace prints (`unified:/gprobe-e2e-cgroup-N/inner`), with and without a filter.
#[test]
fn cgroup_path_of_a_moved_process_matches_bpftrace() {
    if !e2e_ready() {
        return;
    }
    let Some(cgroup) = TestCgroup::new("gprobe-e2e-cgroup") else {
        assert!(!under_ci(), "no cgroup2 mount to make a cgroup under");
        eprintln!("skipped: no cgroup2 mount");
        return;
    };
    let inner = cgroup.0.join("inner");
    let dir = TempDir::new("cgroup-path");
    // The command moves itself into the cgroup, then execs: the probe fires in the cgroup.
    let script_file = dir.path("move.sh");
    std::fs::write(
        &script_file,
        format!(
            "echo $$ > {}/cgroup.procs\nexec /bin/true\n",
            inner.display()
        ),
    )
    .expect("write move.sh");
    let command = format!("/bin/sh {}", script_file.display());
    let script = format!(
        r#"tracepoint:syscalls:sys_enter_execve /cgroup == cgroupid("{}")/ {{
            printf("%s\n%s|\n%s|\n", cgroup_path(cgroup), cgroup_path(cgroup, "unified"), cgroup_path(cgroup, "no-such*"));
            $p = cgroup_path(cgroup); print($p);
        }}"#,
        inner.display()
    );
    let out = same_as_bpftrace_maps_with(&["-c", &command], &script);
    let name = cgroup.0.file_name().unwrap().to_string_lossy().into_owned();
    // Unfiltered, every hierarchy with an entry of that inode number is listed, as bpftrace
    // lists them: on a host with cgroup v1 hierarchies too, an unrelated file of another
    // hierarchy may share the number (`memory:/process_api/memory.failcnt` was seen).
    let first = out.lines().next().unwrap_or_default();
    assert!(
        first
            .split(',')
            .any(|entry| entry == format!("unified:/{name}/inner")),
        "{out}"
    );
    assert!(
        out.contains(&format!("unified:/{name}/inner|\n|\n")),
        "{out}"
    );
}

/// `pton`: its bytes printed, as a map key and value, indexed, compared and turned back into
/// text by `ntop`, as bpftrace 0.17 prints them.
#[test]
fn pton_bytes_print_compare_and_round_trip_as_bpftrace() {
    if !e2e_ready() {
        return;
    }
    let out = same_as_bpftrace(
        r#"BEGIN {
            print(pton("127.0.0.1")); print(pton("::1"));
            printf("%s %s %s\n", ntop(pton("::1")), ntop(pton("10.1.2.3")), ntop(2, pton("192.168.0.10")));
            $a = pton("192.168.0.1");
            printf("%d %x %d\n", $a[0], $a[0], $a[0] + $a[3]);
            if (pton("1.2.3.4") == pton("1.2.3.4")) { printf("eq\n"); }
            if (pton("1.2.3.4") != pton("1.2.3.5")) { printf("ne\n"); }
            if ($a == pton("192.168.0.2")) { printf("wrong\n"); }
            @key[pton("fe80::1:2")] = count();
            @value = pton("10.0.0.1");
            exit();
        }"#,
    );
    for line in [
        "[127,0,0,1]",
        "[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1]",
        "::1 10.1.2.3 192.168.0.10",
        "192 c0 193",
        "eq",
        "ne",
        // int8 in a key, as bpftrace prints them there.
        "@key[[-2,-128,0,0,0,0,0,0,0,0,0,0,0,1,0,2]]: 1",
        "@value: [10,0,0,1]",
    ] {
        assert!(out.lines().any(|l| l == line), "no `{line}` in:\n{out}");
    }
    assert!(!out.contains("wrong"), "{out}");
}

/// `strcontains` on literals, `comm`, and file names read with str() from a syscall's user
/// pointer, as bpftrace 0.17 computes it.
#[test]
fn strcontains_matches_bpftrace_on_literals_and_read_strings() {
    if !e2e_ready() {
        return;
    }
    let out = same_as_bpftrace(
        r#"BEGIN {
            printf("%d %d %d %d %d %d %d\n", strcontains("abc", "b"), strcontains("abc", ""),
                strcontains("abc", "abcd"), strcontains("abc", "bc"), strcontains("", "a"),
                strcontains("aab", "ab"), strcontains("", ""));
            $s = "hello world";
            printf("%d %d\n", strcontains($s, "o w"), strcontains($s, "world!"));
            exit();
        }"#,
    );
    assert!(out.contains("1 1 0 1 0 1 1\n1 0"), "{out}");
    let maps = same_as_bpftrace_maps_with(
        &["-c", "/bin/cat /etc/hostname /etc/passwd /etc/group"],
        r#"tracepoint:syscalls:sys_enter_openat /pid == cpid && strcontains(str(args->filename), "/etc/")/ {
            @[str(args->filename), strcontains(str(args->filename), "pass"), strcontains(comm, "ca")] = count();
        }"#,
    );
    for line in [
        "@[/etc/passwd, 1, 1]: 1",
        "@[/etc/group, 0, 1]: 1",
        "@[/etc/hostname, 0, 1]: 1",
    ] {
        assert!(maps.lines().any(|l| l == line), "no `{line}` in:\n{maps}");
    }
}

/// `debugf`: the line bpf_trace_printk writes into trace_pipe is bpftrace's, for integers
/// with widths and lengths and a literal string; `comm` (16 bytes) too.
#[test]
fn debugf_writes_the_line_bpftrace_writes_to_trace_pipe() {
    if !e2e_ready() {
        return;
    }
    let trace_pipe = "/sys/kernel/tracing/trace_pipe";
    if !std::path::Path::new(trace_pipe).exists() {
        assert!(!under_ci(), "debugf needs tracefs at /sys/kernel/tracing");
        eprintln!("skipped: no {trace_pipe}");
        return;
    }
    let _k = kernel_lock();
    // A marker of this run, so other writers of trace_printk lines do not count.
    let marker = format!("gprobe-debugf-{}", std::process::id());
    let script = format!(
        r#"BEGIN {{ debugf("{marker} %d|%5d|%-4x\n", 42, 7, 255); debugf("{marker} %lld|%s\n", -9, "lit"); debugf("{marker} comm %s\n", comm); exit(); }}"#
    );
    /// Ends the trace_pipe reader however the test ends (it would block forever).
    struct Reader(std::process::Child);
    impl Drop for Reader {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut reader = Reader(
        Command::new("cat")
            .arg(trace_pipe)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("read trace_pipe"),
    );
    let lines = line_channel(reader.0.stdout.take().expect("cat's stdout"));
    // The message part of the next three lines with the marker (the task and time differ).
    let messages = |who: &str| -> Vec<String> {
        let mut found = Vec::new();
        let deadline = std::time::Instant::now() + LIMIT;
        while found.len() < 3 {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("{who}: no debugf line in trace_pipe; got {found:?}"));
            if let Some((_, message)) = line.split_once("bpf_trace_printk: ")
                && message.starts_with(&marker)
            {
                found.push(message.to_string());
            }
        }
        found
    };
    let ours_out = run_gprobe(&["-e", &script], LIMIT);
    assert!(ours_out.status.success(), "{}", text(&ours_out.stderr));
    let stderr = text(&ours_out.stderr);
    assert!(
        stderr.contains("The debugf() builtin is not recommended for production use"),
        "{stderr}"
    );
    let ours = messages("gprobe");
    let _ = bpftrace_ok(&["-e", &script]);
    let theirs = messages("bpftrace");
    drop(reader);
    // `comm` in BEGIN is the tool's own.
    assert_eq!(
        ours[..2],
        theirs[..2],
        "gprobe (left) and bpftrace (right) differ"
    );
    assert_eq!(ours[0], format!("{marker} 42|    7|ff  "));
    assert_eq!(ours[1], format!("{marker} -9|lit"));
    assert_eq!(ours[2], format!("{marker} comm gprobe"));
    assert_eq!(theirs[2], format!("{marker} comm bpftrace"));
}
