//! A sans-IO WINS (NBNS) server: registration, refresh, release, queries,
//! conflict challenges with WACK, and a version-ID-stamped record database.
//!
//! The semantics follow what Windows and Samba servers do where RFC 1002 is
//! silent (see the per-method docs). The state machine reads no clock and
//! opens no socket: the caller feeds it datagrams and instants and sends
//! what it produces.
//!
//! # Run loop
//!
//! [The crate's run loop](crate#the-run-loop), with one more output
//! drained first after every input: with a database (the default
//! [`Durability::Durable`]), persist the
//! [changes](WinsServer::poll_change) and report them with
//! [`WinsServer::handle_persisted`] before sending: answers that
//! acknowledge a change are released only then (see [`Change`], and the
//! persist step shown beside the loop). The `redb` feature's
//! `nbns::store` is such a database; `examples/wins_server/` commits
//! on a thread of its own, so that queries are answered during a commit,
//! and with the `tokio` feature `nbns::tokio::ServerRunner` does the
//! same on the tokio runtime.
//!
//! # Version IDs
//!
//! Every record carries a version ID from a server-wide 64-bit counter that
//! only grows. Its high-water mark is reserved in blocks of
//! [`VERSION_BLOCK`] and reported as a change before a version above it is
//! used, so a server [restored](WinsServer::restore) from its database
//! after a crash skips IDs but never hands one out twice. These get a
//! **new** version: a new record; re-activation of a
//! released or tombstoned record; an address added to a special group or a
//! multi-homed record; a takeover after a challenge; tombstoning (so that
//! replication partners learn of it, as Windows does). These do **not**: a
//! refresh, a re-registration from an address the record already has, a
//! release, and expiry to the released state.
//!
//! # Bounds
//!
//! Memory is bounded by [`ServerConfig::max_records`],
//! [`ServerConfig::max_pending`], [`ServerConfig::max_scopes`],
//! [`ServerConfig::max_queued`] and [`ServerConfig::max_unpersisted`]; a record costs about 100 bytes including
//! its share of the hash table and the timer heap, plus up to about 48
//! bytes in the queues of inactive records. No input panics.
//!
//! A full table does not lock new names out: when a new record would
//! exceed `max_records`, or a new scope ID `max_scopes`, the oldest
//! tombstone goes first, then the oldest released record, and only when
//! every record is active is the registration refused with SRV_ERR (so an
//! attacker must keep `max_records` names registered and refreshed to fill
//! it). A scope ID is forgotten when its last record goes.
//!
//! # Tables and challenges
//!
//! Every table keyed by bytes from the network hashes with a key drawn from
//! the operating system's random number generator, so chosen names cannot
//! collide on purpose. Challenge queries carry transaction IDs from
//! [`OsRandomIds`] by default, and an answer counts only if it comes from
//! the address *and* port the query went to (port 137), before the
//! challenge's deadline, with the query's transaction ID and the
//! challenged name and scope.
//!
//! # Replica verification
//!
//! An active replica lives for the verify interval
//! ([`ServerConfig::verify_interval`](crate::server::ServerConfig::verify_interval),
//! 24 days) after it was last replicated. Its owner refreshes it by
//! replicating a newer version; when the interval passes without one, the
//! server asks the owner itself, as Samba does: a name query (RD set) to
//! UDP 137 of the owner's address,
//! [`challenge_sends`](crate::server::ServerConfig::challenge_sends) tries
//! of [`challenge_interval`](crate::server::ServerConfig::challenge_interval)
//! each, accepted only from that address and port with the query's ID and
//! name. The answer decides:
//!
//! | owner's answer | the replica |
//! |---|---|
//! | positive, the same addresses | kept for another verify interval |
//! | positive, other addresses | taken over as a tombstone with a new version of ours, so that the owner's own record replicates over it |
//! | negative (the owner no longer has it) | removed |
//! | none | kept, asked again after [`VERIFY_RETRY`] |
//!
//! (Microsoft's variant, a Name Records Request to the owner, deletes the
//! records missing from the answer: the same outcome for a name the owner
//! dropped.) At most
//! [`max_pending`](crate::server::ServerConfig::max_pending) verifications
//! run at once; a replica due beyond that waits one challenge interval
//! per try.
//!
//! A replica tombstone is removed after the extinction timeout, but not
//! before the server has run for
//! [`tombstone_min_uptime`](crate::server::ServerConfig::tombstone_min_uptime)
//! (3 days, Samba's `wreplsrv:tombstone_extra_timeout` and the Windows
//! rule), so that a server restarted with a stale store has time to pull
//! the owners' newer records before it forgets the deletions.
//!
//! # Dropped input
//!
//! Unparseable datagrams, broadcasts, responses other than the answer to a
//! pending challenge, requests with the wrong sections for their kind
//! (register, refresh, release and opcode 0xF need exactly one question and
//! one additional NB record with one address; queries exactly one
//! question), unknown opcodes, multi-homed registrations of group names
//! (as nmbd), node status requests for names that are not the server's own,
//! and registrations for a name whose challenge is in progress (the
//! requester's retry gets the answer) are all dropped and counted in
//! [`ServerStats`].

mod config;
mod journal;
mod reclaim;
mod record;
mod replication;
mod restore;
mod verify;

#[doc(hidden)]
pub mod fuzz;

pub use crate::ids::{DeterministicIds, IdSource, OsRandomIds};
pub use config::{OwnName, ServerConfig};
pub use journal::{Change, ChangeItem, Durability, StoredRecord, VERSION_BLOCK};
pub use record::{MAX_RECORD_ADDRS, RecordKind, RecordState, RecordView};
pub use replication::{MAX_OWNERS, REPLICA_VERIFY_INTERVAL};
pub use restore::RestoreError;
pub use verify::VERIFY_RETRY;

use core::fmt;
use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;
use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use crate::hash::KeyedState;
use crate::scope::{self, ScopeError, ScopeTable};
use crate::timer::TimerHeap;
use crate::wire::{
    Labels, Message, NAME_SERVICE_PORT, Name, NameFlags, NbAddrEntry, NbAddrs, NetbiosName,
    NodeName, NodeNames, NodeStatus, Packet, PacketKind, Rcode, RrType, Section, Statistics,
};
use journal::Journal;
use reclaim::Reclaim;
use record::{Addrs, Key, Record};

