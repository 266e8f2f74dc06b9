//! AST → IR: one [`Function`] per attach point, the maps the program uses and the events it
//! sends, with bpftrace's semantics. Works on a checked tree (every `Expr::ty` known, names
//! resolved to builtins); anything this back end cannot lower yet becomes a [`Diagnostic`] with
//! the span, never a panic.

mod func;
pub mod layout;

use crate::ast::{self, Expr, ExprKind, ProbeKind, Stmt, StmtKind};
use crate::builtins::{Builtin, ProviderKind};
use crate::check::{self, Checked};
use crate::diag::Diagnostic;
use crate::ir::Function;
use crate::manifest::{
    Attach, EventSpec, Layout, MapKind, MapRole, MapSpec, MapValue, UprobeTarget,
};
use crate::span::Span;
use crate::target::{GoLocation, GoSite, Resolved};
use crate::types::{AggKind, StackKind};
use std::collections::{HashMap, HashSet};

/// Diagnostic codes of the back end: `E07xx`.
pub mod codes {
    /// A construct the back end cannot lower (yet).
    pub const UNSUPPORTED: &str = "E0700";
    /// The program needs more than 512 bytes of stack.
    pub const STACK: &str = "E0701";
    /// A map used with different key or value shapes.
    pub const MAP_SHAPE: &str = "E0702";
    /// A probe compiles to more instructions than gprobe handles.
    pub const TOO_LARGE: &str = "E0703";
}

#[derive(Clone, Debug)]
pub struct LowerOptions {
    /// `max_entries` of user maps.
    pub map_entries: u32,
    /// Ring buffer size in bytes (a power of two, multiple of the page size).
    pub ringbuf_bytes: u32,
    /// `$1`..`$N`.
    pub positional: Vec<String>,
    /// No `-p`/`-c` target: user stacks and addresses carry their process, and the programs
    /// watch processes exec and exit so the runtime knows each one (see `func/go.rs`).
    pub node_wide: bool,
    /// Node-wide: where the kernel keeps an exec'd image's inode, so the exec watch can give a
    /// process of a known Go binary its facts at once. `None`: the runtime does it, a little
    /// later.
    pub exe_inode: Option<crate::target::ExeInodeOffsets>,
    /// Node-wide but limited to some processes (`-p A,B`, `--exe`, `--cgroup`): each program of
    /// a probe that can fire in any process first looks its tgid up in [`MapRole::Processes`].
    pub filter_processes: bool,
    /// `-k`/`-kk`: 2 reports every failed probe read as a warning with its source location.
    pub helper_errors: u8,
}

impl Default for LowerOptions {
    fn default() -> Self {
        LowerOptions {
            map_entries: 4096,
            ringbuf_bytes: 1 << 20,
            positional: Vec::new(),
            node_wide: false,
            exe_inode: None,
            filter_processes: false,
            helper_errors: 0,
        }
    }
}

/// One program before register allocation.
pub struct LoweredProgram {
    pub func: Function,
    pub section: String,
    pub attach: Attach,
    pub span: Span,
    pub probe_name: String,
    /// See [`crate::manifest::ProgramSpec::site_names`].
    pub site_names: Vec<(u64, String)>,
    /// See [`crate::manifest::ProgramSpec::offset_cookies`].
    pub offset_cookies: bool,
    /// Set for the programs of a binary pattern (see [`crate::expand`]).
    pub pattern: Option<crate::manifest::PatternOrigin>,
}

pub struct Lowered {
    pub programs: Vec<LoweredProgram>,
    pub maps: Vec<MapSpec>,
    pub events: Vec<EventSpec>,
}

/// Module-wide state: maps and events shared by all programs.
pub(crate) struct Module<'a> {
    pub source: &'a str,
    /// The checker's unified types of maps and variables: the slot sizes.
    pub checked: &'a Checked,
    pub options: &'a LowerOptions,
    pub maps: Vec<MapSpec>,
    pub user_maps: HashMap<String, usize>,
    /// User maps that lose keys while tracing (`delete`, `clear`): only their failed inserts
    /// are counted in the program. A map that only grows and was ever full is still full at
    /// the end, where the runtime sees it without a counter on every insert path.
    pub emptied_maps: HashSet<usize>,
    pub events: Vec<EventSpec>,
    pub diags: Vec<Diagnostic>,
    /// Node-wide: some program stored a user address tagged with its process.
    pub tagged_addresses: bool,
    /// Some uprobe is on a binary pattern: the runtime must hear of every exec to attach to
    /// programs started later.
    pub patterns: bool,
}

