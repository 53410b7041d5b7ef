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

    /// The 6 wire bytes.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; 6] {
        let f = self.flags.0.to_be_bytes();
        let a = self.address.octets();
        [f[0], f[1], a[0], a[1], a[2], a[3]]
    }
}

impl crate::wire::list::Entry for NbAddrEntry {
    const LEN: usize = 6;

    #[inline]
    fn read(c: &[u8]) -> Self {
        let [f0, f1, a, b, c, d] = c.first_chunk::<6>().copied().unwrap_or_default();
        Self {
            flags: NbFlags(u16::from_be_bytes([f0, f1])),
            address: Ipv4Addr::new(a, b, c, d),
        }
    }
}

/// The address entries of an NB record: zero or more [`NbAddrEntry`]
/// (RFC 1002 §4.2.13; a negative query response may carry none). Parsed
/// entries stay in the datagram and are read as they are iterated.
pub type NbAddrs<'a> = crate::wire::List<'a, NbAddrEntry>;

/// Iterator over [`NbAddrs`].
pub type NbAddrIter<'a> = crate::wire::list::Iter<'a, NbAddrEntry>;

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
