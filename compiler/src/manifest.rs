//! The manifest travels with the ELF object from the compiler to the runtime: which program
//! attaches where, what each map holds and how to print it, and how to decode each ring-buffer
//! event. It is the whole contract between `gprobe-compiler` and `gprobe-runtime`; the runtime
//! never looks at the AST.

use crate::span::Span;
use crate::types::{AggKind, StackKind};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub programs: Vec<ProgramSpec>,
    pub maps: Vec<MapSpec>,
    /// Ring-buffer event kinds; an event's first 8 bytes (u64 LE) index this list. The payload
    /// follows at byte 8; event `Layout` offsets count from the payload's start.
    pub events: Vec<EventSpec>,
    /// Node-wide: no single target process, so user addresses and stacks carry the process
    /// they belong to (see [`stack_parts`] and [`addr_parts`]) and Go facts come from the
    /// [`MapRole::GoProcesses`] map, which the runtime fills for every Go process it knows.
    #[serde(default)]
    pub node_wide: bool,
    /// The `filter`s of `cgroup_path(id, filter)`, by [`crate::types::Render::CgroupPath`].
    #[serde(default)]
    pub cgroup_filters: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProgramSpec {
    /// The STT_FUNC symbol name, which is also aya's program name.
    pub name: String,
    /// The ELF section, e.g. `uprobe/p0`; aya reads the program type from the part before `/`.
    pub section: String,
    pub attach: Attach,
    /// The attach point in the source, for attach errors.
    pub span: Span,
    /// Instruction index → source span of the statement/expression it came from, sorted by
    /// index; lets a verifier rejection point at the source.
    pub insn_spans: Vec<(u32, Span)>,
    /// A one-line name for `probe` and for listings, e.g. `uprobe:./srv:main.work`.
    pub probe_name: String,
    /// A program at several functions of different names (`uprobe:./srv:main.*`): each
    /// offset's own name. Its `probe` reads the attach cookie, which the runtime sets to the
    /// name's [`probe_id`] (0, no cookie, reads as `probe_name`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub site_names: Vec<(u64, String)>,
    /// The program reads the attach offset of the site that fired from its attach cookie's
    /// upper 32 bits (`uaddr()` in a position-independent binary, at several sites): the
    /// runtime sets each offset's cookie to `offset << 32 | name id`, and attaches only with
    /// cookies (uprobe-multi links).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub offset_cookies: bool,
    /// Set on the programs of a uprobe on a binary pattern (`uprobe:*:main.work`): the pending
    /// program stands for the pattern and is never loaded; the others are its expansions, one
    /// binary each. The runtime matches executables started later against the pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<PatternOrigin>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatternOrigin {
    /// The binary pattern, absolute (`*`, `/srv/*/bin/*`; see `names::path_glob_match`).
    pub binary: String,
    /// The function (or function glob) as written.
    pub function: String,
    /// The pattern's own program: placeholder code, never loaded or attached.
    pub pending: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Attach {
    /// Runs once before any other probe fires (runtime triggers it). The program must be in a
    /// `uprobe/` section: the runtime attaches it to a trigger function in its own executable
    /// and calls that once, so its context is gprobe's own `pt_regs`.
    Begin,
    /// Runs once at exit, before the maps are printed (a `uprobe/` section, as `Begin`).
    End,
    /// A perf-event timer on one CPU.
    Interval {
        period_ns: u64,
    },
    /// A perf-event sampler on every CPU.
    Profile {
        hz: Option<u64>,
        period_ns: Option<u64>,
    },
    Tracepoint {
        category: String,
        name: String,
    },
    /// A raw tracepoint by name (`sched_switch`): a `raw_tracepoint/` program, attached with
    /// `BPF_RAW_TRACEPOINT_OPEN`.
    RawTracepoint {
        name: String,
    },
    /// A uprobe at `binary` + symbol/offset. `ret` asks for a kernel uretprobe and is only ever set
    /// for non-Go code: Go return probes are plain uprobes at each RET offset.
    Uprobe {
        binary: String,
        target: UprobeTarget,
        ret: bool,
    },
    /// A kprobe (or kretprobe) on kernel function `function` + `offset`; `function` may be a
    /// glob (`vfs_*`), which the runtime expands against the kernel's traceable functions.
    Kprobe {
        function: String,
        offset: u64,
        ret: bool,
    },
    /// A software perf event by bpftrace's full name (`page-faults`), sampled every `count`
    /// events on every CPU (see `syntax::perf::SOFTWARE`).
    Software {
        event: String,
        count: u64,
    },
    /// A hardware perf event by full name (`cpu-cycles`), every `count` events on every CPU.
    Hardware {
        event: String,
        count: u64,
    },
    /// A hardware breakpoint on `len` bytes at `address` in the target process (`-p`/`-c`),
    /// `mode` `r`, `w`, `rw` or `x`.
    Watchpoint {
        address: u64,
        len: u8,
        mode: String,
        /// `watchpoint:FUNC+argN`: attached at run time, at each new address the arming
        /// program reports ([`EventSpec::WatchpointArm`]), not at `address`.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        armed: bool,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum UprobeTarget {
    Symbol(String),
    /// A file offset into `binary`.
    Offset(u64),
    /// The same program at several file offsets: every RET of a Go function (return probes),
    /// or every function a Go wildcard matched.
    Offsets(Vec<u64>),
    /// USDT probe sites: file offsets, each with its semaphore's file offset (0: none), which
    /// the kernel counts up while the probe is attached (uprobe `ref_ctr_offset`).
    Usdt {
        offsets: Vec<u64>,
        semaphores: Vec<u64>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MapKind {
    Hash,
    PerCpuHash,
    Array,
    PerCpuArray,
    RingBuf,
    StackTrace,
    /// A data section (`.bss`, named by the map): one array entry whose value holds the
    /// variables; programs address it directly, without a lookup.
    Global,
}

impl MapKind {
    /// The kernel's `bpf_map_type` number.
    pub fn bpf_type(self) -> u32 {
        match self {
            MapKind::Hash => 1,
            MapKind::Array | MapKind::Global => 2,
            MapKind::PerCpuHash => 5,
            MapKind::PerCpuArray => 6,
            MapKind::StackTrace => 7,
            MapKind::RingBuf => 27,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MapSpec {
    /// The STT_OBJECT symbol name in the `maps` section.
    pub name: String,
    /// What the user wrote (`@lat`, `@` for the bare map); `None` for internal maps.
    pub user_name: Option<String>,
    pub role: MapRole,
    pub kind: MapKind,
    pub key: Layout,
    pub value: MapValue,
    pub max_entries: u32,
}

/// Slot of the Config map holding CLOCK_MONOTONIC at the start, in ns.
pub const CONFIG_START_NS: u32 = 0;
/// Slot of the Config map holding the `-p`/`-c` target's host pid.
pub const CONFIG_TARGET_PID: u32 = 1;
/// Slots of the Config map.
pub const CONFIG_SLOTS: u32 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MapRole {
    /// A user-visible `@map`.
    User,
    /// The ring buffer for printf/exit/print/emit events.
    Events,
    /// Stack traces referenced by stack ids in keys/values.
    Stacks { kind: StackKind },
    /// Per-CPU u64 counters: [0] ring-buffer records lost, [1] map updates dropped (full),
    /// [2] `exit()` records lost (the runtime polls it, so a full buffer cannot block exit).
    Counters,
    /// u64 values the runtime writes before attaching: [`CONFIG_START_NS`] (for `elapsed`),
    /// [`CONFIG_TARGET_PID`] (for `tpid`).
    Config,
    /// Node-wide Go facts: host tgid (u32) → [`GoProcFacts`], written by the runtime for each
    /// Go process and deleted by the programs themselves when the process execs or exits (so a
    /// reused pid never reads another program's offsets).
    GoProcesses,
    /// Node-wide Go facts by executable: (device u64 as the kernel encodes it, inode u64) →
    /// [`GoProcFacts`], written by the runtime for every Go binary it knows. The exec watch
    /// copies a new process's facts from here into [`MapRole::GoProcesses`] at once, so a
    /// program of a known binary never runs a moment with goid 0.
    GoBinaries,
    /// The processes a limited session traces (`-p A,B`, `--exe`, `--cgroup`): host tgid (u64)
    /// → u8, filled by the runtime. Programs of probes that fire in any process (uprobes,
    /// tracepoints, profile) return at once for a tgid not in it.
    Processes,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum MapValue {
    /// A plain value (`@x = 5`, `@s = comm`).
    Plain(Layout),
    /// An aggregation. Per-CPU value layouts (all little-endian):
    /// count/sum: i64; avg/stats: (sum i64, count u64); min/max: (value i64, set u64);
    /// hist/lhist: (count u64, sum i64 of the values counted in this bucket), with the bucket
    /// index as a trailing u64 in the key (the runtime takes the kernel key's last 8 bytes as
    /// the bucket and the bytes before as the user key). Bucket indexes
    /// follow bpftrace: hist 0 = negative, 1 = zero, `k + 2` = `2^k ..= 2^(k+1) - 1`; lhist 0 =
    /// below min, `(v - min) / step + 1` inside, `(max - min) / step + 1` = at or above max.
    Agg(AggKind),
}

impl MapValue {
    /// The value size in bytes (per CPU for per-CPU maps).
    pub fn size(&self) -> u32 {
        match self {
            MapValue::Plain(layout) => layout.size,
            MapValue::Agg(AggKind::Count | AggKind::Sum) => 8,
            MapValue::Agg(
                AggKind::Avg
                | AggKind::Stats
                | AggKind::Min
                | AggKind::Max
                | AggKind::Hist
                | AggKind::Lhist { .. },
            ) => 16,
        }
    }
}

/// A fixed-size byte layout of a map key, value or event payload.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    pub size: u32,
    pub fields: Vec<LayoutField>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayoutField {
    /// A record field's name (`method`), or the key expression as written (`comm`).
    pub name: Option<String>,
    pub offset: u32,
    pub kind: FieldKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FieldKind {
    Int {
        size: u8,
        signed: bool,
    },
    /// NUL-padded bytes, printed up to the first NUL.
    Str {
        size: u32,
    },
    /// Raw bytes (`buf()`): the first u8 is the length used, then `size` bytes.
    Buf {
        size: u32,
    },
    /// A u64 id into the stack map of this kind (negative when the walk failed). A `gostack`
    /// value may also carry its direct caller: see [`go_stack_parts`].
    Stack {
        kind: StackKind,
        limit: u8,
    },
    /// A u64 kernel time (ns, the clock of `nsecs`) printed as wall-clock time with a
    /// strftime(3) format; `%f` is the microseconds (6 digits).
    Timestamp {
        format: String,
    },
    /// A u64 code address in the Go program, printed as `function+offset` (pclntab).
    GoPc,
    /// A u64 address printed as a symbol.
    Sym {
        user: bool,
    },
    /// An i64 printed by name (syscall, errno).
    Coded(crate::types::Code),
    /// [`crate::types::GOCALLER_FRAMES`] u64 user-stack addresses (zero-padded), printed as
    /// the user's frame.
    GoCaller,
    /// `sqlnorm(s)`: a string of `size` bytes, printed with its SQL literals replaced.
    SqlText {
        size: u32,
    },
    /// A u64 rendered as text by user space (strerror, user names, addresses).
    Rendered(crate::types::Render),
    /// [`crate::types::Type::Inet`]: family (u64), then 16 bytes of address.
    Inet,
    /// `len` bytes printed as numbers, `[1,2,3,4]` (`pton`): unsigned, but `signed` (int8) in
    /// a map key, as bpftrace 0.17 prints them (`@k[[-64,-88,0,1]]`).
    Bytes {
        len: u32,
        #[serde(default)]
        signed: bool,
    },
    /// Nested tuple/record printed as `(a, b)`.
    Tuple(Layout),
    /// A C struct's bytes as they lie in target memory (`print(*$p)`, `@m = $p->inner`),
    /// `size` of them, printed as bpftrace prints a struct: `{ .a = -3, .in = { .x = 7 } }`.
    CStruct {
        size: u32,
        fields: Vec<CField>,
    },
    /// A C array's bytes as they lie in target memory (`print($p->nums)`), `size` of them,
    /// printed `[1,-2,3]` as bpftrace prints one.
    CArray {
        size: u32,
        kind: CKind,
    },
}

/// A member of a [`FieldKind::CStruct`], at its C offset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CField {
    pub name: String,
    pub offset: u32,
    pub kind: CKind,
}

/// A C struct's members as they print (`None`: a member gprobe cannot print, e.g. a Go
/// string header, or a struct known only by name).
pub fn c_fields(s: &crate::types::StructType) -> Option<Vec<CField>> {
    s.fields
        .iter()
        .map(|f| {
            Some(CField {
                name: f.name.clone(),
                offset: u32::try_from(f.offset).ok()?,
                kind: c_kind(&f.ty)?,
            })
        })
        .collect()
}

/// How a C value of type `ty` (a member, an array) prints, if gprobe can print it.
pub fn c_kind(ty: &crate::types::Type) -> Option<CKind> {
    Some(match ty {
        crate::types::Type::Int(it) => CKind::Int {
            size: (it.bits / 8).max(1),
            signed: it.signed,
        },
        crate::types::Type::Ptr(..) => CKind::Ptr,
        crate::types::Type::Str { size } => CKind::Str { len: *size },
        crate::types::Type::Array { elem, len } => CKind::Array {
            stride: u32::try_from(elem.memory_size()?).ok()?,
            elem: Box::new(c_kind(elem)?),
            len: *len,
        },
        crate::types::Type::BitField { int, shift, bits } => CKind::BitField {
            size: (int.bits / 8).max(1),
            shift: *shift,
            bits: *bits,
            signed: int.signed,
        },
        crate::types::Type::Struct(s) => CKind::Struct(c_fields(s)?),
        _ => return None,
    })
}

/// How a C member's bytes print.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CKind {
    Int {
        size: u8,
        signed: bool,
    },
    /// A pointer, printed as a number as bpftrace 0.17 prints one in a struct.
    Ptr,
    /// A `char` array: the text up to its first NUL.
    Str {
        len: u32,
    },
    /// `len` elements, `stride` bytes apart: `[1,2,3]`.
    Array {
        elem: Box<CKind>,
        stride: u32,
        len: u32,
    },
    /// Bits `shift .. shift + bits` of the little-endian integer of `size` bytes at the offset.
    BitField {
        size: u8,
        shift: u8,
        bits: u8,
        signed: bool,
    },
    Struct(Vec<CField>),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum EventSpec {
    /// `printf(fmt, args…)`: the payload after the id is `args`.
    Printf {
        format: String,
        args: Layout,
        span: Span,
    },
    /// `exit()`: stop tracing, run END, print maps.
    Exit,
    /// `print(@m)`: print the map now; `print(@m, top)`: only its `top` largest entries;
    /// `print(@m, top, div)`: each value divided by `div` (0 and 1 mean none).
    Print {
        map: String,
        #[serde(default)]
        top: u64,
        #[serde(default)]
        div: u64,
    },
    /// `print(value)` of a value that is not a map: the payload is the value, printed on its
    /// own line as bpftrace prints map values (`5`, `abc`, `(1, abc)`).
    PrintValue {
        value: Layout,
    },
    /// `clear(@m)` / `zero(@m)`: done by the runtime, as in bpftrace.
    Clear {
        map: String,
    },
    Zero {
        map: String,
    },
    /// One element of `join(argv, delimiter)`: the payload is the CPU (u32), the element's
    /// index (u32; `u32::MAX` ends the line), then the string (`size` bytes, NUL-padded). The
    /// runtime joins a CPU's elements (one probe run, never interleaved on its CPU) and prints
    /// the line at the end marker.
    JoinPart {
        delimiter: String,
        size: u32,
    },
    /// `cat(fmt, args…)`: user space formats the path as printf does and prints the file.
    Cat {
        format: String,
        args: Layout,
    },
    /// `system(fmt, args…)` (--unsafe): user space formats the command as printf does and
    /// runs it with `sh -c`, its output going to gprobe's stdout.
    System {
        format: String,
        args: Layout,
    },
    /// `time("%H:%M:%S")`: print the wall clock.
    Time {
        format: String,
    },
    /// A process exec'd (`sched_process_exec`): the payload is its host tgid (u64), then the
    /// kernel time of the exec (u64, `bpf_ktime_get_ns`). Node-wide programs send it so the
    /// runtime learns new processes (and their binaries) at once.
    ProcessExec,
    /// A process ended (`sched_process_exit` of its last thread): payload as `ProcessExec`.
    ProcessExit,
    /// `watchpoint:FUNC+argN`: the target called FUNC with an address (payload: tgid u64, then
    /// the address u64) at which `program`, a watchpoint, is to be attached. Unless `resume`
    /// is false (`asyncwatchpoint`), the arming program stopped the process (SIGSTOP) so that
    /// no access is missed: the runtime continues it once the watchpoint is attached.
    WatchpointArm {
        program: String,
        resume: bool,
    },
    /// `-kk`: the probe read `helper` at source `location` failed (`LINE:COL-END`, a newline,
    /// the source line and a `~` underline, as bpftrace shows it); the payload is its return
    /// value (i64, a negative errno).
    HelperError {
        helper: String,
        location: String,
    },
    /// `emit((k=v, …))`: a structured event. The payload is the kernel time of the event (u64,
    /// `bpf_ktime_get_ns`, CLOCK_MONOTONIC ns) at offset 0, then the value: `record`'s fields
    /// (offsets count from the payload's start, so the first is at 8) carry the record's field
    /// names; a value that is not a record is one unnamed field.
    Emit {
        probe: String,
        record: Layout,
        span: Span,
    },
}

/// The value of `probe` in a program attached as `name` (its [`ProgramSpec::probe_name`]): a hash,
/// so that every compilation of a script (node-wide, one per binary started later) gives a
/// name the same id. 31 bits (FNV-1a): one instruction's immediate.
pub fn probe_id(name: &str) -> u32 {
    let hash = name.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    });
    hash & 0x7fff_ffff
}

/// Bits of a `gostack` value that hold the stack id (the stack map has fewer entries).
pub const GO_STACK_ID_BITS: u32 = 16;

/// A `gostack` value as (stack id, caller): at an entry probe where the kernel's walk lacks the
/// probed function's direct caller, the program stores that caller's return address (read at
/// `*SP`) above the id's [`GO_STACK_ID_BITS`], and the runtime puts it back after frame 0. The
/// caller is 0 when there is none to add; a negative value is a failed walk, passed through.
pub fn go_stack_parts(value: i64) -> (i64, u64) {
    if value < 0 {
        return (value, 0);
    }
    let value = value as u64;
    (
        (value & ((1 << GO_STACK_ID_BITS) - 1)) as i64,
        value >> GO_STACK_ID_BITS,
    )
}

/// Bits of a node-wide stack value above the stack id that hold the host tgid (pid_max is at
/// most 2^22), then the low bits of the direct caller's address (see [`stack_parts`]).
pub const STACK_TGID_BITS: u32 = 22;
/// Low bits of a node-wide address value (`gocreator`, `usym`) that hold the address; the
/// tgid sits above them (see [`addr_parts`]).
pub const ADDR_BITS: u32 = 42;

/// A node-wide stack value as (stack id, host tgid, low bits of the caller): the id in the low
/// [`GO_STACK_ID_BITS`], the tgid in the next [`STACK_TGID_BITS`], and in the rest the low bits
/// of the direct caller's return address where an entry probe added one (0: none). The runtime
/// restores the caller's high bits from frame 0, which lies in the same binary.
pub fn stack_parts(value: i64) -> (i64, u32, u64) {
    if value < 0 {
        return (value, 0, 0);
    }
    let value = value as u64;
    let id = value & ((1 << GO_STACK_ID_BITS) - 1);
    let tgid = (value >> GO_STACK_ID_BITS) & ((1 << STACK_TGID_BITS) - 1);
    (
        id as i64,
        tgid as u32,
        value >> (GO_STACK_ID_BITS + STACK_TGID_BITS),
    )
}

/// Bits of the caller a node-wide stack value keeps.
pub const STACK_CALLER_BITS: u32 = 64 - GO_STACK_ID_BITS - STACK_TGID_BITS;

/// A node-wide address value as (low [`ADDR_BITS`] of the address, host tgid). The runtime
/// restores the high bits from the process's mappings (a mapping never spans 4 TiB).
pub fn addr_parts(value: u64) -> (u64, u32) {
    (value & ((1 << ADDR_BITS) - 1), (value >> ADDR_BITS) as u32)
}

/// The value of a [`MapRole::GoProcesses`] entry: where one Go process keeps what `goid`,
/// `goparent` and `gocreator` read. All u64 little-endian at the `GO_PROC_*` offsets; an
/// offset of 0 means the field does not exist in that Go release (`parentGoid` before 1.21).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GoProcFacts {
    pub g_goid: u64,
    pub g_m: u64,
    pub m_curg: u64,
    /// g's TLS slot relative to `fs_base` (negative).
    pub tls_g: i64,
    pub g_parent_goid: u64,
    pub g_gopc: u64,
}

/// Bytes of the file name a [`EventSpec::ProcessExec`] event carries.
pub const EXEC_FILENAME_BYTES: u32 = 256;

pub const GO_PROC_G_GOID: i16 = 0;
pub const GO_PROC_G_M: i16 = 8;
pub const GO_PROC_M_CURG: i16 = 16;
pub const GO_PROC_TLS_G: i16 = 24;
pub const GO_PROC_G_PARENT_GOID: i16 = 32;
pub const GO_PROC_G_GOPC: i16 = 40;
pub const GO_PROC_FACTS_SIZE: u32 = 48;

impl GoProcFacts {
    pub fn of(rt: &crate::target::GoRuntime) -> GoProcFacts {
        GoProcFacts {
            g_goid: rt.g_goid,
            g_m: rt.g_m,
            m_curg: rt.m_curg,
            tls_g: rt.tls_g,
            g_parent_goid: rt.g_parent_goid.unwrap_or(0),
            g_gopc: rt.g_gopc.unwrap_or(0),
        }
    }

    pub fn to_bytes(self) -> [u8; GO_PROC_FACTS_SIZE as usize] {
        let mut out = [0u8; GO_PROC_FACTS_SIZE as usize];
        let words = [
            self.g_goid,
            self.g_m,
            self.m_curg,
            self.tls_g as u64,
            self.g_parent_goid,
            self.g_gopc,
        ];
        for (chunk, w) in out.chunks_exact_mut(8).zip(words) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        out
    }
}
