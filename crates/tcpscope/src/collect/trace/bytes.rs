//! Bytes sent and received per socket cookie, for `trace --lifetimes`: the tracepoints carry no
//! byte counts, so the collector's polls read tcp_info now and then, and a connection that ends
//! takes the last counts a poll saw for its cookie. A cookie stays one poll after its socket
//! is gone (the end is traced after the last poll that saw it); a replay fills the book from
//! the recording instead.

use crate::collect::collector::Collector;
use anyhow::Result;
use tcpscope_core::analyze::fasthash::FastMap;
use tcpscope_core::Socket;

/// (sent, received) bytes: acknowledged by the peer, and received.
pub type Bytes = (Option<u64>, Option<u64>);

/// The last byte counts seen per cookie.
#[derive(Default)]
pub struct ByteBook {
    now: FastMap<u64, Bytes>,
    before: FastMap<u64, Bytes>,
}

impl ByteBook {
    /// Note the counts of one socket of the poll being made.
    pub fn see(&mut self, s: &Socket) {
        if let (Some(i), c) = (&s.tcp_info, s.cookie) {
            if c != 0 {
                self.now.insert(c, (i.bytes_acked, i.bytes_received));
            }
        }
    }

    /// A poll ended: what it did not see is kept until the next one ends.
    pub fn end_poll(&mut self) {
        self.before = std::mem::take(&mut self.now);
    }

    /// Poll the collector for byte counts only (its plan asks for tcp_info).
    pub fn poll(&mut self, collector: &mut Collector) -> Result<()> {
        collector.next_poll()?;
        collector.stream(&mut |s| {
            self.see(s);
            Ok(())
        })?;
        self.end_poll();
        Ok(())
    }

    /// Counts known from elsewhere (a recording).
    pub fn insert(&mut self, cookie: u64, bytes: Bytes) {
        self.now.insert(cookie, bytes);
    }

    /// The last counts seen for `cookie`.
    pub fn get(&self, cookie: u64) -> Option<Bytes> {
        self.now
            .get(&cookie)
            .or_else(|| self.before.get(&cookie))
            .copied()
    }
}
