//! SQL statements normalized for `sqlnorm()`: literals replaced by `?`, so one statement shape
//! is one map key whatever values it was written with (`WHERE id = 7` and `WHERE id = 8`), as
//! PostgreSQL's pg_stat_statements keys its statistics. Placeholders (`$1`, `?`, `:name`),
//! identifiers (quoted or not) and keywords stay; comments go; runs of white space become one
//! space.

/// `statement` with its string and number literals replaced by `?`.
pub fn normalize(statement: &str) -> String {
    let chars: Vec<char> = statement.chars().collect();
    let mut out = String::with_capacity(statement.len());
    let mut i = 0;
    // Whether the last character written continues a word (identifier, keyword, `$1`), so a
    // digit after it is part of that word rather than a number.
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    let mut space = false;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            space = true;
            i += 1;
            continue;
        }
        // `--` comments run to the end of the line, `/* */` ones to their end.
        if c == '-' && chars.get(i + 1) == Some(&'-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            space = true;
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i += 2;
            space = true;
            continue;
        }
        if space && !out.is_empty() {
            out.push(' ');
        }
        space = false;
        let after_word = out.chars().next_back().is_some_and(word);
        match c {
            // A string literal ('' inside is a quote); E'..', B'..', X'..', N'..' prefixes are
            // words just written: drop them with the literal.
            '\'' => {
                if after_word {
                    let prefix = out.chars().next_back().map(|p| p.to_ascii_uppercase());
                    let before = out.chars().rev().nth(1);
                    if matches!(prefix, Some('E' | 'B' | 'X' | 'N')) && !before.is_some_and(word) {
                        out.pop();
                    }
                }
                i += 1;
                while i < chars.len() {
                    if chars[i] == '\'' {
                        if chars.get(i + 1) == Some(&'\'') {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                out.push('?');
            }
            // A quoted identifier, kept as written.
            '"' | '`' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&d| d == c)
                    .map_or(chars.len(), |p| i + 1 + p + 1);
                out.extend(&chars[i..end.min(chars.len())]);
                i = end;
            }
            // A number (`7`, `3.5`, `1e-3`, `0x1F`, `.5`) that does not continue a word.
            _ if !after_word
                && (c.is_ascii_digit()
                    || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))) =>
            {
                let start = i;
                i += 1;
                while i < chars.len() {
                    let d = chars[i];
                    // `1e-3`'s sign, but not after a hex number's `e` (`0x1e - 2`).
                    let exponent_sign = (d == '+' || d == '-')
                        && matches!(chars[i - 1], 'e' | 'E')
                        && !chars[start..i].iter().any(|&x| x == 'x' || x == 'X');
                    if d.is_ascii_alphanumeric() || d == '.' || d == '_' || exponent_sign {
                        i += 1;
                    } else {
                        break;
                    }
                }
                out.push('?');
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn literals_become_placeholders() {
        assert_eq!(
            normalize("SELECT name FROM items WHERE id = 7"),
            "SELECT name FROM items WHERE id = ?"
        );
        assert_eq!(
            normalize("INSERT INTO items (id, name) VALUES (12, 'it''s 12')"),
            "INSERT INTO items (id, name) VALUES (?, ?)"
        );
        assert_eq!(
            normalize("select * from t where x > 3.5e-2 and y = -0x1F and z = E'a\\'b'"),
            "select * from t where x > ? and y = -? and z = ?"
        );
    }

    #[test]
    fn identifiers_placeholders_and_spaces() {
        assert_eq!(
            normalize("UPDATE  t2\n SET \"col 1\" = $1 WHERE id = $2 -- why\n"),
            "UPDATE t2 SET \"col 1\" = $1 WHERE id = $2"
        );
        assert_eq!(
            normalize("SELECT a1 /* hint */ FROM t WHERE b = ? LIMIT 10"),
            "SELECT a1 FROM t WHERE b = ? LIMIT ?"
        );
        assert_eq!(normalize("SELECT pg_sleep(0.05)"), "SELECT pg_sleep(?)");
    }
}
