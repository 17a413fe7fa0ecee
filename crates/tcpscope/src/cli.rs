//! The command line, declared with clap's derive API. Doc comments here are the `--help` text,
//! so they are written for the operator reading them.

use crate::collect::LiveSource;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Every TCP connection on this host: its state, what that means, whose it is, what to do.
///
/// With no command, tcpscope lists sockets like `tcpscope ls`. Unlike ss, every state is shown
/// by default, TIME-WAIT and LISTEN included.
#[derive(Debug, Parser)]
#[command(
    name = "tcpscope",
    version,
    args_conflicts_with_subcommands = true,
    after_help = "Examples:\n  tcpscope                         list every TCP socket\n  tcpscope summary                 counts per state: is anything piling up?\n  tcpscope ls state close-wait     sockets whose program has not called close()\n  tcpscope ls -e state time-wait   with uid, inode, cookie and idle times\n  tcpscope ls --json               one JSON document (docs/json.md)\n\nExit status: 0 success, 3 error (bad arguments, unreadable input, kernel refused)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub ls: LsArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List TCP sockets (the default command), like `ss -tan` with every state.
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Count sockets per state and family, with the kernel's own counters: is anything piling up?
    Summary(SummaryArgs),
    /// Make real sockets in a chosen state on loopback (to learn, test, benchmark); held until
    /// Ctrl-C, SIGTERM or --hold, then removed. Scenarios: established, listen, close-wait,
    /// fin-wait-2, time-wait, syn-recv, fin-wait-1, last-ack, closing, syn-sent, stopped-server,
    /// churn (docs/lab.md).
    Lab(crate::lab::supervisor::LabArgs),
    /// One process of a lab run (started by `tcpscope lab`, not by people).
    #[command(hide = true)]
    LabWorker(crate::lab::worker::WorkerArgs),
}

/// Where the sockets come from.
#[derive(Debug, Args, Clone, Default)]
pub struct InputArgs {
    /// Read a recorded snapshot instead of the live kernel ('-' reads standard input).
    #[arg(long, value_name = "FILE", global = true)]
    pub from: Option<PathBuf>,

    /// Also save the snapshot taken to FILE, to replay later with --from.
    #[arg(long, value_name = "FILE", global = true)]
    pub record: Option<PathBuf>,

    /// Where live sockets are read from.
    #[arg(long, value_enum, default_value_t, value_name = "SOURCE", global = true)]
    pub source: LiveSource,
}

/// Options of `tcpscope ls`.
#[derive(Debug, Args, Clone, Default)]
pub struct LsArgs {
    /// Numeric addresses and ports (the default; accepted for ss habits).
    #[arg(short = 'n', long)]
    pub numeric: bool,

    /// Show names for addresses and ports, from /etc/hosts and /etc/services (never DNS).
    #[arg(short = 'r', long, conflicts_with = "numeric")]
    pub resolve: bool,

    /// Listening sockets only.
    #[arg(short = 'l', long)]
    pub listening: bool,

    /// Every state (the default; accepted for ss habits).
    #[arg(short = 'a', long)]
    pub all: bool,

    /// TCP (the only protocol tcpscope shows; accepted for ss habits).
    #[arg(short = 't', long)]
    pub tcp: bool,

    /// IPv4 sockets only.
    #[arg(short = '4', long, conflicts_with = "ipv6")]
    pub ipv4: bool,

    /// IPv6 sockets only.
    #[arg(short = '6', long)]
    pub ipv6: bool,

    /// Extended columns: uid, inode, socket cookie, idle times from tcp_info, rtt.
    #[arg(short = 'e', long)]
    pub extended: bool,

    /// Leave out the header line.
    #[arg(short = 'H', long)]
    pub no_header: bool,

    /// Print one JSON document (the snapshot format, docs/json.md).
    #[arg(long, conflicts_with = "jsonl")]
    pub json: bool,

    /// Print one JSON object per socket and line, streamed.
    #[arg(long)]
    pub jsonl: bool,

    #[command(flatten)]
    pub input: InputArgs,

    /// Which sockets: `state NAME...` and `exclude NAME...` with any state name or group
    /// (established, close-wait, CLOSE_WAIT, time-wait, connected, synchronized, bucket, big...).
    #[arg(value_name = "FILTER", trailing_var_arg = true)]
    pub filter: Vec<String>,
}

/// Options of `tcpscope summary`.
#[derive(Debug, Args, Clone, Default)]
pub struct SummaryArgs {
    /// Print JSON: {"total": N, "states": {"established": N, ...}, ...}.
    #[arg(long)]
    pub json: bool,

    /// IPv4 sockets only.
    #[arg(short = '4', long, conflicts_with = "ipv6")]
    pub ipv4: bool,

    /// IPv6 sockets only.
    #[arg(short = '6', long)]
    pub ipv6: bool,

    #[command(flatten)]
    pub input: InputArgs,

    /// Which sockets to count (same language as `ls`).
    #[arg(value_name = "FILTER", trailing_var_arg = true)]
    pub filter: Vec<String>,
}
