//! Source text → [`ast::Program`]. The pest grammar lives in `grammar/gprobe.pest`; this module
//! turns its pairs into owned AST nodes with spans, applies operator precedence, folds literals
//! (durations, escapes) and decides each attach point's [`ast::ProbeKind`]. Pest types never
//! leave this module.

mod attach;
mod build;
mod cdecl;
mod literal;
pub mod perf;
pub mod preprocess;

pub use attach::unsupported_canonical;

use crate::ast;
use crate::diag::{Diagnostic, codes};
use crate::span::Span;
use pest::Parser as _;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/gprobe.pest"]
struct GrammarParser;

/// What parsing needs beyond the text: positional parameters (they may appear in attach
/// points, `BEG$1`, and `unroll($1)`), and where `#include` looks.
#[derive(Clone, Debug, Default)]
pub struct ParseOptions {
    pub positional: Vec<String>,
    /// Searched for `#include`; empty means the system's include directories.
    pub include_dirs: Vec<std::path::PathBuf>,
    /// Object-like macros defined before the program's own lines (the target's
    /// `__GO_VERSION__`, `__GO_PKG_...__`), after the predefined ones.
    pub defines: Vec<(String, String)>,
}

/// Parses a whole program. Syntax errors stop at the first one (pest has no recovery); errors
/// found while building the tree (bad literals, bad attach points) are all reported.
pub fn parse(source: &str) -> Result<ast::Program, Vec<Diagnostic>> {
    parse_with(source, &ParseOptions::default())
}

/// [`parse`] with positional parameters and include directories.
pub fn parse_with(source: &str, options: &ParseOptions) -> Result<ast::Program, Vec<Diagnostic>> {
    let pre = preprocess::preprocess(source, &options.include_dirs, &options.defines)?;
    let source = pre.text.as_str();
    if let Some(d) = too_deep(source) {
        return Err(vec![d]);
    }
    let mut pairs = match GrammarParser::parse(Rule::program, source) {
        Ok(pairs) => pairs,
        Err(error) => return Err(vec![syntax_error(source, error)]),
    };
    let Some(program) = pairs.next() else {
        return Err(vec![Diagnostic::error(codes::SYNTAX, "empty parse")]);
    };
    let mut builder = build::Builder::new(std::rc::Rc::new(pre.macros), options.positional.clone());
    let program = builder.program(program);
    if builder.errors.is_empty() {
        Ok(program)
    } else {
        Err(builder.errors)
    }
}

/// Nesting beyond these limits is refused before parsing: the parser and every later phase
/// recurse on nesting, and no real program comes close.
const MAX_NESTING: usize = 64;
const MAX_PREFIXES: usize = 64;

