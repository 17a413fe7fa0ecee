//! The command line, declared with clap's derive API. Doc comments here are the `--help` text,
//! so they are written for the operator reading them.

pub mod habits;
pub mod install;
pub mod lab;
pub mod release;
pub mod suggest;
pub mod trace;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Every TCP connection on this host: its state, what that means, whose it is, what to do.
///
/// With no command, tcpscope lists sockets like `tcpscope ls`. Unlike ss, every state is shown
/// by default, TIME-WAIT and LISTEN included.
#[derive(Debug, Parser)]
#[command(
    name = "tcpscope",
    version = env!("TCPSCOPE_VERSION"),
    args_conflicts_with_subcommands = true,
    after_help = "Examples:
  tcpscope doctor                  what is wrong, whose fault, what to do
  tcpscope                         list every TCP socket
  tcpscope summary                 counts per state: is anything piling up?
  tcpscope ls state close-wait     sockets whose program has not called close()
  tcpscope ls -p state close-wait  which programs are not closing their sockets
  tcpscope ls sport = :22 or dport = :22   ss filters work as they are
  tcpscope ls -e state time-wait   with uid, inode, cookie and idle times
  tcpscope ls --all-netns -p       every namespace (containers too), with owners
  tcpscope ls --json               one JSON document (docs/json.md)
  tcpscope explain CLOSE_WAIT      what a state means and what to do
  tcpscope release state close-wait pid = 4242   end a program's leaked sockets (dry run; --yes acts)
  tcpscope top                     live: states, who holds them, what doctor says

Exit status: 0 success, 3 error (bad arguments, unreadable input, kernel refused); doctor: 0 healthy, 1 warning, 2 critical; release: 1 when sockets remain."
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
    /// Find what is wrong, whose fault it is, and what to do (exit 0 healthy, 1 warning, 2 critical).
    Doctor(DoctorArgs),
    /// End leaked sockets in place without killing their program (FIN through the owner's
    /// descriptor, or RST): a dry run that lists them unless --yes.
    Release(release::ReleaseArgs),
    /// Benchmark floor: receive a full sock_diag dump and decode nothing (prints bytes received).
    #[command(hide = true)]
    DumpFloor,
    /// Benchmark: poll one collector again and again and print each poll's cost.
    #[command(hide = true)]
    PollBench(PollBenchArgs),
    /// Explain a TCP state (any spelling: CLOSE_WAIT, close-wait, LISTENING) or a transition.
    Explain(ExplainArgs),
    /// Play a TCP scenario between two endpoints A and B as a ladder diagram.
    Simulate(SimulateArgs),
    /// Draw the whole TCP state machine (text, Graphviz dot or SVG).
    Diagram(DiagramArgs),
    /// Serve Prometheus metrics, a live web page and JSON over HTTP (127.0.0.1:9983 by default):
    /// sockets per state and process, doctor's findings, listener queues, kernel counters.
    Serve(ServeArgs),
    /// The live view to leave open during an incident: states with sparklines, sockets opened
    /// and closed per second, the doctor's verdict, and every group's sockets per state.
    Top(TopArgs),
    /// Every TCP state change as it happens, with the process that owns the socket, checked
    /// against the state machine model (root: the sock:inet_sock_set_state tracepoint; else polling).
    Trace(trace::TraceArgs),
    /// Make real sockets in a chosen state on loopback (to learn, test, benchmark); held until
    /// Ctrl-C, SIGTERM or --hold, then removed. Scenarios: established, listen, close-wait,
    /// fin-wait-2, time-wait, syn-recv, fin-wait-1, last-ack, closing, syn-sent, stopped-server,
    /// churn (docs/lab.md).
    Lab(lab::LabArgs),
    /// One process of a lab run (started by `tcpscope lab`, not by people).
    #[command(hide = true)]
    LabWorker(lab::WorkerArgs),
    /// Print a completion script for bash, zsh or fish.
    Completions(install::CompletionsArgs),
    /// Write the manual pages, one per subcommand, into a directory (for packagers).
    #[command(hide = true)]
    Man(install::ManArgs),
}

/// Where the sockets come from.
#[derive(Debug, Args, Clone, Default)]
pub struct InputArgs {
    /// Read a recorded snapshot instead of the live kernel ('-' reads standard input), or a
    /// capture of netstat, ss or Get-NetTCPConnection from any system: Windows, macOS/BSD,
    /// Solaris, AIX, Linux (docs/import.md). `top` also replays a trace recording
    /// (`tcpscope trace --record FILE`) as time.
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,

