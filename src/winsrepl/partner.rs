//! A WINS replication partner (MS-WINSRA 3.2, 3.3), sans-IO: it drives
//! [`Association`]s over TCP connections the embedder owns, as pull
//! partner and as push partner, and talks to the WINS database through
//! [`ReplicationDb`].
//!
//! # Run loop
//!
//! Inputs: [`Partner::handle_connected`] (an accepted connection on TCP 42,
//! or one [`Partner::poll_connect`] asked for), [`Partner::handle_received`],
//! [`Partner::handle_closed`], [`Partner::handle_connect_failed`],
//! [`Partner::handle_timeout`], and [`Partner::handle_db_changed`] after our
//! records changed. After every input, drain in this order:
//! [`Partner::poll_connect`] (open TCP to that address), [`Partner::poll_send`]
//! (write the bytes), [`Partner::poll_close`] (close once what was queued
//! for it is written), [`Partner::poll_event`]; then wait for input or
//! [`Partner::poll_timeout`].
//!
//! # Behaviour
//!
//! * **Pull** (partners with [`PullConfig`](crate::winsrepl::PullConfig)):
//!   at start, every interval, after a failure with a growing retry delay,
//!   and on an update notification. A pull asks for the owner-version map,
//!   then, for each owner whose max version exceeds what the database
//!   holds, for the versions above it only (MS-WINSRA 3.2.5.1). An UPDATE
//!   is answered on the same stream (the role reversal Samba and
//!   smbtorture use: Name Records Requests at once, then a stop); an
//!   INFORM starts a pull over our own association, seeded with the
//!   notification's map.
//! * **Push** (partners with [`PushConfig`](crate::winsrepl::PushConfig)):
//!   a notification at start when our counter reaches the change count,
//!   and whenever it has advanced by the change count since the last one;
//!   changes within [`ReplicationConfig::notify_delay`] are one
//!   notification. Map and name records requests are answered.
//! * **Refusals** (as Samba does): a replication message from an address
//!   that is not a partner, a request from a partner we do not push to, a
//!   notification from one we do not pull from, get a stop with reason 4,
//!   and the connection is closed.
//! * **Bounds**: connections, bytes queued per connection, records per
//!   reply, owners per map, requests per pull and held events are capped
//!   by [`ReplicationConfig`]; the input buffer of a connection by
//!   [`AssociationConfig::max_message_len`](crate::winsrepl::AssociationConfig::max_message_len).
//!   Records of a reply outside the requested range are dropped.

use core::net::{Ipv4Addr, SocketAddrV4};
use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use crate::winsrepl::{
    ApplyOutcome, Association, AssociationError, Body, BodyRepr, Event, NameRecordRepr,
    NameRecords, OwnerRecord, OwnerTableRepr, PartnerConfig, Received, Replica, ReplicationConfig,
    ReplicationDb, StopReason, UpdateKind,
};

/// The embedder's name for one TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnectionId(pub u64);

/// Why a peer was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Refusal {
    /// Its address is not a configured partner.
    NonPartner,
    /// It asked for records, but we do not push to it.
    NotPushPartner,
    /// It notified us, but we do not pull from it.
    NotPullPartner,
    /// [`ReplicationConfig::max_connections`] are open, or
    /// [`ReplicationConfig::max_non_partner_connections`] from non-partners.
    TooManyConnections,
    /// It asked for more than [`ReplicationConfig::max_queued_bytes`]
    /// before reading.
    Overloaded,
    /// A command this crate does not know (Samba closes the connection
    /// too).
    UnknownCommand,
}

/// Why an association ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Down {
    /// Our work on it was done and we stopped it.
    Finished,
    /// The peer stopped it.
    Stopped(StopReason),
    /// The peer closed the connection; `clean` is false when it did so in
    /// the middle of a message.
    Closed {
        /// Whether the stream ended between messages.
        clean: bool,
    },
    /// It failed (framing, parse, timeouts).
    Failed(AssociationError),
    /// Nothing arrived for [`ReplicationConfig::idle_timeout`].
    Idle,
    /// We refused the peer.
    Refused(Refusal),
}

/// What records a pull brought, by [`ApplyOutcome`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ApplyCounts {
    /// New records.
    pub added: u32,
    /// Replaced local records (release demands included).
    pub replaced: u32,
    /// Kept local records.
    pub kept: u32,
    /// Our records that got a new version to replicate back.
    pub propagated: u32,
    /// Merged special group or multihomed records.
    pub merged: u32,
    /// Replicas waiting for a challenge's answer.
    pub challenging: u32,
    /// Refused by the database, malformed, or outside the requested range.
    pub rejected: u32,
}

