//! The ss-like socket table: State, Recv-Q, Send-Q, Local, Peer, Timer, then optional columns.
//!
//! Rows stream: the first [`WIDTH_SAMPLE`] rows are held back to size the columns, after which
//! every row is written as it arrives, so memory stays constant on 100k sockets. An address
//! wider than its column pushes the rest of its row right rather than being cut. A value the
//! source does not know (a listener's backlog from /proc/net/tcp, any queue of a Windows capture)
//! is shown as `-`, never as a 0 that looks measured.

use crate::analyze::duration::human_ms;
use crate::decode::names::Names;
use crate::model::missing::Datum;
use crate::model::socket::{Endpoint, Socket, TimerKind};
use crate::model::state::TcpState;
use std::io::{self, Write};

/// Rows held back to choose column widths.
pub const WIDTH_SAMPLE: usize = 2048;

/// Which optional columns to show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableOptions {
    /// uid, inode, cookie and tcp_info ages.
    pub extended: bool,
    /// The processes holding each socket.
    pub processes: bool,
    /// The network namespace of each socket.
    pub netns: bool,
    /// Omit the header line.
    pub no_header: bool,
}

/// Streams sockets as table rows.
pub struct TableWriter<'n, W: Write> {
    out: W,
    opts: TableOptions,
    names: Option<&'n Names>,
    held: Vec<Socket>,
    widths: Option<Widths>,
    line: String,
}

#[derive(Clone, Copy)]
struct Widths {
    netns: usize,
    local: usize,
    peer: usize,
}

impl<'n, W: Write> TableWriter<'n, W> {
    pub fn new(out: W, opts: TableOptions, names: Option<&'n Names>) -> Self {
        TableWriter {
            out,
            opts,
            names,
            held: Vec::new(),
            widths: None,
            line: String::with_capacity(256),
        }
    }

    /// Add one socket to the table.
    pub fn row(&mut self, s: &Socket) -> io::Result<()> {
        match self.widths {
            Some(w) => self.write_row(s, w),
            None => {
                self.held.push(s.clone());
                if self.held.len() >= WIDTH_SAMPLE {
                    self.release()?;
                }
                Ok(())
            }
        }
    }

    /// Write whatever is held back and flush.
    pub fn finish(mut self) -> io::Result<W> {
        if self.widths.is_none() {
            self.release()?;
        }
        self.out.flush()?;
        Ok(self.out)
    }

    fn release(&mut self) -> io::Result<()> {
        let mut w = Widths {
            netns: "Netns".len(),
            local: "Local Address:Port".len(),
            peer: "Peer Address:Port".len(),
        };
        let mut scratch = String::new();
        for s in &self.held {
            if let Some(n) = &s.netns {
                w.netns = w.netns.max(netns_text(n).len());
            }
            scratch.clear();
            push_endpoint(&mut scratch, &s.local, self.names);
            w.local = w.local.max(scratch.len());
            scratch.clear();
            push_endpoint(&mut scratch, &s.peer, self.names);
            w.peer = w.peer.max(scratch.len());
        }
        // Later rows may be wider than the sample: leave room for an IPv4 address and port,
        // and for a namespace label like `pid:123456`.
        w.netns = w.netns.max(12);
        w.local = w.local.max(21);
        w.peer = w.peer.max(21);
        self.widths = Some(w);
        if !self.opts.no_header {
            self.write_header(w)?;
        }
        let held = std::mem::take(&mut self.held);
        for s in &held {
            self.write_row(s, w)?;
        }
        Ok(())
    }

    fn more_columns(&self) -> bool {
        self.opts.extended || self.opts.processes
    }

    fn write_header(&mut self, w: Widths) -> io::Result<()> {
        let mut h = String::new();
        if self.opts.netns {
            h.push_str(&format!("{:<width$} ", "Netns", width = w.netns));
        }
        h.push_str(&format!(
            "{:<12} {:>7} {:>7} {:<lw$} {:<pw$} {:<tw$}",
            "State",
            "Recv-Q",
            "Send-Q",
            "Local Address:Port",
            "Peer Address:Port",
            "Timer",
            lw = w.local,
            pw = w.peer,
            tw = if self.more_columns() { TIMER_WIDTH } else { 0 },
        ));
        if self.opts.extended {
            h.push_str(" Details");
        }
        if self.opts.processes {
            h.push_str(" Process");
        }
        writeln!(self.out, "{}", h.trim_end())
    }

