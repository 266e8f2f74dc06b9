//! End-to-end tests of the outputs people plug in: JSON lines (against bpftrace 0.17 on the same
//! scripts), OTLP (decoded with the official protobuf definitions), Prometheus (a real
//! exposition-format parser) and flame graphs (from a profiled Go program).

mod support;

use std::process::Command;
use std::time::Duration;
use support::exporters::{
    OtlpReceiver as Receiver, find_metric, int_of, parse_page, python_with_parsers,
};
use support::*;

const LIMIT: Duration = Duration::from_secs(60);

/// Every line must be one JSON object.
fn json_lines(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
        .collect()
}

fn bpftrace_json(script: &str) -> String {
    bpftrace_ok(&["-f", "json", "-e", script])
}

/// Scripts exercising every output type bpftrace 0.17 has in JSON: attached_probes, printf,
/// time (shape only), map (scalar, keyed, multi-key, string, tuple, min/max/sum/count), stats
/// (avg, stats, keyed), hist (log2, linear, keyed, open ends), print() while running, clear/zero.
const SCRIPTS: &[&str] = &[
    r#"BEGIN { @c = count(); @s = sum(5); @mn = min(-3); @mx = max(9); @a = avg(7);
        @st = stats(10); @st = stats(3); @h = hist(5); @h = hist(100); @h = hist(0); @h = hist(-3);
        @l = lhist(3, 0, 10, 2); @l = lhist(11, 0, 10, 2); @m["foo"] = count(); @m["bar"] = count();
        @m["foo"] = count(); @m2[1, "a"] = count(); @m2[2, "b"] = count(); @x = 5; @str = "hi";
        @neg = -5; @hk["x"] = hist(3); @hk["y"] = hist(1000); @t = (1, "a");
        printf("hello %d %s\n", 42, "w\"orld"); print(@c); print(@h); exit(); }"#,
    r#"BEGIN { @a[1] = avg(7); @a[2] = avg(3); @st["k"] = stats(10); @l = lhist(-5, 0, 10, 2);
        @l = lhist(3, 0, 10, 2); @big = 4611686018427387904; print(@a); print(@st); exit(); }
       END { printf("%s %d\n", "x", -1); }"#,
    r#"BEGIN { @x = 1; @c = count(); clear(@x); zero(@c); print(@c); exit(); }"#,
];

/// The same scripts under bpftrace 0.17 and gprobe give the same JSON lines (compared as parsed
/// values), except that gprobe leaves out the two blank lines bpftrace writes before the final
/// maps (they are not JSON) and writes integers beyond 2^53 as strings.
#[test]
fn json_lines_match_bpftrace() {
    if !e2e_ready() {
        return;
    }
    for script in SCRIPTS {
        let _k = kernel_lock();
        let theirs = json_lines(&bpftrace_json(script));
        let ours = json_lines(&gprobe_ok(&["-f", "json", "-e", script], LIMIT));
        assert_eq!(
            ours.len(),
            theirs.len(),
            "{script}\nours: {ours:#?}\ntheirs: {theirs:#?}"
        );
        for (o, t) in ours.iter().zip(&theirs) {
            let mut t = t.clone();
            // bpftrace 0.17 writes 2^62 as a number; gprobe as a string beyond 2^53.
            if let Some(big) = t.pointer_mut("/data/@big")
                && let Some(n) = big.as_i64()
            {
                *big = serde_json::Value::String(n.to_string());
            }
            assert_eq!(o, &t, "{script}");
        }
        assert_no_gprobe_programs();
    }
}

/// Every line type is written by gprobe; `time` carries the formatted clock.
#[test]
fn json_covers_time_and_output_file() {
    if !e2e_ready() {
        return;
    }
    let _k = kernel_lock();
    let file = std::env::temp_dir().join(format!("gprobe-json-{}.txt", std::process::id()));
    let script = r#"BEGIN { time("%Y\n"); @n = count(); exit(); }"#;
    let stdout = gprobe_ok(
        &["-f", "json", "-o", file.to_str().unwrap(), "-e", script],
        LIMIT,
    );
    assert_eq!(stdout, "", "with -o, nothing goes to stdout");
    let written = std::fs::read_to_string(&file).expect("read -o file");
    let _ = std::fs::remove_file(&file);
    let lines = json_lines(&written);
    let types: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["attached_probes", "time", "map"]);
    let year = lines[1]["data"].as_str().unwrap().trim();
    assert!(year.len() == 4 && year.parse::<u32>().unwrap() >= 2024);
    assert_eq!(lines[2]["data"]["@n"], 1);
}

