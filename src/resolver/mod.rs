//! A sans-IO resolver of NetBIOS names: name queries to WINS servers and/or
//! by broadcast, as the node type says (RFC 1002 §5.1.1–§5.1.3 and
//! §4.2.12–§4.2.14; H-nodes as \[HYBRID\], draft-noon-hybrid-netbios, which
//! MS-NBTE §3.1.1 adopts), with a small cache.
//!
//! [`Resolver::query`] starts a query and returns its [`QueryHandle`]; the
//! outcome arrives as a [`ResolverEvent`] carrying the handle. Drive it with
//! the crate's run loop (see the [crate docs](crate#the-run-loop)): feed it
//! datagrams ([`Resolver::handle_datagram`]) and deadlines
//! ([`Resolver::handle_timeout`]), then drain [`Resolver::poll_transmit`]
//! and [`Resolver::poll_event`]; [`Resolver::poll_timeout`] is the next
//! deadline. A node that also holds names feeds every datagram of its
//! socket to both its [`NameClient`](crate::client::NameClient) and its
//! resolver: each drops what is not its own (transaction IDs, opcodes).
//!
//! # How a query runs
//!
//! The node type's [`methods`](crate::node_type::NodeType::methods) are
//! tried in order; a method without configuration (no name server, no
//! subnet) is skipped.
//!
//! * **Name server**: a NAME QUERY REQUEST with RD to each configured server
//!   in turn, [`unicast_retry_count`](ResolverConfig::unicast_retry_count)
//!   sends [`unicast_retry_timeout`](ResolverConfig::unicast_retry_timeout)
//!   apart. A positive answer resolves the name; a negative one is final
//!   ([`ResolverEvent::NotFound`]); silence from every server moves on to
//!   the next method. So an H-node broadcasts while every WINS server is
//!   silent and uses WINS again on the next query once one answers.
//! * **Broadcast**: the request with B set to the subnet's broadcast
//!   address, port 137, [`broadcast_retry_count`](ResolverConfig::broadcast_retry_count)
//!   sends [`broadcast_retry_timeout`](ResolverConfig::broadcast_retry_timeout)
//!   apart (RFC 1002's 250 ms × 3 by default; Windows uses 750 ms × 3). The
//!   first positive answer opens a window of CONFLICT_TIMER in which further
//!   answers are collected: a unique name is reported at once and the window
//!   only watches for conflicts; a group (or the `*` name) is reported at
//!   its end with every member's addresses. A positive answer for a unique
//!   name with other data than the first, within the window, gets a NAME
//!   CONFLICT DEMAND (RFC 1002 §4.2.8) sent to its sender, as RFC 1001
//!   §15.1.3.5 says, and a [`ResolverEvent::Conflict`]. Negative answers to
//!   a broadcast query are ignored (nodes never send them).
//!
//! # What is accepted
//!
//! An answer must be a name query response with the query's transaction ID
//! (from [`IdSource`], the operating system's random number generator by
//! default, kept across retransmissions and new for each server and
//! method), about the queried name and scope, and from where the request
//! went: for a unicast query the server's address *and* port, for a
//! broadcast query port 137 of an address on the configured subnet. A
//! positive answer must carry an NB/IN record with at least one entry.
//! Everything else is dropped and counted in [`ResolverStats`].
//!
//! # The cache and statistics
//!
//! Resolved names are cached for their TTL, at most
//! [`cache_timeout`](ResolverConfig::cache_timeout), in a table of at most
//! [`cache_capacity`](ResolverConfig::cache_capacity) names that evicts the
//! entry closest to expiry. A query for a cached name is answered from it
//! at once. [`Resolver::cache`] lists it (`nbtstat -c`),
//! [`Resolver::purge_cache`] empties it (`nbtstat -R`), a broadcast NAME
//! RELEASE REQUEST from a cached holder removes its entry, and
//! [`Resolver::stats`] with [`Resolver::resolved_by_broadcast`] give
//! `nbtstat -r`'s figures.
//!
//! # Costs
//!
//! Every table is capped: queries in flight
//! ([`max_pending`](ResolverConfig::max_pending)), responders per query,
//! addresses per answer, the cache, the transmit and event queues. Tables
//! keyed by network bytes (transaction IDs, names) use keyed hashes.
//!
//! ```
//! use core::net::{Ipv4Addr, SocketAddrV4};
//! use std::time::Instant;
//! use nbns::node_type::NodeType;
//! use nbns::resolver::{Resolver, ResolverConfig, ResolverEvent, Subnet, Via};
//! use nbns::wire::{Message, Name, NbAddrEntry, NbAddrs, NbFlags, NetbiosName, Packet};
//!
//! let subnet = Subnet::new(Ipv4Addr::new(10, 0, 0, 7), 24);
//! let mut r = Resolver::with_os_ids(ResolverConfig::broadcast(subnet));
//! let now = Instant::now();
//! let name = Name::unscoped(NetbiosName::new("FILESRV", 0x20).unwrap());
//! let q = r.query(now, name).unwrap();
//! let t = r.poll_transmit().unwrap();
//! assert_eq!(t.destination, SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 255), 137));
//! let id = Packet::parse(&t.contents).unwrap().header().id;
//! // FILESRV at 10.0.0.5 answers from port 137.
//! let entry = NbAddrEntry::new(NbFlags::new(false, NodeType::B), Ipv4Addr::new(10, 0, 0, 5));
//! let answer = Message::positive_name_query_response(id, name, 0, NbAddrs::one(entry));
//! let mut buf = [0u8; 100];
//! let n = answer.emit(&mut buf).unwrap();
//! r.handle_datagram(now, SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 5), 137), &buf[..n]);
//! match r.poll_event() {
//!     Some(ResolverEvent::Resolved { query, resolution, .. }) => {
//!         assert_eq!(query, q);
//!         assert_eq!(resolution.via, Via::Broadcast);
//!         assert_eq!(resolution.addresses, [entry]);
//!     }
//!     other => panic!("{other:?}"),
//! }
//! ```

