//! A stored record as bytes: the table key (name and scope) and the value
//! (everything else), in a fixed layout of big-endian fields.
//!
//! ```text
//! key:   name (16 raw bytes) | scope (dotted bytes, empty for none)
//! value: format (1) | kind (1) | state (1) | address count n (1)
//!        | version (8) | deadline, seconds since the Unix epoch (8)
//!        | owner (4) | n × (NB_FLAGS (2) | address (4))
//!        [format 2 only: n × member owner (4)]
//! ```
//!
//! Format 1 is written when the record's owner owns every member, format
//! 2 when a member of a special group or multihomed record has an owner
//! of its own (MS-WINSRA 2.2.10.1.1.1). Both are read, so a store written
//! before member owners existed loads unchanged.
//!
//! A record without a scope and with one address in format 1 (most of a
//! WINS database: unique names) is stored in a table of fixed-width rows
//! instead: the key is the name as a big-endian `u128` (so the order is
//! the same), the value the 30 bytes of its format-1 value. A B-tree leaf
//! of fixed-width rows keeps no offset table, so an insert does not
//! rewrite every offset of its page, and keys compare as integers.

use core::net::Ipv4Addr;

use crate::server::{MAX_RECORD_ADDRS, RecordKind, RecordState};
use crate::wire::{NbAddrEntry, NbFlags, NetbiosName};

/// Layout version in the first byte of a value without member owners.
const FORMAT: u8 = 1;
/// Layout version of a value with member owners.
const FORMAT_OWNERS: u8 = 2;
const HEAD: usize = 24;

/// A record's fields as they are stored; the deadline is wall-clock time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    pub(crate) name: NetbiosName,
    pub(crate) scope: Box<[u8]>,
    pub(crate) kind: RecordKind,
    pub(crate) state: RecordState,
    pub(crate) version: u64,
    /// Seconds since the Unix epoch.
    pub(crate) deadline: u64,
    pub(crate) owner: Ipv4Addr,
    pub(crate) addresses: Box<[NbAddrEntry]>,
    /// Empty, or the owner of each address in order.
    pub(crate) member_owners: Box<[Ipv4Addr]>,
}

/// Why a stored key or value could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bad {
    Key,
    Value,
}

/// Length of a value in the fixed-width table.
pub(crate) const COMPACT_LEN: usize = HEAD + 6;

/// The fixed-width row of a record whose `value` (from [`value`]) has the
/// format-1 layout with one address, when it has no scope; `None` for
/// every other record.
pub(crate) fn compact(
    name: &NetbiosName,
    scope: &[u8],
    value: &[u8],
) -> Option<(u128, [u8; COMPACT_LEN])> {
    if !scope.is_empty() || value.first() != Some(&FORMAT) {
        return None;
    }
    Some((compact_key(name), value.try_into().ok()?))
}

/// The fixed-width table's key of an unscoped name.
pub(crate) fn compact_key(name: &NetbiosName) -> u128 {
    u128::from_be_bytes(*name.as_bytes())
}

pub(crate) fn key(name: &NetbiosName, scope: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(scope);
}

/// The value of a record with these fields (`deadline` in seconds since
/// the Unix epoch).
#[expect(clippy::too_many_arguments, reason = "one argument per stored field")]
pub(crate) fn value(
    kind: RecordKind,
    state: RecordState,
    version: u64,
    deadline: u64,
    owner: Ipv4Addr,
    addresses: &[NbAddrEntry],
    member_owners: &[Ipv4Addr],
    out: &mut Vec<u8>,
) {
    out.clear();
    let n = u8::try_from(addresses.len()).unwrap_or(u8::MAX);
    let owned = member_owners.len() == addresses.len() && !member_owners.is_empty();
    let format = if owned { FORMAT_OWNERS } else { FORMAT };
    out.extend_from_slice(&[format, kind.code(), state.code(), n]);
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(&deadline.to_be_bytes());
    out.extend_from_slice(&owner.octets());
    for e in addresses.iter().take(usize::from(n)) {
        out.extend_from_slice(&e.flags.bits().to_be_bytes());
        out.extend_from_slice(&e.address.octets());
    }
    if owned {
        for o in member_owners.iter().take(usize::from(n)) {
            out.extend_from_slice(&o.octets());
        }
    }
}

fn be<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..at + N)?.try_into().ok()
}

