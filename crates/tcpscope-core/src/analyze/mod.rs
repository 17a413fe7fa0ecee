//! Everything tcpscope concludes from sockets: the ss filter language, doctor's rules, the TCP
//! state machine kept as data, per-state summaries, durations as people write them, and what
//! `release` decides before and after it ends sockets.

pub mod diagnose;
pub mod duration;
pub mod fasthash;
pub mod filter;
pub mod frame;
pub mod fsm;
pub mod groups;
pub mod release;
pub mod summary;
pub mod trace;
pub mod tracking;