/// The probe name of programs gprobe adds itself (not counted as the user's probes).
pub const WATCH_PREFIX: &str = "gprobe:";

/// Distinct Go executables whose facts the exec watch can copy at once.
const GO_BINARIES_ENTRIES: u32 = 4096;

/// Per-process facts each Go process keeps at most (node-wide); the runtime fills it.
const GO_PROCESSES_ENTRIES: u32 = 16384;

impl Module<'_> {
    fn internal_map(&mut self, role: MapRole, make: impl FnOnce() -> MapSpec) -> usize {
        if let Some(i) = self.maps.iter().position(|m| m.role == role) {
            return i;
        }
        self.maps.push(make());
        self.maps.len() - 1
    }

    pub fn events_map(&mut self) -> usize {
        let bytes = self.options.ringbuf_bytes;
        self.internal_map(MapRole::Events, || MapSpec {
            name: "events".into(),
            user_name: None,
            role: MapRole::Events,
            kind: MapKind::RingBuf,
            key: Layout::default(),
            value: MapValue::Plain(Layout::default()),
            max_entries: bytes,
        })
    }

    pub fn counters_map(&mut self) -> usize {
        self.internal_map(MapRole::Counters, || MapSpec {
            name: "counters".into(),
            user_name: None,
            role: MapRole::Counters,
            kind: MapKind::PerCpuArray,
            key: u32_layout(),
            value: MapValue::Plain(u64_layout()),
            max_entries: 3,
        })
    }

    pub fn config_map(&mut self) -> usize {
        self.internal_map(MapRole::Config, || MapSpec {
            name: "config".into(),
            user_name: None,
            role: MapRole::Config,
            kind: MapKind::Array,
            key: u32_layout(),
            value: MapValue::Plain(u64_layout()),
            max_entries: crate::manifest::CONFIG_SLOTS,
        })
    }

    pub fn stack_map(&mut self, kind: StackKind) -> usize {
        let role = MapRole::Stacks { kind };
        self.internal_map(role, || MapSpec {
            name: match kind {
                StackKind::User => "ustacks".into(),
                StackKind::Kernel => "kstacks".into(),
                StackKind::Go => "gostacks".into(),
            },
            user_name: None,
            role,
            kind: MapKind::StackTrace,
            key: u32_layout(),
            value: MapValue::Plain(Layout {
                size: 8 * crate::builtins::DEFAULT_STACK_LIMIT as u32,
                fields: vec![],
            }),
            max_entries: STACK_MAP_ENTRIES,
        })
    }

    /// Node-wide Go facts by host tgid ([`crate::manifest::GoProcFacts`]).
    pub fn go_processes_map(&mut self) -> usize {
        self.internal_map(MapRole::GoProcesses, || MapSpec {
            name: "go_procs".into(),
            user_name: None,
            role: MapRole::GoProcesses,
            kind: MapKind::Hash,
            key: u64_layout(),
            value: MapValue::Plain(Layout {
                size: crate::manifest::GO_PROC_FACTS_SIZE,
                fields: vec![],
            }),
            max_entries: GO_PROCESSES_ENTRIES,
        })
    }

    /// Node-wide Go facts by executable inode ([`MapRole::GoBinaries`]).
    pub fn go_binaries_map(&mut self) -> usize {
        self.internal_map(MapRole::GoBinaries, || MapSpec {
            name: "go_bins".into(),
            user_name: None,
            role: MapRole::GoBinaries,
            kind: MapKind::Hash,
            key: Layout {
                size: 16,
                fields: vec![],
            },
            value: MapValue::Plain(Layout {
                size: crate::manifest::GO_PROC_FACTS_SIZE,
                fields: vec![],
            }),
            max_entries: GO_BINARIES_ENTRIES,
        })
    }

    /// The tgids a limited session traces ([`MapRole::Processes`]).
    pub fn processes_map(&mut self) -> usize {
        let entries = GO_PROCESSES_ENTRIES;
        self.internal_map(MapRole::Processes, || MapSpec {
            name: "traced".into(),
            user_name: None,
            role: MapRole::Processes,
            kind: MapKind::Hash,
            key: u64_layout(),
            value: MapValue::Plain(Layout {
                size: 1,
                fields: vec![],
            }),
            max_entries: entries,
        })
    }

    pub fn uses_go_processes(&self) -> bool {
        self.maps.iter().any(|m| m.role == MapRole::GoProcesses)
    }

    /// Whether some program's values depend on which process it fired in (Go facts, user
    /// stacks or addresses), so the runtime must hear of every exec and exit.
    fn watches_processes(&self) -> bool {
        // A limited session keeps its process set from exec and exit events.
        self.options.node_wide
            && (self.patterns
                || self.options.filter_processes
                || self.uses_go_processes()
                || self.maps.iter().any(|m| {
                    matches!(
                        m.role,
                        MapRole::Stacks {
                            kind: StackKind::User | StackKind::Go
                        }
                    )
                })
                || self.tagged_addresses)
    }

    /// The id of event `spec`. Identical specs share one id: a pattern's pending form and its
    /// expansions lower the same body, and must not get new ids per binary (a recompile for a
    /// program started later must number events as the session does).
    pub fn event(&mut self, spec: EventSpec) -> u64 {
        if let Some(i) = self.events.iter().position(|e| *e == spec) {
            return i as u64;
        }
        self.events.push(spec);
        self.events.len() as u64 - 1
    }
}

