//! The values a [`Resolver`](super::Resolver) gives: query handles,
//! outcomes, cache listings, errors and counters.

use core::fmt;
use core::net::SocketAddrV4;
use core::time::Duration;

use crate::client::OwnedName;
use crate::wire::{NbAddrEntry, Rcode};

/// Names one query from [`Resolver::query`](super::Resolver::query) to its
/// outcome event: one run of the node type's find-name procedure (RFC 1002
/// §5.1.1 B, §5.1.2 P, §5.1.3 M).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueryHandle(pub(crate) u64);

impl fmt::Display for QueryHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "query #{}", self.0)
    }
}

/// Where an answer came from: the three columns Windows' `nbtstat -r` and
/// `-c` tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Via {
    /// The resolver's cache (first learnt by broadcast or from a name
    /// server).
    Cache,
    /// Broadcast on the local subnet (RFC 1002 §5.1.1).
    Broadcast,
    /// This name server (RFC 1002 §5.1.2).
    NameServer(SocketAddrV4),
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cache => f.write_str("cache"),
            Self::Broadcast => f.write_str("broadcast"),
            Self::NameServer(s) => write!(f, "name server {s}"),
        }
    }
}

/// A positive outcome: the addresses a name resolved to (RFC 1002
/// §4.2.13's ADDR_ENTRYs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// The address entries, each with its NB_FLAGS, in the order received;
    /// for a group found by broadcast, the union of every member's answer.
    /// A name server may answer a normal group with 0.0.0.0 or
    /// 255.255.255.255 (meaning "broadcast"): such entries are kept.
    pub addresses: Vec<NbAddrEntry>,
    /// Whether the name is a group name (the G bit of the first entry).
    pub group: bool,
    /// The TTL the answer gave (0: infinite).
    pub ttl: u32,
    /// How the name was found.
    pub via: Via,
    /// Who answered: the name server, or each broadcast responder.
    pub responders: Vec<SocketAddrV4>,
}

impl fmt::Display for Resolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.group { "group" } else { "unique" })?;
        for (i, a) in self.addresses.iter().enumerate() {
            f.write_str(if i == 0 { " " } else { ", " })?;
            write!(f, "{}", a.address)?;
        }
        write!(f, " (by {}, TTL {} s)", self.via, self.ttl)
    }
}

/// What became of a query, or what the resolver noticed (RFC 1002 §5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResolverEvent {
    /// The name resolved.
    Resolved {
        /// The query.
        query: QueryHandle,
        /// The name asked for.
        name: OwnedName,
        /// Its addresses and where they came from.
        resolution: Resolution,
    },
    /// A name server answered negatively (NEGATIVE NAME QUERY RESPONSE,
    /// RFC 1002 §4.2.14): the name does not exist there. Final: no other
    /// method is tried (an H-node broadcasts only when every name server is
    /// silent).
    NotFound {
        /// The query.
        query: QueryHandle,
        /// The name asked for.
        name: OwnedName,
        /// The server that answered.
        server: SocketAddrV4,
        /// Its rcode (NAM_ERR, usually).
        rcode: Rcode,
    },
    /// Every method was tried and nobody answered.
    NoAnswer {
        /// The query.
        query: QueryHandle,
        /// The name asked for.
        name: OwnedName,
    },
    /// Two nodes answered a broadcast query for one unique name with
    /// different addresses within CONFLICT_TIMER; a NAME CONFLICT DEMAND
    /// (RFC 1002 §4.2.8) went to `challenger` (RFC 1001 §15.1.3.5, RFC 1002 §5.1.1.5). The
    /// query's outcome is reported separately.
    Conflict {
        /// The query.
        query: QueryHandle,
        /// The name.
        name: OwnedName,
        /// The node that answered first (its answer is the resolution).
        holder: SocketAddrV4,
        /// The node that answered later with other data, and was sent the
        /// demand.
        challenger: SocketAddrV4,
    },
}

impl ResolverEvent {
    /// The query the event is about.
    #[must_use]
    pub fn query(&self) -> QueryHandle {
        match self {
            Self::Resolved { query, .. }
            | Self::NotFound { query, .. }
            | Self::NoAnswer { query, .. }
            | Self::Conflict { query, .. } => *query,
        }
    }
}

