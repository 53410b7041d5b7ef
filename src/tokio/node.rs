//! [`NameNode`]: a [`NameClient`] on tokio UDP sockets (one per local
//! address of a multi-homed node).

use core::fmt;
use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;
use std::collections::{HashMap, HashSet};
use std::io;
use std::sync::Arc;

use ::tokio::net::UdpSocket;
use ::tokio::sync::{broadcast, mpsc, oneshot};
use ::tokio::time::{Instant as TokioInstant, sleep_until};

use crate::client::{
    AddNameError, ClientConfig, ClientEvent, ConflictCause, Cooldown, NameClient, NameSpec,
    NameState, OsRandomIds, OwnedName, ReleaseOutcome, ReregisterOutcome,
};
use crate::wire::{Name, Rcode};

/// Events kept for a subscriber that does not keep up; older ones are lost
/// for it (it sees [`broadcast::error::RecvError::Lagged`]).
pub const EVENT_CAPACITY: usize = 256;

/// A granted registration, from [`NameNode::register`]. A name held
/// without a WINS server (none configured, or a name starting with `*`)
/// is granted at once, with server `0.0.0.0:0` and TTL 0; a name claimed
/// by broadcast (B, M and H nodes, see
/// [`ClientConfig::node_type`](crate::client::ClientConfig::node_type))
/// has the broadcast address as its server and TTL 0. An M-node's name is
/// granted once it is claimed; its WINS registration follows in the
/// event stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The name.
    pub name: OwnedName,
    /// The WINS server that granted it.
    pub server: SocketAddrV4,
    /// The granted TTL in seconds.
    pub ttl: u32,
}

/// Why [`NameNode::register`] did not register a name. On every error the
/// name is not held: [`register`](NameNode::register) may be called again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterError {
    /// Another node holds the name: the server answered ACT_ERR or CFT_ERR
    /// (RFC 1002 §4.2.6).
    #[error("{server} refused the name: another node holds it ({rcode})")]
    Conflict {
        /// The server that answered.
        server: SocketAddrV4,
        /// ACT_ERR or CFT_ERR.
        rcode: Rcode,
    },
    /// The server refused the registration for another reason (RFS_ERR,
    /// SRV_ERR, …).
    #[error("{server} refused the registration ({rcode})")]
    Refused {
        /// The server that answered.
        server: SocketAddrV4,
        /// Its rcode.
        rcode: Rcode,
    },
    /// The server challenged the holder and it defended the name.
    #[error("the owner {owner} defended the name")]
    OwnerDefended {
        /// The owner that answered.
        owner: Ipv4Addr,
    },
    /// A WINS server put the name in conflict while it was registered.
    #[error("the name is in conflict: {0}")]
    InConflict(ConflictCause),
    /// No server answered through the configured retries.
    #[error("no WINS server answered")]
    NoServerAnswered,
    /// The client refused the name (duplicate, no address, …).
    #[error(transparent)]
    Invalid(#[from] AddNameError),
    /// The node has shut down.
    #[error("the name node has shut down")]
    Closed,
}

/// Why [`NameNode::release`] released nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ReleaseError {
    /// The node does not hold the name.
    #[error("the name is not held")]
    NotHeld,
    /// The node has shut down.
    #[error("the name node has shut down")]
    Closed,
}

/// Why [`NameNode::reregister_all`] did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ReregisterError {
    /// Within the cooldown of the previous one; try again after
    /// `remaining`.
    #[error(transparent)]
    Cooldown(#[from] Cooldown),
    /// The node has shut down.
    #[error("the name node has shut down")]
    Closed,
}

/// A name the node holds, from [`NameNode::names`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldName {
    /// The name.
    pub name: OwnedName,
    /// Group or unique.
    pub group: bool,
    /// Where it stands.
    pub state: NameState,
    /// The TTL granted last (0 before any grant).
    pub ttl: u32,
}

impl fmt::Display for HeldName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?} TTL {} s", self.name, self.state, self.ttl)
    }
}

