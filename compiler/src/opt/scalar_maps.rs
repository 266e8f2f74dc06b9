//! Scalar aggregation maps in per-CPU arrays. `@n = count()` (no key) is lowered for a per-CPU
//! hash: look up key 0, add in place, or else insert the first value with an update call (and
//! count a failed update). A one-entry per-CPU array always has that entry, so its lookup is
//! the kernel's inlined array access (no hash, no locking) and the insert path is dead; it is
//! removed by the unreachable-code pass that follows.
//!
//! Only aggregations whose value is never all zeros once set qualify (count, avg, stats, min,
//! max: the runtime prints array slots that are not all zeros, as bpftrace prints keys that were
//! assigned; `sum` can legitimately be 0 and stays a hash). A map that is printed, cleared,
//! zeroed or deleted, or used in any other shape than lowering's lookup-or-insert, is left as
//! it is.

use crate::bpf::{Helper, Size};
use crate::ir::{Base, Cond, Inst, Label, Operand};
use crate::lower::Lowered;
use crate::manifest::{EventSpec, Layout, MapKind, MapRole, MapValue};
use crate::types::AggKind;

pub fn run(lowered: &mut Lowered) {
    for m in 0..lowered.maps.len() {
        if !qualifies(lowered, m) {
            continue;
        }
        let Some(retargets) = lookup_sites(lowered, m) else {
            continue;
        };
        for (p, at, done) in retargets {
            if let Inst::Branch { target, .. } = &mut lowered.programs[p].func.insts[at].inst {
                *target = done;
            }
        }
        let spec = &mut lowered.maps[m];
        spec.kind = MapKind::PerCpuArray;
        spec.key = Layout {
            size: 4,
            fields: Vec::new(),
        };
        spec.max_entries = 1;
    }
}

fn qualifies(lowered: &Lowered, m: usize) -> bool {
    let spec = &lowered.maps[m];
    let scalar = spec.key.size == 8 && spec.key.fields.is_empty();
    let never_zero = matches!(
        spec.value,
        MapValue::Agg(AggKind::Count | AggKind::Avg | AggKind::Stats | AggKind::Min | AggKind::Max)
    );
    let Some(user) = spec.user_name.as_deref() else {
        return false;
    };
    let touched_by_event = lowered.events.iter().any(|e| match e {
        EventSpec::Print { map, .. } | EventSpec::Clear { map } | EventSpec::Zero { map } => {
            map == user
        }
        _ => false,
    });
    spec.role == MapRole::User
        && spec.kind == MapKind::PerCpuHash
        && scalar
        && never_zero
        && !touched_by_event
}

/// Every use of map `m` must be a lookup of key 0 followed by `if p == 0 goto absent`, where
/// `absent` starts the insert path right after `goto done`; or the insert path's update call.
/// Returns (program, branch index, done) for each lookup, or `None` if any use is different.
fn lookup_sites(lowered: &Lowered, m: usize) -> Option<Vec<(usize, usize, Label)>> {
    let mut sites = Vec::new();
    for (p, program) in lowered.programs.iter().enumerate() {
        let insts: Vec<&Inst> = program.func.insts.iter().map(|s| &s.inst).collect();
        for (i, inst) in insts.iter().enumerate() {
            if !matches!(inst, Inst::LoadMap { map, .. } if *map == m) {
                continue;
            }
            let key = match insts.get(i.wrapping_sub(1)) {
                Some(Inst::Store {
                    base: Base::Fp,
                    off,
                    size: Size::DW,
                    src: Operand::Imm(0),
                }) => Some(*off),
                _ => None,
            };
            match (key, insts.get(i + 1), insts.get(i + 2), insts.get(i + 3)) {
                (
                    Some(key),
                    Some(Inst::StackAddr { off, .. }),
                    Some(Inst::Call {
                        helper: Helper::MapLookupElem,
                        ret: Some(ptr),
                        ..
                    }),
                    Some(Inst::Branch {
                        cond: Cond::Eq,
                        lhs,
                        rhs: Operand::Imm(0),
                        target: absent,
                    }),
                ) if *off == key && lhs == ptr => {
                    let at = insts.iter().position(|x| **x == Inst::Label(*absent))?;
                    let Some(Inst::Jump { target: done }) = insts.get(at.checked_sub(1)?) else {
                        return None;
                    };
                    sites.push((p, i + 3, *done));
                }
                _ => {
                    // The insert path: `m = map; k = fp + key; v = fp + val; update(m, k, v, _)`.
                    let update = matches!(
                        (insts.get(i + 1), insts.get(i + 2), insts.get(i + 3)),
                        (
                            Some(Inst::StackAddr { .. }),
                            Some(Inst::StackAddr { .. }),
                            Some(Inst::Call {
                                helper: Helper::MapUpdateElem,
                                ..
                            })
                        )
                    );
                    if !update {
                        return None;
                    }
                }
            }
        }
    }
    Some(sites)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lower::{LowerOptions, lower};

    fn optimized(source: &str) -> Lowered {
        let mut program = crate::parse(source).unwrap();
        let checked =
            crate::check::check_with_warnings(&mut program, &crate::NoEnv, &Default::default())
                .0
                .unwrap();
        let mut l = lower(&program, &checked, source, &LowerOptions::default()).unwrap();
        crate::opt::optimize(&mut l);
        l
    }

    fn calls(l: &Lowered, helper: Helper) -> usize {
        l.programs
            .iter()
            .flat_map(|p| &p.func.insts)
            .filter(|s| matches!(s.inst, Inst::Call { helper: h, .. } if h == helper))
            .count()
    }

    #[test]
    fn a_scalar_count_is_a_per_cpu_array_without_an_insert_path() {
        let l = optimized("uprobe:/bin/true:main { @n = count(); @m = max(pid); }");
        for name in ["@n", "@m"] {
            let spec = l
                .maps
                .iter()
                .find(|s| s.user_name.as_deref() == Some(name))
                .unwrap();
            assert_eq!(spec.kind, MapKind::PerCpuArray, "{name}");
            assert_eq!((spec.key.size, spec.max_entries), (4, 1));
        }
        assert_eq!(calls(&l, Helper::MapUpdateElem), 0);
    }

    #[test]
    fn sums_keys_and_printed_maps_stay_hashes() {
        let l = optimized(
            "uprobe:/bin/true:main { @s = sum(pid); @k[tid] = count(); @p = count(); print(@p); }",
        );
        for name in ["@s", "@k", "@p"] {
            let spec = l
                .maps
                .iter()
                .find(|s| s.user_name.as_deref() == Some(name))
                .unwrap();
            assert_eq!(spec.kind, MapKind::PerCpuHash, "{name}");
        }
        assert_eq!(calls(&l, Helper::MapUpdateElem), 3);
    }
}
