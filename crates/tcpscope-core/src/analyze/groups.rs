//! Sockets grouped the ways an operator asks "whose are they?": by owning process, container,
//! local port, peer host or network namespace — per group the count in each state, the oldest
//! CLOSE-WAIT's idle time, and the Recv-Q/Send-Q sums. `top`'s main table and `serve`'s
//! per-process metrics are both made of these. Built one socket at a time, so a live poll
//! never keeps its sockets to group them.

use crate::analyze::fasthash::FastMap;
use crate::analyze::filter::{CmpOp, Direction, Expr, Filter, HostCond, NumField, Pred, Prefix};
use crate::decode::cgroup::short_label;
use crate::model::socket::{Endpoint, Socket};
use crate::model::state::TcpState;
use serde::Serialize;

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

    /// Add another group's counts (groups summed into `other`, or per-process groups merged
    /// under one label by an exporter). The command and container stay this group's.
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
    raw_key(by, s).label(s)
}

/// The condition that narrows a listing to one group where the filter language can say it
/// (`pid = N`, `sport = :N`, `dst ADDR`): the kernel or the collector then drops most other
/// sockets early. Groups it cannot name (containers, namespaces, kernel-owned) get `None`; a
/// drill-down still checks every socket's [`key_of`].
pub fn narrowing(by: GroupBy, key: &GroupKey) -> Option<Pred> {
    match by {
        GroupBy::Process => key.pid.map(|pid| Pred::Num {
            field: NumField::Pid,
            op: CmpOp::Eq,
            value: u64::from(pid),
        }),
        GroupBy::LocalPort => {
            let port = key.label.strip_prefix(':')?.parse().ok()?;
            Some(Pred::Port {
                side: Direction::Src,
                op: CmpOp::Eq,
                port: Some(port),
            })
        }
        GroupBy::PeerHost => {
            let text = key.label.trim_start_matches('[').trim_end_matches(']');
            let addr: std::net::IpAddr = text.parse().ok()?;
            let len = if addr.is_ipv4() { 32 } else { 128 };
            Some(Pred::Host {
                side: Direction::Dst,
                cond: HostCond {
                    family: None,
                    name: None,
                    addrs: vec![Prefix { addr, len }],
                    port: None,
                },
            })
        }
        GroupBy::Container | GroupBy::Netns => None,
    }
}

/// `base` narrowed to one group (see [`narrowing`]): what a drill-down asks the collector for.
pub fn drill_filter(base: &Filter, by: GroupBy, key: &GroupKey) -> Filter {
    let Some(pred) = narrowing(by, key) else {
        return base.clone();
    };
    let narrow = Expr::Pred(pred);
    Filter {
        leading: base.leading.clone(),
        expr: Some(match &base.expr {
            None => narrow,
            Some(e) => Expr::And(Box::new(e.clone()), Box::new(narrow)),
        }),
    }
}

/// A group's identity, cheap to compute for every socket of a poll (no allocation). A container
/// is keyed by a 64-bit hash of its id. Labels are made only for the groups [`Groups::top`]
/// shows (50k client ports cost a partial selection, not 50k strings), except those of
/// containers and namespaces, which need the socket (and are few).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum RawKey {
    Kernel,
    Unknown,
    Pid(u32),
    Host,
    Container(u64),
    Port(u16),
    Peer(std::net::IpAddr),
    Netns(u64),
}

fn raw_key(by: GroupBy, s: &Socket) -> RawKey {
    use std::hash::{Hash, Hasher};
    let owner = s.owners.first();
    // Kernel-owned only where the source can tell (an inode, or a capture's owner column): a
    // capture without either says nothing about who holds a socket.
    let nobody = if s.is_kernel_owned() {
        RawKey::Kernel
    } else {
        RawKey::Unknown
    };
    match by {
        GroupBy::Process => owner.map_or(nobody, |o| RawKey::Pid(o.pid)),
        GroupBy::Container => owner.map_or(nobody, |o| {
            o.process.container.as_ref().map_or(RawKey::Host, |c| {
                let mut h = std::collections::hash_map::DefaultHasher::new();
                c.id.hash(&mut h);
                RawKey::Container(h.finish())
            })
        }),
        GroupBy::LocalPort => RawKey::Port(s.local.port),
        GroupBy::PeerHost => RawKey::Peer(s.peer.addr),
        GroupBy::Netns => RawKey::Netns(s.netns.as_ref().map_or(0, |n| n.inode)),
    }
}

impl RawKey {
    /// The label of a group whose key alone says it (with the command a process group keeps);
    /// `None` for containers and namespaces, labelled from their first socket.
    fn label_of_group(&self, stats: &GroupStats) -> Option<GroupKey> {
        let plain = |label: String| Some(GroupKey { label, pid: None });
        match self {
            RawKey::Kernel => plain("kernel".into()),
            RawKey::Unknown => plain("unknown".into()),
            RawKey::Pid(pid) => Some(GroupKey {
                label: format!("{}[{pid}]", stats.comm.as_deref().unwrap_or("?")),
                pid: Some(*pid),
            }),
            RawKey::Host => plain("host".into()),
            RawKey::Port(p) => plain(format!(":{p}")),
            RawKey::Peer(a) => plain(Endpoint::new(*a, 0).addr_text()),
            RawKey::Container(_) | RawKey::Netns(_) => None,
        }
    }

