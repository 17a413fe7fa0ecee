//! The ss filter language: one [`Filter`] value that every command shares — parsed once,
//! evaluated in user space on every socket, and lowered into the sock_diag request (state mask
//! and bytecode) so the kernel drops what the filter rejects before it is ever copied out.
//!
//! `docs/filter.md` is the user's reference; the grammar and its ss semantics are pinned by
//! table tests here and by differential tests against `ss` in the binary's test suite.

mod ast;
pub(crate) mod bytecode;
mod eval;
mod lexer;
mod parser;
mod values;

pub use ast::{CmpOp, Direction, Expr, HostCond, NumField, Pred, Prefix, StateClause, StateWord};
pub use bytecode::*;
pub use parser::ParseError;

use crate::model::socket::{Family, Socket};
use crate::model::state::{StateSet, TcpState};
use eval::{eval, Facts};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Names a filter may use that only the system knows: host names, services, interfaces, users.
/// Core does no I/O; the binary implements this over /etc/hosts, /etc/services, /sys and
/// /etc/passwd. Every method has a default that knows nothing (except `localhost`).
pub trait Resolver {
    /// Addresses of a host name (never DNS).
    fn host(&self, name: &str) -> Vec<IpAddr> {
        if name.eq_ignore_ascii_case("localhost") {
            vec![
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
            ]
        } else {
            Vec::new()
        }
    }
    /// The TCP port of a service name (`ssh` -> 22).
    fn service(&self, _name: &str) -> Option<u16> {
        None
    }
    /// The index of a network interface.
    fn interface(&self, _name: &str) -> Option<u32> {
        None
    }
    /// The uid of a user name.
    fn user(&self, _name: &str) -> Option<u32> {
        None
    }
    /// The id of a cgroup (v2) named by its path, as ss reads `cgroup PATH`.
    fn cgroup(&self, _path: &str) -> Option<u64> {
        None
    }
}

/// A resolver that knows only `localhost`.
pub struct NoResolver;
impl Resolver for NoResolver {}

/// Linux's default ip_local_port_range, used by `autobound` unless told otherwise.
pub const DEFAULT_EPHEMERAL: (u16, u16) = (32768, 60999);

/// A parsed filter: ss's leading state clauses, then an optional expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub leading: Vec<StateClause>,
    pub expr: Option<Expr>,
}

impl Default for Filter {
    fn default() -> Self {
        Filter::all()
    }
}

impl Filter {
    /// The filter that selects every socket.
    pub fn all() -> Filter {
        Filter {
            leading: Vec::new(),
            expr: None,
        }
    }

    /// Parse filter text with no system names but `localhost`.
    pub fn parse(text: &str) -> Result<Filter, ParseError> {
        Filter::parse_with(text, &NoResolver)
    }

    /// Parse filter text, resolving names through `resolver`.
    pub fn parse_with(text: &str, resolver: &dyn Resolver) -> Result<Filter, ParseError> {
        parser::Parser::new(text, resolver)?.parse_filter()
    }

    /// Parse command-line words: separate arguments and one quoted string mean the same, as in ss.
    pub fn from_args(args: &[String], resolver: &dyn Resolver) -> Result<Filter, ParseError> {
        Filter::parse_with(&args.join(" "), resolver)
    }

    /// True when the filter selects everything.
    pub fn is_all(&self) -> bool {
        self.leading.is_empty() && self.expr.is_none()
    }

    /// The states the leading `state`/`exclude` clauses select, in ss's order: the first
    /// `state` starts from nothing and the first `exclude` from everything; each later clause
    /// adds (`state`) or removes (`exclude`) its states.
    pub fn leading_states(&self) -> StateSet {
        let mut mask: Option<StateSet> = None;
        for c in &self.leading {
            let base = mask.unwrap_or(if c.exclude {
                StateSet::ALL
            } else {
                StateSet::EMPTY
            });
            mask = Some(if c.exclude {
                base.intersect(c.word.set.complement())
            } else {
                base.union(c.word.set)
            });
        }
        mask.unwrap_or(StateSet::ALL)
    }

