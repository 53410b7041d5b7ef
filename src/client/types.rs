//! The values a [`NameClient`](super::NameClient) takes and gives: name
//! specifications, states, events, transmits, errors and counters.

use core::fmt;
use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;

use crate::wire::{Labels, Name, NetbiosName, Rcode};

/// A name to add: the NetBIOS name with its suffix and scope, unique or
/// group, and the local address(es) to register it with (RFC 1001 §15.1).
///
/// ```
/// use core::net::Ipv4Addr;
/// use nbns::client::NameSpec;
/// use nbns::wire::{Name, NetbiosName};
/// let addrs = [Ipv4Addr::new(10, 0, 0, 7)];
/// let spec = NameSpec::unique(Name::unscoped(NetbiosName::new("HOST", 0x00).unwrap()), &addrs);
/// assert!(!spec.group);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameSpec<'a> {
    /// The name, suffix and scope.
    pub name: Name<'a>,
    /// Group (true) or unique (false) name: the G bit of NB_FLAGS.
    pub group: bool,
    /// Local addresses, at least one, the primary first. A unique name with
    /// several is multi-homed. At most 255 are used.
    pub addresses: &'a [Ipv4Addr],
}

impl<'a> NameSpec<'a> {
    /// A unique name.
    #[must_use]
    pub const fn unique(name: Name<'a>, addresses: &'a [Ipv4Addr]) -> Self {
        Self {
            name,
            group: false,
            addresses,
        }
    }

    /// A group name.
    #[must_use]
    pub const fn group(name: Name<'a>, addresses: &'a [Ipv4Addr]) -> Self {
        Self {
            name,
            group: true,
            addresses,
        }
    }
}

/// Where a name stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NameState {
    /// Being registered: a request, a WACK wait, an end-node challenge or an
    /// overwrite is in flight, or every server was silent and the client
    /// waits [`registration_retry`](super::ClientConfig::registration_retry)
    /// before trying again.
    Registering,
    /// Registered; a refresh is scheduled from the granted TTL.
    Registered,
    /// Registered; a refresh is in flight.
    Refreshing,
    /// A release is in flight.
    Releasing,
    /// Released as part of a re-register-all; registration starts when every
    /// release of the batch is done.
    AwaitingReregister,
    /// A server refused the registration with this rcode, or the challenged
    /// owner defended it ([`Rcode::Active`]). The name is not used; a
    /// re-register-all tries again.
    Refused(Rcode),
    /// In conflict (negative refresh, or a name conflict demand from a WINS
    /// server). Per RFC 1001 §15.1.3.2 the name "does not logically exist":
    /// it is not answered for, defended or refreshed.
    Conflict,
    /// Held without a name server (no WINS server configured, or a name
    /// starting with `*`, which MS-NBTE §3.1.5.1 adds without registering):
    /// answered for and defended, never sent to a server.
    Local,
}

impl NameState {
    /// Whether the node answers name queries and node status requests for
    /// the name in this state.
    #[must_use]
    pub const fn is_answered(self) -> bool {
        matches!(
            self,
            Self::Registering | Self::Registered | Self::Refreshing | Self::Local
        )
    }

    /// Whether a unique name in this state is defended against others'
    /// registrations and refreshes.
    #[must_use]
    pub const fn is_defended(self) -> bool {
        matches!(self, Self::Registered | Self::Refreshing | Self::Local)
    }
}

/// A name with an owned scope, as events carry it.
///
/// ```
/// use nbns::client::OwnedName;
/// use nbns::wire::{Labels, Name, NetbiosName};
/// let n = OwnedName::new(NetbiosName::new("HOST", 0x20).unwrap(), b"corp");
/// assert_eq!(n.name().scope, Labels::from_dotted(b"corp").unwrap());
/// assert_eq!(n.to_string(), "HOST<20>.corp");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct OwnedName {
    /// The 16-byte NetBIOS name.
    pub netbios: NetbiosName,
    scope: Box<[u8]>,
}

impl OwnedName {
    /// A name with a dotted scope (empty for none). A scope that is not valid
    /// dotted text (see [`Labels::from_dotted`]) is replaced by the empty
    /// scope.
    #[must_use]
    pub fn new(netbios: NetbiosName, scope: &[u8]) -> Self {
        let scope = if Labels::from_dotted(scope).is_ok() {
            scope.into()
        } else {
            Box::default()
        };
        Self { netbios, scope }
    }

