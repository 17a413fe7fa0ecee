//! Pure parsers for the per-process text that process attribution reads: fd link targets
//! (`socket:[INODE]`), /proc/PID/cmdline, /proc/PID/status (uids, signal dispositions,
//! capabilities — what `release` must know before it touches a socket), and /etc/passwd.
//! The binary does the reading; everything here takes bytes or `&str` and is tested anywhere.

use std::collections::HashMap;

/// The inode of a socket from an fd's link target, `socket:[12345]`; `None` for anything else
/// (files, pipes, anon inodes).
pub fn socket_inode(link: &[u8]) -> Option<u64> {
    bracketed_number(link.strip_prefix(b"socket:[")?)
}

/// `DIGITS]` into the number: ASCII digits only (no sign, no space), at most 20 of them (the
/// kernel prints no leading zeros, so more is never a u64).
fn bracketed_number(rest: &[u8]) -> Option<u64> {
    let digits = rest.strip_suffix(b"]")?;
    if digits.is_empty() || digits.len() > 20 {
        return None;
    }
    let mut n: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(n)
}

/// A decimal number from a directory entry name (a pid under /proc, an fd under fd/).
pub fn parse_decimal(name: &[u8]) -> Option<u32> {
    if name.is_empty() || name.len() > 10 {
        return None;
    }
    let mut n: u32 = 0;
    for &d in name {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u32::from(d - b'0'))?;
    }
    Some(n)
}

/// The longest command line kept, in bytes. Every socket's owner carries a copy, so a Java
/// process with a 30 KiB classpath and 50k sockets would otherwise cost 1.5 GB.
pub const CMDLINE_MAX: usize = 4096;

/// /proc/PID/cmdline (arguments separated and ended by NUL) as one line, arguments joined by
/// spaces. Kernel threads have an empty cmdline. Longer than [`CMDLINE_MAX`], it is cut and
/// ends with `... [N bytes]`, N being the full length.
pub fn cmdline_text(raw: &[u8]) -> String {
    let trimmed = raw.strip_suffix(b"\0").unwrap_or(raw);
    if trimmed.len() > CMDLINE_MAX {
        let head = String::from_utf8_lossy(&trimmed[..CMDLINE_MAX]).replace('\0', " ");
        return format!("{head}... [{} bytes]", trimmed.len());
    }
    String::from_utf8_lossy(trimmed).replace('\0', " ")
}

/// /proc/PID/comm without its newline.
pub fn comm_text(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw)
        .trim_end_matches('\n')
        .to_string()
}

/// The effective uid from the text of /proc/PID/status (the `Uid:` line: real, effective, saved, fs).
pub fn status_euid(status: &str) -> Option<u32> {
    let line = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
    let mut ids = line.split_whitespace();
    let real = ids.next()?;
    ids.next().unwrap_or(real).parse().ok()
}

/// The fields of /proc/PID/status that say what acting on a process's socket would do to it and
/// whether tcpscope may: scheduler state, uids, signal masks, effective capabilities. Fields
/// missing from the text stay `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcStatus {
    /// The `State:` letter (R, S, D, T, t, Z, ...).
    pub state: Option<char>,
    /// `Uid:` real, effective, saved, filesystem.
    pub uids: Option<[u32; 4]>,
    /// `SigIgn:`: bit N-1 set when signal N is ignored (process-wide).
    pub sig_ignored: Option<u64>,
    /// `SigCgt:`: bit N-1 set when signal N has a handler (process-wide).
    pub sig_caught: Option<u64>,
    /// `CapEff:`: the effective capability set.
    pub cap_effective: Option<u64>,
}

/// Signal numbers and capability bits tcpscope asks about (the same on every Linux architecture
/// tcpscope builds for).
pub const SIGPIPE: u32 = 13;
pub const CAP_NET_ADMIN: u32 = 12;
pub const CAP_SYS_PTRACE: u32 = 19;
pub const CAP_SYS_ADMIN: u32 = 21;

impl ProcStatus {
    /// True/false when the mask is known: is signal `sig` ignored?
    pub fn ignores(&self, sig: u32) -> Option<bool> {
        self.sig_ignored.map(|m| bit(m, sig - 1))
    }
    /// Is there a handler for signal `sig`?
    pub fn catches(&self, sig: u32) -> Option<bool> {
        self.sig_caught.map(|m| bit(m, sig - 1))
    }
    /// Is capability `cap` effective?
    pub fn has_cap(&self, cap: u32) -> bool {
        self.cap_effective.is_some_and(|m| bit(m, cap))
    }
}

