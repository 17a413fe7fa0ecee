//! The ss-like socket table: State, Recv-Q, Send-Q, Local, Peer, Timer, then optional columns
//! (`-e` Details, `-p` Process) and, with `-i`/`-m`, a detail line under each row as ss prints
//! it. Addresses are written exactly as `ss -tan` writes them (render::address); host strings
//! (process, unit, namespace and device names) are made terminal-safe (render::safe).
//!
//! Rows stream: the first [`WIDTH_SAMPLE`] rows are held back to size the columns, after which
//! every row is written as it arrives, so memory stays constant on 100k sockets. A value wider
//! than its column pushes the rest of its row right rather than being cut. A value the source
//! does not know (a listener's backlog from /proc/net/tcp, any queue of a Windows capture) is
//! shown as `-`, never as a 0 that looks measured.

use crate::analyze::duration::human_ms;
use crate::decode::names::Names;
use crate::model::missing::Datum;
use crate::model::socket::{Socket, TimerKind};
use crate::model::state::TcpState;
use crate::render::address::{push_address, Side};
use crate::render::safe::{push_terminal_safe, terminal_safe};
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
    /// A line of tcp_info under each row, as `ss -i`.
    pub info: bool,
    /// Socket memory under each row, as `ss -m`.
    pub memory: bool,
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
    /// The `-e` column, when a Process column follows it.
    details: usize,
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
            details: "Details".len(),
        };
        let mut scratch = String::new();
        for s in &self.held {
            if let Some(n) = &s.netns {
                scratch.clear();
                push_netns(&mut scratch, n);
                w.netns = w.netns.max(scratch.chars().count());
            }
            scratch.clear();
            push_address(&mut scratch, s, Side::Local, self.names);
            w.local = w.local.max(scratch.chars().count());
            scratch.clear();
            push_address(&mut scratch, s, Side::Peer, self.names);
            w.peer = w.peer.max(scratch.chars().count());
            if self.opts.extended && self.opts.processes {
                w.details = w.details.max(extended_text(s).chars().count());
            }
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
            let dw = if self.opts.processes { w.details } else { 0 };
            h.push_str(&format!(" {:<dw$}", "Details"));
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
            pad_after(
                l,
                |l| {
                    if let Some(n) = &s.netns {
                        push_netns(l, n)
                    }
                },
                w.netns,
            );
            l.push(' ');
        }
        let _ = write!(l, "{:<12} ", s.state.display_name());
        for (known, value) in [(s.recv_q_known(), s.recv_q), (s.send_q_known(), s.send_q)] {
            if known {
                let _ = write!(l, "{value:>7} ");
            } else {
                let _ = write!(l, "{:>7} ", "-");
            }
        }
        let names = self.names;
        pad_after(l, |l| push_address(l, s, Side::Local, names), w.local);
        l.push(' ');
        pad_after(l, |l| push_address(l, s, Side::Peer, names), w.peer);
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
            let dw = if self.opts.processes { w.details } else { 0 };
            pad_after(l, |l| l.push_str(&extended_text(s)), dw);
        }
        if self.opts.processes {
            l.push(' ');
            l.push_str(&owners_text(s));
        }
        let trimmed = l.trim_end();
        self.out.write_all(trimmed.as_bytes())?;
        self.out.write_all(b"\n")?;
        if self.opts.info || self.opts.memory {
            if let Some(d) = crate::render::detail::detail_text(s, self.opts.memory, self.opts.info)
            {
                // As ss: a tab, then the details (each of which starts with a space).
                self.out.write_all(b"\t")?;
                self.out.write_all(d.as_bytes())?;
                self.out.write_all(b"\n")?;
            }
        }
        Ok(())
    }
}

/// Width of the Timer column when more columns follow it ("retrans 15 (1m59s)" fits).
const TIMER_WIDTH: usize = 20;

/// Append what `f` writes, then spaces up to `width` characters.
fn pad_after(l: &mut String, f: impl FnOnce(&mut String), width: usize) {
    let start = l.len();
    f(l);
    let used = l[start..].chars().count();
    for _ in used..width {
        l.push(' ');
    }
}

