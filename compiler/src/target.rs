//! What the checker learns about the probed program for each attach point, and lowering needs:
//! where a uprobe attaches (file offsets from `.gopclntab`, so stripped binaries work), where each
//! Go argument and result lives, and the Go runtime offsets that `goid` reads.
//!
//! [`resolve_uprobe`], [`go_runtime`] and [`go_function`] compute these from a [`GoBinary`];
//! an [`crate::check::Env`] calls them (the CLI caches one `GoBinary` per path).

use crate::check::GoFunction;
use crate::gobin::{ArgLocation, GoBinary, GoParam, RegClass, known_funcs};
use crate::types::Type;
use serde::Serialize;

/// The resolution of one attach point, stored on it by the checker.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Resolved {
    /// The file uprobes attach to (the probe's binary, else the `-p`/`-c` target's executable).
    pub binary: Option<String>,
    /// Go functions a uprobe attach point matched, each with its attach offsets. Empty for a
    /// uprobe on a non-Go binary (attached by ELF symbol) and for other probe kinds.
    pub functions: Vec<GoSite>,
    /// Runtime facts of the Go program, when the binary (or the target) is Go and the probe
    /// needs them (`goid`; see [`crate::check::UprobeNeeds`]).
    pub go: Option<GoRuntime>,
    /// Node-wide (no `-p`/`-c` target): a probe that fires in any process finds each Go
    /// process's facts at run time, in the map the runtime fills ([`crate::manifest::GoProcFacts`]).
    pub per_process: Option<PerProcessGo>,
    /// The USDT probe sites a `usdt:` attach point matched, by file (the binary, or the
    /// target's executable and shared libraries).
    pub usdt: Vec<crate::usdt::UsdtFile>,
}

/// Offsets of `task->mm->exe_file->f_inode->{i_ino, i_sb->s_dev}` in this kernel (from its
/// BTF): the node-wide exec watch finds the new image's inode with them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ExeInodeOffsets {
    pub task_mm: u64,
    pub mm_exe_file: u64,
    pub file_inode: u64,
    pub inode_ino: u64,
    pub inode_sb: u64,
    pub sb_dev: u64,
}

/// Where this kernel keeps a task's uprobe state (from its BTF):
/// `task->utask->{vaddr, xol_vaddr}`. While the task single-steps a probed instruction
/// out of line, its pc is in its slot of the `[uprobes]` page (`xol_vaddr`) and `vaddr` is the
/// probed instruction's own address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UprobeTaskOffsets {
    pub task_utask: u64,
    pub utask_vaddr: u64,
    pub utask_xol_vaddr: u64,
}

/// What a node-wide probe knows of Go at compile time: only the kernel's side.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PerProcessGo {
    /// As [`GoRuntime::task_fsbase`].
    pub task_fsbase: Option<u64>,
}

/// One Go function a uprobe attaches to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GoSite {
    pub name: String,
    /// File offsets to attach at: one entry point (after the stack-growth check) for `uprobe`,
    /// every RET instruction for `uretprobe`.
    pub offsets: Vec<u64>,
    /// Go's register ABI holds (R14 = g, arguments in registers); false for assembly (ABI0).
    pub abi_internal: bool,
    /// Entry probes: the kernel's frame-pointer walk there lacks the direct caller, whose
    /// return address is at `*SP` (the probed instruction is not `push %rbp`; see
    /// [`crate::gobin::prologue::fp_walk_misses_caller`]). False for return probes.
    pub caller_at_sp: bool,
    /// Parameters (at entry) and results (at each RET) in declaration order; empty when the
    /// signature is unknown.
    pub params: Vec<(String, GoLocation)>,
    pub results: Vec<(String, GoLocation)>,
    /// Not Go code (C, a shared library): `offsets` are function entries even for a return
    /// probe, which is then a kernel uretprobe (never used on Go code, whose stacks it breaks).
    pub native: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum GoLocation {
    /// Register pieces in value order.
    Registers(Vec<RegSlot>),
    /// At `SP + offset` at entry (and at each RET).
    Stack { offset: u64 },
    /// In a register `pt_regs` does not hold (floats).
    Unavailable,
}

/// `size` bytes of the value at byte `offset` of it, held in the register at `pt_regs` offset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RegSlot {
    pub pt_regs: u16,
    pub offset: u64,
    pub size: u64,
}

