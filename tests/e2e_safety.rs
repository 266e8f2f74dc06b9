//! gprobe must be harmless to its target: a Go HTTP service under continuous loopback load
//! while a heavy script attaches and detaches 100 times (some runs SIGKILLed mid-run) sees no
//! failed request and no crash; a goroutine-heavy program with deep recursion (stack growth on
//! every goroutine) under probes still computes the right result.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use support::*;

const CYCLES: usize = 100;

fn shop_binary() -> std::path::PathBuf {
    let out = repo_root().join("target/gotargets/shop-1.19");
    if !out.exists() {
        let status = Command::new(repo_root().join("scripts/go-build"))
            .arg("1.19")
            .arg(repo_root().join("examples/shop"))
            .arg(&out)
            .status()
            .expect("run scripts/go-build");
        assert!(status.success(), "building examples/shop");
    }
    out
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local addr").port()
}

/// One HTTP/1.1 GET on a fresh connection; the status code, or why it failed.
fn get(port: u16, path: &str) -> Result<u16, String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| e.to_string())?;
    response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("malformed response: {response:?}"))
}

struct Load {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    failures: Arc<std::sync::Mutex<Vec<String>>>,
    latencies: Arc<std::sync::Mutex<Vec<Duration>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

/// `clients` threads requesting the service's endpoints in turn until stopped.
fn start_load(port: u16, clients: usize) -> Load {
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(std::sync::Mutex::new(Vec::new()));
    let latencies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let threads = (0..clients)
        .map(|i| {
            let (stop, ok, failures, latencies) = (
                stop.clone(),
                ok.clone(),
                failures.clone(),
                latencies.clone(),
            );
            std::thread::spawn(move || {
                let paths = ["/fast", "/lock", "/alloc", "/cpu", "/fast", "/sleep"];
                let mut n = i;
                while !stop.load(Ordering::Relaxed) {
                    let path = paths[n % paths.len()];
                    n += 1;
                    let started = Instant::now();
                    match get(port, path) {
                        Ok(200) => {
                            ok.fetch_add(1, Ordering::Relaxed);
                            latencies.lock().unwrap().push(started.elapsed());
                        }
                        Ok(code) => failures
                            .lock()
                            .unwrap()
                            .push(format!("{path}: HTTP {code}")),
                        Err(e) => failures.lock().unwrap().push(format!("{path}: {e}")),
                    }
                }
            })
        })
        .collect();
    Load {
        stop,
        ok,
        failures,
        latencies,
        threads,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Starts gprobe and waits until it says its probes are attached (or it exits).
fn attach(script: &str) -> (Child, String) {
    let mut child = Command::new(gprobe_bin())
        .args(["-e", script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn gprobe");
    let mut first = String::new();
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let _ = stdout.read_line(&mut first);
    // Keep draining: the final maps (hundreds of stacks) outgrow a pipe's buffer, and a
    // gprobe blocked writing them would look hung.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    (child, first)
}

/// The heaviest mix gprobe handles today: uprobes on hot Go functions (allocation, every
/// connection, the handlers), syscall tracepoints and a stack-sampling profiler.
fn heavy_script(shop: &str) -> String {
    format!(
        r#"uprobe:{shop}:runtime.mallocgc {{ @allocs[tid] = count(); }}
uprobe:{shop}:"net/http.(*conn).serve" {{ @conns = count(); @t[tid] = nsecs; }}
uprobe:{shop}:main.holdLock, uprobe:{shop}:main.burn, uprobe:{shop}:main.allocate {{ @handlers[probe] = count(); }}
tracepoint:raw_syscalls:sys_enter /comm == "shop-1.19"/ {{ @syscalls[args.id] = count(); }}
tracepoint:syscalls:sys_enter_write {{ @writes[comm] = count(); }}
profile:hz:499 {{ @stacks[ustack] = count(); }}
interval:ms:50 {{ @ticks = count(); }}
"#
    )
}

#[test]
fn service_under_load_survives_100_attach_detach_cycles() {
    if !e2e_ready() {
        return;
    }
    let shop = shop_binary();
    let port = free_port();
    let mut service = Command::new(&shop)
        .args(["-addr", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start shop");
    // Wait until it answers (a bounded wait, not a timing assertion).
    let up = Instant::now();
    while get(port, "/fast").is_err() {
        assert!(up.elapsed() < Duration::from_secs(30), "shop never came up");
        std::thread::sleep(Duration::from_millis(50));
    }

    // Baseline latency without gprobe, for the record.
    let baseline = start_load(port, 4);
    std::thread::sleep(Duration::from_secs(2));
    baseline.stop.store(true, Ordering::Relaxed);
    for t in baseline.threads {
        t.join().expect("load thread");
    }
    let mut base_lat = baseline.latencies.lock().unwrap().clone();
    base_lat.sort();

    let load = start_load(port, 4);
    let script = heavy_script(shop.to_str().expect("utf-8 path"));
    let _k = kernel_lock();
    let mut killed = 0;
    let mut attach_failures = Vec::new();
    for cycle in 0..CYCLES {
        let (child, first) = attach(&script);
        if !first.starts_with("Attaching") {
            let out = child.wait_with_output().expect("gprobe output");
            attach_failures.push(format!("cycle {cycle}: {}", text(&out.stderr)));
            continue;
        }
        std::thread::sleep(Duration::from_millis(100));
        let pid = child.id() as i32;
        // Mostly Ctrl-C; every 5th cycle SIGTERM, every 10th SIGKILL mid-run.
        let signal = match cycle % 10 {
            9 => libc_kill::SIGKILL,
            4 => libc_kill::SIGTERM,
            _ => libc_kill::SIGINT,
        };
        libc_kill::send(pid, signal);
        let out = wait_with_limit(child, Duration::from_secs(60));
        if signal == libc_kill::SIGKILL {
            killed += 1;
        } else if !out.status.success() {
            attach_failures.push(format!(
                "cycle {cycle}: exit {:?}: {}",
                out.status,
                text(&out.stderr)
            ));
        }
        assert!(
            service.try_wait().expect("poll shop").is_none(),
            "the service died during cycle {cycle}"
        );
    }
    load.stop.store(true, Ordering::Relaxed);
    for t in load.threads {
        t.join().expect("load thread");
    }
    let served = load.ok.load(Ordering::Relaxed);
    let failures = load.failures.lock().unwrap().clone();
    let mut lat = load.latencies.lock().unwrap().clone();
    lat.sort();
    eprintln!(
        "{CYCLES} attach/detach cycles ({killed} SIGKILLed): {served} requests served, {} failed; \
         p50 {:?} p99 {:?} (without gprobe: p50 {:?} p99 {:?})",
        failures.len(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        percentile(&base_lat, 0.5),
        percentile(&base_lat, 0.99),
    );
    let alive = service.try_wait().expect("poll shop").is_none();
    let _ = service.kill();
    let _ = service.wait();
    assert!(alive, "the service crashed");
    assert!(
        attach_failures.is_empty(),
        "gprobe failed:\n{}",
        attach_failures.join("\n")
    );
    assert!(failures.is_empty(), "failed requests: {failures:?}");
    assert!(served > 0, "no request was served");
    assert_no_gprobe_programs_settled();
}

/// Deep recursion on 64 goroutines (each grows its stack several times) under a uprobe on the
/// recursive function: the target's own check passes, and every call counts exactly once (Go
/// entry probes sit after the stack-growth check, so a call that grows its stack and re-runs
/// its entry is not counted twice).
#[test]
fn deep_recursion_counts_each_call_once() {
    if !e2e_ready() {
        return;
    }
    let bin = go_target("descend", "1.19", &[]);
    let bin = bin.to_str().expect("utf-8 path");
    let _k = kernel_lock();
    let prog = format!("uprobe:{bin}:main.descend {{ @calls = count(); }}");
    let out = run_gprobe(
        &["-e", &prog, "-c", &format!("{bin} -g 64 -d 2000")],
        Duration::from_secs(120),
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}\n{stdout}", text(&out.stderr));
    assert!(
        stdout.contains("ok calls=128064\n"),
        "target result:\n{stdout}"
    );
    assert_eq!(map_value(&stdout, "@calls: "), 128064, "{stdout}");
    assert_no_gprobe_programs();
}

/// Return probes on the recursive function: Go return probes must be uprobes at each RET (a
/// kernel uretprobe rewrites the return address, which Go's stack copying cannot follow).
#[test]
fn deep_recursion_stays_correct_under_return_probes() {
    if !e2e_ready() {
        return;
    }
    let bin = go_target("descend", "1.19", &[]);
    let bin = bin.to_str().expect("utf-8 path");
    let prog = format!(
        "uprobe:{bin}:main.descend {{ @calls = count(); }} uretprobe:{bin}:main.descend {{ @returns = count(); }}"
    );
    let obj = std::env::temp_dir().join(format!("gprobe-recurse-{}.o", std::process::id()));
    let emitted = run_gprobe(
        &["-e", &prog, "--emit", "obj", "-o", obj.to_str().unwrap()],
        Duration::from_secs(60),
    );
    let manifest_path = obj.with_extension("manifest.json");
    let manifest = std::fs::read_to_string(&manifest_path).unwrap_or_default();
    let _ = std::fs::remove_file(&obj);
    let _ = std::fs::remove_file(&manifest_path);
    assert!(emitted.status.success(), "{}", text(&emitted.stderr));
    assert!(
        !manifest.contains("\"ret\": true"),
        "a Go function got a kernel uretprobe:\n{manifest}"
    );
    let _k = kernel_lock();
    let out = run_gprobe(
        &["-e", &prog, "-c", &format!("{bin} -g 64 -d 2000")],
        Duration::from_secs(120),
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}\n{stdout}", text(&out.stderr));
    assert!(
        stdout.contains("ok calls=128064\n"),
        "target result:\n{stdout}"
    );
    assert_eq!(map_value(&stdout, "@returns: "), 128064, "{stdout}");
    assert_no_gprobe_programs();
}

fn map_value(stdout: &str, prefix: &str) -> u64 {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no `{prefix}` in:\n{stdout}"))
}

/// After a SIGKILL the kernel frees programs once the last fd closes, which can trail the
/// process's exit by a moment: retry briefly before asserting (a settle loop, not a timing
/// assertion).
fn assert_no_gprobe_programs_settled() {
    for _ in 0..50 {
        if orphaned_gprobe_programs().is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_no_gprobe_programs();
}

/// kill(2) without a libc dependency in the root crate's tests.
mod libc_kill {
    pub const SIGINT: i32 = 2;
    pub const SIGKILL: i32 = 9;
    pub const SIGTERM: i32 = 15;

    pub fn send(pid: i32, signal: i32) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} {pid}");
    }
}
