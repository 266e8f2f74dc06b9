//! The `/metrics` HTTP server: hyper (HTTP/1.1) on a current-thread tokio runtime of its own
//! thread, so no connection, however idle or slow, holds up another: each is a task, and the
//! limits below bound what one can cost.
//!
//! The server never touches the kernel maps. A scrape sends a reply channel to the session's
//! event loop ([`super::PrometheusSink`]), which reads the maps once for every scrape waiting
//! (concurrent scrapes share one read) and answers with the families; the server renders them
//! in the format the scraper asked for. After tracing stops, the final families are published
//! and scrapes are answered from them without asking.

use super::exposition::{self, Family, Format};
use super::web_config::{BasicAuth, WebConfig};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, oneshot, watch};
use tokio_rustls::TlsAcceptor;

/// How long a scrape waits for the event loop (which looks at least every 100 ms).
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);
/// The most a client gets to send a request's headers (and to finish a TLS handshake), and
/// how long an idle keep-alive connection stays open.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Request line and headers together; a longer request is refused (hyper answers 431) instead
/// of growing a buffer.
const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Connections served at once; more wait in the kernel's accept queue. Well under the usual
/// 1024 open-file limit, which gprobe's maps and programs share.
const MAX_CONNECTIONS: usize = 512;
/// A connection is closed (gracefully, between requests) after this long, so a client that
/// trickles a body or never reads its response cannot keep a connection forever.
const CONNECTION_LIFETIME: Duration = Duration::from_secs(120);

/// What the event loop answers a scrape with: the families, read just now or final.
pub type Page = Arc<Vec<Family>>;
/// A scrape waiting for the event loop.
pub type Reply = oneshot::Sender<Page>;

/// What every connection shares.
pub struct Shared {
    pub to_loop: std::sync::mpsc::Sender<Reply>,
    pub final_page: watch::Receiver<Option<Page>>,
    pub auth: Option<Arc<BasicAuth>>,
}

impl Shared {
    /// The final page once tracing stopped, else fresh families from the event loop; `None`
    /// when neither came in time.
    async fn page(&self) -> Option<Page> {
        let mut final_page = self.final_page.clone();
        if let Some(page) = final_page.borrow().clone() {
            return Some(page);
        }
        let (reply, answer) = oneshot::channel();
        if self.to_loop.send(reply).is_err() {
            return final_page.borrow().clone();
        }
        tokio::select! {
            Ok(page) = answer => Some(page),
            Ok(page) = final_page.wait_for(Option::is_some) => page.clone(),
            () = tokio::time::sleep(SCRAPE_TIMEOUT) => None,
        }
    }
}

/// Starts the server thread on `listener` (already bound, so a port in use was reported).
pub fn spawn(
    listener: std::net::TcpListener,
    shared: Shared,
    web: &WebConfig,
) -> Result<(), String> {
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("--prometheus: {e}"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        // bcrypt runs on a blocking thread: one, so wrong passwords cost gprobe at most one
        // core (good credentials are remembered and skip it).
        .max_blocking_threads(1)
        .build()
        .map_err(|e| format!("--prometheus: cannot start the server runtime: {e}"))?;
    let tls = web.tls.clone().map(TlsAcceptor::from);
    let shared = Arc::new(shared);
    std::thread::Builder::new()
        .name("gprobe-prometheus".into())
        .spawn(move || {
            runtime.block_on(async move {
                match TcpListener::from_std(listener) {
                    Ok(listener) => accept_loop(listener, shared, tls).await,
                    Err(e) => eprintln!("gprobe: --prometheus: {e}"),
                }
            })
        })
        .map_err(|e| format!("--prometheus: cannot start the server thread: {e}"))?;
    Ok(())
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, tls: Option<TlsAcceptor>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of file descriptors and the like: pause instead of spinning on it.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let (shared, tls) = (shared.clone(), tls.clone());
        tokio::spawn(async move {
            connection(stream, shared, tls).await;
            drop(slot);
        });
    }
}

async fn connection(stream: TcpStream, shared: Arc<Shared>, tls: Option<TlsAcceptor>) {
    let _ = stream.set_nodelay(true);
    match tls {
        None => http(stream, shared).await,
        Some(acceptor) => {
            if let Ok(Ok(stream)) =
                tokio::time::timeout(REQUEST_TIMEOUT, acceptor.accept(stream)).await
            {
                http(stream, shared).await;
            }
        }
    }
}

async fn http<I>(io: I, shared: Arc<Shared>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(respond(req, &shared).await) }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(REQUEST_TIMEOUT)
        .max_buf_size(MAX_HEADER_BYTES)
        .keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        () = tokio::time::sleep(CONNECTION_LIFETIME) => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(REQUEST_TIMEOUT, conn).await;
        }
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

async fn respond(req: Request<Incoming>, shared: &Shared) -> Response<Full<Bytes>> {
    // Credentials first, for every path: without them nothing about the server is told.
    if let Some(auth) = &shared.auth {
        let authorization = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let ok = match auth.quick_check(authorization.as_deref()) {
            Some(ok) => ok,
            None => {
                let auth = auth.clone();
                tokio::task::spawn_blocking(move || auth.check(authorization.as_deref()))
                    .await
                    .unwrap_or(false)
            }
        };
        if !ok {
            let mut r = plain(StatusCode::UNAUTHORIZED, "unauthorized\n");
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"gprobe\""),
            );
            return r;
        }
    }
    if req.uri().path() != "/metrics" {
        return plain(StatusCode::NOT_FOUND, "see /metrics\n");
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let format = Format::negotiate(
        req.headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok()),
    );
    let Some(page) = shared.page().await else {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "tracing is not running\n");
    };
    // HEAD: hyper sends the headers (Content-Length included) and leaves the body out.
    let mut r = Response::new(Full::new(Bytes::from(exposition::render(&page, format))));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    r
}
