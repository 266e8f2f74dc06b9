//! Uprobes on C: arguments by name and through struct pointers from DWARF, `func+OFFSET` and
//! address probes, kernel uretprobes (C code only), libraries by path, by soname (ld.so.cache)
//! and by soname through a `-p` process's maps, and `-l`/`-lv` — each compared with bpftrace
//! 0.17 on the same program where bpftrace can run it.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;
use support::*;

const CPROG: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct inner { int f; long g; };
struct outer { const char *name; struct inner *s; int n; };
__attribute__((noipa)) int add(int x, long y) { return x + (int)y; }
__attribute__((noipa)) long visit(struct outer *o, const char *msg) {
    return o->s->f + o->n + (long)strlen(msg);
}
__attribute__((noipa)) int negate(int v) { return -v; }
int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 5;
    struct inner in = { 7, 9 };
    struct outer o = { "hello", &in, 3 };
    long total = 0;
    for (int i = 0; i < n; i++) {
        total += add(i, 10);
        total += visit(&o, "message");
        total += negate(i * 3);
    }
    printf("total %ld negate %d\n", total, negate(41));
    return 0;
}
"#;

const LIBFOO: &str = r#"
__attribute__((noipa)) int foo_mul(int a, int b) { return a * b; }
"#;

const FOOUSER: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int foo_mul(int a, int b);
int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 5;
    useconds_t pause = argc > 2 ? atoi(argv[2]) : 0;
    long s = 0;
    for (int i = 0; n < 0 || i < n; i++) {
        s += foo_mul(i % 5, 7);
        if (pause) usleep(pause);
    }
    printf("%ld\n", s);
    return 0;
}
"#;

fn ready() -> bool {
    if !e2e_ready() {
        return false;
    }
    let cc = Command::new("gcc").arg("--version").output().is_ok();
    if !cc {
        assert!(!under_ci(), "gcc is missing (scripts/install-deps)");
        eprintln!("skipped: gcc is missing");
    }
    cc
}

fn dir() -> PathBuf {
    let dir = repo_root().join("target/ctargets/cprobes");
    std::fs::create_dir_all(&dir).expect("target/ctargets/cprobes");
    dir
}

/// `target/ctargets/cprobes/OUT`, optimized as a release build would be, with DWARF.
fn gcc(src: &str, out: &str, flags: &[&str]) -> PathBuf {
    c_program("cprobes", out, src, &[&["-g", "-O1"], flags].concat())
}

/// Built once per test run: tests run in parallel and must not rewrite a running binary.
fn cprog() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| gcc(CPROG, "cprog", &[])).clone()
}

/// `libcfoo.so` and `cfoouser` linked against it (found through its rpath).
fn foo() -> (PathBuf, PathBuf) {
    static BUILT: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    BUILT.get_or_init(build_foo).clone()
}

fn build_foo() -> (PathBuf, PathBuf) {
    let lib = gcc(LIBFOO, "libcfoo.so", &["-shared", "-fPIC"]);
    let d = dir();
    let user = gcc(
        FOOUSER,
        "cfoouser",
        &[
            &format!("-L{}", d.display()),
            "-lcfoo",
            &format!("-Wl,-rpath,{}", d.display()),
        ],
    );
    (lib, user)
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// Output lines that are not the banner, the program's own line or blank.
fn probe_lines(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| !l.starts_with("Attaching") && !l.starts_with("total") && !l.is_empty())
        .map(str::to_owned)
        .collect()
}

const LONG: Duration = Duration::from_secs(60);