/// `emit()` of a record from a Go uprobe becomes an `event` line with the probe, a Unix time
/// and the record's fields by name, once per call.
#[test]
fn emit_gives_structured_events() {
    if !e2e_ready() {
        return;
    }
    let bin = go_target("work", "1.19", &[]);
    let bin = bin.to_str().unwrap();
    let _k = kernel_lock();
    let probe = format!("uprobe:{bin}:main.work");
    let script = format!(r#"{probe} {{ emit((pid = pid, name = comm, n = 7)); }}"#);
    let cmd = format!("{bin} -n 5 -q");
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let out = gprobe_ok(&["-f", "json", "-e", &script, "-c", &cmd], LIMIT);
    let events: Vec<serde_json::Value> = json_lines(&out)
        .into_iter()
        .filter(|l| l["type"] == "event")
        .collect();
    assert_eq!(events.len(), 5, "{out}");
    for e in &events {
        assert_eq!(e["probe"], probe.as_str());
        let ts = e["ts"]
            .as_u64()
            .or_else(|| e["ts"].as_str().and_then(|s| s.parse().ok()))
            .expect("ts");
        assert!(
            ts >= before,
            "ts {ts} is a Unix time after the start {before}"
        );
        assert_eq!(e["data"]["n"], 7);
        assert!(e["data"]["pid"].as_u64().unwrap() > 1);
        assert_eq!(e["data"]["name"], "work-1.19");
    }
    // In text, a readable line per event.
    let out = gprobe_ok(&["-e", &script, "-c", &cmd], LIMIT);
    assert_eq!(
        out.lines()
            .filter(|l| l.starts_with(&format!("{probe}: ")) && l.contains(".n = 7"))
            .count(),
        5,
        "{out}"
    );
    assert_no_gprobe_programs();
}

// ---- exporters ------------------------------------------------------------------------------

/// A plain HTTP GET; `None` while nothing answers.
fn http_get(port: u16, path: &str) -> Option<(String, String)> {
    let (head, body) = http_request(port, "GET", path, "")?;
    Some((head.lines().next()?.to_string(), body))
}

/// One HTTP/1.1 request (`headers`: extra `Name: value\r\n` lines) on a new connection;
/// the response's head (status line and headers) and body. `None` while nothing answers.
fn http_request(port: u16, method: &str, path: &str, headers: &str) -> Option<(String, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    // Generous: a scrape takes milliseconds, but the machine may be busy.
    s.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\n{headers}Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    Some((head.to_string(), body.to_string()))
}

/// Polls `ready` (up to a generous bound, so a slow machine is not a failure) until it gives
/// a value; `Err` describes what it saw instead, for the failure message.
fn wait_for<T>(what: &str, mut ready: impl FnMut() -> Result<T, String>) -> T {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        match ready() {
            Ok(v) => return v,
            Err(seen) => assert!(
                std::time::Instant::now() < deadline,
                "gave up waiting for {what}; last seen:\n{seen}"
            ),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A gprobe running in the background; killed on drop, so a failing test leaves nothing
/// attached.
struct Background(Option<std::process::Child>);

impl Background {
    fn child(&mut self) -> &mut std::process::Child {
        self.0.as_mut().expect("still running")
    }

    /// SIGINT (a normal stop: END, final maps, final exports), then the output.
    fn stop(mut self) -> std::process::Output {
        let child = self.0.take().expect("still running");
        let status = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .expect("kill -INT");
        assert!(status.success());
        wait_with_limit(child, LIMIT)
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn spawn_gprobe(args: &[&str]) -> Background {
    Background(Some(
        Command::new(gprobe_bin())
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn gprobe"),
    ))
}

/// Reads gprobe's stderr up to the line saying where metrics are served; the rest of stderr
/// is collected on a thread (so gprobe never blocks on a full pipe) and dropped.
fn served_port(gprobe: &mut Background) -> u16 {
    let gprobe = gprobe.child();
    use std::io::BufRead;
    let mut stderr = std::io::BufReader::new(gprobe.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        let n = stderr.read_line(&mut line).expect("read gprobe's stderr");
        assert!(n > 0, "gprobe exited without serving metrics");
        if let Some(rest) = line
            .trim()
            .strip_prefix("gprobe: serving Prometheus metrics on ")
            .and_then(|url| url.split_once("://").map(|(_, rest)| rest))
        {
            let addr = rest.trim_end_matches("/metrics");
            let port = addr.rsplit(':').next().unwrap().parse().unwrap();
            std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
            return port;
        }
    }
}

/// A scrape has `name VALUE` with VALUE at least `min`.
fn sample_at_least(page: &str, name: &str, min: i64) -> bool {
    page.lines().any(|l| {
        l.strip_prefix(name)
            .and_then(|rest| rest.trim().parse::<i64>().ok())
            .is_some_and(|v| v >= min)
    })
}

/// `@name: N` from gprobe's final map output: the map contents the exporters must agree with.
/// `main.work` is called 1234 times; a count can be a little higher while entry probes sit
/// before Go's stack-growth check (a call that grows its stack runs that code twice), so the
/// exporters are compared with the maps, and the maps only roughly with the calls.
fn final_value(maps: &str, entry: &str) -> i64 {
    let prefix = format!("{entry}: ");
    let v: i64 = maps
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {entry} in:\n{maps}"))
        .trim()
        .parse()
        .unwrap();
    assert!(v >= 1234, "{entry}: {v}");
    v
}

fn run_work(bin: &str, n: u32) {
    let status = Command::new(bin)
        .args(["-n", &n.to_string(), "-q"])
        .status()
        .expect("run the Go target");
    assert!(status.success());
}

/// The maps every exporter test fills: deterministic values from BEGIN, and counts from
/// `main.work`, which the target calls exactly `-n` times.
fn exporter_script(bin: &str) -> String {
    format!(
        r#"BEGIN {{
  @b = count(); @a = count(); clear(@a);
  @st = stats(10); @st = stats(30); @mx = max(9);
  @h = hist(0); @h = hist(5); @h = hist(100);
  @l = lhist(3, 0, 10, 2); @l = lhist(11, 0, 10, 2); @l = lhist(-1, 0, 10, 2);
}}
uprobe:{bin}:main.work {{
  // Calls of main.work by command.
  @calls[comm] = count();
  @a = count();
  @s = sum(2);
}}
"#
    )
}

const PROMETHEUS_CHECK: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": f.name, "type": f.type, "help": f.documentation,
                "samples": [[s.name, s.labels, s.value] for s in f.samples]})
print(json.dumps(out))
"#;

/// `/metrics` while tracing, parsed by prometheus_client: counters with `_total`, gauges,
/// a summary for stats, histograms with cumulative `le` buckets and `+Inf`, HELP from the
/// comment above the map, labels named after the key expression.
#[test]
fn prometheus_endpoint_is_scrapable() {
    if !e2e_ready() {
        return;
    }
    let Some(mut python) = python_with_parsers() else {
        return;
    };
    let bin = go_target("work", "1.19", &[]);
    let bin = bin.to_str().unwrap();
    let _k = kernel_lock();
    let script = exporter_script(bin);
    // Port 0: gprobe picks a free port and says which on stderr (no race with other tests).
    let mut gprobe = spawn_gprobe(&["-e", &script, "--prometheus", "127.0.0.1:0"]);
    let port = served_port(&mut gprobe);
    wait_for("the first scrape", || match http_get(port, "/metrics") {
        Some((status, body)) if status.contains("200") => Ok(body),
        other => Err(format!("{other:?}")),
    });
    run_work(bin, 1234);
    let page = wait_for("the calls in a scrape", || {
        match http_get(port, "/metrics") {
            Some((_, body)) if sample_at_least(&body, "gprobe_a_total", 1234) => Ok(body),
            other => Err(format!("{other:?}")),
        }
    });
    assert!(http_get(port, "/nothing").unwrap().0.contains("404"));
    let out = gprobe.stop();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let final_maps = text(&out.stdout);

    let parsed = python
        .args(["-c", PROMETHEUS_CHECK])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(page.as_bytes())?;
            child.wait_with_output()
        })
        .expect("run the Prometheus parser");
    assert!(parsed.status.success(), "parser rejected:\n{page}");
    let families: Vec<serde_json::Value> = serde_json::from_slice(&parsed.stdout).unwrap();
    let family = |name: &str| {
        families
            .iter()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in:\n{page}"))
    };
    let sample = |f: &serde_json::Value, name: &str, labels: serde_json::Value| {
        f["samples"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s[0] == name && s[1] == labels)
            .unwrap_or_else(|| panic!("no {name} {labels} in:\n{page}"))[2]
            .as_f64()
            .unwrap()
    };
    let calls = family("gprobe_calls");
    assert_eq!(calls["type"], "counter");
    assert_eq!(calls["help"], "Calls of main.work by command.");
    assert_eq!(
        sample(
            calls,
            "gprobe_calls_total",
            serde_json::json!({"comm": "work-1.19"})
        ),
        final_value(&final_maps, "@calls[work-1.19]") as f64
    );
    let none = serde_json::json!({});
    assert_eq!(
        sample(family("gprobe_a"), "gprobe_a_total", none.clone()),
        final_value(&final_maps, "@a") as f64
    );
    assert_eq!(
        sample(family("gprobe_s"), "gprobe_s_total", none.clone()),
        final_value(&final_maps, "@s") as f64
    );
    assert_eq!(
        sample(family("gprobe_b"), "gprobe_b_total", none.clone()),
        1.0
    );
    let mx = family("gprobe_mx");
    assert_eq!(mx["type"], "gauge");
    assert_eq!(mx["help"], "gprobe map @mx");
    assert_eq!(sample(mx, "gprobe_mx", none.clone()), 9.0);
    let st = family("gprobe_st");
    assert_eq!(st["type"], "summary");
    assert_eq!(sample(st, "gprobe_st_count", none.clone()), 2.0);
    assert_eq!(sample(st, "gprobe_st_sum", none.clone()), 40.0);
    // hist(0), hist(5), hist(100): cumulative counts at the log2 bucket bounds.
    let h = family("gprobe_h");
    assert_eq!(h["type"], "histogram");
    for (le, want) in [
        ("-1", 0.0),
        ("0", 1.0),
        ("3", 1.0),
        ("7", 2.0),
        ("63", 2.0),
        ("127", 3.0),
        ("+Inf", 3.0),
    ] {
        assert_eq!(
            sample(h, "gprobe_h_bucket", serde_json::json!({"le": le})),
            want,
            "le={le}"
        );
    }
    assert_eq!(sample(h, "gprobe_h_count", none.clone()), 3.0);
    // The sum of the recorded values: 0 + 5 + 100.
    assert_eq!(sample(h, "gprobe_h_sum", none.clone()), 105.0);
    // lhist(3), lhist(11), lhist(-1) over [0, 10) by 2.
    let l = family("gprobe_l");
    for (le, want) in [
        ("-1", 1.0),
        ("1", 1.0),
        ("3", 2.0),
        ("9", 2.0),
        ("+Inf", 3.0),
    ] {
        assert_eq!(
            sample(l, "gprobe_l_bucket", serde_json::json!({"le": le})),
            want,
            "le={le}"
        );
    }
    assert_eq!(sample(l, "gprobe_l_count", none.clone()), 3.0);
    assert_eq!(sample(l, "gprobe_l_sum", none.clone()), 13.0); // 3 + 11 - 1
    assert_no_gprobe_programs();
}

