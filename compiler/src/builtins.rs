//! The one builtin table. Every builtin value and function is a `Builtin` variant with one
//! `BuiltinSpec` row: name, parameters, result, which probe types allow it, and a one-line doc.
//! Every phase matches `Builtin` exhaustively, so adding a variant shows every place to update.

use crate::types::{AggKind, IntType, Render, StackKind};
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Builtin {
    // Context values (bare identifiers).
    Pid,
    /// `tpid`: the `-p PID` / `-c CMD` target's pid, written by the runtime before attaching.
    Tpid,
    /// bpftrace's `cpid`: [`Builtin::Tpid`] of a `-c CMD` target.
    Cpid,
    Tid,
    Uid,
    Gid,
    Comm,
    Nsecs,
    Elapsed,
    Cpu,
    Rand,
    Curtask,
    Probe,
    Func,
    /// `arg0`..`arg9`: C-ABI arguments (non-Go targets).
    Arg(u8),
    Retval,
    /// `args`: the probed function's parameters (Go ABI, typed) or a tracepoint's fields.
    Args,
    /// `ret`: a Go function's named results, in return probes.
    Ret,
    Goid,
    Ustack,
    Kstack,
    Gostack,
    /// `gocaller`: the innermost frame of the goroutine's stack outside the runtime and the
    /// standard library's syscall layers (printed in user space).
    Gocaller,
    /// `gocreator`: the pc of the `go` statement that started the goroutine (g.gopc).
    Gocreator,
    /// `goparent`: the id of the goroutine that started this one (g.parentGoid, Go 1.21+).
    Goparent,
    /// `cgroup`: the current task's cgroup v2 id.
    Cgroup,
    Numaid,
    Username,
    /// `sarg0`..`sarg9`: C-ABI arguments passed on the stack (x86_64: above the return address).
    Sarg(u8),
    // Functions.
    Str,
    Buf,
    Reg,
    Usym,
    Ksym,
    SyscallName,
    /// `syscall_nr("openat")`: a constant, resolved by the checker.
    SyscallNr,
    ErrnoName,
    SignalName,
    OpenFlags,
    Dirfd,
    Sockaddr,
    Time,
    Strftime,
    Bswap,
    Strncmp,
    Strerror,
    Ntop,
    /// `pton("1.2.3.4")`: an address literal as its 4 or 16 bytes (network order).
    Pton,
    /// `strcat(a, b)`: two strings as one (a gprobe extension; chi's route levels joined).
    Strcat,
    Macaddr,
    Kaddr,
    Cgroupid,
    /// `strcontains(haystack, needle)`: 1 if `needle` occurs in `haystack`.
    Strcontains,
    /// `path(struct path *)`: bpf_d_path, only in fentry/fexit/iter programs.
    Path,
    /// `sqlnorm(s)`: a SQL statement with its literals replaced, as user space prints it.
    Sqlnorm,
    // Statements (called for their effect).
    Printf,
    Print,
    Exit,
    Delete,
    Clear,
    Zero,
    Emit,
    Join,
    Signal,
    Cat,
    System,
    /// `debugf(fmt, ...)`: bpf_trace_printk into the kernel's trace_pipe.
    Debugf,
    /// `override(rc)`: bpf_override_return, only in kprobes on error-injectable functions.
    Override,
    // Aggregations (only as the value assigned to a map).
    Count,
    Sum,
    Avg,
    Min,
    Max,
    Stats,
    Hist,
    Lhist,
    /// `kptr(p)`/`uptr(p)`: `p` as a pointer into kernel/user memory.
    Kptr,
    Uptr,
    /// `cgroup_path(id [, filter])`: a cgroup id as its paths, rendered in user space.
    CgroupPath,
    /// `uaddr("symbol")`: the address of a symbol of the probed binary (resolved when compiling).
    Uaddr,
}

/// Probe types, as a provider sees them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum ProviderKind {
    Begin,
    End,
    Interval,
    Profile,
    Tracepoint,
    /// `rawtracepoint:NAME`: the context is the tracepoint's raw arguments, u64 each.
    RawTracepoint,
    Uprobe,
    Uretprobe,
    Kprobe,
    Kretprobe,
    /// `software:EVENT:COUNT` (a perf event; its context holds the interrupted task's registers).
    Software,
    /// `hardware:EVENT:COUNT`.
    Hardware,
    /// `watchpoint:ADDR:LEN:MODE` (a hardware breakpoint perf event).
    Watchpoint,
    Usdt,
    /// bpftrace's `kfunc`/`kretfunc` (fentry/fexit) and `iter`: known so builtins limited to
    /// them (`path`) say so, though gprobe refuses those probes (see `check::providers`).
    Kfunc,
    Kretfunc,
    Iter,
}

