//! End-to-end: the HTTP recipes export OpenTelemetry's semantic conventions. A real Go program
//! (tests/go/httpload: serves HTTP and is its own client) sends a known set of requests while
//! `--recipe http-latency` / `http-client` trace it with `--prometheus` and `--otlp`; the page
//! is read by prometheus_client's parsers (both formats) and linted by `promtool check metrics`,
//! the pushes are decoded by the official opentelemetry-proto definitions, and both must say
//! what was sent: names, units, attributes, counts, and bucket bounds in seconds that agree with
//! the recipe's own text histograms. Annotations leave the text and JSON output as they were.

mod support;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::exporters::{
    OtlpReceiver, find_metric, int_of, parse_page, python_with_parsers, scrape,
};
use support::*;

/// Safety net for a hung gprobe, not a timing assertion.
const LIMIT: Duration = Duration::from_secs(120);
const VERSIONS: &[&str] = &["1.19", "1.27.3"];
/// What httpload sends: GET /a, POST /b, GET /missing (404).
const GETS: u64 = 5;
const POSTS: u64 = 3;
const MISSING: u64 = 2;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What one traced run gave: both Prometheus pages (parsed), the last OTLP push taken while
/// tracing ran, and gprobe's text output (the final maps).
struct Run {
    text_page: Vec<serde_json::Value>,
    openmetrics_page: Vec<serde_json::Value>,
    raw_page: String,
    otlp: serde_json::Value,
    stdout: String,
}

/// `gprobe --recipe RECIPE -c 'httpload ...'` with both exporters; the load starts once gprobe
/// has attached, and the exporters are read after httpload said it was done (it then lingers).
fn traced_run(recipe: &str, version: &str, python: &Command) -> Run {
    let bin = go_target("httpload", version, &[]);
    let mut receiver = OtlpReceiver::start(clone(python));
    let start = std::env::temp_dir().join(format!(
        "gprobe-semconv-{}-{recipe}-{version}",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&start);
    let command = format!(
        "{} -get {GETS} -post {POSTS} -missing {MISSING} -start {} -linger 60s",
        bin.display(),
        start.display()
    );
    let port = free_port();
    let _k = kernel_lock();
    let mut gprobe = Command::new(gprobe_bin())
        .args(["--recipe", recipe, "-c", &command])
        .args(["--prometheus", &format!("127.0.0.1:{port}")])
        .args(["--otlp", &format!("http://127.0.0.1:{}", receiver.port)])
        .args(["--interval", "200ms"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start gprobe");
    let stderr = line_channel(gprobe.stderr.take().unwrap());
    let lines = line_channel(gprobe.stdout.take().unwrap());
    let mut stdout = Vec::new();
    let mut wait_line = |want: &str, stdout: &mut Vec<String>| {
        let deadline = Instant::now() + LIMIT;
        loop {
            match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) if line.starts_with(want) => return,
                Ok(line) => stdout.push(line),
                Err(_) => {
                    let _ = gprobe.kill();
                    let err: Vec<String> = stderr.try_iter().collect();
                    panic!("no `{want}` from {recipe} ({version}):\n{}", err.join("\n"));
                }
            }
        }
    };
    wait_line("Attaching", &mut stdout);
    std::fs::write(&start, "").unwrap();
    wait_line("done", &mut stdout);
    let _ = std::fs::remove_file(&start);
    let raw_page = scrape(port, "").expect("a scrape after the requests");
    let om = scrape(
        port,
        "Accept: application/openmetrics-text; version=1.0.0\r\n",
    )
    .expect("an OpenMetrics scrape");
    let text_page = parse_page(&mut clone(python), "text", &raw_page);
    let openmetrics_page = parse_page(&mut clone(python), "openmetrics", &om);
    // A push that was read after the requests: every later one carries the same totals.
    let pushes_before = {
        receiver.take_new();
        receiver.seen.len()
    };
    let deadline = Instant::now() + LIMIT;
    while receiver.seen.len() <= pushes_before {
        assert!(Instant::now() < deadline, "no OTLP push after the requests");
        std::thread::sleep(Duration::from_millis(50));
        receiver.take_new();
    }
    let otlp = receiver.seen.last().unwrap().clone();
    let _ = Command::new("kill")
        .args(["-INT", &gprobe.id().to_string()])
        .status();
    let status = {
        let deadline = Instant::now() + LIMIT;
        loop {
            if let Some(status) = gprobe.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = gprobe.kill();
                break gprobe.wait().unwrap();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    stdout.extend(lines.iter());
    let err: Vec<String> = stderr.try_iter().collect();
    assert!(status.success(), "{recipe}: {}", err.join("\n"));
    assert_no_gprobe_programs();
    Run {
        text_page,
        openmetrics_page,
        raw_page,
        otlp,
        stdout: stdout.join("\n"),
    }
}

/// Prometheus's own linter (`promtool check metrics`, Debian's prometheus package) on a page:
/// its complaints (names with abbreviated or non-base units, counters without `_total`, ...).
fn promtool_lint(page: &str) -> String {
    let which = Command::new("sh")
        .args(["-c", "command -v promtool"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        which || !under_ci(),
        "promtool is missing (scripts/install-deps installs prometheus); under CI this is a failure"
    );
    if !which {
        eprintln!("skipped the promtool lint: no promtool (scripts/install-deps)");
        return String::new();
    }
    let out = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(page.as_bytes())?;
            child.wait_with_output()
        })
        .expect("run promtool");
    let complaints = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        out.status.success() || !complaints.trim().is_empty(),
        "promtool failed without saying why"
    );
    complaints
}

/// A fresh `python3` with the same environment.
fn clone(python: &Command) -> Command {
    let mut cmd = Command::new(python.get_program());
    for (k, v) in python.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    cmd
}

fn family<'a>(page: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    page.iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no family {name} in {page:?}"))
}