/// A port in use is a clear error before anything is attached.
#[test]
fn prometheus_port_in_use_is_an_error() {
    if !e2e_ready() {
        return;
    }
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = run_gprobe(
        &[
            "-e",
            "BEGIN { @x = count(); exit(); }",
            "--prometheus",
            &addr,
        ],
        LIMIT,
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("already in use"), "{err}");
}

/// The maps of a script that only has BEGIN: gprobe keeps serving them until SIGINT.
const BEGIN_ONLY: &str = "BEGIN { @x = count(); @b[pid, pid] = count(); }";

/// Idle connections and a slowloris client (one header byte a second) held open while 200
/// scrapes run at once: every scrape is answered, and the server closes the idle and slow
/// connections itself (header read timeout) instead of waiting for them. HEAD, 404 and 405
/// on the side. All bounds are generous waits, not timings.
#[test]
fn prometheus_serves_concurrent_scrapes_past_idle_and_slow_clients() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    if !e2e_ready() {
        return;
    }
    let _k = kernel_lock();
    let mut gprobe = spawn_gprobe(&["-e", BEGIN_ONLY, "--prometheus", "127.0.0.1:0"]);
    let port = served_port(&mut gprobe);
    wait_for("the first scrape", || match http_get(port, "/metrics") {
        Some((status, body)) if status.contains("200") && body.contains("gprobe_x_total") => Ok(()),
        other => Err(format!("{other:?}")),
    });

    let idle: Vec<TcpStream> = (0..20)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).expect("idle connection"))
        .collect();
    let slow = TcpStream::connect(("127.0.0.1", port)).expect("slow connection");
    let stop = Arc::new(AtomicBool::new(false));
    let dripper = {
        let (mut slow, stop) = (slow.try_clone().unwrap(), stop.clone());
        std::thread::spawn(move || {
            for b in b"GET /metrics HTTP/1.1\r\nX-Slow: "
                .iter()
                .chain([b'a'; 600].iter())
            {
                if stop.load(Ordering::Relaxed) || slow.write_all(&[*b]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        })
    };
    std::thread::sleep(Duration::from_millis(300));

    let scrapes: Vec<_> = (0..200)
        .map(|_| std::thread::spawn(move || http_get(port, "/metrics")))
        .collect();
    let answered = scrapes
        .into_iter()
        .map(|t| t.join().unwrap())
        .filter(|r| {
            r.as_ref().is_some_and(|(status, body)| {
                status.contains("200") && body.contains("gprobe_x_total")
            })
        })
        .count();
    assert_eq!(
        answered, 200,
        "scrapes answered while idle and slow clients hold connections"
    );

    // The server hangs up on them (after its header timeout): reads end, they do not block.
    for mut c in idle.into_iter().chain([slow.try_clone().unwrap()]) {
        c.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut buf = Vec::new();
        let closed = match c.read_to_end(&mut buf) {
            Ok(_) => true,
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
        };
        assert!(
            closed,
            "a client that sends no complete request is disconnected"
        );
    }
    stop.store(true, Ordering::Relaxed);
    let _ = slow.shutdown(std::net::Shutdown::Both);
    dripper.join().unwrap();

    let (head, body) = http_request(port, "HEAD", "/metrics", "").expect("HEAD answered");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let head = head.to_ascii_lowercase();
    assert!(
        head.contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
    assert!(head.contains("content-length: "), "{head}");
    assert!(body.is_empty(), "HEAD has no body: {body:?}");
    let (head, _) = http_request(port, "POST", "/metrics", "Content-Length: 0\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 405"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("allow: get, head"),
        "{head}"
    );
    assert!(http_get(port, "/").unwrap().0.contains("404"));
    // A request line longer than the header limit is refused, not buffered.
    let long = format!("/metrics?{}", "a".repeat(64 * 1024));
    let refused = http_get(port, &long).map(|(status, _)| status);
    assert!(
        refused
            .as_deref()
            .is_none_or(|s| s.contains("431") || s.contains("414")),
        "{refused:?}"
    );
    let out = gprobe.stop();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_no_gprobe_programs();
}

/// Maps whose natural names would make an invalid page: a repeated key name, keys named like
/// reserved labels (`le` on a histogram, `quantile` on a summary; `__name__` is made `name`
/// already by the metrics model), and families
/// whose names collide (`@a` counter and `@a_total` gauge, `@c` histogram and `@c_count`). Both
/// parsers accept both formats, and no sample is lost to a clash.
#[test]
fn prometheus_exposition_is_valid_for_any_map_names() {
    if !e2e_ready() {
        return;
    }
    if python_with_parsers().is_none() {
        return;
    }
    let _k = kernel_lock();
    let script = r#"BEGIN {
  @b[pid, pid] = count();
  $le = 7; @h[$le] = hist(5);
  @st[(quantile = 2, __name__ = 3)] = stats(4);
  @a = count(); @a_total = max(3);
  @c = hist(1); @c_count = max(4);
  @s = sum(-2);
}"#;
    let mut gprobe = spawn_gprobe(&["-e", script, "--prometheus", "127.0.0.1:0"]);
    let port = served_port(&mut gprobe);
    let scrape = |accept: &str| {
        wait_for("a scrape with every map", || {
            match http_request(port, "GET", "/metrics", accept) {
                Some((head, body)) if head.contains(" 200 ") && body.contains("gprobe_c_count") => {
                    Ok((head.to_ascii_lowercase(), body))
                }
                other => Err(format!("{other:?}")),
            }
        })
    };
    let (text_head, text_page) = scrape("");
    let (om_head, om_page) = scrape("Accept: application/openmetrics-text; version=1.0.0\r\n");
    let out = gprobe.stop();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text_head.contains("content-type: text/plain; version=0.0.4"),
        "{text_head}"
    );
    assert!(
        om_head.contains("content-type: application/openmetrics-text; version=1.0.0"),
        "{om_head}"
    );
    assert!(om_page.ends_with("# EOF\n"), "{om_page}");

    let pid = || -> String {
        text_page
            .lines()
            .find_map(|l| l.strip_prefix("gprobe_b_total{pid=\""))
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("no @b in:\n{text_page}"))
            .to_string()
    };
    let pid = pid();
    for (format, page) in [("text", &text_page), ("openmetrics", &om_page)] {
        let families = parse_page(&mut python_with_parsers().unwrap(), format, page);
        let family = |name: &str| {
            families
                .iter()
                .find(|f| f["name"] == name)
                .unwrap_or_else(|| panic!("{format}: no family {name} in:\n{page}"))
        };
        let has = |f: &serde_json::Value, sample: &str, labels: serde_json::Value| {
            assert!(
                f["samples"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|s| s[0] == sample && s[1] == labels),
                "{format}: no {sample} {labels} in:\n{page}"
            );
        };
        has(
            family("gprobe_b"),
            "gprobe_b_total",
            serde_json::json!({"pid": pid, "pid_2": pid}),
        );
        has(
            family("gprobe_h"),
            "gprobe_h_bucket",
            serde_json::json!({"key_le": "7", "le": "+Inf"}),
        );
        has(
            family("gprobe_st"),
            "gprobe_st_count",
            serde_json::json!({"key_quantile": "2", "name": "3"}),
        );
        assert_eq!(family("gprobe_a")["type"], "counter");
        has(family("gprobe_a"), "gprobe_a_total", serde_json::json!({}));
        assert_eq!(family("gprobe_a_total_2")["type"], "gauge");
        has(
            family("gprobe_a_total_2"),
            "gprobe_a_total_2",
            serde_json::json!({}),
        );
        assert_eq!(family("gprobe_c")["type"], "histogram");
        has(
            family("gprobe_c_count_2"),
            "gprobe_c_count_2",
            serde_json::json!({}),
        );
    }
    // A sum that went negative is a valid text sample; OpenMetrics forbids it and leaves it out.
    assert!(text_page.contains("gprobe_s_total -2\n"), "{text_page}");
    assert!(!om_page.contains("gprobe_s_total "), "{om_page}");
    assert_no_gprobe_programs();
}

