//! Stack ids and addresses to names. With a `-p`/`-c` target (or a uprobe's binary) every user
//! address belongs to that one binary; node-wide, each value carries its process (see
//! `manifest::stack_parts`) and is symbolized with that process's binary (see [`crate::procs`]).

use crate::decode::{self, Resolve};
use crate::output::metrics::ProcessTable;
use crate::procs::{Binary, BinaryKey, Processes, Selector};
use crate::session::key_of;
use crate::stack::{Pc, PcLine, PcMapping, Stack};
use crate::symbolize::SymbolTable;
use crate::sys::RawMap;
use gprobe_compiler::manifest::{self, GoProcFacts, Manifest};
use gprobe_compiler::types::StackKind;
use std::cell::{Cell, OnceCell, RefCell};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

/// Stack ids and addresses to names, loading symbol tables on first use.
#[derive(Default)]
pub(crate) struct Resolver {
    pub stacks: Vec<(StackKind, RawMap)>,
    pub user_binary: Option<PathBuf>,
    user: OnceCell<SymbolTable>,
    kernel: OnceCell<SymbolTable>,
    /// The user binary read as a Go binary (pclntab), for `gostack`.
    go: OnceCell<Option<gprobe_compiler::gobin::GoBinary>>,
    /// The traced process, whose mappings tell where a PIE binary was loaded.
    pub target_pid: Option<u32>,
    /// Runtime address − link-time address of the user binary: 0 unless it is PIE. Learned
    /// from /proc/PID/maps while the target is alive (symbols are often read after it exits).
    load_bias: OnceCell<u64>,
    /// CLOCK_REALTIME − CLOCK_MONOTONIC in ns: turns kernel times (`nsecs`, `emit()`'s
    /// timestamps, `strftime()`) into Unix times.
    pub realtime_offset_ns: i64,
    /// Node-wide: every process, each value symbolized with its own.
    pub node: Option<NodeWide>,
    /// Stacks also carry their addresses, mappings and source lines (for pprof): set only
    /// for the snapshot a profile output takes, as it costs a lookup per address.
    pub pcs: Cell<bool>,
    /// The user binary's ELF headers and build id, for the mappings of `pcs`.
    user_file: OnceCell<Option<Binary>>,
    /// The target's vDSO: its range, learned with the load bias, and the image's symbols.
    vdso: OnceCell<Option<(u64, u64, crate::symbolize::Vdso)>>,
    /// `probe` values: each program's name by its id.
    pub probe_names: HashMap<u64, String>,
    /// The program's `cgroup_path(id, filter)` filters (`Render::CgroupPath`).
    pub cgroup_filters: Vec<String>,
}

/// Node-wide knowledge: the process registry, and the map of Go facts the programs read (kept
/// in step with exec and exit events).
pub(crate) struct NodeWide {
    procs: RefCell<Processes>,
    go_procs: Option<RawMap>,
    /// Facts by executable, for the exec watch (see `MapRole::GoBinaries`).
    go_bins: Option<RawMap>,
    /// Executables (kernel device, inode) already written to `go_bins` or found not Go.
    tried_bins: RefCell<HashSet<(u64, u64)>>,
    /// A limited session's process set in the kernel (see `MapRole::Processes`): the registry's
    /// live processes, kept in step with exec and exit events.
    traced: Option<RawMap>,
    /// `-p A,B`: always traced, even if the registry could not read one.
    named_pids: Vec<u32>,
    /// Named pids whose process exited: a new process reusing the pid is not the one named.
    gone: RefCell<HashSet<u32>>,
    verbose: bool,
}

/// What an exec event says of the new image (see `EventSpec::ProcessExec`).
pub(crate) struct ExecImage {
    pub dev: u64,
    pub ino: u64,
    pub file: String,
}

