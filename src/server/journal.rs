//! Durable changes: what the server reports for its embedder to persist,
//! and the acknowledgements it holds until the embedder says they are
//! durable.
//!
//! Windows WINS keeps its records in a transactional database with a log
//! (MS-WINSRA §3.1.1: every record carries a version ID that partners pull
//! by range, so an ID handed out twice breaks replication). The state
//! machine does no I/O: it numbers every change of a record, and every
//! reservation of version IDs, with a sequence number ([`Change::seq`]),
//! hands them out through
//! [`WinsServer::poll_change`](crate::server::WinsServer::poll_change), and
//! sends an answer about a record (a registration, refresh or release)
//! only once the embedder has called
//! [`WinsServer::handle_persisted`](crate::server::WinsServer::handle_persisted)
//! with the sequence number of that record's last change or a later one:
//! the answer to a registration that created the record, and equally a
//! retransmission's answer while that change is not durable. An answer
//! about a record with nothing waiting goes out at once, even while other
//! records' changes wait. One store transaction can so carry many changes
//! and release many answers (group commit).
//!
//! Version IDs are reserved in blocks of [`VERSION_BLOCK`]: before a
//! version above the last reserved mark is used, a
//! [`ChangeItem::VersionMark`] is reported, ahead of the change that uses
//! it. A server restored from a store starts above the stored mark, so a
//! crash can skip version IDs but never issue one twice.

use core::fmt;
use core::net::Ipv4Addr;
use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use crate::hash::KeyedState;
use crate::server::record::Key;
use crate::server::{EventKind, RecordKind, RecordState, Transmit};
use crate::wire::{NbAddrEntry, NetbiosName};

/// Version IDs reserved at a time: a crash skips at most this many.
pub const VERSION_BLOCK: u64 = 1024;

/// When the server may acknowledge a change
/// ([`ServerConfig::durability`](crate::server::ServerConfig::durability)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Durability {
    /// Changes are reported, and an answer that acknowledges one (a
    /// positive registration, a release, a takeover after a challenge) is
    /// sent only after
    /// [`handle_persisted`](crate::server::WinsServer::handle_persisted)
    /// covers it. The default: a client is never told of a registration
    /// that a crash can lose.
    #[default]
    Durable,
    /// Changes are reported, but answers go out at once: a crash loses the
    /// changes acknowledged since the last commit (version IDs stay safe:
    /// the counter's mark is still reported ahead of use).
    AckBeforePersist,
    /// Nothing is reported: an in-memory server, for tests and for
    /// embedders that keep no database.
    Volatile,
}

/// A record as a store keeps it: everything needed to restore it with
/// [`WinsServer::restore`](crate::server::WinsServer::restore).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// The name: 16 raw bytes.
    pub name: NetbiosName,
    /// Its scope ID in dotted form (empty for none).
    pub scope: Box<[u8]>,
    /// The record's kind.
    pub kind: RecordKind,
    /// The record's state.
    pub state: RecordState,
    /// The version ID.
    pub version: u64,
    /// The WINS server owning the record.
    pub owner: Ipv4Addr,
    /// The addresses, oldest first (never empty; at most
    /// [`MAX_RECORD_ADDRS`](crate::server::MAX_RECORD_ADDRS)).
    pub addresses: Box<[NbAddrEntry]>,
    /// The owner of each address, in the order of `addresses`, when a
    /// member of a special group or multihomed record has an owner of its
    /// own (MS-WINSRA 2.2.10.1.1.1); empty when `owner` owns them all.
    pub member_owners: Box<[Ipv4Addr]>,
    /// When the current state ends (expiry, extinction, removal).
    pub deadline: Instant,
}

impl fmt::Display for StoredRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name)?;
        if !self.scope.is_empty() {
            write!(f, ".{}", self.scope.escape_ascii())?;
        }
        let first = self
            .addresses
            .first()
            .map_or(Ipv4Addr::UNSPECIFIED, |e| e.address);
        write!(f, " {} {first} version {}", self.kind, self.version)
    }
}

/// What one durable change is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChangeItem {
    /// Store this record, replacing any of the same name and scope. `event`
    /// says what happened ([`EventKind::Refreshed`] for a renewed TTL).
    Put {
        /// What happened.
        event: EventKind,
        /// The record after the change.
        record: StoredRecord,
    },
    /// Delete the record of this name and scope (its last state, for logs).
    Remove(StoredRecord),
    /// The version counter's high-water mark: no version ID above it is
    /// used before a higher mark is reported. A store keeps the largest.
    VersionMark(u64),
    /// The owner-version map entry of another owner: every version of
    /// `owner` up to `version` has been pulled (MS-WINSRA 3.2.5.1). A
    /// store keeps the largest per owner. It follows, in sequence order,
    /// the replicas the pull stored.
    OwnerVersion {
        /// The owner (a WINS server's address).
        owner: Ipv4Addr,
        /// The highest version pulled.
        version: u64,
    },
}

