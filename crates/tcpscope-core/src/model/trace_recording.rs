//! The file `tcpscope trace --record FILE` writes: JSON lines, a header, then what the live trace
//! concluded in order — every change with its track, owner, model check and internal facts (the
//! serde form of [`Transition`]), destroy records, lost-record notices, byte counts of finished
//! connections — and an end line. Plain data here, so that the pure code that replays a trace
//! (`analyze::trace::replay`, `top --from`) and its tests read the same format the binary
//! writes (`collect::trace::recording`).

use crate::model::transition::{Destroy, Lost, Transition};
use serde::{Deserialize, Serialize};

/// The `format` of the header line.
pub const FORMAT: &str = "tcpscope-trace";
pub const VERSION: u32 = 1;

/// The first line of a recording.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub version: u32,
    pub started_unix_ns: u64,
    /// `tracepoint` or `poll`.
    pub mode: String,
    #[serde(default)]
    pub hostname: String,
    #[serde(default)]
    pub kernel: String,
    /// The filter the trace ran with (only matching changes are in the file).
    #[serde(default)]
    pub filter: String,
    #[serde(default)]
    pub notes: Vec<String>,
}

/// One line of a recording.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Line {
    Header(Header),
    Transition {
        track: u64,
        #[serde(flatten)]
        transition: Transition,
    },
    Destroy(Destroy),
    Lost(Lost),
    /// Bytes of a finished connection, as the collector's last tcp_info had them.
    Bytes {
        cookie: u64,
        sent: Option<u64>,
        received: Option<u64>,
    },
    End {
        ended_unix_ns: u64,
    },
}

/// True when `head` (the start of a file) is a trace recording: its first line is a header of
/// format [`FORMAT`].
pub fn looks_like_trace(head: &[u8]) -> bool {
    let body = head.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(head);
    let first = body
        .split(|b| *b == b'\n')
        .find(|l| !l.iter().all(u8::is_ascii_whitespace))
        .unwrap_or(&[]);
    let Ok(text) = std::str::from_utf8(first) else {
        return false;
    };
    #[derive(Deserialize)]
    struct Probe {
        #[serde(rename = "type", default)]
        kind: String,
        #[serde(default)]
        format: String,
    }
    serde_json::from_str::<Probe>(text.trim())
        .is_ok_and(|p| p.kind == "header" && p.format == FORMAT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trace_header_is_told_from_a_snapshot() {
        assert!(looks_like_trace(
            b"\n{\"type\":\"header\",\"format\":\"tcpscope-trace\",\"version\":1}\n{\"type\":\"end\"}"
        ));
        assert!(!looks_like_trace(
            b"{\"format\":\"tcpscope-snapshot\",\"version\":1,\n\"sockets\":[]}"
        ));
        assert!(!looks_like_trace(b"Active Connections\r\n"));
        assert!(!looks_like_trace(b""));
        // A header cut off by the peek is not taken for one.
        assert!(!looks_like_trace(
            b"{\"type\":\"header\",\"format\":\"tcpscope-tr"
        ));
    }
}
