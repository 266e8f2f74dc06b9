//! Lays out the program's C definitions as GCC does on x86-64 (System V): each member at the
//! next multiple of its alignment, a struct's size rounded up to its largest alignment (tail
//! padding), union members all at 0, and bit-fields packed into the running storage unit
//! unless they would straddle a boundary of their type's alignment (then they start at the
//! next one); a `:0` bit-field skips to the next boundary; unnamed bit-fields do not align the
//! struct. `tests/c_layout.rs` compares these layouts with gcc's `sizeof`/`offsetof`.

use super::decl::*;
use super::{CType, CTypes, Member, Record, base, eval};
use crate::diag::{Diagnostic, codes};
use crate::span::Span;
use crate::types::IntType;
use std::collections::HashMap;

/// A struct or union the program uses by value but does not define, by key (`struct sock`):
/// its size and alignment from elsewhere (the kernel's BTF), if known there.
pub type External<'a> = &'a dyn Fn(&str) -> Option<(u64, u64)>;

/// Lays out `defs`; the diagnostics point into their text.
pub fn build(defs: &[CDef]) -> (CTypes, Vec<Diagnostic>) {
    build_with(defs, &|_| None)
}

/// [`build`], with the records the program uses by value but leaves to `external` (the
/// kernel's: `struct req { struct sock sk; int n; }`).
pub fn build_with(defs: &[CDef], external: External<'_>) -> (CTypes, Vec<Diagnostic>) {
    let mut b = Builder {
        external: Some(external),
        ..Builder::default()
    };
    for def in defs {
        match def {
            CDef::Record(r) => b.collect_record(r),
            CDef::Enum(e) => {
                b.collect_enum(e);
            }
            CDef::Typedef {
                spec, declarators, ..
            } => {
                b.collect_spec(spec);
                for d in declarators {
                    let Some(name) = &d.name else { continue };
                    if let Some((_, first)) = b.typedef_defs.get(&name.node) {
                        let first = first.name.as_ref().map_or(first.span, |n| n.span);
                        b.errors.push(
                            Diagnostic::error(
                                codes::BAD_C_TYPE,
                                format!("typedef `{}` is defined twice", name.node),
                            )
                            .primary(name.span, "defined again here")
                            .secondary(first, "first defined here"),
                        );
                        continue;
                    }
                    b.typedef_order.push(name.node.clone());
                    b.typedef_defs.insert(name.node.clone(), (spec, d));
                }
            }
        }
    }
    for key in b.out.order.clone() {
        b.layout(&key, None);
    }
    for name in b.typedef_order.clone() {
        if let Some(t) = b.typedef(&name, None) {
            b.out.typedefs.insert(name, t);
        }
    }
    // A member of an anonymous record is checked in it and in its parent: say each once.
    let mut errors: Vec<Diagnostic> = Vec::new();
    for d in b.errors {
        if !errors.contains(&d) {
            errors.push(d);
        }
    }
    (b.out, errors)
}

#[derive(Default)]
struct Builder<'a> {
    out: CTypes,
    errors: Vec<Diagnostic>,
    defs: HashMap<String, &'a CRecord>,
    /// Records being laid out: one met again by value contains itself.
    active: Vec<String>,
    typedef_defs: HashMap<String, (&'a CSpec, &'a CDeclarator)>,
    typedef_order: Vec<String>,
    typedef_active: Vec<String>,
    /// Records that could not be laid out (reported once).
    failed: std::collections::HashSet<String>,
    /// Anonymous enums' integer types by where they start.
    anon_enums: HashMap<u32, IntType>,
    /// Anonymous records' keys (`union (anonymous #2)`) by where they start.
    anon_keys: HashMap<u32, String>,
    /// Records defined elsewhere (the kernel's BTF), asked for once a member holds one by value.
    external: Option<External<'a>>,
}

/// The names an anonymous member brings into its parent, with where they are declared.
fn member_names(r: &CRecord, out: &mut Vec<(String, Span)>) {
    for m in &r.members {
        if m.declarators.is_empty() {
            if let CSpecKind::Record(inner) = &m.spec.kind
                && inner.tag.is_none()
            {
                member_names(inner, out);
            }
            continue;
        }
        for d in &m.declarators {
            if let Some(n) = &d.name {
                out.push((n.node.clone(), n.span));
            }
        }
    }
}

/// The largest member (and so, with few members, struct) laid out: sizes stay far from
/// overflowing in bits, and lengths fit the compiler's `u32` sizes.
const MAX_SIZE: u64 = 1 << 30;