    /// The format of the --from file, when detection guesses wrong: windows-netstat,
    /// windows-powershell, bsd-netstat, aix-netstat, solaris-netstat, linux-netstat, linux-ss,
    /// linux-proc-net-tcp, or tcpscope (a recording).
    #[arg(long, value_name = "FORMAT", requires = "from")]
    pub from_format: Option<crate::collect::replay::FromFormat>,

    /// Also save the snapshot taken to FILE, to replay later with --from.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,

    /// Where live sockets are read from.
    #[arg(long, value_enum, default_value_t, value_name = "SOURCE")]
    pub source: SourceArg,

    /// Read the sockets of another network namespace: a name from `ip netns list`
    /// (/var/run/netns), pid:PID for the namespace of a process (e.g. a container's), or the
    /// path of a namespace file (/run/netns/NAME, /proc/PID/ns/net, a container runtime's bind
    /// mount such as /run/docker/netns/ID). Root.
    #[arg(long, value_name = "NAME|pid:PID|PATH", conflicts_with = "all_netns")]
    pub netns: Option<String>,

    /// Read every network namespace on the host (named ones and those of all processes, e.g.
    /// containers), with a Netns column saying where each socket lives. Root.
    #[arg(long)]
    pub all_netns: bool,

    /// Judge the filter in user space only: send no bytecode to the kernel (for testing that
    /// both paths agree).
    #[arg(long, hide = true)]
    pub no_kernel_filter: bool,
}

/// Options of `tcpscope ls`.
#[derive(Debug, Args, Clone, Default)]
#[command(after_help = LS_EXAMPLES)]
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

    /// TCP internals on a line under each socket, in ss -i's words: congestion algorithm,
    /// rto, rtt/rttvar, mss, cwnd, ssthresh, bytes sent/acked/received, send, pacing and
    /// delivery rates, busy and rwnd_limited time, retransmissions.
    #[arg(short = 'i', long)]
    pub info: bool,

    /// Socket memory on a line under each socket, as ss -m: skmem:(r,rb,t,tb,f,w,o,bl,d).
    #[arg(short = 'm', long)]
    pub memory: bool,

    /// Timers (accepted for ss habits: the Timer column is always shown).
    #[arg(short = 'o', long)]
    pub options: bool,

    /// Print the summary instead of the sockets, as ss -s (the same as `tcpscope summary`).
    #[arg(short = 's', long)]
    pub summary: bool,

    /// Show the processes holding each socket: command, pid, fd (JSON: also the command line,
    /// user, container and systemd unit). Sockets no process holds show as kernel-owned, with why.
    #[arg(short = 'p', long)]
    pub processes: bool,

    /// Leave out the header line.
    #[arg(short = 'H', long)]
    pub no_header: bool,

    /// ss's -K (kill the listed sockets) is not part of ls: `tcpscope release FILTER` lists what
    /// it would end, and with --yes ends it. Given here, ls only says so.
    #[arg(short = 'K', long = "kill")]
    pub kill: bool,

    /// Print one JSON document (the snapshot format, docs/json.md).
    #[arg(long, conflicts_with = "jsonl")]
    pub json: bool,

    /// Print one JSON object per socket and line, streamed.
    #[arg(long)]
    pub jsonl: bool,

    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub not_tcp: habits::NotTcpArgs,

    /// Which sockets, in ss's filter language (docs/filter.md), as separate words or one quoted
    /// string: `state NAME` / `exclude NAME` (any state or group: close-wait, connected, bucket,
    /// ...), then conditions joined by and/or/not and parentheses: `sport = :22`,
    /// `dport >= :1024`, `dst 10.0.0.0/8`, `src [::1]:22`, `src inet:127.0.0.1`, `dev lo`,
    /// `fwmark 0x1/0xff`, `cgroup /system.slice/nginx.service`, and
    /// tcpscope's own `pid`, `comm`, `uid`, `user`, `container`, `netns`, `recvq`, `sendq`,
    /// `timer`, `idle > 5m`. and/or have equal precedence and group left to right, as in ss.
    #[arg(value_name = "FILTER", trailing_var_arg = true)]
    pub filter: Vec<String>,
}