    /// The owned form of a wire name.
    #[must_use]
    pub fn from_name(name: Name<'_>) -> Self {
        let mut scope = Vec::with_capacity(name.scope.dotted_len());
        for (i, label) in name.scope.iter().enumerate() {
            if i > 0 {
                scope.push(b'.');
            }
            scope.extend_from_slice(label);
        }
        Self::new(name.netbios, &scope)
    }

    /// The scope in dotted form.
    #[must_use]
    pub fn scope(&self) -> &[u8] {
        &self.scope
    }

    /// The name in the wire layer's form.
    #[must_use]
    pub fn name(&self) -> Name<'_> {
        Name::new(
            self.netbios,
            Labels::from_dotted(&self.scope).unwrap_or(Labels::EMPTY),
        )
    }
}

impl fmt::Display for OwnedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.name().fmt(f)
    }
}

impl fmt::Debug for OwnedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OwnedName(\"{self}\")")
    }
}

/// One entry of [`NameClient::names`](super::NameClient::names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameInfo<'a> {
    /// The name and scope.
    pub name: Name<'a>,
    /// Group or unique.
    pub group: bool,
    /// The state.
    pub state: NameState,
    /// The TTL the server granted last (0 before any grant).
    pub ttl: u32,
    /// The primary address.
    pub address: Ipv4Addr,
    /// How many addresses the name has.
    pub address_count: usize,
}

/// How a release ended. Every outcome ends with the name released locally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReleaseOutcome {
    /// Every server holding the name answered with a positive release
    /// response.
    Confirmed,
    /// At least one server answered NAM_ERR, "name not found" (nmbd's
    /// answer for an unknown name or a second release); the others
    /// confirmed.
    NotFound,
    /// At least one server stayed silent through the retries; the name is
    /// released anyway (nmbd: "a release is *always* considered to be
    /// successful when it times out").
    Unconfirmed,
    /// At least one server answered a negative release response with this
    /// rcode (RFC 1002 §4.2.11). The name is released locally all the same.
    Refused(Rcode),
    /// Nothing was sent: no server held the name. It was never registered
    /// (still registering with no request sent yet, refused, defended by
    /// its owner, no server answered), is in conflict (RFC 1001 §15.1.3.2:
    /// not released at the server), or was held locally only.
    NotRegistered,
}

impl fmt::Display for ReleaseOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Confirmed => f.write_str("released (confirmed)"),
            Self::NotFound => f.write_str("released (the server did not know it)"),
            Self::Unconfirmed => f.write_str("released (unconfirmed: no answer)"),
            Self::Refused(rcode) => write!(f, "released locally (the server refused: {rcode})"),
            Self::NotRegistered => f.write_str("dropped (was not registered)"),
        }
    }
}

/// Why a name is in conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConflictCause {
    /// A server answered a refresh negatively with this rcode.
    NegativeRefresh(Rcode),
    /// A WINS server sent a NAME CONFLICT DEMAND (RFC 1002 §4.2.8).
    ConflictDemand,
}

impl fmt::Display for ConflictCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NegativeRefresh(rcode) => write!(f, "refresh refused with {rcode}"),
            Self::ConflictDemand => f.write_str("name conflict demand from the WINS server"),
        }
    }
}

/// How the registration of one name of a re-register-all ended (in
/// [`ReregisterOutcome`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RegistrationOutcome {
    /// Registered with this TTL (seconds) by this server.
    Registered {
        /// The server that granted it.
        server: SocketAddrV4,
        /// The granted TTL in seconds.
        ttl: u32,
    },
    /// A server refused it with this rcode (RFC 1002 §4.2.6).
    Refused {
        /// The server that refused.
        server: SocketAddrV4,
        /// Its rcode.
        rcode: Rcode,
    },
    /// The presumed owner answered the end-node challenge: the name is
    /// theirs (RFC 1002 §5.1.2.1).
    OwnerDefended {
        /// The owner that answered.
        owner: Ipv4Addr,
    },
    /// A WINS server sent a name conflict demand during the registration.
    Conflict(ConflictCause),
    /// No server answered; the client tries again after
    /// [`registration_retry`](super::ClientConfig::registration_retry).
    NoServerAnswered,
    /// The name was released, or another re-register-all began, before its
    /// registration ended.
    Abandoned,
}

