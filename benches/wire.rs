//! Parse, read and emit speed of three typical packets: (a) a 68-byte
//! unicast name registration request, (b) a positive name query response
//! with 4 address entries, (c) a node status response with 6 names.
//!
//! In one run, for each packet:
//!
//! * `reference/*`: a hand-written parser that knows the packet's fixed
//!   layout and nothing else, checks the bytes the crate checks for it and
//!   decodes every field: the yardstick, measured in the same run because
//!   the shared host's speed drifts;
//! * `read/*`: `Packet::parse` and then every field read through the view's
//!   accessors, into the same struct the reference fills;
//! * `parse/*`: `Packet::parse` alone;
//! * `kind/*`: `Packet::kind` of a parsed packet;
//! * `emit/*`: `Message::emit` of the packet built with its constructor;
//! * `reemit/*`: `Packet::emit` of the parsed packet;
//! * `reemit_message/*`: `Packet::to_message` and `Message::emit`.

use core::hint::black_box;
use core::net::Ipv4Addr;

use criterion::{Criterion, criterion_group, criterion_main};
use nbns::wire::{
    Message, Name, NameFlags, NameForm, NbAddrEntry, NbAddrs, NbFlags, NetbiosName, NodeName,
    NodeNames, NodeStatus, NodeType, Packet, RData, Statistics,
};

/// Every field of the three packets, as both parsers fill it in. Fields a
/// packet does not have stay zero.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
struct Fields {
    id: u16,
    flags: u16,
    name: [u8; 16],
    qtype: u16,
    qclass: u16,
    rr_type: u16,
    class: u16,
    ttl: u32,
    /// C0 0C name (a) or a full name (b, c).
    pointer: bool,
    entries: [(u16, [u8; 4]); 4],
    names: [([u8; 16], u16); 6],
    count: usize,
    unit_id: [u8; 6],
    stats_len: usize,
}

/// A parser of one packet into its fields.
type Reader = fn(&[u8]) -> Option<Fields>;

/// Big-endian reads at constant offsets of a fixed-size datagram.
fn be16<const N: usize>(b: &[u8; N], i: usize) -> u16 {
    u16::from_be_bytes([b[i], b[i + 1]])
}

