//! The crate's resolver in conversations on a simulated broadcast segment
//! (tests/support/segment.rs) with the crate's name clients (holding names,
//! answering queries) and WINS server: no sockets, no sleeping, seeded loss.

mod support;

use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;

use nbns::client::{ClientConfig, ClientEvent, DeterministicIds, NameClient, NameSpec};
use nbns::node_type::NodeType;
use nbns::resolver::{
    QueryHandle, Resolution, Resolver, ResolverConfig, ResolverEvent, Subnet, Via,
};
use nbns::server::{ServerConfig, WinsServer};
use nbns::wire::{
    Message, Name, NbAddrEntry, NbAddrs, NbFlags, NetbiosName, Packet, PacketKind, Rcode,
};
use support::segment::{ClientNode, NodeId, Segment, ServerNode};

/// The resolver as a node of the segment, collecting its events.
type ResolverNode = support::segment::ResolverNode<DeterministicIds>;

const NETWORK: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 0);
const WINS: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// The resolver's address; it sends from an ephemeral port, as nmblookup does.
const ME: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);
const MY_PORT: u16 = 40137;

fn ip(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, n)
}

fn name(s: &str, suffix: u8) -> Name<'static> {
    Name::unscoped(NetbiosName::new(s, suffix).unwrap())
}

fn subnet() -> Subnet {
    Subnet::new(ME, 24)
}

type Client = ClientNode<DeterministicIds>;

struct Lan {
    seg: Segment,
    resolver: NodeId,
}

impl Lan {
    /// Injects, from `from` to the resolver, a positive name query response
    /// `id` for `n` naming the B-node `holder`.
    fn answer(&mut self, from: SocketAddrV4, id: u16, n: Name<'_>, holder: Ipv4Addr) {
        let entry = NbAddrEntry::new(NbFlags::new(false, NodeType::B), holder);
        let m = Message::positive_name_query_response(id, n, 0, NbAddrs::one(entry));
        let mut buf = [0u8; 100];
        let len = m.emit(&mut buf).unwrap();
        self.seg
            .inject(from, SocketAddrV4::new(ME, MY_PORT), &buf[..len]);
    }

    fn new(config: ResolverConfig, seed: u64) -> Self {
        let mut seg = Segment::new(NETWORK, 24, seed);
        let resolver = seg.add_on_port(
            ME,
            MY_PORT,
            ResolverNode {
                resolver: Resolver::with_deterministic_ids(config, seed),
                events: Vec::new(),
            },
        );
        Self { seg, resolver }
    }