enum Command {
    Register {
        name: OwnedName,
        group: bool,
        addresses: Vec<Ipv4Addr>,
        reply: oneshot::Sender<Result<Registration, RegisterError>>,
    },
    Adopt {
        name: OwnedName,
        group: bool,
        addresses: Vec<Ipv4Addr>,
        ttl: u32,
        reply: oneshot::Sender<Result<(), RegisterError>>,
    },
    Refresh,
    Release {
        name: OwnedName,
        reply: oneshot::Sender<Result<ReleaseOutcome, ReleaseError>>,
    },
    Reregister {
        reply: oneshot::Sender<Result<Vec<ReregisterOutcome>, ReregisterError>>,
    },
    Names {
        reply: oneshot::Sender<Vec<HeldName>>,
    },
    Detach {
        reply: oneshot::Sender<()>,
    },
    Shutdown {
        reply: oneshot::Sender<Vec<(OwnedName, ReleaseOutcome)>>,
    },
}

/// A NetBIOS name node on the tokio runtime: a [`NameClient`] driven over
/// one UDP socket by a task of its own.
///
/// The handle is cheap to clone; every clone talks to the same task. The
/// task owns the socket and the timers and follows the client's polling
/// order; it sleeps until a datagram, a command or the client's next
/// deadline, and not at all when there is none. It ends when
/// [`shutdown`](Self::shutdown) is called or the last handle is dropped
/// (then it releases every name first, as `shutdown` does).
///
/// Every method is cancellation-safe: a dropped `register` future leaves
/// the registration running, and its outcome still reaches the
/// [`events`](Self::events) stream (a failed one also drops the name, as
/// an awaited one does).
///
/// Socket errors do not end the node: ICMP port unreachable (surfacing on
/// Linux as `ECONNREFUSED` on the next `recv`), host and network
/// unreachable are skipped, send errors count as a lost datagram that the
/// client retransmits. Any other receive error ends the task, and every
/// method then returns its `Closed` error.
///
/// The socket is bound to the address the names are registered with:
/// [`Transmit::source`](crate::client::Transmit::source) is that address
/// for a single-homed node. A node on port 137 of its address is also
/// challengeable and answers node status requests; any port works for
/// registering.
///
/// A multi-homed node ([`NameNode::bind_all`], [`NameNode::from_sockets`])
/// has one socket per local address: each transmit leaves through the
/// socket bound to its [`Transmit::source`](crate::client::Transmit::source)
/// (a WINS server takes a registration or release of an address only from
/// that address), others through the first socket, and what arrives on
/// any socket goes to the one client.
///
/// [`NodeOptions::broadcast`] turns on `SO_BROADCAST` on every socket, for
/// the broadcast node types (B, M, H when falling back to broadcast).
#[derive(Debug, Clone)]
pub struct NameNode {
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<ClientEvent>,
    locals: Vec<SocketAddrV4>,
    sent: Arc<AtomicU64>,
}

/// Socket options of a [`NameNode`], for [`NameNode::bind_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NodeOptions {
    /// Sets `SO_BROADCAST` on every socket, so that datagrams to a
    /// broadcast address (such as 255.255.255.255 or a subnet's) may be
    /// sent (RFC 1001 §15.1: B nodes register, query and release by
    /// broadcast). Off by default: without it the kernel refuses them
    /// (`EACCES`), and the client counts that as a lost datagram.
    pub broadcast: bool,
}

impl NodeOptions {
    /// With `SO_BROADCAST` on or off.
    #[must_use]
    pub const fn broadcast(mut self, on: bool) -> Self {
        self.broadcast = on;
        self
    }
}

impl NameNode {
    /// Binds a UDP socket to `local` and starts the node's task on the
    /// current tokio runtime.
    ///
    /// # Errors
    /// The socket's bind error.
    pub async fn bind(local: SocketAddrV4, config: ClientConfig) -> io::Result<Self> {
        Self::bind_with(&[local], config, NodeOptions::default()).await
    }

    /// Binds one UDP socket to each of `locals` (a multi-homed node: one
    /// per address its names are registered with) and starts the node.
    ///
    /// # Errors
    /// A bind error, or no address given.
    pub async fn bind_all(locals: &[SocketAddrV4], config: ClientConfig) -> io::Result<Self> {
        Self::bind_with(locals, config, NodeOptions::default()).await
    }

