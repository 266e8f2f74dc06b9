//! The one builtin table. Every builtin value and function is a `Builtin` variant with one
//! `BuiltinSpec` row: name, parameters, result, which probe types allow it, and a one-line doc.
//! Every phase matches `Builtin` exhaustively, so adding a variant shows every place to update.

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Builtin {
    // Context values (bare identifiers).
    Pid,
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
    // Functions.
    Str,
    Buf,
    Reg,
    Usym,
    Ksym,
    Time,
    Strftime,
    // Statements (called for their effect).
    Printf,
    Print,
    Exit,
    Delete,
    Clear,
    Zero,
    Emit,
    // Aggregations (only as the value assigned to a map).
    Count,
    Sum,
    Avg,
    Min,
    Max,
    Stats,
    Hist,
    Lhist,
}

/// Probe types, as a provider sees them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum ProviderKind {
    Begin,
    End,
    Interval,
    Profile,
    Tracepoint,
    Uprobe,
    Uretprobe,
}

/// A set of `ProviderKind`s as a bit set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Providers(pub u8);

impl Providers {
    pub const ALL: Providers = Providers(0x7f);

    pub const fn of(kinds: &[ProviderKind]) -> Providers {
        let mut bits = 0u8;
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
