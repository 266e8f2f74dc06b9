//! Semantic checks: name resolution, type inference, and what each probe type allows.
//!
//! [`check`] annotates a parsed [`Program`] in place. When it returns `Ok`, the tree is *checked*,
//! which lowering relies on:
//! - every `Expr::ty` is known (never `Type::Unknown`);
//! - every `ExprKind::Ident` and `ExprKind::Call` has become `ExprKind::Builtin`;
//! - `$N` and `$#` have become `ExprKind::Int`/`ExprKind::Str` literals holding the value given
//!   in [`Options::positional`] (so `ExprKind::Positional*` never reach lowering);
//! - every map use agrees with [`Checked::maps`] (key types, value type or aggregation);
//! - an aggregation call (`Type::Agg`) appears only as the whole value of `@m[..] = agg(..)`;
//! - every builtin is allowed by the provider of every attach point of its probe;
//! - `printf`'s first argument is an `ExprKind::Str` whose conversions match the other arguments
//!   ([`printf::parse`] gives the pieces);
//! - `ExprKind::Map` arguments of `print`/`clear`/`zero`/`delete` have `ty` = the map's value type
//!   (`Type::Agg(kind)` for aggregations), not a read of the map.
//!
//! Facts from outside the source (tracepoint formats, Go signatures) come from an [`Env`].

mod checker;
mod compile_time;
mod kernel_records;
pub mod printf;
pub mod providers;
pub mod tracefs;
mod uaddr;
mod unify;
pub mod unlinked;
mod usdt;

use crate::ast::Program;
use crate::builtins::ProviderKind;
use crate::diag::Diagnostic;
use crate::span::Span;
use crate::target::{GoRuntime, Resolved};
use crate::types::{AggKind, Field, StructType, Type};

/// What the checker needs to know about the world outside the program text.
pub trait Env {
    /// The fields of tracepoint `category:name` (from its tracefs `format` file; see
    /// [`tracefs::parse_format`]). `Err` says why they are unknown.
    fn tracepoint_fields(&self, category: &str, name: &str) -> Result<Vec<Field>, String>;

    /// Why kprobes cannot attach on this kernel (`Err`), e.g. one built without
    /// CONFIG_KPROBES. `Ok` where they can, or where nobody can tell (tests).
    fn kprobes(&self) -> Result<(), String> {
        Ok(())
    }

    /// Why hardware perf events (`hardware:cpu-cycles`) cannot be opened here (`Err`), e.g. a
    /// VM without a virtual PMU. `Ok` where they can, or where nobody can tell (tests).
    fn hardware_events(&self) -> Result<(), String> {
        Ok(())
    }

    /// Every tracepoint of this kernel as (category, name), for wildcards
    /// (`tracepoint:syscalls:sys_enter_exec*`). `Err` when they cannot be listed.
    fn tracepoints(&self) -> Result<Vec<(String, String)>, String> {
        Err("tracepoints cannot be listed here".into())
    }

    /// Raw tracepoint `name` (`rawtracepoint:sys_enter`): how many `TP_PROTO` arguments it
    /// passes, from the kernel's BTF (`btf_trace_NAME`); `Ok(None)` when the count cannot be
    /// told (a module's tracepoint, no BTF, tests); `Err` when this kernel has no such
    /// tracepoint, saying so.
    fn raw_tracepoint(&self, name: &str) -> Result<Option<usize>, String> {
        let _ = name;
        Ok(None)
    }

    /// The parameters and results of Go function `function` in `binary` (`None`: the `-p`/`-c`
    /// target). `Err` says why the signature is unknown.
    fn go_function(&self, binary: Option<&str>, function: &str) -> Result<GoFunction, String>;

    /// The one signature every Go function matching glob `pattern` in `binary` shares, so that
    /// `args`/`ret` can be used on a wildcard probe. `Err` says why there is none (they differ,
    /// or are unknown).
    fn go_function_glob(&self, binary: Option<&str>, pattern: &str) -> Result<GoFunction, String> {
        let _ = (binary, pattern);
        Err("signatures of a wildcard's functions are unknown here".into())
    }

