//! A sans-IO NetBIOS name client: registers, refreshes, releases and
//! re-registers (`nbtstat -RR`) names with WINS servers, and answers for
//! them as an end node must (RFC 1001 §15, RFC 1002 §4.2 and §5.1.2,
//! MS-NBTE §3.1).
//!
//! [`NameClient`] never touches a socket, never reads a clock and never draws
//! randomness: the application passes datagrams and the current [`Instant`]
//! in, takes datagrams, a deadline and events out, and injects the source of
//! transaction IDs ([`IdSource`]; in production [`OsRandomIds`], the
//! operating system's random number generator).
//!
//! # Polling order
//!
//! After **every** input — [`handle_datagram`](NameClient::handle_datagram),
//! [`handle_timeout`](NameClient::handle_timeout) or a command such as
//! [`add_name`](NameClient::add_name) — drain
//! [`poll_transmit`](NameClient::poll_transmit) until `None`, drain
//! [`poll_event`](NameClient::poll_event) until `None`, then ask
//! [`poll_timeout`](NameClient::poll_timeout) for the next deadline and call
//! `handle_timeout` when it passes. Timers fire only in `handle_timeout`; a
//! deadline at or before `now` means "call `handle_timeout(now)` now".
//!
//! # Sockets
//!
//! Name service traffic uses UDP port 137. Replies from WINS servers come
//! from port 137 to whatever port the request left from, so an ephemeral port
//! works for requests; but to be challengeable as an owner and to answer
//! node status requests, a node must receive on `<its address>:137`.
//!
//! Registrations, refreshes and **releases must leave from the address they
//! carry** ([`Transmit::source`]): Samba4's WINS server silently ignores a
//! release whose UDP source is not one of the record's addresses, while
//! still answering it positively. On a multi-homed host, bind one socket per
//! address and send each transmit through the socket of its source.
//!
//! # Run loop
//!
//! The crate docs hold [the run loop](crate#the-run-loop) over a std
//! `UdpSocket`; with the `tokio` feature, `nbns::tokio::NameNode` runs
//! it for you.
//!
//! # Behaviour
//!
//! * **Registration** (RFC 1002 §5.1.2.1): to the primary server,
//!   retransmitted every [`retry_interval`](ClientConfig::retry_interval) up
//!   to [`retries_per_server`](ClientConfig::retries_per_server) times, then
//!   to each secondary in turn, each as a new transaction. A WACK stops the
//!   retransmissions and waits its TTL (clamped, see
//!   [`ClientConfig::wack_wait`]); a second WACK in a transaction is
//!   dropped. A positive response registers the name with the TTL the server
//!   granted; a negative one ends in [`NameState::Refused`] with its rcode;
//!   an end-node challenge makes the client query the presumed owner and send
//!   an overwrite request if it is silent or answers negatively. When every
//!   server stays silent, the client reports it and tries again after
//!   [`registration_retry`](ClientConfig::registration_retry). Addresses of a
//!   multi-homed name are registered one after another.
//! * **Refresh** at a fraction of the granted TTL (with a floor), to the
//!   server that granted it, retried and failed over like a registration. A
//!   negative refresh puts the name in conflict; total silence registers the
//!   name again from the primary.
//! * **Release** to every server that granted the name, for every address;
//!   positive, NAM_ERR, other negatives and silence all end in released.
//! * **Re-register all** (`nbtstat -RR`, MS KB 188598): every name is
//!   released, and once every release is done, every name is registered
//!   again, each as a new transaction. Refused within
//!   [`reregister_cooldown`](ClientConfig::reregister_cooldown) of the
//!   previous one.
//! * **Answering.** Unicast and broadcast name queries for a held name get a
//!   positive answer with every address (a WINS server challenges an owner
//!   this way). A unicast query for a name not held gets a negative answer
//!   (NAM_ERR); a broadcast query never does. Node status requests for `*`
//!   or a held name get the names in the requester's scope, at most
//!   [`status_burst`](ClientConfig::status_burst) at once and one per
//!   [`status_interval`](ClientConfig::status_interval) for each source
//!   address (a token bucket: a node status answer is up to eleven times
//!   its request; the other answers are about their request's size). Another node's
//!   registration, overwrite or refresh request for a held unique name gets
//!   a negative registration response with ACT_ERR, whatever its B and RD
//!   bits (RFC 1002 §5.1.1.5, Samba4 `defense.c`); names starting with `*`
//!   are not defended (MS-NBTE §3.1.5.1).
//! * **Conflict demands** (RFC 1002 §4.2.8) are accepted only from a
//!   configured WINS server and only for a name being registered, registered
//!   or refreshing; the name goes to [`NameState::Conflict`], where it is no
//!   longer answered for, defended or refreshed. Anyone else's demand is
//!   dropped: in a P/H-node network the WINS server is the authority, and a
//!   demand is otherwise a one-packet way to knock a name off the network.
//!
//! # Safety against forged and stray datagrams
//!
//! A response is acted upon only if its transaction ID is that of a pending
//! request (IDs come from the [`IdSource`], are kept across retransmissions
//! and are never shared by two pending requests), it comes from the address
//! and port the request went to, its opcode can answer the request (5 for
//! registrations, refreshes and multi-homed registrations, 6 for releases,
//! 0 for challenge queries, 7 as a WACK to any of them), it names the same
//! name and scope, and its record is well formed for its kind (class IN; NB
//! data; a WACK's 2-byte data). Everything else is dropped and counted in
//! [`ClientStats`]. No sequence of datagrams, timeouts and commands panics.
//!
//! # Costs
//!
//! One entry per name of about a hundred bytes plus table overhead; the next
//! deadline comes from a binary heap, never a scan of the names. At most
//! [`NameClient::MAX_NAMES`] names.

mod config;
mod fuzz;
mod index;
mod limiter;
mod reregister;
mod types;

use core::cmp::Reverse;
use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;
use std::collections::{BinaryHeap, HashMap, VecDeque};

use crate::hash::KeyedState;
use std::time::Instant;

pub use crate::ids::{DeterministicIds, IdSource, OsRandomIds};
pub use config::{ClientConfig, RefreshOpcode, RegistrationOpcode};
#[doc(hidden)]
pub use fuzz::fuzz_drive;
pub use types::{
    AddNameError, ClientEvent, ClientStats, ConflictCause, Cooldown, NameInfo, NameSpec, NameState,
    OwnedName, RegistrationOutcome, ReleaseOutcome, ReregisterOutcome, Transmit,
};

use crate::wire::{
    Labels, Message, Name, NameFlags, NbAddrEntry, NbAddrs, NbFlags, NetbiosName, NodeName,
    NodeNames, NodeStatus, Opcode, Packet, PacketKind, RData, Rcode, Statistics,
};

/// What a name's pending transaction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TxnKind {
    /// No request in flight (an armed timer is a refresh or retry time).
    Idle,
    Register,
    Overwrite,
    Challenge,
    Refresh,
    Release,
}

#[derive(Debug, Clone, Copy)]
struct Txn {
    kind: TxnKind,
    id: u16,
    /// Index of the server the request goes to.
    server: u8,
    /// Refresh: the server the round started with.
    start: u8,
    /// Index of the address being registered, refreshed or released.
    addr: u8,
    /// Transmissions so far.
    tries: u8,
    /// Whether a WACK was accepted in this transaction.
    wack: bool,
    /// Challenge: the presumed owner.
    owner: Ipv4Addr,
}

impl Txn {
    const IDLE: Self = Self {
        kind: TxnKind::Idle,
        id: 0,
        server: 0,
        start: 0,
        addr: 0,
        tries: 0,
        wack: false,
        owner: Ipv4Addr::UNSPECIFIED,
    };
}