impl fmt::Display for RegistrationOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Registered { server, ttl } => {
                write!(f, "registered, TTL {ttl} s (WINS {server})")
            }
            Self::Refused { server, rcode } => write!(f, "refused with {rcode} by WINS {server}"),
            Self::OwnerDefended { owner } => write!(f, "defended by its owner {owner}"),
            Self::Conflict(cause) => write!(f, "in conflict: {cause}"),
            Self::NoServerAnswered => f.write_str("timed out: no WINS server answered"),
            Self::Abandoned => f.write_str("abandoned before it ended"),
        }
    }
}

/// One name's part of a re-register-all (`nbtstat -RR`), in
/// [`ClientEvent::ReregistrationDone`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReregisterOutcome {
    /// The name.
    pub name: OwnedName,
    /// How its release ended; `None` when nothing was sent because no
    /// server held it (a refused or conflicting name is registered again
    /// without a release).
    pub release: Option<ReleaseOutcome>,
    /// How its registration ended.
    pub registration: RegistrationOutcome,
}

impl fmt::Display for ReregisterOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.name)?;
        if let Some(release) = self.release {
            write!(f, "{release}, then ")?;
        }
        self.registration.fmt(f)
    }
}

/// Something the application should know about (from
/// [`NameClient::poll_event`](super::NameClient::poll_event)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The name is registered (every address), with the TTL the server
    /// granted (the smallest over the addresses).
    Registered {
        /// The name.
        name: OwnedName,
        /// The server that granted it.
        server: SocketAddrV4,
        /// The granted TTL in seconds.
        ttl: u32,
    },
    /// A server refused the registration (NEGATIVE NAME REGISTRATION
    /// RESPONSE, RFC 1002 §4.2.6): ACT_ERR when another node owns it,
    /// RFS_ERR, CFT_ERR, …
    RegistrationRefused {
        /// The name.
        name: OwnedName,
        /// The server that refused.
        server: SocketAddrV4,
        /// Its rcode.
        rcode: Rcode,
    },
    /// The server sent an end-node challenge (RFC 1002 §4.2.7) and the
    /// presumed owner answered the challenge query positively: the name
    /// stays theirs.
    OwnerDefended {
        /// The name.
        name: OwnedName,
        /// The owner that answered.
        owner: Ipv4Addr,
    },
    /// No server answered the registration; the client tries again after
    /// [`registration_retry`](super::ClientConfig::registration_retry).
    NoServerAnswered {
        /// The name.
        name: OwnedName,
    },
    /// A refresh succeeded (every address).
    Refreshed {
        /// The name.
        name: OwnedName,
        /// The server that answered.
        server: SocketAddrV4,
        /// The granted TTL in seconds.
        ttl: u32,
    },
    /// Every server stayed silent through a refresh; the client registers
    /// the name again from the primary server.
    RefreshTimedOut {
        /// The name.
        name: OwnedName,
    },
    /// The name is in conflict and no longer used.
    Conflict {
        /// The name.
        name: OwnedName,
        /// Why.
        cause: ConflictCause,
    },
    /// The name was released (and removed, unless a re-register-all will
    /// register it again).
    Released {
        /// The name.
        name: OwnedName,
        /// How the servers answered.
        outcome: ReleaseOutcome,
    },
    /// Every release of a re-register-all is done; registrations start now.
    ReregistrationStarted {
        /// How many names are being registered again.
        names: usize,
    },
    /// A re-register-all starts registering this name again (after
    /// [`ReregistrationStarted`](Self::ReregistrationStarted)); its
    /// `Registered`, `RegistrationRefused`, … event follows.
    Reregistering {
        /// The name.
        name: OwnedName,
    },
    /// Every name of a re-register-all has its outcome: one entry per name
    /// the re-register-all released or registered again, in no particular
    /// order.
    ReregistrationDone {
        /// Each name's release and registration outcome.
        outcomes: Vec<ReregisterOutcome>,
    },
}

