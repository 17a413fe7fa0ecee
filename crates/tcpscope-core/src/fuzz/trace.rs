//! Fuzz targets for what `trace` reads from the kernel (decode/tracepoint, decode/perf_record):
//!
//! * `tracepoint`: a `format` file for `sock:inet_sock_set_state` or `tcp:tcp_destroy_sock` laid
//!   out as some kernel might lay it out (fields in any order, padding, pointer fields of 4 or 8
//!   bytes, protocol of 1 or 2), and a record written at those offsets with any values — ids of
//!   other events, other protocols and families, unknown states, cut short. The layout built
//!   from the format must decode exactly what was written, or the error the first bad field
//!   calls for. Then the format text and the record bent by byte edits: errors, never a panic.
//! * `perf_record`: perf ring-buffer records (sample, lost, comm, exit, others) encoded as the
//!   kernel lays them out for trace's `sample_type`, read back exactly; then cut and edited.

use super::mutate::{apply, apply_text, edits, Edit};
use super::{drive, Budget, Outcome};
use crate::decode::perf_record::{
    parse, PerfRecord, MISC_COMM_EXEC, RECORD_COMM, RECORD_EXIT, RECORD_LOST, RECORD_SAMPLE,
};
use crate::decode::tracepoint::{
    DestroyLayout, EventFormat, RecordError, SampleMeta, StateChangeLayout,
};
use crate::model::socket::{Endpoint, Family};
use crate::model::state::TcpState;
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

// ---------------------------------------------------------------------------------------------
// tracepoint

/// The fields after the common ones, each with its C declaration and the sizes kernels use.
const SET_STATE: &[(&str, &str, &[usize])] = &[
    ("skaddr", "const void *", &[8, 4]),
    ("oldstate", "int", &[4]),
    ("newstate", "int", &[4]),
    ("sport", "__u16", &[2]),
    ("dport", "__u16", &[2]),
    ("family", "__u16", &[2]),
    ("protocol", "__u16", &[2, 1]),
    ("saddr", "__u8", &[4]),
    ("daddr", "__u8", &[4]),
    ("saddr_v6", "__u8", &[16]),
    ("daddr_v6", "__u8", &[16]),
];
const DESTROY: &[(&str, &str, &[usize])] = &[
    ("skaddr", "const void *", &[8, 4]),
    ("sport", "__u16", &[2]),
    ("dport", "__u16", &[2]),
    ("family", "__u16", &[2]),
    ("saddr", "__u8", &[4]),
    ("daddr", "__u8", &[4]),
    ("saddr_v6", "__u8", &[16]),
    ("daddr_v6", "__u8", &[16]),
    ("sock_cookie", "__u64", &[8]),
];

/// What the record says.
#[derive(Debug, Clone)]
pub struct Values {
    ty: u16,
    flags: u8,
    skaddr: u64,
    old: u32,
    new: u32,
    sport: u16,
    dport: u16,
    family: u16,
    protocol: u16,
    saddr: [u8; 4],
    daddr: [u8; 4],
    saddr_v6: [u8; 16],
    daddr_v6: [u8; 16],
    cookie: u64,
}

#[derive(Debug, Clone)]
pub struct Tracepoint {
    destroy: bool,
    id: u16,
    /// Field order (a permutation index per field) and padding before each.
    order: Vec<usize>,
    pads: Vec<u8>,
    /// Which of a field's allowed sizes.
    sizes: Vec<bool>,
    values: Values,
    /// Keep this many bytes of the record (`None`: all of it).
    cut: Option<usize>,
    /// A field (by index) whose offset is written as a number at the edge of usize.
    edge: Option<(usize, usize)>,
    format_edits: Vec<Edit>,
    record_edits: Vec<Edit>,
}

