//! `tcpscope doctor`: take a snapshot with everything the rules need (tcp_info, kernel counters,
//! owners from `collect::attribute` and their process facts; `--netns`/`--all-netns` apply), run
//! the rules, print the report, and exit 0/1/2 by the worst finding. `--watch` repeats, carrying
//! a tracker so ages are bounded by the polls and growth shows.

use super::output::{owners_match, parse_filter, query_filter, stdout};
use crate::cli::DoctorArgs;
use crate::collect::attribute::snapshot_with_owners;
use crate::collect::netns::NetnsScope;
use crate::collect::{process, LiveSource, Query, Source};
use anyhow::{Context as _, Result};
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tcpscope_core::analyze::diagnose::{diagnose, watch::Tracker, Context, Report};
use tcpscope_core::render::doctor::write_report;
use tcpscope_core::render::time::utc_text;
use tcpscope_core::{Family, Snapshot};

pub fn run(args: &DoctorArgs) -> Result<ExitCode> {
    let filter = parse_filter(&args.filter)?;
    let query = Query {
        families: vec![Family::Inet, Family::Inet6],
        states: filter.states(),
        want_info: true,
        want_memory: false,
        filter: query_filter(&filter),
        kernel_filter: !args.input.no_kernel_filter,
    };
    let Some(interval) = args.watch else {
        let snap = take(args, &query)?;
        let report = diagnose(&Context::new(&snap, None));
        print(args, &report)?;
        return Ok(ExitCode::from(report.exit_code()));
    };
    if args.input.from.is_some() {
        anyhow::bail!("--watch needs the live kernel; a recording does not change (drop --from)");
    }
    let mut tracker = Tracker::new();
    let mut round = 0u64;
    loop {
        let started = Instant::now();
        let snap = take(args, &query)?;
        tracker.observe(&snap);
        let report = diagnose(&Context::new(&snap, Some(&tracker)));
        if !args.json {
            let mut out = stdout();
            writeln!(
                out,
                "── tcpscope doctor --watch: round {} at {} ──",
                round + 1,
                utc_text(snap.taken_at_unix_ms)
            )?;
            out.flush()?;
        }
        print(args, &report)?;
        round += 1;
        if args.count.is_some_and(|n| round >= n) {
            return Ok(ExitCode::from(report.exit_code()));
        }
        std::thread::sleep(Duration::from_millis(interval).saturating_sub(started.elapsed()));
    }
}

/// One snapshot with owners and process facts, from the kernel or a recording.
fn take(args: &DoctorArgs, query: &Query) -> Result<Snapshot> {
    let mut source = open_doctor_source(args)?;
    // Notes on hidden owners go into the snapshot, which the report shows.
    let (mut snap, report, _notes) = snapshot_with_owners(&mut source, query)?;
    if let Some(f) = query.filter.as_deref() {
        // Owner conditions (pid, comm, container) can be judged only now.
        snap.sockets.retain(|s| owners_match(f, s));
    }
    if !source.is_replay() {
        snap.processes = process::read_owner_processes(&snap.sockets);
    }
    // The report shows the header's notes; what went wrong while reading goes there too.
    snap.notes.extend(report.warnings);
    if let Some(path) = &args.input.record {
        let file = std::fs::File::create(path)
            .with_context(|| format!("creating recording {}", path.display()))?;
        snap.write_json(std::io::BufWriter::new(file))
            .with_context(|| format!("writing recording {}", path.display()))?;
    }
    Ok(snap)
}

/// Doctor covers every network namespace it can read unless told otherwise: all of them as
/// root, else its own (saying how to see the rest). The snapshot notes say which were read.
fn open_doctor_source(args: &DoctorArgs) -> Result<Source> {
    let input = &args.input;
    let explicit = input.netns.is_some() || input.all_netns || input.from.is_some();
    let root = rustix::process::geteuid().is_root();
    let scope = if explicit {
        NetnsScope::from_args(input.netns.as_deref(), input.all_netns)?
    } else if root && LiveSource::from(input.source) != LiveSource::Proc {
        NetnsScope::All
    } else {
        NetnsScope::Current
    };
    let mut source = Source::open_in(input.from.as_deref(), input.source.into(), true, &scope)?;
    let labels = source.namespace_labels();
    if !labels.is_empty() {
        let labels: Vec<String> = labels.iter().map(|l| format!("namespace {l}")).collect();
        source.add_note(format!(
            "network namespaces read ({}): {}",
            labels.len(),
            labels.join(", ")
        ));
    } else if !explicit && !root {
        source.add_note(
            "only tcpscope's own network namespace was read; run as root to cover every namespace (containers too)"
                .to_string(),
        );
    }
    Ok(source)
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