fn bit(mask: u64, n: u32) -> bool {
    n < 64 && mask & (1 << n) != 0
}

/// Parse the text of /proc/PID/status.
pub fn parse_status(text: &str) -> ProcStatus {
    let mut st = ProcStatus::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        let hex = || u64::from_str_radix(value, 16).ok();
        match key {
            "State" => st.state = value.chars().next(),
            "Uid" => {
                let ids: Vec<u32> = value
                    .split_whitespace()
                    .filter_map(|v| v.parse().ok())
                    .collect();
                st.uids = <[u32; 4]>::try_from(ids).ok();
            }
            "SigIgn" => st.sig_ignored = hex(),
            "SigCgt" => st.sig_caught = hex(),
            "CapEff" => st.cap_effective = hex(),
            _ => {}
        }
    }
    st
}

/// User names by uid, from the text of /etc/passwd (the first name of a uid wins).
pub fn parse_passwd(text: &str) -> HashMap<u32, String> {
    let mut users = HashMap::new();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let mut fields = line.split(':');
        let (Some(name), Some(_pw), Some(uid)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if let Ok(uid) = uid.parse::<u32>() {
            users.entry(uid).or_insert_with(|| name.to_string());
        }
    }
    users
}

/// The name of `uid` from `users`, or the number when it has none.
pub fn user_name(users: &HashMap<u32, String>, uid: u32) -> String {
    users.get(&uid).cloned().unwrap_or_else(|| uid.to_string())
}

/// The inode of a namespace from its link target, `net:[4026531840]`.
pub fn namespace_inode(link: &[u8], kind: &str) -> Option<u64> {
    bracketed_number(link.strip_prefix(kind.as_bytes())?.strip_prefix(b":[")?)
}

/// The state letter and the parent pid from the text of /proc/PID/stat (fields 3 and 4, after
/// the parenthesised comm, which may itself contain spaces and parentheses).
pub fn parse_stat(stat: &str) -> Option<(char, u32)> {
    let mut after = stat[stat.rfind(')')? + 1..].split_whitespace();
    let state = after.next()?.chars().next()?;
    let ppid = after.next()?.parse().ok()?;
    Some((state, ppid))
}

