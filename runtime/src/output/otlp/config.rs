//! Where and how OTLP exports go: `--otlp [URL]` and the exporter's standard environment
//! variables (OpenTelemetry specification, "OTLP Exporter Configuration"). Every setting has a
//! general form (`OTEL_EXPORTER_OTLP_X`) and a metrics one (`OTEL_EXPORTER_OTLP_METRICS_X`) that
//! takes precedence. Everything is read and checked once, before anything attaches, so a typo is
//! an error up front; files named (CA, client certificate) are read then too.
//!
//! Credentials are kept out of every message: [`Config::shown`] is the URL without its userinfo,
//! and header values are never part of one (a bad header names only its key).

use base64::Engine;
use hyper::Uri;
use hyper::header::{AUTHORIZATION, HeaderName, HeaderValue};
use std::time::Duration;

/// The OTLP transports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// `http/protobuf`: a POST of the protobuf request to `/v1/metrics` (default port 4318).
    HttpProtobuf,
    /// `grpc`: the `MetricsService/Export` call (default port 4317).
    Grpc,
}

/// PEM files, already read.
#[derive(Clone, Debug, Default)]
pub struct Tls {
    /// `OTEL_EXPORTER_OTLP_CERTIFICATE`: the CA bundle to trust instead of the system's.
    pub ca: Option<Vec<u8>>,
    /// `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE` and `_CLIENT_KEY`: for a collector asking for
    /// client certificates (mTLS).
    pub client: Option<(Vec<u8>, Vec<u8>)>,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub protocol: Protocol,
    /// The URL requests go to, without userinfo (that became an `Authorization` header).
    pub uri: Uri,
    /// [`Self::uri`] as said in messages.
    pub shown: String,
    /// `OTEL_EXPORTER_OTLP_HEADERS`, and basic auth from the URL's userinfo; marked sensitive.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// `OTEL_EXPORTER_OTLP_COMPRESSION=gzip`.
    pub gzip: bool,
    /// `OTEL_EXPORTER_OTLP_TIMEOUT` (milliseconds): the most one export may take, default 10 s.
    pub timeout: Duration,
    pub tls: Tls,
}

