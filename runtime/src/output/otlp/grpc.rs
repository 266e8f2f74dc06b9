//! OTLP over gRPC: `MetricsService/Export` with the client opentelemetry-proto generates for
//! tonic. Status codes are read as the specification says: UNAVAILABLE and the other transient
//! codes may be retried, RESOURCE_EXHAUSTED only when the server sent `RetryInfo` (then after
//! its delay), anything else is final.

use super::config::Config;
use super::exporter::Outcome;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use std::sync::Arc;
use tonic::codec::CompressionEncoding;
use tonic::metadata::{MetadataKey, MetadataValue};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::{Code, Status};
use tonic_types::StatusExt;

pub struct GrpcExporter {
    client: MetricsServiceClient<Channel>,
    /// The headers as gRPC metadata, checked once.
    metadata: Vec<(
        MetadataKey<tonic::metadata::Ascii>,
        MetadataValue<tonic::metadata::Ascii>,
    )>,
    config: Arc<Config>,
}

impl GrpcExporter {
    /// Must run inside the exporter's tokio runtime; connects lazily, at the first export.
    pub fn new(config: Arc<Config>) -> Result<GrpcExporter, String> {
        let mut endpoint = Endpoint::from(config.uri.clone())
            .connect_timeout(config.timeout)
            .user_agent(concat!("gprobe/", env!("CARGO_PKG_VERSION")))
            .map_err(|e| format!("gRPC: {e}"))?;
        if config.uri.scheme_str() == Some("https") {
            let mut tls = ClientTlsConfig::new();
            tls = match &config.tls.ca {
                Some(pem) => tls.ca_certificate(Certificate::from_pem(pem)),
                None => tls.with_native_roots(),
            };
            if let Some((cert, key)) = &config.tls.client {
                tls = tls.identity(Identity::from_pem(cert, key));
            }
            endpoint = endpoint
                .tls_config(tls)
                .map_err(|e| format!("OTLP TLS settings: {}", chain(&e)))?;
        }
        let mut client = MetricsServiceClient::new(endpoint.connect_lazy());
        if config.gzip {
            client = client.send_compressed(CompressionEncoding::Gzip);
        }
        let metadata = config
            .headers
            .iter()
            .map(|(name, value)| {
                let key = MetadataKey::from_bytes(name.as_str().as_bytes()).map_err(|_| {
                    format!("OTEL_EXPORTER_OTLP_HEADERS: {name} is not valid gRPC metadata")
                })?;
                let value = MetadataValue::try_from(value.as_bytes()).map_err(|_| {
                    format!(
                        "OTEL_EXPORTER_OTLP_HEADERS: the value of {name} is not valid gRPC metadata"
                    )
                })?;
                Ok((key, value))
            })
            .collect::<Result<_, String>>()?;
        Ok(GrpcExporter {
            client,
            metadata,
            config,
        })
    }

    /// One call; the caller bounds its time (the deadline is also sent as `grpc-timeout`).
    pub async fn export(&self, request: &ExportMetricsServiceRequest) -> Outcome {
        let mut call = tonic::Request::new(request.clone());
        call.set_timeout(self.config.timeout);
        for (key, value) in &self.metadata {
            call.metadata_mut().insert(key.clone(), value.clone());
        }
        match self.client.clone().export(call).await {
            Ok(answer) => Outcome::Sent {
                rejected: answer
                    .into_inner()
                    .partial_success
                    .filter(|p| p.rejected_data_points > 0 || !p.error_message.is_empty())
                    .map(|p| (p.rejected_data_points, p.error_message)),
            },
            Err(status) => outcome_of(&status),
        }
    }
}

/// The specification's table of retryable codes.
fn outcome_of(status: &Status) -> Outcome {
    let delay = status.get_details_retry_info().and_then(|r| r.retry_delay);
    let reason = describe(status);
    match status.code() {
        Code::Cancelled
        | Code::DeadlineExceeded
        | Code::Aborted
        | Code::OutOfRange
        | Code::Unavailable
        | Code::DataLoss => Outcome::Retry(reason, delay),
        // Only a server that says when to come back has capacity to come back to.
        Code::ResourceExhausted if delay.is_some() => Outcome::Retry(reason, delay),
        _ => Outcome::Failed(reason),
    }
}

fn describe(status: &Status) -> String {
    let code = code_name(&format!("{:?}", status.code()));
    // tonic's own errors (refused, TLS, connect timeout) keep the cause in the source chain:
    // no answer came from the collector.
    if let Some(source) = std::error::Error::source(status) {
        return format!("cannot reach the collector ({code}): {}", chain(source));
    }
    let message: String = status
        .message()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    match message.is_empty() {
        true => format!("the collector answered {code}"),
        false => format!("the collector answered {code}: {message}"),
    }
}

/// `ResourceExhausted` as the specification writes codes: `RESOURCE_EXHAUSTED`.
fn code_name(debug: &str) -> String {
    let mut out = String::new();
    for (i, c) in debug.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text = format!("{text}: {s_text}");
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tonic_types::{ErrorDetails, StatusExt};

    #[test]
    fn retryable_codes() {
        let retried = |s: &Status| match outcome_of(s) {
            Outcome::Retry(_, delay) => Some(delay),
            _ => None,
        };
        assert_eq!(retried(&Status::unavailable("down")), Some(None));
        assert_eq!(retried(&Status::invalid_argument("bad")), None);
        assert_eq!(retried(&Status::resource_exhausted("full")), None);
        let with_info = Status::with_error_details(
            Code::ResourceExhausted,
            "full",
            ErrorDetails::with_retry_info(Some(Duration::from_secs(3))),
        );
        assert_eq!(retried(&with_info), Some(Some(Duration::from_secs(3))));
        match outcome_of(&Status::permission_denied("no")) {
            Outcome::Failed(reason) => {
                assert_eq!(reason, "the collector answered PERMISSION_DENIED: no")
            }
            _ => panic!(),
        }
    }
}
