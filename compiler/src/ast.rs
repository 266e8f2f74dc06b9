//! The abstract syntax tree. Owned types with a [`Span`] on every node; pest types never get here.
//!
//! The parser fills everything except `Expr::ty` (left [`Type::Unknown`]) and the resolution of
//! names to builtins; the checker (`check`) annotates both in place. Later phases (lowering) may
//! rely on a checked tree: every `Expr::ty` known, every `Ident`/`Call` resolved to a `Builtin`.

use crate::builtins::Builtin;
use crate::span::{Span, Spanned};
use crate::types::Type;
use serde::Serialize;

pub type Name = Spanned<String>;

#[derive(Clone, Debug, Serialize)]
pub struct Program {
    pub probes: Vec<Probe>,
    /// The C definitions among the probes (`struct foo { … };`), in source order.
    pub c_defs: Vec<crate::ctypes::decl::CDef>,
    /// Their layouts, filled by the checker.
    pub c_types: crate::ctypes::CTypes,
    pub span: Span,
}

/// `attach, attach /predicate/ { body }`
#[derive(Clone, Debug, Serialize)]
pub struct Probe {
    pub attach: Vec<AttachPoint>,
    pub predicate: Option<Expr>,
    pub body: Block,
    pub span: Span,
}

#[derive(Clone, Debug, Serialize)]
pub struct AttachPoint {
    pub kind: ProbeKind,
    /// The whole attach point as written, e.g. `uprobe:./srv:"net/http.(*conn).serve"`.
    pub span: Span,
    /// Set when this attach point came from a uprobe on a binary pattern (`uprobe:*:FUNC`),
    /// which [`crate::expand::expand_patterns`] rewrites before checking. `None` for the rest.
    #[serde(skip)]
    pub expansion: Option<Expansion>,
}

/// The attach points one pattern uprobe becomes: its pending form first, then one concrete
/// attach point per matching binary (same span, `binary` = that file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expansion {
    /// The pattern itself: checked and lowered like its expansions but never attached, so the
    /// maps and events are the same whichever binaries match (a later compile for a program
    /// started after gprobe must line up with the session's maps).
    Pending {
        /// The pattern made absolute (a relative pattern is relative to the working directory).
        pattern: String,
        /// How many concrete attach points follow.
        matched: usize,
    },
    /// One binary the pattern matched.
    Binary { pattern: String },
}

impl Expansion {
    pub fn pattern(&self) -> &str {
        match self {
            Expansion::Pending { pattern, .. } | Expansion::Binary { pattern } => pattern,
        }
    }

    pub fn is_pending(&self) -> bool {
        matches!(self, Expansion::Pending { .. })
    }
}

/// What a probe attaches to. The parser decides the kind from the provider word; the provider
/// (see `check::providers`) validates the rest and decides which builtins the body may use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum ProbeKind {
    Begin,
    End,
    /// `interval:s:1`, `interval:ms:100`: fires on one CPU every `period_ns`.
    Interval {
        period_ns: u64,
    },
    /// `profile:hz:99` (rate) or `profile:ms:10` (period): fires on every CPU.
    Profile {
        rate: ProfileRate,
    },
    /// `tracepoint:category:name` (either part may hold `*` wildcards).
    Tracepoint {
        category: Name,
        name: Name,
    },
    /// `uprobe:BIN:FUNC` / `uretprobe:BIN:FUNC`; `binary` is `None` when `-p`/`-c` names the
    /// target. `function` is without quotes (`net/http.(*conn).serve`). `glob`: written
    /// unquoted with `*`/`?` wildcards; a quoted name is literal, so the `*` of a Go method on
    /// a pointer (`"net/http.(*conn).serve"`) matches only itself.
    /// `offset` is an optional `+0x10` after the function.
    Uprobe {
        ret: bool,
        binary: Option<Name>,
        function: Name,
        glob: bool,
        offset: Option<u64>,
    },
    /// `kprobe:FUNC[+OFFSET]` / `kretprobe:FUNC`: a kernel function (`FUNC` may be a glob,
    /// `vfs_*`). Compiled as bpftrace does; attaching needs a kernel with kprobes.
    Kprobe {
        ret: bool,
        function: Name,
        glob: bool,
        offset: Option<u64>,
    },
    /// `rawtracepoint:[MODULE:]NAME`: a kernel tracepoint's raw `TP_PROTO` arguments (`argN`,
    /// each a u64), not its tracefs record; `NAME` may be a glob (`sched_*`).
    RawTracepoint {
        name: Name,
        glob: bool,
    },
    /// `software:EVENT:COUNT`: a software perf event (`page-faults`, …; the full name, aliases
    /// resolved) sampled every `count` events on every CPU.
    Software {
        event: Name,
        count: u64,
    },
    /// `hardware:EVENT:COUNT`: a hardware perf event (`cpu-cycles`, …), needs a CPU PMU.
    Hardware {
        event: Name,
        count: u64,
    },
    /// `watchpoint:ADDR:LEN:MODE` / `asyncwatchpoint:…`: a hardware breakpoint on `len` bytes at
    /// `address` in the `-p`/`-c` process; `mode` is `r`, `w`, `rw` or `x`.
    /// `watchpoint:FUNC+argN:LEN:MODE`: at the address the target's C function `FUNC` gets as
    /// argument N, each time it is called with a new one (`address` 0 then).
    Watchpoint {
        address: u64,
        armed_at: Option<(Name, u8)>,
        len: u8,
        mode: Name,
        is_async: bool,
    },
    /// `usdt:BIN:[PROVIDER:]NAME`, or `usdt:[PROVIDER:]NAME` in the `-p`/`-c` target
    /// (`binary` `None`). A two-part `usdt:A:B` names a binary when `A` holds a `/` (or the
    /// probe has no target), else a provider. `provider` and `name` may be globs.
    Usdt {
        binary: Option<Name>,
        provider: Option<Name>,
        name: Name,
    },
    /// A provider this tool recognises but this kernel or gprobe cannot attach (kprobe,
    /// kretprobe, kfunc, usdt, hardware, software, watchpoint, …). Kept so the checker can say
    /// exactly why ("this kernel has no kprobes") with the span.
    Unsupported {
        provider: Name,
        parts: Vec<Name>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ProfileRate {
    Hz(u64),
    PeriodNs(u64),
}

#[derive(Clone, Debug, Serialize)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub span: Span,
}

