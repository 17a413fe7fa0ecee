//! The collector on its own thread, for live front ends (`top`, `serve`, and anything else that
//! shows sockets as they change). The UI or HTTP threads never touch the kernel: they read the
//! latest [`Frame`], ask for a fresher one, change the filter or the interval, or ask for the
//! few sockets a drill-down shows — all as messages to the one thread that owns the
//! [`Collector`]. A failed poll keeps the last good frame and says why, so a screen or a scrape
//! shows stale data marked stale rather than nothing.
//!
//! Two rhythms: `Some(interval)` polls on its own (top); `None` polls only when asked
//! ([`Live::fresh`]: serve's scrapes share one poll per cache interval).
//!
//! With [`Live::start_with`] and a trace (top as root) the thread also reads the tracepoint
//! between polls ([`RateWatch`]): each frame then carries every state change since the previous
//! one, and the tracker learns exactly when sockets entered their states. The rings are read
//! every [`TICK`], so a command waits at most that long for the thread. A replayed trace
//! recording needs none of this: its collector's frames count the recording's own changes, and
//! the interval is also how far each poll moves the replay's clock.

use super::collector::{Collector, SocketDetail};
use super::trace::rates::RateWatch;
use anyhow::{anyhow, Result};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tcpscope_core::analyze::frame::Frame;
use tcpscope_core::analyze::groups::{GroupBy, GroupKey};
use tcpscope_core::Filter;

/// What a front end sees: the last good frame and how the last poll went.
#[derive(Debug, Clone, Default)]
pub struct Update {
    /// The last frame a poll produced (`None` before the first succeeded).
    pub frame: Option<Arc<Frame>>,
    /// Why the last poll failed, when it did (the frame is then stale).
    pub error: Option<String>,
    /// Polls that failed since the start.
    pub errors_total: u64,
    /// Polls attempted since the start (the frame's `seq` counts successes).
    pub polls: u64,
    /// When the last poll (good or bad) ended.
    pub at: Option<Instant>,
}

impl Update {
    /// True when the frame shown is not from the last poll.
    pub fn is_stale(&self) -> bool {
        self.error.is_some()
    }
}

/// The nice value of the collector's thread (0 is the default, 19 the lowest priority).
pub const POLL_NICE: i32 = 10;

/// How often a trace's rings are read between polls.
pub const TICK: Duration = Duration::from_millis(100);

enum Cmd {
    /// Poll now — unless, with `Some(n)`, a poll has completed since the asker saw `n` of them
    /// (scrapes that queued while a poll ran are answered by it, not by another).
    PollNow(Option<u64>),
    SetInterval(Option<Duration>),
    Pause(bool),
    SetFilter(Filter),
    List {
        filter: Filter,
        group: Option<(GroupBy, GroupKey)>,
        limit: usize,
        reply: mpsc::Sender<Result<Vec<SocketDetail>>>,
    },
}

struct Shared {
    update: Mutex<Update>,
    changed: Condvar,
}

/// A collector running on its own thread.
pub struct Live {
    shared: Arc<Shared>,
    cmds: Option<mpsc::Sender<Cmd>>,
    thread: Option<JoinHandle<()>>,
}

impl Live {
    /// Start polling `collector` every `interval` (or only when asked, with `None`). The first
    /// poll starts at once.
    pub fn start(collector: Collector, interval: Option<Duration>) -> Live {
        Live::start_with(collector, interval, None)
    }

    /// [`Live::start`] with a trace of every state change beside the polls (`Some(Ok)`, when
    /// the tracepoint opens; frames say why there is none otherwise), the reason there is none
    /// (`Some(Err)`), or neither (`None`: nothing to say, e.g. a replayed trace recording, whose
    /// frames count its own changes).
    pub fn start_with(
        collector: Collector,
        interval: Option<Duration>,
        trace: Option<Result<(), String>>,
    ) -> Live {
        let shared = Arc::new(Shared {
            update: Mutex::new(Update::default()),
            changed: Condvar::new(),
        });
        let (tx, rx) = mpsc::channel();
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("tcpscope-collector".into())
            .spawn(move || run(collector, interval, trace, rx, s))
            .ok();
        let _ = tx.send(Cmd::PollNow(None));
        Live {
            shared,
            cmds: Some(tx),
            thread,
        }
    }

    /// The latest update, without waiting.
    pub fn latest(&self) -> Update {
        lock(&self.shared).clone()
    }

