//! The grammar of an NBNS datagram (RFC 1002 §4.2), rule by rule, in nom.
//!
//! Each rule is a nom parser over the rest of the datagram (`complete`
//! input: a datagram is always whole). Rules that follow compression
//! pointers also take the whole datagram, since a pointer is an offset into
//! it. Failures are a small [`Error`] that records how many bytes of the
//! datagram were left where the rule failed; [`Error::at`] turns that into
//! the [`ParseError`] with its offset. nom stays inside this module.
//!
//! What the rules produce is what the packet view keeps: NetBIOS names
//! decoded (every half-ASCII character is looked at anyway), and for the
//! rest the offsets of validated bytes, so reading a parsed packet never
//! decodes again.

use nom::Parser;
use nom::bytes::complete::take;
use nom::number::complete::{be_u8, be_u16, be_u32, be_u64};

use crate::wire::error::{Field, Section};
use crate::wire::{Flags, Header, MAX_LABELS, MAX_SCOPE_LEN, NetbiosName, ParseError, RrType};

/// Most compression pointers followed while reading one name (its first
/// label and its scope together, or a domain name).
///
/// Pointers must point strictly backwards, which alone bounds a walk by the
/// datagram's length; this bounds it by a constant, and the label iterator
/// ([`LabelIter`](crate::wire::LabelIter)) stops at the same count, so a
/// name that parsed iterates in full. A sender has no use for more than one
/// pointer per label.
pub const MAX_POINTERS: usize = MAX_LABELS + 1;

/// Length of a first-level encoded NetBIOS name (RFC 1001 §14.1).
const ENCODED_LEN: usize = 32;

/// The input of every rule: the rest of the datagram.
type In<'a> = &'a [u8];

/// What a rule returns.
type Res<'a, T> = nom::IResult<In<'a>, T, Error>;

/// A failed rule: what went wrong, and how many bytes of the datagram were
/// left from the offending byte on (0 when the datagram ended too early).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Error {
    left: usize,
    kind: Kind,
}

/// The failures, as [`ParseError`] names them, without offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Truncated(Field),
    UnsupportedCount(Section, u16),
    BadLabelType(u8),
    PointerNotPrior(usize),
    TooManyPointers,
    BadNameLength(u8),
    BadNameEncoding(u8),
    NameTooLong,
    BadRdLength(RrType, u16),
}

impl<'a> nom::error::ParseError<In<'a>> for Error {
    fn from_error_kind(input: In<'a>, _: nom::error::ErrorKind) -> Self {
        // Only the complete-input readers fail without a rule's own error,
        // and only because the datagram ended; rules name the field.
        Self {
            left: input.len(),
            kind: Kind::Truncated(Field::Name),
        }
    }

    fn append(_: In<'a>, _: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

impl Error {
    /// The public error for a datagram of `len` bytes.
    #[cold]
    pub(crate) fn at(self, len: usize) -> ParseError {
        let offset = len.saturating_sub(self.left);
        match self.kind {
            Kind::Truncated(what) => ParseError::Truncated { offset, what },
            Kind::UnsupportedCount(section, count) => ParseError::UnsupportedCount {
                offset,
                section,
                count,
            },
            Kind::BadLabelType(byte) => ParseError::BadLabelType { offset, byte },
            Kind::PointerNotPrior(target) => ParseError::PointerNotPrior { offset, target },
            Kind::TooManyPointers => ParseError::TooManyPointers { offset },
            Kind::BadNameLength(len) => ParseError::BadNameLength { offset, len },
            Kind::BadNameEncoding(byte) => ParseError::BadNameEncoding { offset, byte },
            Kind::NameTooLong => ParseError::NameTooLong { offset },
            Kind::BadRdLength(rr_type, len) => ParseError::BadRdLength {
                offset,
                rr_type,
                len,
            },
        }
    }
}

/// A failure at the start of `at`.
#[cold]
fn fail(at: In<'_>, kind: Kind) -> nom::Err<Error> {
    nom::Err::Error(Error {
        left: at.len(),
        kind,
    })
}

/// The datagram ended while `what` was read.
#[cold]
fn truncated(what: Field) -> nom::Err<Error> {
    nom::Err::Error(Error {
        left: 0,
        kind: Kind::Truncated(what),
    })
}

/// Runs `p`; if the datagram ends inside it, that is a truncated `what`.
#[inline(always)]
fn whole<'a, O>(
    what: Field,
    mut p: impl Parser<In<'a>, Output = O, Error = Error>,
) -> impl Parser<In<'a>, Output = O, Error = Error> {
    move |i: In<'a>| p.parse(i).map_err(|_| truncated(what))
}

