//! `tcpscope ls`: list sockets as a table, one JSON document, or JSON lines — streamed from the
//! source to the output, so memory stays flat however many sockets there are.

use super::output::{
    families, owners_match, parse_filter, query_filter, report_notes, stdout, warn_unjudgeable,
    Recorder,
};
use crate::cli::LsArgs;
use crate::collect::{Query, Source};
use anyhow::Result;
use std::io::Write;
use std::process::ExitCode;
use tcpscope_core::names::Names;
use tcpscope_core::render::table::{TableOptions, TableWriter};
use tcpscope_core::snapshot::SnapshotWriter;
use tcpscope_core::{StateSet, TcpState};

pub fn run(args: &LsArgs) -> Result<ExitCode> {
    let filter = parse_filter(&args.filter)?;
    warn_unjudgeable(&filter);
    let mut states = filter.states();
    if args.listening {
        states = states.intersect(StateSet::of(&[TcpState::Listen]));
    }
    let machine = args.json || args.jsonl;
    let recording = args.input.record.is_some();
    let query = Query {
        families: families(args.ipv4, args.ipv6),
        states,
        want_info: args.extended || machine || recording || filter.needs_info(),
        filter: query_filter(&filter),
    };
    let mut source = Source::open(
        args.input.from.as_deref(),
        args.input.source,
        args.json || recording,
    )?;
    source.set_kernel_filter(!args.input.no_kernel_filter);
    let mut recorder = Recorder::open(args.input.record.as_deref(), &source)?;
    let mut out = stdout();

    let report = if args.json {
        let mut w = SnapshotWriter::start(&mut out, source.header())?;
        let report = source.stream(&query, &mut |s| {
            if !owners_match(&filter, &s) {
                return Ok(());
            }
            recorder.socket(&s)?;
            w.socket(&s)
        })?;
        w.finish()?;
        report
    } else if args.jsonl {
        source.stream(&query, &mut |s| {
            if !owners_match(&filter, &s) {
                return Ok(());
            }
            recorder.socket(&s)?;
            serde_json::to_writer(&mut out, &s)?;
            out.write_all(b"\n")
        })?
    } else {
        let names = args.resolve.then(load_names);
        let opts = TableOptions {
            extended: args.extended,
            no_header: args.no_header,
            ..TableOptions::default()
        };
        let mut table = TableWriter::new(&mut out, opts, names.as_ref());
        let report = source.stream(&query, &mut |s| {
            if !owners_match(&filter, &s) {
                return Ok(());
            }
            recorder.socket(&s)?;
            table.row(&s)
        })?;
        table.finish()?;
        report
    };
    out.flush()?;
    recorder.finish()?;
    report_notes(&source, &report);
    Ok(ExitCode::SUCCESS)
}

fn load_names() -> Names {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    Names::parse(&read("/etc/hosts"), &read("/etc/services"))
}
