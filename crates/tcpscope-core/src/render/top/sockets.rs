//! The drill-down: one group's sockets with the columns of `tcpscope ls -p -e` (as many as fit),
//! and one socket in full — the state explained with the very text of `tcpscope explain`, its
//! tcp_info, the process that holds it (command line, container, unit) or why none does, and
//! what the cookie tracker saw of it (first seen, how long in this state, earlier states).

use super::table::state_tone;
use super::text::{fit, fit_right, thousands, wrap_indented, Line, LineKind, Tone};
use crate::analyze::duration::human_ms;
use crate::analyze::frame::SocketDetail;
use crate::analyze::groups::{GroupBy, GroupKey};
use crate::decode::cgroup::short_label;
use crate::model::missing::Datum;
use crate::model::socket::{Socket, TcpInfo};
use crate::render::explain::write_state;
use crate::render::table::{extended_text, owners_text, timer_text};

/// What the drill-down shows.
pub struct DrillView<'a> {
    pub by: GroupBy,
    pub key: &'a GroupKey,
    /// Sockets the frame counted in the group.
    pub expected: u64,
    pub sockets: &'a [SocketDetail],
    /// Waiting for the first listing.
    pub loading: bool,
    pub error: Option<&'a str>,
    pub selected: usize,
}

#[derive(Clone, Copy)]
enum Col {
    State,
    RecvQ,
    SendQ,
    Local,
    Peer,
    Timer,
    Process,
    Details,
}

fn layout(width: usize) -> Vec<(Col, usize)> {
    use Col::*;
    let fixed: &[(Col, usize)] = if width >= 150 {
        &[
            (State, 12),
            (RecvQ, 7),
            (SendQ, 8),
            (Local, 23),
            (Peer, 23),
            (Timer, 22),
            (Process, 30),
        ]
    } else if width >= 110 {
        &[
            (State, 12),
            (RecvQ, 7),
            (SendQ, 8),
            (Local, 23),
            (Peer, 23),
            (Timer, 22),
        ]
    } else if width >= 80 {
        &[(State, 12), (RecvQ, 7), (Local, 23), (Peer, 23)]
    } else {
        &[(State, 12), (Peer, 23)]
    };
    let used: usize = fixed.iter().map(|(_, w)| w).sum();
    let mut v = fixed.to_vec();
    let last = if width >= 150 { Details } else { Process };
    v.push((last, width.saturating_sub(used).max(8)));
    v
}

fn title(c: Col) -> &'static str {
    match c {
        Col::State => "State",
        Col::RecvQ => "Recv-Q",
        Col::SendQ => "Send-Q",
        Col::Local => "Local Address:Port",
        Col::Peer => "Peer Address:Port",
        Col::Timer => "Timer",
        Col::Process => "Process",
        Col::Details => "Details",
    }
}

fn cell(c: Col, s: &Socket, w: usize) -> (String, Tone) {
    match c {
        Col::State => (
            fit(&format!(" {}", s.state.display_name()), w),
            state_tone(s.state),
        ),
        Col::RecvQ => (
            fit_right(&format!("{} ", known(s, Datum::RecvQ, s.recv_q)), w),
            Tone::Plain,
        ),
        Col::SendQ => (
            fit_right(&format!("{}  ", known(s, Datum::SendQ, s.send_q)), w),
            Tone::Plain,
        ),
        Col::Local => (fit(&s.local.to_string(), w), Tone::Plain),
        Col::Peer => (fit(&s.peer.to_string(), w), Tone::Plain),
        Col::Timer => match timer_text(s) {
            t if t.is_empty() => (fit("-", w), Tone::Dim),
            t => (fit(&t, w), Tone::Plain),
        },
        Col::Process => {
            let t = owners_text(s);
            let tone = if s.owners.is_empty() {
                Tone::Dim
            } else {
                Tone::Plain
            };
            (fit(&t, w), tone)
        }
        Col::Details => (fit(&extended_text(s), w), Tone::Dim),
    }
}

