//! The detail line `ls -i` and `ls -m` print under a socket's row, in ss's words so that habits
//! and scripts carry over: `skmem:(r0,rb131072,...)` for memory, then tcp_info as `ss -i` shows
//! it (`cubic wscale:7,7 rto:204 rtt:0.033/0.016 ... cwnd:10 bytes_sent:... send 79.4Gbps
//! lastsnd:... pacing_rate ... delivery_rate ... busy:..ms rwnd_limited:..ms(..%) ...`). Values
//! the kernel did not give are left out; so is anything a listener does not have.

use crate::model::socket::{Socket, SocketMemory, TcpInfo};
use crate::model::state::TcpState;
use std::fmt::Write as _;

/// The detail line for `s` (without the leading tab), or `None` when there is nothing to say.
pub fn detail_text(s: &Socket, memory: bool, info: bool) -> Option<String> {
    let mut out = String::new();
    if memory {
        if let Some(m) = &s.memory {
            out.push(' ');
            out.push_str(&memory_text(m));
        }
    }
    if info {
        push_info(&mut out, s);
    }
    (!out.is_empty()).then_some(out)
}

/// `skmem:(r0,rb131072,t0,tb2626560,f0,w0,o0,bl0,d0)`, as `ss -m`.
pub fn memory_text(m: &SocketMemory) -> String {
    format!(
        "skmem:(r{},rb{},t{},tb{},f{},w{},o{},bl{},d{})",
        m.rmem_alloc,
        m.rcvbuf,
        m.wmem_alloc,
        m.sndbuf,
        m.fwd_alloc,
        m.wmem_queued,
        m.optmem,
        m.backlog,
        m.drops
    )
}

