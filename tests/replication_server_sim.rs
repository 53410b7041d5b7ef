//! The crate's WINS servers as replication partners of each other, over a
//! simulated network, clock and store: `WinsServer` is the
//! `ReplicationDb` of a `Partner`, names are registered over (simulated)
//! UDP 137, replicas travel over simulated TCP 42, and a store keeps what
//! was committed, so that a crash loses exactly what was not.

mod support;

use core::net::{Ipv4Addr, SocketAddrV4};
use core::ops::{Deref, DerefMut};
use core::time::Duration;
use std::collections::BTreeMap;
use std::time::Instant;

use nbns::server::{
    Change, ChangeItem, RecordState, ServerConfig, StoredRecord, Transmit, WinsServer,
};
use nbns::winsrepl::{
    Partner, PartnerConfig, PartnerEvent, PullConfig, PushConfig, REPLICATION_PORT,
    ReplicationConfig, ReplicationDb,
};
use nbns::wire::{
    Message, Name, NbAddrEntry, NbAddrs, NbFlags, NetbiosName, NodeType, Packet, PacketKind,
};
use support::repl_sim::{Hooks, SimNet, SimNode, handles};

const A: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 1);
const B: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 2);
const C: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 3);

fn nb(s: &str) -> NetbiosName {
    NetbiosName::new(s, 0x20).unwrap()
}

fn host(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 2, 0, n)
}

fn entry(n: u8) -> NbAddrEntry {
    NbAddrEntry::new(NbFlags::new(false, NodeType::H), host(n))
}

fn bytes(p: &Message<'_>) -> Vec<u8> {
    let mut v = vec![0; p.buffer_len()];
    p.emit(&mut v).unwrap();
    v
}

fn server_config(ip: Ipv4Addr) -> ServerConfig {
    let mut c = ServerConfig::default();
    c.address = ip;
    c
}

/// Push (notify after `changes` of our changes) and pull, no periodic pull.
fn partner(ip: Ipv4Addr, changes: u64) -> PartnerConfig {
    PartnerConfig {
        address: SocketAddrV4::new(ip, REPLICATION_PORT),
        pull: Some(PullConfig {
            interval: None,
            retry: Duration::from_secs(30),
        }),
        push: Some(PushConfig {
            change_count: changes,
            use_inform: false,
        }),
    }
}

/// What a store keeps of one server.
#[derive(Default, Clone)]
struct SimStore {
    records: BTreeMap<(NetbiosName, Box<[u8]>), StoredRecord>,
    mark: u64,
    owners: BTreeMap<Ipv4Addr, u64>,
}

impl SimStore {
    fn apply(&mut self, c: &Change) {
        match &c.item {
            ChangeItem::Put { record, .. } => {
                self.records
                    .insert((record.name, record.scope.clone()), record.clone());
            }
            ChangeItem::Remove(record) => {
                self.records.remove(&(record.name, record.scope.clone()));
            }
            ChangeItem::VersionMark(m) => self.mark = self.mark.max(*m),
            ChangeItem::OwnerVersion { owner, version } => {
                let v = self.owners.entry(*owner).or_default();
                *v = (*v).max(*version);
            }
            _ => {}
        }
    }
}

/// What a server host keeps besides its `WinsServer` and `Partner`.
struct Host {
    us: Ipv4Addr,
    store: SimStore,
    unsaved: Vec<Change>,
    /// Commit after every step (else changes wait for the next crash).
    auto_commit: bool,
    partners: Vec<PartnerConfig>,
    /// Datagrams the server sent.
    udp: Vec<Transmit>,
}

impl Hooks<WinsServer> for Host {
    fn before_drain(
        &mut self,
        server: &mut WinsServer,
        partner: &mut Partner,
        now: Instant,
    ) -> bool {
        self.unsaved
            .extend(core::iter::from_fn(|| server.poll_change()));
        if self.auto_commit {
            self.commit(server, partner, now);
        }
        let mut moved = false;
        while let Some(t) = server.poll_transmit() {
            moved = true;
            self.udp.push(t);
        }
        moved
    }
    fn poll_timeout(&self, server: &WinsServer) -> Option<Instant> {
        server.poll_timeout()
    }
    fn handle_timeout(&mut self, server: &mut WinsServer, now: Instant) {
        server.handle_timeout(now);
    }
}

