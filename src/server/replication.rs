//! The WINS server as a replication database (MS-WINSRA 3.1.1, 3.2.5):
//! records of other owners (replicas) beside our own, the owner-version
//! map, an (owner, version) index for Name Records Requests, and the
//! conflict rules of [`decide`] carried out on the server's records.
//!
//! # Versions
//!
//! Our records carry versions of the journal's counter; a replica keeps
//! its owner's version, and the server never gives a record of another
//! owner a version of its own without taking it over (a propagation, a
//! merge that keeps it ours, a re-registration). A released replica
//! becomes a tombstone with its version unchanged (Samba scavenging).
//!
//! # Durability
//!
//! A stored replica is a [`ChangeItem::Put`] and a completed pull a
//! [`ChangeItem::OwnerVersion`], both in the one ordered change sequence
//! of [`WinsServer::poll_change`]. A store commits changes in order, in
//! whole batches, so a durable owner-map entry implies that every replica
//! applied before it is durable too. A crash before the commit loses the
//! replicas and the map entry together: the restored map is lower, and
//! the next pull asks for the same versions again. Nothing is
//! acknowledged to a partner on the wire by a pull, so no answer needs to
//! be held.
//!
//! # Challenges
//!
//! When the rules ask to challenge the holder of one of our records, a
//! name query (RD set) goes to UDP 137 of each of its addresses in turn,
//! [`ServerConfig::challenge_sends`](crate::server::ServerConfig::challenge_sends)
//! tries of [`ServerConfig::challenge_interval`](crate::server::ServerConfig::challenge_interval)
//! each, with an ID from the server's ID source; an answer counts only
//! from that address and port, with that ID and name, before the deadline.
//! The answer goes to [`after_challenge`]. At most
//! [`ServerConfig::max_pending`](crate::server::ServerConfig::max_pending)
//! such challenges run at once; beyond that the replica is kept out.
//!
//! # Member owners
//!
//! Each member of a special group or multihomed record has an owner of
//! its own (MS-WINSRA 2.2.10.1.1.1), which need not be the record's: a
//! merge keeps each member's owner (reference e.4, e.5). The server keeps
//! these owners beside the records ([`MemberOwners`]), only for the
//! records whose members are not all the record owner's, merges with
//! them, serves them back out unchanged and stores them
//! ([`StoredRecord::member_owners`](crate::server::StoredRecord::member_owners)).
//! A member a client registers here is ours; when we take over a record
//! and keep its members, each keeps the owner it had.

use core::net::{Ipv4Addr, SocketAddrV4};
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use crate::hash::KeyedState;
use crate::server::record::{Addrs, Key, Record};
use crate::server::{
    ChangeItem, EventKind, MAX_RECORD_ADDRS, MAX_SERVER_SCOPE_LEN, RecordKind, RecordState,
    WinsServer, set_deadline,
};
use crate::winsrepl::{
    ApplyOutcome, MAX_MEMBERS, Member, OwnerRecord, RecordFlags, RecordState as ReplState,
    RecordType, Replica, ReplicaAddresses, ReplicationDb,
};
use crate::winsrepl::{
    ChallengeAnswer, ChallengeOutcome, Decision, RecordSide, after_challenge, decide,
    merge_multihomed, merge_special_group,
};
use crate::wire::{
    Labels, Message, NAME_SERVICE_PORT, Name, NbAddrEntry, NbFlags, NodeType, Packet, PacketKind,
};

/// The default verify interval: how long an active replica lives before
/// it is verified with its owner, 24 days (MS-WINSRA <10>; Samba
/// `wreplsrv:verify_interval`). See
/// [`ServerConfig::verify_interval`](crate::server::ServerConfig::verify_interval).
pub const REPLICA_VERIFY_INTERVAL: u32 = 24 * 24 * 3600;

/// Most owners in the owner-version map besides ourselves.
pub const MAX_OWNERS: usize = 4096;

