//! Where a snapshot's sockets came from — the live kernel (netlink, /proc/net/tcp) or a capture
//! imported from some system's `netstat`/`ss` text — and so which system's facts (TIME-WAIT
//! length, ephemeral ports, how to find a socket's owner) apply when it is diagnosed.
//!
//! The serde form is the snapshot's `source` field: the live kinds keep their old string form
//! (`"netlink"`, `"proc-net"`), so old recordings read unchanged; an import is an object
//! `{"kind": "import", "format": "windows-netstat-ano", "file": "...", "system": "windows"}`.

use crate::model::missing::{Datum, Missing};
use crate::model::snapshot::SourceKind;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The operating system a capture was taken on (live snapshots are Linux).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum System {
    #[default]
    Linux,
    Windows,
    /// macOS, FreeBSD, OpenBSD: one netstat format, one family of settings.
    Bsd,
    /// Solaris and illumos.
    Solaris,
    Aix,
}

impl System {
    pub fn name(self) -> &'static str {
        match self {
            System::Linux => "linux",
            System::Windows => "windows",
            System::Bsd => "bsd",
            System::Solaris => "solaris",
            System::Aix => "aix",
        }
    }

    /// For people: "Windows", "macOS/BSD".
    pub fn display_name(self) -> &'static str {
        match self {
            System::Linux => "Linux",
            System::Windows => "Windows",
            System::Bsd => "macOS/BSD",
            System::Solaris => "Solaris/illumos",
            System::Aix => "AIX",
        }
    }
}

/// An imported capture: which format it was read as, from which file, on which system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportOrigin {
    /// The format it was read as (`windows-netstat-ano`, `linux-ss-tanp`, ...; docs/import.md).
    pub format: String,
    /// The file it was read from (`-` for standard input).
    pub file: String,
    pub system: System,
    /// The command that made the capture, when the capture shows its prompt line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

/// Where the sockets came from: the snapshot's `source`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Read from this host's kernel by tcpscope.
    Live(SourceKind),
    /// Read from another tool's text output.
    Import(ImportOrigin),
}

impl Default for Origin {
    fn default() -> Self {
        Origin::Live(SourceKind::default())
    }
}

impl From<SourceKind> for Origin {
    fn from(kind: SourceKind) -> Origin {
        Origin::Live(kind)
    }
}

impl Origin {
    /// The system whose facts apply.
    pub fn system(&self) -> System {
        match self {
            Origin::Live(_) => System::Linux,
            Origin::Import(i) => i.system,
        }
    }

    pub fn import(&self) -> Option<&ImportOrigin> {
        match self {
            Origin::Import(i) => Some(i),
            Origin::Live(_) => None,
        }
    }

    /// What every snapshot from this kind of source lacks, recorded or not (so recordings made
    /// before `missing` existed are read correctly).
    pub fn implied_missing(&self) -> Missing {
        match self {
            Origin::Live(SourceKind::ProcNet) => {
                Missing::of(&[Datum::Backlog, Datum::Cookie, Datum::TcpInfo])
            }
            Origin::Live(SourceKind::Trace) => Missing::of(&[
                Datum::RecvQ,
                Datum::SendQ,
                Datum::Timer,
                Datum::Fd,
                Datum::Uid,
                Datum::Inode,
                Datum::TcpInfo,
                Datum::KernelCounters,
                Datum::Sysctls,
                Datum::ProcessFacts,
            ]),
            _ => Missing::NONE,
        }
    }

    /// The source in words, for notes and reasons: "the capture web01.txt (windows-netstat-ano)".
    pub fn describe(&self) -> String {
        match self {
            Origin::Live(SourceKind::Netlink) => "netlink sock_diag".to_string(),
            Origin::Live(SourceKind::ProcNet) => "/proc/net/tcp".to_string(),
            Origin::Live(SourceKind::Trace) => "a trace recording".to_string(),
            Origin::Import(i) => format!("the capture {} ({})", i.file, i.format),
        }
    }
}

#[derive(Serialize)]
struct TaggedImport<'a> {
    kind: &'static str,
    #[serde(flatten)]
    origin: &'a ImportOrigin,
}

impl Serialize for Origin {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Origin::Live(kind) => kind.serialize(serializer),
            Origin::Import(origin) => TaggedImport {
                kind: "import",
                origin,
            }
            .serialize(serializer),
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OriginDoc {
    Name(String),
    Object {
        kind: String,
        #[serde(default)]
        format: String,
        #[serde(default)]
        file: String,
        #[serde(default)]
        system: System,
        #[serde(default)]
        command: Option<String>,
    },
}

fn live_kind(name: &str) -> Option<SourceKind> {
    match name {
        "netlink" => Some(SourceKind::Netlink),
        "trace" => Some(SourceKind::Trace),
        "proc-net" => Some(SourceKind::ProcNet),
        _ => None,
    }
}

impl<'de> Deserialize<'de> for Origin {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let unknown = |k: &str| {
            serde::de::Error::custom(format!(
                "unknown source kind '{k}' (known: netlink, proc-net, trace, import)"
            ))
        };
        match OriginDoc::deserialize(deserializer)? {
            OriginDoc::Name(name) => live_kind(&name)
                .map(Origin::Live)
                .ok_or_else(|| unknown(&name)),
            OriginDoc::Object {
                kind,
                format,
                file,
                system,
                command,
            } => match kind.as_str() {
                "import" => Ok(Origin::Import(ImportOrigin {
                    format,
                    file,
                    system,
                    command,
                })),
                other => live_kind(other)
                    .map(Origin::Live)
                    .ok_or_else(|| unknown(other)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_sources_keep_their_string_form() {
        let json = serde_json::to_string(&Origin::Live(SourceKind::Netlink)).unwrap();
        assert_eq!(json, r#""netlink""#);
        let back: Origin = serde_json::from_str(r#""proc-net""#).unwrap();
        assert_eq!(back, Origin::Live(SourceKind::ProcNet));
        assert!(serde_json::from_str::<Origin>(r#""carrier-pigeon""#)
            .unwrap_err()
            .to_string()
            .contains("unknown source kind"));
    }

    #[test]
    fn an_import_is_an_object_with_its_kind() {
        let o = Origin::Import(ImportOrigin {
            format: "windows-netstat-ano".into(),
            file: "web01.txt".into(),
            system: System::Windows,
            command: Some("netstat -ano".into()),
        });
        let json = serde_json::to_string(&o).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"import","format":"windows-netstat-ano","file":"web01.txt","system":"windows","command":"netstat -ano"}"#
        );
        assert_eq!(serde_json::from_str::<Origin>(&json).unwrap(), o);
        assert_eq!(o.system(), System::Windows);
        assert!(o.describe().contains("web01.txt"));
    }

    #[test]
    fn proc_net_implies_no_backlog() {
        assert!(Origin::Live(SourceKind::ProcNet)
            .implied_missing()
            .contains(Datum::Backlog));
        assert!(Origin::Live(SourceKind::Netlink)
            .implied_missing()
            .is_empty());
    }
}
