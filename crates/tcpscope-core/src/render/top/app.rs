//! The state of `top` and what each key does to it. Pure: frames and drill-down listings come in
//! as values ([`TopApp::on_update`], [`TopApp::on_sockets`]), keys as [`Key`]s, and what must
//! happen on the collector goes out as [`Effect`]s; [`TopApp::screen`] lays out one screen.

use super::history::History;
use super::table::{GroupRow, SortKey};
use super::text::Line;
use crate::analyze::filter::{Filter, Resolver};
use crate::analyze::frame::{Frame, SocketDetail};
use crate::analyze::groups::{drill_filter, GroupBy, GroupKey};
use crate::analyze::release::Report;
use crate::render::top::release::ReleaseTarget;
use std::sync::Arc;

/// The refresh intervals `+` and `-` step through, milliseconds.
pub const INTERVALS_MS: [u64; 9] = [250, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000, 300_000];

/// Sockets a drill-down lists at most (its title says when a group has more).
pub const DRILL_LIMIT: usize = 1000;

/// A key, as the front end read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    /// A letter with Ctrl held.
    Ctrl(char),
    Enter,
    Esc,
    Backspace,
    Delete,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    Tab,
    BackTab,
}

/// What the front end must do on the collector (or to itself) after a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Quit,
    /// Poll every this many milliseconds.
    SetInterval(u64),
    Pause(bool),
    /// Use this filter from the next poll on.
    SetFilter(Filter),
    /// List the sockets of one group (at most `limit`) and hand them to
    /// [`TopApp::on_sockets`].
    List {
        filter: Filter,
        group: (GroupBy, GroupKey),
        limit: usize,
    },
    /// Poll now, whatever the interval.
    PollNow,
    /// Select `target`'s sockets as `tcpscope release` does and hand its dry run to
    /// [`TopApp::on_release`] with `id`.
    ReleaseDryRun {
        id: u64,
        target: ReleaseTarget,
    },
    /// End the sockets of this dry run as `tcpscope release --yes` does (each looked up again
    /// first) and hand the outcome to [`TopApp::on_release`] with `id`.
    Release {
        id: u64,
        report: Report,
    },
}

/// How top starts.
#[derive(Debug, Clone)]
pub struct Options {
    pub interval_ms: u64,
    pub group_by: GroupBy,
    pub sort: SortKey,
    /// The filter given on the command line, and its text.
    pub filter: Filter,
    /// Where the sockets come from when not the live kernel ("recording snap.json").
    pub source: Option<String>,
    /// Why the release key cannot act here (a recording), if it cannot.
    pub release_unavailable: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            interval_ms: 1000,
            group_by: GroupBy::Process,
            sort: SortKey::Attention,
            filter: Filter::all(),
            source: None,
            release_unavailable: None,
        }
    }
}

/// The three levels of the main view: groups, a group's sockets, one socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Groups,
    Sockets,
    Detail,
}

/// A pane shown over the main view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Doctor,
    Diagram,
    Help,
}

/// One screen: exactly `height` lines, and where the cursor goes (the filter prompt's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Screen {
    pub lines: Vec<Line>,
    /// (column, row) of the text cursor, when one is shown.
    pub cursor: Option<(usize, usize)>,
}

impl Screen {
    /// The screen as plain text, trailing spaces trimmed (`--once`, tests).
    pub fn text(&self) -> String {
        let mut out = String::new();
        for l in &self.lines {
            out.push_str(l.text().trim_end());
            out.push('\n');
        }
        out
    }
}

/// The drill-down into one group.
#[derive(Debug, Clone)]
struct Drill {
    by: GroupBy,
    key: GroupKey,
    /// Sockets in the group at the frame the drill-down was opened from.
    expected: u64,
    sockets: Vec<SocketDetail>,
    loading: bool,
    error: Option<String>,
    /// Listings received (0: still waiting for the first).
    received: u64,
    selected: usize,
    offset: usize,
    /// The socket of the detail pane, by cookie (or index for sources without cookies).
    detail: Option<DetailRef>,
}

#[derive(Debug, Clone)]
struct DetailRef {
    cookie: u64,
    /// The socket as last listed; kept when it is gone from a later listing.
    last: SocketDetail,
    gone: bool,
}

