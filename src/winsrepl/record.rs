//! Name records (MS-WINSRA 2.2.10.1) with their flags and address records
//! (2.2.10.1.1), as parsed views and as values to emit.

use core::net::Ipv4Addr;

use crate::winsrepl::grammar;
use crate::wire::{NetbiosName, NodeType};

/// Most bytes of a scope in a name record: the Name field, at most 255
/// bytes, holds the 16-byte NetBIOS name, the scope and a final 0x00
/// (MS-WINSRA 2.2.10.1).
pub const MAX_SCOPE_LEN: usize = 255 - 17;

/// The entry type: bits 1–0 (ET) of the flags (MS-WINSRA 2.2.10.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    /// 0: a unique name with one address.
    Unique,
    /// 1: a normal group; resolves to 255.255.255.255, one address on the
    /// wire.
    NormalGroup,
    /// 2: a special group (such as `<1c>`), with a member list.
    SpecialGroup,
    /// 3: a multihomed name, with an address list.
    Multihomed,
}

impl RecordType {
    /// From the two ET bits.
    #[must_use]
    pub const fn from_bits(bits: u32) -> Self {
        match bits & 3 {
            0 => Self::Unique,
            1 => Self::NormalGroup,
            2 => Self::SpecialGroup,
            _ => Self::Multihomed,
        }
    }

    /// The two ET bits.
    #[must_use]
    pub const fn bits(self) -> u32 {
        match self {
            Self::Unique => 0,
            Self::NormalGroup => 1,
            Self::SpecialGroup => 2,
            Self::Multihomed => 3,
        }
    }

    /// Whether the record carries an address list (special group or
    /// multihomed) rather than one address.
    #[must_use]
    pub const fn has_list(self) -> bool {
        matches!(self, Self::SpecialGroup | Self::Multihomed)
    }

    /// Whether the Group byte is 1 for this type.
    #[must_use]
    pub const fn is_group(self) -> bool {
        matches!(self, Self::NormalGroup | Self::SpecialGroup)
    }
}

/// The record state: bits 3–2 (ST) of the flags (MS-WINSRA 2.2.10.1,
/// 3.1.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordState {
    /// 0: active.
    Active,
    /// 1: released (never replicated by a correct push partner).
    Released,
    /// 2: tombstone: a deletion that replicates.
    Tombstone,
    /// 3: reserved, "opaque" to the spec (Wireshark: "Deleted").
    Reserved,
}

impl RecordState {
    /// From the two ST bits (already shifted down).
    #[must_use]
    pub const fn from_bits(bits: u32) -> Self {
        match bits & 3 {
            0 => Self::Active,
            1 => Self::Released,
            2 => Self::Tombstone,
            _ => Self::Reserved,
        }
    }

    /// The two ST bits (not shifted).
    #[must_use]
    pub const fn bits(self) -> u32 {
        match self {
            Self::Active => 0,
            Self::Released => 1,
            Self::Tombstone => 2,
            Self::Reserved => 3,
        }
    }
}

/// The flags word of a name record (MS-WINSRA 2.2.10.1): Reserved1 and the
/// Flags byte, read as one big-endian u32 as Samba and Wireshark do.
///
/// A newtype over the raw word: reserved bits survive a round trip.
///
/// ```
/// use nbns::wire::NodeType;
/// use nbns::winsrepl::{RecordFlags, RecordState, RecordType};
/// let f = RecordFlags::new(RecordType::Multihomed, RecordState::Active, NodeType::M);
/// assert_eq!(f.bits(), 0x43); // as Samba sends its own names
/// assert_eq!(f.record_type(), RecordType::Multihomed);
/// assert!(!f.is_replica());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RecordFlags(pub u32);

impl RecordFlags {
    /// ET: the entry type.
    pub const TYPE_MASK: u32 = 0x03;
    /// ST: the state.
    pub const STATE_MASK: u32 = 0x0C;
    /// L: 1 when the record is a replica (not owned by the sender). Samba
    /// never sets it.
    pub const REPLICA: u32 = 0x10;
    /// NT: the node type.
    pub const NODE_MASK: u32 = 0x60;
    /// S: a static record, added by an administrator.
    pub const STATIC: u32 = 0x80;

