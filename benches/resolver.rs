//! The resolver's work per query, against the wire layer's parse of one
//! answer (the anchor, measured in the same run): a query answered by a name
//! server, a query answered from the cache, and a broadcast query for a
//! group of five members collected over CONFLICT_TIMER.

use core::hint::black_box;
use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use nbns::node_type::NodeType;
use nbns::resolver::{Resolver, ResolverConfig, Subnet};
use nbns::wire::{Message, Name, NbAddrEntry, NbAddrs, NbFlags, NetbiosName, Packet};

const SERVER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 137);
const NAMES: usize = 1_000;

fn name(i: usize) -> Name<'static> {
    let text = format!("HOST{i:06}");
    Name::unscoped(NetbiosName::new(&text, 0x20).unwrap())
}

/// A positive answer to the request `req` with `entry`.
fn answer(req: &[u8], entry: NbAddrEntry, out: &mut Vec<u8>) {
    out.clear();
    let p = Packet::parse(req).unwrap();
    let q = p.question().unwrap();
    let _ = Message::positive_name_query_response(p.header().id, q.name, 600, NbAddrs::one(entry))
        .emit_buf(out);
}

fn bench(c: &mut Criterion) {
    let names: Vec<Name<'static>> = (0..NAMES).map(name).collect();
    let entry = NbAddrEntry::new(NbFlags::new(false, NodeType::H), Ipv4Addr::new(10, 0, 0, 5));
    let mut sample = Vec::new();
    let req = {
        let mut v = vec![0u8; 50];
        let n = Message::name_query_request(7, names[0], false)
            .emit(&mut v)
            .unwrap();
        v.truncate(n);
        v
    };
    answer(&req, entry, &mut sample);

    let mut g = c.benchmark_group("resolver");
    g.bench_function("anchor: parse one answer", |b| {
        b.iter(|| black_box(Packet::parse(black_box(&sample)).map(|p| p.header().id)))
    });

    let now = Instant::now();
    g.bench_function("query answered by a name server (1,000 names)", |b| {
        let mut config = ResolverConfig::new(NodeType::P, [SERVER], None);
        config.cache_capacity = 0;
        let mut r = Resolver::with_deterministic_ids(config, 1);
        let mut buf = Vec::new();
        b.iter(|| {
            for &n in &names {
                r.query(now, n).unwrap();
                let t = r.poll_transmit().unwrap();
                answer(&t.contents, entry, &mut buf);
                r.handle_datagram(now, SERVER, &buf);
                black_box(r.poll_event());
            }
        })
    });

    g.bench_function("query answered from the cache (1,000 names)", |b| {
        let mut config = ResolverConfig::new(NodeType::P, [SERVER], None);
        config.cache_capacity = NAMES;
        let mut r = Resolver::with_deterministic_ids(config, 1);
        let mut buf = Vec::new();
        for &n in &names {
            r.query(now, n).unwrap();
            let t = r.poll_transmit().unwrap();
            answer(&t.contents, entry, &mut buf);
            r.handle_datagram(now, SERVER, &buf);
            let _ = r.poll_event();
        }
        b.iter(|| {
            for &n in &names {
                r.query(now, n).unwrap();
                black_box(r.poll_event());
            }
        })
    });

    g.bench_function("broadcast query, group of 5 (1,000 names)", |b| {
        let subnet = Subnet::new(Ipv4Addr::new(10, 0, 0, 100), 24);
        let mut config = ResolverConfig::broadcast(subnet);
        config.cache_capacity = 0;
        let mut r = Resolver::with_deterministic_ids(config, 1);
        let mut buf = Vec::new();
        let mut t0 = now;
        b.iter(|| {
            for &n in &names {
                r.query(t0, n).unwrap();
                let t = r.poll_transmit().unwrap();
                for host in 1..=5u8 {
                    let member = Ipv4Addr::new(10, 0, 0, host);
                    answer(
                        &t.contents,
                        NbAddrEntry::new(NbFlags::new(true, NodeType::B), member),
                        &mut buf,
                    );
                    r.handle_datagram(t0, SocketAddrV4::new(member, 137), &buf);
                }
                t0 += Duration::from_secs(2);
                r.handle_timeout(t0);
                black_box(r.poll_event());
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
