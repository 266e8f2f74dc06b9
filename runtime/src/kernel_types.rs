//! Kernel struct layouts from BTF as the compiler's types (`struct task_struct` for `curtask`,
//! casts like `(struct sock *)arg0`, tracepoint pointer fields), converted lazily one struct
//! per name and cached: vmlinux BTF is ~5.5 MB and ~150k types, and a program reads a few.
//!
//! A struct's members reached by value and pointees stay [`Type::Named`] (the checker asks for
//! them when a program reads through them), which keeps each conversion small and breaks
//! recursive types. Anonymous struct/union members are flattened into their parent, as C lets
//! their members be named directly; bit-fields become [`Type::BitField`]; `char` arrays
//! [`Type::Str`] (bpftrace prints `comm` as a string); enums integers.
//!
//! aya's BTF parser (`aya_obj::btf::Btf`) decodes every type record into owned values up front,
//! which is the work this avoids; the reader in [`crate::btf`] searches the file in place.

use crate::btf::{
    self, Btf, KIND_ARRAY, KIND_CONST, KIND_ENUM, KIND_ENUM64, KIND_FUNC_PROTO, KIND_FWD, KIND_INT,
    KIND_PTR, KIND_RESTRICT, KIND_STRUCT, KIND_TYPE_TAG, KIND_TYPEDEF, KIND_UNION, KIND_VOLATILE,
    MEMBER, u32_at,
};
use gprobe_compiler::gobin::FileBytes;
use gprobe_compiler::types::{AddrSpace, Field, IntType, StructType, Type};
use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;

/// Members of anonymous members, and structs inlined (anonymous or array elements), nest at
/// most this deep.
const MAX_DEPTH: u32 = 16;

/// The kernel's BTF, mapped once, with the types converted so far.
pub struct KernelTypes {
    data: FileBytes,
    starts: Vec<u32>,
    /// `struct NAME`/`union NAME` → type id, built on the first lookup.
    by_name: OnceCell<HashMap<String, u32>>,
    cache: RefCell<HashMap<String, Option<StructType>>>,
    enums: RefCell<HashMap<String, Option<i64>>>,
}

impl KernelTypes {
    /// This kernel's types (`/sys/kernel/btf/vmlinux`); `None` without BTF.
    pub fn open() -> Option<KernelTypes> {
        KernelTypes::from_bytes(btf::contents(btf::VMLINUX).ok()?)
    }

    pub fn from_bytes(data: FileBytes) -> Option<KernelTypes> {
        let starts = Btf::parse(&data)?.into_starts();
        Some(KernelTypes {
            data,
            starts,
            by_name: OnceCell::new(),
            cache: RefCell::default(),
            enums: RefCell::default(),
        })
    }

