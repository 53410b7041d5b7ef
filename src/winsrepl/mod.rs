//! The wire format of WINS replication (MS-WINSRA, TCP port 42): the
//! messages WINS servers exchange to copy each other's name records.
//!
//! This layer knows bytes only. [`Message::parse`] reads one message into
//! a view that borrows from it; [`MessageRepr`] builds a message from
//! values and caller-owned slices and emits it into a buffer or any
//! [`bytes::BufMut`]. [`frame_len`] and (with `std`) [`Framer`] cut the
//! TCP stream into messages. With `std`, [`Association`] runs one
//! association over a connection the embedder owns, sans-IO.
//!
//! Above the messages, with `std`, each in its file:
//!
//! * [`Partner`]: a replication partner (MS-WINSRA 3.2, 3.3) over
//!   connections the embedder owns, pulling and pushing as
//!   [`ReplicationConfig`] says, sans-IO.
//! * [`ReplicationDb`]: what the partner needs from the WINS database
//!   (owner-version map, one owner's records in a version range, applying
//!   a replica); [`MemoryDb`] is an in-memory one.
//! * [`decide`] and its helpers: the conflict rules for an incoming replica
//!   (MS-WINSRA 3.2.5.5 as Samba applies them), as pure functions.
//! * [`Replica`]: an owned name record with its owner, between the wire and
//!   the database.
//!
//! | MS-WINSRA | Message | View | To emit |
//! |---|---|---|---|
//! | 2.2.3 | Association Start Request | [`Body::StartRequest`] | [`MessageRepr::start_request`] |
//! | 2.2.4 | Association Start Response | [`Body::StartReply`] | [`MessageRepr::start_reply`] |
//! | 2.2.5 | Association Stop Request | [`Body::Stop`] | [`MessageRepr::stop`] |
//! | 2.2.6 | Owner-Version Map Request | [`Body::TableQuery`] | [`MessageRepr::table_query`] |
//! | 2.2.7 | Owner-Version Map Response | [`Body::TableReply`] | [`MessageRepr::table_reply`] |
//! | 2.2.8 | Update Notification (UPDATE, UPDATE2, INFORM, INFORM2) | [`Body::UpdateNotification`] | [`MessageRepr::update`] |
//! | 2.2.9 | Name Records Request | [`Body::SendRequest`] | [`MessageRepr::send_request`] |
//! | 2.2.10 | Name Records Response | [`Body::SendReply`] | [`MessageRepr::send_reply`] |
//!
//! # Contract
//!
//! * **No panic, no allocation.** [`Message::parse`] returns a message or
//!   a [`ParseError`] with a byte offset for every input and allocates
//!   nothing. Counts are checked against the bytes present before anything
//!   is read (owner and address lists) or bound the work by the bytes
//!   (name records, at least 32 bytes each); they never size a buffer.
//!   Owner lists, name records and address lists stay borrowed bytes,
//!   decoded by their iterators with the same grammar rules that validated
//!   them.
//! * **Round trip.** For every message [`MessageRepr::emit`] accepts,
//!   `parse(emit(m)) == m`, and emitting what the parse shows gives the
//!   same bytes. Unknown message types and commands, reserved words and
//!   bits, and bytes after a body are kept. Padding after a name is
//!   ignored on receipt (as the spec says) and sent as zeros.
//! * **Emission never panics** and writes nothing when it fails.
//!
//! # The quirks real peers need
//!
//! * Names are 16 raw bytes (not first-level encoded), then the scope as
//!   dotted text, then 0x00; the padding after them is 1 to 4 bytes, 4 when
//!   the name is already aligned (MS-WINSRA 2.2.10.1).
//! * For suffix 0x1B, Windows and Samba swap the first and last name byte
//!   on the wire; [`NameRecordRepr`] sends the swap and
//!   [`RecordName::netbios`] undoes it.
//! * The Group word and the address count are read little-endian, as
//!   Samba and Wireshark do (the spec's byte plus 3 reserved zero bytes
//!   agree); addresses stay big-endian.
//! * Samba sends a 16-byte stop and zero-pads start messages to 41 bytes;
//!   both forms parse, and the reserved bytes land in
//!   [`Message::padding`].

#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::panic,
        clippy::expect_used
    )
)]

#[cfg(feature = "std")]
mod association;
#[cfg(feature = "std")]
mod conflict;
#[cfg(feature = "std")]
mod db;
mod error;
mod frame;
mod grammar;
mod header;
mod macros;
#[cfg(feature = "std")]
mod memory_db;
mod message;
mod owner;
#[cfg(feature = "std")]
mod partner;
#[cfg(feature = "std")]
mod partner_config;
mod record;
#[cfg(feature = "std")]
mod replica;
mod repr;

#[cfg(all(test, feature = "std"))]
mod vectors;

#[cfg(feature = "std")]
pub use association::{
    Association, AssociationConfig, AssociationError, Event, Received, SendError,
};
#[cfg(feature = "std")]
pub use conflict::{
    ChallengeAnswer, ChallengeOutcome, Decision, RecordSide, SpecialGroupMerge, after_challenge,
    decide, merge_multihomed, merge_special_group,
};
#[cfg(feature = "std")]
pub use db::{ApplyOutcome, ReplicationDb};
pub use error::{EmitError, Field, FrameError, ParseError};
pub use frame::frame_len;
#[cfg(feature = "std")]
pub use frame::{Fed, Framer};
pub use header::{
    Header, MessageType, OPCODE_BITS, ReplCommand, Start, Stop, StopReason, UpdateKind,
};
#[cfg(feature = "std")]
pub use memory_db::{DbAction, MemoryDb};
pub use message::{Body, Message};
pub use owner::{OwnerIter, OwnerRecord, OwnerTable, OwnerTableRepr, Owners};
#[cfg(feature = "std")]
pub use partner::{ApplyCounts, ConnectionId, Down, Partner, PartnerEvent, Refusal};
#[cfg(feature = "std")]
pub use partner_config::{PartnerConfig, PullConfig, PushConfig, ReplicationConfig};
pub use record::{
    Addresses, AddressesRepr, MAX_SCOPE_LEN, Member, MemberIter, Members, NameRecord,
    NameRecordIter, NameRecordRepr, NameRecords, RecordFlags, RecordName, RecordState, RecordType,
};
#[cfg(feature = "std")]
pub use replica::{MAX_MEMBERS, MAX_REPLICA_SCOPE_LEN, Replica, ReplicaAddresses, ReplicaError};
pub use repr::{BodyRepr, MessageRepr};

/// TCP port of WINS replication (MS-WINSRA 2.1).
pub const REPLICATION_PORT: u16 = 42;

/// Largest message the [`Framer`] accepts and [`MessageRepr::emit`]
/// produces by default, Packet Length included: 16 MiB.
///
/// MS-WINSRA sets no limit, and Samba answers a Name Records Request with
/// all the records in one message; 16 MiB holds a reply of more than
/// 300,000 unscoped unique records. A pull partner that needs more asks
/// for smaller version ranges.
pub const MAX_MESSAGE_LEN: usize = 16 << 20;