/// A family's samples called `sample`, as (labels, value).
fn samples(family: &serde_json::Value, sample: &str) -> Vec<(BTreeMap<String, String>, f64)> {
    family["samples"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s[0] == sample)
        .map(|s| {
            (
                serde_json::from_value(s[1].clone()).unwrap(),
                s[2].as_f64().unwrap(),
            )
        })
        .collect()
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The `_bucket` samples of one series as (bound, cumulative count), `+Inf` left out; bounds
/// must be a power-of-two number of microseconds (or 0, the negatives' bucket), in seconds.
fn buckets_in_seconds(
    family: &serde_json::Value,
    name: &str,
    series: &BTreeMap<String, String>,
) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    for (mut l, v) in samples(family, &format!("{name}_bucket")) {
        let le = l.remove("le").unwrap();
        if &l != series || le == "+Inf" {
            continue;
        }
        let bound: f64 = le.parse().unwrap();
        let us = bound * 1e6;
        assert!(
            bound == 0.0
                || ((us.round() as u64).is_power_of_two() && (us - us.round()).abs() < 1e-6),
            "{name}: bound {le} is not a power-of-two number of microseconds in seconds"
        );
        out.push((bound, v));
    }
    assert!(!out.is_empty(), "no buckets for {series:?}");
    out
}

/// The Prometheus histogram of `series` agrees with the text histogram of `map`: at each text
/// bucket's upper edge (in seconds) the cumulative count is the text's running total.
fn assert_same_histogram(
    run: &Run,
    name: &str,
    series: &BTreeMap<String, String>,
    map: &str,
    total: u64,
) {
    for page in [&run.text_page, &run.openmetrics_page] {
        let fam = family(page, name);
        assert_eq!(fam["type"], "histogram");
        let buckets = buckets_in_seconds(fam, name, series);
        let mut running = 0;
        for (hi, count) in text_histogram(&run.stdout, map) {
            running += count;
            let bound = hi as f64 / 1e6;
            let at = buckets
                .iter()
                .find(|(b, _)| (b - bound).abs() < 1e-12)
                .unwrap_or_else(|| panic!("{name}: no le={bound} for {map} in {buckets:?}"));
            assert_eq!(at.1, running as f64, "{name} {series:?} le={bound}");
        }
        assert_eq!(
            running, total,
            "{map}: the text output counts what was sent"
        );
        let count = samples(fam, &format!("{name}_count"))
            .into_iter()
            .find(|(l, _)| l == series)
            .map(|(_, v)| v);
        assert_eq!(count, Some(total as f64), "{name}_count {series:?}");
        let sum = samples(fam, &format!("{name}_sum"))
            .into_iter()
            .find(|(l, _)| l == series)
            .map(|(_, v)| v)
            .unwrap();
        // Seconds, not microseconds: loopback requests take far less than a second each.
        assert!(sum > 0.0 && sum < total as f64, "{name}_sum {sum}");
    }
}

/// A decoded OTLP data point's attributes as a map (string and int values as text).
fn attributes(point: &serde_json::Value) -> BTreeMap<String, String> {
    point["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|kv| {
            let v = &kv["value"];
            let text = v["stringValue"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| int_of(&v["intValue"]).to_string());
            (kv["key"].as_str().unwrap().to_string(), text)
        })
        .collect()
}

