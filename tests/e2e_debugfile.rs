//! Separate debug info end to end: a Go binary stripped after the build (`objcopy --strip-all`)
//! traced with the DWARF of the same build kept aside (`objcopy --only-keep-debug`), given with
//! `--debug-file` or found in /usr/lib/debug/.build-id/ by GNU build id; a debug file of another
//! build refused naming both build ids; `-v` describing the target; and the one refusal of a
//! recipe whose package the target does not link. Go 1.19 and 1.27.3, real kernel.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support::*;

const LIMIT: Duration = Duration::from_secs(120);
const VERSIONS: &[&str] = &["1.19", "1.27.3"];

/// Arguments by name, a result and `goid` (runtime offsets from DWARF): what needs DWARF on a
/// user's own function, which gprobe's tables for stripped binaries do not cover.
const PROGRAM: &str = r#"uprobe:main.work { printf("work %d %s\n", args.id, str(args.name)); @g[goid] = count(); }
uretprobe:main.work { @r[(int64)retval] = count(); }"#;

/// `bin` split as a distribution does: the stripped binary and its debug file, in `dir`.
fn split_debug(bin: &Path, dir: &TempDir) -> (PathBuf, PathBuf) {
    let debug = dir.path("work.debug");
    let stripped = dir.path("work");
    for args in [
        vec![
            "--only-keep-debug".as_ref(),
            bin.as_os_str(),
            debug.as_os_str(),
        ],
        vec![
            "--strip-all".as_ref(),
            bin.as_os_str(),
            stripped.as_os_str(),
        ],
    ] {
        let status = Command::new("objcopy")
            .args(&args)
            .status()
            .expect("objcopy");
        assert!(status.success(), "objcopy {args:?} failed");
    }
    (stripped, debug)
}

/// The `go` command of a toolchain of the matrix.
fn go_command(version: &str) -> PathBuf {
    if version == "1.19" {
        PathBuf::from("/usr/lib/go-1.19/bin/go")
    } else {
        cache_dir().join("go").join(version).join("go/bin/go")
    }
}

/// The Go build id, as the toolchain itself reads it (`go tool buildid`).
fn go_build_id(version: &str, file: &Path) -> String {
    let out = Command::new(go_command(version))
        .args(["tool", "buildid"])
        .arg(file)
        .output()
        .expect("go tool buildid");
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout).trim().to_string()
}

