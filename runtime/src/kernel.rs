//! Everything done through aya: loading the object, attaching programs, handing out map fds
//! and the ring buffer. The only file with `use aya::`; the rest of the runtime sees
//! [`Loaded`] and plain fds.
//!
//! Startup: aya 0.14's `EbpfLoader::new()` always parses all of /sys/kernel/btf/vmlinux
//! (40–60 ms), which gprobe's objects never need (no CO-RE relocations, no BTF program types).
//! [`loader_without_vmlinux_btf`] builds the loader on a short-lived thread that has its own
//! mount namespace in which /dev/null is bind-mounted over that file, so the parse fails in
//! microseconds and the loader simply has no kernel BTF. The namespace dies with the thread;
//! nothing outside the process ever sees it.

use crate::error::{RuntimeError, nearest};
use crate::symbolize::SymbolTable;
use crate::sys::RawMap;
use crate::uprobe_multi::{self, MapRef};
use aya::maps::{Map, MapData, RingBuf};
use aya::programs::perf_event::{PerfEventConfig, PerfEventScope, SamplePolicy, SoftwareEvent};
use aya::programs::uprobe::{UProbeAttachLocation, UProbeScope};
use aya::programs::{Program, ProgramError};
use aya::{Ebpf, EbpfLoader, VerifierLogLevel};
use gprobe_compiler::manifest::{Attach, Manifest, MapKind, ProgramSpec, UprobeTarget};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// A loaded object: programs loaded (not yet attached), maps created.
pub(crate) struct Loaded {
    /// Uprobe programs loaded for a uprobe-multi link (see [`uprobe_multi`]), by name; aya's
    /// copy of these stays unloaded unless attaching that way fails.
    multi: HashMap<String, MultiProgram>,
    ebpf: Ebpf,
    /// Every map's fd by name, for programs loaded later from another object of the same
    /// source (see `crate::dynamic`). The fds belong to `ebpf` or to the session's maps.
    maps: HashMap<String, MapRef>,
}

/// A program attached (or to be) through uprobe-multi links: one, or one per process with
/// `-p A,B`. The links drop first.
struct MultiProgram {
    links: Vec<OwnedFd>,
    prog: OwnedFd,
}

/// A Go uprobe (file offsets, not a kernel uretprobe) can use one uprobe-multi link.
pub(crate) fn multi_offsets(spec: &ProgramSpec) -> Option<&[u64]> {
    match &spec.attach {
        Attach::Uprobe {
            target: UprobeTarget::Offset(o),
            ret: false,
            ..
        } => Some(std::slice::from_ref(o)),
        Attach::Uprobe {
            target: UprobeTarget::Offsets(os),
            ret: false,
            ..
        } => Some(os),
        Attach::Uprobe {
            target: UprobeTarget::Usdt { offsets, .. },
            ..
        } => Some(offsets),
        _ => None,
    }
}

/// Whether a uprobe-multi attach failed because the kernel lacks them (not a real error).
fn multi_unsupported(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EOPNOTSUPP | libc::ENOSYS | libc::E2BIG)
    )
}

/// A USDT program's semaphores, one per offset of [`multi_offsets`] (0: none), when any.
fn multi_ref_ctrs(spec: &ProgramSpec) -> Option<&[u64]> {
    match &spec.attach {
        Attach::Uprobe {
            target: UprobeTarget::Usdt { semaphores, .. },
            ..
        } if semaphores.iter().any(|s| *s != 0) => Some(semaphores),
        _ => None,
    }
}

/// Each offset's cookie, for a program whose `probe` names its functions one by one (see
/// [`ProgramSpec::site_names`]): the id of the offset's name; for a program that reads the
/// offset that fired ([`ProgramSpec::offset_cookies`]), the offset above it.
pub(crate) fn multi_cookies(spec: &ProgramSpec) -> Option<Vec<u64>> {
    if spec.site_names.is_empty() && !spec.offset_cookies {
        return None;
    }
    let offsets = multi_offsets(spec)?;
    Some(
        offsets
            .iter()
            .map(|o| {
                let name = spec
                    .site_names
                    .iter()
                    .find(|(at, _)| at == o)
                    .map_or(0, |(_, name)| {
                        u64::from(gprobe_compiler::manifest::probe_id(name))
                    });
                let offset = if spec.offset_cookies { o << 32 } else { 0 };
                offset | name
            })
            .collect(),
    )
}

