//! The name client on a UDP socket: the run loop of `src/client`'s docs, with
//! per-name bookkeeping of how each name's registration and release ended.

use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use core::time::Duration;
use std::collections::HashMap;
use std::io;
use std::net::UdpSocket;
use std::time::Instant;

use nbns::client::{ClientConfig, ClientEvent, NameClient, NameSpec, NameState, ReleaseOutcome};
use nbns::wire::{Name, NetbiosName};

use crate::Failure;
use crate::args::NameArg;
use crate::report::{Reporter, TableRow};

/// Binds `addr:port`, with errors that say what to do.
pub(crate) fn bind(addr: Ipv4Addr, port: u16) -> Result<UdpSocket, Failure> {
    UdpSocket::bind((addr, port)).map_err(|e| {
        let what = format!("cannot bind UDP {addr}:{port}: {e}");
        Failure::Error(match e.kind() {
            io::ErrorKind::PermissionDenied => format!(
                "{what}\n  port {port} needs root (or CAP_NET_BIND_SERVICE). Run as root, or pass \
                 --port N (WINS servers challenge a name's owner at port 137, so a node on \
                 another port cannot prove it holds its names)"
            ),
            io::ErrorKind::AddrInUse => {
                format!("{what}\n  another program (nmbd? another nbtstat --hold?) holds it")
            }
            io::ErrorKind::AddrNotAvailable => {
                format!("{what}\n  {addr} is not an address of this host (--addr)")
            }
            _ => what,
        })
    })
}

/// How a name's current registration ended, if it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Registered,
    /// Failed, and why, in words.
    Failed(String),
}

pub(crate) struct Node {
    pub(crate) sock: UdpSocket,
    pub(crate) local: SocketAddrV4,
    pub(crate) client: NameClient,
    pub(crate) out: Reporter,
    /// Per name: how its last registration ended (cleared when a new one starts).
    pub(crate) outcome: HashMap<NetbiosName, Outcome>,
    /// Names whose release ended.
    pub(crate) released: Vec<NetbiosName>,
    /// Datagrams sent.
    pub(crate) sent: u64,
    /// Whether any WINS server answered anything since this was last reset
    /// (the `-RR` cooldown starts only then).
    pub(crate) answered: bool,
    buf: Vec<u8>,
}

impl Node {
    pub(crate) fn new(
        sock: UdpSocket,
        servers: &[SocketAddrV4],
        out: Reporter,
    ) -> io::Result<Self> {
        let local = match sock.local_addr()? {
            SocketAddr::V4(a) => a,
            SocketAddr::V6(_) => return Err(io::Error::other("IPv6 socket")),
        };
        let config = ClientConfig::with_servers(servers.iter().copied());
        Ok(Self {
            sock,
            local,
            client: NameClient::with_os_ids(config),
            out,
            outcome: HashMap::new(),
            released: Vec::new(),
            sent: 0,
            answered: false,
            buf: vec![0; 2048],
        })
    }

    /// Adds every name (the client starts registering them).
    pub(crate) fn add_names(&mut self, names: &[NameArg]) -> Result<(), Failure> {
        self.add_names_with(names, None)
    }

    /// Takes over names registered at the primary WINS server by an earlier
    /// run (see `NameClient::adopt_name`): nothing is sent for them now.
    pub(crate) fn adopt_names(&mut self, names: &[NameArg], ttl: u32) -> Result<(), Failure> {
        self.add_names_with(names, Some(ttl))
    }

    fn add_names_with(
        &mut self,
        names: &[NameArg],
        adopted_ttl: Option<u32>,
    ) -> Result<(), Failure> {
        let addrs = [*self.local.ip()];
        let now = Instant::now();
        for n in names {
            let name = Name::unscoped(n.name);
            let spec = if n.group {
                NameSpec::group(name, &addrs)
            } else {
                NameSpec::unique(name, &addrs)
            };
            match adopted_ttl {
                Some(ttl) => self.client.adopt_name(now, spec, ttl),
                None => self.client.add_name(now, spec),
            }
            .map_err(|e| Failure::Usage(format!("{}: {e}", n.name)))?;
        }
        Ok(())
    }

    /// Sends what the client queued. A transmit that must leave from another
    /// address than the socket's is not sent (it would be a request that
    /// does not count, see `Transmit::source`).
    fn flush(&mut self) {
        while let Some(t) = self.client.poll_transmit() {
            if let Some(src) = t.source
                && src != *self.local.ip()
            {
                self.out.note(&format!(
                    "not sending to {}: it must leave from {src}, the socket is on {}",
                    t.destination, self.local
                ));
                continue;
            }
            match self.sock.send_to(&t.contents, t.destination) {
                Ok(_) => self.sent += 1,
                Err(e) => self
                    .out
                    .note(&format!("send to {} failed: {e}", t.destination)),
            }
        }
    }