/// tcp_info in `ss -i`'s words and order.
fn push_info(out: &mut String, s: &Socket) {
    if let Some(cong) = &s.congestion {
        out.push(' ');
        crate::render::safe::push_terminal_safe(out, cong);
    }
    let Some(t) = &s.tcp_info else { return };
    let opts = t.options.unwrap_or(0);
    for (bit, name) in [
        (1, "ts"),
        (2, "sack"),
        (8, "ecn"),
        (16, "ecnseen"),
        (32, "fastopen"),
    ] {
        if opts & bit != 0 {
            let _ = write!(out, " {name}");
        }
    }
    if opts & 4 != 0 {
        if let (Some(snd), Some(rcv)) = (t.snd_wscale, t.rcv_wscale) {
            let _ = write!(out, " wscale:{snd},{rcv}");
        }
    }
    nonzero(out, "rto:", t.rto_us.map(|us| g(f64::from(us) / 1000.0)));
    nonzero(out, "backoff:", t.backoff.map(u64::from).map(n));
    if let Some(rtt) = t.rtt_us.filter(|v| *v > 0) {
        let var = t.rttvar_us.unwrap_or(0);
        let _ = write!(
            out,
            " rtt:{}/{}",
            g(f64::from(rtt) / 1000.0),
            g(f64::from(var) / 1000.0)
        );
    }
    nonzero(out, "ato:", t.ato_us.map(|us| g(f64::from(us) / 1000.0)));
    nonzero(out, "mss:", t.snd_mss.map(u64::from).map(n));
    nonzero(out, "pmtu:", t.pmtu.map(u64::from).map(n));
    nonzero(out, "rcvmss:", t.rcv_mss.map(u64::from).map(n));
    nonzero(out, "advmss:", t.advmss.map(u64::from).map(n));
    nonzero(out, "cwnd:", t.snd_cwnd.map(u64::from).map(n));
    // 0x7fffffff is the kernel's "infinite" slow-start threshold: ss leaves it out too.
    nonzero(
        out,
        "ssthresh:",
        t.snd_ssthresh.filter(|v| *v < 0xffff).map(u64::from).map(n),
    );
    nonzero(out, "bytes_sent:", t.bytes_sent.map(n));
    nonzero(out, "bytes_retrans:", t.bytes_retrans.map(n));
    nonzero(out, "bytes_acked:", t.bytes_acked.map(n));
    nonzero(out, "bytes_received:", t.bytes_received.map(n));
    nonzero(out, "segs_out:", t.segs_out.map(u64::from).map(n));
    nonzero(out, "segs_in:", t.segs_in.map(u64::from).map(n));
    nonzero(out, "data_segs_out:", t.data_segs_out.map(u64::from).map(n));
    nonzero(out, "data_segs_in:", t.data_segs_in.map(u64::from).map(n));
    if let Some(bps) = send_rate(t) {
        let _ = write!(out, " send {}", bandwidth(bps));
    }
    if s.state != TcpState::Listen {
        nonzero(out, "lastsnd:", t.last_data_sent_ms.map(u64::from).map(n));
        nonzero(out, "lastrcv:", t.last_data_recv_ms.map(u64::from).map(n));
        nonzero(out, "lastack:", t.last_ack_recv_ms.map(u64::from).map(n));
    }
    if let Some(rate) = t.pacing_rate.filter(|r| *r > 0) {
        let _ = write!(out, " pacing_rate {}", bandwidth(rate as f64 * 8.0));
        if let Some(max) = t.max_pacing_rate.filter(|m| *m > 0 && *m != u64::MAX) {
            let _ = write!(out, "/{}", bandwidth(max as f64 * 8.0));
        }
    }
    if let Some(rate) = t.delivery_rate.filter(|r| *r > 0) {
        let _ = write!(out, " delivery_rate {}", bandwidth(rate as f64 * 8.0));
    }
    nonzero(out, "delivered:", t.delivered.map(u64::from).map(n));
    nonzero(out, "delivered_ce:", t.delivered_ce.map(u64::from).map(n));
    if t.delivery_rate_app_limited == Some(true) {
        out.push_str(" app_limited");
    }
    if let Some(busy) = t.busy_time_us.filter(|b| *b > 0) {
        let _ = write!(out, " busy:{}ms", busy / 1000);
        for (name, v) in [
            ("rwnd_limited", t.rwnd_limited_us),
            ("sndbuf_limited", t.sndbuf_limited_us),
        ] {
            if let Some(v) = v.filter(|v| *v > 0) {
                let share = 100.0 * v as f64 / busy as f64;
                let _ = write!(out, " {name}:{}ms({share:.1}%)", v / 1000);
            }
        }
    }
    nonzero(out, "unacked:", t.unacked.map(u64::from).map(n));
    let (now, total) = (t.retrans.unwrap_or(0), t.total_retrans.unwrap_or(0));
    if now > 0 || total > 0 {
        let _ = write!(out, " retrans:{now}/{total}");
    }
    nonzero(out, "lost:", t.lost.map(u64::from).map(n));
    if s.state != TcpState::Listen {
        nonzero(out, "sacked:", t.sacked.map(u64::from).map(n));
    }
    nonzero(out, "dsack_dups:", t.dsack_dups.map(u64::from).map(n));
    if let Some(r) = t.reordering.filter(|r| *r != 3 && *r != 0) {
        let _ = write!(out, " reordering:{r}");
    }
    nonzero(out, "reord_seen:", t.reord_seen.map(u64::from).map(n));
    nonzero(
        out,
        "rcv_rtt:",
        t.rcv_rtt_us.map(|us| g(f64::from(us) / 1000.0)),
    );
    nonzero(out, "rcv_space:", t.rcv_space.map(u64::from).map(n));
    nonzero(out, "rcv_ssthresh:", t.rcv_ssthresh.map(u64::from).map(n));
    nonzero(out, "notsent:", t.notsent_bytes.map(u64::from).map(n));
    nonzero(
        out,
        "minrtt:",
        t.min_rtt_us.map(|us| g(f64::from(us) / 1000.0)),
    );
    nonzero(out, "rcv_ooopack:", t.rcv_ooopack.map(u64::from).map(n));
    nonzero(out, "snd_wnd:", t.snd_wnd.map(u64::from).map(n));
    nonzero(out, "rcv_wnd:", t.rcv_wnd.map(u64::from).map(n));
}

/// ` NAMEVALUE` unless the value is missing or zero (as ss leaves zeros out).
fn nonzero(out: &mut String, name: &str, value: Option<String>) {
    if let Some(v) = value.filter(|v| v != "0") {
        let _ = write!(out, " {name}{v}");
    }
}

fn n(v: u64) -> String {
    v.to_string()
}

