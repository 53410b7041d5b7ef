//! Byte vectors of what the resolver sends, and its checks at the unit
//! level.

use core::net::{Ipv4Addr, SocketAddrV4};
use std::time::Instant;

use super::*;
use crate::node_type::NodeType;
use crate::wire::{NbAddrs, NbFlags, NetbiosName, Rcode};

/// A broadcast NAME QUERY REQUEST for ARBEITSGRUPPE<1b> with ID 0x8003, as
/// in tcpdump's eapon1.pcap (RFC 1002 §4.2.12, flags 0x0110: RD and B).
static BROADCAST_QUERY: [u8; 50] = *b"\x80\x03\x01\x10\x00\x01\x00\x00\x00\x00\x00\x00\
    \x20EBFCECEFEJFEFDEHFCFFFAFAEFCACABL\x00\x00\x20\x00\x01";

/// The same query unicast to a name server: flags 0x0100 (RD only).
static UNICAST_QUERY: [u8; 50] = *b"\x80\x03\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\
    \x20EBFCECEFEJFEFDEHFCFFFAFAEFCACABL\x00\x00\x20\x00\x01";

/// NAME CONFLICT DEMAND for ARBEITSGRUPPE<1b> from a B-node (RFC 1002
/// §4.2.8): flags 0xAD87 (R, opcode 5, AA, RD, RA, CFT_ERR), one answer
/// with TTL 0 and NB data 0x0000 0.0.0.0.
static CONFLICT_DEMAND: [u8; 62] = *b"\x80\x03\xad\x87\x00\x00\x00\x01\x00\x00\x00\x00\
    \x20EBFCECEFEJFEFDEHFCFFFAFAEFCACABL\x00\x00\x20\x00\x01\
    \x00\x00\x00\x00\x00\x06\x00\x00\x00\x00\x00\x00";

fn name() -> Name<'static> {
    Name::unscoped(NetbiosName::new("ARBEITSGRUPPE", 0x1b).unwrap())
}

const SERVER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 137);

fn resolver(node_type: NodeType) -> Resolver<impl IdSource> {
    let config = ResolverConfig::new(
        node_type,
        [SERVER],
        Some(Subnet::new(Ipv4Addr::new(10, 0, 0, 7), 24)),
    );
    Resolver::new(config, || 0x8003)
}

fn answer(id: u16, address: Ipv4Addr) -> Vec<u8> {
    let entry = NbAddrEntry::new(NbFlags::new(false, NodeType::B), address);
    let m = Message::positive_name_query_response(id, name(), 0, NbAddrs::one(entry));
    let mut out = vec![0u8; m.buffer_len()];
    m.emit(&mut out).unwrap();
    out
}

#[test]
fn broadcast_query_bytes() {
    let mut r = resolver(NodeType::B);
    r.query(Instant::now(), name()).unwrap();
    let t = r.poll_transmit().unwrap();
    assert_eq!(
        t.destination,
        SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 255), 137)
    );
    assert_eq!(t.contents, BROADCAST_QUERY);
}

#[test]
fn unicast_query_bytes() {
    let mut r = resolver(NodeType::P);
    r.query(Instant::now(), name()).unwrap();
    let t = r.poll_transmit().unwrap();
    assert_eq!(t.destination, SERVER);
    assert_eq!(t.contents, UNICAST_QUERY);
}

#[test]
fn conflict_demand_bytes() {
    let mut r = resolver(NodeType::B);
    let now = Instant::now();
    r.query(now, name()).unwrap();
    let _ = r.poll_transmit();
    let first = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 137);
    let second = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 3), 137);
    r.handle_datagram(now, first, &answer(0x8003, *first.ip()));
    assert!(r.poll_transmit().is_none());
    r.handle_datagram(now, second, &answer(0x8003, *second.ip()));
    let t = r.poll_transmit().unwrap();
    assert_eq!(t.destination, second);
    assert_eq!(t.contents, CONFLICT_DEMAND);
    let p = Packet::parse(&t.contents).unwrap();
    assert_eq!(p.kind(), PacketKind::NameConflictDemand);
    assert_eq!(p.rcode(), Rcode::Conflict);
}

#[test]
fn ids_in_use_are_not_handed_out_twice() {
    // a source that always says 0x8003: the second query must still get
    // another ID
    let mut r = resolver(NodeType::B);
    let now = Instant::now();
    r.query(now, name()).unwrap();
    r.query(now, Name::unscoped(NetbiosName::new("OTHER", 0).unwrap()))
        .unwrap();
    let ids: Vec<u16> = core::iter::from_fn(|| r.poll_transmit())
        .map(|t| Packet::parse(&t.contents).unwrap().header().id)
        .collect();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
}

#[test]
fn cancelled_query_ends_without_an_event_and_its_answer_is_unsolicited() {
    let mut r = resolver(NodeType::B);
    let now = Instant::now();
    let q = r.query(now, name()).unwrap();
    assert!(r.cancel(q));
    assert!(!r.cancel(q));
    assert_eq!(r.poll_timeout(), None);
    r.handle_datagram(
        now,
        SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 137),
        &answer(0x8003, Ipv4Addr::new(10, 0, 0, 2)),
    );
    assert_eq!(r.stats().dropped_unsolicited, 1);
    assert!(r.poll_event().is_none());
}

#[test]
fn query_as_overrides_the_node_type_for_one_query() {
    let mut r = resolver(NodeType::H);
    let now = Instant::now();
    r.query_as(now, name(), NodeType::B).unwrap();
    let t = r.poll_transmit().unwrap();
    assert_eq!(t.contents, BROADCAST_QUERY);
    r.query_as(
        now,
        Name::unscoped(NetbiosName::new("OTHER", 0).unwrap()),
        NodeType::P,
    )
    .unwrap();
    assert_eq!(r.poll_transmit().unwrap().destination, SERVER);
    // a B-node query on a resolver without a subnet has nothing to use
    let mut p = Resolver::new(ResolverConfig::new(NodeType::H, [SERVER], None), || 1);
    assert_eq!(
        p.query_as(now, name(), NodeType::B),
        Err(QueryError::NoMethod)
    );
}