    /// The label people see, from the first socket of the group.
    fn label(&self, s: &Socket) -> GroupKey {
        let plain = |label: String| GroupKey { label, pid: None };
        match self {
            RawKey::Kernel => plain("kernel".into()),
            RawKey::Unknown => plain("unknown".into()),
            RawKey::Pid(pid) => GroupKey {
                label: format!(
                    "{}[{pid}]",
                    s.owners.first().map_or("?", |o| o.process.comm.as_str())
                ),
                pid: Some(*pid),
            },
            RawKey::Host => plain("host".into()),
            RawKey::Container(_) => plain(
                s.owners
                    .first()
                    .and_then(|o| o.process.container.as_ref())
                    .map_or_else(|| "?".to_string(), short_label),
            ),
            RawKey::Port(p) => plain(format!(":{p}")),
            RawKey::Peer(_) => plain(s.peer.addr_text()),
            RawKey::Netns(_) => plain(
                s.netns
                    .as_ref()
                    .map_or_else(|| "own".to_string(), |n| n.describe()),
            ),
        }
    }
}

/// Sockets grouped one way.
#[derive(Debug, Clone)]
pub struct Groups {
    pub by: GroupBy,
    /// Each group's counts, with its label when that needed the socket.
    map: FastMap<RawKey, (Option<GroupKey>, GroupStats)>,
}

impl Groups {
    pub fn new(by: GroupBy) -> Groups {
        Groups {
            by,
            map: FastMap::default(),
        }
    }

