//! `top`'s main table: the frame's groups (by process, container, local port, peer host or
//! namespace) with, per group, the sockets in each state, the oldest CLOSE-WAIT's idle time, the
//! queue sums and the change since the last refresh — sorted by any column, and as many columns
//! as the width allows, the most telling first (a terminal narrower than 80 columns keeps the
//! group, its total, CLOSE-WAIT and the change).

use super::history::History;
use super::text::{fit, fit_right, signed, Line, LineKind, Tone};
use crate::analyze::duration::human_ms;
use crate::analyze::filter::Filter;
use crate::analyze::frame::Frame;
use crate::analyze::groups::{GroupBy, GroupKey, GroupStats};
use crate::model::missing::Datum;
use crate::model::state::TcpState;
use crate::render::diagram::short_count;

/// What the table is sorted by: one of its columns, or the frame's own order ("attention":
/// sockets not ESTABLISHED first, then all sockets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortKey {
    Attention,
    Group,
    Total,
    State(TcpState),
    /// The oldest CLOSE-WAIT's idle time.
    CloseWaitIdle,
    RecvQ,
    SendQ,
    /// Change of the group's size since the last refresh.
    Change,
}

/// The order state columns appear in: the life of a connection.
pub const STATE_COLUMNS: [TcpState; 13] = [
    TcpState::Listen,
    TcpState::SynSent,
    TcpState::SynRecv,
    TcpState::NewSynRecv,
    TcpState::Established,
    TcpState::FinWait1,
    TcpState::FinWait2,
    TcpState::Closing,
    TcpState::TimeWait,
    TcpState::CloseWait,
    TcpState::LastAck,
    TcpState::Close,
    TcpState::BoundInactive,
];

/// A state's name in at most seven characters, for column titles.
pub fn short_state(s: TcpState) -> &'static str {
    match s {
        TcpState::Established => "ESTAB",
        TcpState::SynSent => "SYN-SNT",
        TcpState::SynRecv => "SYN-RCV",
        TcpState::FinWait1 => "FIN-W1",
        TcpState::FinWait2 => "FIN-W2",
        TcpState::TimeWait => "TIME-W",
        TcpState::Close => "CLOSED",
        TcpState::CloseWait => "CLOSE-W",
        TcpState::LastAck => "LAST-AK",
        TcpState::Listen => "LISTEN",
        TcpState::Closing => "CLOSING",
        TcpState::NewSynRecv => "NEW-SYN",
        TcpState::BoundInactive => "BOUND",
    }
}

/// How a count in `state` reads: CLOSE-WAIT is a bug somewhere; half-finished handshakes and
/// closes that do not move are worth a look.
pub fn state_tone(state: TcpState) -> Tone {
    match state {
        TcpState::CloseWait => Tone::Bad,
        TcpState::SynSent | TcpState::FinWait1 | TcpState::LastAck | TcpState::Closing => {
            Tone::Warn
        }
        _ => Tone::Plain,
    }
}

impl SortKey {
    /// Its column title (`attention` has none).
    pub fn title(self) -> &'static str {
        match self {
            SortKey::Attention => "attention",
            SortKey::Group => "Group",
            SortKey::Total => "Total",
            SortKey::State(s) => short_state(s),
            SortKey::CloseWaitIdle => "CW idle",
            SortKey::RecvQ => "Recv-Q",
            SortKey::SendQ => "Send-Q",
            SortKey::Change => "Change",
        }
    }

    /// A sort key as typed on the command line: a column title or a state in any spelling.
    pub fn parse(text: &str) -> Option<SortKey> {
        let t = text.to_ascii_lowercase();
        let key = match t.as_str() {
            "attention" => SortKey::Attention,
            "group" | "name" => SortKey::Group,
            "total" | "sockets" => SortKey::Total,
            "cw-idle" | "cw idle" | "idle" => SortKey::CloseWaitIdle,
            "recv-q" | "recvq" => SortKey::RecvQ,
            "send-q" | "sendq" => SortKey::SendQ,
            "change" => SortKey::Change,
            _ => SortKey::State(t.parse::<TcpState>().ok()?),
        };
        Some(key)
    }

    fn width(self) -> usize {
        match self {
            SortKey::Attention | SortKey::Group => 0,
            SortKey::Total | SortKey::Change => 7,
            _ => 9,
        }
    }
}

/// One row: a group, what it holds, how it changed.
#[derive(Debug, Clone)]
pub struct GroupRow {
    pub key: GroupKey,
    pub stats: GroupStats,
    /// Change of its size since the last refresh (`None` before the second frame).
    pub change: Option<i64>,
    /// Its place in the frame's own order.
    pub rank: usize,
}

