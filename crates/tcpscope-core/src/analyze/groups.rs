//! Sockets grouped the ways an operator asks "whose are they?": by owning process, container,
//! local port, peer host or network namespace — per group the count in each state, the oldest
//! CLOSE-WAIT's idle time, and the Recv-Q/Send-Q sums. `top`'s main table and `serve`'s
//! per-process metrics are both made of these. Built one socket at a time, so a live poll
//! never keeps its sockets to group them.

use crate::decode::cgroup::short_label;
use crate::model::ids::IdMap;
use crate::model::process::ProcessIdentity;
use crate::model::socket::{Endpoint, Netns, Socket};
use crate::model::state::TcpState;
use serde::Serialize;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

/// What sockets are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GroupBy {
    Process,
    Container,
    LocalPort,
    PeerHost,
    Netns,
}

impl GroupBy {
    pub const ALL: [GroupBy; 5] = [
        GroupBy::Process,
        GroupBy::Container,
        GroupBy::LocalPort,
        GroupBy::PeerHost,
        GroupBy::Netns,
    ];

    pub fn name(self) -> &'static str {
        match self {
            GroupBy::Process => "process",
            GroupBy::Container => "container",
            GroupBy::LocalPort => "local port",
            GroupBy::PeerHost => "peer host",
            GroupBy::Netns => "namespace",
        }
    }

    /// The next grouping (a key in `top` cycles through them).
    pub fn next(self) -> GroupBy {
        let i = GroupBy::ALL.iter().position(|g| *g == self).unwrap_or(0);
        GroupBy::ALL[(i + 1) % GroupBy::ALL.len()]
    }
}

/// One group: a label to show, and the process behind it when it is one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct GroupKey {
    /// `nginx[1234]`, `docker:0123456789ab`, `:443`, `10.0.0.5`, `'blue'`; `kernel` for sockets no
    /// process holds, `unknown` for sockets whose holder could not be seen.
    pub label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}

/// What a group holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GroupStats {
    pub sockets: u64,
    /// Sockets per state, indexed by the kernel's state number (index 0 unused).
    #[serde(serialize_with = "states_by_name")]
    pub states: [u64; 15],
    /// The longest a CLOSE-WAIT socket of the group has been idle (tcp_info last_ack_recv, or
    /// the tracker's bound), milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oldest_close_wait_ms: Option<u64>,
    pub recv_q: u64,
    pub send_q: u64,
    /// For process groups: the command and its container label (what exporters label by).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comm: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
}

fn states_by_name<S: serde::Serializer>(states: &[u64; 15], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(None)?;
    for st in TcpState::ALL {
        let n = states[st as usize];
        if n > 0 {
            m.serialize_entry(st.name(), &n)?;
        }
    }
    m.end()
}

impl GroupStats {
    pub fn in_state(&self, state: TcpState) -> u64 {
        self.states[state as usize]
    }

    /// Add another group's counts (groups merged under one label, or into `other`). The
    /// command and container stay this group's.
    pub fn merge(&mut self, g: &GroupStats) {
        self.sockets += g.sockets;
        for (i, c) in g.states.iter().enumerate() {
            self.states[i] += c;
        }
        self.recv_q += g.recv_q;
        self.send_q += g.send_q;
        self.oldest_close_wait_ms = match (self.oldest_close_wait_ms, g.oldest_close_wait_ms) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        if self.comm.is_none() {
            self.comm = g.comm.clone();
            self.container = g.container.clone();
        }
    }

    fn add(&mut self, s: &Socket, close_wait_age_ms: Option<u64>) {
        self.sockets += 1;
        self.states[s.state as usize] += 1;
        if s.state != TcpState::Listen {
            self.recv_q += u64::from(s.recv_q);
            self.send_q += u64::from(s.send_q);
        }
        if s.state == TcpState::CloseWait {
            let age = close_wait_age_ms.or_else(|| {
                s.tcp_info
                    .as_ref()
                    .and_then(|i| i.last_ack_recv_ms.or(i.last_data_recv_ms))
                    .map(u64::from)
            });
            if let Some(a) = age {
                self.oldest_close_wait_ms = Some(self.oldest_close_wait_ms.map_or(a, |o| o.max(a)));
            }
        }
    }
}

