//! What a [`Resolver`](super::Resolver) is told: its node type, name
//! servers and subnet, the RFC 1002 timers, and the caps of its tables.

use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;

use crate::node_type::NodeType;

/// BCAST_REQ_RETRY_TIMEOUT (RFC 1002 §6): time between broadcast query
/// retransmissions, 250 ms. nmblookup uses the same.
pub const BCAST_REQ_RETRY_TIMEOUT: Duration = Duration::from_millis(250);
/// Windows' broadcast query interval, the NetBT `BcastQueryTimeout`
/// registry default: 750 ms.
pub const WINDOWS_BCAST_QUERY_TIMEOUT: Duration = Duration::from_millis(750);
/// BCAST_REQ_RETRY_COUNT (RFC 1002 §6): broadcast sends per query, 3
/// (Windows' `BcastNameQueryCount` is 3 as well).
pub const BCAST_REQ_RETRY_COUNT: u32 = 3;
/// UCAST_REQ_RETRY_TIMEOUT (RFC 1002 §6): 5 s. MS-NBTE §3.1.2 says it
/// SHOULD be 1.5 s, which the name client and the resolver use by default.
pub const UCAST_REQ_RETRY_TIMEOUT: Duration = Duration::from_secs(5);
/// UCAST_REQ_RETRY_COUNT (RFC 1002 §6): unicast sends per name server, 3.
pub const UCAST_REQ_RETRY_COUNT: u32 = 3;
/// CONFLICT_TIMER (RFC 1002 §6): after the first positive answer to a
/// broadcast query, how long further answers are collected (and checked for
/// a conflict, RFC 1001 §15.1.3.5), 1 s.
pub const CONFLICT_TIMER: Duration = Duration::from_secs(1);

/// An IPv4 subnet: where broadcast queries go (its directed broadcast
/// address, RFC 919) and where their answers may come
/// from.
///
/// ```
/// use core::net::Ipv4Addr;
/// use nbns::resolver::Subnet;
/// let s = Subnet::new(Ipv4Addr::new(10, 0, 0, 7), 24);
/// assert_eq!(s.broadcast_address(), Ipv4Addr::new(10, 0, 0, 255));
/// assert!(s.contains(Ipv4Addr::new(10, 0, 0, 1)));
/// assert!(!s.contains(Ipv4Addr::new(10, 0, 1, 1)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Subnet {
    /// Any address of the subnet (the node's own, typically).
    pub address: Ipv4Addr,
    /// The prefix length, 0 to 32 (larger values count as 32).
    pub prefix_len: u8,
}

impl Subnet {
    /// The subnet of `address` with `prefix_len` network bits.
    #[must_use]
    pub const fn new(address: Ipv4Addr, prefix_len: u8) -> Self {
        Self {
            address,
            prefix_len,
        }
    }

    fn mask(self) -> u32 {
        let host_bits = 32u32.saturating_sub(u32::from(self.prefix_len));
        u32::MAX.checked_shl(host_bits).unwrap_or(0)
    }

    /// The directed broadcast address: the network with every host bit set.
    #[must_use]
    pub fn broadcast_address(self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.address) | !self.mask())
    }

    /// Whether `ip` is on the subnet.
    #[must_use]
    pub fn contains(self, ip: Ipv4Addr) -> bool {
        (u32::from(ip) ^ u32::from(self.address)) & self.mask() == 0
    }
}

