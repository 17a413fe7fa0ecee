//! Lowering a filter to the kernel's sock_diag bytecode (`INET_DIAG_REQ_BYTECODE`), so that
//! sockets the filter rejects never leave the kernel.
//!
//! The program is a list of `inet_diag_bc_op {u8 code; u8 yes; u16 no}` instructions, each
//! possibly followed by an operand. The kernel runs it per socket: a true condition moves on by
//! `yes` bytes (always the instruction's own length here), a false one jumps `no` bytes forward.
//! Running off the exact end accepts the socket; jumping 4 bytes past the end rejects it. The
//! kernel audits programs (`inet_diag_bc_audit`) and refuses with EINVAL any jump that does not
//! land on an instruction, so every jump here goes to a label placed on an instruction boundary.
//!
//! Not everything can be lowered (owners, queues, timers, states inside expressions). Lowering
//! keeps a *superset*: under `and`, a part the kernel cannot judge is dropped; `or` and `not`
//! are lowered only when their operands are lowered exactly. User space re-checks every socket
//! with the full filter, so results never depend on what was lowered.

use super::ast::{CmpOp, Direction, Expr, HostCond, Pred};
use crate::model::socket::Family;
use std::net::IpAddr;

pub const INET_DIAG_BC_NOP: u8 = 0;
pub const INET_DIAG_BC_JMP: u8 = 1;
pub const INET_DIAG_BC_S_GE: u8 = 2;
pub const INET_DIAG_BC_S_LE: u8 = 3;
pub const INET_DIAG_BC_D_GE: u8 = 4;
pub const INET_DIAG_BC_D_LE: u8 = 5;
pub const INET_DIAG_BC_AUTO: u8 = 6;
pub const INET_DIAG_BC_S_COND: u8 = 7;
pub const INET_DIAG_BC_D_COND: u8 = 8;
pub const INET_DIAG_BC_DEV_COND: u8 = 9;
pub const INET_DIAG_BC_MARK_COND: u8 = 10;
pub const INET_DIAG_BC_CGROUP_COND: u8 = 13;

const AF_UNSPEC: u8 = 0;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
/// The attribute length is a u16; stay well below it.
const MAX_PROGRAM: usize = 60_000;

/// A condition the kernel can evaluate.
#[derive(Debug, Clone, PartialEq)]
enum Leaf {
    /// S_COND / D_COND: optional port, optional address prefix (family 0 = any address).
    Host {
        side: Direction,
        family: u8,
        prefix_len: u8,
        addr: Vec<u8>,
        port: i32,
    },
    PortGe(Direction, u16),
    PortLe(Direction, u16),
    Dev(u32),
    Mark(u32, u32),
    Auto,
    /// A cgroup v2 id (Linux 5.7+).
    Cgroup(u64),
}

/// The lowered expression.
#[derive(Debug, Clone, PartialEq)]
enum K {
    True,
    False,
    Leaf(Leaf),
    Not(Box<K>),
    And(Box<K>, Box<K>),
    Or(Box<K>, Box<K>),
}

fn not(k: K) -> K {
    match k {
        K::True => K::False,
        K::False => K::True,
        k => K::Not(Box::new(k)),
    }
}

fn host_leaves(side: Direction, cond: &HostCond, family: Family) -> K {
    // `inet:` / `inet6:`: nothing of the other family matches. (The program is per family.)
    if cond.family.is_some_and(|f| f != family) {
        return K::False;
    }
    let port = cond.port.map_or(-1, i32::from);
    if cond.addrs.is_empty() {
        if port == -1 {
            return K::True;
        }
        return K::Leaf(Leaf::Host {
            side,
            family: AF_UNSPEC,
            prefix_len: 0,
            addr: Vec::new(),
            port,
        });
    }
    let mut out: Option<K> = None;
    for p in &cond.addrs {
        let (fam, addr) = match p.addr {
            IpAddr::V4(a) => (AF_INET, a.octets().to_vec()),
            // An IPv6 rule never matches an IPv4 socket: nothing to ask the kernel.
            IpAddr::V6(_) if family == Family::Inet => continue,
            IpAddr::V6(a) => (AF_INET6, a.octets().to_vec()),
        };
        let leaf = K::Leaf(Leaf::Host {
            side,
            family: fam,
            prefix_len: p.len,
            addr,
            port,
        });
        out = Some(match out {
            None => leaf,
            Some(prev) => K::Or(Box::new(prev), Box::new(leaf)),
        });
    }
    out.unwrap_or(K::False)
}

