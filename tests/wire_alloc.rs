//! Parsing allocates nothing: a counting global allocator watches
//! `Packet::parse` over every corpus packet and over packets of every kind.
//!
//! The allocator hook is the only `unsafe` in the project; the library
//! itself is `#![forbid(unsafe_code)]`.
#![allow(unsafe_code)]

use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;
use std::alloc::System;

use nbns::wire::{Message, Name, NbAddrEntry, NbFlags, NetbiosName, NodeType, Packet, RData};

struct Counting;

thread_local! {
    /// Allocations made by this thread (tests run on several threads).
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

/// Parses and walks every part of the packet (names, scopes, entries) while
/// counting allocations.
fn allocations_while_parsing(bytes: &[u8]) -> usize {
    let before = allocations();
    if let Ok(p) = Packet::parse(bytes) {
        let mut sink = 0usize;
        for (_, r) in p.records() {
            sink += r.name.scope.iter().count();
            match r.rdata {
                RData::Nb(a) => sink += a.iter().count(),
                RData::NodeStatus(s) => sink += s.names.iter().count(),
                _ => {}
            }
        }
        core::hint::black_box(sink);
        core::hint::black_box(p.kind());
    }
    allocations() - before
}

#[test]
fn parsing_allocates_nothing() {
    // Read every file first (that allocates), then parse each one.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus");
    let mut packets: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    let name = Name::unscoped(NetbiosName::new("HOST", 0x20).unwrap());
    let entry = NbAddrEntry::new(NbFlags::new(false, NodeType::H), [10, 0, 0, 1].into());
    for p in [
        Message::registration_request(1, name, 300, entry, false),
        Message::positive_registration_response(1, name, 300, entry),
        Message::negative_name_query_response(1, name, nbns::wire::Rcode::NameError),
    ] {
        let mut v = Vec::new();
        p.emit_buf(&mut v).unwrap();
        packets.push(v);
    }
    assert!(packets.len() > 400);
    let mut total = 0;
    for bytes in &packets {
        total += allocations_while_parsing(bytes);
    }
    assert_eq!(total, 0, "parsing allocated {total} times");
    // The counter does count: a Vec allocates.
    let before = allocations();
    core::hint::black_box(vec![1u8; 10]);
    assert!(allocations() > before);
}

#[test]
fn emitting_into_a_slice_allocates_nothing() {
    let name = Name::unscoped(NetbiosName::new("HOST", 0x20).unwrap());
    let entry = NbAddrEntry::new(NbFlags::new(false, NodeType::H), [10, 0, 0, 1].into());
    let p = Message::registration_request(1, name, 300, entry, false);
    let mut buf = [0u8; 128];
    let before = allocations();
    let n = p.emit(&mut buf).unwrap();
    assert_eq!(allocations() - before, 0);
    assert_eq!(n, 68);
}