/// Longest scope ID, in dotted characters, that the server accepts; longer
/// ones get SRV_ERR, as from Samba4's WINS server.
pub const MAX_SERVER_SCOPE_LEN: usize = 237;

/// The crate's datagram output, re-exported here: the server's
/// transmits always have [`source`](Transmit::source) `None`.
pub use crate::Transmit;

/// What happened to a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// A new record, or a released or tombstoned one made active again.
    Added,
    /// An active record changed: an address added or removed, a takeover
    /// after a challenge, a merge into a multi-homed record.
    Changed,
    /// Released by its owner.
    Released,
    /// Its TTL ran out without a refresh: now released.
    Expired,
    /// The extinction interval passed: now a tombstone.
    Tombstoned,
    /// The extinction timeout passed: removed from the database.
    Removed,
    /// The TTL was renewed and nothing else changed. Only in a
    /// [`Change`]; [`WinsServer::poll_event`] does not report it.
    Refreshed,
    /// A replica of another owner's record was stored (added or in place
    /// of the local record; MS-WINSRA 3.2.5.5).
    Replicated,
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Added => "added",
            Self::Changed => "changed",
            Self::Released => "released",
            Self::Expired => "expired",
            Self::Tombstoned => "tombstoned",
            Self::Removed => "removed",
            Self::Refreshed => "refreshed",
            Self::Replicated => "replicated",
        })
    }
}

/// A change to the database, from [`WinsServer::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerEvent {
    /// What happened.
    pub kind: EventKind,
    /// The name.
    pub name: NetbiosName,
    /// Its scope ID in dotted form (empty for none).
    pub scope: Box<[u8]>,
    /// The record's kind after the change.
    pub record_kind: RecordKind,
    /// The record's version ID after the change.
    pub version: u64,
    /// The record's first address after the change.
    pub address: Ipv4Addr,
}

impl fmt::Display for ServerEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.name)?;
        if !self.scope.is_empty() {
            write!(f, ".{}", self.scope.escape_ascii())?;
        }
        write!(
            f,
            " {} {} version {}",
            self.record_kind, self.address, self.version
        )
    }
}

/// Counters, for tests and monitoring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStats {
    /// Datagrams handled.
    pub datagrams: u64,
    /// Datagrams that did not parse.
    pub malformed: u64,
    /// Datagrams that parsed but were dropped (see the module docs).
    pub dropped: u64,
    /// Name queries answered.
    pub queries: u64,
    /// Registrations, refreshes and multi-homed registrations handled.
    pub registrations: u64,
    /// Releases handled.
    pub releases: u64,
    /// Challenges started.
    pub challenges: u64,
    /// Verifications of replicas with their owners started.
    pub verifications: u64,
    /// Transmits dropped because the queue was full.
    pub transmits_dropped: u64,
    /// Events dropped because the queue was full.
    pub events_dropped: u64,
    /// Registrations and releases dropped unanswered because
    /// [`ServerConfig::max_unpersisted`] changes wait for the store.
    pub unpersisted_dropped: u64,
}

/// A conflict being resolved: the WACK has been sent and the old owner is
/// being asked whether it still holds the name.
#[derive(Debug)]
struct Pending {
    requester: SocketAddrV4,
    request_id: u16,
    /// The entry from the request, echoed in the answer.
    entry: NbAddrEntry,
    ttl: u32,
    want: RecordKind,
    /// Old owner addresses, challenged in turn.
    targets: Vec<Ipv4Addr>,
    index: usize,
    sends_left: u8,
    challenge_id: u16,
    deadline: Instant,
    /// Version of the record when the challenge began: if it changes, the
    /// registration is refused.
    version: u64,
}

/// Outputs waiting to be polled.
struct Outbox {
    transmits: VecDeque<Transmit>,
    events: VecDeque<ServerEvent>,
    journal: Journal,
    epoch: Instant,
    stats: ServerStats,
    cap: usize,
    /// The (owner, version) index, once replication is enabled.
    index: Option<replication::VersionIndex>,
    /// The member owners of list records with members of other owners.
    members: replication::MemberOwners,
}

impl Outbox {
    fn send(&mut self, destination: SocketAddrV4, p: &Message<'_>) {
        if self.transmits.len() >= self.cap {
            self.stats.transmits_dropped += 1;
            return;
        }
        let mut contents = vec![0; p.buffer_len()];
        if p.emit(&mut contents).is_ok() {
            self.transmits.push_back(Transmit {
                destination,
                source: None,
                contents,
            });
        } else {
            self.stats.dropped += 1;
        }
    }

    /// Sends an answer that acknowledges the record `key` as it is now:
    /// held until its last change is durable (see [`Durability`]).
    fn ack(&mut self, destination: SocketAddrV4, p: &Message<'_>, key: Option<Key>) {
        let Some(need) = self.journal.must_wait(key) else {
            self.send(destination, p);
            return;
        };
        if self.journal.held_len() >= self.cap {
            self.stats.transmits_dropped += 1;
            return;
        }
        let mut contents = vec![0; p.buffer_len()];
        if p.emit(&mut contents).is_ok() {
            self.journal.hold(
                need,
                Transmit {
                    destination,
                    source: None,
                    contents,
                },
            );
        } else {
            self.stats.dropped += 1;
        }
    }

    /// Reports a change of the record `key` (now `rec`): an event (but for
    /// a renewed TTL) and a durable change.
    fn note(&mut self, kind: EventKind, key: Key, scopes: &[Box<[u8]>], rec: &Record) {
        if kind == EventKind::Removed {
            self.members.forget(key);
        }
        // A removed record's entry goes stale (see `VersionIndex`).
        if let Some(ix) = &mut self.index
            && kind != EventKind::Removed
        {
            ix.update(key, rec.owner, rec.version);
        }
        if kind != EventKind::Refreshed {
            self.event(kind, key, scopes, rec);
        }
        if self.journal.mode == Durability::Volatile {
            return;
        }
        let record = StoredRecord {
            name: key.name,
            scope: scopes.get(key.scope as usize).cloned().unwrap_or_default(),
            kind: rec.kind,
            state: rec.state,
            version: rec.version,
            owner: rec.owner,
            addresses: rec.addrs.as_slice().into(),
            member_owners: self.members.stored(key, rec),
            deadline: self.epoch + Duration::from_secs(u64::from(rec.deadline)),
        };
        let item = match kind {
            EventKind::Removed => ChangeItem::Remove(record),
            event => ChangeItem::Put { event, record },
        };
        let holds = (kind != EventKind::Refreshed).then_some(key);
        self.journal.push(item, holds);
    }

