//! `tcpscope serve`'s live web page: the one HTML file (`page.html`, its script and style inside,
//! no build step, nothing fetched from elsewhere) with the state diagram tcpscope draws
//! ([`render_svg`]) placed in it, and the JSON document the page polls (`/api/frame`) — what a
//! [`Frame`] shows a person: counts per state for the diagram, doctor's verdict and findings with
//! their evidence and next steps, the processes with the most sockets not ESTABLISHED, the
//! fullest listeners and the busiest TIME-WAIT destinations.
//!
//! The page writes every value with `textContent`, never as HTML: process names, finding
//! subjects and addresses come from the host and can hold anything.

use crate::analyze::diagnose::{Finding, Severity};
use crate::analyze::frame::Frame;
use crate::analyze::groups::{GroupBy, GroupStats};
use crate::model::state::TcpState;
use crate::render::metrics::{endpoint_label, netns_label};
use crate::render::svg::render_svg;
use serde::Serialize;
use std::collections::BTreeMap;

/// The page's template; `<!--tcpscope:diagram-->` becomes the SVG.
const TEMPLATE: &str = include_str!("page.html");
const DIAGRAM_SLOT: &str = "<!--tcpscope:diagram-->";

/// Rows of each table the page shows.
pub const PAGE_ROWS: usize = 10;

/// The whole page: the template with the state diagram in place.
pub fn page_html() -> String {
    let svg = render_svg(None);
    let svg = svg
        .strip_prefix(r#"<?xml version="1.0" encoding="UTF-8"?>"#)
        .unwrap_or(&svg)
        .trim();
    TEMPLATE.replacen(DIAGRAM_SLOT, svg, 1)
}

/// What the page shows about one poll (or why there is nothing to show).
#[derive(Debug, Serialize)]
pub struct PageData<'a> {
    /// False until a poll succeeded.
    pub ready: bool,
    pub hostname: &'a str,
    pub taken_at_unix_ms: u64,
    pub seq: u64,
    pub poll_ms: u64,
    /// True when the last poll failed and what is shown comes from an earlier one.
    pub stale: bool,
    /// Why the last poll failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a str>,
    pub total: u64,
    /// Sockets per state (machine name), every state listed.
    pub states: BTreeMap<&'static str, u64>,
    /// State machine names by the names the diagram shows (`CLOSE-WAIT` -> `close-wait`).
    pub state_names: BTreeMap<&'static str, &'static str>,
    pub verdict: String,
    /// doctor's exit status: 0 healthy, 1 warnings, 2 critical.
    pub health: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    pub findings: &'a [Finding],
    pub processes: Vec<ProcessRow<'a>>,
    pub listeners: Vec<ListenerRow>,
    pub time_wait_destinations: Vec<DestinationRow>,
    pub ephemeral_ports: u64,
    pub changes: ChangeRow,
    pub notes: &'a [String],
}

/// A process with sockets.
#[derive(Debug, Serialize)]
pub struct ProcessRow<'a> {
    /// `nginx[1234]`, `kernel`, `unknown`, `other`.
    pub label: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Sockets not ESTABLISHED.
    pub not_established: u64,
    #[serde(flatten)]
    pub stats: &'a GroupStats,
}

#[derive(Debug, Serialize)]
pub struct ListenerRow {
    pub local: String,
    pub netns: String,
    pub queue: u32,
    pub backlog: u32,
    /// Owning command and pid, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct DestinationRow {
    pub peer: String,
    pub time_wait: u64,
}

#[derive(Debug, Serialize)]
pub struct ChangeRow {
    pub opened: u64,
    pub closed: u64,
    pub changed: u64,
    pub interval_ms: u64,
}

