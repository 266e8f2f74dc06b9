//! Attach points against the world: uprobe binaries, kprobe and hardware support, USDT probes,
//! and where each uprobe attaches with the Go facts its probe needs.

use super::*;

impl<'a> Checker<'a> {
    /// Reports each uprobe binary that cannot take probes (missing, not an ELF executable,
    /// another architecture) before the body is checked, so that `args`/`ret` of such a probe
    /// are not reported again as unknown signatures.
    pub(super) fn check_binaries(&mut self, probe: &Probe) {
        for attach in &probe.attach {
            if let ProbeKind::Kprobe { ret, .. } = &attach.kind
                && let Err(why) = self.env.kprobes()
            {
                let what = if *ret { "kretprobe" } else { "kprobe" };
                let message = format!("{what}s cannot attach on this kernel: {why}");
                let d = if self.options.check_only {
                    Diagnostic::warning(codes::UNSUPPORTED_PROVIDER, message)
                } else {
                    Diagnostic::error(codes::UNSUPPORTED_PROVIDER, message)
                };
                self.error(
                    d.primary(attach.span, "needs kprobes").help(
                        "a tracepoint often sees the same event (`gprobe -l 'tracepoint:*'`)",
                    ),
                );
                continue;
            }
            if let ProbeKind::Hardware { .. } = &attach.kind
                && let Err(why) = self.env.hardware_events()
            {
                let message = format!("hardware events cannot be counted on this machine: {why}");
                let d = if self.options.check_only {
                    Diagnostic::warning(codes::UNSUPPORTED_PROVIDER, message)
                } else {
                    Diagnostic::error(codes::UNSUPPORTED_PROVIDER, message)
                };
                self.error(
                    d.primary(attach.span, "needs a CPU PMU")
                        .help("a software event counts without one (`software:cpu-clock:1000000`)"),
                );
                continue;
            }
            if let ProbeKind::RawTracepoint { name, glob: false } = &attach.kind
                && let Err(why) = self.env.raw_tracepoint(&name.node)
            {
                self.error(
                    Diagnostic::error(
                        codes::NO_TRACEPOINT,
                        format!("no tracepoint `{}` on this kernel", name.node),
                    )
                    .primary(name.span, "no such tracepoint")
                    .note(why)
                    .help("`gprobe -l 'rawtracepoint:*'` lists them"),
                );
                continue;
            }
            if let ProbeKind::Usdt {
                binary,
                provider,
                name,
            } = &attach.kind
            {
                self.check_usdt(attach.span, binary.as_ref(), provider.as_ref(), name);
                continue;
            }
            let ProbeKind::Uprobe { binary, .. } = &attach.kind else {
                continue;
            };
            if binary.is_none() && !self.options.has_target {
                continue; // reported by the provider
            }
            if crate::expand::expansion_of(attach).is_some_and(|e| e.is_pending()) {
                continue; // a pattern: its binaries are checked as its expansions
            }
            let Err(why) = self
                .env
                .uprobe_binary(binary.as_ref().map(|b| b.node.as_str()))
            else {
                continue;
            };
            let (at, label) = match binary {
                Some(b) => (b.span, "uprobes cannot go into this file"),
                None => (attach.span, "a uprobe in the -p/-c target"),
            };
            self.error(Diagnostic::error(codes::BAD_BINARY, why).primary(at, label));
            self.args = Some(Err(()));
            self.ret = Some(Err(()));
        }
    }

    /// Reports a `usdt:` attach point whose binary cannot take probes or has no such probe.
    pub(super) fn check_usdt(
        &mut self,
        span: Span,
        binary: Option<&crate::ast::Name>,
        provider: Option<&crate::ast::Name>,
        name: &crate::ast::Name,
    ) {
        if binary.is_none() && !self.options.has_target {
            return; // reported by the provider
        }
        let path = binary.map(|b| b.node.as_str());
        let (at, label) = match binary {
            Some(b) => (b.span, "uprobes cannot go into this file"),
            None => (span, "a USDT probe in the -p/-c target"),
        };
        let files = self
            .env
            .uprobe_binary(path)
            .and_then(|()| crate::check::usdt::files(self.env, path));
        let files = match files {
            Ok(files) => files,
            Err(why) => {
                self.error(Diagnostic::error(codes::BAD_BINARY, why).primary(at, label));
                return;
            }
        };
        if let Err(why) =
            crate::check::usdt::select(&files, provider.map(|p| p.node.as_str()), &name.node)
        {
            let wanted = match provider {
                Some(p) => format!("{}:{}", p.node, name.node),
                None => name.node.clone(),
            };
            let listed = path.map_or_else(|| files[0].path.clone(), str::to_owned);
            self.error(
                Diagnostic::error(codes::NO_USDT, format!("no USDT probe `{wanted}`"))
                    .primary(name.span, "not found")
                    .note(why)
                    .help(format!(
                        "list the probes with `gprobe -l 'usdt:{listed}:*'`"
                    )),
            );
        }
    }

