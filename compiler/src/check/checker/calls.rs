//! Builtin calls: where each is allowed, its arguments against the table, and the result types
//! that depend on the probe (`args`, `ret`, `retval`, `func`) or on the arguments.

use super::*;

impl<'a> Checker<'a> {
    pub(super) fn allowed(&mut self, builtin: Builtin, at: Span) -> bool {
        let refused = self
            .providers
            .iter()
            .find(|p| !p.allows(builtin))
            .map(|p| (p.kind(), p.span()));
        match refused {
            None => true,
            Some((kind, probe_span)) => {
                let d = providers::not_here(builtin, kind, at);
                let d = if self.providers.len() > 1 {
                    d.secondary(probe_span, "this attach point")
                } else {
                    d
                };
                self.error(d);
                false
            }
        }
    }

    pub(super) fn builtin(&mut self, b: Builtin, args: &mut Vec<Expr>, span: Span) -> Type {
        if matches!(b, Builtin::Goid | Builtin::Gocreator | Builtin::Goparent) {
            self.goid_at.get_or_insert((b, span));
        }
        if b == Builtin::Gocaller {
            self.gocaller = true;
        }
        if b == Builtin::Goparent {
            self.goparent_at.get_or_insert(span);
        }
        if matches!(b, Builtin::Args | Builtin::Ret | Builtin::Retval) {
            self.go_values = true;
        }
        if b == Builtin::Gocaller && !self.options.has_target {
            // Its addresses carry no process: node-wide they could not be symbolized.
            self.error(
                Diagnostic::error(codes::NO_TARGET, "`gocaller` needs a -p/-c target")
                    .primary(span, "needs -p PID or -c CMD")
                    .help("use `gostack` to trace every process"),
            );
            return Type::Unknown;
        }
        if b == Builtin::Cpid && !self.options.has_command {
            self.error(
                Diagnostic::error(
                    codes::NO_TARGET,
                    "`cpid` is the pid of the -c command, and there is none",
                )
                .primary(span, "needs -c CMD")
                .help("with -p PID, `tpid` is the target's pid"),
            );
            return Type::Unknown;
        }
        if b == Builtin::Tpid && !self.options.has_target {
            // Node-wide there is no one target; 0 would match the idle task.
            self.error(
                Diagnostic::error(
                    codes::NO_TARGET,
                    "`tpid` is the -p/-c target's pid, and there is no target",
                )
                .primary(span, "needs -p PID or -c CMD")
                .help("run with -p PID or -c CMD, or compare `pid` with a number"),
            );
            return Type::Unknown;
        }
        let spec = spec(b);
        let allowed = self.allowed(b, span);
        // `str($1)` means the parameter's text, even when it looks like a number.
        if matches!(b, Builtin::Str | Builtin::SyscallNr)
            && let Some(first) = args.first_mut()
            && let ExprKind::Positional(n) = first.kind
        {
            let value = self.positional(n, first.span).unwrap_or_default();
            first.kind = ExprKind::Str(value);
        }
        let n = args.len();
        let (min, max) = (spec.min_args(), spec.max_args());
        if n < min || max.is_some_and(|max| n > max) {
            let wanted = match max {
                None => format!("at least {min}"),
                Some(max) if max == min => format!("{min}"),
                Some(max) => format!("{min} to {max}"),
            };
            self.error(
                Diagnostic::error(
                    codes::ARG_COUNT,
                    format!(
                        "`{}` takes {wanted} argument(s), but {n} were given",
                        b.name()
                    ),
                )
                .primary(span, format!("{n} argument(s)"))
                .help(format!("usage: {}", spec.signature())),
            );
            for arg in args.iter_mut() {
                self.expr_any(arg);
            }
            return Type::Unknown;
        }
        let mut literals: Vec<Option<i64>> = Vec::new();
        let mut types = Vec::new();
        for (i, arg) in args.iter_mut().enumerate() {
            let kind = spec.params.get(i).map_or(ParamKind::Any, |p| p.kind);
            let param = spec.params.get(i).map_or("argument", |p| p.name);
            let (ty, literal) = self.param(b, kind, param, arg);
            types.push(ty);
            literals.push(literal);
        }
        if !allowed {
            return Type::Unknown;
        }
        if b == Builtin::Print {
            self.print_top_div(args, span);
        }
        let literal = |i: usize| literals.get(i).copied().flatten();
        if !self.compile_time_args(b, args, &types, span) {
            return Type::Unknown;
        }
        match spec.result {
            Returns::Void if matches!(b, Builtin::Printf | Builtin::Cat | Builtin::System) => {
                self.printf(args);
                Type::Void
            }
            Returns::Void if b == Builtin::Debugf => {
                self.debugf(args, span);
                Type::Void
            }
            Returns::Void => Type::Void,
            Returns::Int(_) if matches!(b, Builtin::Arg(_)) => self.arg_type(b, span),
            Returns::Int(i) => {
                if b == Builtin::Reg {
                    self.check_register(&args[0]);
                }
                if b == Builtin::SyscallNr
                    && let Some(ExprKind::Str(name)) = args.first().map(|a| &a.kind)
                    && !matches!(name.as_str(), "" | "all")
                    && crate::syscalls::syscall_number(name).is_none()
                {
                    let mut d = Diagnostic::error(
                        codes::ARG_TYPE,
                        format!("no system call is named `{name}` on x86-64"),
                    )
                    .primary(args[0].span, "not a system call name");
                    if let Some(guess) = did_you_mean(name, crate::syscalls::names()) {
                        d = d.help(format!("did you mean `{guess}`?"));
                    }
                    self.error(d);
                    return Type::Unknown;
                }
                Type::Int(i)
            }
            Returns::Str { size } => Type::Str { size },
            Returns::Timestamp => match args.first().map(|a| &a.kind) {
                Some(ExprKind::Str(format)) => Type::Timestamp {
                    format: format.clone(),
                },
                _ => Type::Unknown,
            },
            Returns::Sym { user } => Type::Sym { user },
            Returns::Rendered(render) => Type::Rendered(render),
            Returns::Inet => Type::Inet,
            Returns::GoPc => Type::GoPc,
            Returns::Coded(code) => Type::Coded(code),
            Returns::GoCaller => Type::GoCaller,
            Returns::Agg(kind) => Type::Agg(kind),
            Returns::Stack(kind) => {
                let limit = match literal(0) {
                    None if args.is_empty() => DEFAULT_STACK_LIMIT,
                    None => return Type::Unknown,
                    Some(l) if (1..=i64::from(DEFAULT_STACK_LIMIT)).contains(&l) => l as u8,
                    Some(l) => {
                        self.error(
                            Diagnostic::error(
                                codes::ARG_TYPE,
                                format!("a stack of {l} frames is out of range"),
                            )
                            .primary(args[0].span, format!("use 1 to {DEFAULT_STACK_LIMIT}")),
                        );
                        return Type::Unknown;
                    }
                };
                let _ = StackKind::User;
                Type::Stack { kind, limit }
            }
            Returns::Special => self.special(b, args, &types, &literals, span),
        }
    }

