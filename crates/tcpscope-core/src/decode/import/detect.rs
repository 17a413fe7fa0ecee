//! Which tool printed a capture: the format families, their names for `--from-format`, the
//! prompt line (`$ ss -tn state close-wait`, `C:\>netstat -ano`, `PS C:\> Get-NetTCPConnection`)
//! and detection by the shape of the rows.
//!
//! Rows decide, not headers: headers are translated (`Aktive Verbindungen`, `Endereço Local`)
//! and `ss -H` has none, but the rows keep their shape in every language. Each line that looks
//! like a row votes for a family; the most votes win, and the prompt's command breaks ties.

use super::{bsd, linux_netstat, powershell, procfs, solaris, ss, windows, Context, Parsed};

/// A family of capture formats, each read by one parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Windows `netstat -an`, `-ano`, `-anob`, `-ano -p tcp` (any language).
    WindowsNetstat,
    /// Windows PowerShell `Get-NetTCPConnection` (`| Format-Table`, the default view).
    WindowsPowershell,
    /// macOS, FreeBSD, OpenBSD `netstat -an` (`-p tcp`).
    BsdNetstat,
    /// AIX `netstat -an` and `netstat -Aan`.
    AixNetstat,
    /// Solaris and illumos `netstat -an` (`-f inet`, `-P tcp`, illumos `-u`).
    SolarisNetstat,
    /// Linux net-tools `netstat -tan`, `-tanp`, `-tanpo`, `-tanpe` (any translation).
    LinuxNetstat,
    /// Linux iproute2 `ss -tan`, `-tanp`, `-tanpoe`, `-tani`, `-H`, filtered.
    LinuxSs,
    /// Copies of /proc/net/tcp and /proc/net/tcp6.
    LinuxProcNetTcp,
}

impl Format {
    pub const ALL: [Format; 8] = [
        Format::WindowsNetstat,
        Format::WindowsPowershell,
        Format::BsdNetstat,
        Format::AixNetstat,
        Format::SolarisNetstat,
        Format::LinuxNetstat,
        Format::LinuxSs,
        Format::LinuxProcNetTcp,
    ];

    /// The name `--from-format` takes; recorded formats start with it (`windows-netstat-ano`).
    pub fn name(self) -> &'static str {
        match self {
            Format::WindowsNetstat => "windows-netstat",
            Format::WindowsPowershell => "windows-powershell",
            Format::BsdNetstat => "bsd-netstat",
            Format::AixNetstat => "aix-netstat",
            Format::SolarisNetstat => "solaris-netstat",
            Format::LinuxNetstat => "linux-netstat",
            Format::LinuxSs => "linux-ss",
            Format::LinuxProcNetTcp => "linux-proc-net-tcp",
        }
    }

    pub fn names() -> Vec<&'static str> {
        Format::ALL.iter().map(|f| f.name()).collect()
    }

    /// A family by its name or by a recorded format name (`windows-netstat-ano`), and a few
    /// obvious aliases (`ss`, `netstat-windows`, `macos-netstat`, `proc`).
    pub fn from_name(name: &str) -> Option<Format> {
        let n = name.trim().to_ascii_lowercase().replace('_', "-");
        let alias = match n.as_str() {
            "ss" => Some(Format::LinuxSs),
            "proc" | "proc-net-tcp" | "/proc/net/tcp" => Some(Format::LinuxProcNetTcp),
            "powershell" | "get-nettcpconnection" => Some(Format::WindowsPowershell),
            "macos-netstat" | "freebsd-netstat" | "openbsd-netstat" => Some(Format::BsdNetstat),
            "illumos-netstat" => Some(Format::SolarisNetstat),
            "net-tools" | "netstat-linux" => Some(Format::LinuxNetstat),
            _ => None,
        };
        alias.or_else(|| {
            Format::ALL
                .into_iter()
                .filter(|f| n == f.name() || n.starts_with(&format!("{}-", f.name())))
                .max_by_key(|f| f.name().len())
        })
    }

    pub(crate) fn parse(self, lines: &[&str], ctx: &Context) -> Parsed {
        match self {
            Format::WindowsNetstat => windows::parse(lines),
            Format::WindowsPowershell => powershell::parse(lines),
            Format::BsdNetstat => bsd::parse(lines, false),
            Format::AixNetstat => bsd::parse(lines, true),
            Format::SolarisNetstat => solaris::parse(lines),
            Format::LinuxNetstat => linux_netstat::parse(lines),
            Format::LinuxSs => ss::parse(lines, ctx),
            Format::LinuxProcNetTcp => procfs::parse(lines),
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Format, String> {
        Format::from_name(s).ok_or_else(|| {
            format!(
                "unknown capture format '{s}'; known: {} (docs/import.md)",
                Format::names().join(", ")
            )
        })
    }
}

/// The command that made the capture, from its prompt line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// From the program's name on: `ss -tn state close-wait`.
    pub text: String,
    /// The program, lower case, without `.exe`: `ss`, `netstat`, `get-nettcpconnection`, `cat`.
    pub program: String,
    /// The words after the program.
    pub args: Vec<String>,
    /// 0-based line of the prompt.
    pub line: usize,
}

