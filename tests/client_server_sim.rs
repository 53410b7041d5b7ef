//! The crate's name client and WINS server talking to each other over a
//! simulated network and clock: no sockets, no sleeping.
//!
//! Every [`NameClient`] is a machine with one address (its port 137); the
//! [`WinsServer`] is a machine at [`SERVER`]. Each transmit is delivered, at
//! once, to the machine that owns its destination address, with the sender's
//! address (a client transmit's `source`, or the machine's own) and port 137
//! as its origin. Time jumps to the earliest `poll_timeout()` of all machines.
//! A machine that is "down" neither sends nor receives.

use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;
use std::time::Instant;

use nbns::client::{
    ClientConfig, ClientEvent, DeterministicIds, NameClient, NameSpec, NameState, ReleaseOutcome,
};
use nbns::server::{EventKind, RecordKind, RecordState, ServerConfig, ServerEvent, WinsServer};
use nbns::wire::{Message, Name, NetbiosName, Packet, PacketKind, Rcode};

const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PORT: u16 = 137;
/// Upper bound on datagrams delivered at one instant: a loop between the
/// machines would fail the test instead of hanging it.
const MAX_BURST: usize = 10_000;

fn ip(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, n)
}

fn nb(s: &str, suffix: u8) -> NetbiosName {
    NetbiosName::new(s, suffix).unwrap()
}

fn name(s: &str, suffix: u8) -> Name<'static> {
    Name::unscoped(nb(s, suffix))
}

/// One datagram as it crossed the simulated wire.
#[derive(Debug, Clone)]
struct Wire {
    at: Duration,
    from: SocketAddrV4,
    to: SocketAddrV4,
    kind: PacketKind,
    opcode: u8,
    rcode: Rcode,
    delivered: bool,
}

struct Node {
    ip: Ipv4Addr,
    client: NameClient<DeterministicIds>,
    events: Vec<ClientEvent>,
    up: bool,
}

struct Net {
    start: Instant,
    now: Instant,
    server: WinsServer,
    server_events: Vec<ServerEvent>,
    nodes: Vec<Node>,
    wire: Vec<Wire>,
}

fn server_config() -> ServerConfig {
    let mut c = ServerConfig::default();
    c.address = SERVER;
    c.min_ttl = 60;
    c.max_ttl = 600;
    c.extinction_interval = 1000;
    c.extinction_timeout = 500;
    c
}

fn client_config() -> ClientConfig {
    ClientConfig::with_servers([SocketAddrV4::new(SERVER, PORT)])
}

impl Net {
    fn new(config: ServerConfig) -> Self {
        let now = Instant::now();
        Self {
            start: now,
            now,
            server: WinsServer::with_ids(config, now, DeterministicIds::new(1)),
            server_events: Vec::new(),
            nodes: Vec::new(),
            wire: Vec::new(),
        }
    }

    /// Adds a client machine at `addr`; returns its index.
    fn add_client(&mut self, addr: Ipv4Addr, config: ClientConfig) -> usize {
        let seed = u64::from(u32::from(addr));
        self.nodes.push(Node {
            ip: addr,
            client: NameClient::with_deterministic_ids(config, seed),
            events: Vec::new(),
            up: true,
        });
        self.nodes.len() - 1
    }

    fn client(&mut self, i: usize) -> &mut NameClient<DeterministicIds> {
        &mut self.nodes[i].client
    }

    /// Adds a name to client `i` now.
    fn add(&mut self, i: usize, spec: NameSpec<'_>) {
        let now = self.now;
        self.client(i).add_name(now, spec).unwrap();
    }

    fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Delivers everything every machine wants to send, until no machine
    /// has anything left (all at the current instant).
    fn settle(&mut self) {
        let mut delivered = 0;
        loop {
            let mut queue = Vec::new();
            // a store that commits every change at once
            if let Some(last) = core::iter::from_fn(|| self.server.poll_change()).last() {
                self.server.handle_persisted(last.seq);
            }
            while let Some(t) = self.server.poll_transmit() {
                queue.push((SocketAddrV4::new(SERVER, PORT), t.destination, t.contents));
            }
            while let Some(e) = self.server.poll_event() {
                self.server_events.push(e);
            }
            for n in &mut self.nodes {
                while let Some(t) = n.client.poll_transmit() {
                    if n.up {
                        let src = SocketAddrV4::new(t.source.unwrap_or(n.ip), PORT);
                        queue.push((src, t.destination, t.contents));
                    }
                }
                while let Some(e) = n.client.poll_event() {
                    n.events.push(e);
                }
            }
            if queue.is_empty() {
                return;
            }
            for (from, to, bytes) in queue {
                delivered += 1;
                assert!(
                    delivered < MAX_BURST,
                    "datagram storm at {:?}",
                    self.elapsed()
                );
                self.deliver(from, to, &bytes);
            }
        }
    }

    fn deliver(&mut self, from: SocketAddrV4, to: SocketAddrV4, bytes: &[u8]) {
        let p = Packet::parse(bytes).expect("every machine emits well-formed packets");
        let mut w = Wire {
            at: self.elapsed(),
            from,
            to,
            kind: p.kind(),
            opcode: u8::from(p.opcode()),
            rcode: p.rcode(),
            delivered: false,
        };
        if *to.ip() == SERVER {
            self.server.handle_datagram(self.now, from, bytes);
            w.delivered = true;
        } else if let Some(n) = self.nodes.iter_mut().find(|n| n.ip == *to.ip() && n.up) {
            n.client.handle_datagram(self.now, from, bytes);
            w.delivered = true;
        }
        self.wire.push(w);
    }

    /// The earliest deadline of all machines (down machines included: their
    /// timers still run, their transmits are lost).
    fn next_deadline(&mut self) -> Option<Instant> {
        let mut next = self.server.poll_timeout();
        for n in &mut self.nodes {
            if let Some(t) = n.client.poll_timeout() {
                next = Some(next.map_or(t, |m| m.min(t)));
            }
        }
        next
    }

