//! A uprobe's binary named as bpftrace names it: a path (`./prog`, `/usr/lib/x.so`), a library
//! by soname (`libc`, `libssl`, `c`) — from the `-p` process's `/proc/PID/maps` first, then
//! `ld.so.cache` (`ldconfig -p`) and the standard library directories — or a program on `PATH`.

use std::path::{Path, PathBuf};

/// Where `name` is. `None`: nothing found (the caller reports the name as given).
pub fn resolve_binary(name: &str, pid: Option<u32>) -> Option<PathBuf> {
    if name.contains('/') || Path::new(name).is_file() {
        return None; // a path: taken as written
    }
    let stem = name.strip_prefix("lib").unwrap_or(name);
    let stem = stem.split(".so").next().unwrap_or(stem);
    if let Some(pid) = pid
        && let Some(p) = mapped_library(pid, stem)
    {
        return Some(p);
    }
    if let Some(p) = program_on_path(name) {
        return Some(p);
    }
    cached_library(stem).or_else(|| library_in_dirs(stem))
}

/// `libSTEM.so`, `libSTEM.so.6`, `libSTEM-2.36.so`, `libSTEM.so.3.0`.
fn is_library(file_name: &str, stem: &str) -> bool {
    let Some(rest) = file_name
        .strip_prefix("lib")
        .and_then(|r| r.strip_prefix(stem))
    else {
        return false;
    };
    rest == ".so"
        || rest.starts_with(".so.")
        || (rest.starts_with('-') && (rest.ends_with(".so") || rest.contains(".so.")))
}

fn is_elf(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == *b"\x7fELF"
}

/// The library of that name the process has mapped (as the kernel sees its path).
fn mapped_library(pid: u32, stem: &str) -> Option<PathBuf> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).ok()?;
    maps.lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .filter(|p| p.starts_with('/'))
        .find(|p| {
            Path::new(p)
                .file_name()
                .and_then(|f| f.to_str())
                .is_some_and(|f| is_library(f, stem))
        })
        .map(|p| {
            // Through the process's root, so a library of a container is found too.
            let rooted = PathBuf::from(format!("/proc/{pid}/root{p}"));
            if rooted.exists() && !Path::new(p).exists() {
                rooted
            } else {
                PathBuf::from(p)
            }
        })
}

fn program_on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .filter(|d| !d.is_empty())
        .map(|dir| Path::new(dir).join(name))
        .find(|p| p.is_file() && is_elf(p))
}

/// From `ldconfig -p` (the dynamic loader's cache), this machine's word size only.
fn cached_library(stem: &str) -> Option<PathBuf> {
    let ldconfig = ["/sbin/ldconfig", "/usr/sbin/ldconfig"]
        .into_iter()
        .find(|p| Path::new(p).exists())?;
    let out = std::process::Command::new(ldconfig)
        .arg("-p")
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let native = if cfg!(target_arch = "x86_64") {
        "x86-64"
    } else {
        "AArch64"
    };
    text.lines()
        .filter_map(|l| {
            let (left, path) = l.trim().split_once(" => ")?;
            let (soname, flags) = left.split_once(' ')?;
            (is_library(soname, stem) && flags.contains(native)).then(|| PathBuf::from(path))
        })
        .find(|p| is_elf(p))
}

fn library_in_dirs(stem: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var("LD_LIBRARY_PATH")
        .unwrap_or_default()
        .split(':')
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .collect();
    let arch = if cfg!(target_arch = "x86_64") {
        "x86_64-linux-gnu"
    } else {
        "aarch64-linux-gnu"
    };
    for d in ["/lib", "/usr/lib", "/lib64", "/usr/lib64", "/usr/local/lib"] {
        dirs.push(Path::new(d).join(arch));
        dirs.push(PathBuf::from(d));
    }
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut found: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_str().is_some_and(|f| is_library(f, stem)))
            .map(|e| e.path())
            .filter(|p| is_elf(p))
            .collect();
        found.sort();
        if let Some(p) = found.into_iter().next() {
            return Some(p);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::is_library;

    #[test]
    fn library_names() {
        assert!(is_library("libc.so.6", "c"));
        assert!(is_library("libssl.so.3", "ssl"));
        assert!(is_library("libpthread.so.0", "pthread"));
        assert!(is_library("libfoo.so", "foo"));
        assert!(is_library("libc-2.31.so", "c"));
        assert!(!is_library("libcrypt.so.1", "c"));
        assert!(!is_library("libc_malloc_debug.so.0", "c"));
    }
}
