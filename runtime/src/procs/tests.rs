//! The registry against real processes: Go programs built with two toolchains (non-PIE, and PIE
//! stripped), a C `sleep`, a process in its own mount and pid namespace running from a private
//! tmpfs, process churn and a reused pid.

use super::*;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const MAIN_GO: &str = r#"package main

import (
	"os"
	"strconv"
	"time"
)

//go:noinline
func work(i int) int { return i * 2 }

// Runs for the number of milliseconds given (default 30 s), then exits.
func main() {
	ms := 30000
	if len(os.Args) > 1 {
		if n, err := strconv.Atoi(os.Args[1]); err == nil {
			ms = n
		}
	}
	deadline := time.Now().Add(time.Duration(ms) * time.Millisecond)
	for time.Now().Before(deadline) {
		work(1)
		time.Sleep(10 * time.Millisecond)
	}
}
"#;

const CACHE: &str = "/tmp/gprobe-procs-test";

fn under_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// Skips (returns false after saying why) outside CI; fails under CI.
fn require(ok: bool, why: &str) -> bool {
    if !ok {
        assert!(!under_ci(), "{why}; under CI this is a failure");
        eprintln!("skipped: {why}");
    }
    ok
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn go_tool(version: &str) -> PathBuf {
    if version == "1.19" {
        return PathBuf::from("/usr/lib/go-1.19/bin/go");
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    PathBuf::from(format!("{home}/.cache/gprobe/go/{version}/go/bin/go"))
}

/// The test program (module `example.com/shop`) built with Go `version` and `flags`, cached
/// under /tmp; `None` (skip) when the toolchain is missing outside CI.
fn shop(version: &str, flags: &[&str], tag: &str) -> Option<PathBuf> {
    static BUILD: Mutex<()> = Mutex::new(());
    let go = go_tool(version);
    if !require(
        go.exists(),
        &format!("Go {version} not found at {}", go.display()),
    ) {
        return None;
    }
    let _guard = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let src = Path::new(CACHE).join("src");
    std::fs::create_dir_all(&src).unwrap();
    let out = Path::new(CACHE).join(format!("shop-{version}-{tag}"));
    let main = src.join("main.go");
    if std::fs::read_to_string(&main).ok().as_deref() != Some(MAIN_GO) {
        std::fs::write(&main, MAIN_GO).unwrap();
        let _ = std::fs::remove_file(&out);
    }
    std::fs::write(src.join("go.mod"), "module example.com/shop\n\ngo 1.19\n").unwrap();
    if out.exists() {
        return Some(out);
    }
    let status = Command::new(&go)
        .current_dir(&src)
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOFLAGS", "-mod=mod")
        .env("GO111MODULE", "on")
        .env("CGO_ENABLED", "0")
        .env("GOCACHE", "/tmp/gocache-procs")
        .env("GOPATH", Path::new(CACHE).join("gopath"))
        .args(["build", "-o"])
        .arg(&out)
        .args(flags)
        .arg(".")
        .status()
        .expect("run go build");
    assert!(
        status.success(),
        "go build with Go {version} {flags:?} failed"
    );
    Some(out)
}

fn shop_119() -> Option<PathBuf> {
    shop("1.19", &[], "exe")
}

fn shop_123_pie() -> Option<PathBuf> {
    shop(
        "1.23.9",
        &["-buildmode=pie", "-ldflags=-s -w"],
        "pie-stripped",
    )
}

/// A child killed (by its own pid) and reaped when the test ends, pass or fail.
struct Running(Child);

impl Running {
    /// Returns once the kernel has mapped the new executable: spawn returns when exec closed
    /// the child's close-on-exec fds, which is before the ELF loader maps anything.
    fn spawn(cmd: &mut Command) -> Running {
        let child = Running(
            cmd.stdin(Stdio::null())
                .spawn()
                .expect("spawn test process"),
        );
        wait_mapped(child.pid());
        child
    }
    fn pid(&self) -> u32 {
        self.0.id()
    }
    fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Waits (up to a second) until `pid` has mapped its executable's code. `spawn` returns at
/// exec's point of no return (a vfork child releases its parent there), before the kernel has
/// mapped the segments one by one: a first read-only segment alone is not enough (CI saw
/// `on_exec` find no executable mapping so). In tracing, `sched_process_exec` fires after all.
fn wait_mapped(pid: u32) {
    let mapped = || {
        let ino = std::fs::metadata(format!("/proc/{pid}/exe")).ok()?.ino();
        let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).ok()?;
        maps.lines()
            .any(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                f.len() >= 5 && f[1].contains('x') && f[4] == ino.to_string()
            })
            .then_some(())
    };
    for _ in 0..200 {
        if mapped().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The link-time entry of `name` in the Go binary at `path`.
fn entry_of(path: &Path, name: &str) -> u64 {
    let bin = gprobe_compiler::gobin::GoBinary::open(path).expect("open Go binary");
    bin.function(name).expect("function in binary").entry
}

/// Where /proc/PID/maps says file offset 0 of the executable is mapped.
fn exe_start_in_maps(pid: u32) -> u64 {
    let exe = std::fs::metadata(format!("/proc/{pid}/exe")).unwrap();
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    maps.lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 6 && f[2] == "00000000" && f[4] == exe.ino().to_string())
                .then(|| u64::from_str_radix(f[0].split('-').next().unwrap(), 16).unwrap())
        })
        .expect("executable mapped at offset 0")
}

