//! Uprobes on binary patterns (`uprobe:*:main.work`, `uprobe:/srv/*/bin/*:main.handle`): which
//! files match. At startup, the distinct executables of running processes (and, for a path
//! glob, the files on disk that match it) that are Go and have the function; later, one
//! executable the runtime saw start (see `gprobe_runtime::Session::set_recompile`).
//! `gprobe_compiler::expand` rewrites the program with the answer.

use gprobe_compiler::expand::{self, PatternMatch, PatternQuery};
use gprobe_compiler::gobin::GoBinary;
use gprobe_compiler::names::{is_binary_pattern, path_glob_match};
use gprobe_runtime::procs::Selector;
use gprobe_runtime::procs::cgroup::unified_path;
use std::collections::{HashMap, HashSet};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Most files a path glob may match on disk (a pattern like `/*/*/*` must not walk the world).
const MAX_DISK_MATCHES: usize = 4096;

/// What startup found, kept for later compiles.
#[derive(Clone, Debug, Default)]
pub struct Expanded {
    /// Each pattern's binaries at startup, by (binary as written, function): a recompile for a
    /// program started later keeps them for the patterns that program does not match, so those
    /// probes type `args` the same way.
    pub initial: HashMap<(String, String), Vec<String>>,
    /// Patterns that matched nothing yet: (pattern as written, function).
    pub waiting: Vec<(String, String)>,
    /// How many pattern attach points the program has.
    pub patterns: usize,
}

/// A pattern made absolute: `*` stays itself (every executable), a relative glob is relative
/// to the working directory.
pub fn absolute(pattern: &str) -> String {
    if pattern == "*" || pattern.starts_with('/') {
        return pattern.to_owned();
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let rel = pattern.strip_prefix("./").unwrap_or(pattern);
    cwd.join(rel).to_string_lossy().into_owned()
}

/// One executable file, known by its inode so that two processes (or a process and a path on
/// disk) running the same file count once.
struct Candidate {
    /// The path to open and attach through: the file's own path when it names the same inode
    /// from here, else `/proc/PID/exe` (a process in another mount namespace).
    open: PathBuf,
    /// The path to match the pattern against (as the process sees it).
    shown: PathBuf,
}

/// The distinct executables of running processes, except gprobe itself.
fn running_executables(seen: &mut HashSet<(u64, u64)>) -> Vec<Candidate> {
    running_selected(seen, &Selector::all())
}

/// [`running_executables`] of the processes `selector` selects (`--exe`, `--cgroup`).
fn running_selected(seen: &mut HashSet<(u64, u64)>, selector: &Selector) -> Vec<Candidate> {
    let own = std::process::id().to_string();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        if pid == own || !selects(selector, pid) {
            continue;
        }
        if let Some(c) = process_executable(pid.parse().unwrap_or(0), seen) {
            out.push(c);
        }
    }
    out
}

/// Whether `selector` selects process `pid` (asked before its executable is marked seen, so
/// that an unselected process does not hide a selected one of the same binary).
fn selects(selector: &Selector, pid: &str) -> bool {
    if selector.is_all() {
        return true;
    }
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
    let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    selector.matches(&exe.to_string_lossy(), unified_path(&cgroup))
}

/// Process `pid`'s executable, unless already `seen` (kernel threads have none).
fn process_executable(pid: u32, seen: &mut HashSet<(u64, u64)>) -> Option<Candidate> {
    let exe = PathBuf::from(format!("/proc/{pid}/exe"));
    let meta = std::fs::metadata(&exe).ok()?;
    if !seen.insert((meta.dev(), meta.ino())) {
        return None;
    }
    let shown = std::fs::read_link(&exe).ok()?;
    let same =
        std::fs::metadata(&shown).is_ok_and(|m| (m.dev(), m.ino()) == (meta.dev(), meta.ino()));
    Some(Candidate {
        open: if same { shown.clone() } else { exe },
        shown,
    })
}

/// Executable files matching absolute path glob `pattern`, walked one component at a time.
fn disk_matches(pattern: &str, seen: &mut HashSet<(u64, u64)>) -> Vec<Candidate> {
    let mut current = vec![PathBuf::from("/")];
    for part in pattern.split('/').filter(|p| !p.is_empty()) {
        let mut next = Vec::new();
        for dir in &current {
            if !is_binary_pattern(part) {
                next.push(dir.join(part));
                continue;
            }
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                // As in the shell, a wildcard does not match a leading dot.
                if let Some(name) = name.to_str()
                    && (!name.starts_with('.') || part.starts_with('.'))
                    && path_glob_match(part, name)
                {
                    next.push(dir.join(name));
                }
            }
            if next.len() > MAX_DISK_MATCHES {
                break;
            }
        }
        current = next;
    }
    current
        .into_iter()
        .filter_map(|path| {
            let meta = std::fs::metadata(&path).ok()?;
            let executable = meta.is_file() && meta.permissions().mode() & 0o111 != 0;
            (executable && seen.insert((meta.dev(), meta.ino()))).then(|| Candidate {
                open: path.clone(),
                shown: path,
            })
        })
        .collect()
}

/// Whether `path` is a Go binary with the probe's function (any match of a function glob).
fn has_function(path: &Path, query: &PatternQuery) -> bool {
    let Ok(bin) = GoBinary::open(path) else {
        return false;
    };
    if query.glob {
        !bin.functions_matching(query.function).is_empty()
    } else {
        bin.function(query.function).is_some()
    }
}

