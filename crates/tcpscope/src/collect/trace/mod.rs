//! The system half of `tcpscope trace`: the tracepoints through perf ring buffers ([`perf`],
//! [`tracefs`]), the processes that ran a change ([`tasks`]), the live pipeline that merges,
//! tracks and resolves owners ([`live`]), the polling fallback ([`poll`]), recordings
//! ([`recording`]), and the one trait through which trace asks sock_diag and /proc anything
//! ([`lookup`]). What a record *means* is decided in `tcpscope_core::analyze::trace`.

pub mod live;
pub mod lookup;
pub mod perf;
pub mod poll;
pub mod recording;
pub mod signals;
pub mod tasks;
pub mod tracefs;
