//! C DWARF (gcc/clang `-g`): function signatures (`DW_TAG_subprogram` and its
//! `DW_TAG_formal_parameter`s) and struct/union layouts, as the checker's [`Type`]s and as C
//! spellings for `-lv` (`struct outer*`, `const char*`). Pointers to structs stay
//! [`Type::Named`] so recursive types end; the checker resolves them through
//! [`CDwarf::struct_type`].

use std::collections::HashMap;
use std::sync::Arc;

use gimli::{AttributeValue, UnitOffset, constants as dw};
use object::{Object, ObjectSection};

use crate::types::{Field, IntType, StructType, Type};

type R = gimli::EndianReader<gimli::LittleEndian, Arc<[u8]>>;

use crate::gobin::dwarf::children;

/// Stops cycles through typedefs/qualifiers in corrupt input.
const MAX_DEPTH: u32 = 16;

/// One C parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CParam {
    pub name: String,
    pub ty: Type,
    /// As C spells it: `const char*`.
    pub c_type: String,
    pub size: u64,
    /// Passed in an integer register (integers, pointers, enums); false for floats and
    /// structs/unions/arrays by value.
    pub integer: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CFunction {
    pub name: String,
    pub params: Vec<CParam>,
    /// `None` for `void`.
    pub ret: Option<CParam>,
}

#[derive(Clone, Copy)]
struct DieRef {
    unit: usize,
    offset: UnitOffset,
}

pub struct CDwarf {
    dwarf: gimli::Dwarf<R>,
    units: Vec<gimli::Unit<R>>,
    functions: HashMap<String, DieRef>,
    structs: HashMap<String, DieRef>,
}

fn err(e: gimli::Error) -> String {
    format!("DWARF: {e}")
}

impl CDwarf {
    pub(crate) fn load(data: &[u8]) -> Result<CDwarf, String> {
        let file = object::File::parse(data).map_err(|e| format!("not an ELF file: {e}"))?;
        let load = |id: gimli::SectionId| -> Result<R, String> {
            let bytes: Arc<[u8]> = match file.section_by_name(id.name()) {
                Some(sec) => {
                    let data = sec
                        .uncompressed_data()
                        .map_err(|e| format!("cannot read {}: {e}", id.name()))?;
                    Arc::from(&*data)
                }
                None => Arc::from(&[][..]),
            };
            Ok(gimli::EndianReader::new(bytes, gimli::LittleEndian))
        };
        let dwarf = gimli::Dwarf::load(load)?;
        let mut units = Vec::new();
        let mut headers = dwarf.units();
        while let Some(header) = headers.next().map_err(err)? {
            units.push(dwarf.unit(header).map_err(err)?);
        }
        let mut info = CDwarf {
            dwarf,
            units,
            functions: HashMap::new(),
            structs: HashMap::new(),
        };
        info.index()?;
        Ok(info)
    }

    pub fn is_empty(&self) -> bool {
        self.functions.is_empty() && self.structs.is_empty()
    }

