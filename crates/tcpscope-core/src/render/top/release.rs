//! `top`'s release key: which sockets it selects and how its pane reads. The pane shows what
//! `tcpscope release` prints — its dry run, then, after `y`, what became of each socket — from
//! the same [`Report`] and the same renderer, so top and the command never disagree.
//!
//! What the key selects:
//! * on a socket (the drill-down or the detail pane): that socket, by its state and both
//!   endpoints ([`exact_filter`]), then by its cookie;
//! * on a group: the group's sockets that top's filter selects — in CLOSE-WAIT when the filter
//!   names no state (a leak is what release is for; the dry run shows the exact command, and
//!   `/ state last-ack` first selects another state).

use super::text::{Line, Tone};
use crate::analyze::filter::Filter;
use crate::analyze::groups::{drill_filter, key_of, narrowing, GroupBy, GroupKey};
use crate::analyze::release::{exact_filter, Report};
use crate::model::socket::Socket;
use crate::model::state::TcpState;
use crate::render::release::write_report;

/// The sockets the release key asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseTarget {
    /// What the selection asks the kernel for (and the filter of the equivalent command).
    pub filter: Filter,
    /// Which of those sockets are the target.
    pub keep: Keep,
    /// What is selected, in words ("tcpscope[5309]'s CLOSE-WAIT sockets", "this socket").
    pub what: String,
}

/// Which of the sockets a target's filter selects it keeps.
#[derive(Debug, Clone, PartialEq)]
pub enum Keep {
    /// Every one (the filter names the group exactly: a pid, a port, a peer).
    Every,
    /// Those of one group the filter cannot name (a container, a namespace, kernel-owned).
    Group(GroupBy, GroupKey),
    /// The one socket with this cookie.
    Cookie(u64),
}

impl Keep {
    pub fn keeps(&self, s: &Socket) -> bool {
        match self {
            Keep::Every => true,
            Keep::Group(by, key) => key_of(*by, s) == *key,
            Keep::Cookie(c) => s.cookie == *c,
        }
    }
}

/// The group's sockets that `base` selects — in CLOSE-WAIT when `base` names no state.
pub fn group_target(base: &Filter, by: GroupBy, key: &GroupKey) -> ReleaseTarget {
    let names_states = !base.states().with(TcpState::BoundInactive).is_all();
    let base = if names_states {
        base.clone()
    } else {
        let leading = Filter::parse("state close-wait")
            .map(|f| f.leading)
            .unwrap_or_default();
        Filter {
            leading,
            expr: base.expr.clone(),
        }
    };
    let states: Vec<&str> = base.states().iter().map(|s| s.display_name()).collect();
    let states = if states.len() <= 3 {
        states.join("/")
    } else {
        "selected".to_string()
    };
    ReleaseTarget {
        filter: drill_filter(&base, by, key),
        keep: match narrowing(by, key) {
            Some(_) => Keep::Every,
            None => Keep::Group(by, key.clone()),
        },
        what: format!("{}'s {states} sockets", key.label),
    }
}

/// One socket: by its state and endpoints, then by its cookie (when the source has cookies).
pub fn socket_target(s: &Socket) -> ReleaseTarget {
    let text = exact_filter(&[(s.state, s.local, s.peer)]);
    let filter = Filter::parse(&text).unwrap_or_else(|_| Filter::all());
    ReleaseTarget {
        filter,
        keep: if s.cookie != 0 {
            Keep::Cookie(s.cookie)
        } else {
            Keep::Every
        },
        what: format!(
            "the {} socket {} → {}",
            s.state.display_name(),
            s.local,
            s.peer
        ),
    }
}

/// Where the release pane is.
#[derive(Debug, Clone, PartialEq)]
pub enum ReleasePhase {
    /// Selecting the sockets and deciding (the dry run is on its way).
    Selecting,
    /// The dry run, waiting for `y`.
    Confirm(Report),
    /// Acting on them.
    Acting(Report),
    /// What became of each.
    Done(Report),
    /// The selection or the action failed as a whole, or release cannot run here (why).
    Failed(String),
}

/// Sockets a dry run would end.
pub fn to_end(r: &Report) -> usize {
    r.sockets.iter().filter(|i| i.method.is_some()).count()
}

