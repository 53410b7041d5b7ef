//! Records of the WINS database: the MS-WINSRA record model (name, type,
//! state, addresses, owner, version ID), stored compactly.

use core::fmt;
use core::hash::{Hash, Hasher};
use core::net::Ipv4Addr;
use core::time::Duration;
use std::time::Instant;

use crate::wire::{NbAddrEntry, NetbiosName};

/// Most addresses a special group (0x1C) or multi-homed record keeps
/// (MS-NBTE §3.2.1 asks for at least 25; nmbd and Samba4 cap 0x1C lists at
/// 25). Adding one more evicts the oldest, except that a 0x1C group never
/// loses the address of the holder of the domain's 0x1B name (the primary
/// domain controller), as in Samba's WINS server.
pub const MAX_RECORD_ADDRS: usize = 25;

/// What kind of name a record holds (MS-WINSRA record types; nmbd
/// `WINS_UNIQUE` … `WINS_MHOMED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// A unique name with one address.
    Unique,
    /// A normal group: members are not tracked and queries answer
    /// 255.255.255.255 (RFC 1001 §15.1.3.3, nmbd, Windows).
    NormalGroup,
    /// A special (Internet) group, suffix 0x1C: up to
    /// [`MAX_RECORD_ADDRS`] member addresses.
    SpecialGroup,
    /// A unique name of a multi-homed host: up to [`MAX_RECORD_ADDRS`]
    /// addresses, registered with opcode 0xF (MS-NBTE §2.2.2).
    Multihomed,
}

impl RecordKind {
    /// Whether this is a group kind.
    #[must_use]
    pub const fn is_group(self) -> bool {
        matches!(self, Self::NormalGroup | Self::SpecialGroup)
    }

    pub(crate) const fn word(self) -> &'static str {
        match self {
            Self::Unique => "unique",
            Self::NormalGroup => "group",
            Self::SpecialGroup => "special",
            Self::Multihomed => "multihomed",
        }
    }

    /// The kind's number in a store (MS-WINSRA record type order).
    #[cfg_attr(not(feature = "redb"), allow(dead_code))]
    pub(crate) const fn code(self) -> u8 {
        match self {
            Self::Unique => 0,
            Self::NormalGroup => 1,
            Self::SpecialGroup => 2,
            Self::Multihomed => 3,
        }
    }

    #[cfg_attr(not(feature = "redb"), allow(dead_code))]
    pub(crate) const fn from_code(c: u8) -> Option<Self> {
        Some(match c {
            0 => Self::Unique,
            1 => Self::NormalGroup,
            2 => Self::SpecialGroup,
            3 => Self::Multihomed,
            _ => return None,
        })
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// The life-cycle state of a record (MS-WINSRA; nmbd `WINS_ACTIVE`,
/// `WINS_RELEASED`, `WINS_TOMBSTONED`).
///
/// Active → (release, or TTL expiry) → Released → (extinction interval) →
/// Tombstoned → (extinction timeout) → removed. A registration of a released
/// or tombstoned name makes it active again with a new version ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordState {
    /// Registered and answering queries.
    Active,
    /// Released by its owner or expired; queries answer NAM_ERR.
    Released,
    /// Kept only so replication partners learn of the deletion.
    Tombstoned,
}

impl RecordState {
    pub(crate) const fn word(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Released => "released",
            Self::Tombstoned => "tombstoned",
        }
    }

    /// The state's number in a store (MS-WINSRA state order).
    #[cfg_attr(not(feature = "redb"), allow(dead_code))]
    pub(crate) const fn code(self) -> u8 {
        match self {
            Self::Active => 0,
            Self::Released => 1,
            Self::Tombstoned => 2,
        }
    }

    #[cfg_attr(not(feature = "redb"), allow(dead_code))]
    pub(crate) const fn from_code(c: u8) -> Option<Self> {
        Some(match c {
            0 => Self::Active,
            1 => Self::Released,
            2 => Self::Tombstoned,
            _ => return None,
        })
    }
}

impl fmt::Display for RecordState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// Table key: the raw 16-byte name and the number of its interned scope
/// (0 is the empty scope). 20 bytes, `Copy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Key {
    pub(crate) name: NetbiosName,
    pub(crate) scope: u32,
}

