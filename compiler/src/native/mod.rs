//! A pure reader for ELF binaries that are not Go (C, C++, Rust, shared libraries): function
//! symbols, `vaddr → file offset`, instruction boundaries (iced-x86) for `func+OFFSET` and
//! address probes, and — from DWARF, when built with `-g` — C function signatures with System V
//! argument locations and struct layouts (see [`dwarf`]).

pub mod dwarf;
mod user_symbol;

use std::path::Path;
use std::sync::OnceLock;

use object::{Object, ObjectSegment, ObjectSymbol};

use crate::gobin::FileBytes;
use crate::target::{GoLocation, GoSite, RegSlot};
use crate::types::StructType;

pub use dwarf::{CFunction, CParam};
pub use user_symbol::{UserSymbol, user_symbol};

/// A function symbol of the ELF symbol tables (`.symtab`, else `.dynsym`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NativeSymbol {
    pub name: String,
    pub addr: u64,
    pub size: u64,
}

#[derive(Clone, Copy, Debug)]
struct Segment {
    vaddr: u64,
    file_offset: u64,
    file_size: u64,
}

/// An opened non-Go ELF file.
pub struct NativeElf {
    data: FileBytes,
    x86_64: bool,
    segments: Vec<Segment>,
    /// Sorted by name, one per name (the first by address).
    symbols: Vec<NativeSymbol>,
    /// The separate debug file (`/usr/lib/debug/.build-id/xx/yyyy.debug`, e.g. from
    /// Debian's `-dbg`/`-dbgsym` packages): more symbols, and the DWARF.
    debug: Option<FileBytes>,
    dwarf: OnceLock<Result<dwarf::CDwarf, String>>,
}

impl std::fmt::Debug for NativeElf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeElf")
            .field("symbols", &self.symbols.len())
            .finish_non_exhaustive()
    }
}

