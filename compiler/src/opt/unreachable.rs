//! Unreachable code removal: instructions no path from the entry reaches are dropped (labels
//! included; a reachable jump never targets an unreachable label). Other passes leave such
//! code behind when they retarget branches.

use crate::ir::{Function, Inst};

pub fn run(func: &mut Function) {
    let n = func.insts.len();
    let mut label_at = vec![usize::MAX; func.next_label as usize];
    for (i, s) in func.insts.iter().enumerate() {
        if let Inst::Label(l) = s.inst {
            label_at[l.0 as usize] = i;
        }
    }
    let mut reached = vec![false; n];
    let mut work = vec![0];
    while let Some(i) = work.pop() {
        if i >= n || reached[i] {
            continue;
        }
        reached[i] = true;
        match &func.insts[i].inst {
            Inst::Jump { target } => work.push(label_at[target.0 as usize]),
            Inst::Exit { .. } => {}
            Inst::Branch { target, .. } => {
                work.push(label_at[target.0 as usize]);
                work.push(i + 1);
            }
            _ => work.push(i + 1),
        }
    }
    let mut i = 0;
    func.insts.retain(|_| {
        i += 1;
        reached[i - 1]
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Cond, Operand};
    use crate::span::Span;

    #[test]
    fn code_after_a_jump_up_to_a_used_label_goes() {
        let mut f = Function::new("t");
        let v = f.vreg();
        let (dead, live) = (f.label(), f.label());
        for inst in [
            Inst::Mov {
                dst: v,
                src: Operand::Imm(1),
            },
            Inst::Jump { target: live },
            Inst::Label(dead),
            Inst::Branch {
                cond: Cond::Eq,
                lhs: v,
                rhs: Operand::Imm(0),
                target: dead,
            },
            Inst::Label(live),
            Inst::Exit { value: 0 },
        ] {
            f.push(inst, Span::default());
        }
        run(&mut f);
        let kept: Vec<&Inst> = f.insts.iter().map(|s| &s.inst).collect();
        assert_eq!(
            kept,
            [
                &Inst::Mov {
                    dst: v,
                    src: Operand::Imm(1)
                },
                &Inst::Jump { target: live },
                &Inst::Label(live),
                &Inst::Exit { value: 0 },
            ]
        );
    }
}
