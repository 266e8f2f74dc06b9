//! eBPF opcode fields, as the kernel's `linux/bpf.h` and `bpf_common.h` define them.
//! An opcode byte is `class | size | mode` for loads/stores and `class | op | source` for ALU
//! and jumps.

// Instruction classes (low 3 bits).
pub const LD: u8 = 0x00;
pub const LDX: u8 = 0x01;
pub const ST: u8 = 0x02;
pub const STX: u8 = 0x03;
pub const ALU: u8 = 0x04;
pub const JMP: u8 = 0x05;
pub const JMP32: u8 = 0x06;
pub const ALU64: u8 = 0x07;

// Load/store sizes.
pub const W: u8 = 0x00;
pub const H: u8 = 0x08;
pub const B: u8 = 0x10;
pub const DW: u8 = 0x18;

// Load/store modes.
pub const IMM: u8 = 0x00;
pub const MEM: u8 = 0x60;
pub const ATOMIC: u8 = 0xc0;

// Operand source: immediate or register.
pub const K: u8 = 0x00;
pub const X: u8 = 0x08;

// ALU operations.
pub const ADD: u8 = 0x00;
pub const SUB: u8 = 0x10;
pub const MUL: u8 = 0x20;
pub const DIV: u8 = 0x30;
pub const OR: u8 = 0x40;
pub const AND: u8 = 0x50;
pub const LSH: u8 = 0x60;
pub const RSH: u8 = 0x70;
pub const NEG: u8 = 0x80;
pub const MOD: u8 = 0x90;
pub const XOR: u8 = 0xa0;
pub const MOV: u8 = 0xb0;
pub const ARSH: u8 = 0xc0;

// Jump operations.
pub const JA: u8 = 0x00;
pub const JEQ: u8 = 0x10;
pub const JGT: u8 = 0x20;
pub const JGE: u8 = 0x30;
pub const JSET: u8 = 0x40;
pub const JNE: u8 = 0x50;
pub const JSGT: u8 = 0x60;
pub const JSGE: u8 = 0x70;
pub const CALL: u8 = 0x80;
pub const EXIT: u8 = 0x90;
pub const JLT: u8 = 0xa0;
pub const JLE: u8 = 0xb0;
pub const JSLT: u8 = 0xc0;
pub const JSLE: u8 = 0xd0;

/// `LD | IMM | DW`: the two-slot 64-bit immediate load (`0x18`).
pub const LD_IMM64: u8 = LD | IMM | DW;
/// `src_reg` of an LD_IMM64 that the loader turns into a map fd reference.
pub const PSEUDO_MAP_FD: u8 = 1;
/// LD_IMM64 src: the address of a map's value at `imm` bytes (data sections, e.g. `.bss`).
pub const PSEUDO_MAP_VALUE: u8 = 2;

pub fn class(code: u8) -> u8 {
    code & 0x07
}
