//! Memory per record, measured with a counting global allocator.

use core::net::{Ipv4Addr, SocketAddrV4};
use std::alloc::System;
use std::time::Instant;

use nbns::server::{ServerConfig, WinsServer};
use nbns::wire::{Name, NbAddrEntry, NbFlags, NetbiosName, NodeType, Packet};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const RECORDS: u32 = 100_000;

fn live(s: &stats_alloc::Stats) -> isize {
    // `realloc` is already counted in both totals.
    s.bytes_allocated as isize - s.bytes_deallocated as isize
}

#[test]
fn at_most_128_bytes_per_record_beyond_the_name() {
    // Prepare the datagrams outside the measured region.
    let datagrams: Vec<(SocketAddrV4, Vec<u8>)> = (0..RECORDS)
        .map(|i| {
            let name = NetbiosName::new(&format!("HOST{i:07}"), 0x20).unwrap();
            let ip = Ipv4Addr::from(0x0A00_0000 | i);
            let e = NbAddrEntry::new(NbFlags::new(false, NodeType::H), ip);
            let p = Packet::registration_request(i as u16, Name::unscoped(name), 300, e, false);
            let mut v = vec![0; p.buffer_len()];
            p.emit(&mut v).unwrap();
            (SocketAddrV4::new(ip, 137), v)
        })
        .collect();
    let now = Instant::now();
    let region = Region::new(GLOBAL);
    let mut s = WinsServer::new(ServerConfig::default(), now);
    for (from, d) in &datagrams {
        s.handle_datagram(now, *from, d);
        while s.poll_transmit().is_some() {}
        while s.poll_event().is_some() {}
    }
    assert_eq!(s.len(), RECORDS as usize);
    let bytes = live(&region.change());
    let per = bytes as f64 / f64::from(RECORDS);
    println!(
        "{RECORDS} records: {bytes} bytes live, {per:.1} bytes/record, {:.1} beyond the 16-byte name",
        per - 16.0
    );
    assert!(per - 16.0 <= 128.0, "{per} bytes per record");
    drop(s);
}
