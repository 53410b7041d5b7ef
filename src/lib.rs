//! `nbns`: the NetBIOS Name Service (RFC 1001/1002, UDP port 137, WINS).
//!
//! Layers, lowest first, each in the folder of its name:
//!
//! * [`wire`]: a zero-copy, allocation-free parser (one nom grammar, a
//!   parsed view read by field access) and a serializer (a message to
//!   build) for every NBNS packet. Knows bytes only.
//! * [`client`]: a sans-IO name client that registers, refreshes, releases
//!   and re-registers (`nbtstat -RR`) names with WINS servers, and answers
//!   for the names it holds.
//! * [`resolver`]: a sans-IO resolver of names: queries to WINS servers
//!   and by broadcast as the [node type](node_type) says, collecting
//!   broadcast answers and detecting conflicts, with a small cache.
//! * [`server`]: a sans-IO WINS server whose records carry version IDs; it
//!   reports every change for a database to persist, and acknowledges a
//!   change only once it is durable.
//! * `store` (feature `redb`): that database, in a redb file.
//! * [`winsrepl`]: WINS replication (MS-WINSRA, TCP port 42) between WINS
//!   servers: the wire format with a framer for the TCP stream, and (with
//!   `std`) a sans-IO replication partner, the conflict rules and the
//!   database interface it replicates through.
//! * `tokio` (feature `tokio`): drivers for the tokio runtime, a name
//!   node and a WINS server runner, over UDP sockets.
//! * [`ids`]: where both draw transaction IDs from: the operating system's
//!   random number generator by default.
//!
//! The wire layers need neither `std` nor `alloc`: with
//! `default-features = false` the crate is `no_std` and holds [`wire`] and
//! [`winsrepl`] alone; the default `std` feature adds the two state
//! machines and the replication stream's buffering
//! [`Framer`](winsrepl::Framer).
//!
//! The state machines know packets and [`Instant`](std::time::Instant)s,
//! never sockets or clocks: the application feeds them datagrams and
//! timeouts with an explicit `now` and sends what they hand back. With
//! the `tokio` feature, `nbns::tokio` does that for you (a name node and
//! a WINS server runner); otherwise the run loop below is the one to
//! copy. The `examples/` folder wires both machines to real sockets
//! (`nbtstat`, `wins_server`, `embed_tokio`) and reads captures
//! (`dissect`).
//!
//! # The run loop
//!
//! One rule: **after every input** (a datagram, a timeout, a command such
//! as `add_name`), **drain the outputs** (transmits, then events) before
//! waiting again; then wait for a datagram until the next deadline, and
//! without a deadline wait for a datagram only. A deadline already
//! passed means "call `handle_timeout` now". A read timeout is a timeout;
//! an ICMP report for an earlier datagram (`ECONNREFUSED`,
//! `ECONNRESET`) is neither a timeout nor fatal; any other error is an
//! error. Over a `std` UDP socket, for a program that holds a name:
//!
//! ```no_run
//! # #[cfg(feature = "std")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::io::ErrorKind;
//! use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
//! use std::time::Instant;
//! use nbns::client::{ClientConfig, NameClient, NameSpec};
//! use nbns::ids::OsRandomIds;
//! use nbns::wire::{Name, NetbiosName};
//!
//! let me = Ipv4Addr::new(10, 0, 0, 7);
//! let socket = UdpSocket::bind((me, 137))?; // WINS challenges arrive at <me>:137
//! let config = ClientConfig::with_servers(["10.0.0.1:137".parse()?]);
//! let mut client = NameClient::new(config, OsRandomIds::new());
//! let name = Name::unscoped(NetbiosName::new("MYHOST", 0x20)?);
//! client.add_name(Instant::now(), NameSpec::unique(name, &[me]))?;
//! let mut buf = [0u8; 1500];
//! loop {
//!     // 1. Drain the outputs.
//!     while let Some(t) = client.poll_transmit() {
//!         // A failed send is a lost datagram: requests are retransmitted.
//!         let _ = socket.send_to(&t.contents, t.destination);
//!     }
//!     while let Some(event) = client.poll_event() {
//!         println!("{event}");
//!     }
//!     // 2. Wait for a datagram until the next deadline; none: just wait.
//!     let now = Instant::now();
//!     let wait = match client.poll_timeout() {
//!         Some(deadline) if deadline <= now => {
//!             client.handle_timeout(now);
//!             continue;
//!         }
//!         Some(deadline) => Some(deadline - now),
//!         None => None,
//!     };
//!     socket.set_read_timeout(wait)?;
//!     // 3. One input.
//!     match socket.recv_from(&mut buf) {
//!         Ok((n, SocketAddr::V4(from))) => client.handle_datagram(Instant::now(), from, &buf[..n]),
//!         Ok(_) => {} // IPv6: not name service traffic
//!         Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
//!             client.handle_timeout(Instant::now());
//!         }
//!         Err(e) if matches!(e.kind(), ErrorKind::ConnectionRefused | ErrorKind::ConnectionReset) => {}
//!         Err(e) => return Err(e.into()),
//!     }
//! }
//! # }
//! # #[cfg(not(feature = "std"))]
//! # fn main() {}
//! ```
//!
//! A [`WinsServer`](server::WinsServer) runs the same loop with one more
//! output, drained first: its durable changes. Persist them, report the
//! last one persisted, and only then send: the answers that acknowledge a
//! change are released by `handle_persisted` (a volatile server,
//! [`Durability::Volatile`](server::Durability::Volatile), has none).
//!
//! ```no_run
//! # #[cfg(feature = "std")]
//! # fn drain(server: &mut nbns::server::WinsServer, socket: &std::net::UdpSocket,
//! #     persist: impl Fn(&[nbns::server::Change]) -> std::io::Result<()>) -> std::io::Result<()> {
//! let batch: Vec<_> = std::iter::from_fn(|| server.poll_change()).collect();
//! if let Some(last) = batch.last() {
//!     persist(&batch)?; // one transaction, durable on return (nbns::store::Store::commit)
//!     server.handle_persisted(last.seq);
//! }
//! while let Some(t) = server.poll_transmit() {
//!     let _ = socket.send_to(&t.contents, t.destination);
//! }
//! while let Some(event) = server.poll_event() {
//!     println!("{event}");
//! }
//! # Ok(())
//! # }
//! # fn main() {}
//! ```
//!
//! A packet round trip: a [`wire::Packet`] is a parsed datagram, read by
//! field access; a [`wire::Message`] is what a program builds and sends.
//!
//! ```
//! use nbns::wire::{Message, Packet, PacketKind};
//! // A broadcast name query for ARBEITSGRUPPE<1b> (tcpdump's eapon1.pcap).
//! let bytes = b"\x80\x03\x01\x10\x00\x01\x00\x00\x00\x00\x00\x00\
//!     \x20EBFCECEFEJFEFDEHFCFFFAFAEFCACABL\x00\x00\x20\x00\x01";
//! let p = Packet::parse(bytes).unwrap();
//! assert_eq!(p.kind(), PacketKind::NameQueryRequest);
//! let name = p.question().unwrap().name;
//! assert_eq!(name.to_string(), "ARBEITSGRUPPE<1b>");
//! let mut out = [0u8; 50];
//! assert_eq!(p.emit(&mut out), Ok(50)); // canonical: a copy
//! assert_eq!(&out[..], &bytes[..]);
//! // The same query, built.
//! let mut query = Message::name_query_request(0x8003, name, true);
//! assert_eq!(p, query);
//! query.id = 0x8004;
//! assert_eq!(query.emit(&mut out), Ok(50));
//! assert_eq!(&out[2..], &bytes[2..]);
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(not(feature = "std"), no_std)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "std")]
pub mod client;
#[cfg(feature = "std")]
mod hash;
#[cfg(feature = "std")]
pub mod ids;
pub mod node_type;
#[cfg(feature = "std")]
pub mod resolver;
#[cfg(feature = "std")]
mod scope;
#[cfg(feature = "std")]
pub mod server;
#[cfg(feature = "redb")]
#[cfg_attr(docsrs, doc(cfg(feature = "redb")))]
pub mod store;
#[cfg(feature = "std")]
mod timer;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod tokio;
#[cfg(feature = "std")]
mod transmit;
pub mod winsrepl;
pub mod wire;

#[cfg(feature = "std")]
pub use transmit::Transmit;

/// The README's Rust examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