    /// Format one row into the reusable line buffer and write it: no allocation per row in the
    /// common case (no timer, no extra columns).
    fn write_row(&mut self, s: &Socket, w: Widths) -> io::Result<()> {
        use std::fmt::Write as _;
        let more = self.more_columns();
        let l = &mut self.line;
        l.clear();
        if self.opts.netns {
            let text = s.netns.as_ref().map(netns_text).unwrap_or_default();
            let _ = write!(l, "{text:<width$} ", width = w.netns);
        }
        let _ = write!(l, "{:<12} ", s.state.display_name());
        for (known, value) in [(s.recv_q_known(), s.recv_q), (s.send_q_known(), s.send_q)] {
            if known {
                let _ = write!(l, "{value:>7} ");
            } else {
                let _ = write!(l, "{:>7} ", "-");
            }
        }
        pad_after(l, |l| push_endpoint(l, &s.local, self.names), w.local);
        l.push(' ');
        pad_after(l, |l| push_endpoint(l, &s.peer, self.names), w.peer);
        l.push(' ');
        if more {
            pad_after(
                l,
                |l| match timer_text(s) {
                    t if t.is_empty() => l.push('-'),
                    t => l.push_str(&t),
                },
                TIMER_WIDTH,
            );
        } else if s.timer.is_some() {
            l.push_str(&timer_text(s));
        }
        if self.opts.extended {
            l.push(' ');
            l.push_str(&extended_text(s));
        }
        if self.opts.processes {
            l.push(' ');
            l.push_str(&owners_text(s));
        }
        let trimmed = l.trim_end();
        self.out.write_all(trimmed.as_bytes())?;
        self.out.write_all(b"\n")
    }
}

/// Width of the Timer column when more columns follow it ("retrans 15 (1m59s)" fits).
const TIMER_WIDTH: usize = 20;

/// Append what `f` writes, then spaces up to `width` characters.
fn pad_after(l: &mut String, f: impl FnOnce(&mut String), width: usize) {
    let start = l.len();
    f(l);
    let used = l.len() - start;
    for _ in used..width {
        l.push(' ');
    }
}

fn push_endpoint(l: &mut String, e: &Endpoint, names: Option<&Names>) {
    use std::fmt::Write as _;
    match names {
        None => {
            let _ = write!(l, "{e}");
        }
        Some(_) => l.push_str(&endpoint_text(e, names)),
    }
}

/// An endpoint as text, with names from `/etc/hosts` and `/etc/services` when asked (`-r`).
pub fn endpoint_text(e: &Endpoint, names: Option<&Names>) -> String {
    let Some(names) = names else {
        return e.to_string();
    };
    let host = match names.host(e.addr) {
        Some(h) => h.to_string(),
        None if e.addr.is_unspecified() => "*".to_string(),
        None => match e.addr {
            std::net::IpAddr::V6(a) => format!("[{a}]"),
            a => a.to_string(),
        },
    };
    let port = match (e.port, names.service(e.port)) {
        (0, _) => "*".to_string(),
        (_, Some(svc)) => svc.to_string(),
        (p, None) => p.to_string(),
    };
    format!("{host}:{port}")
}

/// The Timer column: "time-wait 52s", "keepalive 1h59m", "retrans 3 (1.2s)", or empty.
pub fn timer_text(s: &Socket) -> String {
    let Some(t) = s.timer else {
        return String::new();
    };
    let left = human_ms(t.expires_ms);
    match t.kind {
        TimerKind::Retransmit => format!("retrans {} ({left})", t.retrans),
        TimerKind::Keepalive => format!("keepalive {left}"),
        // An orphaned FIN-WAIT-2 lives on a timewait mini socket too; its timer is the
        // tcp_fin_timeout, and calling it "time-wait" would mislead.
        TimerKind::TimeWait if s.state == TcpState::FinWait2 => format!("fin-timeout {left}"),
        TimerKind::TimeWait => format!("time-wait {left}"),
        TimerKind::ZeroWindowProbe => format!("zero-window-probe {} ({left})", t.retrans),
        TimerKind::DelayedAck => format!("delayed-ack {left}"),
    }
}

