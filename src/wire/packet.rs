//! Whole NBNS packets (RFC 1002 §4.2): parse, emit, classify, and build
//! every packet kind.

use core::net::Ipv4Addr;

mod fast;

use crate::wire::error::Section;
use crate::wire::nb::AddrRepr;
use crate::wire::node_status::NamesRepr;
use crate::wire::record::{parse_question, parse_record};
use crate::wire::{
    Class, EmitError, Flags, Header, Labels, Name, NameForm, NbAddrEntry, NbAddrs, NbFlags,
    NodeName, NodeStatus, NodeType, Opcode, ParseError, Question, RData, Rcode, ResourceRecord,
    RrType, Wack,
};

/// An NBNS packet: header, at most one entry per section, and any bytes after
/// the last section (RFC 1002 §4.2.1).
///
/// The transaction ID and flags are plain fields. The sections are read
/// through [`Packet::question`], [`Packet::answer`], [`Packet::authority`],
/// [`Packet::additional`] and [`Packet::trailing`], or all at once with
/// [`Packet::sections`]; they are replaced with [`Packet::set_sections`].
/// The section counts of the header are derived from which sections are
/// present.
///
/// A parsed packet is a validated view of its datagram: [`Packet::parse`]
/// checks every byte and records where each section starts, and the
/// accessors decode a section when asked (decoding a validated section
/// cannot fail). A built packet holds its [`Sections`]. Either way the packet
/// borrows from the datagram or from the values it was built with, equality
/// compares decoded contents, and parsing allocates nothing.
///
/// Trailing bytes: a datagram may carry bytes after its last section (Samba
/// keeps such bytes as padding). [`Packet::parse`] accepts them and keeps
/// them in [`Packet::trailing`], and [`Packet::emit`] writes them back, so a
/// packet re-emits byte for byte. [`Packet::parse_exact`] rejects them.
///
/// ```
/// use nbns::wire::{Name, NetbiosName, Packet, PacketKind};
/// let name = Name::unscoped(NetbiosName::new("FRED", 0x20).unwrap());
/// let query = Packet::name_query_request(0x1234, name, false);
/// let mut buf = [0u8; 64];
/// let n = query.emit(&mut buf).unwrap();
/// assert_eq!(n, query.buffer_len());
/// let back = Packet::parse(&buf[..n]).unwrap();
/// assert_eq!(back, query);
/// assert_eq!(back.kind(), PacketKind::NameQueryRequest);
/// assert_eq!(back.question().unwrap().name, name);
/// ```
#[derive(Clone, Copy)]
pub struct Packet<'a> {
    /// NAME_TRN_ID.
    pub id: u16,
    /// The flags word: R, opcode, NM_FLAGS, rcode.
    pub flags: Flags,
    body: Body<'a>,
}

// The variants differ in size on purpose: parsing writes only the small
// one, and boxing the large one would allocate.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy)]
enum Body<'a> {
    /// A validated datagram and where its sections start.
    Wire(WireBody<'a>),
    /// Sections given by the caller.
    Parts(Sections<'a>),
}

/// The sections of a packet, decoded: what [`Packet::sections`] returns and
/// [`Packet::from_sections`] takes (RFC 1002 §4.2.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Sections<'a> {
    /// The question (QDCOUNT 0 or 1).
    pub question: Option<Question<'a>>,
    /// The answer record (ANCOUNT 0 or 1).
    pub answer: Option<ResourceRecord<'a>>,
    /// The authority record (NSCOUNT 0 or 1).
    pub authority: Option<ResourceRecord<'a>>,
    /// The additional record (ARCOUNT 0 or 1).
    pub additional: Option<ResourceRecord<'a>>,
    /// Bytes after the last section.
    pub trailing: &'a [u8],
}

impl Sections<'_> {
    /// No sections and no trailing bytes.
    pub const EMPTY: Self = Self {
        question: None,
        answer: None,
        authority: None,
        additional: None,
        trailing: &[],
    };
}

/// A datagram that [`Packet::parse`] validated.
#[derive(Clone, Copy)]
struct WireBody<'a> {
    data: &'a [u8],
    /// Offsets of the question, answer, authority and additional sections;
    /// 0 for an absent one (no section starts inside the header).
    at: [u32; 4],
    /// Offset of the trailing bytes.
    end: u32,
}

impl<'a> WireBody<'a> {
    #[inline]
    fn question(&self) -> Option<Question<'a>> {
        match self.at[0] {
            0 => None,
            at => parse_question(self.data, at as usize).ok().map(|(q, _)| q),
        }
    }

    #[inline]
    fn record(&self, i: usize, qname: Option<&Name<'a>>, wack: bool) -> Option<ResourceRecord<'a>> {
        match self.at.get(i).copied().unwrap_or(0) {
            0 => None,
            at => parse_record(self.data, at as usize, qname, wack && i == 1)
                .ok()
                .map(|(r, _)| r),
        }
    }

    fn trailing(&self) -> &'a [u8] {
        self.data.get(self.end as usize..).unwrap_or_default()
    }
}

impl PartialEq for Packet<'_> {
    fn eq(&self, other: &Self) -> bool {
        let (mut a, mut b) = (None, None);
        self.id == other.id
            && self.flags == other.flags
            && self.sections_ref(&mut a) == other.sections_ref(&mut b)
    }
}

impl Eq for Packet<'_> {}

impl core::fmt::Debug for Packet<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut slot = None;
        let s = self.sections_ref(&mut slot);
        f.debug_struct("Packet")
            .field("id", &self.id)
            .field("flags", &self.flags)
            .field("question", &s.question)
            .field("answer", &s.answer)
            .field("authority", &s.authority)
            .field("additional", &s.additional)
            .field("trailing", &s.trailing)
            .finish()
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for Packet<'a> {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Self::from_sections(
            u.arbitrary()?,
            u.arbitrary()?,
            u.arbitrary()?,
        ))
    }
}

/// What a packet is, in the words of RFC 1002 §4.2 and MS-NBTE §2.2.2.
///
/// [`Packet::kind`] classifies leniently, as real servers require: a WACK is
/// any opcode-7 response, whatever its record type; responses to refresh and
/// multi-homed requests carry opcode 5 and classify as registration
/// responses; a negative query response may use NULL or an empty NB record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PacketKind {
    /// NAME QUERY REQUEST (§4.2.12).
    NameQueryRequest,
    /// NODE STATUS REQUEST (§4.2.17).
    NodeStatusRequest,
    /// NAME REGISTRATION REQUEST (§4.2.2): opcode 5 with RD.
    NameRegistrationRequest,
    /// NAME OVERWRITE REQUEST & DEMAND (§4.2.3): opcode 5 without RD.
    NameOverwriteRequest,
    /// NAME REFRESH REQUEST (§4.2.4): opcode 8 or 9.
    NameRefreshRequest,
    /// NAME RELEASE REQUEST & DEMAND (§4.2.9).
    NameReleaseRequest,
    /// MULTIHOMED NAME REGISTRATION REQUEST (MS-NBTE §2.2.2): opcode 0xF.
    MultihomedRegistrationRequest,
    /// POSITIVE NAME QUERY RESPONSE (§4.2.13).
    PositiveNameQueryResponse,
    /// NEGATIVE NAME QUERY RESPONSE (§4.2.14).
    NegativeNameQueryResponse,
    /// REDIRECT NAME QUERY RESPONSE (§4.2.15).
    RedirectNameQueryResponse,
    /// POSITIVE NAME REGISTRATION RESPONSE (§4.2.5).
    PositiveRegistrationResponse,
    /// NEGATIVE NAME REGISTRATION RESPONSE (§4.2.6).
    NegativeRegistrationResponse,
    /// END-NODE CHALLENGE REGISTRATION RESPONSE (§4.2.7): rcode 0, RA clear.
    EndNodeChallengeResponse,
    /// NAME CONFLICT DEMAND (§4.2.8): a registration response with CFT_ERR.
    NameConflictDemand,
    /// POSITIVE NAME RELEASE RESPONSE (§4.2.10).
    PositiveReleaseResponse,
    /// NEGATIVE NAME RELEASE RESPONSE (§4.2.11).
    NegativeReleaseResponse,
    /// WAIT FOR ACKNOWLEDGEMENT RESPONSE (§4.2.16).
    Wack,
    /// NODE STATUS RESPONSE (§4.2.18).
    NodeStatusResponse,
    /// Anything else: an unassigned opcode, or sections that fit no kind.
    Unknown,
}

impl PacketKind {
    /// The kind in words, as the RFC names it.
    #[must_use]
    pub const fn description(self) -> &'static str {
        match self {
            Self::NameQueryRequest => "Name query request",
            Self::NodeStatusRequest => "Node status request",
            Self::NameRegistrationRequest => "Name registration request",
            Self::NameOverwriteRequest => "Name overwrite request",
            Self::NameRefreshRequest => "Name refresh request",
            Self::NameReleaseRequest => "Name release request",
            Self::MultihomedRegistrationRequest => "Multi-homed name registration request",
            Self::PositiveNameQueryResponse => "Positive name query response",
            Self::NegativeNameQueryResponse => "Negative name query response",
            Self::RedirectNameQueryResponse => "Redirect name query response",
            Self::PositiveRegistrationResponse => "Positive name registration response",
            Self::NegativeRegistrationResponse => "Negative name registration response",
            Self::EndNodeChallengeResponse => "End-node challenge registration response",
            Self::NameConflictDemand => "Name conflict demand",
            Self::PositiveReleaseResponse => "Positive name release response",
            Self::NegativeReleaseResponse => "Negative name release response",
            Self::Wack => "WACK",
            Self::NodeStatusResponse => "Node status response",
            Self::Unknown => "Unknown packet",
        }
    }

    /// Whether this kind is a request (R clear).
    #[must_use]
    pub const fn is_request(self) -> bool {
        matches!(
            self,
            Self::NameQueryRequest
                | Self::NodeStatusRequest
                | Self::NameRegistrationRequest
                | Self::NameOverwriteRequest
                | Self::NameRefreshRequest
                | Self::NameReleaseRequest
                | Self::MultihomedRegistrationRequest
        )
    }
}

