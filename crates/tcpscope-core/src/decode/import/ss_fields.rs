//! The `key:value` fields `ss` prints after the addresses and on `-i` detail lines:
//! `users:(("nginx",pid=10,fd=6),("nginx",pid=11,fd=6))`, `timer:(keepalive,119min,0)`,
//! `uid:1000 ino:2289770 sk:f6f53`, the shutdown arrows `<->`/`-->`/`<--`/`---`, and tcp_info
//! (`rtt:0.013/0.006 lastsnd:19712 lastrcv:19712 lastack:18712 bytes_acked:1 ...`).
//!
//! A command name may hold spaces, commas and parentheses (`("Web Content",pid=5,fd=3)`), so
//! fields are split on whitespace only outside quotes and parentheses.

use crate::model::process::Owner;
use crate::model::socket::{Socket, TcpInfo, Timer, TimerKind};

/// Split `s` into fields at whitespace outside `"..."` and `(...)`.
pub(crate) fn fields(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut quoted = false;
    let mut start: Option<usize> = None;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth = depth.saturating_sub(1),
            c if c.is_whitespace() && !quoted && depth == 0 => {
                if let Some(b) = start.take() {
                    out.push(&s[b..i]);
                }
                continue;
            }
            _ => {}
        }
        if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(b) = start {
        out.push(&s[b..]);
    }
    out
}

/// What the fields of one row said, so the parser knows which options the capture used.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Seen {
    pub users: bool,
    pub timer: bool,
    pub extended: bool,
    pub info: bool,
}

/// Apply the fields of a row (or of its detail line) to its socket.
pub(crate) fn apply(s: &mut Socket, text: &str, seen: &mut Seen) -> Result<(), String> {
    for f in fields(text) {
        match f {
            "<->" => s.shutdown = Some(0),
            "-->" => s.shutdown = Some(1),
            "<--" => s.shutdown = Some(2),
            "---" => s.shutdown = Some(3),
            _ => {}
        }
        let Some((key, value)) = f.split_once(':') else {
            continue;
        };
        match key {
            "users" => {
                seen.users = true;
                s.owners.extend(users(value)?);
            }
            "timer" => {
                seen.timer = true;
                s.timer = timer(value)?;
            }
            "uid" => {
                seen.extended = true;
                s.uid = number(key, value)?;
            }
            "ino" => {
                seen.extended = true;
                s.inode = number(key, value)?;
            }
            "sk" => {
                seen.extended = true;
                s.cookie = u64::from_str_radix(value, 16)
                    .map_err(|_| format!("sk:{value} is not a hexadecimal cookie"))?;
            }
            _ => {
                if let Some(done) = info_field(s, key, value)? {
                    seen.info |= done;
                }
            }
        }
    }
    Ok(())
}

fn number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{key}:{value} is not a number"))
}

/// `(("comm",pid=1,fd=2),("comm",pid=3,fd=4))`
fn users(value: &str) -> Result<Vec<Owner>, String> {
    let bad = || format!("users:{value} is not ((\"command\",pid=N,fd=N),...)");
    let inner = value
        .strip_prefix('(')
        .and_then(|v| v.strip_suffix(')'))
        .ok_or_else(bad)?;
    let mut owners = Vec::new();
    let mut rest = inner;
    while let Some(open) = rest.find("(\"") {
        let after = &rest[open + 2..];
        let end = after.find("\",").ok_or_else(bad)?;
        let comm = &after[..end];
        let tail = &after[end + 2..];
        let close = tail.find(')').ok_or_else(bad)?;
        let mut pid = None;
        let mut fd = None;
        for kv in tail[..close].split(',') {
            match kv.split_once('=') {
                Some(("pid", v)) => pid = v.parse::<u32>().ok(),
                Some(("fd", v)) => fd = v.parse::<u32>().ok(),
                _ => {}
            }
        }
        owners.push(Owner {
            pid: pid.ok_or_else(bad)?,
            fd: fd.ok_or_else(bad)?,
            process: std::sync::Arc::new(crate::model::process::ProcessIdentity {
                comm: comm.to_string(),
                cmdline: String::new(),
                user: String::new(),
                container: None,
                unit: None,
            }),
        });
        rest = &tail[close + 1..];
    }
    if owners.is_empty() {
        return Err(bad());
    }
    Ok(owners)
}