/// The `-e` column: uid, inode (or who owns it instead), cookie, tcp_info ages and rtt.
pub fn extended_text(s: &Socket) -> String {
    let known = |d: Datum, v: String| if s.lacks(d) { "-".to_string() } else { v };
    let mut out = format!(
        "uid:{} ino:{} sk:{}",
        known(Datum::Uid, s.uid.to_string()),
        known(Datum::Inode, s.inode.to_string()),
        known(Datum::Cookie, format!("{:x}", s.cookie))
    );
    if let Some(ti) = &s.tcp_info {
        let age = |v: Option<u32>| v.map_or("-".to_string(), |ms| human_ms(u64::from(ms)));
        out.push_str(&format!(
            " last-send:{} last-recv:{} last-ack:{}",
            age(ti.last_data_sent_ms),
            age(ti.last_data_recv_ms),
            age(ti.last_ack_recv_ms)
        ));
        if let Some(rtt) = ti.rtt_us {
            out.push_str(&format!(" rtt:{:.3}ms", f64::from(rtt) / 1000.0));
        }
        if let Some(r) = ti.total_retrans.filter(|r| *r > 0) {
            out.push_str(&format!(" retrans:{r}"));
        }
    }
    if let Some(sh) = s.shutdown.filter(|b| *b != 0) {
        let what = match sh & 3 {
            1 => "rcv",
            2 => "snd",
            _ => "both",
        };
        out.push_str(&format!(" shutdown:{what}"));
    }
    out
}