    fn btf(&self) -> Btf<'_> {
        Btf::with_starts(&self.data, &self.starts).expect("parsed when opened")
    }

    /// The struct or union `name` (`struct task_struct`, `union bpf_attr`), if BTF has it.
    pub fn struct_type(&self, name: &str) -> Option<StructType> {
        if let Some(known) = self.cache.borrow().get(name) {
            return known.clone();
        }
        let btf = self.btf();
        let converted = self
            .by_name
            .get_or_init(|| index(&btf))
            .get(name)
            .and_then(|&id| Converter { btf: &btf }.struct_type(id, 0));
        self.cache
            .borrow_mut()
            .insert(name.to_owned(), converted.clone());
        converted
    }

    /// The value of the enumerator `name` of any kernel enum (`BPF_MAP_TYPE_HASH`).
    pub fn enum_value(&self, name: &str) -> Option<i64> {
        if let Some(known) = self.enums.borrow().get(name) {
            return *known;
        }
        let value = self.find_enumerator(name);
        self.enums.borrow_mut().insert(name.to_owned(), value);
        value
    }

    /// The C types of raw tracepoint `name`'s arguments (`struct pt_regs *`, `long` for
    /// `sys_enter`), from the `btf_trace_NAME` typedef the kernel declares for each tracepoint:
    /// a pointer to a function whose first parameter (`void *__data`) is no argument.
    /// `None` when vmlinux BTF has no such tracepoint (it may be a module's).
    pub fn raw_tracepoint_args(&self, name: &str) -> Option<Vec<String>> {
        let btf = self.btf();
        let wanted = format!("btf_trace_{name}");
        let typedef = (1..=btf.count()).find_map(|id| {
            let t = btf.get(id)?;
            (t.kind == KIND_TYPEDEF && btf.name(t.name_off) == wanted.as_bytes()).then_some(t)
        })?;
        let pointer = btf.get(typedef.size_or_type)?;
        let proto = btf.get(btf.strip(pointer.size_or_type))?;
        if pointer.kind != KIND_PTR || proto.kind != KIND_FUNC_PROTO {
            return None;
        }
        let params = (0..proto.vlen)
            .map(|i| u32_at(proto.extra, i * 8 + 4).map(|ty| c_name(&btf, ty, 0)))
            .collect::<Option<Vec<_>>>()?;
        Some(params.into_iter().skip(1).collect())
    }

    /// One pass over the enums (asked only for names that are not builtins or variables).
    fn find_enumerator(&self, name: &str) -> Option<i64> {
        let btf = self.btf();
        for id in 1..=btf.count() {
            let Some(t) = btf.get(id) else { continue };
            let (width, signed) = match t.kind {
                KIND_ENUM => (8, t.kind_flag),
                KIND_ENUM64 => (12, t.kind_flag),
                _ => continue,
            };
            for i in 0..t.vlen {
                let at = i * width;
                if btf.name(u32_at(t.extra, at)?) != name.as_bytes() {
                    continue;
                }
                let lo = u32_at(t.extra, at + 4)?;
                return Some(if t.kind == KIND_ENUM64 {
                    ((u32_at(t.extra, at + 8)? as u64) << 32 | lo as u64) as i64
                } else if signed {
                    lo as i32 as i64
                } else {
                    lo as i64
                });
            }
        }
        None
    }
}

/// Type `id` as C spells it (`const char *`, `struct sk_buff *`), for listings.
fn c_name(btf: &Btf, id: u32, depth: u32) -> String {
    let Some(t) = btf.get(id).filter(|_| id != 0 && depth < 16) else {
        return "void".into();
    };
    let name = String::from_utf8_lossy(btf.name(t.name_off)).into_owned();
    let inner = || c_name(btf, t.size_or_type, depth + 1);
    match t.kind {
        KIND_INT | KIND_TYPEDEF => name,
        KIND_PTR
            if btf
                .get(btf.strip(t.size_or_type))
                .is_some_and(|p| p.kind == KIND_FUNC_PROTO) =>
        {
            "void (*)()".into()
        }
        KIND_PTR => format!("{} *", inner()),
        KIND_STRUCT => format!("struct {name}"),
        KIND_UNION => format!("union {name}"),
        KIND_ENUM | KIND_ENUM64 => format!("enum {name}"),
        KIND_FWD if t.kind_flag => format!("union {name}"),
        KIND_FWD => format!("struct {name}"),
        KIND_CONST => format!("const {}", inner()),
        KIND_VOLATILE => format!("volatile {}", inner()),
        KIND_RESTRICT | KIND_TYPE_TAG => inner(),
        KIND_ARRAY => u32_at(t.extra, 0).map_or("void".into(), |elem| {
            format!(
                "{}[{}]",
                c_name(btf, elem, depth + 1),
                u32_at(t.extra, 8).unwrap_or(0)
            )
        }),
        KIND_FUNC_PROTO => "void (*)()".into(),
        _ => name,
    }
}

/// Every named struct and union by its C name; the first definition wins.
fn index(btf: &Btf) -> HashMap<String, u32> {
    let mut names = HashMap::new();
    for id in 1..=btf.count() {
        let Some(t) = btf.get(id) else { continue };
        let prefix = match t.kind {
            KIND_STRUCT => "struct ",
            KIND_UNION => "union ",
            _ => continue,
        };
        let name = btf.name(t.name_off);
        if name.is_empty() {
            continue;
        }
        if let Ok(name) = std::str::from_utf8(name) {
            names.entry(format!("{prefix}{name}")).or_insert(id);
        }
    }
    names
}

struct Converter<'b, 'a> {
    btf: &'b Btf<'a>,
}