impl Command {
    /// The single state an `ss` filter names (`state close-wait`, `state listening`), which is
    /// when ss leaves out its State column.
    pub fn ss_single_state(&self) -> Option<String> {
        if self.program != "ss" {
            return None;
        }
        let states: Vec<&String> = self
            .args
            .windows(2)
            .filter(|w| w[0] == "state")
            .map(|w| &w[1])
            .collect();
        match states.as_slice() {
            [one] if !self.args.iter().any(|a| a == "exclude") => Some(one.to_string()),
            _ => None,
        }
    }
}

const PROGRAMS: [&str; 5] = ["netstat", "ss", "get-nettcpconnection", "cat", "type"];

/// The first line before any row that runs one of the capturing commands.
pub(crate) fn command(lines: &[&str]) -> Option<Command> {
    for (i, line) in lines.iter().enumerate().take(50) {
        if looks_like_row(line).is_some() {
            return None;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        for (w, word) in words.iter().enumerate() {
            // `C:\Users\x>netstat`, `user@host:~$ss`: the program may follow the prompt's end.
            let tail = word.rsplit(['>', '$', '#']).next().unwrap_or(word);
            let program = tail
                .to_ascii_lowercase()
                .trim_end_matches(".exe")
                .to_string();
            let is_program = PROGRAMS.contains(&program.as_str())
                && (program != "cat" && program != "type"
                    || words.get(w + 1).is_some_and(|a| a.contains("net/tcp")));
            // A word of a banner ("netstat" in a sentence) is not a command: it must be the first
            // word, or follow a prompt sign.
            let after_prompt = w == 0
                || tail.len() < word.len()
                || words[w - 1].ends_with(['$', '#', '>', '%'])
                || words[w - 1] == "sudo";
            if is_program && after_prompt {
                let args: Vec<String> = words[w + 1..].iter().map(|s| s.to_string()).collect();
                let mut text = tail.to_string();
                for a in &args {
                    text.push(' ');
                    text.push_str(a);
                }
                return Some(Command {
                    text,
                    program,
                    args,
                    line: i,
                });
            }
        }
    }
    None
}

/// Which family a single line's shape belongs to, if it looks like a TCP (or other protocol) row.
pub(crate) fn looks_like_row(line: &str) -> Option<Format> {
    let w: Vec<&str> = line.split_whitespace().collect();
    let first = *w.first()?;
    let number = |i: usize| {
        w.get(i)
            .is_some_and(|t| t.bytes().all(|b| b.is_ascii_digit()))
    };
    if procfs::is_row(&w) {
        return Some(Format::LinuxProcNetTcp);
    }
    if (first == "TCP" || first == "UDP") && w.len() >= 3 && w[1].contains(':') {
        return Some(Format::WindowsNetstat);
    }
    let lower = first.to_ascii_lowercase();
    let proto = lower.starts_with("tcp") || lower.starts_with("udp");
    // AIX `netstat -Aan` starts with a PCB address.
    if w.len() >= 6 && is_hex_word(first) && w[1].starts_with("tcp") && number(2) {
        return Some(Format::AixNetstat);
    }
    if proto && number(1) && number(2) && w.len() >= 5 {
        let local = w[3];
        return Some(if colon_port(local) {
            Format::LinuxNetstat
        } else {
            Format::BsdNetstat
        });
    }
    if ss::is_state_word(first) && number(1) && number(2) && w.len() >= 5 {
        return Some(Format::LinuxSs);
    }
    // ss with a Netid column (`ss -an`), or without a State column (filtered on one state).
    if w.len() >= 6 && ss::is_state_word(w[1]) && number(2) && number(3) {
        return Some(Format::LinuxSs);
    }
    if w.len() >= 4 && number(0) && number(1) && colon_port(w[2]) && colon_port(w[3]) {
        return Some(Format::LinuxSs);
    }
    if solaris::is_row(&w) {
        return Some(Format::SolarisNetstat);
    }
    if powershell::is_row(&w) {
        return Some(Format::WindowsPowershell);
    }
    None
}

fn is_hex_word(s: &str) -> bool {
    s.len() >= 8 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// True for `ADDR:PORT` with a numeric or `*` port.
fn colon_port(s: &str) -> bool {
    s.rsplit_once(':')
        .is_some_and(|(_, p)| p == "*" || (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())))
}

/// The family the capture's lines vote for; the prompt's command breaks ties and settles what
/// the rows alone cannot (AIX and BSD print the same rows).
pub(crate) fn detect(lines: &[&str], command: Option<&Command>) -> Option<Format> {
    let text_markers = |needle: &str| lines.iter().any(|l| l.contains(needle));
    if text_markers("LocalAddress") && text_markers("LocalPort") {
        return Some(Format::WindowsPowershell);
    }
    if lines
        .iter()
        .any(|l| l.trim_start().starts_with("TCP: IPv4") || l.trim_start().starts_with("TCP: IPv6"))
        || text_markers("Swind")
    {
        return Some(Format::SolarisNetstat);
    }
    let mut votes: Vec<(Format, usize)> = Vec::new();
    for line in lines {
        if let Some(f) = looks_like_row(line) {
            match votes.iter_mut().find(|(g, _)| *g == f) {
                Some((_, n)) => *n += 1,
                None => votes.push((f, 1)),
            }
        }
    }
    let hinted = command.and_then(|c| match c.program.as_str() {
        "ss" => Some(Format::LinuxSs),
        "get-nettcpconnection" => Some(Format::WindowsPowershell),
        "cat" | "type" => Some(Format::LinuxProcNetTcp),
        _ => None,
    });
    votes.sort_by_key(|(f, n)| (std::cmp::Reverse(*n), Some(*f) != hinted));
    let (winner, _) = *votes.first()?;
    // BSD and AIX rows look alike: AIX marks its output with PCB/ADDR or SADR/PCB.
    if winner == Format::BsdNetstat && (text_markers("PCB/ADDR") || text_markers("SADR/PCB")) {
        return Some(Format::AixNetstat);
    }
    Some(winner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_and_aliases() {
        for f in Format::ALL {
            assert_eq!(Format::from_name(f.name()), Some(f));
        }
        assert_eq!(
            Format::from_name("windows-netstat-ano"),
            Some(Format::WindowsNetstat)
        );
        assert_eq!(Format::from_name("linux-ss-tanp"), Some(Format::LinuxSs));
        assert_eq!(Format::from_name("SS"), Some(Format::LinuxSs));
        assert_eq!(
            Format::from_name("linux-netstat-tanpo"),
            Some(Format::LinuxNetstat)
        );
        assert_eq!(Format::from_name("windows"), None);
        assert!("nope"
            .parse::<Format>()
            .unwrap_err()
            .contains("windows-netstat"));
    }

    #[test]
    fn prompt_lines() {
        let c = |l: &str| command(&[l]).map(|c| (c.program, c.text));
        assert_eq!(
            c("$ ss -tn state close-wait").unwrap().1,
            "ss -tn state close-wait"
        );
        assert_eq!(c(r"C:\Users\Admin>netstat -ano").unwrap().0, "netstat");
        assert_eq!(
            c(r"PS C:\> Get-NetTCPConnection").unwrap().0,
            "get-nettcpconnection"
        );
        assert_eq!(
            c("root@web01:~# sudo netstat -tanp").unwrap().1,
            "netstat -tanp"
        );
        assert_eq!(c("netstat -an").unwrap().0, "netstat");
        assert_eq!(c("$ cat /proc/net/tcp").unwrap().0, "cat");
        assert_eq!(
            c("Active Internet connections (servers and established)"),
            None
        );
        assert_eq!(c("we ran netstat on the box"), None);
        let cmd = command(&["$ ss -tn state close-wait"]).unwrap();
        assert_eq!(cmd.ss_single_state().as_deref(), Some("close-wait"));
        let two = command(&["$ ss -tn state close-wait state time-wait"]).unwrap();
        assert_eq!(two.ss_single_state(), None);
    }

    #[test]
    fn rows_vote_by_shape() {
        let f = |l: &str| looks_like_row(l);
        assert_eq!(
            f("  TCP    0.0.0.0:135            0.0.0.0:0              LISTENING       1060"),
            Some(Format::WindowsNetstat)
        );
        assert_eq!(
            f("tcp        0      0 0.0.0.0:22              0.0.0.0:*               LISTEN"),
            Some(Format::LinuxNetstat)
        );
        assert_eq!(
            f("tcp6       0      0 :::8443                 :::*                    LISTEN"),
            Some(Format::LinuxNetstat)
        );
        assert_eq!(
            f("tcp4       0      0  192.168.1.5.55555      17.57.144.10.5223      ESTABLISHED"),
            Some(Format::BsdNetstat)
        );
        assert_eq!(
            f("tcp46      0      0  *.80                   *.*                    LISTEN"),
            Some(Format::BsdNetstat)
        );
        assert_eq!(
            f("f1000f00055bcbc0 tcp4       0      0  *.*                   *.*                   CLOSED"),
            Some(Format::AixNetstat)
        );
        assert_eq!(
            f("ESTAB      0      0               127.0.0.1:34457         127.64.0.1:59410"),
            Some(Format::LinuxSs)
        );
        assert_eq!(
            f("1      0               127.0.0.1:42805         127.64.0.1:49260"),
            Some(Format::LinuxSs)
        );
        assert_eq!(
            f("tcp   LISTEN 0      4096   127.0.0.1:45447 0.0.0.0:*"),
            Some(Format::LinuxSs)
        );
        assert_eq!(
            f("   0: 0100007F:B187 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2289759 1 00000000994e4b48 100 0 0 10 0"),
            Some(Format::LinuxProcNetTcp)
        );
        assert_eq!(f("Active Connections"), None);
        assert_eq!(f(""), None);
    }
}
