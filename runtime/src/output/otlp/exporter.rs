//! The exporter's thread: a small tokio runtime that sends queued requests with the chosen
//! transport, retries what the specification calls retryable, and reports trouble on stderr
//! while tracing runs. The session's thread only queues ([`Exporter::export`] never waits);
//! only the final export is waited for, and only for [`FINAL_DEADLINE`].
//!
//! The queue is bounded and drops its oldest entry when full. Temporality is cumulative, so
//! every export carries all the totals so far and the newest supersedes the ones before it:
//! a dropped export loses resolution over time, never counts. For the same reason an export
//! waiting for a retry gives way to a newer one as soon as that is queued, and an export that
//! timed out is not sent again (the collector may well have it; the next one will do) — so a
//! slow collector never gets copies and retries never pile up behind each other.

use super::config::{Config, Protocol};
use super::grpc::GrpcExporter;
use super::http::HttpExporter;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Exports waiting behind the one being sent.
pub const QUEUE: usize = 2;
/// How long the final export may hold up exit, all attempts included.
pub const FINAL_DEADLINE: Duration = Duration::from_millis(500);
/// Retries of one export: the first delay (doubling, with jitter), its cap, and the most
/// attempts.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
const ATTEMPTS: u32 = 6;
/// A collector's `Retry-After`/`RetryInfo` is honoured up to this long.
const MAX_SERVER_DELAY: Duration = Duration::from_secs(3600);
/// After the first message, trouble is summed up at most this often.
const REPORT_EVERY: Duration = Duration::from_secs(15);

/// What one attempt came to.
#[derive(Debug)]
pub enum Outcome {
    /// Accepted; `rejected` is a partial success: data points the collector refused, and why.
    Sent { rejected: Option<(i64, String)> },
    /// Transient: may be sent again, after the delay the collector asked for if it did.
    Retry(String, Option<Duration>),
    /// Final: sending the same again would fail the same way.
    Failed(String),
}

enum Transport {
    Http(HttpExporter),
    Grpc(GrpcExporter),
}

impl Transport {
    async fn export(&self, request: &ExportMetricsServiceRequest) -> Outcome {
        match self {
            Transport::Http(t) => t.export(request).await,
            Transport::Grpc(t) => t.export(request).await,
        }
    }
}

type Done = mpsc::Sender<Result<(), String>>;

#[derive(Default)]
struct Queue {
    pending: VecDeque<ExportMetricsServiceRequest>,
    last: Option<(ExportMetricsServiceRequest, Done)>,
    /// Exports never delivered: pushed out of the full queue, superseded while waiting for a
    /// retry, or given up.
    dropped: u64,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Notify,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn final_queued(&self) -> bool {
        self.lock().last.is_some()
    }
    fn newer_queued(&self) -> bool {
        let q = self.lock();
        q.last.is_some() || !q.pending.is_empty()
    }
    fn dropped(&self) -> u64 {
        self.lock().dropped
    }
    fn drop_one(&self) {
        self.lock().dropped += 1;
    }
}

enum Job {
    Periodic(ExportMetricsServiceRequest),
    Final(ExportMetricsServiceRequest, Done),
}

pub struct Exporter {
    shared: Arc<Shared>,
    shown: String,
}