    /// Asks the environment where a uprobe attaches and, when the probe uses `goid`, for the
    /// Go runtime offsets: the answer lowering reads (`ProbeInfo::resolved`).
    pub(super) fn resolve(&mut self, attach: &AttachPoint) -> Option<Resolved> {
        let goid = self.goid_at;
        let go_name = |b: Builtin| b.name();
        if let Some(Expansion::Pending { pattern, .. }) = crate::expand::expansion_of(attach) {
            return Some(self.pending_resolution(pattern, &attach.kind));
        }
        let resolved = match &attach.kind {
            // The target's function whose argument holds the address to watch.
            ProbeKind::Watchpoint {
                armed_at: Some((function, _)),
                ..
            } => match self.env.resolve_uprobe_for(
                None,
                &function.node,
                false,
                false,
                UprobeNeeds::default(),
            ) {
                Ok(r) if !r.functions.is_empty() => r,
                found => {
                    let why = found
                        .err()
                        .unwrap_or_else(|| "the target has no function of this name".into());
                    self.error(
                        Diagnostic::error(
                            codes::BAD_ATTACH,
                            format!("cannot watch an argument of `{}`", function.node),
                        )
                        .primary(function.span, "not found in the target")
                        .note(why),
                    );
                    return None;
                }
            },
            ProbeKind::Uprobe {
                ret,
                binary,
                function,
                glob,
                offset,
            } => {
                let binary = binary.as_ref().map(|b| b.node.as_str());
                if binary.is_none() && !self.options.has_target {
                    return None; // reported by the provider
                }
                if self.env.uprobe_binary(binary).is_err() {
                    return None; // reported by `check_binaries`
                }
                let needs = UprobeNeeds {
                    values: self.go_values,
                    runtime: goid.is_some() || self.gocaller,
                };
                let address = crate::native::parse_address(&function.node).is_some();
                if *ret && address {
                    self.error(
                        Diagnostic::error(
                            codes::BAD_ATTACH,
                            "a return probe cannot attach at an address",
                        )
                        .primary(function.span, "name the function instead"),
                    );
                    return None;
                }
                let found = if offset.is_some() || address {
                    self.env
                        .uprobe_at(binary, &function.node, offset.unwrap_or(0))
                } else {
                    self.env
                        .resolve_uprobe_for(binary, &function.node, *glob, *ret, needs)
                };
                match found {
                    Ok(r) => {
                        if let (Some((b, at)), None) = (goid, &r.go) {
                            self.error(
                                Diagnostic::error(
                                    codes::NOT_GO,
                                    format!(
                                        "`{}` needs a Go program, and {} is not a Go binary",
                                        go_name(b),
                                        binary.unwrap_or("the target")
                                    ),
                                )
                                .primary(at, "no goroutines here")
                                .secondary(attach.span, "this probe's binary"),
                            );
                        }
                        r
                    }
                    Err(why) => {
                        let mut d = match offset {
                            Some(off) => Diagnostic::error(
                                codes::NO_FUNCTION,
                                format!("cannot attach at `{}+{off}`", function.node),
                            )
                            .primary(attach.span, "not an attach point"),
                            None => Diagnostic::error(
                                codes::NO_FUNCTION,
                                format!("cannot attach to `{}`", function.node),
                            )
                            .primary(function.span, "not found"),
                        }
                        .note(why);
                        // The source shows the pattern, not the binary it matched.
                        if let (Some(Expansion::Binary { .. }), Some(b)) =
                            (&attach.expansion, binary)
                        {
                            d = d.note(format!("in {b}, which the pattern matched"));
                        }
                        self.error(d);
                        return None;
                    }
                }
            }
            ProbeKind::Usdt {
                binary,
                provider,
                name,
            } => {
                let binary = binary.as_ref().map(|b| b.node.as_str());
                let Ok(files) = crate::check::usdt::files(self.env, binary) else {
                    return None; // reported by `check_usdt`
                };
                let provider = provider.as_ref().map(|p| p.node.as_str());
                let Ok(usdt) = crate::check::usdt::select(&files, provider, &name.node) else {
                    return None;
                };
                let go = match goid {
                    None => None,
                    Some((b, at)) => match self.env.go_runtime(binary) {
                        Ok(go) => Some(go),
                        Err(_) => {
                            self.error(
                                Diagnostic::error(
                                    codes::NOT_GO,
                                    format!(
                                        "`{}` needs a Go program, and {} is not a Go binary",
                                        go_name(b),
                                        files[0].path
                                    ),
                                )
                                .primary(at, "no goroutines here")
                                .secondary(attach.span, "this probe's binary"),
                            );
                            return None;
                        }
                    },
                };
                Resolved {
                    binary: Some(files[0].path.clone()),
                    usdt,
                    go,
                    ..Resolved::default()
                }
            }
            ProbeKind::Tracepoint { .. }
            | ProbeKind::RawTracepoint { .. }
            | ProbeKind::Profile { .. }
            | ProbeKind::Interval { .. }
            | ProbeKind::Kprobe { .. }
            | ProbeKind::Software { .. }
            | ProbeKind::Hardware { .. }
            | ProbeKind::Watchpoint { .. }
                if goid.is_some() || self.gocaller =>
            {
                let Some((b, at)) = goid else {
                    // `gocaller` alone (it needs a target): g when the target is Go, else
                    // the kernel's walk alone.
                    let Ok(go) = self.env.go_runtime(None) else {
                        return None;
                    };
                    let go = Some(crate::target::GoRuntime {
                        task_fsbase: self.env.task_fsbase(),
                        ..go
                    });
                    return Some(Resolved {
                        go,
                        ..Resolved::default()
                    });
                };
                if !self.options.has_target {
                    // Node-wide: each Go process's offsets are looked up when the probe fires;
                    // other processes read goid 0.
                    return Some(Resolved {
                        per_process: Some(PerProcessGo {
                            task_fsbase: self.env.task_fsbase(),
                        }),
                        ..Resolved::default()
                    });
                }
                match self.env.go_runtime(None) {
                    Ok(go) => Resolved {
                        go: Some(go),
                        ..Resolved::default()
                    },
                    Err(why) => {
                        self.error(
                            Diagnostic::error(
                                codes::NOT_GO,
                                format!("`{}` needs a Go target", go_name(b)),
                            )
                            .primary(at, "no goroutines here")
                            .note(why),
                        );
                        return None;
                    }
                }
            }
            _ => return None,
        };
        if let (Some(at), Some(go)) = (self.goparent_at, &resolved.go)
            && go.g_parent_goid.is_none()
        {
            self.error(
                Diagnostic::error(
                    codes::GO_TOO_OLD,
                    format!(
                        "`goparent` needs Go 1.21 or later, and this program is {}",
                        go.version
                    ),
                )
                .primary(at, "no parent goroutine id before Go 1.21")
                .secondary(attach.span, "this probe's program")
                .note("Go 1.21 added the parent's id to the goroutine (runtime.g.parentGoid); `gocreator` works in every release"),
            );
            return None;
        }
        let mut resolved = resolved;
        if (goid.is_some() || self.gocaller)
            && reads_g_from_tls(&attach.kind, &resolved)
            && let Some(go) = &mut resolved.go
        {
            go.task_fsbase = go.task_fsbase.or_else(|| self.env.task_fsbase());
        }
        Some(resolved)
    }

