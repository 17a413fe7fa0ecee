//! What `tcpscope serve` exports to Prometheus, as plain data: the metric families of one live
//! [`Frame`] (sockets per state, per process, TIME-WAIT per destination, listener queues, doctor's
//! findings, kernel counters) and of the exporter itself (scrape time, failed polls, staleness).
//! The binary encodes these with the `prometheus-client` crate, which writes the Prometheus text
//! format or OpenMetrics and escapes label values; here every label value is bounded (length,
//! count of series) and every choice of what to export is made and tested without a server.
//!
//! Names follow Prometheus conventions: the `tcpscope_` prefix, base units (`_seconds`), counters
//! named without `_total` here (the encoder adds it), label values spelled as in `ls --json`.
//! docs/metrics.md lists every family with a real sample; keep the two in step.

use crate::analyze::diagnose::Severity;
use crate::analyze::frame::Frame;
use crate::analyze::groups::{GroupBy, GroupStats};
use crate::model::socket::{Endpoint, Family};
use crate::model::state::TcpState;
use std::collections::{BTreeMap, HashMap};

/// A metric family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    Gauge,
    /// Exposed with a `_total` suffix the encoder adds.
    Counter,
    /// Exposed as `NAME_info{...} 1` (a gauge in the Prometheus text format).
    Info,
}

/// One sample: its labels (in order) and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Vec<(&'static str, String)>,
    pub value: f64,
}

/// One metric family: name (without `_total` for counters, without `_info` for infos), help
/// text, type and samples.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricFamily {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: MetricType,
    pub samples: Vec<Sample>,
}

impl MetricFamily {
    fn new(name: &'static str, kind: MetricType, help: &'static str) -> MetricFamily {
        MetricFamily {
            name,
            help,
            kind,
            samples: Vec::new(),
        }
    }

    fn with(mut self, labels: Vec<(&'static str, String)>, value: f64) -> MetricFamily {
        self.push(labels, value);
        self
    }

    fn push(&mut self, labels: Vec<(&'static str, String)>, value: f64) {
        self.samples.push(Sample { labels, value });
    }

    /// The name as scraped: `_total` added to counters, `_info` to infos.
    pub fn exposed_name(&self) -> String {
        match self.kind {
            MetricType::Gauge => self.name.to_string(),
            MetricType::Counter => format!("{}_total", self.name),
            MetricType::Info => format!("{}_info", self.name),
        }
    }
}

/// What the exporter knows besides the frame: how the polls went and this scrape.
#[derive(Debug, Clone, Copy)]
pub struct ScrapeStatus<'a> {
    /// The last good frame (`None` until a poll succeeded).
    pub frame: Option<&'a Frame>,
    /// True when the last poll failed and `frame` comes from an earlier one.
    pub stale: bool,
    /// Polls attempted since the start.
    pub polls_total: u64,
    /// Polls that failed since the start.
    pub errors_total: u64,
    /// How long this scrape took until its metrics were built, seconds.
    pub scrape_seconds: f64,
    /// tcpscope's version.
    pub version: &'a str,
    /// State changes counted from the tracepoint since serve started (`None` when it cannot
    /// trace: not root, no tracefs, `--no-trace`).
    pub transitions: Option<&'a TransitionTotals>,
}

/// State changes as the kernel's `sock:inet_sock_set_state` tracepoint reported them, counted
/// since serve started, and the records the ring buffers lost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransitionTotals {
    /// (old, new) -> changes.
    pub counts: BTreeMap<(TcpState, TcpState), u64>,
    /// Records the kernel dropped because a ring buffer was full (their changes are not counted).
    pub lost: u64,
}

/// Limits on the number of series.
#[derive(Debug, Clone, Copy)]
pub struct MetricLimits {
    /// Processes (comm, container) exported per state before the rest become `comm="other"`;
    /// also the number of TIME-WAIT destinations and of listeners exported.
    pub top: usize,
}

impl Default for MetricLimits {
    fn default() -> Self {
        MetricLimits { top: 20 }
    }
}

/// Longest label value exported (longer ones are cut, with `…`): process names and finding
/// subjects come from the host and can be anything.
pub const MAX_LABEL_CHARS: usize = 128;
/// Most findings exported in one scrape.
pub const MAX_FINDINGS: usize = 100;