    /// As [`NameNode::bind_all`], with socket options.
    ///
    /// # Errors
    /// A bind error, an option the socket refused, or no address given.
    pub async fn bind_with(
        locals: &[SocketAddrV4],
        config: ClientConfig,
        options: NodeOptions,
    ) -> io::Result<Self> {
        let mut sockets = Vec::with_capacity(locals.len());
        for local in locals {
            let socket = UdpSocket::bind(local).await?;
            if options.broadcast {
                socket.set_broadcast(true)?;
            }
            sockets.push(socket);
        }
        Self::from_sockets(sockets, config)
    }

    /// Starts a node on a bound socket.
    ///
    /// # Errors
    /// The socket is not bound to an IPv4 address.
    pub fn from_socket(socket: UdpSocket, config: ClientConfig) -> io::Result<Self> {
        Self::from_sockets(vec![socket], config)
    }

    /// Starts a node on bound sockets, one per local address; the first
    /// sends what has no [`Transmit::source`](crate::client::Transmit::source)
    /// of its own.
    ///
    /// # Errors
    /// No socket, a socket not bound to an IPv4 address, or two bound to
    /// the same address.
    pub fn from_sockets(sockets: Vec<UdpSocket>, config: ClientConfig) -> io::Result<Self> {
        let invalid = |what| io::Error::new(io::ErrorKind::InvalidInput, what);
        let mut locals = Vec::with_capacity(sockets.len());
        for s in &sockets {
            let SocketAddr::V4(local) = s.local_addr()? else {
                return Err(invalid("NetBIOS name service is IPv4 only"));
            };
            if locals.iter().any(|l: &SocketAddrV4| l.ip() == local.ip()) {
                return Err(invalid("two sockets on one local address"));
            }
            locals.push(local);
        }
        if config.broadcast.is_some() {
            // Broadcast registrations and releases (B, M and H nodes).
            for s in &sockets {
                s.set_broadcast(true)?;
            }
        }
        if sockets.is_empty() {
            return Err(invalid("a name node needs a socket"));
        }
        let (commands, rx) = mpsc::channel(64);
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let shutdown_bound = shutdown_bound(&config);
        let sent = Arc::new(AtomicU64::new(0));
        let driver = Driver {
            sent: Arc::clone(&sent),
            client: NameClient::new(config, OsRandomIds::new()),
            sockets,
            next_socket: 0,
            commands: rx,
            events: events.clone(),
            registering: HashMap::new(),
            releasing: HashMap::new(),
            reregistering: Vec::new(),
            dropping: HashSet::new(),
            shutdown: None,
            shutdown_bound,
            detached: None,
        };
        ::tokio::spawn(driver.run());
        Ok(Self {
            commands,
            events,
            locals,
            sent,
        })
    }

