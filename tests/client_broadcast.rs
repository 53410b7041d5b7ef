//! Name clients as B, H and M nodes on a simulated broadcast segment
//! (RFC 1002 §5.1.1, §5.1.3; MS-NBTE), with the crate's WINS server on the
//! same subnet: claims, defence, conflict demands, broadcast releases, the
//! H-node's fallback to broadcast and return to WINS, with loss.
//!
//! The segment is 10.0.0.0/24 with broadcast address 10.0.0.255. A datagram
//! to 10.0.0.255:137 reaches every machine that is up, the sender too (as a
//! socket bound to port 137 receives its own broadcasts); one to a
//! machine's address reaches that machine. Each delivery can be dropped by
//! the loss model. Time jumps to the earliest deadline; nothing sleeps.

use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;
use std::time::Instant;

use nbns::client::{
    ClientConfig, ClientEvent, ConflictCause, DeterministicIds, NameClient, NameSpec, NameState,
    ReleaseOutcome,
};
use nbns::server::{Durability, ServerConfig, WinsServer};
use nbns::wire::{
    Message, Name, NbAddrEntry, NbFlags, NetbiosName, NodeType, Packet, PacketKind, Rcode,
};

const PORT: u16 = 137;
const WINS: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const BCAST: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 255), PORT);
const MAX_BURST: usize = 10_000;

fn ip(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, n)
}

fn name(s: &str, suffix: u8) -> Name<'static> {
    Name::unscoped(NetbiosName::new(s, suffix).unwrap())
}

/// One delivery (or loss) of a datagram.
#[derive(Debug, Clone)]
struct Wire {
    at: Duration,
    from: SocketAddrV4,
    to: Ipv4Addr,
    id: u16,
    kind: PacketKind,
    broadcast: bool,
    rcode: Rcode,
    delivered: bool,
}

struct Node {
    ip: Ipv4Addr,
    client: NameClient<DeterministicIds>,
    events: Vec<ClientEvent>,
}

/// Which deliveries are lost: a seeded xorshift at `percent`, plus a script
/// of deliveries to drop (by their index in the wire log).
struct Loss {
    state: u64,
    percent: u64,
    scripted: Vec<usize>,
}

impl Loss {
    fn none() -> Self {
        Self {
            state: 1,
            percent: 0,
            scripted: Vec::new(),
        }
    }

    fn random(seed: u64, percent: u64) -> Self {
        Self {
            state: seed.max(1),
            percent,
            scripted: Vec::new(),
        }
    }

    fn drops(&mut self, index: usize) -> bool {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        self.scripted.contains(&index) || x % 100 < self.percent
    }
}

struct Segment {
    start: Instant,
    now: Instant,
    server: WinsServer,
    server_up: bool,
    nodes: Vec<Node>,
    wire: Vec<Wire>,
    loss: Loss,
}

impl Segment {
    fn new(loss: Loss) -> Self {
        let now = Instant::now();
        let mut c = ServerConfig::default();
        c.address = WINS;
        c.min_ttl = 60;
        c.max_ttl = 60;
        c.durability = Durability::Volatile;
        Self {
            start: now,
            now,
            server: WinsServer::with_ids(c, now, DeterministicIds::new(1)),
            server_up: true,
            nodes: Vec::new(),
            wire: Vec::new(),
            loss,
        }
    }

    fn add_node(&mut self, n: u8, config: ClientConfig) -> usize {
        self.nodes.push(Node {
            ip: ip(n),
            client: NameClient::with_deterministic_ids(config, u64::from(n)),
            events: Vec::new(),
        });
        self.nodes.len() - 1
    }

    fn add(&mut self, i: usize, spec: NameSpec<'_>) {
        let now = self.now;
        self.nodes[i].client.add_name(now, spec).unwrap();
        self.settle();
    }

    fn state(&self, i: usize, n: Name<'_>) -> Option<NameState> {
        self.nodes[i].client.name_state(n)
    }

    fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Sends a datagram from a machine the test plays.
    fn inject(&mut self, from: SocketAddrV4, to: SocketAddrV4, p: &Message<'_>) {
        let mut bytes = Vec::new();
        p.emit_buf(&mut bytes).unwrap();
        self.deliver(from, to, &bytes);
        self.settle();
    }

    fn settle(&mut self) {
        let mut delivered = 0;
        loop {
            let mut queue = Vec::new();
            while let Some(t) = self.server.poll_transmit() {
                if self.server_up {
                    queue.push((SocketAddrV4::new(WINS, PORT), t.destination, t.contents));
                }
            }
            while self.server.poll_event().is_some() {}
            for n in &mut self.nodes {
                while let Some(t) = n.client.poll_transmit() {
                    let src = SocketAddrV4::new(t.source.unwrap_or(n.ip), PORT);
                    queue.push((src, t.destination, t.contents));
                }
                n.events
                    .extend(core::iter::from_fn(|| n.client.poll_event()));
            }
            if queue.is_empty() {
                return;
            }
            for (from, to, bytes) in queue {
                delivered += 1;
                assert!(delivered < MAX_BURST, "datagram storm");
                self.deliver(from, to, &bytes);
            }
        }
    }

    fn deliver(&mut self, from: SocketAddrV4, to: SocketAddrV4, bytes: &[u8]) {
        let p = Packet::parse(bytes).expect("well-formed packets only");
        let targets: Vec<Ipv4Addr> = if to == BCAST {
            let mut t: Vec<Ipv4Addr> = self.nodes.iter().map(|n| n.ip).collect();
            t.push(WINS);
            t
        } else {
            vec![*to.ip()]
        };
        for target in targets {
            let index = self.wire.len();
            let lost = self.loss.drops(index);
            let mut delivered = false;
            if !lost {
                if target == WINS {
                    if self.server_up {
                        self.server.handle_datagram(self.now, from, bytes);
                        delivered = true;
                    }
                } else if let Some(n) = self.nodes.iter_mut().find(|n| n.ip == target) {
                    n.client.handle_datagram(self.now, from, bytes);
                    delivered = true;
                }
            }
            self.wire.push(Wire {
                at: self.now - self.start,
                from,
                to: target,
                id: p.id,
                kind: p.kind(),
                broadcast: p.flags.broadcast(),
                rcode: p.rcode(),
                delivered,
            });
        }
    }

    fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        self.settle();
        let mut steps = 0u32;
        loop {
            let mut next = self.server.poll_timeout();
            for n in &self.nodes {
                if let Some(t) = n.client.poll_timeout() {
                    next = Some(next.map_or(t, |m| m.min(t)));
                }
            }
            let Some(t) = next.filter(|t| *t <= end) else {
                break;
            };
            steps += 1;
            assert!(steps < 1_000_000, "timers do not advance");
            self.now = self.now.max(t);
            let now = self.now;
            self.server.handle_timeout(now);
            for n in &mut self.nodes {
                n.client.handle_timeout(now);
            }
            self.settle();
        }
        self.now = end;
        self.settle();
    }

    fn events(&mut self, i: usize) -> Vec<ClientEvent> {
        core::mem::take(&mut self.nodes[i].events)
    }

    /// Datagrams sent by `from` (each once: broadcasts are logged per
    /// receiver, so only the copy to the sender itself counts).
    fn sent_by(&self, from: Ipv4Addr) -> Vec<&Wire> {
        self.wire
            .iter()
            .filter(|w| *w.from.ip() == from && (w.to == from || !w.broadcast))
            .collect()
    }
}

fn b_node() -> ClientConfig {
    ClientConfig::default()
        .node_type(NodeType::B)
        .broadcast(BCAST)
}