impl ApplyCounts {
    fn add(&mut self, outcome: ApplyOutcome) {
        let field = match outcome {
            ApplyOutcome::Added => &mut self.added,
            ApplyOutcome::Replaced | ApplyOutcome::ReleaseDemanded => &mut self.replaced,
            ApplyOutcome::Kept => &mut self.kept,
            ApplyOutcome::Propagated => &mut self.propagated,
            ApplyOutcome::Merged => &mut self.merged,
            ApplyOutcome::Challenging => &mut self.challenging,
            ApplyOutcome::Refused => &mut self.rejected,
        };
        *field = field.saturating_add(1);
    }
}

/// What a [`Partner`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PartnerEvent {
    /// An association is set up.
    AssociationUp {
        /// The connection.
        conn: ConnectionId,
        /// The peer.
        peer: SocketAddrV4,
        /// Whether we opened the connection.
        initiator: bool,
    },
    /// An association is over; its connection is in
    /// [`Partner::poll_close`].
    AssociationDown {
        /// The connection.
        conn: ConnectionId,
        /// The peer.
        peer: SocketAddrV4,
        /// Why.
        why: Down,
    },
    /// A Name Records Response of one owner's records was applied.
    Pulled {
        /// The partner it came from.
        partner: Ipv4Addr,
        /// The owner of the records.
        owner: Ipv4Addr,
        /// The versions asked for.
        versions: (u64, u64),
        /// Records in the response.
        records: usize,
        /// What became of them.
        applied: ApplyCounts,
    },
    /// A pull from a partner is complete.
    PullDone {
        /// The partner.
        partner: Ipv4Addr,
        /// Records received in all.
        records: u64,
    },
    /// An update notification went to a partner.
    NotificationSent {
        /// The partner.
        partner: Ipv4Addr,
        /// UPDATE or INFORM.
        kind: UpdateKind,
        /// Our version counter in it.
        version: u64,
    },
    /// A partner notified us.
    NotificationReceived {
        /// The partner.
        partner: Ipv4Addr,
        /// Which notification.
        kind: UpdateKind,
    },
    /// We answered a Name Records Request.
    Served {
        /// The partner.
        partner: Ipv4Addr,
        /// The owner asked for.
        owner: Ipv4Addr,
        /// Records sent.
        records: usize,
    },
    /// A peer was refused (the association then goes down).
    Refused {
        /// The connection.
        conn: ConnectionId,
        /// The peer.
        peer: SocketAddrV4,
        /// Why.
        reason: Refusal,
    },
    /// A connection [`Partner::poll_connect`] asked for could not be
    /// opened.
    ConnectFailed {
        /// The partner.
        peer: SocketAddrV4,
    },
}

/// Why we asked for an outgoing connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Pull,
    Notify,
}

/// One owner's versions still to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    owner: Ipv4Addr,
    from: u64,
    to: u64,
}

/// A pull running on one connection.
#[derive(Debug)]
struct Pull {
    /// Waiting for the owner-version map.
    awaiting_map: bool,
    todo: VecDeque<Range>,
    /// The request in flight.
    current: Option<Range>,
    requests: usize,
    records: u64,
}

impl Pull {
    fn new(awaiting_map: bool) -> Self {
        Self {
            awaiting_map,
            todo: VecDeque::new(),
            current: None,
            requests: 0,
            records: 0,
        }
    }
}

/// What a connection is for.
#[derive(Debug)]
enum Job {
    /// Answer requests; an UPDATE turns it into a pull.
    Serve,
    /// Pull records.
    Pull(Pull),
    /// Send a notification once associated, then serve.
    Notify(UpdateKind),
    /// Our work is done; the stop is queued.
    Finished,
}

#[derive(Debug)]
struct Conn {
    peer: SocketAddrV4,
    partner: Option<usize>,
    assoc: Association,
    job: Job,
    /// Why we opened it, if we did.
    purpose: Option<Purpose>,
    idle_deadline: Instant,
    /// Bytes in [`Partner::sends`] for this connection.
    queued: usize,
    why: Option<Down>,
    /// Whether our notification went out on it.
    notified: bool,
}

