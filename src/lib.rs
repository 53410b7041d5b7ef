//! `nbns`: the NetBIOS Name Service (RFC 1001/1002, UDP port 137, WINS).
//!
//! Layers, lowest first:
//!
//! * [`wire`]: a zero-copy parser and serializer for every NBNS packet.
//! * [`server`]: a sans-IO WINS server with a version-stamped database.
//!
//! ```
//! use nbns::wire::{Packet, PacketKind};
//! // A broadcast name query for ARBEITSGRUPPE<1b> (tcpdump's eapon1.pcap).
//! let bytes = b"\x80\x03\x01\x10\x00\x01\x00\x00\x00\x00\x00\x00\
//!     \x20EBFCECEFEJFEFDEHFCFFFAFAEFCACABL\x00\x00\x20\x00\x01";
//! let p = Packet::parse(bytes).unwrap();
//! assert_eq!(p.kind(), PacketKind::NameQueryRequest);
//! assert_eq!(p.question.unwrap().name.to_string(), "ARBEITSGRUPPE<1b>");
//! let mut out = [0u8; 50];
//! assert_eq!(p.emit(&mut out), Ok(50));
//! assert_eq!(&out[..], &bytes[..]);
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod client;
pub mod server;
pub mod wire;