fn h_node() -> ClientConfig {
    ClientConfig::with_servers([SocketAddrV4::new(WINS, PORT)])
        .node_type(NodeType::H)
        .broadcast(BCAST)
        .min_ttl(60)
        .registration_retry(Duration::from_secs(60))
}

#[test]
fn a_b_node_claims_a_name_by_three_broadcasts_and_an_overwrite_demand() {
    let mut s = Segment::new(Loss::none());
    let a = s.add_node(7, b_node());
    s.add(a, NameSpec::unique(name("HOST", 0), &[ip(7)]));
    assert_eq!(s.state(a, name("HOST", 0)), Some(NameState::Claiming));
    s.run_for(Duration::from_secs(5));
    assert_eq!(s.state(a, name("HOST", 0)), Some(NameState::Claimed));
    let sent = s.sent_by(ip(7));
    let kinds: Vec<(PacketKind, bool, Duration)> =
        sent.iter().map(|w| (w.kind, w.broadcast, w.at)).collect();
    let ms = Duration::from_millis;
    assert_eq!(
        kinds,
        [
            (PacketKind::NameRegistrationRequest, true, ms(0)),
            (PacketKind::NameRegistrationRequest, true, ms(750)),
            (PacketKind::NameRegistrationRequest, true, ms(1500)),
            (PacketKind::NameOverwriteRequest, true, ms(2250)),
        ]
    );
    // One transaction ID across the retransmissions and the demand.
    assert!(sent.iter().all(|w| w.id == sent[0].id));
    // The WINS server ignores broadcasts; nothing went to it.
    assert!(s.wire.iter().all(|w| *w.from.ip() != WINS));
    assert_eq!(
        s.events(a),
        [ClientEvent::Claimed {
            name: nbns::client::OwnedName::new(NetbiosName::new("HOST", 0).unwrap(), b"")
        }]
    );
}

#[test]
fn the_rfc_timer_is_configurable() {
    let mut s = Segment::new(Loss::none());
    let a = s.add_node(
        7,
        b_node()
            .broadcast_retry_interval(Duration::from_millis(250))
            .broadcast_retries(3),
    );
    s.add(a, NameSpec::unique(name("HOST", 0), &[ip(7)]));
    s.run_for(Duration::from_secs(2));
    let at: Vec<u128> = s.sent_by(ip(7)).iter().map(|w| w.at.as_millis()).collect();
    assert_eq!(at, [0, 250, 500, 750]);
}

#[test]
fn two_nodes_claiming_one_unique_name_exactly_one_wins() {
    let mut s = Segment::new(Loss::none());
    let a = s.add_node(7, b_node());
    let b = s.add_node(8, b_node());
    s.add(a, NameSpec::unique(name("HOST", 0x20), &[ip(7)]));
    s.run_for(Duration::from_secs(5));
    s.events(a);
    s.add(b, NameSpec::unique(name("HOST", 0x20), &[ip(8)]));
    s.run_for(Duration::from_secs(5));
    assert_eq!(s.state(a, name("HOST", 0x20)), Some(NameState::Claimed));
    assert_eq!(s.state(b, name("HOST", 0x20)), Some(NameState::Conflict));
    let ev = s.events(b);
    assert!(
        matches!(
            ev.as_slice(),
            [ClientEvent::Conflict {
                cause: ConflictCause::Defended { by, rcode: Rcode::Active },
                ..
            }] if *by == SocketAddrV4::new(ip(7), PORT)
        ),
        "{ev:?}"
    );
    // The defence was one negative response, unicast to B.
    let defences: Vec<&Wire> = s
        .sent_by(ip(7))
        .into_iter()
        .filter(|w| w.kind == PacketKind::NegativeRegistrationResponse)
        .collect();
    assert_eq!(defences.len(), 1);
    assert_eq!(defences[0].to, ip(8));
    assert!(s.events(a).is_empty(), "the winner hears nothing");
    // A name in conflict logically does not exist: B does not answer for it.
    s.inject(
        SocketAddrV4::new(ip(9), PORT),
        SocketAddrV4::new(ip(8), PORT),
        &Message::name_query_request(0x77, name("HOST", 0x20), false),
    );
    let answered = s.wire.iter().any(|w| {
        *w.from.ip() == ip(8) && w.id == 0x77 && w.kind == PacketKind::PositiveNameQueryResponse
    });
    assert!(!answered);
}

