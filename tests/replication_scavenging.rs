//! Verification and scavenging of replicas at the crate's `WinsServer`,
//! with an explicit clock (days pass in no time): an active replica its
//! owner does not refresh is verified with the owner after the verify
//! interval (a name query to the owner's UDP 137, as Samba does), and the
//! answer keeps, removes or takes it over; replica tombstones go after the
//! tombstone timeout, but not in the server's first days of uptime.

use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;
use std::time::Instant;

use nbns::server::{RecordState, ServerConfig, VERIFY_RETRY, WinsServer};
use nbns::winsrepl::{
    ApplyOutcome, RecordFlags, RecordState as ReplState, RecordType, Replica, ReplicaAddresses,
    ReplicationDb,
};
use nbns::wire::{
    Message, Name, NbAddrEntry, NbAddrs, NbFlags, NetbiosName, NodeType, Packet, PacketKind, Rcode,
};

const US: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// The owner of the replicas.
const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const HOST: Ipv4Addr = Ipv4Addr::new(10, 9, 9, 5);
const DAY: u64 = 24 * 3600;

fn name() -> NetbiosName {
    NetbiosName::new("FAR", 0x20).unwrap()
}

fn config() -> ServerConfig {
    let mut c = ServerConfig::default();
    c.address = US;
    c
}

/// A server started at `epoch`.
fn server(epoch: Instant) -> WinsServer {
    let mut s = WinsServer::new(config(), epoch);
    s.enable_replication();
    s
}

fn replica(version: u64, state: ReplState) -> Replica {
    Replica {
        name: name(),
        scope: Vec::new(),
        flags: RecordFlags::new(RecordType::Unique, state, NodeType::H),
        version,
        owner: A,
        addresses: ReplicaAddresses::Single(HOST),
    }
}

/// The server's state of FAR: (owner, version, state).
fn at(s: &WinsServer) -> Option<(Ipv4Addr, u64, RecordState)> {
    let r = s.record(name(), b"")?;
    Some((r.owner(), r.version(), r.state()))
}

/// Runs the server's timers from `from` to `to`, deadline by deadline,
/// and returns the IDs of the name queries for FAR it sent to A:137.
fn run(s: &mut WinsServer, from: Instant, to: Instant) -> Vec<(Instant, u16)> {
    let mut queries = Vec::new();
    let mut now = from;
    loop {
        s.handle_timeout(now);
        while let Some(t) = s.poll_transmit() {
            let Ok(p) = Packet::parse(&t.contents) else {
                continue;
            };
            if t.destination == SocketAddrV4::new(A, 137)
                && p.kind() == PacketKind::NameQueryRequest
                && p.question().is_some_and(|q| q.name.netbios == name())
            {
                queries.push((now, p.id));
            }
        }
        match s.poll_timeout() {
            Some(t) if t <= to => now = t.max(now),
            _ => break,
        }
    }
    s.handle_timeout(to);
    queries
}

fn answer(s: &mut WinsServer, now: Instant, from: SocketAddrV4, p: &Message<'_>) {
    let mut v = vec![0; p.buffer_len()];
    p.emit(&mut v).unwrap();
    s.handle_datagram(now, from, &v);
    while s.poll_transmit().is_some() {}
}

fn positive(id: u16, address: Ipv4Addr) -> Message<'static> {
    let entry = NbAddrEntry::new(NbFlags::new(false, NodeType::H), address);
    Message::positive_name_query_response(id, Name::unscoped(name()), 300, NbAddrs::one(entry))
}

/// A server holding A's active replica of FAR (version 7) from `t0`, run
/// to the verification: returns it, and the time and ID of the query.
fn verifying(t0: Instant) -> (WinsServer, Instant, u16) {
    let mut s = server(t0);
    assert_eq!(
        s.apply_replica(&replica(7, ReplState::Active), A, t0),
        ApplyOutcome::Added
    );
    let interval = Duration::from_secs(u64::from(config().verify_interval));
    assert!(run(&mut s, t0, t0 + interval - Duration::from_secs(1)).is_empty());
    assert_eq!(at(&s), Some((A, 7, RecordState::Active)));
    let queries = run(&mut s, t0, t0 + interval + Duration::from_millis(100));
    assert_eq!(queries.len(), 1, "one query to the owner: {queries:?}");
    let (when, id) = queries[0];
    (s, when, id)
}

#[test]
fn an_unrefreshed_replica_is_verified_with_its_owner_after_the_verify_interval() {
    let t0 = Instant::now();
    let (s, when, _) = verifying(t0);
    assert!(when >= t0 + Duration::from_secs(24 * DAY));
    assert_eq!(at(&s), Some((A, 7, RecordState::Active)));
    assert_eq!(s.stats().verifications, 1);
}

#[test]
fn the_owner_confirming_the_address_keeps_the_replica_another_interval() {
    let t0 = Instant::now();
    let (mut s, when, id) = verifying(t0);
    answer(&mut s, when, SocketAddrV4::new(A, 137), &positive(id, HOST));
    let later = run(&mut s, when, when + Duration::from_secs(23 * DAY));
    assert!(later.is_empty(), "{later:?}");
    assert_eq!(at(&s), Some((A, 7, RecordState::Active)));
    let again = run(
        &mut s,
        when,
        when + Duration::from_secs(24 * DAY) + Duration::from_millis(100),
    );
    assert_eq!(again.len(), 1, "asked again after another interval");
}

#[test]
fn the_owner_not_knowing_the_name_removes_the_replica() {
    let t0 = Instant::now();
    let (mut s, when, id) = verifying(t0);
    let no = Message::negative_name_query_response(id, Name::unscoped(name()), Rcode::NameError);
    answer(&mut s, when, SocketAddrV4::new(A, 137), &no);
    assert_eq!(at(&s), None);
}

