//! `tcpscope trace` output: one line per state change (or per finished connection with
//! `--lifetimes`) as a table for people or as JSON lines, and the summary line that ends every
//! trace.
//!
//! The JSON objects written here are the `--jsonl` contract of docs/json.md, field for field and
//! in that order: a transition, a lifetime, a summary. The recording format (`--record`) is the
//! serde form of the model types instead, which carries more.

use super::time::{clock_us, rfc3339_ns};
use crate::model::socket::{Endpoint, Family, Netns};
use crate::model::state::TcpState;
use crate::model::transition::{Lifetime, ModelCheck, OwnerFrom, TraceTotals, Transition};
use serde::Serialize;
use std::io::{self, Write};

/// How a namespace is named in output: its name under /var/run/netns, else its inode.
pub fn netns_text(n: &Netns) -> String {
    match &n.name {
        Some(name) => name.clone(),
        None => n.inode.to_string(),
    }
}

/// Milliseconds for a column: `12ms` under ten seconds, then `52s`, `7m12s`, ...
fn ms_text(ms: Option<u64>) -> String {
    match ms {
        None => "?".to_string(),
        Some(0) => "<1ms".to_string(),
        Some(ms) if ms < 10_000 => format!("{ms}ms"),
        Some(ms) => crate::analyze::duration::human_ms(ms),
    }
}

/// What the table shows after the columns: anything unusual about the change.
#[derive(Debug, Clone, Default)]
pub struct TextOptions {
    /// tcpscope's own network namespace: changes elsewhere name theirs.
    pub own_netns: Option<u64>,
}

pub fn write_header(w: &mut impl Write) -> io::Result<()> {
    writeln!(
        w,
        "{:<15} {:>7} {:<15} {:<22} {:<22} {:<27} {:>7} OWNER-FROM",
        "TIME(UTC)", "PID", "COMM", "LOCAL", "PEER", "OLD -> NEW", "IN-OLD"
    )
}

fn notes(model: ModelCheck, netns: Option<&Netns>, opts: &TextOptions) -> String {
    let mut s = String::new();
    match model {
        ModelCheck::Ok => {}
        ModelCheck::Violation => s.push_str("  MODEL VIOLATION: the model does not allow this"),
        ModelCheck::Unknown => s.push_str("  model: unknown (records were lost before)"),
        ModelCheck::Gap => s.push_str("  model: gap (a record of this socket was not delivered)"),
    }
    if let Some(n) = netns {
        if Some(n.inode) != opts.own_netns {
            s.push_str(&format!("  netns {}", netns_text(n)));
        }
    }
    s
}

/// One change as a table row.
pub fn write_text(w: &mut impl Write, t: &Transition, opts: &TextOptions) -> io::Result<()> {
    let (pid, comm) = match &t.owner {
        Some(o) => (o.pid.to_string(), o.comm.as_deref().unwrap_or("?")),
        None => ("-".to_string(), "-"),
    };
    let change = format!("{} -> {}", t.old.display_name(), t.new.display_name());
    writeln!(
        w,
        "{:<15} {:>7} {:<15} {:<22} {:<22} {:<27} {:>7} {}{}",
        clock_us(t.time_unix_ns),
        pid,
        truncate(comm, 15),
        t.local.to_string(),
        t.peer.to_string(),
        change,
        ms_text(t.in_old_ms),
        t.owner_from.name(),
        notes(t.model, t.netns.as_ref(), opts)
    )
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[derive(Serialize)]
struct EndpointJson {
    addr: String,
    port: u16,
}

impl From<&Endpoint> for EndpointJson {
    fn from(e: &Endpoint) -> Self {
        EndpointJson {
            addr: e.addr.to_string(),
            port: e.port,
        }
    }
}

#[derive(Serialize)]
struct TransitionJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    time: String,
    family: Family,
    local: EndpointJson,
    peer: EndpointJson,
    old: TcpState,
    new: TcpState,
    in_old_ms: Option<u64>,
    pid: Option<u32>,
    comm: Option<&'a str>,
    owner_from: OwnerFrom,
    netns: Option<String>,
    cookie: Option<u64>,
    model: ModelCheck,
}

/// One change as a JSON line (the `--jsonl` contract).
pub fn write_jsonl(w: &mut impl Write, t: &Transition) -> io::Result<()> {
    let j = TransitionJson {
        kind: "transition",
        time: rfc3339_ns(t.time_unix_ns),
        family: t.family,
        local: (&t.local).into(),
        peer: (&t.peer).into(),
        old: t.old,
        new: t.new,
        in_old_ms: t.in_old_ms,
        pid: t.owner.as_ref().map(|o| o.pid),
        comm: t.owner.as_ref().and_then(|o| o.comm.as_deref()),
        owner_from: t.owner_from,
        netns: t.netns.as_ref().map(netns_text),
        cookie: t.cookie,
        model: t.model,
    };
    serde_json::to_writer(&mut *w, &j)?;
    w.write_all(b"\n")
}

