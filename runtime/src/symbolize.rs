//! Addresses to names: ELF symbols of the traced binary for user addresses (Go binaries are
//! not position independent, so run-time addresses are link-time addresses), /proc/kallsyms
//! for kernel ones. Loaded lazily, only when a stack or symbol is actually printed.

use object::{Object, ObjectSegment, ObjectSymbol, SymbolKind};
use std::path::Path;

/// Sorted (address, size, name) for one address space.
#[derive(Default, Debug)]
pub struct SymbolTable {
    symbols: Vec<(u64, u64, String)>,
}

impl SymbolTable {
    /// Function symbols of an ELF file; empty if unreadable (printing falls back to hex).
    pub fn from_elf(path: &Path) -> SymbolTable {
        let Ok(data) = std::fs::read(path) else {
            return SymbolTable::default();
        };
        SymbolTable::from_elf_bytes(&data)
    }

    /// Function symbols of an ELF image in memory.
    pub fn from_elf_bytes(data: &[u8]) -> SymbolTable {
        let Ok(file) = object::File::parse(data) else {
            return SymbolTable::default();
        };
        let mut symbols: Vec<(u64, u64, String)> = file
            .symbols()
            .chain(file.dynamic_symbols())
            .filter(|s| s.kind() == SymbolKind::Text && s.address() != 0)
            .filter_map(|s| Some((s.address(), s.size(), s.name().ok()?.to_string())))
            .collect();
        symbols.sort();
        symbols.dedup_by(|a, b| a.0 == b.0);
        SymbolTable { symbols }
    }

    /// /proc/kallsyms (addresses are zero without root; then everything prints as hex).
    pub fn kernel() -> SymbolTable {
        let Ok(text) = std::fs::read_to_string("/proc/kallsyms") else {
            return SymbolTable::default();
        };
        let mut symbols: Vec<(u64, u64, String)> = text
            .lines()
            .filter_map(|l| {
                let mut parts = l.split_whitespace();
                let addr = u64::from_str_radix(parts.next()?, 16).ok()?;
                let kind = parts.next()?;
                let name = parts.next()?;
                (addr != 0 && matches!(kind, "t" | "T" | "w" | "W"))
                    .then(|| (addr, 0, name.to_string()))
            })
            .collect();
        symbols.sort();
        SymbolTable { symbols }
    }

    /// Names of all symbols, for "did you mean" hints.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.symbols.iter().map(|(_, _, n)| n.as_str())
    }

    /// `name+off` for the symbol containing `addr`, as bpftrace prints frames.
    pub fn lookup(&self, addr: u64) -> Option<String> {
        let i = self
            .symbols
            .partition_point(|(a, _, _)| *a <= addr)
            .checked_sub(1)?;
        let (start, size, name) = &self.symbols[i];
        if *size != 0 && addr >= start + size {
            return None;
        }
        Some(format!("{name}+{}", addr - start))
    }

    pub fn format(&self, addr: u64) -> String {
        self.lookup(addr).unwrap_or_else(|| format!("0x{addr:x}"))
    }
}

/// How many frames of a Go program's user stack (innermost first) to keep: up to the frame
/// where the stack begins (`starts(i, addr)`: `runtime.goexit`, `runtime.mstart`), since the
/// walk's words past it are not frames (`0xc0000061a0`, a heap pointer); a zero address ends
/// the walk too.
pub fn go_stack_len(addrs: &[u64], mut starts: impl FnMut(usize, u64) -> bool) -> usize {
    for (i, &addr) in addrs.iter().enumerate() {
        if addr == 0 {
            return i;
        }
        if starts(i, addr) {
            return i + 1;
        }
    }
    addrs.len()
}

/// The package of a Go frame as printed (`net/http.(*conn).serve+12`: `net/http`).
fn package(frame: &str) -> &str {
    let slash = frame.rfind('/').map_or(0, |i| i + 1);
    frame[slash..]
        .find('.')
        .map_or(frame, |dot| &frame[..slash + dot])
}

/// The kernel's vDSO (`clock_gettime` and friends, which Go's `nanotime` and `walltime` call):
/// the same image in every process of this kernel, at an address of each one's own. Read from
/// gprobe's own mapping; `lookup` takes an offset into the image.
pub struct Vdso {
    symbols: SymbolTable,
    /// Link-time address of the image's first byte (its symbols' base).
    base: u64,
}

impl Vdso {
    pub fn own() -> Option<Vdso> {
        // SAFETY: getauxval only reads the auxiliary vector.
        let start = unsafe { libc::getauxval(libc::AT_SYSINFO_EHDR) };
        let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
        let (from, to) = vdso_range(&maps)?;
        if start == 0 || from != start {
            return None;
        }
        // SAFETY: the kernel maps the vDSO readable for the process's whole life.
        let image = unsafe { std::slice::from_raw_parts(from as *const u8, (to - from) as usize) };
        let file = object::File::parse(image).ok()?;
        let base = file.segments().map(|s| s.address()).min().unwrap_or(0);
        Some(Vdso {
            symbols: SymbolTable::from_elf_bytes(image),
            base,
        })
    }

    /// `__vdso_clock_gettime+70` for `offset` bytes into the image.
    pub fn lookup(&self, offset: u64) -> Option<String> {
        self.symbols.lookup(self.base + offset)
    }
}

/// Where /proc/PID/maps (as text) has the `[vdso]`.
pub fn vdso_range(maps: &str) -> Option<(u64, u64)> {
    maps.lines().find(|l| l.ends_with("[vdso]")).and_then(|l| {
        let (from, to) = l.split_whitespace().next()?.split_once('-')?;
        Some((
            u64::from_str_radix(from, 16).ok()?,
            u64::from_str_radix(to, 16).ok()?,
        ))
    })
}

