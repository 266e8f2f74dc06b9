//! The ELF object aya 0.14 loads (see `shared/ebpf-loading-facts.md`): ET_REL for EM_BPF, one
//! executable section per program with an `STT_FUNC` symbol of the exact size, a legacy `maps`
//! section of `bpf_map_def` records (7 × u32) with one `STT_OBJECT` symbol each, `R_BPF_64_64`
//! relocations with addend 0 on every map load, and `license` = "GPL".

use crate::bpf::{Insn, MapReloc, insn::encode_all};
use crate::manifest::{MapKind, MapSpec};
use object::write::{Object, Relocation, StandardSegment, Symbol, SymbolSection};
use object::{
    Architecture, BinaryFormat, Endianness, RelocationFlags, SectionKind, SymbolFlags, SymbolKind,
    SymbolScope, elf,
};

/// `struct bpf_map_def`: type, key_size, value_size, max_entries, map_flags, id, pinning.
pub const MAP_DEF_SIZE: u64 = 28;

/// One program: its section (`uprobe/p0`), symbol name and code; relocations index `maps`.
pub struct ElfProgram<'a> {
    pub section: &'a str,
    pub name: &'a str,
    pub insns: &'a [Insn],
    pub relocs: &'a [MapReloc],
}

#[derive(Debug, thiserror::Error)]
pub enum ElfError {
    #[error("writing the ELF object: {0}")]
    Write(#[from] object::write::Error),
    #[error("program {program} refers to map #{map}, which does not exist")]
    NoSuchMap { program: String, map: usize },
}

pub fn write_object(programs: &[ElfProgram], maps: &[MapSpec]) -> Result<Vec<u8>, ElfError> {
    let mut obj = Object::new(BinaryFormat::Elf, Architecture::Bpf, Endianness::Little);

    let license = obj.add_section(Vec::new(), b"license".to_vec(), SectionKind::Data);
    obj.append_section_data(license, b"GPL\0", 1);

    // Maps: one bpf_map_def each, named by an STT_OBJECT symbol at its offset. No section at
    // all when there are no maps: aya rejects a `maps` section without symbols.
    let mut map_symbols = Vec::with_capacity(maps.len());
    let mut maps_section = None;
    for map in maps {
        if map.kind == MapKind::Global {
            // A data section: aya makes it a one-entry array whose value is the section.
            let section = obj.add_section(
                Vec::new(),
                map.name.as_bytes().to_vec(),
                SectionKind::UninitializedData,
            );
            let offset = obj.append_section_bss(section, u64::from(map.value.size()), 8);
            map_symbols.push(obj.add_symbol(Symbol {
                name: map.name.as_bytes().to_vec(),
                value: offset,
                size: u64::from(map.value.size()),
                kind: SymbolKind::Data,
                scope: SymbolScope::Compilation,
                weak: false,
                section: SymbolSection::Section(section),
                flags: SymbolFlags::None,
            }));
            continue;
        }
        let maps_section = *maps_section.get_or_insert_with(|| {
            obj.add_section(Vec::new(), b"maps".to_vec(), SectionKind::Data)
        });
        let def = [
            map.kind.bpf_type(),
            map.key.size,
            map.value.size(),
            map.max_entries,
            0, // flags
            0, // id
            0, // pinning
        ];
        let bytes: Vec<u8> = def.iter().flat_map(|v| v.to_le_bytes()).collect();
        let offset = obj.append_section_data(maps_section, &bytes, 4);
        map_symbols.push(obj.add_symbol(Symbol {
            name: map.name.as_bytes().to_vec(),
            value: offset,
            size: MAP_DEF_SIZE,
            kind: SymbolKind::Data,
            scope: SymbolScope::Dynamic,
            weak: false,
            section: SymbolSection::Section(maps_section),
            flags: SymbolFlags::None,
        }));
    }

    for prog in programs {
        let section = obj.add_section(
            obj.segment_name(StandardSegment::Text).to_vec(),
            prog.section.as_bytes().to_vec(),
            SectionKind::Text,
        );
        let code = encode_all(prog.insns);
        let offset = obj.append_section_data(section, &code, 8);
        obj.add_symbol(Symbol {
            name: prog.name.as_bytes().to_vec(),
            value: offset,
            size: code.len() as u64,
            kind: SymbolKind::Text,
            scope: SymbolScope::Dynamic,
            weak: false,
            section: SymbolSection::Section(section),
            flags: SymbolFlags::None,
        });
        for reloc in prog.relocs {
            let symbol = *map_symbols
                .get(reloc.map)
                .ok_or_else(|| ElfError::NoSuchMap {
                    program: prog.name.to_string(),
                    map: reloc.map,
                })?;
            obj.add_relocation(
                section,
                Relocation {
                    offset: offset + reloc.insn as u64 * 8,
                    symbol,
                    // A non-zero addend would be written into the instruction (REL format).
                    addend: 0,
                    flags: RelocationFlags::Elf {
                        r_type: elf::R_BPF_64_64,
                    },
                },
            )?;
        }
    }
    Ok(obj.write()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::{Assembler, Reg, opcode};
    use crate::manifest::{Layout, MapRole, MapValue};
    use crate::types::AggKind;
    use object::{Object as _, ObjectSection, ObjectSymbol, RelocationTarget};

    fn map(name: &str, kind: MapKind, key: u32, value: MapValue) -> MapSpec {
        MapSpec {
            name: name.into(),
            user_name: None,
            role: MapRole::User,
            kind,
            key: Layout {
                size: key,
                fields: vec![],
            },
            value,
            max_entries: 4096,
        }
    }

    #[test]
    fn object_has_sections_symbols_and_relocations() {
        let mut a = Assembler::new();
        a.emit(Insn::mov64_reg(Reg::R6, Reg::R1));
        a.ld_map(Reg::R1, 1);
        a.emit(Insn::mov64_imm(Reg::R0, 0));
        a.emit(Insn::exit());
        let p = a.finish().unwrap();
        let maps = [
            map(
                "events",
                MapKind::RingBuf,
                0,
                MapValue::Plain(Layout::default()),
            ),
            map("m0", MapKind::PerCpuHash, 8, MapValue::Agg(AggKind::Count)),
        ];
        let progs = [
            ElfProgram {
                section: "uprobe/p0",
                name: "p0",
                insns: &p.insns,
                relocs: &p.relocs,
            },
            ElfProgram {
                section: "tracepoint/raw_syscalls/sys_enter",
                name: "p1",
                insns: &p.insns,
                relocs: &p.relocs,
            },
        ];
        let bytes = write_object(&progs, &maps).unwrap();
        let file = object::File::parse(&*bytes).unwrap();
        assert_eq!(file.architecture(), Architecture::Bpf);
        assert_eq!(file.kind(), object::ObjectKind::Relocatable);

        let license = file.section_by_name("license").unwrap();
        assert_eq!(license.data().unwrap(), b"GPL\0");

        let maps_data = file
            .section_by_name("maps")
            .unwrap()
            .data()
            .unwrap()
            .to_vec();
        assert_eq!(maps_data.len(), 56);
        let word = |i: usize| u32::from_le_bytes(maps_data[i * 4..i * 4 + 4].try_into().unwrap());
        assert_eq!((word(7), word(8), word(9), word(10)), (5, 8, 8, 4096));

        let m0 = file.symbols().find(|s| s.name() == Ok("m0")).unwrap();
        assert_eq!(
            (m0.address(), m0.size(), m0.kind()),
            (28, 28, object::SymbolKind::Data)
        );

        let p0 = file.symbols().find(|s| s.name() == Ok("p0")).unwrap();
        assert_eq!(
            (p0.address(), p0.size(), p0.kind()),
            (0, 40, object::SymbolKind::Text)
        );

        let text = file.section_by_name("uprobe/p0").unwrap();
        let relocs: Vec<_> = text.relocations().collect();
        assert_eq!(relocs.len(), 1);
        let (offset, reloc) = &relocs[0];
        assert_eq!(*offset, 8);
        assert_eq!(
            reloc.flags(),
            RelocationFlags::Elf {
                r_type: elf::R_BPF_64_64
            }
        );
        assert_eq!(reloc.addend(), 0);
        let RelocationTarget::Symbol(sym) = reloc.target() else {
            panic!("not a symbol target")
        };
        assert_eq!(file.symbol_by_index(sym).unwrap().name(), Ok("m0"));
        // The instruction bytes survive the relocation untouched.
        let code = text.data().unwrap();
        assert_eq!(code[8], opcode::LD_IMM64);
        assert_eq!(&code[12..24], &[0; 12]);
        assert!(
            file.section_by_name("tracepoint/raw_syscalls/sys_enter")
                .is_some()
        );
    }
}