fn arb_values() -> impl Strategy<Value = Values> {
    let state = prop_oneof![8 => 1u32..=13, 1 => Just(0u32), 1 => any::<u32>()];
    (
        (
            prop_oneof![4 => Just(0u16), 1 => any::<u16>()],
            any::<u8>(),
            any::<u64>(),
            state.clone(),
            state,
        ),
        (
            any::<u16>(),
            any::<u16>(),
            prop_oneof![4 => Just(2u16), 4 => Just(10u16), 1 => any::<u16>()],
            prop_oneof![8 => Just(6u16), 1 => Just(132u16), 1 => any::<u16>()],
        ),
        (
            any::<[u8; 4]>(),
            any::<[u8; 4]>(),
            any::<[u8; 16]>(),
            any::<[u8; 16]>(),
            any::<u64>(),
        ),
    )
        .prop_map(
            |(
                (ty, flags, skaddr, old, new),
                (sport, dport, family, protocol),
                (saddr, daddr, saddr_v6, daddr_v6, cookie),
            )| Values {
                ty,
                flags,
                skaddr,
                old,
                new,
                sport,
                dport,
                family,
                protocol,
                saddr,
                daddr,
                saddr_v6,
                daddr_v6,
                cookie,
            },
        )
}

fn arb_tracepoint() -> impl Strategy<Value = Tracepoint> {
    (
        any::<bool>(),
        any::<u16>(),
        prop::collection::vec(any::<usize>(), 11),
        prop::collection::vec(prop_oneof![4 => Just(0u8), 1 => 1u8..8], 11),
        prop::collection::vec(any::<bool>(), 11),
        arb_values(),
        prop_oneof![6 => Just(None), 1 => (0usize..100).prop_map(Some)],
        (
            prop_oneof![4 => Just(Vec::new()), 1 => edits(4)],
            prop_oneof![4 => Just(Vec::new()), 1 => edits(4)],
            prop_oneof![
                8 => Just(None),
                1 => (0usize..15, prop::sample::select(vec![usize::MAX, usize::MAX - 1, usize::MAX - 7, 1 << 40]))
                    .prop_map(Some),
            ],
        ),
    )
        .prop_map(
            |(destroy, id, order, pads, sizes, mut values, cut, (format_edits, record_edits, edge))| {
                // Mostly a record of this very event.
                values.ty = if values.ty == 0 { id } else { values.ty };
                Tracepoint {
                    destroy,
                    id,
                    order,
                    pads,
                    sizes,
                    values,
                    cut,
                    edge,
                    format_edits,
                    record_edits,
                }
            },
        )
}

/// (name, C type, offset, size) of every field: the common ones at 0..8, then the event's in
/// the chosen order, each after its padding.
fn layout(t: &Tracepoint) -> Vec<(&'static str, &'static str, usize, usize)> {
    let mut fields = vec![
        ("common_type", "unsigned short", 0, 2),
        ("common_flags", "unsigned char", 2, 1),
        ("common_preempt_count", "unsigned char", 3, 1),
        ("common_pid", "int", 4, 4),
    ];
    let spec = if t.destroy { DESTROY } else { SET_STATE };
    // A permutation from the random keys (stable sort by key).
    let mut idx: Vec<usize> = (0..spec.len()).collect();
    idx.sort_by_key(|i| t.order[*i]);
    let mut off = 8usize;
    for (k, i) in idx.into_iter().enumerate() {
        let (name, c_type, sizes) = spec[i];
        let size = if t.sizes[k] && sizes.len() > 1 {
            sizes[1]
        } else {
            sizes[0]
        };
        off += usize::from(t.pads[k]);
        fields.push((name, c_type, off, size));
        off += size;
    }
    fields
}

fn format_text(t: &Tracepoint, fields: &[(&str, &str, usize, usize)]) -> String {
    let name = if t.destroy {
        "tcp_destroy_sock"
    } else {
        "inet_sock_set_state"
    };
    let mut text = format!("name: {name}\nID: {}\nformat:\n", t.id);
    for (i, (n, c, off, size)) in fields.iter().enumerate() {
        let array = match (*c, *size) {
            ("__u8", s) => format!("[{s}]"),
            _ => String::new(),
        };
        let sep = if c.ends_with('*') { "" } else { " " };
        let signed = u8::from(*c == "int");
        text.push_str(&format!(
            "\tfield:{c}{sep}{n}{array};\toffset:{off};\tsize:{size};\tsigned:{signed};\n"
        ));
        if i == 3 {
            text.push('\n');
        }
    }
    text.push_str("\nprint fmt: \"...\"\n");
    text
}

