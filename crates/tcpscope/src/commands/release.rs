//! `tcpscope release [--fin|--rst] [--yes] FILTER`: end leaked sockets in place without killing
//! their program. Select the sockets ([`select`]), learn about their owners (/proc/PID/status),
//! tcpscope's own privileges and each socket's other end when it is on this host, let the core
//! decide (`analyze::release::plan`), and — only with `--yes` — carry it out (`act::carry_out`:
//! look each socket up again, act inside its network namespace, wait for it to leave), then
//! report. Exit 0 when every selected socket is gone, 1 when some remain, 3 on error.

use super::output::{parse_filter, stdout};
use crate::act::carry_out::carry_out;
use crate::act::namespace::{by_namespace, in_netns};
use crate::cli::release::ReleaseArgs;
use crate::collect::collector::Collector;
use crate::collect::facts as process;
use crate::collect::netns;
use crate::collect::plan::{DefaultScope, InputSpec, Needs, Owners, Plan};
use crate::collect::source::LiveSource;
use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;
use tcpscope_core::analyze::release::{plan, Invocation, Options, Privileges, Report, Selected};
use tcpscope_core::decode::process_text::{CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_SYS_PTRACE};
use tcpscope_core::render::release::write_report;
use tcpscope_core::{Family, Filter, Socket, TcpState};

pub fn run(args: &ReleaseArgs) -> Result<ExitCode> {
    let mut invocation = Invocation::from(args);
    let (sockets, notes) = match &args.listed {
        Some(path) => {
            let (sockets, filter) = read_listed(path)?;
            invocation.filter = filter;
            (sockets, Vec::new())
        }
        None => select(args)?,
    };
    let mut report = dry_run(sockets, notes, invocation, &Options::from(args));
    if args.yes {
        release(&mut report, Duration::from_millis(args.wait));
    }
    let mut out = stdout();
    if args.json {
        serde_json::to_writer(&mut out, &report)?;
        writeln!(out)?;
    } else {
        write_report(&mut out, &report)?;
    }
    out.flush()?;
    Ok(ExitCode::from(report.exit_code()))
}

/// `tcpscope ls -K`: say where ss's habit lives here.
pub fn ls_kill(filter: &[String]) -> Result<ExitCode> {
    let words = if filter.is_empty() {
        "state close-wait pid = PID".to_string()
    } else {
        filter.join(" ")
    };
    let quoted = tcpscope_core::analyze::release::shell_quote(&words);
    bail!(
        "ls -K: tcpscope's ls only lists. Ending sockets is `tcpscope release`, which first shows \
         what it would end (each socket's owner, what the owner and the peer will see, the risk) \
         and acts only with --yes:\n  tcpscope release {quoted}\n  tcpscope release --yes {quoted}\n\
         (docs/release.md)"
    )
}

/// What release decides for `sockets` before acting (their owners' SIGPIPE risk from
/// /proc/PID/status, their other ends on this host, tcpscope's privileges): the dry run, which
/// `act::carry_out` carries out. `top`'s release key makes its dry run here too.
pub fn dry_run(
    sockets: Vec<Socket>,
    mut notes: Vec<String>,
    invocation: Invocation,
    options: &Options,
) -> Report {
    let status: BTreeMap<u32, _> = sockets
        .iter()
        .flat_map(|s| &s.owners)
        .filter_map(|o| Some((o.pid, process::read_status(Some(o.pid))?)))
        .collect();
    let selected = with_peers(sockets, &mut notes);
    let (items, left) = plan(selected, &status, options, &privileges());
    Report {
        dry_run: true,
        invocation,
        sockets: items,
        listeners_left_alone: left,
        notes,
    }
}

/// `--yes`: end the sockets of a dry run (`act::carry_out`: each looked up again first); the
/// report then says what became of each.
pub fn release(report: &mut Report, wait: Duration) {
    report.dry_run = false;
    carry_out(report, wait);
}

/// Where release looks for sockets: `--netns NAME`, `--all-netns`, or tcpscope's own namespace.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub netns: Option<String>,
    pub all_netns: bool,
}

impl Scope {
    /// The words that say so on a command line (for the commands a report suggests).
    pub fn words(&self) -> Vec<String> {
        match (&self.netns, self.all_netns) {
            (Some(ns), _) => vec!["--netns".to_string(), ns.clone()],
            (None, true) => vec!["--all-netns".to_string()],
            (None, false) => vec![],
        }
    }
}

