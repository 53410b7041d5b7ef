//! Durable changes of the WINS server over a simulated clock and a
//! simulated store: no answer acknowledges a change before the embedder
//! has persisted it, one commit releases many answers, the version
//! counter's mark is persisted ahead of use, and a server restored after
//! a crash (changes not persisted are lost) never hands out a version ID
//! twice.

use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use nbns::server::{
    Change, ChangeItem, Durability, EventKind, RecordKind, RecordState, RestoreError, ServerConfig,
    StoredRecord, Transmit, VERSION_BLOCK, WinsServer,
};
use nbns::wire::{
    Message, Name, NbAddrEntry, NbFlags, NetbiosName, NodeType, Packet, PacketKind, Rcode,
};

const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

fn ip(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, n)
}

fn nb(s: &str) -> NetbiosName {
    NetbiosName::new(s, 0x20).unwrap()
}

fn entry(n: u8) -> NbAddrEntry {
    NbAddrEntry::new(NbFlags::new(false, NodeType::H), ip(n))
}

fn bytes(p: &Message<'_>) -> Vec<u8> {
    let mut v = vec![0; p.buffer_len()];
    p.emit(&mut v).unwrap();
    v
}

fn config() -> ServerConfig {
    let mut c = ServerConfig::default();
    c.address = SERVER;
    c.min_ttl = 60;
    c.max_ttl = 3600;
    c.extinction_interval = 100;
    c.extinction_timeout = 50;
    c
}

/// What a store keeps: the records by name and scope, and the mark.
#[derive(Default, Clone)]
struct SimStore {
    records: BTreeMap<(NetbiosName, Box<[u8]>), StoredRecord>,
    mark: u64,
    /// Version ID -> the name it was given to, over every commit.
    given: HashMap<u64, NetbiosName>,
}

impl SimStore {
    fn apply(&mut self, batch: &[Change]) {
        for c in batch {
            match &c.item {
                ChangeItem::Put { record, .. } => {
                    assert!(
                        record.version <= self.mark,
                        "version {} used above the stored mark {}",
                        record.version,
                        self.mark
                    );
                    let first = *self.given.entry(record.version).or_insert(record.name);
                    assert_eq!(first, record.name, "version {} given twice", record.version);
                    let key = (record.name, record.scope.clone());
                    self.records.insert(key, record.clone());
                }
                ChangeItem::Remove(record) => {
                    self.records.remove(&(record.name, record.scope.clone()));
                }
                ChangeItem::VersionMark(m) => self.mark = self.mark.max(*m),
                other => panic!("unknown change {other:?}"),
            }
        }
    }
}

struct Sim {
    s: WinsServer,
    now: Instant,
    next_id: u16,
    /// Changes handed out by the server and not yet committed.
    unsaved: Vec<Change>,
    store: SimStore,
}

impl Sim {
    fn new(c: ServerConfig) -> Self {
        let now = Instant::now();
        Self {
            s: WinsServer::new(c, now),
            now,
            next_id: 100,
            unsaved: Vec::new(),
            store: SimStore::default(),
        }
    }

    fn id(&mut self) -> u16 {
        self.next_id = self.next_id.wrapping_add(1);
        self.next_id
    }

    /// Sends `p` from `10.0.0.n:40000`; returns what the server sends at
    /// once, without committing anything.
    fn send(&mut self, n: u8, p: &Message<'_>) -> Vec<Transmit> {
        let from = SocketAddrV4::new(ip(n), 40000);
        self.s.handle_datagram(self.now, from, &bytes(p));
        self.unsaved
            .extend(core::iter::from_fn(|| self.s.poll_change()));
        self.out()
    }

    fn out(&mut self) -> Vec<Transmit> {
        core::iter::from_fn(|| self.s.poll_transmit()).collect()
    }

    fn register(&mut self, n: u8, name: &str) -> Vec<Transmit> {
        let id = self.id();
        let p = Message::registration_request(id, Name::unscoped(nb(name)), 300, entry(n), false);
        self.send(n, &p)
    }

    fn query(&mut self, n: u8, name: &str) -> Vec<Transmit> {
        let id = self.id();
        self.send(
            n,
            &Message::name_query_request(id, Name::unscoped(nb(name)), false),
        )
    }

