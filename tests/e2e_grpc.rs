//! The gRPC recipes against a real grpc-go server and client (tests/go/grpcmix, built from
//! Debian's golang-google-grpc-dev with Go 1.19 in GOPATH mode), with DWARF and stripped: every
//! RPC the client logs is counted under its full method, kind and status code, and each
//! latency histogram is bounded by the handler's sleep below and the client's own timings above.

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::*;

const LIMIT: Duration = Duration::from_secs(120);
/// The handler's sleep (grpcmix's `-sleep`), in microseconds: every RPC's floor.
const SLEEP_US: u64 = 5_000;
/// Rounds of grpcmix's call mix (9 calls each).
const ROUNDS: &str = "4";

const FLAVOURS: &[&[&str]] = &[&[], &["-ldflags=-s -w"]];

/// Runs `check` with grpcmix built with DWARF and stripped.
fn each_flavour(mut check: impl FnMut(&std::path::Path, &str)) {
    if !e2e_ready() || !have_debian_go_package("google.golang.org/grpc") {
        return;
    }
    for flags in FLAVOURS {
        let bin = debian_go_target("grpcmix", flags);
        let _k = kernel_lock();
        check(&bin, &format!("grpcmix {flags:?}"));
        assert_no_gprobe_programs();
    }
}

struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(bin: &std::path::Path) -> Server {
        let mut child = Command::new(bin)
            .args(["server", "-addr", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start grpcmix server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("grpcmix server's first line");
        let addr = line
            .trim()
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("grpcmix server said {line:?}"))
            .to_string();
        Server { child, addr }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the client logged: (method, code) → calls, and → each call's microseconds.
struct ClientLog {
    calls: BTreeMap<(String, String), u64>,
    timings: BTreeMap<(String, String), Vec<u64>>,
}

fn client_log(out: &str) -> ClientLog {
    let mut log = ClientLog {
        calls: BTreeMap::new(),
        timings: BTreeMap::new(),
    };
    for line in out.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words[..] {
            ["calls", method, code, n] => {
                log.calls
                    .insert((method.into(), code.into()), n.parse().unwrap());
            }
            ["call", method, code, us] => log
                .timings
                .entry((method.into(), code.into()))
                .or_default()
                .push(us.parse().unwrap()),
            _ => {}
        }
    }
    log
}

fn kind(method: &str) -> &'static str {
    if method.ends_with("/Watch") {
        "stream"
    } else {
        "unary"
    }
}

/// The recipe counted every call the client logged, under the right method, kind and status
/// name, and nothing else; each histogram lies between the handler's sleep and the client's own
/// timings of the same calls (the recipe's interval is nested in the client's, so for every
/// bucket edge at least as many of the recipe's samples as of the client's are below it).
fn assert_matches_client(out: &str, log: &ClientLog, what: &str) {
    assert_eq!(log.calls.len(), 6, "{what}: client log:\n{out}");
    let counted = map_lines(out, "@rpcs");
    let want: BTreeMap<String, u64> = log
        .calls
        .iter()
        .map(|((m, c), n)| (format!("{m}, {}, {c}", kind(m)), *n))
        .collect();
    assert_eq!(counted, want, "{what}:\n{out}");
    for ((method, code), times) in &log.timings {
        let map = format!("@latency_us[{method}, {}, {code}]", kind(method));
        let hist = text_histogram(out, &map);
        let total: u64 = hist.iter().map(|(_, n)| n).sum();
        assert_eq!(total, times.len() as u64, "{what}: {map}:\n{out}");
        let mut below = 0;
        for (hi, n) in &hist {
            if *n > 0 {
                assert!(*hi > SLEEP_US, "{what}: {map} under the sleep:\n{out}");
            }
            below += n;
            let client_below = times.iter().filter(|&&t| t < *hi).count() as u64;
            assert!(
                below >= client_below,
                "{what}: {map}: {below} samples under {hi} us, the client timed {client_below} \
                 there ({times:?}):\n{out}"
            );
        }
    }
    let in_flight: u64 = text_histogram(out, "@in_flight")
        .iter()
        .map(|(_, n)| n)
        .sum();
    let calls: u64 = log.calls.values().sum();
    assert_eq!(in_flight, calls, "{what}: @in_flight:\n{out}");
}