impl Hash for Key {
    #[inline]
    fn hash<H: Hasher>(&self, h: &mut H) {
        let x = u128::from_le_bytes(*self.name.as_bytes());
        #[allow(clippy::cast_possible_truncation)]
        let (lo, hi) = (x as u64, (x >> 64) as u64);
        h.write_u64(lo);
        h.write_u64(hi ^ (u64::from(self.scope) << 32));
    }
}

/// The address list: one entry inline (unique names, the common case), or a
/// boxed slice. Never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Addrs {
    One(NbAddrEntry),
    Many(Box<[NbAddrEntry]>),
}

impl Addrs {
    pub(crate) fn as_slice(&self) -> &[NbAddrEntry] {
        match self {
            Self::One(e) => core::slice::from_ref(e),
            Self::Many(b) => b,
        }
    }

    pub(crate) fn contains(&self, ip: Ipv4Addr) -> bool {
        self.as_slice().iter().any(|e| e.address == ip)
    }

    /// Appends `e`, evicting the oldest entries beyond [`MAX_RECORD_ADDRS`].
    pub(crate) fn push_capped(&mut self, e: NbAddrEntry) {
        self.push_capped_keeping(e, &[]);
    }

    /// Appends `e`, evicting the oldest entries beyond [`MAX_RECORD_ADDRS`]
    /// whose address is not in `keep` (when every old entry is kept, the
    /// oldest goes all the same: the cap always holds).
    pub(crate) fn push_capped_keeping(&mut self, e: NbAddrEntry, keep: &[Ipv4Addr]) {
        let old = self.as_slice();
        let mut excess = (old.len() + 1).saturating_sub(MAX_RECORD_ADDRS);
        let mut v = Vec::with_capacity(old.len() + 1 - excess);
        for x in old {
            if excess > 0 && !keep.contains(&x.address) {
                excess -= 1;
            } else {
                v.push(*x);
            }
        }
        if excess > 0 {
            v.drain(..excess.min(v.len()));
        }
        v.push(e);
        *self = Self::from_vec(v).unwrap_or(Self::One(e));
    }

    /// Removes `ip` unless it is the last address. Returns whether it was
    /// removed.
    pub(crate) fn remove(&mut self, ip: Ipv4Addr) -> bool {
        let old = self.as_slice();
        if old.len() < 2 || !self.contains(ip) {
            return false;
        }
        let v: Vec<_> = old.iter().filter(|e| e.address != ip).copied().collect();
        match Self::from_vec(v) {
            Some(a) => {
                *self = a;
                true
            }
            None => false,
        }
    }

    pub(crate) fn from_vec(mut v: Vec<NbAddrEntry>) -> Option<Self> {
        match v.len() {
            0 => None,
            1 => v.pop().map(Self::One),
            _ => Some(Self::Many(v.into_boxed_slice())),
        }
    }
}

/// One stored record. Times are whole seconds since the server's epoch.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    /// Version ID: a value of the server-wide counter.
    pub(crate) version: u64,
    pub(crate) addrs: Addrs,
    /// When the current state ends (expiry, extinction, removal).
    pub(crate) deadline: u32,
    /// Time of this record's live entry in the timer heap (≤ `deadline`),
    /// or `u32::MAX` when it has none.
    pub(crate) heap_at: u32,
    /// The WINS server that owns the record.
    pub(crate) owner: Ipv4Addr,
    pub(crate) kind: RecordKind,
    pub(crate) state: RecordState,
}

/// A read-only view of one record, from [`WinsServer::records`] or
/// [`WinsServer::record`].
///
/// [`WinsServer::records`]: crate::server::WinsServer::records
/// [`WinsServer::record`]: crate::server::WinsServer::record
#[derive(Clone, Copy)]
pub struct RecordView<'a> {
    pub(crate) name: NetbiosName,
    pub(crate) scope: &'a [u8],
    pub(crate) record: &'a Record,
    pub(crate) epoch: Instant,
}

impl<'a> RecordView<'a> {
    /// The name: 16 raw bytes, compared byte for byte.
    #[must_use]
    pub fn name(&self) -> NetbiosName {
        self.name
    }

