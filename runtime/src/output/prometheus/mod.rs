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
        })
    }

    fn page(&mut self, maps: &[MapSnapshot]) -> Page {
        Arc::new(self.names.families(metrics::metrics(maps, &self.meta)))
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

    #[test]
    fn port_in_use_is_a_clear_error() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap().to_string();
        let err = PrometheusSink::bind(&addr, None, vec![]).err().unwrap();
        assert!(err.contains("already in use"), "{err}");
    }
}
