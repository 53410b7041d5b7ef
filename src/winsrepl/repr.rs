//! Messages to emit (MS-WINSRA 2.2.2–2.2.10): built from values and
//! caller-owned slices, written into a buffer or any [`bytes::BufMut`].

use core::net::Ipv4Addr;

use crate::winsrepl::MAX_MESSAGE_LEN;
use crate::winsrepl::error::EmitError;
use crate::winsrepl::header::{
    Header, MessageType, OPCODE_BITS, ReplCommand, Start, Stop, StopReason, UpdateKind,
};
use crate::winsrepl::owner::{OwnerRecord, OwnerTableRepr};
use crate::winsrepl::record::{AddressesRepr, MAX_SCOPE_LEN, Member, NameRecordRepr, padding_len};

/// Zeros for the reserved bytes of start and stop messages.
const ZEROS: [u8; 24] = [0; 24];

/// A replication message to emit.
///
/// The constructors fill in what every known implementation sends:
/// [`OPCODE_BITS`] in the Reserved word, the 21 reserved bytes of a start
/// message and the 24 of a stop. Every field can be changed afterwards.
///
/// ```
/// use nbns::winsrepl::{Message, MessageRepr, StopReason};
/// let stop = MessageRepr::stop(0x1234_5678, StopReason::Normal);
/// let mut buf = [0u8; 44];
/// assert_eq!(stop.emit(&mut buf), Ok(44)); // Packet Length 40, as MS-WINSRA 2.2.5 asks
/// assert_eq!(Message::parse(&buf).unwrap(), stop);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageRepr<'r> {
    /// The header's Reserved word.
    pub opcode: u32,
    /// Destination Association Handle: the peer's handle (0 in a start
    /// request).
    pub handle: u32,
    /// The body; it determines the Message Type.
    pub body: BodyRepr<'r>,
    /// Bytes after the body.
    pub padding: &'r [u8],
}

/// The body of a message to emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BodyRepr<'r> {
    /// Association Start Request (MS-WINSRA 2.2.3).
    StartRequest(Start),
    /// Association Start Response (2.2.4).
    StartReply(Start),
    /// Association Stop Request (2.2.5).
    Stop(Stop),
    /// Owner-Version Map Request (2.2.6).
    TableQuery,
    /// Owner-Version Map Response (2.2.7).
    TableReply(OwnerTableRepr<'r>),
    /// Name Records Request (2.2.9).
    SendRequest(OwnerRecord),
    /// Name Records Response (2.2.10).
    SendReply(&'r [NameRecordRepr<'r>]),
    /// Update Notification (2.2.8).
    UpdateNotification(UpdateKind, OwnerTableRepr<'r>),
    /// A replication message with a command this crate does not model
    /// (a modelled command parses back as that command).
    UnknownCommand {
        /// The command word.
        command: u32,
        /// The bytes after it.
        bytes: &'r [u8],
    },
    /// A message of a type this crate does not model (types 0–3 parse back
    /// as those types).
    UnknownType {
        /// The Message Type.
        message_type: u32,
        /// The bytes after the header.
        bytes: &'r [u8],
    },
}

impl BodyRepr<'_> {
    /// The Message Type of the header.
    #[must_use]
    pub fn message_type(&self) -> MessageType {
        match self {
            Self::StartRequest(_) => MessageType::StartRequest,
            Self::StartReply(_) => MessageType::StartReply,
            Self::Stop(_) => MessageType::Stop,
            Self::UnknownType { message_type, .. } => MessageType::from(*message_type),
            _ => MessageType::Replication,
        }
    }

    /// The replication command, for a type-3 message.
    #[must_use]
    pub fn command(&self) -> Option<ReplCommand> {
        Some(match self {
            Self::TableQuery => ReplCommand::TableQuery,
            Self::TableReply(_) => ReplCommand::TableReply,
            Self::SendRequest(_) => ReplCommand::SendRequest,
            Self::SendReply(_) => ReplCommand::SendReply,
            Self::UpdateNotification(kind, _) => kind.command(),
            Self::UnknownCommand { command, .. } => ReplCommand::Unknown(*command),
            Self::StartRequest(_)
            | Self::StartReply(_)
            | Self::Stop(_)
            | Self::UnknownType { .. } => {
                return None;
            }
        })
    }

    /// Bytes of the body on the wire (without padding).
    fn len(&self) -> usize {
        let table = |t: &OwnerTableRepr<'_>| 4 + 4 + OwnerRecord::LEN * t.owners.len() + 4;
        match self {
            Self::StartRequest(_) | Self::StartReply(_) => Start::LEN,
            Self::Stop(_) => Stop::LEN,
            Self::TableQuery => 4,
            Self::TableReply(t) | Self::UpdateNotification(_, t) => table(t),
            Self::SendRequest(_) => 4 + OwnerRecord::LEN,
            Self::SendReply(records) => {
                8 + records
                    .iter()
                    .map(NameRecordRepr::buffer_len)
                    .sum::<usize>()
            }
            Self::UnknownCommand { bytes, .. } => 4 + bytes.len(),
            Self::UnknownType { bytes, .. } => bytes.len(),
        }
    }
}

