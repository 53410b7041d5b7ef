//! The owners of the members of special group (0x1C) and multihomed
//! replicas at the crate's `WinsServer`: each address keeps its own owner
//! (MS-WINSRA 2.2.10.1.1.1) through apply, merge, serving, a local
//! registration and a restart from the store's records.

use core::net::{Ipv4Addr, SocketAddrV4};
use std::time::Instant;

use nbns::server::{ChangeItem, ServerConfig, StoredRecord, WinsServer};
use nbns::winsrepl::{
    ApplyOutcome, Member, RecordFlags, RecordState, RecordType, Replica, ReplicaAddresses,
    ReplicationDb,
};
use nbns::wire::{Message, Name, NbAddrEntry, NbFlags, NetbiosName, NodeType};

const US: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// Other owners (smbtorture's fake owners A, B and X).
const A: Ipv4Addr = Ipv4Addr::new(127, 65, 65, 1);
const B: Ipv4Addr = Ipv4Addr::new(127, 66, 66, 1);
const X: Ipv4Addr = Ipv4Addr::new(127, 88, 88, 1);

fn ip(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 9, 9, n)
}

fn m(owner: Ipv4Addr, n: u8) -> Member {
    Member {
        owner,
        address: ip(n),
    }
}

fn server() -> WinsServer {
    let mut c = ServerConfig::default();
    c.address = US;
    let mut s = WinsServer::new(c, Instant::now());
    s.enable_replication();
    s
}

fn replica(n: &str, t: RecordType, owner: Ipv4Addr, version: u64, members: Vec<Member>) -> Replica {
    Replica {
        name: NetbiosName::new(
            n,
            if t == RecordType::SpecialGroup {
                0x1C
            } else {
                0
            },
        )
        .unwrap(),
        scope: Vec::new(),
        flags: RecordFlags::new(t, RecordState::Active, NodeType::H),
        version,
        owner,
        addresses: ReplicaAddresses::List(members),
    }
}

/// A's special group DOM<1C>, version 5, with a member of A and one of X.
fn dom_of_a() -> Replica {
    replica(
        "DOM",
        RecordType::SpecialGroup,
        A,
        5,
        vec![m(A, 1), m(X, 2)],
    )
}

/// What the server serves of `owner`'s records: (name, members).
fn served(s: &WinsServer, owner: Ipv4Addr) -> Vec<(NetbiosName, Vec<Member>)> {
    let mut out = Vec::new();
    ReplicationDb::records(s, owner, 1, u64::MAX, 100, &mut out);
    out.iter().map(|r| (r.name, r.members().to_vec())).collect()
}

fn members_of(s: &WinsServer, owner: Ipv4Addr, n: &str) -> Vec<Member> {
    served(s, owner)
        .into_iter()
        .find(|(name, _)| name.as_bytes()[..n.len()] == *n.as_bytes())
        .unwrap_or_else(|| panic!("{owner} serves no {n}"))
        .1
}

#[test]
fn a_special_group_replica_is_served_with_each_members_owner() {
    let mut s = server();
    let r = dom_of_a();
    assert_eq!(s.apply_replica(&r, A, Instant::now()), ApplyOutcome::Added);
    assert_eq!(members_of(&s, A, "DOM"), [m(A, 1), m(X, 2)]);
}

#[test]
fn a_multihomed_replica_is_served_with_each_members_owner() {
    let mut s = server();
    let r = replica("HOST", RecordType::Multihomed, A, 3, vec![m(X, 4), m(A, 5)]);
    assert_eq!(s.apply_replica(&r, A, Instant::now()), ApplyOutcome::Added);
    assert_eq!(members_of(&s, A, "HOST"), [m(X, 4), m(A, 5)]);
}

#[test]
fn a_special_group_merge_keeps_each_members_owner() {
    // A's group lists a member of X; B's adds one of its own. The merge
    // (reference e.5) drops none of A's (B is the owner pulled), adds B's,
    // and is a pure superset: we take it over with a version of ours, and
    // every member keeps its owner.
    let mut s = server();
    let now = Instant::now();
    let first = dom_of_a();
    s.apply_replica(&first, A, now);
    let second = replica("DOM", RecordType::SpecialGroup, B, 9, vec![m(B, 3)]);
    assert_eq!(s.apply_replica(&second, B, now), ApplyOutcome::Merged);
    assert_eq!(members_of(&s, US, "DOM"), [m(A, 1), m(X, 2), m(B, 3)]);
}

#[test]
fn a_registration_into_a_replica_group_is_ours_and_the_others_keep_theirs() {
    let mut s = server();
    let now = Instant::now();
    let r = dom_of_a();
    s.apply_replica(&r, A, now);
    let entry = NbAddrEntry::new(NbFlags::new(true, NodeType::H), ip(7));
    let name = NetbiosName::new("DOM", 0x1C).unwrap();
    let p = Message::registration_request(1, Name::unscoped(name), 300, entry, false);
    let mut bytes = vec![0; p.buffer_len()];
    p.emit(&mut bytes).unwrap();
    s.handle_datagram(now, SocketAddrV4::new(ip(7), 137), &bytes);
    assert_eq!(members_of(&s, US, "DOM"), [m(A, 1), m(X, 2), m(US, 7)]);
    assert!(served(&s, A).is_empty(), "the record is ours now");
}

#[test]
fn member_owners_survive_a_restart_from_the_stored_records() {
    let mut s = server();
    let now = Instant::now();
    let r = dom_of_a();
    s.apply_replica(&r, A, now);
    let plain = replica(
        "PLAIN",
        RecordType::Multihomed,
        B,
        2,
        vec![m(B, 3), m(B, 4)],
    );
    s.apply_replica(&plain, B, now);
    let mut records: Vec<StoredRecord> = Vec::new();
    while let Some(c) = s.poll_change() {
        if let ChangeItem::Put { record, .. } = c.item {
            records.retain(|r| r.name != record.name);
            records.push(record);
        }
    }
    let dom = records.iter().find(|r| r.owner == A).unwrap();
    assert_eq!(*dom.member_owners, [A, X]);
    let all_b = records.iter().find(|r| r.owner == B).unwrap();
    assert!(all_b.member_owners.is_empty(), "one owner: nothing extra");
    let mut c = ServerConfig::default();
    c.address = US;
    let mut back = WinsServer::restore(c, now, 0, records).unwrap();
    back.enable_replication();
    assert_eq!(members_of(&back, A, "DOM"), [m(A, 1), m(X, 2)]);
    assert_eq!(members_of(&back, B, "PLAIN"), [m(B, 3), m(B, 4)]);
}
