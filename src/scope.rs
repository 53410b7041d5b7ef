//! The scope interner shared by the name client and the WINS server: each
//! distinct NetBIOS scope (RFC 1001 §9, the labels after the 16-byte name)
//! is stored once, in dotted form, and names and records carry its small
//! number instead. Number 0 is the empty scope. Scopes are counted by their
//! users and forgotten with the last one; freed numbers are reused.
//!
//! Scopes come from the network, so the table from dotted form to number
//! uses the crate's keyed hash.

use std::collections::HashMap;

use crate::hash::KeyedState;
use crate::wire::Labels;

/// Why a scope has no dotted form the table can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScopeError {
    /// A label contains `.`: its dotted form would read as two labels.
    LabelWithDot,
    /// The dotted form is longer than the caller allows.
    TooLong,
}

/// Writes `labels` in dotted form into `buf`, at most `max_len` bytes;
/// returns the length.
pub(crate) fn to_dotted(
    labels: &Labels<'_>,
    max_len: usize,
    buf: &mut [u8; 256],
) -> Result<usize, ScopeError> {
    if labels.dotted_len() > max_len.min(buf.len()) {
        return Err(ScopeError::TooLong);
    }
    let mut n = 0;
    for (i, label) in labels.iter().enumerate() {
        if label.contains(&b'.') {
            return Err(ScopeError::LabelWithDot);
        }
        if i > 0 {
            *buf.get_mut(n).ok_or(ScopeError::TooLong)? = b'.';
            n += 1;
        }
        buf.get_mut(n..n + label.len())
            .ok_or(ScopeError::TooLong)?
            .copy_from_slice(label);
        n += label.len();
    }
    Ok(n)
}

/// Interned scopes with use counts.
#[derive(Debug)]
pub(crate) struct ScopeTable {
    /// Dotted forms by number; 0 is the empty scope, freed ones are empty.
    scopes: Vec<Box<[u8]>>,
    /// Users per number (same index as `scopes`).
    refs: Vec<u32>,
    /// Freed numbers, for reuse.
    free: Vec<u32>,
    ids: HashMap<Box<[u8]>, u32, KeyedState>,
}

impl Default for ScopeTable {
    fn default() -> Self {
        Self {
            scopes: vec![Box::default()],
            refs: vec![0],
            free: Vec::new(),
            ids: HashMap::default(),
        }
    }
}

impl ScopeTable {
    /// The number of the empty scope.
    pub(crate) const EMPTY: u32 = 0;

    /// The number of the scope `labels`, if interned (`None` also for a
    /// scope with no dotted form).
    pub(crate) fn find(&self, labels: &Labels<'_>) -> Option<u32> {
        if labels.is_empty() {
            return Some(Self::EMPTY);
        }
        let mut buf = [0u8; 256];
        let n = to_dotted(labels, 255, &mut buf).ok()?;
        self.find_dotted(buf.get(..n)?)
    }

    /// The number of the scope in dotted form `s`, if interned.
    pub(crate) fn find_dotted(&self, s: &[u8]) -> Option<u32> {
        if s.is_empty() {
            return Some(Self::EMPTY);
        }
        self.ids.get(s).copied()
    }

    /// The number of the dotted scope `s`, interned if new (with no user
    /// yet). The caller bounds [`len`](Self::len); `None` only when the
    /// numbers run out.
    pub(crate) fn intern_dotted(&mut self, s: &[u8]) -> Option<u32> {
        if let Some(id) = self.find_dotted(s) {
            return Some(id);
        }
        let id = match self.free.pop() {
            Some(id) => {
                *self.scopes.get_mut(id as usize)? = s.into();
                id
            }
            None => {
                let id = u32::try_from(self.scopes.len()).ok()?;
                self.scopes.push(s.into());
                self.refs.push(0);
                id
            }
        };
        self.ids.insert(s.into(), id);
        Some(id)
    }

    /// Scopes held, the empty one included.
    pub(crate) fn len(&self) -> usize {
        self.scopes.len() - self.free.len()
    }

