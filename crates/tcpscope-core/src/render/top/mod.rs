//! `tcpscope top`, everything but the terminal: the screen as data. [`TopApp`] is the whole
//! state of the live view — the latest [`Frame`](crate::analyze::frame::Frame) and a short
//! [`History`](history::History) of them, the grouping, sort, selection, drill-down, panes,
//! filter prompt, interval and pause — and turns it into the lines of one screen of a given
//! size ([`TopApp::screen`]). Keys come in as [`Key`]s and come out as [`Effect`]s the front end
//! carries out (set the filter, the interval, pause, list a group's sockets, release sockets),
//! so the behaviour of every key and every view is tested here without a terminal; the binary
//! only reads keys, draws these lines, talks to its `Live` collector and runs `release`'s code.
//!
//! * [`text`]: lines, spans and tones (meaning, not colour), sparklines, fitting to a width;
//! * [`history`]: what top remembers across frames (sparklines, change per group);
//! * [`app`]: the state and the keys; [`table`]: the grouped table; [`header`]: counts,
//!   sparklines, rates, the doctor verdict; [`sockets`]: the drill-down and the detail pane;
//!   [`panes`]: doctor, diagram and help; [`release`]: the release key's selection and pane.

pub mod app;
pub mod header;
pub mod history;
pub mod panes;
pub mod release;
pub mod sockets;
pub mod table;
pub mod text;

pub use app::{Effect, Key, Level, Options, Pane, Screen, TopApp, DRILL_LIMIT, INTERVALS_MS};
pub use table::SortKey;

#[cfg(test)]
pub(crate) mod testing;
