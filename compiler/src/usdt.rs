//! USDT (SystemTap SDT) probes of an ELF file, from its `.note.stapsdt` notes: where each probe
//! attaches (a file offset), its semaphore (a file offset the kernel's uprobe `ref_ctr_offset`
//! counts up while attached), and where each argument is at the probe (the note's argument
//! specs, `-4@%eax 8@-16(%rbp) -4@$42`, as `<sys/sdt.h>` writes them on x86_64).
//!
//! Pure: parses bytes. The CLI's environment opens the files; lowering reads [`UsdtArg`]s.

use object::elf;
use object::read::elf::{ElfFile64, FileHeader, ProgramHeader, SectionHeader};
use object::{Endianness, Object, ObjectSection, ObjectSymbol, ReadCache, ReadRef};
use serde::Serialize;

/// `NT_STAPSDT`.
const NT_STAPSDT: u32 = 3;

/// One probe site. A probe written once in the source may have several sites (inlined copies),
/// each with its own argument locations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UsdtProbe {
    pub provider: String,
    pub name: String,
    /// File offset of the probe's `nop`.
    pub offset: u64,
    /// File offset of the semaphore (`unsigned short`), 0 without one.
    pub semaphore: u64,
    pub args: Vec<UsdtArg>,
}

/// The USDT probes of one file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UsdtFile {
    /// The file uprobes attach to (the target's executable for `usdt:NAME` with `-p`/`-c`).
    pub path: String,
    pub probes: Vec<UsdtProbe>,
}

