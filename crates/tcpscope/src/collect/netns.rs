//! Reading sockets of other network namespaces: `--netns NAME`, `--netns pid:PID`,
//! `--netns PATH` (a namespace file: /run/netns/X, /proc/PID/ns/net, a container runtime's bind
//! mount such as /run/docker/netns/ID or /var/run/netns/cni-...), `--all-netns`.
//!
//! A netlink socket belongs to the namespace it was created in, so each namespace is read by a
//! fresh thread that enters it with setns() and only then opens its [`DiagSocket`]; the thread
//! streams sockets back in batches and ends with the dump (a thread that entered a namespace is
//! never reused). `--all-netns` finds every distinct namespace from /var/run/netns (named, `ip
//! netns add`) and /proc/*/ns/net (containers), deduplicated by the namespace's inode.

use super::dump::{stream_netlink, StreamReport};
use super::netlink::DiagSocket;
use super::query::Query;
use anyhow::{anyhow, bail, Context, Result};
use rustix::fs::{openat, Dir, Mode, OFlags, CWD};
use rustix::io::Errno;
use rustix::thread::{move_into_link_name_space, LinkNameSpaceType};
use std::collections::BTreeMap;
use std::io;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use tcpscope_core::decode::cgroup::{parse_cgroup_file, short_label};
use tcpscope_core::decode::inet_diag::SocketId;
use tcpscope_core::decode::process_text::{namespace_inode, parse_decimal};
use tcpscope_core::model::snapshot::KernelCounters;
use tcpscope_core::model::socket::Netns;
use tcpscope_core::Socket;

/// Where named namespaces live (`ip netns add NAME` bind-mounts them here).
pub const NETNS_DIR: &str = "/var/run/netns";

/// nsfs's filesystem magic: a file under /var/run/netns is a namespace only when it has this.
const NSFS_MAGIC: i64 = 0x6e73_6673;

/// Which namespaces to read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum NetnsScope {
    /// tcpscope's own namespace (the default).
    #[default]
    Current,
    /// A namespace named under /var/run/netns.
    Named(String),
    /// The namespace of a process.
    Pid(u32),
    /// The namespace a file names (a bind mount, or /proc/PID/ns/net).
    Path(PathBuf),
    /// Every distinct namespace on the host.
    All,
}

impl NetnsScope {
    /// From `--netns` (`NAME`, `pid:PID` or a path, which has a '/') and `--all-netns`.
    pub fn from_args(netns: Option<&str>, all: bool) -> Result<NetnsScope> {
        match (netns, all) {
            (Some(_), true) => bail!("--netns and --all-netns exclude each other; pick one"),
            (None, true) => Ok(NetnsScope::All),
            (None, false) => Ok(NetnsScope::Current),
            (Some(spec), false) => {
                if let Some(pid) = spec.strip_prefix("pid:") {
                    let pid = pid.parse::<u32>().map_err(|_| {
                        anyhow!("--netns pid:{pid}: '{pid}' is not a process id (e.g. --netns pid:1234)")
                    })?;
                    Ok(NetnsScope::Pid(pid))
                } else if spec.contains('/') {
                    Ok(NetnsScope::Path(PathBuf::from(spec)))
                } else if spec.is_empty() || spec == "." || spec == ".." {
                    bail!("--netns '{spec}' is not a namespace name; names are listed by `ip netns list` (or use --netns pid:PID, or a namespace file's path)")
                } else {
                    Ok(NetnsScope::Named(spec.to_string()))
                }
            }
        }
    }
}

/// One namespace to read: how it is labelled and the file that enters it.
#[derive(Debug, Clone)]
pub struct Target {
    pub netns: Netns,
    pub path: PathBuf,
    /// tcpscope's own namespace: read without setns (works without root).
    pub current: bool,
}