/// The fd of every map aya created, by name, for relocating programs loaded without aya.
fn map_refs(ebpf: &Ebpf, manifest: &Manifest) -> HashMap<String, MapRef> {
    ebpf.maps()
        .filter_map(|(name, map)| {
            let data = match map {
                Map::HashMap(d)
                | Map::PerCpuHashMap(d)
                | Map::Array(d)
                | Map::PerCpuArray(d)
                | Map::StackTraceMap(d)
                | Map::RingBuf(d) => d,
                _ => return None,
            };
            let global = manifest
                .maps
                .iter()
                .any(|m| m.name == name && m.kind == MapKind::Global);
            let fd = data.fd().as_fd().as_raw_fd();
            Some((name.to_owned(), MapRef { fd, data: global }))
        })
        .collect()
}

/// Where BEGIN/END programs attach: trigger functions in our own executable.
pub(crate) struct Trigger {
    pub exe: PathBuf,
    pub offset: u64,
}

/// An `EbpfLoader` with no kernel BTF, built without reading vmlinux BTF (see module docs).
/// Falls back to a plain `EbpfLoader::new()` where a private mount namespace is not possible.
fn loader_without_vmlinux_btf() -> EbpfLoader<'static> {
    let hidden = std::thread::spawn(|| {
        if hide_vmlinux_btf() {
            Some(EbpfLoader::new())
        } else {
            None
        }
    })
    .join()
    .ok()
    .flatten();
    hidden.unwrap_or_else(EbpfLoader::new)
}

/// On the calling thread only: unshare the mount namespace (a thread may do so on its own when
/// it unshares its filesystem attributes too) and cover /sys/kernel/btf/vmlinux with /dev/null.
fn hide_vmlinux_btf() -> bool {
    // SAFETY: plain syscalls with valid NUL-terminated strings; they affect only this thread's
    // (new, private) mount namespace.
    unsafe {
        if libc::unshare(libc::CLONE_NEWNS | libc::CLONE_FS) != 0 {
            return false;
        }
        // Keep our bind mount from propagating back into the host namespace.
        if libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ) != 0
        {
            return false;
        }
        libc::mount(
            c"/dev/null".as_ptr(),
            c"/sys/kernel/btf/vmlinux".as_ptr(),
            std::ptr::null(),
            libc::MS_BIND,
            std::ptr::null(),
        ) == 0
    }
}

/// Loads every program of `object` (none attached yet) and creates its maps.
pub(crate) fn load(
    object: &[u8],
    manifest: &Manifest,
    verbose: bool,
) -> Result<Loaded, RuntimeError> {
    let mut loader = loader_without_vmlinux_btf();
    let level = if verbose {
        VerifierLogLevel::VERBOSE | VerifierLogLevel::STATS
    } else {
        VerifierLogLevel::DEBUG | VerifierLogLevel::STATS
    };
    loader.verifier_log_level(level);
    let mut ebpf = loader.load(object).map_err(|e| {
        // Creating the first map is the first privileged step: EPERM there means no CAP_BPF.
        if has_errno(&e, libc::EPERM) || has_errno(&e, libc::EACCES) {
            RuntimeError::NotPrivileged
        } else {
            RuntimeError::Load { reason: chain(&e) }
        }
    })?;
    let maps = map_refs(&ebpf, manifest);
    let mut multi = HashMap::new();
    for spec in &manifest.programs {
        // A binary pattern's own program is placeholder code that attaches nowhere.
        if is_pending(spec) {
            continue;
        }
        if multi_offsets(spec).is_some()
            && let Ok(prog) = uprobe_multi::load(object, &spec.name, &maps)
        {
            multi.insert(
                spec.name.clone(),
                MultiProgram {
                    links: Vec::new(),
                    prog,
                },
            );
            continue;
        }
        let program = ebpf
            .program_mut(&spec.name)
            .ok_or_else(|| RuntimeError::Manifest {
                reason: format!("program {} is not in the object", spec.name),
            })?;
        let result = match program {
            Program::UProbe(p) => p.load(),
            Program::KProbe(p) => p.load(),
            Program::RawTracePoint(p) => p.load(),
            Program::TracePoint(p) => p.load(),
            Program::PerfEvent(p) => p.load(),
            _ => {
                return Err(RuntimeError::Manifest {
                    reason: format!(
                        "program {} has an unsupported section {}",
                        spec.name, spec.section
                    ),
                });
            }
        };
        result.map_err(|e| load_error(spec, e))?;
    }
    Ok(Loaded { multi, ebpf, maps })
}

