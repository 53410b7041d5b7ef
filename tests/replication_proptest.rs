//! Property tests of the replication partner: arbitrary sequences of
//! connections, byte streams (random bytes and well-formed messages with
//! arbitrary contents), closes, clock jumps and unread output, from a
//! configured partner and from a non-partner, never make it panic, and
//! never make it hold more than its caps allow.

use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;
use std::time::Instant;

use nbns::winsrepl::{
    AssociationConfig, Body, ConnectionId, Member, MemoryDb, Message, MessageRepr, NameRecordRepr,
    OwnerRecord, Partner, PartnerConfig, RecordFlags, RecordType, ReplicationConfig, ReplicationDb,
    StopReason, UpdateKind,
};
use nbns::wire::NetbiosName;
use proptest::prelude::*;

const US: Ipv4Addr = Ipv4Addr::new(10, 3, 0, 1);
const PEER: Ipv4Addr = Ipv4Addr::new(10, 3, 0, 2);
const STRANGER: Ipv4Addr = Ipv4Addr::new(10, 3, 0, 66);
const MAX_MESSAGE: usize = 4096;
const MAX_QUEUED: usize = 64 * 1024;
const MAX_CONNECTIONS: usize = 4;
const RECORDS_PER_REPLY: usize = 50;
const MAX_EVENTS: usize = 64;
/// The largest reply: 50 records with a 238-byte scope and 25 members.
const LARGEST_REPLY: usize = 24 + RECORDS_PER_REPLY * 480;

#[derive(Debug, Clone)]
enum Op {
    /// A connection from the partner (true) or a stranger, in slot n.
    Connect(bool, u8),
    /// Random bytes on slot n.
    Raw(u8, Vec<u8>),
    /// A well-formed message on slot n, with our handle (learnt from our
    /// start reply) when `ours`.
    Message(u8, Msg, bool),
    /// The peer closes slot n.
    Close(u8),
    /// Time passes.
    Wait(u32),
    /// The embedder writes out what is queued.
    Drain,
}

#[derive(Debug, Clone)]
enum Msg {
    Start,
    TableQuery,
    SendRequest(u32, u64, u64),
    Update(bool, Vec<(u32, u64)>),
    SendReply(Vec<(u64, u8, Vec<u32>)>),
    Stop,
}

fn msg() -> impl Strategy<Value = Msg> {
    prop_oneof![
        Just(Msg::Start),
        Just(Msg::TableQuery),
        (
            prop_oneof![Just(u32::from(US)), Just(u32::from(PEER)), any::<u32>()],
            any::<u64>(),
            any::<u64>()
        )
            .prop_map(|(o, a, b)| Msg::SendRequest(o, a, b)),
        (
            any::<bool>(),
            proptest::collection::vec((any::<u32>(), any::<u64>()), 0..8)
        )
            .prop_map(|(i, o)| Msg::Update(i, o)),
        proptest::collection::vec(
            (
                any::<u64>(),
                any::<u8>(),
                proptest::collection::vec(any::<u32>(), 0..30)
            ),
            0..20
        )
        .prop_map(Msg::SendReply),
        Just(Msg::Stop),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (any::<bool>(), 0u8..6).prop_map(|(p, n)| Op::Connect(p, n)),
        2 => (0u8..6, proptest::collection::vec(any::<u8>(), 0..600)).prop_map(|(n, b)| Op::Raw(n, b)),
        6 => (0u8..6, msg(), any::<bool>()).prop_map(|(n, m, o)| Op::Message(n, m, o)),
        1 => (0u8..6).prop_map(Op::Close),
        1 => (0u32..200_000).prop_map(Op::Wait),
        2 => Just(Op::Drain),
    ]
}

