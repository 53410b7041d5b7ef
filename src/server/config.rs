//! Server configuration, with defaults taken from Samba and Windows.

use core::net::Ipv4Addr;
use core::time::Duration;

use crate::server::Durability;
use crate::wire::{NetbiosName, NodeType};

/// One of the server's own names, answered for queries and listed in its
/// node status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnName {
    /// The name.
    pub name: NetbiosName,
    /// Whether it is a group name.
    pub group: bool,
}

/// Configuration of a [`WinsServer`](crate::server::WinsServer).
///
/// Every field has a documented default ([`ServerConfig::default`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The server's own address: the address of its own names and the owner
    /// of the records it creates. Default 0.0.0.0.
    pub address: Ipv4Addr,
    /// Smallest TTL granted, in seconds. Default 21 600 (6 h, Samba's
    /// `min wins ttl`).
    pub min_ttl: u32,
    /// Largest TTL granted, in seconds. Default 518 400 (6 days, Samba's
    /// `max wins ttl` and the Windows renewal interval). A requested TTL,
    /// including 0 ("infinite"), is clamped to `[min_ttl, max_ttl]` and the
    /// granted value is returned in the response.
    pub max_ttl: u32,
    /// How long a released record is kept before it is tombstoned, in
    /// seconds. Default 345 600 (4 days, nmbd and the Windows extinction
    /// interval).
    pub extinction_interval: u32,
    /// How long a tombstone is kept before it is removed, in seconds.
    /// Default 86 400 (1 day, nmbd and Samba4's tombstone timeout).
    pub extinction_timeout: u32,
    /// How long an active replica (a record of another owner) lives after
    /// it was last replicated before it is verified with its owner, in
    /// seconds (see [`verify`](crate::server#replica-verification)).
    /// Default 2 073 600 (24 days, MS-WINSRA <10> and Samba's
    /// `wreplsrv:verify_interval`).
    pub verify_interval: u32,
    /// How long the server must have run before it removes a replica
    /// tombstone, in seconds. Default 259 200 (3 days, Samba's
    /// `wreplsrv:tombstone_extra_timeout`; Windows keeps replica
    /// tombstones for its first 3 days alike).
    pub tombstone_min_uptime: u32,
    /// Interval between challenge queries to the same owner address.
    /// Default 500 ms (Windows: "three times at 500-millisecond intervals").
    pub challenge_interval: Duration,
    /// Challenge queries sent to each old owner address before it counts as
    /// silent. Default 3 (Windows, Samba4). At least 1 is used.
    pub challenge_sends: u8,
    /// Seconds added to the longest possible challenge time to form the
    /// WACK TTL. Default 5 (Samba4 sends `5 + 4·n`; Windows 2003 sends 5).
    pub wack_ttl_base: u32,
    /// Most records kept, in every state. A new name beyond it first
    /// reclaims the oldest tombstone, then the oldest released record; only
    /// when every record is active is it refused with SRV_ERR (see the
    /// [server docs](crate::server#bounds)). Default 262 144 (about 40 MiB).
    pub max_records: usize,
    /// Most challenges in progress. A conflict beyond it is refused with
    /// SRV_ERR. Default 256.
    pub max_pending: usize,
    /// Most distinct non-empty scope IDs remembered; a scope ID is
    /// forgotten with its last record. A new scope beyond it first reclaims
    /// inactive records with a scope ID (oldest first) until one is free;
    /// when none is left, the registration is refused with SRV_ERR.
    /// Default 1024.
    pub max_scopes: usize,
    /// Most datagrams queued for [`poll_transmit`] and events queued for
    /// [`poll_event`]; more are dropped and counted in
    /// [`ServerStats`](crate::server::ServerStats). Answers waiting for
    /// their changes to be persisted have a queue of the same size of
    /// their own. Default 4096.
    ///
    /// [`poll_transmit`]: crate::server::WinsServer::poll_transmit
    /// [`poll_event`]: crate::server::WinsServer::poll_event
    pub max_queued: usize,
    /// The server's own names (queries, node status). Default none.
    pub own_names: Vec<OwnName>,
    /// Node type reported for the server's own names. Default H.
    pub node_type: NodeType,
    /// Unit ID (MAC) in the node status statistics. Default all zero.
    pub unit_id: [u8; 6],
    /// When an answer that acknowledges a change may be sent. Default
    /// [`Durability::Durable`]: only after the embedder has persisted the
    /// change and called
    /// [`WinsServer::handle_persisted`](crate::server::WinsServer::handle_persisted).
    /// An embedder without a store says so with [`Durability::Volatile`].
    pub durability: Durability,
    /// Most changes reported and not yet persisted. Beyond it,
    /// registrations and releases are dropped unanswered (and counted in
    /// [`ServerStats::unpersisted_dropped`](crate::server::ServerStats::unpersisted_dropped))
    /// until the store catches up, so that a failing store cannot make the
    /// server's memory grow; queries are still answered. Default 65 536
    /// (about 6 MiB of changes).
    pub max_unpersisted: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            address: Ipv4Addr::UNSPECIFIED,
            min_ttl: 21_600,
            max_ttl: 518_400,
            extinction_interval: 345_600,
            extinction_timeout: 86_400,
            verify_interval: crate::server::REPLICA_VERIFY_INTERVAL,
            tombstone_min_uptime: 259_200,
            challenge_interval: Duration::from_millis(500),
            challenge_sends: 3,
            wack_ttl_base: 5,
            max_records: 262_144,
            max_pending: 256,
            max_scopes: 1024,
            max_queued: 4096,
            own_names: Vec::new(),
            node_type: NodeType::H,
            unit_id: [0; 6],
            durability: Durability::Durable,
            max_unpersisted: 65_536,
        }
    }
}

impl ServerConfig {
    /// Clamps a requested TTL to `[min_ttl, max_ttl]` (if the bounds are
    /// inverted, `max_ttl` wins).
    #[must_use]
    pub fn grant_ttl(&self, requested: u32) -> u32 {
        requested.max(self.min_ttl).min(self.max_ttl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamp() {
        let c = ServerConfig {
            min_ttl: 10,
            max_ttl: 100,
            ..ServerConfig::default()
        };
        assert_eq!(c.grant_ttl(0), 10);
        assert_eq!(c.grant_ttl(5), 10);
        assert_eq!(c.grant_ttl(50), 50);
        assert_eq!(c.grant_ttl(u32::MAX), 100);
    }
}
