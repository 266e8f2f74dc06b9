//! Go types as the ABI and field access need them, and their mapping onto [`crate::types::Type`].

use crate::types::{Field, IntType, StructType, Type};

/// A Go type, as far as register assignment and memory reads need to know it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum GoType {
    Bool,
    /// int*, uint*, uintptr.
    Int {
        bits: u8,
        signed: bool,
    },
    Float {
        bits: u8,
    },
    /// complex64 (bits 64) or complex128: two floats.
    Complex {
        bits: u8,
    },
    String,
    Slice(Box<GoType>),
    /// `any`/`interface{}` (empty: (type, data)) or a non-empty interface ((itab, data)).
    Interface {
        name: String,
        empty: bool,
    },
    /// A pointer; pointees that are structs are kept by name (breaks recursive types).
    Ptr(Box<GoType>),
    /// Maps, channels and funcs: one pointer word each.
    Map(String),
    Chan(String),
    Func(String),
    UnsafePointer,
    Array {
        elem: Box<GoType>,
        len: u64,
    },
    Struct(GoStruct),
    /// A struct referenced by name, resolved on demand with [`super::GoBinary::struct_type`].
    Named {
        name: String,
        size: u64,
    },
    /// Something DWARF described that we do not model; kept with its size so layouts stay right.
    Opaque {
        name: String,
        size: u64,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GoStruct {
    pub name: String,
    pub size: u64,
    pub fields: Vec<GoField>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GoField {
    pub name: String,
    pub offset: u64,
    pub ty: GoType,
}

impl GoStruct {
    pub fn field(&self, name: &str) -> Option<&GoField> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The layout in the compiler's shared type vocabulary.
    pub fn to_struct_type(&self) -> StructType {
        StructType {
            name: self.name.clone(),
            size: self.size,
            fields: self
                .fields
                .iter()
                .map(|f| Field {
                    name: f.name.clone(),
                    offset: f.offset,
                    ty: f.ty.to_type(),
                })
                .collect(),
        }
    }
}

impl GoType {
    pub fn size(&self) -> u64 {
        match self {
            GoType::Bool => 1,
            GoType::Int { bits, .. } | GoType::Float { bits } => u64::from(*bits) / 8,
            GoType::Complex { bits } => u64::from(*bits) / 8,
            GoType::String | GoType::Interface { .. } => 16,
            GoType::Slice(_) => 24,
            GoType::Ptr(..)
            | GoType::Map(_)
            | GoType::Chan(_)
            | GoType::Func(_)
            | GoType::UnsafePointer => 8,
            GoType::Array { elem, len } => elem.size().saturating_mul(*len),
            GoType::Struct(s) => s.size,
            GoType::Named { size, .. } | GoType::Opaque { size, .. } => *size,
        }
    }

    pub fn align(&self) -> u64 {
        match self {
            GoType::Bool => 1,
            GoType::Int { bits, .. } | GoType::Float { bits } => u64::from(*bits) / 8,
            GoType::Complex { bits } => u64::from(*bits) / 16,
            GoType::Array { elem, .. } => elem.align(),
            GoType::Struct(s) => s.fields.iter().map(|f| f.ty.align()).max().unwrap_or(1),
            GoType::Named { size, .. } | GoType::Opaque { size, .. } => (*size).clamp(1, 8),
            _ => 8,
        }
    }

    /// Go's spelling, for messages and listings.
    pub fn go_name(&self) -> String {
        match self {
            GoType::Bool => "bool".into(),
            GoType::Int { bits, signed } => format!("{}int{bits}", if *signed { "" } else { "u" }),
            GoType::Float { bits } => format!("float{bits}"),
            GoType::Complex { bits } => format!("complex{bits}"),
            GoType::String => "string".into(),
            GoType::Slice(e) => format!("[]{}", e.go_name()),
            GoType::Interface { name, .. }
            | GoType::Map(name)
            | GoType::Chan(name)
            | GoType::Func(name) => name.clone(),
            GoType::Ptr(t) => format!("*{}", t.go_name()),
            GoType::UnsafePointer => "unsafe.Pointer".into(),
            GoType::Array { elem, len } => format!("[{len}]{}", elem.go_name()),
            GoType::Struct(s) => s.name.clone(),
            GoType::Named { name, .. } | GoType::Opaque { name, .. } => name.clone(),
        }
    }

    /// The compiler's view. Floats and complex numbers have no variant in [`Type`] yet and map
    /// to [`Type::Unknown`]; arrays map to a raw buffer of their size.
    pub fn to_type(&self) -> Type {
        match self {
            GoType::Bool => Type::Int(IntType {
                bits: 8,
                signed: false,
            }),
            GoType::Int { bits, signed } => Type::Int(IntType {
                bits: *bits,
                signed: *signed,
            }),
            GoType::Float { .. } | GoType::Complex { .. } => Type::Unknown,
            GoType::String => Type::GoString,
            GoType::Slice(e) => Type::GoSlice(Box::new(e.to_type())),
            GoType::Interface { .. } => Type::GoInterface,
            GoType::Ptr(t) => Type::Ptr(Box::new(t.to_type()), crate::types::AddrSpace::User),
            GoType::Map(_) | GoType::Chan(_) | GoType::Func(_) | GoType::UnsafePointer => {
                Type::Int(IntType::U64)
            }
            GoType::Array { .. } | GoType::Opaque { .. } => Type::Buf {
                size: u32::try_from(self.size()).unwrap_or(u32::MAX),
            },
            GoType::Struct(s) => Type::Struct(s.to_struct_type()),
            GoType::Named { name, .. } => Type::Named(name.clone()),
        }
    }
}
