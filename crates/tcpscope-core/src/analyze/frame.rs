//! One frame of a live view: everything `top` draws and `serve` exports about one poll, as plain
//! data computed off the UI and HTTP threads — counts per state (and per namespace), the
//! groupings, the listeners and their queues, the doctor report, and what changed since the
//! previous poll. No socket list: a frame's size follows what a screen can show, not the number
//! of sockets (drill-downs ask the collector for the few sockets they show).

use crate::analyze::diagnose::Report;
use crate::analyze::groups::{GroupBy, GroupKey, GroupStats};
use crate::analyze::summary::StateCounts;
use crate::analyze::trace::TraceCounts;
use crate::analyze::tracking::{Changes, Track};
use crate::model::snapshot::Snapshot;
use crate::model::socket::Socket;
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
    /// Every grouping, largest groups first, at most [`GROUPS_PER_FRAME`] each.
    pub groups: BTreeMap<GroupBy, Vec<(GroupKey, GroupStats)>>,
    /// Listening sockets with their accept queue (Recv-Q) and backlog (Send-Q), owners attached.
    pub listeners: Vec<Socket>,
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
}

impl Frame {
    /// The groups of one grouping.
    pub fn groups(&self, by: GroupBy) -> &[(GroupKey, GroupStats)] {
        self.groups.get(&by).map_or(&[], Vec::as_slice)
    }
}

/// One socket of a drill-down (the few sockets a screen lists), with what the polls saw of it.
#[derive(Debug, Clone)]
pub struct SocketDetail {
    pub socket: Socket,
    /// When it was first seen, in which states (`None` for a socket no poll saw yet).
    pub track: Option<Track>,
}
