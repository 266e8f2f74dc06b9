//! End-to-end tests of the OTLP exporter against real peers: a gRPC server on grpcio and an
//! HTTP server (over TLS with gzip, or answering 429, 503, 413, or never), both decoding with the
//! official definitions from PyPI (`tests/support/otlp_collector.py`). What the OpenTelemetry
//! specification asks of an exporter is checked as a collector sees it: retries only of
//! retryable answers, after `Retry-After`, with backoff; warnings while tracing runs; a bounded
//! queue; exit within a second of Ctrl-C whatever the collector does; no credential printed.

mod support;

use serde_json::Value;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::exporters::{OtlpReceiver, find_metric, python_for_otlp};
use support::*;

/// Maps filled in BEGIN; the probe keeps tracing running until SIGINT.
const SCRIPT: &str = "BEGIN { @x = count(); @h = hist(5); }";

/// gprobe in the background, attached; stderr lines arrive on a channel as they are written.
struct Gprobe {
    child: Option<std::process::Child>,
    stderr: mpsc::Receiver<String>,
    said: Vec<String>,
}

impl Gprobe {
    fn start(args: &[&str], env: &[(&str, &str)]) -> Gprobe {
        let mut child = Command::new(gprobe_bin())
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start gprobe");
        let stdout = line_channel(child.stdout.take().unwrap());
        let stderr = line_channel(child.stderr.take().unwrap());
        match stdout.recv_timeout(Duration::from_secs(120)) {
            Ok(line) if line.starts_with("Attaching") => {}
            other => panic!(
                "gprobe did not attach: {other:?}; stderr: {:?}",
                stderr.try_iter().collect::<Vec<_>>()
            ),
        }
        // The rest of stdout is drained, so gprobe never blocks on it.
        std::thread::spawn(move || stdout.iter().for_each(drop));
        Gprobe {
            child: Some(child),
            stderr,
            said: Vec::new(),
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Everything on stderr so far, one string.
    fn stderr(&mut self) -> String {
        self.said.extend(self.stderr.try_iter());
        self.said.join("\n")
    }

    /// Waits (generously) until stderr has a line containing `text`.
    fn wait_to_say(&mut self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.stderr().contains(text) {
            assert!(
                Instant::now() < deadline,
                "gprobe never said {text:?}; it said:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// VmRSS in KiB.
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    /// SIGINT; how long it took to exit, and all of stderr.
    fn interrupt(mut self) -> (Duration, String) {
        let mut child = self.child.take().unwrap();
        let sent = Instant::now();
        let status = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(
                sent.elapsed() < Duration::from_secs(60),
                "gprobe did not exit"
            );
            std::thread::sleep(Duration::from_millis(5));
        };
        let took = sent.elapsed();
        // stderr closes with the process: the rest of it is there.
        self.said.extend(self.stderr.iter());
        assert!(status.success(), "gprobe failed: {}", self.said.join("\n"));
        (took, self.said.join("\n"))
    }
}

impl Drop for Gprobe {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn metric<'a>(request: &'a Value, name: &str) -> &'a Value {
    find_metric(request, name).unwrap_or_else(|| panic!("no metric {name} in {request}"))
}

/// When the export was made: every periodic export has its own (a retry has the same).
fn export_time(request: &Value) -> String {
    metric(request, "x")["sum"]["dataPoints"][0]["timeUnixNano"].to_string()
}

fn resource(request: &Value) -> std::collections::HashMap<String, String> {
    request["request"]["resourceMetrics"][0]["resource"]["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|kv| {
            let v = &kv["value"];
            let value = v["stringValue"]
                .as_str()
                .map_or_else(|| v.to_string(), str::to_string);
            (kv["key"].as_str().unwrap().to_string(), value)
        })
        .collect()
}

fn gap(a: &Value, b: &Value) -> f64 {
    b["t"].as_f64().unwrap() - a["t"].as_f64().unwrap()
}

/// A CA, and a certificate for localhost and 127.0.0.1 signed by it (rustls takes no
/// self-signed CA as a server's certificate), made by openssl in `dir`: (CA, cert, key).
fn certificates(dir: &TempDir) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=gprobe test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            "key.pem",
            "-out",
            "cert.csr",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "cert.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-copy_extensions",
            "copy",
            "-out",
            "cert.pem",
        ],
    );
    (
        dir.path("ca.pem"),
        dir.path("cert.pem"),
        dir.path("key.pem"),
    )
}

