//! The exposition formats: Prometheus text 0.0.4 and OpenMetrics 1.0 text, from the shared
//! metrics model. Any map must give a valid page, because one bad family makes a scraper drop
//! the whole scrape; so names are made valid here, whatever the script called things:
//!
//! - metric and label names are reduced to the allowed characters;
//! - label names that the formats reserve (`le`, `quantile`, `__`-prefixed) get a `key_` prefix;
//! - a label name repeated within a key (`@b[pid, pid]`) gets `_2`, `_3`, ...;
//! - family names that would collide (`@a` counter, which owns `gprobe_a_total`, beside an
//!   `@a_total` gauge; a histogram's `_bucket`/`_sum`/`_count` beside a map of that name) are
//!   resolved first come, first served: the later map gets `_2`, `_3`, ... Names are kept for
//!   the whole session ([`Names`]), so a family never changes name between scrapes.

#[cfg(test)]
use super::super::metrics::Number;
use super::super::metrics::{Histogram, Labels, Metric, Points};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

/// `prefix_name`, counters with `_total`.
pub const PREFIX: &str = "gprobe_";

/// Which text format a scrape gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text exposition format 0.0.4, the default.
    Text,
    /// OpenMetrics 1.0 text, for scrapers that ask for it in `Accept`.
    OpenMetrics,
}

