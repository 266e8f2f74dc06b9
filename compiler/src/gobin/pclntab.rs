//! `.gopclntab`: Go's own function table. It survives `-ldflags=-s -w`, so stripped binaries still
//! resolve function names, addresses, file:line and inlined frames.
//!
//! Layout (1.18+): header {magic u32, 0 u16, minLC u8, ptrSize u8, nfunc, nfiles, textStart,
//! funcnameOffset, cuOffset, filetabOffset, pctabOffset, pclnOffset (words)}; at pclnOffset
//! nfunc+1 pairs (entryOff u32, funcOff u32); `_func` at pclnOffset+funcOff. 1.16/1.17 have no
//! textStart and use word-sized absolute entries. From Go 1.26 textStart is 0 and the text address
//! comes from runtime.moduledata.

use super::{Bytes, GoBinError, GoBinary, Result};

const MAGIC_1_16: u32 = 0xffff_fffa;
const MAGIC_1_18: u32 = 0xffff_fff0;
const MAGIC_1_20: u32 = 0xffff_fff1;

/// Offset of `text` in runtime.moduledata on 64-bit targets (stable 1.18–1.27).
const MODULEDATA_TEXT: u64 = 176;
const PCDATA_INL_TREE_INDEX: u32 = 2;
const FUNCDATA_INL_TREE: u32 = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    Go116,
    Go118,
    Go120,
}

/// A function from the pclntab: Go name (unquoted), `[entry, end)` virtual addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Function {
    pub name: String,
    pub entry: u64,
    pub end: u64,
    /// Offset of the `_func` record from the start of the function table.
    pub(crate) func_off: u64,
}

impl Function {
    pub fn size(&self) -> u64 {
        self.end - self.entry
    }
}

/// One frame of a symbolized pc; inlined frames come before the function that inlined them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub function: String,
    pub file: String,
    pub line: i64,
    /// True when this frame was inlined into the next one (no physical frame of its own).
    pub inlined: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct Pclntab {
    layout: Layout,
    /// File offset and length of the table.
    start: u64,
    len: u64,
    vaddr: u64,
    ptr_size: u8,
    quantum: u8,
    nfunc: u64,
    text_start: u64,
    funcname: u64,
    cutab: u64,
    filetab: u64,
    pctab: u64,
    functab: u64,
    /// Address of `go:func.*`, base of funcdata offsets (for the inline tree); None if unknown.
    gofunc: Option<u64>,
}

impl Pclntab {
    pub(crate) fn placeholder() -> Pclntab {
        Pclntab {
            layout: Layout::Go120,
            start: 0,
            len: 0,
            vaddr: 0,
            ptr_size: 8,
            quantum: 1,
            nfunc: 0,
            text_start: 0,
            funcname: 0,
            cutab: 0,
            filetab: 0,
            pctab: 0,
            functab: 0,
            gofunc: None,
        }
    }

    /// Lowest Go release using this table layout.
    pub(crate) fn min_release(&self) -> (u32, u32) {
        match self.layout {
            Layout::Go116 => (1, 16),
            Layout::Go118 => (1, 18),
            Layout::Go120 => (1, 20),
        }
    }

