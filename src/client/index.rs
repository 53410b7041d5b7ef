//! A compact open-addressing index from (NetBIOS name, scope) to a slot of
//! the name table: 4 bytes per bucket, the keys live in the entries
//! themselves, so the index costs about 8 bytes per name instead of a hash
//! map's copy of every key. Hashed with a random key (the crate's keyed
//! hasher), as names in requests come from the network.

use core::hash::BuildHasher;

use crate::hash::KeyedState;
use crate::wire::NetbiosName;

const EMPTY: u32 = u32::MAX;

/// Linear probing with backward-shift deletion; load kept at most 3/4.
#[derive(Debug, Default)]
pub(crate) struct NameIndex {
    table: Vec<u32>,
    len: usize,
    state: KeyedState,
}

impl NameIndex {
    fn hash(&self, netbios: &NetbiosName, scope: u16) -> usize {
        // Truncation on 32-bit targets is fine for a bucket index.
        #[allow(clippy::cast_possible_truncation)]
        let h = self.state.hash_one((netbios.as_bytes(), scope)) as usize;
        h
    }

    /// Heap bytes held.
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn heap_bytes(&self) -> usize {
        self.table.capacity() * size_of::<u32>()
    }

    /// The slot whose key `key_of` reports equal to (`netbios`, `scope`).
    pub(crate) fn find(
        &self,
        netbios: &NetbiosName,
        scope: u16,
        key_of: impl Fn(u32) -> Option<(NetbiosName, u16)>,
    ) -> Option<u32> {
        if self.table.is_empty() {
            return None;
        }
        let mask = self.table.len() - 1;
        let mut i = self.hash(netbios, scope) & mask;
        loop {
            let s = *self.table.get(i)?;
            if s == EMPTY {
                return None;
            }
            if key_of(s) == Some((*netbios, scope)) {
                return Some(s);
            }
            i = (i + 1) & mask;
        }
    }

    /// Adds `slot` under its key (not already present).
    pub(crate) fn insert(&mut self, slot: u32, key_of: impl Fn(u32) -> Option<(NetbiosName, u16)>) {
        if (self.len + 1) * 4 > self.table.len() * 3 {
            let old = core::mem::take(&mut self.table);
            self.table = vec![EMPTY; (old.len() * 2).max(16)];
            for s in old.into_iter().filter(|&s| s != EMPTY) {
                self.place(s, &key_of);
            }
        }
        self.place(slot, &key_of);
        self.len += 1;
    }

    fn place(&mut self, slot: u32, key_of: &impl Fn(u32) -> Option<(NetbiosName, u16)>) {
        let Some((n, sc)) = key_of(slot) else { return };
        let mask = self.table.len() - 1;
        let mut i = self.hash(&n, sc) & mask;
        while let Some(cell) = self.table.get_mut(i) {
            if *cell == EMPTY {
                *cell = slot;
                return;
            }
            i = (i + 1) & mask;
        }
    }

    /// Removes `slot`, whose key is (`netbios`, `scope`); the other slots'
    /// keys must still be readable through `key_of`.
    pub(crate) fn remove(
        &mut self,
        slot: u32,
        netbios: &NetbiosName,
        scope: u16,
        key_of: impl Fn(u32) -> Option<(NetbiosName, u16)>,
    ) {
        if self.table.is_empty() {
            return;
        }
        let mask = self.table.len() - 1;
        let mut i = self.hash(netbios, scope) & mask;
        loop {
            match self.table.get(i) {
                Some(&s) if s == slot => break,
                Some(&EMPTY) | None => return,
                Some(_) => i = (i + 1) & mask,
            }
        }
        // Backward-shift deletion: pull later members of the probe run into
        // the hole when their home position allows it.
        let mut j = i;
        loop {
            j = (j + 1) & mask;
            let s = self.table.get(j).copied().unwrap_or(EMPTY);
            if s == EMPTY {
                break;
            }
            let Some((n, sc)) = key_of(s) else { break };
            let home = self.hash(&n, sc) & mask;
            let stays = if i <= j {
                i < home && home <= j
            } else {
                i < home || home <= j
            };
            if !stays {
                if let Some(c) = self.table.get_mut(i) {
                    *c = s;
                }
                i = j;
            }
        }
        if let Some(c) = self.table.get_mut(i) {
            *c = EMPTY;
        }
        self.len -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn behaves_like_a_map() {
        let keys: Vec<(NetbiosName, u16)> = (0..2000u32)
            .map(|i| {
                let t = format!("N{i}");
                (NetbiosName::new(&t, (i % 3) as u8).unwrap(), (i % 2) as u16)
            })
            .collect();
        let key_of = |s: u32| keys.get(s as usize).copied();
        let mut idx = NameIndex::default();
        let mut model = HashMap::new();
        for s in 0..keys.len() as u32 {
            idx.insert(s, key_of);
            model.insert(keys[s as usize], s);
        }
        // Remove every third, then check everything.
        for s in (0..keys.len() as u32).step_by(3) {
            let (n, sc) = keys[s as usize];
            idx.remove(s, &n, sc, key_of);
            model.remove(&keys[s as usize]);
        }
        for (s, (n, sc)) in keys.iter().enumerate() {
            assert_eq!(
                idx.find(n, *sc, key_of),
                model.get(&(*n, *sc)).copied(),
                "{s}"
            );
        }
        assert_eq!(idx.len, model.len());
    }
}
