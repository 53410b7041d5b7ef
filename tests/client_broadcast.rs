//! Name clients as B, H and M nodes on a simulated broadcast segment
//! (RFC 1002 §5.1.1, §5.1.3; MS-NBTE), with the crate's WINS server on the
//! same subnet: claims, defence, conflict demands, broadcast releases, the
//! H-node's fallback to broadcast and return to WINS, with loss.
//!
//! The segment is tests/support/segment.rs on 10.0.0.0/24 (broadcast
//! address 10.0.0.255): a datagram to 10.0.0.255:137 reaches every other
//! machine that is up, one to a machine's address that machine, each
//! delivery lost with the segment's seeded loss. Time jumps to the earliest
//! deadline; nothing sleeps.

mod support;

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

use support::segment::{ClientNode, NodeId, PORT, Segment as Net, ServerNode};

const WINS: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const BCAST: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 255), PORT);

fn ip(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, n)
}

fn name(s: &str, suffix: u8) -> Name<'static> {
    Name::unscoped(NetbiosName::new(s, suffix).unwrap())
}

/// One datagram as it crossed the segment.
#[derive(Debug, Clone)]
struct Wire {
    at: Duration,
    from: SocketAddrV4,
    /// The destination address as sent (the broadcast address for a
    /// broadcast).
    to: Ipv4Addr,
    id: u16,
    kind: PacketKind,
    broadcast: bool,
    rcode: Rcode,
    /// Whether it reached at least one node.
    delivered: bool,
}

/// The loss of the segment: a seed and a probability per delivery.
struct Loss {
    seed: u64,
    percent: u32,
}

impl Loss {
    fn none() -> Self {
        Self {
            seed: 1,
            percent: 0,
        }
    }

    fn random(seed: u64, percent: u32) -> Self {
        Self { seed, percent }
    }
}

type Client = ClientNode<DeterministicIds>;

/// The shared simulated segment (tests/support/segment.rs) with the WINS
/// server at 10.0.0.1 and name clients added by their last address byte;
/// `wire` and `now` are refreshed after every step.
struct Segment {
    net: Net,
    server: NodeId,
    nodes: Vec<NodeId>,
    wire: Vec<Wire>,
    now: Instant,
}

impl Segment {
    fn new(loss: Loss) -> Self {
        let mut net = Net::new(Ipv4Addr::new(10, 0, 0, 0), 24, loss.seed);
        assert_eq!(SocketAddrV4::new(net.broadcast_address(), PORT), BCAST);
        net.set_loss(f64::from(loss.percent) / 100.0);
        let mut c = ServerConfig::default();
        c.address = WINS;
        c.min_ttl = 60;
        c.max_ttl = 60;
        c.durability = Durability::Volatile;
        let server = WinsServer::with_ids(c, net.now(), DeterministicIds::new(1));
        let server = net.add(WINS, ServerNode::new(server));
        let now = net.now();
        Self {
            net,
            server,
            nodes: Vec::new(),
            wire: Vec::new(),
            now,
        }
    }

    /// Reads the segment's record of the wire and its clock.
    fn sync(&mut self) {
        self.now = self.net.now();
        self.wire = self
            .net
            .wire()
            .iter()
            .map(|r| {
                let p = Packet::parse(&r.contents).expect("well-formed packets only");
                Wire {
                    at: r.at,
                    from: r.from,
                    to: *r.to.ip(),
                    id: p.id,
                    kind: p.kind(),
                    broadcast: r.broadcast,
                    rcode: p.rcode(),
                    delivered: !r.delivered_to.is_empty(),
                }
            })
            .collect();
    }

    fn add_node(&mut self, n: u8, config: ClientConfig) -> usize {
        let client = NameClient::with_deterministic_ids(config, u64::from(n));
        self.nodes
            .push(self.net.add(ip(n), ClientNode::new(client)));
        self.nodes.len() - 1
    }