    fn bytes<'a>(&self, bin: &'a GoBinary) -> Bytes<'a> {
        let data = bin.data();
        let end = usize::try_from(self.start.saturating_add(self.len))
            .unwrap_or(usize::MAX)
            .min(data.len());
        let start = usize::try_from(self.start).unwrap_or(end).min(end);
        Bytes {
            data: &data[start..end],
            what: "pclntab",
        }
    }

    pub(crate) fn locate(bin: &GoBinary) -> Result<Pclntab> {
        // By section: `.gopclntab`, or `.data.rel.ro.gopclntab` in pure-Go PIE.
        if let Some(sec) = bin
            .sections()
            .iter()
            .find(|s| s.name.ends_with(".gopclntab"))
            && let Some((off, size)) = sec.file_range
        {
            return Pclntab::parse_header(bin, off, size, sec.addr);
        }
        // By symbol, then by scanning read-only data for a plausible header.
        let sym_addr = bin
            .symbols()
            .iter()
            .find(|s| s.name == "runtime.pclntab")
            .map(|s| s.address);
        if let Some(addr) = sym_addr
            && let Some(off) = bin.vaddr_to_file_offset(addr)
        {
            let seg_end = segment_file_end(bin, off);
            return Pclntab::parse_header(bin, off, seg_end - off, addr);
        }
        for seg in bin.load_segments() {
            let data = bin
                .data()
                .get(
                    seg.file_offset as usize
                        ..seg.file_offset.saturating_add(seg.file_size) as usize,
                )
                .unwrap_or_default();
            for i in (0..data.len().saturating_sub(8)).step_by(8) {
                let magic = u32::from_le_bytes(data[i..i + 4].try_into().unwrap_or_default());
                if matches!(magic, MAGIC_1_16 | MAGIC_1_18 | MAGIC_1_20)
                    && data[i + 4] == 0
                    && data[i + 5] == 0
                    && matches!(data[i + 6], 1 | 2 | 4)
                    && data[i + 7] == 8
                {
                    let off = seg.file_offset + i as u64;
                    let size = seg.file_size - i as u64;
                    if let Ok(t) = Pclntab::parse_header(bin, off, size, seg.vaddr + i as u64)
                        && t.nfunc > 0
                    {
                        return Ok(t);
                    }
                }
            }
        }
        Err(GoBinError::NotGo)
    }

    fn parse_header(bin: &GoBinary, start: u64, len: u64, vaddr: u64) -> Result<Pclntab> {
        let mut t = Pclntab {
            start,
            len,
            vaddr,
            ..Pclntab::placeholder()
        };
        let b = t.bytes(bin);
        let magic = b.u32(0).map_err(|_| GoBinError::NotGo)?;
        t.layout = match magic {
            MAGIC_1_16 => Layout::Go116,
            MAGIC_1_18 => Layout::Go118,
            MAGIC_1_20 => Layout::Go120,
            0xffff_fffb => {
                return Err(GoBinError::Corrupt(
                    "pclntab from Go 1.15 or older is not supported (Go 1.17+ is)".into(),
                ));
            }
            _ => return Err(GoBinError::NotGo),
        };
        if b.u8(4)? != 0 || b.u8(5)? != 0 {
            return Err(GoBinError::Corrupt(
                "pclntab header padding is not zero".into(),
            ));
        }
        t.quantum = b.u8(6)?;
        t.ptr_size = b.u8(7)?;
        if !matches!(t.quantum, 1 | 2 | 4) || t.ptr_size != 8 {
            return Err(GoBinError::Corrupt(format!(
                "pclntab header: quantum {} pointer size {}",
                t.quantum, t.ptr_size
            )));
        }
        let w = |i: u64| b.word(8 + i * 8, 8);
        t.nfunc = w(0)?;
        let fields = match t.layout {
            Layout::Go116 => [w(2)?, w(3)?, w(4)?, w(5)?, w(6)?],
            _ => {
                t.text_start = w(2)?;
                [w(3)?, w(4)?, w(5)?, w(6)?, w(7)?]
            }
        };
        [t.funcname, t.cutab, t.filetab, t.pctab, t.functab] = fields;
        if fields.iter().any(|&o| o >= len) {
            return Err(GoBinError::Corrupt(
                "pclntab header offset past the table".into(),
            ));
        }
        let entry_size = if t.layout == Layout::Go116 { 16 } else { 8 };
        let table_end = t
            .nfunc
            .checked_add(1)
            .and_then(|n| n.checked_mul(entry_size))
            .and_then(|n| n.checked_add(t.functab))
            .ok_or(GoBinError::Truncated("pclntab function table"))?;
        if table_end > len {
            return Err(GoBinError::Truncated("pclntab function table"));
        }
        if t.layout != Layout::Go116 {
            let moduledata = find_moduledata(bin, &t);
            if t.text_start == 0 {
                t.text_start = moduledata
                    .and_then(|md| bin.read_u64_at(md.wrapping_add(MODULEDATA_TEXT)))
                    .or_else(|| bin.symbol("runtime.text").map(|s| s.address))
                    .ok_or_else(|| {
                        GoBinError::Corrupt(
                            "pclntab has no text start and runtime.moduledata was not found".into(),
                        )
                    })?;
            }
            t.gofunc = find_gofunc(bin, &t, moduledata);
        }
        Ok(t)
    }

    pub(crate) fn functions(&self, bin: &GoBinary) -> Result<Vec<Function>> {
        let b = self.bytes(bin);
        let n = self.nfunc;
        let mut out = Vec::with_capacity(n as usize);
        let entry_at = |i: u64| self.functab_entry(&b, i).map(|(e, _)| e);
        let func_off_at = |i: u64| self.functab_entry(&b, i).map(|(_, f)| f);
        let name_field = if self.layout == Layout::Go116 { 8 } else { 4 };
        let mut entry = entry_at(0)?;
        for i in 0..n {
            let end = entry_at(i + 1)?;
            if end < entry {
                return Err(GoBinError::Corrupt(format!(
                    "function {i} ends before it starts"
                )));
            }
            let func_off = func_off_at(i)?;
            if func_off >= self.len {
                return Err(GoBinError::Corrupt(format!(
                    "function {i} record is past the table"
                )));
            }
            let name_off = b.u32(
                self.functab
                    .saturating_add(func_off)
                    .saturating_add(name_field),
            )? as i32;
            let name = if name_off < 0 {
                String::new()
            } else {
                b.cstr(self.funcname + name_off as u64)?.to_owned()
            };
            out.push(Function {
                name,
                entry,
                end,
                func_off,
            });
            entry = end;
        }
        Ok(out)
    }

    /// The `i`th function table pair: (entry address, offset of `_func` from the table).
    fn functab_entry(&self, b: &Bytes<'_>, i: u64) -> Result<(u64, u64)> {
        match self.layout {
            Layout::Go116 => Ok((
                b.u64(self.functab + i * 16)?,
                b.u64(self.functab + i * 16 + 8)?,
            )),
            _ => Ok((
                self.text_start
                    .wrapping_add(u64::from(b.u32(self.functab + i * 8)?)),
                u64::from(b.u32(self.functab + i * 8 + 4)?),
            )),
        }
    }

    /// Field offsets of `_func` for this layout: (pcfile, pcln, npcdata, cuOffset, nfuncdata, pcdata).
    fn func_fields(&self) -> (u64, u64, u64, u64, u64, u64) {
        match self.layout {
            Layout::Go116 => (24, 28, 32, 36, 43, 44),
            Layout::Go118 => (20, 24, 28, 32, 39, 40),
            Layout::Go120 => (20, 24, 28, 32, 43, 44),
        }
    }

    /// Decodes a pc-value table: the value in effect at `target`, or None.
    fn pcvalue(&self, b: &Bytes<'_>, table: u32, entry: u64, target: u64) -> Option<i64> {
        if table == 0 {
            return None;
        }
        let mut p = self.pctab + u64::from(table);
        let mut pc = entry;
        let mut val: i64 = -1;
        let mut first = true;
        // Each step consumes at least two bytes, so the table bounds the loop.
        loop {
            let (uvdelta, n) = read_uvarint(b, p)?;
            if uvdelta == 0 && !first {
                return None;
            }
            p += n;
            let vdelta = ((uvdelta >> 1) as i64) ^ -((uvdelta & 1) as i64);
            val = val.wrapping_add(vdelta);
            let (pcdelta, n) = read_uvarint(b, p)?;
            p += n;
            pc = pc.checked_add(pcdelta.checked_mul(u64::from(self.quantum))?)?;
            if target < pc {
                return Some(val);
            }
            first = false;
        }
    }

    fn file_line(&self, b: &Bytes<'_>, f: &Function, pc: u64) -> (String, i64) {
        let (pcfile, pcln, _, cu, _, _) = self.func_fields();
        let rec = self.functab.saturating_add(f.func_off);
        let line = b
            .u32(rec + pcln)
            .ok()
            .and_then(|t| self.pcvalue(b, t, f.entry, pc));
        let file = (|| {
            let fileno = self.pcvalue(b, b.u32(rec + pcfile).ok()?, f.entry, pc)?;
            let cu_off = u64::from(b.u32(rec + cu).ok()?);
            let index = cu_off.checked_add(u64::try_from(fileno).ok()?)?;
            let file_off = b.u32(self.cutab.checked_add(index.checked_mul(4)?)?).ok()?;
            Some(b.cstr(self.filetab + u64::from(file_off)).ok()?.to_owned())
        })();
        (file.unwrap_or_else(|| "?".into()), line.unwrap_or(0))
    }

    pub(crate) fn symbolize(&self, bin: &GoBinary, f: &Function, pc: u64) -> Vec<Frame> {
        let b = self.bytes(bin);
        let mut frames = Vec::new();
        let mut pc = pc;
        if let Some(tree) = self.inline_tree(bin, &b, f) {
            let (_, _, npcdata, _, _, pcdata) = self.func_fields();
            let rec = self.functab.saturating_add(f.func_off);
            let index_table = b
                .u32(rec + pcdata + u64::from(PCDATA_INL_TREE_INDEX) * 4)
                .ok();
            let (entry_size, name_at, parent_pc_at) = if self.layout == Layout::Go118 {
                (20, 12, 16)
            } else {
                (16, 4, 8)
            };
            if b.u32(rec + npcdata)
                .is_ok_and(|n| n > PCDATA_INL_TREE_INDEX)
            {
                // Bounded: an inline tree cannot be deeper than its number of entries.
                for _ in 0..64 {
                    let Some(ix) = index_table.and_then(|t| self.pcvalue(&b, t, f.entry, pc))
                    else {
                        break;
                    };
                    let Ok(ix) = u64::try_from(ix) else { break };
                    let Some(at) = ix.checked_mul(entry_size).and_then(|o| o.checked_add(tree))
                    else {
                        break;
                    };
                    let Some(call) = bin.bytes_at(at, entry_size) else {
                        break;
                    };
                    let rd = |o: usize| {
                        i32::from_le_bytes([call[o], call[o + 1], call[o + 2], call[o + 3]])
                    };
                    let name_off = rd(name_at);
                    let parent_pc = rd(parent_pc_at);
                    let name = u64::try_from(name_off)
                        .ok()
                        .and_then(|o| b.cstr(self.funcname + o).ok())
                        .unwrap_or("?");
                    let (file, line) = self.file_line(&b, f, pc);
                    frames.push(Frame {
                        function: name.to_owned(),
                        file,
                        line,
                        inlined: true,
                    });
                    let Ok(parent_pc) = u64::try_from(parent_pc) else {
                        break;
                    };
                    pc = f.entry.saturating_add(parent_pc);
                }
            }
        }
        let (file, line) = self.file_line(&b, f, pc);
        frames.push(Frame {
            function: f.name.clone(),
            file,
            line,
            inlined: false,
        });
        frames
    }

    /// Address of the function's inline tree (funcdata slot 3), if it has one.
    fn inline_tree(&self, _bin: &GoBinary, b: &Bytes<'_>, f: &Function) -> Option<u64> {
        if self.layout == Layout::Go116 {
            return None;
        }
        let gofunc = self.gofunc?;
        let (_, _, npcdata, _, nfuncdata, pcdata) = self.func_fields();
        let rec = self.functab.saturating_add(f.func_off);
        let nfuncdata = u32::from(b.u8(rec + nfuncdata).ok()?);
        if nfuncdata <= FUNCDATA_INL_TREE {
            return None;
        }
        let npcdata = u64::from(b.u32(rec + npcdata).ok()?);
        let off = b
            .u32(rec + pcdata + npcdata * 4 + u64::from(FUNCDATA_INL_TREE) * 4)
            .ok()?;
        (off != u32::MAX).then(|| gofunc.wrapping_add(u64::from(off)))
    }
}

