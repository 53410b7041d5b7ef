//! An in-memory [`ReplicationDb`]: the replication model of a WINS
//! database (owned records and replicas, the owner-version map, the
//! conflict rules) without NBNS and without durability.
//!
//! It serves simulations, tests and tools (a replication test peer, a
//! dump of what a partner holds), and shows what a WINS server's store
//! does for replication: [`MemoryDb::apply_replica`] is the conflict rules
//! of [`decide`] carried out; challenges and release demands, which need
//! UDP 137, come out of [`MemoryDb::poll_action`] for the caller to carry
//! out, and a challenge's answer goes back in through
//! [`MemoryDb::resolve_challenge`].

use core::net::Ipv4Addr;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Instant;

use crate::winsrepl::conflict::{
    ChallengeAnswer, ChallengeOutcome, Decision, after_challenge, decide, merge_multihomed,
    merge_special_group,
};
use crate::winsrepl::replica::{MAX_MEMBERS, ReplicaAddresses};
use crate::winsrepl::{
    ApplyOutcome, Member, OwnerRecord, RecordFlags, RecordState, RecordType, Replica, ReplicationDb,
};
use crate::wire::{NetbiosName, NodeType};

/// A record's key: name and scope, byte-exact (Samba keys by DN the same
/// way). `HashMap` with the standard library's keyed hasher: the names
/// come from the network.
type Key = (NetbiosName, Vec<u8>);

/// Something the database needs done on UDP 137 (MS-WINSRA 3.2.5.5;
/// reference e.4).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DbAction {
    /// Send a name query for `name` to each of `addresses` in turn (1 s × 3
    /// tries each), then call [`MemoryDb::resolve_challenge`].
    Challenge {
        /// The name.
        name: NetbiosName,
        /// Its scope.
        scope: Vec<u8>,
        /// Our record's addresses.
        addresses: Vec<Ipv4Addr>,
    },
    /// Send a name release for `name` to each of `addresses`; the answer
    /// is ignored.
    ReleaseDemand {
        /// The name.
        name: NetbiosName,
        /// Its scope.
        scope: Vec<u8>,
        /// Where to send it.
        addresses: Vec<Ipv4Addr>,
    },
}

/// The in-memory replication database (see the module docs).
#[derive(Debug, Clone)]
pub struct MemoryDb {
    us: Ipv4Addr,
    /// The last version handed out.
    counter: u64,
    records: HashMap<Key, Replica>,
    /// (owner, version) → key, for range reads.
    index: BTreeMap<(Ipv4Addr, u64), Key>,
    /// Highest version held or pulled per owner other than us.
    map: BTreeMap<Ipv4Addr, u64>,
    /// Replicas waiting for a challenge's answer.
    challenged: HashMap<Key, Replica>,
    actions: VecDeque<DbAction>,
    max_records: usize,
}

impl MemoryDb {
    /// Most pending challenges and queued actions kept; more are dropped
    /// (the replica is kept out, as if the holder had answered).
    pub const MAX_PENDING: usize = 1024;

    /// An empty database owned by `us`, holding at most `max_records`
    /// records.
    #[must_use]
    pub fn new(us: Ipv4Addr, max_records: usize) -> Self {
        Self {
            us,
            counter: 0,
            records: HashMap::new(),
            index: BTreeMap::new(),
            map: BTreeMap::new(),
            challenged: HashMap::new(),
            actions: VecDeque::new(),
            max_records,
        }
    }

    /// Our owner address.
    #[must_use]
    pub fn owner(&self) -> Ipv4Addr {
        self.us
    }

    /// Our version counter: the last version handed out.
    #[must_use]
    pub fn version_counter(&self) -> u64 {
        self.counter
    }

    /// Number of records.
    #[must_use]
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The record of an unscoped name.
    #[must_use]
    pub fn record(&self, name: NetbiosName) -> Option<&Replica> {
        self.records.get(&(name, Vec::new()))
    }

    /// The record of a name in a scope.
    #[must_use]
    pub fn scoped_record(&self, name: NetbiosName, scope: &[u8]) -> Option<&Replica> {
        self.records.get(&(name, scope.to_vec()))
    }