    /// The (first) socket's local address.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddrV4 {
        self.locals
            .first()
            .copied()
            .unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))
    }

    /// The local address of every socket, in order.
    #[must_use]
    pub fn local_addrs(&self) -> &[SocketAddrV4] {
        &self.locals
    }

    /// A stream of everything the client reports, from now on: refreshes
    /// and their failures, conflicts found while a name is held, releases,
    /// re-register-all progress, and the outcomes `register` and friends
    /// also return. A [`broadcast`] receiver: any number may subscribe;
    /// one that falls [`EVENT_CAPACITY`] events behind loses the oldest.
    #[must_use]
    pub fn events(&self) -> broadcast::Receiver<ClientEvent> {
        self.events.subscribe()
    }

    /// Registers a name and waits for the outcome. Returns once a server
    /// granted it, refused it, or every server stayed silent through the
    /// configured retries (with the defaults, 4.5 s a server).
    ///
    /// # Errors
    /// [`RegisterError`]; on every error the name is not held.
    pub async fn register(&self, spec: NameSpec<'_>) -> Result<Registration, RegisterError> {
        let (reply, rx) = oneshot::channel();
        let name = OwnedName::from_name(spec.name);
        self.send(Command::Register {
            name,
            group: spec.group,
            addresses: spec.addresses.to_vec(),
            reply,
        })
        .await
        .map_err(|()| RegisterError::Closed)?;
        rx.await.unwrap_or(Err(RegisterError::Closed))
    }

    /// Takes over a name already registered at the primary WINS server,
    /// for instance by an earlier run of the same program, with `ttl` as
    /// the TTL that server granted: nothing is sent now
    /// ([`NameClient::adopt_name`]). This is how a short-lived tool
    /// releases ([`release`](Self::release)) or re-registers
    /// ([`reregister_all`](Self::reregister_all)) names a previous process
    /// registered.
    ///
    /// # Errors
    /// [`RegisterError::Invalid`] when the client refuses the name,
    /// [`RegisterError::Closed`] after a shutdown.
    pub async fn adopt(&self, spec: NameSpec<'_>, ttl: u32) -> Result<(), RegisterError> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Adopt {
            name: OwnedName::from_name(spec.name),
            group: spec.group,
            addresses: spec.addresses.to_vec(),
            ttl,
            reply,
        })
        .await
        .map_err(|()| RegisterError::Closed)?;
        rx.await.unwrap_or(Err(RegisterError::Closed))
    }

    /// Refreshes every registered name now instead of at its scheduled
    /// time ([`NameClient::refresh_now`]); the outcomes reach the
    /// [`events`](Self::events) stream. Does nothing after a shutdown.
    pub async fn refresh_now(&self) {
        let _ = self.send(Command::Refresh).await;
    }

    /// Datagrams the node has sent so far (requests, retransmissions and
    /// answers); still readable after a shutdown.
    #[must_use]
    pub fn datagrams_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Releases a name at every server holding it and waits for their
    /// answers (or their silence through the retries).
    ///
    /// # Errors
    /// [`ReleaseError::NotHeld`] for a name the node does not hold.
    pub async fn release(&self, name: Name<'_>) -> Result<ReleaseOutcome, ReleaseError> {
        let (reply, rx) = oneshot::channel();
        let name = OwnedName::from_name(name);
        self.send(Command::Release { name, reply })
            .await
            .map_err(|()| ReleaseError::Closed)?;
        rx.await.unwrap_or(Err(ReleaseError::Closed))
    }

    /// Re-registers every name (`nbtstat -RR`): releases them, then
    /// registers them again, and returns each name's outcome once every
    /// name has one.
    ///
    /// # Errors
    /// [`ReregisterError::Cooldown`] with the time left within
    /// [`reregister_cooldown`](ClientConfig::reregister_cooldown) of the
    /// previous one.
    pub async fn reregister_all(&self) -> Result<Vec<ReregisterOutcome>, ReregisterError> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Reregister { reply })
            .await
            .map_err(|()| ReregisterError::Closed)?;
        rx.await.unwrap_or(Err(ReregisterError::Closed))
    }

    /// The names held and their states (empty once the node has shut
    /// down).
    pub async fn names(&self) -> Vec<HeldName> {
        let (reply, rx) = oneshot::channel();
        if self.send(Command::Names { reply }).await.is_err() {
            return Vec::new();
        }
        rx.await.unwrap_or_default()
    }

    /// Releases every name, waits for the servers' answers (at most the
    /// time the client's retries take, plus a second) and ends the node.
    /// Returns how each release ended; a name whose release had not ended
    /// by then is [`ReleaseOutcome::Unconfirmed`]. Other handles' calls
    /// then return their `Closed` errors.
    pub async fn shutdown(&self) -> Vec<(OwnedName, ReleaseOutcome)> {
        let (reply, rx) = oneshot::channel();
        if self.send(Command::Shutdown { reply }).await.is_err() {
            return Vec::new();
        }
        rx.await.unwrap_or_default()
    }

    /// Ends the node without releasing its names: they stay registered at
    /// the servers until their TTL runs out. Datagrams the client had
    /// queued still leave; nothing after this returns. For
    /// a program that registers names and exits, leaving them to a later
    /// run ([`adopt`](Self::adopt)), as `nbtstat --register` does. Other
    /// handles' calls then return their `Closed` errors.
    pub async fn detach(&self) {
        let (reply, rx) = oneshot::channel();
        if self.send(Command::Detach { reply }).await.is_ok() {
            let _ = rx.await;
        }
    }

    async fn send(&self, command: Command) -> Result<(), ()> {
        self.commands.send(command).await.map_err(|_| ())
    }
}