impl NodeWide {
    pub fn new(
        selector: Selector,
        go_procs: Option<RawMap>,
        go_bins: Option<RawMap>,
        traced: Option<RawMap>,
        verbose: bool,
    ) -> NodeWide {
        NodeWide {
            named_pids: selector.pids.clone(),
            procs: RefCell::new(Processes::new(selector)),
            go_procs,
            go_bins,
            tried_bins: RefCell::default(),
            gone: RefCell::default(),
            traced,
            verbose,
        }
    }

    /// Adds `pid` to, or removes it from, the kernel's set of traced processes.
    fn set_traced(&self, pid: u32, traced: bool) {
        let Some(map) = &self.traced else {
            return;
        };
        let key = u64::from(pid).to_le_bytes();
        // A full set (more selected processes than entries) leaves the rest untraced.
        let _ = if traced {
            map.update(&key, &[1])
        } else {
            map.delete(&key)
        };
    }

    /// Every process running now; each Go process's facts go into the map. Unreadable or
    /// vanished processes are skipped (named with `-v`).
    pub fn discover(&self) {
        let mut procs = self.procs.borrow_mut();
        procs.scan();
        for skipped in procs.take_skipped() {
            if self.verbose {
                eprintln!("gprobe: skipped pid {}: {}", skipped.pid, skipped.reason);
            }
        }
        let live: Vec<u32> = procs.live().map(|p| p.pid).collect();
        let facts: Vec<(u32, BinaryKey, GoProcFacts)> = procs
            .go_processes()
            .map(|(p, rt)| (p.pid, p.exe.key(), GoProcFacts::of(rt)))
            .collect();
        drop(procs);
        for pid in live.into_iter().chain(self.named_pids.iter().copied()) {
            self.set_traced(pid, true);
        }
        for (pid, key, facts) in facts {
            self.write_facts(pid, key, facts);
        }
    }

    fn write_facts(&self, pid: u32, binary: BinaryKey, facts: GoProcFacts) {
        let value = facts.to_bytes();
        if let Some(map) = &self.go_procs {
            // A full map (more Go processes than entries) leaves that process at goid 0.
            let _ = map.update(&u64::from(pid).to_le_bytes(), &value);
        }
        self.write_binary_facts(binary, value);
    }

    fn write_binary_facts(
        &self,
        binary: BinaryKey,
        value: [u8; manifest::GO_PROC_FACTS_SIZE as usize],
    ) {
        if let Some(map) = &self.go_bins {
            let dev = kernel_dev(binary.dev);
            self.tried_bins.borrow_mut().insert((dev, binary.ino));
            let mut key = [0u8; 16];
            key[..8].copy_from_slice(&dev.to_le_bytes());
            key[8..].copy_from_slice(&binary.ino.to_le_bytes());
            // Full (thousands of Go binaries): later processes of this one wait for the runtime.
            let _ = map.update(&key, &value);
        }
    }

    pub fn exec(&self, pid: u32, image: &ExecImage) {
        let mut procs = self.procs.borrow_mut();
        let selected = procs.on_exec(pid);
        // A named pid stays traced whatever it runs now; another process is traced while it
        // matches the selector.
        let named = self.named_pids.contains(&pid);
        let reused = self.gone.borrow().contains(&pid);
        self.set_traced(pid, (selected || named) && !reused);
        if !selected {
            drop(procs);
            // Gone already (a short program): learn its binary by name, so the next process
            // of it gets its facts in the kernel at exec.
            self.learn_binary(image);
            return;
        }
        let facts = procs.get(pid).and_then(|p| {
            let rt = p.exe.go_runtime()?;
            Some((p.exe.key(), GoProcFacts::of(rt)))
        });
        drop(procs);
        if let Some((key, facts)) = facts {
            self.write_facts(pid, key, facts);
        }
    }

