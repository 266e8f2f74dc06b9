//! Every process on the host, for node-wide tracing: what each one runs (binaries known by inode,
//! so containers' files work too), where it mapped them, and which container it is in. Pure user
//! space: fed by a /proc scan and by exec/exit events, never calls bpf(2).
//!
//! ```text
//! let mut procs = Processes::new(Selector::all());
//! procs.scan();                        // every process now
//! procs.on_exec(pid); procs.on_exit(pid);   // then keep up with events
//! procs.user_frames(pid, &addrs, true) // symbolize, even after the process exited
//! ```
//!
//! Memory stays bounded over hours of churn: at most [`Processes::max_exited`] exited processes
//! are kept (oldest dropped), and a binary is closed once no kept process refers to it.

pub mod binary;
pub mod cgroup;
pub mod process;
pub mod selector;
mod symbolize;

pub use binary::{Binary, BinaryKey};
pub use process::{Mapping, Process};
pub use selector::Selector;

use gprobe_compiler::target::GoRuntime;
use process::{BinaryCache, ReadError};
use std::collections::{HashMap, VecDeque};
use std::sync::OnceLock;
use std::time::{Instant, SystemTime};

/// How many exited processes are kept for late symbolization unless told otherwise.
pub const DEFAULT_MAX_EXITED: usize = 1024;

/// Why a process was not added, for `-v`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub pid: u32,
    pub reason: String,
}

pub struct Processes {
    selector: Selector,
    live: HashMap<u32, Process>,
    /// Oldest first; several may share a pid (reused).
    exited: VecDeque<Process>,
    max_exited: usize,
    binaries: BinaryCache,
    skipped: Vec<Skipped>,
    /// When each live process's mappings were last reread on a lookup miss (rate limit).
    refreshed: HashMap<u32, Instant>,
    kernel: OnceLock<crate::symbolize::SymbolTable>,
}

impl Processes {
    pub fn new(selector: Selector) -> Processes {
        Processes {
            selector,
            live: HashMap::new(),
            exited: VecDeque::new(),
            max_exited: DEFAULT_MAX_EXITED,
            binaries: BinaryCache::default(),
            skipped: Vec::new(),
            refreshed: HashMap::new(),
            kernel: OnceLock::new(),
        }
    }

    /// Keep at most `n` exited processes (the oldest are dropped first).
    pub fn with_max_exited(mut self, n: usize) -> Processes {
        self.max_exited = n;
        self
    }

    pub fn max_exited(&self) -> usize {
        self.max_exited
    }

    /// Walks /proc once and adds every selected process not yet known. Processes that vanish or
    /// cannot be read are skipped and listed in [`Processes::skipped`]; returns how many were added.
    pub fn scan(&mut self) -> usize {
        let Ok(dir) = std::fs::read_dir("/proc") else {
            self.skipped.push(Skipped {
                pid: 0,
                reason: "cannot read /proc".into(),
            });
            return 0;
        };
        // Limited to some pids (`-p A,B`): the others are not read at all.
        let pids: Vec<u32> = dir
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .filter(|pid| self.selector.pids.is_empty() || self.selector.pids.contains(pid))
            .collect();
        // Live entries /proc no longer lists exited unseen (a lost exit event).
        let listed: std::collections::HashSet<u32> = pids.iter().copied().collect();
        let gone: Vec<u32> = self
            .live
            .keys()
            .filter(|p| !listed.contains(p))
            .copied()
            .collect();
        for pid in gone {
            self.on_exit(pid);
        }
        let mut added = 0;
        for pid in pids {
            if self.live.get(&pid).is_some_and(|p| p.is_current()) {
                continue;
            }
            added += usize::from(self.discover(pid));
        }
        added
    }

    /// Process `pid` ran exec (or is new): everything is read again, since the binary, its bias
    /// and its mappings all changed. True if the process is now known.
    pub fn on_exec(&mut self, pid: u32) -> bool {
        self.discover(pid)
    }

    /// Process `pid` exited: it is kept (marked) so that stacks it recorded still symbolize.
    pub fn on_exit(&mut self, pid: u32) {
        if let Some(mut p) = self.live.remove(&pid) {
            p.exited = Some(SystemTime::now());
            self.retire(p);
        }
        self.refreshed.remove(&pid);
    }

    /// The process `pid`: the live one, else the most recently exited one with that pid.
    pub fn get(&self, pid: u32) -> Option<&Process> {
        self.live
            .get(&pid)
            .or_else(|| self.exited.iter().rev().find(|p| p.pid == pid))
    }

