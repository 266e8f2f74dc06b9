//! An assembler over [`Insn`]s: forward and backward labels with jump fixups, map references
//! recorded as relocations, and the source span of every instruction.

use super::insn::{Insn, Reg};
use super::opcode::*;
use crate::span::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AsmLabel(pub u32);

/// A reference from an LD_IMM64 at instruction `insn` to map number `map` (the caller's index).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapReloc {
    pub insn: usize,
    pub map: usize,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AsmError {
    #[error("label {0} is used but never placed")]
    Unplaced(u32),
    #[error("jump from instruction {from} to {to} does not fit in 16 bits")]
    TooFar { from: usize, to: usize },
}

#[derive(Default)]
pub struct Assembler {
    insns: Vec<Insn>,
    labels: Vec<Option<usize>>,
    fixups: Vec<(usize, AsmLabel)>,
    relocs: Vec<MapReloc>,
    spans: Vec<(u32, Span)>,
    span: Span,
}

/// The assembled program.
#[derive(Clone, Debug, Default)]
pub struct Assembled {
    pub insns: Vec<Insn>,
    pub relocs: Vec<MapReloc>,
    /// Instruction index → span, one entry where the span changes.
    pub spans: Vec<(u32, Span)>,
}

impl Assembler {
    pub fn new() -> Assembler {
        Assembler::default()
    }

    /// The span attached to instructions emitted from now on.
    pub fn set_span(&mut self, span: Span) {
        self.span = span;
    }

    pub fn len(&self) -> usize {
        self.insns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.insns.is_empty()
    }

    pub fn emit(&mut self, insn: Insn) {
        if self.spans.last().map(|&(_, s)| s) != Some(self.span) {
            self.spans.push((self.insns.len() as u32, self.span));
        }
        self.insns.push(insn);
    }

    pub fn new_label(&mut self) -> AsmLabel {
        self.labels.push(None);
        AsmLabel(self.labels.len() as u32 - 1)
    }

    pub fn place(&mut self, label: AsmLabel) {
        self.labels[label.0 as usize] = Some(self.insns.len());
    }

    /// A jump (conditional or not) whose offset is filled in by [`Assembler::finish`].
    pub fn jump(&mut self, insn: Insn, target: AsmLabel) {
        self.fixups.push((self.insns.len(), target));
        self.emit(insn);
    }

    pub fn ld_imm64(&mut self, dst: Reg, value: u64) {
        for insn in Insn::ld_imm64(dst, value) {
            self.emit(insn);
        }
    }

    pub fn ld_map(&mut self, dst: Reg, map: usize) {
        self.relocs.push(MapReloc {
            insn: self.insns.len(),
            map,
        });
        for insn in Insn::ld_map_fd(dst) {
            self.emit(insn);
        }
    }

    /// `dst = &value_of(map) + off` for a data-section map, with its relocation.
    pub fn ld_map_value(&mut self, dst: Reg, map: usize, off: i32) {
        self.relocs.push(MapReloc {
            insn: self.insns.len(),
            map,
        });
        for insn in Insn::ld_map_value(dst, off) {
            self.emit(insn);
        }
    }

    pub fn finish(mut self) -> Result<Assembled, AsmError> {
        for &(at, label) in &self.fixups {
            let to = self.labels[label.0 as usize].ok_or(AsmError::Unplaced(label.0))?;
            let off = to as i64 - at as i64 - 1;
            self.insns[at].off =
                i16::try_from(off).map_err(|_| AsmError::TooFar { from: at, to })?;
        }
        Ok(Assembled {
            insns: self.insns,
            relocs: self.relocs,
            spans: self.spans,
        })
    }
}

/// Drops jumps to the next instruction (`goto pc+0`), keeping labels, relocations and spans
/// consistent. Run on a finished program.
pub fn remove_nop_jumps(prog: &mut Assembled) {
    loop {
        let Some(at) = prog
            .insns
            .iter()
            .position(|i| i.code == JMP | JA && i.off == 0)
        else {
            return;
        };
        remove_insn(prog, at);
    }
}

fn remove_insn(prog: &mut Assembled, at: usize) {
    // Jumps across the removed instruction get one shorter.
    let mut i = 0;
    while i < prog.insns.len() {
        let insn = prog.insns[i];
        if insn.is_jump() {
            let target = i as i64 + 1 + insn.off as i64;
            if insn.off > 0 && i < at && at < target as usize {
                prog.insns[i].off -= 1;
            } else if insn.off < 0 && (target as usize) <= at && at < i {
                prog.insns[i].off += 1;
            }
        }
        i += if insn.code == LD_IMM64 { 2 } else { 1 };
    }
    prog.insns.remove(at);
    for r in &mut prog.relocs {
        if r.insn > at {
            r.insn -= 1;
        }
    }
    for s in &mut prog.spans {
        if s.0 as usize > at {
            s.0 -= 1;
        }
    }
    prog.spans.dedup_by_key(|s| s.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_resolve_forward_and_backward() {
        let mut a = Assembler::new();
        let top = a.new_label();
        let end = a.new_label();
        a.place(top);
        a.emit(Insn::mov64_imm(Reg::R0, 0));
        a.jump(Insn::jmp_imm(JEQ, Reg::R0, 0, 0), end);
        a.ld_imm64(Reg::R1, 1 << 40);
        a.jump(Insn::ja(0), top);
        a.place(end);
        a.emit(Insn::exit());
        let p = a.finish().unwrap();
        assert_eq!(p.insns[1].off, 3); // over the two LD_IMM64 slots and the ja
        assert_eq!(p.insns[4].off, -5);
    }

    #[test]
    fn unplaced_label_is_an_error() {
        let mut a = Assembler::new();
        let l = a.new_label();
        a.jump(Insn::ja(0), l);
        assert_eq!(a.finish().unwrap_err(), AsmError::Unplaced(0));
    }

    #[test]
    fn nop_jumps_are_removed() {
        let mut a = Assembler::new();
        let next = a.new_label();
        let end = a.new_label();
        a.jump(Insn::jmp_imm(JEQ, Reg::R1, 0, 0), end);
        a.jump(Insn::ja(0), next);
        a.place(next);
        a.ld_map(Reg::R1, 0);
        a.place(end);
        a.emit(Insn::exit());
        let mut p = a.finish().unwrap();
        remove_nop_jumps(&mut p);
        assert_eq!(p.insns.len(), 4);
        assert_eq!(p.insns[0].off, 2);
        assert_eq!(p.relocs[0].insn, 1);
    }
}