#[derive(Clone, Debug, Serialize)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Clone, Debug, Serialize)]
pub enum StmtKind {
    /// An expression evaluated for its effect: `printf(...)`, `exit()`, `delete(@m[k])`, …
    Expr(Expr),
    /// `$x = e`, `$x += e`, `$x++` (as `op: Some(Add)`, value literal 1).
    AssignVar {
        var: Name,
        op: Option<BinOp>,
        value: Expr,
    },
    /// `@m[k] = e`, `@m[k] += e`, `@m++`, `@[k] = count()`.
    AssignMap {
        map: MapRef,
        op: Option<BinOp>,
        value: Expr,
    },
    /// `if c { } else if d { } else { }`: `else if` nests as an `If` alone in `els`.
    If {
        cond: Expr,
        then: Block,
        els: Option<Block>,
    },
    /// `unroll(N) { }` with N a literal in 1..=100.
    Unroll {
        count: u64,
        body: Block,
    },
    /// `while (c) { }`: bounded by the checker/lowering (the kernel needs a bound).
    While {
        cond: Expr,
        body: Block,
    },
    Return,
    Block(Block),
}

/// `@name[k1, k2]`; the bare map `@` has name `""`.
#[derive(Clone, Debug, Serialize)]
pub struct MapRef {
    pub name: Name,
    pub keys: Vec<Expr>,
    pub span: Span,
}

#[derive(Clone, Debug, Serialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
    /// Filled by the checker; `Type::Unknown` straight out of the parser.
    pub ty: Type,
}

#[derive(Clone, Debug, Serialize)]
pub enum ExprKind {
    /// Integer literal, after folding durations (`1s` → 1_000_000_000) and underscores.
    Int(u64),
    /// String literal with escapes already processed.
    Str(String),
    /// `$1`..`$N`
    Positional(u32),
    /// `$#`
    PositionalCount,
    /// `$name`
    Var(String),
    Map(MapRef),
    /// A bare identifier (`pid`, `args`, `retval`) before the checker resolves it.
    Ident(String),
    /// `f(args)` before the checker resolves it.
    Call {
        func: Name,
        args: Vec<Expr>,
    },
    /// A resolved builtin: a bare identifier (no args) or a call. Set by the checker.
    Builtin {
        builtin: Builtin,
        args: Vec<Expr>,
    },
    Unary {
        op: UnOp,
        expr: Box<Expr>,
    },
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Ternary {
        cond: Box<Expr>,
        then: Box<Expr>,
        els: Box<Expr>,
    },
    /// `++$i`, `$i--`, `@m[k]++` as a value: `target` is a `Var` or a `Map` (the builder
    /// refuses anything else); `post` yields the old value, else the new one.
    IncDec {
        target: Box<Expr>,
        inc: bool,
        post: bool,
    },
    /// `(uint32)e`, `(int8 *)p`
    Cast {
        to: TypeName,
        expr: Box<Expr>,
    },
    /// `e.name`, or `e->name` when `arrow`.
    Field {
        expr: Box<Expr>,
        name: Name,
        arrow: bool,
    },
    /// `e[i]`
    Index {
        expr: Box<Expr>,
        index: Box<Expr>,
    },
    /// `sizeof(TYPE)`; the checker replaces it with an `Int`.
    SizeofType(TypeName),
    /// `sizeof(expr)`; the checker replaces it with an `Int`.
    SizeofExpr(Box<Expr>),
    /// `offsetof(struct X, a.b)`; the checker replaces it with an `Int`.
    Offsetof {
        ty: TypeName,
        path: Vec<Name>,
    },
    /// `(a, b)`
    Tuple(Vec<Expr>),
    /// `(goid=goid, method=str(...))`: a record with named fields (structured events, OTLP
    /// attributes).
    Record(Vec<(Name, Expr)>),
}

