//! `--otlp [URL]`: maps pushed as OpenTelemetry metrics over OTLP (http/protobuf or gRPC),
//! every `--interval` and once more at exit. Messages are the official definitions
//! (`opentelemetry-proto`). This file builds the requests; [`config`] reads the endpoint and
//! settings (the standard `OTEL_EXPORTER_OTLP_*` variables), [`exporter`] queues and sends them
//! on a thread of its own (retries, drops, reports) over [`http`] or [`grpc`], so a slow or
//! absent collector never holds up tracing; only the final export is waited for, briefly.
//!
//! Temporality is cumulative: every export carries the map's totals since its start time, which
//! is when tracing started or, after `clear(@m)`, when the map was last cleared.

pub mod config;
mod exporter;
mod grpc;
mod http;

use super::Sink;
use super::metrics::{self, Labels, MapMeta, Number, Points};
use crate::value::MapSnapshot;
pub use config::Config;
use exporter::Exporter;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1 as pb;
use opentelemetry_proto::tonic::resource::v1::Resource;
use std::collections::HashMap;
use std::io;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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

pub struct OtlpSink {
    meta: Vec<MapMeta>,
    resource: ResourceInfo,
    interval: Duration,
    next_export: Instant,
    /// The interval passed: the next `maps` call is an export.
    due: bool,
    session_start: u64,
    cleared_at: HashMap<String, u64>,
    /// `None` once the final export was handed over.
    exporter: Option<Exporter>,
    /// Node-wide: who each pid in the maps is (see [`metrics::ProcessTable`]).
    processes: metrics::ProcessTable,
}

impl OtlpSink {
    /// Starts the exporter's thread; an error is a setting that cannot work.
    pub fn new(
        config: Config,
        interval: Duration,
        meta: Vec<MapMeta>,
        resource: ResourceInfo,
    ) -> Result<OtlpSink, String> {
        Ok(OtlpSink {
            exporter: Some(Exporter::start(config)?),
            meta,
            resource,
            interval,
            next_export: Instant::now() + interval,
            due: false,
            session_start: unix_nanos(SystemTime::now()),
            cleared_at: HashMap::new(),
            processes: metrics::ProcessTable::new(),
        })
    }

    fn request(&self, maps: &[MapSnapshot]) -> ExportMetricsServiceRequest {
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
            let request = self.request(maps);
            if let Some(exporter) = &self.exporter {
                exporter.export(request);
            }
        }
        Ok(())
    }

    fn cleared(&mut self, map: &str) {
        self.cleared_at
            .insert(map.to_string(), unix_nanos(SystemTime::now()));
    }

    fn finish(&mut self, maps: &[MapSnapshot]) -> io::Result<()> {
        if let Some(exporter) = self.exporter.take() {
            exporter.finish(self.request(maps));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::MapValue;
    use crate::value::Value;
    use prost::Message;

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
}