fn be32<const N: usize>(b: &[u8; N], i: usize) -> u32 {
    u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// The 32 half-ASCII characters at `at`, checked and decoded.
#[inline(always)]
fn decode_name(b: &[u8], at: usize) -> Option<[u8; 16]> {
    let mut name = [0u8; 16];
    for (i, out) in name.iter_mut().enumerate() {
        let hi = b[at + 2 * i].wrapping_sub(b'A');
        let lo = b[at + 1 + 2 * i].wrapping_sub(b'A');
        if hi > 15 || lo > 15 {
            return None;
        }
        *out = hi << 4 | lo;
    }
    Some(name)
}

/// (a): the fixed 68-byte layout of an unscoped registration request.
#[inline(never)]
fn reference_a(b: &[u8]) -> Option<Fields> {
    let b: &[u8; 68] = b.try_into().ok()?;
    if b[4..12] != [0, 1, 0, 0, 0, 0, 0, 1] || b[12] != 32 || b[45] != 0 {
        return None;
    }
    let name = decode_name(b, 13)?;
    if b[50..52] != [0xC0, 0x0C] || be16(b, 52) != 0x20 || be16(b, 60) != 6 {
        return None;
    }
    let mut f = Fields {
        id: be16(b, 0),
        flags: be16(b, 2),
        name,
        qtype: be16(b, 46),
        qclass: be16(b, 48),
        rr_type: be16(b, 52),
        class: be16(b, 54),
        ttl: be32(b, 56),
        pointer: true,
        count: 1,
        ..Fields::default()
    };
    f.entries[0] = (be16(b, 62), [b[64], b[65], b[66], b[67]]);
    Some(f)
}

/// (b): an unscoped positive query response with 4 entries, 80 bytes.
#[inline(never)]
fn reference_b(b: &[u8]) -> Option<Fields> {
    let b: &[u8; 80] = b.try_into().ok()?;
    if b[4..12] != [0, 0, 0, 1, 0, 0, 0, 0] || b[12] != 32 || b[45] != 0 {
        return None;
    }
    let name = decode_name(b, 13)?;
    if be16(b, 46) != 0x20 || be16(b, 54) != 24 {
        return None;
    }
    let mut f = Fields {
        id: be16(b, 0),
        flags: be16(b, 2),
        name,
        rr_type: be16(b, 46),
        class: be16(b, 48),
        ttl: be32(b, 50),
        count: 4,
        ..Fields::default()
    };
    for (i, e) in f.entries.iter_mut().enumerate() {
        let at = 56 + 6 * i;
        *e = (be16(b, at), [b[at + 2], b[at + 3], b[at + 4], b[at + 5]]);
    }
    Some(f)
}

/// (c): an unscoped node status response with 6 names and 46 bytes of
/// statistics, 211 bytes.
#[inline(never)]
fn reference_c(b: &[u8]) -> Option<Fields> {
    let b: &[u8; 211] = b.try_into().ok()?;
    if b[4..12] != [0, 0, 0, 1, 0, 0, 0, 0] || b[12] != 32 || b[45] != 0 {
        return None;
    }
    let name = decode_name(b, 13)?;
    if be16(b, 46) != 0x21 || be16(b, 54) != 155 || b[56] != 6 {
        return None;
    }
    let mut f = Fields {
        id: be16(b, 0),
        flags: be16(b, 2),
        name,
        rr_type: be16(b, 46),
        class: be16(b, 48),
        ttl: be32(b, 50),
        count: 6,
        stats_len: 46,
        ..Fields::default()
    };
    for (i, n) in f.names.iter_mut().enumerate() {
        let at = 57 + 18 * i;
        let mut raw = [0u8; 16];
        raw.copy_from_slice(&b[at..at + 16]);
        *n = (raw, be16(b, at + 16));
    }
    f.unit_id.copy_from_slice(&b[165..171]);
    Some(f)
}

/// Parses with the crate and reads every field through the accessors.
#[inline(never)]
fn read(b: &[u8]) -> Option<Fields> {
    let p = Packet::parse(b).ok()?;
    let mut f = Fields {
        id: p.id,
        flags: p.flags.0,
        ..Fields::default()
    };
    if let Some(q) = p.question() {
        f.name = *q.name.netbios.as_bytes();
        f.qtype = q.qtype.into();
        f.qclass = q.qclass.into();
    }
    let rr = p.answer().or_else(|| p.additional())?;
    f.name = *rr.name.netbios.as_bytes();
    f.rr_type = rr.rr_type().into();
    f.class = rr.class.into();
    f.ttl = rr.ttl;
    f.pointer = rr.name_form == NameForm::QuestionPointer;
    match rr.rdata {
        RData::Nb(entries) => {
            for (slot, e) in f.entries.iter_mut().zip(entries.iter()) {
                *slot = (e.flags.0, e.address.octets());
            }
            f.count = entries.len();
        }
        RData::NodeStatus(s) => {
            for (slot, n) in f.names.iter_mut().zip(s.names.iter()) {
                *slot = (*n.name.as_bytes(), n.flags.0);
            }
            f.count = s.names.len();
            f.unit_id = s.statistics.unit_id()?;
            f.stats_len = s.statistics.0.len();
        }
        _ => return None,
    }
    Some(f)
}

fn bench(c: &mut Criterion) {
    let name = Name::unscoped(NetbiosName::new("WORKSTATION1", 0x00).unwrap());
    let h = NbFlags::new(false, NodeType::H);
    let entry = NbAddrEntry::new(h, Ipv4Addr::new(10, 0, 0, 5));
    let entries = [
        entry,
        NbAddrEntry::new(h, Ipv4Addr::new(10, 0, 1, 5)),
        NbAddrEntry::new(h, Ipv4Addr::new(192, 168, 7, 5)),
        NbAddrEntry::new(h, Ipv4Addr::new(172, 16, 0, 9)),
    ];
    let names: Vec<NodeName> = [
        ("WORKSTATION1", 0x00, false),
        ("WORKSTATION1", 0x20, false),
        ("WORKGROUP", 0x00, true),
        ("WORKGROUP", 0x1e, true),
        ("WORKSTATION1", 0x03, false),
        ("ADMIN", 0x03, false),
    ]
    .iter()
    .map(|&(n, s, g)| NodeName {
        name: NetbiosName::new(n, s).unwrap(),
        flags: NameFlags::active(g, NodeType::H),
    })
    .collect();
    let stats = Statistics::block_with_unit_id([0, 0x15, 0x5d, 1, 2, 3]);
    let reference: [Reader; 3] = [reference_a, reference_b, reference_c];
    let packets = [
        (
            "registration_request",
            Message::registration_request(0x1234, name, 300_000, entry, false),
        ),
        (
            "query_response_4",
            Message::positive_name_query_response(
                0x1234,
                name,
                300_000,
                NbAddrs::from_slice(&entries),
            ),
        ),
        (
            "node_status_response_6",
            Message::node_status_response(
                0x1234,
                Name::unscoped(NetbiosName::wildcard()),
                NodeStatus {
                    names: NodeNames::from_slice(&names),
                    statistics: Statistics(&stats),
                },
            ),
        ),
    ];
    for ((label, p), reference) in packets.iter().zip(reference) {
        let mut bytes = vec![0u8; p.buffer_len()];
        p.emit(&mut bytes).unwrap();
        // Both parsers read the same fields.
        let want = reference(&bytes).expect("the reference reads its packet");
        assert_eq!(read(&bytes), Some(want), "{label}");
        assert_eq!(want.id, 0x1234);
        c.bench_function(&format!("reference/{label}"), |b| {
            b.iter(|| reference(black_box(&bytes)).unwrap())
        });
        c.bench_function(&format!("read/{label}"), |b| {
            b.iter(|| read(black_box(&bytes)).unwrap())
        });
        c.bench_function(&format!("parse/{label}"), |b| {
            b.iter(|| Packet::parse(black_box(&bytes)).unwrap())
        });
        let parsed = Packet::parse(&bytes).unwrap();
        c.bench_function(&format!("kind/{label}"), |b| {
            b.iter(|| black_box(&parsed).kind())
        });
        let mut out = [0u8; 512];
        // Emission of a message built with the constructors, as a server
        // or client builds what it sends.
        c.bench_function(&format!("emit/{label}"), |b| {
            b.iter(|| black_box(p).emit(black_box(&mut out)).unwrap())
        });
        // Re-emission of the parsed packet: a canonical datagram is copied.
        c.bench_function(&format!("reemit/{label}"), |b| {
            b.iter(|| black_box(&parsed).emit(black_box(&mut out)).unwrap())
        });
        // The parsed packet as a message, written by the writer.
        c.bench_function(&format!("reemit_message/{label}"), |b| {
            b.iter(|| {
                black_box(&parsed)
                    .to_message()
                    .emit(black_box(&mut out))
                    .unwrap()
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
