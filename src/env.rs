//! Facts from this machine that the checker asks for: tracepoint formats from tracefs (the
//! runtime mounts it when missing), and everything about Go targets from their binaries (opened
//! once per path): functions and attach offsets from `.gopclntab`, signatures from DWARF or the
//! built-in table, runtime offsets by version, and kernel types (structs, enumerators,
//! `task_struct.thread.fsbase`) from BTF.

use gprobe_compiler::check::{Env, GoFunction, UprobeNeeds, UsdtFile, tracefs};
use gprobe_compiler::gobin::{GoBinError, GoBinary};
use gprobe_compiler::native::{self, NativeElf};
use gprobe_compiler::target::{self, GoRuntime, Resolved};
use gprobe_compiler::types::{Field, StructType};
use gprobe_compiler::usdt::UsdtProbe;
use gprobe_runtime::kernel_types::KernelTypes;
use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// A file's USDT probes, or why they cannot be read.
type UsdtRead = Result<Vec<UsdtProbe>, String>;

pub struct SystemEnv {
    /// The executable of `-p PID` or `-c CMD`, when given.
    target: Option<PathBuf>,
    /// `-p PID`: its libraries are found by soname through its maps.
    pid: Option<u32>,
    /// `--debug-file`: the target's DWARF, kept aside from the stripped binary.
    debug_file: Option<PathBuf>,
    binaries: RefCell<HashMap<PathBuf, Rc<Result<GoBinary, GoBinError>>>>,
    /// Binaries, least recently used first, for struct layouts reached through Go pointers.
    opened: RefCell<Vec<PathBuf>>,
    fsbase: OnceCell<Option<u64>>,
    /// The kernel's BTF, opened on the first kernel type a program names.
    kernel: OnceCell<Option<KernelTypes>>,
    /// Binaries that are not Go (C, shared libraries), opened once per path.
    natives: RefCell<HashMap<PathBuf, Rc<Result<NativeElf, String>>>>,
    /// USDT probes by file, read once.
    usdt: RefCell<HashMap<PathBuf, Rc<UsdtRead>>>,
}

impl SystemEnv {
    pub fn new(pid: Option<u32>, command: Option<&str>) -> SystemEnv {
        let target = match (pid, command) {
            (Some(pid), _) => Some(PathBuf::from(format!("/proc/{pid}/exe"))),
            (None, Some(cmd)) => cmd.split_whitespace().next().and_then(find_program),
            (None, None) => None,
        };
        SystemEnv {
            target,
            pid,
            debug_file: None,
            natives: RefCell::default(),
            binaries: RefCell::default(),
            opened: RefCell::default(),
            fsbase: OnceCell::new(),
            kernel: OnceCell::new(),
            usdt: RefCell::default(),
        }
    }

    /// The target's DWARF from `file` (`--debug-file`) instead of the binary.
    pub fn with_debug_file(mut self, file: Option<PathBuf>) -> SystemEnv {
        self.debug_file = file;
        self
    }

    /// The `-p`/`-c` target's path and binary (opened once), when there is a target.
    pub fn target_binary(&self) -> Option<(PathBuf, Rc<Result<GoBinary, GoBinError>>)> {
        let path = self.target.clone()?;
        let bin = self.open(&path);
        Some((path, bin))
    }

    fn path_of(&self, binary: Option<&str>) -> Result<PathBuf, String> {
        match binary {
            // `libc`, `libssl`, `bash`: as bpftrace finds them.
            Some(b) => {
                Ok(crate::libs::resolve_binary(b, self.pid).unwrap_or_else(|| PathBuf::from(b)))
            }
            None => self
                .target
                .clone()
                .ok_or_else(|| "no target binary: name one, or give -p PID / -c CMD".to_string()),
        }
    }

