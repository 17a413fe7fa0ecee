//! `tcpscope ls`: list sockets as a table, one JSON document, or JSON lines — streamed from the
//! collector to the output, so memory stays flat however many sockets there are. `-p` (or a
//! filter that names owners: `pid`, `comm`, `user`, `container`) attaches the owning processes;
//! the collector picks the walk (docs/ARCHITECTURE.md).

use super::output::{families, parse_filter, print_poll_notes, stdout};
use crate::cli::LsArgs;
use crate::collect::collector::{Collector, PollReport};
use crate::collect::plan::{DefaultScope, Needs, Owners, Plan};
use crate::collect::resolve;
use anyhow::Result;
use std::io::{self, Write};
use std::process::ExitCode;
use tcpscope_core::decode::names::Names;
use tcpscope_core::model::snapshot::SnapshotWriter;
use tcpscope_core::render::table::{TableOptions, TableWriter};
use tcpscope_core::{Snapshot, Socket, StateSet, TcpState};

pub fn run(args: &LsArgs) -> Result<ExitCode> {
    let filter = parse_filter(&args.filter)?;
    let machine = args.json || args.jsonl;
    let needs = Needs {
        families: families(args.ipv4, args.ipv6),
        states: args.listening.then(|| StateSet::of(&[TcpState::Listen])),
        tcp_info: args.extended || args.info || machine,
        memory: args.memory,
        info_states: None,
        owners: if args.processes {
            Owners::All
        } else {
            Owners::None
        },
        counters: args.json,
        scope: DefaultScope::Own,
    };
    let mut collector = Collector::new(Plan::new(&(&args.input).into(), filter, needs)?);
    let names = args.resolve.then(resolve::names);
    let opts = TableOptions {
        extended: args.extended,
        processes: args.processes,
        netns: collector.spans_namespaces(),
        no_header: args.no_header,
        info: args.info,
        memory: args.memory,
    };
    let header = collector.header().clone();
    let mut out = stdout();
    let mut sink = Sink::start(args, &mut out, &header, opts, names)?;
    let report = collector.stream(&mut |s| sink.socket(s))?;
    sink.finish(&header, &report)?;
    print_poll_notes(&header, &report);
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

    /// Close the output (flushing it); a JSON document ends with the poll's notes.
    fn finish(self, header: &Snapshot, report: &PollReport) -> io::Result<()> {
        match self {
            Sink::Json(w) => {
                let mut notes = header.notes.clone();
                notes.extend(report.notes.iter().cloned());
                notes.extend(report.warnings.iter().cloned());
                w.finish(&header.processes, &notes).map(drop)
            }
            Sink::Jsonl(mut out) => out.flush(),
            Sink::Table(t) => t.finish().map(drop),
        }
    }
}