impl Format {
    /// OpenMetrics when the `Accept` header offers it at least as strongly as plain text, else
    /// text 0.0.4 (also for no header or one we cannot read).
    pub fn negotiate(accept: Option<&str>) -> Format {
        let Some(accept) = accept else {
            return Format::Text;
        };
        let (mut openmetrics, mut text) = (0.0f32, 0.0f32);
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            match media.as_str() {
                "application/openmetrics-text" => openmetrics = openmetrics.max(q),
                "text/plain" | "text/*" | "*/*" => text = text.max(q),
                _ => {}
            }
        }
        if openmetrics > 0.0 && openmetrics >= text {
            Format::OpenMetrics
        } else {
            Format::Text
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// A metric with its family name decided (`gprobe_calls`: counters add `_total` to samples).
#[derive(Clone, Debug, PartialEq)]
pub struct Family {
    pub name: String,
    pub metric: Metric,
}

/// Family names given so far, by map: the first name a map gets is its name for the session,
/// and every sample name a family can produce is claimed so no later family reuses it.
#[derive(Debug, Default)]
pub struct Names {
    by_map: HashMap<String, String>,
    claimed: HashSet<String>,
}

impl Names {
    pub fn families(&mut self, metrics: Vec<Metric>) -> Vec<Family> {
        metrics
            .into_iter()
            .map(|metric| Family {
                name: self.name_of(&metric),
                metric,
            })
            .collect()
    }

    fn name_of(&mut self, metric: &Metric) -> String {
        if let Some(name) = self.by_map.get(&metric.map) {
            return name.clone();
        }
        let base = if metric.declared {
            metric_name(&declared_name(&metric.name, &metric.unit))
        } else {
            metric_name(&format!("{PREFIX}{}", metric.name))
        };
        let mut name = base.clone();
        for n in 2.. {
            let names = claims(&name, &metric.points);
            if names.iter().all(|c| !self.claimed.contains(c)) {
                self.claimed.extend(names);
                break;
            }
            name = format!("{base}_{n}");
        }
        self.by_map.insert(metric.map.clone(), name.clone());
        name
    }
}

/// Every name a family called `name` puts on the page or that parsers tie to it: the family
/// name itself, its sample names and OpenMetrics' `_created`.
fn claims(name: &str, points: &Points) -> Vec<String> {
    let suffixes: &[&str] = match points {
        Points::Counter(_) => &["", "_total", "_created"],
        Points::Gauge(_) => &[""],
        Points::Summary(_) => &["", "_sum", "_count", "_created"],
        Points::Histogram(_) => &["", "_bucket", "_sum", "_count", "_created"],
    };
    suffixes.iter().map(|s| format!("{name}{s}")).collect()
}

/// An annotated metric's family name, as OpenTelemetry's Prometheus compatibility rules make
/// it: `.` (and anything else not allowed) becomes `_`, and the unit is spelt out at the end
/// unless it is there already (`http.server.request.duration` in `s` →
/// `http_server_request_duration_seconds`; `By` → `_bytes`). Counters get `_total` on their
/// samples as any counter does; units in `{braces}` and `1` add nothing.
pub fn declared_name(name: &str, unit: &str) -> String {
    let base = metric_name(name);
    let Some(suffix) = unit_word(unit) else {
        return base;
    };
    if base.ends_with(&format!("_{suffix}")) {
        base
    } else {
        format!("{base}_{suffix}")
    }
}

/// Prometheus's word for an exported unit, when it has one.
fn unit_word(unit: &str) -> Option<&'static str> {
    match unit {
        "s" => Some("seconds"),
        "By" => Some("bytes"),
        _ => None,
    }
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`: anything else becomes `_`, a leading digit gets a `_` before it.
pub fn metric_name(text: &str) -> String {
    sanitize(text, true)
}

fn sanitize(text: &str, colon: bool) -> String {
    let mut out: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || (colon && c == ':')) {
        out.insert(0, '_');
    }
    out
}

/// The label names of one point, valid and distinct: sanitized to `[a-zA-Z_][a-zA-Z0-9_]*`,
/// reserved names prefixed with `key_`, repeats numbered `_2`, `_3`, ... (skipping any name
/// the key already has, so a renamed label never takes another's place).
pub fn label_names(labels: &Labels) -> Vec<String> {
    let wanted: Vec<String> = labels
        .iter()
        .map(|(name, _)| {
            let name = sanitize(name, false);
            if name == "le" || name == "quantile" || name.starts_with("__") {
                format!("key_{}", name.trim_start_matches('_'))
            } else {
                name
            }
        })
        .collect();
    let all: HashSet<&str> = wanted.iter().map(String::as_str).collect();
    let mut used: HashSet<String> = HashSet::new();
    let mut out = Vec::with_capacity(wanted.len());
    for name in &wanted {
        let mut unique = name.clone();
        let mut n = 2;
        while used.contains(&unique) || (unique != *name && all.contains(unique.as_str())) {
            unique = format!("{name}_{n}");
            n += 1;
        }
        used.insert(unique.clone());
        out.push(unique);
    }
    out
}

fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn escape_help(v: &str, format: Format) -> String {
    let v = v.replace('\\', "\\\\").replace('\n', "\\n");
    match format {
        Format::Text => v,
        Format::OpenMetrics => v.replace('"', "\\\""),
    }
}

fn label_set(labels: &Labels, extra: Option<(&str, &str)>) -> String {
    let mut parts: Vec<String> = label_names(labels)
        .iter()
        .zip(labels)
        .map(|(k, (_, v))| format!("{k}=\"{}\"", escape_label(v)))
        .collect();
    if let Some((k, v)) = extra {
        parts.push(format!("{k}=\"{v}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

/// A bucket bound. OpenMetrics wants floats (`1.0`, not `1`); text 0.0.4 keeps the integers
/// gprobe's bounds are, and writes converted ones without an exponent (`0.000004`).
fn bound(b: f64, format: Format) -> String {
    match format {
        Format::Text => format!("{b}"),
        Format::OpenMetrics => format!("{b:?}"),
    }
}

fn histogram(out: &mut String, name: &str, labels: &Labels, h: &Histogram, format: Format) {
    let mut cumulative = 0u64;
    let mut negative_observations = false;
    for (b, c) in h.bounds.iter().zip(&h.counts) {
        cumulative += c;
        if format == Format::OpenMetrics && *b < 0.0 {
            // OpenMetrics allows negative bounds only without `_sum` (a sum of negatives is no
            // counter): empty negative buckets are left out, which changes no cumulative count.
            if cumulative == 0 {
                continue;
            }
            negative_observations = true;
        }
        let _ = writeln!(
            out,
            "{name}_bucket{} {cumulative}",
            label_set(labels, Some(("le", &bound(*b, format))))
        );
    }
    let _ = writeln!(
        out,
        "{name}_bucket{} {}",
        label_set(labels, Some(("le", "+Inf"))),
        h.count
    );
    // OpenMetrics ties `_count` to `_sum`: both go when negative values were observed (the
    // `+Inf` bucket still carries the count).
    if !negative_observations {
        let _ = writeln!(out, "{name}_sum{} {}", label_set(labels, None), h.sum);
        let _ = writeln!(out, "{name}_count{} {}", label_set(labels, None), h.count);
    }
}

/// The page for these families in `format`.
///
/// OpenMetrics forbids negative counter-like values: a `sum()` point that went negative and a
/// negative `stats()` sum are left out of OpenMetrics pages (text 0.0.4 shows them).
pub fn render(families: &[Family], format: Format) -> String {
    let mut out = String::new();
    for Family { name, metric: m } in families {
        let kind = match &m.points {
            Points::Counter(_) => "counter",
            Points::Gauge(_) => "gauge",
            Points::Summary(_) => "summary",
            Points::Histogram(_) => "histogram",
        };
        // Text 0.0.4 names a counter's metadata after its sample; OpenMetrics after the family.
        let meta_name = match (&m.points, format) {
            (Points::Counter(_), Format::Text) => format!("{name}_total"),
            _ => name.clone(),
        };
        let help = escape_help(&m.help, format);
        match format {
            Format::Text => {
                let _ = writeln!(out, "# HELP {meta_name} {help}");
                let _ = writeln!(out, "# TYPE {meta_name} {kind}");
            }
            Format::OpenMetrics => {
                let _ = writeln!(out, "# TYPE {meta_name} {kind}");
                let _ = writeln!(out, "# HELP {meta_name} {help}");
                // OpenMetrics ties a unit to a family whose name ends in it (a family renamed
                // for a collision has none).
                if let Some(word) = unit_word(&m.unit)
                    && name.ends_with(&format!("_{word}"))
                {
                    let _ = writeln!(out, "# UNIT {meta_name} {word}");
                }
            }
        }
        let om = format == Format::OpenMetrics;
        match &m.points {
            Points::Counter(p) => {
                for (labels, v) in p.iter().filter(|(_, v)| !om || !v.is_negative()) {
                    let _ = writeln!(out, "{name}_total{} {v}", label_set(labels, None));
                }
            }
            Points::Gauge(p) => {
                for (labels, v) in p {
                    let _ = writeln!(out, "{name}{} {v}", label_set(labels, None));
                }
            }
            Points::Summary(p) => {
                for (labels, s) in p {
                    if !om || s.sum >= 0.0 {
                        let _ = writeln!(out, "{name}_sum{} {}", label_set(labels, None), s.sum);
                    }
                    let _ = writeln!(out, "{name}_count{} {}", label_set(labels, None), s.count);
                }
            }
            Points::Histogram(p) => {
                for (labels, h) in p {
                    histogram(&mut out, name, labels, h, format);
                }
            }
        }
    }
    if format == Format::OpenMetrics {
        out.push_str("# EOF\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::super::metrics::{self, MapMeta, Summary};
    use super::*;
    use crate::value::{MapSnapshot, MapValue, Value};

    fn page(maps: &[MapSnapshot], meta: &[MapMeta], format: Format) -> String {
        render(
            &Names::default().families(metrics::metrics(maps, meta)),
            format,
        )
    }

    fn metric(map: &str, points: Points) -> Metric {
        Metric {
            name: map.trim_start_matches('@').into(),
            map: map.into(),
            help: "h".into(),
            unit: String::new(),
            declared: false,
            integer_labels: Default::default(),
            points,
        }
    }

    #[test]
    fn text_format() {
        let maps = vec![
            MapSnapshot::keyed(
                "@calls",
                vec![(vec![Value::Str("a\"b".into())], MapValue::Count(5))],
            ),
            MapSnapshot::scalar(
                "@lat",
                MapValue::Hist {
                    counts: vec![0, 1, 0, 2],
                    sum: 6,
                },
            ),
        ];
        let meta = vec![MapMeta {
            map: "@calls".into(),
            help: Some("Calls by name.".into()),
            key_labels: vec![vec!["comm".into()]],
            ..Default::default()
        }];
        let want = "# HELP gprobe_calls_total Calls by name.\n\
                    # TYPE gprobe_calls_total counter\n\
                    gprobe_calls_total{comm=\"a\\\"b\"} 5\n\
                    # HELP gprobe_lat gprobe map @lat\n\
                    # TYPE gprobe_lat histogram\n\
                    gprobe_lat_bucket{le=\"-1\"} 0\n\
                    gprobe_lat_bucket{le=\"0\"} 1\n\
                    gprobe_lat_bucket{le=\"1\"} 1\n\
                    gprobe_lat_bucket{le=\"3\"} 3\n\
                    gprobe_lat_bucket{le=\"+Inf\"} 3\n\
                    gprobe_lat_sum 6\n\
                    gprobe_lat_count 3\n";
        assert_eq!(page(&maps, &meta, Format::Text), want);
    }

    #[test]
    fn openmetrics_format() {
        let maps = vec![
            MapSnapshot::scalar("@calls", MapValue::Count(5)),
            MapSnapshot::scalar(
                "@lat",
                MapValue::Hist {
                    counts: vec![0, 1, 0, 2],
                    sum: 6,
                },
            ),
        ];
        let want = "# TYPE gprobe_calls counter\n\
                    # HELP gprobe_calls gprobe map @calls\n\
                    gprobe_calls_total 5\n\
                    # TYPE gprobe_lat histogram\n\
                    # HELP gprobe_lat gprobe map @lat\n\
                    gprobe_lat_bucket{le=\"0.0\"} 1\n\
                    gprobe_lat_bucket{le=\"1.0\"} 1\n\
                    gprobe_lat_bucket{le=\"3.0\"} 3\n\
                    gprobe_lat_bucket{le=\"+Inf\"} 3\n\
                    gprobe_lat_sum 6\n\
                    gprobe_lat_count 3\n\
                    # EOF\n";
        assert_eq!(page(&maps, &[], Format::OpenMetrics), want);
    }

    /// Negative values are fine in text 0.0.4 but not in OpenMetrics' counter-like samples.
    #[test]
    fn openmetrics_leaves_out_negative_counter_like_values() {
        let h = metrics::log2_histogram(&[1, 1], -1);
        let families = Names::default().families(vec![
            metric("@s", Points::Counter(vec![(vec![], Number::Int(-3))])),
            metric("@h", Points::Histogram(vec![(vec![], h)])),
            metric(
                "@st",
                Points::Summary(vec![(
                    vec![],
                    Summary {
                        count: 2,
                        sum: -4.0,
                    },
                )]),
            ),
        ]);
        let om = render(&families, Format::OpenMetrics);
        assert!(!om.contains("gprobe_s_total "), "{om}");
        assert!(om.contains("gprobe_h_bucket{le=\"-1.0\"} 1\n"), "{om}");
        assert!(!om.contains("gprobe_h_sum"), "{om}");
        assert!(
            !om.contains("gprobe_st_sum") && om.contains("gprobe_st_count 2"),
            "{om}"
        );
        let text = render(&families, Format::Text);
        assert!(text.contains("gprobe_s_total -3\n") && text.contains("gprobe_h_sum -1\n"));
    }

    #[test]
    fn repeated_label_names_are_numbered() {
        let l = |names: &[&str]| -> Labels {
            names.iter().map(|n| (n.to_string(), "v".into())).collect()
        };
        assert_eq!(label_names(&l(&["pid", "pid"])), ["pid", "pid_2"]);
        assert_eq!(
            label_names(&l(&["pid", "pid", "pid_2"])),
            ["pid", "pid_3", "pid_2"]
        );
        assert_eq!(label_names(&l(&["a", "a", "a"])), ["a", "a_2", "a_3"]);
    }

    #[test]
    fn reserved_and_invalid_label_names_are_renamed() {
        let l = |names: &[&str]| -> Labels {
            names.iter().map(|n| (n.to_string(), "v".into())).collect()
        };
        assert_eq!(
            label_names(&l(&["le", "quantile", "__name__", "1x", "a.b", ""])),
            ["key_le", "key_quantile", "key_name__", "_1x", "a_b", "_"]
        );
        assert_eq!(label_names(&l(&["le", "key_le"])), ["key_le", "key_le_2"]);
    }

    #[test]
    fn metric_names_are_sanitized() {
        assert_eq!(metric_name("gprobe_a:b"), "gprobe_a:b");
        assert_eq!(metric_name("gprobe_a-b.c"), "gprobe_a_b_c");
        assert_eq!(metric_name("9x"), "_9x");
        assert_eq!(metric_name(""), "_");
    }

    #[test]
    fn colliding_families_get_distinct_names() {
        let mut names = Names::default();
        let families = names.families(vec![
            metric("@a", Points::Counter(vec![(vec![], Number::Int(1))])),
            metric("@a_total", Points::Gauge(vec![(vec![], Number::Int(2))])),
            metric(
                "@h",
                Points::Histogram(vec![(vec![], metrics::log2_histogram(&[0, 1], 0))]),
            ),
            metric("@h_count", Points::Gauge(vec![(vec![], Number::Int(3))])),
            metric("@h_count_2", Points::Gauge(vec![(vec![], Number::Int(4))])),
        ]);
        let got: Vec<&str> = families.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            got,
            [
                "gprobe_a",
                "gprobe_a_total_2",
                "gprobe_h",
                "gprobe_h_count_2",
                "gprobe_h_count_2_2"
            ]
        );
        // Kept for the session: a later scrape without `@a` still calls `@a_total` `_2`.
        let later = names.families(vec![metric(
            "@a_total",
            Points::Gauge(vec![(vec![], Number::Int(2))]),
        )]);
        assert_eq!(later[0].name, "gprobe_a_total_2");
    }

    #[test]
    fn duplicate_and_reserved_keys_render() {
        let maps = vec![MapSnapshot::keyed(
            "@b",
            vec![(vec![Value::Int(7), Value::Int(7)], MapValue::Count(1))],
        )];
        let meta = vec![MapMeta {
            map: "@b".into(),
            help: None,
            key_labels: vec![vec!["pid".into()], vec!["pid".into()]],
            ..Default::default()
        }];
        assert!(
            page(&maps, &meta, Format::Text).contains("gprobe_b_total{pid=\"7\",pid_2=\"7\"} 1\n")
        );
        let maps = vec![MapSnapshot::keyed(
            "@h",
            vec![(
                vec![Value::Int(1)],
                MapValue::Hist {
                    counts: vec![0, 1],
                    sum: 0,
                },
            )],
        )];
        let meta = vec![MapMeta {
            map: "@h".into(),
            help: None,
            key_labels: vec![vec!["le".into()]],
            ..Default::default()
        }];
        let text = page(&maps, &meta, Format::Text);
        assert!(
            text.contains("gprobe_h_bucket{key_le=\"1\",le=\"0\"} 1\n"),
            "{text}"
        );
    }

    /// An annotated map: OpenTelemetry's name made a Prometheus one with its unit, no prefix,
    /// bounds in seconds.
    #[test]
    fn declared_metrics_follow_prometheus_conventions() {
        assert_eq!(
            declared_name("http.server.request.duration", "s"),
            "http_server_request_duration_seconds"
        );
        assert_eq!(declared_name("rx_bytes", "By"), "rx_bytes");
        assert_eq!(
            declared_name("http.server.requests", "{request}"),
            "http_server_requests"
        );
        let mut h = metrics::log2_histogram(&[0, 0, 0, 2], 5);
        h.bounds = vec![0.0, 1e-6, 2e-6, 4e-6];
        h.sum = 5e-6;
        let families = Names::default().families(vec![
            Metric {
                name: "http.server.request.duration".into(),
                map: "@lat".into(),
                help: "d".into(),
                unit: "s".into(),
                declared: true,
                integer_labels: Default::default(),
                points: Points::Histogram(vec![(
                    vec![("http.request.method".into(), "GET".into())],
                    h,
                )]),
            },
            Metric {
                name: "busy".into(),
                map: "@busy".into(),
                help: "b".into(),
                unit: "s".into(),
                declared: true,
                integer_labels: Default::default(),
                points: Points::Counter(vec![(vec![], Number::Float(1.5))]),
            },
        ]);
        let text = render(&families, Format::Text);
        assert!(
            text.contains(
                "# TYPE http_server_request_duration_seconds histogram\n\
                 http_server_request_duration_seconds_bucket{http_request_method=\"GET\",le=\"0\"} 0\n\
                 http_server_request_duration_seconds_bucket{http_request_method=\"GET\",le=\"0.000001\"} 0\n\
                 http_server_request_duration_seconds_bucket{http_request_method=\"GET\",le=\"0.000002\"} 0\n\
                 http_server_request_duration_seconds_bucket{http_request_method=\"GET\",le=\"0.000004\"} 2\n\
                 http_server_request_duration_seconds_bucket{http_request_method=\"GET\",le=\"+Inf\"} 2\n\
                 http_server_request_duration_seconds_sum{http_request_method=\"GET\"} 0.000005\n"
            ),
            "{text}"
        );
        assert!(text.contains("busy_seconds_total 1.5\n"), "{text}");
        let om = render(&families, Format::OpenMetrics);
        assert!(
            om.contains("# UNIT http_server_request_duration_seconds seconds\n"),
            "{om}"
        );
        assert!(
            om.contains("http_server_request_duration_seconds_bucket{http_request_method=\"GET\",le=\"4e-6\"} 2\n"),
            "{om}"
        );
    }

    #[test]
    fn negotiation() {
        assert_eq!(Format::negotiate(None), Format::Text);
        assert_eq!(Format::negotiate(Some("*/*")), Format::Text);
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text")),
            Format::OpenMetrics
        );
        // What Prometheus sends: OpenMetrics preferred.
        assert_eq!(
            Format::negotiate(Some(
                "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,\
                 application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
            )),
            Format::OpenMetrics
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;q=0.2,text/plain;q=0.9")),
            Format::Text
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;q=0")),
            Format::Text
        );
    }
}
