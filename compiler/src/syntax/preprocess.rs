//! The C preprocessor lines bpftrace programs use: `#include`, `#define` (object-like and
//! function-like), `#undef`, `#if`/`#ifdef`/`#ifndef`/`#elif`/`#else`/`#endif`.
//!
//! Directive lines and the lines of inactive branches are blanked in place (every byte but the
//! newlines becomes a space), so every span the parser makes still points into the user's
//! text. Macros are expanded later, by the tree builder, where an identifier or a call names
//! one: its body is parsed as an expression whose nodes carry the span of the use.
//!
//! `BPFTRACE_HAVE_BTF` is defined, as bpftrace defines it on a kernel with BTF, so the tools'
//! `#ifndef BPFTRACE_HAVE_BTF` blocks of hand-written kernel structs drop out; gprobe reads
//! kernel types from BTF. An `#include <...>` is searched in the include directories (system
//! headers, then `-I`); from the headers it finds only object-like macros are taken (`AF_INET`),
//! because kernel and C types come from BTF and the program's own definitions. A header that is
//! not there is skipped: with BTF, the kernel headers tools include are not needed. The few
//! macros tools take from kernel-internal headers, which a machine has only with the kernel's
//! build tree (and BTF holds no macros), come from [`KERNEL_HEADER_MACROS`].

use crate::diag::{Diagnostic, codes};
use crate::span::Span;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Macros defined on every run.
pub const PREDEFINED: &[(&str, &str)] = &[("BPFTRACE_HAVE_BTF", "1"), ("__GPROBE__", "1")];

/// Macros of kernel-internal headers that the installed uapi header of the same name lacks:
/// `#include <linux/sched.h>` finds /usr/include/linux/sched.h, which has no task states, so
/// runqlat.bt's `TASK_RUNNING` would be unknown. Values of include/linux/sched.h since 5.14
/// (the states below `TASK_NEW` have not moved since 4.14). A program's own `#define` and a
/// found header's definitions win.
pub const KERNEL_HEADER_MACROS: &[(&str, &[(&str, &str)])] = &[(
    "linux/sched.h",
    &[
        ("TASK_RUNNING", "0x00000000"),
        ("TASK_INTERRUPTIBLE", "0x00000001"),
        ("TASK_UNINTERRUPTIBLE", "0x00000002"),
        ("__TASK_STOPPED", "0x00000004"),
        ("__TASK_TRACED", "0x00000008"),
        ("EXIT_DEAD", "0x00000010"),
        ("EXIT_ZOMBIE", "0x00000020"),
        ("TASK_PARKED", "0x00000040"),
        ("TASK_DEAD", "0x00000080"),
        ("TASK_WAKEKILL", "0x00000100"),
        ("TASK_WAKING", "0x00000200"),
        ("TASK_NOLOAD", "0x00000400"),
        ("TASK_NEW", "0x00000800"),
        ("TASK_KILLABLE", "(TASK_WAKEKILL | TASK_UNINTERRUPTIBLE)"),
        ("TASK_STOPPED", "(TASK_WAKEKILL | __TASK_STOPPED)"),
        ("TASK_TRACED", "__TASK_TRACED"),
        ("TASK_IDLE", "(TASK_UNINTERRUPTIBLE | TASK_NOLOAD)"),
        ("TASK_NORMAL", "(TASK_INTERRUPTIBLE | TASK_UNINTERRUPTIBLE)"),
    ],
)];

/// Where `#include <...>` looks when the caller gives no directories of its own.
pub const SYSTEM_INCLUDE_DIRS: &[&str] = &[
    "/usr/local/include",
    "/usr/include/x86_64-linux-gnu",
    "/usr/include",
];

/// How deep headers may include headers before the rest is ignored.
const MAX_INCLUDE_DEPTH: usize = 16;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Macro {
    /// `None` for an object-like macro, the parameter names for a function-like one.
    pub params: Option<Vec<String>>,
    pub body: String,
    /// Where it was defined; `None` when it came from a header or is predefined.
    pub defined_at: Option<Span>,
}

#[derive(Clone, Debug, Default)]
pub struct Macros {
    map: HashMap<String, Macro>,
}