mod cache;
mod config;
mod fuzz;
mod query;
#[cfg(test)]
mod tests;
mod types;

use core::net::SocketAddrV4;
use core::time::Duration;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::Instant;

pub use config::{
    BCAST_REQ_RETRY_COUNT, BCAST_REQ_RETRY_TIMEOUT, CONFLICT_TIMER, ResolverConfig, Subnet,
    UCAST_REQ_RETRY_COUNT, UCAST_REQ_RETRY_TIMEOUT, WINDOWS_BCAST_QUERY_TIMEOUT,
};
#[doc(hidden)]
pub use fuzz::fuzz_drive;
pub use types::{
    CachedName, QueryError, QueryHandle, Resolution, ResolverEvent, ResolverStats, Via,
};

use cache::Cache;
use query::{Answer, Phase, Query};

use crate::client::{OwnedName, Transmit};
use crate::hash::KeyedState;
use crate::ids::{DeterministicIds, IdSource, OsRandomIds};
use crate::node_type::{Method, NodeType};
use crate::wire::{Class, Message, Name, NbAddrEntry, Packet, PacketKind};

/// The NBNS port, where broadcast queries go and their answers come from.
const PORT: u16 = 137;

/// The resolver; see the [module documentation](self).
pub struct Resolver<I = OsRandomIds> {
    config: ResolverConfig,
    ids: I,
    /// Queries in flight by handle.
    queries: HashMap<u64, Query, KeyedState>,
    /// Handles by the transaction ID of their current request.
    by_id: HashMap<u16, u64, KeyedState>,
    /// Every query's deadline, earliest first.
    timers: BTreeSet<(Instant, u64)>,
    cache: Cache,
    transmits: VecDeque<Transmit>,
    events: VecDeque<ResolverEvent>,
    stats: ResolverStats,
    next_handle: u64,
    /// Names resolved by broadcast, newest last (`nbtstat -r`).
    history: VecDeque<OwnedName>,
}

