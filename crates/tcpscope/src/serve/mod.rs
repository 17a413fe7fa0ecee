//! `tcpscope serve`'s HTTP server: Prometheus metrics, a live web page and JSON, all read from
//! one [`Live`] collector. Read-only: the only methods are GET and HEAD, and no endpoint changes
//! anything on the host.
//!
//! **Why hyper on a one-thread tokio runtime, not tiny_http or axum.** The collector is a
//! thread of its own and every answer waits on it with blocking calls ([`Live::fresh`],
//! [`Live::list`]); those run on tokio's bounded blocking pool, so neither the kernel nor a
//! slow poll ever holds the thread that talks HTTP. What a thread-per-connection server
//! (tiny_http) cannot give cheaply is what the exporter must survive: clients that connect and
//! send nothing, or a byte a second, or stop reading. Here each costs a parked task, not a
//! thread; hyper's header read timeout drops them ([`HEADER_TIMEOUT`], which also closes idle
//! keep-alive connections), [`limits::Stall`] drops one that stops reading our answer, requests
//! are bounded ([`MAX_REQUEST_BYTES`], [`MAX_HEADERS`]), and so are connections
//! ([`MAX_CONNECTIONS`]). axum would add routing for six fixed paths and hide those settings.
//!
//! Handlers are in [`routes`]; metrics are encoded in [`exposition`]; state changes are
//! counted in [`transitions`].

pub mod exposition;
mod limits;
pub mod routes;
pub mod transitions;

use crate::collect::live::Live;
use anyhow::{Context, Result};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// The groupings serve's frames carry: the metrics and the page show processes only (counts
/// per namespace come with every frame), and each grouping costs a hash update per socket.
pub const GROUPINGS: &[tcpscope_core::analyze::groups::GroupBy] =
    &[tcpscope_core::analyze::groups::GroupBy::Process];

/// A request whose head (request line and headers) is not complete after this is dropped; so is
/// a keep-alive connection that sends nothing for this long.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// A client that reads none of an answer for this long is dropped.
pub const WRITE_STALL: Duration = Duration::from_secs(30);
/// The most bytes of request head read (hyper's read buffer; larger heads get 431).
pub const MAX_REQUEST_BYTES: usize = 16 * 1024;
/// The most header lines in a request.
pub const MAX_HEADERS: usize = 64;
/// Connections served at once; more wait in the kernel's accept queue.
pub const MAX_CONNECTIONS: usize = 512;
/// Threads that may wait on the collector at once (more requests wait for one of them).
const BLOCKING_THREADS: usize = 16;

/// How `serve` answers.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Scrapes within this age of the last poll share it.
    pub cache: Duration,
    /// Processes, destinations and listeners per metric before the rest are `other`.
    pub top: usize,
    /// The most sockets `/api/snapshot` lists.
    pub max_list: usize,
}

/// Serve `live` (and the state changes `transitions` counts) on `listener` until the process
/// is ended.
pub fn run(
    listener: TcpListener,
    live: Live,
    config: ServeConfig,
    transitions: Option<transitions::Transitions>,
) -> Result<()> {
    let local = listener.local_addr()?;
    listener
        .set_nonblocking(true)
        .context("making the listening socket non-blocking")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .max_blocking_threads(BLOCKING_THREADS)
        .thread_name("tcpscope-http")
        .build()
        .context("starting the HTTP runtime")?;
    let app = Arc::new(routes::App::new(live, config, local, transitions));
    runtime.block_on(accept_loop(listener, app))
}

async fn accept_loop(listener: TcpListener, app: Arc<routes::App>) -> Result<()> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return Ok(());
        };
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            // Out of descriptors, or a connection reset before it was accepted: keep serving.
            Err(e) => {
                eprintln!("tcpscope serve: accepting a connection failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        tokio::spawn(async move {
            let io = TokioIo::new(limits::Stall::new(stream, WRITE_STALL));
            let service = service_fn(move |req| {
                let app = app.clone();
                async move { Ok::<_, std::convert::Infallible>(app.handle(req, peer).await) }
            });
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(MAX_REQUEST_BYTES)
                .max_headers(MAX_HEADERS)
                .keep_alive(true)
                .serve_connection(io, service)
                .await;
            drop(slot);
        });
    }
}

/// The address to print for people: `http://127.0.0.1:9983/`.
pub fn url(addr: SocketAddr) -> String {
    format!("http://{addr}/")
}