/// The group `s` belongs to under `by`.
pub fn key_of(by: GroupBy, s: &Socket) -> GroupKey {
    let owner = s.owners.first();
    let nobody = || GroupKey {
        label: if s.inode == 0 { "kernel" } else { "unknown" }.to_string(),
        pid: None,
    };
    match by {
        GroupBy::Process => match owner {
            Some(o) => GroupKey {
                label: format!("{}[{}]", o.process.comm, o.pid),
                pid: Some(o.pid),
            },
            None => nobody(),
        },
        GroupBy::Container => match owner {
            Some(o) => GroupKey {
                label: o
                    .process
                    .container
                    .as_ref()
                    .map_or_else(|| "host".to_string(), short_label),
                pid: None,
            },
            None => nobody(),
        },
        GroupBy::LocalPort => GroupKey {
            label: format!(":{}", s.local.port),
            pid: None,
        },
        GroupBy::PeerHost => GroupKey {
            label: s.peer.addr_text(),
            pid: None,
        },
        GroupBy::Netns => GroupKey {
            label: s
                .netns
                .as_ref()
                .map_or_else(|| "own".to_string(), |n| n.describe()),
            pid: None,
        },
    }
}

/// What a socket is counted under while a poll runs: a number, not a label, so counting 100k
/// sockets formats and hashes no strings. Labels are made by [`Groups::top`] for the groups it
/// shows; groups that share a label — the processes of one container, `0.0.0.0` and `::` as
/// `*` — are merged there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum RawKey {
    Pid(u32),
    Port(u16),
    Addr(IpAddr),
    Netns(u64),
    Kernel,
    Unknown,
}

fn raw_key(by: GroupBy, s: &Socket) -> RawKey {
    let nobody = || {
        if s.inode == 0 {
            RawKey::Kernel
        } else {
            RawKey::Unknown
        }
    };
    match by {
        GroupBy::Process | GroupBy::Container => {
            s.owners.first().map_or_else(nobody, |o| RawKey::Pid(o.pid))
        }
        GroupBy::LocalPort => RawKey::Port(s.local.port),
        GroupBy::PeerHost => RawKey::Addr(s.peer.addr),
        GroupBy::Netns => RawKey::Netns(s.netns.as_ref().map_or(0, |n| n.inode)),
    }
}

/// What a group's label is made from, kept from its first socket (cheap: a reference-counted
/// identity, a namespace description only for the few namespace groups).
#[derive(Debug, Clone)]
enum LabelFrom {
    Process(u32, Arc<ProcessIdentity>),
    Container(Arc<ProcessIdentity>),
    Netns(Option<Netns>),
    Raw,
}

impl LabelFrom {
    fn of(by: GroupBy, s: &Socket) -> LabelFrom {
        match (by, s.owners.first()) {
            (GroupBy::Process, Some(o)) => LabelFrom::Process(o.pid, o.process.clone()),
            (GroupBy::Container, Some(o)) => LabelFrom::Container(o.process.clone()),
            (GroupBy::Netns, _) => LabelFrom::Netns(s.netns.clone()),
            _ => LabelFrom::Raw,
        }
    }

    /// The same label [`key_of`] gives the group's sockets.
    fn key(&self, raw: RawKey) -> GroupKey {
        let label = |label: String| GroupKey { label, pid: None };
        match (self, raw) {
            (LabelFrom::Process(pid, p), _) => GroupKey {
                label: format!("{}[{pid}]", p.comm),
                pid: Some(*pid),
            },
            (LabelFrom::Container(p), _) => label(
                p.container
                    .as_ref()
                    .map_or_else(|| "host".to_string(), short_label),
            ),
            (LabelFrom::Netns(n), _) => label(
                n.as_ref()
                    .map_or_else(|| "own".to_string(), Netns::describe),
            ),
            (LabelFrom::Raw, RawKey::Port(p)) => label(format!(":{p}")),
            (LabelFrom::Raw, RawKey::Addr(a)) => label(Endpoint::new(a, 0).addr_text()),
            (LabelFrom::Raw, RawKey::Kernel) => label("kernel".to_string()),
            (LabelFrom::Raw, _) => label("unknown".to_string()),
        }
    }
}

/// Sockets grouped one way.
#[derive(Debug, Clone)]
pub struct Groups {
    pub by: GroupBy,
    map: IdMap<RawKey, (LabelFrom, GroupStats)>,
}