    /// Opens `image.file` and, when it is the exec'd file (same device and inode) and a Go
    /// binary, writes its facts by executable. Once per binary.
    fn learn_binary(&self, image: &ExecImage) {
        if image.ino == 0 || self.go_bins.is_none() {
            return;
        }
        if !self.tried_bins.borrow_mut().insert((image.dev, image.ino)) {
            return;
        }
        let path = PathBuf::from(&image.file);
        let Ok(binary) = Binary::open(&path, path.clone()) else {
            return;
        };
        let key = binary.key();
        if (kernel_dev(key.dev), key.ino) != (image.dev, image.ino) {
            return; // another file at that path from here (another mount namespace)
        }
        if let Some(rt) = binary.go_runtime() {
            self.write_binary_facts(key, GoProcFacts::of(rt).to_bytes());
        }
    }

    /// Labels naming every process known (live, and those kept after exit).
    pub fn process_table(&self) -> ProcessTable {
        let procs = self.procs.borrow();
        procs
            .exited()
            .chain(procs.live())
            .map(|p| {
                let mut labels = vec![
                    ("service.name".to_string(), p.service_name()),
                    ("process.executable.name".to_string(), p.executable_name()),
                ];
                if let Some(id) = &p.container_id {
                    labels.push(("container.id".to_string(), id.clone()));
                }
                (p.pid, labels)
            })
            .collect()
    }

    pub fn exit(&self, pid: u32) {
        self.procs.borrow_mut().on_exit(pid);
        self.set_traced(pid, false);
        if self.named_pids.contains(&pid) {
            self.gone.borrow_mut().insert(pid);
        }
        if let Some(map) = &self.go_procs {
            // The exit program deleted it already; this covers a process we wrote late.
            let _ = map.delete(&u64::from(pid).to_le_bytes());
        }
    }

    /// The full address of `low` (the low [`manifest::ADDR_BITS`] of a user address of `pid`):
    /// the one inside a mapping of that process.
    fn full_address(&self, pid: u32, low: u64) -> u64 {
        let mask = (1u64 << manifest::ADDR_BITS) - 1;
        let find = |procs: &Processes| {
            let p = procs.get(pid)?;
            p.mappings.iter().find_map(|m| {
                let base = m.start & !mask;
                [base | low, (base | low).wrapping_add(mask + 1)]
                    .into_iter()
                    .find(|a| (m.start..m.end).contains(a))
            })
        };
        if let Some(a) = find(&self.procs.borrow()) {
            return a;
        }
        let mut procs = self.procs.borrow_mut();
        if procs.get(pid).is_none() {
            procs.on_exec(pid);
        } else {
            procs.refresh_mappings(pid);
        }
        find(&procs).unwrap_or(low)
    }

    /// Frames of a node-wide user stack of `pid` (`addrs` from the stack map), with the direct
    /// caller's low bits `caller_low` put back after frame 0 where the walk skipped it.
    fn frames(
        &self,
        pid: u32,
        mut addrs: Vec<u64>,
        caller_low: u64,
        limit: u8,
        go: bool,
        pcs: bool,
    ) -> Stack {
        let mut procs = self.procs.borrow_mut();
        if caller_low != 0
            && let Some(&probed) = addrs.first()
        {
            // The caller lies in the same binary as frame 0, so within 2^(bits-1) of it.
            let bits = manifest::STACK_CALLER_BITS;
            let span = 1u64 << bits;
            let near = (probed & !(span - 1)) | caller_low;
            let caller = [near.wrapping_sub(span), near, near.wrapping_add(span)]
                .into_iter()
                .min_by_key(|a| a.abs_diff(probed))
                .unwrap_or(near);
            let skipped = procs
                .locate(pid, probed)
                .is_none_or(|(bin, at)| bin.go().is_none_or(|g| g.fp_walk_misses_caller(at)));
            if skipped {
                addrs.insert(1, caller);
            }
        }
        let keep = crate::symbolize::go_stack_len(&addrs, |i, addr| {
            procs.locate(pid, addr).is_some_and(|(bin, pc)| {
                bin.go()
                    .is_some_and(|g| g.starts_stack(pc.saturating_sub(u64::from(i > 0))))
            })
        });
        addrs.truncate(keep);
        addrs.truncate(if limit == 0 {
            usize::MAX
        } else {
            limit as usize
        });
        Stack {
            frames: procs.user_frames(pid, &addrs, go),
            pcs: if pcs {
                procs.user_pcs(pid, &addrs)
            } else {
                Vec::new()
            },
        }
    }
}