/// Per-partner schedule.
#[derive(Debug, Default)]
struct PartnerState {
    /// Connections asked for and not yet connected, in order.
    awaiting: VecDeque<Purpose>,
    pulling: bool,
    pull_again: bool,
    /// The map of an INFORM, for the next pull.
    seed: Vec<OwnerRecord>,
    next_pull: Option<Instant>,
    failures: u32,
    /// Our version counter at the last notification.
    notified: u64,
    /// `notified` before the notification under way, restored when it
    /// fails.
    notified_before: u64,
    notify_at: Option<Instant>,
    notifying: bool,
    /// Whether the notification under way is the retry of a failed one
    /// (a failed notification is retried once, as Samba does).
    notify_retry: bool,
}

/// A WINS replication partner over embedder-owned connections (see the
/// module docs for the run loop).
///
/// ```
/// use core::net::{Ipv4Addr, SocketAddrV4};
/// use std::time::Instant;
/// use nbns::winsrepl::{
///     ConnectionId, MemoryDb, Partner, PartnerConfig, PartnerEvent, ReplicationConfig,
/// };
///
/// let us = Ipv4Addr::new(10, 0, 0, 1);
/// let samba = Ipv4Addr::new(10, 0, 0, 2);
/// let mut db = MemoryDb::new(us, 10_000);
/// let config = ReplicationConfig::new(us, vec![PartnerConfig::push_pull(samba)]);
/// let mut seed = 0x9e37_79b9u32; // use the OS random source in production
/// let mut partner = Partner::new(config, &db, move || {
///     seed = seed.rotate_left(5) ^ 0x5bd1_e995;
///     seed
/// });
/// // It pulls at start: open TCP 42 to the partner and say so.
/// let to = partner.poll_connect().unwrap();
/// assert_eq!(to, SocketAddrV4::new(samba, 42));
/// partner.handle_connected(ConnectionId(1), to, Instant::now());
/// // The association's start request goes out first.
/// let (conn, start) = partner.poll_send().unwrap();
/// assert_eq!((conn, start.len()), (ConnectionId(1), 45));
/// // ... then feed what the socket reads to `handle_received(&mut db, ..)`.
/// # let _ = &mut db;
/// ```
pub struct Partner {
    config: ReplicationConfig,
    states: Vec<PartnerState>,
    conns: BTreeMap<ConnectionId, Conn>,
    connects: VecDeque<SocketAddrV4>,
    sends: VecDeque<(ConnectionId, Vec<u8>)>,
    closes: VecDeque<ConnectionId>,
    events: VecDeque<PartnerEvent>,
    dropped_events: u64,
    handles: Box<dyn FnMut() -> u32 + Send>,
    own_version: u64,
    scratch: Vec<Replica>,
}

impl core::fmt::Debug for Partner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Partner")
            .field("owner", &self.config.owner)
            .field("connections", &self.conns.len())
            .field("own_version", &self.own_version)
            .finish_non_exhaustive()
    }
}