/// The examples under `tcpscope ls --help`.
const LS_EXAMPLES: &str = "Examples:
  tcpscope ls                          every TCP socket, every state (ss -tan and more)
  tcpscope ls -l                       listening sockets
  tcpscope ls -p state close-wait      who is not closing the sockets their peers closed
  tcpscope ls 'sport = :443 or dport = :443'   ss filters work as they are
  tcpscope ls dst 10.0.0.0/8 and not state time-wait
  tcpscope ls -e state time-wait       uid, inode, cookie, idle times
  tcpscope ls -i -m dport = :5432      tcp_info and socket memory, as ss -i -m
  tcpscope ls 'idle > 5m' state established   connections quiet for over five minutes
  tcpscope ls --netns pid:1234 -p      the sockets of a container's namespace, with owners
  tcpscope ls --json > snap.json       a recording: tcpscope doctor --from snap.json

ss habits: -n -a -t -o are accepted (they are the defaults), -s prints the summary; -u -x -w
(other protocols) and -E -K (events, kill) say what to use instead.";

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

impl From<&LsArgs> for SummaryArgs {
    /// `ls -s` (ss -s): the summary of the sockets `ls` would list.
    fn from(a: &LsArgs) -> SummaryArgs {
        SummaryArgs {
            json: a.json,
            ipv4: a.ipv4,
            ipv6: a.ipv6,
            input: a.input.clone(),
            filter: a.filter.clone(),
        }
    }
}

/// Options of `tcpscope doctor`.
#[derive(Debug, Args, Clone, Default)]
#[command(
    after_help = "Without --netns/--all-netns doctor reads every network namespace it can: all of them as\n\
root, its own otherwise; the report says which.\n\n\
Exit status: 0 healthy (or notes only), 1 warnings, 2 critical, 3 tcpscope failed.\n\n\
Examples:\n  tcpscope doctor                     diagnose this host now\n  \
tcpscope doctor --watch 10s         re-run every 10 s; tighter ages, growth rates\n  \
tcpscope doctor --json              findings for scripts and monitoring\n  \
tcpscope doctor --from snap.json    diagnose a recording (as of when it was taken)"
)]
pub struct DoctorArgs {
    /// Print the report as JSON: {"verdict", "severity", "findings": [...], "checked"}.
    #[arg(long)]
    pub json: bool,

    /// Re-run every INTERVAL (e.g. 5s, 1m), tracking sockets by cookie so ages are bounded by
    /// the polls and growth rates appear ("+12 CLOSE-WAIT/min in pid 4242"). Stops on Ctrl-C.
    #[arg(long, value_name = "INTERVAL", value_parser = parse_interval)]
    pub watch: Option<u64>,

    /// With --watch: stop after N rounds (at least 1).
    #[arg(long, value_name = "N", requires = "watch", value_parser = parse_rounds)]
    pub count: Option<u64>,

    #[command(flatten)]
    pub input: InputArgs,

    /// Which sockets to diagnose (same language as `ls`); by default all of them.
    #[arg(value_name = "FILTER", trailing_var_arg = true)]
    pub filter: Vec<String>,
}

/// Options of `tcpscope serve`.
#[derive(Debug, Args, Clone)]
#[command(
    after_help = "Endpoints:\n  /                 live page: the state diagram with counts, findings, top processes, a filter box\n  \
/metrics          Prometheus text format or OpenMetrics (by the Accept header), docs/metrics.md\n  \
/api/frame        the page's data (JSON)\n  \
/api/doctor       the `doctor --json` document\n  \
/api/snapshot     the `ls --json` document: ?filter=FILTER (ss language) &limit=N\n  \
/healthz          200 when the last poll succeeded, 503 and why otherwise\n\n\
Read-only: GET and HEAD only. Without --netns/--all-netns it reads every network namespace as\n\
root (containers too), its own otherwise. Scrapes within --cache of the last poll share it.\n\n\
Examples:\n  tcpscope serve                               http://127.0.0.1:9983/\n  \
tcpscope serve --listen 0.0.0.0:9983         reachable from the network: anyone who can reach it sees\n                                               this host's connections and processes\n  \
tcpscope serve --top 50 exclude time-wait    more processes per metric; a filter for everything"
)]
pub struct ServeArgs {
    /// Address and port to listen on. Loopback by default; another address exposes the host's
    /// connections and processes to whoever can reach it.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9983")]
    pub listen: std::net::SocketAddr,

    /// Scrapes (and page refreshes) within this age of the last poll share it, so many scrapers
    /// cost one poll (e.g. 2s, 500ms, 0 to poll for every scrape).
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_duration)]
    pub cache: u64,

    /// Processes (and TIME-WAIT destinations, and listeners) exported per metric; the rest are
    /// summed as comm="other" (peer="other").
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub top: u32,

    /// The most sockets /api/snapshot lists in one answer (its `limit` is capped here).
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_list: u32,

    /// Do not count state changes from the kernel tracepoint (tcpscope_transitions_total; as
    /// root serve counts every change on the host, in every namespace).
    #[arg(long)]
    pub no_trace: bool,

    #[command(flatten)]
    pub input: InputArgs,

    /// Which sockets to count and export (same language as `ls`); by default all of them.
    #[arg(value_name = "FILTER", trailing_var_arg = true)]
    pub filter: Vec<String>,
}

