//! Tracepoint records from bytes: the event's `format` file (tracefs
//! `events/<system>/<event>/format`) tells where each field sits, and the raw record a perf
//! sample carries is decoded with those offsets — never with offsets compiled in, because they
//! differ between kernels (`tcp_destroy_sock` grew `sock_cookie` in 5.x; field order moved).
//!
//! Two events matter to trace: `sock:inet_sock_set_state` ([`StateChangeLayout`]) and
//! `tcp:tcp_destroy_sock` ([`DestroyLayout`]). Both are checked against the format once, when
//! the layout is built, so decoding a record is a handful of bounds-checked reads.

use crate::model::socket::{Endpoint, Family};
use crate::model::state::TcpState;
use crate::model::transition::{Destroy, StateChange};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One field of a tracepoint record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The C declaration's name, without an array suffix (`saddr` for `__u8 saddr[4]`).
    pub name: String,
    /// The C type as written (`const void *`, `__u16`, `__u8`).
    pub c_type: String,
    pub offset: usize,
    pub size: usize,
    pub signed: bool,
}

/// A parsed `format` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFormat {
    pub name: String,
    /// The event id (`ID:` line): `common_type` of its records, and perf's tracepoint config.
    pub id: u64,
    pub fields: Vec<Field>,
}

/// Why a format file or a record could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("the format file has no {0} line")]
    Missing(&'static str),
    #[error("line {line} of the format file is not understood: {text}")]
    BadLine { line: usize, text: String },
    #[error("event {event} has no field '{field}' (this kernel's tracepoint differs from what tcpscope knows)")]
    NoField { event: String, field: &'static str },
    #[error("field '{field}' of event {event} is {size} bytes; tcpscope expects {expected}")]
    FieldSize {
        event: String,
        field: &'static str,
        size: usize,
        expected: &'static str,
    },
}

impl EventFormat {
    /// Parse the text of a tracefs `format` file.
    pub fn parse(text: &str) -> Result<EventFormat, FormatError> {
        let mut name = None;
        let mut id = None;
        let mut fields = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if let Some(v) = line.strip_prefix("name:") {
                name = Some(v.trim().to_string());
            } else if let Some(v) = line.strip_prefix("ID:") {
                id = Some(v.trim().parse::<u64>().map_err(|_| FormatError::BadLine {
                    line: n + 1,
                    text: line.to_string(),
                })?);
            } else if line.starts_with("field:") {
                fields.push(parse_field(line).ok_or_else(|| FormatError::BadLine {
                    line: n + 1,
                    text: line.to_string(),
                })?);
            }
        }
        Ok(EventFormat {
            name: name.ok_or(FormatError::Missing("name:"))?,
            id: id.ok_or(FormatError::Missing("ID:"))?,
            fields,
        })
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    fn need(
        &self,
        name: &'static str,
        sizes: &[usize],
        expected: &'static str,
    ) -> Result<Slot, FormatError> {
        let f = self.field(name).ok_or_else(|| FormatError::NoField {
            event: self.name.clone(),
            field: name,
        })?;
        if !sizes.contains(&f.size) {
            return Err(FormatError::FieldSize {
                event: self.name.clone(),
                field: name,
                size: f.size,
                expected,
            });
        }
        Ok(Slot {
            offset: f.offset,
            size: f.size,
        })
    }
}

/// `field:unsigned char saddr[4];<TAB>offset:32;<TAB>size:4;<TAB>signed:0;`
fn parse_field(line: &str) -> Option<Field> {
    let mut decl = None;
    let (mut offset, mut size, mut signed) = (None, None, None);
    for part in line.split(';') {
        let part = part.trim();
        if let Some(d) = part.strip_prefix("field:") {
            decl = Some(d.trim());
        } else if let Some(v) = part.strip_prefix("offset:") {
            offset = v.trim().parse().ok();
        } else if let Some(v) = part.strip_prefix("size:") {
            size = v.trim().parse().ok();
        } else if let Some(v) = part.strip_prefix("signed:") {
            signed = Some(v.trim() == "1");
        }
    }
    let decl = decl?;
    // Split after the last blank or `*`; a blank may be any Unicode whitespace (U+0085 is two
    // bytes), so cut after the whole character, never inside it.
    let split = decl
        .char_indices()
        .rev()
        .find(|&(_, c)| c.is_whitespace() || c == '*')
        .map(|(i, c)| i + c.len_utf8());
    let (c_type, last) = match split {
        Some(end) => (decl[..end].trim(), &decl[end..]),
        None => ("", decl),
    };
    let name = last.split('[').next()?.trim();
    if name.is_empty() {
        return None;
    }
    Some(Field {
        name: name.to_string(),
        c_type: c_type.to_string(),
        offset: offset?,
        size: size?,
        signed: signed.unwrap_or(false),
    })
}

/// Where one field sits in a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    offset: usize,
    size: usize,
}

