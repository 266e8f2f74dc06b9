//! Go's internal register ABI (ABIInternal): where each parameter and result lives at a
//! function's entry (parameters) and at its RETs (results).
//!
//! Each value goes wholly into registers or wholly onto the stack. Strings take 2 integer
//! registers, slices 3, interfaces 2, structs field by field, complex numbers 2 floats, arrays of
//! length 1 their element; arrays longer than 1, and values that no longer fit, go on the stack and
//! the register counters roll back so later values can still use registers. Results restart at the
//! first register. Stack values are laid out in order from SP+8 at entry (the return address is at
//! SP), aligned to their type; results follow the arguments after pointer alignment.

use super::Arch;
use super::dwarf::GoParam;
use super::types::GoType;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegClass {
    Int,
    Float,
}

/// The `index`th ABI register of a class (integer: RAX, RBX, … on amd64; float: X0, X1, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Reg {
    pub class: RegClass,
    pub index: u8,
}

const AMD64_INT: [&str; 9] = ["RAX", "RBX", "RCX", "RDI", "RSI", "R8", "R9", "R10", "R11"];
/// Byte offsets in the kernel's x86_64 `struct pt_regs` of [`AMD64_INT`].
const AMD64_PT_REGS: [u16; 9] = [80, 40, 88, 112, 104, 72, 64, 56, 48];

impl Reg {
    /// Go assembler name: `RAX`…`R11`, `X0`…`X14` on amd64; `R0`…`R15`, `F0`…`F15` on arm64.
    pub fn name(&self, arch: Arch) -> String {
        match (arch, self.class) {
            (Arch::X86_64, RegClass::Int) => AMD64_INT
                .get(usize::from(self.index))
                .copied()
                .unwrap_or("?")
                .to_owned(),
            (Arch::X86_64, RegClass::Float) => format!("X{}", self.index),
            (Arch::Aarch64, RegClass::Int) => format!("R{}", self.index),
            (Arch::Aarch64, RegClass::Float) => format!("F{}", self.index),
        }
    }

    /// Offset of this register in the kernel's `struct pt_regs` (what a uprobe program reads);
    /// None for float registers, which pt_regs does not hold.
    pub fn pt_regs_offset(&self, arch: Arch) -> Option<u16> {
        match (arch, self.class) {
            (Arch::X86_64, RegClass::Int) => AMD64_PT_REGS.get(usize::from(self.index)).copied(),
            // arm64 `struct user_pt_regs`: regs[31] then sp, pc, pstate.
            (Arch::Aarch64, RegClass::Int) => Some(u16::from(self.index) * 8),
            (_, RegClass::Float) => None,
        }
    }
}

/// A register holding `size` bytes of the value starting at byte `offset` within it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RegPiece {
    pub reg: Reg,
    pub offset: u64,
    pub size: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ArgLocation {
    /// Register pieces in value order (empty for zero-sized values).
    Registers(Vec<RegPiece>),
    /// At `SP + offset` at function entry (and at each RET, for results).
    Stack { offset: u64 },
}

struct RegFile {
    ints: u8,
    floats: u8,
}

fn reg_file(arch: Arch) -> RegFile {
    match arch {
        Arch::X86_64 => RegFile {
            ints: 9,
            floats: 15,
        },
        Arch::Aarch64 => RegFile {
            ints: 16,
            floats: 16,
        },
    }
}

struct Assigner<'a> {
    regs: &'a RegFile,
    next_int: u8,
    next_float: u8,
    pieces: Vec<RegPiece>,
}

impl Assigner<'_> {
    fn take(&mut self, class: RegClass, offset: u64, size: u64) -> bool {
        let (next, max) = match class {
            RegClass::Int => (&mut self.next_int, self.regs.ints),
            RegClass::Float => (&mut self.next_float, self.regs.floats),
        };
        if *next >= max {
            return false;
        }
        self.pieces.push(RegPiece {
            reg: Reg {
                class,
                index: *next,
            },
            offset,
            size,
        });
        *next += 1;
        true
    }

    /// Register-assigns `ty` located at `offset` within the whole value; false means "fail".
    fn assign(&mut self, ty: &GoType, offset: u64) -> bool {
        match ty {
            GoType::Bool => self.take(RegClass::Int, offset, 1),
            GoType::Int { bits, .. } => self.take(RegClass::Int, offset, u64::from(*bits) / 8),
            GoType::Float { bits } => self.take(RegClass::Float, offset, u64::from(*bits) / 8),
            GoType::Complex { bits } => {
                let half = u64::from(*bits) / 16;
                self.take(RegClass::Float, offset, half)
                    && self.take(RegClass::Float, offset + half, half)
            }
            GoType::Ptr(..)
            | GoType::Map(_)
            | GoType::Chan(_)
            | GoType::Func(_)
            | GoType::UnsafePointer => self.take(RegClass::Int, offset, 8),
            GoType::String | GoType::Interface { .. } => {
                self.take(RegClass::Int, offset, 8) && self.take(RegClass::Int, offset + 8, 8)
            }
            GoType::Slice(_) => (0..3).all(|i| self.take(RegClass::Int, offset + 8 * i, 8)),
            GoType::Struct(s) => s
                .fields
                .iter()
                .all(|f| self.assign(&f.ty, offset + f.offset)),
            GoType::Array { len: 0, .. } => true,
            GoType::Array { elem, len: 1 } => self.assign(elem, offset),
            GoType::Array { .. } => false,
            // Unknown layouts cannot be split into registers safely.
            GoType::Named { size: 0, .. } | GoType::Opaque { size: 0, .. } => true,
            GoType::Named { .. } | GoType::Opaque { .. } => false,
        }
    }
}