/// The `-p` column: every process holding the socket, or why none does.
pub fn owners_text(s: &Socket) -> String {
    if s.owners.is_empty() {
        if s.lacks(Datum::Owners) {
            return "-".to_string();
        }
        return match s.kernel_owned_reason() {
            // The reason's short form: "time-wait", "orphaned fin-wait-2", "orphaned", ...
            Some(why) => format!("kernel-owned ({})", why.split(':').next().unwrap_or(why)),
            None => "-".to_string(),
        };
    }
    s.owners
        .iter()
        .map(|o| {
            // A capture may name the pid only (Windows -o) and no descriptor.
            let comm = &o.process.comm;
            let mut t = match (comm.is_empty(), s.lacks(Datum::Fd)) {
                (false, false) => format!("{comm}[{}]/fd{}", o.pid, o.fd),
                (false, true) => format!("{comm}[{}]", o.pid),
                (true, false) => format!("pid[{}]/fd{}", o.pid, o.fd),
                (true, true) => format!("pid[{}]", o.pid),
            };
            if let Some(c) = &o.process.container {
                t.push('@');
                t.push_str(&crate::decode::cgroup::short_label(c));
            }
            t
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The Netns column: a namespace's name, `pid:PID(container)`, or `net:[INODE]`.
pub fn netns_text(n: &crate::model::socket::Netns) -> String {
    match (&n.name, n.pid, &n.container) {
        (Some(name), _, _) => name.clone(),
        (None, Some(pid), Some(c)) => format!("pid:{pid}({c})"),
        (None, Some(pid), None) => format!("pid:{pid}"),
        (None, None, _) => format!("net:[{}]", n.inode),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::socket::{Family, Timer};

    pub(crate) fn sample(state: TcpState, local: &str, peer: &str) -> Socket {
        let ep = |s: &str| {
            let (a, p) = s.rsplit_once(':').unwrap();
            let a = a.trim_start_matches('[').trim_end_matches(']');
            Endpoint::new(a.parse().unwrap(), p.parse().unwrap())
        };
        Socket {
            uid: 1000,
            inode: 1234,
            cookie: 0xabc,
            ..Socket::new(state, Family::Inet, ep(local), ep(peer))
        }
    }

    fn render(socks: &[Socket], opts: TableOptions) -> String {
        let mut w = TableWriter::new(Vec::new(), opts, None);
        for s in socks {
            w.row(s).unwrap();
        }
        String::from_utf8(w.finish().unwrap()).unwrap()
    }

    #[test]
    fn table_snapshot() {
        let mut tw = sample(TcpState::TimeWait, "127.0.0.1:40000", "127.0.0.1:5555");
        tw.inode = 0;
        tw.timer = Some(Timer {
            kind: TimerKind::TimeWait,
            expires_ms: 52_400,
            retrans: 0,
        });
        let mut cw = sample(TcpState::CloseWait, "127.0.0.1:5555", "127.0.0.1:40002");
        cw.recv_q = 17;
        let mut est = sample(TcpState::Established, "[::1]:22", "[::1]:51000");
        est.timer = Some(Timer {
            kind: TimerKind::Retransmit,
            expires_ms: 1_200,
            retrans: 3,
        });
        let mut l = sample(TcpState::Listen, "0.0.0.0:5555", "0.0.0.0:0");
        l.send_q = 128;
        let out = render(&[l, est, cw, tw], TableOptions::default());
        insta::assert_snapshot!(out);
    }

    #[test]
    fn extended_and_processes_columns() {
        let mut tw = sample(TcpState::TimeWait, "127.0.0.1:40000", "127.0.0.1:5555");
        tw.inode = 0;
        let out = render(
            &[tw],
            TableOptions {
                extended: true,
                processes: true,
                ..TableOptions::default()
            },
        );
        insta::assert_snapshot!(out);
    }

    #[test]
    fn owners_and_netns_columns() {
        use crate::model::process::{Container, Owner, ProcessIdentity};
        use crate::model::socket::Netns;
        let owner = |pid: u32, fd: u32, container: Option<Container>| Owner {
            pid,
            fd,
            process: std::sync::Arc::new(ProcessIdentity {
                comm: "nginx".into(),
                cmdline: "nginx: worker process".into(),
                user: "www-data".into(),
                container,
                unit: None,
            }),
        };
        let mut l = sample(TcpState::Listen, "0.0.0.0:80", "0.0.0.0:0");
        l.owners = vec![owner(100, 6, None), owner(101, 6, None)];
        l.netns = Some(Netns {
            inode: 4026531840,
            name: None,
            pid: Some(1),
            container: None,
        });
        let mut cw = sample(TcpState::CloseWait, "10.0.0.2:8080", "10.0.0.9:50000");
        cw.owners = vec![owner(
            4242,
            17,
            Some(Container {
                runtime: "docker".into(),
                id: "3f4e1c2b9a8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f".into(),
                pod_uid: None,
            }),
        )];
        cw.netns = Some(Netns {
            inode: 4026532300,
            name: None,
            pid: Some(4242),
            container: Some("docker:3f4e1c2b9a8d".into()),
        });
        let mut fw2 = sample(TcpState::FinWait2, "10.0.0.2:8080", "10.0.0.9:50001");
        fw2.inode = 0;
        fw2.netns = Some(Netns {
            inode: 4026532301,
            name: Some("blue".into()),
            pid: None,
            container: None,
        });
        let mut hidden = sample(TcpState::Established, "127.0.0.1:22", "127.0.0.1:40000");
        hidden.netns = fw2.netns.clone();
        let out = render(
            &[l, cw, fw2, hidden],
            TableOptions {
                processes: true,
                netns: true,
                ..TableOptions::default()
            },
        );
        insta::assert_snapshot!(out);
    }

    #[test]
    fn values_the_source_lacks_are_dashes() {
        use crate::model::missing::Missing;
        use crate::model::process::Owner;
        let mut proc_listener = sample(TcpState::Listen, "127.0.0.1:8080", "0.0.0.0:0");
        proc_listener.recv_q = 1;
        proc_listener.missing = Missing::of(&[Datum::Backlog]);
        let mut windows = sample(TcpState::CloseWait, "10.0.0.5:50000", "10.0.0.20:5432");
        windows.missing = Missing::of(&[Datum::RecvQ, Datum::SendQ, Datum::Fd, Datum::Inode]);
        windows.owners.push(Owner {
            pid: 4242,
            fd: 0,
            process: std::sync::Arc::new(crate::model::process::ProcessIdentity {
                comm: String::new(),
                cmdline: String::new(),
                user: String::new(),
                container: None,
                unit: None,
            }),
        });
        let mut bsd = sample(TcpState::TimeWait, "10.0.0.5:50001", "10.0.0.30:443");
        bsd.missing = Missing::of(&[Datum::Owners, Datum::Inode, Datum::Uid, Datum::Cookie]);
        let out = render(
            &[proc_listener, windows, bsd],
            TableOptions {
                processes: true,
                extended: true,
                ..TableOptions::default()
            },
        );
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[1].starts_with("LISTEN             1       - "),
            "{out}"
        );
        assert!(
            lines[2].starts_with("CLOSE-WAIT         -       - "),
            "{out}"
        );
        assert!(
            lines[2].ends_with("uid:1000 ino:- sk:abc pid[4242]"),
            "{out}"
        );
        assert!(lines[3].ends_with("uid:- ino:- sk:- -"), "{out}");
    }

    #[test]
    fn empty_table_has_a_header() {
        let out = render(&[], TableOptions::default());
        assert!(out.starts_with("State"), "{out}");
        let out = render(
            &[],
            TableOptions {
                no_header: true,
                ..TableOptions::default()
            },
        );
        assert_eq!(out, "");
    }
}