impl core::fmt::Display for PacketKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.description())
    }
}

/// Where emitted bytes go: a slice cursor or a [`bytes::BufMut`].
trait Sink {
    fn put(&mut self, bytes: &[u8]);

    /// Lets `fill` write the next `N` bytes in place. Fixed-size pieces are
    /// filled at constant offsets, so their bounds are checked once per
    /// piece, not once per field.
    #[inline(always)]
    fn chunk<const N: usize>(&mut self, fill: impl FnOnce(&mut [u8; N])) {
        let mut piece = [0u8; N];
        fill(&mut piece);
        self.put(&piece);
    }

    /// One `N`-byte piece per item, filled by `fill`.
    #[inline(always)]
    fn chunk_each<T, const N: usize>(&mut self, items: &[T], fill: impl Fn(&T, &mut [u8; N])) {
        for item in items {
            self.chunk::<N>(|d| fill(item, d));
        }
    }
}

/// The cursor over a caller's buffer. A piece that would run past the end
/// is skipped and still counted, so that `pos` ends at the packet's length
/// and [`Packet::emit`] can report how much was needed.
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

    #[inline(always)]
    fn chunk<const N: usize>(&mut self, fill: impl FnOnce(&mut [u8; N])) {
        if let Some(dst) = self
            .buf
            .get_mut(self.pos..)
            .and_then(<[u8]>::first_chunk_mut::<N>)
        {
            fill(dst);
        }
        self.pos += N;
    }

    #[inline(always)]
    fn chunk_each<T, const N: usize>(&mut self, items: &[T], fill: impl Fn(&T, &mut [u8; N])) {
        // One range check for all the pieces.
        let len = items.len() * N;
        if let Some(region) = self.buf.get_mut(self.pos..self.pos + len) {
            let (pieces, _) = region.as_chunks_mut::<N>();
            for (d, item) in pieces.iter_mut().zip(items) {
                fill(item, d);
            }
        }
        self.pos += len;
    }
}

struct BufSink<'b, B: bytes::BufMut>(&'b mut B);

/// A sink that only counts.
struct Measure(usize);

impl Sink for Measure {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.0 += bytes.len();
    }

    #[inline(always)]
    fn chunk<const N: usize>(&mut self, _fill: impl FnOnce(&mut [u8; N])) {
        self.0 += N;
    }

    #[inline(always)]
    fn chunk_each<T, const N: usize>(&mut self, items: &[T], _fill: impl Fn(&T, &mut [u8; N])) {
        self.0 += items.len() * N;
    }
}

impl<B: bytes::BufMut> Sink for BufSink<'_, B> {
    fn put(&mut self, bytes: &[u8]) {
        self.0.put_slice(bytes);
    }
}

/// Writes `src` into `dst` at `at`. Callers pass constant offsets, so the
/// range check folds away.
#[inline(always)]
fn put_at<const N: usize, const M: usize>(dst: &mut [u8; N], at: usize, src: [u8; M]) {
    if let Some(d) = dst.get_mut(at..at + M) {
        d.copy_from_slice(&src);
    }
}

#[inline]
fn emit_labels(labels: &Labels<'_>, out: &mut impl Sink) {
    for label in labels.iter() {
        out.put(&[label.len() as u8]);
        out.put(label);
    }
    out.put(&[0]);
}

/// Writes the 32-byte first label (length byte and encoded characters) at
/// the start of `dst`, each 8 characters made in a register.
#[inline(always)]
fn put_first_label<const N: usize>(dst: &mut [u8; N], name: &Name<'_>) {
    put_at(dst, 0, [32]);
    let [p0, p1, p2, p3] = crate::wire::name::encode_pieces(&name.netbios);
    put_at(dst, 1, p0);
    put_at(dst, 9, p1);
    put_at(dst, 17, p2);
    put_at(dst, 25, p3);
}

/// A name followed by fixed fields (a question's type and class, or a
/// record's type, class, TTL and RDLENGTH). An unscoped name and its fields
/// are one fixed-size piece.
#[inline(always)]
fn emit_name_then<const F: usize, const TOTAL: usize>(
    name: &Name<'_>,
    fields: [u8; F],
    out: &mut impl Sink,
) {
    if name.scope.is_empty() {
        out.chunk::<TOTAL>(|d| {
            put_first_label(d, name);
            put_at(d, 33, [0]);
            put_at(d, 34, fields);
        });
    } else {
        out.chunk::<33>(|d| put_first_label(d, name));
        emit_labels(&name.scope, out);
        out.chunk::<F>(|d| *d = fields);
    }
}

#[inline(always)]
fn emit_record(rr: &ResourceRecord<'_>, rdlength: usize, out: &mut impl Sink) {
    let type_class = u32::from(rr.rdata.type_code()) << 16 | u32::from(u16::from(rr.class));
    let fixed = (u64::from(type_class) << 32 | u64::from(rr.ttl)).to_be_bytes();
    let len = (rdlength as u16).to_be_bytes();
    match rr.name_form {
        NameForm::Full => {
            let mut fields = [0u8; 10];
            put_at(&mut fields, 0, fixed);
            put_at(&mut fields, 8, len);
            emit_name_then::<10, 44>(&rr.name, fields, out);
        }
        NameForm::QuestionPointer => out.chunk::<12>(|d| {
            put_at(d, 0, [0xC0, 0x0C]);
            put_at(d, 2, fixed);
            put_at(d, 10, len);
        }),
    }
    match &rr.rdata {
        RData::Nb(addrs) => match addrs.repr() {
            // Parsed entries are re-emitted as the bytes they came from
            // (whole entries only, as `len` counts them).
            AddrRepr::Wire(b) => out.put(b.get(..addrs.buffer_len()).unwrap_or_default()),
            AddrRepr::One(e) => emit_entry(&e, out),
            AddrRepr::Slice(entries) => out.chunk_each::<_, 6>(entries, fill_entry),
        },
        RData::NodeStatus(s) => {
            out.chunk::<1>(|d| *d = [s.names.len() as u8]);
            match s.names.repr() {
                NamesRepr::Wire(b) => {
                    out.put(b.get(..s.names.len() * NodeName::LEN).unwrap_or_default());
                }
                NamesRepr::Slice(names) => out.chunk_each::<_, 18>(names, fill_node_name),
            }
            put_statistics(s.statistics.0, out);
        }
        RData::Null(d) | RData::Unknown { data: d, .. } => out.put(d),
        RData::A(a) => out.chunk::<4>(|d| *d = a.octets()),
        RData::Ns(labels) => emit_labels(labels, out),
        RData::Wack(w) => out.chunk::<2>(|d| *d = w.request_flags.0.to_be_bytes()),
    }
}

#[inline(always)]
fn emit_entry(e: &NbAddrEntry, out: &mut impl Sink) {
    out.chunk::<6>(|d| fill_entry(e, d));
}

#[inline(always)]
fn fill_node_name(n: &NodeName, d: &mut [u8; 18]) {
    put_at(d, 0, *n.name.as_bytes());
    put_at(d, 16, n.flags.0.to_be_bytes());
}

/// The statistics block: the full 46 bytes as one fixed piece, a short one
/// as it is.
#[inline(always)]
fn put_statistics(block: &[u8], out: &mut impl Sink) {
    match block.first_chunk::<46>() {
        Some(full) if block.len() == 46 => out.chunk::<46>(|d| *d = *full),
        _ => out.put(block),
    }
}

#[inline(always)]
fn fill_entry(e: &NbAddrEntry, d: &mut [u8; 6]) {
    put_at(d, 0, e.flags.0.to_be_bytes());
    put_at(d, 2, e.address.octets());
}

/// Checks what emission cannot express in a record, so that whatever is
/// emitted parses back to the same packet, and returns its RDLENGTH.
/// `wack_slot` says whether this is the answer of an opcode-7 response, the
/// one place a [`Wack`] payload may stand.
#[inline(always)]
fn check_record(
    s: &Sections<'_>,
    rr: &ResourceRecord<'_>,
    section: Section,
    wack_slot: bool,
) -> Result<usize, EmitError> {
    if rr.name_form == NameForm::QuestionPointer {
        match &s.question {
            Some(q) if q.name == rr.name => {}
            _ => return Err(EmitError::PointerMismatch { section }),
        }
    }
    let len = rr.rdata.buffer_len();
    let fits = match &rr.rdata {
        RData::Nb(_) | RData::A(_) | RData::Ns(_) | RData::Null(_) => {
            len <= usize::from(u16::MAX) && !(wack_slot && len == 2)
        }
        RData::Wack(_) => wack_slot,
        RData::NodeStatus(st) => {
            if len > usize::from(u16::MAX) || st.names.len() > 255 {
                return Err(EmitError::RdataTooLong { section });
            }
            !(wack_slot && len == 2)
        }
        RData::Unknown { rr_type, .. } => {
            matches!(RrType::from(u16::from(*rr_type)), RrType::Unknown(_))
                && len <= usize::from(u16::MAX)
                && !(wack_slot && len == 2)
        }
    };
    if !fits {
        return Err(if len > usize::from(u16::MAX) {
            EmitError::RdataTooLong { section }
        } else {
            EmitError::RdataMismatch { section }
        });
    }
    Ok(len)
}

