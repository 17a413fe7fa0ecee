//! The syntax tree of a filter, and printing it back as filter text.
//!
//! Printing is exact: parsing the printed text gives the same tree (a property test holds this),
//! so a filter can be shown in messages, saved and replayed. Operators print as words
//! (`and`, `or`, `!`), and parentheses appear only where ss's left-to-right reading needs them.

use crate::model::socket::{Family, TimerKind};
use crate::model::state::StateSet;
use std::fmt;
use std::net::IpAddr;

/// Which end of the connection a condition looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The local end (`src`, `sport`).
    Src,
    /// The remote end (`dst`, `dport`).
    Dst,
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn holds<T: PartialOrd>(self, a: T, b: T) -> bool {
        match self {
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
        }
    }
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// An address prefix: the first `len` bits of `addr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix {
    pub addr: IpAddr,
    pub len: u8,
}

impl Prefix {
    pub fn full_len(&self) -> u8 {
        match self.addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        }
    }
}

/// `src`/`dst` operand: addresses (empty = any address) and an optional port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostCond {
    /// ss's `inet:` / `inet6:` prefix: only sockets of that family match.
    pub family: Option<Family>,
    /// The host name as written, when the address came from a name (`localhost`).
    pub name: Option<String>,
    pub addrs: Vec<Prefix>,
    pub port: Option<u16>,
}

/// A state or group name and the states it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateWord {
    pub name: String,
    pub set: StateSet,
}

/// A leading `state NAME` / `exclude NAME` clause (ss's state selection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateClause {
    pub exclude: bool,
    pub word: StateWord,
}

/// Numeric fields the extensions compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumField {
    Pid,
    Uid,
    RecvQ,
    SendQ,
    /// Milliseconds since the last activity (tcp_info).
    IdleMs,
}

impl NumField {
    pub fn keyword(self) -> &'static str {
        match self {
            NumField::Pid => "pid",
            NumField::Uid => "uid",
            NumField::RecvQ => "recvq",
            NumField::SendQ => "sendq",
            NumField::IdleMs => "idle",
        }
    }
}

/// One condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pred {
    /// `src HOST` / `dst HOST`.
    Host { side: Direction, cond: HostCond },
    /// `sport OP PORT` / `dport OP PORT`; `port: None` is `*` (any port; only `=` and `!=`).
    Port {
        side: Direction,
        op: CmpOp,
        port: Option<u16>,
    },
    /// `dev NAME|INDEX`: bound to that interface (SO_BINDTODEVICE).
    Dev { name: String, index: u32 },
    /// `fwmark MARK[/MASK]`.
    Fwmark { mark: u32, mask: u32 },
    /// `autobound`: the local port was chosen by the kernel, not by bind().
    Autobound,
    /// `state NAME` / `exclude NAME` inside an expression (a tcpscope extension).
    State { exclude: bool, word: StateWord },
    /// `pid`, `uid`, `recvq`, `sendq`, `idle` compared with a number.
    Num {
        field: NumField,
        op: CmpOp,
        value: u64,
    },
    /// `user NAME`: the socket's uid is that user's.
    User { name: String, uid: u32 },
    /// `comm PATTERN`: a process holding the socket has that name (`*` and `?` wildcards).
    Comm(String),
    /// `container ID`: a process holding the socket runs in a container whose id starts with ID
    /// (or whose pod uid is ID); `*` is any container.
    Container(String),
    /// `netns NAME|INODE`.
    Netns(String),
    /// `timer KIND`; `None` is `timer none` (no timer pending).
    Timer(Option<TimerKind>),
    /// `cgroup PATH` (as ss): the socket was created in that cgroup (v2), whose id the path
    /// resolved to.
    Cgroup { path: String, id: u64 },
}

/// A filter expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Pred(Pred),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

impl Expr {
    /// The first condition read when the expression is printed.
    pub(crate) fn leftmost(&self) -> &Expr {
        match self {
            Expr::And(a, _) | Expr::Or(a, _) => a.leftmost(),
            other => other,
        }
    }

    /// Visit every condition.
    pub fn preds(&self, f: &mut dyn FnMut(&Pred)) {
        match self {
            Expr::Pred(p) => f(p),
            Expr::Not(e) => e.preds(f),
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.preds(f);
                b.preds(f);
            }
        }
    }
}

/// Words that the parser reads as operators; values equal to them are printed quoted.
const RESERVED: &[&str] = &[
    "and", "or", "not", "eq", "ne", "neq", "lt", "le", "gt", "ge", "leq", "geq",
];

