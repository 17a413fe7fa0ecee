//! The release key (`K`, as `ss -K`): select the sockets under the cursor (a group's, or one
//! socket), show `tcpscope release`'s dry run of them, and only on `y` ask the front end to end
//! them; then show what became of each. The selecting and the acting happen in the front end
//! ([`Effect::ReleaseDryRun`], [`Effect::Release`]), with release's own code; results come back
//! through [`TopApp::on_release`].

use super::{Effect, Key, Level, TopApp};
use crate::analyze::release::Report;
use crate::render::top::release::{
    group_target, socket_target, to_end, ReleasePhase, ReleaseTarget,
};

/// The release pane while it is open.
#[derive(Debug, Clone)]
pub(super) struct ReleaseView {
    /// Which request the results must answer (an older one's are dropped).
    pub(super) id: u64,
    pub(super) target: ReleaseTarget,
    pub(super) phase: ReleasePhase,
    pub(super) scroll: usize,
}

impl TopApp {
    /// The dry run (or, after `y`, the outcome) of release request `id` arrived.
    pub fn on_release(&mut self, id: u64, result: Result<Report, String>) {
        let Some(v) = self.release.as_mut().filter(|v| v.id == id) else {
            return;
        };
        v.phase = match (&v.phase, result) {
            (_, Err(e)) => ReleasePhase::Failed(format!("release failed: {e}")),
            (ReleasePhase::Acting(_), Ok(r)) => ReleasePhase::Done(r),
            (_, Ok(r)) => ReleasePhase::Confirm(r),
        };
        v.scroll = 0;
    }

    /// True while the release pane is open.
    pub fn releasing(&self) -> bool {
        self.release.is_some()
    }

    /// `K`: the sockets under the cursor, for a dry run.
    pub(super) fn start_release(&mut self) -> Vec<Effect> {
        let target = match self.level {
            Level::Groups => {
                let rows = self.rows();
                let i = self.resolve_selection(&rows);
                // `other` sums many groups: no key names them.
                rows.get(i)
                    .filter(|r| !(r.key.label == "other" && r.key.pid.is_none()))
                    .map(|r| group_target(&self.filter, self.group_by, &r.key))
            }
            Level::Sockets => self
                .drill
                .as_ref()
                .and_then(|d| d.sockets.get(d.selected))
                .map(|s| socket_target(&s.socket)),
            Level::Detail => self
                .drill
                .as_ref()
                .and_then(|d| d.detail.as_ref())
                .map(|r| socket_target(&r.last.socket)),
        };
        let Some(target) = target else {
            return Vec::new();
        };
        self.release_seq += 1;
        let id = self.release_seq;
        let (phase, effects) = match &self.release_unavailable {
            Some(why) => (ReleasePhase::Failed(why.clone()), Vec::new()),
            None => (
                ReleasePhase::Selecting,
                vec![Effect::ReleaseDryRun {
                    id,
                    target: target.clone(),
                }],
            ),
        };
        self.release = Some(ReleaseView {
            id,
            target,
            phase,
            scroll: 0,
        });
        effects
    }

    /// A key while the release pane is open.
    pub(super) fn release_key(&mut self, key: Key) -> Vec<Effect> {
        let Some(v) = &mut self.release else {
            return Vec::new();
        };
        match (key, &v.phase) {
            (Key::Char('q') | Key::Ctrl('c'), _) => vec![Effect::Quit],
            (Key::Char('y') | Key::Char('Y'), ReleasePhase::Confirm(r)) if to_end(r) > 0 => {
                let report = r.clone();
                v.phase = ReleasePhase::Acting(report.clone());
                v.scroll = 0;
                vec![Effect::Release { id: v.id, report }]
            }
            // Sockets being released are seen through to the end.
            (_, ReleasePhase::Acting(_)) => {
                v.scroll = super::scroll(v.scroll, key, self.body_rows);
                Vec::new()
            }
            (Key::Esc | Key::Char('n') | Key::Char('N') | Key::Backspace | Key::Left, phase) => {
                let done = matches!(phase, ReleasePhase::Done(_));
                self.release = None;
                // What remains shows at once, not at the next interval.
                if done {
                    vec![Effect::PollNow]
                } else {
                    Vec::new()
                }
            }
            _ => {
                v.scroll = super::scroll(v.scroll, key, self.body_rows);
                Vec::new()
            }
        }
    }
}