impl fmt::Display for ResolverEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Resolved {
                query,
                name,
                resolution,
            } => write!(f, "{query}: {name}: {resolution}"),
            Self::NotFound {
                query,
                name,
                server,
                rcode,
            } => write!(f, "{query}: {name}: not found at {server} ({rcode:?})"),
            Self::NoAnswer { query, name } => write!(f, "{query}: {name}: no answer"),
            Self::Conflict {
                query,
                name,
                holder,
                challenger,
            } => write!(
                f,
                "{query}: {name}: conflict: {challenger} answered other data than {holder}; name conflict demand sent to {challenger}"
            ),
        }
    }
}

/// Why [`Resolver::query`](super::Resolver::query) refused a query (no
/// request was sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// [`max_pending`](super::ResolverConfig::max_pending) queries are in
    /// flight.
    #[error("too many queries in flight")]
    TooManyPending,
    /// The node type's methods have nothing to use: no name server for a P-
    /// node, no subnet for a B-node, neither for the others.
    #[error("no name server and no subnet to resolve with")]
    NoMethod,
}

/// One cached name, as `nbtstat -c` lists it (see
/// [`Resolver::cache`](super::Resolver::cache)): Windows calls the table
/// its remote name cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedName<'a> {
    /// The name.
    pub name: &'a OwnedName,
    /// Its address entries.
    pub addresses: &'a [NbAddrEntry],
    /// Whether it is a group name.
    pub group: bool,
    /// How it was learnt ([`Via::Broadcast`] or [`Via::NameServer`]).
    pub via: Via,
    /// Time left before it expires (`nbtstat -c`'s "Life \[sec\]").
    pub remaining: Duration,
}

impl fmt::Display for CachedName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} ",
            self.name,
            if self.group { "GROUP " } else { "UNIQUE" }
        )?;
        for (i, a) in self.addresses.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}", a.address)?;
        }
        write!(f, " {} s ({})", self.remaining.as_secs(), self.via)
    }
}

/// Counters of a [`Resolver`](super::Resolver) (see
/// [`Resolver::stats`](super::Resolver::stats)): the resolution statistics
/// of `nbtstat -r`, and what it dropped. Everything dropped is counted in
/// exactly one `dropped_*` or `ignored_*` field and was not acted upon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ResolverStats {
    /// Queries resolved by broadcast ("Resolved By Broadcast").
    pub resolved_by_broadcast: u64,
    /// Queries resolved by a name server ("Resolved By Name Server").
    pub resolved_by_name_server: u64,
    /// Queries answered from the cache.
    pub resolved_from_cache: u64,
    /// Queries a name server answered negatively.
    pub not_found: u64,
    /// Queries nobody answered.
    pub no_answer: u64,
    /// NAME CONFLICT DEMANDs sent.
    pub conflict_demands: u64,
    /// Query requests sent (first sends and retransmissions).
    pub requests_sent: u64,
    /// Retransmissions among them.
    pub retransmissions: u64,
    /// Datagrams handed to `handle_datagram`.
    pub datagrams: u64,
    /// Answers that passed every check and were acted upon.
    pub accepted_answers: u64,
    /// Not a well-formed NBNS packet.
    pub dropped_malformed: u64,
    /// A response with no query in flight under its transaction ID, or not
    /// a name query response at all.
    pub dropped_unsolicited: u64,
    /// A response with a pending ID from an address or port the query did
    /// not go to (for a broadcast query: not port 137 on the subnet).
    pub dropped_wrong_source: u64,
    /// A response about another name or scope than the query's.
    pub dropped_wrong_name: u64,
    /// A positive response whose record is not NB/IN with at least one
    /// entry.
    pub dropped_bad_record: u64,
    /// A negative answer to a broadcast query (nodes never send them; a
    /// broadcast query ends on positive answers or silence).
    pub ignored_negative_broadcast: u64,
    /// Broadcast answers beyond
    /// [`max_responders`](super::ResolverConfig::max_responders), or a
    /// responder's repeated answer.
    pub dropped_extra_answers: u64,
    /// Requests of other nodes (the resolver answers none).
    pub ignored_requests: u64,
    /// Cache entries removed because their holder released the name by
    /// broadcast (RFC 1002 §5.1.1.5, NAME RELEASE).
    pub cache_flushes: u64,
    /// Transmits or events dropped because
    /// [`max_queued`](super::ResolverConfig::max_queued) were waiting.
    pub dropped_backlog: u64,
}
