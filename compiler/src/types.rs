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
    /// A pointer into the probed address space (user for uprobes, kernel for tracepoints).
    Ptr(Box<Type>),
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
    /// A u64 the kernel keeps and user space renders as text: `strerror(e)`, `username`,
    /// `ntop(addr)`, `macaddr(p)`.
    Rendered(Render),
    /// The value of an aggregation call (`count()`, `hist(x)`): only assignable to a map.
    Agg(AggKind),
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
    /// An IPv4 address as it lies in memory (network order), dotted: `127.0.0.1`.
    Ipv4,
    /// Six bytes as they lie in memory, as a MAC address: `00:1b:21:3a:4c:5d`.
    Mac,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StackKind {
    User,
    Kernel,
    /// A goroutine's user stack walked through frame pointers and symbolized via pclntab.
    Go,
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
