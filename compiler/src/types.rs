//! The types the checker infers and lowering relies on.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Default)]
pub enum Type {
    /// Not yet inferred (parser output) or not inferable (after an error was reported).
    #[default]
    Unknown,
    /// Statements-as-calls: `printf`, `delete`, `exit`, …
    Void,
    Int(IntType),
    /// A NUL-padded string buffer of `size` bytes (bpftrace's `string[64]`); Go strings read with
    /// `str()` become this too.
    Str {
        size: u32,
    },
    /// Raw bytes from `buf(p, n)`, printed as hex escapes.
    Buf {
        size: u32,
    },
    Tuple(Vec<Type>),
    /// `(name=e, …)`
    Record(Vec<(String, Type)>),
    /// A pointer to a value of the inner type, in the address space it says.
    Ptr(Box<Type>, AddrSpace),
    /// A fixed-size array in target memory (a struct member `int x[4]`): index it with `[i]`.
    /// `char` arrays are [`Type::Str`] instead, as bpftrace prints them as strings.
    Array {
        elem: Box<Type>,
        len: u32,
    },
    /// A bit-field member's storage: read `bits` bits from bit `shift` of the little-endian
    /// integer `int` at the field's offset. Reading it gives `Type::Int(int)`.
    BitField {
        int: IntType,
        shift: u8,
        bits: u8,
    },
    /// A struct in target memory, laid out by DWARF, a tracepoint format file or a built-in Go
    /// table: read fields with `.`/`->`.
    Struct(StructType),
    /// A struct known only by name until the type source resolves it (breaks recursive types).
    Named(String),
    /// Go's `string` header in target memory: (ptr, len).
    GoString,
    /// Go's slice header in target memory: (ptr, len, cap).
    GoSlice(Box<Type>),
    /// Go's interface value: (itab or type, data).
    GoInterface,
    /// A stack id: `ustack`, `kstack`, `gostack`, with the frame limit.
    Stack {
        kind: StackKind,
        limit: u8,
    },
    /// `strftime(format, nsecs)`: the kernel keeps the u64 time (ns, the clock of `nsecs`);
    /// user space formats it as wall-clock time with `format` when printing.
    Timestamp {
        format: String,
    },
    /// A code address in the Go program (`gocreator`), printed as `function+offset` from the
    /// pclntab (stripped binaries included).
    GoPc,
    /// An address to print as a symbol: `usym(addr)`, `ksym(addr)`.
    Sym {
        user: bool,
    },
    /// A number printed by name: `syscall_name(nr)`, `errno_name(e)`.
    Coded(Code),
    /// `gocaller`: the innermost [`GOCALLER_FRAMES`] return addresses of the user stack, copied
    /// into the value itself (an event is printed long after a stack map could have reused
    /// its slot), printed as one frame: the user's function.
    GoCaller,
    /// A u64 the kernel keeps and user space renders as text: `strerror(e)`, `username`,
    /// `ntop(addr)`, `macaddr(p)`.
    Rendered(Render),
    /// `ntop(...)`: an IPv4 or IPv6 address, kept as its family (2 or 10, a u64) and 16 bytes
    /// of address as they lie in memory (network order; IPv4 in the first 4), printed as text.
    /// One type for both, so one variable can hold either (bpftrace's `inet`).
    Inet,
    /// `sqlnorm(s)`: the string's bytes as the kernel read them; user space prints them with
    /// the SQL literals replaced, and map entries whose keys print the same are one entry.
    SqlText {
        size: u32,
    },
    /// A fixed-size byte array held as a value (bpftrace's `uint8[N]`, from `pton`): stored,
    /// compared with `==`/`!=`, indexed with `[i]`, printed as `[1,2,3,4]`; unlike
    /// [`Type::Array`] it is not in target memory.
    Bytes {
        len: u32,
    },
    /// The value of an aggregation call (`count()`, `hist(x)`): only assignable to a map.
    Agg(AggKind),
}

impl Type {
    /// Bytes a value of this type occupies in target memory (C's `sizeof`), when known.
    pub fn memory_size(&self) -> Option<u64> {
        Some(match self {
            Type::Int(i) => u64::from(i.bits / 8),
            Type::Ptr(..) => 8,
            Type::Struct(s) => s.size,
            Type::Str { size } | Type::Buf { size } => u64::from(*size),
            Type::Array { elem, len } => elem.memory_size()? * u64::from(*len),
            _ => return None,
        })
    }
}