/// Offset of `at` in `msg` (`at` is a tail of `msg`).
#[inline(always)]
fn offset(msg: &[u8], at: In<'_>) -> usize {
    msg.len() - at.len()
}

/// The tail of `msg` at `pos`.
#[inline(always)]
fn tail(msg: &[u8], pos: usize) -> In<'_> {
    msg.get(pos..).unwrap_or_default()
}

// ---------------------------------------------------------------------------
// RFC 1002 §4.2.1.1: the header.

/// `HEADER` (RFC 1002 §4.2.1.1): NAME_TRN_ID, the flags word and the four
/// counts. NBNS packets carry at most one entry per section: a count above
/// one is refused before any section is read.
pub(crate) fn header(i: In<'_>) -> Res<'_, Header> {
    let (rest, (id, flags, counts)) = whole(
        Field::Header,
        (be_u16, be_u16, (be_u16, be_u16, be_u16, be_u16)),
    )
    .parse(i)?;
    let (qd, an, ns, ar) = counts;
    if (qd | an | ns | ar) > 1 {
        let sections = [
            (qd, Section::Question),
            (an, Section::Answer),
            (ns, Section::Authority),
            (ar, Section::Additional),
        ];
        let (n, &(count, section)) = sections
            .iter()
            .enumerate()
            .find(|(_, (c, _))| *c > 1)
            .unwrap_or((0, &(qd, Section::Question)));
        return Err(fail(
            tail(i, 4 + 2 * n),
            Kind::UnsupportedCount(section, count),
        ));
    }
    let h = Header {
        id,
        flags: Flags(flags),
        qdcount: qd,
        ancount: an,
        nscount: ns,
        arcount: ar,
    };
    Ok((rest, h))
}

// ---------------------------------------------------------------------------
// RFC 1002 §4.1 and RFC 1001 §14: names, labels and compression pointers.

/// A label length byte (RFC 1002 §4.1, RFC 1035 §4.1.4): its top two bits
/// say label (`00`) or compression pointer (`11`); `01` and `10` are
/// reserved.
enum Head {
    /// The zero length that ends a name.
    End,
    /// A label of this many bytes (1 to 63).
    Label(u8),
    /// A pointer: the 14-bit offset it points to.
    Pointer(usize),
}

/// `label-length | pointer` (RFC 1035 §4.1.4).
#[inline(always)]
fn head(i: In<'_>) -> Res<'_, Head> {
    let (rest, b) = whole(Field::Name, be_u8).parse(i)?;
    match b >> 6 {
        0b00 if b == 0 => Ok((rest, Head::End)),
        0b00 => Ok((rest, Head::Label(b))),
        0b11 => {
            let (rest, lo) = whole(Field::Name, be_u8).parse(rest)?;
            let target = usize::from(u16::from_be_bytes([b & 0x3F, lo]));
            Ok((rest, Head::Pointer(target)))
        }
        _ => Err(fail(i, Kind::BadLabelType(b))),
    }
}

/// The pointers followed while one name is read.
///
/// Pointer rule (after hickory-proto's `PointerNotPriorToLabel`): a pointer
/// must point strictly before its own offset, and each further pointer of
/// a label sequence strictly before the previous pointer's target, so the
/// targets strictly decrease and every walk ends; at most [`MAX_POINTERS`]
/// are followed.
struct Walk<'a> {
    msg: &'a [u8],
    /// The previous target of this label sequence.
    limit: usize,
    /// Pointers followed for this name.
    hops: usize,
    /// Where the name ends in the datagram: after its first pointer.
    end: Option<In<'a>>,
}

impl<'a> Walk<'a> {
    fn new(msg: &'a [u8]) -> Self {
        Self {
            msg,
            limit: usize::MAX,
            hops: 0,
            end: None,
        }
    }

    /// Follows the pointer at `at` (ending at `after`) to `target`.
    #[inline(never)]
    fn jump(
        &mut self,
        at: In<'a>,
        after: In<'a>,
        target: usize,
    ) -> Result<In<'a>, nom::Err<Error>> {
        if target >= offset(self.msg, at).min(self.limit) {
            return Err(fail(at, Kind::PointerNotPrior(target)));
        }
        self.hops += 1;
        if self.hops > MAX_POINTERS {
            return Err(fail(at, Kind::TooManyPointers));
        }
        self.end.get_or_insert(after);
        self.limit = target;
        Ok(tail(self.msg, target))
    }

    /// Where the name ends, given where its labels ended.
    fn finish(&self, rest: In<'a>) -> In<'a> {
        self.end.unwrap_or(rest)
    }
}

/// A label sequence (RFC 1002 §4.1: the scope ID of RFC 1001 §14.2, or a
/// domain name such as NSD_NAME): labels of 1 to 63 bytes, each possibly
/// replaced by a pointer, ending with a zero length; at most
/// [`MAX_LABELS`] labels and [`MAX_SCOPE_LEN`] characters with the dots.
fn labels<'a>(walk: &mut Walk<'a>, i: In<'a>) -> Res<'a, ()> {
    walk.limit = usize::MAX;
    let (mut cur, mut count, mut chars) = (i, 0usize, 0usize);
    loop {
        let (rest, h) = head(cur)?;
        match h {
            Head::End => return Ok((walk.finish(rest), ())),
            Head::Label(len) => {
                let (rest, _) = whole(Field::Name, take(len)).parse(rest)?;
                count += 1;
                chars += usize::from(len) + usize::from(count > 1);
                if count > MAX_LABELS || chars > MAX_SCOPE_LEN {
                    return Err(fail(cur, Kind::NameTooLong));
                }
                cur = rest;
            }
            Head::Pointer(target) => cur = walk.jump(cur, rest, target)?,
        }
    }
}

/// A name as the view keeps it: the decoded NetBIOS name and where its
/// validated scope starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NameAt {
    /// The 16 raw bytes.
    pub(crate) netbios: NetbiosName,
    /// Offset of the scope's labels; 0 for the empty scope (no name starts
    /// inside the header).
    pub(crate) scope: u32,
}