impl Host {
    /// Commits the waiting changes; after our own records changed, tells
    /// the partner.
    fn commit(&mut self, server: &mut WinsServer, partner: &mut Partner, now: Instant) {
        let Some(last) = self.unsaved.last().map(|c| c.seq) else {
            return;
        };
        let us = self.us;
        let ours = self.unsaved.iter().any(|c| match &c.item {
            ChangeItem::Put { record, .. } => record.owner == us,
            _ => false,
        });
        for c in self.unsaved.drain(..) {
            self.store.apply(&c);
        }
        server.handle_persisted(last);
        if ours {
            partner.handle_db_changed(server, now);
        }
    }
}

/// The simulated network of servers, and the NBNS transaction IDs of the
/// hosts registering at them.
struct Net {
    sim: SimNet<WinsServer, Host>,
    next_id: u16,
}

impl Deref for Net {
    type Target = SimNet<WinsServer, Host>;
    fn deref(&self) -> &SimNet<WinsServer, Host> {
        &self.sim
    }
}

impl DerefMut for Net {
    fn deref_mut(&mut self) -> &mut SimNet<WinsServer, Host> {
        &mut self.sim
    }
}

impl Net {
    fn new() -> Self {
        Self {
            sim: SimNet::new(),
            next_id: 0,
        }
    }

    fn add(&mut self, ip: Ipv4Addr, partners: Vec<PartnerConfig>) -> usize {
        let mut server = WinsServer::new(server_config(ip), self.now);
        server.enable_replication();
        let host = Host {
            us: ip,
            store: SimStore::default(),
            unsaved: Vec::new(),
            auto_commit: true,
            partners: partners.clone(),
            udp: Vec::new(),
        };
        self.push(SimNode::new(ip, server, partners, host))
    }

    /// Node `i` stops (its connections break), losing what it had not
    /// committed, and starts again from its store.
    fn crash_and_restart(&mut self, i: usize) {
        let now = self.now;
        self.disconnect(i);
        let n = &mut self.nodes[i];
        n.ext.unsaved.clear();
        let records: Vec<StoredRecord> = n.ext.store.records.values().cloned().collect();
        let mut server =
            WinsServer::restore(server_config(n.ip), now, n.ext.store.mark, records).unwrap();
        server.restore_owner_map(n.ext.store.owners.iter().map(|(o, v)| (*o, *v)));
        server.enable_replication();
        n.partner = Partner::new(
            ReplicationConfig::new(n.ip, n.ext.partners.clone()),
            &server,
            handles(n.ip),
        );
        n.db = server;
        n.events.clear();
    }

    /// Name Records Requests seen: (sender, owner, min, max).
    fn requests(&self) -> Vec<(Ipv4Addr, Ipv4Addr, u64, u64)> {
        self.nodes
            .iter()
            .flat_map(|n| {
                self.requests_from(n.ip)
                    .into_iter()
                    .map(|(o, min, max)| (n.ip, o, min, max))
            })
            .collect()
    }

    fn datagram(&mut self, i: usize, from: SocketAddrV4, p: &Message<'_>) {
        let now = self.now;
        self.nodes[i].db.handle_datagram(now, from, &bytes(p));
        self.settle();
    }

    fn id(&mut self) -> u16 {
        self.next_id = self.next_id.wrapping_add(1);
        self.next_id
    }

    /// Host `h` registers `name` at node `i`.
    fn register(&mut self, i: usize, h: u8, name: &str) {
        let id = self.id();
        let p = Message::registration_request(id, Name::unscoped(nb(name)), 300, entry(h), false);
        self.datagram(i, SocketAddrV4::new(host(h), 137), &p);
    }

    /// Host `h` releases `name` at node `i`.
    fn release(&mut self, i: usize, h: u8, name: &str) {
        let id = self.id();
        let p = Message::release_request(id, Name::unscoped(nb(name)), entry(h), false);
        self.datagram(i, SocketAddrV4::new(host(h), 137), &p);
    }

    fn at(&self, i: usize, name: &str) -> Option<(Ipv4Addr, u64, RecordState)> {
        let r = self.nodes[i].db.record(nb(name), b"")?;
        Some((r.owner(), r.version(), r.state()))
    }

    fn notifications(&self, i: usize) -> usize {
        self.nodes[i]
            .events
            .iter()
            .filter(|e| matches!(e, PartnerEvent::NotificationSent { .. }))
            .count()
    }

