//! Replication conversations between the crate's `Partner`s over a
//! simulated network and clock: every TCP connection is a pair of in-order
//! byte pipes, the clock jumps to the next deadline, nothing sleeps
//! (`support::repl_sim`).

mod support;

use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;
use std::time::Instant;

use nbns::winsrepl::{
    Body, Down, MemoryDb, Message, Partner, PartnerConfig, PartnerEvent, PullConfig, PushConfig,
    REPLICATION_PORT, RecordState, RecordType, Refusal, ReplicationDb, StopReason, UpdateKind,
};
use nbns::wire::NetbiosName;
use support::repl_sim::{SimNet, SimNode, handles};

const A: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 1);
const B: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 2);
const C: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 3);

fn name(s: &str) -> NetbiosName {
    NetbiosName::new(s, 0x20).unwrap()
}

fn host(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 2, 0, n)
}

/// A partner entry: pull without periodic pulls, push with a change count
/// (0: no notifications).
fn partner(ip: Ipv4Addr, pull: bool, push: Option<u64>, inform: bool) -> PartnerConfig {
    PartnerConfig {
        address: SocketAddrV4::new(ip, REPLICATION_PORT),
        pull: pull.then_some(PullConfig {
            interval: None,
            retry: Duration::from_secs(30),
        }),
        push: push.map(|change_count| PushConfig {
            change_count,
            use_inform: inform,
        }),
    }
}

type Net = SimNet<MemoryDb>;

trait NetExt {
    fn add(&mut self, ip: Ipv4Addr, db: MemoryDb, partners: Vec<PartnerConfig>) -> usize;
    fn restart(&mut self, i: usize);
    fn changed(&mut self, i: usize);
}

impl NetExt for Net {
    /// Adds a node with its database, not started.
    fn add(&mut self, ip: Ipv4Addr, db: MemoryDb, partners: Vec<PartnerConfig>) -> usize {
        self.push(SimNode::new(ip, db, partners, ()))
    }

    /// Restarts node `i` with the database it had (the store survives).
    fn restart(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let config = node.partner.config().clone();
        node.partner = Partner::new(config, &node.db, handles(Ipv4Addr::from(7)));
        node.events.clear();
    }

    /// Node `i`'s records changed.
    fn changed(&mut self, i: usize) {
        let now = self.now;
        let n = &mut self.nodes[i];
        n.partner.handle_db_changed(&n.db, now);
    }
}

fn db_with(ip: Ipv4Addr, names: &[&str]) -> MemoryDb {
    let mut db = MemoryDb::new(ip, 10_000);
    for (k, n) in names.iter().enumerate() {
        db.register(name(n), RecordType::Unique, &[host(k as u8 + 1)])
            .unwrap();
    }
    db
}

fn version_at(db: &MemoryDb, n: &str) -> Option<(Ipv4Addr, u64, RecordState)> {
    db.record(name(n)).map(|r| (r.owner, r.version, r.state()))
}

#[test]
fn two_partners_pull_on_start() {
    let mut net = Net::new();
    net.add(
        A,
        db_with(A, &["ALPHA", "BRAVO", "CHARLIE"]),
        vec![partner(B, false, Some(0), false)],
    );
    let b = net.add(
        B,
        MemoryDb::new(B, 100),
        vec![partner(A, true, None, false)],
    );
    net.run_for(Duration::from_secs(1));

    let db = &net.nodes[b].db;
    assert_eq!(version_at(db, "ALPHA"), Some((A, 1, RecordState::Active)));
    assert_eq!(version_at(db, "CHARLIE"), Some((A, 3, RecordState::Active)));
    assert_eq!(db.max_version(A), 3);
    assert_eq!(net.requests_from(B), [(A, 1, 3)]);
    assert_eq!(
        net.count(b, |e| matches!(
            e,
            PartnerEvent::PullDone { records: 3, .. }
        )),
        1
    );
    // The pull ended with a stop, and both sides closed.
    assert_eq!(net.nodes[0].partner.connections(), 0);
    assert_eq!(net.nodes[b].partner.connections(), 0);
}

