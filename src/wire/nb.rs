//! NB resource record data: address entries with their NB_FLAGS
//! (RFC 1002 §4.2.2, §4.2.13).

use core::fmt;
use core::net::Ipv4Addr;

/// Owner node type, the ONT field of NB_FLAGS and NAME_FLAGS
/// (RFC 1002 §4.2.1.3). The value 3 is reserved in the RFC; Microsoft uses it
/// for H-nodes, and so does this crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum NodeType {
    /// B-node (broadcast).
    B,
    /// P-node (point-to-point, WINS only).
    P,
    /// M-node (mixed: broadcast first).
    M,
    /// H-node (hybrid: WINS first); "reserved" in RFC 1002.
    H,
}

impl NodeType {
    /// From the two ONT bits (0..=3).
    #[must_use]
    pub const fn from_bits(bits: u8) -> Self {
        match bits & 3 {
            0 => Self::B,
            1 => Self::P,
            2 => Self::M,
            _ => Self::H,
        }
    }

    /// The two ONT bits.
    #[must_use]
    pub const fn bits(self) -> u8 {
        match self {
            Self::B => 0,
            Self::P => 1,
            Self::M => 2,
            Self::H => 3,
        }
    }
}

impl fmt::Display for NodeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::B => "B-node",
            Self::P => "P-node",
            Self::M => "M-node",
            Self::H => "H-node",
        })
    }
}

/// NB_FLAGS (RFC 1002 §4.2.1.3): `G | ONT(2) | reserved(13)`.
///
/// A newtype over the raw word. Senders do set reserved bits (Samba ORs in
/// 0x0400, "active"), so they are kept, never rejected.
///
/// ```
/// use nbns::wire::{NbFlags, NodeType};
/// let f = NbFlags::new(true, NodeType::H);
/// assert_eq!(f.bits(), 0xE000);
/// assert!(f.group());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct NbFlags(pub u16);

impl NbFlags {
    /// G: group name.
    pub const GROUP: u16 = 0x8000;
    /// ONT: owner node type.
    pub const ONT_MASK: u16 = 0x6000;

    /// Flags with the group bit and node type set and nothing else.
    #[must_use]
    pub const fn new(group: bool, ont: NodeType) -> Self {
        Self(if group { Self::GROUP } else { 0 } | ((ont.bits() as u16) << 13))
    }

    /// The raw bits.
    #[must_use]
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// G: whether the name is a group name.
    #[must_use]
    pub const fn group(self) -> bool {
        self.0 & Self::GROUP != 0
    }

    /// ONT: the owner's node type.
    #[must_use]
    pub const fn node_type(self) -> NodeType {
        NodeType::from_bits((self.0 >> 13) as u8)
    }

    /// The bits outside G and ONT.
    #[must_use]
    pub const fn reserved(self) -> u16 {
        self.0 & 0x1FFF
    }
}

/// One ADDR_ENTRY of NB RDATA: NB_FLAGS and NB_ADDRESS (RFC 1002 §4.2.13).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct NbAddrEntry {
    /// NB_FLAGS.
    pub flags: NbFlags,
    /// NB_ADDRESS.
    pub address: Ipv4Addr,
}

impl NbAddrEntry {
    /// Bytes of one entry on the wire.
    pub const LEN: usize = 6;

    /// An entry.
    #[must_use]
    pub const fn new(flags: NbFlags, address: Ipv4Addr) -> Self {
        Self { flags, address }
    }

    fn from_chunk(c: &[u8; 6]) -> Self {
        Self {
            flags: NbFlags(u16::from_be_bytes([c[0], c[1]])),
            address: Ipv4Addr::new(c[2], c[3], c[4], c[5]),
        }
    }

    /// The 6 wire bytes.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; 6] {
        let f = self.flags.0.to_be_bytes();
        let a = self.address.octets();
        [f[0], f[1], a[0], a[1], a[2], a[3]]
    }
}

/// The address entries of an NB record: zero or more [`NbAddrEntry`]
/// (RFC 1002 §4.2.13; a negative query response may carry none).
///
/// Zero-copy: parsed entries stay in the datagram and are decoded as they are
/// iterated; entries for emission come from a slice or a single value.
/// Equality compares entries, whatever the origin.
///
/// ```
/// use core::net::Ipv4Addr;
/// use nbns::wire::{NbAddrEntry, NbAddrs, NbFlags, NodeType};
/// let e = NbAddrEntry::new(NbFlags::new(false, NodeType::H), Ipv4Addr::new(10, 0, 0, 5));
/// let addrs = NbAddrs::one(e);
/// assert_eq!(addrs.len(), 1);
/// assert_eq!(addrs.first(), Some(e));
/// ```
#[derive(Clone, Copy)]
pub struct NbAddrs<'a>(AddrRepr<'a>);

