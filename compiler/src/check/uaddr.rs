//! `uaddr("symbol")`: the address of a symbol of the probed binary, resolved from its ELF
//! symbol table when compiling, typed as bpftrace types it: a user pointer to an integer of the
//! symbol's size (1, 2, 4 or 8 bytes; any other size reads 8), so `*uaddr("counter")` reads it.
//!
//! In a position-independent binary (PIE, or a shared library) the symbol moves with the load
//! bias of each process. bpftrace 0.17 uses the file's address as it is, which reads the wrong
//! memory there; gprobe adds the bias when the probe runs, as the distance between the address
//! the probe fired at (`bpf_get_func_ip`) and the same place in the file: the probed C
//! function's address, or (Go functions, wildcards, USDT) the attach offset of the site that
//! fired, in the executable segment.

use super::checker::Checker;
use crate::ast::{AttachPoint, Expr, ExprKind, ProbeKind};
use crate::diag::{Diagnostic, codes};
use crate::span::Span;
use crate::types::{AddrSpace, IntType, Type};

/// What `uaddr()` needs of one attach point of the probe being checked.
#[derive(Clone, Debug)]
pub(super) struct UaddrSite {
    /// `None`: the `-p`/`-c` target's executable.
    binary: Option<String>,
    /// The probed function (`None` for a USDT probe), its `+offset` and whether it is a glob.
    function: Option<(String, u64, bool)>,
    /// A kernel uretprobe (on C code; Go return probes are uprobes at each RET).
    ret: bool,
    /// A USDT probe's provider and name.
    usdt: Option<(Option<String>, String)>,
    span: Span,
}

/// The attach points of a probe, as `uaddr()` sees them.
pub(super) fn uaddr_sites(attach: &[AttachPoint]) -> Vec<UaddrSite> {
    attach
        .iter()
        .filter_map(|a| match &a.kind {
            ProbeKind::Uprobe {
                binary,
                function,
                glob,
                offset,
                ret,
                ..
            } => Some(UaddrSite {
                binary: binary.as_ref().map(|b| b.node.clone()),
                function: Some((function.node.clone(), offset.unwrap_or(0), *glob)),
                ret: *ret,
                usdt: None,
                span: a.span,
            }),
            ProbeKind::Usdt {
                binary,
                provider,
                name,
            } => Some(UaddrSite {
                binary: binary.as_ref().map(|b| b.node.clone()),
                function: None,
                ret: false,
                usdt: Some((provider.as_ref().map(|p| p.node.clone()), name.node.clone())),
                span: a.span,
            }),
            _ => None,
        })
        .collect()
}