/// `(keepalive,119min,0)`, `(on,11sec,4)`, `(timewait,41sec,0)`, `(persist,7.240ms,0)`.
fn timer(value: &str) -> Result<Option<Timer>, String> {
    let inner = value
        .strip_prefix('(')
        .and_then(|v| v.strip_suffix(')'))
        .ok_or_else(|| format!("timer:{value} is not (name,time,count)"))?;
    let mut parts = inner.split(',');
    let name = parts.next().unwrap_or("");
    let when = parts.next().unwrap_or("");
    let count: u32 = parts.next().and_then(|c| c.parse().ok()).unwrap_or(0);
    let kind = match name {
        "on" => TimerKind::Retransmit,
        "keepalive" => TimerKind::Keepalive,
        "timewait" => TimerKind::TimeWait,
        "persist" => TimerKind::ZeroWindowProbe,
        "delack" => TimerKind::DelayedAck,
        "off" => return Ok(None),
        other => return Err(format!("unknown ss timer '{other}'")),
    };
    Ok(Some(Timer {
        kind,
        expires_ms: ss_duration_ms(when)
            .ok_or_else(|| format!("timer time '{when}' is not ss's min/sec/ms form"))?,
        retrans: count,
    }))
}

/// ss's timer text: `119min`, `1min30sec`, `41sec`, `7.240ms` (7 s 240 ms), `240ms`, or empty.
pub(crate) fn ss_duration_ms(s: &str) -> Option<u64> {
    let mut rest = s;
    let mut ms = 0u64;
    if let Some(i) = rest.find("min") {
        ms += rest[..i].parse::<u64>().ok()? * 60_000;
        rest = &rest[i + 3..];
    }
    if let Some(secs) = rest.strip_suffix("sec") {
        ms += secs.parse::<u64>().ok()? * 1000;
        rest = "";
    } else if let Some(t) = rest.strip_suffix("ms") {
        match t.split_once('.') {
            Some((secs, millis)) => {
                ms += secs.parse::<u64>().ok()? * 1000 + millis.parse::<u64>().ok()?;
            }
            None => ms += t.parse::<u64>().ok()?,
        }
        rest = "";
    }
    rest.is_empty().then_some(ms)
}