fn round_up(v: u64, to: u64) -> u64 {
    v.div_ceil(to.max(1)) * to.max(1)
}

impl<'a> Builder<'a> {
    /// `struct foo`, `union u`, or an anonymous record's numbered key.
    fn key_of(&mut self, r: &CRecord) -> String {
        let kind = if r.union { "union" } else { "struct" };
        if let Some(tag) = &r.tag {
            return format!("{kind} {}", tag.node);
        }
        let n = self.anon_keys.len() + 1;
        self.anon_keys
            .entry(r.span.start)
            .or_insert_with(|| format!("{kind} (anonymous #{n})"))
            .clone()
    }

    fn collect_record(&mut self, r: &'a CRecord) {
        let key = self.key_of(r);
        if let Some(first) = self.defs.get(&key) {
            let first = first.tag.as_ref().map_or(first.span, |t| t.span);
            let at = r.tag.as_ref().map_or(r.span, |t| t.span);
            self.errors.push(
                Diagnostic::error(codes::BAD_C_TYPE, format!("`{key}` is defined twice"))
                    .primary(at, "defined again here")
                    .secondary(first, "first defined here"),
            );
            return;
        }
        self.defs.insert(key.clone(), r);
        self.out.order.push(key);
        for m in &r.members {
            self.collect_spec(&m.spec);
        }
    }

    fn collect_spec(&mut self, spec: &'a CSpec) {
        match &spec.kind {
            CSpecKind::Record(r) => self.collect_record(r),
            CSpecKind::Enum(e) => {
                let int = self.collect_enum(e);
                self.anon_enums.insert(e.span.start, int);
            }
            _ => {}
        }
    }

    /// Evaluates the enumerators (in order: each may name the ones before) and returns the
    /// enum's integer type: `unsigned int` unless a value is negative, 8 bytes when one does
    /// not fit in 4, as GCC picks.
    fn collect_enum(&mut self, e: &'a CEnum) -> IntType {
        let mut next = 0i64;
        let (mut min, mut max) = (0i64, 0i64);
        for (name, value) in &e.items {
            let v = match value {
                Some(expr) => match eval::constant(expr, &self.out.enumerators) {
                    Ok(v) => v,
                    Err(d) => {
                        self.errors.push(d);
                        next
                    }
                },
                None => next,
            };
            if self.out.enumerators.contains_key(&name.node) {
                self.errors.push(
                    Diagnostic::error(
                        codes::BAD_C_TYPE,
                        format!("enumerator `{}` is defined twice", name.node),
                    )
                    .primary(name.span, "defined again here"),
                );
            } else {
                self.out.enumerators.insert(name.node.clone(), v);
            }
            (min, max) = (min.min(v), max.max(v));
            next = v.wrapping_add(1);
        }
        let int = if min < 0 {
            let bits = if min >= i64::from(i32::MIN) && max <= i64::from(i32::MAX) {
                32
            } else {
                64
            };
            IntType { bits, signed: true }
        } else {
            let bits = if max <= i64::from(u32::MAX) { 32 } else { 64 };
            IntType {
                bits,
                signed: false,
            }
        };
        if let Some(tag) = &e.tag {
            self.out.enums.insert(tag.node.clone(), int);
        }
        int
    }

    /// Lays out record `key` (once); `None` when it cannot be (reported). `used` is the
    /// by-value member that needs it.
    fn layout(&mut self, key: &str, used: Option<Span>) -> Option<(u64, u64)> {
        if let Some(r) = self.out.records.get(key) {
            return Some((r.size, r.align));
        }
        if self.failed.contains(key) {
            return None;
        }
        if self.active.iter().any(|k| k == key) {
            let at = used.unwrap_or_default();
            self.errors.push(
                Diagnostic::error(codes::BAD_C_TYPE, format!("`{key}` contains itself"))
                    .primary(at, "a member of its own type, by value")
                    .help(format!("a pointer can refer to it: `{key} *`")),
            );
            return None;
        }
        if let Some(&found) = self.out.external.get(key) {
            return Some(found);
        }
        let Some(&def) = self.defs.get(key) else {
            if let Some(found) = self.external.and_then(|ext| ext(key)) {
                self.out.external.insert(key.to_string(), found);
                return Some(found);
            }
            self.errors.push(
                Diagnostic::error(
                    codes::BAD_C_TYPE,
                    format!("`{key}` is not defined in the program"),
                )
                .primary(
                    used.unwrap_or_default(),
                    "a member of an undefined type, by value",
                )
                .note("nor does the kernel's BTF have it")
                .help("define it above, or make the member a pointer"),
            );
            return None;
        };
        self.active.push(key.to_string());
        let record = self.members(key, def);
        self.active.pop();
        let Some(record) = record else {
            self.failed.insert(key.to_string());
            return None;
        };
        let found = (record.size, record.align);
        self.out.records.insert(key.to_string(), record);
        Some(found)
    }

