//! tcpscope-core: the pure half of tcpscope. It models TCP sockets and their states, decodes the
//! kernel's formats from bytes and text, analyses snapshots and renders results — and never does
//! I/O of its own, so every test of it runs anywhere, without root.
//!
//! Its modules follow the data: [`model`] (what a socket, a state, a snapshot, a process is),
//! [`decode`] (bytes and text in), [`analyze`] (filter, rules, state machine, summaries, tracking
//! across polls) and [`render`] (text out). Imports only run downwards in that list's reverse:
//! render may use analyze, analyze may use decode and model, decode may use model.

#![forbid(unsafe_code)]

pub mod analyze;
pub mod decode;
pub mod model;
pub mod render;

#[cfg(test)]
mod fuzz;

pub use analyze::filter::Filter;
pub use model::snapshot::Snapshot;
pub use model::socket::{Endpoint, Family, Socket};
pub use model::state::{StateSet, TcpState};