/// Offsets `goid` (and friends) need, for one Go program.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GoRuntime {
    /// `go1.23.9`
    pub version: String,
    pub g_goid: u64,
    pub g_m: u64,
    pub g_parent_goid: Option<u64>,
    pub g_gopc: Option<u64>,
    pub m_g0: u64,
    pub m_curg: u64,
    /// `g.sched.pc` and `g.sched.bp`: where a goroutine left its own stack for the system stack
    /// (`systemstack`, `mcall`, `morestack`), for `gocaller` on g0.
    pub g_sched_pc: u64,
    pub g_sched_bp: u64,
    /// Where g lives relative to the thread pointer (`fs_base`): -8 for Go's TLS slot, elsewhere
    /// in cgo programs whose C code has thread-local variables (see `gobin::tls`).
    pub tls_g: i64,
    /// Offset of `thread.fsbase` in the kernel's `task_struct` (from BTF), for reading g where
    /// R14 is not g (tracepoints, profile, assembly functions). Filled in by the checker from
    /// [`crate::check::Env::task_fsbase`] only for probes that need it. `None`: unknown or unused.
    pub task_fsbase: Option<u64>,
}

/// Go's names for results are `~r0`, `~r1`, …; scripts spell them `r0`, `r1`.
pub fn script_name(name: &str) -> String {
    name.strip_prefix('~').unwrap_or(name).to_owned()
}

/// The runtime facts of `bin` (DWARF offsets when present, else the table for its version);
/// `task_fsbase` is left for the checker to ask for when a probe needs it.
pub fn go_runtime(bin: &GoBinary) -> GoRuntime {
    go_runtime_with(bin, bin.runtime_offsets())
}

fn go_runtime_with(bin: &GoBinary, o: crate::gobin::RuntimeOffsets) -> GoRuntime {
    GoRuntime {
        version: bin.go_version().unwrap_or("go1.?").to_owned(),
        g_goid: o.g_goid,
        g_m: o.g_m,
        g_parent_goid: o.g_parent_goid,
        g_gopc: o.g_gopc,
        m_g0: o.m_g0,
        m_curg: o.m_curg,
        g_sched_pc: o.g_sched + o.gobuf_pc,
        g_sched_bp: o.g_sched + o.gobuf_bp,
        tls_g: bin.tls_g_offset(),
        task_fsbase: None,
    }
}

/// Go releases whose built-in offset table equals their DWARF: `tests/gobin.rs` checks it for
/// every toolchain of the test matrix (1.19, 1.23, 1.25, 1.27, and the releases between share
/// their neighbours' rows).
pub const TABLE_VERIFIED: std::ops::RangeInclusive<(u32, u32)> = (1, 19)..=(1, 27);

/// [`go_runtime`] without reading DWARF when the binary's release is in [`TABLE_VERIFIED`]:
/// node-wide discovery opens every Go binary on the host, and decompressing and walking each
/// one's DWARF costs ~15 ms and a few MiB where the table gives the same offsets.
pub fn go_runtime_quick(bin: &GoBinary) -> GoRuntime {
    if !TABLE_VERIFIED.contains(&bin.go_release()) {
        return go_runtime(bin);
    }
    go_runtime_with(bin, crate::gobin::RuntimeOffsets::table(bin.go_release()))
}

/// Parameters and results with ABI locations: DWARF, else the built-in table (the standard
/// library's by Go version, or a library's by its version: `gobin/libraries/`).
pub fn go_params(bin: &GoBinary, function: &str) -> Result<Vec<GoParam>, String> {
    match bin.params(function) {
        // A method value's wrapper (`-fm`) whose DWARF lists no parameters (Go 1.19 omits
        // them): the table's signature when it has one.
        Ok(list) if list.params.is_empty() && function.ends_with("-fm") => {
            match known_funcs::signature(function, bin.go_release()) {
                Some(mut params) => {
                    crate::gobin::assign_abi(bin.arch(), &mut params);
                    Ok(params)
                }
                None => Ok(list.params),
            }
        }
        Ok(list) => Ok(list.params),
        Err(dwarf_error) => {
            let library = || {
                crate::gobin::libraries::signature(bin, function)
                    .map(|r| r.map_err(|refusal| format!("{dwarf_error}, and {refusal}")))
            };
            let mut params = match known_funcs::signature(function, bin.go_release()) {
                Some(params) => params,
                None => library().unwrap_or_else(|| {
                    Err(format!(
                        "{dwarf_error}, and `{function}` is not one of the functions gprobe knows without it ({})",
                        known_funcs::KNOWN.join(", ")
                    ))
                })?,
            };
            crate::gobin::assign_abi(bin.arch(), &mut params);
            Ok(params)
        }
    }
}

