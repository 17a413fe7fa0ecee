//! The ss filter language applied to state changes, and the part of it the kernel can apply
//! before a record is ever written to a ring buffer.
//!
//! A change matches when the socket matches **before or after** it: `trace state close-wait`
//! shows ESTABLISHED -> CLOSE_WAIT and CLOSE_WAIT -> LAST_ACK; `sport = :80` every change of a
//! socket on local port 80. Owner conditions (`pid`, `comm`) and `netns` are judged once the owner
//! is known; a change whose owner is unknown has no pid and no command name.
//!
//! Conditions on things a state change does not carry (queues, timers, idle time, uid, device,
//! mark, container) are refused with a message rather than silently matching nothing.
//!
//! **Kernel filter.** [`TraceFilter::kernel_filter`] lowers what it can into the ftrace filter
//! syntax of `PERF_EVENT_IOC_SET_FILTER` (fields `oldstate`, `newstate`, `sport`, `dport`,
//! `family`, `protocol`). It always accepts a superset of what [`TraceFilter::matches`] accepts:
//! a condition it cannot express counts as true, and negation is applied only to exact parts.
//! `sport` conditions also let `sport == 0` through, because connect()'s CLOSE -> SYN_SENT is
//! recorded before the local port is chosen.

use crate::analyze::filter::{CmpOp, Direction, Expr, Filter, NumField, Pred};
use crate::model::process::{Owner, ProcessIdentity};
use crate::model::socket::{Family, Socket};
use crate::model::state::{StateSet, TcpState};
use crate::model::transition::{Lifetime, ModelCheck, Transition};

/// A filter checked to make sense for state changes.
#[derive(Debug, Clone)]
pub struct TraceFilter {
    filter: Filter,
    families: Vec<Family>,
}

/// The conditions a state change cannot be judged by, with why.
fn unsupported(p: &Pred) -> Option<&'static str> {
    Some(match p {
        Pred::Dev { .. } => "dev (a state change does not carry the bound device)",
        Pred::Fwmark { .. } => "fwmark (a state change does not carry the socket mark)",
        Pred::Num { field, .. } => match field {
            NumField::Pid => return None,
            NumField::Uid => "uid (a state change does not carry the socket's uid)",
            NumField::RecvQ | NumField::SendQ => {
                "recvq/sendq (queues are not part of a state change)"
            }
            NumField::IdleMs => "idle (a state change does not carry tcp_info)",
        },
        Pred::User { .. } => "user (a state change does not carry the socket's uid)",
        Pred::Timer(_) => "timer (timers are not part of a state change)",
        Pred::Container(_) => "container (trace names owners by pid and command only)",
        _ => return None,
    })
}

impl TraceFilter {
    /// Check `filter` for use on state changes; `families` from -4/-6 (both when empty).
    pub fn new(filter: Filter, families: &[Family]) -> Result<TraceFilter, String> {
        let mut refused = None;
        if let Some(e) = &filter.expr {
            e.preds(&mut |p| {
                if refused.is_none() {
                    refused = unsupported(p);
                }
            });
        }
        if let Some(why) = refused {
            return Err(format!(
                "trace cannot filter on {why}; use addresses, ports, states, pid, comm, netns"
            ));
        }
        let families = if families.is_empty() {
            vec![Family::Inet, Family::Inet6]
        } else {
            families.to_vec()
        };
        Ok(TraceFilter { filter, families })
    }

    /// The families changes must be of (-4, -6, or both).
    pub fn families(&self) -> &[Family] {
        &self.families
    }

    /// True when owner conditions (pid, comm) are part of the filter.
    pub fn needs_owners(&self) -> bool {
        self.filter.needs_owners()
    }

    pub fn is_all(&self) -> bool {
        self.filter.is_all() && self.families.len() == 2
    }

