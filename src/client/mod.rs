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
//!
//! # Layout
//!
//! Each file does one job: `table` (the slab of names and its index,
//! `index`), `phase` (per-name state as an enum of phases), `engine` (the
//! transaction engine: requests, retransmissions, failover, responses,
//! timers), `release` (releases and the re-register-all's bookkeeping),
//! `reregister` (the re-register-all's per-name outcomes), `responder`
//! (answers to other nodes' queries, status requests and registrations).
//! The timer heap and the scope interner are the crate's, shared with the
//! WINS server.

mod config;
mod engine;
mod fuzz;
mod index;
mod limiter;
mod phase;
mod release;
mod reregister;
mod responder;
mod table;
mod types;

use core::net::{Ipv4Addr, SocketAddrV4};
use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use crate::hash::KeyedState;
use crate::timer::TimerHeap;

/// The crate's datagram output, re-exported here.
pub use crate::Transmit;
pub use crate::ids::{DeterministicIds, IdSource, OsRandomIds};
pub use config::{ClientConfig, RefreshOpcode, RegistrationOpcode};
#[doc(hidden)]
pub use fuzz::fuzz_drive;
pub use types::{
    AddNameError, ClientEvent, ClientStats, ConflictCause, Cooldown, NameInfo, NameSpec, NameState,
    OwnedName, RegistrationOutcome, ReleaseOutcome, ReregisterOutcome,
};

use crate::wire::{Name, Packet};
use phase::Phase;
use table::{Entry, Names};

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
    names: Names,
    by_id: HashMap<u16, u32, KeyedState>,
    status_limiter: limiter::StatusLimiter,
    /// (deadline in nanoseconds since `epoch`, (slot, stamp)); an entry is
    /// live while its name's stamp is that stamp. Its top is always live
    /// after an input (see [`settle`](Self::settle)).
    timers: TimerHeap<u64, (u32, u32)>,
    next_stamp: u32,
    /// The first `now` the client was given: deadlines count from it. Set
    /// before any timer is armed, so that a deadline never needs a clock.
    epoch: Option<Instant>,
    transmits: VecDeque<Queued>,
    queued_answers: usize,
    events: VecDeque<ClientEvent>,
    stats: ClientStats,
    /// The re-register-all in progress, if any, and the last one's time.
    rr: release::Reregister,
}