fn emit(handle: u32, m: &Msg) -> Vec<u8> {
    let mut out = Vec::new();
    let owners: Vec<OwnerRecord>;
    let members: Vec<Vec<Member>>;
    let records: Vec<NameRecordRepr<'_>>;
    let repr = match m {
        Msg::Start => MessageRepr::start_request(0x77),
        Msg::TableQuery => MessageRepr::table_query(handle),
        Msg::SendRequest(o, a, b) => {
            MessageRepr::send_request(handle, OwnerRecord::new(Ipv4Addr::from(*o), *a, *b))
        }
        Msg::Update(inform, list) => {
            owners = list
                .iter()
                .map(|(o, v)| OwnerRecord::new(Ipv4Addr::from(*o), *v, 0))
                .collect();
            let kind = if *inform {
                UpdateKind::Inform
            } else {
                UpdateKind::Update
            };
            MessageRepr::update(handle, kind, &owners, PEER)
        }
        Msg::SendReply(list) => {
            members = list
                .iter()
                .map(|(_, _, m)| {
                    m.iter()
                        .map(|&a| Member {
                            owner: PEER,
                            address: Ipv4Addr::from(a),
                        })
                        .collect()
                })
                .collect();
            records = list
                .iter()
                .zip(&members)
                .enumerate()
                .map(|(k, ((version, flags, _), m))| {
                    let flags = RecordFlags(u32::from(*flags));
                    let addresses = if flags.record_type().has_list() {
                        nbns::winsrepl::AddressesRepr::List(m)
                    } else {
                        nbns::winsrepl::AddressesRepr::Single(PEER)
                    };
                    let name = NetbiosName::new(&format!("N{}", k % 5), 0).unwrap();
                    NameRecordRepr::new(name, flags, *version, addresses)
                })
                .collect();
            MessageRepr::send_reply(handle, &records)
        }
        Msg::Stop => MessageRepr::stop(handle, StopReason::Normal),
    };
    let _ = repr.emit_buf(&mut out);
    out
}

struct Harness {
    partner: Partner,
    db: MemoryDb,
    now: Instant,
    slots: [Option<(ConnectionId, u32)>; 6],
    next: u64,
}

impl Harness {
    fn new() -> Self {
        let mut db = MemoryDb::new(US, 300);
        for k in 0..120u32 {
            let name = NetbiosName::new(&format!("OWN{k}"), 0x20).unwrap();
            let t = if k % 3 == 0 {
                RecordType::Multihomed
            } else {
                RecordType::Unique
            };
            db.register(name, t, &[Ipv4Addr::from(0x0a09_0000 + k), PEER]);
        }
        let mut config = ReplicationConfig::new(US, vec![PartnerConfig::push_pull(PEER)]);
        config.association = AssociationConfig {
            max_message_len: MAX_MESSAGE,
            ..AssociationConfig::default()
        };
        config.max_connections = MAX_CONNECTIONS;
        config.max_non_partner_connections = 2;
        config.max_queued_bytes = MAX_QUEUED;
        config.max_records_per_reply = RECORDS_PER_REPLY;
        config.max_events = MAX_EVENTS;
        config.max_owners = 16;
        config.max_requests_per_pull = 32;
        let now = Instant::now();
        let mut h = 0u32;
        let partner = Partner::new(config, &db, move || {
            h = h.wrapping_add(0x1357_9bdf);
            h
        });
        Self {
            partner,
            db,
            now,
            slots: [None; 6],
            next: 1,
        }
    }

