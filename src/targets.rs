//! `-p`'s processes: parsing `-p 12,34`, what a uprobe without a binary means with several
//! pids, and which file a uprobe's named binary is in the target's own view (a process in a
//! container sees its own files at the paths it was built with).

use gprobe_compiler::ast::{Expansion, ProbeKind, Program};
use gprobe_compiler::diag::{Diagnostic, codes};
use gprobe_compiler::names::is_binary_pattern;
use gprobe_compiler::span::Spanned;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// `-p`'s value: one process id or a comma list of them (duplicates dropped, order kept).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pids(pub Vec<u32>);

impl Pids {
    /// The one pid of `-p PID` (the fast path: offsets are compile-time constants).
    pub fn single(&self) -> Option<u32> {
        match self.0.as_slice() {
            [pid] => Some(*pid),
            _ => None,
        }
    }

    /// `12,34` for messages, as the flag is written.
    pub fn listed(&self) -> String {
        let all: Vec<String> = self.0.iter().map(u32::to_string).collect();
        all.join(",")
    }
}

/// Parses `-p`'s value: `1234` or `12,34`. Each id is a decimal number in Linux's range (1 to
/// PID_MAX_LIMIT, 2^22); what is wrong is said with the item that is.
pub fn pids_arg(text: &str) -> Result<Pids, String> {
    const PID_MAX_LIMIT: u64 = 1 << 22;
    let mut pids = Vec::new();
    for (i, item) in text.split(',').enumerate() {
        let item = item.trim();
        let which = if text.contains(',') {
            format!("item {} (`{item}`)", i + 1)
        } else {
            format!("`{item}`")
        };
        let pid = match item.parse::<u64>() {
            _ if item.is_empty() => {
                return Err(format!(
                    "item {} is empty: give process ids separated by single commas, e.g. -p 12,34",
                    i + 1
                ));
            }
            Ok(0) => return Err(format!("{which}: process ids start at 1")),
            Ok(pid) if pid <= PID_MAX_LIMIT => pid as u32,
            Ok(_) => return Err(format!("{which}: process ids are at most {PID_MAX_LIMIT}")),
            Err(_) => {
                return Err(format!(
                    "{which}: a process id is a decimal number, e.g. -p 1234 or -p 12,34"
                ));
            }
        };
        if !pids.contains(&pid) {
            pids.push(pid);
        }
    }
    Ok(Pids(pids))
}

/// `-p A,B`: a uprobe without a binary means each process's own executable. It becomes the
/// pattern `*`, which `patterns::expand_in_pids` then expands to those executables (each file
/// once, one set of programs per distinct binary, as for `uprobe:*:FUNC` node-wide).
pub fn each_pid_binary(program: &mut Program) {
    for probe in &mut program.probes {
        for point in &mut probe.attach {
            if let ProbeKind::Uprobe { binary, .. } = &mut point.kind
                && binary.is_none()
            {
                *binary = Some(Spanned::new("*".to_string(), point.span));
            }
        }
    }
}

/// After `expand_in_pids`: a uprobe none of the processes can take is an error (node-wide a
/// pattern waits for programs started later; here nothing else is traced).
pub fn unmatched_in_pids(program: &Program, pids: &Pids) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for point in program.probes.iter().flat_map(|p| &p.attach) {
        let (
            Some(Expansion::Pending {
                matched: 0,
                pattern,
            }),
            ProbeKind::Uprobe { function, .. },
        ) = (&point.expansion, &point.kind)
        else {
            continue;
        };
        let whose = if pattern == "*" {
            "runs a Go program".to_string()
        } else {
            format!("runs an executable matching `{pattern}`")
        };
        out.push(
            Diagnostic::error(
                codes::NO_FUNCTION,
                format!(
                    "no process of -p {} {whose} with `{}`",
                    pids.listed(),
                    function.node
                ),
            )
            .primary(point.span, "nothing to attach to")
            .note(format!(
                "with several pids, a uprobe attaches in each process whose executable has the \
                 function; check it with `gprobe -l 'uprobe:/proc/PID/exe:{}'`",
                function.node
            )),
        );
    }
    out
}

