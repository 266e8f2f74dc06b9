//! AST → IR: one [`Function`] per attach point, the maps the program uses and the events it
//! sends, with bpftrace's semantics. Works on a checked tree (every `Expr::ty` known, names
//! resolved to builtins); anything this back end cannot lower yet becomes a [`Diagnostic`] with
//! the span, never a panic.

mod func;
pub mod layout;

use crate::ast::{self, Expr, ExprKind, ProbeKind, Stmt, StmtKind};
use crate::builtins::ProviderKind;
use crate::diag::Diagnostic;
use crate::ir::Function;
use crate::manifest::{
    Attach, EventSpec, Layout, MapKind, MapRole, MapSpec, MapValue, UprobeTarget,
};
use crate::span::Span;
use crate::types::{StackKind, Type};
use std::collections::HashMap;

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
}

impl Default for LowerOptions {
    fn default() -> Self {
        LowerOptions {
            map_entries: 4096,
            ringbuf_bytes: 1 << 20,
            positional: Vec::new(),
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
}

pub struct Lowered {
    pub programs: Vec<LoweredProgram>,
    pub maps: Vec<MapSpec>,
    pub events: Vec<EventSpec>,
}

/// Module-wide state: maps and events shared by all programs.
pub(crate) struct Module<'a> {
    pub source: &'a str,
    pub options: &'a LowerOptions,
    pub maps: Vec<MapSpec>,
    pub user_maps: HashMap<String, usize>,
    pub events: Vec<EventSpec>,
    pub diags: Vec<Diagnostic>,
}

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
            max_entries: 1,
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
            max_entries: 4096,
        })
    }

    pub fn event(&mut self, spec: EventSpec) -> u64 {
        self.events.push(spec);
        self.events.len() as u64 - 1
    }
}

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
    source: &str,
    options: &LowerOptions,
) -> Result<Lowered, Vec<Diagnostic>> {
    let mut module = Module {
        source,
        options,
        maps: Vec::new(),
        user_maps: HashMap::new(),
        events: Vec::new(),
        diags: Vec::new(),
    };
    collect_maps(program, &mut module);
    let mut programs = Vec::new();
    for (pi, probe) in program.probes.iter().enumerate() {
        for (ai, attach) in probe.attach.iter().enumerate() {
            let name = if ai == 0 {
                format!("gp_p{pi}")
            } else {
                format!("gp_p{pi}_{ai}")
            };
            let probe_name = source.get(attach.span.range()).unwrap_or("").to_string();
            let Some((section_kind, provider, target)) =
                attach_of(&attach.kind, attach.span, &mut module.diags)
            else {
                continue;
            };
            let func = func::lower_probe(&mut module, probe, &name, provider, &probe_name);
            programs.push(LoweredProgram {
                func,
                section: format!("{section_kind}/{name}"),
                attach: target,
                span: attach.span,
                probe_name,
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

/// The ELF section kind, the provider (for builtins) and the manifest's attach description.
fn attach_of(
    kind: &ProbeKind,
    span: Span,
    diags: &mut Vec<Diagnostic>,
) -> Option<(&'static str, ProviderKind, Attach)> {
    Some(match kind {
        // BEGIN/END run as uprobes on a trigger function in the runtime, as bpftrace does.
        ProbeKind::Begin => ("uprobe", ProviderKind::Begin, Attach::Begin),
        ProbeKind::End => ("uprobe", ProviderKind::End, Attach::End),
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
        ProbeKind::Uprobe {
            ret,
            binary,
            function,
            offset,
        } => {
            if offset.is_some() {
                diags.push(
                    Diagnostic::error(
                        codes::UNSUPPORTED,
                        "a uprobe at function+offset is not supported yet",
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

/// Decides every user map's kind, key layout and value from its uses: the first assignment
/// decides the value, the first use with keys decides the key.
fn collect_maps(program: &ast::Program, module: &mut Module) {
    let mut seen: Vec<(String, Option<&ast::MapRef>, Option<&Expr>)> = Vec::new();
    fn note<'a>(
        seen: &mut Vec<(String, Option<&'a ast::MapRef>, Option<&'a Expr>)>,
        m: &'a ast::MapRef,
        value: Option<&'a Expr>,
    ) {
        match seen.iter_mut().find(|(n, _, _)| *n == m.name.node) {
            Some(entry) => {
                if entry.2.is_none() && value.is_some() {
                    entry.1 = Some(m);
                    entry.2 = value;
                }
            }
            None => seen.push((m.name.node.clone(), Some(m), value)),
        }
    }
    fn expr<'a>(seen: &mut Vec<(String, Option<&'a ast::MapRef>, Option<&'a Expr>)>, e: &'a Expr) {
        match &e.kind {
            ExprKind::Map(m) => {
                note(seen, m, None);
                m.keys.iter().for_each(|k| expr(seen, k));
            }
            ExprKind::Builtin { args, .. }
            | ExprKind::Call { args, .. }
            | ExprKind::Tuple(args) => args.iter().for_each(|a| expr(seen, a)),
            ExprKind::Unary { expr: x, .. }
            | ExprKind::Cast { expr: x, .. }
            | ExprKind::Field { expr: x, .. } => expr(seen, x),
            ExprKind::Binary { lhs, rhs, .. }
            | ExprKind::Index {
                expr: lhs,
                index: rhs,
            } => {
                expr(seen, lhs);
                expr(seen, rhs);
            }
            ExprKind::Ternary { cond, then, els } => {
                expr(seen, cond);
                expr(seen, then);
                expr(seen, els);
            }
            ExprKind::Record(fields) => fields.iter().for_each(|(_, x)| expr(seen, x)),
            _ => {}
        }
    }
    fn block<'a>(
        seen: &mut Vec<(String, Option<&'a ast::MapRef>, Option<&'a Expr>)>,
        b: &'a ast::Block,
    ) {
        b.stmts.iter().for_each(|s| stmt(seen, s));
    }
    fn stmt<'a>(seen: &mut Vec<(String, Option<&'a ast::MapRef>, Option<&'a Expr>)>, s: &'a Stmt) {
        match &s.kind {
            StmtKind::Expr(e) => expr(seen, e),
            StmtKind::AssignVar { value, .. } => expr(seen, value),
            StmtKind::AssignMap { map, value, .. } => {
                expr(seen, value);
                m_keys(seen, map);
                note(seen, map, Some(value));
            }
            StmtKind::If { cond, then, els } => {
                expr(seen, cond);
                block(seen, then);
                if let Some(e) = els {
                    block(seen, e);
                }
            }
            StmtKind::Unroll { body, .. } => block(seen, body),
            StmtKind::While { cond, body } => {
                expr(seen, cond);
                block(seen, body);
            }
            StmtKind::Block(b) => block(seen, b),
            StmtKind::Return => {}
        }
    }
    fn m_keys<'a>(
        seen: &mut Vec<(String, Option<&'a ast::MapRef>, Option<&'a Expr>)>,
        m: &'a ast::MapRef,
    ) {
        m.keys.iter().for_each(|k| expr(seen, k));
    }
    for p in &program.probes {
        if let Some(pred) = &p.predicate {
            expr(&mut seen, pred);
        }
        block(&mut seen, &p.body);
    }

    for (name, mref, value) in seen {
        let Some(mref) = mref else { continue };
        let user_key = layout::layout_of(
            mref.keys
                .iter()
                .map(|k| (key_name(module.source, k), &k.ty)),
        );
        let Some(mut key) = user_key else {
            module.diags.push(
                Diagnostic::error(codes::UNSUPPORTED, "this map key type cannot be stored")
                    .primary(mref.span, "here"),
            );
            continue;
        };
        let (kind, map_value) = match value.map(|v| &v.ty) {
            Some(Type::Agg(agg)) => {
                if matches!(
                    agg,
                    crate::types::AggKind::Hist | crate::types::AggKind::Lhist { .. }
                ) {
                    key.size += 8; // the bucket index trails the user key
                }
                (MapKind::PerCpuHash, MapValue::Agg(*agg))
            }
            Some(ty) => match layout::layout_of([(None, ty)]) {
                Some(l) => (MapKind::Hash, MapValue::Plain(l)),
                None => {
                    module.diags.push(
                        Diagnostic::error(
                            codes::UNSUPPORTED,
                            "this value type cannot be stored in a map",
                        )
                        .primary(value.map_or(mref.span, |v| v.span), "here"),
                    );
                    continue;
                }
            },
            // Read but never written: reads give 0.
            None => (MapKind::Hash, MapValue::Plain(u64_layout())),
        };
        if key.size == 0 {
            // A scalar map: one entry under key 0.
            key.size = 8;
        }
        let index = module.maps.len();
        module.maps.push(MapSpec {
            name: format!("m{index}"),
            user_name: Some(format!("@{name}")),
            role: MapRole::User,
            kind,
            key,
            value: map_value,
            max_entries: module.options.map_entries,
        });
        module.user_maps.insert(name, index);
    }
}

/// A key field's name: the key expression as written (`comm`).
fn key_name(source: &str, e: &Expr) -> Option<String> {
    source.get(e.span.range()).map(|s| s.to_string())
}