/// A type written in a cast.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TypeName {
    /// `uint32`, `int64`, `u8`, `string`, `struct foo`, ...
    pub name: String,
    /// Number of `*` after the name.
    pub pointer_depth: u8,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum UnOp {
    Neg,
    Not,
    BitNot,
    Deref,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    BitAnd,
    BitOr,
    BitXor,
    Shl,
    Shr,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        use BinOp::*;
        match self {
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            Mod => "%",
            BitAnd => "&",
            BitOr => "|",
            BitXor => "^",
            Shl => "<<",
            Shr => ">>",
            Eq => "==",
            Ne => "!=",
            Lt => "<",
            Le => "<=",
            Gt => ">",
            Ge => ">=",
            And => "&&",
            Or => "||",
        }
    }
}

impl Block {
    /// Calls `f` on every expression of the block, outermost first (nested blocks included).
    pub fn each_expr(&self, f: &mut dyn FnMut(&Expr)) {
        for stmt in &self.stmts {
            match &stmt.kind {
                StmtKind::Expr(e) => e.each(f),
                StmtKind::AssignVar { value, .. } => value.each(f),
                StmtKind::AssignMap { map, value, .. } => {
                    map.keys.iter().for_each(|k| k.each(f));
                    value.each(f);
                }
                StmtKind::If { cond, then, els } => {
                    cond.each(f);
                    then.each_expr(f);
                    if let Some(els) = els {
                        els.each_expr(f);
                    }
                }
                StmtKind::Unroll { body, .. } => body.each_expr(f),
                StmtKind::While { cond, body } => {
                    cond.each(f);
                    body.each_expr(f);
                }
                StmtKind::Return => {}
                StmtKind::Block(b) => b.each_expr(f),
            }
        }
    }
}

impl Expr {
    /// Calls `f` on this expression and every one inside it, outermost first.
    pub fn each(&self, f: &mut dyn FnMut(&Expr)) {
        f(self);
        match &self.kind {
            ExprKind::Int(_)
            | ExprKind::Str(_)
            | ExprKind::Positional(_)
            | ExprKind::PositionalCount
            | ExprKind::Var(_)
            | ExprKind::SizeofType(_)
            | ExprKind::Offsetof { .. }
            | ExprKind::Ident(_) => {}
            ExprKind::Map(m) => m.keys.iter().for_each(|k| k.each(f)),
            ExprKind::Call { args, .. } | ExprKind::Builtin { args, .. } => {
                args.iter().for_each(|a| a.each(f))
            }
            ExprKind::Unary { expr, .. }
            | ExprKind::Cast { expr, .. }
            | ExprKind::SizeofExpr(expr)
            | ExprKind::IncDec { target: expr, .. }
            | ExprKind::Field { expr, .. } => expr.each(f),
            ExprKind::Binary { lhs, rhs, .. } => {
                lhs.each(f);
                rhs.each(f);
            }
            ExprKind::Ternary { cond, then, els } => {
                cond.each(f);
                then.each(f);
                els.each(f);
            }
            ExprKind::Index { expr, index } => {
                expr.each(f);
                index.each(f);
            }
            ExprKind::Tuple(items) => items.iter().for_each(|i| i.each(f)),
            ExprKind::Record(fields) => fields.iter().for_each(|(_, v)| v.each(f)),
        }
    }
}

impl Probe {
    /// Whether the predicate or body names identifier `name` (`args`, `probe`) before checking.
    pub fn mentions(&self, name: &str) -> bool {
        let mut found = false;
        let mut look = |e: &Expr| {
            if matches!(&e.kind, ExprKind::Ident(n) if n == name) {
                found = true;
            }
        };
        if let Some(p) = &self.predicate {
            p.each(&mut look);
        }
        self.body.each_expr(&mut look);
        found
    }
}
