//! Constructors of every packet kind of RFC 1002 §4.2 (and MS-NBTE's
//! multi-homed registration): the flags and layout of each diagram.

use core::net::Ipv4Addr;

use crate::wire::{
    Flags, Labels, Message, Name, NameForm, NbAddrEntry, NbAddrs, NbFlags, NodeStatus, NodeType,
    Opcode, Question, RData, Rcode, ResourceRecord, RrType, Sections, Wack,
};

/// Constructors for every packet kind, with the flags and layout of the
/// RFC 1002 §4.2 diagrams. Each returns a [`Message`] whose fields may be
/// adjusted before emission.
impl<'a> Message<'a> {
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
