//! `pton("...")`: an address literal parsed when the program is compiled, as bpftrace does
//! (inet_pton: a text with a `.` is IPv4, else one with a `:` is IPv6).

use super::*;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The bytes of an address literal in network order, or why it is not one.
pub fn pton_bytes(text: &str) -> Result<Vec<u8>, &'static str> {
    if text.contains('.') {
        text.parse::<Ipv4Addr>()
            .map(|a| a.octets().to_vec())
            .map_err(|_| "not a valid IPv4 address")
    } else if text.contains(':') {
        text.parse::<Ipv6Addr>()
            .map(|a| a.octets().to_vec())
            .map_err(|_| "not a valid IPv6 address")
    } else {
        Err("neither an IPv4 (`a.b.c.d`) nor an IPv6 (`x:y::z`) address")
    }
}

impl<'a> Checker<'a> {
    /// The type of `pton(arg)`: `u8[4]` or `u8[16]`.
    pub(super) fn pton(&mut self, arg: &Expr) -> Type {
        let ExprKind::Str(text) = &arg.kind else {
            // The table's StrLiteral check reported it.
            return Type::Unknown;
        };
        match pton_bytes(text) {
            Ok(bytes) => Type::Bytes {
                len: bytes.len() as u32,
            },
            Err(why) => {
                let mut d = Diagnostic::error(
                    codes::BAD_ADDRESS,
                    format!("`pton` needs an IPv4 or IPv6 address, not \"{text}\""),
                )
                .primary(arg.span, why);
                if text.contains('.') && text.contains(':') {
                    // inet_pton's rule, as bpftrace: a `.` makes it IPv4.
                    d = d.note("a text with a `.` is read as IPv4, so IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) are not accepted, as in bpftrace");
                }
                self.error(d.help("e.g. pton(\"127.0.0.1\") or pton(\"::1\")"));
                Type::Unknown
            }
        }
    }
}