#[test]
fn three_partners_replicate_through_the_middle_one() {
    // A and C are not partners of each other; B pulls from both and
    // serves both.
    let mut net = Net::new();
    net.add(
        A,
        db_with(A, &["ALPHA"]),
        vec![partner(B, false, Some(0), false)],
    );
    let b = net.add(
        B,
        db_with(B, &["BRAVO"]),
        vec![
            partner(A, true, Some(0), false),
            partner(C, true, Some(0), false),
        ],
    );
    let c = net.add(
        C,
        db_with(C, &["CHARLIE"]),
        vec![partner(B, true, Some(0), false)],
    );
    net.run_for(Duration::from_secs(1));
    // C pulled before B had A's records; its next pull gets them.
    net.restart(c);
    net.run_for(Duration::from_secs(1));

    let bdb = &net.nodes[b].db;
    assert_eq!(version_at(bdb, "ALPHA"), Some((A, 1, RecordState::Active)));
    assert_eq!(
        version_at(bdb, "CHARLIE"),
        Some((C, 1, RecordState::Active))
    );
    let cdb = &net.nodes[c].db;
    // A's record reached C through B, still owned by A with A's version.
    assert_eq!(version_at(cdb, "ALPHA"), Some((A, 1, RecordState::Active)));
    assert_eq!(version_at(cdb, "BRAVO"), Some((B, 1, RecordState::Active)));
    assert_eq!(cdb.max_version(A), 1);
    // A never heard of C, and nobody pulled its own records back.
    assert!(net.nodes[0].db.record(name("CHARLIE")).is_none());
    assert!(net.requests_from(C).iter().all(|r| r.0 != C));
}

fn pushing_pair(inform: bool) -> Net {
    let mut net = Net::new();
    net.add(
        A,
        db_with(A, &["ALPHA"]),
        vec![partner(B, false, Some(1), inform)],
    );
    net.add(
        B,
        MemoryDb::new(B, 100),
        vec![partner(A, true, Some(0), false)],
    );
    net.run_for(Duration::from_secs(1));
    net
}

#[test]
fn an_update_notification_triggers_a_pull_on_the_same_stream() {
    let mut net = pushing_pair(false);
    assert_eq!(
        version_at(&net.nodes[1].db, "ALPHA"),
        Some((A, 1, RecordState::Active))
    );
    let pulls_before = net.requests_from(B).len();
    net.nodes[0]
        .db
        .register(name("NEWHOST"), RecordType::Unique, &[host(9)]);
    net.changed(0);
    net.run_for(Duration::from_secs(1));
    assert_eq!(
        version_at(&net.nodes[1].db, "NEWHOST"),
        Some((A, 2, RecordState::Active))
    );
    // B asked for version 2 only, after A's UPDATE, on A's connection.
    let requests = net.requests_from(B);
    assert_eq!(requests.last(), Some(&(A, 2, 2)));
    assert_eq!(requests.len(), pulls_before + 1);
    assert!(net.nodes[1].events.iter().any(|e| matches!(
        e,
        PartnerEvent::NotificationReceived {
            partner: A,
            kind: UpdateKind::Update
        }
    )));
    let reversed = net.nodes[1].events.iter().any(|e| {
        matches!(
            e,
            PartnerEvent::AssociationUp {
                initiator: false,
                ..
            }
        )
    });
    assert!(reversed, "B pulled on the stream A opened");
}

