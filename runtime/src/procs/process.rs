//! One process as /proc shows it: its executable, where it mapped it and its shared libraries,
//! and which container it runs in. Read once at discovery or exec; everything read from /proc
//! can vanish mid-read (the process exits), so every read is a `Result` with a reason.

use super::binary::{Binary, BinaryKey};
use super::cgroup;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::SystemTime;

/// Bit of `flags` (field 9 of /proc/PID/stat) set for kernel threads (`PF_KTHREAD`).
const PF_KTHREAD: u64 = 0x0020_0000;

/// One file-backed executable mapping (a line of /proc/PID/maps with `x`).
#[derive(Clone, Debug)]
pub struct Mapping {
    pub start: u64,
    pub end: u64,
    /// File offset the mapping starts at.
    pub offset: u64,
    pub binary: Arc<Binary>,
    /// Runtime address − link-time address of the file in this mapping.
    pub bias: u64,
}

#[derive(Debug)]
pub struct Process {
    pub pid: u32,
    /// Clock ticks after boot (field 22 of /proc/PID/stat): tells a reused pid apart.
    pub start_time: u64,
    pub comm: String,
    pub exe: Arc<Binary>,
    /// Runtime − link-time address of the executable: 0 unless it is PIE.
    pub exe_bias: u64,
    /// Executable mappings of the executable and of shared libraries, sorted by start.
    pub mappings: Vec<Mapping>,
    /// The process's cgroup path (the v2 line, else the first listed).
    pub cgroup: String,
    pub container_id: Option<String>,
    /// When [`super::Processes::on_exit`] saw it go.
    pub exited: Option<SystemTime>,
}

/// What a process is and why it could not be read; `Kernel` is not an error, just no user space.
#[derive(Debug)]
pub(crate) enum ReadError {
    Kernel,
    Failed(String),
}

/// The parts of /proc/PID/stat discovery needs: (comm, start time, flags).
pub(crate) fn read_stat(pid: u32) -> Result<(String, u64, u64), String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("reading /proc/{pid}/stat: {e}"))?;
    parse_stat(&stat).ok_or_else(|| format!("unparsable /proc/{pid}/stat"))
}

/// `pid (comm) state ...`: comm may hold spaces and parentheses, so split at the last `)`.
pub(crate) fn parse_stat(stat: &str) -> Option<(String, u64, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?.to_string();
    // Fields from 3 (state) on; field N is at index N - 3.
    let rest: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
    let flags = rest.get(9 - 3)?.parse().ok()?;
    let start_time = rest.get(22 - 3)?.parse().ok()?;
    Some((comm, start_time, flags))
}

/// The executable's path as the process sees it; `(deleted)` dropped (we hold the inode).
pub(crate) fn exe_path(pid: u32) -> Result<PathBuf, String> {
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .map(|p| strip_deleted(&p.to_string_lossy()))
        .map_err(|e| format!("reading /proc/{pid}/exe: {e}"))
}

fn strip_deleted(path: &str) -> PathBuf {
    PathBuf::from(path.strip_suffix(" (deleted)").unwrap_or(path))
}

/// The process's cgroup path: the cgroup v2 line (`0::/...`), else the first line's path.
pub(crate) fn read_cgroup(pid: u32) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    cgroup::unified_path(&text).to_string()
}

/// Binaries already open, by identity. Weak, so a binary is closed as soon as no process holds
/// it; the dead entries left behind are swept when the map has doubled since the last sweep.
#[derive(Default, Debug)]
pub(crate) struct BinaryCache {
    by_key: HashMap<BinaryKey, Weak<Binary>>,
    swept_len: usize,
    /// Go runtime facts by build id: copies of one build (container replicas, each in its own
    /// overlay, are other inodes) are read once. Bounded like `by_key`.
    go_facts: HashMap<String, gprobe_compiler::target::GoRuntime>,
}

impl BinaryCache {
    pub(crate) fn get(&self, key: BinaryKey) -> Option<Arc<Binary>> {
        self.by_key.get(&key)?.upgrade()
    }