impl NativeElf {
    pub fn open(path: impl AsRef<Path>) -> Result<NativeElf, String> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let data = FileBytes::map(&file).map_err(|e| format!("{}: {e}", path.display()))?;
        NativeElf::from_bytes(data)
    }

    pub fn parse(data: Vec<u8>) -> Result<NativeElf, String> {
        NativeElf::from_bytes(FileBytes::Owned(data))
    }

    fn from_bytes(data: FileBytes) -> Result<NativeElf, String> {
        let file = object::File::parse(&*data).map_err(|e| format!("not an ELF file: {e}"))?;
        let debug = file
            .build_id()
            .ok()
            .flatten()
            .filter(|id| id.len() > 1)
            .and_then(|id| {
                let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
                let path = format!("/usr/lib/debug/.build-id/{}/{}.debug", &hex[..2], &hex[2..]);
                FileBytes::map(&std::fs::File::open(path).ok()?).ok()
            });
        if file.format() != object::BinaryFormat::Elf {
            return Err(format!("not an ELF file ({:?})", file.format()));
        }
        let x86_64 = file.architecture() == object::Architecture::X86_64;
        let segments = file
            .segments()
            .map(|s| {
                let (file_offset, file_size) = s.file_range();
                Segment {
                    vaddr: s.address(),
                    file_offset,
                    file_size,
                }
            })
            .collect();
        let mut symbols = function_symbols(&file);
        if let Some(debug) = &debug
            && let Ok(dfile) = object::File::parse(&**debug)
        {
            symbols.extend(function_symbols(&dfile));
        }
        symbols.sort_by(|a, b| a.name.cmp(&b.name).then(b.size.cmp(&a.size)));
        symbols.dedup_by(|a, b| a.name == b.name);
        drop(file);
        Ok(NativeElf {
            data,
            x86_64,
            segments,
            symbols,
            debug,
            dwarf: OnceLock::new(),
        })
    }

    /// Function symbols sorted by name.
    pub fn symbols(&self) -> &[NativeSymbol] {
        &self.symbols
    }

    pub fn symbol(&self, name: &str) -> Option<&NativeSymbol> {
        self.symbols
            .binary_search_by(|s| s.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.symbols[i])
    }

    /// The function whose `[addr, addr+size)` holds `vaddr`.
    pub fn symbol_at(&self, vaddr: u64) -> Option<&NativeSymbol> {
        self.symbols
            .iter()
            .filter(|s| s.addr <= vaddr && vaddr < s.addr + s.size.max(1))
            .min_by_key(|s| s.size)
    }

    pub fn vaddr_to_file_offset(&self, vaddr: u64) -> Option<u64> {
        self.segments.iter().find_map(|s| {
            let delta = vaddr.checked_sub(s.vaddr)?;
            (delta < s.file_size).then(|| s.file_offset + delta)
        })
    }

    fn bytes_at(&self, vaddr: u64, len: u64) -> Option<&[u8]> {
        let start = usize::try_from(self.vaddr_to_file_offset(vaddr)?).ok()?;
        let end = start.saturating_add(usize::try_from(len).ok()?);
        self.data.get(start..end.min(self.data.len()))
    }

    /// Checks that `offset` bytes into `sym` starts an instruction: a probe in the middle of
    /// one would corrupt the program. `Err` names the instruction it falls in.
    pub fn check_boundary(&self, sym: &NativeSymbol, offset: u64) -> Result<(), String> {
        if offset == 0 {
            return Ok(());
        }
        if sym.size != 0 && offset >= sym.size {
            return Err(format!(
                "offset {offset:#x} is past the end of `{}`, which is {} bytes long",
                sym.name, sym.size
            ));
        }
        if !self.x86_64 {
            // Fixed-width (aarch64) instructions.
            return if offset.is_multiple_of(4) {
                Ok(())
            } else {
                Err(format!(
                    "offset {offset:#x} is not a multiple of 4 (instructions are 4 bytes)"
                ))
            };
        }
        let code = self
            .bytes_at(sym.addr, sym.size.max(offset + 16))
            .ok_or_else(|| format!("the code of `{}` is not in the file", sym.name))?;
        let mut decoder =
            iced_x86::Decoder::with_ip(64, code, sym.addr, iced_x86::DecoderOptions::NONE);
        while decoder.can_decode() {
            let at = decoder.ip() - sym.addr;
            let insn = decoder.decode();
            let end = at + insn.len() as u64;
            if at == offset {
                return Ok(());
            }
            if offset < end {
                return Err(format!(
                    "offset {offset:#x} is inside the {}-byte instruction at `{}+{at:#x}` (`{}`); instructions start at +{at:#x} and +{end:#x}",
                    insn.len(),
                    sym.name,
                    format!("{:?}", insn.mnemonic()).to_lowercase()
                ));
            }
        }
        Err(format!(
            "offset {offset:#x} is not an instruction boundary of `{}`",
            sym.name
        ))
    }

    fn dwarf(&self) -> Result<&dwarf::CDwarf, String> {
        self.dwarf
            .get_or_init(|| dwarf::CDwarf::load(self.debug.as_ref().unwrap_or(&self.data)))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The C signature of `function` from DWARF. `Err` says why it is unknown.
    pub fn function(&self, function: &str) -> Result<CFunction, String> {
        let dwarf = self.dwarf()?;
        dwarf.function(function).ok_or_else(|| {
            if dwarf.is_empty() {
                "the binary has no DWARF debug info (build it with -g)".to_string()
            } else if self.symbol(function).is_some() {
                format!("`{function}` has no DWARF description (built without -g?)")
            } else {
                let names = dwarf.function_names();
                let near = crate::names::nearest(function, names.iter().map(String::as_str), 3);
                match near.as_slice() {
                    [] => format!("no C function `{function}` in the DWARF"),
                    near => format!(
                        "no C function `{function}` in the DWARF; nearest: {}",
                        near.iter()
                            .map(|n| format!("`{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }
            }
        })
    }

    /// A struct (or union, or typedef of one) by name, from DWARF.
    pub fn struct_type(&self, name: &str) -> Option<StructType> {
        self.dwarf().ok()?.struct_type(name)
    }

    /// Whether reading this binary's DWARF is possible (for `-lv`).
    pub fn has_dwarf(&self) -> bool {
        self.dwarf().is_ok_and(|d| !d.is_empty())
    }

    /// A uprobe site at file offset `offset` of `function` with its C arguments in their System
    /// V registers (entry only: after the first instruction they may be gone).
    pub fn site(&self, name: &str, file_offset: u64, params: Option<&CFunction>) -> GoSite {
        GoSite {
            name: name.to_owned(),
            offsets: vec![file_offset],
            abi_internal: false,
            caller_at_sp: false,
            params: params
                .map(|f| sysv_locations(f, self.x86_64))
                .unwrap_or_default(),
            results: Vec::new(),
            native: true,
        }
    }
}

/// Defined function symbols of `.symtab` and `.dynsym`.
fn function_symbols(file: &object::File) -> Vec<NativeSymbol> {
    file.symbols()
        .chain(file.dynamic_symbols())
        .filter(|s| s.kind() == object::SymbolKind::Text && s.is_definition())
        .filter(|s| s.address() != 0)
        .filter_map(|s| {
            Some(NativeSymbol {
                // `malloc@@GLIBC_2.2.5` in .dynsym: the version is not part of the name.
                name: s.name().ok()?.split('@').next()?.to_owned(),
                addr: s.address(),
                size: s.size(),
            })
        })
        .filter(|s| !s.name.is_empty())
        .collect()
}

/// System V AMD64 (and AAPCS64) argument locations: integers and pointers in the next integer
/// register, then on the stack above the return address. Floats and structs passed by value
/// are `Unavailable` (the checker refuses them), and so is everything after one, whose class
/// decides where later arguments go.
fn sysv_locations(f: &CFunction, x86_64: bool) -> Vec<(String, GoLocation)> {
    // pt_regs offsets of rdi, rsi, rdx, rcx, r8, r9 (x86_64); x0..x7 (arm64 user_pt_regs).
    const AMD64: [u16; 6] = [112, 104, 96, 88, 72, 64];
    let regs: Vec<u16> = if x86_64 {
        AMD64.to_vec()
    } else {
        (0..8).map(|i| i * 8).collect()
    };
    let mut next_reg = 0;
    let mut stack = if x86_64 { 8 } else { 0 };
    let mut lost = false;
    f.params
        .iter()
        .map(|p| {
            let loc = if lost || !p.integer {
                lost = true;
                GoLocation::Unavailable
            } else if let Some(&reg) = regs.get(next_reg) {
                next_reg += 1;
                GoLocation::Registers(vec![RegSlot {
                    pt_regs: reg,
                    offset: 0,
                    size: p.size.clamp(1, 8),
                }])
            } else {
                let at = stack;
                stack += 8;
                GoLocation::Stack { offset: at }
            };
            (p.name.clone(), loc)
        })
        .collect()
}

/// `0x401126`: an absolute-address probe.
pub fn parse_address(function: &str) -> Option<u64> {
    let hex = function
        .strip_prefix("0x")
        .or_else(|| function.strip_prefix("0X"))?;
    u64::from_str_radix(hex, 16).ok()
}
