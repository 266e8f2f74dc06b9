//! Values computed once. Lowering evaluates every expression where it appears, so a probe that
//! names `tid` three times calls `bpf_get_current_pid_tgid` three times and zero-extends its
//! result three times. Within one run of a program the task, its ids, its credentials and the
//! CPU cannot change, so such a call made on every path (before any branch skips it) serves
//! all the later ones; the same goes for a zero-extension of a value that never changes. The
//! later instances become copies, and copies of values that never change are propagated away.
//!
//! Addresses (a stack slot's, a map's) used three times or more are formed once too.
//!
//! Works on programs without loops (no backward jumps) and only on registers written exactly
//! once that no path reads before that write; anything else is left as it is.

use crate::bpf::Helper;
use crate::ir::{Function, Inst, Operand, VReg};
use std::collections::HashMap;

pub fn run(func: &mut Function) {
    // A copy propagated can make two later values equal (`(u32)a`, `(u32)b` with `b = a`).
    for _ in 0..4 {
        if !run_once(func) {
            break;
        }
    }
}

/// One round of numbering and propagation; whether anything changed.
fn run_once(func: &mut Function) -> bool {
    let Some(skipped) = skipped_positions(func) else {
        return false;
    };
    let defs = def_counts(func);
    let once = |v: VReg| defs.get(&v) == Some(&1);
    let undefined_on_some_path = crate::regalloc::live_at_entry(func);
    let stable = |v: VReg| once(v) && !undefined_on_some_path.contains(&v);

    let mut instances: HashMap<Value, usize> = HashMap::new();
    for s in &func.insts {
        if let Some((value, _)) = value_of(&s.inst) {
            *instances.entry(value).or_insert(0) += 1;
        }
    }
    // Instances of the same value after one that every path runs become copies of it.
    let mut first: HashMap<Value, VReg> = HashMap::new();
    let mut changed = false;
    for (i, s) in func.insts.iter_mut().enumerate() {
        let Some((value, dst)) = value_of(&s.inst) else {
            continue;
        };
        if !stable(dst)
            || value.operand().is_some_and(|v| !stable(v))
            || instances[&value] < value.worth_sharing_from()
        {
            continue;
        }
        match first.get(&value) {
            Some(&earlier) => {
                s.inst = Inst::Mov {
                    dst,
                    src: Operand::Reg(earlier),
                };
                changed = true;
            }
            None if !skipped[i] => {
                first.insert(value, dst);
            }
            None => {}
        }
    }
    propagate_copies(func, &stable) || changed
}

/// A value an instruction computes that depends only on its operand (and the running task).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Value {
    Helper(Helper),
    ZeroExtend32(VReg),
    /// `r10 + off`
    StackAddr(i16),
    /// A map's address (LD_IMM64).
    Map(usize),
}

impl Value {
    fn operand(self) -> Option<VReg> {
        match self {
            Value::ZeroExtend32(v) => Some(v),
            Value::Helper(_) | Value::StackAddr(_) | Value::Map(_) => None,
        }
    }

    /// How many instances make sharing one register pay. An address costs two instructions to
    /// form and one to copy into an argument register, so it pays from the third instance;
    /// the shared register lives across calls, so two instances are left alone. (Register
    /// allocation forms it again at each use rather than spilling it.)
    fn worth_sharing_from(self) -> usize {
        match self {
            Value::Helper(_) | Value::ZeroExtend32(_) => 2,
            Value::StackAddr(_) | Value::Map(_) => 3,
        }
    }
}

fn value_of(inst: &Inst) -> Option<(Value, VReg)> {
    match inst {
        Inst::Call {
            helper,
            args,
            ret: Some(ret),
        } if args.is_empty() && fixed_per_run(*helper) => Some((Value::Helper(*helper), *ret)),
        Inst::Mov32 { dst, src } => Some((Value::ZeroExtend32(*src), *dst)),
        Inst::StackAddr { dst, off } => Some((Value::StackAddr(*off), *dst)),
        Inst::LoadMap { dst, map } => Some((Value::Map(*map), *dst)),
        _ => None,
    }
}

/// Helpers whose result cannot change while one program runs (it runs on one CPU, for one
/// task, with migration disabled).
fn fixed_per_run(helper: Helper) -> bool {
    matches!(
        helper,
        Helper::GetCurrentPidTgid
            | Helper::GetCurrentUidGid
            | Helper::GetCurrentTask
            | Helper::GetSmpProcessorId
            | Helper::GetNumaNodeId
            | Helper::GetCurrentCgroupId
    )
}

/// `dst = src` where both never change: every read of `dst` reads `src` instead.
fn propagate_copies(func: &mut Function, stable: &dyn Fn(VReg) -> bool) -> bool {
    let mut replace: HashMap<VReg, VReg> = HashMap::new();
    for s in &func.insts {
        if let Inst::Mov {
            dst,
            src: Operand::Reg(src),
        } = s.inst
            && stable(dst)
            && stable(src)
        {
            replace.insert(dst, src);
        }
    }
    if replace.is_empty() {
        return false;
    }
    let resolve = |mut v: VReg| {
        while let Some(&to) = replace.get(&v) {
            v = to;
        }
        v
    };
    func.insts
        .retain(|s| !matches!(s.inst, Inst::Mov { dst, .. } if replace.contains_key(&dst)));
    for s in &mut func.insts {
        s.inst
            .map_regs(&mut |v, is_def| if is_def { v } else { resolve(v) });
    }
    true
}

fn def_counts(func: &Function) -> HashMap<VReg, usize> {
    let mut counts = HashMap::new();
    for s in &func.insts {
        if let Some(v) = s.inst.def() {
            *counts.entry(v).or_insert(0) += 1;
        }
    }
    counts
}

/// For each instruction, whether some jump passes over it (from before it to after it), so
/// that it does not run on every path to what follows. `None` when the function has a
/// backward jump (a loop), where position says nothing about order of execution.
fn skipped_positions(func: &Function) -> Option<Vec<bool>> {
    let n = func.insts.len();
    let mut label_at = vec![usize::MAX; func.next_label as usize];
    for (i, s) in func.insts.iter().enumerate() {
        if let Inst::Label(l) = s.inst {
            label_at[l.0 as usize] = i;
        }
    }
    // +1 where a jumped-over range starts, -1 where it ends.
    let mut delta = vec![0i32; n + 1];
    for (i, s) in func.insts.iter().enumerate() {
        if let Inst::Jump { target } | Inst::Branch { target, .. } = s.inst {
            let at = *label_at.get(target.0 as usize)?;
            if at == usize::MAX || at <= i {
                return None;
            }
            delta[i + 1] += 1;
            delta[at] -= 1;
        }
    }
    let mut depth = 0;
    Some(
        delta[..n]
            .iter()
            .map(|d| {
                depth += d;
                depth > 0
            })
            .collect(),
    )
}