/// Everything `top` shows and remembers.
#[derive(Debug)]
pub struct TopApp {
    source: Option<String>,
    frame: Option<Arc<Frame>>,
    error: Option<String>,
    errors_total: u64,
    history: History,
    level: Level,
    pane: Option<Pane>,
    pane_scroll: usize,
    detail_scroll: usize,
    group_by: GroupBy,
    sort: SortKey,
    descending: bool,
    /// The selected group, kept by key across refreshes.
    selected: Option<GroupKey>,
    group_index: usize,
    group_offset: usize,
    drill: Option<Drill>,
    filter: Filter,
    prompt: Option<Prompt>,
    interval_ms: u64,
    paused: bool,
    /// Rows of the body at the last layout (for paging).
    body_rows: usize,
    /// Columns of the group table at the last layout (for the sort keys).
    sort_cycle: Vec<SortKey>,
    /// The release pane, when open.
    release: Option<ReleaseView>,
    /// Release requests made (their ids).
    release_seq: u64,
    release_unavailable: Option<String>,
}

impl TopApp {
    pub fn new(opts: Options) -> TopApp {
        TopApp {
            source: opts.source,
            frame: None,
            error: None,
            errors_total: 0,
            history: History::new(),
            level: Level::Groups,
            pane: None,
            pane_scroll: 0,
            detail_scroll: 0,
            group_by: opts.group_by,
            sort: opts.sort,
            descending: true,
            selected: None,
            group_index: 0,
            group_offset: 0,
            drill: None,
            filter: opts.filter,
            prompt: None,
            interval_ms: opts.interval_ms,
            paused: false,
            body_rows: 10,
            sort_cycle: Vec::new(),
            release: None,
            release_seq: 0,
            release_unavailable: opts.release_unavailable,
        }
    }

    pub fn level(&self) -> Level {
        self.level
    }

    pub fn pane(&self) -> Option<Pane> {
        self.pane
    }

    pub fn frame(&self) -> Option<&Frame> {
        self.frame.as_deref()
    }

    pub fn history(&self) -> &History {
        &self.history
    }

    pub fn group_by(&self) -> GroupBy {
        self.group_by
    }