impl Resolver {
    /// The traced binary read as a Go binary (pclntab names work stripped), if it is one.
    fn go_binary(&self) -> Option<&gprobe_compiler::gobin::GoBinary> {
        self.go
            .get_or_init(|| {
                let path = self.user_binary.as_deref()?;
                gprobe_compiler::gobin::GoBinary::open(path).ok()
            })
            .as_ref()
    }

    /// Learns the load bias once the target has mapped its binary; true once known.
    pub fn learn_load_bias(&self) -> bool {
        self.learn_vdso();
        if self.load_bias.get().is_some() {
            return true;
        }
        let Some(bin) = self.go_binary() else {
            // Not Go (C, Rust, ...): a PIE executable moves by where its file offset 0 is mapped.
            let Some(file) = self.user_file() else {
                return self.load_bias.set(0).is_ok();
            };
            if !file.is_pie() {
                return self.load_bias.set(0).is_ok();
            }
            let (Some(pid), Some(path)) = (self.target_pid, self.user_binary.as_deref()) else {
                return false;
            };
            let Some(start) = mapping_start(pid, path) else {
                return false;
            };
            return self.load_bias.set(file.bias(start, 0)).is_ok();
        };
        if !bin.is_pie() {
            return self.load_bias.set(0).is_ok();
        }
        let (Some(pid), Some(path)) = (self.target_pid, self.user_binary.as_deref()) else {
            return false;
        };
        let Some(start) = mapping_start(pid, path) else {
            return false;
        };
        let first_vaddr = bin
            .load_segments()
            .iter()
            .map(|s| s.vaddr)
            .min()
            .unwrap_or(0);
        self.load_bias
            .set(start.wrapping_sub(first_vaddr & !0xfff))
            .is_ok()
    }

    /// Where the target has its vDSO, once it runs its binary (before a command's exec its
    /// maps are gprobe's own).
    fn learn_vdso(&self) {
        let Some(pid) = self.target_pid else { return };
        if self.vdso.get().is_some() {
            return;
        }
        if let Some(path) = self.user_binary.as_deref()
            && mapping_start(pid, path).is_none()
        {
            return;
        }
        let Ok(maps) = std::fs::read_to_string(format!("/proc/{pid}/maps")) else {
            return;
        };
        let vdso = crate::symbolize::vdso_range(&maps)
            .and_then(|(from, to)| Some((from, to, crate::symbolize::Vdso::own()?)));
        let _ = self.vdso.set(vdso);
    }

    /// A runtime user address as a link-time address of the binary.
    fn unbias(&self, addr: u64) -> u64 {
        self.learn_load_bias();
        addr.wrapping_sub(self.load_bias.get().copied().unwrap_or(0))
    }

    fn table(&self, user: bool) -> &SymbolTable {
        if user {
            self.user.get_or_init(|| {
                self.user_binary
                    .as_deref()
                    .map(SymbolTable::from_elf)
                    .unwrap_or_default()
            })
        } else {
            self.kernel.get_or_init(SymbolTable::kernel)
        }
    }
}

impl Resolve for Resolver {
    fn probe_name(&self, id: u64) -> String {
        match self.probe_names.get(&id) {
            Some(name) => name.clone(),
            None => format!("probe#{id}"),
        }
    }

    fn unix_ns(&self, ktime_ns: u64) -> u64 {
        ktime_ns.wrapping_add_signed(self.realtime_offset_ns)
    }