impl Exporter {
    /// Starts the thread; an error is a setting that cannot work (a bad certificate file).
    pub fn start(config: Config) -> Result<Exporter, String> {
        if let Some(warning) = config.unused() {
            eprintln!("gprobe: warning: {warning}");
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("OTLP: cannot start its runtime: {e}"))?;
        let config = Arc::new(config);
        let transport = {
            let _inside = runtime.enter();
            match config.protocol {
                Protocol::HttpProtobuf => Transport::Http(HttpExporter::new(config.clone())?),
                Protocol::Grpc => Transport::Grpc(GrpcExporter::new(config.clone())?),
            }
        };
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Notify::new(),
        });
        let worker = Worker {
            shared: shared.clone(),
            transport,
            timeout: config.timeout,
            report: Reporter::new(config.shown.clone()),
            not_before: None,
        };
        std::thread::Builder::new()
            .name("gprobe-otlp".into())
            .spawn(move || runtime.block_on(worker.run()))
            .map_err(|e| format!("OTLP: cannot start its thread: {e}"))?;
        Ok(Exporter {
            shared,
            shown: config.shown.clone(),
        })
    }

    /// Queues a periodic export; never waits. A full queue loses its oldest entry.
    pub fn export(&self, request: ExportMetricsServiceRequest) {
        {
            let mut q = self.shared.lock();
            if q.pending.len() >= QUEUE {
                q.pending.pop_front();
                q.dropped += 1;
            }
            q.pending.push_back(request);
        }
        self.shared.wake.notify_one();
    }

    /// The final export, in place of anything still queued or being sent; waits at most
    /// [`FINAL_DEADLINE`] and says a failure in one line.
    pub fn finish(self, request: ExportMetricsServiceRequest) {
        let (done, outcome) = mpsc::channel();
        {
            let mut q = self.shared.lock();
            // Superseded by the final one, which carries everything they did.
            q.pending.clear();
            q.last = Some((request, done));
        }
        self.shared.wake.notify_one();
        // The worker keeps to the deadline itself; the margin covers a thread that is late.
        match outcome.recv_timeout(FINAL_DEADLINE + Duration::from_millis(200)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!(
                "gprobe: warning: the final OTLP export to {} failed: {e}",
                self.shown
            ),
            Err(_) => eprintln!(
                "gprobe: warning: the final OTLP export to {} failed: not done within {} ms",
                self.shown,
                FINAL_DEADLINE.as_millis()
            ),
        }
    }
}

#[derive(Clone, Copy)]
struct Pause {
    until: Instant,
    asked: bool,
}

struct Worker {
    shared: Arc<Shared>,
    transport: Transport,
    timeout: Duration,
    report: Reporter,
    /// No request before this: the collector's `Retry-After` (then `asked`), or the backoff
    /// of a retry (which a newer export inherits: the collector is no readier for it).
    not_before: Option<Pause>,
}

