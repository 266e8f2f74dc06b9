//! Kernel structs a program's C definitions hold by value (`struct req { struct sock sk; int
//! n; }`): their size from BTF, and their alignment, which BTF does not record, as bpftool
//! infers it when it writes `vmlinux.h` (and so as gcc and bpftrace then lay it out): the largest
//! of the members' natural alignments (a bit-field's by its declared type), or 1 when a member
//! sits off its alignment or the size is no multiple of it (a packed struct). A struct the
//! kernel declares packed whose members all happen to sit aligned (`struct ethhdr`) is aligned
//! as `vmlinux.h` has it, not as the kernel does.

use super::Env;
use crate::types::{StructType, Type};

/// How deep nested structs by value are followed for their alignment (kernel structs nest a
/// few levels; a pointer ends the walk).
const DEPTH: u32 = 8;

/// Size and alignment of kernel struct or union `key` (`struct sock`), if BTF has it.
pub(super) fn size_align(env: &dyn Env, key: &str) -> Option<(u64, u64)> {
    let s = lookup(env, key)?;
    let align = struct_align(env, &s, DEPTH);
    Some((s.size, align))
}

/// A kernel struct by C name (`struct NAME`, `union NAME`); Go names (`struct main.T`,
/// `net/url.URL`) are never asked for, which spares a Go-only program opening the kernel's BTF.
pub(super) fn lookup(env: &dyn Env, key: &str) -> Option<StructType> {
    let tag = key
        .strip_prefix("struct ")
        .or_else(|| key.strip_prefix("union "))?;
    if tag.is_empty() || !tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    env.kernel_struct(key)
}

fn struct_align(env: &dyn Env, s: &StructType, depth: u32) -> u64 {
    let mut align = 1;
    for f in &s.fields {
        let a = type_align(env, &f.ty, depth);
        // A bit-field's offset is the byte that holds its first bit, not its storage unit's.
        if !matches!(f.ty, Type::BitField { .. }) && !f.offset.is_multiple_of(a) {
            return 1;
        }
        align = align.max(a);
    }
    if !s.size.is_multiple_of(align) {
        return 1;
    }
    align
}

fn type_align(env: &dyn Env, t: &Type, depth: u32) -> u64 {
    match t {
        Type::Int(i) => u64::from(i.bits / 8).max(1),
        Type::BitField { int, .. } => u64::from(int.bits / 8).max(1),
        // Bytes of a size C aligns to itself: floats, `__int128`.
        Type::Buf {
            size: size @ (2 | 4 | 8 | 16),
        } => u64::from(*size),
        Type::Str { .. } | Type::Buf { .. } | Type::Bytes { .. } => 1,
        Type::Array { elem, .. } => type_align(env, elem, depth),
        Type::Struct(s) if depth > 0 => struct_align(env, s, depth - 1),
        Type::Named(n) if depth > 0 => {
            lookup(env, n).map_or(8, |s| struct_align(env, &s, depth - 1))
        }
        // Pointers, and what the walk no longer follows: a word.
        _ => 8,
    }
}
