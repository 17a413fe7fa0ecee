//! One frame of a live view: everything `top` draws and `serve` exports about one poll, as plain
//! data computed off the UI and HTTP threads — counts per state (and per namespace), the
//! groupings, the listeners and their queues, the doctor report, and what changed since the
//! previous poll. No socket list: a frame's size follows what a screen can show, not the number
//! of sockets (drill-downs ask the collector for the few sockets they show).

use crate::analyze::diagnose::Report;
use crate::analyze::groups::{GroupBy, GroupKey, GroupStats};
use crate::analyze::summary::StateCounts;
use crate::analyze::trace::{ReplayPosition, TraceCounts};
use crate::analyze::tracking::{Changes, Track};
use crate::model::snapshot::Snapshot;
use crate::model::socket::{Endpoint, Socket};
use std::collections::BTreeMap;

/// Groups kept per grouping in a frame (the rest are summed as `other`).
pub const GROUPS_PER_FRAME: usize = 500;

/// Everything a live front end shows about one poll.
#[derive(Debug, Clone)]
pub struct Frame {
    /// 1 for the first poll, then one more per poll.
    pub seq: u64,
    /// The poll's header: time, host, notes, kernel counters, facts about named processes.
    pub header: Snapshot,
    /// How long the poll took, milliseconds.
    pub poll_ms: u64,
    /// Sockets per state and family.
    pub counts: StateCounts,
    /// The same per network namespace (its label; `own` when only tcpscope's own was read).
    pub counts_by_netns: BTreeMap<String, StateCounts>,
    /// The groupings the front end asked for (all by default), largest groups first, at most
    /// [`GROUPS_PER_FRAME`] each.
    pub groups: BTreeMap<GroupBy, Vec<(GroupKey, GroupStats)>>,
    /// Listening sockets with their accept queue (Recv-Q) and backlog (Send-Q), owners attached.
    pub listeners: Vec<Socket>,
    /// Client-side TIME-WAIT sockets per destination (peer ip:port), most first, at most
    /// [`GROUPS_PER_FRAME`]: what runs a client out of ephemeral ports.
    pub time_wait_by_destination: Vec<(Endpoint, u64)>,
    /// The size of the ephemeral port range (ip_local_port_range) those are counted against.
    pub ephemeral_ports: u64,
    /// What doctor says about this poll.
    pub report: Report,
    /// Sockets opened, closed and changing state since the previous poll (by cookie).
    pub changes: Changes,
    /// Every state change since the previous frame, when a trace runs beside the polls (root):
    /// exact where `changes` compares two polls.
    pub traced: Option<TraceCounts>,
    /// Why `traced` is empty when it is (not root, one namespace only, a filter a state change
    /// cannot be judged by, a recording).
    pub untraced: Option<String>,
    /// Where the replay clock is, when the frame is a step of a replayed trace recording
    /// (`top --from TRACE`).
    pub replay: Option<ReplayPosition>,
}

impl Frame {
    /// The groups of one grouping.
    pub fn groups(&self, by: GroupBy) -> &[(GroupKey, GroupStats)] {
        self.groups.get(&by).map_or(&[], Vec::as_slice)
    }
}

/// A frame made from a whole snapshot the way the collector makes one from a poll (counts,
/// groupings, digest, doctor's report), for the tests of what is rendered from frames.
#[cfg(test)]
pub(crate) fn of_snapshot(seq: u64, snap: &Snapshot) -> Frame {
    use crate::analyze::diagnose::digest::Digest;
    use crate::analyze::diagnose::{diagnose, Context};
    use crate::analyze::groups::Groups;
    let mut counts = StateCounts::default();
    let mut by_netns: BTreeMap<String, StateCounts> = BTreeMap::new();
    let mut groups: Vec<Groups> = GroupBy::ALL.iter().map(|g| Groups::new(*g)).collect();
    for s in &snap.sockets {
        counts.add(s);
        let ns = s
            .netns
            .as_ref()
            .map_or_else(|| "own".to_string(), |n| n.describe());
        by_netns.entry(ns).or_default().add(s);
        for g in &mut groups {
            g.add(s, None);
        }
    }
    let input = Digest::of_snapshot(snap);
    let report = diagnose(&Context::new(&input, None));
    let (lo, hi) = input.port_range();
    let mut header = snap.clone_without_sockets();
    header.sockets = Vec::new();
    Frame {
        seq,
        header,
        poll_ms: 12,
        counts,
        counts_by_netns: by_netns,
        groups: groups
            .into_iter()
            .map(|g| (g.by, g.top(GROUPS_PER_FRAME)))
            .collect(),
        listeners: input
            .snapshot
            .sockets
            .iter()
            .filter(|s| s.state == crate::model::state::TcpState::Listen)
            .cloned()
            .collect(),
        time_wait_by_destination: input.time_wait_by_destination(GROUPS_PER_FRAME),
        ephemeral_ports: u64::from(hi.saturating_sub(lo)) + 1,
        report,
        changes: Changes::default(),
        traced: None,
        untraced: None,
        replay: None,
    }
}

/// One socket of a drill-down (the few sockets a screen lists), with what the polls saw of it.
#[derive(Debug, Clone)]
pub struct SocketDetail {
    pub socket: Socket,
    /// When it was first seen, in which states (`None` for a socket no poll saw yet).
    pub track: Option<Track>,
}
