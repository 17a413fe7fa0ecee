//! Everything tcpscope concludes from sockets: the ss filter language, doctor's rules, the TCP
//! state machine kept as data, per-state summaries, durations as people write them, and what
//! `release` decides before and after it ends sockets.

pub mod diagnose;
pub mod duration;
pub mod filter;
pub mod fsm;
pub mod release;
pub mod summary;
