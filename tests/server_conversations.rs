//! Whole conversations with the WINS server over a simulated clock: no
//! sockets, no sleeping. Old owners are simulated by answering the server's
//! challenge queries by hand.

use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;
use std::time::Instant;

use nbns::server::{
    DeterministicIds, EventKind, MAX_RECORD_ADDRS, OwnName, RecordKind, RecordState, ServerConfig,
    ServerEvent, Transmit, WinsServer,
};
use nbns::wire::{
    Labels, Message, Name, NbAddrEntry, NbAddrs, NbFlags, NetbiosName, NodeType, Opcode, Packet,
    PacketKind, RData, Rcode,
};

const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

fn ip(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, n)
}

fn nb(s: &str, suffix: u8) -> NetbiosName {
    NetbiosName::new(s, suffix).unwrap()
}

fn entry(n: u8, group: bool) -> NbAddrEntry {
    NbAddrEntry::new(NbFlags::new(group, NodeType::H), ip(n))
}

fn bytes(p: &Message<'_>) -> Vec<u8> {
    let mut v = vec![0; p.buffer_len()];
    p.emit(&mut v).unwrap();
    v
}

fn config() -> ServerConfig {
    let mut c = ServerConfig::default();
    c.address = SERVER;
    c.min_ttl = 60;
    c.max_ttl = 3600;
    c.extinction_interval = 100;
    c.extinction_timeout = 50;
    c.own_names = vec![
        OwnName {
            name: nb("WINSSRV", 0x20),
            group: false,
        },
        OwnName {
            name: nb("WORKGROUP", 0x00),
            group: true,
        },
    ];
    c
}

struct Sim {
    s: WinsServer,
    now: Instant,
    next_id: u16,
}

impl Sim {
    fn new(c: ServerConfig) -> Self {
        let now = Instant::now();
        Self {
            s: WinsServer::with_ids(c, now, DeterministicIds::new(1)),
            now,
            next_id: 100,
        }
    }

    fn id(&mut self) -> u16 {
        self.next_id += 1;
        self.next_id
    }

    fn raw(&mut self, from: SocketAddrV4, data: &[u8]) -> Vec<Transmit> {
        self.s.handle_datagram(self.now, from, data);
        self.drain()
    }

    /// What the server sends once a store has committed every change.
    fn drain(&mut self) -> Vec<Transmit> {
        if let Some(last) = core::iter::from_fn(|| self.s.poll_change()).last() {
            self.s.handle_persisted(last.seq);
        }
        core::iter::from_fn(|| self.s.poll_transmit()).collect()
    }

    fn events(&mut self) -> Vec<ServerEvent> {
        core::iter::from_fn(|| self.s.poll_event()).collect()
    }

    /// Sends `p` from `10.0.0.n:port`.
    fn send(&mut self, n: u8, port: u16, p: &Message<'_>) -> Vec<Transmit> {
        self.raw(SocketAddrV4::new(ip(n), port), &bytes(p))
    }

    /// Sends `p` and expects exactly one answer, to the sender.
    fn ask(&mut self, n: u8, p: &Message<'_>) -> Vec<u8> {
        let mut t = self.send(n, 40000, p);
        assert_eq!(t.len(), 1, "expected one answer, got {t:?}");
        let t = t.pop().unwrap();
        assert_eq!(t.destination, SocketAddrV4::new(ip(n), 40000));
        t.contents
    }

    fn register(&mut self, n: u8, name: NetbiosName, group: bool, ttl: u32) -> Vec<u8> {
        let id = self.id();
        let p =
            Message::registration_request(id, Name::unscoped(name), ttl, entry(n, group), false);
        self.ask(n, &p)
    }

    fn query(&mut self, n: u8, name: NetbiosName) -> Vec<u8> {
        let id = self.id();
        self.ask(
            n,
            &Message::name_query_request(id, Name::unscoped(name), false),
        )
    }

    fn release(&mut self, n: u8, name: NetbiosName, group: bool) -> Vec<u8> {
        let id = self.id();
        let p = Message::release_request(id, Name::unscoped(name), entry(n, group), false);
        self.ask(n, &p)
    }