#[test]
fn grpc_server_counts_equal_what_the_client_logged() {
    each_flavour(|bin, what| {
        let server = Server::start(bin);
        let tracer = Tracer::start(&[
            "--recipe",
            "grpc-server",
            "-p",
            &server.child.id().to_string(),
        ]);
        let client = Command::new(bin)
            .args(["client", "-addr", &server.addr, "-n", ROUNDS])
            .output()
            .expect("run grpcmix client");
        assert!(client.status.success(), "{what}: client failed");
        let log = client_log(&text(&client.stdout));
        let out = tracer.stop();
        assert_matches_client(&out, &log, what);
    });
}

#[test]
fn grpc_client_counts_equal_what_it_logged() {
    each_flavour(|bin, what| {
        let server = Server::start(bin);
        let cmd = format!("{} client -addr {} -n {ROUNDS}", bin.display(), server.addr);
        let out = run_gprobe(&["--recipe", "grpc-client", "-c", &cmd], LIMIT);
        let printed = text(&out.stdout);
        assert!(
            out.status.success(),
            "{what}: {}\n{printed}",
            text(&out.stderr)
        );
        assert_matches_client(&printed, &client_log(&printed), what);
    });
}

/// `args.NAME` of grpc-go functions in a one-liner, on a stripped client: the method strings
/// come from the library table's signature of `(*ClientConn).Invoke`.
#[test]
fn stripped_one_liner_reads_grpc_args_by_name() {
    if !e2e_ready() || !have_debian_go_package("google.golang.org/grpc") {
        return;
    }
    let bin = debian_go_target("grpcmix", &["-ldflags=-s -w"]);
    let _k = kernel_lock();
    let server = Server::start(&bin);
    let cmd = format!("{} client -addr {} -n {ROUNDS}", bin.display(), server.addr);
    let program = r#"uprobe:"google.golang.org/grpc.(*ClientConn).Invoke" { @invoked[str(args.method)] = count(); }"#;
    let out = run_gprobe(&["-e", program, "-c", &cmd], LIMIT);
    let printed = text(&out.stdout);
    assert!(out.status.success(), "{}\n{printed}", text(&out.stderr));
    let log = client_log(&printed);
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for ((method, _), n) in &log.calls {
        // Watch is a stream (NewStream), not an Invoke.
        if kind(method) == "unary" {
            *want.entry(method.clone()).or_default() += n;
        }
    }
    assert_eq!(want.len(), 2, "client log:\n{printed}");
    assert_eq!(map_lines(&printed, "@invoked"), want, "{printed}");
    assert_no_gprobe_programs();
}

/// A stripped binary whose grpc version has no table row is refused, naming the nearest row,
/// before anything is attached: the test's binary with its version marker changed.
#[test]
fn an_unknown_grpc_version_is_refused_with_the_nearest_row() {
    if !e2e_ready() || !have_debian_go_package("google.golang.org/grpc") {
        return;
    }
    let bin = debian_go_target("grpcmix", &["-ldflags=-s -w"]);
    let dir = TempDir::new("grpc-version");
    let patched = dir.path("grpcmix");
    let mut data = std::fs::read(&bin).unwrap();
    let (from, to) = (b"grpc-go/1.33.3", b"grpc-go/1.99.0");
    let mut copies = 0;
    while let Some(at) = data.windows(from.len()).position(|w| w == from) {
        data[at..at + to.len()].copy_from_slice(to);
        copies += 1;
    }
    assert!(copies > 0, "no grpc-go user agent in the binary");
    std::fs::write(&patched, &data).unwrap();
    for recipe in ["grpc-server", "grpc-client"] {
        let out = run_gprobe(
            &[
                "--check",
                "--recipe",
                recipe,
                "-c",
                patched.to_str().unwrap(),
            ],
            LIMIT,
        );
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{recipe}: accepted:\n{err}");
        assert!(
            err.contains("google.golang.org/grpc v1.99.0 built with Go 1.19 is not in gprobe's tables (nearest: v1.33.3 for Go 1.19)")
                && err.contains("refusing"),
            "{recipe}:\n{err}"
        );
    }
}