impl Macros {
    pub fn get(&self, name: &str) -> Option<&Macro> {
        self.map.get(name)
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    fn defined(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }
}

pub struct Preprocessed {
    /// The source with directive lines and inactive branches blanked; same length, same lines.
    pub text: String,
    pub macros: Macros,
}

/// Runs the directives of `source`. `include_dirs` are searched for `#include <...>` (after
/// the directory of nothing: a program has no file of its own here, so `"..."` is searched in
/// the same directories).
pub fn preprocess(
    source: &str,
    include_dirs: &[PathBuf],
    defines: &[(String, String)],
) -> Result<Preprocessed, Vec<Diagnostic>> {
    let mut macros = Macros::default();
    let defines = defines.iter().map(|(n, b)| (n.as_str(), b.as_str()));
    for (name, body) in PREDEFINED.iter().copied().chain(defines) {
        macros.map.insert(
            name.to_string(),
            Macro {
                params: None,
                body: body.to_string(),
                defined_at: None,
            },
        );
    }
    // Fast path: nothing to do for a program without directives.
    if !source.lines().any(|l| l.trim_start().starts_with('#')) {
        return Ok(Preprocessed {
            text: source.to_string(),
            macros,
        });
    }
    let mut text = source.as_bytes().to_vec();
    let mut errors = Vec::new();
    // One entry per open `#if`: (this branch is active, an earlier branch was taken, where
    // it opened, `#else` seen).
    let mut stack: Vec<Cond> = Vec::new();
    let mut in_comment = false;
    for line in lines_of(source) {
        let active = stack.iter().all(|c| c.active);
        let trimmed = line.text.trim_start();
        let starts_directive = !in_comment
            && trimmed.starts_with('#')
            // `#!` is the grammar's: a comment as the first line, an error anywhere else.
            && !trimmed.starts_with("#!");
        if !starts_directive {
            if !active {
                blank(&mut text, line.start, line.end);
            }
            in_comment = comment_state_after(line.text, in_comment);
            continue;
        }
        blank(&mut text, line.start, line.end);
        let hash = line.start + (line.text.len() - trimmed.len());
        let directive = trimmed[1..].trim_start();
        let name_len = directive
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .unwrap_or(directive.len());
        let (name, rest) = directive.split_at(name_len);
        let rest = strip_comment(rest);
        let rest = rest.trim();
        let span = Span::new(hash, line.end_of_text);
        match name {
            "ifdef" | "ifndef" => {
                let Some(id) = ident_at_start(rest) else {
                    errors.push(bad_directive(span, format!("`#{name}` needs a macro name")));
                    stack.push(Cond::new(false, span));
                    continue;
                };
                let is_defined = macros.defined(id);
                stack.push(Cond::new(is_defined == (name == "ifdef"), span));
            }
            "if" => {
                let value = if active {
                    match eval_condition(rest, &macros) {
                        Ok(v) => v != 0,
                        Err(message) => {
                            errors.push(bad_directive(span, message));
                            false
                        }
                    }
                } else {
                    false
                };
                stack.push(Cond::new(value, span));
            }
            "elif" => {
                let outer_active = stack.len() < 2 || stack[..stack.len() - 1].iter().all(|c| c.active);
                let Some(top) = stack.last_mut() else {
                    errors.push(bad_directive(span, "`#elif` without `#if`".into()));
                    continue;
                };
                if top.taken || !outer_active {
                    top.active = false;
                } else {
                    match eval_condition(rest, &macros) {
                        Ok(v) => {
                            top.active = v != 0;
                            top.taken |= top.active;
                        }
                        Err(message) => {
                            errors.push(bad_directive(span, message));
                            top.active = false;
                        }
                    }
                }
            }
            "else" => {
                let Some(top) = stack.last_mut() else {
                    errors.push(bad_directive(span, "`#else` without `#if`".into()));
                    continue;
                };
                if top.seen_else {
                    errors.push(bad_directive(span, "a second `#else` for one `#if`".into()));
                }
                top.seen_else = true;
                top.active = !top.taken;
                top.taken = true;
            }
            "endif" => {
                if stack.pop().is_none() {
                    errors.push(bad_directive(span, "`#endif` without `#if`".into()));
                }
            }
            _ if !active => {}
            "define" => match parse_define(rest) {
                Ok((id, mut m)) => {
                    m.defined_at = Some(span);
                    macros.map.insert(id, m);
                }
                Err(message) => errors.push(bad_directive(span, message)),
            },
            "undef" => match ident_at_start(rest) {
                Some(id) => {
                    macros.map.remove(id);
                }
                None => errors.push(bad_directive(span, "`#undef` needs a macro name".into())),
            },
            "include" => match include_name(rest) {
                Some(file) => {
                    let dirs: Vec<PathBuf> = if include_dirs.is_empty() {
                        SYSTEM_INCLUDE_DIRS.iter().map(PathBuf::from).collect()
                    } else {
                        include_dirs.to_vec()
                    };
                    if let Some(path) = find_header(file, &dirs, None) {
                        harvest_header(&path, &dirs, &mut macros, 0, &mut Vec::new());
                    }
                    for (header, defs) in KERNEL_HEADER_MACROS {
                        if *header == file {
                            for (id, body) in *defs {
                                if !macros.defined(id) {
                                    macros.map.insert(
                                        id.to_string(),
                                        Macro {
                                            params: None,
                                            body: body.to_string(),
                                            defined_at: None,
                                        },
                                    );
                                }
                            }
                        }
                    }
                }
                None => errors.push(
                    bad_directive(span, "`#include` needs `<file>` or `\"file\"`".into())
                        .help("e.g. `#include <linux/sched.h>`"),
                ),
            },
            "pragma" | "error" | "warning" | "line" => {
                if name == "error" {
                    errors.push(
                        Diagnostic::error(codes::PREPROCESSOR, format!("#error {rest}"))
                            .primary(span, "this `#error` is active"),
                    );
                }
            }
            "" => {} // A lone `#` is a null directive in C.
            other => errors.push(
                bad_directive(span, format!("unknown preprocessor directive `#{other}`"))
                    .help("gprobe knows #include, #define, #undef, #if, #ifdef, #ifndef, #elif, #else, #endif"),
            ),
        }
    }
    for open in &stack {
        errors.push(
            Diagnostic::error(codes::PREPROCESSOR, "this conditional has no `#endif`")
                .primary(open.opened, "opened here"),
        );
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // Only ASCII spaces replaced whole lines of valid UTF-8 (newlines kept), so this holds.
    let text = String::from_utf8(text).unwrap_or_else(|_| source.to_string());
    Ok(Preprocessed { text, macros })
}

struct Cond {
    active: bool,
    taken: bool,
    seen_else: bool,
    opened: Span,
}

impl Cond {
    fn new(active: bool, opened: Span) -> Cond {
        Cond {
            active,
            taken: active,
            seen_else: false,
            opened,
        }
    }
}

fn bad_directive(span: Span, message: String) -> Diagnostic {
    Diagnostic::error(codes::PREPROCESSOR, message).primary(span, "in this directive")
}

/// A logical line: physical lines joined by a trailing `\`.
struct Line<'a> {
    start: usize,
    /// Past the last byte, before the newline.
    end: usize,
    end_of_text: usize,
    text: &'a str,
}

fn lines_of(source: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = source.as_bytes();
    while start < source.len() {
        let mut end = start;
        loop {
            let nl = source[end..].find('\n').map_or(source.len(), |i| end + i);
            let continued = nl > start && bytes[nl - 1] == b'\\' && nl < source.len();
            end = nl;
            if !continued {
                break;
            }
            end += 1;
        }
        let text = &source[start..end];
        let end_of_text = start + text.trim_end().len();
        out.push(Line {
            start,
            end,
            end_of_text: end_of_text.max(start + 1).min(end.max(start + 1)),
            text,
        });
        start = end + 1;
    }
    out
}

/// Spaces over `[start, end)`, newlines kept. Multi-byte characters become spaces byte by byte,
/// which keeps the text UTF-8 (a whole character is always replaced).
fn blank(text: &mut [u8], start: usize, end: usize) {
    let end = end.min(text.len());
    for b in &mut text[start..end] {
        if *b != b'\n' {
            *b = b' ';
        }
    }
}

/// Whether a `/* ... */` comment is still open after `line`, given whether one was before it.
fn comment_state_after(line: &str, mut in_comment: bool) -> bool {
    let bytes = line.as_bytes();
    let mut i = 0;
    let mut in_string = false;
    while i < bytes.len() {
        let (c, next) = (bytes[i], bytes.get(i + 1).copied());
        if in_comment {
            if c == b'*' && next == Some(b'/') {
                in_comment = false;
                i += 1;
            }
        } else if in_string {
            if c == b'\\' {
                i += 1;
            } else if c == b'"' {
                in_string = false;
            }
        } else if c == b'"' {
            in_string = true;
        } else if c == b'/' && next == Some(b'/') {
            break;
        } else if c == b'/' && next == Some(b'*') {
            in_comment = true;
            i += 1;
        }
        i += 1;
    }
    in_comment
}

/// A directive's text without a trailing `//` or `/* */` comment.
fn strip_comment(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('/') {
        let after = &rest[i..];
        if after.starts_with("//") {
            out.push_str(&rest[..i]);
            return out;
        }
        if after.starts_with("/*") {
            out.push_str(&rest[..i]);
            out.push(' ');
            rest = after.find("*/").map_or("", |j| &after[j + 2..]);
            continue;
        }
        out.push_str(&rest[..=i]);
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
    out.replace("\\\n", " ")
}

fn ident_at_start(text: &str) -> Option<&str> {
    let end = text
        .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .unwrap_or(text.len());
    let id = &text[..end];
    (!id.is_empty() && !id.starts_with(|c: char| c.is_ascii_digit())).then_some(id)
}

/// `NAME body` or `NAME(a, b) body` (no space before the `(`, as in C).
fn parse_define(rest: &str) -> Result<(String, Macro), String> {
    let id = ident_at_start(rest).ok_or("`#define` needs a macro name")?;
    let after = &rest[id.len()..];
    let (params, body) = if let Some(list) = after.strip_prefix('(') {
        let close = list
            .find(')')
            .ok_or("a function-like macro's parameters need a `)`")?;
        let names: Vec<String> = list[..close]
            .split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect();
        if let Some(bad) = names.iter().find(|n| ident_at_start(n) != Some(n.as_str())) {
            return Err(format!("`{bad}` is not a parameter name"));
        }
        (Some(names), list[close + 1..].trim())
    } else {
        (None, after.trim())
    };
    Ok((
        id.to_string(),
        Macro {
            params,
            body: body.to_string(),
            defined_at: None,
        },
    ))
}

fn include_name(rest: &str) -> Option<&str> {
    let rest = rest.trim();
    let (open, close) = match rest.chars().next()? {
        '<' => ('<', '>'),
        '"' => ('"', '"'),
        _ => return None,
    };
    let inner = rest.strip_prefix(open)?;
    let end = inner.find(close)?;
    (end > 0).then(|| &inner[..end])
}

fn find_header(name: &str, dirs: &[PathBuf], from: Option<&Path>) -> Option<PathBuf> {
    if name.contains("..") {
        return None;
    }
    from.into_iter()
        .map(Path::to_path_buf)
        .chain(dirs.iter().cloned())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Object-like macros of a header and what it includes. Conditionals in system headers are
/// not evaluated (that needs the whole of C's predefined macros); the first definition of a
/// name wins and a program's own `#define` always does, which is right for the constants
/// (`AF_INET`, `O_RDONLY`) programs take from headers.
fn harvest_header(
    path: &Path,
    dirs: &[PathBuf],
    macros: &mut Macros,
    depth: usize,
    seen: &mut Vec<PathBuf>,
) {
    if depth > MAX_INCLUDE_DEPTH || seen.iter().any(|p| p == path) {
        return;
    }
    seen.push(path.to_path_buf());
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    let here = path.parent();
    for line in lines_of(&text) {
        let trimmed = line.text.trim_start();
        let Some(directive) = trimmed.strip_prefix('#') else {
            continue;
        };
        let directive = directive.trim_start();
        if let Some(rest) = directive.strip_prefix("define") {
            let rest = strip_comment(rest);
            if let Ok((id, m)) = parse_define(rest.trim())
                && m.params.is_none()
                && !m.body.is_empty()
                && !macros.defined(&id)
                && !id.starts_with("__")
            {
                macros.map.insert(id, m);
            }
        } else if let Some(rest) = directive.strip_prefix("include")
            && let Some(name) = include_name(rest)
            && let Some(next) = find_header(name, dirs, here)
        {
            harvest_header(&next, dirs, macros, depth + 1, seen);
        }
    }
}

/// Evaluates an `#if` condition: integers, `defined(X)`/`defined X`, macros (expanded; an
/// unknown name is 0, as in C), and C's integer operators.
fn eval_condition(text: &str, macros: &Macros) -> Result<i64, String> {
    let tokens = tokenize(text)?;
    let tokens = expand_for_if(tokens, macros, 0)?;
    let mut p = CondParser { tokens, at: 0 };
    let v = p.ternary()?;
    if p.at != p.tokens.len() {
        return Err(format!(
            "unexpected `{}` in the condition",
            p.tokens[p.at].text()
        ));
    }
    Ok(v)
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(i64),
    Id(String),
    Op(&'static str),
}

impl Tok {
    fn text(&self) -> String {
        match self {
            Tok::Num(n) => n.to_string(),
            Tok::Id(s) => s.clone(),
            Tok::Op(o) => o.to_string(),
        }
    }
}

const OPS: &[&str] = &[
    "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "(", ")", "!", "~", "-", "+", "*", "/", "%",
    "<", ">", "&", "^", "|", "?", ":", ",",
];

fn tokenize(text: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let c = rest.chars().next().unwrap_or(' ');
        if c.is_whitespace() {
            rest = rest.trim_start();
            continue;
        }
        if c.is_ascii_digit() {
            let end = rest
                .find(|c: char| !c.is_ascii_alphanumeric())
                .unwrap_or(rest.len());
            let lit = rest[..end].trim_end_matches(['u', 'U', 'l', 'L']);
            let value =
                if let Some(hex) = lit.strip_prefix("0x").or_else(|| lit.strip_prefix("0X")) {
                    i64::from_str_radix(hex, 16)
                } else if lit.len() > 1 && lit.starts_with('0') {
                    i64::from_str_radix(&lit[1..], 8)
                } else {
                    lit.parse()
                }
                .map_err(|_| format!("`{}` is not an integer", &rest[..end]))?;
            out.push(Tok::Num(value));
            rest = &rest[end..];
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let end = rest
                .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .unwrap_or(rest.len());
            out.push(Tok::Id(rest[..end].to_string()));
            rest = &rest[end..];
            continue;
        }
        let Some(op) = OPS.iter().find(|op| rest.starts_with(**op)) else {
            return Err(format!("unexpected `{c}` in the condition"));
        };
        out.push(Tok::Op(op));
        rest = &rest[op.len()..];
    }
    Ok(out)
}

/// Replaces `defined X` by 0/1 and macros by their (tokenized) bodies; unknown names are 0.
fn expand_for_if(tokens: Vec<Tok>, macros: &Macros, depth: usize) -> Result<Vec<Tok>, String> {
    if depth > 32 {
        return Err("macros expand into each other too deeply".into());
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            Tok::Id(id) if id == "defined" => {
                let (name, used) = match (tokens.get(i + 1), tokens.get(i + 2), tokens.get(i + 3)) {
                    (Some(Tok::Op("(")), Some(Tok::Id(n)), Some(Tok::Op(")"))) => (n, 4),
                    (Some(Tok::Id(n)), _, _) => (n, 2),
                    _ => return Err("`defined` needs a macro name".into()),
                };
                out.push(Tok::Num(macros.defined(name) as i64));
                i += used;
            }
            Tok::Id(id) => {
                match macros.get(id) {
                    Some(Macro {
                        params: None, body, ..
                    }) => out.extend(expand_for_if(tokenize(body)?, macros, depth + 1)?),
                    Some(_) => {
                        return Err(format!(
                            "function-like macro `{id}` is not supported in `#if`"
                        ));
                    }
                    None => out.push(Tok::Num(0)),
                }
                i += 1;
            }
            t => {
                out.push(t.clone());
                i += 1;
            }
        }
    }
    Ok(out)
}

struct CondParser {
    tokens: Vec<Tok>,
    at: usize,
}

impl CondParser {
    fn peek_op(&self) -> Option<&'static str> {
        match self.tokens.get(self.at) {
            Some(Tok::Op(o)) => Some(o),
            _ => None,
        }
    }

    fn ternary(&mut self) -> Result<i64, String> {
        let cond = self.binary(1)?;
        if self.peek_op() == Some("?") {
            self.at += 1;
            let a = self.ternary()?;
            if self.peek_op() != Some(":") {
                return Err("`?` without `:` in the condition".into());
            }
            self.at += 1;
            let b = self.ternary()?;
            return Ok(if cond != 0 { a } else { b });
        }
        Ok(cond)
    }

    fn binary(&mut self, min: u8) -> Result<i64, String> {
        let mut lhs = self.unary()?;
        while let Some(op) = self.peek_op() {
            let prec = match op {
                "||" => 1,
                "&&" => 2,
                "|" => 3,
                "^" => 4,
                "&" => 5,
                "==" | "!=" => 6,
                "<" | ">" | "<=" | ">=" => 7,
                "<<" | ">>" => 8,
                "+" | "-" => 9,
                "*" | "/" | "%" => 10,
                _ => break,
            };
            if prec < min {
                break;
            }
            self.at += 1;
            let rhs = self.binary(prec + 1)?;
            lhs = match op {
                "||" => ((lhs != 0) || (rhs != 0)) as i64,
                "&&" => ((lhs != 0) && (rhs != 0)) as i64,
                "|" => lhs | rhs,
                "^" => lhs ^ rhs,
                "&" => lhs & rhs,
                "==" => (lhs == rhs) as i64,
                "!=" => (lhs != rhs) as i64,
                "<" => (lhs < rhs) as i64,
                ">" => (lhs > rhs) as i64,
                "<=" => (lhs <= rhs) as i64,
                ">=" => (lhs >= rhs) as i64,
                "<<" => lhs.wrapping_shl(rhs as u32),
                ">>" => lhs.wrapping_shr(rhs as u32),
                "+" => lhs.wrapping_add(rhs),
                "-" => lhs.wrapping_sub(rhs),
                "*" => lhs.wrapping_mul(rhs),
                "/" | "%" if rhs == 0 => return Err("division by zero in the condition".into()),
                "/" => lhs.wrapping_div(rhs),
                _ => lhs.wrapping_rem(rhs),
            };
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<i64, String> {
        let Some(tok) = self.tokens.get(self.at).cloned() else {
            return Err("the condition ends early".into());
        };
        self.at += 1;
        match tok {
            Tok::Num(n) => Ok(n),
            Tok::Op("!") => Ok((self.unary()? == 0) as i64),
            Tok::Op("~") => Ok(!self.unary()?),
            Tok::Op("-") => Ok(self.unary()?.wrapping_neg()),
            Tok::Op("+") => self.unary(),
            Tok::Op("(") => {
                let v = self.ternary()?;
                if self.peek_op() != Some(")") {
                    return Err("a `(` without `)` in the condition".into());
                }
                self.at += 1;
                Ok(v)
            }
            other => Err(format!("unexpected `{}` in the condition", other.text())),
        }
    }
}

/// A function-like macro's body with its parameters replaced by the arguments' text (whole
/// identifiers only, outside string literals).
pub fn substitute(body: &str, params: &[String], args: &[String]) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(c) = rest.chars().next() {
        if c == '"' {
            let end = string_end(rest);
            out.push_str(&rest[..end]);
            rest = &rest[end..];
        } else if c.is_ascii_alphabetic() || c == '_' {
            let end = rest
                .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .unwrap_or(rest.len());
            let id = &rest[..end];
            match params.iter().position(|p| p == id) {
                Some(i) => {
                    out.push('(');
                    out.push_str(args.get(i).map_or("", String::as_str));
                    out.push(')');
                }
                None => out.push_str(id),
            }
            rest = &rest[end..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

fn string_end(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(source: &str) -> Preprocessed {
        preprocess(source, &[], &[]).unwrap_or_else(|e| panic!("{e:?}"))
    }

    #[test]
    fn directives_blank_in_place() {
        let src = "#define X 5\nBEGIN { @ = X; }\n";
        let out = run(src);
        assert_eq!(out.text.len(), src.len());
        assert_eq!(out.text, "           \nBEGIN { @ = X; }\n");
        assert_eq!(out.macros.get("X").map(|m| m.body.as_str()), Some("5"));
    }

    #[test]
    fn btf_blocks_drop_out() {
        let src = "#ifndef BPFTRACE_HAVE_BTF\nstruct x { int a; }\n#else\nBEGIN {}\n#endif\n";
        let out = run(src);
        assert!(!out.text.contains("struct"));
        assert!(out.text.contains("BEGIN {}"));
    }

    #[test]
    fn if_expressions() {
        let m = Macros::default();
        assert_eq!(eval_condition("1 + 2 * 3 == 7 && !0", &m), Ok(1));
        assert_eq!(eval_condition("defined(FOO) || 0x10 > 010", &m), Ok(1));
        assert_eq!(eval_condition("(1 ? 2 : 3) << 2", &m), Ok(8));
        assert!(eval_condition("1 +", &m).is_err());
    }

    #[test]
    fn function_like_substitution() {
        let p = vec!["a".to_string(), "b".to_string()];
        let args = vec!["x + 1".to_string(), "y".to_string()];
        assert_eq!(
            substitute("a * b + \"a\"", &p, &args),
            "(x + 1) * (y) + \"a\""
        );
    }

    #[test]
    fn unterminated_and_unknown() {
        assert!(preprocess("#ifdef X\nBEGIN {}\n", &[], &[]).is_err());
        assert!(preprocess("#frobnicate\n", &[], &[]).is_err());
        assert!(preprocess("#endif\n", &[], &[]).is_err());
    }

    #[test]
    fn target_defines_select_branches() {
        let defines = [
            ("__GO_VERSION__".to_string(), "123".to_string()),
            (
                "__GO_PKG_github_com_gin_gonic_gin__".to_string(),
                "1".to_string(),
            ),
        ];
        let src = "#if defined(__GO_PKG_github_com_gin_gonic_gin__) && __GO_VERSION__ >= 123\nA\n#endif\n#ifdef __GO_PKG_github_com_go_chi_chi__\nB\n#endif\n";
        let out = preprocess(src, &[], &defines).unwrap();
        assert!(
            out.text.contains('A') && !out.text.contains('B'),
            "{}",
            out.text
        );
        assert_eq!(out.macros.map["__GO_VERSION__"].body, "123");
        // Without the target's defines neither branch is taken.
        let out = preprocess(src, &[], &[]).unwrap();
        assert!(!out.text.contains('A'), "{}", out.text);
    }

    #[test]
    fn headers_give_constants() {
        let dir = std::env::temp_dir().join(format!("gprobe-pp-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sys")).unwrap();
        std::fs::write(dir.join("sys/a.h"), "#include \"b.h\"\n#define AF_X 7\n").unwrap();
        std::fs::write(
            dir.join("sys/b.h"),
            "#define PF_Y 9 /* y */\n#define F(x) x\n",
        )
        .unwrap();
        let out = preprocess(
            "#include <sys/a.h>\nBEGIN {}\n",
            std::slice::from_ref(&dir),
            &[],
        )
        .unwrap();
        assert_eq!(out.macros.get("AF_X").map(|m| m.body.as_str()), Some("7"));
        assert_eq!(out.macros.get("PF_Y").map(|m| m.body.trim()), Some("9"));
        assert!(out.macros.get("F").is_none());
        std::fs::remove_dir_all(dir).ok();
    }
}