/// Where a pointer points (bpftrace's AddrSpace): it picks the probe-read helper.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Default)]
pub enum AddrSpace {
    /// The probe's own: user memory in uprobes, else the kernel's compat read (which on x86-64
    /// dispatches on the address, so tracepoint `char *` arguments pointing into user memory
    /// read too).
    #[default]
    Default,
    /// Kernel memory (`bpf_probe_read_kernel`): kernel structs from BTF, `curtask`.
    Kernel,
    /// User memory (`bpf_probe_read_user`): Go values.
    User,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct IntType {
    /// 8, 16, 32 or 64.
    pub bits: u8,
    pub signed: bool,
}

impl IntType {
    pub const I64: IntType = IntType {
        bits: 64,
        signed: true,
    };
    pub const U64: IntType = IntType {
        bits: 64,
        signed: false,
    };
    pub const U32: IntType = IntType {
        bits: 32,
        signed: false,
    };
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct StructType {
    pub name: String,
    pub size: u64,
    pub fields: Vec<Field>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Field {
    pub name: String,
    pub offset: u64,
    pub ty: Type,
}

/// How user space renders a [`Type::Rendered`] u64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Render {
    /// An errno, as strerror(3) text: `No such file or directory`.
    Errno,
    /// A uid, as its user name from /etc/passwd (the number when unknown).
    Username,
    /// Six bytes as they lie in memory, as a MAC address: `00:1b:21:3a:4c:5d`.
    Mac,
    /// The name of the probe that fired, by [`crate::manifest::probe_id`]: a name is as long
    /// as it is (a USDT probe's holds the binary's path), as bpftrace prints it.
    Probe,
    /// A cgroup id as its paths in the cgroup hierarchies (`cgroup_path(id [, filter])`):
    /// `filter` indexes [`crate::manifest::Manifest::cgroup_filters`], the hierarchy-name
    /// wildcards the program gives.
    CgroupPath { filter: Option<u32> },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StackKind {
    User,
    Kernel,
    /// A goroutine's user stack walked through frame pointers and symbolized via pclntab.
    Go,
}

/// Frames a [`Type::GoCaller`] value keeps (8 bytes each): enough to get past the syscall,
/// poll and os layers to the caller.
pub const GOCALLER_FRAMES: u32 = 30;

/// Which names a [`Type::Coded`] number prints with (see [`crate::syscalls`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Code {
    /// A system call number of this architecture: `openat`.
    Syscall,
    /// A syscall's result: -errno prints as the errno's name (`ENOENT`), other values (0, a
    /// count, an fd) as numbers.
    Errno,
    /// A signal number: `SIGURG`.
    Signal,
    /// open(2) flags: `O_RDONLY|O_CLOEXEC`.
    OpenFlags,
    /// A directory fd of the `*at` calls: `AT_FDCWD` or the number.
    Dirfd,
    /// The first 8 bytes of a `struct sockaddr`: `127.0.0.1:8080`.
    Sockaddr,
}

impl Code {
    /// How user space prints value `v` of this code.
    pub fn format(self, v: i64) -> String {
        match self {
            Code::Syscall => crate::syscalls::format_syscall(v as u64),
            Code::Errno => crate::syscalls::format_errno(v),
            Code::Signal => crate::syscalls::format_signal(v),
            Code::OpenFlags => crate::syscalls::format_open_flags(v),
            Code::Dirfd => crate::syscalls::format_dirfd(v),
            Code::Sockaddr => crate::syscalls::format_sockaddr(v),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AggKind {
    Count,
    Sum,
    Avg,
    Min,
    Max,
    Stats,
    Hist,
    /// `lhist(v, min, max, step)`
    Lhist {
        min: i64,
        max: i64,
        step: i64,
    },
}

/// A type as a user would write it: `u32`, `string[16]`, `(u64, string[16])`, `*i8`.
pub fn type_name(ty: &Type) -> String {
    match ty {
        Type::Unknown => "?".into(),
        Type::Void => "void".into(),
        Type::Int(IntType { bits, signed }) => format!("{}{bits}", if *signed { "i" } else { "u" }),
        Type::Str { size } => format!("string[{size}]"),
        Type::Buf { size } => format!("buf[{size}]"),
        Type::Bytes { len } => format!("u8[{len}]"),
        Type::SqlText { size } => format!("sqltext[{size}]"),
        Type::Tuple(items) => format!(
            "({})",
            items.iter().map(type_name).collect::<Vec<_>>().join(", ")
        ),
        Type::Record(fields) => format!(
            "({})",
            fields
                .iter()
                .map(|(n, t)| format!("{n}: {}", type_name(t)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Type::Ptr(inner, _) => format!("*{}", type_name(inner)),
        Type::Array { elem, len } => format!("{}[{len}]", type_name(elem)),
        Type::BitField { int, bits, .. } => format!("{}:{bits}", type_name(&Type::Int(*int))),
        Type::Struct(s) if s.name.is_empty() => "struct (anonymous)".into(),
        Type::Struct(s) if s.name.starts_with("union ") => s.name.clone(),
        Type::Struct(s) => format!("struct {}", s.name),
        Type::Named(n) => n.clone(),
        Type::GoString => "go string".into(),
        Type::GoSlice(elem) => format!("[]{}", type_name(elem)),
        Type::GoInterface => "go interface".into(),
        Type::Stack { kind, limit } => {
            let k = match kind {
                StackKind::User => "ustack",
                StackKind::Kernel => "kstack",
                StackKind::Go => "gostack",
            };
            format!("{k}[{limit}]")
        }
        Type::Timestamp { format } => format!("timestamp(\"{format}\")"),
        Type::GoPc => "gopc".into(),
        Type::Rendered(Render::CgroupPath { .. }) => "cgroup_path".into(),
        Type::Rendered(render) => format!("{render:?}").to_lowercase(),
        Type::Sym { user: true } => "usym".into(),
        Type::Sym { user: false } => "ksym".into(),
        Type::GoCaller => "gocaller".into(),
        Type::Inet => "inet".into(),
        Type::Coded(code) => format!("{code:?} name").to_lowercase(),
        Type::Agg(kind) => match kind {
            AggKind::Lhist { min, max, step } => format!("lhist({min}, {max}, {step})"),
            other => format!("{other:?}").to_lowercase(),
        },
    }
}
