//! The processes that hold sockets, as tcpscope models them: who a process is
//! ([`ProcessIdentity`]: command, command line, user, container, systemd unit) — read once per
//! process and shared by every socket it holds through an [`Arc`] — and, for doctor, what it is
//! doing ([`ProcessFacts`]: its scheduler state, parent, descriptor use against RLIMIT_NOFILE,
//! where it sleeps). An [`Owner`] is one descriptor through which a process holds a socket.
//!
//! The serde forms are the JSON contract (docs/json.md): an owner is
//! `{"pid","comm","cmdline","user","fd","container","unit"}` and a process in a snapshot's
//! `processes` map `{"pid","comm","cmdline","user","state","ppid","fd_count","fd_limit","wchan",
//! "container"}`, exactly as before the identity became shared.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::sync::Arc;

/// The container a process runs in, read from /proc/PID/cgroup.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Container {
    /// docker, containerd, cri-o, podman, lxc, ...
    pub runtime: String,
    /// The full container id.
    pub id: String,
    /// The Kubernetes pod uid, when the cgroup path carries one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_uid: Option<String>,
}

/// Who a process is, as a person recognises it. Read once per process and shared (`Arc`) by every
/// socket it holds, so 100k sockets of one server carry one copy of its command line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ProcessIdentity {
    pub comm: String,
    pub cmdline: String,
    pub user: String,
    pub container: Option<Container>,
    /// The systemd unit (service or scope) the process belongs to.
    pub unit: Option<String>,
}

impl ProcessIdentity {
    /// An identity that knows only the command name (tests, captures from other systems).
    pub fn named(comm: &str) -> Arc<ProcessIdentity> {
        Arc::new(ProcessIdentity {
            comm: comm.to_string(),
            ..ProcessIdentity::default()
        })
    }
}

/// A process holding a socket through one of its file descriptors.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Owner {
    pub pid: u32,
    pub fd: u32,
    pub process: Arc<ProcessIdentity>,
}

/// What doctor needs to know about a process that holds sockets: who it is, and whether it can
/// make progress. Recorded in the snapshot so a replayed diagnosis sees what the live one saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessFacts {
    pub pid: u32,
    pub process: Arc<ProcessIdentity>,
    /// The state letter of /proc/PID/stat: R, S, D, T, t, Z, I, X.
    pub state: Option<char>,
    /// The parent's pid (siblings forked by one server are diagnosed together).
    pub ppid: Option<u32>,
    /// Open file descriptors (st_size of /proc/PID/fd).
    pub fd_count: Option<u64>,
    /// The soft RLIMIT_NOFILE ("Max open files" in /proc/PID/limits).
    pub fd_limit: Option<u64>,
    /// The kernel function the process sleeps in (/proc/PID/wchan), when readable.
    pub wchan: Option<String>,
}

impl ProcessFacts {
    /// Facts about `pid` with nothing known yet but who it is.
    pub fn new(pid: u32, process: Arc<ProcessIdentity>) -> ProcessFacts {
        ProcessFacts {
            pid,
            process,
            state: None,
            ppid: None,
            fd_count: None,
            fd_limit: None,
            wchan: None,
        }
    }

    /// The state letter in words, with what it means for closing sockets.
    pub fn state_text(&self) -> Option<&'static str> {
        Some(match self.state? {
            'R' => "running",
            'S' => "sleeping",
            'D' => "in uninterruptible sleep (blocked in the kernel, usually on I/O)",
            'T' => "stopped (SIGSTOP/SIGTSTP): it cannot run, so it cannot close anything",
            't' => "stopped by a debugger (tracing stop)",
            'Z' => "a zombie (exited, not yet reaped by its parent)",
            'X' => "dead",
            'I' => "idle",
            _ => "in an unknown state",
        })
    }

    /// True when the process cannot make progress on its own (stopped, traced, zombie, dead).
    pub fn is_stuck(&self) -> bool {
        matches!(self.state, Some('T' | 't' | 'Z' | 'X'))
    }

    /// Descriptor use as a fraction of the soft limit.
    pub fn fd_usage(&self) -> Option<f64> {
        match (self.fd_count, self.fd_limit) {
            (Some(n), Some(lim)) if lim > 0 => Some(n as f64 / lim as f64),
            _ => None,
        }
    }
}

// ---- serde: the JSON shapes predate the shared identity and stay as they were ----

#[derive(Serialize)]
struct OwnerOut<'a> {
    pid: u32,
    comm: &'a str,
    cmdline: &'a str,
    user: &'a str,
    fd: u32,
    container: &'a Option<Container>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unit: &'a Option<String>,
}

