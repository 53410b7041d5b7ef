//! [`Message`]: a packet to build and emit (RFC 1002 §4.2), as smoltcp's
//! `Repr` types are to its packet views.

use crate::wire::error::Section;
use crate::wire::grammar::MAX_LEN;
use crate::wire::packet::emit::{self, BufSink, Measure, SliceSink};
use crate::wire::packet::kind::{Facts, PacketKind, classify};
use crate::wire::{EmitError, Flags, Header, Name, Opcode, Question, RData, Rcode, ResourceRecord};

/// The sections of a packet (RFC 1002 §4.2.1): at most one entry each, and
/// any bytes after the last.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
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

/// An NBNS packet to send: header fields and decoded sections
/// (RFC 1002 §4.2.1). The section counts of the header follow from which
/// sections are present.
///
/// Built with the constructors ([`Message::name_query_request`] and the
/// others, one per packet kind of RFC 1002 §4.2), with
/// [`Message::from_sections`], or from a parsed packet with
/// [`Packet::to_message`](crate::wire::Packet::to_message); its fields may
/// be changed freely before [`Message::emit`] or [`Message::emit_buf`].
/// Holds borrowed values only: building and emitting allocate nothing.
///
/// ```
/// use nbns::wire::{Message, Name, NetbiosName, Packet, PacketKind};
/// let name = Name::unscoped(NetbiosName::new("FRED", 0x20).unwrap());
/// let query = Message::name_query_request(0x1234, name, false);
/// let mut buf = [0u8; 64];
/// let n = query.emit(&mut buf).unwrap();
/// assert_eq!(n, query.buffer_len());
/// let back = Packet::parse(&buf[..n]).unwrap();
/// assert_eq!(back.to_message(), query);
/// assert_eq!(back.kind(), PacketKind::NameQueryRequest);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Message<'a> {
    /// NAME_TRN_ID.
    pub id: u16,
    /// The flags word: R, opcode, NM_FLAGS, rcode.
    pub flags: Flags,
    /// The sections.
    pub sections: Sections<'a>,
}

impl<'a> Message<'a> {
    /// A message from its parts.
    ///
    /// ```
    /// use nbns::wire::{Flags, Message, Name, NetbiosName, Opcode, Question, Sections};
    /// let q = Question::nb(Name::unscoped(NetbiosName::new("FRED", 0).unwrap()));
    /// let sections = Sections { question: Some(q), ..Sections::default() };
    /// let m = Message::from_sections(7, Flags::request(Opcode::Query), sections);
    /// assert_eq!(m.question(), Some(q));
    /// assert_eq!(m.buffer_len(), 12 + 34 + 4);
    /// ```
    #[must_use]
    pub const fn from_sections(id: u16, flags: Flags, sections: Sections<'a>) -> Self {
        Self {
            id,
            flags,
            sections,
        }
    }

