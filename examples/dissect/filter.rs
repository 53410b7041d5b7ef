//! Selecting packets: by kind, opcode, rcode, name (a glob) and address.
//! Each option may be given several times (any of its values selects);
//! different options must all select. A malformed packet is selected only
//! when no option looks inside the packet (kind, opcode, rcode, name).
#![allow(dead_code)]

use core::net::IpAddr;

use glob::{MatchOptions, Pattern};
use nbns::wire::{Packet, PacketKind, ParseError, Rcode};

use crate::decode::Datagram;

/// Every packet kind, for matching `--kind` against their descriptions.
pub(crate) const KINDS: [PacketKind; 19] = [
    PacketKind::NameQueryRequest,
    PacketKind::NodeStatusRequest,
    PacketKind::NameRegistrationRequest,
    PacketKind::NameOverwriteRequest,
    PacketKind::NameRefreshRequest,
    PacketKind::NameReleaseRequest,
    PacketKind::MultihomedRegistrationRequest,
    PacketKind::PositiveNameQueryResponse,
    PacketKind::NegativeNameQueryResponse,
    PacketKind::RedirectNameQueryResponse,
    PacketKind::PositiveRegistrationResponse,
    PacketKind::NegativeRegistrationResponse,
    PacketKind::EndNodeChallengeResponse,
    PacketKind::NameConflictDemand,
    PacketKind::PositiveReleaseResponse,
    PacketKind::NegativeReleaseResponse,
    PacketKind::Wack,
    PacketKind::NodeStatusResponse,
    PacketKind::Unknown,
];

/// The index of `k` in [`KINDS`], by a jump table rather than a search.
#[inline]
pub(crate) fn kind_index(k: PacketKind) -> usize {
    match k {
        PacketKind::NameQueryRequest => 0,
        PacketKind::NodeStatusRequest => 1,
        PacketKind::NameRegistrationRequest => 2,
        PacketKind::NameOverwriteRequest => 3,
        PacketKind::NameRefreshRequest => 4,
        PacketKind::NameReleaseRequest => 5,
        PacketKind::MultihomedRegistrationRequest => 6,
        PacketKind::PositiveNameQueryResponse => 7,
        PacketKind::NegativeNameQueryResponse => 8,
        PacketKind::RedirectNameQueryResponse => 9,
        PacketKind::PositiveRegistrationResponse => 10,
        PacketKind::NegativeRegistrationResponse => 11,
        PacketKind::EndNodeChallengeResponse => 12,
        PacketKind::NameConflictDemand => 13,
        PacketKind::PositiveReleaseResponse => 14,
        PacketKind::NegativeReleaseResponse => 15,
        PacketKind::Wack => 16,
        PacketKind::NodeStatusResponse => 17,
        _ => KINDS.len() - 1,
    }
}

/// The selection of the command line.
#[derive(Debug, Default)]
pub(crate) struct Filter {
    kinds: Vec<PacketKind>,
    opcodes: Vec<u8>,
    rcodes: Vec<u8>,
    names: Vec<Pattern>,
    addrs: Vec<IpAddr>,
    /// Whether nothing is selected away (no option given).
    all: bool,
}

/// Names and numbers of opcodes (RFC 1002 §4.2.1.1) as `--opcode` takes them.
const OPCODE_WORDS: [(&str, u8); 7] = [
    ("query", 0),
    ("registration", 5),
    ("release", 6),
    ("wack", 7),
    ("refresh", 8),
    ("refresh-alt", 9),
    ("multihomed", 15),
];

fn number_or_word(what: &str, s: &str, words: impl Fn(&str) -> Option<u8>) -> Result<u8, String> {
    if let Ok(n) = s.parse::<u8>() {
        return if n < 16 {
            Ok(n)
        } else {
            Err(format!("--{what} {s}: values are 0 to 15"))
        };
    }
    words(s).ok_or_else(|| format!("--{what} {s:?}: unknown {what}"))
}