impl<I> core::fmt::Debug for NameClient<I> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NameClient")
            .field("names", &self.names.len())
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
            names: Names::default(),
            by_id: HashMap::default(),
            status_limiter: limiter::StatusLimiter::default(),
            timers: TimerHeap::default(),
            next_stamp: 1,
            epoch: None,
            transmits: VecDeque::new(),
            queued_answers: 0,
            events: VecDeque::new(),
            stats: ClientStats::default(),
            rr: release::Reregister::default(),
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
        self.names.len()
    }

    /// Whether no name is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.names.len() == 0
    }

    // ----- test probes (feature `testing`) -------------------------------

    /// Number of requests awaiting an answer. A test probe: feature
    /// `testing`.
    #[cfg(feature = "testing")]
    #[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
    #[must_use]
    pub fn pending_transactions(&self) -> usize {
        self.by_id.len()
    }

    /// Approximate heap bytes held by the client's tables, from their
    /// capacities: the name slab, the extra addresses of multi-homed names,
    /// scopes, the name and transaction-ID indexes, the timer heap and the
    /// queues (not the contents of queued datagrams and events); hash
    /// tables are counted as their bucket arrays plus control bytes. A test
    /// probe (the per-name cost): feature `testing`.
    #[cfg(feature = "testing")]
    #[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
    #[must_use]
    pub fn memory_usage(&self) -> usize {
        self.heap_bytes()
    }

    /// Number of datagrams waiting in [`poll_transmit`](Self::poll_transmit).
    /// A test probe: feature `testing`.
    #[cfg(feature = "testing")]
    #[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
    #[must_use]
    pub fn queued_transmits(&self) -> usize {
        self.transmits.len()
    }

    #[cfg(any(test, feature = "testing"))]
    fn heap_bytes(&self) -> usize {
        use core::mem::size_of;
        let by_id = if self.by_id.capacity() == 0 {
            0
        } else {
            // hashbrown: buckets = next power of two of capacity * 8 / 7.
            (self.by_id.capacity() * 8 / 7).next_power_of_two() * (size_of::<(u16, u32)>() + 1) + 16
        };
        self.names.heap_bytes()
            + by_id
            + self.status_limiter.heap_bytes()
            + self.timers.heap_bytes()
            + self.transmits.capacity() * size_of::<Queued>()
            + self.events.capacity() * size_of::<ClientEvent>()
            + self.rr.heap_bytes()
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
    /// `None` when no timer is armed. The top of a heap, not a scan of the
    /// names.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let (ticks, _) = self.timers.peek()?;
        self.instant_of(ticks)
    }

    // ----- inputs --------------------------------------------------------

    /// Fires every timer due at `now`: retransmissions, failovers, WACK
    /// waits, refreshes and registration retries.
    pub fn handle_timeout(&mut self, now: Instant) {
        let limit = self.ticks(now);
        loop {
            let names = &self.names;
            let due = self.timers.pop_due(limit, |_, (slot, stamp)| {
                names.get(slot).is_some_and(|e| e.stamp == stamp)
            });
            let Some((_, (slot, _))) = due else { break };
            if let Some(e) = self.names.get_mut(slot) {
                e.stamp = 0;
            }
            self.fire(slot, now);
        }
        self.settle();
    }

    /// Handles a datagram received from `from`: a response to one of our
    /// requests, a request to answer, or something to drop.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddrV4, bytes: &[u8]) {
        self.stats.datagrams += 1;
        self.touch(now);
        match Packet::parse(bytes) {
            Err(_) => self.stats.dropped_malformed += 1,
            Ok(p) if p.is_response() => self.handle_response(now, from, &p),
            Ok(p) => self.handle_request(now, from, &p),
        }
        self.settle();
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
        self.settle();
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
        if let Some(e) = self.names.get_mut(slot) {
            e.phase = Phase::Registered {
                servers: phase::bit(0),
                home: 0,
            };
            e.ttl = ttl;
        }
        if let Some(after) = self.config.refresh_interval(ttl) {
            self.arm(slot, now, after);
        }
        self.settle();
        Ok(())
    }

    /// Stores a new name entry; returns its slot and whether it is held
    /// locally only (no WINS server, or a `*` name).
    fn insert(&mut self, now: Instant, spec: &NameSpec<'_>) -> Result<(u32, bool), AddNameError> {
        self.touch(now);
        let Some((&first_addr, extra)) = spec.addresses.split_first() else {
            return Err(AddNameError::NoAddress);
        };
        let local =
            self.config.server_count() == 0 || spec.name.netbios.as_bytes().first() == Some(&b'*');
        let slot = self.names.insert(&spec.name, Self::MAX_NAMES, || Entry {
            netbios: spec.name.netbios,
            first_addr,
            extra_addrs: extra.iter().take(254).copied().collect(),
            ttl: 0,
            stamp: 0,
            scope: 0,
            group: spec.group,
            round: reregister::NO_ROUND,
            phase: if local {
                Phase::Local
            } else {
                Phase::Registering {
                    txn: None,
                    servers: 0,
                    round_ttl: u32::MAX,
                }
            },
        })?;
        Ok((slot, local))
    }

    /// Releases a name: a release request to every server holding it (for
    /// every address), then a [`ClientEvent::Released`] and the name is
    /// gone. A name never registered, refused or in conflict is dropped at
    /// once (a conflicting name is not released at the server, RFC 1001
    /// §15.1.3.2). Returns whether the name was held.
    pub fn release(&mut self, now: Instant, name: Name<'_>) -> bool {
        self.touch(now);
        let Some(slot) = self.names.find(&name) else {
            return false;
        };
        self.begin_release(slot, now, false);
        self.settle();
        true
    }

    /// Releases every name (see [`release`](Self::release)).
    pub fn release_all(&mut self, now: Instant) {
        self.touch(now);
        for slot in self.names.live_slots() {
            self.begin_release(slot, now, false);
        }
        self.settle();
    }

    /// Refreshes every registered name now instead of at its scheduled time.
    pub fn refresh_now(&mut self, now: Instant) {
        self.touch(now);
        for slot in self.names.live_slots() {
            if self
                .names
                .get(slot)
                .is_some_and(|e| matches!(e.phase, Phase::Registered { .. }))
            {
                self.start_refresh(slot, now);
            }
        }
        self.settle();
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
        let result = self.begin_reregister(now);
        self.settle();
        result
    }

    /// The names held, with their states, in no particular order.
    pub fn names(&self) -> impl Iterator<Item = NameInfo<'_>> + '_ {
        self.names.iter().map(|e| NameInfo {
            name: Name::new(e.netbios, self.names.labels(e.scope)),
            group: e.group,
            state: e.state(),
            ttl: e.ttl,
            address: e.first_addr,
            address_count: e.addr_count(),
        })
    }

    /// The state of one name, if held.
    #[must_use]
    pub fn name_state(&self, name: Name<'_>) -> Option<NameState> {
        self.names
            .find(&name)
            .and_then(|s| self.names.get(s))
            .map(Entry::state)
    }

    // ----- helpers shared by the files of this module --------------------

    fn entry(&self, slot: u32) -> Option<&Entry> {
        self.names.get(slot)
    }

    fn entry_mut(&mut self, slot: u32) -> Option<&mut Entry> {
        self.names.get_mut(slot)
    }

    fn owned_name(&self, slot: u32) -> OwnedName {
        self.names.owned_name(slot)
    }

    /// Removes a name for good (its transaction ends, its round membership
    /// is abandoned).
    fn remove(&mut self, slot: u32) {
        self.end_txn(slot);
        let Some(e) = self.names.remove(slot) else {
            return;
        };
        if e.round != reregister::NO_ROUND {
            self.round_result(e.round, RegistrationOutcome::Abandoned);
        }
    }

    fn server_addr(&self, i: u8) -> Option<SocketAddrV4> {
        self.config
            .servers
            .get(usize::from(i))
            .copied()
            .filter(|_| usize::from(i) < self.config.server_count())
    }

    fn unspecified_server() -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)
    }
}

#[cfg(test)]
mod tests;
