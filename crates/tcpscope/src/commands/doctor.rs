//! `tcpscope doctor`: one poll of the collector digested for the rules (only the sockets a
//! finding may name are kept and attributed; tcp_info, kernel counters and process facts come
//! with them; every namespace as root unless told otherwise), the rules run, the report printed,
//! and the exit status 0/1/2 by the worst finding. `--watch` polls the same collector again, so
//! its tracker bounds ages by the polls and growth shows.

use super::output::{parse_filter, stdout};
use crate::cli::DoctorArgs;
use crate::collect::collector::Collector;
use crate::collect::plan::{DefaultScope, Needs, Owners, Plan};
use anyhow::Result;
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tcpscope_core::analyze::diagnose::digest::Digest;
use tcpscope_core::analyze::diagnose::{diagnose, Context, Report};
use tcpscope_core::render::doctor::write_report;
use tcpscope_core::render::time::utc_text;
use tcpscope_core::Family;

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
        std::thread::sleep(Duration::from_millis(interval).saturating_sub(started.elapsed()));
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