/// gRPC (`OTEL_EXPORTER_OTLP_PROTOCOL=grpc`, `--otlp` alone takes the endpoint from the
/// environment) to grpcio's server with the official service definition: decoded, with the
/// headers as metadata, gzip, the resource from `OTEL_RESOURCE_ATTRIBUTES`/`OTEL_SERVICE_NAME`;
/// an UNAVAILABLE answer is retried after a backoff; the final export arrives.
#[test]
fn otlp_grpc_to_a_grpcio_server() {
    if !e2e_ready() {
        return;
    }
    let Some(python) = python_for_otlp(true) else {
        return;
    };
    let mut collector = OtlpReceiver::start_with(python, &["grpc", "--answers", "UNAVAILABLE,OK"]);
    let _k = kernel_lock();
    let endpoint = format!("http://127.0.0.1:{}", collector.port);
    let gprobe = Gprobe::start(
        &["-e", SCRIPT, "--interval", "200ms", "--otlp"],
        &[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-team=probes%20team,x-n=1"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment=test,service.name=not-this",
            ),
            ("OTEL_SERVICE_NAME", "svc-grpc"),
        ],
    );
    collector.wait_for(3);
    let (took, stderr) = gprobe.interrupt();
    let n = collector.seen.len();
    collector.wait_for(n + 1);
    let seen = &collector.seen;
    assert!(
        stderr.contains("UNAVAILABLE") && stderr.contains("retrying in"),
        "{stderr}"
    );
    // The retry waits for its backoff (1 s, jittered to at least half).
    assert!(gap(&seen[0], &seen[1]) >= 0.45, "{seen:?}");
    let last = seen.last().unwrap();
    assert_eq!(
        last["path"],
        "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
    );
    assert_eq!(last["headers"]["x-team"], "probes team");
    assert_eq!(last["headers"]["x-n"], "1");
    // (grpcio decompresses before the servicer sees the call: gzip is proven over HTTP.)
    let r = resource(last);
    // No one target (BEGIN only): the resource is gprobe on this host, so a service name
    // from the environment is not used (as with OTEL_SERVICE_NAME, see docs).
    assert_eq!(r["service.name"], "gprobe");
    assert_eq!(r["deployment.environment"], "test");
    assert!(r.contains_key("host.name"));
    let x = &metric(last, "x")["sum"]["dataPoints"][0];
    assert_eq!(x["asInt"], "1");
    let h = &metric(last, "h")["histogram"]["dataPoints"][0];
    assert_eq!(h["count"], "1");
    assert!(took < Duration::from_secs(3), "exit took {took:?}");
    drop(collector);

    // Over TLS, trusting the CA of OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE.
    if !have_tool("openssl", "certificates") {
        return;
    }
    let dir = TempDir::new("otlp-grpc-tls");
    let (ca, cert, key) = certificates(&dir);
    let Some(python) = python_for_otlp(true) else {
        return;
    };
    let tls = [cert.to_str().unwrap(), key.to_str().unwrap()];
    let mut collector = OtlpReceiver::start_with(python, &["grpc", "--tls", tls[0], tls[1]]);
    let endpoint = format!("https://localhost:{}", collector.port);
    // The protocol by flag this time (a bare --otlp before another option), over the
    // environment's.
    let gprobe = Gprobe::start(
        &[
            "-e",
            SCRIPT,
            "--interval",
            "200ms",
            "--otlp",
            "--otlp-protocol",
            "grpc",
        ],
        &[
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            (
                "OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE",
                ca.to_str().unwrap(),
            ),
        ],
    );
    collector.wait_for(2);
    let (_, stderr) = gprobe.interrupt();
    assert!(!stderr.contains("OTLP"), "no trouble to report: {stderr}");
    let last = collector.seen.last().unwrap();
    assert_eq!(metric(last, "x")["sum"]["dataPoints"][0]["asInt"], "1");
    assert_no_gprobe_programs();
}

