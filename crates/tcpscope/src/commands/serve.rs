//! `tcpscope serve`: the collector on its own thread ([`Live`], polling only when an answer
//! needs a fresh frame), and an HTTP server that reads its frames — Prometheus metrics, the
//! live page, the doctor and snapshot documents (crate::serve).

use super::output::parse_filter;
use crate::cli::ServeArgs;
use crate::collect::collector::Collector;
use crate::collect::live::Live;
use crate::collect::plan::{Needs, Plan};
use crate::serve::transitions::Transitions;
use crate::serve::{self, ServeConfig};
use anyhow::{bail, Context, Result};
use std::process::ExitCode;
use std::time::Duration;

pub fn run(args: &ServeArgs) -> Result<ExitCode> {
    if args.input.from.is_some() {
        bail!("serve shows the live kernel; a recording does not change (drop --from; `tcpscope doctor --from FILE` diagnoses one)");
    }
    if args.input.record.is_some() {
        bail!("serve does not record; `tcpscope ls --record FILE` saves a snapshot");
    }
    let filter = parse_filter(&args.filter)?;
    let needs = Needs::live_view();
    let mut collector = Collector::new(Plan::new(&(&args.input).into(), filter, needs)?);
    collector.set_groupings(serve::GROUPINGS);
    let listener = std::net::TcpListener::bind(args.listen).with_context(|| {
        format!(
            "listening on {}; another program may use the port (choose one with --listen ADDR)",
            args.listen
        )
    })?;
    let local = listener.local_addr()?;
    for n in &collector.header().notes {
        eprintln!("tcpscope: note: {n}");
    }
    if !local.ip().is_loopback() {
        eprintln!(
            "tcpscope: note: listening on {local}: whoever can reach it sees this host's connections and processes"
        );
    }
    let transitions = if args.no_trace {
        None
    } else {
        match Transitions::start() {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("tcpscope: note: no tcpscope_transitions_total: {e:#}");
                None
            }
        }
    };
    let live = Live::start(collector, None);
    eprintln!(
        "tcpscope serve: listening on {} (metrics at /metrics)",
        serve::url(local)
    );
    serve::run(
        listener,
        live,
        ServeConfig {
            cache: Duration::from_millis(args.cache),
            top: args.top as usize,
            max_list: args.max_list as usize,
        },
        transitions,
    )?;
    Ok(ExitCode::SUCCESS)
}