/// A self-signed certificate for 127.0.0.1 and a web config with basic auth (user `prom`,
/// password `secret`) in `dir`, files named relative to the config as the toolkit allows.
fn tls_web_config(dir: &TempDir) -> std::path::PathBuf {
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=gprobe-test", "-addext"])
        .arg("subjectAltName=IP:127.0.0.1,DNS:localhost")
        .arg("-keyout")
        .arg(dir.path("key.pem"))
        .arg("-out")
        .arg(dir.path("cert.pem"))
        .output()
        .expect("run openssl");
    assert!(made.status.success(), "openssl: {}", text(&made.stderr));
    // Cost 4 (the least): the test checks the mechanism, not the hash's strength.
    let hash = bcrypt::hash("secret", 4).unwrap();
    let config = dir.path("web.yml");
    std::fs::write(
        &config,
        format!(
            "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n\
             basic_auth_users:\n  prom: '{hash}'\n"
        ),
    )
    .unwrap();
    config
}

/// `curl` against the TLS endpoint, trusting only the test's certificate; stdout is the
/// response head (with `-i`) and body, then the status code on a last line.
fn curl(cert: &std::path::Path, args: &[&str], url: &str) -> (String, String) {
    let out = Command::new("curl")
        .args(["-sS", "-i", "--max-time", "60", "-w", "\n%{http_code}"])
        .arg("--cacert")
        .arg(cert)
        .args(args)
        .arg(url)
        .output()
        .expect("run curl");
    let all = text(&out.stdout);
    let (rest, code) = all.rsplit_once('\n').unwrap_or(("", ""));
    (
        code.trim().to_string(),
        format!("{rest}{}", text(&out.stderr)),
    )
}

