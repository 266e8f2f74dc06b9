//! Where Go values live: `args`/`ret` fields resolved to registers or stack slots of the Go
//! ABI, and loads from them.

use super::*;

impl Lower<'_, '_, '_> {
    /// Where a Go value lives: `args.NAME`, `ret.NAME`, `retval`, and fields of those (struct
    /// fields, a string's `ptr`/`len`, a slice's `ptr`/`len`/`cap`, an interface's
    /// `type`/`data`) and of structs behind pointers. `None`: not a Go value.
    pub(super) fn place(&mut self, e: &Expr) -> R<Option<Place>> {
        match &e.kind {
            ExprKind::Builtin {
                builtin: Builtin::Retval,
                ..
            } => {
                let Some(site) = self.go.site else {
                    return Ok(None);
                };
                Ok(site
                    .results
                    .first()
                    .map(|(_, loc)| self.location(loc, e.span))
                    .transpose()?)
            }
            ExprKind::Field { expr, name, .. } => {
                if let ExprKind::Builtin {
                    builtin: b @ (Builtin::Args | Builtin::Ret),
                    ..
                } = &expr.kind
                {
                    if !self.user_space() {
                        return Ok(None);
                    }
                    let site = self.go.site.ok_or_else(|| {
                        unsupported(e.span, "Go arguments without a resolved Go function")
                    })?;
                    let list = if *b == Builtin::Args {
                        &site.params
                    } else {
                        &site.results
                    };
                    let (_, loc) = list.iter().find(|(n, _)| *n == name.node).ok_or_else(|| {
                        unsupported(name.span, format!("`{}` of `{}`", name.node, site.name))
                    })?;
                    return Ok(Some(self.location(loc, e.span)?));
                }
                let (field_off, field_size) = match &expr.ty {
                    Type::GoString | Type::GoSlice(_) | Type::GoInterface => {
                        let off = match name.node.as_str() {
                            "ptr" | "type" | "tab" => 0,
                            "len" | "data" => 8,
                            "cap" => 16,
                            _ => return Ok(None),
                        };
                        (off, 8)
                    }
                    Type::Struct(_) | Type::Ptr(..) => {
                        let st = match &expr.ty {
                            Type::Ptr(inner, _) => match inner.as_ref() {
                                Type::Struct(st) => st,
                                _ => return Ok(None),
                            },
                            Type::Struct(st) => st,
                            _ => return Ok(None),
                        };
                        let Some(f) = st.fields.iter().find(|f| f.name == name.node) else {
                            return Ok(None);
                        };
                        (f.offset, value_size(&f.ty))
                    }
                    _ => return Ok(None),
                };
                if let Type::Ptr(..) = &expr.ty {
                    let p = self.int(expr)?;
                    let addr = self.owned(p);
                    return Ok(Some(Place::Mem {
                        addr,
                        off: field_off as i64,
                    }));
                }
                Ok(self.place(expr)?.map(|p| p.sub(field_off, field_size)))
            }
            // `slice.ptr[i]` of Go strings, slices or interfaces: element i in target memory,
            // whose fields (`.len`) or string (`str()`) are read from there.
            ExprKind::Index { expr, index } => {
                let Type::Ptr(elem, _) = &expr.ty else {
                    return Ok(None);
                };
                if !matches!(
                    elem.as_ref(),
                    Type::GoString | Type::GoSlice(_) | Type::GoInterface
                ) {
                    return Ok(None);
                }
                let size = value_size(elem) as i64;
                let base = self.int(expr)?;
                let addr = self.owned(base);
                if let Some(i) = self.constant(index) {
                    return Ok(Some(Place::Mem {
                        addr,
                        off: i * size,
                    }));
                }
                let i = self.int(index)?;
                let i = self.owned(i);
                self.emit(Inst::Alu {
                    op: AluOp::Mul,
                    dst: i,
                    src: Operand::Imm(size as i32),
                });
                self.emit(Inst::Alu {
                    op: AluOp::Add,
                    dst: addr,
                    src: Operand::Reg(i),
                });
                Ok(Some(Place::Mem { addr, off: 0 }))
            }
            _ => Ok(None),
        }
    }

    pub(super) fn location(&mut self, loc: &GoLocation, span: Span) -> R<Place> {
        match loc {
            GoLocation::Registers(slots) => Ok(Place::Regs(
                slots
                    .iter()
                    .map(|s| (s.pt_regs as i16, s.offset, s.size))
                    .collect(),
            )),
            GoLocation::Stack { offset } => {
                let sp = self.ctx_load(pt_regs_offset("sp").unwrap_or(152), Size::DW);
                let addr = self.owned(sp);
                Ok(Place::Mem {
                    addr,
                    off: *offset as i64,
                })
            }
            GoLocation::Unavailable => Err(unsupported(
                span,
                "a value pt_regs does not hold (a float, a struct passed by value, or an argument after one)",
            )),
        }
    }

    /// An integer (or pointer) Go value from its place.
    pub(super) fn load_place(&mut self, place: Place, ty: &Type, span: Span) -> R<Val> {
        if !matches!(ty, Type::Int(_) | Type::Ptr(..)) {
            return Err(unsupported(
                span,
                "this Go value as a number (read a field, e.g. `.len`, or use `str()`)",
            ));
        }
        match place {
            Place::Regs(slots) => {
                let Some((reg, _, _)) = slots.iter().find(|(_, off, _)| *off == 0) else {
                    return Err(unsupported(span, "this register piece"));
                };
                let v = self.ctx_load(*reg, Size::DW);
                Ok(self.convert(v, ty))
            }
            Place::Mem { addr, off } => self.read_target(Val::Shared(addr), off, ty, span),
        }
    }
}
