//! WINS replication for `wins_server` (MS-WINSRA, TCP 42): the driver of
//! a [`Partner`] over std TCP sockets, nonblocking, polled from the
//! server's loop (no thread: the partner and the UDP side share the one
//! `WinsServer`, which is the partner's `ReplicationDb`).
//!
//! Options (`--replication ADDR:PORT` turns it on; off by default):
//!
//! * `--replication 0.0.0.0:42` listens for partners on TCP there.
//! * `--partner IP[:PORT][,push][,pull][,interval=SECS][,changes=N][,inform]`,
//!   repeatable: a partner at IP (port 42 by default); `pull` pulls from
//!   it at start, every `interval` seconds (default 1800, 0 for never) and
//!   when it notifies; `push` serves its pulls and notifies it after
//!   `changes` of our own changes (default 1). With neither word, both.
//!
//! Durability: replicas are changes of the server like any other and go
//! through the same commit thread; the owner-version entry of a pull
//! follows its replicas in the change sequence, so a crash before the
//! commit only makes the next pull ask for the same versions again.
//! Notifications go out after our own changes are committed.
//!
//! Log lines on stderr: each association up and down, each applied batch
//! of replicas (partner, owner, versions, what became of them); stdout
//! has one `replicated NAME ...` line per replica once committed.

use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use core::time::Duration;
use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Instant;

use nbns::server::{IdSource, OsRandomIds, WinsServer};
use nbns::winsrepl::{
    ConnectionId, Partner, PartnerConfig, PartnerEvent, PullConfig, PushConfig, REPLICATION_PORT,
    ReplicationConfig, ReplicationDb,
};

/// Parses one `--partner` value (see the module docs).
pub(crate) fn parse_partner(spec: &str) -> Result<PartnerConfig, String> {
    let mut parts = spec.split(',');
    let addr = parts.next().unwrap_or_default();
    let address = match addr.parse::<SocketAddrV4>() {
        Ok(a) => a,
        Err(_) => SocketAddrV4::new(
            addr.parse::<Ipv4Addr>()
                .map_err(|e| format!("--partner {spec}: {e}"))?,
            REPLICATION_PORT,
        ),
    };
    let (mut push, mut pull, mut inform) = (false, false, false);
    let mut interval = Some(Duration::from_secs(1800));
    let mut changes = 1;
    for p in parts {
        let bad = |e: &dyn core::fmt::Display| format!("--partner {spec}: {p}: {e}");
        match p.split_once('=') {
            None if p == "push" => push = true,
            None if p == "pull" => pull = true,
            None if p == "inform" => inform = true,
            Some(("interval", v)) => {
                let s: u64 = v.parse().map_err(|e| bad(&e))?;
                interval = (s > 0).then(|| Duration::from_secs(s));
            }
            Some(("changes", v)) => changes = v.parse().map_err(|e| bad(&e))?,
            _ => return Err(format!("--partner {spec}: unknown part {p}")),
        }
    }
    if !push && !pull {
        (push, pull) = (true, true);
    }
    Ok(PartnerConfig {
        address,
        pull: pull.then_some(PullConfig {
            interval,
            retry: Duration::from_secs(30),
        }),
        push: push.then_some(PushConfig {
            change_count: changes,
            use_inform: inform,
        }),
    })
}

struct Conn {
    stream: TcpStream,
    out: Vec<u8>,
    closing: bool,
}

/// The replication side of the server.
pub(crate) struct Replicator {
    listener: Option<TcpListener>,
    partner: Partner,
    conns: BTreeMap<ConnectionId, Conn>,
    next_conn: u64,
    /// Our version counter when the partner last heard of it.
    told: u64,
}

