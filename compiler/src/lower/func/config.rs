//! Values the runtime writes into the Config map before attaching ([`MapRole::Config`]):
//! `elapsed`'s start time and `tpid`, the target's pid.
//!
//! [`MapRole::Config`]: crate::manifest::MapRole::Config

use super::{Lower, R};
use crate::bpf::Size;
use crate::ir::{Base, Inst, Operand, VReg};

impl Lower<'_, '_, '_> {
    /// The u64 in Config slot `slot` (0 if the lookup fails, which an array map never does
    /// for a slot in range).
    pub(super) fn config_slot(&mut self, slot: u32) -> R<VReg> {
        let config = self.module.config_map();
        let mark = self.sp;
        let key = self.alloc(4)?;
        self.emit(Inst::Store {
            base: Base::Fp,
            off: key,
            size: Size::W,
            src: Operand::Imm(slot as i32),
        });
        let p = self.lookup(config, key);
        self.sp = mark;
        let value = self.vreg();
        self.emit(Inst::Mov {
            dst: value,
            src: Operand::Imm(0),
        });
        let absent = self.label();
        self.branch_if_zero(p, absent);
        self.emit(Inst::Load {
            dst: value,
            base: Base::Reg(p),
            off: 0,
            size: Size::DW,
        });
        self.emit(Inst::Label(absent));
        Ok(value)
    }
}