/// The pane's lines: what is selected, then the report as `tcpscope release` prints it, then
/// what the keys do now.
pub fn release_lines(target: &ReleaseTarget, phase: &ReleasePhase) -> Vec<Line> {
    let mut out = vec![Line::of(format!(" Selected: {}", target.what), Tone::Bold)];
    let report = match phase {
        ReleasePhase::Selecting => {
            out.push(Line::of(
                " selecting the sockets and their owners (a dry run: nothing is touched yet)…",
                Tone::Dim,
            ));
            return out;
        }
        ReleasePhase::Failed(e) => {
            out.push(Line::of(format!(" {e}"), Tone::Bad));
            out.push(Line::new());
            out.push(Line::of(" Esc closes this pane", Tone::Dim));
            return out;
        }
        ReleasePhase::Confirm(r) | ReleasePhase::Acting(r) | ReleasePhase::Done(r) => r,
    };
    out.push(Line::new());
    let mut text = Vec::new();
    if write_report(&mut text, report).is_err() {
        return out;
    }
    for line in String::from_utf8_lossy(&text).lines() {
        // No process exits here: the status `release` would exit with means nothing.
        if line.starts_with("exit status") {
            continue;
        }
        let tone = if line.starts_with("tcpscope release:") {
            match phase {
                ReleasePhase::Done(r) if r.exit_code() == 0 => Tone::Good,
                ReleasePhase::Done(_) => Tone::Warn,
                _ => Tone::Bold,
            }
        } else if line.starts_with("warning:") || line.starts_with("not released") {
            Tone::Warn
        } else if line.trim_start().starts_with("next:") || line.starts_with("to end them:") {
            Tone::Key
        } else {
            Tone::Plain
        };
        out.push(Line::of(format!(" {line}"), tone));
    }
    out.push(Line::new());
    match phase {
        ReleasePhase::Confirm(r) if to_end(r) > 0 => {
            let n = to_end(r);
            let mut l = Line::of(" Press ", Tone::Warn);
            l.push("y", Tone::Key)
                .push(
                    format!(
                        " to end {} now, as `tcpscope release --yes` would; ",
                        if n == 1 {
                            "this socket".to_string()
                        } else {
                            format!("these {n} sockets")
                        }
                    ),
                    Tone::Warn,
                )
                .push("n", Tone::Key)
                .push(" or ", Tone::Warn)
                .push("Esc", Tone::Key)
                .push(" cancels (nothing is touched).", Tone::Warn);
            out.push(l);
        }
        ReleasePhase::Confirm(_) => out.push(Line::of(
            " Nothing to end here. Esc closes this pane.",
            Tone::Dim,
        )),
        ReleasePhase::Acting(_) => out.push(Line::of(
            " releasing: looking each socket up again, acting, waiting for it to leave…",
            Tone::Warn,
        )),
        _ => out.push(Line::of(
            " Esc closes this pane (the next poll shows what remains).",
            Tone::Dim,
        )),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::diagnose::fixtures::*;

    #[test]
    fn a_group_target_defaults_to_close_wait_and_keeps_the_filter() {
        let key = GroupKey {
            label: "srv[42]".into(),
            pid: Some(42),
        };
        let t = group_target(&Filter::all(), GroupBy::Process, &key);
        assert_eq!(t.filter.to_string(), "state close-wait pid = 42");
        assert_eq!(t.keep, Keep::Every);
        assert_eq!(t.what, "srv[42]'s CLOSE-WAIT sockets");
        let base = Filter::parse("dport = :5432").unwrap();
        let t = group_target(&base, GroupBy::Process, &key);
        assert_eq!(
            t.filter.to_string(),
            "state close-wait dport = :5432 and pid = 42"
        );
        // A filter that names states is taken as it is.
        let base = Filter::parse("state last-ack").unwrap();
        let t = group_target(&base, GroupBy::Process, &key);
        assert_eq!(t.filter.to_string(), "state last-ack pid = 42");
        assert_eq!(t.what, "srv[42]'s LAST-ACK sockets");
    }

    #[test]
    fn groups_the_language_cannot_name_are_kept_by_key() {
        let kernel = GroupKey {
            label: "kernel".into(),
            pid: None,
        };
        let base = Filter::parse("state time-wait").unwrap();
        let t = group_target(&base, GroupBy::Process, &kernel);
        assert_eq!(t.filter.to_string(), "state time-wait");
        assert_eq!(t.keep, Keep::Group(GroupBy::Process, kernel));
        let mut tw = sock(TcpState::TimeWait, "127.0.0.1:80", "127.0.0.1:5000");
        tw.inode = 0;
        assert!(t.keep.keeps(&tw));
        let mut held = sock(TcpState::TimeWait, "127.0.0.1:80", "127.0.0.1:5001");
        owned(&mut held, 7, "srv");
        assert!(!t.keep.keeps(&held));
    }

    #[test]
    fn a_socket_target_is_its_endpoints_and_cookie() {
        let mut s = sock(TcpState::CloseWait, "[::1]:8080", "[::1]:40000");
        s.cookie = 77;
        let t = socket_target(&s);
        assert!(t.filter.matches(&s), "{}", t.filter);
        assert!(
            t.filter.to_string().starts_with("state close-wait"),
            "{}",
            t.filter
        );
        assert_eq!(t.keep, Keep::Cookie(77));
        let mut other = s.clone();
        other.cookie = 78;
        assert!(!t.keep.keeps(&other));
        other.peer.port = 40001;
        assert!(!t.filter.matches(&other));
    }
}