/// Stack ids are below this; a `gostack` value keeps them in its low bits.
const STACK_MAP_ENTRIES: u32 = 4096;
const _: () = assert!(STACK_MAP_ENTRIES <= 1 << crate::manifest::GO_STACK_ID_BITS);

fn u32_layout() -> Layout {
    use crate::manifest::{FieldKind, LayoutField};
    Layout {
        size: 4,
        fields: vec![LayoutField {
            name: None,
            offset: 0,
            kind: FieldKind::Int {
                size: 4,
                signed: false,
            },
        }],
    }
}

fn u64_layout() -> Layout {
    use crate::manifest::{FieldKind, LayoutField};
    Layout {
        size: 8,
        fields: vec![LayoutField {
            name: None,
            offset: 0,
            kind: FieldKind::Int {
                size: 8,
                signed: false,
            },
        }],
    }
}

pub fn lower(
    program: &ast::Program,
    checked: &Checked,
    source: &str,
    options: &LowerOptions,
) -> Result<Lowered, Vec<Diagnostic>> {
    let mut module = Module {
        source,
        checked,
        options,
        maps: Vec::new(),
        user_maps: HashMap::new(),
        emptied_maps: HashSet::new(),
        events: Vec::new(),
        diags: Vec::new(),
        tagged_addresses: false,
        patterns: false,
    };
    collect_maps(program, checked, &mut module);
    let mut programs = Vec::new();
    for (pi, probe) in program.probes.iter().enumerate() {
        for (ai, attach) in probe.attach.iter().enumerate() {
            let name = if ai == 0 {
                format!("gp_p{pi}")
            } else {
                format!("gp_p{pi}_{ai}")
            };
            // `probe` names a tracepoint in full, as bpftrace does (`t:sched:*` expands to
            // `tracepoint:sched:sched_switch`, ...).
            let probe_name = match &attach.kind {
                ast::ProbeKind::Tracepoint { category, name } => {
                    format!("tracepoint:{}:{}", category.node, name.node)
                }
                ast::ProbeKind::RawTracepoint { name, .. } => {
                    format!("rawtracepoint:{}", name.node)
                }
                _ => source.get(attach.span.range()).unwrap_or("").to_string(),
            };
            let resolved = checked
                .probes
                .get(pi)
                .and_then(|info| info.resolved.get(ai))
                .and_then(Option::as_ref);
            let Some((section_kind, provider, target)) = attach_of(
                &attach.kind,
                attach.span,
                has_sites(resolved),
                &mut module.diags,
            ) else {
                continue;
            };
            let pattern = pattern_origin(attach);
            module.patterns |= pattern.is_some();
            let variants = match &attach.kind {
                ProbeKind::Usdt { .. } => usdt_variants(attach, resolved, &mut module.diags),
                _ => go_variants(resolved, section_kind, target)
                    .into_iter()
                    .map(|(s, t, go)| (s, t, go, probe_name.clone()))
                    .collect(),
            };
            for (vi, (section_kind, target, mut go, mut probe_name)) in
                variants.into_iter().enumerate()
            {
                let mut site_names = site_names(attach, resolved, &target, &probe_name);
                if site_names.iter().all(|(_, n)| *n == site_names[0].1) {
                    // One function: its name, without a cookie.
                    if let Some((_, name)) = site_names.pop() {
                        probe_name = name;
                    }
                    site_names.clear();
                }
                go.named_sites = !site_names.is_empty();
                let info = checked.probes.get(pi).cloned().unwrap_or_default();
                let offsets = attach_offsets(&target);
                go.site_offset = match offsets {
                    [one] => Some(*one),
                    _ => None,
                };
                go.uaddr_at_site = info.uaddr_at_site;
                go.offset_cookies = info.uaddr_at_site && offsets.len() > 1;
                if go.offset_cookies && offsets.iter().any(|o| *o > u64::from(u32::MAX)) {
                    module.diags.push(
                        Diagnostic::error(
                            codes::UNSUPPORTED,
                            "uaddr() here needs each site's file offset in 32 bits",
                        )
                        .primary(
                            attach.span,
                            "a site of this probe lies past 4 GiB in its file",
                        ),
                    );
                    continue;
                }
                // The pending form attaches nowhere; name the pattern and function instead.
                let target = match (&pattern, target) {
                    (Some(p), Attach::Uprobe { ret, .. }) if p.pending => Attach::Uprobe {
                        binary: p.binary.clone(),
                        target: UprobeTarget::Symbol(p.function.clone()),
                        ret,
                    },
                    (_, target) => target,
                };
                let name = if vi == 0 {
                    name.clone()
                } else {
                    format!("{name}_v{vi}")
                };
                let func =
                    func::lower_probe(&mut module, probe, &info, &name, provider, &probe_name, go);
                programs.push(LoweredProgram {
                    func,
                    section: format!("{section_kind}/{name}"),
                    attach: target,
                    span: attach.span,
                    probe_name: probe_name.clone(),
                    site_names,
                    offset_cookies: go.offset_cookies,
                    pattern: pattern.clone(),
                });
            }
            if let Some(arm) = watchpoint_arm(&mut module, attach, resolved, &name) {
                programs.push(arm);
            }
        }
    }
    if module.watches_processes() {
        for (exec, name) in [(true, "sched_process_exec"), (false, "sched_process_exit")] {
            let program = format!("gp_watch_{}", if exec { "exec" } else { "exit" });
            let func = func::lower_process_watch(&mut module, &program, exec);
            programs.push(LoweredProgram {
                func,
                section: format!("tracepoint/{program}"),
                attach: Attach::Tracepoint {
                    category: "sched".into(),
                    name: name.into(),
                },
                span: Span { start: 0, end: 0 },
                probe_name: format!("{WATCH_PREFIX}{name}"),
                site_names: Vec::new(),
                offset_cookies: false,
                pattern: None,
            });
        }
    }
    if module.diags.iter().any(|d| d.is_error()) {
        return Err(module.diags);
    }
    Ok(Lowered {
        programs,
        maps: module.maps,
        events: module.events,
    })
}

