//! The release decisions against sockets written as code: which method, which refusal, what
//! each party is told, how a socket's fate after acting is read, and the exit status.

use super::outcome::{not_attempted, owner_gone};
use super::*;
use crate::analyze::diagnose::fixtures::{idle, owned, sock, timer};
use crate::analyze::filter::Filter;
use crate::decode::process_text::{parse_status, ProcStatus};
use crate::model::socket::{Netns, TimerKind};
use std::collections::BTreeMap;

const IGNORES: &str =
    "State:\tS (sleeping)\nUid:\t0\t0\t0\t0\nSigIgn:\t0000000000001000\nSigCgt:\t0\n";
const DEFAULT: &str =
    "State:\tS (sleeping)\nUid:\t1000\t1000\t1000\t1000\nSigIgn:\t0\nSigCgt:\t0\n";
const STOPPED: &str =
    "State:\tT (stopped)\nUid:\t0\t0\t0\t0\nSigIgn:\t0000000000001000\nSigCgt:\t0\n";

fn root() -> Privileges {
    Privileges {
        uid: 0,
        net_admin: true,
        sys_ptrace: true,
        sys_admin: true,
        netns_inode: Some(4026531840),
    }
}

fn user(uid: u32) -> Privileges {
    Privileges {
        uid,
        netns_inode: Some(4026531840),
        ..Privileges::default()
    }
}

fn statuses(list: &[(u32, &str)]) -> BTreeMap<u32, ProcStatus> {
    list.iter().map(|(p, t)| (*p, parse_status(t))).collect()
}

fn close_wait(pid: u32) -> Socket {
    let mut s = sock(TcpState::CloseWait, "127.0.0.1:8080", "127.0.0.2:40000");
    owned(&mut s, pid, "server");
    idle(&mut s, 30_000);
    s
}

fn plan_one(s: Socket, st: &BTreeMap<u32, ProcStatus>, opts: Options, p: &Privileges) -> Item {
    let (mut items, left) = plan(
        vec![Selected {
            socket: s,
            peer: None,
        }],
        st,
        &opts,
        p,
    );
    assert!(left.is_empty());
    items.remove(0)
}

fn auto() -> Options {
    Options::default()
}

fn with(method: MethodChoice) -> Options {
    Options {
        method,
        listeners: false,
    }
}

#[test]
fn a_held_close_wait_gets_a_fin_through_its_owner() {
    let st = statuses(&[(42, IGNORES)]);
    let i = plan_one(close_wait(42), &st, auto(), &root());
    assert_eq!(i.method, Some(Method::Fin));
    assert_eq!(i.via, Some(Via { pid: 42, fd: 3 }));
    assert_eq!(i.refused, None);
    assert_eq!(
        i.age,
        Some(Age {
            ms: 30_000,
            at_least: true
        })
    );
    assert!(i.owner_sees.contains("leak remains"), "{}", i.owner_sees);
    assert!(
        i.peer_sees.contains("FIN-WAIT-2 → TIME-WAIT"),
        "{}",
        i.peer_sees
    );
    assert!(
        i.peer_sees.contains("LAST-ACK") && i.peer_sees.contains("--rst"),
        "a FIN to a dead peer is foretold: {}",
        i.peer_sees
    );
    let o = &i.owners[0];
    assert_eq!(
        (o.sigpipe, o.danger, o.stopped),
        (Sigpipe::Ignored, false, false)
    );
    assert!(
        o.text.contains("EPIPE") && o.text.contains("ignores SIGPIPE"),
        "{}",
        o.text
    );
}

#[test]
fn a_program_that_does_not_ignore_sigpipe_is_warned_about() {
    let st = statuses(&[(42, DEFAULT)]);
    for method in [MethodChoice::Auto, MethodChoice::Rst] {
        let i = plan_one(close_wait(42), &st, with(method), &root());
        let o = &i.owners[0];
        assert_eq!(o.sigpipe, Sigpipe::Default);
        assert!(o.danger);
        assert!(o.text.contains("KILLS it"), "{}", o.text);
    }
    // With RST the first call gets ECONNABORTED; it is the write after that which kills.
    let i = plan_one(close_wait(42), &st, with(MethodChoice::Rst), &root());
    assert!(i.owners[0].text.contains("ECONNABORTED"));
    assert!(i.peer_sees.contains("ECONNRESET"), "{}", i.peer_sees);
    // Unreadable status: unknown, and said so.
    let i = plan_one(close_wait(42), &BTreeMap::new(), auto(), &root());
    assert_eq!(i.owners[0].sigpipe, Sigpipe::Unknown);
    assert!(i.owners[0].text.contains("unknown"));
}