/// Print a value so that the lexer reads it back as the same single word.
pub(crate) fn quote_word(s: &str) -> String {
    let plain = !s.is_empty()
        && !s.starts_with(['"', '\''])
        && !s.chars().any(|c| {
            c.is_whitespace() || matches!(c, '(' | ')' | '!' | '=' | '<' | '>' | '&' | '|')
        })
        && !RESERVED.contains(&s.to_ascii_lowercase().as_str());
    if plain {
        s.to_string()
    } else if !s.contains('"') {
        format!("\"{s}\"")
    } else {
        format!("'{s}'")
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.addr)?;
        if self.len != self.full_len() {
            write!(f, "/{}", self.len)?;
        }
        Ok(())
    }
}

impl fmt::Display for HostCond {
    /// ss's forms: `10.0.0.0/8:22`, `[::1]:22`, `2001:db8::/32`, `*:22`, `*`, `inet:*:22`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.family {
            Some(Family::Inet) => f.write_str("inet:")?,
            Some(Family::Inet6) => f.write_str("inet6:")?,
            None => {}
        }
        let host = match (&self.name, self.addrs.as_slice()) {
            (Some(name), _) => name.clone(),
            (None, []) => "*".to_string(),
            (None, [p, ..]) => match p.addr {
                IpAddr::V4(_) => p.to_string(),
                IpAddr::V6(_) if p.len == 128 => format!("[{}]", p.addr),
                IpAddr::V6(_) => format!("[{p}]"),
            },
        };
        f.write_str(&host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

/// `90s`, `5m`, `2h`, `1d`, `250ms`: the largest unit that divides exactly.
fn duration_text(ms: u64) -> String {
    for (unit, scale) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
    ] {
        if ms != 0 && (ms / scale) * scale == ms {
            return format!("{}{unit}", ms / scale);
        }
    }
    format!("{ms}ms")
}

impl fmt::Display for Pred {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let side = |s: Direction, src: &'static str, dst: &'static str| match s {
            Direction::Src => src,
            Direction::Dst => dst,
        };
        match self {
            Pred::Host { side: s, cond } => write!(f, "{} {cond}", side(*s, "src", "dst")),
            Pred::Port { side: s, op, port } => {
                let kw = side(*s, "sport", "dport");
                match port {
                    Some(p) => write!(f, "{kw} {} :{p}", op.symbol()),
                    None => write!(f, "{kw} {} *", op.symbol()),
                }
            }
            Pred::Dev { name, .. } => write!(f, "dev {}", quote_word(name)),
            Pred::Fwmark { mark, mask } if *mask == u32::MAX => write!(f, "fwmark {mark:#x}"),
            Pred::Fwmark { mark, mask } => write!(f, "fwmark {mark:#x}/{mask:#x}"),
            Pred::Autobound => f.write_str("autobound"),
            Pred::State { exclude, word } => {
                let kw = if *exclude { "exclude" } else { "state" };
                write!(f, "{kw} {}", word.name)
            }
            Pred::Num { field, op, value } => match field {
                NumField::IdleMs => write!(f, "idle {} {}", op.symbol(), duration_text(*value)),
                _ => write!(f, "{} {} {value}", field.keyword(), op.symbol()),
            },
            Pred::User { name, .. } => write!(f, "user {}", quote_word(name)),
            Pred::Comm(p) => write!(f, "comm {}", quote_word(p)),
            Pred::Container(p) => write!(f, "container {}", quote_word(p)),
            Pred::Netns(p) => write!(f, "netns {}", quote_word(p)),
            Pred::Cgroup { path, .. } => write!(f, "cgroup {}", quote_word(path)),
            Pred::Timer(None) => f.write_str("timer none"),
            Pred::Timer(Some(k)) => write!(f, "timer {}", k.name()),
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // ss reads `a or b and c` as `(a or b) and c`: operators have equal precedence and
        // group to the left, so only a compound right operand needs parentheses.
        fn operand(e: &Expr, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match e {
                Expr::And(..) | Expr::Or(..) => write!(f, "( {e} )"),
                _ => write!(f, "{e}"),
            }
        }
        match self {
            Expr::Pred(p) => write!(f, "{p}"),
            Expr::Not(e) => {
                f.write_str("! ")?;
                operand(e, f)
            }
            Expr::And(a, b) => {
                write!(f, "{a} and ")?;
                operand(b, f)
            }
            Expr::Or(a, b) => {
                write!(f, "{a} or ")?;
                operand(b, f)
            }
        }
    }
}