    fn release(&mut self, n: u8, name: &str) -> Vec<Transmit> {
        let id = self.id();
        let p = Message::release_request(id, Name::unscoped(nb(name)), entry(n), false);
        self.send(n, &p)
    }

    /// Commits the first `k` unsaved changes in one transaction and tells
    /// the server; returns what it then sends.
    fn commit(&mut self, k: usize) -> Vec<Transmit> {
        let batch: Vec<Change> = self.unsaved.drain(..k.min(self.unsaved.len())).collect();
        self.store.apply(&batch);
        if let Some(last) = batch.last() {
            self.s.handle_persisted(last.seq);
        }
        self.out()
    }

    fn commit_all(&mut self) -> Vec<Transmit> {
        self.commit(usize::MAX)
    }

    /// The server dies: what was not committed is lost. A new one is
    /// restored from the store.
    fn crash_and_restart(&mut self) {
        self.unsaved.clear();
        self.now += Duration::from_secs(1);
        let records = self.store.records.values().cloned();
        self.s = WinsServer::restore(config(), self.now, self.store.mark, records).unwrap();
    }
}

fn kind(t: &Transmit) -> PacketKind {
    Packet::parse(&t.contents).unwrap().kind()
}

fn rcode(t: &Transmit) -> Rcode {
    Packet::parse(&t.contents).unwrap().rcode()
}

fn id_of(t: &Transmit) -> u16 {
    Packet::parse(&t.contents).unwrap().id
}

#[test]
fn no_answer_before_the_change_is_persisted() {
    let mut sim = Sim::new(config());
    assert!(
        sim.register(2, "A").is_empty(),
        "acknowledged before durable"
    );
    // the mark comes first, then the record
    let items: Vec<_> = sim.unsaved.iter().map(|c| (c.seq, &c.item)).collect();
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0], (1, &ChangeItem::VersionMark(VERSION_BLOCK)));
    let ChangeItem::Put { event, record } = items[1].1 else {
        panic!("{items:?}")
    };
    assert_eq!(*event, EventKind::Added);
    assert_eq!(
        (record.name, record.version, record.state, record.kind),
        (nb("A"), 1, RecordState::Active, RecordKind::Unique)
    );
    assert_eq!(&*record.addresses, &[entry(2)]);
    assert_eq!(record.owner, SERVER);
    assert_eq!(record.deadline, sim.now + Duration::from_secs(300));
    assert_eq!(sim.s.unpersisted(), 2);
    // the mark alone is not enough
    assert!(sim.commit(1).is_empty());
    let t = sim.commit(1);
    assert_eq!(t.len(), 1);
    assert_eq!(kind(&t[0]), PacketKind::PositiveRegistrationResponse);
    assert_eq!(t[0].destination, SocketAddrV4::new(ip(2), 40000));
    assert_eq!(sim.s.unpersisted(), 0);
    // persisting again, or an older number, sends nothing more
    sim.s.handle_persisted(1);
    sim.s.handle_persisted(99);
    assert!(sim.out().is_empty());
}

#[test]
fn one_commit_releases_many_answers_in_order() {
    let mut sim = Sim::new(config());
    let mut ids = Vec::new();
    for i in 0..200u8 {
        assert!(sim.register(2 + i % 50, &format!("N{i}")).is_empty());
        ids.push(sim.next_id);
    }
    assert_eq!(sim.unsaved.len(), 201);
    let t = sim.commit_all();
    assert_eq!(t.len(), 200);
    assert!(
        t.iter()
            .all(|t| kind(t) == PacketKind::PositiveRegistrationResponse)
    );
    assert_eq!(t.iter().map(id_of).collect::<Vec<_>>(), ids);
}

