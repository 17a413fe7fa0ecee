//! Byte-level mutations shared by the fuzz targets: a valid input (an encoded netlink message, a
//! line of /proc text, a recording) bent by a few edits — flipped bits, bytes that matter to
//! parsers (NUL, ':', '\n', 0xff), runs of digits too long for any integer, cuts, repeats.
//! Edits are data, so proptest shrinks a failure to the fewest edits that still break it.

use proptest::prelude::*;

/// One edit; positions are taken modulo the input's length at the time it is applied.
#[derive(Debug, Clone)]
pub enum Edit {
    Flip { at: usize, bit: u8 },
    Set { at: usize, byte: u8 },
    Insert { at: usize, bytes: Vec<u8> },
    Delete { at: usize, len: usize },
    Repeat { at: usize, len: usize, times: usize },
    Truncate { at: usize },
}

/// Bytes parsers treat specially, and the edges of every integer width.
const INTERESTING: &[u8] = &[
    0, 1, 0x7f, 0x80, 0xfe, 0xff, b':', b' ', b'\t', b'\n', b'\r', b'(', b')', b'[', b']', b'/',
    b'-', b'+', b'.', b'0', b'9', b'F', b'x', b'"', b'\\', b'{', b'}', b',',
];

/// Runs that overflow parsers of numbers, and text that is not ASCII.
const RUNS: &[&[u8]] = &[
    b"FFFFFFFFFFFFFFFFFFFF",
    b"99999999999999999999999",
    b"18446744073709551615",
    b"18446744073709551616",
    b"4294967296",
    b"-1",
    b"0x",
    b"\xe2\x80\xae",
    b"\xff\xfe",
    b"()()",
    b"socket:[",
    b"\0\0\0\0",
    b"\xff\xff\xff\xff",
    b"\x00\x00\x00\x80",
];

fn arb_edit() -> impl Strategy<Value = Edit> {
    let at = any::<usize>();
    prop_oneof![
        3 => (at, 0u8..8).prop_map(|(at, bit)| Edit::Flip { at, bit }),
        3 => (at, prop::sample::select(INTERESTING)).prop_map(|(at, byte)| Edit::Set { at, byte }),
        2 => (at, prop_oneof![
            prop::sample::select(RUNS).prop_map(|r| r.to_vec()),
            prop::collection::vec(any::<u8>(), 1..8),
        ])
        .prop_map(|(at, bytes)| Edit::Insert { at, bytes }),
        2 => (at, 1usize..16).prop_map(|(at, len)| Edit::Delete { at, len }),
        1 => (at, 1usize..64, 1usize..8).prop_map(|(at, len, times)| Edit::Repeat { at, len, times }),
        1 => at.prop_map(|at| Edit::Truncate { at }),
    ]
}

/// Zero to `max` edits.
pub fn edits(max: usize) -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec(arb_edit(), 0..=max)
}

/// `base` with `edits` applied in order.
pub fn apply(base: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut b = base.to_vec();
    for e in edits {
        let n = b.len();
        let pos = |at: usize| if n == 0 { 0 } else { at % n };
        match e {
            Edit::Flip { at, bit } if n > 0 => b[pos(*at)] ^= 1 << bit,
            Edit::Set { at, byte } if n > 0 => b[pos(*at)] = *byte,
            Edit::Insert { at, bytes } => {
                let p = if n == 0 { 0 } else { at % (n + 1) };
                b.splice(p..p, bytes.iter().copied());
            }
            Edit::Delete { at, len } if n > 0 => {
                let p = pos(*at);
                b.drain(p..(p + len).min(n));
            }
            Edit::Repeat { at, len, times } if n > 0 => {
                let p = pos(*at);
                let piece: Vec<u8> = b[p..(p + len).min(n)].to_vec();
                for _ in 0..*times {
                    b.splice(p..p, piece.iter().copied());
                }
            }
            Edit::Truncate { at } => b.truncate(if n == 0 { 0 } else { at % n }),
            _ => {}
        }
    }
    b
}

/// `base` (text) with `edits` applied, made valid UTF-8 again (invalid bytes become U+FFFD).
pub fn apply_text(base: &str, edits: &[Edit]) -> String {
    String::from_utf8_lossy(&apply(base.as_bytes(), edits)).into_owned()
}

#[test]
fn edits_apply_at_any_position_of_any_input() {
    let all = vec![
        Edit::Flip { at: 7, bit: 0 },
        Edit::Set {
            at: usize::MAX,
            byte: b':',
        },
        Edit::Insert {
            at: 3,
            bytes: b"xy".to_vec(),
        },
        Edit::Delete { at: 1, len: 100 },
        Edit::Repeat {
            at: 0,
            len: 2,
            times: 2,
        },
        Edit::Truncate { at: 5 },
    ];
    // Every edit on an empty input, and on what the earlier ones made of it.
    assert_eq!(apply(b"", &all), b"xx");
    assert_eq!(apply(b"abc", &all[2..3]), b"abcxy");
    assert_eq!(apply(b"abcdef", &all[3..4]), b"a");
    assert_eq!(apply(b"abcdef", &all[4..5]), b"abababcdef");
    assert_eq!(
        apply_text("a", &[Edit::Set { at: 0, byte: 0xff }]),
        "\u{fffd}"
    );
}
