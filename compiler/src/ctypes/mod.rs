//! C types defined in the program (`struct`, `union`, `enum`, `typedef` among the probes), laid
//! out by the x86-64 System V rules GCC follows ([`layout`]), and turned into the compiler's
//! [`Type`]s for casts, `sizeof`, `offsetof` and `.`/`->`. The program's definitions win over
//! the kernel's BTF for the same name, as in bpftrace.

pub mod base;
pub mod decl;
mod eval;
mod layout;

use crate::types::{AddrSpace, Field, IntType, StructType, Type};
use serde::Serialize;
use std::collections::BTreeMap;

/// A C type, before it becomes a [`Type`]: enough to size and align it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum CType {
    /// `char` is the plain C `char` (its arrays are strings).
    Int {
        int: IntType,
        char: bool,
    },
    Bool,
    /// `float`, `double`, `long double`: sized, read as bytes.
    Float(u8),
    Void,
    Ptr(Box<CType>),
    Array(Box<CType>, u64),
    /// A struct or union by its key in [`CTypes`]: `struct foo`, `union u`, or an anonymous
    /// one's `struct (anonymous at N)`.
    Record(String),
    Enum(IntType),
    /// A function: only behind a pointer.
    Func,
}

/// A laid-out struct or union.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Record {
    /// `struct foo`, `union u`, `struct (anonymous at 12)`.
    pub key: String,
    pub union: bool,
    pub size: u64,
    pub align: u64,
    pub members: Vec<Member>,
    /// Named by a tag (anonymous records are laid out inside their parent).
    pub named: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Member {
    /// `None`: an anonymous struct/union (its members are reached directly) or an unnamed
    /// bit-field (padding).
    pub name: Option<String>,
    pub offset_bits: u64,
    pub ty: CType,
    /// A bit-field's width.
    pub bits: Option<u8>,
}

/// Everything the program defined, laid out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CTypes {
    pub records: BTreeMap<String, Record>,
    /// In definition order, for the dump.
    pub order: Vec<String>,
    pub typedefs: BTreeMap<String, CType>,
    pub enumerators: BTreeMap<String, i64>,
    /// `enum TAG` → its integer type.
    pub enums: BTreeMap<String, IntType>,
    /// Kernel structs the program's records hold by value (`struct sock`): size and alignment
    /// from BTF; their members are read as the kernel's (`Type::Named`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub external: BTreeMap<String, (u64, u64)>,
}

pub use layout::{External, build, build_with};

impl CTypes {
    pub fn is_empty(&self) -> bool {
        self.records.is_empty() && self.typedefs.is_empty() && self.enums.is_empty()
    }

    /// The value of enumerator `name`.
    pub fn enumerator(&self, name: &str) -> Option<i64> {
        self.enumerators.get(name).copied()
    }

    /// The type a cast or `sizeof` names: `struct foo` (defined here), `enum color`, base
    /// words (`unsigned int`), a typedef of the program or a well-known one (`u32`, `size_t`).
    pub fn lookup(&self, name: &str) -> Option<CType> {
        if let Some(tag) = name.strip_prefix("enum ") {
            return self.enums.get(tag).map(|&i| CType::Enum(i));
        }
        if name.starts_with("struct ") || name.starts_with("union ") {
            return self
                .records
                .contains_key(name)
                .then(|| CType::Record(name.to_string()));
        }
        if let Some(t) = self.typedefs.get(name) {
            return Some(t.clone());
        }
        if let Some(t) = base::typedef(name) {
            return Some(t);
        }
        let words: Vec<String> = name.split(' ').map(str::to_string).collect();
        if words.iter().all(|w| is_base_word(w)) {
            return base::from_words(&words).ok();
        }
        None
    }

    /// A struct or union of the program by key (`struct foo`), as the checker reads it.
    pub fn struct_type(&self, key: &str) -> Option<StructType> {
        let r = self.records.get(key)?;
        let mut fields = Vec::new();
        self.flatten(r, 0, &mut fields);
        let name = match key.strip_prefix("struct ") {
            Some(tag) => tag.to_string(),
            None => key.to_string(),
        };
        Some(StructType {
            name,
            size: r.size,
            fields,
        })
    }

