//! End-to-end: `--recipe sql` on tests/go/sqlmix, a lib/pq client (Debian's
//! golang-github-lib-pq-dev, Go GOPATH mode) making a known mix of statements against a real
//! PostgreSQL server the test starts on 127.0.0.1 with `log_min_duration_statement = 0`. The
//! recipe's per-statement calls and errors must equal the program's own log and PostgreSQL's
//! statement log, its statement keys must be the texts with their literals folded, and its
//! latencies must lie between the server's time (PostgreSQL's `duration:`) and the program's own
//! timing of each call. Go 1.19 and 1.27, with and without symbols.

mod support;

use gprobe_runtime::sqlnorm::normalize;
use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

const VERSIONS: &[&str] = &["1.19", "1.27.3"];
const FLAVOURS: &[&[&str]] = &[&[], &["-ldflags=-s -w"]];
/// Safety net for a hung gprobe or server, not a timing assertion.
const LIMIT: Duration = Duration::from_secs(120);
/// Rows the program inserts and reads back one by one (one statement shape each).
const ROWS: u64 = 10;

/// PostgreSQL's programs: Debian's versioned directory, else /usr/local/bin.
fn pg_bin(program: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(|e| Some(e.ok()?.path().join("bin")))
        .collect();
    dirs.sort();
    dirs.reverse();
    dirs.push(PathBuf::from("/usr/local/bin"));
    dirs.into_iter()
        .map(|d| d.join(program))
        .find(|p| p.exists())
}

/// uid and gid of the `postgres` account (postgres refuses to run as root).
fn postgres_account() -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        if f.first() != Some(&"postgres") {
            return None;
        }
        Some((f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?))
    })
}

/// A PostgreSQL server of its own: a fresh cluster in a temporary directory, on a free
/// loopback port, logging every statement with its duration to `log`.
struct Postgres {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: TempDir,
}

