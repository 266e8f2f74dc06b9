//! Facts from this machine that the checker asks for: tracepoint formats from tracefs (the
//! runtime mounts it when missing), and everything about Go targets from their binaries (opened
//! once per path): functions and attach offsets from `.gopclntab`, signatures from DWARF or the
//! built-in table, runtime offsets by version, and `task_struct.thread.fsbase` from BTF.

use gprobe_compiler::check::{Env, GoFunction, UprobeNeeds, tracefs};
use gprobe_compiler::gobin::{GoBinError, GoBinary};
use gprobe_compiler::target::{self, GoRuntime, Resolved};
use gprobe_compiler::types::{Field, StructType};
use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

pub struct SystemEnv {
    /// The executable of `-p PID` or `-c CMD`, when given.
    target: Option<PathBuf>,
    binaries: RefCell<HashMap<PathBuf, Rc<Result<GoBinary, GoBinError>>>>,
    /// Binaries, least recently used first, for struct layouts reached through Go pointers.
    opened: RefCell<Vec<PathBuf>>,
    fsbase: OnceCell<Option<u64>>,
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
            binaries: RefCell::default(),
            opened: RefCell::default(),
            fsbase: OnceCell::new(),
        }
    }

    fn path_of(&self, binary: Option<&str>) -> Result<PathBuf, String> {
        match binary {
            Some(b) => Ok(PathBuf::from(b)),
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
        let bin = Rc::new(GoBinary::open(path));
        self.binaries
            .borrow_mut()
            .insert(path.to_owned(), bin.clone());
        self.opened.borrow_mut().push(path.to_owned());
        bin
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

/// `-c`'s program as the shell would find it.
fn find_program(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|p| p.is_file())
}

fn not_go(path: &Path, e: &GoBinError) -> String {
    format!("{} is not a Go binary ({e})", path.display())
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

    fn kernel_symbol(&self, name: &str) -> Result<u64, String> {
        gprobe_runtime::symbolize::kernel_symbol_address(name)
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
                Err(_) => None,
            })
    }

    fn uprobe_binary(&self, binary: Option<&str>) -> Result<(), String> {
        let path = self.path_of(binary)?;
        match gprobe_runtime::uprobe_binary_problem(&path) {
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
            }),
            Err(GoBinError::Io { source, .. }) => Err(match source.kind() {
                std::io::ErrorKind::NotFound => format!("binary not found: {shown}"),
                std::io::ErrorKind::PermissionDenied => {
                    format!("cannot read {shown}: permission denied")
                }
                _ => format!("cannot read {shown}: {source}"),
            }),
            // Not Go: a plain ELF uprobe by symbol (the runtime reports a missing symbol).
            Err(_) => Ok(Resolved {
                binary: Some(shown),
                functions: Vec::new(),
                go: None,
                per_process: None,
            }),
        }
    }

    fn go_runtime(&self, binary: Option<&str>) -> Result<GoRuntime, String> {
        let (path, bin) = self.go_binary(binary)?;
        match &*bin {
            Ok(bin) => Ok(target::go_runtime(bin)),
            Err(e) => Err(not_go(&path, e)),
        }
    }

    fn task_fsbase(&self) -> Option<u64> {
        *self
            .fsbase
            .get_or_init(gprobe_runtime::btf::task_fsbase_offset)
    }
}
