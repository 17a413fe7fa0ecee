//! What each path answers. Every answer comes from the [`Live`] collector's frames (or, for
//! `/api/snapshot`, a listing made on its thread): the work that waits for the collector, or
//! builds a large body, runs on tokio's blocking pool, never on the thread serving connections.
//!
//! | path | answer |
//! |---|---|
//! | `/` | the live page (core `render::page`) |
//! | `/metrics` | Prometheus text or OpenMetrics, by the `Accept` header |
//! | `/api/frame` | the page's data |
//! | `/api/doctor` | the `doctor --json` document |
//! | `/api/snapshot?filter=F&limit=N` | the `ls --json` document of the sockets `F` selects (at most N) |
//! | `/healthz` | 200 when the last poll succeeded, 503 with the reason otherwise |

use super::exposition::{content_type, encode};
use super::transitions::Transitions;
use super::ServeConfig;
use crate::collect::kernel::now_unix_ms;
use crate::collect::live::{Live, Update};
use crate::commands::output::parse_filter;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tcpscope_core::model::snapshot::{SnapshotWriter, SourceKind};
use tcpscope_core::render::metrics::{families, negotiate, MetricLimits, ScrapeStatus};
use tcpscope_core::render::page::{page_data, page_html};
use tcpscope_core::Snapshot;
use tokio::sync::Semaphore;

/// How long an answer waits for a poll (or a listing) before it takes what there is.
const POLL_WAIT: Duration = Duration::from_secs(15);
/// Sockets `/api/snapshot` lists unless `limit` says otherwise.
const DEFAULT_LIST: usize = 1000;
/// Listings made at once (each holds its sockets and their JSON until sent).
const LISTINGS_AT_ONCE: usize = 2;

const CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
                   connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; \
                   frame-ancestors 'none'";

/// What every request shares.
pub struct App {
    live: Live,
    config: ServeConfig,
    page: Bytes,
    /// Listening on loopback: answer only requests addressed to a loopback name, so a web page
    /// elsewhere cannot read this one through DNS rebinding.
    loopback: bool,
    listings: Arc<Semaphore>,
    /// State changes counted from the tracepoint (root only).
    transitions: Option<Transitions>,
}

type Answer = Response<Full<Bytes>>;

impl App {
    pub fn new(
        live: Live,
        config: ServeConfig,
        local: SocketAddr,
        transitions: Option<Transitions>,
    ) -> App {
        App {
            live,
            config,
            page: Bytes::from(page_html()),
            loopback: local.ip().is_loopback(),
            listings: Arc::new(Semaphore::new(LISTINGS_AT_ONCE)),
            transitions,
        }
    }

    pub async fn handle(self: Arc<Self>, req: Request<Incoming>, _peer: SocketAddr) -> Answer {
        let head = req.method() == Method::HEAD;
        if req.method() != Method::GET && !head {
            let mut r = text(
                StatusCode::METHOD_NOT_ALLOWED,
                "tcpscope serve is read-only: GET and HEAD only\n",
            );
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return r;
        }
        if self.loopback && !loopback_host(req.headers().get(header::HOST)) {
            return text(
                StatusCode::MISDIRECTED_REQUEST,
                "this tcpscope serve listens on loopback and answers requests to localhost, \
                 127.0.0.1 or [::1] only; to serve other names, give --listen ADDR\n",
            );
        }
        let accept = req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let query = req.uri().query().unwrap_or_default().to_string();
        let mut answer = match req.uri().path() {
            "/" | "/index.html" => page(self.page.clone()),
            "/metrics" => {
                self.blocking(move |app| app.metrics(accept.as_deref()))
                    .await
            }
            "/api/frame" => self.blocking(|app| app.frame()).await,
            "/api/doctor" => self.blocking(|app| app.doctor()).await,
            "/api/snapshot" => self.snapshot(query).await,
            "/healthz" => self.healthz(),
            _ => text(
                StatusCode::NOT_FOUND,
                "not found; tcpscope serve answers /, /metrics, /api/frame, /api/doctor, \
                 /api/snapshot?filter=F&limit=N and /healthz\n",
            ),
        };
        let h = answer.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        // For HEAD, hyper sends the headers (Content-Length included) and no body.
        answer
    }

    /// Run `work` on the blocking pool (it waits for the collector or builds a large body).
    async fn blocking(
        self: Arc<Self>,
        work: impl FnOnce(&App) -> Answer + Send + 'static,
    ) -> Answer {
        match tokio::task::spawn_blocking(move || work(&self)).await {
            Ok(a) => a,
            Err(e) => text(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("tcpscope serve failed to answer: {e}\n"),
            ),
        }
    }

    fn fresh(&self) -> Update {
        self.live.fresh(self.config.cache, POLL_WAIT)
    }