    /// Runs the network for `d` of simulated time.
    fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        self.settle();
        let mut steps = 0u32;
        while let Some(t) = self.next_deadline() {
            if t > end {
                break;
            }
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

    fn take_events(&mut self, i: usize) -> Vec<ClientEvent> {
        core::mem::take(&mut self.nodes[i].events)
    }

    fn take_server_events(&mut self) -> Vec<ServerEvent> {
        core::mem::take(&mut self.server_events)
    }

    fn take_wire(&mut self) -> Vec<Wire> {
        core::mem::take(&mut self.wire)
    }

    fn record(&self, n: &str, suffix: u8) -> (RecordKind, RecordState, u64, Vec<Ipv4Addr>) {
        let r = self
            .server
            .record(nb(n, suffix), b"")
            .unwrap_or_else(|| panic!("no record for {n}<{suffix:02x}>"));
        (
            r.kind(),
            r.state(),
            r.version(),
            r.addresses().iter().map(|e| e.address).collect(),
        )
    }

    /// A one-off name query sent to the server from `from`; returns the
    /// answer's kind, rcode and addresses.
    fn query(&mut self, from: Ipv4Addr, n: Name<'_>) -> (PacketKind, Rcode, Vec<Ipv4Addr>) {
        let q = Message::name_query_request(0x4242, n, false);
        let mut buf = vec![0; q.buffer_len()];
        q.emit(&mut buf).unwrap();
        let src = SocketAddrV4::new(from, 50_000);
        self.server.handle_datagram(self.now, src, &buf);
        let t = self
            .server
            .poll_transmit()
            .expect("the server answers queries");
        assert_eq!(t.destination, src);
        assert!(self.server.poll_transmit().is_none());
        let p = Packet::parse(&t.contents).unwrap();
        let addrs = p
            .answer()
            .and_then(|a| a.nb())
            .map(|a| a.iter().map(|e| e.address).collect())
            .unwrap_or_default();
        (p.kind(), p.rcode(), addrs)
    }
}

fn kinds(events: &[ServerEvent]) -> Vec<EventKind> {
    events.iter().map(|e| e.kind).collect()
}

#[test]
fn register_refresh_then_reregister_all_bumps_the_version() {
    let mut net = Net::new(server_config());
    let a = net.add_client(ip(2), client_config());
    let host = name("HOST", 0x00);
    net.add(a, NameSpec::unique(host, &[ip(2)]));
    net.run_for(Duration::from_secs(1));

    // registered with the granted TTL (the server's max), opcode 5
    let ev = net.take_events(a);
    assert!(
        matches!(&ev[..], [ClientEvent::Registered { ttl: 600, .. }]),
        "{ev:?}"
    );
    let wire = net.take_wire();
    assert_eq!(wire.len(), 2, "{wire:#?}");
    assert_eq!(wire[0].kind, PacketKind::NameRegistrationRequest);
    assert_eq!(wire[1].kind, PacketKind::PositiveRegistrationResponse);
    let (kind, state, v1, addrs) = net.record("HOST", 0x00);
    assert_eq!(
        (kind, state, addrs.as_slice()),
        (RecordKind::Unique, RecordState::Active, &[ip(2)][..])
    );
    assert_eq!(kinds(&net.take_server_events()), [EventKind::Added]);

    // three refreshes at half the TTL each (opcode 8, answered with 5):
    // the version stays, the record outlives its first TTL
    net.run_for(Duration::from_secs(1000));
    let refreshed = net
        .take_events(a)
        .iter()
        .filter(|e| matches!(e, ClientEvent::Refreshed { ttl: 600, .. }))
        .count();
    assert_eq!(refreshed, 3);
    let wire = net.take_wire();
    let refreshes: Vec<_> = wire
        .iter()
        .filter(|w| w.kind == PacketKind::NameRefreshRequest)
        .collect();
    assert_eq!(refreshes.len(), 3, "{wire:#?}");
    assert!(refreshes.iter().all(|w| w.opcode == 8));
    assert_eq!(
        refreshes.iter().map(|w| w.at.as_secs()).collect::<Vec<_>>(),
        [300, 600, 900]
    );
    assert!(
        wire.iter()
            .filter(|w| w.from.ip() == &SERVER)
            .all(|w| w.kind == PacketKind::PositiveRegistrationResponse && w.opcode == 5)
    );
    let (_, state, v2, _) = net.record("HOST", 0x00);
    assert_eq!((state, v2), (RecordState::Active, v1));
    assert!(net.take_server_events().is_empty());

    // nbtstat -RR: release, then register again as a new record version
    let now = net.now;
    net.client(a).reregister_all(now).unwrap();
    net.run_for(Duration::from_secs(1));
    let ev = net.take_events(a);
    assert!(
        matches!(
            &ev[..],
            [
                ClientEvent::Released {
                    outcome: ReleaseOutcome::Confirmed,
                    ..
                },
                ClientEvent::ReregistrationStarted { names: 1 },
                ClientEvent::Reregistering { .. },
                ClientEvent::Registered { ttl: 600, .. },
                ClientEvent::ReregistrationDone { .. },
            ]
        ),
        "{ev:?}"
    );
    let wire = net.take_wire();
    let seen: Vec<_> = wire.iter().map(|w| w.kind).collect();
    assert_eq!(
        seen,
        [
            PacketKind::NameReleaseRequest,
            PacketKind::PositiveReleaseResponse,
            PacketKind::NameRegistrationRequest,
            PacketKind::PositiveRegistrationResponse,
        ]
    );
    let (_, state, v3, _) = net.record("HOST", 0x00);
    assert_eq!(state, RecordState::Active);
    assert!(v3 > v2, "-RR must give a new version: {v2} -> {v3}");
    assert_eq!(
        kinds(&net.take_server_events()),
        [EventKind::Released, EventKind::Added]
    );
    assert_eq!(net.client(a).name_state(host), Some(NameState::Registered));

    // a second -RR inside the cooldown is refused by the client
    let now = net.now;
    assert!(net.client(a).reregister_all(now).is_err());
}

#[test]
fn a_live_owner_defends_its_name() {
    let mut net = Net::new(server_config());
    let owner = net.add_client(ip(2), client_config());
    let rival = net.add_client(ip(3), client_config());
    let host = name("HOST", 0x00);
    net.add(owner, NameSpec::unique(host, &[ip(2)]));
    net.run_for(Duration::from_secs(1));
    let (_, _, v1, _) = net.record("HOST", 0x00);
    net.take_wire();
    net.take_server_events();
    net.take_events(owner);

    net.add(rival, NameSpec::unique(host, &[ip(3)]));
    net.run_for(Duration::from_secs(30));

    // WACK to the rival, a challenge query to the owner's port 137, the
    // owner's positive answer, then ACT_ERR to the rival
    let wire = net.take_wire();
    let seen: Vec<_> = wire.iter().map(|w| (w.kind, w.to)).collect();
    let rival_at = SocketAddrV4::new(ip(3), PORT);
    let owner_at = SocketAddrV4::new(ip(2), PORT);
    let server_at = SocketAddrV4::new(SERVER, PORT);
    assert_eq!(
        seen,
        [
            (PacketKind::NameRegistrationRequest, server_at),
            (PacketKind::Wack, rival_at),
            (PacketKind::NameQueryRequest, owner_at),
            (PacketKind::PositiveNameQueryResponse, server_at),
            (PacketKind::NegativeRegistrationResponse, rival_at),
        ],
        "{wire:#?}"
    );
    assert_eq!(wire[4].rcode, Rcode::Active);
    let ev = net.take_events(rival);
    assert!(
        matches!(
            &ev[..],
            [ClientEvent::RegistrationRefused {
                rcode: Rcode::Active,
                ..
            }]
        ),
        "{ev:?}"
    );
    assert_eq!(
        net.client(rival).name_state(host),
        Some(NameState::Refused(Rcode::Active))
    );
    // the record is untouched, and the owner never noticed
    let (_, state, v2, addrs) = net.record("HOST", 0x00);
    assert_eq!((state, v2, addrs), (RecordState::Active, v1, vec![ip(2)]));
    assert!(net.take_server_events().is_empty());
    assert_eq!(
        net.client(owner).name_state(host),
        Some(NameState::Registered)
    );
    assert!(net.take_events(owner).is_empty());
    assert_eq!(net.server.pending_challenges(), 0);
}

#[test]
fn a_dead_owner_loses_its_name() {
    let mut net = Net::new(server_config());
    let owner = net.add_client(ip(2), client_config());
    let rival = net.add_client(ip(3), client_config());
    let host = name("HOST", 0x00);
    net.add(owner, NameSpec::unique(host, &[ip(2)]));
    net.run_for(Duration::from_secs(1));
    let (_, _, v1, _) = net.record("HOST", 0x00);
    net.take_wire();
    net.take_server_events();

    // the owner crashes without releasing
    net.nodes[owner].up = false;
    net.add(rival, NameSpec::unique(host, &[ip(3)]));
    net.run_for(Duration::from_secs(30));

    let wire = net.take_wire();
    let challenges: Vec<_> = wire
        .iter()
        .filter(|w| w.kind == PacketKind::NameQueryRequest)
        .collect();
    assert_eq!(challenges.len(), 3, "{wire:#?}");
    assert!(
        challenges
            .iter()
            .all(|w| !w.delivered && *w.to.ip() == ip(2))
    );
    let granted = wire
        .iter()
        .find(|w| w.kind == PacketKind::PositiveRegistrationResponse)
        .expect("the rival is granted the name");
    assert_eq!(granted.to, SocketAddrV4::new(ip(3), PORT));
    // after the three challenges, 500 ms apart
    assert_eq!(granted.at.as_millis(), 1000 + 1500);
    assert!(wire.iter().any(|w| w.kind == PacketKind::Wack), "{wire:#?}");

    let ev = net.take_events(rival);
    assert!(
        matches!(&ev[..], [ClientEvent::Registered { ttl: 600, .. }]),
        "{ev:?}"
    );
    let (kind, state, v2, addrs) = net.record("HOST", 0x00);
    assert_eq!(
        (kind, state, addrs),
        (RecordKind::Unique, RecordState::Active, vec![ip(3)])
    );
    assert!(v2 > v1, "a takeover gets a new version: {v1} -> {v2}");
    assert_eq!(kinds(&net.take_server_events()), [EventKind::Changed]);
    assert_eq!(
        net.query(ip(9), host),
        (
            PacketKind::PositiveNameQueryResponse,
            Rcode::NoError,
            vec![ip(3)]
        )
    );
}

#[test]
fn groups_normal_and_special() {
    let mut net = Net::new(server_config());
    let a = net.add_client(ip(2), client_config());
    let b = net.add_client(ip(3), client_config());
    let c = net.add_client(ip(4), client_config());
    let wg = name("WORKGRP", 0x00);
    let dom = name("DOMAIN", 0x1C);

    net.add(a, NameSpec::group(wg, &[ip(2)]));
    net.add(a, NameSpec::group(dom, &[ip(2)]));
    net.run_for(Duration::from_secs(1));
    let (_, _, wg_v1, _) = net.record("WORKGRP", 0x00);
    let (_, _, dom_v1, _) = net.record("DOMAIN", 0x1C);

    net.add(b, NameSpec::group(wg, &[ip(3)]));
    net.add(b, NameSpec::group(dom, &[ip(3)]));
    net.run_for(Duration::from_secs(1));

    for i in [a, b] {
        assert_eq!(net.client(i).name_state(wg), Some(NameState::Registered));
        assert_eq!(net.client(i).name_state(dom), Some(NameState::Registered));
    }
    // group registrations use opcode 5, never 0xF, and no challenge is made
    let wire = net.take_wire();
    assert!(
        wire.iter()
            .filter(|w| w.kind == PacketKind::NameRegistrationRequest)
            .all(|w| w.opcode == 5)
    );
    assert!(!wire.iter().any(|w| w.kind == PacketKind::Wack));

    // a normal group tracks no members and keeps its version
    let (kind, state, wg_v2, addrs) = net.record("WORKGRP", 0x00);
    assert_eq!(
        (kind, state, wg_v2, addrs),
        (
            RecordKind::NormalGroup,
            RecordState::Active,
            wg_v1,
            vec![Ipv4Addr::BROADCAST]
        )
    );
    assert_eq!(
        net.query(ip(9), wg),
        (
            PacketKind::PositiveNameQueryResponse,
            Rcode::NoError,
            vec![Ipv4Addr::BROADCAST]
        )
    );
    // a 0x1C group lists both members; the added member is a new version
    let (kind, _, dom_v2, addrs) = net.record("DOMAIN", 0x1C);
    assert_eq!(
        (kind, addrs),
        (RecordKind::SpecialGroup, vec![ip(2), ip(3)])
    );
    assert!(dom_v2 > dom_v1);
    assert_eq!(net.query(ip(9), dom).2, vec![ip(2), ip(3)]);

    // a unique registration over the group is refused (ACT_ERR)
    net.add(c, NameSpec::unique(wg, &[ip(4)]));
    net.run_for(Duration::from_secs(1));
    let ev = net.take_events(c);
    assert!(
        matches!(
            &ev[..],
            [ClientEvent::RegistrationRefused {
                rcode: Rcode::Active,
                ..
            }]
        ),
        "{ev:?}"
    );

    // a member's release takes its address out of the 0x1C group; the
    // normal group stays (it only times out)
    let now = net.now;
    assert!(net.client(b).release(now, dom));
    assert!(net.client(b).release(now, wg));
    net.run_for(Duration::from_secs(1));
    assert_eq!(net.record("DOMAIN", 0x1C).3, vec![ip(2)]);
    assert_eq!(net.record("WORKGRP", 0x00).1, RecordState::Active);

    // both groups live on while a member refreshes them
    net.run_for(Duration::from_secs(2000));
    assert_eq!(net.record("WORKGRP", 0x00).1, RecordState::Active);
    assert_eq!(net.record("DOMAIN", 0x1C).1, RecordState::Active);
}

#[test]
fn a_name_no_longer_refreshed_expires_and_is_tombstoned() {
    let mut net = Net::new(server_config());
    let a = net.add_client(ip(2), client_config());
    let keeper = net.add_client(ip(3), client_config());
    let host = name("HOST", 0x00);
    let kept = name("KEPT", 0x00);
    net.add(a, NameSpec::unique(host, &[ip(2)]));
    net.add(keeper, NameSpec::unique(kept, &[ip(3)]));
    net.run_for(Duration::from_secs(10));
    let (_, _, v1, _) = net.record("HOST", 0x00);
    let (_, _, kept_v, _) = net.record("KEPT", 0x00);
    net.take_server_events();

    // the client goes away without a release: no more refreshes
    net.nodes[a].up = false;
    net.run_for(Duration::from_secs(600));
    let ev = net.take_server_events();
    assert_eq!(kinds(&ev), [EventKind::Expired], "{ev:?}");
    assert_eq!(ev[0].name, nb("HOST", 0x00));
    let (_, state, v2, _) = net.record("HOST", 0x00);
    assert_eq!(
        (state, v2),
        (RecordState::Released, v1),
        "expiry keeps the version"
    );
    assert_eq!(net.query(ip(9), host).1, Rcode::NameError);

    // the extinction interval later: a tombstone, with a new version
    net.run_for(Duration::from_secs(1000));
    let ev = net.take_server_events();
    assert_eq!(kinds(&ev), [EventKind::Tombstoned], "{ev:?}");
    let (_, state, v3, _) = net.record("HOST", 0x00);
    assert_eq!(state, RecordState::Tombstoned);
    assert!(v3 > v2);

    // the extinction timeout later: gone
    net.run_for(Duration::from_secs(500));
    assert_eq!(kinds(&net.take_server_events()), [EventKind::Removed]);
    assert!(net.server.record(nb("HOST", 0x00), b"").is_none());

    // meanwhile the refreshed name stayed active with its first version
    let (_, state, v, _) = net.record("KEPT", 0x00);
    assert_eq!((state, v), (RecordState::Active, kept_v));

    // the client comes back and registers again: a new record
    net.nodes[a].up = true;
    let now = net.now;
    net.client(a).reregister_all(now).unwrap();
    net.run_for(Duration::from_secs(10));
    let (_, state, v4, _) = net.record("HOST", 0x00);
    assert_eq!(state, RecordState::Active);
    assert!(v4 > v3);
}

#[test]
fn many_clients_for_a_day() {
    let mut net = Net::new(server_config());
    let mut all = Vec::new();
    for i in 0..40u8 {
        let addr = ip(10 + i);
        let n = net.add_client(addr, client_config());
        let now = net.now;
        for (label, suffix) in [("PC", 0x00), ("PC", 0x20)] {
            let text = format!("{label}{i}");
            let leaked: &'static str = Box::leak(text.into_boxed_str());
            net.client(n)
                .add_name(now, NameSpec::unique(name(leaked, suffix), &[addr]))
                .unwrap();
            all.push((leaked, suffix, n));
        }
        net.run_for(Duration::from_millis(250));
    }
    net.run_for(Duration::from_secs(5));
    let versions: Vec<u64> = all.iter().map(|(n, s, _)| net.record(n, *s).2).collect();
    let mut unique = versions.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), all.len(), "every record its own version");

    net.run_for(Duration::from_secs(86_400));
    for ((n, s, node), v) in all.iter().zip(&versions) {
        let (_, state, now_v, addrs) = net.record(n, *s);
        assert_eq!((state, now_v), (RecordState::Active, *v), "{n}<{s:02x}>");
        assert_eq!(addrs, vec![net.nodes[*node].ip]);
    }
    let stats = net.server.stats();
    assert_eq!(stats.malformed, 0);
    assert_eq!(stats.dropped, 0);
    assert_eq!(stats.challenges, 0);
    // 80 names, one refresh every 300 s for a day
    assert!(stats.registrations >= 80 * 288, "{stats:?}");
    assert!(net.server_events.iter().all(|e| e.kind == EventKind::Added));
}
