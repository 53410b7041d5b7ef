//! Whole conversations between a `NameClient` and scripted WINS servers over
//! a simulated network and clock: no sockets, no sleeping.

use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;
use std::time::Instant;

use nbns::client::{
    ClientConfig, ClientEvent, ConflictCause, DeterministicIds, NameClient, NameSpec, NameState,
    OwnedName, RegistrationOutcome, ReleaseOutcome, ReregisterOutcome, Transmit,
};
use nbns::wire::{
    Flags, Labels, Message, Name, NbAddrEntry, NbAddrs, NbFlags, NetbiosName, NodeType, Opcode,
    Packet, PacketKind, RData, Rcode, RrType,
};

const PRIMARY: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 137);
const SECONDARY: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 137);
const ME: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 7);
const OTHER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 9);

fn name(s: &str) -> Name<'static> {
    Name::unscoped(NetbiosName::new(s, 0x00).unwrap())
}

fn bytes(p: &Message<'_>) -> Vec<u8> {
    let mut v = Vec::new();
    p.emit_buf(&mut v).unwrap();
    v
}

struct Sim {
    c: NameClient<DeterministicIds>,
    now: Instant,
    start: Instant,
}

impl Sim {
    fn new(servers: &[SocketAddrV4]) -> Self {
        Self::with_config(ClientConfig::with_servers(servers.iter().copied()))
    }

    fn with_config(config: ClientConfig) -> Self {
        let now = Instant::now();
        Self {
            c: NameClient::with_deterministic_ids(config, 42),
            now,
            start: now,
        }
    }

    fn at(&self) -> Duration {
        self.now - self.start
    }

    fn add(&mut self, n: Name<'_>) {
        self.c
            .add_name(self.now, NameSpec::unique(n, &[ME]))
            .unwrap();
    }

    fn tx(&mut self) -> Vec<Transmit> {
        core::iter::from_fn(|| self.c.poll_transmit()).collect()
    }

    fn ev(&mut self) -> Vec<ClientEvent> {
        core::iter::from_fn(|| self.c.poll_event()).collect()
    }

    fn one(&mut self) -> Transmit {
        let t = self.tx();
        assert_eq!(t.len(), 1, "expected one transmit, got {t:?}");
        t.into_iter().next().unwrap()
    }

    fn feed(&mut self, from: SocketAddrV4, b: &[u8]) {
        self.c.handle_datagram(self.now, from, b);
    }

    /// Jumps to the next deadline and fires it.
    fn tick(&mut self) {
        let t = self.c.poll_timeout().expect("a timer");
        assert!(t >= self.now, "deadline in the past");
        self.now = t;
        self.c.handle_timeout(t);
    }

    fn state(&self, n: Name<'_>) -> Option<NameState> {
        self.c.name_state(n)
    }

    /// Adds `n` and has the primary grant it with `ttl`.
    fn register(&mut self, n: Name<'_>, ttl: u32) {
        self.add(n);
        let t = self.one();
        let b = positive(&parse(&t), ttl);
        self.feed(t.destination, &b);
        assert_eq!(self.state(n), Some(NameState::Registered));
        self.ev();
    }
}

fn entry_of(req: &Packet<'_>) -> NbAddrEntry {
    req.additional().unwrap().nb().unwrap().first().unwrap()
}

fn positive(req: &Packet<'_>, ttl: u32) -> Vec<u8> {
    bytes(&Message::positive_registration_response(
        req.id,
        req.question().unwrap().name,
        ttl,
        entry_of(req),
    ))
}

fn negative(req: &Packet<'_>, rcode: Rcode) -> Vec<u8> {
    bytes(&Message::negative_registration_response(
        req.id,
        req.question().unwrap().name,
        rcode,
        entry_of(req),
    ))
}

fn wack(req: &Packet<'_>, ttl: u32) -> Vec<u8> {
    bytes(&Message::wack(
        req.id,
        req.question().unwrap().name,
        ttl,
        req.flags,
        RrType::Null,
    ))
}

fn release_reply(req: &Packet<'_>, rcode: Rcode) -> Vec<u8> {
    let n = req.question().unwrap().name;
    if rcode == Rcode::NoError {
        bytes(&Message::positive_release_response(
            req.id,
            n,
            entry_of(req),
        ))
    } else {
        bytes(&Message::negative_release_response(
            req.id,
            n,
            rcode,
            entry_of(req),
        ))
    }
}

fn parse(t: &Transmit) -> Packet<'_> {
    Packet::parse(&t.contents).unwrap()
}

#[test]
fn happy_path() {
    let mut s = Sim::new(&[PRIMARY]);
    s.add(name("HOST"));
    assert_eq!(s.state(name("HOST")), Some(NameState::Registering));
    let t = s.one();
    assert_eq!(t.destination, PRIMARY);
    assert_eq!(t.source, Some(ME));
    let req = parse(&t);
    assert_eq!(req.kind(), PacketKind::NameRegistrationRequest);
    assert_eq!(req.flags.bits(), 0x2900);
    assert_eq!(req.additional().unwrap().ttl, 300_000);
    assert_eq!(
        entry_of(&req),
        NbAddrEntry::new(NbFlags::new(false, NodeType::H), ME)
    );
    s.feed(PRIMARY, &positive(&req, 600));
    assert_eq!(
        s.ev(),
        [ClientEvent::Registered {
            name: OwnedName::new(name("HOST").netbios, b""),
            server: PRIMARY,
            ttl: 600
        }]
    );
    let info = s.c.names().next().unwrap();
    assert_eq!(info.ttl, 600);
    assert_eq!(info.state, NameState::Registered);
    assert_eq!(s.c.poll_timeout(), Some(s.now + Duration::from_secs(300)));
    #[cfg(feature = "testing")]
    assert_eq!(s.c.pending_transactions(), 0);
    assert!(s.tx().is_empty());
}