    pub fn sort(&self) -> (SortKey, bool) {
        (self.sort, self.descending)
    }

    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    pub fn interval_ms(&self) -> u64 {
        self.interval_ms
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// True while the filter prompt is open.
    pub fn prompting(&self) -> bool {
        self.prompt.is_some()
    }

    /// A poll ended: its frame (the last good one when it failed) and why it failed, if it did.
    /// Returns the listing to refresh when a drill-down is open.
    pub fn on_update(
        &mut self,
        frame: Option<Arc<Frame>>,
        error: Option<String>,
        errors_total: u64,
    ) -> Vec<Effect> {
        self.error = error;
        self.errors_total = errors_total;
        let Some(frame) = frame else {
            return Vec::new();
        };
        let new = self.frame.as_ref().is_none_or(|f| f.seq != frame.seq);
        self.history.push(&frame);
        self.frame = Some(frame);
        match &mut self.drill {
            Some(d) if new && !d.loading && self.level != Level::Groups => {
                d.loading = true;
                vec![Effect::List {
                    filter: drill_filter(&self.filter, d.by, &d.key),
                    group: (d.by, d.key.clone()),
                    limit: DRILL_LIMIT,
                }]
            }
            _ => Vec::new(),
        }
    }

    /// The sockets of the open drill-down arrived (or could not be listed).
    pub fn on_sockets(&mut self, result: Result<Vec<SocketDetail>, String>) {
        let Some(d) = &mut self.drill else {
            return;
        };
        d.loading = false;
        d.received += 1;
        match result {
            Ok(sockets) => {
                d.error = None;
                let selected_cookie = d.sockets.get(d.selected).map(|s| s.socket.cookie);
                d.sockets = sockets;
                if let Some(c) = selected_cookie.filter(|c| *c != 0) {
                    if let Some(i) = d.sockets.iter().position(|s| s.socket.cookie == c) {
                        d.selected = i;
                    }
                }
                d.selected = d.selected.min(d.sockets.len().saturating_sub(1));
                if let Some(r) = &mut d.detail {
                    match d
                        .sockets
                        .iter()
                        .find(|s| r.cookie != 0 && s.socket.cookie == r.cookie)
                    {
                        Some(s) => {
                            r.last = s.clone();
                            r.gone = false;
                        }
                        None => r.gone = r.cookie != 0,
                    }
                }
            }
            Err(e) => d.error = Some(e),
        }
    }

    /// Handle one key; `resolver` names hosts, services and users in a typed filter.
    pub fn on_key(&mut self, key: Key, resolver: &dyn Resolver) -> Vec<Effect> {
        if let Some(p) = &mut self.prompt {
            return prompt_key(p, key, resolver).map_or_else(Vec::new, |outcome| {
                self.prompt = None;
                match outcome {
                    PromptOutcome::Cancel => Vec::new(),
                    PromptOutcome::Filter(f) => self.set_filter(f),
                }
            });
        }
        if self.release.is_some() {
            return self.release_key(key);
        }
        match key {
            Key::Char('q') | Key::Ctrl('c') => return vec![Effect::Quit],
            Key::Char('?') | Key::Char('d') | Key::Char('m') => {
                let pane = match key {
                    Key::Char('d') => Pane::Doctor,
                    Key::Char('m') => Pane::Diagram,
                    _ => Pane::Help,
                };
                self.pane = if self.pane == Some(pane) {
                    None
                } else {
                    self.pane_scroll = 0;
                    Some(pane)
                };
                return Vec::new();
            }
            Key::Char(' ') => {
                self.paused = !self.paused;
                return vec![Effect::Pause(self.paused)];
            }
            Key::Char('+') | Key::Char('=') | Key::Char('-') => {
                let next = if key == Key::Char('-') {
                    INTERVALS_MS
                        .iter()
                        .rev()
                        .find(|i| **i < self.interval_ms)
                        .copied()
                } else {
                    INTERVALS_MS
                        .iter()
                        .find(|i| **i > self.interval_ms)
                        .copied()
                };
                return match next {
                    Some(i) => {
                        self.interval_ms = i;
                        vec![Effect::SetInterval(i)]
                    }
                    None => Vec::new(),
                };
            }
            Key::Char('/') => {
                let text = if self.filter.is_all() {
                    String::new()
                } else {
                    self.filter.to_string()
                };
                self.prompt = Some(Prompt {
                    cursor: text.chars().count(),
                    text,
                    error: None,
                });
                return Vec::new();
            }
            _ => {}
        }
        if key == Key::Char('K') && self.pane.is_none() {
            return self.start_release();
        }
        if self.pane.is_some() {
            match key {
                Key::Esc | Key::Backspace | Key::Left => self.pane = None,
                _ => self.pane_scroll = scroll(self.pane_scroll, key, self.body_rows),
            }
            return Vec::new();
        }
        match self.level {
            Level::Groups => self.groups_key(key),
            Level::Sockets => self.sockets_key(key),
            Level::Detail => {
                match key {
                    Key::Esc | Key::Backspace | Key::Left => {
                        self.level = Level::Sockets;
                        if let Some(d) = &mut self.drill {
                            d.detail = None;
                        }
                    }
                    _ => self.detail_scroll = scroll(self.detail_scroll, key, self.body_rows),
                }
                Vec::new()
            }
        }
    }

    fn set_filter(&mut self, f: Filter) -> Vec<Effect> {
        if f == self.filter {
            return Vec::new();
        }
        self.filter = f.clone();
        // The counts mean something else now: start the sparklines and changes again.
        self.history.clear();
        let mut effects = vec![Effect::SetFilter(f)];
        if let Some(d) = &mut self.drill {
            if self.level != Level::Groups {
                d.loading = true;
                effects.push(Effect::List {
                    filter: drill_filter(&self.filter, d.by, &d.key),
                    group: (d.by, d.key.clone()),
                    limit: DRILL_LIMIT,
                });
            }
        }
        effects
    }

    fn rows(&self) -> Vec<GroupRow> {
        match &self.frame {
            Some(f) => super::table::sorted_rows(
                f,
                &self.history,
                self.group_by,
                self.sort,
                self.descending,
            ),
            None => Vec::new(),
        }
    }

    /// The selected group's index in `rows`, following its key across refreshes.
    fn resolve_selection(&mut self, rows: &[GroupRow]) -> usize {
        if let Some(k) = &self.selected {
            if let Some(i) = rows.iter().position(|r| &r.key == k) {
                self.group_index = i;
            }
        }
        self.group_index = self.group_index.min(rows.len().saturating_sub(1));
        self.selected = rows.get(self.group_index).map(|r| r.key.clone());
        self.group_index
    }

    fn groups_key(&mut self, key: Key) -> Vec<Effect> {
        let rows = self.rows();
        let i = self.resolve_selection(&rows);
        match key {
            Key::Char('g') | Key::Tab => self.regroup(self.group_by.next()),
            Key::Char('G') | Key::BackTab => {
                let prev = GroupBy::ALL
                    .iter()
                    .rev()
                    .find(|g| g.next() == self.group_by)
                    .copied()
                    .unwrap_or(GroupBy::Process);
                self.regroup(prev)
            }
            Key::Char('s') | Key::Char('>') => self.step_sort(1),
            Key::Char('S') | Key::Char('<') => self.step_sort(-1),
            Key::Char('r') => self.descending = !self.descending,
            Key::Enter | Key::Right => {
                // `(other groups)` sums the groups past the frame's 500: no key selects them.
                let other = |r: &&GroupRow| r.key.label == "other" && r.key.pid.is_none();
                if let Some(row) = rows.get(i).filter(|r| !other(r)) {
                    self.drill = Some(Drill {
                        by: self.group_by,
                        key: row.key.clone(),
                        expected: row.stats.sockets,
                        sockets: Vec::new(),
                        loading: true,
                        error: None,
                        received: 0,
                        selected: 0,
                        offset: 0,
                        detail: None,
                    });
                    self.level = Level::Sockets;
                    return vec![Effect::List {
                        filter: drill_filter(&self.filter, self.group_by, &row.key),
                        group: (self.group_by, row.key.clone()),
                        limit: DRILL_LIMIT,
                    }];
                }
            }
            _ => {
                let n = move_selection(i, key, rows.len(), self.body_rows);
                self.group_index = n;
                self.selected = rows.get(n).map(|r| r.key.clone());
            }
        }
        Vec::new()
    }

    fn regroup(&mut self, by: GroupBy) {
        self.group_by = by;
        self.selected = None;
        self.group_index = 0;
        self.group_offset = 0;
    }

    fn step_sort(&mut self, step: isize) {
        let cycle = if self.sort_cycle.is_empty() {
            vec![SortKey::Attention, SortKey::Total]
        } else {
            self.sort_cycle.clone()
        };
        let i = cycle.iter().position(|k| *k == self.sort).unwrap_or(0) as isize;
        let n = cycle.len() as isize;
        self.sort = cycle[((i + step).rem_euclid(n)) as usize];
        // Names read best A to Z; numbers largest first.
        self.descending = self.sort != SortKey::Group;
    }

    fn sockets_key(&mut self, key: Key) -> Vec<Effect> {
        let Some(d) = &mut self.drill else {
            self.level = Level::Groups;
            return Vec::new();
        };
        match key {
            Key::Esc | Key::Backspace | Key::Left => {
                self.level = Level::Groups;
                self.drill = None;
            }
            Key::Char('g') | Key::Tab => {
                self.level = Level::Groups;
                self.drill = None;
                self.regroup(self.group_by.next());
            }
            Key::Enter | Key::Right => {
                if let Some(s) = d.sockets.get(d.selected) {
                    d.detail = Some(DetailRef {
                        cookie: s.socket.cookie,
                        last: s.clone(),
                        gone: false,
                    });
                    self.detail_scroll = 0;
                    self.level = Level::Detail;
                }
            }
            _ => d.selected = move_selection(d.selected, key, d.sockets.len(), self.body_rows),
        }
        Vec::new()
    }
}

/// A selection moved by a key within `len` rows (`page` rows per page).
fn move_selection(i: usize, key: Key, len: usize, page: usize) -> usize {
    let last = len.saturating_sub(1);
    match key {
        Key::Up | Key::Char('k') => i.saturating_sub(1),
        Key::Down | Key::Char('j') => (i + 1).min(last),
        Key::PageUp => i.saturating_sub(page.max(1)),
        Key::PageDown => (i + page.max(1)).min(last),
        Key::Home => 0,
        Key::End => last,
        _ => i,
    }
}

/// A scroll offset moved by a key (clamped when drawn).
fn scroll(offset: usize, key: Key, page: usize) -> usize {
    match key {
        Key::Up | Key::Char('k') => offset.saturating_sub(1),
        Key::Down | Key::Char('j') => offset + 1,
        Key::PageUp => offset.saturating_sub(page.max(1)),
        Key::PageDown => offset + page.max(1),
        Key::Home => 0,
        Key::End => usize::MAX / 2,
        _ => offset,
    }
}

mod layout;
mod prompt;
mod release;

pub use layout::interval_text;
use prompt::{prompt_key, Prompt, PromptOutcome};
use release::ReleaseView;

#[cfg(test)]
mod tests;