fn align_up(x: u64, a: u64) -> u64 {
    let a = a.max(1);
    x.div_ceil(a) * a
}

/// Fills in `location` of every parameter and result, in declaration order (receiver first,
/// then parameters, then results).
pub fn assign_abi(arch: Arch, params: &mut [GoParam]) {
    let regs = reg_file(arch);
    let ptr = 8;
    let mut stack = 8; // SP+0 holds the return address at entry
    for results in [false, true] {
        if results {
            stack = align_up(stack, ptr);
        }
        let mut a = Assigner {
            regs: &regs,
            next_int: 0,
            next_float: 0,
            pieces: Vec::new(),
        };
        for p in params.iter_mut().filter(|p| p.is_result == results) {
            let (ints, floats) = (a.next_int, a.next_float);
            a.pieces.clear();
            if a.assign(&p.ty, 0) {
                p.location = Some(ArgLocation::Registers(std::mem::take(&mut a.pieces)));
            } else {
                a.next_int = ints;
                a.next_float = floats;
                stack = align_up(stack, p.ty.align());
                p.location = Some(ArgLocation::Stack { offset: stack });
                stack += p.ty.size();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gobin::types::{GoField, GoStruct};

    fn param(name: &str, ty: GoType, is_result: bool) -> GoParam {
        GoParam {
            name: name.into(),
            ty,
            is_result,
            location: None,
        }
    }

    fn regs(loc: &Option<ArgLocation>) -> Vec<String> {
        match loc {
            Some(ArgLocation::Registers(p)) => p.iter().map(|p| p.reg.name(Arch::X86_64)).collect(),
            Some(ArgLocation::Stack { offset }) => vec![format!("SP+{offset}")],
            None => vec![],
        }
    }

    /// The facts file's verified example:
    /// `Probe(s string, b []byte, i any, e error, x int, f float64, sm struct{a,b int}, p *int) (int, string, error)`.
    #[test]
    fn facts_file_probe_example() {
        let int = GoType::Int {
            bits: 64,
            signed: true,
        };
        let sm = GoType::Struct(GoStruct {
            name: "struct { a int; b int }".into(),
            size: 16,
            fields: vec![
                GoField {
                    name: "a".into(),
                    offset: 0,
                    ty: int.clone(),
                },
                GoField {
                    name: "b".into(),
                    offset: 8,
                    ty: int.clone(),
                },
            ],
        });
        let iface = |n: &str, empty| GoType::Interface {
            name: n.into(),
            empty,
        };
        let mut ps = vec![
            param("s", GoType::String, false),
            param(
                "b",
                GoType::Slice(Box::new(GoType::Int {
                    bits: 8,
                    signed: false,
                })),
                false,
            ),
            param("i", iface("interface {}", true), false),
            param("e", iface("error", false), false),
            param("x", int.clone(), false),
            param("f", GoType::Float { bits: 64 }, false),
            param("sm", sm, false),
            param("p", GoType::Ptr(Box::new(int.clone())), false),
            param("~r0", int, true),
            param("~r1", GoType::String, true),
            param("~r2", iface("error", false), true),
        ];
        assign_abi(Arch::X86_64, &mut ps);
        let got: Vec<_> = ps.iter().map(|p| regs(&p.location).join(",")).collect();
        assert_eq!(
            got,
            [
                "RAX,RBX",
                "RCX,RDI,RSI",
                "R8,R9",
                "R10,R11",
                "SP+8",
                "X0",
                "SP+16",
                "SP+32",
                "RAX",
                "RBX,RCX",
                "RDI,RSI"
            ]
        );
    }

    #[test]
    fn arrays_go_to_the_stack_and_registers_roll_back() {
        let int = GoType::Int {
            bits: 64,
            signed: true,
        };
        let mut ps = vec![
            param(
                "a",
                GoType::Array {
                    elem: Box::new(int.clone()),
                    len: 2,
                },
                false,
            ),
            param(
                "one",
                GoType::Array {
                    elem: Box::new(int.clone()),
                    len: 1,
                },
                false,
            ),
            param(
                "small",
                GoType::Int {
                    bits: 8,
                    signed: false,
                },
                false,
            ),
            param("c", GoType::Complex { bits: 128 }, false),
        ];
        assign_abi(Arch::X86_64, &mut ps);
        let got: Vec<_> = ps.iter().map(|p| regs(&p.location).join(",")).collect();
        assert_eq!(got, ["SP+8", "RAX", "RBX", "X0,X1"]);
    }
}