/// The groups of `by` in the frame, sorted.
pub fn sorted_rows(
    frame: &Frame,
    history: &History,
    by: GroupBy,
    sort: SortKey,
    descending: bool,
) -> Vec<GroupRow> {
    let mut rows: Vec<GroupRow> = frame
        .groups(by)
        .iter()
        .enumerate()
        .map(|(rank, (key, stats))| GroupRow {
            key: key.clone(),
            stats: stats.clone(),
            change: history.group_change(by, key),
            rank,
        })
        .collect();
    let value = |r: &GroupRow| -> i128 {
        match sort {
            SortKey::Attention | SortKey::Group => 0,
            SortKey::Total => i128::from(r.stats.sockets),
            SortKey::State(s) => i128::from(r.stats.in_state(s)),
            SortKey::CloseWaitIdle => r.stats.oldest_close_wait_ms.map_or(-1, i128::from),
            SortKey::RecvQ => i128::from(r.stats.recv_q),
            SortKey::SendQ => i128::from(r.stats.send_q),
            SortKey::Change => r.change.map_or(0, i128::from),
        }
    };
    rows.sort_by(|a, b| {
        let primary = match sort {
            // The frame's order is most-attention-first: "descending" keeps it.
            SortKey::Attention => b.rank.cmp(&a.rank),
            SortKey::Group => a.key.label.cmp(&b.key.label),
            _ => value(a).cmp(&value(b)),
        };
        let primary = if descending {
            primary.reverse()
        } else {
            primary
        };
        primary.then(a.rank.cmp(&b.rank))
    });
    rows
}

/// What the table needs besides the rows.
pub struct TableState<'a> {
    pub by: GroupBy,
    pub sort: SortKey,
    pub descending: bool,
    pub filter: &'a Filter,
    pub selected: usize,
    /// First row shown; moved to keep the selection visible.
    pub offset: &'a mut usize,
}

/// The table's lines, and the sort keys its columns offer (`s` steps through them).
pub struct TableView {
    pub lines: Vec<Line>,
    pub sort_cycle: Vec<SortKey>,
}

/// The columns that fit in `width`, in display order.
pub fn columns(frame: &Frame, sort: SortKey, width: usize) -> Vec<SortKey> {
    let present: Vec<TcpState> = STATE_COLUMNS
        .into_iter()
        .filter(|s| frame.counts.state_total(*s) > 0)
        .collect();
    let cw = frame.counts.state_total(TcpState::CloseWait) > 0;
    let mut wanted = vec![SortKey::Total];
    if !matches!(sort, SortKey::Attention | SortKey::Group) {
        wanted.push(sort);
    }
    wanted.push(SortKey::State(TcpState::CloseWait));
    wanted.push(SortKey::Change);
    if cw {
        wanted.push(SortKey::CloseWaitIdle);
    }
    let mut others: Vec<TcpState> = present.clone();
    others.sort_by_key(|s| {
        let first = match s {
            TcpState::TimeWait => 0,
            TcpState::Established => 1,
            _ => 2,
        };
        (first, std::cmp::Reverse(frame.counts.state_total(*s)))
    });
    wanted.extend(others.into_iter().map(SortKey::State));
    wanted.extend([SortKey::RecvQ, SortKey::SendQ]);
    let min_group = if width >= 100 {
        24
    } else if width >= 60 {
        16
    } else {
        10
    };
    let mut used = min_group;
    let mut chosen: Vec<SortKey> = Vec::new();
    for k in wanted {
        if chosen.contains(&k) {
            continue;
        }
        if used + k.width() <= width {
            used += k.width();
            chosen.push(k);
        }
    }
    let order = |k: &SortKey| match k {
        SortKey::Total => 0,
        SortKey::State(s) => 1 + STATE_COLUMNS.iter().position(|x| x == s).unwrap_or(0),
        SortKey::CloseWaitIdle => 20,
        SortKey::RecvQ => 21,
        SortKey::SendQ => 22,
        SortKey::Change => 23,
        SortKey::Attention | SortKey::Group => 24,
    };
    chosen.sort_by_key(order);
    chosen
}

