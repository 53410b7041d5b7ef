//! The common header (MS-WINSRA 2.2.2), the association messages
//! (2.2.3–2.2.5) and the replication command word (2.2.6–2.2.10).

use crate::winsrepl::macros::enum_with_unknown;

/// The reserved word Samba and Windows send in every header, and the bits a
/// receiver checks before it trusts the Destination Association Handle
/// (Samba `WREPL_OPCODE_BITS`; MS-WINSRA 2.2.2 calls the word Reserved).
pub const OPCODE_BITS: u32 = 0x0000_7800;

enum_with_unknown! {
    /// The Message Type of the common header (MS-WINSRA 2.2.2).
    pub enum MessageType(u32) {
        /// 0: Association Start Request (2.2.3).
        StartRequest = 0,
        /// 1: Association Start Response (2.2.4).
        StartReply = 1,
        /// 2: Association Stop Request (2.2.5).
        Stop = 2,
        /// 3: a replication message; the command word says which (2.2.6–2.2.10).
        Replication = 3,
    }
}

enum_with_unknown! {
    /// The replication command of a type-3 message: RplOpCode, the low byte
    /// of the first body word, which Samba and Wireshark read as a
    /// big-endian u32 (MS-WINSRA 2.2.6–2.2.10).
    pub enum ReplCommand(u32) {
        /// 0: Owner-Version Map Request (2.2.6), Samba's TABLE_QUERY.
        TableQuery = 0,
        /// 1: Owner-Version Map Response (2.2.7), TABLE_REPLY.
        TableReply = 1,
        /// 2: Name Records Request (2.2.9), SEND_REQUEST.
        SendRequest = 2,
        /// 3: Name Records Response (2.2.10), SEND_REPLY.
        SendReply = 3,
        /// 4: Update Notification, non-persistent, not propagated (2.2.8).
        Update = 4,
        /// 5: Update Notification, non-persistent, propagated (2.2.8).
        Update2 = 5,
        /// 8: Update Notification, persistent, not propagated (2.2.8).
        Inform = 8,
        /// 9: Update Notification, persistent, propagated (2.2.8).
        Inform2 = 9,
    }
}

/// The four Update Notification opcodes (MS-WINSRA 2.2.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UpdateKind {
    /// 4 (UPDATE): without persistent association; MUST NOT propagate.
    Update,
    /// 5 (UPDATE2): without persistent association; SHOULD propagate.
    Update2,
    /// 8 (INFORM): with persistent association; MUST NOT propagate.
    Inform,
    /// 9 (INFORM2): with persistent association; SHOULD propagate.
    Inform2,
}

impl UpdateKind {
    /// The kind of an update command, if it is one.
    #[must_use]
    pub fn from_command(command: ReplCommand) -> Option<Self> {
        match command {
            ReplCommand::Update => Some(Self::Update),
            ReplCommand::Update2 => Some(Self::Update2),
            ReplCommand::Inform => Some(Self::Inform),
            ReplCommand::Inform2 => Some(Self::Inform2),
            _ => None,
        }
    }

    /// The command word on the wire.
    #[must_use]
    pub fn command(self) -> ReplCommand {
        match self {
            Self::Update => ReplCommand::Update,
            Self::Update2 => ReplCommand::Update2,
            Self::Inform => ReplCommand::Inform,
            Self::Inform2 => ReplCommand::Inform2,
        }
    }

    /// Whether the notification rides on a persistent association (INFORM):
    /// the receiver pulls on its own association and sends no reply.
    #[must_use]
    pub fn persistent(self) -> bool {
        matches!(self, Self::Inform | Self::Inform2)
    }

    /// Whether the receiver should propagate the notification to its own
    /// pull partners (opcodes 5 and 9).
    #[must_use]
    pub fn propagate(self) -> bool {
        matches!(self, Self::Update2 | Self::Inform2)
    }
}

/// The common replication message header (MS-WINSRA 2.2.2), without its
/// Packet Length, which the message's size determines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// The Reserved word; [`OPCODE_BITS`] from every known sender.
    pub opcode: u32,
    /// Destination Association Handle: the receiver's handle, 0 in a start
    /// request.
    pub handle: u32,
    /// Message Type.
    pub message_type: MessageType,
}

impl Header {
    /// Bytes on the wire, Packet Length included.
    pub const LEN: usize = 16;

    /// Whether the Reserved word carries [`OPCODE_BITS`], the condition on
    /// which Windows and Samba check the handle.
    #[must_use]
    pub fn has_opcode_bits(&self) -> bool {
        self.opcode & OPCODE_BITS == OPCODE_BITS
    }
}

/// The body of an Association Start Request or Response
/// (MS-WINSRA 2.2.3, 2.2.4), without its 21 reserved bytes.
///
/// The spec's field names are used: `major` is the first u16 (MUST be 2),
/// `minor` the second (1 for NT4, 5 for Windows 2000 and later). Samba's IDL
/// and tshark call these `minor_version` and `major_version` respectively.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Start {
    /// Sender Association Handle: the handle the peer must put in the
    /// header of every later message.
    pub handle: u32,
    /// NBNS Major Version (2).
    pub major: u16,
    /// NBNS Minor Version (5 for persistent associations and INFORM).
    pub minor: u16,
}

impl Start {
    /// Bytes of the body before the reserved bytes.
    pub const LEN: usize = 8;
    /// The reserved bytes after it, which pad Packet Length to 41. Samba
    /// sends them because NT4 otherwise falls back to an older protocol.
    pub const PADDING_LEN: usize = 21;

    /// A start body with version 2.5, as Windows 2000 and later send.
    #[must_use]
    pub const fn new(handle: u32) -> Self {
        Self {
            handle,
            major: 2,
            minor: 5,
        }
    }
}

enum_with_unknown! {
    /// The Association Stop Reason (MS-WINSRA 2.2.5).
    pub enum StopReason(u32) {
        /// 0: the association stopped normally.
        Normal = 0,
        /// 4: the association stopped on an error (also Samba's refusal of a
        /// non-partner).
        Error = 4,
    }
}

/// The body of an Association Stop Request (MS-WINSRA 2.2.5), without the
/// 24 reserved bytes the spec adds (Samba sends none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Stop {
    /// Association Stop Reason.
    pub reason: StopReason,
}

impl Stop {
    /// Bytes of the body before the reserved bytes.
    pub const LEN: usize = 4;
    /// The reserved bytes that make Packet Length 40, as the spec asks.
    pub const PADDING_LEN: usize = 24;
}
