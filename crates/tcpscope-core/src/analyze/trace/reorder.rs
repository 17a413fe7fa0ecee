//! Merging per-CPU streams by time.
//!
//! The kernel writes each CPU's records into that CPU's ring buffer, in order; the events of one
//! socket land on different CPUs (its softirq work on one, its owner's system calls on another).
//! Trace reads every ring, pushes the records here, and takes back, in time order, only those
//! older than a *reorder window*: by then every ring has been drained past them, so no earlier
//! record can still arrive. One that does (a reader stalled longer than the window) is handed out
//! marked late, and counted, instead of being dropped.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

struct Keyed<T> {
    time: u64,
    seq: u64,
    item: T,
}

impl<T> PartialEq for Keyed<T> {
    fn eq(&self, o: &Self) -> bool {
        (self.time, self.seq) == (o.time, o.seq)
    }
}
impl<T> Eq for Keyed<T> {}
impl<T> PartialOrd for Keyed<T> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<T> Ord for Keyed<T> {
    fn cmp(&self, o: &Self) -> Ordering {
        (self.time, self.seq).cmp(&(o.time, o.seq))
    }
}

/// An item handed out by [`Reorder::release`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Released<T> {
    pub time_ns: u64,
    pub item: T,
    /// It arrived after items later than it had already been released: the window was too
    /// short for how late the reader was.
    pub late: bool,
}

/// A time-ordered buffer. Ties keep the order of arrival (records of one CPU stay in ring order).
pub struct Reorder<T> {
    heap: BinaryHeap<Reverse<Keyed<(T, bool)>>>,
    seq: u64,
    /// Everything up to this time has been released.
    released_upto: u64,
    late: u64,
}

impl<T> Default for Reorder<T> {
    fn default() -> Self {
        Reorder {
            heap: BinaryHeap::new(),
            seq: 0,
            released_upto: 0,
            late: 0,
        }
    }
}

impl<T> Reorder<T> {
    pub fn push(&mut self, time_ns: u64, item: T) {
        let late = time_ns < self.released_upto;
        if late {
            self.late += 1;
        }
        self.seq += 1;
        self.heap.push(Reverse(Keyed {
            time: time_ns,
            seq: self.seq,
            item: (item, late),
        }));
    }

    /// Every buffered item with time <= `upto_ns`, oldest first (and any late ones).
    pub fn release(&mut self, upto_ns: u64) -> Vec<Released<T>> {
        let mut out = Vec::new();
        while self
            .heap
            .peek()
            .is_some_and(|Reverse(k)| k.time <= upto_ns || k.item.1)
        {
            if let Some(Reverse(k)) = self.heap.pop() {
                out.push(Released {
                    time_ns: k.time,
                    item: k.item.0,
                    late: k.item.1,
                });
            }
        }
        self.released_upto = self.released_upto.max(upto_ns);
        out
    }

    /// Everything still buffered, oldest first (at the end of a trace).
    pub fn drain(&mut self) -> Vec<Released<T>> {
        self.release(u64::MAX)
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Items that arrived after their time had been released.
    pub fn late(&self) -> u64 {
        self.late
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn merges_two_cpus_by_time_within_the_window() {
        let mut r = Reorder::default();
        // CPU 0 and CPU 1 drained one after the other.
        for (t, what) in [(10, "a0"), (30, "c0"), (50, "e0")] {
            r.push(t, what);
        }
        for (t, what) in [(20, "b1"), (40, "d1"), (60, "f1")] {
            r.push(t, what);
        }
        let first: Vec<_> = r.release(45).into_iter().map(|x| x.item).collect();
        assert_eq!(first, ["a0", "b1", "c0", "d1"]);
        r.push(55, "late-but-in-window");
        let rest: Vec<_> = r.drain().into_iter().map(|x| x.item).collect();
        assert_eq!(rest, ["e0", "late-but-in-window", "f1"]);
        assert_eq!(r.late(), 0);
    }

    #[test]
    fn a_record_older_than_the_window_is_marked_late_not_dropped() {
        let mut r = Reorder::default();
        r.push(100, 1);
        assert_eq!(r.release(150).len(), 1);
        r.push(120, 2);
        let out = r.release(150);
        assert_eq!(out.len(), 1);
        assert!(out[0].late);
        assert_eq!(r.late(), 1);
        assert!(r.is_empty());
    }

    #[test]
    fn equal_times_keep_arrival_order() {
        let mut r = Reorder::default();
        for i in 0..5 {
            r.push(7, i);
        }
        let out: Vec<_> = r.drain().into_iter().map(|x| x.item).collect();
        assert_eq!(out, [0, 1, 2, 3, 4]);
    }

    proptest! {
        /// Interleaved sorted streams come out sorted, whatever the release points.
        #[test]
        fn output_is_sorted(mut a in proptest::collection::vec(0u64..1000, 0..50),
                            mut b in proptest::collection::vec(0u64..1000, 0..50),
                            cuts in proptest::collection::vec(0u64..1000, 0..5)) {
            a.sort();
            b.sort();
            let mut r = Reorder::default();
            let mut out = Vec::new();
            let mut cuts = cuts;
            cuts.sort();
            let (mut i, mut j) = (0, 0);
            for cut in cuts {
                // Push everything up to the cut (what a drain before releasing `cut` sees).
                while i < a.len() && a[i] <= cut { r.push(a[i], a[i]); i += 1; }
                while j < b.len() && b[j] <= cut { r.push(b[j], b[j]); j += 1; }
                out.extend(r.release(cut).into_iter().map(|x| x.item));
            }
            while i < a.len() { r.push(a[i], a[i]); i += 1; }
            while j < b.len() { r.push(b[j], b[j]); j += 1; }
            out.extend(r.drain().into_iter().map(|x| x.item));
            let mut want: Vec<u64> = a.iter().chain(b.iter()).copied().collect();
            want.sort();
            prop_assert_eq!(out, want);
            prop_assert_eq!(r.late(), 0);
        }
    }
}
