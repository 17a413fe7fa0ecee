//! `tcpscope top`: a plan that wants everything a live screen shows (tcp_info, every socket's
//! owner, kernel counters; every namespace as root), a [`Live`](crate::collect::live::Live)
//! collector polling it on its own thread, and the screen in [`crate::top`] reading its frames.
//! `--once` draws one screen as text after the first poll. `--from` shows a snapshot, a capture,
//! or a trace recording replayed as time (each poll moves its clock one interval; the frames
//! carry the traced changes of that step, so the header and the diagram show rates as a live
//! trace's do).

use super::output::parse_filter;
use crate::cli::TopArgs;
use crate::collect::collector::Collector;
use crate::collect::plan::{InputSpec, Needs, Plan};
use crate::collect::source::LiveSource;
use crate::commands::release::Scope;
use anyhow::{bail, Result};
use std::process::ExitCode;
use tcpscope_core::render::top::Options;

/// Why a screen of a file has no transition rates.
pub const UNTRACED_FILE: &str = "a file is shown: there are no live changes to trace";

/// What a live screen needs: [`Needs::live_view`].
pub fn needs() -> Needs {
    Needs::live_view()
}

pub fn run(args: &TopArgs) -> Result<ExitCode> {
    if args.input.record.is_some() {
        bail!(
            "top does not record; record a snapshot with `tcpscope ls -p --record FILE` and \
             replay it with `tcpscope top --from FILE`"
        );
    }
    let filter = parse_filter(&args.filter)?;
    let needs = needs();
    let mut input: InputSpec = (&args.input).into();
    input.replays_traces = true;
    let replay = input.from.is_some();
    let trace_file = match input.from.as_deref() {
        Some(path) => crate::collect::replay::is_trace(&crate::collect::replay::Input {
            path,
            format: input.from_format,
        })?,
        None => false,
    };
    let release_unavailable = input.from.as_ref().map(|_| {
        "top is showing a file, not this host's sockets: the release key acts only on a live \
         view (`tcpscope top`, or `tcpscope release FILTER` on the host the file came from)"
            .to_string()
    });
    let scope = release_scope(&input);
    let source = input.from.as_ref().map(|p| {
        let name = p.file_name().map_or_else(
            || p.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        if trace_file {
            format!("trace {name}")
        } else {
            format!("recording {name}")
        }
    });
    // The threads that poll (the source's namespace readers, made when the plan opens it,
    // and the collector's own) run below the screen's priority, so a key is answered at once
    // even while a poll runs on a busy host. Threads take their creator's nice value: the plan
    // is opened on a thread that lowered its own first (raising it back would need privilege).
    let plan_filter = filter.clone();
    let mut collector = std::thread::spawn(move || {
        let _ = rustix::process::setpriority_process(None, crate::collect::live::POLL_NICE);
        Plan::new(&input, plan_filter, needs).map(Collector::new)
    })
    .join()
    .map_err(|_| anyhow::anyhow!("opening the sockets' source failed unexpectedly"))??;
    // A replayed trace moves its clock one interval per poll (+/- change it); `--once` shows
    // its end: the sockets alive then, and the rates over the whole recording.
    collector.set_replay_step(if args.once { u64::MAX } else { args.interval });
    let opts = Options {
        interval_ms: args.interval,
        group_by: args.group_by.into(),
        sort: args.sort,
        filter,
        source,
        release_unavailable,
    };
    if args.once {
        crate::top::once(collector, opts, args.size)?;
        return Ok(ExitCode::SUCCESS);
    }
    // Every state change, traced beside the polls where the tracepoint and the screen see the
    // same sockets: as root, over every namespace, not from a file.
    let trace = if trace_file {
        // The recording's own changes are counted, step by step.
        None
    } else if replay {
        Some(Err(UNTRACED_FILE.to_string()))
    } else if !rustix::process::geteuid().is_root() {
        Some(Err(
            "reading the tracepoint sock:inet_sock_set_state needs root".to_string(),
        ))
    } else if !scope.all_netns {
        Some(Err(
            "top reads one network namespace, the tracepoint every namespace's changes".to_string(),
        ))
    } else {
        Some(Ok(()))
    };
    crate::top::interactive(collector, opts, scope, trace)?;
    Ok(ExitCode::SUCCESS)
}

/// Where the release key selects: the namespaces top reads (every one as root, as
/// [`Plan::new`] decides for [`DefaultScope::EveryAsRoot`]).
fn release_scope(input: &InputSpec) -> Scope {
    let root = rustix::process::geteuid().is_root();
    Scope {
        netns: input.netns.clone(),
        all_netns: input.all_netns
            || (input.netns.is_none() && root && input.source != LiveSource::Proc),
    }
}