#[test]
fn lost_request_is_retransmitted_with_the_same_id() {
    let mut s = Sim::new(&[PRIMARY]);
    s.add(name("HOST"));
    let first = parse(&s.one()).id;
    s.tick();
    assert_eq!(s.at(), Duration::from_millis(1500));
    assert_eq!(parse(&s.one()).id, first);
    // The answer to the second transmission is lost too; the third one gets
    // through.
    s.tick();
    let t = s.one();
    let req = parse(&t);
    assert_eq!(req.id, first);
    s.feed(PRIMARY, &positive(&req, 600));
    assert_eq!(s.state(name("HOST")), Some(NameState::Registered));
    assert_eq!(s.c.stats().retransmissions, 2);
}

#[test]
fn lost_refresh_and_release_packets_are_retransmitted() {
    let mut s = Sim::new(&[PRIMARY]);
    s.register(name("HOST"), 600);
    s.tick(); // refresh due
    let r1 = parse(&s.one()).id;
    s.tick(); // lost
    let t = s.one();
    let req = parse(&t);
    assert_eq!(req.id, r1);
    assert_eq!(req.kind(), PacketKind::NameRefreshRequest);
    s.feed(PRIMARY, &positive(&req, 600));
    assert_eq!(s.state(name("HOST")), Some(NameState::Registered));

    assert!(s.c.release(s.now, name("HOST")));
    let id = parse(&s.one()).id;
    s.tick();
    let t = s.one();
    let req = parse(&t);
    assert_eq!((req.id, req.kind()), (id, PacketKind::NameReleaseRequest));
    assert_eq!(t.source, Some(ME));
    s.feed(PRIMARY, &release_reply(&req, Rcode::NoError));
    assert!(s.ev().contains(&ClientEvent::Released {
        name: OwnedName::new(name("HOST").netbios, b""),
        outcome: ReleaseOutcome::Confirmed
    }));
    assert_eq!(s.state(name("HOST")), None);
    assert_eq!(s.c.poll_timeout(), None);
}

#[test]
fn wack_then_positive() {
    let mut s = Sim::new(&[PRIMARY]);
    s.add(name("HOST"));
    let t = s.one();
    let req = parse(&t);
    s.feed(PRIMARY, &wack(&req, 60));
    // No retransmission during the wait.
    assert_eq!(s.c.poll_timeout(), Some(s.now + Duration::from_secs(60)));
    // A second WACK is dropped and does not extend the wait.
    s.now += Duration::from_secs(30);
    s.feed(PRIMARY, &wack(&req, 100));
    assert_eq!(s.c.stats().dropped_extra_wack, 1);
    assert_eq!(s.c.poll_timeout(), Some(s.start + Duration::from_secs(60)));
    s.now += Duration::from_secs(20);
    s.feed(PRIMARY, &positive(&req, 600));
    assert_eq!(s.state(name("HOST")), Some(NameState::Registered));
    assert!(s.tx().is_empty());
}

#[test]
fn wack_then_negative() {
    let mut s = Sim::new(&[PRIMARY]);
    s.add(name("HOST"));
    let req_t = s.one();
    let req = parse(&req_t);
    s.feed(PRIMARY, &wack(&req, 5)); // too short: Samba's rule waits 105 s
    assert_eq!(s.c.poll_timeout(), Some(s.now + Duration::from_secs(105)));
    s.feed(PRIMARY, &negative(&req, Rcode::Active));
    assert_eq!(
        s.state(name("HOST")),
        Some(NameState::Refused(Rcode::Active))
    );
    assert!(matches!(
        s.ev().as_slice(),
        [ClientEvent::RegistrationRefused {
            rcode: Rcode::Active,
            server: PRIMARY,
            ..
        }]
    ));
    assert_eq!(s.c.poll_timeout(), None);
}

#[test]
fn wack_expiry_fails_over() {
    let mut s = Sim::new(&[PRIMARY, SECONDARY]);
    s.add(name("HOST"));
    let req_t = s.one();
    let req = parse(&req_t);
    s.feed(PRIMARY, &wack(&req, 60));
    s.tick();
    assert_eq!(s.at(), Duration::from_secs(60));
    let t = s.one();
    assert_eq!(t.destination, SECONDARY);
    assert_ne!(parse(&t).id, req.id);
}

#[test]
fn failover_to_secondary() {
    let mut s = Sim::new(&[PRIMARY, SECONDARY]);
    s.add(name("HOST"));
    let first = parse(&s.one()).id;
    s.tick();
    s.one();
    s.tick();
    s.one();
    s.tick(); // three tries at the primary: move on
    assert_eq!(s.at(), Duration::from_millis(4500));
    let t = s.one();
    assert_eq!(t.destination, SECONDARY);
    let req = parse(&t);
    assert_ne!(req.id, first, "a new transaction at the secondary");
    // A late answer from the primary, with the old ID, changes nothing.
    let late = Message::positive_registration_response(first, name("HOST"), 600, entry_of(&req));
    s.feed(PRIMARY, &bytes(&late));
    assert_eq!(s.state(name("HOST")), Some(NameState::Registering));
    s.feed(SECONDARY, &positive(&req, 900));
    assert!(matches!(
        s.ev().as_slice(),
        [ClientEvent::Registered {
            server: SECONDARY,
            ttl: 900,
            ..
        }]
    ));
    // The refresh goes to the server that granted the name.
    s.tick();
    assert_eq!(
        s.at(),
        Duration::from_millis(4500) + Duration::from_secs(450)
    );
    assert_eq!(s.one().destination, SECONDARY);
}

