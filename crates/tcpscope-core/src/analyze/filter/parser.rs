//! The parser: tokens in, [`Filter`] out, or an error that points at the column of the mistake
//! and says what was expected there.
//!
//! The grammar follows iproute2's ss exactly where ss has an answer (see docs/filter.md):
//! leading `state`/`exclude` clauses select states; after them, conditions are joined by
//! `and`/`&&`/`&`, `or`/`||`/`|` or nothing (implicit `and`), all of *equal* precedence and read
//! left to right, so `a or b and c` means `(a or b) and c`, as in ss; `!`/`not` binds to the
//! next condition or parenthesised group.

use super::ast::{CmpOp, Direction, Expr, NumField, Pred, StateClause, StateWord};
use super::lexer::{lex, Tok, Token};
use super::values::{parse_c_int, parse_host, parse_markmask, parse_port_word, parse_timer};
use super::{Filter, Resolver};
use crate::model::state::{group, parse_state_or_group, TcpState, GROUPS};
use std::fmt;

/// Parentheses deeper than this are refused (the parser recurses).
const MAX_DEPTH: usize = 100;

/// A filter that could not be parsed: where, and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The whole filter text.
    pub text: String,
    /// 0-based character column of the problem.
    pub col: usize,
    /// How many characters the caret line underlines (at least 1).
    pub len: usize,
    /// What is wrong and what was expected.
    pub message: String,
}

/// Filters longer than this many characters are shown as an excerpt around the mistake.
const SHOWN: usize = 100;
/// Characters shown before the mistake in an excerpt.
const BEFORE: usize = 40;
/// Quoted values in messages longer than this are shortened.
const QUOTED: usize = 40;

impl fmt::Display for ParseError {
    /// The message, the filter (or, for a long one, the part around the mistake) and a caret
    /// line under the mistake: a 100 KB filter must not come back as one 100 KB line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "invalid filter at column {}: {}",
            self.col + 1,
            shorten_quoted(&self.message)
        )?;
        // One character per column: control characters (tabs too) would move the caret.
        let chars: Vec<char> = self
            .text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let caret = self.len.max(1);
        let (start, end) = if chars.len() <= SHOWN {
            (0, chars.len())
        } else {
            let start = self.col.saturating_sub(BEFORE).min(chars.len());
            let end = (self.col + caret.min(SHOWN - BEFORE)).max(start + SHOWN - BEFORE);
            (start, end.min(chars.len()))
        };
        let head = if start > 0 { "…" } else { "" };
        let tail = if end < chars.len() { "…" } else { "" };
        let shown: String = chars[start..end].iter().collect();
        writeln!(f, "  {head}{shown}{tail}")?;
        let at = self.col.saturating_sub(start) + head.chars().count();
        let width = caret.min(end.saturating_sub(self.col).max(1));
        write!(f, "  {}{}", " ".repeat(at), "^".repeat(width))?;
        if chars.len() > SHOWN {
            write!(
                f,
                "\n  (the filter is {} characters long; shown around the mistake)",
                chars.len()
            )?;
        }
        Ok(())
    }
}

/// `message` with every '...'-quoted value longer than [`QUOTED`] characters cut short.
fn shorten_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(1024));
    let mut rest = message;
    while let Some(open) = rest.find('\'') {
        out.push_str(&rest[..=open]);
        rest = &rest[open + 1..];
        let Some(close) = rest.find('\'') else { break };
        let quoted = &rest[..close];
        if quoted.chars().count() > QUOTED {
            out.extend(quoted.chars().take(QUOTED - 10));
            out.push('…');
        } else {
            out.push_str(quoted);
        }
        out.push('\'');
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

impl std::error::Error for ParseError {}

/// The words that start a condition, in the order error messages list them.
const PREDICATE_WORDS: &[&str] = &[
    "src",
    "dst",
    "sport",
    "dport",
    "state",
    "exclude",
    "dev",
    "fwmark",
    "autobound",
    "pid",
    "comm",
    "uid",
    "user",
    "container",
    "netns",
    "recvq",
    "sendq",
    "timer",
    "idle",
    "cgroup",
];

/// "a condition: src, dst, ... or idle", for error messages.
fn conditions() -> String {
    let (last, rest) = PREDICATE_WORDS.split_last().unwrap_or((&"", &[]));
    format!("a condition: {} or {last}", rest.join(", "))
}

/// Words that start or join conditions: never read as a state name, so that
/// `state established idle > 5m` keeps `idle` as a condition although Solaris calls a state IDLE.
fn is_condition_word(w: &str) -> bool {
    PREDICATE_WORDS.contains(&w) || matches!(w, "excl" | "and" | "or" | "not")
}

pub(super) struct Parser<'a> {
    text: String,
    toks: Vec<Token>,
    pos: usize,
    resolver: &'a dyn Resolver,
}