/// A name and whether reading it followed a pointer.
struct Named {
    name: NameAt,
    compressed: bool,
}

/// `NAME` (RFC 1002 §4.1, RFC 1001 §14): the 32-byte first label of
/// first-level encoded characters `A`–`P` (two per raw byte, RFC 1001
/// §14.1), then the scope (RFC 1001 §14.2). Pointers may stand for the
/// first label and for any scope label.
#[inline(always)]
fn name<'a>(msg: &'a [u8], i: In<'a>) -> Res<'a, Named> {
    // An unscoped name written in place, as nearly every one is: `20`, 32
    // characters, `00`.
    if let Some([32, encoded @ .., 0]) = i.first_chunk::<34>()
        && let Some(Ok(netbios)) = encoded
            .first_chunk::<ENCODED_LEN>()
            .map(NetbiosName::decode)
    {
        let name = NameAt { netbios, scope: 0 };
        return Ok((
            tail(i, 34),
            Named {
                name,
                compressed: false,
            },
        ));
    }
    name_general(msg, i)
}

/// [`name`] with pointers, a scope or an error; out of line.
#[inline(never)]
fn name_general<'a>(msg: &'a [u8], i: In<'a>) -> Res<'a, Named> {
    let mut walk = Walk::new(msg);
    let mut cur = i;
    let chars = loop {
        let (rest, h) = head(cur)?;
        match h {
            Head::Label(32) => break rest,
            Head::Label(len) => return Err(fail(cur, Kind::BadNameLength(len))),
            Head::End => return Err(fail(cur, Kind::BadNameLength(0))),
            Head::Pointer(target) => cur = walk.jump(cur, rest, target)?,
        }
    };
    let (rest, encoded) = whole(Field::Name, take(ENCODED_LEN)).parse(chars)?;
    let encoded: &[u8; ENCODED_LEN] = encoded
        .first_chunk()
        .ok_or_else(|| truncated(Field::Name))?;
    let netbios = NetbiosName::decode(encoded).map_err(|n| {
        let byte = encoded.get(n).copied().unwrap_or(0);
        fail(tail(chars, n), Kind::BadNameEncoding(byte))
    })?;
    let first_hops = walk.hops;
    let (rest, scope) = if rest.first() == Some(&0) {
        (tail(rest, 1), 0)
    } else {
        let at = offset(msg, rest) as u32;
        let (after, ()) = labels(&mut walk, rest)?;
        (after, at)
    };
    let compressed = walk.hops > 0;
    let end = match walk.end {
        // The first label came through a pointer: the name ends after it.
        Some(e) if first_hops > 0 => e,
        _ => rest,
    };
    Ok((
        end,
        Named {
            name: NameAt { netbios, scope },
            compressed,
        },
    ))
}