#[test]
fn a_stopped_owner_is_named_as_such() {
    let st = statuses(&[(42, STOPPED)]);
    let i = plan_one(close_wait(42), &st, auto(), &root());
    assert!(i.owners[0].stopped);
    assert!(
        i.owners[0].text.contains("never signals it"),
        "{}",
        i.owners[0].text
    );
}

#[test]
fn time_wait_takes_a_reset_and_refuses_a_fin() {
    let mut tw = sock(TcpState::TimeWait, "127.0.0.1:40000", "127.0.0.1:8080");
    tw.inode = 0;
    timer(&mut tw, TimerKind::TimeWait, 45_000, 0);
    let i = plan_one(tw.clone(), &BTreeMap::new(), auto(), &root());
    assert_eq!(i.method, Some(Method::Rst));
    assert_eq!(
        i.age,
        Some(Age {
            ms: 15_000,
            at_least: false
        })
    );
    assert!(i.owner_sees.starts_with("nothing"), "{}", i.owner_sees);
    assert!(
        i.peer_sees.contains("free for a new connection"),
        "{}",
        i.peer_sees
    );
    let i = plan_one(tw, &BTreeMap::new(), with(MethodChoice::Fin), &root());
    let r = i.refused.expect("no FIN without a descriptor");
    assert!(!r.privilege);
    assert!(r.why.contains("no descriptor"), "{}", r.why);
}

#[test]
fn past_its_fin_a_held_socket_takes_a_reset() {
    let mut fw2 = sock(TcpState::FinWait2, "127.0.0.1:40000", "127.0.0.1:8080");
    owned(&mut fw2, 7, "client");
    let i = plan_one(fw2.clone(), &BTreeMap::new(), auto(), &root());
    assert_eq!(i.method, Some(Method::Rst));
    let i = plan_one(fw2, &BTreeMap::new(), with(MethodChoice::Fin), &root());
    assert!(i.refused.unwrap().why.contains("FIN is already sent"));
}

#[test]
fn listeners_are_left_alone_unless_asked() {
    let mut l = sock(TcpState::Listen, "0.0.0.0:8080", "0.0.0.0:0");
    owned(&mut l, 42, "server");
    let sel = || {
        vec![
            Selected {
                socket: l.clone(),
                peer: None,
            },
            Selected {
                socket: close_wait(42),
                peer: None,
            },
        ]
    };
    let st = statuses(&[(42, IGNORES)]);
    let (items, left) = plan(sel(), &st, &auto(), &root());
    assert_eq!((items.len(), left.len()), (1, 1));
    assert_eq!(left[0].state, TcpState::Listen);
    let opts = Options {
        method: MethodChoice::Auto,
        listeners: true,
    };
    let (items, left) = plan(sel(), &st, &opts, &root());
    assert_eq!((items.len(), left.len()), (2, 0));
    let listener = items
        .iter()
        .find(|i| i.socket.state == TcpState::Listen)
        .unwrap();
    assert_eq!(listener.method, Some(Method::Fin));
    assert!(listener.owner_sees.contains("accept()"));
    assert!(!listener.owners[0].danger, "a listener is never written to");
}

#[test]
fn a_hidden_owner_is_not_guessed_at() {
    let cw = sock(TcpState::CloseWait, "127.0.0.1:8080", "127.0.0.2:40000");
    let i = plan_one(cw.clone(), &BTreeMap::new(), auto(), &root());
    let r = i.refused.expect("refused");
    assert!(r.why.contains("even as root"), "{}", r.why);
    assert!(r.next.contains("--rst"));
    // Without root, the owner is most likely just another user's process.
    let i = plan_one(cw.clone(), &BTreeMap::new(), auto(), &user(1000));
    let r = i.refused.expect("refused");
    assert!(r.privilege && r.why.contains("another user"), "{}", r.why);
    assert!(r.next.contains("run as root"));
    let i = plan_one(cw, &BTreeMap::new(), with(MethodChoice::Rst), &root());
    assert_eq!(i.method, Some(Method::Rst));
}

