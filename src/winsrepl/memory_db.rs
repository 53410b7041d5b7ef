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
