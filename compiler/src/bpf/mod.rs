//! eBPF machine code: opcodes, instructions and their encoding, helper ids, an assembler with
//! labels, and a bpftool-style disassembler.

pub mod asm;
pub mod disasm;
pub mod helpers;
pub mod insn;
pub mod opcode;

pub use asm::{AsmLabel, Assembled, Assembler, MapReloc};
pub use helpers::Helper;
pub use insn::{Insn, Reg, Size};