    /// `packed` and `aligned(N)` of a record or member (`aligned` alone is 16, the largest
    /// alignment on x86-64, as gcc has it); others are refused rather than ignored, as they
    /// might change the layout.
    fn attrs(&mut self, attrs: &[CAttr]) -> Option<(bool, u64)> {
        let (mut packed, mut aligned) = (false, 1u64);
        for a in attrs {
            match a.name.node.trim_matches('_') {
                "packed" if a.value.is_none() => packed = true,
                "aligned" => {
                    let n = match &a.value {
                        None => 16,
                        Some(e) => match eval::constant(e, &self.out.enumerators) {
                            Ok(n) if n > 0 && (n as u64).is_power_of_two() && n <= 1 << 16 => {
                                n as u64
                            }
                            Ok(n) => {
                                self.errors.push(
                                    Diagnostic::error(
                                        codes::BAD_C_TYPE,
                                        format!("alignment {n} is not a power of two up to 65536"),
                                    )
                                    .primary(e.span, "not an alignment"),
                                );
                                return None;
                            }
                            Err(d) => {
                                self.errors.push(d);
                                return None;
                            }
                        },
                    };
                    aligned = aligned.max(n);
                }
                other => {
                    self.errors.push(
                        Diagnostic::error(
                            codes::BAD_C_TYPE,
                            format!("attribute `{other}` is not known here"),
                        )
                        .primary(a.name.span, "unknown attribute")
                        .note("gprobe lays out `packed` and `aligned(N)`"),
                    );
                    return None;
                }
            }
        }
        Some((packed, aligned))
    }

    fn members(&mut self, key: &str, def: &'a CRecord) -> Option<Record> {
        let mut members = Vec::new();
        let (mut off, mut size_bits, mut align) = (0u64, 0u64, 1u64);
        let mut seen: HashMap<String, Span> = HashMap::new();
        let mut ok = true;
        let (packed, record_aligned) = self.attrs(&def.attrs)?;
        for m in &def.members {
            if m.declarators.is_empty() {
                // Only an anonymous struct/union declares members here (C11).
                let CSpecKind::Record(inner) = &m.spec.kind else {
                    continue;
                };
                if inner.tag.is_some() {
                    continue;
                }
                let inner_key = self.key_of(inner);
                let Some((s, a)) = self.layout(&inner_key, Some(m.spec.span)) else {
                    ok = false;
                    continue;
                };
                let a = if packed { 1 } else { a };
                let at = if def.union { 0 } else { round_up(off, a * 8) };
                let mut names = Vec::new();
                member_names(inner, &mut names);
                for (name, at) in names {
                    self.check_duplicate(&mut seen, &name, at);
                }
                members.push(Member {
                    name: None,
                    offset_bits: at,
                    ty: CType::Record(inner_key),
                    bits: None,
                });
                off = at + s * 8;
                size_bits = size_bits.max(off);
                align = align.max(a);
                continue;
            }
            for d in &m.declarators {
                let Some(ty) = self.resolve(&m.spec, d) else {
                    ok = false;
                    continue;
                };
                if let Some(name) = &d.name {
                    self.check_duplicate(&mut seen, &name.node, name.span);
                }
                let Some((member_packed, member_aligned)) = self.attrs(&d.attrs) else {
                    ok = false;
                    continue;
                };
                let packed = packed || member_packed;
                if let Some(width) = &d.bits {
                    if member_aligned > 1 {
                        self.errors.push(
                            Diagnostic::error(
                                codes::BAD_C_TYPE,
                                "`aligned` on a bit-field is not laid out by gprobe",
                            )
                            .primary(width.span, "a bit-field"),
                        );
                        ok = false;
                        continue;
                    }
                    let Some(member) = self.bit_field(d, &ty, width) else {
                        ok = false;
                        continue;
                    };
                    let (_, a) = self.size_align(&ty).unwrap_or((4, 4));
                    let unit = a * 8;
                    if member == 0 {
                        off = round_up(off, unit);
                        continue;
                    }
                    // Packed bit-fields follow each other bit by bit.
                    let at = if def.union {
                        0
                    } else if !packed && off / unit != (off + member - 1) / unit {
                        round_up(off, unit)
                    } else {
                        off
                    };
                    // It is read as one integer of its type from the byte it starts in.
                    if at % 8 + member > a * 8 {
                        self.errors.push(
                            Diagnostic::error(
                                codes::BAD_C_TYPE,
                                "this packed bit-field spans more bytes than its type has",
                            )
                            .primary(
                                width.span,
                                "gprobe reads a bit-field as one integer of its type",
                            )
                            .help("give it a wider type, or start it at a byte boundary"),
                        );
                        ok = false;
                        continue;
                    }
                    off = at + member;
                    size_bits = size_bits.max(off);
                    if d.name.is_some() && !packed {
                        align = align.max(a);
                    }
                    members.push(Member {
                        name: d.name.as_ref().map(|n| n.node.clone()),
                        offset_bits: at,
                        ty,
                        bits: Some(member as u8),
                    });
                    continue;
                }
                let Some((s, a)) = self.complete(&ty, d) else {
                    ok = false;
                    continue;
                };
                let a = if packed { 1 } else { a }.max(member_aligned);
                let at = if def.union { 0 } else { round_up(off, a * 8) };
                off = at + s * 8;
                size_bits = size_bits.max(off);
                align = align.max(a);
                members.push(Member {
                    name: d.name.as_ref().map(|n| n.node.clone()),
                    offset_bits: at,
                    ty,
                    bits: None,
                });
            }
        }
        if !ok {
            return None;
        }
        let align = align.max(record_aligned);
        Some(Record {
            key: key.to_string(),
            union: def.union,
            size: round_up(size_bits, align * 8) / 8,
            align,
            members,
            named: def.tag.is_some(),
        })
    }