    fn drain_events(&mut self) -> Vec<ClientEvent> {
        let mut events = Vec::new();
        while let Some(ev) = self.client.poll_event() {
            let (outcome, answered) = match &ev {
                ClientEvent::Registered { name, .. } => {
                    (Some((name.netbios, Some(Outcome::Registered))), true)
                }
                ClientEvent::RegistrationRefused {
                    name,
                    server,
                    rcode,
                } => (
                    Some((
                        name.netbios,
                        Some(Outcome::Failed(format!(
                            "refused by the WINS server {server}: {rcode} (rcode {})",
                            u8::from(*rcode)
                        ))),
                    )),
                    true,
                ),
                ClientEvent::OwnerDefended { name, owner } => (
                    Some((
                        name.netbios,
                        Some(Outcome::Failed(format!(
                            "the WINS server found it held by {owner}, which defended it (ACT_ERR)"
                        ))),
                    )),
                    true,
                ),
                ClientEvent::NoServerAnswered { name } => (
                    Some((
                        name.netbios,
                        Some(Outcome::Failed("no WINS server answered".to_owned())),
                    )),
                    false,
                ),
                ClientEvent::Released { name, outcome } => {
                    self.released.push(name.netbios);
                    (
                        Some((name.netbios, None)),
                        !matches!(outcome, ReleaseOutcome::Unconfirmed),
                    )
                }
                ClientEvent::Refreshed { .. } => (None, true),
                _ => (None, false),
            };
            self.answered |= answered;
            match outcome {
                Some((name, Some(o))) => {
                    self.outcome.insert(name, o);
                }
                Some((name, None)) => {
                    self.outcome.remove(&name);
                }
                None => {}
            }
            self.out.event(&ev);
            events.push(ev);
        }
        events
    }

    /// One turn of the run loop: send, wait at most `max_wait` for a datagram
    /// or the client's next deadline, handle it, send, report events.
    pub(crate) fn step(&mut self, max_wait: Duration) -> Vec<ClientEvent> {
        self.flush();
        let mut events = self.drain_events();
        let now = Instant::now();
        let wait = self
            .client
            .poll_timeout()
            .map_or(max_wait, |t| t.saturating_duration_since(now))
            .min(max_wait);
        if wait.is_zero() {
            self.client.handle_timeout(now);
        } else {
            let _ = self.sock.set_read_timeout(Some(wait));
            match self.sock.recv_from(&mut self.buf) {
                Ok((n, SocketAddr::V4(from))) => {
                    let bytes = self.buf.get(..n).unwrap_or_default();
                    self.client.handle_datagram(Instant::now(), from, bytes);
                }
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    self.client.handle_timeout(Instant::now());
                }
                // A signal (Ctrl-C in hold mode): the loop looks at its flag.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    self.out
                        .note("a WINS server is unreachable (ICMP port unreachable)");
                }
                Err(e) => self.out.note(&format!("receive failed: {e}")),
            }
        }
        self.flush();
        events.extend(self.drain_events());
        events
    }

    /// Whether every name's registration has ended (registered or failed).
    pub(crate) fn all_settled(&self, names: &[NameArg]) -> bool {
        names.iter().all(|n| self.outcome.contains_key(&n.name))
    }

    /// Runs until every name's registration ended, or `limit` passed.
    /// Returns whether all ended.
    pub(crate) fn run_until_settled(&mut self, names: &[NameArg], limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while !self.all_settled(names) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            self.step(left.min(Duration::from_millis(500)));
        }
        true
    }

    /// Releases every name and runs until each release ended (bounded).
    pub(crate) fn release_all(&mut self, names: &[NameArg]) {
        self.released.clear();
        self.client.release_all(Instant::now());
        // 3 tries of 1.5 s per server holding the name, plus slack.
        let servers = self.client.config().servers.len().max(1) as u32;
        let deadline = Instant::now() + Duration::from_secs(6) * servers;
        while self.released.len() < names.len() && Instant::now() < deadline {
            self.step(Duration::from_millis(200));
            if self.client.is_empty() {
                break;
            }
        }
        self.flush();
    }

    /// The local name table (for `-n` in hold mode).
    pub(crate) fn table_rows(&self) -> Vec<TableRow> {
        let mut rows: Vec<TableRow> = self
            .client
            .names()
            .map(|info| TableRow {
                name: info.name.netbios,
                group: info.group,
                status: state_text(info.state),
            })
            .collect();
        rows.sort_by_key(|r| *r.name.as_bytes());
        rows
    }

    /// Counts the names whose last registration ended well.
    pub(crate) fn registered_count(&self, names: &[NameArg]) -> usize {
        names
            .iter()
            .filter(|n| self.outcome.get(&n.name) == Some(&Outcome::Registered))
            .count()
    }

    /// The names that did not end registered, each with why.
    pub(crate) fn failures(&self, names: &[NameArg]) -> Vec<(NetbiosName, String)> {
        names
            .iter()
            .filter_map(|n| match self.outcome.get(&n.name) {
                Some(Outcome::Registered) => None,
                Some(Outcome::Failed(why)) => Some((n.name, why.clone())),
                None => Some((n.name, "no outcome within the timeout".to_owned())),
            })
            .collect()
    }
}

pub(crate) fn state_text(s: NameState) -> String {
    match s {
        NameState::Registered | NameState::Refreshing => "Registered".to_owned(),
        NameState::Registering => "Registering".to_owned(),
        NameState::Releasing | NameState::AwaitingReregister => "Deregistering".to_owned(),
        NameState::Refused(rc) => format!("Conflict ({rc})"),
        NameState::Conflict => "Conflict".to_owned(),
        NameState::Local => "Registered (local)".to_owned(),
        other => format!("{other:?}"),
    }
}
