//! Bytes and text in: the sock_diag codec, /proc text formats, cgroup paths, /etc/hosts and
//! /etc/services, and captures of other tools (`import`: netstat, ss, Get-NetTCPConnection from
//! any system). Every parser takes bytes or `&str` and never touches the system itself, so each
//! is tested against fixtures.

pub mod cgroup;
pub mod import;
pub mod inet_diag;
pub mod names;
pub mod perf_record;
pub mod proc_net;
pub mod process_text;
pub mod tracepoint;
