//! Optimisation passes over lowered IR, run between lowering and register allocation. Each
//! pass lives in its own file, keeps the program's meaning, and may decline to change anything.

pub mod failure_counters;

use crate::lower::Lowered;

/// Runs every pass, in order.
pub fn optimize(lowered: &mut Lowered) {
    failure_counters::run(lowered);
}