impl Postgres {
    fn start() -> Option<Postgres> {
        let (Some(initdb), Some(postgres)) = (pg_bin("initdb"), pg_bin("postgres")) else {
            assert!(
                !under_ci(),
                "PostgreSQL is missing under CI (scripts/install-deps)"
            );
            eprintln!("skipped: PostgreSQL not installed (scripts/install-deps)");
            return None;
        };
        let (uid, gid) =
            postgres_account().expect("a postgres account (Debian's postgresql package makes it)");
        let dir = TempDir::new("sql-pg");
        std::os::unix::fs::chown(&dir.0, Some(uid), Some(gid)).unwrap();
        let data = dir.path("data");
        let log = dir.path("server.log");
        let init = Command::new(&initdb)
            .args(["-D"])
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres", "--no-sync"])
            .uid(uid)
            .gid(gid)
            .current_dir(&dir.0)
            .output()
            .expect("run initdb");
        assert!(init.status.success(), "initdb: {}", text(&init.stderr));
        let port = free_port();
        let log_file = std::fs::File::create(&log).unwrap();
        std::os::unix::fs::chown(&log, Some(uid), Some(gid)).unwrap();
        let child = Command::new(&postgres)
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-k"])
            .arg(&dir.0)
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "log_min_duration_statement=0",
                "-c",
                "fsync=off",
            ])
            .uid(uid)
            .gid(gid)
            .current_dir(&dir.0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("start postgres");
        let pg = Postgres {
            child,
            port,
            log,
            _dir: dir,
        };
        let start = Instant::now();
        while !pg
            .log_text()
            .contains("database system is ready to accept connections")
        {
            assert!(
                start.elapsed() < LIMIT,
                "postgres did not start:\n{}",
                pg.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(pg)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn dsn(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres?sslmode=disable",
            self.port
        )
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // SIGINT: PostgreSQL's fast shutdown.
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the program says it did, by normalized statement.
#[derive(Default, Debug)]
struct Logged {
    calls: u64,
    errors: u64,
    /// The program's own timing of its slowest call, µs.
    max_us: u64,
}

/// `stmt KIND ok|err MICROSECONDS SQL` lines.
fn program_log(stdout: &str) -> BTreeMap<String, Logged> {
    let mut by = BTreeMap::<String, Logged>::new();
    for line in stdout.lines() {
        let Some(rest) = line.strip_prefix("stmt ") else {
            continue;
        };
        let mut f = rest.splitn(4, ' ');
        let (_kind, status, us, sql) = (f.next(), f.next(), f.next(), f.next().unwrap());
        let e = by.entry(normalize(sql)).or_default();
        e.calls += 1;
        e.errors += u64::from(status == Some("err"));
        e.max_us = e.max_us.max(us.unwrap().parse().unwrap());
    }
    by
}

/// From PostgreSQL's log: statements that ran (`statement:` of the simple protocol, `execute`
/// of a prepared one) with the shortest server time, µs, and statements that failed.
#[derive(Default, Debug)]
struct Server {
    ran: u64,
    min_us: Option<f64>,
    failed: u64,
}

fn server_log(log: &str) -> BTreeMap<String, Server> {
    let mut by = BTreeMap::<String, Server>::new();
    for line in log.lines() {
        if let Some(rest) = line.split_once("LOG:  duration: ").map(|(_, r)| r) {
            let Some((ms, what)) = rest.split_once(" ms  ") else {
                continue;
            };
            let sql = match what.split_once(": ") {
                Some(("statement", sql)) => sql,
                Some((op, sql)) if op.starts_with("execute ") => sql,
                _ => continue,
            };
            let e = by.entry(normalize(sql)).or_default();
            e.ran += 1;
            let us = ms.parse::<f64>().unwrap() * 1000.0;
            e.min_us = Some(e.min_us.map_or(us, |m: f64| m.min(us)));
        } else if let Some((_, sql)) = line.split_once("STATEMENT:  ") {
            by.entry(normalize(sql)).or_default().failed += 1;
        }
    }
    by
}

/// `@latency_us[KEY]:` histograms as KEY → (lowest bucket's upper bound, highest bucket's
/// lower bound, samples), bounds in µs.
fn latency_hists(out: &str) -> BTreeMap<String, (u64, u64, u64)> {
    let bound = |s: &str| -> u64 {
        let s = s.trim();
        let (n, mult) = match s.chars().last() {
            Some('K') => (&s[..s.len() - 1], 1 << 10),
            Some('M') => (&s[..s.len() - 1], 1 << 20),
            Some('G') => (&s[..s.len() - 1], 1 << 30),
            _ => (s, 1),
        };
        n.parse::<u64>().unwrap() * mult
    };
    let mut hists = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in out.lines() {
        if let Some(key) = line
            .strip_prefix("@latency_us[")
            .and_then(|r| r.rsplit_once("]:"))
        {
            current = Some(key.0.to_string());
            continue;
        }
        let Some(key) = &current else { continue };
        let Some(range) = line.strip_prefix('[').and_then(|r| r.split_once(')')) else {
            current = None;
            continue;
        };
        let (lo, hi) = range.0.split_once(',').unwrap();
        let count: u64 = range.1.split('|').next().unwrap().trim().parse().unwrap();
        if count == 0 {
            continue;
        }
        let e = hists.entry(key.clone()).or_insert((u64::MAX, 0, 0));
        e.0 = e.0.min(bound(hi));
        e.1 = e.1.max(bound(lo));
        e.2 += count;
    }
    hists
}

fn check_target(pg: &Postgres, version: &str, flags: &[&str]) {
    let what = format!("Go {version} {flags:?}");
    let bin = go_target("sqlmix", version, flags);
    let log_before = pg.log_text().len();
    let cmd = format!("{} -dsn {} -n {ROWS}", bin.display(), pg.dsn());
    let out = run_gprobe(&["--recipe", "sql", "-c", &cmd], LIMIT);
    let printed = text(&out.stdout);
    assert!(
        out.status.success() && printed.contains("\ndone\n"),
        "{what}: {}\n{printed}",
        text(&out.stderr)
    );
    let logged = program_log(&printed);
    let server = server_log(&pg.log_text()[log_before..]);
    let calls = map_lines(&printed, "@calls");
    let errors = map_lines(&printed, "@errors");
    let hists = latency_hists(&printed);

    // Literals folded: ten `WHERE id = N` reads are one key, and so are the inserts.
    assert_eq!(
        calls.get("SELECT name FROM items WHERE id = ?"),
        Some(&ROWS),
        "{what}:\n{printed}"
    );
    assert_eq!(
        calls.get("INSERT INTO items (id, name) VALUES (?, ?)"),
        Some(&ROWS),
        "{what}:\n{printed}"
    );
    // Exactly the program's statements, call for call and error for error. sqlmix drops the
    // page of its CREATE TABLE text from its page tables first, so that statement's key comes
    // from the recipe's second read, when the call ends.
    let want_calls: BTreeMap<String, u64> =
        logged.iter().map(|(k, l)| (k.clone(), l.calls)).collect();
    assert_eq!(calls, want_calls, "{what}: calls\n{printed}");
    let want_errors: BTreeMap<String, u64> = logged
        .iter()
        .filter(|(_, l)| l.errors > 0)
        .map(|(k, l)| (k.clone(), l.errors))
        .collect();
    assert_eq!(errors, want_errors, "{what}: errors\n{printed}");
    // Statements on a DB, Tx or Conn, by driver: all lib/pq's.
    let unprepared = printed
        .lines()
        .filter(|l| l.starts_with("stmt ") && !l.starts_with("stmt stmt"))
        .count() as u64;
    assert_eq!(
        map_lines(&printed, "@drivers"),
        BTreeMap::from([("github.com/lib/pq.(*conn).Begin".to_string(), unprepared)]),
        "{what}:\n{printed}"
    );
    for (key, l) in &logged {
        // PostgreSQL saw each statement: ran (and logged its duration) or failed.
        let s = server
            .get(key)
            .unwrap_or_else(|| panic!("{what}: `{key}` not in PostgreSQL's log:\n{server:?}"));
        assert_eq!(s.ran, l.calls - l.errors, "{what}: `{key}` ran");
        assert_eq!(s.failed, l.errors, "{what}: `{key}` failed");
        // Each call's time lies between the server's and the program's: the histogram's
        // buckets must allow that.
        let (low_hi, high_lo, samples) = hists[key];
        assert_eq!(samples, l.calls, "{what}: `{key}` latency samples");
        assert!(
            high_lo <= l.max_us,
            "{what}: `{key}` recipe bucket from {high_lo} µs, the program's slowest call took {} µs",
            l.max_us
        );
        if let Some(min_us) = s.min_us {
            assert!(
                (low_hi as f64) > min_us,
                "{what}: `{key}` recipe bucket below {low_hi} µs, PostgreSQL's fastest run took {min_us} µs"
            );
        }
    }
    eprintln!(
        "{what}: {} statements in {} shapes, {} errors, checked",
        want_calls.values().sum::<u64>(),
        want_calls.len(),
        want_errors.values().sum::<u64>()
    );
    // The 50 ms statement: its bucket is the one PostgreSQL's duration falls in, or above.
    let sleep = "SELECT pg_sleep(?)";
    assert!(
        hists[sleep].0 > 50_000,
        "{what}: pg_sleep(0.05) faster than 50 ms?\n{printed}"
    );
}

#[test]
fn sql_statements_match_the_program_and_postgres_logs() {
    if !e2e_ready() {
        return;
    }
    let Some(pg) = Postgres::start() else { return };
    let _lock = kernel_lock();
    for version in VERSIONS {
        if !toolchain_available(version) {
            continue;
        }
        for flags in FLAVOURS {
            check_target(&pg, version, flags);
        }
    }
}

#[test]
fn sql_refuses_a_binary_without_database_sql() {
    if !e2e_ready() {
        return;
    }
    let bin = go_target("work", "1.19", &[]);
    let out = run_gprobe(
        &[
            "--check",
            "--recipe",
            "sql",
            "-c",
            &bin.display().to_string(),
        ],
        LIMIT,
    );
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("no database/sql in this binary"), "{err}");
    assert_eq!(
        err.lines().filter(|l| l.contains("error")).count(),
        1,
        "one refusal, not a cascade:\n{err}"
    );
}