#[test]
fn all_servers_down() {
    let mut s = Sim::new(&[PRIMARY, SECONDARY]);
    s.add(name("HOST"));
    let mut sent = vec![s.one().destination];
    while s.ev().is_empty() {
        s.tick();
        sent.extend(s.tx().iter().map(|t| t.destination));
    }
    assert_eq!(
        sent,
        [PRIMARY, PRIMARY, PRIMARY, SECONDARY, SECONDARY, SECONDARY]
    );
    assert_eq!(s.at(), Duration::from_secs(9));
    assert_eq!(s.state(name("HOST")), Some(NameState::Registering));
    // Try again from the primary after the registration retry interval.
    s.tick();
    assert_eq!(s.at(), Duration::from_secs(609));
    assert_eq!(s.one().destination, PRIMARY);
}

#[test]
fn refresh_timing_follows_the_granted_ttl() {
    let mut s = Sim::new(&[PRIMARY]);
    s.register(name("HOST"), 600);
    s.tick();
    assert_eq!(s.at(), Duration::from_secs(300));
    let t = s.one();
    let req = parse(&t);
    assert_eq!(req.kind(), PacketKind::NameRefreshRequest);
    assert_eq!(req.opcode(), Opcode::Refresh);
    assert!(!req.flags.recursion_desired());
    // The server grants less than the floor: refresh after 5 min / 2.
    s.feed(PRIMARY, &positive(&req, 10));
    assert!(matches!(
        s.ev().as_slice(),
        [ClientEvent::Refreshed { ttl: 10, .. }]
    ));
    s.tick();
    assert_eq!(s.at(), Duration::from_secs(450));
    let req_t = s.one();
    let req = parse(&req_t);
    s.feed(PRIMARY, &positive(&req, 518_400));
    assert_eq!(
        s.c.poll_timeout(),
        Some(s.now + Duration::from_secs(259_200))
    );
}

#[test]
fn negative_refresh_is_a_conflict() {
    let mut s = Sim::new(&[PRIMARY]);
    s.register(name("HOST"), 600);
    s.tick();
    let t = s.one();
    s.feed(PRIMARY, &negative(&parse(&t), Rcode::Active));
    assert_eq!(s.state(name("HOST")), Some(NameState::Conflict));
    assert!(matches!(
        s.ev().as_slice(),
        [ClientEvent::Conflict {
            cause: ConflictCause::NegativeRefresh(Rcode::Active),
            ..
        }]
    ));
    assert_eq!(s.c.poll_timeout(), None);
    // A name in conflict is not answered for.
    let q = Message::name_query_request(7, name("HOST"), true);
    s.feed(SocketAddrV4::new(OTHER, 137), &bytes(&q));
    assert!(s.tx().is_empty());
}

#[test]
fn silent_refresh_registers_again() {
    let mut s = Sim::new(&[PRIMARY, SECONDARY]);
    s.register(name("HOST"), 600);
    s.tick();
    let mut dests = vec![s.one().destination];
    while s.ev().is_empty() {
        s.tick();
        dests.extend(s.tx().iter().map(|t| t.destination));
    }
    // Three refreshes each to the primary and the secondary, then a
    // registration from the primary.
    let last = dests.pop().unwrap();
    assert_eq!(
        dests,
        [PRIMARY, PRIMARY, PRIMARY, SECONDARY, SECONDARY, SECONDARY]
    );
    assert_eq!(last, PRIMARY);
    assert_eq!(s.state(name("HOST")), Some(NameState::Registering));
}

#[test]
fn reregister_all_releases_everything_before_registering() {
    let mut s = Sim::new(&[PRIMARY]);
    let mut old_ids = Vec::new();
    for n in ["A", "B", "C"] {
        s.add(name(n));
        let t = s.one();
        let req = parse(&t);
        old_ids.push(req.id);
        s.feed(PRIMARY, &positive(&req, 600));
    }
    s.ev();
    s.now += Duration::from_secs(3);
    s.c.reregister_all(s.now).unwrap();
    let releases = s.tx();
    assert_eq!(releases.len(), 3);
    for t in &releases {
        let p = parse(t);
        assert_eq!(p.kind(), PacketKind::NameReleaseRequest);
        assert_eq!(p.additional().unwrap().ttl, 0);
        assert_eq!(t.source, Some(ME));
    }
    // Answer two releases, positive and NAM_ERR; the third stays silent.
    s.feed(
        PRIMARY,
        &release_reply(&parse(&releases[0]), Rcode::NoError),
    );
    s.feed(
        PRIMARY,
        &release_reply(&parse(&releases[1]), Rcode::NameError),
    );
    assert!(
        s.tx().is_empty(),
        "no registration before every release ended"
    );
    assert_eq!(
        s.c.names()
            .filter(|n| n.state == NameState::AwaitingReregister)
            .count(),
        2
    );
    // The silent one is retried, then given up; then all register.
    s.tick();
    assert_eq!(s.tx().len(), 1);
    s.tick();
    assert_eq!(s.tx().len(), 1);
    s.tick();
    let regs = s.tx();
    assert_eq!(regs.len(), 3);
    for t in &regs {
        let p = parse(t);
        assert_eq!(p.kind(), PacketKind::NameRegistrationRequest);
        assert!(!old_ids.contains(&p.id));
    }
    let ev = s.ev();
    let mut outcomes: Vec<_> = ev
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Released { outcome, .. } => Some(*outcome),
            _ => None,
        })
        .collect();
    outcomes.sort_by_key(|o| format!("{o:?}"));
    assert_eq!(
        outcomes,
        [
            ReleaseOutcome::Confirmed,
            ReleaseOutcome::NotFound,
            ReleaseOutcome::Unconfirmed
        ]
    );
    let started = ev
        .iter()
        .position(|e| matches!(e, ClientEvent::ReregistrationStarted { names: 3 }))
        .expect("ReregistrationStarted");
    assert!(
        ev[started + 1..]
            .iter()
            .all(|e| matches!(e, ClientEvent::Reregistering { .. })),
        "{ev:?}"
    );
    assert_eq!(ev.len() - started - 1, 3);
    for t in &regs {
        s.feed(PRIMARY, &positive(&parse(t), 600));
    }
    for n in ["A", "B", "C"] {
        assert_eq!(s.state(name(n)), Some(NameState::Registered));
    }

    // The cooldown: refused with the time left, accepted after 2 minutes.
    let rr_at = s.start + Duration::from_secs(3);
    s.now = rr_at + Duration::from_secs(30);
    let err = s.c.reregister_all(s.now).unwrap_err();
    assert_eq!(err.remaining, Duration::from_secs(90));
    s.now = rr_at + Duration::from_secs(120);
    assert!(s.c.reregister_all(s.now).is_ok());
}

