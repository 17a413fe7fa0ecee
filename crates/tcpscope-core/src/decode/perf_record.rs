//! perf ring-buffer records from bytes (`linux/perf_event.h`, "struct perf_event_header" and
//! the record layouts after it), for the one configuration trace opens its events with:
//! `sample_type = TID | TIME | CPU | RAW` and `sample_id_all`, so that every record — samples,
//! lost-record notices, comm and exit notices — carries its time and CPU and can be merged
//! across CPUs by time.
//!
//! The binary copies a record's bytes out of the ring buffer and hands them here; nothing in
//! this file touches the system, so byte fixtures pin the layouts.

/// `perf_event_attr.sample_type` bits trace asks for.
pub const SAMPLE_TID: u64 = 1 << 1;
pub const SAMPLE_TIME: u64 = 1 << 2;
pub const SAMPLE_CPU: u64 = 1 << 7;
pub const SAMPLE_RAW: u64 = 1 << 10;
/// The sample layout [`parse`] reads.
pub const SAMPLE_TYPE: u64 = SAMPLE_TID | SAMPLE_TIME | SAMPLE_CPU | SAMPLE_RAW;

/// Record types (`perf_event_header.type`).
pub const RECORD_LOST: u32 = 2;
pub const RECORD_COMM: u32 = 3;
pub const RECORD_EXIT: u32 = 4;
pub const RECORD_SAMPLE: u32 = 9;
/// `perf_event_header.misc` bit on a COMM record caused by exec().
pub const MISC_COMM_EXEC: u16 = 1 << 13;

/// The `sample_id` trailer (`sample_id_all`) for [`SAMPLE_TYPE`]: pid, tid, time, cpu, res.
const TRAILER: usize = 24;

/// One decoded record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PerfRecord<'a> {
    /// A tracepoint sample: who ran, when, on which CPU, and the tracepoint's raw record.
    Sample {
        pid: u32,
        tid: u32,
        time_ns: u64,
        cpu: u32,
        raw: &'a [u8],
    },
    /// The kernel dropped `lost` records: the ring buffer was full.
    Lost { lost: u64, time_ns: u64, cpu: u32 },
    /// A task changed its name (exec or prctl).
    Comm {
        pid: u32,
        tid: u32,
        comm: String,
        exec: bool,
    },
    /// A task exited.
    Exit { pid: u32, tid: u32, time_ns: u64 },
    /// Anything else (throttle notices, ...): skipped.
    Other(u32),
}

/// A record shorter than its type's layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a perf record of type {kind} is {len} bytes, shorter than its layout")]
pub struct ShortRecord {
    pub kind: u32,
    pub len: usize,
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_ne_bytes(b.get(off..off + 8)?.try_into().ok()?))
}

/// Decode the body of a record (the bytes after its 8-byte header) of type `kind`.
pub fn parse(kind: u32, misc: u16, body: &[u8]) -> Result<PerfRecord<'_>, ShortRecord> {
    let short = ShortRecord {
        kind,
        len: body.len(),
    };
    let rec = match kind {
        RECORD_SAMPLE => (|| {
            let size = u32_at(body, 24)? as usize;
            Some(PerfRecord::Sample {
                pid: u32_at(body, 0)?,
                tid: u32_at(body, 4)?,
                time_ns: u64_at(body, 8)?,
                cpu: u32_at(body, 16)?,
                raw: body.get(28..28 + size)?,
            })
        })(),
        RECORD_LOST => (|| {
            Some(PerfRecord::Lost {
                lost: u64_at(body, 8)?,
                time_ns: u64_at(body, 24)?,
                cpu: u32_at(body, 32)?,
            })
        })(),
        RECORD_COMM => (|| {
            let end = body.len().checked_sub(TRAILER)?;
            let name = body.get(8..end)?;
            let name = name.split(|b| *b == 0).next().unwrap_or(name);
            Some(PerfRecord::Comm {
                pid: u32_at(body, 0)?,
                tid: u32_at(body, 4)?,
                comm: String::from_utf8_lossy(name).into_owned(),
                exec: misc & MISC_COMM_EXEC != 0,
            })
        })(),
        RECORD_EXIT => (|| {
            Some(PerfRecord::Exit {
                pid: u32_at(body, 0)?,
                tid: u32_at(body, 8)?,
                time_ns: u64_at(body, 16)?,
            })
        })(),
        other => Some(PerfRecord::Other(other)),
    };
    rec.ok_or(short)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(pid: u32, time: u64, cpu: u32, raw: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&pid.to_ne_bytes());
        b.extend_from_slice(&(pid + 1).to_ne_bytes());
        b.extend_from_slice(&time.to_ne_bytes());
        b.extend_from_slice(&cpu.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        b.extend_from_slice(&(raw.len() as u32).to_ne_bytes());
        b.extend_from_slice(raw);
        b.resize(b.len().next_multiple_of(8), 0);
        b
    }

    fn trailer(pid: u32, time: u64, cpu: u32) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&pid.to_ne_bytes());
        b.extend_from_slice(&pid.to_ne_bytes());
        b.extend_from_slice(&time.to_ne_bytes());
        b.extend_from_slice(&cpu.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        b
    }

    #[test]
    fn sample_with_raw_record() {
        let body = sample(42, 1_000, 1, &[1, 2, 3, 4, 5]);
        let rec = parse(RECORD_SAMPLE, 0, &body).unwrap();
        assert_eq!(
            rec,
            PerfRecord::Sample {
                pid: 42,
                tid: 43,
                time_ns: 1_000,
                cpu: 1,
                raw: &[1, 2, 3, 4, 5]
            }
        );
        // A raw size that runs past the record is an error, not a panic.
        let mut bad = body.clone();
        bad[24..28].copy_from_slice(&500u32.to_ne_bytes());
        assert!(parse(RECORD_SAMPLE, 0, &bad).is_err());
        assert!(parse(RECORD_SAMPLE, 0, &body[..10]).is_err());
    }

    #[test]
    fn lost_carries_time_and_cpu() {
        let mut body = Vec::new();
        body.extend_from_slice(&7u64.to_ne_bytes()); // id
        body.extend_from_slice(&123u64.to_ne_bytes()); // lost
        body.extend(trailer(0, 9_999, 1));
        assert_eq!(
            parse(RECORD_LOST, 0, &body).unwrap(),
            PerfRecord::Lost {
                lost: 123,
                time_ns: 9_999,
                cpu: 1
            }
        );
    }

    #[test]
    fn comm_and_exit() {
        let mut body = Vec::new();
        body.extend_from_slice(&5u32.to_ne_bytes());
        body.extend_from_slice(&5u32.to_ne_bytes());
        body.extend_from_slice(b"nginx\0\0\0");
        body.extend(trailer(5, 1, 0));
        assert_eq!(
            parse(RECORD_COMM, MISC_COMM_EXEC, &body).unwrap(),
            PerfRecord::Comm {
                pid: 5,
                tid: 5,
                comm: "nginx".into(),
                exec: true
            }
        );
        let mut exit = Vec::new();
        for v in [5u32, 1, 6, 1] {
            exit.extend_from_slice(&v.to_ne_bytes());
        }
        exit.extend_from_slice(&77u64.to_ne_bytes());
        exit.extend(trailer(5, 77, 0));
        assert_eq!(
            parse(RECORD_EXIT, 0, &exit).unwrap(),
            PerfRecord::Exit {
                pid: 5,
                tid: 6,
                time_ns: 77
            }
        );
        assert_eq!(parse(14, 0, &[]).unwrap(), PerfRecord::Other(14));
    }
}