/// The start time of a process (field 22 of /proc/PID/stat, clock ticks since boot): with the
/// pid it identifies one process for its whole life, so a reused pid is noticed.
pub fn parse_start_time(stat: &str) -> Option<u64> {
    // Fields after the parenthesised comm start at field 3 (state); field 22 is the 20th of them.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

/// The soft "Max open files" limit from the text of /proc/PID/limits (`None` for unlimited).
pub fn parse_limits_nofile(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line["Max open files".len()..].split_whitespace().next()?;
    soft.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_links() {
        assert_eq!(socket_inode(b"socket:[12345]"), Some(12345));
        assert_eq!(socket_inode(b"socket:[0]"), Some(0));
        assert_eq!(socket_inode(b"socket:[]"), None);
        assert_eq!(socket_inode(b"socket:[12a]"), None);
        assert_eq!(socket_inode(b"pipe:[12345]"), None);
        assert_eq!(socket_inode(b"/dev/null"), None);
        assert_eq!(socket_inode(b"anon_inode:[eventpoll]"), None);
        assert_eq!(socket_inode(b"socket:[99999999999999999999999]"), None);
    }

    #[test]
    fn decimals() {
        assert_eq!(parse_decimal(b"4242"), Some(4242));
        assert_eq!(parse_decimal(b"self"), None);
        assert_eq!(parse_decimal(b""), None);
        assert_eq!(parse_decimal(b"99999999999"), None);
    }

    #[test]
    fn cmdlines_and_comms() {
        assert_eq!(
            cmdline_text(b"python3\0-c\0print(1)\0"),
            "python3 -c print(1)"
        );
        assert_eq!(cmdline_text(b""), "");
        assert_eq!(
            cmdline_text(b"nginx: worker process"),
            "nginx: worker process"
        );
        assert_eq!(comm_text(b"socat\n"), "socat");
        let long = vec![b'a'; CMDLINE_MAX + 10];
        let text = cmdline_text(&long);
        assert!(
            text.ends_with(&format!("... [{} bytes]", CMDLINE_MAX + 10)),
            "{}",
            &text[4090..]
        );
        assert!(text.len() < CMDLINE_MAX + 30);
    }

    #[test]
    fn status_uids() {
        let status = "Name:\tsshd\nUmask:\t0022\nUid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\n";
        assert_eq!(status_euid(status), Some(0));
        assert_eq!(status_euid("Uid:\t7\n"), Some(7));
        assert_eq!(status_euid("Name:\tx\n"), None);
        assert_eq!(status_euid("Uid:\tbogus\t1\n"), Some(1));
    }

    #[test]
    fn status_fields() {
        // A Python program (SIGPIPE ignored, SIGINT caught) as root.
        let text = "Name:\tpython3\nState:\tT (stopped)\nUid:\t1000\t1000\t1000\t1000\n\
                    SigBlk:\t0000000000000000\nSigIgn:\t0000000001001000\nSigCgt:\t0000000180000002\n\
                    CapEff:\t000001ffffffffff\n";
        let st = parse_status(text);
        assert_eq!(st.state, Some('T'));
        assert_eq!(st.uids, Some([1000; 4]));
        assert_eq!(st.ignores(SIGPIPE), Some(true));
        assert_eq!(st.catches(SIGPIPE), Some(false));
        assert_eq!(st.catches(2), Some(true));
        assert!(st.has_cap(CAP_NET_ADMIN) && st.has_cap(CAP_SYS_PTRACE));
        // Default SIGPIPE, no capabilities.
        let st = parse_status("SigIgn:\t0000000000000000\nCapEff:\t0000000000000000\n");
        assert_eq!(st.ignores(SIGPIPE), Some(false));
        assert!(!st.has_cap(CAP_NET_ADMIN));
        // Nothing readable: unknown, not "no".
        let st = parse_status("garbage\nUid:\t1\t2\n");
        assert_eq!(st.ignores(SIGPIPE), None);
        assert_eq!(st.uids, None);
        assert!(!st.has_cap(CAP_SYS_ADMIN));
    }

    #[test]
    fn passwd() {
        let text = "# comment\nroot:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534::/:/sbin/nologin\ntoor:x:0:0::/:/bin/sh\nbroken\nweird:x:notanumber:0::/:\n";
        let users = parse_passwd(text);
        assert_eq!(user_name(&users, 0), "root");
        assert_eq!(user_name(&users, 65534), "nobody");
        assert_eq!(user_name(&users, 1234), "1234");
        assert_eq!(users.len(), 2);
    }

    #[test]
    fn namespace_links() {
        assert_eq!(
            namespace_inode(b"net:[4026531840]", "net"),
            Some(4026531840)
        );
        assert_eq!(namespace_inode(b"mnt:[4026531840]", "net"), None);
        assert_eq!(namespace_inode(b"net:[x]", "net"), None);
        // Fuzz finding: the two link readers disagreed. `str::parse` took a sign and any
        // number of leading zeros; both now read the kernel's digits the same way.
        assert_eq!(namespace_inode(b"net:[+5]", "net"), None);
        assert_eq!(
            namespace_inode(&[b"net:[".as_slice(), &[b'0'; 23], b"]"].concat(), "net"),
            None
        );
        assert_eq!(
            socket_inode(&[b"socket:[".as_slice(), &[b'0'; 23], b"]"].concat()),
            None
        );
    }

    #[test]
    fn parses_stat_and_limits() {
        assert_eq!(
            parse_stat("4242 (my (odd) prog) T 1 4242 ..."),
            Some(('T', 1))
        );
        assert_eq!(parse_stat("1 (init) S 0"), Some(('S', 0)));
        assert_eq!(parse_stat("garbage"), None);
        let stat =
            "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 50";
        assert_eq!(parse_start_time(stat), Some(987654));
        assert_eq!(parse_start_time("1 (x) S 0"), None);
        assert_eq!(parse_stat("5 (x) S notapid"), None);
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \nMax cpu time              unlimited            unlimited            seconds   \nMax open files            1024                 20000                files     \n";
        assert_eq!(parse_limits_nofile(limits), Some(1024));
        assert_eq!(
            parse_limits_nofile("Max open files unlimited unlimited files"),
            None
        );
    }
}