/// The command's selection: refuses a filter that would select every socket.
fn select(args: &ReleaseArgs) -> Result<(Vec<Socket>, Vec<String>)> {
    let refuse = || {
        anyhow::anyhow!(
            "release needs a filter: without one it would select every TCP socket on this host. \
             Name the sockets, e.g. `tcpscope release state close-wait pid = 4242` (a dry run; \
             add --yes to act)"
        )
    };
    if args.filter.iter().all(|w| w.trim().is_empty()) {
        return Err(refuse());
    }
    let filter = parse_filter(&args.filter)?;
    let every_state = filter.states().with(TcpState::BoundInactive).is_all();
    if filter.is_all() || (filter.expr.is_none() && every_state) {
        return Err(refuse());
    }
    let scope = Scope {
        netns: args.netns.clone(),
        all_netns: args.all_netns,
    };
    select_sockets(filter, &scope, &mut |_| true)
}

/// The sockets `filter` selects in `scope` that `keep` keeps, each with every process holding
/// it, and notes on what could not be seen. The one place release reads sockets (`top`'s
/// release key reads them here too). Unlike a listing's attribution, the /proc walk never stops
/// at the first holder: a socket a forked server shares must list every process at risk.
pub fn select_sockets(
    filter: Filter,
    scope: &Scope,
    keep: &mut dyn FnMut(&Socket) -> bool,
) -> Result<(Vec<Socket>, Vec<String>)> {
    let input = InputSpec {
        netns: scope.netns.clone(),
        all_netns: scope.all_netns,
        // Only sock_diag gives cookies, which the check before acting relies on.
        source: LiveSource::Netlink,
        kernel_filter: true,
        ..InputSpec::default()
    };
    let needs = Needs {
        families: vec![Family::Inet, Family::Inet6],
        states: None,
        tcp_info: true,
        info_states: None,
        memory: false,
        owners: Owners::AllHolders,
        counters: false,
        scope: DefaultScope::Own,
    };
    let mut collector = Collector::new(Plan::new(&input, filter, needs)?);
    let mut sockets = Vec::new();
    let report = collector.stream(&mut |s| {
        if keep(s) {
            sockets.push(s.clone());
        }
        Ok(())
    })?;
    let mut notes = collector.header().notes.clone();
    notes.extend(report.warnings);
    notes.extend(report.notes);
    Ok((sockets, notes))
}

/// The sockets of a dry run's `--json` output, and the filter that selected them.
fn read_listed(path: &Path) -> Result<(Vec<Socket>, String)> {
    #[derive(serde::Deserialize)]
    struct Listed {
        sockets: Vec<ListedItem>,
        #[serde(default)]
        invocation: Option<ListedInvocation>,
    }
    #[derive(serde::Deserialize)]
    struct ListedItem {
        socket: Socket,
    }
    #[derive(serde::Deserialize)]
    struct ListedInvocation {
        #[serde(default)]
        filter: String,
    }
    let mut text = String::new();
    if path == Path::new("-") {
        io::stdin().read_to_string(&mut text)?;
    } else {
        text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the listing {}", path.display()))?;
    }
    let listed: Listed = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not the --json output of `tcpscope release` (make it with `tcpscope release --json FILTER > FILE`)",
            path.display()
        )
    })?;
    let filter = listed.invocation.map(|i| i.filter).unwrap_or_default();
    Ok((
        listed.sockets.into_iter().map(|i| i.socket).collect(),
        filter,
    ))
}

/// What tcpscope may do, from its own /proc/self/status.
fn privileges() -> Privileges {
    let me = process::read_status(None).unwrap_or_default();
    Privileges {
        uid: me
            .uids
            .map_or_else(|| rustix::process::getuid().as_raw(), |u| u[0]),
        net_admin: me.has_cap(CAP_NET_ADMIN),
        sys_ptrace: me.has_cap(CAP_SYS_PTRACE),
        sys_admin: me.has_cap(CAP_SYS_ADMIN),
        netns_inode: netns::current_inode(),
    }
}

/// Each socket with its other end, when that is on this host (in the same namespace).
fn with_peers(sockets: Vec<Socket>, notes: &mut Vec<String>) -> Vec<Selected> {
    let mut peers: HashMap<usize, Socket> = HashMap::new();
    for (_, idx) in by_namespace(sockets.iter()) {
        let netns = sockets[idx[0]].netns.as_ref();
        let found = in_netns(netns, |diag| {
            idx.iter()
                .filter_map(|&i| Some((i, diag.other_end(&sockets[i])?)))
                .collect::<Vec<_>>()
        });
        match found {
            Ok(found) => peers.extend(found),
            Err(e) => notes.push(format!("the other ends could not be looked up: {e:#}")),
        }
    }
    sockets
        .into_iter()
        .enumerate()
        .map(|(i, socket)| Selected {
            socket,
            peer: peers.remove(&i),
        })
        .collect()
}