    /// Flags of a dynamic, local record with the given type, state and node
    /// type.
    #[must_use]
    pub const fn new(record_type: RecordType, state: RecordState, node: NodeType) -> Self {
        Self(record_type.bits() | state.bits() << 2 | (node.bits() as u32) << 5)
    }

    /// The same flags with L (replica) set or cleared.
    #[must_use]
    pub const fn with_replica(self, replica: bool) -> Self {
        Self(if replica {
            self.0 | Self::REPLICA
        } else {
            self.0 & !Self::REPLICA
        })
    }

    /// The same flags with S (static) set or cleared.
    #[must_use]
    pub const fn with_static(self, is_static: bool) -> Self {
        Self(if is_static {
            self.0 | Self::STATIC
        } else {
            self.0 & !Self::STATIC
        })
    }

    /// The raw word.
    #[must_use]
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// ET.
    #[must_use]
    pub const fn record_type(self) -> RecordType {
        RecordType::from_bits(self.0)
    }

    /// ST.
    #[must_use]
    pub const fn state(self) -> RecordState {
        RecordState::from_bits(self.0 >> 2)
    }

    /// L: whether the sender marks the record as a replica.
    #[must_use]
    pub const fn is_replica(self) -> bool {
        self.0 & Self::REPLICA != 0
    }

    /// NT: the node type (3 is reserved in the spec; H-node in Samba and
    /// Wireshark).
    #[must_use]
    pub const fn node_type(self) -> NodeType {
        NodeType::from_bits((self.0 >> 5) as u8)
    }

    /// S: whether the record is static.
    #[must_use]
    pub const fn is_static(self) -> bool {
        self.0 & Self::STATIC != 0
    }
}

/// One Owner and Member IPv4 Address of an address list
/// (MS-WINSRA 2.2.10.1.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Member {
    /// The WINS server that owns this member address.
    pub owner: Ipv4Addr,
    /// The member address.
    pub address: Ipv4Addr,
}

impl Member {
    /// Bytes on the wire.
    pub const LEN: usize = 8;
}

/// The member list of a parsed special-group or multihomed record
/// (MS-WINSRA 2.2.10.1.1): validated bytes, decoded on iteration.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Members<'a> {
    /// A whole number of 8-byte entries.
    bytes: &'a [u8],
}

impl<'a> Members<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// Number of members.
    #[must_use]
    pub fn len(&self) -> usize {
        self.bytes.len() / Member::LEN
    }

    /// Whether the list is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The members, in wire order.
    #[must_use]
    pub fn iter(&self) -> MemberIter<'a> {
        MemberIter { rest: self.bytes }
    }
}

impl core::fmt::Debug for Members<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for Members<'a> {
    type Item = Member;
    type IntoIter = MemberIter<'a>;
    fn into_iter(self) -> MemberIter<'a> {
        self.iter()
    }
}

/// Iterator over [`Members`].
#[derive(Debug, Clone)]
pub struct MemberIter<'a> {
    rest: &'a [u8],
}

impl Iterator for MemberIter<'_> {
    type Item = Member;

    fn next(&mut self) -> Option<Member> {
        let (rest, member) = grammar::member(self.rest).ok()?;
        self.rest = rest;
        Some(member)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.rest.len() / Member::LEN;
        (n, Some(n))
    }
}

impl ExactSizeIterator for MemberIter<'_> {}

/// The Address Record of a parsed name record: its form follows the entry
/// type (MS-WINSRA 2.2.10.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Addresses<'a> {
    /// Unique and normal group records: one address.
    Single(Ipv4Addr),
    /// Special group and multihomed records: owner and member pairs. The
    /// count is read as a little-endian u32 (Samba, Wireshark), which is
    /// the spec's count byte while the 3 reserved bytes are 0.
    List(Members<'a>),
}

/// The Name field of a parsed record, as sent (MS-WINSRA 2.2.10.1).
///
/// Normally 16 bytes of NetBIOS name, the scope as dotted text, and 0x00.
/// For suffix 0x1B, Windows and Samba send the first and last byte of the
/// NetBIOS name swapped; [`RecordName::netbios`] swaps them back whenever
/// the first byte is 0x1B, as Samba does.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordName<'a> {
    /// The Name field, 1 to 255 bytes.
    raw: &'a [u8],
}