/// With random loss, the loser loses exactly when one of its registrations
/// reached the winner and the winner's defence of it came back; otherwise
/// both hold the name (the segment could not tell them apart). A defence of
/// the final overwrite demand comes after the claim and does not count.
#[test]
fn with_loss_the_claim_fails_exactly_when_a_defence_got_through() {
    let mut conflicts = 0;
    for seed in 1..=40u64 {
        let mut s = Segment::new(Loss::random(seed * 7919, 30));
        let a = s.add_node(7, b_node());
        let b = s.add_node(8, b_node());
        s.add(a, NameSpec::unique(name("HOST", 0), &[ip(7)]));
        s.run_for(Duration::from_secs(5));
        if s.state(a, name("HOST", 0)) != Some(NameState::Claimed) {
            panic!("seed {seed}: a lone claim cannot fail");
        }
        let mark = s.wire.len();
        s.add(b, NameSpec::unique(name("HOST", 0), &[ip(8)]));
        s.run_for(Duration::from_secs(5));
        let later = &s.wire[mark..];
        let registrations: Vec<Duration> = later
            .iter()
            .filter(|w| *w.from.ip() == ip(8) && w.kind == PacketKind::NameRegistrationRequest)
            .map(|w| w.at)
            .collect();
        let defended = later.iter().any(|w| {
            *w.from.ip() == ip(7)
                && w.to == ip(8)
                && w.kind == PacketKind::NegativeRegistrationResponse
                && w.delivered
                && registrations.contains(&w.at)
        });
        let expected = if defended {
            conflicts += 1;
            NameState::Conflict
        } else {
            NameState::Claimed
        };
        assert_eq!(s.state(b, name("HOST", 0)), Some(expected), "seed {seed}");
        assert_eq!(s.state(a, name("HOST", 0)), Some(NameState::Claimed));
    }
    assert!(conflicts > 30, "the retries carry most claims through loss");
}

#[test]
fn group_names_are_shared() {
    let mut s = Segment::new(Loss::none());
    let a = s.add_node(7, b_node());
    let b = s.add_node(8, b_node());
    s.add(a, NameSpec::group(name("WORKGROUP", 0), &[ip(7)]));
    s.run_for(Duration::from_secs(5));
    s.add(b, NameSpec::group(name("WORKGROUP", 0), &[ip(8)]));
    s.run_for(Duration::from_secs(5));
    assert_eq!(s.state(a, name("WORKGROUP", 0)), Some(NameState::Claimed));
    assert_eq!(s.state(b, name("WORKGROUP", 0)), Some(NameState::Claimed));
    assert!(
        s.wire
            .iter()
            .all(|w| w.kind != PacketKind::NegativeRegistrationResponse)
    );
    // A unique claim of a name held as a group elsewhere is not defended
    // by the group member either (RFC 1002 §5.1.1.5: only unique entries).
    let c = s.add_node(9, b_node());
    s.add(c, NameSpec::unique(name("WORKGROUP", 0), &[ip(9)]));
    s.run_for(Duration::from_secs(5));
    assert_eq!(s.state(c, name("WORKGROUP", 0)), Some(NameState::Claimed));
}

fn request_entry(addr: Ipv4Addr) -> NbAddrEntry {
    NbAddrEntry::new(NbFlags::new(false, NodeType::B), addr)
}