/// gRPC RESOURCE_EXHAUSTED is retried only when the server says when (RetryInfo, here 2 s,
/// waited for); without it, it is final.
#[test]
fn otlp_grpc_resource_exhausted_is_retried_only_with_retry_info() {
    if !e2e_ready() {
        return;
    }
    let Some(python) = python_for_otlp(true) else {
        return;
    };
    let answers = "RESOURCE_EXHAUSTED:2,RESOURCE_EXHAUSTED,OK";
    let mut collector = OtlpReceiver::start_with(python, &["grpc", "--answers", answers]);
    let _k = kernel_lock();
    let url = format!("http://127.0.0.1:{}", collector.port);
    let gprobe = Gprobe::start(
        &[
            "-e",
            SCRIPT,
            "--otlp",
            &url,
            "--otlp-protocol",
            "grpc",
            "--interval",
            "3s",
        ],
        &[],
    );
    collector.wait_for(3);
    let (_, stderr) = gprobe.interrupt();
    let seen = &collector.seen;
    // The first export again after the 2 s asked for; then, refused without RetryInfo, not
    // again: the next request is the next export.
    assert_eq!(export_time(&seen[0]), export_time(&seen[1]), "{seen:?}");
    assert!(gap(&seen[0], &seen[1]) >= 1.9, "{seen:?}");
    assert_ne!(export_time(&seen[1]), export_time(&seen[2]), "{seen:?}");
    assert!(
        stderr.contains("RESOURCE_EXHAUSTED") && stderr.contains("as the collector asked"),
        "{stderr}"
    );
    assert!(stderr.contains("not retried"), "{stderr}");
}

/// `https://` with a CA from `OTEL_EXPORTER_OTLP_CERTIFICATE` (a certificate openssl made just
/// now), gzip, a header from `OTEL_EXPORTER_OTLP_HEADERS`, and user:password in the URL sent as
/// basic auth and never printed. Without the CA the handshake fails, and that is said.
#[test]
fn otlp_https_with_a_custom_ca_gzip_and_headers() {
    if !e2e_ready() || !have_tool("openssl", "certificates") {
        return;
    }
    let Some(python) = python_for_otlp(false) else {
        return;
    };
    let dir = TempDir::new("otlp-tls");
    let (ca, cert, key) = certificates(&dir);
    let mut collector = OtlpReceiver::start_with(
        python,
        &["--tls", cert.to_str().unwrap(), key.to_str().unwrap()],
    );
    let _k = kernel_lock();
    let url = format!("https://gp:s3cret@localhost:{}", collector.port);
    let gprobe = Gprobe::start(
        &["-e", SCRIPT, "--otlp", &url, "--interval", "200ms"],
        &[
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", ca.to_str().unwrap()),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
            ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "x-api-key=k%3Dv"),
        ],
    );
    collector.wait_for(2);
    let (_, stderr) = gprobe.interrupt();
    let n = collector.seen.len();
    collector.wait_for(n + 1);
    assert!(!stderr.contains("OTLP"), "no trouble to report: {stderr}");
    let last = collector.seen.last().unwrap();
    assert_eq!(last["path"], "/v1/metrics");
    let headers = &last["headers"];
    assert_eq!(headers["content-encoding"], "gzip");
    assert_eq!(headers["content-type"], "application/x-protobuf");
    assert_eq!(headers["x-api-key"], "k=v");
    // base64("gp:s3cret")
    assert_eq!(headers["authorization"], "Basic Z3A6czNjcmV0");
    assert_eq!(metric(last, "x")["sum"]["dataPoints"][0]["asInt"], "1");

    // The system's CAs do not know this certificate.
    let gprobe = Gprobe::start(&["-e", SCRIPT, "--otlp", &url, "--interval", "200ms"], &[]);
    let mut gprobe = gprobe;
    gprobe.wait_to_say("OTLP export to");
    let (took, stderr) = gprobe.interrupt();
    assert!(stderr.contains("certificate"), "{stderr}");
    assert!(stderr.contains(&format!("https://localhost:{}/v1/metrics", collector.port)));
    assert!(!stderr.contains("s3cret"), "{stderr}");
    assert!(
        stderr.contains("final OTLP export") && stderr.contains("failed"),
        "{stderr}"
    );
    assert!(took < Duration::from_secs(3), "exit took {took:?}");
    assert_no_gprobe_programs();
}

/// `429` with `Retry-After: 3`: nothing is sent for those 3 s (before: again after 200 ms), then
/// the export goes through; the wait is said.
#[test]
fn otlp_429_waits_for_retry_after() {
    if !e2e_ready() {
        return;
    }
    let Some(python) = python_for_otlp(false) else {
        return;
    };
    let mut collector = OtlpReceiver::start_with(python, &["--answers", "429:3,200"]);
    let _k = kernel_lock();
    let url = format!("http://127.0.0.1:{}", collector.port);
    let mut gprobe = Gprobe::start(&["-e", SCRIPT, "--otlp", &url, "--interval", "200ms"], &[]);
    collector.wait_for(3);
    gprobe.wait_to_say("as the collector asked");
    let (_, stderr) = gprobe.interrupt();
    let seen = &collector.seen;
    let waited = gap(&seen[0], &seen[1]);
    assert!(waited >= 2.9, "sent again after {waited:.2} s: {seen:?}");
    // Then at the interval again.
    assert!(gap(&seen[1], &seen[2]) < 2.0, "{seen:?}");
    assert!(
        stderr.contains("429 Too Many Requests") && stderr.contains("retrying in 3.0s"),
        "{stderr}"
    );
    assert!(stderr.contains("works again"), "{stderr}");
}