fn record(t: &Tracepoint, fields: &[(&str, &str, usize, usize)]) -> Vec<u8> {
    let end = fields.iter().map(|f| f.2 + f.3).max().unwrap_or(0);
    let mut raw = vec![0u8; end];
    let v = &t.values;
    for (name, _, off, size) in fields {
        let bytes: Vec<u8> = match *name {
            "common_type" => v.ty.to_ne_bytes().to_vec(),
            "common_flags" => vec![v.flags],
            "common_pid" => 4242i32.to_ne_bytes().to_vec(),
            "skaddr" if *size == 4 => (v.skaddr as u32).to_ne_bytes().to_vec(),
            "skaddr" => v.skaddr.to_ne_bytes().to_vec(),
            "oldstate" => v.old.to_ne_bytes().to_vec(),
            "newstate" => v.new.to_ne_bytes().to_vec(),
            "sport" => v.sport.to_ne_bytes().to_vec(),
            "dport" => v.dport.to_ne_bytes().to_vec(),
            "family" => v.family.to_ne_bytes().to_vec(),
            "protocol" if *size == 1 => vec![v.protocol as u8],
            "protocol" => v.protocol.to_ne_bytes().to_vec(),
            "saddr" => v.saddr.to_vec(),
            "daddr" => v.daddr.to_vec(),
            "saddr_v6" => v.saddr_v6.to_vec(),
            "daddr_v6" => v.daddr_v6.to_vec(),
            "sock_cookie" => v.cookie.to_ne_bytes().to_vec(),
            _ => vec![0; *size],
        };
        raw[*off..*off + size].copy_from_slice(&bytes[..*size]);
    }
    raw
}

fn build_tracepoint(t: &Tracepoint) -> (String, Vec<u8>) {
    let fields = layout(t);
    let mut in_text = fields.clone();
    if let Some((k, off)) = t.edge {
        let k = k % in_text.len();
        in_text[k].2 = off;
    }
    let text = apply_text(&format_text(t, &in_text), &t.format_edits);
    let mut raw = record(t, &fields);
    if let Some(c) = t.cut {
        raw.truncate(c);
    }
    (text, apply(&raw, &t.record_edits))
}

const META: SampleMeta = SampleMeta {
    time_unix_ns: 1_800_000_000_000_000_000,
    cpu: 1,
    pid: 77,
};

fn check_tracepoint(t: &Tracepoint) -> Result<(), TestCaseError> {
    let fields = layout(t);
    let (text, raw) = build_tracepoint(t);
    let exact = t.format_edits.is_empty() && t.record_edits.is_empty() && t.edge.is_none();
    let format = match EventFormat::parse(&text) {
        Ok(f) => f,
        Err(e) => {
            prop_assert!(!exact, "the format does not parse: {}", e);
            return Ok(());
        }
    };
    let end = fields.iter().map(|f| f.2 + f.3).max().unwrap_or(0);
    // A record cut short decodes to what the whole one does, or says it is short.
    let cut = raw.len() < end;
    let size_of = |n: &str| fields.iter().find(|f| f.0 == n).map_or(0, |f| f.3);
    let v = &t.values;
    let skaddr = if size_of("skaddr") == 4 {
        u64::from(v.skaddr as u32)
    } else {
        v.skaddr
    };
    let other_event = u64::from(v.ty) != u64::from(t.id);
    if t.destroy {
        let layout = match DestroyLayout::from_format(&format) {
            Ok(l) => l,
            Err(e) => {
                prop_assert!(!exact || t.edge.is_some(), "{}", e);
                return Ok(());
            }
        };
        let got = layout.decode(&raw, META);
        if !exact {
            return Ok(());
        }
        let want = if other_event {
            Err(RecordError::OtherEvent(u64::from(v.ty)))
        } else {
            Ok(crate::model::transition::Destroy {
                time_unix_ns: META.time_unix_ns,
                cpu: META.cpu,
                skaddr,
                cookie: v.cookie,
            })
        };
        prop_assert!(
            got == want || (cut && got == Err(RecordError::Short)),
            "got {:?}, want {:?} (record of {} bytes, fields end at {})",
            got,
            want,
            raw.len(),
            end
        );
        return Ok(());
    }
    let layout = match StateChangeLayout::from_format(&format) {
        Ok(l) => l,
        Err(e) => {
            prop_assert!(!exact || t.edge.is_some(), "{}", e);
            return Ok(());
        }
    };
    let got = layout.decode(&raw, META);
    if !exact {
        return Ok(());
    }
    let protocol = if size_of("protocol") == 1 {
        u64::from(v.protocol as u8)
    } else {
        u64::from(v.protocol)
    };
    let state = |n: u32| u8::try_from(n).ok().and_then(TcpState::from_kernel);
    let want = if other_event {
        Err(RecordError::OtherEvent(u64::from(v.ty)))
    } else if protocol != 6 {
        Err(RecordError::Protocol(protocol))
    } else if v.family != 2 && v.family != 10 {
        Err(RecordError::Family(u64::from(v.family)))
    } else {
        match (state(v.old), state(v.new)) {
            (None, _) => Err(RecordError::State(u64::from(v.old))),
            (_, None) => Err(RecordError::State(u64::from(v.new))),
            (Some(old), Some(new)) => {
                let v4 = v.family == 2;
                let (s, d) = if v4 {
                    (
                        IpAddr::V4(Ipv4Addr::from(v.saddr)),
                        IpAddr::V4(Ipv4Addr::from(v.daddr)),
                    )
                } else {
                    (
                        IpAddr::V6(Ipv6Addr::from(v.saddr_v6)),
                        IpAddr::V6(Ipv6Addr::from(v.daddr_v6)),
                    )
                };
                Ok(crate::model::transition::StateChange {
                    time_unix_ns: META.time_unix_ns,
                    cpu: META.cpu,
                    pid: META.pid,
                    flags: v.flags,
                    skaddr,
                    old,
                    new,
                    family: if v4 { Family::Inet } else { Family::Inet6 },
                    local: Endpoint::new(s, v.sport),
                    peer: Endpoint::new(d, v.dport),
                })
            }
        }
    };
    prop_assert!(
        got == want || (cut && got == Err(RecordError::Short)),
        "got {:?}, want {:?} (record of {} bytes, fields end at {})",
        got,
        want,
        raw.len(),
        end
    );
    Ok(())
}