    fn client(&mut self, i: usize) -> &mut NameClient<DeterministicIds> {
        &mut self.net.node_mut::<Client>(self.nodes[i]).client
    }

    fn add(&mut self, i: usize, spec: NameSpec<'_>) {
        let now = self.now;
        self.client(i).add_name(now, spec).unwrap();
        self.settle();
    }

    fn state(&self, i: usize, n: Name<'_>) -> Option<NameState> {
        self.net.node::<Client>(self.nodes[i]).client.name_state(n)
    }

    fn elapsed(&self) -> Duration {
        self.net.elapsed()
    }

    fn set_server_up(&mut self, up: bool) {
        self.net.set_up(self.server, up);
    }

    fn server(&self) -> &WinsServer {
        &self.net.node::<ServerNode>(self.server).server
    }

    /// Sends a datagram from a machine the test plays.
    fn inject(&mut self, from: SocketAddrV4, to: SocketAddrV4, p: &Message<'_>) {
        let mut bytes = Vec::new();
        p.emit_buf(&mut bytes).unwrap();
        self.net.inject(from, to, &bytes);
        self.sync();
    }

    fn settle(&mut self) {
        self.net.settle();
        self.sync();
    }

    fn run_for(&mut self, d: Duration) {
        self.net.run_for(d);
        self.sync();
    }

    fn events(&mut self, i: usize) -> Vec<ClientEvent> {
        self.net.node_mut::<Client>(self.nodes[i]).take_events()
    }

    /// Injects `p` (as [`Segment::inject`]) and returns what `by` sent
    /// until the segment settled.
    fn answers(
        &mut self,
        from: SocketAddrV4,
        to: SocketAddrV4,
        p: &Message<'_>,
        by: Ipv4Addr,
    ) -> Vec<Wire> {
        let mark = self.wire.len();
        self.inject(from, to, p);
        self.sent_since(mark, by).into_iter().cloned().collect()
    }

    /// Datagrams sent by `from` since the wire held `mark` of them.
    fn sent_since(&self, mark: usize, from: Ipv4Addr) -> Vec<&Wire> {
        self.wire[mark..]
            .iter()
            .filter(|w| *w.from.ip() == from)
            .collect()
    }

    /// Datagrams sent by `from`.
    fn sent_by(&self, from: Ipv4Addr) -> Vec<&Wire> {
        self.wire.iter().filter(|w| *w.from.ip() == from).collect()
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
        let answers = s.answers(stranger, *to, req, ip(7));
        assert_eq!(answers.len(), 1, "request {id}");
        assert_eq!(answers[0].id, *id);
        assert_eq!(answers[0].kind, PacketKind::NegativeRegistrationResponse);
        assert_eq!(answers[0].rcode, Rcode::Active);
        assert_eq!(answers[0].to, ip(9));
    }
    // `*` names are never defended.
    let answers = s.answers(
        stranger,
        BCAST,
        &Message::registration_request(5, name("*SMBSERVER", 0x20), 0, entry, true),
        ip(7),
    );
    assert!(answers.is_empty(), "{answers:?}");
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
    assert!(s.sent_since(mark, ip(7)).is_empty());
    let now = s.now;
    assert!(s.client(a).release(now, name("HOST", 0)));
    s.settle();
    assert!(s.sent_since(mark, ip(7)).is_empty());
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
    let released_at = s.elapsed();
    assert!(s.client(a).release(now, name("HOST", 0)));
    s.run_for(Duration::from_secs(5));
    let releases: Vec<(PacketKind, bool, Duration)> = s
        .sent_since(mark, ip(7))
        .iter()
        .map(|w| (w.kind, w.broadcast, w.at - released_at))
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
    let answers = s.answers(
        stranger,
        BCAST,
        &Message::release_request(0x31, name("HOST", 0), request_entry(ip(9)), true),
        ip(7),
    );
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].kind, PacketKind::NegativeReleaseResponse);
    assert_eq!(answers[0].rcode, Rcode::Active);
    assert_eq!(answers[0].to, ip(9));
    assert_eq!(s.state(a, name("HOST", 0)), Some(NameState::Claimed));
    // A group member leaving is not refused.
    let member = NbAddrEntry::new(NbFlags::new(true, NodeType::B), ip(9));
    let answers = s.answers(
        stranger,
        BCAST,
        &Message::release_request(0x32, name("WORKGROUP", 0), member, true),
        ip(7),
    );
    assert!(answers.is_empty(), "{answers:?}");
    assert_eq!(s.state(a, name("WORKGROUP", 0)), Some(NameState::Claimed));
}

