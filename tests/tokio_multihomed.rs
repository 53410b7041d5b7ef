//! A multi-homed [`NameNode`]: one socket per local address (127.0.0.52
//! and 127.0.0.53 on loopback, port 137 of each, so root), registering
//! one name with both addresses at the crate's server through the tokio
//! driver. Each registration must leave from the address it registers,
//! and the server's challenge of the first address, answered by the node,
//! makes the second a merge: the record ends multi-homed with both.
#![cfg(feature = "tokio")]

mod support;

use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use core::ops::ControlFlow;
use core::time::Duration;
use std::sync::{Arc, Mutex};

use nbns::client::{ClientConfig, NameSpec};
use nbns::server::{Durability, RecordKind, ServerConfig, WinsServer};
use nbns::tokio::{NameNode, NodeOptions, ServerRunner};
use nbns::wire::{Name, NetbiosName, Packet, PacketKind};
use tokio::net::UdpSocket;
use tokio::time::Instant;

fn name(s: &str) -> Name<'static> {
    Name::unscoped(NetbiosName::new(s, 0x20).unwrap())
}

#[tokio::test]
async fn a_multi_homed_name_is_registered_from_each_of_its_addresses() {
    if !support::interop_enabled("a_multi_homed_name_is_registered_from_each_of_its_addresses") {
        return;
    }
    let homes = [Ipv4Addr::new(127, 0, 0, 52), Ipv4Addr::new(127, 0, 0, 53)];
    // The server notes where each registration came from, and for which
    // address.
    let seen: Arc<Mutex<Vec<(Ipv4Addr, Ipv4Addr)>>> = Arc::default();
    let log = Arc::clone(&seen);
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let mut volatile = ServerConfig::default();
    volatile.durability = Durability::Volatile;
    let server = WinsServer::new(volatile, Instant::now().into_std());
    let runner = ServerRunner::builder(socket, server)
        .inspect_datagrams(move |from, bytes| {
            if let Ok(p) = Packet::parse(bytes)
                && matches!(
                    p.kind(),
                    PacketKind::MultihomedRegistrationRequest | PacketKind::NameRegistrationRequest
                )
                && let Some(rr) = p.additional()
                && let Some(e) = rr.nb().and_then(|a| a.iter().next())
            {
                log.lock().unwrap().push((*from.ip(), e.address));
            }
            ControlFlow::Continue(())
        })
        .spawn()
        .unwrap();
    // On port 137 of each address: the server challenges the holder of
    // the first address there, and the node's answer (both addresses)
    // makes the second a merge rather than a takeover.
    let locals = homes.map(|ip| SocketAddrV4::new(ip, 137));
    let node = NameNode::bind_with(
        &locals,
        {
            let SocketAddr::V4(at) = runner.local_addr() else {
                panic!("IPv4 expected")
            };
            let mut c = ClientConfig::with_servers([at]);
            c.retry_interval = Duration::from_millis(100);
            c
        },
        NodeOptions::default().broadcast(true),
    )
    .await
    .unwrap();
    assert_eq!(node.local_addrs().len(), 2);
    let granted = node
        .register(NameSpec::unique(name("MULTI"), &homes))
        .await
        .unwrap();
    assert!(granted.ttl > 0);
    let seen = seen.lock().unwrap().clone();
    for home in homes {
        assert!(seen.iter().any(|(_, a)| *a == home), "{seen:?}");
    }
    for (from, address) in &seen {
        assert_eq!(
            from, address,
            "a registration of {address} sent from {from}"
        );
    }
    let server = runner.shutdown().await.unwrap();
    let rec = server.record(name("MULTI").netbios, b"").expect("held");
    assert_eq!(rec.kind(), RecordKind::Multihomed);
    let mut held: Vec<Ipv4Addr> = rec.addresses().iter().map(|e| e.address).collect();
    held.sort();
    assert_eq!(held, homes);
}