/// The pending program of a binary pattern (see `gprobe_compiler::expand`): never loaded.
pub(crate) fn is_pending(spec: &ProgramSpec) -> bool {
    spec.pattern.as_ref().is_some_and(|o| o.pending)
}

fn load_error(spec: &ProgramSpec, e: ProgramError) -> RuntimeError {
    match e {
        ProgramError::LoadError {
            io_error,
            verifier_log,
        } => {
            if io_error.raw_os_error() == Some(libc::EPERM)
                && verifier_log.to_string().trim().is_empty()
            {
                return RuntimeError::NotPrivileged;
            }
            let log = verifier_log.to_string();
            let rejection = crate::verifier::rejection(&log);
            let span = rejection
                .insn
                .and_then(|i| crate::verifier::span_of(&spec.insn_spans, i));
            RuntimeError::Verifier {
                program: spec.probe_name.clone(),
                reason: rejection.reason.unwrap_or_else(|| io_error.to_string()),
                span,
                insn: rejection.insn,
                log,
            }
        }
        other => RuntimeError::Load {
            reason: format!("{}: {other}", spec.probe_name),
        },
    }
}

impl Loaded {
    /// Runs a BEGIN/END program now if it is a raw-tracepoint one (`BPF_PROG_TEST_RUN`, on this
    /// thread, so `pid`/`comm` are gprobe's as with a trigger uprobe). `Ok(false)` for a
    /// program that runs through a trigger uprobe instead.
    pub(crate) fn run_once(&mut self, spec: &ProgramSpec) -> Result<bool, RuntimeError> {
        use std::os::fd::{AsFd, AsRawFd};
        let Some(Program::RawTracePoint(p)) = self.ebpf.program_mut(&spec.name) else {
            return Ok(false);
        };
        let err = |reason: String| RuntimeError::Attach {
            probe: spec.probe_name.clone(),
            reason,
            span: spec.span,
        };
        let fd = p.fd().map_err(|e| err(chain(&e)))?;
        crate::sys::run_program_once(fd.as_fd().as_raw_fd())
            .map_err(|e| err(format!("running the program: {e}")))?;
        Ok(true)
    }