#[test]
fn spoofed_responses_change_nothing() {
    let mut s = Sim::new(&[PRIMARY]);
    s.add(name("HOST"));
    let t = s.one();
    let req = parse(&t);
    let stranger = SocketAddrV4::new(OTHER, 137);
    // Wrong source address, and the right address with the wrong port.
    s.feed(stranger, &positive(&req, 600));
    s.feed(SocketAddrV4::new(*PRIMARY.ip(), 138), &positive(&req, 600));
    // Wrong ID.
    let mut forged = Message::positive_registration_response(
        req.id.wrapping_add(1),
        name("HOST"),
        600,
        entry_of(&req),
    );
    s.feed(PRIMARY, &bytes(&forged));
    // Wrong name, and wrong scope.
    forged.id = req.id;
    forged.sections.answer.as_mut().unwrap().name = name("OTHER");
    s.feed(PRIMARY, &bytes(&forged));
    forged.sections.answer.as_mut().unwrap().name =
        Name::new(name("HOST").netbios, Labels::from_dotted(b"evil").unwrap());
    s.feed(PRIMARY, &bytes(&forged));
    // Wrong opcode (a release response).
    s.feed(PRIMARY, &release_reply(&req, Rcode::NoError));
    // Positive with no address.
    let mut empty =
        Message::positive_registration_response(req.id, name("HOST"), 600, entry_of(&req));
    empty.sections.answer.as_mut().unwrap().rdata = RData::Nb(NbAddrs::EMPTY);
    s.feed(PRIMARY, &bytes(&empty));
    // Garbage.
    s.feed(PRIMARY, b"\x00\x01garbage");
    // Unsolicited conflict demand from a stranger.
    let demand = Message::name_conflict_demand(9, name("HOST"), NodeType::B);
    s.feed(stranger, &bytes(&demand));

    assert_eq!(s.state(name("HOST")), Some(NameState::Registering));
    assert!(s.ev().is_empty());
    assert!(s.tx().is_empty());
    let st = *s.c.stats();
    assert_eq!(st.dropped_wrong_source, 2);
    assert_eq!(st.dropped_unsolicited, 2);
    assert_eq!(st.dropped_wrong_name, 2);
    assert_eq!(st.dropped_wrong_opcode, 1);
    assert_eq!(st.dropped_bad_record, 1);
    assert_eq!(st.dropped_malformed, 1);
    assert_eq!(st.accepted_responses, 0);
    // The real answer still works.
    s.feed(PRIMARY, &positive(&req, 600));
    assert_eq!(s.state(name("HOST")), Some(NameState::Registered));
    // A replay of it, now unsolicited, is dropped.
    s.feed(PRIMARY, &positive(&req, 1));
    assert_eq!(s.c.stats().dropped_unsolicited, 3);
    assert_eq!(s.c.names().next().unwrap().ttl, 600);
}

#[test]
fn conflict_demand_from_the_server() {
    let mut s = Sim::new(&[PRIMARY]);
    s.register(name("HOST"), 600);
    let demand = Message::name_conflict_demand(9, name("HOST"), NodeType::B);
    s.feed(PRIMARY, &bytes(&demand));
    assert_eq!(s.state(name("HOST")), Some(NameState::Conflict));
    assert!(matches!(
        s.ev().as_slice(),
        [ClientEvent::Conflict {
            cause: ConflictCause::ConflictDemand,
            ..
        }]
    ));
    // A conflicting name is dropped without a release request.
    assert!(s.c.release(s.now, name("HOST")));
    assert!(s.tx().is_empty());
    assert_eq!(s.state(name("HOST")), None);
}

#[test]
fn end_node_challenge_then_overwrite() {
    let mut s = Sim::new(&[PRIMARY]);
    s.add(name("HOST"));
    let t = s.one();
    let req = parse(&t);
    let owner = NbAddrEntry::new(NbFlags::new(false, NodeType::H), OTHER);
    let ch = Message::end_node_challenge_response(req.id, name("HOST"), 600, owner);
    s.feed(PRIMARY, &bytes(&ch));
    // The client queries the presumed owner on port 137.
    let q = s.one();
    assert_eq!(q.destination, SocketAddrV4::new(OTHER, 137));
    let qp = parse(&q);
    assert_eq!(qp.kind(), PacketKind::NameQueryRequest);
    // The owner answers negatively: overwrite at the server.
    let neg = Message::negative_name_query_response(qp.id, name("HOST"), Rcode::NameError);
    s.feed(SocketAddrV4::new(OTHER, 137), &bytes(&neg));
    let o = s.one();
    assert_eq!(o.destination, PRIMARY);
    let op = parse(&o);
    assert_eq!(op.kind(), PacketKind::NameOverwriteRequest);
    s.feed(PRIMARY, &wack(&op, 20));
    s.feed(PRIMARY, &positive(&op, 600));
    assert_eq!(s.state(name("HOST")), Some(NameState::Registered));
}

