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
//! program's text by line (like a recipe's `@param`), and a bad one is an error naming its line.

use super::metrics::MapMeta;
use gprobe_compiler::manifest::{FieldKind, Manifest, MapRole, MapValue};
use gprobe_compiler::types::AggKind;

/// One `// @metric` line, parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricAnnotation {
    /// 1-based line of the annotation in the program text.
    pub line: usize,
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

/// A bad annotation: its line and what is wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct AnnotationError {
    pub line: usize,
    pub message: String,
}

/// The comment text after `//` when a line is a `// @metric` annotation.
fn annotation_text(line: &str) -> Option<&str> {
    let rest = line.trim().strip_prefix("//")?.trim_start();
    let rest = rest.strip_prefix("@metric")?;
    (rest.is_empty() || rest.starts_with([' ', '\t'])).then_some(rest.trim())
}

/// Every `// @metric` line of `source`, parsed; every bad one is an error.
pub fn parse(source: &str) -> Result<Vec<MetricAnnotation>, Vec<AnnotationError>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in source.lines().enumerate() {
        let Some(text) = annotation_text(line) else {
            continue;
        };
        match parse_one(text) {
            Ok(mut a) => {
                a.line = i + 1;
                out.push(a);
            }
            Err(message) => errors.push(AnnotationError {
                line: i + 1,
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

/// Words separated by blanks; `"..."` (with `\"` and `\\`) is part of a word.
fn words(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut chars = text.chars();
    let mut in_word = false;
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '"' => {
                in_word = true;
                word.push('"');
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
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
        out.push(word);
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

fn parse_one(text: &str) -> Result<MetricAnnotation, String> {
    let words = words(text)?;
    let [map, name, options @ ..] = words.as_slice() else {
        return Err(FORM.into());
    };
    let bare = map
        .strip_prefix('@')
        .ok_or_else(|| format!("`{map}` is not a map name; {FORM}"))?;
    if !bare.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("`{map}` is not a map name; {FORM}"));
    }
    if !valid_metric_name(name) {
        return Err(format!(
            "`{name}` is not a metric name (a letter, then letters, digits, `_`, `.`, `-` or `/`)"
        ));
    }
    let mut a = MetricAnnotation {
        line: 0,
        map: map.clone(),
        name: name.clone(),
        unit: None,
        keys: None,
        description: None,
    };
    for option in options {
        let Some((key, value)) = option.split_once('=') else {
            return Err(format!("`{option}`: expected unit=, keys= or desc="));
        };
        let repeated = || format!("`{key}=` is given twice");
        match key {
            "unit" => {
                if a.unit.is_some() {
                    return Err(repeated());
                }
                a.unit = Some(Unit::parse(value)?);
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
                        return Err(format!(
                            "keys=: `{bad}` is not an attribute name (letters, digits, `_` and `.`)"
                        ));
                    }
                    keys.push(key);
                }
                a.keys = Some(keys);
            }
            "desc" => {
                if a.description.is_some() {
                    return Err(repeated());
                }
                let text = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .ok_or_else(|| format!("desc= takes a quoted text: desc=\"...\", not {value}"))?;
                a.description = Some(text.to_string());
            }
            _ => return Err(format!("unknown option `{key}=` (use unit=, keys= or desc=)")),
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
        let spec = manifest
            .maps
            .iter()
            .find(|m| m.role == MapRole::User && m.user_name.as_deref() == Some(a.map.as_str()));
        let (Some(spec), Some(m)) = (spec, meta.iter_mut().find(|m| m.map == a.map)) else {
            errors.push(error(format!("the program has no map {}", a.map)));
            continue;
        };
        if let Some(unit) = &a.unit
            && unit.is_time()
            && spec.value == MapValue::Agg(AggKind::Count)
        {
            errors.push(error(format!(
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
                errors.push(error(format!(
                    "{} has {} key part(s), keys= names {}",
                    a.map,
                    fields.len(),
                    keys.len()
                )));
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
                errors.push(error(message));
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
            assert_eq!((u.exported.as_str(), u.divisor), (exported, divisor), "{text}");
        }
        assert!(Unit::parse("{}").is_err());
        assert!(Unit::parse("sec").is_err());
    }
}