/// Lower `e` for sockets of `family`: `Some((k, exact))` where `k` accepts at least every socket
/// `e` accepts (exactly those when `exact`), or `None` when nothing useful can be lowered.
fn lower(e: &Expr, family: Family) -> Option<(K, bool)> {
    match e {
        Expr::Pred(p) => {
            let k = match p {
                Pred::Host { side, cond } => host_leaves(*side, cond, family),
                Pred::Port { side, op, port } => {
                    let Some(port) = *port else {
                        return Some((if *op == CmpOp::Ne { K::False } else { K::True }, true));
                    };
                    let eq = || {
                        K::Leaf(Leaf::Host {
                            side: *side,
                            family: AF_UNSPEC,
                            prefix_len: 0,
                            addr: Vec::new(),
                            port: i32::from(port),
                        })
                    };
                    match op {
                        CmpOp::Eq => eq(),
                        CmpOp::Ne => not(eq()),
                        CmpOp::Ge => K::Leaf(Leaf::PortGe(*side, port)),
                        CmpOp::Le => K::Leaf(Leaf::PortLe(*side, port)),
                        CmpOp::Gt => not(K::Leaf(Leaf::PortLe(*side, port))),
                        CmpOp::Lt => not(K::Leaf(Leaf::PortGe(*side, port))),
                    }
                }
                Pred::Dev { index, .. } => K::Leaf(Leaf::Dev(*index)),
                Pred::Fwmark { mark, mask } => K::Leaf(Leaf::Mark(*mark, *mask)),
                Pred::Autobound => K::Leaf(Leaf::Auto),
                Pred::Cgroup { id, .. } => K::Leaf(Leaf::Cgroup(*id)),
                _ => return None,
            };
            Some((k, true))
        }
        Expr::Not(a) => match lower(a, family)? {
            (k, true) => Some((not(k), true)),
            _ => None,
        },
        Expr::And(a, b) => match (lower(a, family), lower(b, family)) {
            (Some((ka, ea)), Some((kb, eb))) => {
                Some((K::And(Box::new(ka), Box::new(kb)), ea && eb))
            }
            (Some((k, _)), None) | (None, Some((k, _))) => Some((k, false)),
            (None, None) => None,
        },
        Expr::Or(a, b) => {
            let (ka, ea) = lower(a, family)?;
            let (kb, eb) = lower(b, family)?;
            Some((K::Or(Box::new(ka), Box::new(kb)), ea && eb))
        }
    }
}

#[derive(Clone, Copy)]
enum Target {
    Reject,
    Label(usize),
}

struct Ins {
    code: u8,
    no: Target,
    operand: Vec<u8>,
}

#[derive(Default)]
struct Asm {
    ins: Vec<Ins>,
    /// Label -> index of the instruction it stands before (`ins.len()` = the end: accept).
    labels: Vec<usize>,
}

impl Asm {
    fn label(&mut self) -> usize {
        self.labels.push(usize::MAX);
        self.labels.len() - 1
    }
    fn place(&mut self, l: usize) {
        self.labels[l] = self.ins.len();
    }
    fn jmp(&mut self, no: Target) {
        self.ins.push(Ins {
            code: INET_DIAG_BC_JMP,
            no,
            operand: Vec::new(),
        });
    }