    /// Every record, in no order.
    pub fn iter(&self) -> impl Iterator<Item = &Replica> + '_ {
        self.records.values()
    }

    /// The next thing to do on UDP 137.
    pub fn poll_action(&mut self) -> Option<DbAction> {
        self.actions.pop_front()
    }

    fn next_version(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    /// Registers (or re-registers) an unscoped name of ours, as the WINS
    /// server does on a name registration (MS-WINSRA 3.1.1.2): a new name,
    /// a name that was released or tombstoned, or new addresses take a new
    /// version; a same-address registration of an active name does not.
    /// Returns the record's version, or `None` when the database is full.
    pub fn register(
        &mut self,
        name: NetbiosName,
        record_type: RecordType,
        addresses: &[Ipv4Addr],
    ) -> Option<u64> {
        let key = (name, Vec::new());
        if let Some(r) = self.records.get(&key) {
            let same = r.owner == self.us
                && r.state() == RecordState::Active
                && r.record_type() == record_type
                && addresses_of(r) == addresses;
            if same {
                return Some(r.version);
            }
        } else if self.records.len() >= self.max_records {
            return None;
        }
        let version = self.next_version();
        let addresses = if record_type.has_list() {
            let members = addresses.iter().take(MAX_MEMBERS);
            ReplicaAddresses::List(
                members
                    .map(|&address| Member {
                        owner: self.us,
                        address,
                    })
                    .collect(),
            )
        } else {
            ReplicaAddresses::Single(addresses.first().copied().unwrap_or(Ipv4Addr::BROADCAST))
        };
        let record = Replica {
            name,
            scope: Vec::new(),
            flags: RecordFlags::new(record_type, RecordState::Active, NodeType::H),
            version,
            owner: self.us,
            addresses,
        };
        self.store(key, record);
        Some(version)
    }

    /// Releases an unscoped name of ours: the state changes, the version
    /// does not (released records do not replicate). Returns whether it
    /// was an active record of ours.
    pub fn release(&mut self, name: NetbiosName) -> bool {
        self.set_state(name, RecordState::Released, false)
    }

    /// Makes an unscoped name of ours a tombstone with a new version, so
    /// that the deletion replicates (MS-WINSRA 3.1.6). Returns whether the
    /// record was ours.
    pub fn tombstone(&mut self, name: NetbiosName) -> bool {
        self.set_state(name, RecordState::Tombstone, true)
    }

    fn set_state(&mut self, name: NetbiosName, state: RecordState, bump: bool) -> bool {
        let key = (name, Vec::new());
        let Some(mut r) = self.records.get(&key).cloned() else {
            return false;
        };
        if r.owner != self.us || r.state() == state {
            return false;
        }
        r.flags = RecordFlags(r.flags.bits() & !RecordFlags::STATE_MASK | state.bits() << 2);
        if bump {
            r.version = self.next_version();
        }
        self.store(key, r);
        true
    }

    /// Puts `record` under `key`, keeping the index and the map in step.
    fn store(&mut self, key: Key, mut record: Replica) {
        record.flags = record.flags.with_replica(false);
        if let Some(old) = self.records.get(&key) {
            self.index.remove(&(old.owner, old.version));
        }
        self.index
            .insert((record.owner, record.version), key.clone());
        if record.owner != self.us {
            let max = self.map.entry(record.owner).or_default();
            *max = (*max).max(record.version);
        }
        self.records.insert(key, record);
    }

    /// Our record under `key` with a new version, owned by us.
    fn propagate(&mut self, key: Key) {
        if let Some(mut r) = self.records.get(&key).cloned() {
            r.owner = self.us;
            r.version = self.next_version();
            self.store(key, r);
        }
    }

    fn queue(&mut self, action: DbAction) {
        if self.actions.len() < Self::MAX_PENDING {
            self.actions.push_back(action);
        }
    }

    /// The answer to a challenge that [`DbAction::Challenge`] asked for:
    /// applies the replica that waited for it (reference e.4).
    pub fn resolve_challenge(
        &mut self,
        name: NetbiosName,
        scope: &[u8],
        answer: ChallengeAnswer<'_>,
    ) -> ApplyOutcome {
        let key = (name, scope.to_vec());
        let Some(replica) = self.challenged.remove(&key) else {
            return ApplyOutcome::Refused;
        };
        let Some(local) = self.records.get(&key).cloned() else {
            self.store(key, replica);
            return ApplyOutcome::Added;
        };
        match after_challenge(&local.side(), &replica.side(), answer) {
            ChallengeOutcome::Replace => {
                self.store(key, replica);
                ApplyOutcome::Replaced
            }
            ChallengeOutcome::LateReleaseDemand => {
                if let ChallengeAnswer::Positive(held) = answer {
                    self.queue(DbAction::ReleaseDemand {
                        name,
                        scope: key.1.clone(),
                        addresses: held.to_vec(),
                    });
                }
                ApplyOutcome::ReleaseDemanded
            }
            ChallengeOutcome::MergeMultihomed => {
                let members = merge_multihomed(&local.side(), &replica.side(), MAX_MEMBERS);
                let flags = RecordFlags(
                    replica.flags.bits() & !RecordFlags::TYPE_MASK | RecordType::Multihomed.bits(),
                );
                let merged = Replica {
                    flags,
                    addresses: ReplicaAddresses::List(members),
                    ..replica
                };
                self.store(key, merged);
                ApplyOutcome::Merged
            }
            _ => ApplyOutcome::Kept,
        }
    }
}