    /// The question (QDCOUNT 0 or 1).
    #[must_use]
    pub fn question(&self) -> Option<Question<'a>> {
        self.sections.question
    }

    /// The answer record (ANCOUNT 0 or 1).
    #[must_use]
    pub fn answer(&self) -> Option<ResourceRecord<'a>> {
        self.sections.answer
    }

    /// The authority record (NSCOUNT 0 or 1).
    #[must_use]
    pub fn authority(&self) -> Option<ResourceRecord<'a>> {
        self.sections.authority
    }

    /// The additional record (ARCOUNT 0 or 1).
    #[must_use]
    pub fn additional(&self) -> Option<ResourceRecord<'a>> {
        self.sections.additional
    }

    /// Bytes after the last section.
    #[must_use]
    pub fn trailing(&self) -> &'a [u8] {
        self.sections.trailing
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

    /// Whether `section` is present.
    #[must_use]
    pub fn has(&self, section: Section) -> bool {
        let s = &self.sections;
        match section {
            Section::Question => s.question.is_some(),
            Section::Answer => s.answer.is_some(),
            Section::Authority => s.authority.is_some(),
            Section::Additional => s.additional.is_some(),
        }
    }

    /// The header, counts derived from the sections present.
    #[must_use]
    pub fn header(&self) -> Header {
        let s = &self.sections;
        let c = |p: bool| u16::from(p);
        Header {
            id: self.id,
            flags: self.flags,
            qdcount: c(s.question.is_some()),
            ancount: c(s.answer.is_some()),
            nscount: c(s.authority.is_some()),
            arcount: c(s.additional.is_some()),
        }
    }

    /// The records present, in order, with their sections.
    pub fn records(&self) -> impl Iterator<Item = (Section, ResourceRecord<'a>)> {
        let s = &self.sections;
        [
            (Section::Answer, s.answer),
            (Section::Authority, s.authority),
            (Section::Additional, s.additional),
        ]
        .into_iter()
        .filter_map(|(s, r)| r.map(|r| (s, r)))
    }

    /// The name the message is about: the question's, else the first
    /// record's.
    #[must_use]
    pub fn name(&self) -> Option<Name<'a>> {
        self.question()
            .map(|q| q.name)
            .or_else(|| self.records().next().map(|(_, r)| r.name))
    }

    /// The record that carries a request's or response's data: the
    /// additional record of a request, the answer of a response.
    #[must_use]
    pub fn data_record(&self) -> Option<ResourceRecord<'a>> {
        if self.is_response() {
            self.answer()
        } else {
            self.additional()
        }
    }

    /// Classifies the message (see [`PacketKind`] for the rules).
    #[must_use]
    pub fn kind(&self) -> PacketKind {
        let s = &self.sections;
        let present = [
            &s.question.is_some(),
            &s.answer.is_some(),
            &s.authority.is_some(),
            &s.additional.is_some(),
        ]
        .iter()
        .enumerate()
        .fold(0u8, |bits, (i, &&p)| bits | (u8::from(p) << i));
        classify(&Facts {
            flags: self.flags,
            present,
            qtype: s.question.map_or(0, |q| q.qtype.into()),
            answer: s.answer.map_or(0, |a| a.rdata.type_code()),
            entries: matches!(s.answer.map(|a| a.rdata), Some(RData::Nb(n)) if !n.is_empty()),
            authority: s.authority.map_or(0, |r| r.rdata.type_code()),
        })
    }

    #[inline]
    fn wack_packet(&self) -> bool {
        self.flags.is_response() && self.flags.opcode() == Opcode::Wack
    }

    /// Bytes needed by [`Message::emit`].
    #[must_use]
    pub fn buffer_len(&self) -> usize {
        let s = &self.sections;
        Header::LEN
            + s.question.as_ref().map_or(0, Question::buffer_len)
            + [&s.answer, &s.authority, &s.additional]
                .into_iter()
                .flatten()
                .map(ResourceRecord::buffer_len)
                .sum::<usize>()
            + s.trailing.len()
    }

    /// Writes the message at the start of `buf` and returns its length
    /// ([`Message::buffer_len`]). Never panics; bytes of `buf` past the
    /// packet are left as they were. Message and buffer are checked as the
    /// bytes are written, in one pass: on an error, `buf` may hold part of
    /// the packet. The shapes nearly every datagram has (a question with an
    /// optional `C0 0C` NB record, or one answer with NB entries or a node
    /// status table, unscoped) are written by straight-line code; the bytes
    /// are the same as the general writer's.
    ///
    /// # Errors
    /// [`EmitError::BufferTooSmall`], [`EmitError::TooLong`] for a packet
    /// over 65,535 bytes, or an [`EmitError`] for a message whose parts do
    /// not fit together (see [`EmitError`]).
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        let done =
            match emit::emit_common(self.id, self.flags, &self.sections, self.wack_packet(), buf) {
                Some(done) => done,
                None => self.emit_general(buf),
            };
        match done {
            Ok(len) if len > MAX_LEN => Err(EmitError::TooLong { len }),
            other => other,
        }
    }

    /// [`Message::emit`] without the straight-line paths; out of line, so
    /// that those paths stay short.
    #[inline(never)]
    pub(super) fn emit_general(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        let have = buf.len();
        // Pieces that would run past the end are skipped, and the cursor
        // still counts them, so it ends at the packet's length.
        let mut sink = SliceSink { buf, pos: 0 };
        emit::emit_to(
            self.id,
            self.flags,
            &self.sections,
            self.wack_packet(),
            &mut sink,
        )?;
        let need = sink.pos;
        if need > have {
            return Err(EmitError::BufferTooSmall { need, have });
        }
        Ok(need)
    }

    /// Appends the message to any [`bytes::BufMut`] (a `Vec<u8>`, a
    /// `BytesMut`, …) and returns its length.
    ///
    /// # Errors
    /// [`EmitError::BufferTooSmall`] when `buf` has less room left than
    /// [`Message::buffer_len`], or an [`EmitError`] for a message whose
    /// parts do not fit together.
    pub fn emit_buf<B: bytes::BufMut>(&self, buf: &mut B) -> Result<usize, EmitError> {
        let s = &self.sections;
        let wack = self.wack_packet();
        // Check everything and measure before the first byte goes out: a
        // `BufMut` cannot take bytes back.
        let mut measure = Measure(0);
        emit::emit_to(self.id, self.flags, s, wack, &mut measure)?;
        let need = measure.0;
        if need > MAX_LEN {
            return Err(EmitError::TooLong { len: need });
        }
        if buf.remaining_mut() < need {
            return Err(EmitError::BufferTooSmall {
                need,
                have: buf.remaining_mut(),
            });
        }
        emit::emit_to(self.id, self.flags, s, wack, &mut BufSink(buf))?;
        Ok(need)
    }
}
