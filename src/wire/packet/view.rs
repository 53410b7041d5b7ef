//! [`Packet`]: a parsed datagram (RFC 1002 §4.2), validated by the grammar
//! and read by field access.

use core::net::Ipv4Addr;

use crate::wire::error::Section;
use crate::wire::grammar::{self, PacketAt, RecordAt, Shape};
use crate::wire::packet::kind::{Facts, PacketKind, classify};
use crate::wire::{
    Class, EmitError, Flags, Header, Labels, Message, Name, NameForm, NbAddrs, NodeName, NodeNames,
    NodeStatus, Opcode, ParseError, Question, RData, Rcode, ResourceRecord, RrType, Sections,
    Statistics, Wack,
};

/// A parsed NBNS packet: a view of a datagram that [`Packet::parse`]
/// validated (RFC 1002 §4.2.1).
///
/// Parsing decodes what it validates: the NetBIOS names (every half-ASCII
/// character is checked anyway), the fixed fields, and where each RDATA and
/// scope lies. The accessors ([`Packet::question`], [`Packet::answer`],
/// [`Packet::authority`], [`Packet::additional`], [`Packet::trailing`])
/// then build their values from those fields, and NB entries, node-status
/// names and scope labels are borrowed iterators over validated bytes:
/// nothing is decoded or checked twice, and [`Packet::kind`] reads fields
/// only. The view is 120 bytes on 64-bit targets (`wire_view_size` in the
/// tests holds it there), so returning it in a `Result` is a short copy.
///
/// To change a parsed packet or answer it, build a [`Message`]
/// ([`Packet::to_message`] gives the same packet as one).
/// [`Packet::emit`] re-emits the datagram byte for byte.
///
/// Trailing bytes: a datagram may carry bytes after its last section (Samba
/// keeps such bytes as padding). [`Packet::parse`] accepts them and keeps
/// them in [`Packet::trailing`]. [`Packet::parse_exact`] rejects them.
///
/// ```
/// use nbns::wire::{Message, Name, NetbiosName, Packet, PacketKind};
/// let name = Name::unscoped(NetbiosName::new("FRED", 0x20).unwrap());
/// let mut buf = [0u8; 64];
/// let n = Message::name_query_request(0x1234, name, false).emit(&mut buf).unwrap();
/// let p = Packet::parse(&buf[..n]).unwrap();
/// assert_eq!((p.id, p.kind()), (0x1234, PacketKind::NameQueryRequest));
/// assert_eq!(p.question().unwrap().name, name);
/// ```
#[derive(Clone)]
pub struct Packet<'a> {
    /// NAME_TRN_ID.
    pub id: u16,
    /// The flags word: R, opcode, NM_FLAGS, rcode.
    pub flags: Flags,
    data: &'a [u8],
    at: PacketAt,
}

impl<'a> Packet<'a> {
    /// Parses a whole datagram. Bytes after the last section are kept in
    /// [`Packet::trailing`].
    ///
    /// Allocation-free and total: any input gives either a packet or a
    /// [`ParseError`] with the offset of the problem. Header counts above one
    /// are refused before anything else is read, and so are datagrams longer
    /// than 65,535 bytes ([`ParseError::TooLong`]). Work is bounded by the
    /// datagram's length.
    ///
    /// # Errors
    /// A [`ParseError`] saying what is malformed and where.
    #[inline(always)]
    pub fn parse(data: &'a [u8]) -> Result<Self, ParseError> {
        // The grammar writes the sections in place (no copy of the view
        // on the way out).
        let mut at = PacketAt::NONE;
        match grammar::packet(data, &mut at) {
            Ok(h) => Ok(Self {
                id: h.id,
                flags: h.flags,
                data,
                at,
            }),
            Err(e) => Err(e.at(data.len())),
        }
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

    /// The datagram this view reads.
    #[must_use]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.data
    }