/// Release outcome ranks, worst last.
const OUT_CONFIRMED: u8 = 0;
const OUT_NOT_FOUND: u8 = 1;
const OUT_SILENT: u8 = 2;
const OUT_REFUSED: u8 = 3;

struct Entry {
    netbios: NetbiosName,
    first_addr: Ipv4Addr,
    extra_addrs: Box<[Ipv4Addr]>,
    /// Granted TTL (the smallest of the last round).
    ttl: u32,
    /// Smallest TTL granted so far in the current round.
    round_ttl: u32,
    /// Servers (bit i = server i) holding the name; during a release, the
    /// servers still to release it at.
    servers: u32,
    /// Stamp of the armed timer; 0 when none.
    stamp: u32,
    scope: u16,
    /// The server that granted the name last.
    home: u8,
    group: bool,
    /// Part of a re-register-all whose release is not done.
    rr: bool,
    state: NameState,
    release_rank: u8,
    release_rcode: Rcode,
    /// Index in the open re-register-all round, or [`reregister::NO_ROUND`].
    round: u32,
    txn: Txn,
}

impl Entry {
    fn addr_count(&self) -> usize {
        1 + self.extra_addrs.len()
    }

    fn addr(&self, i: u8) -> Ipv4Addr {
        match i.checked_sub(1) {
            None => self.first_addr,
            Some(j) => self
                .extra_addrs
                .get(usize::from(j))
                .copied()
                .unwrap_or(self.first_addr),
        }
    }

    fn addrs(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        core::iter::once(self.first_addr).chain(self.extra_addrs.iter().copied())
    }

    fn has_addr(&self, a: Ipv4Addr) -> bool {
        self.addrs().any(|x| x == a)
    }
}

fn key_at(slots: &[Option<Entry>], slot: u32) -> Option<(NetbiosName, u16)> {
    slots
        .get(slot as usize)
        .and_then(Option::as_ref)
        .map(|e| (e.netbios, e.scope))
}

/// A queued datagram; `answer` marks answers, which are capped.
struct Queued {
    transmit: Transmit,
    answer: bool,
}

/// The name client state machine. See the [module docs](self) for the
/// polling order, the behaviour and a run loop.
///
/// ```
/// use std::time::Instant;
/// use core::net::Ipv4Addr;
/// use nbns::client::{ClientConfig, NameClient, NameSpec, NameState};
/// use nbns::wire::{Message, Name, NetbiosName, Packet, PacketKind};
///
/// let server = "10.0.0.1:137".parse().unwrap();
/// let mut client = NameClient::with_os_ids(ClientConfig::with_servers([server]));
/// let now = Instant::now();
/// let name = Name::unscoped(NetbiosName::new("HOST", 0x00).unwrap());
/// client.add_name(now, NameSpec::unique(name, &[Ipv4Addr::new(10, 0, 0, 7)])).unwrap();
///
/// // The registration request goes to the server.
/// let t = client.poll_transmit().unwrap();
/// assert_eq!(t.destination, server);
/// let req = Packet::parse(&t.contents).unwrap();
/// assert_eq!(req.kind(), PacketKind::NameRegistrationRequest);
///
/// // The server grants 600 s; the name is registered.
/// let entry = req.additional().unwrap().nb().unwrap().first().unwrap();
/// let resp = Message::positive_registration_response(req.id, name, 600, entry);
/// let mut buf = [0u8; 128];
/// let n = resp.emit(&mut buf).unwrap();
/// client.handle_datagram(now, server, &buf[..n]);
/// assert_eq!(client.name_state(name), Some(NameState::Registered));
/// // The refresh is due at half the granted TTL.
/// assert_eq!(client.poll_timeout(), Some(now + core::time::Duration::from_secs(300)));
/// ```
pub struct NameClient<I = OsRandomIds> {
    config: ClientConfig,
    ids: I,
    slots: Vec<Option<Entry>>,
    free: Vec<u32>,
    live: usize,
    scopes: Vec<Box<[u8]>>,
    by_name: index::NameIndex,
    by_id: HashMap<u16, u32, KeyedState>,
    status_limiter: limiter::StatusLimiter,
    /// (deadline in ticks since `epoch`, slot, stamp); stale items are
    /// skipped and compacted away.
    timers: BinaryHeap<Reverse<(u64, u32, u32)>>,
    next_stamp: u32,
    epoch: Option<Instant>,
    transmits: VecDeque<Queued>,
    queued_answers: usize,
    events: VecDeque<ClientEvent>,
    stats: ClientStats,
    last_reregister: Option<Instant>,
    /// Re-register-all releases not yet done.
    rr_pending: usize,
    /// Names waiting for the re-register-all registrations.
    rr_waiting: Vec<u32>,
    /// Set while a re-register-all sends its releases.
    rr_starting: bool,
    /// The outcomes of the open re-register-all.
    round: reregister::Round,
}

