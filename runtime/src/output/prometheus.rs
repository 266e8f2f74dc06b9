//! `--prometheus ADDR`: an HTTP `/metrics` endpoint in the Prometheus text exposition format
//! (0.0.4). A background thread accepts scrapes and hands each one to the event loop, which
//! reads the maps fresh and renders them; the kernel maps are only ever touched by the thread
//! that owns the session. After tracing stops, scrapes get the final contents.

use super::Sink;
use super::metrics::{self, Histogram, Labels, MapMeta, Metric, Points};
use crate::value::MapSnapshot;
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a scrape waits for the event loop (which looks at least every 100 ms).
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);

/// `prefix_name`, counters with `_total`.
pub const PREFIX: &str = "gprobe_";

/// `9464`, `:9464` → `127.0.0.1:9464`; `host:port` as given.
pub fn parse_addr(addr: &str) -> io::Result<SocketAddr> {
    let full = if addr.parse::<u16>().is_ok() {
        format!("127.0.0.1:{addr}")
    } else if let Some(port) = addr.strip_prefix(':') {
        format!("127.0.0.1:{port}")
    } else {
        addr.to_string()
    };
    full.to_socket_addrs()?.next().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("no address for {addr}"),
        )
    })
}

fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

fn label_set(labels: &Labels, extra: Option<(&str, &str)>) -> String {
    let mut parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
        .collect();
    if let Some((k, v)) = extra {
        parts.push(format!("{k}=\"{v}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

fn bound(b: f64) -> String {
    format!("{b}")
}

fn histogram(out: &mut String, name: &str, labels: &Labels, h: &Histogram) {
    let mut cumulative = 0u64;
    for (b, c) in h.bounds.iter().zip(&h.counts) {
        cumulative += c;
        let _ = writeln!(
            out,
            "{name}_bucket{} {cumulative}",
            label_set(labels, Some(("le", &bound(*b))))
        );
    }
    let _ = writeln!(
        out,
        "{name}_bucket{} {}",
        label_set(labels, Some(("le", "+Inf"))),
        h.count
    );
    let _ = writeln!(out, "{name}_sum{} {}", label_set(labels, None), h.sum);
    let _ = writeln!(out, "{name}_count{} {}", label_set(labels, None), h.count);
}

/// The exposition text for these metrics.
pub fn render(metrics: &[Metric]) -> String {
    let mut out = String::new();
    for m in metrics {
        let base = format!("{PREFIX}{}", m.name);
        let (name, kind) = match &m.points {
            Points::Counter(_) => (format!("{base}_total"), "counter"),
            Points::Gauge(_) => (base, "gauge"),
            Points::Summary(_) => (base, "summary"),
            Points::Histogram(_) => (base, "histogram"),
        };
        let _ = writeln!(out, "# HELP {name} {}", escape_help(&m.help));
        let _ = writeln!(out, "# TYPE {name} {kind}");
        match &m.points {
            Points::Counter(p) | Points::Gauge(p) => {
                for (labels, v) in p {
                    let _ = writeln!(out, "{name}{} {v}", label_set(labels, None));
                }
            }
            Points::Summary(p) => {
                for (labels, s) in p {
                    let _ = writeln!(out, "{name}_sum{} {}", label_set(labels, None), s.sum);
                    let _ = writeln!(out, "{name}_count{} {}", label_set(labels, None), s.count);
                }
            }
            Points::Histogram(p) => {
                for (labels, h) in p {
                    histogram(&mut out, &name, labels, h);
                }
            }
        }
    }
    out
}

/// A scrape waiting for the event loop: the page goes back on this channel.
type Reply = Sender<String>;

pub struct PrometheusSink {
    meta: Vec<MapMeta>,
    scrapes: Receiver<Reply>,
    pending: Vec<Reply>,
    /// The page after tracing stopped; the server answers from it without asking.
    final_page: Arc<Mutex<Option<String>>>,
    pub local_addr: SocketAddr,
}

impl PrometheusSink {
    /// Listens on `addr` now (so a port in use is an error before tracing starts) and serves
    /// from a background thread.
    pub fn bind(addr: &str, meta: Vec<MapMeta>) -> Result<PrometheusSink, String> {
        let socket = parse_addr(addr).map_err(|e| format!("--prometheus {addr}: {e}"))?;
        let listener = TcpListener::bind(socket).map_err(|e| match e.kind() {
            io::ErrorKind::AddrInUse => format!(
                "--prometheus: cannot listen on {socket}: port {} is already in use (pick another with --prometheus HOST:PORT)",
                socket.port()
            ),
            _ => format!("--prometheus: cannot listen on {socket}: {e}"),
        })?;
        let local_addr = listener.local_addr().unwrap_or(socket);
        let (to_loop, scrapes) = mpsc::channel::<Reply>();
        let final_page = Arc::new(Mutex::new(None));
        let page = final_page.clone();
        std::thread::Builder::new()
            .name("gprobe-prometheus".into())
            .spawn(move || serve(listener, to_loop, page))
            .map_err(|e| format!("--prometheus: cannot start the server thread: {e}"))?;
        Ok(PrometheusSink {
            meta,
            scrapes,
            pending: Vec::new(),
            final_page,
            local_addr,
        })
    }

    fn answer(&mut self, maps: &[MapSnapshot]) {
        let page = render(&metrics::metrics(maps, &self.meta));
        for reply in self.pending.drain(..) {
            let _ = reply.send(page.clone());
        }
    }
}

impl Sink for PrometheusSink {
    fn wants_maps(&mut self) -> bool {
        self.pending.extend(self.scrapes.try_iter());
        !self.pending.is_empty()
    }

    fn maps(&mut self, maps: &[MapSnapshot]) -> io::Result<()> {
        if !self.pending.is_empty() {
            self.answer(maps);
        }
        Ok(())
    }

    fn finish(&mut self, maps: &[MapSnapshot]) -> io::Result<()> {
        let page = render(&metrics::metrics(maps, &self.meta));
        if let Ok(mut slot) = self.final_page.lock() {
            *slot = Some(page);
        }
        self.pending.extend(self.scrapes.try_iter());
        self.answer(maps);
        Ok(())
    }
}

fn serve(listener: TcpListener, to_loop: Sender<Reply>, final_page: Arc<Mutex<Option<String>>>) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        // One scrape at a time is plenty for a metrics endpoint; a slow client is cut off.
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
        let _ = handle(stream, &to_loop, &final_page);
    }
}

fn handle(
    mut stream: TcpStream,
    to_loop: &Sender<Reply>,
    final_page: &Mutex<Option<String>>,
) -> io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Skip the headers; nothing in them changes the answer.
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    let (status, body) = if method != "GET" {
        ("405 Method Not Allowed", String::from("only GET\n"))
    } else if path != "/metrics" {
        ("404 Not Found", String::from("see /metrics\n"))
    } else {
        let done = final_page.lock().ok().and_then(|p| p.clone());
        match done {
            Some(page) => ("200 OK", page),
            None => {
                let (reply, page) = mpsc::channel();
                let page = to_loop
                    .send(reply)
                    .ok()
                    .and_then(|()| page.recv_timeout(SCRAPE_TIMEOUT).ok())
                    .or_else(|| final_page.lock().ok().and_then(|p| p.clone()));
                match page {
                    Some(page) => ("200 OK", page),
                    None => (
                        "503 Service Unavailable",
                        String::from("tracing is not running\n"),
                    ),
                }
            }
        }
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::MapValue;
    use crate::value::Value;

    #[test]
    fn exposition_text() {
        let maps = vec![
            MapSnapshot::keyed(
                "@calls",
                vec![(vec![Value::Str("a\"b".into())], MapValue::Count(5))],
            ),
            MapSnapshot::scalar(
                "@lat",
                MapValue::Hist {
                    counts: vec![0, 1, 0, 2],
                    sum: 6,
                },
            ),
        ];
        let meta = vec![MapMeta {
            map: "@calls".into(),
            help: Some("Calls by name.".into()),
            key_labels: vec![vec!["comm".into()]],
        }];
        let got = render(&metrics::metrics(&maps, &meta));
        let want = "# HELP gprobe_calls_total Calls by name.\n\
                    # TYPE gprobe_calls_total counter\n\
                    gprobe_calls_total{comm=\"a\\\"b\"} 5\n\
                    # HELP gprobe_lat gprobe map @lat\n\
                    # TYPE gprobe_lat histogram\n\
                    gprobe_lat_bucket{le=\"-1\"} 0\n\
                    gprobe_lat_bucket{le=\"0\"} 1\n\
                    gprobe_lat_bucket{le=\"1\"} 1\n\
                    gprobe_lat_bucket{le=\"3\"} 3\n\
                    gprobe_lat_bucket{le=\"+Inf\"} 3\n\
                    gprobe_lat_sum 6\n\
                    gprobe_lat_count 3\n";
        assert_eq!(got, want);
    }

    #[test]
    fn addresses() {
        assert_eq!(
            parse_addr("9464").unwrap(),
            "127.0.0.1:9464".parse().unwrap()
        );
        assert_eq!(
            parse_addr(":9464").unwrap(),
            "127.0.0.1:9464".parse().unwrap()
        );
        assert_eq!(
            parse_addr("0.0.0.0:1").unwrap(),
            "0.0.0.0:1".parse().unwrap()
        );
    }

    #[test]
    fn port_in_use_is_a_clear_error() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap().to_string();
        let err = PrometheusSink::bind(&addr, vec![]).err().unwrap();
        assert!(err.contains("already in use"), "{err}");
    }
}