impl Checker<'_> {
    /// Resolves `uaddr("name")`: `args` becomes `[address]`, or in a PIE binary (lowering adds
    /// the bias) `[address, probed address]` or, when the probe's [`ProbeInfo::uaddr_at_site`],
    /// `[address, exec_delta]`; the first typed as the pointer. The form is the probe's: it
    /// depends only on its attach point.
    ///
    /// [`ProbeInfo::uaddr_at_site`]: crate::check::ProbeInfo::uaddr_at_site
    pub(super) fn uaddr(&mut self, args: &mut Vec<Expr>) -> bool {
        let Some(ExprKind::Str(name)) = args.first().map(|a| &a.kind) else {
            return false;
        };
        let (name, at) = (name.clone(), args[0].span);
        let sites = self.uaddr_sites.clone();
        let mut found = None;
        for site in &sites {
            let sym = match self.env.user_symbol(site.binary.as_deref(), &name) {
                Ok(sym) => sym,
                Err(why) => {
                    let binary = site.binary.as_deref().unwrap_or("the target");
                    self.error(
                        Diagnostic::error(
                            codes::NOT_FOUND,
                            format!("no symbol `{name}` in {binary}"),
                        )
                        .primary(at, "not found")
                        .secondary(site.span, "the probed binary")
                        .note(why),
                    );
                    return false;
                }
            };
            match found {
                Some((first, first_span)) if first != sym => {
                    self.error(
                        Diagnostic::error(
                            codes::NOT_FOUND,
                            format!("`{name}` differs between this probe's binaries"),
                        )
                        .primary(site.span, "here it is another symbol")
                        .secondary(first_span, "than here")
                        .help("write one probe per binary"),
                    );
                    return false;
                }
                Some(_) => {}
                None => found = Some((sym, site.span)),
            }
        }
        // Other probe types were refused by the builtin table.
        let Some((sym, _)) = found else {
            return false;
        };
        let bits = match sym.size {
            1 | 2 | 4 => sym.size as u8 * 8,
            _ => 64,
        };
        let pointee = IntType {
            bits,
            signed: false,
        };
        args[0].kind = ExprKind::Int(sym.vaddr);
        args[0].ty = Type::Ptr(Box::new(Type::Int(pointee)), AddrSpace::User);
        if !sym.pie {
            return true;
        }
        let int = |v: u64| Expr {
            kind: ExprKind::Int(v),
            span: at,
            ty: Type::Int(IntType::U64),
        };
        match self.probed_address(&sites, &name, at, sym.exec_delta) {
            Some(Probed::Address(probed)) => args.push(int(probed)),
            Some(Probed::AtSite { exec_delta }) => {
                args.push(int(exec_delta));
                self.uaddr_at_site = true;
            }
            None => return false,
        }
        true
    }

    /// Where the probe fires in the file's address space, which the load bias moves as it
    /// moves the symbol: the probed address itself for one uprobe or uretprobe on one C
    /// function; else (a Go function's probe sits past its prologue or at each RET, a
    /// wildcard's and a USDT probe's at one of several places) the attach offset of the site
    /// that fired plus the executable segment's `exec_delta`, which lowering takes from the
    /// program's one offset or from the attach cookie.
    fn probed_address(
        &mut self,
        sites: &[UaddrSite],
        name: &str,
        at: Span,
        exec_delta: Option<u64>,
    ) -> Option<Probed> {
        let refuse = |this: &mut Self, why: &str, span: Span, help: &str| {
            this.error(
                Diagnostic::error(
                    codes::NOT_FOUND,
                    format!("`uaddr(\"{name}\")` in a position-independent binary {why}"),
                )
                .primary(at, "its address moves with each process's load bias")
                .secondary(span, "this probe")
                .help(help.to_owned()),
            );
            None
        };
        let [site] = sites else {
            return refuse(
                self,
                "needs a probe on one attach point",
                sites[0].span,
                "write one probe per attach point (a wildcard in one is fine)",
            );
        };
        let binary = site.binary.as_deref();
        if let Some((function, offset, false)) = &site.function
            && self.env.go_runtime(binary).is_err()
        {
            // Else (an address, `0x1139`) the site's attach offset serves, as below.
            if let Ok(f) = self.env.user_symbol(binary, function) {
                return Some(Probed::Address(f.vaddr + offset));
            }
        }
        if site.ret && self.env.go_runtime(binary).is_err() {
            // A kernel uretprobe per function, without uprobe-multi's cookies to tell them apart.
            return refuse(
                self,
                "is not known in a return probe on several C functions",
                site.span,
                "write one uretprobe per function, or build the binary with -no-pie",
            );
        }
        if let (None, Some((provider, probe))) = (binary, &site.usdt)
            && let Ok(files) = super::usdt::files(self.env, None)
            && let Ok(found) = super::usdt::select(&files, provider.as_deref(), probe)
            && found.iter().any(|f| f.path != files[0].path)
        {
            // The symbol is the executable's, the site (and its load bias) a library's.
            return refuse(
                self,
                "is not known at a USDT probe in a shared library",
                site.span,
                "name the library as the probe's binary (usdt:LIBRARY:PROVIDER:NAME) to read its symbols",
            );
        }
        match exec_delta {
            Some(exec_delta) => Some(Probed::AtSite { exec_delta }),
            None => refuse(
                self,
                "needs one executable segment to place the probe in",
                site.span,
                "build the binary with -no-pie",
            ),
        }
    }
}

/// See [`Checker::probed_address`].
enum Probed {
    Address(u64),
    AtSite { exec_delta: u64 },
}
