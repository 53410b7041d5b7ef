//! Real peers on one broadcast segment of network namespaces the test
//! creates (tests/support/bridge.rs): Samba's nmbd as a B-node, the
//! crate's resolver beside it.
//! Runs only with `NBNS_INTEROP=1`, as root.

mod support;

use core::time::Duration;

use support::bridge::Bridge;
use support::tshark;

/// The segment itself: nmblookup in one member finds, by broadcast, the
/// name nmbd holds as a B-node in another.
#[test]
fn nmblookup_finds_nmbd_by_broadcast_on_the_bridge() {
    if !support::interop_enabled("nmblookup_finds_nmbd_by_broadcast_on_the_bridge") {
        return;
    }
    let bridge = Bridge::with_nmbd(2, "BNODEPEER", &[0x20]);
    let out = bridge
        .nmblookup(2, ["-B", &bridge.broadcast().to_string(), "BNODEPEER#20"])
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("{} BNODEPEER<20>", bridge.ip(1))),
        "nmblookup: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    bridge.stop().unwrap_or_else(|e| panic!("{e}"));
}

/// Our resolver, run in member 2, finds nmbd's B-node name in member 1 by
/// broadcast; then, as an H-node whose WINS server (member 3, where nothing
/// listens on port 137: its ICMP reports are no answer) stays silent, falls
/// back to broadcast and finds it again. tshark reads every captured datagram without a malformed flag, and
/// our broadcast queries and nmbd's answers are among them.
#[test]
fn our_resolver_finds_nmbd_by_broadcast() {
    if std::env::var_os("NBNS_BRIDGE_RESOLVER").is_some() {
        resolver_driver();
        return;
    }
    if !support::interop_enabled("our_resolver_finds_nmbd_by_broadcast") {
        return;
    }
    let bridge = Bridge::with_nmbd(3, "BNODEPEER", &[0x20]);
    let pcap = bridge.dir().join("resolver.pcap");
    let capture = bridge.capture_nbns(2, &pcap);
    // the resolver's outcomes, as a transcript, on standard error
    bridge.run_driver_in(
        2,
        "our_resolver_finds_nmbd_by_broadcast",
        &[
            ("NBNS_BRIDGE_RESOLVER", "BNODEPEER".to_owned()),
            ("NBNS_BRIDGE_EXPECT", bridge.ip(1).to_string()),
            ("NBNS_BRIDGE_SILENT_WINS", bridge.ip(3).to_string()),
        ],
        "the resolver",
    );
    let pcap = capture.stop().unwrap_or_else(|e| panic!("{e}"));
    let packets = tshark::dissect_nbns_clean(&pcap);
    for p in &packets {
        assert!(p.is_nbns(), "frame {}: {:?}", p.number, p.protocols);
    }
    let me = bridge.ip(2).to_string();
    let peer = bridge.ip(1).to_string();
    let broadcast = bridge.broadcast().to_string();
    let ours = packets
        .iter()
        .filter(|p| p.field("ip.src") == Some(&me) && p.field("ip.dst") == Some(&broadcast))
        .collect::<Vec<_>>();
    assert!(ours.len() >= 2, "our broadcast queries: {packets:?}");
    for p in &ours {
        assert_eq!(p.field("nbns.flags"), Some("0x0110"), "frame {}", p.number);
        assert_eq!(
            p.field("nbns.name"),
            Some("BNODEPEER<20>"),
            "frame {}",
            p.number
        );
    }
    let answers = packets
        .iter()
        .filter(|p| p.field("ip.src") == Some(&peer) && p.field("ip.dst") == Some(&me))
        .count();
    assert!(answers >= 2, "nmbd's answers: {packets:?}");
    let silent_wins = bridge.ip(3).to_string();
    let unicast = packets
        .iter()
        .filter(|p| {
            p.field("ip.dst") == Some(&silent_wins) && p.field("nbns.flags") == Some("0x0100")
        })
        .count();
    assert_eq!(unicast, 3, "three tries of the silent WINS server");
    bridge.stop().unwrap_or_else(|e| panic!("{e}"));
}

/// The side of [`our_resolver_finds_nmbd_by_broadcast`] that runs inside
/// the bridge: a resolver over a real UDP socket on port 137.
fn resolver_driver() {
    use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
    use std::io::ErrorKind;
    use std::net::UdpSocket;
    use std::time::Instant;

    use nbns::node_type::NodeType;
    use nbns::resolver::{Resolver, ResolverConfig, ResolverEvent, Subnet, Via};
    use nbns::wire::{Name, NetbiosName};

    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} not set"));
    let me: Ipv4Addr = var("NBNS_BRIDGE_IP").parse().unwrap();
    let expect: Ipv4Addr = var("NBNS_BRIDGE_EXPECT").parse().unwrap();
    let silent: Ipv4Addr = var("NBNS_BRIDGE_SILENT_WINS").parse().unwrap();
    let name = Name::unscoped(NetbiosName::new(&var("NBNS_BRIDGE_RESOLVER"), 0x20).unwrap());
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 137)).expect("bind port 137");
    socket.set_broadcast(true).unwrap();
    let subnet = Subnet::new(me, 24);
    let silent = SocketAddrV4::new(silent, 137);
    for (node_type, servers) in [(NodeType::B, vec![]), (NodeType::H, vec![silent])] {
        let config = ResolverConfig::new(node_type, servers, Some(subnet));
        let mut r = Resolver::with_os_ids(config);
        let started = Instant::now();
        let q = r.query(Instant::now(), name).unwrap();
        let mut buf = [0u8; 1500];
        let outcome = loop {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{node_type}: no outcome"
            );
            while let Some(t) = r.poll_transmit() {
                let _ = socket.send_to(&t.contents, t.destination);
            }
            if let Some(e) = core::iter::from_fn(|| r.poll_event()).find(|e| e.query() == q) {
                break e;
            }
            let now = Instant::now();
            let wait = match r.poll_timeout() {
                Some(d) if d <= now => {
                    r.handle_timeout(now);
                    continue;
                }
                Some(d) => d - now,
                None => Duration::from_secs(1),
            };
            socket.set_read_timeout(Some(wait)).unwrap();
            match socket.recv_from(&mut buf) {
                Ok((n, SocketAddr::V4(from))) => r.handle_datagram(Instant::now(), from, &buf[..n]),
                Ok(_) => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    r.handle_timeout(Instant::now());
                }
                Err(_) => {} // ICMP reports of earlier datagrams
            }
        };
        println!("{node_type}: {outcome}");
        let ResolverEvent::Resolved { resolution, .. } = outcome else {
            panic!("{node_type}: {outcome}");
        };
        assert_eq!(resolution.via, Via::Broadcast);
        assert_eq!(
            resolution
                .addresses
                .iter()
                .map(|a| a.address)
                .collect::<Vec<_>>(),
            [expect]
        );
        assert_eq!(r.stats().resolved_by_broadcast, 1);
        if node_type == NodeType::H {
            // three unanswered tries of the WINS server came first
            assert!(
                started.elapsed() >= Duration::from_millis(4500),
                "{:?}",
                started.elapsed()
            );
            assert_eq!(r.stats().requests_sent, 4);
        }
    }
}
