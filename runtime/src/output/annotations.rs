//! `// @metric` annotations: how a script says one of its maps is exported, so dashboards
//! built on a naming convention (OpenTelemetry's semantic conventions, Prometheus's) find it.
//!
//! ```text
//! // @metric @latency_us http.server.request.duration unit=us keys=http.request.method,url.path desc="Duration of HTTP server requests."
//! ```
//!
//! - `@MAP NAME`: the map, and the metric name exporters give it (OpenTelemetry's form, dotted;
//!   Prometheus derives its own: `http_server_request_duration_seconds`).
//! - `unit=UNIT`: the unit of the map's values. Times (`ns`, `us`, `ms`, `s`) are exported in
//!   seconds, values and bucket bounds converted; `By`, `1` and `{annotation}` units are
//!   exported as they are.
//! - `keys=A,B,...`: the attribute (label) name of each key part, in order; `A:B` splits a
//!   `host:port` text key into two attributes (the second left out when there is no port).
//! - `desc="..."`: the description (Prometheus HELP), instead of the comment above the map.
//!
//! Annotations are comments, so the text output never changes; they are read from the
//! program's text by line (like a recipe's `@param`), checked against the compiled maps, and a
//! bad one is a diagnostic (`E0900`) pointing at it.

use super::metrics::MapMeta;
use gprobe_compiler::diag::Diagnostic;
use gprobe_compiler::manifest::{FieldKind, Manifest, MapRole, MapValue};
use gprobe_compiler::span::Span;
use gprobe_compiler::types::AggKind;

/// One `// @metric` line, parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricAnnotation {
    /// 1-based line of the annotation in the program text.
    pub line: usize,
    /// Where its words are in the program text, for diagnostics: the whole annotation, the
    /// map, `unit=` and `keys=`.
    pub span: Span,
    pub map_span: Span,
    pub unit_span: Span,
    pub keys_span: Span,
    /// `@latency_us`.
    pub map: String,
    /// `http.server.request.duration`.
    pub name: String,
    pub unit: Option<Unit>,
    /// One entry per key part, when `keys=` was given.
    pub keys: Option<Vec<KeyAttribute>>,
    pub description: Option<String>,
}

/// The attribute name(s) of one key part.
#[derive(Clone, Debug, PartialEq)]
pub enum KeyAttribute {
    One(String),
    /// `server.address:server.port`: a `host:port` text split at its last `:`.
    HostPort(String, String),
}

impl KeyAttribute {
    fn names(&self) -> Vec<String> {
        match self {
            KeyAttribute::One(n) => vec![n.clone()],
            KeyAttribute::HostPort(a, b) => vec![a.clone(), b.clone()],
        }
    }
}

/// A declared unit: what the map holds, what exporters write, and the factor between them.
#[derive(Clone, Debug, PartialEq)]
pub struct Unit {
    /// As written (`us`).
    pub declared: String,
    /// As exported: the UCUM code OpenTelemetry uses (`s`).
    pub exported: String,
    /// Exported value = map value / `divisor` (a division, so `32 us` is the double nearest
    /// 32e-6, not `32 * 1e-6`'s rounding of a rounding).
    pub divisor: f64,
}

impl Unit {
    pub fn parse(text: &str) -> Result<Unit, String> {
        let (exported, divisor) = match text {
            "ns" => ("s", 1e9),
            "us" => ("s", 1e6),
            "ms" => ("s", 1e3),
            "s" => ("s", 1.0),
            "By" | "1" => (text, 1.0),
            _ if text.len() > 2
                && text.starts_with('{')
                && text.ends_with('}')
                && !text[1..text.len() - 1].contains(['{', '}']) =>
            {
                (text, 1.0)
            }
            _ => {
                return Err(format!(
                    "unknown unit `{text}` (use ns, us, ms, s, By, 1, or a {{annotation}} such as {{request}})"
                ));
            }
        };
        Ok(Unit {
            declared: text.to_string(),
            exported: exported.to_string(),
            divisor,
        })
    }

    /// A unit of time: meaningless for `count()`, which counts events.
    pub fn is_time(&self) -> bool {
        self.exported == "s"
    }
}