#[test]
fn a_claimed_name_is_defended_against_registrations_and_refreshes_echoing_their_data() {
    let mut s = Segment::new(Loss::none());
    let a = s.add_node(7, b_node());
    s.add(a, NameSpec::unique(name("HOST", 0), &[ip(7)]));
    s.add(a, NameSpec::unique(name("*SMBSERVER", 0x20), &[ip(7)]));
    s.run_for(Duration::from_secs(5));
    let stranger = SocketAddrV4::new(ip(9), PORT);
    let entry = request_entry(ip(9));
    let to_a = SocketAddrV4::new(ip(7), PORT);
    let requests = [
        (
            1u16,
            Message::registration_request(1, name("HOST", 0), 0, entry, true),
            BCAST,
        ),
        (
            2,
            Message::registration_request(2, name("HOST", 0), 300, entry, false),
            to_a,
        ),
        (
            3,
            Message::refresh_request(3, name("HOST", 0), 300, entry, false),
            to_a,
        ),
        (
            4,
            Message::overwrite_request(4, name("HOST", 0), 0, entry, true),
            BCAST,
        ),
    ];
    for (id, req, to) in &requests {
        let mark = s.wire.len();
        s.inject(stranger, *to, req);
        let answers: Vec<&Wire> = s.wire[mark..]
            .iter()
            .filter(|w| *w.from.ip() == ip(7))
            .collect();
        assert_eq!(answers.len(), 1, "request {id}");
        assert_eq!(answers[0].id, *id);
        assert_eq!(answers[0].kind, PacketKind::NegativeRegistrationResponse);
        assert_eq!(answers[0].rcode, Rcode::Active);
        assert_eq!(answers[0].to, ip(9));
    }
    // `*` names are never defended.
    let mark = s.wire.len();
    s.inject(
        stranger,
        BCAST,
        &Message::registration_request(5, name("*SMBSERVER", 0x20), 0, entry, true),
    );
    assert!(s.wire[mark..].iter().all(|w| *w.from.ip() != ip(7)));
    assert_eq!(s.state(a, name("HOST", 0)), Some(NameState::Claimed));
}

#[test]
fn the_defence_echoes_the_requesters_rdata() {
    // Checked on the bytes: a client alone, fed a broadcast registration.
    let mut c = NameClient::with_deterministic_ids(b_node(), 3);
    let now = Instant::now();
    c.add_name(now, NameSpec::unique(name("HOST", 0), &[ip(7)]))
        .unwrap();
    let mut t = now;
    while let Some(d) = c.poll_timeout() {
        t = d;
        c.handle_timeout(t);
        while c.poll_transmit().is_some() {}
    }
    assert_eq!(c.name_state(name("HOST", 0)), Some(NameState::Claimed));
    let entry = NbAddrEntry::new(NbFlags::new(true, NodeType::M), ip(9));
    let mut req = Vec::new();
    Message::registration_request(0x4242, name("HOST", 0), 0, entry, true)
        .emit_buf(&mut req)
        .unwrap();
    c.handle_datagram(t, SocketAddrV4::new(ip(9), 1234), &req);
    let out = c.poll_transmit().unwrap();
    assert_eq!(out.destination, SocketAddrV4::new(ip(9), 1234));
    let p = Packet::parse(&out.contents).unwrap();
    assert_eq!(p.kind(), PacketKind::NegativeRegistrationResponse);
    assert_eq!(p.rcode(), Rcode::Active);
    assert_eq!(p.answer().unwrap().nb().unwrap().first(), Some(entry));
}