/// A set of `ProviderKind`s as a bit set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Providers(pub u32);

impl Providers {
    pub const ALL: Providers = Providers((1 << ProviderKind::ALL.len()) - 1);

    pub const fn of(kinds: &[ProviderKind]) -> Providers {
        let mut bits = 0u32;
        let mut i = 0;
        while i < kinds.len() {
            bits |= 1 << kinds[i] as u8;
            i += 1;
        }
        Providers(bits)
    }

    pub const fn contains(self, kind: ProviderKind) -> bool {
        self.0 & (1 << kind as u8) != 0
    }
}

impl Providers {
    pub const NONE: Providers = Providers(0);
    /// Probes that run in a traced task's context (not gprobe's own BEGIN/END).
    pub const TRACED: Providers = Providers::of(&[
        ProviderKind::Interval,
        ProviderKind::Profile,
        ProviderKind::Tracepoint,
        ProviderKind::RawTracepoint,
        ProviderKind::Uprobe,
        ProviderKind::Uretprobe,
        ProviderKind::Kprobe,
        ProviderKind::Kretprobe,
        ProviderKind::Software,
        ProviderKind::Hardware,
        ProviderKind::Watchpoint,
        ProviderKind::Usdt,
    ]);
    pub const UPROBES: Providers = Providers::of(&[ProviderKind::Uprobe, ProviderKind::Uretprobe]);
    /// Probes on a function, user or kernel: `func`.
    pub const FUNCTIONS: Providers = Providers::of(&[
        ProviderKind::Uprobe,
        ProviderKind::Uretprobe,
        ProviderKind::Kprobe,
        ProviderKind::Kretprobe,
    ]);
    /// Probes whose context holds the task's registers (`pt_regs` / perf-event regs).
    pub const REGS: Providers = Providers::of(&[
        ProviderKind::Uprobe,
        ProviderKind::Uretprobe,
        ProviderKind::Kprobe,
        ProviderKind::Kretprobe,
        ProviderKind::Profile,
        ProviderKind::Interval,
        ProviderKind::Software,
        ProviderKind::Hardware,
        ProviderKind::Watchpoint,
        ProviderKind::Usdt,
    ]);

    pub fn kinds(self) -> impl Iterator<Item = ProviderKind> {
        ProviderKind::ALL
            .into_iter()
            .filter(move |k| self.contains(*k))
    }
}

impl ProviderKind {
    pub const ALL: [ProviderKind; 17] = [
        ProviderKind::Begin,
        ProviderKind::End,
        ProviderKind::Interval,
        ProviderKind::Profile,
        ProviderKind::Tracepoint,
        ProviderKind::RawTracepoint,
        ProviderKind::Uprobe,
        ProviderKind::Uretprobe,
        ProviderKind::Kprobe,
        ProviderKind::Kretprobe,
        ProviderKind::Software,
        ProviderKind::Hardware,
        ProviderKind::Watchpoint,
        ProviderKind::Usdt,
        ProviderKind::Kfunc,
        ProviderKind::Kretfunc,
        ProviderKind::Iter,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ProviderKind::Begin => "BEGIN",
            ProviderKind::End => "END",
            ProviderKind::Interval => "interval",
            ProviderKind::Profile => "profile",
            ProviderKind::Tracepoint => "tracepoint",
            ProviderKind::RawTracepoint => "rawtracepoint",
            ProviderKind::Uprobe => "uprobe",
            ProviderKind::Uretprobe => "uretprobe",
            ProviderKind::Kprobe => "kprobe",
            ProviderKind::Kretprobe => "kretprobe",
            ProviderKind::Software => "software",
            ProviderKind::Hardware => "hardware",
            ProviderKind::Watchpoint => "watchpoint",
            ProviderKind::Usdt => "usdt",
            ProviderKind::Kfunc => "kfunc",
            ProviderKind::Kretfunc => "kretfunc",
            ProviderKind::Iter => "iter",
        }
    }
}

/// How a builtin is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Form {
    /// A bare identifier: `pid`.
    Value,
    /// A call: `exit()`, `count()`.
    Call,
    /// Either: `ustack` or `ustack(5)`.
    Both,
}

/// What a builtin parameter accepts. The checker enforces it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ParamKind {
    /// An integer or pointer value.
    Int,
    /// An integer constant (literal, possibly negative).
    IntLiteral,
    /// A string literal.
    StrLiteral,
    /// Something to read memory from: an integer, pointer, Go string or Go slice.
    Addr,
    /// An IP address: an integer (IPv4) or an array of 4 or 16 bytes in target memory.
    IpAddress,
    /// Any printable value.
    Any,
    /// A whole map `@m` (no keys).
    Map,
    /// A map element `@m[k]` (or a scalar map `@m`).
    MapElem,
    /// A whole map or any printable value (`print`).
    MapOrAny,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Param {
    pub name: &'static str,
    pub kind: ParamKind,
    pub optional: bool,
}

