//! A small reader for the kernel's BTF (`/sys/kernel/btf/vmlinux`): type records found in
//! place, and a struct member's byte offset, e.g. `task_struct.thread.fsbase`, which `goid`
//! outside Go code needs (Go keeps g at a slot below `fs_base`: -8 unless cgo C thread locals
//! move it). [`crate::kernel_types`] converts whole structs for the language on top of it. The
//! compiler stays pure: the CLI asks these for what it needs.
//!
//! The file is ~5.5 MB. It is mapped rather than read (sysfs hands it out 4 KiB per `read`, i.e.
//! ~1350 system calls, and a copy on the heap), and searched in place: one pass over the type
//! records keeps only their start offsets, nothing is decoded beyond the members on the path.

use gprobe_compiler::gobin::FileBytes;
use std::borrow::Cow;
use std::fs::File;

const MAGIC: u16 = 0xeb9f;
pub(crate) const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

pub(crate) const KIND_INT: u32 = 1;
pub(crate) const KIND_PTR: u32 = 2;
pub(crate) const KIND_ARRAY: u32 = 3;
pub(crate) const KIND_STRUCT: u32 = 4;
pub(crate) const KIND_UNION: u32 = 5;
pub(crate) const KIND_ENUM: u32 = 6;
pub(crate) const KIND_FWD: u32 = 7;
pub(crate) const KIND_TYPEDEF: u32 = 8;
pub(crate) const KIND_VOLATILE: u32 = 9;
pub(crate) const KIND_CONST: u32 = 10;
pub(crate) const KIND_RESTRICT: u32 = 11;
pub(crate) const KIND_FUNC_PROTO: u32 = 13;
const KIND_VAR: u32 = 14;
const KIND_DATASEC: u32 = 15;
const KIND_DECL_TAG: u32 = 17;
pub(crate) const KIND_TYPE_TAG: u32 = 18;
pub(crate) const KIND_ENUM64: u32 = 19;

/// Size of a type record's fixed part (name_off, info, size/type).
const TYPE_HEADER: usize = 12;
/// Size of one struct/union member (name_off, type, offset).
pub(crate) const MEMBER: usize = 12;

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(off..off + 2)?.try_into().ok()?))
}

pub(crate) fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

/// One type record, borrowed from the type section.
#[derive(Clone, Copy)]
pub(crate) struct Type<'a> {
    pub name_off: u32,
    pub kind: u32,
    pub kind_flag: bool,
    pub vlen: usize,
    /// size (structs) or referenced type (typedef, const, ...).
    pub size_or_type: u32,
    /// The record's variable part (members of a struct/union).
    pub extra: &'a [u8],
}

/// BTF borrowed from a buffer: the type section, the string section, and where each type id's
/// record starts.
pub struct Btf<'a> {
    types: &'a [u8],
    strings: &'a [u8],
    /// Byte offset in `types` of type id `i + 1` (id 0 is `void`).
    starts: Cow<'a, [u32]>,
}

impl<'a> Btf<'a> {
    pub fn parse(data: &'a [u8]) -> Option<Btf<'a>> {
        if u16_at(data, 0)? != MAGIC {
            return None;
        }
        let hdr_len = u32_at(data, 4)? as usize;
        let (type_off, type_len) = (u32_at(data, 8)? as usize, u32_at(data, 12)? as usize);
        let (str_off, str_len) = (u32_at(data, 16)? as usize, u32_at(data, 20)? as usize);
        let types = data.get(hdr_len + type_off..hdr_len + type_off + type_len)?;
        let strings = data.get(hdr_len + str_off..hdr_len + str_off + str_len)?;
        let mut starts = Vec::with_capacity(type_len / 24);
        let mut at = 0;
        while at + TYPE_HEADER <= types.len() {
            starts.push(at as u32);
            let info = u32_at(types, at + 4)?;
            at += TYPE_HEADER + extra_len((info >> 24) & 0x1f, (info & 0xffff) as usize);
        }
        Some(Btf {
            types,
            strings,
            starts: Cow::Owned(starts),
        })
    }

    /// The record starts found by [`Btf::parse`], to view the same data again later without
    /// another pass ([`Btf::with_starts`]).
    pub fn into_starts(self) -> Vec<u32> {
        self.starts.into_owned()
    }

    /// [`Btf::parse`] of `data` whose record starts are known already.
    pub fn with_starts(data: &'a [u8], starts: &'a [u32]) -> Option<Btf<'a>> {
        let hdr_len = u32_at(data, 4)? as usize;
        let (type_off, type_len) = (u32_at(data, 8)? as usize, u32_at(data, 12)? as usize);
        let (str_off, str_len) = (u32_at(data, 16)? as usize, u32_at(data, 20)? as usize);
        Some(Btf {
            types: data.get(hdr_len + type_off..hdr_len + type_off + type_len)?,
            strings: data.get(hdr_len + str_off..hdr_len + str_off + str_len)?,
            starts: Cow::Borrowed(starts),
        })
    }