/// The namespaces a scope names, with notes on what could not be seen.
pub fn resolve(scope: &NetnsScope) -> Result<(Vec<Target>, Vec<String>)> {
    let current = current_inode();
    match scope {
        NetnsScope::Current => Ok((Vec::new(), Vec::new())),
        NetnsScope::Named(name) => {
            let path = Path::new(NETNS_DIR).join(name);
            let inode = nsfs_inode(&path).with_context(|| {
                format!("network namespace '{name}' ({}) cannot be used; `ip netns list` shows the names", path.display())
            })?;
            let netns = Netns {
                inode,
                name: Some(name.clone()),
                pid: None,
                container: None,
                path: None,
            };
            Ok((vec![target(netns, path, current)], Vec::new()))
        }
        NetnsScope::Pid(pid) => {
            let path = PathBuf::from(format!("/proc/{pid}/ns/net"));
            let link = std::fs::read_link(&path).map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => {
                    anyhow!("no process {pid}: --netns pid:{pid} needs a running process")
                }
                io::ErrorKind::PermissionDenied => denied_namespace_of(*pid),
                _ => anyhow!("reading {}: {e}", path.display()),
            })?;
            let inode =
                namespace_inode(link.as_os_str().as_encoded_bytes(), "net").ok_or_else(|| {
                    anyhow!(
                        "{} points to {}, not a network namespace",
                        path.display(),
                        link.display()
                    )
                })?;
            let netns = Netns {
                inode,
                name: named_namespaces()
                    .into_iter()
                    .find(|(_, ino)| *ino == inode)
                    .map(|(n, _)| n),
                pid: Some(*pid),
                container: container_label(*pid),
                path: None,
            };
            Ok((vec![target(netns, path, current)], Vec::new()))
        }
        NetnsScope::Path(path) => {
            let inode = namespace_file(path)?;
            Ok((
                vec![target(label_for_path(path, inode), path.clone(), current)],
                Vec::new(),
            ))
        }
        NetnsScope::All => discover_all(current),
    }
}

/// The inode of the network namespace the file at `path` names, or why it names none.
fn namespace_file(path: &Path) -> Result<u64> {
    let shown = path.display();
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => anyhow!(
            "--netns {shown}: no such file; give a namespace file (/run/netns/NAME, \
             /proc/PID/ns/net, or a container runtime's bind mount)"
        ),
        io::ErrorKind::PermissionDenied if !rustix::process::geteuid().is_root() => {
            anyhow!("--netns {shown}: permission denied; run as root")
        }
        _ => anyhow!("--netns {shown}: {e}"),
    })?;
    let fs = rustix::fs::fstatfs(&file)
        .with_context(|| format!("--netns {shown}: looking at the file"))?;
    #[allow(clippy::unnecessary_cast)]
    if fs.f_type as i64 != NSFS_MAGIC {
        bail!(
            "--netns {shown} is not a namespace file (a mounted one from `ip netns` or a container \
             runtime, or /proc/PID/ns/net); a stale entry under /run/netns is an empty file"
        );
    }
    match namespace_type(&file) {
        Some(t) if t != libc::CLONE_NEWNET => bail!(
            "--netns {shown} is a namespace of another kind ({}), not a network namespace \
             (for a process, use /proc/PID/ns/net)",
            namespace_kind(t)
        ),
        // Known to be a network namespace, or a kernel too old to say (setns checks it later).
        _ => {}
    }
    Ok(rustix::fs::fstat(&file)
        .with_context(|| format!("--netns {shown}: looking at the file"))?
        .st_ino)
}

/// The kind of namespace an nsfs file is (`CLONE_NEW*`), from ioctl(NS_GET_NSTYPE); `None` on
/// kernels before 4.11.
fn namespace_type(file: &std::fs::File) -> Option<i32> {
    /// `_IO(0xb7, 0x3)` from linux/nsfs.h.
    const NS_GET_NSTYPE: libc::c_ulong = 0xb703;
    // SAFETY: NS_GET_NSTYPE takes no argument and only reads the descriptor, which `file` keeps
    // open for the duration of the call.
    let t = unsafe { libc::ioctl(std::os::fd::AsRawFd::as_raw_fd(file), NS_GET_NSTYPE) };
    (t >= 0).then_some(t)
}

/// A namespace kind in words.
fn namespace_kind(t: i32) -> &'static str {
    match t {
        libc::CLONE_NEWNS => "mount",
        libc::CLONE_NEWUTS => "uts",
        libc::CLONE_NEWIPC => "ipc",
        libc::CLONE_NEWUSER => "user",
        libc::CLONE_NEWPID => "pid",
        libc::CLONE_NEWCGROUP => "cgroup",
        _ => "time or unknown",
    }
}

