//! `printf` format strings: parsed once here, checked against the arguments by the checker, and
//! reused by whoever formats the output.

/// One piece of a format string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// Text printed as is (`%%` already turned into `%`).
    Text(String),
    Conversion(Conversion),
}

/// `%-10lld`: flags `-`, width 10, length `ll`, conversion `d`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conversion {
    pub flags: String,
    pub width: Option<u32>,
    pub precision: Option<u32>,
    /// `h`, `hh`, `l`, `ll`, `z`, `j` or empty; accepted and ignored (values are 64-bit).
    pub length: String,
    /// One of `d i u x X o c s p r`.
    pub conversion: char,
    /// Byte offset of the `%` in the format.
    pub offset: usize,
}

/// What a conversion accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accepts {
    Integer,
    /// `%s`: strings, and anything else printable (stacks, symbols, integers).
    Text,
    /// `%r`: raw buffers and strings.
    Buffer,
    Pointer,
}

impl Conversion {
    pub fn accepts(&self) -> Accepts {
        match self.conversion {
            's' => Accepts::Text,
            'r' => Accepts::Buffer,
            'p' => Accepts::Pointer,
            _ => Accepts::Integer,
        }
    }
}

/// Parses a format; `Err((offset, message))` for an incomplete or unknown conversion.
pub fn parse(format: &str) -> Result<Vec<Piece>, (usize, String)> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let bytes: Vec<char> = format.chars().collect();
    let mut offsets = Vec::with_capacity(bytes.len());
    let mut at = 0;
    for c in &bytes {
        offsets.push(at);
        at += c.len_utf8();
    }
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != '%' {
            text.push(bytes[i]);
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        if bytes.get(i) == Some(&'%') {
            text.push('%');
            i += 1;
            continue;
        }
        let mut flags = String::new();
        while let Some(c @ ('-' | '+' | ' ' | '#' | '0')) = bytes.get(i) {
            flags.push(*c);
            i += 1;
        }
        let number = |i: &mut usize| {
            let mut n: Option<u32> = None;
            while let Some(d) = bytes.get(*i).and_then(|c| c.to_digit(10)) {
                n = Some(n.unwrap_or(0).saturating_mul(10).saturating_add(d));
                *i += 1;
            }
            n
        };
        let width = number(&mut i);
        let precision = if bytes.get(i) == Some(&'.') {
            i += 1;
            Some(number(&mut i).unwrap_or(0))
        } else {
            None
        };
        let mut length = String::new();
        while let Some(c @ ('h' | 'l' | 'z' | 'j')) = bytes.get(i) {
            length.push(*c);
            i += 1;
        }
        let Some(&conversion) = bytes.get(i) else {
            return Err((
                offsets[start],
                "incomplete conversion at the end of the format".into(),
            ));
        };
        if !"diuxXocspr".contains(conversion) {
            return Err((
                offsets[start],
                format!("unknown conversion `%{}`", conversion.escape_debug()),
            ));
        }
        i += 1;
        if !text.is_empty() {
            pieces.push(Piece::Text(std::mem::take(&mut text)));
        }
        pieces.push(Piece::Conversion(Conversion {
            flags,
            width,
            precision,
            length,
            conversion,
            offset: offsets[start],
        }));
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

/// The conversions of a parsed format, in order.
pub fn conversions(pieces: &[Piece]) -> impl Iterator<Item = &Conversion> {
    pieces.iter().filter_map(|p| match p {
        Piece::Conversion(c) => Some(c),
        Piece::Text(_) => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_conversions() {
        let pieces = parse("pid %-6d comm %16s 100%% %llx\n").unwrap();
        let convs: Vec<char> = conversions(&pieces).map(|c| c.conversion).collect();
        assert_eq!(convs, ['d', 's', 'x']);
        assert_eq!(pieces[0], Piece::Text("pid ".into()));
        assert!(matches!(&pieces[1], Piece::Conversion(c) if c.flags == "-" && c.width == Some(6)));
        assert_eq!(pieces[4], Piece::Text(" 100% ".into()));
    }

    #[test]
    fn rejects_bad_conversions() {
        assert_eq!(parse("%q").unwrap_err().0, 0);
        assert!(parse("abc %").is_err());
        assert!(parse("%5").is_err());
    }
}
