//! `cgroup_path(id [, filter])`: a cgroup id (the inode of the cgroup's directory) as its path
//! in each mounted cgroup hierarchy, as bpftrace 0.17 prints it: `unified:/a/b,cpu:/a/b`. The
//! cgroup2 hierarchy is named `unified`, a v1 one by its mount point's last component; `unified`
//! comes first, the others in name order; hierarchies where no directory has that inode are
//! left out.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// The paths of cgroup `id` in the hierarchies whose names match the wildcard `filter` (all
/// without one), joined as bpftrace joins them; "" when none has it.
pub fn paths(id: u64, filter: Option<&str>) -> String {
    let mut found: Vec<(String, String)> = hierarchies()
        .into_iter()
        .filter(|(name, _)| filter.is_none_or(|f| gprobe_compiler::names::glob_match(f, name)))
        .filter_map(|(name, root)| Some((name, path_in(id, &root)?)))
        .collect();
    found.sort_by(|(a, _), (b, _)| (a != "unified", a).cmp(&(b != "unified", b)));
    found
        .iter()
        .map(|(name, path)| format!("{name}:{path}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// `(name, mount point)` of every cgroup filesystem in /proc/mounts, read each time (a
/// hierarchy can be mounted while tracing).
fn hierarchies() -> Vec<(String, PathBuf)> {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            let (_source, point, fstype) = (fields.next()?, fields.next()?, fields.next()?);
            let point = PathBuf::from(unescape_mount(point));
            match fstype {
                "cgroup2" => Some(("unified".to_string(), point)),
                "cgroup" => Some((point.file_name()?.to_string_lossy().into_owned(), point)),
                _ => None,
            }
        })
        .collect()
}

/// /proc/mounts writes a space, tab, newline and backslash in a path as `\040`-style octal.
fn unescape_mount(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match (bytes[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') << 6 | (d[1] - b'0') << 3 | (d[2] - b'0'));
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The path below `root` (`/` for the root itself) of the entry whose inode is `id`. Found
/// paths are kept and checked again by inode before reuse (a cgroup removed and another made
/// may take the inode), so a hierarchy is walked once per cgroup, not once per event.
fn path_in(id: u64, root: &Path) -> Option<String> {
    static CACHE: OnceLock<Mutex<HashMap<(u64, PathBuf), String>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = (id, root.to_path_buf());
    let inode = |p: &Path| std::fs::metadata(p).ok().map(|m| m.ino());
    if let Some(known) = cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key)
        .cloned()
        && inode(&root.join(known.trim_start_matches('/'))) == Some(id)
    {
        return Some(known);
    }
    let found = if inode(root) == Some(id) {
        "/".to_string()
    } else {
        format!(
            "/{}",
            find(root, id)?.strip_prefix(root).ok()?.to_string_lossy()
        )
    };
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, found.clone());
    Some(found)
}

/// Depth first, as bpftrace's recursive directory walk: the first entry with inode `id`.
fn find(dir: &Path, id: u64) -> Option<PathBuf> {
    let mut subdirs = Vec::new();
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        if meta.ino() == id {
            return Some(entry.path());
        }
        if meta.is_dir() {
            subdirs.push(entry.path());
        }
    }
    subdirs.into_iter().find_map(|d| find(&d, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_points_are_unescaped() {
        assert_eq!(
            unescape_mount(r"/sys/fs/cgroup/a\040b"),
            "/sys/fs/cgroup/a b"
        );
        assert_eq!(unescape_mount("/plain"), "/plain");
    }

    #[test]
    fn the_root_cgroup_is_slash_in_every_hierarchy() {
        // Every cgroup filesystem's root directory has inode 1.
        let all = paths(1, None);
        if hierarchies().is_empty() {
            assert_eq!(all, "");
            return;
        }
        assert!(all.split(',').all(|p| p.ends_with(":/")), "{all}");
        if hierarchies().iter().any(|(n, _)| n == "unified") {
            assert!(all.starts_with("unified:/"), "{all}");
            assert_eq!(paths(1, Some("unified")), "unified:/");
        }
        assert_eq!(paths(1, Some("no-such-hierarchy*")), "");
    }
}