/// One durable change, from
/// [`WinsServer::poll_change`](crate::server::WinsServer::poll_change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Sequence number: 1, 2, 3, ... in the order the changes happened.
    /// Apply changes in this order.
    pub seq: u64,
    /// The change.
    pub item: ChangeItem,
}

impl fmt::Display for Change {
    /// The log line of a change, such as
    /// `added HOST<20> unique 10.0.0.7 version 3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.item {
            ChangeItem::Put { event, record } => write!(f, "{event} {record}"),
            ChangeItem::Remove(record) => write!(f, "{} {record}", EventKind::Removed),
            ChangeItem::VersionMark(m) => write!(f, "version mark {m}"),
            ChangeItem::OwnerVersion { owner, version } => {
                write!(f, "owner {owner} pulled to version {version}")
            }
        }
    }
}

/// The sequence numbers, the change queue, the held answers and the
/// version counter.
pub(crate) struct Journal {
    pub(crate) mode: Durability,
    changes: VecDeque<Change>,
    /// Answers waiting for durability, each with the sequence number that
    /// must be persisted first, in the order they were made.
    held: VecDeque<(u64, Transmit)>,
    last_seq: u64,
    /// Records whose last change an answer must wait for (every change but
    /// a renewed TTL) is not persisted yet: its sequence number. At most
    /// one entry per change waiting, so bounded with them.
    dirty: HashMap<Key, u64, KeyedState>,
    /// The entries of `dirty` in sequence order, to drop them once
    /// persisted.
    dirty_order: VecDeque<(u64, Key)>,
    persisted: u64,
    /// Next version ID to hand out.
    pub(crate) next_version: u64,
    /// Highest version ID reserved (reported as a mark).
    pub(crate) mark: u64,
}

impl Journal {
    pub(crate) fn new(mode: Durability) -> Self {
        Self {
            mode,
            changes: VecDeque::new(),
            held: VecDeque::new(),
            last_seq: 0,
            dirty: HashMap::default(),
            dirty_order: VecDeque::new(),
            persisted: 0,
            next_version: 1,
            mark: 0,
        }
    }

    /// Hands out the next version ID, reserving a new block first when it
    /// lies above the mark.
    pub(crate) fn bump(&mut self) -> u64 {
        let v = self.next_version;
        if v > self.mark && self.mode != Durability::Volatile {
            self.mark = v.saturating_add(VERSION_BLOCK - 1);
            // No record waits for it directly: the record change that
            // uses the new block follows it, and commits are in order.
            self.push(ChangeItem::VersionMark(self.mark), None);
        }
        self.next_version = v.saturating_add(1);
        v
    }

    /// Queues a change; `holds` names the record whose answers must wait
    /// for it (none for a renewed TTL or a version mark).
    pub(crate) fn push(&mut self, item: ChangeItem, holds: Option<Key>) {
        if self.mode == Durability::Volatile {
            return;
        }
        self.last_seq += 1;
        if let Some(key) = holds {
            self.dirty.insert(key, self.last_seq);
            self.dirty_order.push_back((self.last_seq, key));
        }
        self.changes.push_back(Change {
            seq: self.last_seq,
            item,
        });
    }

    /// Room for `additional` more changes of records.
    pub(crate) fn reserve(&mut self, additional: usize) {
        if self.mode == Durability::Volatile {
            return;
        }
        self.changes.reserve(additional);
        self.dirty.reserve(additional);
        self.dirty_order.reserve(additional);
    }

    pub(crate) fn poll_change(&mut self) -> Option<Change> {
        self.changes.pop_front()
    }

    /// Changes made and not yet persisted (queued or handed out).
    pub(crate) fn backlog(&self) -> u64 {
        self.last_seq - self.persisted
    }

    /// The sequence number an answer about the record `key` must wait
    /// for, if it must wait at all: in durable mode, while a change of
    /// that record (other than a renewed TTL) is not persisted.
    pub(crate) fn must_wait(&self, key: Option<Key>) -> Option<u64> {
        if self.mode != Durability::Durable {
            return None;
        }
        let need = *self.dirty.get(&key?)?;
        (need > self.persisted).then_some(need)
    }

    pub(crate) fn held_len(&self) -> usize {
        self.held.len()
    }

    pub(crate) fn hold(&mut self, need: u64, t: Transmit) {
        self.held.push_back((need, t));
    }

    /// Every change up to `seq` is durable: the answers that waited for
    /// them go to `out`, in the order they were made.
    pub(crate) fn persisted(&mut self, seq: u64, out: &mut VecDeque<Transmit>) {
        self.persisted = self.persisted.max(seq.min(self.last_seq));
        while let Some(&(s, key)) = self.dirty_order.front() {
            if s > self.persisted {
                break;
            }
            self.dirty_order.pop_front();
            if self.dirty.get(&key) == Some(&s) {
                self.dirty.remove(&key);
            }
        }
        let persisted = self.persisted;
        if self.held.is_empty() {
            return;
        }
        let mut keep = VecDeque::with_capacity(self.held.len());
        for (need, t) in self.held.drain(..) {
            if need <= persisted {
                out.push_back(t);
            } else {
                keep.push_back((need, t));
            }
        }
        self.held = keep;
    }
}