/// How a namespace given by its file is labelled: by name under /var/run/netns, by process for
/// /proc/PID/ns/net, else by the path (and a name, if one points to the same namespace).
fn label_for_path(path: &Path, inode: u64) -> Netns {
    let named = named_namespaces()
        .into_iter()
        .find(|(_, ino)| *ino == inode)
        .map(|(n, _)| n);
    let pid = path
        .to_str()
        .and_then(|p| p.strip_prefix("/proc/"))
        .and_then(|p| p.strip_suffix("/ns/net"))
        .and_then(|p| p.parse::<u32>().ok());
    let in_netns_dir = path
        .parent()
        .is_some_and(|d| d == Path::new(NETNS_DIR) || d == Path::new("/run/netns"));
    Netns {
        inode,
        name: named,
        pid,
        container: pid.and_then(container_label),
        path: (pid.is_none() && !in_netns_dir).then(|| path.display().to_string()),
    }
}

fn target(netns: Netns, path: PathBuf, current: Option<u64>) -> Target {
    let is_current = current == Some(netns.inode);
    Target {
        netns,
        path,
        current: is_current,
    }
}

/// The way back into the namespace a socket was labelled with when it was read: by its name,
/// else through the process the label names, else by the file it was given as. [`enter`] checks it is still that namespace.
pub fn target_for(netns: &Netns) -> Target {
    let path = match (&netns.name, netns.pid, &netns.path) {
        (Some(name), _, _) => Path::new(NETNS_DIR).join(name),
        (None, Some(pid), _) => PathBuf::from(format!("/proc/{pid}/ns/net")),
        (None, None, Some(file)) => PathBuf::from(file),
        (None, None, None) => PathBuf::from("/proc/thread-self/ns/net"),
    };
    target(netns.clone(), path, current_inode())
}

/// Why the namespace of `pid` cannot be read, saying what actually failed: "run as root" only
/// when tcpscope is not root. As root, the kernel still refuses unless tcpscope may ptrace the
/// process: it needs CAP_SYS_PTRACE, and a process with capabilities tcpscope lacks, another
/// user namespace's process or a security module can refuse it anyway.
fn denied_namespace_of(pid: u32) -> anyhow::Error {
    let path = format!("/proc/{pid}/ns/net");
    if !rustix::process::geteuid().is_root() {
        return anyhow!(
            "reading the namespace of process {pid} ({path}): permission denied; run as root \
             (or with CAP_SYS_PTRACE) to read other users' processes"
        );
    }
    let why = match effective_capability(CAP_SYS_PTRACE) {
        Some(false) => "tcpscope runs without CAP_SYS_PTRACE in its effective capabilities, \
                        which reading another process's namespaces needs"
            .to_string(),
        _ => format!(
            "the kernel does not let tcpscope inspect process {pid} (ptrace access: the \
             process may hold capabilities tcpscope lacks, belong to another user namespace, \
             or be protected by a security module such as SELinux or AppArmor)"
        ),
    };
    anyhow!(
        "reading the namespace of process {pid} ({path}): permission denied although tcpscope \
         runs as root: {why}. Name the namespace another way if it has one (`ip netns list`, \
         or --netns with its file, e.g. a container runtime's bind mount)"
    )
}

/// The capability number of CAP_SYS_PTRACE.
const CAP_SYS_PTRACE: u32 = 19;

/// Whether the calling thread has capability `cap` in its effective set (from
/// /proc/thread-self/status), `None` when that cannot be read.
fn effective_capability(cap: u32) -> Option<bool> {
    let status = std::fs::read_to_string("/proc/thread-self/status").ok()?;
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))?
        .trim();
    let bits = u64::from_str_radix(hex, 16).ok()?;
    Some(bits & (1 << cap) != 0)
}

/// The inode of the namespace tcpscope runs in.
pub fn current_inode() -> Option<u64> {
    let link = std::fs::read_link("/proc/thread-self/ns/net").ok()?;
    namespace_inode(link.as_os_str().as_encoded_bytes(), "net")
}

/// The inode of a namespace file, checking that it is one (a stale name under /var/run/netns is
/// an empty regular file).
fn nsfs_inode(path: &Path) -> io::Result<u64> {
    let fs = rustix::fs::statfs(path).map_err(io::Error::from)?;
    #[allow(clippy::unnecessary_cast)]
    if fs.f_type as i64 != NSFS_MAGIC {
        return Err(io::Error::other(
            "not a mounted namespace (stale entry? `ip netns del` it)",
        ));
    }
    Ok(rustix::fs::stat(path).map_err(io::Error::from)?.st_ino)
}

