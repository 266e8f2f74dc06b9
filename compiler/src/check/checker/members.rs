//! Types reached through the program: casts, `sizeof`/`offsetof`, and `.`/`->` member access
//! through Go, tracepoint, C and kernel (BTF) structs.

use super::*;

impl<'a> Checker<'a> {
    pub(super) fn cast(&mut self, to: &TypeName, from: Type, at: Span) -> Type {
        // A pointer cast keeps its operand's address space (`(uint32 *)curtask` is kernel
        // memory, as in bpftrace); an integer cast to a pointer takes the probe's.
        let mut space = match &from {
            Type::Ptr(_, space) => *space,
            _ => AddrSpace::Default,
        };
        let base = if let Some(int) = int_type(&to.name) {
            Type::Int(int)
        } else if let Some(c) = self.ctypes.lookup(&to.name) {
            // A type of the program's (or a C base type): pointers stay in the probe's
            // address space, so a uprobe reads its struct from user memory.
            if to.pointer_depth == 0 && matches!(c, crate::ctypes::CType::Record(_)) {
                self.error(
                    Diagnostic::error(codes::BAD_CAST, "cannot cast to a struct value")
                        .primary(to.span, "cast to a pointer instead")
                        .help(format!("write `({} *)`", to.name)),
                );
                return Type::Unknown;
            }
            self.ctypes.value_type(&c)
        } else if let Some(name) = to.name.strip_prefix("struct ") {
            if to.pointer_depth == 0 {
                self.error(
                    Diagnostic::error(codes::BAD_CAST, "cannot cast to a struct value")
                        .primary(to.span, "cast to a pointer instead")
                        .help(format!("write `(struct {name} *)`")),
                );
                return Type::Unknown;
            }
            // A kernel struct (BTF): in a uprobe, kernel memory; in a kernel probe, where the
            // address points — a tracepoint's `struct sockaddr *` argument is the caller's
            // memory — as bpftrace reads it (`probe_read` takes either on this architecture).
            if let Some(s) = self.kernel_struct(&to.name) {
                let user_probe = self.providers.iter().any(|p| {
                    matches!(
                        p.kind(),
                        crate::builtins::ProviderKind::Uprobe
                            | crate::builtins::ProviderKind::Uretprobe
                            | crate::builtins::ProviderKind::Usdt
                    )
                });
                if space == AddrSpace::Default && user_probe {
                    space = AddrSpace::Kernel;
                }
                Type::Struct(s)
            } else {
                match self.env.struct_type(name) {
                    Some(s) => Type::Struct(s),
                    None => Type::Named(to.name.clone()),
                }
            }
        } else {
            let known = self
                .ctypes
                .typedefs
                .keys()
                .map(String::as_str)
                .chain(crate::ctypes::base::TYPEDEFS.iter().map(|(n, ..)| *n));
            let nearest = crate::names::nearest(&to.name, known, 3);
            let mut d = Diagnostic::error(codes::BAD_CAST, format!("unknown type `{}`", to.name))
                .primary(to.span, "unknown type");
            if !nearest.is_empty() {
                d = d.help(format!("nearest type names: {}", nearest.join(", ")));
            }
            self.error(d);
            return Type::Unknown;
        };
        if !is_integral(&from) {
            self.error(
                Diagnostic::error(
                    codes::BAD_CAST,
                    format!("cannot cast {} to `{}`", describe(&from), to.name),
                )
                .primary(at, format!("this is {}", describe(&from)))
                .note("only integers and pointers can be cast"),
            );
            return Type::Unknown;
        }
        let mut ty = base;
        for _ in 0..to.pointer_depth {
            ty = Type::Ptr(Box::new(ty), space);
        }
        ty
    }

    /// `sizeof(TYPE)`: `e` becomes the size, a `u64` as in bpftrace.
    pub(super) fn sizeof_type(&mut self, t: &TypeName, e: &mut Expr) -> Type {
        let size = if t.pointer_depth > 0 {
            Some(8)
        } else if let Some(int) = int_type(&t.name) {
            Some(u64::from(int.bits / 8))
        } else if let Some(c) = self.ctypes.lookup(&t.name) {
            self.ctypes.size_of(&c)
        } else {
            self.named_struct(&t.name).map(|s| s.size)
        };
        match size {
            Some(n) => {
                e.kind = ExprKind::Int(n);
                Type::Int(IntType::U64)
            }
            None => {
                self.unknown_struct(&t.name, t.span);
                Type::Unknown
            }
        }
    }

