//! Byte vectors of every packet kind, and the round trips of the grammar
//! and the writer.

use core::net::Ipv4Addr;

use bytes::BufMut;

use crate::wire::error::Section;
use crate::wire::{
    Class, EmitError, Flags, Labels, Message, Name, NameFlags, NameForm, NbAddrEntry, NbAddrs,
    NbFlags, NetbiosName, NodeName, NodeNames, NodeStatus, NodeType, Opcode, Packet, PacketKind,
    ParseError, Question, RData, Rcode, RrType, Statistics, Wack,
};

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
fn emitted(p: &Message<'_>) -> Vec<u8> {
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

/// Re-emits a parsed packet, as a copy and through its message; both must
/// agree.
fn reemitted(p: &Packet<'_>) -> Vec<u8> {
    let through_message = emitted(&p.to_message());
    let mut buf = vec![0xa5; p.buffer_len()];
    assert_eq!(p.emit(&mut buf), Ok(buf.len()));
    let mut v = Vec::new();
    assert_eq!(p.emit_buf(&mut v), Ok(buf.len()));
    assert_eq!(v, buf);
    assert_eq!(buf, through_message);
    buf
}

/// Checks one vector: constructor emits it, it parses back to the same
/// packet and classifies as `kind`.
fn check(p: &Message<'_>, bytes: &[u8], kind: PacketKind) {
    assert_eq!(emitted(p), bytes, "emit of {kind:?}");
    let back = Packet::parse(bytes).unwrap();
    assert_eq!(&back, p);
    assert_eq!(back.to_message(), *p);
    assert_eq!(back.kind(), kind);
    assert_eq!(p.kind(), kind);
    assert!(back.is_canonical());
    let mut copy = vec![0xa5; bytes.len()];
    assert_eq!(back.emit(&mut copy), Ok(bytes.len()));
    assert_eq!(copy, bytes);
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
    let p = Message::registration_request(0x1234, fred(), 300_000, entry(), false);
    check(&p, &bytes, PacketKind::NameRegistrationRequest);
    let b = name_request_bytes(b"\x12\x34\x29\x10", TTL_300000);
    check(
        &Message::registration_request(0x1234, fred(), 300_000, entry(), true),
        &b,
        PacketKind::NameRegistrationRequest,
    );
}

#[test]
fn overwrite_refresh_release_multihomed() {
    let b = name_request_bytes(b"\x00\x01\x28\x00", TTL_300000);
    check(
        &Message::overwrite_request(1, fred(), 300_000, entry(), false),
        &b,
        PacketKind::NameOverwriteRequest,
    );
    let b = name_request_bytes(b"\x00\x02\x40\x00", TTL_300000);
    check(
        &Message::refresh_request(2, fred(), 300_000, entry(), false),
        &b,
        PacketKind::NameRefreshRequest,
    );
    let b = name_request_bytes(b"\x00\x03\x48\x00", TTL_300000);
    check(
        &Message::refresh_request(3, fred(), 300_000, entry(), true),
        &b,
        PacketKind::NameRefreshRequest,
    );
    let b = name_request_bytes(b"\x00\x04\x30\x00", b"\x00\x00\x00\x00");
    check(
        &Message::release_request(4, fred(), entry(), false),
        &b,
        PacketKind::NameReleaseRequest,
    );
    let b = name_request_bytes(b"\x00\x05\x79\x00", TTL_300000);
    let p = Message::multihomed_registration_request(5, fred(), 300_000, entry());
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
        &Message::positive_registration_response(0x1234, fred(), 300, entry()),
        &b,
        PacketKind::PositiveRegistrationResponse,
    );
    let rr0 = b"\x00\x20\x00\x01\x00\x00\x00\x00\x00\x06\x60\x00\x0a\x00\x00\x05";
    let b = response_bytes(b"\x12\x34\xad\x86", FRED, rr0);
    let p = Message::negative_registration_response(0x1234, fred(), Rcode::Active, entry());
    check(&p, &b, PacketKind::NegativeRegistrationResponse);
    assert_eq!(p.rcode(), Rcode::Active);
    let b = response_bytes(b"\x12\x34\xad\x00", FRED, rr);
    check(
        &Message::end_node_challenge_response(0x1234, fred(), 300, entry()),
        &b,
        PacketKind::EndNodeChallengeResponse,
    );
    let demand = b"\x00\x20\x00\x01\x00\x00\x00\x00\x00\x06\x60\x00\x00\x00\x00\x00";
    let b = response_bytes(b"\x12\x34\xad\x87", FRED, demand);
    check(
        &Message::name_conflict_demand(0x1234, fred(), NodeType::H),
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
        &Message::positive_release_response(7, fred(), entry()),
        &b,
        PacketKind::PositiveReleaseResponse,
    );
    let b = response_bytes(b"\x00\x07\xb4\x03", FRED, rr0);
    check(
        &Message::negative_release_response(7, fred(), Rcode::NameError, entry()),
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
        &Message::name_query_request(9, name, true),
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
    let p = Message::positive_name_query_response(9, name, 300_000, NbAddrs::from_slice(&entries));
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
        &Message::negative_name_query_response(9, name, Rcode::NameError),
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
    let p = Message::redirect_name_query_response(
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
    let p = Message::wack(0x1234, fred(), 60, Flags(0x2900), RrType::Null);
    check(&p, &nmbd, PacketKind::Wack);
    // Samba4: RR type NB, TTL 5 + 4n.
    let samba4 = response_bytes(
        b"\x12\x34\xbc\x00",
        FRED,
        b"\x00\x20\x00\x01\x00\x00\x00\x09\x00\x02\x79\x00",
    );
    let p = Message::wack(0x1234, fred(), 9, Flags(0x7900), RrType::Nb);
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
    let p = Message::node_status_request(11, Name::unscoped(NetbiosName::wildcard()));
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
    let p = Message::node_status_response(11, Name::unscoped(NetbiosName::wildcard()), status);
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
    assert_eq!(reemitted(&p), b);
}

#[test]
fn scoped_names() {
    let scope = Labels::from_dotted(b"corp.example").unwrap();
    let name = Name::new(NetbiosName::new("FRED", 0).unwrap(), scope);
    let p = Message::registration_request(1, name, 300, entry(), false);
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
    assert_eq!(reemitted(&p), b);
    assert_eq!(
        Packet::parse_exact(&b),
        Err(ParseError::TrailingBytes { offset: 50, len: 3 })
    );
}

#[test]
fn parsed_view_decodes_sections_and_can_be_changed() {
    let built = Message::registration_request(7, fred(), 300, entry(), false);
    let bytes = emitted(&built);
    let parsed = Packet::parse(&bytes).unwrap();
    assert_eq!(parsed.header(), built.header());
    assert_eq!(parsed.sections(), built.sections);
    let mut p = parsed.to_message();
    assert_eq!(p.header(), built.header());
    assert_eq!(p.sections, built.sections);
    assert_eq!(p.question(), built.question());
    assert_eq!(p.additional(), built.additional());
    assert_eq!(p.additional().unwrap().name_form, NameForm::QuestionPointer);
    assert_eq!(p.answer(), None);
    assert_eq!(p.name(), Some(fred()));
    assert_eq!(format!("{p:?}"), format!("{built:?}"));
    assert_eq!(parsed.to_string(), built.to_string());
    // A parsed packet is changed through its message.
    p.sections.additional.as_mut().unwrap().ttl = 600;
    assert_ne!(p, built);
    assert_eq!(p.additional().unwrap().ttl, 600);
    assert_eq!(p.question(), built.question());
    let again = emitted(&p);
    assert_eq!(again.len(), bytes.len());
    assert_eq!(Packet::parse(&again).unwrap(), p);
}

#[test]
fn straight_line_writers_match_the_general_writer() {
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
            Message::name_query_request(1, name, true),
            Message::node_status_request(2, name),
            Message::registration_request(3, name, 300, entry(), false),
            Message::overwrite_request(4, name, 300, entry(), true),
            Message::refresh_request(5, name, 300, entry(), true),
            Message::release_request(6, name, entry(), false),
            Message::multihomed_registration_request(7, name, 300, entry()),
            Message::positive_registration_response(8, name, 300, entry()),
            Message::negative_registration_response(9, name, Rcode::Active, entry()),
            Message::end_node_challenge_response(10, name, 300, entry()),
            Message::name_conflict_demand(11, name, NodeType::H),
            Message::positive_release_response(12, name, entry()),
            Message::negative_release_response(13, name, Rcode::Refused, entry()),
            Message::positive_name_query_response(14, name, 60, NbAddrs::from_slice(&entries)),
            Message::positive_name_query_response(15, name, 60, NbAddrs::EMPTY),
            Message::negative_name_query_response(16, name, Rcode::NameError),
            Message::redirect_name_query_response(17, name, 9, name.scope, Ipv4Addr::LOCALHOST),
            Message::wack(18, name, 60, Flags(0x2910), RrType::Nb),
            Message::wack(19, name, 60, Flags(0x2910), RrType::Null),
            Message::node_status_response(20, name, status(&full)),
            Message::node_status_response(21, name, status(&short)),
        ];
        for p in &packets {
            let (mut straight, mut general) = ([0u8; 256], [0u8; 256]);
            let n = p.emit(&mut straight).unwrap();
            assert_eq!(p.emit_general(&mut general), Ok(n), "{p}");
            assert_eq!(straight[..n], general[..n], "{p}");
            assert_eq!(Packet::parse(&straight[..n]).unwrap(), *p, "{p}");
        }
    }
    // A `C0 0C` record that does not carry the question's name is
    // refused by both.
    let mut p = Message::registration_request(1, fred(), 300, entry(), false);
    {
        let s = &mut p.sections;
        s.additional.as_mut().unwrap().name = Name::unscoped(NetbiosName::wildcard());
    }
    let mut buf = [0u8; 128];
    let refused = Err(EmitError::PointerMismatch {
        section: Section::Additional,
    });
    assert_eq!(p.emit(&mut buf), refused);
    assert_eq!(p.emit_general(&mut buf), refused);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

    /// emit ∘ parse: whatever the grammar accepts re-emits, through its
    /// message, to a datagram that parses to the same packet; a canonical
    /// datagram re-emits byte for byte, and the view's copy agrees with the
    /// writer. Inputs are the common shapes with a few bytes changed, cut or
    /// extended, so that most edits land on a rule.
    #[test]
    fn reemission_of_what_parses(
        shape in 0usize..7,
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
        let scoped = Name::new(fred().netbios, Labels::from_dotted(b"corp.example").unwrap());
        let p = match shape {
            0 => Message::name_query_request(1, fred(), false),
            1 => Message::registration_request(2, fred(), 300, entry(), false),
            2 => Message::positive_name_query_response(3, fred(), 60, NbAddrs::from_slice(&two)),
            3 => Message::node_status_response(4, fred(), NodeStatus {
                names: NodeNames::from_slice(&names[..table.min(3)]),
                statistics: Statistics(&stats[..stats_len.min(46)]),
            }),
            4 => Message::wack(5, fred(), 60, Flags(0x2900), RrType::Nb),
            5 => Message::redirect_name_query_response(6, scoped, 9, scoped.scope, Ipv4Addr::LOCALHOST),
            _ => Message::negative_name_query_response(7, fred(), Rcode::NameError),
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
        let Ok(parsed) = Packet::parse(&bytes) else {
            return Ok(());
        };
        let message = parsed.to_message();
        let mut out = vec![0u8; message.buffer_len()];
        match message.emit(&mut out) {
            Ok(n) => {
                proptest::prop_assert_eq!(n, out.len());
                let back = Packet::parse(&out).unwrap();
                proptest::prop_assert_eq!(&back, &parsed);
                proptest::prop_assert!(back.is_canonical());
                if parsed.is_canonical() {
                    proptest::prop_assert_eq!(&out, &bytes);
                }
                let mut copy = vec![0u8; parsed.buffer_len()];
                proptest::prop_assert_eq!(parsed.emit(&mut copy), Ok(n));
                proptest::prop_assert_eq!(copy, out);
            }
            // What the wire cannot carry from a message (a 2-byte RDATA in
            // a WACK's answer slot that is not a WACK payload) cannot have
            // come from the wire either.
            Err(e) => proptest::prop_assert!(false, "{:?} for {:?}", e, parsed),
        }
    }

    /// parse ∘ emit: every message the writer accepts parses back to
    /// itself (NB and NBSTAT tables of any size, scopes, trailing bytes).
    #[test]
    fn parse_of_what_emits(
        id in proptest::prelude::any::<u16>(),
        flags in proptest::prelude::any::<u16>(),
        scope in proptest::collection::vec(1usize..10, 0..4),
        n_entries in 0usize..6,
        n_names in 0usize..4,
        kind in 0usize..5,
        trailing in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4),
    ) {
        let text: Vec<u8> = scope
            .iter()
            .map(|&n| vec![b'a'; n])
            .collect::<Vec<_>>()
            .join(&b'.');
        let name = Name::new(fred().netbios, Labels::from_dotted(&text).unwrap());
        let entries = [entry(); 6];
        let names = [NodeName {
            name: NetbiosName::new("X", 0x20).unwrap(),
            flags: NameFlags(0x0400),
        }; 4];
        let mut m = match kind {
            0 => Message::positive_name_query_response(id, name, 60, NbAddrs::from_slice(&entries[..n_entries])),
            1 => Message::registration_request(id, name, 60, entry(), false),
            2 => Message::node_status_response(id, name, NodeStatus {
                names: NodeNames::from_slice(&names[..n_names]),
                statistics: Statistics::ZEROED,
            }),
            3 => Message::redirect_name_query_response(id, name, 9, name.scope, Ipv4Addr::LOCALHOST),
            _ => Message::name_query_request(id, name, true),
        };
        // Any flags but a WACK's opcode, whose answer reads differently.
        m.flags = Flags(flags);
        if m.flags.opcode() == Opcode::Wack {
            m.flags = m.flags.with_opcode(Opcode::Query);
        }
        m.sections.trailing = &trailing;
        let bytes = emitted(&m);
        let p = Packet::parse(&bytes).unwrap();
        proptest::prop_assert_eq!(p.to_message(), m.clone());
        proptest::prop_assert!(p.is_canonical());
        proptest::prop_assert_eq!(p.kind(), m.kind());
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
        Message::registration_request(1, scoped, 300, entry(), false),
        Message::node_status_response(
            2,
            fred(),
            NodeStatus {
                names: NodeNames::from_slice(&names),
                statistics: Statistics(&stats),
            },
        ),
        Message::redirect_name_query_response(3, scoped, 9, scoped.scope, Ipv4Addr::LOCALHOST),
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
    let mut p = Message::registration_request(1, fred(), 300, entry(), false);
    {
        let s = &mut p.sections;
        s.question = Some(Question::nb(Name::unscoped(
            NetbiosName::new("OTHER", 0).unwrap(),
        )));
    }
    let mut buf = [0u8; 128];
    assert_eq!(
        p.emit(&mut buf),
        Err(EmitError::PointerMismatch {
            section: Section::Additional
        })
    );
    let mut p = Message::positive_registration_response(1, fred(), 300, entry());
    {
        let s = &mut p.sections;
        s.answer.as_mut().unwrap().rdata = RData::Wack(Wack {
            rr_type: RrType::Nb,
            request_flags: Flags(0),
        });
    }
    assert_eq!(
        p.emit(&mut buf),
        Err(EmitError::RdataMismatch {
            section: Section::Answer
        })
    );
    {
        let s = &mut p.sections;
        s.answer.as_mut().unwrap().rdata = RData::Unknown {
            rr_type: RrType::Unknown(0x20),
            data: &[],
        };
    }
    assert_eq!(
        p.emit(&mut buf),
        Err(EmitError::RdataMismatch {
            section: Section::Answer
        })
    );
    let p = Message::positive_registration_response(1, fred(), 300, entry());
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
    assert_eq!(reemitted(&p), b);
}

#[test]
fn kind_reads_types_by_value() {
    // A caller may spell NBSTAT as `Unknown(0x21)`; it is sent, parsed and
    // classified as NBSTAT.
    let mut m = Message::name_query_request(1, fred(), false);
    m.sections.question.as_mut().unwrap().qtype = RrType::Unknown(0x21);
    assert_eq!(m.kind(), PacketKind::NodeStatusRequest);
    let bytes = emitted(&m);
    assert_eq!(Packet::parse(&bytes).unwrap().kind(), m.kind());
    let mut r = Message::positive_name_query_response(1, fred(), 0, NbAddrs::one(entry()));
    r.sections.answer.as_mut().unwrap().rdata = RData::Unknown {
        rr_type: RrType::Unknown(0x21),
        data: &[0],
    };
    // Raw RDATA labelled with a modelled type does not emit; the kind
    // still reads the type by value.
    assert_eq!(r.kind(), PacketKind::NodeStatusResponse);
}

#[test]
fn wire_view_size() {
    // The view is returned in a `Result`: it stays small enough to copy in
    // a few stores.
    #[cfg(target_pointer_width = "64")]
    assert!(size_of::<Packet<'_>>() <= 120);
    assert_eq!(
        size_of::<Result<Packet<'_>, ParseError>>(),
        size_of::<Packet<'_>>()
    );
}

#[test]
fn datagrams_over_64_kib_are_refused() {
    let mut big = emitted(&Message::name_query_request(1, fred(), false));
    let fits = big.len();
    big.resize(65_535, 0);
    let p = Packet::parse(&big).unwrap();
    assert_eq!(p.trailing().len(), 65_535 - fits);
    big.push(0);
    assert_eq!(
        Packet::parse(&big),
        Err(ParseError::TooLong { offset: 65_535 })
    );
}

#[test]
fn messages_over_64_kib_are_refused() {
    let pad = vec![0u8; 65_535 - 50];
    let mut m = Message::name_query_request(1, fred(), false);
    m.sections.trailing = &pad;
    assert_eq!(m.buffer_len(), 65_535);
    assert_eq!(emitted(&m).len(), 65_535);
    let longer = vec![0u8; 65_535 - 49];
    m.sections.trailing = &longer;
    let mut buf = vec![0u8; 70_000];
    assert_eq!(m.emit(&mut buf), Err(EmitError::TooLong { len: 65_536 }));
    let mut v = Vec::new();
    assert_eq!(m.emit_buf(&mut v), Err(EmitError::TooLong { len: 65_536 }));
    assert!(v.is_empty());
}
