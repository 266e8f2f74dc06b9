//! Maps: one key shape and one value kind per map, reads, assignments and aggregations, and maps
//! passed to `print`/`clear`/`delete`.

use super::*;

impl<'a> Checker<'a> {
    pub(super) fn map_index(&mut self, name: &str) -> usize {
        match self.tables.maps.iter().position(|m| m.name == name) {
            Some(i) => i,
            None => {
                self.tables.maps.push(MapEntry {
                    name: name.to_string(),
                    keys: None,
                    value: None,
                });
                self.tables.maps.len() - 1
            }
        }
    }

    /// Checks a map's keys against its earlier uses; returns its table index.
    pub(super) fn map_keys(&mut self, map: &mut MapRef) -> usize {
        let key_types: Vec<Type> = map.keys.iter_mut().map(|k| self.expr(k)).collect();
        for (key, ty) in map.keys.iter().zip(&key_types) {
            if !matches!(ty, Type::Unknown) && !is_storable(ty) {
                self.error(
                    Diagnostic::error(
                        codes::MAP_KEYS,
                        format!("{} cannot be a map key", describe(ty)),
                    )
                    .primary(key.span, "not a valid key"),
                );
            }
        }
        let keys_span = match (map.keys.first(), map.keys.last()) {
            (Some(first), Some(last)) => first.span.to(last.span),
            _ => map.span,
        };
        let index = self.map_index(&map.name.node);
        let label = map_label(&map.name.node);
        match &mut self.tables.maps[index].keys {
            slot @ None => *slot = Some((key_types, keys_span)),
            Some((known, first)) => {
                let first = *first;
                let unified: Option<Vec<Type>> = (known.len() == key_types.len())
                    .then(|| {
                        known
                            .iter()
                            .zip(&key_types)
                            .map(|(a, b)| unify(a, b))
                            .collect()
                    })
                    .flatten();
                match unified {
                    Some(unified) => *known = unified,
                    None => {
                        let describe_keys = |keys: &[Type]| match keys.len() {
                            0 => "no key".to_string(),
                            _ => format!(
                                "key [{}]",
                                keys.iter()
                                    .map(crate::types::type_name)
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        };
                        let (before, now) = (describe_keys(known), describe_keys(&key_types));
                        self.error(
                            Diagnostic::error(
                                codes::MAP_KEYS,
                                format!("map `{label}` is used with different keys"),
                            )
                            .primary(keys_span, format!("used with {now} here"))
                            .secondary(first, format!("used with {before} here"))
                            .help("every use of a map needs the same number and types of keys"),
                        );
                    }
                }
            }
        }
        index
    }

    /// The value a map holds, reporting a never-assigned map (second pass only).
    pub(super) fn map_value(&mut self, index: usize, map: &MapRef) -> Option<MapValue> {
        if let Some((value, _)) = &self.tables.maps[index].value {
            return Some(value.clone());
        }
        if self.complete {
            let name = &map.name.node;
            let assigned: Vec<String> = self
                .tables
                .maps
                .iter()
                .filter(|m| m.value.is_some())
                .map(|m| m.name.clone())
                .collect();
            let mut d = Diagnostic::error(
                codes::UNKNOWN_MAP,
                format!("map `{}` is never assigned", map_label(name)),
            )
            .primary(map.name.span, "no value is ever stored here");
            if let Some(guess) = did_you_mean(name, assigned.iter().map(String::as_str)) {
                d = d.help(format!("did you mean `@{guess}`?"));
            }
            self.error(d);
        }
        None
    }

    pub(super) fn read_map(&mut self, map: &mut MapRef) -> Type {
        let index = self.map_keys(map);
        match self.map_value(index, map) {
            None => Type::Unknown,
            Some(MapValue::Plain(ty)) => ty,
            // As in bpftrace: an aggregation lives in one slot per CPU and is merged only when
            // printed, so a probe has no single value to read.
            Some(MapValue::Agg(kind)) => {
                self.error(
                    Diagnostic::error(
                        codes::AGG_READ,
                        format!(
                            "map `{}` holds a {} and cannot be read as a value",
                            map_label(&map.name.node),
                            crate::types::type_name(&Type::Agg(kind))
                        ),
                    )
                    .primary(map.span, "cannot read this")
                    .note("aggregations are kept per CPU and merged only when printed")
                    .help("print it with `print(@map)` (it is also printed at exit), or keep a plain map to read in a probe: `@n = @n + 1`"),
                );
                Type::Unknown
            }
        }
    }

    pub(super) fn assign_map(&mut self, map: &mut MapRef, op: Option<BinOp>, value: &mut Expr) {
        let index = self.map_keys(map);
        let label = map_label(&map.name.node);
        let new = if let Some(op) = op {
            let ty = self.expr(value);
            if !matches!(ty, Type::Int(_) | Type::Unknown) {
                self.error(
                    Diagnostic::error(
                        codes::BAD_OPERAND,
                        format!("`{}=` needs an integer", op.symbol()),
                    )
                    .primary(value.span, format!("this is {}", describe(&ty))),
                );
                return;
            }
            MapValue::Plain(Type::Int(IntType::I64))
        } else {
            let ty = self.expr_any(value);
            match ty {
                Type::Agg(kind) => MapValue::Agg(kind),
                Type::Unknown => return,
                Type::Void => {
                    self.error(
                        Diagnostic::error(codes::NO_VALUE, "this expression produces no value")
                            .primary(value.span, "nothing to store"),
                    );
                    return;
                }
                ty if !is_storable(&ty) => {
                    self.error(
                        Diagnostic::error(
                            codes::TYPE_MISMATCH,
                            format!("cannot store {} in a map", describe(&ty)),
                        )
                        .primary(value.span, "not storable"),
                    );
                    return;
                }
                ty => MapValue::Plain(ty),
            }
        };
        let entry = &mut self.tables.maps[index];
        let Some((known, first)) = &mut entry.value else {
            entry.value = Some((new, value.span));
            return;
        };
        let first = *first;
        let what = |v: &MapValue| match v {
            MapValue::Agg(kind) => format!(
                "{}()",
                crate::types::type_name(&Type::Agg(*kind))
                    .split('(')
                    .next()
                    .unwrap_or("")
            ),
            MapValue::Plain(ty) => describe(ty),
        };
        let conflict = match (&*known, &new) {
            (MapValue::Plain(a), MapValue::Plain(b)) => match unify(a, b) {
                Some(unified) => {
                    *known = MapValue::Plain(unified);
                    None
                }
                None => Some(codes::MAP_VALUE),
            },
            (MapValue::Agg(a), MapValue::Agg(b)) if a == b => None,
            (MapValue::Agg(AggKind::Lhist { .. }), MapValue::Agg(AggKind::Lhist { .. })) => {
                Some(codes::AGG_MIXED)
            }
            (MapValue::Agg(_), MapValue::Agg(_)) => Some(codes::AGG_MIXED),
            _ => Some(codes::MAP_VALUE),
        };
        if let Some(code) = conflict {
            let (before, now) = (what(known), what(&new));
            let (before, now) = if before == now {
                (
                    crate::types::type_name(&agg_type(known)),
                    crate::types::type_name(&agg_type(&new)),
                )
            } else {
                (before, now)
            };
            let mut d = Diagnostic::error(
                code,
                format!("map `{label}` is assigned both {before} and {now}"),
            )
            .primary(value.span, format!("{now} here"))
            .secondary(first, format!("{before} here"));
            d = if code == codes::AGG_MIXED {
                d.help("one map holds one kind of aggregation; use a second map")
            } else if op.is_some() && matches!(known, MapValue::Agg(_)) {
                d.help("an aggregation map is updated by assigning the aggregation again, e.g. `@m = count()`")
            } else {
                d.help("every assignment to a map must store the same type; use a second map")
            };
            self.error(d);
        }
    }

    /// The map named by a builtin's map argument (`clear(@m)`, `delete(@m[k])`).
    pub(super) fn map_arg(&mut self, arg: &mut Expr, whole: bool, builtin: Builtin) -> Type {
        let ExprKind::Map(map) = &mut arg.kind else {
            let example = if whole { "@name" } else { "@name[key]" };
            self.expr_any(arg);
            self.error(
                Diagnostic::error(
                    codes::NOT_A_MAP,
                    format!("`{}` needs a map", builtin.name()),
                )
                .primary(arg.span, "not a map")
                .help(format!("write `{}({example})`", builtin.name())),
            );
            return Type::Unknown;
        };
        if whole && !map.keys.is_empty() {
            let label = map_label(&map.name.node);
            self.error(
                Diagnostic::error(
                    codes::NOT_A_MAP,
                    format!("`{}` takes a whole map, not an element", builtin.name()),
                )
                .primary(arg.span, "an element")
                .help(format!("write `{}({label})`", builtin.name())),
            );
            return Type::Unknown;
        }
        let index = if whole {
            self.map_index(&map.name.node)
        } else {
            self.map_keys(map)
        };
        let ty = match self.map_value(index, map) {
            Some(MapValue::Plain(ty)) => ty,
            Some(MapValue::Agg(kind)) => Type::Agg(kind),
            None => Type::Unknown,
        };
        arg.ty = ty.clone();
        ty
    }

    // ---- expressions ------------------------------------------------------------------------
}
