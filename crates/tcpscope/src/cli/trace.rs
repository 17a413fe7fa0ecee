//! The options of `tcpscope trace`.

use clap::Args;
use std::path::PathBuf;
use std::time::Duration;
use tcpscope_core::analyze::duration::parse_duration;

/// Options of `tcpscope trace`.
#[derive(Debug, Args, Clone, Default)]
#[command(after_help = "\
Each line: time (UTC), the owning process, local and peer address, OLD -> NEW, the time spent in \
the old state (? when trace did not see the socket enter it), and where the owner came from: \
context (the change ran in the owner's own system call), cache (another change of the same socket \
did), lookup (sock_diag found the socket and /proc its holder), none. Changes the state machine \
model does not allow are marked; after lost records a socket's history is unknown instead, and a \
change after a record the kernel did not deliver (no loss reported) is marked as a gap \
(docs/trace.md, \"Known issue\").

Needs root (the tracepoint sock:inet_sock_set_state through perf). Without it, or without the \
tracepoint, trace polls every socket each --interval and reports the differences: changes between \
two polls are missed.

Examples:
  tcpscope trace                              every change on this host, until Ctrl-C
  tcpscope trace state close-wait             sockets entering and leaving CLOSE-WAIT, with their owner
  tcpscope trace 'sport = :443' --lifetimes   one line per finished connection on port 443
  tcpscope trace --jsonl --duration 10s       JSON lines (docs/json.md), then a summary line
  tcpscope trace --record t.jsonl --count 100 save; replay with `tcpscope trace --from t.jsonl`
")]
pub struct TraceArgs {
    /// Print one JSON object per line (docs/json.md): transitions (or lifetimes), then a summary.
    #[arg(long)]
    pub jsonl: bool,

    /// One line per finished connection instead of per change: duration, owner, bytes, states.
    #[arg(long)]
    pub lifetimes: bool,

    /// Stop after this long (e.g. 10s, 5m); the summary line ends the output.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// Stop after N lines (changes, or connections with --lifetimes).
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,

    /// Also save what is traced to FILE (JSON lines), to replay with --from.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,

    /// Replay a recording made with --record instead of tracing ('-' reads standard input).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["record", "poll", "duration"])]
    pub from: Option<PathBuf>,

    /// IPv4 sockets only.
    #[arg(short = '4', long, conflicts_with = "ipv6")]
    pub ipv4: bool,

    /// IPv6 sockets only.
    #[arg(short = '6', long)]
    pub ipv6: bool,

    /// Poll sock_diag instead of reading the tracepoint, even when it could be read (the
    /// fallback without root). Changes between polls are missed.
    #[arg(long)]
    pub poll: bool,

    /// How often the polling fallback reads every socket.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "1s")]
    pub interval: Duration,

    /// Ring buffer per CPU, in KiB (rounded up to a power of two). Larger buffers survive
    /// longer bursts without losing records.
    #[arg(long, value_name = "KIB", default_value_t = 8192)]
    pub buffer_kib: usize,

    /// How long records wait to be merged in time order across CPUs.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "50ms", hide = true)]
    pub reorder: Duration,

    /// How long a change waits for a later change of the same socket to name its owner.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "250ms", hide = true)]
    pub look_ahead: Duration,

    /// sock_diag lookups per second for changes whose owner is still unknown (0: none).
    #[arg(long, value_name = "N", default_value_t = 2000)]
    pub lookups: u32,

    /// Send no filter to the kernel: judge every record in user space (for testing that both
    /// paths agree).
    #[arg(long, hide = true)]
    pub no_kernel_filter: bool,

    /// Which changes, in ss's filter language (docs/filter.md): a change matches when the
    /// socket before or after it matches (`state close-wait` shows entering and leaving
    /// CLOSE-WAIT). Addresses, ports, states, `pid`, `comm`, `netns`; not queues, timers or uid.
    #[arg(value_name = "FILTER", trailing_var_arg = true)]
    pub filter: Vec<String>,
}