    /// Wait up to `timeout` for an update after poll number `polls` (the number in an
    /// [`Update`] already seen); returns the latest either way.
    pub fn wait_after(&self, polls: u64, timeout: Duration) -> Update {
        let deadline = Instant::now() + timeout;
        let mut u = lock(&self.shared);
        while u.polls <= polls {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            u = match self.shared.changed.wait_timeout(u, left) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
        u.clone()
    }

    /// An update no older than `max_age`: the latest when it is fresh enough, else the result of
    /// a poll made now (shared by every caller that asks meanwhile). Gives up after `timeout`
    /// and returns what there is.
    pub fn fresh(&self, max_age: Duration, timeout: Duration) -> Update {
        let u = self.latest();
        if u.at.is_some_and(|t| t.elapsed() <= max_age) {
            return u;
        }
        self.send(Cmd::PollNow(Some(u.polls)));
        self.wait_after(u.polls, timeout)
    }

    /// Poll now, whatever the interval.
    pub fn poll_now(&self) {
        self.send(Cmd::PollNow(None));
    }

    /// Poll every `interval` from now on (`None`: only when asked).
    pub fn set_interval(&self, interval: Option<Duration>) {
        self.send(Cmd::SetInterval(interval));
    }

    /// Stop (or resume) polling on the interval.
    pub fn pause(&self, paused: bool) {
        self.send(Cmd::Pause(paused));
    }

    /// Use `filter` from the next poll on (and poll now).
    pub fn set_filter(&self, filter: Filter) {
        self.send(Cmd::SetFilter(filter));
        self.send(Cmd::PollNow(None));
    }

    /// The sockets `filter` selects now, at most `limit`, read on the collector's thread.
    pub fn list(
        &self,
        filter: Filter,
        limit: usize,
        timeout: Duration,
    ) -> Result<Vec<SocketDetail>> {
        self.request_list(filter, None, limit)
            .recv_timeout(timeout)
            .map_err(|_| anyhow!("the collector did not answer within {timeout:?}"))?
    }

    /// Ask for the sockets `filter` selects (of one group of a frame's grouping, when given),
    /// at most `limit`, without waiting: the answer arrives on the returned channel once the
    /// collector's thread is free (after a poll in progress). A screen keeps answering keys
    /// meanwhile.
    pub fn request_list(
        &self,
        filter: Filter,
        group: Option<(GroupBy, GroupKey)>,
        limit: usize,
    ) -> mpsc::Receiver<Result<Vec<SocketDetail>>> {
        let (reply, rx) = mpsc::channel();
        self.send(Cmd::List {
            filter,
            group,
            limit,
            reply,
        });
        rx
    }

    fn send(&self, cmd: Cmd) {
        if let Some(tx) = &self.cmds {
            let _ = tx.send(cmd);
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        // Closing the command channel ends the thread after its current poll.
        self.cmds = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Update> {
    shared.update.lock().unwrap_or_else(|e| e.into_inner())
}

/// The collector's thread: poll on the interval or when asked, answer drill-downs.
fn run(
    mut collector: Collector,
    mut interval: Option<Duration>,
    trace: Option<Result<(), String>>,
    cmds: mpsc::Receiver<Cmd>,
    shared: Arc<Shared>,
) {
    // Polls yield the CPU to the front end's threads (a key, a scrape), which must answer
    // at once even while a poll runs. On Linux a nice value is per thread (who = 0 is this
    // one), and the /proc-walk threads a poll starts inherit it; raising one's own nice needs
    // no privilege. Best effort: a failure only leaves the usual priority.
    let _ = rustix::process::setpriority_process(None, POLL_NICE);
    let mut paused = false;
    let mut next = Instant::now();
    let mut seq = 0u64;
    // Polls completed (failed ones too): what `Update::polls` says.
    let mut polls = 0u64;
    let mut deferred: std::collections::VecDeque<Cmd> = Default::default();
    // The trace beside the polls, or why there is none (`None`: none was asked for).
    let (mut watch, mut untraced) = match trace {
        None => (None, None),
        Some(Err(why)) => (None, Some(why)),
        Some(Ok(())) => match RateWatch::start(collector.filter()) {
            Ok(w) => (Some(w), None),
            Err(why) => (None, Some(why)),
        },
    };
    loop {
        let mut wait = match (interval, paused) {
            (Some(_), false) => next.saturating_duration_since(Instant::now()),
            _ => Duration::from_secs(3600),
        };
        if watch.is_some() {
            wait = wait.min(TICK);
        }
        let cmd = match deferred.pop_front() {
            Some(c) => Ok(c),
            None => cmds.recv_timeout(wait),
        };
        if let Some(w) = &mut watch {
            w.step(&mut collector);
        }
        let poll = match cmd {
            Ok(Cmd::PollNow(seen)) => seen.is_none_or(|n| polls <= n),
            Ok(Cmd::SetInterval(i)) => {
                interval = i;
                if let Some(i) = i {
                    // A replayed trace moves its clock by the interval.
                    collector.set_replay_step(i.as_millis() as u64);
                }
                next = Instant::now() + i.unwrap_or_default();
                false
            }
            Ok(Cmd::Pause(p)) => {
                paused = p;
                false
            }
            Ok(Cmd::SetFilter(f)) => {
                if let Some(w) = &mut watch {
                    if let Err(why) = w.restart(&f) {
                        watch = None;
                        untraced = Some(why);
                    }
                } else if untraced
                    .as_deref()
                    .is_some_and(|w| w.starts_with("the filter"))
                {
                    // A filter a change could not be judged by stopped the trace: try again.
                    match RateWatch::start(&f) {
                        Ok(w) => (watch, untraced) = (Some(w), None),
                        Err(why) => untraced = Some(why),
                    }
                }
                collector.set_filter(f);
                // The poll that follows shows a replayed trace at the same time, refiltered.
                collector.hold_replay_clock();
                false
            }
            Ok(Cmd::List {
                filter,
                group,
                limit,
                reply,
            }) => {
                let _ = reply.send(collector.list_group(&filter, group.as_ref(), limit));
                false
            }
            Err(RecvTimeoutError::Timeout) => {
                interval.is_some() && !paused && Instant::now() >= next
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        if !poll {
            continue;
        }
        // Several scrapers asking at once cost one poll.
        while let Ok(c) = cmds.try_recv() {
            if !matches!(c, Cmd::PollNow(_)) {
                deferred.push_back(c);
            }
        }
        let result = collector
            .next_poll()
            .and_then(|()| collector.frame(seq + 1));
        polls += 1;
        let mut u = lock(&shared);
        u.polls = polls;
        u.at = Some(Instant::now());
        match result {
            Ok(mut frame) => {
                seq += 1;
                // A replayed trace's frames carry their own counts.
                if let Some(w) = watch.as_mut() {
                    frame.traced = Some(w.take());
                }
                if untraced.is_some() {
                    frame.untraced = untraced.clone();
                }
                u.frame = Some(Arc::new(frame));
                u.error = None;
            }
            Err(e) => {
                u.errors_total += 1;
                u.error = Some(format!("{e:#}"));
            }
        }
        drop(u);
        shared.changed.notify_all();
        next = Instant::now() + interval.unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::plan::{DefaultScope, InputSpec, Needs, Plan};
    use std::net::TcpListener;
    use tcpscope_core::TcpState;

    fn live(filter: &str, interval: Option<Duration>) -> Live {
        let input = InputSpec {
            kernel_filter: true,
            ..InputSpec::default()
        };
        let needs = Needs {
            scope: DefaultScope::Own,
            ..Needs::live_view()
        };
        let filter = Filter::parse(filter).expect("a filter");
        Live::start(
            Collector::new(Plan::new(&input, filter, needs).unwrap()),
            interval,
        )
    }

    #[test]
    fn frames_count_our_listener_and_a_drill_down_names_us() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let live = live(&format!("sport = :{port}"), None);
        let u = live.fresh(Duration::ZERO, Duration::from_secs(60));
        assert!(u.error.is_none(), "{:?}", u.error);
        let frame = u.frame.expect("a frame");
        assert_eq!(frame.counts.state_total(TcpState::Listen), 1);
        assert_eq!(frame.listeners.len(), 1);
        let me = std::process::id();
        assert_eq!(frame.listeners[0].owners[0].pid, me);
        // A fresh-enough frame is shared; an older one makes a new poll.
        let again = live.fresh(Duration::from_secs(3600), Duration::from_secs(60));
        assert_eq!(again.polls, u.polls);
        let newer = live.fresh(Duration::ZERO, Duration::from_secs(60));
        assert!(newer.polls > u.polls);
        assert!(newer.frame.unwrap().seq > frame.seq);
        let socks = live
            .list(
                Filter::parse(&format!("sport = :{port}")).unwrap(),
                10,
                Duration::from_secs(60),
            )
            .unwrap();
        assert_eq!(socks.len(), 1);
        assert_eq!(socks[0].socket.owners[0].pid, me);
        assert!(socks[0].track.is_some(), "seen by the polls before");
    }

    #[test]
    fn an_interval_polls_by_itself_and_a_filter_change_applies() {
        let a = TcpListener::bind("127.0.0.1:0").unwrap();
        let b = TcpListener::bind("127.0.0.1:0").unwrap();
        let (pa, pb) = (
            a.local_addr().unwrap().port(),
            b.local_addr().unwrap().port(),
        );
        let live = live(&format!("sport = :{pa}"), Some(Duration::from_millis(50)));
        let first = live.wait_after(0, Duration::from_secs(60));
        let later = live.wait_after(first.polls + 1, Duration::from_secs(60));
        assert!(later.polls >= first.polls + 2, "polls on its own");
        live.set_filter(Filter::parse(&format!("sport = :{pa} or sport = :{pb}")).unwrap());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let u = live.wait_after(live.latest().polls, Duration::from_secs(60));
            if u.frame
                .is_some_and(|f| f.counts.state_total(TcpState::Listen) == 2)
            {
                break;
            }
            assert!(Instant::now() < deadline, "the new filter never applied");
        }
        live.pause(true);
    }
}