#[test]
fn a_conflict_demand_takes_the_name_off_the_segment() {
    let mut s = Segment::new(Loss::none());
    let a = s.add_node(7, b_node());
    s.add(a, NameSpec::unique(name("HOST", 0), &[ip(7)]));
    s.run_for(Duration::from_secs(5));
    s.events(a);
    let stranger = SocketAddrV4::new(ip(9), PORT);
    let to_a = SocketAddrV4::new(ip(7), PORT);
    s.inject(
        stranger,
        to_a,
        &Message::name_conflict_demand(0x99, name("HOST", 0), NodeType::B),
    );
    assert_eq!(s.state(a, name("HOST", 0)), Some(NameState::Conflict));
    assert!(matches!(
        s.events(a).as_slice(),
        [ClientEvent::Conflict {
            cause: ConflictCause::ConflictDemand,
            ..
        }]
    ));
    // No answers, no defence, no refresh, no broadcast release.
    let mark = s.wire.len();
    s.inject(
        stranger,
        BCAST,
        &Message::name_query_request(1, name("HOST", 0), true),
    );
    s.inject(
        stranger,
        BCAST,
        &Message::registration_request(2, name("HOST", 0), 0, request_entry(ip(9)), true),
    );
    s.run_for(Duration::from_secs(3600));
    assert!(s.wire[mark..].iter().all(|w| *w.from.ip() != ip(7)));
    assert!(s.nodes[a].client.release(s.now, name("HOST", 0)));
    s.settle();
    assert!(s.wire[mark..].iter().all(|w| *w.from.ip() != ip(7)));
    assert!(matches!(
        s.events(a).as_slice(),
        [ClientEvent::Released {
            outcome: ReleaseOutcome::NotRegistered,
            ..
        }]
    ));
}

#[test]
fn release_by_broadcast_frees_the_name_for_another_node() {
    let mut s = Segment::new(Loss::none());
    let a = s.add_node(7, b_node());
    let b = s.add_node(8, b_node());
    s.add(a, NameSpec::unique(name("HOST", 0), &[ip(7)]));
    s.run_for(Duration::from_secs(5));
    s.events(a);
    let mark = s.wire.len();
    let now = s.now;
    assert!(s.nodes[a].client.release(now, name("HOST", 0)));
    s.run_for(Duration::from_secs(5));
    let releases: Vec<(PacketKind, bool, Duration)> = s.wire[mark..]
        .iter()
        .filter(|w| *w.from.ip() == ip(7) && w.to == ip(7))
        .map(|w| (w.kind, w.broadcast, w.at - (now - s.start)))
        .collect();
    let ms = Duration::from_millis;
    assert_eq!(
        releases,
        [
            (PacketKind::NameReleaseRequest, true, ms(0)),
            (PacketKind::NameReleaseRequest, true, ms(750)),
            (PacketKind::NameReleaseRequest, true, ms(1500)),
        ]
    );
    assert_eq!(s.state(a, name("HOST", 0)), None);
    assert!(matches!(
        s.events(a).as_slice(),
        [ClientEvent::Released {
            outcome: ReleaseOutcome::Broadcast,
            ..
        }]
    ));
    s.add(b, NameSpec::unique(name("HOST", 0), &[ip(8)]));
    s.run_for(Duration::from_secs(5));
    assert_eq!(s.state(b, name("HOST", 0)), Some(NameState::Claimed));
}

#[test]
fn others_releases_of_our_unique_name_are_refused_and_change_nothing() {
    let mut s = Segment::new(Loss::none());
    let a = s.add_node(7, b_node());
    s.add(a, NameSpec::unique(name("HOST", 0), &[ip(7)]));
    s.add(a, NameSpec::group(name("WORKGROUP", 0), &[ip(7)]));
    s.run_for(Duration::from_secs(5));
    let stranger = SocketAddrV4::new(ip(9), PORT);
    let mark = s.wire.len();
    s.inject(
        stranger,
        BCAST,
        &Message::release_request(0x31, name("HOST", 0), request_entry(ip(9)), true),
    );
    let answers: Vec<&Wire> = s.wire[mark..]
        .iter()
        .filter(|w| *w.from.ip() == ip(7))
        .collect();
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].kind, PacketKind::NegativeReleaseResponse);
    assert_eq!(answers[0].rcode, Rcode::Active);
    assert_eq!(answers[0].to, ip(9));
    assert_eq!(s.state(a, name("HOST", 0)), Some(NameState::Claimed));
    // A group member leaving is not refused.
    let mark = s.wire.len();
    let member = NbAddrEntry::new(NbFlags::new(true, NodeType::B), ip(9));
    s.inject(
        stranger,
        BCAST,
        &Message::release_request(0x32, name("WORKGROUP", 0), member, true),
    );
    assert!(s.wire[mark..].iter().all(|w| *w.from.ip() != ip(7)));
    assert_eq!(s.state(a, name("WORKGROUP", 0)), Some(NameState::Claimed));
}

