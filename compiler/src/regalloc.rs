//! Register allocation: linear scan over live intervals computed by dataflow liveness.
//!
//! Values live across a helper call go to the callee-saved r6–r9; the others may use any of
//! r0–r9. Call arguments prefer their argument register and call results r0, so most of the
//! moves around calls disappear. When registers run out, a value is spilled "everywhere": each
//! use reloads it from an 8-byte stack slot into a short-lived register and each definition
//! stores it back, then allocation starts over.

use crate::bpf::{Reg, Size};
use crate::ir::{Base, Function, Inst, Operand, Spanned, VReg};
use std::collections::HashSet;

/// The eBPF stack limit.
pub const STACK_LIMIT: u32 = 512;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    /// The machine register of each virtual register (indexed by `VReg.0`); `None` for vregs
    /// that no longer appear (spilled and rewritten).
    pub regs: Vec<Option<Reg>>,
    /// Stack bytes used below r10, lowering's slots plus spill slots.
    pub frame: u32,
}

impl Allocation {
    pub fn reg(&self, v: VReg) -> Reg {
        self.regs[v.0 as usize].expect("every remaining vreg is allocated")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RegallocError {
    #[error("the program needs {0} bytes of stack; eBPF allows 512")]
    StackTooBig(u32),
    #[error("out of registers")]
    OutOfRegisters,
}

/// Bit sets over vregs, one per instruction.
#[derive(Clone, PartialEq, Eq)]
struct Bits(Vec<u64>);

impl Bits {
    fn new(n: usize) -> Bits {
        Bits(vec![0; n.div_ceil(64)])
    }
    fn set(&mut self, v: VReg) {
        self.0[v.0 as usize / 64] |= 1 << (v.0 % 64);
    }
    fn clear(&mut self, v: VReg) {
        self.0[v.0 as usize / 64] &= !(1 << (v.0 % 64));
    }
    fn union(&mut self, other: &Bits) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a |= b;
        }
    }
    fn iter(&self) -> impl Iterator<Item = VReg> + '_ {
        self.0.iter().enumerate().flat_map(|(w, &bits)| {
            (0..64)
                .filter(move |b| bits & (1 << b) != 0)
                .map(move |b| VReg((w * 64 + b) as u32))
        })
    }
}

/// The instructions control may go to after `i`.
fn successors(func: &Function, label_at: &[usize], i: usize) -> Vec<usize> {
    let mut out = Vec::with_capacity(2);
    match &func.insts[i].inst {
        Inst::Jump { target } => out.push(label_at[target.0 as usize]),
        Inst::Exit { .. } => {}
        Inst::Branch { target, .. } => {
            out.push(i + 1);
            out.push(label_at[target.0 as usize]);
        }
        _ => out.push(i + 1),
    }
    out.retain(|&s| s < func.insts.len());
    out
}

struct Liveness {
    live_in: Vec<Bits>,
    live_out: Vec<Bits>,
}

fn liveness(func: &Function) -> Liveness {
    let n = func.insts.len();
    let nv = func.next_vreg as usize;
    let mut label_at = vec![usize::MAX; func.next_label as usize];
    for (i, s) in func.insts.iter().enumerate() {
        if let Inst::Label(l) = s.inst {
            label_at[l.0 as usize] = i;
        }
    }
    let succs: Vec<Vec<usize>> = (0..n).map(|i| successors(func, &label_at, i)).collect();
    let uses: Vec<Vec<VReg>> = func.insts.iter().map(|s| s.inst.uses()).collect();
    let defs: Vec<Option<VReg>> = func.insts.iter().map(|s| s.inst.def()).collect();
    let mut live_in = vec![Bits::new(nv); n];
    let mut live_out = vec![Bits::new(nv); n];
    let mut changed = true;
    while changed {
        changed = false;
        for i in (0..n).rev() {
            let mut out = Bits::new(nv);
            for &s in &succs[i] {
                out.union(&live_in[s]);
            }
            let mut inn = out.clone();
            if let Some(d) = defs[i] {
                inn.clear(d);
            }
            for &u in &uses[i] {
                inn.set(u);
            }
            if inn != live_in[i] || out != live_out[i] {
                live_in[i] = inn;
                live_out[i] = out;
                changed = true;
            }
        }
    }
    Liveness { live_in, live_out }
}

/// The virtual registers some path from the entry reads before writing them.
pub(crate) fn live_at_entry(func: &Function) -> Vec<VReg> {
    if func.insts.is_empty() {
        return Vec::new();
    }
    liveness(func).live_in[0].iter().collect()
}

