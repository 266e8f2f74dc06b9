//! One eBPF instruction and its 8-byte encoding. A 64-bit immediate load (`LD_IMM64`) takes two
//! slots: the second holds the upper 32 bits in its `imm` and zeros elsewhere.

use super::opcode::*;

/// A machine register r0..r10 (r10 is the read-only frame pointer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reg(pub u8);

impl Reg {
    pub const R0: Reg = Reg(0);
    pub const R1: Reg = Reg(1);
    pub const R2: Reg = Reg(2);
    pub const R3: Reg = Reg(3);
    pub const R4: Reg = Reg(4);
    pub const R5: Reg = Reg(5);
    pub const R6: Reg = Reg(6);
    pub const R7: Reg = Reg(7);
    pub const R8: Reg = Reg(8);
    pub const R9: Reg = Reg(9);
    pub const FP: Reg = Reg(10);

    /// The argument registers r1..r5, in order.
    pub const ARGS: [Reg; 5] = [Reg::R1, Reg::R2, Reg::R3, Reg::R4, Reg::R5];
}

impl std::fmt::Display for Reg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "r{}", self.0)
    }
}

/// Load/store width.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Size {
    B,
    H,
    W,
    DW,
}

impl Size {
    pub fn bytes(self) -> u32 {
        match self {
            Size::B => 1,
            Size::H => 2,
            Size::W => 4,
            Size::DW => 8,
        }
    }

    pub fn from_bytes(bytes: u32) -> Option<Size> {
        match bytes {
            1 => Some(Size::B),
            2 => Some(Size::H),
            4 => Some(Size::W),
            8 => Some(Size::DW),
            _ => None,
        }
    }

    pub fn code(self) -> u8 {
        match self {
            Size::B => B,
            Size::H => H,
            Size::W => W,
            Size::DW => DW,
        }
    }

    fn from_code(code: u8) -> Size {
        match code & 0x18 {
            B => Size::B,
            H => Size::H,
            W => Size::W,
            _ => Size::DW,
        }
    }

