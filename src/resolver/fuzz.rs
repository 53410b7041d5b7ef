//! A driver that interprets arbitrary bytes as a sequence of inputs to a
//! [`Resolver`] and checks its invariants; shared by the property tests and
//! the fuzz target.

use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;
use std::time::Instant;

use super::{Resolver, ResolverConfig, Subnet};
use crate::node_type::NodeType;
use crate::wire::{Message, Name, NbAddrEntry, NbAddrs, NbFlags, NetbiosName, Packet, Rcode};

const SERVERS: [SocketAddrV4; 2] = [
    SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 137),
    SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 137),
];
const SUBNET: Subnet = Subnet::new(Ipv4Addr::new(10, 0, 0, 7), 24);

/// Drives a resolver (node type from the first byte, two name servers, a
/// /24 subnet, small caps) through the inputs `data` encodes — datagrams
/// from servers, neighbours and strangers (raw bytes, or answers forged
/// from what it last sent, right or wrong in ID, name, port or data), clock
/// jumps, queries, purges — and panics if an invariant breaks: a deadline
/// in the past after `handle_timeout`, more queries in flight, cached names
/// or queued outputs than the caps allow, or a query that never ends. The
/// resolver itself must never panic.
#[doc(hidden)]
pub fn fuzz_drive(data: &[u8]) {
    let mut input = data.iter().copied();
    let mut next = move || input.next();
    let node_type = NodeType::from_bits(next().unwrap_or(3));
    let mut config = ResolverConfig::new(node_type, SERVERS, Some(SUBNET));
    config.max_pending = 4;
    config.cache_capacity = 3;
    config.max_responders = 3;
    config.max_addresses = 4;
    config.max_queued = 16;
    config.broadcast_history = 2;
    let seed = u64::from(next().unwrap_or(0));
    let mut r = Resolver::with_deterministic_ids(config, seed);
    let start = Instant::now();
    let mut now = start;
    let names: Vec<Name<'static>> = [&b"A"[..], b"B", b"C", b"*"]
        .iter()
        .filter_map(|n| NetbiosName::from_bytes(n, 0x20).ok())
        .map(Name::unscoped)
        .collect();
    let mut last: Vec<Vec<u8>> = Vec::new();
    let mut buf = [0u8; 600];
    // Inputs longer than this many operations add nothing but time.
    for _ in 0..4096 {
        let Some(op) = next() else { break };
        match op % 8 {
            0 => {
                let name = names[usize::from(next().unwrap_or(0)) % names.len()];
                let _ = r.query(now, name);
            }
            1 => {
                let ms = u64::from(next().unwrap_or(0)) * 37;
                now += Duration::from_millis(ms);
                r.handle_timeout(now);
                assert!(
                    r.poll_timeout().is_none_or(|t| t > now),
                    "deadline in the past"
                );
            }
            2 => {
                // raw bytes from someone
                let len = usize::from(next().unwrap_or(0) % 64);
                let bytes: Vec<u8> = (0..len).filter_map(|_| next()).collect();
                let host = next().unwrap_or(1);
                r.handle_datagram(
                    now,
                    SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, host), 137),
                    &bytes,
                );
            }
            3 | 4 => {
                // an answer forged from one of the last requests
                let Some(req) = last.get(usize::from(next().unwrap_or(0)) % last.len().max(1))
                else {
                    continue;
                };
                let Ok(p) = Packet::parse(req) else { continue };
                let Some(q) = p.question() else { continue };
                let b = next().unwrap_or(0);
                let id = if b & 1 == 0 {
                    p.header().id
                } else {
                    p.header().id ^ 1
                };
                let name = if b & 2 == 0 {
                    q.name
                } else {
                    names[usize::from(b >> 4) % names.len()]
                };
                let host = if b & 4 == 0 { next().unwrap_or(5) } else { 1 };
                let port = if b & 8 == 0 { 137 } else { 1024 };
                let entries = [
                    NbAddrEntry::new(
                        NbFlags::new(b & 0x40 != 0, NodeType::B),
                        Ipv4Addr::new(10, 0, 0, host),
                    ),
                    NbAddrEntry::new(
                        NbFlags::new(b & 0x40 != 0, NodeType::B),
                        Ipv4Addr::new(10, 0, 0, b),
                    ),
                ];
                let n = usize::from(b >> 7) + 1;
                let message = if op % 8 == 3 {
                    Message::positive_name_query_response(
                        id,
                        name,
                        u32::from(b),
                        NbAddrs::from_slice(&entries[..n]),
                    )
                } else {
                    Message::negative_name_query_response(id, name, Rcode::NameError)
                };
                if let Ok(len) = message.emit(&mut buf) {
                    let from = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, host), port);
                    r.handle_datagram(now, from, &buf[..len]);
                }
            }
            5 => r.purge_cache(),
            6 => {
                let name = names[usize::from(next().unwrap_or(0)) % names.len()];
                let _ = r.forget(name);
            }
            _ => {
                while let Some(t) = r.poll_transmit() {
                    if last.len() >= 4 {
                        last.remove(0);
                    }
                    last.push(t.contents);
                }
                while r.poll_event().is_some() {}
            }
        }
        assert!(r.pending() <= 4, "{} queries in flight", r.pending());
        assert!(r.cache(now).count() <= 3, "cache over its cap");
        assert!(r.resolved_by_broadcast().count() <= 2);
        assert!(
            r.events.len() <= 16 && r.transmits.len() <= 16,
            "queues over their cap"
        );
    }
    // Every query ends: no deadline survives a long enough wait.
    for _ in 0..64 {
        let Some(t) = r.poll_timeout() else { break };
        now = now.max(t);
        r.handle_timeout(now);
    }
    assert_eq!(r.pending(), 0, "a query never ends");
}