/// The manifest's note on the programs of a binary pattern's attach point.
fn pattern_origin(attach: &ast::AttachPoint) -> Option<crate::manifest::PatternOrigin> {
    let expansion = crate::expand::expansion_of(attach)?;
    let ProbeKind::Uprobe { function, .. } = &attach.kind else {
        return None;
    };
    Some(crate::manifest::PatternOrigin {
        binary: expansion.pattern().to_owned(),
        function: function.node.clone(),
        pending: expansion.is_pending(),
    })
}

/// The programs one attach point becomes, with what each knows about Go. A uprobe on a Go
/// binary attaches at file offsets from the pclntab (so stripped binaries work), a Go return
/// probe is a plain uprobe at every RET (never a kernel uretprobe, which corrupts Go stacks), and
/// functions are grouped by ABI so `goid` reads g from R14 only where R14 holds it.
fn go_variants<'a>(
    resolved: Option<&'a Resolved>,
    section_kind: &'static str,
    target: Attach,
) -> Vec<(&'static str, Attach, func::GoCtx<'a>)> {
    let Some(resolved) = resolved else {
        return vec![(section_kind, target, func::GoCtx::default())];
    };
    let runtime = resolved.go.as_ref();
    let per_process = resolved.per_process.as_ref();
    // Not Go code (a tracepoint, or a uprobe by ELF symbol): only the runtime offsets serve.
    let outside_go = func::GoCtx {
        runtime,
        per_process,
        ..func::GoCtx::default()
    };
    let Attach::Uprobe { binary, ret, .. } = &target else {
        return vec![(section_kind, target, outside_go)];
    };
    let binary = resolved.binary.clone().unwrap_or_else(|| binary.clone());
    if resolved.functions.is_empty() {
        let target = match target {
            Attach::Uprobe { target, ret, .. } => Attach::Uprobe {
                binary,
                target,
                ret,
            },
            other => other,
        };
        return vec![(section_kind, target, outside_go)];
    }
    let single = resolved.functions.len() == 1;
    if *ret && resolved.functions.iter().all(|s| s.native) {
        // C code: one kernel uretprobe at every function's entry.
        let mut offsets: Vec<u64> = resolved
            .functions
            .iter()
            .flat_map(|s| s.offsets.clone())
            .collect();
        offsets.sort_unstable();
        offsets.dedup();
        let target = if offsets.len() == 1 {
            UprobeTarget::Offset(offsets[0])
        } else {
            UprobeTarget::Offsets(offsets)
        };
        let target = Attach::Uprobe {
            binary,
            target,
            ret: true,
        };
        return vec![("uretprobe", target, outside_go)];
    }
    let mut out = Vec::new();
    for abi_internal in [true, false] {
        let sites: Vec<_> = resolved
            .functions
            .iter()
            .filter(|s| s.abi_internal == abi_internal)
            .collect();
        if sites.is_empty() {
            continue;
        }
        let mut offsets: Vec<u64> = sites.iter().flat_map(|s| s.offsets.clone()).collect();
        offsets.sort_unstable();
        offsets.dedup();
        let target = if offsets.len() == 1 {
            UprobeTarget::Offset(offsets[0])
        } else {
            UprobeTarget::Offsets(offsets)
        };
        out.push((
            "uprobe",
            Attach::Uprobe {
                binary: binary.clone(),
                target,
                ret: false,
            },
            func::GoCtx {
                // The checker let a wildcard's probe read only the `args`/`ret` its functions
                // share, at one location, so the first site's locations serve them all.
                site: (single || sites.iter().all(|s| same_locations(sites[0], s)))
                    .then(|| sites[0]),
                runtime,
                per_process,
                abi_internal,
                caller_at_sp: sites.iter().any(|s| s.caller_at_sp),
                usdt: None,
                ..func::GoCtx::default()
            },
        ));
    }
    out
}

