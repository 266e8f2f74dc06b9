//! A small linear IR between the AST and machine code: BPF-shaped two-address instructions over
//! unlimited virtual registers, with labels, symbolic map references, stack addressing relative
//! to the frame pointer and helper calls. Every instruction carries the source [`Span`] it came
//! from; register allocation maps virtual registers to r0..r9 and spills to the stack.

mod print;

pub use print::print_function;

use crate::bpf::{Helper, Size};
use crate::span::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VReg(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operand {
    Reg(VReg),
    /// Sign-extended to 64 bits where the operation is 64-bit.
    Imm(i32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AluOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    And,
    Or,
    Xor,
    Lsh,
    Rsh,
    Arsh,
}

/// Jump conditions; the `S*` ones compare signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cond {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Sgt,
    Sge,
    Slt,
    Sle,
    /// `lhs & rhs != 0`
    Set,
}

impl Cond {
    /// The condition that holds exactly when this one does not (`Set` has none).
    pub fn negate(self) -> Option<Cond> {
        use Cond::*;
        Some(match self {
            Eq => Ne,
            Ne => Eq,
            Gt => Le,
            Ge => Lt,
            Lt => Ge,
            Le => Gt,
            Sgt => Sle,
            Sge => Slt,
            Slt => Sge,
            Sle => Sgt,
            Set => return None,
        })
    }

    /// The condition with its operands swapped (`a < b` ⇔ `b > a`).
    pub fn swap(self) -> Cond {
        use Cond::*;
        match self {
            Eq => Eq,
            Ne => Ne,
            Gt => Lt,
            Ge => Le,
            Lt => Gt,
            Le => Ge,
            Sgt => Slt,
            Sge => Sle,
            Slt => Sgt,
            Sle => Sge,
            Set => Set,
        }
    }

    pub fn eval(self, a: u64, b: u64) -> bool {
        use Cond::*;
        let (sa, sb) = (a as i64, b as i64);
        match self {
            Eq => a == b,
            Ne => a != b,
            Gt => a > b,
            Ge => a >= b,
            Lt => a < b,
            Le => a <= b,
            Sgt => sa > sb,
            Sge => sa >= sb,
            Slt => sa < sb,
            Sle => sa <= sb,
            Set => a & b != 0,
        }
    }
}

/// The address a load or store uses: a register, or the frame pointer r10.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Base {
    Reg(VReg),
    Fp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inst {
    /// The program's context pointer arrives in r1.
    Entry {
        ctx: VReg,
    },
    Mov {
        dst: VReg,
        src: Operand,
    },
    /// A 64-bit constant that does not fit a sign-extended 32-bit immediate.
    MovImm64 {
        dst: VReg,
        imm: u64,
    },
    /// `dst = (u32)src`: zero-extends the low 32 bits.
    Mov32 {
        dst: VReg,
        src: VReg,
    },
    /// `dst op= src`, 64-bit.
    Alu {
        op: AluOp,
        dst: VReg,
        src: Operand,
    },
    Neg {
        dst: VReg,
    },
    Load {
        dst: VReg,
        base: Base,
        off: i16,
        size: Size,
    },
    Store {
        base: Base,
        off: i16,
        size: Size,
        src: Operand,
    },
    /// `dst = r10 + off`
    StackAddr {
        dst: VReg,
        off: i16,
    },
    /// `dst = &map` (LD_IMM64 with a map relocation). `map` indexes the object's maps.
    LoadMap {
        dst: VReg,
        map: usize,
    },
    /// `dst = &value_of(map) + off`: a direct pointer into a data-section map's single value
    /// (LD_IMM64 with a map-value relocation); no lookup, never null.
    LoadMapValue {
        dst: VReg,
        map: usize,
        off: i32,
    },
    /// `lock *(u64 *)(base + off) += src`
    AtomicAdd {
        base: VReg,
        off: i16,
        src: VReg,
    },
    Call {
        helper: Helper,
        args: Vec<Operand>,
        ret: Option<VReg>,
    },
    Jump {
        target: Label,
    },
    Branch {
        cond: Cond,
        lhs: VReg,
        rhs: Operand,
        target: Label,
    },
    Label(Label),
    /// `return value`
    Exit {
        value: i32,
    },
}

impl Inst {
    /// The virtual registers this instruction reads.
    pub fn uses(&self) -> Vec<VReg> {
        let op = |o: &Operand| match o {
            Operand::Reg(r) => Some(*r),
            Operand::Imm(_) => None,
        };
        let base = |b: &Base| match b {
            Base::Reg(r) => Some(*r),
            Base::Fp => None,
        };
        match self {
            Inst::Entry { .. }
            | Inst::MovImm64 { .. }
            | Inst::StackAddr { .. }
            | Inst::LoadMap { .. }
            | Inst::LoadMapValue { .. }
            | Inst::Jump { .. }
            | Inst::Label(_)
            | Inst::Exit { .. } => vec![],
            Inst::Mov { src, .. } => op(src).into_iter().collect(),
            Inst::Mov32 { src, .. } => vec![*src],
            Inst::Alu { dst, src, .. } => std::iter::once(*dst).chain(op(src)).collect(),
            Inst::Neg { dst } => vec![*dst],
            Inst::Load { base: b, .. } => base(b).into_iter().collect(),
            Inst::Store { base: b, src, .. } => base(b).into_iter().chain(op(src)).collect(),
            Inst::AtomicAdd { base, src, .. } => vec![*base, *src],
            Inst::Call { args, .. } => args.iter().filter_map(op).collect(),
            Inst::Branch { lhs, rhs, .. } => std::iter::once(*lhs).chain(op(rhs)).collect(),
        }
    }

    /// The virtual register this instruction writes.
    pub fn def(&self) -> Option<VReg> {
        match self {
            Inst::Entry { ctx } => Some(*ctx),
            Inst::Mov { dst, .. }
            | Inst::MovImm64 { dst, .. }
            | Inst::Mov32 { dst, .. }
            | Inst::Alu { dst, .. }
            | Inst::Neg { dst }
            | Inst::Load { dst, .. }
            | Inst::StackAddr { dst, .. }
            | Inst::LoadMap { dst, .. }
            | Inst::LoadMapValue { dst, .. } => Some(*dst),
            Inst::Call { ret, .. } => *ret,
            Inst::Store { .. }
            | Inst::AtomicAdd { .. }
            | Inst::Jump { .. }
            | Inst::Branch { .. }
            | Inst::Label(_)
            | Inst::Exit { .. } => None,
        }
    }

    /// Rewrites every virtual register (uses and def) through `f`.
    pub fn map_regs(&mut self, f: &mut dyn FnMut(VReg, bool) -> VReg) {
        let op = |o: &mut Operand, f: &mut dyn FnMut(VReg, bool) -> VReg| {
            if let Operand::Reg(r) = o {
                *r = f(*r, false);
            }
        };
        let base = |b: &mut Base, f: &mut dyn FnMut(VReg, bool) -> VReg| {
            if let Base::Reg(r) = b {
                *r = f(*r, false);
            }
        };
        match self {
            Inst::Entry { ctx } => *ctx = f(*ctx, true),
            Inst::Mov { dst, src } => {
                op(src, f);
                *dst = f(*dst, true);
            }
            Inst::MovImm64 { dst, .. }
            | Inst::StackAddr { dst, .. }
            | Inst::LoadMap { dst, .. }
            | Inst::LoadMapValue { dst, .. } => *dst = f(*dst, true),
            Inst::AtomicAdd { base, src, .. } => {
                *base = f(*base, false);
                *src = f(*src, false);
            }
            Inst::Mov32 { dst, src } => {
                *src = f(*src, false);
                *dst = f(*dst, true);
            }
            // Two-address: the register is read and written; callers see it once as a use.
            Inst::Alu { dst, src, .. } => {
                op(src, f);
                *dst = f(*dst, false);
            }
            Inst::Neg { dst } => *dst = f(*dst, false),
            Inst::Load { dst, base: b, .. } => {
                base(b, f);
                *dst = f(*dst, true);
            }
            Inst::Store { base: b, src, .. } => {
                base(b, f);
                op(src, f);
            }
            Inst::Call { args, ret, .. } => {
                for a in args.iter_mut() {
                    op(a, f);
                }
                if let Some(r) = ret {
                    *r = f(*r, true);
                }
            }
            Inst::Branch { lhs, rhs, .. } => {
                *lhs = f(*lhs, false);
                op(rhs, f);
            }
            Inst::Jump { .. } | Inst::Label(_) | Inst::Exit { .. } => {}
        }
    }

    /// Whether control never falls through to the next instruction.
    pub fn is_terminator(&self) -> bool {
        matches!(self, Inst::Jump { .. } | Inst::Exit { .. })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spanned {
    pub inst: Inst,
    pub span: Span,
}

/// One eBPF program in IR form.
#[derive(Clone, Debug, Default)]
pub struct Function {
    pub name: String,
    pub insts: Vec<Spanned>,
    pub next_vreg: u32,
    pub next_label: u32,
    /// Bytes of stack below r10 that lowering uses (slots at r10-frame..r10).
    pub frame: u32,
}

impl Function {
    pub fn new(name: impl Into<String>) -> Function {
        Function {
            name: name.into(),
            ..Function::default()
        }
    }

    pub fn vreg(&mut self) -> VReg {
        self.next_vreg += 1;
        VReg(self.next_vreg - 1)
    }

    pub fn label(&mut self) -> Label {
        self.next_label += 1;
        Label(self.next_label - 1)
    }

    pub fn push(&mut self, inst: Inst, span: Span) {
        self.insts.push(Spanned { inst, span });
    }

    /// Drops instructions no path from the entry reaches (e.g. the `else` of `if (1)`): the
    /// kernel verifier rejects a program with unreachable instructions.
    pub fn remove_unreachable(&mut self) {
        let position: std::collections::HashMap<Label, usize> = self
            .insts
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s.inst {
                Inst::Label(l) => Some((l, i)),
                _ => None,
            })
            .collect();
        let mut reachable = vec![false; self.insts.len()];
        let mut work = vec![0usize];
        while let Some(i) = work.pop() {
            if i >= self.insts.len() || reachable[i] {
                continue;
            }
            reachable[i] = true;
            let inst = &self.insts[i].inst;
            if let Inst::Jump { target } | Inst::Branch { target, .. } = inst
                && let Some(&at) = position.get(target)
            {
                work.push(at);
            }
            if !inst.is_terminator() {
                work.push(i + 1);
            }
        }
        let mut keep = reachable.into_iter();
        self.insts.retain(|_| keep.next().unwrap_or(true));
    }
}