const fn req(name: &'static str, kind: ParamKind) -> Param {
    Param {
        name,
        kind,
        optional: false,
    }
}

const fn opt(name: &'static str, kind: ParamKind) -> Param {
    Param {
        name,
        kind,
        optional: true,
    }
}

/// The result type of a builtin, as far as the table can say; `Special` results are computed by
/// the checker from the arguments or the probe (`str(p, n)`, `args`, `lhist`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Returns {
    Void,
    Int(IntType),
    Str {
        size: u32,
    },
    Stack(StackKind),
    /// A code address in the Go program, printed as `function+offset` from the pclntab.
    GoPc,
    Sym {
        user: bool,
    },
    Agg(AggKind),
    /// `Type::Rendered`: a u64 user space renders as text.
    Rendered(Render),
    /// [`crate::types::Type::Inet`].
    Inet,
    /// `Type::Timestamp` with the format given as the first argument.
    Timestamp,
    /// A number printed by name ([`crate::types::Code`]).
    Coded(crate::types::Code),
    /// [`crate::types::Type::GoCaller`].
    GoCaller,
    Special,
}

#[derive(Clone, Copy, Debug, Serialize)]
pub struct BuiltinSpec {
    pub builtin: Builtin,
    /// The name as written (`argN` stands for `arg0`..`arg9`).
    pub name: &'static str,
    pub form: Form,
    pub params: &'static [Param],
    /// Accepts any number of extra `Any` arguments after `params` (`printf`).
    pub variadic: bool,
    pub result: Returns,
    pub providers: Providers,
    pub doc: &'static str,
}

/// Default frame limit of `ustack`/`kstack`/`gostack` without an argument.
pub const DEFAULT_STACK_LIMIT: u8 = 127;
/// Default size of `str(p)` (bpftrace's `strlen`).
pub const DEFAULT_STR_SIZE: u32 = 64;
/// The most values `debugf` passes to bpf_trace_printk (the helper's limit).
pub const DEBUGF_MAX_ARGS: usize = 3;
/// The largest `str(p, n)` / `buf(p, n)`.
pub const MAX_STR_SIZE: u32 = 256;

use Builtin as B;
use Form::{Both, Call, Value};
use ParamKind as K;

const ALL: Providers = Providers::ALL;
const U64: Returns = Returns::Int(IntType::U64);
const U32: Returns = Returns::Int(IntType::U32);
const I64: Returns = Returns::Int(IntType::I64);

const fn row(
    builtin: Builtin,
    name: &'static str,
    form: Form,
    params: &'static [Param],
    result: Returns,
    providers: Providers,
    doc: &'static str,
) -> BuiltinSpec {
    BuiltinSpec {
        builtin,
        name,
        form,
        params,
        variadic: false,
        result,
        providers,
        doc,
    }
}

