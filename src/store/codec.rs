//! A stored record as bytes: the table key (name and scope) and the value
//! (everything else), in a fixed layout of big-endian fields.
//!
//! ```text
//! key:   name (16 raw bytes) | scope (dotted bytes, empty for none)
//! value: format (1) | kind (1) | state (1) | address count n (1)
//!        | version (8) | deadline, seconds since the Unix epoch (8)
//!        | owner (4) | n × (NB_FLAGS (2) | address (4))
//! ```

use core::net::Ipv4Addr;

use crate::server::{MAX_RECORD_ADDRS, RecordKind, RecordState};
use crate::wire::{NbAddrEntry, NbFlags, NetbiosName};

/// Layout version in the first byte of every value.
const FORMAT: u8 = 1;
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
}

/// Why a stored key or value could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bad {
    Key,
    Value,
}

pub(crate) fn key(name: &NetbiosName, scope: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(scope);
}

/// The value of a record with these fields (`deadline` in seconds since
/// the Unix epoch).
pub(crate) fn value(
    kind: RecordKind,
    state: RecordState,
    version: u64,
    deadline: u64,
    owner: Ipv4Addr,
    addresses: &[NbAddrEntry],
    out: &mut Vec<u8>,
) {
    out.clear();
    let n = u8::try_from(addresses.len()).unwrap_or(u8::MAX);
    out.extend_from_slice(&[FORMAT, kind.code(), state.code(), n]);
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(&deadline.to_be_bytes());
    out.extend_from_slice(&owner.octets());
    for e in addresses.iter().take(usize::from(n)) {
        out.extend_from_slice(&e.flags.bits().to_be_bytes());
        out.extend_from_slice(&e.address.octets());
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
    if format != FORMAT || n == 0 || n > MAX_RECORD_ADDRS || v.len() != HEAD + 6 * n {
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
    Ok(Row {
        name: NetbiosName::from_raw(*name),
        scope: scope.into(),
        kind: RecordKind::from_code(kind).ok_or(Bad::Value)?,
        state: RecordState::from_code(state).ok_or(Bad::Value)?,
        version: field(4)?,
        deadline: field(12)?,
        owner: Ipv4Addr::from(be::<4>(v, 20).ok_or(Bad::Value)?),
        addresses,
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
        }
    }

    #[test]
    fn test_emit() {
        let r = row();
        let mut k = vec![0xa5; 3];
        key(&r.name, &r.scope, &mut k);
        assert_eq!(k, KEY_BYTES);
        let mut v = vec![0xa5; 3];
        let a = &r.addresses;
        value(r.kind, r.state, r.version, r.deadline, r.owner, a, &mut v);
        assert_eq!(v, VALUE_BYTES);
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
