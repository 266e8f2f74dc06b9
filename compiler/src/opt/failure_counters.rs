//! Cheap failure counters. Lowering counts a failed ring-buffer output or map update with a
//! lookup in a per-CPU array (`counters[slot]++`): a key store, a map load, a helper call the
//! kernel inlines into ~8 instructions, a null check and a read-modify-write — about 18
//! instructions after the kernel's rewriting, in every program, per failure site. This pass
//! turns the counters into one global `.bss` value and each site into three instructions: a
//! direct pointer to the slot (LD_IMM64 with a map-value relocation, never null) and an atomic
//! add. The counter is shared by all CPUs, but it is only touched when something fails.
//!
//! All or nothing: if any use of the counters map is not the exact shape lowering emits, the
//! object keeps the per-CPU array and nothing is rewritten.

use crate::bpf::{Helper, Size};
use crate::ir::{AluOp, Base, Cond, Function, Inst, Operand, Spanned, VReg};
use crate::lower::Lowered;
use crate::manifest::{FieldKind, Layout, LayoutField, MapKind, MapRole, MapValue};
use std::collections::HashMap;

/// The counters map's name once it is a data section (aya names such maps by section).
pub const SECTION: &str = ".bss";

pub fn run(lowered: &mut Lowered) {
    let Some(counters) = lowered
        .maps
        .iter()
        .position(|m| m.role == MapRole::Counters && m.kind == MapKind::PerCpuArray)
    else {
        return;
    };
    let slots = lowered.maps[counters].max_entries;
    let mut sites = Vec::new();
    for (p, program) in lowered.programs.iter().enumerate() {
        let uses = use_counts(&program.func);
        for (i, s) in program.func.insts.iter().enumerate() {
            if matches!(s.inst, Inst::LoadMap { map, .. } if map == counters) {
                match site_at(&program.func, &uses, i, counters) {
                    Some(site) if (site.slot as u32) < slots => sites.push((p, site)),
                    _ => return,
                }
            }
        }
    }
    // Back to front, so earlier indices stay valid.
    for (p, site) in sites.into_iter().rev() {
        let func = &mut lowered.programs[p].func;
        let span = func.insts[site.start + 3].span;
        let one = func.vreg();
        let new = [
            Inst::LoadMapValue {
                dst: site.ptr,
                map: counters,
                off: site.slot * 8,
            },
            Inst::Mov {
                dst: one,
                src: Operand::Imm(1),
            },
            Inst::AtomicAdd {
                base: site.ptr,
                off: 0,
                src: one,
            },
        ];
        func.insts.splice(
            site.start..site.start + SITE_LEN,
            new.into_iter().map(|inst| Spanned { inst, span }),
        );
    }
    let map = &mut lowered.maps[counters];
    map.name = SECTION.into();
    map.kind = MapKind::Global;
    map.max_entries = 1;
    map.value = MapValue::Plain(Layout {
        size: slots * 8,
        fields: (0..slots)
            .map(|slot| LayoutField {
                name: None,
                offset: slot * 8,
                kind: FieldKind::Int {
                    size: 8,
                    signed: false,
                },
            })
            .collect(),
    });
}

/// One failure site: instructions `start..start + SITE_LEN`, ending just before the label.
struct Site {
    start: usize,
    slot: i32,
    ptr: crate::ir::VReg,
}

/// key store, map load, key address, lookup, null check, load, add, store.
const SITE_LEN: usize = 8;

/// Matches, around the `LoadMap` at `at`:
/// `*(u32 *)(fp + k) = slot; m = map; a = fp + k; p = lookup(m, a); if p == 0 goto L;
///  t = *(u64 *)(p + 0); t += 1; *(u64 *)(p + 0) = t; L:`
/// How many instructions of `func` read each virtual register.
fn use_counts(func: &Function) -> HashMap<VReg, usize> {
    let mut counts = HashMap::new();
    for s in &func.insts {
        for v in s.inst.uses() {
            *counts.entry(v).or_insert(0) += 1;
        }
    }
    counts
}