/// Writes the packet, checking each record on the way ([`check_record`]):
/// one pass, so that emission into a slice needs no separate measuring.
#[inline(always)]
fn emit_to(
    id: u16,
    flags: Flags,
    s: &Sections<'_>,
    wack_packet: bool,
    out: &mut impl Sink,
) -> Result<(), EmitError> {
    let count = |present: bool| u64::from(present);
    let head = u64::from(id) << 48
        | u64::from(flags.0) << 32
        | count(s.question.is_some()) << 16
        | count(s.answer.is_some());
    let tail = (count(s.authority.is_some()) << 16 | count(s.additional.is_some())) as u32;
    out.chunk::<12>(|d| {
        put_at(d, 0, head.to_be_bytes());
        put_at(d, 8, tail.to_be_bytes());
    });
    if let Some(q) = &s.question {
        let type_class = u32::from(u16::from(q.qtype)) << 16 | u32::from(u16::from(q.qclass));
        emit_name_then::<4, 38>(&q.name, type_class.to_be_bytes(), out);
    }
    if let Some(rr) = &s.answer {
        let len = check_record(s, rr, Section::Answer, wack_packet)?;
        emit_record(rr, len, out);
    }
    if let Some(rr) = &s.authority {
        let len = check_record(s, rr, Section::Authority, false)?;
        emit_record(rr, len, out);
    }
    if let Some(rr) = &s.additional {
        let len = check_record(s, rr, Section::Additional, false)?;
        emit_record(rr, len, out);
    }
    if !s.trailing.is_empty() {
        out.put(s.trailing);
    }
    Ok(())
}

/// The error for the first header count above one.
#[cold]
fn unsupported_count(counts: [u16; 4]) -> ParseError {
    let sections = [
        Section::Question,
        Section::Answer,
        Section::Authority,
        Section::Additional,
    ];
    let (i, (&count, &section)) = counts
        .iter()
        .zip(&sections)
        .enumerate()
        .find(|(_, (c, _))| **c > 1)
        .unwrap_or((0, (&0, &Section::Question)));
    ParseError::UnsupportedCount {
        offset: 4 + 2 * i,
        section,
        count,
    }
}

/// A name that stands in for the question's while a datagram is validated:
/// only whether a question exists matters then, not its value.
const PLACEHOLDER: Name<'static> = Name::unscoped(crate::wire::NetbiosName::wildcard());

impl<'a> Packet<'a> {
    /// Parses a whole datagram. Bytes after the last section are kept in
    /// [`Packet::trailing`].
    ///
    /// Allocation-free and total: any input gives either a packet or a
    /// [`ParseError`] with the offset of the problem. Header counts above one
    /// are refused before anything else is read. Every byte is checked here;
    /// the section accessors then decode without failing. Datagrams of the
    /// common shapes (a question with an optional `C0 0C` record, or one
    /// answer; unscoped names; NB, NBSTAT, NULL or WACK data) are checked by
    /// straight-line code, and the general parser takes everything else and
    /// reports every error.
    ///
    /// # Errors
    /// A [`ParseError`] saying what is malformed and where.
    pub fn parse(data: &'a [u8]) -> Result<Self, ParseError> {
        if let Some((id, flags, at, end)) = fast::parse(data) {
            return Ok(Self {
                id,
                flags,
                body: Body::Wire(WireBody { data, at, end }),
            });
        }
        Self::parse_general(data)
    }

    /// [`Packet::parse`] without the straight-line paths of the common
    /// shapes; out of line, so that those paths stay short.
    #[inline(never)]
    fn parse_general(data: &'a [u8]) -> Result<Self, ParseError> {
        let h = Header::parse(data)?;
        let counts = [h.qdcount, h.ancount, h.nscount, h.arcount];
        if (h.qdcount | h.ancount | h.nscount | h.arcount) > 1 {
            return Err(unsupported_count(counts));
        }
        let mut at = [0u32; 4];
        let mut pos = Header::LEN;
        let qname = if h.qdcount == 1 {
            at[0] = pos as u32;
            pos = parse_question(data, pos)?.1;
            Some(&PLACEHOLDER)
        } else {
            None
        };
        if h.ancount == 1 {
            at[1] = pos as u32;
            let wack = h.flags.is_response() && h.flags.opcode() == Opcode::Wack;
            pos = parse_record(data, pos, qname, wack)?.1;
        }
        if h.nscount == 1 {
            at[2] = pos as u32;
            pos = parse_record(data, pos, qname, false)?.1;
        }
        if h.arcount == 1 {
            at[3] = pos as u32;
            pos = parse_record(data, pos, qname, false)?.1;
        }
        Ok(Self {
            id: h.id,
            flags: h.flags,
            body: Body::Wire(WireBody {
                data,
                at,
                end: pos as u32,
            }),
        })
    }

    /// Like [`Packet::parse`], but bytes after the last section are an error.
    ///
    /// # Errors
    /// As [`Packet::parse`], and [`ParseError::TrailingBytes`].
    pub fn parse_exact(data: &'a [u8]) -> Result<Self, ParseError> {
        let p = Self::parse(data)?;
        let trailing = p.trailing();
        if trailing.is_empty() {
            Ok(p)
        } else {
            let len = trailing.len();
            Err(ParseError::TrailingBytes {
                offset: data.len() - len,
                len,
            })
        }
    }

    /// A packet from its parts.
    ///
    /// ```
    /// use nbns::wire::{Flags, Name, NetbiosName, Opcode, Packet, Question, Sections};
    /// let q = Question::nb(Name::unscoped(NetbiosName::new("FRED", 0).unwrap()));
    /// let sections = Sections { question: Some(q), ..Sections::default() };
    /// let p = Packet::from_sections(7, Flags::request(Opcode::Query), sections);
    /// assert_eq!(p.question(), Some(q));
    /// assert_eq!(p.buffer_len(), 12 + 34 + 4);
    /// ```
    #[must_use]
    pub const fn from_sections(id: u16, flags: Flags, sections: Sections<'a>) -> Self {
        Self {
            id,
            flags,
            body: Body::Parts(sections),
        }
    }

    #[inline]
    fn wack_packet(&self) -> bool {
        self.flags.is_response() && self.flags.opcode() == Opcode::Wack
    }