    fn slot(&self, n: u8) -> Option<(ConnectionId, u32)> {
        self.slots[usize::from(n) % 6]
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::Connect(partner, n) => {
                let ip = if partner { PEER } else { STRANGER };
                let id = ConnectionId(self.next);
                self.next += 1;
                self.partner.handle_connected(
                    id,
                    SocketAddrV4::new(ip, 40_000 + n as u16),
                    self.now,
                );
                self.slots[usize::from(n) % 6] = Some((id, 0));
            }
            Op::Raw(n, bytes) => {
                if let Some((id, _)) = self.slot(n) {
                    self.partner
                        .handle_received(&mut self.db, id, &bytes, self.now);
                }
            }
            Op::Message(n, m, ours) => {
                if let Some((id, handle)) = self.slot(n) {
                    let bytes = emit(if ours { handle } else { 0 }, &m);
                    self.partner
                        .handle_received(&mut self.db, id, &bytes, self.now);
                }
            }
            Op::Close(n) => {
                if let Some((id, _)) = self.slot(n) {
                    self.partner.handle_closed(id, self.now);
                }
            }
            Op::Wait(ms) => {
                self.now += Duration::from_millis(u64::from(ms));
                self.partner.handle_timeout(self.now);
            }
            Op::Drain => {
                while let Some((id, bytes)) = self.partner.poll_send() {
                    // Learn our handle from our start reply.
                    if let Ok(Message {
                        body: Body::StartReply(start),
                        ..
                    }) = Message::parse(&bytes)
                    {
                        for s in self.slots.iter_mut().flatten() {
                            if s.0 == id {
                                s.1 = start.handle;
                            }
                        }
                    }
                }
                while self.partner.poll_close().is_some() {}
                while self.partner.poll_connect().is_some() {}
            }
        }
    }

    fn check(&mut self) {
        let p = &self.partner;
        assert!(p.connections() <= MAX_CONNECTIONS);
        let per_conn = MAX_MESSAGE + MAX_QUEUED + LARGEST_REPLY;
        assert!(
            p.buffered_bytes() <= MAX_CONNECTIONS * per_conn,
            "{} bytes held",
            p.buffered_bytes()
        );
        assert!(self.db.len() <= 300);
        let mut events = 0;
        while self.partner.poll_event().is_some() {
            events += 1;
        }
        assert!(events <= MAX_EVENTS);
        assert!(self.db.max_version(US) == self.db.version_counter());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_traffic_never_panics_and_stays_bounded(ops in proptest::collection::vec(op(), 1..80)) {
        let mut h = Harness::new();
        for op in ops {
            h.apply(op);
            h.check();
        }
    }

    #[test]
    fn arbitrary_bytes_from_a_partner_or_a_stranger(
        partner in any::<bool>(),
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..2000), 1..20),
    ) {
        let mut h = Harness::new();
        h.apply(Op::Connect(partner, 0));
        h.apply(Op::Message(0, Msg::Start, false));
        for c in chunks {
            h.apply(Op::Raw(0, c));
            h.check();
        }
        h.apply(Op::Close(0));
        h.check();
    }
}

/// A peer that pipelines requests without reading gets cut off once the
/// queued replies pass the cap: memory stays bounded.
#[test]
fn a_peer_that_does_not_read_is_cut_off() {
    let mut h = Harness::new();
    h.apply(Op::Connect(true, 0));
    h.apply(Op::Message(0, Msg::Start, false));
    h.apply(Op::Drain);
    let (id, handle) = h.slot(0).unwrap();
    let mut burst = Vec::new();
    for _ in 0..200 {
        burst.extend(emit(handle, &Msg::SendRequest(u32::from(US), 0, 1)));
    }
    h.partner.handle_received(&mut h.db, id, &burst, h.now);
    let queued: usize = core::iter::from_fn(|| h.partner.poll_send())
        .map(|(_, b)| b.len())
        .sum();
    assert!(
        queued <= MAX_QUEUED + LARGEST_REPLY,
        "{queued} bytes queued"
    );
    assert!(
        queued > MAX_QUEUED / 2,
        "the replies were sent up to the cap: {queued}"
    );
    assert_eq!(h.partner.poll_close(), Some(id));
    let refused = core::iter::from_fn(|| h.partner.poll_event()).any(|e| {
        matches!(
            e,
            nbns::winsrepl::PartnerEvent::Refused {
                reason: nbns::winsrepl::Refusal::Overloaded,
                ..
            }
        )
    });
    assert!(refused);
}

/// Strangers get a few connections, never the ones partners need.
#[test]
fn strangers_cannot_take_the_partners_connections() {
    let mut h = Harness::new();
    for n in 0..3 {
        h.apply(Op::Connect(false, n));
    }
    assert_eq!(h.partner.connections(), 2);
    let third = h.slot(2).unwrap().0;
    assert_eq!(h.partner.poll_close(), Some(third));
    h.apply(Op::Connect(true, 3));
    h.apply(Op::Connect(true, 4));
    assert_eq!(h.partner.connections(), 4);
    assert_eq!(h.partner.poll_close(), None);
}

/// A trickle of bytes that never completes a message does not keep a
/// connection open past the idle timeout.
#[test]
fn a_trickle_of_bytes_does_not_keep_a_connection() {
    let mut h = Harness::new();
    h.apply(Op::Connect(false, 0));
    // A Packet Length of 4000, then one byte every 100 s.
    h.apply(Op::Raw(0, vec![0, 0, 0x0f, 0xa0]));
    for _ in 0..3 {
        h.apply(Op::Wait(100_000));
        h.apply(Op::Raw(0, vec![0]));
    }
    assert_eq!(h.partner.connections(), 0);
}