#[derive(Serialize)]
struct LifetimeJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    start: Option<String>,
    end: String,
    duration_ms: Option<u64>,
    family: Family,
    local: EndpointJson,
    peer: EndpointJson,
    pid: Option<u32>,
    comm: Option<&'a str>,
    owner_from: OwnerFrom,
    netns: Option<String>,
    cookie: Option<u64>,
    bytes_sent: Option<u64>,
    bytes_received: Option<u64>,
    states: &'a [TcpState],
    incomplete: bool,
}

/// One finished connection as a JSON line.
pub fn write_lifetime_jsonl(w: &mut impl Write, l: &Lifetime) -> io::Result<()> {
    let j = LifetimeJson {
        kind: "lifetime",
        start: l.start_unix_ns.map(rfc3339_ns),
        end: rfc3339_ns(l.end_unix_ns),
        duration_ms: l.duration_ms,
        family: l.family,
        local: (&l.local).into(),
        peer: (&l.peer).into(),
        pid: l.owner.as_ref().map(|o| o.pid),
        comm: l.owner.as_ref().and_then(|o| o.comm.as_deref()),
        owner_from: l.owner_from,
        netns: l.netns.as_ref().map(netns_text),
        cookie: l.cookie,
        bytes_sent: l.bytes_sent,
        bytes_received: l.bytes_received,
        states: &l.states,
        incomplete: l.incomplete,
    };
    serde_json::to_writer(&mut *w, &j)?;
    w.write_all(b"\n")
}

pub fn write_lifetime_header(w: &mut impl Write) -> io::Result<()> {
    writeln!(
        w,
        "{:<15} {:>7} {:>7} {:<15} {:<22} {:<22} {:>9} {:>9} STATES",
        "END(UTC)", "LIFE", "PID", "COMM", "LOCAL", "PEER", "SENT", "RECEIVED"
    )
}

fn bytes_text(b: Option<u64>) -> String {
    b.map_or_else(|| "?".to_string(), |b| b.to_string())
}

/// One finished connection as a table row. `?` marks what is not known: a life that began
/// before the trace, bytes no poll saw.
pub fn write_lifetime_text(w: &mut impl Write, l: &Lifetime, opts: &TextOptions) -> io::Result<()> {
    let (pid, comm) = match &l.owner {
        Some(o) => (o.pid.to_string(), o.comm.as_deref().unwrap_or("?")),
        None => ("-".to_string(), "-"),
    };
    let life = match l.duration_ms {
        Some(ms) => ms_text(Some(ms)),
        None => "?".to_string(),
    };
    let states: Vec<&str> = l.states.iter().map(|s| s.display_name()).collect();
    let mut tail = String::new();
    if l.incomplete {
        tail.push_str("  (records lost: states may be missing)");
    }
    tail.push_str(&notes(ModelCheck::Ok, l.netns.as_ref(), opts));
    writeln!(
        w,
        "{:<15} {:>7} {:>7} {:<15} {:<22} {:<22} {:>9} {:>9} {}{}",
        clock_us(l.end_unix_ns),
        life,
        pid,
        truncate(comm, 15),
        l.local.to_string(),
        l.peer.to_string(),
        bytes_text(l.bytes_sent),
        bytes_text(l.bytes_received),
        states.join(" > "),
        tail
    )
}

#[derive(Serialize)]
struct SummaryJson {
    #[serde(rename = "type")]
    kind: &'static str,
    events: u64,
    lost: u64,
    gaps: u64,
    violations: u64,
    seconds: f64,
}

/// The last line of every trace, as JSON.
pub fn write_summary_jsonl(w: &mut impl Write, t: &TraceTotals, seconds: f64) -> io::Result<()> {
    let j = SummaryJson {
        kind: "summary",
        events: t.events,
        lost: t.lost,
        gaps: t.gaps,
        violations: t.violations,
        seconds: (seconds * 1000.0).round() / 1000.0,
    };
    serde_json::to_writer(&mut *w, &j)?;
    w.write_all(b"\n")
}