/// `-l -v`'s lines for a Go function: each parameter as `args.NAME TYPE` and each result as
/// `ret.NAME TYPE`, in ABI order, Go types as Go spells them (from DWARF, else the built-in
/// table); a short note in parentheses when the signature is unknown.
pub fn signature_lines(bin: &GoBinary, function: &str) -> Vec<String> {
    if is_abi0(bin, function) {
        return vec!["(assembly: no Go signature; read registers with reg())".into()];
    }
    match go_params(bin, function) {
        Ok(params) => params
            .iter()
            .map(|p| {
                let place = if p.is_result { "ret" } else { "args" };
                format!("{place}.{} {}", script_name(&p.name), p.ty.go_name())
            })
            .collect(),
        Err(_) if bin.has_dwarf() => vec!["(signature unknown: not in the DWARF)".into()],
        Err(_) => vec!["(signature unknown: no DWARF, and not in gprobe's table)".into()],
    }
}

/// The checker's view of a Go function's signature (results renamed `~r0` → `r0`).
pub fn go_function(bin: &GoBinary, function: &str) -> Result<GoFunction, String> {
    if bin.function(function).is_none() {
        return Err(not_found(bin, function));
    }
    let params = go_params(bin, function)?;
    let typed = |results: bool| {
        params
            .iter()
            .filter(|p| p.is_result == results)
            .map(|p| (script_name(&p.name), p.ty.to_type()))
            .collect()
    };
    Ok(GoFunction {
        params: typed(false),
        results: typed(true),
    })
}

/// Most functions a wildcard may match and still share one signature for `args`/`ret`:
/// looking signatures up is DWARF work per function.
const MAX_GLOB_SIGNATURES: usize = 64;

/// What every function matching `pattern` shares, for `args`/`ret` on a wildcard probe: the
/// parameters and results that have the same name, type and ABI location in all of them (so one
/// program reads them for every function). Assembly functions, which have no signature, are
/// left out.
pub fn go_function_matching(bin: &GoBinary, pattern: &str) -> Result<GoFunction, String> {
    let names: Vec<&str> = bin
        .functions_matching(pattern)
        .into_iter()
        .map(|f| f.name.as_str())
        .filter(|name| !is_abi0(bin, name))
        .collect();
    if names.len() > MAX_GLOB_SIGNATURES {
        return Err(format!(
            "`{pattern}` matches {} functions; narrow it to at most {MAX_GLOB_SIGNATURES}",
            names.len()
        ));
    }
    let lists = names
        .iter()
        .map(|name| go_params(bin, name).map_err(|why| format!("`{name}`: {why}")))
        .collect::<Result<Vec<_>, _>>()?;
    let Some((first, rest)) = lists.split_first() else {
        return Err(format!("no Go function matches `{pattern}`"));
    };
    let shared = |results: bool| -> Vec<(String, Type)> {
        first
            .iter()
            .filter(|p| p.is_result == results)
            .filter(|p| {
                rest.iter().all(|list| {
                    list.iter().any(|q| {
                        q.is_result == results
                            && q.name == p.name
                            && q.ty.to_type() == p.ty.to_type()
                            && q.location == p.location
                    })
                })
            })
            .map(|p| (script_name(&p.name), p.ty.to_type()))
            .collect()
    };
    let f = GoFunction {
        params: shared(false),
        results: shared(true),
    };
    if f.params.is_empty() && f.results.is_empty() && !rest.is_empty() {
        return Err(format!(
            "`{}` and `{}` have no parameter or result in common (same name, type and place)",
            names[0], names[1]
        ));
    }
    Ok(f)
}

fn locations(bin: &GoBinary, params: &[GoParam], results: bool) -> Vec<(String, GoLocation)> {
    params
        .iter()
        .filter(|p| p.is_result == results)
        .map(|p| {
            let loc = match &p.location {
                Some(ArgLocation::Stack { offset }) => GoLocation::Stack { offset: *offset },
                Some(ArgLocation::Registers(pieces)) => {
                    let slots: Option<Vec<RegSlot>> = pieces
                        .iter()
                        .map(|piece| {
                            if piece.reg.class != RegClass::Int {
                                return None;
                            }
                            Some(RegSlot {
                                pt_regs: piece.reg.pt_regs_offset(bin.arch())?,
                                offset: piece.offset,
                                size: piece.size,
                            })
                        })
                        .collect();
                    slots.map_or(GoLocation::Unavailable, GoLocation::Registers)
                }
                None => GoLocation::Unavailable,
            };
            (script_name(&p.name), loc)
        })
        .collect()
}