/// The table. Order matches [`index`]; a unit test keeps them in step.
pub static BUILTINS: [BuiltinSpec; 80] = [
    row(
        B::Pid,
        "pid",
        Value,
        &[],
        U32,
        ALL,
        "process id (tgid) of the current task",
    ),
    row(
        B::Tpid,
        "tpid",
        Value,
        &[],
        U32,
        ALL,
        "process id of the `-p PID` or `-c CMD` target (bpftrace's `cpid`, for -p too); needs a target",
    ),
    row(
        B::Cpid,
        "cpid",
        Value,
        &[],
        U32,
        ALL,
        "process id of the `-c CMD` command (as bpftrace); needs -c",
    ),
    row(
        B::Tid,
        "tid",
        Value,
        &[],
        U32,
        ALL,
        "thread id of the current task",
    ),
    row(
        B::Uid,
        "uid",
        Value,
        &[],
        U32,
        ALL,
        "user id of the current task",
    ),
    row(
        B::Gid,
        "gid",
        Value,
        &[],
        U32,
        ALL,
        "group id of the current task",
    ),
    row(
        B::Comm,
        "comm",
        Value,
        &[],
        Returns::Str { size: 16 },
        ALL,
        "command name of the current task",
    ),
    row(
        B::Nsecs,
        "nsecs",
        Value,
        &[],
        U64,
        ALL,
        "monotonic time in nanoseconds",
    ),
    row(
        B::Elapsed,
        "elapsed",
        Value,
        &[],
        U64,
        ALL,
        "nanoseconds since gprobe started tracing",
    ),
    row(
        B::Cpu,
        "cpu",
        Value,
        &[],
        U32,
        ALL,
        "the CPU the probe runs on",
    ),
    row(
        B::Rand,
        "rand",
        Value,
        &[],
        U32,
        ALL,
        "a pseudo-random 32-bit number",
    ),
    row(
        B::Curtask,
        "curtask",
        Value,
        &[],
        U64,
        ALL,
        "address of the current task_struct",
    ),
    row(
        B::Probe,
        "probe",
        Value,
        &[],
        Returns::Rendered(Render::Probe),
        ALL,
        "the name of the probe that fired",
    ),
    row(
        B::Func,
        "func",
        Value,
        &[],
        Returns::Special,
        Providers::FUNCTIONS,
        "the probed function (a user symbol in uprobes, a kernel one in kprobes)",
    ),
    row(
        B::Arg(0),
        "argN",
        Value,
        &[],
        U64,
        Providers::of(&[
            ProviderKind::Uprobe,
            ProviderKind::Kprobe,
            ProviderKind::Usdt,
            ProviderKind::RawTracepoint,
        ]),
        "C-ABI argument N (0..9), for non-Go code and kernel functions; a USDT probe's Nth argument; a raw tracepoint's Nth TP_PROTO argument",
    ),
    row(
        B::Retval,
        "retval",
        Value,
        &[],
        Returns::Special,
        Providers::of(&[ProviderKind::Uretprobe, ProviderKind::Kretprobe]),
        "the probed function's (first) return value",
    ),
    row(
        B::Args,
        "args",
        Value,
        &[],
        Returns::Special,
        Providers::of(&[ProviderKind::Uprobe, ProviderKind::Tracepoint]),
        "the function's parameters by name (Go) or the tracepoint's fields",
    ),
    row(
        B::Ret,
        "ret",
        Value,
        &[],
        Returns::Special,
        Providers::of(&[ProviderKind::Uretprobe]),
        "a Go function's results by name",
    ),
    row(
        B::Goid,
        "goid",
        Value,
        &[],
        I64,
        Providers::TRACED,
        "id of the current goroutine",
    ),
    row(
        B::Ustack,
        "ustack",
        Both,
        &[opt("frames", K::IntLiteral)],
        Returns::Stack(StackKind::User),
        Providers::TRACED,
        "user stack of the current thread",
    ),
    row(
        B::Kstack,
        "kstack",
        Both,
        &[opt("frames", K::IntLiteral)],
        Returns::Stack(StackKind::Kernel),
        Providers::TRACED,
        "kernel stack of the current thread",
    ),
    row(
        B::Gostack,
        "gostack",
        Both,
        &[opt("frames", K::IntLiteral)],
        Returns::Stack(StackKind::Go),
        Providers::TRACED,
        "the goroutine's stack, Go-symbolized",
    ),
    row(
        B::Gocaller,
        "gocaller",
        Value,
        &[],
        Returns::GoCaller,
        Providers::TRACED,
        "the user's Go function on the goroutine's stack: its innermost frame outside the standard library (else outside runtime, syscall, internal/*, os and net)",
    ),
    row(
        B::Gocreator,
        "gocreator",
        Both,
        &[opt("g", K::Int)],
        Returns::GoPc,
        Providers::TRACED,
        "where the goroutine (or the one whose `*runtime.g` is `g`) was started: the `go` statement's function+offset (Go's \"created by\")",
    ),
    row(
        B::Goparent,
        "goparent",
        Value,
        &[],
        I64,
        Providers::TRACED,
        "id of the goroutine that started this one (Go 1.21+)",
    ),
    row(
        B::Cgroup,
        "cgroup",
        Value,
        &[],
        U64,
        ALL,
        "cgroup v2 id of the current task (bpf_get_current_cgroup_id)",
    ),
    row(
        B::Numaid,
        "numaid",
        Value,
        &[],
        U32,
        ALL,
        "NUMA node the probe runs on",
    ),
    row(
        B::Username,
        "username",
        Value,
        &[],
        Returns::Rendered(Render::Username),
        ALL,
        "user name of the current task's uid (from /etc/passwd, when printing)",
    ),
    row(
        B::Sarg(0),
        "sargN",
        Value,
        &[],
        U64,
        Providers::of(&[ProviderKind::Uprobe, ProviderKind::Kprobe]),
        "C-ABI argument N (0..9) passed on the stack, at the function's entry",
    ),
    row(
        B::Str,
        "str",
        Call,
        &[req("address", K::Addr), opt("size", K::Int)],
        Returns::Special,
        ALL,
        "read a NUL-terminated or Go string; a run-time `size` is clamped to 64 bytes (bpftrace's string buffer)",
    ),
    row(
        B::Buf,
        "buf",
        Call,
        &[req("address", K::Addr), req("size", K::Int)],
        Returns::Special,
        ALL,
        "read raw bytes, printed as hex escapes (a run-time size reads at most 64)",
    ),
    row(
        B::Reg,
        "reg",
        Call,
        &[req("name", K::StrLiteral)],
        U64,
        Providers::REGS,
        "a register of the probed task, e.g. reg(\"r14\")",
    ),
    row(
        B::Usym,
        "usym",
        Call,
        &[req("address", K::Int)],
        Returns::Sym { user: true },
        ALL,
        "print a user address as a symbol",
    ),
    row(
        B::Ksym,
        "ksym",
        Call,
        &[req("address", K::Int)],
        Returns::Sym { user: false },
        ALL,
        "print a kernel address as a symbol",
    ),
    row(
        B::SyscallName,
        "syscall_name",
        Call,
        &[req("nr", K::Int)],
        Returns::Coded(crate::types::Code::Syscall),
        ALL,
        "print a system call number by name for this architecture (`openat`; built-in x86-64 table)",
    ),
    row(
        B::SyscallNr,
        "syscall_nr",
        Call,
        &[req("name", K::StrLiteral)],
        I64,
        ALL,
        "the number of the system call named `name` on this architecture, a constant (`\"\"` or `\"all\"`: -1); `syscall_nr($1)` takes a parameter's text",
    ),
    row(
        B::ErrnoName,
        "errno_name",
        Call,
        &[req("result", K::Int)],
        Returns::Coded(crate::types::Code::Errno),
        ALL,
        "print a syscall's failed result (-errno) by the errno's name (`-2`: `ENOENT`), any other value as the number",
    ),
    row(
        B::SignalName,
        "signal_name",
        Call,
        &[req("signal", K::Int)],
        Returns::Coded(crate::types::Code::Signal),
        ALL,
        "print a signal number by name (`SIGURG`, `SIGRTMIN+3`)",
    ),
    row(
        B::OpenFlags,
        "open_flags",
        Call,
        &[req("flags", K::Int)],
        Returns::Coded(crate::types::Code::OpenFlags),
        ALL,
        "print open(2) flags symbolically (`O_WRONLY|O_CREAT|O_CLOEXEC`)",
    ),
    row(
        B::Dirfd,
        "dirfd",
        Call,
        &[req("fd", K::Int)],
        Returns::Coded(crate::types::Code::Dirfd),
        ALL,
        "print a directory fd of the `*at` calls (`AT_FDCWD`, or the number)",
    ),
    row(
        B::Sockaddr,
        "sockaddr",
        Call,
        &[req("address", K::Addr)],
        Returns::Coded(crate::types::Code::Sockaddr),
        ALL,
        "read a `struct sockaddr` in the traced task's memory and print it: `127.0.0.1:8080` (IPv4), `[IPv6]:443`",
    ),
    row(
        B::Time,
        "time",
        Call,
        &[opt("format", K::StrLiteral)],
        Returns::Void,
        ALL,
        "print the current time (strftime format)",
    ),
    row(
        B::Strftime,
        "strftime",
        Call,
        &[req("format", K::StrLiteral), req("nsecs", K::Int)],
        Returns::Timestamp,
        ALL,
        "`nsecs` as wall-clock time: strftime(3) format, `%f` = microseconds (formatted in user space)",
    ),
    row(
        B::Bswap,
        "bswap",
        Call,
        &[req("value", K::Int)],
        Returns::Special,
        ALL,
        "reverse the bytes of an integer (of its own width: uint8..uint64)",
    ),
    row(
        B::Strncmp,
        "strncmp",
        Call,
        &[
            req("s1", K::Any),
            req("s2", K::Any),
            req("n", K::IntLiteral),
        ],
        U64,
        ALL,
        "0 if the first `n` bytes of two strings are equal, 1 if not",
    ),
    row(
        B::Strerror,
        "strerror",
        Call,
        &[req("errno", K::Int)],
        Returns::Rendered(Render::Errno),
        ALL,
        "an errno as its strerror(3) text (formatted in user space)",
    ),
    row(
        B::Ntop,
        "ntop",
        Call,
        &[
            req("af_or_address", K::IpAddress),
            opt("address", K::IpAddress),
        ],
        Returns::Inet,
        ALL,
        "an IP address as text: an integer (IPv4, network byte order) or a `u8[4]`/`u8[16]` array (IPv6); `ntop(AF_INET or AF_INET6, addr)` too",
    ),
    row(
        B::Macaddr,
        "macaddr",
        Call,
        &[req("address", K::Addr)],
        Returns::Rendered(Render::Mac),
        ALL,
        "the 6 bytes at `address` as a MAC address",
    ),
    row(
        B::Kaddr,
        "kaddr",
        Call,
        &[req("name", K::StrLiteral)],
        U64,
        ALL,
        "the address of a kernel symbol (from /proc/kallsyms, at compile time)",
    ),
    row(
        B::Cgroupid,
        "cgroupid",
        Call,
        &[req("path", K::StrLiteral)],
        U64,
        ALL,
        "the cgroup v2 id of a cgroup directory (its inode, at compile time)",
    ),
    BuiltinSpec {
        variadic: true,
        ..row(
            B::Printf,
            "printf",
            Call,
            &[req("format", K::StrLiteral)],
            Returns::Void,
            ALL,
            "print formatted output",
        )
    },
    row(
        B::Print,
        "print",
        Call,
        &[
            req("value", K::MapOrAny),
            opt("top", K::IntLiteral),
            opt("div", K::IntLiteral),
        ],
        Returns::Void,
        ALL,
        "print a map or a value; `print(@m, top, div)`: the `top` largest entries, each value divided by `div` (as bpftrace: not lhist, not stats)",
    ),
    row(
        B::Exit,
        "exit",
        Call,
        &[],
        Returns::Void,
        ALL,
        "stop tracing, print maps and exit",
    ),
    row(
        B::Delete,
        "delete",
        Call,
        &[req("element", K::MapElem)],
        Returns::Void,
        ALL,
        "delete one map element",
    ),
    row(
        B::Clear,
        "clear",
        Call,
        &[req("map", K::Map)],
        Returns::Void,
        ALL,
        "delete every element of a map",
    ),
    row(
        B::Zero,
        "zero",
        Call,
        &[req("map", K::Map)],
        Returns::Void,
        ALL,
        "set every value of a map to zero",
    ),
    row(
        B::Emit,
        "emit",
        Call,
        &[req("value", K::Any)],
        Returns::Void,
        ALL,
        "send a structured event (JSON/OTLP outputs)",
    ),
    row(
        B::Join,
        "join",
        Call,
        &[req("array", K::Addr), opt("delimiter", K::StrLiteral)],
        Returns::Void,
        ALL,
        "print a NULL-terminated array of strings (argv), joined by `delimiter` (\" \")",
    ),
    row(
        B::Signal,
        "signal",
        Call,
        &[req("signal", K::Any)],
        Returns::Void,
        Providers::TRACED,
        "send a signal (name or number) to the current task; needs --unsafe",
    ),
    BuiltinSpec {
        variadic: true,
        ..row(
            B::Cat,
            "cat",
            Call,
            &[req("path", K::StrLiteral)],
            Returns::Void,
            ALL,
            "print a file's contents (path as a printf format), read by user space when printing",
        )
    },
    BuiltinSpec {
        variadic: true,
        ..row(
            B::System,
            "system",
            Call,
            &[req("command", K::StrLiteral)],
            Returns::Void,
            ALL,
            "run a shell command (a printf format) and print its output; needs --unsafe",
        )
    },
    row(
        B::Count,
        "count",
        Call,
        &[],
        Returns::Agg(AggKind::Count),
        ALL,
        "aggregation: number of calls",
    ),
    row(
        B::Sum,
        "sum",
        Call,
        &[req("value", K::Int)],
        Returns::Agg(AggKind::Sum),
        ALL,
        "aggregation: sum of values",
    ),
    row(
        B::Avg,
        "avg",
        Call,
        &[req("value", K::Int)],
        Returns::Agg(AggKind::Avg),
        ALL,
        "aggregation: average of values",
    ),
    row(
        B::Min,
        "min",
        Call,
        &[req("value", K::Int)],
        Returns::Agg(AggKind::Min),
        ALL,
        "aggregation: minimum value",
    ),
    row(
        B::Max,
        "max",
        Call,
        &[req("value", K::Int)],
        Returns::Agg(AggKind::Max),
        ALL,
        "aggregation: maximum value",
    ),
    row(
        B::Stats,
        "stats",
        Call,
        &[req("value", K::Int)],
        Returns::Agg(AggKind::Stats),
        ALL,
        "aggregation: count, average and total",
    ),
    row(
        B::Hist,
        "hist",
        Call,
        &[req("value", K::Int)],
        Returns::Agg(AggKind::Hist),
        ALL,
        "aggregation: power-of-two histogram",
    ),
    row(
        B::Lhist,
        "lhist",
        Call,
        &[
            req("value", K::Int),
            req("min", K::IntLiteral),
            req("max", K::IntLiteral),
            req("step", K::IntLiteral),
        ],
        Returns::Special,
        ALL,
        "aggregation: linear histogram",
    ),
    row(
        B::Kptr,
        "kptr",
        Call,
        &[req("pointer", K::Int)],
        Returns::Special,
        ALL,
        "the pointer, read from kernel memory (bpf_probe_read_kernel) when dereferenced",
    ),
    row(
        B::Uptr,
        "uptr",
        Call,
        &[req("pointer", K::Int)],
        Returns::Special,
        ALL,
        "the pointer, read from user memory (bpf_probe_read_user) when dereferenced",
    ),
    row(
        B::Sqlnorm,
        "sqlnorm",
        Call,
        &[req("statement", K::Any)],
        Returns::Special,
        ALL,
        "a SQL statement (a string) with its literals replaced by `?` and its spaces collapsed, so `WHERE id = 7` and `WHERE id = 8` are one map key (normalized in user space)",
    ),
    row(
        B::CgroupPath,
        "cgroup_path",
        Call,
        &[req("cgroup_id", K::Int), opt("filter", K::StrLiteral)],
        Returns::Special,
        ALL,
        "a cgroup id as its path in each cgroup hierarchy, `unified:/a/b,cpu:/a/b` (hierarchy names matching the wildcard `filter` only), resolved in user space when printed, as bpftrace",
    ),
    row(
        B::Uaddr,
        "uaddr",
        Call,
        &[req("symbol", K::StrLiteral)],
        Returns::Special,
        Providers::of(&[
            ProviderKind::Uprobe,
            ProviderKind::Uretprobe,
            ProviderKind::Usdt,
        ]),
        "the address of a symbol of the probed binary (its ELF symbol table, at compile time; a PIE binary's load bias added when the probe runs), a pointer sized by the symbol (1, 2, 4 or 8 bytes: `*uaddr(\"counter\")` reads it; else `uint64 *`), as bpftrace",
    ),
    row(
        B::Strcontains,
        "strcontains",
        Call,
        &[req("haystack", K::Any), req("needle", K::Any)],
        U64,
        ALL,
        "1 if the string `needle` occurs in the string `haystack` (up to its first NUL), else 0; an empty needle is found",
    ),
    row(
        B::Path,
        "path",
        Call,
        &[req("path", K::Int)],
        Returns::Str {
            size: DEFAULT_STR_SIZE,
        },
        Providers::of(&[
            ProviderKind::Kfunc,
            ProviderKind::Kretfunc,
            ProviderKind::Iter,
        ]),
        "the file name of a `struct path *` (bpf_d_path); only in kfunc/kretfunc/iter probes, which gprobe does not attach",
    ),
    BuiltinSpec {
        variadic: true,
        ..row(
            B::Debugf,
            "debugf",
            Call,
            &[req("format", K::StrLiteral)],
            Returns::Void,
            ALL,
            "bpf_trace_printk: a line in /sys/kernel/tracing/trace_pipe (at most 3 arguments; %d %u %x %p %s with l/ll, flags and width); for debugging, not production",
        )
    },
    row(
        B::Override,
        "override",
        Call,
        &[req("rc", K::Int)],
        Returns::Void,
        Providers::of(&[ProviderKind::Kprobe]),
        "make the probed kernel function return `rc` (bpf_override_return, error-injectable functions); only in kprobes, needs --unsafe",
    ),
    row(
        B::Pton,
        "pton",
        Call,
        &[req("address", K::StrLiteral)],
        Returns::Special,
        ALL,
        "an IPv4 (`\"10.0.0.1\"`) or IPv6 (`\"::1\"`) address literal as its bytes, a `u8[4]` or `u8[16]` in network order: printed as `[10,0,0,1]`, a map key, compared with `==`, indexed, `ntop(pton(s))` prints it back",
    ),
    row(
        B::Strcat,
        "strcat",
        Call,
        &[req("a", K::Any), req("b", K::Any)],
        Returns::Special,
        ALL,
        "the string `a` (up to its NUL) followed by the string `b`, in one string of both sizes less one (a gprobe extension; at most 256 bytes)",
    ),
];

