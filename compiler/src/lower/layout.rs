//! Byte layouts of checked types in map keys, map values and events. Integers are widened to 8
//! bytes and every field starts 8-byte aligned, so the code stores whole registers.

use crate::manifest::{FieldKind, Layout, LayoutField, c_fields, c_kind};
use crate::types::Type;

pub fn align8(n: u32) -> u32 {
    n.div_ceil(8) * 8
}

/// The field kind and byte size a value of `ty` takes, or `None` when it cannot be stored.
pub fn field_kind(ty: &Type) -> Option<(FieldKind, u32)> {
    Some(match ty {
        Type::Int(it) => (
            FieldKind::Int {
                size: 8,
                signed: it.signed,
            },
            8,
        ),
        Type::Ptr(..) => (
            FieldKind::Int {
                size: 8,
                signed: false,
            },
            8,
        ),
        Type::Str { size } => (FieldKind::Str { size: *size }, *size),
        Type::SqlText { size } => (FieldKind::SqlText { size: *size }, *size),
        Type::Buf { size } => (FieldKind::Buf { size: *size }, size + 1),
        Type::Bytes { len } => (
            FieldKind::Bytes {
                len: *len,
                signed: false,
            },
            *len,
        ),
        Type::Stack { kind, limit } => (
            FieldKind::Stack {
                kind: *kind,
                limit: *limit,
            },
            8,
        ),
        Type::Sym { user } => (FieldKind::Sym { user: *user }, 8),
        Type::Coded(code) => (FieldKind::Coded(*code), 8),
        Type::GoCaller => (FieldKind::GoCaller, 8 * crate::types::GOCALLER_FRAMES),
        Type::Inet => (FieldKind::Inet, 24),
        Type::GoPc => (FieldKind::GoPc, 8),
        Type::Rendered(render) => (FieldKind::Rendered(*render), 8),
        Type::Timestamp { format } => (
            FieldKind::Timestamp {
                format: format.clone(),
            },
            8,
        ),
        Type::Tuple(types) => {
            let layout = layout_of(types.iter().map(|t| (None, t)))?;
            let size = layout.size;
            (FieldKind::Tuple(layout), size)
        }
        Type::Record(fields) => {
            let layout = layout_of(fields.iter().map(|(n, t)| (Some(n.clone()), t)))?;
            let size = layout.size;
            (FieldKind::Tuple(layout), size)
        }
        Type::Struct(s) => {
            let size = u32::try_from(s.size).ok()?;
            let fields = c_fields(s)?;
            (FieldKind::CStruct { size, fields }, align8(size))
        }
        Type::Array { .. } => {
            let size = u32::try_from(ty.memory_size()?).ok()?;
            let kind = c_kind(ty)?;
            (FieldKind::CArray { size, kind }, align8(size))
        }
        _ => return None,
    })
}

/// Lays fields out one after another, each 8-byte aligned.
pub fn layout_of<'a>(
    fields: impl IntoIterator<Item = (Option<String>, &'a Type)>,
) -> Option<Layout> {
    let mut layout = Layout::default();
    for (name, ty) in fields {
        let (kind, size) = field_kind(ty)?;
        layout.fields.push(LayoutField {
            name,
            offset: layout.size,
            kind,
        });
        layout.size += align8(size);
    }
    Some(layout)
}

/// The bytes a value of `ty` takes on the stack (8-aligned).
pub fn stack_size(ty: &Type) -> Option<u32> {
    field_kind(ty).map(|(_, size)| align8(size))
}