    /// A struct type by name (`struct task_struct`, `net/http.Request`), for casts and for
    /// fields reached through Go pointers. `None` when unknown.
    fn struct_type(&self, _name: &str) -> Option<StructType> {
        None
    }

    /// A kernel struct or union by its C name (`struct task_struct`, `union bpf_attr`), from
    /// the kernel's BTF, for casts, `curtask`, tracepoint pointer fields and pointers inside
    /// kernel structs. Members reached by value and pointees are `Type::Named` (resolved here
    /// again when used: this breaks recursive types), anonymous members are flattened into
    /// their parent, bit-fields are `Type::BitField`, `char` arrays `Type::Str`, enums integers,
    /// pointers `AddrSpace::Kernel`. `None` when unknown.
    fn kernel_struct(&self, _name: &str) -> Option<StructType> {
        None
    }

    /// The value of a kernel enumerator by name (`SKB_DROP_REASON_NOT_SPECIFIED`), from BTF:
    /// bpftrace resolves them, so scripts use them bare. `None` when unknown (kernel
    /// `#define`s such as `TASK_RUNNING` are not in BTF, in bpftrace neither).
    fn kernel_enum(&self, _name: &str) -> Option<i64> {
        None
    }

    /// The address of kernel symbol `name` (/proc/kallsyms), for `kaddr()`.
    fn kernel_symbol(&self, name: &str) -> Result<u64, String> {
        Err(format!(
            "kernel symbols are unknown here (looking for `{name}`)"
        ))
    }

    /// Symbol `name` of `binary` (`None`: the `-p`/`-c` target's executable), for `uaddr()`.
    fn user_symbol(
        &self,
        binary: Option<&str>,
        name: &str,
    ) -> Result<crate::native::UserSymbol, String> {
        let _ = binary;
        Err(format!(
            "user symbols are unknown here (looking for `{name}`)"
        ))
    }

    /// The cgroup v2 id (the directory's inode) of cgroup `path`, for `cgroupid()`.
    fn cgroup_id(&self, path: &str) -> Result<u64, String> {
        Err(format!("cgroups are unknown here (looking for `{path}`)"))
    }

    /// Whether any function of Go package `package` (`net/http`) is linked into `binary`
    /// (`None`: the `-p`/`-c` target). `None` when nobody can tell (not a Go binary, tests).
    fn go_package_linked(&self, binary: Option<&str>, package: &str) -> Option<bool> {
        let _ = (binary, package);
        None
    }

    /// Why uprobes cannot go into `binary` (`None`: the `-p`/`-c` target) at all — missing, not
    /// an ELF executable or shared library, built for another architecture — as the message a
    /// real run would fail with. Asked before [`Env::resolve_uprobe`]; `Ok` when they can.
    fn uprobe_binary(&self, binary: Option<&str>) -> Result<(), String> {
        let _ = binary;
        Ok(())
    }

    /// Where uprobe `binary:function` (`None`: the `-p`/`-c` target) attaches: for a Go binary
    /// the matching functions with file offsets (entry after the stack check, or every RET when
    /// `ret`), argument locations and runtime offsets (see [`crate::target::resolve_uprobe`]).
    /// `glob`: `function` is a `*`/`?` pattern, else one literal name (quoted names are
    /// literal). For other binaries `functions` is empty and the probe attaches by ELF symbol.
    /// `Err` says why it cannot attach (e.g. no such function, with the nearest names).
    fn resolve_uprobe(
        &self,
        binary: Option<&str>,
        function: &str,
        glob: bool,
        ret: bool,
    ) -> Result<Resolved, String> {
        let _ = (function, glob, ret);
        Ok(Resolved {
            binary: binary.map(str::to_owned),
            ..Resolved::default()
        })
    }

