//! The crate's WINS server (`WinsServer` as the `ReplicationDb` of a
//! `Partner`) with Samba 4's AD DC WINS server, over real TCP inside
//! network namespaces (needs root and Samba; runs only with
//! `NBNS_INTEROP=1`).
//!
//! The test starts Samba (partner entry: our address, push and pull), a
//! capture of TCP 42, and runs itself again inside the client namespace
//! as the driver: a std loop around a `Partner` over a `WinsServer`, with
//! names registered at the server by NBNS datagrams. There it checks,
//! reading Samba's `wins.ldb`:
//!
//! 1. names registered at our server appear at Samba with our address as
//!    owner and our server's version IDs (we notify, Samba pulls);
//! 2. names Samba holds appear at our server with Samba as owner and
//!    Samba's versions;
//! 3. `-RR` at our server raises the version at Samba;
//! 4. a release at our server, once it is a tombstone (new version),
//!    reaches Samba as a tombstone.
//!
//! Back outside, tshark must read every captured TCP 42 packet as
//! `winsrepl` without a malformed flag.

mod support;

use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use core::time::Duration;
use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;
use std::time::Instant;

use nbns::server::{RecordState, ServerConfig, WinsServer};
use nbns::winsrepl::{
    ConnectionId, Partner, PartnerConfig, PartnerEvent, PullConfig, PushConfig, REPLICATION_PORT,
    ReplicationConfig,
};
use nbns::wire::{Message, Name, NbAddrEntry, NbFlags, NetbiosName, NodeType};
use support::samba4::{LdbRecord, Samba4Wins, ldb_records};

const TEST: &str = "samba4_replicates_with_our_wins_server";
/// Set in the environment of the driver run inside the namespace.
const CHILD: &str = "NBNS_SAMBA4_SERVER_DRIVER";

#[test]
fn samba4_replicates_with_our_wins_server() {
    if std::env::var_os(CHILD).is_some() {
        return driver();
    }
    if !support::interop_enabled(TEST) {
        return;
    }
    let started = Instant::now();
    // Our address pulls and pushes, and Samba pulls from it every 3 s on
    // its own connection (checked every second).
    let samba = Samba4Wins::start("2:3:3:0", "wreplsrv:periodic_interval = 1")
        .unwrap_or_else(|e| panic!("{e}"));
    let (packets, messages) =
        support::samba4::run_driver(&samba, TEST, CHILD, "nbns-samba4-server-replication.pcap");
    assert!(
        messages >= 12,
        "tshark read only {messages} replication messages"
    );
    eprintln!(
        "{TEST}: {} frames, {messages} winsrepl messages, none malformed; {:.1} s in all",
        packets.len(),
        started.elapsed().as_secs_f64()
    );
    samba.stop().unwrap();
}

// ---- The driver, inside the client namespace --------------------------------

fn name(s: &str, suffix: u8) -> NetbiosName {
    NetbiosName::new(s, suffix).unwrap()
}

/// A std driver for a `Partner`: non-blocking sockets polled every few ms.
struct Driver {
    partner: Partner,
    db: WinsServer,
    listener: TcpListener,
    streams: HashMap<ConnectionId, TcpStream>,
    next: u64,
    events: Vec<PartnerEvent>,
}

