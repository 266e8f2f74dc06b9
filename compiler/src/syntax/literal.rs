//! Literal folding: integers (decimal, hex, `_` separators, duration suffixes) and string escapes.

/// `123`, `0x7f`, `0775` (octal, as in C), `1_000`, `1e6`, `10ms` → the value (durations in
/// nanoseconds). `Err` explains why not.
pub fn int(text: &str) -> Result<u64, String> {
    let digits: String = text.chars().filter(|c| *c != '_').collect();
    if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        return u64::from_str_radix(hex, 16)
            .map_err(|_| "hex literal does not fit in 64 bits".into());
    }
    if let Some((mantissa, exp)) = digits.split_once(['e', 'E']) {
        let m: u64 = mantissa
            .parse()
            .map_err(|_| "integer literal does not fit in 64 bits".to_string())?;
        let e: u32 = exp.parse().map_err(|_| "exponent too large".to_string())?;
        return 10u64
            .checked_pow(e)
            .and_then(|p| m.checked_mul(p))
            .ok_or_else(|| format!("{text} does not fit in 64 bits"));
    }
    if digits.len() > 1 && digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit()) {
        return u64::from_str_radix(&digits[1..], 8).map_err(|_| {
            if digits.bytes().any(|b| b == b'8' || b == b'9') {
                "a literal starting with 0 is octal (as in C): digits 0-7 only".into()
            } else {
                "octal literal does not fit in 64 bits".into()
            }
        });
    }
    let split = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    let (number, suffix) = digits.split_at(split);
    let value: u64 = number
        .parse()
        .map_err(|_| "integer literal does not fit in 64 bits".to_string())?;
    let scale: u64 = match suffix {
        "" | "ns" => 1,
        "us" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        other => {
            return Err(format!(
                "unknown duration suffix `{other}` (use ns, us, ms or s)"
            ));
        }
    };
    value
        .checked_mul(scale)
        .ok_or_else(|| "duration does not fit in 64 bits of nanoseconds".into())
}

/// The body of a string literal (between the quotes) with escapes processed: `\n \t \r \\ \"
/// \' \0 \xHH \NNN` (octal). `Err((byte offset in text, message))` for a bad escape.
pub fn string(text: &str) -> Result<String, (usize, String)> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some((_, e)) = chars.next() else {
            return Err((at, "a string cannot end with a lone `\\`".into()));
        };
        match e {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            '\'' => out.push('\''),
            'x' => {
                let mut value = 0u32;
                let mut count = 0;
                while let Some(&(_, h)) = chars.peek() {
                    match h.to_digit(16) {
                        Some(d) if count < 2 => {
                            value = value * 16 + d;
                            count += 1;
                            chars.next();
                        }
                        _ => break,
                    }
                }
                if count == 0 {
                    return Err((at, "`\\x` needs one or two hex digits".into()));
                }
                out.push(char::from(value as u8));
            }
            '0'..='7' => {
                let mut value = e.to_digit(8).unwrap_or(0);
                let mut count = 1;
                while let Some(&(_, o)) = chars.peek() {
                    match o.to_digit(8) {
                        Some(d) if count < 3 => {
                            value = value * 8 + d;
                            count += 1;
                            chars.next();
                        }
                        _ => break,
                    }
                }
                if value > 0xff {
                    return Err((at, "octal escape above `\\377`".into()));
                }
                out.push(char::from(value as u8));
            }
            other => {
                return Err((at, format!("unknown escape `\\{}`", other.escape_debug())));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_and_durations() {
        assert_eq!(int("1_000"), Ok(1000));
        assert_eq!(int("0xff"), Ok(255));
        assert_eq!(int("10ms"), Ok(10_000_000));
        assert_eq!(int("1s"), Ok(1_000_000_000));
        assert_eq!(int("5us"), Ok(5_000));
        assert_eq!(int("10ns"), Ok(10));
        assert!(int("99999999999999999999").is_err());
        assert!(int("99999999999s").is_err());
    }

    #[test]
    fn escapes() {
        assert_eq!(string(r#"a\n\t\\\"\x41\101\0"#).unwrap(), "a\n\t\\\"AA\0");
        assert!(string(r"\q").is_err());
        assert!(string(r"\x").is_err());
    }
}
