//! Questions and resource records (RFC 1002 §4.2.1.2, §4.2.1.3).

use core::fmt;
use core::net::Ipv4Addr;

use nom::IResult;
use nom::number::complete::{be_u16, be_u32, be_u64};

use crate::wire::error::Field;
use crate::wire::{
    Flags, Labels, Name, NbAddrs, NodeName, NodeNames, NodeStatus, ParseError, Statistics,
};

/// RR_TYPE and QUESTION_TYPE values (RFC 1002 §4.2.1.2–3). Total: other
/// values are `Unknown(n)`, compared by value.
#[derive(Debug, Clone, Copy, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum RrType {
    /// A (0x0001): IP address, in a redirect's additional record.
    A,
    /// NS (0x0002): name server, in a redirect's authority record.
    Ns,
    /// NULL (0x000A): negative query responses; nmbd's WACK.
    Null,
    /// NB (0x0020): NetBIOS general name service.
    Nb,
    /// NBSTAT (0x0021): node status.
    NbStat,
    /// Any other value.
    Unknown(u16),
}

impl From<u16> for RrType {
    fn from(v: u16) -> Self {
        match v {
            0x0001 => Self::A,
            0x0002 => Self::Ns,
            0x000A => Self::Null,
            0x0020 => Self::Nb,
            0x0021 => Self::NbStat,
            n => Self::Unknown(n),
        }
    }
}

impl From<RrType> for u16 {
    fn from(v: RrType) -> Self {
        match v {
            RrType::A => 0x0001,
            RrType::Ns => 0x0002,
            RrType::Null => 0x000A,
            RrType::Nb => 0x0020,
            RrType::NbStat => 0x0021,
            RrType::Unknown(n) => n,
        }
    }
}

impl PartialEq for RrType {
    fn eq(&self, other: &Self) -> bool {
        u16::from(*self) == u16::from(*other)
    }
}

impl core::hash::Hash for RrType {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        u16::from(*self).hash(state);
    }
}

impl fmt::Display for RrType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::A => f.write_str("A"),
            Self::Ns => f.write_str("NS"),
            Self::Null => f.write_str("NULL"),
            Self::Nb => f.write_str("NB"),
            Self::NbStat => f.write_str("NBSTAT"),
            Self::Unknown(n) => write!(f, "TYPE{n}"),
        }
    }
}

/// RR_CLASS and QUESTION_CLASS (RFC 1002 §4.2.1.2). Only IN (1) is defined.
#[derive(Debug, Clone, Copy, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Class {
    /// IN (0x0001), the Internet class.
    In,
    /// Any other value.
    Unknown(u16),
}

impl From<u16> for Class {
    fn from(v: u16) -> Self {
        if v == 1 { Self::In } else { Self::Unknown(v) }
    }
}

impl From<Class> for u16 {
    fn from(v: Class) -> Self {
        match v {
            Class::In => 1,
            Class::Unknown(n) => n,
        }
    }
}

impl PartialEq for Class {
    fn eq(&self, other: &Self) -> bool {
        u16::from(*self) == u16::from(*other)
    }
}

impl core::hash::Hash for Class {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        u16::from(*self).hash(state);
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

type NomRes<'a, T> = IResult<&'a [u8], T, ()>;

// The fixed fields are read one nom parser at a time rather than with a
// tuple combinator: the single parsers inline, so the values stay in
// registers instead of round-tripping through memory.

#[inline(always)]
fn question_tail(i: &[u8]) -> NomRes<'_, (u16, u16)> {
    let (i, tc) = be_u32(i)?;
    Ok((i, ((tc >> 16) as u16, tc as u16)))
}

#[inline(always)]
fn record_tail(i: &[u8]) -> NomRes<'_, (u16, u16, u32, &[u8])> {
    // Type, class and TTL as one 64-bit read: one length check, not three.
    let (i, tct) = be_u64(i)?;
    let (i, len) = be_u16(i)?;
    let (t, c, ttl) = ((tct >> 48) as u16, (tct >> 32) as u16, tct as u32);
    // RDATA split off directly: nom's `take` stays out of line here.
    let (data, i) = i
        .split_at_checked(usize::from(len))
        .ok_or(nom::Err::Error(()))?;
    Ok((i, (t, c, ttl, data)))
}