    /// The sections: borrowed from a built packet, or decoded from a parsed
    /// one into `slot`.
    #[inline(always)]
    fn sections_ref<'s>(&'s self, slot: &'s mut Option<Sections<'a>>) -> &'s Sections<'a> {
        match &self.body {
            Body::Parts(s) => s,
            Body::Wire(w) => slot.insert(self.decode(w)),
        }
    }

    fn decode(&self, w: &WireBody<'a>) -> Sections<'a> {
        let question = w.question();
        let qname = question.as_ref().map(|q| &q.name);
        let wack = self.wack_packet();
        Sections {
            question,
            answer: w.record(1, qname, wack),
            authority: w.record(2, qname, wack),
            additional: w.record(3, qname, wack),
            trailing: w.trailing(),
        }
    }

    /// All sections, decoded.
    #[must_use]
    pub fn sections(&self) -> Sections<'a> {
        let mut slot = None;
        *self.sections_ref(&mut slot)
    }

    /// Replaces the sections; the header counts follow.
    ///
    /// ```
    /// use nbns::wire::{Name, NetbiosName, Packet};
    /// let name = Name::unscoped(NetbiosName::new("FRED", 0x20).unwrap());
    /// let mut p = Packet::name_query_request(1, name, false);
    /// let mut s = p.sections();
    /// s.trailing = b"pad";
    /// p.set_sections(s);
    /// assert_eq!(p.trailing(), b"pad");
    /// assert_eq!(p.buffer_len(), 12 + 34 + 4 + 3);
    /// ```
    pub fn set_sections(&mut self, sections: Sections<'a>) {
        self.body = Body::Parts(sections);
    }

    /// Changes the sections in place through `f`; a parsed packet is decoded
    /// into a built one first.
    ///
    /// ```
    /// use nbns::wire::{Name, NetbiosName, Packet};
    /// let name = Name::unscoped(NetbiosName::new("FRED", 0x20).unwrap());
    /// let mut p = Packet::name_query_request(1, name, false);
    /// p.update_sections(|s| s.trailing = b"pad");
    /// assert_eq!(p.trailing(), b"pad");
    /// ```
    pub fn update_sections(&mut self, f: impl FnOnce(&mut Sections<'a>)) {
        let mut sections = self.sections();
        f(&mut sections);
        self.body = Body::Parts(sections);
    }

    /// The question (QDCOUNT 0 or 1).
    #[must_use]
    pub fn question(&self) -> Option<Question<'a>> {
        match &self.body {
            Body::Parts(s) => s.question,
            Body::Wire(w) => w.question(),
        }
    }

    fn record(&self, i: usize) -> Option<ResourceRecord<'a>> {
        match &self.body {
            Body::Parts(s) => match i {
                1 => s.answer,
                2 => s.authority,
                _ => s.additional,
            },
            Body::Wire(w) => {
                let at = w.at.get(i).copied().unwrap_or(0);
                if at == 0 {
                    return None;
                }
                // Only a `C0 0C` name needs the question's.
                let pointer = w.data.get(at as usize..at as usize + 2) == Some(&[0xC0, 0x0C]);
                let question = if pointer { w.question() } else { None };
                w.record(i, question.as_ref().map(|q| &q.name), self.wack_packet())
            }
        }
    }

    /// The answer record (ANCOUNT 0 or 1).
    #[must_use]
    pub fn answer(&self) -> Option<ResourceRecord<'a>> {
        self.record(1)
    }

    /// The authority record (NSCOUNT 0 or 1).
    #[must_use]
    pub fn authority(&self) -> Option<ResourceRecord<'a>> {
        self.record(2)
    }

    /// The additional record (ARCOUNT 0 or 1).
    #[must_use]
    pub fn additional(&self) -> Option<ResourceRecord<'a>> {
        self.record(3)
    }

    /// Bytes after the last section.
    #[must_use]
    pub fn trailing(&self) -> &'a [u8] {
        match &self.body {
            Body::Parts(s) => s.trailing,
            Body::Wire(w) => w.trailing(),
        }
    }

    /// Whether `section` is present; decodes nothing.
    ///
    /// ```
    /// use nbns::wire::{Name, NetbiosName, Packet, Section};
    /// let name = Name::unscoped(NetbiosName::new("FRED", 0x20).unwrap());
    /// let query = Packet::name_query_request(1, name, false);
    /// assert!(query.has(Section::Question));
    /// assert!(!query.has(Section::Additional));
    /// ```
    #[must_use]
    pub fn has(&self, section: Section) -> bool {
        let [q, an, ns, ar] = self.present();
        match section {
            Section::Question => q,
            Section::Answer => an,
            Section::Authority => ns,
            Section::Additional => ar,
        }
    }

    /// Whether each section is present: question, answer, authority,
    /// additional.
    fn present(&self) -> [bool; 4] {
        match &self.body {
            Body::Parts(s) => [
                s.question.is_some(),
                s.answer.is_some(),
                s.authority.is_some(),
                s.additional.is_some(),
            ],
            Body::Wire(w) => w.at.map(|a| a != 0),
        }
    }

    /// The header, counts derived from the sections present.
    #[must_use]
    pub fn header(&self) -> Header {
        let [q, an, ns, ar] = self.present().map(u16::from);
        Header {
            id: self.id,
            flags: self.flags,
            qdcount: q,
            ancount: an,
            nscount: ns,
            arcount: ar,
        }
    }

    /// The opcode.
    #[must_use]
    pub fn opcode(&self) -> Opcode {
        self.flags.opcode()
    }

    /// The result code.
    #[must_use]
    pub fn rcode(&self) -> Rcode {
        self.flags.rcode()
    }

    /// Whether R is set.
    #[must_use]
    pub fn is_response(&self) -> bool {
        self.flags.is_response()
    }

    /// The records present, in order, with their sections.
    pub fn records(&self) -> impl Iterator<Item = (Section, ResourceRecord<'a>)> {
        let s = self.sections();
        [
            (Section::Answer, s.answer),
            (Section::Authority, s.authority),
            (Section::Additional, s.additional),
        ]
        .into_iter()
        .filter_map(|(s, r)| r.map(|r| (s, r)))
    }

    /// The name the packet is about: the question's, else the first record's.
    #[must_use]
    pub fn name(&self) -> Option<Name<'a>> {
        self.question()
            .map(|q| q.name)
            .or_else(|| self.records().next().map(|(_, r)| r.name))
    }

    /// The record that carries a request's or response's data: the additional
    /// record of a request, the answer of a response.
    #[must_use]
    pub fn data_record(&self) -> Option<ResourceRecord<'a>> {
        if self.is_response() {
            self.answer()
        } else {
            self.additional()
        }
    }

    /// Bytes needed by [`Packet::emit`].
    #[must_use]
    pub fn buffer_len(&self) -> usize {
        let mut slot = None;
        let s = self.sections_ref(&mut slot);
        Header::LEN
            + s.question.as_ref().map_or(0, Question::buffer_len)
            + [&s.answer, &s.authority, &s.additional]
                .into_iter()
                .flatten()
                .map(ResourceRecord::buffer_len)
                .sum::<usize>()
            + s.trailing.len()
    }

    /// Writes the packet at the start of `buf` and returns its length
    /// ([`Packet::buffer_len`]). Never panics; bytes of `buf` past the packet
    /// are left as they were. Packet and buffer are checked as the bytes are
    /// written, in one pass: on an error, `buf` may hold part of the packet.
    /// The shapes nearly every datagram has (a question with an optional
    /// `C0 0C` NB record, or one answer with NB entries or a node status
    /// table, unscoped) are written by straight-line code; the bytes are the
    /// same as the general writer's.
    ///
    /// # Errors
    /// [`EmitError::BufferTooSmall`], or an [`EmitError`] for a packet whose
    /// parts do not fit together (see [`EmitError`]).
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        if let Body::Parts(s) = &self.body
            && let Some(done) = fast::emit(self.id, self.flags, s, self.wack_packet(), buf)
        {
            return done;
        }
        self.emit_general(buf)
    }

    /// [`Packet::emit`] without the straight-line paths of the common shapes;
    /// out of line, so that those paths stay short.
    #[inline(never)]
    fn emit_general(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        let mut slot = None;
        let s = self.sections_ref(&mut slot);
        let have = buf.len();
        // Pieces that would run past the end are skipped, and the cursor
        // still counts them, so it ends at the packet's length.
        let mut sink = SliceSink { buf, pos: 0 };
        emit_to(self.id, self.flags, s, self.wack_packet(), &mut sink)?;
        let need = sink.pos;
        if need > have {
            return Err(EmitError::BufferTooSmall { need, have });
        }
        Ok(need)
    }

    /// Appends the packet to any [`bytes::BufMut`] (a `Vec<u8>`, a
    /// `BytesMut`, …) and returns its length.
    ///
    /// # Errors
    /// [`EmitError::BufferTooSmall`] when `buf` has less room left than
    /// [`Packet::buffer_len`], or an [`EmitError`] for a packet whose parts do
    /// not fit together.
    pub fn emit_buf<B: bytes::BufMut>(&self, buf: &mut B) -> Result<usize, EmitError> {
        let mut slot = None;
        let s = self.sections_ref(&mut slot);
        let wack = self.wack_packet();
        // Check everything and measure before the first byte goes out: a
        // `BufMut` cannot take bytes back.
        let mut measure = Measure(0);
        emit_to(self.id, self.flags, s, wack, &mut measure)?;
        let need = measure.0;
        if buf.remaining_mut() < need {
            return Err(EmitError::BufferTooSmall {
                need,
                have: buf.remaining_mut(),
            });
        }
        emit_to(self.id, self.flags, s, wack, &mut BufSink(buf))?;
        Ok(need)
    }

    /// Classifies the packet (see [`PacketKind`] for the rules).
    #[must_use]
    pub fn kind(&self) -> PacketKind {
        let f = self.flags;
        let [has_q, has_an, has_ns, has_ar] = self.present();
        let has_nb_request = has_q && has_ar;
        let q_type = if has_q && !f.is_response() {
            self.question().map(|q| q.qtype)
        } else {
            None
        };
        if !f.is_response() {
            return match (f.opcode(), q_type) {
                (Opcode::Query, Some(RrType::NbStat)) => PacketKind::NodeStatusRequest,
                (Opcode::Query, Some(_)) => PacketKind::NameQueryRequest,
                (Opcode::Registration, _) if has_nb_request => {
                    if f.recursion_desired() {
                        PacketKind::NameRegistrationRequest
                    } else {
                        PacketKind::NameOverwriteRequest
                    }
                }
                (Opcode::Refresh | Opcode::RefreshAlt, _) if has_nb_request => {
                    PacketKind::NameRefreshRequest
                }
                (Opcode::Release, _) if has_nb_request => PacketKind::NameReleaseRequest,
                (Opcode::MultihomedRegistration, _) if has_nb_request => {
                    PacketKind::MultihomedRegistrationRequest
                }
                _ => PacketKind::Unknown,
            };
        }
        let ok = f.rcode() == Rcode::NoError;
        match f.opcode() {
            Opcode::Wack if has_an => PacketKind::Wack,
            Opcode::Query => {
                let answer = if has_an { self.answer() } else { None };
                match answer.map(|a| (a.rdata.rr_type(), a)) {
                    Some((RrType::NbStat, _)) if ok => PacketKind::NodeStatusResponse,
                    Some((RrType::Nb, a)) if ok && a.nb().is_some_and(|n| !n.is_empty()) => {
                        PacketKind::PositiveNameQueryResponse
                    }
                    Some(_) if !ok => PacketKind::NegativeNameQueryResponse,
                    None if ok
                        && has_ns
                        && self.authority().is_some_and(|r| r.rr_type() == RrType::Ns) =>
                    {
                        PacketKind::RedirectNameQueryResponse
                    }
                    _ => PacketKind::Unknown,
                }
            }
            op if op.is_registration_like() && has_an => match f.rcode() {
                Rcode::NoError if f.recursion_available() => {
                    PacketKind::PositiveRegistrationResponse
                }
                Rcode::NoError => PacketKind::EndNodeChallengeResponse,
                Rcode::Conflict => PacketKind::NameConflictDemand,
                _ => PacketKind::NegativeRegistrationResponse,
            },
            Opcode::Release if has_an => {
                if ok {
                    PacketKind::PositiveReleaseResponse
                } else {
                    PacketKind::NegativeReleaseResponse
                }
            }
            _ => PacketKind::Unknown,
        }
    }
}

/// Constructors for every packet kind, with the flags and layout of the
/// RFC 1002 §4.2 diagrams. Each returns a [`Packet`] whose flags and
/// sections may be adjusted ([`Packet::set_sections`]) before emission.
impl<'a> Packet<'a> {
    fn request(
        id: u16,
        flags: Flags,
        question: Question<'a>,
        additional: Option<ResourceRecord<'a>>,
    ) -> Self {
        Self::from_sections(
            id,
            flags,
            Sections {
                question: Some(question),
                additional,
                ..Sections::EMPTY
            },
        )
    }

    fn response(id: u16, flags: Flags, answer: ResourceRecord<'a>) -> Self {
        Self::from_sections(
            id,
            flags,
            Sections {
                answer: Some(answer),
                ..Sections::EMPTY
            },
        )
    }