/// The drill-down table: title, column header, the rows that fit (`offset` follows the
/// selection).
pub fn socket_table(v: &DrillView, offset: &mut usize, width: usize, height: usize) -> Vec<Line> {
    let n = v.sockets.len();
    let mut head = format!(" {} {}: ", v.by.name(), v.key.label);
    if v.loading {
        head.push_str("listing its sockets…");
    } else if (n as u64) < v.expected && n >= super::app::DRILL_LIMIT {
        head.push_str(&format!(
            "the first {n} of {} sockets",
            thousands(v.expected)
        ));
    } else {
        head.push_str(&format!("{n} socket(s) now"));
    }
    let mut t = Line::of(head, Tone::Bold);
    t.push("  (⏎ detail · Esc back)", Tone::Dim);
    let mut lines = vec![t.truncate(width)];
    let cols = layout(width);
    let mut h = Line::new().kind(LineKind::ColumnHeader);
    for (c, w) in &cols {
        let text = match c {
            Col::RecvQ | Col::SendQ => fit_right(&format!("{} ", title(*c)), *w),
            Col::State => fit(&format!(" {}", title(*c)), *w),
            _ => fit(title(*c), *w),
        };
        h.push(text, Tone::Bold);
    }
    lines.push(h.truncate(width));
    if let Some(e) = v.error {
        lines.push(Line::of(
            fit(&format!(" could not list them: {e}"), width),
            Tone::Bad,
        ));
    }
    if !v.loading && n == 0 && v.error.is_none() {
        lines.push(Line::of(
            fit(
                " none now: the group's sockets closed since the last refresh",
                width,
            ),
            Tone::Dim,
        ));
    }
    let room = height.saturating_sub(lines.len());
    if v.selected < *offset {
        *offset = v.selected;
    } else if room > 0 && v.selected >= *offset + room {
        *offset = v.selected + 1 - room;
    }
    for (i, d) in v.sockets.iter().enumerate().skip(*offset).take(room) {
        let mut l = Line::new();
        if i == v.selected {
            l.kind = LineKind::Selected;
        }
        for (c, w) in &cols {
            let (text, tone) = cell(*c, &d.socket, *w);
            l.push(text, tone);
        }
        lines.push(l.truncate(width));
    }
    lines
}

