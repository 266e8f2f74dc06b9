//! Optimisation passes over lowered IR, run between lowering and register allocation. Each
//! pass lives in its own file, keeps the program's meaning, and may decline to change anything.

pub mod failure_counters;
pub mod scalar_maps;
pub mod unreachable;
pub mod values;

use crate::lower::Lowered;

/// Runs every pass, in order: map choices that make code dead, then dead-code removal, then
/// the rewriting of what remains.
pub fn optimize(lowered: &mut Lowered) {
    scalar_maps::run(lowered);
    for p in &mut lowered.programs {
        unreachable::run(&mut p.func);
    }
    failure_counters::run(lowered);
    for p in &mut lowered.programs {
        values::run(&mut p.func);
    }
}
