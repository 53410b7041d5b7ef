//! Parse and emit speed of three typical packets: a 68-byte unicast name
//! registration request, a positive name query response with 4 address
//! entries, and a node status response with 6 names.
//!
//! `reference/*` is a hand-written fixed-layout parser, a yardstick measured
//! in the same run; `parse/*` validates the whole datagram and returns the
//! packet view;
//! `emit/*` writes a packet built with the constructors; `reemit/*` writes a
//! parsed packet, decoding its sections on the way.

use core::hint::black_box;
use core::net::Ipv4Addr;

use criterion::{Criterion, criterion_group, criterion_main};
use nbns::wire::{
    Message, Name, NameFlags, NbAddrEntry, NbAddrs, NbFlags, NetbiosName, NodeName, NodeNames,
    NodeStatus, NodeType, Packet, Statistics,
};

/// The fields of a registration request, as [`reference_parse`] returns them.
#[derive(Clone, Copy)]
struct Registration {
    id: u16,
    flags: u16,
    name: [u8; 16],
    ttl: u32,
    nb_flags: u16,
    address: [u8; 4],
}

/// A same-run yardstick for the shared host, whose speed drifts between
/// runs: a hand-written parser that knows the fixed 68-byte layout of an
/// unscoped registration request and nothing else, and checks the same
/// bytes the crate checks for it.
#[inline(never)]
fn reference_parse(b: &[u8]) -> Option<Registration> {
    let b: &[u8; 68] = b.try_into().ok()?;
    let be16 = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
    if b[4..12] != [0, 1, 0, 0, 0, 0, 0, 1] || b[12] != 32 || b[45] != 0 {
        return None;
    }
    let mut name = [0u8; 16];
    for (i, out) in name.iter_mut().enumerate() {
        let hi = b[13 + 2 * i].wrapping_sub(b'A');
        let lo = b[14 + 2 * i].wrapping_sub(b'A');
        if hi > 15 || lo > 15 {
            return None;
        }
        *out = hi << 4 | lo;
    }
    if b[50..52] != [0xC0, 0x0C] || be16(60) != 6 {
        return None;
    }
    Some(Registration {
        id: be16(0),
        flags: be16(2),
        name,
        ttl: u32::from_be_bytes([b[56], b[57], b[58], b[59]]),
        nb_flags: be16(62),
        address: [b[64], b[65], b[66], b[67]],
    })
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
    for (label, p) in &packets {
        let mut bytes = vec![0u8; p.buffer_len()];
        p.emit(&mut bytes).unwrap();
        if *label == "registration_request" {
            assert_eq!(bytes.len(), 68);
            let r = reference_parse(&bytes).unwrap();
            assert_eq!((r.id, r.flags, r.ttl), (0x1234, 0x2900, 300_000));
            assert_eq!((r.nb_flags, r.address), (0x6000, [10, 0, 0, 5]));
            assert_eq!(&r.name, name.netbios.as_bytes());
            c.bench_function("reference/registration_request", |b| {
                b.iter(|| reference_parse(black_box(&bytes)).unwrap())
            });
        }
        let parsed = Packet::parse(&bytes).unwrap();
        c.bench_function(&format!("parse/{label}"), |b| {
            b.iter(|| Packet::parse(black_box(&bytes)).unwrap())
        });
        let mut out = [0u8; 512];
        // Emission of a packet built with the constructors, as a server or
        // client builds what it sends.
        c.bench_function(&format!("emit/{label}"), |b| {
            b.iter(|| black_box(p).emit(black_box(&mut out)).unwrap())
        });
        // Emission of the parsed packet: its sections are decoded from the
        // datagram on the way.
        c.bench_function(&format!("reemit/{label}"), |b| {
            b.iter(|| black_box(&parsed).emit(black_box(&mut out)).unwrap())
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