#[derive(Deserialize)]
struct OwnerIn {
    pid: u32,
    comm: String,
    #[serde(default)]
    cmdline: String,
    #[serde(default)]
    user: String,
    fd: u32,
    #[serde(default)]
    container: Option<Container>,
    #[serde(default)]
    unit: Option<String>,
}

impl Serialize for Owner {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = &*self.process;
        OwnerOut {
            pid: self.pid,
            comm: &p.comm,
            cmdline: &p.cmdline,
            user: &p.user,
            fd: self.fd,
            container: &p.container,
            unit: &p.unit,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Owner {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Owner, D::Error> {
        let o = OwnerIn::deserialize(d)?;
        Ok(Owner {
            pid: o.pid,
            fd: o.fd,
            process: Arc::new(ProcessIdentity {
                comm: o.comm,
                cmdline: o.cmdline,
                user: o.user,
                container: o.container,
                unit: o.unit,
            }),
        })
    }
}

#[derive(Serialize)]
struct FactsOut<'a> {
    pid: u32,
    comm: &'a str,
    cmdline: &'a str,
    user: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<char>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ppid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fd_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fd_limit: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wchan: &'a Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    container: &'a Option<Container>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unit: &'a Option<String>,
}

#[derive(Deserialize)]
struct FactsIn {
    pid: u32,
    #[serde(default)]
    comm: String,
    #[serde(default)]
    cmdline: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    state: Option<char>,
    #[serde(default)]
    ppid: Option<u32>,
    #[serde(default)]
    fd_count: Option<u64>,
    #[serde(default)]
    fd_limit: Option<u64>,
    #[serde(default)]
    wchan: Option<String>,
    #[serde(default)]
    container: Option<Container>,
    #[serde(default)]
    unit: Option<String>,
}

impl Serialize for ProcessFacts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = &*self.process;
        FactsOut {
            pid: self.pid,
            comm: &p.comm,
            cmdline: &p.cmdline,
            user: &p.user,
            state: self.state,
            ppid: self.ppid,
            fd_count: self.fd_count,
            fd_limit: self.fd_limit,
            wchan: &self.wchan,
            container: &p.container,
            unit: &p.unit,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for ProcessFacts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ProcessFacts, D::Error> {
        let f = FactsIn::deserialize(d)?;
        Ok(ProcessFacts {
            pid: f.pid,
            process: Arc::new(ProcessIdentity {
                comm: f.comm,
                cmdline: f.cmdline,
                user: f.user,
                container: f.container,
                unit: f.unit,
            }),
            state: f.state,
            ppid: f.ppid,
            fd_count: f.fd_count,
            fd_limit: f.fd_limit,
            wchan: f.wchan,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stuck_and_usage() {
        let p = ProcessFacts {
            state: Some('T'),
            fd_count: Some(900),
            fd_limit: Some(1000),
            ..ProcessFacts::new(1, ProcessIdentity::named("x"))
        };
        assert!(p.is_stuck());
        assert_eq!(p.fd_usage(), Some(0.9));
        assert!(p.state_text().unwrap().contains("cannot close"));
    }

    #[test]
    fn json_shapes_are_the_contract() {
        let id = Arc::new(ProcessIdentity {
            comm: "nginx".into(),
            cmdline: "nginx: worker".into(),
            user: "www".into(),
            container: None,
            unit: Some("nginx.service".into()),
        });
        let o = Owner {
            pid: 7,
            fd: 12,
            process: id.clone(),
        };
        let text = serde_json::to_string(&o).unwrap();
        assert_eq!(
            text,
            r#"{"pid":7,"comm":"nginx","cmdline":"nginx: worker","user":"www","fd":12,"container":null,"unit":"nginx.service"}"#
        );
        assert_eq!(serde_json::from_str::<Owner>(&text).unwrap(), o);
        let f = ProcessFacts {
            state: Some('S'),
            ppid: Some(1),
            ..ProcessFacts::new(7, id)
        };
        let text = serde_json::to_string(&f).unwrap();
        assert_eq!(
            text,
            r#"{"pid":7,"comm":"nginx","cmdline":"nginx: worker","user":"www","state":"S","ppid":1,"unit":"nginx.service"}"#
        );
        assert_eq!(serde_json::from_str::<ProcessFacts>(&text).unwrap(), f);
        // Older recordings: a process with only a pid and a comm.
        let old: ProcessFacts = serde_json::from_str(r#"{"pid":3,"comm":"x"}"#).unwrap();
        assert_eq!(old.process.comm, "x");
    }
}
