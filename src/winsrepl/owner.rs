//! Owner records and owner-version maps (MS-WINSRA 2.2.7, 2.2.7.1, 2.2.8).

use core::net::Ipv4Addr;

use crate::winsrepl::grammar;

/// One Owner Record (MS-WINSRA 2.2.7.1): a WINS server that owns records,
/// and the range of versions held for it. Also the body of a Name Records
/// Request (2.2.9), which asks for that owner's records with
/// `min_version <= version <= max_version`.
///
/// Max comes before min on the wire; both are big-endian u64 (high word
/// first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OwnerRecord {
    /// Owner IPv4 Address.
    pub owner: Ipv4Addr,
    /// Max Version Number.
    pub max_version: u64,
    /// Min Version Number (Samba's maps always say 0).
    pub min_version: u64,
    /// The Reserved word, "MUST be set to 0x00000001" (tshark:
    /// `winsrepl.owner_type`).
    pub reserved: u32,
}

impl OwnerRecord {
    /// Bytes on the wire.
    pub const LEN: usize = 24;

    /// An owner record with the Reserved word set to 1, as the spec asks.
    #[must_use]
    pub const fn new(owner: Ipv4Addr, max_version: u64, min_version: u64) -> Self {
        Self {
            owner,
            max_version,
            min_version,
            reserved: 1,
        }
    }
}

/// The owner records of a parsed map: validated bytes, decoded on
/// iteration.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Owners<'a> {
    /// A whole number of 24-byte records.
    bytes: &'a [u8],
}

impl<'a> Owners<'a> {
    /// Wraps bytes the grammar has checked to hold whole owner records.
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// Number of owner records.
    #[must_use]
    pub fn len(&self) -> usize {
        self.bytes.len() / OwnerRecord::LEN
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The records, in wire order.
    #[must_use]
    pub fn iter(&self) -> OwnerIter<'a> {
        OwnerIter { rest: self.bytes }
    }
}

impl core::fmt::Debug for Owners<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for Owners<'a> {
    type Item = OwnerRecord;
    type IntoIter = OwnerIter<'a>;
    fn into_iter(self) -> OwnerIter<'a> {
        self.iter()
    }
}

impl PartialEq<[OwnerRecord]> for Owners<'_> {
    fn eq(&self, other: &[OwnerRecord]) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter().copied())
    }
}

/// Iterator over [`Owners`].
#[derive(Debug, Clone)]
pub struct OwnerIter<'a> {
    rest: &'a [u8],
}

impl Iterator for OwnerIter<'_> {
    type Item = OwnerRecord;

    fn next(&mut self) -> Option<OwnerRecord> {
        let (rest, owner) = grammar::owner_record(self.rest).ok()?;
        self.rest = rest;
        Some(owner)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.rest.len() / OwnerRecord::LEN;
        (n, Some(n))
    }
}

impl ExactSizeIterator for OwnerIter<'_> {}

/// A parsed owner-version map: the body of an Owner-Version Map Response
/// (MS-WINSRA 2.2.7) or of an Update Notification (2.2.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OwnerTable<'a> {
    /// The owner records.
    pub owners: Owners<'a>,
    /// The word after them: Reserved2 in a map response (0 by the spec;
    /// Samba sends its own address), the Initiator IPv4 Address in a
    /// notification.
    pub initiator: Ipv4Addr,
}

/// An owner-version map to emit (MS-WINSRA 2.2.7, 2.2.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OwnerTableRepr<'r> {
    /// The owner records.
    pub owners: &'r [OwnerRecord],
    /// Reserved2 of a map response, or the Initiator of a notification.
    pub initiator: Ipv4Addr,
}

impl PartialEq<OwnerTableRepr<'_>> for OwnerTable<'_> {
    fn eq(&self, other: &OwnerTableRepr<'_>) -> bool {
        self.initiator == other.initiator && self.owners == *other.owners
    }
}
