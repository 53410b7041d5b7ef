//! A parsed replication message: the validated view of one frame
//! (MS-WINSRA 2.2.2–2.2.10).

use crate::winsrepl::error::ParseError;
use crate::winsrepl::grammar;
use crate::winsrepl::header::{Header, ReplCommand, Start, Stop, UpdateKind};
use crate::winsrepl::owner::{OwnerRecord, OwnerTable};
use crate::winsrepl::record::NameRecords;
use crate::winsrepl::repr::{BodyRepr, MessageRepr};

/// One parsed replication message, borrowing from its bytes.
///
/// ```
/// use nbns::winsrepl::{Body, Message, MessageType};
/// // Samba 4.17's Association Stop: 16 bytes, reason 0, no reserved bytes.
/// let bytes = b"\x00\x00\x00\x10\x00\x00\x78\x00\x00\x00\xbe\xef\x00\x00\x00\x02\x00\x00\x00\x00";
/// let m = Message::parse(bytes).unwrap();
/// assert_eq!(m.header.message_type, MessageType::Stop);
/// assert_eq!(m.header.handle, 0xbeef);
/// assert!(matches!(m.body, Body::Stop(_)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Message<'a> {
    /// The common header.
    pub header: Header,
    /// The body.
    pub body: Body<'a>,
    /// Bytes after the body inside the message: the 21 reserved bytes of a
    /// start message, the 24 of a spec-sized stop, and whatever a sender
    /// appends (Samba's IDL swallows such bytes too).
    pub padding: &'a [u8],
}

/// The body of a parsed message, by message type and command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Body<'a> {
    /// Association Start Request (MS-WINSRA 2.2.3).
    StartRequest(Start),
    /// Association Start Response (2.2.4).
    StartReply(Start),
    /// Association Stop Request (2.2.5).
    Stop(Stop),
    /// Owner-Version Map Request (2.2.6).
    TableQuery,
    /// Owner-Version Map Response (2.2.7).
    TableReply(OwnerTable<'a>),
    /// Name Records Request (2.2.9): the records of one owner in a version
    /// range.
    SendRequest(OwnerRecord),
    /// Name Records Response (2.2.10).
    SendReply(NameRecords<'a>),
    /// Update Notification (2.2.8).
    UpdateNotification(UpdateKind, OwnerTable<'a>),
    /// A replication message with another command; the bytes after the
    /// command word.
    UnknownCommand {
        /// The command word.
        command: u32,
        /// The rest of the message.
        bytes: &'a [u8],
    },
    /// A message of another type; the bytes after the header.
    UnknownType(&'a [u8]),
}

impl Body<'_> {
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
            Self::StartRequest(_) | Self::StartReply(_) | Self::Stop(_) | Self::UnknownType(_) => {
                return None;
            }
        })
    }
}

impl<'a> Message<'a> {
    /// Parses one whole message, from its Packet Length field to its last
    /// byte (what [`Framer`](crate::winsrepl::Framer) hands out).
    ///
    /// Never panics and allocates nothing; the work is bounded by the
    /// length of `bytes`. Unknown message types and commands parse, with
    /// their bytes kept. Bytes after a known body are kept as
    /// [`Message::padding`].
    ///
    /// # Errors
    /// A [`ParseError`] with the offset of the problem.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ParseError> {
        let total = bytes.len();
        let (rest, (declared, header)) =
            grammar::header(bytes).map_err(|e| into_error(e, total))?;
        if declared as usize != total - 4 {
            return Err(ParseError::LengthMismatch {
                declared,
                actual: total - 4,
            });
        }
        let (padding, body) =
            grammar::body(header.message_type, rest).map_err(|e| into_error(e, total))?;
        Ok(Self {
            header,
            body,
            padding,
        })
    }
}

fn into_error(e: nom::Err<grammar::Fail>, total: usize) -> ParseError {
    match e {
        nom::Err::Error(f) | nom::Err::Failure(f) => f.into_error(total),
        // Complete parsers never ask for more input.
        nom::Err::Incomplete(_) => ParseError::Truncated {
            offset: total,
            what: crate::winsrepl::Field::Header,
        },
    }
}

impl PartialEq<MessageRepr<'_>> for Message<'_> {
    fn eq(&self, other: &MessageRepr<'_>) -> bool {
        self.header.opcode == other.opcode
            && self.header.handle == other.handle
            && self.header.message_type == other.body.message_type()
            && self.padding == other.padding
            && self.body == other.body
    }
}

impl PartialEq<BodyRepr<'_>> for Body<'_> {
    fn eq(&self, other: &BodyRepr<'_>) -> bool {
        match (self, other) {
            (Self::StartRequest(a), BodyRepr::StartRequest(b))
            | (Self::StartReply(a), BodyRepr::StartReply(b)) => a == b,
            (Self::Stop(a), BodyRepr::Stop(b)) => a == b,
            (Self::TableQuery, BodyRepr::TableQuery) => true,
            (Self::TableReply(a), BodyRepr::TableReply(b)) => a == b,
            (Self::SendRequest(a), BodyRepr::SendRequest(b)) => a == b,
            (Self::SendReply(a), BodyRepr::SendReply(b)) => {
                a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| x == *y)
            }
            (Self::UpdateNotification(k, a), BodyRepr::UpdateNotification(l, b)) => {
                k == l && a == b
            }
            (
                Self::UnknownCommand { command, bytes },
                BodyRepr::UnknownCommand {
                    command: c,
                    bytes: b,
                },
            ) => command == c && bytes == b,
            (
                Self::UnknownType(bytes),
                BodyRepr::UnknownType {
                    message_type: _,
                    bytes: b,
                },
            ) => bytes == b,
            _ => false,
        }
    }
}