pub fn tracepoint(budget: &Budget) -> Outcome {
    drive(
        "tracepoint",
        budget,
        arb_tracepoint(),
        |t| {
            let (text, raw) = build_tracepoint(t);
            [text.into_bytes(), b"\n--- record ---\n".to_vec(), raw].concat()
        },
        check_tracepoint,
    )
}

// ---------------------------------------------------------------------------------------------
// perf_record

#[derive(Debug, Clone)]
pub enum Record {
    Sample {
        pid: u32,
        tid: u32,
        time: u64,
        cpu: u32,
        raw: Vec<u8>,
    },
    Lost {
        id: u64,
        lost: u64,
        time: u64,
        cpu: u32,
    },
    Comm {
        pid: u32,
        tid: u32,
        comm: Vec<u8>,
        exec: bool,
        time: u64,
    },
    Exit {
        pid: u32,
        tid: u32,
        time: u64,
    },
    Other(u32, Vec<u8>),
}

#[derive(Debug, Clone)]
pub struct PerfInput {
    record: Record,
    edits: Vec<Edit>,
}

fn arb_record() -> impl Strategy<Value = Record> {
    prop_oneof![
        4 => (any::<u32>(), any::<u32>(), any::<u64>(), any::<u32>(), prop::collection::vec(any::<u8>(), 0..120))
            .prop_map(|(pid, tid, time, cpu, raw)| Record::Sample { pid, tid, time, cpu, raw }),
        1 => (any::<u64>(), any::<u64>(), any::<u64>(), any::<u32>())
            .prop_map(|(id, lost, time, cpu)| Record::Lost { id, lost, time, cpu }),
        2 => (any::<u32>(), any::<u32>(), prop::collection::vec(any::<u8>(), 0..20), any::<bool>(), any::<u64>())
            .prop_map(|(pid, tid, comm, exec, time)| Record::Comm { pid, tid, comm, exec, time }),
        1 => (any::<u32>(), any::<u32>(), any::<u64>())
            .prop_map(|(pid, tid, time)| Record::Exit { pid, tid, time }),
        1 => ((10u32..64), prop::collection::vec(any::<u8>(), 0..40)).prop_map(|(k, b)| Record::Other(k, b)),
    ]
}

