//! The name table: a slab of [`Entry`] values with a free list, the index
//! from (NetBIOS name, scope) to a slot, and the interned scopes. Slots are
//! `u32` numbers that the transaction table and the timer heap refer to.

use core::net::Ipv4Addr;

use super::phase::Phase;
use super::{AddNameError, NameState, OwnedName};
use crate::scope::{self, ScopeError, ScopeTable};
use crate::wire::{Labels, Name, NetbiosName};

use super::index::NameIndex;

/// One held name.
pub(super) struct Entry {
    pub(super) netbios: NetbiosName,
    pub(super) first_addr: Ipv4Addr,
    pub(super) extra_addrs: Box<[Ipv4Addr]>,
    /// The TTL a server granted last (the smallest over the addresses);
    /// 0 before any grant and after a re-register-all's release.
    pub(super) ttl: u32,
    /// Stamp of the armed timer; 0 when none.
    pub(super) stamp: u32,
    pub(super) scope: u16,
    pub(super) group: bool,
    /// Index in the open re-register-all round, or
    /// [`reregister::NO_ROUND`](super::reregister::NO_ROUND).
    pub(super) round: u32,
    /// Where the name stands, with the data of that phase.
    pub(super) phase: Phase,
}

impl Entry {
    pub(super) fn addr_count(&self) -> usize {
        1 + self.extra_addrs.len()
    }

    pub(super) fn addr(&self, i: u8) -> Ipv4Addr {
        match i.checked_sub(1) {
            None => self.first_addr,
            Some(j) => self
                .extra_addrs
                .get(usize::from(j))
                .copied()
                .unwrap_or(self.first_addr),
        }
    }

    pub(super) fn addrs(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        core::iter::once(self.first_addr).chain(self.extra_addrs.iter().copied())
    }

    pub(super) fn has_addr(&self, a: Ipv4Addr) -> bool {
        self.addrs().any(|x| x == a)
    }

    pub(super) fn state(&self) -> NameState {
        self.phase.state()
    }

    /// Whether the name starts with `*` (MS-NBTE §3.1.5.1: never
    /// registered nor defended).
    pub(super) fn is_star(&self) -> bool {
        self.netbios.as_bytes().first() == Some(&b'*')
    }
}

fn key_at(slots: &[Option<Entry>], slot: u32) -> Option<(NetbiosName, u16)> {
    slots
        .get(slot as usize)
        .and_then(Option::as_ref)
        .map(|e| (e.netbios, e.scope))
}

/// The slab, its index and the scopes.
#[derive(Default)]
pub(super) struct Names {
    slots: Vec<Option<Entry>>,
    free: Vec<u32>,
    live: usize,
    index: NameIndex,
    scopes: ScopeTable,
}

impl Names {
    pub(super) fn len(&self) -> usize {
        self.live
    }

    pub(super) fn get(&self, slot: u32) -> Option<&Entry> {
        self.slots.get(slot as usize).and_then(Option::as_ref)
    }

    pub(super) fn get_mut(&mut self, slot: u32) -> Option<&mut Entry> {
        self.slots.get_mut(slot as usize).and_then(Option::as_mut)
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &Entry> + '_ {
        self.slots.iter().flatten()
    }

    /// The slots in use, in slot order.
    pub(super) fn live_slots(&self) -> Vec<u32> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, e)| e.is_some())
            .map(|(i, _)| i as u32)
            .collect()
    }

    /// The number of the scope `labels`, if a held name uses it.
    pub(super) fn find_scope(&self, labels: &Labels<'_>) -> Option<u16> {
        self.scopes
            .find(labels)
            .and_then(|id| u16::try_from(id).ok())
    }

    pub(super) fn labels(&self, scope: u16) -> Labels<'_> {
        self.scopes.labels(u32::from(scope))
    }

    pub(super) fn find(&self, name: &Name<'_>) -> Option<u32> {
        let scope = self.find_scope(&name.scope)?;
        let slots = &self.slots;
        self.index.find(&name.netbios, scope, |s| key_at(slots, s))
    }

    pub(super) fn owned_name(&self, slot: u32) -> OwnedName {
        match self.get(slot) {
            Some(e) => OwnedName::new(e.netbios, self.scopes.dotted(u32::from(e.scope))),
            None => OwnedName::new(NetbiosName::from_raw([0; 16]), b""),
        }
    }

    /// Stores a new entry for `name` (its scope is set here); at most
    /// `max` names.
    pub(super) fn insert(
        &mut self,
        name: &Name<'_>,
        max: usize,
        make: impl FnOnce() -> Entry,
    ) -> Result<u32, AddNameError> {
        let mut buf = [0u8; 256];
        let n = scope::to_dotted(&name.scope, 255, &mut buf).map_err(|e| match e {
            ScopeError::LabelWithDot | ScopeError::TooLong => AddNameError::BadScope,
        })?;
        let dotted = buf.get(..n).ok_or(AddNameError::BadScope)?;
        if Labels::from_dotted(dotted).is_err() {
            return Err(AddNameError::BadScope);
        }
        if self.find(name).is_some() {
            return Err(AddNameError::Duplicate);
        }
        if self.live >= max {
            return Err(AddNameError::TooManyNames);
        }
        // At most `max` names each use one scope: the numbers fit a u16.
        let scope = self
            .scopes
            .intern_dotted(dotted)
            .and_then(|id| u16::try_from(id).ok())
            .ok_or(AddNameError::TooManyNames)?;
        self.scopes.acquire(u32::from(scope));
        let mut entry = make();
        entry.scope = scope;
        let slot = match self.free.pop() {
            Some(s) => {
                if let Some(cell) = self.slots.get_mut(s as usize) {
                    *cell = Some(entry);
                }
                s
            }
            None => {
                // Grow by a quarter, not double: the slab is most of the
                // per-name memory.
                if self.slots.len() == self.slots.capacity() {
                    self.slots.reserve_exact(self.slots.len() / 4 + 16);
                }
                self.slots.push(Some(entry));
                (self.slots.len() - 1) as u32
            }
        };
        self.live += 1;
        let slots = &self.slots;
        self.index.insert(slot, |s| key_at(slots, s));
        Ok(slot)
    }

    /// Takes the entry out of its slot (the slot is reused).
    pub(super) fn remove(&mut self, slot: u32) -> Option<Entry> {
        let (netbios, scope) = key_at(&self.slots, slot)?;
        let slots = &self.slots;
        self.index
            .remove(slot, &netbios, scope, |s| key_at(slots, s));
        let e = self.slots.get_mut(slot as usize).and_then(Option::take)?;
        self.free.push(slot);
        self.live -= 1;
        if self.scopes.release(u32::from(scope)) {
            self.scopes.forget(u32::from(scope));
        }
        Some(e)
    }

    /// Heap bytes held by the slab, the extra addresses, the index and the
    /// scopes.
    #[cfg(any(test, feature = "testing"))]
    pub(super) fn heap_bytes(&self) -> usize {
        self.slots.capacity() * size_of::<Option<Entry>>()
            + self
                .iter()
                .map(|e| e.extra_addrs.len() * size_of::<Ipv4Addr>())
                .sum::<usize>()
            + self.free.capacity() * size_of::<u32>()
            + self.index.heap_bytes()
            + self.scopes.heap_bytes()
    }
}