/// `503` is retried, the same export after a backoff that grows; `413` is not retried (each
/// export is sent once) and is reported, rate-limited, while tracing runs.
#[test]
fn otlp_503_is_retried_with_backoff_and_413_is_not() {
    if !e2e_ready() {
        return;
    }
    let Some(python) = python_for_otlp(false) else {
        return;
    };
    let mut collector = OtlpReceiver::start_with(python, &["--answers", "503,503,200"]);
    let _k = kernel_lock();
    let url = format!("http://127.0.0.1:{}", collector.port);
    let gprobe = Gprobe::start(&["-e", SCRIPT, "--otlp", &url, "--interval", "2s"], &[]);
    collector.wait_for(3);
    let (_, stderr) = gprobe.interrupt();
    let seen = &collector.seen;
    // Exports come every 2 s; the first retry (after 0.5-1.5 s) is of the same export.
    assert_eq!(export_time(&seen[0]), export_time(&seen[1]), "{seen:?}");
    let (first, second) = (gap(&seen[0], &seen[1]), gap(&seen[1], &seen[2]));
    assert!(
        first >= 0.45 && second >= 0.95,
        "backoffs {first:.2} s, {second:.2} s"
    );
    assert!(stderr.contains("503 Service Unavailable"), "{stderr}");
    drop(collector);

    let Some(python) = python_for_otlp(false) else {
        return;
    };
    let mut collector = OtlpReceiver::start_with(python, &["--answers", "413"]);
    let url = format!("http://127.0.0.1:{}", collector.port);
    let mut gprobe = Gprobe::start(&["-e", SCRIPT, "--otlp", &url, "--interval", "200ms"], &[]);
    gprobe.wait_to_say("413 Payload Too Large");
    collector.wait_for(8);
    let (_, stderr) = gprobe.interrupt();
    collector.take_new();
    let times: Vec<String> = collector.seen.iter().map(export_time).collect();
    let distinct: std::collections::HashSet<&String> = times.iter().collect();
    assert_eq!(
        distinct.len(),
        times.len(),
        "an export was sent twice: {times:?}"
    );
    assert!(stderr.contains("not retried"), "{stderr}");
    // 8+ failures, said once while tracing (then summed up every 15 s) and once at the end.
    let lines = stderr.lines().filter(|l| l.contains("413")).count();
    assert!(lines <= 3, "{stderr}");
    assert!(
        stderr.contains("final OTLP export") && stderr.contains("413"),
        "{stderr}"
    );
}

/// A collector that takes requests and never answers, at `--interval 100ms`: the queue stays
/// bounded (drops counted and said while tracing), memory does not grow, and SIGINT ends
/// gprobe within the final export's short deadline; the URL's password is never printed.
#[test]
fn otlp_hanging_collector_is_reported_bounded_and_left_at_exit() {
    if !e2e_ready() {
        return;
    }
    let Some(python) = python_for_otlp(false) else {
        return;
    };
    let mut collector = OtlpReceiver::start_with(python, &["--hang"]);
    let _k = kernel_lock();
    let url = format!("http://gp:s3cret@127.0.0.1:{}", collector.port);
    let mut gprobe = Gprobe::start(&["-e", SCRIPT, "--otlp", &url, "--interval", "100ms"], &[]);
    gprobe.wait_to_say("not keeping up");
    std::thread::sleep(Duration::from_secs(1));
    let before = gprobe.rss_kib();
    // Past the 10 s default timeout: that failure is said too.
    gprobe.wait_to_say("no answer within 10s");
    std::thread::sleep(Duration::from_secs(2));
    let after = gprobe.rss_kib();
    assert!(
        after < before + 4096,
        "RSS grew from {before} KiB to {after} KiB"
    );
    let (took, stderr) = gprobe.interrupt();
    assert!(took < Duration::from_secs(3), "exit took {took:?}");
    assert!(
        stderr.contains("final OTLP export") && stderr.contains("failed"),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("http://127.0.0.1:{}/v1/metrics", collector.port)));
    assert!(!stderr.contains("s3cret"), "{stderr}");
    // Said, not flooded: ~130 exports in the run.
    assert!(stderr.lines().count() < 10, "{stderr}");
    collector.take_new();
    assert!(!collector.seen.is_empty());
    assert_no_gprobe_programs();
}

