//! Table tests of parsing, printing, evaluation and state masks, and property tests that the
//! parser never panics and that printing then parsing gives back the same tree.

use super::*;
use crate::model::process::{Container, Owner, ProcessIdentity};
use crate::model::socket::{Endpoint, TcpInfo, Timer, TimerKind};
use crate::model::state::TcpState::{self, *};
use proptest::prelude::*;

pub(crate) struct TestResolver;
impl Resolver for TestResolver {
    fn service(&self, name: &str) -> Option<u16> {
        (name == "ssh").then_some(22)
    }
    fn interface(&self, name: &str) -> Option<u32> {
        (name == "lo").then_some(1)
    }
    fn user(&self, name: &str) -> Option<u32> {
        (name == "root").then_some(0)
    }
    fn cgroup(&self, path: &str) -> Option<u64> {
        (path == "/system.slice/nginx.service").then_some(291)
    }
}

fn parse(s: &str) -> Filter {
    Filter::parse_with(s, &TestResolver).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

fn sock(state: TcpState, local: &str, peer: &str) -> Socket {
    let ep = |s: &str| {
        let sa: std::net::SocketAddr = s.parse().unwrap();
        Endpoint::new(sa.ip(), sa.port())
    };
    let family = if local.starts_with('[') {
        Family::Inet6
    } else {
        Family::Inet
    };
    Socket {
        uid: 1000,
        inode: 1,
        cookie: 1,
        ..Socket::new(state, family, ep(local), ep(peer))
    }
}

#[test]
fn parses_and_prints_canonically() {
    let cases = [
        ("", ""),
        ("sport = :22", "sport = :22"),
        ("sport == 22", "sport = :22"),
        ("sport eq :ssh", "sport = :22"),
        ("sport :22", "sport = :22"),
        ("dport neq :80", "dport != :80"),
        (
            "dport ge :1024 and dport le :2048",
            "dport >= :1024 and dport <= :2048",
        ),
        ("sport gt :1 || sport lt :9", "sport > :1 or sport < :9"),
        ("sport>=:1024&&dport<=:2", "sport >= :1024 and dport <= :2"),
        ("sport = *", "sport = *"),
        ("src 127.0.0.1:80", "src 127.0.0.1:80"),
        ("dst 10.0.0.0/8", "dst 10.0.0.0/8"),
        ("dst 10/8", "dst 10.0.0.0/8"),
        ("dst 10.0.0.0/255.0.0.0", "dst 10.0.0.0/8"),
        ("dst 10.0.0.0/8:443", "dst 10.0.0.0/8:443"),
        ("src [::1]:22", "src [::1]:22"),
        ("src [::1]", "src [::1]"),
        ("src ::1", "src [::1]"),
        ("src fe80::1:22", "src [fe80::1]:22"),
        ("dst 2001:db8::/32", "dst [2001:db8::/32]"),
        ("dst [2001:db8::/32]:80", "dst [2001:db8::/32]:80"),
        ("src *:22", "src *:22"),
        ("src :22", "src *:22"),
        ("src *", "src *"),
        ("src = 127.0.0.1:*", "src 127.0.0.1"),
        ("dst localhost:80", "dst localhost:80"),
        ("src != 10.0.0.1", "! src 10.0.0.1"),
        ("not sport = :1", "! sport = :1"),
        (
            "( sport = :1 or sport = :2 ) and dport = :3",
            "sport = :1 or sport = :2 and dport = :3",
        ),
        (
            "sport = :1 or ( sport = :2 and dport = :3 )",
            "sport = :1 or ( sport = :2 and dport = :3 )",
        ),
        ("sport = :1 sport = :2", "sport = :1 and sport = :2"),
        (
            "! ( sport = :1 or sport = :2 )",
            "! ( sport = :1 or sport = :2 )",
        ),
        ("state established", "state established"),
        (
            "state ESTAB state CLOSE_WAIT",
            "state established state close-wait",
        ),
        (
            "exclude time-wait sport = :22",
            "exclude time-wait sport = :22",
        ),
        ("excl listening", "exclude listen"),
        ("state unconnected", "state closed"),
        ("state connected", "state connected"),
        (
            "sport = :1 or state listening",
            "sport = :1 or state listen",
        ),
        (
            "( state listening or sport = :1 )",
            "( state listen or sport = :1 )",
        ),
        ("dev lo", "dev lo"),
        ("dev = 7", "dev 7"),
        ("dev != lo", "! dev lo"),
        ("fwmark 0x10/0xff", "fwmark 0x10/0xff"),
        ("fwmark = 16", "fwmark 0x10"),
        ("autobound", "autobound"),
        ("pid 42", "pid = 42"),
        ("pid != 42", "pid != 42"),
        ("uid >= 1000", "uid >= 1000"),
        ("user root", "user root"),
        ("recvq > 0 or sendq gt 100", "recvq > 0 or sendq > 100"),
        ("comm nginx*", "comm nginx*"),
        ("comm 'my app'", "comm \"my app\""),
        ("comm = and", "comm \"and\""),
        ("container abc123", "container abc123"),
        ("netns blue", "netns blue"),
        ("timer on", "timer retransmit"),
        ("timer != none", "! timer none"),
        ("idle > 5m", "idle > 5m"),
        ("idle >= 90s", "idle >= 90s"),
        ("idle < 1500ms", "idle < 1500ms"),
        ("SPORT = :22 AND DPORT = :1", "sport = :22 and dport = :1"),
    ];
    for (input, want) in cases {
        let f = parse(input);
        assert_eq!(f.to_string(), want, "{input:?}");
        assert_eq!(parse(want), f, "reparse of {want:?}");
    }
}

#[test]
fn operators_have_equal_precedence_and_group_left_as_in_ss() {
    let f = parse("sport = :1 or sport = :2 and dport = :3");
    let Some(Expr::And(lhs, _)) = &f.expr else {
        panic!("{f:?}")
    };
    assert!(matches!(**lhs, Expr::Or(..)));
    let s = sock(Established, "10.0.0.1:1", "10.0.0.2:9");
    assert!(
        !f.matches(&s),
        "(1 or 2) and dport 3 must not match dport 9"
    );
}

#[test]
fn errors_point_at_the_problem() {
    let cases: &[(&str, usize, &str)] = &[
        ("sport = ", 8, "expected a port"),
        ("sport = :http2x", 8, "does not look like a port"),
        ("sport = :70000", 8, "out of range"),
        ("dst 10.0.0.0/33", 4, "not an address"),
        ("dst [::1", 4, "without ']'"),
        ("src < 10.0.0.1", 4, "only with = or !="),
        ("state bogus", 6, "unknown state 'bogus'"),
        ("sport = :1 or", 13, "the filter ends here"),
        ("( sport = :1", 12, "expected ')'"),
        ("sport = :1 )", 11, "no matching '('"),
        ("frobnicate 1", 0, "unknown word 'frobnicate'"),
        ("comm 'x", 5, "never closed"),
        ("idle 5m", 5, "expected a comparison"),
        ("idle > 5x", 7, "unknown unit"),
        ("dev eth9", 4, "no interface named 'eth9'"),
        ("user nobody-here", 5, "no user named"),
        ("dst some-host", 4, "does not ask DNS"),
        ("()", 1, "empty parentheses"),
        ("sport < *", 8, "needs a port number"),
        ("timer sometimes", 6, "unknown timer"),
    ];
    for (input, col, needle) in cases {
        let e = Filter::parse_with(input, &TestResolver).expect_err(input);
        assert_eq!(e.col, *col, "{input:?}: {e}");
        let text = e.to_string();
        assert!(text.contains(needle), "{input:?}: {text}");
        // The caret line sits under the column.
        let caret = text.lines().last().unwrap();
        assert_eq!(caret.find('^'), Some(2 + col), "{text}");
    }
}

#[test]
fn leading_state_clauses_combine_in_ss_order() {
    let s = |t: &str| parse(t).states();
    let all = StateSet::ALL.without(BoundInactive);
    assert_eq!(s(""), all);
    assert_eq!(s("state all"), all);
    assert_eq!(s("state bound-inactive"), StateSet::of(&[BoundInactive]));
    assert_eq!(s("sport = :1 or ( state bound-inactive )"), StateSet::ALL);
    assert_eq!(s("state established"), StateSet::of(&[Established]));
    assert_eq!(
        s("exclude time-wait state listening"),
        all.without(TimeWait)
    );
    assert_eq!(s("state listening exclude listening"), StateSet::EMPTY);
    assert_eq!(
        s("state established state close-wait"),
        StateSet::of(&[Established, CloseWait])
    );
    let conn = s("state connected");
    assert!(!conn.contains(Listen) && conn.contains(TimeWait) && conn.contains(SynSent));
    assert!(!s("state synchronized").contains(SynSent));
    assert_eq!(
        s("state bucket"),
        StateSet::of(&[SynRecv, NewSynRecv, TimeWait])
    );
    assert!(!s("state big").contains(TimeWait));
    assert_eq!(s("state closing-states").iter().count(), 6);
    // States inside an expression narrow the mask only where they must hold.
    assert_eq!(s("sport = :1 and state listening"), StateSet::of(&[Listen]));
    assert_eq!(s("sport = :1 or state listening"), all);
    let e = Filter::parse("state listening or state established").unwrap_err();
    assert!(e.message.contains("state listen state NAME"), "{e}");
    assert_eq!(
        s("( state listening or state established )"),
        StateSet::of(&[Listen, Established])
    );
    assert_eq!(s("! exclude time-wait"), StateSet::of(&[TimeWait]));
    assert_eq!(s("state established exclude established"), StateSet::EMPTY);
}

#[test]
fn evaluation_table() {
    let mut est = sock(Established, "10.1.2.3:5555", "192.168.1.9:443");
    est.recv_q = 10;
    est.ifindex = 2;
    est.mark = Some(0x1234);
    est.timer = Some(Timer {
        kind: TimerKind::Keepalive,
        expires_ms: 1,
        retrans: 0,
    });
    est.tcp_info = Some(TcpInfo {
        last_data_recv_ms: Some(400_000),
        last_data_sent_ms: Some(600_000),
        ..TcpInfo::default()
    });
    est.owners = vec![Owner {
        pid: 42,
        fd: 3,
        process: std::sync::Arc::new(ProcessIdentity {
            comm: "nginx".into(),
            cmdline: String::new(),
            user: "www".into(),
            container: Some(Container {
                runtime: "docker".into(),
                id: "abcdef0123".into(),
                pod_uid: None,
            }),
            unit: None,
        }),
    }];
    est.cgroup_id = Some(291);
    let v6 = sock(Listen, "[::1]:22", "[::]:0");
    let mapped = sock(
        Established,
        "[::ffff:10.1.2.3]:80",
        "[::ffff:10.9.9.9]:4000",
    );
    let cases: &[(&str, &Socket, bool)] = &[
        ("sport = :5555", &est, true),
        ("sport = :5556", &est, false),
        ("sport > :5554 and sport < :5556", &est, true),
        ("sport >= :5556", &est, false),
        ("dport <= :443", &est, true),
        ("dport != :443", &est, false),
        ("src 10.0.0.0/8", &est, true),
        ("src 10.1.2.3:5555", &est, true),
        ("src 10.1.2.3:5556", &est, false),
        ("dst 192.168.0.0/16:443", &est, true),
        ("dst 192.168.0.0/24", &est, false),
        ("src *:5555", &est, true),
        ("src [::1]", &est, false),
        ("src [::1]:22", &v6, true),
        ("src ::/0", &v6, true),
        ("src 0.0.0.0/0", &v6, false),
        ("src 10.0.0.0/8", &mapped, true),
        ("src [::ffff:10.0.0.0/104]", &mapped, true),
        ("src [::ffff:10.0.0.0/104]", &est, false),
        ("src localhost", &v6, true),
        ("state established", &est, true),
        ("exclude established", &est, false),
        ("state listening sport = :5555", &est, false),
        ("sport = :1 or state established", &est, true),
        ("dev 2", &est, true),
        ("dev lo", &est, false),
        ("fwmark 0x1234", &est, true),
        ("fwmark 0x34/0xff", &est, true),
        ("fwmark 0x35/0xff", &est, false),
        ("recvq > 5 and sendq = 0", &est, true),
        ("uid 1000", &est, true),
        ("user root", &est, false),
        ("pid 42", &est, true),
        ("pid != 42", &est, false),
        ("comm ngin*", &est, true),
        ("comm apache", &est, false),
        ("container abc", &est, true),
        ("container *", &est, true),
        ("container *", &v6, false),
        ("timer keepalive", &est, true),
        ("timer none", &v6, true),
        ("idle > 5m", &est, true),
        ("idle > 7m", &est, false),
        ("idle > 1s", &v6, false),
        ("! ( sport = :1 or dport = :443 )", &est, false),
        ("not not sport = :5555", &est, true),
        ("autobound", &est, false),
        ("autobound", &mapped, false),
        ("cgroup /system.slice/nginx.service", &est, true),
        ("cgroup /system.slice/nginx.service", &v6, false),
        ("! cgroup /system.slice/nginx.service", &v6, true),
        ("src inet:10.0.0.0/8", &est, true),
        ("src inet:10.0.0.0/8", &mapped, false),
        ("src inet6:[::ffff:10.0.0.0/104]", &mapped, true),
        ("src inet:*", &est, true),
        ("src inet6:*", &est, false),
        ("src inet6:*:22", &v6, true),
        ("src tcp:10.1.2.3", &est, true),
        (
            "state new-syn-recv",
            &sock(SynRecv, "10.0.0.1:80", "10.0.0.2:9"),
            true,
        ),
        (
            "( state new-syn-recv )",
            &sock(SynRecv, "10.0.0.1:80", "10.0.0.2:9"),
            true,
        ),
        (
            "state syn-recv",
            &sock(SynRecv, "10.0.0.1:80", "10.0.0.2:9"),
            true,
        ),
    ];
    for (text, s, want) in cases {
        assert_eq!(parse(text).matches(s), *want, "{text} on {}", s.local);
    }
}

/// Regression (issue 11, defect 10): `ls state listening 'idle < 1s'` matched every listener,
/// whose tcp_info holds ages counted from nothing.
#[test]
fn idle_conditions_match_no_listener() {
    let mut l = sock(Listen, "0.0.0.0:80", "0.0.0.0:0");
    // As a recording made before listeners lost their ages holds it.
    l.tcp_info = Some(TcpInfo {
        last_data_sent_ms: Some(0),
        last_data_recv_ms: Some(0),
        last_ack_recv_ms: Some(0),
        ..TcpInfo::default()
    });
    for text in ["idle < 1s", "idle >= 0s", "state listening idle < 1s"] {
        assert!(!parse(text).matches(&l), "{text}");
    }
    // The state mask leaves listeners out: the kernel is not even asked for them.
    assert!(!parse("idle < 1s").states().contains(Listen));
    assert_eq!(parse("state listening idle < 1s").states(), StateSet::EMPTY);
}

/// Regression (issue 11, defect 7): a filter error echoed a 100 KB filter on one line.
#[test]
fn a_long_filter_is_shown_around_the_mistake() {
    let text = format!("{}bogus and sport = :1", "sport = :22 or ".repeat(7000));
    let err = Filter::parse(&text).unwrap_err();
    let shown = err.to_string();
    assert!(shown.len() < 600, "{} bytes:\n{shown}", shown.len());
    let lines: Vec<&str> = shown.lines().collect();
    assert!(
        lines[0].contains(&format!("column {}", 15 * 7000 + 1)),
        "{shown}"
    );
    assert!(lines[1].starts_with("  …"), "{shown}");
    // The caret is under the bad word.
    let caret = lines[2].find('^').unwrap();
    let under: String = lines[1].chars().skip(caret).take(5).collect();
    assert_eq!(under, "bogus", "{shown}");
    assert!(lines[3].contains("characters long"), "{shown}");
    // A short filter is shown whole, as before.
    let err = Filter::parse("sport = :22 or bogus")
        .unwrap_err()
        .to_string();
    assert!(
        err.lines().nth(1) == Some("  sport = :22 or bogus"),
        "{err}"
    );
    // A huge word is cut short in the message too.
    let err = Filter::parse(&format!("src {}", "a".repeat(5000)))
        .unwrap_err()
        .to_string();
    assert!(err.len() < 600, "{err}");
}

#[test]
fn owner_conditions_wait_for_owners() {
    let s = sock(Established, "10.1.2.3:80", "10.0.0.2:1");
    let f = parse("pid 42 and sport = :80");
    assert!(f.needs_owners() && !f.needs_info());
    assert!(f.may_match(&s, DEFAULT_EPHEMERAL), "owners unknown yet");
    assert!(!f.matches(&s), "no owner has pid 42");
    assert!(!parse("pid 42 and sport = :81").may_match(&s, DEFAULT_EPHEMERAL));
    assert!(parse("idle > 5m").needs_info());
    assert!(!parse("sport = :1").needs_owners());
}

#[test]
fn bytecode_only_when_something_can_be_lowered() {
    assert_eq!(parse("").bytecode(Family::Inet), None);
    assert_eq!(parse("state listening").bytecode(Family::Inet), None);
    assert_eq!(parse("pid 1 or sport = :1").bytecode(Family::Inet), None);
    assert_eq!(parse("sport = *").bytecode(Family::Inet), None);
    assert!(parse("pid 1 and sport = :1")
        .bytecode(Family::Inet)
        .is_some());
    // sport = :22 -> one S_COND, any family, no address: {7, 12, 16} {0, 0, 0, 0} {22}.
    let code = parse("sport = :22").bytecode(Family::Inet).unwrap();
    let mut want = vec![INET_DIAG_BC_S_COND, 12];
    want.extend_from_slice(&16u16.to_ne_bytes());
    want.extend_from_slice(&[0, 0, 0, 0]);
    want.extend_from_slice(&22i32.to_ne_bytes());
    assert_eq!(code, want);
}

fn arb_state_word() -> impl Strategy<Value = StateWord> {
    let mut names: Vec<String> = TcpState::ALL.iter().map(|s| s.name().to_string()).collect();
    names.extend(
        crate::model::state::GROUPS
            .iter()
            .map(|(g, _)| g.to_string()),
    );
    proptest::sample::select(names).prop_map(|name| {
        let set = crate::model::state::parse_state_or_group(&name).unwrap();
        StateWord { name, set }
    })
}

fn arb_prefix() -> impl Strategy<Value = Prefix> {
    prop_oneof![
        (any::<u32>(), 0u8..=32).prop_map(|(a, len)| Prefix {
            addr: IpAddr::V4(a.into()),
            len
        }),
        (any::<u128>(), 0u8..=128).prop_map(|(a, len)| Prefix {
            addr: IpAddr::V6(a.into()),
            len
        }),
    ]
}

pub(super) fn arb_op() -> impl Strategy<Value = CmpOp> {
    proptest::sample::select(vec![
        CmpOp::Eq,
        CmpOp::Ne,
        CmpOp::Lt,
        CmpOp::Le,
        CmpOp::Gt,
        CmpOp::Ge,
    ])
}

fn arb_side() -> impl Strategy<Value = Direction> {
    prop_oneof![Just(Direction::Src), Just(Direction::Dst)]
}

fn arb_text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 '*?()=!|&<>._-]{0,8}"
}

