//! perf ring buffers on the tracepoints: one `sock:inet_sock_set_state` event per CPU, with
//! `tcp:tcp_destroy_sock` on the same CPU redirected into the same ring (PERF_EVENT_IOC_SET_OUTPUT),
//! so each CPU's records arrive in one ordered stream.
//!
//! Built on the perf-event2 crate rather than raw perf_event_open: it owns the mmap and the
//! ring's head/tail protocol (the part that needs atomics and unsafe code), and hands out each
//! record's bytes, which `tcpscope_core::decode::perf_record` decodes. Two things it does not do
//! are done here with one ioctl each: the kernel-side filter (PERF_EVENT_IOC_SET_FILTER) and the
//! output redirection. Two of its defaults must be overridden, or nothing arrives: kernel events
//! are excluded unless `include_kernel()`, and a tracepoint needs `sample_period(1)`. The
//! tracepoint is built from the id in tracefs, because `Tracepoint::with_name` looks under
//! debugfs, which is often not mounted.
//!
//! Timestamps are CLOCK_MONOTONIC (`clockid`), the same on every CPU, so records merge by time;
//! `sample_id_all` puts a time on lost-record notices too.

use perf_event::events::Tracepoint;
use perf_event::{Builder, Clock, Counter, ReadFormat, Sampler};
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use tcpscope_core::decode::perf_record::SAMPLE_TYPE;

/// What to open.
pub struct PerfOptions {
    /// Tracepoint id of `sock:inet_sock_set_state`.
    pub set_state: u64,
    /// Tracepoint id of `tcp:tcp_destroy_sock`, when the kernel has it.
    pub destroy: Option<u64>,
    /// ftrace filter for `inet_sock_set_state` (`protocol == 6 && ...`).
    pub filter: String,
    /// Ring buffer size per CPU in bytes (rounded up to a power of two).
    pub ring_bytes: usize,
}

/// Why the tracepoint could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("reading kernel tracepoints needs root (or CAP_PERFMON): {0}")]
    Permission(io::Error),
    #[error("opening the tracepoint failed: {0}")]
    Other(io::Error),
}

fn open_error(e: io::Error) -> OpenError {
    match e.raw_os_error() {
        Some(libc::EACCES | libc::EPERM) => OpenError::Permission(e),
        _ => OpenError::Other(e),
    }
}

/// The open rings, one per online CPU.
pub struct PerfTrace {
    rings: Vec<Sampler>,
    /// The CPU of each ring.
    cpus: Vec<u32>,
    /// The destroy events writing into `rings` (kept open; they have no ring of their own).
    destroy: Vec<Counter>,
    /// The kernel counts lost samples per event (PERF_FORMAT_LOST, Linux 6.0+).
    counts_lost: bool,
    /// The kernel filter in force, or why the kernel refused it.
    pub filter_applied: Result<String, String>,
}

fn builder(id: u64, cpu: usize, lost: bool) -> Builder<'static> {
    let mut b = Builder::new(Tracepoint::with_id(id));
    b.any_pid()
        .one_cpu(cpu)
        .include_kernel()
        .sample_period(1)
        .sample_id_all(true)
        .clockid(Clock::MONOTONIC);
    if lost {
        b.read_format(
            ReadFormat::TOTAL_TIME_ENABLED | ReadFormat::TOTAL_TIME_RUNNING | ReadFormat::LOST,
        );
    }
    b.attrs_mut().sample_type = SAMPLE_TYPE;
    b
}