/// `--web.config.file` with TLS and basic auth: scraped over HTTPS with the right credentials;
/// wrong or missing ones get 401 with `WWW-Authenticate: Basic`; plain HTTP gets nothing.
#[test]
fn prometheus_tls_and_basic_auth() {
    if !e2e_ready() || !have_tool("openssl", "a self-signed certificate") {
        return;
    }
    if !have_tool("curl", "an HTTPS client") {
        return;
    }
    let dir = TempDir::new("tls");
    let config = tls_web_config(&dir);
    let cert = dir.path("cert.pem");
    let _k = kernel_lock();
    let mut gprobe = spawn_gprobe(&[
        "-e",
        BEGIN_ONLY,
        "--prometheus",
        "127.0.0.1:0",
        "--web.config.file",
        config.to_str().unwrap(),
    ]);
    let port = served_port(&mut gprobe);
    let url = format!("https://127.0.0.1:{port}/metrics");
    let (code, page) = wait_for("an authenticated HTTPS scrape", || {
        match curl(&cert, &["-u", "prom:secret"], &url) {
            (code, page) if code == "200" && page.contains("gprobe_x_total 1") => Ok((code, page)),
            other => Err(format!("{other:?}")),
        }
    });
    assert_eq!(code, "200", "{page}");
    for creds in [&["-u", "prom:wrong"][..], &["-u", "nobody:secret"], &[]] {
        let (code, head) = curl(&cert, creds, &url);
        assert_eq!(code, "401", "{creds:?}: {head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("www-authenticate: basic"),
            "{creds:?}: {head}"
        );
    }
    let (code, head) = curl(&cert, &["-u", "prom:secret", "-I"], &url);
    assert_eq!(code, "200", "{head}");
    let plain = http_get(port, "/metrics");
    assert!(
        plain
            .as_ref()
            .is_none_or(|(status, _)| !status.contains("200")),
        "plain HTTP must not be served: {plain:?}"
    );
    let out = gprobe.stop();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_no_gprobe_programs();
}

