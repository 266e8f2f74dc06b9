//! `strcat(a, b)` into a string slot: `a` written NUL-padded, its length found by reading it
//! over itself with `bpf_probe_read_kernel_str` (which returns it, NUL included: the stack is
//! kernel memory), then `b` read in from its own copy at that length. The length is clamped so
//! the verifier sees `b`'s `sb` bytes end inside the `sa + sb - 1` of the result.

use super::*;

impl Lower<'_, '_, '_> {
    pub(super) fn write_strcat(&mut self, e: &Expr, args: &[Expr], off: i16, size: u32) -> R<()> {
        let [a, b] = args else {
            return Err(unsupported(e.span, "strcat() without two strings"));
        };
        let (sa, sb) = (a.ty_str_size(), b.ty_str_size());
        let whole = sa + sb - 1;
        let mark = self.sp;
        // A slot narrower than the joined string (a value cut to a smaller one): join in a
        // scratch slot, then copy what fits.
        let at = if size < whole {
            self.alloc(whole)?
        } else {
            off
        };
        self.zero_stack(at, size.max(whole));
        self.write_str(a, at, sa)?;
        let buf = self.stack_addr(at);
        let len = self.call_value(
            Helper::ProbeReadKernelStr,
            vec![
                Operand::Reg(buf),
                Operand::Imm(sa as i32),
                Operand::Reg(buf),
            ],
        );
        // The NUL's position: where `b` starts.
        self.emit(Inst::Alu {
            op: AluOp::Sub,
            dst: len,
            src: Operand::Imm(1),
        });
        self.clamp_unsigned(len, sa - 1);
        let tail = self.alloc(sb)?;
        self.write_str(b, tail, sb)?;
        let dst = self.stack_addr(at);
        self.emit(Inst::Alu {
            op: AluOp::Add,
            dst,
            src: Operand::Reg(len),
        });
        let src = self.stack_addr(tail);
        self.emit(Inst::Call {
            helper: Helper::ProbeReadKernelStr,
            args: vec![
                Operand::Reg(dst),
                Operand::Imm(sb as i32),
                Operand::Reg(src),
            ],
            ret: None,
        });
        if at != off {
            self.copy_str(Base::Fp, at, whole, off, size);
            if size > 0 {
                // Cut to the slot: keep it NUL-terminated.
                self.emit(Inst::Store {
                    base: Base::Fp,
                    off: off + size as i16 - 1,
                    size: Size::B,
                    src: Operand::Imm(0),
                });
            }
        }
        self.sp = mark;
        Ok(())
    }
}