    /// Attaches one program where its spec says. `pid` narrows uprobes to one process;
    /// `trigger` is where BEGIN/END programs go.
    pub(crate) fn attach(
        &mut self,
        spec: &ProgramSpec,
        pid: Option<u32>,
        trigger: Option<&Trigger>,
    ) -> Result<(), RuntimeError> {
        if let (Some(multi), Some(offsets)) = (self.multi.get_mut(&spec.name), multi_offsets(spec))
        {
            let Attach::Uprobe { binary, .. } = &spec.attach else {
                unreachable!("multi_offsets is Some only for uprobes")
            };
            let path = Path::new(binary);
            crate::target::check_binary(path, spec.span)?;
            let cookies = multi_cookies(spec);
            match uprobe_multi::attach(
                &multi.prog,
                path,
                offsets,
                multi_ref_ctrs(spec),
                cookies.as_deref(),
                pid,
            ) {
                Ok(link) => {
                    // Unlike perf_event_open (ESRCH), the link accepts a process that has
                    // exited but is not reaped yet.
                    if let Some(pid) = pid
                        && process_exited(pid)
                    {
                        drop(link);
                        return Err(RuntimeError::PidGone { pid });
                    }
                    multi.links.push(link);
                    return Ok(());
                }
                // Another process's link worked: the kernel has uprobe-multi, so this is a
                // real failure, and falling back would lose the links made.
                Err(e) if !multi.links.is_empty() => {
                    return Err(RuntimeError::Attach {
                        probe: spec.probe_name.clone(),
                        reason: e.to_string(),
                        span: spec.span,
                    });
                }
                Err(e) if e.raw_os_error() == Some(libc::ESRCH) && pid.is_some() => {
                    return Err(RuntimeError::PidGone {
                        pid: pid.unwrap_or_default(),
                    });
                }
                // Semaphores can only be set this way: the perf-event path has no error to
                // add. EINVAL here is typically another tracer's uprobe at the same site
                // without (or with another) semaphore, which the kernel refuses to mix.
                Err(e) if multi_ref_ctrs(spec).is_some() && !multi_unsupported(&e) => {
                    let hint = if e.raw_os_error() == Some(libc::EINVAL) {
                        " (another tracer may hold a uprobe at this USDT site without its semaphore)"
                    } else {
                        ""
                    };
                    return Err(RuntimeError::Attach {
                        probe: spec.probe_name.clone(),
                        reason: format!("{e}{hint}"),
                        span: spec.span,
                    });
                }
                // The perf-event path cannot carry the offsets: this error is the one to say.
                Err(e) if spec.offset_cookies && !multi_unsupported(&e) => {
                    return Err(RuntimeError::Attach {
                        probe: spec.probe_name.clone(),
                        reason: e.to_string(),
                        span: spec.span,
                    });
                }
                Err(_) => {}
            }
            // Not on this kernel, or an error the perf-event path below reports properly.
            self.multi.remove(&spec.name);
            let program = self.ebpf.program_mut(&spec.name);
            if let Some(Program::UProbe(p)) = program {
                p.load().map_err(|e| load_error(spec, e))?;
            }
        }
        let program = self
            .ebpf
            .program_mut(&spec.name)
            .ok_or_else(|| RuntimeError::Manifest {
                reason: format!("program {} is not in the object", spec.name),
            })?;
        let attach_err = |reason: String| RuntimeError::Attach {
            probe: spec.probe_name.clone(),
            reason,
            span: spec.span,
        };
        match (&spec.attach, program) {
            // Run directly by `run_once`: nothing to attach.
            (Attach::Begin | Attach::End, Program::RawTracePoint(_)) => {}
            (Attach::Begin | Attach::End, Program::UProbe(p)) => {
                let trigger =
                    trigger.ok_or_else(|| attach_err("no trigger for BEGIN/END".into()))?;
                let pid = NonZeroU32::new(std::process::id())
                    .map(UProbeScope::OneProcess)
                    .unwrap_or(UProbeScope::CallingProcess);
                p.attach(
                    UProbeAttachLocation::AbsoluteOffset(trigger.offset),
                    &trigger.exe,
                    pid,
                )
                .map_err(|e| attach_err(chain(&e)))?;
            }
            // Perf-event uprobes carry no cookie, so the offset that fired would read as 0.
            (Attach::Uprobe { .. }, Program::UProbe(_)) if spec.offset_cookies => {
                return Err(attach_err(
                    "uaddr() at several sites of a position-independent binary needs \
                     uprobe-multi links, which carry each site's offset: this kernel has none \
                     (Linux 6.6 or later has them) or the program could not be loaded as one"
                        .into(),
                ));
            }
            (Attach::Uprobe { binary, target, .. }, Program::UProbe(p)) => {
                let path = Path::new(binary);
                crate::target::check_binary(path, spec.span)?;
                let scope = match pid.and_then(NonZeroU32::new) {
                    Some(pid) => UProbeScope::OneProcess(pid),
                    None => UProbeScope::AllProcesses,
                };
                let locations = match target {
                    UprobeTarget::Symbol(s) => vec![UProbeAttachLocation::Symbol(s)],
                    UprobeTarget::Offset(o) => vec![UProbeAttachLocation::AbsoluteOffset(*o)],
                    UprobeTarget::Offsets(os) => os
                        .iter()
                        .map(|o| UProbeAttachLocation::AbsoluteOffset(*o))
                        .collect(),
                    // aya's perf-event uprobes cannot set a semaphore (`ref_ctr_offset`); a
                    // probe behind one would attach and never fire.
                    UprobeTarget::Usdt { .. } if multi_ref_ctrs(spec).is_some() => {
                        return Err(attach_err(
                            "USDT semaphores need uprobe-multi links (Linux 6.6 or later)".into(),
                        ));
                    }
                    UprobeTarget::Usdt { offsets, .. } => offsets
                        .iter()
                        .map(|o| UProbeAttachLocation::AbsoluteOffset(*o))
                        .collect(),
                };
                if let Some(Err(e)) = locations
                    .into_iter()
                    .map(|location| p.attach(location, path, scope))
                    .find(Result::is_err)
                {
                    if let (UprobeTarget::Symbol(symbol), true) =
                        (target, chain(&e).contains("symbol"))
                    {
                        if crate::target::looks_like_go(symbol) && !crate::target::is_go(path) {
                            return Err(RuntimeError::NotGo {
                                symbol: symbol.clone(),
                                binary: binary.clone(),
                                span: spec.span,
                            });
                        }
                        let table = SymbolTable::from_elf(path);
                        return Err(RuntimeError::SymbolNotFound {
                            symbol: symbol.clone(),
                            binary: binary.clone(),
                            nearest: nearest(symbol, table.names()),
                            span: spec.span,
                        });
                    }
                    // ESRCH: the process exited (a zombie still has /proc/PID) while attaching.
                    if let Some(pid) = pid
                        && (has_errno(&e, libc::ESRCH)
                            || !Path::new(&format!("/proc/{pid}")).exists())
                    {
                        return Err(RuntimeError::PidGone { pid });
                    }
                    return Err(attach_err(chain(&e)));
                }
            }
            (Attach::RawTracepoint { name }, Program::RawTracePoint(p)) => {
                p.attach(name).map_err(|e| {
                    // The name was checked against this kernel's list when compiling; the
                    // kernel refuses a program reading past the tracepoint's arguments with
                    // EINVAL (also checked, from BTF, where BTF knows the tracepoint).
                    if has_errno(&e, libc::ENOENT) {
                        attach_err(format!("this kernel has no tracepoint `{name}`"))
                    } else if has_errno(&e, libc::EINVAL) {
                        attach_err(format!(
                            "the kernel refused it ({}): an argN beyond what `{name}` passes? `gprobe -lv 'rawtracepoint:{name}'` lists them",
                            chain(&e)
                        ))
                    } else {
                        attach_err(chain(&e))
                    }
                })?;
            }
            (Attach::Tracepoint { category, name }, Program::TracePoint(p)) => {
                crate::tracefs::ensure_mounted()?;
                if !crate::tracefs::exists(category, name) {
                    return Err(crate::tracefs::not_found(category, name, spec.span));
                }
                p.attach(category, name)
                    .map_err(|e| attach_err(chain(&e)))?;
            }
            (
                Attach::Kprobe {
                    function, offset, ..
                },
                Program::KProbe(p),
            ) => {
                crate::kprobe::kprobes_available().map_err(attach_err)?;
                let functions = crate::kprobe::functions_matching(function);
                if functions.is_empty() {
                    return Err(attach_err(format!(
                        "no traceable kernel function matches `{function}`"
                    )));
                }
                for f in &functions {
                    p.attach(f, *offset).map_err(|e| attach_err(chain(&e)))?;
                }
            }
            (Attach::Profile { hz, period_ns }, Program::PerfEvent(p)) => {
                let policy = match (hz, period_ns) {
                    (Some(hz), _) => SamplePolicy::Frequency(*hz),
                    (None, Some(ns)) => SamplePolicy::Period(*ns),
                    (None, None) => SamplePolicy::Frequency(99),
                };
                let cpus = aya::util::online_cpus()
                    .map_err(|(what, e)| attach_err(format!("{what}: {e}")))?;
                for cpu in cpus {
                    p.attach(
                        PerfEventConfig::Software(SoftwareEvent::CpuClock),
                        PerfEventScope::AllProcessesOneCpu { cpu },
                        policy,
                        true,
                    )
                    .map_err(|e| attach_err(chain(&e)))?;
                }
            }
            (Attach::Software { event, count }, Program::PerfEvent(p)) => {
                crate::perf_event::attach_counter(p, false, event, *count).map_err(attach_err)?;
            }
            (Attach::Hardware { event, count }, Program::PerfEvent(p)) => {
                crate::perf_event::attach_counter(p, true, event, *count).map_err(attach_err)?;
            }
            // Attached at run time, where the target's function says (see `arm_watchpoint`).
            (Attach::Watchpoint { armed: true, .. }, Program::PerfEvent(_)) => {}
            (
                Attach::Watchpoint {
                    address, len, mode, ..
                },
                Program::PerfEvent(p),
            ) => {
                let (prog, perf) =
                    crate::perf_event::attach_watchpoint(p, pid, *address, *len, mode)
                        .map_err(attach_err)?;
                // Detached with the others (closing the perf event fd detaches).
                self.adopt(format!("{}#watchpoint", spec.name), prog, perf);
            }
            (Attach::Interval { period_ns }, Program::PerfEvent(p)) => {
                // One timer on one CPU fires once per period, whatever runs where.
                p.attach(
                    PerfEventConfig::Software(SoftwareEvent::CpuClock),
                    PerfEventScope::AllProcessesOneCpu { cpu: 0 },
                    SamplePolicy::Period(*period_ns),
                    true,
                )
                .map_err(|e| attach_err(chain(&e)))?;
            }
            (attach, _) => {
                return Err(RuntimeError::Manifest {
                    reason: format!(
                        "program {} (section {}) cannot attach as {attach:?}",
                        spec.name, spec.section
                    ),
                });
            }
        }
        Ok(())
    }

