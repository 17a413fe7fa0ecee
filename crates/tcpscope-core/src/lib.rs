//! tcpscope-core: the pure half of tcpscope. It models TCP sockets and their states, decodes the
//! kernel's formats from bytes and text, analyses snapshots and renders results — and never does
//! I/O of its own, so every test of it runs anywhere, without root.

pub mod cgroup;
pub mod diagnose;
pub mod filter;
pub mod fsm;
pub mod inet_diag;
pub mod names;
pub mod proc_net;
pub mod process;
pub mod process_text;
pub mod render;
pub mod snapshot;
pub mod socket;
pub mod state;
pub mod summary;

pub use filter::Filter;
pub use snapshot::Snapshot;
pub use socket::{Endpoint, Family, Socket};
pub use state::{StateSet, TcpState};
