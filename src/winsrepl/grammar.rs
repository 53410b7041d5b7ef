//! The grammar of replication messages, rule by rule, in nom. Each rule
//! names the MS-WINSRA section it reads. Messages arrive whole (the framer
//! cuts them out of the stream), so every parser is a `complete` one.
//!
//! The rules run on suffixes of one message, so a failure records how many
//! bytes were left where it happened; [`Fail::into_error`] turns that into
//! an offset from the start of the message. None of this is public.

use core::net::Ipv4Addr;

use nom::bytes::complete::take;
use nom::error::{ErrorKind, ParseError as NomParseError};
use nom::number::complete::{be_u16, be_u32, be_u64, le_u32};
use nom::{IResult, Parser};

use crate::winsrepl::error::{Field, ParseError};
use crate::winsrepl::header::{Header, MessageType, ReplCommand, Start, Stop, UpdateKind};
use crate::winsrepl::message::Body;
use crate::winsrepl::owner::{OwnerRecord, OwnerTable, Owners};
use crate::winsrepl::record::{
    Addresses, Member, Members, NameRecord, NameRecords, RecordFlags, RecordName, padding_len,
};

/// What went wrong, and how many bytes of the message were left there.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fail {
    rest: usize,
    why: Why,
}

#[derive(Debug, Clone, Copy)]
enum Why {
    Truncated(Field),
    NameLength(u32),
    Count(u32, Field),
}

impl Fail {
    /// The public error, for a message of `total` bytes.
    pub(crate) fn into_error(self, total: usize) -> ParseError {
        let offset = total.saturating_sub(self.rest);
        match self.why {
            Why::Truncated(what) => ParseError::Truncated { offset, what },
            Why::NameLength(len) => ParseError::BadNameLength { offset, len },
            Why::Count(count, what) => ParseError::CountTooLarge {
                offset,
                count,
                what,
            },
        }
    }
}

impl NomParseError<&[u8]> for Fail {
    fn from_error_kind(input: &[u8], _: ErrorKind) -> Self {
        Self {
            rest: input.len(),
            why: Why::Truncated(Field::Header),
        }
    }

    fn append(_: &[u8], _: ErrorKind, other: Self) -> Self {
        other
    }
}

type Res<'a, T> = IResult<&'a [u8], T, Fail>;

/// Reads with `rule`; a failure means `what` did not fit, where `rule`
/// started.
#[inline(always)]
fn fits<'a, T>(
    what: Field,
    mut rule: impl Parser<&'a [u8], Output = T, Error = Fail>,
) -> impl Parser<&'a [u8], Output = T, Error = Fail> {
    move |i: &'a [u8]| {
        rule.parse(i).map_err(|e| {
            e.map(|_| Fail {
                rest: i.len(),
                why: Why::Truncated(what),
            })
        })
    }
}

fn fail<T>(i: &[u8], why: Why) -> Res<'_, T> {
    Err(nom::Err::Error(Fail { rest: i.len(), why }))
}

#[inline(always)]
fn ipv4(i: &[u8]) -> Res<'_, Ipv4Addr> {
    be_u32.map(Ipv4Addr::from).parse(i)
}

/// MS-WINSRA 2.2.2, Common Replication Message Header: Packet Length,
/// Reserved, Destination Association Handle, Message Type.
pub(crate) fn header(i: &[u8]) -> Res<'_, (u32, Header)> {
    fits(Field::Header, (be_u32, be_u32, be_u32, be_u32))
        .map(|(len, opcode, handle, ty)| {
            let message_type = MessageType::from(ty);
            (
                len,
                Header {
                    opcode,
                    handle,
                    message_type,
                },
            )
        })
        .parse(i)
}

/// MS-WINSRA 2.2.3 and 2.2.4, Association Start Request and Response:
/// Sender Association Handle, NBNS Major Version, NBNS Minor Version. The
/// 21 Reserved bytes are left for the caller (they are optional in
/// practice).
fn start(i: &[u8]) -> Res<'_, Start> {
    fits(Field::Start, (be_u32, be_u16, be_u16))
        .map(|(handle, major, minor)| Start {
            handle,
            major,
            minor,
        })
        .parse(i)
}

/// MS-WINSRA 2.2.5, Association Stop Request: Association Stop Reason (the
/// 24 Reserved bytes are optional; Samba sends none).
fn stop(i: &[u8]) -> Res<'_, Stop> {
    fits(Field::StopReason, be_u32)
        .map(|reason| Stop {
            reason: reason.into(),
        })
        .parse(i)
}

/// MS-WINSRA 2.2.6–2.2.10: three Reserved bytes and RplOpCode, as one
/// big-endian word.
fn command(i: &[u8]) -> Res<'_, ReplCommand> {
    fits(Field::Command, be_u32).map(ReplCommand::from).parse(i)
}

/// MS-WINSRA 2.2.7.1, Owner Record (also the body of a Name Records
/// Request, 2.2.9): Owner IPv4 Address, Max Version Number, Min Version
/// Number, Reserved.
#[inline]
pub(crate) fn owner_record(i: &[u8]) -> Res<'_, OwnerRecord> {
    fits(Field::OwnerRecord, (ipv4, be_u64, be_u64, be_u32))
        .map(|(owner, max_version, min_version, reserved)| OwnerRecord {
            owner,
            max_version,
            min_version,
            reserved,
        })
        .parse(i)
}