    /// What the pending form of a binary pattern is lowered with: the same, whichever binaries
    /// match, so that its maps and events are too (see `crate::expand`). Its `args`/`ret` are
    /// placeholders on the stack, as typed from the expansions: the program is never loaded.
    /// Goroutine builtins read each process's facts, like other node-wide probes.
    pub(super) fn pending_resolution(&self, pattern: String, kind: &ProbeKind) -> Resolved {
        let placeholders = |ty: &Option<Result<Type, ()>>| -> Vec<(String, GoLocation)> {
            match ty {
                Some(Ok(Type::Record(fields))) => fields
                    .iter()
                    .map(|(name, _)| (name.clone(), GoLocation::Stack { offset: 8 }))
                    .collect(),
                _ => Vec::new(),
            }
        };
        let function = match kind {
            ProbeKind::Uprobe { function, .. } => function.node.clone(),
            _ => String::new(),
        };
        Resolved {
            binary: Some(pattern),
            functions: vec![GoSite {
                name: function,
                offsets: Vec::new(),
                abi_internal: true,
                caller_at_sp: false,
                params: placeholders(&self.args),
                results: placeholders(&self.ret),
                native: false,
            }],
            go: None,
            per_process: Some(PerProcessGo { task_fsbase: None }),
            usdt: Vec::new(),
        }
    }
}
