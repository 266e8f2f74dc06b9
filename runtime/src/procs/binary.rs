//! One executable or shared library file, known by its inode rather than its path: the same
//! path means different files in different mount namespaces (containers), and one file can be
//! reached by many paths. The opened `File` is kept so the inode stays readable (through
//! `/proc/self/fd/N`) after every process that mapped it has exited or the file was deleted.

use crate::symbolize::SymbolTable;
use gprobe_compiler::gobin::GoBinary;
use gprobe_compiler::target::GoRuntime;
use object::{Object, ObjectSection, ObjectSegment};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A file's identity: device and inode from fstat of the opened file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BinaryKey {
    pub dev: u64,
    pub ino: u64,
}

/// A PT_LOAD header: how file offsets become link-time addresses.
#[derive(Clone, Copy, Debug)]
struct Segment {
    vaddr: u64,
    file_offset: u64,
    file_size: u64,
    mem_size: u64,
}

pub struct Binary {
    key: BinaryKey,
    /// Held open so the inode outlives its processes and its directory entry.
    file: File,
    path: PathBuf,
    build_id: Option<String>,
    /// ET_DYN: a PIE executable or a shared library, loaded at an address the loader picks.
    dynamic: bool,
    segments: Vec<Segment>,
    /// Has Go's sections: worth opening as a [`GoBinary`].
    looks_go: bool,
    go: OnceLock<Option<GoBinary>>,
    symbols: OnceLock<SymbolTable>,
    go_runtime: OnceLock<Option<GoRuntime>>,
}

impl std::fmt::Debug for Binary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Binary")
            .field("key", &self.key)
            .field("path", &self.path)
            .field("build_id", &self.build_id)
            .field("dynamic", &self.dynamic)
            .field("looks_go", &self.looks_go)
            .finish_non_exhaustive()
    }
}

impl Binary {
    /// Opens `source` (e.g. `/proc/PID/exe`, which works across mount namespaces) and reads its
    /// ELF headers; `path` is how the process names the file, for display. Errors are reasons.
    pub fn open(source: &Path, path: PathBuf) -> Result<Binary, String> {
        let file = File::open(source).map_err(|e| format!("opening {}: {e}", source.display()))?;
        Binary::from_file(file, path)
    }

    /// [`Binary::open`] for a file already opened.
    pub fn from_file(file: File, path: PathBuf) -> Result<Binary, String> {
        let meta = file
            .metadata()
            .map_err(|e| format!("fstat {}: {e}", path.display()))?;
        let key = BinaryKey {
            dev: meta.dev(),
            ino: meta.ino(),
        };
        // Only the headers and notes are read here, not the whole file.
        let cache = object::ReadCache::new(&file);
        let elf = object::File::parse(&cache)
            .map_err(|e| format!("{} is not a readable ELF file: {e}", path.display()))?;
        let dynamic = elf.kind() == object::ObjectKind::Dynamic;
        let segments = elf
            .segments()
            .map(|s| {
                let (file_offset, file_size) = s.file_range();
                Segment {
                    vaddr: s.address(),
                    file_offset,
                    file_size,
                    mem_size: s.size(),
                }
            })
            .collect();
        // Go binaries keep these sections even stripped; a file without section headers at all
        // is given to GoBinary too, which finds the pclntab by its magic.
        let looks_go = elf.sections().next().is_none()
            || elf.sections().any(|s| {
                matches!(
                    s.name(),
                    Ok(".gopclntab"
                        | ".go.buildinfo"
                        | ".data.rel.ro.gopclntab"
                        | ".note.go.buildid")
                )
            });
        let build_id = elf
            .build_id()
            .ok()
            .flatten()
            .map(hex)
            .or_else(|| go_build_id(&elf));
        drop(elf);
        drop(cache);
        Ok(Binary {
            key,
            file,
            path,
            build_id,
            dynamic,
            segments,
            looks_go,
            go: OnceLock::new(),
            symbols: OnceLock::new(),
            go_runtime: OnceLock::new(),
        })
    }

    pub fn key(&self) -> BinaryKey {
        self.key
    }