    /// Checks one argument against its parameter kind: (type, literal value if an integer literal).
    pub(super) fn param(
        &mut self,
        b: Builtin,
        kind: ParamKind,
        param: &str,
        arg: &mut Expr,
    ) -> (Type, Option<i64>) {
        let bad = |this: &mut Self, arg: &Expr, wanted: &str, found: &Type| {
            this.error(
                Diagnostic::error(
                    codes::ARG_TYPE,
                    format!("`{}` needs {wanted} for `{param}`", b.name()),
                )
                .primary(arg.span, format!("this is {}", describe(found))),
            );
        };
        match kind {
            ParamKind::Map => (self.map_arg(arg, true, b), None),
            ParamKind::MapElem => (self.map_arg(arg, false, b), None),
            ParamKind::MapOrAny => match &arg.kind {
                ExprKind::Map(m) if m.keys.is_empty() => (self.map_arg(arg, true, b), None),
                _ => {
                    let ty = self.expr(arg);
                    self.require_value(&ty, arg.span);
                    (ty, None)
                }
            },
            ParamKind::Int => {
                let ty = self.expr(arg);
                if !is_integral(&ty) {
                    bad(self, arg, "an integer", &ty);
                }
                let literal = match arg.kind {
                    ExprKind::Int(v) => Some(v as i64),
                    _ => None,
                };
                (ty, literal)
            }
            ParamKind::IntLiteral => {
                let ty = self.expr(arg);
                match arg.kind {
                    ExprKind::Int(v) => (ty, Some(v as i64)),
                    _ => {
                        if !matches!(ty, Type::Unknown) {
                            self.error(
                                Diagnostic::error(
                                    codes::NEEDS_LITERAL,
                                    format!(
                                        "`{param}` of `{}` must be an integer literal",
                                        b.name()
                                    ),
                                )
                                .primary(arg.span, "not a constant")
                                .note("the value is fixed when the program is compiled"),
                            );
                        }
                        (ty, None)
                    }
                }
            }
            ParamKind::StrLiteral => {
                let ty = self.expr(arg);
                if !matches!(arg.kind, ExprKind::Str(_)) && !matches!(ty, Type::Unknown) {
                    self.error(
                        Diagnostic::error(
                            codes::NEEDS_LITERAL,
                            format!("`{param}` of `{}` must be a string literal", b.name()),
                        )
                        .primary(arg.span, "not a string literal"),
                    );
                }
                (ty, None)
            }
            ParamKind::Addr => {
                let ty = self.expr(arg);
                if !matches!(
                    ty,
                    Type::Int(_)
                        | Type::Ptr(..)
                        | Type::GoString
                        | Type::GoSlice(_)
                        | Type::Str { .. }
                        | Type::Unknown
                ) {
                    bad(self, arg, "an address, pointer or Go string", &ty);
                }
                (ty, None)
            }
            ParamKind::Any => {
                let ty = self.expr(arg);
                self.require_value(&ty, arg.span);
                (ty, None)
            }
            ParamKind::IpAddress => {
                let ty = self.expr(arg);
                let bytes = |elem: &Type, len: u32| {
                    matches!(elem, Type::Int(i) if i.bits == 8) && matches!(len, 4 | 16)
                };
                match &ty {
                    Type::Int(_) | Type::Unknown => {}
                    Type::Array { elem, len } if bytes(elem, *len) => {}
                    Type::Bytes { len: 4 | 16 } => {}
                    _ => bad(self, arg, "an integer or a `u8[4]`/`u8[16]` array", &ty),
                }
                (
                    ty,
                    match arg.kind {
                        ExprKind::Int(v) => Some(v as i64),
                        _ => None,
                    },
                )
            }
        }
    }