/// Reads a question at `at`; returns it and the offset past it.
#[inline(always)]
pub(crate) fn parse_question(msg: &[u8], at: usize) -> Result<(Question<'_>, usize), ParseError> {
    let (name, pos) = crate::wire::name::parse_name(msg, at)?;
    let rest = msg.get(pos..).unwrap_or_default();
    let (_, (t, c)) = question_tail(rest).map_err(|_| ParseError::Truncated {
        offset: msg.len(),
        what: Field::QuestionTail,
    })?;
    Ok((
        Question {
            name,
            qtype: RrType::from(t),
            qclass: Class::from(c),
        },
        pos + 4,
    ))
}

/// Reads a resource record at `at`. `question` is the question name with its
/// offset, used to recognise the `C0 0C` pointer without decoding twice;
/// `wack` says whether this is the answer of an opcode-7 response.
#[inline(always)]
pub(crate) fn parse_record<'a>(
    msg: &'a [u8],
    at: usize,
    question: Option<&Name<'a>>,
    wack: bool,
) -> Result<(ResourceRecord<'a>, usize), ParseError> {
    let (name, name_form, pos) = match question {
        Some(q) if matches!(msg.get(at..at + 2), Some([0xC0, 0x0C])) => {
            (*q, NameForm::QuestionPointer, at + 2)
        }
        _ => {
            let (n, p) = crate::wire::name::parse_name(msg, at)?;
            (n, NameForm::Full, p)
        }
    };
    let rest = msg.get(pos..).unwrap_or_default();
    let (_, (t, c, ttl, data)) = record_tail(rest).map_err(|_| {
        let what = if rest.len() < 10 {
            Field::RecordHeader
        } else {
            Field::Rdata
        };
        ParseError::Truncated {
            offset: msg.len(),
            what,
        }
    })?;
    let rr_type = RrType::from(t);
    let rdlength_at = pos + 8;
    let rdata_at = pos + 10;
    let bad = ParseError::BadRdLength {
        offset: rdlength_at,
        rr_type,
        len: data.len() as u16,
    };
    let rdata = if let (true, &[hi, lo]) = (wack, data) {
        RData::Wack(Wack {
            rr_type,
            request_flags: Flags(u16::from_be_bytes([hi, lo])),
        })
    } else {
        match rr_type {
            RrType::Nb => {
                if data.len() % 6 != 0 {
                    return Err(bad);
                }
                RData::Nb(NbAddrs::from_wire(data))
            }
            RrType::NbStat => {
                let (&n, tail) = data.split_first().ok_or(bad)?;
                let table_len = usize::from(n) * NodeName::LEN;
                let (table, stats) = tail.split_at_checked(table_len).ok_or(bad)?;
                RData::NodeStatus(NodeStatus {
                    names: NodeNames::from_wire(table),
                    statistics: Statistics(stats),
                })
            }
            RrType::Null => RData::Null(data),
            RrType::A => {
                let a: [u8; 4] = data.try_into().map_err(|_| bad)?;
                RData::A(Ipv4Addr::from(a))
            }
            RrType::Ns => {
                // The name must lie within RDATA: parse within a view that
                // ends where RDATA ends.
                let view = msg.get(..rdata_at + data.len()).unwrap_or_default();
                let (labels, end) =
                    crate::wire::name::parse_labels(view, rdata_at).map_err(|e| match e {
                        ParseError::Truncated { .. } => bad,
                        other => other,
                    })?;
                if end != rdata_at + data.len() {
                    return Err(bad);
                }
                RData::Ns(labels)
            }
            RrType::Unknown(_) => RData::Unknown { rr_type, data },
        }
    };
    Ok((
        ResourceRecord {
            name,
            name_form,
            class: Class::from(c),
            ttl,
            rdata,
        },
        rdata_at + data.len(),
    ))
}