// ---------------------------------------------------------------------------
// RFC 1002 §4.2.1.2: the question.

/// A question as the view keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct QuestionAt {
    pub(crate) name: NameAt,
    pub(crate) qtype: u16,
    pub(crate) qclass: u16,
}

/// `QUESTION` (RFC 1002 §4.2.1.2): QUESTION_NAME, QUESTION_TYPE,
/// QUESTION_CLASS.
#[inline(always)]
fn question<'a>(msg: &'a [u8], i: In<'a>) -> Res<'a, (QuestionAt, bool)> {
    let (rest, n) = name(msg, i)?;
    let (rest, tc) = whole(Field::QuestionTail, be_u32).parse(rest)?;
    let q = QuestionAt {
        name: n.name,
        qtype: (tc >> 16) as u16,
        qclass: tc as u16,
    };
    Ok((rest, (q, n.compressed)))
}

// ---------------------------------------------------------------------------
// RFC 1002 §4.2.1.3: resource records, and RDATA by record type.

/// What a record's RDATA holds, as its rule validated it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// NB: whole ADDR_ENTRYs (§4.2.13).
    Nb,
    /// NBSTAT: NUM_NAMES, the name table, statistics (§4.2.18).
    NodeStatus,
    /// NULL: raw bytes.
    Null,
    /// A: four bytes (§4.2.15).
    A,
    /// NS: a domain name filling RDATA (§4.2.15).
    Ns,
    /// The 2-byte WACK payload (§4.2.16).
    Wack,
    /// A type not modelled: raw bytes.
    Other,
}

/// A resource record as the view keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordAt {
    pub(crate) name: NameAt,
    /// RR_NAME was the `C0 0C` pointer to the question name.
    pub(crate) question_pointer: bool,
    pub(crate) rr_type: u16,
    pub(crate) class: u16,
    pub(crate) ttl: u32,
    /// Offset of RDATA.
    pub(crate) rdata: u32,
    pub(crate) rdlength: u16,
    pub(crate) shape: Shape,
}

/// `RESOURCE RECORD` (RFC 1002 §4.2.1.3): RR_NAME, RR_TYPE, RR_CLASS, TTL,
/// RDLENGTH, RDATA. `question` is the question's name, for the `C0 0C`
/// pointer RFC 1002 §4.2.2 prescribes; `wack` says whether this is the
/// answer of an opcode-7 response. Returns the record and whether it
/// re-emits byte-exactly.
#[inline(always)]
fn record<'a>(
    msg: &'a [u8],
    i: In<'a>,
    question: Option<&NameAt>,
    wack: bool,
) -> Res<'a, (RecordAt, bool)> {
    let (rest, name, question_pointer, compressed) = match (question, i) {
        (Some(q), [0xC0, 0x0C, rest @ ..]) => (rest, *q, true, false),
        _ => {
            let (rest, n) = name(msg, i)?;
            (rest, n.name, false, n.compressed)
        }
    };
    let what = if rest.len() < 10 {
        Field::RecordHeader
    } else {
        Field::Rdata
    };
    let at_rdlength = tail(rest, 8);
    let (rest, (tct, len)) = whole(what, (be_u64, be_u16)).parse(rest)?;
    let rdata_at = offset(msg, rest);
    let (rest, data) = whole(Field::Rdata, take(len)).parse(rest)?;
    let rr_type = (tct >> 48) as u16;
    let (shape, ns_compressed) = rdata(msg, rdata_at, data, rr_type, wack).map_err(|e| {
        e.map_or_else(
            || fail(at_rdlength, Kind::BadRdLength(RrType::from(rr_type), len)),
            nom::Err::Error,
        )
    })?;
    let rec = RecordAt {
        name,
        question_pointer,
        rr_type,
        class: (tct >> 32) as u16,
        ttl: tct as u32,
        rdata: rdata_at as u32,
        rdlength: len,
        shape,
    };
    Ok((rest, (rec, !compressed && !ns_compressed)))
}