#[test]
fn end_node_challenge_silent_owner_and_live_owner() {
    let mut s = Sim::new(&[PRIMARY]);
    s.add(name("A"));
    s.add(name("B"));
    let ts = s.tx();
    let owner = NbAddrEntry::new(NbFlags::new(false, NodeType::H), OTHER);
    for t in &ts {
        let r = parse(t);
        let ch = Message::end_node_challenge_response(r.id, r.question().unwrap().name, 600, owner);
        s.feed(PRIMARY, &bytes(&ch));
    }
    let qs = s.tx();
    assert_eq!(qs.len(), 2);
    // The owner defends B.
    let qb = qs
        .iter()
        .map(parse)
        .find(|p| p.question().unwrap().name == name("B"))
        .unwrap();
    let pos = Message::positive_name_query_response(qb.id, name("B"), 600, NbAddrs::one(owner));
    s.feed(SocketAddrV4::new(OTHER, 137), &bytes(&pos));
    assert_eq!(s.state(name("B")), Some(NameState::Refused(Rcode::Active)));
    assert!(matches!(
        s.ev().as_slice(),
        [ClientEvent::OwnerDefended { owner: OTHER, .. }]
    ));
    // A's owner stays silent through three queries: overwrite.
    s.tick();
    s.tick();
    s.tick();
    let o = s.tx();
    assert_eq!(o.len(), 3);
    assert_eq!(parse(&o[2]).kind(), PacketKind::NameOverwriteRequest);
    assert_eq!(s.c.stats().retransmissions, 2);
}

#[test]
fn defence_and_answers() {
    let mut s = Sim::new(&[PRIMARY]);
    s.register(name("HOST"), 600);
    let g = name("GROUP");
    s.c.add_name(s.now, NameSpec::group(g, &[ME])).unwrap();
    let t = s.one();
    s.feed(PRIMARY, &positive(&parse(&t), 600));
    let peer = SocketAddrV4::new(OTHER, 137);
    let theirs = NbAddrEntry::new(NbFlags::new(false, NodeType::B), OTHER);

    // Registration by another node, broadcast or not, RD or not, and a
    // refresh: ACT_ERR each time, echoing the requester's data.
    let reqs = [
        Message::registration_request(0x100, name("HOST"), 0, theirs, true),
        Message::registration_request(0x101, name("HOST"), 0, theirs, false),
        Message::overwrite_request(0x102, name("HOST"), 0, theirs, true),
        Message::refresh_request(0x103, name("HOST"), 0, theirs, false),
        Message::multihomed_registration_request(0x104, name("HOST"), 0, theirs),
    ];
    for r in &reqs {
        s.feed(peer, &bytes(r));
        let t = s.one();
        assert_eq!(t.destination, peer);
        let p = parse(&t);
        assert_eq!(p.id, r.id);
        assert_eq!(p.kind(), PacketKind::NegativeRegistrationResponse);
        assert_eq!(p.rcode(), Rcode::Active);
        assert_eq!(p.answer().unwrap().nb().unwrap().first(), Some(theirs));
    }
    assert_eq!(s.c.stats().defences, 5);
    // Group names and our own address are not defended.
    s.feed(
        peer,
        &bytes(&Message::registration_request(1, g, 0, theirs, true)),
    );
    let ours = NbAddrEntry::new(NbFlags::new(false, NodeType::H), ME);
    s.feed(
        peer,
        &bytes(&Message::registration_request(
            2,
            name("HOST"),
            0,
            ours,
            true,
        )),
    );
    assert!(s.tx().is_empty());

    // Name queries: positive for ours (the WINS challenge), negative for
    // others only when unicast.
    s.feed(
        PRIMARY,
        &bytes(&Message::name_query_request(3, name("HOST"), false)),
    );
    let p_t = s.one();
    let p = parse(&p_t);
    assert_eq!(p.kind(), PacketKind::PositiveNameQueryResponse);
    assert_eq!(p.answer().unwrap().nb().unwrap().first(), Some(ours));
    s.feed(
        peer,
        &bytes(&Message::name_query_request(4, name("NOBODY"), true)),
    );
    assert!(
        s.tx().is_empty(),
        "never a negative answer to a broadcast query"
    );
    s.feed(
        peer,
        &bytes(&Message::name_query_request(5, name("NOBODY"), false)),
    );
    let n_t = s.one();
    assert_eq!(parse(&n_t).kind(), PacketKind::NegativeNameQueryResponse);

    // Node status for `*`: both names, active, with the group bit.
    let star = Name::unscoped(NetbiosName::wildcard());
    s.feed(peer, &bytes(&Message::node_status_request(6, star)));
    let st_t = s.one();
    let st = parse(&st_t);
    assert_eq!(st.kind(), PacketKind::NodeStatusResponse);
    let RData::NodeStatus(status) = st.answer().unwrap().rdata else {
        panic!("not a node status")
    };
    let names: Vec<_> = status.names.iter().collect();
    assert_eq!(names.len(), 2);
    assert!(names.iter().all(|n| n.flags.is_active()));
    assert!(names.iter().any(|n| n.name == g.netbios && n.flags.group()));
    assert_eq!(status.statistics.as_bytes(), &[0u8; 46][..]);
    // Node status for a name we do not hold: no answer.
    s.feed(
        peer,
        &bytes(&Message::node_status_request(7, name("NOBODY"))),
    );
    assert!(s.tx().is_empty());
    assert_eq!(s.c.stats().node_status_answers, 1);
}