impl Worker {
    async fn run(mut self) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            let job = loop {
                if let Some(job) = self.take() {
                    break job;
                }
                tokio::select! {
                    () = self.shared.wake.notified() => {}
                    _ = tick.tick() => self.report.tick(self.shared.dropped()),
                }
            };
            match job {
                Job::Periodic(request) => self.periodic(&request, &mut tick).await,
                Job::Final(request, done) => {
                    let result = self.last(&request).await;
                    self.report.closing(self.shared.dropped());
                    let _ = done.send(result);
                    return;
                }
            }
        }
    }

    fn take(&self) -> Option<Job> {
        let mut q = self.shared.lock();
        if let Some((request, done)) = q.last.take() {
            return Some(Job::Final(request, done));
        }
        q.pending.pop_front().map(Job::Periodic)
    }

    /// Sends one periodic export, retrying as allowed; returns early when the final export is
    /// queued (it replaces this one) or, between attempts, when a newer one is.
    async fn periodic(
        &mut self,
        request: &ExportMetricsServiceRequest,
        tick: &mut tokio::time::Interval,
    ) {
        let mut backoff = FIRST_BACKOFF;
        for attempt in 1..=ATTEMPTS {
            if let Some(Pause { until: at, .. }) = self.not_before {
                loop {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => break,
                        () = self.shared.wake.notified() => {
                            // Superseded while waiting: the newer one carries the same and more.
                            if self.shared.newer_queued() {
                                self.shared.drop_one();
                                return;
                            }
                        }
                        _ = tick.tick() => self.report.tick(self.shared.dropped()),
                    }
                }
                self.not_before = None;
            }
            let send = tokio::time::timeout(self.timeout, self.transport.export(request));
            tokio::pin!(send);
            let outcome = loop {
                tokio::select! {
                    outcome = &mut send => break outcome,
                    () = self.shared.wake.notified() => {
                        if self.shared.final_queued() {
                            return;
                        }
                    }
                    _ = tick.tick() => self.report.tick(self.shared.dropped()),
                }
            };
            match outcome {
                Ok(Outcome::Sent { rejected }) => {
                    self.report.sent(rejected, self.shared.dropped());
                    return;
                }
                Ok(Outcome::Failed(e)) => {
                    self.shared.drop_one();
                    self.report
                        .failed(&format!("{e}; not retried"), self.shared.dropped());
                    return;
                }
                Err(_) => {
                    self.shared.drop_one();
                    self.report.failed(
                        &format!(
                            "no answer within {} (OTEL_EXPORTER_OTLP_TIMEOUT); the next export \
                             carries the same totals",
                            seconds(self.timeout)
                        ),
                        self.shared.dropped(),
                    );
                    return;
                }
                Ok(Outcome::Retry(e, asked)) => {
                    if attempt == ATTEMPTS {
                        self.shared.drop_one();
                        self.report.failed(
                            &format!("{e}; given up after {ATTEMPTS} attempts"),
                            self.shared.dropped(),
                        );
                        return;
                    }
                    let (delay, why) = match asked {
                        Some(d) => (d.min(MAX_SERVER_DELAY), " as the collector asked"),
                        None => (jitter(backoff), ""),
                    };
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    self.not_before = Some(Pause {
                        until: Instant::now() + delay,
                        asked: asked.is_some(),
                    });
                    self.report.failed(
                        &format!("{e}; retrying in {}{why}", seconds(delay)),
                        self.shared.dropped(),
                    );
                }
            }
        }
    }

    /// The final export: attempts while [`FINAL_DEADLINE`] allows.
    async fn last(&mut self, request: &ExportMetricsServiceRequest) -> Result<(), String> {
        let deadline = Instant::now() + FINAL_DEADLINE;
        let mut backoff = Duration::from_millis(100);
        let mut last_error = None;
        let mut first = true;
        loop {
            // Only the collector's own request to wait is kept to; gprobe's backoff is not
            // (this is the last chance).
            if let Some(Pause { until, asked }) = self.not_before.take()
                && (asked || !first)
            {
                if until >= deadline {
                    return Err(last_error.unwrap_or_else(|| {
                        format!(
                            "the collector asked to wait {} before the next request",
                            seconds(until - Instant::now())
                        )
                    }));
                }
                tokio::time::sleep_until(until).await;
            }
            first = false;
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(last_error.unwrap_or_else(|| "no time left".into()));
            }
            let bound = left.min(self.timeout);
            match tokio::time::timeout(bound, self.transport.export(request)).await {
                Ok(Outcome::Sent { rejected }) => {
                    self.report.sent(rejected, self.shared.dropped());
                    return Ok(());
                }
                Ok(Outcome::Failed(e)) => return Err(e),
                Ok(Outcome::Retry(e, asked)) => {
                    let delay = asked.unwrap_or_else(|| jitter(backoff));
                    backoff *= 2;
                    self.not_before = Some(Pause {
                        until: Instant::now() + delay.min(MAX_SERVER_DELAY),
                        asked: asked.is_some(),
                    });
                    last_error = Some(e);
                }
                Err(_) => {
                    return Err(format!(
                        "no answer within {}{}",
                        seconds(bound),
                        if bound < self.timeout {
                            " (exit does not wait longer)"
                        } else {
                            ""
                        }
                    ));
                }
            }
        }
    }
}

/// `d` scaled by a random factor in [0.5, 1.5): clients that failed together do not all come
/// back at the same moment.
fn jitter(d: Duration) -> Duration {
    d.mul_f64(0.5 + fastrand::f64())
}

fn seconds(d: Duration) -> String {
    if d < Duration::from_secs(10) {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{}s", d.as_secs_f64().round())
    }
}

/// Says trouble on stderr without flooding it: the first failure (or drop) at once, then at
/// most one summary per [`REPORT_EVERY`], and that it works again once it does.
struct Reporter {
    shown: String,
    said_at: Option<std::time::Instant>,
    /// Since the last message: failed attempts and the last reason.
    failures: u64,
    last_error: Option<String>,
    /// The drop count already told.
    dropped_told: u64,
    /// A failure was said and no success since.
    troubled: bool,
    /// A failure was ever said.
    failure_said: bool,
}

impl Reporter {
    fn new(shown: String) -> Reporter {
        Reporter {
            shown,
            said_at: None,
            failures: 0,
            last_error: None,
            dropped_told: 0,
            troubled: false,
            failure_said: false,
        }
    }

    fn due(&self) -> bool {
        self.said_at.is_none_or(|t| t.elapsed() >= REPORT_EVERY)
    }

    fn failed(&mut self, error: &str, dropped: u64) {
        self.failures += 1;
        self.last_error = Some(error.to_string());
        // The first failure is said at once even after a message about drops.
        if self.due() || !self.failure_said {
            self.say(dropped);
        }
    }

