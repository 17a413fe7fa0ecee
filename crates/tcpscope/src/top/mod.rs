//! `tcpscope top` on a terminal: read keys, draw the screen core lays out
//! ([`TopApp`](tcpscope_core::render::top::TopApp)), and carry out what keys ask for on the
//! [`Live`] collector — which polls on its own thread, so this thread never touches the kernel
//! and answers a key at once even while a poll runs. Drill-down listings are asked for without
//! waiting ([`Live::request_list`]) and picked up when they arrive.
//!
//! * [`terminal`]: raw mode and the alternate screen, restored on exit, on panic and on
//!   SIGTERM/SIGHUP/SIGINT;
//! * [`draw`]: core's lines onto ratatui's buffer, tones to styles (`NO_COLOR` respected);
//! * [`keys`]: crossterm's key events to core's [`Key`];
//! * [`release`]: the release key's selection, dry run and acting, with `tcpscope release`'s
//!   code on a thread of its own.

pub mod draw;
pub mod keys;
pub mod release;
pub mod terminal;

#[cfg(test)]
mod tests;

use crate::collect::collector::{Collector, SocketDetail};
use crate::collect::live::Live;
use crate::collect::resolve::SystemResolver;
use crate::commands::release::Scope;
use anyhow::{anyhow, bail, Context, Result};
use ratatui::crossterm::event::{self, Event, KeyEventKind};
use release::Releaser;
use std::io::{IsTerminal, Write};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::Duration;
use tcpscope_core::render::top::{Effect, Options, TopApp};

/// Set in the environment, top panics once it has drawn a frame: the end-to-end tests check
/// that a panic leaves the terminal as it found it.
const TEST_PANIC: &str = "TCPSCOPE_TEST_PANIC_IN_TOP";

/// How long the first poll may take before `--once` gives up.
const FIRST_POLL: Duration = Duration::from_secs(600);

/// `--once`: the first poll's screen as text on standard output.
pub fn once(collector: Collector, opts: Options, size: Option<(u16, u16)>) -> Result<()> {
    let (w, h) = size.unwrap_or_else(|| {
        if std::io::stdout().is_terminal() {
            ratatui::crossterm::terminal::size().unwrap_or((120, 40))
        } else {
            (120, 40)
        }
    });
    let live = Live::start(collector, None);
    let u = live.wait_after(0, FIRST_POLL);
    if u.frame.is_none() {
        bail!(
            "the first poll failed: {}",
            u.error.as_deref().unwrap_or("it did not finish in time")
        );
    }
    let mut app = TopApp::new(opts);
    app.on_update(u.frame, u.error, u.errors_total);
    let text = app.screen(usize::from(w), usize::from(h)).text();
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// The live screen, until `q`, Ctrl-C or a signal; the release key acts within `scope`; a trace
/// runs beside the polls when `trace` is `Some(Ok)` (with `Some(Err)` it says why not; `None`
/// for a replayed trace recording, which counts its own changes).
pub fn interactive(
    collector: Collector,
    opts: Options,
    scope: Scope,
    trace: Option<Result<(), String>>,
) -> Result<()> {
    if !std::io::stdout().is_terminal() {
        bail!(
            "top draws on a terminal and standard output is not one; use `tcpscope top --once` \
             for one screen as text"
        );
    }
    let stop = terminal::stop_on_signals().context("installing signal handlers")?;
    let live = Live::start_with(
        collector,
        Some(Duration::from_millis(opts.interval_ms)),
        trace,
    );
    let colours = draw::colours_wanted();
    let mut app = TopApp::new(opts);
    let mut term = terminal::Screen::enter().context("preparing the terminal")?;
    let mut work = Work {
        live: &live,
        listing: None,
        releaser: Releaser::new(scope),
    };
    let result = run_loop(&mut term, &mut work, &mut app, &stop, colours);
    // Restore the terminal before waiting for a poll in progress to end.
    drop(term);
    drop(live);
    result
}

/// What the screen's thread waits for besides keys: frames and listings from the collector,
/// answers from the release thread.
struct Work<'a> {
    live: &'a Live,
    /// The drill-down listing on its way.
    listing: Option<Receiver<Result<Vec<SocketDetail>>>>,
    releaser: Releaser,
}

fn run_loop(
    term: &mut terminal::Screen,
    work: &mut Work,
    app: &mut TopApp,
    stop: &std::sync::atomic::AtomicBool,
    colours: bool,
) -> Result<()> {
    let resolver = SystemResolver;
    let input = terminal::Input::open().context("opening the terminal for keys")?;
    let mut seen = 0u64;
    let mut dirty = true;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        let u = work.live.latest();
        if u.polls != seen {
            seen = u.polls;
            let effects = app.on_update(u.frame, u.error, u.errors_total);
            if work.apply(effects) {
                return Ok(());
            }
            dirty = true;
        }
        if let Some(rx) = &work.listing {
            match rx.try_recv() {
                Ok(r) => {
                    app.on_sockets(r.map_err(|e| format!("{e:#}")));
                    work.listing = None;
                    dirty = true;
                }
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => {
                    app.on_sockets(Err("the collector stopped".to_string()));
                    work.listing = None;
                    dirty = true;
                }
            }
        }
        if let Some((id, answer)) = work.releaser.poll() {
            app.on_release(id, answer);
            dirty = true;
        }
        if dirty {
            term.draw(app, colours)?;
            dirty = false;
            if app.frame().is_some() && std::env::var_os(TEST_PANIC).is_some() {
                panic!("{TEST_PANIC} is set: panicking on purpose (a test checks that the terminal is restored)");
            }
        }
        // Wait for input; a new frame (and a signal) is looked for at least ten times a second.
        match input
            .wait(Duration::from_millis(100))
            .map_err(|e| anyhow!("reading the terminal: {e}"))?
        {
            terminal::Waited::Gone => return Ok(()),
            terminal::Waited::Ready | terminal::Waited::Timeout => {}
        }
        // Keys waiting, or a resize (crossterm learns of those from SIGWINCH); a bounded number
        // per round, so the flags and frames are looked at between bursts.
        for _ in 0..256 {
            if !event::poll(Duration::ZERO).map_err(|e| anyhow!("reading the terminal: {e}"))? {
                break;
            }
            match event::read().map_err(|e| anyhow!("reading the terminal: {e}"))? {
                Event::Key(k) if k.kind != KeyEventKind::Release => {
                    if let Some(key) = keys::key(k) {
                        if work.apply(app.on_key(key, &resolver)) {
                            return Ok(());
                        }
                        dirty = true;
                    }
                }
                Event::Resize(..) => dirty = true,
                _ => {}
            }
        }
    }
}

impl Work<'_> {
    /// Carry out effects; true when one is `Quit`.
    fn apply(&mut self, effects: Vec<Effect>) -> bool {
        for e in effects {
            match e {
                Effect::Quit => return true,
                Effect::SetInterval(ms) => self.live.set_interval(Some(Duration::from_millis(ms))),
                Effect::Pause(p) => self.live.pause(p),
                Effect::SetFilter(f) => self.live.set_filter(f),
                Effect::PollNow => self.live.poll_now(),
                // A newer listing replaces one still on its way (its answer is dropped).
                Effect::List {
                    filter,
                    group,
                    limit,
                } => self.listing = Some(self.live.request_list(filter, Some(group), limit)),
                Effect::ReleaseDryRun { id, target } => self.releaser.dry_run(id, target),
                Effect::Release { id, report } => self.releaser.release(id, report),
            }
        }
        false
    }
}