    fn cgroup_path(&self, id: u64, filter: Option<u32>) -> String {
        let filter = filter.and_then(|i| self.cgroup_filters.get(i as usize));
        crate::cgroup::paths(id, filter.map(String::as_str))
    }

    fn stack(&self, kind: StackKind, value: i64, limit: u8) -> Stack {
        let Some((_, raw)) = self.stacks.iter().find(|(k, _)| *k == kind) else {
            return Stack::default();
        };
        if let Some(node) = &self.node
            && kind != StackKind::Kernel
        {
            let (id, pid, caller) = manifest::stack_parts(value);
            let Some(addrs) = stack_addresses(raw, id) else {
                return Stack::default();
            };
            return node.frames(
                pid,
                addrs,
                caller,
                limit,
                kind == StackKind::Go,
                self.pcs.get(),
            );
        }
        let (id, caller) = if kind == StackKind::Go {
            gprobe_compiler::manifest::go_stack_parts(value)
        } else {
            (value, 0)
        };
        let Some(mut addrs) = stack_addresses(raw, id) else {
            return Stack::default();
        };
        // The probed function's caller, where the kernel's walk skipped it: frame 0 is the
        // probed instruction, and one program can probe functions of both kinds (`main.*`).
        let skipped = |probed: u64| {
            self.go_binary()
                .is_none_or(|bin| bin.fp_walk_misses_caller(self.unbias(probed)))
        };
        // A sample taken while the kernel single-stepped a probed instruction out of line:
        // frame 0 is the `[uprobes]` slot, and the program stored the probed address.
        let outside = |pc: u64| {
            self.go_binary()
                .is_some_and(|bin| bin.function_at(self.unbias(pc)).is_none())
        };
        if caller != 0 && addrs.first().is_some_and(|&slot| outside(slot)) {
            addrs[0] = caller;
        } else if caller != 0 && addrs.first().is_some_and(|&probed| skipped(probed)) {
            addrs.insert(1, caller);
        }
        self.frames_of(kind, addrs, limit)
    }

    fn go_frames(&self, addrs: Vec<u64>) -> Vec<String> {
        self.frames_of(StackKind::Go, addrs, 0).frames
    }

    fn go_pc(&self, addr: u64) -> String {
        self.go_pc_of(addr)
    }

    fn symbol(&self, user: bool, addr: u64) -> String {
        self.symbol_of(user, addr)
    }
}

impl Resolver {
    /// A stack's frames from its addresses (innermost first): cut where Go stacks begin, at
    /// most `limit` (0: all), symbolized as `kind` says.
    fn frames_of(&self, kind: StackKind, mut addrs: Vec<u64>, limit: u8) -> Stack {
        if kind != StackKind::Kernel
            && let Some(bin) = self.go_binary()
        {
            // A return address (frames above the first) lies in the function that called.
            let keep = crate::symbolize::go_stack_len(&addrs, |i, addr| {
                bin.starts_stack(self.unbias(addr).saturating_sub(u64::from(i > 0)))
            });
            addrs.truncate(keep);
        }
        addrs.truncate(if limit == 0 {
            usize::MAX
        } else {
            limit as usize
        });
        let pcs = if self.pcs.get() {
            self.pcs_of(kind, &addrs)
        } else {
            Vec::new()
        };
        if kind == StackKind::Go
            && let Some(bin) = self.go_binary()
        {
            let frames = addrs
                .into_iter()
                .enumerate()
                .flat_map(|(i, addr)| match self.vdso_frame(addr) {
                    Some(frame) => vec![frame],
                    None => crate::symbolize::go_frames(bin, self.unbias(addr), i > 0),
                })
                .collect();
            return Stack { frames, pcs };
        }
        let user = kind != StackKind::Kernel;
        let table = self.table(user);
        let frames = addrs
            .into_iter()
            .map(|addr| {
                if !user {
                    return table.format(addr);
                }
                let pc = self.unbias(addr);
                if let Some(frame) = self.vdso_frame(addr) {
                    frame
                } else if self.outside_user_binary(pc) {
                    format!("0x{addr:x}")
                } else {
                    table.format(pc)
                }
            })
            .collect();
        Stack { frames, pcs }
    }

