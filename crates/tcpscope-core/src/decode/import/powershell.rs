//! Windows PowerShell `Get-NetTCPConnection` as a table (its default view, or `| Format-Table`
//! with any choice of columns):
//!
//! ```text
//! LocalAddress                        LocalPort RemoteAddress                       RemotePort State       AppliedSetting OwningProcess
//! ------------                        --------- -------------                       ---------- -----       -------------- -------------
//! ::                                  49669     ::                                  0          Listen                     844
//! 10.0.0.5                            50123     52.1.2.3                            443        Established Internet       5432
//! ```
//!
//! Columns are found by name in the header and placed by the dashes under it (a blank
//! AppliedSetting leaves a gap, and PowerShell 7 right-aligns numbers). States are the NetTCPIP
//! enum's names (`Listen`, `CloseWait`, `TimeWait`, `Bound`, ...). No queues, timers or inodes;
//! `OwningProcess` is the pid (0: no process holds it).

use super::text::expand_tabs;
use super::{addr, state, Line, Parsed};
use crate::model::missing::{Datum, Missing};
use crate::model::process::Owner;
use crate::model::snapshot::System;
use crate::model::socket::Socket;

const LACKS: [Datum; 8] = [
    Datum::RecvQ,
    Datum::SendQ,
    Datum::Timer,
    Datum::Uid,
    Datum::Inode,
    Datum::Cookie,
    Datum::TcpInfo,
    Datum::Fd,
];

/// The columns this parser reads.
const COLUMNS: [&str; 6] = [
    "LocalAddress",
    "LocalPort",
    "RemoteAddress",
    "RemotePort",
    "State",
    "OwningProcess",
];

/// True for the words of a row of the default view (for detection without a header).
pub(crate) fn is_row(w: &[&str]) -> bool {
    (6..=7).contains(&w.len())
        && w[1].bytes().all(|b| b.is_ascii_digit())
        && w[3].bytes().all(|b| b.is_ascii_digit())
        && w[0].parse::<std::net::IpAddr>().is_ok()
        && w[2].parse::<std::net::IpAddr>().is_ok()
}

/// Where each named column starts in the table (from the dashes under the header, else from the
/// header words).
struct Layout {
    /// (name, start column) in order.
    columns: Vec<(String, usize)>,
}

impl Layout {
    fn from_header(header: &str, dashes: Option<&str>) -> Layout {
        let starts = |l: &str| -> Vec<(String, usize)> {
            words_at(l)
                .into_iter()
                .map(|(at, w)| (w.to_string(), at))
                .collect()
        };
        let names = starts(header);
        let columns = match dashes.map(starts) {
            Some(d) if d.len() == names.len() => names
                .into_iter()
                .zip(d)
                .map(|((n, _), (_, at))| (n, at))
                .collect(),
            _ => names,
        };
        Layout { columns }
    }

    /// The values of a row by column name: each word goes to the last column starting at or
    /// before it (right-aligned numbers start inside their column too).
    fn values(&self, line: &str) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = Vec::new();
        for (at, word) in words_at(line) {
            let col = self
                .columns
                .iter()
                .rev()
                .find(|(_, start)| *start <= at)
                .or_else(|| self.columns.first());
            if let Some((name, _)) = col {
                match v.iter_mut().find(|(n, _)| n == name) {
                    Some((_, text)) => {
                        text.push(' ');
                        text.push_str(word);
                    }
                    None => v.push((name.clone(), word.to_string())),
                }
            }
        }
        v
    }
}