#[test]
fn release_goes_to_every_server_holding_the_name() {
    let mut s = Sim::new(&[PRIMARY, SECONDARY]);
    s.register(name("HOST"), 600);
    // The refresh fails over to the secondary, which grants it too.
    s.tick();
    for _ in 0..3 {
        s.tx();
        s.tick();
    }
    let t = s.one();
    assert_eq!(t.destination, SECONDARY);
    s.feed(SECONDARY, &positive(&parse(&t), 600));
    s.c.release(s.now, name("HOST"));
    let r1 = s.one();
    assert_eq!(r1.destination, PRIMARY);
    s.feed(PRIMARY, &release_reply(&parse(&r1), Rcode::NoError));
    let r2 = s.one();
    assert_eq!(r2.destination, SECONDARY);
    s.feed(SECONDARY, &release_reply(&parse(&r2), Rcode::NameError));
    assert!(s.ev().iter().any(|e| matches!(
        e,
        ClientEvent::Released {
            outcome: ReleaseOutcome::NotFound,
            ..
        }
    )));
    assert!(s.c.is_empty());
}

#[test]
fn multihomed_names_register_every_address_with_opcode_f() {
    let mut s = Sim::new(&[PRIMARY]);
    let second = Ipv4Addr::new(192, 168, 1, 7);
    s.c.add_name(s.now, NameSpec::unique(name("HOST"), &[ME, second]))
        .unwrap();
    let t = s.one();
    let p = parse(&t);
    assert_eq!(p.kind(), PacketKind::MultihomedRegistrationRequest);
    assert_eq!(t.source, Some(ME));
    s.feed(PRIMARY, &positive(&p, 900));
    let t = s.one();
    let p = parse(&t);
    assert_eq!(t.source, Some(second));
    assert_eq!(entry_of(&p).address, second);
    s.feed(PRIMARY, &positive(&p, 600));
    assert!(matches!(
        s.ev().as_slice(),
        [ClientEvent::Registered { ttl: 600, .. }]
    ));
    // The node answers queries with both addresses.
    s.feed(
        PRIMARY,
        &bytes(&Message::name_query_request(3, name("HOST"), false)),
    );
    let a = s.one();
    assert_eq!(parse(&a).answer().unwrap().nb().unwrap().len(), 2);
}

#[test]
fn scoped_names_and_refresh_opcode_nine() {
    let mut config = ClientConfig::with_servers([PRIMARY]);
    config.refresh_opcode = nbns::client::RefreshOpcode::Nine;
    let mut s = Sim::with_config(config);
    let scoped = Name::new(
        NetbiosName::new("HOST", 0x20).unwrap(),
        Labels::from_dotted(b"corp.example").unwrap(),
    );
    s.register(scoped, 600);
    assert_eq!(s.state(name("HOST")), None);
    s.tick();
    let t = s.one();
    let p = parse(&t);
    assert_eq!(p.opcode(), Opcode::RefreshAlt);
    assert_eq!(p.question().unwrap().name, scoped);
    // Servers answer refreshes with opcode 5 (nmbd, Samba4).
    let resp = positive(&p, 600);
    assert_eq!(
        Flags(u16::from_be_bytes([resp[2], resp[3]])).opcode(),
        Opcode::Registration
    );
    s.feed(PRIMARY, &resp);
    assert_eq!(s.state(scoped), Some(NameState::Registered));
}

#[test]
fn names_held_locally_without_servers() {
    let mut s = Sim::new(&[]);
    s.add(name("HOST"));
    assert_eq!(s.state(name("HOST")), Some(NameState::Local));
    assert!(s.tx().is_empty());
    assert_eq!(s.c.poll_timeout(), None);
    s.c.reregister_all(s.now).unwrap();
    assert!(s.tx().is_empty());
    s.feed(
        SocketAddrV4::new(OTHER, 137),
        &bytes(&Message::name_query_request(3, name("HOST"), true)),
    );
    assert_eq!(s.tx().len(), 1);
}

#[test]
fn adopted_names_send_nothing_then_reregister_releases_them_at_the_primary() {
    let mut s = Sim::new(&[PRIMARY, SECONDARY]);
    for n in ["A", "B"] {
        s.c.adopt_name(s.now, NameSpec::unique(name(n), &[ME]), 600)
            .unwrap();
    }
    assert!(s.tx().is_empty(), "adopting sends nothing");
    assert_eq!(s.state(name("A")), Some(NameState::Registered));
    // The refresh is scheduled from the adopted TTL (half of 600 s, raised
    // to the 5-minute floor): due at 300 s.
    let due = s.c.poll_timeout().unwrap();
    assert_eq!(due - s.now, Duration::from_secs(300));
    s.c.reregister_all(s.now).unwrap();
    let releases = s.tx();
    assert_eq!(releases.len(), 2);
    for t in &releases {
        assert_eq!(t.destination, PRIMARY);
        assert_eq!(parse(t).kind(), PacketKind::NameReleaseRequest);
    }
    for t in &releases {
        s.feed(PRIMARY, &release_reply(&parse(t), Rcode::NoError));
    }
    let registrations = s.tx();
    assert_eq!(registrations.len(), 2);
    for t in &registrations {
        assert_eq!(t.destination, PRIMARY);
        assert!(parse(t).opcode().is_registration_like());
    }
}