fn arb_pred() -> impl Strategy<Value = Pred> {
    let host = (
        arb_side(),
        proptest::option::of(arb_prefix()),
        proptest::option::of(any::<u16>()),
        any::<bool>(),
        proptest::option::of(prop_oneof![Just(Family::Inet), Just(Family::Inet6)]),
    )
        .prop_map(|(side, p, port, localhost, family)| {
            let cond = if localhost {
                let addrs = NoResolver
                    .host("localhost")
                    .into_iter()
                    .map(|a| Prefix {
                        addr: a,
                        len: if a.is_ipv4() { 32 } else { 128 },
                    })
                    .collect();
                HostCond {
                    family: None,
                    name: Some("localhost".into()),
                    addrs,
                    port,
                }
            } else {
                // A family prefix only where the address (if any) is of that family.
                let family = match (family, p) {
                    (Some(f), Some(p)) if p.addr.is_ipv4() != (f == Family::Inet) => None,
                    (f, _) => f,
                };
                HostCond {
                    family,
                    name: None,
                    addrs: p.into_iter().collect(),
                    port,
                }
            };
            Pred::Host { side, cond }
        });
    let port =
        (arb_side(), arb_op(), proptest::option::of(any::<u16>())).prop_map(|(side, op, port)| {
            let op = if port.is_none() && !matches!(op, CmpOp::Eq | CmpOp::Ne) {
                CmpOp::Eq
            } else {
                op
            };
            Pred::Port { side, op, port }
        });
    let num = (
        proptest::sample::select(vec![
            NumField::Pid,
            NumField::Uid,
            NumField::RecvQ,
            NumField::SendQ,
            NumField::IdleMs,
        ]),
        arb_op(),
        0u64..1_000_000_000_000,
    )
        .prop_map(|(field, op, value)| Pred::Num { field, op, value });
    let timer = proptest::sample::select(vec![
        None,
        Some(TimerKind::Retransmit),
        Some(TimerKind::Keepalive),
        Some(TimerKind::TimeWait),
        Some(TimerKind::ZeroWindowProbe),
        Some(TimerKind::DelayedAck),
    ]);
    prop_oneof![
        host,
        port,
        num,
        any::<u32>().prop_map(|i| Pred::Dev {
            name: i.to_string(),
            index: i
        }),
        (any::<u32>(), any::<u32>()).prop_map(|(mark, mask)| Pred::Fwmark { mark, mask }),
        Just(Pred::Autobound),
        (any::<bool>(), arb_state_word()).prop_map(|(exclude, word)| Pred::State { exclude, word }),
        any::<u32>().prop_map(|uid| Pred::User {
            name: uid.to_string(),
            uid
        }),
        arb_text().prop_map(Pred::Comm),
        arb_text().prop_map(Pred::Container),
        arb_text().prop_map(Pred::Netns),
        timer.prop_map(Pred::Timer),
        Just(Pred::Cgroup {
            path: "/system.slice/nginx.service".into(),
            id: 291
        }),
    ]
}