/// `client_ca_file` with `RequireAndVerifyClientCert`: a client without a certificate from
/// that CA is refused in the handshake; one with it is served.
#[test]
fn prometheus_tls_client_certificates() {
    if !e2e_ready() || !have_tool("openssl", "certificates") || !have_tool("curl", "a client") {
        return;
    }
    let dir = TempDir::new("mtls");
    let ca = "req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=gprobe-test-ca -keyout ca.key -out ca.crt";
    openssl(&dir, &ca.split(' ').collect::<Vec<_>>());
    for (name, ext) in [
        (
            "server",
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        ),
        (
            "client",
            "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
        ),
    ] {
        let (key, csr, crt, extfile) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.crt"),
            format!("{name}.ext"),
        );
        std::fs::write(dir.path(&extfile), ext).unwrap();
        openssl(
            &dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                &format!("/CN={name}"),
                "-keyout",
                &key,
                "-out",
                &csr,
            ],
        );
        openssl(
            &dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "1",
                "-extfile",
                &extfile,
                "-out",
                &crt,
            ],
        );
    }
    let config = dir.path("web.yml");
    std::fs::write(
        &config,
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  \
         client_ca_file: ca.crt\n  client_auth_type: RequireAndVerifyClientCert\n",
    )
    .unwrap();
    let _k = kernel_lock();
    let mut gprobe = spawn_gprobe(&[
        "-e",
        BEGIN_ONLY,
        "--prometheus",
        "127.0.0.1:0",
        "--web.config.file",
        config.to_str().unwrap(),
    ]);
    let port = served_port(&mut gprobe);
    let url = format!("https://127.0.0.1:{port}/metrics");
    let ca = dir.path("ca.crt");
    let (client_crt, client_key) = (dir.path("client.crt"), dir.path("client.key"));
    let with_cert = [
        "--cert",
        client_crt.to_str().unwrap(),
        "--key",
        client_key.to_str().unwrap(),
    ];
    wait_for("a scrape with a client certificate", || {
        match curl(&ca, &with_cert, &url) {
            (code, page) if code == "200" && page.contains("gprobe_x_total 1") => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });
    let (code, out) = curl(&ca, &[], &url);
    assert_ne!(code, "200", "served without a client certificate: {out}");
    let out = gprobe.stop();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_no_gprobe_programs();
}

/// A bad `--web.config.file` is a clear error before anything is attached.
#[test]
fn prometheus_bad_web_config_is_an_error() {
    if !e2e_ready() {
        return;
    }
    let dir = TempDir::new("badweb");
    let config = dir.path("web.yml");
    for (contents, says) in [
        (
            "basic_auth_users:\n  prom: not-a-hash\n",
            "not a bcrypt hash",
        ),
        (
            "tls_server_config:\n  cert_file: missing.pem\n  key_file: missing.key\n",
            "missing.pem",
        ),
        ("tls_server_confg: {}\n", "unknown field"),
    ] {
        std::fs::write(&config, contents).unwrap();
        let out = run_gprobe(
            &[
                "-e",
                "BEGIN { @x = count(); exit(); }",
                "--prometheus",
                "127.0.0.1:0",
                "--web.config.file",
                config.to_str().unwrap(),
            ],
            LIMIT,
        );
        assert!(!out.status.success());
        let err = text(&out.stderr);
        assert!(
            err.contains("--web.config.file") && err.contains(says),
            "{err}"
        );
        assert!(
            !text(&out.stdout).contains("Attaching"),
            "{}",
            text(&out.stdout)
        );
    }
}