pub(crate) fn decode(k: &[u8], v: &[u8]) -> Result<Row, Bad> {
    let (name, scope) = k.split_first_chunk::<16>().ok_or(Bad::Key)?;
    let head = v.first_chunk::<4>().ok_or(Bad::Value)?;
    let [format, kind, state, n] = *head;
    let n = usize::from(n);
    let len = match format {
        FORMAT => HEAD + 6 * n,
        FORMAT_OWNERS => HEAD + 10 * n,
        _ => return Err(Bad::Value),
    };
    if n == 0 || n > MAX_RECORD_ADDRS || v.len() != len {
        return Err(Bad::Value);
    }
    let field = |at| be::<8>(v, at).map(u64::from_be_bytes).ok_or(Bad::Value);
    let addresses = (0..n)
        .map(|i| {
            let at = HEAD + 6 * i;
            let flags = be::<2>(v, at).ok_or(Bad::Value)?;
            let ip = be::<4>(v, at + 2).ok_or(Bad::Value)?;
            Ok(NbAddrEntry::new(
                NbFlags(u16::from_be_bytes(flags)),
                Ipv4Addr::from(ip),
            ))
        })
        .collect::<Result<Box<[_]>, Bad>>()?;
    let member_owners = if format == FORMAT_OWNERS {
        (0..n)
            .map(|i| {
                let ip = be::<4>(v, HEAD + 6 * n + 4 * i).ok_or(Bad::Value)?;
                Ok(Ipv4Addr::from(ip))
            })
            .collect::<Result<Box<[_]>, Bad>>()?
    } else {
        Box::default()
    };
    Ok(Row {
        name: NetbiosName::from_raw(*name),
        scope: scope.into(),
        kind: RecordKind::from_code(kind).ok_or(Bad::Value)?,
        state: RecordState::from_code(state).ok_or(Bad::Value)?,
        version: field(4)?,
        deadline: field(12)?,
        owner: Ipv4Addr::from(be::<4>(v, 20).ok_or(Bad::Value)?),
        addresses,
        member_owners,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::NodeType;

    /// `HOST<20>` in scope `corp`, unique, active, version 0x0102,
    /// deadline 0x6000_0000, owner 10.0.0.1, one address 10.0.0.7 (H node).
    static KEY_BYTES: [u8; 20] = [
        b'H', b'O', b'S', b'T', b' ', b' ', b' ', b' ', b' ', b' ', b' ', b' ', b' ', b' ', b' ',
        0x20, b'c', b'o', b'r', b'p',
    ];
    static VALUE_BYTES: [u8; 30] = [
        1, 0, 0, 1, // format, unique, active, one address
        0, 0, 0, 0, 0, 0, 0x01, 0x02, // version
        0, 0, 0, 0, 0x60, 0, 0, 0, // deadline
        10, 0, 0, 1, // owner
        0x60, 0x00, 10, 0, 0, 7, // H node, 10.0.0.7
    ];

    fn row() -> Row {
        Row {
            name: NetbiosName::new("HOST", 0x20).unwrap(),
            scope: (*b"corp").into(),
            kind: RecordKind::Unique,
            state: RecordState::Active,
            version: 0x0102,
            deadline: 0x6000_0000,
            owner: Ipv4Addr::new(10, 0, 0, 1),
            addresses: [NbAddrEntry::new(
                NbFlags::new(false, NodeType::H),
                Ipv4Addr::new(10, 0, 0, 7),
            )]
            .into(),
            member_owners: Box::default(),
        }
    }

    /// `DOM<1c>` without scope, a special group owned by 10.0.0.1, version
    /// 9: 10.0.0.7 (owner 10.0.0.1) and 10.0.0.8 (owner 10.0.0.2).
    static GROUP_KEY_BYTES: [u8; 16] = [
        b'D', b'O', b'M', b' ', b' ', b' ', b' ', b' ', b' ', b' ', b' ', b' ', b' ', b' ', b' ',
        0x1c,
    ];
    static GROUP_VALUE_BYTES: [u8; 44] = [
        2, 2, 0, 2, // format 2, special group, active, two addresses
        0, 0, 0, 0, 0, 0, 0, 9, // version
        0, 0, 0, 0, 0x60, 0, 0, 0, // deadline
        10, 0, 0, 1, // owner
        0xe0, 0x00, 10, 0, 0, 7, // group, H node, 10.0.0.7
        0xe0, 0x00, 10, 0, 0, 8, // group, H node, 10.0.0.8
        10, 0, 0, 1, // owner of 10.0.0.7
        10, 0, 0, 2, // owner of 10.0.0.8
    ];

    fn group_row() -> Row {
        let entry =
            |n| NbAddrEntry::new(NbFlags::new(true, NodeType::H), Ipv4Addr::new(10, 0, 0, n));
        Row {
            name: NetbiosName::new("DOM", 0x1c).unwrap(),
            scope: Box::default(),
            kind: RecordKind::SpecialGroup,
            state: RecordState::Active,
            version: 9,
            deadline: 0x6000_0000,
            owner: Ipv4Addr::new(10, 0, 0, 1),
            addresses: [entry(7), entry(8)].into(),
            member_owners: [Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)].into(),
        }
    }

    #[test]
    fn member_owners_round_trip_in_format_2() {
        let r = group_row();
        let mut v = vec![0xa5; 3];
        let (a, o) = (&r.addresses, &r.member_owners);
        value(
            r.kind, r.state, r.version, r.deadline, r.owner, a, o, &mut v,
        );
        assert_eq!(v, GROUP_VALUE_BYTES);
        assert_eq!(decode(&GROUP_KEY_BYTES, &GROUP_VALUE_BYTES), Ok(r));
        for n in 0..GROUP_VALUE_BYTES.len() {
            assert_eq!(
                decode(&GROUP_KEY_BYTES, &GROUP_VALUE_BYTES[..n]),
                Err(Bad::Value)
            );
        }
        // The same bytes labelled format 1 are too long for it.
        let mut v1 = GROUP_VALUE_BYTES;
        v1[0] = 1;
        assert_eq!(decode(&GROUP_KEY_BYTES, &v1), Err(Bad::Value));
    }

    #[test]
    fn test_emit() {
        let r = row();
        let mut k = vec![0xa5; 3];
        key(&r.name, &r.scope, &mut k);
        assert_eq!(k, KEY_BYTES);
        let mut v = vec![0xa5; 3];
        let a = &r.addresses;
        value(
            r.kind,
            r.state,
            r.version,
            r.deadline,
            r.owner,
            a,
            &[],
            &mut v,
        );
        assert_eq!(v, VALUE_BYTES);
    }

    #[test]
    fn an_unscoped_one_address_record_has_a_fixed_width_row() {
        let r = row();
        let mut v = Vec::new();
        let a = &r.addresses;
        value(
            r.kind,
            r.state,
            r.version,
            r.deadline,
            r.owner,
            a,
            &[],
            &mut v,
        );
        assert_eq!(compact(&r.name, &r.scope, &v), None, "scoped");
        let (k, fixed) = compact(&r.name, b"", &v).unwrap();
        assert_eq!(k.to_be_bytes(), KEY_BYTES[..16]);
        assert_eq!(fixed, VALUE_BYTES);
        // names sort as their keys do
        let other = NetbiosName::new("HOSTA", 0x20).unwrap();
        assert!(compact_key(&r.name) < compact_key(&other));
        // two addresses, or member owners: not fixed-width
        let group = group_row();
        let (a, o) = (&group.addresses, &group.member_owners);
        value(group.kind, group.state, 9, 0, group.owner, a, o, &mut v);
        assert_eq!(compact(&group.name, b"", &v), None);
        value(group.kind, group.state, 9, 0, group.owner, a, &[], &mut v);
        assert_eq!(compact(&group.name, b"", &v), None);
    }

    #[test]
    fn test_parse() {
        assert_eq!(decode(&KEY_BYTES, &VALUE_BYTES), Ok(row()));
    }

    #[test]
    fn damaged_bytes_are_errors() {
        assert_eq!(decode(&KEY_BYTES[..15], &VALUE_BYTES), Err(Bad::Key));
        for n in 0..VALUE_BYTES.len() {
            assert_eq!(decode(&KEY_BYTES, &VALUE_BYTES[..n]), Err(Bad::Value));
        }
        for (at, b) in [(0, 2), (1, 4), (2, 3), (3, 0), (3, 2), (3, 26)] {
            let mut v = VALUE_BYTES;
            v[at] = b;
            assert_eq!(decode(&KEY_BYTES, &v), Err(Bad::Value), "byte {at} = {b}");
        }
    }
}