type PResult<T> = Result<T, ParseError>;

fn kw(t: &Token) -> Option<String> {
    match &t.tok {
        Tok::Word(w) if !t.quoted => Some(w.to_ascii_lowercase()),
        _ => None,
    }
}

impl<'a> Parser<'a> {
    pub(super) fn new(text: &str, resolver: &'a dyn Resolver) -> PResult<Parser<'a>> {
        let toks = lex(text).map_err(|e| ParseError {
            text: text.to_string(),
            col: e.col,
            len: e.len,
            message: "this quote is never closed; add the closing quote".into(),
        })?;
        Ok(Parser {
            text: text.to_string(),
            toks,
            pos: 0,
            resolver,
        })
    }

    fn err_at(&self, col: usize, len: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            text: self.text.clone(),
            col,
            len,
            message: message.into(),
        }
    }

    /// An error at the current token, or just past the end of the text.
    fn err_here(&self, message: impl Into<String>) -> ParseError {
        match self.toks.get(self.pos) {
            Some(t) => self.err_at(t.col, t.len, message),
            None => self.err_at(self.text.chars().count(), 1, message),
        }
    }

    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos)
    }

    fn peek_kw(&self) -> Option<String> {
        self.peek().and_then(kw)
    }

    pub(super) fn parse_filter(mut self) -> PResult<Filter> {
        let mut leading = Vec::new();
        while let Some(k) = self.peek_kw() {
            let exclude = match k.as_str() {
                "state" => false,
                "exclude" | "excl" => true,
                _ => break,
            };
            self.pos += 1;
            let word = self.state_word(&k)?;
            leading.push(StateClause { exclude, word });
            // An extension of ss: `state close-wait time-wait` lists several states after one
            // keyword (it means `state close-wait state time-wait`).
            while let Some(next) = self.peek_kw() {
                if is_condition_word(&next) || parse_state_or_group(&next).is_err() {
                    break;
                }
                let word = self.state_word(&k)?;
                leading.push(StateClause { exclude, word });
            }
        }
        if let (Some(last), Some(t)) = (leading.last(), self.peek()) {
            if matches!(t.tok, Tok::And | Tok::Or) || matches!(kw(t).as_deref(), Some("and" | "or"))
            {
                let kw = if last.exclude { "exclude" } else { "state" };
                return Err(self.err_at(t.col, t.len, format!(
                    "leading state clauses combine by themselves (as in ss): write `... {kw} {} state NAME`, \
                     or put a state test inside parentheses: `( {kw} {} or ... )`",
                    last.word.name, last.word.name
                )));
            }
        }
        let expr = if self.peek().is_some() {
            Some(self.expr_list(0)?)
        } else {
            None
        };
        if let Some(t) = self.peek() {
            let msg = match t.tok {
                Tok::RParen => "this ')' has no matching '('; remove it or add '(' before",
                _ => "unexpected text; expected 'and', 'or' or another condition",
            };
            return Err(self.err_at(t.col, t.len, msg));
        }
        Ok(Filter { leading, expr })
    }

    fn expr_list(&mut self, depth: usize) -> PResult<Expr> {
        if depth > MAX_DEPTH {
            return Err(self.err_here(format!(
                "parentheses nested more than {MAX_DEPTH} deep; simplify the expression"
            )));
        }
        let mut acc = self.term(depth)?;
        while let Some(t) = self.peek() {
            let joiner = match (&t.tok, kw(t).as_deref()) {
                (Tok::And, _) | (_, Some("and")) => Some(true),
                (Tok::Or, _) | (_, Some("or")) => Some(false),
                (Tok::RParen, _) => break,
                _ => None,
            };
            if joiner.is_some() {
                self.pos += 1;
            }
            let rhs = self.term(depth)?;
            acc = match joiner {
                Some(false) => Expr::Or(Box::new(acc), Box::new(rhs)),
                _ => Expr::And(Box::new(acc), Box::new(rhs)),
            };
        }
        Ok(acc)
    }

    fn term(&mut self, depth: usize) -> PResult<Expr> {
        let Some(t) = self.peek().cloned() else {
            return Err(self.err_here(format!("the filter ends here; expected {}", conditions())));
        };
        match (&t.tok, kw(&t).as_deref()) {
            (Tok::LParen, _) => {
                self.pos += 1;
                if matches!(self.peek().map(|t| &t.tok), Some(Tok::RParen)) {
                    return Err(self.err_here("empty parentheses; put a condition inside"));
                }
                let e = self.expr_list(depth + 1)?;
                match self.peek() {
                    Some(Token {
                        tok: Tok::RParen, ..
                    }) => {
                        self.pos += 1;
                        Ok(e)
                    }
                    _ => Err(self.err_here(format!(
                        "expected ')' to close the '(' at column {}",
                        t.col + 1
                    ))),
                }
            }
            (Tok::Bang, _) | (_, Some("not")) => {
                self.pos += 1;
                if depth > MAX_DEPTH {
                    return Err(self.err_here("too many '!' in a row; simplify the expression"));
                }
                Ok(Expr::Not(Box::new(self.term(depth + 1)?)))
            }
            (_, Some(word)) => {
                self.pos += 1;
                self.predicate(word, &t)
            }
            _ => Err(self.err_at(t.col, t.len, format!("expected {}", conditions()))),
        }
    }

    /// An optional comparison operator (symbol or word).
    fn op(&mut self) -> Option<CmpOp> {
        let t = self.peek()?;
        let op = match (&t.tok, kw(t).as_deref()) {
            (Tok::Eq, _) | (_, Some("eq")) => CmpOp::Eq,
            (Tok::Ne, _) | (_, Some("ne" | "neq")) => CmpOp::Ne,
            (Tok::Lt, _) | (_, Some("lt")) => CmpOp::Lt,
            (Tok::Le, _) | (_, Some("le" | "leq")) => CmpOp::Le,
            (Tok::Gt, _) | (_, Some("gt")) => CmpOp::Gt,
            (Tok::Ge, _) | (_, Some("ge" | "geq")) => CmpOp::Ge,
            _ => return None,
        };
        self.pos += 1;
        Some(op)
    }

    /// `=` or `!=` (or nothing, meaning `=`); ordering operators are refused for `what`.
    fn eq_op(&mut self, what: &str) -> PResult<bool> {
        let start = self.pos;
        match self.op() {
            None | Some(CmpOp::Eq) => Ok(false),
            Some(CmpOp::Ne) => Ok(true),
            Some(_) => {
                self.pos = start;
                Err(self.err_here(format!("{what} compares only with = or !=")))
            }
        }
    }

    /// The value word after a keyword: (text, column, length).
    fn value(&mut self, keyword: &str, expected: &str) -> PResult<(String, usize, usize)> {
        match self.peek().cloned() {
            Some(Token {
                tok: Tok::Word(w),
                col,
                len,
                ..
            }) => {
                self.pos += 1;
                Ok((w, col, len))
            }
            _ => Err(self.err_here(format!("expected {expected} after '{keyword}'"))),
        }
    }

    fn state_word(&mut self, keyword: &str) -> PResult<StateWord> {
        let (w, col, len) = self.value(keyword, "a state name or group, e.g. close-wait")?;
        let set = parse_state_or_group(&w).map_err(|_| {
            let groups: Vec<&str> = GROUPS.iter().map(|(g, _)| *g).collect();
            let states: Vec<&str> = TcpState::ALL.iter().map(|s| s.name()).collect();
            self.err_at(
                col,
                len,
                format!(
                    "unknown state '{w}'; expected a state ({}) or a group ({})",
                    states.join(", "),
                    groups.join(", ")
                ),
            )
        })?;
        // Canonical spelling: the state's own name, else the group name as written (lowered).
        let name = match w.parse::<TcpState>() {
            Ok(s) => s.name().to_string(),
            Err(_) => w.to_ascii_lowercase().replace('_', "-"),
        };
        debug_assert!(w.parse::<TcpState>().is_ok() || group(&name).is_some());
        Ok(StateWord { name, set })
    }

    fn predicate(&mut self, word: &str, t: &Token) -> PResult<Expr> {
        let side = |s: &str| {
            if s.starts_with('s') {
                Direction::Src
            } else {
                Direction::Dst
            }
        };
        let pred = match word {
            "src" | "dst" => {
                let negate = self.eq_op(&format!("'{word}' (an address)"))?;
                let (v, col, len) =
                    self.value(word, "an address like 10.0.0.0/8, [::1]:22 or *:80")?;
                let cond = parse_host(&v, self.resolver).map_err(|m| self.err_at(col, len, m))?;
                let p = Expr::Pred(Pred::Host {
                    side: side(word),
                    cond,
                });
                return Ok(if negate { Expr::Not(Box::new(p)) } else { p });
            }
            "sport" | "dport" => {
                let op = self.op().unwrap_or(CmpOp::Eq);
                let (v, col, len) = self.value(word, "a port like :22")?;
                let port =
                    parse_port_word(&v, self.resolver).map_err(|m| self.err_at(col, len, m))?;
                if port.is_none() && !matches!(op, CmpOp::Eq | CmpOp::Ne) {
                    return Err(self.err_at(
                        col,
                        len,
                        format!("'{word} {}' needs a port number, not '*'", op.symbol()),
                    ));
                }
                Pred::Port {
                    side: side(word),
                    op,
                    port,
                }
            }
            "dev" => {
                let negate = self.eq_op("'dev'")?;
                let (v, col, len) = self.value(word, "an interface name or index")?;
                let index = match self.resolver.interface(&v) {
                    Some(i) => i,
                    None => parse_c_int(&v).and_then(|n| u32::try_from(n).ok()).ok_or_else(|| {
                        self.err_at(col, len, format!("no interface named '{v}'; give a name `ip link` shows, or an index"))
                    })?,
                };
                return Ok(negated(Pred::Dev { name: v, index }, negate));
            }
            "fwmark" => {
                let negate = self.eq_op("'fwmark'")?;
                let (v, col, len) = self.value(word, "a mark like 0x10 or 0x10/0xff")?;
                let (mark, mask) = parse_markmask(&v).ok_or_else(|| {
                    self.err_at(
                        col,
                        len,
                        format!("'{v}' is not a mark; write MARK or MARK/MASK, e.g. 0x10/0xff"),
                    )
                })?;
                return Ok(negated(Pred::Fwmark { mark, mask }, negate));
            }
            "autobound" => Pred::Autobound,
            "state" | "exclude" | "excl" => {
                let w = self.state_word(word)?;
                Pred::State {
                    exclude: word != "state",
                    word: w,
                }
            }
            "pid" | "uid" | "recvq" | "sendq" => {
                let field = match word {
                    "pid" => NumField::Pid,
                    "uid" => NumField::Uid,
                    "recvq" => NumField::RecvQ,
                    _ => NumField::SendQ,
                };
                let op = self.op().unwrap_or(CmpOp::Eq);
                let (v, col, len) = self.value(word, "a number")?;
                let value = v.parse::<u64>().map_err(|_| {
                    self.err_at(
                        col,
                        len,
                        format!("'{v}' is not a number; expected e.g. {word} > 100"),
                    )
                })?;
                Pred::Num { field, op, value }
            }
            "idle" => {
                let Some(op) = self.op() else {
                    return Err(self.err_here("expected a comparison after 'idle', e.g. idle > 5m"));
                };
                let (v, col, len) = self.value(word, "a duration like 90s, 5m or 2h")?;
                let ms = crate::analyze::duration::parse_duration_ms(&v)
                    .map_err(|m| self.err_at(col, len, m))?;
                Pred::Num {
                    field: NumField::IdleMs,
                    op,
                    value: ms,
                }
            }
            "user" => {
                let negate = self.eq_op("'user'")?;
                let (v, col, len) = self.value(word, "a user name or uid")?;
                let uid = match self.resolver.user(&v) {
                    Some(u) => u,
                    None => v.parse::<u32>().map_err(|_| {
                        self.err_at(
                            col,
                            len,
                            format!("no user named '{v}'; give a name from /etc/passwd or a uid"),
                        )
                    })?,
                };
                return Ok(negated(Pred::User { name: v, uid }, negate));
            }
            "comm" | "container" | "netns" => {
                let negate = self.eq_op(&format!("'{word}'"))?;
                let (v, _, _) = self.value(word, "a name")?;
                let p = match word {
                    "comm" => Pred::Comm(v),
                    "container" => Pred::Container(v),
                    _ => Pred::Netns(v),
                };
                return Ok(negated(p, negate));
            }
            "cgroup" => {
                let negate = self.eq_op("'cgroup'")?;
                let (v, col, len) =
                    self.value(word, "a cgroup path like /system.slice/nginx.service")?;
                let id = self.resolver.cgroup(&v).ok_or_else(|| {
                    self.err_at(col, len, format!(
                        "no cgroup '{v}'; give a cgroup v2 path, relative to its mount (e.g. \
                         /system.slice/nginx.service, as `systemd-cgls` or /proc/PID/cgroup show it)"
                    ))
                })?;
                return Ok(negated(Pred::Cgroup { path: v, id }, negate));
            }
            "timer" => {
                let negate = self.eq_op("'timer'")?;
                let (v, col, len) = self.value(word, "a timer kind")?;
                let kind = parse_timer(&v).ok_or_else(|| {
                    self.err_at(col, len, format!("unknown timer '{v}'; expected none, retransmit (on), keepalive, time-wait, zero-window-probe (persist) or delayed-ack"))
                })?;
                return Ok(negated(Pred::Timer(kind), negate));
            }
            other => {
                return Err(self.err_at(
                    t.col,
                    t.len,
                    format!("unknown word '{other}'; expected {}", conditions()),
                ));
            }
        };
        Ok(Expr::Pred(pred))
    }
}

fn negated(p: Pred, negate: bool) -> Expr {
    let e = Expr::Pred(p);
    if negate {
        Expr::Not(Box::new(e))
    } else {
        e
    }
}
