//! A one-line summary of a packet in words, like the Info column of a
//! packet analyser: `Name registration request WORKSTATION1<00> 10.0.0.5 TTL
//! 300000`, `WACK 60 s`, `Negative name query response NAM_ERR`.
//!
//! Written straight into the formatter: no allocation.

use core::fmt;

use crate::wire::{Message, NbAddrs, Packet, PacketKind, RData, ResourceRecord};

/// Writes the addresses of an NB record, comma-separated (`-` when empty).
fn write_addrs(f: &mut fmt::Formatter<'_>, addrs: &NbAddrs<'_>) -> fmt::Result {
    if addrs.is_empty() {
        return f.write_str("-");
    }
    for (i, e) in addrs.iter().enumerate() {
        if i > 0 {
            f.write_str(",")?;
        }
        write!(f, "{}", e.address)?;
    }
    Ok(())
}

/// Writes ` ADDRS` for an NB record, or ` TYPE` for another one.
fn write_rdata_short(f: &mut fmt::Formatter<'_>, rr: &ResourceRecord<'_>) -> fmt::Result {
    match &rr.rdata {
        RData::Nb(a) => {
            f.write_str(" ")?;
            write_addrs(f, a)
        }
        other => write!(f, " {}", other.rr_type()),
    }
}

impl fmt::Display for Message<'_> {
    /// The packet's kind in words ([`PacketKind::description`]) followed by
    /// what matters for that kind:
    ///
    /// * requests: the name, and for the registration family the address
    ///   and TTL of the additional record;
    /// * positive responses: the name, addresses and TTL;
    /// * negative responses: the name (except for name queries) and the
    ///   rcode;
    /// * a WACK: how long to wait; a node status response: how many names;
    /// * an unknown packet: opcode, R and rcode.
    ///
    /// ```
    /// use core::net::Ipv4Addr;
    /// use nbns::wire::*;
    /// let name = Name::unscoped(NetbiosName::new("WORKSTATION1", 0).unwrap());
    /// let e = NbAddrEntry::new(NbFlags::new(false, NodeType::B), Ipv4Addr::new(10, 0, 0, 5));
    /// let p = Message::registration_request(1, name, 300_000, e, true);
    /// assert_eq!(p.to_string(), "Name registration request WORKSTATION1<00> 10.0.0.5 TTL 300000");
    /// let w = Message::wack(1, name, 60, p.flags, RrType::Null);
    /// assert_eq!(w.to_string(), "WACK 60 s");
    /// let n = Message::negative_name_query_response(1, name, Rcode::NameError);
    /// assert_eq!(n.to_string(), "Negative name query response NAM_ERR");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind();
        f.write_str(kind.description())?;
        let name = self.name();
        let data = self.data_record();
        match kind {
            PacketKind::NameQueryRequest | PacketKind::NodeStatusRequest => {
                if let Some(n) = name {
                    write!(f, " {n}")?;
                }
            }
            PacketKind::NameRegistrationRequest
            | PacketKind::NameOverwriteRequest
            | PacketKind::NameRefreshRequest
            | PacketKind::NameReleaseRequest
            | PacketKind::MultihomedRegistrationRequest
            | PacketKind::PositiveNameQueryResponse
            | PacketKind::PositiveRegistrationResponse
            | PacketKind::EndNodeChallengeResponse => {
                if let Some(n) = name {
                    write!(f, " {n}")?;
                }
                if let Some(rr) = data {
                    write_rdata_short(f, &rr)?;
                    write!(f, " TTL {}", rr.ttl)?;
                }
            }
            PacketKind::PositiveReleaseResponse | PacketKind::NameConflictDemand => {
                if let Some(n) = name {
                    write!(f, " {n}")?;
                }
                if let Some(rr) = data {
                    write_rdata_short(f, &rr)?;
                }
            }
            PacketKind::NegativeNameQueryResponse => write!(f, " {}", self.rcode())?,
            PacketKind::NegativeRegistrationResponse | PacketKind::NegativeReleaseResponse => {
                if let Some(n) = name {
                    write!(f, " {n}")?;
                }
                write!(f, " {}", self.rcode())?;
            }
            PacketKind::RedirectNameQueryResponse => {
                if let Some(n) = name {
                    write!(f, " {n}")?;
                }
                for (_, rr) in self.records() {
                    match rr.rdata {
                        RData::Ns(labels) => write!(f, " NS {labels}")?,
                        RData::A(a) => write!(f, " A {a}")?,
                        _ => {}
                    }
                }
            }
            PacketKind::Wack => {
                if let Some(rr) = &self.answer() {
                    write!(f, " {} s", rr.ttl)?;
                }
            }
            PacketKind::NodeStatusResponse => {
                if let Some(RData::NodeStatus(s)) = self.answer().as_ref().map(|r| r.rdata) {
                    let n = s.names.len();
                    write!(f, " {n} name{}", if n == 1 { "" } else { "s" })?;
                }
            }
            _ => {
                write!(
                    f,
                    ": opcode {} {}",
                    u8::from(self.opcode()),
                    if self.is_response() {
                        "response"
                    } else {
                        "request"
                    }
                )?;
                if self.is_response() {
                    write!(f, " {}", self.rcode())?;
                }
                if let Some(n) = name {
                    write!(f, " {n}")?;
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for Packet<'_> {
    /// As the packet's [`Message`] displays ([`Packet::to_message`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_message(), f)
    }
}

#[cfg(test)]
mod tests {
    extern crate alloc;
    use alloc::string::ToString;
    use core::net::Ipv4Addr;

    use crate::wire::*;

    fn name() -> Name<'static> {
        Name::unscoped(NetbiosName::new("HOST", 0x20).unwrap())
    }

    fn entry() -> NbAddrEntry {
        NbAddrEntry::new(NbFlags::new(false, NodeType::H), Ipv4Addr::new(10, 0, 0, 5))
    }

    #[test]
    fn every_kind_in_words() {
        let n = name();
        let e = entry();
        let two = [e, NbAddrEntry::new(e.flags, Ipv4Addr::new(10, 0, 0, 6))];
        let stats = Statistics::ZEROED;
        let names = [NodeName {
            name: NetbiosName::new("HOST", 0).unwrap(),
            flags: NameFlags::active(false, NodeType::B),
        }];
        let ns = Labels::from_dotted(b"wins.corp").unwrap();
        let cases = [
            (
                Message::name_query_request(1, n, true),
                "Name query request HOST<20>",
            ),
            (
                Message::node_status_request(1, Name::unscoped(NetbiosName::wildcard())),
                "Node status request *<00>",
            ),
            (
                Message::overwrite_request(1, n, 5, e, true),
                "Name overwrite request HOST<20> 10.0.0.5 TTL 5",
            ),
            (
                Message::refresh_request(1, n, 7, e, false),
                "Name refresh request HOST<20> 10.0.0.5 TTL 7",
            ),
            (
                Message::release_request(1, n, e, false),
                "Name release request HOST<20> 10.0.0.5 TTL 0",
            ),
            (
                Message::multihomed_registration_request(1, n, 9, e),
                "Multi-homed name registration request HOST<20> 10.0.0.5 TTL 9",
            ),
            (
                Message::positive_name_query_response(1, n, 300, NbAddrs::from_slice(&two)),
                "Positive name query response HOST<20> 10.0.0.5,10.0.0.6 TTL 300",
            ),
            (
                Message::redirect_name_query_response(1, n, 0, ns, Ipv4Addr::new(10, 0, 0, 1)),
                "Redirect name query response HOST<20> NS wins.corp A 10.0.0.1",
            ),
            (
                Message::positive_registration_response(1, n, 60, e),
                "Positive name registration response HOST<20> 10.0.0.5 TTL 60",
            ),
            (
                Message::negative_registration_response(1, n, Rcode::Active, e),
                "Negative name registration response HOST<20> ACT_ERR",
            ),
            (
                Message::end_node_challenge_response(1, n, 60, e),
                "End-node challenge registration response HOST<20> 10.0.0.5 TTL 60",
            ),
            (
                Message::name_conflict_demand(1, n, NodeType::B),
                "Name conflict demand HOST<20> 0.0.0.0",
            ),
            (
                Message::positive_release_response(1, n, e),
                "Positive name release response HOST<20> 10.0.0.5",
            ),
            (
                Message::negative_release_response(1, n, Rcode::Refused, e),
                "Negative name release response HOST<20> RFS_ERR",
            ),
            (
                Message::node_status_response(
                    1,
                    n,
                    NodeStatus {
                        names: NodeNames::from_slice(&names),
                        statistics: stats,
                    },
                ),
                "Node status response 1 name",
            ),
        ];
        for (p, want) in cases {
            assert_eq!(p.to_string(), want);
        }
        let mut odd = Message::name_query_request(1, n, false);
        odd.flags = odd
            .flags
            .with_opcode(Opcode::Unknown(3))
            .with_response(true);
        assert_eq!(
            odd.to_string(),
            "Unknown packet: opcode 3 response OK HOST<20>"
        );
    }
}