#[test]
fn an_inform_triggers_a_pull_over_our_own_association() {
    let mut net = pushing_pair(true);
    net.nodes[0]
        .db
        .register(name("NEWHOST"), RecordType::Unique, &[host(9)]);
    net.changed(0);
    net.run_for(Duration::from_secs(1));
    assert_eq!(
        version_at(&net.nodes[1].db, "NEWHOST"),
        Some((A, 2, RecordState::Active))
    );
    assert!(net.nodes[1].events.iter().any(|e| matches!(
        e,
        PartnerEvent::NotificationReceived {
            kind: UpdateKind::Inform,
            ..
        }
    )));
    // Seeded with the INFORM's map: no owner-version map request.
    let table_queries = net
        .seen
        .iter()
        .filter(|s| s.from == B)
        .filter(|s| matches!(Message::parse(&s.bytes).unwrap().body, Body::TableQuery))
        .count();
    assert_eq!(table_queries, 1, "only the pull at start asked for the map");
}

/// A host's three names at A, pushed to B with `change_count`; then
/// `nbtstat -RR` (release and register again each name, 1 ms apart).
/// Returns the notifications A sent at start and after the -RR.
fn rr_notifications(change_count: u64) -> (usize, usize) {
    let mut net = Net::new();
    let mut db = MemoryDb::new(A, 100);
    for n in ["HOST", "HOSTSRV", "HOSTMSG"] {
        db.register(name(n), RecordType::Unique, &[host(5)]);
    }
    net.add(A, db, vec![partner(B, false, Some(change_count), false)]);
    net.add(
        B,
        MemoryDb::new(B, 100),
        vec![partner(A, true, None, false)],
    );
    net.run_for(Duration::from_secs(1));
    let sent = |net: &Net| net.count(0, |e| matches!(e, PartnerEvent::NotificationSent { .. }));
    let at_start = sent(&net);
    for n in ["HOST", "HOSTSRV", "HOSTMSG"] {
        assert!(net.nodes[0].db.release(name(n)));
        net.nodes[0]
            .db
            .register(name(n), RecordType::Unique, &[host(5)]);
        net.changed(0);
        net.run_for(Duration::from_millis(1));
    }
    net.run_for(Duration::from_secs(2));
    for (n, v) in [("HOST", 4), ("HOSTSRV", 5), ("HOSTMSG", 6)] {
        assert_eq!(
            version_at(&net.nodes[1].db, n),
            Some((A, v, RecordState::Active))
        );
    }
    assert_eq!(net.requests_from(B).last(), Some(&(A, 4, 6)));
    (at_start, sent(&net) - at_start)
}

#[test]
fn rr_of_a_hosts_names_sends_one_notification() {
    // Change count 3: the counter reached it at start (a notification
    // then), and the -RR's three new versions make one more.
    assert_eq!(rr_notifications(3), (1, 1));
}

#[test]
fn rr_changes_within_the_notify_delay_are_one_notification() {
    // Change count 1: each change would notify; the three within the
    // notify delay go out as one.
    assert_eq!(rr_notifications(1), (1, 1));
}

#[test]
fn a_tombstone_propagates_through_two_hops() {
    let mut net = Net::new();
    net.add(
        A,
        db_with(A, &["GONE", "STAYS"]),
        vec![partner(B, false, Some(1), false)],
    );
    let b = net.add(
        B,
        MemoryDb::new(B, 100),
        vec![
            partner(A, true, None, false),
            partner(C, false, Some(1), false),
        ],
    );
    let c = net.add(
        C,
        MemoryDb::new(C, 100),
        vec![partner(B, true, None, false)],
    );
    net.run_for(Duration::from_secs(1));
    // C pulled at start, maybe before B had anything; pull again.
    net.restart(c);
    net.run_for(Duration::from_secs(1));
    assert_eq!(
        version_at(&net.nodes[c].db, "GONE"),
        Some((A, 1, RecordState::Active))
    );

    assert!(net.nodes[0].db.tombstone(name("GONE")));
    net.changed(0);
    net.run_for(Duration::from_secs(1));
    assert_eq!(
        version_at(&net.nodes[b].db, "GONE"),
        Some((A, 3, RecordState::Tombstone))
    );
    // B's own counter did not move: it holds A's tombstone, so it does not
    // notify C by itself; C's next pull brings it.
    net.restart(c);
    net.run_for(Duration::from_secs(1));
    assert_eq!(
        version_at(&net.nodes[c].db, "GONE"),
        Some((A, 3, RecordState::Tombstone))
    );
    assert_eq!(
        version_at(&net.nodes[c].db, "STAYS"),
        Some((A, 2, RecordState::Active))
    );
}