/// How entries are held: wire bytes, a caller's slice, or one value.
#[derive(Clone, Copy)]
pub(crate) enum AddrRepr<'a> {
    Wire(&'a [u8]),
    Slice(&'a [NbAddrEntry]),
    One(NbAddrEntry),
}

impl<'a> NbAddrs<'a> {
    /// No entries.
    pub const EMPTY: NbAddrs<'static> = NbAddrs(AddrRepr::Slice(&[]));

    /// A single entry, held by value.
    #[must_use]
    pub const fn one(entry: NbAddrEntry) -> Self {
        Self(AddrRepr::One(entry))
    }

    /// Entries borrowed from a slice.
    #[must_use]
    pub const fn from_slice(entries: &'a [NbAddrEntry]) -> Self {
        Self(AddrRepr::Slice(entries))
    }

    /// Entries in wire form: `bytes.len()` must be a multiple of 6, and any
    /// incomplete last entry is ignored.
    #[must_use]
    pub const fn from_wire(bytes: &'a [u8]) -> Self {
        Self(AddrRepr::Wire(bytes))
    }

    /// Number of entries.
    #[must_use]
    pub const fn len(&self) -> usize {
        match self.0 {
            AddrRepr::Wire(b) => b.len() / 6,
            AddrRepr::Slice(s) => s.len(),
            AddrRepr::One(_) => 1,
        }
    }

    /// Whether there are no entries.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first entry.
    #[must_use]
    pub fn first(&self) -> Option<NbAddrEntry> {
        self.iter().next()
    }

    /// The entries, in order.
    #[must_use]
    pub fn iter(&self) -> NbAddrIter<'a> {
        NbAddrIter {
            repr: self.0,
            index: 0,
        }
    }

    /// How the entries are held.
    #[inline]
    pub(crate) const fn repr(&self) -> AddrRepr<'a> {
        self.0
    }

    /// Bytes on the wire (RDLENGTH).
    #[must_use]
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        self.len() * NbAddrEntry::LEN
    }
}

impl PartialEq for NbAddrs<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for NbAddrs<'_> {}

impl fmt::Debug for NbAddrs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for NbAddrs<'a> {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let n = u.int_in_range(0..=8usize)?;
        Ok(Self::from_wire(u.bytes(n * 6)?))
    }
}

/// Iterator over [`NbAddrs`].
#[derive(Debug, Clone)]
pub struct NbAddrIter<'a> {
    repr: AddrRepr<'a>,
    index: usize,
}

impl fmt::Debug for AddrRepr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NbAddrs")
    }
}

impl Iterator for NbAddrIter<'_> {
    type Item = NbAddrEntry;

    fn next(&mut self) -> Option<NbAddrEntry> {
        let i = self.index;
        let e = match self.repr {
            AddrRepr::Wire(b) => b
                .get(i * 6..)
                .and_then(|r| r.first_chunk::<6>())
                .map(NbAddrEntry::from_chunk),
            AddrRepr::Slice(s) => s.get(i).copied(),
            AddrRepr::One(e) => (i == 0).then_some(e),
        };
        self.index += usize::from(e.is_some());
        e
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let total = NbAddrs(self.repr).len();
        let left = total.saturating_sub(self.index);
        (left, Some(left))
    }
}

impl ExactSizeIterator for NbAddrIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two entries of a positive query response: an H-node unique name at
    /// 192.168.1.10 and a B-node group entry with Samba's 0x0400 bit.
    static ENTRIES: [u8; 12] = [0x60, 0x00, 192, 168, 1, 10, 0x84, 0x00, 10, 0, 0, 1];

    #[test]
    fn parse_entries() {
        let a = NbAddrs::from_wire(&ENTRIES);
        let v: Vec<_> = a.iter().collect();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].flags.node_type(), NodeType::H);
        assert!(!v[0].flags.group());
        assert_eq!(v[0].address, Ipv4Addr::new(192, 168, 1, 10));
        assert!(v[1].flags.group());
        assert_eq!(v[1].flags.node_type(), NodeType::B);
        assert_eq!(v[1].flags.reserved(), 0x0400);
    }

    #[test]
    fn emit_entries_and_compare_across_forms() {
        let entries: Vec<_> = NbAddrs::from_wire(&ENTRIES).iter().collect();
        let mut out = Vec::new();
        for e in &entries {
            out.extend_from_slice(&e.to_bytes());
        }
        assert_eq!(out, ENTRIES);
        assert_eq!(NbAddrs::from_slice(&entries), NbAddrs::from_wire(&ENTRIES));
        assert_ne!(NbAddrs::one(entries[0]), NbAddrs::from_wire(&ENTRIES));
    }
}