    /// `__vdso_clock_gettime+70` for an address in the target's vDSO (a profile of Go code
    /// reading the clock lands there).
    fn vdso_frame(&self, addr: u64) -> Option<String> {
        let (from, to, vdso) = self.vdso.get()?.as_ref()?;
        (*from..*to)
            .contains(&addr)
            .then(|| vdso.lookup(addr - from))?
    }

    fn go_pc_of(&self, addr: u64) -> String {
        if let Some(node) = &self.node {
            let (low, pid) = manifest::addr_parts(addr);
            let full = node.full_address(pid, low);
            return node.procs.borrow_mut().go_pc(pid, full);
        }
        let pc = self.unbias(addr);
        match self.go_binary().and_then(|bin| bin.function_at(pc)) {
            Some(f) => format!("{}+{}", f.name, pc - f.entry),
            None => self.table(true).format(pc),
        }
    }

    fn symbol_of(&self, user: bool, addr: u64) -> String {
        if let Some(node) = &self.node
            && user
        {
            let (low, pid) = manifest::addr_parts(addr);
            let full = node.full_address(pid, low);
            return node.procs.borrow_mut().user_symbol(pid, full);
        }
        let addr = if user { self.unbias(addr) } else { addr };
        if user && self.outside_user_binary(addr) {
            return format!("0x{addr:x}");
        }
        self.table(user)
            .lookup(addr)
            .map(|s| s.split('+').next().unwrap_or(&s).to_string())
            // A stripped Go binary has no ELF symbols but keeps its pclntab.
            .or_else(|| {
                let f = self.go_binary().filter(|_| user)?.function_at(addr)?;
                Some(f.name.clone())
            })
            .unwrap_or_else(|| format!("0x{addr:x}"))
    }
}

/// A device number as `stat(2)` gives it, as the kernel keeps it (`MAJOR << 20 | MINOR`):
/// what the exec watch reads from `super_block.s_dev`.
fn kernel_dev(dev: u64) -> u64 {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    (major << 20) | minor
}

/// The addresses of stack `id` in a stack map, innermost first; `None` for a failed walk.
fn stack_addresses(raw: &RawMap, id: i64) -> Option<Vec<u64>> {
    if id < 0 {
        return None;
    }
    let frames = raw.lookup(&key_of(id as u32, raw.key_size)).ok()??;
    Some(
        frames
            .chunks_exact(8)
            .map(|c| decode::read_uint(c, 0, 8))
            .take_while(|&addr| addr != 0)
            .collect(),
    )
}

/// Where process `pid` mapped the start (file offset 0) of `path`, from /proc/PID/maps.
fn mapping_start(pid: u32, path: &std::path::Path) -> Option<u64> {
    let want = std::fs::canonicalize(path).ok()?;
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).ok()?;
    maps.lines().find_map(|line| {
        let mut fields = line.split_whitespace();
        let range = fields.next()?;
        let offset = fields.nth(1)?;
        let mapped = fields.nth(2)?;
        (u64::from_str_radix(offset, 16).ok()? == 0 && std::path::Path::new(mapped) == want)
            .then(|| u64::from_str_radix(range.split('-').next()?, 16).ok())
            .flatten()
    })
}