    /// Moves the clock forward by `d`, stopping at every timeout on the way,
    /// and returns what the server sent.
    fn advance(&mut self, d: Duration) -> Vec<Transmit> {
        let end = self.now + d;
        let mut out = Vec::new();
        while let Some(t) = self.s.poll_timeout() {
            if t > end {
                break;
            }
            assert!(t >= self.now, "timeout in the past");
            self.now = t;
            self.s.handle_timeout(t);
            if let Some(next) = self.s.poll_timeout() {
                assert!(next > self.now, "poll_timeout not after handle_timeout");
            }
            out.extend(self.drain());
        }
        self.now = end;
        self.s.handle_timeout(end);
        out.extend(self.drain());
        out
    }

    fn rec(&self, name: NetbiosName) -> (u64, RecordState, RecordKind, Vec<Ipv4Addr>) {
        let r = self.s.record(name, b"").expect("record");
        (
            r.version(),
            r.state(),
            r.kind(),
            r.addresses().iter().map(|e| e.address).collect(),
        )
    }
}

fn parse(b: &[u8]) -> Packet<'_> {
    Packet::parse(b).unwrap()
}

fn addrs_of(p: &Packet<'_>) -> Vec<Ipv4Addr> {
    p.answer()
        .unwrap()
        .nb()
        .unwrap()
        .iter()
        .map(|e| e.address)
        .collect()
}

#[test]
fn register_refresh_release_reregister_versions() {
    let mut sim = Sim::new(config());
    let name = nb("CLIENTA", 0x20);
    let r = sim.register(2, name, false, 300);
    let p = parse(&r);
    assert_eq!(p.kind(), PacketKind::PositiveRegistrationResponse);
    assert_eq!(p.answer().unwrap().ttl, 300);
    let (v1, st, kind, addrs) = sim.rec(name);
    assert_eq!(
        (st, kind, addrs),
        (RecordState::Active, RecordKind::Unique, vec![ip(2)])
    );
    let ev = sim.events();
    assert_eq!(ev.len(), 1);
    assert_eq!((ev[0].kind, ev[0].version), (EventKind::Added, v1));

    // Refresh with opcode 8 and 9: answered with opcode 5, version kept.
    for alt in [false, true] {
        let id = sim.id();
        let p = Message::refresh_request(id, Name::unscoped(name), 300, entry(2, false), alt);
        let r = sim.ask(2, &p);
        let p = parse(&r);
        assert_eq!(p.opcode(), Opcode::Registration);
        assert_eq!(p.id, id);
        assert_eq!(p.kind(), PacketKind::PositiveRegistrationResponse);
        assert_eq!(sim.rec(name).0, v1);
    }
    // Same-address re-registration, and opcode 0xF from the same address.
    sim.register(2, name, false, 300);
    let id = sim.id();
    let p =
        Message::multihomed_registration_request(id, Name::unscoped(name), 300, entry(2, false));
    let r = sim.ask(2, &p);
    assert_eq!(parse(&r).opcode(), Opcode::Registration);
    assert_eq!(sim.rec(name).0, v1);
    assert!(sim.events().is_empty());

    // Release: state changes, version does not.
    let r = sim.release(2, name, false);
    assert_eq!(parse(&r).kind(), PacketKind::PositiveReleaseResponse);
    assert_eq!(sim.rec(name).0, v1);
    assert_eq!(sim.rec(name).1, RecordState::Released);
    assert_eq!(sim.events()[0].kind, EventKind::Released);
    let q = sim.query(3, name);
    let q = parse(&q);
    assert_eq!(q.kind(), PacketKind::NegativeNameQueryResponse);
    assert_eq!(q.rcode(), Rcode::NameError);

    // `nbtstat -RR`: register again → new version.
    sim.register(2, name, false, 300);
    let (v2, st, _, _) = sim.rec(name);
    assert!(v2 > v1);
    assert_eq!(st, RecordState::Active);
    assert_eq!(sim.events()[0].kind, EventKind::Added);
    assert_eq!(sim.s.version_counter(), v2);
}

#[test]
fn ttl_is_clamped_and_granted() {
    let mut sim = Sim::new(config());
    for (i, (asked, granted)) in [(5, 60), (0, 60), (600, 600), (999_999, 3600)]
        .into_iter()
        .enumerate()
    {
        let r = sim.register(2, nb(&format!("T{i}"), 0), false, asked);
        assert_eq!(parse(&r).answer().unwrap().ttl, granted);
    }
}

