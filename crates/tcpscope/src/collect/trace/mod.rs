//! The system half of `tcpscope trace`: the tracepoints through perf ring buffers ([`perf`],
//! [`tracefs`]), the processes that ran a change ([`tasks`]), the live pipeline that merges,
//! tracks and resolves owners ([`live`]), the polling fallback ([`poll`]), byte counts for
//! lifetimes ([`bytes`]), recordings ([`recording`]), and the entries into states that make
//! `doctor --watch`'s ages exact ([`entries`]), and the changes counted beside `top`'s polls
//! ([`rates`]). Everything trace asks sock_diag and /proc goes
//! through the command's one [`Collector`](crate::collect::collector::Collector) — the pipeline
//! doctor, top and serve poll with. What a record *means* is decided in
//! `tcpscope_core::analyze::trace`.

pub mod bytes;
pub mod entries;
pub mod live;
pub mod perf;
pub mod poll;
pub mod rates;
pub mod recording;
pub mod signals;
pub mod tasks;
pub mod tracefs;
