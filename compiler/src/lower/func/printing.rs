//! Printing from a probe: `printf`, `print`, `emit` and the ring-buffer events they send (with
//! the failure counters a full buffer feeds).

use super::*;

impl Lower<'_, '_, '_> {
    pub(super) fn printf(&mut self, e: &Expr, args: &[Expr]) -> R<()> {
        let Some(ExprKind::Str(format)) = args.first().map(|a| &a.kind) else {
            return Err(unsupported(e.span, "printf without a literal format"));
        };
        let values = &args[1..];
        let layout = layout::layout_of(values.iter().map(|v| (None, &v.ty)))
            .ok_or_else(|| unsupported(e.span, "a printf argument of this type"))?;
        let (format, args) = (format.clone(), layout.clone());
        let spec = match &e.kind {
            ExprKind::Builtin {
                builtin: Builtin::Cat,
                ..
            } => EventSpec::Cat { format, args },
            ExprKind::Builtin {
                builtin: Builtin::System,
                ..
            } => EventSpec::System { format, args },
            _ => EventSpec::Printf {
                format,
                args,
                span: e.span,
            },
        };
        let id = self.module.event(spec);
        self.send_event(id, values, Some(&layout))
    }

    /// `print(value)` of anything but a whole map: one event with the value.
    pub(super) fn print_value(&mut self, e: &Expr, args: &[Expr]) -> R<()> {
        let Some(value) = args.first() else {
            return Err(unsupported(e.span, "print() without a value"));
        };
        let layout = layout::layout_of([(None, &value.ty)])
            .ok_or_else(|| unsupported(value.span, "print() of a value of this type"))?;
        let id = self.module.event(EventSpec::PrintValue {
            value: layout.clone(),
        });
        self.send_event(id, std::slice::from_ref(value), Some(&layout))
    }

    /// `emit(value)`: the payload is the kernel time (u64 ns, `bpf_ktime_get_ns`) then the value;
    /// a record's fields keep their names, anything else is one unnamed field.
    pub(super) fn emit_record(&mut self, e: &Expr, args: &[Expr]) -> R<()> {
        let Some(value) = args.first() else {
            return Err(unsupported(e.span, "emit() without a value"));
        };
        let mut record = match &value.ty {
            Type::Record(fields) => {
                layout::layout_of(fields.iter().map(|(n, t)| (Some(n.clone()), t)))
            }
            ty => layout::layout_of([(None, ty)]),
        }
        .ok_or_else(|| unsupported(value.span, "emit() of a value of this type"))?;
        for field in &mut record.fields {
            field.offset += 8;
        }
        record.size += 8;
        let id = self.module.event(EventSpec::Emit {
            probe: self.probe_name.clone(),
            record: record.clone(),
            span: e.span,
        });
        let base = self.alloc(8 + record.size)?;
        self.store_imm64(base, id);
        let now = self.call_value(Helper::KtimeGetNs, vec![]);
        self.store_val(base + 8, Val::Owned(now));
        self.write_value(value, base + 16, &value.ty)?;
        self.output_event(base, record.size, false, 0)
    }

    /// Builds `u64 id` + payload on the stack and outputs it to the ring buffer; a failed
    /// output counts in counters slot 0.
    pub(super) fn send_event(
        &mut self,
        id: u64,
        values: &[Expr],
        layout: Option<&Layout>,
    ) -> R<()> {
        self.send_event_or_count(id, values, layout, 0)
    }

    /// As [`Self::send_event`], counting a failed output in counters slot `slot`.
    pub(super) fn send_event_or_count(
        &mut self,
        id: u64,
        values: &[Expr],
        layout: Option<&Layout>,
        slot: i32,
    ) -> R<()> {
        let payload = layout.map_or(0, |l| l.size);
        let base = self.alloc(8 + payload)?;
        self.store_imm64(base, id);
        if let Some(layout) = layout {
            for (v, f) in values.iter().zip(&layout.fields) {
                self.write_value(v, base + 8 + f.offset as i16, &v.ty)?;
            }
        }
        self.output_event(base, payload, layout.is_none(), slot)
    }

    /// Outputs the `8 + payload` bytes at `base` (id, payload) to the ring buffer, counting a
    /// failure in counters slot `slot`. Only control events (`wake`: exit, print, ...) wake the
    /// reader.
    pub(super) fn output_event(&mut self, base: i16, payload: u32, wake: bool, slot: i32) -> R<()> {
        let ret = self.ringbuf_output(base, payload, wake);
        self.count_failure(ret, slot)
    }

    /// The `bpf_ringbuf_output` of [`Self::output_event`], its result (0: written) uncounted.
    pub(super) fn ringbuf_output(&mut self, base: i16, payload: u32, wake: bool) -> VReg {
        let events = self.module.events_map();
        let map = self.vreg();
        self.emit(Inst::LoadMap {
            dst: map,
            map: events,
        });
        let data = self.stack_addr(base);
        let ret = self.vreg();
        // Data events (printf) do not wake the reader: a wakeup per event costs microseconds
        // in the traced thread. The runtime polls every few ms when a program has them; control
        // events (exit, print, ...) still wake it.
        let flags = if wake { 0 } else { BPF_RB_NO_WAKEUP };
        self.emit(Inst::Call {
            helper: Helper::RingbufOutput,
            args: vec![
                Operand::Reg(map),
                Operand::Reg(data),
                Operand::Imm(8 + payload as i32),
                Operand::Imm(flags),
            ],
            ret: Some(ret),
        });
        ret
    }

    /// `if ret != 0 { counters[slot]++ }`
    pub(super) fn count_failure(&mut self, ret: VReg, slot: i32) -> R<()> {
        let done = self.label();
        self.branch_if_zero(ret, done);
        let counters = self.module.counters_map();
        let mark = self.sp;
        let key = self.alloc(4)?;
        self.emit(Inst::Store {
            base: Base::Fp,
            off: key,
            size: Size::W,
            src: Operand::Imm(slot),
        });
        let p = self.lookup(counters, key);
        self.branch_if_zero(p, done);
        self.add_in_place(p, 0, Operand::Imm(1));
        self.emit(Inst::Label(done));
        self.sp = mark;
        Ok(())
    }
}
