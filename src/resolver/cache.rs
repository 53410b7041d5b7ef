//! The resolver's cache of remote names: capped, keyed by a keyed hash,
//! each entry living no longer than its TTL and the configured timeout.

use core::time::Duration;
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use super::types::{CachedName, Via};
use crate::client::OwnedName;
use crate::hash::KeyedState;
use crate::wire::NbAddrEntry;

struct Entry {
    addresses: Vec<NbAddrEntry>,
    group: bool,
    via: Via,
    expires: Instant,
    /// Insertion number: with `expires`, this entry's key in the expiry
    /// order.
    seq: u64,
}

/// Names to entries, and the entries in order of expiry (the next to
/// evict first).
pub(crate) struct Cache {
    entries: HashMap<OwnedName, Entry, KeyedState>,
    expiry: BTreeMap<(Instant, u64), OwnedName>,
    next_seq: u64,
}

impl Cache {
    pub(crate) fn new() -> Self {
        Self {
            entries: HashMap::with_hasher(KeyedState::default()),
            expiry: BTreeMap::new(),
            next_seq: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Removes every entry expired at `now`.
    fn expire(&mut self, now: Instant) {
        while let Some(entry) = self.expiry.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let name = entry.remove();
            self.entries.remove(&name);
        }
    }

    /// Stores `name` for `life` (nothing when `life` or `capacity` is
    /// zero), evicting the entry closest to expiry when full.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn insert(
        &mut self,
        now: Instant,
        capacity: usize,
        name: OwnedName,
        addresses: Vec<NbAddrEntry>,
        group: bool,
        via: Via,
        life: Duration,
    ) {
        if life.is_zero() || capacity == 0 {
            return;
        }
        self.remove(&name);
        self.expire(now);
        while self.entries.len() >= capacity {
            let Some((_, evicted)) = self.expiry.pop_first() else {
                break;
            };
            self.entries.remove(&evicted);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let expires = now + life;
        self.expiry.insert((expires, seq), name.clone());
        self.entries.insert(
            name,
            Entry {
                addresses,
                group,
                via,
                expires,
                seq,
            },
        );
    }

    /// The live entry for `name`: addresses, group bit.
    pub(crate) fn lookup(
        &mut self,
        now: Instant,
        name: &OwnedName,
    ) -> Option<(&[NbAddrEntry], bool, Duration)> {
        self.expire(now);
        self.entries
            .get(name)
            .map(|e| (&e.addresses[..], e.group, e.expires - now))
    }

    /// Removes `name`; whether it was there.
    pub(crate) fn remove(&mut self, name: &OwnedName) -> bool {
        match self.entries.remove(name) {
            Some(e) => {
                self.expiry.remove(&(e.expires, e.seq));
                true
            }
            None => false,
        }
    }

    /// Whether `name` is cached with an entry for `address`.
    pub(crate) fn holds(&self, name: &OwnedName, address: core::net::Ipv4Addr) -> bool {
        self.entries
            .get(name)
            .is_some_and(|e| e.addresses.iter().any(|a| a.address == address))
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.expiry.clear();
    }

    /// Live entries at `now`, soonest to expire first.
    pub(crate) fn iter(&self, now: Instant) -> impl Iterator<Item = CachedName<'_>> + '_ {
        self.expiry
            .iter()
            .filter(move |((expires, _), _)| *expires > now)
            .filter_map(move |((expires, _), name)| {
                let e = self.entries.get(name)?;
                Some(CachedName {
                    name,
                    addresses: &e.addresses,
                    group: e.group,
                    via: e.via,
                    remaining: *expires - now,
                })
            })
    }

    /// Heap bytes, roughly.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.entries
            .iter()
            .map(|(n, e)| {
                n.scope().len() * 2
                    + e.addresses.capacity() * size_of::<NbAddrEntry>()
                    + size_of::<(OwnedName, Entry)>()
                    + size_of::<((Instant, u64), OwnedName)>()
            })
            .sum()
    }
}