/// A real Prometheus (Debian's `prometheus`, run directly on loopback with a throwaway
/// config and storage) scrapes gprobe over TLS with basic auth: its `up` is 1 and it has the
/// counter.
#[test]
fn prometheus_server_scrapes_gprobe_over_tls() {
    if !e2e_ready() || !have_tool("openssl", "a self-signed certificate") {
        return;
    }
    if !have_tool("prometheus", "the Prometheus server (scripts/install-deps)") {
        return;
    }
    let dir = TempDir::new("promserver");
    let config = tls_web_config(&dir);
    let _k = kernel_lock();
    let mut gprobe = spawn_gprobe(&[
        "-e",
        BEGIN_ONLY,
        "--prometheus",
        "127.0.0.1:0",
        "--web.config.file",
        config.to_str().unwrap(),
    ]);
    let port = served_port(&mut gprobe);
    let prom_config = dir.path("prometheus.yml");
    std::fs::write(
        &prom_config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
             scrape_configs:\n  - job_name: gprobe\n    scheme: https\n\
             \x20   tls_config:\n      ca_file: {}\n\
             \x20   basic_auth:\n      username: prom\n      password: secret\n\
             \x20   static_configs:\n      - targets: ['127.0.0.1:{port}']\n",
            dir.path("cert.pem").display()
        ),
    )
    .unwrap();
    let web_port = free_port();
    let prometheus = Command::new("prometheus")
        .arg(format!("--config.file={}", prom_config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{web_port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start prometheus");
    let _prometheus = Background(Some(prometheus));
    let query = |q: &str| -> Result<String, String> {
        let (status, body) = http_get(web_port, &format!("/api/v1/query?query={q}"))
            .ok_or("prometheus not answering yet")?;
        if !status.contains("200") {
            return Err(format!("{status}: {body}"));
        }
        // One result: `"value":[TIME,"V"]`.
        let v: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
        v["data"]["result"][0]["value"][1]
            .as_str()
            .map(str::to_string)
            .ok_or(body)
    };
    wait_for("Prometheus' up == 1 for gprobe", || match query("up") {
        Ok(v) if v == "1" => Ok(()),
        other => Err(format!("{other:?}")),
    });
    wait_for("gprobe_x_total in Prometheus", || {
        match query("gprobe_x_total") {
            Ok(v) if v == "1" => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });
    let out = gprobe.stop();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_no_gprobe_programs();
}

fn metric<'a>(request: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    find_metric(request, name).unwrap_or_else(|| panic!("no metric {name} in {request}"))
}

/// Periodic and final OTLP pushes, decoded by the official protobuf definitions: names, kinds,
/// temporality, attributes, bucket bounds and counts match the maps; the resource names the
/// target; a map cleared in BEGIN starts later than the others.
#[test]
fn otlp_pushes_decode_with_the_official_definitions() {
    if !e2e_ready() {
        return;
    }
    let Some(python) = python_with_parsers() else {
        return;
    };
    let bin = go_target("work", "1.19", &[]);
    let bin = bin.to_str().unwrap();
    let mut receiver = Receiver::start(python);
    let _k = kernel_lock();
    let url = format!("http://127.0.0.1:{}", receiver.port);
    let script = exporter_script(bin);
    let gprobe = spawn_gprobe(&["-e", &script, "--otlp", &url, "--interval", "200ms"]);
    wait_for("a periodic export", || match receiver.take_new() {
        0 => Err("no request yet".into()),
        _ => Ok(()),
    });
    run_work(bin, 1234);
    wait_for("an export with the calls", || {
        receiver.take_new();
        match receiver.seen.last() {
            Some(r) if r.to_string().contains("\"calls\"") => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });
    let out = gprobe.stop();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let final_maps = text(&out.stdout);
    receiver.take_new();
    let last = receiver.seen.last().unwrap().clone();
    assert!(
        receiver.seen.len() >= 3,
        "periodic pushes and the final one"
    );
    assert_eq!(last["path"], "/v1/metrics");
    assert_eq!(last["type"], "application/x-protobuf");

    let resource: std::collections::HashMap<String, serde_json::Value> =
        last["request"]["resourceMetrics"][0]["resource"]["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|kv| (kv["key"].as_str().unwrap().to_string(), kv["value"].clone()))
            .collect();
    assert_eq!(resource["service.name"]["stringValue"], "work-1.19");
    assert!(
        !resource["host.name"]["stringValue"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    assert!(int_of(&resource["process.pid"]["intValue"]) > 0);
    assert_eq!(resource["process.executable.path"]["stringValue"], bin);
    assert!(
        resource["process.runtime.version"]["stringValue"]
            .as_str()
            .unwrap()
            .starts_with("go1.19")
    );

    let calls = metric(&last, "calls");
    assert_eq!(calls["description"], "Calls of main.work by command.");
    let sum = &calls["sum"];
    assert_eq!(sum["isMonotonic"], true);
    assert_eq!(
        sum["aggregationTemporality"],
        "AGGREGATION_TEMPORALITY_CUMULATIVE"
    );
    let point = &sum["dataPoints"][0];
    assert_eq!(
        int_of(&point["asInt"]),
        final_value(&final_maps, "@calls[work-1.19]")
    );
    assert_eq!(point["attributes"][0]["key"], "comm");
    assert_eq!(point["attributes"][0]["value"]["stringValue"], "work-1.19");
    let start_of = |name: &str| {
        let m = metric(&last, name);
        int_of(&m["sum"]["dataPoints"][0]["startTimeUnixNano"])
    };
    assert_eq!(
        int_of(&metric(&last, "s")["sum"]["dataPoints"][0]["asInt"]),
        final_value(&final_maps, "@s")
    );
    assert_eq!(
        int_of(&metric(&last, "a")["sum"]["dataPoints"][0]["asInt"]),
        final_value(&final_maps, "@a")
    );
    assert!(
        start_of("a") > start_of("calls"),
        "clear(@a) resets its start time"
    );
    assert_eq!(
        int_of(&metric(&last, "mx")["gauge"]["dataPoints"][0]["asInt"]),
        9
    );
    let st = &metric(&last, "st")["summary"]["dataPoints"][0];
    assert_eq!(int_of(&st["count"]), 2);
    assert_eq!(st["sum"], 40.0);

    let h = &metric(&last, "h")["histogram"];
    assert_eq!(
        h["aggregationTemporality"],
        "AGGREGATION_TEMPORALITY_CUMULATIVE"
    );
    let hp = &h["dataPoints"][0];
    assert_eq!(int_of(&hp["count"]), 3);
    assert_eq!(hp["sum"], 105.0); // 0 + 5 + 100
    let bounds: Vec<f64> = serde_json::from_value(hp["explicitBounds"].clone()).unwrap();
    assert_eq!(bounds, [-1.0, 0.0, 1.0, 3.0, 7.0, 15.0, 31.0, 63.0, 127.0]);
    let counts: Vec<i64> = hp["bucketCounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(int_of)
        .collect();
    assert_eq!(counts, [0, 1, 0, 0, 1, 0, 0, 0, 1, 0]);
    let lp = &metric(&last, "l")["histogram"]["dataPoints"][0];
    assert_eq!(lp["sum"], 13.0); // 3 + 11 - 1
    let bounds: Vec<f64> = serde_json::from_value(lp["explicitBounds"].clone()).unwrap();
    assert_eq!(bounds, [-1.0, 1.0, 3.0, 5.0, 7.0, 9.0]);
    let counts: Vec<i64> = lp["bucketCounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(int_of)
        .collect();
    assert_eq!(counts, [1, 0, 1, 0, 0, 0, 1]);
    assert_no_gprobe_programs();
}

/// A Go program known to spend its CPU in `main.burn`, profiled at 99 Hz with user stacks: the
/// folded stacks and the SVG name it, and most samples are under it.
#[test]
fn flame_graph_names_the_hot_go_function() {
    if !e2e_ready() {
        return;
    }
    let bin = go_target("burn", "1.19", &[]);
    let bin = bin.to_str().unwrap();
    let _k = kernel_lock();
    let dir = std::env::temp_dir();
    let id = std::process::id();
    let svg = dir.join(format!("gprobe-flame-{id}.svg"));
    let folded = dir.join(format!("gprobe-flame-{id}.txt"));
    let script = r#"profile:hz:99 /comm == "burn-1.19"/ { @[ustack] = count(); }"#;
    let out = run_gprobe(
        &[
            "-e",
            script,
            "-c",
            bin,
            "--flamegraph",
            svg.to_str().unwrap(),
            "--folded",
            folded.to_str().unwrap(),
        ],
        LIMIT,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let folded_text = std::fs::read_to_string(&folded).expect("folded file");
    let svg_text = std::fs::read_to_string(&svg).expect("svg file");
    let _ = std::fs::remove_file(&folded);
    let _ = std::fs::remove_file(&svg);
    let (mut total, mut in_burn) = (0u64, 0u64);
    for line in folded_text.lines() {
        let (stack, count) = line.rsplit_once(' ').expect("`stack count`");
        let count: u64 = count.parse().expect("count");
        total += count;
        if stack.split(';').any(|f| f == "main.burn") {
            in_burn += count;
            assert!(
                stack.starts_with("runtime.") || stack.contains("main.main;main.burn"),
                "root first: {stack}"
            );
        }
    }
    assert!(total > 0, "no samples:\n{folded_text}");
    assert!(
        in_burn * 2 > total,
        "main.burn in {in_burn} of {total} samples:\n{folded_text}"
    );
    assert!(svg_text.starts_with("<?xml") && svg_text.contains("<svg"));
    assert!(svg_text.contains("main.burn"), "the SVG names main.burn");
    assert_no_gprobe_programs();
}