    /// Opens `source`, and returns the cached binary when that inode is already known (the new
    /// descriptor is then dropped).
    pub(crate) fn open(&mut self, source: &Path, path: PathBuf) -> Result<Arc<Binary>, String> {
        let file = std::fs::File::open(source)
            .map_err(|e| format!("opening {}: {e}", source.display()))?;
        let meta = file
            .metadata()
            .map_err(|e| format!("fstat {}: {e}", source.display()))?;
        use std::os::unix::fs::MetadataExt;
        let key = BinaryKey {
            dev: meta.dev(),
            ino: meta.ino(),
        };
        if let Some(bin) = self.get(key) {
            return Ok(bin);
        }
        let bin = Arc::new(Binary::from_file(file, path)?);
        match bin.build_id().and_then(|id| self.go_facts.get(id)) {
            Some(facts) => bin.seed_go_runtime(facts.clone()),
            None => {
                if let (Some(id), Some(facts)) = (bin.build_id(), bin.go_runtime()) {
                    self.go_facts.insert(id.to_owned(), facts.clone());
                }
            }
        }
        self.by_key.insert(key, Arc::downgrade(&bin));
        if self.by_key.len() > 2 * self.swept_len + 64 {
            self.by_key.retain(|_, w| w.strong_count() > 0);
            let live: std::collections::HashSet<String> = self
                .by_key
                .values()
                .filter_map(|w| Some(w.upgrade()?.build_id()?.to_owned()))
                .collect();
            self.go_facts.retain(|id, _| live.contains(id));
            self.swept_len = self.by_key.len();
        }
        Ok(bin)
    }

    /// Entries including closed binaries not yet swept.
    #[cfg(test)]
    pub(crate) fn entries(&self) -> usize {
        self.by_key.len()
    }

    pub(crate) fn len(&self) -> usize {
        self.by_key
            .values()
            .filter(|w| w.strong_count() > 0)
            .count()
    }
}

impl Process {
    /// (comm, start time, exe path, cgroup) of `pid`: what selecting it needs, before any
    /// binary is opened. Kernel threads have no executable and say so.
    pub(crate) fn identify(pid: u32) -> Result<(String, u64, PathBuf, String), ReadError> {
        let (comm, start_time, flags) = read_stat(pid).map_err(ReadError::Failed)?;
        if flags & PF_KTHREAD != 0 {
            return Err(ReadError::Kernel);
        }
        let path = exe_path(pid).map_err(ReadError::Failed)?;
        Ok((comm, start_time, path, read_cgroup(pid)))
    }

    /// Reads process `pid` once [`Process::identify`] told what it is (and the selector chose it),
    /// opening binaries through `cache`.
    pub(crate) fn read_with(
        pid: u32,
        comm: String,
        start_time: u64,
        path: PathBuf,
        cgroup: String,
        cache: &mut BinaryCache,
    ) -> Result<Process, String> {
        // /proc/PID/exe opens the very inode the process runs, even in another mount namespace.
        let exe = cache.open(Path::new(&format!("/proc/{pid}/exe")), path)?;
        let mut process = Process {
            pid,
            start_time,
            comm,
            exe_bias: 0,
            exe,
            mappings: Vec::new(),
            container_id: cgroup::container_id(&cgroup),
            cgroup,
            exited: None,
        };
        process.refresh_mappings(cache)?;
        // A pid reused between our stat read and the exe open would mix two processes' facts.
        match read_stat(pid) {
            Ok((_, again, _)) if again == start_time => Ok(process),
            Ok(_) => Err("pid was reused while reading it".into()),
            Err(e) => Err(e),
        }
    }

    /// Rereads /proc/PID/maps: libraries loaded since (dlopen). Keeps the old mappings if the
    /// process is gone.
    pub(crate) fn refresh_mappings(&mut self, cache: &mut BinaryCache) -> Result<(), String> {
        let pid = self.pid;
        let maps = std::fs::read_to_string(format!("/proc/{pid}/maps"))
            .map_err(|e| format!("reading /proc/{pid}/maps: {e}"))?;
        let exe_key = self.exe.key();
        let mut mappings = Vec::new();
        // A library is opened once per read, not once per mapping of it.
        let mut seen: HashMap<(String, u64), Option<Arc<Binary>>> = HashMap::new();
        for line in maps.lines() {
            let Some(m) = parse_maps_line(line) else {
                continue;
            };
            if !m.exec || m.inode == 0 || !m.path.starts_with('/') {
                continue;
            }
            let binary = seen
                .entry((m.dev.to_string(), m.inode))
                .or_insert_with(|| {
                    let path = strip_deleted(m.path);
                    // map_files opens the mapped inode itself (needs CAP_SYS_ADMIN); the path
                    // under /proc/PID/root is the fallback, resolved in the process's namespace.
                    let by_range = format!("/proc/{pid}/map_files/{:x}-{:x}", m.start, m.end);
                    cache
                        .open(Path::new(&by_range), path.clone())
                        .ok()
                        .or_else(|| {
                            let rooted = format!("/proc/{pid}/root{}", path.display());
                            cache.open(Path::new(&rooted), path).ok()
                        })
                })
                .clone();
            let Some(binary) = binary else {
                continue;
            };
            let bias = binary.bias(m.start, m.offset);
            mappings.push(Mapping {
                start: m.start,
                end: m.end,
                offset: m.offset,
                binary,
                bias,
            });
        }
        mappings.sort_by_key(|m| m.start);
        // The executable's bias: from its lowest executable mapping (non-PIE: always 0).
        match mappings.iter().find(|m| m.binary.key() == exe_key) {
            Some(m) => self.exe_bias = m.bias,
            // Without its mapping a PIE executable's addresses cannot be placed (a zombie, or
            // caught mid-exec); better skipped than symbolized wrong.
            None if self.exe.is_pie() => {
                return Err(format!("/proc/{pid}/maps does not map its executable"));
            }
            None => {}
        }
        self.mappings = mappings;
        Ok(())
    }