/// (character column, word) for each word of a line.
fn words_at(line: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start: Option<(usize, usize)> = None; // (char column, byte index)
    for (col, (i, c)) in line.char_indices().enumerate() {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some((col, i)),
            (true, Some((at, b))) => {
                out.push((at, &line[b..i]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some((at, b)) = start {
        out.push((at, &line[b..]));
    }
    out
}

pub(crate) fn parse(lines: &[&str]) -> Parsed {
    let expanded: Vec<String> = lines.iter().map(|l| expand_tabs(l)).collect();
    let mut out = Vec::with_capacity(lines.len());
    let mut layout: Option<Layout> = None;
    let mut with_pid = false;
    let mut i = 0;
    while i < expanded.len() {
        let line = expanded[i].as_str();
        if line.contains("LocalAddress") && line.contains("LocalPort") {
            let dashes = expanded
                .get(i + 1)
                .map(String::as_str)
                .filter(|d| d.trim_start().starts_with('-'));
            layout = Some(Layout::from_header(line, dashes));
            out.push(Line::Part);
            if dashes.is_some() {
                out.push(Line::Part);
                i += 1;
            }
            i += 1;
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let candidate = words.len() >= 5
            && (words[0].contains(':') || words[0].contains('.'))
            && words[1].bytes().all(|b| b.is_ascii_digit());
        if !candidate {
            out.push(Line::Text);
            i += 1;
            continue;
        }
        let values: Vec<(String, String)> = match &layout {
            Some(l) => l.values(line),
            None => default_view(&words),
        };
        match row(&values) {
            Ok((s, pid)) => {
                with_pid |= pid;
                out.push(Line::Row(Box::new(s)));
            }
            Err(why) => out.push(Line::Bad(why)),
        }
        i += 1;
    }
    let mut base = Missing::of(&LACKS);
    if !with_pid {
        base = base.with(Datum::Owners);
    }
    for l in out.iter_mut() {
        if let Line::Row(s) = l {
            s.missing = s.missing.union(base);
        }
    }
    Parsed {
        lines: out,
        format: "windows-powershell-get-nettcpconnection".to_string(),
        system: System::Windows,
        notes: Vec::new(),
        hint: None,
    }
}

/// Without a header: the default view's order, AppliedSetting present or not.
fn default_view(words: &[&str]) -> Vec<(String, String)> {
    let names: &[&str] = if words.len() >= 7 {
        &[
            "LocalAddress",
            "LocalPort",
            "RemoteAddress",
            "RemotePort",
            "State",
            "AppliedSetting",
            "OwningProcess",
        ]
    } else {
        &COLUMNS
    };
    names
        .iter()
        .zip(words)
        .map(|(n, w)| (n.to_string(), w.to_string()))
        .collect()
}

fn row(values: &[(String, String)]) -> Result<(Socket, bool), String> {
    let get = |name: &str| {
        values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let need = |name: &str| get(name).ok_or_else(|| format!("no {name} value"));
    let endpoint = |a: &str, p: &str| -> Result<addr::Addr, String> {
        let text = if a.contains(':') {
            format!("[{a}]:{p}")
        } else {
            format!("{a}:{p}")
        };
        addr::colon(&text)
    };
    let local = endpoint(need("LocalAddress")?, need("LocalPort")?)?;
    let peer = endpoint(need("RemoteAddress")?, need("RemotePort")?)?;
    let (st, original) = state(need("State")?)?;
    let family = addr::family(None, &local, &peer);
    let mut s = Socket::new(
        st,
        family,
        addr::endpoint(&local, family),
        addr::endpoint(&peer, family),
    );
    s.original_state = Some(original);
    let pid = match get("OwningProcess") {
        Some(p) => Some(
            p.parse::<u32>()
                .map_err(|_| format!("OwningProcess '{p}' is not a pid"))?,
        ),
        None => None,
    };
    if let Some(pid) = pid.filter(|p| *p != 0) {
        s.owners.push(Owner {
            pid,
            fd: 0,
            process: std::sync::Arc::new(crate::model::process::ProcessIdentity {
                comm: if pid == 4 {
                    "System".to_string()
                } else {
                    String::new()
                },
                cmdline: String::new(),
                user: String::new(),
                container: None,
                unit: None,
            }),
        });
    }
    Ok((s, pid.is_some()))
}