#[test]
fn the_owner_holding_other_addresses_makes_the_replica_our_tombstone() {
    let t0 = Instant::now();
    let (mut s, when, id) = verifying(t0);
    let before = s.version_counter();
    answer(
        &mut s,
        when,
        SocketAddrV4::new(A, 137),
        &positive(id, Ipv4Addr::new(10, 9, 9, 6)),
    );
    let (owner, version, state) = at(&s).unwrap();
    assert_eq!((owner, state), (US, RecordState::Tombstoned));
    assert!(version > before, "a new version of ours");
    let mut out = Vec::new();
    ReplicationDb::records(&s, US, 1, u64::MAX, 10, &mut out);
    assert_eq!(out.len(), 1, "the tombstone replicates as ours");
}

#[test]
fn an_answer_from_another_address_or_port_is_not_the_owners() {
    let t0 = Instant::now();
    let (mut s, when, id) = verifying(t0);
    let no = Message::negative_name_query_response(id, Name::unscoped(name()), Rcode::NameError);
    answer(&mut s, when, SocketAddrV4::new(A, 40_000), &no);
    answer(&mut s, when, SocketAddrV4::new(HOST, 137), &no);
    let wrong_id =
        Message::negative_name_query_response(id ^ 1, Name::unscoped(name()), Rcode::NameError);
    answer(&mut s, when, SocketAddrV4::new(A, 137), &wrong_id);
    assert_eq!(at(&s), Some((A, 7, RecordState::Active)));
}

#[test]
fn a_silent_owner_leaves_the_replica_and_is_asked_again_after_the_retry() {
    let t0 = Instant::now();
    let (mut s, when, _) = verifying(t0);
    let tries = run(&mut s, when, when + Duration::from_secs(60));
    assert_eq!(
        tries.len(),
        usize::from(config().challenge_sends) - 1,
        "the remaining tries"
    );
    assert_eq!(at(&s), Some((A, 7, RecordState::Active)));
    let retry = Duration::from_secs(u64::from(VERIFY_RETRY));
    assert!(run(&mut s, when, when + retry - Duration::from_secs(60)).is_empty());
    let again = run(&mut s, when, when + retry + Duration::from_secs(60));
    assert_eq!(again.len(), usize::from(config().challenge_sends));
}

#[test]
fn a_replica_its_owner_refreshes_is_not_verified() {
    let t0 = Instant::now();
    let mut s = server(t0);
    s.apply_replica(&replica(7, ReplState::Active), A, t0);
    let t20 = t0 + Duration::from_secs(20 * DAY);
    assert!(run(&mut s, t0, t20).is_empty());
    assert_eq!(
        s.apply_replica(&replica(9, ReplState::Active), A, t20),
        ApplyOutcome::Replaced
    );
    assert!(run(&mut s, t20, t0 + Duration::from_secs(43 * DAY)).is_empty());
    let q = run(
        &mut s,
        t20,
        t20 + Duration::from_secs(24 * DAY) + Duration::from_millis(100),
    );
    assert_eq!(q.len(), 1, "verified 24 days after the refresh");
}

#[test]
fn a_replica_tombstone_goes_after_the_timeout_but_not_in_the_first_days_of_uptime() {
    let t0 = Instant::now();
    // Started just now: the tombstone outlives its timeout (1 day) until
    // the server has run for 3 days.
    let mut s = server(t0);
    s.apply_replica(&replica(7, ReplState::Tombstone), A, t0);
    run(&mut s, t0, t0 + Duration::from_secs(DAY + 60));
    assert_eq!(at(&s), Some((A, 7, RecordState::Tombstoned)));
    run(&mut s, t0, t0 + Duration::from_secs(3 * DAY - 60));
    assert_eq!(at(&s), Some((A, 7, RecordState::Tombstoned)));
    run(&mut s, t0, t0 + Duration::from_secs(3 * DAY + 60));
    assert_eq!(at(&s), None);

    // Running for 5 days already: it goes after the timeout.
    let t5 = t0 + Duration::from_secs(5 * DAY);
    let mut s = server(t0);
    run(&mut s, t0, t5);
    s.apply_replica(&replica(7, ReplState::Tombstone), A, t5);
    run(&mut s, t5, t5 + Duration::from_secs(DAY - 60));
    assert_eq!(at(&s), Some((A, 7, RecordState::Tombstoned)));
    run(&mut s, t5, t5 + Duration::from_secs(DAY + 60));
    assert_eq!(at(&s), None);
}

#[test]
fn a_restored_replica_keeps_its_verify_deadline() {
    // Stored 20 days before its verification; restored, it waits for it
    // (not the 6 days of our own records' longest TTL).
    let t0 = Instant::now();
    let mut s = server(t0);
    s.apply_replica(&replica(7, ReplState::Active), A, t0);
    let mut records = Vec::new();
    while let Some(c) = s.poll_change() {
        if let nbns::server::ChangeItem::Put { record, .. } = c.item {
            records.push(record);
        }
    }
    let t4 = t0 + Duration::from_secs(4 * DAY);
    let mut back = WinsServer::restore(config(), t4, 0, records).unwrap();
    back.enable_replication();
    let t23 = t0 + Duration::from_secs(23 * DAY);
    assert!(run(&mut back, t4, t23).is_empty());
    assert_eq!(at(&back), Some((A, 7, RecordState::Active)));
    let q = run(
        &mut back,
        t23,
        t0 + Duration::from_secs(24 * DAY) + Duration::from_millis(100),
    );
    assert_eq!(q.len(), 1);
}
