//! Bytes and text in: the sock_diag codec, /proc text formats, cgroup paths, /etc/hosts and
//! /etc/services. Every parser takes bytes or `&str` and never touches the system itself, so each
//! is tested against fixtures.

pub mod cgroup;
pub mod inet_diag;
pub mod names;
pub mod perf_record;
pub mod proc_net;
pub mod process_text;
pub mod tracepoint;
