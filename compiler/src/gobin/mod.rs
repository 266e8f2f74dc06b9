//! A pure reader for Go ELF binaries: build info, the function table from `.gopclntab` (works on
//! stripped binaries), ELF symbols, DWARF parameter lists and struct layouts, the Go register ABI,
//! RET offsets for return probes, runtime struct offsets, and `vaddr → file offset` for uprobes.
//!
//! Opening is cheap: the file is read once, ELF headers and the pclntab header are parsed, and
//! everything else (function names, symbols, DWARF) is decoded on first use.

pub mod abi;
pub mod buildinfo;
pub mod debugfile;
pub mod dwarf;
pub mod known_funcs;
pub mod known_types;
pub mod libraries;
mod mapping;
pub mod offsets;
pub mod packages;
pub mod pclntab;
pub mod prologue;
pub mod rets;
pub mod symbols;
pub mod tls;
pub mod types;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use object::{Object, ObjectSection, ObjectSegment};

pub use abi::{ArgLocation, Reg, RegClass, RegPiece, assign_abi};
pub use buildinfo::{BuildInfo, Module};
pub use debugfile::{BuildIds, DwarfSource};
pub use dwarf::{GoParam, ParamList};
pub use mapping::Bytes as FileBytes;
pub use offsets::{OffsetSource, RuntimeOffsets};
pub use pclntab::{Frame, Function};
pub use symbols::Symbol;
pub use types::{GoField, GoStruct, GoType};

#[derive(Debug, thiserror::Error)]
pub enum GoBinError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("not an ELF file: {0}")]
    NotElf(String),
    #[error("not a Go binary: no .gopclntab and no Go pclntab magic found")]
    NotGo,
    #[error("unsupported architecture {0} (gprobe reads 64-bit x86_64 and aarch64 Go binaries)")]
    WrongArch(String),
    #[error("truncated Go binary: {0} runs past the end of its data")]
    Truncated(&'static str),
    #[error("corrupt Go binary: {0}")]
    Corrupt(String),
    #[error("no function named `{0}` in the Go binary")]
    NoFunction(String),
    #[error("the binary has no DWARF debug info (built with -ldflags=-w or stripped)")]
    NoDwarf,
    #[error("{0}")]
    DebugFileMismatch(Box<debugfile::Mismatch>),
    #[error("the debug file {0} has no DWARF (.debug_info)")]
    DebugFileNoDwarf(PathBuf),
    #[error("DWARF: {0}")]
    Dwarf(String),
    #[error("instruction decoding is not supported for {0}")]
    NoDecoder(String),
}

pub type Result<T, E = GoBinError> = std::result::Result<T, E>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Arch {
    X86_64,
    Aarch64,
}

/// One ELF section header, kept so lookups need not reparse the file.
#[derive(Clone, Debug)]
pub struct Section {
    pub name: String,
    pub addr: u64,
    /// File range; `None` for sections without file data (`.bss`).
    pub file_range: Option<(u64, u64)>,
    pub compressed: bool,
}

/// A PT_LOAD program header: what the loader maps, and so what uprobe offsets are relative to.
#[derive(Clone, Copy, Debug)]
pub struct LoadSegment {
    pub vaddr: u64,
    pub file_offset: u64,
    pub file_size: u64,
    pub mem_size: u64,
}

/// An opened Go binary. Cheap to open; function names, symbols and DWARF decode on first use.
pub struct GoBinary {
    path: Option<PathBuf>,
    data: mapping::Bytes,
    arch: Arch,
    pie: bool,
    sections: Vec<Section>,
    segments: Vec<LoadSegment>,
    build_info: Option<BuildInfo>,
    pcln: pclntab::Pclntab,
    functions: OnceLock<Vec<Function>>,
    symbols: OnceLock<Vec<Symbol>>,
    dwarf: OnceLock<Result<dwarf::DwarfInfo, String>>,
    /// Separate debug info of this build (see [`debugfile`]), when the binary is stripped.
    debug_file: Option<(PathBuf, mapping::Bytes)>,
    /// Each table library's version in this binary (`libraries::LIBRARIES` order), found once:
    /// a GOPATH build's is a scan of the whole file.
    library_versions: OnceLock<Vec<Option<(String, &'static str)>>>,
}

impl std::fmt::Debug for GoBinary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoBinary")
            .field("path", &self.path)
            .field("arch", &self.arch)
            .field("pie", &self.pie)
            .field("go_version", &self.go_version())
            .finish_non_exhaustive()
    }
}