impl Partner {
    /// A partner with this configuration, over `db`. `handles` draws the
    /// association handles (non-zero ones are used; feed it from the
    /// operating system's random source: MS04-045 shows what a guessable
    /// handle costs). Pulls from every pull partner and notifies push
    /// partners whose change count our counter has reached, at once.
    pub fn new(
        config: ReplicationConfig,
        db: &dyn ReplicationDb,
        handles: impl FnMut() -> u32 + Send + 'static,
    ) -> Self {
        let states = config
            .partners
            .iter()
            .map(|_| PartnerState::default())
            .collect();
        let mut p = Self {
            own_version: db.max_version(config.owner),
            config,
            states,
            conns: BTreeMap::new(),
            connects: VecDeque::new(),
            sends: VecDeque::new(),
            closes: VecDeque::new(),
            events: VecDeque::new(),
            dropped_events: 0,
            handles: Box::new(handles),
            scratch: Vec::new(),
        };
        for (i, partner) in p.config.partners.clone().into_iter().enumerate() {
            if partner.pull.is_some() {
                p.start_pull(i);
            }
            if let Some(push) = partner.push
                && push.change_count > 0
                && p.own_version >= push.change_count
            {
                p.start_notify(i);
            }
        }
        p
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &ReplicationConfig {
        &self.config
    }

    /// Open connections.
    #[must_use]
    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// Events dropped because [`ReplicationConfig::max_events`] were held.
    #[must_use]
    pub fn dropped_events(&self) -> u64 {
        self.dropped_events
    }

    /// Bytes of memory held for connections: input buffers and queued
    /// output. Bounded by the caps of [`ReplicationConfig`].
    #[must_use]
    pub fn buffered_bytes(&self) -> usize {
        self.conns
            .values()
            .map(|c| c.assoc.buffered_capacity() + c.queued)
            .sum()
    }

    /// A connection is open: one accepted on TCP 42, or one that
    /// [`Partner::poll_connect`] asked for. A connection to exactly the
    /// address of a partner we are waiting to connect to is taken as ours
    /// (we start the association); any other as the peer's.
    pub fn handle_connected(&mut self, conn: ConnectionId, peer: SocketAddrV4, now: Instant) {
        if self.conns.contains_key(&conn) {
            return;
        }
        let partner = self.config.partner_index(*peer.ip());
        let ours = partner.filter(|&i| {
            self.partner_config(i).is_some_and(|p| p.address == peer)
                && self.states.get(i).is_some_and(|s| !s.awaiting.is_empty())
        });
        let purpose = ours.and_then(|i| self.states.get_mut(i)?.awaiting.pop_front());
        let strangers = self.conns.values().filter(|c| c.partner.is_none()).count();
        let full = self.conns.len() >= self.config.max_connections
            || (partner.is_none() && strangers >= self.config.max_non_partner_connections);
        if full {
            self.closes.push_back(conn);
            self.event(PartnerEvent::Refused {
                conn,
                peer,
                reason: Refusal::TooManyConnections,
            });
            if let (Some(i), Some(purpose)) = (ours, purpose) {
                self.purpose_failed(i, purpose, now);
            }
            return;
        }
        let handle = self.draw_handle();
        let cfg = self.config.association;
        let (assoc, job) = match purpose {
            Some(Purpose::Pull) => (
                Association::connect(now, cfg, handle),
                Job::Pull(Pull::new(true)),
            ),
            Some(Purpose::Notify) => {
                let kind = match partner.and_then(|i| self.partner_config(i)?.push) {
                    Some(p) if p.use_inform => UpdateKind::Inform,
                    _ => UpdateKind::Update,
                };
                (Association::connect(now, cfg, handle), Job::Notify(kind))
            }
            None => (Association::accept(cfg, handle), Job::Serve),
        };
        let c = Conn {
            peer,
            partner,
            assoc,
            job,
            purpose,
            idle_deadline: now + self.config.idle_timeout,
            queued: 0,
            why: None,
            notified: false,
        };
        self.conns.insert(conn, c);
        self.drive(None, conn, now);
    }

    /// A connection [`Partner::poll_connect`] asked for could not be
    /// opened.
    pub fn handle_connect_failed(&mut self, peer: SocketAddrV4, now: Instant) {
        let Some(i) = self.config.partners.iter().position(|p| p.address == peer) else {
            return;
        };
        if let Some(purpose) = self.states.get_mut(i).and_then(|s| s.awaiting.pop_front()) {
            self.event(PartnerEvent::ConnectFailed { peer });
            self.purpose_failed(i, purpose, now);
        }
    }

    /// Bytes arrived on a connection.
    pub fn handle_received(
        &mut self,
        db: &mut dyn ReplicationDb,
        conn: ConnectionId,
        bytes: &[u8],
        now: Instant,
    ) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.assoc.handle_received(now, bytes);
        self.drive(Some(db), conn, now);
    }