/// MS-WINSRA 2.2.7 and 2.2.8: Number of Owners, the Owner Records, and
/// Reserved2 (map response) or Initiator IPv4 Address (notification). The
/// count is checked against the bytes left before any record is read.
fn owner_table(i: &[u8]) -> Res<'_, OwnerTable<'_>> {
    let (rest, count) = fits(Field::OwnerCount, be_u32).parse(i)?;
    let Some(len) = (count as usize)
        .checked_mul(OwnerRecord::LEN)
        .filter(|&len| len <= rest.len())
    else {
        return fail(i, Why::Count(count, Field::OwnerCount));
    };
    let (rest, owners) = take(len).parse(rest)?;
    let (rest, initiator) = fits(Field::Initiator, ipv4).parse(rest)?;
    let owners = Owners::new(owners);
    Ok((rest, OwnerTable { owners, initiator }))
}

/// MS-WINSRA 2.2.10, Name Records Response: Number of Name Records, then
/// the records. Every record is read (so the work is bounded by the bytes,
/// whatever the count says) and nothing is stored.
fn name_records(i: &[u8]) -> Res<'_, NameRecords<'_>> {
    let (records, count) = fits(Field::RecordCount, be_u32).parse(i)?;
    let mut rest = records;
    for _ in 0..count {
        (rest, _) = name_record(rest)?;
    }
    let used = records.len() - rest.len();
    let (records, rest) = records.split_at_checked(used).unwrap_or((records, rest));
    Ok((rest, NameRecords::new(records, count)))
}

/// MS-WINSRA 2.2.10.1, Name Record: Name Length, Name, Padding, Reserved1
/// and Flags, Group and Reserved2 (little-endian, as Samba reads it),
/// Version Number, Address Record, Reserved3.
#[inline]
pub(crate) fn name_record(i: &[u8]) -> Res<'_, NameRecord<'_>> {
    let (rest, len) = fits(Field::Name, be_u32).parse(i)?;
    if len == 0 || len > 255 {
        return fail(i, Why::NameLength(len));
    }
    let len = len as usize;
    let (rest, name) = fits(Field::Name, take(len + padding_len(len)))
        .map(|field: &[u8]| field.split_at_checked(len).map_or(field, |(name, _)| name))
        .parse(rest)?;
    let (rest, (flags, group, version)) =
        fits(Field::RecordFields, (be_u32, le_u32, be_u64)).parse(rest)?;
    let flags = RecordFlags(flags);
    let (rest, addresses) = if flags.record_type().has_list() {
        members.map(Addresses::List).parse(rest)?
    } else {
        fits(Field::Addresses, ipv4)
            .map(Addresses::Single)
            .parse(rest)?
    };
    let (rest, reserved) = fits(Field::RecordFields, be_u32).parse(rest)?;
    Ok((
        rest,
        NameRecord {
            name: RecordName::new(name),
            flags,
            group,
            version,
            addresses,
            reserved,
        },
    ))
}

/// MS-WINSRA 2.2.10.1.1, Address Record for a Special Group or Multihomed
/// Machine: Number of Addresses with its 3 Reserved bytes (read as a
/// little-endian u32, as Samba and Wireshark do), then the pairs. The count
/// is checked against the bytes left before any pair is read.
fn members(i: &[u8]) -> Res<'_, Members<'_>> {
    let (rest, count) = fits(Field::Addresses, le_u32).parse(i)?;
    let Some(len) = (count as usize)
        .checked_mul(Member::LEN)
        .filter(|&len| len <= rest.len())
    else {
        return fail(i, Why::Count(count, Field::Addresses));
    };
    let (rest, list) = take(len).parse(rest)?;
    Ok((rest, Members::new(list)))
}

/// MS-WINSRA 2.2.10.1.1.1, Owner and Member IPv4 Address.
#[inline]
pub(crate) fn member(i: &[u8]) -> Res<'_, Member> {
    fits(Field::Addresses, (ipv4, ipv4))
        .map(|(owner, address)| Member { owner, address })
        .parse(i)
}

/// The body after the common header, by Message Type (MS-WINSRA 2.2.2).
/// Returns the bytes after the body (padding and reserved bytes) as the
/// rest.
pub(crate) fn body(message_type: MessageType, i: &[u8]) -> Res<'_, Body<'_>> {
    match message_type {
        MessageType::StartRequest => start.map(Body::StartRequest).parse(i),
        MessageType::StartReply => start.map(Body::StartReply).parse(i),
        MessageType::Stop => stop.map(Body::Stop).parse(i),
        MessageType::Replication => replication(i),
        MessageType::Unknown(_) => Ok((&[], Body::UnknownType(i))),
    }
}

/// A type-3 message by its command (MS-WINSRA 2.2.6–2.2.10).
fn replication(i: &[u8]) -> Res<'_, Body<'_>> {
    let (rest, command) = command(i)?;
    match command {
        ReplCommand::TableQuery => Ok((rest, Body::TableQuery)),
        ReplCommand::TableReply => owner_table.map(Body::TableReply).parse(rest),
        ReplCommand::SendRequest => owner_record.map(Body::SendRequest).parse(rest),
        ReplCommand::SendReply => name_records.map(Body::SendReply).parse(rest),
        ReplCommand::Update | ReplCommand::Update2 | ReplCommand::Inform | ReplCommand::Inform2 => {
            let kind = UpdateKind::from_command(command).unwrap_or(UpdateKind::Update);
            owner_table
                .map(|table| Body::UpdateNotification(kind, table))
                .parse(rest)
        }
        ReplCommand::Unknown(command) => Ok((
            &[],
            Body::UnknownCommand {
                command,
                bytes: rest,
            },
        )),
    }
}