/// Options of `tcpscope top`.
#[derive(Debug, Args, Clone)]
#[command(
    after_help = "Keys: q quit · ? help · Enter a group's sockets, then one socket in full · Esc back · \
g group by (process, container, local port, peer host, namespace) · s/r sort and reverse · \
/ filter (ss language) · d doctor · m state machine (with traced rates as root) · K release · \
+/- interval · space pause.\n\n\
Examples:\n  tcpscope top                          every socket (every namespace as root)\n  \
tcpscope top state close-wait         only CLOSE-WAIT, grouped by process\n  \
tcpscope top -g local-port -s total   by local port, largest first\n  \
tcpscope top --from snap.json         a recording, without root\n  \
tcpscope top --from trace.jsonl       a trace --record file replayed as time, one interval per\n                                        poll, with traced rates in the header and the diagram\n  \
tcpscope top --once --size 100x30     one screen as text, for scripts"
)]
pub struct TopArgs {
    /// How often to poll, e.g. 500ms, 1s, 5s (at least 100ms); + and - change it while running.
    /// Replaying a trace recording (--from), also how far each poll moves the replay's clock.
    #[arg(long, short = 'i', value_name = "INTERVAL", default_value = "1s", value_parser = parse_interval)]
    pub interval: u64,

    /// How the table groups sockets at the start (g changes it).
    #[arg(long, short = 'g', value_enum, default_value_t, value_name = "BY")]
    pub group_by: GroupByArg,

    /// The column the table is sorted by at the start (s changes it): attention (the default:
    /// groups with sockets not ESTABLISHED first), group, total, a state (close-wait,
    /// time-wait, ...), cw-idle, recv-q, send-q or change.
    #[arg(long, short = 's', value_name = "COLUMN", default_value = "attention", value_parser = parse_sort)]
    pub sort: tcpscope_core::render::top::SortKey,

    /// Draw one screen as plain text to standard output after the first poll, and exit (for
    /// scripts and tests; no terminal needed).
    #[arg(long)]
    pub once: bool,

    /// With --once: the screen's size, COLUMNSxROWS (default: the terminal's, else 120x40).
    #[arg(long, value_name = "COLSxROWS", requires = "once", value_parser = parse_size)]
    pub size: Option<(u16, u16)>,

    #[command(flatten)]
    pub input: InputArgs,

    /// Which sockets to show (same language as `ls`); `/` changes it while running.
    #[arg(value_name = "FILTER", trailing_var_arg = true)]
    pub filter: Vec<String>,
}

/// A duration in milliseconds (0 allowed).
fn parse_duration(s: &str) -> Result<u64, String> {
    if s == "0" {
        return Ok(0);
    }
    tcpscope_core::analyze::duration::parse_duration_ms(s)
}

/// `--group-by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum GroupByArg {
    #[default]
    Process,
    Container,
    LocalPort,
    PeerHost,
    Namespace,
}

impl From<GroupByArg> for tcpscope_core::analyze::groups::GroupBy {
    fn from(g: GroupByArg) -> Self {
        match g {
            GroupByArg::Process => Self::Process,
            GroupByArg::Container => Self::Container,
            GroupByArg::LocalPort => Self::LocalPort,
            GroupByArg::PeerHost => Self::PeerHost,
            GroupByArg::Namespace => Self::Netns,
        }
    }
}

fn parse_sort(s: &str) -> Result<tcpscope_core::render::top::SortKey, String> {
    tcpscope_core::render::top::SortKey::parse(s).ok_or_else(|| {
        format!(
            "'{s}' is not a column; use attention, group, total, a state (close-wait, \
             time-wait, ...), cw-idle, recv-q, send-q or change"
        )
    })
}

/// `100x30` -> (100, 30).
fn parse_size(s: &str) -> Result<(u16, u16), String> {
    let bad = || format!("'{s}' is not a size; write COLUMNSxROWS, e.g. 120x40");
    let (c, r) = s.split_once(['x', 'X']).ok_or_else(bad)?;
    let (c, r): (u16, u16) = (c.parse().map_err(|_| bad())?, r.parse().map_err(|_| bad())?);
    if c < 20 || r < 4 {
        return Err(format!("'{s}' is too small; use at least 20x4"));
    }
    Ok((c, r))
}

