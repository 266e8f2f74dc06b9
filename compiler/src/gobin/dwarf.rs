//! DWARF (when the binary has it): parameter lists of Go functions, struct layouts, and so runtime
//! offsets such as `runtime.g.goid`. Loaded only when first asked; compressed sections
//! (`SHF_COMPRESSED`, zlib) are inflated by `object`.
//!
//! Go's DWARF: one compile unit per package plus units of types, cross-referenced with
//! `DW_FORM_ref_addr`; Go-specific attributes give the reflect kind (`DW_AT_go_kind`, 0x2900) and
//! the element type of slices/maps/chans (`DW_AT_go_elem`, 0x2902). Results are formal parameters
//! named `~r0`, `~r1`, … with `DW_AT_variable_parameter` = 1.

use std::collections::HashMap;
use std::sync::Arc;

use gimli::{AttributeValue, DwAt, DwTag, UnitOffset, constants as dw};
use object::{Object, ObjectSection};

use super::abi::ArgLocation;
use super::types::{GoField, GoStruct, GoType};
use super::{GoBinError, Result};

type R = gimli::EndianReader<gimli::LittleEndian, Arc<[u8]>>;

const DW_AT_GO_KIND: DwAt = DwAt(0x2900);
const DW_AT_GO_ELEM: DwAt = DwAt(0x2902);
const GO_KIND_CHAN: u64 = 18;
const GO_KIND_MAP: u64 = 21;
const GO_KIND_SLICE: u64 = 23;
const GO_KIND_STRING: u64 = 24;
/// Deep enough for any real by-value nesting; stops cycles in corrupt input.
const MAX_TYPE_DEPTH: u32 = 12;

/// A parameter or result of a Go function, in declaration order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoParam {
    pub name: String,
    pub ty: GoType,
    /// Results are named `~r0`, `~r1`, … unless the source named them.
    pub is_result: bool,
    /// Where the ABI puts it; filled by [`super::abi::assign_abi`].
    pub location: Option<ArgLocation>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamList {
    pub function: String,
    pub params: Vec<GoParam>,
}

impl ParamList {
    pub fn args(&self) -> impl Iterator<Item = &GoParam> {
        self.params.iter().filter(|p| !p.is_result)
    }
    pub fn results(&self) -> impl Iterator<Item = &GoParam> {
        self.params.iter().filter(|p| p.is_result)
    }
    pub fn get(&self, name: &str) -> Option<&GoParam> {
        self.params.iter().find(|p| p.name == name)
    }
}

#[derive(Clone, Copy)]
struct DieRef {
    unit: usize,
    offset: UnitOffset,
}

pub(crate) struct DwarfInfo {
    dwarf: gimli::Dwarf<R>,
    units: Vec<gimli::Unit<R>>,
    /// Section offset where each unit starts (sorted), to resolve `DW_FORM_ref_addr`.
    unit_starts: Vec<usize>,
    functions: HashMap<String, DieRef>,
    types: HashMap<String, DieRef>,
}

fn err(e: gimli::Error) -> GoBinError {
    GoBinError::Dwarf(e.to_string())
}

impl DwarfInfo {
    pub(crate) fn load(data: &[u8]) -> Result<DwarfInfo> {
        let file = object::File::parse(data).map_err(|e| GoBinError::NotElf(e.to_string()))?;
        let load = |id: gimli::SectionId| -> Result<R> {
            let bytes: Arc<[u8]> = match file.section_by_name(id.name()) {
                Some(sec) => {
                    let data = sec.uncompressed_data().map_err(|e| {
                        GoBinError::Dwarf(format!("cannot read {}: {e}", id.name()))
                    })?;
                    Arc::from(&*data)
                }
                None => Arc::from(&[][..]),
            };
            Ok(gimli::EndianReader::new(bytes, gimli::LittleEndian))
        };
        let dwarf = gimli::Dwarf::load(load)?;
        let mut units = Vec::new();
        let mut unit_starts = Vec::new();
        let mut headers = dwarf.units();
        while let Some(header) = headers.next().map_err(err)? {
            let start = header
                .offset()
                .to_debug_info_offset(&header)
                .map(|o| o.0)
                .unwrap_or(0);
            units.push(dwarf.unit(header).map_err(err)?);
            unit_starts.push(start);
        }
        let mut info = DwarfInfo {
            dwarf,
            units,
            unit_starts,
            functions: HashMap::new(),
            types: HashMap::new(),
        };
        info.index()?;
        Ok(info)
    }

