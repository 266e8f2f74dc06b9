//! Real peers for the exporters: prometheus_client's parsers and an OTLP receiver (HTTP or
//! gRPC, tests/support/otlp_collector.py) that decodes with the official opentelemetry-proto
//! definitions (all from PyPI, installed by scripts/install-deps into the cache).

use super::{line_channel, python_with, repo_root, text};
use std::process::{Command, Stdio};
use std::time::Duration;

/// `python3` with the cached parsers: prometheus_client and the official OTLP protobuf
/// definitions. `None` (skip) when they are missing outside CI; under CI, a failure.
pub fn python_with_parsers() -> Option<Command> {
    python_with(
        "prometheus_client.parser, opentelemetry.proto.collector.metrics.v1.metrics_service_pb2",
        "the Python parsers",
    )
}

/// `python3` for [`OtlpReceiver`]; with `grpc`, also grpcio and grpcio-status for its gRPC
/// server.
pub fn python_for_otlp(grpc: bool) -> Option<Command> {
    let mut modules = "opentelemetry.proto.collector.metrics.v1.metrics_service_pb2".to_string();
    if grpc {
        modules += ", grpc, grpc_status.rpc_status, google.rpc.error_details_pb2, \
                    opentelemetry.proto.collector.metrics.v1.metrics_service_pb2_grpc";
    }
    python_with(&modules, "opentelemetry-proto, grpcio and grpcio-status")
}

/// Both of prometheus_client's parsers (text 0.0.4 and OpenMetrics) on the page; prints the
/// families as JSON.
const PROMETHEUS_PARSER: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families as text_families
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_families
fmt, page = sys.argv[1], sys.stdin.read()
parse = om_families if fmt == "openmetrics" else text_families
out = []
for f in parse(page):
    out.append({"name": f.name, "type": f.type, "unit": getattr(f, "unit", ""),
                "samples": [[s.name, s.labels, s.value] for s in f.samples]})
print(json.dumps(out))
"#;

/// The page parsed by prometheus_client (`format`: `text` or `openmetrics`); a page the parser
/// rejects fails the test.
pub fn parse_page(python: &mut Command, format: &str, page: &str) -> Vec<serde_json::Value> {
    let parsed = python
        .args(["-c", PROMETHEUS_PARSER, format])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(page.as_bytes())?;
            child.wait_with_output()
        })
        .expect("run the Prometheus parser");
    assert!(
        parsed.status.success(),
        "the {format} parser rejected:\n{page}\n{}",
        text(&parsed.stderr)
    );
    serde_json::from_slice(&parsed.stdout).unwrap()
}

/// The OTLP receiver, running; the requests it decoded so far in `seen`.
pub struct OtlpReceiver {
    child: std::process::Child,
    pub port: u16,
    lines: std::sync::mpsc::Receiver<String>,
    pub seen: Vec<serde_json::Value>,
}

impl OtlpReceiver {
    /// An HTTP receiver answering 200.
    pub fn start(python: Command) -> OtlpReceiver {
        OtlpReceiver::start_with(python, &[])
    }

    /// tests/support/otlp_collector.py with these arguments (gRPC, TLS, the answers to give):
    /// it decodes each request with the official definitions and prints it as a JSON line
    /// (arrival time `t`, `path`, `type`, `headers`, `request`).
    pub fn start_with(mut python: Command, args: &[&str]) -> OtlpReceiver {
        let mut child = python
            .arg(repo_root().join("tests/support/otlp_collector.py"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the OTLP receiver");
        let lines = line_channel(child.stdout.take().unwrap());
        let port = lines
            .recv_timeout(Duration::from_secs(30))
            .expect("receiver port")
            .trim()
            .parse()
            .unwrap();
        OtlpReceiver {
            child,
            port,
            lines,
            seen: Vec::new(),
        }
    }

    /// Takes what arrived since the last call; how many requests that was.
    pub fn take_new(&mut self) -> usize {
        let before = self.seen.len();
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(serde_json::from_str(&line).unwrap());
        }
        self.seen.len() - before
    }

    /// Waits (generously) until at least `n` requests came.
    pub fn wait_for(&mut self, n: usize) {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while {
            self.take_new();
            self.seen.len() < n
        } {
            assert!(
                std::time::Instant::now() < deadline,
                "the receiver got {} requests, not {n}",
                self.seen.len()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The metric called `name` in a decoded request, if there is one.
pub fn find_metric<'a>(
    request: &'a serde_json::Value,
    name: &str,
) -> Option<&'a serde_json::Value> {
    request["request"]["resourceMetrics"][0]["scopeMetrics"][0]["metrics"]
        .as_array()?
        .iter()
        .find(|m| m["name"] == name)
}

/// A protobuf-JSON integer (64-bit ones are strings).
pub fn int_of(v: &serde_json::Value) -> i64 {
    v.as_str()
        .map(|s| s.parse().unwrap())
        .or_else(|| v.as_i64())
        .unwrap_or_else(|| panic!("not an integer: {v}"))
}

/// One HTTP/1.1 GET of /metrics with extra `headers`; the body, `None` while nothing answers.
pub fn scrape(port: u16, headers: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: x\r\n{headers}Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_string())
}