    /// `offsetof(struct X, a.b)`: `e` becomes the byte offset, a `u64`.
    pub(super) fn offsetof(&mut self, t: &TypeName, path: &[Name], e: &mut Expr) -> Type {
        // `offsetof(foo_t, a)`: the struct a typedef names.
        let name = self
            .ctypes
            .record_key(&t.name)
            .unwrap_or_else(|| t.name.clone());
        let Some(mut st) = self.named_struct(&name) else {
            self.unknown_struct(&t.name, t.span);
            return Type::Unknown;
        };
        let mut total = 0;
        for (i, member) in path.iter().enumerate() {
            let Some(f) = st.fields.iter().find(|f| f.name == member.node) else {
                let mut d = Diagnostic::error(
                    codes::UNKNOWN_FIELD,
                    format!("`struct {}` has no field `{}`", st.name, member.node),
                )
                .primary(member.span, "unknown field");
                let nearest = crate::names::nearest(
                    &member.node,
                    st.fields.iter().map(|f| f.name.as_str()),
                    5,
                );
                if !nearest.is_empty() {
                    d = d.help(format!("nearest fields: {}", nearest.join(", ")));
                }
                self.error(d);
                return Type::Unknown;
            };
            total += f.offset;
            if i + 1 < path.len() {
                match self.resolve_named(f.ty.clone()) {
                    Type::Struct(inner) => st = inner,
                    other => {
                        self.error(
                            Diagnostic::error(
                                codes::BAD_OPERAND,
                                format!("{} has no fields", describe(&other)),
                            )
                            .primary(path[i + 1].span, "not a member of a struct"),
                        );
                        return Type::Unknown;
                    }
                }
            }
        }
        e.kind = ExprKind::Int(total);
        Type::Int(IntType::U64)
    }

    pub(super) fn unknown_struct(&mut self, name: &str, at: Span) {
        self.error(
            Diagnostic::error(codes::UNKNOWN_FIELD, format!("the layout of `{name}` is unknown"))
                .primary(at, "unknown type")
                .note("struct layouts come from the program's definitions, the kernel's BTF (kernel structs) and the target's DWARF (Go structs); none has this one"),
        );
    }

    /// An element read with `[i]`: a struct known by name gets its layout, for `.field`.
    pub(super) fn element(&self, elem: Type) -> Type {
        self.resolve_named(elem)
    }

    /// The layout behind `Named(name)`: a kernel struct from BTF (`struct sock`), or a Go
    /// struct (`net/url.URL`, `struct main.T` from a cast).
    pub(super) fn named_struct(&self, name: &str) -> Option<StructType> {
        if let Some(s) = self.ctypes.struct_type(name) {
            return Some(s);
        }
        if let Some(s) = self.kernel_struct(name) {
            return Some(s);
        }
        self.env.struct_type(name.trim_start_matches("struct "))
    }

    /// A kernel struct by C name; Go names (`struct main.T`, `net/url.URL`) are never asked
    /// for, which spares a Go-only program opening the kernel's BTF.
    pub(super) fn kernel_struct(&self, name: &str) -> Option<StructType> {
        crate::check::kernel_records::lookup(self.env, name)
    }

    /// `Named` → its struct, also behind one pointer, when the environment knows the layout.
    pub(super) fn resolve_named(&self, ty: Type) -> Type {
        match ty {
            Type::Named(n) => match self.named_struct(&n) {
                Some(s) => Type::Struct(s),
                None => Type::Named(n),
            },
            Type::Ptr(inner, space) if matches!(*inner, Type::Named(_)) => {
                Type::Ptr(Box::new(self.resolve_named(*inner)), space)
            }
            other => other,
        }
    }