    /// Names of top-level subprograms and types.
    fn index(&mut self) -> Result<()> {
        for (ui, unit) in self.units.iter().enumerate() {
            let mut cursor = unit.entries();
            while let Some(die) = cursor.next_dfs().map_err(err)? {
                if die.depth() != 1 {
                    continue;
                }
                let tag = die.tag();
                let is_type = matches!(
                    tag,
                    dw::DW_TAG_structure_type
                        | dw::DW_TAG_typedef
                        | dw::DW_TAG_base_type
                        | dw::DW_TAG_pointer_type
                        | dw::DW_TAG_array_type
                        | dw::DW_TAG_subroutine_type
                );
                if tag != dw::DW_TAG_subprogram && !is_type {
                    continue;
                }
                let Some(name) = self.name_of(unit, die) else {
                    continue;
                };
                let r = DieRef {
                    unit: ui,
                    offset: die.offset(),
                };
                if tag == dw::DW_TAG_subprogram {
                    // Abstract (inlined-only) copies have no code; prefer the concrete one.
                    if die.attr(dw::DW_AT_low_pc).is_some() || !self.functions.contains_key(&name) {
                        self.functions.insert(name, r);
                    }
                } else {
                    self.types.entry(name).or_insert(r);
                }
            }
        }
        Ok(())
    }

    fn name_of(
        &self,
        unit: &gimli::Unit<R>,
        die: &gimli::DebuggingInformationEntry<R>,
    ) -> Option<String> {
        let v = die.attr_value(dw::DW_AT_name)?;
        let s = self.dwarf.attr_string(unit, v).ok()?;
        Some(gimli::Reader::to_string_lossy(&s).ok()?.into_owned())
    }

    fn die(&self, r: DieRef) -> Option<gimli::DebuggingInformationEntry<R>> {
        self.units.get(r.unit)?.entry(r.offset).ok()
    }

    /// The DIE an attribute (`DW_AT_type`, `DW_AT_go_elem`) points at.
    fn target(&self, from: usize, v: AttributeValue<R>) -> Option<DieRef> {
        match v {
            AttributeValue::UnitRef(offset) => Some(DieRef { unit: from, offset }),
            AttributeValue::DebugInfoRef(o) => {
                let ui = self
                    .unit_starts
                    .partition_point(|&s| s <= o.0)
                    .checked_sub(1)?;
                let offset = o.to_unit_offset(&self.units[ui].header)?;
                Some(DieRef { unit: ui, offset })
            }
            _ => None,
        }
    }

    /// Children of a DIE (one level), in order.
    fn children(&self, r: DieRef) -> Vec<gimli::DebuggingInformationEntry<R>> {
        match self.units.get(r.unit) {
            Some(unit) => children(unit, r.offset),
            None => Vec::new(),
        }
    }

    pub(crate) fn params(&self, function: &str) -> Result<ParamList> {
        let r = *self
            .functions
            .get(function)
            .ok_or_else(|| GoBinError::NoFunction(function.to_owned()))?;
        let unit = &self.units[r.unit];
        let mut params = Vec::new();
        for die in self.children(r) {
            if die.tag() != dw::DW_TAG_formal_parameter {
                continue;
            }
            let name = self.name_of(unit, &die).unwrap_or_default();
            let is_result = matches!(
                die.attr_value(dw::DW_AT_variable_parameter),
                Some(AttributeValue::Flag(true))
            ) || name.starts_with("~r");
            let ty = die
                .attr_value(dw::DW_AT_type)
                .and_then(|v| self.target(r.unit, v))
                .map(|t| self.resolve(t, 0))
                .unwrap_or(GoType::Opaque {
                    name: "?".into(),
                    size: 0,
                });
            // Go sometimes emits a result twice (seen: `~r0` of net/http.(*Transport).roundTrip
            // in Go 1.24); a Go signature never repeats a name, so drop exact repeats.
            if params
                .iter()
                .any(|p: &GoParam| p.name == name && p.ty == ty && p.is_result == is_result)
            {
                continue;
            }
            params.push(GoParam {
                name,
                ty,
                is_result,
                location: None,
            });
        }
        Ok(ParamList {
            function: function.to_owned(),
            params,
        })
    }