/// How long a shutdown waits for the release answers: one release's
/// retries at every server, the broadcast release's sends, plus a second.
fn shutdown_bound(config: &ClientConfig) -> Duration {
    let servers = config.servers.len().clamp(1, ClientConfig::MAX_SERVERS) as u32;
    let tries = u32::from(config.retries_per_server.max(1));
    let broadcast = if config.broadcast.is_some() {
        config
            .broadcast_retry_interval
            .max(Duration::from_millis(1))
            * u32::from(config.broadcast_retries.max(1))
    } else {
        Duration::ZERO
    };
    config.retry_interval.max(Duration::from_millis(1)) * tries * servers
        + broadcast
        + Duration::from_secs(1)
}

/// A receive error that reports an ICMP error for an earlier datagram,
/// not a broken socket.
pub(super) fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

fn local_ip(s: &UdpSocket) -> Option<Ipv4Addr> {
    match s.local_addr() {
        Ok(SocketAddr::V4(a)) => Some(*a.ip()),
        _ => None,
    }
}

/// Receives from whichever socket has a datagram (cancellation-safe: a
/// datagram is taken only when this returns), starting at `*next` in turn.
async fn recv_any(
    sockets: &[UdpSocket],
    next: &mut usize,
    buf: &mut [u8],
) -> io::Result<(usize, SocketAddr)> {
    core::future::poll_fn(|cx| {
        let n = sockets.len();
        for k in 0..n {
            let i = (*next + k) % n;
            let Some(s) = sockets.get(i) else { continue };
            let mut rb = ::tokio::io::ReadBuf::new(buf);
            if let core::task::Poll::Ready(r) = s.poll_recv_from(cx, &mut rb) {
                *next = (i + 1) % n;
                return core::task::Poll::Ready(r.map(|from| (rb.filled().len(), from)));
            }
        }
        core::task::Poll::Pending
    })
    .await
}

struct Shutdown {
    deadline: TokioInstant,
    replies: Vec<oneshot::Sender<Vec<(OwnedName, ReleaseOutcome)>>>,
    outcomes: Vec<(OwnedName, ReleaseOutcome)>,
    pending: Vec<OwnedName>,
}

struct Driver {
    client: NameClient<OsRandomIds>,
    sent: Arc<AtomicU64>,
    /// Never empty.
    sockets: Vec<UdpSocket>,
    /// Where the next receive starts looking, so that no socket starves
    /// the others.
    next_socket: usize,
    commands: mpsc::Receiver<Command>,
    events: broadcast::Sender<ClientEvent>,
    registering: HashMap<OwnedName, oneshot::Sender<Result<Registration, RegisterError>>>,
    releasing: HashMap<OwnedName, Vec<oneshot::Sender<Result<ReleaseOutcome, ReleaseError>>>>,
    reregistering: Vec<oneshot::Sender<Result<Vec<ReregisterOutcome>, ReregisterError>>>,
    /// Names whose registration failed and that are being dropped: their
    /// `Released` event is not news.
    dropping: HashSet<OwnedName>,
    shutdown: Option<Shutdown>,
    shutdown_bound: Duration,
    /// Set by [`NameNode::detach`]: end without releasing.
    detached: Option<oneshot::Sender<()>>,
}

fn now() -> std::time::Instant {
    TokioInstant::now().into_std()
}

