//! Property tests of the wire layer: every packet the model can express
//! round-trips through emit and parse, and no input makes the parser panic.

use core::net::Ipv4Addr;

use nbns::wire::{
    Class, Flags, Labels, Message, Name, NameFlags, NameForm, NbAddrEntry, NbAddrs, NbFlags,
    NetbiosName, NodeName, NodeNames, NodeStatus, Opcode, Packet, Question, RData, ResourceRecord,
    RrType, Sections, Statistics, Wack,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct NameSpec {
    raw: [u8; 16],
    scope: Vec<u8>,
}

#[derive(Debug, Clone)]
enum RdataSpec {
    Nb(Vec<(u16, [u8; 4])>),
    NodeStatus(Vec<([u8; 16], u16)>, Vec<u8>),
    Null(Vec<u8>),
    A([u8; 4]),
    Ns(Vec<u8>),
    Wack(u16, u16),
    Unknown(u16, Vec<u8>),
}

#[derive(Debug, Clone)]
struct RecordSpec {
    name: NameSpec,
    pointer: bool,
    class: u16,
    ttl: u32,
    rdata: RdataSpec,
}

#[derive(Debug, Clone)]
struct PacketSpec {
    id: u16,
    flags: u16,
    question: Option<(NameSpec, u16, u16)>,
    records: [Option<RecordSpec>; 3],
    trailing: Vec<u8>,
}

fn label() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>().prop_filter("no dot", |b| *b != b'.'), 1..20)
}

fn dotted() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(label(), 0..4).prop_map(|labels| labels.join(&b'.'))
}

fn name() -> impl Strategy<Value = NameSpec> {
    (any::<[u8; 16]>(), dotted()).prop_map(|(raw, scope)| NameSpec { raw, scope })
}

fn rdata() -> impl Strategy<Value = RdataSpec> {
    prop_oneof![
        prop::collection::vec((any::<u16>(), any::<[u8; 4]>()), 0..6).prop_map(RdataSpec::Nb),
        (
            prop::collection::vec((any::<[u8; 16]>(), any::<u16>()), 0..8),
            prop::collection::vec(any::<u8>(), 0..60)
        )
            .prop_map(|(n, s)| RdataSpec::NodeStatus(n, s)),
        prop::collection::vec(any::<u8>(), 0..8).prop_map(RdataSpec::Null),
        any::<[u8; 4]>().prop_map(RdataSpec::A),
        dotted().prop_map(RdataSpec::Ns),
        (any::<u16>(), any::<u16>()).prop_map(|(t, f)| RdataSpec::Wack(t, f)),
        (
            any::<u16>().prop_filter("unmodelled type", |t| matches!(
                RrType::from(*t),
                RrType::Unknown(_)
            )),
            prop::collection::vec(any::<u8>(), 0..12)
        )
            .prop_map(|(t, d)| RdataSpec::Unknown(t, d)),
    ]
}

fn record() -> impl Strategy<Value = RecordSpec> {
    (
        name(),
        any::<bool>(),
        prop_oneof![Just(1u16), any::<u16>()],
        any::<u32>(),
        rdata(),
    )
        .prop_map(|(name, pointer, class, ttl, rdata)| RecordSpec {
            name,
            pointer,
            class,
            ttl,
            rdata,
        })
}

fn packet() -> impl Strategy<Value = PacketSpec> {
    let flags = prop_oneof![
        any::<u16>(),
        // Bias towards opcode-7 responses so WACK slots get exercised.
        any::<u16>().prop_map(|f| Flags(f)
            .with_response(true)
            .with_opcode(Opcode::Wack)
            .bits()),
    ];
    (
        any::<u16>(),
        flags,
        prop::option::of((name(), any::<u16>(), any::<u16>())),
        [
            prop::option::of(record()),
            prop::option::of(record()),
            prop::option::of(record()),
        ],
        prop::collection::vec(any::<u8>(), 0..4),
    )
        .prop_map(|(id, flags, question, records, trailing)| PacketSpec {
            id,
            flags,
            question,
            records,
            trailing,
        })
}

fn build_name(n: &NameSpec) -> Name<'_> {
    Name::new(
        NetbiosName::from_raw(n.raw),
        Labels::from_dotted(&n.scope).unwrap(),
    )
}

