//! Property tests: arbitrary datagrams, timeouts and commands never panic a
//! `NameClient`, its deadlines are never in the past after a timeout, and
//! its queues stay bounded.

use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;
use std::time::Instant;

use nbns::client::{ClientConfig, NameClient, NameSpec};
use nbns::wire::{Name, NetbiosName, NodeType};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Input {
    Datagram { from: u8, bytes: Vec<u8> },
    Advance(u32),
    Add(u8),
    Release(u8),
    ReleaseAll,
    RefreshNow,
    ReregisterAll,
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        (any::<u8>(), proptest::collection::vec(any::<u8>(), 0..120))
            .prop_map(|(from, bytes)| Input::Datagram { from, bytes }),
        (0u32..200_000).prop_map(Input::Advance),
        any::<u8>().prop_map(Input::Add),
        any::<u8>().prop_map(Input::Release),
        Just(Input::ReleaseAll),
        Just(Input::RefreshNow),
        Just(Input::ReregisterAll),
    ]
}

const BROADCAST: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 255), 137);

/// A B, P, M or H node (the two low bits), with the two servers or none,
/// with the broadcast address or none.
fn config(pick: u8) -> ClientConfig {
    let servers: &[SocketAddrV4] = if pick & 4 == 0 { &SERVERS } else { &[] };
    let mut c =
        ClientConfig::with_servers(servers.iter().copied()).node_type(NodeType::from_bits(pick));
    if pick & 8 == 0 {
        c = c.broadcast(BROADCAST);
    }
    c
}

const SERVERS: [SocketAddrV4; 2] = [
    SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 137),
    SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 137),
];

fn name(i: u8) -> Name<'static> {
    Name::unscoped(NetbiosName::from_raw([
        b'N',
        b'0' + i % 8,
        b' ',
        b' ',
        b' ',
        b' ',
        b' ',
        b' ',
        b' ',
        b' ',
        b' ',
        b' ',
        b' ',
        b' ',
        b' ',
        0,
    ]))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_inputs_keep_the_invariants(
        pick in 0u8..16,
        inputs in proptest::collection::vec(input(), 0..80),
    ) {
        let config = config(pick);
        let b_node = config.node_type == NodeType::B;
        let mut c = NameClient::with_deterministic_ids(config, 3);
        let mut now = Instant::now();
        let me = [Ipv4Addr::new(10, 0, 0, 7)];
        for i in inputs {
            match i {
                Input::Datagram { from, bytes } => {
                    let src = match from % 3 {
                        0 => SERVERS[0],
                        1 if from & 0x10 == 0 => SERVERS[1],
                        1 => SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, from), 137),
                        _ => SocketAddrV4::new(Ipv4Addr::new(10, 9, 9, from), 137),
                    };
                    c.handle_datagram(now, src, &bytes);
                }
                Input::Advance(ms) => {
                    now += Duration::from_millis(u64::from(ms));
                    c.handle_timeout(now);
                    if let Some(t) = c.poll_timeout() {
                        prop_assert!(t > now, "deadline in the past");
                    }
                }
                Input::Add(i) => { let _ = c.add_name(now, NameSpec::unique(name(i), &me)); }
                Input::Release(i) => { let _ = c.release(now, name(i)); }
                Input::ReleaseAll => c.release_all(now),
                Input::RefreshNow => c.refresh_now(now),
                Input::ReregisterAll => { let _ = c.reregister_all(now); }
            }
            prop_assert!(c.pending_transactions() <= c.len());
            prop_assert!(c.queued_transmits() <= 3 * c.len() + c.config().max_queued_answers);
            while let Some(t) = c.poll_transmit() {
                // A B-node talks to no WINS server; only answers go
                // anywhere but the broadcast address.
                if b_node && t.destination != BROADCAST {
                    prop_assert!(t.source.is_none() || !SERVERS.contains(&t.destination));
                }
            }
            while c.poll_event().is_some() {}
        }
    }

    #[test]
    fn fuzz_driver_holds(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        nbns::client::fuzz_drive(&data);
    }
}

/// Without draining, answers to a flood of queries stay capped.
#[test]
fn answer_backlog_is_bounded() {
    let mut c = NameClient::with_deterministic_ids(ClientConfig::default(), 1);
    let now = Instant::now();
    c.add_name(
        now,
        NameSpec::unique(name(1), &[Ipv4Addr::new(10, 0, 0, 7)]),
    )
    .unwrap();
    let q = nbns::wire::Message::name_query_request(1, name(1), false);
    let mut b = Vec::new();
    q.emit_buf(&mut b).unwrap();
    for _ in 0..10_000 {
        c.handle_datagram(now, SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 9), 137), &b);
    }
    assert_eq!(c.queued_transmits(), 256);
    assert_eq!(c.stats().dropped_answer_backlog, 10_000 - 256);
}