pub(crate) fn arb_expr_of(leaf: BoxedStrategy<Pred>) -> impl Strategy<Value = Expr> {
    leaf.prop_map(Expr::Pred).prop_recursive(5, 32, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| Expr::Not(Box::new(e))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| Expr::Or(Box::new(a), Box::new(b))),
        ]
    })
}

pub(crate) fn arb_filter() -> impl Strategy<Value = Filter> {
    (
        proptest::collection::vec((any::<bool>(), arb_state_word()), 0..3),
        proptest::option::of(arb_expr_of(arb_pred().boxed())),
    )
        .prop_map(|(lead, expr)| Filter {
            leading: lead
                .into_iter()
                .map(|(exclude, word)| StateClause { exclude, word })
                .collect(),
            expr,
        })
}

pub(crate) const WORDS: &[&str] = &[
    "src",
    "dst",
    "sport",
    "dport",
    "state",
    "exclude",
    "and",
    "or",
    "not",
    "!",
    "(",
    ")",
    "=",
    "!=",
    "<",
    ">=",
    "eq",
    "gt",
    ":22",
    "*",
    "[::1]:22",
    "10.0.0.0/8",
    "::1",
    "established",
    "connected",
    "idle",
    "5m",
    "pid",
    "comm",
    "'x",
    "dev",
    "fwmark",
    "0x1/0x",
    "[",
    "]",
    ":",
    "/",
    "&&",
    "||",
    "timer",
    "cgroup",
    "inet:*:22",
    "inet6:[::1]",
    "unix:/x",
];