/// Everything about one socket, as lines of `width` (scrolled by the caller). `now_ms` is the
/// time of the frame shown, `interval_ms` the polling interval (how exact the tracker's ages are);
/// with `replay` the frame is a step of a replayed trace, whose tracks give the history.
pub fn detail_lines(
    d: &SocketDetail,
    now_ms: u64,
    interval_ms: u64,
    replay: bool,
    width: usize,
) -> Vec<Line> {
    let s = &d.socket;
    let mut out: Vec<Line> = Vec::new();
    let mut first = Line::new();
    first
        .push(format!(" {}", s.state.display_name()), state_tone(s.state))
        .push(format!("  {} → {}", s.local, s.peer), Tone::Bold);
    out.push(first.truncate(width));
    let timer = match timer_text(s) {
        _ if s.lacks(Datum::Timer) => "-".to_string(),
        t if t.is_empty() => "none".to_string(),
        t => t,
    };
    put(
        &mut out,
        width,
        format!(
            "   Recv-Q {} · Send-Q {} · timer {timer} · uid {} · inode {} · cookie {}",
            known(s, Datum::RecvQ, s.recv_q),
            known(s, Datum::SendQ, s.send_q),
            known(s, Datum::Uid, s.uid),
            known(s, Datum::Inode, s.inode),
            known(s, Datum::Cookie, format!("{:#x}", s.cookie)),
        ),
        Tone::Plain,
    );
    if let Some(orig) = &s.original_state {
        put(
            &mut out,
            width,
            format!("   as the capture spelled its state: {orig}"),
            Tone::Dim,
        );
    }
    if let Some(n) = &s.netns {
        put(
            &mut out,
            width,
            format!("   network namespace {}", n.describe()),
            Tone::Plain,
        );
    }
    if let Some(sh) = s.shutdown.filter(|b| *b != 0) {
        let what = match sh & 3 {
            1 => "receiving is over (the peer's FIN arrived, or shutdown(SHUT_RD))",
            2 => "sending is over (close() or shutdown(SHUT_WR))",
            _ => "both directions are shut down",
        };
        put(&mut out, width, format!("   shutdown: {what}"), Tone::Plain);
    }

    out.push(Line::new());
    out.push(Line::of(" Owner", Tone::Bold));
    if s.owners.is_empty() {
        let why = s
            .kernel_owned_reason()
            .unwrap_or(if s.lacks(Datum::Owners) {
                "not in this source: it does not say which process holds the socket"
            } else {
                "not attributed: no visible process holds it (another user's, or hidden)"
            });
        let text = if s.is_kernel_owned() {
            format!("   kernel-owned: {why}")
        } else {
            format!("   {why}")
        };
        put(&mut out, width, text, Tone::Dim);
    }
    for o in &s.owners {
        let p = &o.process;
        let user = if p.user.is_empty() {
            String::new()
        } else {
            format!(", user {}", p.user)
        };
        // A source without descriptor numbers (a capture, a trace) has no fd to show.
        let fd = if s.lacks(Datum::Fd) {
            String::new()
        } else {
            format!(", fd {}", o.fd)
        };
        put(
            &mut out,
            width,
            format!("   pid {} ({}){fd}{user}", o.pid, p.comm),
            Tone::Plain,
        );
        if !p.cmdline.is_empty() {
            put(
                &mut out,
                width,
                format!("     command line: {}", p.cmdline),
                Tone::Plain,
            );
        }
        match &p.container {
            Some(c) => {
                let pod = c
                    .pod_uid
                    .as_ref()
                    .map(|u| format!(" (pod {u})"))
                    .unwrap_or_default();
                put(
                    &mut out,
                    width,
                    format!("     container: {}{pod}", short_label(c)),
                    Tone::Plain,
                );
            }
            None => put(
                &mut out,
                width,
                "     container: none (on the host)".to_string(),
                Tone::Dim,
            ),
        }
        if let Some(u) = &p.unit {
            put(
                &mut out,
                width,
                format!("     systemd unit: {u}"),
                Tone::Plain,
            );
        }
    }

    out.push(Line::new());
    out.push(Line::of(
        if replay {
            " Age and history (the trace's changes up to the replay's time)".to_string()
        } else {
            format!(
                " Age and history (the cookie tracker, polling every {})",
                super::app::interval_text(interval_ms)
            )
        },
        Tone::Bold,
    ));
    match &d.track {
        Some(t) => {
            let ago = |ms: u64| human_ms(now_ms.saturating_sub(ms));
            put(
                &mut out,
                width,
                format!("   first seen {} ago", ago(t.first_seen_ms)),
                Tone::Plain,
            );
            let bound = match t.state_after_ms {
                Some(b) => format!(", at most {}", ago(b)),
                None => " (it was there at the first poll)".to_string(),
            };
            let since = match t.state_traced_ms {
                Some(at) => format!(
                    "   entered {} {} ago (traced: exact)",
                    t.state.display_name(),
                    ago(at)
                ),
                None => format!(
                    "   in {} for at least {}{bound}",
                    t.state.display_name(),
                    ago(t.state_seen_ms)
                ),
            };
            put(&mut out, width, since, Tone::Plain);
            if t.past.is_empty() {
                put(
                    &mut out,
                    width,
                    "   no earlier state seen".to_string(),
                    Tone::Dim,
                );
            } else {
                let path: Vec<String> = t
                    .past
                    .iter()
                    .map(|(st, at)| format!("{} (seen {} ago)", st.display_name(), ago(*at)))
                    .chain(std::iter::once(t.state.display_name().to_string()))
                    .collect();
                put(
                    &mut out,
                    width,
                    format!("   states seen: {}", path.join(" → ")),
                    Tone::Plain,
                );
            }
        }
        None if s.cookie == 0 => put(
            &mut out,
            width,
            "   this source gives no socket cookies (a capture, or /proc/net/tcp), so polls cannot follow it"
                .to_string(),
            Tone::Dim,
        ),
        None => put(
            &mut out,
            width,
            "   not seen by a poll yet (it appeared since the last one)".to_string(),
            Tone::Dim,
        ),
    }

    out.push(Line::new());
    out.push(Line::of(" tcp_info", Tone::Bold));
    match &s.tcp_info {
        Some(i) => {
            for l in tcp_info_lines(i) {
                put(&mut out, width, format!("   {l}"), Tone::Plain);
            }
        }
        None if s.lacks(Datum::TcpInfo) => put(
            &mut out,
            width,
            "   not in this source (a trace recording, a capture or /proc/net/tcp has none)"
                .to_string(),
            Tone::Dim,
        ),
        None => put(
            &mut out,
            width,
            "   none (TIME-WAIT and request sockets have none; /proc/net/tcp gives none)"
                .to_string(),
            Tone::Dim,
        ),
    }

    out.push(Line::new());
    out.push(Line::of(
        format!(
            " What {} means (the text of `tcpscope explain {}`)",
            s.state.display_name(),
            s.state.name()
        ),
        Tone::Bold,
    ));
    let mut text = Vec::new();
    if write_state(&mut text, s.state).is_ok() {
        for line in String::from_utf8_lossy(&text).lines() {
            for l in rewrap_explain(&format!(" {line}"), width) {
                out.push(Line::of(l, Tone::Plain));
            }
        }
    }
    out
}