    pub(crate) fn struct_type(&self, name: &str) -> Option<GoStruct> {
        let r = *self.types.get(name)?;
        match self.resolve(r, 0) {
            GoType::Struct(s) => Some(s),
            _ => None,
        }
    }

    fn udata(die: &gimli::DebuggingInformationEntry<R>, at: DwAt) -> Option<u64> {
        die.attr(at)?.udata_value()
    }

    fn resolve(&self, r: DieRef, depth: u32) -> GoType {
        let Some(die) = self.die(r) else {
            return GoType::Opaque {
                name: "?".into(),
                size: 0,
            };
        };
        let unit = &self.units[r.unit];
        let name = self.name_of(unit, &die).unwrap_or_default();
        let size = Self::udata(&die, dw::DW_AT_byte_size).unwrap_or(0);
        let kind = Self::udata(&die, DW_AT_GO_KIND);
        let target = |at: DwAt| die.attr_value(at).and_then(|v| self.target(r.unit, v));
        if depth > MAX_TYPE_DEPTH {
            return GoType::Opaque { name, size };
        }
        match die.tag() {
            dw::DW_TAG_base_type => {
                let enc = die.attr_value(dw::DW_AT_encoding);
                let bits = u8::try_from(size * 8).unwrap_or(0);
                match enc {
                    Some(AttributeValue::Encoding(dw::DW_ATE_boolean)) => GoType::Bool,
                    Some(AttributeValue::Encoding(dw::DW_ATE_signed)) => {
                        GoType::Int { bits, signed: true }
                    }
                    Some(AttributeValue::Encoding(dw::DW_ATE_unsigned)) => GoType::Int {
                        bits,
                        signed: false,
                    },
                    Some(AttributeValue::Encoding(dw::DW_ATE_float)) => GoType::Float { bits },
                    Some(AttributeValue::Encoding(dw::DW_ATE_complex_float)) => {
                        GoType::Complex { bits }
                    }
                    _ => GoType::Opaque { name, size },
                }
            }
            dw::DW_TAG_pointer_type => match target(dw::DW_AT_type) {
                None => GoType::UnsafePointer,
                Some(t) => GoType::Ptr(Box::new(self.resolve_pointee(t, depth))),
            },
            dw::DW_TAG_structure_type => match kind {
                Some(GO_KIND_STRING) => GoType::String,
                Some(GO_KIND_SLICE) => GoType::Slice(Box::new(
                    target(DW_AT_GO_ELEM)
                        .map(|t| self.resolve_pointee(t, depth))
                        .unwrap_or(GoType::Opaque {
                            name: "?".into(),
                            size: 0,
                        }),
                )),
                _ => GoType::Struct(self.resolve_struct(r, name, size, depth)),
            },
            dw::DW_TAG_typedef => {
                let Some(t) = target(dw::DW_AT_type) else {
                    return GoType::Opaque { name, size };
                };
                match kind {
                    Some(GO_KIND_MAP) => return GoType::Map(name),
                    Some(GO_KIND_CHAN) => return GoType::Chan(name),
                    _ => {}
                }
                let inner = self.die(t);
                let inner_name = inner
                    .as_ref()
                    .and_then(|d| self.name_of(&self.units[t.unit], d));
                match (inner.as_ref().map(|d| d.tag()), inner_name.as_deref()) {
                    (_, Some("runtime.eface")) => GoType::Interface { name, empty: true },
                    (_, Some("runtime.iface")) => GoType::Interface { name, empty: false },
                    (Some(dw::DW_TAG_subroutine_type), _) => GoType::Func(name),
                    _ => self.resolve(t, depth + 1),
                }
            }
            dw::DW_TAG_subroutine_type => GoType::Func(name),
            dw::DW_TAG_array_type => {
                let elem = target(dw::DW_AT_type)
                    .map(|t| self.resolve(t, depth + 1))
                    .unwrap_or(GoType::Opaque {
                        name: "?".into(),
                        size: 0,
                    });
                let count = self
                    .children(r)
                    .iter()
                    .find(|c| c.tag() == dw::DW_TAG_subrange_type)
                    .and_then(|c| Self::udata(c, dw::DW_AT_count));
                let len = count.unwrap_or_else(|| size.checked_div(elem.size()).unwrap_or(0));
                GoType::Array {
                    elem: Box::new(elem),
                    len,
                }
            }
            DwTag(_) => GoType::Opaque { name, size },
        }
    }