/// Position of a builtin's row in [`BUILTINS`]. Exhaustive, so a new variant must get a row.
const fn index(builtin: Builtin) -> usize {
    match builtin {
        B::Pid => 0,
        B::Tpid => 1,
        B::Cpid => 2,
        B::Tid => 3,
        B::Uid => 4,
        B::Gid => 5,
        B::Comm => 6,
        B::Nsecs => 7,
        B::Elapsed => 8,
        B::Cpu => 9,
        B::Rand => 10,
        B::Curtask => 11,
        B::Probe => 12,
        B::Func => 13,
        B::Arg(_) => 14,
        B::Retval => 15,
        B::Args => 16,
        B::Ret => 17,
        B::Goid => 18,
        B::Ustack => 19,
        B::Kstack => 20,
        B::Gostack => 21,
        B::Gocaller => 22,
        B::Gocreator => 23,
        B::Goparent => 24,
        B::Cgroup => 25,
        B::Numaid => 26,
        B::Username => 27,
        B::Sarg(_) => 28,
        B::Str => 29,
        B::Buf => 30,
        B::Reg => 31,
        B::Usym => 32,
        B::Ksym => 33,
        B::SyscallName => 34,
        B::SyscallNr => 35,
        B::ErrnoName => 36,
        B::SignalName => 37,
        B::OpenFlags => 38,
        B::Dirfd => 39,
        B::Sockaddr => 40,
        B::Time => 41,
        B::Strftime => 42,
        B::Bswap => 43,
        B::Strncmp => 44,
        B::Strerror => 45,
        B::Ntop => 46,
        B::Macaddr => 47,
        B::Kaddr => 48,
        B::Cgroupid => 49,
        B::Printf => 50,
        B::Print => 51,
        B::Exit => 52,
        B::Delete => 53,
        B::Clear => 54,
        B::Zero => 55,
        B::Emit => 56,
        B::Join => 57,
        B::Signal => 58,
        B::Cat => 59,
        B::System => 60,
        B::Count => 61,
        B::Sum => 62,
        B::Avg => 63,
        B::Min => 64,
        B::Max => 65,
        B::Stats => 66,
        B::Hist => 67,
        B::Lhist => 68,
        B::Kptr => 69,
        B::Uptr => 70,
        B::Sqlnorm => 71,
        B::CgroupPath => 72,
        B::Uaddr => 73,
        B::Strcontains => 74,
        B::Path => 75,
        B::Debugf => 76,
        B::Override => 77,
        B::Pton => 78,
        B::Strcat => 79,
    }
}

