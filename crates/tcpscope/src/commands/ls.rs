//! `tcpscope ls`: list sockets as a table, one JSON document, or JSON lines — streamed from the
//! source to the output, so memory stays flat however many sockets there are. With `-p` and every
//! state, the /proc walk comes first and sockets still stream; with `-p` and a state filter, the
//! (few) sockets are gathered first so the walk can stop once it has found them all. A filter
//! that names owners (`pid`, `comm`, `user`, `container`) turns attribution on by itself.

use super::output::{
    families, open_source, ownerless_recording_note, owners_match, parse_filter, print_notes,
    query_filter, report_notes, stdout, Recorder,
};
use crate::cli::LsArgs;
use crate::collect::attribute::{snapshot_with_owners, wants_everything, FullWalk};
use crate::collect::{Query, Source, StreamReport};
use anyhow::Result;
use std::io::{self, Write};
use std::process::ExitCode;
use tcpscope_core::decode::names::Names;
use tcpscope_core::model::snapshot::SnapshotWriter;
use tcpscope_core::render::table::{TableOptions, TableWriter};
use tcpscope_core::{Snapshot, Socket, StateSet, TcpState};

pub fn run(args: &LsArgs) -> Result<ExitCode> {
    let filter = parse_filter(&args.filter)?;
    let attribute = args.processes || filter.needs_owners();
    let mut states = filter.states();
    if args.listening {
        states = states.intersect(StateSet::of(&[TcpState::Listen]));
    }
    let machine = args.json || args.jsonl;
    let recording = args.input.record.is_some();
    let query = Query {
        families: families(args.ipv4, args.ipv6),
        states,
        want_info: args.extended || args.info || machine || recording || filter.needs_info(),
        want_memory: args.memory,
        filter: query_filter(&filter),
        kernel_filter: !args.input.no_kernel_filter,
    };
    let mut source = open_source(&args.input, args.json || recording)?;
    let names = args.resolve.then(crate::collect::resolve::names);
    let opts = TableOptions {
        extended: args.extended,
        processes: args.processes,
        netns: source.spans_namespaces(),
        no_header: args.no_header,
        info: args.info,
        memory: args.memory,
    };
    let mut out = stdout();

    if attribute && wants_everything(&source, &query) {
        // Walk /proc first, then stream: owners are attached as sockets pass.
        let mut walk = FullWalk::run()?;
        let mut header = source.header().clone();
        header.notes.extend(walk.early_notes());
        let mut recorder = Recorder::open_with_header(args.input.record.as_deref(), &header)?;
        let mut sink = Sink::start(args, &mut out, &header, opts, names)?;
        let report = source.stream(&query, &mut |mut s| {
            walk.attach(&mut s);
            if !owners_match(&filter, &s) {
                return Ok(());
            }
            recorder.socket(&s)?;
            sink.socket(&s)
        })?;
        return finish(sink, recorder, &source, &report, &walk.notes());
    }

    if attribute {
        let (snap, report, mut notes) = snapshot_with_owners(&mut source, &query)?;
        notes.extend(ownerless_recording_note(&filter, &source, &snap));
        let mut recorder = Recorder::open_with_header(args.input.record.as_deref(), &snap)?;
        let mut sink = Sink::start(args, &mut out, &snap, opts, names)?;
        for s in snap.sockets.iter().filter(|s| owners_match(&filter, s)) {
            recorder.socket(s)?;
            sink.socket(s)?;
        }
        return finish(sink, recorder, &source, &report, &notes);
    }

    let mut recorder = Recorder::open(args.input.record.as_deref(), &source)?;
    let header = source.header().clone();
    let mut sink = Sink::start(args, &mut out, &header, opts, names)?;
    let report = source.stream(&query, &mut |s| {
        recorder.socket(&s)?;
        sink.socket(&s)
    })?;
    finish(sink, recorder, &source, &report, &[])
}

/// Close the output (flushing it) and the recording, then tell the user on stderr what they
/// should know about how the sockets were read.
fn finish<W: Write>(
    sink: Sink<'_, W>,
    recorder: Recorder,
    source: &Source,
    report: &StreamReport,
    notes: &[String],
) -> Result<ExitCode> {
    sink.finish()?;
    recorder.finish()?;
    report_notes(source, report);
    print_notes(notes);
    Ok(ExitCode::SUCCESS)
}

/// Where rows go: one JSON document, JSON lines, or the table.
enum Sink<'n, W: Write> {
    Json(SnapshotWriter<W>),
    Jsonl(W),
    Table(TableWriter<'n, W>),
}

impl<'n, W: Write> Sink<'n, W> {
    fn start(
        args: &LsArgs,
        out: W,
        header: &Snapshot,
        opts: TableOptions,
        names: Option<&'n Names>,
    ) -> io::Result<Self> {
        Ok(if args.json {
            Sink::Json(SnapshotWriter::start(out, header)?)
        } else if args.jsonl {
            Sink::Jsonl(out)
        } else {
            Sink::Table(TableWriter::new(out, opts, names))
        })
    }

    fn socket(&mut self, s: &Socket) -> io::Result<()> {
        match self {
            Sink::Json(w) => w.socket(s),
            Sink::Jsonl(out) => {
                serde_json::to_writer(&mut *out, s)?;
                out.write_all(b"\n")
            }
            Sink::Table(t) => t.row(s),
        }
    }

    fn finish(self) -> io::Result<()> {
        match self {
            Sink::Json(w) => w.finish().map(drop),
            Sink::Jsonl(mut out) => out.flush(),
            Sink::Table(t) => t.finish().map(drop),
        }
    }
}