fn too_deep(source: &str) -> Option<Diagnostic> {
    let bytes = source.as_bytes();
    let (mut depth, mut prefixes, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        let c = bytes[i];
        let next = bytes.get(i + 1).copied();
        match c {
            // Skip comments and strings: their contents do not nest.
            b'/' if next == Some(b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if next == Some(b'*') => {
                i += 2;
                while i < bytes.len() && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i += 2;
                continue;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                continue;
            }
            b'(' | b'[' | b'{' | b'?' => depth += 1,
            b')' | b']' | b'}' | b':' => depth = depth.saturating_sub(1),
            _ => {}
        }
        // Runs of prefix operators (`- - - x`, `!!!!x`) nest too.
        prefixes = match c {
            b'-' | b'!' | b'~' | b'*' => prefixes + 1,
            b' ' | b'\t' | b'\n' | b'\r' => prefixes,
            _ => 0,
        };
        if depth > MAX_NESTING || prefixes > MAX_PREFIXES {
            let start = (0..=i)
                .rev()
                .find(|&s| source.is_char_boundary(s))
                .unwrap_or(0);
            let end = (i + 1..=source.len())
                .find(|&e| source.is_char_boundary(e))
                .unwrap_or(source.len());
            return Some(
                Diagnostic::error(
                    codes::SYNTAX,
                    format!("the program nests more than {MAX_NESTING} levels deep"),
                )
                .primary(Span::new(start, end), "too deep here")
                .help("split deeply nested expressions using variables"),
            );
        }
        i += 1;
    }
    None
}

/// A positional parameter's text as an integer (`42`, `-1`, `0x10`), if it is one.
pub fn int_literal(text: &str) -> Option<u64> {
    match text.strip_prefix('-') {
        Some(rest) => literal::int(rest)
            .ok()
            .filter(|v| *v <= i64::MAX as u64)
            .map(|v| (v as i64).wrapping_neg() as u64),
        None => literal::int(text).ok(),
    }
}

fn syntax_error(source: &str, error: pest::error::Error<Rule>) -> Diagnostic {
    let span = match error.location {
        pest::error::InputLocation::Pos(pos) => {
            // Underline the character (or token) where parsing stopped.
            let end = source[pos..]
                .chars()
                .next()
                .map_or(pos, |c| pos + c.len_utf8());
            Span::new(pos, end)
        }
        pest::error::InputLocation::Span((start, end)) => Span::new(start, end),
    };
    let found = source[span.range()].chars().next();
    let (message, label) = match &error.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            let mut wanted: Vec<&str> = positives.iter().filter_map(|r| rule_name(*r)).collect();
            wanted.sort();
            wanted.dedup();
            let expected = match wanted.as_slice() {
                [] => "something else".to_string(),
                [one] => one.to_string(),
                [init @ .., last] => format!("{} or {}", init.join(", "), last),
            };
            let found = match found {
                None => "end of input".to_string(),
                Some(c) => format!("`{}`", c.escape_debug()),
            };
            (
                format!("syntax error: expected {expected}, found {found}"),
                format!("expected {expected}"),
            )
        }
        pest::error::ErrorVariant::CustomError { message } => (message.clone(), message.clone()),
    };
    let mut diagnostic = Diagnostic::error(codes::SYNTAX, message).primary(span, label);
    let positives: &[Rule] = match &error.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => positives,
        pest::error::ErrorVariant::CustomError { .. } => &[],
    };
    let line_start = source[..span.start as usize]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let line_before = &source[line_start..span.start as usize];
    if let (Some(open), close) = (source.rfind("/*"), source.rfind("*/"))
        && close.is_none_or(|close| close < open)
    {
        diagnostic =
            diagnostic.secondary(Span::new(open, open + 2), "this comment is never closed");
    } else if line_before.trim_start().starts_with("#!") {
        diagnostic = diagnostic.note(
            "a `#!` line (shebang) is skipped only as the file's first bytes, with nothing before it",
        );
    } else if line_before.matches('"').count() % 2 == 1
        || found == Some('"') && !source[span.start as usize + 1..].contains('"')
    {
        diagnostic =
            diagnostic.note("a string may be unterminated: strings end with `\"` on the same line");
    } else if positives.contains(&Rule::predicate) && line_before.contains('/') {
        diagnostic = diagnostic
            .note("a predicate must be separated from the attach point by a space: `uprobe:./srv:main.f /pid == 1/ { }`");
    } else if let Some(note) = c_member_hint(positives, line_before) {
        diagnostic = diagnostic.note(note);
    } else if (positives.contains(&Rule::c_attr) || positives.contains(&Rule::kw_attribute))
        && ["struct", "union", "enum"]
            .iter()
            .any(|k| line_before.trim_start().starts_with(k))
        && found != Some('{')
    {
        diagnostic = diagnostic.note(
            "a C definition lists its members: `struct foo { int a; };` (a declaration alone is not needed: a pointer to a struct defined nowhere in the program is the kernel's, from BTF)",
        );
    } else if positives.contains(&Rule::attach_offset) {
        diagnostic = diagnostic
            .note("statements belong inside a probe block, e.g. `BEGIN { printf(\"hi\\n\"); }`");
    } else if positives.contains(&Rule::add)
        && found.is_some_and(|c| c == '@' || c == '$' || c.is_alphabetic())
    {
        diagnostic = diagnostic.help("separate statements with `;`");
    }
    diagnostic
}