/// A node status answer is up to eleven times its request: a burst of
/// requests from one (forged) source gets a bounded number of answers,
/// one more per second after that, and another source is still answered.
#[test]
fn node_status_answers_are_rate_limited_per_source() {
    let mut s = Sim::new(&[]);
    s.add(name("HOST"));
    s.tx();
    let victim = SocketAddrV4::new(OTHER, 137);
    let star = Name::unscoped(NetbiosName::wildcard());
    let request = |id| bytes(&Message::node_status_request(id, star));
    let mut answered = 0;
    for id in 0..100 {
        s.feed(victim, &request(id));
        answered += s.tx().len();
    }
    let burst = s.c.config().status_burst as usize;
    assert!((1..=8).contains(&burst), "{burst}");
    assert_eq!(answered, burst);
    assert_eq!(s.c.stats().dropped_rate_limited, 100 - burst as u64);
    // Another source: answered.
    let other = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 99), 137);
    s.feed(other, &request(200));
    assert_eq!(s.tx().len(), 1);
    // The same source from another port shares its bucket.
    s.feed(SocketAddrV4::new(OTHER, 5000), &request(201));
    assert!(s.tx().is_empty());
    // One more answer per second.
    s.now += Duration::from_secs(1);
    for id in 300..310 {
        s.feed(victim, &request(id));
    }
    assert_eq!(s.tx().len(), 1);
    assert_eq!(s.c.stats().node_status_answers as usize, burst + 2);
}

/// The outcome of each name, in a map by name, from the one
/// `ReregistrationDone` among `ev` (panics if there is none or several).
fn round_outcomes(ev: &[ClientEvent]) -> std::collections::BTreeMap<String, ReregisterOutcome> {
    let mut done = ev.iter().filter_map(|e| match e {
        ClientEvent::ReregistrationDone { outcomes } => Some(outcomes),
        _ => None,
    });
    let outcomes = done.next().expect("a ReregistrationDone event");
    assert!(done.next().is_none(), "one ReregistrationDone");
    outcomes
        .iter()
        .map(|o| (o.name.to_string(), o.clone()))
        .collect()
}

#[test]
fn reregister_all_reports_every_names_outcome_once_all_have_ended() {
    let mut s = Sim::new(&[PRIMARY]);
    s.register(name("A"), 600);
    s.register(name("B"), 600);
    // C was refused: registered again without a release.
    s.add(name("C"));
    let t = s.one();
    s.feed(PRIMARY, &negative(&parse(&t), Rcode::Active));
    s.ev();

    s.c.reregister_all(s.now).unwrap();
    let releases = s.tx();
    assert_eq!(releases.len(), 2);
    let by_name = |ts: &[Transmit], n: &str| {
        ts.iter()
            .find(|t| parse(t).question().unwrap().name == name(n))
            .cloned()
            .unwrap()
    };
    // A's release is confirmed; B's stays silent through the retries.
    s.feed(
        PRIMARY,
        &release_reply(&parse(&by_name(&releases, "A")), Rcode::NoError),
    );
    let mut regs = Vec::new();
    while regs.is_empty() {
        s.tick();
        regs = s
            .tx()
            .into_iter()
            .filter(|t| parse(t).kind() == PacketKind::NameRegistrationRequest)
            .collect();
    }
    assert_eq!(regs.len(), 3);
    let ev = s.ev();
    let reregistering: Vec<String> = ev
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Reregistering { name } => Some(name.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(reregistering.len(), 3, "{ev:?}");
    assert!(
        !ev.iter()
            .any(|e| matches!(e, ClientEvent::ReregistrationDone { .. }))
    );

    // A is granted, B refused; no Done until C has its outcome.
    s.feed(PRIMARY, &positive(&parse(&by_name(&regs, "A")), 900));
    s.feed(
        PRIMARY,
        &negative(&parse(&by_name(&regs, "B")), Rcode::Active),
    );
    assert!(
        !s.ev()
            .iter()
            .any(|e| matches!(e, ClientEvent::ReregistrationDone { .. }))
    );
    // C's registration goes unanswered.
    let mut ev = Vec::new();
    while !ev
        .iter()
        .any(|e| matches!(e, ClientEvent::NoServerAnswered { .. }))
    {
        s.tick();
        s.tx();
        ev.extend(s.ev());
    }
    let o = round_outcomes(&ev);
    assert_eq!(o.len(), 3);
    assert_eq!(o["A<00>"].release, Some(ReleaseOutcome::Confirmed));
    assert_eq!(
        o["A<00>"].registration,
        RegistrationOutcome::Registered {
            server: PRIMARY,
            ttl: 900
        }
    );
    assert_eq!(o["B<00>"].release, Some(ReleaseOutcome::Unconfirmed));
    assert_eq!(
        o["B<00>"].registration,
        RegistrationOutcome::Refused {
            server: PRIMARY,
            rcode: Rcode::Active
        }
    );
    assert_eq!(o["C<00>"].release, None);
    assert_eq!(
        o["C<00>"].registration,
        RegistrationOutcome::NoServerAnswered
    );
    // A later refresh or registration of the names reports no second round.
    s.now += Duration::from_secs(3600);
    s.c.handle_timeout(s.now);
    s.tx();
    assert!(
        !s.ev()
            .iter()
            .any(|e| matches!(e, ClientEvent::ReregistrationDone { .. }))
    );
}

#[test]
fn reregister_all_of_no_names_and_a_name_released_midway() {
    let mut s = Sim::new(&[PRIMARY]);
    // Nothing to re-register: done at once, with no outcome.
    s.c.reregister_all(s.now).unwrap();
    assert_eq!(round_outcomes(&s.ev()).len(), 0);

    s.register(name("A"), 600);
    s.register(name("B"), 600);
    s.now += Duration::from_secs(200);
    s.c.reregister_all(s.now).unwrap();
    for t in s.tx() {
        s.feed(PRIMARY, &release_reply(&parse(&t), Rcode::NoError));
    }
    let regs = s.tx();
    assert_eq!(regs.len(), 2);
    s.ev();
    // B is released while its registration is in flight: abandoned.
    assert!(s.c.release(s.now, name("B")));
    for t in s.tx() {
        s.feed(PRIMARY, &release_reply(&parse(&t), Rcode::NoError));
    }
    let a = regs
        .iter()
        .find(|t| parse(t).question().unwrap().name == name("A"))
        .unwrap();
    s.feed(PRIMARY, &positive(&parse(a), 600));
    let o = round_outcomes(&s.ev());
    assert_eq!(o.len(), 2);
    assert!(matches!(
        o["A<00>"].registration,
        RegistrationOutcome::Registered { ttl: 600, .. }
    ));
    assert_eq!(o["B<00>"].release, Some(ReleaseOutcome::Confirmed));
    assert_eq!(o["B<00>"].registration, RegistrationOutcome::Abandoned);
}

#[test]
fn release_all_reports_names_never_registered_as_such() {
    let mut s = Sim::new(&[PRIMARY]);
    s.register(name("HELD"), 600);
    s.add(name("REFUSED"));
    let t = s.one();
    s.feed(PRIMARY, &negative(&parse(&t), Rcode::Active));
    s.ev();
    s.c.release_all(s.now);
    let releases = s.tx();
    assert_eq!(
        releases.len(),
        1,
        "only the registered name is released at the server"
    );
    s.feed(
        PRIMARY,
        &release_reply(&parse(&releases[0]), Rcode::NoError),
    );
    let mut outcomes: Vec<(String, ReleaseOutcome)> = s
        .ev()
        .into_iter()
        .filter_map(|e| match e {
            ClientEvent::Released { name, outcome } => Some((name.to_string(), outcome)),
            _ => None,
        })
        .collect();
    outcomes.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        outcomes,
        [
            ("HELD<00>".to_string(), ReleaseOutcome::Confirmed),
            ("REFUSED<00>".to_string(), ReleaseOutcome::NotRegistered),
        ]
    );
    assert!(s.c.is_empty());
}

