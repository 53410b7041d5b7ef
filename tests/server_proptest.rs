//! Property tests: arbitrary sequences of datagrams and clock steps never
//! panic the server, never make `poll_timeout` go into the past, keep its
//! queues and tables within their caps, and never lower a version ID.

use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;
use std::collections::HashMap;
use std::time::Instant;

use nbns::server::fuzz::{fuzz_config, fuzz_drive};
use nbns::server::{DeterministicIds, WinsServer};
use nbns::wire::{
    Message, Name, NbAddrEntry, NbAddrs, NbFlags, NetbiosName, NodeType, Packet, Rcode,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Register {
        name: u8,
        host: u8,
        group: bool,
        ttl: u32,
        op: u8,
        id: u16,
    },
    Release {
        name: u8,
        host: u8,
        from: u8,
        id: u16,
    },
    Query {
        name: u8,
        id: u16,
    },
    /// Answer the latest challenge: positive (listing `host`) or negative.
    Answer {
        positive: bool,
        host: u8,
    },
    Raw(Vec<u8>),
    Wait(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..6, 0u8..4, any::<bool>(), 0u32..100, 0u8..4, any::<u16>())
            .prop_map(|(name, host, group, ttl, op, id)| Op::Register { name, host, group, ttl, op, id }),
        1 => (0u8..6, 0u8..4, 0u8..4, any::<u16>())
            .prop_map(|(name, host, from, id)| Op::Release { name, host, from, id }),
        2 => (0u8..6, any::<u16>()).prop_map(|(name, id)| Op::Query { name, id }),
        1 => (any::<bool>(), 0u8..4).prop_map(|(positive, host)| Op::Answer { positive, host }),
        1 => proptest::collection::vec(any::<u8>(), 0..80).prop_map(Op::Raw),
        2 => (0u16..20_000).prop_map(Op::Wait),
    ]
}

fn name(n: u8) -> NetbiosName {
    let suffix = [0x00, 0x20, 0x1C, 0x1D, 0x1B, 0x00][usize::from(n % 6)];
    NetbiosName::new(&format!("N{n}"), suffix).unwrap()
}

fn ip(h: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, 2 + h)
}

fn emit(p: &Message<'_>) -> Vec<u8> {
    let mut v = vec![0; p.buffer_len()];
    p.emit(&mut v).unwrap();
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn structured_sequences_keep_invariants(ops in proptest::collection::vec(op(), 1..60)) {
        let config = fuzz_config();
        let mut now = Instant::now();
        let mut s = WinsServer::with_ids(config.clone(), now, DeterministicIds::new(1));
        let mut last_challenge: Option<(u16, SocketAddrV4, NetbiosName)> = None;
        let mut versions: HashMap<NetbiosName, u64> = HashMap::new();
        let mut counter = 0;
        for op in ops {
            // A datagram is answered with at most a response, a WACK and a
            // challenge; a timeout acts for each pending challenge, with a
            // retransmission or an answer to the waiting registrant.
            let limit = match op {
                Op::Wait(_) => 2 * s.pending_challenges().max(1),
                _ => 3,
            };
            match op {
                Op::Register { name: n, host, group, ttl, op, id } => {
                    let e = NbAddrEntry::new(NbFlags::new(group, NodeType::H), ip(host));
                    let nm = Name::unscoped(name(n));
                    let p = match op {
                        0 => Message::registration_request(id, nm, ttl, e, false),
                        1 => Message::refresh_request(id, nm, ttl, e, false),
                        2 => Message::refresh_request(id, nm, ttl, e, true),
                        _ => Message::multihomed_registration_request(id, nm, ttl, e),
                    };
                    s.handle_datagram(now, SocketAddrV4::new(ip(host), 137), &emit(&p));
                }
                Op::Release { name: n, host, from, id } => {
                    let e = NbAddrEntry::new(NbFlags::new(false, NodeType::H), ip(host));
                    let p = Message::release_request(id, Name::unscoped(name(n)), e, false);
                    s.handle_datagram(now, SocketAddrV4::new(ip(from), 137), &emit(&p));
                }
                Op::Query { name: n, id } => {
                    let p = Message::name_query_request(id, Name::unscoped(name(n)), false);
                    s.handle_datagram(now, SocketAddrV4::new(ip(0), 5000), &emit(&p));
                }
                Op::Answer { positive, host } => {
                    if let Some((id, to, nb)) = last_challenge {
                        let p = if positive {
                            let two = [
                                NbAddrEntry::new(NbFlags::new(false, NodeType::H), *to.ip()),
                                NbAddrEntry::new(NbFlags::new(false, NodeType::H), ip(host)),
                            ];
                            emit(&Message::positive_name_query_response(id, Name::unscoped(nb), 60, NbAddrs::from_slice(&two)))
                        } else {
                            emit(&Message::negative_name_query_response(id, Name::unscoped(nb), Rcode::NameError))
                        };
                        s.handle_datagram(now, to, &p);
                    }
                }
                Op::Raw(bytes) => s.handle_datagram(now, SocketAddrV4::new(ip(1), 137), &bytes),
                Op::Wait(ms) => {
                    now += Duration::from_millis(u64::from(ms));
                    s.handle_timeout(now);
                    if let Some(t) = s.poll_timeout() {
                        prop_assert!(t > now, "poll_timeout in the past");
                    }
                }
            }
            if let Some(last) = core::iter::from_fn(|| s.poll_change()).last() {
                s.handle_persisted(last.seq);
            }
            let mut sent = 0;
            while let Some(t) = s.poll_transmit() {
                sent += 1;
                let p = Packet::parse(&t.contents);
                prop_assert!(p.is_ok(), "server emitted something unparseable");
                let p = p.unwrap();
                if !p.flags.is_response() {
                    prop_assert_eq!(t.destination.port(), 137);
                    last_challenge = Some((p.id, t.destination, p.question().unwrap().name.netbios));
                }
            }
            prop_assert!(sent <= limit, "{} datagrams sent, at most {} expected", sent, limit);
            while s.poll_event().is_some() {}
            prop_assert!(s.len() <= config.max_records);
            prop_assert!(s.pending_challenges() <= config.max_pending);
            prop_assert!(s.version_counter() >= counter);
            counter = s.version_counter();
            for r in s.records() {
                prop_assert!(r.version() <= counter);
                let old = versions.insert(r.name(), r.version()).unwrap_or(0);
                prop_assert!(r.version() >= old, "version went down");
                prop_assert!(!r.addresses().is_empty() && r.addresses().len() <= 25);
            }
        }
    }

    #[test]
    fn arbitrary_bytes_drive(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        fuzz_drive(&data);
    }
}
