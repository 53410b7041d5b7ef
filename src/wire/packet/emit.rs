//! Writing a message: the general writer, which checks each record as it
//! writes it, and straight-line writers for the common shapes.

use crate::wire::error::Section;
use crate::wire::list::Repr;
use crate::wire::{
    EmitError, Flags, Labels, Name, NameForm, NbAddrEntry, NodeName, Question, RData,
    ResourceRecord, RrType, Sections,
};

/// Where emitted bytes go: a slice cursor or a [`bytes::BufMut`].
pub(super) trait Sink {
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
/// and [`Message::emit`](crate::wire::Message::emit) can report how much was needed.
pub(super) struct SliceSink<'b> {
    pub(super) buf: &'b mut [u8],
    pub(super) pos: usize,
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

pub(super) struct BufSink<'b, B: bytes::BufMut>(pub(super) &'b mut B);

/// A sink that only counts.
pub(super) struct Measure(pub(super) usize);

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
            Repr::Wire(_) => out.put(addrs.wire().unwrap_or_default()),
            Repr::One(e) => emit_entry(&e, out),
            Repr::Slice(entries) => out.chunk_each::<_, 6>(entries, fill_entry),
        },
        RData::NodeStatus(s) => {
            out.chunk::<1>(|d| *d = [s.names.len() as u8]);
            match s.names.repr() {
                Repr::Wire(_) => out.put(s.names.wire().unwrap_or_default()),
                Repr::One(n) => out.chunk::<18>(|d| fill_node_name(&n, d)),
                Repr::Slice(names) => out.chunk_each::<_, 18>(names, fill_node_name),
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
pub(super) fn emit_to(
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

// ---------------------------------------------------------------------------
// Straight-line writers of the shapes nearly every datagram has: a client
// mostly sends a question with an optional `C0 0C` NB record, a server
// mostly answers with one record named in full. With unscoped names their
// fixed part sits at constant offsets and is written without the cursor.
// Their bytes are the general writer's (`tests::straight_line_writers_match
// _the_general_writer`).

/// Emits `s` if it has one of the shapes above; `None` otherwise.
#[inline(always)]
pub(super) fn emit_common(
    id: u16,
    flags: Flags,
    s: &Sections<'_>,
    wack_packet: bool,
    buf: &mut [u8],
) -> Option<Result<usize, EmitError>> {
    if !s.trailing.is_empty() || s.authority.is_some() {
        return None;
    }
    match (&s.question, &s.answer, &s.additional) {
        (Some(q), None, None) => request(id, flags, q, buf),
        (Some(q), None, Some(ar)) => request_with_record(id, flags, q, ar, buf),
        (None, Some(an), None) => answer(id, flags, an, wack_packet, buf),
        _ => None,
    }
}

/// The header with the given section counts, at offset 0.
#[inline(always)]
fn put_header<const N: usize>(d: &mut [u8; N], id: u16, flags: Flags, counts: u64) {
    put_at(
        d,
        0,
        (u64::from(id) << 48 | u64::from(flags.0) << 32 | counts >> 32).to_be_bytes(),
    );
    put_at(d, 8, (counts as u32).to_be_bytes());
}

/// Section counts as the last 8 header bytes, one bit per section.
const fn counts(qd: bool, an: bool, ns: bool, ar: bool) -> u64 {
    (qd as u64) << 48 | (an as u64) << 32 | (ns as u64) << 16 | ar as u64
}

/// An unscoped name at offset 12 (in a full 32-byte label) and its
/// terminating zero.
#[inline(always)]
fn put_name_at_12<const N: usize>(d: &mut [u8; N], name: &Name<'_>) -> Option<()> {
    let label: &mut [u8; 34] = d.get_mut(12..46)?.try_into().ok()?;
    put_first_label(label, name);
    put_at(label, 33, [0]);
    Some(())
}

#[inline(always)]
fn question_fields(q: &Question<'_>) -> [u8; 4] {
    (u32::from(u16::from(q.qtype)) << 16 | u32::from(u16::from(q.qclass))).to_be_bytes()
}

#[inline(always)]
fn record_fields(rr: &ResourceRecord<'_>, code: u16, rdlength: usize) -> ([u8; 8], [u8; 2]) {
    let type_class = u32::from(code) << 16 | u32::from(u16::from(rr.class));
    (
        (u64::from(type_class) << 32 | u64::from(rr.ttl)).to_be_bytes(),
        (rdlength as u16).to_be_bytes(),
    )
}

/// The error for a buffer shorter than the packet.
#[cold]
fn too_small(need: usize, have: usize) -> Option<Result<usize, EmitError>> {
    Some(Err(EmitError::BufferTooSmall { need, have }))
}

/// The header and an unscoped question: the first 50 bytes of a request.
#[inline(always)]
fn put_question<const N: usize>(
    d: &mut [u8; N],
    id: u16,
    flags: Flags,
    counts: u64,
    q: &Question<'_>,
) -> Option<()> {
    put_header(d, id, flags, counts);
    put_name_at_12(d, &q.name)?;
    put_at(d, 46, question_fields(q));
    Some(())
}

/// A question alone: 50 bytes.
#[inline(always)]
fn request(
    id: u16,
    flags: Flags,
    q: &Question<'_>,
    buf: &mut [u8],
) -> Option<Result<usize, EmitError>> {
    if !q.name.scope.is_empty() {
        return None;
    }
    let have = buf.len();
    let Some(d) = buf.first_chunk_mut::<50>() else {
        return too_small(50, have);
    };
    put_question(d, id, flags, counts(true, false, false, false), q)?;
    Some(Ok(50))
}

/// A question and a `C0 0C` NB record with one entry: 68 bytes.
#[inline(always)]
fn request_with_record(
    id: u16,
    flags: Flags,
    q: &Question<'_>,
    ar: &ResourceRecord<'_>,
    buf: &mut [u8],
) -> Option<Result<usize, EmitError>> {
    let (RData::Nb(addrs), NameForm::QuestionPointer) = (&ar.rdata, ar.name_form) else {
        return None;
    };
    let Repr::One(entry) = addrs.repr() else {
        return None;
    };
    if !q.name.scope.is_empty() {
        return None;
    }
    // The question is unscoped, so the names are equal when the NetBIOS
    // names are and the record's scope is empty too.
    if ar.name.netbios != q.name.netbios || !ar.name.scope.is_empty() {
        return Some(Err(EmitError::PointerMismatch {
            section: Section::Additional,
        }));
    }
    let (fields, len) = record_fields(ar, 0x0020, 6);
    let have = buf.len();
    let Some(d) = buf.first_chunk_mut::<68>() else {
        return too_small(68, have);
    };
    put_question(d, id, flags, counts(true, false, false, true), q)?;
    put_at(d, 50, [0xC0, 0x0C]);
    put_at(d, 52, fields);
    put_at(d, 60, len);
    let e: &mut [u8; 6] = d.get_mut(62..68)?.try_into().ok()?;
    fill_entry(&entry, e);
    Some(Ok(68))
}

/// One answer named in full, with NB entries or a node status table: a
/// 56-byte fixed part, then the RDATA.
#[inline(always)]
fn answer(
    id: u16,
    flags: Flags,
    an: &ResourceRecord<'_>,
    wack_packet: bool,
    buf: &mut [u8],
) -> Option<Result<usize, EmitError>> {
    if an.name_form != NameForm::Full || !an.name.scope.is_empty() {
        return None;
    }
    let (code, rdlength) = match &an.rdata {
        RData::Nb(addrs) if !matches!(addrs.repr(), Repr::Wire(_)) => (0x0020, addrs.buffer_len()),
        RData::NodeStatus(st) => match st.names.repr() {
            Repr::Slice(names) if names.len() <= 255 => (
                0x0021,
                1 + names.len() * NodeName::LEN + st.statistics.0.len(),
            ),
            _ => return None,
        },
        _ => return None,
    };
    // What the general writer refuses, it also reports.
    if rdlength > usize::from(u16::MAX) || (wack_packet && rdlength == 2) {
        return None;
    }
    let need = 56 + rdlength;
    let have = buf.len();
    let Some(region) = buf.get_mut(..need) else {
        return too_small(need, have);
    };
    let (fields, len) = record_fields(an, code, rdlength);
    if let Some(d) = region.first_chunk_mut::<56>() {
        put_header(d, id, flags, counts(false, true, false, false));
        put_name_at_12(d, &an.name)?;
        put_at(d, 46, fields);
        put_at(d, 54, len);
    }
    let mut out = SliceSink {
        buf: region,
        pos: 56,
    };
    match &an.rdata {
        RData::Nb(addrs) => match addrs.repr() {
            Repr::One(e) => out.chunk::<6>(|d| fill_entry(&e, d)),
            Repr::Slice(entries) => out.chunk_each::<_, 6>(entries, fill_entry),
            Repr::Wire(_) => {}
        },
        RData::NodeStatus(st) => {
            if let Repr::Slice(names) = st.names.repr() {
                out.chunk::<1>(|d| *d = [names.len() as u8]);
                out.chunk_each::<_, { NodeName::LEN }>(names, fill_node_name);
            }
            put_statistics(st.statistics.0, &mut out);
        }
        _ => {}
    }
    Some(Ok(need))
}
