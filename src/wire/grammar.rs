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
    TooLong,
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
            Kind::TooLong => ParseError::TooLong { offset },
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

/// Runs `p` on `i`; if the datagram ends inside it, that is a truncated
/// `what`.
#[inline(always)]
fn whole<'a, O>(
    what: Field,
    mut p: impl Parser<In<'a>, Output = O, Error = Error>,
    i: In<'a>,
) -> Res<'a, O> {
    p.parse(i).map_err(|_| truncated(what))
}

/// `N` bytes as an array, read by hand in one load: nom's `take` is an
/// out-of-line call here and its `be_u*` readers assemble a number a byte
/// at a time.
#[inline(always)]
fn bytes<const N: usize>(i: In<'_>) -> Res<'_, [u8; N]> {
    match i.split_first_chunk::<N>() {
        Some((b, rest)) => Ok((rest, *b)),
        None => Err(eof(i)),
    }
}

/// The datagram ended at `i` (what nom's complete-input readers report).
#[cold]
fn eof(i: In<'_>) -> nom::Err<Error> {
    nom::Err::Error(<Error as nom::error::ParseError<In<'_>>>::from_error_kind(
        i,
        nom::error::ErrorKind::Eof,
    ))
}

/// The next `n` bytes (nom's `take`, kept inline: a record's RDATA).
#[inline(always)]
fn take_n(n: usize, i: In<'_>) -> Res<'_, In<'_>> {
    match i.split_at_checked(n) {
        Some((taken, rest)) => Ok((rest, taken)),
        None => Err(eof(i)),
    }
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
    let (rest, b) = whole(Field::Header, bytes::<12>, i)?;
    let (words, _) = b.as_chunks::<2>();
    let mut w = [0u16; 6];
    for (dst, src) in w.iter_mut().zip(words) {
        *dst = u16::from_be_bytes(*src);
    }
    let [id, flags, qd, an, ns, ar] = w;
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
    let (rest, [b]) = whole(Field::Name, bytes::<1>, i)?;
    match b >> 6 {
        0b00 if b == 0 => Ok((rest, Head::End)),
        0b00 => Ok((rest, Head::Label(b))),
        0b11 => {
            let (rest, [lo]) = whole(Field::Name, bytes::<1>, rest)?;
            // The 14-bit offset.
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
                let (rest, _) = whole(Field::Name, |i| take_n(usize::from(len), i), rest)?;
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
    pub(crate) scope: u16,
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
    let (rest, encoded) = whole(Field::Name, bytes::<ENCODED_LEN>, chars)?;
    let encoded = &encoded;
    let netbios = NetbiosName::decode(encoded).map_err(|n| {
        let byte = encoded.get(n).copied().unwrap_or(0);
        fail(tail(chars, n), Kind::BadNameEncoding(byte))
    })?;
    let first_hops = walk.hops;
    let (rest, scope) = if rest.first() == Some(&0) {
        (tail(rest, 1), 0)
    } else {
        let at = offset(msg, rest) as u16;
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

/// A question as the view keeps it: the decoded name, and where
/// QUESTION_TYPE and QUESTION_CLASS lie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct QuestionAt {
    pub(crate) name: NameAt,
    /// QUESTION_TYPE, for classification.
    pub(crate) qtype: u16,
    /// Offset of QUESTION_TYPE.
    pub(crate) at: u16,
}

impl QuestionAt {
    const NONE: Self = Self {
        name: NameAt::NONE,
        qtype: 0,
        at: 0,
    };
}

/// `QUESTION` (RFC 1002 §4.2.1.2): QUESTION_NAME, QUESTION_TYPE,
/// QUESTION_CLASS.
#[inline(always)]
fn question<'a>(msg: &'a [u8], i: In<'a>) -> Res<'a, (QuestionAt, bool)> {
    let (rest, n) = name(msg, i)?;
    let at = offset(msg, rest) as u16;
    let (rest, [t0, t1, _, _]) = whole(Field::QuestionTail, bytes::<4>, rest)?;
    let q = QuestionAt {
        name: n.name,
        qtype: u16::from_be_bytes([t0, t1]),
        at,
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

/// A resource record as the view keeps it: the decoded name, where the
/// fixed fields lie (RR_TYPE, RR_CLASS, TTL, RDLENGTH, then RDATA), and what
/// the RDATA rule found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordAt {
    pub(crate) name: NameAt,
    /// RR_TYPE, for classification.
    pub(crate) rr_type: u16,
    /// Offset of RR_TYPE.
    pub(crate) at: u16,
    pub(crate) shape: Shape,
    /// RR_NAME was the `C0 0C` pointer to the question name.
    pub(crate) question_pointer: bool,
}

impl RecordAt {
    const NONE: Self = Self {
        name: NameAt::NONE,
        rr_type: 0,
        at: 0,
        shape: Shape::Null,
        question_pointer: false,
    };
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
    let at = offset(msg, rest);
    let at_rdlength = tail(rest, 8);
    let (rest, [t0, t1, _, _, _, _, _, _, l0, l1]) = whole(what, bytes::<10>, rest)?;
    let len = u16::from_be_bytes([l0, l1]);
    let (rest, data) = whole(Field::Rdata, |i| take_n(usize::from(len), i), rest)?;
    let rr_type = u16::from_be_bytes([t0, t1]);
    let (shape, ns_compressed) = rdata(msg, at + 10, data, rr_type, wack).map_err(|e| {
        e.map_or_else(
            || fail(at_rdlength, Kind::BadRdLength(RrType::from(rr_type), len)),
            nom::Err::Error,
        )
    })?;
    let rec = RecordAt {
        name,
        rr_type,
        at: at as u16,
        shape,
        question_pointer,
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
    let shape = match rr_type {
        // §4.2.13: NB_FLAGS and NB_ADDRESS, 6 bytes per entry.
        0x0020 if data.len().is_multiple_of(6) => Shape::Nb,
        // §4.2.18: NUM_NAMES, 18 bytes per name, then statistics.
        0x0021 => {
            let (&n, names) = data.split_first().ok_or(None)?;
            if names.len() < usize::from(n) * 18 {
                return Err(None);
            }
            Shape::NodeStatus
        }
        // NULL: anything (nmbd's WACK, negative query responses).
        0x000A => Shape::Null,
        // §4.2.15: NSD_IP_ADDR.
        0x0001 if data.len() == 4 => Shape::A,
        // §4.2.15: NSD_NAME, which must fill RDATA exactly.
        0x0002 => {
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
        // NB and A of the wrong length.
        0x0020 | 0x0001 => return Err(None),
        _ => Shape::Other,
    };
    Ok((shape, false))
}

// ---------------------------------------------------------------------------
// RFC 1002 §4.2.1: the whole packet.

/// Longest datagram the view reads: its offsets are 16-bit. A UDP
/// payload is at most 65,507 bytes, and NBNS over TCP frames a message with
/// a 16-bit length.
pub(crate) const MAX_LEN: usize = u16::MAX as usize;

/// A datagram's sections as the view keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PacketAt {
    /// Which sections are present: bit 0 the question, bits 1–3 the answer,
    /// authority and additional records.
    pub(crate) present: u8,
    /// Whether every name is written in full or as `C0 0C`, so that the
    /// datagram is what emission would write.
    pub(crate) exact: bool,
    /// Offset of the bytes after the last section.
    pub(crate) end: u16,
    /// The question, if bit 0 of `present` is set.
    pub(crate) question: QuestionAt,
    /// Answer, authority and additional records, each if its bit is set.
    pub(crate) records: [RecordAt; 3],
}

impl PacketAt {
    /// No sections.
    pub(crate) const NONE: Self = Self {
        present: 0,
        exact: true,
        end: 0,
        question: QuestionAt::NONE,
        records: [RecordAt::NONE; 3],
    };
}

/// `PACKET` (RFC 1002 §4.2.1): the header, then as many questions,
/// answers, authority and additional records as its counts say (each 0 or
/// 1), then any trailing bytes. Returns the header and fills in `p` (in
/// place: the view is written once).
#[inline(never)]
pub(crate) fn packet(msg: &[u8], p: &mut PacketAt) -> Result<Header, Error> {
    if msg.len() > MAX_LEN {
        return Err(Error {
            left: msg.len() - MAX_LEN,
            kind: Kind::TooLong,
        });
    }
    sections(msg, p).map_err(|e| match e {
        nom::Err::Error(e) | nom::Err::Failure(e) => e,
        // Complete input never asks for more.
        nom::Err::Incomplete(_) => Error {
            left: 0,
            kind: Kind::Truncated(Field::Header),
        },
    })
}

/// [`packet`] as nom rules.
#[inline(always)]
fn sections(msg: &[u8], p: &mut PacketAt) -> Result<Header, nom::Err<Error>> {
    let (mut i, h) = header(msg)?;
    let qname = if h.qdcount == 1 {
        let (rest, (q, compressed)) = question(msg, i)?;
        i = rest;
        p.exact &= !compressed;
        p.present = 1;
        p.question = q;
        Some(q.name)
    } else {
        None
    };
    let qname = qname.as_ref();
    // §4.2.16: the answer of a WACK carries a 2-byte payload.
    let wack = h.flags.0 & 0xF800 == 0xB800;
    if h.ancount == 1 {
        let (rest, (r, ok)) = record(msg, i, qname, wack)?;
        i = rest;
        p.exact &= ok;
        p.present |= 2;
        p.records[0] = r;
    }
    if h.nscount == 1 {
        let (rest, (r, ok)) = record(msg, i, qname, false)?;
        i = rest;
        p.exact &= ok;
        p.present |= 4;
        p.records[1] = r;
    }
    if h.arcount == 1 {
        let (rest, (r, ok)) = record(msg, i, qname, false)?;
        i = rest;
        p.exact &= ok;
        p.present |= 8;
        p.records[2] = r;
    }
    p.end = offset(msg, i) as u16;
    Ok(h)
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
    const NONE: Self = Self {
        netbios: NetbiosName::from_raw([0; 16]),
        scope: 0,
    };

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