    /// Code that falls through when `k` holds and jumps to `on_false` when it does not.
    fn cond(&mut self, k: &K, on_false: Target) {
        match k {
            K::True => {}
            K::False => self.jmp(on_false),
            K::Leaf(leaf) => {
                let (code, operand) = encode_leaf(leaf);
                self.ins.push(Ins {
                    code,
                    no: on_false,
                    operand,
                });
            }
            K::And(a, b) => {
                self.cond(a, on_false);
                self.cond(b, on_false);
            }
            K::Or(a, b) => {
                let try_b = self.label();
                let done = self.label();
                self.cond(a, Target::Label(try_b));
                self.jmp(Target::Label(done));
                self.place(try_b);
                self.cond(b, on_false);
                self.place(done);
            }
            K::Not(a) => {
                let done = self.label();
                self.cond(a, Target::Label(done));
                self.jmp(on_false);
                self.place(done);
            }
        }
    }

    fn assemble(&self) -> Option<Vec<u8>> {
        let mut offsets = Vec::with_capacity(self.ins.len() + 1);
        let mut off = 0usize;
        for i in &self.ins {
            offsets.push(off);
            off += 4 + i.operand.len();
        }
        offsets.push(off);
        let total = off;
        if total > MAX_PROGRAM {
            return None;
        }
        let mut out = Vec::with_capacity(total);
        for (n, i) in self.ins.iter().enumerate() {
            let here = offsets[n];
            let target = match i.no {
                Target::Reject => total + 4,
                Target::Label(l) => offsets[self.labels[l]],
            };
            let yes = u8::try_from(4 + i.operand.len()).ok()?;
            let no = u16::try_from(target - here).ok()?;
            out.push(i.code);
            out.push(yes);
            out.extend_from_slice(&no.to_ne_bytes());
            out.extend_from_slice(&i.operand);
        }
        Some(out)
    }
}

fn encode_leaf(leaf: &Leaf) -> (u8, Vec<u8>) {
    let code_for = |side: Direction, s: u8, d: u8| if side == Direction::Src { s } else { d };
    match leaf {
        Leaf::Host {
            side,
            family,
            prefix_len,
            addr,
            port,
        } => {
            // struct inet_diag_hostcond { u8 family; u8 prefix_len; int port; be32 addr[]; }
            let mut v = vec![*family, *prefix_len, 0, 0];
            v.extend_from_slice(&port.to_ne_bytes());
            v.extend_from_slice(addr);
            (code_for(*side, INET_DIAG_BC_S_COND, INET_DIAG_BC_D_COND), v)
        }
        Leaf::PortGe(side, p) | Leaf::PortLe(side, p) => {
            let code = match leaf {
                Leaf::PortGe(..) => code_for(*side, INET_DIAG_BC_S_GE, INET_DIAG_BC_D_GE),
                _ => code_for(*side, INET_DIAG_BC_S_LE, INET_DIAG_BC_D_LE),
            };
            // The operand is a second bc_op whose `no` field holds the port.
            let mut v = vec![0, 0];
            v.extend_from_slice(&p.to_ne_bytes());
            (code, v)
        }
        Leaf::Dev(index) => (INET_DIAG_BC_DEV_COND, index.to_ne_bytes().to_vec()),
        Leaf::Mark(mark, mask) => {
            let mut v = mark.to_ne_bytes().to_vec();
            v.extend_from_slice(&mask.to_ne_bytes());
            (INET_DIAG_BC_MARK_COND, v)
        }
        Leaf::Auto => (INET_DIAG_BC_AUTO, Vec::new()),
        Leaf::Cgroup(id) => (INET_DIAG_BC_CGROUP_COND, id.to_ne_bytes().to_vec()),
    }
}

/// The kernel program for `expr` on sockets of `family`, or `None` when nothing can be lowered.
pub(super) fn compile(expr: &Expr, family: Family) -> Option<Vec<u8>> {
    let (k, _) = lower(expr, family)?;
    if k == K::True {
        return None;
    }
    let mut asm = Asm::default();
    asm.cond(&k, Target::Reject);
    asm.assemble().filter(|code| !code.is_empty())
}

#[cfg(test)]
#[path = "bytecode_tests.rs"]
pub(crate) mod tests;