#[test]
fn c_arguments_by_name_and_through_struct_pointers() {
    if !ready() {
        return;
    }
    let prog = cprog();
    let p = s(&prog);
    let _k = kernel_lock();
    // str() of a page not yet touched reads nothing on its first call (bpftrace too): the
    // numbers are compared on every call, the strings on the later ones.
    let script = format!(
        "uprobe:{p}:visit {{ printf(\"%d %d %d|%s|%s\\n\", args.o->s->f, args.o->n, args.o->s->g, str(args.o->name), str(args.msg)); }} uprobe:{p}:add {{ @adds[args.x, args.y] = count(); }}"
    );
    let out = gprobe_ok(&["-e", &script, "-c", &format!("{p} 4")], LONG);
    let lines = probe_lines(&out);
    let visits: Vec<&String> = lines.iter().filter(|l| l.starts_with("7 3 9|")).collect();
    assert_eq!(visits.len(), 4, "{out}");
    assert!(
        visits[1..].iter().all(|l| *l == "7 3 9|hello|message"),
        "{out}"
    );
    let adds = map_lines(&out, "@adds");
    let want: std::collections::BTreeMap<String, u64> =
        (0..4).map(|i| (format!("{i}, 10"), 1)).collect();
    assert_eq!(adds, want, "{out}");
    // bpftrace reads the same through `args->`.
    let bt_script = format!(
        "uprobe:{p}:visit {{ printf(\"%d %d %d|%s|%s\\n\", args->o->s->f, args->o->n, args->o->s->g, str(args->o->name), str(args->msg)); }} uprobe:{p}:add {{ @adds[args->x, args->y] = count(); }}"
    );
    let bt = bpftrace_ok(&["-e", &bt_script, "-c", &format!("{p} 4")]);
    let bt_lines = probe_lines(&bt);
    let bt_visits: Vec<&String> = bt_lines
        .iter()
        .filter(|l| l.starts_with("7 3 9|"))
        .collect();
    assert_eq!(
        bt_visits[1..],
        visits[1..],
        "bpftrace:\n{bt}\ngprobe:\n{out}"
    );
    assert_eq!(map_lines(&bt, "@adds"), adds, "bpftrace:\n{bt}");
    // `->` works on gprobe as well.
    let arrow = gprobe_ok(
        &[
            "-e",
            &format!("uprobe:{p}:visit {{ @[args->o->s->f] = count(); }}"),
            "-c",
            &format!("{p} 3"),
        ],
        LONG,
    );
    assert_eq!(map_lines(&arrow, "@").get("7"), Some(&3), "{arrow}");
}

