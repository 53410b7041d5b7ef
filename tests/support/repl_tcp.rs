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