    /// The path as the process that mapped it sees it (in its own mount namespace).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The last path component: `shop` for `/srv/shop/bin/shop`.
    pub fn file_name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.path.display().to_string())
    }

    /// A path that reads this very inode from this process, in any namespace, even deleted.
    pub fn fd_path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{}", self.file.as_raw_fd()))
    }

    /// The PT_LOAD segment holding link-time address `addr`: (its address, memory size, file
    /// offset).
    pub fn segment_at(&self, addr: u64) -> Option<(u64, u64, u64)> {
        self.segments
            .iter()
            .find(|s| addr >= s.vaddr && addr - s.vaddr < s.mem_size)
            .map(|s| (s.vaddr, s.mem_size, s.file_offset))
    }

    /// `.note.gnu.build-id` as hex, else Go's `.note.go.buildid` string.
    pub fn build_id(&self) -> Option<&str> {
        self.build_id.as_deref()
    }

    /// ET_DYN. For an executable: built PIE, so its addresses move with the load bias.
    pub fn is_pie(&self) -> bool {
        self.dynamic
    }

    /// The lowest PT_LOAD vaddr (0 for PIE and shared libraries, 0x400000 for most non-PIE).
    pub fn first_load_vaddr(&self) -> Option<u64> {
        self.segments.iter().map(|s| s.vaddr).min()
    }

    /// Runtime address − link-time address for a mapping of this file at `start` from file
    /// offset `offset`, as /proc/PID/maps lists it. Zero for a non-PIE executable, whose
    /// addresses are absolute.
    pub fn bias(&self, start: u64, offset: u64) -> u64 {
        if !self.dynamic {
            return 0;
        }
        // The loader maps each segment from its page-aligned file offset, so a mapping starting
        // exactly there is that segment's; else (a mapping split by mprotect, e.g. RELRO) the
        // segment that holds the offset.
        let page = |s: &Segment| s.file_offset & !0xfff;
        let vaddr = self
            .segments
            .iter()
            .find(|s| page(s) == offset)
            .or_else(|| {
                self.segments
                    .iter()
                    .find(|s| offset >= page(s) && offset < s.file_offset + s.file_size)
            })
            .map(|s| s.vaddr.wrapping_sub(s.file_offset).wrapping_add(offset))
            // Unknown layout: assume the first segment starts the file, as session.rs did.
            .unwrap_or_else(|| self.first_load_vaddr().unwrap_or(0).wrapping_add(offset));
        start.wrapping_sub(vaddr & !0xfff)
    }

    /// The file as a Go binary (pclntab, build info), opened on first use; `None` if not Go.
    pub fn go(&self) -> Option<&GoBinary> {
        self.go
            .get_or_init(|| {
                if !self.looks_go {
                    return None;
                }
                GoBinary::open(self.fd_path()).ok()
            })
            .as_ref()
    }

    pub fn is_go(&self) -> bool {
        self.go().is_some()
    }

    /// The runtime offsets goid needs, for a Go binary.
    pub fn go_runtime(&self) -> Option<&GoRuntime> {
        self.go_runtime
            .get_or_init(|| self.go().map(gprobe_compiler::target::go_runtime_quick))
            .as_ref()
    }

    /// Gives this binary the runtime facts of another copy of the same build (same build id),
    /// so its Go tables need not be read for them.
    pub fn seed_go_runtime(&self, facts: GoRuntime) {
        let _ = self.go_runtime.set(Some(facts));
    }

    /// `go1.23.9`, from the build info.
    pub fn go_version(&self) -> Option<&str> {
        self.go()?.go_version()
    }

    /// The main module's path (`example.com/shop`) from `.go.buildinfo`. A program built
    /// outside module mode or with `go build file.go` has none (`command-line-arguments`).
    pub fn main_module(&self) -> Option<&str> {
        let info = self.go()?.build_info()?;
        info.main_module
            .as_deref()
            .filter(|m| !m.is_empty() && *m != "command-line-arguments")
    }

    /// ELF function symbols (.symtab and .dynsym), read on first use.
    pub fn symbols(&self) -> &SymbolTable {
        self.symbols
            .get_or_init(|| SymbolTable::from_elf(&self.fd_path()))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Go's build id note (`.note.go.buildid`: name "Go", type 4, the id string as descriptor).
fn go_build_id<'a, R: object::ReadRef<'a>>(elf: &object::File<'a, R>) -> Option<String> {
    let data = elf.section_by_name(".note.go.buildid")?.data().ok()?;
    let word = |at: usize| -> Option<usize> {
        let b = data.get(at..at + 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let (namesz, descsz, kind) = (word(0)?, word(4)?, word(8)?);
    if kind != 4 {
        return None;
    }
    let desc = 12 + namesz.div_ceil(4) * 4;
    let id = data.get(desc..desc + descsz)?;
    Some(String::from_utf8_lossy(id).into_owned())
}