/// The user's frame of a Go stack (innermost first) for `gocaller`: the innermost frame whose
/// package is not the standard library's (its first path element has no dot, and it is not
/// `main`); without one (a server's connection goroutine), the innermost outside the runtime
/// and the system-call layers (`runtime`, `syscall`, `internal/...`, `os`, `net`, `vendor/...`);
/// else the innermost real frame (not `runtime.systemstack_switch`, the pc a goroutine on the
/// system stack left behind). Empty for an empty stack.
pub fn user_caller(frames: &[String]) -> String {
    let std = |p: &str| p != "main" && !p.split('/').next().unwrap_or("").contains('.');
    let layer = |p: &str| {
        matches!(p, "runtime" | "syscall" | "os" | "net")
            || ["runtime/", "internal/", "vendor/", "golang.org/x/sys/"]
                .iter()
                .any(|prefix| p.starts_with(prefix))
    };
    let frames: Vec<&str> = frames.iter().map(|f| f.trim()).collect();
    frames
        .iter()
        .find(|f| !std(package(f)))
        .or_else(|| frames.iter().find(|f| !layer(package(f))))
        .or_else(|| {
            frames
                .iter()
                .find(|f| !f.starts_with("runtime.systemstack_switch+"))
        })
        .or(frames.first())
        .map_or_else(String::new, |f| (*f).to_string())
}

/// Go frames of `addr` from the binary's pclntab (works stripped), innermost first, inlined
/// calls expanded: `main.work+12`, then `main.caller (inlined)` lines. `return_address`: look up
/// the call instruction before it (the address after a call may belong to another inlined body).
pub fn go_frames(
    bin: &gprobe_compiler::gobin::GoBinary,
    addr: u64,
    return_address: bool,
) -> Vec<String> {
    let lookup = if return_address {
        addr.saturating_sub(1)
    } else {
        addr
    };
    let Some(f) = bin.function_at(lookup) else {
        return vec![format!("0x{addr:x}")];
    };
    let frames = bin.symbolize(lookup);
    if frames.is_empty() {
        return vec![format!("{}+{}", f.name, addr - f.entry)];
    }
    frames
        .iter()
        .map(|fr| {
            if fr.inlined {
                format!("{} (inlined)", fr.function)
            } else {
                format!("{}+{}", fr.function, addr - f.entry)
            }
        })
        .collect()
}

/// The address of kernel symbol `name` of any kind (text or data), from /proc/kallsyms: for
/// `kaddr()`. `Err` says why it is unknown (absent, or addresses hidden without root).
pub fn kernel_symbol_address(name: &str) -> Result<u64, String> {
    let text = std::fs::read_to_string("/proc/kallsyms")
        .map_err(|e| format!("reading /proc/kallsyms: {e}"))?;
    let found = text.lines().find_map(|l| {
        let mut parts = l.split_whitespace();
        let addr = parts.next()?;
        let _kind = parts.next()?;
        (parts.next()? == name).then(|| u64::from_str_radix(addr, 16).ok())?
    });
    match found {
        Some(0) => Err("/proc/kallsyms hides addresses (run as root)".into()),
        Some(addr) => Ok(addr),
        None => Err(format!("`{name}` is not in /proc/kallsyms")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_caller_skips_the_standard_library() {
        let frames = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let open = frames(&[
            "internal/runtime/syscall/linux.Syscall6+14",
            "syscall.openat+98",
            "os.OpenFile+60",
            "main.openMissing (inlined)",
            "main.work+33",
        ]);
        assert_eq!(user_caller(&open), "main.openMissing (inlined)");
        let served = frames(&[
            "syscall.read+40",
            "internal/poll.(*FD).Read+80",
            "net.(*conn).Read+20",
            "net/http.(*connReader).Read+12",
            "net/http.(*conn).serve+99",
        ]);
        assert_eq!(user_caller(&served), "net/http.(*connReader).Read+12");
        let module = frames(&["os.Open+1", "github.com/x/y.(*T).Run+5"]);
        assert_eq!(user_caller(&module), "github.com/x/y.(*T).Run+5");
        // A runtime goroutine on the system stack: its own frames from g.sched.
        let runtime = frames(&[
            "runtime.systemstack_switch+8",
            "runtime.(*mheap).alloc+90",
            "runtime.main+44",
        ]);
        assert_eq!(user_caller(&runtime), "runtime.(*mheap).alloc+90");
        assert_eq!(user_caller(&[]), "");
    }

    #[test]
    fn vdso_symbols_by_offset() {
        let vdso = Vdso::own().expect("this process's vDSO");
        let (at, _, name) = vdso
            .symbols
            .symbols
            .iter()
            .find(|(_, _, n)| n.contains("clock_gettime"))
            .expect("clock_gettime in the vDSO")
            .clone();
        let found = vdso.lookup(at - vdso.base + 3).unwrap();
        assert_eq!(found, format!("{name}+3"));
    }

    #[test]
    fn own_executable_symbols() {
        let table = SymbolTable::from_elf(Path::new("/proc/self/exe"));
        assert!(table.names().any(|n| n.contains("own_executable_symbols")));
        let t = SymbolTable {
            symbols: vec![(0x1000, 0x10, "f".into()), (0x2000, 0, "g".into())],
        };
        assert_eq!(t.format(0x1004), "f+4");
        assert_eq!(t.format(0x1010), "0x1010");
        assert_eq!(t.format(0x2100), "g+256");
        assert_eq!(t.format(0x10), "0x10");
    }
}