#[test]
fn queries_and_negative_answers_are_not_held() {
    let mut sim = Sim::new(config());
    assert!(sim.register(2, "A").is_empty());
    // a query is answered at once (from memory)
    let t = sim.query(3, "NOSUCH");
    assert_eq!(kind(&t[0]), PacketKind::NegativeNameQueryResponse);
    let t = sim.query(3, "A");
    assert_eq!(kind(&t[0]), PacketKind::PositiveNameQueryResponse);
    // a refusal changes nothing: not held
    let id = sim.id();
    let group = NbAddrEntry::new(NbFlags::new(true, NodeType::H), ip(4));
    let dom = NetbiosName::new("DOM", 0x1B).unwrap();
    // DOM<1B> as a group: refused
    let p = Message::registration_request(id, Name::unscoped(dom), 300, group, false);
    sim.s
        .handle_datagram(sim.now, SocketAddrV4::new(ip(4), 40000), &bytes(&p));
    let t = sim.out();
    assert_eq!(t.len(), 1);
    assert_eq!(rcode(&t[0]), Rcode::Refused);
    assert_eq!(sim.commit_all().len(), 1);
}

#[test]
fn an_answer_that_changes_nothing_waits_only_for_its_own_record() {
    let mut sim = Sim::new(config());
    sim.register(2, "A");
    assert_eq!(sim.commit_all().len(), 1);
    // re-registration in the same second: nothing changes, answered at once
    let t = sim.register(2, "A");
    assert_eq!(t.len(), 1);
    assert!(sim.unsaved.is_empty());
    // a refresh later renews the TTL: a change, but it holds no answer
    sim.now += Duration::from_secs(10);
    let t = sim.register(2, "A");
    assert_eq!(kind(&t[0]), PacketKind::PositiveRegistrationResponse);
    assert!(matches!(
        &sim.unsaved[..],
        [Change {
            item: ChangeItem::Put {
                event: EventKind::Refreshed,
                ..
            },
            ..
        }]
    ));
    sim.commit_all();
    // B is new and not yet durable: its retransmission's answer must not
    // confirm it either; answers about A and an unknown name go at once
    assert!(sim.register(3, "B").is_empty());
    assert!(sim.register(3, "B").is_empty());
    assert_eq!(sim.register(2, "A").len(), 1);
    assert_eq!(sim.release(4, "NOSUCH").len(), 1);
    assert!(
        sim.release(4, "B").is_empty(),
        "not from B's address, yet about B"
    );
    let t = sim.commit_all();
    assert_eq!(t.len(), 3);
    assert_eq!(
        t.iter().map(kind).collect::<Vec<_>>(),
        [
            PacketKind::PositiveRegistrationResponse,
            PacketKind::PositiveRegistrationResponse,
            PacketKind::PositiveReleaseResponse
        ]
    );
    // a commit of C's change releases C's answer, not D's
    assert!(sim.register(5, "C").is_empty());
    assert!(sim.register(6, "D").is_empty());
    let t = sim.commit(1);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].destination.ip(), &ip(5));
    let t = sim.commit_all();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].destination.ip(), &ip(6));
}

#[test]
fn release_and_takeover_are_answered_once_durable() {
    let mut sim = Sim::new(config());
    sim.register(2, "A");
    sim.commit_all();
    assert!(sim.release(2, "A").is_empty());
    assert!(matches!(
        &sim.unsaved[..],
        [Change {
            item: ChangeItem::Put {
                event: EventKind::Released,
                ..
            },
            ..
        }]
    ));
    let t = sim.commit_all();
    assert_eq!(kind(&t[0]), PacketKind::PositiveReleaseResponse);

    // B held by 10.0.0.5; 10.0.0.6 claims it; 10.0.0.5 does not answer
    sim.register(5, "B");
    sim.commit_all();
    let t = sim.register(6, "B");
    assert_eq!(t.len(), 2, "WACK and challenge go out at once: {t:?}");
    assert_eq!(kind(&t[0]), PacketKind::Wack);
    let mut sent = Vec::new();
    for _ in 0..10 {
        sim.now += Duration::from_millis(500);
        sim.s.handle_timeout(sim.now);
        sim.unsaved
            .extend(core::iter::from_fn(|| sim.s.poll_change()));
        sent.extend(sim.out());
    }
    assert!(
        sent.iter().all(|t| kind(t) == PacketKind::NameQueryRequest),
        "{sent:?}"
    );
    assert_eq!(sim.s.record(nb("B"), b"").unwrap().addresses(), &[entry(6)]);
    let t = sim.commit_all();
    assert_eq!(t.len(), 1);
    assert_eq!(kind(&t[0]), PacketKind::PositiveRegistrationResponse);
    assert_eq!(t[0].destination, SocketAddrV4::new(ip(6), 40000));
}

