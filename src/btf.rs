//! A small reader for the kernel's BTF (`/sys/kernel/btf/vmlinux`): just enough to find a struct
//! member's byte offset, e.g. `task_struct.thread.fsbase`, which `goid` outside Go code needs
//! (Go keeps g at a slot below `fs_base`, -8 unless cgo's C thread locals move it). The compiler stays pure; the CLI hands it the number.

const MAGIC: u16 = 0xeb9f;

struct Type {
    name_off: u32,
    kind: u32,
    kind_flag: bool,
    /// size (structs) or referenced type (typedef, const, ...).
    size_or_type: u32,
    /// Members of a struct/union: (name_off, type, bit offset).
    members: Vec<(u32, u32, u32)>,
}

const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_TYPEDEF: u32 = 8;
const KIND_VOLATILE: u32 = 9;
const KIND_CONST: u32 = 10;
const KIND_RESTRICT: u32 = 11;
const KIND_TYPE_TAG: u32 = 18;

pub struct Btf {
    types: Vec<Type>,
    strings: Vec<u8>,
}

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(off..off + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

impl Btf {
    pub fn parse(data: &[u8]) -> Option<Btf> {
        if u16_at(data, 0)? != MAGIC {
            return None;
        }
        let hdr_len = u32_at(data, 4)? as usize;
        let (type_off, type_len) = (u32_at(data, 8)? as usize, u32_at(data, 12)? as usize);
        let (str_off, str_len) = (u32_at(data, 16)? as usize, u32_at(data, 20)? as usize);
        let types_data = data.get(hdr_len + type_off..hdr_len + type_off + type_len)?;
        let strings = data
            .get(hdr_len + str_off..hdr_len + str_off + str_len)?
            .to_vec();
        // Type ids start at 1; index 0 is `void`.
        let mut types = vec![Type {
            name_off: 0,
            kind: 0,
            kind_flag: false,
            size_or_type: 0,
            members: Vec::new(),
        }];
        let mut at = 0;
        while at + 12 <= types_data.len() {
            let name_off = u32_at(types_data, at)?;
            let info = u32_at(types_data, at + 4)?;
            let size_or_type = u32_at(types_data, at + 8)?;
            at += 12;
            let vlen = (info & 0xffff) as usize;
            let kind = (info >> 24) & 0x1f;
            let mut members = Vec::new();
            let extra = match kind {
                1 => 4,  // INT
                3 => 12, // ARRAY
                KIND_STRUCT | KIND_UNION => {
                    for i in 0..vlen {
                        let m = at + i * 12;
                        members.push((
                            u32_at(types_data, m)?,
                            u32_at(types_data, m + 4)?,
                            u32_at(types_data, m + 8)?,
                        ));
                    }
                    vlen * 12
                }
                6 => vlen * 8,   // ENUM
                13 => vlen * 8,  // FUNC_PROTO
                14 => 4,         // VAR
                15 => vlen * 12, // DATASEC
                17 => 4,         // DECL_TAG
                19 => vlen * 12, // ENUM64
                _ => 0,
            };
            at += extra;
            types.push(Type {
                name_off,
                kind,
                kind_flag: info >> 31 == 1,
                size_or_type,
                members,
            });
        }
        Some(Btf { types, strings })
    }

    fn name(&self, off: u32) -> &str {
        let rest = self.strings.get(off as usize..).unwrap_or_default();
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        std::str::from_utf8(&rest[..end]).unwrap_or("")
    }

    /// Follows typedefs and qualifiers to the underlying type id.
    fn strip(&self, mut id: u32) -> u32 {
        for _ in 0..16 {
            match self.types.get(id as usize) {
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
        let id = self
            .types
            .iter()
            .position(|t| t.kind == KIND_STRUCT && self.name(t.name_off) == name)?;
        let mut id = id as u32;
        let mut total = 0;
        for member in path {
            let (bits, ty) = self.find_member(id, member, 0)?;
            total += bits;
            id = self.strip(ty);
        }
        (total % 8 == 0).then_some(total / 8)
    }

    fn find_member(&self, id: u32, member: &str, depth: u32) -> Option<(u64, u32)> {
        let t = self.types.get(id as usize)?;
        if depth > 8 || !matches!(t.kind, KIND_STRUCT | KIND_UNION) {
            return None;
        }
        for &(name_off, ty, offset) in &t.members {
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

/// `offsetof(struct task_struct, thread.fsbase)` on this kernel, if BTF says.
pub fn task_fsbase_offset() -> Option<u64> {
    let data = std::fs::read("/sys/kernel/btf/vmlinux").ok()?;
    Btf::parse(&data)?.member_offset("task_struct", &["thread", "fsbase"])
}

#[cfg(test)]
mod tests {
    #[test]
    fn fsbase_offset_from_this_kernel() {
        if !std::path::Path::new("/sys/kernel/btf/vmlinux").exists() {
            return;
        }
        let off = super::task_fsbase_offset().expect("task_struct.thread.fsbase in BTF");
        // thread_struct sits near the end of task_struct: thousands of bytes in.
        assert!(off > 1000 && off < 20000, "{off}");
    }
}
