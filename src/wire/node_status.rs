//! NBSTAT RDATA: the node status response's name table and statistics
//! (RFC 1002 §4.2.18).

use core::fmt;

use crate::wire::{NetbiosName, NodeType};

/// NAME_FLAGS of a node status entry (RFC 1002 §4.2.18):
/// `G | ONT(2) | DRG | CNF | ACT | PRM | reserved(9)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct NameFlags(pub u16);

impl NameFlags {
    /// G: group name.
    pub const GROUP: u16 = 0x8000;
    /// DRG: deregistering.
    pub const DEREGISTERING: u16 = 0x1000;
    /// CNF: in conflict.
    pub const CONFLICT: u16 = 0x0800;
    /// ACT: active (always set by RFC nodes).
    pub const ACTIVE: u16 = 0x0400;
    /// PRM: permanent node name.
    pub const PERMANENT: u16 = 0x0200;

    /// Flags for an entry: group bit, node type, and ACT set.
    #[must_use]
    pub const fn active(group: bool, ont: NodeType) -> Self {
        Self(if group { Self::GROUP } else { 0 } | ((ont.bits() as u16) << 13) | Self::ACTIVE)
    }

    /// G.
    #[must_use]
    pub const fn group(self) -> bool {
        self.0 & Self::GROUP != 0
    }
    /// ONT.
    #[must_use]
    pub const fn node_type(self) -> NodeType {
        NodeType::from_bits((self.0 >> 13) as u8)
    }
    /// DRG.
    #[must_use]
    pub const fn deregistering(self) -> bool {
        self.0 & Self::DEREGISTERING != 0
    }
    /// CNF.
    #[must_use]
    pub const fn conflict(self) -> bool {
        self.0 & Self::CONFLICT != 0
    }
    /// ACT.
    #[must_use]
    pub const fn is_active(self) -> bool {
        self.0 & Self::ACTIVE != 0
    }
    /// PRM.
    #[must_use]
    pub const fn permanent(self) -> bool {
        self.0 & Self::PERMANENT != 0
    }
    /// The reserved low 9 bits.
    #[must_use]
    pub const fn reserved(self) -> u16 {
        self.0 & 0x01FF
    }
}

/// One NODE_NAME entry of a node status response: 16 raw name bytes and
/// NAME_FLAGS (RFC 1002 §4.2.18).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct NodeName {
    /// The name.
    pub name: NetbiosName,
    /// Its flags.
    pub flags: NameFlags,
}

impl NodeName {
    /// Bytes of one entry on the wire.
    pub const LEN: usize = 18;
}

impl crate::wire::list::Entry for NodeName {
    const LEN: usize = 18;

    #[inline]
    fn read(c: &[u8]) -> Self {
        let c: [u8; 18] = c.first_chunk::<18>().copied().unwrap_or([0; 18]);
        let (raw, flags) = c.split_at(16);
        Self {
            name: NetbiosName::from_raw(raw.try_into().unwrap_or([0; 16])),
            flags: NameFlags(u16::from_be_bytes(flags.try_into().unwrap_or([0; 2]))),
        }
    }
}

/// The name table of a node status response; at most 255 entries (NUM_NAMES
/// is one byte). Zero-copy like [`NbAddrs`](crate::wire::NbAddrs).
pub type NodeNames<'a> = crate::wire::List<'a, NodeName>;

/// Iterator over [`NodeNames`].
pub type NodeNameIter<'a> = crate::wire::list::Iter<'a, NodeName>;

/// The STATISTICS block after the name table (RFC 1002 §4.2.18): normally 46
/// bytes, UNIT_ID (a MAC address in practice) first.
///
/// Kept as raw bytes of any length: some senders send fewer (a reader should
/// still get the MAC), some more. Accessors return `None` for fields the block
/// is too short to hold.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Statistics<'a>(pub &'a [u8]);

impl<'a> Statistics<'a> {
    /// Length of the RFC's block.
    pub const LEN: usize = 46;