/// One argument: `size` bytes, sign-extended when `signed`, found at `loc`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct UsdtArg {
    pub size: u8,
    pub signed: bool,
    pub loc: UsdtLoc,
    /// The spec as written (`-4@-20(%rbp)`), for listings and messages.
    pub spec: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum UsdtLoc {
    /// `$N`
    Const(i64),
    /// `%eax`: the register's `pt_regs` name (`ax`, `r8`).
    Reg(&'static str),
    /// `off(%base)` or `off(%base,%index,scale)`: user memory.
    Mem {
        base: &'static str,
        offset: i64,
        index: Option<(&'static str, u8)>,
    },
    /// `sym(%rip)` or `sym+N(%rip)`: user memory at a symbol (a global), as the note names it.
    /// [`probes`] resolves it from the file's symbol table to [`UsdtLoc::FromSite`].
    Symbol { name: String, offset: i64 },
    /// User memory `distance` bytes from the probe site: `sym(%rip)`'s symbol less the site's
    /// address in the file, so the load bias of a PIE binary or shared library drops out (the
    /// site's address in the process, `bpf_get_func_ip`, plus `distance`).
    FromSite { distance: i64 },
    /// A form gprobe cannot read (a segment register, a symbol the file does not define), and
    /// why.
    Unsupported(String),
}

impl UsdtProbe {
    /// `provider:name`, as listings and messages show it.
    pub fn full_name(&self) -> String {
        format!("{}:{}", self.provider, self.name)
    }

    /// Whether the probe matches `provider` (any when `None`) and `name`, either a glob.
    pub fn matches(&self, provider: Option<&str>, name: &str) -> bool {
        provider.is_none_or(|p| crate::names::glob_match(p, &self.provider))
            && crate::names::glob_match(name, &self.name)
    }
}

/// The sites of the probes `provider:name` (globs, any provider when `None`) names in `file`'s
/// `probes`, or why there are none (with the nearest names).
pub fn select(
    probes: &[UsdtProbe],
    provider: Option<&str>,
    name: &str,
    file: &str,
) -> Result<Vec<UsdtProbe>, String> {
    let found: Vec<UsdtProbe> = probes
        .iter()
        .filter(|p| p.matches(provider, name))
        .cloned()
        .collect();
    if !found.is_empty() {
        return Ok(found);
    }
    if probes.is_empty() {
        return Err(format!(
            "{file} has no USDT probes (no .note.stapsdt section)"
        ));
    }
    let wanted = match provider {
        Some(p) => format!("{p}:{name}"),
        None => name.to_owned(),
    };
    let mut names: Vec<String> = probes.iter().map(UsdtProbe::full_name).collect();
    names.sort();
    names.dedup();
    let near = crate::names::nearest(&wanted, names.iter().map(String::as_str), 3);
    let near: Vec<&str> = if near.is_empty() {
        // A name without its provider is still near its `provider:name`.
        let bare: Vec<&str> = names
            .iter()
            .filter(|n| {
                n.split_once(':')
                    .is_some_and(|(_, b)| crate::names::nearest(name, [b], 1).len() == 1)
            })
            .map(String::as_str)
            .take(3)
            .collect();
        bare
    } else {
        near
    };
    let mut why = format!("{file} has no USDT probe `{wanted}`");
    if near.is_empty() {
        why.push_str(&format!(
            " (it has {})",
            names.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
        ));
    } else {
        why.push_str(&format!("; nearest: {}", near.join(", ")));
    }
    Err(why)
}

impl UsdtArg {
    /// bpftrace-style type for `-lv`: `int32`, `uint64`.
    pub fn type_name(&self) -> String {
        format!(
            "{}int{}",
            if self.signed { "" } else { "u" },
            u32::from(self.size) * 8
        )
    }
}

/// Every USDT probe of the ELF file at `path`, reading only the parts needed (a library
/// without probes costs its headers).
pub fn probes_in_file(path: &std::path::Path) -> Result<Vec<UsdtProbe>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read it: {e}"))?;
    let cache = ReadCache::new(file);
    probes(&cache)
}

/// Every USDT probe of the ELF file `data` (none when it has no `.note.stapsdt`).
pub fn probes<'data, R: ReadRef<'data>>(data: R) -> Result<Vec<UsdtProbe>, String> {
    let file =
        ElfFile64::<Endianness, R>::parse(data).map_err(|e| format!("not an ELF file: {e}"))?;
    let endian = file.endian();
    let Some(notes) = file.section_by_name(".note.stapsdt") else {
        return Ok(Vec::new());
    };
    // Prelinked files move code: the note records where `.stapsdt.base` was when written.
    let base_now = file.section_by_name(".stapsdt.base").map(|s| s.address());
    let header = notes.elf_section_header();
    let Some(mut iter) = header
        .notes(endian, data)
        .map_err(|e| format!(".note.stapsdt: {e}"))?
    else {
        return Ok(Vec::new());
    };
    let segments: Vec<(u64, u64, u64)> = file
        .elf_header()
        .program_headers(endian, data)
        .map_err(|e| format!("program headers: {e}"))?
        .iter()
        .filter(|p| p.p_type(endian) == elf::PT_LOAD)
        .map(|p| (p.p_vaddr(endian), p.p_filesz(endian), p.p_offset(endian)))
        .collect();
    let file_offset = |vaddr: u64| {
        segments
            .iter()
            .find(|(start, size, _)| (*start..start + size).contains(&vaddr))
            .map(|(start, _, offset)| vaddr - start + offset)
    };
    let mut out = Vec::new();
    while let Some(note) = iter.next().map_err(|e| format!(".note.stapsdt: {e}"))? {
        if note.name() != b"stapsdt" || note.n_type(endian).0 != NT_STAPSDT {
            continue;
        }
        let desc = note.desc();
        let word = |i: usize| {
            desc.get(i * 8..i * 8 + 8)
                .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
        };
        let (Some(pc), Some(base), Some(semaphore)) = (word(0), word(1), word(2)) else {
            return Err("a truncated .note.stapsdt entry".into());
        };
        let mut strings = desc[24..].split(|b| *b == 0);
        let mut text = || String::from_utf8_lossy(strings.next().unwrap_or_default()).into_owned();
        let (provider, name, specs) = (text(), text(), text());
        let pc = match base_now {
            Some(now) if base != 0 => pc.wrapping_add(now).wrapping_sub(base),
            _ => pc,
        };
        let offset =
            file_offset(pc).ok_or_else(|| format!("{provider}:{name}: {pc:#x} is not mapped"))?;
        let semaphore = match semaphore {
            0 => 0,
            addr => file_offset(addr)
                .ok_or_else(|| format!("{provider}:{name}: semaphore {addr:#x} is not mapped"))?,
        };
        let mut args = specs.split_whitespace().map(parse_arg).collect::<Vec<_>>();
        for arg in &mut args {
            if let UsdtLoc::Symbol { name, offset } = &arg.loc {
                // Static variables of different source files may share a name: only one
                // address is a reading, several are a refusal.
                let mut addresses: Vec<u64> = file
                    .symbols()
                    .filter(|s| s.is_definition() && s.name() == Ok(name.as_str()))
                    .map(|s| s.address())
                    .collect();
                addresses.sort_unstable();
                addresses.dedup();
                arg.loc = match addresses[..] {
                    [address] => UsdtLoc::FromSite {
                        distance: address.wrapping_add(*offset as u64).wrapping_sub(pc) as i64,
                    },
                    [] => UsdtLoc::Unsupported(format!(
                        "`{}` names `{name}`, which the file's symbol table lacks",
                        arg.spec
                    )),
                    _ => UsdtLoc::Unsupported(format!(
                        "`{}` names `{name}`, which is {} symbols of the file (static variables of different source files)",
                        arg.spec,
                        addresses.len()
                    )),
                };
            }
        }
        out.push(UsdtProbe {
            provider,
            name,
            offset,
            semaphore,
            args,
        });
    }
    Ok(out)
}

/// One argument spec: `[-]SIZE@OPERAND`, or a bare operand (8 bytes, unsigned).
pub fn parse_arg(spec: &str) -> UsdtArg {
    let (size, signed, operand) = match spec.split_once('@') {
        Some((size, operand)) => {
            let signed = size.starts_with('-');
            match size.trim_start_matches('-').parse::<u8>() {
                Ok(n @ (1 | 2 | 4 | 8)) => (n, signed, operand),
                _ => {
                    return UsdtArg {
                        size: 8,
                        signed: false,
                        loc: UsdtLoc::Unsupported(format!("argument size `{size}`")),
                        spec: spec.to_owned(),
                    };
                }
            }
        }
        None => (8, false, spec),
    };
    UsdtArg {
        size,
        signed,
        loc: parse_operand(operand),
        spec: spec.to_owned(),
    }
}

fn parse_operand(operand: &str) -> UsdtLoc {
    if let Some(value) = operand.strip_prefix('$') {
        return match parse_int(value) {
            Some(v) => UsdtLoc::Const(v),
            None => UsdtLoc::Unsupported(format!("the constant `{operand}`")),
        };
    }
    if let Some(reg) = operand.strip_prefix('%') {
        return match register(reg) {
            Some(r) => UsdtLoc::Reg(r),
            None => UsdtLoc::Unsupported(format!("register `{operand}`")),
        };
    }
    let Some((offset, rest)) = operand.split_once('(') else {
        return UsdtLoc::Unsupported(format!("operand `{operand}`"));
    };
    let Some(inner) = rest.strip_suffix(')') else {
        return UsdtLoc::Unsupported(format!("operand `{operand}`"));
    };
    let offset = if offset.is_empty() {
        Some(0)
    } else {
        parse_int(offset)
    };
    let Some(offset) = offset else {
        // `counter(%rip)`, `counter+8(%rip)`: a symbol, resolved by the linker relative to the
        // instruction.
        let text = operand.split_once('(').map_or("", |(t, _)| t);
        let (name, plus) = match text.find(['+', '-']) {
            Some(at) => (&text[..at], parse_int(text[at..].trim_start_matches('+'))),
            None => (text, Some(0)),
        };
        return match (inner, plus) {
            ("%rip", Some(plus)) if !name.is_empty() => UsdtLoc::Symbol {
                name: name.to_owned(),
                offset: plus,
            },
            _ => UsdtLoc::Unsupported(format!("the symbolic operand `{operand}`")),
        };
    };
    let mut parts = inner.split(',');
    let base = parts
        .next()
        .and_then(|r| r.strip_prefix('%'))
        .and_then(register);
    let index = match (parts.next(), parts.next()) {
        (None, _) => None,
        (Some(index), scale) => {
            let scale = scale.map_or(Some(1), |s| s.parse::<u8>().ok());
            match (index.strip_prefix('%').and_then(register), scale) {
                (Some(i), Some(s @ (1 | 2 | 4 | 8))) => Some(Some((i, s))),
                _ => None,
            }
        }
    };
    match (base, index) {
        (Some(base), Some(index)) if base != "ip" => UsdtLoc::Mem {
            base,
            offset,
            index,
        },
        (Some(base), None) if base != "ip" && inner.split(',').count() == 1 => UsdtLoc::Mem {
            base,
            offset,
            index: None,
        },
        _ => UsdtLoc::Unsupported(format!("operand `{operand}`")),
    }
}

fn parse_int(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, text),
    };
    let value = match digits.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok()?,
        None => digits.parse::<u64>().ok()?,
    } as i64;
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

