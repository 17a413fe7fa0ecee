//! `tcpscope trace` without the system: merging per-CPU records by time ([`reorder`]),
//! following each socket through its changes with owners and model checks ([`track`]),
//! finished connections ([`lifetimes`]), the ss filter on changes and its kernel part
//! ([`filter`]), the polling fallback's diffs ([`poll`]), changes counted per window for a
//! live view ([`rates`]), and a trace recording replayed as time for a view without a kernel
//! ([`replay`]). The binary reads the ring buffers and sock_diag and feeds these; every rule about what a record means lives here and is tested
//! without root.

pub mod filter;
pub mod lifetimes;
pub mod poll;
pub mod rates;
pub mod reorder;
pub mod replay;
pub mod track;

pub use filter::{entering_filter, TraceFilter};
pub use lifetimes::Lifetimes;
pub use poll::PollDiff;
pub use rates::TraceCounts;
pub use reorder::{Released, Reorder};
pub use replay::{ReplayPosition, TraceReplay};
pub use track::{Emitted, TrackId, Tracks};
