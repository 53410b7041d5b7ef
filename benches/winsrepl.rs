//! Parse speed of a Name Records Response (MS-WINSRA 2.2.10) of 1,000
//! records, a third each unique, normal group and multihomed (two members),
//! some scoped, in records per second.
//!
//! `anchor/*` are yardsticks measured in the same run, for the shared host
//! whose speed drifts between runs: `sum_words` reads the same bytes as
//! big-endian words and adds them (about the least any parser must do), and
//! `nbns_registration` parses one 68-byte NBNS registration request with
//! `nbns::wire`. `parse/*` is `Message::parse`, which reads and checks
//! every record; `parse_and_walk/*` also decodes every record again through
//! the iterator, as an applier would.

use core::hint::black_box;
use core::net::Ipv4Addr;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nbns::winsrepl::{
    Addresses, AddressesRepr, Body, Member, Message, MessageRepr, NameRecordRepr, RecordFlags,
    RecordState, RecordType,
};
use nbns::wire::{
    Message as NbnsMessage, Name, NbAddrEntry, NbFlags, NetbiosName, NodeType, Packet,
};

const RECORDS: usize = 1000;

fn send_reply() -> Vec<u8> {
    let members = [
        Member {
            owner: Ipv4Addr::new(10, 0, 0, 1),
            address: Ipv4Addr::new(10, 0, 1, 7),
        },
        Member {
            owner: Ipv4Addr::new(10, 0, 0, 2),
            address: Ipv4Addr::new(10, 0, 2, 7),
        },
    ];
    let records: Vec<NameRecordRepr<'_>> = (0..RECORDS)
        .map(|i| {
            let name = NetbiosName::new(&format!("HOST{i:06}"), 0x20).unwrap();
            let version = 1000 + i as u64;
            let flags = |t| RecordFlags::new(t, RecordState::Active, NodeType::H);
            let r = match i % 3 {
                0 => NameRecordRepr::new(
                    name,
                    flags(RecordType::Unique),
                    version,
                    AddressesRepr::Single(Ipv4Addr::new(10, 0, (i / 250) as u8, i as u8)),
                ),
                1 => NameRecordRepr::new(
                    name,
                    flags(RecordType::NormalGroup),
                    version,
                    AddressesRepr::Single(Ipv4Addr::BROADCAST),
                ),
                _ => NameRecordRepr::new(
                    name,
                    flags(RecordType::Multihomed),
                    version,
                    AddressesRepr::List(&members),
                ),
            };
            if i % 10 == 0 {
                r.with_scope(b"corp.example")
            } else {
                r
            }
        })
        .collect();
    let mut out = Vec::new();
    MessageRepr::send_reply(0x1234_5678, &records)
        .emit_buf(&mut out)
        .unwrap();
    out
}

#[inline(never)]
fn sum_words(bytes: &[u8]) -> u32 {
    let (words, _) = bytes.as_chunks::<4>();
    words
        .iter()
        .fold(0u32, |acc, w| acc.wrapping_add(u32::from_be_bytes(*w)))
}

fn registration() -> Vec<u8> {
    let name = Name::unscoped(NetbiosName::new("WORKSTATION1", 0x00).unwrap());
    let entry = NbAddrEntry::new(NbFlags::new(false, NodeType::H), Ipv4Addr::new(10, 0, 0, 5));
    let p = NbnsMessage::registration_request(0x1234, name, 300_000, entry, false);
    let mut out = vec![0; p.buffer_len()];
    p.emit(&mut out).unwrap();
    out
}

fn bench(c: &mut Criterion) {
    let reply = send_reply();
    let reg = registration();
    assert!(
        matches!(Message::parse(&reply).unwrap().body, Body::SendReply(r) if r.len() == RECORDS)
    );

    let mut g = c.benchmark_group("winsrepl");
    g.throughput(Throughput::Elements(RECORDS as u64));
    g.bench_function("anchor/sum_words", |b| {
        b.iter(|| sum_words(black_box(&reply)))
    });
    g.bench_function("parse/send_reply_1000", |b| {
        b.iter(|| Message::parse(black_box(&reply)).is_ok())
    });
    g.bench_function("parse_and_walk/send_reply_1000", |b| {
        b.iter(|| {
            let m = Message::parse(black_box(&reply)).unwrap();
            let Body::SendReply(records) = m.body else {
                return 0;
            };
            records
                .iter()
                .map(|r| match r.addresses {
                    Addresses::Single(a) => u64::from(u32::from(a)) ^ r.version,
                    Addresses::List(l) => l.len() as u64 ^ r.version,
                })
                .sum::<u64>()
        })
    });
    g.throughput(Throughput::Elements(1));
    g.bench_function("anchor/nbns_registration", |b| {
        b.iter(|| Packet::parse(black_box(&reg)).is_ok())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