/// `watchpoint:FUNC+argN`'s second program: the uprobe at FUNC's entry in the target that tells
/// the runtime where to attach the watchpoint program `watch` (see `func::watch_arm`).
fn watchpoint_arm(
    module: &mut Module,
    attach: &ast::AttachPoint,
    resolved: Option<&Resolved>,
    watch: &str,
) -> Option<LoweredProgram> {
    let ProbeKind::Watchpoint {
        armed_at: Some((function, arg)),
        is_async,
        ..
    } = &attach.kind
    else {
        return None;
    };
    let resolved = resolved?;
    let offset = *resolved.functions.first()?.offsets.first()?;
    let name = format!("{watch}_arm");
    let func = func::lower_watchpoint_arm(module, &name, watch, *arg, !is_async);
    Some(LoweredProgram {
        func,
        section: format!("uprobe/{name}"),
        attach: Attach::Uprobe {
            binary: resolved.binary.clone().unwrap_or_default(),
            target: UprobeTarget::Offset(offset),
            ret: false,
        },
        span: function.span,
        probe_name: format!("{WATCH_PREFIX}arm:{}", function.node),
        site_names: Vec::new(),
        offset_cookies: false,
        pattern: None,
    })
}

/// The file offsets a uprobe program attaches at (empty: by symbol, or no uprobe).
fn attach_offsets(target: &Attach) -> &[u64] {
    match target {
        Attach::Uprobe {
            target: UprobeTarget::Offset(offset),
            ..
        } => std::slice::from_ref(offset),
        Attach::Uprobe {
            target: UprobeTarget::Offsets(offsets) | UprobeTarget::Usdt { offsets, .. },
            ..
        } => offsets,
        _ => &[],
    }
}

/// The name `probe` gives each offset of a program a uprobe's glob attached
/// (`uprobe:./srv:main.*` at `main.work` is `uprobe:./srv:main.work`, as bpftrace expands
/// it); empty when the function is no glob.
fn site_names(
    attach: &ast::AttachPoint,
    resolved: Option<&Resolved>,
    target: &Attach,
    probe_name: &str,
) -> Vec<(u64, String)> {
    let offsets = match target {
        Attach::Uprobe {
            target: UprobeTarget::Offsets(offsets),
            ..
        } => offsets.as_slice(),
        Attach::Uprobe {
            target: UprobeTarget::Offset(offset),
            ..
        } => std::slice::from_ref(offset),
        _ => return Vec::new(),
    };
    let (Some(resolved), ProbeKind::Uprobe { glob: true, .. }) = (resolved, &attach.kind) else {
        return Vec::new();
    };
    let functions: Vec<(u64, &str)> = offsets
        .iter()
        .filter_map(|o| {
            let site = resolved.functions.iter().find(|s| s.offsets.contains(o))?;
            Some((*o, site.name.as_str()))
        })
        .collect();
    // The attach point up to its function: `uprobe:./srv:` (or `uprobe:` with -p).
    let prefix = &probe_name[..probe_name.rfind(':').map_or(0, |i| i + 1)];
    functions
        .into_iter()
        .map(|(o, f)| (o, format!("{prefix}{f}")))
        .collect()
}

