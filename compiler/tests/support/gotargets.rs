//! Builds the Go test programs under `tests/go/` once per (toolchain, flavour) with
//! `scripts/go-build` and caches them in `target/gotargets/`; runs the same toolchain's
//! `go tool nm` / `go tool objdump` / `go version -m` for ground truth.
//!
//! A missing toolchain skips the test only when `CI` is unset; under CI it fails.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// Debian's Go library sources (golang-*-dev packages), for [`Flavour::Debian`].
pub const DEBIAN_GOCODE: &str = "/usr/share/gocode";

pub const VERSIONS: [&str; 4] = ["1.19", "1.23.9", "1.25.5", "1.27.3"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    Plain,
    /// `-ldflags=-s -w`: no symbols, no DWARF.
    Stripped,
    Pie,
    /// `CGO_ENABLED=1`, externally linked.
    Cgo,
    /// Cross-compiled for `GOARCH=arm64`.
    Arm64,
    /// Against Debian's Go library sources (`GOPATH=/usr/share/gocode:...`, GOPATH mode).
    Debian,
    /// [`Flavour::Debian`], `-ldflags=-s -w`.
    DebianStripped,
}

impl Flavour {
    fn suffix(self) -> &'static str {
        match self {
            Flavour::Plain => "",
            Flavour::Stripped => "-s",
            Flavour::Pie => "-pie",
            Flavour::Cgo => "-cgo",
            Flavour::Arm64 => "-arm64",
            Flavour::Debian => "-deb",
            Flavour::DebianStripped => "-deb-s",
        }
    }
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

fn cache_root() -> PathBuf {
    std::env::var_os("GPROBE_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/gprobe")))
        .unwrap_or_else(|| PathBuf::from("/nonexistent"))
}

/// The `go` command of a toolchain version, if installed.
pub fn go_command(version: &str) -> Option<PathBuf> {
    let p = if version.starts_with("1.19") {
        PathBuf::from("/usr/lib/go-1.19/bin/go")
    } else {
        cache_root().join("go").join(version).join("go/bin/go")
    };
    p.is_file().then_some(p)
}

fn missing(what: &str) -> Option<PathBuf> {
    if std::env::var_os("CI").is_some() {
        panic!("{what} is missing and CI is set: install it with scripts/install-deps");
    }
    eprintln!("skipping: {what} is missing (run scripts/install-deps)");
    None
}

static BUILD_LOCK: Mutex<()> = Mutex::new(());

/// Path of `tests/go/<program>` built with Go `version` as `flavour`, building it if needed.
/// None (skip) when the toolchain is missing and CI is unset.
pub fn target(program: &str, version: &str, flavour: Flavour) -> Option<PathBuf> {
    if go_command(version).is_none() {
        return missing(&format!("Go {version}"));
    }
    if flavour == Flavour::Cgo && which("gcc").is_none() {
        return missing("gcc (for the cgo target)");
    }
    let debian = matches!(flavour, Flavour::Debian | Flavour::DebianStripped);
    if debian && !Path::new(DEBIAN_GOCODE).join("src").is_dir() {
        return missing(&format!("Debian's Go library sources in {DEBIAN_GOCODE}"));
    }
    let src = repo_root().join("tests/go").join(program);
    let dir = repo_root().join("target/gotargets");
    let out = dir.join(format!("{program}-{version}{}", flavour.suffix()));
    let _guard = BUILD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if is_fresh(&out, &src) {
        return Some(out);
    }
    std::fs::create_dir_all(&dir).expect("create target/gotargets");
    let tmp = dir.join(format!(
        ".{program}-{version}{}.{}",
        flavour.suffix(),
        std::process::id()
    ));
    let mut cmd = Command::new(repo_root().join("scripts/go-build"));
    cmd.arg(version).arg(&src).arg(&tmp);
    match flavour {
        Flavour::Plain => {}
        Flavour::Stripped => {
            cmd.arg("-ldflags=-s -w");
        }
        Flavour::Pie => {
            cmd.arg("-buildmode=pie");
        }
        Flavour::Cgo => {
            cmd.env("CGO_ENABLED", "1");
        }
        Flavour::Arm64 => {
            cmd.env("GOARCH", "arm64");
        }
        Flavour::Debian => {
            cmd.env("GPROBE_GOPATH", DEBIAN_GOCODE);
        }
        Flavour::DebianStripped => {
            cmd.env("GPROBE_GOPATH", DEBIAN_GOCODE)
                .arg("-ldflags=-s -w");
        }
    }
    let status = cmd.status().expect("run scripts/go-build");
    assert!(
        status.success(),
        "go-build {version} {program} {flavour:?} failed"
    );
    std::fs::rename(&tmp, &out).expect("move built target into place");
    Some(out)
}

fn is_fresh(out: &Path, src: &Path) -> bool {
    let Ok(built) = std::fs::metadata(out).and_then(|m| m.modified()) else {
        return false;
    };
    let Ok(entries) = std::fs::read_dir(src) else {
        return false;
    };
    entries.flatten().all(|e| {
        e.metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t <= built)
    })
}

fn which(cmd: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(cmd))
        .find(|p| p.is_file())
}

/// Runs `go <args>` of a toolchain offline and returns stdout.
pub fn go(version: &str, args: &[&str]) -> String {
    let go = go_command(version).expect("toolchain checked by target()");
    let gocache = cache_root().join("gocache").join(version);
    let out = Command::new(go)
        .args(args)
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOCACHE", gocache)
        .output()
        .expect("run go");
    assert!(
        out.status.success(),
        "go {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// `go tool nm` text symbols: (name, address).
pub fn nm_text_symbols(version: &str, bin: &Path) -> Vec<(String, u64)> {
    go(version, &["tool", "nm", bin.to_str().expect("utf-8 path")])
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let addr = u64::from_str_radix(f.next()?, 16).ok()?;
            let kind = f.next()?;
            let name = f.collect::<Vec<_>>().join(" ");
            matches!(kind, "T" | "t").then_some((name, addr))
        })
        .collect()
}

/// One instruction line of `go tool objdump -s FUNC`: (file:line, address, hex bytes, text).
pub struct ObjdumpInsn {
    pub file_line: String,
    pub addr: u64,
    pub bytes: Vec<u8>,
    pub text: String,
}

/// The instructions of functions whose name matches `regex` (objdump's `-s` is a regexp).
pub fn objdump(version: &str, bin: &Path, regex: &str) -> Vec<(String, Vec<ObjdumpInsn>)> {
    let text = go(
        version,
        &[
            "tool",
            "objdump",
            "-s",
            regex,
            bin.to_str().expect("utf-8 path"),
        ],
    );
    let mut out: Vec<(String, Vec<ObjdumpInsn>)> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("TEXT ") {
            // "TEXT main.work(SB) /path/main.go"
            let name = rest.split("(SB)").next().unwrap_or(rest).to_owned();
            out.push((name, Vec::new()));
            continue;
        }
        let mut f = line.split('\t').map(str::trim).filter(|s| !s.is_empty());
        let (Some(file_line), Some(addr), Some(hex)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let Some(addr) = addr
            .strip_prefix("0x")
            .and_then(|a| u64::from_str_radix(a, 16).ok())
        else {
            continue;
        };
        let bytes = (0..hex.len() / 2)
            .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
            .collect();
        let text = f.collect::<Vec<_>>().join(" ");
        if let Some((_, insns)) = out.last_mut() {
            insns.push(ObjdumpInsn {
                file_line: file_line.to_owned(),
                addr,
                bytes,
                text,
            });
        }
    }
    out
}
