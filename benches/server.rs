//! WINS server throughput: 20 % registrations, 75 % queries and 5 %
//! releases over 100,000 names, through `handle_datagram` and the transmit
//! each produces; and (`hashflood`) refreshes and queries over a table of
//! 60,000 names chosen to collide under a fixed hash key, beside the same
//! over 60,000 random names.
//!
//! The mix twice in the same run: `mix_...` with `Durability::Volatile` (no
//! durable changes: the in-memory server), and `durable_mix_...` with the
//! default `Durability::Durable`, the changes drained after every
//! datagram and persisted (as by a store that commits instantly) every 64
//! datagrams, so that answers wait and are released in groups. The ratio
//! of the two is the cost of the durable-change machinery.

use core::hint::black_box;
use core::net::{Ipv4Addr, SocketAddrV4};
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
#[path = "../tests/support/hashflood.rs"]
mod hashflood;
use hashflood::{colliding, random};
use nbns::server::{Change, Durability, ServerConfig, WinsServer};
use nbns::wire::{Message, Name, NbAddrEntry, NbFlags, NetbiosName, NodeType};

const NAMES: u32 = 100_000;
const BATCH: usize = 10_000;
const MIX: usize = 1 << 16;

fn emit(p: &Message<'_>) -> Vec<u8> {
    let mut v = vec![0; p.buffer_len()];
    p.emit(&mut v).unwrap();
    v
}

fn host(i: u32) -> (NetbiosName, Ipv4Addr) {
    (
        NetbiosName::new(&format!("HOST{i:07}"), 0x20).unwrap(),
        Ipv4Addr::from(0x0A00_0000 | i),
    )
}

fn request(kind: u32, i: u32, id: u16) -> (SocketAddrV4, Vec<u8>) {
    let (name, ip) = host(i);
    let e = NbAddrEntry::new(NbFlags::new(false, NodeType::H), ip);
    let n = Name::unscoped(name);
    let p = match kind {
        0 => Message::registration_request(id, n, 300_000, e, false),
        1 => Message::release_request(id, n, e, false),
        _ => Message::name_query_request(id, n, false),
    };
    (SocketAddrV4::new(ip, 137), emit(&p))
}

fn bench(c: &mut Criterion) {
    // A fixed pseudo-random mix (xorshift), so runs are comparable.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mix: Vec<(SocketAddrV4, Vec<u8>)> = (0..MIX)
        .map(|k| {
            let r = next();
            let name = u32::try_from(r % u64::from(NAMES)).unwrap();
            let kind = match (r >> 32) % 100 {
                0..20 => 0,
                20..25 => 1,
                _ => 2,
            };
            request(kind, name, k as u16)
        })
        .collect();

    let now = Instant::now();
    let fill = |durability| {
        let mut c = ServerConfig::default();
        c.durability = durability;
        let mut server = WinsServer::new(c, now);
        for i in 0..NAMES {
            let (from, d) = request(0, i, 0);
            server.handle_datagram(now, from, &d);
            if let Some(last) = core::iter::from_fn(|| server.poll_change()).last() {
                server.handle_persisted(last.seq);
            }
            while server.poll_transmit().is_some() {}
            while server.poll_event().is_some() {}
        }
        server
    };

    let mut g = c.benchmark_group("server");
    g.throughput(Throughput::Elements(BATCH as u64));
    let mut server = fill(Durability::Volatile);
    let mut at = 0;
    g.bench_function("mix_20reg_75query_5rel_100k_names", |b| {
        b.iter(|| {
            for _ in 0..BATCH {
                let (from, d) = &mix[at];
                at = (at + 1) % MIX;
                server.handle_datagram(now, *from, d);
                while let Some(t) = server.poll_transmit() {
                    black_box(t);
                }
                while server.poll_event().is_some() {}
            }
        });
    });
    drop(server);
    let mut server = fill(Durability::Durable);
    let mut batch: Vec<Change> = Vec::with_capacity(1024);
    let mut at = 0;
    g.bench_function("durable_mix_20reg_75query_5rel_100k_names", |b| {
        b.iter(|| {
            for k in 0..BATCH {
                let (from, d) = &mix[at];
                at = (at + 1) % MIX;
                server.handle_datagram(now, *from, d);
                batch.extend(core::iter::from_fn(|| server.poll_change()));
                if k % 64 == 63 {
                    if let Some(last) = batch.last() {
                        server.handle_persisted(last.seq);
                    }
                    black_box(&batch);
                    batch.clear();
                }
                while let Some(t) = server.poll_transmit() {
                    black_box(t);
                }
                while server.poll_event().is_some() {}
            }
        });
    });
    g.finish();
}

const FLOOD: usize = 60_000;
const FLOOD_BATCH: usize = 1_000;

fn hashflood(c: &mut Criterion) {
    let mut g = c.benchmark_group("hashflood");
    g.throughput(Throughput::Elements(FLOOD_BATCH as u64));
    for (label, names) in [
        ("random_60k", random(FLOOD)),
        ("colliding_60k", colliding(FLOOD)),
    ] {
        // Refresh (same address) and query of each name, alternating.
        let reqs: Vec<(SocketAddrV4, Vec<u8>)> = names
            .iter()
            .enumerate()
            .flat_map(|(i, &name)| {
                let ip = Ipv4Addr::from(0x0A00_0000 | i as u32);
                let e = NbAddrEntry::new(NbFlags::new(false, NodeType::H), ip);
                let n = Name::unscoped(name);
                let from = SocketAddrV4::new(ip, 137);
                [
                    (
                        from,
                        emit(&Message::registration_request(
                            i as u16, n, 300_000, e, false,
                        )),
                    ),
                    (from, emit(&Message::name_query_request(i as u16, n, false))),
                ]
            })
            .collect();
        let now = Instant::now();
        let mut server = WinsServer::new(ServerConfig::default(), now);
        for (from, d) in reqs.iter().step_by(2) {
            server.handle_datagram(now, *from, d);
            while server.poll_transmit().is_some() {}
            while server.poll_event().is_some() {}
        }
        assert_eq!(server.len(), FLOOD);
        let mut at = 0;
        g.bench_function(label, |b| {
            b.iter(|| {
                for _ in 0..FLOOD_BATCH {
                    let (from, d) = &reqs[at];
                    at = (at + 7919) % reqs.len();
                    server.handle_datagram(now, *from, d);
                    while let Some(t) = server.poll_transmit() {
                        black_box(t);
                    }
                }
            });
        });
    }
    g.finish();
}

criterion_group!(benches, bench, hashflood);
criterion_main!(benches);