/// The programs of a `usdt:` attach point: one per probe and argument locations (sites of one
/// probe, e.g. inlined copies, may hold its arguments in different places), each attached at
/// all its sites with their semaphores; `probe` names the probe in full.
fn usdt_variants<'a>(
    attach: &ast::AttachPoint,
    resolved: Option<&'a Resolved>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<(&'static str, Attach, func::GoCtx<'a>, String)> {
    let Some(resolved) = resolved.filter(|r| !r.usdt.is_empty()) else {
        diags.push(
            Diagnostic::error(codes::UNSUPPORTED, "this USDT probe was not resolved")
                .primary(attach.span, "no probe sites"),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for file in &resolved.usdt {
        let mut groups: Vec<Vec<&crate::usdt::UsdtProbe>> = Vec::new();
        for site in &file.probes {
            match groups.iter_mut().find(|g| {
                g[0].provider == site.provider && g[0].name == site.name && g[0].args == site.args
            }) {
                Some(g) => g.push(site),
                None => groups.push(vec![site]),
            }
        }
        for sites in groups {
            let target = UprobeTarget::Usdt {
                offsets: sites.iter().map(|s| s.offset).collect(),
                semaphores: sites.iter().map(|s| s.semaphore).collect(),
            };
            out.push((
                "uprobe",
                Attach::Uprobe {
                    binary: file.path.clone(),
                    target,
                    ret: false,
                },
                func::GoCtx {
                    runtime: resolved.go.as_ref(),
                    usdt: Some(&sites[0].args),
                    ..func::GoCtx::default()
                },
                format!("usdt:{}:{}", file.path, sites[0].full_name()),
            ));
        }
    }
    out
}

/// Whether every parameter and result name `a` and `b` both have sits at the same place.
fn same_locations(a: &GoSite, b: &GoSite) -> bool {
    let agree = |x: &[(String, GoLocation)], y: &[(String, GoLocation)]| {
        x.iter()
            .all(|(name, at)| y.iter().all(|(other, there)| other != name || there == at))
    };
    agree(&a.params, &b.params) && agree(&a.results, &b.results)
}

/// The ELF section kind, the provider (for builtins) and the manifest's attach description.
/// The checker resolved the attach point to file offsets (which a `func+OFFSET` needs).
fn has_sites(resolved: Option<&Resolved>) -> bool {
    resolved.is_some_and(|r| !r.functions.is_empty())
}

fn attach_of(
    kind: &ProbeKind,
    span: Span,
    sites: bool,
    diags: &mut Vec<Diagnostic>,
) -> Option<(&'static str, ProviderKind, Attach)> {
    Some(match kind {
        // BEGIN/END are raw-tracepoint programs the runtime runs once with BPF_PROG_TEST_RUN:
        // unlike a uprobe on a trigger function, nothing is registered in the kernel, which
        // saves ~25 ms to attach and ~80 ms to detach (uprobe unregistration waits for RCU).
        ProbeKind::Begin => ("raw_tracepoint", ProviderKind::Begin, Attach::Begin),
        ProbeKind::End => ("raw_tracepoint", ProviderKind::End, Attach::End),
        ProbeKind::Interval { period_ns } => (
            "perf_event",
            ProviderKind::Interval,
            Attach::Interval {
                period_ns: *period_ns,
            },
        ),
        ProbeKind::Profile { rate } => {
            let (hz, period_ns) = match rate {
                ast::ProfileRate::Hz(hz) => (Some(*hz), None),
                ast::ProfileRate::PeriodNs(ns) => (None, Some(*ns)),
            };
            (
                "perf_event",
                ProviderKind::Profile,
                Attach::Profile { hz, period_ns },
            )
        }
        ProbeKind::Tracepoint { category, name } => (
            "tracepoint",
            ProviderKind::Tracepoint,
            Attach::Tracepoint {
                category: category.node.clone(),
                name: name.node.clone(),
            },
        ),
        ProbeKind::RawTracepoint { name, .. } => (
            "raw_tracepoint",
            ProviderKind::RawTracepoint,
            Attach::RawTracepoint {
                name: name.node.clone(),
            },
        ),
        ProbeKind::Uprobe {
            ret,
            binary,
            function,
            offset,
            ..
        } => {
            if (offset.is_some() || crate::native::parse_address(&function.node).is_some())
                && !sites
            {
                diags.push(
                    Diagnostic::error(
                        codes::UNSUPPORTED,
                        "a uprobe at function+offset needs the binary to resolve it",
                    )
                    .primary(span, "attach at the function itself"),
                );
                return None;
            }
            let provider = if *ret {
                ProviderKind::Uretprobe
            } else {
                ProviderKind::Uprobe
            };
            (
                if *ret { "uretprobe" } else { "uprobe" },
                provider,
                Attach::Uprobe {
                    binary: binary.as_ref().map(|b| b.node.clone()).unwrap_or_default(),
                    target: UprobeTarget::Symbol(function.node.clone()),
                    ret: *ret,
                },
            )
        }
        ProbeKind::Kprobe {
            ret,
            function,
            offset,
            ..
        } => (
            if *ret { "kretprobe" } else { "kprobe" },
            if *ret {
                ProviderKind::Kretprobe
            } else {
                ProviderKind::Kprobe
            },
            Attach::Kprobe {
                function: function.node.clone(),
                offset: offset.unwrap_or(0),
                ret: *ret,
            },
        ),
        ProbeKind::Software { event, count } => (
            "perf_event",
            ProviderKind::Software,
            Attach::Software {
                event: event.node.clone(),
                count: *count,
            },
        ),
        ProbeKind::Hardware { event, count } => (
            "perf_event",
            ProviderKind::Hardware,
            Attach::Hardware {
                event: event.node.clone(),
                count: *count,
            },
        ),
        ProbeKind::Watchpoint {
            address,
            len,
            mode,
            armed_at,
            ..
        } => (
            "perf_event",
            ProviderKind::Watchpoint,
            Attach::Watchpoint {
                address: *address,
                len: *len,
                mode: mode.node.clone(),
                armed: armed_at.is_some(),
            },
        ),
        // The sites and their semaphores come from the resolution (see `usdt_variants`).
        ProbeKind::Usdt { binary, .. } => (
            "uprobe",
            ProviderKind::Usdt,
            Attach::Uprobe {
                binary: binary.as_ref().map(|b| b.node.clone()).unwrap_or_default(),
                target: UprobeTarget::Usdt {
                    offsets: Vec::new(),
                    semaphores: Vec::new(),
                },
                ret: false,
            },
        ),
        ProbeKind::Unsupported { provider, .. } => {
            diags.push(
                Diagnostic::error(
                    codes::UNSUPPORTED,
                    format!("`{}` probes cannot be attached", provider.node),
                )
                .primary(span, "unsupported probe type"),
            );
            return None;
        }
    })
}

/// Lays out every user map from the checker's unified types (so a later, longer string widens
/// the slot instead of overflowing it). Key fields are named after the key expressions as
/// written at the map's first assignment (`comm`), for exporters' labels.
fn collect_maps(program: &ast::Program, checked: &Checked, module: &mut Module) {
    let MapUses {
        first_keys: key_names,
        emptied,
    } = map_uses(program);
    for info in &checked.maps {
        let names: Vec<Option<String>> = match key_names.get(info.name.as_str()) {
            Some(keys) if keys.len() == info.keys.len() => {
                keys.iter().map(|k| key_name(module.source, k)).collect()
            }
            _ => vec![None; info.keys.len()],
        };
        let Some(mut key) = layout::layout_of(names.into_iter().zip(&info.keys)) else {
            module.diags.push(
                Diagnostic::error(codes::UNSUPPORTED, "this map key type cannot be stored")
                    .primary(info.span, "here"),
            );
            continue;
        };
        // bpftrace prints a byte array's elements as int8 in a key, unsigned elsewhere.
        for field in &mut key.fields {
            if let crate::manifest::FieldKind::Bytes { signed, .. } = &mut field.kind {
                *signed = true;
            }
        }
        let (kind, map_value) = match &info.value {
            check::MapValue::Agg(agg) => {
                if matches!(agg, AggKind::Hist | AggKind::Lhist { .. }) {
                    key.size += 8; // the bucket index trails the user key
                }
                (MapKind::PerCpuHash, MapValue::Agg(*agg))
            }
            check::MapValue::Plain(ty) => match layout::layout_of([(None, ty)]) {
                Some(l) => (MapKind::Hash, MapValue::Plain(l)),
                None => {
                    module.diags.push(
                        Diagnostic::error(
                            codes::UNSUPPORTED,
                            "this value type cannot be stored in a map",
                        )
                        .primary(info.span, "here"),
                    );
                    continue;
                }
            },
        };
        if key.size == 0 {
            // A scalar map: one entry under key 0.
            key.size = 8;
        }
        let index = module.maps.len();
        module.maps.push(MapSpec {
            name: format!("m{index}"),
            user_name: Some(format!("@{}", info.name)),
            role: MapRole::User,
            kind,
            key,
            value: map_value,
            max_entries: module.options.map_entries,
        });
        module.user_maps.insert(info.name.clone(), index);
        if emptied.contains(info.name.as_str()) {
            module.emptied_maps.insert(index);
        }
    }
}

/// The key expressions of each map's first assignment (or first use, for a map never assigned
/// with keys), by map name; and the maps the program empties.
struct MapUses<'a> {
    first_keys: HashMap<&'a str, &'a [Expr]>,
    /// Maps named by `delete(@m[..])` or `clear(@m)`.
    emptied: HashSet<&'a str>,
}

