//! OTLP over HTTP (`http/protobuf`): a POST of the encoded request, on hyper's client with
//! rustls for `https://`. The answer is read as the specification says: 2xx is success (its
//! body may carry a partial success), 429/502/503/504 may be retried (after `Retry-After`
//! when given), anything else is final.

use super::config::{Config, Tls};
use super::exporter::Outcome;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderMap, RETRY_AFTER, USER_AGENT};
use hyper::{Method, Request, StatusCode};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use prost::Message;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The most of an answer's body read (a status message, a partial success).
const MAX_ANSWER: usize = 64 * 1024;

pub struct HttpExporter {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    config: Arc<Config>,
}

impl HttpExporter {
    /// Must run inside the exporter's tokio runtime (the pool's idle timer).
    pub fn new(config: Arc<Config>) -> Result<HttpExporter, String> {
        let tls = client_tls(&config.tls)?;
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_timer(hyper_util::rt::TokioTimer::new())
            .build(connector);
        Ok(HttpExporter { client, config })
    }

    /// One POST; the caller bounds its time.
    pub async fn export(&self, request: &ExportMetricsServiceRequest) -> Outcome {
        let mut body = request.encode_to_vec();
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri(self.config.uri.clone())
            .header(CONTENT_TYPE, "application/x-protobuf")
            .header(USER_AGENT, concat!("gprobe/", env!("CARGO_PKG_VERSION")));
        if self.config.gzip {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            body = match gz.write_all(&body).and_then(|()| gz.finish()) {
                Ok(zipped) => zipped,
                Err(e) => return Outcome::Failed(format!("compressing the request: {e}")),
            };
            builder = builder.header(CONTENT_ENCODING, "gzip");
        }
        for (name, value) in &self.config.headers {
            builder = builder.header(name, value);
        }
        let request = match builder.body(Full::new(Bytes::from(body))) {
            Ok(r) => r,
            Err(e) => return Outcome::Failed(format!("building the request: {e}")),
        };
        let response = match self.client.request(request).await {
            Ok(r) => r,
            // Not reaching the collector (refused, reset, TLS failed) is transient by nature.
            Err(e) => return Outcome::Retry(connect_error(&e), None),
        };
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let protobuf = response
            .headers()
            .get(CONTENT_TYPE)
            .is_some_and(|t| t.as_bytes().starts_with(b"application/x-protobuf"));
        let body = match Limited::new(response.into_body(), MAX_ANSWER)
            .collect()
            .await
        {
            Ok(b) => b.to_bytes(),
            Err(_) => Bytes::new(),
        };
        if status.is_success() {
            let rejected = ExportMetricsServiceResponse::decode(body.as_ref())
                .ok()
                .and_then(|r| r.partial_success)
                .filter(|p| p.rejected_data_points > 0 || !p.error_message.is_empty())
                .map(|p| (p.rejected_data_points, p.error_message));
            return Outcome::Sent { rejected };
        }
        let reason = format!(
            "the collector answered {}{}",
            status,
            status_message(&body, protobuf)
        );
        match status {
            StatusCode::TOO_MANY_REQUESTS
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT => Outcome::Retry(reason, retry_after),
            _ => Outcome::Failed(reason),
        }
    }
}

/// rustls for `https://`: the CA file if given, else the system's certificates.
fn client_tls(tls: &Tls) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    match &tls.ca {
        Some(pem) => {
            let certs = CertificateDer::pem_slice_iter(pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("OTEL_EXPORTER_OTLP_CERTIFICATE: {e}"))?;
            if certs.is_empty() {
                return Err("OTEL_EXPORTER_OTLP_CERTIFICATE: no certificate in the file".into());
            }
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|e| format!("OTEL_EXPORTER_OTLP_CERTIFICATE: {e}"))?;
            }
        }
        None => {
            // Unreadable entries are skipped, as other TLS clients do; no CA at all only
            // matters for https, where the handshake then says so.
            let native = rustls_native_certs::load_native_certs();
            let _ = roots.add_parsable_certificates(native.certs);
        }
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS: {e}"))?
    .with_root_certificates(roots);
    match &tls.client {
        None => Ok(builder.with_no_client_auth()),
        Some((cert, key)) => {
            let chain = CertificateDer::pem_slice_iter(cert)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: {e}"))?;
            let key = PrivateKeyDer::from_pem_slice(key)
                .map_err(|e| format!("OTEL_EXPORTER_OTLP_CLIENT_KEY: {e}"))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("OTEL_EXPORTER_OTLP_CLIENT_KEY: {e}"))
        }
    }
}

/// hyper's error with its cause (hyper's own text is only "client error (Connect)").
fn connect_error(e: &hyper_util::client::legacy::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

/// `Retry-After`: seconds, or an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// `: message` from an error answer's body: a `google.rpc.Status` when it is protobuf (as the
/// specification asks), else its text; cut short and kept to one line.
fn status_message(body: &[u8], protobuf: bool) -> String {
    let message = if protobuf {
        match tonic_types::Status::decode(body) {
            Ok(s) => s.message,
            Err(_) => return String::new(),
        }
    } else {
        match std::str::from_utf8(body) {
            Ok(t) if !t.contains('\0') => t.trim().to_string(),
            _ => return String::new(),
        }
    };
    if message.is_empty() {
        return String::new();
    }
    let mut one_line: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    if message.chars().count() > 200 {
        one_line.push('…');
    }
    format!(": {one_line}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    #[test]
    fn retry_after_forms() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("30"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(30)));
        let later = SystemTime::now() + Duration::from_secs(120);
        h.insert(
            RETRY_AFTER,
            HeaderValue::try_from(httpdate::fmt_http_date(later)).unwrap(),
        );
        let d = retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(110) && d <= Duration::from_secs(120),
            "{d:?}"
        );
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn status_messages() {
        let s = tonic_types::Status {
            code: 3,
            message: "too big\nreally".into(),
            details: vec![],
        };
        assert_eq!(status_message(&s.encode_to_vec(), true), ": too big really");
        assert_eq!(
            status_message(b"payload too large", false),
            ": payload too large"
        );
        assert_eq!(status_message(b"", true), "");
        assert_eq!(status_message(b"", false), "");
    }
}