#[test]
fn c_return_probes_give_the_value_the_program_prints() {
    if !ready() {
        return;
    }
    let p = s(&cprog());
    let _k = kernel_lock();
    let script = format!("uretprobe:{p}:negate {{ printf(\"ret %d\\n\", retval); }}");
    let out = gprobe_ok(&["-e", &script, "-c", &format!("{p} 3")], LONG);
    let rets: Vec<&str> = out.lines().filter(|l| l.starts_with("ret ")).collect();
    // negate(0), negate(3), negate(6) in the loop, then negate(41) whose value it prints.
    assert_eq!(rets, ["ret 0", "ret -3", "ret -6", "ret -41"], "{out}");
    let printed = out
        .lines()
        .find_map(|l| l.strip_prefix("total "))
        .and_then(|l| l.split_whitespace().nth(2))
        .expect("the program's line");
    assert_eq!(format!("ret {printed}"), rets[3]);
    // bpftrace's retval is the raw 64-bit register: an `int` comes back zero-extended.
    let bt = bpftrace_ok(&["-e", &script, "-c", &format!("{p} 3")]);
    let bt_rets: Vec<&str> = bt.lines().filter(|l| l.starts_with("ret ")).collect();
    assert_eq!(bt_rets.len(), 4, "{bt}");
    assert_eq!(bt_rets[0], "ret 0");
    // Wildcards over C functions: a kernel uretprobe on each function they match.
    let out = gprobe_ok(
        &[
            "-e",
            &format!("uretprobe:{p}:ad*, uretprobe:{p}:neg* {{ @[retval] = count(); }}"),
            "-c",
            &format!("{p} 2"),
        ],
        LONG,
    );
    let got = map_lines(&out, "@");
    // add(0,10), add(1,10); negate(0), negate(3), negate(41). The functions of a wildcard
    // have no one return type: retval is the raw register, as bpftrace gives it (an `int`
    // zero-extended).
    let want: std::collections::BTreeMap<String, u64> = [
        ("10", 1),
        ("11", 1),
        ("0", 1),
        ("4294967293", 1),
        ("4294967255", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(got, want, "{out}");
}

#[test]
fn offset_and_address_probes() {
    if !ready() {
        return;
    }
    let prog = cprog();
    let p = s(&prog);
    // `visit` begins `push %rbx` (1 byte), so +1 is the second instruction.
    let dis = Command::new("objdump")
        .args(["-d", "--no-show-raw-insn", &p])
        .output()
        .expect("objdump");
    let dis = text(&dis.stdout);
    let visit_at = dis
        .lines()
        .find_map(|l| l.strip_suffix(" <visit>:"))
        .map(|a| u64::from_str_radix(a.trim(), 16).expect("address"))
        .expect("visit in objdump");
    let first = dis
        .lines()
        .skip_while(|l| !l.ends_with("<visit>:"))
        .nth(1)
        .expect("first instruction of visit")
        .to_owned();
    assert!(first.contains("push"), "{first}");
    let _k = kernel_lock();
    let out = gprobe_ok(
        &[
            "-e",
            &format!(
                "uprobe:{p}:visit+1 {{ @off = count(); }} uprobe:{p}:{:#x} {{ @addr = count(); }}",
                visit_at + 1
            ),
            "-c",
            &format!("{p} 6"),
        ],
        LONG,
    );
    assert!(out.contains("@off: 6"), "{out}");
    assert!(out.contains("@addr: 6"), "{out}");
    // Debian's bpftrace 0.17 refuses offsets ("compiled without (k|u)probe offset
    // support"), even with --unsafe: compare with its count at the function's entry.
    let bt = bpftrace_ok(&[
        "-e",
        &format!("uprobe:{p}:visit {{ @off = count(); }}"),
        "-c",
        &format!("{p} 6"),
    ]);
    assert!(bt.contains("@off: 6"), "{bt}");
    // Inside `mov %rdi,%rbx` (3 bytes at +1): refused with the instruction named.
    let bad = run_gprobe(
        &[
            "--check",
            "-e",
            &format!("uprobe:{p}:visit+2 {{ @ = count(); }}"),
        ],
        LONG,
    );
    assert!(!bad.status.success());
    let err = text(&bad.stderr);
    assert!(
        err.contains("error[E0408]: cannot attach at `visit+2`"),
        "{err}"
    );
    assert!(
        err.contains("inside the 3-byte instruction at `visit+0x1`"),
        "{err}"
    );
    assert!(err.contains("^^^"), "spanned: {err}");
}

#[test]
fn libc_by_soname() {
    if !ready() {
        return;
    }
    let (_, user) = foo();
    let u = s(&user);
    let _k = kernel_lock();
    // The program calls libc's `exit` once (returning from main); other programs on the
    // machine call it too, and bpftrace's `-c` probes every process: filter on the name.
    let script = "uprobe:libc:exit /comm == \"cfoouser\"/ { @exits = count(); }";
    let out = gprobe_ok(&["-e", script, "-c", &format!("{u} 3")], LONG);
    assert!(out.contains("@exits: 1"), "{out}");
    let bt = bpftrace_ok(&["-e", script, "-c", &format!("{u} 3")]);
    assert!(bt.contains("@exits: 1"), "{bt}");
}

#[test]
fn own_library_by_path_and_by_soname_through_maps() {
    if !ready() {
        return;
    }
    let (lib, user) = foo();
    let (l, u) = (s(&lib), s(&user));
    let _k = kernel_lock();
    // By path, with -c: every call, with its arguments from the library's DWARF.
    let script = format!("uprobe:{l}:foo_mul {{ @[args.a, args.b] = count(); }}");
    let out = gprobe_ok(&["-e", &script, "-c", &format!("{u} 10")], LONG);
    let counts = map_lines(&out, "@");
    let want: std::collections::BTreeMap<String, u64> =
        (0..5).map(|a| (format!("{a}, 7"), 2)).collect();
    assert_eq!(counts, want, "{out}");
    let bt = bpftrace_ok(&[
        "-e",
        &format!("uprobe:{l}:foo_mul {{ @[args->a, args->b] = count(); }}"),
        "-c",
        &format!("{u} 10"),
    ]);
    assert_eq!(map_lines(&bt, "@"), want, "{bt}");
    // By soname with -p: `libcfoo` is not in ld.so.cache, only in the process's maps.
    let mut child = Command::new(&user)
        .args(["-1", "2000"])
        .stdout(Stdio::null())
        .spawn()
        .expect("start cfoouser");
    let pid = child.id().to_string();
    wait_for_process("cfoouser with libcfoo mapped", |p| {
        p == child.id()
            && std::fs::read_to_string(format!("/proc/{p}/maps"))
                .is_ok_and(|m| m.contains("libcfoo.so"))
    });
    let out = gprobe_ok(
        &[
            "-p",
            &pid,
            "-e",
            "uprobe:libcfoo:foo_mul /args.a == 3/ { printf(\"a=%d b=%d\\n\", args.a, args.b); exit(); }",
        ],
        LONG,
    );
    // Listed through the same maps.
    let listed = gprobe_ok(&["-l", "uprobe:libcfoo:foo*", "-p", &pid], LONG);
    let _ = child.kill();
    let _ = child.wait();
    assert!(out.lines().any(|l| l == "a=3 b=7"), "{out}");
    assert_eq!(listed, format!("uprobe:{l}:foo_mul\n"));
    // Without -p the soname is unknown to the loader's cache: a spanned diagnostic.
    let bad = run_gprobe(
        &["--check", "-e", "uprobe:libcfoo:foo_mul { @ = count(); }"],
        LONG,
    );
    assert!(!bad.status.success());
    assert!(
        text(&bad.stderr)
            .contains("error[E0411]: no file, program on PATH or library named `libcfoo`"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn listing_c_functions_with_arguments() {
    if !ready() {
        return;
    }
    let p = s(&cprog());
    let (lib, _) = foo();
    for args in [
        vec!["-l".to_string(), format!("uprobe:{p}:*")],
        vec!["-lv".to_string(), format!("uprobe:{p}:*")],
        vec!["-lv".to_string(), format!("uprobe:{}:foo*", s(&lib))],
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let ours = gprobe_ok(&args, LONG);
        let theirs = bpftrace_ok(&args);
        assert_eq!(ours, theirs, "gprobe {args:?}");
    }
    let lv = gprobe_ok(&["-lv", &format!("uprobe:{p}:visit")], LONG);
    assert_eq!(
        lv,
        format!("uprobe:{p}:visit\n    struct outer* o\n    const char* msg\n")
    );
}

/// The address of instruction `n` (0-based) of `function` in `binary`, from objdump.
fn instruction_address(binary: &Path, function: &str, n: usize) -> u64 {
    let dis = Command::new("objdump")
        .args(["-d", "--no-show-raw-insn"])
        .arg(binary)
        .output()
        .expect("objdump");
    let head = format!("<{function}>:");
    let line = text(&dis.stdout)
        .lines()
        .skip_while(|l| !l.ends_with(&head))
        .nth(1 + n)
        .expect("instruction")
        .to_owned();
    let addr = line.split(':').next().expect("address").trim();
    u64::from_str_radix(addr, 16).expect("hex address")
}

/// `func+OFFSET` inside a Go function: a plain uprobe at that instruction, `goid` read through
/// the thread pointer; an offset inside an instruction is refused there too.
#[test]
fn go_function_offset() {
    if !ready() {
        return;
    }
    let work = go_target("work", "1.19", &[]);
    let w = s(&work);
    let entry = instruction_address(&work, "main.work", 0);
    let second = instruction_address(&work, "main.work", 1);
    let off = second - entry;
    let _k = kernel_lock();
    let out = gprobe_ok(
        &[
            "-e",
            &format!("uprobe:{w}:main.work+{off} {{ @[goid > 0] = count(); }}"),
            "-c",
            &format!("{w} -n 5 -q"),
        ],
        LONG,
    );
    assert_eq!(map_lines(&out, "@").get("1"), Some(&5), "{out}");
    let bad = run_gprobe(
        &[
            "--check",
            "-e",
            &format!("uprobe:{w}:main.work+{} {{ @ = count(); }}", off - 1),
        ],
        LONG,
    );
    assert!(!bad.status.success());
    assert!(
        text(&bad.stderr).contains("is inside the"),
        "{}",
        text(&bad.stderr)
    );
}

const UADDR_PROG: &str = r#"
#include <stdio.h>
int counter = 0;
short small = 7;
long big = 123456789;
__attribute__((noipa)) void tick(int n) { counter += n; }
int main(void) {
    for (int i = 0; i < 3; i++) {
        tick(i + 40);
        printf("counter %d\n", counter);
    }
    return 0;
}
"#;

/// `*uaddr("counter")` reads the program's global, sized by its symbol (an int, a short, a
/// long), in uprobes and uretprobes: for a -no-pie binary at the ELF address, as bpftrace
/// (same lines); for a PIE binary with the process's load bias added when the probe runs
/// (bpftrace 0.17 reads the unrelocated address there), the same values the program prints;
/// and a shared library's global, with the library's load bias.
#[test]
fn uaddr_reads_globals_of_pie_and_non_pie_programs() {
    if !ready() {
        return;
    }
    let fixed = gcc(UADDR_PROG, "uaddr_nopie", &["-no-pie"]);
    let pie = gcc(UADDR_PROG, "uaddr_pie", &["-pie", "-fPIE"]);
    let script = |p: &str| {
        format!(
            r#"uprobe:{p}:tick {{ printf("at %d %d %d\n", *uaddr("counter"), *uaddr("small"), *uaddr("big")); }}
               uretprobe:{p}:tick {{ printf("ret %d\n", *uaddr("counter")); }}"#
        )
    };
    let traced = |out: &str| -> Vec<String> {
        out.lines()
            .filter(|l| l.starts_with("at ") || l.starts_with("ret "))
            .map(str::to_owned)
            .collect()
    };
    // The program's own log: the counter after each tick.
    let want: Vec<String> = [0, 40, 81]
        .iter()
        .zip([40, 81, 123])
        .flat_map(|(before, after)| [format!("at {before} 7 123456789"), format!("ret {after}")])
        .collect();
    let _k = kernel_lock();
    let p = s(&fixed);
    let ours = gprobe_ok(&["-e", &script(&p), "-c", &p], LONG);
    assert_eq!(traced(&ours), want, "{ours}");
    let logged: Vec<&str> = ours.lines().filter(|l| l.starts_with("counter ")).collect();
    assert_eq!(
        logged,
        ["counter 40", "counter 81", "counter 123"],
        "{ours}"
    );
    let theirs = bpftrace_ok(&["-e", &script(&p), "-c", &p]);
    assert_eq!(traced(&ours), traced(&theirs), "bpftrace:\n{theirs}");
    let p = s(&pie);
    let ours = gprobe_ok(&["-e", &script(&p), "-c", &p], LONG);
    assert_eq!(traced(&ours), want, "{ours}");
    // A shared library's global moves with the library's load address the same way.
    let lib = gcc(UADDR_LIB, "libcuaddr.so", &["-shared", "-fPIC"]);
    let d = dir();
    let user = gcc(
        UADDR_LIB_USER,
        "cuaddruser",
        &[
            &format!("-L{}", d.display()),
            "-lcuaddr",
            &format!("-Wl,-rpath,{}", d.display()),
        ],
    );
    let script = format!(
        r#"uprobe:{}:lib_add {{ printf("at %d\n", *uaddr("lib_total")); }}"#,
        s(&lib)
    );
    let ours = gprobe_ok(&["-e", &script, "-c", &s(&user)], LONG);
    assert_eq!(traced(&ours), ["at 5", "at 6", "at 8"], "{ours}");
    let logged: Vec<&str> = ours.lines().filter(|l| l.starts_with("total ")).collect();
    assert_eq!(logged, ["total 6", "total 8", "total 11"], "{ours}");
}

const UADDR_LIB: &str = r#"
int lib_total = 5;
__attribute__((noipa)) int lib_add(int n) { lib_total += n; return lib_total; }
"#;

const UADDR_LIB_USER: &str = r#"
#include <stdio.h>
int lib_add(int n);
int main(void) {
    for (int i = 1; i <= 3; i++) printf("total %d\n", lib_add(i));
    return 0;
}
"#;

const UADDR_SITES_PROG: &str = r#"
#include <stdio.h>
#include <sys/sdt.h>
int counter = 0;
__attribute__((noipa)) void tick(int n) { counter += n; }
__attribute__((noipa)) void tock(int n) { counter -= n; }
int main(void) {
    for (int i = 0; i < 3; i++) {
        tick(i + 40);
        DTRACE_PROBE(app, mark);
        tock(1);
        DTRACE_PROBE(app, mark);
        DTRACE_PROBE1(app, step, i);
        printf("counter %d\n", counter);
    }
    return 0;
}
"#;

/// In a PIE binary, `uaddr()` in a wildcard probe (one program at two functions) and in USDT
/// probes (one site, and two sites of one probe) takes the load bias from the site that fired:
/// every read equals the program's own counter, and `probe` still names each function.
#[test]
fn uaddr_in_pie_wildcard_and_usdt_probes_reads_the_globals() {
    if !ready() {
        return;
    }
    let pie = gcc(UADDR_SITES_PROG, "uaddr_sites_pie", &["-pie", "-fPIE"]);
    let p = s(&pie);
    let script = format!(
        r#"uprobe:{p}:t*ck {{ printf("%s %d\n", probe, *uaddr("counter")); }}
           usdt:{p}:app:step {{ printf("step %d %d\n", arg0, *uaddr("counter")); }}
           usdt:{p}:app:mark {{ printf("mark %d\n", *uaddr("counter")); }}"#
    );
    let _k = kernel_lock();
    let ours = gprobe_ok(&["-e", &script, "-c", &p], LONG);
    let traced: Vec<&str> = ours
        .lines()
        .filter(|l| {
            ["uprobe:", "step ", "mark "]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .collect();
    let (tick, tock) = (format!("uprobe:{p}:tick"), format!("uprobe:{p}:tock"));
    // Before each call, the counter as the program's log has it; the USDT site after both.
    let want: Vec<String> = [(0, 40, 39), (39, 80, 79), (79, 121, 120)]
        .iter()
        .enumerate()
        .flat_map(|(i, (a, b, c))| {
            [
                format!("{tick} {a}"),
                format!("mark {b}"),
                format!("{tock} {b}"),
                format!("mark {c}"),
                format!("step {i} {c}"),
            ]
        })
        .collect();
    assert_eq!(traced, want, "{ours}");
    let logged: Vec<&str> = ours.lines().filter(|l| l.starts_with("counter ")).collect();
    assert_eq!(
        logged,
        ["counter 39", "counter 79", "counter 120"],
        "{ours}"
    );
}
