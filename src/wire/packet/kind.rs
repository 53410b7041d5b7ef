//! What a packet is: [`PacketKind`] and the rules that classify a packet
//! (RFC 1002 §4.2, MS-NBTE §2.2.2).

use crate::wire::{Flags, Opcode, Rcode};

/// What a packet is, in the words of RFC 1002 §4.2 and MS-NBTE §2.2.2.
///
/// [`Packet::kind`](crate::wire::Packet::kind) classifies leniently, as real servers require: a WACK is
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

/// What classification looks at, taken from a parsed packet's view or a
/// message's sections without decoding anything else. Types are their wire
/// values, so that a type is matched by value however it was spelled.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Facts {
    pub(crate) flags: Flags,
    /// Question, answer, authority, additional present: bits 0 to 3.
    pub(crate) present: u8,
    /// QUESTION_TYPE.
    pub(crate) qtype: u16,
    /// The answer's RR_TYPE.
    pub(crate) answer: u16,
    /// Whether the answer holds NB entries (at least one).
    pub(crate) entries: bool,
    /// The authority record's RR_TYPE.
    pub(crate) authority: u16,
}

const NS: u16 = 0x0002;
const NB: u16 = 0x0020;
const NBSTAT: u16 = 0x0021;

/// Classifies a packet (see [`PacketKind`] for the rules).
#[inline]
pub(crate) fn classify(facts: &Facts) -> PacketKind {
    let f = facts.flags;
    let has = |bit: u8| facts.present & (1 << bit) != 0;
    let (has_q, has_an, has_ns, has_ar) = (has(0), has(1), has(2), has(3));
    let has_nb_request = has_q && has_ar;
    if !f.is_response() {
        return match f.opcode() {
            Opcode::Query if has_q && facts.qtype == NBSTAT => PacketKind::NodeStatusRequest,
            Opcode::Query if has_q => PacketKind::NameQueryRequest,
            Opcode::Registration if has_nb_request => {
                if f.recursion_desired() {
                    PacketKind::NameRegistrationRequest
                } else {
                    PacketKind::NameOverwriteRequest
                }
            }
            Opcode::Refresh | Opcode::RefreshAlt if has_nb_request => {
                PacketKind::NameRefreshRequest
            }
            Opcode::Release if has_nb_request => PacketKind::NameReleaseRequest,
            Opcode::MultihomedRegistration if has_nb_request => {
                PacketKind::MultihomedRegistrationRequest
            }
            _ => PacketKind::Unknown,
        };
    }
    let ok = f.rcode() == Rcode::NoError;
    match f.opcode() {
        Opcode::Wack if has_an => PacketKind::Wack,
        Opcode::Query if has_an => match facts.answer {
            NBSTAT if ok => PacketKind::NodeStatusResponse,
            NB if ok && facts.entries => PacketKind::PositiveNameQueryResponse,
            _ if !ok => PacketKind::NegativeNameQueryResponse,
            _ => PacketKind::Unknown,
        },
        Opcode::Query if ok && has_ns && facts.authority == NS => {
            PacketKind::RedirectNameQueryResponse
        }
        op if op.is_registration_like() && has_an => match f.rcode() {
            Rcode::NoError if f.recursion_available() => PacketKind::PositiveRegistrationResponse,
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