    /// [`Env::resolve_uprobe`] for a probe that needs only what `needs` says beyond the attach
    /// offsets: an environment may then skip costly work (e.g. reading DWARF), leaving
    /// `GoSite::params`/`results` empty without `needs.values` and `Resolved::go` `None`
    /// without `needs.runtime`. With `needs.values`, a wildcard's sites get their parameter
    /// locations too (for the `args`/`ret` its functions share).
    fn resolve_uprobe_for(
        &self,
        binary: Option<&str>,
        function: &str,
        glob: bool,
        ret: bool,
        needs: UprobeNeeds,
    ) -> Result<Resolved, String> {
        let _ = needs;
        self.resolve_uprobe(binary, function, glob, ret)
    }

    /// Where uprobe `binary:function+offset` attaches (`function` may be an absolute address,
    /// `0x401126`): one site at that file offset, after checking it starts an instruction.
    /// `Err` says why not (no such function, past its end, inside an instruction).
    fn uprobe_at(
        &self,
        binary: Option<&str>,
        function: &str,
        offset: u64,
    ) -> Result<Resolved, String> {
        let _ = (binary, function, offset);
        Err("probes at an offset or address cannot be resolved here".into())
    }

    /// Runtime offsets of the Go program `binary` (`None`: the `-p`/`-c` target), for `goid`
    /// outside uprobes. `Err` says why there are none (no target, not a Go binary).
    fn go_runtime(&self, binary: Option<&str>) -> Result<GoRuntime, String> {
        let _ = binary;
        Err("no Go target is known in this environment".into())
    }

    /// The USDT probes of `binary` (`None`: the `-p`/`-c` target) from its `.note.stapsdt`
    /// (see [`crate::usdt::probes`]), with the path they attach to. `Err` says why they
    /// cannot be read (missing file, not ELF).
    fn usdt_probes(&self, binary: Option<&str>) -> Result<UsdtFile, String> {
        let _ = binary;
        Err("USDT probes cannot be read in this environment".into())
    }

    /// The shared libraries the `-p` target has mapped that have USDT probes, for a `usdt:`
    /// attach point without a binary (searched after the executable). Empty without `-p`.
    fn usdt_libraries(&self) -> Vec<UsdtFile> {
        Vec::new()
    }

    /// `offsetof(struct task_struct, thread.fsbase)` on this kernel (from its BTF), asked only
    /// when a probe's `goid` must find g through the thread pointer (not R14), because reading
    /// it may be costly. `None`: unknown.
    fn task_fsbase(&self) -> Option<u64> {
        None
    }

    /// Where the kernel keeps a task's uprobe single-step state, for samples of a program
    /// that also has uprobes (see [`ProbeInfo::single_step`]). `None`: unknown.
    fn uprobe_task(&self) -> Option<crate::target::UprobeTaskOffsets> {
        None
    }
}

pub use crate::usdt::UsdtFile;
pub(crate) use checker::addresses::pton_bytes;
pub use unlinked::Requirement;

/// What a uprobe's probe body uses of its resolution, beyond where to attach.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UprobeNeeds {
    /// Go argument and result locations (`args`, `ret`, `retval`).
    pub values: bool,
    /// Go runtime offsets (`goid`).
    pub runtime: bool,
}

impl UprobeNeeds {
    pub const ALL: UprobeNeeds = UprobeNeeds {
        values: true,
        runtime: true,
    };
}

/// A Go function's signature: parameters and results in ABI order, with names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoFunction {
    pub params: Vec<(String, Type)>,
    pub results: Vec<(String, Type)>,
}

/// An environment that knows nothing: no tracepoint formats, no Go signatures. Programs that do
/// not use `args`/`ret` check fine against it.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoEnv;

impl Env for NoEnv {
    fn tracepoint_fields(&self, category: &str, name: &str) -> Result<Vec<Field>, String> {
        Err(format!(
            "no tracepoint formats are available to read `{category}:{name}`"
        ))
    }

    fn go_function(&self, _binary: Option<&str>, function: &str) -> Result<GoFunction, String> {
        Err(format!(
            "Go signatures are not available yet (cannot read `{function}`'s parameters)"
        ))
    }
}