impl Slot {
    fn bytes<'a>(&self, raw: &'a [u8]) -> Option<&'a [u8]> {
        // A format file may say anything: an offset near usize::MAX is no field of a record.
        raw.get(self.offset..self.offset.checked_add(self.size)?)
    }

    /// An unsigned integer of 1, 2, 4 or 8 bytes in the machine's byte order.
    fn uint(&self, raw: &[u8]) -> Option<u64> {
        let b = self.bytes(raw)?;
        Some(match b.len() {
            1 => u64::from(b[0]),
            2 => u64::from(u16::from_ne_bytes([b[0], b[1]])),
            4 => u64::from(u32::from_ne_bytes(b.try_into().ok()?)),
            8 => u64::from_ne_bytes(b.try_into().ok()?),
            _ => return None,
        })
    }
}

const AF_INET: u64 = 2;
const AF_INET6: u64 = 10;
const IPPROTO_TCP: u64 = 6;

/// The fields every tracepoint record starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Common {
    common_type: Slot,
    common_flags: Slot,
}

impl Common {
    fn of(f: &EventFormat) -> Result<Common, FormatError> {
        Ok(Common {
            common_type: f.need("common_type", &[2], "2")?,
            common_flags: f.need("common_flags", &[1], "1")?,
        })
    }
}

/// The addresses and ports both events carry, in the same field names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ends {
    sport: Slot,
    dport: Slot,
    family: Slot,
    saddr: Slot,
    daddr: Slot,
    saddr_v6: Slot,
    daddr_v6: Slot,
}

impl Ends {
    fn of(f: &EventFormat) -> Result<Ends, FormatError> {
        Ok(Ends {
            sport: f.need("sport", &[2], "2")?,
            dport: f.need("dport", &[2], "2")?,
            family: f.need("family", &[2], "2")?,
            saddr: f.need("saddr", &[4], "4")?,
            daddr: f.need("daddr", &[4], "4")?,
            saddr_v6: f.need("saddr_v6", &[16], "16")?,
            daddr_v6: f.need("daddr_v6", &[16], "16")?,
        })
    }

    /// Family, local end, remote end.
    fn read(&self, raw: &[u8]) -> Result<(Family, Endpoint, Endpoint), RecordError> {
        let short = RecordError::Short;
        let family = match self.family.uint(raw).ok_or(short)? {
            AF_INET => Family::Inet,
            AF_INET6 => Family::Inet6,
            other => return Err(RecordError::Family(other)),
        };
        let sport = self.sport.uint(raw).ok_or(short)? as u16;
        let dport = self.dport.uint(raw).ok_or(short)? as u16;
        let (s, d) = match family {
            Family::Inet => (
                IpAddr::V4(Ipv4Addr::from(array::<4>(self.saddr, raw)?)),
                IpAddr::V4(Ipv4Addr::from(array::<4>(self.daddr, raw)?)),
            ),
            Family::Inet6 => (
                IpAddr::V6(Ipv6Addr::from(array::<16>(self.saddr_v6, raw)?)),
                IpAddr::V6(Ipv6Addr::from(array::<16>(self.daddr_v6, raw)?)),
            ),
        };
        Ok((family, Endpoint::new(s, sport), Endpoint::new(d, dport)))
    }
}

/// The bytes of an address field.
fn array<const N: usize>(slot: Slot, raw: &[u8]) -> Result<[u8; N], RecordError> {
    slot.bytes(raw)
        .and_then(|b| <[u8; N]>::try_from(b).ok())
        .ok_or(RecordError::Short)
}

