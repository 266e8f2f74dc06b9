//! `--otlp URL`: maps pushed as OpenTelemetry metrics over OTLP/HTTP (protobuf), every
//! `--interval` and once more at exit. Messages are the official definitions
//! (`opentelemetry-proto`, encoded by prost). Sending happens on a background thread with
//! retries and backoff, so a slow or absent collector never holds up tracing; only the final
//! export is waited for (boundedly), and its failure is said on stderr.
//!
//! Temporality is cumulative: every export carries the map's totals since its start time, which
//! is when tracing started or, after `clear(@m)`, when the map was last cleared.

use super::Sink;
use super::metrics::{self, Labels, MapMeta, Number, Points};
use crate::value::MapSnapshot;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1 as pb;
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Attempts per export, the first delay between them (doubling), and how long the final export
/// may hold up exit in total.
const ATTEMPTS: u32 = 5;
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const FINAL_WAIT: Duration = Duration::from_secs(15);
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// Where exports go: a plain `http://` URL. A URL without a path (or `/`) gets the standard
/// `/v1/metrics`; any other path is used as given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub path: String,
    pub url: String,
}

impl Endpoint {
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        let Some(rest) = url.strip_prefix("http://") else {
            return Err(if url.starts_with("https://") {
                format!(
                    "--otlp {url}: https is not supported; send to a local collector over http://"
                )
            } else {
                format!("--otlp {url}: expected an http:// URL, e.g. http://127.0.0.1:4318")
            });
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (
                h,
                p.parse::<u16>()
                    .map_err(|_| format!("--otlp {url}: bad port {p:?}"))?,
            ),
            _ => (authority, 80),
        };
        if host.is_empty() {
            return Err(format!("--otlp {url}: no host"));
        }
        let path = if path.is_empty() || path == "/" {
            "/v1/metrics".to_string()
        } else {
            path.to_string()
        };
        Ok(Endpoint {
            host: host.trim_start_matches('[').trim_end_matches(']').into(),
            port,
            url: format!("http://{authority}{path}"),
            path,
        })
    }

    /// One HTTP/1.1 POST of a protobuf body; Ok on a 2xx answer.
    pub fn post(&self, body: &[u8]) -> Result<(), String> {
        let addr = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| format!("resolving {}: {e}", self.host))?
            .next()
            .ok_or_else(|| format!("no address for {}", self.host))?;
        let mut stream =
            TcpStream::connect_timeout(&addr, IO_TIMEOUT).map_err(|e| e.to_string())?;
        let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
        let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: application/x-protobuf\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.path,
            self.host,
            self.port,
            body.len()
        );
        stream
            .write_all(head.as_bytes())
            .and_then(|()| stream.write_all(body))
            .and_then(|()| stream.flush())
            .map_err(|e| e.to_string())?;
        let mut status = String::new();
        BufReader::new(&stream)
            .read_line(&mut status)
            .map_err(|e| e.to_string())?;
        let code = status.split_whitespace().nth(1).unwrap_or("");
        if code.starts_with('2') {
            Ok(())
        } else if status.is_empty() {
            Err("the collector closed the connection without answering".into())
        } else {
            Err(format!("the collector answered {}", status.trim()))
        }
    }
}