/// Configuration of a [`Resolver`](super::Resolver). `Default` is a B-node
/// without a subnet (it can resolve nothing until given one or a server);
/// [`ResolverConfig::new`] builds the usual ones.
///
/// Timers follow RFC 1002 §6 ([`BCAST_REQ_RETRY_TIMEOUT`] 250 ms ×
/// [`BCAST_REQ_RETRY_COUNT`] 3, [`CONFLICT_TIMER`] 1 s) except the unicast
/// retry, which is MS-NBTE's 1.5 s. For Windows' broadcast pacing set
/// `broadcast_retry_timeout` to [`WINDOWS_BCAST_QUERY_TIMEOUT`].
///
/// ```
/// use core::net::Ipv4Addr;
/// use nbns::node_type::NodeType;
/// use nbns::resolver::{ResolverConfig, Subnet, WINDOWS_BCAST_QUERY_TIMEOUT};
/// let mut config = ResolverConfig::new(
///     NodeType::H,
///     ["10.0.0.1:137".parse().unwrap()],
///     Some(Subnet::new(Ipv4Addr::new(10, 0, 0, 7), 24)),
/// );
/// config.broadcast_retry_timeout = WINDOWS_BCAST_QUERY_TIMEOUT;
/// assert_eq!(config.broadcast_retry_count, 3);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResolverConfig {
    /// Which methods, in which order ([`NodeType::methods`]).
    pub node_type: NodeType,
    /// Name servers, tried in order, each `unicast_retry_count` times. A
    /// B-node ignores them.
    pub name_servers: Vec<SocketAddrV4>,
    /// The local subnet: broadcast queries go to its broadcast address,
    /// port 137, and their answers are accepted only from port 137 of an
    /// address on it. `None`: no broadcast (a P-node's behaviour, whatever
    /// the node type).
    pub subnet: Option<Subnet>,
    /// Time between unicast sends (default 1.5 s, MS-NBTE §3.1.2).
    pub unicast_retry_timeout: Duration,
    /// Unicast sends per name server (default 3).
    pub unicast_retry_count: u32,
    /// Time between broadcast sends (default 250 ms, RFC 1002 §6).
    pub broadcast_retry_timeout: Duration,
    /// Broadcast sends per query (default 3).
    pub broadcast_retry_count: u32,
    /// How long answers to a broadcast query are collected after the first
    /// (default 1 s, CONFLICT_TIMER).
    pub conflict_timer: Duration,
    /// Longest time a resolved name is cached, whatever its TTL; also the
    /// time for a TTL of 0 (infinite). Default 600 s, Windows' NetBT
    /// `CacheTimeout`. Zero: no caching.
    pub cache_timeout: Duration,
    /// Names in the cache at most (default 256); the entry closest to
    /// expiry is evicted for a new one.
    pub cache_capacity: usize,
    /// Queries in flight at most (default 64, at most 32,768); more are
    /// refused.
    pub max_pending: usize,
    /// Distinct responders collected per broadcast query (default 25,
    /// MS-NBTE §3.2.1's addresses per group name); later ones are dropped.
    pub max_responders: usize,
    /// Addresses kept per resolution (default 64).
    pub max_addresses: usize,
    /// Transmits and events waiting to be polled, each (default 256);
    /// beyond, new ones are dropped and counted.
    pub max_queued: usize,
    /// Names kept for the "resolved by broadcast" list of `nbtstat -r`
    /// (default 16, the newest kept).
    pub broadcast_history: usize,
}

impl ResolverConfig {
    /// A resolver of `node_type` with these name servers and this subnet,
    /// every other setting at its default.
    #[must_use]
    pub fn new(
        node_type: NodeType,
        name_servers: impl IntoIterator<Item = SocketAddrV4>,
        subnet: Option<Subnet>,
    ) -> Self {
        Self {
            node_type,
            name_servers: name_servers.into_iter().collect(),
            subnet,
            ..Self::default()
        }
    }

    /// A B-node on `subnet`.
    #[must_use]
    pub fn broadcast(subnet: Subnet) -> Self {
        Self::new(NodeType::B, [], Some(subnet))
    }

    pub(crate) fn unicast_retry(&self) -> Duration {
        self.unicast_retry_timeout.max(Duration::from_millis(1))
    }

    pub(crate) fn broadcast_retry(&self) -> Duration {
        self.broadcast_retry_timeout.max(Duration::from_millis(1))
    }

    pub(crate) fn collect_window(&self) -> Duration {
        self.conflict_timer.max(Duration::from_millis(1))
    }

    pub(crate) fn pending_cap(&self) -> usize {
        self.max_pending.min(32_768)
    }
}

impl Default for ResolverConfig {
    fn default() -> Self {
        Self {
            node_type: NodeType::B,
            name_servers: Vec::new(),
            subnet: None,
            unicast_retry_timeout: Duration::from_millis(1500),
            unicast_retry_count: UCAST_REQ_RETRY_COUNT,
            broadcast_retry_timeout: BCAST_REQ_RETRY_TIMEOUT,
            broadcast_retry_count: BCAST_REQ_RETRY_COUNT,
            conflict_timer: CONFLICT_TIMER,
            cache_timeout: Duration::from_secs(600),
            cache_capacity: 256,
            max_pending: 64,
            max_responders: 25,
            max_addresses: 64,
            max_queued: 256,
            broadcast_history: 16,
        }
    }
}