    /// `argN`: each attach point's provider types it (a USDT spec may say signed); signed only
    /// when all agree.
    pub(super) fn arg_type(&mut self, b: Builtin, span: Span) -> Type {
        let Builtin::Arg(n) = b else {
            return Type::Int(IntType::U64);
        };
        let mut signed = true;
        let mut failed = None;
        for p in &self.providers {
            match p.arg(self.env, n, span) {
                Ok(Type::Int(i)) => signed &= i.signed,
                Ok(_) => signed = false,
                Err(d) => {
                    failed = Some(d);
                    break;
                }
            }
        }
        if let Some(d) = failed {
            self.error(d);
            return Type::Unknown;
        }
        Type::Int(if signed && !self.providers.is_empty() {
            IntType::I64
        } else {
            IntType::U64
        })
    }

    pub(super) fn special(
        &mut self,
        b: Builtin,
        args: &[Expr],
        types: &[Type],
        literals: &[Option<i64>],
        span: Span,
    ) -> Type {
        match b {
            Builtin::Retval => self
                .providers
                .first()
                .map_or(Type::Int(IntType::U64), |p| p.retval(self.env)),
            // The probed function's address: a kernel symbol in kprobes, a user one elsewhere.
            Builtin::Func => Type::Sym {
                user: !self.providers.iter().any(|p| {
                    matches!(
                        p.kind(),
                        crate::builtins::ProviderKind::Kprobe
                            | crate::builtins::ProviderKind::Kretprobe
                    )
                }),
            },
            Builtin::Args | Builtin::Ret => self.args_or_ret(b, span),
            // The same pointer in the named address space (an integer stays an integer).
            Builtin::Kptr | Builtin::Uptr => match types.first() {
                Some(Type::Ptr(inner, _)) => Type::Ptr(
                    inner.clone(),
                    if b == Builtin::Kptr {
                        AddrSpace::Kernel
                    } else {
                        AddrSpace::User
                    },
                ),
                Some(other) => other.clone(),
                None => Type::Unknown,
            },
            // Of the argument's own width, as bpftrace: bswap((uint16)x) swaps two bytes.
            Builtin::Bswap => match &types[0] {
                Type::Int(it) => Type::Int(*it),
                _ => Type::Int(IntType::U64),
            },
            Builtin::Str | Builtin::Buf => {
                let size = match (literals.get(1).copied().flatten(), args.len()) {
                    (Some(size), _) => size,
                    (None, 1) => i64::from(self.options.str_size.unwrap_or(DEFAULT_STR_SIZE)),
                    // str(p, len) or buf(p, len) with a run-time len: read at most the default
                    // buffer, as bpftrace does; lowering clamps len to it.
                    (None, _) if is_integral(&types[1]) => {
                        i64::from(self.options.str_size.unwrap_or(DEFAULT_STR_SIZE))
                    }
                    (None, _) => return Type::Unknown,
                };
                if !(1..=i64::from(MAX_STR_SIZE)).contains(&size) {
                    self.error(
                        Diagnostic::error(codes::ARG_TYPE, format!("size {size} is out of range"))
                            .primary(args[1].span, format!("use 1 to {MAX_STR_SIZE}")),
                    );
                    return Type::Unknown;
                }
                let size = size as u32;
                match (b, &types[0]) {
                    (Builtin::Str, Type::Str { size: have }) => Type::Str {
                        size: (*have).min(size.max(*have)),
                    },
                    // str(p, n) reads n characters and the NUL, as bpftrace's.
                    (Builtin::Str, Type::GoString) => Type::Str { size },
                    (Builtin::Str, _) if args.len() == 2 && literals[1].is_some() => Type::Str {
                        size: (size + 1).min(MAX_STR_SIZE),
                    },
                    (Builtin::Str, _) => Type::Str { size },
                    _ => Type::Buf { size },
                }
            }
            // `compile_time_args` typed the resolved address (see `check::uaddr`).
            Builtin::Uaddr => args[0].ty.clone(),
            // The filter is the program's: its index goes with the value to user space.
            Builtin::CgroupPath => {
                let filter = match args.get(1).map(|a| &a.kind) {
                    Some(ExprKind::Str(text)) => {
                        let filters = &mut self.tables.cgroup_filters;
                        let at = match filters.iter().position(|f| f == text) {
                            Some(at) => at,
                            None => {
                                filters.push(text.clone());
                                filters.len() - 1
                            }
                        };
                        Some(at as u32)
                    }
                    _ => None,
                };
                Type::Rendered(crate::types::Render::CgroupPath { filter })
            }
            Builtin::Pton => self.pton(&args[0]),
            Builtin::Strcat => self.strcat(args, types),
            Builtin::Sqlnorm => match &types[0] {
                Type::Str { size } | Type::SqlText { size } => Type::SqlText { size: *size },
                Type::Unknown => Type::Unknown,
                other => {
                    self.error(
                        Diagnostic::error(codes::ARG_TYPE, "`sqlnorm` takes a string").primary(
                            args[0].span,
                            format!("this is {}; read it with str() first", describe(other)),
                        ),
                    );
                    Type::Unknown
                }
            },
            Builtin::Lhist => {
                let (Some(min), Some(max), Some(step)) = (literals[1], literals[2], literals[3])
                else {
                    return Type::Unknown;
                };
                if step <= 0 || max <= min {
                    self.error(
                        Diagnostic::error(
                            codes::ARG_TYPE,
                            "`lhist` needs min < max and a positive step",
                        )
                        .primary(
                            args[1].span.to(args[3].span),
                            format!("min {min}, max {max}, step {step}"),
                        ),
                    );
                    return Type::Unknown;
                }
                if (max - min) / step > 10_000 {
                    self.error(
                        Diagnostic::error(
                            codes::ARG_TYPE,
                            "`lhist` would have more than 10000 buckets",
                        )
                        .primary(args[3].span, "use a larger step"),
                    );
                    return Type::Unknown;
                }
                Type::Agg(AggKind::Lhist { min, max, step })
            }
            _ => Type::Unknown,
        }
    }