    /// True when the change matches: the socket before or after it matches the filter.
    pub fn matches(&self, t: &Transition) -> bool {
        if !self.families.contains(&t.family) {
            return false;
        }
        if self.filter.is_all() {
            return true;
        }
        let mut s = Socket::new(t.old, t.family, t.local, t.peer);
        s.cookie = t.cookie.unwrap_or(0);
        s.netns = t.netns.clone();
        if let Some(o) = &t.owner {
            s.owners.push(Owner {
                pid: o.pid,
                fd: 0,
                process: ProcessIdentity::named(o.comm.as_deref().unwrap_or_default()),
            });
        }
        if self.filter.matches(&s) {
            return true;
        }
        s.state = t.new;
        self.filter.matches(&s)
    }

    /// The filter itself when it has no state conditions (and no owner conditions), so that a
    /// socket dump may apply it without a socket dropping out when its state changes.
    pub fn stateless(&self) -> Option<&Filter> {
        let mut has_state = !self.filter.leading.is_empty();
        if let Some(e) = &self.filter.expr {
            e.preds(&mut |p| has_state |= matches!(p, Pred::State { .. }));
        }
        (!has_state && !self.filter.is_all()).then_some(&self.filter)
    }

    /// True when a finished connection matches: the socket in any state it went through.
    pub fn matches_lifetime(&self, l: &Lifetime) -> bool {
        if !self.families.contains(&l.family) {
            return false;
        }
        let t = |old: TcpState| Transition {
            time_unix_ns: l.end_unix_ns,
            family: l.family,
            local: l.local,
            peer: l.peer,
            old,
            new: old,
            in_old_ms: None,
            owner: l.owner.clone(),
            owner_from: l.owner_from,
            netns: l.netns.clone(),
            cookie: l.cookie,
            model: ModelCheck::Ok,
            skaddr: 0,
            cpu: 0,
            sample_pid: 0,
            flags: 0,
        };
        l.states.iter().any(|s| self.matches(&t(*s)))
    }

    /// The ftrace filter for `sock:inet_sock_set_state` (always at least `protocol == 6`).
    pub fn kernel_filter(&self) -> String {
        let mut parts = vec!["protocol == 6".to_string()];
        if self.families.len() == 1 {
            parts.push(match self.families[0] {
                Family::Inet => "family == 2".to_string(),
                Family::Inet6 => "family == 10".to_string(),
            });
        }
        let side = |field: &str| -> Low {
            let lead = self.filter.leading_states();
            let lead = if lead.is_all() {
                Low::TRUE
            } else {
                state_low(field, lead)
            };
            match &self.filter.expr {
                None => lead,
                Some(e) => and(lead, lower(e, field)),
            }
        };
        let either = or(side("oldstate"), side("newstate"));
        if let Some(t) = either.text {
            parts.push(format!("({t})"));
        }
        parts.join(" && ")
    }
}

/// A lowered condition: `text: None` is true (exactly so when `exact`, or as far as the kernel
/// can tell when not); `exact` says whether it accepts precisely what user space accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Low {
    text: Option<String>,
    exact: bool,
}

impl Low {
    const TRUE: Low = Low {
        text: None,
        exact: true,
    };
    const UNKNOWN: Low = Low {
        text: None,
        exact: false,
    };
    fn exact(text: String) -> Low {
        Low {
            text: Some(text),
            exact: true,
        }
    }
}

fn and(a: Low, b: Low) -> Low {
    let text = match (a.text, b.text) {
        (Some(x), Some(y)) => Some(format!("{x} && {y}")),
        (x, y) => x.or(y),
    };
    Low {
        text,
        exact: a.exact && b.exact,
    }
}

fn or(a: Low, b: Low) -> Low {
    match (a.text, b.text) {
        (Some(x), Some(y)) if x == y => Low {
            text: Some(x),
            exact: a.exact && b.exact,
        },
        (Some(x), Some(y)) => Low {
            text: Some(format!("({x}) || ({y})")),
            exact: a.exact && b.exact,
        },
        (None, _) if a.exact => Low::TRUE,
        (_, None) if b.exact => Low::TRUE,
        _ => Low::UNKNOWN,
    }
}