    /// The process `pid` that started at `start_time` (live or exited): never a reuser of its pid.
    pub fn get_exact(&self, pid: u32, start_time: u64) -> Option<&Process> {
        self.live
            .get(&pid)
            .filter(|p| p.start_time == start_time)
            .or_else(|| {
                self.exited
                    .iter()
                    .rev()
                    .find(|p| p.pid == pid && p.start_time == start_time)
            })
    }

    pub fn live(&self) -> impl Iterator<Item = &Process> {
        self.live.values()
    }

    pub fn exited(&self) -> impl Iterator<Item = &Process> {
        self.exited.iter()
    }

    pub fn live_count(&self) -> usize {
        self.live.len()
    }

    pub fn exited_count(&self) -> usize {
        self.exited.len()
    }

    /// Distinct binaries (executables and libraries) currently open.
    pub fn binary_count(&self) -> usize {
        self.binaries.len()
    }

    /// Live Go processes with the runtime offsets goid needs.
    pub fn go_processes(&self) -> impl Iterator<Item = (&Process, &GoRuntime)> {
        self.live
            .values()
            .filter_map(|p| Some((p, p.exe.go_runtime()?)))
    }

    /// Processes that could not be read, with why (for `-v`).
    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }

    /// Forgets the skipped list (after printing it).
    pub fn take_skipped(&mut self) -> Vec<Skipped> {
        std::mem::take(&mut self.skipped)
    }

    /// Rereads the mappings of live process `pid`: libraries it loaded since (dlopen). False if
    /// the process is unknown, exited or unreadable now.
    pub fn refresh_mappings(&mut self, pid: u32) -> bool {
        let Some(p) = self.live.get_mut(&pid) else {
            return false;
        };
        self.refreshed.insert(pid, Instant::now());
        p.refresh_mappings(&mut self.binaries).is_ok()
    }

    /// Reads `pid` and makes it the live process of that pid. A live entry with another start
    /// time was a process that exited unseen: it is retired, and the new one inherits nothing.
    fn discover(&mut self, pid: u32) -> bool {
        let facts = self.identify(pid);
        // Whatever the live entry was (the image before exec, or a process that exited unseen
        // and whose pid was reused), it is history now: stacks it recorded keep its facts.
        // (scan only gets here for pids it does not know with this start time.)
        if let Some(mut old) = self.live.remove(&pid) {
            old.exited = Some(SystemTime::now());
            self.retire(old);
        }
        let (comm, start_time, path, cgroup) = match facts {
            Ok(Some(facts)) => facts,
            Ok(None) => return false,
            Err(reason) => {
                self.skip(pid, reason);
                return false;
            }
        };
        self.refreshed.remove(&pid);
        let read =
            process::Process::read_with(pid, comm, start_time, path, cgroup, &mut self.binaries);
        match read {
            Ok(p) => {
                self.live.insert(pid, p);
                true
            }
            Err(reason) => {
                self.skip(pid, reason);
                false
            }
        }
    }

    /// (comm, start time, exe path, cgroup) of a selected user process; `None` for kernel
    /// threads and unselected processes, which are not worth reporting.
    #[allow(clippy::type_complexity)]
    fn identify(
        &self,
        pid: u32,
    ) -> Result<Option<(String, u64, std::path::PathBuf, String)>, String> {
        // Not a named pid: not worth reading /proc for (every exec on the host comes here).
        if !self.selector.pids.is_empty() && !self.selector.pids.contains(&pid) {
            return Ok(None);
        }
        match process::Process::identify(pid) {
            Ok((comm, start, path, cgroup)) => Ok(self
                .selector
                .matches_process(pid, &path.to_string_lossy(), &cgroup)
                .then_some((comm, start, path, cgroup))),
            Err(ReadError::Kernel) => Ok(None),
            Err(ReadError::Failed(reason)) => Err(reason),
        }
    }

    fn skip(&mut self, pid: u32, reason: String) {
        // Bounded like everything else: a long run keeps only the latest reasons.
        const MAX_SKIPPED: usize = 4096;
        if self.skipped.len() >= MAX_SKIPPED {
            self.skipped.remove(0);
        }
        self.skipped.push(Skipped { pid, reason });
    }

    /// Moves an exited process to the bounded exited list. Dropping the oldest drops its
    /// binaries' last references, which closes them.
    fn retire(&mut self, p: Process) {
        self.exited.push_back(p);
        while self.exited.len() > self.max_exited {
            self.exited.pop_front();
        }
    }
}

#[cfg(test)]
mod tests;