impl Converter<'_, '_> {
    fn struct_type(&self, id: u32, depth: u32) -> Option<StructType> {
        let t = self.btf.get(id)?;
        if !matches!(t.kind, KIND_STRUCT | KIND_UNION) || depth > MAX_DEPTH {
            return None;
        }
        let mut fields = Vec::new();
        self.members(id, 0, &mut fields, depth)?;
        Some(StructType {
            name: String::from_utf8_lossy(self.btf.name(t.name_off)).into_owned(),
            size: u64::from(t.size_or_type),
            fields,
        })
    }

    /// The members of struct/union `id` at `base_bits` into `out`, anonymous ones flattened.
    fn members(&self, id: u32, base_bits: u64, out: &mut Vec<Field>, depth: u32) -> Option<()> {
        let t = self.btf.get(id)?;
        for i in 0..t.vlen {
            let m = i * MEMBER;
            let (name_off, ty, raw) = (
                u32_at(t.extra, m)?,
                u32_at(t.extra, m + 4)?,
                u32_at(t.extra, m + 8)?,
            );
            // With kind_flag, the offset holds the bit-field size in its top byte.
            let (bit_off, bitfield) = if t.kind_flag {
                (raw & 0xff_ffff, raw >> 24)
            } else {
                (raw, 0)
            };
            let bits = base_bits + u64::from(bit_off);
            let name = self.btf.name(name_off);
            if name.is_empty() {
                let inner = self.btf.strip(ty);
                if depth < MAX_DEPTH
                    && self
                        .btf
                        .get(inner)
                        .is_some_and(|s| matches!(s.kind, KIND_STRUCT | KIND_UNION))
                {
                    self.members(inner, bits, out, depth + 1)?;
                }
                continue;
            }
            let ty = match self.int_bits(ty) {
                // A bit-field: by the member's size, or (older encoders) by the int's own.
                Some((int, own_bits, own_off)) if bitfield != 0 || own_bits < int.bits => {
                    let width = if bitfield != 0 {
                        bitfield
                    } else {
                        own_bits as u32
                    };
                    let at = bits + u64::from(own_off);
                    out.push(Field {
                        name: String::from_utf8_lossy(name).into_owned(),
                        offset: at / 8,
                        ty: Type::BitField {
                            int,
                            shift: (at % 8) as u8,
                            bits: width as u8,
                        },
                    });
                    continue;
                }
                _ => self.value_type(ty, depth),
            };
            out.push(Field {
                name: String::from_utf8_lossy(name).into_owned(),
                offset: bits / 8,
                ty,
            });
        }
        Some(())
    }

    /// An integer or enum type's (integer, encoded bit count, encoded bit offset).
    fn int_bits(&self, id: u32) -> Option<(IntType, u8, u8)> {
        let t = self.btf.get(self.btf.strip(id))?;
        match t.kind {
            KIND_INT => {
                let enc = u32_at(t.extra, 0)?;
                let int = int_of(t.size_or_type, enc >> 24 & 1 == 1)?;
                Some((int, (enc & 0xff) as u8, (enc >> 16 & 0xff) as u8))
            }
            KIND_ENUM | KIND_ENUM64 => {
                let int = int_of(t.size_or_type, t.kind_flag)?;
                Some((int, int.bits, 0))
            }
            _ => None,
        }
    }

    /// A member's type, as a value in memory.
    fn value_type(&self, id: u32, depth: u32) -> Type {
        let id = self.btf.strip(id);
        let Some(t) = self.btf.get(id) else {
            return Type::Int(IntType::U64);
        };
        match t.kind {
            KIND_INT | KIND_ENUM | KIND_ENUM64 => match self.int_bits(id) {
                Some((int, _, _)) => Type::Int(int),
                None => Type::Buf {
                    size: t.size_or_type,
                },
            },
            KIND_PTR => Type::Ptr(
                Box::new(self.pointee(t.size_or_type, depth)),
                AddrSpace::Kernel,
            ),
            KIND_ARRAY => {
                let (elem, len) = (
                    u32_at(t.extra, 0).unwrap_or(0),
                    u32_at(t.extra, 8).unwrap_or(0),
                );
                if self.is_char(elem) {
                    return Type::Str { size: len };
                }
                // Elements are read by index: a struct element's layout goes inline.
                let elem = match self.named(elem) {
                    Some(_) if depth < MAX_DEPTH => {
                        match self.struct_type(self.btf.strip(elem), depth + 1) {
                            Some(s) => Type::Struct(s),
                            None => self.value_type(elem, depth + 1),
                        }
                    }
                    _ => self.value_type(elem, depth + 1),
                };
                Type::Array {
                    elem: Box::new(elem),
                    len,
                }
            }
            KIND_STRUCT | KIND_UNION | KIND_FWD => match self.named(id) {
                Some(name) => Type::Named(name),
                None => match self.struct_type(id, depth + 1) {
                    Some(s) => Type::Struct(s),
                    None => Type::Buf {
                        size: t.size_or_type,
                    },
                },
            },
            // Floats and the rest: bytes.
            _ => Type::Buf {
                size: t.size_or_type.max(1),
            },
        }
    }