fn addresses_of(r: &Replica) -> Vec<Ipv4Addr> {
    r.side().members().map(|m| m.address).collect()
}

impl ReplicationDb for MemoryDb {
    fn owner_versions(&self, out: &mut Vec<OwnerRecord>) {
        out.push(OwnerRecord::new(self.us, self.counter, 0));
        out.extend(
            self.map
                .iter()
                .filter(|(o, _)| **o != self.us)
                .map(|(o, v)| OwnerRecord::new(*o, *v, 0)),
        );
    }

    fn max_version(&self, owner: Ipv4Addr) -> u64 {
        if owner == self.us {
            self.counter
        } else {
            self.map.get(&owner).copied().unwrap_or(0)
        }
    }

    fn records(
        &self,
        owner: Ipv4Addr,
        min: u64,
        max: u64,
        limit: usize,
        out: &mut Vec<Replica>,
    ) -> usize {
        if min > max {
            return 0;
        }
        let before = out.len();
        let replicating = self
            .index
            .range((owner, min)..=(owner, max))
            .filter_map(|(_, key)| self.records.get(key))
            .filter(|r| matches!(r.state(), RecordState::Active | RecordState::Tombstone))
            .take(limit);
        out.extend(replicating.cloned());
        out.len() - before
    }

    fn apply_replica(&mut self, record: &Replica, _from: Ipv4Addr, _now: Instant) -> ApplyOutcome {
        let key = (record.name, record.scope.clone());
        let local = self.records.get(&key).cloned();
        let decision = decide(
            local.as_ref().map(Replica::side).as_ref(),
            &record.side(),
            self.us,
        );
        let Some(local) = local else {
            if self.records.len() >= self.max_records {
                return ApplyOutcome::Refused;
            }
            self.store(key, record.clone());
            return ApplyOutcome::Added;
        };
        match decision {
            Decision::Add | Decision::Replace => {
                self.store(key, record.clone());
                ApplyOutcome::Replaced
            }
            Decision::Propagate => {
                self.propagate(key);
                ApplyOutcome::Propagated
            }
            Decision::Challenge => {
                if self.challenged.len() >= Self::MAX_PENDING {
                    return ApplyOutcome::Kept;
                }
                let addresses = addresses_of(&local);
                match self.challenged.entry(key.clone()) {
                    Entry::Occupied(mut e) => {
                        // A challenge is already out; the newer replica waits.
                        e.insert(record.clone());
                    }
                    Entry::Vacant(e) => {
                        e.insert(record.clone());
                        self.queue(DbAction::Challenge {
                            name: key.0,
                            scope: key.1,
                            addresses,
                        });
                    }
                }
                ApplyOutcome::Challenging
            }
            Decision::ReleaseDemand => {
                self.queue(DbAction::ReleaseDemand {
                    name: key.0,
                    scope: key.1.clone(),
                    addresses: addresses_of(&local),
                });
                self.store(key, record.clone());
                ApplyOutcome::ReleaseDemanded
            }
            Decision::MergeSpecialGroup => {
                let merge =
                    merge_special_group(&local.side(), &record.side(), self.us, MAX_MEMBERS);
                let mut merged = Replica {
                    addresses: ReplicaAddresses::List(merge.members),
                    ..record.clone()
                };
                if merge.take_ownership {
                    merged.owner = self.us;
                    merged.version = self.next_version();
                }
                self.store(key, merged);
                ApplyOutcome::Merged
            }
            _ => ApplyOutcome::Kept,
        }
    }