    pub fn c_type(self) -> &'static str {
        match self {
            Size::B => "u8",
            Size::H => "u16",
            Size::W => "u32",
            Size::DW => "u64",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Insn {
    pub code: u8,
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    pub const fn new(code: u8, dst: Reg, src: Reg, off: i16, imm: i32) -> Insn {
        Insn {
            code,
            dst: dst.0,
            src: src.0,
            off,
            imm,
        }
    }

    pub fn encode(&self) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[0] = self.code;
        b[1] = (self.src << 4) | (self.dst & 0x0f);
        b[2..4].copy_from_slice(&self.off.to_le_bytes());
        b[4..8].copy_from_slice(&self.imm.to_le_bytes());
        b
    }

    pub fn decode(b: [u8; 8]) -> Insn {
        Insn {
            code: b[0],
            dst: b[1] & 0x0f,
            src: b[1] >> 4,
            off: i16::from_le_bytes([b[2], b[3]]),
            imm: i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        }
    }

    pub fn size(&self) -> Size {
        Size::from_code(self.code)
    }

    // ALU.
    pub fn alu64_imm(op: u8, dst: Reg, imm: i32) -> Insn {
        Insn::new(ALU64 | op | K, dst, Reg::R0, 0, imm)
    }
    pub fn alu64_reg(op: u8, dst: Reg, src: Reg) -> Insn {
        Insn::new(ALU64 | op | X, dst, src, 0, 0)
    }
    pub fn alu32_imm(op: u8, dst: Reg, imm: i32) -> Insn {
        Insn::new(ALU | op | K, dst, Reg::R0, 0, imm)
    }
    pub fn alu32_reg(op: u8, dst: Reg, src: Reg) -> Insn {
        Insn::new(ALU | op | X, dst, src, 0, 0)
    }
    pub fn mov64_imm(dst: Reg, imm: i32) -> Insn {
        Insn::alu64_imm(MOV, dst, imm)
    }
    pub fn mov64_reg(dst: Reg, src: Reg) -> Insn {
        Insn::alu64_reg(MOV, dst, src)
    }
    pub fn neg64(dst: Reg) -> Insn {
        Insn::new(ALU64 | NEG, dst, Reg::R0, 0, 0)
    }
    /// `dst = imm` for any 64-bit value: the two slots of LD_IMM64.
    pub fn ld_imm64(dst: Reg, imm: u64) -> [Insn; 2] {
        [
            Insn::new(LD_IMM64, dst, Reg::R0, 0, imm as u32 as i32),
            Insn::new(0, Reg::R0, Reg::R0, 0, (imm >> 32) as u32 as i32),
        ]
    }
    /// `dst = map` (fd filled in by the loader from the relocation).
    pub fn ld_map_fd(dst: Reg) -> [Insn; 2] {
        [
            Insn::new(LD_IMM64, dst, Reg(PSEUDO_MAP_FD), 0, 0),
            Insn::new(0, Reg::R0, Reg::R0, 0, 0),
        ]
    }

    /// `dst = &value_of(map) + off`: the loader sets the map and adds the symbol's offset.
    pub fn ld_map_value(dst: Reg, off: i32) -> [Insn; 2] {
        [
            Insn::new(LD_IMM64, dst, Reg(PSEUDO_MAP_VALUE), 0, off),
            Insn::new(0, Reg::R0, Reg::R0, 0, 0),
        ]
    }

    // Memory.
    pub fn ldx(size: Size, dst: Reg, src: Reg, off: i16) -> Insn {
        Insn::new(LDX | MEM | size.code(), dst, src, off, 0)
    }
    pub fn stx(size: Size, dst: Reg, off: i16, src: Reg) -> Insn {
        Insn::new(STX | MEM | size.code(), dst, src, off, 0)
    }
    pub fn st(size: Size, dst: Reg, off: i16, imm: i32) -> Insn {
        Insn::new(ST | MEM | size.code(), dst, Reg::R0, off, imm)
    }
    /// `lock *(size *)(dst + off) += src` (BPF_ATOMIC with BPF_ADD).
    pub fn atomic_add(size: Size, dst: Reg, off: i16, src: Reg) -> Insn {
        Insn::new(STX | ATOMIC | size.code(), dst, src, off, ADD as i32)
    }

    // Control flow.
    pub fn jmp_imm(op: u8, dst: Reg, imm: i32, off: i16) -> Insn {
        Insn::new(JMP | op | K, dst, Reg::R0, off, imm)
    }
    pub fn jmp_reg(op: u8, dst: Reg, src: Reg, off: i16) -> Insn {
        Insn::new(JMP | op | X, dst, src, off, 0)
    }
    pub fn ja(off: i16) -> Insn {
        Insn::new(JMP | JA, Reg::R0, Reg::R0, off, 0)
    }
    pub fn call(helper: i32) -> Insn {
        Insn::new(JMP | CALL, Reg::R0, Reg::R0, 0, helper)
    }
    pub fn exit() -> Insn {
        Insn::new(JMP | EXIT, Reg::R0, Reg::R0, 0, 0)
    }

    /// Whether this is a conditional or unconditional jump with a pc-relative offset.
    pub fn is_jump(&self) -> bool {
        let class = class(self.code);
        let op = self.code & 0xf0;
        (class == JMP || class == JMP32) && op != CALL && op != EXIT
    }
}

/// The bytes of a whole program.
pub fn encode_all(insns: &[Insn]) -> Vec<u8> {
    insns.iter().flat_map(|i| i.encode()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Known encodings, as `llvm-objdump -d` / `bpftool prog dump xlated opcodes` show them.
    #[test]
    fn known_encodings() {
        assert_eq!(
            Insn::mov64_reg(Reg::R6, Reg::R1).encode(),
            [0xbf, 0x16, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            Insn::mov64_imm(Reg::R0, 0).encode(),
            [0xb7, 0x00, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(Insn::exit().encode(), [0x95, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(Insn::call(14).encode(), [0x85, 0, 0, 0, 0x0e, 0, 0, 0]);
        assert_eq!(
            Insn::alu64_imm(RSH, Reg::R0, 32).encode(),
            [0x77, 0, 0, 0, 0x20, 0, 0, 0]
        );
        assert_eq!(
            Insn::stx(Size::W, Reg::FP, -4, Reg::R0).encode(),
            [0x63, 0x0a, 0xfc, 0xff, 0, 0, 0, 0]
        );
        assert_eq!(
            Insn::ldx(Size::DW, Reg::R1, Reg::R6, 112).encode(),
            [0x79, 0x61, 0x70, 0x00, 0, 0, 0, 0]
        );
        assert_eq!(
            Insn::st(Size::DW, Reg::FP, -8, 1).encode(),
            [0x7a, 0x0a, 0xf8, 0xff, 1, 0, 0, 0]
        );
        assert_eq!(
            Insn::jmp_imm(JEQ, Reg::R0, 0, 3).encode(),
            [0x15, 0x00, 0x03, 0x00, 0, 0, 0, 0]
        );
        assert_eq!(
            Insn::atomic_add(Size::DW, Reg::R0, 0, Reg::R1).encode(),
            [0xdb, 0x10, 0, 0, 0, 0, 0, 0]
        );
        let [lo, hi] = Insn::ld_map_fd(Reg::R1);
        assert_eq!(lo.encode(), [0x18, 0x11, 0, 0, 0, 0, 0, 0]);
        assert_eq!(hi.encode(), [0; 8]);
        let [lo, hi] = Insn::ld_imm64(Reg::R2, 0x1122_3344_5566_7788);
        assert_eq!(lo.encode(), [0x18, 0x02, 0, 0, 0x88, 0x77, 0x66, 0x55]);
        assert_eq!(hi.encode(), [0, 0, 0, 0, 0x44, 0x33, 0x22, 0x11]);
    }

    #[test]
    fn decode_inverts_encode() {
        let insns = [
            Insn::alu64_imm(ADD, Reg::R3, -8),
            Insn::jmp_reg(JSGT, Reg::R9, Reg::R2, -7),
            Insn::stx(Size::B, Reg::R4, 3, Reg::R5),
        ];
        for insn in insns {
            assert_eq!(Insn::decode(insn.encode()), insn);
        }
    }
}