/// The group's label as shown: a process with its container, `other` spelled out; sockets
/// whose holder is not known are hidden from tcpscope live, and not in the file for a capture.
fn group_label(key: &GroupKey, stats: &GroupStats, capture: bool) -> (String, Tone) {
    match key.label.as_str() {
        "other" if key.pid.is_none() => ("(other groups)".to_string(), Tone::Dim),
        "kernel" if key.pid.is_none() => ("kernel (no process)".to_string(), Tone::Dim),
        "unknown" if key.pid.is_none() && capture => {
            ("unknown (not in the capture)".to_string(), Tone::Dim)
        }
        "unknown" if key.pid.is_none() => ("unknown (hidden process)".to_string(), Tone::Dim),
        _ => match &stats.container {
            Some(c) if key.pid.is_some() => (format!("{} @{c}", key.label), Tone::Plain),
            _ => (key.label.clone(), Tone::Plain),
        },
    }
}

/// Lay out the grouped table: a title line, the column header, the rows that fit.
pub fn group_table(
    frame: &Frame,
    rows: &[GroupRow],
    st: &mut TableState,
    width: usize,
    height: usize,
) -> TableView {
    let cols = columns(frame, st.sort, width);
    let fixed: usize = cols.iter().map(|c| c.width()).sum();
    let group_w = width.saturating_sub(fixed).clamp(1, 60);
    let arrow = if st.descending { "▼" } else { "▲" };
    let sorted = match st.sort {
        SortKey::Attention => format!("attention {arrow} (not ESTABLISHED first)"),
        k => format!("{} {arrow}", k.title()),
    };
    let filter = if st.filter.is_all() {
        "none".to_string()
    } else {
        st.filter.to_string()
    };
    let mut title = Line::new();
    title
        .push(format!(" Sockets by {} ", st.by.name()), Tone::Bold)
        .push("(g)", Tone::Key)
        .push(format!(" · sorted by {sorted} "), Tone::Plain)
        .push("(s r)", Tone::Key)
        .push(format!(" · filter: {filter} "), Tone::Plain)
        .push("(/)", Tone::Key)
        .push(format!(" · {} groups", rows.len()), Tone::Plain);
    let mut lines = vec![title.truncate(width)];

    let mut head = Line::new().kind(LineKind::ColumnHeader);
    let group_title = if st.sort == SortKey::Group {
        format!("{} {arrow}", capitalised(st.by.name()))
    } else {
        capitalised(st.by.name())
    };
    head.push(fit(&format!(" {group_title}"), group_w), Tone::Bold);
    for c in &cols {
        let t = if *c == st.sort {
            format!("{}{arrow}", c.title())
        } else {
            c.title().to_string()
        };
        head.push(fit_right(&t, c.width()), Tone::Bold);
    }
    lines.push(head.truncate(width));

    let room = height.saturating_sub(2);
    // What the source does not tell is a dash, not a zero (a capture without queues, ages).
    let capture = frame.header.source.import().is_some();
    let lacks = |d: Datum| frame.header.lacks(d);
    if rows.is_empty() {
        lines.push(Line::of(
            fit(
                " no sockets match (the filter is shown above; / changes it)",
                width,
            ),
            Tone::Dim,
        ));
        return TableView {
            lines,
            sort_cycle: sort_cycle(&cols),
        };
    }
    if st.selected < *st.offset {
        *st.offset = st.selected;
    } else if room > 0 && st.selected >= *st.offset + room {
        *st.offset = st.selected + 1 - room;
    }
    *st.offset = (*st.offset).min(rows.len().saturating_sub(room.max(1)));
    for (i, r) in rows.iter().enumerate().skip(*st.offset).take(room) {
        let mut l = Line::new();
        if i == st.selected {
            l.kind = LineKind::Selected;
        }
        let (label, tone) = group_label(&r.key, &r.stats, capture);
        l.push(fit(&format!(" {label}"), group_w), tone);
        for c in &cols {
            let w = c.width();
            let (text, tone) = match *c {
                SortKey::Total => (short_count(r.stats.sockets), Tone::Plain),
                SortKey::State(s) => match r.stats.in_state(s) {
                    0 => ("·".to_string(), Tone::Dim),
                    n => (short_count(n), state_tone(s)),
                },
                SortKey::CloseWaitIdle => match r.stats.oldest_close_wait_ms {
                    Some(ms) => (human_ms(ms), Tone::Bad),
                    None if lacks(Datum::TcpInfo) && r.stats.in_state(TcpState::CloseWait) > 0 => {
                        ("-".to_string(), Tone::Dim)
                    }
                    None => ("·".to_string(), Tone::Dim),
                },
                SortKey::RecvQ | SortKey::SendQ => {
                    let (v, d) = if *c == SortKey::RecvQ {
                        (r.stats.recv_q, Datum::RecvQ)
                    } else {
                        (r.stats.send_q, Datum::SendQ)
                    };
                    if lacks(d) {
                        ("-".to_string(), Tone::Dim)
                    } else if v == 0 {
                        ("·".to_string(), Tone::Dim)
                    } else {
                        (short_count(v), Tone::Plain)
                    }
                }
                SortKey::Change => match r.change {
                    None | Some(0) => ("·".to_string(), Tone::Dim),
                    Some(d) => (signed(d), Tone::Bold),
                },
                SortKey::Attention | SortKey::Group => (String::new(), Tone::Plain),
            };
            l.push(fit_right(&text, w), tone);
        }
        lines.push(l.truncate(width));
    }
    TableView {
        lines,
        sort_cycle: sort_cycle(&cols),
    }
}

