//! A std-TCP driver of a replication `Partner` over any `ReplicationDb`
//! (a `MemoryDb`, or a `WinsServer`): non-blocking sockets polled every few
//! milliseconds, for the interop tests with Samba 4 run inside its client
//! namespace. Also the NBNS registration those tests make at Samba, and a
//! wait for a record in Samba's `wins.ldb`.

use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use core::time::Duration;
use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::thread;
use std::time::Instant;

use nbns::winsrepl::{
    ConnectionId, Partner, PartnerConfig, PartnerEvent, REPLICATION_PORT, ReplicationConfig,
    ReplicationDb,
};

use super::samba4::{LdbRecord, ldb_records};

/// A `Partner` over the database `db`, listening on `us:42`.
pub(crate) struct TcpDriver<D> {
    pub(crate) partner: Partner,
    pub(crate) db: D,
    listener: TcpListener,
    streams: HashMap<ConnectionId, TcpStream>,
    next: u64,
    /// The partner's events so far.
    pub(crate) events: Vec<PartnerEvent>,
    /// The database's own work on each step (its timeouts, its datagrams).
    tick: fn(&mut D, Instant),
}

impl<D: ReplicationDb> TcpDriver<D> {
    /// Binds `us:42` and starts a `Partner` of `partners` over `db`;
    /// `tick` runs on every step.
    pub(crate) fn new(
        us: Ipv4Addr,
        partners: Vec<PartnerConfig>,
        db: D,
        seed: u32,
        tick: fn(&mut D, Instant),
    ) -> Self {
        let listener = TcpListener::bind((us, REPLICATION_PORT)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let mut seed = seed;
        let handles = move || {
            seed = seed.wrapping_add(0x9E37_79B9);
            seed
        };
        let partner = Partner::new(ReplicationConfig::new(us, partners), &db, handles);
        Self {
            partner,
            db,
            listener,
            streams: HashMap::new(),
            next: 0,
            events: Vec::new(),
            tick,
        }
    }

    /// Starts the partner again with the same configuration (its
    /// connections closed), as after a restart of the program: it pulls
    /// from its pull partners at once.
    pub(crate) fn restart_partner(&mut self, seed: u32) {
        for (_, s) in self.streams.drain() {
            let _ = s.shutdown(Shutdown::Both);
        }
        let mut seed = seed;
        let handles = move || {
            seed = seed.wrapping_add(0x9E37_79B9);
            seed
        };
        let config = self.partner.config().clone();
        self.partner = Partner::new(config, &self.db, handles);
    }

    /// Accepts, reads, runs due timeouts and writes, once.
    pub(crate) fn step(&mut self) {
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
        (self.tick)(&mut self.db, now);
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
    pub(crate) fn run_until(&mut self, limit: Duration, done: impl Fn(&[PartnerEvent]) -> bool) {
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

    /// Runs until Samba's record `name<00>` in `ldb` satisfies `ok`, for
    /// at most `secs` seconds.
    pub(crate) fn wait_for_ldb(
        &mut self,
        ldb: &Path,
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
            self.step();
            thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A partner entry for Samba at `server`: pull without a periodic pull
/// (retry after 2 s), push after every change by UPDATE.
pub(crate) fn samba_partner(server: Ipv4Addr) -> PartnerConfig {
    PartnerConfig {
        address: SocketAddrV4::new(server, REPLICATION_PORT),
        pull: Some(nbns::winsrepl::PullConfig {
            interval: None,
            retry: Duration::from_secs(2),
        }),
        push: Some(nbns::winsrepl::PushConfig {
            change_count: 1,
            use_inform: false,
        }),
    }
}

/// Registers the unique name `name<00>` for `from` at the WINS server
/// `server` with a hand-built NBNS name registration request (RFC 1002
/// 4.2.2) from `from:137`; true on a positive response.
pub(crate) fn nbns_register(from: Ipv4Addr, server: Ipv4Addr, name: &str) -> bool {
    let p = registration_request(0x4e42, from, name, 0);
    let socket = std::net::UdpSocket::bind((from, 137)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    socket.send_to(&p, (server, 137)).unwrap();
    let mut buf = [0u8; 600];
    while let Ok((n, _)) = socket.recv_from(&mut buf) {
        let Some(reply) = buf.get(..n) else { break };
        if let Some((0x4e42, positive)) = registration_answer(reply) {
            return positive;
        }
    }
    false
}

/// A name registration request (RFC 1002 4.2.2) with transaction ID `id`
/// for the unique name `name<suffix>` (at most 15 bytes) at `from`, RD set,
/// TTL 3600 s.
fn registration_request(id: u16, from: Ipv4Addr, name: &str, suffix: u8) -> Vec<u8> {
    let mut raw = [b' '; 16];
    raw[..name.len()].copy_from_slice(name.as_bytes());
    raw[15] = suffix;
    let [hi, lo] = id.to_be_bytes();
    let mut p = vec![hi, lo, 0x29, 0x00, 0, 1, 0, 0, 0, 0, 0, 1, 0x20];
    for b in raw {
        p.extend([b'A' + (b >> 4), b'A' + (b & 0x0f)]);
    }
    p.extend([0, 0, 0x20, 0, 1]);
    p.extend([0xc0, 0x0c, 0, 0x20, 0, 1, 0, 0, 0x0e, 0x10, 0, 6, 0x60, 0]);
    p.extend(from.octets());
    p
}

/// The transaction ID of a final registration answer (a response, opcode
/// 5, not a WACK) and whether it is positive (rcode 0).
fn registration_answer(reply: &[u8]) -> Option<(u16, bool)> {
    let [hi, lo, flags, rcode, ..] = *reply else {
        return None;
    };
    (flags & 0xf8 == 0xa8).then_some((u16::from_be_bytes([hi, lo]), rcode & 0x0f == 0))
}

/// Registers the unique names `names` (`name`, suffix) for `from` at the
/// WINS server `server` from `from:137`, with up to `window` requests
/// outstanding; each request is sent at most 4 times, 1 s apart. Returns
/// the names that got no positive answer.
pub(crate) fn nbns_register_many(
    from: Ipv4Addr,
    server: Ipv4Addr,
    names: &[(String, u8)],
    window: usize,
) -> Vec<(String, u8)> {
    let socket = std::net::UdpSocket::bind((from, 137)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    // Transaction ID = index + 1 (names.len() < 65536); (sent at, tries).
    assert!(names.len() < usize::from(u16::MAX));
    let mut outstanding: HashMap<u16, (Instant, u32)> = HashMap::new();
    let mut failed = Vec::new();
    let mut next = 0;
    let mut buf = [0u8; 600];
    let send = |i: usize| {
        let (name, suffix) = &names[i];
        let p = registration_request(i as u16 + 1, from, name, *suffix);
        socket.send_to(&p, (server, 137)).unwrap();
    };
    while next < names.len() || !outstanding.is_empty() {
        while outstanding.len() < window && next < names.len() {
            send(next);
            outstanding.insert(next as u16 + 1, (Instant::now(), 1));
            next += 1;
        }
        if let Ok((n, peer)) = socket.recv_from(&mut buf) {
            let answer = buf.get(..n).and_then(registration_answer);
            if let (Some((id, positive)), SocketAddr::V4(peer)) = (answer, peer)
                && *peer.ip() == server
                && outstanding.remove(&id).is_some()
                && !positive
            {
                failed.push(names[usize::from(id) - 1].clone());
            }
        }
        let now = Instant::now();
        let due: Vec<u16> = outstanding
            .iter()
            .filter(|(_, (at, _))| now.duration_since(*at) >= Duration::from_secs(1))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            let tries = outstanding[&id].1;
            if tries >= 4 {
                outstanding.remove(&id);
                failed.push(names[usize::from(id) - 1].clone());
            } else {
                send(usize::from(id) - 1);
                outstanding.insert(id, (now, tries + 1));
            }
        }
    }
    failed
}

/// How many records of `ldb` match `filter` (`ldbsearch`'s own count; 0
/// when it fails).
pub(crate) fn ldb_count(ldb: &Path, filter: &str) -> u64 {
    let Ok(out) = std::process::Command::new("ldbsearch")
        .arg("-H")
        .arg(ldb)
        .args([filter, "dn"])
        .output()
    else {
        return 0;
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("# returned "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// The records of the pull figures: `F0000001<20>` … as `(name, suffix)`.
pub(crate) fn figure_names(n: u64) -> Vec<(String, u8)> {
    (1..=n).map(|v| (format!("F{v:07}"), 0x20)).collect()
}

/// How often the figures poll `wins.ldb` while Samba applies a pull.
pub(crate) const FIGURE_POLL: Duration = Duration::from_millis(250);

/// The pull of Samba 4 from our server, timed: a `WinsServer` at `us`
/// holding the unique records [`figure_names`]`(n)` of its own (version v
/// for the v-th, at `address(v)`) notifies Samba at `server` once at the
/// start of its partner, and Samba pulls them all. Returns the time from
/// the partner's start until Samba's `wins.ldb` holds them all (polled
/// every [`FIGURE_POLL`] with `ldbsearch`, so within about that), or
/// `None` if it does not within `limit`. Then checks that Samba holds each
/// with our address as owner and our version.
pub(crate) fn serve_pull_figure(
    server: Ipv4Addr,
    us: Ipv4Addr,
    ldb: &Path,
    n: u64,
    address: fn(u64) -> Ipv4Addr,
    limit: Duration,
) -> Option<Duration> {
    use nbns::server::{RecordKind, RecordState, ServerConfig, StoredRecord, WinsServer};
    use nbns::wire::{NbAddrEntry, NbFlags, NetbiosName, NodeType};
    let now = Instant::now();
    let records = figure_names(n)
        .into_iter()
        .zip(1..)
        .map(|((name, suffix), v)| StoredRecord {
            name: NetbiosName::new(&name, suffix).unwrap(),
            scope: Box::default(),
            kind: RecordKind::Unique,
            state: RecordState::Active,
            version: v,
            owner: us,
            addresses: [NbAddrEntry::new(
                NbFlags::new(false, NodeType::H),
                address(v),
            )]
            .into(),
            member_owners: Box::default(),
            deadline: now + Duration::from_secs(3600),
        });
    let mut config = ServerConfig::default();
    config.address = us;
    config.max_records = n as usize + 100;
    let mut db = WinsServer::restore(config, now, n, records).unwrap();
    db.enable_replication();
    let t0 = Instant::now();
    let mut d = TcpDriver::new(
        us,
        vec![samba_partner(server)],
        db,
        0x5eed_0004,
        |db, now| {
            db.handle_timeout(now);
            while db.poll_transmit().is_some() {}
        },
    );
    let filter = format!("(&(winsOwner={us})(name=F*))");
    let took = loop {
        let polled = Instant::now();
        while polled.elapsed() < FIGURE_POLL {
            d.step();
            thread::sleep(Duration::from_millis(2));
        }
        if ldb_count(ldb, &filter) >= n {
            break t0.elapsed();
        }
        if t0.elapsed() > limit {
            return None;
        }
    };
    let held: HashMap<(String, u8), LdbRecord> = ldb_records(ldb, &filter)
        .into_iter()
        .map(|r| ((r.name.clone(), r.suffix), r))
        .collect();
    for (key, v) in figure_names(n).into_iter().zip(1..) {
        let r = held
            .get(&key)
            .unwrap_or_else(|| panic!("Samba lacks {key:?}"));
        assert_eq!(
            (r.owner, r.version, r.state, r.record_type),
            (us, v, 0, 0),
            "{key:?}"
        );
    }
    Some(took)
}