impl Driver {
    async fn run(mut self) {
        let mut buf = [0u8; 1500];
        let mut commands_open = true;
        loop {
            self.drain().await;
            if let Some(reply) = self.detached.take() {
                let _ = reply.send(());
                return;
            }
            if let Some(s) = &self.shutdown
                && (s.pending.is_empty() || TokioInstant::now() >= s.deadline)
            {
                break;
            }
            let deadline = self.client.poll_timeout().map(TokioInstant::from_std);
            let shutdown_at = self.shutdown.as_ref().map(|s| s.deadline);
            ::tokio::select! {
                r = recv_any(&self.sockets, &mut self.next_socket, &mut buf) => match r {
                    Ok((n, SocketAddr::V4(from))) => {
                        let data = buf.get(..n).unwrap_or_default();
                        self.client.handle_datagram(now(), from, data);
                    }
                    Ok(_) => {}
                    Err(e) if is_transient(&e) => {}
                    Err(_) => break,
                },
                c = self.commands.recv(), if commands_open => match c {
                    Some(c) => self.command(c),
                    None => {
                        commands_open = false;
                        self.begin_shutdown(None);
                    }
                },
                () = sleep_until(deadline.unwrap_or_else(TokioInstant::now)), if deadline.is_some() => {
                    self.client.handle_timeout(now());
                }
                () = sleep_until(shutdown_at.unwrap_or_else(TokioInstant::now)), if shutdown_at.is_some() => {}
            }
        }
        if let Some(s) = self.shutdown.take() {
            let mut outcomes = s.outcomes;
            outcomes.extend(
                s.pending
                    .into_iter()
                    .map(|n| (n, ReleaseOutcome::Unconfirmed)),
            );
            for reply in s.replies {
                let _ = reply.send(outcomes.clone());
            }
        }
    }

    /// Sends every transmit and dispatches every event.
    async fn drain(&mut self) {
        loop {
            while let Some(t) = self.client.poll_transmit() {
                // A lost datagram: the client retransmits requests.
                let socket = t
                    .source
                    .and_then(|ip| self.sockets.iter().find(|s| local_ip(s) == Some(ip)))
                    .or(self.sockets.first());
                if let Some(socket) = socket
                    && socket
                        .send_to(&t.contents, SocketAddr::V4(t.destination))
                        .await
                        .is_ok()
                {
                    self.sent.fetch_add(1, Ordering::Relaxed);
                }
            }
            let Some(event) = self.client.poll_event() else {
                break;
            };
            self.event(event);
        }
    }