/// (owner, version) → record, for Name Records Requests; kept by every
/// change the server reports.
///
/// An entry is added for each change and none is removed: an entry whose
/// record has gone, or has moved to another owner or version since, is
/// stale, and a lookup skips it (the record's own owner and version
/// decide). When stale entries would outnumber the records
/// ([`VersionIndex::needs_rebuild`]), the index is built again from the
/// records. So a change costs one B-tree insert at the index's end (new
/// versions are the highest), and no second table keyed by record.
#[derive(Debug, Default)]
pub(crate) struct VersionIndex {
    /// By [`VersionIndex::at`]: owner-major, as one integer to compare.
    by_version: BTreeMap<u128, Key>,
}

/// Stale entries the index may hold beyond one per record before it is
/// built again.
pub(crate) const INDEX_SLACK: usize = 4096;

impl VersionIndex {
    /// The index key of `owner`'s `version`: the owner's address as a
    /// number (the order of `Ipv4Addr`) above the version.
    pub(crate) fn at(owner: Ipv4Addr, version: u64) -> u128 {
        (u128::from(u32::from(owner)) << 64) | u128::from(version)
    }

    pub(crate) fn update(&mut self, key: Key, owner: Ipv4Addr, version: u64) {
        self.by_version.insert(Self::at(owner, version), key);
    }

    /// Whether the stale entries outnumber the `records` held enough to
    /// build the index again.
    pub(crate) fn needs_rebuild(&self, records: usize) -> bool {
        self.by_version.len() > records.saturating_mul(2).saturating_add(INDEX_SLACK)
    }

    /// The index of `records`, without stale entries.
    pub(crate) fn rebuild(&mut self, records: &HashMap<Key, Record, KeyedState>) {
        self.by_version = records
            .iter()
            .map(|(k, r)| (Self::at(r.owner, r.version), *k))
            .collect();
    }

    /// The records of `owner` from `min` to `max`, in version order, that
    /// still have that owner and version.
    pub(crate) fn range<'a>(
        &'a self,
        records: &'a HashMap<Key, Record, KeyedState>,
        owner: Ipv4Addr,
        min: u64,
        max: u64,
    ) -> impl Iterator<Item = (Key, &'a Record)> + 'a {
        self.by_version
            .range(Self::at(owner, min)..=Self::at(owner, max))
            .filter_map(move |(at, key)| {
                let r = records.get(key)?;
                (Self::at(r.owner, r.version) == *at).then_some((*key, r))
            })
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_version.len()
    }
}

/// A replica waiting for the holder of our record to answer a challenge.
#[derive(Debug)]
pub(crate) struct ReplicaChallenge {
    replica: Replica,
    /// Our record's version when the challenge began.
    version: u64,
    targets: Vec<Ipv4Addr>,
    index: usize,
    sends_left: u8,
    id: u16,
    deadline: Instant,
}

/// The replication state of a server.
#[derive(Debug, Default)]
pub(crate) struct Replication {
    /// Highest version held or pulled per owner other than us.
    pub(crate) owners: BTreeMap<Ipv4Addr, u64>,
    pub(crate) challenges: HashMap<Key, ReplicaChallenge, KeyedState>,
    /// Replicas waiting for their owner's answer to a verification.
    pub(crate) verifications: HashMap<Key, crate::server::verify::Verification, KeyedState>,
}

/// The owners of the members of the records whose members are not all
/// owned by the record's owner, by record; a member not listed is the
/// record owner's. At most one entry per record, removed with the record.
#[derive(Debug, Default)]
pub(crate) struct MemberOwners(HashMap<Key, Box<[Member]>, KeyedState>);

impl MemberOwners {
    fn owner(&self, key: Key, rec: &Record, address: Ipv4Addr) -> Ipv4Addr {
        self.0
            .get(&key)
            .and_then(|list| list.iter().find(|m| m.address == address))
            .map_or(rec.owner, |m| m.owner)
    }