    /// A request of the registration family (§4.2.2–4.2.4, §4.2.9, MS-NBTE
    /// §2.2.2): question NB/IN, additional NB record named `C0 0C`.
    fn name_request(id: u16, flags: Flags, name: Name<'a>, ttl: u32, entry: NbAddrEntry) -> Self {
        let mut rr = ResourceRecord::new(name, ttl, RData::Nb(NbAddrs::one(entry)));
        rr.name_form = NameForm::QuestionPointer;
        Self::request(id, flags, Question::nb(name), Some(rr))
    }

    /// NAME QUERY REQUEST (§4.2.12): flags 0x0100, or 0x0110 broadcast.
    #[must_use]
    pub fn name_query_request(id: u16, name: Name<'a>, broadcast: bool) -> Self {
        let flags = Flags::request(Opcode::Query)
            .with_recursion_desired(true)
            .with_broadcast(broadcast);
        Self::request(id, flags, Question::nb(name), None)
    }

    /// NODE STATUS REQUEST (§4.2.17): flags 0x0000, question NBSTAT. The name
    /// is usually [`NetbiosName::wildcard`](crate::wire::NetbiosName::wildcard).
    #[must_use]
    pub fn node_status_request(id: u16, name: Name<'a>) -> Self {
        Self::request(
            id,
            Flags::request(Opcode::Query),
            Question::nbstat(name),
            None,
        )
    }

    /// NAME REGISTRATION REQUEST (§4.2.2): flags 0x2900, or 0x2910 broadcast.
    #[must_use]
    pub fn registration_request(
        id: u16,
        name: Name<'a>,
        ttl: u32,
        entry: NbAddrEntry,
        broadcast: bool,
    ) -> Self {
        let flags = Flags::request(Opcode::Registration)
            .with_recursion_desired(true)
            .with_broadcast(broadcast);
        Self::name_request(id, flags, name, ttl, entry)
    }

    /// NAME OVERWRITE REQUEST & DEMAND (§4.2.3): flags 0x2800 (RD clear), or
    /// 0x2810 broadcast.
    #[must_use]
    pub fn overwrite_request(
        id: u16,
        name: Name<'a>,
        ttl: u32,
        entry: NbAddrEntry,
        broadcast: bool,
    ) -> Self {
        let flags = Flags::request(Opcode::Registration).with_broadcast(broadcast);
        Self::name_request(id, flags, name, ttl, entry)
    }

    /// NAME REFRESH REQUEST (§4.2.4): opcode 8 (0x4000), or 9 (0x4800) when
    /// `alternate_opcode`; RD clear, as Windows and nmbd send it.
    #[must_use]
    pub fn refresh_request(
        id: u16,
        name: Name<'a>,
        ttl: u32,
        entry: NbAddrEntry,
        alternate_opcode: bool,
    ) -> Self {
        let op = if alternate_opcode {
            Opcode::RefreshAlt
        } else {
            Opcode::Refresh
        };
        Self::name_request(id, Flags::request(op), name, ttl, entry)
    }

    /// NAME RELEASE REQUEST & DEMAND (§4.2.9): flags 0x3000, or 0x3010
    /// broadcast; TTL 0.
    #[must_use]
    pub fn release_request(id: u16, name: Name<'a>, entry: NbAddrEntry, broadcast: bool) -> Self {
        let flags = Flags::request(Opcode::Release).with_broadcast(broadcast);
        Self::name_request(id, flags, name, 0, entry)
    }

    /// MULTIHOMED NAME REGISTRATION REQUEST (MS-NBTE §2.2.2): flags 0x7900.
    #[must_use]
    pub fn multihomed_registration_request(
        id: u16,
        name: Name<'a>,
        ttl: u32,
        entry: NbAddrEntry,
    ) -> Self {
        let flags = Flags::request(Opcode::MultihomedRegistration).with_recursion_desired(true);
        Self::name_request(id, flags, name, ttl, entry)
    }

    fn registration_response_flags() -> Flags {
        Flags::response(Opcode::Registration)
            .with_authoritative(true)
            .with_recursion_desired(true)
    }

    /// POSITIVE NAME REGISTRATION RESPONSE (§4.2.5): flags 0xAD80, the
    /// granted TTL. Also the answer to refresh and multi-homed requests.
    #[must_use]
    pub fn positive_registration_response(
        id: u16,
        name: Name<'a>,
        ttl: u32,
        entry: NbAddrEntry,
    ) -> Self {
        let flags = Self::registration_response_flags().with_recursion_available(true);
        Self::response(
            id,
            flags,
            ResourceRecord::new(name, ttl, RData::Nb(NbAddrs::one(entry))),
        )
    }

    /// NEGATIVE NAME REGISTRATION RESPONSE (§4.2.6): flags 0xAD8r, TTL 0,
    /// RDATA echoing the request.
    #[must_use]
    pub fn negative_registration_response(
        id: u16,
        name: Name<'a>,
        rcode: Rcode,
        entry: NbAddrEntry,
    ) -> Self {
        let flags = Self::registration_response_flags()
            .with_recursion_available(true)
            .with_rcode(rcode);
        Self::response(
            id,
            flags,
            ResourceRecord::new(name, 0, RData::Nb(NbAddrs::one(entry))),
        )
    }

    /// END-NODE CHALLENGE REGISTRATION RESPONSE (§4.2.7): flags 0xAD00 (RA
    /// clear); RDATA names the presumed owner.
    #[must_use]
    pub fn end_node_challenge_response(
        id: u16,
        name: Name<'a>,
        ttl: u32,
        owner: NbAddrEntry,
    ) -> Self {
        Self::response(
            id,
            Self::registration_response_flags(),
            ResourceRecord::new(name, ttl, RData::Nb(NbAddrs::one(owner))),
        )
    }

    /// NAME CONFLICT DEMAND (§4.2.8): flags 0xAD87, TTL 0, NB_FLAGS with only
    /// the node type, address 0.0.0.0.
    #[must_use]
    pub fn name_conflict_demand(id: u16, name: Name<'a>, node_type: NodeType) -> Self {
        let flags = Self::registration_response_flags()
            .with_recursion_available(true)
            .with_rcode(Rcode::Conflict);
        let entry = NbAddrEntry::new(NbFlags::new(false, node_type), Ipv4Addr::UNSPECIFIED);
        Self::response(
            id,
            flags,
            ResourceRecord::new(name, 0, RData::Nb(NbAddrs::one(entry))),
        )
    }

    /// POSITIVE NAME RELEASE RESPONSE (§4.2.10): flags 0xB400, TTL 0.
    #[must_use]
    pub fn positive_release_response(id: u16, name: Name<'a>, entry: NbAddrEntry) -> Self {
        let flags = Flags::response(Opcode::Release).with_authoritative(true);
        Self::response(
            id,
            flags,
            ResourceRecord::new(name, 0, RData::Nb(NbAddrs::one(entry))),
        )
    }

    /// NEGATIVE NAME RELEASE RESPONSE (§4.2.11): flags 0xB40r, TTL 0.
    #[must_use]
    pub fn negative_release_response(
        id: u16,
        name: Name<'a>,
        rcode: Rcode,
        entry: NbAddrEntry,
    ) -> Self {
        let flags = Flags::response(Opcode::Release)
            .with_authoritative(true)
            .with_rcode(rcode);
        Self::response(
            id,
            flags,
            ResourceRecord::new(name, 0, RData::Nb(NbAddrs::one(entry))),
        )
    }

    /// POSITIVE NAME QUERY RESPONSE (§4.2.13): flags 0x8500 (set RA with
    /// [`Flags::with_recursion_available`] when answering as a name server).
    #[must_use]
    pub fn positive_name_query_response(
        id: u16,
        name: Name<'a>,
        ttl: u32,
        addrs: NbAddrs<'a>,
    ) -> Self {
        let flags = Flags::response(Opcode::Query)
            .with_authoritative(true)
            .with_recursion_desired(true);
        Self::response(id, flags, ResourceRecord::new(name, ttl, RData::Nb(addrs)))
    }

    /// NEGATIVE NAME QUERY RESPONSE (§4.2.14): flags 0x850r, a NULL record
    /// with TTL 0 and no data.
    #[must_use]
    pub fn negative_name_query_response(id: u16, name: Name<'a>, rcode: Rcode) -> Self {
        let flags = Flags::response(Opcode::Query)
            .with_authoritative(true)
            .with_recursion_desired(true)
            .with_rcode(rcode);
        Self::response(id, flags, ResourceRecord::new(name, 0, RData::Null(&[])))
    }

    /// REDIRECT NAME QUERY RESPONSE (§4.2.15): flags 0x8100, an NS authority
    /// record with the name server's domain name and an A additional record
    /// with its address. Both records are named with the queried name.
    #[must_use]
    pub fn redirect_name_query_response(
        id: u16,
        name: Name<'a>,
        ttl: u32,
        nsd_name: Labels<'a>,
        nsd_ip: Ipv4Addr,
    ) -> Self {
        Self::from_sections(
            id,
            Flags::response(Opcode::Query).with_recursion_desired(true),
            Sections {
                authority: Some(ResourceRecord::new(name, ttl, RData::Ns(nsd_name))),
                additional: Some(ResourceRecord::new(name, ttl, RData::A(nsd_ip))),
                ..Sections::EMPTY
            },
        )
    }

    /// WAIT FOR ACKNOWLEDGEMENT (WACK) RESPONSE (§4.2.16): flags 0xBC00; TTL
    /// is how long the requester should wait; RDATA echoes the request's
    /// flags. `rr_type` is NB (as Samba4 sends) or NULL (as nmbd sends).
    #[must_use]
    pub fn wack(id: u16, name: Name<'a>, ttl: u32, request_flags: Flags, rr_type: RrType) -> Self {
        let flags = Flags::response(Opcode::Wack).with_authoritative(true);
        Self::response(
            id,
            flags,
            ResourceRecord::new(
                name,
                ttl,
                RData::Wack(Wack {
                    rr_type,
                    request_flags,
                }),
            ),
        )
    }

