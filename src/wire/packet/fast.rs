//! Straight-line parsing and emission of the shapes nearly every NBNS
//! datagram has.
//!
//! A client mostly sends a question with an optional `C0 0C` NB record
//! (queries, registration, refresh and release requests); a server mostly
//! answers with a single record named in full (NB entries or a node status
//! table). With unscoped names, the fixed part of such a packet sits at
//! constant offsets, so it is checked or written without the cursor the
//! general code needs. Any other shape, and any datagram these paths do not
//! accept, returns `None` and goes to the general code: that one alone
//! reports errors. The two agree (`tests::fast_paths_match_the_general_writer`
//! and the `fast_parse_agrees` proptest in `packet.rs`; `wire_proptest` for
//! emission).

use super::{Sink, SliceSink, fill_entry, put_at, put_first_label};
use crate::wire::nb::AddrRepr;
use crate::wire::node_status::NamesRepr;
use crate::wire::{EmitError, Flags, Name, NameForm, NodeName, RData, ResourceRecord, Section};
use crate::wire::{NetbiosName, Opcode, Question, Sections};

/// Validates a datagram of one of the common shapes, with any trailing
/// bytes: returns the ID, the flags, where the sections start and where the
/// trailing bytes start, as [`Packet::parse`](super::Packet::parse) records
/// them.
#[inline(always)]
pub(super) fn parse(data: &[u8]) -> Option<(u16, Flags, [u32; 4], u32)> {
    let [i0, i1, f0, f1, c0, c1, c2, c3, c4, c5, c6, c7] = *data.first_chunk::<12>()?;
    let (id, flags) = (
        u16::from_be_bytes([i0, i1]),
        Flags(u16::from_be_bytes([f0, f1])),
    );
    let (at, end) = match [c0, c1, c2, c3, c4, c5, c6, c7] {
        // A question alone.
        [0, 1, 0, 0, 0, 0, 0, 0] if data.len() >= 50 => {
            unscoped_name_at_12(data)?;
            ([12, 0, 0, 0], 50)
        }
        // A question and a record named `C0 0C`.
        [0, 1, 0, 0, 0, 0, 0, 1] => {
            unscoped_name_at_12(data)?;
            if data.get(50..52)? != [0xC0, 0x0C] {
                return None;
            }
            ([12, 0, 0, 50], record_tail(data, 52, false)?)
        }
        // One answer named in full.
        [0, 0, 0, 1, 0, 0, 0, 0] => {
            unscoped_name_at_12(data)?;
            let wack = flags.is_response() && flags.opcode() == Opcode::Wack;
            ([0, 12, 0, 0], record_tail(data, 46, wack)?)
        }
        _ => return None,
    };
    Some((id, flags, at, end as u32))
}

/// Whether a 32-byte first label in `A`–`P` and an empty scope lie at 12
/// (bytes 12..46), the question's or the only record's name.
#[inline(always)]
fn unscoped_name_at_12(data: &[u8]) -> Option<()> {
    let name: &[u8; 34] = data.get(12..46)?.try_into().ok()?;
    let [32, chars @ .., 0] = name else {
        return None;
    };
    NetbiosName::decode(chars).ok().map(|_| ())
}

/// Checks a record's type, class, TTL, RDLENGTH and RDATA at `at`, for the
/// RDATA kinds of the common shapes (NB, NBSTAT, NULL, and a WACK's two
/// bytes when `wack`); returns the offset past the RDATA.
#[inline(always)]
fn record_tail(data: &[u8], at: usize, wack: bool) -> Option<usize> {
    let [t0, t1, _, _, _, _, _, _, l0, l1] = *data.get(at..)?.first_chunk::<10>()?;
    let start = at + 10;
    let len = usize::from(u16::from_be_bytes([l0, l1]));
    let rdata = data.get(start..start + len)?;
    let fits = match u16::from_be_bytes([t0, t1]) {
        _ if wack && len == 2 => true,
        0x0020 => len % 6 == 0,
        0x0021 => rdata
            .split_first()
            .is_some_and(|(&n, rest)| usize::from(n) * NodeName::LEN <= rest.len()),
        0x000A => true,
        _ => false,
    };
    fits.then_some(start + len)
}

/// Emits `s` if it has one of the shapes above; `None` otherwise.
#[inline(always)]
pub(super) fn emit(
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
    let AddrRepr::One(entry) = addrs.repr() else {
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
        RData::Nb(addrs) if !matches!(addrs.repr(), AddrRepr::Wire(_)) => {
            (0x0020, addrs.buffer_len())
        }
        RData::NodeStatus(st) => match st.names.repr() {
            NamesRepr::Slice(names) if names.len() <= 255 => (
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
            AddrRepr::One(e) => out.chunk::<6>(|d| fill_entry(&e, d)),
            AddrRepr::Slice(entries) => out.chunk_each::<_, 6>(entries, fill_entry),
            AddrRepr::Wire(_) => {}
        },
        RData::NodeStatus(st) => {
            if let NamesRepr::Slice(names) = st.names.repr() {
                out.chunk::<1>(|d| *d = [names.len() as u8]);
                out.chunk_each::<_, { NodeName::LEN }>(names, super::fill_node_name);
            }
            super::put_statistics(st.statistics.0, &mut out);
        }
        _ => {}
    }
    Some(Ok(need))
}