    /// The members of `rec` (at `key`) with their owners.
    fn members(&self, key: Key, rec: &Record) -> Vec<Member> {
        rec.addrs
            .as_slice()
            .iter()
            .filter(|e| e.address != Ipv4Addr::UNSPECIFIED)
            .map(|e| Member {
                owner: self.owner(key, rec, e.address),
                address: e.address,
            })
            .collect()
    }

    /// The record at `key`, owned by `owner`, now has `members`.
    pub(crate) fn set(&mut self, key: Key, owner: Ipv4Addr, members: &[Member]) {
        if members.iter().all(|m| m.owner == owner) {
            self.0.remove(&key);
        } else {
            self.0.insert(key, members.into());
        }
    }

    /// The record at `key` is gone, or its members were replaced by ones
    /// of its owner.
    pub(crate) fn forget(&mut self, key: Key) {
        self.0.remove(&key);
    }

    /// The record at `key` changes owner and keeps its members: each
    /// keeps the owner it has now.
    pub(crate) fn pin(&mut self, key: Key, rec: &Record) {
        let members = self.members(key, rec);
        self.0.insert(key, members.into());
    }

    /// `address` is now a member of the record at `key` owned by `owner`
    /// (a registration here).
    pub(crate) fn claim(&mut self, key: Key, address: Ipv4Addr, owner: Ipv4Addr) {
        if let Some(list) = self.0.get_mut(&key) {
            let mut v: Vec<Member> = list
                .iter()
                .filter(|m| m.address != address)
                .copied()
                .collect();
            v.push(Member { owner, address });
            *list = v.into();
        }
    }

    /// The owners to store with `rec`, in the order of its addresses;
    /// empty when the record's owner owns every member.
    pub(crate) fn stored(&self, key: Key, rec: &Record) -> Box<[Ipv4Addr]> {
        if !self.0.contains_key(&key) {
            return Box::default();
        }
        let owners: Box<[Ipv4Addr]> = rec
            .addrs
            .as_slice()
            .iter()
            .map(|e| self.owner(key, rec, e.address))
            .collect();
        if owners.iter().all(|o| *o == rec.owner) {
            Box::default()
        } else {
            owners
        }
    }

    /// Restores the owners `owners` (in the order of `rec`'s addresses)
    /// of the record at `key`.
    pub(crate) fn restore(&mut self, key: Key, rec: &Record, owners: &[Ipv4Addr]) {
        let members: Vec<Member> = rec
            .addrs
            .as_slice()
            .iter()
            .zip(owners)
            .map(|(e, o)| Member {
                owner: *o,
                address: e.address,
            })
            .collect();
        self.set(key, rec.owner, &members);
    }
}

/// A record's side as the conflict rules see it, with owned members.
struct Side {
    owner: Ipv4Addr,
    record_type: RecordType,
    state: ReplState,
    members: Vec<Member>,
}

impl Side {
    fn of(owners: &MemberOwners, key: Key, rec: &Record) -> Self {
        let members = owners.members(key, rec);
        Self {
            owner: rec.owner,
            record_type: type_of(rec.kind),
            state: state_of(rec.state),
            members,
        }
    }

    fn side(&self) -> RecordSide<'_> {
        let list = self.record_type.has_list();
        RecordSide {
            owner: self.owner,
            record_type: self.record_type,
            state: self.state,
            is_static: false,
            single: if list {
                None
            } else {
                self.members.first().copied()
            },
            list: if list { &self.members[..] } else { &[] },
        }
    }
}

const fn type_of(kind: RecordKind) -> RecordType {
    match kind {
        RecordKind::Unique => RecordType::Unique,
        RecordKind::NormalGroup => RecordType::NormalGroup,
        RecordKind::SpecialGroup => RecordType::SpecialGroup,
        RecordKind::Multihomed => RecordType::Multihomed,
    }
}