proptest! {
    #[test]
    fn parser_never_panics_on_any_text(s in "\\PC{0,60}") {
        let _ = Filter::parse_with(&s, &TestResolver);
    }

    #[test]
    fn parser_never_panics_on_grammar_soup(words in proptest::collection::vec(proptest::sample::select(WORDS), 0..12)) {
        let text = words.join(" ");
        if let Ok(f) = Filter::parse_with(&text, &TestResolver) {
            // Whatever parses prints to something that parses to the same filter.
            prop_assert_eq!(Filter::parse_with(&f.to_string(), &TestResolver).unwrap(), f);
        }
    }

    #[test]
    fn print_then_parse_gives_the_same_tree(f in arb_filter()) {
        let text = f.to_string();
        let back = Filter::parse_with(&text, &TestResolver);
        prop_assert_eq!(back.as_ref().ok(), Some(&f), "text: {} -> {:?}", text, back);
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("{}sport = :1{}", "( ".repeat(5000), " )".repeat(5000));
    assert!(Filter::parse(&deep).is_err());
    let nots = format!("{}sport = :1", "! ".repeat(5000));
    assert!(Filter::parse(&nots).is_err());
}

#[test]
fn several_states_after_one_keyword() {
    let f = parse("state close-wait TIME_WAIT");
    assert_eq!(f.states(), StateSet::of(&[CloseWait, TimeWait]));
    assert_eq!(parse(&f.to_string()), f, "prints as repeated keywords");
    let f = parse("exclude listen time-wait");
    assert!(!f.states().contains(Listen) && !f.states().contains(TimeWait));
    assert!(f.states().contains(Established));
    // `idle` stays a condition even though Solaris names a state IDLE.
    let f = parse("state established idle > 5m");
    assert_eq!(f.states(), StateSet::of(&[Established]));
    assert!(f.needs_info());
}