impl<I> core::fmt::Debug for NameClient<I> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NameClient")
            .field("names", &self.live)
            .field("pending_transactions", &self.by_id.len())
            .field("queued_transmits", &self.transmits.len())
            .field("queued_events", &self.events.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl NameClient<OsRandomIds> {
    /// A client whose transaction IDs come from the operating system's
    /// random number generator ([`OsRandomIds`]): what a client facing a
    /// network wants.
    #[must_use]
    pub fn with_os_ids(config: ClientConfig) -> Self {
        Self::new(config, OsRandomIds::new())
    }
}

impl NameClient<DeterministicIds> {
    /// A client whose transaction IDs come from [`DeterministicIds`] with
    /// this seed: predictable, for tests and simulations only.
    #[must_use]
    pub fn with_deterministic_ids(config: ClientConfig, seed: u64) -> Self {
        Self::new(config, DeterministicIds::new(seed))
    }
}

impl<I: IdSource> NameClient<I> {
    /// Most names a client holds: half the transaction ID space, so that an
    /// ID is always free for every name's transaction.
    pub const MAX_NAMES: usize = 32_768;

    /// A client with this configuration and source of transaction IDs.
    #[must_use]
    pub fn new(config: ClientConfig, ids: I) -> Self {
        Self {
            config,
            ids,
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
            scopes: Vec::new(),
            by_name: index::NameIndex::default(),
            by_id: HashMap::default(),
            status_limiter: limiter::StatusLimiter::default(),
            timers: BinaryHeap::new(),
            next_stamp: 1,
            epoch: None,
            transmits: VecDeque::new(),
            queued_answers: 0,
            events: VecDeque::new(),
            stats: ClientStats::default(),
            last_reregister: None,
            rr_pending: 0,
            rr_waiting: Vec::new(),
            rr_starting: false,
            round: reregister::Round::default(),
        }
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Counters of received, dropped and sent datagrams.
    #[must_use]
    pub fn stats(&self) -> &ClientStats {
        &self.stats
    }

    /// Number of names held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether no name is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Number of requests awaiting an answer.
    #[must_use]
    pub fn pending_transactions(&self) -> usize {
        self.by_id.len()
    }

    /// Approximate heap bytes held by the client's tables, from their
    /// capacities: the name slab, the extra addresses of multi-homed names,
    /// scopes, the name and transaction-ID indexes, the timer heap and the
    /// queues (not the contents of queued datagrams and events). Useful to
    /// check the per-name cost; hash tables are counted as their bucket
    /// arrays plus control bytes.
    #[must_use]
    pub fn memory_usage(&self) -> usize {
        use core::mem::size_of;
        fn table<K, V>(capacity: usize) -> usize {
            if capacity == 0 {
                return 0;
            }
            // hashbrown: buckets = next power of two of capacity * 8 / 7.
            let buckets = (capacity * 8 / 7).next_power_of_two();
            buckets * (size_of::<(K, V)>() + 1) + 16
        }
        self.slots.capacity() * size_of::<Option<Entry>>()
            + self
                .slots
                .iter()
                .flatten()
                .map(|e| e.extra_addrs.len() * size_of::<Ipv4Addr>())
                .sum::<usize>()
            + self.free.capacity() * size_of::<u32>()
            + self.scopes.capacity() * size_of::<Box<[u8]>>()
            + self.scopes.iter().map(|s| s.len()).sum::<usize>()
            + self.by_name.heap_bytes()
            + table::<u16, u32>(self.by_id.capacity())
            + self.status_limiter.heap_bytes()
            + self.timers.capacity() * size_of::<Reverse<(u64, u32, u32)>>()
            + self.transmits.capacity() * size_of::<Queued>()
            + self.events.capacity() * size_of::<ClientEvent>()
            + self.rr_waiting.capacity() * size_of::<u32>()
    }

    /// Number of datagrams waiting in [`poll_transmit`](Self::poll_transmit).
    #[must_use]
    pub fn queued_transmits(&self) -> usize {
        self.transmits.len()
    }

    // ----- outputs -------------------------------------------------------

    /// The next datagram to send, if any. Drain after every input.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        let Some(q) = self.transmits.pop_front() else {
            // Bursts (a re-register-all) leave big buffers behind.
            if self.transmits.capacity() > 64 {
                self.transmits.shrink_to(64);
            }
            return None;
        };
        if q.answer {
            self.queued_answers = self.queued_answers.saturating_sub(1);
        }
        Some(q.transmit)
    }

    /// The next event, if any. Drain after every input.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        let e = self.events.pop_front();
        if e.is_none() && self.events.capacity() > 64 {
            self.events.shrink_to(64);
        }
        e
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called;
    /// `None` when no timer is armed. Found in a heap, not by scanning the
    /// names.
    #[must_use]
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        loop {
            let &Reverse((ticks, slot, stamp)) = self.timers.peek()?;
            if self.timer_is_live(slot, stamp) {
                return Some(self.instant_of(ticks));
            }
            self.timers.pop();
        }
    }

    // ----- inputs --------------------------------------------------------

    /// Fires every timer due at `now`: retransmissions, failovers, WACK
    /// waits, refreshes and registration retries.
    pub fn handle_timeout(&mut self, now: Instant) {
        let limit = self.ticks(now);
        while let Some(&Reverse((ticks, slot, stamp))) = self.timers.peek() {
            if !self.timer_is_live(slot, stamp) {
                self.timers.pop();
                continue;
            }
            if ticks > limit {
                break;
            }
            self.timers.pop();
            if let Some(e) = self.entry_mut(slot) {
                e.stamp = 0;
            }
            self.fire(slot, now);
        }
    }

    /// Handles a datagram received from `from`: a response to one of our
    /// requests, a request to answer, or something to drop.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddrV4, bytes: &[u8]) {
        self.stats.datagrams += 1;
        self.touch(now);
        let Ok(p) = Packet::parse(bytes) else {
            self.stats.dropped_malformed += 1;
            return;
        };
        if p.is_response() {
            self.handle_response(now, from, &p);
        } else {
            self.handle_request(now, from, &p);
        }
    }

    // ----- commands ------------------------------------------------------

    /// Adds a name and starts registering it (or holds it locally when no
    /// server is configured or the name starts with `*`).
    ///
    /// # Errors
    /// [`AddNameError`]: a duplicate, no address, a scope with no dotted
    /// form, or too many names.
    pub fn add_name(&mut self, now: Instant, spec: NameSpec<'_>) -> Result<(), AddNameError> {
        let (slot, local) = self.insert(now, &spec)?;
        if !local {
            self.start_registration(slot, now);
        }
        Ok(())
    }

    /// Takes over a name that is already registered at the primary WINS
    /// server, for instance by an earlier run of the same program, with
    /// `ttl` as the TTL that server granted: nothing is sent now, the name
    /// is [`NameState::Registered`] and its refresh is scheduled from `ttl`.
    ///
    /// This is how a short-lived tool releases or re-registers
    /// ([`reregister_all`](Self::reregister_all)) names a previous process
    /// registered. A name held without WINS servers (or starting with `*`)
    /// is added as [`NameState::Local`], as with [`add_name`](Self::add_name).
    ///
    /// # Errors
    /// As [`add_name`](Self::add_name).
    pub fn adopt_name(
        &mut self,
        now: Instant,
        spec: NameSpec<'_>,
        ttl: u32,
    ) -> Result<(), AddNameError> {
        let (slot, local) = self.insert(now, &spec)?;
        if local {
            return Ok(());
        }
        if let Some(e) = self.entry_mut(slot) {
            e.state = NameState::Registered;
            e.ttl = ttl;
            e.servers = 1;
            e.home = 0;
        }
        if let Some(after) = self.config.refresh_interval(ttl) {
            self.arm(slot, now, after);
        }
        Ok(())
    }

    /// Stores a new name entry; returns its slot and whether it is held
    /// locally only (no WINS server, or a `*` name).
    fn insert(&mut self, now: Instant, spec: &NameSpec<'_>) -> Result<(u32, bool), AddNameError> {
        self.touch(now);
        let Some((&first_addr, extra)) = spec.addresses.split_first() else {
            return Err(AddNameError::NoAddress);
        };
        let scope = self.intern_scope(&spec.name.scope)?;
        if self.find_key(&spec.name.netbios, scope).is_some() {
            return Err(AddNameError::Duplicate);
        }
        if self.live >= Self::MAX_NAMES {
            return Err(AddNameError::TooManyNames);
        }
        let local =
            self.config.server_count() == 0 || spec.name.netbios.as_bytes().first() == Some(&b'*');
        let entry = Entry {
            netbios: spec.name.netbios,
            first_addr,
            extra_addrs: extra.iter().take(254).copied().collect(),
            ttl: 0,
            round_ttl: u32::MAX,
            servers: 0,
            stamp: 0,
            scope,
            home: 0,
            group: spec.group,
            rr: false,
            state: if local {
                NameState::Local
            } else {
                NameState::Registering
            },
            release_rank: OUT_CONFIRMED,
            release_rcode: Rcode::NoError,
            round: reregister::NO_ROUND,
            txn: Txn::IDLE,
        };
        let slot = match self.free.pop() {
            Some(s) => {
                if let Some(cell) = self.slots.get_mut(s as usize) {
                    *cell = Some(entry);
                }
                s
            }
            None => {
                // Grow by a quarter, not double: the slab is most of the
                // per-name memory.
                if self.slots.len() == self.slots.capacity() {
                    self.slots.reserve_exact(self.slots.len() / 4 + 16);
                }
                self.slots.push(Some(entry));
                (self.slots.len() - 1) as u32
            }
        };
        self.live += 1;
        let slots = &self.slots;
        self.by_name.insert(slot, |s| key_at(slots, s));
        Ok((slot, local))
    }

    /// Releases a name: a release request to every server holding it (for
    /// every address), then a [`ClientEvent::Released`] and the name is
    /// gone. A name never registered, refused or in conflict is dropped at
    /// once (a conflicting name is not released at the server, RFC 1001
    /// §15.1.3.2). Returns whether the name was held.
    pub fn release(&mut self, now: Instant, name: Name<'_>) -> bool {
        self.touch(now);
        let Some(slot) = self.find(&name) else {
            return false;
        };
        self.begin_release(slot, now, false);
        true
    }

    /// Releases every name (see [`release`](Self::release)).
    pub fn release_all(&mut self, now: Instant) {
        self.touch(now);
        for slot in self.live_slots() {
            self.begin_release(slot, now, false);
        }
    }

    /// Refreshes every registered name now instead of at its scheduled time.
    pub fn refresh_now(&mut self, now: Instant) {
        self.touch(now);
        for slot in self.live_slots() {
            if self
                .entry(slot)
                .is_some_and(|e| e.state == NameState::Registered)
            {
                self.start_refresh(slot, now);
            }
        }
    }

    /// Re-registers every name (`nbtstat -RR`): releases every name held at a
    /// server, and once every release has ended, registers every name again,
    /// each as a new transaction, so the WINS server creates new records
    /// with new version IDs (MS KB 188598). Names held locally are left
    /// alone; refused and conflicting names are registered again without a
    /// release.
    ///
    /// # Errors
    /// [`Cooldown`] with the time left when called within
    /// [`reregister_cooldown`](ClientConfig::reregister_cooldown) of the last
    /// accepted call.
    pub fn reregister_all(&mut self, now: Instant) -> Result<(), Cooldown> {
        self.touch(now);
        if let Some(last) = self.last_reregister {
            let elapsed = now.saturating_duration_since(last);
            if elapsed < self.config.reregister_cooldown {
                return Err(Cooldown {
                    remaining: self.config.reregister_cooldown - elapsed,
                });
            }
        }
        self.last_reregister = Some(now);
        self.close_round();
        // No registration may start before every release has been sent.
        self.rr_starting = true;
        for slot in self.live_slots() {
            let Some(e) = self.entry(slot) else { continue };
            if matches!(
                e.state,
                NameState::Local | NameState::AwaitingReregister | NameState::Releasing
            ) {
                continue;
            }
            self.join_round(slot);
            self.begin_release(slot, now, true);
        }
        self.rr_starting = false;
        if self.rr_pending == 0 {
            self.start_reregistrations(now);
        }
        Ok(())
    }

    /// The names held, with their states, in no particular order.
    pub fn names(&self) -> impl Iterator<Item = NameInfo<'_>> + '_ {
        self.slots.iter().flatten().map(|e| NameInfo {
            name: Name::new(e.netbios, self.scope_labels(e.scope)),
            group: e.group,
            state: e.state,
            ttl: e.ttl,
            address: e.first_addr,
            address_count: e.addr_count(),
        })
    }

    /// The state of one name, if held.
    #[must_use]
    pub fn name_state(&self, name: Name<'_>) -> Option<NameState> {
        self.find(&name)
            .and_then(|s| self.entry(s))
            .map(|e| e.state)
    }

    // ----- tables --------------------------------------------------------

    fn entry(&self, slot: u32) -> Option<&Entry> {
        self.slots.get(slot as usize).and_then(Option::as_ref)
    }

    fn entry_mut(&mut self, slot: u32) -> Option<&mut Entry> {
        self.slots.get_mut(slot as usize).and_then(Option::as_mut)
    }

    fn live_slots(&self) -> Vec<u32> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, e)| e.is_some())
            .map(|(i, _)| i as u32)
            .collect()
    }

    fn scope_labels(&self, scope: u16) -> Labels<'_> {
        self.scopes
            .get(usize::from(scope))
            .and_then(|s| Labels::from_dotted(s).ok())
            .unwrap_or(Labels::EMPTY)
    }

    fn find_scope(&self, labels: &Labels<'_>) -> Option<u16> {
        self.scopes
            .iter()
            .position(|s| Labels::from_dotted(s).is_ok_and(|l| l == *labels))
            .map(|i| i as u16)
    }

    fn intern_scope(&mut self, labels: &Labels<'_>) -> Result<u16, AddNameError> {
        if let Some(i) = self.find_scope(labels) {
            return Ok(i);
        }
        let mut dotted = Vec::with_capacity(labels.dotted_len());
        for (i, label) in labels.iter().enumerate() {
            if label.contains(&b'.') {
                return Err(AddNameError::BadScope);
            }
            if i > 0 {
                dotted.push(b'.');
            }
            dotted.extend_from_slice(label);
        }
        if Labels::from_dotted(&dotted).is_err() {
            return Err(AddNameError::BadScope);
        }
        if self.scopes.len() >= usize::from(u16::MAX) {
            return Err(AddNameError::TooManyNames);
        }
        self.scopes.push(dotted.into_boxed_slice());
        Ok((self.scopes.len() - 1) as u16)
    }

    fn find(&self, name: &Name<'_>) -> Option<u32> {
        let scope = self.find_scope(&name.scope)?;
        self.find_key(&name.netbios, scope)
    }

    fn find_key(&self, netbios: &NetbiosName, scope: u16) -> Option<u32> {
        let slots = &self.slots;
        self.by_name.find(netbios, scope, |s| key_at(slots, s))
    }

    fn owned_name(&self, slot: u32) -> OwnedName {
        match self.entry(slot) {
            Some(e) => OwnedName::new(
                e.netbios,
                self.scopes
                    .get(usize::from(e.scope))
                    .map_or(&[][..], |s| &s[..]),
            ),
            None => OwnedName::new(NetbiosName::from_raw([0; 16]), b""),
        }
    }

    fn remove(&mut self, slot: u32) {
        self.end_txn(slot);
        let Some((netbios, scope)) = key_at(&self.slots, slot) else {
            return;
        };
        let slots = &self.slots;
        self.by_name
            .remove(slot, &netbios, scope, |s| key_at(slots, s));
        let Some(e) = self.slots.get_mut(slot as usize).and_then(Option::take) else {
            return;
        };
        self.free.push(slot);
        self.live -= 1;
        if e.rr {
            self.rr_release_done();
        }
        if e.round != reregister::NO_ROUND {
            self.round_result(e.round, RegistrationOutcome::Abandoned);
        }
    }

    // ----- time ----------------------------------------------------------

    fn touch(&mut self, now: Instant) {
        if self.epoch.is_none() {
            self.epoch = Some(now);
        }
    }

    fn ticks(&self, t: Instant) -> u64 {
        match self.epoch {
            Some(e) => u64::try_from(t.saturating_duration_since(e).as_nanos()).unwrap_or(u64::MAX),
            None => 0,
        }
    }

    fn instant_of(&self, ticks: u64) -> Instant {
        let epoch = self.epoch.unwrap_or_else(Instant::now);
        epoch
            .checked_add(Duration::from_nanos(ticks))
            .unwrap_or(epoch)
    }

    fn timer_is_live(&self, slot: u32, stamp: u32) -> bool {
        self.entry(slot).is_some_and(|e| e.stamp == stamp)
    }

    /// Arms the name's single timer at `now + after` (replacing any other).
    fn arm(&mut self, slot: u32, now: Instant, after: Duration) {
        self.touch(now);
        let Some(at) = now.checked_add(after) else {
            self.disarm(slot);
            return;
        };
        let ticks = self.ticks(at);
        let stamp = self.next_stamp;
        self.next_stamp = self.next_stamp.wrapping_add(1).max(1);
        let Some(e) = self.entry_mut(slot) else {
            return;
        };
        e.stamp = stamp;
        if self.timers.len() == self.timers.capacity() {
            self.timers.reserve_exact(self.timers.len() / 4 + 16);
        }
        self.timers.push(Reverse((ticks, slot, stamp)));
        if self.timers.len() > self.live + self.live / 8 + 64 {
            let slots = &self.slots;
            self.timers.retain(|&Reverse((_, s, st))| {
                slots
                    .get(s as usize)
                    .and_then(Option::as_ref)
                    .is_some_and(|e| e.stamp == st)
            });
        }
    }

    fn disarm(&mut self, slot: u32) {
        if let Some(e) = self.entry_mut(slot) {
            e.stamp = 0;
        }
    }

    // ----- transactions --------------------------------------------------

    fn fresh_id(&mut self) -> u16 {
        for _ in 0..8 {
            let id = self.ids.next_id();
            if !self.by_id.contains_key(&id) {
                return id;
            }
        }
        // At most MAX_NAMES (half the space) are pending, so probing ends.
        let mut id = self.ids.next_id();
        while self.by_id.contains_key(&id) {
            id = id.wrapping_add(1);
        }
        id
    }

    fn end_txn(&mut self, slot: u32) {
        let Some(e) = self.entry_mut(slot) else {
            return;
        };
        let txn = core::mem::replace(&mut e.txn, Txn::IDLE);
        e.stamp = 0;
        if txn.kind != TxnKind::Idle && self.by_id.get(&txn.id) == Some(&slot) {
            self.by_id.remove(&txn.id);
            if self.by_id.is_empty() && self.by_id.capacity() > 1024 {
                self.by_id.shrink_to(64);
            }
        }
    }

    /// Starts a new transaction (new ID) and sends its first request.
    fn begin(
        &mut self,
        slot: u32,
        now: Instant,
        kind: TxnKind,
        server: u8,
        addr: u8,
        owner: Ipv4Addr,
    ) {
        let prev = self.entry(slot).map(|e| e.txn);
        self.end_txn(slot);
        let id = self.fresh_id();
        let Some(e) = self.entry_mut(slot) else {
            return;
        };
        // A refresh round remembers the server it started with, for failover.
        let start = match prev {
            Some(t) if kind == TxnKind::Refresh && t.kind == TxnKind::Refresh => t.start,
            _ => server,
        };
        e.txn = Txn {
            kind,
            id,
            server,
            start,
            addr,
            tries: 0,
            wack: false,
            owner,
        };
        self.by_id.insert(id, slot);
        self.transmit_request(slot, now);
    }

    fn server_addr(&self, i: u8) -> Option<SocketAddrV4> {
        self.config
            .servers
            .get(usize::from(i))
            .copied()
            .filter(|_| usize::from(i) < self.config.server_count())
    }

    fn destination(&self, e: &Entry) -> Option<SocketAddrV4> {
        match e.txn.kind {
            TxnKind::Idle => None,
            TxnKind::Challenge => Some(SocketAddrV4::new(
                e.txn.owner,
                crate::wire::NAME_SERVICE_PORT,
            )),
            _ => self.server_addr(e.txn.server),
        }
    }

    /// (Re)sends the pending request and arms the retry timer.
    fn transmit_request(&mut self, slot: u32, now: Instant) {
        let Some(e) = self.entry(slot) else {
            return;
        };
        let Some(destination) = self.destination(e) else {
            self.end_txn(slot);
            return;
        };
        let txn = e.txn;
        let name = Name::new(e.netbios, self.scope_labels(e.scope));
        let address = e.addr(txn.addr);
        let entry = NbAddrEntry::new(NbFlags::new(e.group, self.config.node_type), address);
        let ttl = self.config.requested_ttl;
        let multihomed = !e.group
            && match self.config.registration_opcode {
                RegistrationOpcode::Auto => e.addr_count() > 1,
                RegistrationOpcode::Standard => false,
                RegistrationOpcode::Multihomed => true,
            };
        let (packet, source) = match txn.kind {
            TxnKind::Idle => return,
            TxnKind::Register if multihomed => (
                Message::multihomed_registration_request(txn.id, name, ttl, entry),
                Some(address),
            ),
            TxnKind::Register => (
                Message::registration_request(txn.id, name, ttl, entry, false),
                Some(address),
            ),
            TxnKind::Overwrite => (
                Message::overwrite_request(txn.id, name, ttl, entry, false),
                Some(address),
            ),
            TxnKind::Refresh => (
                Message::refresh_request(
                    txn.id,
                    name,
                    ttl,
                    entry,
                    self.config.refresh_opcode == RefreshOpcode::Nine,
                ),
                Some(address),
            ),
            TxnKind::Release => (
                Message::release_request(txn.id, name, entry, false),
                Some(address),
            ),
            TxnKind::Challenge => (Message::name_query_request(txn.id, name, false), None),
        };
        let mut contents = Vec::with_capacity(packet.buffer_len());
        let sent = packet.emit_buf(&mut contents).is_ok();
        if sent {
            self.transmits.push_back(Queued {
                transmit: Transmit {
                    destination,
                    source,
                    contents,
                },
                answer: false,
            });
            self.stats.requests_sent += 1;
            if txn.tries > 0 {
                self.stats.retransmissions += 1;
            }
        }
        if let Some(e) = self.entry_mut(slot) {
            e.txn.tries = e.txn.tries.saturating_add(1);
        }
        let retry = self.config.retry();
        self.arm(slot, now, retry);
    }

    fn fire(&mut self, slot: u32, now: Instant) {
        let Some(e) = self.entry(slot) else {
            return;
        };
        let txn = e.txn;
        let state = e.state;
        match txn.kind {
            TxnKind::Idle => match state {
                NameState::Registered => self.start_refresh(slot, now),
                NameState::Registering => self.start_registration(slot, now),
                _ => {}
            },
            _ if !txn.wack && txn.tries < self.config.tries() => self.transmit_request(slot, now),
            _ => self.on_silence(slot, now),
        }
    }

    /// The peer of the pending request stayed silent (retries or WACK wait
    /// exhausted).
    fn on_silence(&mut self, slot: u32, now: Instant) {
        let Some(e) = self.entry(slot) else {
            return;
        };
        let txn = e.txn;
        let n = self.config.server_count();
        match txn.kind {
            TxnKind::Idle => {}
            TxnKind::Register | TxnKind::Overwrite => {
                let next = usize::from(txn.server) + 1;
                if next < n {
                    self.begin(
                        slot,
                        now,
                        TxnKind::Register,
                        next as u8,
                        0,
                        Ipv4Addr::UNSPECIFIED,
                    );
                } else {
                    self.end_txn(slot);
                    let name = self.owned_name(slot);
                    self.events
                        .push_back(ClientEvent::NoServerAnswered { name });
                    self.round_registered(slot, RegistrationOutcome::NoServerAnswered);
                    let wait = self.config.registration_retry.max(Duration::from_millis(1));
                    self.arm(slot, now, wait);
                }
            }
            TxnKind::Challenge => {
                // RFC 1002 §5.1.2.1: no answer from the presumed owner, so
                // the name may be taken over.
                self.take_over(slot, now, &txn);
            }
            TxnKind::Refresh => {
                let next = ((usize::from(txn.server) + 1) % n.max(1)) as u8;
                if next == txn.start || n <= 1 {
                    self.end_txn(slot);
                    let name = self.owned_name(slot);
                    self.events.push_back(ClientEvent::RefreshTimedOut { name });
                    self.start_registration(slot, now);
                } else {
                    self.begin(slot, now, TxnKind::Refresh, next, 0, Ipv4Addr::UNSPECIFIED);
                }
            }
            TxnKind::Release => {
                self.note_release(slot, OUT_SILENT, Rcode::NoError);
                self.advance_release(slot, now);
            }
        }
    }

    fn start_registration(&mut self, slot: u32, now: Instant) {
        let Some(e) = self.entry_mut(slot) else {
            return;
        };
        e.state = NameState::Registering;
        e.round_ttl = u32::MAX;
        self.begin(slot, now, TxnKind::Register, 0, 0, Ipv4Addr::UNSPECIFIED);
    }

    fn start_refresh(&mut self, slot: u32, now: Instant) {
        self.end_txn(slot);
        let Some(e) = self.entry_mut(slot) else {
            return;
        };
        e.state = NameState::Refreshing;
        e.round_ttl = u32::MAX;
        let home = e.home;
        self.begin(slot, now, TxnKind::Refresh, home, 0, Ipv4Addr::UNSPECIFIED);
    }

    /// Starts releasing a name (`rr`: as part of a re-register-all).
    /// The presumed owner did not defend the name (RFC 1002 §5.1.2.1): take
    /// it over with an overwrite at the server that named the owner.
    fn take_over(&mut self, slot: u32, now: Instant, txn: &Txn) {
        self.begin(
            slot,
            now,
            TxnKind::Overwrite,
            txn.server,
            txn.addr,
            Ipv4Addr::UNSPECIFIED,
        );
    }

    fn begin_release(&mut self, slot: u32, now: Instant, rr: bool) {
        let Some(e) = self.entry(slot) else {
            return;
        };
        // Where the name may be held: servers that granted it, and a server
        // a registration in flight has reached.
        let in_flight = match e.txn.kind {
            TxnKind::Register | TxnKind::Overwrite | TxnKind::Challenge if e.txn.tries > 0 => {
                1u32.checked_shl(u32::from(e.txn.server)).unwrap_or(0)
            }
            _ => 0,
        };
        let mask = match e.state {
            NameState::Conflict | NameState::Local | NameState::AwaitingReregister => 0,
            NameState::Releasing => e.servers,
            _ => e.servers | in_flight,
        };
        let was_rr = e.rr;
        let was_releasing = e.state == NameState::Releasing;
        if was_releasing && !rr {
            // Already releasing: just make sure the name goes away after.
            if was_rr {
                if let Some(e) = self.entry_mut(slot) {
                    e.rr = false;
                }
                self.rr_release_done();
            }
            return;
        }
        self.end_txn(slot);
        let Some(e) = self.entry_mut(slot) else {
            return;
        };
        e.servers = mask;
        e.release_rank = OUT_CONFIRMED;
        e.release_rcode = Rcode::NoError;
        if rr {
            e.rr = true;
            self.rr_pending += 1;
        } else if was_rr {
            e.rr = false;
            self.rr_release_done();
        }
        if let Some(e) = self.entry_mut(slot) {
            e.state = NameState::Releasing;
        }
        if mask == 0 {
            self.finish_release(slot, now, false);
        } else {
            let first = mask.trailing_zeros() as u8;
            self.begin(slot, now, TxnKind::Release, first, 0, Ipv4Addr::UNSPECIFIED);
        }
    }

    fn note_release(&mut self, slot: u32, rank: u8, rcode: Rcode) {
        if let Some(e) = self.entry_mut(slot)
            && rank >= e.release_rank
        {
            e.release_rank = rank;
            e.release_rcode = rcode;
        }
    }

    /// The current (server, address) release ended: go on with the next.
    fn advance_release(&mut self, slot: u32, now: Instant) {
        let Some(e) = self.entry_mut(slot) else {
            return;
        };
        let txn = e.txn;
        let next_addr = usize::from(txn.addr) + 1;
        if next_addr < e.addr_count() {
            self.begin(
                slot,
                now,
                TxnKind::Release,
                txn.server,
                next_addr as u8,
                Ipv4Addr::UNSPECIFIED,
            );
            return;
        }
        e.servers &= !1u32.checked_shl(u32::from(txn.server)).unwrap_or(0);
        let mask = e.servers;
        if mask == 0 {
            self.end_txn(slot);
            self.finish_release(slot, now, true);
        } else {
            let next = mask.trailing_zeros() as u8;
            self.begin(slot, now, TxnKind::Release, next, 0, Ipv4Addr::UNSPECIFIED);
        }
    }

    fn finish_release(&mut self, slot: u32, now: Instant, sent: bool) {
        let Some(e) = self.entry(slot) else {
            return;
        };
        let outcome = match e.release_rank {
            OUT_CONFIRMED => ReleaseOutcome::Confirmed,
            OUT_NOT_FOUND => ReleaseOutcome::NotFound,
            OUT_SILENT => ReleaseOutcome::Unconfirmed,
            _ => ReleaseOutcome::Refused(e.release_rcode),
        };
        let outcome = if sent {
            outcome
        } else {
            ReleaseOutcome::NotRegistered
        };
        let rr = e.rr;
        // A re-register-all reports only the releases it sent.
        if sent || !rr {
            let name = self.owned_name(slot);
            self.events
                .push_back(ClientEvent::Released { name, outcome });
        }
        if rr && sent {
            self.round_released(slot, outcome);
        }
        if rr {
            if let Some(e) = self.entry_mut(slot) {
                e.rr = false;
                e.state = NameState::AwaitingReregister;
                e.servers = 0;
                e.ttl = 0;
            }
            self.disarm(slot);
            self.rr_waiting.push(slot);
            self.rr_release_done();
            if self.rr_pending == 0 && !self.rr_starting {
                self.start_reregistrations(now);
            }
        } else {
            self.remove(slot);
        }
    }

    fn rr_release_done(&mut self) {
        self.rr_pending = self.rr_pending.saturating_sub(1);
    }

    fn start_reregistrations(&mut self, now: Instant) {
        let waiting = core::mem::take(&mut self.rr_waiting);
        let mut count = 0;
        let mut started = Vec::with_capacity(waiting.len());
        for slot in waiting {
            if self
                .entry(slot)
                .is_some_and(|e| e.state == NameState::AwaitingReregister)
            {
                count += 1;
                started.push(slot);
            }
        }
        self.events
            .push_back(ClientEvent::ReregistrationStarted { names: count });
        for slot in started {
            let name = self.owned_name(slot);
            self.events.push_back(ClientEvent::Reregistering { name });
            self.round_registering(slot);
            self.start_registration(slot, now);
        }
        self.finish_round_if_done();
    }

    // ----- responses -----------------------------------------------------

    fn handle_response(&mut self, now: Instant, from: SocketAddrV4, p: &Packet<'_>) {
        let Some(&slot) = self.by_id.get(&p.id) else {
            if !self.conflict_demand(now, from, p) {
                self.stats.dropped_unsolicited += 1;
            }
            return;
        };
        let Some(e) = self.entry(slot) else {
            self.stats.dropped_unsolicited += 1;
            return;
        };
        if self.destination(e) != Some(from) {
            if !self.conflict_demand(now, from, p) {
                self.stats.dropped_wrong_source += 1;
            }
            return;
        }
        let txn = e.txn;
        let op = p.opcode();
        let opcode_ok = match txn.kind {
            TxnKind::Idle => false,
            TxnKind::Register | TxnKind::Overwrite | TxnKind::Refresh => {
                op.is_registration_like() || op == Opcode::Wack
            }
            TxnKind::Release => op == Opcode::Release || op == Opcode::Wack,
            TxnKind::Challenge => op == Opcode::Query,
        };
        if !opcode_ok {
            self.stats.dropped_wrong_opcode += 1;
            return;
        }
        let Some(answer) = p.answer() else {
            self.stats.dropped_bad_record += 1;
            return;
        };
        if answer.name.netbios != e.netbios || answer.name.scope != self.scope_labels(e.scope) {
            self.stats.dropped_wrong_name += 1;
            return;
        }
        if !answer.class.is_in() {
            self.stats.dropped_bad_record += 1;
            return;
        }
        if op == Opcode::Wack {
            if !matches!(answer.rdata, RData::Wack(_)) {
                self.stats.dropped_bad_record += 1;
                return;
            }
            if txn.wack {
                self.stats.dropped_extra_wack += 1;
                return;
            }
            self.stats.accepted_responses += 1;
            if let Some(e) = self.entry_mut(slot) {
                e.txn.wack = true;
            }
            let wait = self.config.wack_wait(answer.ttl);
            self.arm(slot, now, wait);
            return;
        }
        // A positive answer must carry NB data with an address; a negative
        // one is judged by its rcode (a negative query answer carries NULL).
        let rcode = p.rcode();
        let positive = rcode == Rcode::NoError;
        let nb = answer.nb().unwrap_or(NbAddrs::EMPTY);
        if positive && nb.is_empty() {
            self.stats.dropped_bad_record += 1;
            return;
        }
        self.stats.accepted_responses += 1;
        match txn.kind {
            TxnKind::Idle => {}
            TxnKind::Register | TxnKind::Overwrite => {
                if !positive {
                    self.refused(slot, from, rcode);
                } else if txn.kind == TxnKind::Register && !p.flags.recursion_available() {
                    // END-NODE CHALLENGE REGISTRATION RESPONSE (§4.2.7).
                    let owner = nb.first().map_or(Ipv4Addr::UNSPECIFIED, |a| a.address);
                    let ours = self.entry(slot).is_some_and(|e| e.has_addr(owner));
                    if ours || owner.is_unspecified() || owner.is_broadcast() {
                        self.begin(slot, now, TxnKind::Overwrite, txn.server, txn.addr, owner);
                    } else {
                        self.begin(slot, now, TxnKind::Challenge, txn.server, txn.addr, owner);
                    }
                } else {
                    self.granted(slot, now, answer.ttl, false);
                }
            }
            TxnKind::Refresh => {
                if positive {
                    self.granted(slot, now, answer.ttl, true);
                } else {
                    self.conflict(slot, ConflictCause::NegativeRefresh(rcode));
                }
            }
            TxnKind::Release => {
                let (rank, rc) = match rcode {
                    Rcode::NoError => (OUT_CONFIRMED, rcode),
                    Rcode::NameError => (OUT_NOT_FOUND, rcode),
                    _ => (OUT_REFUSED, rcode),
                };
                self.note_release(slot, rank, rc);
                self.advance_release(slot, now);
            }
            TxnKind::Challenge => {
                if positive {
                    self.end_txn(slot);
                    if let Some(e) = self.entry_mut(slot) {
                        e.state = NameState::Refused(Rcode::Active);
                    }
                    let name = self.owned_name(slot);
                    self.events.push_back(ClientEvent::OwnerDefended {
                        name,
                        owner: txn.owner,
                    });
                    self.round_registered(
                        slot,
                        RegistrationOutcome::OwnerDefended { owner: txn.owner },
                    );
                } else {
                    self.take_over(slot, now, &txn);
                }
            }
        }
    }

    /// A positive registration or refresh response for the current address.
    fn granted(&mut self, slot: u32, now: Instant, ttl: u32, refresh: bool) {
        let Some(e) = self.entry_mut(slot) else {
            return;
        };
        let txn = e.txn;
        e.round_ttl = e.round_ttl.min(ttl);
        e.servers |= 1u32.checked_shl(u32::from(txn.server)).unwrap_or(0);
        e.home = txn.server;
        let next_addr = usize::from(txn.addr) + 1;
        if next_addr < e.addr_count() {
            let kind = if refresh {
                TxnKind::Refresh
            } else {
                TxnKind::Register
            };
            self.begin(
                slot,
                now,
                kind,
                txn.server,
                next_addr as u8,
                Ipv4Addr::UNSPECIFIED,
            );
            return;
        }
        let ttl = e.round_ttl;
        e.ttl = ttl;
        e.state = NameState::Registered;
        self.end_txn(slot);
        let name = self.owned_name(slot);
        let server = self
            .server_addr(txn.server)
            .unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));
        self.events.push_back(if refresh {
            ClientEvent::Refreshed { name, server, ttl }
        } else {
            ClientEvent::Registered { name, server, ttl }
        });
        if !refresh {
            self.round_registered(slot, RegistrationOutcome::Registered { server, ttl });
        }
        if let Some(after) = self.config.refresh_interval(ttl) {
            self.arm(slot, now, after);
        }
    }

    fn refused(&mut self, slot: u32, server: SocketAddrV4, rcode: Rcode) {
        self.end_txn(slot);
        if let Some(e) = self.entry_mut(slot) {
            e.state = NameState::Refused(rcode);
        }
        let name = self.owned_name(slot);
        self.events.push_back(ClientEvent::RegistrationRefused {
            name,
            server,
            rcode,
        });
        self.round_registered(slot, RegistrationOutcome::Refused { server, rcode });
    }

    fn conflict(&mut self, slot: u32, cause: ConflictCause) {
        self.end_txn(slot);
        if let Some(e) = self.entry_mut(slot) {
            e.state = NameState::Conflict;
        }
        let name = self.owned_name(slot);
        self.events.push_back(ClientEvent::Conflict { name, cause });
        self.round_registered(slot, RegistrationOutcome::Conflict(cause));
    }

    /// A NAME CONFLICT DEMAND from a configured WINS server for a name in
    /// use. Returns whether it was acted upon.
    fn conflict_demand(&mut self, _now: Instant, from: SocketAddrV4, p: &Packet<'_>) -> bool {
        if p.kind() != PacketKind::NameConflictDemand {
            return false;
        }
        let n = self.config.server_count();
        if !self.config.servers.iter().take(n).any(|s| *s == from) {
            return false;
        }
        let Some(answer) = p.answer() else {
            return false;
        };
        if !answer.class.is_in() || answer.nb().is_none() {
            return false;
        }
        let Some(slot) = self.find(&answer.name) else {
            return false;
        };
        let in_use = self.entry(slot).is_some_and(|e| {
            matches!(
                e.state,
                NameState::Registering | NameState::Registered | NameState::Refreshing
            )
        });
        if !in_use {
            return false;
        }
        self.stats.accepted_responses += 1;
        self.conflict(slot, ConflictCause::ConflictDemand);
        true
    }

    // ----- requests from others ------------------------------------------

    fn queue_answer(&mut self, destination: SocketAddrV4, packet: &Message<'_>) -> bool {
        if self.queued_answers >= self.config.max_queued_answers {
            self.stats.dropped_answer_backlog += 1;
            return false;
        }
        let mut contents = Vec::with_capacity(packet.buffer_len());
        if packet.emit_buf(&mut contents).is_err() {
            return false;
        }
        self.queued_answers += 1;
        self.transmits.push_back(Queued {
            transmit: Transmit {
                destination,
                source: None,
                contents,
            },
            answer: true,
        });
        true
    }

    fn handle_request(&mut self, now: Instant, from: SocketAddrV4, p: &Packet<'_>) {
        let Some(q) = p.question() else {
            self.stats.ignored_requests += 1;
            return;
        };
        let slot = self.find(&q.name);
        let held = slot.and_then(|s| self.entry(s));
        match p.kind() {
            PacketKind::NameQueryRequest => {
                if let Some(e) = held.filter(|e| e.state.is_answered()) {
                    let flags = NbFlags::new(e.group, self.config.node_type);
                    let entries: Vec<NbAddrEntry> =
                        e.addrs().map(|a| NbAddrEntry::new(flags, a)).collect();
                    let ttl = if e.ttl == 0 {
                        self.config.requested_ttl
                    } else {
                        e.ttl
                    };
                    let resp = Message::positive_name_query_response(
                        p.id,
                        q.name,
                        ttl,
                        NbAddrs::from_slice(&entries),
                    );
                    if self.queue_answer(from, &resp) {
                        self.stats.query_answers += 1;
                    }
                } else if p.flags.broadcast() {
                    // Never a negative answer to a broadcast query.
                    self.stats.ignored_requests += 1;
                } else {
                    let resp =
                        Message::negative_name_query_response(p.id, q.name, Rcode::NameError);
                    if self.queue_answer(from, &resp) {
                        self.stats.negative_query_answers += 1;
                    }
                }
            }
            PacketKind::NodeStatusRequest => {
                let ours = held.is_some_and(|e| e.state.is_answered());
                let scope = self.find_scope(&q.name.scope);
                match scope {
                    Some(scope) if ours || q.name.netbios.is_wildcard() => {
                        let c = &self.config;
                        let now = self.ticks(now);
                        if self.status_limiter.allow(
                            *from.ip(),
                            now,
                            c.status_burst,
                            c.status_interval,
                        ) {
                            self.answer_node_status(from, p.id, q.name, scope);
                        } else {
                            self.stats.dropped_rate_limited += 1;
                        }
                    }
                    _ => self.stats.ignored_requests += 1,
                }
            }
            PacketKind::NameRegistrationRequest
            | PacketKind::NameOverwriteRequest
            | PacketKind::NameRefreshRequest
            | PacketKind::MultihomedRegistrationRequest => {
                let requester = p.additional().and_then(|r| r.nb()).and_then(|n| n.first());
                let defend = held.is_some_and(|e| {
                    !e.group
                        && e.state.is_defended()
                        && e.netbios.as_bytes().first() != Some(&b'*')
                        && requester.is_some_and(|r| !e.has_addr(r.address))
                });
                match requester {
                    Some(entry) if defend => {
                        let resp = Message::negative_registration_response(
                            p.id,
                            q.name,
                            Rcode::Active,
                            entry,
                        );
                        if self.queue_answer(from, &resp) {
                            self.stats.defences += 1;
                        }
                    }
                    _ => self.stats.ignored_requests += 1,
                }
            }
            _ => self.stats.ignored_requests += 1,
        }
    }

    fn answer_node_status(&mut self, from: SocketAddrV4, id: u16, qname: Name<'_>, scope: u16) {
        // Fit the answer in RFC 1002's 576-byte datagram: header 12, name,
        // type/class/TTL/RDLENGTH 10, NUM_NAMES 1, statistics 46.
        let room =
            crate::wire::MAX_DATAGRAM_LEN.saturating_sub(12 + qname.buffer_len() + 10 + 1 + 46);
        let max = (room / NodeName::LEN).min(255);
        let ont = self.config.node_type;
        let mut names = Vec::new();
        for e in self.slots.iter().flatten() {
            if names.len() >= max {
                break;
            }
            if e.scope != scope || e.netbios.as_bytes().first() == Some(&b'*') {
                continue;
            }
            let mut flags = NameFlags::active(e.group, ont).0;
            match e.state {
                NameState::Conflict => flags |= NameFlags::CONFLICT,
                NameState::Releasing => flags |= NameFlags::DEREGISTERING,
                s if s.is_answered() => {}
                _ => continue,
            }
            names.push(NodeName {
                name: e.netbios,
                flags: NameFlags(flags),
            });
        }
        let stats = Statistics::block_with_unit_id(self.config.unit_id);
        let status = NodeStatus {
            names: NodeNames::from_slice(&names),
            statistics: Statistics(&stats),
        };
        let resp = Message::node_status_response(id, qname, status);
        if self.queue_answer(from, &resp) {
            self.stats.node_status_answers += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::PacketKind;

    /// Held names cost at most 256 bytes each, after a re-register-all
    /// burst too.
    #[test]
    fn memory_per_name_is_bounded() {
        let server = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 137);
        let mut config = ClientConfig::with_servers([server]);
        config.reregister_cooldown = Duration::ZERO;
        let mut c = NameClient::with_deterministic_ids(config, 5);
        let now = Instant::now();
        let me = [Ipv4Addr::new(10, 0, 0, 7)];
        const N: usize = 10_000;
        for i in 0..N {
            let n = NetbiosName::new(&format!("H{i}"), 0).unwrap_or(NetbiosName::wildcard());
            c.add_name(now, NameSpec::unique(Name::unscoped(n), &me))
                .unwrap();
        }
        let exchange = |c: &mut NameClient<DeterministicIds>| {
            let mut buf = Vec::new();
            while let Some(t) = c.poll_transmit() {
                let p = Packet::parse(&t.contents).unwrap();
                let q = p.question().unwrap();
                let e = p.additional().unwrap().nb().unwrap().first().unwrap();
                let r = if p.kind() == PacketKind::NameReleaseRequest {
                    Message::positive_release_response(p.id, q.name, e)
                } else {
                    Message::positive_registration_response(p.id, q.name, 600, e)
                };
                buf.clear();
                r.emit_buf(&mut buf).unwrap();
                c.handle_datagram(now, t.destination, &buf);
            }
            while c.poll_event().is_some() {}
        };
        exchange(&mut c);
        let registered = c.memory_usage() / N;
        c.reregister_all(now).unwrap();
        exchange(&mut c);
        c.reregister_all(now).unwrap();
        exchange(&mut c);
        assert!(c.names().all(|n| n.state == NameState::Registered));
        let after = c.memory_usage() / N;
        assert!(registered <= 256, "{registered} bytes per name");
        assert!(after <= 256, "{after} bytes per name after -RR");
        assert!(size_of::<Option<Entry>>() <= 96);
    }

    #[test]
    fn ids_are_unique_among_pending_transactions() {
        // A source that always says 7: the client still never shares an ID.
        let server = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 137);
        let mut c = NameClient::new(ClientConfig::with_servers([server]), || 7u16);
        let now = Instant::now();
        for i in 0..50 {
            let n = NetbiosName::new(&format!("H{i}"), 0).unwrap_or(NetbiosName::wildcard());
            c.add_name(
                now,
                NameSpec::unique(Name::unscoped(n), &[Ipv4Addr::LOCALHOST]),
            )
            .unwrap();
        }
        let ids: std::collections::HashSet<u16> = core::iter::from_fn(|| c.poll_transmit())
            .map(|t| Packet::parse(&t.contents).unwrap().id)
            .collect();
        assert_eq!(ids.len(), 50);
        assert_eq!(c.pending_transactions(), 50);
    }

    #[test]
    fn add_name_errors() {
        let mut c = NameClient::with_deterministic_ids(ClientConfig::default(), 1);
        let now = Instant::now();
        let n = Name::unscoped(NetbiosName::new("X", 0).unwrap());
        assert_eq!(
            c.add_name(now, NameSpec::unique(n, &[])),
            Err(AddNameError::NoAddress)
        );
        c.add_name(now, NameSpec::unique(n, &[Ipv4Addr::LOCALHOST]))
            .unwrap();
        assert_eq!(
            c.add_name(now, NameSpec::group(n, &[Ipv4Addr::LOCALHOST])),
            Err(AddNameError::Duplicate)
        );
        assert!(c.release(now, n));
        assert!(!c.release(now, n));
        assert!(c.is_empty());
    }
}