#[test]
fn query_answers_all_addresses_and_remaining_ttl() {
    let mut sim = Sim::new(config());
    let name = nb("HOST", 0);
    // Off the whole second: the answered TTL never exceeds the granted one.
    sim.advance(Duration::from_millis(300));
    sim.register(2, name, false, 600);
    assert_eq!(parse(&sim.query(9, name)).answer().unwrap().ttl, 600);
    sim.advance(Duration::from_secs(100));
    let r = sim.query(9, name);
    let p = parse(&r);
    assert_eq!(p.kind(), PacketKind::PositiveNameQueryResponse);
    assert!(p.flags.recursion_available());
    assert_eq!(p.answer().unwrap().ttl, 500);
    assert_eq!(addrs_of(&p), vec![ip(2)]);

    // Unknown name: NAM_ERR with a NULL record.
    let r = sim.query(9, nb("NOBODY", 0));
    let p = parse(&r);
    assert_eq!(p.rcode(), Rcode::NameError);
    assert!(matches!(p.answer().unwrap().rdata, RData::Null(b"")));
    // Case matters: names are byte-exact.
    let r = sim.query(9, NetbiosName::from_raw(*b"host           \0"));
    assert_eq!(parse(&r).rcode(), Rcode::NameError);
}

/// Runs a conflict: `.2` holds the name, `.3` registers it. Returns the
/// challenge queries seen and the WACK.
fn start_conflict(sim: &mut Sim, name: NetbiosName, op_f: bool) -> (u16, Vec<u8>) {
    if op_f {
        let id = sim.id();
        let p = Message::multihomed_registration_request(
            id,
            Name::unscoped(name),
            300,
            entry(2, false),
        );
        sim.ask(2, &p);
    } else {
        sim.register(2, name, false, 300);
    }
    sim.events();
    let id = sim.id();
    let p = if op_f {
        Message::multihomed_registration_request(id, Name::unscoped(name), 300, entry(3, false))
    } else {
        Message::registration_request(id, Name::unscoped(name), 300, entry(3, false), false)
    };
    let req = bytes(&p);
    let t = sim.raw(SocketAddrV4::new(ip(3), 40000), &req);
    assert_eq!(t.len(), 2, "{t:?}");
    let wack = parse(&t[0].contents);
    assert_eq!(t[0].destination, SocketAddrV4::new(ip(3), 40000));
    assert_eq!(wack.kind(), PacketKind::Wack);
    assert_eq!(wack.id, id);
    // 3 × 500 ms to one address: 2 s, plus 5.
    assert_eq!(wack.answer().unwrap().ttl, 7);
    let RData::Wack(w) = wack.answer().unwrap().rdata else {
        panic!("not a WACK")
    };
    assert_eq!(w.request_flags, p.flags);
    let q = parse(&t[1].contents);
    assert_eq!(t[1].destination, SocketAddrV4::new(ip(2), 137));
    assert_eq!(q.kind(), PacketKind::NameQueryRequest);
    assert_eq!(q.question().unwrap().name.netbios, name);
    // A repeat of the request while the WACK is pending is ignored.
    assert!(sim.raw(SocketAddrV4::new(ip(3), 40000), &req).is_empty());
    (q.id, req)
}

#[test]
fn conflict_with_dead_owner_takes_over() {
    let mut sim = Sim::new(config());
    let name = nb("CONTESTED", 0);
    let (qid, _) = start_conflict(&mut sim, name, false);
    let v1 = sim.rec(name).0;
    // Two more challenge queries at 500 ms intervals, then acceptance.
    let t = sim.advance(Duration::from_millis(500));
    assert_eq!(t.len(), 1);
    assert_eq!(parse(&t[0].contents).id, qid);
    assert_eq!(t[0].destination, SocketAddrV4::new(ip(2), 137));
    let t = sim.advance(Duration::from_millis(500));
    assert_eq!(t.len(), 1);
    assert_eq!(sim.rec(name).0, v1);
    let t = sim.advance(Duration::from_millis(500));
    assert_eq!(t.len(), 1, "{t:?}");
    assert_eq!(t[0].destination, SocketAddrV4::new(ip(3), 40000));
    let p = parse(&t[0].contents);
    assert_eq!(p.kind(), PacketKind::PositiveRegistrationResponse);
    let (v2, st, kind, addrs) = sim.rec(name);
    assert!(v2 > v1);
    assert_eq!(
        (st, kind, addrs),
        (RecordState::Active, RecordKind::Unique, vec![ip(3)])
    );
    let ev = sim.events();
    assert_eq!(
        (ev[0].kind, ev[0].version, ev[0].address),
        (EventKind::Changed, v2, ip(3))
    );
    assert_eq!(sim.s.pending_challenges(), 0);
    // A late answer from the old owner is dropped.
    let late = Message::positive_name_query_response(
        qid,
        Name::unscoped(name),
        300,
        NbAddrs::one(entry(2, false)),
    );
    assert!(sim.send(2, 137, &late).is_empty());
    assert_eq!(sim.s.poll_timeout().map(|t| t > sim.now), Some(true));
}