/// Registers read before any write (a variable assigned on only some paths) start as 0, as in
/// bpftrace; the verifier rejects reads of uninitialised registers.
fn zero_init_live_in(func: &mut Function) {
    if func.insts.is_empty() {
        return;
    }
    let live = liveness(func);
    let undefined: Vec<VReg> = live.live_in[0].iter().collect();
    let at = usize::from(matches!(func.insts[0].inst, Inst::Entry { .. }));
    for v in undefined {
        func.insts.insert(
            at,
            Spanned {
                inst: Inst::Mov {
                    dst: v,
                    src: Operand::Imm(0),
                },
                span: Default::default(),
            },
        );
    }
}

#[derive(Clone, Copy, Debug)]
struct Interval {
    vreg: VReg,
    start: usize,
    end: usize,
    crosses_call: bool,
}

#[derive(Clone, Copy)]
enum Hint {
    Reg(Reg),
    SameAs(VReg),
}

const CALLEE_SAVED: [Reg; 4] = [Reg::R6, Reg::R7, Reg::R8, Reg::R9];
const ANY: [Reg; 10] = [
    Reg::R0,
    Reg::R1,
    Reg::R2,
    Reg::R3,
    Reg::R4,
    Reg::R5,
    Reg::R6,
    Reg::R7,
    Reg::R8,
    Reg::R9,
];

pub fn allocate(func: &mut Function) -> Result<Allocation, RegallocError> {
    zero_init_live_in(func);
    let mut frame = func.frame.div_ceil(8) * 8;
    let mut unspillable: HashSet<VReg> = HashSet::new();
    loop {
        match try_allocate(func, &unspillable) {
            Ok(regs) => {
                if frame > STACK_LIMIT {
                    return Err(RegallocError::StackTooBig(frame));
                }
                return Ok(Allocation { regs, frame });
            }
            Err(Some(victim)) => {
                if let Some(def) = rematerializable(func, victim) {
                    rematerialize(func, victim, &def, &mut unspillable);
                    continue;
                }
                frame += 8;
                if frame > STACK_LIMIT {
                    return Err(RegallocError::StackTooBig(frame));
                }
                spill(func, victim, -(frame as i32) as i16, &mut unspillable);
            }
            Err(None) => return Err(RegallocError::OutOfRegisters),
        }
    }
}

/// `Err(Some(v))`: spill `v` and try again.
fn try_allocate(
    func: &Function,
    unspillable: &HashSet<VReg>,
) -> Result<Vec<Option<Reg>>, Option<VReg>> {
    let nv = func.next_vreg as usize;
    let live = liveness(func);
    let mut span: Vec<Option<(usize, usize)>> = vec![None; nv];
    let mut crosses = vec![false; nv];
    let mut hints: Vec<Vec<Hint>> = vec![Vec::new(); nv];
    let mut extend = |v: VReg, i: usize| {
        let e = &mut span[v.0 as usize];
        *e = Some(match *e {
            None => (i, i),
            Some((s, t)) => (s.min(i), t.max(i)),
        });
    };
    for (i, s) in func.insts.iter().enumerate() {
        for v in s.inst.uses().into_iter().chain(s.inst.def()) {
            extend(v, i);
        }
        for v in live.live_out[i].iter() {
            extend(v, i);
        }
        match &s.inst {
            Inst::Call { args, ret, .. } => {
                for v in live.live_out[i].iter() {
                    if Some(v) != *ret {
                        crosses[v.0 as usize] = true;
                    }
                }
                for (k, a) in args.iter().enumerate() {
                    if let Operand::Reg(v) = a {
                        hints[v.0 as usize].push(Hint::Reg(Reg::ARGS[k]));
                    }
                }
                if let Some(r) = ret {
                    hints[r.0 as usize].push(Hint::Reg(Reg::R0));
                }
            }
            Inst::Entry { ctx } => hints[ctx.0 as usize].push(Hint::Reg(Reg::R1)),
            Inst::Mov {
                dst,
                src: Operand::Reg(src),
            }
            | Inst::Mov32 { dst, src } => {
                hints[dst.0 as usize].push(Hint::SameAs(*src));
                hints[src.0 as usize].push(Hint::SameAs(*dst));
            }
            _ => {}
        }
    }
    let mut intervals: Vec<Interval> = span
        .iter()
        .enumerate()
        .filter_map(|(v, s)| {
            s.map(|(start, end)| Interval {
                vreg: VReg(v as u32),
                start,
                end,
                crosses_call: crosses[v],
            })
        })
        .collect();
    intervals.sort_by_key(|iv| (iv.start, iv.end));

    let mut regs: Vec<Option<Reg>> = vec![None; nv];
    let mut active: Vec<Interval> = Vec::new();
    for cur in &intervals {
        // An interval ending where this one starts only reads its register there, before
        // this one writes it.
        active.retain(|a| a.end > cur.start);
        let candidates: &[Reg] = if cur.crosses_call {
            &CALLEE_SAVED
        } else {
            &ANY
        };
        let taken: Vec<Reg> = active
            .iter()
            .filter_map(|a| regs[a.vreg.0 as usize])
            .collect();
        let free = |r: &Reg| candidates.contains(r) && !taken.contains(r);
        let hinted = hints[cur.vreg.0 as usize].iter().find_map(|h| {
            let r = match *h {
                Hint::Reg(r) => Some(r),
                Hint::SameAs(v) => regs[v.0 as usize],
            }?;
            free(&r).then_some(r)
        });
        let chosen = hinted.or_else(|| candidates.iter().copied().find(|r| free(r)));
        match chosen {
            Some(r) => {
                regs[cur.vreg.0 as usize] = Some(r);
                active.push(*cur);
            }
            None => {
                // Spill whichever holder of a usable register lives longest, preferring a
                // value that is cheaper to form again than to store and reload.
                let victim = active
                    .iter()
                    .filter(|a| regs[a.vreg.0 as usize].is_some_and(|r| candidates.contains(&r)))
                    .chain(std::iter::once(cur))
                    .filter(|a| !unspillable.contains(&a.vreg))
                    .max_by_key(|a| (rematerializable(func, a.vreg).is_some(), a.end))
                    .map(|a| a.vreg);
                return Err(victim);
            }
        }
    }
    Ok(regs)
}