impl Groups {
    pub fn new(by: GroupBy) -> Groups {
        Groups {
            by,
            map: IdMap::default(),
        }
    }

    /// Count one socket (with the tracker's CLOSE-WAIT age when known).
    pub fn add(&mut self, s: &Socket, close_wait_age_ms: Option<u64>) {
        let by = self.by;
        let (_, stats) = self.map.entry(raw_key(by, s)).or_insert_with(|| {
            let mut stats = GroupStats::default();
            if by == GroupBy::Process {
                if let Some(o) = s.owners.first() {
                    stats.comm = Some(o.process.comm.clone());
                    stats.container = o.process.container.as_ref().map(short_label);
                }
            }
            (LabelFrom::of(by, s), stats)
        });
        stats.add(s, close_wait_age_ms);
    }

    /// True when groups may share a label and must be merged before ranking.
    fn merges(&self) -> bool {
        matches!(self.by, GroupBy::Container | GroupBy::PeerHost)
    }

    /// Every group with its label, groups that share one merged.
    fn labelled(self) -> Vec<(GroupKey, GroupStats)> {
        let mut out: HashMap<GroupKey, GroupStats> = HashMap::with_capacity(self.map.len());
        for (raw, (from, stats)) in self.map {
            match out.entry(from.key(raw)) {
                std::collections::hash_map::Entry::Occupied(mut e) => e.get_mut().merge(&stats),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(stats);
                }
            }
        }
        out.into_iter().collect()
    }

    pub fn len(&self) -> usize {
        if !self.merges() {
            return self.map.len();
        }
        let labels: std::collections::HashSet<GroupKey> = self
            .map
            .iter()
            .map(|(raw, (from, _))| from.key(*raw))
            .collect();
        labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The groups, largest first (by sockets not ESTABLISHED, then by all sockets, then by
    /// label), at most `n`; the rest are summed into one `other` group. Only the groups shown
    /// get a label: 50k client ports cost a partial sort, not 50k strings.
    pub fn top(self, n: usize) -> Vec<(GroupKey, GroupStats)> {
        let weight = |g: &GroupStats| g.sockets - g.in_state(TcpState::Established);
        let rank = |a: &GroupStats, b: &GroupStats| {
            weight(b).cmp(&weight(a)).then(b.sockets.cmp(&a.sockets))
        };
        let mut v: Vec<(GroupKey, GroupStats)> = if self.merges() {
            self.labelled()
        } else {
            let mut raw: Vec<(RawKey, (LabelFrom, GroupStats))> = self.map.into_iter().collect();
            if raw.len() > n {
                // The n best first (ties at the cut settled by key, so polls agree), the rest after.
                raw.select_nth_unstable_by(n.saturating_sub(1), |a, b| {
                    rank(&a.1 .1, &b.1 .1).then(a.0.cmp(&b.0))
                });
            }
            let mut rest = GroupStats::default();
            let mut shown = Vec::with_capacity(n.min(raw.len()));
            let more = raw.len() > n;
            for (i, (key, (from, stats))) in raw.into_iter().enumerate() {
                if more && i + 1 >= n {
                    rest.merge(&stats);
                } else {
                    shown.push((from.key(key), stats));
                }
            }
            if more {
                shown.sort_by(|a, b| rank(&a.1, &b.1).then(a.0.cmp(&b.0)));
                shown.push((other_key(), other(rest)));
                return shown;
            }
            shown
        };
        v.sort_by(|a, b| rank(&a.1, &b.1).then(a.0.cmp(&b.0)));
        if v.len() > n {
            let mut rest = GroupStats::default();
            for (_, g) in v.split_off(n.saturating_sub(1)) {
                rest.merge(&g);
            }
            v.push((other_key(), other(rest)));
        }
        v
    }
}

fn other_key() -> GroupKey {
    GroupKey {
        label: "other".to_string(),
        pid: None,
    }
}

fn other(mut rest: GroupStats) -> GroupStats {
    rest.comm = Some("other".to_string());
    rest.container = None;
    rest
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::diagnose::fixtures::*;

    #[test]
    fn groups_by_process_with_ages_and_an_other_bucket() {
        let mut g = Groups::new(GroupBy::Process);
        for (i, pid) in [10u32, 10, 11, 12].into_iter().enumerate() {
            let mut s = sock(
                TcpState::CloseWait,
                "127.0.0.1:80",
                &format!("127.0.0.1:{}", 4000 + i),
            );
            owned(&mut s, pid, "srv");
            idle(&mut s, 1000 * (i as u32 + 1));
            s.recv_q = 1;
            g.add(&s, None);
        }
        let mut est = sock(TcpState::Established, "127.0.0.1:80", "127.0.0.1:5000");
        est.inode = 0;
        g.add(&est, None);
        assert_eq!(g.len(), 4);
        let top = g.top(3);
        assert_eq!(top.len(), 3);
        assert_eq!(top[0].0.label, "srv[10]");
        assert_eq!(top[0].1.in_state(TcpState::CloseWait), 2);
        assert_eq!(top[0].1.recv_q, 2);
        assert_eq!(top[0].1.comm.as_deref(), Some("srv"));
        assert!(top[0].1.oldest_close_wait_ms.is_some());
        assert_eq!(top[2].0.label, "other");
        assert_eq!(top[2].1.sockets, 2, "srv[12] and the kernel's socket");
        let json = serde_json::to_string(&top[0].1).unwrap();
        assert!(json.contains(r#""states":{"close-wait":2}"#), "{json}");
    }

    #[test]
    fn many_groups_are_ranked_without_labelling_them_all() {
        // 2000 client ports with one socket each, and ports 1..=5 with more.
        let mut g = Groups::new(GroupBy::LocalPort);
        for port in 1..=5u16 {
            for i in 0..(10 * port) {
                let s = sock(
                    TcpState::CloseWait,
                    &format!("127.0.0.1:{port}"),
                    &format!("127.0.0.1:{}", 40000 + i),
                );
                g.add(&s, None);
            }
        }
        for port in 30000..32000u16 {
            g.add(
                &sock(
                    TcpState::TimeWait,
                    &format!("127.0.0.1:{port}"),
                    "127.0.0.1:80",
                ),
                None,
            );
        }
        assert_eq!(g.len(), 2005);
        let top = g.clone().top(4);
        let labels: Vec<&str> = top.iter().map(|(k, _)| k.label.as_str()).collect();
        assert_eq!(labels, vec![":5", ":4", ":3", "other"]);
        assert_eq!(top[3].1.sockets, 20 + 10 + 2000);
        // Ties at the cut are settled the same way every time.
        let cut = |g: Groups| {
            g.top(8)
                .into_iter()
                .map(|(k, _)| k.label)
                .collect::<Vec<_>>()
        };
        assert_eq!(cut(g.clone()), cut(g.clone()));
        assert_eq!(cut(g)[5..7], [":30000".to_string(), ":30001".to_string()]);
    }

    #[test]
    fn keys_for_every_grouping() {
        let mut s = sock(TcpState::TimeWait, "10.0.0.1:40000", "10.0.0.9:443");
        s.inode = 0;
        assert_eq!(key_of(GroupBy::Process, &s).label, "kernel");
        assert_eq!(key_of(GroupBy::Container, &s).label, "kernel");
        assert_eq!(key_of(GroupBy::LocalPort, &s).label, ":40000");
        assert_eq!(key_of(GroupBy::PeerHost, &s).label, "10.0.0.9");
        assert_eq!(key_of(GroupBy::Netns, &s).label, "own");
        assert_eq!(GroupBy::Netns.next(), GroupBy::Process);

        // The labels groups get are the keys of their sockets.
        let mut owned_s = sock(TcpState::CloseWait, "[::1]:80", "[::1]:4000");
        owned(&mut owned_s, 7, "srv");
        let mut in_ns = sock(TcpState::Listen, "0.0.0.0:22", "0.0.0.0:0");
        in_ns.netns = Some(crate::model::socket::Netns {
            inode: 9,
            name: Some("blue".into()),
            pid: None,
            container: None,
        });
        let wild6 = sock(TcpState::Listen, "[::]:22", "[::]:0");
        let socks = [s, owned_s, in_ns, wild6];
        for by in GroupBy::ALL {
            let mut g = Groups::new(by);
            for x in &socks {
                g.add(x, None);
            }
            let mut got: Vec<GroupKey> = g.top(100).into_iter().map(|(k, _)| k).collect();
            let mut want: Vec<GroupKey> = socks.iter().map(|x| key_of(by, x)).collect();
            got.sort();
            want.sort();
            want.dedup();
            assert_eq!(got, want, "{by:?}");
        }
    }
}