/// A bad annotation: where, and what is wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct AnnotationError {
    pub line: usize,
    pub span: Span,
    pub message: String,
}

/// The error code of every annotation diagnostic.
pub const CODE: &str = "E0900";

/// The errors as diagnostics pointing at the annotation's words.
pub fn diagnostics(errors: &[AnnotationError]) -> Vec<Diagnostic> {
    errors
        .iter()
        .map(|e| {
            Diagnostic::error(CODE, format!("bad @metric annotation: {}", e.message))
                .primary(e.span, "in this annotation")
                .help("see docs/output-formats.md, \"Declaring metrics\"")
        })
        .collect()
}

/// The text after `@metric` when a line is a `// @metric` annotation, and the offset in the
/// line where `@metric` starts.
fn annotation_text(line: &str) -> Option<(usize, &str)> {
    let rest = line.trim_start().strip_prefix("//")?.trim_start();
    let at = line.len() - rest.len();
    let args = rest.strip_prefix("@metric")?;
    (args.is_empty() || args.starts_with([' ', '\t'])).then_some((at, args))
}

/// Whether `source` says `// @metrics declared`: only the maps it declares with `// @metric`
/// are exported (a recipe's working maps, timestamps and per-interval scratch counters, are
/// not). Any other word after `@metrics` is an error.
pub fn only_declared(source: &str) -> Result<bool, Vec<AnnotationError>> {
    let mut found = false;
    let mut errors = Vec::new();
    let mut line_start = 0;
    for (i, line) in source.split('\n').enumerate() {
        let start = line_start;
        line_start += line.len() + 1;
        let Some(rest) = line.trim_start().strip_prefix("//") else {
            continue;
        };
        let Some(args) = rest.trim_start().strip_prefix("@metrics") else {
            continue;
        };
        if !(args.is_empty() || args.starts_with([' ', '\t'])) {
            continue;
        }
        if args.trim() == "declared" {
            found = true;
        } else {
            let at = line.len() - line.trim_start().len();
            errors.push(AnnotationError {
                line: i + 1,
                span: Span::new(start + at, start + line.trim_end().len()),
                message:
                    "expected `@metrics declared` (export only the maps declared with `@metric`)"
                        .into(),
            });
        }
    }
    if errors.is_empty() {
        Ok(found)
    } else {
        Err(errors)
    }
}

