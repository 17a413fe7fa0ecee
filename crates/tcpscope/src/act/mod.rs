//! Everything tcpscope does that changes the host, kept apart from `collect/` (which only reads)
//! so the few lines that can end a connection are easy to find and review. Used by
//! `tcpscope release` only:
//!
//! * [`fin`]: shutdown() through a duplicate of the owner's descriptor (pidfd_open +
//!   pidfd_getfd), after checking the duplicate is the very socket listed (its cookie);
//! * [`destroy`]: SOCK_DESTROY over sock_diag;
//! * [`namespace`]: a dedicated thread inside the socket's network namespace, where the
//!   sock_diag socket that looks sockets up again and destroys them must be created;
//! * [`carry_out`]: `release --yes` socket by socket — check again, act, wait, record.
//!
//! Nothing here signals or kills a process, and nothing acts on a socket that was not looked up
//! again just before (see `commands::release`).

pub mod carry_out;
pub mod destroy;
pub mod fin;
pub mod namespace;