impl GoBinary {
    pub fn open(path: impl AsRef<Path>) -> Result<GoBinary> {
        let path = path.as_ref();
        let io = |source| GoBinError::Io {
            path: path.to_owned(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let data = mapping::Bytes::map(&file).map_err(io)?;
        let mut bin = GoBinary::from_bytes(data)?;
        bin.path = Some(path.to_owned());
        Ok(bin)
    }

    /// Parses a binary already in memory.
    pub fn parse(data: Vec<u8>) -> Result<GoBinary> {
        GoBinary::from_bytes(mapping::Bytes::Owned(data))
    }

    fn from_bytes(data: mapping::Bytes) -> Result<GoBinary> {
        let file = object::File::parse(&*data).map_err(|e| GoBinError::NotElf(e.to_string()))?;
        if file.format() != object::BinaryFormat::Elf {
            return Err(GoBinError::NotElf(format!("{:?} file", file.format())));
        }
        let arch = match (file.architecture(), file.is_64()) {
            (object::Architecture::X86_64, true) => Arch::X86_64,
            (object::Architecture::Aarch64, true) => Arch::Aarch64,
            (other, is64) => {
                return Err(GoBinError::WrongArch(format!(
                    "{other:?} ({}-bit)",
                    if is64 { 64 } else { 32 }
                )));
            }
        };
        if !file.is_little_endian() {
            return Err(GoBinError::WrongArch("big-endian".into()));
        }
        // e_type lives at byte 16 of the ELF header; ET_DYN (3) for a PIE executable.
        let pie = data.get(16..18) == Some(&[3, 0]);
        let sections = file
            .sections()
            .map(|s| Section {
                name: s.name().unwrap_or("").to_owned(),
                addr: s.address(),
                file_range: s.file_range(),
                compressed: s
                    .compressed_file_range()
                    .map(|r| r.format != object::CompressionFormat::None)
                    .unwrap_or(false),
            })
            .collect::<Vec<_>>();
        let segments = file
            .segments()
            .map(|s| {
                let (file_offset, file_size) = s.file_range();
                LoadSegment {
                    vaddr: s.address(),
                    file_offset,
                    file_size,
                    mem_size: s.size(),
                }
            })
            .collect::<Vec<_>>();
        drop(file);
        let mut bin = GoBinary {
            path: None,
            data,
            arch,
            pie,
            sections,
            segments,
            build_info: None,
            pcln: pclntab::Pclntab::placeholder(),
            functions: OnceLock::new(),
            symbols: OnceLock::new(),
            dwarf: OnceLock::new(),
            debug_file: None,
            library_versions: OnceLock::new(),
        };
        bin.build_info = buildinfo::BuildInfo::locate(&bin);
        bin.pcln = pclntab::Pclntab::locate(&bin)?;
        Ok(bin)
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// ET_DYN: the loader picks the base address, so uprobe offsets must come from
    /// [`GoBinary::vaddr_to_file_offset`], never from raw addresses.
    pub fn is_pie(&self) -> bool {
        self.pie
    }

    /// Built with cgo (`CGO_ENABLED=1` in the build info): C code may run on Go threads, and
    /// the g pointer's TLS slot is placed by the external linker.
    pub fn is_cgo(&self) -> bool {
        self.build_info().and_then(|b| b.setting("CGO_ENABLED")) == Some("1")
    }

    pub fn build_info(&self) -> Option<&BuildInfo> {
        self.build_info.as_ref()
    }

    /// `go1.27.3`, from `.go.buildinfo`.
    pub fn go_version(&self) -> Option<&str> {
        self.build_info.as_ref().map(|b| b.go_version.as_str())
    }

    /// (major, minor) of the Go toolchain, e.g. (1, 23); from build info, else guessed from the
    /// pclntab magic (which only narrows it to a range: the lowest version is returned).
    pub fn go_release(&self) -> (u32, u32) {
        self.build_info
            .as_ref()
            .and_then(|b| b.release())
            .unwrap_or_else(|| self.pcln.min_release())
    }

    pub fn sections(&self) -> &[Section] {
        &self.sections
    }

    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    pub fn load_segments(&self) -> &[LoadSegment] {
        &self.segments
    }

    /// The file bytes of a section (raw, i.e. still compressed if it is).
    pub fn section_data(&self, section: &Section) -> Option<&[u8]> {
        let (off, size) = section.file_range?;
        self.data
            .get(usize::try_from(off).ok()?..usize::try_from(off.checked_add(size)?).ok()?)
    }

    /// The file offset a uprobe needs for a virtual address, via the PT_LOAD headers.
    pub fn vaddr_to_file_offset(&self, vaddr: u64) -> Option<u64> {
        self.segments.iter().find_map(|s| {
            let delta = vaddr.checked_sub(s.vaddr)?;
            (delta < s.file_size)
                .then(|| s.file_offset.checked_add(delta))
                .flatten()
        })
    }

    /// Up to `len` bytes of file-backed memory at `vaddr` (shorter at the end of a segment).
    pub fn bytes_at(&self, vaddr: u64, len: u64) -> Option<&[u8]> {
        let seg = self
            .segments
            .iter()
            .find(|s| vaddr.checked_sub(s.vaddr).is_some_and(|d| d < s.file_size))?;
        let start = seg.file_offset.checked_add(vaddr - seg.vaddr)?;
        let end = start
            .checked_add(len)?
            .min(seg.file_offset.saturating_add(seg.file_size));
        self.data
            .get(usize::try_from(start).ok()?..usize::try_from(end).ok()?)
    }

    pub(crate) fn read_u64_at(&self, vaddr: u64) -> Option<u64> {
        let b = self.bytes_at(vaddr, 8)?;
        Some(u64::from_le_bytes(b.try_into().ok()?))
    }

    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Every function in the pclntab, sorted by entry address (decoded on first call).
    pub fn functions(&self) -> &[Function] {
        self.functions
            .get_or_init(|| self.pcln.functions(self).unwrap_or_default())
    }

    /// Like [`GoBinary::functions`] but reports a corrupt function table instead of hiding it.
    pub fn try_functions(&self) -> Result<&[Function]> {
        if let Some(f) = self.functions.get() {
            return Ok(f);
        }
        let funcs = self.pcln.functions(self)?;
        Ok(self.functions.get_or_init(|| funcs))
    }

    /// The function with exactly this Go name (`net/http.(*conn).serve`, `main.work`).
    /// Assembly functions are `foo.abi0` in the ELF symbol table but `foo` in the pclntab; both
    /// spellings find them.
    pub fn function(&self, name: &str) -> Option<&Function> {
        let funcs = self.functions();
        funcs.iter().find(|f| f.name == name).or_else(|| {
            let bare = name.strip_suffix(".abi0")?;
            funcs.iter().find(|f| f.name == bare)
        })
    }

    /// All functions with this name: an assembly function's ABI wrapper (`foo.abi0` in the
    /// symbol table) shares the pclntab name of the function it wraps.
    pub fn functions_named(&self, name: &str) -> Vec<&Function> {
        self.functions().iter().filter(|f| f.name == name).collect()
    }

    /// Functions whose name matches a glob (`*` any run of characters, `?` one character),
    /// e.g. `net/http.*`, `main.*`; in address order.
    pub fn functions_matching(&self, pattern: &str) -> Vec<&Function> {
        self.functions()
            .iter()
            .filter(|f| glob_match(pattern, &f.name))
            .collect()
    }

    /// The function containing `pc`.
    pub fn function_at(&self, pc: u64) -> Option<&Function> {
        let funcs = self.functions();
        let i = funcs.partition_point(|f| f.entry <= pc).checked_sub(1)?;
        let f = &funcs[i];
        (pc < f.end).then_some(f)
    }

    /// Whether the function holding `pc` is where a Go stack begins (`runtime.goexit` under
    /// every goroutine, `runtime.mstart` under an M's system stack, `runtime.rt0_go` under
    /// the first): what a frame-pointer walk finds past it is not a frame (Go's own traceback
    /// stops there too).
    pub fn starts_stack(&self, pc: u64) -> bool {
        const TOPS: [&str; 3] = ["runtime.goexit", "runtime.mstart", "runtime.rt0_go"];
        self.function_at(pc).is_some_and(|f| {
            let name = f.name.strip_suffix(".abi0").unwrap_or(&f.name);
            TOPS.contains(&name)
        })
    }

    /// `pc` → frames, innermost first: inlined calls expanded when the binary records them.
    pub fn symbolize(&self, pc: u64) -> Vec<Frame> {
        match self.function_at(pc) {
            Some(f) => self.pcln.symbolize(self, f, pc),
            None => Vec::new(),
        }
    }

    /// The machine code of a function, `[entry, end)`.
    pub fn function_code(&self, f: &Function) -> Option<&[u8]> {
        let bytes = self.bytes_at(f.entry, f.end.checked_sub(f.entry)?)?;
        (bytes.len() as u64 == f.end - f.entry).then_some(bytes)
    }

    /// Offsets from the function's entry of every RET instruction in it (empty: never returns).
    pub fn ret_offsets(&self, f: &Function) -> Result<Vec<u64>> {
        let code = self
            .function_code(f)
            .ok_or(GoBinError::Truncated("function code"))?;
        rets::ret_offsets(self.arch, f.entry, code)
    }

    /// Offset from the entry where an entry uprobe fires once per call: after the stack check's
    /// branch to `runtime.morestack` (which re-enters the function from the top), else 0.
    pub fn entry_probe_offset(&self, f: &Function) -> Result<u64> {
        let code = self
            .function_code(f)
            .ok_or(GoBinError::Truncated("function code"))?;
        Ok(prologue::entry_probe_offset(self.arch, f.entry, code))
    }

    /// Whether a uprobe at `vaddr` (a function's entry probe) sees a user stack without the
    /// function's direct caller; see [`prologue::fp_walk_misses_caller`].
    pub fn fp_walk_misses_caller(&self, vaddr: u64) -> bool {
        self.bytes_at(vaddr, 4)
            .is_some_and(|code| prologue::fp_walk_misses_caller(self.arch, code))
    }

    /// Offset of g's TLS slot from the thread pointer (`fs_base`), from the load of g in
    /// `runtime.systemstack` (see [`tls`]): -8 unless external linking (cgo) with C thread-local
    /// variables moved it. arm64 and programs without that load get the default.
    pub fn tls_g_offset(&self) -> i64 {
        if self.arch != Arch::X86_64 {
            return tls::DEFAULT_TLS_G;
        }
        self.functions_named("runtime.systemstack")
            .into_iter()
            .filter_map(|f| self.function_code(f))
            .find_map(tls::fs_load_displacement)
            .unwrap_or(tls::DEFAULT_TLS_G)
    }

    /// ELF `.symtab` symbols (empty when stripped).
    pub fn symbols(&self) -> &[Symbol] {
        self.symbols
            .get_or_init(|| symbols::read_symbols(&self.data))
    }

    pub fn symbol(&self, name: &str) -> Option<&Symbol> {
        self.symbols().iter().find(|s| s.name == name)
    }

    /// DWARF in the binary itself or in its debug file.
    pub fn has_dwarf(&self) -> bool {
        self.has_own_dwarf() || self.debug_file.is_some()
    }

    fn has_own_dwarf(&self) -> bool {
        self.section(".debug_info").is_some() || self.section(".zdebug_info").is_some()
    }

    pub fn dwarf_source(&self) -> DwarfSource {
        match &self.debug_file {
            _ if self.has_own_dwarf() => DwarfSource::Binary,
            Some((path, _)) => DwarfSource::DebugFile(path.clone()),
            None => DwarfSource::None,
        }
    }

    /// The GNU and Go build ids in the binary's notes.
    pub fn build_ids(&self) -> BuildIds {
        BuildIds::read(&self.data)
    }

    /// Takes DWARF from `path`, the debug info of this same build kept aside; refused when the
    /// build ids differ (or cannot be compared) or the file has no DWARF.
    pub fn use_debug_file(&mut self, path: &Path) -> Result<()> {
        let io = |source| GoBinError::Io {
            path: path.to_owned(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let data = mapping::Bytes::map(&file).map_err(io)?;
        let file_ids = BuildIds::read(&data);
        let binary_ids = self.build_ids();
        if !binary_ids.matches(&file_ids) {
            return Err(GoBinError::DebugFileMismatch(Box::new(
                debugfile::Mismatch {
                    path: path.to_owned(),
                    binary: self
                        .path
                        .as_deref()
                        .map_or("the binary".into(), |p| p.display().to_string()),
                    file_ids,
                    binary_ids,
                },
            )));
        }
        let elf = object::File::parse(&*data).map_err(|e| GoBinError::NotElf(e.to_string()))?;
        if elf.section_by_name(".debug_info").is_none() {
            return Err(GoBinError::DebugFileNoDwarf(path.to_owned()));
        }
        drop(elf);
        self.debug_file = Some((path.to_owned(), data));
        self.dwarf = OnceLock::new();
        Ok(())
    }

    /// A binary without DWARF: its debug file under `dir/.build-id/` by GNU build id, when one
    /// is installed there. `Ok(None)` when there is nothing to look for or nothing found.
    pub fn find_debug_file(&mut self, dir: &Path) -> Result<Option<PathBuf>> {
        if self.has_dwarf() {
            return Ok(None);
        }
        let Some(path) = self
            .build_ids()
            .gnu
            .and_then(|id| debugfile::build_id_path(dir, &id))
            .filter(|p| p.is_file())
        else {
            return Ok(None);
        };
        self.use_debug_file(&path)?;
        Ok(Some(path))
    }

    /// [`GoBinary::open`], then DWARF from `debug_file` when given, else from the build-id
    /// directory under [`debugfile::DEBUG_DIR`] when the binary has none.
    pub fn open_with_debug(path: impl AsRef<Path>, debug_file: Option<&Path>) -> Result<GoBinary> {
        let mut bin = GoBinary::open(path)?;
        match debug_file {
            Some(file) => bin.use_debug_file(file)?,
            None => {
                bin.find_debug_file(Path::new(debugfile::DEBUG_DIR))?;
            }
        }
        Ok(bin)
    }

    /// The version of table library number `index` (of `libraries::LIBRARIES`) and where it
    /// was read, cached.
    pub(crate) fn library_version(&self, index: usize) -> Option<&(String, &'static str)> {
        self.library_versions
            .get_or_init(|| {
                libraries::LIBRARIES
                    .iter()
                    .map(|lib| libraries::find_version(self, lib))
                    .collect()
            })
            .get(index)?
            .as_ref()
    }

    pub(crate) fn dwarf(&self) -> Result<&dwarf::DwarfInfo> {
        if !self.has_dwarf() {
            return Err(GoBinError::NoDwarf);
        }
        let data: &[u8] = match &self.debug_file {
            Some((_, data)) if !self.has_own_dwarf() => data,
            _ => &self.data,
        };
        self.dwarf
            .get_or_init(|| dwarf::DwarfInfo::load(data).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| GoBinError::Dwarf(e.clone()))
    }

    /// Parameters and results of a Go function from DWARF, in declaration order, each with its
    /// ABI location (register pieces or entry-SP offset).
    pub fn params(&self, function: &str) -> Result<ParamList> {
        let dw = self.dwarf()?;
        let mut params = dw.params(function)?;
        if self.arch == Arch::X86_64 || self.arch == Arch::Aarch64 {
            abi::assign_abi(self.arch, &mut params.params);
        }
        Ok(params)
    }

    /// A struct layout by Go name (`net/http.Request`, `runtime.g`) from DWARF, else from the
    /// built-in tables for this Go version, or a library's for its version (partial: only the
    /// well-known fields).
    pub fn go_struct(&self, name: &str) -> Option<GoStruct> {
        if let Ok(dw) = self.dwarf()
            && let Some(s) = dw.struct_type(name)
        {
            return Some(s);
        }
        known_types::struct_type(name, self.go_release())
            .or_else(|| libraries::struct_type(self, name))
    }

    /// [`GoBinary::go_struct`] in the compiler's type vocabulary.
    pub fn struct_type(&self, name: &str) -> Option<crate::types::StructType> {
        self.go_struct(name).map(|s| s.to_struct_type())
    }

    /// Library repositories linked in, from the function names (see [`packages`]).
    pub fn linked_libraries(&self) -> Vec<String> {
        packages::linked_libraries(self.functions().iter().map(|f| f.name.as_str()))
    }

    /// Runtime offsets (g.goid, m.curg, …): DWARF when present, else the table for the version.
    pub fn runtime_offsets(&self) -> RuntimeOffsets {
        offsets::RuntimeOffsets::for_binary(self)
    }
}

pub use crate::names::glob_match;

/// Bounds-checked little-endian reads over a byte slice.
pub(crate) struct Bytes<'a> {
    pub data: &'a [u8],
    pub what: &'static str,
}

impl<'a> Bytes<'a> {
    pub fn slice(&self, off: u64, len: u64) -> Result<&'a [u8]> {
        let start = usize::try_from(off).map_err(|_| GoBinError::Truncated(self.what))?;
        let len = usize::try_from(len).map_err(|_| GoBinError::Truncated(self.what))?;
        let end = start
            .checked_add(len)
            .ok_or(GoBinError::Truncated(self.what))?;
        self.data
            .get(start..end)
            .ok_or(GoBinError::Truncated(self.what))
    }
    pub fn u8(&self, off: u64) -> Result<u8> {
        Ok(self.slice(off, 1)?[0])
    }
    pub fn u32(&self, off: u64) -> Result<u32> {
        Ok(u32::from_le_bytes(
            self.slice(off, 4)?.try_into().unwrap_or_default(),
        ))
    }
    pub fn u64(&self, off: u64) -> Result<u64> {
        Ok(u64::from_le_bytes(
            self.slice(off, 8)?.try_into().unwrap_or_default(),
        ))
    }
    /// A pointer-sized word.
    pub fn word(&self, off: u64, ptr_size: u8) -> Result<u64> {
        if ptr_size == 8 {
            self.u64(off)
        } else {
            self.u32(off).map(u64::from)
        }
    }
    /// A NUL-terminated string starting at `off`.
    pub fn cstr(&self, off: u64) -> Result<&'a str> {
        let start = usize::try_from(off).map_err(|_| GoBinError::Truncated(self.what))?;
        let rest = self
            .data
            .get(start..)
            .ok_or(GoBinError::Truncated(self.what))?;
        let len = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or(GoBinError::Truncated(self.what))?;
        std::str::from_utf8(&rest[..len])
            .map_err(|_| GoBinError::Corrupt(format!("{} holds a non-UTF-8 name", self.what)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_not_elf() {
        assert!(matches!(
            GoBinary::parse(vec![]),
            Err(GoBinError::NotElf(_))
        ));
        assert!(matches!(
            GoBinary::parse(b"hello world".to_vec()),
            Err(GoBinError::NotElf(_))
        ));
    }
}