/// The one definition of `v` when it forms a constant (an immediate, a stack or map address):
/// forming it again at each use costs no more than storing and reloading it.
fn rematerializable(func: &Function, v: VReg) -> Option<Inst> {
    let mut defs = func.insts.iter().filter(|s| s.inst.def() == Some(v));
    let def = defs.next()?;
    if defs.next().is_some() {
        return None;
    }
    matches!(
        def.inst,
        Inst::StackAddr { .. }
            | Inst::LoadMap { .. }
            | Inst::LoadMapValue { .. }
            | Inst::MovImm64 { .. }
            | Inst::Mov {
                src: Operand::Imm(_),
                ..
            }
    )
    .then(|| def.inst.clone())
}

/// Replaces the register `victim` by its definition `def` repeated before each use.
fn rematerialize(func: &mut Function, victim: VReg, def: &Inst, unspillable: &mut HashSet<VReg>) {
    let old = std::mem::take(&mut func.insts);
    for mut s in old {
        if s.inst.def() == Some(victim) {
            continue;
        }
        if s.inst.uses().contains(&victim) {
            let temp = VReg(func.next_vreg);
            func.next_vreg += 1;
            unspillable.insert(temp);
            let mut again = def.clone();
            again.map_regs(&mut |_, _| temp);
            func.insts.push(Spanned {
                inst: again,
                span: s.span,
            });
            s.inst
                .map_regs(&mut |v, _| if v == victim { temp } else { v });
        }
        func.insts.push(s);
    }
}