    /// The question (QDCOUNT 0 or 1).
    #[must_use]
    #[inline]
    pub fn question(&self) -> Option<Question<'a>> {
        if self.at.present & 1 == 0 {
            return None;
        }
        let q = &self.at.question;
        let at = usize::from(q.at);
        let [t0, t1, c0, c1] = self
            .data
            .get(at..)
            .and_then(<[u8]>::first_chunk::<4>)
            .copied()
            .unwrap_or_default();
        Some(Question {
            name: q.name.to_name(self.data),
            qtype: RrType::from(u16::from_be_bytes([t0, t1])),
            qclass: Class::from(u16::from_be_bytes([c0, c1])),
        })
    }

    /// The record of the `i`th record section, read from its fields.
    #[inline]
    fn record(&self, i: usize) -> Option<ResourceRecord<'a>> {
        if self.at.present & (2 << i) == 0 {
            return None;
        }
        Some(record(self.data, self.at.records.get(i)?))
    }

    /// The answer record (ANCOUNT 0 or 1).
    #[must_use]
    #[inline]
    pub fn answer(&self) -> Option<ResourceRecord<'a>> {
        self.record(0)
    }

    /// The authority record (NSCOUNT 0 or 1).
    #[must_use]
    #[inline]
    pub fn authority(&self) -> Option<ResourceRecord<'a>> {
        self.record(1)
    }

    /// The additional record (ARCOUNT 0 or 1).
    #[must_use]
    #[inline]
    pub fn additional(&self) -> Option<ResourceRecord<'a>> {
        self.record(2)
    }

    /// Bytes after the last section.
    #[must_use]
    pub fn trailing(&self) -> &'a [u8] {
        self.data
            .get(usize::from(self.at.end)..)
            .unwrap_or_default()
    }

    /// All sections.
    #[must_use]
    pub fn sections(&self) -> Sections<'a> {
        Sections {
            question: self.question(),
            answer: self.answer(),
            authority: self.authority(),
            additional: self.additional(),
            trailing: self.trailing(),
        }
    }

    /// The same packet as a [`Message`], to change or re-emit.
    #[must_use]
    pub fn to_message(&self) -> Message<'a> {
        Message::from_sections(self.id, self.flags, self.sections())
    }

    /// Whether `section` is present.
    ///
    /// ```
    /// use nbns::wire::{Message, Name, NetbiosName, Packet, Section};
    /// let name = Name::unscoped(NetbiosName::new("FRED", 0x20).unwrap());
    /// let mut buf = [0u8; 64];
    /// let n = Message::name_query_request(1, name, false).emit(&mut buf).unwrap();
    /// let query = Packet::parse(&buf[..n]).unwrap();
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

    #[inline]
    fn present(&self) -> [bool; 4] {
        [0, 1, 2, 3].map(|b| self.at.present & (1 << b) != 0)
    }

    /// The header, as it was on the wire.
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
    pub fn records(&self) -> impl Iterator<Item = (Section, ResourceRecord<'a>)> + '_ {
        [Section::Answer, Section::Authority, Section::Additional]
            .into_iter()
            .enumerate()
            .filter_map(|(i, s)| self.record(i).map(|r| (s, r)))
    }

    /// The name the packet is about: the question's, else the first record's.
    #[must_use]
    pub fn name(&self) -> Option<Name<'a>> {
        let at = match self.at.present.trailing_zeros() {
            0 => self.at.question.name,
            n @ 1..=3 => self.at.records.get(n as usize - 1)?.name,
            _ => return None,
        };
        Some(at.to_name(self.data))
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

    /// Classifies the packet (see [`PacketKind`] for the rules), from fields
    /// parsing filled in.
    #[must_use]
    #[inline]
    pub fn kind(&self) -> PacketKind {
        let [an, ns, _] = &self.at.records;
        classify(&Facts {
            flags: self.flags,
            present: self.at.present,
            qtype: self.at.question.qtype,
            answer: an.rr_type,
            entries: an.shape == Shape::Nb && rdlength(self.data, an) > 0,
            authority: ns.rr_type,
        })
    }

    /// Whether the datagram is what emitting [`Packet::to_message`] would
    /// write: every name written in full or as the `C0 0C` pointer.
    #[must_use]
    pub fn is_canonical(&self) -> bool {
        self.at.exact
    }

    /// Bytes [`Packet::emit`] writes.
    #[must_use]
    pub fn buffer_len(&self) -> usize {
        if self.at.exact {
            self.data.len()
        } else {
            self.to_message().buffer_len()
        }
    }

    /// Re-emits the packet at the start of `buf`: a copy of the datagram
    /// when it is canonical ([`Packet::is_canonical`]), else what
    /// [`Message::emit`] writes for [`Packet::to_message`] (the same
    /// packet, its names written in full).
    ///
    /// # Errors
    /// [`EmitError::BufferTooSmall`]; [`EmitError::TooLong`] for a
    /// non-canonical datagram near 64 KiB whose names, written in full,
    /// would pass 65,535 bytes.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        if !self.at.exact {
            return self.to_message().emit(buf);
        }
        let need = self.data.len();
        let have = buf.len();
        let dst = buf
            .get_mut(..need)
            .ok_or(EmitError::BufferTooSmall { need, have })?;
        dst.copy_from_slice(self.data);
        Ok(need)
    }

    /// Re-emits the packet into any [`bytes::BufMut`], as [`Packet::emit`].
    ///
    /// # Errors
    /// As [`Packet::emit`].
    pub fn emit_buf<B: bytes::BufMut>(&self, buf: &mut B) -> Result<usize, EmitError> {
        if !self.at.exact {
            return self.to_message().emit_buf(buf);
        }
        let need = self.data.len();
        if buf.remaining_mut() < need {
            return Err(EmitError::BufferTooSmall {
                need,
                have: buf.remaining_mut(),
            });
        }
        buf.put_slice(self.data);
        Ok(need)
    }
}

