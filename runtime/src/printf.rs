//! `printf` formatting in userspace, with C/bpftrace semantics for the conversions gprobe
//! accepts: `%d %i %u %x %X %o %s %c %p %%`, flags `- 0 + space #`, width, precision and the
//! (ignored) length modifiers `h hh l ll z j`. Integers are 64-bit, as bpftrace passes them.
//! The format's escapes were already resolved by the front end.

use crate::output::text;
use crate::value::Value;

/// Formats `format` with `args`. Missing arguments print nothing for their conversion; the
/// checker guarantees counts and types, so this only has to be total, not strict.
pub fn format(format: &str, args: &[Value]) -> String {
    let mut out = String::with_capacity(format.len() + 16);
    let mut args = args.iter();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&f) = chars.peek() {
            match f {
                '-' => spec.left = true,
                '0' => spec.zero = true,
                '+' => spec.plus = true,
                ' ' => spec.space = true,
                '#' => spec.alt = true,
                _ => break,
            }
            chars.next();
        }
        spec.width = number(&mut chars);
        if chars.peek() == Some(&'.') {
            chars.next();
            spec.precision = Some(number(&mut chars).unwrap_or(0));
        }
        while matches!(chars.peek(), Some('h' | 'l' | 'z' | 'j' | 't' | 'L' | 'q')) {
            chars.next();
        }
        let Some(conv) = chars.next() else {
            out.push('%');
            break;
        };
        if conv == '%' {
            out.push('%');
            continue;
        }
        let arg = args.next();
        out.push_str(&spec.convert(conv, arg));
    }
    out
}

/// The widest field or precision honoured: `%999999999d` would otherwise allocate a gigabyte
/// for every event (found by fuzzing).
const MAX_WIDTH: usize = 4096;

fn number(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<usize> {
    let mut n: Option<usize> = None;
    while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
        n = Some(n.unwrap_or(0).saturating_mul(10).saturating_add(d as usize));
        chars.next();
    }
    n.map(|n| n.min(MAX_WIDTH))
}

#[derive(Default)]
struct Spec {
    left: bool,
    zero: bool,
    plus: bool,
    space: bool,
    alt: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

impl Spec {
    fn convert(&self, conv: char, arg: Option<&Value>) -> String {
        let Some(arg) = arg else { return String::new() };
        match conv {
            'd' | 'i' => {
                let v = signed(arg);
                let sign = if v < 0 {
                    "-"
                } else if self.plus {
                    "+"
                } else if self.space {
                    " "
                } else {
                    ""
                };
                self.number(sign, v.unsigned_abs().to_string())
            }
            'u' => self.number("", unsigned(arg).to_string()),
            'x' => {
                let v = unsigned(arg);
                self.number(if self.alt && v != 0 { "0x" } else { "" }, format!("{v:x}"))
            }
            'X' => {
                let v = unsigned(arg);
                self.number(if self.alt && v != 0 { "0X" } else { "" }, format!("{v:X}"))
            }
            'o' => {
                let v = unsigned(arg);
                self.number(if self.alt && v != 0 { "0" } else { "" }, format!("{v:o}"))
            }
            'p' => {
                let v = unsigned(arg);
                if v == 0 {
                    self.pad("(nil)".into())
                } else {
                    self.pad(format!("0x{v:x}"))
                }
            }
            'c' => self.pad(char::from(unsigned(arg) as u8).to_string()),
            // `%r` is bpftrace's conversion for buf(): printable bytes as is, others as \xNN.
            's' | 'r' => {
                let mut s = text::value(arg);
                if let Some(p) = self.precision {
                    s = s.chars().take(p).collect();
                }
                self.pad(s)
            }
            // An unknown conversion prints as written, so nothing is silently lost.
            other => format!("%{other}"),
        }
    }

    /// Precision pads digits with zeros; `0` pads to the width unless a precision is given.
    fn number(&self, prefix: &str, mut digits: String) -> String {
        if let Some(p) = self.precision {
            if p == 0 && digits == "0" {
                digits.clear();
            }
            while digits.len() < p {
                digits.insert(0, '0');
            }
        }
        let body_len = prefix.len() + digits.len();
        let width = self.width.unwrap_or(0);
        if self.zero && !self.left && self.precision.is_none() && body_len < width {
            format!("{prefix}{}{digits}", "0".repeat(width - body_len))
        } else {
            self.pad(format!("{prefix}{digits}"))
        }
    }

    fn pad(&self, s: String) -> String {
        let width = self.width.unwrap_or(0);
        let len = s.chars().count();
        if len >= width {
            s
        } else if self.left {
            format!("{s}{}", " ".repeat(width - len))
        } else {
            format!("{}{s}", " ".repeat(width - len))
        }
    }
}

fn signed(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Uint(u) => *u as i64,
        Value::Str(s) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

fn unsigned(v: &Value) -> u64 {
    match v {
        Value::Int(i) => *i as u64,
        Value::Uint(u) => *u,
        Value::Str(s) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Value {
        Value::Str(x.into())
    }

    #[test]
    fn huge_widths_are_capped() {
        // From the decode fuzz target: a 3-billion-column width must not allocate gigabytes.
        let out = format("%+3333333333s|%.999999999d", &[s("x"), Value::Int(1)]);
        assert_eq!(out.len(), MAX_WIDTH * 2 + 1);
    }

    #[test]
    fn conversions_match_c() {
        // Expected strings as printed by bpftrace 0.17 / C printf for the same arguments.
        assert_eq!(
            format(
                "hello %s %d %5d|%-4s|%x\n",
                &[
                    s("gprobe"),
                    Value::Int(-3),
                    Value::Int(42),
                    s("ab"),
                    Value::Int(255)
                ]
            ),
            "hello gprobe -3    42|ab  |ff\n"
        );
        assert_eq!(
            format(
                "%08x %X %o %%",
                &[Value::Uint(0xbeef), Value::Uint(0xbeef), Value::Uint(8)]
            ),
            "0000beef BEEF 10 %"
        );
        assert_eq!(
            format(
                "%u %i %lu %llu %ld",
                &[
                    Value::Int(-1),
                    Value::Int(7),
                    Value::Uint(1),
                    Value::Uint(2),
                    Value::Int(-9)
                ]
            ),
            "18446744073709551615 7 1 2 -9"
        );
        assert_eq!(format("%c%c", &[Value::Int(104), Value::Uint(105)]), "hi");
        assert_eq!(
            format("%p %p", &[Value::Uint(0x7fff1234), Value::Uint(0)]),
            "0x7fff1234 (nil)"
        );
        assert_eq!(
            format("[%-10s][%10s][%.2s]", &[s("go"), s("go"), s("gopher")]),
            "[go        ][        go][go]"
        );
        assert_eq!(
            format(
                "%05d %+d % d %-5d|",
                &[Value::Int(-42), Value::Int(3), Value::Int(3), Value::Int(7)]
            ),
            "-0042 +3  3 7    |"
        );
        assert_eq!(
            format("%#x %#o", &[Value::Uint(255), Value::Uint(8)]),
            "0xff 010"
        );
        assert_eq!(format("%x", &[Value::Int(-1)]), "ffffffffffffffff");
    }

    #[test]
    fn total_on_odd_formats() {
        assert_eq!(format("%d %d", &[Value::Int(1)]), "1 ");
        assert_eq!(format("trailing %", &[]), "trailing %");
        assert_eq!(format("%y", &[Value::Int(1)]), "%y");
    }
}