#[test]
fn the_version_mark_is_reported_before_a_version_above_it() {
    let mut sim = Sim::new(config());
    let n = 3 * VERSION_BLOCK + 5;
    for i in 0..n {
        sim.register(2, &format!("M{i}"));
    }
    let mut mark = 0;
    let mut marks = Vec::new();
    for c in &sim.unsaved {
        match &c.item {
            ChangeItem::VersionMark(m) => {
                assert!(*m > mark);
                mark = *m;
                marks.push(*m);
            }
            ChangeItem::Put { record, .. } => assert!(record.version <= mark),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        marks,
        (1..=4).map(|k| k * VERSION_BLOCK).collect::<Vec<_>>()
    );
    assert_eq!(sim.s.version_mark(), 4 * VERSION_BLOCK);
    assert_eq!(sim.s.version_counter(), n);
    // the same in a store: SimStore::apply checks it too
    sim.commit_all();
}

/// Crash after crash, with changes lost each time: every acknowledged
/// registration is in the store with the version it was given, and no
/// version is given twice (SimStore::apply checks every commit).
#[test]
fn a_restored_server_never_reissues_a_version() {
    let mut sim = Sim::new(config());
    let mut acked: HashMap<NetbiosName, u64> = HashMap::new();
    let mut name_of_id: HashMap<u16, NetbiosName> = HashMap::new();
    let mut highest_seen = 0;
    let mut next = 0u32;
    for round in 0..6u64 {
        // registrations, some committed, then a crash loses the rest
        for _ in 0..(VERSION_BLOCK / 2 + 37 * round) {
            let name = format!("R{next}");
            next += 1;
            sim.register(2, &name);
            name_of_id.insert(sim.next_id, nb(&name));
        }
        let keep = sim.unsaved.len() * 2 / 3;
        for t in sim.commit(keep) {
            assert_eq!(kind(&t), PacketKind::PositiveRegistrationResponse);
            let name = name_of_id[&id_of(&t)];
            let v = sim.s.record(name, b"").unwrap().version();
            acked.insert(name, v);
        }
        highest_seen = highest_seen.max(sim.s.version_counter());
        sim.crash_and_restart();
        assert!(sim.s.version_counter() >= acked.values().copied().max().unwrap());
        for (name, v) in &acked {
            let r = sim.s.record(*name, b"").expect("acknowledged, then lost");
            assert_eq!(r.version(), *v);
        }
        // the first new version lies above everything acknowledged and
        // above the stored mark
        let name = format!("AFTER{round}");
        sim.register(3, &name);
        let v = sim.s.record(nb(&name), b"").unwrap().version();
        assert!(v > sim.store.mark.saturating_sub(VERSION_BLOCK));
        assert!(acked.values().all(|a| v > *a), "{v} reissued");
        sim.commit_all();
    }
    assert!(highest_seen > 3 * VERSION_BLOCK);
}

#[test]
fn ack_before_persist_answers_at_once_and_volatile_reports_nothing() {
    let mut c = config();
    c.durability = Durability::AckBeforePersist;
    let mut sim = Sim::new(c);
    assert_eq!(sim.register(2, "A").len(), 1);
    assert_eq!(sim.unsaved.len(), 2);
    let mut c = config();
    c.durability = Durability::Volatile;
    let mut sim = Sim::new(c);
    assert_eq!(sim.register(2, "A").len(), 1);
    assert!(sim.unsaved.is_empty());
    assert_eq!(sim.s.version_mark(), 0);
    assert_eq!(sim.s.version_counter(), 1);
}

#[test]
fn a_full_backlog_drops_registrations_but_answers_queries() {
    let mut c = config();
    c.max_unpersisted = 10;
    let mut sim = Sim::new(c);
    for i in 0..9 {
        assert!(sim.register(2, &format!("B{i}")).is_empty());
    }
    assert_eq!(sim.s.unpersisted(), 10);
    assert!(sim.register(2, "LATE").is_empty());
    assert!(sim.release(2, "B0").is_empty());
    assert_eq!(sim.s.stats().unpersisted_dropped, 2);
    assert!(sim.s.record(nb("LATE"), b"").is_none());
    assert_eq!(sim.query(3, "B1").len(), 1);
    // the store catches up: answers go, and the retry is taken
    assert_eq!(sim.commit_all().len(), 9);
    sim.register(2, "LATE");
    assert_eq!(sim.commit_all().len(), 1);
}

#[test]
fn restore_keeps_records_and_counts_the_time_down() {
    let mut sim = Sim::new(config());
    sim.register(2, "SHORT");
    let id = sim.id();
    let p = Message::registration_request(id, Name::unscoped(nb("LONG")), 1000, entry(3), false);
    sim.send(3, &p);
    sim.register(4, "GONE");
    sim.release(4, "GONE");
    sim.commit_all();
    let top = sim.s.version_counter();
    let mark = sim.store.mark;
    let records: Vec<StoredRecord> = sim.store.records.values().cloned().collect();

    // back 400 s later: SHORT (300 s) ran out, LONG has 600 s left, GONE's
    // extinction interval (100 s) ran out
    let later = sim.now + Duration::from_secs(400);
    let s = WinsServer::restore(config(), later, mark, records.clone()).unwrap();
    assert_eq!(s.len(), 3);
    assert_eq!(s.version_counter(), mark);
    assert!(mark >= top);
    let mut sim2 = Sim {
        s,
        now: later,
        next_id: 500,
        unsaved: Vec::new(),
        store: sim.store.clone(),
    };
    sim2.s.handle_timeout(later);
    let state = |s: &WinsServer, n: &str| s.record(nb(n), b"").unwrap().state();
    assert_eq!(state(&sim2.s, "SHORT"), RecordState::Released);
    assert_eq!(state(&sim2.s, "GONE"), RecordState::Tombstoned);
    assert_eq!(state(&sim2.s, "LONG"), RecordState::Active);
    let gone = sim2.s.record(nb("GONE"), b"").unwrap().version();
    assert!(gone > mark, "tombstoning takes a version above the mark");
    assert_eq!(
        sim2.s.record(nb("LONG"), b"").unwrap().deadline(),
        sim.now + Duration::from_secs(1000)
    );
    sim2.unsaved
        .extend(core::iter::from_fn(|| sim2.s.poll_change()));
    assert!(matches!(
        sim2.unsaved[0].item,
        ChangeItem::VersionMark(m) if m == mark + VERSION_BLOCK
    ));
    sim2.commit_all();

    // a deadline far ahead (the clock went back) is cut to the longest
    let mut far = records
        .iter()
        .find(|r| r.name == nb("LONG"))
        .unwrap()
        .clone();
    far.deadline = later + Duration::from_secs(1_000_000);
    let s = WinsServer::restore(config(), later, 0, [far.clone()]).unwrap();
    let d = s.record(far.name, b"").unwrap().deadline();
    assert_eq!(d, later + Duration::from_secs(3600));
}

#[test]
fn restore_refuses_bad_records() {
    let now = Instant::now();
    let good = StoredRecord {
        name: nb("A"),
        scope: Box::default(),
        kind: RecordKind::Unique,
        state: RecordState::Active,
        version: 7,
        owner: SERVER,
        addresses: [entry(2)].into(),
        member_owners: Box::default(),
        deadline: now,
    };
    let s = WinsServer::restore(config(), now, 3, [good.clone()]).unwrap();
    assert_eq!(s.version_counter(), 7);
    let mut zero = good.clone();
    zero.version = 0;
    let mut empty = good.clone();
    empty.addresses = Box::default();
    let mut many = good.clone();
    many.addresses = vec![entry(2); 26].into();
    let mut scope = good.clone();
    scope.scope = (*b"a..b").into();
    for bad in [zero, empty, many, scope] {
        let r = WinsServer::restore(config(), now, 0, [good.clone(), bad]);
        assert_eq!(r.err(), Some(RestoreError::BadRecord { index: 1 }));
    }
    let r = WinsServer::restore(config(), now, 0, [good.clone(), good.clone()]);
    assert_eq!(r.err(), Some(RestoreError::Duplicate { index: 1 }));
    let mut c = config();
    c.max_records = 1;
    let mut b = good.clone();
    b.name = nb("B");
    let r = WinsServer::restore(c, now, 0, [good, b]);
    assert_eq!(r.err(), Some(RestoreError::TooMany));
}
