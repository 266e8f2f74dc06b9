//! End-to-end: every recipe of stdlib/ runs against the example service (examples/shop) driven
//! by the load generator (examples/load) on loopback, and its numbers are checked against ground
//! truth: what the load generator says it sent, what GODEBUG=gctrace=1 prints, which functions
//! the shop's slow endpoints run. Go 1.19 and 1.27, with and without symbols.
//!
//! Each test runs the shop (and the load generator) for a few seconds of load per target.

mod support;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use support::*;

const VERSIONS: &[&str] = &["1.19", "1.27.3"];
const FLAVOURS: &[&[&str]] = &[&[], &["-ldflags=-s -w"]];
/// Safety net for a hung gprobe, not a timing assertion.
const LIMIT: Duration = Duration::from_secs(120);

fn example(name: &str, version: &str, flags: &[&str]) -> PathBuf {
    go_program(&format!("examples/{name}"), version, flags)
}

/// The shop service on a free loopback port; stderr (gctrace lines) arrives on `stderr`.
struct Shop {
    child: Child,
    url: String,
    stderr: mpsc::Receiver<String>,
}

impl Shop {
    fn start(bin: &PathBuf, env: &[(&str, &str)]) -> Shop {
        Shop::start_with(bin, env, &[])
    }

    fn start_with(bin: &PathBuf, env: &[(&str, &str)], args: &[&str]) -> Shop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(bin)
            .args(["-addr", &format!("127.0.0.1:{port}")])
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = line_channel(child.stderr.take().unwrap());
        Shop {
            child,
            url: format!("http://127.0.0.1:{port}"),
            stderr,
        }
    }
}