    fn metrics(&self, accept: Option<&str>) -> Answer {
        let started = Instant::now();
        let u = self.fresh();
        let transitions = self.transitions.as_ref().map(Transitions::totals);
        let status = ScrapeStatus {
            frame: u.frame.as_deref(),
            stale: u.is_stale(),
            polls_total: u.polls,
            errors_total: u.errors_total,
            scrape_seconds: started.elapsed().as_secs_f64(),
            version: env!("CARGO_PKG_VERSION"),
            transitions: transitions.as_ref(),
        };
        let format = negotiate(accept);
        let fams = families(
            &status,
            MetricLimits {
                top: self.config.top,
            },
        );
        match encode(fams, format) {
            Ok(body) => with_type(StatusCode::OK, content_type(format), body),
            Err(_) => text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "encoding the metrics failed\n",
            ),
        }
    }

    fn frame(&self) -> Answer {
        let u = self.fresh();
        json(
            StatusCode::OK,
            &page_data(u.frame.as_deref(), u.error.as_deref()),
        )
    }

    fn doctor(&self) -> Answer {
        let u = self.fresh();
        match &u.frame {
            Some(f) => json(StatusCode::OK, &f.report),
            None => json(
                StatusCode::SERVICE_UNAVAILABLE,
                &serde_json::json!({
                    "error": u.error.as_deref().unwrap_or("no poll has finished yet"),
                }),
            ),
        }
    }

    async fn snapshot(self: Arc<Self>, query: String) -> Answer {
        let mut filter = String::new();
        let mut limit = DEFAULT_LIST.min(self.config.max_list);
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            match &*k {
                "filter" => filter = v.into_owned(),
                "limit" => match v.parse::<usize>() {
                    Ok(n) => limit = n.min(self.config.max_list),
                    Err(_) => {
                        return text(
                            StatusCode::BAD_REQUEST,
                            &format!("limit '{v}' is not a number of sockets\n"),
                        )
                    }
                },
                _ => {}
            }
        }
        let Ok(_turn) = self.listings.clone().acquire_owned().await else {
            return text(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n");
        };
        self.blocking(move |app| app.list(&filter, limit)).await
    }

    fn list(&self, filter_text: &str, limit: usize) -> Answer {
        let filter = match parse_filter(&[filter_text.to_string()]) {
            Ok(f) => f,
            Err(e) => return text(StatusCode::BAD_REQUEST, &format!("{e:#}\n")),
        };
        let socks = match self.live.list(filter, limit.saturating_add(1), POLL_WAIT) {
            Ok(s) => s,
            Err(e) => {
                return text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &format!("listing sockets failed: {e:#}\n"),
                )
            }
        };
        let mut header = Snapshot::new(now_unix_ms(), SourceKind::Netlink);
        let mut notes = Vec::new();
        if let Some(f) = self.live.latest().frame {
            header.host = f.header.host.clone();
            header.source = f.header.source.clone();
            header.kernel = f.header.kernel.clone();
            notes = f.header.notes.clone();
        }
        if socks.len() > limit {
            notes.push(format!(
                "only the first {limit} sockets are listed (limit={limit}); `tcpscope ls --json` lists every one"
            ));
        }
        let mut out = Vec::new();
        let written = (|| -> std::io::Result<()> {
            let mut w = SnapshotWriter::start(&mut out, &header)?;
            for d in socks.iter().take(limit) {
                w.socket(&d.socket)?;
            }
            w.finish(&Default::default(), &notes)?;
            Ok(())
        })();
        match written {
            Ok(()) => with_type(StatusCode::OK, "application/json", out),
            Err(e) => text(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("writing the snapshot failed: {e}\n"),
            ),
        }
    }

    fn healthz(&self) -> Answer {
        let u = self.live.latest();
        match (&u.frame, &u.error) {
            (_, Some(e)) => text(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("unhealthy: the last poll failed: {e}\n"),
            ),
            (Some(f), None) => text(
                StatusCode::OK,
                &format!(
                    "ok: poll {} read {} sockets in {} ms\n",
                    f.seq,
                    f.counts.total(),
                    f.poll_ms
                ),
            ),
            (None, None) => text(
                StatusCode::SERVICE_UNAVAILABLE,
                "starting: the first poll has not finished\n",
            ),
        }
    }
}

/// True for a request addressed to a loopback name or address (or with no Host header, as from
/// an HTTP/1.0 client; browsers always send one).
fn loopback_host(host: Option<&HeaderValue>) -> bool {
    let Some(host) = host.and_then(|h| h.to_str().ok()) else {
        return host.is_none();
    };
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        host.rsplit_once(':').map_or(host, |(n, _)| n)
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn with_type(status: StatusCode, ctype: &'static str, body: impl Into<Bytes>) -> Answer {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    r
}

fn text(status: StatusCode, body: &str) -> Answer {
    with_type(status, "text/plain; charset=utf-8", body.to_string())
}

fn json(status: StatusCode, value: &impl serde::Serialize) -> Answer {
    match serde_json::to_vec(value) {
        Ok(body) => with_type(status, "application/json", body),
        Err(e) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("encoding JSON failed: {e}\n"),
        ),
    }
}

fn page(body: Bytes) -> Answer {
    let mut r = with_type(StatusCode::OK, "text/html; charset=utf-8", body);
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::loopback_host;
    use hyper::header::HeaderValue;

    #[test]
    fn only_loopback_names_are_answered_on_loopback() {
        let ok = |h: &str| loopback_host(Some(&HeaderValue::from_str(h).unwrap()));
        for good in [
            "localhost",
            "localhost:9983",
            "127.0.0.1:9983",
            "127.1.2.3",
            "[::1]:9983",
            "[::1]",
            "LOCALHOST:1",
        ] {
            assert!(ok(good), "{good}");
        }
        for bad in [
            "evil.example:9983",
            "10.0.0.1:9983",
            "[::2]:80",
            "localhost.evil.example",
            "",
        ] {
            assert!(!ok(bad), "{bad}");
        }
        assert!(loopback_host(None), "HTTP/1.0 without Host");
    }
}