/// One `-i` field into tcp_info. `Ok(Some(true))` when it was a tcp_info field.
fn info_field(s: &mut Socket, key: &str, value: &str) -> Result<Option<bool>, String> {
    let u32v = || value.parse::<u32>().ok();
    let u64v = || value.parse::<u64>().ok();
    // Milliseconds with a fraction ("0.013") into microseconds.
    let us = |v: &str| v.parse::<f64>().ok().map(|ms| (ms * 1000.0).round() as u32);
    let info = s.tcp_info.get_or_insert_with(TcpInfo::default);
    let known = match key {
        "rtt" => {
            let (rtt, var) = value.split_once('/').unwrap_or((value, ""));
            info.rtt_us = us(rtt);
            info.rttvar_us = us(var);
            true
        }
        "rto" => {
            info.rto_us = us(value);
            true
        }
        "mss" => {
            info.snd_mss = u32v();
            true
        }
        "rcvmss" => {
            info.rcv_mss = u32v();
            true
        }
        "pmtu" => {
            info.pmtu = u32v();
            true
        }
        "cwnd" => {
            info.snd_cwnd = u32v();
            true
        }
        "minrtt" => {
            info.min_rtt_us = us(value);
            true
        }
        "unacked" => {
            info.unacked = u32v();
            true
        }
        "lost" => {
            info.lost = u32v();
            true
        }
        "backoff" => {
            info.backoff = value.parse().ok();
            true
        }
        "retrans" => {
            let (now, total) = value.split_once('/').unwrap_or((value, ""));
            info.retrans = now.parse().ok();
            info.total_retrans = total.parse().ok();
            true
        }
        "bytes_sent" => {
            info.bytes_sent = u64v();
            true
        }
        "bytes_acked" => {
            info.bytes_acked = u64v();
            true
        }
        "bytes_received" => {
            info.bytes_received = u64v();
            true
        }
        "bytes_retrans" => {
            info.bytes_retrans = u64v();
            true
        }
        "notsent" => {
            info.notsent_bytes = u32v();
            true
        }
        "snd_wnd" => {
            info.snd_wnd = u32v();
            true
        }
        "rcv_wnd" => {
            info.rcv_wnd = u32v();
            true
        }
        "lastsnd" => {
            info.last_data_sent_ms = u32v();
            true
        }
        "lastrcv" => {
            info.last_data_recv_ms = u32v();
            true
        }
        "lastack" => {
            info.last_ack_recv_ms = u32v();
            true
        }
        _ => false,
    };
    if !known && *info == TcpInfo::default() {
        s.tcp_info = None;
    }
    Ok(known.then_some(true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::socket::{Endpoint, Family};
    use crate::model::state::TcpState;

    fn sock() -> Socket {
        let e = Endpoint::new("127.0.0.1".parse().unwrap(), 1);
        Socket::new(TcpState::Established, Family::Inet, e, e)
    }

    #[test]
    fn fields_keep_quoted_and_nested_text_together() {
        assert_eq!(
            fields(r#"users:(("Web Content",pid=5,fd=3)) timer:(on,1sec,0)  <->"#),
            vec![
                r#"users:(("Web Content",pid=5,fd=3))"#,
                "timer:(on,1sec,0)",
                "<->"
            ]
        );
        assert_eq!(fields(""), Vec::<&str>::new());
    }

    #[test]
    fn owners_timers_and_extended_fields() {
        let mut s = sock();
        let mut seen = Seen::default();
        apply(
            &mut s,
            r#"users:(("python3",pid=32455,fd=5),("python3",pid=32412,fd=5)) timer:(keepalive,119min,0) uid:1000 ino:2290782 sk:112e54 cgroup:unreachable:1 -->"#,
            &mut seen,
        )
        .unwrap();
        assert_eq!(s.owners.len(), 2);
        assert_eq!((s.owners[1].pid, s.owners[1].fd), (32412, 5));
        let t = s.timer.unwrap();
        assert_eq!((t.kind, t.expires_ms), (TimerKind::Keepalive, 119 * 60_000));
        assert_eq!((s.uid, s.inode, s.cookie), (1000, 2290782, 0x112e54));
        assert_eq!(s.shutdown, Some(1));
        assert!(seen.users && seen.timer && seen.extended && !seen.info);
        assert!(apply(&mut sock(), "users:((nope))", &mut seen).is_err());
        assert!(apply(&mut sock(), "timer:(warp,1sec,0)", &mut seen).is_err());
    }

    #[test]
    fn durations_as_ss_prints_them() {
        assert_eq!(ss_duration_ms("119min"), Some(7_140_000));
        assert_eq!(ss_duration_ms("1min30sec"), Some(90_000));
        assert_eq!(ss_duration_ms("41sec"), Some(41_000));
        assert_eq!(ss_duration_ms("7.240ms"), Some(7_240));
        assert_eq!(ss_duration_ms("240ms"), Some(240));
        assert_eq!(ss_duration_ms(""), Some(0));
        assert_eq!(ss_duration_ms("soon"), None);
    }

    #[test]
    fn info_lines_fill_tcp_info() {
        let mut s = sock();
        let mut seen = Seen::default();
        apply(&mut s, "bbr wscale:10,10 rto:204 rtt:0.013/0.006 ato:40 mss:32768 cwnd:10 bytes_received:1 retrans:0/3 send 201649230769bps lastsnd:19712 lastrcv:19712 lastack:18712 minrtt:0.013 snd_wnd:65536", &mut seen).unwrap();
        let i = s.tcp_info.unwrap();
        assert_eq!(i.rtt_us, Some(13));
        assert_eq!(i.rto_us, Some(204_000));
        assert_eq!(i.last_ack_recv_ms, Some(18712));
        assert_eq!(i.total_retrans, Some(3));
        assert_eq!(i.snd_wnd, Some(65536));
        assert!(seen.info);
        let mut quiet = sock();
        apply(&mut quiet, "cgroup:/x", &mut Seen::default()).unwrap();
        assert_eq!(quiet.tcp_info, None);
    }
}
