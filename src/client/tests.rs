//! Unit tests of the name client: memory per name, ID uniqueness, add errors.

use super::*;
use crate::wire::PacketKind;
use crate::wire::{Message, NetbiosName};
use core::time::Duration;

/// Held names cost at most 256 bytes each, after a re-register-all
/// burst too.
#[test]
fn memory_per_name_is_bounded() {
    let server = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 137);
    let mut config = ClientConfig::with_servers([server]);
    config.reregister_cooldown = Duration::ZERO;
    let mut c = NameClient::with_deterministic_ids(config, 5);
    let now = Instant::now();
    let me = [Ipv4Addr::new(10, 0, 0, 7)];
    const N: usize = 10_000;
    for i in 0..N {
        let n = NetbiosName::new(&format!("H{i}"), 0).unwrap_or(NetbiosName::wildcard());
        c.add_name(now, NameSpec::unique(Name::unscoped(n), &me))
            .unwrap();
    }
    let exchange = |c: &mut NameClient<DeterministicIds>| {
        let mut buf = Vec::new();
        while let Some(t) = c.poll_transmit() {
            let p = Packet::parse(&t.contents).unwrap();
            let q = p.question().unwrap();
            let e = p.additional().unwrap().nb().unwrap().first().unwrap();
            let r = if p.kind() == PacketKind::NameReleaseRequest {
                Message::positive_release_response(p.id, q.name, e)
            } else {
                Message::positive_registration_response(p.id, q.name, 600, e)
            };
            buf.clear();
            r.emit_buf(&mut buf).unwrap();
            c.handle_datagram(now, t.destination, &buf);
        }
        while c.poll_event().is_some() {}
    };
    exchange(&mut c);
    let registered = c.heap_bytes() / N;
    c.reregister_all(now).unwrap();
    exchange(&mut c);
    c.reregister_all(now).unwrap();
    exchange(&mut c);
    assert!(c.names().all(|n| n.state == NameState::Registered));
    let after = c.heap_bytes() / N;
    assert!(registered <= 256, "{registered} bytes per name");
    assert!(after <= 256, "{after} bytes per name after -RR");
    assert!(size_of::<Option<Entry>>() <= 96);
}

#[test]
fn ids_are_unique_among_pending_transactions() {
    // A source that always says 7: the client still never shares an ID.
    let server = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 137);
    let mut c = NameClient::new(ClientConfig::with_servers([server]), || 7u16);
    let now = Instant::now();
    for i in 0..50 {
        let n = NetbiosName::new(&format!("H{i}"), 0).unwrap_or(NetbiosName::wildcard());
        c.add_name(
            now,
            NameSpec::unique(Name::unscoped(n), &[Ipv4Addr::LOCALHOST]),
        )
        .unwrap();
    }
    let ids: std::collections::HashSet<u16> = core::iter::from_fn(|| c.poll_transmit())
        .map(|t| Packet::parse(&t.contents).unwrap().id)
        .collect();
    assert_eq!(ids.len(), 50);
    assert_eq!(c.by_id.len(), 50);
}

#[test]
fn add_name_errors() {
    let mut c = NameClient::with_deterministic_ids(ClientConfig::default(), 1);
    let now = Instant::now();
    let n = Name::unscoped(NetbiosName::new("X", 0).unwrap());
    assert_eq!(
        c.add_name(now, NameSpec::unique(n, &[])),
        Err(AddNameError::NoAddress)
    );
    c.add_name(now, NameSpec::unique(n, &[Ipv4Addr::LOCALHOST]))
        .unwrap();
    assert_eq!(
        c.add_name(now, NameSpec::group(n, &[Ipv4Addr::LOCALHOST])),
        Err(AddNameError::Duplicate)
    );
    assert!(c.release(now, n));
    assert!(!c.release(now, n));
    assert!(c.is_empty());
}