    /// What a pointer points to: `void` and functions as bytes.
    fn pointee(&self, id: u32, depth: u32) -> Type {
        let id = self.btf.strip(id);
        match self.btf.get(id) {
            None => Type::Int(IntType {
                bits: 8,
                signed: false,
            }),
            Some(t) if t.kind == KIND_FUNC_PROTO => Type::Int(IntType {
                bits: 8,
                signed: false,
            }),
            Some(_) => self.value_type(id, depth),
        }
    }

    /// `struct NAME`/`union NAME` of a named struct, union or forward declaration.
    fn named(&self, id: u32) -> Option<String> {
        let t = self.btf.get(self.btf.strip(id))?;
        let union = match t.kind {
            KIND_STRUCT => false,
            KIND_UNION => true,
            KIND_FWD => t.kind_flag,
            _ => return None,
        };
        let name = self.btf.name(t.name_off);
        if name.is_empty() {
            return None;
        }
        let kind = if union { "union" } else { "struct" };
        Some(format!("{kind} {}", String::from_utf8_lossy(name)))
    }

    /// A C `char` (what bpftrace prints arrays of as strings).
    fn is_char(&self, id: u32) -> bool {
        let id = self.btf.strip(id);
        self.btf.get(id).is_some_and(|t| {
            t.kind == KIND_INT && t.size_or_type == 1 && self.btf.name(t.name_off) == b"char"
        })
    }
}