/// The ftrace filter for changes *into* one of `states` (what `doctor --watch` traces to make
/// CLOSE-WAIT ages exact).
pub fn entering_filter(states: StateSet) -> String {
    match state_low("newstate", states).text {
        Some(t) => format!("protocol == 6 && {t}"),
        None => "protocol == 6".to_string(),
    }
}

fn state_low(field: &str, set: StateSet) -> Low {
    let states: Vec<String> = set
        .iter()
        .filter(|s| *s != TcpState::NewSynRecv && *s != TcpState::BoundInactive)
        .map(|s| format!("{field} == {}", s.kernel_number()))
        .collect();
    match states.len() {
        // No state the tracepoint reports: nothing matches on this side.
        0 => Low::exact(format!("{field} == 0")),
        _ => Low::exact(format!("({})", states.join(" || "))),
    }
}

fn op_text(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "==",
        CmpOp::Ne => "!=",
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
    }
}

fn port_low(side: Direction, op: CmpOp, port: u16) -> Low {
    match side {
        Direction::Src => Low {
            text: Some(format!("(sport {} {port} || sport == 0)", op_text(op))),
            exact: false,
        },
        Direction::Dst => Low::exact(format!("dport {} {port}", op_text(op))),
    }
}

fn lower(e: &Expr, state_field: &str) -> Low {
    match e {
        Expr::Pred(p) => match p {
            Pred::State { exclude, word } => {
                let set = if *exclude {
                    word.set.complement()
                } else {
                    word.set
                };
                state_low(state_field, set)
            }
            Pred::Port {
                side,
                op,
                port: Some(port),
            } => port_low(*side, *op, *port),
            Pred::Port {
                op: CmpOp::Eq,
                port: None,
                ..
            } => Low::TRUE,
            Pred::Host { side, cond } if cond.addrs.is_empty() && cond.name.is_none() => {
                match cond.port {
                    Some(port) => port_low(*side, CmpOp::Eq, port),
                    None => Low::TRUE,
                }
            }
            _ => Low::UNKNOWN,
        },
        Expr::Not(a) => {
            let a = lower(a, state_field);
            match (a.exact, a.text) {
                (true, Some(t)) => Low::exact(format!("!({t})")),
                _ => Low::UNKNOWN,
            }
        }
        Expr::And(a, b) => and(lower(a, state_field), lower(b, state_field)),
        Expr::Or(a, b) => or(lower(a, state_field), lower(b, state_field)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::track::tests::{change, ep};
    use super::*;
    use crate::model::transition::{OwnerFrom, TraceOwner};
    use TcpState::*;

    fn f(text: &str) -> TraceFilter {
        TraceFilter::new(Filter::parse(text).unwrap(), &[]).unwrap()
    }

    fn t(old: TcpState, new: TcpState, lport: u16, rport: u16, pid: Option<u32>) -> Transition {
        let c = change(1, 2, old, new, 1, true);
        Transition {
            time_unix_ns: c.time_unix_ns,
            family: Family::Inet,
            local: ep("127.0.0.1", lport),
            peer: ep("10.1.2.3", rport),
            old,
            new,
            in_old_ms: None,
            owner: pid.map(|pid| TraceOwner {
                pid,
                comm: Some("nginx".into()),
            }),
            owner_from: OwnerFrom::Context,
            netns: None,
            cookie: None,
            model: ModelCheck::Ok,
            skaddr: 2,
            cpu: 0,
            sample_pid: 1,
            flags: 0,
        }
    }

    #[test]
    fn a_change_matches_when_the_socket_matches_before_or_after_it() {
        let cw = f("state close-wait");
        assert!(cw.matches(&t(Established, CloseWait, 80, 4000, None)));
        assert!(cw.matches(&t(CloseWait, LastAck, 80, 4000, None)));
        assert!(!cw.matches(&t(Established, FinWait1, 80, 4000, None)));
        let port = f("sport = :80 and dst 10.0.0.0/8");
        assert!(port.matches(&t(SynRecv, Established, 80, 4000, None)));
        assert!(!port.matches(&t(SynRecv, Established, 81, 4000, None)));
        assert!(f("").matches(&t(SynRecv, Established, 81, 4000, None)));
    }

    #[test]
    fn owner_conditions_need_a_known_owner() {
        let comm = f("comm nginx");
        assert!(comm.needs_owners());
        assert!(comm.matches(&t(Established, CloseWait, 80, 1, Some(5))));
        assert!(!comm.matches(&t(Established, CloseWait, 80, 1, None)));
        assert!(f("pid = 5").matches(&t(Established, CloseWait, 80, 1, Some(5))));
    }

    #[test]
    fn conditions_a_change_does_not_carry_are_refused() {
        for text in [
            "recvq > 0",
            "timer on",
            "idle > 5s",
            "uid = 0",
            "container *",
        ] {
            let err = TraceFilter::new(Filter::parse(text).unwrap(), &[]).unwrap_err();
            assert!(err.contains("trace cannot filter on"), "{text}: {err}");
        }
    }

    #[test]
    fn a_connection_matches_in_any_state_it_went_through() {
        let base = t(Close, SynSent, 80, 1, Some(5));
        let l = Lifetime {
            start_unix_ns: None,
            end_unix_ns: 0,
            duration_ms: None,
            family: Family::Inet,
            local: base.local,
            peer: base.peer,
            owner: base.owner.clone(),
            owner_from: OwnerFrom::Context,
            netns: None,
            cookie: None,
            bytes_sent: None,
            bytes_received: None,
            states: vec![Close, SynSent, Established, FinWait1, Close],
            incomplete: false,
        };
        assert!(f("state fin-wait-1").matches_lifetime(&l));
        assert!(!f("state close-wait").matches_lifetime(&l));
        assert!(f("comm nginx and sport = :80").matches_lifetime(&l));
    }

    #[test]
    fn families() {
        let v6 = TraceFilter::new(Filter::all(), &[Family::Inet6]).unwrap();
        assert!(!v6.matches(&t(SynRecv, Established, 80, 1, None)));
        assert_eq!(v6.kernel_filter(), "protocol == 6 && family == 10");
    }

    #[test]
    fn kernel_filters() {
        assert_eq!(f("").kernel_filter(), "protocol == 6");
        assert_eq!(
            f("state close-wait").kernel_filter(),
            "protocol == 6 && (((oldstate == 8)) || ((newstate == 8)))"
        );
        assert_eq!(
            f("dport = :5555").kernel_filter(),
            "protocol == 6 && (dport == 5555)"
        );
        // Addresses are not in the kernel filter; the port part still is.
        assert_eq!(
            f("dst 10.0.0.0/8 and dport = :22").kernel_filter(),
            "protocol == 6 && (dport == 22)"
        );
        assert_eq!(
            f("state close-wait dport = :22").kernel_filter(),
            "protocol == 6 && (((oldstate == 8) && dport == 22) || ((newstate == 8) && dport == 22))"
        );
        // An inexact part under `not` is left out rather than negated.
        assert_eq!(f("not sport = :80").kernel_filter(), "protocol == 6");
        assert_eq!(
            f("not dport = :80").kernel_filter(),
            "protocol == 6 && (!(dport == 80))"
        );
        // An `or` with a condition the kernel cannot see is the kernel's `true`.
        assert_eq!(f("dport = :1 or dst 10/8").kernel_filter(), "protocol == 6");
        assert_eq!(
            f("sport = :80").kernel_filter(),
            "protocol == 6 && ((sport == 80 || sport == 0))"
        );
    }

    #[test]
    fn entering_one_state() {
        assert_eq!(
            super::entering_filter(StateSet::of(&[TcpState::CloseWait])),
            "protocol == 6 && (newstate == 8)"
        );
    }
}