/// The page's document for the last good frame (if any) and how the last poll went.
pub fn page_data<'a>(frame: Option<&'a Frame>, error: Option<&'a str>) -> PageData<'a> {
    let state_names = TcpState::ALL
        .iter()
        .map(|s| (s.display_name(), s.name()))
        .collect();
    let Some(f) = frame else {
        return PageData {
            ready: false,
            hostname: "",
            taken_at_unix_ms: 0,
            seq: 0,
            poll_ms: 0,
            stale: true,
            error,
            total: 0,
            states: TcpState::ALL.iter().map(|s| (s.name(), 0)).collect(),
            state_names,
            verdict: "waiting for the first poll".to_string(),
            health: 0,
            severity: None,
            findings: &[],
            processes: Vec::new(),
            listeners: Vec::new(),
            time_wait_destinations: Vec::new(),
            ephemeral_ports: 0,
            changes: ChangeRow {
                opened: 0,
                closed: 0,
                changed: 0,
                interval_ms: 0,
            },
            notes: &[],
        };
    };
    let processes = f
        .groups(GroupBy::Process)
        .iter()
        .take(PAGE_ROWS)
        .map(|(k, g)| ProcessRow {
            label: &k.label,
            pid: k.pid,
            not_established: g.sockets - g.in_state(TcpState::Established),
            stats: g,
        })
        .collect();
    let mut listeners: Vec<ListenerRow> = f
        .listeners
        .iter()
        .map(|l| ListenerRow {
            local: endpoint_label(&l.local),
            netns: l
                .netns
                .as_ref()
                .map_or_else(|| "own".to_string(), |n| netns_label(&n.describe())),
            queue: l.recv_q,
            backlog: l.send_q,
            owner: l
                .owners
                .first()
                .map(|o| format!("{}[{}]", o.process.comm, o.pid)),
        })
        .collect();
    let fill = |l: &ListenerRow| {
        if l.backlog == 0 {
            0.0
        } else {
            f64::from(l.queue) / f64::from(l.backlog)
        }
    };
    listeners.sort_by(|a, b| {
        fill(b)
            .total_cmp(&fill(a))
            .then(b.queue.cmp(&a.queue))
            .then(a.local.cmp(&b.local))
    });
    listeners.truncate(PAGE_ROWS);
    PageData {
        ready: true,
        hostname: &f.header.host.hostname,
        taken_at_unix_ms: f.header.taken_at_unix_ms,
        seq: f.seq,
        poll_ms: f.poll_ms,
        stale: error.is_some(),
        error,
        total: f.counts.total(),
        states: TcpState::ALL
            .iter()
            .map(|s| (s.name(), f.counts.state_total(*s)))
            .collect(),
        state_names,
        verdict: f.report.verdict.clone(),
        health: f.report.exit_code(),
        severity: f.report.severity,
        findings: &f.report.findings,
        processes,
        listeners,
        time_wait_destinations: f
            .time_wait_by_destination
            .iter()
            .take(PAGE_ROWS)
            .map(|(p, n)| DestinationRow {
                peer: endpoint_label(p),
                time_wait: *n,
            })
            .collect(),
        ephemeral_ports: f.ephemeral_ports,
        changes: ChangeRow {
            opened: f.changes.opened,
            closed: f.changes.closed,
            changed: f.changes.changed,
            interval_ms: f.changes.interval_ms,
        },
        notes: &f.header.notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::diagnose::fixtures::*;
    use crate::analyze::frame::of_snapshot;

    #[test]
    fn the_page_holds_the_diagram_and_fetches_nothing_from_elsewhere() {
        let html = page_html();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(!html.contains(DIAGRAM_SLOT));
        assert!(!html.contains("<?xml"));
        for s in TcpState::ALL {
            assert!(
                html.contains(&format!(">{}</text>", s.display_name())),
                "{s}"
            );
        }
        // No script, style, image or font from another host; the only URL is the SVG namespace.
        let lower = html.to_lowercase();
        for bad in [
            "src=\"http",
            "href=\"http",
            "@import",
            "url(http",
            "<link",
            "cdn",
        ] {
            assert!(!lower.contains(bad), "{bad}");
        }
        let urls = lower.matches("http://").count() + lower.matches("https://").count();
        assert_eq!(
            urls,
            lower.matches("http://www.w3.org/2000/svg").count(),
            "only the SVG namespace"
        );
        // Values go in as text, never as markup.
        assert!(
            !html.contains("innerHTML"),
            "the page must not build HTML from data"
        );
    }

    #[test]
    fn data_for_a_frame_and_for_none() {
        let mut cw = sock(TcpState::CloseWait, "127.0.0.1:80", "127.0.0.1:40000");
        owned(&mut cw, 42, "srv<b>");
        idle(&mut cw, 120_000);
        let mut l = sock(TcpState::Listen, "0.0.0.0:80", "0.0.0.0:0");
        l.send_q = 10;
        l.recv_q = 9;
        owned(&mut l, 42, "srv<b>");
        let frame = of_snapshot(3, &snapshot(vec![cw, l]));
        let doc = serde_json::to_value(page_data(Some(&frame), None)).unwrap();
        assert_eq!(doc["ready"], true);
        assert_eq!(doc["states"]["close-wait"], 1);
        assert_eq!(doc["states"]["time-wait"], 0);
        assert_eq!(doc["state_names"]["CLOSE-WAIT"], "close-wait");
        assert_eq!(doc["processes"][0]["label"], "srv<b>[42]");
        assert_eq!(doc["processes"][0]["states"]["close-wait"], 1);
        assert_eq!(doc["processes"][0]["oldest_close_wait_ms"], 120_000);
        assert_eq!(doc["listeners"][0]["local"], "0.0.0.0:80");
        assert_eq!(doc["listeners"][0]["owner"], "srv<b>[42]");
        let rules: Vec<&str> = doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap())
            .collect();
        assert!(rules.contains(&"listen-overflow"), "{rules:?}");
        assert!(doc["findings"][0]["next_steps"].as_array().is_some());
        assert_eq!(doc["health"], u64::from(frame.report.exit_code()));

        let none = serde_json::to_value(page_data(None, Some("no sock_diag"))).unwrap();
        assert_eq!(none["ready"], false);
        assert_eq!(none["stale"], true);
        assert_eq!(none["error"], "no sock_diag");
        assert_eq!(none["states"]["established"], 0);
    }
}
