//! `tcpscope summary`: counts per state and family plus the kernel's counters — the one screen
//! that says whether anything is piling up, and where to look next.

use super::output::{
    families, open_source, ownerless_recording_note, owners_match, parse_filter, print_notes,
    query_filter, report_notes, stdout, Recorder,
};
use crate::cli::SummaryArgs;
use crate::collect::attribute::snapshot_with_owners;
use crate::collect::Query;
use anyhow::Result;
use std::io::Write;
use std::process::ExitCode;
use tcpscope_core::analyze::summary::{StateCounts, Summary};
use tcpscope_core::render::summary::write_summary;

pub fn run(args: &SummaryArgs) -> Result<ExitCode> {
    let filter = parse_filter(&args.filter)?;
    let recording = args.input.record.is_some();
    let query = Query {
        families: families(args.ipv4, args.ipv6),
        states: filter.states(),
        want_info: recording || filter.needs_info(),
        want_memory: false,
        filter: query_filter(&filter),
        kernel_filter: !args.input.no_kernel_filter,
    };
    let mut source = open_source(&args.input, true)?;
    let mut counts = StateCounts::default();
    let report = if filter.needs_owners() {
        // Owner conditions (pid, comm, container) need the sockets' owners looked up first.
        let (snap, report, mut notes) = snapshot_with_owners(&mut source, &query)?;
        notes.extend(ownerless_recording_note(&filter, &source, &snap));
        let mut recorder = Recorder::open_with_header(args.input.record.as_deref(), &snap)?;
        for s in snap.sockets.iter().filter(|s| owners_match(&filter, s)) {
            counts.add(s);
            recorder.socket(s)?;
        }
        recorder.finish()?;
        print_notes(&notes);
        report
    } else {
        let mut recorder = Recorder::open(args.input.record.as_deref(), &source)?;
        let report = source.stream(&query, &mut |s| {
            counts.add(&s);
            recorder.socket(&s)
        })?;
        recorder.finish()?;
        report
    };
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