fn map_uses(program: &ast::Program) -> MapUses<'_> {
    #[derive(Default)]
    struct Walk<'a> {
        assigned: HashMap<&'a str, &'a [Expr]>,
        used: HashMap<&'a str, &'a [Expr]>,
        emptied: HashSet<&'a str>,
    }
    impl<'a> Walk<'a> {
        fn expr(&mut self, e: &'a Expr) {
            if let ExprKind::Builtin {
                builtin: Builtin::Delete | Builtin::Clear,
                args,
            } = &e.kind
                && let Some(ExprKind::Map(m)) = args.first().map(|a| &a.kind)
            {
                self.emptied.insert(&m.name.node);
            }
            match &e.kind {
                ExprKind::Map(m) => {
                    self.used.entry(&m.name.node).or_insert(&m.keys);
                    m.keys.iter().for_each(|k| self.expr(k));
                }
                ExprKind::Builtin { args, .. }
                | ExprKind::Call { args, .. }
                | ExprKind::Tuple(args) => args.iter().for_each(|a| self.expr(a)),
                // `@m[k]++` assigns the map too.
                ExprKind::IncDec { target: x, .. } => {
                    if let ExprKind::Map(m) = &x.kind {
                        self.assigned.entry(&m.name.node).or_insert(&m.keys);
                    }
                    self.expr(x)
                }
                ExprKind::Unary { expr: x, .. }
                | ExprKind::Cast { expr: x, .. }
                | ExprKind::Field { expr: x, .. } => self.expr(x),
                ExprKind::Binary { lhs, rhs, .. }
                | ExprKind::Index {
                    expr: lhs,
                    index: rhs,
                } => {
                    self.expr(lhs);
                    self.expr(rhs);
                }
                ExprKind::Ternary { cond, then, els } => {
                    self.expr(cond);
                    self.expr(then);
                    self.expr(els);
                }
                ExprKind::Record(fields) => fields.iter().for_each(|(_, x)| self.expr(x)),
                _ => {}
            }
        }
        fn block(&mut self, b: &'a ast::Block) {
            b.stmts.iter().for_each(|s| self.stmt(s));
        }
        fn stmt(&mut self, s: &'a Stmt) {
            match &s.kind {
                StmtKind::Expr(e) | StmtKind::AssignVar { value: e, .. } => self.expr(e),
                StmtKind::AssignMap { map, value, .. } => {
                    self.expr(value);
                    map.keys.iter().for_each(|k| self.expr(k));
                    self.assigned.entry(&map.name.node).or_insert(&map.keys);
                    self.used.entry(&map.name.node).or_insert(&map.keys);
                }
                StmtKind::If { cond, then, els } => {
                    self.expr(cond);
                    self.block(then);
                    if let Some(e) = els {
                        self.block(e);
                    }
                }
                StmtKind::While { cond, body } => {
                    self.expr(cond);
                    self.block(body);
                }
                StmtKind::Unroll { body, .. } | StmtKind::Block(body) => self.block(body),
                StmtKind::Return => {}
            }
        }
    }
    let mut walk = Walk::default();
    for p in &program.probes {
        if let Some(pred) = &p.predicate {
            walk.expr(pred);
        }
        walk.block(&p.body);
    }
    for (name, keys) in walk.used {
        walk.assigned.entry(name).or_insert(keys);
    }
    MapUses {
        first_keys: walk.assigned,
        emptied: walk.emptied,
    }
}

/// A key field's name: the key expression as written (`comm`).
fn key_name(source: &str, e: &Expr) -> Option<String> {
    // A builtin with no arguments is its own name, whatever text its span covers (a key a
    // rewrite inserted, such as node-wide recipes' `pid`, spans the whole map reference).
    if let ExprKind::Builtin { builtin, args } = &e.kind
        && args.is_empty()
    {
        return Some(builtin.name().to_string());
    }
    source.get(e.span.range()).map(|s| s.to_string())
}