/// A --watch interval in milliseconds (at least 100 ms).
fn parse_interval(s: &str) -> Result<u64, String> {
    let ms = tcpscope_core::analyze::duration::parse_duration_ms(s)?;
    if ms < 100 {
        return Err(format!("'{s}' is too short; use at least 100ms"));
    }
    Ok(ms)
}

/// Options of the hidden `tcpscope poll-bench`.
#[derive(Debug, Args, Clone)]
pub struct PollBenchArgs {
    /// How many polls.
    #[arg(long, default_value_t = 5)]
    pub polls: u64,
    /// Without owners (a plain listing's poll).
    #[arg(long)]
    pub no_owners: bool,
    /// Polls as a live view makes them (counts, groups, doctor report).
    #[arg(long)]
    pub frame: bool,
    /// Polls as `serve` makes them: frames grouped by process only.
    #[arg(long)]
    pub serve: bool,
}

/// A --count of --watch rounds: at least one.
fn parse_rounds(s: &str) -> Result<u64, String> {
    match s.trim().parse::<u64>() {
        Ok(0) => Err("0 rounds would diagnose nothing; give at least 1 (or leave --count out to run until Ctrl-C)".to_string()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("'{s}' is not a number of rounds; e.g. --count 3")),
    }
}

/// Options of `tcpscope explain`.
#[derive(Debug, Args, Clone, Default)]
#[command(
    after_help = "Examples:\n  tcpscope explain                      every state, one line each\n  tcpscope explain CLOSE_WAIT           what it means, whose fault, what to do\n  tcpscope explain fin-wait-2 time-wait one transition"
)]
pub struct ExplainArgs {
    /// The state to explain; with none, every state in one line each.
    #[arg(value_name = "STATE")]
    pub state: Option<String>,

    /// With a second state: explain the transition STATE -> TO.
    #[arg(value_name = "TO")]
    pub to: Option<String>,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Options of `tcpscope simulate`.
#[derive(Debug, Args, Clone, Default)]
#[command(
    after_help = "Examples:\n  tcpscope simulate                     list the scenarios\n  tcpscope simulate close-wait-leak     why CLOSE-WAIT never ends\n  tcpscope simulate handshake --rfc     RFC 9293's states instead of Linux's"
)]
pub struct SimulateArgs {
    /// The scenario to play; with none, the list of scenarios.
    #[arg(value_name = "SCENARIO")]
    pub scenario: Option<String>,

    /// Follow RFC 9293's figure where Linux differs (e.g. SYN-RECV instead of NEW-SYN-RECV).
    #[arg(long, requires = "scenario")]
    pub rfc: bool,

    /// Print the steps as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Output formats of `tcpscope diagram`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum DiagramFormat {
    /// Boxes and arrows for a terminal (fits 80 columns).
    #[default]
    Text,
    /// Graphviz: `tcpscope diagram --format dot | dot -Tpng > tcp.png`.
    Dot,
    /// A self-contained SVG laid out like the RFC figure.
    Svg,
}

/// Options of `tcpscope diagram`.
#[derive(Debug, Args, Clone, Default)]
pub struct DiagramArgs {
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t)]
    pub format: DiagramFormat,

    /// Mark one state and its arrows (any spelling).
    #[arg(long, value_name = "STATE")]
    pub highlight: Option<String>,
}

/// `--source`: where live sockets are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum SourceArg {
    /// netlink sock_diag, falling back to /proc/net/tcp if it is unavailable.
    #[default]
    Auto,
    /// netlink sock_diag only.
    Netlink,
    /// /proc/net/tcp and /proc/net/tcp6 only (no cookies, no tcp_info, slower).
    Proc,
}

impl From<SourceArg> for crate::collect::source::LiveSource {
    fn from(s: SourceArg) -> Self {
        match s {
            SourceArg::Auto => Self::Auto,
            SourceArg::Netlink => Self::Netlink,
            SourceArg::Proc => Self::Proc,
        }
    }
}

impl From<&InputArgs> for crate::collect::plan::InputSpec {
    fn from(a: &InputArgs) -> Self {
        Self {
            from: a.from.clone(),
            from_format: a.from_format,
            record: a.record.clone(),
            source: a.source.into(),
            netns: a.netns.clone(),
            all_netns: a.all_netns,
            kernel_filter: !a.no_kernel_filter,
            // Only top replays a trace recording; it says so itself.
            replays_traces: false,
        }
    }
}