    fn pulled(&mut self, owner: Ipv4Addr, max_version: u64, _now: Instant) {
        if owner != self.us {
            let max = self.map.entry(owner).or_default();
            *max = (*max).max(max_version);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const US: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    fn n(s: &str) -> NetbiosName {
        NetbiosName::new(s, 0).unwrap()
    }

    fn ip(last: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, 9, 0, last)
    }

    fn replica(name: &str, t: RecordType, s: RecordState, version: u64, addrs: &[u8]) -> Replica {
        let addresses = if t.has_list() {
            ReplicaAddresses::List(
                addrs
                    .iter()
                    .map(|&a| Member {
                        owner: B,
                        address: ip(a),
                    })
                    .collect(),
            )
        } else {
            ReplicaAddresses::Single(ip(addrs[0]))
        };
        Replica {
            name: n(name),
            scope: Vec::new(),
            flags: RecordFlags::new(t, s, NodeType::H),
            version,
            owner: B,
            addresses,
        }
    }

    fn now() -> Instant {
        Instant::now()
    }

    #[test]
    fn versions_of_our_own_changes() {
        let mut db = MemoryDb::new(US, 10);
        assert_eq!(db.register(n("A"), RecordType::Unique, &[ip(1)]), Some(1));
        // Same address again: a refresh, no new version.
        assert_eq!(db.register(n("A"), RecordType::Unique, &[ip(1)]), Some(1));
        assert!(db.release(n("A")));
        assert!(!db.release(n("A")));
        assert_eq!(db.version_counter(), 1, "a release keeps the version");
        assert_eq!(db.register(n("A"), RecordType::Unique, &[ip(1)]), Some(2));
        assert!(db.tombstone(n("A")));
        assert_eq!(db.record(n("A")).unwrap().version, 3);
        assert_eq!(db.max_version(US), 3);
    }

    #[test]
    fn records_replicate_active_and_tombstones_in_range_and_limit() {
        let mut db = MemoryDb::new(US, 10);
        for name in ["A", "B", "C", "D"] {
            db.register(n(name), RecordType::Unique, &[ip(1)]);
        }
        db.release(n("B"));
        db.tombstone(n("C")); // version 5
        let mut out = Vec::new();
        assert_eq!(db.records(US, 1, 10, 10, &mut out), 3);
        let versions: Vec<u64> = out.iter().map(|r| r.version).collect();
        assert_eq!(versions, [1, 4, 5]);
        out.clear();
        assert_eq!(db.records(US, 2, 4, 10, &mut out), 1);
        out.clear();
        assert_eq!(db.records(US, 1, 10, 2, &mut out), 2);
        assert_eq!(db.records(B, 1, 10, 2, &mut out), 0);
        assert_eq!(db.records(US, 5, 4, 2, &mut out), 0);
    }

    #[test]
    fn our_active_record_against_a_tombstone_gets_a_new_version() {
        let mut db = MemoryDb::new(US, 10);
        db.register(n("A"), RecordType::Unique, &[ip(1)]);
        let r = replica("A", RecordType::Unique, RecordState::Tombstone, 9, &[1]);
        assert_eq!(db.apply_replica(&r, B, now()), ApplyOutcome::Propagated);
        let got = db.record(n("A")).unwrap();
        assert_eq!(
            (got.owner, got.version, got.state()),
            (US, 2, RecordState::Active)
        );
    }

    #[test]
    fn a_challenge_goes_out_and_its_answer_decides() {
        let mut db = MemoryDb::new(US, 10);
        db.register(n("A"), RecordType::Unique, &[ip(1)]);
        let r = replica("A", RecordType::Unique, RecordState::Active, 9, &[2]);
        assert_eq!(db.apply_replica(&r, B, now()), ApplyOutcome::Challenging);
        assert_eq!(
            db.poll_action(),
            Some(DbAction::Challenge {
                name: n("A"),
                scope: Vec::new(),
                addresses: vec![ip(1)]
            })
        );
        assert_eq!(
            db.record(n("A")).unwrap().owner,
            US,
            "kept while challenging"
        );
        let held = [ip(1)];
        assert_eq!(
            db.resolve_challenge(n("A"), &[], ChallengeAnswer::Positive(&held)),
            ApplyOutcome::Kept
        );
        assert_eq!(db.record(n("A")).unwrap().owner, US);

        assert_eq!(db.apply_replica(&r, B, now()), ApplyOutcome::Challenging);
        assert_eq!(
            db.resolve_challenge(n("A"), &[], ChallengeAnswer::NoAnswer),
            ApplyOutcome::Replaced
        );
        let got = db.record(n("A")).unwrap();
        assert_eq!((got.owner, got.version), (B, 9));
        assert_eq!(db.max_version(B), 9);
    }

    #[test]
    fn a_group_replica_over_our_unique_demands_a_release() {
        let mut db = MemoryDb::new(US, 10);
        db.register(n("A"), RecordType::Unique, &[ip(1)]);
        let r = replica("A", RecordType::NormalGroup, RecordState::Active, 4, &[3]);
        assert_eq!(
            db.apply_replica(&r, B, now()),
            ApplyOutcome::ReleaseDemanded
        );
        assert_eq!(
            db.poll_action(),
            Some(DbAction::ReleaseDemand {
                name: n("A"),
                scope: Vec::new(),
                addresses: vec![ip(1)]
            })
        );
        assert_eq!(db.record(n("A")).unwrap().owner, B);
    }

    #[test]
    fn merging_into_our_special_group_keeps_it_ours_with_a_new_version() {
        let mut db = MemoryDb::new(US, 10);
        db.register(n("DOM"), RecordType::SpecialGroup, &[ip(1)]);
        let r = replica(
            "DOM",
            RecordType::SpecialGroup,
            RecordState::Active,
            7,
            &[2],
        );
        assert_eq!(db.apply_replica(&r, B, now()), ApplyOutcome::Merged);
        let got = db.record(n("DOM")).unwrap();
        assert_eq!((got.owner, got.version), (US, 2));
        assert_eq!(got.members().len(), 2);
        // The index follows: our version 2 is served, version 1 is gone.
        let mut out = Vec::new();
        assert_eq!(db.records(US, 1, 1, 10, &mut out), 0);
        assert_eq!(db.records(US, 2, 2, 10, &mut out), 1);
    }

    #[test]
    fn a_full_database_refuses_new_names() {
        let mut db = MemoryDb::new(US, 1);
        db.register(n("A"), RecordType::Unique, &[ip(1)]);
        assert_eq!(db.register(n("B"), RecordType::Unique, &[ip(1)]), None);
        let r = replica("C", RecordType::Unique, RecordState::Active, 1, &[2]);
        assert_eq!(db.apply_replica(&r, B, now()), ApplyOutcome::Refused);
        db.pulled(B, 5, now());
        assert_eq!(db.max_version(B), 5);
        db.pulled(B, 3, now());
        assert_eq!(db.max_version(B), 5, "never lowered");
    }
}