fn trailer(b: &mut Vec<u8>, pid: u32, time: u64, cpu: u32) {
    b.extend_from_slice(&pid.to_ne_bytes());
    b.extend_from_slice(&pid.to_ne_bytes());
    b.extend_from_slice(&time.to_ne_bytes());
    b.extend_from_slice(&cpu.to_ne_bytes());
    b.extend_from_slice(&0u32.to_ne_bytes());
}

/// (type, misc, body) as the kernel writes them (bodies padded to 8 bytes).
fn encode(r: &Record) -> (u32, u16, Vec<u8>) {
    let mut b = Vec::new();
    let (kind, misc) = match r {
        Record::Sample {
            pid,
            tid,
            time,
            cpu,
            raw,
        } => {
            b.extend_from_slice(&pid.to_ne_bytes());
            b.extend_from_slice(&tid.to_ne_bytes());
            b.extend_from_slice(&time.to_ne_bytes());
            b.extend_from_slice(&cpu.to_ne_bytes());
            b.extend_from_slice(&0u32.to_ne_bytes());
            b.extend_from_slice(&(raw.len() as u32).to_ne_bytes());
            b.extend_from_slice(raw);
            b.resize(b.len().next_multiple_of(8), 0);
            (RECORD_SAMPLE, 0)
        }
        Record::Lost {
            id,
            lost,
            time,
            cpu,
        } => {
            b.extend_from_slice(&id.to_ne_bytes());
            b.extend_from_slice(&lost.to_ne_bytes());
            trailer(&mut b, 0, *time, *cpu);
            (RECORD_LOST, 0)
        }
        Record::Comm {
            pid,
            tid,
            comm,
            exec,
            time,
        } => {
            b.extend_from_slice(&pid.to_ne_bytes());
            b.extend_from_slice(&tid.to_ne_bytes());
            b.extend_from_slice(comm);
            b.push(0);
            b.resize(b.len().next_multiple_of(8), 0);
            trailer(&mut b, *pid, *time, 0);
            (RECORD_COMM, if *exec { MISC_COMM_EXEC } else { 0 })
        }
        Record::Exit { pid, tid, time } => {
            for v in [*pid, 1, *tid, 1] {
                b.extend_from_slice(&v.to_ne_bytes());
            }
            b.extend_from_slice(&time.to_ne_bytes());
            trailer(&mut b, *pid, *time, 0);
            (RECORD_EXIT, 0)
        }
        Record::Other(k, body) => {
            b.extend_from_slice(body);
            (*k, 0)
        }
    };
    (kind, misc, b)
}

fn check_perf(p: &PerfInput) -> Result<(), TestCaseError> {
    let (kind, misc, body) = encode(&p.record);
    let body = apply(&body, &p.edits);
    let got = parse(kind, misc, &body);
    if let Ok(PerfRecord::Sample { raw, .. }) = &got {
        prop_assert!(raw.len() <= body.len());
    }
    if !p.edits.is_empty() {
        return Ok(());
    }
    let want = match &p.record {
        Record::Sample {
            pid,
            tid,
            time,
            cpu,
            raw,
        } => PerfRecord::Sample {
            pid: *pid,
            tid: *tid,
            time_ns: *time,
            cpu: *cpu,
            raw,
        },
        Record::Lost {
            lost, time, cpu, ..
        } => PerfRecord::Lost {
            lost: *lost,
            time_ns: *time,
            cpu: *cpu,
        },
        Record::Comm {
            pid,
            tid,
            comm,
            exec,
            ..
        } => {
            let name = comm.split(|b| *b == 0).next().unwrap_or_default();
            PerfRecord::Comm {
                pid: *pid,
                tid: *tid,
                comm: String::from_utf8_lossy(name).into_owned(),
                exec: *exec,
            }
        }
        Record::Exit { pid, tid, time } => PerfRecord::Exit {
            pid: *pid,
            tid: *tid,
            time_ns: *time,
        },
        Record::Other(k, _) => PerfRecord::Other(*k),
    };
    prop_assert_eq!(got, Ok(want));
    Ok(())
}

pub fn perf_record(budget: &Budget) -> Outcome {
    let strategy = (
        arb_record(),
        prop_oneof![3 => Just(Vec::new()), 2 => edits(4)],
    )
        .prop_map(|(record, edits)| PerfInput { record, edits });
    drive(
        "perf_record",
        budget,
        strategy,
        |p| encode(&p.record).2,
        check_perf,
    )
}
