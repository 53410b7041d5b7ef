//! A min-heap of deadlines with lazy deletion, shared by the name client and
//! the WINS server: the next deadline comes from the heap's top, never from
//! a scan of the names or records.
//!
//! Entries are never removed from the middle. The owner of the heap decides,
//! per entry, whether it is still live (the name client compares a stamp,
//! the server the time of the record's live entry); stale entries are
//! skipped when they reach the top and dropped by [`TimerHeap::retain`]
//! when they dominate the heap.

use core::cmp::Reverse;
use std::collections::BinaryHeap;

/// Deadlines `T` (ticks or seconds from an epoch the owner keeps) with keys
/// `K`, earliest first.
#[derive(Debug)]
pub(crate) struct TimerHeap<T: Ord, K: Ord> {
    heap: BinaryHeap<Reverse<(T, K)>>,
}

impl<T: Ord, K: Ord> Default for TimerHeap<T, K> {
    fn default() -> Self {
        Self {
            heap: BinaryHeap::new(),
        }
    }
}

impl<T: Ord + Copy, K: Ord + Copy> TimerHeap<T, K> {
    /// Adds an entry. Grows by a quarter, not double, when full: the heap is
    /// a visible share of the per-name memory.
    pub(crate) fn push(&mut self, at: T, key: K) {
        if self.heap.len() == self.heap.capacity() {
            self.heap.reserve_exact(self.heap.len() / 4 + 16);
        }
        self.heap.push(Reverse((at, key)));
    }

    /// Room for `additional` more entries.
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.heap.reserve(additional);
    }

    /// The earliest entry, live or not.
    pub(crate) fn peek(&self) -> Option<(T, K)> {
        self.heap.peek().map(|&Reverse(e)| e)
    }

    /// Removes the earliest entry.
    pub(crate) fn pop(&mut self) -> Option<(T, K)> {
        self.heap.pop().map(|Reverse(e)| e)
    }

    /// Drops stale entries from the top until a live one (or nothing) is
    /// there, so that [`peek`](Self::peek) gives the next live deadline.
    pub(crate) fn prune(&mut self, live: impl Fn(T, K) -> bool) {
        while let Some((at, key)) = self.peek() {
            if live(at, key) {
                return;
            }
            self.heap.pop();
        }
    }

    /// The earliest live entry due at or before `limit`, removed; stale
    /// entries met on the way are dropped.
    pub(crate) fn pop_due(&mut self, limit: T, live: impl Fn(T, K) -> bool) -> Option<(T, K)> {
        self.prune(&live);
        let (at, _) = self.peek()?;
        if at > limit {
            return None;
        }
        self.pop()
    }

    /// Keeps only the live entries.
    pub(crate) fn retain(&mut self, live: impl Fn(T, K) -> bool) {
        self.heap.retain(|&Reverse((at, key))| live(at, key));
    }

    /// Replaces every entry with these.
    pub(crate) fn rebuild(&mut self, entries: Vec<(T, K)>) {
        self.heap = entries.into_iter().map(Reverse).collect();
    }

    /// Number of entries, stale ones included.
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Heap bytes held.
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn heap_bytes(&self) -> usize {
        self.heap.capacity() * size_of::<Reverse<(T, K)>>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_entries_are_skipped() {
        let mut h = TimerHeap::<u64, u32>::default();
        h.push(5, 1);
        h.push(3, 2);
        h.push(9, 3);
        let live = |_, k| k != 2;
        h.prune(live);
        assert_eq!(h.peek(), Some((5, 1)));
        assert_eq!(h.pop_due(4, live), None);
        assert_eq!(h.pop_due(5, live), Some((5, 1)));
        assert_eq!(h.pop_due(100, live), Some((9, 3)));
        assert_eq!(h.pop_due(100, live), None);
        h.push(1, 2);
        h.push(2, 4);
        h.retain(live);
        assert_eq!(h.len(), 1);
    }
}