/// `RDATA` by RR_TYPE: the rule each type's RFC 1002 §4.2 diagrams draw.
/// `Err(None)` is a RDLENGTH that does not suit the type; `Err(Some(e))` a
/// malformed name inside RDATA.
#[inline(always)]
fn rdata(
    msg: &[u8],
    at: usize,
    data: &[u8],
    rr_type: u16,
    wack: bool,
) -> Result<(Shape, bool), Option<Error>> {
    // §4.2.16: the answer of a WACK carries the request's flags word,
    // whatever RR_TYPE the sender chose.
    if wack && data.len() == 2 {
        return Ok((Shape::Wack, false));
    }
    let shape = match RrType::from(rr_type) {
        // §4.2.13: NB_FLAGS and NB_ADDRESS, 6 bytes per entry.
        RrType::Nb if data.len().is_multiple_of(6) => Shape::Nb,
        // §4.2.18: NUM_NAMES, 18 bytes per name, then statistics.
        RrType::NbStat => {
            let (&n, names) = data.split_first().ok_or(None)?;
            if names.len() < usize::from(n) * 18 {
                return Err(None);
            }
            Shape::NodeStatus
        }
        RrType::Null => Shape::Null,
        // §4.2.15: NSD_IP_ADDR.
        RrType::A if data.len() == 4 => Shape::A,
        // §4.2.15: NSD_NAME, which must fill RDATA exactly.
        RrType::Ns => {
            let view = msg.get(..at + data.len()).unwrap_or_default();
            let mut walk = Walk::new(view);
            // Offsets inside the view are offsets in the datagram.
            let (rest, ()) = labels(&mut walk, tail(view, at)).map_err(|e| match e {
                nom::Err::Error(e) | nom::Err::Failure(e)
                    if !matches!(e.kind, Kind::Truncated(_)) =>
                {
                    Some(Error {
                        left: e.left + (msg.len() - view.len()),
                        kind: e.kind,
                    })
                }
                _ => None,
            })?;
            if !rest.is_empty() {
                return Err(None);
            }
            return Ok((Shape::Ns, walk.hops > 0));
        }
        RrType::Unknown(_) => Shape::Other,
        RrType::Nb | RrType::A => return Err(None),
    };
    Ok((shape, false))
}

// ---------------------------------------------------------------------------
// RFC 1002 §4.2.1: the whole packet.

/// A datagram as the view keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PacketAt {
    pub(crate) header: Header,
    pub(crate) question: Option<QuestionAt>,
    /// Answer, authority and additional records.
    pub(crate) records: [Option<RecordAt>; 3],
    /// Offset of the bytes after the last section.
    pub(crate) end: u32,
    /// Whether every name is written in full or as `C0 0C`, so that the
    /// datagram is what emission would write.
    pub(crate) exact: bool,
}

/// `PACKET` (RFC 1002 §4.2.1): the header, then as many questions,
/// answers, authority and additional records as its counts say (each 0 or
/// 1), then any trailing bytes.
#[inline(always)]
pub(crate) fn packet(msg: &[u8]) -> Result<PacketAt, Error> {
    let run = || -> Res<'_, PacketAt> {
        let (mut i, h) = header(msg)?;
        let mut exact = true;
        let question = if h.qdcount == 1 {
            let (rest, (q, compressed)) = question(msg, i)?;
            i = rest;
            exact &= !compressed;
            Some(q)
        } else {
            None
        };
        let qname = question.as_ref().map(|q| &q.name);
        let wack = h.flags.is_response() && h.flags.opcode() == crate::wire::Opcode::Wack;
        let mut records = [None; 3];
        for (n, (slot, count)) in records
            .iter_mut()
            .zip([h.ancount, h.nscount, h.arcount])
            .enumerate()
        {
            if count == 1 {
                let (rest, (r, ok)) = record(msg, i, qname, wack && n == 0)?;
                i = rest;
                exact &= ok;
                *slot = Some(r);
            }
        }
        let end = offset(msg, i) as u32;
        Ok((
            i,
            PacketAt {
                header: h,
                question,
                records,
                end,
                exact,
            },
        ))
    };
    match run() {
        Ok((_, p)) => Ok(p),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(e),
        // Complete input never asks for more.
        Err(nom::Err::Incomplete(_)) => Err(Error {
            left: 0,
            kind: Kind::Truncated(Field::Header),
        }),
    }
}