/// The number of C-ABI `argN` builtins (`arg0`..`arg9`).
pub const MAX_ARGS: u8 = 10;

/// The table row of a builtin.
pub fn spec(builtin: Builtin) -> &'static BuiltinSpec {
    &BUILTINS[index(builtin)]
}

/// The builtin a name refers to (`pid`, `arg3`, `count`).
pub fn lookup(name: &str) -> Option<Builtin> {
    if let Some(n) = name.strip_prefix("arg")
        && let Ok(n) = n.parse::<u8>()
        && n < MAX_ARGS
        && name.len() == 4
    {
        return Some(Builtin::Arg(n));
    }
    if let Some(n) = name.strip_prefix("sarg")
        && let Ok(n) = n.parse::<u8>()
        && n < MAX_ARGS
        && name.len() == 5
    {
        return Some(Builtin::Sarg(n));
    }
    BUILTINS
        .iter()
        .find(|s| s.name == name && s.name != "argN" && s.name != "sargN")
        .map(|s| s.builtin)
}

/// Every name a user can write, for "did you mean" suggestions.
pub fn names() -> impl Iterator<Item = &'static str> {
    BUILTINS.iter().map(|s| match s.name {
        "argN" => "arg0",
        "sargN" => "sarg0",
        name => name,
    })
}

