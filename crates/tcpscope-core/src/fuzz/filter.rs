//! Fuzz targets for the filter language (analyze/filter): text a user may type — grammar soup,
//! any characters, deep nesting — must parse or fail with a caret inside the text; what parses
//! prints back to the same tree; its kernel programs pass the kernel's audit and never reject a
//! socket user space accepts. And the bytecode target: on filters the kernel can judge entirely,
//! the program run by the model of `inet_diag_bc_run` (bytecode_tests.rs) and the user-space
//! evaluation agree on every socket.

use super::mutate::{apply_text, edits};
use super::{drive, text_bytes, Budget, Outcome};
use crate::analyze::filter::bytecode::tests::{arb_lowerable_pred, arb_socket, audit, entry, run};
use crate::analyze::filter::tests::{arb_expr_of, arb_filter, TestResolver, WORDS};
use crate::analyze::filter::Filter;
use crate::model::socket::{Family, Socket};
use proptest::prelude::*;

/// More words than the parser tests use: numbers of every size, names, quotes, operators glued
/// to values, unicode.
const MORE: &[&str] = &[
    "sport",
    "dport",
    "src",
    "dst",
    "state",
    "exclude",
    "dev",
    "fwmark",
    "autobound",
    "pid",
    "comm",
    "uid",
    "user",
    "container",
    "netns",
    "recvq",
    "sendq",
    "timer",
    "idle",
    "not",
    "and",
    "or",
    "&",
    "|",
    "!",
    "(",
    ")",
    "=",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "lt",
    "le",
    "ge",
    "ne",
    ":0",
    ":65535",
    ":65536",
    ":99999999999999999999",
    ":-1",
    ":ssh",
    ":http",
    "*:*",
    "*",
    "127.0.0.1",
    "127.0.0.1:22",
    "10.0.0.0/33",
    "::/129",
    "[::1]",
    "[::1]:22",
    "[::ffff:1.2.3.4]",
    "1.2.3.4/0",
    "0x",
    "0xffffffff/0xffffffff",
    "0x100000000",
    "4294967296",
    "18446744073709551616",
    "5m",
    "1h",
    "999999999999d",
    "0s",
    "1.5s",
    "-1s",
    "lo",
    "eth0",
    "root",
    "'",
    "\"",
    "\"a b\"",
    "close-wait",
    "CLOSE_WAIT",
    "ESTAB",
    "LISTENING",
    "bucket",
    "big",
    "connected",
    "all",
    "keepalive",
    "on",
    "off",
    "persist",
    "time-wait",
    "\u{202e}",
    "ÿ",
    "\u{0}",
    "\t",
];

fn arb_text() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        prop::sample::select(WORDS).prop_map(str::to_string),
        prop::sample::select(MORE).prop_map(str::to_string),
        "\\PC{0,6}",
    ];
    let soup = (prop::collection::vec(word, 0..16), prop::bool::ANY)
        .prop_map(|(w, glued)| w.join(if glued { "" } else { " " }));
    let deep = (
        0usize..20_000,
        prop::sample::select(vec!["( ", "! ", "not ", "(", "!"]),
    )
        .prop_map(|(n, open)| {
            let close = if open.starts_with('(') { " )" } else { "" };
            format!("{}sport = :1{}", open.repeat(n), close.repeat(n))
        });
    let printed = arb_filter().prop_map(|f| f.to_string());
    prop_oneof![
        6 => (soup, edits(3)).prop_map(|(t, e)| apply_text(&t, &e)),
        1 => deep,
        3 => (printed, edits(2)).prop_map(|(t, e)| apply_text(&t, &e)),
    ]
}

/// Checks any parsed filter must pass on `socks`.
fn check_filter(f: &Filter, socks: &[Socket]) -> Result<(), TestCaseError> {
    let text = f.to_string();
    let back = Filter::parse_with(&text, &TestResolver);
    prop_assert_eq!(
        back.as_ref().ok(),
        Some(f),
        "printed as {:?}: {:?}",
        text,
        back
    );
    for family in [Family::Inet, Family::Inet6] {
        if let Some(code) = f.bytecode(family) {
            prop_assert!(audit(&code).is_ok(), "{}: {:?}", f, audit(&code));
            for s in socks.iter().filter(|s| s.family == family) {
                if f.matches(s) {
                    prop_assert!(
                        run(&code, &entry(s)),
                        "the kernel drops what user space keeps: {} on {:?}",
                        f,
                        s
                    );
                }
            }
        }
    }
    for s in socks {
        if f.matches(s) {
            prop_assert!(f.may_match(s, crate::analyze::filter::DEFAULT_EPHEMERAL));
            prop_assert!(f.states().contains(s.state));
        }
    }
    Ok(())
}

pub fn parse(budget: &Budget) -> Outcome {
    let strategy = (arb_text(), prop::collection::vec(arb_socket(), 4));
    drive(
        "filter_parse",
        budget,
        strategy,
        |(t, _)| text_bytes(t),
        |(text, socks)| {
            match Filter::parse_with(text, &TestResolver) {
                Ok(f) => check_filter(&f, socks)?,
                Err(e) => {
                    let shown = e.to_string();
                    prop_assert!(shown.contains('^'), "no caret: {}", shown);
                    prop_assert!(
                        e.col <= text.chars().count(),
                        "column {} past the end of {:?}",
                        e.col,
                        text
                    );
                }
            }
            Ok(())
        },
    )
}

/// A filter the kernel can judge entirely, and sockets: the program's answer is user space's.
#[derive(Debug, Clone)]
pub struct Case {
    filter: Filter,
    socks: Vec<Socket>,
}

pub fn bytecode_agrees(budget: &Budget) -> Outcome {
    let strategy = (
        arb_expr_of(arb_lowerable_pred()),
        prop::collection::vec(arb_socket(), 8),
    )
        .prop_map(|(expr, socks)| Case {
            filter: Filter {
                leading: Vec::new(),
                expr: Some(expr),
            },
            socks,
        });
    drive(
        "filter_bytecode",
        budget,
        strategy,
        |c| c.filter.to_string().into_bytes(),
        |c| {
            let f = &c.filter;
            for s in &c.socks {
                if let Some(code) = f.bytecode(s.family) {
                    prop_assert!(audit(&code).is_ok(), "{}: {:?}", f, audit(&code));
                    prop_assert_eq!(
                        run(&code, &entry(s)),
                        f.matches(s),
                        "{} on {} -> {}",
                        f,
                        s.local,
                        s.peer
                    );
                }
            }
            Ok(())
        },
    )
}