#[test]
fn a_restarted_partner_pulls_only_the_new_records() {
    let mut net = Net::new();
    net.add(
        A,
        db_with(A, &["ONE", "TWO", "THREE"]),
        vec![partner(B, false, Some(0), false)],
    );
    let b = net.add(
        B,
        MemoryDb::new(B, 100),
        vec![partner(A, true, None, false)],
    );
    net.run_for(Duration::from_secs(1));
    assert_eq!(net.requests_from(B), [(A, 1, 3)]);

    // B goes down; A gets two more records; B comes back with its store.
    net.nodes[b].up = false;
    net.nodes[0]
        .db
        .register(name("FOUR"), RecordType::Unique, &[host(4)]);
    net.nodes[0]
        .db
        .register(name("FIVE"), RecordType::Unique, &[host(5)]);
    net.nodes[b].up = true;
    net.restart(b);
    net.run_for(Duration::from_secs(1));
    assert_eq!(net.requests_from(B), [(A, 1, 3), (A, 4, 5)]);
    let served: Vec<usize> = net.nodes[0]
        .events
        .iter()
        .filter_map(|e| match e {
            PartnerEvent::Served { records, .. } => Some(*records),
            _ => None,
        })
        .collect();
    assert_eq!(served, [3, 2]);
    assert_eq!(
        version_at(&net.nodes[b].db, "FIVE"),
        Some((A, 5, RecordState::Active))
    );
}

#[test]
fn pulls_ask_only_above_the_known_version() {
    // B already holds A's versions up to 5 (from an earlier pull); A's
    // map says 8: B asks for 6..=8, and nothing for owners it is current
    // with.
    let mut adb = MemoryDb::new(A, 100);
    for k in 1..=8u8 {
        adb.register(name(&format!("N{k}")), RecordType::Unique, &[host(k)]);
    }
    let mut bdb = MemoryDb::new(B, 100);
    bdb.pulled(A, 5, Instant::now());
    bdb.register(name("MINE"), RecordType::Unique, &[host(99)]);
    let mut net = Net::new();
    net.add(A, adb, vec![partner(B, true, Some(0), false)]);
    let b = net.add(B, bdb, vec![partner(A, true, Some(0), false)]);
    net.run_for(Duration::from_secs(1));
    assert_eq!(net.requests_from(B), [(A, 6, 8)]);
    assert!(net.nodes[b].db.record(name("N5")).is_none());
    assert!(net.nodes[b].db.record(name("N6")).is_some());
    // A pulled B's record, and asked for nothing of its own.
    assert_eq!(net.requests_from(A), [(B, 1, 1)]);
}

#[test]
fn a_non_partner_is_refused() {
    let mut net = Net::new();
    // A lists only B; C thinks A is its partner.
    let a = net.add(
        A,
        db_with(A, &["SECRET"]),
        vec![partner(B, true, Some(0), false)],
    );
    let c = net.add(
        C,
        MemoryDb::new(C, 100),
        vec![partner(A, true, Some(1), false)],
    );
    net.run_for(Duration::from_secs(1));
    assert!(net.nodes[c].db.record(name("SECRET")).is_none());
    assert!(net.nodes[a].events.iter().any(|e| matches!(
        e,
        PartnerEvent::Refused {
            reason: Refusal::NonPartner,
            ..
        }
    )));
    // C's association was stopped with reason 4 (as Samba does).
    assert!(net.nodes[c].events.iter().any(|e| matches!(
        e,
        PartnerEvent::AssociationDown {
            why: Down::Stopped(StopReason::Error),
            ..
        }
    )));
    assert_eq!(net.nodes[a].partner.connections(), 0);
}

