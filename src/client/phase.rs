//! Per-name state as an enum of phases, each with its own data (as
//! smoltcp's DHCP client keeps `Discovering`, `Requesting`, `Renewing`):
//! which servers hold the name, the request in flight and a release's
//! worst answer exist only in the phases where they mean something.

use core::net::Ipv4Addr;

use super::{NameState, ReleaseOutcome};
use crate::wire::Rcode;

/// What a request in flight is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TxnKind {
    /// NAME REGISTRATION REQUEST (or its multi-homed form), RFC 1002 §4.2.2.
    Register,
    /// NAME OVERWRITE REQUEST after an unanswered end-node challenge.
    Overwrite,
    /// The challenge query to a presumed owner, RFC 1002 §5.1.2.1.
    Challenge,
    /// NAME REFRESH REQUEST, RFC 1002 §4.2.4.
    Refresh,
    /// NAME RELEASE REQUEST, RFC 1002 §4.2.9.
    Release,
}

/// A request in flight: one transaction ID kept across retransmissions.
#[derive(Debug, Clone, Copy)]
pub(super) struct Txn {
    pub(super) kind: TxnKind,
    pub(super) id: u16,
    /// Index of the server the request goes to.
    pub(super) server: u8,
    /// Index of the address being registered, refreshed or released.
    pub(super) addr: u8,
    /// Transmissions so far.
    pub(super) tries: u8,
    /// Whether a WACK was accepted in this transaction.
    pub(super) wack: bool,
    /// Challenge: the presumed owner.
    pub(super) owner: Ipv4Addr,
}

/// The worst answer of a release so far, in increasing order of badness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ReleaseWorst {
    Confirmed,
    NotFound,
    Silent,
    Refused(Rcode),
}

impl ReleaseWorst {
    fn rank(self) -> u8 {
        match self {
            Self::Confirmed => 0,
            Self::NotFound => 1,
            Self::Silent => 2,
            Self::Refused(_) => 3,
        }
    }

    /// The worse of the two (the later one on a tie).
    pub(super) fn worse(self, other: Self) -> Self {
        if other.rank() >= self.rank() {
            other
        } else {
            self
        }
    }

    pub(super) fn outcome(self) -> ReleaseOutcome {
        match self {
            Self::Confirmed => ReleaseOutcome::Confirmed,
            Self::NotFound => ReleaseOutcome::NotFound,
            Self::Silent => ReleaseOutcome::Unconfirmed,
            Self::Refused(rcode) => ReleaseOutcome::Refused(rcode),
        }
    }
}

/// Bit `i` of a server mask.
pub(super) fn bit(i: u8) -> u32 {
    1u32.checked_shl(u32::from(i)).unwrap_or(0)
}

/// Where a name stands, with the data that phase needs. A mask of servers
/// has bit `i` set for server `i` of the configuration.
#[derive(Debug, Clone, Copy)]
pub(super) enum Phase {
    /// Held without a name server: answered and defended only.
    Local,
    /// Being registered. `txn`: the request in flight, or `None` while
    /// waiting to try again after every server was silent. `servers`: the
    /// servers that granted it before (from an earlier registration, or
    /// earlier addresses of this one). `round_ttl`: the smallest TTL
    /// granted to this round's addresses so far.
    Registering {
        txn: Option<Txn>,
        servers: u32,
        round_ttl: u32,
    },
    /// Registered at `servers`; `home` granted it last and gets the
    /// refreshes.
    Registered { servers: u32, home: u8 },
    /// A refresh round: `txn` in flight (`None` only between two of its
    /// requests), started at server `start` (for
    /// failover), with the smallest TTL granted so far in `round_ttl`.
    Refreshing {
        txn: Option<Txn>,
        servers: u32,
        home: u8,
        start: u8,
        round_ttl: u32,
    },
    /// Releasing: `left` are the servers still to release it at, `txn`
    /// the release in flight (`None` before the first is sent), `worst`
    /// the worst answer so far; `rr` when a re-register-all registers it
    /// again afterwards.
    Releasing {
        txn: Option<Txn>,
        left: u32,
        worst: ReleaseWorst,
        rr: bool,
    },
    /// Released by a re-register-all, waiting for its other releases.
    AwaitingReregister,
    /// Refused with `rcode` (or defended by its owner: ACT_ERR). `servers`
    /// still hold it from an earlier registration.
    Refused { rcode: Rcode, servers: u32 },
    /// In conflict: logically does not exist (RFC 1001 §15.1.3.2).
    Conflict,
}

impl Phase {
    pub(super) fn state(&self) -> NameState {
        match *self {
            Self::Local => NameState::Local,
            Self::Registering { .. } => NameState::Registering,
            Self::Registered { .. } => NameState::Registered,
            Self::Refreshing { .. } => NameState::Refreshing,
            Self::Releasing { .. } => NameState::Releasing,
            Self::AwaitingReregister => NameState::AwaitingReregister,
            Self::Refused { rcode, .. } => NameState::Refused(rcode),
            Self::Conflict => NameState::Conflict,
        }
    }

    /// The request in flight.
    pub(super) fn txn(&self) -> Option<&Txn> {
        match self {
            Self::Registering { txn, .. }
            | Self::Refreshing { txn, .. }
            | Self::Releasing { txn, .. } => txn.as_ref(),
            _ => None,
        }
    }

    pub(super) fn txn_mut(&mut self) -> Option<&mut Txn> {
        self.txn_slot().and_then(Option::as_mut)
    }

    /// Where this phase keeps its request in flight; `None` for phases
    /// that send nothing.
    pub(super) fn txn_slot(&mut self) -> Option<&mut Option<Txn>> {
        match self {
            Self::Registering { txn, .. }
            | Self::Refreshing { txn, .. }
            | Self::Releasing { txn, .. } => Some(txn),
            _ => None,
        }
    }

    /// The servers believed to hold the name (granted it and not yet
    /// released).
    pub(super) fn servers(&self) -> u32 {
        match *self {
            Self::Registering { servers, .. }
            | Self::Registered { servers, .. }
            | Self::Refreshing { servers, .. }
            | Self::Refused { servers, .. } => servers,
            Self::Releasing { left, .. } => left,
            _ => 0,
        }
    }
}
