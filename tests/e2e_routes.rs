//! End-to-end: `--recipe http-latency` (and `http-phases`, which shares its route reading)
//! keys requests by the route pattern a router names —
//! gin's full path, chi's route pattern, gorilla/mux's path template, net/http's ServeMux
//! pattern (Go 1.23+) — on real servers (tests/go/routes-*, gin, chi and gorilla/mux from
//! Debian's sources with Go 1.19 in module mode, whose module list names their versions, so
//! stripped builds read them with gprobe's tables) driven by
//! the load generator (examples/load), with exact counts from the generator's own report; and
//! where no router tells, by the raw path under the cardinality guard: a client sending 10,000
//! distinct paths leaves at most `PATHS` keys and `other` with the remainder.

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use support::*;

/// A test server listening on a free loopback port (it prints the address first).
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(bin: &Path) -> Server {
        let mut child = Command::new(bin)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start test server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("server address");
        Server {
            child,
            url: format!("http://{}", line.trim()),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs examples/load (`-n` rounds over `paths`, every 4th request a POST); returns its
/// "METHOD PATH" → requests it got a response for, with its readiness probe (GET /fast) added.
fn load(url: &str, paths: &str, n: u32, conc: u32) -> BTreeMap<String, u64> {
    let bin = go_program("examples/load", "1.27.3", &[]);
    // `output()` reads while it runs (10,000 report lines outgrow a pipe); the generator's own
    // per-request timeout bounds it.
    let out = Command::new(bin)
        .args(["-url", url, "-paths", paths])
        .args(["-n", &n.to_string(), "-c", &conc.to_string()])
        .output()
        .expect("run examples/load");
    let report = text(&out.stdout);
    assert!(
        out.status.success() && report.contains("failed 0"),
        "load failed: {}\n{report}",
        text(&out.stderr)
    );
    let mut sent: BTreeMap<String, u64> = report
        .lines()
        .filter_map(|l| l.strip_prefix("sent "))
        .filter_map(|l| {
            let (key, n) = l.rsplit_once(' ')?;
            Some((key.to_string(), n.parse().ok()?))
        })
        .collect();
    *sent.entry("GET /fast".to_string()).or_default() += 1;
    sent
}

/// `@requests[KEY]: N` lines of the recipe's output, KEY as printed ("GET, /users/:id, 200").
fn requests(out: &str) -> BTreeMap<String, u64> {
    out.lines()
        .filter_map(|l| l.strip_prefix("@requests["))
        .filter_map(|l| {
            let (key, n) = l.rsplit_once("]: ")?;
            Some((key.to_string(), n.trim().parse().ok()?))
        })
        .collect()
}

/// Traces `server` with http-latency while `paths` are sent, and checks every request is
/// counted under the key `route(method, path)` gives ("ROUTE, STATUS"), exactly.
fn check_routes(
    server_bin: &Path,
    paths: &str,
    route: impl Fn(&str, &str) -> (String, u32),
    what: &str,
) {
    let server = Server::start(server_bin);
    let pid = server.child.id().to_string();
    let tracer = Tracer::start(&["--recipe", "http-latency", "-p", &pid]);
    let sent = load(&server.url, paths, 8, 4);
    let out = tracer.stop();
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for (key, n) in &sent {
        let (method, path) = key.split_once(' ').unwrap();
        let (route, status) = route(method, path);
        *expected
            .entry(format!("{method}, {route}, {status}"))
            .or_default() += n;
    }
    assert_eq!(
        requests(&out),
        expected,
        "{what}: sent {sent:?}, traced:\n{out}"
    );
}

fn ready(version: &str) -> bool {
    e2e_ready() && toolchain_available(version) && toolchain_available("1.27.3")
}

#[test]
fn gin_routes_are_keyed_by_full_path() {
    if !ready("1.19") {
        return;
    }
    let bin = go_target("routes-gin", "1.19", &[]);
    let _k = kernel_lock();
    check_routes(
        &bin,
        "/users/1,/users/2,/users/3,/users/42/orders,/api/v1/items/7/a/b",
        |method, path| match (method, path) {
            ("GET", "/users/1" | "/users/2" | "/users/3") => ("/users/:id".into(), 200),
            ("POST", "/users/42/orders") => ("/users/:id/orders".into(), 201),
            ("GET", "/api/v1/items/7/a/b") => ("/api/v1/items/:item/*rest".into(), 200),
            // No route for the method: gin's 404, and no full path, so the path itself.
            _ => (path.into(), 404),
        },
        "gin",
    );
    assert_no_gprobe_programs();
    // Stripped: gin v1.8.1's Context layout from gprobe's table, the same keys.
    let stripped = go_target("routes-gin", "1.19", &["-ldflags=-s -w"]);
    check_routes(
        &stripped,
        "/users/1,/users/2",
        |method, path| match (method, path) {
            ("GET", "/users/1" | "/users/2") => ("/users/:id".into(), 200),
            _ => (path.into(), 404),
        },
        "gin, stripped",
    );
    assert_no_gprobe_programs();
}

#[test]
fn chi_routes_are_keyed_by_route_pattern() {
    if !ready("1.19") {
        return;
    }
    let bin = go_target("routes-chi", "1.19", &[]);
    let _k = kernel_lock();
    check_routes(
        &bin,
        "/users/1,/users/2,/users/3,/api/items/5,/api/items",
        |method, path| match (method, path) {
            ("GET", "/users/1" | "/users/2" | "/users/3") => ("/users/{id}".into(), 200),
            // A sub-router's pattern joins two levels' patterns, as chi's RoutePattern().
            ("GET", "/api/items/5") => ("/api/items/{item}".into(), 200),
            ("POST", "/api/items") => ("/api/items".into(), 201),
            ("GET", "/fast") => (path.into(), 404),
            _ => (path.into(), 405),
        },
        "chi",
    );
    assert_no_gprobe_programs();
    // Stripped: chi v5.0.7's layouts from gprobe's table, the same keys.
    let stripped = go_target("routes-chi", "1.19", &["-ldflags=-s -w"]);
    check_routes(
        &stripped,
        "/users/1,/users/2,/api/items/5",
        |method, path| match (method, path) {
            ("GET", "/users/1" | "/users/2") => ("/users/{id}".into(), 200),
            ("GET", "/api/items/5") => ("/api/items/{item}".into(), 200),
            ("GET", "/fast") => (path.into(), 404),
            _ => (path.into(), 405),
        },
        "chi, stripped",
    );
    assert_no_gprobe_programs();
    // `-v` says where the layouts come from.
    let cmd = stripped.display().to_string();
    let out = run_gprobe(
        &["-v", "--check", "--recipe", "http-latency", "-c", &cmd],
        std::time::Duration::from_secs(60),
    );
    let err = text(&out.stderr);
    assert!(
        err.contains(
            "gprobe:   github.com/go-chi/chi/v5 in gprobe's layout tables: v5.0.7 (Go 1.19-1.27; \
             version from the module list's require line (the module is replaced by a directory))\n"
        ),
        "{err}"
    );
}

/// http-phases reads the route as http-latency does (stdlib/include/http-route.gp): each
/// request's three phases are counted once under its method and chi's pattern, a sub-router's
/// levels joined; unrouted requests under their paths.
#[test]
fn http_phases_are_keyed_by_route_pattern() {
    if !ready("1.19") {
        return;
    }
    let bin = go_target("routes-chi", "1.19", &[]);
    let _k = kernel_lock();
    let server = Server::start(&bin);
    let pid = server.child.id().to_string();
    let tracer = Tracer::start(&["--recipe", "http-phases", "-p", &pid]);
    let sent = load(&server.url, "/users/1,/users/2,/api/items/5", 8, 4);
    let out = tracer.stop();
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for (key, n) in &sent {
        let (method, path) = key.split_once(' ').unwrap();
        let route = match (method, path) {
            ("GET", "/users/1" | "/users/2") => "/users/{id}",
            ("GET", "/api/items/5") => "/api/items/{item}",
            _ => path,
        };
        *expected.entry(format!("{method}, {route}")).or_default() += n;
    }
    for phase in ["@read_us", "@handler_us", "@write_us"] {
        let counted: BTreeMap<String, u64> = out
            .lines()
            .filter_map(|l| l.strip_prefix(phase)?.strip_prefix('['))
            .filter_map(|l| {
                let (key, rest) = l.split_once("]: count ")?;
                Some((
                    key.to_string(),
                    rest.split(',').next()?.trim().parse().ok()?,
                ))
            })
            .collect();
        assert_eq!(counted, expected, "{phase}: sent {sent:?}, traced:\n{out}");
    }
    assert_no_gprobe_programs();
}

#[test]
fn gorilla_routes_are_keyed_by_path_template() {
    if !ready("1.19") {
        return;
    }
    let bin = go_target("routes-gorilla", "1.19", &[]);
    let _k = kernel_lock();
    check_routes(
        &bin,
        "/users/1,/users/2,/users/3/orders,/api/items/9",
        |method, path| match (method, path) {
            ("GET", "/users/1" | "/users/2") => ("/users/{id}".into(), 200),
            ("POST", "/users/3/orders") => ("/users/{id:[0-9]+}/orders".into(), 201),
            // A subrouter's template carries its prefix.
            (_, "/api/items/9") => ("/api/items/{item}".into(), 200),
            ("GET", "/fast") => (path.into(), 404),
            // Method not allowed: no route is attached to the request.
            _ => (path.into(), 405),
        },
        "gorilla/mux",
    );
    assert_no_gprobe_programs();
    // Stripped: gorilla/mux v1.8.0's layouts from gprobe's table, the same keys.
    let stripped = go_target("routes-gorilla", "1.19", &["-ldflags=-s -w"]);
    check_routes(
        &stripped,
        "/users/1,/api/items/9",
        |method, path| match (method, path) {
            ("GET", "/users/1") => ("/users/{id}".into(), 200),
            (_, "/api/items/9") => ("/api/items/{item}".into(), 200),
            ("GET", "/fast") => (path.into(), 404),
            _ => (path.into(), 405),
        },
        "gorilla/mux, stripped",
    );
    assert_no_gprobe_programs();
}

#[test]
fn servemux_routes_are_keyed_by_request_pattern() {
    // Stripped too: `Request.Pattern` and `response.req` are in gprobe's table of net/http's
    // layouts.
    for (version, flags) in [
        ("1.23.9", &[][..]),
        ("1.27.3", &[]),
        ("1.27.3", &["-ldflags=-s -w"]),
    ] {
        if !ready(version) {
            return;
        }
        let bin = go_target("routes-mux", version, flags);
        let _k = kernel_lock();
        check_routes(
            &bin,
            "/users/1,/users/2,/users/3/orders,/files/a/b/c",
            |method, path| match (method, path) {
                ("GET", "/users/1" | "/users/2") => ("GET /users/{id}".into(), 200),
                ("POST", "/users/3/orders") => ("POST /users/{id}/orders".into(), 201),
                (_, "/files/a/b/c") => ("/files/{path...}".into(), 200),
                ("GET", "/fast") => (path.into(), 404),
                // Method not allowed: no pattern matched.
                _ => (path.into(), 405),
            },
            &format!("ServeMux, Go {version} {flags:?}"),
        );
        assert_no_gprobe_programs();
    }
}

/// A router-less server (httpsrv: one handler for every path, Go 1.19's ServeMux, which records
/// no pattern) and a client sending 10,000 distinct paths one at a time: the first 100 distinct
/// paths (the readiness probe's /fast and /u/0 … /u/98) are keys, every later one is `other`.
#[test]
fn raw_paths_are_folded_into_other_past_the_guard() {
    if !ready("1.19") {
        return;
    }
    let bin = go_target("httpsrv", "1.19", &[]);
    let _k = kernel_lock();
    let server = Server::start(&bin);
    let pid = server.child.id().to_string();
    let tracer = Tracer::start(&["--recipe", "http-latency", "-p", &pid, "0", "100"]);
    let paths: Vec<String> = (0..10_000).map(|i| format!("/u/{i}")).collect();
    let sent = load(&server.url, &paths.join(","), 1, 1);
    let total: u64 = sent.values().sum();
    assert_eq!(total, 10_001, "{sent:?}");
    let out = tracer.stop();
    let counted = requests(&out);
    let other = counted.get("GET, other, 200").copied();
    let kept: BTreeMap<&String, &u64> = counted
        .iter()
        .filter(|(k, _)| k.as_str() != "GET, other, 200")
        .collect();
    let mut want: Vec<String> = vec!["GET, /fast, 200".to_string()];
    want.extend((0..99).map(|i| format!("GET, /u/{i}, 200")));
    want.sort();
    assert_eq!(
        kept.keys().map(|k| k.as_str()).collect::<Vec<_>>(),
        want,
        "keys kept"
    );
    assert!(kept.values().all(|&&n| n == 1), "{kept:?}");
    assert_eq!(other, Some(10_001 - 100), "other:\n{out}");
    drop(server);
    assert_no_gprobe_programs();
}

/// HTTP/2 without TLS through golang.org/x/net/http2, as Caddy serves it (tests/go/h2c:
/// `h2c.NewHandler` around a ServeMux, Debian's x/net): every stream's request is counted
/// under its path and status, exactly as the h2c client (the same program) reports them.
#[test]
fn h2c_requests_through_x_net_http2_are_counted_exactly() {
    if !ready("1.19") {
        return;
    }
    // Stripped too: x/net v0.7.0's signatures from gprobe's table (tests/go/h2c is a module
    // build, so its module list names the version).
    for flags in [&[][..], &["-ldflags=-s -w"][..]] {
        let bin = go_target("h2c", "1.19", flags);
        let _k = kernel_lock();
        let server = Server::start(&bin);
        let pid = server.child.id().to_string();
        let tracer = Tracer::start(&["--recipe", "http-latency", "-p", &pid]);
        let client = Command::new(&bin)
            .args(["-client", &server.url, "-n", "9"])
            .output()
            .expect("run the h2c client");
        let report = text(&client.stdout);
        assert!(
            client.status.success(),
            "h2c client failed: {}\n{report}",
            text(&client.stderr)
        );
        let out = tracer.stop();
        // "sent GET /a 200 9" → "GET, /a, 200": 9
        let sent: BTreeMap<String, u64> = report
            .lines()
            .filter_map(|l| {
                let mut w = l.strip_prefix("sent ")?.split_whitespace();
                let (method, path, status, n) = (w.next()?, w.next()?, w.next()?, w.next()?);
                Some((format!("{method}, {path}, {status}"), n.parse().ok()?))
            })
            .collect();
        assert_eq!(sent.values().sum::<u64>(), 27, "{report}");
        assert_eq!(requests(&out), sent, "{flags:?}: traced:\n{out}");
        assert_no_gprobe_programs();
    }
}