#[test]
fn conflict_with_live_owner_is_refused() {
    let mut sim = Sim::new(config());
    let name = nb("CONTESTED", 0);
    let (qid, _) = start_conflict(&mut sim, name, false);
    let v1 = sim.rec(name).0;
    // An answer from the wrong address or with the wrong ID is ignored.
    let ans = Message::positive_name_query_response(
        qid,
        Name::unscoped(name),
        300,
        NbAddrs::one(entry(2, false)),
    );
    assert!(sim.send(7, 137, &ans).is_empty());
    let wrong = Message::positive_name_query_response(
        qid.wrapping_add(1),
        Name::unscoped(name),
        300,
        NbAddrs::one(entry(2, false)),
    );
    assert!(sim.send(2, 137, &wrong).is_empty());
    let t = sim.send(2, 137, &ans);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].destination, SocketAddrV4::new(ip(3), 40000));
    let p = parse(&t[0].contents);
    assert_eq!(p.kind(), PacketKind::NegativeRegistrationResponse);
    assert_eq!(p.rcode(), Rcode::Active);
    assert_eq!(
        sim.rec(name),
        (v1, RecordState::Active, RecordKind::Unique, vec![ip(2)])
    );
    assert!(sim.events().is_empty());
    assert!(sim.advance(Duration::from_secs(5)).is_empty());
}

#[test]
fn conflict_owner_denies_name() {
    let mut sim = Sim::new(config());
    let name = nb("CONTESTED", 0);
    let (qid, _) = start_conflict(&mut sim, name, false);
    let v1 = sim.rec(name).0;
    let neg = Message::negative_name_query_response(qid, Name::unscoped(name), Rcode::NameError);
    let t = sim.send(2, 137, &neg);
    assert_eq!(t.len(), 1);
    assert_eq!(
        parse(&t[0].contents).kind(),
        PacketKind::PositiveRegistrationResponse
    );
    let (v2, _, _, addrs) = sim.rec(name);
    assert!(v2 > v1);
    assert_eq!(addrs, vec![ip(3)]);
}

#[test]
fn refresh_from_another_address_is_a_registration() {
    let mut sim = Sim::new(config());
    let name = nb("MOVER", 0);
    sim.register(2, name, false, 300);
    let id = sim.id();
    let p = Message::refresh_request(id, Name::unscoped(name), 300, entry(3, false), false);
    let t = sim.send(3, 40000, &p);
    assert_eq!(t.len(), 2);
    assert_eq!(parse(&t[0].contents).kind(), PacketKind::Wack);
    // Refresh of an unknown name: a new record.
    let id = sim.id();
    let p = Message::refresh_request(
        id,
        Name::unscoped(nb("FRESH", 0)),
        300,
        entry(4, false),
        true,
    );
    let r = sim.ask(4, &p);
    assert_eq!(parse(&r).kind(), PacketKind::PositiveRegistrationResponse);
    assert_eq!(sim.rec(nb("FRESH", 0)).1, RecordState::Active);
}

#[test]
fn multihomed_owner_confirms_and_records_merge() {
    let mut sim = Sim::new(config());
    let name = nb("MULTI", 0);
    let (qid, _) = start_conflict(&mut sim, name, true);
    let v1 = sim.rec(name).0;
    let both = [entry(2, false), entry(3, false)];
    let ans = Message::positive_name_query_response(
        qid,
        Name::unscoped(name),
        300,
        NbAddrs::from_slice(&both),
    );
    let t = sim.send(2, 137, &ans);
    assert_eq!(
        parse(&t[0].contents).kind(),
        PacketKind::PositiveRegistrationResponse
    );
    let (v2, st, kind, addrs) = sim.rec(name);
    assert!(v2 > v1);
    assert_eq!(
        (st, kind, addrs),
        (
            RecordState::Active,
            RecordKind::Multihomed,
            vec![ip(2), ip(3)]
        )
    );
    let q = sim.query(9, name);
    assert_eq!(addrs_of(&parse(&q)), vec![ip(2), ip(3)]);
    // Releasing one address keeps the other, without a version change.
    sim.release(3, name, false);
    assert_eq!(
        sim.rec(name),
        (v2, RecordState::Active, RecordKind::Multihomed, vec![ip(2)])
    );
    sim.release(2, name, false);
    assert_eq!(sim.rec(name).1, RecordState::Released);
}