/// The Timer column, one form for every timer — what it is, then the time left, then how many
/// retransmissions or probes it has sent when any: "time-wait 52s", "keepalive 1h59m",
/// "retrans 200ms #3", "zero-window-probe 1.2s #5"; empty for none. Under a second the time
/// is in milliseconds (a retransmission timer is often 200ms, which "0.2s" would round).
pub fn timer_text(s: &Socket) -> String {
    let Some(t) = s.timer else {
        return String::new();
    };
    let left = if t.expires_ms < 1000 {
        format!("{}ms", t.expires_ms)
    } else {
        human_ms(t.expires_ms)
    };
    let kind = match t.kind {
        TimerKind::Retransmit => "retrans",
        TimerKind::Keepalive => "keepalive",
        // An orphaned FIN-WAIT-2 lives on a timewait mini socket too; its timer is the
        // tcp_fin_timeout, and calling it "time-wait" would mislead.
        TimerKind::TimeWait if s.state == TcpState::FinWait2 => "fin-timeout",
        TimerKind::TimeWait => "time-wait",
        TimerKind::ZeroWindowProbe => "zero-window-probe",
        TimerKind::DelayedAck => "delayed-ack",
    };
    match t.retrans {
        0 => format!("{kind} {left}"),
        n => format!("{kind} {left} #{n}"),
    }
}