impl Replicator {
    /// Listens on `listen` and starts the partner for `server`.
    pub(crate) fn start(
        listen: SocketAddrV4,
        partners: Vec<PartnerConfig>,
        server: &mut WinsServer,
    ) -> Result<Self, String> {
        server.enable_replication();
        let listener = TcpListener::bind(listen).map_err(|e| format!("bind {listen}: {e}"))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("{listen}: {e}"))?;
        let owner = server.config().address;
        let mut ids = OsRandomIds::new();
        let handles = move || u32::from(ids.next_id()) << 16 | u32::from(ids.next_id());
        for p in &partners {
            eprintln!(
                "wins_server: replication partner {} pull {:?} push {:?}",
                p.address, p.pull, p.push
            );
        }
        let partner = Partner::new(ReplicationConfig::new(owner, partners), &*server, handles);
        eprintln!(
            "wins_server: replication on tcp {} as owner {owner}",
            listener
                .local_addr()
                .map_or(listen.to_string(), |a| a.to_string())
        );
        Ok(Self {
            listener: Some(listener),
            partner,
            conns: BTreeMap::new(),
            next_conn: 1,
            told: server.version_counter(),
        })
    }

    /// When the loop should come back at the latest.
    pub(crate) fn wake(&self, now: Instant) -> Instant {
        let soon = now + Duration::from_millis(5);
        self.partner.poll_timeout().map_or(soon, |t| t.min(soon))
    }

    /// Accepts, reads, runs timers and writes; tells the partner when our
    /// committed version counter moved.
    pub(crate) fn poll(&mut self, server: &mut WinsServer) {
        let now = Instant::now();
        while let Some(Ok((stream, SocketAddr::V4(peer)))) =
            self.listener.as_ref().map(TcpListener::accept)
        {
            if let Some(id) = self.add(stream) {
                self.partner.handle_connected(id, peer, now);
            }
        }
        let mut buf = vec![0u8; 64 << 10];
        let ids: Vec<ConnectionId> = self.conns.keys().copied().collect();
        for id in ids {
            while let Some(c) = self.conns.get_mut(&id) {
                match c.stream.read(&mut buf) {
                    Ok(0) => {
                        self.conns.remove(&id);
                        self.partner.handle_closed(id, now);
                        break;
                    }
                    Ok(n) => {
                        let bytes = buf.get(..n).unwrap_or_default();
                        self.partner.handle_received(server, id, bytes, now);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => {
                        self.conns.remove(&id);
                        self.partner.handle_closed(id, now);
                        break;
                    }
                }
            }
        }
        if self.partner.poll_timeout().is_some_and(|t| t <= now) {
            self.partner.handle_timeout(now);
        }
        if server.unpersisted() == 0 && server.version_counter() != self.told {
            self.told = server.version_counter();
            self.partner.handle_db_changed(&*server, now);
        }
        self.drain(server, now);
    }

    fn add(&mut self, stream: TcpStream) -> Option<ConnectionId> {
        stream.set_nonblocking(true).ok()?;
        let _ = stream.set_nodelay(true);
        let id = ConnectionId(self.next_conn);
        self.next_conn += 1;
        self.conns.insert(
            id,
            Conn {
                stream,
                out: Vec::new(),
                closing: false,
            },
        );
        Some(id)
    }

    fn drain(&mut self, server: &WinsServer, now: Instant) {
        while let Some(to) = self.partner.poll_connect() {
            match connect_from(server.config().address, to) {
                Ok(s) => match self.add(s) {
                    Some(id) => self.partner.handle_connected(id, to, now),
                    None => self.partner.handle_connect_failed(to, now),
                },
                Err(_) => self.partner.handle_connect_failed(to, now),
            }
        }
        while let Some((id, bytes)) = self.partner.poll_send() {
            if let Some(c) = self.conns.get_mut(&id) {
                c.out.extend_from_slice(&bytes);
            }
        }
        while let Some(id) = self.partner.poll_close() {
            if let Some(c) = self.conns.get_mut(&id) {
                c.closing = true;
            }
        }
        let mut gone = Vec::new();
        for (id, c) in &mut self.conns {
            while !c.out.is_empty() {
                match c.stream.write(&c.out) {
                    Ok(0) => break,
                    Ok(n) => {
                        c.out.drain(..n);
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(_) => {
                        gone.push(*id);
                        break;
                    }
                }
            }
            if c.closing && c.out.is_empty() {
                let _ = c.stream.shutdown(std::net::Shutdown::Both);
                gone.push(*id);
            }
        }
        for id in gone {
            if self.conns.remove(&id).is_some_and(|c| !c.closing) {
                self.partner.handle_closed(id, now);
            }
        }
        while let Some(e) = self.partner.poll_event() {
            log(&e, server);
        }
    }
}

/// A TCP connection to `to` from our owner address `local` (partners
/// know us by it; on loopback, where every 127.0.0.x reaches the others,
/// the kernel would pick 127.0.0.1), or from any address when `local` is
/// not one of ours. std has no bind-before-connect, hence `nix`.
fn connect_from(local: Ipv4Addr, to: SocketAddrV4) -> io::Result<TcpStream> {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, SockaddrIn, bind, connect, socket};
    use std::os::fd::AsRawFd;
    if !local.is_unspecified() {
        let fd = socket(
            AddressFamily::Inet,
            SockType::Stream,
            SockFlag::empty(),
            None,
        )?;
        if bind(
            fd.as_raw_fd(),
            &SockaddrIn::from(SocketAddrV4::new(local, 0)),
        )
        .is_ok()
        {
            connect(fd.as_raw_fd(), &SockaddrIn::from(to))?;
            return Ok(TcpStream::from(fd));
        }
    }
    TcpStream::connect_timeout(&SocketAddr::V4(to), Duration::from_secs(1))
}

fn log(e: &PartnerEvent, server: &WinsServer) {
    match e {
        PartnerEvent::AssociationUp {
            peer, initiator, ..
        } => eprintln!(
            "wins_server: association up with {peer} ({})",
            if *initiator {
                "we opened it"
            } else {
                "it opened it"
            }
        ),
        PartnerEvent::AssociationDown { peer, why, .. } => {
            eprintln!("wins_server: association down with {peer}: {why:?}");
        }
        PartnerEvent::Pulled {
            partner,
            owner,
            versions,
            records,
            applied,
        } => eprintln!(
            "wins_server: applied {records} replicas of owner {owner} versions {}..={} from \
             {partner}: {applied:?}; owner {owner} now at {}",
            versions.0,
            versions.1,
            server.max_version(*owner)
        ),
        other => eprintln!("wins_server: replication: {other:?}"),
    }
}