/// The OTLP histogram `name`: unit `s`, each expected series with its count and bounds in
/// seconds.
fn assert_otlp_histogram(run: &Run, name: &str, want: &[(BTreeMap<String, String>, u64)]) {
    let m = find_metric(&run.otlp, name).unwrap_or_else(|| panic!("no {name} in {}", run.otlp));
    assert_eq!(m["unit"], "s", "{name}");
    let points = m["histogram"]["dataPoints"].as_array().unwrap();
    assert_eq!(points.len(), want.len(), "{name}: {points:?}");
    for (series, count) in want {
        let p = points
            .iter()
            .find(|p| &attributes(p) == series)
            .unwrap_or_else(|| panic!("{name}: no point {series:?} in {points:?}"));
        assert_eq!(int_of(&p["count"]), *count as i64, "{name} {series:?}");
        let counts: i64 = p["bucketCounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(int_of)
            .sum();
        assert_eq!(counts, *count as i64);
        let bounds: Vec<f64> = serde_json::from_value(p["explicitBounds"].clone()).unwrap();
        assert!(
            bounds.iter().all(|b| *b < 1.0) && bounds.iter().any(|b| *b > 0.0),
            "{bounds:?}"
        );
        let sum = p["sum"].as_f64().unwrap();
        assert!(sum > 0.0 && sum < *count as f64, "{name} sum {sum}");
    }
}

/// Every value the attribute `key` has in the points of metric `name` (`kind` of data).
fn attribute_values<'a>(
    run: &'a Run,
    name: &str,
    kind: &str,
    key: &str,
) -> Vec<&'a serde_json::Value> {
    let m = find_metric(&run.otlp, name).unwrap();
    m[kind]["dataPoints"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["attributes"].as_array().unwrap())
        .filter(|kv| kv["key"] == key)
        .map(|kv| &kv["value"])
        .collect()
}