#[test]
fn events_and_outcomes_display_as_sentences() {
    let n = OwnedName::new(NetbiosName::new("HOST", 0x20).unwrap(), b"");
    let registered = ClientEvent::Registered {
        name: n.clone(),
        server: PRIMARY,
        ttl: 600,
    };
    assert_eq!(
        registered.to_string(),
        "HOST<20>: registered, TTL 600 s (WINS 10.0.0.1:137)"
    );
    let released = ClientEvent::Released {
        name: n.clone(),
        outcome: ReleaseOutcome::NotRegistered,
    };
    assert_eq!(
        released.to_string(),
        "HOST<20>: dropped (was not registered)"
    );
    let conflict = ClientEvent::Conflict {
        name: n.clone(),
        cause: ConflictCause::ConflictDemand,
    };
    assert_eq!(
        conflict.to_string(),
        "HOST<20>: in conflict (name conflict demand from the WINS server)"
    );
    let done = ClientEvent::ReregistrationDone {
        outcomes: vec![ReregisterOutcome {
            name: n.clone(),
            release: Some(ReleaseOutcome::Unconfirmed),
            registration: RegistrationOutcome::Refused {
                server: PRIMARY,
                rcode: Rcode::Active,
            },
        }],
    };
    assert_eq!(
        done.to_string(),
        format!(
            "re-register all done (1 name(s)); HOST<20>: released (unconfirmed: no answer), then refused with {} by WINS 10.0.0.1:137",
            Rcode::Active
        )
    );
    assert_eq!(
        ReleaseOutcome::Confirmed.to_string(),
        "released (confirmed)"
    );
    assert_eq!(
        RegistrationOutcome::NoServerAnswered.to_string(),
        "timed out: no WINS server answered"
    );
}

/// A plain release of the last name whose re-register-all release is still
/// out lets the others register again (they used to wait forever).
#[test]
fn release_during_reregister_all_does_not_strand_the_other_names() {
    let mut s = Sim::new(&[PRIMARY]);
    s.register(name("A"), 600);
    s.register(name("B"), 600);
    s.now += Duration::from_secs(200);
    s.c.reregister_all(s.now).unwrap();
    let releases = s.tx();
    assert_eq!(releases.len(), 2);
    let of = |n: &str| {
        releases
            .iter()
            .find(|t| parse(t).question().unwrap().name == name(n))
            .unwrap()
            .clone()
    };
    // A's release is answered; B's is still out when B is released for good.
    s.feed(PRIMARY, &release_reply(&parse(&of("A")), Rcode::NoError));
    assert_eq!(s.state(name("A")), Some(NameState::AwaitingReregister));
    assert!(s.c.release(s.now, name("B")));
    s.feed(PRIMARY, &release_reply(&parse(&of("B")), Rcode::NoError));
    assert_eq!(s.state(name("B")), None);
    // A is registered again.
    let regs: Vec<Transmit> = s
        .tx()
        .into_iter()
        .filter(|t| parse(t).kind() == PacketKind::NameRegistrationRequest)
        .collect();
    assert_eq!(regs.len(), 1, "A's registration starts");
    assert_eq!(s.state(name("A")), Some(NameState::Registering));
    s.feed(PRIMARY, &positive(&parse(&regs[0]), 600));
    assert_eq!(s.state(name("A")), Some(NameState::Registered));
    let o = round_outcomes(&s.ev());
    assert!(matches!(
        o["A<00>"].registration,
        RegistrationOutcome::Registered { ttl: 600, .. }
    ));
}