#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `$1`, `$2`, ... as given on the command line.
    pub positional: Vec<String>,
    /// `-p PID` or `-c CMD` names the target, so uprobes may omit the binary.
    pub has_target: bool,
    /// `-c CMD`: the target is a command gprobe starts (`cpid`).
    pub has_command: bool,
    /// `--check`: what only a run would fail on (kprobes on a kernel without them) is a
    /// warning, so a script can be checked on any machine.
    pub check_only: bool,
    /// `--unsafe`: builtins that act on the system (`system()`, `signal()`) are allowed.
    pub unsafe_allowed: bool,
    /// The size of `str()` without a size argument (`BPFTRACE_STRLEN`); `None`: 64.
    pub str_size: Option<u32>,
    /// The program's `// @requires PACKAGE WHAT` header lines (see [`unlinked`]).
    pub requires: Vec<Requirement>,
}

/// What the checker learned, for lowering.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Checked {
    /// Every user map, in order of first appearance in the source.
    pub maps: Vec<MapInfo>,
    /// One entry per `Program::probes` element, same order.
    pub probes: Vec<ProbeInfo>,
    /// The `filter` strings of `cgroup_path(id, filter)`, indexed by
    /// [`crate::types::Render::CgroupPath`].
    pub cgroup_filters: Vec<String>,
}

impl Checked {
    pub fn map(&self, name: &str) -> Option<&MapInfo> {
        self.maps.iter().find(|m| m.name == name)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct MapInfo {
    /// Without `@`; `""` for the bare map `@`.
    pub name: String,
    /// Key types, one per `[k1, k2]` element; empty for a scalar map.
    pub keys: Vec<Type>,
    pub value: MapValue,
    /// The first assignment to the map.
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum MapValue {
    Plain(Type),
    Agg(AggKind),
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProbeInfo {
    /// The provider of each attach point that has one (unsupported ones are errors).
    pub providers: Vec<ProviderKind>,
    /// Each attach point's resolution, in order, from the checker's `Env`: the binary, Go
    /// functions and attach offsets of a uprobe, and the Go runtime offsets `goid` needs.
    pub resolved: Vec<Option<crate::target::Resolved>>,
    /// Scratch variables of this probe and their (final) types, in order of first assignment.
    pub vars: Vec<VarInfo>,
    /// The type of `args` if the probe uses it: `Type::Struct` for a tracepoint (fields in the
    /// context record), `Type::Record` for a Go function (parameters in ABI order).
    pub args: Option<Type>,
    /// The type of `ret` (Go results, `Type::Record`) if used.
    pub ret: Option<Type>,
    /// The first use of a goroutine builtin (`goid`, `gocreator`, `goparent`), if any: lowering
    /// then finds the goroutine once, at the program's entry.
    pub goroutine_at: Option<Span>,
    /// A sampling probe (profile, software, hardware) of a program that also has uprobes: a
    /// sample may land while the kernel single-steps a probed instruction, so `gostack` takes
    /// the probed address from the task's uprobe state to stand for the slot's.
    pub single_step: Option<crate::target::UprobeTaskOffsets>,
    /// A `uaddr()` in a position-independent binary finds the load bias from the attach
    /// offset of the site that fired: the program's one offset, or, at several, the attach
    /// cookie's upper half (see [`crate::manifest::ProgramSpec::offset_cookies`]).
    pub uaddr_at_site: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct VarInfo {
    pub name: String,
    pub ty: Type,
    /// The first assignment.
    pub span: Span,
}

/// Checks and annotates `program`. All errors found are returned together (warnings are
/// returned in `Ok` only through [`check_with_warnings`]).
pub fn check(
    program: &mut Program,
    env: &dyn Env,
    options: &Options,
) -> Result<Checked, Vec<Diagnostic>> {
    let (result, _warnings) = check_with_warnings(program, env, options);
    result
}

/// Like [`check`], also returning warnings (which never fail the check).
pub fn check_with_warnings(
    program: &mut Program,
    env: &dyn Env,
    options: &Options,
) -> (Result<Checked, Vec<Diagnostic>>, Vec<Diagnostic>) {
    checker::run(program, env, options)
}
