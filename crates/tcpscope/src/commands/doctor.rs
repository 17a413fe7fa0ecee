//! `tcpscope doctor`: one poll of the collector digested for the rules (only the sockets a
//! finding may name are kept and attributed; tcp_info, kernel counters and process facts come
//! with them; every namespace as root unless told otherwise), the rules run, the report printed,
//! and the exit status 0/1/2 by the worst finding. `--watch` polls the same collector again, so
//! its tracker bounds ages by the polls and growth shows; as root, a trace of entries into
//! CLOSE-WAIT runs between the polls and makes those ages exact.

use super::output::{parse_filter, stdout};
use crate::cli::DoctorArgs;
use crate::collect::collector::Collector;
use crate::collect::plan::{DefaultScope, Needs, Owners, Plan};
use crate::collect::trace::entries::EntryWatch;
use anyhow::Result;
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tcpscope_core::analyze::diagnose::digest::Digest;
use tcpscope_core::analyze::diagnose::{diagnose, Context, Report};
use tcpscope_core::render::doctor::write_report;
use tcpscope_core::render::time::utc_text;
use tcpscope_core::{Family, StateSet, TcpState};

pub fn run(args: &DoctorArgs) -> Result<ExitCode> {
    let filter = parse_filter(&args.filter)?;
    if args.watch.is_some() && args.input.from.is_some() {
        anyhow::bail!("--watch needs the live kernel; a recording does not change (drop --from)");
    }
    let needs = Needs {
        families: vec![Family::Inet, Family::Inet6],
        states: None,
        tcp_info: true,
        info_states: Some(Digest::INFO_STATES),
        memory: false,
        owners: Owners::Named,
        counters: true,
        scope: DefaultScope::EveryAsRoot,
    };
    let mut collector = Collector::new(Plan::new(&(&args.input).into(), filter, needs)?);
    let Some(interval) = args.watch else {
        let (input, _) = collector.digest()?;
        let report = diagnose(&Context::new(&input, None));
        print(args, &report)?;
        return Ok(ExitCode::from(report.exit_code()));
    };
    // As root, a trace of entries into CLOSE-WAIT runs between the polls: ages become exact.
    let mut entries = match EntryWatch::start(StateSet::of(&[TcpState::CloseWait])) {
        Ok(w) => {
            eprintln!(
                "tcpscope: note: tracing entries into CLOSE-WAIT between polls (sock:inet_sock_set_state, kernel filter: {}): sockets that enter it while doctor watches get exact ages",
                w.kernel_filter().unwrap_or("none")
            );
            Some(w)
        }
        Err(e) => {
            eprintln!("tcpscope: note: CLOSE-WAIT ages are bounded by the polls: cannot read the tracepoint ({e})");
            None
        }
    };
    let mut round = 0u64;
    loop {
        let started = Instant::now();
        let (input, _) = collector.digest()?;
        let report = diagnose(&Context::new(&input, Some(collector.tracker())));
        if !args.json {
            let mut out = stdout();
            writeln!(
                out,
                "── tcpscope doctor --watch: round {} at {} ──",
                round + 1,
                utc_text(input.snapshot.taken_at_unix_ms)
            )?;
            out.flush()?;
        }
        print(args, &report)?;
        round += 1;
        if args.count.is_some_and(|n| round >= n) {
            return Ok(ExitCode::from(report.exit_code()));
        }
        let next = started + Duration::from_millis(interval);
        match &mut entries {
            Some(w) => w.run_until(next, &mut collector),
            None => std::thread::sleep(next.saturating_duration_since(Instant::now())),
        }
        collector.next_poll()?;
    }
}

fn print(args: &DoctorArgs, report: &Report) -> Result<()> {
    let mut out = stdout();
    if args.json {
        serde_json::to_writer(&mut out, report)?;
        writeln!(out)?;
    } else {
        write_report(&mut out, report)?;
    }
    out.flush()?;
    Ok(())
}