/// Rewrites `victim` to live in the stack slot at `r10 + off`.
fn spill(func: &mut Function, victim: VReg, off: i16, unspillable: &mut HashSet<VReg>) {
    let old = std::mem::take(&mut func.insts);
    for mut s in old {
        let used = s.inst.uses().contains(&victim);
        let defined = s.inst.def() == Some(victim);
        if !used && !defined {
            func.insts.push(s);
            continue;
        }
        let temp = VReg(func.next_vreg);
        func.next_vreg += 1;
        unspillable.insert(temp);
        s.inst
            .map_regs(&mut |v, _| if v == victim { temp } else { v });
        let span = s.span;
        if used {
            func.insts.push(Spanned {
                inst: Inst::Load {
                    dst: temp,
                    base: Base::Fp,
                    off,
                    size: Size::DW,
                },
                span,
            });
        }
        func.insts.push(s);
        if defined {
            func.insts.push(Spanned {
                inst: Inst::Store {
                    base: Base::Fp,
                    off,
                    size: Size::DW,
                    src: Operand::Reg(temp),
                },
                span,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::Helper;
    use crate::ir::AluOp;
    use crate::span::Span;

    fn push(f: &mut Function, inst: Inst) {
        f.push(inst, Span::default());
    }

    #[test]
    fn values_across_calls_are_callee_saved() {
        let mut f = Function::new("t");
        let ctx = f.vreg();
        let a = f.vreg();
        let b = f.vreg();
        push(&mut f, Inst::Entry { ctx });
        push(
            &mut f,
            Inst::Call {
                helper: Helper::KtimeGetNs,
                args: vec![],
                ret: Some(a),
            },
        );
        push(
            &mut f,
            Inst::Call {
                helper: Helper::GetCurrentPidTgid,
                args: vec![],
                ret: Some(b),
            },
        );
        push(
            &mut f,
            Inst::Alu {
                op: AluOp::Add,
                dst: a,
                src: Operand::Reg(b),
            },
        );
        push(
            &mut f,
            Inst::Store {
                base: Base::Reg(ctx),
                off: 0,
                size: Size::DW,
                src: Operand::Reg(a),
            },
        );
        push(&mut f, Inst::Exit { value: 0 });
        let alloc = allocate(&mut f).unwrap();
        assert!(CALLEE_SAVED.contains(&alloc.reg(ctx)));
        assert!(CALLEE_SAVED.contains(&alloc.reg(a)));
        assert_ne!(alloc.reg(ctx), alloc.reg(a));
        assert_eq!(alloc.reg(b), Reg::R0);
        assert_eq!(alloc.frame, 0);
    }

    /// Six values live across a call, then summed and stored at `r10 - 8`; each value comes
    /// from `def(i, vreg)`.
    fn six_across_a_call(def: &dyn Fn(usize, VReg) -> Inst) -> Function {
        let mut f = Function::new("t");
        let vals: Vec<VReg> = (0..6).map(|_| f.vreg()).collect();
        for (i, &v) in vals.iter().enumerate() {
            push(&mut f, def(i, v));
        }
        push(
            &mut f,
            Inst::Call {
                helper: Helper::KtimeGetNs,
                args: vec![],
                ret: None,
            },
        );
        let sum = f.vreg();
        push(
            &mut f,
            Inst::Mov {
                dst: sum,
                src: Operand::Imm(0),
            },
        );
        for &v in &vals {
            push(
                &mut f,
                Inst::Alu {
                    op: AluOp::Add,
                    dst: sum,
                    src: Operand::Reg(v),
                },
            );
        }
        push(
            &mut f,
            Inst::Store {
                base: Base::Fp,
                off: -8,
                size: Size::DW,
                src: Operand::Reg(sum),
            },
        );
        f.frame = 8;
        push(&mut f, Inst::Exit { value: 0 });
        f
    }

    #[test]
    fn pressure_spills_to_the_stack() {
        let mut f = six_across_a_call(&|_, v| Inst::Load {
            dst: v,
            base: Base::Fp,
            off: -8,
            size: Size::DW,
        });
        let alloc = allocate(&mut f).unwrap();
        // Six values across a call, four callee-saved registers: two spill slots.
        assert_eq!(alloc.frame, 24);
        let stores = f
            .insts
            .iter()
            .filter(|s| matches!(s.inst, Inst::Store { base: Base::Fp, .. }))
            .count();
        assert_eq!(stores, 3);
    }

    #[test]
    fn constants_are_formed_again_rather_than_spilled() {
        let mut f = six_across_a_call(&|i, v| Inst::Mov {
            dst: v,
            src: Operand::Imm(i as i32),
        });
        let alloc = allocate(&mut f).unwrap();
        assert_eq!(alloc.frame, 8);
        let stores = f
            .insts
            .iter()
            .filter(|s| matches!(s.inst, Inst::Store { base: Base::Fp, .. }))
            .count();
        assert_eq!(stores, 1);
        let movs = f
            .insts
            .iter()
            .filter(|s| {
                matches!(
                    s.inst,
                    Inst::Mov {
                        src: Operand::Imm(_),
                        ..
                    }
                )
            })
            .count();
        // Two of the six (plus the sum's 0) are formed again at their use, after the call.
        assert_eq!(movs, 7);
    }

    #[test]
    fn conditionally_assigned_values_start_at_zero() {
        let mut f = Function::new("t");
        let v = f.vreg();
        let l = f.label();
        push(
            &mut f,
            Inst::Branch {
                cond: crate::ir::Cond::Eq,
                lhs: v,
                rhs: Operand::Imm(0),
                target: l,
            },
        );
        push(&mut f, Inst::Label(l));
        push(&mut f, Inst::Exit { value: 0 });
        allocate(&mut f).unwrap();
        assert_eq!(
            f.insts[0].inst,
            Inst::Mov {
                dst: v,
                src: Operand::Imm(0)
            }
        );
    }
}
