//! Parse and emit speed of three typical packets: a 68-byte unicast name
//! registration request, a positive name query response with 4 address
//! entries, and a node status response with 6 names.

use core::hint::black_box;
use core::net::Ipv4Addr;

use criterion::{Criterion, criterion_group, criterion_main};
use nbns::wire::{
    Name, NameFlags, NbAddrEntry, NbAddrs, NbFlags, NetbiosName, NodeName, NodeNames, NodeStatus,
    NodeType, Packet, Statistics,
};

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
            Packet::registration_request(0x1234, name, 300_000, entry, false),
        ),
        (
            "query_response_4",
            Packet::positive_name_query_response(
                0x1234,
                name,
                300_000,
                NbAddrs::from_slice(&entries),
            ),
        ),
        (
            "node_status_response_6",
            Packet::node_status_response(
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
        }
        let parsed = Packet::parse(&bytes).unwrap();
        c.bench_function(&format!("parse/{label}"), |b| {
            b.iter(|| Packet::parse(black_box(&bytes)).unwrap())
        });
        let mut out = [0u8; 512];
        c.bench_function(&format!("emit/{label}"), |b| {
            b.iter(|| black_box(&parsed).emit(black_box(&mut out)).unwrap())
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