impl<'r> MessageRepr<'r> {
    fn with(handle: u32, body: BodyRepr<'r>, padding: &'r [u8]) -> Self {
        Self {
            opcode: OPCODE_BITS,
            handle,
            body,
            padding,
        }
    }

    /// An Association Start Request carrying our handle, version 2.5
    /// (MS-WINSRA 2.2.3).
    #[must_use]
    pub fn start_request(own_handle: u32) -> Self {
        let padding = ZEROS.split_at(Start::PADDING_LEN).0;
        Self::with(0, BodyRepr::StartRequest(Start::new(own_handle)), padding)
    }

    /// An Association Start Response to the peer's handle, carrying ours,
    /// version 2.5 (MS-WINSRA 2.2.4).
    #[must_use]
    pub fn start_reply(peer_handle: u32, own_handle: u32) -> Self {
        let padding = ZEROS.split_at(Start::PADDING_LEN).0;
        Self::with(
            peer_handle,
            BodyRepr::StartReply(Start::new(own_handle)),
            padding,
        )
    }

    /// An Association Stop Request, 40 bytes long as MS-WINSRA 2.2.5 asks.
    #[must_use]
    pub fn stop(peer_handle: u32, reason: StopReason) -> Self {
        Self::with(peer_handle, BodyRepr::Stop(Stop { reason }), &ZEROS)
    }

    /// An Owner-Version Map Request (MS-WINSRA 2.2.6).
    #[must_use]
    pub fn table_query(peer_handle: u32) -> Self {
        Self::with(peer_handle, BodyRepr::TableQuery, &[])
    }

    /// An Owner-Version Map Response (MS-WINSRA 2.2.7).
    #[must_use]
    pub fn table_reply(peer_handle: u32, owners: &'r [OwnerRecord], reserved: Ipv4Addr) -> Self {
        let table = OwnerTableRepr {
            owners,
            initiator: reserved,
        };
        Self::with(peer_handle, BodyRepr::TableReply(table), &[])
    }

    /// A Name Records Request for `owner`'s records with versions in
    /// `min_version..=max_version` (MS-WINSRA 2.2.9).
    #[must_use]
    pub fn send_request(peer_handle: u32, request: OwnerRecord) -> Self {
        Self::with(peer_handle, BodyRepr::SendRequest(request), &[])
    }

    /// A Name Records Response (MS-WINSRA 2.2.10).
    #[must_use]
    pub fn send_reply(peer_handle: u32, records: &'r [NameRecordRepr<'r>]) -> Self {
        Self::with(peer_handle, BodyRepr::SendReply(records), &[])
    }

    /// An Update Notification (MS-WINSRA 2.2.8).
    #[must_use]
    pub fn update(
        peer_handle: u32,
        kind: UpdateKind,
        owners: &'r [OwnerRecord],
        initiator: Ipv4Addr,
    ) -> Self {
        let table = OwnerTableRepr { owners, initiator };
        Self::with(peer_handle, BodyRepr::UpdateNotification(kind, table), &[])
    }

    /// Bytes on the wire, Packet Length included.
    #[must_use]
    pub fn buffer_len(&self) -> usize {
        Header::LEN + self.body.len() + self.padding.len()
    }

    /// Checks what the wire cannot carry and returns the length.
    fn check(&self) -> Result<usize, EmitError> {
        if let BodyRepr::SendReply(records) = self.body {
            records.iter().try_for_each(check_record)?;
        }
        let len = self.buffer_len();
        if len > MAX_MESSAGE_LEN {
            return Err(EmitError::MessageTooLong {
                len,
                limit: MAX_MESSAGE_LEN,
            });
        }
        Ok(len)
    }

    /// Writes the message at the start of `buf` and returns its length.
    /// Never panics; bytes of `buf` past the message are left as they were,
    /// and nothing is written on an error.
    ///
    /// # Errors
    /// [`EmitError::BufferTooSmall`], or an [`EmitError`] for what the wire
    /// cannot carry.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        let need = self.check()?;
        let have = buf.len();
        let Some(out) = buf.get_mut(..need) else {
            return Err(EmitError::BufferTooSmall { need, have });
        };
        let mut sink = SliceSink { buf: out, pos: 0 };
        self.write(need, &mut sink);
        Ok(need)
    }

    /// Appends the message to any [`bytes::BufMut`] (a `Vec<u8>`, a
    /// `BytesMut`, …) and returns its length.
    ///
    /// # Errors
    /// [`EmitError::BufferTooSmall`] when `buf` has less room left than the
    /// message, or an [`EmitError`] for what the wire cannot carry.
    pub fn emit_buf<B: bytes::BufMut>(&self, mut buf: B) -> Result<usize, EmitError> {
        let need = self.check()?;
        if buf.remaining_mut() < need {
            return Err(EmitError::BufferTooSmall {
                need,
                have: buf.remaining_mut(),
            });
        }
        self.write(need, &mut BufSink(&mut buf));
        Ok(need)
    }

    fn write(&self, len: usize, out: &mut impl Sink) {
        out.u32(u32::try_from(len - 4).unwrap_or(u32::MAX));
        out.u32(self.opcode);
        out.u32(self.handle);
        out.u32(self.body.message_type().into());
        if let Some(command) = self.body.command() {
            out.u32(command.into());
        }
        match self.body {
            BodyRepr::StartRequest(s) | BodyRepr::StartReply(s) => {
                out.u32(s.handle);
                out.put(&s.major.to_be_bytes());
                out.put(&s.minor.to_be_bytes());
            }
            BodyRepr::Stop(s) => out.u32(s.reason.into()),
            BodyRepr::TableQuery => {}
            BodyRepr::TableReply(t) | BodyRepr::UpdateNotification(_, t) => {
                out.u32(count(t.owners.len()));
                t.owners.iter().for_each(|o| write_owner(o, out));
                out.u32(t.initiator.into());
            }
            BodyRepr::SendRequest(o) => write_owner(&o, out),
            BodyRepr::SendReply(records) => {
                out.u32(count(records.len()));
                records.iter().for_each(|r| write_record(r, out));
            }
            BodyRepr::UnknownCommand { bytes, .. } | BodyRepr::UnknownType { bytes, .. } => {
                out.put(bytes);
            }
        }
        out.put(self.padding);
    }
}