#[test]
fn without_privileges_nothing_is_attempted_that_would_fail() {
    // Another user's process: no FIN without CAP_SYS_PTRACE.
    let st = statuses(&[(42, IGNORES)]);
    let i = plan_one(close_wait(42), &st, auto(), &user(1000));
    let r = i.refused.expect("refused");
    assert!(r.privilege && r.why.contains("CAP_SYS_PTRACE"), "{}", r.why);
    assert!(
        i.owner_sees.contains("EPIPE"),
        "what would happen is still said"
    );
    // One's own process: allowed.
    let st = statuses(&[(42, DEFAULT)]);
    let i = plan_one(close_wait(42), &st, auto(), &user(1000));
    assert_eq!(i.method, Some(Method::Fin));
    // No RST without CAP_NET_ADMIN.
    let i = plan_one(close_wait(42), &st, with(MethodChoice::Rst), &user(1000));
    let r = i.refused.expect("refused");
    assert!(r.privilege && r.why.contains("CAP_NET_ADMIN"));
    // Another namespace needs setns.
    let mut cw = close_wait(42);
    cw.netns = Some(Netns {
        inode: 99,
        name: Some("blue".into()),
        pid: None,
        container: None,
        path: None,
    });
    let i = plan_one(cw.clone(), &st, auto(), &user(1000));
    assert!(i.refused.unwrap().why.contains("CAP_SYS_ADMIN"));
    assert_eq!(plan_one(cw, &st, auto(), &root()).method, Some(Method::Fin));
}

#[test]
fn a_shared_socket_lists_every_holder() {
    let mut cw = close_wait(42);
    owned(&mut cw, 43, "server");
    let st = statuses(&[(42, IGNORES), (43, DEFAULT)]);
    let i = plan_one(cw, &st, auto(), &root());
    assert_eq!(i.via, Some(Via { pid: 42, fd: 3 }));
    assert_eq!(i.owners.len(), 2);
    assert!(!i.owners[0].danger && i.owners[1].danger);
}

#[test]
fn recheck_tells_gone_changed_and_same_apart() {
    let st = statuses(&[(42, IGNORES)]);
    let i = plan_one(close_wait(42), &st, auto(), &root());
    let same = i.socket.clone();
    assert_eq!(recheck(&i, Some(&same), Some(true)), Recheck::Proceed);
    assert!(matches!(
        recheck(&i, None, None),
        Recheck::Done(Outcome::AlreadyGone { .. })
    ));
    let mut reused = same.clone();
    reused.cookie = 77;
    assert!(matches!(
        recheck(&i, Some(&reused), None),
        Recheck::Done(Outcome::AlreadyGone { .. })
    ));
    let mut moved = same.clone();
    moved.state = TcpState::LastAck;
    let Recheck::Done(o) = recheck(&i, Some(&moved), Some(true)) else {
        panic!("a changed state is not acted on")
    };
    assert!(!o.is_gone());
    assert_eq!(o.label(), "changed: now LAST-ACK");
    let Recheck::Done(o) = recheck(&i, Some(&same), Some(false)) else {
        panic!("a changed owner is not acted on")
    };
    assert!(o.details().unwrap().0.contains("pid 42 fd 3"));
    assert!(owner_gone(&i, None, "pid 42 exited").is_gone());
    assert!(!owner_gone(&i, Some(&same), "pid 42 exited").is_gone());
}

fn invocation() -> Invocation {
    Invocation {
        filter: "state close-wait".into(),
        flags: vec![],
        scope: vec!["--netns".into(), "blue".into()],
    }
}

#[test]
fn after_a_fin_last_ack_means_a_dead_peer_and_points_at_rst() {
    let st = statuses(&[(42, IGNORES)]);
    let i = plan_one(close_wait(42), &st, auto(), &root());
    let inv = invocation();
    let gone = settle(&i, Method::Fin, None, &inv);
    assert!(gone.is_gone() && gone.label() == "released");
    let mut tw = i.socket.clone();
    tw.state = TcpState::TimeWait;
    assert_eq!(
        settle(&i, Method::Fin, Some(&tw), &inv).label(),
        "released (TIME-WAIT)"
    );
    let mut la = i.socket.clone();
    la.state = TcpState::LastAck;
    let o = settle(&i, Method::Fin, Some(&la), &inv);
    assert!(!o.is_gone());
    let (text, next) = o.details().unwrap();
    assert!(text.contains("peer has not acknowledged"), "{text}");
    assert_eq!(
        next,
        "end it now: tcpscope release --rst --yes --netns blue 'state last-ack ( src 127.0.0.1:8080 and dst 127.0.0.2:40000 )'"
    );
}