    /// Count one socket (with the tracker's CLOSE-WAIT age when known).
    pub fn add(&mut self, s: &Socket, close_wait_age_ms: Option<u64>) {
        let raw = raw_key(self.by, s);
        let by = self.by;
        let (_, stats) = self.map.entry(raw).or_insert_with(|| {
            let mut stats = GroupStats::default();
            if by == GroupBy::Process {
                if let Some(o) = s.owners.first() {
                    stats.comm = Some(o.process.comm.clone());
                    stats.container = o.process.container.as_ref().map(short_label);
                }
            }
            let label = match raw {
                RawKey::Container(_) | RawKey::Netns(_) => Some(raw.label(s)),
                _ => None,
            };
            (label, stats)
        });
        stats.add(s, close_wait_age_ms);
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The groups, largest first (by sockets not ESTABLISHED, then by all sockets, then by
    /// label), at most `n`; the rest are summed into one `other` group (ties at the cut are
    /// settled by key, so every poll cuts alike). Only the groups shown get a label.
    pub fn top(self, n: usize) -> Vec<(GroupKey, GroupStats)> {
        let weight = |g: &GroupStats| g.sockets - g.in_state(TcpState::Established);
        let rank = |a: &GroupStats, b: &GroupStats| {
            weight(b).cmp(&weight(a)).then(b.sockets.cmp(&a.sockets))
        };
        let mut groups: Vec<(RawKey, (Option<GroupKey>, GroupStats))> =
            self.map.into_iter().collect();
        let more = groups.len() > n;
        let keep = if more {
            n.saturating_sub(1)
        } else {
            groups.len()
        };
        if more && keep > 0 {
            groups.select_nth_unstable_by(keep - 1, |a, b| {
                rank(&a.1 .1, &b.1 .1).then(a.0.cmp(&b.0))
            });
        }
        let rest = groups.split_off(keep);
        let mut v: Vec<(GroupKey, GroupStats)> = groups
            .into_iter()
            .map(|(raw, (label, stats))| {
                let key = label
                    .or_else(|| raw.label_of_group(&stats))
                    .unwrap_or_else(|| GroupKey {
                        label: "?".to_string(),
                        pid: None,
                    });
                (key, stats)
            })
            .collect();
        v.sort_by(|a, b| rank(&a.1, &b.1).then(a.0.cmp(&b.0)));
        if more {
            let mut other = GroupStats::default();
            for (_, (_, g)) in rest {
                other.merge(&g);
            }
            other.comm = Some("other".to_string());
            other.container = None;
            v.push((
                GroupKey {
                    label: "other".to_string(),
                    pid: None,
                },
                other,
            ));
        }
        v
    }
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
    fn drill_filters_narrow_to_the_group_and_keep_the_base() {
        let base = Filter::parse("state close-wait sport >= :1000").unwrap();
        let key = |label: &str, pid| GroupKey {
            label: label.to_string(),
            pid,
        };
        let text = |by, k: &GroupKey| drill_filter(&base, by, k).to_string();
        assert_eq!(
            text(GroupBy::Process, &key("srv[42]", Some(42))),
            "state close-wait sport >= :1000 and pid = 42"
        );
        assert_eq!(
            text(GroupBy::LocalPort, &key(":8080", None)),
            "state close-wait sport >= :1000 and sport = :8080"
        );
        assert_eq!(
            text(GroupBy::PeerHost, &key("[::1]", None)),
            "state close-wait sport >= :1000 and dst [::1]"
        );
        assert_eq!(
            drill_filter(&Filter::all(), GroupBy::PeerHost, &key("10.0.0.9", None)).to_string(),
            "dst 10.0.0.9"
        );
        // Groups the language cannot name keep the base; the key decides.
        assert_eq!(
            text(GroupBy::Process, &key("kernel", None)),
            base.to_string()
        );
        assert_eq!(
            text(GroupBy::Container, &key("docker:abc", None)),
            base.to_string()
        );
        // Every narrowed filter selects the sockets of its group.
        let mut s = sock(TcpState::CloseWait, "10.0.0.1:8080", "10.0.0.9:1234");
        owned(&mut s, 42, "srv");
        for by in GroupBy::ALL {
            let f = drill_filter(&Filter::all(), by, &key_of(by, &s));
            assert!(f.matches(&s), "{by:?}: {f}");
            let reparsed = Filter::parse(&f.to_string()).unwrap();
            assert_eq!(reparsed, f, "{by:?} prints back");
        }
    }

    #[test]
    fn processes_of_one_container_are_one_group() {
        use crate::model::process::{Container, ProcessIdentity};
        let mut g = Groups::new(GroupBy::Container);
        for pid in [10u32, 11] {
            let mut s = sock(
                TcpState::CloseWait,
                "10.0.0.1:80",
                &format!("10.0.0.9:{pid}"),
            );
            owned(&mut s, pid, "srv");
            let id = ProcessIdentity {
                comm: "srv".into(),
                container: Some(Container {
                    runtime: "docker".into(),
                    id: "0123456789abcdef".into(),
                    pod_uid: None,
                }),
                ..ProcessIdentity::default()
            };
            s.owners[0].process = std::sync::Arc::new(id);
            g.add(&s, None);
        }
        let top = g.top(10);
        assert_eq!(top.len(), 1, "{top:?}");
        assert_eq!(top[0].0.label, "docker:0123456789ab");
        assert_eq!(top[0].1.in_state(TcpState::CloseWait), 2);
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
    }

    #[test]
    fn groups_are_labelled_as_their_sockets_are_keyed() {
        let mut kernel = sock(TcpState::TimeWait, "10.0.0.1:40000", "10.0.0.9:443");
        kernel.inode = 0;
        let mut held = sock(TcpState::CloseWait, "[::1]:80", "[::1]:4000");
        owned(&mut held, 7, "srv");
        let mut in_ns = sock(TcpState::Listen, "0.0.0.0:22", "0.0.0.0:0");
        in_ns.netns = Some(crate::model::socket::Netns {
            inode: 9,
            name: Some("blue".into()),
            pid: None,
            container: None,
            path: None,
        });
        let wild6 = sock(TcpState::Listen, "[::]:22", "[::]:0");
        let socks = [kernel, held, in_ns, wild6];
        for by in GroupBy::ALL {
            let mut g = Groups::new(by);
            for s in &socks {
                g.add(s, None);
            }
            let mut got: Vec<GroupKey> = g.top(100).into_iter().map(|(k, _)| k).collect();
            let mut want: Vec<GroupKey> = socks.iter().map(|s| key_of(by, s)).collect();
            got.sort();
            want.sort();
            // 0.0.0.0 and :: are two groups both shown as `*`.
            if by != GroupBy::PeerHost {
                want.dedup();
            }
            assert_eq!(got, want, "{by:?}");
        }
    }

    #[test]
    fn many_groups_are_ranked_and_cut_alike_every_time() {
        // Ports 1..=5 with 10..50 CLOSE-WAIT sockets, and 2000 client ports with one TIME-WAIT.
        let mut g = Groups::new(GroupBy::LocalPort);
        for port in 1..=5u16 {
            for i in 0..(10 * port) {
                let peer = format!("127.0.0.1:{}", 40000 + i);
                g.add(
                    &sock(TcpState::CloseWait, &format!("127.0.0.1:{port}"), &peer),
                    None,
                );
            }
        }
        for port in 30000..32000u16 {
            let local = format!("127.0.0.1:{port}");
            g.add(&sock(TcpState::TimeWait, &local, "127.0.0.1:80"), None);
        }
        assert_eq!(g.len(), 2005);
        let labels =
            |g: Groups, n| -> Vec<String> { g.top(n).into_iter().map(|(k, _)| k.label).collect() };
        assert_eq!(labels(g.clone(), 4), [":5", ":4", ":3", "other"]);
        assert_eq!(g.clone().top(4)[3].1.sockets, 20 + 10 + 2000);
        // Ties at the cut go by port, the same way on every poll.
        assert_eq!(labels(g.clone(), 8), labels(g.clone(), 8));
        assert_eq!(labels(g.clone(), 8)[5..7], [":30000", ":30001"]);
        assert_eq!(labels(g.clone(), 1), ["other"]);
        assert_eq!(g.top(0).len(), 1);
    }
}