    /// True when a state word names bound-inactive on its own (`state bound-inactive`).
    fn names_bound_inactive(&self) -> bool {
        let only = StateSet::of(&[TcpState::BoundInactive]);
        self.leading.iter().any(|c| c.word.set == only)
            || self.any_pred(|p| matches!(p, Pred::State { word, .. } if word.set == only))
    }

    /// The kernel state mask: the leading states, narrowed to the states in which the
    /// expression can hold at all (`state` words inside the expression count too).
    ///
    /// Bound-inactive sockets (bound, neither listening nor connected; dumped by Linux 6.9+) are
    /// asked for only when a filter names that state alone: asking makes the kernel walk its
    /// whole bind table, which doubled the cost of a filtered query at 100k sockets, and ss does
    /// not ask for them either.
    pub fn states(&self) -> StateSet {
        let mut lead = self.leading_states();
        if !self.names_bound_inactive() {
            lead = lead.without(TcpState::BoundInactive);
        }
        let Some(expr) = &self.expr else { return lead };
        lead.iter()
            .filter(|st| {
                let facts = Facts {
                    socket: None,
                    state: Some(*st),
                    owners_known: false,
                    ephemeral: DEFAULT_EPHEMERAL,
                };
                eval(expr, &facts) != Some(false)
            })
            .collect()
    }

    /// The sock_diag bytecode for sockets of `family`, or `None` when no condition can be
    /// evaluated by the kernel. What it accepts always includes what [`Filter::matches`] accepts.
    pub fn bytecode(&self, family: Family) -> Option<Vec<u8>> {
        bytecode::compile(self.expr.as_ref()?, family)
    }

    /// Full user-space evaluation, `autobound` judged by Linux's default port range.
    pub fn matches(&self, s: &Socket) -> bool {
        self.matches_with(s, DEFAULT_EPHEMERAL)
    }

    /// Full user-space evaluation with the host's ip_local_port_range (for `autobound`).
    pub fn matches_with(&self, s: &Socket, ephemeral: (u16, u16)) -> bool {
        self.judge(s, true, ephemeral) == Some(true)
    }

    /// False only when the socket fails whatever the processes holding it turn out to be: the
    /// check to run before owners are looked up. Call [`Filter::matches`] after.
    pub fn may_match(&self, s: &Socket, ephemeral: (u16, u16)) -> bool {
        self.judge(s, false, ephemeral) != Some(false)
    }

    fn judge(&self, s: &Socket, owners_known: bool, ephemeral: (u16, u16)) -> Option<bool> {
        if !eval::in_set(self.leading_states(), s.state) {
            return Some(false);
        }
        let Some(expr) = &self.expr else {
            return Some(true);
        };
        let facts = Facts {
            socket: Some(s),
            state: None,
            owners_known,
            ephemeral,
        };
        eval(expr, &facts)
    }

    fn any_pred(&self, f: impl Fn(&Pred) -> bool) -> bool {
        let mut found = false;
        if let Some(e) = &self.expr {
            e.preds(&mut |p| found |= f(p));
        }
        found
    }

    /// True when the filter looks at the processes holding a socket (pid, comm, container).
    pub fn needs_owners(&self) -> bool {
        self.any_pred(|p| {
            matches!(
                p,
                Pred::Comm(_)
                    | Pred::Container(_)
                    | Pred::Num {
                        field: NumField::Pid,
                        ..
                    }
            )
        })
    }

    /// True when the filter needs tcp_info (`idle`).
    pub fn needs_info(&self) -> bool {
        self.any_pred(|p| {
            matches!(
                p,
                Pred::Num {
                    field: NumField::IdleMs,
                    ..
                }
            )
        })
    }

    /// True when the filter uses `autobound` (whose user-space check needs the port range).
    pub fn uses_autobound(&self) -> bool {
        self.any_pred(|p| matches!(p, Pred::Autobound))
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        for c in &self.leading {
            let kw = if c.exclude { "exclude" } else { "state" };
            write!(f, "{sep}{kw} {}", c.word.name)?;
            sep = " ";
        }
        if let Some(e) = &self.expr {
            f.write_str(sep)?;
            // A `state` word first would be read back as a leading clause: keep it inside.
            if matches!(e.leftmost(), Expr::Pred(Pred::State { .. })) {
                write!(f, "( {e} )")?;
            } else {
                write!(f, "{e}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests;
