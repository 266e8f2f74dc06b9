//! The whole pipeline: source → checked AST → IR → registers → eBPF → ELF object + manifest.

use crate::ast::Program;
use crate::bpf::disasm::disassemble;
use crate::check::{self, Env};
use crate::diag::Diagnostic;
use crate::elf::{ElfProgram, write_object};
use crate::ir::print_function;
use crate::lower::{self, LowerOptions, codes};
use crate::manifest::{Manifest, ProgramSpec};
use crate::{emit, regalloc};

/// The most IR instructions one probe may have. Register allocation is quadratic in size (a
/// nested `unroll` of 40k statements took 2 minutes and 1.2 GB, 100k ran out of 24 GB), and
/// real probes are far smaller: the kernel's own verifier walks at most 1M instructions.
pub const MAX_PROGRAM_INSTS: usize = 20_000;

#[derive(Clone, Debug, Default)]
pub struct CompileOptions {
    pub check: check::Options,
    pub lower: LowerOptions,
    /// Keep the `-d ir` text.
    pub dump_ir: bool,
    /// Keep the `-d bpf` text.
    pub dump_bpf: bool,
}

#[derive(Clone, Debug)]
pub struct Output {
    /// The ELF object for aya.
    pub object: Vec<u8>,
    pub manifest: Manifest,
    /// `-d ir`: every program's IR, annotated with source lines.
    pub ir: Option<String>,
    /// `-d bpf`: every program's instructions, bpftool style.
    pub bpf: Option<String>,
    /// Warnings from the checker (errors fail the compile).
    pub warnings: Vec<Diagnostic>,
}

/// Parses, checks and compiles `source`.
pub fn compile(
    source: &str,
    env: &dyn Env,
    options: &CompileOptions,
) -> Result<Output, Vec<Diagnostic>> {
    let parse_options = crate::syntax::ParseOptions {
        positional: options.check.positional.clone(),
        include_dirs: Vec::new(),
        defines: Vec::new(),
    };
    let mut program = crate::parse_with(source, &parse_options)?;
    let (checked, warnings) = check::check_with_warnings(&mut program, env, &options.check);
    let checked = checked?;
    let mut out = compile_checked(&program, &checked, source, options)?;
    out.warnings = warnings;
    Ok(out)
}

/// Compiles a program [`check::check`] annotated, with what it learned (`checked`).
pub fn compile_checked(
    program: &Program,
    checked: &check::Checked,
    source: &str,
    options: &CompileOptions,
) -> Result<Output, Vec<Diagnostic>> {
    let mut lower_options = options.lower.clone();
    if lower_options.positional.is_empty() {
        lower_options.positional = options.check.positional.clone();
    }
    let mut lowered = lower::lower(program, checked, source, &lower_options)?;
    // Refused before any pass runs over it: passes and register allocation grow faster than
    // linearly with a probe's size.
    let too_large: Vec<Diagnostic> = lowered
        .programs
        .iter()
        .filter(|p| p.func.insts.len() > MAX_PROGRAM_INSTS)
        .map(|p| {
            Diagnostic::error(
                codes::TOO_LARGE,
                format!(
                    "this probe compiles to {} instructions; gprobe accepts at most {MAX_PROGRAM_INSTS}",
                    p.func.insts.len()
                ),
            )
            .primary(p.span, "in this probe")
            .help("unroll less, or split the work across probes")
        })
        .collect();
    if !too_large.is_empty() {
        return Err(too_large);
    }
    crate::opt::optimize(&mut lowered);
    let map_name = |i: usize| {
        lowered
            .maps
            .get(i)
            .map_or_else(|| format!("#{i}"), |m| m.name.clone())
    };

    let mut ir_text = String::new();
    let mut bpf_text = String::new();
    let mut assembled = Vec::new();
    let mut specs = Vec::new();
    let mut diags = Vec::new();
    for mut p in lowered.programs {
        p.func.remove_unreachable();
        if options.dump_ir {
            ir_text.push_str(&print_function(&p.func, Some(source), &map_name));
            ir_text.push('\n');
        }
        let alloc = match regalloc::allocate(&mut p.func) {
            Ok(a) => a,
            Err(e) => {
                diags.push(
                    Diagnostic::error(codes::STACK, e.to_string()).primary(p.span, "in this probe"),
                );
                continue;
            }
        };
        let code = emit::emit(&p.func, &alloc);
        if options.dump_bpf {
            bpf_text.push_str(&format!("{} ({}):\n", p.func.name, p.probe_name));
            let map_at = |i: usize| {
                code.relocs
                    .iter()
                    .find(|r| r.insn == i)
                    .map(|r| map_name(r.map))
            };
            bpf_text.push_str(&disassemble(&code.insns, &map_at));
            bpf_text.push('\n');
        }
        specs.push(ProgramSpec {
            name: p.func.name.clone(),
            section: p.section,
            attach: p.attach,
            span: p.span,
            insn_spans: code.spans.clone(),
            probe_name: p.probe_name,
            site_names: p.site_names,
            offset_cookies: p.offset_cookies,
            pattern: p.pattern,
        });
        assembled.push(code);
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    let elf_programs: Vec<ElfProgram> = specs
        .iter()
        .zip(&assembled)
        .map(|(s, c)| ElfProgram {
            section: &s.section,
            name: &s.name,
            insns: &c.insns,
            relocs: &c.relocs,
        })
        .collect();
    let object = write_object(&elf_programs, &lowered.maps)
        .map_err(|e| vec![Diagnostic::error(codes::UNSUPPORTED, e.to_string())])?;
    Ok(Output {
        object,
        manifest: Manifest {
            programs: specs,
            maps: lowered.maps,
            events: lowered.events,
            node_wide: options.lower.node_wide,
            cgroup_filters: checked.cgroup_filters.clone(),
        },
        ir: options.dump_ir.then_some(ir_text),
        bpf: options.dump_bpf.then_some(bpf_text),
        warnings: Vec::new(),
    })
}
