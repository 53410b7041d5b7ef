//! Unit tests of the state machine's internals.

use super::*;
use crate::wire::{Message, NbFlags, NodeType};

fn name(s: &str) -> NetbiosName {
    NetbiosName::new(s, 0).unwrap()
}

fn reg(id: u16, n: &str, ip: u8) -> Vec<u8> {
    let e = NbAddrEntry::new(
        NbFlags::new(false, NodeType::H),
        Ipv4Addr::new(10, 0, 0, ip),
    );
    let p = Message::registration_request(id, Name::unscoped(name(n)), 300, e, false);
    let mut v = vec![0; p.buffer_len()];
    p.emit(&mut v).unwrap();
    v
}

fn rel(id: u16, n: &str, ip: u8) -> Vec<u8> {
    let e = NbAddrEntry::new(
        NbFlags::new(false, NodeType::H),
        Ipv4Addr::new(10, 0, 0, ip),
    );
    let p = Message::release_request(id, Name::unscoped(name(n)), e, false);
    let mut v = vec![0; p.buffer_len()];
    p.emit(&mut v).unwrap();
    v
}

fn from(ip: u8) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, ip), 137)
}

fn version(s: &WinsServer, n: &str) -> u64 {
    s.record(name(n), b"").unwrap().version()
}

#[test]
fn version_rules() {
    let t0 = Instant::now();
    let mut s = WinsServer::new(ServerConfig::default(), t0);
    s.handle_datagram(t0, from(2), &reg(1, "A", 2));
    let v1 = version(&s, "A");
    assert_eq!(v1, 1);
    // Same-address re-registration: unchanged.
    s.handle_datagram(t0, from(2), &reg(2, "A", 2));
    assert_eq!(version(&s, "A"), v1);
    // Another new record: next value.
    s.handle_datagram(t0, from(3), &reg(3, "B", 3));
    assert_eq!(version(&s, "B"), 2);
    // Release: unchanged.
    s.handle_datagram(t0, from(2), &rel(4, "A", 2));
    assert_eq!(version(&s, "A"), v1);
    assert_eq!(
        s.record(name("A"), b"").unwrap().state(),
        RecordState::Released
    );
    // Re-activation: new.
    s.handle_datagram(t0, from(2), &reg(5, "A", 2));
    assert_eq!(version(&s, "A"), 3);
    assert_eq!(s.version_counter(), 3);
}

#[test]
fn timers_do_not_scan_and_heap_stays_bounded() {
    let t0 = Instant::now();
    let mut s = WinsServer::new(ServerConfig::default(), t0);
    for round in 0..20u16 {
        let now = t0 + Duration::from_secs(u64::from(round));
        for i in 0..100u16 {
            let n = format!("N{i}");
            s.handle_datagram(now, from(2), &reg(round * 100 + i, &n, 2));
            s.handle_datagram(now, from(2), &rel(round * 100 + i, &n, 2));
        }
    }
    // One live heap entry per record plus superseded ones, compacted.
    assert!(s.heap.len() <= s.records.len() * 3 / 2 + 1024 + 1);
    let t = s.poll_timeout().unwrap();
    assert!(t > t0);
}

#[test]
fn heap_entry_is_not_earlier_than_needed() {
    let t0 = Instant::now();
    let mut s = WinsServer::new(ServerConfig::default(), t0);
    s.handle_datagram(t0, from(2), &reg(1, "A", 2));
    let exp = t0 + Duration::from_secs(21_600);
    assert_eq!(s.poll_timeout(), Some(exp));
    // A refresh an hour later moves the expiry; the old heap entry pops,
    // is found early, and is re-armed without an event.
    let t1 = t0 + Duration::from_secs(3600);
    s.handle_datagram(t1, from(2), &reg(2, "A", 2));
    s.handle_timeout(exp);
    assert!(s.poll_event().is_some()); // the Added event
    assert!(s.poll_event().is_none());
    assert_eq!(
        s.record(name("A"), b"").unwrap().state(),
        RecordState::Active
    );
    assert_eq!(s.poll_timeout(), Some(t1 + Duration::from_secs(21_600)));
}

#[test]
fn scope_to_dotted_rules() {
    let mut buf = [0u8; 256];
    let l = Labels::from_dotted(b"a.bc").unwrap();
    assert_eq!(scope_to_dotted(&l, &mut buf), Ok(4));
    assert_eq!(&buf[..4], b"a.bc");
    assert_eq!(scope_to_dotted(&Labels::EMPTY, &mut buf), Ok(0));
    let long = [b'x'; 63];
    let text: Vec<u8> = [&long[..], &long[..], &long[..], &long[..]].join(&b'.');
    let l = Labels::from_dotted(&text).unwrap();
    assert_eq!(scope_to_dotted(&l, &mut buf), Err(Rcode::ServerFailure));
}