/// gprobe on `cmd` (the work program, 20 calls): (success, stdout, stderr).
fn trace(args: &[&str], cmd: &str) -> (bool, String, String) {
    let _k = kernel_lock();
    let mut all = vec!["-e", PROGRAM];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-c", cmd]);
    let out = run_gprobe(&all, LIMIT);
    assert_no_gprobe_programs();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

fn ready() -> bool {
    e2e_ready() && have_tool("objcopy", "binutils splits debug info off a binary")
}

/// With --debug-file the stripped binary gives exactly the unstripped one's output; without it
/// `args.id` has no signature.
#[test]
fn stripped_with_debug_file_equals_unstripped() {
    if !ready() {
        return;
    }
    for version in VERSIONS {
        if !toolchain_available(version) {
            continue;
        }
        let bin = go_target("work", version, &[]);
        let dir = TempDir::new(&format!("debugfile-{version}"));
        let (stripped, debug) = split_debug(&bin, &dir);
        let plain_cmd = format!("{} -n 20 -q", bin.display());
        let stripped_cmd = format!("{} -n 20 -q", stripped.display());

        let (ok, plain, err) = trace(&[], &plain_cmd);
        assert!(ok, "Go {version} unstripped: {err}");
        for i in 1..=20 {
            assert!(
                plain.contains(&format!("work {i} job-{i}\n")),
                "Go {version}: call {i} missing:\n{plain}"
            );
        }
        assert_eq!(map_lines(&plain, "@g").values().sum::<u64>(), 20, "{plain}");
        // main.work returns id*2, or -id for multiples of 7 (the program's own rule).
        let r = map_lines(&plain, "@r");
        assert_eq!(r.get("-7"), Some(&1), "{plain}");
        assert_eq!(r.get("40"), Some(&1), "{plain}");

        let (ok, with_debug, err) =
            trace(&["--debug-file", debug.to_str().unwrap()], &stripped_cmd);
        assert!(ok, "Go {version} stripped with --debug-file: {err}");
        assert_eq!(
            with_debug, plain,
            "Go {version}: stripped + debug file differs from unstripped"
        );

        // `-l -v` lists the signature from the debug file as from the binary.
        let listing = |bin: &Path, debug: Option<&Path>| {
            let mut cmd = Command::new(gprobe_bin());
            cmd.args(["-l", "-v", &format!("uprobe:{}:main.work", bin.display())]);
            if let Some(d) = debug {
                cmd.arg("--debug-file").arg(d);
            }
            let out = cmd.output().expect("gprobe -l");
            assert!(out.status.success(), "{}", text(&out.stderr));
            text(&out.stdout).replace(bin.to_str().unwrap(), "BIN")
        };
        let listed = listing(&bin, None);
        assert!(
            listed.contains("    args.id int64\n    args.name string\n"),
            "{listed}"
        );
        assert_eq!(listing(&stripped, Some(&debug)), listed, "Go {version}");

        // Probes naming the target by another spelling of its path get the debug file too.
        let named = PROGRAM.replace(
            "probe:main.work",
            &format!("probe:{}:main.work", stripped.display()),
        );
        let out = {
            let _k = kernel_lock();
            let child = Command::new(gprobe_bin())
                .current_dir(&dir.0)
                .args([
                    "-e",
                    &named,
                    "--debug-file",
                    "work.debug",
                    "-c",
                    "./work -n 20 -q",
                ])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn gprobe");
            wait_with_limit(child, LIMIT)
        };
        assert!(out.status.success(), "Go {version}: {}", text(&out.stderr));
        assert_eq!(
            text(&out.stdout),
            plain,
            "Go {version}: probes naming the binary"
        );

        let (ok, _, err) = trace(&[], &stripped_cmd);
        assert!(!ok, "Go {version}: args by name without DWARF should fail");
        assert!(
            err.contains("E0404") && err.contains("no DWARF"),
            "Go {version}: {err}"
        );
    }
}

/// With `-p PID` the debug file is the running process's (`/proc/PID/exe`): checked, not run.
#[test]
fn debug_file_for_a_running_process() {
    if !ready() || !toolchain_available("1.27.3") {
        return;
    }
    let dir = TempDir::new("debugfile-pid");
    let (stripped, debug) = split_debug(&go_target("work", "1.27.3", &[]), &dir);
    // Sleeps before its first call: gprobe only compiles against it.
    let mut child = Command::new(&stripped)
        .args(["-n", "1", "-delay", "120s"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start work");
    let pid = child.id().to_string();
    let check = |debug: Option<&Path>| {
        let mut args = vec!["--check", "-v", "-e", PROGRAM, "-p", &pid];
        if let Some(d) = debug {
            args.extend(["--debug-file", d.to_str().unwrap()]);
        }
        run_gprobe(&args, LIMIT)
    };
    let with = check(Some(&debug));
    let without = check(None);
    let _ = child.kill();
    let _ = child.wait();
    let err = text(&with.stderr);
    assert!(with.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "gprobe: target /proc/{pid}/exe\n\
             gprobe:   Go version: go1.27.3\n"
        )) && err.contains(&format!(
            "gprobe:   DWARF: debug file {}\n",
            debug.display()
        )),
        "{err}"
    );
    assert!(!without.status.success());
    assert!(
        text(&without.stderr).contains("E0404"),
        "{}",
        text(&without.stderr)
    );
}

/// A debug file of another build is refused before anything attaches, naming both build ids.
#[test]
fn debug_file_of_another_build_is_refused() {
    if !ready() {
        return;
    }
    for version in VERSIONS {
        if !toolchain_available(version) {
            continue;
        }
        let dir = TempDir::new(&format!("debugfile-other-{version}"));
        let (stripped, _) = split_debug(&go_target("work", version, &[]), &dir);
        // The same source linked differently: another build, another build id.
        let other = go_target("work", version, &["-ldflags=-X main.unused=1"]);
        let other_debug = dir.path("other.debug");
        let status = Command::new("objcopy")
            .arg("--only-keep-debug")
            .args([&other, &other_debug])
            .status()
            .expect("objcopy");
        assert!(status.success());
        let (ok, stdout, err) = trace(
            &["--debug-file", other_debug.to_str().unwrap()],
            &format!("{} -n 20 -q", stripped.display()),
        );
        assert!(
            !ok,
            "Go {version}: a foreign debug file was accepted:\n{stdout}"
        );
        assert!(
            !err.contains("Attaching") && !stdout.contains("work "),
            "{err}"
        );
        assert!(err.contains("is not from this build"), "{err}");
        let ours = go_build_id(version, &stripped);
        let theirs = go_build_id(version, &other);
        assert_ne!(ours, theirs);
        assert!(
            err.contains(&ours) && err.contains(&theirs),
            "Go {version}: both build ids ({ours}, {theirs}) should be named:\n{err}"
        );
        assert_eq!(err.matches("error").count(), 1, "one error: {err}");

        // A file without build ids cannot be matched to the binary: refused too.
        let junk = dir.path("junk.debug");
        std::fs::write(&junk, "not an ELF file").unwrap();
        let (ok, _, err) = trace(
            &["--debug-file", junk.to_str().unwrap()],
            &format!("{} -n 20 -q", stripped.display()),
        );
        assert!(!ok);
        assert!(
            err.contains("cannot be checked against")
                && err.contains("the debug file has no build id"),
            "{err}"
        );
    }
    // Without -p/-c there is no binary the debug file belongs to.
    let out = run_gprobe(
        &[
            "--debug-file",
            "/dev/null",
            "-e",
            "uprobe:/bin/true:main { }",
        ],
        LIMIT,
    );
    assert!(!out.status.success());
    assert_eq!(
        text(&out.stderr),
        "gprobe: error: --debug-file needs the binary it belongs to: give -p PID or -c CMD\n"
    );
}

/// Removes a file installed for a test when the test ends, even on failure.
struct Installed(PathBuf);

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A GNU build id (`-ldflags=-B`, unique to this test so no other binary finds the file) finds
/// the debug file in /usr/lib/debug/.build-id/xx/yyyy.debug without --debug-file; -v says so.
#[test]
fn debug_file_found_by_build_id() {
    if !ready() {
        return;
    }
    for (version, id) in [
        ("1.19", "6770726f6265e2e00119a1"),
        ("1.27.3", "6770726f6265e2e02703a1"),
    ] {
        if !toolchain_available(version) {
            continue;
        }
        let flag = format!("-ldflags=-B 0x{id}");
        let bin = go_target("work", version, &[&flag]);
        let dir = TempDir::new(&format!("debugfile-buildid-{version}"));
        let (stripped, debug) = split_debug(&bin, &dir);
        let installed = PathBuf::from(format!(
            "/usr/lib/debug/.build-id/{}/{}.debug",
            &id[..2],
            &id[2..]
        ));
        std::fs::create_dir_all(installed.parent().unwrap())
            .expect("create /usr/lib/debug/.build-id");
        std::fs::copy(&debug, &installed).expect("install the debug file");
        let _guard = Installed(installed.clone());

        let (ok, plain, err) = trace(&[], &format!("{} -n 20 -q", bin.display()));
        assert!(ok, "{err}");
        let (ok, found, err) = trace(&["-v"], &format!("{} -n 20 -q", stripped.display()));
        assert!(ok, "Go {version}: {err}");
        assert_eq!(
            found, plain,
            "Go {version}: build-id debug file output differs"
        );
        assert!(
            err.contains(&format!(
                "gprobe:   DWARF: debug file {}\n",
                installed.display()
            )),
            "Go {version}: {err}"
        );
    }
}

/// `-v`: Go version, main module, library modules (tests/go/modinfo, module mode with one
/// dependency) and where DWARF comes from, for the binary, a debug file and neither.
#[test]
fn verbose_describes_the_target() {
    if !ready() {
        return;
    }
    for version in VERSIONS {
        if !toolchain_available(version) {
            continue;
        }
        let bin = go_program_with("tests/go/modinfo", version, &[], &[("GO111MODULE", "on")]);
        let bare = go_program_with(
            "tests/go/modinfo",
            version,
            &["-ldflags=-s -w"],
            &[("GO111MODULE", "on")],
        );
        let dir = TempDir::new(&format!("debugfile-v-{version}"));
        let (stripped, debug) = split_debug(&bin, &dir);
        let go_version = {
            let out = Command::new(go_command(version))
                .arg("version")
                .arg(&bin)
                .output()
                .expect("go version");
            // `PATH: go1.27.3`
            text(&out.stdout)
                .trim()
                .rsplit(' ')
                .next()
                .unwrap()
                .to_string()
        };
        let prog = r#"uprobe:"example.com/greet.Hello" { printf("%s\n", str(args.name)); }"#;
        let cases = [
            (&bin, None, "the binary".to_string()),
            (
                &stripped,
                Some(&debug),
                format!("debug file {}", debug.display()),
            ),
            (&bare, None, "none (stripped; no debug file)".to_string()),
        ];
        for (target, debug_file, dwarf) in cases {
            let mut args = vec!["-v", "-q", "--check", "-e", prog];
            if let Some(d) = debug_file {
                args.extend(["--debug-file", d.to_str().unwrap()]);
            }
            let cmd = target.display().to_string();
            args.extend(["-c", &cmd]);
            let out = run_gprobe(&args, LIMIT);
            let err = text(&out.stderr);
            let expected = format!(
                "gprobe: target {cmd}\n\
                 gprobe:   Go version: {go_version}\n\
                 gprobe:   main module: example.com/modinfo (devel)\n\
                 gprobe:   library modules: 1\n\
                 gprobe:     example.com/greet v1.2.3 => ./greet (devel)\n\
                 gprobe:   DWARF: {dwarf}\n"
            );
            assert!(
                err.starts_with(&expected),
                "Go {version}:\n{err}\nexpected:\n{expected}"
            );
            // args by name need DWARF: the -s -w build has none.
            assert_eq!(
                out.status.success(),
                debug_file.is_some() || target == &bin,
                "{err}"
            );
        }
    }
}

/// `-v` on a GOPATH build (tests/go/gopathlib against Debian's sources, as Debian builds its Go
/// programs; stripped too): no modules recorded, the library named from the function table.
#[test]
fn verbose_names_the_libraries_of_a_gopath_build() {
    if !e2e_ready() {
        return;
    }
    if !std::path::Path::new("/usr/share/gocode/src/github.com/go-chi/chi").is_dir() {
        assert!(
            !under_ci(),
            "golang-github-go-chi-chi-dev is missing (scripts/install-deps)"
        );
        eprintln!("skipped: golang-github-go-chi-chi-dev is missing");
        return;
    }
    for version in VERSIONS {
        if !toolchain_available(version) {
            continue;
        }
        for flags in [&[][..], &["-ldflags=-s -w"][..]] {
            let bin = go_program_with(
                "tests/go/gopathlib",
                version,
                flags,
                &[("GPROBE_GOPATH", "/usr/share/gocode")],
            );
            let run = Command::new(&bin).output().expect("run gopathlib");
            assert_eq!(text(&run.stdout), "user 7\n");
            let cmd = bin.display().to_string();
            let out = run_gprobe(
                &[
                    "-v",
                    "--check",
                    "-e",
                    "uprobe:main.main { @n = count(); }",
                    "-c",
                    &cmd,
                ],
                LIMIT,
            );
            let err = text(&out.stderr);
            assert!(out.status.success(), "{err}");
            let dwarf = if flags.is_empty() {
                "the binary"
            } else {
                "none (stripped; no debug file)"
            };
            assert!(
                err.contains(&format!(
                    "gprobe:   library modules: none recorded\n\
                     gprobe:   libraries linked (from the function table; no versions): 1\n\
                     gprobe:     github.com/go-chi/chi\n\
                     gprobe:   DWARF: {dwarf}\n"
                )),
                "Go {version} {flags:?}:\n{err}"
            );
        }
    }
}

/// A recipe on a program that does not link what it traces: one refusal, not a cascade.
#[test]
fn recipe_without_its_package_is_one_refusal() {
    if !e2e_ready() {
        return;
    }
    for version in VERSIONS {
        if !toolchain_available(version) {
            continue;
        }
        let bin = go_target("work", version, &["-ldflags=-s -w"]);
        for (recipe, what) in [
            ("http-latency", "HTTP server"),
            ("http-client", "HTTP client"),
        ] {
            let out = run_gprobe(
                &["--recipe", recipe, "-c", &format!("{} -n 3", bin.display())],
                LIMIT,
            );
            let err = text(&out.stderr);
            assert!(!out.status.success());
            assert!(
                err.contains(&format!(
                    "error[E0412]: no {what} in this binary: `net/http` is not linked"
                )),
                "{recipe} on Go {version}:\n{err}"
            );
            assert_eq!(
                err.matches("error[").count(),
                1,
                "{recipe}: one error:\n{err}"
            );
            assert!(!err.contains("never assigned"), "{err}");
            assert!(
                err.ends_with(&format!("gprobe: 1 error(s) in stdlib/{recipe}.gp\n")),
                "{err}"
            );
        }
        // A script without a `// @requires` header: the packages named from its uprobes.
        let script = r#"uprobe:"google.golang.org/grpc.(*Server).handleStream" { @start[tid] = nsecs; }
uprobe:"google.golang.org/grpc.(*Server).processUnaryRPC" /@start[tid]/ { @lat = hist(nsecs - @start[tid]); }"#;
        let out = run_gprobe(
            &["-e", script, "-c", &format!("{} -n 3", bin.display())],
            LIMIT,
        );
        let err = text(&out.stderr);
        assert!(!out.status.success());
        assert!(
            err.contains("error[E0412]: `google.golang.org/grpc` is not linked into this binary"),
            "Go {version}:\n{err}"
        );
        assert_eq!(err.matches("error[").count(), 1, "one error:\n{err}");
    }
}