    /// NODE STATUS RESPONSE (§4.2.18): flags 0x8400, TTL 0.
    #[must_use]
    pub fn node_status_response(id: u16, name: Name<'a>, status: NodeStatus<'a>) -> Self {
        let flags = Flags::response(Opcode::Query).with_authoritative(true);
        Self::response(
            id,
            flags,
            ResourceRecord::new(name, 0, RData::NodeStatus(status)),
        )
    }
}

impl Class {
    /// Whether this is IN.
    #[must_use]
    pub fn is_in(self) -> bool {
        self == Self::In
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{NameFlags, NetbiosName, NodeName, NodeNames, Statistics};
    use bytes::BufMut;

    const FRED: &[u8] = b"\x20EGFCEFEECACACACACACACACACACACAAA\x00";
    const FRED_20: &[u8] = b"\x20EGFCEFEECACACACACACACACACACACACA\x00";

    fn fred() -> Name<'static> {
        Name::unscoped(NetbiosName::new("FRED", 0x00).unwrap())
    }

    fn entry() -> NbAddrEntry {
        NbAddrEntry::new(NbFlags::new(false, NodeType::H), Ipv4Addr::new(10, 0, 0, 5))
    }

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    /// Emits into a buffer pre-filled with 0xa5 so that unwritten bytes show,
    /// and checks the `BufMut` path gives the same bytes.
    fn emitted(p: &Packet<'_>) -> Vec<u8> {
        let mut buf = vec![0xa5; p.buffer_len() + 3];
        let n = p.emit(&mut buf).unwrap();
        assert_eq!(n, p.buffer_len());
        assert_eq!(&buf[n..], &[0xa5; 3]);
        buf.truncate(n);
        let mut v = Vec::new();
        assert_eq!(p.emit_buf(&mut v), Ok(n));
        assert_eq!(v, buf);
        buf
    }

    /// Checks one vector: constructor emits it, it parses back to the same
    /// packet and classifies as `kind`.
    fn check(p: &Packet<'_>, bytes: &[u8], kind: PacketKind) {
        assert_eq!(emitted(p), bytes, "emit of {kind:?}");
        let back = Packet::parse(bytes).unwrap();
        assert_eq!(&back, p);
        assert_eq!(back.kind(), kind);
        assert!(back.trailing().is_empty());
    }

    /// The registration-family request: question, then C0 0C and an NB
    /// record (RFC 1002 §4.2.2).
    fn name_request_bytes(id_flags: &[u8], ttl: &[u8]) -> Vec<u8> {
        cat(&[
            id_flags,
            b"\x00\x01\x00\x00\x00\x00\x00\x01",
            FRED,
            b"\x00\x20\x00\x01\xc0\x0c\x00\x20\x00\x01",
            ttl,
            b"\x00\x06\x60\x00\x0a\x00\x00\x05",
        ])
    }

    const TTL_300000: &[u8] = b"\x00\x04\x93\xe0";

    #[test]
    fn registration_request() {
        let bytes = name_request_bytes(b"\x12\x34\x29\x00", TTL_300000);
        assert_eq!(bytes.len(), 68);
        let p = Packet::registration_request(0x1234, fred(), 300_000, entry(), false);
        check(&p, &bytes, PacketKind::NameRegistrationRequest);
        let b = name_request_bytes(b"\x12\x34\x29\x10", TTL_300000);
        check(
            &Packet::registration_request(0x1234, fred(), 300_000, entry(), true),
            &b,
            PacketKind::NameRegistrationRequest,
        );
    }

    #[test]
    fn overwrite_refresh_release_multihomed() {
        let b = name_request_bytes(b"\x00\x01\x28\x00", TTL_300000);
        check(
            &Packet::overwrite_request(1, fred(), 300_000, entry(), false),
            &b,
            PacketKind::NameOverwriteRequest,
        );
        let b = name_request_bytes(b"\x00\x02\x40\x00", TTL_300000);
        check(
            &Packet::refresh_request(2, fred(), 300_000, entry(), false),
            &b,
            PacketKind::NameRefreshRequest,
        );
        let b = name_request_bytes(b"\x00\x03\x48\x00", TTL_300000);
        check(
            &Packet::refresh_request(3, fred(), 300_000, entry(), true),
            &b,
            PacketKind::NameRefreshRequest,
        );
        let b = name_request_bytes(b"\x00\x04\x30\x00", b"\x00\x00\x00\x00");
        check(
            &Packet::release_request(4, fred(), entry(), false),
            &b,
            PacketKind::NameReleaseRequest,
        );
        let b = name_request_bytes(b"\x00\x05\x79\x00", TTL_300000);
        let p = Packet::multihomed_registration_request(5, fred(), 300_000, entry());
        check(&p, &b, PacketKind::MultihomedRegistrationRequest);
        assert_eq!(p.opcode(), Opcode::MultihomedRegistration);
    }

    fn response_bytes(id_flags: &[u8], name: &[u8], rr: &[u8]) -> Vec<u8> {
        cat(&[id_flags, b"\x00\x00\x00\x01\x00\x00\x00\x00", name, rr])
    }

    #[test]
    fn registration_responses() {
        let rr = b"\x00\x20\x00\x01\x00\x00\x01\x2c\x00\x06\x60\x00\x0a\x00\x00\x05";
        let b = response_bytes(b"\x12\x34\xad\x80", FRED, rr);
        check(
            &Packet::positive_registration_response(0x1234, fred(), 300, entry()),
            &b,
            PacketKind::PositiveRegistrationResponse,
        );
        let rr0 = b"\x00\x20\x00\x01\x00\x00\x00\x00\x00\x06\x60\x00\x0a\x00\x00\x05";
        let b = response_bytes(b"\x12\x34\xad\x86", FRED, rr0);
        let p = Packet::negative_registration_response(0x1234, fred(), Rcode::Active, entry());
        check(&p, &b, PacketKind::NegativeRegistrationResponse);
        assert_eq!(p.rcode(), Rcode::Active);
        let b = response_bytes(b"\x12\x34\xad\x00", FRED, rr);
        check(
            &Packet::end_node_challenge_response(0x1234, fred(), 300, entry()),
            &b,
            PacketKind::EndNodeChallengeResponse,
        );
        let demand = b"\x00\x20\x00\x01\x00\x00\x00\x00\x00\x06\x60\x00\x00\x00\x00\x00";
        let b = response_bytes(b"\x12\x34\xad\x87", FRED, demand);
        check(
            &Packet::name_conflict_demand(0x1234, fred(), NodeType::H),
            &b,
            PacketKind::NameConflictDemand,
        );
    }

    #[test]
    fn refresh_answered_with_opcode_5_is_a_registration_response() {
        // nmbd and Samba4 answer opcode 8, 9 and 0xF requests with opcode 5.
        let rr = b"\x00\x20\x00\x01\x00\x00\x01\x2c\x00\x06\x60\x00\x0a\x00\x00\x05";
        let b = response_bytes(b"\x12\x34\xad\x80", FRED, rr);
        assert_eq!(
            Packet::parse(&b).unwrap().kind(),
            PacketKind::PositiveRegistrationResponse
        );
    }

    #[test]
    fn release_responses() {
        let rr0 = b"\x00\x20\x00\x01\x00\x00\x00\x00\x00\x06\x60\x00\x0a\x00\x00\x05";
        let b = response_bytes(b"\x00\x07\xb4\x00", FRED, rr0);
        check(
            &Packet::positive_release_response(7, fred(), entry()),
            &b,
            PacketKind::PositiveReleaseResponse,
        );
        let b = response_bytes(b"\x00\x07\xb4\x03", FRED, rr0);
        check(
            &Packet::negative_release_response(7, fred(), Rcode::NameError, entry()),
            &b,
            PacketKind::NegativeReleaseResponse,
        );
    }

    #[test]
    fn queries() {
        let b = cat(&[
            b"\x00\x09\x01\x10\x00\x01\x00\x00\x00\x00\x00\x00",
            FRED_20,
            b"\x00\x20\x00\x01",
        ]);
        let name = Name::unscoped(NetbiosName::new("FRED", 0x20).unwrap());
        check(
            &Packet::name_query_request(9, name, true),
            &b,
            PacketKind::NameQueryRequest,
        );
        // Four address entries (benchmark case b).
        let entries = [
            entry(),
            NbAddrEntry::new(NbFlags::new(false, NodeType::H), Ipv4Addr::new(10, 0, 1, 5)),
            NbAddrEntry::new(
                NbFlags::new(false, NodeType::H),
                Ipv4Addr::new(192, 168, 7, 5),
            ),
            NbAddrEntry::new(NbFlags(0x6400), Ipv4Addr::new(172, 16, 0, 9)),
        ];
        let b = response_bytes(
            b"\x00\x09\x85\x00",
            FRED_20,
            &cat(&[
                b"\x00\x20\x00\x01\x00\x04\x93\xe0\x00\x18",
                b"\x60\x00\x0a\x00\x00\x05\x60\x00\x0a\x00\x01\x05\x60\x00\xc0\xa8\x07\x05\x64\x00\xac\x10\x00\x09",
            ]),
        );
        let p =
            Packet::positive_name_query_response(9, name, 300_000, NbAddrs::from_slice(&entries));
        check(&p, &b, PacketKind::PositiveNameQueryResponse);
        assert_eq!(
            Packet::parse(&b)
                .unwrap()
                .answer()
                .unwrap()
                .nb()
                .unwrap()
                .len(),
            4
        );
        // Negative: NULL, TTL 0, no data (RFC 1002 §4.2.14, nmbd).
        let b = response_bytes(
            b"\x00\x09\x85\x03",
            FRED_20,
            b"\x00\x0a\x00\x01\x00\x00\x00\x00\x00\x00",
        );
        check(
            &Packet::negative_name_query_response(9, name, Rcode::NameError),
            &b,
            PacketKind::NegativeNameQueryResponse,
        );
        // Negative with an empty NB record is accepted too.
        let b = response_bytes(
            b"\x00\x09\x85\x03",
            FRED_20,
            b"\x00\x20\x00\x01\x00\x00\x00\x00\x00\x00",
        );
        assert_eq!(
            Packet::parse(&b).unwrap().kind(),
            PacketKind::NegativeNameQueryResponse
        );
    }

