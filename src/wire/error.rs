//! Error types of the wire layer.
//!
//! Parsing never panics: every malformed datagram maps to one [`ParseError`]
//! variant that says what went wrong and at which byte offset of the datagram.

use crate::wire::RrType;

/// Which part of a packet was being read when a datagram ended too early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// The 12-byte header (RFC 1002 §4.2.1.1).
    Header,
    /// An encoded name: a label length byte, label bytes or a pointer.
    Name,
    /// QUESTION_TYPE and QUESTION_CLASS.
    QuestionTail,
    /// RR_TYPE, RR_CLASS, TTL and RDLENGTH.
    RecordHeader,
    /// RDATA, as long as RDLENGTH says.
    Rdata,
}

/// A section of a packet (RFC 1002 §4.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    /// The question section (QDCOUNT).
    Question,
    /// The answer section (ANCOUNT).
    Answer,
    /// The authority section (NSCOUNT).
    Authority,
    /// The additional section (ARCOUNT).
    Additional,
}

/// Why a datagram is not a well-formed NBNS packet, and where.
///
/// Every `offset` is a byte offset into the datagram passed to
/// [`Packet::parse`](crate::wire::Packet::parse).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The datagram ended while `what` was being read at `offset`.
    #[error("datagram truncated in {what:?} at offset {offset}")]
    Truncated {
        /// Offset of the first byte that is missing.
        offset: usize,
        /// What was being read.
        what: Field,
    },
    /// A header count is above one. NBNS packets (RFC 1002 §4.2) carry at most
    /// one entry per section; the count is rejected before anything is read.
    #[error(
        "{section:?} count {count} at offset {offset}: NBNS packets carry at most one entry per section"
    )]
    UnsupportedCount {
        /// Offset of the count in the header.
        offset: usize,
        /// The section the count belongs to.
        section: Section,
        /// The count found.
        count: u16,
    },
    /// A label length byte starts with the reserved bit patterns `01` or `10`
    /// (RFC 1035 §4.1.4).
    #[error("reserved label type {byte:#04x} at offset {offset}")]
    BadLabelType {
        /// Offset of the length byte.
        offset: usize,
        /// The length byte.
        byte: u8,
    },
    /// A compression pointer does not point strictly before the label that
    /// holds it (or before the previous pointer's target).
    #[error("compression pointer at offset {offset} to {target} does not point backwards")]
    PointerNotPrior {
        /// Offset of the pointer.
        offset: usize,
        /// Where it points.
        target: usize,
    },
    /// A name follows more than [`MAX_POINTERS`](crate::wire::MAX_POINTERS)
    /// compression pointers.
    #[error("name follows more than the allowed compression pointers at offset {offset}")]
    TooManyPointers {
        /// Offset of the pointer past the limit.
        offset: usize,
    },
    /// The first label of a NetBIOS name is not 32 bytes long
    /// (RFC 1001 §14.1 first-level encoding).
    #[error("first label of a NetBIOS name is {len} bytes at offset {offset}, not 32")]
    BadNameLength {
        /// Offset of the label length byte.
        offset: usize,
        /// The label length found.
        len: u8,
    },
    /// A first-level encoded character is outside `'A'..='P'`.
    #[error("byte {byte:#04x} at offset {offset} is not a half-ASCII character (A-P)")]
    BadNameEncoding {
        /// Offset of the character.
        offset: usize,
        /// The character found.
        byte: u8,
    },
    /// The scope (or a domain name) exceeds [`MAX_SCOPE_LEN`](crate::wire::MAX_SCOPE_LEN)
    /// characters or [`MAX_LABELS`](crate::wire::MAX_LABELS) labels.
    #[error("name at offset {offset} is longer than allowed")]
    NameTooLong {
        /// Offset of the label that crossed the limit.
        offset: usize,
    },
    /// RDLENGTH does not fit the rules of the record type (NB: a multiple of 6;
    /// A: 4; NBSTAT: NUM_NAMES entries must fit; NS: the name must fill it).
    #[error("RDLENGTH {len} at offset {offset} does not suit record type {rr_type:?}")]
    BadRdLength {
        /// Offset of the RDLENGTH field.
        offset: usize,
        /// The record type.
        rr_type: RrType,
        /// RDLENGTH.
        len: u16,
    },
    /// The datagram is longer than 65,535 bytes, more than any UDP payload
    /// or NBNS-over-TCP message holds.
    #[error("datagram longer than 65535 bytes")]
    TooLong {
        /// 65,535: the first byte past the longest datagram.
        offset: usize,
    },
    /// [`Packet::parse_exact`](crate::wire::Packet::parse_exact) found bytes
    /// after the last section.
    #[error("{len} trailing bytes at offset {offset}")]
    TrailingBytes {
        /// Offset of the first trailing byte.
        offset: usize,
        /// How many bytes follow the last section.
        len: usize,
    },
}