    /// The binary at `path`, opened once.
    fn open(&self, path: &Path) -> Rc<Result<GoBinary, GoBinError>> {
        if let Some(b) = self.binaries.borrow().get(path) {
            // Most recently used last: struct layouts reached through a probe's `args` come
            // from that probe's binary, which the checker has just asked about.
            let mut opened = self.opened.borrow_mut();
            if let Some(i) = opened.iter().position(|p| p == path) {
                let p = opened.remove(i);
                opened.push(p);
            }
            return b.clone();
        }
        // The debug file belongs to the target; any binary without DWARF may have its own under
        // /usr/lib/debug/.build-id.
        let debug_file = self
            .debug_file
            .as_deref()
            .filter(|_| self.target.as_deref().is_some_and(|t| same_file(t, path)));
        let bin = Rc::new(GoBinary::open_with_debug(path, debug_file));
        self.binaries
            .borrow_mut()
            .insert(path.to_owned(), bin.clone());
        self.opened.borrow_mut().push(path.to_owned());
        bin
    }

    fn kernel(&self) -> Option<&KernelTypes> {
        self.kernel.get_or_init(KernelTypes::open).as_ref()
    }

    /// The non-Go ELF at `path`, opened once.
    fn native(&self, path: &Path) -> Rc<Result<NativeElf, String>> {
        if let Some(b) = self.natives.borrow().get(path) {
            return b.clone();
        }
        let bin = Rc::new(NativeElf::open(path));
        self.natives
            .borrow_mut()
            .insert(path.to_owned(), bin.clone());
        bin
    }

    /// A C function's signature from the DWARF of non-Go `path`.
    fn c_function(&self, path: &Path, function: &str) -> Result<GoFunction, String> {
        let elf = self.native(path);
        let elf = elf.as_ref().as_ref().map_err(Clone::clone)?;
        let f = elf.function(function)?;
        Ok(GoFunction {
            params: f.params.into_iter().map(|p| (p.name, p.ty)).collect(),
            results: f
                .ret
                .into_iter()
                .map(|r| ("retval".to_string(), r.ty))
                .collect(),
        })
    }

    fn go_binary(
        &self,
        binary: Option<&str>,
    ) -> Result<(PathBuf, Rc<Result<GoBinary, GoBinError>>), String> {
        let path = self.path_of(binary)?;
        let bin = self.open(&path);
        Ok((path, bin))
    }
}

impl SystemEnv {
    /// The USDT probes of `path`, read once.
    fn usdt_of(&self, path: &Path) -> Result<Vec<UsdtProbe>, String> {
        let cached = self.usdt.borrow().get(path).cloned();
        let probes = cached.unwrap_or_else(|| {
            let read = gprobe_compiler::usdt::probes_in_file(path)
                .map_err(|e| format!("{}: {e}", path.display()));
            let read = Rc::new(read);
            self.usdt.borrow_mut().insert(path.to_owned(), read.clone());
            read
        });
        (*probes).clone()
    }
}

/// The same file however spelled (`./srv`, its absolute path, `/proc/PID/exe`).
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => a == b,
    }
}

/// `-c`'s program as the shell would find it.
pub(crate) fn find_program(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|p| p.is_file())
}

impl SystemEnv {
    /// Entry sites of non-Go functions: one per matching ELF symbol, each with its C
    /// arguments' System V registers when `values` (and DWARF has the function).
    fn native_sites(
        &self,
        path: &Path,
        function: &str,
        glob: bool,
        values: bool,
    ) -> Result<Vec<gprobe_compiler::target::GoSite>, String> {
        let elf = self.native(path);
        let elf = elf.as_ref().as_ref().map_err(Clone::clone)?;
        if !glob && elf.symbol(function).is_none() && !values {
            // By symbol: the run reports it with the nearest names (or that `main.work` needs
            // a Go binary), as for a probe the checker cannot see into.
            return Ok(Vec::new());
        }
        let symbols: Vec<_> = if glob {
            elf.symbols()
                .iter()
                .filter(|s| gprobe_compiler::names::glob_match(function, &s.name))
                .collect()
        } else {
            vec![
                elf.symbol(function)
                    .ok_or_else(|| no_symbol(elf, function, path))?,
            ]
        };
        if symbols.is_empty() {
            return Err(format!(
                "no function of {} matches `{function}`",
                path.display()
            ));
        }
        symbols
            .into_iter()
            .map(|s| {
                let at = elf
                    .vaddr_to_file_offset(s.addr)
                    .ok_or_else(|| format!("`{}` is not in the file", s.name))?;
                let params = if values && !glob {
                    elf.function(&s.name).ok()
                } else {
                    None
                };
                Ok(elf.site(&s.name, at, params.as_ref()))
            })
            .collect()
    }
}