    /// The scope ID in dotted form (empty for none).
    #[must_use]
    pub fn scope(&self) -> &'a [u8] {
        self.scope
    }

    /// The record's kind.
    #[must_use]
    pub fn kind(&self) -> RecordKind {
        self.record.kind
    }

    /// The record's state.
    #[must_use]
    pub fn state(&self) -> RecordState {
        self.record.state
    }

    /// The version ID.
    #[must_use]
    pub fn version(&self) -> u64 {
        self.record.version
    }

    /// The addresses, oldest first. A normal group holds one entry for
    /// 255.255.255.255.
    #[must_use]
    pub fn addresses(&self) -> &'a [NbAddrEntry] {
        self.record.addrs.as_slice()
    }

    /// The WINS server owning the record.
    #[must_use]
    pub fn owner(&self) -> Ipv4Addr {
        self.record.owner
    }

    /// When the current state ends: expiry of an active record, the end of
    /// the extinction interval of a released one, removal of a tombstone.
    #[must_use]
    pub fn deadline(&self) -> Instant {
        self.epoch + Duration::from_secs(u64::from(self.record.deadline))
    }
}

impl fmt::Debug for RecordView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordView")
            .field("name", &self.name)
            .field("scope", &self.scope.escape_ascii().to_string())
            .field("kind", &self.record.kind)
            .field("state", &self.record.state)
            .field("version", &self.record.version)
            .field("addresses", &self.record.addrs.as_slice())
            .field("owner", &self.record.owner)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{NbFlags, NodeType};

    fn e(n: u8) -> NbAddrEntry {
        NbAddrEntry::new(NbFlags::new(false, NodeType::H), Ipv4Addr::new(10, 0, 0, n))
    }

    #[test]
    fn small_sizes() {
        assert_eq!(size_of::<Key>(), 20);
        assert_eq!(size_of::<Addrs>(), 16);
        assert!(size_of::<Record>() <= 40, "{}", size_of::<Record>());
    }

    #[test]
    fn push_caps_and_evicts_oldest() {
        let mut a = Addrs::One(e(0));
        for i in 1..30 {
            a.push_capped(e(i));
        }
        assert_eq!(a.as_slice().len(), MAX_RECORD_ADDRS);
        assert_eq!(a.as_slice()[0], e(5));
        assert_eq!(a.as_slice()[24], e(29));
    }

    #[test]
    fn push_keeps_protected_addresses() {
        let mut a = Addrs::One(e(0));
        for i in 1..25 {
            a.push_capped(e(i));
        }
        // 0 and 1 are the oldest; 0 is protected, so 1 goes
        a.push_capped_keeping(e(100), &[Ipv4Addr::new(10, 0, 0, 0)]);
        let s = a.as_slice();
        assert_eq!(s.len(), MAX_RECORD_ADDRS);
        assert_eq!((s[0], s[1], s[24]), (e(0), e(2), e(100)));
        // again: 2 goes, 0 stays
        a.push_capped_keeping(e(101), &[Ipv4Addr::new(10, 0, 0, 0)]);
        assert_eq!(a.as_slice()[..2], [e(0), e(3)]);
        // everything protected: the cap still holds
        let all: Vec<Ipv4Addr> = a.as_slice().iter().map(|x| x.address).collect();
        a.push_capped_keeping(e(102), &all);
        assert_eq!(a.as_slice().len(), MAX_RECORD_ADDRS);
        assert_eq!(a.as_slice()[24], e(102));
    }

    #[test]
    fn remove_keeps_last() {
        let mut a = Addrs::One(e(1));
        assert!(!a.remove(Ipv4Addr::new(10, 0, 0, 1)));
        a.push_capped(e(2));
        assert!(!a.remove(Ipv4Addr::new(10, 0, 0, 9)));
        assert!(a.remove(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(a, Addrs::One(e(2)));
    }

    #[test]
    fn codes_round_trip() {
        for k in [
            RecordKind::Unique,
            RecordKind::NormalGroup,
            RecordKind::SpecialGroup,
            RecordKind::Multihomed,
        ] {
            assert_eq!(RecordKind::from_code(k.code()), Some(k));
        }
        for s in [
            RecordState::Active,
            RecordState::Released,
            RecordState::Tombstoned,
        ] {
            assert_eq!(RecordState::from_code(s.code()), Some(s));
        }
    }
}