/// Why one record was not decoded (the trace goes on; these are counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("a record shorter than its event's format")]
    Short,
    #[error("a record of another event (type {0})")]
    OtherEvent(u64),
    #[error("a socket of address family {0}, neither inet nor inet6")]
    Family(u64),
    #[error("a socket of protocol {0}, not TCP")]
    Protocol(u64),
    #[error("a state number {0} this build does not know")]
    State(u64),
}

/// What trace needs of a record besides its fields: when, where, who ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleMeta {
    pub time_unix_ns: u64,
    pub cpu: u32,
    pub pid: u32,
}

/// Field offsets of `sock:inet_sock_set_state` on this kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChangeLayout {
    pub id: u64,
    common: Common,
    skaddr: Slot,
    oldstate: Slot,
    newstate: Slot,
    protocol: Slot,
    ends: Ends,
}

impl StateChangeLayout {
    pub fn from_format(f: &EventFormat) -> Result<StateChangeLayout, FormatError> {
        Ok(StateChangeLayout {
            id: f.id,
            common: Common::of(f)?,
            skaddr: f.need("skaddr", &[4, 8], "4 or 8")?,
            oldstate: f.need("oldstate", &[4], "4")?,
            newstate: f.need("newstate", &[4], "4")?,
            protocol: f.need("protocol", &[1, 2], "1 or 2")?,
            ends: Ends::of(f)?,
        })
    }

    /// Decode one raw record. Records of other protocols (SCTP, MPTCP) are errors the caller
    /// counts and skips; a kernel filter `protocol == 6` keeps them out in the first place.
    pub fn decode(&self, raw: &[u8], meta: SampleMeta) -> Result<StateChange, RecordError> {
        let ty = self
            .common
            .common_type
            .uint(raw)
            .ok_or(RecordError::Short)?;
        if ty != self.id {
            return Err(RecordError::OtherEvent(ty));
        }
        let protocol = self.protocol.uint(raw).ok_or(RecordError::Short)?;
        if protocol != IPPROTO_TCP {
            return Err(RecordError::Protocol(protocol));
        }
        let state = |slot: Slot| -> Result<TcpState, RecordError> {
            let n = slot.uint(raw).ok_or(RecordError::Short)?;
            u8::try_from(n)
                .ok()
                .and_then(TcpState::from_kernel)
                .ok_or(RecordError::State(n))
        };
        let (family, local, peer) = self.ends.read(raw)?;
        Ok(StateChange {
            time_unix_ns: meta.time_unix_ns,
            cpu: meta.cpu,
            pid: meta.pid,
            flags: self
                .common
                .common_flags
                .uint(raw)
                .ok_or(RecordError::Short)? as u8,
            skaddr: self.skaddr.uint(raw).ok_or(RecordError::Short)?,
            old: state(self.oldstate)?,
            new: state(self.newstate)?,
            family,
            local,
            peer,
        })
    }
}

/// Field offsets of `tcp:tcp_destroy_sock` on this kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestroyLayout {
    pub id: u64,
    common: Common,
    skaddr: Slot,
    cookie: Slot,
}

impl DestroyLayout {
    pub fn from_format(f: &EventFormat) -> Result<DestroyLayout, FormatError> {
        Ok(DestroyLayout {
            id: f.id,
            common: Common::of(f)?,
            skaddr: f.need("skaddr", &[4, 8], "4 or 8")?,
            cookie: f.need("sock_cookie", &[8], "8")?,
        })
    }

    pub fn decode(&self, raw: &[u8], meta: SampleMeta) -> Result<Destroy, RecordError> {
        let ty = self
            .common
            .common_type
            .uint(raw)
            .ok_or(RecordError::Short)?;
        if ty != self.id {
            return Err(RecordError::OtherEvent(ty));
        }
        Ok(Destroy {
            time_unix_ns: meta.time_unix_ns,
            cpu: meta.cpu,
            skaddr: self.skaddr.uint(raw).ok_or(RecordError::Short)?,
            cookie: self.cookie.uint(raw).ok_or(RecordError::Short)?,
        })
    }
}

/// The `common_type` of a raw record (its event id), to route it to the right layout.
pub fn record_type(raw: &[u8]) -> Option<u64> {
    Slot { offset: 0, size: 2 }.uint(raw)
}

#[cfg(test)]
mod tests;