/// Every `// @metric` line of `source`, parsed; every bad one is an error.
pub fn parse(source: &str) -> Result<Vec<MetricAnnotation>, Vec<AnnotationError>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut line_start = 0;
    for (i, line) in source.split('\n').enumerate() {
        let start = line_start;
        line_start += line.len() + 1;
        let Some((at, args)) = annotation_text(line) else {
            continue;
        };
        // A CRLF file's `\r` is no part of the last word.
        let args = args.trim_end_matches('\r');
        let line = line.trim_end();
        // Offsets of the words after `@metric` in the source.
        let base = start + at + "@metric".len();
        let whole = Span::new(start + at, start + line.len());
        match parse_one(args, base, whole) {
            Ok(mut a) => {
                a.line = i + 1;
                out.push(a);
            }
            Err((message, span)) => errors.push(AnnotationError {
                line: i + 1,
                span: span.unwrap_or(whole),
                message,
            }),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

const FORM: &str = "expected `@metric @MAP NAME [unit=UNIT] [keys=A,B,...] [desc=\"...\"]`";

/// Words separated by blanks, each with its byte range in `text`; `"..."` (with `\"` and
/// `\\`) is part of a word.
fn words(text: &str) -> Result<Vec<(String, std::ops::Range<usize>)>, String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut chars = text.char_indices();
    let mut in_word = false;
    let mut from = 0;
    while let Some((at, c)) = chars.next() {
        if !in_word && !matches!(c, ' ' | '\t') {
            from = at;
        }
        match c {
            ' ' | '\t' => {
                if in_word {
                    out.push((std::mem::take(&mut word), from..at));
                    in_word = false;
                }
            }
            '"' => {
                in_word = true;
                word.push('"');
                loop {
                    match chars.next().map(|(_, c)| c) {
                        Some('"') => break,
                        Some('\\') => match chars.next().map(|(_, c)| c) {
                            Some(e @ ('"' | '\\')) => word.push(e),
                            Some(other) => {
                                word.push('\\');
                                word.push(other);
                            }
                            None => return Err("unterminated string".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("unterminated string".into()),
                    }
                }
                word.push('"');
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        out.push((word, from..text.len()));
    }
    Ok(out)
}

/// OpenTelemetry's instrument name syntax: a letter, then letters, digits, `_ . - /`.
fn valid_metric_name(name: &str) -> bool {
    name.len() <= 255
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/'))
}

/// Attribute names as semantic conventions write them: `http.request.method`.
fn valid_attribute(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.'))
}

type ParseError = (String, Option<Span>);

/// One annotation's words (`text`, which starts at `base` in the source; `whole` is the
/// annotation's span).
fn parse_one(text: &str, base: usize, whole: Span) -> Result<MetricAnnotation, ParseError> {
    let words = words(text).map_err(|m| (m, None))?;
    let span = |r: &std::ops::Range<usize>| Span::new(base + r.start, base + r.end);
    let [(map, map_at), (name, name_at), options @ ..] = words.as_slice() else {
        return Err((FORM.into(), None));
    };
    let bad_map = || {
        (
            format!("`{map}` is not a map name; {FORM}"),
            Some(span(map_at)),
        )
    };
    let bare = map.strip_prefix('@').ok_or_else(bad_map)?;
    if !bare.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(bad_map());
    }
    if !valid_metric_name(name) {
        return Err((
            format!(
                "`{name}` is not a metric name (a letter, then letters, digits, `_`, `.`, `-` or `/`)"
            ),
            Some(span(name_at)),
        ));
    }
    let mut a = MetricAnnotation {
        line: 0,
        span: whole,
        map_span: span(map_at),
        unit_span: whole,
        keys_span: whole,
        map: map.clone(),
        name: name.clone(),
        unit: None,
        keys: None,
        description: None,
    };
    for (option, at) in options {
        let here = Some(span(at));
        let Some((key, value)) = option.split_once('=') else {
            return Err((format!("`{option}`: expected unit=, keys= or desc="), here));
        };
        let repeated = || (format!("`{key}=` is given twice"), here);
        match key {
            "unit" => {
                if a.unit.is_some() {
                    return Err(repeated());
                }
                a.unit = Some(Unit::parse(value).map_err(|m| (m, here))?);
                a.unit_span = span(at);
            }
            "keys" => {
                if a.keys.is_some() {
                    return Err(repeated());
                }
                let mut keys = Vec::new();
                for part in value.split(',') {
                    let key = match part.split_once(':') {
                        Some((host, port)) => KeyAttribute::HostPort(host.into(), port.into()),
                        None => KeyAttribute::One(part.into()),
                    };
                    if let Some(bad) = key.names().iter().find(|n| !valid_attribute(n)) {
                        return Err((
                            format!(
                                "keys=: `{bad}` is not an attribute name (letters, digits, `_` and `.`)"
                            ),
                            here,
                        ));
                    }
                    keys.push(key);
                }
                a.keys = Some(keys);
                a.keys_span = span(at);
            }
            "desc" => {
                if a.description.is_some() {
                    return Err(repeated());
                }
                let text = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .ok_or_else(|| {
                        (
                            format!("desc= takes a quoted text: desc=\"...\", not {value}"),
                            here,
                        )
                    })?;
                a.description = Some(text.to_string());
            }
            _ => {
                return Err((
                    format!("unknown option `{key}=` (use unit=, keys= or desc=)"),
                    here,
                ));
            }
        }
    }
    Ok(a)
}

/// Applies the annotations to the maps' export metadata, checked against the compiled
/// program: the map must exist, `keys=` must name each of its key parts, a time unit needs
/// timed values, and two maps cannot share a metric name.
///
/// Node-wide recipes key every map by process first (`@lat[pid, m, p]`): their annotations
/// name the keys as written, and `pid` keeps its name.
pub fn apply(
    meta: &mut [MapMeta],
    annotations: &[MetricAnnotation],
    manifest: &Manifest,
) -> Result<(), Vec<AnnotationError>> {
    let mut errors = Vec::new();
    let mut names: Vec<(&str, &str)> = Vec::new();
    for a in annotations {
        let error = |message: String| AnnotationError {
            line: a.line,
            span: a.span,
            message,
        };
        let error_at = |span: Span, message: String| AnnotationError {
            line: a.line,
            span,
            message,
        };
        if let Some((_, other)) = names.iter().find(|(n, _)| *n == a.name) {
            errors.push(error(format!(
                "metric `{}` is already the name of {other}",
                a.name
            )));
            continue;
        }
        if let Some((_, _)) = names.iter().find(|(_, m)| *m == a.map) {
            errors.push(error(format!("{} has two @metric annotations", a.map)));
            continue;
        }
        names.push((&a.name, &a.map));
        // A map without an annotation is exported under its own name: the two would clash.
        let clash = meta.iter().find(|m| {
            m.map != a.map
                && !annotations.iter().any(|o| o.map == m.map)
                && super::metrics::identifier(m.map.trim_start_matches('@')) == a.name
        });
        if let Some(other) = clash {
            errors.push(error(format!(
                "metric `{}` is already the name {} is exported by",
                a.name, other.map
            )));
            continue;
        }
        let spec = manifest
            .maps
            .iter()
            .find(|m| m.role == MapRole::User && m.user_name.as_deref() == Some(a.map.as_str()));
        let (Some(spec), Some(m)) = (spec, meta.iter_mut().find(|m| m.map == a.map)) else {
            errors.push(error_at(
                a.map_span,
                format!("the program has no map {}", a.map),
            ));
            continue;
        };
        // Exporters leave out maps of text, stacks and tuples: an annotation there would say
        // nothing.
        if let MapValue::Plain(layout) = &spec.value
            && !matches!(
                layout.fields.as_slice(),
                [f] if matches!(f.kind, FieldKind::Int { .. })
            )
        {
            errors.push(error_at(
                a.map_span,
                format!(
                    "{} does not hold numbers, so it is not exported as a metric",
                    a.map
                ),
            ));
            continue;
        }
        if let Some(unit) = &a.unit
            && unit.is_time()
            && spec.value == MapValue::Agg(AggKind::Count)
        {
            errors.push(error_at(a.unit_span, format!(
                "{} holds count(), a number of events: unit={} does not apply (a count's unit is an {{annotation}} such as {{request}})",
                a.map, unit.declared
            )));
            continue;
        }
        let mut key_labels = Vec::new();
        let mut host_port = Vec::new();
        if let Some(keys) = &a.keys {
            let fields = &spec.key.fields;
            // The process key a node-wide recipe put first.
            let by_process = manifest.node_wide
                && fields.len() == keys.len() + 1
                && fields.first().and_then(|f| f.name.as_deref()) == Some("pid");
            if fields.len() != keys.len() && !by_process {
                errors.push(error_at(
                    a.keys_span,
                    format!(
                        "{} has {} key part(s), keys= names {}",
                        a.map,
                        fields.len(),
                        keys.len()
                    ),
                ));
                continue;
            }
            if by_process {
                key_labels.push(vec!["pid".to_string()]);
            }
            let offset = key_labels.len();
            let mut bad = None;
            for (i, key) in keys.iter().enumerate() {
                if let KeyAttribute::HostPort(..) = key {
                    let is_text = matches!(
                        fields.get(i + offset).map(|f| &f.kind),
                        Some(FieldKind::Str { .. })
                    );
                    if !is_text {
                        bad = Some(format!(
                            "keys=: key part {} of {} is not a text, so it cannot be split as host:port",
                            i + 1,
                            a.map
                        ));
                        break;
                    }
                    host_port.push(i + offset);
                }
                key_labels.push(key.names());
            }
            if let Some(message) = bad {
                errors.push(error_at(a.keys_span, message));
                continue;
            }
        }
        m.export = Some(super::metrics::Export {
            name: a.name.clone(),
            unit: a.unit.clone(),
        });
        if a.keys.is_some() {
            m.key_labels = key_labels;
            m.host_port = host_port;
        }
        if let Some(d) = &a.description {
            m.help = Some(d.clone());
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Result<MetricAnnotation, String> {
        match parse(line) {
            Ok(mut v) => Ok(v.remove(0)),
            Err(mut e) => Err(e.remove(0).message),
        }
    }

    #[test]
    fn the_whole_form() {
        let a = one(
            "// @metric @latency_us http.server.request.duration unit=us keys=http.request.method,url.path desc=\"Duration of \\\"requests\\\".\"",
        )
        .unwrap();
        assert_eq!(a.map, "@latency_us");
        assert_eq!(a.name, "http.server.request.duration");
        let unit = a.unit.unwrap();
        assert_eq!((unit.exported.as_str(), unit.divisor), ("s", 1e6));
        assert_eq!(
            a.keys.unwrap(),
            [
                KeyAttribute::One("http.request.method".into()),
                KeyAttribute::One("url.path".into())
            ]
        );
        assert_eq!(a.description.as_deref(), Some("Duration of \"requests\"."));
        let a = one("//@metric @h a.b keys=m,server.address:server.port").unwrap();
        assert_eq!(
            a.keys.unwrap()[1],
            KeyAttribute::HostPort("server.address".into(), "server.port".into())
        );
        assert_eq!(one("// @metric @ x unit={request}").unwrap().map, "@");
    }

    #[test]
    fn lines_are_counted_and_other_comments_ignored() {
        let src = "// @param $1 X=0 doc\n// @metrics are not this\nBEGIN {}\n  // @metric @a a\n";
        let got = parse(src).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].line, 4);
        let crlf = parse("// @metric @a a desc=\"d\"\r\nBEGIN {}\r\n").unwrap();
        assert_eq!(crlf[0].description.as_deref(), Some("d"));
    }

    #[test]
    fn bad_annotations_say_what_is_wrong() {
        let cases = [
            ("// @metric", "expected `@metric @MAP NAME"),
            ("// @metric latency x", "`latency` is not a map name"),
            ("// @metric @a 9x", "`9x` is not a metric name"),
            ("// @metric @a x unit=furlong", "unknown unit `furlong`"),
            ("// @metric @a x unit=s unit=s", "`unit=` is given twice"),
            ("// @metric @a x colour=red", "unknown option `colour=`"),
            ("// @metric @a x keys=a,,b", "`` is not an attribute name"),
            ("// @metric @a x keys=a-b", "`a-b` is not an attribute name"),
            ("// @metric @a x desc=plain", "desc= takes a quoted text"),
            ("// @metric @a x desc=\"open", "unterminated string"),
            ("// @metric @a x verbose", "`verbose`: expected unit="),
        ];
        for (line, want) in cases {
            let got = one(line).unwrap_err();
            assert!(got.contains(want), "{line}: {got}");
        }
        let errors = parse("BEGIN {}\n// @metric @a\n// @metric @b x unit=y\n").unwrap_err();
        assert_eq!(
            errors.iter().map(|e| e.line).collect::<Vec<_>>(),
            [2, 3],
            "every bad line, each with its number"
        );
    }

    #[test]
    fn units() {
        for (text, exported, divisor) in [
            ("ns", "s", 1e9),
            ("us", "s", 1e6),
            ("ms", "s", 1e3),
            ("s", "s", 1.0),
            ("By", "By", 1.0),
            ("{request}", "{request}", 1.0),
        ] {
            let u = Unit::parse(text).unwrap();
            assert_eq!(
                (u.exported.as_str(), u.divisor),
                (exported, divisor),
                "{text}"
            );
        }
        assert!(Unit::parse("{}").is_err());
        assert!(Unit::parse("sec").is_err());
    }
}

#[cfg(test)]
mod applied {
    use super::super::metrics::{self, Number, Points};
    use super::*;
    use crate::value::{MapSnapshot, MapValue, Value};

    fn meta_of(source: &str) -> Result<Vec<MapMeta>, Vec<AnnotationError>> {
        let out = gprobe_compiler::compile(
            source,
            &gprobe_compiler::NoEnv,
            &gprobe_compiler::CompileOptions::default(),
        )
        .expect("compiles");
        let mut meta = MapMeta::from_manifest(&out.manifest);
        apply(&mut meta, &parse(source)?, &out.manifest)?;
        Ok(meta)
    }

    /// With `// @metrics declared`, a map without an annotation is not exported; without the
    /// line every map is; another word after `@metrics` is an error at its line.
    #[test]
    fn only_declared_maps_are_exported_when_the_script_says_so() {
        let source = format!("// @metrics declared\n{SCRIPT}");
        assert_eq!(only_declared(&source), Ok(true));
        assert_eq!(only_declared(SCRIPT), Ok(false));
        let mut meta = meta_of(&source).unwrap();
        for m in &mut meta {
            m.hidden = m.export.is_none();
        }
        let maps = vec![
            MapSnapshot::scalar("@busy_us", MapValue::Sum(5)),
            MapSnapshot::scalar("@plain", MapValue::Count(1)),
        ];
        let names: Vec<String> = metrics::metrics(&maps, &meta)
            .into_iter()
            .map(|m| m.name)
            .collect();
        assert_eq!(names, ["busy"]);
        let bad = only_declared("BEGIN {}\n  // @metrics all\n").unwrap_err();
        assert_eq!((bad.len(), bad[0].line), (1, 2));
        assert!(bad[0].message.contains("@metrics declared"), "{bad:?}");
        // `@metric` lines are not `@metrics` lines.
        assert_eq!(only_declared("// @metric @a a\n"), Ok(false));
    }

    const SCRIPT: &str = "// @metric @lat http.server.request.duration unit=us keys=http.request.method,url.path desc=\"Request time.\"\n\
        // @metric @busy_us busy unit=us\n\
        // @metric @out http.client.responses unit={response} keys=http.request.method,server.address:server.port\n\
        BEGIN { @lat[\"GET\", \"/a\"] = hist(3); @busy_us = sum(5); @out[\"GET\", \"h:80\"] = count(); @plain = count(); }";

    /// A log2 histogram of microseconds becomes bounds in seconds at each bucket's upper edge;
    /// its sum, sums and counts follow; attributes take the declared names.
    #[test]
    fn microseconds_become_seconds() {
        let meta = meta_of(SCRIPT).unwrap();
        let maps = vec![
            MapSnapshot::keyed(
                "@lat",
                vec![(
                    vec![Value::Str("GET".into()), Value::Str("/a".into())],
                    // [2, 4) us: 2; [4, 8) us: 1
                    MapValue::Hist {
                        counts: vec![0, 0, 0, 2, 1],
                        sum: 11,
                    },
                )],
            ),
            MapSnapshot::scalar("@busy_us", MapValue::Sum(1_500_000)),
            MapSnapshot::keyed(
                "@out",
                vec![
                    (
                        vec![Value::Str("GET".into()), Value::Str("h:80".into())],
                        MapValue::Count(3),
                    ),
                    (
                        vec![Value::Str("GET".into()), Value::Str("[::1]:8080".into())],
                        MapValue::Count(1),
                    ),
                    (
                        vec![Value::Str("GET".into()), Value::Str("example".into())],
                        MapValue::Count(2),
                    ),
                ],
            ),
            MapSnapshot::scalar("@plain", MapValue::Count(1)),
        ];
        let got = metrics::metrics(&maps, &meta);
        let by = |name: &str| got.iter().find(|m| m.name == name).unwrap();
        let lat = by("http.server.request.duration");
        assert!(lat.declared);
        assert_eq!(
            (lat.unit.as_str(), lat.help.as_str()),
            ("s", "Request time.")
        );
        let Points::Histogram(p) = &lat.points else {
            panic!("{lat:?}")
        };
        let (labels, h) = &p[0];
        assert_eq!(
            labels,
            &[
                ("http.request.method".to_string(), "GET".to_string()),
                ("url.path".to_string(), "/a".to_string())
            ]
        );
        assert_eq!(h.bounds, [0.0, 1e-6, 2e-6, 4e-6, 8e-6]);
        assert_eq!(h.counts, [0, 0, 0, 2, 1, 0]);
        assert_eq!((h.count, h.sum), (3, 11e-6));
        assert_eq!(
            by("busy").points,
            Points::Counter(vec![(vec![], Number::Float(1.5))])
        );
        let Points::Counter(out) = &by("http.client.responses").points else {
            panic!()
        };
        let attrs: Vec<Vec<(&str, &str)>> = out
            .iter()
            .map(|(l, _)| l.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect())
            .collect();
        assert!(attrs.contains(&vec![
            ("http.request.method", "GET"),
            ("server.address", "h"),
            ("server.port", "80")
        ]));
        assert!(attrs.contains(&vec![
            ("http.request.method", "GET"),
            ("server.address", "::1"),
            ("server.port", "8080")
        ]));
        assert!(attrs.contains(&vec![
            ("http.request.method", "GET"),
            ("server.address", "example")
        ]));
        // The port is an integer attribute (OTLP int), the address is not.
        let responses = by("http.client.responses");
        assert!(responses.integer_labels.contains("server.port"));
        assert!(!responses.integer_labels.contains("server.address"));
        let plain = by("plain");
        assert!(!plain.declared && plain.unit.is_empty());
    }

    #[test]
    fn lhist_bounds_convert_too() {
        let meta = meta_of("// @metric @l t unit=ms\nBEGIN { @l = lhist(5, 0, 10, 5); }").unwrap();
        let maps = vec![MapSnapshot::scalar(
            "@l",
            MapValue::Lhist {
                min: 0,
                max: 10,
                step: 5,
                counts: vec![0, 1, 0, 0],
                sum: 3,
            },
        )];
        let Points::Histogram(p) = &metrics::metrics(&maps, &meta)[0].points else {
            panic!()
        };
        // below 0 ms, [0, 5) ms, [5, 10) ms, at or above 10 ms
        assert_eq!(p[0].1.bounds, [0.0, 0.005, 0.01]);
        assert_eq!(p[0].1.sum, 0.003);
    }

    /// Node-wide recipes key every map by `pid` first: annotations name the keys as written.
    #[test]
    fn node_wide_maps_keep_their_pid_key() {
        let source = "// @metric @lat d unit=us keys=http.request.method\nBEGIN { @lat[pid, \"GET\"] = hist(3); }";
        let mut options = gprobe_compiler::CompileOptions::default();
        options.lower.node_wide = true;
        let out = gprobe_compiler::compile(source, &gprobe_compiler::NoEnv, &options).unwrap();
        let mut meta = MapMeta::from_manifest(&out.manifest);
        apply(&mut meta, &parse(source).unwrap(), &out.manifest).unwrap();
        assert_eq!(
            meta[0].key_labels,
            [
                vec!["pid".to_string()],
                vec!["http.request.method".to_string()]
            ]
        );
    }

    #[test]
    fn annotations_are_checked_against_the_program() {
        let errors = |src: &str| -> Vec<String> {
            meta_of(src)
                .unwrap_err()
                .into_iter()
                .map(|e| e.message)
                .collect()
        };
        let src = "BEGIN { @c[1] = count(); @h = hist(1); }\n";
        assert_eq!(
            errors(&format!("{src}// @metric @c x unit=ms")),
            [
                "@c holds count(), a number of events: unit=ms does not apply (a count's unit is an {annotation} such as {request})"
            ]
        );
        assert_eq!(
            errors(&format!("{src}// @metric @c x keys=a,b")),
            ["@c has 1 key part(s), keys= names 2"]
        );
        assert_eq!(
            errors(&format!("{src}// @metric @x x")),
            ["the program has no map @x"]
        );
        assert_eq!(
            errors(&format!("{src}// @metric @c x\n// @metric @h x")),
            ["metric `x` is already the name of @c"]
        );
        assert_eq!(
            errors(&format!("{src}// @metric @c x\n// @metric @c y")),
            ["@c has two @metric annotations"]
        );
        assert_eq!(
            errors(&format!("{src}// @metric @h c")),
            ["metric `c` is already the name @c is exported by"]
        );
        assert_eq!(
            errors("BEGIN { @s = comm; }\n// @metric @s x"),
            ["@s does not hold numbers, so it is not exported as a metric"]
        );
    }
}
