//! Property tests of the resolver: arbitrary inputs never panic it and keep
//! its tables within their caps (`nbns::resolver::fuzz_drive`), and on a
//! lossy simulated segment every query ends with exactly one outcome whose
//! addresses are those of real holders.

mod support;

use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;

use nbns::client::{ClientConfig, ClientEvent, DeterministicIds, NameClient, NameSpec};
use nbns::node_type::NodeType;
use nbns::resolver::{Resolver, ResolverConfig, ResolverEvent, Subnet, Via};
use nbns::server::{ServerConfig, WinsServer};
use nbns::wire::{Name, NetbiosName, Packet, PacketKind};
use proptest::prelude::*;
use support::segment::{ClientNode, Segment, ServerNode};

/// The resolver as a node of the segment, collecting its events.
type ResolverNode = support::segment::ResolverNode<DeterministicIds>;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_inputs_keep_the_resolver_within_its_caps(
        bytes in proptest::collection::vec(any::<u8>(), 0..600)
    ) {
        nbns::resolver::fuzz_drive(&bytes);
    }

    #[test]
    fn every_broadcast_query_ends_once_with_real_holders(
        seed in any::<u64>(),
        members in 1u8..6,
        group in any::<bool>(),
        loss_percent in 0u32..60,
    ) {
        let me = Ipv4Addr::new(10, 0, 0, 100);
        let mut seg = Segment::new(Ipv4Addr::new(10, 0, 0, 0), 24, seed);
        let config = ResolverConfig::broadcast(Subnet::new(me, 24));
        let r = seg.add_on_port(me, 5000, ResolverNode {
            resolver: Resolver::with_deterministic_ids(config, seed),
            events: Vec::new(),
        });
        let name = Name::unscoped(NetbiosName::new("PROP", 0x20).unwrap());
        let holders: Vec<Ipv4Addr> = (1..=members).map(|i| Ipv4Addr::new(10, 0, 0, i)).collect();
        for &h in &holders {
            let mut c = NameClient::with_deterministic_ids(ClientConfig::with_servers([]), u64::from(h.octets()[3]));
            let addrs = [h];
            let spec = if group { NameSpec::group(name, &addrs) } else { NameSpec::unique(name, &addrs) };
            c.add_name(seg.now(), spec).unwrap();
            seg.add(h, ClientNode::new(c));
        }
        seg.set_loss(f64::from(loss_percent) / 100.0);
        let now = seg.now();
        let q = seg.node_mut::<ResolverNode>(r).resolver.query(now, name).unwrap();
        seg.run_for(Duration::from_secs(10));
        let node = seg.node::<ResolverNode>(r);
        let outcomes: Vec<&ResolverEvent> = node
            .events
            .iter()
            .filter(|e| e.query() == q && !matches!(e, ResolverEvent::Conflict { .. }))
            .collect();
        prop_assert_eq!(outcomes.len(), 1, "{:?}", node.events);
        match outcomes[0] {
            ResolverEvent::Resolved { resolution, .. } => {
                prop_assert!(!resolution.addresses.is_empty());
                prop_assert!(resolution.addresses.iter().all(|a| holders.contains(&a.address)));
                prop_assert_eq!(resolution.group, group);
            }
            ResolverEvent::NoAnswer { .. } => {}
            other => prop_assert!(false, "{}", other),
        }
        prop_assert_eq!(node.resolver.pending(), 0);
        let sent = seg.wire().iter().filter(|w| w.sender == Some(r)).filter(|w| {
            Packet::parse(&w.contents).is_ok_and(|p| p.kind() == PacketKind::NameQueryRequest)
        }).count();
        prop_assert!((1..=3).contains(&sent));
        // several holders of one unique name are a conflict; a group never is
        let demands = node.resolver.stats().conflict_demands;
        if group {
            prop_assert_eq!(demands, 0);
        } else {
            prop_assert!(demands < u64::from(members));
        }
    }

    /// Every node type, with the WINS server answering or silent and loss
    /// on the segment: one outcome per query, only from a method the node
    /// type uses, with the holder's address; an H-node whose WINS server is
    /// silent on a lossless segment finds the name by broadcast.
    #[test]
    fn every_node_type_resolves_by_its_own_methods(
        seed in any::<u64>(),
        ont in 0u8..4,
        wins_up in any::<bool>(),
        lossy in any::<bool>(),
        loss in 1u32..40,
    ) {
        // half the cases lossless, where the outcome is certain
        let loss_percent = if lossy { loss } else { 0 };
        let node_type = NodeType::from_bits(ont);
        let me = Ipv4Addr::new(10, 0, 0, 100);
        let wins = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 137);
        let holder = Ipv4Addr::new(10, 0, 0, 2);
        let mut seg = Segment::new(Ipv4Addr::new(10, 0, 0, 0), 24, seed);
        let mut sc = ServerConfig::default();
        sc.address = *wins.ip();
        let server = seg.add(*wins.ip(), ServerNode::new(WinsServer::new(sc, seg.now())));
        let name = Name::unscoped(NetbiosName::new("HOLDER", 0x20).unwrap());
        let mut c = NameClient::with_deterministic_ids(ClientConfig::with_servers([wins]), seed);
        c.add_name(seg.now(), NameSpec::unique(name, &[holder])).unwrap();
        let c = seg.add(holder, ClientNode::new(c));
        let registered = seg.run_until(Duration::from_secs(30), |seg| {
            seg.node::<ClientNode<DeterministicIds>>(c).events.iter().any(|e| matches!(e, ClientEvent::Registered { .. }))
        });
        prop_assert!(registered);
        seg.set_up(server, wins_up);
        seg.set_loss(f64::from(loss_percent) / 100.0);
        let config = ResolverConfig::new(node_type, [wins], Some(Subnet::new(me, 24)));
        let r = seg.add_on_port(me, 5000, ResolverNode {
            resolver: Resolver::with_deterministic_ids(config, seed),
            events: Vec::new(),
        });
        let now = seg.now();
        let q = seg.node_mut::<ResolverNode>(r).resolver.query(now, name).unwrap();
        seg.run_for(Duration::from_secs(20));
        let node = seg.node::<ResolverNode>(r);
        let outcomes: Vec<&ResolverEvent> = node.events.iter().filter(|e| e.query() == q).collect();
        prop_assert_eq!(outcomes.len(), 1, "{:?}", node.events);
        match outcomes[0] {
            ResolverEvent::Resolved { resolution, .. } => {
                prop_assert_eq!(resolution.addresses.iter().map(|a| a.address).collect::<Vec<_>>(), vec![holder]);
                match resolution.via {
                    Via::NameServer(s) => {
                        prop_assert_eq!(s, wins);
                        prop_assert!(wins_up && node_type.uses_name_server());
                    }
                    Via::Broadcast => prop_assert!(node_type.uses_broadcast()),
                    Via::Cache => prop_assert!(false, "nothing was cached"),
                }
            }
            ResolverEvent::NoAnswer { .. } => prop_assert!(loss_percent > 0 || (node_type == NodeType::P && !wins_up)),
            other => prop_assert!(false, "{}", other),
        }
        if node_type == NodeType::H && !wins_up && loss_percent == 0 {
            let by_broadcast = matches!(outcomes[0], ResolverEvent::Resolved { resolution, .. } if resolution.via == Via::Broadcast);
            prop_assert!(by_broadcast, "{}", outcomes[0]);
        }
        prop_assert_eq!(node.resolver.pending(), 0);
    }
}