    pub(super) fn args_or_ret(&mut self, b: Builtin, at: Span) -> Type {
        let cached = if b == Builtin::Args {
            &self.args
        } else {
            &self.ret
        };
        if let Some(result) = cached {
            return result.clone().unwrap_or(Type::Unknown);
        }
        let mut result: Result<Type, ()> = Err(());
        let mut first: Option<(Type, Span)> = None;
        let mut errors = Vec::new();
        // A binary pattern's pending form takes its signature from the binaries it matched;
        // with none, nothing says what FUNC's parameters are.
        if let Some(p) = self.providers.iter().find(|p| p.pending() == Some(0)) {
            errors.push(
                Diagnostic::error(
                    codes::NO_SIGNATURE,
                    format!(
                        "`{}` on a binary pattern needs a running program that matches it",
                        b.name()
                    ),
                )
                .primary(at, format!("cannot type `{}`", b.name()))
                .secondary(p.span(), "no running Go program matches this yet")
                .note("the signature is read from the matching binaries, and none is running")
                .help("start the program first, or name its binary: `uprobe:/path/to/binary:FUNC`"),
            );
        }
        // Binaries of a pattern that cannot give this value as the first one does.
        let mut left_out: Vec<(usize, Diagnostic)> = Vec::new();
        for (i, p) in self.providers.iter().enumerate() {
            if !errors.is_empty() {
                break;
            }
            if p.pending().is_some() {
                continue;
            }
            let ty = if b == Builtin::Args {
                p.args(self.env, at)
            } else {
                p.ret(self.env, at)
            };
            match ty {
                Err(d) if p.expanded_binary().is_some() => left_out.push((i, d)),
                Ok(ty)
                    if p.expanded_binary().is_some()
                        && first.as_ref().is_some_and(|(known, _)| *known != ty) =>
                {
                    let d = Diagnostic::error(
                        codes::MIXED_ARGS,
                        format!("`{}` differs from the other binaries'", b.name()),
                    )
                    .primary(at, format!("this is {}", describe(&ty)));
                    left_out.push((i, d));
                }
                Err(d) => {
                    errors.push(d);
                    result = Err(());
                    break;
                }
                Ok(ty) => match &first {
                    None => {
                        first = Some((ty.clone(), p.span()));
                        result = Ok(ty);
                    }
                    Some((known, known_span)) if *known != ty => {
                        errors.push(
                            Diagnostic::error(
                                codes::MIXED_ARGS,
                                format!(
                                    "`{}` differs between the attach points of this probe",
                                    b.name()
                                ),
                            )
                            .primary(at, "ambiguous")
                            .secondary(*known_span, "one signature here")
                            .secondary(p.span(), "another here")
                            .help("split the probe into one block per attach point"),
                        );
                        result = Err(());
                        break;
                    }
                    Some(_) => {}
                },
            }
        }
        // A copy of a pattern's probe for one more binary (see `expand`) has no pending form:
        // when its binary cannot give the value, that binary alone is left out.
        let copy = self.providers.iter().all(|p| p.expanded_binary().is_some());
        if first.is_none() && errors.is_empty() && !copy {
            // No binary of the pattern gives it: that is the error.
            errors.extend(left_out.drain(..).map(|(_, d)| d));
        }
        for (i, d) in left_out {
            // A pattern goes on with the binaries that agree; this one is not traced.
            let binary = self.providers[i].expanded_binary().unwrap_or_default();
            let mut warning =
                Diagnostic::warning(d.code, format!("not tracing {binary}: {}", d.message));
            warning.labels = d.labels;
            warning.notes = d.notes;
            self.error(warning);
            self.left_out.push(i);
        }
        for d in errors {
            self.error(d);
        }
        if b == Builtin::Args {
            self.args = Some(result.clone());
        } else {
            self.ret = Some(result.clone());
        }
        result.unwrap_or(Type::Unknown)
    }

