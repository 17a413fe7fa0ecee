//! Frames built from snapshots in code, the way the collector builds them from a poll (counts,
//! groupings, the doctor report), for the view tests: core's one test-only builder.

use crate::analyze::frame::Frame;
use crate::model::snapshot::Snapshot;

pub fn frame_of(seq: u64, snap: Snapshot) -> Frame {
    crate::analyze::frame::of_snapshot(seq, &snap)
}