impl<'a> RecordName<'a> {
    pub(crate) fn new(raw: &'a [u8]) -> Self {
        Self { raw }
    }

    /// The Name field as sent (its length is the Name Length).
    #[must_use]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.raw
    }

    /// Whether the field has the normal form: at least 17 bytes, the last
    /// one 0x00. Only such names round-trip through [`NameRecordRepr`].
    #[must_use]
    pub fn is_canonical(&self) -> bool {
        self.raw.len() >= 17 && self.raw.last() == Some(&0)
    }

    /// The NetBIOS name, with the 0x1B swap undone; `None` when the field
    /// is shorter than 17 bytes.
    #[must_use]
    pub fn netbios(&self) -> Option<NetbiosName> {
        if self.raw.len() < 17 {
            return None;
        }
        let mut raw = *self.raw.first_chunk::<16>()?;
        if raw[0] == 0x1B {
            raw.swap(0, 15);
        }
        Some(NetbiosName::from_raw(raw))
    }

    /// The scope: the bytes between the NetBIOS name and the final byte
    /// (empty for an unscoped name).
    #[must_use]
    pub fn scope(&self) -> &'a [u8] {
        let end = self.raw.len().saturating_sub(1);
        self.raw.get(16..end).unwrap_or_default()
    }
}

impl core::fmt::Debug for RecordName<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.netbios() {
            Some(n) if self.scope().is_empty() => write!(f, "{n}"),
            Some(n) => write!(f, "{n}.{}", self.scope().escape_ascii()),
            None => write!(f, "raw \"{}\"", self.raw.escape_ascii()),
        }
    }
}

/// One parsed name record (MS-WINSRA 2.2.10.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NameRecord<'a> {
    /// The Name field. The Padding after it is not kept.
    pub name: RecordName<'a>,
    /// Reserved1 and Flags.
    pub flags: RecordFlags,
    /// Group and Reserved2, read as a little-endian u32 (Samba, Wireshark):
    /// 1 for normal and special groups, else 0.
    pub group: u32,
    /// Version Number.
    pub version: u64,
    /// Address Record.
    pub addresses: Addresses<'a>,
    /// Reserved3, "MUST be set to 0xFFFFFFFF" (tshark: `winsrepl.unknown`).
    pub reserved: u32,
}

/// The name records of a parsed Name Records Response
/// (MS-WINSRA 2.2.10): validated bytes, decoded on iteration.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NameRecords<'a> {
    /// Exactly `count` well-formed records.
    bytes: &'a [u8],
    count: u32,
}

impl<'a> NameRecords<'a> {
    pub(crate) fn new(bytes: &'a [u8], count: u32) -> Self {
        Self { bytes, count }
    }

    /// Number of records (the Number of Name Records field).
    #[must_use]
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The records' bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The records, in wire order.
    #[must_use]
    pub fn iter(&self) -> NameRecordIter<'a> {
        NameRecordIter {
            rest: self.bytes,
            left: self.count,
        }
    }
}

impl core::fmt::Debug for NameRecords<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for NameRecords<'a> {
    type Item = NameRecord<'a>;
    type IntoIter = NameRecordIter<'a>;
    fn into_iter(self) -> NameRecordIter<'a> {
        self.iter()
    }
}

/// Iterator over [`NameRecords`].
#[derive(Debug, Clone)]
pub struct NameRecordIter<'a> {
    rest: &'a [u8],
    left: u32,
}

impl<'a> Iterator for NameRecordIter<'a> {
    type Item = NameRecord<'a>;

    #[inline]
    fn next(&mut self) -> Option<NameRecord<'a>> {
        self.left = self.left.checked_sub(1)?;
        let (rest, record) = grammar::name_record(self.rest).ok()?;
        self.rest = rest;
        Some(record)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left as usize, Some(self.left as usize))
    }
}

impl ExactSizeIterator for NameRecordIter<'_> {}

/// The Address Record of a name record to emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressesRepr<'r> {
    /// One address (unique and normal group records).
    Single(Ipv4Addr),
    /// Owner and member pairs (special group and multihomed records), at
    /// most 255.
    List(&'r [Member]),
}