    /// The peer closed a connection (or it broke).
    pub fn handle_closed(&mut self, conn: ConnectionId, now: Instant) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.assoc.handle_closed();
            self.drive(None, conn, now);
        }
    }

    /// Our records changed (call it after the store committed them): a
    /// notification to push partners follows when our counter has
    /// advanced by their change count.
    pub fn handle_db_changed(&mut self, db: &dyn ReplicationDb, now: Instant) {
        self.own_version = db.max_version(self.config.owner);
        for i in 0..self.states.len() {
            self.schedule_notify(i, now);
        }
    }

    /// Time has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        let ids: Vec<ConnectionId> = self.conns.keys().copied().collect();
        for id in ids {
            if let Some(c) = self.conns.get_mut(&id) {
                c.assoc.handle_timeout(now);
                if now >= c.idle_deadline && !c.assoc.is_closed() {
                    c.why = Some(Down::Idle);
                    c.assoc.stop(StopReason::Normal);
                }
            }
            self.drive(None, id, now);
        }
        for i in 0..self.states.len() {
            let Some(st) = self.states.get_mut(i) else {
                continue;
            };
            let pull = st.next_pull.take_if(|t| now >= *t).is_some();
            let notify = st.notify_at.take_if(|t| now >= *t).is_some();
            if pull {
                self.start_pull(i);
            }
            if notify {
                self.start_notify(i);
            }
        }
    }

    /// The next deadline.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let conns = self
            .conns
            .values()
            .flat_map(|c| [c.assoc.poll_timeout(), Some(c.idle_deadline)]);
        let partners = self.states.iter().flat_map(|s| [s.next_pull, s.notify_at]);
        conns.chain(partners).flatten().min()
    }

    /// An address to open a TCP connection to; report the result with
    /// [`Partner::handle_connected`] or [`Partner::handle_connect_failed`].
    #[must_use]
    pub fn poll_connect(&mut self) -> Option<SocketAddrV4> {
        self.connects.pop_front()
    }

    /// Bytes to write to a connection.
    #[must_use]
    pub fn poll_send(&mut self) -> Option<(ConnectionId, Vec<u8>)> {
        let (id, bytes) = self.sends.pop_front()?;
        if let Some(c) = self.conns.get_mut(&id) {
            c.queued = c.queued.saturating_sub(bytes.len());
        }
        Some((id, bytes))
    }

    /// A connection to close, once the bytes queued for it are written.
    #[must_use]
    pub fn poll_close(&mut self) -> Option<ConnectionId> {
        self.closes.pop_front()
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<PartnerEvent> {
        self.events.pop_front()
    }

    fn event(&mut self, e: PartnerEvent) {
        if self.events.len() < self.config.max_events {
            self.events.push_back(e);
        } else {
            self.dropped_events += 1;
        }
    }

    fn draw_handle(&mut self) -> u32 {
        for _ in 0..16 {
            let h = (self.handles)();
            if h != 0 && !self.conns.values().any(|c| c.assoc.own_handle() == h) {
                return h;
            }
        }
        // A source that keeps repeating itself: fall back to the first
        // free handle above the number of connections.
        let mut h = u32::try_from(self.conns.len()).unwrap_or(u32::MAX).max(1);
        while self.conns.values().any(|c| c.assoc.own_handle() == h) {
            h = h.wrapping_add(1).max(1);
        }
        h
    }

    /// The configuration of partner `i`.
    fn partner_config(&self, i: usize) -> Option<PartnerConfig> {
        self.config.partners.get(i).copied()
    }

    fn start_pull(&mut self, i: usize) {
        let (Some(address), Some(st)) = (
            self.config.partners.get(i).map(|p| p.address),
            self.states.get_mut(i),
        ) else {
            return;
        };
        if st.pulling {
            st.pull_again = true;
            return;
        }
        st.pulling = true;
        st.awaiting.push_back(Purpose::Pull);
        self.connects.push_back(address);
    }

    fn start_notify(&mut self, i: usize) {
        let (Some(address), Some(st)) = (
            self.config.partners.get(i).map(|p| p.address),
            self.states.get_mut(i),
        ) else {
            return;
        };
        if st.notifying {
            return;
        }
        st.notifying = true;
        st.notified_before = st.notified;
        st.notified = self.own_version;
        st.awaiting.push_back(Purpose::Notify);
        self.connects.push_back(address);
    }

    fn schedule_notify(&mut self, i: usize, now: Instant) {
        let Some(push) = self.config.partners.get(i).and_then(|p| p.push) else {
            return;
        };
        let Some(st) = self.states.get_mut(i) else {
            return;
        };
        if push.change_count > 0
            && self.own_version.saturating_sub(st.notified) >= push.change_count
            && st.notify_at.is_none()
            && !st.notifying
        {
            st.notify_at = Some(now + self.config.notify_delay);
        }
    }

    fn purpose_failed(&mut self, i: usize, purpose: Purpose, now: Instant) {
        match purpose {
            Purpose::Pull => {
                let pull = self
                    .partner_config(i)
                    .and_then(|p| p.pull)
                    .unwrap_or_default();
                let Some(st) = self.states.get_mut(i) else {
                    return;
                };
                st.pulling = false;
                st.failures = st.failures.saturating_add(1);
                let mut wait = pull.retry.saturating_mul(st.failures);
                if let Some(interval) = pull.interval {
                    wait = wait.min(interval);
                }
                st.next_pull = Some(now + wait);
            }
            Purpose::Notify => {
                let retry = self
                    .partner_config(i)
                    .and_then(|p| p.pull)
                    .unwrap_or_default()
                    .retry;
                let Some(st) = self.states.get_mut(i) else {
                    return;
                };
                st.notifying = false;
                if core::mem::take(&mut st.notify_retry) {
                    // Failed twice: dropped until our records change again.
                    self.schedule_notify(i, now);
                } else {
                    st.notified = st.notified_before;
                    st.notify_retry = true;
                    st.notify_at = Some(now + retry);
                }
            }
        }
    }

    /// Handles what the association of `id` reports, moves its output to
    /// the send queue, and retires it once closed.
    fn drive(&mut self, mut db: Option<&mut dyn ReplicationDb>, id: ConnectionId, now: Instant) {
        let Some(mut c) = self.conns.remove(&id) else {
            return;
        };
        while let Some(e) = c.assoc.poll_event() {
            if matches!(e, Event::Associated { .. } | Event::Replication(_)) {
                // Whole messages keep a connection open; a trickle of
                // bytes does not.
                c.idle_deadline = now + self.config.idle_timeout;
            }
            match e {
                Event::Associated { .. } => {
                    self.event(PartnerEvent::AssociationUp {
                        conn: id,
                        peer: c.peer,
                        initiator: c.purpose.is_some(),
                    });
                    if let Some(db) = db.as_deref_mut() {
                        self.on_associated(db, &mut c, now);
                    }
                }
                Event::Replication(r) => {
                    // Nothing more is answered once the association is over.
                    if let Some(db) = db.as_deref_mut()
                        && !c.assoc.is_closed()
                    {
                        self.on_message(db, id, &mut c, &r, now);
                    }
                }
                Event::Stopped(reason) => {
                    c.why.get_or_insert(Down::Stopped(reason));
                }
                Event::Failed(e) => {
                    c.why.get_or_insert(Down::Failed(e));
                }
                Event::Closed { clean } => {
                    c.why.get_or_insert(Down::Closed { clean });
                }
            }
            self.take_output(id, &mut c);
            if c.queued > self.config.max_queued_bytes && !c.assoc.is_closed() {
                self.refuse(id, &mut c, Refusal::Overloaded);
            }
        }
        self.take_output(id, &mut c);
        if c.assoc.is_closed() {
            self.retire(id, c, now);
        } else {
            self.conns.insert(id, c);
        }
    }

    /// Moves what the association queued to the send queue.
    fn take_output(&mut self, id: ConnectionId, c: &mut Conn) {
        while let Some(bytes) = c.assoc.poll_send() {
            c.queued += bytes.len();
            self.sends.push_back((id, bytes));
        }
    }

    fn retire(&mut self, id: ConnectionId, c: Conn, now: Instant) {
        self.closes.push_back(id);
        let why = c.why.unwrap_or(Down::Finished);
        self.event(PartnerEvent::AssociationDown {
            conn: id,
            peer: c.peer,
            why,
        });
        let Some(i) = c.partner else { return };
        match (c.purpose, &c.job) {
            (Some(Purpose::Pull), Job::Finished) | (None, _) => {}
            (Some(Purpose::Notify), _) if c.notified => {
                if let Some(st) = self.states.get_mut(i) {
                    st.notifying = false;
                    st.notify_retry = false;
                }
                self.schedule_notify(i, now);
            }
            (Some(purpose), _) => self.purpose_failed(i, purpose, now),
        }
    }

    fn on_associated(&mut self, db: &mut dyn ReplicationDb, c: &mut Conn, now: Instant) {
        match c.job {
            Job::Pull(ref mut pull) if pull.awaiting_map && pull.requests == 0 => {
                let seed = c
                    .partner
                    .and_then(|i| self.states.get_mut(i))
                    .map(|s| core::mem::take(&mut s.seed))
                    .unwrap_or_default();
                if seed.is_empty() {
                    let _ = c.assoc.send(now, BodyRepr::TableQuery);
                } else {
                    pull.awaiting_map = false;
                    plan(&self.config, db, pull, seed.iter().copied());
                    self.next_request(c, now);
                }
            }
            Job::Notify(kind) => {
                let mut owners = Vec::new();
                db.owner_versions(&mut owners);
                owners.truncate(self.config.max_owners);
                let table = OwnerTableRepr {
                    owners: &owners,
                    initiator: self.config.owner,
                };
                if c.assoc
                    .send(now, BodyRepr::UpdateNotification(kind, table))
                    .is_ok()
                {
                    c.notified = true;
                    self.event(PartnerEvent::NotificationSent {
                        partner: *c.peer.ip(),
                        kind,
                        version: self.own_version,
                    });
                }
                if kind.persistent() {
                    // The partner pulls over its own association.
                    c.job = Job::Finished;
                    c.assoc.stop(StopReason::Normal);
                } else {
                    // The partner pulls on this stream.
                    c.job = Job::Serve;
                }
            }
            _ => {}
        }
    }

    fn refuse(&mut self, id: ConnectionId, c: &mut Conn, reason: Refusal) {
        self.event(PartnerEvent::Refused {
            conn: id,
            peer: c.peer,
            reason,
        });
        c.why = Some(Down::Refused(reason));
        c.assoc.stop(StopReason::Error);
    }

    fn on_message(
        &mut self,
        db: &mut dyn ReplicationDb,
        id: ConnectionId,
        c: &mut Conn,
        r: &Received,
        now: Instant,
    ) {
        let Some(m) = r.message() else { return };
        let Some(i) = c.partner else {
            return self.refuse(id, c, Refusal::NonPartner);
        };
        let Some(partner) = self.partner_config(i) else {
            return;
        };
        match m.body {
            Body::TableQuery | Body::SendRequest(_) if partner.push.is_none() => {
                self.refuse(id, c, Refusal::NotPushPartner);
            }
            Body::UpdateNotification(..) if partner.pull.is_none() => {
                self.refuse(id, c, Refusal::NotPullPartner);
            }
            Body::TableQuery => {
                let mut owners = Vec::new();
                db.owner_versions(&mut owners);
                owners.truncate(self.config.max_owners);
                let table = OwnerTableRepr {
                    owners: &owners,
                    initiator: Ipv4Addr::UNSPECIFIED,
                };
                let _ = c.assoc.send(now, BodyRepr::TableReply(table));
            }
            Body::SendRequest(request) => self.serve(db, c, request, now),
            Body::UpdateNotification(kind, table) => {
                self.event(PartnerEvent::NotificationReceived {
                    partner: *c.peer.ip(),
                    kind,
                });
                if kind.persistent() {
                    if let Some(st) = self.states.get_mut(i) {
                        st.seed = table.owners.iter().take(self.config.max_owners).collect();
                    }
                    self.start_pull(i);
                } else if matches!(c.job, Job::Serve) {
                    // The role reversal: pull on this stream at once.
                    let mut pull = Pull::new(false);
                    plan(&self.config, db, &mut pull, table.owners.iter());
                    c.job = Job::Pull(pull);
                    self.next_request(c, now);
                }
            }
            Body::TableReply(table) => {
                if let Job::Pull(pull) = &mut c.job
                    && pull.awaiting_map
                {
                    pull.awaiting_map = false;
                    plan(&self.config, db, pull, table.owners.iter());
                    self.next_request(c, now);
                }
            }
            Body::SendReply(records) => {
                if let Job::Pull(pull) = &mut c.job
                    && let Some(range) = pull.current.take()
                {
                    let peer = *c.peer.ip();
                    let (event, received) = apply(db, peer, range, records, pull, now);
                    pull.records += received as u64;
                    self.event(event);
                    self.next_request(c, now);
                }
            }
            Body::UnknownCommand { .. } => self.refuse(id, c, Refusal::UnknownCommand),
            _ => {}
        }
    }

    /// Answers a Name Records Request (MS-WINSRA 3.3.5.2): the owner's
    /// active and tombstone records in the range, at most
    /// [`ReplicationConfig::max_records_per_reply`], in version order. A
    /// max of 0 means no upper bound (Samba).
    fn serve(
        &mut self,
        db: &mut dyn ReplicationDb,
        c: &mut Conn,
        request: OwnerRecord,
        now: Instant,
    ) {
        let max = match request.max_version {
            0 => u64::MAX,
            v => v,
        };
        let mut scratch = core::mem::take(&mut self.scratch);
        scratch.clear();
        db.records(
            request.owner,
            request.min_version,
            max,
            self.config.max_records_per_reply,
            &mut scratch,
        );
        let us = self.config.owner;
        let reprs: Vec<NameRecordRepr<'_>> =
            scratch.iter().filter_map(|r| r.to_repr(us).ok()).collect();
        let sent = c.assoc.send(now, BodyRepr::SendReply(&reprs)).is_ok();
        let records = reprs.len();
        drop(reprs);
        scratch.clear();
        if scratch.capacity() > 1024 {
            scratch.shrink_to(1024);
        }
        self.scratch = scratch;
        if sent {
            self.event(PartnerEvent::Served {
                partner: *c.peer.ip(),
                owner: request.owner,
                records,
            });
        }
    }

    /// Sends the pull's next request, or ends the pull.
    fn next_request(&mut self, c: &mut Conn, now: Instant) {
        let Job::Pull(pull) = &mut c.job else { return };
        let next = if pull.requests < self.config.max_requests_per_pull {
            pull.todo.pop_front()
        } else {
            None
        };
        if let Some(range) = next {
            pull.current = Some(range);
            pull.requests += 1;
            let request = OwnerRecord::new(range.owner, range.to, range.from);
            let _ = c.assoc.send(now, BodyRepr::SendRequest(request));
            return;
        }
        let records = pull.records;
        c.job = Job::Finished;
        c.assoc.stop(StopReason::Normal);
        let partner = *c.peer.ip();
        self.event(PartnerEvent::PullDone { partner, records });
        if c.purpose == Some(Purpose::Pull)
            && let Some(i) = c.partner
        {
            let interval = self
                .partner_config(i)
                .and_then(|p| p.pull)
                .and_then(|p| p.interval);
            let Some(st) = self.states.get_mut(i) else {
                return;
            };
            st.pulling = false;
            st.failures = 0;
            st.next_pull = interval.map(|d| now + d);
            if core::mem::take(&mut st.pull_again) {
                self.start_pull(i);
            }
        }
    }
}

