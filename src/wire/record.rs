//! Questions and resource records (RFC 1002 §4.2.1.2, §4.2.1.3).

use core::net::Ipv4Addr;

use crate::wire::macros::enum_with_unknown;
use crate::wire::{Flags, Labels, Name, NbAddrs, NodeStatus};

enum_with_unknown! {
    /// RR_TYPE and QUESTION_TYPE values (RFC 1002 §4.2.1.2–3). Total: other
    /// values are `Unknown(n)`, compared by value.
    pub enum RrType(u16, mask 0xFFFF) {
        /// A (0x0001): IP address, in a redirect's additional record.
        A = 0x0001 => "A",
        /// NS (0x0002): name server, in a redirect's authority record.
        Ns = 0x0002 => "NS",
        /// NULL (0x000A): negative query responses; nmbd's WACK.
        Null = 0x000A => "NULL",
        /// NB (0x0020): NetBIOS general name service.
        Nb = 0x0020 => "NB",
        /// NBSTAT (0x0021): node status.
        NbStat = 0x0021 => "NBSTAT",
    }
    unknown => "TYPE{}";
}

enum_with_unknown! {
    /// RR_CLASS and QUESTION_CLASS (RFC 1002 §4.2.1.2). Only IN (1) is
    /// defined.
    pub enum Class(u16, mask 0xFFFF) {
        /// IN (0x0001), the Internet class.
        In = 0x0001 => "IN",
    }
    unknown => "CLASS{}";
}

impl Class {
    /// Whether this is IN.
    #[must_use]
    pub fn is_in(self) -> bool {
        self == Self::In
    }
}

/// A question entry (RFC 1002 §4.2.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Question<'a> {
    /// QUESTION_NAME.
    pub name: Name<'a>,
    /// QUESTION_TYPE: NB or NBSTAT.
    pub qtype: RrType,
    /// QUESTION_CLASS: IN.
    pub qclass: Class,
}

impl<'a> Question<'a> {
    /// An NB/IN question.
    #[must_use]
    pub const fn nb(name: Name<'a>) -> Self {
        Self {
            name,
            qtype: RrType::Nb,
            qclass: Class::In,
        }
    }

    /// An NBSTAT/IN question.
    #[must_use]
    pub const fn nbstat(name: Name<'a>) -> Self {
        Self {
            name,
            qtype: RrType::NbStat,
            qclass: Class::In,
        }
    }

    /// Bytes on the wire.
    #[must_use]
    pub fn buffer_len(&self) -> usize {
        self.name.buffer_len() + 4
    }
}

/// How a record's RR_NAME is written.
///
/// RFC 1002 §4.2.2 requires the additional record of registration, overwrite,
/// refresh and release requests to name itself with a pointer to the question
/// name; in practice always `C0 0C`. Other records carry the full name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum NameForm {
    /// The full encoded name.
    #[default]
    Full,
    /// The two-byte pointer `C0 0C` to the question name at offset 12. The
    /// record's name must equal the question's.
    QuestionPointer,
}

/// The WACK payload (RFC 1002 §4.2.16): the record type the sender chose and
/// the request's OPCODE and NM_FLAGS as a flags word.
///
/// The RFC draws the type as "NULL (0x0020)"; nmbd sends NULL (0x000A),
/// Samba4 NB (0x0020). Either is accepted and kept (erratum E3). Samba4 sends
/// the request's whole flags word, nmbd rebuilds it; the field is not checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Wack {
    /// The RR_TYPE on the wire.
    pub rr_type: RrType,
    /// The request's flags word as echoed.
    pub request_flags: Flags,
}

/// RDATA, decoded by record type (RFC 1002 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum RData<'a> {
    /// NB: address entries (RDLENGTH a multiple of 6, possibly 0).
    Nb(NbAddrs<'a>),
    /// NBSTAT: a node status name table and statistics.
    NodeStatus(NodeStatus<'a>),
    /// NULL: raw bytes (usually none).
    Null(&'a [u8]),
    /// A: an IPv4 address (redirect responses).
    A(Ipv4Addr),
    /// NS: the domain name of a name server (redirect responses).
    Ns(Labels<'a>),
    /// The 2-byte payload of the answer in an opcode-7 response, whatever its
    /// type.
    Wack(Wack),
    /// Raw RDATA of a type this crate does not model.
    Unknown {
        /// RR_TYPE (never one of the modelled ones).
        rr_type: RrType,
        /// The bytes.
        data: &'a [u8],
    },
}

impl RData<'_> {
    /// The RR_TYPE this RDATA is sent with.
    #[must_use]
    pub fn rr_type(&self) -> RrType {
        match self {
            Self::Nb(_) => RrType::Nb,
            Self::NodeStatus(_) => RrType::NbStat,
            Self::Null(_) => RrType::Null,
            Self::A(_) => RrType::A,
            Self::Ns(_) => RrType::Ns,
            Self::Wack(w) => w.rr_type,
            Self::Unknown { rr_type, .. } => *rr_type,
        }
    }

    /// RR_TYPE as on the wire.
    #[must_use]
    #[inline]
    pub fn type_code(&self) -> u16 {
        match self {
            Self::Nb(_) => 0x0020,
            Self::NodeStatus(_) => 0x0021,
            Self::Null(_) => 0x000A,
            Self::A(_) => 0x0001,
            Self::Ns(_) => 0x0002,
            Self::Wack(w) => u16::from(w.rr_type),
            Self::Unknown { rr_type, .. } => u16::from(*rr_type),
        }
    }

    /// RDLENGTH.
    #[must_use]
    #[inline(always)]
    pub fn buffer_len(&self) -> usize {
        match self {
            Self::Nb(a) => a.buffer_len(),
            Self::NodeStatus(s) => s.buffer_len(),
            Self::Null(d) | Self::Unknown { data: d, .. } => d.len(),
            Self::A(_) => 4,
            Self::Ns(l) => l.wire_len() + 1,
            Self::Wack(_) => 2,
        }
    }
}

/// A resource record (RFC 1002 §4.2.1.3). RR_TYPE is that of its
/// [`RData`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct ResourceRecord<'a> {
    /// RR_NAME.
    pub name: Name<'a>,
    /// How RR_NAME is written.
    pub name_form: NameForm,
    /// RR_CLASS: IN.
    pub class: Class,
    /// TTL in seconds.
    pub ttl: u32,
    /// RDATA.
    pub rdata: RData<'a>,
}

impl<'a> ResourceRecord<'a> {
    /// A record of class IN with the full name.
    #[must_use]
    pub const fn new(name: Name<'a>, ttl: u32, rdata: RData<'a>) -> Self {
        Self {
            name,
            name_form: NameForm::Full,
            class: Class::In,
            ttl,
            rdata,
        }
    }

    /// RR_TYPE.
    #[must_use]
    pub fn rr_type(&self) -> RrType {
        self.rdata.rr_type()
    }

    /// The NB address entries, if this is an NB record.
    #[must_use]
    pub fn nb(&self) -> Option<NbAddrs<'a>> {
        match self.rdata {
            RData::Nb(a) => Some(a),
            _ => None,
        }
    }

    /// Bytes on the wire.
    #[must_use]
    pub fn buffer_len(&self) -> usize {
        let name = match self.name_form {
            NameForm::Full => self.name.buffer_len(),
            NameForm::QuestionPointer => 2,
        };
        name + 10 + self.rdata.buffer_len()
    }
}