impl Builtin {
    /// The name as the user writes it (`arg3`, not `argN`).
    pub fn name(self) -> String {
        match self {
            Builtin::Arg(n) => format!("arg{n}"),
            Builtin::Sarg(n) => format!("sarg{n}"),
            other => spec(other).name.to_string(),
        }
    }

    pub fn is_aggregation(self) -> bool {
        matches!(
            self,
            B::Count | B::Sum | B::Avg | B::Min | B::Max | B::Stats | B::Hist | B::Lhist
        )
    }
}

impl BuiltinSpec {
    /// The name of `builtin` (which must be this row's variant) as written.
    pub fn name_of(&self, builtin: Builtin) -> String {
        builtin.name()
    }

    pub fn min_args(&self) -> usize {
        self.params.iter().filter(|p| !p.optional).count()
    }

    pub fn max_args(&self) -> Option<usize> {
        if self.variadic {
            None
        } else {
            Some(self.params.len())
        }
    }

    /// `printf(format, ...)`: the signature for messages.
    pub fn signature(&self) -> String {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|p| {
                if p.optional {
                    format!("[{}]", p.name)
                } else {
                    p.name.to_string()
                }
            })
            .chain(self.variadic.then(|| "...".to_string()))
            .collect();
        match self.form {
            Form::Value => self.name.to_string(),
            _ => format!("{}({})", self.name, params.join(", ")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_rows_match_index() {
        for (i, row) in BUILTINS.iter().enumerate() {
            assert_eq!(
                index(row.builtin),
                i,
                "row {} ({}) is out of place",
                i,
                row.name
            );
            assert!(!row.doc.is_empty(), "{} needs a doc line", row.name);
        }
    }

    #[test]
    fn lookup_by_name() {
        assert_eq!(lookup("pid"), Some(Builtin::Pid));
        assert_eq!(lookup("arg3"), Some(Builtin::Arg(3)));
        assert_eq!(lookup("arg10"), None);
        assert_eq!(lookup("arg03"), None);
        assert_eq!(lookup("argN"), None);
        assert_eq!(lookup("lhist"), Some(Builtin::Lhist));
        assert_eq!(Builtin::Arg(7).name(), "arg7");
    }
}