fn read_uvarint(b: &Bytes<'_>, off: u64) -> Option<(u64, u64)> {
    let mut v = 0u64;
    for i in 0..10 {
        let byte = b.u8(off + i).ok()?;
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

fn segment_file_end(bin: &GoBinary, off: u64) -> u64 {
    bin.load_segments()
        .iter()
        .find(|s| off >= s.file_offset && off - s.file_offset < s.file_size)
        .map(|s| s.file_offset.saturating_add(s.file_size))
        .unwrap_or(bin.data().len() as u64)
}

/// runtime.firstmoduledata's address: section `.go.module` (Go 1.26+), the symbol, or a scan of the
/// data segments for its first two words (pcHeader pointer, funcnametab pointer).
fn find_moduledata(bin: &GoBinary, t: &Pclntab) -> Option<u64> {
    let plausible = |addr: u64| {
        bin.read_u64_at(addr) == Some(t.vaddr)
            && bin.read_u64_at(addr.wrapping_add(8)) == Some(t.vaddr.wrapping_add(t.funcname))
    };
    if let Some(sec) = bin
        .sections()
        .iter()
        .find(|s| s.name.ends_with(".go.module"))
        && plausible(sec.addr)
    {
        return Some(sec.addr);
    }
    if let Some(sym) = bin.symbol("runtime.firstmoduledata")
        && plausible(sym.address)
    {
        return Some(sym.address);
    }
    let needle = t.vaddr.to_le_bytes();
    for seg in bin.load_segments() {
        let start = seg.file_offset as usize;
        let Some(data) = bin
            .data()
            .get(start..start.saturating_add(seg.file_size as usize))
        else {
            continue;
        };
        for i in (0..data.len().saturating_sub(16)).step_by(8) {
            if data[i..i + 8] == needle && plausible(seg.vaddr + i as u64) {
                return Some(seg.vaddr + i as u64);
            }
        }
    }
    None
}

/// `go:func.*` (base of funcdata offsets): by symbol, else moduledata.gofunc at its per-version
/// offset (1.18–1.19: 304, 1.20–1.25: 320, 1.27: 344 [verified]; 1.26 assumed like 1.27).
fn find_gofunc(bin: &GoBinary, t: &Pclntab, moduledata: Option<u64>) -> Option<u64> {
    if let Some(s) = bin
        .symbols()
        .iter()
        .find(|s| s.name == "go:func.*" || s.name == "go.func.*")
    {
        return Some(s.address);
    }
    let md = moduledata?;
    let (_, minor) = bin_release_hint(bin).unwrap_or(match t.layout {
        Layout::Go118 => (1, 18),
        _ => (1, 20),
    });
    let off = match minor {
        ..=19 => 304,
        20..=25 => 320,
        _ => 344,
    };
    bin.read_u64_at(md.wrapping_add(off))
        .filter(|&a| bin.vaddr_to_file_offset(a).is_some())
}

fn bin_release_hint(bin: &GoBinary) -> Option<(u32, u32)> {
    bin.build_info().and_then(|b| b.release())
}