/// The `-e` column: uid, inode (or who owns it instead), cookie, tcp_info ages and rtt — the
/// ages and rtt not for a listener, which sends and receives nothing to measure them by.
pub fn extended_text(s: &Socket) -> String {
    let known = |d: Datum, v: String| if s.lacks(d) { "-".to_string() } else { v };
    let mut out = format!(
        "uid:{} ino:{} sk:{}",
        known(Datum::Uid, s.uid.to_string()),
        known(Datum::Inode, s.inode.to_string()),
        known(Datum::Cookie, format!("{:x}", s.cookie))
    );
    if let Some(ti) = s.tcp_info.as_ref().filter(|_| s.state != TcpState::Listen) {
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

/// The `-p` column: every process holding the socket, or why none does. Names come from the
/// processes (or a recording) and are made terminal-safe.
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
    let mut t = String::new();
    for (i, o) in s.owners.iter().enumerate() {
        if i > 0 {
            t.push(',');
        }
        // A capture may name the pid only (Windows -o) and no descriptor.
        let comm = &o.process.comm;
        if comm.is_empty() {
            t.push_str("pid");
        } else {
            push_terminal_safe(&mut t, comm);
        }
        t.push_str(&format!("[{}]", o.pid));
        if !s.lacks(Datum::Fd) {
            t.push_str(&format!("/fd{}", o.fd));
        }
        if let Some(c) = &o.process.container {
            t.push('@');
            t.push_str(&terminal_safe(&crate::decode::cgroup::short_label(c)));
        }
    }
    t
}

/// The Netns column as text (see [`push_netns`]).
pub fn netns_text(n: &crate::model::socket::Netns) -> String {
    let mut t = String::new();
    push_netns(&mut t, n);
    t
}

/// The Netns column: the namespace's name, `pid:N(container)`, its file, or `net:[inode]`.
fn push_netns(l: &mut String, n: &crate::model::socket::Netns) {
    match (&n.name, n.pid, &n.container, &n.path) {
        (Some(name), _, _, _) => push_terminal_safe(l, name),
        (None, Some(pid), Some(c), _) => {
            l.push_str(&format!("pid:{pid}("));
            push_terminal_safe(l, c);
            l.push(')');
        }
        (None, Some(pid), None, _) => l.push_str(&format!("pid:{pid}")),
        (None, None, _, Some(path)) => push_terminal_safe(l, path),
        (None, None, _, None) => l.push_str(&format!("net:[{}]", n.inode)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::socket::{Endpoint, Family, Timer};

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
            path: None,
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
            path: None,
        });
        let mut fw2 = sample(TcpState::FinWait2, "10.0.0.2:8080", "10.0.0.9:50001");
        fw2.inode = 0;
        fw2.netns = Some(Netns {
            inode: 4026532301,
            name: Some("blue".into()),
            pid: None,
            container: None,
            path: None,
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

    /// Regression (issue 11, defect 13): under `-ep` the Process column wandered with the
    /// length of the Details text.
    #[test]
    fn process_column_lines_up_under_ep() {
        use crate::model::process::{Owner, ProcessIdentity};
        use crate::model::socket::TcpInfo;
        let owner = Owner {
            pid: 7,
            fd: 3,
            process: ProcessIdentity::named("srv"),
        };
        let mut short = sample(TcpState::Established, "127.0.0.1:1", "127.0.0.1:2");
        short.owners = vec![owner.clone()];
        let mut long = sample(TcpState::Established, "127.0.0.1:3", "127.0.0.1:4");
        long.uid = 123_456;
        long.inode = 987_654_321;
        long.tcp_info = Some(TcpInfo {
            last_data_sent_ms: Some(1_000),
            last_data_recv_ms: Some(2_000),
            last_ack_recv_ms: Some(3_000),
            rtt_us: Some(1_234),
            ..TcpInfo::default()
        });
        long.owners = vec![owner];
        let out = render(
            &[short, long],
            TableOptions {
                extended: true,
                processes: true,
                ..TableOptions::default()
            },
        );
        let columns: Vec<usize> = out
            .lines()
            .map(|l| l.find("srv[7]").or_else(|| l.find("Process")).unwrap())
            .collect();
        assert_eq!(columns.len(), 3, "{out}");
        assert!(columns.iter().all(|c| *c == columns[0]), "{out}");
    }

    /// Regression (issue 11, defect 13): `retrans 1 (0.0s)` next to `keepalive 28s`.
    #[test]
    fn timers_read_alike() {
        let mut s = sample(TcpState::Established, "127.0.0.1:1", "127.0.0.1:2");
        let mut timer = |kind, expires_ms, retrans| {
            s.timer = Some(Timer {
                kind,
                expires_ms,
                retrans,
            });
            timer_text(&s)
        };
        assert_eq!(timer(TimerKind::Retransmit, 30, 1), "retrans 30ms #1");
        assert_eq!(timer(TimerKind::Keepalive, 28_000, 0), "keepalive 28s");
        assert_eq!(timer(TimerKind::Keepalive, 28_000, 2), "keepalive 28s #2");
        assert_eq!(
            timer(TimerKind::ZeroWindowProbe, 1_200, 5),
            "zero-window-probe 1.2s #5"
        );
        assert_eq!(timer(TimerKind::TimeWait, 52_400, 0), "time-wait 52s");
    }

    /// Regression (issue 11, defect 10): listeners showed `last-send:0.0s last-recv:0.0s
    /// rtt:0.000ms`, figures a listener does not have.
    #[test]
    fn listeners_show_no_idle_times_or_rtt() {
        use crate::model::socket::TcpInfo;
        let mut l = sample(TcpState::Listen, "0.0.0.0:80", "0.0.0.0:0");
        l.tcp_info = Some(TcpInfo {
            last_data_sent_ms: Some(0),
            last_data_recv_ms: Some(0),
            last_ack_recv_ms: Some(0),
            rtt_us: Some(0),
            ..TcpInfo::default()
        });
        let text = extended_text(&l);
        assert_eq!(text, "uid:1000 ino:1234 sk:abc");
    }

    /// Regression (issue 11, defect 6): a process named "\x1b[31m..." recoloured the terminal.
    #[test]
    fn control_characters_in_host_strings_are_escaped() {
        use crate::model::process::{Container, Owner, ProcessIdentity};
        use crate::model::socket::Netns;
        use std::sync::Arc;
        let mut s = sample(TcpState::Listen, "0.0.0.0:80", "0.0.0.0:0");
        s.owners = vec![Owner {
            pid: 1,
            fd: 3,
            process: Arc::new(ProcessIdentity {
                comm: "\x1b[31mred\x07".into(),
                container: Some(Container {
                    runtime: "docker".into(),
                    id: "\x1b]0;x".into(),
                    pod_uid: None,
                }),
                ..ProcessIdentity::default()
            }),
        }];
        s.netns = Some(Netns {
            inode: 1,
            name: Some("ns\x1b[2J".into()),
            pid: None,
            container: None,
            path: None,
        });
        s.ifindex = 1;
        s.dev = Some("lo\x1b[H".into());
        let out = render(
            &[s],
            TableOptions {
                processes: true,
                netns: true,
                ..TableOptions::default()
            },
        );
        assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
        assert!(out.contains("\\x1b[31mred\\x07[1]/fd3"), "{out}");
        assert!(out.contains("ns\\x1b[2J"), "{out}");
        assert!(out.contains("0.0.0.0%lo\\x1b[H:80"), "{out}");
    }

    #[test]
    fn info_and_memory_lines_follow_their_row() {
        use crate::model::socket::SocketMemory;
        let mut s = sample(TcpState::Established, "127.0.0.1:1", "127.0.0.1:2");
        s.memory = Some(SocketMemory::default());
        let out = render(
            &[s.clone(), s],
            TableOptions {
                memory: true,
                ..TableOptions::default()
            },
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 5, "{out}");
        assert_eq!(lines[2], "\t skmem:(r0,rb0,t0,tb0,f0,w0,o0,bl0,d0)");
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
        // The Process column is aligned under -ep: compare words, not padding.
        let words = |l: &str| l.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            words(lines[2]).ends_with("uid:1000 ino:- sk:abc pid[4242]"),
            "{out}"
        );
        assert!(words(lines[3]).ends_with("uid:- ino:- sk:- -"), "{out}");
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