    #[test]
    fn redirect() {
        let b = cat(&[
            b"\x00\x0a\x81\x00\x00\x00\x00\x00\x00\x01\x00\x01",
            FRED,
            b"\x00\x02\x00\x01\x00\x00\x0e\x10\x00\x0b\x04wins\x04corp\x00",
            FRED,
            b"\x00\x01\x00\x01\x00\x00\x0e\x10\x00\x04\x0a\x00\x00\x01",
        ]);
        let p = Packet::redirect_name_query_response(
            10,
            fred(),
            3600,
            Labels::from_dotted(b"wins.corp").unwrap(),
            Ipv4Addr::new(10, 0, 0, 1),
        );
        check(&p, &b, PacketKind::RedirectNameQueryResponse);
    }

    #[test]
    fn wack_is_recognised_by_opcode_whatever_its_type() {
        // nmbd: RR type NULL, TTL 60, RDATA = request flags 0x2900.
        let nmbd = response_bytes(
            b"\x12\x34\xbc\x00",
            FRED,
            b"\x00\x0a\x00\x01\x00\x00\x00\x3c\x00\x02\x29\x00",
        );
        let p = Packet::wack(0x1234, fred(), 60, Flags(0x2900), RrType::Null);
        check(&p, &nmbd, PacketKind::Wack);
        // Samba4: RR type NB, TTL 5 + 4n.
        let samba4 = response_bytes(
            b"\x12\x34\xbc\x00",
            FRED,
            b"\x00\x20\x00\x01\x00\x00\x00\x09\x00\x02\x79\x00",
        );
        let p = Packet::wack(0x1234, fred(), 9, Flags(0x7900), RrType::Nb);
        check(&p, &samba4, PacketKind::Wack);
        assert!(
            matches!(Packet::parse(&samba4).unwrap().answer().unwrap().rdata, RData::Wack(w) if w.request_flags.opcode() == Opcode::MultihomedRegistration)
        );
    }

    #[test]
    fn node_status() {
        let star = b"\x20CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\x00";
        let b = cat(&[
            b"\x00\x0b\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00",
            star,
            b"\x00\x21\x00\x01",
        ]);
        let p = Packet::node_status_request(11, Name::unscoped(NetbiosName::wildcard()));
        check(&p, &b, PacketKind::NodeStatusRequest);

        let names = [
            NodeName {
                name: NetbiosName::new("WORKGROUP", 0).unwrap(),
                flags: NameFlags::active(true, NodeType::B),
            },
            NodeName {
                name: NetbiosName::new("HOST", 0x20).unwrap(),
                flags: NameFlags::active(false, NodeType::H),
            },
        ];
        let stats = Statistics::block_with_unit_id([0, 0x0c, 0x29, 1, 2, 3]);
        let status = NodeStatus {
            names: NodeNames::from_slice(&names),
            statistics: Statistics(&stats),
        };
        let p = Packet::node_status_response(11, Name::unscoped(NetbiosName::wildcard()), status);
        let mut rdata = vec![2u8];
        rdata.extend_from_slice(b"WORKGROUP      \x00\x84\x00HOST           \x20\x64\x00");
        rdata.extend_from_slice(&stats);
        assert_eq!(rdata.len(), 83);
        let b = response_bytes(
            b"\x00\x0b\x84\x00",
            star,
            &cat(&[b"\x00\x21\x00\x01\x00\x00\x00\x00\x00\x53", &rdata]),
        );
        check(&p, &b, PacketKind::NodeStatusResponse);
        let parsed = Packet::parse(&b).unwrap();
        let RData::NodeStatus(s) = parsed.answer().unwrap().rdata else {
            panic!("not NBSTAT")
        };
        assert_eq!(s.statistics.unit_id(), Some([0, 0x0c, 0x29, 1, 2, 3]));
        assert_eq!(s.names.iter().nth(1).unwrap().name.to_string(), "HOST<20>");
    }

    #[test]
    fn short_statistics_are_tolerated() {
        let star = b"\x20CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\x00";
        let b = response_bytes(
            b"\x00\x0b\x84\x00",
            star,
            b"\x00\x21\x00\x01\x00\x00\x00\x00\x00\x07\x00\x00\x0c\x29\x01\x02\x03",
        );
        let p = Packet::parse(&b).unwrap();
        let RData::NodeStatus(s) = p.answer().unwrap().rdata else {
            panic!("not NBSTAT")
        };
        assert!(s.names.is_empty());
        assert_eq!(s.statistics.unit_id(), Some([0, 0x0c, 0x29, 1, 2, 3]));
        assert_eq!(emitted(&p), b);
    }

    #[test]
    fn scoped_names() {
        let scope = Labels::from_dotted(b"corp.example").unwrap();
        let name = Name::new(NetbiosName::new("FRED", 0).unwrap(), scope);
        let p = Packet::registration_request(1, name, 300, entry(), false);
        let bytes = emitted(&p);
        assert_eq!(&bytes[12 + 33..12 + 33 + 14], b"\x04corp\x07example\x00");
        let back = Packet::parse(&bytes).unwrap();
        assert_eq!(back, p);
        assert_eq!(
            back.additional().unwrap().name.scope.to_string(),
            "corp.example"
        );
    }

    #[test]
    fn trailing_bytes_are_kept() {
        let mut b = cat(&[
            b"\x00\x09\x01\x10\x00\x01\x00\x00\x00\x00\x00\x00",
            FRED_20,
            b"\x00\x20\x00\x01",
        ]);
        b.extend_from_slice(b"\x01\x02\x03");
        let p = Packet::parse(&b).unwrap();
        assert_eq!(p.trailing(), b"\x01\x02\x03");
        assert_eq!(emitted(&p), b);
        assert_eq!(
            Packet::parse_exact(&b),
            Err(ParseError::TrailingBytes { offset: 50, len: 3 })
        );
    }

    #[test]
    fn parsed_view_decodes_sections_and_can_be_changed() {
        let built = Packet::registration_request(7, fred(), 300, entry(), false);
        let bytes = emitted(&built);
        let mut p = Packet::parse(&bytes).unwrap();
        assert_eq!(p.header(), built.header());
        assert_eq!(p.sections(), built.sections());
        assert_eq!(p.question(), built.question());
        assert_eq!(p.additional(), built.additional());
        assert_eq!(p.additional().unwrap().name_form, NameForm::QuestionPointer);
        assert_eq!(p.answer(), None);
        assert_eq!(p.name(), Some(fred()));
        assert_eq!(format!("{p:?}"), format!("{built:?}"));
        // Changing a parsed packet makes it a built one with the change.
        p.update_sections(|s| s.additional.as_mut().unwrap().ttl = 600);
        assert_ne!(p, built);
        assert_eq!(p.additional().unwrap().ttl, 600);
        assert_eq!(p.question(), built.question());
        let again = emitted(&p);
        assert_eq!(again.len(), bytes.len());
        assert_eq!(Packet::parse(&again).unwrap(), p);
    }

    #[test]
    fn fast_paths_match_the_general_writer() {
        let entries = [
            entry(),
            NbAddrEntry::new(NbFlags(0xE000), Ipv4Addr::new(1, 2, 3, 4)),
        ];
        let names = [NodeName {
            name: NetbiosName::new("FRED", 0x20).unwrap(),
            flags: NameFlags::active(true, NodeType::M),
        }];
        let (full, short) = ([9u8; 46], [9u8; 20]);
        let scoped = Name::new(fred().netbios, Labels::from_dotted(b"corp").unwrap());
        let status = |stats| NodeStatus {
            names: NodeNames::from_slice(&names),
            statistics: Statistics(stats),
        };
        for name in [fred(), scoped] {
            let packets = [
                Packet::name_query_request(1, name, true),
                Packet::node_status_request(2, name),
                Packet::registration_request(3, name, 300, entry(), false),
                Packet::overwrite_request(4, name, 300, entry(), true),
                Packet::refresh_request(5, name, 300, entry(), true),
                Packet::release_request(6, name, entry(), false),
                Packet::multihomed_registration_request(7, name, 300, entry()),
                Packet::positive_registration_response(8, name, 300, entry()),
                Packet::negative_registration_response(9, name, Rcode::Active, entry()),
                Packet::end_node_challenge_response(10, name, 300, entry()),
                Packet::name_conflict_demand(11, name, NodeType::H),
                Packet::positive_release_response(12, name, entry()),
                Packet::negative_release_response(13, name, Rcode::Refused, entry()),
                Packet::positive_name_query_response(14, name, 60, NbAddrs::from_slice(&entries)),
                Packet::positive_name_query_response(15, name, 60, NbAddrs::EMPTY),
                Packet::negative_name_query_response(16, name, Rcode::NameError),
                Packet::redirect_name_query_response(17, name, 9, name.scope, Ipv4Addr::LOCALHOST),
                Packet::wack(18, name, 60, Flags(0x2910), RrType::Nb),
                Packet::wack(19, name, 60, Flags(0x2910), RrType::Null),
                Packet::node_status_response(20, name, status(&full)),
                Packet::node_status_response(21, name, status(&short)),
            ];
            for p in &packets {
                let (mut fast, mut general) = ([0u8; 256], [0u8; 256]);
                let n = p.emit(&mut fast).unwrap();
                assert_eq!(p.emit_general(&mut general), Ok(n), "{p}");
                assert_eq!(fast[..n], general[..n], "{p}");
                assert_eq!(Packet::parse(&fast[..n]).unwrap(), *p, "{p}");
            }
        }
        // A `C0 0C` record that does not carry the question's name is
        // refused by both.
        let mut p = Packet::registration_request(1, fred(), 300, entry(), false);
        p.update_sections(|s| {
            s.additional.as_mut().unwrap().name = Name::unscoped(NetbiosName::wildcard())
        });
        let mut buf = [0u8; 128];
        let refused = Err(EmitError::PointerMismatch {
            section: Section::Additional,
        });
        assert_eq!(p.emit(&mut buf), refused);
        assert_eq!(p.emit_general(&mut buf), refused);
    }