impl ParseError {
    /// The byte offset the error refers to.
    #[must_use]
    pub fn offset(&self) -> usize {
        match *self {
            Self::Truncated { offset, .. }
            | Self::UnsupportedCount { offset, .. }
            | Self::BadLabelType { offset, .. }
            | Self::PointerNotPrior { offset, .. }
            | Self::TooManyPointers { offset }
            | Self::BadNameLength { offset, .. }
            | Self::BadNameEncoding { offset, .. }
            | Self::NameTooLong { offset }
            | Self::TooLong { offset }
            | Self::BadRdLength { offset, .. }
            | Self::TrailingBytes { offset, .. } => offset,
        }
    }
}

/// Why a packet could not be serialized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EmitError {
    /// The output buffer is smaller than [`Packet::buffer_len`](crate::wire::Message::buffer_len).
    #[error("buffer of {have} bytes is too small, {need} needed")]
    BufferTooSmall {
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// The packet would be longer than 65,535 bytes, more than any UDP
    /// payload or NBNS-over-TCP message holds (and than
    /// [`Packet::parse`](crate::wire::Packet::parse) reads).
    #[error("packet of {len} bytes is longer than 65535")]
    TooLong {
        /// The packet's length.
        len: usize,
    },
    /// A record's RDATA would be longer than 65535 bytes, or a node status
    /// response would list more than 255 names.
    #[error("RDATA of the {section:?} record is too long")]
    RdataTooLong {
        /// The record's section.
        section: Section,
    },
    /// A record is to be named by the pointer `C0 0C`, but the packet has no
    /// question or the question's name differs from the record's.
    #[error("the {section:?} record's name pointer does not match the question name")]
    PointerMismatch {
        /// The record's section.
        section: Section,
    },
    /// The RDATA does not fit where it stands: a WACK payload outside the
    /// answer of an opcode-7 response, a 2-byte RDATA of another kind inside
    /// one, or raw RDATA labelled with a type this crate models.
    #[error("RDATA of the {section:?} record does not suit the packet")]
    RdataMismatch {
        /// The record's section.
        section: Section,
    },
}

/// Why a NetBIOS name or scope could not be built from the bytes given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// The name is empty.
    #[error("empty NetBIOS name")]
    Empty,
    /// The name is longer than 15 bytes.
    #[error("NetBIOS name is {len} bytes; at most 15 are allowed")]
    TooLong {
        /// Its length.
        len: usize,
    },
    /// The `<xx>` suffix in a textual name is not two hex digits.
    #[error("bad suffix in NetBIOS name text")]
    BadSuffix,
    /// A `\xNN` escape in a textual name is malformed.
    #[error("bad escape in NetBIOS name text")]
    BadEscape,
    /// A scope label is empty or longer than 63 bytes.
    #[error("scope label {index} is empty or longer than 63 bytes")]
    BadLabel {
        /// Index of the label.
        index: usize,
    },
    /// The scope is longer than [`MAX_SCOPE_LEN`](crate::wire::MAX_SCOPE_LEN)
    /// characters or has more than [`MAX_LABELS`](crate::wire::MAX_LABELS) labels.
    #[error("scope is too long")]
    ScopeTooLong,
}