impl Drop for Shop {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs examples/load against `url` to completion; returns "METHOD PATH" → requests sent.
fn load(version: &str, url: &str, paths: &str, n: u32) -> BTreeMap<String, u64> {
    sent_counts(&load_report(version, url, paths, n, &[]))
}

/// The load generator's whole report (`sent …`, `protocol …`, `failed 0` lines).
fn load_report(version: &str, url: &str, paths: &str, n: u32, args: &[&str]) -> String {
    let bin = example("load", version, &[]);
    let out = Command::new(bin)
        .args([
            "-url",
            url,
            "-paths",
            paths,
            "-n",
            &n.to_string(),
            "-c",
            "4",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "load failed: {}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(report.contains("failed 0"), "load had failures:\n{report}");
    report
}

/// `sent GET /fast 15` lines of the load generator's report.
fn sent_counts(report: &str) -> BTreeMap<String, u64> {
    report
        .lines()
        .filter_map(|l| l.strip_prefix("sent "))
        .filter_map(|l| {
            let (key, n) = l.rsplit_once(' ')?;
            Some((key.to_string(), n.parse().ok()?))
        })
        .collect()
}

/// A recipe running in the background: started, and known to be attached.
struct Tracing {
    child: Child,
    stdout: mpsc::Receiver<String>,
}

/// Starts `gprobe --recipe NAME -p PID` and waits until it reports its probes attached.
fn trace(recipe: &str, pid: u32) -> Tracing {
    trace_with(&["--recipe", recipe, "-p", &pid.to_string()])
}

/// Starts gprobe with `args` and waits until it reports its probes attached.
fn trace_with(args: &[&str]) -> Tracing {
    let mut child = Command::new(gprobe_bin())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = line_channel(child.stdout.take().unwrap());
    loop {
        match rx.recv_timeout(LIMIT) {
            Ok(line) if line.starts_with("Attaching") => break,
            Ok(_) => {}
            Err(_) => {
                let _ = child.kill();
                let mut err = String::new();
                child.stderr.take().unwrap().read_to_string(&mut err).ok();
                panic!("gprobe {args:?} never attached:\n{err}");
            }
        }
    }
    Tracing { child, stdout: rx }
}

/// Every `sent METHOD PATH N` of the load generator is `@requests[METHOD, PATH, 200]: N` in
/// http-latency's output (GET /fast once more: the load generator's readiness probe).
fn assert_requests_counted(out: &str, sent: BTreeMap<String, u64>, what: &str) {
    assert!(!sent.is_empty(), "{what}: nothing sent");
    for (key, n) in sent {
        let (method, path) = key.split_once(' ').unwrap();
        let extra = i64::from(key == "GET /fast");
        let element = format!("@requests[{method}, {path}, 200]");
        assert_eq!(
            value(out, &element),
            Some(n as i64 + extra),
            "{what}: {element} in:\n{out}"
        );
    }
}

impl Tracing {
    /// Stops tracing like Ctrl-C and returns everything it printed after attaching.
    fn stop(self) -> String {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-INT", &pid]).status();
        let output = wait_with_limit(self.child, LIMIT);
        let mut printed: Vec<String> = self.stdout.try_iter().collect();
        printed.extend(text(&output.stdout).lines().map(str::to_string));
        // The reader thread may still be draining: wait for its end.
        while let Ok(line) = self.stdout.recv_timeout(Duration::from_secs(2)) {
            printed.push(line);
        }
        let all = printed.join("\n");
        assert!(
            output.status.success(),
            "gprobe failed: {}\n{all}",
            text(&output.stderr)
        );
        all
    }
}

/// The value of a one-line map element `@map[key]: N`.
fn value(output: &str, element: &str) -> Option<i64> {
    output
        .lines()
        .find_map(|l| l.strip_prefix(element)?.strip_prefix(": "))
        .and_then(|n| n.trim().parse().ok())
}

/// Runs `check` for each Go version and symbol flavour of the matrix, with a fresh shop.
fn each_target(mut check: impl FnMut(&str, &PathBuf, &str)) {
    if !e2e_ready() {
        return;
    }
    for version in VERSIONS {
        if !toolchain_available(version) {
            continue;
        }
        for flags in FLAVOURS {
            let shop = example("shop", version, flags);
            let _k = kernel_lock();
            let what = format!("Go {version} {flags:?}");
            check(version, &shop, &what);
            assert_no_gprobe_programs();
        }
    }
}

#[test]
fn http_latency_counts_equal_what_the_load_generator_sent() {
    each_target(|version, bin, what| {
        let shop = Shop::start(bin, &[]);
        let tracing = trace("http-latency", shop.child.id());
        let sent = load(version, &shop.url, "/fast,/lock,/sleep", 20);
        let out = tracing.stop();
        assert_requests_counted(&out, sent, what);
        assert!(
            out.contains("@latency_us[GET, /sleep, 200]:"),
            "{what}:\n{out}"
        );
        assert!(out.contains("@in_flight:"), "{what}:\n{out}");
    });
}

/// `gprobe stdlib/http-latency.gp -p PID`, the file run directly with no parameter, traces as
/// `--recipe http-latency` does: `$1` takes its `@param` default (0: until stopped).
#[test]
fn a_recipe_file_runs_directly_with_its_defaults() {
    if !e2e_ready() {
        return;
    }
    let version = if toolchain_available("1.27.3") {
        "1.27.3"
    } else {
        "1.19"
    };
    let bin = example("shop", version, &[]);
    let _k = kernel_lock();
    let shop = Shop::start(&bin, &[]);
    let file = repo_root().join("stdlib/http-latency.gp");
    let tracing = trace_with(&[file.to_str().unwrap(), "-p", &shop.child.id().to_string()]);
    let sent = load(version, &shop.url, "/fast", 10);
    let out = tracing.stop();
    assert_requests_counted(&out, sent, "stdlib/http-latency.gp run directly");
    assert_no_gprobe_programs();
}

/// HTTP/2 requests end in the stream's `runHandler`, not in `(*response).finishRequest`: the
/// recipe's other end probe. Unencrypted HTTP/2 needs Go 1.24+ on both sides.
#[test]
fn http_latency_counts_http2_requests() {
    each_target(|version, bin, what| {
        if version == "1.19" {
            return;
        }
        let shop = Shop::start_with(bin, &[], &["-h2c"]);
        let tracing = trace("http-latency", shop.child.id());
        let report = load_report(version, &shop.url, "/fast,/sleep", 10, &["-h2c"]);
        let out = tracing.stop();
        assert!(
            report.contains("protocol HTTP/2.0 "),
            "{what}: not HTTP/2:\n{report}"
        );
        assert_requests_counted(&out, sent_counts(&report), what);
    });
}

#[test]
fn http_client_counts_equal_what_the_load_generator_sent() {
    each_target(|version, bin, what| {
        let shop = Shop::start(bin, &[]);
        let load_bin = example("load", version, &[]);
        let host = shop.url.trim_start_matches("http://").to_string();
        let cmd = format!(
            "{} -url {} -paths /fast,/missing -n 12 -c 2",
            load_bin.display(),
            shop.url
        );
        let out = run_gprobe(&["--recipe", "http-client", "-c", &cmd], LIMIT);
        let printed = text(&out.stdout);
        assert!(
            out.status.success(),
            "{what}: {}\n{printed}",
            text(&out.stderr)
        );
        let sent = sent_counts(&printed);
        let get_fast = sent["GET /fast"] as i64 + 1; // + the readiness probe
        let get_missing = sent["GET /missing"] as i64;
        assert_eq!(
            value(&printed, &format!("@responses[GET, {host}, 200]")),
            Some(get_fast),
            "{what}:\n{printed}"
        );
        assert_eq!(
            value(&printed, &format!("@responses[GET, {host}, 404]")),
            Some(get_missing),
            "{what}:\n{printed}"
        );
    });
}

#[test]
fn gc_pauses_counts_the_cycles_gctrace_prints() {
    each_target(|version, bin, what| {
        let shop = Shop::start(bin, &[("GODEBUG", "gctrace=1")]);
        // The cycle number of the last gctrace line, `gc N @...`.
        let last_cycle = |lines: &mpsc::Receiver<String>, mut last: i64| {
            for line in lines.try_iter() {
                if let Some(n) = line.strip_prefix("gc ").and_then(|r| r.split(' ').next()) {
                    last = n.parse().unwrap_or(last);
                }
            }
            last
        };
        let before = last_cycle(&shop.stderr, 0);
        let tracing = trace("gc-pauses", shop.child.id());
        let before = last_cycle(&shop.stderr, before);
        load(version, &shop.url, "/alloc", 40);
        // Let the cycle the load started finish and its gctrace line arrive.
        let mut after = last_cycle(&shop.stderr, before);
        while let Ok(line) = shop.stderr.recv_timeout(Duration::from_secs(1)) {
            if let Some(n) = line.strip_prefix("gc ").and_then(|r| r.split(' ').next()) {
                after = n.parse().unwrap_or(after);
            }
        }
        let out = tracing.stop();
        assert!(after > before, "{what}: the load caused no GC cycle");
        assert_eq!(
            value(&out, "@cycles"),
            Some(after - before),
            "{what}:\n{out}"
        );
        assert!(
            out.contains("@pause_us[mark termination]:"),
            "{what}:\n{out}"
        );
        assert!(
            out.contains("@pause_us[sweep termination]:"),
            "{what}:\n{out}"
        );
    });
}

#[test]
fn goroutine_block_shows_the_contended_mutex() {
    each_target(|version, bin, what| {
        let shop = Shop::start(bin, &[]);
        let tracing = trace("goroutine-block", shop.child.id());
        load(version, &shop.url, "/lock", 20);
        let out = tracing.stop();
        // /lock holds a mutex for 2 ms under 4 concurrent clients: goroutines park in
        // sync.Mutex.Lock (named "semacquire" before Go 1.22) inside main.holdLock.
        assert!(
            out.contains("@blocked_us[semacquire]:")
                || out.contains("@blocked_us[sync.Mutex.Lock]:"),
            "{what}:\n{out}"
        );
        assert!(out.contains("main.holdLock"), "{what}:\n{out}");
        // ... and sleep 2 ms there, holding it (the wait reason table must fit the release).
        assert!(out.contains("@blocked_us[sleep]:"), "{what}:\n{out}");
    });
}

/// Sum of the counts of the histogram printed after `header`.
fn hist_total(output: &str, header: &str) -> i64 {
    output
        .lines()
        .skip_while(|l| !l.starts_with(header))
        .skip(1)
        .take_while(|l| l.starts_with('['))
        .filter_map(|l| {
            // `[8, 16)   24 |@@@|` or `[1]   24 |@@@|`: the count follows the bucket.
            l.split_once([']', ')'])?
                .1
                .split_whitespace()
                .next()?
                .parse::<i64>()
                .ok()
        })
        .sum()
}

#[test]
fn sched_latency_sees_every_request_goroutine_run() {
    each_target(|version, bin, what| {
        let shop = Shop::start(bin, &[]);
        let tracing = trace("sched-latency", shop.child.id());
        let sent: u64 = load(version, &shop.url, "/sleep", 20).values().sum();
        let out = tracing.stop();
        // Each /sleep request parks in time.Sleep and becomes runnable again when the timer
        // fires, then runs: at least one runnable → running transition per request.
        assert!(
            hist_total(&out, "@runnable_to_running_us:") >= sent as i64,
            "{what}: fewer than {sent} transitions in:\n{out}"
        );
    });
}

#[test]
fn alloc_hotspots_names_main_allocate() {
    each_target(|version, bin, what| {
        let shop = Shop::start(bin, &[]);
        let tracing = trace("alloc-hotspots", shop.child.id());
        let sent: u64 = load(version, &shop.url, "/alloc", 10).values().sum();
        let out = tracing.stop();
        // Each /alloc runs main.allocate(1024): 1024 slices of 1 KiB, and the [][]byte of
        // capacity 1024 that keeps them (24 bytes a slice header).
        let allocate_bytes: i64 = stack_values_where(&out, "@bytes[", "main.allocate", true)
            .into_iter()
            .sum();
        assert_eq!(
            allocate_bytes,
            sent as i64 * (1024 * 1024 + 1024 * 24),
            "{what}: bytes main.allocate allocated for {sent} requests:\n{out}"
        );
        let slices: i64 = stack_values_where(&out, "@allocs[", "main.allocate", true)
            .into_iter()
            .max()
            .unwrap_or(0);
        assert_eq!(slices, sent as i64 * 1024, "{what}:\n{out}");
    });
}

/// Values of stack-keyed elements of `map_open` (`@bytes[`) whose stack mentions `frame`.
fn stack_values(output: &str, map_open: &str, frame: &str) -> Vec<i64> {
    stack_values_where(output, map_open, frame, false)
}

/// [`stack_values`]; with `own`, only stacks that reach `frame` without the runtime's system
/// stack between (what `frame` itself did, not runtime work it set off).
fn stack_values_where(output: &str, map_open: &str, frame: &str, own: bool) -> Vec<i64> {
    let mut values = Vec::new();
    let mut in_element = false;
    let mut mentions = false;
    let mut runtime_own = false;
    for line in output.lines() {
        if line.starts_with(map_open) {
            in_element = true;
            mentions = line.contains(frame);
            runtime_own = false;
        } else if in_element && line.starts_with(']') {
            if mentions
                && !runtime_own
                && let Some(n) = line.rsplit(' ').next().and_then(|n| n.parse().ok())
            {
                values.push(n);
            }
            in_element = false;
        } else if in_element && line.contains(frame) {
            mentions = true;
        } else if own && in_element && !mentions && line.contains("runtime.systemstack") {
            // Work the runtime did on its own stack below the frame: a GC the allocation
            // started allocating an M (`gcStart` → `startTheWorldWithSema` → `newm`), as CI
            // saw once. Not the frame's own allocation.
            runtime_own = true;
        }
    }
    values
}

#[test]
fn syscalls_by_goroutine_counts_one_fsync_per_request() {
    each_target(|version, bin, what| {
        let shop = Shop::start(bin, &[]);
        let tracing = trace("syscalls-by-goroutine", shop.child.id());
        let sent: u64 = load(version, &shop.url, "/syscall", 15).values().sum();
        let out = tracing.stop();
        // Syscalls print by name; /syscall's main.syncWrite makes exactly one fsync.
        assert_eq!(
            value(&out, "@syscalls[fsync]"),
            Some(sent as i64),
            "{what}:\n{out}"
        );
        let by_stack: i64 = stack_values(&out, "@by_stack[fsync,", "main.syncWrite")
            .into_iter()
            .sum();
        assert_eq!(by_stack, sent as i64, "{what}:\n{out}");
    });
}

#[test]
fn goroutine_leaks_counts_the_leaked_goroutines() {
    each_target(|version, bin, what| {
        let shop = Shop::start(bin, &[]);
        let tracing = trace("goroutine-leaks", shop.child.id());
        let sent: u64 = load(version, &shop.url, "/leak", 12).values().sum();
        let out = tracing.stop();
        // Each /leak starts one goroutine in main.leak that never exits (keys are the `go`
        // statement's function+offset).
        let of = |map: &str| -> Vec<u64> {
            map_lines(&out, map)
                .into_iter()
                .filter(|(k, _)| k.starts_with("main.leak+"))
                .map(|(_, n)| n)
                .collect()
        };
        assert_eq!(of("@created"), vec![sent], "{what}:\n{out}");
        assert_eq!(of("@alive"), vec![sent], "{what}:\n{out}");
        assert_eq!(of("@exited"), Vec::<u64>::new(), "{what}:\n{out}");
    });
}

#[test]
fn cpu_profile_names_main_burn() {
    each_target(|version, bin, what| {
        let shop = Shop::start(bin, &[]);
        let tracing = trace("cpu-profile", shop.child.id());
        load(version, &shop.url, "/cpu", 20);
        let out = tracing.stop();
        let burn: i64 = stack_values(&out, "@samples[", "main.burn")
            .into_iter()
            .sum();
        assert!(burn > 0, "{what}: no samples in main.burn:\n{out}");
    });
}

/// Not blocked: without a target a recipe runs node-wide, and with no program for it running
/// says to start one; a recipe that adapts itself to one program's Go version names the flags.
#[test]
fn a_recipe_without_a_target_runs_node_wide() {
    let out = run_gprobe(&["--recipe", "http-latency", "--check"], LIMIT);
    let stderr = text(&out.stderr);
    // Another test's Go HTTP server may be running: then the recipe checks fine.
    assert!(
        out.status.success() || stderr.contains("start the program first"),
        "{stderr}"
    );
    let out = run_gprobe(&["--recipe", "goroutine-block"], LIMIT);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("-p PID or -c CMD"),
        "{}",
        text(&out.stderr)
    );
    let out = run_gprobe(&["--recipe", "no-such-recipe", "-p", "1"], LIMIT);
    assert!(
        text(&out.stderr).contains("gprobe --recipes"),
        "{}",
        text(&out.stderr)
    );
}
