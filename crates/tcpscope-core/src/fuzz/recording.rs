//! Fuzz target for recordings (`--from FILE`, model/snapshot.rs `from_reader`): a recording is
//! whatever file a bug report carries, so every value in it is untrusted. Inputs start from the
//! golden recordings of real lab runs (a few of their sockets each), get JSON-level mutations
//! (numbers at the edges of every width, odd strings, fields removed or nulled, elements
//! repeated) and byte edits. What reads must go through everything a replay feeds it to —
//! the doctor's digest and rules, the report, the table with every column, the summary — without
//! a panic, and write back to a recording that reads as the same snapshot.

use super::mutate::{apply, edits, Edit};
use super::{drive, Budget, Outcome};
use crate::analyze::diagnose::digest::Digest;
use crate::analyze::diagnose::{diagnose, Context};
use crate::analyze::summary::{StateCounts, Summary};
use crate::model::snapshot::Snapshot;
use crate::render::doctor::write_report;
use crate::render::summary::write_summary;
use crate::render::table::{TableOptions, TableWriter};
use proptest::prelude::*;
use serde_json::Value;
use std::sync::OnceLock;

const GOLDEN: [&str; 2] = [
    include_str!("../../../tcpscope/tests/golden/mixed.json"),
    include_str!("../../../tcpscope/tests/golden/host.json"),
];

/// Each golden recording as its header (no sockets) and its sockets, parsed once.
fn corpus() -> &'static [(Value, Vec<Value>)] {
    static PARSED: OnceLock<Vec<(Value, Vec<Value>)>> = OnceLock::new();
    PARSED.get_or_init(|| {
        GOLDEN
            .iter()
            .map(|t| {
                let mut v: Value = serde_json::from_str(t).expect("the golden recordings are JSON");
                let socks = match v.get_mut("sockets") {
                    Some(Value::Array(s)) => std::mem::take(s),
                    _ => Vec::new(),
                };
                (v, socks)
            })
            .collect()
    })
}

/// A change to one node of the JSON tree (chosen by its index in a depth-first walk).
#[derive(Debug, Clone)]
pub enum Change {
    Number(usize, NumberEdge),
    Text(usize, &'static str),
    Remove(usize),
    Null(usize),
    Repeat(usize, usize),
}

#[derive(Debug, Clone, Copy)]
pub enum NumberEdge {
    Zero,
    U32Max,
    U64Max,
    Negative,
    Float,
    Huge,
}

/// A recording built from a golden one, then changed.
#[derive(Debug, Clone)]
pub struct Input {
    golden: usize,
    picks: Vec<usize>,
    changes: Vec<Change>,
    edits: Vec<Edit>,
}

fn arb_change() -> impl Strategy<Value = Change> {
    let at = any::<usize>();
    let edge = prop::sample::select(vec![
        NumberEdge::Zero,
        NumberEdge::U32Max,
        NumberEdge::U64Max,
        NumberEdge::Negative,
        NumberEdge::Float,
        NumberEdge::Huge,
    ]);
    let text = prop::sample::select(vec![
        "",
        "close-wait",
        "CLOSE_WAIT",
        "bogus",
        "::1",
        "999.1.1.1",
        "[::1]:22",
        "\u{202e}evil\u{1b}[31m",
        "tcpscope-snapshot",
        "proc",
        "netlink",
        "time-wait",
        "listen",
    ]);
    prop_oneof![
        4 => (at, edge).prop_map(|(a, e)| Change::Number(a, e)),
        2 => (at, text).prop_map(|(a, t)| Change::Text(a, t)),
        2 => at.prop_map(Change::Remove),
        1 => at.prop_map(Change::Null),
        1 => (at, 1usize..50).prop_map(|(a, n)| Change::Repeat(a, n)),
    ]
}

fn arb_input() -> impl Strategy<Value = Input> {
    (
        0usize..GOLDEN.len(),
        prop::collection::vec(any::<usize>(), 0..8),
        prop::collection::vec(arb_change(), 0..6),
        prop_oneof![4 => Just(Vec::new()), 1 => edits(3)],
    )
        .prop_map(|(golden, picks, changes, edits)| Input {
            golden,
            picks,
            changes,
            edits,
        })
}

/// What a [`Change`] does to the node it picks.
type NodeChange<'a> = dyn Fn(&mut Value) + 'a;

/// Every node's path, depth first (the root is not a target).
fn visit<'a>(v: &'a mut Value, index: &mut usize, want: usize) -> Option<&'a mut Value> {
    if *index == want {
        return Some(v);
    }
    *index += 1;
    match v {
        Value::Array(items) => items.iter_mut().find_map(|i| visit(i, index, want)),
        Value::Object(map) => map.values_mut().find_map(|i| visit(i, index, want)),
        _ => None,
    }
}

