//! The wire format of the NetBIOS Name Service (RFC 1002 §4.2), with the
//! extensions real implementations use (MS-NBTE opcode 0xF, opcode 9,
//! H-node, lenient WACK and negative-response forms).
//!
//! This layer knows bytes only. Two types carry a packet, as smoltcp
//! separates its packet views from its `Repr`s:
//!
//! * [`Packet`] is a parsed datagram: [`Packet::parse`] runs the grammar
//!   over it and keeps what the grammar decoded (the NetBIOS names, every
//!   half-ASCII character of which is checked anyway) and where the
//!   validated fields lie. Reading it — [`Packet::question`],
//!   [`Packet::answer`], [`Packet::authority`], [`Packet::additional`],
//!   [`Packet::kind`], NB entries, node-status names, scope labels — is field
//!   access or a borrowed iterator over validated bytes: nothing is decoded
//!   twice. The view is 120 bytes.
//! * [`Message`] is a packet to send: header fields and [`Sections`] of
//!   decoded values, built with one constructor per packet kind
//!   ([`Message::registration_request`] and the others), written with
//!   [`Message::emit`] into a caller's buffer or [`Message::emit_buf`] into
//!   any [`bytes::BufMut`]. [`Packet::to_message`] turns a parsed packet into
//!   one.
//!
//! The grammar (`grammar.rs`) is written once, in nom, rule by rule with the
//! RFC section of each: header, names with labels and compression pointers,
//! question, resource record, RDATA by type (NB address entries, node
//! status, NS, A, WACK). nom stays inside: the public API has
//! [`ParseError`] with offsets, not `IResult`.
//!
//! # Contract
//!
//! * **No panic, no allocation.** [`Packet::parse`] returns a packet or a
//!   [`ParseError`] for every input, allocates nothing, and does work bounded
//!   by the datagram's length: header counts above one are refused before
//!   anything is read, compression pointers must point strictly backwards
//!   (so every walk ends) and a name follows at most [`MAX_POINTERS`] of
//!   them, and names are capped at [`MAX_SCOPE_LEN`] characters and
//!   [`MAX_LABELS`] labels. After a successful parse no accessor panics.
//! * **Byte-exact.** Unknown opcodes, rcodes, record types and classes,
//!   reserved flag bits, any byte of a NetBIOS name and bytes after the last
//!   section are all kept. A datagram whose names are written in full or as
//!   the RFC's `C0 0C` pointer is canonical ([`Packet::is_canonical`]):
//!   [`Packet::emit`] copies it, and its message emits the same bytes. Names
//!   that use other compression parse to the same value and re-emit in full.
//! * **Round trip.** For every message [`Message::emit`] accepts,
//!   `parse(emit(m))` reads back as `m`. Emission refuses, with an
//!   [`EmitError`], the few combinations the wire cannot express.
//! * **Emission never panics** on a buffer of [`Message::buffer_len`] bytes,
//!   and refuses a shorter one.
//!
//! # Validation policy
//!
//! The parser checks structure, not semantics: the first label of a NetBIOS
//! name must be 32 characters in `A`–`P`; label types `01` and `10` are
//! refused; RDLENGTH must fit the datagram and the record type (NB a multiple
//! of 6, A exactly 4, NBSTAT with its name table inside it, NS filled by its
//! name); the answer of an opcode-7 response with a 2-byte RDATA is a
//! [`Wack`] whatever its type; datagrams over 65,535 bytes are refused.
//! NB_FLAGS reserved bits, a short NBSTAT statistics block, QDCOUNT in
//! responses and rcodes in requests are accepted. Whether a packet makes
//! sense for a conversation is for the state machines to judge
//! ([`Packet::kind`] helps).

#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::panic,
        clippy::expect_used
    )
)]

mod display;
mod error;
mod grammar;
mod header;
pub(crate) mod list;
mod macros;
pub(crate) mod name;
pub(crate) mod nb;
pub(crate) mod node_status;
mod packet;
mod record;

pub use error::{EmitError, Field, NameError, ParseError, Section};
pub use grammar::MAX_POINTERS;
pub use header::{Flags, Header, Opcode, Rcode};
pub use list::{Entry, List};
pub use name::{LabelIter, Labels, MAX_LABEL_LEN, MAX_LABELS, MAX_SCOPE_LEN, Name, NetbiosName};
pub use nb::{NbAddrEntry, NbAddrIter, NbAddrs, NbFlags, NodeType};
pub use node_status::{NameFlags, NodeName, NodeNameIter, NodeNames, NodeStatus, Statistics};
pub use packet::{Message, Packet, PacketKind, Sections};
pub use record::{Class, NameForm, Question, RData, ResourceRecord, RrType, Wack};

/// UDP port of the name service (RFC 1002 §6).
pub const NAME_SERVICE_PORT: u16 = 137;

/// Largest datagram the RFC allows (RFC 1002 §6, MAX_DATAGRAM_LENGTH).
/// Receivers should still accept larger ones; this is what senders aim for.
pub const MAX_DATAGRAM_LEN: usize = 576;
