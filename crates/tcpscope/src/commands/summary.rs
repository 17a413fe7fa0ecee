//! `tcpscope summary`: counts per state and family plus the kernel's counters — the one screen
//! that says whether anything is piling up, and where to look next.

use super::output::{
    families, owners_match, parse_filter, query_filter, report_notes, stdout, warn_unjudgeable,
    Recorder,
};
use crate::cli::SummaryArgs;
use crate::collect::{Query, Source};
use anyhow::Result;
use std::io::Write;
use std::process::ExitCode;
use tcpscope_core::render::summary::write_summary;
use tcpscope_core::summary::{StateCounts, Summary};

pub fn run(args: &SummaryArgs) -> Result<ExitCode> {
    let recording = args.input.record.is_some();
    let filter = parse_filter(&args.filter)?;
    warn_unjudgeable(&filter);
    let query = Query {
        families: families(args.ipv4, args.ipv6),
        states: filter.states(),
        want_info: recording || filter.needs_info(),
        filter: query_filter(&filter),
    };
    let mut source = Source::open(args.input.from.as_deref(), args.input.source, true)?;
    source.set_kernel_filter(!args.input.no_kernel_filter);
    let mut recorder = Recorder::open(args.input.record.as_deref(), &source)?;
    let mut counts = StateCounts::default();
    let report = source.stream(&query, &mut |s| {
        if !owners_match(&filter, &s) {
            return Ok(());
        }
        counts.add(&s);
        recorder.socket(&s)
    })?;
    recorder.finish()?;
    let header = source.header();
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
    report_notes(&source, &report);
    Ok(ExitCode::SUCCESS)
}