#[test]
fn broadcast_queries_are_never_answered_negatively() {
    let mut s = Segment::new(Loss::none());
    let a = s.add_node(7, b_node());
    s.add(a, NameSpec::unique(name("HOST", 0), &[ip(7)]));
    s.run_for(Duration::from_secs(5));
    let stranger = SocketAddrV4::new(ip(9), PORT);
    let mark = s.wire.len();
    s.inject(
        stranger,
        BCAST,
        &Message::name_query_request(1, name("OTHER", 0), true),
    );
    assert!(s.wire[mark..].iter().all(|w| *w.from.ip() != ip(7)));
    s.inject(
        stranger,
        BCAST,
        &Message::name_query_request(2, name("HOST", 0), true),
    );
    let positive = s.wire[mark..]
        .iter()
        .filter(|w| *w.from.ip() == ip(7))
        .map(|w| w.kind)
        .collect::<Vec<_>>();
    assert_eq!(positive, [PacketKind::PositiveNameQueryResponse]);
}

/// H-node: WINS first; when the WINS server goes silent, the name is
/// claimed by broadcast and defended there, WINS is tried in the
/// background, and the name returns to WINS when the server is back.
#[test]
fn an_h_node_falls_back_to_broadcast_and_returns_to_wins() {
    let mut s = Segment::new(Loss::none());
    let h = s.add_node(7, h_node());
    s.add(h, NameSpec::unique(name("HOST", 0), &[ip(7)]));
    s.run_for(Duration::from_secs(1));
    assert_eq!(s.state(h, name("HOST", 0)), Some(NameState::Registered));
    assert!(
        s.wire.iter().all(|w| !w.broadcast),
        "no broadcast while WINS answers"
    );
    s.events(h);

    // The server goes silent; the refresh at half the 60 s TTL times out,
    // so does the registration, and the name is claimed by broadcast.
    s.server_up = false;
    let down_at = s.elapsed();
    s.run_for(Duration::from_secs(60));
    assert_eq!(s.state(h, name("HOST", 0)), Some(NameState::Claimed));
    let ev = s.events(h);
    let kinds: Vec<&str> = ev
        .iter()
        .map(|e| match e {
            ClientEvent::RefreshTimedOut { .. } => "refresh timed out",
            ClientEvent::NoServerAnswered { .. } => "no server",
            ClientEvent::Claimed { .. } => "claimed",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["refresh timed out", "no server", "claimed"]);
    let first_broadcast = s.wire.iter().find(|w| w.broadcast).unwrap().at;
    assert!(first_broadcast > down_at);

    // Meanwhile it defends the name on the segment.
    let b = s.add_node(8, b_node());
    s.add(b, NameSpec::unique(name("HOST", 0), &[ip(8)]));
    s.run_for(Duration::from_secs(5));
    assert_eq!(s.state(b, name("HOST", 0)), Some(NameState::Conflict));

    // WINS is retried every registration_retry (60 s), silently.
    let mark = s.wire.len();
    s.run_for(Duration::from_secs(130));
    let to_wins = s.wire[mark..]
        .iter()
        .filter(|w| *w.from.ip() == ip(7) && w.to == WINS && !w.broadcast)
        .count();
    assert_eq!(to_wins, 6, "two rounds of three registrations");
    assert_eq!(s.state(h, name("HOST", 0)), Some(NameState::Claimed));

    // The server is back: the next retry registers the name there.
    s.server_up = true;
    s.run_for(Duration::from_secs(61));
    assert_eq!(s.state(h, name("HOST", 0)), Some(NameState::Registered));
    assert!(
        s.events(h)
            .iter()
            .any(|e| matches!(e, ClientEvent::Registered { ttl: 60, .. }))
    );
    assert!(
        s.server
            .record(NetbiosName::new("HOST", 0).unwrap(), b"")
            .is_some()
    );

    // Released at WINS and on the segment it was claimed on.
    let mark = s.wire.len();
    let now = s.now;
    assert!(s.nodes[h].client.release(now, name("HOST", 0)));
    s.run_for(Duration::from_secs(5));
    let sent: Vec<(PacketKind, bool)> = s.wire[mark..]
        .iter()
        .filter(|w| *w.from.ip() == ip(7) && (w.to == ip(7) || !w.broadcast))
        .map(|w| (w.kind, w.broadcast))
        .collect();
    assert_eq!(
        sent,
        [
            (PacketKind::NameReleaseRequest, false),
            (PacketKind::NameReleaseRequest, true),
            (PacketKind::NameReleaseRequest, true),
            (PacketKind::NameReleaseRequest, true),
        ]
    );
    assert!(matches!(
        s.events(h).last(),
        Some(ClientEvent::Released {
            outcome: ReleaseOutcome::Confirmed,
            ..
        })
    ));
}

#[test]
fn an_m_node_claims_by_broadcast_first_then_registers_with_wins() {
    let mut s = Segment::new(Loss::none());
    let m = s.add_node(7, h_node().node_type(NodeType::M));
    s.add(m, NameSpec::unique(name("HOST", 0), &[ip(7)]));
    s.run_for(Duration::from_secs(5));
    assert_eq!(s.state(m, name("HOST", 0)), Some(NameState::Registered));
    let sent: Vec<(PacketKind, bool)> = s
        .sent_by(ip(7))
        .iter()
        .map(|w| (w.kind, w.broadcast))
        .collect();
    assert_eq!(
        sent,
        [
            (PacketKind::NameRegistrationRequest, true),
            (PacketKind::NameRegistrationRequest, true),
            (PacketKind::NameRegistrationRequest, true),
            (PacketKind::NameOverwriteRequest, true),
            (PacketKind::NameRegistrationRequest, false),
        ]
    );
}

#[test]
fn a_p_node_and_a_default_config_never_broadcast() {
    let mut s = Segment::new(Loss::none());
    s.server_up = false;
    let p = s.add_node(7, h_node().node_type(NodeType::P));
    let d = s.add_node(
        8,
        ClientConfig::with_servers([SocketAddrV4::new(WINS, PORT)]),
    );
    s.add(p, NameSpec::unique(name("PHOST", 0), &[ip(7)]));
    s.add(d, NameSpec::unique(name("DHOST", 0), &[ip(8)]));
    s.run_for(Duration::from_secs(3600));
    assert!(s.wire.iter().all(|w| !w.broadcast));
    assert_eq!(s.state(p, name("PHOST", 0)), Some(NameState::Registering));
    assert_eq!(s.state(d, name("DHOST", 0)), Some(NameState::Registering));
}

#[test]
fn reregister_all_on_a_b_node_sends_nothing() {
    let mut s = Segment::new(Loss::none());
    let a = s.add_node(7, b_node());
    s.add(a, NameSpec::unique(name("HOST", 0), &[ip(7)]));
    s.run_for(Duration::from_secs(5));
    let mark = s.wire.len();
    let now = s.now;
    s.nodes[a].client.reregister_all(now).unwrap();
    s.run_for(Duration::from_secs(5));
    assert!(s.wire[mark..].iter().all(|w| *w.from.ip() != ip(7)));
    assert_eq!(s.state(a, name("HOST", 0)), Some(NameState::Claimed));
}
