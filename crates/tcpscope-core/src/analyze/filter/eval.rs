//! Evaluating a filter on a socket in user space — every condition, including the ones the
//! kernel cannot evaluate (owners, queues, timers, idle time).
//!
//! Evaluation is three-valued so that one function serves three callers: full matching (every
//! fact known), pre-filtering before owners are looked up (owner conditions unknown), and the
//! state-mask analysis (only the state known). `None` means "cannot tell yet"; `and`/`or`/`not`
//! follow Kleene's logic, so a definite answer is never wrong.

use super::ast::{CmpOp, Direction, Expr, HostCond, NumField, Pred, Prefix};
use crate::model::socket::{Endpoint, Family, Socket};
use crate::model::state::{StateSet, TcpState};
use std::net::IpAddr;

/// What the evaluator may look at.
pub(super) struct Facts<'a> {
    pub socket: Option<&'a Socket>,
    /// Only with `socket: None`: the state being analysed.
    pub state: Option<TcpState>,
    pub owners_known: bool,
    /// ip_local_port_range, for `autobound`.
    pub ephemeral: (u16, u16),
}

pub(super) fn eval(e: &Expr, f: &Facts) -> Option<bool> {
    match e {
        Expr::Pred(p) => pred(p, f),
        Expr::Not(a) => eval(a, f).map(|v| !v),
        Expr::And(a, b) => match (eval(a, f), eval(b, f)) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        },
        Expr::Or(a, b) => match (eval(a, f), eval(b, f)) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        },
    }
}

fn pred(p: &Pred, f: &Facts) -> Option<bool> {
    if let Pred::State { exclude, word } = p {
        let state = f.socket.map(|s| s.state).or(f.state)?;
        return Some(in_set(word.set, state) != *exclude);
    }
    // A listener sends and receives nothing: it has no idle time to compare (and so no
    // listener matches an `idle` condition, as none shows one).
    if matches!(
        p,
        Pred::Num {
            field: NumField::IdleMs,
            ..
        }
    ) && f.socket.map(|s| s.state).or(f.state) == Some(TcpState::Listen)
    {
        return Some(false);
    }
    let s = f.socket?;
    let owners = || f.owners_known.then_some(&s.owners);
    Some(match p {
        Pred::State { .. } => return None,
        Pred::Host { side, cond } => host_matches(cond, s.family, endpoint(s, *side)),
        Pred::Port { side, op, port } => match port {
            Some(port) => op.holds(endpoint(s, *side).port, *port),
            None => *op != CmpOp::Ne,
        },
        Pred::Dev { index, .. } => s.ifindex == *index,
        Pred::Fwmark { mark, mask } => s.mark.unwrap_or(0) & mask == *mark,
        Pred::Autobound => (f.ephemeral.0..=f.ephemeral.1).contains(&s.local.port),
        Pred::Num { field, op, value } => match field {
            NumField::Pid => owners()?.iter().any(|o| op.holds(u64::from(o.pid), *value)),
            NumField::Uid => op.holds(u64::from(s.uid), *value),
            NumField::RecvQ => op.holds(u64::from(s.recv_q), *value),
            NumField::SendQ => op.holds(u64::from(s.send_q), *value),
            NumField::IdleMs => match s.tcp_info.as_ref().and_then(|i| i.idle_ms()) {
                Some(ms) => op.holds(u64::from(ms), *value),
                None => false,
            },
        },
        Pred::User { uid, .. } => s.uid == *uid,
        Pred::Comm(pat) => owners()?.iter().any(|o| glob(pat, &o.process.comm)),
        Pred::Container(pat) => owners()?.iter().any(|o| match &o.process.container {
            None => false,
            Some(_) if pat == "*" => true,
            Some(c) => c.id.starts_with(pat.as_str()) || c.pod_uid.as_deref() == Some(pat),
        }),
        Pred::Netns(v) => s.netns.as_ref().is_some_and(|n| {
            n.name.as_deref() == Some(v.as_str())
                || n.path.as_deref() == Some(v.as_str())
                || n.inode.to_string() == *v
        }),
        Pred::Timer(kind) => s.timer.map(|t| t.kind) == *kind,
        // Kernel-owned mini sockets (TIME-WAIT, request sockets) carry no cgroup: no match, as
        // in the kernel, which compares their id 0.
        Pred::Cgroup { id, .. } => s.cgroup_id == Some(*id),
    })
}