fn otlp_counter(run: &Run, name: &str) -> Vec<(BTreeMap<String, String>, i64)> {
    let m = find_metric(&run.otlp, name).unwrap_or_else(|| panic!("no {name} in {}", run.otlp));
    m["sum"]["dataPoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (attributes(p), int_of(&p["asInt"])))
        .collect()
}

fn each_version(mut check: impl FnMut(&str, &Command)) {
    if !e2e_ready() {
        return;
    }
    let Some(python) = python_with_parsers() else {
        return;
    };
    for version in VERSIONS {
        if toolchain_available(version) {
            check(version, &python);
        }
    }
}

#[test]
fn http_latency_exports_http_server_request_duration() {
    each_version(|version, python| {
        let run = traced_run("http-latency", version, python);
        let series = |m: &str, p: &str, c: &str| {
            labels(&[
                ("http_request_method", m),
                ("http_route", p),
                ("http_response_status_code", c),
            ])
        };
        let name = "http_server_request_duration_seconds";
        for (method, path, code, sent) in [
            ("GET", "/a", "200", GETS),
            ("POST", "/b", "200", POSTS),
            ("GET", "/missing", "404", MISSING),
        ] {
            assert_same_histogram(
                &run,
                name,
                &series(method, path, code),
                &format!("@latency_us[{method}, {path}, {code}]"),
                sent,
            );
        }
        // Prometheus's linter finds nothing to say about the page's names.
        let lint = promtool_lint(&run.raw_page);
        assert!(lint.trim().is_empty(), "promtool check metrics:\n{lint}");
        // OpenMetrics carries the unit as metadata.
        assert_eq!(family(&run.openmetrics_page, name)["unit"], "seconds");
        assert!(
            run.raw_page
                .contains("# TYPE http_server_request_duration_seconds histogram\n"),
            "{}",
            run.raw_page
        );
        // Counters: `_total`, the status code as an attribute.
        let requests = family(&run.text_page, "http_server_requests");
        assert_eq!(requests["type"], "counter");
        let got = samples(requests, "http_server_requests_total");
        for (method, path, code, sent) in [
            ("GET", "/a", "200", GETS),
            ("POST", "/b", "200", POSTS),
            ("GET", "/missing", "404", MISSING),
        ] {
            let want = labels(&[
                ("http_request_method", method),
                ("http_route", path),
                ("http_response_status_code", code),
            ]);
            assert!(
                got.contains(&(want, sent as f64)),
                "{method} {path}: {got:?}"
            );
        }

        let otlp_series = |m: &str, p: &str, c: &str| {
            labels(&[
                ("http.request.method", m),
                ("http.route", p),
                ("http.response.status_code", c),
            ])
        };
        assert_otlp_histogram(
            &run,
            "http.server.request.duration",
            &[
                (otlp_series("GET", "/a", "200"), GETS),
                (otlp_series("POST", "/b", "200"), POSTS),
                (otlp_series("GET", "/missing", "404"), MISSING),
            ],
        );
        let m = find_metric(&run.otlp, "http.server.request.duration").unwrap();
        assert_eq!(m["description"], "Duration of HTTP server requests.");
        let requests = otlp_counter(&run, "http.server.requests");
        let want = labels(&[
            ("http.request.method", "GET"),
            ("http.route", "/missing"),
            ("http.response.status_code", "404"),
        ]);
        assert!(requests.contains(&(want, MISSING as i64)), "{requests:?}");
        // Typed as the conventions say: the status code is an int attribute.
        let codes = attribute_values(
            &run,
            "http.server.requests",
            "sum",
            "http.response.status_code",
        );
        assert!(
            !codes.is_empty() && codes.iter().all(|v| v.get("intValue").is_some()),
            "{codes:?}"
        );
        // Maps without an annotation keep today's names.
        assert!(find_metric(&run.otlp, "in_flight").is_some());
    });
}

#[test]
fn http_client_exports_http_client_request_duration() {
    each_version(|version, python| {
        let run = traced_run("http-client", version, python);
        // httpload's own server: 127.0.0.1 on a port it picked.
        let host = run
            .stdout
            .lines()
            .find_map(|l| {
                l.strip_prefix("@responses[GET, ")?
                    .split_once(',')
                    .map(|(h, _)| h.to_string())
            })
            .unwrap_or_else(|| panic!("no @responses in:\n{}", run.stdout));
        let (address, port) = host.rsplit_once(':').unwrap();
        assert_eq!(address, "127.0.0.1");
        let series = |m: &str| {
            labels(&[
                ("http_request_method", m),
                ("server_address", address),
                ("server_port", port),
            ])
        };
        let name = "http_client_request_duration_seconds";
        assert_same_histogram(
            &run,
            name,
            &series("GET"),
            &format!("@latency_us[GET, {host}]"),
            GETS + MISSING,
        );
        assert_same_histogram(
            &run,
            name,
            &series("POST"),
            &format!("@latency_us[POST, {host}]"),
            POSTS,
        );
        let lint = promtool_lint(&run.raw_page);
        assert!(lint.trim().is_empty(), "promtool check metrics:\n{lint}");
        let responses = samples(
            family(&run.text_page, "http_client_responses"),
            "http_client_responses_total",
        );
        let mut missing = series("GET");
        missing.insert("http_response_status_code".into(), "404".into());
        assert!(
            responses.contains(&(missing, MISSING as f64)),
            "{responses:?}"
        );

        let otlp_series = |m: &str| {
            labels(&[
                ("http.request.method", m),
                ("server.address", address),
                ("server.port", port),
            ])
        };
        assert_otlp_histogram(
            &run,
            "http.client.request.duration",
            &[
                (otlp_series("GET"), GETS + MISSING),
                (otlp_series("POST"), POSTS),
            ],
        );
        let responses = otlp_counter(&run, "http.client.responses");
        let mut ok = otlp_series("POST");
        ok.insert("http.response.status_code".into(), "200".into());
        assert!(responses.contains(&(ok, POSTS as i64)), "{responses:?}");
        let ports = attribute_values(
            &run,
            "http.client.request.duration",
            "histogram",
            "server.port",
        );
        assert!(
            ports.len() == 2
                && ports
                    .iter()
                    .all(|v| int_of(&v["intValue"]).to_string() == port),
            "{ports:?}"
        );
        let addresses = attribute_values(
            &run,
            "http.client.request.duration",
            "histogram",
            "server.address",
        );
        assert!(
            addresses.iter().all(|v| v["stringValue"] == address),
            "{addresses:?}"
        );
    });
}

/// `// @metric` is for exporters only: text and JSON output are byte for byte what the same
/// program prints without it.
#[test]
fn annotations_leave_text_and_json_output_alone() {
    if !e2e_ready() {
        return;
    }
    let program = "BEGIN { @lat[\"GET\", \"h:80\"] = hist(5); @lat[\"GET\", \"h:80\"] = hist(900); @n[\"x\"] = count(); @s = sum(1500); exit(); }";
    let annotated = format!(
        "// @metric @lat http.client.request.duration unit=us keys=http.request.method,server.address:server.port\n\
         // @metric @n things unit={{thing}} keys=thing.name\n\
         // @metric @s busy unit=us desc=\"Busy time.\"\n{program}"
    );
    let _k = kernel_lock();
    for format in ["text", "json"] {
        let plain = gprobe_ok(&["-q", "-f", format, "-e", program], LIMIT);
        let declared = gprobe_ok(&["-q", "-f", format, "-e", &annotated], LIMIT);
        assert!(plain.contains("@lat"), "{plain}");
        assert_eq!(plain, declared, "-f {format}");
    }
}
