//! Expressions used for their effect, as statements: the builtins that do something
//! (`printf`, `print`, `delete`, `clear`, `exit`, ...) rather than compute a value.

use super::*;

impl Lower<'_, '_, '_> {
    /// Evaluates an expression statement.
    pub(super) fn effect(&mut self, e: &Expr) -> R<()> {
        // `$i++;`: the old value is not wanted, so it is not kept.
        if let ExprKind::IncDec { target, inc, .. } = &e.kind {
            self.incdec(e, target, *inc, false)?;
            return Ok(());
        }
        let ExprKind::Builtin { builtin, args } = &e.kind else {
            self.int(e)?;
            return Ok(());
        };
        match builtin {
            Builtin::Printf => self.printf(e, args),
            Builtin::Exit => {
                // A full ring buffer must not swallow exit(): its failure counts in slot 2,
                // which the runtime polls.
                let id = self.module.event(EventSpec::Exit);
                self.send_event_or_count(id, &[], None, 2)?;
                // bpftrace: nothing after exit() in the probe runs.
                let exit = self.exit_label;
                self.emit(Inst::Jump { target: exit });
                Ok(())
            }
            Builtin::Print | Builtin::Clear | Builtin::Zero => {
                let m = match args.first().map(|a| &a.kind) {
                    Some(ExprKind::Map(m)) if *builtin != Builtin::Print || m.keys.is_empty() => m,
                    _ if *builtin == Builtin::Print => return self.print_value(e, args),
                    _ => return Err(unsupported(e.span, "clearing a non-map value")),
                };
                let map = format!("@{}", m.name.node);
                let spec = match builtin {
                    Builtin::Print => EventSpec::Print {
                        map,
                        top: args
                            .get(1)
                            .and_then(|a| self.constant(a))
                            .map_or(0, |n| n.max(0) as u64),
                        // bpftrace takes `div` as a uint32 (`-1` divides by 4294967295).
                        div: args
                            .get(2)
                            .and_then(|a| self.constant(a))
                            .map_or(1, |n| n as u32 as u64),
                    },
                    Builtin::Clear => EventSpec::Clear { map },
                    _ => EventSpec::Zero { map },
                };
                let id = self.module.event(spec);
                self.send_event(id, &[], None)
            }
            Builtin::Time => {
                let format = match args.first().map(|a| &a.kind) {
                    Some(ExprKind::Str(s)) => s.clone(),
                    _ => "%H:%M:%S\n".to_string(),
                };
                let id = self.module.event(EventSpec::Time { format });
                self.send_event(id, &[], None)
            }
            Builtin::Delete => {
                let Some(ExprKind::Map(m)) = args.first().map(|a| &a.kind) else {
                    return Err(unsupported(e.span, "delete of a non-map value"));
                };
                let (index, spec) = self.user_map(m)?;
                let buckets = match spec {
                    MapValue::Agg(AggKind::Hist) => Some(HIST_BUCKETS),
                    MapValue::Agg(AggKind::Lhist { min, max, step }) => {
                        Some((max - min) / step.max(1) + 2)
                    }
                    _ => None,
                };
                let Some(buckets) = buckets else {
                    let key = self.key(m, index, None)?;
                    self.delete_key(index, key, Some(e.span))?;
                    return Ok(());
                };
                // A histogram's BPF key is (user key, bucket): deleting the user key deletes
                // every bucket, one `map_delete_elem` per bucket in a loop the verifier sees
                // end (the counter is a known constant on each pass).
                let key = self.key(m, index, None)?;
                let bucket_at = key + self.module.maps[index].key.size as i16 - 8;
                let (bucket, top) = (self.vreg(), self.label());
                self.emit(Inst::Mov {
                    dst: bucket,
                    src: Operand::Imm(0),
                });
                self.emit(Inst::Label(top));
                self.store_val(bucket_at, Val::Shared(bucket));
                self.delete_key(index, key, None)?;
                self.emit(Inst::Alu {
                    op: AluOp::Add,
                    dst: bucket,
                    src: Operand::Imm(1),
                });
                self.emit(Inst::Branch {
                    cond: Cond::Lt,
                    lhs: bucket,
                    rhs: Operand::Imm(buckets as i32),
                    target: top,
                });
                Ok(())
            }
            Builtin::Emit => self.emit_record(e, args),
            Builtin::Join => self.join(e, args),
            Builtin::Cat | Builtin::System => self.printf(e, args),
            Builtin::Signal => self.signal(e, args),
            Builtin::Debugf => self.debugf(e, args),
            Builtin::Override => self.override_return(e, args),
            _ => {
                self.int(e)?;
                Ok(())
            }
        }
    }
}