/// Membership as the kernel reports states: request sockets (NEW_SYN_RECV) arrive as SYN_RECV,
/// so a set naming new-syn-recv takes SYN_RECV sockets too.
pub(super) fn in_set(set: StateSet, state: TcpState) -> bool {
    set.contains(state) || (state == TcpState::SynRecv && set.contains(TcpState::NewSynRecv))
}

fn endpoint(s: &Socket, side: Direction) -> &Endpoint {
    match side {
        Direction::Src => &s.local,
        Direction::Dst => &s.peer,
    }
}

/// As the kernel's INET_DIAG_BC_S_COND / D_COND: the port (if any) must be equal, and the
/// address must fall in one of the prefixes (if any). An IPv4 prefix matches IPv4 sockets and
/// IPv4-mapped addresses of IPv6 sockets; an IPv6 prefix matches only IPv6 sockets.
fn host_matches(cond: &HostCond, family: Family, ep: &Endpoint) -> bool {
    if cond.port.is_some_and(|p| p != ep.port) || cond.family.is_some_and(|f| f != family) {
        return false;
    }
    cond.addrs.is_empty()
        || cond
            .addrs
            .iter()
            .any(|p| prefix_matches(p, family, ep.addr))
}

fn prefix_matches(p: &Prefix, family: Family, addr: IpAddr) -> bool {
    // Endpoints hold IPv4-mapped addresses as IPv4 (see socket.rs); undo that for IPv6 rules.
    let (have, want): (u128, u128) = match (p.addr, addr, family) {
        (IpAddr::V4(want), IpAddr::V4(have), _) => (
            u128::from(u32::from(have)) << 96,
            u128::from(u32::from(want)) << 96,
        ),
        (IpAddr::V4(_), IpAddr::V6(_), _) => return false,
        (IpAddr::V6(_), _, Family::Inet) => return false,
        (IpAddr::V6(want), IpAddr::V4(have), Family::Inet6) => {
            (u128::from(have.to_ipv6_mapped()), u128::from(want))
        }
        (IpAddr::V6(want), IpAddr::V6(have), Family::Inet6) => (u128::from(have), u128::from(want)),
    };
    let len = u32::from(p.len);
    if len == 0 {
        return true;
    }
    let mask = u128::MAX << (128 - len.min(128));
    have & mask == want & mask
}

/// Shell-style wildcard match: `*` any run of characters, `?` one character.
pub(super) fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("nginx", "nginx"));
        assert!(glob("ngi*", "nginx"));
        assert!(glob("*x", "nginx"));
        assert!(glob("n?inx", "nginx"));
        assert!(glob("*", ""));
        assert!(!glob("ngin", "nginx"));
        assert!(!glob("?", ""));
        assert!(glob("a*b*c", "aXbYbZc"));
    }

    #[test]
    fn prefixes_follow_the_kernel() {
        let v4 = |s: &str, len| Prefix {
            addr: s.parse().unwrap(),
            len,
        };
        let a = |s: &str| s.parse::<IpAddr>().unwrap().to_canonical();
        assert!(prefix_matches(
            &v4("10.0.0.0", 8),
            Family::Inet,
            a("10.9.8.7")
        ));
        assert!(!prefix_matches(
            &v4("10.0.0.0", 8),
            Family::Inet,
            a("11.0.0.1")
        ));
        // IPv4 rule, IPv4-mapped address on an IPv6 socket: matches.
        assert!(prefix_matches(
            &v4("10.0.0.0", 8),
            Family::Inet6,
            a("::ffff:10.1.1.1")
        ));
        // IPv4 rule, real IPv6 address: never.
        assert!(!prefix_matches(&v4("0.0.0.0", 0), Family::Inet6, a("::1")));
        // IPv6 rule on an IPv4 socket: never; mapped rule on a mapped address: matches.
        assert!(!prefix_matches(&v4("::", 0), Family::Inet, a("10.0.0.1")));
        assert!(prefix_matches(
            &v4("::ffff:0:0", 96),
            Family::Inet6,
            a("::ffff:10.0.0.1")
        ));
        assert!(prefix_matches(&v4("::1", 128), Family::Inet6, a("::1")));
        assert!(prefix_matches(
            &v4("10.1.2.3", 32),
            Family::Inet,
            a("10.1.2.3")
        ));
    }
}
