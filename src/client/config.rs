//! [`ClientConfig`]: servers, timers and opcodes of a [`NameClient`](super::NameClient),
//! with defaults taken from MS-NBTE, RFC 1002 §6 and what Windows and Samba do.

use core::net::SocketAddrV4;
use core::time::Duration;

use crate::wire::NodeType;

/// Which opcode a name registration uses (RFC 1002 §4.2.2, MS-NBTE §2.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RegistrationOpcode {
    /// Opcode 0xF for unique names with more than one address, opcode 5
    /// otherwise (MS-NBTE §3.1.4.1: a multi-homed host SHOULD use 0xF for
    /// unique names). Group names always use 5.
    #[default]
    Auto,
    /// Always opcode 5, the RFC's NAME REGISTRATION REQUEST.
    Standard,
    /// Opcode 0xF for every unique name, as Samba's nmbd and Samba4 do even
    /// on a host with one address (erratum E2). Group names still use 5.
    Multihomed,
}

/// Which opcode a name refresh uses (RFC 1002 §4.2.4, erratum E1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RefreshOpcode {
    /// Opcode 8, as the RFC's table says and as Windows NT, nmbd and Samba4
    /// send it.
    #[default]
    Eight,
    /// Opcode 9, as the RFC's §4.2.4 diagram draws it.
    Nine,
}

/// Configuration of a [`NameClient`](super::NameClient).
///
/// Every field is public; start from [`ClientConfig::default`] (or
/// [`ClientConfig::with_servers`]) and change what you need.
///
/// ```
/// use core::time::Duration;
/// use nbns::client::ClientConfig;
/// let primary = "10.0.0.1:137".parse().unwrap();
/// let secondary = "10.0.0.2:137".parse().unwrap();
/// let mut config = ClientConfig::with_servers([primary, secondary]);
/// config.retry_interval = Duration::from_secs(5); // RFC 1002's UCAST_REQ_RETRY_TIMEOUT
/// assert_eq!(config.retries_per_server, 3);
/// assert_eq!(config.reregister_cooldown, Duration::from_secs(120));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// WINS servers, primary first, then the secondaries in the order they
    /// are tried. Only the first [`ClientConfig::MAX_SERVERS`] are used.
    ///
    /// With no server the client holds its names locally: it answers and
    /// defends them but registers nothing (state
    /// [`NameState::Local`](super::NameState::Local)).
    ///
    /// Default: none.
    pub servers: Vec<SocketAddrV4>,
    /// Time between transmissions of a unicast request that gets no answer.
    ///
    /// Default 1.5 s, MS-NBTE §3.1.2's SHOULD for UCAST_REQ_RETRY_TIMEOUT
    /// (RFC 1002 §6 says 5 s; nmbd uses 5 s, Samba4 3 s for registration).
    /// Values under 1 ms are treated as 1 ms.
    pub retry_interval: Duration,
    /// Transmissions of a request to one server before moving on to the next
    /// (or, when every server was tried, giving up on this round).
    ///
    /// Default 3 (RFC 1002 §6 UCAST_REQ_RETRY_COUNT; Windows moves to the
    /// secondary "after three tries"). 0 is treated as 1.
    pub retries_per_server: u8,
    /// Shortest WACK wait accepted: a WACK TTL below it is replaced by
    /// [`ClientConfig::wack_fallback`]. Default 9 s (Samba's client rule;
    /// Windows 2003 sends a TTL of 5 that is too short to be meant).
    pub wack_min: Duration,
    /// Longest WACK wait accepted: a WACK TTL above it is replaced by
    /// [`ClientConfig::wack_fallback`]. Default 105 s (Samba).
    pub wack_max: Duration,
    /// The wait used when a WACK's TTL is outside
    /// [`wack_min`](ClientConfig::wack_min)..=[`wack_max`](ClientConfig::wack_max),
    /// including TTL 0 ("can not estimate"). Default 105 s (Samba).
    pub wack_fallback: Duration,
    /// TTL asked for in registrations and refreshes. The server decides the
    /// TTL it grants; the client always uses the granted one.
    ///
    /// Default 300 000 s (0x493E0), what Windows asks for (erratum E9).
    pub requested_ttl: u32,
    /// Floor applied to a granted TTL before the refresh time is derived from
    /// it: MS-NBTE §3.1.4.1 uses 5 minutes when the server grants less.
    /// Default 300 s.
    pub min_ttl: Duration,
    /// A name is refreshed after this fraction of its (floored) granted TTL,
    /// as a divisor: 2 means half the TTL, Windows 2000's schedule. Default 2;
    /// 0 is treated as 1.
    pub refresh_divisor: u32,
    /// How long to wait before registering a name again after every server
    /// stayed silent. Default 10 minutes (Windows retries a failed
    /// registration every 10 minutes).
    pub registration_retry: Duration,
    /// Opcode of registrations. Default [`RegistrationOpcode::Auto`].
    pub registration_opcode: RegistrationOpcode,
    /// Opcode of refreshes. Default [`RefreshOpcode::Eight`].
    pub refresh_opcode: RefreshOpcode,
    /// Time after a [`reregister_all`](super::NameClient::reregister_all)
    /// (`nbtstat -RR`) during which another is refused. Default 120 s
    /// (MS KB 188598: "cannot be repeated for 2 minutes").
    pub reregister_cooldown: Duration,
    /// The node type put in NB_FLAGS and node status answers. Default
    /// [`NodeType::H`], a Windows client with a WINS server.
    pub node_type: NodeType,
    /// UNIT_ID of node status answers (a MAC address in practice). Default
    /// all zero, as nmbd sends ("they could be used to attack the protocol").
    pub unit_id: [u8; 6],
    /// Most answers (name query, node status and defence responses) waiting
    /// in the transmit queue; more are dropped and counted, so a flood of
    /// queries cannot grow the queue without bound. Default 256.
    pub max_queued_answers: usize,
    /// Node status answers a source address gets at once before it is
    /// limited to one per [`status_interval`](Self::status_interval): a
    /// token bucket per source, so the client cannot be used as a
    /// reflector (a 50-byte request draws up to 576 bytes). Refused
    /// requests are counted in
    /// [`ClientStats::dropped_rate_limited`](super::ClientStats::dropped_rate_limited).
    /// 0 answers no node status request. Default 4.
    pub status_burst: u32,
    /// Time in which a source earns one more node status answer. Default 1 s.
    pub status_interval: Duration,
}

