//! Addresses of any known process to names: each address goes to the mapping (executable or
//! shared library) that holds it, is unbiased to a link-time address of that file, and is named
//! from Go's pclntab (inlined calls expanded) or ELF symbols, else printed as hex. Works after
//! the process exited, as long as the registry still keeps it.

use super::{Binary, Processes};
use crate::stack::{Pc, PcLine, PcMapping};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A lookup miss in a live process rereads its mappings at most this often (a library may have
/// been loaded since; a bad address must not reread /proc on every frame).
const REFRESH_INTERVAL: Duration = Duration::from_millis(100);

impl Processes {
    /// The binary holding runtime address `addr` of process `pid` and the link-time address in
    /// it. Learns an unknown live process, or rereads mappings (dlopen), once on a miss.
    pub fn locate(&mut self, pid: u32, addr: u64) -> Option<(Arc<Binary>, u64)> {
        if let Some(found) = self.locate_known(pid, addr) {
            return Some(found);
        }
        if !self.refresh_due(pid) {
            return None;
        }
        if self.get(pid).is_none() {
            // A process started before us and missed by the scan, or one whose exec we missed.
            self.on_exec(pid);
            self.refreshed.insert(pid, Instant::now());
            return self.locate_known(pid, addr);
        }
        if self.refresh_mappings(pid) {
            return self.locate_known(pid, addr);
        }
        None
    }

    /// Whether /proc may be read again for `pid` after a miss (at most every REFRESH_INTERVAL).
    fn refresh_due(&mut self, pid: u32) -> bool {
        // Misses on pids that never became known must not pile up over a long run.
        if self.refreshed.len() > 4096 {
            let live = &self.live;
            self.refreshed.retain(|pid, _| live.contains_key(pid));
        }
        self.refreshed
            .get(&pid)
            .is_none_or(|at| at.elapsed() >= REFRESH_INTERVAL)
    }

    /// [`Processes::locate`] from what is known now, with no /proc reads.
    pub fn locate_known(&self, pid: u32, addr: u64) -> Option<(Arc<Binary>, u64)> {
        let m = self.get(pid)?.mapping_at(addr)?;
        Some((m.binary.clone(), addr.wrapping_sub(m.bias)))
    }

    /// One user stack of `pid`, innermost first. `go`: name Go code from the pclntab with inlined
    /// frames (`gostack`); otherwise ELF symbols first (`ustack`), the pclntab for stripped Go.
    pub fn user_frames(&mut self, pid: u32, addrs: &[u64], go: bool) -> Vec<String> {
        addrs
            .iter()
            .enumerate()
            .flat_map(|(i, &addr)| {
                let Some((bin, pc)) = self.locate(pid, addr) else {
                    return vec![format!("0x{addr:x}")];
                };
                if let Some(gobin) = bin.go()
                    && (go || bin.symbols().lookup(pc).is_none())
                {
                    // Frames above the first hold return addresses: look up the call before.
                    return crate::symbolize::go_frames(gobin, pc, i > 0);
                }
                vec![
                    bin.symbols()
                        .lookup(pc)
                        .unwrap_or_else(|| format!("0x{addr:x}")),
                ]
            })
            .collect()
    }

    /// [`Processes::user_frames`] as addresses with their mapping and source lines (pprof).
    pub fn user_pcs(&mut self, pid: u32, addrs: &[u64]) -> Vec<Pc> {
        addrs
            .iter()
            .enumerate()
            .map(|(i, &address)| {
                let return_address = i > 0;
                let mut pc = Pc {
                    address,
                    return_address,
                    mapping: None,
                    lines: Vec::new(),
                };
                let Some((bin, link)) = self.locate(pid, address) else {
                    return pc;
                };
                pc.mapping = self.get(pid).and_then(|p| p.mapping_at(address)).map(|m| {
                    Arc::new(PcMapping {
                        start: m.start,
                        limit: m.end,
                        offset: m.offset,
                        file: bin.path().display().to_string(),
                        build_id: bin.build_id().unwrap_or_default().to_string(),
                        go: bin.go().is_some(),
                    })
                });
                // Go code by its pclntab (file:line, inlined calls) whatever the stack kind;
                // the rest by ELF symbol.
                pc.lines = bin
                    .go()
                    .map(|g| crate::stack::go_lines(g, link, return_address))
                    .unwrap_or_default();
                if pc.lines.is_empty() {
                    pc.lines
                        .extend(bin.symbols().lookup(link).map(|s| PcLine::symbol(&s)));
                }
                pc
            })
            .collect()
    }

    /// `func+off` of a Go pc (`gopc`-style values), else an ELF symbol, else hex.
    pub fn go_pc(&mut self, pid: u32, addr: u64) -> String {
        let Some((bin, pc)) = self.locate(pid, addr) else {
            return format!("0x{addr:x}");
        };
        match bin.go().and_then(|g| g.function_at(pc)) {
            Some(f) => format!("{}+{}", f.name, pc - f.entry),
            None => bin.symbols().format(pc),
        }
    }

    /// The name (no offset) of the function holding `addr`: ELF symbols, else the pclntab (a
    /// stripped Go binary keeps it), else hex.
    pub fn user_symbol(&mut self, pid: u32, addr: u64) -> String {
        let Some((bin, pc)) = self.locate(pid, addr) else {
            return format!("0x{addr:x}");
        };
        bin.symbols()
            .lookup(pc)
            .map(|s| {
                s.rsplit_once('+')
                    .map_or(s.clone(), |(name, _)| name.to_string())
            })
            .or_else(|| Some(bin.go()?.function_at(pc)?.name.clone()))
            .unwrap_or_else(|| format!("0x{addr:x}"))
    }

    /// Kernel frames from /proc/kallsyms (read on first use).
    pub fn kernel_frames(&self, addrs: &[u64]) -> Vec<String> {
        let table = self
            .kernel
            .get_or_init(crate::symbolize::SymbolTable::kernel);
        addrs.iter().map(|&a| table.format(a)).collect()
    }
}