/// Storage the borrowed packet points into.
struct Owned {
    nb: Vec<Vec<NbAddrEntry>>,
    names: Vec<Vec<NodeName>>,
}

fn owned(spec: &PacketSpec) -> Owned {
    let mut o = Owned {
        nb: Vec::new(),
        names: Vec::new(),
    };
    for r in spec.records.iter().flatten() {
        match &r.rdata {
            RdataSpec::Nb(v) => o.nb.push(
                v.iter()
                    .map(|(f, a)| NbAddrEntry::new(NbFlags(*f), Ipv4Addr::from(*a)))
                    .collect(),
            ),
            RdataSpec::NodeStatus(v, _) => o.names.push(
                v.iter()
                    .map(|(n, f)| NodeName {
                        name: NetbiosName::from_raw(*n),
                        flags: NameFlags(*f),
                    })
                    .collect(),
            ),
            _ => {}
        }
    }
    o
}

/// Builds a packet the wire can express: a `C0 0C` pointer only names a
/// record that has the question's name, and a WACK payload stands exactly in
/// the answer of an opcode-7 response.
fn build<'a>(spec: &'a PacketSpec, o: &'a Owned) -> Message<'a> {
    let flags = Flags(spec.flags);
    let question = spec.question.as_ref().map(|(n, t, c)| Question {
        name: build_name(n),
        qtype: RrType::from(*t),
        qclass: Class::from(*c),
    });
    let wack_packet = flags.is_response() && flags.opcode() == Opcode::Wack;
    let (mut nb, mut names) = (o.nb.iter(), o.names.iter());
    let mut records = spec.records.iter().enumerate().map(|(i, r)| {
        r.as_ref().map(|r| {
            let wack_slot = wack_packet && i == 0;
            let mut rdata = match &r.rdata {
                RdataSpec::Nb(_) => RData::Nb(NbAddrs::from_slice(nb.next().unwrap())),
                RdataSpec::NodeStatus(_, stats) => RData::NodeStatus(NodeStatus {
                    names: NodeNames::from_slice(names.next().unwrap()),
                    statistics: Statistics(stats),
                }),
                RdataSpec::Null(d) => RData::Null(d),
                RdataSpec::A(a) => RData::A(Ipv4Addr::from(*a)),
                RdataSpec::Ns(d) => RData::Ns(Labels::from_dotted(d).unwrap()),
                RdataSpec::Wack(t, f) => RData::Wack(Wack {
                    rr_type: RrType::from(*t),
                    request_flags: Flags(*f),
                }),
                RdataSpec::Unknown(t, d) => RData::Unknown {
                    rr_type: RrType::from(*t),
                    data: d,
                },
            };
            if wack_slot && rdata.buffer_len() == 2 && !matches!(rdata, RData::Wack(_)) {
                rdata = RData::Wack(Wack {
                    rr_type: rdata.rr_type(),
                    request_flags: Flags(0x2900),
                });
            }
            if !wack_slot && matches!(rdata, RData::Wack(_)) {
                rdata = RData::Null(&[]);
            }
            let mut rr = ResourceRecord::new(build_name(&r.name), r.ttl, rdata);
            rr.class = Class::from(r.class);
            if let (true, Some(q)) = (r.pointer, question) {
                rr.name = q.name;
                rr.name_form = NameForm::QuestionPointer;
            }
            rr
        })
    });
    Message::from_sections(
        spec.id,
        flags,
        Sections {
            question,
            answer: records.next().unwrap(),
            authority: records.next().unwrap(),
            additional: records.next().unwrap(),
            trailing: &spec.trailing,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_expressible_packet_round_trips(spec in packet()) {
        let o = owned(&spec);
        let p = build(&spec, &o);
        let mut buf = vec![0u8; p.buffer_len()];
        let n = p.emit(&mut buf).expect("emit");
        prop_assert_eq!(n, buf.len());
        let back = Packet::parse(&buf).expect("parse of emitted packet");
        prop_assert_eq!(&back, &p);
        prop_assert_eq!(back.to_message(), p.clone());
        prop_assert_eq!(back.kind(), p.kind());
        prop_assert!(back.is_canonical());
        let mut again = vec![0u8; back.buffer_len()];
        back.emit(&mut again).unwrap();
        prop_assert_eq!(&again, &buf);
        // Re-emission through the message writes the same bytes as the copy.
        let mut rewritten = vec![0u8; n];
        prop_assert_eq!(back.to_message().emit(&mut rewritten), Ok(n));
        prop_assert_eq!(&rewritten, &buf);
        // Into a slice, common shapes take straight-line paths; into a
        // `BufMut`, every packet takes the general writer. Same bytes.
        let mut grown = Vec::new();
        prop_assert_eq!(p.emit_buf(&mut grown), Ok(n));
        prop_assert_eq!(grown, buf);
    }

    #[test]
    fn common_shapes_emit_as_the_general_writer_does(
        id in any::<u16>(),
        flags in any::<u16>(),
        raw in any::<[u8; 16]>(),
        ttl in any::<u32>(),
        entries in prop::collection::vec((any::<u16>(), any::<[u8; 4]>()), 0..6),
        names in prop::collection::vec((any::<[u8; 16]>(), any::<u16>()), 0..4),
        stats in prop::collection::vec(any::<u8>(), 0..50),
        shape in 0u8..4,
    ) {
        let name = Name::unscoped(NetbiosName::from_raw(raw));
        let entries: Vec<NbAddrEntry> = entries
            .iter()
            .map(|&(f, a)| NbAddrEntry::new(NbFlags(f), Ipv4Addr::from(a)))
            .collect();
        let names: Vec<NodeName> = names
            .iter()
            .map(|&(n, f)| NodeName { name: NetbiosName::from_raw(n), flags: NameFlags(f) })
            .collect();
        let one = entries.first().copied().unwrap_or(NbAddrEntry::new(NbFlags(0), Ipv4Addr::LOCALHOST));
        let mut p = match shape {
            0 => Message::name_query_request(id, name, false),
            1 => Message::registration_request(id, name, ttl, one, false),
            2 => Message::positive_name_query_response(id, name, ttl, NbAddrs::from_slice(&entries)),
            _ => Message::node_status_response(
                id,
                name,
                NodeStatus { names: NodeNames::from_slice(&names), statistics: Statistics(&stats) },
            ),
        };
        p.flags = Flags(flags);
        let mut grown = Vec::new();
        let general = p.emit_buf(&mut grown);
        let mut buf = vec![0u8; 400];
        let fast = p.emit(&mut buf);
        prop_assert_eq!(fast, general);
        if let Ok(n) = fast {
            prop_assert_eq!(&buf[..n], &grown[..]);
            for have in [0, n / 2, n - 1] {
                let mut short = vec![0u8; have];
                prop_assert_eq!(
                    p.emit(&mut short),
                    Err(nbns::wire::EmitError::BufferTooSmall { need: n, have })
                );
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..700)) {
        if let Ok(p) = Packet::parse(&bytes) {
            let mut out = vec![0u8; p.buffer_len()];
            p.emit(&mut out).unwrap();
            prop_assert_eq!(Packet::parse(&out).unwrap(), p);
        }
    }

    #[test]
    fn mutated_real_packets_never_panic(
        which in 0usize..4,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let seeds: [&[u8]; 4] = [
            include_bytes!("data/corpus/tcpdump-eapon1-45.bin"),
            include_bytes!("data/corpus/zeek-smb-v2-reserved1-130.bin"),
            include_bytes!("data/corpus/sv-smb2-ntlmssp-180.bin"),
            include_bytes!("data/corpus/scapy-uts-L93.bin"),
        ];
        let mut bytes = seeds[which].to_vec();
        for (at, v) in edits {
            let i = at.index(bytes.len());
            bytes[i] = v;
        }
        bytes.truncate(cut.index(bytes.len() + 1));
        match Packet::parse(&bytes) {
            Ok(p) => {
                let mut out = vec![0u8; p.buffer_len()];
                p.emit(&mut out).unwrap();
                prop_assert_eq!(Packet::parse(&out).unwrap(), p);
            }
            Err(e) => prop_assert!(e.offset() <= bytes.len()),
        }
    }
}