/// In a C member, `strct bar *p;` reads as type `strct` and member `bar`, then stops: say so,
/// since the misspelt type is the likelier mistake.
fn c_member_hint(positives: &[Rule], line_before: &str) -> Option<String> {
    if !positives.contains(&Rule::c_semi) {
        return None;
    }
    let member = line_before.rsplit([';', '{']).next()?.trim();
    let words: Vec<&str> = member.split_whitespace().collect();
    let [ty, name] = words.as_slice() else {
        return None;
    };
    let keyword = |w: &str| {
        crate::ctypes::is_base_word(w)
            || matches!(w, "struct" | "union" | "enum" | "const" | "volatile")
    };
    if keyword(ty) || keyword(name) || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return None;
    }
    Some(format!(
        "`{ty} {name}` reads as member `{name}` of type `{ty}`: is `{ty}` a misspelt type? (a type is one name, `struct NAME`, `union NAME`, `enum NAME` or C words like `unsigned long`)"
    ))
}

/// A human name for the rules a user could have meant; `None` hides internal rules.
fn rule_name(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "end of input",
        Rule::probe | Rule::attach_list | Rule::attach | Rule::attach_part | Rule::bare_part => {
            "a probe (e.g. `BEGIN` or `uprobe:./bin:main.f`)"
        }
        Rule::quoted_part => "a quoted name",
        Rule::attach_offset => "`+offset`",
        Rule::predicate => "a predicate `/.../`",
        Rule::block => "`{`",
        Rule::if_stmt | Rule::kw_if => "`if`",
        Rule::kw_else => "`else`",
        Rule::unroll_stmt | Rule::while_stmt | Rule::return_stmt => "a statement",
        Rule::map_assign
        | Rule::var_assign
        | Rule::map_incdec
        | Rule::var_incdec
        | Rule::expr_stmt => "a statement",
        Rule::assign_op => "an assignment operator",
        Rule::incdec_op => "`++`, `--`",
        Rule::expr | Rule::binary | Rule::unary | Rule::postfix_expr | Rule::prefix => {
            "an expression"
        }
        Rule::int_lit | Rule::hex_lit | Rule::dec_lit => "an integer",
        Rule::string => "a string",
        Rule::ident | Rule::ident_expr | Rule::call => "an identifier",
        Rule::var | Rule::positional | Rule::positional_count => "a variable",
        Rule::map_ref => "a map",
        Rule::map_keys => "`[`",
        Rule::postfix | Rule::field_dot | Rule::field_arrow | Rule::index => "`.`, `->` or `[`",
        Rule::field_name => "a field name",
        Rule::or
        | Rule::and
        | Rule::bit_or
        | Rule::bit_xor
        | Rule::bit_and
        | Rule::eq
        | Rule::ne
        | Rule::le
        | Rule::ge
        | Rule::shl
        | Rule::shr
        | Rule::lt
        | Rule::gt
        | Rule::add
        | Rule::sub
        | Rule::mul
        | Rule::div
        | Rule::rem => "an operator",
        Rule::type_name | Rule::int_type | Rule::struct_type => "a type",
        Rule::c_def | Rule::c_record | Rule::c_enum | Rule::c_typedef => "a C definition",
        Rule::c_member
        | Rule::c_spec
        | Rule::c_base
        | Rule::c_base_word
        | Rule::c_type_ident
        | Rule::c_tagged => "a member type",
        Rule::c_declarator | Rule::c_func_ptr => "a member name",
        Rule::c_pointer => "`*`",
        Rule::c_array => "`[`",
        Rule::c_bits => "`:` (a bit-field)",
        Rule::c_semi => "`;`",
        Rule::c_enumerator => "an enumerator",
        Rule::c_attr | Rule::kw_attribute => "`__attribute__`",
        Rule::record_field => "`name = value`",
        Rule::parens | Rule::record | Rule::cast => "`(`",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_minimal_program() {
        let program = parse("BEGIN { printf(\"hi\\n\"); exit(); }").unwrap();
        assert_eq!(program.probes.len(), 1);
        assert_eq!(program.probes[0].body.stmts.len(), 2);
    }

    #[test]
    fn reports_syntax_error_with_span() {
        let errors = parse("BEGIN { @x = ; }").unwrap_err();
        assert_eq!(errors[0].code, codes::SYNTAX);
        assert_eq!(errors[0].labels[0].span, Span::new(13, 14));
    }
}