#[test]
fn scan_finds_go_and_c_processes() {
    let (Some(nonpie), Some(pie)) = (shop_119(), shop_123_pie()) else {
        return;
    };
    let mut a = Running::spawn(&mut Command::new(&nonpie));
    let mut b = Running::spawn(&mut Command::new(&pie));
    let mut c = Running::spawn(Command::new("sleep").arg("30"));
    let mut procs = Processes::new(Selector::all());
    procs.scan();
    for s in procs.skipped() {
        eprintln!("skipped pid {}: {}", s.pid, s.reason);
    }

    let p = procs.get(a.pid()).expect("Go 1.19 process found");
    assert!(p.is_go() && !p.exe.is_pie() && p.exe_bias == 0);
    assert!(
        p.exe.go_version().unwrap().starts_with("go1.19"),
        "{:?}",
        p.exe.go_version()
    );
    assert_eq!(p.exe.main_module(), Some("example.com/shop"));
    assert_eq!(p.service_name(), "example.com/shop");
    assert_eq!(p.executable_name(), "shop-1.19-exe");
    assert_eq!(p.exe.path(), nonpie.as_path());
    assert!(p.exe.build_id().is_some_and(|id| !id.is_empty()));
    assert_eq!(p.exe.first_load_vaddr(), Some(0x400000));
    let main = entry_of(&nonpie, "main.main");
    assert_eq!(procs.user_frames(a.pid(), &[main], true), ["main.main+0"]);
    assert_eq!(procs.user_symbol(a.pid(), main + 1), "main.main");

    let p = procs.get(b.pid()).expect("Go 1.23 PIE process found");
    assert!(p.is_go() && p.exe.is_pie());
    assert!(p.exe.go_version().unwrap().starts_with("go1.23"));
    assert_eq!(p.service_name(), "example.com/shop");
    assert!(
        p.exe.symbols().names().next().is_none(),
        "stripped: no ELF symbols"
    );
    // The bias is where the loader put the file (its offset-0 mapping) less where it was
    // linked to start (Go's internal linker starts PIE text at 0x400000 too).
    let first = p.exe.first_load_vaddr().unwrap();
    assert_ne!(p.exe_bias, 0);
    assert_eq!(p.exe_bias, exe_start_in_maps(b.pid()) - (first & !0xfff));
    let main = entry_of(&pie, "main.main") + p.exe_bias;
    let work = entry_of(&pie, "main.work") + p.exe_bias;
    assert_eq!(procs.user_frames(b.pid(), &[main], true), ["main.main+0"]);
    assert_eq!(procs.user_frames(b.pid(), &[main], false), ["main.main+0"]);
    assert_eq!(procs.go_pc(b.pid(), work + 4), "main.work+4");
    assert_eq!(procs.user_symbol(b.pid(), work + 4), "main.work");
    // A return address looks up the call before it: `main+0` as a caller is not main.
    assert_ne!(
        procs.user_frames(b.pid(), &[work, main], true)[1],
        "main.main+0"
    );

    let gos: Vec<u32> = procs.go_processes().map(|(p, _)| p.pid).collect();
    assert!(gos.contains(&a.pid()) && gos.contains(&b.pid()) && !gos.contains(&c.pid()));
    let (_, rt) = procs
        .go_processes()
        .find(|(p, _)| p.pid == b.pid())
        .unwrap();
    assert!(rt.version.starts_with("go1.23") && rt.g_goid != 0);

    let p = procs.get(c.pid()).expect("sleep found");
    assert!(!p.is_go() && p.exe.go_runtime().is_none() && p.exe.main_module().is_none());
    assert_eq!(p.service_name(), "sleep");
    assert_eq!(p.comm, "sleep");
    assert!(
        p.exe.build_id().is_some(),
        "Debian binaries carry a GNU build id"
    );
    // A libc function through the shared library's own bias.
    let libc = p
        .mappings
        .iter()
        .find(|m| m.binary.file_name().starts_with("libc.so"))
        .expect("sleep maps libc");
    let nanosleep = elf_symbol(&libc.binary.fd_path(), "clock_nanosleep").expect("libc symbol");
    let name = procs.user_symbol(c.pid(), nanosleep + libc.bias);
    assert!(name.contains("clock_nanosleep"), "{name}");
    assert_eq!(procs.user_frames(c.pid(), &[8], false), ["0x8"]);
    assert_eq!(procs.user_frames(u32::MAX - 1, &[0x1234], true), ["0x1234"]);
    assert_eq!(procs.go_pc(u32::MAX - 1, 0x1234), "0x1234");
    for r in [&mut a, &mut b, &mut c] {
        r.stop();
    }
}

