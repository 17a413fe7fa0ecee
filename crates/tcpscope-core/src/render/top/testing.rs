//! Frames built from snapshots in code, the way the collector builds them from a poll (counts,
//! groupings, the doctor report), for the view tests.

use crate::analyze::diagnose::digest::Digest;
use crate::analyze::diagnose::{diagnose, Context};
use crate::analyze::frame::{Frame, GROUPS_PER_FRAME};
use crate::analyze::groups::{GroupBy, Groups};
use crate::analyze::summary::StateCounts;
use crate::analyze::tracking::Changes;
use crate::model::snapshot::Snapshot;
use crate::model::state::TcpState;
use std::collections::BTreeMap;

pub fn frame_of(seq: u64, snap: Snapshot) -> Frame {
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
    let input = Digest::of_snapshot(&snap);
    let report = diagnose(&Context::new(&input, None));
    let listeners = snap
        .sockets
        .iter()
        .filter(|s| s.state == TcpState::Listen)
        .cloned()
        .collect();
    let mut header = snap;
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
        listeners,
        report,
        changes: Changes::default(),
        traced: None,
        untraced: None,
    }
}
