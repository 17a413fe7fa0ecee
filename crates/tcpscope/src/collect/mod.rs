//! Everything that reads the system (or a recording) and returns data: the impure half of the
//! collect -> model -> analyze -> present flow. Nothing here prints.
//!
//! A command turns its options into a [`plan::Plan`] (source, query, owner strategy,
//! recorder) and runs a [`collector::Collector`] over it: one poll for `ls`, `summary`,
//! `doctor`, many for `doctor --watch`, and, through [`live`], for `top` and `serve`, whose
//! front ends never touch the kernel themselves.
//!
//! * [`source`]: where sockets come from — [`netlink`] sock_diag, [`netns`] threads living in
//!   other namespaces, the [`procfs`] fallback, a [`replay`]ed recording; [`query`] says which.
//! * [`owner_cache`]: inode -> owning processes across polls, filled by the [`owners`] fd walk;
//!   [`identities`] says who each process is; [`facts`] what doctor needs to know about it.
//! * [`kernel`]: counters and sysctls; [`record`]: `--record`; [`resolve`]: names for filters.

pub mod collector;
pub mod dump;
pub mod facts;
pub mod identities;
pub mod kernel;
pub mod limits;
pub mod live;
pub mod netlink;
pub mod netns;
pub mod owner_cache;
pub mod owners;
pub mod plan;
pub mod procfs;
pub mod query;
pub mod record;
pub mod replay;
pub mod resolve;
pub mod source;
pub mod trace;
