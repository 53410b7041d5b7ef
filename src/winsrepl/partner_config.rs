//! Configuration of a replication [`Partner`](crate::winsrepl::Partner):
//! who the partners are, in which direction records flow, timers and the
//! caps that bound what a peer can make us hold (MS-WINSRA 3.2.2, 3.3.2;
//! Samba's `wins_config.ldb` attributes).

use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;

use crate::winsrepl::{AssociationConfig, REPLICATION_PORT};

/// Pulling from a partner: we ask it for records and accept its update
/// notifications (Samba partner type bit 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PullConfig {
    /// Time between periodic pulls; `None`: only at start and on
    /// notifications (Samba `pullInterval`, default 1800 s; 0 = none).
    pub interval: Option<Duration>,
    /// Wait after a failed pull, times the number of failures in a row,
    /// at most `interval` (Samba `pullRetryInterval`, 30 s).
    pub retry: Duration,
}

impl Default for PullConfig {
    fn default() -> Self {
        Self {
            interval: Some(Duration::from_secs(1800)),
            retry: Duration::from_secs(30),
        }
    }
}

/// Pushing to a partner: we notify it of our changes and answer its map
/// and name records requests (Samba partner type bit 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushConfig {
    /// Notify once our version counter has advanced by this many since the
    /// last notification; 0: never notify, only answer requests (Samba
    /// `pushChangeCount`).
    pub change_count: u64,
    /// Notify with INFORM (persistent; the partner pulls over its own
    /// association) instead of UPDATE (the partner pulls on our stream).
    /// Samba's `pushUseInform` defaults to INFORM; UPDATE works even when
    /// the partner cannot connect back, and is the default here.
    pub use_inform: bool,
}

impl Default for PushConfig {
    fn default() -> Self {
        Self {
            change_count: 1,
            use_inform: false,
        }
    }
}

/// One configured replication partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartnerConfig {
    /// Where it listens (TCP 42). Connections from its IPv4 address, from
    /// any port, are its; only configured addresses may replicate.
    pub address: SocketAddrV4,
    /// Whether and how we pull from it.
    pub pull: Option<PullConfig>,
    /// Whether and how we push to it.
    pub push: Option<PushConfig>,
}

impl PartnerConfig {
    /// A push and pull partner at `ip`, port 42, with the default timers.
    #[must_use]
    pub fn push_pull(ip: Ipv4Addr) -> Self {
        Self {
            address: SocketAddrV4::new(ip, REPLICATION_PORT),
            pull: Some(PullConfig::default()),
            push: Some(PushConfig::default()),
        }
    }
}

/// The configuration of a [`Partner`](crate::winsrepl::Partner).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicationConfig {
    /// Our owner address: the owner of the records registered with us
    /// (Samba `winsdb:local_owner`).
    pub owner: Ipv4Addr,
    /// The partners. Replication with any other address is refused.
    pub partners: Vec<PartnerConfig>,
    /// Association timeouts and the largest message accepted.
    pub association: AssociationConfig,
    /// A connection that brings no whole message for this long is closed.
    pub idle_timeout: Duration,
    /// Changes to our records within this delay go out in one
    /// notification (so a `nbtstat -RR` of a host's names notifies once).
    pub notify_delay: Duration,
    /// Most connections at once; more are closed on arrival.
    pub max_connections: usize,
    /// Most connections at once from addresses that are not partners
    /// (which get nothing but a start response and a stop): strangers
    /// cannot take the connections partners need.
    pub max_non_partner_connections: usize,
    /// Most bytes queued for one connection and not yet taken by
    /// [`Partner::poll_send`](crate::winsrepl::Partner::poll_send); a peer
    /// that asks for more before reading is cut off.
    pub max_queued_bytes: usize,
    /// Most name records in one Name Records Response we send. A
    /// requester asking for a range with more gets the lowest versions; a
    /// partner of this crate asks again for the rest, but Samba marks the
    /// whole range as pulled, so keep this above the number of records an
    /// owner holds when Samba pulls from us.
    pub max_records_per_reply: usize,
    /// Most owners taken from one map or notification.
    pub max_owners: usize,
    /// Most Name Records Requests in one pull.
    pub max_requests_per_pull: usize,
    /// Most events held for [`Partner::poll_event`](crate::winsrepl::Partner::poll_event);
    /// more are counted and dropped.
    pub max_events: usize,
}

impl ReplicationConfig {
    /// A configuration for `owner` with these partners and the defaults.
    #[must_use]
    pub fn new(owner: Ipv4Addr, partners: Vec<PartnerConfig>) -> Self {
        Self {
            owner,
            partners,
            association: AssociationConfig {
                max_message_len: 8 << 20,
                ..AssociationConfig::default()
            },
            idle_timeout: Duration::from_secs(120),
            notify_delay: Duration::from_millis(200),
            max_connections: 64,
            max_non_partner_connections: 4,
            max_queued_bytes: 16 << 20,
            max_records_per_reply: 50_000,
            max_owners: 1024,
            max_requests_per_pull: 10_000,
            max_events: 4096,
        }
    }

    /// The index of the partner at `ip`.
    #[must_use]
    pub fn partner_index(&self, ip: Ipv4Addr) -> Option<usize> {
        self.partners.iter().position(|p| *p.address.ip() == ip)
    }
}
