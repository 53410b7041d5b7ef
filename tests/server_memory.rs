//! Memory per record, measured with a counting global allocator.
//!
//! The allocator hook needs `unsafe`; the library itself is
//! `#![forbid(unsafe_code)]`.
#![allow(unsafe_code)]

use core::alloc::{GlobalAlloc, Layout};
use core::net::{Ipv4Addr, SocketAddrV4};
use core::sync::atomic::{AtomicIsize, Ordering};
use std::alloc::System;
use std::time::Instant;

use nbns::server::{ServerConfig, WinsServer};
use nbns::wire::{Message, Name, NbAddrEntry, NbFlags, NetbiosName, NodeType};

/// Counts the bytes currently allocated through it.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const RECORDS: u32 = 100_000;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

#[test]
fn at_most_128_bytes_per_record_beyond_the_name() {
    // Prepare the datagrams outside the measured region.
    let datagrams: Vec<(SocketAddrV4, Vec<u8>)> = (0..RECORDS)
        .map(|i| {
            let name = NetbiosName::new(&format!("HOST{i:07}"), 0x20).unwrap();
            let ip = Ipv4Addr::from(0x0A00_0000 | i);
            let e = NbAddrEntry::new(NbFlags::new(false, NodeType::H), ip);
            let p = Message::registration_request(i as u16, Name::unscoped(name), 300, e, false);
            let mut v = vec![0; p.buffer_len()];
            p.emit(&mut v).unwrap();
            (SocketAddrV4::new(ip, 137), v)
        })
        .collect();
    let now = Instant::now();
    let before = live();
    let mut s = WinsServer::new(ServerConfig::default(), now);
    for (from, d) in &datagrams {
        s.handle_datagram(now, *from, d);
        if let Some(last) = core::iter::from_fn(|| s.poll_change()).last() {
            s.handle_persisted(last.seq);
        }
        while s.poll_transmit().is_some() {}
        while s.poll_event().is_some() {}
    }
    assert_eq!(s.len(), RECORDS as usize);
    let bytes = live() - before;
    let per = bytes as f64 / f64::from(RECORDS);
    println!(
        "{RECORDS} records: {bytes} bytes live, {per:.1} bytes/record, {:.1} beyond the 16-byte name",
        per - 16.0
    );
    assert!(per - 16.0 <= 128.0, "{per} bytes per record");
    drop(s);
}