/// Resource attributes: who produced these metrics.
#[derive(Clone, Debug, Default)]
pub struct ResourceInfo {
    pub attributes: Vec<(String, AttrValue)>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum AttrValue {
    Str(String),
    Int(i64),
}

fn key_value(key: &str, value: AttrValue) -> KeyValue {
    let value = match value {
        AttrValue::Str(s) => any_value::Value::StringValue(s),
        AttrValue::Int(i) => any_value::Value::IntValue(i),
    };
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

/// Integer labels (see [`metrics::Metric::integer_labels`]) as int attributes, the rest as
/// strings.
fn attributes(labels: &Labels, integers: &std::collections::BTreeSet<String>) -> Vec<KeyValue> {
    labels
        .iter()
        .map(|(k, v)| {
            let value = match v.parse::<i64>() {
                Ok(i) if integers.contains(k) => AttrValue::Int(i),
                _ => AttrValue::Str(v.clone()),
            };
            key_value(k, value)
        })
        .collect()
}

pub fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// The export request for these maps at `now`; `start` gives each map's start time.
pub fn request(
    maps: &[MapSnapshot],
    meta: &[MapMeta],
    resource: &ResourceInfo,
    start: &dyn Fn(&str) -> u64,
    now: u64,
) -> ExportMetricsServiceRequest {
    request_of_processes(
        maps,
        meta,
        &metrics::ProcessTable::new(),
        resource,
        start,
        now,
    )
}

/// [`request`], with a `pid` key of the processes in `procs` given as attributes naming them.
pub fn request_of_processes(
    maps: &[MapSnapshot],
    meta: &[MapMeta],
    procs: &metrics::ProcessTable,
    resource: &ResourceInfo,
    start: &dyn Fn(&str) -> u64,
    now: u64,
) -> ExportMetricsServiceRequest {
    let cumulative = pb::AggregationTemporality::Cumulative as i32;
    let metrics = metrics::metrics_of_processes(maps, meta, procs)
        .into_iter()
        .map(|m| {
            let start_time_unix_nano = start(&m.map);
            let number = |labels: &Labels, v: Number| pb::NumberDataPoint {
                attributes: attributes(labels, &m.integer_labels),
                start_time_unix_nano,
                time_unix_nano: now,
                value: Some(match v {
                    Number::Int(i) => pb::number_data_point::Value::AsInt(i),
                    Number::Float(f) => pb::number_data_point::Value::AsDouble(f),
                }),
                ..Default::default()
            };
            let data = match &m.points {
                Points::Counter(p) => pb::metric::Data::Sum(pb::Sum {
                    data_points: p.iter().map(|(l, v)| number(l, *v)).collect(),
                    aggregation_temporality: cumulative,
                    is_monotonic: true,
                }),
                Points::Gauge(p) => pb::metric::Data::Gauge(pb::Gauge {
                    data_points: p.iter().map(|(l, v)| number(l, *v)).collect(),
                }),
                Points::Summary(p) => pb::metric::Data::Summary(pb::Summary {
                    data_points: p
                        .iter()
                        .map(|(l, s)| pb::SummaryDataPoint {
                            attributes: attributes(l, &m.integer_labels),
                            start_time_unix_nano,
                            time_unix_nano: now,
                            count: s.count,
                            sum: s.sum,
                            ..Default::default()
                        })
                        .collect(),
                }),
                Points::Histogram(p) => pb::metric::Data::Histogram(pb::Histogram {
                    data_points: p
                        .iter()
                        .map(|(l, h)| pb::HistogramDataPoint {
                            attributes: attributes(l, &m.integer_labels),
                            start_time_unix_nano,
                            time_unix_nano: now,
                            count: h.count,
                            sum: Some(h.sum),
                            bucket_counts: h.counts.clone(),
                            explicit_bounds: h.bounds.clone(),
                            ..Default::default()
                        })
                        .collect(),
                    aggregation_temporality: cumulative,
                }),
            };
            pb::Metric {
                name: m.name,
                description: m.help,
                unit: m.unit,
                data: Some(data),
                ..Default::default()
            }
        })
        .collect();
    ExportMetricsServiceRequest {
        resource_metrics: vec![pb::ResourceMetrics {
            resource: Some(Resource {
                attributes: resource
                    .attributes
                    .iter()
                    .map(|(k, v)| key_value(k, v.clone()))
                    .collect(),
                ..Default::default()
            }),
            scope_metrics: vec![pb::ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "gprobe".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    ..Default::default()
                }),
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// One encoded request for the sender thread; `done` is told the outcome of the final one.
struct Job {
    body: Vec<u8>,
    done: Option<Sender<Result<(), String>>>,
}

pub struct OtlpSink {
    endpoint: Endpoint,
    meta: Vec<MapMeta>,
    resource: ResourceInfo,
    interval: Duration,
    next_export: Instant,
    /// The interval passed: the next `maps` call is an export.
    due: bool,
    session_start: u64,
    cleared_at: HashMap<String, u64>,
    jobs: Option<Sender<Job>>,
    /// Node-wide: who each pid in the maps is (see [`metrics::ProcessTable`]).
    processes: metrics::ProcessTable,
}

impl OtlpSink {
    pub fn new(
        endpoint: Endpoint,
        interval: Duration,
        meta: Vec<MapMeta>,
        resource: ResourceInfo,
    ) -> OtlpSink {
        let (jobs, queue) = mpsc::channel();
        let sender = endpoint.clone();
        let spawned = std::thread::Builder::new()
            .name("gprobe-otlp".into())
            .spawn(move || send_loop(sender, queue));
        if let Err(e) = &spawned {
            eprintln!("gprobe: warning: OTLP export disabled: cannot start its thread: {e}");
        }
        OtlpSink {
            endpoint,
            meta,
            resource,
            interval,
            next_export: Instant::now() + interval,
            due: false,
            session_start: unix_nanos(SystemTime::now()),
            cleared_at: HashMap::new(),
            jobs: spawned.ok().map(|_| jobs),
            processes: metrics::ProcessTable::new(),
        }
    }

    fn encode(&self, maps: &[MapSnapshot]) -> Vec<u8> {
        let start = |map: &str| {
            self.cleared_at
                .get(map)
                .copied()
                .unwrap_or(self.session_start)
        };
        request_of_processes(
            maps,
            &self.meta,
            &self.processes,
            &self.resource,
            &start,
            unix_nanos(SystemTime::now()),
        )
        .encode_to_vec()
    }
}

impl Sink for OtlpSink {
    fn processes(&mut self, table: &metrics::ProcessTable) {
        self.processes = table.clone();
    }

    fn wants_maps(&mut self) -> bool {
        let now = Instant::now();
        if now < self.next_export {
            return false;
        }
        self.next_export = now + self.interval;
        self.due = true;
        true
    }

    fn maps(&mut self, maps: &[MapSnapshot]) -> io::Result<()> {
        // Called when any sink asked; export only on this sink's own schedule.
        if std::mem::take(&mut self.due) {
            let body = self.encode(maps);
            if let Some(jobs) = &self.jobs {
                let _ = jobs.send(Job { body, done: None });
            }
        }
        Ok(())
    }

    fn cleared(&mut self, map: &str) {
        self.cleared_at
            .insert(map.to_string(), unix_nanos(SystemTime::now()));
    }

    fn finish(&mut self, maps: &[MapSnapshot]) -> io::Result<()> {
        let body = self.encode(maps);
        let Some(jobs) = self.jobs.take() else {
            eprintln!(
                "gprobe: warning: the final OTLP export to {} was not sent",
                self.endpoint.url
            );
            return Ok(());
        };
        let (done, outcome) = mpsc::channel();
        let _ = jobs.send(Job {
            body,
            done: Some(done),
        });
        match outcome.recv_timeout(FINAL_WAIT) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!(
                "gprobe: warning: the final OTLP export to {} failed: {e}",
                self.endpoint.url
            ),
            Err(_) => eprintln!(
                "gprobe: warning: the final OTLP export to {} did not finish within {}s",
                self.endpoint.url,
                FINAL_WAIT.as_secs()
            ),
        }
        Ok(())
    }
}

/// Sends jobs in order. A periodic export that keeps failing is given up when a newer one is
/// queued (it carries the same cumulative totals, and more); the final one is always tried in
/// full. The first failure is said once on stderr so a down collector is noticed.
fn send_loop(endpoint: Endpoint, queue: Receiver<Job>) {
    let mut warned = false;
    let mut next: Option<Job> = None;
    loop {
        let job = match next.take() {
            Some(job) => job,
            None => match queue.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
        };
        let mut backoff = FIRST_BACKOFF;
        let mut result = Err(String::new());
        for attempt in 0..ATTEMPTS {
            result = endpoint.post(&job.body);
            if result.is_ok() || attempt + 1 == ATTEMPTS {
                break;
            }
            if job.done.is_none() {
                match queue.recv_timeout(backoff) {
                    Ok(newer) => {
                        next = Some(newer);
                        break;
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            } else {
                std::thread::sleep(backoff);
            }
            backoff *= 2;
        }
        if let Err(e) = &result
            && job.done.is_none()
            && next.is_none()
            && !warned
        {
            eprintln!(
                "gprobe: warning: OTLP export to {} failed ({e}); tracing goes on, retrying at the next interval",
                endpoint.url
            );
            warned = true;
        }
        if let Some(done) = job.done {
            let _ = done.send(result);
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::MapValue;
    use crate::value::Value;

    #[test]
    fn endpoints() {
        let e = Endpoint::parse("http://127.0.0.1:4318").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("127.0.0.1", 4318));
        assert_eq!(e.path, "/v1/metrics");
        assert_eq!(e.url, "http://127.0.0.1:4318/v1/metrics");
        let e = Endpoint::parse("http://collector/otlp/custom").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("collector", 80));
        assert_eq!(e.path, "/otlp/custom");
        assert!(
            Endpoint::parse("https://x")
                .unwrap_err()
                .contains("not supported")
        );
        assert!(Endpoint::parse("x:4318").is_err());
        assert!(Endpoint::parse("http://h:port").is_err());
    }

    /// The request round-trips through prost and carries the kinds, bounds and counts.
    #[test]
    fn request_shapes() {
        let maps = vec![
            MapSnapshot::keyed(
                "@calls",
                vec![(vec![Value::Str("a".into())], MapValue::Count(5))],
            ),
            MapSnapshot::scalar(
                "@lat",
                MapValue::Hist {
                    counts: vec![0, 1, 0, 2],
                    sum: 6,
                },
            ),
            MapSnapshot::scalar("@mx", MapValue::Max(-4)),
        ];
        let meta = vec![MapMeta {
            map: "@calls".into(),
            help: None,
            key_labels: vec![vec!["comm".into()]],
            ..Default::default()
        }];
        let resource = ResourceInfo {
            attributes: vec![("service.name".into(), AttrValue::Str("svc".into()))],
        };
        let req = request(&maps, &meta, &resource, &|_| 7, 9);
        let req = ExportMetricsServiceRequest::decode(req.encode_to_vec().as_slice()).unwrap();
        let rm = &req.resource_metrics[0];
        assert_eq!(
            rm.resource.as_ref().unwrap().attributes[0].key,
            "service.name"
        );
        let ms = &rm.scope_metrics[0].metrics;
        assert_eq!(ms.len(), 3);
        let Some(pb::metric::Data::Sum(sum)) = &ms[0].data else {
            panic!("{:?}", ms[0])
        };
        assert!(sum.is_monotonic);
        assert_eq!(sum.data_points[0].attributes[0].key, "comm");
        assert_eq!(sum.data_points[0].start_time_unix_nano, 7);
        let Some(pb::metric::Data::Histogram(h)) = &ms[1].data else {
            panic!()
        };
        assert_eq!(h.data_points[0].explicit_bounds, vec![-1.0, 0.0, 1.0, 3.0]);
        assert_eq!(h.data_points[0].bucket_counts, vec![0, 1, 0, 2, 0]);
        assert_eq!(h.data_points[0].sum, Some(6.0));
        assert_eq!(h.data_points[0].count, 3);
        assert!(matches!(ms[2].data, Some(pb::metric::Data::Gauge(_))));
    }

    #[test]
    fn a_down_collector_is_an_error_not_a_hang() {
        // A port nothing listens on: bind, read the port, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = Endpoint::parse(&format!("http://127.0.0.1:{port}")).unwrap();
        assert!(e.post(b"x").is_err());
    }
}