impl Driver {
    fn step(&mut self) {
        let now = Instant::now();
        while let Ok((s, SocketAddr::V4(peer))) = self.listener.accept() {
            s.set_nonblocking(true).unwrap();
            let id = self.id();
            self.streams.insert(id, s);
            self.partner.handle_connected(id, peer, now);
        }
        let mut buf = vec![0u8; 64 * 1024];
        let ids: Vec<ConnectionId> = self.streams.keys().copied().collect();
        for id in ids {
            while let Some(s) = self.streams.get_mut(&id) {
                match s.read(&mut buf) {
                    Ok(0) => {
                        self.streams.remove(&id);
                        self.partner.handle_closed(id, Instant::now());
                        break;
                    }
                    Ok(n) => {
                        self.partner
                            .handle_received(&mut self.db, id, &buf[..n], Instant::now());
                        self.flush();
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(_) => {
                        self.streams.remove(&id);
                        self.partner.handle_closed(id, Instant::now());
                        break;
                    }
                }
            }
        }
        self.db.handle_timeout(now);
        while self.db.poll_transmit().is_some() {}
        if self
            .partner
            .poll_timeout()
            .is_some_and(|t| t <= Instant::now())
        {
            self.partner.handle_timeout(Instant::now());
        }
        self.flush();
    }

    fn id(&mut self) -> ConnectionId {
        self.next += 1;
        ConnectionId(self.next)
    }

    fn flush(&mut self) {
        while let Some(to) = self.partner.poll_connect() {
            match TcpStream::connect_timeout(&to.into(), Duration::from_secs(5)) {
                Ok(s) => {
                    s.set_nonblocking(true).unwrap();
                    let id = self.id();
                    self.streams.insert(id, s);
                    self.partner.handle_connected(id, to, Instant::now());
                }
                Err(_) => self.partner.handle_connect_failed(to, Instant::now()),
            }
        }
        while let Some((id, bytes)) = self.partner.poll_send() {
            if let Some(s) = self.streams.get_mut(&id) {
                s.set_nonblocking(false).unwrap();
                let _ = s.write_all(&bytes);
                s.set_nonblocking(true).unwrap();
            }
        }
        while let Some(id) = self.partner.poll_close() {
            if let Some(s) = self.streams.remove(&id) {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
        while let Some(e) = self.partner.poll_event() {
            eprintln!("driver: {e:?}");
            self.events.push(e);
        }
    }

    /// Runs until `done` holds for the events so far, for at most `limit`.
    fn run_until(&mut self, limit: Duration, done: impl Fn(&[PartnerEvent]) -> bool) {
        let deadline = Instant::now() + limit;
        while !done(&self.events) {
            assert!(
                Instant::now() < deadline,
                "timed out; events: {:#?}",
                self.events
            );
            self.step();
            thread::sleep(Duration::from_millis(5));
        }
    }
}

/// Registers the unique name `name<00>` for `from` at the WINS server
/// `server` with a hand-built NBNS name registration request (RFC 1002
/// 4.2.2) from `from:137`; true on a positive response.
fn nbns_register(from: Ipv4Addr, server: Ipv4Addr, name: &str) -> bool {
    let mut raw = [b' '; 16];
    raw[..name.len()].copy_from_slice(name.as_bytes());
    raw[15] = 0;
    let mut p = vec![0x4e, 0x42, 0x29, 0x00, 0, 1, 0, 0, 0, 0, 0, 1, 0x20];
    for b in raw {
        p.extend([b'A' + (b >> 4), b'A' + (b & 0x0f)]);
    }
    p.extend([0, 0, 0x20, 0, 1]);
    p.extend([0xc0, 0x0c, 0, 0x20, 0, 1, 0, 0, 0x0e, 0x10, 0, 6, 0x60, 0]);
    p.extend(from.octets());
    let socket = std::net::UdpSocket::bind((from, 137)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    socket.send_to(&p, (server, 137)).unwrap();
    let mut buf = [0u8; 600];
    while let Ok((n, _)) = socket.recv_from(&mut buf) {
        let Some(reply) = buf.get(..n) else { break };
        // The final answer (not a WACK, opcode 7): a response with rcode 0.
        if reply.len() > 4 && reply[..2] == [0x4e, 0x42] && reply[2] & 0x78 == 0x28 {
            return reply[2] & 0x80 != 0 && reply[3] & 0x0f == 0;
        }
    }
    false
}

fn driver() {
    let var = |k: &str| std::env::var(k).unwrap();
    let server: Ipv4Addr = var("S4_SERVER").parse().unwrap();
    let us: Ipv4Addr = var("S4_CLIENT").parse().unwrap();
    let ldb = var("S4_LDB");
    let ldb = std::path::Path::new(&ldb);
    let client = Ipv4Addr::from(u32::from(us) + 2);
    assert!(
        nbns_register(client, server, "S4CLIENT"),
        "registration at Samba"
    );

    let mut config = ServerConfig::default();
    config.address = us;
    config.extinction_interval = 2;
    let mut db = WinsServer::new(config, Instant::now());
    db.enable_replication();
    let partner = PartnerConfig {
        address: SocketAddrV4::new(server, REPLICATION_PORT),
        pull: Some(PullConfig {
            interval: None,
            retry: Duration::from_secs(2),
        }),
        push: Some(PushConfig {
            change_count: 1,
            use_inform: false,
        }),
    };
    let listener = TcpListener::bind((us, REPLICATION_PORT)).unwrap();
    listener.set_nonblocking(true).unwrap();
    let mut seed = 0x5eed_0002u32;
    let handles = move || {
        seed = seed.wrapping_add(0x9E37_79B9);
        seed
    };
    let partner = Partner::new(ReplicationConfig::new(us, vec![partner]), &db, handles);
    let mut d = Driver {
        partner,
        db,
        listener,
        streams: HashMap::new(),
        next: 0,
        events: Vec::new(),
    };
    // The pull at start: Samba's names at our server.
    d.run_until(Duration::from_secs(15), |e| {
        e.iter().any(|e| matches!(e, PartnerEvent::PullDone { .. }))
    });
    let samba_own: Vec<LdbRecord> = ldb_records(ldb, "(objectClass=winsRecord)")
        .into_iter()
        .filter(|r| r.owner == server && r.state == 0)
        .collect();
    assert!(
        samba_own.iter().any(|r| r.name == "S4CLIENT"),
        "{samba_own:?}"
    );
    for r in &samba_own {
        let got =
            d.db.record(name(&r.name, r.suffix), b"")
                .unwrap_or_else(|| panic!("{}<{:02x}> not pulled", r.name, r.suffix));
        assert_eq!(
            (got.owner(), got.version()),
            (server, r.version),
            "{}<{:02x}>",
            r.name,
            r.suffix
        );
    }
    eprintln!(
        "driver: our server holds Samba's {} names with Samba as owner",
        samba_own.len()
    );

    // 1: names registered at our server over NBNS, then one notification.
    let mut id = 0x100;
    for n in ["RUSTSRVA", "RUSTSRVB"] {
        id += 1;
        register(&mut d.db, us, id, n);
    }
    d.partner.handle_db_changed(&d.db, Instant::now());
    for (n, v) in [("RUSTSRVA", 1), ("RUSTSRVB", 2)] {
        assert_eq!(d.db.record(name(n, 0), b"").unwrap().version(), v);
        wait_for(&mut d, ldb, n, |r| {
            (r.owner, r.version, r.state) == (us, v, 0)
        });
    }
    eprintln!("driver: Samba holds our server's names with our owner and versions");

    // 3: -RR of RUSTSRVA at our server.
    id += 1;
    release(&mut d.db, us, id, "RUSTSRVA");
    id += 1;
    register(&mut d.db, us, id, "RUSTSRVA");
    let rr = d.db.record(name("RUSTSRVA", 0), b"").unwrap().version();
    assert_eq!(rr, 3);
    d.partner.handle_db_changed(&d.db, Instant::now());
    wait_for(&mut d, ldb, "RUSTSRVA", |r| {
        (r.owner, r.version) == (us, rr)
    });
    eprintln!("driver: -RR at our server raised RUSTSRVA to version {rr} at Samba");

    // 4: a release of RUSTSRVB; after the extinction interval (2 s) it is
    // a tombstone with a new version, which replicates.
    id += 1;
    release(&mut d.db, us, id, "RUSTSRVB");
    let deadline = Instant::now() + Duration::from_secs(6);
    while d.db.record(name("RUSTSRVB", 0), b"").unwrap().state() != RecordState::Tombstoned {
        assert!(Instant::now() < deadline, "no tombstone");
        d.step();
        thread::sleep(Duration::from_millis(20));
    }
    let tomb = d.db.record(name("RUSTSRVB", 0), b"").unwrap().version();
    d.partner.handle_db_changed(&d.db, Instant::now());
    wait_for(&mut d, ldb, "RUSTSRVB", |r| {
        (r.owner, r.version, r.state) == (us, tomb, 2)
    });
    eprintln!("driver: the tombstone of RUSTSRVB (version {tomb}) reached Samba");
}

fn register(db: &mut WinsServer, us: Ipv4Addr, id: u16, n: &str) {
    let entry = NbAddrEntry::new(NbFlags::new(false, NodeType::H), us);
    let p = Message::registration_request(id, Name::unscoped(name(n, 0)), 3000, entry, false);
    datagram(db, us, &p);
}

fn release(db: &mut WinsServer, us: Ipv4Addr, id: u16, n: &str) {
    let entry = NbAddrEntry::new(NbFlags::new(false, NodeType::H), us);
    let p = Message::release_request(id, Name::unscoped(name(n, 0)), entry, false);
    datagram(db, us, &p);
}

fn datagram(db: &mut WinsServer, from: Ipv4Addr, p: &Message<'_>) {
    let mut v = vec![0; p.buffer_len()];
    p.emit(&mut v).unwrap();
    db.handle_datagram(Instant::now(), SocketAddrV4::new(from, 137), &v);
    while db.poll_transmit().is_some() {}
}

/// Drives `d` until Samba's record `name<00>` satisfies `ok` (at most 5 s).
fn wait_for(d: &mut Driver, ldb: &std::path::Path, name: &str, ok: impl Fn(&LdbRecord) -> bool) {
    wait_for_secs(d, ldb, name, 5, ok);
}

/// Drives `d` until Samba's record `name<00>` satisfies `ok`.
fn wait_for_secs(
    d: &mut Driver,
    ldb: &std::path::Path,
    name: &str,
    secs: u64,
    ok: impl Fn(&LdbRecord) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let records = ldb_records(ldb, &format!("(name={name})"));
        if records.iter().any(|r| r.suffix == 0 && ok(r)) {
            return;
        }
        assert!(Instant::now() < deadline, "Samba holds {records:?}");
        d.step();
        thread::sleep(Duration::from_millis(20));
    }
}