fn int_of(size: u32, signed: bool) -> Option<IntType> {
    matches!(size, 1 | 2 | 4 | 8).then(|| IntType {
        bits: (size * 8) as u8,
        signed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kernel() -> Option<KernelTypes> {
        std::path::Path::new(btf::VMLINUX)
            .exists()
            .then(|| KernelTypes::open().expect("vmlinux BTF parses"))
    }

    #[test]
    fn task_struct_from_this_kernel() {
        let Some(k) = kernel() else { return };
        let task = k.struct_type("struct task_struct").expect("task_struct");
        let field = |n: &str| task.fields.iter().find(|f| f.name == n).unwrap().clone();
        assert_eq!(
            field("pid").ty,
            Type::Int(IntType {
                bits: 32,
                signed: true
            })
        );
        assert_eq!(field("comm").ty, Type::Str { size: 16 });
        assert_eq!(
            field("real_parent").ty,
            Type::Ptr(
                Box::new(Type::Named("struct task_struct".into())),
                AddrSpace::Kernel
            )
        );
        assert_eq!(field("se").ty, Type::Named("struct sched_entity".into()));
        // A 1-bit flag, and a member of an anonymous union/struct found by name.
        assert!(matches!(
            field("sched_reset_on_fork").ty,
            Type::BitField { bits: 1, .. }
        ));
        // Same answer as the offset reader.
        let thread = field("thread").offset;
        let fsbase = k
            .struct_type("struct thread_struct")
            .unwrap()
            .fields
            .iter()
            .find(|f| f.name == "fsbase")
            .unwrap()
            .offset;
        assert_eq!(Some(thread + fsbase), crate::btf::task_fsbase_offset());
        // Cached, and unknown names are None.
        assert_eq!(k.struct_type("struct task_struct"), Some(task));
        assert_eq!(k.struct_type("struct no_such_struct_here"), None);
        let sk = k.struct_type("struct sock").unwrap();
        assert!(sk.fields.iter().any(|f| f.name == "__sk_common"));
        let common = k.struct_type("struct sock_common").unwrap();
        // skc_daddr is in an anonymous union of an anonymous struct: flattened.
        assert!(common.fields.iter().any(|f| f.name == "skc_daddr"));
    }

    /// A hand-built BTF: `struct outer { int a; int flag:3 (at bit 33); char name[16];
    /// struct outer *next; union { int x; }; }` and `enum e { E_ONE = 1 }`.
    #[test]
    fn conversion_of_members_bitfields_arrays_pointers_and_anonymous_unions() {
        let mut strings = b"\0int\0char\0outer\0a\0flag\0name\0next\0x\0e\0E_ONE\0".to_vec();
        let off = |s: &str| {
            let needle = format!("\0{s}\0");
            strings
                .windows(needle.len())
                .position(|w| w == needle.as_bytes())
                .unwrap() as u32
                + 1
        };
        let names: Vec<u32> = [
            "int", "char", "outer", "a", "flag", "name", "next", "x", "e", "E_ONE",
        ]
        .iter()
        .map(|n| off(n))
        .collect();
        let [int, char_, outer, a, flag, name, next, x, e, one] = names[..] else {
            unreachable!()
        };
        let mut types = Vec::new();
        let mut push = |words: &[u32]| {
            for w in words {
                types.extend_from_slice(&w.to_le_bytes());
            }
        };
        let info = |kind: u32, vlen: u32| (kind << 24) | vlen;
        // 1: int, signed 32 bits; 2: char, signed 8 bits.
        push(&[int, info(KIND_INT, 0), 4, (1 << 24) | 32]);
        push(&[char_, info(KIND_INT, 0), 1, (1 << 24) | 8]);
        // 3: char[16]
        push(&[0, info(KIND_ARRAY, 0), 0, 2, 1, 16]);
        // 4: struct outer *
        push(&[0, info(KIND_PTR, 0), 6]);
        // 5: union { int x; }
        push(&[0, info(KIND_UNION, 1), 4, x, 1, 0]);
        // 6: struct outer, with bit-field sizes in the member offsets (kind_flag).
        push(&[
            outer,
            (1 << 31) | info(KIND_STRUCT, 5),
            40,
            a,
            1,
            0,
            flag,
            1,
            (3 << 24) | 33,
            name,
            3,
            64,
            next,
            4,
            192,
            0,
            5,
            256,
        ]);
        // 7: enum e { E_ONE = 1 }
        push(&[e, info(KIND_ENUM, 1), 4, one, 1]);
        let mut data = Vec::new();
        data.extend_from_slice(&0xeb9fu16.to_le_bytes());
        data.extend_from_slice(&[1, 0]);
        for w in [24u32, 0, types.len() as u32, types.len() as u32] {
            data.extend_from_slice(&w.to_le_bytes());
        }
        data.extend_from_slice(&(strings.len() as u32).to_le_bytes());
        data.append(&mut types);
        data.append(&mut strings);
        let k = KernelTypes::from_bytes(FileBytes::Owned(data)).unwrap();
        let st = k.struct_type("struct outer").unwrap();
        let i32t = IntType {
            bits: 32,
            signed: true,
        };
        assert_eq!(st.size, 40);
        assert_eq!(
            st.fields,
            vec![
                Field {
                    name: "a".into(),
                    offset: 0,
                    ty: Type::Int(i32t)
                },
                Field {
                    name: "flag".into(),
                    offset: 4,
                    ty: Type::BitField {
                        int: i32t,
                        shift: 1,
                        bits: 3
                    }
                },
                Field {
                    name: "name".into(),
                    offset: 8,
                    ty: Type::Str { size: 16 }
                },
                Field {
                    name: "next".into(),
                    offset: 24,
                    ty: Type::Ptr(
                        Box::new(Type::Named("struct outer".into())),
                        AddrSpace::Kernel
                    )
                },
                Field {
                    name: "x".into(),
                    offset: 32,
                    ty: Type::Int(i32t)
                },
            ]
        );
        assert_eq!(k.struct_type("union outer"), None);
        assert_eq!(k.enum_value("E_ONE"), Some(1));
        assert_eq!(k.enum_value("E_TWO"), None);
    }

    #[test]
    fn enum_values_from_this_kernel() {
        let Some(k) = kernel() else { return };
        assert_eq!(k.enum_value("BPF_MAP_TYPE_HASH"), Some(1));
        assert_eq!(k.enum_value("NO_SUCH_ENUMERATOR_HERE"), None);
    }
}
