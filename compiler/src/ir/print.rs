//! `-d ir`: one instruction per line, with the source line it came from shown as a `;` comment
//! whenever it changes.

use super::*;
use std::fmt::Write;

impl std::fmt::Display for VReg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "v{}", self.0)
    }
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "L{}", self.0)
    }
}

impl std::fmt::Display for Operand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Operand::Reg(r) => write!(f, "{r}"),
            Operand::Imm(i) => write!(f, "{i}"),
        }
    }
}

impl std::fmt::Display for Base {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Base::Reg(r) => write!(f, "{r}"),
            Base::Fp => write!(f, "fp"),
        }
    }
}

fn alu_symbol(op: AluOp) -> &'static str {
    match op {
        AluOp::Add => "+=",
        AluOp::Sub => "-=",
        AluOp::Mul => "*=",
        AluOp::Div => "/=",
        AluOp::Mod => "%=",
        AluOp::And => "&=",
        AluOp::Or => "|=",
        AluOp::Xor => "^=",
        AluOp::Lsh => "<<=",
        AluOp::Rsh => ">>=",
        AluOp::Arsh => "s>>=",
    }
}

fn cond_symbol(c: Cond) -> &'static str {
    match c {
        Cond::Eq => "==",
        Cond::Ne => "!=",
        Cond::Gt => ">",
        Cond::Ge => ">=",
        Cond::Lt => "<",
        Cond::Le => "<=",
        Cond::Sgt => "s>",
        Cond::Sge => "s>=",
        Cond::Slt => "s<",
        Cond::Sle => "s<=",
        Cond::Set => "&",
    }
}

/// One instruction as text; `map_name(i)` names map `i`.
pub fn format_inst(inst: &Inst, map_name: &dyn Fn(usize) -> String) -> String {
    match inst {
        Inst::Entry { ctx } => format!("{ctx} = ctx"),
        Inst::Mov { dst, src } => format!("{dst} = {src}"),
        Inst::MovImm64 { dst, imm } => format!("{dst} = {imm:#x} ll"),
        Inst::Mov32 { dst, src } => format!("{dst} = (u32){src}"),
        Inst::Alu { op, dst, src } => format!("{dst} {} {src}", alu_symbol(*op)),
        Inst::Neg { dst } => format!("{dst} = -{dst}"),
        Inst::Load {
            dst,
            base,
            off,
            size,
        } => format!("{dst} = *({} *)({base} {off:+})", size.c_type()),
        Inst::Store {
            base,
            off,
            size,
            src,
        } => format!("*({} *)({base} {off:+}) = {src}", size.c_type()),
        Inst::StackAddr { dst, off } => format!("{dst} = fp {off:+}"),
        Inst::LoadMap { dst, map } => format!("{dst} = map {}", map_name(*map)),
        Inst::LoadMapValue { dst, map, off } => {
            format!("{dst} = &value {} + {off}", map_name(*map))
        }
        Inst::AtomicAdd { base, off, src } => format!("lock *(u64 *)({base} + {off}) += {src}"),
        Inst::Call { helper, args, ret } => {
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            let call = format!("call {}({})", helper.name(), args.join(", "));
            match ret {
                Some(r) => format!("{r} = {call}"),
                None => call,
            }
        }
        Inst::Jump { target } => format!("goto {target}"),
        Inst::Branch {
            cond,
            lhs,
            rhs,
            target,
        } => {
            format!("if {lhs} {} {rhs} goto {target}", cond_symbol(*cond))
        }
        Inst::Label(l) => format!("{l}:"),
        Inst::Exit { value } => format!("exit {value}"),
    }
}

/// The whole function; with `source`, each new source line is shown before its instructions.
pub fn print_function(
    func: &Function,
    source: Option<&str>,
    map_name: &dyn Fn(usize) -> String,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}:", func.name);
    let mut last_line = None;
    for s in &func.insts {
        if let Some(src) = source {
            let line = line_of(src, s.span.start as usize);
            if last_line != Some(line) && s.span != Span::default() {
                last_line = Some(line);
                let text = src.lines().nth(line).unwrap_or("").trim();
                let _ = writeln!(out, "  ; {}: {}", line + 1, text);
            }
        }
        match &s.inst {
            Inst::Label(l) => {
                let _ = writeln!(out, "{l}:");
            }
            inst => {
                let _ = writeln!(out, "    {}", format_inst(inst, map_name));
            }
        }
    }
    out
}

/// The 0-based line holding byte `offset`.
pub fn line_of(source: &str, offset: usize) -> usize {
    source.as_bytes()[..offset.min(source.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}