/// A count that [`MessageRepr::check`] has bounded by the message length.
fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn check_record(r: &NameRecordRepr<'_>) -> Result<(), EmitError> {
    if r.scope.len() > MAX_SCOPE_LEN {
        return Err(EmitError::ScopeTooLong { len: r.scope.len() });
    }
    if r.name.as_bytes()[0] == 0x1B && r.name.suffix() != 0x1B {
        return Err(EmitError::AmbiguousName);
    }
    match (r.flags.record_type().has_list(), r.addresses) {
        (false, AddressesRepr::Single(_)) => Ok(()),
        (true, AddressesRepr::List(members)) if members.len() > 255 => {
            Err(EmitError::TooManyAddresses {
                count: members.len(),
            })
        }
        (true, AddressesRepr::List(_)) => Ok(()),
        _ => Err(EmitError::AddressForm),
    }
}

/// MS-WINSRA 2.2.7.1.
fn write_owner(o: &OwnerRecord, out: &mut impl Sink) {
    out.u32(o.owner.into());
    out.put(&o.max_version.to_be_bytes());
    out.put(&o.min_version.to_be_bytes());
    out.u32(o.reserved);
}

/// MS-WINSRA 2.2.10.1.
fn write_record(r: &NameRecordRepr<'_>, out: &mut impl Sink) {
    let name_len = r.name_len();
    out.u32(count(name_len));
    out.put(&r.wire_name());
    out.put(r.scope);
    out.put(&[0]);
    out.put(ZEROS.get(..padding_len(name_len)).unwrap_or_default());
    out.u32(r.flags.bits());
    out.put(&r.group.to_le_bytes());
    out.put(&r.version.to_be_bytes());
    match r.addresses {
        AddressesRepr::Single(a) => out.u32(a.into()),
        AddressesRepr::List(members) => {
            out.put(&count(members.len()).to_le_bytes());
            members.iter().for_each(|m: &Member| {
                out.u32(m.owner.into());
                out.u32(m.address.into());
            });
        }
    }
    out.u32(r.reserved);
}

/// Where emitted bytes go.
trait Sink {
    fn put(&mut self, bytes: &[u8]);

    fn u32(&mut self, v: u32) {
        self.put(&v.to_be_bytes());
    }
}

/// A cursor over a buffer of exactly the message's length.
struct SliceSink<'b> {
    buf: &'b mut [u8],
    pos: usize,
}

impl Sink for SliceSink<'_> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        let end = self.pos + bytes.len();
        if let Some(dst) = self.buf.get_mut(self.pos..end) {
            dst.copy_from_slice(bytes);
        }
        self.pos = end;
    }
}

struct BufSink<'b, B: bytes::BufMut>(&'b mut B);

impl<B: bytes::BufMut> Sink for BufSink<'_, B> {
    fn put(&mut self, bytes: &[u8]) {
        self.0.put_slice(bytes);
    }
}