    fn check_duplicate(&mut self, seen: &mut HashMap<String, Span>, name: &str, at: Span) {
        if let Some(first) = seen.get(name) {
            self.errors.push(
                Diagnostic::error(codes::BAD_C_TYPE, format!("duplicate member `{name}`"))
                    .primary(at, "declared again here")
                    .secondary(*first, "first declared here"),
            );
        } else {
            seen.insert(name.to_string(), at);
        }
    }

    /// A bit-field's width, checked against its type.
    fn bit_field(&mut self, d: &CDeclarator, ty: &CType, width: &crate::ast::Expr) -> Option<u64> {
        let shown = d.name.as_ref().map_or("(unnamed)", |n| n.node.as_str());
        let type_bits = match ty {
            CType::Int { int, .. } | CType::Enum(int) => u64::from(int.bits),
            CType::Bool => 1,
            _ => {
                self.errors.push(
                    Diagnostic::error(
                        codes::BAD_C_TYPE,
                        format!("bit-field `{shown}` must have an integer type"),
                    )
                    .primary(d.span, "not an integer"),
                );
                return None;
            }
        };
        let w = match eval::constant(width, &self.out.enumerators) {
            Ok(w) => w,
            Err(e) => {
                self.errors.push(e);
                return None;
            }
        };
        if w < 0 || w as u64 > type_bits {
            self.errors.push(
                Diagnostic::error(
                    codes::BAD_C_TYPE,
                    format!("bit-field `{shown}` is {w} bits wide, its type has {type_bits}"),
                )
                .primary(width.span, format!("at most {type_bits}")),
            );
            return None;
        }
        if w == 0 && d.name.is_some() {
            self.errors.push(
                Diagnostic::error(
                    codes::BAD_C_TYPE,
                    format!("bit-field `{shown}` has width 0"),
                )
                .primary(width.span, "only an unnamed bit-field may be 0 wide"),
            );
            return None;
        }
        Some(w as u64)
    }

    /// The size and alignment of a member's type, which must be complete.
    fn complete(&mut self, ty: &CType, d: &CDeclarator) -> Option<(u64, u64)> {
        let at = d.name.as_ref().map_or(d.span, |n| n.span);
        match ty {
            CType::Void | CType::Func => {
                self.errors.push(
                    Diagnostic::error(codes::BAD_C_TYPE, "a member cannot be `void` or a function")
                        .primary(at, "incomplete type")
                        .help("make it a pointer"),
                );
                None
            }
            _ => {
                // Records by value (also as array elements) are laid out first.
                let mut inner = ty;
                while let CType::Array(elem, _) = inner {
                    inner = elem;
                }
                if let CType::Record(key) = inner {
                    self.layout(&key.clone(), Some(at))?;
                }
                match self.size_align(ty) {
                    Some((size, align)) if size <= MAX_SIZE => Some((size, align)),
                    _ => {
                        self.errors.push(
                            Diagnostic::error(
                                codes::BAD_C_TYPE,
                                format!("member is larger than {MAX_SIZE} bytes"),
                            )
                            .primary(at, "too large")
                            .note("a probe reads at most a few KiB of a struct; declare the part it reads"),
                        );
                        None
                    }
                }
            }
        }
    }