    /// The dotted form of scope `id`, if it is a number in use.
    pub(crate) fn get(&self, id: u32) -> Option<&[u8]> {
        self.scopes.get(id as usize).map(|s| &s[..])
    }

    /// The dotted form of scope `id` (empty for an unknown number).
    pub(crate) fn dotted(&self, id: u32) -> &[u8] {
        self.get(id).unwrap_or(&[])
    }

    /// Scope `id` as wire labels.
    pub(crate) fn labels(&self, id: u32) -> Labels<'_> {
        Labels::from_dotted(self.dotted(id)).unwrap_or(Labels::EMPTY)
    }

    /// Counts one more user of scope `id`.
    pub(crate) fn acquire(&mut self, id: u32) {
        if let Some(r) = self.refs.get_mut(id as usize) {
            *r = r.saturating_add(1);
        }
    }

    /// Counts one user less of scope `id`; returns whether none is left.
    pub(crate) fn release(&mut self, id: u32) -> bool {
        match self.refs.get_mut(id as usize) {
            Some(r) => {
                *r = r.saturating_sub(1);
                *r == 0
            }
            None => false,
        }
    }

    /// Forgets scope `id` (not the empty scope), whose users are gone; its
    /// number is reused.
    pub(crate) fn forget(&mut self, id: u32) {
        if id == Self::EMPTY {
            return;
        }
        if let Some(s) = self.scopes.get_mut(id as usize)
            && !s.is_empty()
        {
            let dotted = core::mem::take(s);
            self.ids.remove(&dotted);
            self.free.push(id);
        }
    }

    /// Sets the use counts from scratch, one per number in `users`.
    pub(crate) fn recount(&mut self, users: impl Iterator<Item = u32>) {
        self.refs = vec![0; self.scopes.len()];
        for id in users {
            self.acquire(id);
        }
    }

    /// Every scope by number, as [`dotted`](Self::dotted) gives them.
    pub(crate) fn as_slice(&self) -> &[Box<[u8]>] {
        &self.scopes
    }

    /// Heap bytes held (hash table counted as its buckets plus control
    /// bytes).
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn heap_bytes(&self) -> usize {
        let table = if self.ids.capacity() == 0 {
            0
        } else {
            (self.ids.capacity() * 8 / 7).next_power_of_two() * (size_of::<(Box<[u8]>, u32)>() + 1)
        };
        self.scopes.capacity() * size_of::<Box<[u8]>>()
            + 2 * self.scopes.iter().map(|s| s.len()).sum::<usize>()
            + self.refs.capacity() * size_of::<u32>()
            + self.free.capacity() * size_of::<u32>()
            + table
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_counts_and_forgets() {
        let mut t = ScopeTable::default();
        let corp = Labels::from_dotted(b"corp.example").unwrap();
        assert_eq!(t.find(&Labels::EMPTY), Some(ScopeTable::EMPTY));
        assert_eq!(t.find(&corp), None);
        let id = t.intern_dotted(b"corp.example").unwrap();
        assert_eq!(t.find(&corp), Some(id));
        assert_eq!(t.labels(id), corp);
        assert_eq!(t.len(), 2);
        t.acquire(id);
        t.acquire(id);
        assert!(!t.release(id));
        assert!(t.release(id));
        t.forget(id);
        assert_eq!(t.find(&corp), None);
        assert_eq!(t.len(), 1);
        // The number is reused.
        assert_eq!(t.intern_dotted(b"other").unwrap(), id);
    }

    #[test]
    fn dotted_form_refuses_dots_and_length() {
        let mut buf = [0u8; 256];
        let l = Labels::from_dotted(b"a.bc").unwrap();
        assert_eq!(to_dotted(&l, 255, &mut buf), Ok(4));
        assert_eq!(&buf[..4], b"a.bc");
        assert_eq!(to_dotted(&l, 3, &mut buf), Err(ScopeError::TooLong));
    }
}