/// No function symbol `function`: with the nearest names.
fn no_symbol(elf: &NativeElf, function: &str, path: &Path) -> String {
    let near =
        gprobe_compiler::names::nearest(function, elf.symbols().iter().map(|s| s.name.as_str()), 3);
    let mut msg = format!("no function `{function}` in {}", path.display());
    if !near.is_empty() {
        msg.push_str(&format!(
            "; nearest: {}",
            near.iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    msg
}

fn not_go(path: &Path, e: &GoBinError) -> String {
    match e {
        GoBinError::DebugFileMismatch(_) | GoBinError::DebugFileNoDwarf(_) => e.to_string(),
        _ => format!("{} is not a Go binary ({e})", path.display()),
    }
}

impl Env for SystemEnv {
    fn tracepoint_fields(&self, category: &str, name: &str) -> Result<Vec<Field>, String> {
        if category.contains(['/', '.']) || name.contains(['/', '.']) {
            return Err("tracepoint names cannot contain `/` or `.`".into());
        }
        let text = gprobe_runtime::format_text(category, name).map_err(|e| e.to_string())?;
        tracefs::parse_format(&text).map_err(|e| format!("{category}:{name} format: {e}"))
    }

    fn kprobes(&self) -> Result<(), String> {
        gprobe_runtime::kprobes_available()
    }

    fn hardware_events(&self) -> Result<(), String> {
        gprobe_runtime::perf_event::hardware_available()
    }

    fn kernel_symbol(&self, name: &str) -> Result<u64, String> {
        gprobe_runtime::symbolize::kernel_symbol_address(name)
    }

    fn user_symbol(
        &self,
        binary: Option<&str>,
        name: &str,
    ) -> Result<gprobe_compiler::native::UserSymbol, String> {
        gprobe_compiler::native::user_symbol(&self.path_of(binary)?, name)
    }

    /// cgroup v2 ids are the directories' inode numbers; a relative path is under
    /// /sys/fs/cgroup.
    fn cgroup_id(&self, path: &str) -> Result<u64, String> {
        use std::os::unix::fs::MetadataExt;
        let full = Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/'));
        let path = if Path::new(path).is_dir() {
            Path::new(path)
        } else {
            &full
        };
        std::fs::metadata(path)
            .map(|m| m.ino())
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    fn tracepoints(&self) -> Result<Vec<(String, String)>, String> {
        gprobe_runtime::tracefs::all_tracepoints().map_err(|e| e.to_string())
    }

    fn go_function(&self, binary: Option<&str>, function: &str) -> Result<GoFunction, String> {
        let (path, bin) = self.go_binary(binary)?;
        match &*bin {
            Ok(bin) => target::go_function(bin, function),
            Err(GoBinError::NotGo) => self.c_function(&path, function),
            Err(e) => Err(not_go(&path, e)),
        }
    }

    fn go_function_glob(&self, binary: Option<&str>, pattern: &str) -> Result<GoFunction, String> {
        let (path, bin) = self.go_binary(binary)?;
        match &*bin {
            Ok(bin) => target::go_function_matching(bin, pattern),
            Err(e) => Err(not_go(&path, e)),
        }
    }

    fn struct_type(&self, name: &str) -> Option<StructType> {
        let name = name.trim_start_matches("struct ");
        let opened = self.opened.borrow().clone();
        opened
            .iter()
            .rev()
            .find_map(|path| match &*self.open(path) {
                Ok(bin) => bin.struct_type(name),
                Err(_) => match &*self.native(path) {
                    Ok(elf) => elf.struct_type(name),
                    Err(_) => None,
                },
            })
    }

    fn kernel_struct(&self, name: &str) -> Option<StructType> {
        self.kernel()?.struct_type(name)
    }

    fn kernel_enum(&self, name: &str) -> Option<i64> {
        self.kernel()?.enum_value(name)
    }

    /// BTF knows vmlinux's tracepoints and their arguments; a module's only the tracefs list.
    fn raw_tracepoint(&self, name: &str) -> Result<Option<usize>, String> {
        if let Some(args) = self.kernel().and_then(|k| k.raw_tracepoint_args(name)) {
            return Ok(Some(args.len()));
        }
        let Ok(all) = self.tracepoints() else {
            return Ok(None);
        };
        let names = gprobe_compiler::split::raw_tracepoint_names(&all);
        if names.contains(&name) {
            return Ok(None);
        }
        if name.starts_with("sys_enter_") || name.starts_with("sys_exit_") {
            return Err(format!(
                "`syscalls:{name}` is an event ftrace makes from the `sys_enter`/`sys_exit` raw tracepoints, not a tracepoint of its own: use `rawtracepoint:sys_enter` (arg1 is the syscall number) or `tracepoint:syscalls:{name}`"
            ));
        }
        let close = gprobe_compiler::names::nearest(name, names.iter().copied(), 3);
        Err(if close.is_empty() {
            format!("no tracepoint of this kernel is named `{name}`")
        } else {
            format!(
                "no tracepoint of this kernel is named `{name}`; similar: {}",
                close.join(", ")
            )
        })
    }

    fn go_package_linked(&self, binary: Option<&str>, package: &str) -> Option<bool> {
        let path = self.path_of(binary).ok()?;
        let bin = self.open(&path);
        let bin = bin.as_ref().as_ref().ok()?;
        Some(
            bin.functions()
                .iter()
                .any(|f| gprobe_compiler::gobin::packages::package_of(&f.name) == Some(package)),
        )
    }

    fn uprobe_binary(&self, binary: Option<&str>) -> Result<(), String> {
        let path = self.path_of(binary)?;
        match gprobe_runtime::uprobe_binary_problem(&path) {
            // A bare name that is no file here, no program on PATH and no known library.
            Some(_) if binary.is_some_and(|b| !b.contains('/')) && !path.exists() => Err(format!(
                "no file, program on PATH or library named `{}` (libraries are looked up in {}the loader's cache and the standard library directories)",
                binary.unwrap_or_default(),
                if self.pid.is_some() {
                    "the process's maps, "
                } else {
                    ""
                }
            )),
            Some(problem) => Err(problem),
            None => Ok(()),
        }
    }

    fn resolve_uprobe(
        &self,
        binary: Option<&str>,
        function: &str,
        glob: bool,
        ret: bool,
    ) -> Result<Resolved, String> {
        self.resolve_uprobe_for(binary, function, glob, ret, UprobeNeeds::ALL)
    }

    /// Reads DWARF (signatures, runtime offsets) only for what the probe uses: decompressing
    /// and walking it is most of the time spent opening a Go binary.
    fn resolve_uprobe_for(
        &self,
        binary: Option<&str>,
        function: &str,
        glob: bool,
        ret: bool,
        needs: UprobeNeeds,
    ) -> Result<Resolved, String> {
        let (path, bin) = self.go_binary(binary)?;
        let shown = path.display().to_string();
        match &*bin {
            Ok(bin) => Ok(Resolved {
                binary: Some(shown),
                functions: target::resolve_uprobe_sites(bin, function, glob, ret, needs.values)?,
                go: needs.runtime.then(|| target::go_runtime(bin)),
                per_process: None,
                usdt: Vec::new(),
            }),
            Err(GoBinError::Io { source, .. }) => Err(match source.kind() {
                std::io::ErrorKind::NotFound => format!("binary not found: {shown}"),
                std::io::ErrorKind::PermissionDenied => {
                    format!("cannot read {shown}: permission denied")
                }
                _ => format!("cannot read {shown}: {source}"),
            }),
            // Not Go: entry probes at the symbol's file offset with C arguments from DWARF;
            // return probes are kernel uretprobes by symbol (safe outside Go code).
            Err(_) => Ok(Resolved {
                binary: Some(shown),
                // A return probe by name stays a uretprobe by symbol; a wildcard's functions
                // become entry sites, each a kernel uretprobe.
                functions: if ret && !glob {
                    Vec::new()
                } else {
                    self.native_sites(&path, function, glob, needs.values && !ret)?
                },
                go: None,
                per_process: None,
                usdt: Vec::new(),
            }),
        }
    }

    fn uprobe_at(
        &self,
        binary: Option<&str>,
        function: &str,
        offset: u64,
    ) -> Result<Resolved, String> {
        let path = self.path_of(binary)?;
        let elf = self.native(&path);
        let elf = elf.as_ref().as_ref().map_err(Clone::clone)?;
        let (sym, offset) = match native::parse_address(function) {
            Some(addr) => {
                let sym = elf.symbol_at(addr).ok_or_else(|| {
                    format!("address {addr:#x} is in no function of {}", path.display())
                })?;
                (sym, addr - sym.addr + offset)
            }
            None => (
                elf.symbol(function)
                    .ok_or_else(|| no_symbol(elf, function, &path))?,
                offset,
            ),
        };
        elf.check_boundary(sym, offset)?;
        let vaddr = sym.addr + offset;
        let file_offset = elf
            .vaddr_to_file_offset(vaddr)
            .ok_or_else(|| format!("{vaddr:#x} is not in the file"))?;
        let mut site = elf.site(&sym.name, file_offset, None);
        // Inside a Go function: Go code (never a kernel uretprobe), `goid` through the thread
        // pointer (R14 may not hold g at every instruction, e.g. in assembly).
        let go = match &*self.open(&path) {
            Ok(bin) => {
                site.native = false;
                Some(target::go_runtime(bin))
            }
            Err(_) => None,
        };
        Ok(Resolved {
            binary: Some(path.display().to_string()),
            functions: vec![site],
            go,
            per_process: None,
            usdt: Vec::new(),
        })
    }

    fn go_runtime(&self, binary: Option<&str>) -> Result<GoRuntime, String> {
        let (path, bin) = self.go_binary(binary)?;
        match &*bin {
            Ok(bin) => Ok(target::go_runtime(bin)),
            Err(e) => Err(not_go(&path, e)),
        }
    }

    fn usdt_probes(&self, binary: Option<&str>) -> Result<UsdtFile, String> {
        let path = self.path_of(binary)?;
        // The target's executable by its real name (`probe` shows it), not /proc/PID/exe.
        let path = match binary {
            Some(_) => path,
            None => std::fs::canonicalize(&path).unwrap_or(path),
        };
        Ok(UsdtFile {
            path: path.display().to_string(),
            probes: self.usdt_of(&path)?,
        })
    }

    fn usdt_libraries(&self) -> Vec<UsdtFile> {
        let Some(pid) = self.pid else {
            return Vec::new();
        };
        let exe = std::fs::canonicalize(format!("/proc/{pid}/exe")).ok();
        crate::list_usdt::mapped_libraries(pid)
            .into_iter()
            .filter(|path| Some(path) != exe.as_ref())
            .filter_map(|path| {
                let probes = self.usdt_of(&path).ok()?;
                (!probes.is_empty()).then(|| UsdtFile {
                    path: path.display().to_string(),
                    probes,
                })
            })
            .collect()
    }

    fn task_fsbase(&self) -> Option<u64> {
        *self
            .fsbase
            .get_or_init(gprobe_runtime::btf::task_fsbase_offset)
    }

    fn uprobe_task(&self) -> Option<gprobe_compiler::target::UprobeTaskOffsets> {
        gprobe_runtime::btf::uprobe_task_offsets()
    }
}
