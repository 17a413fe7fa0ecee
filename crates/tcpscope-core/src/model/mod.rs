//! What tcpscope talks about: TCP states and their spellings, sockets, snapshots (the recording
//! format), and the processes that own sockets. Plain data with serde forms that are the JSON
//! contract (docs/json.md); no parsing of kernel formats and no analysis here.

pub mod missing;
pub mod origin;
pub mod process;
pub mod snapshot;
pub mod socket;
pub mod state;
pub mod trace_recording;
pub mod transition;
