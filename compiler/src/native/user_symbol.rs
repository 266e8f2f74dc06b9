//! `uaddr("name")`: a symbol of the probed binary by name, as bpftrace resolves it: a
//! function, object or GNU ifunc defined in `.symtab` or `.dynsym`, with its ELF address and
//! size, and whether the file is position-independent (its addresses then move by the load
//! bias of each process).

use object::{Object, ObjectKind, ObjectSegment, ObjectSymbol, SegmentFlags, SymbolKind};
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserSymbol {
    /// `st_value`: the address in the file's own address space.
    pub vaddr: u64,
    pub size: u64,
    /// `ET_DYN` (a PIE executable or a shared library): loaded at a bias chosen per process.
    pub pie: bool,
    /// The address less the file offset in the file's executable segments (`PT_LOAD` with
    /// `PF_X`): a probed instruction at file offset `o` is at `o + exec_delta` in the file's
    /// address space. `None` when there is no such segment, or two disagree.
    pub exec_delta: Option<u64>,
}

/// Symbol `name` of ELF file `path`; `Err` says why there is none.
pub fn user_symbol(path: &Path, name: &str) -> Result<UserSymbol, String> {
    let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file = object::File::parse(&*data)
        .map_err(|e| format!("{}: not an ELF file: {e}", path.display()))?;
    let pie = file.kind() == ObjectKind::Dynamic;
    let exec_delta = exec_delta(&file);
    file.symbols()
        .chain(file.dynamic_symbols())
        .filter(|s| s.is_definition() && s.address() != 0)
        .filter(|s| matches!(s.kind(), SymbolKind::Text | SymbolKind::Data))
        // `environ@@GLIBC_2.2.5` in .dynsym: the version is not part of the name.
        .find(|s| {
            s.name()
                .ok()
                .and_then(|n| n.split('@').next())
                .is_some_and(|n| n == name)
        })
        .map(|s| UserSymbol {
            vaddr: s.address(),
            size: s.size(),
            pie,
            exec_delta,
        })
        .ok_or_else(|| format!("{} has no symbol `{name}`", path.display()))
}

/// See [`UserSymbol::exec_delta`].
fn exec_delta(file: &object::File) -> Option<u64> {
    let mut deltas = file
        .segments()
        .filter(|s| matches!(s.flags(), SegmentFlags::Elf { p_flags, .. } if p_flags.0 & object::elf::PF_X.0 != 0))
        .map(|s| s.address().wrapping_sub(s.file_range().0));
    let first = deltas.next()?;
    deltas.all(|d| d == first).then_some(first)
}