    /// How many types there are (ids `1..=count`).
    pub(crate) fn count(&self) -> u32 {
        self.starts.len() as u32
    }

    pub(crate) fn get(&self, id: u32) -> Option<Type<'a>> {
        let at = *self.starts.get((id as usize).checked_sub(1)?)? as usize;
        let info = u32_at(self.types, at + 4)?;
        let kind = (info >> 24) & 0x1f;
        let vlen = (info & 0xffff) as usize;
        let body = at + TYPE_HEADER;
        Some(Type {
            name_off: u32_at(self.types, at)?,
            kind,
            kind_flag: info >> 31 == 1,
            vlen,
            size_or_type: u32_at(self.types, at + 8)?,
            extra: self.types.get(body..body + extra_len(kind, vlen))?,
        })
    }

    pub(crate) fn name(&self, off: u32) -> &'a [u8] {
        let rest = self.strings.get(off as usize..).unwrap_or_default();
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        &rest[..end]
    }

    /// Follows typedefs and qualifiers to the underlying type id.
    pub(crate) fn strip(&self, mut id: u32) -> u32 {
        for _ in 0..16 {
            match self.get(id) {
                Some(t)
                    if matches!(
                        t.kind,
                        KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG
                    ) =>
                {
                    id = t.size_or_type
                }
                _ => break,
            }
        }
        id
    }

    /// Byte offset of a member path (`["thread", "fsbase"]`) inside struct `name`. Members of
    /// anonymous structs/unions are searched too, as C allows naming them directly.
    pub fn member_offset(&self, name: &str, path: &[&str]) -> Option<u64> {
        let mut id = (1..=self.starts.len() as u32).find(|&id| {
            self.get(id)
                .is_some_and(|t| t.kind == KIND_STRUCT && self.name(t.name_off) == name.as_bytes())
        })?;
        let mut total = 0;
        for member in path {
            let (bits, ty) = self.find_member(id, member.as_bytes(), 0)?;
            total += bits;
            id = self.strip(ty);
        }
        (total % 8 == 0).then_some(total / 8)
    }

    fn find_member(&self, id: u32, member: &[u8], depth: u32) -> Option<(u64, u32)> {
        let t = self.get(id)?;
        if depth > 8 || !matches!(t.kind, KIND_STRUCT | KIND_UNION) {
            return None;
        }
        for i in 0..t.vlen {
            let m = i * MEMBER;
            let (name_off, ty, offset) = (
                u32_at(t.extra, m)?,
                u32_at(t.extra, m + 4)?,
                u32_at(t.extra, m + 8)?,
            );
            let bits = if t.kind_flag {
                offset & 0xff_ffff
            } else {
                offset
            } as u64;
            let name = self.name(name_off);
            if name == member {
                return Some((bits, ty));
            }
            if name.is_empty()
                && let Some((inner, ty)) = self.find_member(self.strip(ty), member, depth + 1)
            {
                return Some((bits + inner, ty));
            }
        }
        None
    }
}

/// Length of a type record's variable part, by kind and `vlen`.
fn extra_len(kind: u32, vlen: usize) -> usize {
    match kind {
        KIND_INT | KIND_VAR | KIND_DECL_TAG => 4,
        KIND_ARRAY => 12,
        KIND_STRUCT | KIND_UNION | KIND_DATASEC | KIND_ENUM64 => vlen * 12,
        KIND_ENUM | KIND_FUNC_PROTO => vlen * 8,
        _ => 0,
    }
}

/// The file's bytes: a private read-only mapping (kernels since 6.16 allow mapping vmlinux
/// BTF), else read into memory.
pub(crate) fn contents(path: &str) -> std::io::Result<FileBytes> {
    FileBytes::map(&File::open(path)?).or_else(|_| std::fs::read(path).map(FileBytes::Owned))
}

/// `offsetof(struct task_struct, thread.fsbase)` on this kernel, if BTF says.
pub fn task_fsbase_offset() -> Option<u64> {
    let data = contents(VMLINUX).ok()?;
    Btf::parse(&data)?.member_offset("task_struct", &["thread", "fsbase"])
}

/// Where this kernel keeps a task's uprobe single-step state, if BTF says.
pub fn uprobe_task_offsets() -> Option<gprobe_compiler::target::UprobeTaskOffsets> {
    let data = contents(VMLINUX).ok()?;
    let btf = Btf::parse(&data)?;
    Some(gprobe_compiler::target::UprobeTaskOffsets {
        task_utask: btf.member_offset("task_struct", &["utask"])?,
        utask_vaddr: btf.member_offset("uprobe_task", &["vaddr"])?,
        utask_xol_vaddr: btf.member_offset("uprobe_task", &["xol_vaddr"])?,
    })
}

