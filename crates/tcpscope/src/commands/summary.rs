//! `tcpscope summary`: counts per state and family plus the kernel's counters — the one screen
//! that says whether anything is piling up, and where to look next. Sockets stream from the
//! collector into the counts; none is kept.

use super::output::{families, parse_filter, print_poll_notes, stdout};
use crate::cli::SummaryArgs;
use crate::collect::collector::Collector;
use crate::collect::plan::{DefaultScope, Needs, Owners, Plan};
use anyhow::Result;
use std::io::Write;
use std::process::ExitCode;
use tcpscope_core::analyze::summary::{StateCounts, Summary};
use tcpscope_core::render::summary::write_summary;

pub fn run(args: &SummaryArgs) -> Result<ExitCode> {
    let filter = parse_filter(&args.filter)?;
    let needs = Needs {
        families: families(args.ipv4, args.ipv6),
        states: None,
        tcp_info: false,
        info_states: None,
        memory: false,
        owners: Owners::None,
        counters: true,
        scope: DefaultScope::Own,
    };
    let mut collector = Collector::new(Plan::new(&(&args.input).into(), filter, needs)?);
    let header = collector.header().clone();
    let mut counts = StateCounts::default();
    let report = collector.stream(&mut |s| {
        counts.add(s);
        Ok(())
    })?;
    let summary = Summary::new(
        &counts,
        header.kernel.sockstat,
        &header.kernel.sysctls,
        header.taken_at_unix_ms,
    );
    let mut out = stdout();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &summary)?;
        writeln!(out)?;
    } else {
        write_summary(&mut out, &summary)?;
    }
    out.flush()?;
    print_poll_notes(&header, &report);
    Ok(ExitCode::SUCCESS)
}
