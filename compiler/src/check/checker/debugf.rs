//! `debugf(fmt, ...)`: bpf_trace_printk formats in the kernel, so only the conversions the
//! kernel knows and at most three values (bpftrace's limits), with bpftrace's warning.

use super::*;
use crate::builtins::DEBUGF_MAX_ARGS as TRACE_PRINTK_ARGS;

/// The conversions bpf_trace_printk formats as bpftrace 0.17 allows them: `d u x` with no
/// length, `l` or `ll`, and `p`, `s`.
fn printk_conversion(c: &printf::Conversion) -> bool {
    match c.conversion {
        'd' | 'u' | 'x' => matches!(c.length.as_str(), "" | "l" | "ll"),
        'p' | 's' => c.length.is_empty(),
        _ => false,
    }
}

impl<'a> Checker<'a> {
    pub(super) fn debugf(&mut self, args: &[Expr], span: Span) {
        self.error(
            Diagnostic::warning(
                codes::DEBUG_OUTPUT,
                "The debugf() builtin is not recommended for production use. For more information see bpf_trace_printk in bpf-helpers(7).",
            )
            .primary(span, "writes to /sys/kernel/tracing/trace_pipe")
            .note("the line goes to the kernel's trace buffer, not to gprobe's output; read it with `cat /sys/kernel/tracing/trace_pipe`"),
        );
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
                    Diagnostic::error(codes::PRINTF_FORMAT, format!("bad debugf format: {message}"))
                        .primary(format_arg.span, message)
                        .note("bpf_trace_printk conversions: %d %u %x (with `l`/`ll`), %p, %s; flags and width"),
                );
                return;
            }
        };
        let conversions: Vec<&printf::Conversion> = printf::conversions(&pieces).collect();
        if let Some(bad) = conversions.iter().find(|c| !printk_conversion(c)) {
            self.error(
                Diagnostic::error(
                    codes::PRINTF_FORMAT,
                    format!(
                        "bpf_trace_printk cannot format `%{}{}`",
                        bad.length, bad.conversion
                    ),
                )
                .primary(format_arg.span, "an unsupported conversion")
                .note("bpf_trace_printk conversions: %d %u %x (with `l`/`ll`), %p, %s; flags and width")
                .help("use printf() for other conversions"),
            );
            return;
        }
        if values.len() > TRACE_PRINTK_ARGS {
            let mut d = Diagnostic::error(
                codes::PRINTF_ARGS,
                format!(
                    "debugf takes at most {TRACE_PRINTK_ARGS} values, but {} were given",
                    values.len()
                ),
            )
            .primary(span, "bpf_trace_printk formats at most 3 values");
            for extra in values.iter().skip(TRACE_PRINTK_ARGS) {
                d = d.secondary(extra.span, "one too many");
            }
            self.error(d.help("split it into several debugf() calls, or use printf()"));
            return;
        }
        if !self.one_value_per_conversion(format_arg, conversions.len(), values) {
            return;
        }
        for (conversion, value) in conversions.iter().zip(values) {
            let ty = &value.ty;
            let ok = match conversion.conversion {
                's' => matches!(ty, Type::Str { .. } | Type::Unknown),
                _ => matches!(ty, Type::Int(_) | Type::Ptr(..) | Type::Unknown),
            };
            if !ok {
                let wanted = if conversion.conversion == 's' {
                    "a string"
                } else {
                    "an integer"
                };
                self.error(
                    Diagnostic::error(
                        codes::PRINTF_ARGS,
                        format!(
                            "`%{}` of debugf needs {wanted}, not {}",
                            conversion.conversion,
                            describe(ty)
                        ),
                    )
                    .primary(value.span, format!("this is {}", describe(ty)))
                    .secondary(
                        format_arg.span,
                        format!("`%{}` in this format", conversion.conversion),
                    ),
                );
            }
        }
    }
}