#[test]
fn kernel_refusals_say_what_to_do() {
    let st = statuses(&[(42, IGNORES)]);
    let i = plan_one(close_wait(42), &st, auto(), &root());
    let inv = invocation();
    let o = failed(&i, Step::Fin, Some(1), "Operation not permitted", &inv);
    assert_eq!(o.label(), "refused: EPERM");
    let (text, next) = o.details().unwrap();
    assert!(
        text.contains("ptrace") && next.contains("--rst"),
        "{text} / {next}"
    );
    let o = failed(&i, Step::Rst, Some(95), "Operation not supported", &inv);
    assert!(o.details().unwrap().0.contains("CONFIG_INET_DIAG_DESTROY"));
    let Outcome::Refused { error, .. } = o else {
        panic!()
    };
    assert_eq!(
        error.as_deref(),
        Some("EOPNOTSUPP: Operation not supported")
    );
}

fn report(outcomes: Vec<Option<Outcome>>, refused: bool) -> Report {
    let st = statuses(&[(42, IGNORES)]);
    let base = plan_one(close_wait(42), &st, auto(), &root());
    let sockets = outcomes
        .into_iter()
        .map(|o| Item {
            outcome: o,
            refused: refused.then(|| Refusal {
                why: "needs root".into(),
                next: "sudo".into(),
                privilege: true,
            }),
            ..base.clone()
        })
        .collect();
    Report {
        dry_run: false,
        invocation: invocation(),
        sockets,
        listeners_left_alone: vec![],
        notes: vec![],
    }
}

#[test]
fn exit_status_follows_what_is_left() {
    let released = || {
        Some(Outcome::Released {
            now: None,
            text: String::new(),
        })
    };
    let gone = Some(Outcome::AlreadyGone {
        text: String::new(),
    });
    assert_eq!(report(vec![released(), gone], false).exit_code(), 0);
    let remains = Some(Outcome::Remains {
        now: TcpState::LastAck,
        text: String::new(),
        next: String::new(),
    });
    let r = report(vec![released(), remains], false);
    assert_eq!(r.exit_code(), 1);
    assert!(r
        .rst_command_for_remaining()
        .unwrap()
        .contains("state last-ack"));
    let refusal = Refusal {
        why: "needs root".into(),
        next: "sudo".into(),
        privilege: true,
    };
    let r = report(vec![Some(not_attempted(&refusal))], true);
    assert_eq!(r.exit_code(), 3, "nothing could be attempted");
    let mut dry = report(vec![None], false);
    dry.dry_run = true;
    assert_eq!(dry.exit_code(), 0);
    assert_eq!(report(vec![], false).exit_code(), 0);
}

#[test]
fn suggested_filters_select_exactly_those_sockets() {
    let a = close_wait(1);
    let mut b = close_wait(1);
    b.peer.port = 40001;
    let mut other = close_wait(1);
    other.peer.port = 40002;
    let tuples: Vec<_> = [&a, &b]
        .iter()
        .map(|s| (s.state, s.local, s.peer))
        .collect();
    let text = exact_filter(&tuples);
    let f = Filter::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert!(
        f.matches(&a) && f.matches(&b) && !f.matches(&other),
        "{text}"
    );
    let one = exact_filter(&tuples[..1]);
    let f = Filter::parse(&one).unwrap();
    assert!(f.matches(&a) && !f.matches(&b), "{one}");
    let v6 = sock(TcpState::LastAck, "[::1]:8080", "[::1]:40000");
    let text = exact_filter(&[(v6.state, v6.local, v6.peer)]);
    assert!(Filter::parse(&text).unwrap().matches(&v6), "{text}");
    // Many sockets on one local endpoint: the endpoint.
    let many: Vec<_> = (0..20)
        .map(|p| (TcpState::LastAck, a.local, ep_port(p)))
        .collect();
    assert_eq!(exact_filter(&many), "state last-ack src 127.0.0.1:8080");
}

fn ep_port(p: u16) -> crate::model::socket::Endpoint {
    crate::model::socket::Endpoint::new("10.0.0.1".parse().unwrap(), 50000 + p)
}

#[test]
fn shell_words() {
    assert_eq!(shell_quote("state"), "state");
    assert_eq!(shell_quote("state close-wait"), "'state close-wait'");
    assert_eq!(shell_quote("comm 'x'"), "'comm '\\''x'\\'''");
    assert_eq!(shell_quote(""), "''");
    let inv = Invocation {
        filter: "state close-wait sport = :80".into(),
        flags: vec!["--rst".into()],
        scope: vec!["--all-netns".into()],
    };
    assert_eq!(
        inv.yes_command(),
        "tcpscope release --yes --rst --all-netns 'state close-wait sport = :80'"
    );
}
