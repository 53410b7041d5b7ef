//! Property tests of the replication wire layer: every message the model
//! can express round-trips through emit and parse (both ways), arbitrary
//! bytes never make the parser panic, and arbitrary streams cut into
//! arbitrary chunks never make the framer panic or hold more than its
//! limit.

use core::net::Ipv4Addr;

use nbns::winsrepl::{
    Addresses, AddressesRepr, Association, AssociationConfig, Body, BodyRepr, Event, Framer,
    Member, Message, MessageRepr, NameRecord, NameRecordRepr, OwnerRecord, OwnerTableRepr,
    RecordFlags, Start, Stop, UpdateKind, frame_len,
};
use nbns::wire::{NetbiosName, NodeType};
use proptest::prelude::*;

/// An owned record, from which a [`NameRecordRepr`] borrows.
#[derive(Debug, Clone, PartialEq)]
struct RecordSpec {
    name: [u8; 16],
    scope: Vec<u8>,
    flags: u32,
    group: u32,
    version: u64,
    single: u32,
    members: Vec<Member>,
    reserved: u32,
}

impl RecordSpec {
    fn repr(&self) -> NameRecordRepr<'_> {
        let flags = RecordFlags(self.flags);
        let addresses = if flags.record_type().has_list() {
            AddressesRepr::List(&self.members)
        } else {
            AddressesRepr::Single(Ipv4Addr::from(self.single))
        };
        NameRecordRepr {
            group: self.group,
            reserved: self.reserved,
            ..NameRecordRepr::new(
                NetbiosName::from_raw(self.name),
                flags,
                self.version,
                addresses,
            )
            .with_scope(&self.scope)
        }
    }

    /// What the parse shows, back as a spec.
    fn from_view(r: &NameRecord<'_>) -> Self {
        let (single, members) = match r.addresses {
            Addresses::Single(a) => (u32::from(a), Vec::new()),
            Addresses::List(list) => (0, list.iter().collect()),
        };
        Self {
            name: *r.name.netbios().expect("canonical name").as_bytes(),
            scope: r.name.scope().to_vec(),
            flags: r.flags.bits(),
            group: r.group,
            version: r.version,
            single,
            members,
            reserved: r.reserved,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum BodySpec {
    StartRequest(Start),
    StartReply(Start),
    Stop(Stop),
    TableQuery,
    TableReply(Vec<OwnerRecord>, Ipv4Addr),
    SendRequest(OwnerRecord),
    SendReply(Vec<RecordSpec>),
    Update(UpdateKind, Vec<OwnerRecord>, Ipv4Addr),
    UnknownCommand(u32, Vec<u8>),
    UnknownType(u32, Vec<u8>),
}

#[derive(Debug, Clone, PartialEq)]
struct MessageSpec {
    opcode: u32,
    handle: u32,
    body: BodySpec,
    padding: Vec<u8>,
}

/// Emits the spec's message (the records' reprs need storage).
fn emit(spec: &MessageSpec) -> Vec<u8> {
    with_repr(spec, |m| {
        let mut out = vec![0xa5; m.buffer_len()];
        assert_eq!(m.emit(&mut out), Ok(out.len()));
        out
    })
}

fn with_repr<T>(spec: &MessageSpec, f: impl FnOnce(&MessageRepr<'_>) -> T) -> T {
    let records: Vec<NameRecordRepr<'_>> = match &spec.body {
        BodySpec::SendReply(r) => r.iter().map(RecordSpec::repr).collect(),
        _ => Vec::new(),
    };
    let body = match &spec.body {
        BodySpec::StartRequest(s) => BodyRepr::StartRequest(*s),
        BodySpec::StartReply(s) => BodyRepr::StartReply(*s),
        BodySpec::Stop(s) => BodyRepr::Stop(*s),
        BodySpec::TableQuery => BodyRepr::TableQuery,
        BodySpec::TableReply(owners, initiator) => BodyRepr::TableReply(OwnerTableRepr {
            owners,
            initiator: *initiator,
        }),
        BodySpec::SendRequest(o) => BodyRepr::SendRequest(*o),
        BodySpec::SendReply(_) => BodyRepr::SendReply(&records),
        BodySpec::Update(kind, owners, initiator) => BodyRepr::UpdateNotification(
            *kind,
            OwnerTableRepr {
                owners,
                initiator: *initiator,
            },
        ),
        BodySpec::UnknownCommand(command, bytes) => BodyRepr::UnknownCommand {
            command: *command,
            bytes,
        },
        BodySpec::UnknownType(message_type, bytes) => BodyRepr::UnknownType {
            message_type: *message_type,
            bytes,
        },
    };
    f(&MessageRepr {
        opcode: spec.opcode,
        handle: spec.handle,
        body,
        padding: &spec.padding,
    })
}

/// What the parse shows, back as a spec.
fn spec_of(m: &Message<'_>) -> MessageSpec {
    let body = match m.body {
        Body::StartRequest(s) => BodySpec::StartRequest(s),
        Body::StartReply(s) => BodySpec::StartReply(s),
        Body::Stop(s) => BodySpec::Stop(s),
        Body::TableQuery => BodySpec::TableQuery,
        Body::TableReply(t) => BodySpec::TableReply(t.owners.iter().collect(), t.initiator),
        Body::SendRequest(o) => BodySpec::SendRequest(o),
        Body::SendReply(r) => {
            BodySpec::SendReply(r.iter().map(|r| RecordSpec::from_view(&r)).collect())
        }
        Body::UpdateNotification(k, t) => {
            BodySpec::Update(k, t.owners.iter().collect(), t.initiator)
        }
        Body::UnknownCommand { command, bytes } => {
            BodySpec::UnknownCommand(command, bytes.to_vec())
        }
        Body::UnknownType(bytes) => {
            BodySpec::UnknownType(m.header.message_type.into(), bytes.to_vec())
        }
    };
    MessageSpec {
        opcode: m.header.opcode,
        handle: m.header.handle,
        body,
        padding: m.padding.to_vec(),
    }
}

fn owner() -> impl Strategy<Value = OwnerRecord> {
    (any::<u32>(), any::<u64>(), any::<u64>(), any::<u32>()).prop_map(|(a, max, min, reserved)| {
        OwnerRecord {
            reserved,
            ..OwnerRecord::new(Ipv4Addr::from(a), max, min)
        }
    })
}

fn start() -> impl Strategy<Value = Start> {
    (any::<u32>(), any::<u16>(), any::<u16>()).prop_map(|(handle, major, minor)| Start {
        handle,
        major,
        minor,
    })
}

fn record() -> impl Strategy<Value = RecordSpec> {
    let name = any::<[u8; 16]>().prop_map(|mut n| {
        // A first byte of 0x1B goes with suffix 0x1B (the swap rule).
        if n[0] == 0x1B {
            n[15] = 0x1B;
        }
        n
    });
    let members = prop::collection::vec(
        (any::<u32>(), any::<u32>()).prop_map(|(o, a)| Member {
            owner: Ipv4Addr::from(o),
            address: Ipv4Addr::from(a),
        }),
        0..6,
    );
    (
        name,
        prop::collection::vec(any::<u8>(), 0..40),
        any::<u32>(),
        any::<u32>(),
        any::<u64>(),
        any::<u32>(),
        members,
        any::<u32>(),
    )
        .prop_map(
            |(name, scope, flags, group, version, single, members, reserved)| {
                let members = if RecordFlags(flags).record_type().has_list() {
                    members
                } else {
                    Vec::new()
                };
                let single = if RecordFlags(flags).record_type().has_list() {
                    0
                } else {
                    single
                };
                RecordSpec {
                    name,
                    scope,
                    flags,
                    group,
                    version,
                    single,
                    members,
                    reserved,
                }
            },
        )
}

fn kind() -> impl Strategy<Value = UpdateKind> {
    prop_oneof![
        Just(UpdateKind::Update),
        Just(UpdateKind::Update2),
        Just(UpdateKind::Inform),
        Just(UpdateKind::Inform2)
    ]
}

fn body() -> impl Strategy<Value = BodySpec> {
    let owners = || prop::collection::vec(owner(), 0..5);
    let ip = || any::<u32>().prop_map(Ipv4Addr::from);
    let bytes = || prop::collection::vec(any::<u8>(), 0..24);
    prop_oneof![
        start().prop_map(BodySpec::StartRequest),
        start().prop_map(BodySpec::StartReply),
        any::<u32>().prop_map(|r| BodySpec::Stop(Stop { reason: r.into() })),
        Just(BodySpec::TableQuery),
        (owners(), ip()).prop_map(|(o, i)| BodySpec::TableReply(o, i)),
        owner().prop_map(BodySpec::SendRequest),
        prop::collection::vec(record(), 0..8).prop_map(BodySpec::SendReply),
        (kind(), owners(), ip()).prop_map(|(k, o, i)| BodySpec::Update(k, o, i)),
        (
            any::<u32>().prop_filter("unmodelled command", |c| ![0, 1, 2, 3, 4, 5, 8, 9]
                .contains(c)),
            bytes()
        )
            .prop_map(|(c, b)| BodySpec::UnknownCommand(c, b)),
        (4u32.., bytes()).prop_map(|(t, b)| BodySpec::UnknownType(t, b)),
    ]
}

fn message() -> impl Strategy<Value = MessageSpec> {
    (
        any::<u32>(),
        any::<u32>(),
        body(),
        prop::collection::vec(any::<u8>(), 0..30),
    )
        .prop_map(|(opcode, handle, body, padding)| {
            // Bytes after an unknown body are part of it.
            let padding = match body {
                BodySpec::UnknownCommand(..) | BodySpec::UnknownType(..) => Vec::new(),
                _ => padding,
            };
            MessageSpec {
                opcode,
                handle,
                body,
                padding,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// parse(emit(m)) == m, and emit(parse(b)) == b for the emitted bytes.
    #[test]
    fn messages_round_trip(spec in message()) {
        let bytes = emit(&spec);
        let parsed = Message::parse(&bytes).unwrap();
        with_repr(&spec, |m| assert_eq!(parsed, *m));
        let again = spec_of(&parsed);
        prop_assert_eq!(&again, &spec);
        prop_assert_eq!(emit(&again), bytes.clone());
        // emit_buf gives the same bytes.
        let mut via_buf = Vec::new();
        with_repr(&spec, |m| m.emit_buf(&mut via_buf)).unwrap();
        prop_assert_eq!(via_buf, bytes);
    }

    /// Any bytes: a message or an error inside them, never a panic.
    #[test]
    fn parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        match Message::parse(&bytes) {
            Ok(m) => { let _ = spec_of_lenient(&m); }
            Err(e) => prop_assert!(e.offset() <= bytes.len()),
        }
    }

    /// Truncating or corrupting an emitted message never panics, and a
    /// truncation is always refused.
    #[test]
    fn damaged_messages_are_refused_or_parsed(spec in message(), cut in any::<prop::sample::Index>(), flip in any::<(prop::sample::Index, u8)>()) {
        let bytes = emit(&spec);
        let n = cut.index(bytes.len());
        prop_assert!(Message::parse(&bytes[..n]).is_err());
        let mut bad = bytes.clone();
        let i = flip.0.index(bad.len());
        bad[i] ^= flip.1 | 1;
        if let Err(e) = Message::parse(&bad) { prop_assert!(e.offset() <= bad.len()); }
    }

    /// Any stream in any chunks: no panic, the buffer stays within the
    /// limit, and the messages are the ones the length words delimit.
    #[test]
    fn framer_is_bounded(
        stream in prop::collection::vec(any::<u8>(), 0..600),
        cuts in prop::collection::vec(0usize..600, 0..12),
        limit in 4usize..128,
    ) {
        let mut expected = Vec::new();
        let mut rest = &stream[..];
        let expected_err = loop {
            match frame_len(rest, limit) {
                Err(e) => break Some(e),
                Ok(Some(n)) if n <= rest.len() => { expected.push(rest[..n].to_vec()); rest = &rest[n..]; }
                Ok(_) => break None,
            }
        };
        let mut cuts = cuts;
        cuts.push(stream.len());
        cuts.sort_unstable();
        let mut framer = Framer::with_limit(limit);
        let mut got = Vec::new();
        let mut err = None;
        let mut at = 0;
        for cut in cuts {
            let cut = cut.min(stream.len());
            if let Err(e) = framer.feed_all(&stream[at..cut.max(at)], |m| got.push(m.to_vec())) {
                err = Some(e);
                break;
            }
            prop_assert!(framer.buffered() <= limit);
            prop_assert!(framer.capacity() <= limit.max(64 * 1024));
            at = cut.max(at);
        }
        prop_assert_eq!(got, expected);
        prop_assert_eq!(err, expected_err);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Any stream into an association (responder, or initiator), after a
    /// valid start or not: no panic; once it is closed nothing more comes
    /// out; what it queues is bounded by what it was fed.
    #[test]
    fn association_never_panics(
        start in any::<bool>(),
        initiator in any::<bool>(),
        stream in prop::collection::vec(any::<u8>(), 0..400),
        cuts in prop::collection::vec(0usize..400, 0..8),
    ) {
        let now = std::time::Instant::now();
        let mut a = if initiator {
            Association::connect(now, AssociationConfig::default(), 0x0102_0304)
        } else {
            Association::accept(AssociationConfig::default(), 0x0102_0304)
        };
        let mut fed = Vec::new();
        if start {
            let reply = if initiator {
                MessageRepr::start_reply(0x0102_0304, 9)
            } else {
                MessageRepr::start_request(9)
            };
            reply.emit_buf(&mut fed).unwrap();
        }
        fed.extend_from_slice(&stream);
        let mut cuts = cuts;
        cuts.push(fed.len());
        cuts.sort_unstable();
        let (mut at, mut sent, mut events) = (0, 0usize, 0usize);
        for cut in cuts {
            let cut = cut.min(fed.len()).max(at);
            let was_closed = a.is_closed();
            a.handle_received(now, &fed[at..cut]);
            at = cut;
            while let Some(bytes) = a.poll_send() { sent += bytes.len(); }
            while let Some(e) = a.poll_event() {
                prop_assert!(!was_closed, "event after close: {e:?}");
                events += 1;
            }
        }
        a.handle_timeout(now + core::time::Duration::from_secs(3600));
        a.handle_closed();
        while let Some(e) = a.poll_event() { let _: Event = e; events += 1; }
        // Every reply is one message of at most 44 bytes per message read.
        prop_assert!(sent <= 64 + 44 * (fed.len() / 16 + 1));
        prop_assert!(events <= fed.len() / 16 + 3);
    }
}

/// Walks every part of a parsed message (names that are not canonical
/// included), as a reader would.
fn spec_of_lenient(m: &Message<'_>) -> usize {
    match m.body {
        Body::SendReply(records) => records
            .iter()
            .map(|r| {
                let _ = (
                    r.name.netbios(),
                    r.name.scope(),
                    r.flags.node_type(),
                    r.flags.state(),
                );
                match r.addresses {
                    Addresses::Single(_) => 1,
                    Addresses::List(list) => list.iter().count(),
                }
            })
            .sum(),
        Body::TableReply(t) | Body::UpdateNotification(_, t) => t.owners.iter().count(),
        _ => 0,
    }
}

#[test]
fn node_type_bits_match_the_wire_layer() {
    for node in [NodeType::B, NodeType::P, NodeType::M, NodeType::H] {
        let f = RecordFlags::new(
            nbns::winsrepl::RecordType::Unique,
            nbns::winsrepl::RecordState::Active,
            node,
        );
        assert_eq!(f.node_type(), node);
        assert_eq!(f.bits() >> 5, u32::from(node.bits()));
    }
}