#[test]
fn a_connection_cut_mid_message_is_retried() {
    let mut net = Net::new();
    net.cut = Some(|m| matches!(m.body, Body::SendReply(_)));
    net.add(
        A,
        db_with(A, &["ALPHA", "BRAVO"]),
        vec![partner(B, false, Some(0), false)],
    );
    let b = net.add(
        B,
        MemoryDb::new(B, 100),
        vec![partner(A, true, None, false)],
    );
    net.run_for(Duration::from_secs(1));
    assert!(net.nodes[b].db.is_empty(), "half a reply applies nothing");
    assert_eq!(net.nodes[b].db.max_version(A), 0);
    assert!(net.nodes[b].events.iter().any(|e| matches!(
        e,
        PartnerEvent::AssociationDown {
            why: Down::Closed { clean: false },
            ..
        }
    )));
    // The retry after pullRetryInterval gets everything.
    net.run_for(Duration::from_secs(31));
    assert_eq!(
        version_at(&net.nodes[b].db, "BRAVO"),
        Some((A, 2, RecordState::Active))
    );
    assert_eq!(net.requests_from(B), [(A, 1, 2), (A, 1, 2)]);
}

#[test]
fn periodic_pulls_follow_the_interval() {
    let mut net = Net::new();
    net.add(
        A,
        db_with(A, &["ALPHA"]),
        vec![partner(B, false, Some(0), false)],
    );
    let mut cfg = partner(A, true, None, false);
    cfg.pull = Some(PullConfig {
        interval: Some(Duration::from_secs(600)),
        retry: Duration::from_secs(30),
    });
    let b = net.add(B, MemoryDb::new(B, 100), vec![cfg]);
    net.run_for(Duration::from_secs(1));
    net.nodes[0]
        .db
        .register(name("LATER"), RecordType::Unique, &[host(2)]);
    net.run_for(Duration::from_secs(598));
    assert!(net.nodes[b].db.record(name("LATER")).is_none());
    net.run_for(Duration::from_secs(2));
    assert_eq!(
        version_at(&net.nodes[b].db, "LATER"),
        Some((A, 2, RecordState::Active))
    );
}

#[test]
fn a_failed_notification_is_retried_once() {
    let mut net = Net::new();
    net.add(
        A,
        db_with(A, &["ALPHA"]),
        vec![partner(B, false, Some(1), false)],
    );
    let b = net.add(
        B,
        MemoryDb::new(B, 100),
        vec![partner(A, true, None, false)],
    );
    net.run_for(Duration::from_secs(1));
    let failed = |net: &Net| net.count(0, |e| matches!(e, PartnerEvent::ConnectFailed { .. }));

    // B is down when A's record changes; it is back before the retry.
    net.nodes[b].up = false;
    net.nodes[0]
        .db
        .register(name("NEWHOST"), RecordType::Unique, &[host(9)]);
    net.changed(0);
    net.run_for(Duration::from_secs(1));
    assert_eq!(failed(&net), 1);
    net.nodes[b].up = true;
    net.run_for(Duration::from_secs(30));
    assert_eq!(
        version_at(&net.nodes[b].db, "NEWHOST"),
        Some((A, 2, RecordState::Active))
    );

    // Down for both tries: dropped until the next change.
    net.nodes[b].up = false;
    net.nodes[0]
        .db
        .register(name("LATER"), RecordType::Unique, &[host(8)]);
    net.changed(0);
    net.run_for(Duration::from_secs(600));
    assert_eq!(failed(&net), 3);
    net.nodes[b].up = true;
    net.run_for(Duration::from_secs(600));
    assert!(net.nodes[b].db.record(name("LATER")).is_none());
    net.nodes[0]
        .db
        .register(name("LATEST"), RecordType::Unique, &[host(7)]);
    net.changed(0);
    net.run_for(Duration::from_secs(1));
    assert!(
        net.nodes[b].db.record(name("LATER")).is_some(),
        "the next notification brings both"
    );
    assert!(net.nodes[b].db.record(name("LATEST")).is_some());
}