    /// The name queries the servers sent to host `h` (challenges).
    fn queries_to(&self, h: u8) -> Vec<(u16, NetbiosName)> {
        self.nodes
            .iter()
            .flat_map(|n| &n.ext.udp)
            .filter(|t| *t.destination.ip() == host(h))
            .filter_map(|t| {
                let p = Packet::parse(&t.contents).ok()?;
                (p.kind() == PacketKind::NameQueryRequest)
                    .then(|| (p.id, p.question().unwrap().name.netbios))
            })
            .collect()
    }
}

/// A and B, each push (after one change) and pull partner of the other.
fn pair() -> (Net, usize, usize) {
    let mut net = Net::new();
    let a = net.add(A, vec![partner(B, 1)]);
    let b = net.add(B, vec![partner(A, 1)]);
    net.run_for(Duration::from_secs(1));
    (net, a, b)
}

#[test]
fn a_registration_at_a_appears_at_b_with_a_as_owner_and_its_version() {
    let (mut net, a, b) = pair();
    net.register(a, 5, "HOST");
    let (owner, version, state) = net.at(a, "HOST").unwrap();
    assert_eq!((owner, state), (A, RecordState::Active));
    net.run_for(Duration::from_secs(1));
    assert_eq!(net.at(b, "HOST"), Some((A, version, RecordState::Active)));
    assert_eq!(net.nodes[b].db.max_version(A), version);
    // B serves the replica with A's owner and version, and never counts
    // it as its own.
    assert_eq!(net.nodes[b].db.version_counter(), 0);
    let mut out = Vec::new();
    assert_eq!(
        ReplicationDb::records(&net.nodes[b].db, A, 1, 100, 10, &mut out),
        1
    );
    assert_eq!((out[0].owner, out[0].version), (A, version));
}

#[test]
fn release_and_register_again_raises_the_version_at_b_after_one_notification() {
    let (mut net, a, b) = pair();
    for n in ["HOST", "HOST2", "HOST3"] {
        net.register(a, 5, n);
    }
    net.run_for(Duration::from_secs(1));
    let before: Vec<u64> = ["HOST", "HOST2", "HOST3"]
        .iter()
        .map(|n| net.at(b, n).unwrap().1)
        .collect();
    let sent = net.notifications(a);
    // nbtstat -RR: every name released, then registered again, at once.
    for n in ["HOST", "HOST2", "HOST3"] {
        net.release(a, 5, n);
    }
    for n in ["HOST", "HOST2", "HOST3"] {
        net.register(a, 5, n);
    }
    net.run_for(Duration::from_secs(1));
    assert_eq!(net.notifications(a) - sent, 1, "one notification for -RR");
    for (n, old) in ["HOST", "HOST2", "HOST3"].iter().zip(before) {
        let at_a = net.at(a, n).unwrap();
        assert!(at_a.1 > old);
        assert_eq!(net.at(b, n), Some(at_a), "{n}");
    }
}

#[test]
fn a_tombstone_propagates() {
    let (mut net, a, b) = pair();
    net.register(a, 5, "GONE");
    net.run_for(Duration::from_secs(1));
    net.release(a, 5, "GONE");
    // The released record does not replicate; after the extinction
    // interval it becomes a tombstone with a new version, which does.
    let ext = u64::from(net.nodes[a].db.config().extinction_interval);
    net.run_for(Duration::from_secs(ext + 2));
    let (owner, version, state) = net.at(a, "GONE").unwrap();
    assert_eq!((owner, state), (A, RecordState::Tombstoned));
    assert_eq!(
        net.at(b, "GONE"),
        Some((A, version, RecordState::Tombstoned))
    );
}

#[test]
fn three_servers_chain_a_record_with_its_owner() {
    let mut net = Net::new();
    let a = net.add(A, vec![partner(B, 1)]);
    net.add(B, vec![partner(A, 1), partner(C, 1)]);
    let c = net.add(C, vec![partner(B, 1)]);
    net.run_for(Duration::from_secs(1));
    net.register(a, 5, "FAR");
    let v = net.at(a, "FAR").unwrap().1;
    // B pulls on A's notification; C pulls from B on start or interval:
    // here on the next start of its pull, so restart C's partner.
    net.run_for(Duration::from_secs(1));
    net.crash_and_restart(c);
    net.run_for(Duration::from_secs(1));
    assert_eq!(net.at(c, "FAR"), Some((A, v, RecordState::Active)));
}

