//! [`Transmit`]: a datagram a state machine wants sent, the one output type
//! of the name client and the WINS server.

use core::net::{Ipv4Addr, SocketAddrV4};

/// A datagram to send (RFC 1002 §4.1: name service datagrams on UDP port
/// 137), produced by
/// [`NameClient::poll_transmit`](crate::client::NameClient::poll_transmit)
/// and [`WinsServer::poll_transmit`](crate::server::WinsServer::poll_transmit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send it: a WINS server, a challenged owner on port 137, or
    /// the sender of a request being answered.
    pub destination: SocketAddrV4,
    /// The local address to send from, when it matters: the name client's
    /// registration, refresh and release requests carry the address being
    /// registered, and must leave from it. Samba4's WINS server silently
    /// ignores a release whose UDP source is not one of the record's
    /// addresses (and still answers positively), so a release sent from
    /// another address is a release that did not happen. `None`: any local
    /// address (answers go back the way the request came; the WINS server
    /// always says `None`).
    pub source: Option<Ipv4Addr>,
    /// The datagram.
    pub contents: Vec<u8>,
}