    /// `watchpoint:FUNC+argN`: attaches the watchpoint program `spec` at `address` in `pid`,
    /// the address FUNC was just called with.
    pub(crate) fn arm_watchpoint(
        &mut self,
        spec: &ProgramSpec,
        pid: u32,
        address: u64,
    ) -> Result<(), String> {
        let Attach::Watchpoint { len, mode, .. } = &spec.attach else {
            return Err(format!("{} is not a watchpoint", spec.name));
        };
        let Some(Program::PerfEvent(p)) = self.ebpf.program_mut(&spec.name) else {
            return Err(format!("program {} is not in the object", spec.name));
        };
        let (prog, perf) = crate::perf_event::attach_watchpoint(p, Some(pid), address, *len, mode)?;
        self.adopt(format!("{}#watchpoint@{address:x}", spec.name), prog, perf);
        Ok(())
    }

    /// Map fds by name (see [`Loaded::maps`]).
    pub(crate) fn map_refs(&self) -> &HashMap<String, MapRef> {
        &self.maps
    }

    /// Takes a program loaded and attached elsewhere (see `crate::dynamic`) under `key`, a
    /// name no program of the object has: it is then detached with the others.
    pub(crate) fn adopt(&mut self, key: String, prog: OwnedFd, link: OwnedFd) {
        self.multi.insert(
            key,
            MultiProgram {
                links: vec![link],
                prog,
            },
        );
    }