/// A name record to emit (MS-WINSRA 2.2.10.1).
///
/// ```
/// use core::net::Ipv4Addr;
/// use nbns::wire::{NetbiosName, NodeType};
/// use nbns::winsrepl::{AddressesRepr, NameRecordRepr, RecordFlags, RecordState, RecordType};
/// let flags = RecordFlags::new(RecordType::Unique, RecordState::Active, NodeType::H);
/// let host = NameRecordRepr::new(
///     NetbiosName::new("HOSTA", 0x00).unwrap(),
///     flags,
///     7,
///     AddressesRepr::Single(Ipv4Addr::new(10, 137, 9, 2)),
/// );
/// assert_eq!(host.group, 0);
/// assert_eq!(host.buffer_len(), 48);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NameRecordRepr<'r> {
    /// The NetBIOS name; sent with the 0x1B swap when its suffix is 0x1B.
    pub name: NetbiosName,
    /// The scope as dotted text (empty for none), at most
    /// [`MAX_SCOPE_LEN`] bytes.
    pub scope: &'r [u8],
    /// Reserved1 and Flags.
    pub flags: RecordFlags,
    /// Group and Reserved2, sent as a little-endian u32.
    pub group: u32,
    /// Version Number.
    pub version: u64,
    /// Address Record; its form must suit the entry type.
    pub addresses: AddressesRepr<'r>,
    /// Reserved3.
    pub reserved: u32,
}

impl<'r> NameRecordRepr<'r> {
    /// An unscoped record with the Group word the entry type asks for and
    /// Reserved3 = 0xFFFFFFFF.
    #[must_use]
    pub const fn new(
        name: NetbiosName,
        flags: RecordFlags,
        version: u64,
        addresses: AddressesRepr<'r>,
    ) -> Self {
        Self {
            name,
            scope: &[],
            flags,
            group: flags.record_type().is_group() as u32,
            version,
            addresses,
            reserved: 0xFFFF_FFFF,
        }
    }

    /// The same record with a scope.
    #[must_use]
    pub const fn with_scope(self, scope: &'r [u8]) -> Self {
        Self { scope, ..self }
    }

    /// The Name Length field: 16 bytes of name, the scope and 0x00.
    #[must_use]
    pub fn name_len(&self) -> usize {
        17 + self.scope.len()
    }

    /// Bytes on the wire.
    #[must_use]
    pub fn buffer_len(&self) -> usize {
        let name = self.name_len();
        let addresses = match self.addresses {
            AddressesRepr::Single(_) => 4,
            AddressesRepr::List(members) => 4 + Member::LEN * members.len(),
        };
        4 + name + padding_len(name) + 16 + addresses + 4
    }

    /// The 16 name bytes as sent: with the first and last byte swapped for
    /// suffix 0x1B.
    #[must_use]
    pub fn wire_name(&self) -> [u8; 16] {
        let mut raw = *self.name.as_bytes();
        if self.name.suffix() == 0x1B {
            raw.swap(0, 15);
        }
        raw
    }
}

/// The Padding after a Name field of `name_len` bytes: 1 to 4 bytes, 4
/// when the name is already 4-byte aligned (MS-WINSRA 2.2.10.1; Windows and
/// Samba do so).
#[must_use]
pub(crate) const fn padding_len(name_len: usize) -> usize {
    4 - name_len % 4
}

impl PartialEq<NameRecordRepr<'_>> for NameRecord<'_> {
    fn eq(&self, other: &NameRecordRepr<'_>) -> bool {
        let addresses = match (self.addresses, other.addresses) {
            (Addresses::Single(a), AddressesRepr::Single(b)) => a == b,
            (Addresses::List(a), AddressesRepr::List(b)) => {
                a.len() == b.len() && a.iter().eq(b.iter().copied())
            }
            _ => false,
        };
        addresses
            && self.name.is_canonical()
            && self.name.netbios() == Some(other.name)
            && self.name.scope() == other.scope
            && self.flags == other.flags
            && self.group == other.group
            && self.version == other.version
            && self.reserved == other.reserved
    }
}