/// Open one event, asking for its lost-sample count while the kernel accepts that (6.0+;
/// EINVAL before, and then never again for the other events).
fn build(
    id: u64,
    cpu: usize,
    lost: &mut bool,
    more: impl Fn(&mut Builder<'static>),
) -> Result<Counter, OpenError> {
    let mut b = builder(id, cpu, *lost);
    more(&mut b);
    match b.build() {
        Err(e) if *lost && e.raw_os_error() == Some(libc::EINVAL) => {
            *lost = false;
            let mut b = builder(id, cpu, false);
            more(&mut b);
            b.build().map_err(open_error)
        }
        other => other.map_err(open_error),
    }
}

fn set_filter(counter: &Counter, filter: &str) -> io::Result<()> {
    let c = CString::new(filter).map_err(io::Error::other)?;
    // SAFETY: the fd is an open perf event; the kernel copies the NUL-terminated string.
    let rc = unsafe {
        perf_event_open_sys::ioctls::SET_FILTER(counter.as_raw_fd(), c.as_ptr() as *mut _)
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn set_output(from: &Counter, to: &Sampler) -> io::Result<()> {
    // SAFETY: both fds are open perf events on the same CPU with the same clock.
    let rc = unsafe { perf_event_open_sys::ioctls::SET_OUTPUT(from.as_raw_fd(), to.as_raw_fd()) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

impl PerfTrace {
    /// Open the events on every online CPU (disabled; call [`PerfTrace::enable`]).
    pub fn open(o: &PerfOptions) -> Result<PerfTrace, OpenError> {
        let cpus = online_cpus().map_err(OpenError::Other)?;
        let mut rings = Vec::new();
        let mut destroy = Vec::new();
        let mut filter_applied = Ok(o.filter.clone());
        let mut counts_lost = true;
        for &cpu in &cpus {
            let counter = build(o.set_state, cpu, &mut counts_lost, |b| {
                b.wakeup_watermark(o.ring_bytes / 8).comm(true).task(true);
            })?;
            if filter_applied.is_ok() {
                if let Err(e) = set_filter(&counter, &o.filter) {
                    filter_applied =
                        Err(format!("the kernel refused the filter '{}': {e}", o.filter));
                }
            }
            let ring = counter.sampled(o.ring_bytes).map_err(open_error)?;
            if let Some(id) = o.destroy {
                let d = build(id, cpu, &mut counts_lost, |_| {})?;
                set_output(&d, &ring).map_err(OpenError::Other)?;
                destroy.push(d);
            }
            rings.push(ring);
        }
        if filter_applied.is_err() {
            // A refused filter on one CPU: make every CPU unfiltered, so all agree.
            for ring in &rings {
                let _ = set_filter(ring.as_counter(), "protocol == 6");
            }
        }
        Ok(PerfTrace {
            rings,
            cpus: cpus.iter().map(|c| *c as u32).collect(),
            destroy,
            counts_lost,
            filter_applied,
        })
    }

    /// Samples the kernel could not write, per CPU, as it counts them (PERF_FORMAT_LOST); `None`
    /// on kernels before 6.0. The PERF_RECORD_LOST notices in the rings only come with the next
    /// record written, so at the end of a trace this is the complete count.
    pub fn lost_by_cpu(&mut self) -> Option<Vec<(u32, u64)>> {
        if !self.counts_lost {
            return None;
        }
        let mut out = Vec::new();
        for (i, ring) in self.rings.iter_mut().enumerate() {
            let mut n = ring.as_counter_mut().read_full().ok()?.lost()?;
            if let Some(d) = self.destroy.get_mut(i) {
                n += d.read_full().ok()?.lost()?;
            }
            out.push((self.cpus[i], n));
        }
        Some(out)
    }

    pub fn enable(&mut self) -> io::Result<()> {
        for d in &mut self.destroy {
            d.enable()?;
        }
        for r in &mut self.rings {
            r.enable()?;
        }
        Ok(())
    }

    /// The rings' fds, to wait on with poll(2).
    pub fn fds(&self) -> Vec<BorrowedFd<'_>> {
        self.rings
            .iter()
            // SAFETY: the fd lives as long as the sampler that owns it, which outlives the borrow.
            .map(|r| unsafe { BorrowedFd::borrow_raw(r.as_raw_fd()) })
            .collect()
    }

    /// Hand every record waiting in every ring to `each` (type, misc, body). Returns how many.
    pub fn drain(&mut self, each: &mut dyn FnMut(u32, u16, &[u8])) -> u64 {
        let mut n = 0;
        for ring in &mut self.rings {
            while let Some(rec) = ring.next_record() {
                each(rec.ty(), rec.misc(), &rec.to_contiguous());
                n += 1;
            }
        }
        n
    }
}

/// The online CPUs, from /sys/devices/system/cpu/online (`0-3,6`).
fn online_cpus() -> io::Result<Vec<usize>> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/online")?;
    parse_cpu_list(&text)
        .ok_or_else(|| io::Error::other(format!("cannot read CPU list '{}'", text.trim())))
}

fn parse_cpu_list(text: &str) -> Option<Vec<usize>> {
    let mut cpus = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => cpus.extend(a.parse::<usize>().ok()?..=b.parse::<usize>().ok()?),
            None => cpus.push(part.parse().ok()?),
        }
    }
    (!cpus.is_empty()).then_some(cpus)
}

#[cfg(test)]
mod tests {
    use super::parse_cpu_list;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-1\n"), Some(vec![0, 1]));
        assert_eq!(parse_cpu_list("0,2-3,6"), Some(vec![0, 2, 3, 6]));
        assert_eq!(parse_cpu_list(""), None);
        assert_eq!(parse_cpu_list("x"), None);
    }
}