    /// Detaches and unloads every program not named in `keep`: once tracing stops, nothing may
    /// write the maps while they are read for the last time (a hash map walked while entries
    /// are being replaced can restart its walk without end).
    pub(crate) fn detach_except(&mut self, keep: &[&str]) {
        let mut links = Vec::new();
        self.multi.retain(|name, program| {
            let kept = keep.contains(&name.as_str());
            if !kept {
                links.append(&mut program.links);
            }
            kept
        });
        uprobe_multi::close_all(links);
        let programs: Vec<&mut Program> = self
            .ebpf
            .programs_mut()
            .filter(|(name, _)| !keep.contains(name))
            .map(|(_, program)| program)
            .collect();
        // Each link's close waits for the kernel's RCU grace periods (~30 ms for a tracepoint
        // here): closed one after another, a node-wide session's two watch programs alone
        // would add ~60 ms to every exit. Their waits overlap when closed together.
        std::thread::scope(|scope| {
            for program in programs {
                scope.spawn(move || {
                    // Unloading cannot fail in a way we could act on; fds close on drop anyway.
                    let _ = match program {
                        Program::UProbe(p) => p.unload(),
                        Program::KProbe(p) => p.unload(),
                        Program::TracePoint(p) => p.unload(),
                        Program::PerfEvent(p) => p.unload(),
                        _ => Ok(()),
                    };
                });
            }
        });
    }