impl Resolver {
    /// The addresses of a stack of the one traced binary (or the kernel) with their mapping
    /// and source lines, named as [`Resolve::stack`] names them.
    fn pcs_of(&self, kind: StackKind, addrs: &[u64]) -> Vec<Pc> {
        addrs
            .iter()
            .enumerate()
            .map(|(i, &address)| {
                let return_address = i > 0;
                if kind == StackKind::Kernel {
                    let lines = self
                        .table(false)
                        .lookup(address)
                        .map(|s| PcLine::symbol(&s));
                    return Pc {
                        address,
                        return_address,
                        mapping: None,
                        lines: lines.into_iter().collect(),
                    };
                }
                let pc = self.unbias(address);
                // Go code by its pclntab (file:line, inlined calls) whatever the stack kind;
                // the rest by ELF symbol.
                let mut lines = self
                    .go_binary()
                    .map(|bin| crate::stack::go_lines(bin, pc, return_address))
                    .unwrap_or_default();
                if lines.is_empty() {
                    lines.extend(self.table(true).lookup(pc).map(|s| PcLine::symbol(&s)));
                }
                Pc {
                    address,
                    return_address,
                    mapping: self.user_mapping(pc),
                    lines,
                }
            })
            .collect()
    }

    /// The mapping (in run-time addresses) of the user binary's segment holding link-time
    /// address `pc`.
    /// Link-time `pc` is in none of a non-Go user binary's segments (a shared library's code,
    /// or the bias is unknown): naming it after the binary's last symbol would be wrong.
    fn outside_user_binary(&self, pc: u64) -> bool {
        self.go_binary().is_none() && self.user_file().is_some_and(|f| f.segment_at(pc).is_none())
    }

    /// The user binary's ELF headers, read once.
    fn user_file(&self) -> Option<&Binary> {
        self.user_file
            .get_or_init(|| {
                let path = self.user_binary.clone()?;
                Binary::open(&path, path.clone()).ok()
            })
            .as_ref()
    }

    fn user_mapping(&self, pc: u64) -> Option<std::sync::Arc<PcMapping>> {
        let bin = self.user_file()?;
        let (vaddr, size, offset) = bin.segment_at(pc)?;
        let bias = self.load_bias.get().copied().unwrap_or(0);
        Some(std::sync::Arc::new(PcMapping {
            start: vaddr.wrapping_add(bias),
            limit: vaddr.wrapping_add(size).wrapping_add(bias),
            offset,
            file: bin.path().display().to_string(),
            build_id: bin.build_id().unwrap_or_default().to_string(),
            go: self.go_binary().is_some(),
        }))
    }

    /// `realtime_offset_ns`: CLOCK_REALTIME − CLOCK_MONOTONIC now. The manifest names the
    /// programs (recompilations for binaries started later name theirs the same).
    pub fn new(realtime_offset_ns: i64, manifest: &Manifest) -> Resolver {
        let mut resolver = Resolver {
            realtime_offset_ns,
            cgroup_filters: manifest.cgroup_filters.clone(),
            ..Resolver::default()
        };
        resolver.learn_probe_names(manifest);
        resolver
    }

    /// The names `probe` values of `manifest`'s programs stand for (each function's, for a
    /// program at several).
    pub fn learn_probe_names(&mut self, manifest: &Manifest) {
        for p in &manifest.programs {
            let names = std::iter::once(&p.probe_name).chain(p.site_names.iter().map(|(_, n)| n));
            for name in names {
                self.probe_names
                    .entry(u64::from(manifest::probe_id(name)))
                    .or_insert_with(|| name.clone());
            }
        }
    }

    /// A process exec'd (node-wide): learn its new image.
    pub fn process_exec(&mut self, pid: u32, image: &ExecImage) {
        if let Some(node) = &self.node {
            node.exec(pid, image);
        }
    }

    /// Node-wide: labels naming each process, for exporters.
    pub fn process_table(&self) -> Option<ProcessTable> {
        self.node.as_ref().map(NodeWide::process_table)
    }

    /// A process ended (node-wide): keep what symbolizes it, forget its Go facts.
    pub fn process_exit(&mut self, pid: u32) {
        if let Some(node) = &self.node {
            node.exit(pid);
        }
    }
}