/// A slow collector (each answer after 5 s) at `--interval 100ms`: every export is sent once (a
/// slow success is not a timeout to retry: the default timeout is 10 s), exports that cannot be
/// sent in time are dropped and counted rather than queued without bound, and SIGINT still ends
/// gprobe within the final export's short deadline.
#[test]
fn otlp_slow_collector_gets_each_export_once_and_memory_stays_bounded() {
    if !e2e_ready() {
        return;
    }
    let Some(python) = python_for_otlp(false) else {
        return;
    };
    let mut collector = OtlpReceiver::start_with(python, &["--delay", "5"]);
    let _k = kernel_lock();
    let url = format!("http://127.0.0.1:{}", collector.port);
    let mut gprobe = Gprobe::start(&["-e", SCRIPT, "--otlp", &url, "--interval", "100ms"], &[]);
    gprobe.wait_to_say("not keeping up");
    let before = gprobe.rss_kib();
    // Two more answers' worth of time: 100 more intervals than the collector can take.
    collector.wait_for(3);
    std::thread::sleep(Duration::from_secs(6));
    let after = gprobe.rss_kib();
    assert!(
        after < before + 4096,
        "RSS grew from {before} KiB to {after} KiB"
    );
    let (took, stderr) = gprobe.interrupt();
    assert!(took < Duration::from_secs(3), "exit took {took:?}");
    collector.take_new();
    let times: Vec<String> = collector.seen.iter().map(export_time).collect();
    let mut unique = times.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        times.len(),
        "an export was sent twice: {times:?}"
    );
    // The run took ~140 intervals; a slow collector saw a handful of them, each answered.
    assert!(times.len() >= 3 && times.len() < 20, "{times:?}");
    assert!(stderr.contains("dropped"), "{stderr}");
    assert!(!stderr.contains("retrying"), "{stderr}");
    assert_no_gprobe_programs();
}

/// A collector that is not there: tracing runs and ends normally, and the failed final export
/// is said on stderr.
#[test]
fn otlp_collector_down_does_not_block_tracing() {
    if !e2e_ready() {
        return;
    }
    let _k = kernel_lock();
    let url = format!("http://127.0.0.1:{}", free_port());
    let out = run_gprobe(
        &[
            "-e",
            "BEGIN { @x = count(); printf(\"ran\\n\"); exit(); }",
            "--otlp",
            &url,
        ],
        Duration::from_secs(60),
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.contains("ran\n") && stdout.contains("@x: 1"),
        "{stdout}"
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("final OTLP export") && stderr.contains("failed"),
        "{stderr}"
    );
}

/// Bad settings are errors before anything attaches, naming the setting and never a secret.
#[test]
fn otlp_bad_settings_are_errors_up_front() {
    // (arguments, environment, what the error says)
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (&["--otlp", "x.gp"], &[], "put --otlp after FILE"),
        (&["--otlp", "http://u:s3cret@h:port"], &[], "bad port"),
        (
            &["--otlp"],
            &[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")],
            "http/json",
        ),
        (
            &["--otlp"],
            &[("OTEL_EXPORTER_OTLP_TIMEOUT", "5s")],
            "OTEL_EXPORTER_OTLP_TIMEOUT",
        ),
        (
            &["--otlp"],
            &[("OTEL_EXPORTER_OTLP_COMPRESSION", "br")],
            "unknown compression",
        ),
        (
            &["--otlp"],
            &[("OTEL_EXPORTER_OTLP_HEADERS", "api-key=s3cret\u{1}")],
            "the value of api-key",
        ),
        (
            &["--otlp"],
            &[("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/ca.pem")],
            "cannot read /nonexistent/ca.pem",
        ),
    ];
    for (args, env, expected) in cases {
        let out = Command::new(gprobe_bin())
            .args(["-e", "BEGIN { exit(); }"])
            .args(*args)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{args:?} {env:?}");
        assert!(stderr.contains(expected), "{args:?} {env:?}: {stderr}");
        assert!(!stderr.contains("s3cret"), "{stderr}");
        assert!(!stderr.contains("Attaching"), "{stderr}");
    }
}