impl<I> core::fmt::Debug for Resolver<I> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Resolver")
            .field("config", &self.config)
            .field("pending", &self.queries.len())
            .field("cached", &self.cache.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Resolver<OsRandomIds> {
    /// A resolver drawing transaction IDs from the operating system.
    #[must_use]
    pub fn with_os_ids(config: ResolverConfig) -> Self {
        Self::new(config, OsRandomIds::new())
    }
}

impl Resolver<DeterministicIds> {
    /// A resolver with predictable IDs, for tests and simulations only.
    #[must_use]
    pub fn with_deterministic_ids(config: ResolverConfig, seed: u64) -> Self {
        Self::new(config, DeterministicIds::new(seed))
    }
}

impl<I: IdSource> Resolver<I> {
    /// A resolver with this configuration and ID source.
    #[must_use]
    pub fn new(config: ResolverConfig, ids: I) -> Self {
        Self {
            config,
            ids,
            queries: HashMap::with_hasher(KeyedState::default()),
            by_id: HashMap::with_hasher(KeyedState::default()),
            timers: BTreeSet::new(),
            cache: Cache::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: ResolverStats::default(),
            next_handle: 0,
            history: VecDeque::new(),
        }
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &ResolverConfig {
        &self.config
    }

    /// The counters.
    #[must_use]
    pub fn stats(&self) -> &ResolverStats {
        &self.stats
    }

    /// Queries in flight (a unique name found by broadcast stays in flight
    /// for CONFLICT_TIMER after its outcome, watching for conflicts).
    #[must_use]
    pub fn pending(&self) -> usize {
        self.queries.len()
    }

    /// Heap bytes held, roughly: queries, answers, cache, queues.
    #[must_use]
    pub fn memory_usage(&self) -> usize {
        let queries: usize = self
            .queries
            .values()
            .map(|q| {
                size_of::<(u64, Query)>()
                    + q.answers
                        .iter()
                        .map(|a| {
                            size_of::<Answer>() + a.addresses.capacity() * size_of::<NbAddrEntry>()
                        })
                        .sum::<usize>()
            })
            .sum();
        let transmits: usize = self
            .transmits
            .iter()
            .map(|t| t.contents.capacity() + 32)
            .sum();
        queries
            + self.by_id.capacity() * 16
            + self.timers.len() * 32
            + self.cache.heap_bytes()
            + transmits
            + self.events.len() * size_of::<ResolverEvent>()
    }

    /// Starts resolving `name`. A cached name is answered at once (the
    /// event is ready to poll); otherwise the first request is queued. The
    /// outcome arrives as an event carrying the returned handle.
    ///
    /// # Errors
    ///
    /// [`QueryError::TooManyPending`] when
    /// [`max_pending`](ResolverConfig::max_pending) queries are in flight;
    /// [`QueryError::NoMethod`] when the node type has nothing configured to
    /// resolve with.
    pub fn query(&mut self, now: Instant, name: Name<'_>) -> Result<QueryHandle, QueryError> {
        self.query_as(now, name, self.config.node_type)
    }

    /// Like [`Self::query`], but this query runs as a node of `node_type`
    /// would (its methods and their order), whatever the configured type:
    /// `nbtstat -a NAME` without a WINS server asks as a B-node, a program
    /// that must not broadcast as a P-node. Unconfigured methods are
    /// skipped as always.
    ///
    /// # Errors
    ///
    /// As [`Self::query`].
    pub fn query_as(
        &mut self,
        now: Instant,
        name: Name<'_>,
        node_type: NodeType,
    ) -> Result<QueryHandle, QueryError> {
        let owned = OwnedName::from_name(name);
        let methods = node_type.methods();
        if !self.has_method(0, methods) {
            return Err(QueryError::NoMethod);
        }
        let wildcard = name.netbios.is_wildcard();
        let cached = if wildcard {
            None
        } else {
            self.cache
                .lookup(now, &owned)
                .map(|(addresses, group, remaining)| (addresses.to_vec(), group, remaining))
        };
        if let Some((addresses, group, remaining)) = cached {
            let resolution = Resolution {
                addresses,
                group,
                ttl: u32::try_from(remaining.as_secs()).unwrap_or(u32::MAX),
                via: Via::Cache,
                responders: Vec::new(),
            };
            let handle = self.new_handle();
            self.stats.resolved_from_cache += 1;
            self.push_event(ResolverEvent::Resolved {
                query: handle,
                name: owned,
                resolution,
            });
            return Ok(handle);
        }
        if self.queries.len() >= self.config.pending_cap() {
            return Err(QueryError::TooManyPending);
        }
        let handle = self.new_handle();
        let id = self.fresh_id();
        self.by_id.insert(id, handle.0);
        self.queries.insert(
            handle.0,
            Query {
                handle,
                name: owned,
                id,
                phase: Phase::Broadcast { sent: 0 },
                deadline: now,
                methods,
                method: 0,
                answers: Vec::new(),
            },
        );
        self.begin_method(now, handle.0, 0);
        Ok(handle)
    }

    /// Abandons a query in flight, with no event; whether it was in flight.
    pub fn cancel(&mut self, query: QueryHandle) -> bool {
        self.remove_query(query.0).is_some()
    }

    /// The cached names alive at `now`, soonest to expire first
    /// (`nbtstat -c`).
    pub fn cache(&self, now: Instant) -> impl Iterator<Item = CachedName<'_>> + '_ {
        self.cache.iter(now)
    }

    /// Empties the cache (`nbtstat -R`). Queries in flight go on.
    pub fn purge_cache(&mut self) {
        self.cache.clear();
    }

    /// Removes one name from the cache; whether it was there.
    pub fn forget(&mut self, name: Name<'_>) -> bool {
        self.cache.remove(&OwnedName::from_name(name))
    }

    /// The names most recently resolved by broadcast, oldest first
    /// (`nbtstat -r`'s "NetBIOS Names Resolved By Broadcast").
    pub fn resolved_by_broadcast(&self) -> impl Iterator<Item = &OwnedName> + '_ {
        self.history.iter()
    }

    /// The next datagram to send.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<ResolverEvent> {
        self.events.pop_front()
    }

    /// The next deadline: call [`Self::handle_timeout`] then.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.first().map(|&(t, _)| t)
    }

    /// Acts on every deadline that has passed at `now`: retransmissions,
    /// the next server or method, the end of a collection window.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&(t, h)) = self.timers.first() {
            if t > now {
                break;
            }
            self.timers.pop_first();
            self.on_deadline(now, h);
        }
    }

    /// Handles one datagram that arrived from `from`.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddrV4, bytes: &[u8]) {
        self.stats.datagrams += 1;
        let Ok(p) = Packet::parse(bytes) else {
            self.stats.dropped_malformed += 1;
            return;
        };
        if !p.is_response() {
            self.on_request(from, &p);
            return;
        }
        let positive = match p.kind() {
            PacketKind::PositiveNameQueryResponse => true,
            PacketKind::NegativeNameQueryResponse => false,
            _ => {
                self.stats.dropped_unsolicited += 1;
                return;
            }
        };
        let Some(&h) = self.by_id.get(&p.header().id) else {
            self.stats.dropped_unsolicited += 1;
            return;
        };
        let Some(q) = self.queries.get(&h) else {
            self.stats.dropped_unsolicited += 1;
            return;
        };
        let source_ok = match q.phase {
            Phase::NameServer { server, .. } => self.config.name_servers.get(server) == Some(&from),
            Phase::Broadcast { .. } | Phase::Collecting { .. } => {
                from.port() == PORT && self.config.subnet.is_some_and(|s| s.contains(*from.ip()))
            }
        };
        if !source_ok {
            self.stats.dropped_wrong_source += 1;
            return;
        }
        let Some(answer) = p.answer() else {
            self.stats.dropped_bad_record += 1;
            return;
        };
        if answer.name != q.name.name() {
            self.stats.dropped_wrong_name += 1;
            return;
        }
        if !positive {
            match q.phase {
                Phase::NameServer { .. } => {
                    let rcode = p.rcode();
                    if let Some(q) = self.remove_query(h) {
                        self.stats.not_found += 1;
                        self.push_event(ResolverEvent::NotFound {
                            query: q.handle,
                            name: q.name,
                            server: from,
                            rcode,
                        });
                    }
                }
                Phase::Broadcast { .. } | Phase::Collecting { .. } => {
                    self.stats.ignored_negative_broadcast += 1;
                }
            }
            return;
        }
        let nb = answer
            .nb()
            .filter(|nb| !nb.is_empty() && answer.class == Class::In);
        let Some(nb) = nb else {
            self.stats.dropped_bad_record += 1;
            return;
        };
        let addresses: Vec<NbAddrEntry> =
            nb.iter().take(self.config.max_addresses.max(1)).collect();
        let group = addresses.first().is_some_and(|a| a.flags.group());
        let got = Answer {
            from,
            group,
            ttl: answer.ttl,
            addresses,
            conflict: false,
        };
        self.stats.accepted_answers += 1;
        match q.phase {
            Phase::NameServer { .. } => self.resolve_by_name_server(now, h, got),
            Phase::Broadcast { .. } => self.first_broadcast_answer(now, h, got),
            Phase::Collecting { .. } => self.later_broadcast_answer(h, got),
        }
    }

    // ----- internals ---------------------------------------------------

    fn new_handle(&mut self) -> QueryHandle {
        self.next_handle += 1;
        QueryHandle(self.next_handle)
    }

    /// A transaction ID no query in flight uses.
    fn fresh_id(&mut self) -> u16 {
        let mut id = self.ids.next_id();
        for _ in 0..16 {
            if !self.by_id.contains_key(&id) {
                return id;
            }
            id = self.ids.next_id();
        }
        // At most 32,768 IDs are in use (`pending_cap`), so a free one is
        // at most that many steps away.
        while self.by_id.contains_key(&id) {
            id = id.wrapping_add(1);
        }
        id
    }

    fn method_available(&self, method: Method) -> bool {
        match method {
            Method::NameServer => !self.config.name_servers.is_empty(),
            Method::Broadcast => self.config.subnet.is_some(),
        }
    }

    fn has_method(&self, from: usize, methods: &[Method]) -> bool {
        methods.iter().skip(from).any(|&m| self.method_available(m))
    }

    fn push_event(&mut self, event: ResolverEvent) {
        if self.events.len() >= self.config.max_queued {
            self.stats.dropped_backlog += 1;
        } else {
            self.events.push_back(event);
        }
    }

    fn push_transmit(&mut self, destination: SocketAddrV4, message: &Message<'_>) {
        if self.transmits.len() >= self.config.max_queued {
            self.stats.dropped_backlog += 1;
            return;
        }
        let mut contents = vec![0u8; message.buffer_len()];
        if let Ok(n) = message.emit(&mut contents) {
            contents.truncate(n);
            self.transmits.push_back(Transmit {
                destination,
                source: None,
                contents,
            });
        }
    }

    fn set_deadline(&mut self, h: u64, deadline: Instant) {
        if let Some(q) = self.queries.get_mut(&h) {
            self.timers.remove(&(q.deadline, h));
            q.deadline = deadline;
            self.timers.insert((deadline, h));
        }
    }

    fn remove_query(&mut self, h: u64) -> Option<Query> {
        let q = self.queries.remove(&h)?;
        self.timers.remove(&(q.deadline, h));
        if self.by_id.get(&q.id) == Some(&h) {
            self.by_id.remove(&q.id);
        }
        Some(q)
    }

    /// Gives query `h` a new transaction ID.
    fn renew_id(&mut self, h: u64) {
        let Some(old) = self.queries.get(&h).map(|q| q.id) else {
            return;
        };
        if self.by_id.get(&old) == Some(&h) {
            self.by_id.remove(&old);
        }
        let id = self.fresh_id();
        self.by_id.insert(id, h);
        if let Some(q) = self.queries.get_mut(&h) {
            q.id = id;
        }
    }

    /// Sends query `h`'s request for its current phase.
    fn send_request(&mut self, h: u64) {
        let Some(q) = self.queries.get(&h) else {
            return;
        };
        let (destination, broadcast, sent) = match q.phase {
            Phase::NameServer { server, sent } => {
                let Some(&s) = self.config.name_servers.get(server) else {
                    return;
                };
                (s, false, sent)
            }
            Phase::Broadcast { sent } => {
                let Some(subnet) = self.config.subnet else {
                    return;
                };
                (
                    SocketAddrV4::new(subnet.broadcast_address(), PORT),
                    true,
                    sent,
                )
            }
            Phase::Collecting { .. } => return,
        };
        let name = q.name.clone();
        let message = Message::name_query_request(q.id, name.name(), broadcast);
        self.stats.requests_sent += 1;
        if sent > 1 {
            self.stats.retransmissions += 1;
        }
        self.push_transmit(destination, &message);
    }

    /// Starts the first available method at index `from` or later, or ends
    /// the query with no answer.
    fn begin_method(&mut self, now: Instant, h: u64, from: usize) {
        let Some(methods) = self.queries.get(&h).map(|q| q.methods) else {
            return;
        };
        let next = methods
            .iter()
            .enumerate()
            .skip(from)
            .find(|&(_, &m)| self.method_available(m));
        let Some((index, &method)) = next else {
            if let Some(q) = self.remove_query(h) {
                self.stats.no_answer += 1;
                self.push_event(ResolverEvent::NoAnswer {
                    query: q.handle,
                    name: q.name,
                });
            }
            return;
        };
        if from > 0 {
            self.renew_id(h);
        }
        let (phase, wait) = match method {
            Method::NameServer => (
                Phase::NameServer { server: 0, sent: 1 },
                self.config.unicast_retry(),
            ),
            Method::Broadcast => (Phase::Broadcast { sent: 1 }, self.config.broadcast_retry()),
        };
        if let Some(q) = self.queries.get_mut(&h) {
            q.method = index;
            q.phase = phase;
        }
        self.set_deadline(h, now + wait);
        self.send_request(h);
    }

    fn on_deadline(&mut self, now: Instant, h: u64) {
        let Some(q) = self.queries.get(&h) else {
            return;
        };
        let method = q.method;
        match q.phase {
            Phase::NameServer { server, sent } => {
                if sent < self.config.unicast_retry_count.max(1) {
                    self.set_phase(
                        h,
                        Phase::NameServer {
                            server,
                            sent: sent + 1,
                        },
                    );
                } else if server + 1 < self.config.name_servers.len() {
                    self.renew_id(h);
                    self.set_phase(
                        h,
                        Phase::NameServer {
                            server: server + 1,
                            sent: 1,
                        },
                    );
                } else {
                    self.begin_method(now, h, method + 1);
                    return;
                }
                self.set_deadline(h, now + self.config.unicast_retry());
                self.send_request(h);
            }
            Phase::Broadcast { sent } => {
                if sent < self.config.broadcast_retry_count.max(1) {
                    self.set_phase(h, Phase::Broadcast { sent: sent + 1 });
                    self.set_deadline(h, now + self.config.broadcast_retry());
                    self.send_request(h);
                } else {
                    self.begin_method(now, h, method + 1);
                }
            }
            Phase::Collecting { reported } => {
                let Some(q) = self.remove_query(h) else {
                    return;
                };
                if !reported {
                    self.report_collected(now, q);
                }
            }
        }
    }

    fn set_phase(&mut self, h: u64, phase: Phase) {
        if let Some(q) = self.queries.get_mut(&h) {
            q.phase = phase;
        }
    }

    /// How long an answer with `ttl` seconds is cached.
    fn cache_life(&self, ttl: u32) -> Duration {
        let timeout = self.config.cache_timeout;
        if ttl == 0 {
            timeout
        } else {
            timeout.min(Duration::from_secs(u64::from(ttl)))
        }
    }

    fn resolve_by_name_server(&mut self, now: Instant, h: u64, got: Answer) {
        let Some(q) = self.remove_query(h) else {
            return;
        };
        self.stats.resolved_by_name_server += 1;
        let via = Via::NameServer(got.from);
        self.cache.insert(
            now,
            self.config.cache_capacity,
            q.name.clone(),
            got.addresses.clone(),
            got.group,
            via,
            self.cache_life(got.ttl),
        );
        self.push_event(ResolverEvent::Resolved {
            query: q.handle,
            name: q.name,
            resolution: Resolution {
                addresses: got.addresses,
                group: got.group,
                ttl: got.ttl,
                via,
                responders: vec![got.from],
            },
        });
    }

    fn note_broadcast_resolution(&mut self, now: Instant, name: &OwnedName, r: &Resolution) {
        self.stats.resolved_by_broadcast += 1;
        if self.config.broadcast_history > 0 {
            while self.history.len() >= self.config.broadcast_history {
                self.history.pop_front();
            }
            self.history.push_back(name.clone());
        }
        if !name.netbios.is_wildcard() {
            self.cache.insert(
                now,
                self.config.cache_capacity,
                name.clone(),
                r.addresses.clone(),
                r.group,
                Via::Broadcast,
                self.cache_life(r.ttl),
            );
        }
    }

    fn first_broadcast_answer(&mut self, now: Instant, h: u64, got: Answer) {
        let Some(q) = self.queries.get_mut(&h) else {
            return;
        };
        // A unique name is reported on its first answer (RFC 1002 §5.1.1's
        // find name returns it at once); a group or `*` collects members.
        let report_now = !got.group && !q.name.netbios.is_wildcard();
        q.phase = Phase::Collecting {
            reported: report_now,
        };
        q.answers.push(got.clone());
        let (handle, name) = (q.handle, q.name.clone());
        self.set_deadline(h, now + self.config.collect_window());
        if report_now {
            let resolution = Resolution {
                addresses: got.addresses,
                group: false,
                ttl: got.ttl,
                via: Via::Broadcast,
                responders: vec![got.from],
            };
            self.note_broadcast_resolution(now, &name, &resolution);
            self.push_event(ResolverEvent::Resolved {
                query: handle,
                name,
                resolution,
            });
        }
    }

    fn later_broadcast_answer(&mut self, h: u64, mut got: Answer) {
        let max = self.config.max_responders.max(1);
        let Some(q) = self.queries.get_mut(&h) else {
            return;
        };
        if q.answers.iter().any(|a| a.from == got.from) || q.answers.len() >= max {
            self.stats.dropped_extra_answers += 1;
            return;
        }
        let Some(first) = q.answers.first() else {
            return;
        };
        let holder = first.from;
        // RFC 1001 §15.1.3.5: other data for a unique name is a conflict;
        // members of a group differ by nature, and `*` asks everyone.
        got.conflict =
            !q.name.netbios.is_wildcard() && (!first.group || !got.group) && !first.same_data(&got);
        let conflict = got.conflict;
        let challenger = got.from;
        q.answers.push(got);
        if conflict {
            let (id, handle, name) = (q.id, q.handle, q.name.clone());
            let demand = Message::name_conflict_demand(id, name.name(), self.config.node_type);
            self.stats.conflict_demands += 1;
            self.push_transmit(challenger, &demand);
            self.push_event(ResolverEvent::Conflict {
                query: handle,
                name,
                holder,
                challenger,
            });
        }
    }

    /// The end of a group's (or `*`'s) collection window: every member's
    /// addresses, once each.
    fn report_collected(&mut self, now: Instant, q: Query) {
        let max = self.config.max_addresses.max(1);
        let mut addresses: Vec<NbAddrEntry> = Vec::new();
        let mut responders = Vec::new();
        let mut ttl: Option<u32> = None;
        let group = q.answers.first().is_some_and(|a| a.group);
        for a in q.answers.iter().filter(|a| !a.conflict) {
            responders.push(a.from);
            ttl = Some(match ttl {
                None => a.ttl,
                Some(t) if a.ttl == 0 => t,
                Some(0) => a.ttl,
                Some(t) => t.min(a.ttl),
            });
            for e in &a.addresses {
                if addresses.len() < max && !addresses.iter().any(|x| x.address == e.address) {
                    addresses.push(*e);
                }
            }
        }
        let resolution = Resolution {
            addresses,
            group,
            ttl: ttl.unwrap_or(0),
            via: Via::Broadcast,
            responders,
        };
        self.note_broadcast_resolution(now, &q.name, &resolution);
        self.push_event(ResolverEvent::Resolved {
            query: q.handle,
            name: q.name,
            resolution,
        });
    }

    /// Requests of other nodes: a broadcast NAME RELEASE of a cached name by
    /// one of its holders flushes the entry (RFC 1002 §5.1.1.5); the rest
    /// are not the resolver's to answer.
    fn on_request(&mut self, from: SocketAddrV4, p: &Packet<'_>) {
        if p.kind() == PacketKind::NameReleaseRequest
            && self.config.subnet.is_some_and(|s| s.contains(*from.ip()))
        {
            let released = p
                .additional()
                .and_then(|rr| Some((rr.name, rr.nb()?.first()?.address)));
            if let Some((name, address)) = released {
                let owned = OwnedName::from_name(name);
                if address == *from.ip() && self.cache.holds(&owned, address) {
                    self.cache.remove(&owned);
                    self.stats.cache_flushes += 1;
                    return;
                }
            }
        }
        self.stats.ignored_requests += 1;
    }
}