fn count(v: &Value) -> usize {
    1 + match v {
        Value::Array(items) => items.iter().map(count).sum(),
        Value::Object(map) => map.values().map(count).sum(),
        _ => 0,
    }
}

fn edge(e: NumberEdge) -> Value {
    match e {
        NumberEdge::Zero => Value::from(0),
        NumberEdge::U32Max => Value::from(u32::MAX),
        NumberEdge::U64Max => Value::from(u64::MAX),
        NumberEdge::Negative => Value::from(-1),
        NumberEdge::Float => Value::from(1.5),
        NumberEdge::Huge => serde_json::from_str("1e300").unwrap_or(Value::Null),
    }
}

fn build(i: &Input) -> Vec<u8> {
    let (header, all) = &corpus()[i.golden];
    let mut v = header.clone();
    if let (Some(Value::Array(socks)), false) = (v.get_mut("sockets"), all.is_empty()) {
        *socks = i.picks.iter().map(|p| all[p % all.len()].clone()).collect();
    }
    for c in &i.changes {
        let n = count(&v).max(2);
        let (at, apply): (usize, Box<NodeChange<'_>>) = match c {
            Change::Number(a, e) => (*a, Box::new(move |x: &mut Value| *x = edge(*e))),
            Change::Text(a, t) => (*a, Box::new(move |x: &mut Value| *x = Value::from(*t))),
            Change::Null(a) => (*a, Box::new(|x: &mut Value| *x = Value::Null)),
            Change::Remove(a) => (
                *a,
                Box::new(|x: &mut Value| match x {
                    Value::Object(m) => {
                        if let Some(k) = m.keys().next().cloned() {
                            m.remove(&k);
                        }
                    }
                    Value::Array(items) => {
                        items.pop();
                    }
                    _ => *x = Value::Null,
                }),
            ),
            Change::Repeat(a, times) => (
                *a,
                Box::new(move |x: &mut Value| {
                    if let Value::Array(items) = x {
                        if let Some(first) = items.first().cloned() {
                            items.extend(std::iter::repeat_n(first, *times));
                        }
                    }
                }),
            ),
        };
        let want = 1 + at % (n - 1);
        if let Some(node) = visit(&mut v, &mut 0, want) {
            apply(node);
        }
    }
    apply(&serde_json::to_vec(&v).unwrap_or_default(), &i.edits)
}

/// Everything a replay does with a recording, into memory.
pub(super) fn replay(snap: &Snapshot) -> Result<(), TestCaseError> {
    let input = Digest::of_snapshot(snap);
    let report = diagnose(&Context::new(&input, None));
    let mut out = Vec::new();
    prop_assert!(write_report(&mut out, &report).is_ok());
    prop_assert!(serde_json::to_vec(&report).is_ok());
    let _ = report.exit_code();

    let opts = TableOptions {
        extended: true,
        processes: true,
        netns: true,
        no_header: false,
        info: true,
        memory: true,
    };
    let mut table = TableWriter::new(Vec::new(), opts, None);
    let mut counts = StateCounts::default();
    for s in &snap.sockets {
        prop_assert!(table.row(s).is_ok());
        counts.add(s);
    }
    prop_assert!(table.finish().is_ok());
    let summary = Summary::new(
        &counts,
        snap.kernel.sockstat,
        &snap.kernel.sysctls,
        snap.taken_at_unix_ms,
    );
    prop_assert!(write_summary(&mut Vec::new(), &summary).is_ok());
    Ok(())
}

fn check(i: &Input) -> Result<(), TestCaseError> {
    let bytes = build(i);
    let Ok(snap) = Snapshot::from_reader(&bytes[..]) else {
        return Ok(());
    };
    replay(&snap)?;
    let mut again = Vec::new();
    prop_assert!(snap.write_json(&mut again).is_ok());
    let back = Snapshot::from_reader(&again[..]);
    match back {
        Ok(back) => prop_assert_eq!(back, snap),
        Err(e) => prop_assert!(false, "a recording written back does not read: {}", e),
    }
    Ok(())
}

pub fn recording(budget: &Budget) -> Outcome {
    drive("recording", budget, arb_input(), build, check)
}
