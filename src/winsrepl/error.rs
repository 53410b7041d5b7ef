//! Error types of the replication wire layer.
//!
//! Parsing never panics: every malformed message maps to one [`ParseError`]
//! variant that says what went wrong and at which byte offset of the message
//! (offset 0 is the first byte of its Packet Length field).

/// Which part of a message was being read when it ended too early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// The common header: length, reserved word, handle, message type
    /// (MS-WINSRA 2.2.2).
    Header,
    /// Sender handle and versions of an association start (2.2.3, 2.2.4).
    Start,
    /// The reason of an association stop (2.2.5).
    StopReason,
    /// The replication command word (RplOpCode, 2.2.6).
    Command,
    /// The number of owners of a map (2.2.7, 2.2.8).
    OwnerCount,
    /// A 24-byte owner record (2.2.7.1).
    OwnerRecord,
    /// The word after the owner records: Reserved2 or Initiator (2.2.7, 2.2.8).
    Initiator,
    /// The number of name records (2.2.10).
    RecordCount,
    /// A name record's Name Length, Name or Padding (2.2.10.1).
    Name,
    /// A name record's flags, group, version or Reserved3 (2.2.10.1).
    RecordFields,
    /// A name record's address, or its address count and list (2.2.10.1.1).
    Addresses,
}

/// Why a message is not a well-formed replication message, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The message ended while `what` was being read at `offset`.
    #[error("message truncated in {what:?} at offset {offset}")]
    Truncated {
        /// Offset of the first field that does not fit.
        offset: usize,
        /// What was being read.
        what: Field,
    },
    /// The Packet Length field does not count the bytes that follow it
    /// (MS-WINSRA 2.2.2).
    #[error("packet length {declared} does not match the {actual} bytes after it")]
    LengthMismatch {
        /// The Packet Length field.
        declared: u32,
        /// Bytes after the field.
        actual: usize,
    },
    /// A Name Length outside 1..=255 (MS-WINSRA 2.2.10.1, <8>).
    #[error("name length {len} at offset {offset} is outside 1..=255")]
    BadNameLength {
        /// Offset of the Name Length field.
        offset: usize,
        /// The length found.
        len: u32,
    },
    /// An owner or address count whose entries cannot fit in the message;
    /// checked before any entry is read.
    #[error("{what:?} count {count} at offset {offset} does not fit in the message")]
    CountTooLarge {
        /// Offset of the count.
        offset: usize,
        /// The count found.
        count: u32,
        /// Which count.
        what: Field,
    },
}

impl ParseError {
    /// The byte offset the error refers to (0 for a length mismatch).
    #[must_use]
    pub fn offset(&self) -> usize {
        match *self {
            Self::Truncated { offset, .. }
            | Self::BadNameLength { offset, .. }
            | Self::CountTooLarge { offset, .. } => offset,
            Self::LengthMismatch { .. } => 0,
        }
    }
}

/// Why a message could not be serialized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EmitError {
    /// The output buffer is smaller than the message.
    #[error("buffer of {have} bytes is too small, {need} needed")]
    BufferTooSmall {
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// The message would exceed [`MAX_MESSAGE_LEN`](crate::winsrepl::MAX_MESSAGE_LEN).
    #[error("message of {len} bytes exceeds the limit of {limit}")]
    MessageTooLong {
        /// Its length, Packet Length field included.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A scope longer than [`MAX_SCOPE_LEN`](crate::winsrepl::MAX_SCOPE_LEN):
    /// the Name field would exceed 255 bytes (MS-WINSRA 2.2.10.1).
    #[error("scope of {len} bytes makes the name longer than 255 bytes")]
    ScopeTooLong {
        /// The scope's length.
        len: usize,
    },
    /// A name whose first byte is 0x1B but whose suffix is not: the 0x1B
    /// byte swap would turn it into another name on receipt.
    #[error("a name starting with 0x1b needs suffix 0x1b")]
    AmbiguousName,
    /// The address form does not suit the record type: unique and normal
    /// group records carry one address, special groups and multihomed
    /// records a list (MS-WINSRA 2.2.10.1).
    #[error("address form does not suit the record type")]
    AddressForm,
    /// More than 255 addresses: the spec's count is one byte
    /// (MS-WINSRA 2.2.10.1.1).
    #[error("{count} addresses; at most 255 fit the count byte")]
    TooManyAddresses {
        /// The number of addresses.
        count: usize,
    },
}

/// Why a TCP byte stream cannot be cut into messages. The stream cannot
/// be resynchronized after one: close the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// A Packet Length above the framer's limit, refused before anything of
    /// the message is buffered.
    #[error("message of {len} bytes announced, the limit is {limit}")]
    TooLong {
        /// The announced length, Packet Length field included.
        len: usize,
        /// The limit, Packet Length field included.
        limit: usize,
    },
}