    pub fn function_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.functions.keys().cloned().collect();
        names.sort();
        names
    }

    fn index(&mut self) -> Result<(), String> {
        for (ui, unit) in self.units.iter().enumerate() {
            let mut entries = unit.entries();
            while let Some(entry) = entries.next_dfs().map_err(err)? {
                let depth = entry.depth();
                let tag = entry.tag();
                let wanted = (tag == dw::DW_TAG_subprogram && depth == 1)
                    || matches!(
                        tag,
                        dw::DW_TAG_structure_type | dw::DW_TAG_union_type | dw::DW_TAG_typedef
                    );
                if !wanted {
                    continue;
                }
                let declaration = matches!(
                    entry.attr_value(dw::DW_AT_declaration),
                    Some(AttributeValue::Flag(true))
                );
                let Some(name) = self.name_of(unit, entry) else {
                    continue;
                };
                let at = DieRef {
                    unit: ui,
                    offset: entry.offset(),
                };
                if tag == dw::DW_TAG_subprogram {
                    if !declaration {
                        self.functions.entry(name).or_insert(at);
                    }
                } else if tag == dw::DW_TAG_typedef {
                    // `typedef struct {..} name;`: only typedefs of structs name a layout.
                    if let Some(target) = self.type_ref(unit, entry)
                        && let Ok(t) = unit.entry(target)
                        && matches!(t.tag(), dw::DW_TAG_structure_type | dw::DW_TAG_union_type)
                    {
                        self.structs.entry(name).or_insert(DieRef {
                            unit: ui,
                            offset: target,
                        });
                    }
                } else if !declaration {
                    self.structs.entry(name).or_insert(at);
                }
            }
        }
        Ok(())
    }

    fn name_of(
        &self,
        unit: &gimli::Unit<R>,
        entry: &gimli::DebuggingInformationEntry<R>,
    ) -> Option<String> {
        let value = entry.attr_value(dw::DW_AT_name)?;
        let s = self.dwarf.attr_string(unit, value).ok()?;
        Some(gimli::Reader::to_string_lossy(&s).ok()?.into_owned())
    }

    fn type_ref(
        &self,
        _unit: &gimli::Unit<R>,
        entry: &gimli::DebuggingInformationEntry<R>,
    ) -> Option<UnitOffset> {
        match entry.attr_value(dw::DW_AT_type)? {
            AttributeValue::UnitRef(o) => Some(o),
            _ => None,
        }
    }

    fn udata(entry: &gimli::DebuggingInformationEntry<R>, at: gimli::DwAt) -> Option<u64> {
        entry.attr_value(at)?.udata_value()
    }

    pub fn function(&self, name: &str) -> Option<CFunction> {
        let at = *self.functions.get(name)?;
        let unit = &self.units[at.unit];
        let entry = unit.entry(at.offset).ok()?;
        let ret = self
            .type_ref(unit, &entry)
            .map(|t| self.param(unit, String::new(), Some(t)));
        let mut params = Vec::new();
        for e in &children(unit, at.offset) {
            if e.tag() != dw::DW_TAG_formal_parameter {
                continue;
            }
            let name = self
                .name_of(unit, e)
                .unwrap_or_else(|| format!("arg{}", params.len()));
            params.push(self.param(unit, name, self.type_ref(unit, e)));
        }
        Some(CFunction {
            name: name.to_owned(),
            params,
            ret,
        })
    }

    fn param(&self, unit: &gimli::Unit<R>, name: String, ty: Option<UnitOffset>) -> CParam {
        let (ty_, c_type, size, integer) = match ty {
            Some(t) => self.convert(unit, t, 0),
            None => (Type::Int(IntType::U64), "void".into(), 8, true),
        };
        CParam {
            name,
            ty: ty_,
            c_type,
            size,
            integer,
        }
    }

    /// (type, C spelling, size, passed in an integer register).
    fn convert(
        &self,
        unit: &gimli::Unit<R>,
        at: UnitOffset,
        depth: u32,
    ) -> (Type, String, u64, bool) {
        let unknown = (Type::Unknown, "?".to_string(), 0, false);
        if depth > MAX_DEPTH {
            return unknown;
        }
        let Ok(entry) = unit.entry(at) else {
            return unknown;
        };
        let name = self.name_of(unit, &entry);
        let size = Self::udata(&entry, dw::DW_AT_byte_size).unwrap_or(0);
        let inner = self.type_ref(unit, &entry);
        match entry.tag() {
            dw::DW_TAG_base_type => {
                let enc = match entry.attr_value(dw::DW_AT_encoding) {
                    Some(AttributeValue::Encoding(e)) => e,
                    _ => dw::DW_ATE_signed,
                };
                let name = name.unwrap_or_else(|| "?".into());
                match enc {
                    dw::DW_ATE_float | dw::DW_ATE_complex_float => {
                        (Type::Unknown, name, size, false)
                    }
                    _ if size == 0 || size > 8 => {
                        (Type::Buf { size: size as u32 }, name, size, size <= 8)
                    }
                    _ => {
                        let signed = matches!(enc, dw::DW_ATE_signed | dw::DW_ATE_signed_char);
                        (
                            Type::Int(IntType {
                                bits: (size * 8) as u8,
                                signed,
                            }),
                            name,
                            size,
                            true,
                        )
                    }
                }
            }
            dw::DW_TAG_pointer_type | dw::DW_TAG_reference_type => {
                let Some(inner) = inner else {
                    return (Type::Int(IntType::U64), "void*".into(), 8, true);
                };
                let (pointee, spelled, _, _) = self.pointee(unit, inner, depth + 1);
                (
                    Type::Ptr(Box::new(pointee), crate::types::AddrSpace::User),
                    format!("{spelled}*"),
                    8,
                    true,
                )
            }
            dw::DW_TAG_const_type | dw::DW_TAG_volatile_type | dw::DW_TAG_restrict_type => {
                let qual = match entry.tag() {
                    dw::DW_TAG_const_type => "const",
                    dw::DW_TAG_volatile_type => "volatile",
                    _ => "restrict",
                };
                match inner {
                    Some(inner) => {
                        let (t, s, size, int) = self.convert(unit, inner, depth + 1);
                        (t, format!("{qual} {s}"), size, int)
                    }
                    None => (Type::Int(IntType::U64), format!("{qual} void"), 0, false),
                }
            }
            dw::DW_TAG_typedef => match inner {
                Some(inner) => {
                    let (t, _, size, int) = self.convert(unit, inner, depth + 1);
                    (t, name.unwrap_or_else(|| "?".into()), size, int)
                }
                None => unknown,
            },
            dw::DW_TAG_enumeration_type => (
                Type::Int(IntType {
                    bits: (size.clamp(1, 8) * 8) as u8,
                    signed: false,
                }),
                format!("enum {}", name.unwrap_or_default()),
                size,
                true,
            ),
            dw::DW_TAG_structure_type | dw::DW_TAG_union_type => {
                let word = if entry.tag() == dw::DW_TAG_union_type {
                    "union"
                } else {
                    "struct"
                };
                let spelled = format!("{word} {}", name.clone().unwrap_or_default());
                (
                    Type::Struct(self.layout(unit, at, name.unwrap_or_default(), depth)),
                    spelled,
                    size,
                    false,
                )
            }
            dw::DW_TAG_array_type => {
                let (_, elem, esize, _) = match inner {
                    Some(inner) => self.convert(unit, inner, depth + 1),
                    None => unknown,
                };
                let count = self.array_count(unit, at).unwrap_or(0);
                let total = if size != 0 { size } else { esize * count };
                (
                    Type::Buf { size: total as u32 },
                    format!("{elem}[{count}]"),
                    total,
                    false,
                )
            }
            dw::DW_TAG_subroutine_type => (Type::Int(IntType::U64), "void (*)()".into(), 8, true),
            _ => unknown,
        }
    }

    /// A pointer's target: a struct stays named (resolved on use, so cycles end).
    fn pointee(
        &self,
        unit: &gimli::Unit<R>,
        at: UnitOffset,
        depth: u32,
    ) -> (Type, String, u64, bool) {
        let mut cur = at;
        let mut quals = String::new();
        for _ in 0..MAX_DEPTH {
            let Ok(entry) = unit.entry(cur) else { break };
            match entry.tag() {
                dw::DW_TAG_structure_type | dw::DW_TAG_union_type => {
                    let name = self.name_of(unit, &entry).unwrap_or_default();
                    let size = Self::udata(&entry, dw::DW_AT_byte_size).unwrap_or(0);
                    let (_, spelled, _, _) = self.convert(unit, at, depth);
                    let ty = if name.is_empty() {
                        Type::Struct(self.layout(unit, cur, name, depth))
                    } else {
                        Type::Named(name)
                    };
                    let _ = &quals;
                    return (ty, spelled, size, false);
                }
                dw::DW_TAG_typedef | dw::DW_TAG_const_type | dw::DW_TAG_volatile_type => {
                    if entry.tag() == dw::DW_TAG_const_type {
                        quals.push_str("const ");
                    }
                    match self.type_ref(unit, &entry) {
                        Some(next) => cur = next,
                        None => break,
                    }
                }
                _ => break,
            }
        }
        let (t, s, size, int) = self.convert(unit, at, depth);
        // `char*` reads as a string with `str()`; keep element types simple.
        let t = match t {
            Type::Struct(_) | Type::Unknown => Type::Int(IntType {
                bits: 8,
                signed: false,
            }),
            t => t,
        };
        (t, s, size, int)
    }

    fn array_count(&self, unit: &gimli::Unit<R>, at: UnitOffset) -> Option<u64> {
        for e in &children(unit, at) {
            if e.tag() == dw::DW_TAG_subrange_type {
                if let Some(n) = Self::udata(e, dw::DW_AT_count) {
                    return Some(n);
                }
                if let Some(n) = Self::udata(e, dw::DW_AT_upper_bound) {
                    return Some(n + 1);
                }
            }
        }
        None
    }

    fn layout(
        &self,
        unit: &gimli::Unit<R>,
        at: UnitOffset,
        name: String,
        depth: u32,
    ) -> StructType {
        let mut st = StructType {
            name,
            size: 0,
            fields: Vec::new(),
        };
        let Ok(entry) = unit.entry(at) else {
            return st;
        };
        st.size = Self::udata(&entry, dw::DW_AT_byte_size).unwrap_or(0);
        for e in &children(unit, at) {
            if e.tag() != dw::DW_TAG_member || e.attr_value(dw::DW_AT_bit_size).is_some() {
                continue; // bitfields have no byte offset
            }
            let offset = Self::udata(e, dw::DW_AT_data_member_location).unwrap_or(0);
            let Some(ty) = self.type_ref(unit, e) else {
                continue;
            };
            let (ty, _, _, _) = self.convert(unit, ty, depth + 1);
            let Some(name) = self.name_of(unit, e) else {
                continue;
            };
            st.fields.push(Field { name, offset, ty });
        }
        st
    }

    pub fn struct_type(&self, name: &str) -> Option<StructType> {
        let at = *self.structs.get(name)?;
        let unit = &self.units[at.unit];
        Some(self.layout(unit, at.offset, name.to_owned(), 0))
    }
}