fn sort_cycle(cols: &[SortKey]) -> Vec<SortKey> {
    let mut v = vec![SortKey::Attention, SortKey::Group];
    v.extend(cols.iter().copied());
    v
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::diagnose::fixtures::*;
    use crate::render::top::testing::frame_of;

    fn frame() -> Frame {
        let mut socks = Vec::new();
        for i in 0..3 {
            let mut s = sock(
                TcpState::CloseWait,
                "127.0.0.1:80",
                &format!("10.0.0.9:{}", 4000 + i),
            );
            owned(&mut s, 42, "leaky");
            idle(&mut s, 60_000 * (i + 1));
            s.recv_q = 1;
            socks.push(s);
        }
        for i in 0..5 {
            let mut s = sock(
                TcpState::Established,
                "127.0.0.1:443",
                &format!("10.0.0.7:{}", 5000 + i),
            );
            owned(&mut s, 7, "nginx");
            socks.push(s);
        }
        let mut tw = sock(TcpState::TimeWait, "127.0.0.1:5000", "10.0.0.8:443");
        tw.inode = 0;
        socks.push(tw);
        frame_of(1, snapshot_at(1_000_000, socks))
    }

    #[test]
    fn sorting_by_every_kind_of_column() {
        let f = frame();
        let h = History::new();
        let labels = |sort, desc| -> Vec<String> {
            sorted_rows(&f, &h, GroupBy::Process, sort, desc)
                .into_iter()
                .map(|r| r.key.label)
                .collect()
        };
        assert_eq!(
            labels(SortKey::Attention, true),
            ["leaky[42]", "kernel", "nginx[7]"]
        );
        assert_eq!(
            labels(SortKey::Attention, false),
            ["nginx[7]", "kernel", "leaky[42]"]
        );
        assert_eq!(
            labels(SortKey::Total, true),
            ["nginx[7]", "leaky[42]", "kernel"]
        );
        assert_eq!(
            labels(SortKey::Group, false),
            ["kernel", "leaky[42]", "nginx[7]"]
        );
        assert_eq!(
            labels(SortKey::State(TcpState::TimeWait), true)[0],
            "kernel"
        );
        assert_eq!(labels(SortKey::CloseWaitIdle, true)[0], "leaky[42]");
        assert_eq!(labels(SortKey::RecvQ, true)[0], "leaky[42]");
    }

    #[test]
    fn narrow_tables_keep_the_telling_columns() {
        let f = frame();
        let wide = columns(&f, SortKey::Attention, 120);
        assert_eq!(
            wide,
            [
                SortKey::Total,
                SortKey::State(TcpState::Established),
                SortKey::State(TcpState::TimeWait),
                SortKey::State(TcpState::CloseWait),
                SortKey::CloseWaitIdle,
                SortKey::RecvQ,
                SortKey::SendQ,
                SortKey::Change,
            ]
        );
        let narrow = columns(&f, SortKey::Attention, 40);
        assert_eq!(
            narrow,
            [
                SortKey::Total,
                SortKey::State(TcpState::CloseWait),
                SortKey::Change,
            ]
        );
        // The sorted column always shows.
        assert!(columns(&f, SortKey::SendQ, 40).contains(&SortKey::SendQ));
    }

    #[test]
    fn sort_keys_parse_from_titles_and_states() {
        assert_eq!(SortKey::parse("total"), Some(SortKey::Total));
        assert_eq!(
            SortKey::parse("CLOSE_WAIT"),
            Some(SortKey::State(TcpState::CloseWait))
        );
        assert_eq!(SortKey::parse("recv-q"), Some(SortKey::RecvQ));
        assert_eq!(SortKey::parse("bogus"), None);
    }
}