    /// Pointees and slice elements: structs by name only, so recursive types stay finite.
    fn resolve_pointee(&self, t: DieRef, depth: u32) -> GoType {
        // Named structs are a typedef of a struct of the same name: keep the typedef's name.
        if let Some(d) = self.die(t)
            && d.tag() == dw::DW_TAG_typedef
            && let Some(inner) = d
                .attr_value(dw::DW_AT_type)
                .and_then(|v| self.target(t.unit, v))
            && let GoType::Named { size, .. } = self.resolve_pointee(inner, depth + 1)
            && depth < MAX_TYPE_DEPTH
        {
            let name = self.name_of(&self.units[t.unit], &d).unwrap_or_default();
            return GoType::Named { name, size };
        }
        if let Some(d) = self.die(t)
            && d.tag() == dw::DW_TAG_structure_type
            && !matches!(
                Self::udata(&d, DW_AT_GO_KIND),
                Some(GO_KIND_STRING | GO_KIND_SLICE)
            )
        {
            let name = self.name_of(&self.units[t.unit], &d).unwrap_or_default();
            let size = Self::udata(&d, dw::DW_AT_byte_size).unwrap_or(0);
            return GoType::Named { name, size };
        }
        self.resolve(t, depth + 1)
    }

    fn resolve_struct(&self, r: DieRef, name: String, size: u64, depth: u32) -> GoStruct {
        let mut fields = Vec::new();
        for m in self.children(r) {
            if m.tag() != dw::DW_TAG_member {
                continue;
            }
            let fname = self.name_of(&self.units[r.unit], &m).unwrap_or_default();
            let offset = match m.attr_value(dw::DW_AT_data_member_location) {
                Some(v) => v.udata_value().unwrap_or(0),
                None => 0,
            };
            let ty = m
                .attr_value(dw::DW_AT_type)
                .and_then(|v| self.target(r.unit, v))
                .map(|t| self.resolve(t, depth + 1))
                .unwrap_or(GoType::Opaque {
                    name: "?".into(),
                    size: 0,
                });
            fields.push(GoField {
                name: fname,
                offset,
                ty,
            });
        }
        GoStruct { name, size, fields }
    }
}

/// The direct children of the DIE at `at` (the Go reader's and the C reader's one walk).
pub(crate) fn children(
    unit: &gimli::Unit<R>,
    at: gimli::UnitOffset,
) -> Vec<gimli::DebuggingInformationEntry<R>> {
    let mut out = Vec::new();
    let Ok(mut cursor) = unit.entries_at_offset(at) else {
        return out;
    };
    let Ok(Some(parent)) = cursor.next_dfs() else {
        return out;
    };
    let base = parent.depth();
    if !parent.has_children() {
        return out;
    }
    while let Ok(Some(die)) = cursor.next_dfs() {
        if die.depth() <= base {
            break;
        }
        if die.depth() == base + 1 {
            out.push(die.clone());
        }
    }
    out
}