/// Named namespaces: (name, inode), sorted by name. A missing directory means none.
fn named_namespaces() -> Vec<(String, u64)> {
    let Ok(entries) = std::fs::read_dir(NETNS_DIR) else {
        return Vec::new();
    };
    let mut named: Vec<(String, u64)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let inode = nsfs_inode(&e.path()).ok()?;
            Some((name, inode))
        })
        .collect();
    named.sort();
    named
}

fn container_label(pid: u32) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    parse_cgroup_file(&text).container.as_ref().map(short_label)
}

/// Every distinct namespace: tcpscope's own first, then named ones, then the rest by lowest pid.
fn discover_all(current: Option<u64>) -> Result<(Vec<Target>, Vec<String>)> {
    let mut notes = Vec::new();
    // inode -> lowest pid inside.
    let mut by_pid: BTreeMap<u64, u32> = BTreeMap::new();
    let mut denied = 0u32;
    let proc_dir = openat(
        CWD,
        "/proc",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .context("opening /proc to find network namespaces")?;
    let mut pids = Vec::new();
    let mut dir = Dir::read_from(&proc_dir).context("listing /proc")?;
    while let Some(entry) = dir.read() {
        let entry = entry.context("listing /proc")?;
        if let Some(pid) = parse_decimal(entry.file_name().to_bytes()) {
            pids.push(pid);
        }
    }
    pids.sort_unstable();
    let mut link = [0u8; 64];
    for pid in pids {
        match rustix::fs::readlinkat_raw(&proc_dir, format!("{pid}/ns/net").as_str(), &mut link) {
            Ok(len) => {
                if let Some(ino) = namespace_inode(&link[..len.min(link.len())], "net") {
                    by_pid.entry(ino).or_insert(pid);
                }
            }
            // A process reaped between the lookup and the read answers EACCES too.
            Err(Errno::ACCESS | Errno::PERM) if !super::procfs::exited(proc_dir.as_fd(), pid) => {
                denied += 1
            }
            Err(_) => {} // exited, or a kernel thread without namespaces
        }
    }
    if denied > 0 {
        let who = if denied == 1 {
            "1 process".to_string()
        } else {
            format!("{denied} processes")
        };
        notes.push(if rustix::process::geteuid().is_root() {
            format!("the namespace of {who} could not be read even as root (permission denied); namespaces only it uses are not listed")
        } else {
            format!("the namespaces of {who} of other users are hidden (permission denied); run as root to list every namespace")
        });
    }

    let mut targets = Vec::new();
    let named = named_namespaces();
    let mut add = |t: Target| {
        if !targets
            .iter()
            .any(|x: &Target| x.netns.inode == t.netns.inode)
        {
            targets.push(t);
        }
    };
    if let Some(cur) = current {
        let pid = by_pid.get(&cur).copied();
        let name = named
            .iter()
            .find(|(_, i)| *i == cur)
            .map(|(n, _)| n.clone());
        add(Target {
            netns: Netns {
                inode: cur,
                name,
                pid,
                container: pid.and_then(container_label),
                path: None,
            },
            path: PathBuf::from("/proc/thread-self/ns/net"),
            current: true,
        });
    }
    for (name, inode) in &named {
        let pid = by_pid.get(inode).copied();
        add(target(
            Netns {
                inode: *inode,
                name: Some(name.clone()),
                pid,
                container: None,
                path: None,
            },
            Path::new(NETNS_DIR).join(name),
            current,
        ));
    }
    let mut rest: Vec<(u32, u64)> = by_pid.iter().map(|(ino, pid)| (*pid, *ino)).collect();
    rest.sort_unstable();
    for (pid, inode) in rest {
        add(target(
            Netns {
                inode,
                name: None,
                pid: Some(pid),
                container: container_label(pid),
                path: None,
            },
            PathBuf::from(format!("/proc/{pid}/ns/net")),
            current,
        ));
    }
    Ok((targets, notes))
}

/// Sockets per batch sent from a namespace's thread.
const BATCH: usize = 512;

/// What a namespace's thread is asked to do.
enum Job {
    Dump {
        query: Query,
        out: mpsc::SyncSender<Msg>,
    },
    Counters {
        out: mpsc::Sender<KernelCounters>,
    },
    /// One socket by its id (trace's owner lookups): not a dump.
    Lookup {
        id: SocketId,
        out: mpsc::Sender<Result<Option<Socket>>>,
    },
}

/// What a namespace's thread sends back during a dump.
enum Msg {
    Sockets(Vec<Socket>),
    Done(Result<StreamReport>),
}

/// A thread that lives inside one network namespace for as long as the collector does: it
/// entered the namespace once (setns), keeps its sock_diag socket open, and serves dumps,
/// lookups of single sockets and counter reads (/proc/thread-self/net and /proc/sys/net show the namespace of the thread that
/// reads them). Dropping the reader ends the thread.
pub struct NsReader {
    pub target: Target,
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl NsReader {
    /// Start the thread and wait until it is inside the namespace with its socket open.
    pub fn spawn(target: Target) -> Result<NsReader> {
        let (jobs, rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<()>>();
        let t = target.clone();
        let thread = std::thread::Builder::new()
            .name("tcpscope-netns".into())
            .spawn(move || serve(t, rx, ready_tx))
            .context("starting a thread to read a network namespace")?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(NsReader {
                target,
                jobs: Some(jobs),
                thread: Some(thread),
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => Err(anyhow!(
                "the thread reading namespace {} ended before it started",
                describe(&target.netns)
            )),
        }
    }

    /// Read the sockets of the namespace, labelled with it, and hand them to `each`.
    pub fn stream(
        &self,
        query: &Query,
        each: &mut dyn FnMut(Socket) -> io::Result<()>,
    ) -> Result<StreamReport> {
        let (out, rx) = mpsc::sync_channel::<Msg>(4);
        self.send(Job::Dump {
            query: query.clone(),
            out,
        })?;
        let label = &self.target.netns;
        for msg in rx.iter() {
            match msg {
                Msg::Sockets(batch) => {
                    for mut sock in batch {
                        sock.netns = Some(label.clone());
                        // Dropping `rx` (returning) makes the thread's next send fail: it stops.
                        each(sock)?;
                    }
                }
                Msg::Done(result) => return result,
            }
        }
        Err(anyhow!(
            "the thread reading namespace {} stopped",
            describe(label)
        ))
    }

    /// Ask for the socket `id` names, labelled with the namespace; the answer comes on the
    /// returned channel, so the caller can ask every namespace before waiting for any.
    pub fn lookup(&self, id: &SocketId) -> Result<mpsc::Receiver<Result<Option<Socket>>>> {
        let (out, rx) = mpsc::channel();
        self.send(Job::Lookup { id: *id, out })?;
        Ok(rx)
    }

    /// The namespace's kernel counters and sysctls.
    pub fn counters(&self) -> Result<KernelCounters> {
        let (out, rx) = mpsc::channel();
        self.send(Job::Counters { out })?;
        rx.recv().map_err(|_| {
            anyhow!(
                "the thread reading namespace {} stopped",
                describe(&self.target.netns)
            )
        })
    }

    fn send(&self, job: Job) -> Result<()> {
        self.jobs
            .as_ref()
            .and_then(|j| j.send(job).ok())
            .ok_or_else(|| {
                anyhow!(
                    "the thread reading namespace {} stopped",
                    describe(&self.target.netns)
                )
            })
    }
}

impl Drop for NsReader {
    fn drop(&mut self) {
        // Closing the job channel ends the thread's loop.
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The body of a namespace's thread: enter, open, then serve jobs until the reader is dropped.
fn serve(target: Target, jobs: mpsc::Receiver<Job>, ready: mpsc::Sender<Result<()>>) {
    let opened = (|| -> Result<DiagSocket> {
        if !target.current {
            enter(&target)?;
        }
        DiagSocket::open().with_context(|| {
            format!(
                "opening sock_diag in network namespace {}",
                describe(&target.netns)
            )
        })
    })();
    let mut sock = match opened {
        Ok(s) => {
            let _ = ready.send(Ok(()));
            s
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    for job in jobs.iter() {
        match job {
            Job::Counters { out } => {
                let _ = out.send(super::kernel::counters());
            }
            Job::Lookup { id, out } => {
                let found = sock
                    .lookup(&id, false)
                    .map(|s| {
                        s.map(|mut s| {
                            s.netns = Some(target.netns.clone());
                            s
                        })
                    })
                    .with_context(|| {
                        format!(
                            "looking a socket up in network namespace {}",
                            describe(&target.netns)
                        )
                    });
                let _ = out.send(found);
            }
            Job::Dump { query, out } => {
                let mut batch = Vec::with_capacity(BATCH);
                let mut send = |s: Socket| -> io::Result<()> {
                    batch.push(s);
                    if batch.len() >= BATCH {
                        out.send(Msg::Sockets(std::mem::replace(
                            &mut batch,
                            Vec::with_capacity(BATCH),
                        )))
                        .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "output closed"))?;
                    }
                    Ok(())
                };
                let report = stream_netlink(&mut sock, &query, &mut send);
                let report = match report {
                    Ok(r) if !batch.is_empty() => match out.send(Msg::Sockets(batch)) {
                        Ok(()) => Ok(r),
                        Err(_) => continue,
                    },
                    other => other,
                };
                let _ = out.send(Msg::Done(report));
            }
        }
    }
}

/// Move the calling thread into the target's network namespace (for good: use a thread that
/// ends afterwards).
pub fn enter(target: &Target) -> Result<()> {
    let file = std::fs::File::open(&target.path).map_err(|e| {
        anyhow!(
            "opening network namespace {} ({}): {e}; it may have gone away",
            describe(&target.netns),
            target.path.display()
        )
    })?;
    // A /proc/PID/ns/net path names whatever namespace that pid is in now: if the process exited
    // and its pid was reused, this is another namespace, and its sockets must not get this label.
    let inode = rustix::fs::fstat(&file)
        .map(|st| st.st_ino)
        .map_err(|e| anyhow!("reading network namespace {}: {e}", describe(&target.netns)))?;
    if inode != target.netns.inode {
        bail!(
            "network namespace {} went away while tcpscope looked (its process exited)",
            describe(&target.netns)
        );
    }
    move_into_link_name_space(file.as_fd(), Some(LinkNameSpaceType::Network)).map_err(|e| {
        let root = rustix::process::geteuid().is_root();
        let why = match e {
            Errno::PERM if !root => {
                "permission denied; entering another network namespace needs root \
                 (CAP_SYS_ADMIN)"
                    .to_string()
            }
            Errno::PERM => "permission denied although tcpscope runs as root: entering a \
                            network namespace needs CAP_SYS_ADMIN over the user namespace that \
                            owns it (tcpscope may lack the capability, or the namespace belongs \
                            to another user namespace)"
                .to_string(),
            e => e.to_string(),
        };
        anyhow!(
            "entering network namespace {}: {why}",
            describe(&target.netns)
        )
    })
}

/// A namespace in words for messages: `'blue'`, `of pid 1234 (docker:0123456789ab)`,
/// `/run/docker/netns/0123`.
pub fn describe(n: &Netns) -> String {
    n.describe()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_from_args() {
        assert_eq!(
            NetnsScope::from_args(None, false).unwrap(),
            NetnsScope::Current
        );
        assert_eq!(NetnsScope::from_args(None, true).unwrap(), NetnsScope::All);
        assert_eq!(
            NetnsScope::from_args(Some("blue"), false).unwrap(),
            NetnsScope::Named("blue".into())
        );
        assert_eq!(
            NetnsScope::from_args(Some("pid:42"), false).unwrap(),
            NetnsScope::Pid(42)
        );
        assert!(NetnsScope::from_args(Some("pid:x"), false).is_err());
        assert_eq!(
            NetnsScope::from_args(Some("/run/docker/netns/abc"), false).unwrap(),
            NetnsScope::Path("/run/docker/netns/abc".into())
        );
        assert!(NetnsScope::from_args(Some(".."), false).is_err());
        assert!(NetnsScope::from_args(Some("a"), true).is_err());
    }

    #[test]
    fn all_includes_our_own_namespace_first() {
        let (targets, _) = resolve(&NetnsScope::All).unwrap();
        let first = targets.first().expect("at least our namespace");
        assert!(first.current);
        assert_eq!(Some(first.netns.inode), current_inode());
        let mut inodes: Vec<u64> = targets.iter().map(|t| t.netns.inode).collect();
        inodes.sort_unstable();
        inodes.dedup();
        assert_eq!(inodes.len(), targets.len(), "namespaces are deduplicated");
    }

    #[test]
    fn reading_our_own_namespace_needs_no_setns() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let (targets, _) = resolve(&NetnsScope::All).unwrap();
        let reader = NsReader::spawn(targets[0].clone()).unwrap();
        for _ in 0..2 {
            let mut found = false;
            reader
                .stream(&Query::all(), &mut |s| {
                    found |= s.local.port == port && s.netns.is_some();
                    Ok(())
                })
                .unwrap();
            assert!(found, "the same thread serves every poll");
        }
        assert!(reader.counters().unwrap().sysctls.len() > 3);
    }
}