fn site_at(
    func: &Function,
    uses: &HashMap<VReg, usize>,
    at: usize,
    counters: usize,
) -> Option<Site> {
    let start = at.checked_sub(1)?;
    let w: Vec<&Inst> = func
        .insts
        .get(start..start + SITE_LEN + 1)?
        .iter()
        .map(|s| &s.inst)
        .collect();
    let (
        Inst::Store {
            base: Base::Fp,
            off: key,
            size: Size::W,
            src: Operand::Imm(slot),
        },
        Inst::LoadMap { dst: m, map },
        Inst::StackAddr { dst: a, off: key2 },
        Inst::Call {
            helper: Helper::MapLookupElem,
            args,
            ret: Some(p),
        },
        Inst::Branch {
            cond: Cond::Eq,
            lhs: p2,
            rhs: Operand::Imm(0),
            target: done,
        },
        Inst::Load {
            dst: t,
            base: Base::Reg(p3),
            off: 0,
            size: Size::DW,
        },
        Inst::Alu {
            op: AluOp::Add,
            dst: t2,
            src: Operand::Imm(1),
        },
        Inst::Store {
            base: Base::Reg(p4),
            off: 0,
            size: Size::DW,
            src: Operand::Reg(t3),
        },
        Inst::Label(l),
    ) = (w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8])
    else {
        return None;
    };
    let shape = *map == counters
        && key == key2
        && args.as_slice() == [Operand::Reg(*m), Operand::Reg(*a)]
        && p == p2
        && p == p3
        && p == p4
        && t == t2
        && t == t3
        && done == l;
    // The temporaries must be private to the site: nothing outside reads them.
    // (Counted once per function: scanning the function per site would be quadratic.)
    let private = |v: VReg| {
        let inside = func.insts[start..start + SITE_LEN]
            .iter()
            .filter(|s| s.inst.uses().contains(&v))
            .count();
        uses.get(&v).copied().unwrap_or(0) == inside
    };
    (shape && private(*m) && private(*a) && private(*p) && private(*t)).then_some(Site {
        start,
        slot: *slot,
        ptr: *p,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lower::{LowerOptions, lower};
    use crate::{CompileOptions, NoEnv, compile};

    fn lowered(source: &str) -> Lowered {
        let mut program = crate::parse(source).unwrap();
        let checked = crate::check::check_with_warnings(&mut program, &NoEnv, &Default::default())
            .0
            .unwrap();
        lower(&program, &checked, source, &LowerOptions::default()).unwrap()
    }

    fn count(l: &Lowered, pred: impl Fn(&Inst) -> bool) -> usize {
        l.programs
            .iter()
            .flat_map(|p| &p.func.insts)
            .filter(|s| pred(&s.inst))
            .count()
    }

    #[test]
    fn every_failure_site_becomes_an_atomic_add_on_a_global() {
        // Failed inserts are counted for maps that lose keys (here by `delete` and `clear`).
        let mut l = lowered(
            r#"uprobe:/bin/true:main { @a[pid] = 1; @b = sum(2); printf("x\n"); }
               END { delete(@a[1]); clear(@b); }"#,
        );
        let lookups_before = count(&l, |i| {
            matches!(
                i,
                Inst::Call {
                    helper: Helper::MapLookupElem,
                    ..
                }
            )
        });
        run(&mut l);
        let counters = l.maps.iter().find(|m| m.role == MapRole::Counters).unwrap();
        assert_eq!(counters.kind, MapKind::Global);
        assert_eq!(counters.name, SECTION);
        // Three u64 slots: lost events, dropped updates, lost exit() records.
        assert_eq!(counters.value.size(), 24);
        // Two map updates (slot 1) and two ring-buffer outputs (slot 0: printf, clear).
        let mut offs: Vec<i32> = l
            .programs
            .iter()
            .flat_map(|p| &p.func.insts)
            .filter_map(|s| match s.inst {
                Inst::LoadMapValue { off, .. } => Some(off),
                _ => None,
            })
            .collect();
        offs.sort();
        assert_eq!(offs, [0, 0, 8, 8]);
        assert_eq!(count(&l, |i| matches!(i, Inst::AtomicAdd { .. })), 4);
        let lookups_after = count(&l, |i| {
            matches!(
                i,
                Inst::Call {
                    helper: Helper::MapLookupElem,
                    ..
                }
            )
        });
        assert_eq!(lookups_before - lookups_after, 4);
    }

    #[test]
    fn an_unexpected_use_of_the_counters_map_leaves_everything_alone() {
        let mut l = lowered(r#"uprobe:/bin/true:main { printf("x\n"); }"#);
        // Break the site's shape: the pointer is read after the label.
        let func = &mut l.programs[0].func;
        let p = func
            .insts
            .iter()
            .find_map(|s| match s.inst {
                Inst::Call {
                    helper: Helper::MapLookupElem,
                    ret,
                    ..
                } => ret,
                _ => None,
            })
            .unwrap();
        let at = func.insts.len() - 1;
        func.insts.insert(
            at,
            Spanned {
                inst: Inst::Mov {
                    dst: p,
                    src: Operand::Reg(p),
                },
                span: Default::default(),
            },
        );
        let before = l.programs[0].func.insts.clone();
        run(&mut l);
        assert_eq!(l.programs[0].func.insts, before);
        let counters = l.maps.iter().find(|m| m.role == MapRole::Counters).unwrap();
        assert_eq!(counters.kind, MapKind::PerCpuArray);
    }

    #[test]
    fn the_object_has_a_bss_section_and_no_counters_lookup() {
        let out = compile(
            r#"uprobe:/bin/true:main { printf("x\n"); }"#,
            &NoEnv,
            &CompileOptions {
                dump_bpf: true,
                ..Default::default()
            },
        )
        .unwrap();
        use object::{Object, ObjectSection};
        let file = object::File::parse(&*out.object).unwrap();
        let bss = file.section_by_name(SECTION).unwrap();
        assert_eq!(bss.size(), 24);
        let text = out.bpf.unwrap();
        assert!(text.contains("lock *(u64 *)"), "{text}");
        assert!(!text.contains("bpf_map_lookup_elem"), "{text}");
    }
}