    fn tick(&mut self, dropped: u64) {
        if (self.failures > 0 || dropped > self.dropped_told) && self.due() {
            self.say(dropped);
        }
    }

    fn sent(&mut self, rejected: Option<(i64, String)>, dropped: u64) {
        if let Some((points, message)) = rejected {
            // Partial success: not retried (the same points would be refused again).
            let message: String = message.chars().take(200).collect();
            self.failed(
                &format!("the collector rejected {points} data points: {message}"),
                dropped,
            );
            return;
        }
        // Said at once, but only after a failure was said: at most one such line for each
        // (rate-limited) failure message.
        if self.troubled {
            let unsaid = match (&self.last_error, self.failures) {
                (Some(e), n) if n > 0 => format!(
                    " after {n} more failed attempt{} (last: {e})",
                    if n == 1 { "" } else { "s" }
                ),
                _ => String::new(),
            };
            eprintln!(
                "gprobe: OTLP export to {} works again{unsaid}{}",
                self.shown,
                drops(dropped - self.dropped_told)
            );
            self.failures = 0;
            self.last_error = None;
            self.dropped_told = dropped;
            self.said_at = Some(std::time::Instant::now());
            self.troubled = false;
        }
    }

    /// Whatever was not said yet, before the final export's own line.
    fn closing(&mut self, dropped: u64) {
        if self.failures > 0 || dropped > self.dropped_told {
            self.say(dropped);
        }
    }

    fn say(&mut self, dropped: u64) {
        let new_drops = dropped - self.dropped_told;
        let error = self.last_error.take();
        let window = self.said_at.map_or(String::new(), |t| {
            format!(" in the last {}", seconds(t.elapsed()))
        });
        let message = match &error {
            Some(e) if !self.failure_said && self.failures == 1 => format!(
                "OTLP export to {} failed: {e}; tracing goes on{}",
                self.shown,
                drops(new_drops)
            ),
            Some(e) => format!(
                "OTLP export to {}: {} attempt{} failed{window} (last: {e}){}",
                self.shown,
                self.failures,
                if self.failures == 1 { "" } else { "s" },
                drops(new_drops)
            ),
            None => format!(
                "OTLP: the collector at {} is not keeping up: {new_drops} export{} dropped \
                 from the queue{window} (it keeps the newest {QUEUE}; each carries the totals \
                 so far)",
                self.shown,
                if new_drops == 1 { " was" } else { "s were" },
            ),
        };
        eprintln!("gprobe: warning: {message}");
        self.troubled |= self.failures > 0;
        self.failure_said |= self.failures > 0;
        self.failures = 0;
        self.dropped_told = dropped;
        self.said_at = Some(std::time::Instant::now());
    }
}

fn drops(n: u64) -> String {
    match n {
        0 => String::new(),
        1 => "; 1 export dropped".into(),
        n => format!("; {n} exports dropped"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A collector that takes connections and never answers: one export is in flight, the
    /// queue keeps the newest QUEUE, the rest are dropped and counted; the final export ends
    /// within its deadline all the same.
    #[test]
    fn the_queue_is_bounded_and_drops_the_oldest() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let _held = std::thread::spawn(move || {
            let mut open = Vec::new();
            while let Ok((conn, _)) = listener.accept() {
                open.push(conn);
            }
        });
        let url = format!("http://127.0.0.1:{port}");
        let config = Config::new(Some(&url), &|_| None).unwrap();
        let exporter = Exporter::start(config).unwrap();
        let request = |n: u64| ExportMetricsServiceRequest {
            resource_metrics: vec![Default::default(); n as usize],
        };
        exporter.export(request(1));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !exporter.shared.lock().pending.is_empty() {
            assert!(std::time::Instant::now() < deadline, "never taken");
            std::thread::sleep(Duration::from_millis(5));
        }
        for n in 2..=10 {
            exporter.export(request(n));
        }
        {
            let q = exporter.shared.lock();
            assert_eq!(q.dropped, 9 - QUEUE as u64);
            let kept: Vec<usize> = q.pending.iter().map(|r| r.resource_metrics.len()).collect();
            assert_eq!(kept, [9, 10]);
        }
        let started = std::time::Instant::now();
        exporter.finish(request(11));
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
}