/// RDLENGTH of a validated record.
#[inline(always)]
fn rdlength(data: &[u8], r: &RecordAt) -> usize {
    let at = usize::from(r.at) + 8;
    let len = data.get(at..).and_then(<[u8]>::first_chunk::<2>);
    usize::from(u16::from_be_bytes(len.copied().unwrap_or_default()))
}

/// A record of `data`, from the fields the grammar filled in and the fixed
/// fields it validated.
#[inline(always)]
fn record<'a>(data: &'a [u8], r: &RecordAt) -> ResourceRecord<'a> {
    let at = usize::from(r.at);
    let fixed = data
        .get(at..)
        .and_then(<[u8]>::first_chunk::<10>)
        .copied()
        .unwrap_or_default();
    let [_, _, c0, c1, t0, t1, t2, t3, l0, l1] = fixed;
    let start = at + 10;
    let end = start + usize::from(u16::from_be_bytes([l0, l1]));
    let bytes = data.get(start..end).unwrap_or_default();
    let rdata = match r.shape {
        Shape::Nb => RData::Nb(NbAddrs::from_wire(bytes)),
        Shape::NodeStatus => {
            let (&n, rest) = bytes.split_first().unwrap_or((&0, &[]));
            let (names, stats) = rest
                .split_at_checked(usize::from(n) * NodeName::LEN)
                .unwrap_or((&[], rest));
            RData::NodeStatus(NodeStatus {
                names: NodeNames::from_wire(names),
                statistics: Statistics(stats),
            })
        }
        Shape::Null => RData::Null(bytes),
        Shape::A => {
            let a = bytes.first_chunk::<4>().copied().unwrap_or_default();
            RData::A(Ipv4Addr::from(a))
        }
        Shape::Ns => RData::Ns(Labels::wire(data.get(..end).unwrap_or_default(), start)),
        Shape::Wack => {
            let w = bytes.first_chunk::<2>().copied().unwrap_or_default();
            RData::Wack(Wack {
                rr_type: RrType::from(r.rr_type),
                request_flags: Flags(u16::from_be_bytes(w)),
            })
        }
        Shape::Other => RData::Unknown {
            rr_type: RrType::from(r.rr_type),
            data: bytes,
        },
    };
    ResourceRecord {
        name: r.name.to_name(data),
        name_form: if r.question_pointer {
            NameForm::QuestionPointer
        } else {
            NameForm::Full
        },
        class: Class::from(u16::from_be_bytes([c0, c1])),
        ttl: u32::from_be_bytes([t0, t1, t2, t3]),
        rdata,
    }
}

impl PartialEq for Packet<'_> {
    /// Packets are equal when their contents are, however their names were
    /// compressed.
    fn eq(&self, other: &Self) -> bool {
        (self.at.exact && other.at.exact && self.data == other.data)
            || self.to_message() == other.to_message()
    }
}

impl Eq for Packet<'_> {}

impl<'a> PartialEq<Message<'a>> for Packet<'a> {
    fn eq(&self, other: &Message<'a>) -> bool {
        self.id == other.id && self.flags == other.flags && self.sections() == other.sections
    }
}

impl<'a> PartialEq<Packet<'a>> for Message<'a> {
    fn eq(&self, other: &Packet<'a>) -> bool {
        other == self
    }
}

impl core::fmt::Debug for Packet<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let s = self.sections();
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