    fn command(&mut self, command: Command) {
        let now = now();
        match command {
            Command::Register { reply, .. } if self.shutdown.is_some() => {
                let _ = reply.send(Err(RegisterError::Closed));
            }
            Command::Adopt { reply, .. } if self.shutdown.is_some() => {
                let _ = reply.send(Err(RegisterError::Closed));
            }
            Command::Register {
                name,
                group,
                addresses,
                reply,
            } => match self.client.add_name(now, spec(&name, group, &addresses)) {
                Ok(()) => {
                    if let Some(info) = self.client.name_state(name.name())
                        && info == NameState::Local
                    {
                        let _ = reply.send(Ok(Registration {
                            name,
                            server: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0),
                            ttl: 0,
                        }));
                    } else {
                        self.registering.insert(name, reply);
                    }
                }
                Err(e) => {
                    let _ = reply.send(Err(e.into()));
                }
            },
            Command::Adopt {
                name,
                group,
                addresses,
                ttl,
                reply,
            } => {
                let spec = spec(&name, group, &addresses);
                let _ = reply.send(self.client.adopt_name(now, spec, ttl).map_err(Into::into));
            }
            Command::Refresh => self.client.refresh_now(now),
            Command::Release { name, reply } => {
                if self.client.release(now, name.name()) {
                    self.releasing.entry(name).or_default().push(reply);
                } else {
                    let _ = reply.send(Err(ReleaseError::NotHeld));
                }
            }
            Command::Reregister { reply } => match self.client.reregister_all(now) {
                Ok(()) => self.reregistering.push(reply),
                Err(e) => {
                    let _ = reply.send(Err(e.into()));
                }
            },
            Command::Names { reply } => {
                let names = self
                    .client
                    .names()
                    .map(|i| HeldName {
                        name: OwnedName::from_name(i.name),
                        group: i.group,
                        state: i.state,
                        ttl: i.ttl,
                    })
                    .collect();
                let _ = reply.send(names);
            }
            Command::Shutdown { reply } => self.begin_shutdown(Some(reply)),
            Command::Detach { reply } => self.detached = Some(reply),
        }
    }

    fn begin_shutdown(&mut self, reply: Option<oneshot::Sender<Vec<(OwnedName, ReleaseOutcome)>>>) {
        let s = self.shutdown.get_or_insert_with(|| Shutdown {
            deadline: TokioInstant::now() + self.shutdown_bound,
            replies: Vec::new(),
            outcomes: Vec::new(),
            pending: Vec::new(),
        });
        s.replies.extend(reply);
        if s.pending.is_empty() && s.outcomes.is_empty() {
            s.pending = self
                .client
                .names()
                .map(|i| OwnedName::from_name(i.name))
                .collect();
            self.client.release_all(now());
        }
    }

    fn fail(&mut self, name: &OwnedName, error: RegisterError) {
        if let Some(reply) = self.registering.remove(name) {
            let _ = reply.send(Err(error));
            if self.client.release(now(), name.name()) {
                self.dropping.insert(name.clone());
            }
        }
    }

    fn event(&mut self, event: ClientEvent) {
        match &event {
            ClientEvent::Registered { name, server, ttl } => {
                if let Some(reply) = self.registering.remove(name) {
                    let _ = reply.send(Ok(Registration {
                        name: name.clone(),
                        server: *server,
                        ttl: *ttl,
                    }));
                }
            }
            ClientEvent::RegistrationRefused {
                name,
                server,
                rcode,
            } => {
                let (server, rcode) = (*server, *rcode);
                let error = if matches!(rcode, Rcode::Active | Rcode::Conflict) {
                    RegisterError::Conflict { server, rcode }
                } else {
                    RegisterError::Refused { server, rcode }
                };
                self.fail(name, error);
            }
            ClientEvent::OwnerDefended { name, owner } => {
                self.fail(name, RegisterError::OwnerDefended { owner: *owner });
            }
            ClientEvent::NoServerAnswered { name } => {
                // An H-node goes on to claim the name by broadcast.
                let claiming = matches!(
                    self.client.name_state(name.name()),
                    Some(NameState::Claiming | NameState::Claimed)
                );
                if !claiming {
                    self.fail(name, RegisterError::NoServerAnswered);
                }
            }
            ClientEvent::Claimed { name } => {
                if let Some(reply) = self.registering.remove(name) {
                    let unspecified = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0);
                    let _ = reply.send(Ok(Registration {
                        name: name.clone(),
                        server: self.client.config().broadcast.unwrap_or(unspecified),
                        ttl: 0,
                    }));
                }
            }
            ClientEvent::Conflict { name, cause } => {
                self.fail(name, RegisterError::InConflict(*cause));
            }
            ClientEvent::Released { name, outcome } => {
                if self.dropping.remove(name) {
                    return;
                }
                for reply in self.releasing.remove(name).into_iter().flatten() {
                    let _ = reply.send(Ok(*outcome));
                }
                if let Some(s) = &mut self.shutdown
                    && let Some(i) = s.pending.iter().position(|n| n == name)
                {
                    s.pending.swap_remove(i);
                    s.outcomes.push((name.clone(), *outcome));
                }
            }
            ClientEvent::ReregistrationDone { outcomes } => {
                for reply in self.reregistering.drain(..) {
                    let _ = reply.send(Ok(outcomes.clone()));
                }
            }
            _ => {}
        }
        // No subscriber is not an error.
        let _ = self.events.send(event);
    }
}

/// The client's view of a name a command asks to hold.
fn spec<'a>(name: &'a OwnedName, group: bool, addresses: &'a [Ipv4Addr]) -> NameSpec<'a> {
    NameSpec {
        name: name.name(),
        group,
        addresses,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the kernel reports after a datagram to a port nobody listens
    /// on (seen on a connected socket; Linux reports it to an unconnected
    /// one only with `IP_RECVERR`, other systems do) is skipped, not fatal.
    #[::tokio::test]
    async fn icmp_port_unreachable_is_transient() {
        let dead = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let dead_addr = dead.local_addr().unwrap();
        drop(dead);
        let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        s.connect(dead_addr).await.unwrap();
        s.send(b"x").await.unwrap();
        let mut buf = [0u8; 16];
        let e = s.recv(&mut buf).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
        assert!(is_transient(&e));
        assert!(!is_transient(&io::Error::from(io::ErrorKind::InvalidInput)));
    }
}