#[test]
fn normal_groups() {
    let mut sim = Sim::new(config());
    let g = nb("GTEST", 0);
    let r = sim.register(7, g, true, 300);
    assert_eq!(parse(&r).kind(), PacketKind::PositiveRegistrationResponse);
    let v = sim.rec(g).0;
    sim.register(8, g, true, 300);
    assert_eq!(sim.rec(g).0, v);
    let q = sim.query(9, g);
    let p = parse(&q);
    assert_eq!(addrs_of(&p), vec![Ipv4Addr::BROADCAST]);
    assert!(
        p.answer()
            .unwrap()
            .nb()
            .unwrap()
            .first()
            .unwrap()
            .flags
            .group()
    );
    // Release by a member: positive, the group stays until it times out.
    let r = sim.release(7, g, true);
    assert_eq!(parse(&r).kind(), PacketKind::PositiveReleaseResponse);
    assert_eq!(sim.rec(g).1, RecordState::Active);
    // A unique registration over a group is refused with ACT_ERR.
    let r = sim.register(5, g, false, 300);
    assert_eq!(parse(&r).rcode(), Rcode::Active);
    assert_eq!(sim.rec(g).0, v);
}

#[test]
fn special_groups_keep_25_members() {
    let mut sim = Sim::new(config());
    let d = nb("DOMX", 0x1C);
    let mut last = 0;
    for n in 10..40 {
        let r = sim.register(n, d, true, 300);
        assert_eq!(parse(&r).kind(), PacketKind::PositiveRegistrationResponse);
        let v = sim.rec(d).0;
        assert!(v > last, "each new member bumps the version");
        last = v;
    }
    // Re-registering a member keeps the version.
    sim.register(39, d, true, 300);
    assert_eq!(sim.rec(d).0, last);
    let addrs = sim.rec(d).3;
    assert_eq!(addrs.len(), MAX_RECORD_ADDRS);
    assert_eq!(addrs[0], ip(15));
    assert_eq!(sim.rec(d).2, RecordKind::SpecialGroup);
    let q = sim.query(9, d);
    assert_eq!(addrs_of(&parse(&q)).len(), 25);
    // A member's release removes its address, no version change.
    sim.release(20, d, true);
    let (v, st, _, addrs) = sim.rec(d);
    assert_eq!((v, st, addrs.len()), (last, RecordState::Active, 24));
    assert!(!addrs.contains(&ip(20)));
    // 0x1C as unique is refused.
    let r = sim.register(50, d, false, 300);
    assert_eq!(parse(&r).rcode(), Rcode::Refused);
}

#[test]
fn special_group_never_evicts_the_1b_holder() {
    let mut sim = Sim::new(config());
    let pdc = nb("DOMX", 0x1B);
    let d = nb("DOMX", 0x1C);
    // The PDC (.10) holds DOMX<1B> and is the oldest DOMX<1C> member.
    let r = sim.register(10, pdc, false, 300);
    assert_eq!(parse(&r).kind(), PacketKind::PositiveRegistrationResponse);
    for n in 10..50 {
        sim.register(n, d, true, 300);
    }
    let addrs = sim.rec(d).3;
    assert_eq!(addrs.len(), MAX_RECORD_ADDRS);
    assert_eq!(addrs[0], ip(10), "the 1B holder stays: {addrs:?}");
    assert_eq!(addrs[1..], (26..50).map(ip).collect::<Vec<_>>()[..]);
    assert_eq!(addrs_of(&parse(&sim.query(9, d)))[0], ip(10));

    // Once the 1B name is released, the PDC's address ages out as any other.
    sim.release(10, pdc, false);
    sim.register(50, d, true, 300);
    let addrs = sim.rec(d).3;
    assert!(!addrs.contains(&ip(10)), "{addrs:?}");
    assert_eq!(addrs.len(), MAX_RECORD_ADDRS);

    // Without a 1B record, the oldest member goes (another domain).
    let other = nb("OTHER", 0x1C);
    for n in 10..36 {
        sim.register(n, other, true, 300);
    }
    assert_eq!(sim.rec(other).3[0], ip(11));
}