    pub(super) fn check_register(&mut self, arg: &Expr) {
        const REGISTERS: &[&str] = &[
            "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11",
            "r12", "r13", "r14", "r15", "rip", "ip", "sp", "bp", "flags", "orig_rax", "cs", "ss",
        ];
        if let ExprKind::Str(name) = &arg.kind
            && !REGISTERS.contains(&name.as_str())
        {
            let mut d = Diagnostic::error(codes::ARG_TYPE, format!("unknown register `{name}`"))
                .primary(arg.span, "not an x86-64 register");
            if let Some(guess) = did_you_mean(name, REGISTERS.iter().copied()) {
                d = d.help(format!("did you mean `{guess}`?"));
            }
            self.error(d);
        }
    }

    /// `print(@m, top, div)`: only a whole map has entries to keep and values to divide; a
    /// `stats()` map prints whole (bpftrace ignores both there, with this warning).
    fn print_top_div(&mut self, args: &[Expr], span: Span) {
        if args.len() < 2 {
            return;
        }
        let Some(ExprKind::Map(m)) = args.first().map(|a| &a.kind) else {
            self.error(
                Diagnostic::error(
                    codes::ARG_COUNT,
                    "`print` of a value takes no `top` or `div`",
                )
                .primary(span, format!("{} arguments", args.len()))
                .help("`top` and `div` apply to a map: `print(@m, top, div)`"),
            );
            return;
        };
        let stats = self.tables.maps.iter().any(|e| {
            e.name == m.name.node && matches!(e.value, Some((MapValue::Agg(AggKind::Stats), _)))
        });
        if stats {
            self.error(
                Diagnostic::warning(
                    codes::ARG_TYPE,
                    "`print`'s `top` and `div` are ignored for a `stats()` map",
                )
                .primary(span, "printed whole, as bpftrace does"),
            );
        }
    }