impl fmt::Display for ClientEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Registered { name, server, ttl } => {
                write!(f, "{name}: registered, TTL {ttl} s (WINS {server})")
            }
            Self::RegistrationRefused {
                name,
                server,
                rcode,
            } => write!(
                f,
                "{name}: registration refused with {rcode} by WINS {server}"
            ),
            Self::OwnerDefended { name, owner } => {
                write!(f, "{name}: the owner {owner} defended it")
            }
            Self::NoServerAnswered { name } => {
                write!(f, "{name}: no WINS server answered the registration")
            }
            Self::Refreshed { name, server, ttl } => {
                write!(f, "{name}: refreshed, TTL {ttl} s (WINS {server})")
            }
            Self::RefreshTimedOut { name } => {
                write!(f, "{name}: refresh unanswered; registering again")
            }
            Self::Conflict { name, cause } => write!(f, "{name}: in conflict ({cause})"),
            Self::Released { name, outcome } => write!(f, "{name}: {outcome}"),
            Self::ReregistrationStarted { names } => {
                write!(f, "re-register all: registering {names} name(s) again")
            }
            Self::Reregistering { name } => write!(f, "{name}: registering again"),
            Self::ReregistrationDone { outcomes } => {
                write!(f, "re-register all done ({} name(s))", outcomes.len())?;
                for o in outcomes {
                    write!(f, "; {o}")?;
                }
                Ok(())
            }
        }
    }
}

/// [`NameClient::reregister_all`](super::NameClient::reregister_all) was
/// called again within the cooldown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("re-register all refused: try again in {remaining:?}")]
pub struct Cooldown {
    /// Time left until a re-register-all is accepted.
    pub remaining: Duration,
}

/// Why [`NameClient::add_name`](super::NameClient::add_name) refused a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum AddNameError {
    /// The name (with this scope) is already held.
    #[error("the name is already held")]
    Duplicate,
    /// The specification has no address.
    #[error("a name needs at least one address")]
    NoAddress,
    /// The scope has a label containing `.`, which has no dotted form.
    #[error("the scope cannot be written in dotted form")]
    BadScope,
    /// The client holds [`NameClient::MAX_NAMES`](super::NameClient::MAX_NAMES)
    /// (32 768) names already: half the transaction ID space, so that
    /// every name can have a request in flight with an ID of its own.
    #[error("too many names")]
    TooManyNames,
}

/// Counters of what the client received, dropped and answered (see
/// [`NameClient::stats`](super::NameClient::stats)). Everything dropped is
/// counted in exactly one `dropped_*` field and was not acted upon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ClientStats {
    /// Datagrams handed to `handle_datagram`.
    pub datagrams: u64,
    /// Responses accepted as the answer to one of our requests.
    pub accepted_responses: u64,
    /// Not a well-formed NBNS packet.
    pub dropped_malformed: u64,
    /// A response with no pending transaction for its ID (and not a valid
    /// conflict demand).
    pub dropped_unsolicited: u64,
    /// A response with a pending ID, from another address than the request
    /// went to.
    pub dropped_wrong_source: u64,
    /// A response whose opcode cannot answer the pending request.
    pub dropped_wrong_opcode: u64,
    /// A response about another name or scope than the request's.
    pub dropped_wrong_name: u64,
    /// A response whose record is not what its kind requires (type, class,
    /// RDATA).
    pub dropped_bad_record: u64,
    /// A second WACK in the same transaction.
    pub dropped_extra_wack: u64,
    /// Requests (queries, status, registrations from others) not for us or
    /// not to be answered: broadcast queries for names we do not hold,
    /// requests of kinds a node does not serve.
    pub ignored_requests: u64,
    /// Answers dropped because [`max_queued_answers`](super::ClientConfig::max_queued_answers)
    /// were already waiting.
    pub dropped_answer_backlog: u64,
    /// Positive name query responses sent.
    pub query_answers: u64,
    /// Negative name query responses sent (unicast queries only).
    pub negative_query_answers: u64,
    /// Node status responses sent.
    pub node_status_answers: u64,
    /// Node status requests not answered because their source had used up
    /// its [`status_burst`](super::ClientConfig::status_burst).
    pub dropped_rate_limited: u64,
    /// Negative registration responses (ACT_ERR) sent to defend a name.
    pub defences: u64,
    /// Requests sent (first transmissions and retransmissions).
    pub requests_sent: u64,
    /// Retransmissions among them.
    pub retransmissions: u64,
}
