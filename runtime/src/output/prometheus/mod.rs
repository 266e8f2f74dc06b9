//! `--prometheus ADDR`: an HTTP(S) `/metrics` endpoint in the Prometheus text exposition format
//! (0.0.4), or OpenMetrics for scrapers that ask for it. The server ([`server`]) runs on a
//! background thread; the kernel maps are only ever touched by the thread that owns the
//! session, which reads them when scrapes wait ([`PrometheusSink`]). After tracing stops,
//! scrapes get the final contents.
//!
//! - [`exposition`]: the page, with every name made valid;
//! - [`server`]: HTTP, limits, routing, basic auth;
//! - [`web_config`]: `--web.config.file` (TLS, basic auth).

pub mod exposition;
pub mod server;
pub mod web_config;

pub use exposition::{Format, PREFIX, render};

use super::Sink;
use super::metrics::{self, MapMeta};
use crate::value::MapSnapshot;
use exposition::Names;
use server::{Page, Reply, Shared};
use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver};
use tokio::sync::watch;
use web_config::WebConfig;

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

/// The event loop's side: collects waiting scrapes and answers them all from one map read.
pub struct PrometheusSink {
    meta: Vec<MapMeta>,
    /// Family names, kept for the session so they never change between scrapes.
    names: Names,
    scrapes: Receiver<Reply>,
    pending: Vec<Reply>,
    /// The page after tracing stopped; the server answers from it without asking.
    final_page: watch::Sender<Option<Page>>,
    pub local_addr: SocketAddr,
    /// Served over TLS (`https://`).
    pub tls: bool,
    /// Node-wide: who each pid in the maps is (see [`metrics::ProcessTable`]).
    processes: metrics::ProcessTable,
}

impl PrometheusSink {
    /// Reads `web_config` (TLS, basic auth) and listens on `addr` now, so a bad file or a port
    /// in use is an error before tracing starts; serves from a background thread.
    pub fn bind(
        addr: &str,
        web_config: Option<&Path>,
        meta: Vec<MapMeta>,
    ) -> Result<PrometheusSink, String> {
        let web = match web_config {
            Some(path) => WebConfig::load(path)?,
            None => WebConfig::default(),
        };
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
        let (final_page, final_seen) = watch::channel(None);
        server::spawn(
            listener,
            Shared {
                to_loop,
                final_page: final_seen,
                auth: web.auth.clone(),
            },
            &web,
        )?;
        Ok(PrometheusSink {
            meta,
            names: Names::default(),
            scrapes,
            pending: Vec::new(),
            final_page,
            local_addr,
            tls: web.tls.is_some(),
            processes: metrics::ProcessTable::new(),
        })
    }

    fn page(&mut self, maps: &[MapSnapshot]) -> Page {
        Arc::new(self.names.families(metrics::metrics_of_processes(
            maps,
            &self.meta,
            &self.processes,
        )))
    }

    fn answer(&mut self, maps: &[MapSnapshot]) {
        // Scrapes that gave up (timed out, client gone) need no map read.
        self.pending.retain(|reply| !reply.is_closed());
        if self.pending.is_empty() {
            return;
        }
        let page = self.page(maps);
        for reply in self.pending.drain(..) {
            let _ = reply.send(page.clone());
        }
    }
}

impl Sink for PrometheusSink {
    fn processes(&mut self, table: &metrics::ProcessTable) {
        self.processes = table.clone();
    }

    fn wants_maps(&mut self) -> bool {
        self.pending.extend(self.scrapes.try_iter());
        self.pending.retain(|reply| !reply.is_closed());
        !self.pending.is_empty()
    }

    fn maps(&mut self, maps: &[MapSnapshot]) -> io::Result<()> {
        self.answer(maps);
        Ok(())
    }

    fn finish(&mut self, maps: &[MapSnapshot]) -> io::Result<()> {
        let page = self.page(maps);
        // Published first: a scrape arriving from now on is answered without asking.
        self.final_page.send_replace(Some(page.clone()));
        self.pending.extend(self.scrapes.try_iter());
        for reply in self.pending.drain(..) {
            let _ = reply.send(page.clone());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// One request on a new connection; the status line and the body.
    fn get(addr: SocketAddr, request: &str) -> (String, String) {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(60)))
            .unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut text = String::new();
        let _ = s.read_to_string(&mut text);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        (
            head.lines().next().unwrap_or("").to_string(),
            body.to_string(),
        )
    }

    /// The event loop's part, without a kernel: scrapes are answered from the maps it reads
    /// while idle connections sit open, and from the final maps once tracing stopped.
    #[test]
    fn scrapes_are_answered_by_the_event_loop_then_from_the_final_maps() {
        use crate::value::MapValue;
        use std::sync::atomic::{AtomicBool, Ordering};
        let mut sink = PrometheusSink::bind("127.0.0.1:0", None, vec![]).unwrap();
        let addr = sink.local_addr;
        let stop = Arc::new(AtomicBool::new(false));
        let event_loop = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let live = [MapSnapshot::scalar("@x", MapValue::Count(1))];
                while !stop.load(Ordering::Relaxed) {
                    if sink.wants_maps() {
                        sink.maps(&live).unwrap();
                    }
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                sink.finish(&[MapSnapshot::scalar("@x", MapValue::Count(2))])
                    .unwrap();
            })
        };
        let _idle: Vec<_> = (0..20)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        let request = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        let (status, body) = get(addr, request);
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert!(body.contains("gprobe_x_total 1\n"), "{body}");
        stop.store(true, Ordering::Relaxed);
        event_loop.join().unwrap();
        let (status, body) = get(addr, request);
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert!(body.contains("gprobe_x_total 2\n"), "{body}");
        let (status, _) = get(
            addr,
            "DELETE /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        assert_eq!(status, "HTTP/1.1 405 Method Not Allowed");
    }

    #[test]
    fn port_in_use_is_a_clear_error() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap().to_string();
        let err = PrometheusSink::bind(&addr, None, vec![]).err().unwrap();
        assert!(err.contains("already in use"), "{err}");
    }
}