    /// The record key a typedef stands for (`foo_t` → `struct foo`), for `offsetof(foo_t, a)`.
    pub fn record_key(&self, name: &str) -> Option<String> {
        match self.lookup(name)? {
            CType::Record(key) => Some(key),
            _ => None,
        }
    }

    fn flatten(&self, r: &Record, base_bits: u64, out: &mut Vec<Field>) {
        for m in &r.members {
            let at = base_bits + m.offset_bits;
            match (&m.name, &m.ty) {
                (None, CType::Record(key)) if m.bits.is_none() => {
                    if let Some(inner) = self.records.get(key) {
                        self.flatten(inner, at, out);
                    }
                }
                (None, _) => {} // padding bit-field
                (Some(name), ty) => {
                    let ty = match m.bits {
                        Some(bits) => Type::BitField {
                            int: integer_of(ty).unwrap_or(IntType::U32),
                            shift: (at % 8) as u8,
                            bits,
                        },
                        None => self.value_type(ty),
                    };
                    out.push(Field {
                        name: name.clone(),
                        offset: at / 8,
                        ty,
                    });
                }
            }
        }
    }

    /// A value of C type `t` in memory as the compiler's type: structs inline, `char` arrays
    /// strings, pointers in the probe's address space (user memory in a uprobe).
    pub fn value_type(&self, t: &CType) -> Type {
        match t {
            CType::Int { int, .. } | CType::Enum(int) => Type::Int(*int),
            CType::Bool | CType::Void | CType::Func => Type::Int(IntType {
                bits: 8,
                signed: false,
            }),
            CType::Float(n) => Type::Buf {
                size: u32::from(*n),
            },
            CType::Ptr(inner) => Type::Ptr(Box::new(self.pointee(inner)), AddrSpace::Default),
            CType::Array(elem, len) => match **elem {
                CType::Int { char: true, .. } => Type::Str { size: *len as u32 },
                ref elem => Type::Array {
                    elem: Box::new(self.value_type(elem)),
                    len: *len as u32,
                },
            },
            CType::Record(key) => match self.struct_type(key) {
                Some(s) => Type::Struct(s),
                // A kernel struct by value (`external`), or one behind a pointer (`pointee`):
                // resolved by name when read through.
                None => Type::Named(key.clone()),
            },
        }
    }

    /// What a pointer points to: a named record by name (resolved when read through, which
    /// breaks recursive types; a record the program does not define may be the kernel's).
    fn pointee(&self, t: &CType) -> Type {
        match t {
            CType::Record(key) if self.records.get(key).is_none_or(|r| r.named) => {
                Type::Named(key.clone())
            }
            other => self.value_type(other),
        }
    }

    /// `sizeof` of a C type (`None`: an incomplete record, a function).
    pub fn size_of(&self, t: &CType) -> Option<u64> {
        self.size_align(t).map(|(s, _)| s)
    }

    fn size_align(&self, t: &CType) -> Option<(u64, u64)> {
        Some(match t {
            CType::Int { int, .. } | CType::Enum(int) => {
                let n = u64::from(int.bits / 8);
                (n, n)
            }
            CType::Bool => (1, 1),
            CType::Void => (1, 1),
            CType::Float(n) => (u64::from(*n), u64::from(*n)),
            CType::Ptr(_) => (8, 8),
            CType::Array(elem, len) => {
                let (s, a) = self.size_align(elem)?;
                (s.checked_mul(*len)?, a)
            }
            CType::Record(key) => match self.records.get(key) {
                Some(r) => (r.size, r.align),
                None => *self.external.get(key)?,
            },
            CType::Func => return None,
        })
    }
}

fn integer_of(t: &CType) -> Option<IntType> {
    match t {
        CType::Int { int, .. } | CType::Enum(int) => Some(*int),
        CType::Bool => Some(IntType {
            bits: 8,
            signed: false,
        }),
        _ => None,
    }
}

pub fn is_base_word(w: &str) -> bool {
    matches!(
        w,
        "unsigned"
            | "signed"
            | "char"
            | "short"
            | "int"
            | "long"
            | "float"
            | "double"
            | "_Bool"
            | "bool"
            | "void"
    )
}