    /// What a parse recorded: ID, flags, section offsets, end.
    fn recorded(p: &Packet<'_>) -> (u16, u16, [u32; 4], u32) {
        match &p.body {
            Body::Wire(w) => (p.id, p.flags.0, w.at, w.end),
            Body::Parts(_) => panic!("a parsed packet holds its datagram"),
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

        /// The straight-line parser accepts nothing the general one refuses,
        /// and records the same offsets. Inputs are the common shapes with
        /// a few bytes changed, cut or extended.
        #[test]
        fn fast_parse_agrees(
            shape in 0usize..6,
            edits in proptest::collection::vec((0usize..120, proptest::prelude::any::<u8>()), 0..4),
            cut in proptest::option::of(0usize..130),
            extra in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..8),
            rdlength in proptest::option::of(0u16..80),
            names_count in proptest::option::of(0u8..5),
            table in 0usize..4,
            stats_len in 0usize..47,
        ) {
            let names = [NodeName {
                name: NetbiosName::new("FRED", 0x20).unwrap(),
                flags: NameFlags::active(false, NodeType::H),
            }; 3];
            let stats = [1u8; 46];
            let two = [entry(), entry()];
            let p = match shape {
                0 => Packet::name_query_request(1, fred(), false),
                1 => Packet::registration_request(2, fred(), 300, entry(), false),
                2 => Packet::positive_name_query_response(3, fred(), 60, NbAddrs::from_slice(&two)),
                3 => Packet::node_status_response(4, fred(), NodeStatus {
                    names: NodeNames::from_slice(&names[..table.min(3)]),
                    statistics: Statistics(&stats[..stats_len.min(46)]),
                }),
                4 => Packet::wack(5, fred(), 60, Flags(0x2900), RrType::Nb),
                _ => Packet::negative_name_query_response(6, fred(), Rcode::NameError),
            };
            let mut bytes = emitted(&p);
            // The RDLENGTH of the one record, set to another value.
            let rdlength_at = if shape == 1 { 60 } else { 54 };
            if let (Some(len), Some(field)) = (rdlength, bytes.get_mut(rdlength_at..rdlength_at + 2)) {
                field.copy_from_slice(&len.to_be_bytes());
            }
            // The node-status name count, for the node status response.
            if let (3, Some(n), Some(x)) = (shape, names_count, bytes.get_mut(56)) {
                *x = n;
            }
            for (at, b) in edits {
                if let Some(x) = bytes.get_mut(at) {
                    *x = b;
                }
            }
            if let Some(cut) = cut {
                bytes.truncate(cut);
            }
            bytes.extend_from_slice(&extra);
            if let Some((id, flags, at, end)) = fast::parse(&bytes) {
                let general = Packet::parse_general(&bytes);
                proptest::prop_assert!(general.is_ok(), "{:?}", general);
                proptest::prop_assert_eq!(recorded(&general.unwrap()), (id, flags.0, at, end));
            }
        }
    }

    #[test]
    fn short_buffers_are_refused_at_every_length() {
        let names = [NodeName {
            name: NetbiosName::new("FRED", 0x20).unwrap(),
            flags: NameFlags::active(false, NodeType::H),
        }];
        let stats = [7u8; 46];
        let scoped = Name::new(fred().netbios, Labels::from_dotted(b"a.b").unwrap());
        let packets = [
            Packet::registration_request(1, scoped, 300, entry(), false),
            Packet::node_status_response(
                2,
                fred(),
                NodeStatus {
                    names: NodeNames::from_slice(&names),
                    statistics: Statistics(&stats),
                },
            ),
            Packet::redirect_name_query_response(3, scoped, 9, scoped.scope, Ipv4Addr::LOCALHOST),
        ];
        for p in &packets {
            let need = p.buffer_len();
            let mut exact = vec![0u8; need];
            assert_eq!(p.emit(&mut exact), Ok(need));
            let mut grown = Vec::new();
            assert_eq!(p.emit_buf(&mut grown), Ok(need));
            assert_eq!(grown, exact);
            for have in 0..need {
                let mut short = vec![0u8; have];
                assert_eq!(
                    p.emit(&mut short),
                    Err(EmitError::BufferTooSmall { need, have })
                );
                let mut limited = bytes::BytesMut::new().limit(have);
                assert_eq!(
                    p.emit_buf(&mut limited),
                    Err(EmitError::BufferTooSmall { need, have })
                );
                assert!(limited.get_ref().is_empty());
            }
        }
    }

    #[test]
    fn malformed() {
        use crate::wire::Field;
        assert_eq!(
            Packet::parse(&[]),
            Err(ParseError::Truncated {
                offset: 0,
                what: Field::Header
            })
        );
        // 12 bytes claiming 65535 questions fail at once.
        let huge = b"\x00\x01\x00\x00\xff\xff\x00\x00\x00\x00\x00\x00";
        assert_eq!(
            Packet::parse(huge),
            Err(ParseError::UnsupportedCount {
                offset: 4,
                section: Section::Question,
                count: 65535
            })
        );
        // A registration with the additional record missing its RDATA.
        let b = name_request_bytes(b"\x12\x34\x29\x00", TTL_300000);
        assert_eq!(
            Packet::parse(&b[..64]),
            Err(ParseError::Truncated {
                offset: 64,
                what: Field::Rdata
            })
        );
        assert_eq!(
            Packet::parse(&b[..52]),
            Err(ParseError::Truncated {
                offset: 52,
                what: Field::RecordHeader
            })
        );
        assert_eq!(
            Packet::parse(&b[..47]),
            Err(ParseError::Truncated {
                offset: 47,
                what: Field::QuestionTail
            })
        );
        // NB RDLENGTH not a multiple of 6.
        let mut bad = b.clone();
        bad[61] = 5;
        assert_eq!(
            Packet::parse(&bad[..67]),
            Err(ParseError::BadRdLength {
                offset: 60,
                rr_type: RrType::Nb,
                len: 5
            })
        );
        // NBSTAT claiming more names than fit.
        let star = b"\x20CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\x00";
        let b = response_bytes(
            b"\x00\x0b\x84\x00",
            star,
            b"\x00\x21\x00\x01\x00\x00\x00\x00\x00\x02\x05\x00",
        );
        assert!(matches!(
            Packet::parse(&b),
            Err(ParseError::BadRdLength {
                rr_type: RrType::NbStat,
                ..
            })
        ));
        // A record whose C0 0C pointer has no question to point at.
        let b = cat(&[b"\x00\x01\x85\x00\x00\x00\x00\x01\x00\x00\x00\x00\xc0\x0c"]);
        assert_eq!(
            Packet::parse(&b),
            Err(ParseError::PointerNotPrior {
                offset: 12,
                target: 12
            })
        );
    }

    #[test]
    fn emit_refuses_what_would_not_round_trip() {
        let mut p = Packet::registration_request(1, fred(), 300, entry(), false);
        p.update_sections(|s| {
            s.question = Some(Question::nb(Name::unscoped(
                NetbiosName::new("OTHER", 0).unwrap(),
            )))
        });
        let mut buf = [0u8; 128];
        assert_eq!(
            p.emit(&mut buf),
            Err(EmitError::PointerMismatch {
                section: Section::Additional
            })
        );
        let mut p = Packet::positive_registration_response(1, fred(), 300, entry());
        p.update_sections(|s| {
            s.answer.as_mut().unwrap().rdata = RData::Wack(Wack {
                rr_type: RrType::Nb,
                request_flags: Flags(0),
            })
        });
        assert_eq!(
            p.emit(&mut buf),
            Err(EmitError::RdataMismatch {
                section: Section::Answer
            })
        );
        p.update_sections(|s| {
            s.answer.as_mut().unwrap().rdata = RData::Unknown {
                rr_type: RrType::Unknown(0x20),
                data: &[],
            }
        });
        assert_eq!(
            p.emit(&mut buf),
            Err(EmitError::RdataMismatch {
                section: Section::Answer
            })
        );
        let p = Packet::positive_registration_response(1, fred(), 300, entry());
        assert_eq!(
            p.emit(&mut buf[..20]),
            Err(EmitError::BufferTooSmall { need: 62, have: 20 })
        );
    }

    #[test]
    fn unknown_opcode_and_types_survive() {
        let b = cat(&[
            b"\x00\x09\x09\x10\x00\x01\x00\x00\x00\x00\x00\x00",
            FRED_20,
            b"\x00\x99\x00\x07",
        ]);
        let p = Packet::parse(&b).unwrap();
        assert_eq!(p.opcode(), Opcode::Unknown(1));
        assert_eq!(p.kind(), PacketKind::Unknown);
        assert_eq!(p.question().unwrap().qtype, RrType::Unknown(0x99));
        assert_eq!(p.question().unwrap().qclass, Class::Unknown(7));
        assert_eq!(emitted(&p), b);
    }
}
