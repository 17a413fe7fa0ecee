//! What a lab run tells its user: one JSON document (`--json`, for scripts and tests that wait
//! for it) or a short text report with the command that shows the sockets.

use super::{LabSocket, Scenario};
use serde::Serialize;
use std::io::{self, Write};
use tcpscope_core::{Endpoint, TcpState};

/// Sockets listed in the text report before "... and N more".
const SHOWN: usize = 10;

/// The `--json` document. `sockets` is complete: every socket in the promised state.
#[derive(Debug, Serialize)]
pub struct LabDoc {
    pub scenario: Scenario,
    /// The promised state (null for churn).
    pub state: Option<TcpState>,
    /// The network namespace the sockets live in (null: the host's).
    pub netns: Option<String>,
    /// Every process lab started (workers, stopped servers); all are gone when lab exits.
    pub pids: Vec<u32>,
    /// Listening sockets lab holds to make the sockets (not themselves in `sockets`, except
    /// for the listen scenario).
    pub listeners: Vec<Endpoint>,
    /// How many entries `sockets` has.
    pub count: usize,
    pub sockets: Vec<LabSocket>,
    /// The command that shows the sockets.
    pub show: String,
}

impl LabDoc {
    /// The tcpscope command that lists this run's sockets.
    pub fn show_command(scenario: Scenario, netns: Option<&str>) -> String {
        let ns = netns.map_or(String::new(), |n| format!(" --netns {n}"));
        match scenario.state() {
            Some(s) => format!("tcpscope ls{ns} state {}", s.name()),
            None => format!("tcpscope summary{ns}"),
        }
    }

    pub fn write_json(&self, out: &mut impl Write) -> io::Result<()> {
        serde_json::to_writer(&mut *out, self)?;
        out.write_all(b"\n")?;
        out.flush()
    }

    pub fn write_text(&self, out: &mut impl Write) -> io::Result<()> {
        let name = self.scenario.name();
        match self.state {
            Some(state) => writeln!(
                out,
                "tcpscope lab {name}: {} socket{} in {}",
                self.count,
                if self.count == 1 { "" } else { "s" },
                state.display_name()
            )?,
            None => writeln!(out, "tcpscope lab {name}: running")?,
        }
        if let Some(ns) = &self.netns {
            writeln!(
                out,
                "  in network namespace {ns} (tcpscope ls --netns {ns}, or ip netns exec {ns} ...)"
            )?;
        }
        if !self.sockets.is_empty() {
            writeln!(out, "  {:<12} {:<22} {:<22} PID", "STATE", "LOCAL", "PEER")?;
        }
        for s in self.sockets.iter().take(SHOWN) {
            let pid = s.pid.map_or("kernel".to_string(), |p| p.to_string());
            writeln!(
                out,
                "  {:<12} {:<22} {:<22} {pid}",
                s.state.display_name(),
                s.local.to_string(),
                s.peer.to_string()
            )?;
        }
        if self.sockets.len() > SHOWN {
            writeln!(out, "  ... and {} more", self.sockets.len() - SHOWN)?;
        }
        let listeners: Vec<String> = self
            .listeners
            .iter()
            .take(4)
            .map(|l| l.to_string())
            .collect();
        if !listeners.is_empty() {
            let more = if self.listeners.len() > 4 {
                ", ..."
            } else {
                ""
            };
            writeln!(out, "listening: {}{more}", listeners.join(", "))?;
        }
        let pids: Vec<String> = self.pids.iter().take(8).map(|p| p.to_string()).collect();
        let more = if self.pids.len() > 8 { " ..." } else { "" };
        writeln!(out, "processes: {}{more}", pids.join(" "))?;
        writeln!(out, "see them:  {}", self.show)?;
        out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(n: u16) -> LabDoc {
        let ep = |a: &str, p: u16| Endpoint::new(a.parse().unwrap(), p);
        LabDoc {
            scenario: Scenario::CloseWait,
            state: Some(TcpState::CloseWait),
            netns: None,
            pids: vec![42],
            listeners: vec![ep("127.0.0.1", 5555)],
            count: usize::from(n),
            sockets: (0..n)
                .map(|i| LabSocket {
                    state: TcpState::CloseWait,
                    local: ep("127.0.0.1", 5555),
                    peer: ep("127.64.0.1", 40000 + i),
                    pid: Some(42),
                })
                .collect(),
            show: LabDoc::show_command(Scenario::CloseWait, None),
        }
    }

    #[test]
    fn text_lists_sockets_and_the_command() {
        let mut out = Vec::new();
        doc(12).write_text(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("tcpscope lab close-wait: 12 sockets in CLOSE-WAIT\n"));
        assert!(text.contains("CLOSE-WAIT   127.0.0.1:5555         127.64.0.1:40000       42"));
        assert!(text.contains("... and 2 more"));
        assert!(text.contains("see them:  tcpscope ls state close-wait"));
    }

    #[test]
    fn json_is_one_line_with_every_socket() {
        let mut out = Vec::new();
        doc(12).write_json(&mut out).unwrap();
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["sockets"].as_array().map(Vec::len), Some(12));
        assert_eq!(v["sockets"][0]["local"]["port"], 5555);
        assert_eq!(v["sockets"][0]["state"], "close-wait");
        assert!(v["netns"].is_null());
    }

    #[test]
    fn netns_runs_show_the_namespace() {
        assert_eq!(
            LabDoc::show_command(Scenario::LastAck, Some("tcpscope-lab-7")),
            "tcpscope ls --netns tcpscope-lab-7 state last-ack"
        );
        assert_eq!(
            LabDoc::show_command(Scenario::Churn, None),
            "tcpscope summary"
        );
    }
}