    /// Takes a map out of the object: its fd and sizes as the kernel reports them. The map
    /// stays owned by the returned handle (dropped with it).
    pub(crate) fn take_map(&mut self, name: &str, kind: MapKind) -> Result<OwnedMap, RuntimeError> {
        let map = self
            .ebpf
            .take_map(name)
            .ok_or_else(|| RuntimeError::Manifest {
                reason: format!("map {name} is not in the object"),
            })?;
        if kind == MapKind::RingBuf {
            let ring = RingBuf::try_from(map).map_err(|e| RuntimeError::Load {
                reason: format!("ring buffer {name}: {e}"),
            })?;
            return Ok(OwnedMap::Ring(ring));
        }
        let data = match map {
            Map::HashMap(d)
            | Map::PerCpuHashMap(d)
            | Map::Array(d)
            | Map::PerCpuArray(d)
            | Map::StackTraceMap(d) => d,
            other => {
                return Err(RuntimeError::Manifest {
                    reason: format!("map {name} has an unexpected type {other:?}"),
                });
            }
        };
        let info = data.info().map_err(|e| RuntimeError::Load {
            reason: format!("map {name}: {e}"),
        })?;
        let copies = if matches!(kind, MapKind::PerCpuHash | MapKind::PerCpuArray) {
            aya::util::nr_cpus().map_err(|(what, e)| RuntimeError::io(what, e))?
        } else {
            1
        };
        let raw = RawMap {
            fd: data.fd().as_fd().as_raw_fd(),
            key_size: info.key_size() as usize,
            value_size: info.value_size() as usize,
            copies,
        };
        Ok(OwnedMap::Data { _owner: data, raw })
    }
}

/// A map taken out of the object; the fd lives as long as this.
pub(crate) enum OwnedMap {
    /// The `MapData` owns the fd the `RawMap` uses.
    Data {
        _owner: MapData,
        raw: RawMap,
    },
    Ring(RingBuf<MapData>),
}

impl OwnedMap {
    pub(crate) fn raw(&self) -> Option<RawMap> {
        match self {
            OwnedMap::Data { raw, .. } => Some(*raw),
            OwnedMap::Ring(_) => None,
        }
    }

    pub(crate) fn ring_fd(&self) -> Option<i32> {
        match self {
            OwnedMap::Ring(r) => Some(r.as_raw_fd()),
            OwnedMap::Data { .. } => None,
        }
    }

    /// Hands every record now in the ring buffer to `f`, oldest first.
    pub(crate) fn drain(&mut self, f: &mut dyn FnMut(&[u8])) {
        if let OwnedMap::Ring(ring) = self {
            while let Some(item) = ring.next() {
                f(&item);
            }
        }
    }
}

/// Whether process `pid` is gone or a zombie (state `Z`/`X` in /proc/PID/stat).
fn process_exited(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => true,
    }
}

/// Whether `e` or one of its sources is an OS error `errno`.
fn has_errno(e: &(dyn std::error::Error + 'static), errno: i32) -> bool {
    let mut current = Some(e);
    while let Some(err) = current {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io.raw_os_error() == Some(errno)
        {
            return true;
        }
        current = err.source();
    }
    false
}

/// The error and its sources on one line: aya's messages say what failed, their sources why.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The loader is built without reading vmlinux BTF, and the host's mounts are untouched.
    #[test]
    fn loader_skips_vmlinux_btf() {
        if unsafe { libc::geteuid() } != 0 || !Path::new("/sys/kernel/btf/vmlinux").exists() {
            assert!(
                std::env::var_os("CI").is_none(),
                "needs root and /sys/kernel/btf/vmlinux under CI"
            );
            return;
        }
        let started = std::time::Instant::now();
        let loader = loader_without_vmlinux_btf();
        let fast = started.elapsed();
        assert!(format!("{loader:?}").contains("btf: None"), "{loader:?}");
        let started = std::time::Instant::now();
        let plain = EbpfLoader::new();
        let slow = started.elapsed();
        assert!(!format!("{plain:?}").contains("btf: None"));
        eprintln!("loader without vmlinux BTF: {fast:?}; EbpfLoader::new(): {slow:?}");
        // The bind mount lived only in the helper thread's namespace.
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(!mounts.contains("/sys/kernel/btf/vmlinux"), "{mounts}");
    }
}
