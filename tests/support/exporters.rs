//! Real peers for the exporters: prometheus_client's parsers and an OTLP/HTTP receiver that
//! decodes with the official opentelemetry-proto definitions (both from PyPI, installed by
//! scripts/install-deps into the cache).

use super::{cache_dir, line_channel, text, under_ci};
use std::process::{Command, Stdio};
use std::time::Duration;

/// `python3` with the cached parsers: prometheus_client and the official OTLP protobuf
/// definitions. `None` (skip) when they are missing outside CI; under CI, a failure.
pub fn python_with_parsers() -> Option<Command> {
    let py = cache_dir().join("py");
    let probe = Command::new("python3")
        .env("PYTHONPATH", &py)
        .args([
            "-c",
            "import prometheus_client.parser, opentelemetry.proto.collector.metrics.v1.metrics_service_pb2",
        ])
        .output();
    if probe.is_ok_and(|o| o.status.success()) {
        let mut cmd = Command::new("python3");
        cmd.env("PYTHONPATH", &py);
        return Some(cmd);
    }
    let why = "the Python parsers (run scripts/install-deps)";
    assert!(!under_ci(), "test needs {why}; under CI this is a failure");
    eprintln!("skipped: test needs {why}");
    None
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

/// An OTLP/HTTP receiver decoding each body with the official protobuf definitions; prints
/// one JSON line per request (the path and the decoded request).
const OTLP_RECEIVER: &str = r#"
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest, ExportMetricsServiceResponse)

class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        req = ExportMetricsServiceRequest()
        req.ParseFromString(body)
        print(json.dumps({"path": self.path, "type": self.headers["Content-Type"],
                          "request": MessageToDict(req)}), flush=True)
        reply = ExportMetricsServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)
    def log_message(self, *args):
        pass

server = HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

/// The OTLP receiver, running; the requests it decoded so far in `seen`.
pub struct OtlpReceiver {
    child: std::process::Child,
    pub port: u16,
    lines: std::sync::mpsc::Receiver<String>,
    pub seen: Vec<serde_json::Value>,
}

impl OtlpReceiver {
    pub fn start(mut python: Command) -> OtlpReceiver {
        let mut child = python
            .args(["-c", OTLP_RECEIVER])
            .stdout(Stdio::piped())
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