/// Up to five function names closest to `name`, for "not found" messages.
pub fn nearest_functions(bin: &GoBinary, name: &str) -> Vec<String> {
    let short = name.rsplit('.').next().unwrap_or(name).to_ascii_lowercase();
    let mut scored: Vec<(usize, &str)> = bin
        .functions()
        .iter()
        .map(|f| {
            let tail = f
                .name
                .rsplit('.')
                .next()
                .unwrap_or(&f.name)
                .to_ascii_lowercase();
            let d = strsim::levenshtein(name, &f.name)
                .min(strsim::levenshtein(&short, &tail) + 2)
                .min(if !short.is_empty() && tail.contains(&short) {
                    3
                } else {
                    usize::MAX
                });
            (d, f.name.as_str())
        })
        .filter(|(d, _)| *d <= name.len() / 2 + 2)
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored
        .into_iter()
        .take(5)
        .map(|(_, n)| n.to_owned())
        .collect()
}

fn not_found(bin: &GoBinary, function: &str) -> String {
    let near = nearest_functions(bin, function);
    let mut why = format!("no function `{function}` in this Go binary");
    if !near.is_empty() {
        why.push_str(&format!("; nearest: {}", near.join(", ")));
    }
    why
}

fn is_abi0(bin: &GoBinary, name: &str) -> bool {
    name.ends_with(".abi0") || bin.symbol(&format!("{name}.abi0")).is_some()
}

/// Whether an unquoted function name is a glob.
pub fn has_wildcard(name: &str) -> bool {
    name.contains(['*', '?'])
}

/// The Go functions matching `pattern` (a name, or a glob with `*`/`?` when `glob`) with their
/// attach offsets: after the stack check for entry probes, every RET for return probes.
/// Functions without a RET are skipped in a glob and an error for a single name.
pub fn resolve_uprobe(
    bin: &GoBinary,
    pattern: &str,
    glob: bool,
    ret: bool,
) -> Result<Vec<GoSite>, String> {
    resolve_uprobe_sites(bin, pattern, glob, ret, true)
}

/// [`resolve_uprobe`]; without `values`, parameter and result locations are left empty (they
/// may need DWARF, which is costly to read, and a probe that reads no Go values needs none).
pub fn resolve_uprobe_sites(
    bin: &GoBinary,
    pattern: &str,
    glob: bool,
    ret: bool,
    values: bool,
) -> Result<Vec<GoSite>, String> {
    let functions: Vec<_> = if glob {
        bin.functions_matching(pattern)
    } else {
        bin.function(pattern).into_iter().collect()
    };
    if functions.is_empty() {
        return Err(if glob {
            format!("no function of this Go binary matches `{pattern}`")
        } else {
            not_found(bin, pattern)
        });
    }
    let mut sites = Vec::new();
    for f in functions {
        let file_offset = |vaddr: u64| {
            bin.vaddr_to_file_offset(vaddr)
                .ok_or_else(|| format!("`{}` at {vaddr:#x} is outside the file", f.name))
        };
        let mut caller_at_sp = false;
        let offsets = if ret {
            let rets = bin.ret_offsets(f).map_err(|e| e.to_string())?;
            if rets.is_empty() {
                if glob {
                    continue;
                }
                return Err(format!(
                    "`{}` has no RET instruction (it never returns, or only tail-calls), so it has no return to probe",
                    f.name
                ));
            }
            rets.iter()
                .map(|r| file_offset(f.entry + r))
                .collect::<Result<Vec<_>, _>>()?
        } else {
            let skip = bin.entry_probe_offset(f).map_err(|e| e.to_string())?;
            caller_at_sp = bin.fp_walk_misses_caller(f.entry + skip);
            vec![file_offset(f.entry + skip)?]
        };
        let abi_internal = !is_abi0(bin, &f.name);
        // Signatures are looked up only when the probe reads `args`/`ret`/`retval` (for a
        // wildcard: what its functions share, see `go_function_matching`).
        let params = if !abi_internal || !values {
            Vec::new()
        } else {
            go_params(bin, &f.name).unwrap_or_default()
        };
        sites.push(GoSite {
            name: f.name.clone(),
            offsets,
            abi_internal,
            caller_at_sp,
            params: locations(bin, &params, false),
            results: locations(bin, &params, true),
            native: false,
        });
    }
    sites.dedup_by(|a, b| a.offsets == b.offsets);
    if sites.is_empty() {
        return Err(format!(
            "no function matching `{pattern}` has a RET instruction to probe"
        ));
    }
    Ok(sites)
}
