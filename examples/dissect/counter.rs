//! A bounded table of counts by key, for `--stats`: each distinct key is
//! stored once, in the order first seen, and a small direct-mapped cache
//! in front of the keyed hash table answers the keys seen again and again
//! (a capture repeats its names and senders) with one compare.
//!
//! The hash table is keyed by bytes from the capture, so it uses a hasher
//! keyed at random for each run (foldhash's `RandomState`). The cache slot
//! comes from a cheap mix of the key's word and a random seed; keys that
//! share a slot only miss the cache and are looked up in the table, so a
//! capture written to collide costs a compare a packet, never a count.

use core::hash::{BuildHasher, Hash};
use std::collections::HashMap;

use foldhash::fast::RandomState;

/// Slots of the cache (a power of two).
const SLOTS: usize = 256;
/// An empty slot.
const EMPTY: u32 = u32::MAX;

/// A key of a [`Counter`]: its 128-bit word picks the cache slot (two keys
/// may share a word; equality decides).
pub(crate) trait Key: Copy + Eq + Hash {
    /// The key as one word.
    fn word(&self) -> u128;
}

/// Counts by key, for at most `cap` distinct keys (further keys are
/// counted as untracked).
#[derive(Debug, Clone)]
pub(crate) struct Counter<K> {
    /// Where each key's count is in `counts`.
    index: HashMap<K, u32, RandomState>,
    /// Every key kept, with its count, in the order first seen.
    counts: Vec<(K, u64)>,
    /// Cache slot to position in `counts`, or [`EMPTY`].
    cache: Box<[u32; SLOTS]>,
    /// Mixed into the cache slot.
    seed: u64,
    /// Most distinct keys kept.
    cap: usize,
    /// Counts of keys beyond the cap.
    pub(crate) untracked: u64,
}

impl<K: Key> Counter<K> {
    /// An empty table for at most `cap` keys.
    pub(crate) fn new(cap: usize) -> Self {
        let hasher = RandomState::default();
        Self {
            seed: hasher.hash_one(0x6e62_6e73_u64) | 1,
            index: HashMap::with_hasher(hasher),
            counts: Vec::new(),
            cache: Box::new([EMPTY; SLOTS]),
            cap,
            untracked: 0,
        }
    }

    /// The cache slot of `word`.
    #[inline(always)]
    fn slot(&self, word: u128) -> usize {
        let folded = (word as u64) ^ ((word >> 64) as u64).rotate_left(29);
        ((folded ^ self.seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize % SLOTS
    }

    /// Counts `key` once.
    #[inline(always)]
    pub(crate) fn bump(&mut self, key: K) {
        let slot = self.slot(key.word());
        let at = self.cache.get(slot).copied().unwrap_or(EMPTY);
        if let Some((k, n)) = self.counts.get_mut(at as usize)
            && *k == key
        {
            *n += 1;
            return;
        }
        self.bump_table(key, slot);
    }

    /// [`Counter::bump`] past the cache: the keyed table, out of line.
    #[inline(never)]
    fn bump_table(&mut self, key: K, slot: usize) {
        let at = match self.index.get(&key) {
            Some(&at) => at,
            None if self.counts.len() < self.cap => {
                let at = self.counts.len() as u32;
                self.index.insert(key, at);
                self.counts.push((key, 0));
                at
            }
            None => {
                self.untracked += 1;
                return;
            }
        };
        if let Some((_, n)) = self.counts.get_mut(at as usize) {
            *n += 1;
        }
        if let Some(s) = self.cache.get_mut(slot) {
            *s = at;
        }
    }

    /// Every key kept and its count, in the order first seen.
    pub(crate) fn counts(&self) -> &[(K, u64)] {
        &self.counts
    }
}

impl<K: Key> Default for Counter<K> {
    /// An empty table for [`MAX_TRACKED`](crate::stats::MAX_TRACKED) keys.
    fn default() -> Self {
        Self::new(crate::stats::MAX_TRACKED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    struct Same(u8);

    impl Key for Same {
        /// Every key in one word, so every key shares a slot.
        fn word(&self) -> u128 {
            7
        }
    }

    #[test]
    fn keys_sharing_a_slot_count_apart() {
        let mut c = Counter::new(10);
        for k in [1, 2, 1, 1, 3, 2] {
            c.bump(Same(k));
        }
        assert_eq!(c.counts(), [(Same(1), 3), (Same(2), 2), (Same(3), 1)]);
    }

    #[test]
    fn keys_beyond_the_cap_are_untracked() {
        let mut c = Counter::new(2);
        for k in [1, 2, 3, 3, 1] {
            c.bump(Same(k));
        }
        assert_eq!(c.counts(), [(Same(1), 2), (Same(2), 1)]);
        assert_eq!(c.untracked, 2);
    }
}