    /// printf's and debugf's shared check: the values match the format's conversions one to one.
    /// Says so (spanning the extra values) and returns false when they do not.
    pub(super) fn one_value_per_conversion(
        &mut self,
        format_arg: &Expr,
        conversions: usize,
        values: &[Expr],
    ) -> bool {
        if conversions == values.len() {
            return true;
        }
        let mut d = Diagnostic::error(
            codes::PRINTF_ARGS,
            format!(
                "the format has {conversions} conversion(s) but {} value(s) were given",
                values.len()
            ),
        )
        .primary(format_arg.span, format!("{conversions} conversion(s)"));
        for extra in values.iter().skip(conversions) {
            d = d.secondary(extra.span, "no conversion for this value");
        }
        self.error(d);
        false
    }

    pub(super) fn printf(&mut self, args: &[Expr]) {
        let Some((format_arg, values)) = args.split_first() else {
            return;
        };
        let ExprKind::Str(format) = &format_arg.kind else {
            return;
        };
        let pieces = match printf::parse(format) {
            Ok(pieces) => pieces,
            Err((_, message)) => {
                self.error(
                    Diagnostic::error(codes::PRINTF_FORMAT, format!("bad printf format: {message}"))
                        .primary(format_arg.span, message)
                        .note("conversions: %d %i %u %x %X %o %c %s %p %r, with flags, width and `l`/`ll`"),
                );
                return;
            }
        };
        let conversions: Vec<&printf::Conversion> = printf::conversions(&pieces).collect();
        if !self.one_value_per_conversion(format_arg, conversions.len(), values) {
            return;
        }
        for (conversion, value) in conversions.iter().zip(values) {
            let ty = &value.ty;
            let ok = match conversion.accepts() {
                printf::Accepts::Integer => {
                    matches!(ty, Type::Int(_) | Type::Ptr(..) | Type::Unknown)
                }
                printf::Accepts::Pointer => {
                    matches!(ty, Type::Int(_) | Type::Ptr(..) | Type::Unknown)
                }
                printf::Accepts::Buffer => {
                    matches!(ty, Type::Buf { .. } | Type::Str { .. } | Type::Unknown)
                }
                printf::Accepts::Text => is_storable(ty) || matches!(ty, Type::Unknown),
            };
            if !ok {
                let mut d = Diagnostic::error(
                    codes::PRINTF_ARGS,
                    format!("`%{}` cannot print {}", conversion.conversion, describe(ty)),
                )
                .primary(value.span, format!("this is {}", describe(ty)))
                .secondary(
                    format_arg.span,
                    format!("`%{}` in this format", conversion.conversion),
                );
                if matches!(ty, Type::Str { .. } | Type::GoString) {
                    d = d.help("use `%s` for strings");
                } else if matches!(ty, Type::Ptr(..)) && conversion.conversion == 's' {
                    d = d.help("read the string first: `str(p)`");
                }
                self.error(d);
            }
        }
    }
}