    /// 46 zero bytes, as nmbd sends.
    pub const ZEROED: Statistics<'static> = Statistics(&[0; 46]);

    /// The raw bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// UNIT_ID: 6 bytes, the MAC address in practice.
    #[must_use]
    pub fn unit_id(&self) -> Option<[u8; 6]> {
        self.0.first_chunk::<6>().copied()
    }

    /// JUMPERS.
    #[must_use]
    pub fn jumpers(&self) -> Option<u8> {
        self.0.get(6).copied()
    }

    /// TEST_RESULT.
    #[must_use]
    pub fn test_result(&self) -> Option<u8> {
        self.0.get(7).copied()
    }

    fn u16_at(&self, at: usize) -> Option<u16> {
        self.0
            .get(at..at + 2)
            .and_then(|b| b.first_chunk::<2>())
            .map(|b| u16::from_be_bytes(*b))
    }

    /// VERSION_NUMBER.
    #[must_use]
    pub fn version_number(&self) -> Option<u16> {
        self.u16_at(8)
    }

    /// PERIOD_OF_STATISTICS.
    #[must_use]
    pub fn period_of_statistics(&self) -> Option<u16> {
        self.u16_at(10)
    }

    /// NUMBER_GOOD_SENDS.
    #[must_use]
    pub fn good_sends(&self) -> Option<u32> {
        self.0
            .get(20..24)
            .and_then(|b| b.first_chunk::<4>())
            .map(|b| u32::from_be_bytes(*b))
    }

    /// NUMBER_GOOD_RECEIVES.
    #[must_use]
    pub fn good_receives(&self) -> Option<u32> {
        self.0
            .get(24..28)
            .and_then(|b| b.first_chunk::<4>())
            .map(|b| u32::from_be_bytes(*b))
    }

    /// MAX_TOTAL_SESSIONS_POSSIBLE.
    #[must_use]
    pub fn max_sessions(&self) -> Option<u16> {
        self.u16_at(42)
    }

    /// SESSION_DATA_PACKET_SIZE.
    #[must_use]
    pub fn session_data_packet_size(&self) -> Option<u16> {
        self.u16_at(44)
    }

    /// A 46-byte block with this UNIT_ID and every counter zero.
    #[must_use]
    pub fn block_with_unit_id(unit_id: [u8; 6]) -> [u8; 46] {
        let mut b = [0u8; 46];
        b[..6].copy_from_slice(&unit_id);
        b
    }
}

impl fmt::Debug for Statistics<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Statistics({} bytes, unit id {:02x?})",
            self.0.len(),
            self.unit_id()
        )
    }
}

/// The RDATA of a node status response (RFC 1002 §4.2.18): NUM_NAMES, the
/// name table and the statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct NodeStatus<'a> {
    /// The name table.
    pub names: NodeNames<'a>,
    /// The statistics block.
    pub statistics: Statistics<'a>,
}

impl NodeStatus<'_> {
    /// RDLENGTH: 1 + 18 · names + statistics.
    #[must_use]
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        1 + self.names.len() * NodeName::LEN + self.statistics.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_and_flags() {
        let mut raw = [0u8; 18];
        raw[..16].copy_from_slice(b"WORKGROUP      \x00");
        raw[16] = 0x84;
        let names = NodeNames::from_wire(&raw);
        let e = names.iter().next().unwrap();
        assert_eq!(e.name.to_string(), "WORKGROUP<00>");
        assert!(e.flags.group() && e.flags.is_active() && !e.flags.conflict());
        assert_eq!(e.flags.node_type(), NodeType::B);
        assert_eq!(NameFlags::active(true, NodeType::B), e.flags);
    }

    #[test]
    fn short_statistics() {
        let s = Statistics(&[1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(s.unit_id(), Some([1, 2, 3, 4, 5, 6]));
        assert_eq!(s.jumpers(), Some(7));
        assert_eq!(s.test_result(), None);
        assert_eq!(Statistics(&[1, 2]).unit_id(), None);
        assert_eq!(Statistics::ZEROED.max_sessions(), Some(0));
    }
}