const fn kind_of(t: RecordType) -> RecordKind {
    match t {
        RecordType::Unique => RecordKind::Unique,
        RecordType::NormalGroup => RecordKind::NormalGroup,
        RecordType::SpecialGroup => RecordKind::SpecialGroup,
        RecordType::Multihomed => RecordKind::Multihomed,
    }
}

const fn state_of(s: RecordState) -> ReplState {
    match s {
        RecordState::Active => ReplState::Active,
        RecordState::Released => ReplState::Released,
        RecordState::Tombstoned => ReplState::Tombstone,
    }
}

impl WinsServer {
    /// Turns on what replication needs beyond the records themselves: the
    /// (owner, version) index that serves Name Records Requests (a B-tree
    /// entry of 36 bytes a record, and at most as many again of stale
    /// ones, plus 4,096). [`ReplicationDb::records`] finds nothing before.
    pub fn enable_replication(&mut self) {
        let mut ix = VersionIndex::default();
        ix.rebuild(&self.records);
        self.out.index = Some(ix);
    }

    /// The owner-version map without ourselves: the highest version held
    /// or pulled per other owner, in address order.
    pub fn owner_map(&self) -> impl Iterator<Item = (Ipv4Addr, u64)> + '_ {
        self.repl.owners.iter().map(|(o, v)| (*o, *v))
    }

    /// Raises owner-map entries from a store's [`ChangeItem::OwnerVersion`]
    /// rows (after [`WinsServer::restore`]); entries never go down, and
    /// our own address is ignored.
    pub fn restore_owner_map(&mut self, map: impl IntoIterator<Item = (Ipv4Addr, u64)>) {
        for (owner, version) in map {
            self.raise_owner(owner, version);
        }
    }

    /// Number of replicas waiting for a challenge's answer.
    #[must_use]
    pub fn replica_challenges(&self) -> usize {
        self.repl.challenges.len()
    }

    fn raise_owner(&mut self, owner: Ipv4Addr, version: u64) -> bool {
        if owner == self.config.address {
            return false;
        }
        if !self.repl.owners.contains_key(&owner) && self.repl.owners.len() >= MAX_OWNERS {
            return false;
        }
        let max = self.repl.owners.entry(owner).or_default();
        *max = (*max).max(version);
        true
    }

    /// Rebuilds the owner map from the records (restore).
    pub(crate) fn rebuild_owner_map(&mut self) {
        let me = self.config.address;
        let mut map = BTreeMap::new();
        for r in self.records.values().filter(|r| r.owner != me) {
            let max: &mut u64 = map.entry(r.owner).or_default();
            *max = (*max).max(r.version);
        }
        self.repl.owners = map;
    }

    fn key_of(&self, r: &Replica) -> Option<Key> {
        let scope = self.scopes.find_dotted(r.scope.as_slice())?;
        Some(Key {
            name: r.name,
            scope,
        })
    }

    /// Stores `r` as it is (owner, version, state, members), in place of
    /// the record at `key` or as a new one. False when it cannot be
    /// stored (full, a bad scope, a reserved state).
    fn put_replica(&mut self, now: Instant, key: Option<Key>, r: &Replica) -> bool {
        let state = match r.state() {
            ReplState::Active => RecordState::Active,
            ReplState::Released => RecordState::Released,
            ReplState::Tombstone => RecordState::Tombstoned,
            ReplState::Reserved => return false,
        };
        if r.owner == self.config.address
            || (!self.repl.owners.contains_key(&r.owner) && self.repl.owners.len() >= MAX_OWNERS)
        {
            return false;
        }
        let kind = kind_of(r.record_type());
        let flags = NbFlags::new(kind.is_group(), r.flags.node_type());
        let entry = |a| NbAddrEntry::new(flags, a);
        let addrs = match &r.addresses {
            ReplicaAddresses::Single(_) if kind == RecordKind::NormalGroup => {
                Addrs::One(entry(Ipv4Addr::BROADCAST))
            }
            ReplicaAddresses::Single(a) => Addrs::One(entry(*a)),
            ReplicaAddresses::List(list) => {
                let entries = list.iter().take(MAX_RECORD_ADDRS);
                let entries = entries.map(|m| entry(m.address)).collect();
                // A special group tombstone may list no member: keep a
                // placeholder.
                Addrs::from_vec(entries).unwrap_or(Addrs::One(entry(Ipv4Addr::UNSPECIFIED)))
            }
        };
        let c = &self.config;
        let lasts = match state {
            RecordState::Active => c.verify_interval,
            RecordState::Released => c.extinction_interval,
            RecordState::Tombstoned => c.extinction_timeout,
        };
        let deadline = self.secs_ceil(now).saturating_add(lasts);
        let key = match key.filter(|k| self.records.contains_key(k)) {
            Some(k) => k,
            None => {
                if r.scope.len() > MAX_SERVER_SCOPE_LEN || Labels::from_dotted(&r.scope).is_err() {
                    return false;
                }
                while self.records.len() >= self.config.max_records {
                    let Some(old) = self.reclaim.pop(&self.records, false) else {
                        return false;
                    };
                    self.remove_record(old);
                }
                let Some(scope) = self.intern_dotted(&r.scope) else {
                    return false;
                };
                self.scopes.acquire(scope);
                let key = Key {
                    name: r.name,
                    scope,
                };
                self.records.insert(
                    key,
                    Record {
                        version: r.version,
                        addrs: addrs.clone(),
                        deadline,
                        heap_at: u32::MAX,
                        owner: r.owner,
                        kind,
                        state,
                    },
                );
                key
            }
        };
        let Some(rec) = self.records.get_mut(&key) else {
            return false;
        };
        rec.version = r.version;
        rec.owner = r.owner;
        rec.kind = kind;
        rec.state = state;
        rec.addrs = addrs;
        match &r.addresses {
            ReplicaAddresses::List(list) => self.out.members.set(key, r.owner, list),
            ReplicaAddresses::Single(_) => self.out.members.forget(key),
        }
        set_deadline(&mut self.heap, key, rec, deadline);
        if state != RecordState::Active {
            self.reclaim.push(state, rec.deadline, key);
        }
        self.note_change(key, EventKind::Replicated);
        self.raise_owner(r.owner, r.version);
        true
    }

    /// Our record at `key` with a new version of ours, owned by us, so
    /// that it replicates back over the loser.
    fn propagate(&mut self, key: Key) {
        let me = self.config.address;
        if let Some(rec) = self.records.get_mut(&key) {
            self.out.members.pin(key, rec);
            rec.owner = me;
            rec.version = self.out.journal.bump();
            self.note_change(key, EventKind::Changed);
        }
    }

    /// Sends a name release for the name at `key` to UDP 137 of each of
    /// `addresses` (reference e.4: opcode 6, no RD, no B, TTL 0); the
    /// answers are dropped as unsolicited responses.
    fn release_demand(&mut self, key: Key, addresses: &[Ipv4Addr]) {
        let scope = Self::scope_labels(&self.scopes, key.scope);
        let name = Name::new(key.name, scope);
        for &a in addresses {
            let id = self.ids.next_id();
            let entry = NbAddrEntry::new(NbFlags::new(false, NodeType::B), a);
            let p = Message::release_request(id, name, entry, false);
            self.out.send(SocketAddrV4::new(a, NAME_SERVICE_PORT), &p);
        }
    }

    fn start_replica_challenge(
        &mut self,
        now: Instant,
        key: Key,
        local: &Side,
        r: &Replica,
    ) -> ApplyOutcome {
        if let Some(ch) = self.repl.challenges.get_mut(&key) {
            // A challenge is already out; the newer replica waits for it.
            ch.replica = r.clone();
            return ApplyOutcome::Challenging;
        }
        if self.repl.challenges.len() >= self.config.max_pending || local.members.is_empty() {
            return ApplyOutcome::Kept;
        }
        let version = self.records.get(&key).map_or(0, |r| r.version);
        let id = self.ids.next_id();
        self.out.stats.challenges += 1;
        self.repl.challenges.insert(
            key,
            ReplicaChallenge {
                replica: r.clone(),
                version,
                targets: local.members.iter().map(|m| m.address).collect(),
                index: 0,
                sends_left: self.config.challenge_sends.max(1) - 1,
                id,
                deadline: now + self.config.challenge_interval,
            },
        );
        self.send_replica_challenge(key);
        ApplyOutcome::Challenging
    }

    fn send_replica_challenge(&mut self, key: Key) {
        let Some(ch) = self.repl.challenges.get(&key) else {
            return;
        };
        let Some(&target) = ch.targets.get(ch.index) else {
            return;
        };
        let scope = Self::scope_labels(&self.scopes, key.scope);
        let q = Message::name_query_request(ch.id, Name::new(key.name, scope), false);
        self.out
            .send(SocketAddrV4::new(target, NAME_SERVICE_PORT), &q);
    }

    /// The earliest deadline of a replica challenge.
    pub(crate) fn replica_challenge_deadline(&self) -> Option<Instant> {
        self.repl.challenges.values().map(|c| c.deadline).min()
    }

    /// Retries and gives up replica challenges that are due.
    pub(crate) fn replica_challenge_timers(&mut self, now: Instant) {
        if self.repl.challenges.is_empty() {
            return;
        }
        let due: Vec<Key> = self
            .repl
            .challenges
            .iter()
            .filter(|(_, c)| c.deadline <= now)
            .map(|(k, _)| *k)
            .collect();
        let interval = self.config.challenge_interval;
        let sends = self.config.challenge_sends.max(1);
        for key in due {
            let id = self.ids.next_id();
            let Some(ch) = self.repl.challenges.get_mut(&key) else {
                continue;
            };
            ch.deadline = now + interval;
            if ch.sends_left > 0 {
                ch.sends_left -= 1;
            } else if ch.index + 1 < ch.targets.len() {
                ch.index += 1;
                ch.sends_left = sends - 1;
                ch.id = id;
            } else {
                if let Some(ch) = self.repl.challenges.remove(&key) {
                    self.resolve_replica_challenge(now, key, ch, ChallengeAnswer::NoAnswer);
                }
                continue;
            }
            self.send_replica_challenge(key);
        }
    }

    /// An answer to a replica challenge: from the address and port the
    /// query went to, with its ID and name, before its deadline. Returns
    /// whether `p` was one.
    pub(crate) fn replica_challenge_response(
        &mut self,
        now: Instant,
        from: SocketAddrV4,
        p: &Packet<'_>,
    ) -> bool {
        if self.repl.challenges.is_empty() {
            return false;
        }
        let found = self
            .repl
            .challenges
            .iter()
            .find(|(_, c)| {
                c.id == p.id
                    && now <= c.deadline
                    && c.targets
                        .get(c.index)
                        .is_some_and(|&t| from == SocketAddrV4::new(t, NAME_SERVICE_PORT))
            })
            .map(|(k, _)| *k);
        let Some(key) = found else {
            return false;
        };
        let Some(held) = self.query_answer(key, p) else {
            return false;
        };
        if let Some(ch) = self.repl.challenges.remove(&key) {
            let answer = match &held {
                Some(held) => ChallengeAnswer::Positive(held),
                None => ChallengeAnswer::Negative,
            };
            self.resolve_replica_challenge(now, key, ch, answer);
        }
        true
    }

    /// A name query response `p` for the name at `key`, read: the
    /// addresses of a positive one (`Some(Some(..))`), `Some(None)` for a
    /// negative one, `None` for anything else or another name.
    pub(crate) fn query_answer(&self, key: Key, p: &Packet<'_>) -> Option<Option<Vec<Ipv4Addr>>> {
        let answer = p.answer()?;
        if answer.name.netbios != key.name
            || answer.name.scope != Self::scope_labels(&self.scopes, key.scope)
        {
            return None;
        }
        match p.kind() {
            PacketKind::PositiveNameQueryResponse => Some(Some(
                answer
                    .nb()
                    .iter()
                    .flat_map(|a| a.iter())
                    .take(MAX_RECORD_ADDRS)
                    .map(|e| e.address)
                    .collect(),
            )),
            PacketKind::NegativeNameQueryResponse => Some(None),
            _ => None,
        }
    }

    fn resolve_replica_challenge(
        &mut self,
        now: Instant,
        key: Key,
        ch: ReplicaChallenge,
        answer: ChallengeAnswer<'_>,
    ) {
        let Some(rec) = self.records.get(&key) else {
            self.put_replica(now, None, &ch.replica);
            return;
        };
        if rec.version != ch.version || rec.owner != self.config.address {
            // Our record changed meanwhile: the replica is dropped; the
            // next pull brings it again if it still matters.
            return;
        }
        let local = Side::of(&self.out.members, key, rec);
        let replica = &ch.replica;
        match after_challenge(&local.side(), &replica.side(), answer) {
            ChallengeOutcome::Replace => {
                self.put_replica(now, Some(key), replica);
            }
            ChallengeOutcome::LateReleaseDemand => {
                if let ChallengeAnswer::Positive(held) = answer {
                    self.release_demand(key, held);
                }
            }
            ChallengeOutcome::MergeMultihomed => {
                let members = merge_multihomed(&local.side(), &replica.side(), MAX_MEMBERS);
                let flags = RecordFlags(
                    replica.flags.bits() & !RecordFlags::TYPE_MASK | RecordType::Multihomed.bits(),
                );
                let merged = Replica {
                    flags,
                    addresses: ReplicaAddresses::List(members),
                    ..replica.clone()
                };
                self.put_replica(now, Some(key), &merged);
            }
            _ => {}
        }
    }

    fn replica_of(&self, key: Key, rec: &Record) -> Option<Replica> {
        let scope = self.scopes.get(key.scope)?.to_vec();
        let node = rec
            .addrs
            .as_slice()
            .first()
            .map_or(NodeType::H, |e| e.flags.node_type());
        let record_type = type_of(rec.kind);
        let flags = RecordFlags::new(record_type, state_of(rec.state), node);
        let addresses = if record_type.has_list() {
            ReplicaAddresses::List(self.out.members.members(key, rec))
        } else {
            ReplicaAddresses::Single(rec.addrs.as_slice().first()?.address)
        };
        Some(Replica {
            name: key.name,
            scope,
            flags,
            version: rec.version,
            owner: rec.owner,
            addresses,
        })
    }
}