/// What the congestion window allows: cwnd * mss bits per rtt, as ss's `send`.
fn send_rate(t: &TcpInfo) -> Option<f64> {
    let (cwnd, mss, rtt) = (t.snd_cwnd?, t.snd_mss?, t.rtt_us?);
    (cwnd > 0 && mss > 0 && rtt > 0)
        .then(|| f64::from(cwnd) * f64::from(mss) * 8.0 * 1e6 / f64::from(rtt))
}

/// Bits per second as ss writes them: `79.4Gbps`, `512kbps`, `900bps`.
fn bandwidth(bps: f64) -> String {
    let (v, unit) = if bps >= 1e12 {
        (bps / 1e12, "T")
    } else if bps >= 1e9 {
        (bps / 1e9, "G")
    } else if bps >= 1e6 {
        (bps / 1e6, "M")
    } else if bps >= 1e3 {
        (bps / 1e3, "k")
    } else {
        (bps, "")
    };
    format!("{}{unit}bps", significant(v, 3))
}

/// C's `%g`: six significant digits, trailing zeros dropped.
fn g(v: f64) -> String {
    significant(v, 6)
}

fn significant(v: f64, digits: i32) -> String {
    if v == 0.0 || !v.is_finite() {
        return "0".to_string();
    }
    let magnitude = v.abs().log10().floor() as i32;
    let decimals = (digits - 1 - magnitude).max(0) as usize;
    let text = format!("{v:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::socket::{Endpoint, Family};

    fn established() -> Socket {
        let ep = |p| Endpoint::new("127.0.0.1".parse().unwrap(), p);
        Socket::new(TcpState::Established, Family::Inet, ep(22), ep(50000))
    }

    #[test]
    fn numbers_read_like_ss() {
        assert_eq!(g(0.033), "0.033");
        assert_eq!(g(204.0), "204");
        assert_eq!(g(1.5), "1.5");
        assert_eq!(bandwidth(79.43e9), "79.4Gbps");
        assert_eq!(bandwidth(512_000.0), "512kbps");
        assert_eq!(bandwidth(900.0), "900bps");
    }

    #[test]
    fn memory_and_info_as_ss_prints_them() {
        let mut s = established();
        s.memory = Some(SocketMemory {
            rcvbuf: 131072,
            sndbuf: 2626560,
            ..SocketMemory::default()
        });
        s.congestion = Some("cubic".into());
        s.tcp_info = Some(TcpInfo {
            options: Some(1 | 2 | 4),
            snd_wscale: Some(7),
            rcv_wscale: Some(7),
            rto_us: Some(204_000),
            rtt_us: Some(33),
            rttvar_us: Some(16),
            ato_us: Some(40_000),
            snd_mss: Some(32768),
            pmtu: Some(65535),
            rcv_mss: Some(536),
            advmss: Some(65483),
            snd_cwnd: Some(10),
            snd_ssthresh: Some(0x7fff_ffff),
            bytes_sent: Some(5),
            bytes_acked: Some(6),
            bytes_received: Some(5),
            last_data_sent_ms: Some(1200),
            pacing_rate: Some(20_000_000_000),
            max_pacing_rate: Some(u64::MAX),
            busy_time_us: Some(4_000),
            rwnd_limited_us: Some(1_000),
            retrans: Some(0),
            total_retrans: Some(2),
            reordering: Some(3),
            ..TcpInfo::default()
        });
        let text = detail_text(&s, true, true).unwrap();
        assert_eq!(
            text,
            " skmem:(r0,rb131072,t0,tb2626560,f0,w0,o0,bl0,d0) cubic ts sack wscale:7,7 \
             rto:204 rtt:0.033/0.016 ato:40 mss:32768 pmtu:65535 rcvmss:536 advmss:65483 \
             cwnd:10 bytes_sent:5 bytes_acked:6 bytes_received:5 send 79.4Gbps lastsnd:1200 \
             pacing_rate 160Gbps busy:4ms rwnd_limited:1ms(25.0%) retrans:0/2"
        );
        assert_eq!(
            detail_text(&s, true, false).unwrap(),
            " skmem:(r0,rb131072,t0,tb2626560,f0,w0,o0,bl0,d0)"
        );
        assert_eq!(detail_text(&established(), true, true), None);
    }
}