/// A label value bounded to [`MAX_LABEL_CHARS`] characters. Escaping (`\`, `"`, newline) is the
/// encoder's job; any other character passes through, as the exposition formats allow.
pub fn label_value(s: &str) -> String {
    if s.chars().count() <= MAX_LABEL_CHARS {
        return s.to_string();
    }
    let mut cut: String = s.chars().take(MAX_LABEL_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// The `netns` label of a frame's namespace key: `own`, a named namespace without its quotes
/// (`blue`), or `of pid 1234 (docker:0123456789ab)` / `net:[4026531840]` for unnamed ones.
pub fn netns_label(key: &str) -> String {
    let unquoted = key
        .strip_prefix('\'')
        .and_then(|k| k.strip_suffix('\''))
        .unwrap_or(key);
    label_value(unquoted)
}

/// An endpoint as a label value: `0.0.0.0:443`, `[::]:443`, `10.0.0.5:5432` (wildcards spelled
/// out, so IPv4 and IPv6 listeners on one port stay apart).
pub fn endpoint_label(e: &Endpoint) -> String {
    std::net::SocketAddr::new(e.addr, e.port).to_string()
}

/// Kernel counters exported as `_total` counters: (/proc section, kernel name, metric name
/// without `_total`, help).
pub const KERNEL_COUNTERS: &[(&str, &str, &str, &str)] = &[
    ("TcpExt", "ListenOverflows", "tcpscope_listen_overflows",
     "Completed handshakes dropped because a listener's accept queue was full (TcpExt ListenOverflows)."),
    ("TcpExt", "ListenDrops", "tcpscope_listen_drops",
     "Incoming connections dropped at a listener for any reason, overflows included (TcpExt ListenDrops)."),
    ("TcpExt", "TCPReqQFullDrop", "tcpscope_syn_queue_full_drops",
     "SYNs dropped because the SYN queue was full and syncookies were off (TcpExt TCPReqQFullDrop)."),
    ("TcpExt", "TCPReqQFullDoCookies", "tcpscope_syn_queue_full_cookies",
     "SYNs answered with a syncookie because the SYN queue was full (TcpExt TCPReqQFullDoCookies)."),
    ("TcpExt", "TCPAbortOnClose", "tcpscope_aborts_on_close",
     "Connections reset because the program closed them with unread data (TcpExt TCPAbortOnClose)."),
    ("TcpExt", "TCPAbortOnData", "tcpscope_aborts_on_data",
     "Connections reset because data arrived after the program closed them (TcpExt TCPAbortOnData)."),
    ("TcpExt", "TCPAbortOnTimeout", "tcpscope_aborts_on_timeout",
     "Connections reset because retransmissions or keepalive probes ran out (TcpExt TCPAbortOnTimeout)."),
    ("TcpExt", "TCPAbortOnMemory", "tcpscope_aborts_on_memory",
     "Connections reset because TCP memory or the orphan limit ran out (TcpExt TCPAbortOnMemory)."),
    ("TcpExt", "TCPAbortOnLinger", "tcpscope_aborts_on_linger",
     "Connections reset on close because of SO_LINGER (TcpExt TCPAbortOnLinger)."),
    ("TcpExt", "TCPTimeWaitOverflow", "tcpscope_time_wait_overflows",
     "TIME-WAIT sockets not created because tcp_max_tw_buckets was reached (TcpExt TCPTimeWaitOverflow)."),
    ("TcpExt", "TCPTimeouts", "tcpscope_retransmit_timeouts",
     "Retransmission timer expiries (TcpExt TCPTimeouts)."),
    ("TcpExt", "TCPSynRetrans", "tcpscope_syn_retransmits",
     "SYN and SYN+ACK retransmissions (TcpExt TCPSynRetrans)."),
    ("Tcp", "ActiveOpens", "tcpscope_active_opens",
     "Connections opened by this host, SYN-SENT entered (Tcp ActiveOpens)."),
    ("Tcp", "PassiveOpens", "tcpscope_passive_opens",
     "Connections accepted by this host, SYN-RECV entered from LISTEN (Tcp PassiveOpens)."),
    ("Tcp", "AttemptFails", "tcpscope_attempt_fails",
     "Connection attempts that failed in SYN-SENT or SYN-RECV (Tcp AttemptFails)."),
    ("Tcp", "EstabResets", "tcpscope_established_resets",
     "Connections reset while ESTABLISHED or CLOSE-WAIT (Tcp EstabResets)."),
    ("Tcp", "OutRsts", "tcpscope_resets_sent",
     "Segments sent with the RST flag (Tcp OutRsts)."),
    ("Tcp", "RetransSegs", "tcpscope_retransmitted_segments",
     "Segments retransmitted (Tcp RetransSegs)."),
    ("Tcp", "InErrs", "tcpscope_segments_received_bad",
     "Segments received in error, e.g. bad checksums (Tcp InErrs)."),
];

/// Every metric family of one scrape. With no frame yet (the first poll failed), only the
/// exporter's own families; with a stale frame, its values and `tcpscope_stale 1`.
pub fn families(status: &ScrapeStatus, limits: MetricLimits) -> Vec<MetricFamily> {
    let mut out = Vec::new();
    if let Some(frame) = status.frame {
        out.push(sockets(frame));
        out.extend(processes(frame, limits.top));
        out.extend(time_wait(frame, limits.top));
        out.extend(listeners(frame, limits.top));
        out.extend(findings(frame));
        out.extend(kernel_counters(frame));
    }
    if let Some(t) = status.transitions {
        out.extend(transitions(t));
    }
    out.extend(exporter(status));
    out
}

fn sockets(frame: &Frame) -> MetricFamily {
    let mut f = MetricFamily::new(
        "tcpscope_sockets",
        MetricType::Gauge,
        "TCP sockets per state, address family and network namespace (every state listed, zeros included).",
    );
    let own = [("own".to_string(), Default::default())];
    let namespaces: Vec<(&String, &crate::analyze::summary::StateCounts)> =
        if frame.counts_by_netns.is_empty() {
            own.iter().map(|(k, v)| (k, v)).collect()
        } else {
            frame.counts_by_netns.iter().collect()
        };
    for (key, counts) in namespaces {
        let netns = netns_label(key);
        for state in TcpState::ALL {
            let (v4, v6) = counts.of(state);
            for (family, n) in [(Family::Inet, v4), (Family::Inet6, v6)] {
                f.push(
                    vec![
                        ("state", state.name().to_string()),
                        ("family", family.name().to_string()),
                        ("netns", netns.clone()),
                    ],
                    n as f64,
                );
            }
        }
    }
    f
}

/// Process groups summed by (comm, container), the top `n` by sockets not ESTABLISHED, the
/// rest as `other`. Sockets no process holds are `kernel`; those whose holder could not be
/// seen, `unknown`.
fn process_rows(frame: &Frame, n: usize) -> Vec<((String, String), GroupStats)> {
    let mut by: HashMap<(String, String), GroupStats> = HashMap::new();
    for (key, g) in frame.groups(GroupBy::Process) {
        // `kernel` and `unknown` groups have no command: their label says which they are.
        let comm = g.comm.clone().unwrap_or_else(|| key.label.clone());
        let container = g.container.clone().unwrap_or_default();
        by.entry((comm, container)).or_default().merge(g);
    }
    let mut rows: Vec<((String, String), GroupStats)> = by.into_iter().collect();
    let weight = |g: &GroupStats| g.sockets - g.in_state(TcpState::Established);
    rows.sort_by(|a, b| {
        weight(&b.1)
            .cmp(&weight(&a.1))
            .then(b.1.sockets.cmp(&a.1.sockets))
            .then(a.0.cmp(&b.0))
    });
    let other_key = ("other".to_string(), String::new());
    // The frame's own `other` group (past its 500 groups) joins ours.
    let (mut top, rest): (Vec<_>, Vec<_>) = rows
        .into_iter()
        .enumerate()
        .partition(|(i, row)| *i < n && row.0 != other_key);
    let mut top: Vec<_> = top.drain(..).map(|(_, r)| r).collect();
    let rest: Vec<_> = rest.into_iter().map(|(_, r)| r).collect();
    if !rest.is_empty() {
        let mut other = GroupStats::default();
        for (_, g) in &rest {
            other.merge(g);
        }
        top.push((other_key, other));
    }
    top
}

fn processes(frame: &Frame, n: usize) -> Vec<MetricFamily> {
    let mut socks = MetricFamily::new(
        "tcpscope_process_sockets",
        MetricType::Gauge,
        "TCP sockets not ESTABLISHED per owning process command and container, top processes by those sockets; the rest summed as comm=\"other\", sockets no process holds as comm=\"kernel\".",
    );
    let mut oldest = MetricFamily::new(
        "tcpscope_close_wait_oldest_idle_seconds",
        MetricType::Gauge,
        "How long the longest-idle CLOSE-WAIT socket of each process command and container has seen nothing from its peer (tcp_info last_ack_recv): a lower bound of its time in CLOSE-WAIT.",
    );
    for ((comm, container), g) in process_rows(frame, n) {
        let labels = |extra: Option<TcpState>| {
            let mut l = vec![
                ("comm", label_value(&comm)),
                ("container", label_value(&container)),
            ];
            if let Some(s) = extra {
                l.push(("state", s.name().to_string()));
            }
            l
        };
        for state in TcpState::ALL {
            let v = g.in_state(state);
            if state != TcpState::Established && v > 0 {
                socks.push(labels(Some(state)), v as f64);
            }
        }
        if let Some(ms) = g.oldest_close_wait_ms {
            oldest.push(labels(None), ms as f64 / 1000.0);
        }
    }
    vec![socks, oldest]
}

fn time_wait(frame: &Frame, n: usize) -> Vec<MetricFamily> {
    let mut f = MetricFamily::new(
        "tcpscope_time_wait_sockets_by_destination",
        MetricType::Gauge,
        "Client-side TIME-WAIT sockets (local port ephemeral, not a listener's) per destination ip:port, top destinations, the rest as peer=\"other\"; each pins one ephemeral port for 60 s.",
    );
    let mut rest = 0u64;
    for (i, (peer, count)) in frame.time_wait_by_destination.iter().enumerate() {
        if i < n {
            f.push(vec![("peer", endpoint_label(peer))], *count as f64);
        } else {
            rest += count;
        }
    }
    if rest > 0 {
        f.push(vec![("peer", "other".to_string())], rest as f64);
    }
    let ports = MetricFamily::new(
        "tcpscope_ephemeral_ports",
        MetricType::Gauge,
        "Size of the ephemeral port range (net.ipv4.ip_local_port_range): the most connections from one local address to one destination.",
    )
    .with(Vec::new(), frame.ephemeral_ports as f64);
    vec![f, ports]
}

fn listeners(frame: &Frame, n: usize) -> Vec<MetricFamily> {
    // Listeners sharing an address (SO_REUSEPORT) are one row, queues summed.
    let mut by: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    for l in &frame.listeners {
        let ns = l
            .netns
            .as_ref()
            .map_or_else(|| "own".to_string(), |n| netns_label(&n.describe()));
        let e = by.entry((endpoint_label(&l.local), ns)).or_default();
        e.0 += u64::from(l.recv_q);
        e.1 += u64::from(l.send_q);
    }
    let fill = |(q, b): (u64, u64)| if b == 0 { 0.0 } else { q as f64 / b as f64 };
    let mut rows: Vec<((String, String), (u64, u64))> = by.into_iter().collect();
    rows.sort_by(|a, b| {
        fill(b.1)
            .total_cmp(&fill(a.1))
            .then(b.1 .0.cmp(&a.1 .0))
            .then(a.0.cmp(&b.0))
    });
    let mut queue = MetricFamily::new(
        "tcpscope_listen_queue",
        MetricType::Gauge,
        "Connections waiting in a listener's accept queue (Recv-Q of LISTEN), for the listeners whose queue is fullest.",
    );
    let mut backlog = MetricFamily::new(
        "tcpscope_listen_backlog",
        MetricType::Gauge,
        "A listener's accept queue limit (Send-Q of LISTEN: the listen() backlog, capped by net.core.somaxconn).",
    );
    for ((local, ns), (q, b)) in rows.into_iter().take(n) {
        let labels = vec![("local", local), ("netns", ns)];
        queue.push(labels.clone(), q as f64);
        backlog.push(labels, b as f64);
    }
    vec![queue, backlog]
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Critical => "critical",
    }
}

fn findings(frame: &Frame) -> Vec<MetricFamily> {
    let mut f = MetricFamily::new(
        "tcpscope_finding",
        MetricType::Gauge,
        "1 for each current doctor finding, by rule, severity and subject (what `tcpscope doctor` names).",
    );
    let mut seen = std::collections::HashSet::new();
    for finding in &frame.report.findings {
        if seen.len() >= MAX_FINDINGS {
            break;
        }
        let labels = vec![
            ("rule", finding.rule.to_string()),
            ("severity", severity_name(finding.severity).to_string()),
            ("subject", label_value(&finding.subject.name)),
        ];
        if seen.insert(labels.clone()) {
            f.push(labels, 1.0);
        }
    }
    let health = MetricFamily::new(
        "tcpscope_health",
        MetricType::Gauge,
        "doctor's verdict as its exit status: 0 healthy (or notes only), 1 warnings, 2 critical.",
    )
    .with(Vec::new(), f64::from(frame.report.exit_code()));
    vec![f, health]
}

fn kernel_counters(frame: &Frame) -> Vec<MetricFamily> {
    let k = &frame.header.kernel;
    KERNEL_COUNTERS
        .iter()
        .filter_map(|(section, name, metric, help)| {
            let table = if *section == "Tcp" {
                &k.tcp
            } else {
                &k.tcp_ext
            };
            let v = table.get(*name)?;
            Some(MetricFamily::new(metric, MetricType::Counter, help).with(Vec::new(), *v as f64))
        })
        .collect()
}

/// Every change the tracepoint can report on Linux (the state machine model's view of it),
/// zeros included so `rate()` works from the first scrape, and any other the kernel reported.
fn transitions(t: &TransitionTotals) -> Vec<MetricFamily> {
    let mut all: BTreeMap<(TcpState, TcpState), u64> = crate::analyze::fsm::tracepoint_edges()
        .into_iter()
        .map(|e| (e, 0))
        .collect();
    for (e, n) in &t.counts {
        *all.entry(*e).or_default() += n;
    }
    let mut f = MetricFamily::new(
        "tcpscope_transitions",
        MetricType::Counter,
        "TCP state changes since tcpscope serve started, as the kernel's sock:inet_sock_set_state tracepoint reports them, in every network namespace of the host (TIME-WAIT shows as fin-wait-2 or closing -> closed).",
    );
    for ((from, to), n) in all {
        f.push(
            vec![
                ("from", from.name().to_string()),
                ("to", to.name().to_string()),
            ],
            n as f64,
        );
    }
    vec![
        f,
        MetricFamily::new(
            "tcpscope_trace_lost_events",
            MetricType::Counter,
            "Tracepoint records the kernel dropped because serve's ring buffer was full: state changes missing from tcpscope_transitions_total.",
        )
        .with(Vec::new(), t.lost as f64),
    ]
}

fn exporter(status: &ScrapeStatus) -> Vec<MetricFamily> {
    let mut out = vec![
        MetricFamily::new(
            "tcpscope_scrape_duration_seconds",
            MetricType::Gauge,
            "How long this scrape took to build its metrics, waiting for a fresh poll included.",
        )
        .with(Vec::new(), status.scrape_seconds),
        MetricFamily::new(
            "tcpscope_scrape_errors",
            MetricType::Counter,
            "Polls of the kernel that failed since tcpscope serve started; their scrapes were answered with the last good values, marked by tcpscope_stale.",
        )
        .with(Vec::new(), status.errors_total as f64),
        MetricFamily::new(
            "tcpscope_polls",
            MetricType::Counter,
            "Polls of the kernel since tcpscope serve started (scrapes within the cache interval share one).",
        )
        .with(Vec::new(), status.polls_total as f64),
        MetricFamily::new(
            "tcpscope_stale",
            MetricType::Gauge,
            "1 when the last poll failed (or none succeeded yet) and the values shown come from an earlier poll.",
        )
        .with(
            Vec::new(),
            if status.stale || status.frame.is_none() {
                1.0
            } else {
                0.0
            },
        ),
    ];
    if let Some(frame) = status.frame {
        out.push(
            MetricFamily::new(
                "tcpscope_poll_duration_seconds",
                MetricType::Gauge,
                "How long the poll behind these values took (sockets read, owners found, doctor's rules run).",
            )
            .with(Vec::new(), frame.poll_ms as f64 / 1000.0),
        );
        out.push(
            MetricFamily::new(
                "tcpscope_poll_timestamp_seconds",
                MetricType::Gauge,
                "When the poll behind these values read the sockets, seconds since the Unix epoch.",
            )
            .with(Vec::new(), frame.header.taken_at_unix_ms as f64 / 1000.0),
        );
    }
    out.push(
        MetricFamily::new("tcpscope_build", MetricType::Info, "tcpscope's version.")
            .with(vec![("version", status.version.to_string())], 1.0),
    );
    out
}

/// The exposition format a scrape gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposition {
    /// `text/plain; version=0.0.4` (curl, most tools).
    PrometheusText,
    /// `application/openmetrics-text; version=1.0.0` (what Prometheus asks for first).
    OpenMetrics,
}

/// Choose by the request's `Accept` header: OpenMetrics when it is accepted at least as much as
/// the Prometheus text format, else the text format (also with no header, or `*/*`).
pub fn negotiate(accept: Option<&str>) -> Exposition {
    let Some(accept) = accept else {
        return Exposition::PrometheusText;
    };
    let (mut om, mut text) = (0.0f64, 0.0f64);
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let mut q = 1.0;
        for p in parts {
            if let Some(v) = p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")) {
                q = v.trim().parse::<f64>().unwrap_or(0.0).clamp(0.0, 1.0);
            }
        }
        match media.as_str() {
            "application/openmetrics-text" => om = om.max(q),
            "text/plain" | "text/*" | "*/*" => text = text.max(q),
            _ => {}
        }
    }
    if om > 0.0 && om >= text {
        Exposition::OpenMetrics
    } else {
        Exposition::PrometheusText
    }
}

#[cfg(test)]
mod tests;