#[test]
fn a_replica_replaces_our_released_record() {
    let (mut net, a, b) = pair();
    net.register(b, 6, "SHARED");
    net.release(b, 6, "SHARED");
    net.run_for(Duration::from_secs(1));
    assert_eq!(net.at(b, "SHARED").unwrap().2, RecordState::Released);
    net.register(a, 5, "SHARED");
    let v = net.at(a, "SHARED").unwrap().1;
    net.run_for(Duration::from_secs(1));
    assert_eq!(net.at(b, "SHARED"), Some((A, v, RecordState::Active)));
}

/// B holds SHARED for host 6; A registers it for host 5; B challenges
/// host 6 when the replica arrives.
fn conflict() -> (Net, usize, usize, u64) {
    let (mut net, a, b) = pair();
    net.register(b, 6, "SHARED");
    let ours = net.at(b, "SHARED").unwrap().1;
    net.nodes[b].partner = Partner::new(
        ReplicationConfig::new(B, vec![partner(A, 0)]),
        &net.nodes[b].db,
        handles(B),
    );
    net.register(a, 5, "SHARED");
    net.run_for(Duration::from_millis(300));
    assert_eq!(net.nodes[b].db.replica_challenges(), 1);
    assert_eq!(net.queries_to(6).len(), 1, "a name query to the holder");
    assert_eq!(net.at(b, "SHARED"), Some((B, ours, RecordState::Active)));
    (net, a, b, ours)
}

#[test]
fn our_active_record_is_kept_when_its_holder_answers_the_challenge() {
    let (mut net, _a, b, ours) = conflict();
    let (id, name) = net.queries_to(6)[0];
    let answer = Message::positive_name_query_response(
        id,
        Name::unscoped(name),
        300,
        NbAddrs::one(entry(6)),
    );
    // From another port: not the challenge's answer.
    net.datagram(b, SocketAddrV4::new(host(6), 40000), &answer);
    assert_eq!(net.nodes[b].db.replica_challenges(), 1);
    net.datagram(b, SocketAddrV4::new(host(6), 137), &answer);
    assert_eq!(net.nodes[b].db.replica_challenges(), 0);
    net.run_for(Duration::from_secs(10));
    assert_eq!(net.at(b, "SHARED"), Some((B, ours, RecordState::Active)));
}

#[test]
fn our_active_record_is_taken_over_when_its_holder_is_silent() {
    let (mut net, a, b, _) = conflict();
    net.run_for(Duration::from_secs(10));
    assert_eq!(net.queries_to(6).len(), 3, "three tries");
    let at_a = net.at(a, "SHARED").unwrap();
    assert_eq!(net.at(b, "SHARED"), Some(at_a));
    assert_eq!(at_a.0, A);
}

#[test]
fn a_restarted_partner_pulls_only_above_what_it_had() {
    let (mut net, a, b) = pair();
    net.register(a, 5, "ONE");
    net.register(a, 5, "TWO");
    net.run_for(Duration::from_secs(1));
    let had = net.nodes[b].db.max_version(A);
    assert!(had >= 2);
    net.nodes[b].ext.auto_commit = true;
    net.crash_and_restart(b);
    assert_eq!(net.nodes[b].db.max_version(A), had, "the map is restored");
    net.seen.clear();
    net.register(a, 5, "THREE");
    let three = net.at(a, "THREE").unwrap().1;
    net.run_for(Duration::from_secs(1));
    let asked: Vec<_> = net.requests().into_iter().filter(|r| r.0 == B).collect();
    assert!(!asked.is_empty());
    assert!(
        asked.iter().all(|r| r.1 == A && r.2 > had),
        "only above what it had: {asked:?}"
    );
    assert_eq!(net.at(b, "THREE"), Some((A, three, RecordState::Active)));
}

