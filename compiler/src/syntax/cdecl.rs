//! Pest pairs of the C definitions (`c_def` in the grammar) → [`crate::ctypes::decl`] nodes.
//! Constant expressions (array sizes, bit widths, enumerator values) stay expressions: the
//! layout evaluates them, as enumerators may name earlier ones.

use super::Rule;
use super::build::{Builder, span_of};
use crate::ast::Name;
use crate::ctypes::decl::*;
use crate::span::Spanned;
use pest::iterators::Pair;

impl Builder {
    pub(super) fn c_def(&mut self, pair: Pair<Rule>) -> Option<CDef> {
        let inner = pair.into_inner().find(|p| p.as_rule() != Rule::c_semi)?;
        Some(match inner.as_rule() {
            Rule::c_record => CDef::Record(self.c_record(inner)),
            Rule::c_enum => CDef::Enum(self.c_enum(inner)),
            _ => {
                let span = span_of(&inner);
                let mut parts = inner
                    .into_inner()
                    .filter(|p| p.as_rule() != Rule::kw_typedef);
                let spec = self.c_spec(parts.next()?);
                let declarators = parts.map(|d| self.c_declarator(d)).collect();
                CDef::Typedef {
                    spec,
                    declarators,
                    span,
                }
            }
        })
    }

    fn c_record(&mut self, pair: Pair<Rule>) -> CRecord {
        let span = span_of(&pair);
        let mut record = CRecord {
            union: false,
            tag: None,
            members: Vec::new(),
            attrs: Vec::new(),
            span,
        };
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::c_record_kw => record.union = p.as_str() == "union",
                Rule::c_attr => self.c_attrs(p, &mut record.attrs),
                Rule::ident => record.tag = Some(name(&p)),
                Rule::c_member => {
                    let span = span_of(&p);
                    let mut parts = p.into_inner().filter(|p| p.as_rule() != Rule::c_semi);
                    let Some(spec) = parts.next() else { continue };
                    let spec = self.c_spec(spec);
                    let declarators = parts.map(|d| self.c_declarator(d)).collect();
                    record.members.push(CMember {
                        spec,
                        declarators,
                        span,
                    });
                }
                _ => {}
            }
        }
        record
    }

    fn c_enum(&mut self, pair: Pair<Rule>) -> CEnum {
        let span = span_of(&pair);
        let mut e = CEnum {
            tag: None,
            items: Vec::new(),
            span,
        };
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ident => e.tag = Some(name(&p)),
                Rule::c_enumerator => {
                    let mut parts = p.into_inner();
                    let Some(item) = parts.next() else { continue };
                    let value = parts.next().map(|v| self.expr(v));
                    e.items.push((name(&item), value));
                }
                _ => {}
            }
        }
        e
    }

    fn c_spec(&mut self, pair: Pair<Rule>) -> CSpec {
        // The type's own span: the spec's ends after the whitespace that follows.
        let mut span = span_of(&pair);
        let kind = pair
            .into_inner()
            .find(|p| p.as_rule() != Rule::c_qual)
            .inspect(|p| span = span_of(p))
            .map(|p| match p.as_rule() {
                Rule::c_record => CSpecKind::Record(self.c_record(p)),
                Rule::c_enum => CSpecKind::Enum(self.c_enum(p)),
                Rule::c_tagged => {
                    let mut parts = p.into_inner();
                    let kind = match parts.next().map(|k| k.as_str()) {
                        Some("union") => Tag::Union,
                        Some("enum") => Tag::Enum,
                        _ => Tag::Struct,
                    };
                    let name = parts.next().map_or("", |n| n.as_str()).to_string();
                    CSpecKind::Tagged { kind, name }
                }
                Rule::c_base => {
                    CSpecKind::Base(p.into_inner().map(|w| w.as_str().to_string()).collect())
                }
                _ => CSpecKind::Typedef(p.as_str().to_string()),
            })
            .unwrap_or(CSpecKind::Base(vec!["int".into()]));
        CSpec { kind, span }
    }

    fn c_declarator(&mut self, pair: Pair<Rule>) -> CDeclarator {
        let mut d = CDeclarator {
            name: None,
            pointers: 0,
            function: false,
            arrays: Vec::new(),
            bits: None,
            attrs: Vec::new(),
            span: span_of(&pair),
        };
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::c_pointer => d.pointers = d.pointers.saturating_add(1),
                Rule::ident => d.name = Some(name(&p)),
                Rule::c_array => d.arrays.push(p.into_inner().next().map(|e| self.expr(e))),
                Rule::c_bits => d.bits = p.into_inner().next().map(|e| self.expr(e)),
                Rule::c_attr => self.c_attrs(p, &mut d.attrs),
                Rule::c_func_ptr => {
                    d.function = true;
                    // `int *(*fn)(void)`: the `*`s outside are the result's.
                    d.pointers = 0;
                    for q in p.into_inner() {
                        match q.as_rule() {
                            Rule::c_pointer => d.pointers = d.pointers.saturating_add(1),
                            Rule::ident => d.name = Some(name(&q)),
                            Rule::c_array => {
                                d.arrays.push(q.into_inner().next().map(|e| self.expr(e)))
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        d
    }
}

impl Builder {
    fn c_attrs(&mut self, pair: Pair<Rule>, out: &mut Vec<CAttr>) {
        for item in pair
            .into_inner()
            .filter(|p| p.as_rule() == Rule::c_attr_item)
        {
            let mut parts = item.into_inner();
            let Some(n) = parts.next() else { continue };
            let value = parts.next().map(|v| self.expr(v));
            out.push(CAttr {
                name: name(&n),
                value,
            });
        }
    }
}

fn name(pair: &Pair<Rule>) -> Name {
    Spanned::new(pair.as_str().to_string(), span_of(pair))
}