/// The address of a function symbol in an ELF file.
fn elf_symbol(path: &Path, name: &str) -> Option<u64> {
    use object::{Object, ObjectSymbol};
    let data = std::fs::read(path).ok()?;
    let file = object::File::parse(&*data).ok()?;
    file.symbols()
        .chain(file.dynamic_symbols())
        .find(|s| s.name() == Ok(name) && s.address() != 0)
        .map(|s| s.address())
}

/// The first child of `parent` (stat field 4) whose executable's name is `exe_name`.
fn child_running(parent: u32, exe_name: &str) -> Option<u32> {
    for _ in 0..200 {
        for e in std::fs::read_dir("/proc").ok()?.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, r)| r.split_whitespace().nth(1));
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
            if ppid == Some(&parent.to_string()) && exe.file_name() == Some(exe_name.as_ref()) {
                wait_mapped(pid);
                return Some(pid);
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn process_in_private_namespace_symbolizes_after_exit() {
    if !require(is_root(), "namespace test needs root (unshare, mount)") {
        return;
    }
    let Some(pie) = shop_123_pie() else { return };
    let dir = std::env::temp_dir().join(format!("gprobe-procs-ns-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Only the child's mount namespace sees the tmpfs, so only it sees the copied binary.
    let script = format!(
        "mount -t tmpfs tmpfs {d} && cp {bin} {d}/nsshop && exec {d}/nsshop 800",
        d = dir.display(),
        bin = pie.display()
    );
    let mut ns = Running::spawn(
        Command::new("unshare")
            .args(["-m", "-p", "-f", "--mount-proc", "sh", "-c"])
            .arg(&script),
    );
    let pid = child_running(ns.pid(), "nsshop").expect("namespaced process started");
    let mut procs = Processes::new(Selector::all());
    assert!(procs.on_exec(pid), "found: {:?}", procs.skipped());
    let seen = dir.join("nsshop");
    let (bias, start_time) = {
        let p = procs.get(pid).unwrap();
        assert_eq!(p.exe.path(), seen.as_path(), "path as the process sees it");
        assert!(p.exe.is_pie() && p.exe_bias != 0);
        (p.exe_bias, p.start_time)
    };
    assert!(!seen.exists(), "the host cannot see the namespace's tmpfs");
    let _ = ns.0.wait();
    procs.on_exit(pid);
    assert!(std::fs::read_dir(format!("/proc/{pid}")).is_err(), "exited");
    let _ = std::fs::remove_dir(&dir);

    // Nothing Go-specific was read while it ran: the pclntab is read now, through our fd.
    let main = entry_of(&pie, "main.main") + bias;
    assert_eq!(procs.user_frames(pid, &[main], true), ["main.main+0"]);
    let p = procs.get_exact(pid, start_time).expect("kept after exit");
    assert!(!p.is_live() && p.exited.is_some());
    assert_eq!(p.service_name(), "example.com/shop");
    assert!(p.exe.go_version().unwrap().starts_with("go1.23"));
    assert_eq!(procs.live_count(), 0);
    assert_eq!(procs.go_processes().count(), 0);
}

#[test]
fn churn_stays_bounded() {
    let dir = std::env::temp_dir().join(format!("gprobe-procs-churn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let max = 16;
    let mut procs = Processes::new(Selector::all()).with_max_exited(max);
    let mut first = std::sync::Weak::new();
    for i in 0..200 {
        // A distinct file each time, so every process brings its own binary into the cache.
        let exe = dir.join(format!("sleep{i}"));
        // Copied by `cp`: written from this process, the copy's fd would be inherited by a
        // child another test thread forks meanwhile, and its exec would fail with ETXTBSY
        // (seen in CI).
        let copied = Command::new("cp").arg("/usr/bin/sleep").arg(&exe).status();
        assert!(copied.is_ok_and(|s| s.success()), "cp /usr/bin/sleep");
        let mut child = Running::spawn(Command::new(&exe).arg("30"));
        assert!(procs.on_exec(child.pid()), "{:?}", procs.skipped());
        if i == 0 {
            first = Arc::downgrade(&procs.get(child.pid()).unwrap().exe);
        }
        child.stop();
        procs.on_exit(child.pid());
        std::fs::remove_file(&exe).unwrap();
    }
    let _ = std::fs::remove_dir(&dir);
    assert_eq!(procs.live_count(), 0);
    assert_eq!(procs.exited_count(), max);
    // The kept processes' executables plus the libraries they share (libc, ld.so).
    assert!(
        procs.binary_count() <= max + 4,
        "{} binaries open",
        procs.binary_count()
    );
    assert!(first.strong_count() == 0, "oldest binary closed");
    // The newest exited process's executable was deleted, and is still readable through our fd.
    let last = procs.exited().last().unwrap();
    let meta = std::fs::metadata(last.exe.fd_path()).expect("deleted inode still open");
    assert_eq!(meta.ino(), last.exe.key().ino);
    // The cache's entries for closed binaries are swept too.
    assert!(procs.binaries.entries() <= 2 * (max + 4) + 65);
}

#[test]
fn scan_retires_a_process_whose_exit_was_missed() {
    let dir = std::env::temp_dir().join(format!("gprobe-procs-lost-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let exe = dir.join("lost");
    std::fs::copy("/usr/bin/sleep", &exe).unwrap();
    let mut procs = Processes::new(Selector {
        exe_globs: vec![exe.display().to_string()],
        cgroups: Vec::new(),
        pids: Vec::new(),
    });
    let mut child = Running::spawn(Command::new(&exe).arg("30"));
    assert!(procs.on_exec(child.pid()));
    child.stop(); // no on_exit: the event was lost
    procs.scan();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!((procs.live_count(), procs.exited_count()), (0, 1));
    assert!(procs.get(child.pid()).is_some_and(|p| !p.is_live()));
}

#[test]
fn reused_pid_inherits_nothing() {
    if !require(is_root(), "pid reuse test needs root (ns_last_pid)") {
        return;
    }
    let Some(go) = shop_119() else { return };
    let mut procs = Processes::new(Selector::all());
    let mut old = Running::spawn(Command::new("sleep").arg("30"));
    let pid = old.pid();
    assert!(procs.on_exec(pid));
    let old_start = procs.get(pid).unwrap().start_time;
    old.stop(); // exits unseen: no on_exit
    // Start time has 10 ms ticks; let the clock move so the two differ.
    std::thread::sleep(Duration::from_millis(30));
    // Ask the kernel for the same pid: the next fork gets ns_last_pid + 1 (other builders fork
    // too, so retry).
    let mut new = None;
    for _ in 0..50 {
        if std::fs::write("/proc/sys/kernel/ns_last_pid", (pid - 1).to_string()).is_err() {
            break;
        }
        let child = Running::spawn(&mut Command::new(&go));
        if child.pid() == pid {
            new = Some(child);
            break;
        }
    }
    if !require(new.is_some(), "could not get the kernel to reuse a pid") {
        return;
    }
    procs.scan();
    let p = procs.get(pid).expect("the new process");
    assert_ne!(p.start_time, old_start);
    assert!(p.is_go() && p.comm.starts_with("shop"), "{}", p.comm);
    let old = procs
        .get_exact(pid, old_start)
        .expect("the old one is history");
    assert!(!old.is_live() && !old.is_go() && old.comm == "sleep");
    assert_eq!(procs.live().filter(|p| p.pid == pid).count(), 1);
}

#[test]
fn exec_replaces_the_image() {
    let Some(go) = shop_119() else { return };
    // sh execs the Go program after a moment: same pid, same start time, new binary.
    let mut sh = Running::spawn(
        Command::new("sh")
            .arg("-c")
            .arg(format!("sleep 0.3; exec {} 2000", go.display())),
    );
    let mut procs = Processes::new(Selector::all());
    assert!(procs.on_exec(sh.pid()));
    assert!(!procs.get(sh.pid()).unwrap().is_go());
    procs.scan();
    std::thread::sleep(Duration::from_millis(700));
    // scan notices the missed exec (same start time, another executable).
    procs.scan();
    let p = procs.get(sh.pid()).unwrap();
    assert!(p.is_go(), "{:?}", p.exe.path());
    assert_eq!(p.exe.main_module(), Some("example.com/shop"));
    assert!(procs.exited().any(|p| p.pid == sh.pid() && !p.is_go()));
    sh.stop();
}

#[test]
fn selector_limits_the_scan() {
    let Some(go) = shop_119() else { return };
    let mut a = Running::spawn(&mut Command::new(&go));
    let mut c = Running::spawn(Command::new("sleep").arg("30"));
    let mut procs = Processes::new(Selector {
        exe_globs: vec![format!("{CACHE}/shop-*")],
        cgroups: Vec::new(),
        pids: Vec::new(),
    });
    procs.scan();
    assert!(procs.get(a.pid()).is_some());
    assert!(procs.get(c.pid()).is_none());
    assert!(procs.live().all(|p| p.exe.path().starts_with(CACHE)));
    let cgroup = procs.get(a.pid()).unwrap().cgroup.clone();
    let mut none = Processes::new(Selector {
        exe_globs: Vec::new(),
        cgroups: vec![format!("{cgroup}/no-such-child")],
        pids: Vec::new(),
    });
    none.scan();
    assert!(none.get(a.pid()).is_none());
    a.stop();
    c.stop();
}

const DLOPENER_C: &str = r#"#include <dlfcn.h>
#include <unistd.h>
int main(void) {
    usleep(300000);
    if (!dlopen("libz.so.1", RTLD_NOW)) return 1;
    sleep(30);
    return 0;
}
"#;

/// Where /proc/PID/maps says file offset 0 of a file named `name*` is mapped.
fn start_of(pid: u32, name: &str) -> Option<u64> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).ok()?;
    maps.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        let file = Path::new(f.get(5)?).file_name()?.to_str()?;
        (f[2] == "00000000" && file.starts_with(name))
            .then(|| u64::from_str_radix(f[0].split('-').next()?, 16).ok())
            .flatten()
    })
}

#[test]
fn library_loaded_later_is_learned_on_a_miss() {
    let libz = Path::new("/usr/lib/x86_64-linux-gnu/libz.so.1");
    let cc = Path::new("/usr/bin/cc");
    if !require(
        cc.exists() && libz.exists(),
        "dlopen test needs cc and libz",
    ) {
        return;
    }
    std::fs::create_dir_all(CACHE).unwrap();
    let (src, exe) = (
        Path::new(CACHE).join("dlopener.c"),
        Path::new(CACHE).join("dlopener"),
    );
    if std::fs::read_to_string(&src).ok().as_deref() != Some(DLOPENER_C) || !exe.exists() {
        std::fs::write(&src, DLOPENER_C).unwrap();
        let ok = Command::new(cc)
            .arg("-o")
            .arg(&exe)
            .arg(&src)
            .arg("-ldl")
            .status();
        assert!(ok.is_ok_and(|s| s.success()), "cc failed");
    }
    let mut child = Running::spawn(&mut Command::new(&exe));
    let pid = child.pid();
    let mut procs = Processes::new(Selector::all());
    assert!(procs.on_exec(pid));
    let has_libz = |p: &Processes| {
        p.get(pid)
            .unwrap()
            .mappings
            .iter()
            .any(|m| m.binary.file_name().starts_with("libz.so"))
    };
    assert!(!has_libz(&procs), "not loaded yet");
    let start = (0..100)
        .find_map(|_| {
            std::thread::sleep(Duration::from_millis(20));
            start_of(pid, "libz.so")
        })
        .expect("libz loaded");
    let func = elf_symbol(libz, "zlibVersion").expect("zlibVersion in libz");
    std::thread::sleep(REFRESH_PAUSE);
    assert_eq!(procs.user_symbol(pid, start + func), "zlibVersion");
    assert!(has_libz(&procs), "learned on the miss");
    child.stop();
}

/// Longer than the refresh rate limit, so a miss right after on_exec rereads the mappings.
const REFRESH_PAUSE: Duration = Duration::from_millis(150);

/// `-p A,B`: the registry knows the named pids and nothing else, by scan and by exec alike.
#[test]
fn pid_selector_knows_only_the_named_pids() {
    let mut a = Running::spawn(Command::new("sleep").arg("30"));
    let mut b = Running::spawn(Command::new("sleep").arg("30"));
    let mut procs = Processes::new(Selector {
        pids: vec![a.pid()],
        ..Selector::all()
    });
    procs.scan();
    assert!(procs.get(a.pid()).is_some());
    assert!(procs.get(b.pid()).is_none());
    assert_eq!(procs.live_count(), 1);
    assert!(!procs.on_exec(b.pid()));
    assert!(procs.on_exec(a.pid()));
    a.stop();
    b.stop();
}
