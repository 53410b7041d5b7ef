//! Rate limiting of node status answers: a token bucket per source address.
//!
//! A node status request of 50 bytes draws an answer of up to 576, so an
//! open responder is an elevenfold reflector for anyone who forges the
//! victim's source address (reference (g), item 7; Rapid7's Sonar NBNS
//! study). Each source address gets
//! [`status_burst`](super::ClientConfig::status_burst) answers at once and
//! one more per [`status_interval`](super::ClientConfig::status_interval).
//! At most [`MAX_SOURCES`] addresses have a bucket of their own (the table
//! is keyed with a random key, like every table of network bytes); when it
//! is full and no bucket can be dropped, every further source shares one
//! bucket, so the total answer rate stays bounded whatever the number of
//! forged sources.

use core::net::Ipv4Addr;
use core::time::Duration;
use std::collections::HashMap;

use crate::hash::KeyedState;

/// Most source addresses with a bucket of their own.
pub(crate) const MAX_SOURCES: usize = 1024;

/// Tokens and the time (nanoseconds since the client's epoch) they were
/// last counted.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: u32,
    at: u64,
}

impl Bucket {
    fn full(burst: u32, now: u64) -> Self {
        Self {
            tokens: burst,
            at: now,
        }
    }

    /// Adds the tokens earned since `at`, up to `burst`.
    fn refill(&mut self, now: u64, burst: u32, interval: u64) {
        if self.tokens >= burst {
            self.at = now;
            return;
        }
        let earned = now.saturating_sub(self.at) / interval;
        if earned > 0 {
            let t = u64::from(self.tokens).saturating_add(earned);
            self.tokens = u32::try_from(t.min(u64::from(burst))).unwrap_or(burst);
            self.at = self.at.saturating_add(earned.saturating_mul(interval));
        }
    }

    fn take(&mut self) -> bool {
        match self.tokens.checked_sub(1) {
            Some(t) => {
                self.tokens = t;
                true
            }
            None => false,
        }
    }
}

/// The buckets.
#[derive(Debug, Default)]
pub(crate) struct StatusLimiter {
    buckets: HashMap<Ipv4Addr, Bucket, KeyedState>,
    shared: Option<Bucket>,
    /// When full buckets were last dropped from a full table.
    purged_at: Option<u64>,
}

impl StatusLimiter {
    /// Whether `source` may have an answer at `now` (nanoseconds since the
    /// client's epoch); takes a token if so.
    pub(crate) fn allow(
        &mut self,
        source: Ipv4Addr,
        now: u64,
        burst: u32,
        interval: Duration,
    ) -> bool {
        let interval = u64::try_from(interval.as_nanos())
            .unwrap_or(u64::MAX)
            .max(1);
        if let Some(b) = self.buckets.get_mut(&source) {
            b.refill(now, burst, interval);
            return b.take();
        }
        if self.buckets.len() >= MAX_SOURCES {
            self.purge(now, burst, interval);
        }
        if self.buckets.len() < MAX_SOURCES {
            let mut b = Bucket::full(burst, now);
            let ok = b.take();
            self.buckets.insert(source, b);
            return ok;
        }
        let b = self.shared.get_or_insert(Bucket::full(burst, now));
        b.refill(now, burst, interval);
        b.take()
    }

    /// Drops the buckets that have refilled (they mean the same as none),
    /// at most once per interval so that a full table costs no scan per
    /// request.
    fn purge(&mut self, now: u64, burst: u32, interval: u64) {
        if self
            .purged_at
            .is_some_and(|t| now.saturating_sub(t) < interval)
        {
            return;
        }
        self.purged_at = Some(now);
        self.buckets.retain(|_, b| {
            b.refill(now, burst, interval);
            b.tokens < burst
        });
    }

    /// Heap bytes held, roughly.
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn heap_bytes(&self) -> usize {
        let cap = self.buckets.capacity();
        if cap == 0 {
            0
        } else {
            (cap * 8 / 7).next_power_of_two() * (size_of::<(Ipv4Addr, Bucket)>() + 1) + 16
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;

    #[test]
    fn burst_then_one_per_interval() {
        let mut l = StatusLimiter::default();
        let a = Ipv4Addr::new(10, 0, 0, 9);
        let i = Duration::from_secs(1);
        let got = (0..20).filter(|_| l.allow(a, 0, 5, i)).count();
        assert_eq!(got, 5);
        assert!(!l.allow(a, SEC / 2, 5, i));
        assert!(l.allow(a, SEC, 5, i));
        assert!(!l.allow(a, SEC + 1, 5, i));
        // Ten seconds later: a full bucket again, not more.
        let got = (0..20).filter(|_| l.allow(a, 20 * SEC, 5, i)).count();
        assert_eq!(got, 5);
    }

    #[test]
    fn many_sources_share_a_bounded_rate() {
        let mut l = StatusLimiter::default();
        let i = Duration::from_secs(1);
        let mut answered = 0;
        for n in 0..100_000u32 {
            if l.allow(Ipv4Addr::from(0x0A00_0000 | n), 0, 2, i) {
                answered += 1;
            }
        }
        // 1024 sources with a bucket of their own, then one shared bucket.
        assert_eq!(answered, MAX_SOURCES + 2);
        assert!(l.buckets.len() <= MAX_SOURCES);
    }
}