#[test]
fn a_crash_before_commit_pulls_the_same_records_again() {
    let (mut net, a, b) = pair();
    net.nodes[b].ext.auto_commit = false;
    for n in ["ONE", "TWO", "THREE"] {
        net.register(a, 5, n);
    }
    net.run_for(Duration::from_secs(1));
    assert!(net.at(b, "ONE").is_some(), "applied in memory");
    assert!(
        net.nodes[b].ext.store.records.is_empty(),
        "nothing committed"
    );
    net.nodes[b].ext.auto_commit = true;
    net.crash_and_restart(b);
    assert_eq!(net.nodes[b].db.max_version(A), 0);
    assert!(net.at(b, "ONE").is_none());
    net.seen.clear();
    net.run_for(Duration::from_secs(1));
    assert!(
        net.requests()
            .iter()
            .any(|r| r.0 == B && r.1 == A && r.2 == 1),
        "pulled again from 1: {:?}",
        net.requests()
    );
    for n in ["ONE", "TWO", "THREE"] {
        assert_eq!(net.at(b, n), net.at(a, n), "{n}");
        let stored = net.nodes[b]
            .ext
            .store
            .records
            .get(&(nb(n), Box::default()))
            .unwrap();
        assert_eq!(stored.owner, A);
    }
    let map_b = net.nodes[b].ext.store.owners.get(&A).copied().unwrap_or(0);
    assert!(map_b >= net.at(a, "THREE").unwrap().1);
}

#[test]
fn a_durable_map_entry_never_runs_ahead_of_its_replicas() {
    // Every prefix of B's change sequence that holds an owner-map entry
    // for A holds each record of A at or below that version.
    let (mut net, a, b) = pair();
    net.nodes[b].ext.auto_commit = false;
    for n in ["ONE", "TWO", "THREE", "FOUR"] {
        net.register(a, 5, n);
    }
    net.run_for(Duration::from_secs(1));
    let changes = net.nodes[b].ext.unsaved.clone();
    assert!(
        changes
            .iter()
            .any(|c| matches!(c.item, ChangeItem::OwnerVersion { .. }))
    );
    let mut store = SimStore::default();
    for c in &changes {
        store.apply(c);
        let map = store.owners.get(&A).copied().unwrap_or(0);
        for n in ["ONE", "TWO", "THREE", "FOUR"] {
            let v = net.at(a, n).unwrap().1;
            if v <= map {
                assert!(store.records.contains_key(&(nb(n), Box::default())));
            }
        }
    }
}

fn replica(
    name: &str,
    version: u64,
    state: nbns::winsrepl::RecordState,
) -> nbns::winsrepl::Replica {
    use nbns::winsrepl::{RecordFlags, RecordType, Replica, ReplicaAddresses};
    Replica {
        name: nb(name),
        scope: Vec::new(),
        flags: RecordFlags::new(RecordType::Unique, state, NodeType::H),
        version,
        owner: A,
        addresses: ReplicaAddresses::Single(host(9)),
    }
}

#[test]
fn a_released_replica_becomes_a_tombstone_with_its_owners_version() {
    let now = Instant::now();
    let mut config = server_config(B);
    config.extinction_interval = 10;
    let mut s = WinsServer::new(config, now);
    let r = replica("OLD", 500, nbns::winsrepl::RecordState::Released);
    assert_eq!(
        s.apply_replica(&r, A, now),
        nbns::winsrepl::ApplyOutcome::Added
    );
    s.handle_timeout(now + Duration::from_secs(11));
    let got = s.record(nb("OLD"), b"").unwrap();
    assert_eq!(
        (got.owner(), got.version(), got.state()),
        (A, 500, RecordState::Tombstoned)
    );
    assert_eq!(s.version_counter(), 0, "no version of ours for A's record");
}

#[test]
fn a_restored_counter_ignores_the_versions_of_other_owners() {
    let now = Instant::now();
    let mut s = WinsServer::new(server_config(B), now);
    let r = replica("FAR", 9_000, nbns::winsrepl::RecordState::Active);
    s.apply_replica(&r, A, now);
    s.pulled(A, 9_500, now);
    let mut store = SimStore::default();
    while let Some(c) = s.poll_change() {
        store.apply(&c);
    }
    let records: Vec<StoredRecord> = store.records.values().cloned().collect();
    let mut back = WinsServer::restore(server_config(B), now, store.mark, records).unwrap();
    assert_eq!(back.version_counter(), 0);
    assert_eq!(back.max_version(A), 9_000, "from the records");
    back.restore_owner_map(store.owners.iter().map(|(o, v)| (*o, *v)));
    assert_eq!(back.max_version(A), 9_500, "the pulled max, gaps included");
}