/// The file `path` names in process `pid`'s own view: `path` itself when that is the same file
/// (device and inode) as from here, else `/proc/PID/root/PATH`, which the kernel resolves in the
/// process's mount namespace (a container). `Err` says why neither serves.
fn file_in(pid: u32, path: &str) -> Result<PathBuf, String> {
    let absolute = crate::patterns::absolute(path);
    let theirs = PathBuf::from(format!("/proc/{pid}/root{absolute}"));
    let key = |p: &Path| std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()));
    let ours = key(Path::new(path));
    // A zombie (or a process gone by now) has no root to look into: attaching reports that.
    if key(Path::new(&format!("/proc/{pid}/root/"))).is_none() {
        return Ok(PathBuf::from(path));
    }
    // Missing here as well: the checker says so, as without -p.
    let Some(their_file) = key(&theirs).or(ours.is_none().then_some((0, 0))) else {
        let exe = std::fs::read_link(format!("/proc/{pid}/exe"))
            .map(|e| format!(" (it runs {})", e.display()))
            .unwrap_or_default();
        return Err(format!(
            "process {pid} has no file at {absolute} in its own view of the filesystem{exe}; \
             the uprobe would sit in a file it does not run and count nothing"
        ));
    };
    if ours.is_none() || ours == Some(their_file) {
        return Ok(PathBuf::from(path));
    }
    Ok(theirs)
}

/// With `-p`: each uprobe's named binary (not a pattern) is made the file the traced processes
/// see at that path. A process in another mount namespace (a container) may run another file at
/// the same path than the host has there; a uprobe on the host's file would never fire in it.
/// With several pids that see different files there, the probe is an error (trace them apart).
/// Returns notes for `-v` (which binaries were replaced) or the diagnostics.
pub fn own_binaries(program: &mut Program, pids: &Pids) -> Result<Vec<String>, Vec<Diagnostic>> {
    let mut notes = Vec::new();
    let mut errors = Vec::new();
    for point in program.probes.iter_mut().flat_map(|p| &mut p.attach) {
        let ProbeKind::Uprobe {
            binary: Some(binary),
            ..
        } = &mut point.kind
        else {
            continue;
        };
        if is_binary_pattern(&binary.node) || binary.node.starts_with("/proc/") {
            continue;
        }
        let mut files: Vec<(u32, PathBuf)> = Vec::new();
        let mut failed = false;
        for &pid in &pids.0 {
            match file_in(pid, &binary.node) {
                Ok(file) => files.push((pid, file)),
                Err(why) => {
                    errors.push(
                        Diagnostic::error(
                            codes::BAD_BINARY,
                            format!("process {pid} does not see {}", binary.node),
                        )
                        .primary(binary.span, "not the traced process's file")
                        .note(why),
                    );
                    failed = true;
                }
            }
        }
        if failed {
            continue;
        }
        let host = PathBuf::from(&binary.node);
        let mut distinct: Vec<&PathBuf> = Vec::new();
        for (_, file) in &files {
            if !distinct.iter().any(|d| same_file(d, file)) {
                distinct.push(file);
            }
        }
        match distinct.as_slice() {
            [one] if **one == host => {}
            [one] => {
                notes.push(format!(
                    "{}: the traced process sees another file at that path than this host; \
                     tracing its own ({})",
                    binary.node,
                    one.display()
                ));
                binary.node = one.to_string_lossy().into_owned();
            }
            _ => errors.push(
                Diagnostic::error(
                    codes::BAD_BINARY,
                    format!("the -p processes see different files at {}", binary.node),
                )
                .primary(binary.span, "which process's file?")
                .note(
                    files
                        .iter()
                        .map(|(pid, f)| format!("process {pid}: {}", f.display()))
                        .collect::<Vec<_>>()
                        .join("; "),
                )
                .help("trace them with one -p each, or omit the binary (`uprobe:FUNC`) to probe each process's own executable"),
            ),
        }
    }
    if errors.is_empty() {
        Ok(notes)
    } else {
        Err(errors)
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    let key = |p: &Path| std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()));
    a == b || (key(a).is_some() && key(a) == key(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_lists() {
        assert_eq!(pids_arg("42"), Ok(Pids(vec![42])));
        assert_eq!(pids_arg("12,34,12"), Ok(Pids(vec![12, 34])));
        assert_eq!(pids_arg("12, 34").map(|p| p.single()), Ok(None));
        assert!(
            pids_arg("12,,x")
                .unwrap_err()
                .starts_with("item 2 is empty")
        );
        assert!(pids_arg("12,x").unwrap_err().starts_with("item 2 (`x`)"));
        assert!(pids_arg("0").unwrap_err().contains("start at 1"));
        assert!(pids_arg("12,").unwrap_err().starts_with("item 2 is empty"));
        assert!(pids_arg("99999999").unwrap_err().contains("at most"));
    }
}