impl ClientConfig {
    /// Most WINS servers a client uses; the rest of
    /// [`ClientConfig::servers`] is ignored.
    pub const MAX_SERVERS: usize = 32;

    /// The defaults with these WINS servers, primary first.
    #[must_use]
    pub fn with_servers(servers: impl IntoIterator<Item = SocketAddrV4>) -> Self {
        Self {
            servers: servers.into_iter().collect(),
            ..Self::default()
        }
    }

    pub(crate) fn retry(&self) -> Duration {
        self.retry_interval.max(Duration::from_millis(1))
    }

    pub(crate) fn tries(&self) -> u8 {
        self.retries_per_server.max(1)
    }

    pub(crate) fn server_count(&self) -> usize {
        self.servers.len().min(Self::MAX_SERVERS)
    }

    /// The wait a WACK with this TTL asks for, after the clamp rule.
    #[must_use]
    pub fn wack_wait(&self, ttl: u32) -> Duration {
        let asked = Duration::from_secs(u64::from(ttl));
        if asked < self.wack_min || asked > self.wack_max {
            self.wack_fallback.max(Duration::from_millis(1))
        } else {
            asked.max(Duration::from_millis(1))
        }
    }

    /// Time from a registration or refresh granted with `ttl` seconds to the
    /// next refresh; `None` for TTL 0 (RFC 1002 §6 INFINITE_TTL).
    #[must_use]
    pub fn refresh_interval(&self, ttl: u32) -> Option<Duration> {
        if ttl == 0 {
            return None;
        }
        let ttl = Duration::from_secs(u64::from(ttl)).max(self.min_ttl);
        Some((ttl / self.refresh_divisor.max(1)).max(Duration::from_millis(1)))
    }
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            servers: Vec::new(),
            retry_interval: Duration::from_millis(1500),
            retries_per_server: 3,
            wack_min: Duration::from_secs(9),
            wack_max: Duration::from_secs(105),
            wack_fallback: Duration::from_secs(105),
            requested_ttl: 300_000,
            min_ttl: Duration::from_secs(300),
            refresh_divisor: 2,
            registration_retry: Duration::from_secs(600),
            registration_opcode: RegistrationOpcode::Auto,
            refresh_opcode: RefreshOpcode::Eight,
            reregister_cooldown: Duration::from_secs(120),
            node_type: NodeType::H,
            unit_id: [0; 6],
            max_queued_answers: 256,
            status_burst: 4,
            status_interval: Duration::from_secs(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wack_clamp_follows_samba() {
        let c = ClientConfig::default();
        assert_eq!(c.wack_wait(60), Duration::from_secs(60));
        assert_eq!(c.wack_wait(9), Duration::from_secs(9));
        assert_eq!(c.wack_wait(105), Duration::from_secs(105));
        assert_eq!(c.wack_wait(5), Duration::from_secs(105));
        assert_eq!(c.wack_wait(0), Duration::from_secs(105));
        assert_eq!(c.wack_wait(106), Duration::from_secs(105));
        assert_eq!(c.wack_wait(u32::MAX), Duration::from_secs(105));
    }

    #[test]
    fn refresh_is_half_the_floored_ttl() {
        let c = ClientConfig::default();
        assert_eq!(c.refresh_interval(0), None);
        assert_eq!(c.refresh_interval(10), Some(Duration::from_secs(150)));
        assert_eq!(c.refresh_interval(600), Some(Duration::from_secs(300)));
        assert_eq!(
            c.refresh_interval(u32::MAX),
            Some(Duration::from_secs(u64::from(u32::MAX)) / 2)
        );
    }
}
