//! The scenarios `tcpscope simulate` knows: scripts of calls, deliveries, losses and timers.
//! The scripts say only what happens; every state in the output comes from the model.

use super::events::Event::*;
use super::simulate::Action::{self, Call, Deliver, Lose, SendData, Timer};
use super::simulate::Scenario;
use super::simulate::Side::{A, B};
use crate::model::state::TcpState as T;

const ESTABLISHED: (T, T) = (T::Established, T::Established);

/// Every scenario, in the order `simulate` lists them.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "handshake",
        title: "three-way handshake: A connects to B, which listens",
        start: (T::Close, T::Close),
        script: &[
            (Call(B, PassiveOpen), ""),
            (Call(A, ActiveOpen), ""),
            (
                Deliver,
                "[linux] B's listener stays in LISTEN; a request socket answers",
            ),
            (Deliver, "connect() returns on A"),
            (Deliver, "B's new socket waits in the accept queue"),
        ],
    },
    Scenario {
        name: "active-close",
        title: "A closes first, B closes after it read the end of the data",
        start: ESTABLISHED,
        script: &[
            (Call(A, Close), ""),
            (Deliver, "B's recv() returns 0: end of data"),
            (Deliver, ""),
            (Call(B, Close), ""),
            (Deliver, "A holds the 4-tuple for 60 s"),
            (Deliver, ""),
            (Timer(A, TimeWaitExpiry), "60 s later"),
        ],
    },
    Scenario {
        name: "simultaneous-close",
        title: "A and B close at the same time: the FINs cross",
        start: ESTABLISHED,
        script: &[
            (Call(A, Close), ""),
            (Call(B, Close), ""),
            (Deliver, ""),
            (Deliver, ""),
            (Deliver, ""),
            (Deliver, ""),
            (Timer(A, TimeWaitExpiry), "60 s later"),
            (Timer(B, TimeWaitExpiry), ""),
        ],
    },
    Scenario {
        name: "simultaneous-open",
        title: "A and B connect to each other at the same time: the SYNs cross",
        start: (T::Close, T::Close),
        script: &[
            (Call(A, ActiveOpen), ""),
            (Call(B, ActiveOpen), ""),
            (Deliver, ""),
            (Deliver, ""),
            (Deliver, ""),
            (Deliver, ""),
        ],
    },
    Scenario {
        name: "half-close",
        title: "A shuts down its sending side and keeps reading B's answer",
        start: ESTABLISHED,
        script: &[
            (
                Call(A, ShutdownWrite),
                "A will send no more but keeps the socket",
            ),
            (Deliver, ""),
            (Deliver, "no timeout: A still holds the socket"),
            (SendData(B), ""),
            (Deliver, "A still reads"),
            (Deliver, ""),
            (Call(B, Close), ""),
            (Deliver, ""),
            (Deliver, ""),
            (Timer(A, TimeWaitExpiry), "60 s later"),
        ],
    },
    Scenario {
        name: "reset",
        title: "A aborts the connection with a RST (SO_LINGER 0, or close() with unread data)",
        start: ESTABLISHED,
        script: &[
            (Call(A, Abort), "no FIN, no TIME-WAIT"),
            (Deliver, "B's next recv()/send() fails with ECONNRESET"),
        ],
    },
    Scenario {
        name: "lost-fin",
        title: "A's FIN is lost and retransmitted",
        start: ESTABLISHED,
        script: &[
            (Call(A, Close), ""),
            (Lose, "the FIN is lost"),
            (Timer(A, Retransmit), "the retransmission timer fires"),
            (Deliver, ""),
            (Deliver, ""),
            (Call(B, Close), ""),
            (Deliver, ""),
            (Deliver, ""),
            (Timer(A, TimeWaitExpiry), "60 s later"),
        ],
    },
    Scenario {
        name: "close-wait-leak",
        title: "A closes, B's program never calls close(): CLOSE-WAIT forever",
        start: ESTABLISHED,
        script: &[
            (Call(A, Close), ""),
            (Deliver, "B's kernel ACKs; now only B's program can act"),
            (Deliver, "A is an orphan: tcp_fin_timeout runs"),
            (
                Timer(A, FinTimeout),
                "60 s later A forgets; B stays in CLOSE-WAIT until its program calls close()",
            ),
        ],
    },
    Scenario {
        name: "listen-overflow",
        title: "B's accept queue is full: its listener drops A's SYNs until A gives up",
        start: (T::Close, T::Close),
        script: &[
            (Call(B, PassiveOpen), "B's program stops calling accept()"),
            (Call(A, ActiveOpen), ""),
            (
                Lose,
                "accept queue full: B drops the SYN (ListenOverflows +1)",
            ),
            (Timer(A, Retransmit), "1 s later A sends the SYN again"),
            (Lose, "dropped again"),
            (
                Timer(A, Retransmit),
                "2 s later, again (then 4, 8, 16, 32 s)",
            ),
            (Lose, "dropped again"),
            (
                Timer(A, RetransmitGiveUp),
                "after tcp_syn_retries=6 (about 127 s) connect() fails: ETIMEDOUT",
            ),
        ],
    },
];

/// Error for a scenario name that does not exist; lists the ones that do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scenario '{name}'; try one of: {}", scenario_names().join(", "))]
pub struct UnknownScenario {
    pub name: String,
}

/// The names of all scenarios, in the order `simulate` lists them.
pub fn scenario_names() -> Vec<&'static str> {
    SCENARIOS.iter().map(|s| s.name).collect()
}

/// The scenario called `name` (case-insensitive, `_` or `-`).
pub fn scenario(name: &str) -> Result<&'static Scenario, UnknownScenario> {
    let key = name.trim().to_ascii_lowercase().replace('_', "-");
    SCENARIOS
        .iter()
        .find(|s| s.name == key)
        .ok_or_else(|| UnknownScenario {
            name: name.to_string(),
        })
}

/// The script actions, for tests that check every call and timer has an edge.
pub fn actions() -> impl Iterator<Item = Action> {
    SCENARIOS
        .iter()
        .flat_map(|s| s.script.iter().map(|(a, _)| *a))
}
