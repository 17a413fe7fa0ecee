//! One plan per invocation: the input options, the filter and what a command needs (tcp_info,
//! owners, counters, which namespaces) turned once into a source, a query, an owner strategy and
//! a recorder — like ripgrep's flags -> `HiArgs`. Every command builds its plan here and then
//! runs a [`Collector`](super::collector::Collector) over it, so `ls`, `summary`, `doctor`,
//! `release`, `top`, `serve` and `trace` read sockets the same way, and `--record` works the
//! same in all of them.

use super::netns::NetnsScope;
use super::query::Query;
use super::source::{LiveSource, Source};
use anyhow::Result;
use std::path::PathBuf;
use std::sync::Arc;
use tcpscope_core::{Family, Filter, StateSet, TcpState};

/// Where sockets come from, as the user said (`--from`, `--record`, `--source`, `--netns`,
/// `--all-netns`, the hidden `--no-kernel-filter`).
#[derive(Debug, Clone, Default)]
pub struct InputSpec {
    pub from: Option<PathBuf>,
    /// `--from-format`: what the `--from` file is, when detection guesses wrong.
    pub from_format: Option<super::replay::FromFormat>,
    pub record: Option<PathBuf>,
    pub source: LiveSource,
    pub netns: Option<String>,
    pub all_netns: bool,
    pub kernel_filter: bool,
    /// A `--from` trace recording is replayed as time (`top`); other commands refuse one.
    pub replays_traces: bool,
}

/// Which sockets get their owning processes looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owners {
    /// None (a plain listing).
    None,
    /// Every socket handed out (`ls -p`, owner conditions in a filter, top, serve).
    All,
    /// Every socket handed out, with every process that holds it (release: a socket a forked
    /// server shares must list each holder), so the walk never stops early.
    AllHolders,
    /// Only the sockets a doctor finding may name, and the processes near their descriptor
    /// limit: what keeps doctor fast at a million sockets.
    Named,
}

/// Which namespaces to read when the user named none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultScope {
    /// tcpscope's own.
    Own,
    /// Every namespace when running as root (doctor), else tcpscope's own — said in a note.
    EveryAsRoot,
}

/// What a command needs besides the filter.
#[derive(Debug, Clone)]
pub struct Needs {
    pub families: Vec<Family>,
    /// States the command itself restricts to (`ls -l`), on top of the filter's.
    pub states: Option<StateSet>,
    pub tcp_info: bool,
    /// With `tcp_info`: only for sockets in these states (`None`: every state).
    pub info_states: Option<StateSet>,
    /// Socket memory (`ls -m`).
    pub memory: bool,
    pub owners: Owners,
    /// Kernel counters and sysctls in the header.
    pub counters: bool,
    pub scope: DefaultScope,
}

impl Needs {
    /// What a live view (`top`, `serve`) needs: tcp_info (each poll asks for it only in the
    /// states doctor's rules read: `Collector::frame`; a drill-down or /api/snapshot asks for
    /// all of it), every socket's owner, kernel counters; every namespace as root.
    pub fn live_view() -> Needs {
        Needs {
            families: vec![Family::Inet, Family::Inet6],
            states: None,
            tcp_info: true,
            info_states: None,
            memory: false,
            owners: Owners::All,
            counters: true,
            scope: DefaultScope::EveryAsRoot,
        }
    }
}

/// The decisions for one invocation.
pub struct Plan {
    pub source: Source,
    pub query: Query,
    pub filter: Arc<Filter>,
    pub owners: Owners,
    pub record: Option<PathBuf>,
}

impl Plan {
    /// Open the source the input names and decide how to read it for `needs`.
    pub fn new(input: &InputSpec, filter: Filter, needs: Needs) -> Result<Plan> {
        let explicit = input.netns.is_some() || input.all_netns || input.from.is_some();
        let root = rustix::process::geteuid().is_root();
        let scope = if explicit || needs.scope == DefaultScope::Own {
            NetnsScope::from_args(input.netns.as_deref(), input.all_netns)?
        } else if root && input.source != LiveSource::Proc {
            NetnsScope::All
        } else {
            NetnsScope::Current
        };
        let from = input.from.as_deref().map(|path| super::replay::Input {
            path,
            format: input.from_format,
        });
        let mut source = Source::open(
            from,
            input.source,
            needs.counters || input.record.is_some(),
            &scope,
            input.replays_traces,
        )?;
        if needs.scope == DefaultScope::EveryAsRoot {
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
        }
        let mut states = filter.states();
        if let Some(only) = needs.states {
            states = states.intersect(only);
        }
        // Owner conditions (pid, comm, user, container) can be judged only with owners.
        let owners = match needs.owners {
            _ if source.is_replay() => Owners::None,
            Owners::None | Owners::Named if filter.needs_owners() => Owners::All,
            o => o,
        };
        let query = Query {
            families: needs.families,
            states,
            want_info: needs.tcp_info || input.record.is_some() || filter.needs_info(),
            // A recording keeps everything; a filter on idle times needs it everywhere.
            info_states: needs
                .info_states
                .filter(|_| input.record.is_none() && !filter.needs_info()),
            want_memory: needs.memory,
            filter: (!filter.is_all()).then(|| Arc::new(filter.clone())),
            kernel_filter: input.kernel_filter,
        };
        Ok(Plan {
            source,
            query,
            filter: Arc::new(filter),
            owners,
            record: input.record.clone(),
        })
    }
}

/// Every state, bound-inactive aside: a plain `ls -p` or `doctor` does not ask for that one
/// (`Filter::states` leaves it out unless named), and must still take the full-walk path.
pub fn covers_every_state(states: StateSet) -> bool {
    states.with(TcpState::BoundInactive).is_all()
}

#[cfg(test)]
mod tests {
    use super::covers_every_state;
    use tcpscope_core::{Filter, StateSet, TcpState};

    /// Regression: once the default state set left out bound-inactive, `ls -p` and `doctor`
    /// no longer took the streaming path and held 100k sockets in memory (136 MiB, 2x slower).
    #[test]
    fn the_default_filter_wants_every_state() {
        let plain = Filter::parse("").expect("an empty filter parses").states();
        assert_eq!(plain, Filter::default().states());
        assert!(!plain.contains(TcpState::BoundInactive));
        assert!(covers_every_state(plain));
        assert!(covers_every_state(StateSet::ALL));
        assert!(!covers_every_state(StateSet::of(&[TcpState::CloseWait])));
        assert!(!covers_every_state(StateSet::ALL.without(TcpState::Listen)));
    }
}