impl ReplicationDb for WinsServer {
    /// Room in the record table and its indexes, within the configured
    /// [`max_records`](crate::server::ServerConfig::max_records).
    fn reserve(&mut self, additional: usize) {
        let room = self.config.max_records.saturating_sub(self.records.len());
        let n = additional.min(room);
        self.records.reserve(n);
        self.heap.reserve(n);
        self.out.journal.reserve(n);
    }

    fn owner_versions(&self, out: &mut Vec<OwnerRecord>) {
        out.push(OwnerRecord::new(
            self.config.address,
            self.version_counter(),
            0,
        ));
        out.extend(self.owner_map().map(|(o, v)| OwnerRecord::new(o, v, 0)));
    }

    fn max_version(&self, owner: Ipv4Addr) -> u64 {
        if owner == self.config.address {
            self.version_counter()
        } else {
            self.repl.owners.get(&owner).copied().unwrap_or(0)
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
        let Some(ix) = &self.out.index else {
            return 0;
        };
        if min > max {
            return 0;
        }
        let before = out.len();
        let replicating = ix
            .range(&self.records, owner, min, max)
            .filter(|(_, r)| r.state != RecordState::Released)
            .filter_map(|(k, r)| self.replica_of(k, r))
            .take(limit);
        out.extend(replicating);
        out.len() - before
    }

    fn apply_replica(&mut self, record: &Replica, _from: Ipv4Addr, now: Instant) -> ApplyOutcome {
        let me = self.config.address;
        if record.owner == me {
            // Only we hand out our versions; our records never come back.
            return ApplyOutcome::Kept;
        }
        let key = self.key_of(record);
        let local =
            key.and_then(|k| Some((k, Side::of(&self.out.members, k, self.records.get(&k)?))));
        let Some((key, local)) = local else {
            return if self.put_replica(now, None, record) {
                ApplyOutcome::Added
            } else {
                ApplyOutcome::Refused
            };
        };
        let stored = |ok: bool, outcome| if ok { outcome } else { ApplyOutcome::Refused };
        match decide(Some(&local.side()), &record.side(), me) {
            Decision::Add | Decision::Replace => stored(
                self.put_replica(now, Some(key), record),
                ApplyOutcome::Replaced,
            ),
            Decision::Propagate => {
                self.propagate(key);
                ApplyOutcome::Propagated
            }
            Decision::Challenge => self.start_replica_challenge(now, key, &local, record),
            Decision::ReleaseDemand => {
                let old: Vec<Ipv4Addr> = local.members.iter().map(|m| m.address).collect();
                let ok = self.put_replica(now, Some(key), record);
                if ok {
                    self.release_demand(key, &old);
                }
                stored(ok, ApplyOutcome::ReleaseDemanded)
            }
            Decision::MergeSpecialGroup => {
                let merge = merge_special_group(&local.side(), &record.side(), me, MAX_MEMBERS);
                let merged = Replica {
                    addresses: ReplicaAddresses::List(merge.members),
                    ..record.clone()
                };
                if merge.take_ownership {
                    self.put_owned_merge(now, key, &merged);
                    ApplyOutcome::Merged
                } else {
                    stored(
                        self.put_replica(now, Some(key), &merged),
                        ApplyOutcome::Merged,
                    )
                }
            }
            _ => ApplyOutcome::Kept,
        }
    }

    fn pulled(&mut self, owner: Ipv4Addr, max_version: u64, _now: Instant) {
        // Reported even when the replicas already raised the entry in
        // memory: the store's map must hold the requested max, gaps
        // included, after the replicas of the pull.
        if owner != self.config.address && self.raise_owner(owner, max_version) {
            self.out.journal.push(
                ChangeItem::OwnerVersion {
                    owner,
                    version: max_version,
                },
                None,
            );
        }
    }
}

impl WinsServer {
    /// A special-group merge that keeps (or makes) the record ours: the
    /// members of `merged`, each with its owner, with a new version of
    /// ours.
    fn put_owned_merge(&mut self, now: Instant, key: Key, merged: &Replica) {
        let me = self.config.address;
        let node = merged.flags.node_type();
        let flags = NbFlags::new(true, node);
        let entries: Vec<NbAddrEntry> = merged
            .members()
            .iter()
            .take(MAX_RECORD_ADDRS)
            .map(|m| NbAddrEntry::new(flags, m.address))
            .collect();
        let Some(addrs) = Addrs::from_vec(entries) else {
            return;
        };
        let deadline = self.secs_ceil(now).saturating_add(self.config.max_ttl);
        if let Some(rec) = self.records.get_mut(&key) {
            rec.addrs = addrs;
            self.out.members.set(key, me, merged.members());
            rec.owner = me;
            rec.kind = RecordKind::SpecialGroup;
            rec.state = RecordState::Active;
            rec.version = self.out.journal.bump();
            set_deadline(&mut self.heap, key, rec, deadline);
            self.note_change(key, EventKind::Changed);
        }
    }
}