impl Config {
    /// Settings that are valid but do nothing here, for a warning: the same environment often
    /// serves several exporters, so they are not errors.
    pub fn unused(&self) -> Option<String> {
        (self.uri.scheme_str() == Some("http")
            && (self.tls.ca.is_some() || self.tls.client.is_some()))
        .then(|| {
            format!(
                "OTLP to {} is plain http; the certificate settings are not used",
                self.shown
            )
        })
    }
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// An environment to read: `std::env::var` in gprobe, a table in tests.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, with empty values treated as unset (as the specification asks).
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The metrics variant of a setting if set, else the general one; with the name it came from.
fn setting(env: Env, what: &str) -> Option<(String, String)> {
    [
        format!("OTEL_EXPORTER_OTLP_METRICS_{what}"),
        format!("OTEL_EXPORTER_OTLP_{what}"),
    ]
    .into_iter()
    .find_map(|name| env(&name).map(|v| (name, v.trim().to_string())))
}

impl Config {
    /// The configuration for `--otlp` (`url`: its value, `None` or empty to take the endpoint
    /// from the environment).
    pub fn new(url: Option<&str>, env: Env) -> Result<Config, String> {
        let protocol = match setting(env, "PROTOCOL") {
            None => Protocol::HttpProtobuf,
            Some((_, p)) if p == "http/protobuf" => Protocol::HttpProtobuf,
            Some((_, p)) if p == "grpc" => Protocol::Grpc,
            Some((name, p)) if p == "http/json" => {
                return Err(format!(
                    "{name}=http/json is not supported; use http/protobuf or grpc"
                ));
            }
            Some((name, p)) => {
                return Err(format!(
                    "{name}={p:?}: unknown protocol (use http/protobuf or grpc)"
                ));
            }
        };
        let url = url.map(str::trim).filter(|u| !u.is_empty());
        // (URL, where it came from, whether `/v1/metrics` is appended to its path)
        let (text, origin, append) = match url {
            Some(u) => (u.to_string(), "--otlp".to_string(), Append::IfNoPath),
            None => match env("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") {
                Some(u) => (
                    u.trim().to_string(),
                    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT".into(),
                    Append::Never,
                ),
                None => match env("OTEL_EXPORTER_OTLP_ENDPOINT") {
                    Some(u) => (
                        u.trim().to_string(),
                        "OTEL_EXPORTER_OTLP_ENDPOINT".into(),
                        Append::Always,
                    ),
                    None => (
                        match protocol {
                            Protocol::HttpProtobuf => "http://localhost:4318",
                            Protocol::Grpc => "http://localhost:4317",
                        }
                        .into(),
                        "the default endpoint".into(),
                        Append::Always,
                    ),
                },
            },
        };
        let (uri, userinfo) = parse_url(&text, &origin, protocol, append)?;
        let shown = uri.to_string();
        let mut headers = Vec::new();
        if let Some(userinfo) = userinfo {
            let decoded = percent_decode(&userinfo);
            let token = base64::engine::general_purpose::STANDARD.encode(decoded.as_bytes());
            let mut value = HeaderValue::try_from(format!("Basic {token}")).map_err(|_| {
                format!("{origin} {shown}: the URL's user and password are not valid in a header")
            })?;
            value.set_sensitive(true);
            headers.push((AUTHORIZATION, value));
        }
        // The metrics headers are added to the general ones, replacing any of the same name.
        for name in [
            "OTEL_EXPORTER_OTLP_HEADERS",
            "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
        ] {
            if let Some(list) = env(name) {
                for (key, value) in parse_headers(&list, name)? {
                    headers.retain(|(k, _)| *k != key);
                    headers.push((key, value));
                }
            }
        }
        let gzip = match setting(env, "COMPRESSION") {
            None => false,
            Some((_, c)) if c == "gzip" => true,
            Some((_, c)) if c == "none" => false,
            Some((name, c)) => {
                return Err(format!(
                    "{name}={c:?}: unknown compression (use gzip or none)"
                ));
            }
        };
        let timeout = match setting(env, "TIMEOUT") {
            None => DEFAULT_TIMEOUT,
            Some((name, t)) => match t.parse::<u64>() {
                Ok(ms) if ms > 0 => Duration::from_millis(ms),
                _ => {
                    return Err(format!(
                        "{name}={t:?}: expected a timeout in milliseconds above 0 (e.g. 10000)"
                    ));
                }
            },
        };
        let read = |(name, path): (String, String)| {
            std::fs::read(&path).map_err(|e| format!("{name}: cannot read {path}: {e}"))
        };
        let ca = setting(env, "CERTIFICATE").map(read).transpose()?;
        let client = match (
            setting(env, "CLIENT_CERTIFICATE"),
            setting(env, "CLIENT_KEY"),
        ) {
            (Some(cert), Some(key)) => Some((read(cert)?, read(key)?)),
            (None, None) => None,
            (Some((name, _)), None) | (None, Some((name, _))) => {
                return Err(format!(
                    "{name} is set without its pair (a client certificate needs both \
                     OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and OTEL_EXPORTER_OTLP_CLIENT_KEY)"
                ));
            }
        };
        let tls = Tls { ca, client };
        Ok(Config {
            protocol,
            uri,
            shown,
            headers,
            gzip,
            timeout,
            tls,
        })
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Append {
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` is a base URL: `/v1/metrics` goes after its path.
    Always,
    /// `--otlp URL`: a URL without a path gets `/v1/metrics`, any other path is used as given.
    IfNoPath,
    /// `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` is used as is.
    Never,
}

/// The URL without userinfo, and the userinfo (still percent-encoded).
fn parse_url(
    text: &str,
    origin: &str,
    protocol: Protocol,
    append: Append,
) -> Result<(Uri, Option<String>), String> {
    // Parsed without the userinfo, so no error message can ever contain it.
    let (scheme, rest) = text.split_once("://").ok_or_else(|| {
        let hint = if origin == "--otlp" {
            " (to take the endpoint from OTEL_EXPORTER_OTLP_ENDPOINT, put --otlp after FILE or \
             right before another option)"
        } else {
            ""
        };
        format!(
            "{origin} {}: expected an http:// or https:// URL, e.g. http://127.0.0.1:4318{hint}",
            strip_userinfo(text)
        )
    })?;
    let (authority, path_and_query) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let (userinfo, host) = match authority.rsplit_once('@') {
        Some((user, host)) => (Some(user.to_string()), host),
        None => (None, authority),
    };
    let shown = format!("{scheme}://{host}{path_and_query}");
    if scheme != "http" && scheme != "https" {
        return Err(format!(
            "{origin} {shown}: expected an http:// or https:// URL"
        ));
    }
    if host.is_empty() || host.starts_with(':') {
        return Err(format!("{origin} {shown}: no host"));
    }
    // hyper's Uri keeps a port it cannot read; checked here so the error comes now.
    if let Some((_, port)) = host.rsplit_once(':')
        && !port.contains(']')
        && !port.parse::<u16>().is_ok_and(|p| p > 0)
    {
        return Err(format!("{origin} {shown}: bad port {port:?}"));
    }
    let path = match protocol {
        // gRPC names its method in the path: the URL's own path is not used.
        Protocol::Grpc => String::new(),
        Protocol::HttpProtobuf => {
            let path = path_and_query;
            match append {
                Append::Never => path.to_string(),
                Append::IfNoPath if !(path.is_empty() || path == "/") => path.to_string(),
                _ => format!("{}/v1/metrics", path.trim_end_matches('/')),
            }
        }
    };
    let uri: Uri = format!("{scheme}://{host}{path}")
        .parse()
        .map_err(|e| format!("{origin} {shown}: {e}"))?;
    Ok((uri, userinfo))
}

/// `scheme://user:pass@host/...` without `user:pass@`, for messages about a bad URL.
pub fn strip_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return match url.rsplit_once('@') {
            Some((_, host)) => host.to_string(),
            None => url.to_string(),
        };
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    match rest[..end].rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://{host}{}", &rest[end..]),
        None => url.to_string(),
    }
}

/// `key1=value1,key2=value2` with percent-encoded values (the W3C Baggage form the
/// specification gives `OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_RESOURCE_ATTRIBUTES`).
pub fn parse_pairs(list: &str, name: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    for (i, item) in list.split(',').enumerate() {
        if item.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = item.split_once('=') else {
            return Err(format!(
                "{name}: entry {} has no `=` (expected key=value,key=value)",
                i + 1
            ));
        };
        let key = percent_decode(key.trim());
        if key.is_empty() {
            return Err(format!("{name}: entry {} has an empty key", i + 1));
        }
        pairs.push((key, percent_decode(value.trim())));
    }
    Ok(pairs)
}

fn parse_headers(list: &str, name: &str) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    parse_pairs(list, name)?
        .into_iter()
        .map(|(key, value)| {
            let header = HeaderName::try_from(key.as_str())
                .map_err(|_| format!("{name}: {key:?} is not a valid header name"))?;
            // The value is not said: it is often a token.
            let mut value = HeaderValue::try_from(value)
                .map_err(|_| format!("{name}: the value of {key} is not valid in a header"))?;
            value.set_sensitive(true);
            Ok((header, value))
        })
        .collect()
}

/// `OTEL_RESOURCE_ATTRIBUTES`, then `OTEL_SERVICE_NAME` as `service.name` (which wins).
pub fn resource_attributes(env: Env) -> Result<Vec<(String, String)>, String> {
    let mut attributes = match env("OTEL_RESOURCE_ATTRIBUTES") {
        Some(list) => parse_pairs(&list, "OTEL_RESOURCE_ATTRIBUTES")?,
        None => Vec::new(),
    };
    if let Some(service) = env("OTEL_SERVICE_NAME") {
        attributes.retain(|(k, _)| k != "service.name");
        attributes.push(("service.name".into(), service.trim().to_string()));
    }
    Ok(attributes)
}

/// `%XX` sequences decoded (UTF-8); anything malformed is kept as written.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(url: Option<&str>, vars: &[(&str, &str)]) -> Result<Config, String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::new(url, &|name| vars.get(name).cloned())
    }

    #[test]
    fn endpoints() {
        let c = config(None, &[]).unwrap();
        assert_eq!(c.shown, "http://localhost:4318/v1/metrics");
        assert_eq!(c.protocol, Protocol::HttpProtobuf);
        assert_eq!(c.timeout, DEFAULT_TIMEOUT);
        let c = config(None, &[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]).unwrap();
        assert_eq!(
            (c.protocol, c.shown.as_str()),
            (Protocol::Grpc, "http://localhost:4317/")
        );
        let c = config(Some("http://127.0.0.1:4318"), &[]).unwrap();
        assert_eq!(c.shown, "http://127.0.0.1:4318/v1/metrics");
        let c = config(Some("http://collector/otlp/custom"), &[]).unwrap();
        assert_eq!(c.shown, "http://collector/otlp/custom");
        let base = [(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "https://c.example:4318/base/",
        )];
        assert_eq!(
            config(None, &base).unwrap().shown,
            "https://c.example:4318/base/v1/metrics"
        );
        let both = [
            base[0],
            ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:9/x"),
        ];
        assert_eq!(config(None, &both).unwrap().shown, "http://m:9/x");
        // The command line wins over the environment.
        assert_eq!(
            config(Some("http://cli:1"), &both).unwrap().shown,
            "http://cli:1/v1/metrics"
        );
        assert!(
            config(Some("x:4318"), &[])
                .unwrap_err()
                .contains("put --otlp after FILE")
        );
        assert!(config(Some("ftp://h"), &[]).is_err());
        assert!(config(Some("http://h:port"), &[]).is_err());
        assert!(config(Some("http://"), &[]).is_err());
    }

    #[test]
    fn userinfo_is_a_header_and_never_shown() {
        let c = config(Some("https://us%40er:p%3Ass@h:1/x"), &[]).unwrap();
        assert_eq!(c.shown, "https://h:1/x");
        let (name, value) = &c.headers[0];
        assert_eq!(name, AUTHORIZATION);
        // base64("us@er:p:ss")
        assert_eq!(value, "Basic dXNAZXI6cDpzcw==");
        assert!(value.is_sensitive());
        for bad in [
            "user:secret@h:1",
            "http://user:secret@h:port",
            "gopher://user:secret@h",
        ] {
            let e = config(Some(bad), &[]).unwrap_err();
            assert!(!e.contains("secret"), "{e}");
        }
        assert_eq!(strip_userinfo("http://a:b@h/p?q=1"), "http://h/p?q=1");
    }

    #[test]
    fn settings_from_the_environment() {
        let c = config(
            None,
            &[
                ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=a%20b,x-a=1"),
                ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "x-a=2"),
                ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
                ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "700"),
            ],
        )
        .unwrap();
        let headers: Vec<(&str, &str)> = c
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.to_str().unwrap()))
            .collect();
        assert_eq!(headers, [("api-key", "a b"), ("x-a", "2")]);
        assert!(c.gzip);
        assert_eq!(c.timeout, Duration::from_millis(700));
        for (var, value) in [
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "udp"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "10s"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "novalue"),
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/ca.pem"),
            ("OTEL_EXPORTER_OTLP_CLIENT_KEY", "/k.pem"),
        ] {
            let e = config(None, &[(var, value)]).unwrap_err();
            assert!(e.contains(var), "{e}");
        }
        let e = config(None, &[("OTEL_EXPORTER_OTLP_HEADERS", "k=top\nsecret")]).unwrap_err();
        assert!(e.contains("k") && !e.contains("secret"), "{e}");
    }

    #[test]
    fn resource_from_the_environment() {
        let vars: HashMap<&str, &str> = [
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "service.name=a,deployment.environment=prod%2Ceu, k = v ",
            ),
            ("OTEL_SERVICE_NAME", "svc"),
        ]
        .into();
        let attrs = resource_attributes(&|n| vars.get(n).map(|v| v.to_string())).unwrap();
        let attrs: Vec<(&str, &str)> = attrs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            attrs,
            [
                ("deployment.environment", "prod,eu"),
                ("k", "v"),
                ("service.name", "svc")
            ]
        );
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