/// Where this kernel keeps an exec'd image's inode and device (see
/// [`gprobe_compiler::target::ExeInodeOffsets`]), if BTF says.
pub fn exe_inode_offsets() -> Option<gprobe_compiler::target::ExeInodeOffsets> {
    let data = contents(VMLINUX).ok()?;
    let btf = Btf::parse(&data)?;
    Some(gprobe_compiler::target::ExeInodeOffsets {
        task_mm: btf.member_offset("task_struct", &["mm"])?,
        mm_exe_file: btf.member_offset("mm_struct", &["exe_file"])?,
        file_inode: btf.member_offset("file", &["f_inode"])?,
        inode_ino: btf.member_offset("inode", &["i_ino"])?,
        inode_sb: btf.member_offset("inode", &["i_sb"])?,
        sb_dev: btf.member_offset("super_block", &["s_dev"])?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uprobe_task_offsets_from_this_kernel() {
        if !std::path::Path::new(VMLINUX).exists() {
            return;
        }
        let o = uprobe_task_offsets().expect("task_struct.utask, uprobe_task.{vaddr,xol_vaddr}");
        // vaddr follows the task's single-step state and the arch's scratch space.
        assert!(o.utask_vaddr > 8 && o.utask_vaddr < 256, "{o:?}");
        assert!(
            o.utask_xol_vaddr > o.utask_vaddr && o.utask_xol_vaddr < 256,
            "{o:?}"
        );
        assert!(o.task_utask > 1000, "{o:?}");
    }

    #[test]
    fn fsbase_offset_from_this_kernel() {
        if !std::path::Path::new(VMLINUX).exists() {
            return;
        }
        let off = task_fsbase_offset().expect("task_struct.thread.fsbase in BTF");
        // thread_struct sits near the end of task_struct: thousands of bytes in.
        assert!(off > 1000 && off < 20000, "{off}");
        // The same answer from a copy read into memory (the fallback when mapping fails).
        let data = std::fs::read(VMLINUX).unwrap();
        let copy = Btf::parse(&data).unwrap();
        assert_eq!(
            copy.member_offset("task_struct", &["thread", "fsbase"]),
            Some(off)
        );
    }

    /// A hand-built BTF: `struct outer { int a; union { int b; struct inner in; }; }` where
    /// `struct inner { int x; int y; }`, reached through a typedef.
    #[test]
    fn member_offsets_through_anonymous_members_and_typedefs() {
        let mut strings = b"\0int\0outer\0a\0b\0in\0inner\0x\0y\0inner_t\0".to_vec();
        let off = |s: &str| {
            let needle = format!("\0{s}\0");
            strings
                .windows(needle.len())
                .position(|w| w == needle.as_bytes())
                .unwrap() as u32
                + 1
        };
        let (int, outer, a, b, inn, inner, x, y, inner_t) = (
            off("int"),
            off("outer"),
            off("a"),
            off("b"),
            off("in"),
            off("inner"),
            off("x"),
            off("y"),
            off("inner_t"),
        );
        let mut types = Vec::new();
        let mut push = |words: &[u32]| {
            for w in words {
                types.extend_from_slice(&w.to_le_bytes());
            }
        };
        let info = |kind: u32, vlen: u32| (kind << 24) | vlen;
        // 1: int
        push(&[int, info(KIND_INT, 0), 4, 32]);
        // 2: struct inner { int x; int y; }
        push(&[inner, info(KIND_STRUCT, 2), 8, x, 1, 0, y, 1, 32]);
        // 3: typedef struct inner inner_t
        push(&[inner_t, info(KIND_TYPEDEF, 0), 2]);
        // 4: union { int b; inner_t in; }
        push(&[0, info(KIND_UNION, 2), 8, b, 1, 0, inn, 3, 0]);
        // 5: struct outer { int a; <anonymous union> at 64 bits; }
        push(&[outer, info(KIND_STRUCT, 2), 16, a, 1, 0, 0, 4, 64]);
        let mut data = Vec::new();
        data.extend_from_slice(&MAGIC.to_le_bytes());
        data.extend_from_slice(&[1, 0]);
        for w in [24u32, 0, types.len() as u32, types.len() as u32] {
            data.extend_from_slice(&w.to_le_bytes());
        }
        data.extend_from_slice(&(strings.len() as u32).to_le_bytes());
        data.append(&mut types);
        data.append(&mut strings);
        let btf = Btf::parse(&data).unwrap();
        assert_eq!(btf.member_offset("outer", &["a"]), Some(0));
        assert_eq!(btf.member_offset("outer", &["b"]), Some(8));
        assert_eq!(btf.member_offset("outer", &["in", "y"]), Some(12));
        assert_eq!(btf.member_offset("outer", &["z"]), None);
        assert_eq!(btf.member_offset("inner", &["y"]), Some(4));
        assert_eq!(btf.member_offset("missing", &["a"]), None);
    }
}