#[test]
fn group_over_unique_is_challenged() {
    let mut sim = Sim::new(config());
    let name = nb("UNIQ", 0);
    sim.register(2, name, false, 300);
    let t = sim.send(
        3,
        40000,
        &Message::registration_request(1, Name::unscoped(name), 300, entry(3, true), false),
    );
    assert_eq!(t.len(), 2);
    let qid = parse(&t[1].contents).id;
    // Owner alive: ACT_ERR even though it lists the address.
    let both = [entry(2, false), entry(3, false)];
    let ans = Message::positive_name_query_response(
        qid,
        Name::unscoped(name),
        300,
        NbAddrs::from_slice(&both),
    );
    let t = sim.send(2, 137, &ans);
    assert_eq!(parse(&t[0].contents).rcode(), Rcode::Active);
}

#[test]
fn type_1d_is_accepted_and_not_stored() {
    let mut sim = Sim::new(config());
    let n = nb("WORKGROUP", 0x1D);
    let r = sim.register(2, n, false, 300);
    assert_eq!(parse(&r).kind(), PacketKind::PositiveRegistrationResponse);
    assert!(sim.s.record(n, b"").is_none());
    assert_eq!(parse(&sim.query(3, n)).rcode(), Rcode::NameError);
    assert_eq!(sim.s.version_counter(), 0);
}

#[test]
fn release_from_a_non_owner_changes_nothing() {
    let mut sim = Sim::new(config());
    let name = nb("KEEP", 0);
    sim.register(2, name, false, 300);
    let before = sim.rec(name);
    // The request claims the owner's address but comes from elsewhere.
    let id = sim.id();
    let p = Message::release_request(id, Name::unscoped(name), entry(2, false), false);
    let t = sim.send(6, 40000, &p);
    assert_eq!(
        parse(&t[0].contents).kind(),
        PacketKind::PositiveReleaseResponse
    );
    assert_eq!(sim.rec(name), before);
    // Unknown name: positive too.
    let r = sim.release(6, nb("GHOST", 0), false);
    assert_eq!(parse(&r).kind(), PacketKind::PositiveReleaseResponse);
    assert!(sim.events().iter().all(|e| e.kind == EventKind::Added));
}

#[test]
fn expiry_release_tombstone_removal() {
    let mut sim = Sim::new(config());
    let name = nb("SHORT", 0);
    sim.register(2, name, false, 60);
    let v1 = sim.rec(name).0;
    sim.events();
    sim.advance(Duration::from_secs(59));
    assert_eq!(sim.rec(name).1, RecordState::Active);
    sim.advance(Duration::from_secs(1));
    assert_eq!(sim.rec(name).1, RecordState::Released);
    assert_eq!(sim.rec(name).0, v1, "expiry keeps the version");
    assert_eq!(sim.events()[0].kind, EventKind::Expired);
    assert_eq!(parse(&sim.query(3, name)).rcode(), Rcode::NameError);
    // A refresh in time would have kept it: check on another name.
    let other = nb("KEPT", 0);
    sim.register(4, other, false, 60);
    sim.advance(Duration::from_secs(50));
    let id = sim.id();
    sim.ask(
        4,
        &Message::refresh_request(id, Name::unscoped(other), 60, entry(4, false), false),
    );
    sim.advance(Duration::from_secs(50));
    assert_eq!(sim.rec(other).1, RecordState::Active);

    // Extinction interval (100 s from expiry, now): tombstone, new version.
    let (v2, st, _, _) = sim.rec(name);
    assert_eq!(st, RecordState::Tombstoned);
    assert!(v2 > v1);
    assert!(
        sim.events()
            .iter()
            .any(|e| e.kind == EventKind::Tombstoned && e.name == name)
    );
    // Extinction timeout (50 s): removed.
    sim.advance(Duration::from_secs(50));
    assert!(sim.s.record(name, b"").is_none());
    assert!(
        sim.events()
            .iter()
            .any(|e| e.kind == EventKind::Removed && e.name == name)
    );
}

#[test]
fn reactivating_a_tombstone_gets_a_new_version() {
    let mut sim = Sim::new(config());
    let name = nb("PHOENIX", 0);
    sim.register(2, name, false, 60);
    sim.advance(Duration::from_secs(61 + 100));
    let (v1, st, _, _) = sim.rec(name);
    assert_eq!(st, RecordState::Tombstoned);
    // Even a different address may take a tombstoned name without a challenge.
    let r = sim.register(3, name, false, 60);
    assert_eq!(parse(&r).kind(), PacketKind::PositiveRegistrationResponse);
    let (v2, st, _, addrs) = sim.rec(name);
    assert!(v2 > v1);
    assert_eq!((st, addrs), (RecordState::Active, vec![ip(3)]));
}