/// The IDs of the challenges of a fresh server with the default
/// configuration: one conflict per name.
fn first_challenge_ids() -> Vec<u16> {
    let t0 = Instant::now();
    let mut s = WinsServer::new(ServerConfig::default(), t0);
    (0..4u16)
        .map(|i| {
            let n = format!("C{i}");
            s.handle_datagram(t0, from(2), &reg(i, &n, 2));
            let _ = s.poll_transmit();
            s.handle_datagram(t0, from(3), &reg(i, &n, 3));
            let _wack = s.poll_transmit().unwrap();
            let q = s.poll_transmit().unwrap();
            Packet::parse(&q.contents).unwrap().id
        })
        .collect()
}

#[test]
fn fresh_servers_send_unpredictable_challenge_ids() {
    // With a fixed default seed every server sent the same sequence; from
    // the OS, four IDs of two servers agree with probability 2^-64.
    assert_ne!(first_challenge_ids(), first_challenge_ids());
}

#[test]
fn injected_id_source_is_used() {
    let t0 = Instant::now();
    let mut s = WinsServer::new(ServerConfig::default(), t0);
    s.set_id_source(|| 0x4242);
    s.handle_datagram(t0, from(2), &reg(1, "A", 2));
    let _ = s.poll_transmit();
    s.handle_datagram(t0, from(3), &reg(2, "A", 3));
    let _wack = s.poll_transmit().unwrap();
    let q = s.poll_transmit().unwrap();
    assert_eq!(Packet::parse(&q.contents).unwrap().id, 0x4242);
}

#[test]
fn fuzz_driver_smoke() {
    fuzz::fuzz_drive(&[]);
    fuzz::fuzz_drive(&[0x40, 0]);
    let r = reg(1, "A", 2);
    let mut d = vec![0x42, u8::try_from(r.len()).unwrap()];
    d.extend_from_slice(&r);
    let r2 = reg(2, "A", 3);
    d.extend_from_slice(&[0x43, u8::try_from(r2.len()).unwrap()]);
    d.extend_from_slice(&r2);
    d.extend_from_slice(&[0x81, 2, 0x05, 0x3f, 0x3f]);
    fuzz::fuzz_drive(&d);
}

#[test]
fn the_version_index_skips_stale_entries_and_stays_bounded() {
    use crate::winsrepl::ReplicationDb;
    let now = Instant::now();
    let config = ServerConfig {
        durability: Durability::Volatile,
        ..ServerConfig::default()
    };
    let mut s = WinsServer::new(config, now);
    s.enable_replication();
    let me = s.config().address;
    s.handle_datagram(now, from(9), &reg(1, "KEEP", 9));
    // Release and register again: a new version each time, the old
    // entries stale.
    let rounds: u16 = 6000;
    for i in 0..rounds {
        s.handle_datagram(now, from(2), &reg(i, "CYCLE", 2));
        s.handle_datagram(now, from(2), &rel(i, "CYCLE", 2));
        while s.poll_transmit().is_some() {}
    }
    s.handle_datagram(now, from(2), &reg(0, "CYCLE", 2));
    let mut out = Vec::new();
    let n = ReplicationDb::records(&s, me, 0, u64::MAX, usize::MAX, &mut out);
    let mut names: Vec<(String, u64)> = out
        .iter()
        .map(|r| (r.name.to_string(), r.version))
        .collect();
    names.sort();
    assert_eq!(n, 2);
    assert_eq!(
        names,
        [
            ("CYCLE<00>".to_owned(), version(&s, "CYCLE")),
            ("KEEP<00>".to_owned(), version(&s, "KEEP")),
        ]
    );
    let ix = s.out.index.as_ref().unwrap();
    assert!(
        ix.len() <= 2 * s.len() + replication::INDEX_SLACK + 1,
        "{}",
        ix.len()
    );
    // Versions below the current ones find nothing: the stale entries
    // are skipped.
    out.clear();
    let below = version(&s, "CYCLE") - 1;
    let n = ReplicationDb::records(&s, me, version(&s, "KEEP") + 1, below, usize::MAX, &mut out);
    assert_eq!(n, 0, "{out:?}");
}