/// The last line of every trace, for people; `connections` with `--lifetimes`.
pub fn write_summary_text(
    w: &mut impl Write,
    t: &TraceTotals,
    connections: Option<u64>,
    seconds: f64,
) -> io::Result<()> {
    let s = |n: u64| if n == 1 { "" } else { "s" };
    let what = match connections {
        Some(c) => format!(
            "{c} connection{} from {} transition{}",
            s(c),
            t.events,
            s(t.events)
        ),
        None => format!("{} transition{}", t.events, s(t.events)),
    };
    writeln!(
        w,
        "tcpscope trace: {what} in {seconds:.1}s, {} lost, {}{} model violation{}",
        t.lost,
        if t.gaps > 0 {
            format!("{} after an undelivered record, ", t.gaps)
        } else {
            String::new()
        },
        t.violations,
        s(t.violations),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::transition::TraceOwner;

    fn ep(a: &str, p: u16) -> Endpoint {
        Endpoint::new(a.parse().unwrap(), p)
    }

    fn sample() -> Transition {
        Transition {
            time_unix_ns: 1_795_235_544_123_456_789,
            family: Family::Inet,
            local: ep("127.0.0.1", 46879),
            peer: ep("127.64.0.1", 41368),
            old: TcpState::Established,
            new: TcpState::CloseWait,
            in_old_ms: Some(1234),
            owner: Some(TraceOwner {
                pid: 13598,
                comm: Some("server".into()),
            }),
            owner_from: OwnerFrom::Cache,
            netns: Some(Netns {
                inode: 4026531840,
                name: None,
                pid: None,
                container: None,
                path: None,
            }),
            cookie: Some(77),
            model: ModelCheck::Ok,
            skaddr: 0xffff,
            cpu: 1,
            sample_pid: 13500,
            flags: 0x10,
        }
    }

    #[test]
    fn jsonl_is_the_contract_field_for_field() {
        let mut out = Vec::new();
        write_jsonl(&mut out, &sample()).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "{\"type\":\"transition\",\"time\":\"2026-11-21T04:32:24.123456789Z\",\"family\":\"inet\",\
             \"local\":{\"addr\":\"127.0.0.1\",\"port\":46879},\"peer\":{\"addr\":\"127.64.0.1\",\"port\":41368},\
             \"old\":\"established\",\"new\":\"close-wait\",\"in_old_ms\":1234,\"pid\":13598,\"comm\":\"server\",\
             \"owner_from\":\"cache\",\"netns\":\"4026531840\",\"cookie\":77,\"model\":\"ok\"}\n"
        );
        let mut unknown = sample();
        unknown.owner = None;
        unknown.owner_from = OwnerFrom::None;
        unknown.in_old_ms = None;
        unknown.netns = None;
        unknown.cookie = None;
        unknown.model = ModelCheck::Unknown;
        let mut out = Vec::new();
        write_jsonl(&mut out, &unknown).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        for k in ["in_old_ms", "pid", "comm", "netns", "cookie"] {
            assert!(v[k].is_null(), "{k}");
        }
        assert_eq!(v["owner_from"], "none");
        assert_eq!(v["model"], "unknown");
    }

    #[test]
    fn summary_line() {
        let mut out = Vec::new();
        let t = TraceTotals {
            events: 10,
            lost: 0,
            violations: 1,
            gaps: 0,
        };
        write_summary_jsonl(&mut out, &t, 2.00049).unwrap();
        write_summary_text(&mut out, &t, None, 2.0).unwrap();
        write_summary_text(&mut out, &t, Some(1), 2.0).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"type\":\"summary\",\"events\":10,\"lost\":0,\"gaps\":0,\"violations\":1,\"seconds\":2.0}\n\
             tcpscope trace: 10 transitions in 2.0s, 0 lost, 1 model violation\n\
             tcpscope trace: 1 connection from 10 transitions in 2.0s, 0 lost, 1 model violation\n"
        );
        let mut out = Vec::new();
        let gaps = TraceTotals { gaps: 2, ..t };
        write_summary_text(&mut out, &gaps, None, 2.0).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "tcpscope trace: 10 transitions in 2.0s, 0 lost, 2 after an undelivered record, 1 model violation\n"
        );
    }

    #[test]
    fn text_rows() {
        let mut out = Vec::new();
        write_header(&mut out).unwrap();
        write_text(&mut out, &sample(), &TextOptions::default()).unwrap();
        let mut v = sample();
        v.model = ModelCheck::Violation;
        v.owner = None;
        v.owner_from = OwnerFrom::None;
        v.in_old_ms = None;
        write_text(
            &mut out,
            &v,
            &TextOptions {
                own_netns: Some(4026531840),
            },
        )
        .unwrap();
        insta::assert_snapshot!(String::from_utf8(out).unwrap());
    }

    #[test]
    fn lifetime_rows() {
        let l = Lifetime {
            start_unix_ns: Some(1_795_235_544_000_000_000),
            end_unix_ns: 1_795_235_545_500_000_000,
            duration_ms: Some(1500),
            family: Family::Inet,
            local: ep("127.64.0.1", 41368),
            peer: ep("127.0.0.1", 46879),
            owner: Some(TraceOwner {
                pid: 7,
                comm: Some("curl".into()),
            }),
            owner_from: OwnerFrom::Context,
            netns: None,
            cookie: Some(9),
            bytes_sent: None,
            bytes_received: Some(4096),
            states: vec![
                TcpState::Close,
                TcpState::SynSent,
                TcpState::Established,
                TcpState::FinWait1,
                TcpState::FinWait2,
                TcpState::Close,
            ],
            incomplete: false,
        };
        let mut out = Vec::new();
        write_lifetime_header(&mut out).unwrap();
        write_lifetime_text(&mut out, &l, &TextOptions::default()).unwrap();
        write_lifetime_jsonl(&mut out, &l).unwrap();
        insta::assert_snapshot!(String::from_utf8(out).unwrap());
    }
}