#[test]
fn own_names_and_node_status() {
    let mut sim = Sim::new(config());
    let q = sim.query(9, nb("WINSSRV", 0x20));
    let p = parse(&q);
    assert_eq!(addrs_of(&p), vec![SERVER]);
    // Nobody else may register the server's names.
    let r = sim.register(5, nb("WINSSRV", 0x20), false, 300);
    assert_eq!(parse(&r).rcode(), Rcode::Refused);
    // Node status for `*`: the own-name table.
    let r = sim.ask(
        9,
        &Message::node_status_request(7, Name::unscoped(NetbiosName::wildcard())),
    );
    let p = parse(&r);
    assert_eq!(p.kind(), PacketKind::NodeStatusResponse);
    let RData::NodeStatus(st) = p.answer().unwrap().rdata else {
        panic!()
    };
    let names: Vec<_> = st.names.iter().map(|n| n.name).collect();
    assert_eq!(names, vec![nb("WINSSRV", 0x20), nb("WORKGROUP", 0)]);
    assert!(st.names.iter().nth(1).unwrap().flags.group());
    // Node status for someone else's name: not ours to answer.
    let t = sim.send(
        9,
        40000,
        &Message::node_status_request(8, Name::unscoped(nb("OTHER", 0))),
    );
    assert!(t.is_empty());
}

#[test]
fn scopes_are_separate_namespaces() {
    let mut sim = Sim::new(config());
    let n = nb("SCOPED", 0);
    let corp = Labels::from_dotted(b"corp.example").unwrap();
    let p = Message::registration_request(1, Name::new(n, corp), 300, entry(2, false), false);
    let r = sim.ask(2, &p);
    assert_eq!(parse(&r).kind(), PacketKind::PositiveRegistrationResponse);
    assert!(sim.s.record(n, b"corp.example").is_some());
    assert!(sim.s.record(n, b"").is_none());
    assert_eq!(parse(&sim.query(3, n)).rcode(), Rcode::NameError);
    let r = sim.ask(
        3,
        &Message::name_query_request(2, Name::new(n, corp), false),
    );
    let p = parse(&r);
    assert_eq!(addrs_of(&p), vec![ip(2)]);
    assert_eq!(p.answer().unwrap().name.scope, corp);
    let ev = sim.events();
    assert_eq!(&*ev[0].scope, b"corp.example");
}

#[test]
fn long_scope_gets_srv_err() {
    let mut sim = Sim::new(config());
    let long: Vec<u8> = (0..4)
        .map(|_| vec![b'a'; 59])
        .collect::<Vec<_>>()
        .join(&b'.');
    assert_eq!(long.len(), 239);
    let scope = Labels::from_dotted(&long).unwrap();
    let p =
        Message::registration_request(1, Name::new(nb("X", 0), scope), 300, entry(2, false), false);
    let r = sim.ask(2, &p);
    assert_eq!(parse(&r).rcode(), Rcode::ServerFailure);
    let r = sim.ask(
        2,
        &Message::name_query_request(2, Name::new(nb("X", 0), scope), false),
    );
    assert_eq!(parse(&r).rcode(), Rcode::ServerFailure);
    assert!(sim.s.is_empty());
    // 237 characters are fine.
    let ok = &long[..237];
    let scope = Labels::from_dotted(ok).unwrap();
    let p =
        Message::registration_request(3, Name::new(nb("X", 0), scope), 300, entry(2, false), false);
    assert_eq!(parse(&sim.ask(2, &p)).rcode(), Rcode::NoError);
}