impl Filter {
    /// The filter of the given option values.
    ///
    /// # Errors
    /// The first value that names no kind, opcode or rcode, or is not a glob.
    pub(crate) fn new(
        kinds: &[String],
        opcodes: &[String],
        rcodes: &[String],
        names: &[String],
        addrs: &[IpAddr],
    ) -> Result<Self, String> {
        let mut f = Self {
            addrs: addrs.to_vec(),
            ..Self::default()
        };
        for k in kinds {
            let kind = KINDS
                .iter()
                .copied()
                .find(|c| c.description().eq_ignore_ascii_case(k.trim()))
                .ok_or_else(|| {
                    let all: Vec<_> = KINDS.iter().map(|c| c.description()).collect();
                    format!("--kind {k:?}: not one of: {}", all.join(", "))
                })?;
            f.kinds.push(kind);
        }
        for o in opcodes {
            f.opcodes.push(number_or_word("opcode", o, |w| {
                OPCODE_WORDS
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(w))
                    .map(|&(_, n)| n)
            })?);
        }
        for r in rcodes {
            f.rcodes.push(number_or_word("rcode", r, |w| {
                (0u8..16).find(|&n| Rcode::from(n).to_string().eq_ignore_ascii_case(w))
            })?);
        }
        for n in names {
            f.names
                .push(Pattern::new(n).map_err(|e| format!("--name {n:?}: {e}"))?);
        }
        f.all = f.is_empty();
        Ok(f)
    }

    /// Whether nothing is selected away.
    pub(crate) fn is_empty(&self) -> bool {
        self.kinds.is_empty()
            && self.opcodes.is_empty()
            && self.rcodes.is_empty()
            && self.names.is_empty()
            && self.addrs.is_empty()
    }

    /// Whether a replication segment between `src` and `dst` is selected:
    /// only `--addr` applies; the options that look inside NBNS packets
    /// select no replication traffic.
    pub(crate) fn selects_addresses(&self, src: IpAddr, dst: IpAddr) -> bool {
        let looks_inside = !(self.kinds.is_empty()
            && self.opcodes.is_empty()
            && self.rcodes.is_empty()
            && self.names.is_empty());
        !looks_inside
            && (self.addrs.is_empty() || self.addrs.iter().any(|a| *a == src || *a == dst))
    }

    /// Whether the packet `parsed` of datagram `d` is selected.
    #[inline]
    pub(crate) fn selects(
        &self,
        d: &Datagram<'_>,
        parsed: &Result<Packet<'_>, ParseError>,
    ) -> bool {
        self.all || self.selects_some(d, parsed)
    }

    /// [`Filter::selects`] when some option is given.
    #[inline(never)]
    fn selects_some(&self, d: &Datagram<'_>, parsed: &Result<Packet<'_>, ParseError>) -> bool {
        if self.is_empty() {
            return true;
        }
        if !self.addrs.is_empty() && !self.addrs.iter().any(|a| *a == d.src || *a == d.dst) {
            return false;
        }
        let looks_inside = !(self.kinds.is_empty()
            && self.opcodes.is_empty()
            && self.rcodes.is_empty()
            && self.names.is_empty());
        let Ok(p) = parsed else {
            return !looks_inside;
        };
        if !self.kinds.is_empty() && !self.kinds.contains(&p.kind()) {
            return false;
        }
        if !self.opcodes.is_empty() && !self.opcodes.contains(&u8::from(p.opcode())) {
            return false;
        }
        if !self.rcodes.is_empty() && !self.rcodes.contains(&u8::from(p.rcode())) {
            return false;
        }
        if !self.names.is_empty() && !self.name_matches(p) {
            return false;
        }
        true
    }

    /// Whether the question's name or a record's name matches a `--name`
    /// glob, written as `NAME<xx>` (case-insensitive; a glob without `<`
    /// also matches the name without its suffix).
    fn name_matches(&self, p: &Packet<'_>) -> bool {
        let options = MatchOptions {
            case_sensitive: false,
            ..MatchOptions::new()
        };
        let mut names = Vec::with_capacity(4);
        if let Some(q) = p.question() {
            names.push(q.name.netbios);
        }
        for rr in [p.answer(), p.authority(), p.additional()]
            .into_iter()
            .flatten()
        {
            names.push(rr.name.netbios);
        }
        names.iter().any(|n| {
            let shown = n.to_string();
            let bare = shown.rsplit_once('<').map_or(shown.as_str(), |(b, _)| b);
            self.names.iter().any(|g| {
                g.matches_with(&shown, options)
                    || (!g.as_str().contains('<') && g.matches_with(bare.trim_end(), options))
            })
        })
    }
}