/// An x86_64 register (any width) → its `pt_regs` field name. The high-byte registers
/// (`%ah`) are not offered: the spec's size reads the low bytes.
fn register(name: &str) -> Option<&'static str> {
    const LEGACY: [(&str, [&str; 4]); 8] = [
        ("ax", ["rax", "eax", "ax", "al"]),
        ("bx", ["rbx", "ebx", "bx", "bl"]),
        ("cx", ["rcx", "ecx", "cx", "cl"]),
        ("dx", ["rdx", "edx", "dx", "dl"]),
        ("si", ["rsi", "esi", "si", "sil"]),
        ("di", ["rdi", "edi", "di", "dil"]),
        ("bp", ["rbp", "ebp", "bp", "bpl"]),
        ("sp", ["rsp", "esp", "sp", "spl"]),
    ];
    if let Some((reg, _)) = LEGACY.iter().find(|(_, names)| names.contains(&name)) {
        return Some(reg);
    }
    if name == "rip" {
        return Some("ip");
    }
    const NUMBERED: [&str; 8] = ["r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"];
    let numbered = name.trim_end_matches(['d', 'w', 'b']);
    NUMBERED.iter().copied().find(|r| *r == numbered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argument_specs() {
        let a = parse_arg("-4@%eax");
        assert_eq!((a.size, a.signed, a.loc), (4, true, UsdtLoc::Reg("ax")));
        let a = parse_arg("8@-16(%rbp)");
        assert_eq!(
            (a.size, a.signed, a.loc),
            (
                8,
                false,
                UsdtLoc::Mem {
                    base: "bp",
                    offset: -16,
                    index: None
                }
            )
        );
        let a = parse_arg("8@(%rsp,%rdx,8)");
        assert_eq!(
            a.loc,
            UsdtLoc::Mem {
                base: "sp",
                offset: 0,
                index: Some(("dx", 8))
            }
        );
        assert_eq!(parse_arg("-4@$-7").loc, UsdtLoc::Const(-7));
        assert_eq!(parse_arg("1@%dil").loc, UsdtLoc::Reg("di"));
        assert_eq!(parse_arg("2@%r10w").loc, UsdtLoc::Reg("r10"));
        let symbol = |name: &str, offset| UsdtLoc::Symbol {
            name: name.into(),
            offset,
        };
        assert_eq!(parse_arg("-4@counter(%rip)").loc, symbol("counter", 0));
        assert_eq!(parse_arg("8@buf+16(%rip)").loc, symbol("buf", 16));
        assert_eq!(parse_arg("8@buf-0x8(%rip)").loc, symbol("buf", -8));
        assert!(matches!(
            parse_arg("-4@counter(%rbx)").loc,
            UsdtLoc::Unsupported(_)
        ));
        assert!(matches!(parse_arg("4@%ah").loc, UsdtLoc::Unsupported(_)));
        assert!(matches!(parse_arg("3@%eax").loc, UsdtLoc::Unsupported(_)));
        assert_eq!(parse_arg("-8@%rcx").type_name(), "int64");
        assert_eq!(parse_arg("1@%cl").type_name(), "uint8");
    }
}