#[test]
fn malformed_inputs_are_dropped() {
    let mut sim = Sim::new(config());
    let from = SocketAddrV4::new(ip(2), 137);
    let good = bytes(&Message::registration_request(
        1,
        Name::unscoped(nb("GOOD", 0)),
        300,
        entry(2, false),
        false,
    ));
    // Zero length, shorter than a header, every truncation.
    assert!(sim.raw(from, &[]).is_empty());
    assert!(sim.raw(from, &[0; 5]).is_empty());
    for n in 0..good.len() {
        assert!(sim.raw(from, &good[..n]).is_empty(), "truncated at {n}");
    }
    // Registration without its additional record (ARCOUNT 0), and without
    // its question (QDCOUNT 0): the requests that crashed Samba4.
    let mut no_ar = Packet::parse(&good).unwrap().to_message();
    no_ar.sections.additional = None;
    assert!(sim.raw(from, &bytes(&no_ar)).is_empty());
    let mut no_q = good.clone();
    no_q[4..6].copy_from_slice(&[0, 0]);
    assert!(sim.raw(from, &no_q).is_empty());
    // NB RDLENGTH 0 and 12 in a request.
    let mut empty = Packet::parse(&good).unwrap().to_message();
    let mut rr = empty.additional().unwrap();
    rr.rdata = RData::Nb(NbAddrs::EMPTY);
    empty.sections.additional = Some(rr);
    assert!(sim.raw(from, &bytes(&empty)).is_empty());
    let two = [entry(2, false), entry(3, false)];
    rr.rdata = RData::Nb(NbAddrs::from_slice(&two));
    empty.sections.additional = Some(rr);
    assert!(sim.raw(from, &bytes(&empty)).is_empty());
    // A query with an extra record; a broadcast registration.
    let mut q = Message::name_query_request(3, Name::unscoped(nb("GOOD", 0)), false);
    q.sections.additional = Some(rr);
    assert!(sim.raw(from, &bytes(&q)).is_empty());
    let b =
        Message::registration_request(4, Name::unscoped(nb("GOOD", 0)), 300, entry(2, false), true);
    assert!(sim.raw(from, &bytes(&b)).is_empty());
    // Responses arriving at the server port.
    let resp = Message::positive_registration_response(
        5,
        Name::unscoped(nb("GOOD", 0)),
        300,
        entry(2, false),
    );
    assert!(sim.raw(from, &bytes(&resp)).is_empty());
    // Unknown opcode.
    let mut odd = good.clone();
    odd[2] = (odd[2] & 0x87) | (3 << 3);
    assert!(sim.raw(from, &odd).is_empty());
    assert!(sim.s.is_empty());
    let st = sim.s.stats();
    assert!(st.malformed > 0 && st.dropped > 0);
    // After all that, the good one still works.
    assert_eq!(sim.raw(from, &good).len(), 1);
}

#[test]
fn record_and_challenge_caps() {
    let mut c = config();
    c.max_records = 3;
    c.max_pending = 1;
    let mut sim = Sim::new(c);
    for i in 0..3 {
        sim.register(2, nb(&format!("N{i}"), 0), false, 300);
    }
    let r = sim.register(2, nb("N3", 0), false, 300);
    assert_eq!(parse(&r).rcode(), Rcode::ServerFailure);
    assert_eq!(sim.s.len(), 3);
    // One challenge at a time.
    let t = sim.send(
        3,
        40000,
        &Message::registration_request(1, Name::unscoped(nb("N0", 0)), 300, entry(3, false), false),
    );
    assert_eq!(t.len(), 2);
    let r = sim.register(3, nb("N1", 0), false, 300);
    assert_eq!(parse(&r).rcode(), Rcode::ServerFailure);
    assert_eq!(sim.s.pending_challenges(), 1);
}

#[test]
fn challenge_walks_every_old_address() {
    let mut sim = Sim::new(config());
    let d = nb("MH", 0);
    let (qid, _) = start_conflict(&mut sim, d, true);
    let both = [entry(2, false), entry(3, false)];
    let ans = Message::positive_name_query_response(
        qid,
        Name::unscoped(d),
        300,
        NbAddrs::from_slice(&both),
    );
    sim.send(2, 137, &ans);
    // Now .4 registers: both .2 and .3 are challenged in turn.
    let id = sim.id();
    let p = Message::multihomed_registration_request(id, Name::unscoped(d), 300, entry(4, false));
    let t = sim.send(4, 40000, &p);
    assert_eq!(parse(&t[0].contents).answer().unwrap().ttl, 5 + 3);
    assert_eq!(t[1].destination, SocketAddrV4::new(ip(2), 137));
    let t = sim.advance(Duration::from_millis(1500));
    let dests: Vec<_> = t.iter().map(|t| *t.destination.ip()).collect();
    assert_eq!(dests, vec![ip(2), ip(2), ip(3)]);
    let qid3 = parse(&t[2].contents).id;
    let neg = Message::negative_name_query_response(qid3, Name::unscoped(d), Rcode::NameError);
    let t = sim.send(3, 137, &neg);
    assert_eq!(
        parse(&t[0].contents).kind(),
        PacketKind::PositiveRegistrationResponse
    );
    assert_eq!(sim.rec(d).3, vec![ip(4)]);
}
