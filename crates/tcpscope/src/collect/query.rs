//! Which sockets a poll reads: families, states, whether tcp_info is wanted, and the user's
//! filter. The kernel applies what it can (state mask, compiled bytecode); user space applies
//! everything again on every source, so results never depend on where sockets came from.

use super::kernel;
use std::sync::Arc;
use tcpscope_core::analyze::filter::DEFAULT_EPHEMERAL;
use tcpscope_core::{Family, Filter, Socket, StateSet};

/// Which sockets to read. Everything here is applied by the kernel on the live path where it can
/// be, and always in user space too, so results do not depend on the source.
#[derive(Debug, Clone)]
pub struct Query {
    pub families: Vec<Family>,
    pub states: StateSet,
    /// Ask for tcp_info (costs ~20% more on the live path).
    pub want_info: bool,
    /// With `want_info`: only for sockets in these states (doctor wants tcp_info for the states
    /// its rules keep, not for a million ESTABLISHED connections). `None`: for every state.
    pub info_states: Option<StateSet>,
    /// Ask for socket memory (`ls -m`), in every request.
    pub want_memory: bool,
    /// The user's filter: compiled per family into INET_DIAG_REQ_BYTECODE on the live path, and
    /// evaluated in user space on every socket of every source.
    pub filter: Option<Arc<Filter>>,
    /// Send the compiled filter to the kernel (off with the hidden `--no-kernel-filter`, to check
    /// that user space alone gives the same answer).
    pub kernel_filter: bool,
}

impl Query {
    /// Every socket of both families, no tcp_info, no filter.
    #[cfg(test)]
    pub fn all() -> Query {
        Query {
            families: vec![Family::Inet, Family::Inet6],
            states: StateSet::ALL,
            want_info: false,
            info_states: None,
            want_memory: false,
            filter: None,
            kernel_filter: true,
        }
    }

    /// True when `s` passes the parts of the query a kernel would apply.
    pub fn admits(&self, s: &Socket) -> bool {
        self.families.contains(&s.family) && self.states.contains(s.state)
    }

    /// True when `s` passes the filter as far as can be judged before owners are looked up
    /// (owner conditions are checked again by commands that attach owners).
    pub fn keeps(&self, s: &Socket, ephemeral: (u16, u16)) -> bool {
        match &self.filter {
            None => true,
            Some(f) if f.needs_owners() => f.may_match(s, ephemeral),
            Some(f) => f.matches_with(s, ephemeral),
        }
    }

    /// The ephemeral port range `autobound` conditions use: the live host's when it matters.
    pub fn ephemeral(&self, live: bool) -> (u16, u16) {
        match &self.filter {
            Some(f) if live && f.uses_autobound() => kernel::ephemeral_range(),
            _ => DEFAULT_EPHEMERAL,
        }
    }
}