    fn size_align(&self, ty: &CType) -> Option<(u64, u64)> {
        self.out.size_align(ty)
    }

    /// The type `spec` + declarator `d` name.
    fn resolve(&mut self, spec: &CSpec, d: &CDeclarator) -> Option<CType> {
        let mut ty = if d.function {
            CType::Func
        } else {
            self.spec_type(spec)?
        };
        for _ in 0..d.pointers {
            ty = CType::Ptr(Box::new(ty));
        }
        let mut dims = Vec::new();
        for (i, dim) in d.arrays.iter().enumerate() {
            let n = match dim {
                None if i == 0 => 0,
                None => {
                    self.errors.push(
                        Diagnostic::error(
                            codes::BAD_C_TYPE,
                            "only the first array size may be left out",
                        )
                        .primary(d.span, "a size is missing"),
                    );
                    return None;
                }
                Some(e) => match eval::constant(e, &self.out.enumerators) {
                    Ok(n) if n >= 0 => n as u64,
                    Ok(n) => {
                        self.errors.push(
                            Diagnostic::error(
                                codes::BAD_C_TYPE,
                                format!("array size {n} is negative"),
                            )
                            .primary(e.span, "negative"),
                        );
                        return None;
                    }
                    Err(e) => {
                        self.errors.push(e);
                        return None;
                    }
                },
            };
            dims.push(n);
        }
        for n in dims.into_iter().rev() {
            ty = CType::Array(Box::new(ty), n);
        }
        Some(ty)
    }

    fn spec_type(&mut self, spec: &CSpec) -> Option<CType> {
        match &spec.kind {
            CSpecKind::Base(words) => match base::from_words(words) {
                Ok(t) => Some(t),
                Err(why) => {
                    self.errors.push(
                        Diagnostic::error(codes::BAD_C_TYPE, why).primary(spec.span, "not a type"),
                    );
                    None
                }
            },
            CSpecKind::Typedef(name) => self.typedef(name, Some(spec.span)),
            CSpecKind::Tagged {
                kind: Tag::Enum,
                name,
            } => match self.out.enums.get(name) {
                Some(&int) => Some(CType::Enum(int)),
                None => {
                    self.errors.push(
                        Diagnostic::error(codes::BAD_C_TYPE, format!("unknown type `enum {name}`"))
                            .primary(spec.span, "no such enum above"),
                    );
                    None
                }
            },
            CSpecKind::Tagged { kind, name } => {
                Some(CType::Record(format!("{} {name}", kind.word())))
            }
            CSpecKind::Record(r) => Some(CType::Record(self.key_of(r))),
            CSpecKind::Enum(e) => Some(CType::Enum(
                self.anon_enums
                    .get(&e.span.start)
                    .copied()
                    .unwrap_or(IntType::U32),
            )),
        }
    }

    /// Typedef `name`: the program's (resolved once, in order) or a well-known one.
    fn typedef(&mut self, name: &str, used: Option<Span>) -> Option<CType> {
        if let Some(t) = self.out.typedefs.get(name) {
            return Some(t.clone());
        }
        if let Some(&(spec, d)) = self.typedef_defs.get(name) {
            if self.typedef_active.iter().any(|n| n == name) {
                self.errors.push(
                    Diagnostic::error(codes::BAD_C_TYPE, format!("typedef `{name}` names itself"))
                        .primary(used.unwrap_or(d.span), "defined through itself"),
                );
                return None;
            }
            self.typedef_active.push(name.to_string());
            let t = self.resolve(spec, d);
            self.typedef_active.pop();
            let t = t?;
            self.out.typedefs.insert(name.to_string(), t.clone());
            return Some(t);
        }
        if let Some(t) = base::typedef(name) {
            return Some(t);
        }
        let known = self
            .typedef_defs
            .keys()
            .map(String::as_str)
            .chain(base::TYPEDEFS.iter().map(|(n, ..)| *n))
            .chain(["char", "short", "int", "long", "unsigned", "signed", "bool"]);
        let nearest = crate::names::nearest(name, known, 3);
        let mut d = Diagnostic::error(codes::BAD_C_TYPE, format!("unknown type name `{name}`"))
            .primary(used.unwrap_or_default(), "not a type");
        if !nearest.is_empty() {
            d = d.help(format!("nearest type names: {}", nearest.join(", ")));
        }
        self.errors.push(d);
        None
    }
}
