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
/// Every field is public and has a documented default
/// ([`ClientConfig::default`]); start from it (or
/// [`ClientConfig::with_servers`]) and change what you need, by field or
/// with the builder-style setters of the same names. New fields may be
/// added, so the struct cannot be built with a literal.
///
/// Units: TTLs are whole seconds in a `u32`, as on the wire (RFC 1002
/// §4.2.1.3), here as in [`ServerConfig`](crate::server::ServerConfig);
/// every other time is a [`Duration`].
///
/// ```
/// use core::time::Duration;
/// use nbns::client::ClientConfig;
/// let primary = "10.0.0.1:137".parse().unwrap();
/// let secondary = "10.0.0.2:137".parse().unwrap();
/// let config = ClientConfig::with_servers([primary, secondary])
///     .retry_interval(Duration::from_secs(5)) // RFC 1002's UCAST_REQ_RETRY_TIMEOUT
///     .min_ttl(600);
/// assert_eq!(config.retries_per_server, 3);
/// assert_eq!(config.reregister_cooldown, Duration::from_secs(120));
/// let mut config = config;
/// config.retries_per_server = 2;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
    /// TTL asked for in registrations and refreshes, in seconds. The
    /// server decides the TTL it grants; the client always uses the
    /// granted one.
    ///
    /// Default 300 000 s (0x493E0), what Windows asks for (erratum E9).
    pub requested_ttl: u32,
    /// Floor applied to a granted TTL before the refresh time is derived
    /// from it, in seconds: MS-NBTE §3.1.4.1 uses 5 minutes when the server
    /// grants less. Default 300.
    pub min_ttl: u32,
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
        let ttl = Duration::from_secs(u64::from(ttl.max(self.min_ttl)));
        Some((ttl / self.refresh_divisor.max(1)).max(Duration::from_millis(1)))
    }
}

/// Builder-style setters, one per field (see each field for its meaning
/// and default).
impl ClientConfig {
    /// Sets [`servers`](Self#structfield.servers): the WINS servers,
    /// primary first.
    #[must_use]
    pub fn servers(mut self, servers: impl IntoIterator<Item = SocketAddrV4>) -> Self {
        self.servers = servers.into_iter().collect();
        self
    }

    /// Sets [`retry_interval`](Self#structfield.retry_interval).
    #[must_use]
    pub fn retry_interval(mut self, retry_interval: Duration) -> Self {
        self.retry_interval = retry_interval;
        self
    }

    /// Sets [`retries_per_server`](Self#structfield.retries_per_server).
    #[must_use]
    pub fn retries_per_server(mut self, retries_per_server: u8) -> Self {
        self.retries_per_server = retries_per_server;
        self
    }

    /// Sets [`wack_min`](Self#structfield.wack_min).
    #[must_use]
    pub fn wack_min(mut self, wack_min: Duration) -> Self {
        self.wack_min = wack_min;
        self
    }

    /// Sets [`wack_max`](Self#structfield.wack_max).
    #[must_use]
    pub fn wack_max(mut self, wack_max: Duration) -> Self {
        self.wack_max = wack_max;
        self
    }

    /// Sets [`wack_fallback`](Self#structfield.wack_fallback).
    #[must_use]
    pub fn wack_fallback(mut self, wack_fallback: Duration) -> Self {
        self.wack_fallback = wack_fallback;
        self
    }

    /// Sets [`requested_ttl`](Self#structfield.requested_ttl).
    #[must_use]
    pub fn requested_ttl(mut self, requested_ttl: u32) -> Self {
        self.requested_ttl = requested_ttl;
        self
    }

    /// Sets [`min_ttl`](Self#structfield.min_ttl).
    #[must_use]
    pub fn min_ttl(mut self, min_ttl: u32) -> Self {
        self.min_ttl = min_ttl;
        self
    }

    /// Sets [`refresh_divisor`](Self#structfield.refresh_divisor).
    #[must_use]
    pub fn refresh_divisor(mut self, refresh_divisor: u32) -> Self {
        self.refresh_divisor = refresh_divisor;
        self
    }

    /// Sets [`registration_retry`](Self#structfield.registration_retry).
    #[must_use]
    pub fn registration_retry(mut self, registration_retry: Duration) -> Self {
        self.registration_retry = registration_retry;
        self
    }

    /// Sets [`registration_opcode`](Self#structfield.registration_opcode).
    #[must_use]
    pub fn registration_opcode(mut self, registration_opcode: RegistrationOpcode) -> Self {
        self.registration_opcode = registration_opcode;
        self
    }

    /// Sets [`refresh_opcode`](Self#structfield.refresh_opcode).
    #[must_use]
    pub fn refresh_opcode(mut self, refresh_opcode: RefreshOpcode) -> Self {
        self.refresh_opcode = refresh_opcode;
        self
    }

    /// Sets [`reregister_cooldown`](Self#structfield.reregister_cooldown).
    #[must_use]
    pub fn reregister_cooldown(mut self, reregister_cooldown: Duration) -> Self {
        self.reregister_cooldown = reregister_cooldown;
        self
    }

    /// Sets [`node_type`](Self#structfield.node_type).
    #[must_use]
    pub fn node_type(mut self, node_type: NodeType) -> Self {
        self.node_type = node_type;
        self
    }

    /// Sets [`unit_id`](Self#structfield.unit_id).
    #[must_use]
    pub fn unit_id(mut self, unit_id: [u8; 6]) -> Self {
        self.unit_id = unit_id;
        self
    }

    /// Sets [`max_queued_answers`](Self#structfield.max_queued_answers).
    #[must_use]
    pub fn max_queued_answers(mut self, max_queued_answers: usize) -> Self {
        self.max_queued_answers = max_queued_answers;
        self
    }

    /// Sets [`status_burst`](Self#structfield.status_burst).
    #[must_use]
    pub fn status_burst(mut self, status_burst: u32) -> Self {
        self.status_burst = status_burst;
        self
    }

    /// Sets [`status_interval`](Self#structfield.status_interval).
    #[must_use]
    pub fn status_interval(mut self, status_interval: Duration) -> Self {
        self.status_interval = status_interval;
        self
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
            min_ttl: 300,
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
    fn setters_set_their_field() {
        let server: SocketAddrV4 = "10.0.0.1:137".parse().unwrap();
        let c = ClientConfig::default()
            .servers([server])
            .min_ttl(60)
            .retry_interval(Duration::from_secs(2))
            .node_type(NodeType::B);
        assert_eq!(c.servers, [server]);
        assert_eq!(c.min_ttl, 60);
        assert_eq!(c.retry_interval, Duration::from_secs(2));
        assert_eq!(c.node_type, NodeType::B);
        assert_eq!(c.refresh_interval(10), Some(Duration::from_secs(30)));
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
