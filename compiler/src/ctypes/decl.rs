//! C definitions as written in the program (`struct foo { int a; };`), with spans; built by
//! `syntax::cdecl`, laid out by [`super::CTypes::build`].

use crate::ast::{Expr, Name};
use crate::span::Span;
use serde::Serialize;

/// One top-level definition: a struct/union, an enum or a typedef.
#[derive(Clone, Debug, Serialize)]
pub enum CDef {
    Record(CRecord),
    Enum(CEnum),
    Typedef {
        spec: CSpec,
        declarators: Vec<CDeclarator>,
        span: Span,
    },
}

/// `struct TAG { members }` or `union TAG { … }`; `tag` is `None` for an anonymous one.
#[derive(Clone, Debug, Serialize)]
pub struct CRecord {
    pub union: bool,
    pub tag: Option<Name>,
    pub members: Vec<CMember>,
    /// `__attribute__((…))` before the tag or after the `}`.
    pub attrs: Vec<CAttr>,
    pub span: Span,
}

/// One `__attribute__` item: `packed`, `aligned(8)`, `aligned` (its value: `None`).
#[derive(Clone, Debug, Serialize)]
pub struct CAttr {
    pub name: Name,
    pub value: Option<Expr>,
}

/// `enum TAG { A, B = 5 }`.
#[derive(Clone, Debug, Serialize)]
pub struct CEnum {
    pub tag: Option<Name>,
    pub items: Vec<(Name, Option<Expr>)>,
    pub span: Span,
}

/// `int a, *b[4];`: a type and the names declared with it (none: an anonymous member).
#[derive(Clone, Debug, Serialize)]
pub struct CMember {
    pub spec: CSpec,
    pub declarators: Vec<CDeclarator>,
    pub span: Span,
}

#[derive(Clone, Debug, Serialize)]
pub struct CSpec {
    pub kind: CSpecKind,
    pub span: Span,
}

#[derive(Clone, Debug, Serialize)]
pub enum CSpecKind {
    /// Base type words as written: `unsigned long long`, `char`, `_Bool`.
    Base(Vec<String>),
    /// A typedef name: the program's, or a well-known one (`u32`, `size_t`, `pid_t`).
    Typedef(String),
    /// `struct foo` / `union foo` / `enum foo` by tag (defined elsewhere).
    Tagged {
        kind: Tag,
        name: String,
    },
    /// A definition in place: `struct { … } inner;`, `enum { A } e;`.
    Record(CRecord),
    Enum(CEnum),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Tag {
    Struct,
    Union,
    Enum,
}

impl Tag {
    pub fn word(self) -> &'static str {
        match self {
            Tag::Struct => "struct",
            Tag::Union => "union",
            Tag::Enum => "enum",
        }
    }
}

/// `**name[2][3] : 4`, `(*fn)(int)`, or `: 3` alone (an unnamed bit-field).
#[derive(Clone, Debug, Serialize)]
pub struct CDeclarator {
    pub name: Option<Name>,
    /// `*`s before the name.
    pub pointers: u8,
    /// `(*name)(…)`: a function pointer (the `*`s inside are `pointers`).
    pub function: bool,
    /// Array dimensions, outermost first; `None` is `[]` (a flexible array member).
    pub arrays: Vec<Option<Expr>>,
    pub bits: Option<Expr>,
    pub attrs: Vec<CAttr>,
    pub span: Span,
}