    pub(super) fn field(&mut self, base: Type, name: &Name, arrow: bool, at: Span) -> Type {
        let _ = arrow; // `.` and `->` both reach through one pointer, as in bpftrace's `args`.
        let base = match base {
            Type::Ptr(inner, _) if matches!(*inner, Type::Struct(_) | Type::Named(_)) => *inner,
            other => other,
        };
        let base = match base {
            Type::Named(n) => match self.named_struct(&n) {
                Some(s) => Type::Struct(s),
                None => {
                    self.error(
                        Diagnostic::error(codes::UNKNOWN_FIELD, format!("the layout of `{n}` is unknown"))
                            .primary(at, "cannot read its fields")
                            .note("struct layouts come from the kernel's BTF (kernel structs) and the target's DWARF (Go structs); neither has this one"),
                    );
                    return Type::Unknown;
                }
            },
            other => other,
        };
        let fields: Vec<(String, Type)> = match &base {
            Type::Unknown => return Type::Unknown,
            Type::Struct(s) => s
                .fields
                .iter()
                .map(|f| (f.name.clone(), f.ty.clone()))
                .collect(),
            Type::Record(fields) => fields.clone(),
            Type::Tuple(items) => items
                .iter()
                .enumerate()
                .map(|(i, t)| (i.to_string(), t.clone()))
                .collect(),
            Type::GoString => vec![
                (
                    "ptr".into(),
                    Type::Ptr(
                        Box::new(Type::Int(IntType {
                            bits: 8,
                            signed: false,
                        })),
                        AddrSpace::User,
                    ),
                ),
                ("len".into(), Type::Int(IntType::I64)),
            ],
            Type::GoSlice(elem) => vec![
                ("ptr".into(), Type::Ptr(elem.clone(), AddrSpace::User)),
                ("len".into(), Type::Int(IntType::I64)),
                ("cap".into(), Type::Int(IntType::I64)),
            ],
            // (itab or type, data): `type` is 0 for a nil interface (a nil error).
            Type::GoInterface => vec![
                ("type".into(), Type::Int(IntType::U64)),
                ("tab".into(), Type::Int(IntType::U64)),
                ("data".into(), Type::Int(IntType::U64)),
            ],
            other => {
                self.error(
                    Diagnostic::error(
                        codes::BAD_OPERAND,
                        format!("{} has no fields", describe(other)),
                    )
                    .primary(name.span, format!("no field `{}`", name.node)),
                );
                return Type::Unknown;
            }
        };
        if let Some((_, ty)) = fields.iter().find(|(n, _)| *n == name.node) {
            return match ty {
                // Reading a bit-field gives its integer.
                Type::BitField { int, .. } => Type::Int(*int),
                other => other.clone(),
            };
        }
        if let Type::Tuple(items) = &base {
            // Elements are numbered: no spelling suggestion, the valid range instead.
            let count = items.len();
            let message = match name.node.parse::<u64>() {
                Ok(index) => format!(
                    "tuple index {index} is out of range: {} has {count} element{}",
                    describe(&base),
                    if count == 1 { "" } else { "s" }
                ),
                Err(_) => format!(
                    "a tuple's elements are read by index (`.0`), not by name (`.{}`)",
                    name.node
                ),
            };
            self.error(
                Diagnostic::error(codes::UNKNOWN_FIELD, message)
                    .primary(name.span, "no such element")
                    .note(format!("valid indexes: .0 to .{}", count.saturating_sub(1))),
            );
            return Type::Unknown;
        }
        let mut d = Diagnostic::error(
            codes::UNKNOWN_FIELD,
            format!("{} has no field `{}`", describe(&base), name.node),
        )
        .primary(name.span, "unknown field");
        if let Some(guess) = did_you_mean(&name.node, fields.iter().map(|(n, _)| n.as_str())) {
            d = d.help(format!("did you mean `{guess}`?"));
        }
        if !fields.is_empty() && fields.len() <= 20 {
            d = d.note(format!(
                "fields: {}",
                fields
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        } else if fields.len() > 20 {
            // A kernel struct has hundreds: the nearest few.
            let nearest =
                crate::names::nearest(&name.node, fields.iter().map(|(n, _)| n.as_str()), 5);
            if nearest.len() > 1 {
                d = d.note(format!("nearest fields: {}", nearest.join(", ")));
            }
        }
        self.error(d);
        Type::Unknown
    }

    // ---- builtins ---------------------------------------------------------------------------
}