/// A line of `explain` (written for 100 columns) wrapped to `width`, its label column kept:
/// explain's fields are a 13-character label and the text beside it.
fn rewrap_explain(line: &str, width: usize) -> Vec<String> {
    if line.chars().count() <= width {
        return vec![line.to_string()];
    }
    const LABEL: usize = 15; // " " + 13 + " "
    let labelled = line.chars().nth(LABEL - 1) == Some(' ') && !line[1..].starts_with(' ');
    if !labelled || width < LABEL + 20 {
        return wrap_indented(line, width, 4);
    }
    let (label, text): (String, String) = (
        line.chars().take(LABEL).collect(),
        line.chars().skip(LABEL).collect(),
    );
    wrap_indented(&text, width - LABEL, 0)
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            let head = if i == 0 {
                label.clone()
            } else {
                " ".repeat(LABEL)
            };
            format!("{head}{t}")
        })
        .collect()
}

/// Add `text` wrapped to `width`, continuation lines indented two more.
fn put(out: &mut Vec<Line>, width: usize, text: String, tone: Tone) {
    for l in wrap_indented(&text, width, 2) {
        out.push(Line::of(l, tone));
    }
}

/// tcp_info in a few lines: timing, ages, loss, bytes, windows (fields the kernel gave only).
fn tcp_info_lines(i: &TcpInfo) -> Vec<String> {
    let ms = |us: Option<u32>| {
        us.map(|v| match v {
            0..=9_999 => format!("{:.3} ms", f64::from(v) / 1000.0),
            _ => format!("{} ms", v / 1000),
        })
    };
    let age = |v: Option<u32>| v.map(|m| format!("{} ago", human_ms(u64::from(m))));
    let mut lines = Vec::new();
    let join = |parts: Vec<Option<String>>| -> Option<String> {
        let v: Vec<String> = parts.into_iter().flatten().collect();
        (!v.is_empty()).then(|| v.join(" · "))
    };
    lines.extend(join(vec![
        ms(i.rtt_us).map(|r| format!("rtt {r}")),
        ms(i.rttvar_us).map(|r| format!("rttvar {r}")),
        ms(i.min_rtt_us).map(|r| format!("min rtt {r}")),
        ms(i.rto_us).map(|r| format!("rto {r}")),
        i.snd_cwnd.map(|c| format!("cwnd {c}")),
        i.snd_mss.map(|m| format!("mss {m}")),
        i.pmtu.map(|m| format!("pmtu {m}")),
    ]));
    lines.extend(join(vec![
        age(i.last_data_sent_ms).map(|a| format!("last data sent {a}")),
        age(i.last_data_recv_ms).map(|a| format!("last data received {a}")),
        age(i.last_ack_recv_ms).map(|a| format!("last ACK received {a}")),
    ]));
    lines.extend(join(vec![
        i.unacked.map(|v| format!("unacked {v}")),
        i.lost.map(|v| format!("lost {v}")),
        i.retrans.map(|v| format!("in retransmission {v}")),
        i.total_retrans.map(|v| format!("retransmitted in all {v}")),
        i.retransmits.map(|v| format!("timeouts in a row {v}")),
        i.probes.map(|v| format!("probes {v}")),
        i.backoff.map(|v| format!("backoff {v}")),
    ]));
    lines.extend(join(vec![
        i.bytes_sent.map(|v| format!("bytes sent {}", thousands(v))),
        i.bytes_acked.map(|v| format!("acked {}", thousands(v))),
        i.bytes_received
            .map(|v| format!("received {}", thousands(v))),
        i.bytes_retrans
            .map(|v| format!("retransmitted {}", thousands(v))),
        i.notsent_bytes
            .map(|v| format!("not yet sent {}", thousands(u64::from(v)))),
    ]));
    lines.extend(join(vec![
        i.snd_wnd
            .map(|v| format!("peer's window {}", thousands(u64::from(v)))),
        i.rcv_wnd
            .map(|v| format!("our window {}", thousands(u64::from(v)))),
    ]));
    if lines.is_empty() {
        lines.push("(empty)".to_string());
    }
    lines
}

/// `v` as text, or `-` when the socket's source does not tell it (a zero there means nothing).
fn known(s: &Socket, d: Datum, v: impl std::fmt::Display) -> String {
    if s.lacks(d) {
        "-".to_string()
    } else {
        v.to_string()
    }
}
