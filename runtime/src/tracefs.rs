//! tracefs: finding (or mounting) it, listing tracepoints like `bpftrace -l/-lv`, and handing
//! the raw format file of a tracepoint to the compiler's checker.

use crate::error::{RuntimeError, nearest};
use gprobe_compiler::span::Span;
use std::path::{Path, PathBuf};

const TRACEFS: &str = "/sys/kernel/tracing";
const DEBUGFS_TRACING: &str = "/sys/kernel/debug/tracing";

fn usable(dir: &Path) -> bool {
    dir.join("events").is_dir()
}

/// The tracefs directory, mounting tracefs at /sys/kernel/tracing when no mount exists. The
/// mount is left in place: it is what the kernel would show anyway and other tools expect it.
pub fn ensure_mounted() -> Result<PathBuf, RuntimeError> {
    for dir in [TRACEFS, DEBUGFS_TRACING] {
        if usable(Path::new(dir)) {
            return Ok(PathBuf::from(dir));
        }
    }
    let target = c"/sys/kernel/tracing";
    // SAFETY: all pointers are valid NUL-terminated strings; data is unused by tracefs.
    let rc = unsafe {
        libc::mount(
            c"nodev".as_ptr(),
            target.as_ptr(),
            c"tracefs".as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        let err = std::io::Error::last_os_error();
        let reason = match err.raw_os_error() {
            Some(libc::EPERM) => {
                "permission denied (gprobe needs root to mount tracefs)".to_string()
            }
            Some(libc::ENODEV) => "this kernel has no tracefs".to_string(),
            Some(libc::ENOENT) => {
                "/sys/kernel/tracing does not exist (is sysfs mounted?)".to_string()
            }
            _ => format!("mount -t tracefs nodev /sys/kernel/tracing: {err}"),
        };
        return Err(RuntimeError::Tracefs { reason });
    }
    if usable(Path::new(TRACEFS)) {
        Ok(PathBuf::from(TRACEFS))
    } else {
        Err(RuntimeError::Tracefs {
            reason: "mounted tracefs has no events directory".into(),
        })
    }
}

/// Every tracepoint as (category, name), sorted.
pub fn all_tracepoints() -> Result<Vec<(String, String)>, RuntimeError> {
    let root = ensure_mounted()?;
    let mut out = Vec::new();
    if let Ok(text) = std::fs::read_to_string(root.join("available_events")) {
        for line in text.lines() {
            if let Some((cat, name)) = line.split_once(':') {
                out.push((cat.to_string(), name.to_string()));
            }
        }
    } else {
        let events = root.join("events");
        let cats = std::fs::read_dir(&events)
            .map_err(|e| RuntimeError::io(format!("reading {}", events.display()), e))?;
        for cat in cats.flatten() {
            if !cat.path().is_dir() {
                continue;
            }
            for ev in std::fs::read_dir(cat.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                if ev.path().join("format").exists() {
                    out.push((
                        cat.file_name().to_string_lossy().into_owned(),
                        ev.file_name().to_string_lossy().into_owned(),
                    ));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The raw text of `events/<category>/<name>/format`. The compiler's checker parses it for
/// `args.field`; a missing tracepoint is an error listing the nearest names.
pub fn format_text(category: &str, name: &str) -> Result<String, RuntimeError> {
    let root = ensure_mounted()?;
    let path = root.join("events").join(category).join(name).join("format");
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(not_found(category, name, Span::default()))
        }
        Err(e) => Err(RuntimeError::io(format!("reading {}", path.display()), e)),
    }
}

/// The "tracepoint not found" error with the three nearest existing names.
pub fn not_found(category: &str, name: &str, span: Span) -> RuntimeError {
    let all = all_tracepoints().unwrap_or_default();
    let wanted = format!("{category}:{name}");
    let full: Vec<String> = all.iter().map(|(c, n)| format!("{c}:{n}")).collect();
    let near = nearest(&wanted, full.iter().map(String::as_str));
    RuntimeError::TracepointNotFound {
        category: category.into(),
        name: name.into(),
        nearest: near,
        span,
    }
}

/// The tracepoint's id, as perf_event_open wants it; checks existence before attaching.
pub fn exists(category: &str, name: &str) -> bool {
    ensure_mounted()
        .map(|root| {
            root.join("events")
                .join(category)
                .join(name)
                .join("id")
                .exists()
        })
        .unwrap_or(false)
}

/// The fields of a format file as bpftrace's `-lv` prints them (`int dfd`, `const char *
/// filename`), without the `common_` header fields.
pub fn format_fields(format: &str) -> Vec<String> {
    format
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("field:"))
        .filter_map(|l| l.split(';').next())
        .map(str::trim)
        .filter(|decl| {
            !decl
                .rsplit([' ', '*'])
                .next()
                .unwrap_or("")
                .starts_with("common_")
        })
        .map(str::to_string)
        .collect()
}

/// `tracepoint:syscalls:*`-style listing; with `verbose`, each tracepoint's fields indented
/// below it. A pattern without the `tracepoint:` prefix is matched against `category:name`.
pub fn list_tracepoints(pattern: &str, verbose: bool) -> Result<String, RuntimeError> {
    let pattern = pattern.trim();
    let rest = match pattern.split_once(':') {
        Some(("tracepoint" | "t", rest)) => rest,
        // Other providers (uprobe:, profile:, ...) have no tracepoints to list.
        Some((p, _)) if is_other_provider(p) => return Ok(String::new()),
        _ => pattern,
    };
    let rest = if rest.is_empty() { "*" } else { rest };
    // A bare pattern (`*sched_switch*`) is matched against the whole line, as bpftrace does.
    let whole = !pattern.contains(':');
    let (cat_pat, name_pat) = rest.split_once(':').unwrap_or((rest, "*"));
    let name_pat = if name_pat.is_empty() { "*" } else { name_pat };
    let mut out = String::new();
    for (cat, name) in all_tracepoints()? {
        let keep = if whole {
            glob(pattern, &format!("tracepoint:{cat}:{name}"))
        } else {
            glob(cat_pat, &cat) && glob(name_pat, &name)
        };
        if !keep {
            continue;
        }
        out.push_str(&format!("tracepoint:{cat}:{name}\n"));
        if verbose && let Ok(text) = format_text(&cat, &name) {
            for field in format_fields(&text) {
                out.push_str(&format!("    {field}\n"));
            }
        }
    }
    Ok(out)
}

/// `rawtracepoint:sched_*`-style listing (`PATTERN` matches the name; a module part,
/// `rawtracepoint:MODULE:NAME`, is ignored); with `verbose`, each one's arguments below it,
/// typed from BTF (`struct pt_regs * arg0`), where vmlinux BTF has the tracepoint.
pub fn list_raw_tracepoints(pattern: &str, verbose: bool) -> Result<String, RuntimeError> {
    let pattern = pattern
        .rsplit(':')
        .next()
        .filter(|p| !p.is_empty())
        .unwrap_or("*");
    let all = all_tracepoints()?;
    let kernel = if verbose {
        crate::kernel_types::KernelTypes::open()
    } else {
        None
    };
    let mut out = String::new();
    for name in gprobe_compiler::split::raw_tracepoint_names(&all) {
        if !glob(pattern, name) {
            continue;
        }
        out.push_str(&format!("rawtracepoint:{name}\n"));
        if let Some(args) = kernel.as_ref().and_then(|k| k.raw_tracepoint_args(name)) {
            for (i, ty) in args.iter().enumerate() {
                let sep = if ty.ends_with('*') { "" } else { " " };
                out.push_str(&format!("    {ty}{sep}arg{i}\n"));
            }
        }
    }
    Ok(out)
}

fn is_other_provider(p: &str) -> bool {
    matches!(
        p,
        "uprobe"
            | "uretprobe"
            | "u"
            | "ur"
            | "kprobe"
            | "kretprobe"
            | "k"
            | "kr"
            | "profile"
            | "interval"
            | "software"
            | "hardware"
            | "rawtracepoint"
            | "rt"
    )
}

pub use gprobe_compiler::names::glob_match as glob;

#[cfg(test)]
mod tests {
    use super::*;

    const OPENAT: &str = "name: sys_enter_openat\nID: 782\nformat:\n\
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\
\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\
\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;\n\
\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;\n\
\tfield:int flags;\toffset:32;\tsize:8;\tsigned:0;\n\
\tfield:umode_t mode;\toffset:40;\tsize:8;\tsigned:0;\n\nprint fmt: \"dfd: 0x%08lx\"\n";

    #[test]
    fn fields_like_bpftrace_lv() {
        assert_eq!(
            format_fields(OPENAT),
            vec![
                "int __syscall_nr",
                "int dfd",
                "const char * filename",
                "int flags",
                "umode_t mode"
            ]
        );
    }

    /// Against the real tracefs (mounted if needed): the listing matches bpftrace's form.
    #[test]
    fn lists_real_tracepoints() {
        if unsafe { libc::geteuid() } != 0 {
            assert!(
                std::env::var_os("CI").is_none(),
                "tracefs listing needs root under CI"
            );
            return;
        }
        let listing = list_tracepoints("tracepoint:syscalls:sys_enter_open*", false).unwrap();
        assert!(
            listing.contains("tracepoint:syscalls:sys_enter_openat\n"),
            "{listing}"
        );
        assert!(
            listing
                .lines()
                .all(|l| l.starts_with("tracepoint:syscalls:sys_enter_open"))
        );
        let verbose = list_tracepoints("tracepoint:syscalls:sys_enter_openat", true).unwrap();
        assert_eq!(
            verbose,
            "tracepoint:syscalls:sys_enter_openat\n    int __syscall_nr\n    int dfd\n    const char * filename\n    int flags\n    umode_t mode\n"
        );
        assert!(
            format_text("syscalls", "sys_enter_openat")
                .unwrap()
                .contains("field:const char * filename;")
        );
        match format_text("syscalls", "sys_enter_opnat") {
            Err(RuntimeError::TracepointNotFound { nearest, .. }) => {
                assert!(
                    nearest.contains(&"syscalls:sys_enter_openat".to_string()),
                    "{nearest:?}"
                )
            }
            other => panic!("expected TracepointNotFound, got {other:?}"),
        }
    }
}