    /// A host at `address` holding `names` (unique or group) without a name
    /// server: it answers broadcast queries for them.
    fn holder(&mut self, address: Ipv4Addr, names: &[(Name<'static>, bool)]) -> NodeId {
        self.client(address, ClientConfig::with_servers([]), names)
    }

    fn client(
        &mut self,
        address: Ipv4Addr,
        config: ClientConfig,
        names: &[(Name<'static>, bool)],
    ) -> NodeId {
        let seed = u64::from(address.octets()[3]);
        let mut client = NameClient::with_deterministic_ids(config, seed);
        let addrs = [address];
        for &(n, group) in names {
            let spec = if group {
                NameSpec::group(n, &addrs)
            } else {
                NameSpec::unique(n, &addrs)
            };
            client.add_name(self.seg.now(), spec).unwrap();
        }
        self.seg.add(address, ClientNode::new(client))
    }

    fn wins(&mut self) -> NodeId {
        let mut c = ServerConfig::default();
        c.address = WINS;
        c.min_ttl = 60;
        c.max_ttl = 600;
        let server = WinsServer::new(c, self.seg.now());
        self.seg.add(WINS, ServerNode::new(server))
    }

    fn r(&mut self) -> &mut ResolverNode {
        let id = self.resolver;
        self.seg.node_mut::<ResolverNode>(id)
    }

    fn query(&mut self, n: Name<'_>) -> QueryHandle {
        let now = self.seg.now();
        let q = self.r().resolver.query(now, n).unwrap();
        self.seg.settle();
        q
    }

    /// Runs until `q` has an outcome (Resolved, NotFound, NoAnswer), at most
    /// 60 s; the outcome, and the time it took.
    fn outcome(&mut self, q: QueryHandle) -> (ResolverEvent, Duration) {
        let start = self.seg.now();
        let id = self.resolver;
        let done = self.seg.run_until(Duration::from_secs(60), |seg| {
            seg.node::<ResolverNode>(id)
                .events
                .iter()
                .any(|e| e.query() == q && !matches!(e, ResolverEvent::Conflict { .. }))
        });
        assert!(done, "no outcome for {q}");
        let events = &self.seg.node::<ResolverNode>(id).events;
        let e = events
            .iter()
            .find(|e| e.query() == q && !matches!(e, ResolverEvent::Conflict { .. }))
            .unwrap()
            .clone();
        (e, self.seg.now() - start)
    }

    fn resolution(&mut self, q: QueryHandle) -> Resolution {
        self.resolved(q).0
    }

    /// The resolution of `q` and how long it took (panics on another
    /// outcome).
    fn resolved(&mut self, q: QueryHandle) -> (Resolution, Duration) {
        match self.outcome(q) {
            (ResolverEvent::Resolved { resolution, .. }, took) => (resolution, took),
            (other, _) => panic!("{q}: {other}"),
        }
    }

    /// The cache as `nbtstat -c` would list it: names and how learnt.
    fn cached(&mut self) -> Vec<(String, Via)> {
        let now = self.seg.now();
        self.r()
            .resolver
            .cache(now)
            .map(|c| (c.name.to_string(), c.via))
            .collect()
    }

    fn take_events(&mut self) -> Vec<ResolverEvent> {
        core::mem::take(&mut self.r().events)
    }

    /// The requests the resolver put on the wire so far, as (to, broadcast
    /// flag, id).
    fn queries_sent(&self) -> Vec<(SocketAddrV4, bool, u16)> {
        self.seg
            .wire()
            .iter()
            .filter(|w| w.sender == Some(self.resolver))
            .filter_map(|w| {
                let p = Packet::parse(&w.contents).ok()?;
                (p.kind() == PacketKind::NameQueryRequest)
                    .then(|| (w.to, p.header().flags.broadcast(), p.header().id))
            })
            .collect()
    }
}

fn addresses(r: &Resolution) -> Vec<Ipv4Addr> {
    let mut a: Vec<Ipv4Addr> = r.addresses.iter().map(|e| e.address).collect();
    a.sort();
    a
}

#[test]
fn segment_delivers_broadcast_to_every_other_node_and_unicast_to_one() {
    let mut lan = Lan::new(ResolverConfig::broadcast(subnet()), 1);
    let a = lan.holder(ip(2), &[(name("ALPHA", 0x20), false)]);
    let b = lan.holder(ip(3), &[]);
    lan.query(name("ALPHA", 0x20));
    let w = &lan.seg.wire()[0];
    assert!(w.broadcast);
    assert_eq!(w.to, SocketAddrV4::new(ip(255), 137));
    // not back to the sender; the resolver's port differs from 137 anyway
    assert_eq!(w.delivered_to, [a, b]);
    let answer = &lan.seg.wire()[1];
    assert!(!answer.broadcast);
    assert_eq!(answer.from, SocketAddrV4::new(ip(2), 137));
    assert_eq!(answer.to, SocketAddrV4::new(ME, MY_PORT));
    assert_eq!(answer.delivered_to, [lan.resolver]);
}

#[test]
fn broadcast_query_collects_every_group_member_within_conflict_timer() {
    let mut lan = Lan::new(ResolverConfig::broadcast(subnet()), 2);
    let group = name("WORKGRP", 0x1e);
    for n in 2..=4 {
        lan.holder(ip(n), &[(group, true)]);
    }
    let q = lan.query(group);
    let (resolution, took) = lan.resolved(q);
    assert!(resolution.group);
    assert_eq!(resolution.via, Via::Broadcast);
    assert_eq!(addresses(&resolution), [ip(2), ip(3), ip(4)]);
    assert_eq!(resolution.responders.len(), 3);
    // reported when CONFLICT_TIMER (1 s) after the first answer ran out
    assert_eq!(took, Duration::from_secs(1));
    // one broadcast: the answers stopped the retransmissions
    assert_eq!(lan.queries_sent().len(), 1);
    let stats = *lan.r().resolver.stats();
    assert_eq!(stats.resolved_by_broadcast, 1);
    assert_eq!(stats.conflict_demands, 0);
}

#[test]
fn group_members_are_found_through_loss() {
    let group = name("LOSSY", 0x00);
    let members = [ip(2), ip(3), ip(4), ip(5)];
    let mut resolved = 0;
    for seed in 0..40 {
        let mut lan = Lan::new(ResolverConfig::broadcast(subnet()), seed);
        for &m in &members {
            lan.holder(m, &[(group, true)]);
        }
        lan.seg.set_loss(0.3);
        let q = lan.query(group);
        match lan.outcome(q).0 {
            ResolverEvent::Resolved { resolution, .. } => {
                resolved += 1;
                let got = addresses(&resolution);
                assert!(
                    !got.is_empty() && got.iter().all(|a| members.contains(a)),
                    "{got:?}"
                );
            }
            ResolverEvent::NoAnswer { .. } => {}
            other => panic!("{other}"),
        }
        let sent = lan.queries_sent();
        assert!((1..=3).contains(&sent.len()), "{sent:?}");
        // retransmissions keep their transaction ID
        assert!(sent.iter().all(|s| s.2 == sent[0].2));
    }
    // With 30 % loss each way, 3 tries and 4 members nearly every query
    // succeeds; all 40 failing would mean retransmission is broken.
    assert!(resolved >= 35, "{resolved} of 40 resolved");
}

#[test]
fn unique_name_answered_by_two_holders_gets_a_conflict_demand() {
    let mut lan = Lan::new(ResolverConfig::broadcast(subnet()), 3);
    let dup = name("DUPHOST", 0x20);
    let first = lan.holder(ip(2), &[(dup, false)]);
    let second = lan.holder(ip(3), &[(dup, false)]);
    let q = lan.query(dup);
    let (event, took) = lan.outcome(q);
    // a unique name is reported on its first answer
    assert_eq!(took, Duration::ZERO);
    let ResolverEvent::Resolved { resolution, .. } = event else {
        panic!("{event}");
    };
    assert_eq!(addresses(&resolution), [ip(2)]);
    let events = lan.take_events();
    assert!(
        events.iter().any(|e| matches!(e,
            ResolverEvent::Conflict { holder, challenger, .. }
                if *holder == lan.seg.address(first) && *challenger == lan.seg.address(second))),
        "{events:?}"
    );
    let demands: Vec<_> = lan
        .seg
        .wire()
        .iter()
        .filter(|w| {
            Packet::parse(&w.contents).is_ok_and(|p| p.kind() == PacketKind::NameConflictDemand)
        })
        .collect();
    assert_eq!(demands.len(), 1);
    assert_eq!(demands[0].sender, Some(lan.resolver));
    assert_eq!(demands[0].to, lan.seg.address(second));
    let p = Packet::parse(&demands[0].contents).unwrap();
    assert_eq!(p.answer().unwrap().name, dup);
    assert_eq!(p.rcode(), Rcode::Conflict);
    assert_eq!(lan.r().resolver.stats().conflict_demands, 1);
    // the window closes after CONFLICT_TIMER
    lan.seg.run_for(Duration::from_millis(999));
    assert_eq!(lan.r().resolver.pending(), 1);
    lan.seg.run_for(Duration::from_millis(1));
    assert_eq!(lan.r().resolver.pending(), 0);
}

#[test]
fn conflict_timer_bounds_conflict_detection() {
    // The second holder's answer is forged by the test: inside the window
    // it is a conflict, after it nothing.
    for (delay, expect_demand) in [
        (Duration::from_millis(900), true),
        (Duration::from_millis(1001), false),
    ] {
        let mut lan = Lan::new(ResolverConfig::broadcast(subnet()), 4);
        let n = name("LATE", 0x20);
        lan.holder(ip(2), &[(n, false)]);
        let q = lan.query(n);
        assert!(matches!(lan.outcome(q).0, ResolverEvent::Resolved { .. }));
        let id = lan.queries_sent()[0].2;
        lan.seg.run_for(delay);
        lan.answer(SocketAddrV4::new(ip(9), 137), id, n, ip(9));
        assert_eq!(
            lan.r().resolver.stats().conflict_demands,
            u64::from(expect_demand),
            "{delay:?}"
        );
    }
}

#[test]
fn same_data_from_a_second_responder_is_no_conflict() {
    let mut lan = Lan::new(ResolverConfig::broadcast(subnet()), 5);
    let n = name("SAME", 0x20);
    lan.holder(ip(2), &[(n, false)]);
    let q = lan.query(n);
    assert!(matches!(lan.outcome(q).0, ResolverEvent::Resolved { .. }));
    let id = lan.queries_sent()[0].2;
    // a proxy on .8 answering with the holder's own address
    lan.answer(SocketAddrV4::new(ip(8), 137), id, n, ip(2));
    assert_eq!(lan.r().resolver.stats().conflict_demands, 0);
}

/// A client on `at` registered `n` with the WINS server.
fn registered_client(lan: &mut Lan, at: Ipv4Addr, n: Name<'static>) -> NodeId {
    let config = ClientConfig::with_servers([SocketAddrV4::new(WINS, 137)]);
    let c = lan.client(at, config, &[(n, false)]);
    let ok = lan.seg.run_until(Duration::from_secs(30), |seg| {
        seg.node::<Client>(c)
            .events
            .iter()
            .any(|e| matches!(e, ClientEvent::Registered { .. }))
    });
    assert!(ok, "{:?}", lan.seg.node::<Client>(c).events);
    c
}

#[test]
fn h_node_falls_back_to_broadcast_while_wins_is_silent_and_returns() {
    let wins_addr = SocketAddrV4::new(WINS, 137);
    let config = ResolverConfig::new(NodeType::H, [wins_addr], Some(subnet()));
    let mut lan = Lan::new(config, 6);
    let wins = lan.wins();
    let n = name("FILESRV", 0x20);
    registered_client(&mut lan, ip(2), n);

    // WINS answers: resolved by the name server, nothing broadcast.
    let q = lan.query(n);
    let r = lan.resolution(q);
    assert_eq!(r.via, Via::NameServer(wins_addr));
    assert_eq!(addresses(&r), [ip(2)]);
    assert!(lan.queries_sent().iter().all(|s| !s.1));

    // WINS goes silent: three unicast tries 1.5 s apart, then broadcast.
    lan.r().resolver.purge_cache();
    lan.seg.take_wire();
    lan.seg.set_up(wins, false);
    let q = lan.query(n);
    let (resolution, took) = lan.resolved(q);
    assert_eq!(resolution.via, Via::Broadcast);
    assert_eq!(addresses(&resolution), [ip(2)]);
    assert_eq!(took, Duration::from_millis(4500));
    let sent = lan.queries_sent();
    assert_eq!(sent.len(), 4, "{sent:?}");
    assert!(sent[..3].iter().all(|s| s.0 == wins_addr && !s.1));
    assert!(sent[3].1 && sent[3].0 == SocketAddrV4::new(ip(255), 137));
    assert_ne!(
        sent[3].2, sent[0].2,
        "a new transaction ID for the broadcast"
    );

    // WINS is back: the next query is answered by it again.
    lan.r().resolver.purge_cache();
    lan.seg.set_up(wins, true);
    lan.seg.take_wire();
    let q = lan.query(n);
    let (resolution, took) = lan.resolved(q);
    assert_eq!(resolution.via, Via::NameServer(wins_addr));
    assert_eq!(took, Duration::ZERO);
    let stats = *lan.r().resolver.stats();
    assert_eq!(
        (stats.resolved_by_name_server, stats.resolved_by_broadcast),
        (2, 1)
    );
    let history: Vec<String> = lan
        .r()
        .resolver
        .resolved_by_broadcast()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(history, ["FILESRV<20>"]);
}

#[test]
fn m_node_broadcasts_first_then_asks_wins() {
    let wins_addr = SocketAddrV4::new(WINS, 137);
    let config = ResolverConfig::new(NodeType::M, [wins_addr], Some(subnet()));
    let mut lan = Lan::new(config, 7);
    lan.wins();
    let n = name("REMOTE", 0x20);
    // registered at WINS, then gone from the segment: only WINS knows it
    let c = registered_client(&mut lan, ip(2), n);
    lan.seg.set_up(c, false);
    lan.seg.take_wire();
    let q = lan.query(n);
    let (resolution, took) = lan.resolved(q);
    assert_eq!(resolution.via, Via::NameServer(wins_addr));
    assert_eq!(
        took,
        Duration::from_millis(750),
        "3 broadcasts 250 ms apart first"
    );
    let sent = lan.queries_sent();
    assert_eq!(
        sent.iter().map(|s| s.1).collect::<Vec<_>>(),
        [true, true, true, false]
    );
}

#[test]
fn negative_wins_answer_is_final() {
    let wins_addr = SocketAddrV4::new(WINS, 137);
    let config = ResolverConfig::new(NodeType::H, [wins_addr], Some(subnet()));
    let mut lan = Lan::new(config, 8);
    lan.wins();
    let q = lan.query(name("NOSUCH", 0x20));
    let (event, _) = lan.outcome(q);
    assert!(
        matches!(event, ResolverEvent::NotFound { server, rcode: Rcode::NameError, .. } if server == wins_addr),
        "{event}"
    );
    assert!(
        lan.queries_sent().iter().all(|s| !s.1),
        "no broadcast after a negative answer"
    );
}

#[test]
fn silent_segment_ends_with_no_answer_after_three_broadcasts() {
    let mut config = ResolverConfig::broadcast(subnet());
    config.broadcast_retry_timeout = nbns::resolver::WINDOWS_BCAST_QUERY_TIMEOUT;
    let mut lan = Lan::new(config, 9);
    lan.holder(ip(2), &[]);
    let q = lan.query(name("NOBODY", 0x20));
    let (event, took) = lan.outcome(q);
    assert!(matches!(event, ResolverEvent::NoAnswer { .. }), "{event}");
    assert_eq!(took, Duration::from_millis(2250));
    assert_eq!(lan.queries_sent().len(), 3);
    assert_eq!(lan.r().resolver.stats().retransmissions, 2);
}

#[test]
fn cache_answers_within_ttl_then_expires() {
    let wins_addr = SocketAddrV4::new(WINS, 137);
    let mut config = ResolverConfig::new(NodeType::P, [wins_addr], None);
    // longer than any TTL the server grants: the TTL decides
    config.cache_timeout = Duration::from_secs(3600);
    let mut lan = Lan::new(config, 10);
    lan.wins();
    let n = name("CACHED", 0x20);
    registered_client(&mut lan, ip(2), n);
    let q = lan.query(n);
    let first = lan.resolution(q);
    // the WINS server's answer carries the record's remaining TTL (at most 600 s)
    assert!(first.ttl > 0 && first.ttl <= 600, "{}", first.ttl);
    assert_eq!(
        lan.cached(),
        [("CACHED<20>".to_owned(), Via::NameServer(wins_addr))]
    );
    lan.seg.take_wire();
    let q = lan.query(n);
    assert_eq!(lan.resolution(q).via, Via::Cache);
    assert!(lan.queries_sent().is_empty());
    // up to the TTL it stays; past it the name is asked for again
    lan.seg
        .run_for(Duration::from_secs(u64::from(first.ttl)) - Duration::from_millis(1));
    assert_eq!(lan.cached().len(), 1);
    lan.seg.run_for(Duration::from_millis(1));
    assert_eq!(lan.cached().len(), 0);
    let q = lan.query(n);
    assert_eq!(lan.resolution(q).via, Via::NameServer(wins_addr));
    assert_eq!(lan.queries_sent().len(), 1);
    // -R: purged, asked again
    lan.r().resolver.purge_cache();
    let q = lan.query(n);
    assert_eq!(lan.resolution(q).via, Via::NameServer(wins_addr));
    assert_eq!(lan.queries_sent().len(), 2);
    assert_eq!(lan.r().resolver.stats().resolved_from_cache, 1);
}

#[test]
fn cache_is_capped_and_evicts_the_entry_closest_to_expiry() {
    let mut config = ResolverConfig::broadcast(subnet());
    config.cache_capacity = 2;
    let mut lan = Lan::new(config, 11);
    let names = [name("ONE", 0x20), name("TWO", 0x20), name("THREE", 0x20)];
    lan.holder(
        ip(2),
        &[(names[0], false), (names[1], false), (names[2], false)],
    );
    for n in names {
        let q = lan.query(n);
        lan.resolution(q);
        lan.seg.run_for(Duration::from_secs(1));
    }
    let listed: Vec<String> = lan.cached().into_iter().map(|c| c.0).collect();
    assert_eq!(listed, ["TWO<20>", "THREE<20>"]);
}

#[test]
fn broadcast_release_by_the_holder_flushes_the_cache_entry() {
    let mut lan = Lan::new(ResolverConfig::broadcast(subnet()), 12);
    let n = name("LEAVING", 0x20);
    lan.holder(ip(2), &[(n, false)]);
    let q = lan.query(n);
    lan.resolution(q);
    let entry = NbAddrEntry::new(NbFlags::new(false, NodeType::B), ip(2));
    let release = Message::release_request(0x4242, n, entry, true);
    let mut buf = [0u8; 100];
    let len = release.emit(&mut buf).unwrap();
    // The resolver shares the node's port-137 socket with its name client
    // in a real program; here it listens on another port, so the release
    // is handed over directly. Another host releasing the name changes
    // nothing; the holder releasing it flushes the entry.
    let now = lan.seg.now();
    lan.r()
        .resolver
        .handle_datagram(now, SocketAddrV4::new(ip(7), 137), &buf[..len]);
    assert_eq!(lan.cached().len(), 1);
    lan.r()
        .resolver
        .handle_datagram(now, SocketAddrV4::new(ip(2), 137), &buf[..len]);
    assert_eq!(lan.cached().len(), 0);
    assert_eq!(lan.r().resolver.stats().cache_flushes, 1);
}

/// Answers that fail one check each: wrong port, wrong ID, wrong name, an
/// address off the subnet, for a unicast query the server's address from
/// another port. None is accepted; the genuine answer then is.
#[test]
fn forged_answers_are_ignored() {
    let n = name("TARGET", 0x20);
    let evil = Ipv4Addr::new(6, 6, 6, 6);

    // broadcast
    let mut lan = Lan::new(ResolverConfig::broadcast(subnet()), 13);
    lan.query(n);
    let id = lan.queries_sent()[0].2;
    lan.answer(SocketAddrV4::new(ip(9), 1024), id, n, evil);
    lan.answer(
        SocketAddrV4::new(Ipv4Addr::new(10, 9, 9, 9), 137),
        id,
        n,
        evil,
    );
    lan.answer(SocketAddrV4::new(ip(9), 137), id.wrapping_add(1), n, evil);
    lan.answer(
        SocketAddrV4::new(ip(9), 137),
        id,
        name("TARGET", 0x00),
        evil,
    );
    let s = *lan.r().resolver.stats();
    assert_eq!(
        (
            s.dropped_wrong_source,
            s.dropped_unsolicited,
            s.dropped_wrong_name,
            s.accepted_answers
        ),
        (2, 1, 1, 0)
    );
    assert!(lan.r().events.is_empty());
    lan.answer(SocketAddrV4::new(ip(9), 137), id, n, ip(9));
    let events = lan.take_events();
    assert!(
        matches!(&events[..], [ResolverEvent::Resolved { resolution, .. }] if addresses(resolution) == [ip(9)]),
        "{events:?}"
    );

    // unicast: only the server's address and port
    let wins_addr = SocketAddrV4::new(WINS, 137);
    let config = ResolverConfig::new(NodeType::P, [wins_addr], Some(subnet()));
    let mut lan = Lan::new(config, 14);
    lan.query(n);
    let id = lan.queries_sent()[0].2;
    lan.answer(SocketAddrV4::new(WINS, 1137), id, n, evil);
    lan.answer(SocketAddrV4::new(ip(9), 137), id, n, evil);
    assert_eq!(lan.r().resolver.stats().dropped_wrong_source, 2);
    assert!(lan.r().events.is_empty());
    lan.answer(wins_addr, id, n, evil);
    assert!(matches!(
        &lan.take_events()[..],
        [ResolverEvent::Resolved { .. }]
    ));
}

#[test]
fn pending_queries_are_capped() {
    let mut config = ResolverConfig::broadcast(subnet());
    config.max_pending = 2;
    let mut lan = Lan::new(config, 15);
    let now = lan.seg.now();
    let r = &mut lan.r().resolver;
    r.query(now, name("A", 0)).unwrap();
    r.query(now, name("B", 0)).unwrap();
    assert_eq!(
        r.query(now, name("C", 0)),
        Err(nbns::resolver::QueryError::TooManyPending)
    );
    let p = ResolverConfig::new(NodeType::P, [], Some(subnet()));
    let mut r = Resolver::with_deterministic_ids(p, 1);
    assert_eq!(
        r.query(now, name("A", 0)),
        Err(nbns::resolver::QueryError::NoMethod)
    );
}

#[test]
fn events_print_what_happened() {
    let mut lan = Lan::new(ResolverConfig::broadcast(subnet()), 16);
    let n = name("PRINTED", 0x20);
    lan.holder(ip(2), &[(n, false)]);
    lan.holder(ip(3), &[(n, false)]);
    let q = lan.query(n);
    lan.outcome(q);
    let text: Vec<String> = lan.take_events().iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            format!("{q}: PRINTED<20>: unique 10.0.0.2 (by broadcast, TTL 300000 s)"),
            format!(
                "{q}: PRINTED<20>: conflict: 10.0.0.3:137 answered other data than 10.0.0.2:137; name conflict demand sent to 10.0.0.3:137"
            ),
        ]
    );
}