/// The executables `query` matches now: running ones whose path matches (each file once),
/// and for a path glob the matching files on disk, that are Go and have the function; sorted.
/// `running` is what [`running_executables`] found, `seen` their inodes.
fn matching_now(
    query: &PatternQuery,
    running: &[Candidate],
    seen: &HashSet<(u64, u64)>,
) -> (String, Vec<String>) {
    let pattern = absolute(query.binary);
    let mut seen_here = seen.clone();
    let disk = if pattern == "*" {
        Vec::new()
    } else {
        disk_matches(&pattern, &mut seen_here)
    };
    let mut binaries: Vec<String> = running
        .iter()
        .filter(|c| path_glob_match(&pattern, &c.shown.to_string_lossy()))
        .chain(&disk)
        .filter(|c| has_function(&c.open, query))
        .map(|c| c.open.to_string_lossy().into_owned())
        .collect();
    binaries.sort();
    binaries.dedup();
    (pattern, binaries)
}

/// `-l 'uprobe:PATTERN:FUNC'`: the binaries a pattern matches now (FUNC a glob).
pub fn binaries_matching(pattern: &str, function: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    let running = running_executables(&mut seen);
    let query = PatternQuery {
        binary: pattern,
        function,
        glob: true,
        ret: false,
    };
    matching_now(&query, &running, &seen).1
}

/// Expands every binary pattern of `program` against what runs now (and the disk, for path
/// globs). Each binary is opened once per pattern, and the same file under two paths counts once.
/// With `--exe`/`--cgroup`, only executables of selected processes are candidates (nothing
/// else is traced), and files on disk only when they match an `--exe` glob.
pub fn expand_at_start(
    program: &mut gprobe_compiler::ast::Program,
    selector: &Selector,
) -> Expanded {
    let mut out = Expanded::default();
    // Candidates are collected once: most programs have one pattern.
    let mut seen = HashSet::new();
    let running = running_selected(&mut seen, selector);
    let opened: HashSet<String> = running
        .iter()
        .map(|c| c.open.to_string_lossy().into_owned())
        .collect();
    out.patterns = expand::expand_patterns(program, &mut |q| {
        let (pattern, mut binaries) = matching_now(q, &running, &seen);
        if !selector.is_all() {
            binaries.retain(|b| opened.contains(b) || selector.matches(b, "/"));
        }
        let key = (q.binary.to_owned(), q.function.to_owned());
        if binaries.is_empty() {
            out.waiting.push(key.clone());
        }
        out.initial.insert(key, binaries.clone());
        PatternMatch { pattern, binaries }
    });
    out
}

/// `-p A,B`: expands every binary pattern of `program` (a uprobe without a binary was made
/// `*` by `targets::each_pid_binary`) to the executables of those processes alone, each file
/// once; the disk and other processes are not looked at, since nothing else is traced.
pub fn expand_in_pids(program: &mut gprobe_compiler::ast::Program, pids: &[u32]) -> Expanded {
    let mut out = Expanded::default();
    let mut seen = HashSet::new();
    let running: Vec<Candidate> = pids
        .iter()
        .filter_map(|&pid| process_executable(pid, &mut seen))
        .collect();
    out.patterns = expand::expand_patterns(program, &mut |q| {
        let pattern = absolute(q.binary);
        let mut binaries: Vec<String> = running
            .iter()
            .filter(|c| path_glob_match(&pattern, &c.shown.to_string_lossy()))
            .filter(|c| has_function(&c.open, q))
            .map(|c| c.open.to_string_lossy().into_owned())
            .collect();
        binaries.sort();
        binaries.dedup();
        let key = (q.binary.to_owned(), q.function.to_owned());
        out.initial.insert(key, binaries.clone());
        PatternMatch { pattern, binaries }
    });
    out
}

/// Expands `program` for one executable started later, opened through `binary` and known as
/// `shown` in its process: each pattern it matches (by path, with the function) gets just
/// `binary`; the others keep their startup binaries. `None` when it matches no pattern.
pub fn expand_for(
    program: &mut gprobe_compiler::ast::Program,
    binary: &Path,
    shown: &Path,
    initial: &HashMap<(String, String), Vec<String>>,
) -> Option<()> {
    let path = binary.to_string_lossy().into_owned();
    let shown = shown.to_string_lossy().into_owned();
    let mut matched = false;
    expand::expand_patterns(program, &mut |q| {
        let pattern = absolute(q.binary);
        if path_glob_match(&pattern, &shown) && has_function(binary, q) {
            matched = true;
            return PatternMatch {
                pattern,
                binaries: vec![path.clone()],
            };
        }
        let key = (q.binary.to_owned(), q.function.to_owned());
        PatternMatch {
            pattern,
            binaries: initial.get(&key).cloned().unwrap_or_default(),
        }
    });
    matched.then_some(())
}

/// Each pattern's binaries that the checked `program` still has (the checker leaves out a
/// binary whose `args` cannot be read as the others'), by (binary as written, function): a
/// later compile then does not warn about those again.
pub fn kept_binaries(
    program: &gprobe_compiler::ast::Program,
) -> HashMap<(String, String), Vec<String>> {
    use gprobe_compiler::ast::{Expansion, ProbeKind};
    let mut out: HashMap<(String, String), Vec<String>> = HashMap::new();
    for probe in &program.probes {
        // Expansions follow their pending form, which carries the pattern as written.
        let mut current = None;
        for point in &probe.attach {
            let ProbeKind::Uprobe {
                binary: Some(binary),
                function,
                ..
            } = &point.kind
            else {
                continue;
            };
            match &point.expansion {
                Some(Expansion::Pending { .. }) => {
                    let key = (binary.node.clone(), function.node.clone());
                    out.entry(key.clone()).or_default();
                    current = Some(key);
                }
                Some(Expansion::Binary { .. }) => {
                    if let Some(key) = &current {
                        out.entry(key.clone())
                            .or_default()
                            .push(binary.node.clone());
                    }
                }
                None => current = None,
            }
        }
    }
    out
}