/// Reads a name at `start` of `msg`: the name and the offset past it.
#[cfg(test)]
pub(crate) fn parse_name(
    msg: &[u8],
    start: usize,
) -> Result<(crate::wire::Name<'_>, usize), ParseError> {
    let i = tail(msg, start);
    match name(msg, i) {
        Ok((rest, n)) => Ok((n.name.to_name(msg), offset(msg, rest))),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(e.at(msg.len())),
        Err(nom::Err::Incomplete(_)) => Err(ParseError::Truncated {
            offset: msg.len(),
            what: Field::Name,
        }),
    }
}

/// Reads a label sequence at `start` of `msg`: the offset past it.
#[cfg(test)]
pub(crate) fn parse_labels(msg: &[u8], start: usize) -> Result<usize, ParseError> {
    let mut walk = Walk::new(msg);
    match labels(&mut walk, tail(msg, start)) {
        Ok((rest, ())) => Ok(offset(msg, rest)),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(e.at(msg.len())),
        Err(nom::Err::Incomplete(_)) => Err(ParseError::Truncated {
            offset: msg.len(),
            what: Field::Name,
        }),
    }
}

impl NameAt {
    /// The name, its scope borrowed from `msg`.
    #[inline(always)]
    pub(crate) fn to_name(self, msg: &[u8]) -> crate::wire::Name<'_> {
        let scope = match self.scope {
            0 => crate::wire::Labels::EMPTY,
            at => crate::wire::Labels::wire(msg, at as usize),
        };
        crate::wire::Name::new(self.netbios, scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chain of `hops` pointers, each to the one before it, ending at an
    /// unscoped name at 12; the last pointer is the name read.
    fn chain(hops: usize) -> (Vec<u8>, usize) {
        let mut msg = vec![0u8; 12];
        msg.push(32);
        msg.extend_from_slice(&NetbiosName::new("FRED", 0).unwrap().encode());
        msg.push(0);
        let mut prev = 12usize;
        for _ in 0..hops {
            let at = msg.len();
            msg.extend_from_slice(&[0xC0 | (prev >> 8) as u8, prev as u8]);
            prev = at;
        }
        (msg, prev)
    }

    #[test]
    fn pointer_chains_end_at_the_limit() {
        let (msg, at) = chain(MAX_POINTERS);
        let (n, end) = parse_name(&msg, at).unwrap();
        assert_eq!(n.netbios, NetbiosName::new("FRED", 0).unwrap());
        assert_eq!(end, at + 2);
        let (msg, at) = chain(MAX_POINTERS + 1);
        // The walk goes backwards from `at`; the pointer that crosses the
        // limit is the one reached last before the name.
        let over = 12 + 34;
        assert_eq!(
            parse_name(&msg, at),
            Err(ParseError::TooManyPointers { offset: over })
        );
        let (msg, at) = chain(257);
        assert!(matches!(
            parse_name(&msg, at),
            Err(ParseError::TooManyPointers { .. })
        ));
    }

    #[test]
    fn scope_pointer_chains_iterate_as_far_as_they_validate() {
        // "a" at 12, then MAX_POINTERS - 1 pointers back to it, then a name
        // whose scope is a pointer to the last: MAX_POINTERS hops in all.
        let mut msg = vec![0u8; 12];
        msg.extend_from_slice(&[1, b'a', 0]);
        let mut prev = 12usize;
        for _ in 0..MAX_POINTERS - 1 {
            let at = msg.len();
            msg.extend_from_slice(&[0xC0 | (prev >> 8) as u8, prev as u8]);
            prev = at;
        }
        let start = msg.len();
        msg.push(32);
        msg.extend_from_slice(&NetbiosName::new("FRED", 0).unwrap().encode());
        msg.extend_from_slice(&[0xC0 | (prev >> 8) as u8, prev as u8]);
        let (n, _) = parse_name(&msg, start).unwrap();
        assert_eq!(n.scope.iter().collect::<Vec<_>>(), [b"a"]);
        // One hop more is refused by the parser, and the iterator stops
        // there too.
        let mut longer = msg.clone();
        let at = longer.len();
        longer.extend_from_slice(&[0xC0 | (prev >> 8) as u8, prev as u8]);
        let start2 = longer.len();
        longer.push(32);
        longer.extend_from_slice(&NetbiosName::new("FRED", 0).unwrap().encode());
        longer.extend_from_slice(&[0xC0 | (at >> 8) as u8, at as u8]);
        assert!(matches!(
            parse_name(&longer, start2),
            Err(ParseError::TooManyPointers { .. })
        ));
        let over = crate::wire::Labels::wire(&longer, start2 + 33);
        assert_eq!(over.iter().count(), 0);
    }
}