    fn event(&mut self, kind: EventKind, key: Key, scopes: &[Box<[u8]>], rec: &Record) {
        if self.events.len() >= self.cap {
            self.stats.events_dropped += 1;
            return;
        }
        let scope = scopes.get(key.scope as usize).cloned().unwrap_or_default();
        self.events.push_back(ServerEvent {
            kind,
            name: key.name,
            scope,
            record_kind: rec.kind,
            version: rec.version,
            address: rec
                .addrs
                .as_slice()
                .first()
                .map_or(Ipv4Addr::UNSPECIFIED, |e| e.address),
        });
    }
}

/// Sets a record's deadline, keeping exactly one live heap entry no later
/// than it (a later deadline is found when the earlier entry pops).
fn set_deadline(heap: &mut TimerHeap<u32, Key>, key: Key, rec: &mut Record, at: u32) {
    rec.deadline = at;
    if at < rec.heap_at {
        rec.heap_at = at;
        heap.push(at, key);
    }
}

/// The dotted form of a scope the server accepts, into `buf`: FORMERR for
/// a label containing `.`, SRV_ERR beyond [`MAX_SERVER_SCOPE_LEN`].
fn scope_to_dotted(labels: &Labels<'_>, buf: &mut [u8; 256]) -> Result<usize, Rcode> {
    scope::to_dotted(labels, MAX_SERVER_SCOPE_LEN, buf).map_err(|e| match e {
        ScopeError::LabelWithDot => Rcode::FormatError,
        ScopeError::TooLong => Rcode::ServerFailure,
    })
}

/// The name, TTL and single address of a register/refresh/release/0xF
/// request, if its sections are exactly right: one NB/IN question and one
/// additional NB record, for the same name, with one address (RDLENGTH 6).
fn name_request<'p>(p: &Packet<'p>) -> Option<(Name<'p>, u32, NbAddrEntry)> {
    let q = p.question()?;
    if p.has(Section::Answer)
        || p.has(Section::Authority)
        || q.qtype != RrType::Nb
        || !q.qclass.is_in()
    {
        return None;
    }
    let rr = p.additional()?;
    let addrs = rr.nb()?;
    if rr.name != q.name || addrs.len() != 1 {
        return None;
    }
    Some((q.name, rr.ttl, addrs.first()?))
}

/// The sans-IO WINS server. See the [module docs](self) for the run loop.
pub struct WinsServer {
    config: ServerConfig,
    epoch: Instant,
    records: HashMap<Key, Record, KeyedState>,
    heap: TimerHeap<u32, Key>,
    /// Released and tombstoned records, oldest first.
    reclaim: Reclaim,
    /// Interned scopes, counted by records.
    scopes: ScopeTable,
    pending: HashMap<Key, Pending, KeyedState>,
    pending_min: Option<Instant>,
    out: Outbox,
    ids: Box<dyn IdSource + Send>,
    own: Vec<NodeName>,
    statistics: [u8; 46],
    repl: replication::Replication,
}

impl fmt::Debug for WinsServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WinsServer")
            .field("records", &self.records.len())
            .field("pending", &self.pending.len())
            .field("version_counter", &self.version_counter())
            .field("stats", &self.out.stats)
            .finish_non_exhaustive()
    }
}

impl WinsServer {
    /// A server with an empty database, drawing challenge transaction IDs
    /// from the operating system ([`OsRandomIds`]). `now` is the server's
    /// epoch: record timers count whole seconds from it.
    #[must_use]
    pub fn new(config: ServerConfig, now: Instant) -> Self {
        Self::with_ids(config, now, OsRandomIds::new())
    }

    /// A server with an empty database and this source of challenge
    /// transaction IDs (for tests and simulations, a
    /// [`DeterministicIds`]).
    #[must_use]
    pub fn with_ids(
        config: ServerConfig,
        now: Instant,
        ids: impl IdSource + Send + 'static,
    ) -> Self {
        let own = config
            .own_names
            .iter()
            .map(|o| NodeName {
                name: o.name,
                flags: NameFlags::active(o.group, config.node_type),
            })
            .collect();
        let statistics = Statistics::block_with_unit_id(config.unit_id);
        Self {
            out: Outbox {
                transmits: VecDeque::new(),
                events: VecDeque::new(),
                journal: Journal::new(config.durability),
                epoch: now,
                stats: ServerStats::default(),
                cap: config.max_queued,
                index: None,
                members: replication::MemberOwners::default(),
            },
            config,
            epoch: now,
            records: HashMap::default(),
            heap: TimerHeap::default(),
            reclaim: Reclaim::default(),
            scopes: ScopeTable::default(),
            pending: HashMap::default(),
            pending_min: None,
            ids: Box::new(ids),
            own,
            statistics,
            repl: replication::Replication::default(),
        }
    }

    /// Replaces the source of challenge transaction IDs (by default
    /// [`OsRandomIds`]).
    pub fn set_id_source(&mut self, ids: impl IdSource + Send + 'static) {
        self.ids = Box::new(ids);
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Counters.
    #[must_use]
    pub fn stats(&self) -> ServerStats {
        self.out.stats
    }

    /// The highest version ID handed out so far (0 if none); after
    /// [`WinsServer::restore`], the highest stored or reserved one.
    #[must_use]
    pub fn version_counter(&self) -> u64 {
        self.out.journal.next_version - 1
    }

    /// The version counter's high-water mark: the highest version ID
    /// reserved (reported as a [`ChangeItem::VersionMark`]). 0 before the
    /// first version is handed out, and always in [`Durability::Volatile`].
    #[must_use]
    pub fn version_mark(&self) -> u64 {
        self.out.journal.mark
    }

    /// Changes reported and not yet persisted.
    #[must_use]
    pub fn unpersisted(&self) -> u64 {
        self.out.journal.backlog()
    }

    /// Number of records, in every state.
    #[must_use]
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether there are no records.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Number of challenges in progress.
    #[must_use]
    pub fn pending_challenges(&self) -> usize {
        self.pending.len()
    }

    /// Every record, with its version ID, in no particular order.
    pub fn records(&self) -> impl Iterator<Item = RecordView<'_>> + '_ {
        self.records.iter().map(move |(k, r)| self.view(*k, r))
    }

    /// The record for `name` in `scope` (dotted form, empty for none).
    #[must_use]
    pub fn record(&self, name: NetbiosName, scope: &[u8]) -> Option<RecordView<'_>> {
        let scope = self.scopes.find_dotted(scope)?;
        let key = Key { name, scope };
        self.records.get(&key).map(|r| self.view(key, r))
    }