/// The ranges a pull asks for, from a partner's map (MS-WINSRA 3.2.5.1,
/// 4.1): each owner (not us) whose max exceeds what `db` holds, from the
/// version above it.
fn plan(
    config: &ReplicationConfig,
    db: &dyn ReplicationDb,
    pull: &mut Pull,
    owners: impl Iterator<Item = OwnerRecord>,
) {
    for o in owners.take(config.max_owners) {
        if o.owner == config.owner || pull.todo.iter().any(|r| r.owner == o.owner) {
            continue;
        }
        let held = db.max_version(o.owner);
        if o.max_version > held {
            pull.todo.push_back(Range {
                owner: o.owner,
                from: held + 1,
                to: o.max_version,
            });
        }
    }
}

/// Applies one Name Records Response to the request `range`. Records
/// outside the range are dropped. When the response ends below the top of
/// the range (a capped reply), the rest is asked for again.
fn apply(
    db: &mut dyn ReplicationDb,
    peer: Ipv4Addr,
    range: Range,
    records: NameRecords<'_>,
    pull: &mut Pull,
    now: Instant,
) -> (PartnerEvent, usize) {
    let mut applied = ApplyCounts::default();
    let mut highest = None;
    // Each counted record is present in the message (NameRecords), so the
    // count is bounded by the bytes received.
    db.reserve(records.len());
    for record in records.iter() {
        if record.version < range.from || record.version > range.to {
            applied.rejected = applied.rejected.saturating_add(1);
            continue;
        }
        match Replica::from_wire(&record, range.owner) {
            Ok(replica) => applied.add(db.apply_replica(&replica, peer, now)),
            Err(_) => applied.rejected = applied.rejected.saturating_add(1),
        }
        highest = highest.max(Some(record.version));
    }
    let reached = match highest {
        Some(h) if h < range.to => {
            pull.todo.push_front(Range {
                from: h + 1,
                ..range
            });
            Some(h)
        }
        Some(_) => Some(range.to),
        None if records.is_empty() => Some(range.to),
        // Nothing usable in a non-empty reply: the map entry stays.
        None => None,
    };
    if let Some(v) = reached {
        db.pulled(range.owner, v, now);
    }
    let event = PartnerEvent::Pulled {
        partner: peer,
        owner: range.owner,
        versions: (range.from, range.to),
        records: records.len(),
        applied,
    };
    (event, records.len())
}
