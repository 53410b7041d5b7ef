//! Parsing replication messages allocates nothing, and neither does the
//! framer for messages that arrive whole: a counting global allocator
//! watches `Message::parse` (and a walk of every record, member and owner)
//! over the captured messages of `tests/data/winsrepl` and a generated reply
//! with records of every type.
//!
//! The allocator hook is the only `unsafe` here; the library itself is
//! `#![forbid(unsafe_code)]`.
#![allow(unsafe_code)]

use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;
use core::net::Ipv4Addr;
use std::alloc::System;

use nbns::winsrepl::{
    Addresses, AddressesRepr, Body, Framer, Member, Message, MessageRepr, NameRecordRepr,
    RecordFlags, RecordState, RecordType,
};
use nbns::wire::{NetbiosName, NodeType};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: forwards every call unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Parses and walks every part of the message; returns what it counted.
fn walk(bytes: &[u8]) -> usize {
    let Ok(m) = Message::parse(bytes) else {
        return 0;
    };
    match m.body {
        Body::SendReply(records) => records
            .iter()
            .map(|r| {
                let _ = core::hint::black_box((r.name.netbios(), r.name.scope()));
                match r.addresses {
                    Addresses::Single(_) => 1,
                    Addresses::List(l) => 1 + l.iter().count(),
                }
            })
            .sum(),
        Body::TableReply(t) | Body::UpdateNotification(_, t) => t.owners.iter().count(),
        _ => 1,
    }
}

/// The TCP payloads of a classic pcap of one IPv4 conversation, in order
/// (enough for the two captures here: Ethernet, IPv4 without options).
fn tcp_payloads(pcap: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= pcap.len() {
        let len = u32::from_le_bytes(pcap[at + 8..at + 12].try_into().unwrap()) as usize;
        let frame = &pcap[at + 16..at + 16 + len];
        at += 16 + len;
        let ip = &frame[14..];
        let ihl = usize::from(ip[0] & 15) * 4;
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        let tcp = &ip[ihl..total];
        let payload = &tcp[usize::from(tcp[12] >> 4) * 4..];
        if !payload.is_empty() {
            out.push(payload.to_vec());
        }
    }
    out
}

#[test]
fn parsing_captured_messages_allocates_nothing() {
    let mut seen = 0;
    for file in ["samba-pull.pcap", "samba-update.pcap"] {
        let path = format!("{}/tests/data/winsrepl/{file}", env!("CARGO_MANIFEST_DIR"));
        let pcap = std::fs::read(path).unwrap();
        let mut framer = Framer::new();
        let mut messages = Vec::with_capacity(64);
        for payload in tcp_payloads(&pcap) {
            framer
                .feed_all(&payload, |m| messages.push(m.len()))
                .unwrap();
        }
        assert!(!messages.is_empty());
        for payload in tcp_payloads(&pcap) {
            // Each segment holds whole messages: no copy, no allocation.
            let mut framer = Framer::new();
            let before = allocations();
            let mut counted = 0;
            framer.feed_all(&payload, |m| counted += walk(m)).unwrap();
            assert_eq!(allocations() - before, 0, "{file}");
            assert!(counted > 0);
            seen += 1;
        }
    }
    assert_eq!(seen, 14 + 6); // the winsrepl frames of the two captures
}

#[test]
fn parsing_records_of_every_type_allocates_nothing() {
    let members = [Member {
        owner: Ipv4Addr::new(10, 0, 0, 1),
        address: Ipv4Addr::new(10, 0, 0, 9),
    }; 3];
    let flags = |t| RecordFlags::new(t, RecordState::Active, NodeType::H);
    let name = NetbiosName::new("NAME", 0x1b).unwrap();
    let records = [
        NameRecordRepr::new(
            name,
            flags(RecordType::Unique),
            1,
            AddressesRepr::Single(Ipv4Addr::LOCALHOST),
        ),
        NameRecordRepr::new(
            name,
            flags(RecordType::NormalGroup),
            2,
            AddressesRepr::Single(Ipv4Addr::BROADCAST),
        ),
        NameRecordRepr::new(
            name,
            flags(RecordType::SpecialGroup),
            3,
            AddressesRepr::List(&members),
        ),
        NameRecordRepr::new(
            name,
            flags(RecordType::Multihomed),
            4,
            AddressesRepr::List(&members[..2]),
        )
        .with_scope(b"a.scope"),
    ];
    let mut bytes = Vec::new();
    MessageRepr::send_reply(1, &records)
        .emit_buf(&mut bytes)
        .unwrap();
    let before = allocations();
    let counted = walk(&bytes);
    assert_eq!(allocations() - before, 0);
    assert_eq!(counted, 1 + 1 + 4 + 3);
}