    /// The mapping holding `addr`.
    pub fn mapping_at(&self, addr: u64) -> Option<&Mapping> {
        let i = self
            .mappings
            .partition_point(|m| m.start <= addr)
            .checked_sub(1)?;
        let m = &self.mappings[i];
        (addr < m.end).then_some(m)
    }

    /// The file name of the executable: `shop`.
    pub fn executable_name(&self) -> String {
        self.exe.file_name()
    }

    /// What to call this process in output: the Go main module, else the executable's name.
    pub fn service_name(&self) -> String {
        self.exe
            .main_module()
            .map(str::to_string)
            .unwrap_or_else(|| self.executable_name())
    }

    pub fn is_go(&self) -> bool {
        self.exe.is_go()
    }

    /// Whether /proc still shows this very process running this executable: same start time
    /// (not a reused pid; ticks are 10 ms, so also the same exe inode) and no exec since.
    pub(crate) fn is_current(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        let same_start = read_stat(self.pid).is_ok_and(|s| s.1 == self.start_time);
        let key = self.exe.key();
        same_start
            && std::fs::metadata(format!("/proc/{}/exe", self.pid))
                .is_ok_and(|m| m.dev() == key.dev && m.ino() == key.ino)
    }

    pub fn is_live(&self) -> bool {
        self.exited.is_none()
    }
}

/// One line of /proc/PID/maps: `start-end perms offset dev inode path`.
struct MapsLine<'a> {
    start: u64,
    end: u64,
    exec: bool,
    offset: u64,
    dev: &'a str,
    inode: u64,
    path: &'a str,
}

fn parse_maps_line(line: &str) -> Option<MapsLine<'_>> {
    let mut fields = line.splitn(6, ' ');
    let range = fields.next()?;
    let perms = fields.next()?;
    let offset = u64::from_str_radix(fields.next()?, 16).ok()?;
    let dev = fields.next()?;
    let inode = fields.next()?.parse().ok()?;
    // The path is padded with spaces and may itself contain spaces.
    let path = fields.next().unwrap_or("").trim_start();
    let (start, end) = range.split_once('-')?;
    Some(MapsLine {
        start: u64::from_str_radix(start, 16).ok()?,
        end: u64::from_str_radix(end, 16).ok()?,
        exec: perms.as_bytes().get(2) == Some(&b'x'),
        offset,
        dev,
        inode,
        path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_and_maps_lines() {
        let stat = "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 12345 1000 10";
        assert_eq!(
            parse_stat(stat),
            Some(("a (b) c".to_string(), 12345, 4194560))
        );
        assert_eq!(parse_stat("garbage"), None);
        let line = "7f00-7f80 r-xp 00002000 fd:01 1234        /usr/lib/my lib.so (deleted)";
        let m = parse_maps_line(line).unwrap();
        assert_eq!(
            (m.start, m.end, m.offset, m.inode),
            (0x7f00, 0x7f80, 0x2000, 1234)
        );
        assert!(m.exec);
        assert_eq!(m.dev, "fd:01");
        assert_eq!(strip_deleted(m.path), PathBuf::from("/usr/lib/my lib.so"));
        let anon = parse_maps_line("7f00-7f80 rw-p 00000000 00:00 0").unwrap();
        assert!(!anon.exec && anon.inode == 0 && anon.path.is_empty());
    }
}
