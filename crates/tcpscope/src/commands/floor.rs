//! `tcpscope dump-floor` (hidden): the cost of a bare sock_diag dump of every TCP socket, with
//! no decoding and no output. Benchmarks compare `ls` against it (scripts/bench-ls.sh). Also the
//! hidden `poll-bench`: the cost of repeated polls of one collector.

use crate::collect::netlink::DiagSocket;
use anyhow::Result;
use std::process::ExitCode;
use tcpscope_core::analyze::filter::Filter;
use tcpscope_core::decode::inet_diag::Request;
use tcpscope_core::Family;

pub fn run() -> Result<ExitCode> {
    let mut sock = DiagSocket::open()?;
    let mut bytes = 0;
    for family in [Family::Inet, Family::Inet6] {
        bytes += sock.dump_bare(&Request {
            family,
            // The states a plain `ls` asks for (bound-inactive only when a filter names it: asking
            // makes the kernel walk its bind table, which would inflate the floor).
            states: Filter::all().states().kernel_request_mask(),
            want_info: false,
            want_memory: false,
            bytecode: None,
            seq: 0,
        })?;
    }
    println!("{bytes}");
    Ok(ExitCode::SUCCESS)
}

/// `tcpscope poll-bench` (hidden): the cost of repeated polls of one collector, the number behind
/// "a repeated poll costs at most half a cold one" (scripts/bench-scale.sh). Prints one JSON line
/// per poll: {"poll": N, "ms": WALL, "cpu_ms": CPU, "sockets": S}.
pub fn run_poll_bench(args: &crate::cli::PollBenchArgs) -> Result<ExitCode> {
    use crate::collect::collector::Collector;
    use crate::collect::plan::{DefaultScope, InputSpec, Needs, Owners, Plan};
    use std::time::Instant;
    let needs = Needs {
        families: vec![Family::Inet, Family::Inet6],
        states: None,
        tcp_info: args.frame,
        info_states: None,
        memory: false,
        owners: if args.no_owners {
            Owners::None
        } else {
            Owners::All
        },
        counters: args.frame,
        scope: DefaultScope::Own,
    };
    let input = InputSpec {
        kernel_filter: true,
        ..InputSpec::default()
    };
    let mut collector = Collector::new(Plan::new(&input, Filter::all(), needs)?);
    for poll in 1..=args.polls {
        if poll > 1 {
            collector.next_poll()?;
        }
        let started = Instant::now();
        let cpu_before = cpu_ms();
        let sockets = if args.frame {
            collector.frame(poll)?.counts.total()
        } else {
            let mut n = 0u64;
            collector.stream(&mut |_| {
                n += 1;
                Ok(())
            })?;
            n
        };
        println!(
            "{{\"poll\":{poll},\"ms\":{:.1},\"cpu_ms\":{:.1},\"sockets\":{sockets}}}",
            started.elapsed().as_secs_f64() * 1000.0,
            cpu_ms() - cpu_before
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// CPU time (user + system, every thread) this process has used, in milliseconds: steadier
/// than wall time on a loaded machine.
fn cpu_ms() -> f64 {
    // SAFETY: getrusage only writes the struct it is given, which is zeroed plain data.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a rusage struct owned by this frame.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1000.0 + t.tv_usec as f64 / 1000.0;
    ms(u.ru_utime) + ms(u.ru_stime)
}