    fn view<'s>(&'s self, k: Key, r: &'s Record) -> RecordView<'s> {
        RecordView {
            name: k.name,
            scope: self.scopes.dotted(k.scope),
            record: r,
            epoch: self.epoch,
        }
    }

    /// Next datagram to send, if any.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.transmits.pop_front()
    }

    /// Next database change, if any.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.out.events.pop_front()
    }

    /// Next durable change to persist, if any, in sequence order (nothing
    /// in [`Durability::Volatile`]). Persist them, then report the last
    /// one persisted with [`WinsServer::handle_persisted`]. Drain after
    /// every input, as the transmits: the queue has no cap of its own, but
    /// at most [`ServerConfig::max_unpersisted`] changes wait at a time
    /// before registrations are dropped.
    #[must_use]
    pub fn poll_change(&mut self) -> Option<Change> {
        self.out.journal.poll_change()
    }

    /// Every change up to sequence number `seq` is durable: the answers
    /// that waited for them go to [`WinsServer::poll_transmit`], in the
    /// order they were made. Numbers above the last change reported count
    /// as the last one; a smaller number than before changes nothing.
    pub fn handle_persisted(&mut self, seq: u64) {
        // Held answers are capped at `max_queued` themselves: none is
        // dropped here, so the queue holds at most twice that.
        self.out.journal.persisted(seq, &mut self.out.transmits);
    }

    /// Reports a change of the record `key` (see [`Outbox::note`]).
    fn note_change(&mut self, key: Key, kind: EventKind) {
        if let Some(rec) = self.records.get(&key) {
            self.out.note(kind, key, self.scopes.as_slice(), rec);
        }
        self.tidy_index();
    }

    /// Builds the (owner, version) index again when its stale entries
    /// outnumber the records (see `VersionIndex`): amortised, a constant
    /// per change.
    fn tidy_index(&mut self) {
        if let Some(ix) = &mut self.out.index
            && ix.needs_rebuild(self.records.len())
        {
            ix.rebuild(&self.records);
        }
    }

    /// When [`WinsServer::handle_timeout`] should next be called. After
    /// `handle_timeout(now)` this is always later than `now`.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let rec = self
            .heap
            .peek()
            .map(|(t, _)| self.epoch + Duration::from_secs(u64::from(t)));
        [
            rec,
            self.pending_min,
            self.replica_challenge_deadline(),
            self.verification_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn secs_floor(&self, now: Instant) -> u32 {
        u32::try_from(now.saturating_duration_since(self.epoch).as_secs()).unwrap_or(u32::MAX)
    }

    fn secs_ceil(&self, now: Instant) -> u32 {
        let d = now.saturating_duration_since(self.epoch);
        let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
        u32::try_from(s).unwrap_or(u32::MAX)
    }

    /// Runs the timers due at `now`: record expiry, extinction and removal,
    /// and challenge retries. Also called at the start of
    /// [`WinsServer::handle_datagram`].
    pub fn handle_timeout(&mut self, now: Instant) {
        self.run_record_timers(now);
        self.replica_challenge_timers(now);
        self.verification_timers(now);
        while self.pending_min.is_some_and(|t| t <= now) {
            let due = self
                .pending
                .iter()
                .find(|(_, p)| p.deadline <= now)
                .map(|(k, _)| *k);
            match due {
                Some(key) => self.challenge_timeout(now, key),
                None => self.refresh_pending_min(),
            }
        }
    }

    fn run_record_timers(&mut self, now: Instant) {
        let now_s = self.secs_floor(now);
        let hold = self.replica_tombstone_hold(now);
        let mut verify = Vec::new();
        while let Some((t, key)) = self.heap.peek() {
            if t > now_s {
                break;
            }
            self.heap.pop();
            let Some(rec) = self.records.get_mut(&key) else {
                continue;
            };
            if rec.heap_at != t {
                continue; // superseded by an earlier entry
            }
            rec.heap_at = u32::MAX;
            if rec.deadline > t {
                let d = rec.deadline;
                set_deadline(&mut self.heap, key, rec, d);
                continue;
            }
            let c = &self.config;
            match rec.state {
                RecordState::Active if rec.owner != c.address => {
                    // A replica its owner did not refresh: ask the owner.
                    verify.push(key);
                }
                RecordState::Active => {
                    rec.state = RecordState::Released;
                    set_deadline(
                        &mut self.heap,
                        key,
                        rec,
                        now_s.saturating_add(c.extinction_interval),
                    );
                    self.reclaim.push(rec.state, rec.deadline, key);
                    self.note_change(key, EventKind::Expired);
                }
                RecordState::Released => {
                    rec.state = RecordState::Tombstoned;
                    // Only our own records get a version of ours; a
                    // replica keeps its owner's (Samba scavenging).
                    if rec.owner == c.address {
                        rec.version = self.out.journal.bump();
                    }
                    set_deadline(
                        &mut self.heap,
                        key,
                        rec,
                        now_s.saturating_add(c.extinction_timeout),
                    );
                    self.reclaim.push(rec.state, rec.deadline, key);
                    self.note_change(key, EventKind::Tombstoned);
                }
                RecordState::Tombstoned if rec.owner != c.address && hold.is_some() => {
                    if let Some(at) = hold {
                        set_deadline(&mut self.heap, key, rec, at);
                    }
                }
                RecordState::Tombstoned => {
                    self.remove_record(key);
                }
            }
        }
        for key in verify {
            self.start_verification(now, key);
        }
        self.compact_heap();
        self.reclaim.compact(&self.records, false);
    }

    /// Rebuilds the timer heap when superseded entries dominate it.
    fn compact_heap(&mut self) {
        if self.heap.len() <= self.records.len() + self.records.len() / 2 + 1024 {
            return;
        }
        let mut v = Vec::with_capacity(self.records.len());
        for (k, r) in &mut self.records {
            r.heap_at = r.deadline;
            v.push((r.deadline, *k));
        }
        self.heap.rebuild(v);
    }

    /// Handles one datagram received from `from`.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddrV4, bytes: &[u8]) {
        self.handle_timeout(now);
        self.out.stats.datagrams += 1;
        let Ok(p) = Packet::parse(bytes) else {
            self.out.stats.malformed += 1;
            return;
        };
        if p.flags.is_response() {
            self.on_response(now, from, &p);
            return;
        }
        if p.flags.broadcast() {
            // nmbd: broadcast requests to a WINS server are ignored.
            self.out.stats.dropped += 1;
            return;
        }
        match p.kind() {
            PacketKind::NameQueryRequest => self.on_query(now, from, &p),
            PacketKind::NodeStatusRequest => self.on_status(from, &p),
            PacketKind::NameRegistrationRequest
            | PacketKind::NameOverwriteRequest
            | PacketKind::NameRefreshRequest => self.on_register(now, from, &p, false),
            PacketKind::MultihomedRegistrationRequest => self.on_register(now, from, &p, true),
            PacketKind::NameReleaseRequest => self.on_release(now, from, &p),
            _ => self.out.stats.dropped += 1,
        }
    }

    /// The scope number of `labels` if it is known; `Ok(None)` if it was
    /// never registered.
    fn find_scope(&self, labels: &Labels<'_>) -> Result<Option<u32>, Rcode> {
        if labels.is_empty() {
            return Ok(Some(0));
        }
        let mut buf = [0u8; 256];
        let n = scope_to_dotted(labels, &mut buf)?;
        Ok(buf.get(..n).and_then(|s| self.scopes.find_dotted(s)))
    }

    fn intern_scope(&mut self, labels: &Labels<'_>) -> Result<u32, Rcode> {
        if labels.is_empty() {
            return Ok(0);
        }
        let mut buf = [0u8; 256];
        let n = scope_to_dotted(labels, &mut buf)?;
        let s = buf.get(..n).ok_or(Rcode::ServerFailure)?;
        self.intern_dotted(s).ok_or(Rcode::ServerFailure)
    }

    /// The number of the scope `s` (dotted form), interned if new. At
    /// [`ServerConfig::max_scopes`], inactive records with a scope make room
    /// (oldest first, see the module docs); `None` when none is left.
    fn intern_dotted(&mut self, s: &[u8]) -> Option<u32> {
        if let Some(id) = self.scopes.find_dotted(s) {
            return Some(id);
        }
        while self.scopes.len() > self.config.max_scopes {
            let key = self.reclaim.pop(&self.records, true)?;
            self.remove_record(key);
        }
        self.scopes.intern_dotted(s)
    }

    /// Removes a record from the table (the one place records leave it),
    /// reporting it as a [`EventKind::Removed`] change, and forgets its
    /// scope ID if it was the scope's last record.
    fn remove_record(&mut self, key: Key) -> Option<Record> {
        let rec = self.records.remove(&key)?;
        self.out
            .note(EventKind::Removed, key, self.scopes.as_slice(), &rec);
        if self.scopes.release(key.scope)
            && key.scope != ScopeTable::EMPTY
            && !self.pending.keys().any(|k| k.scope == key.scope)
        {
            self.scopes.forget(key.scope);
        }
        Some(rec)
    }

    /// Adds a record for a name nobody holds, in the scope `labels` (which
    /// may be new), with a new version ID, and reports it. At
    /// [`ServerConfig::max_records`], the oldest inactive record makes room
    /// (see the module docs).
    fn add_record(
        &mut self,
        name: NetbiosName,
        labels: &Labels<'_>,
        mut rec: Record,
    ) -> Result<Key, Rcode> {
        while self.records.len() >= self.config.max_records {
            let key = self
                .reclaim
                .pop(&self.records, false)
                .ok_or(Rcode::ServerFailure)?;
            self.remove_record(key);
        }
        // Interned after making room: that may have freed the scope.
        let scope = self.intern_scope(labels)?;
        let key = Key { name, scope };
        self.scopes.acquire(scope);
        rec.version = self.out.journal.bump();
        let at = rec.deadline;
        set_deadline(&mut self.heap, key, &mut rec, at);
        self.records.insert(key, rec);
        self.note_change(key, EventKind::Added);
        Ok(key)
    }

    /// Rebuilds the scope reference counts and the queues of inactive
    /// records after records were put into the table directly (loading).
    pub(crate) fn reindex(&mut self) {
        self.scopes.recount(self.records.keys().map(|k| k.scope));
        self.reclaim.compact(&self.records, true);
    }

    fn own_name(&self, name: &NetbiosName) -> Option<&OwnName> {
        self.config.own_names.iter().find(|o| o.name == *name)
    }

    /// Name query (RFC 1002 §4.2.12, §5.1.4): positive with every address
    /// of an active record and its remaining TTL; normal groups answer
    /// 255.255.255.255; anything else NAM_ERR with a NULL record.
    fn on_query(&mut self, now: Instant, from: SocketAddrV4, p: &Packet<'_>) {
        let Some(q) = p.question() else { return };
        if p.has(Section::Answer)
            || p.has(Section::Authority)
            || p.has(Section::Additional)
            || !q.qclass.is_in()
            || q.qtype != RrType::Nb
        {
            self.out.stats.dropped += 1;
            return;
        }
        self.out.stats.queries += 1;
        let name = q.name;
        let scope = match self.find_scope(&name.scope) {
            Ok(Some(s)) => s,
            Ok(None) => {
                let r = Message::negative_name_query_response(p.id, name, Rcode::NameError);
                self.out.send(from, &r);
                return;
            }
            Err(rcode) => {
                let r = Message::negative_name_query_response(p.id, name, rcode);
                self.out.send(from, &r);
                return;
            }
        };
        if scope == 0
            && let Some(own) = self.own_name(&name.netbios)
        {
            let e = NbAddrEntry::new(
                crate::wire::NbFlags::new(own.group, self.config.node_type),
                self.config.address,
            );
            let mut r = Message::positive_name_query_response(
                p.id,
                name,
                self.config.max_ttl,
                NbAddrs::one(e),
            );
            r.flags = r.flags.with_recursion_available(true);
            self.out.send(from, &r);
            return;
        }
        let key = Key {
            name: name.netbios,
            scope,
        };
        let now_s = self.secs_ceil(now);
        match self.records.get(&key) {
            Some(rec) if rec.state == RecordState::Active => {
                let ttl = rec.deadline.saturating_sub(now_s);
                let mut r = Message::positive_name_query_response(
                    p.id,
                    name,
                    ttl,
                    NbAddrs::from_slice(rec.addrs.as_slice()),
                );
                r.flags = r.flags.with_recursion_available(true);
                self.out.send(from, &r);
            }
            _ => {
                let r = Message::negative_name_query_response(p.id, name, Rcode::NameError);
                self.out.send(from, &r);
            }
        }
    }

    /// Node status (RFC 1002 §4.2.17): answered for `*` and the server's own
    /// names, with the own-name table; others dropped.
    fn on_status(&mut self, from: SocketAddrV4, p: &Packet<'_>) {
        let Some(q) = p.question() else { return };
        let ours = q.name.scope.is_empty()
            && (q.name.netbios.is_wildcard() || self.own_name(&q.name.netbios).is_some());
        if !ours
            || self.own.is_empty()
            || p.has(Section::Answer)
            || p.has(Section::Authority)
            || p.has(Section::Additional)
        {
            self.out.stats.dropped += 1;
            return;
        }
        let status = NodeStatus {
            names: NodeNames::from_slice(&self.own),
            statistics: Statistics(&self.statistics),
        };
        let r = Message::node_status_response(p.id, q.name, status);
        self.out.send(from, &r);
    }

    /// Registration (opcode 5), refresh (8, 9) and multi-homed registration
    /// (0xF), all answered with opcode 5. A refresh is handled exactly as a
    /// registration: for an address the record has, it renews the TTL; for
    /// another address, it is a conflict.
    #[allow(clippy::too_many_lines)]
    fn on_register(&mut self, now: Instant, from: SocketAddrV4, p: &Packet<'_>, multihomed: bool) {
        let Some((name, req_ttl, entry)) = name_request(p) else {
            self.out.stats.dropped += 1;
            return;
        };
        if self.backlog_full() {
            return;
        }
        self.out.stats.registrations += 1;
        let id = p.id;
        let nb = name.netbios;
        let suffix = nb.suffix();
        let group = entry.flags.group();
        let ttl = self.config.grant_ttl(req_ttl);
        let positive = Message::positive_registration_response(id, name, ttl, entry);
        let negative = |rcode| Message::negative_registration_response(id, name, rcode, entry);
        if multihomed && group {
            self.out.stats.dropped += 1; // nmbd drops these
            return;
        }
        // 0x1D (local master browser): accepted, never stored (MS-NBTE <3>).
        if suffix == 0x1D && !group {
            self.out.send(from, &positive);
            return;
        }
        // Samba4 and Windows 2003: 0x1B as a group, 0x1C or 0x1E as unique.
        if (suffix == 0x1B && group) || (!group && matches!(suffix, 0x1C | 0x1E)) {
            self.out.send(from, &negative(Rcode::Refused));
            return;
        }
        // `None`: a scope no record uses, interned only if a record is added.
        let scope = match self.find_scope(&name.scope) {
            Ok(s) => s,
            Err(rcode) => {
                self.out.send(from, &negative(rcode));
                return;
            }
        };
        if scope == Some(0)
            && let Some(own) = self.own_name(&nb)
        {
            if own.group == group && entry.address == self.config.address {
                self.out.send(from, &positive);
            } else {
                self.out.send(from, &negative(Rcode::Refused));
            }
            return;
        }
        let key = scope.map(|scope| Key { name: nb, scope });
        if let Some(key) = key
            && !self.pending.is_empty()
            && self.pending.contains_key(&key)
        {
            // A duplicate of the request being challenged, or a rival for
            // the same name: its retry gets the answer.
            self.out.stats.dropped += 1;
            return;
        }
        let want = if group {
            if suffix == 0x1C {
                RecordKind::SpecialGroup
            } else {
                RecordKind::NormalGroup
            }
        } else if multihomed {
            RecordKind::Multihomed
        } else {
            RecordKind::Unique
        };
        let stored = if want == RecordKind::NormalGroup {
            NbAddrEntry::new(entry.flags, Ipv4Addr::BROADCAST)
        } else {
            entry
        };
        let deadline = self.secs_ceil(now).saturating_add(ttl);
        let me = self.config.address;
        let keep = match key {
            Some(k) if want == RecordKind::SpecialGroup => self.domain_master_addrs(k),
            _ => Vec::new(),
        };
        let found = key.and_then(|k| self.records.get_mut(&k).map(|r| (k, r)));
        let Some((key, rec)) = found else {
            let rec = Record {
                version: 0,
                addrs: Addrs::One(stored),
                deadline,
                heap_at: u32::MAX,
                owner: me,
                kind: want,
                state: RecordState::Active,
            };
            match self.add_record(nb, &name.scope, rec) {
                Ok(key) => self.out.ack(from, &positive, Some(key)),
                Err(rcode) => self.out.send(from, &negative(rcode)),
            }
            return;
        };
        if rec.state != RecordState::Active {
            rec.version = self.out.journal.bump();
            rec.kind = want;
            rec.addrs = Addrs::One(stored);
            self.out.members.forget(key);
            rec.owner = me;
            rec.state = RecordState::Active;
            set_deadline(&mut self.heap, key, rec, deadline);
            self.note_change(key, EventKind::Added);
            self.out.ack(from, &positive, Some(key));
            return;
        }
        let mut event = EventKind::Refreshed;
        match (rec.kind, want) {
            (RecordKind::NormalGroup, RecordKind::NormalGroup) => {}
            (RecordKind::SpecialGroup, RecordKind::SpecialGroup) => {
                if !rec.addrs.contains(entry.address) {
                    if rec.owner != me {
                        // Taking over a replica: its members keep their
                        // owners; the new one is ours.
                        self.out.members.pin(key, rec);
                        rec.owner = me;
                    }
                    rec.addrs.push_capped_keeping(entry, &keep);
                    self.out.members.claim(key, entry.address, me);
                    rec.version = self.out.journal.bump();
                    event = EventKind::Changed;
                }
            }
            // Another kind over a group: ACT_ERR, as Samba4 and Windows
            // answer (reference (d.3); nmbd sends RFS_ERR).
            (RecordKind::NormalGroup | RecordKind::SpecialGroup, _) => {
                self.out.send(from, &negative(Rcode::Active));
                return;
            }
            (RecordKind::Unique | RecordKind::Multihomed, _)
                if !want.is_group() && rec.addrs.contains(entry.address) =>
            {
                if rec.owner != me {
                    // Taking over a replica; the other members keep
                    // their owners.
                    self.out.members.pin(key, rec);
                    self.out.members.claim(key, entry.address, me);
                    rec.owner = me;
                    rec.version = self.out.journal.bump();
                    event = EventKind::Changed;
                }
            }
            (RecordKind::Unique | RecordKind::Multihomed, _) => {
                let targets = rec.addrs.as_slice().iter().map(|e| e.address).collect();
                let version = rec.version;
                self.start_challenge(now, from, p, key, entry, ttl, want, targets, version);
                return;
            }
        }
        if event != EventKind::Refreshed || rec.deadline != deadline {
            set_deadline(&mut self.heap, key, rec, deadline);
            self.note_change(key, event);
        }
        self.out.ack(from, &positive, Some(key));
    }

    /// Whether [`ServerConfig::max_unpersisted`] changes wait for the
    /// store: then registrations and releases are dropped (counted), so
    /// that memory stays bounded while the store fails; their retries get
    /// answers once it recovers.
    fn backlog_full(&mut self) -> bool {
        let full = self.out.journal.backlog() >= self.config.max_unpersisted as u64;
        if full {
            self.out.stats.unpersisted_dropped += 1;
        }
        full
    }

    /// The addresses of the active record `NAME<1B>` (the domain master
    /// browser, in practice the primary domain controller) for the 0x1C
    /// group `key`: a full 0x1C group never evicts them (Samba's WINS
    /// server keeps the 1B holder in the 1C list).
    fn domain_master_addrs(&self, key: Key) -> Vec<Ipv4Addr> {
        let mut raw = *key.name.as_bytes();
        raw[15] = 0x1B;
        let k = Key {
            name: NetbiosName::from_raw(raw),
            scope: key.scope,
        };
        match self.records.get(&k) {
            Some(r) if r.state == RecordState::Active && !r.kind.is_group() => {
                r.addrs.as_slice().iter().map(|e| e.address).collect()
            }
            _ => Vec::new(),
        }
    }

    /// Sends the WACK and the first challenge query.
    #[allow(clippy::too_many_arguments)]
    fn start_challenge(
        &mut self,
        now: Instant,
        from: SocketAddrV4,
        p: &Packet<'_>,
        key: Key,
        entry: NbAddrEntry,
        ttl: u32,
        want: RecordKind,
        targets: Vec<Ipv4Addr>,
        version: u64,
    ) {
        let Some(name) = p.question().map(|q| q.name) else {
            return;
        };
        if self.pending.len() >= self.config.max_pending {
            let r =
                Message::negative_registration_response(p.id, name, Rcode::ServerFailure, entry);
            self.out.send(from, &r);
            return;
        }
        self.out.stats.challenges += 1;
        let sends = self.config.challenge_sends.max(1);
        let longest = self
            .config
            .challenge_interval
            .saturating_mul(u32::from(sends))
            .saturating_mul(u32::try_from(targets.len()).unwrap_or(u32::MAX));
        let wack_ttl = self.config.wack_ttl_base.saturating_add(
            u32::try_from(longest.as_secs() + u64::from(longest.subsec_nanos() > 0))
                .unwrap_or(u32::MAX),
        );
        let wack = Message::wack(p.id, name, wack_ttl, p.flags, RrType::Nb);
        self.out.send(from, &wack);
        let challenge_id = self.ids.next_id();
        self.pending.insert(
            key,
            Pending {
                requester: from,
                request_id: p.id,
                entry,
                ttl,
                want,
                targets,
                index: 0,
                sends_left: sends - 1,
                challenge_id,
                deadline: now + self.config.challenge_interval,
                version,
            },
        );
        self.refresh_pending_min();
        self.send_challenge(key);
    }

    fn refresh_pending_min(&mut self) {
        self.pending_min = self.pending.values().map(|p| p.deadline).min();
    }

    fn scope_labels(scopes: &ScopeTable, scope: u32) -> Labels<'_> {
        scopes.labels(scope)
    }

    /// Sends the challenge query (a name query, RD set as Samba4 sends it)
    /// to the current target's port 137.
    fn send_challenge(&mut self, key: Key) {
        let Some(pd) = self.pending.get(&key) else {
            return;
        };
        let Some(&target) = pd.targets.get(pd.index) else {
            return;
        };
        let scope = Self::scope_labels(&self.scopes, key.scope);
        let q = Message::name_query_request(pd.challenge_id, Name::new(key.name, scope), false);
        self.out
            .send(SocketAddrV4::new(target, NAME_SERVICE_PORT), &q);
    }

    fn challenge_timeout(&mut self, now: Instant, key: Key) {
        let interval = self.config.challenge_interval;
        let Some(pd) = self.pending.get_mut(&key) else {
            return;
        };
        if pd.sends_left > 0 {
            pd.sends_left -= 1;
            pd.deadline = now + interval;
            self.refresh_pending_min();
            self.send_challenge(key);
        } else {
            self.next_target(now, key);
        }
    }

    /// The current target is silent or denies the name: challenge the next
    /// one, or accept the registration if none is left.
    fn next_target(&mut self, now: Instant, key: Key) {
        let sends = self.config.challenge_sends.max(1);
        let interval = self.config.challenge_interval;
        let id = self.ids.next_id();
        let Some(pd) = self.pending.get_mut(&key) else {
            return;
        };
        pd.index += 1;
        if pd.index < pd.targets.len() {
            pd.sends_left = sends - 1;
            pd.challenge_id = id;
            pd.deadline = now + interval;
            self.refresh_pending_min();
            self.send_challenge(key);
            return;
        }
        if let Some(pd) = self.pending.remove(&key) {
            self.refresh_pending_min();
            self.finish_challenge(now, key, pd, None);
        }
    }

    /// Ends a challenge: `owner_addrs` is `None` when the old owner is gone
    /// (take over), or the addresses it answered with (merge if they include
    /// the requested address, else ACT_ERR).
    fn finish_challenge(
        &mut self,
        now: Instant,
        key: Key,
        pd: Pending,
        owner_addrs: Option<&[NbAddrEntry]>,
    ) {
        let scope = Self::scope_labels(&self.scopes, key.scope);
        let name = Name::new(key.name, scope);
        let deny =
            Message::negative_registration_response(pd.request_id, name, Rcode::Active, pd.entry);
        let positive =
            Message::positive_registration_response(pd.request_id, name, pd.ttl, pd.entry);
        let deadline = self.secs_ceil(now).saturating_add(pd.ttl);
        let me = self.config.address;
        let stored = if pd.want == RecordKind::NormalGroup {
            NbAddrEntry::new(pd.entry.flags, Ipv4Addr::BROADCAST)
        } else {
            pd.entry
        };
        let Some(rec) = self.records.get_mut(&key) else {
            // Removed meanwhile (cannot happen within an extinction
            // timeout, but stay total): refuse rather than re-create.
            self.out.send(pd.requester, &deny);
            return;
        };
        if rec.version != pd.version {
            self.out.send(pd.requester, &deny);
            return;
        }
        match owner_addrs {
            Some(addrs) => {
                let merge =
                    !pd.want.is_group() && addrs.iter().any(|e| e.address == pd.entry.address);
                if !merge {
                    self.out.send(pd.requester, &deny);
                    return;
                }
                // The old owner is the same multi-homed host and already
                // holds the new address: merge.
                self.out.members.pin(key, rec);
                if !rec.addrs.contains(pd.entry.address) {
                    rec.addrs.push_capped(pd.entry);
                }
                self.out.members.claim(key, pd.entry.address, me);
                rec.kind = RecordKind::Multihomed;
            }
            None => {
                rec.kind = pd.want;
                rec.addrs = Addrs::One(stored);
                self.out.members.forget(key);
            }
        }
        rec.version = self.out.journal.bump();
        rec.owner = me;
        rec.state = RecordState::Active;
        set_deadline(&mut self.heap, key, rec, deadline);
        self.out
            .note(EventKind::Changed, key, self.scopes.as_slice(), rec);
        self.out.ack(pd.requester, &positive, Some(key));
        self.tidy_index();
    }

    /// Responses are accepted only as answers to a pending challenge: from
    /// exactly the address and port the challenge query went to, before
    /// its deadline, with its transaction ID, naming the challenged name in
    /// its scope.
    fn on_response(&mut self, now: Instant, from: SocketAddrV4, p: &Packet<'_>) {
        if self.replica_challenge_response(now, from, p) || self.verification_response(now, from, p)
        {
            return;
        }
        let found = self
            .pending
            .iter()
            .find(|(_, pd)| {
                pd.challenge_id == p.id
                    && now <= pd.deadline
                    && pd
                        .targets
                        .get(pd.index)
                        .is_some_and(|&t| from == SocketAddrV4::new(t, NAME_SERVICE_PORT))
            })
            .map(|(k, _)| *k);
        let Some(key) = found else {
            self.out.stats.dropped += 1;
            return;
        };
        let Some(answer) = p.answer() else {
            self.out.stats.dropped += 1;
            return;
        };
        if answer.name.netbios != key.name
            || answer.name.scope != Self::scope_labels(&self.scopes, key.scope)
        {
            self.out.stats.dropped += 1;
            return;
        }
        match p.kind() {
            PacketKind::PositiveNameQueryResponse => {
                let mut addrs =
                    [NbAddrEntry::new(Default::default(), Ipv4Addr::UNSPECIFIED); MAX_RECORD_ADDRS];
                let mut n = 0;
                for (slot, e) in addrs
                    .iter_mut()
                    .zip(answer.nb().iter().flat_map(|a| a.iter()))
                {
                    *slot = e;
                    n += 1;
                }
                if let Some(pd) = self.pending.remove(&key) {
                    self.refresh_pending_min();
                    let got = addrs.get(..n).unwrap_or_default();
                    self.finish_challenge(now, key, pd, Some(got));
                }
            }
            PacketKind::NegativeNameQueryResponse => self.next_target(now, key),
            _ => self.out.stats.dropped += 1,
        }
    }

    /// Release (RFC 1002 §4.2.9): always answered positively. It changes
    /// the record only when the datagram comes from one of the record's
    /// addresses (Samba4 compares the source address): a unique record is
    /// released; a multi-homed record or special group loses that address,
    /// and is released with its last one; a normal group is left to time out
    /// (as nmbd). The version ID does not change.
    fn on_release(&mut self, now: Instant, from: SocketAddrV4, p: &Packet<'_>) {
        let Some((name, _, entry)) = name_request(p) else {
            self.out.stats.dropped += 1;
            return;
        };
        if self.backlog_full() {
            return;
        }
        self.out.stats.releases += 1;
        let reply = Message::positive_release_response(p.id, name, entry);
        let mut about = None;
        if let Ok(Some(scope)) = self.find_scope(&name.scope) {
            let key = Key {
                name: name.netbios,
                scope,
            };
            about = Some(key);
            let src = *from.ip();
            let extinct = self
                .secs_ceil(now)
                .saturating_add(self.config.extinction_interval);
            if let Some(rec) = self.records.get_mut(&key)
                && rec.state == RecordState::Active
                && rec.addrs.contains(src)
            {
                match rec.kind {
                    RecordKind::NormalGroup => {}
                    RecordKind::Multihomed | RecordKind::SpecialGroup if rec.addrs.remove(src) => {
                        self.note_change(key, EventKind::Changed);
                    }
                    _ => {
                        rec.state = RecordState::Released;
                        set_deadline(&mut self.heap, key, rec, extinct);
                        self.reclaim.push(rec.state, rec.deadline, key);
                        self.note_change(key, EventKind::Released);
                    }
                }
            }
        }
        self.out.ack(from, &reply, about);
    }
}

#[cfg(test)]
mod tests;