#[test]
fn broadcast_queries_are_never_answered_negatively() {
    let mut s = Segment::new(Loss::none());
    let a = s.add_node(7, b_node());
    s.add(a, NameSpec::unique(name("HOST", 0), &[ip(7)]));
    s.run_for(Duration::from_secs(5));
    let stranger = SocketAddrV4::new(ip(9), PORT);
    let answers = s.answers(
        stranger,
        BCAST,
        &Message::name_query_request(1, name("OTHER", 0), true),
        ip(7),
    );
    assert!(answers.is_empty(), "{answers:?}");
    let positive = s
        .answers(
            stranger,
            BCAST,
            &Message::name_query_request(2, name("HOST", 0), true),
            ip(7),
        )
        .iter()
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
    s.set_server_up(false);
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
    let to_wins = s
        .sent_since(mark, ip(7))
        .iter()
        .filter(|w| w.to == WINS && !w.broadcast)
        .count();
    assert_eq!(to_wins, 6, "two rounds of three registrations");
    assert_eq!(s.state(h, name("HOST", 0)), Some(NameState::Claimed));

    // The server is back: the next retry registers the name there.
    s.set_server_up(true);
    s.run_for(Duration::from_secs(61));
    assert_eq!(s.state(h, name("HOST", 0)), Some(NameState::Registered));
    assert!(
        s.events(h)
            .iter()
            .any(|e| matches!(e, ClientEvent::Registered { ttl: 60, .. }))
    );
    assert!(
        s.server()
            .record(NetbiosName::new("HOST", 0).unwrap(), b"")
            .is_some()
    );

    // Released at WINS and on the segment it was claimed on.
    let mark = s.wire.len();
    let now = s.now;
    assert!(s.client(h).release(now, name("HOST", 0)));
    s.run_for(Duration::from_secs(5));
    let sent: Vec<(PacketKind, bool)> = s
        .sent_since(mark, ip(7))
        .iter()
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
    s.set_server_up(false);
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
    s.client(a).reregister_all(now).unwrap();
    s.run_for(Duration::from_secs(5));
    assert!(s.sent_since(mark, ip(7)).is_empty());
    assert_eq!(s.state(a, name("HOST", 0)), Some(NameState::Claimed));
}

/// The H-node's fallback and return under 10 % loss, over many seeds:
/// WINS silent, the name ends claimed on the segment; WINS back, the name
/// ends registered there.
#[test]
fn an_h_node_falls_back_and_returns_under_loss() {
    for seed in 1..=20u64 {
        let mut s = Segment::new(Loss::random(seed, 10));
        let h = s.add_node(7, h_node());
        s.set_server_up(false);
        s.add(h, NameSpec::unique(name("HOST", 0), &[ip(7)]));
        s.run_for(Duration::from_secs(30));
        assert_eq!(
            s.state(h, name("HOST", 0)),
            Some(NameState::Claimed),
            "seed {seed}"
        );
        s.set_server_up(true);
        s.run_for(Duration::from_secs(600));
        let state = s.state(h, name("HOST", 0));
        assert!(
            matches!(state, Some(NameState::Registered | NameState::Refreshing)),
            "seed {seed}: {state:?}"
        );
        assert!(
            s.server()
                .record(NetbiosName::new("HOST", 0).unwrap(), b"")
                .is_some(),
            "seed {seed}"
        );
    }
}
