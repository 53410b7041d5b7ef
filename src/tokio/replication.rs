//! The TCP side of a [`ServerRunner`](super::ServerRunner): WINS
//! replication (MS-WINSRA, TCP port 42) by a sans-IO [`Partner`] whose
//! database is the runner's [`WinsServer`].
//!
//! Every connection has a task of its own that reads into 64 KiB chunks
//! (handed to the runner's task through one bounded channel, so a fast
//! peer waits rather than fills memory) and writes what the partner
//! sends. The partner itself frames the stream with the bounded
//! [`Framer`](crate::winsrepl::Framer) of each association.
//!
//! # Durability
//!
//! What the partner sends after an input may show the database as that
//! input left it: records not yet committed, a version counter not yet
//! durable. So its bytes (and its closes, which follow them) wait, tagged
//! with the sequence number of the last change made so far, until the
//! store has committed that change, exactly as the server holds its UDP
//! answers. Replicas and owner-version entries are changes of the server
//! like registrations and go through the same commits.
//!
//! # Bounds
//!
//! At most [`ReplicationConfig::max_connections`] connections (and as many
//! again closing) have a task; more are closed on arrival. The bytes
//! waiting for a connection (held for a commit, or not yet written) are
//! capped by [`ReplicationConfig::max_queued_bytes`]: a peer that does not
//! read is cut off, and so is one whose write stalls for
//! [`WRITE_TIMEOUT`]. Connecting to a partner times out after
//! [`CONNECT_TIMEOUT`].

use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use core::sync::atomic::{AtomicUsize, Ordering};
use core::time::Duration;
use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::sync::Arc;
use std::time::Instant;

use ::tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use ::tokio::net::{TcpListener, TcpSocket, TcpStream};
use ::tokio::sync::{broadcast, mpsc};
use ::tokio::task::{AbortHandle, JoinSet};
use ::tokio::time::timeout;

use crate::server::{IdSource as _, OsRandomIds, WinsServer};
use crate::winsrepl::{ConnectionId, Partner, PartnerEvent, ReplicationConfig};

/// How long opening a connection to a partner may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one write to a peer may stall before its connection is cut.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a stopping runner waits for its connections to write what
/// they hold.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// Bytes read from a connection at a time.
const READ_CHUNK: usize = 64 << 10;
/// Chunks and reports waiting for the runner's task, all connections
/// together.
const INPUT_QUEUE: usize = 64;

/// What a connection's task or a connect reports.
#[derive(Debug)]
pub(super) enum Input {
    Received(ConnectionId, Vec<u8>),
    /// The peer closed its side, or the connection broke.
    Closed(ConnectionId),
    Connected(SocketAddrV4, io::Result<TcpStream>),
}

/// What the runner's task tells a connection's task.
enum Command {
    Send(Vec<u8>),
    /// Write what came before, then close.
    Close,
}

/// A connection seen from the runner's task.
struct Conn {
    commands: mpsc::UnboundedSender<Command>,
    /// Bytes held for a commit or not yet written.
    waiting: Arc<AtomicUsize>,
    task: AbortHandle,
}

/// Output of the partner waiting for the commit of change `seq`.
enum Held {
    Send(ConnectionId, Vec<u8>),
    Close(ConnectionId),
}

/// The replication side of a runner.
pub(super) struct Replication {
    listener: Option<TcpListener>,
    partner: Partner,
    conns: BTreeMap<ConnectionId, Conn>,
    tasks: JoinSet<()>,
    inputs_tx: mpsc::Sender<Input>,
    inputs: mpsc::Receiver<Input>,
    held: VecDeque<(u64, Held)>,
    next_conn: u64,
    /// The version counter the partner last heard of.
    told: u64,
    owner: Ipv4Addr,
    max_conns: usize,
    max_waiting: usize,
    events: broadcast::Sender<PartnerEvent>,
}

impl Replication {
    /// The partner of `config` over `server` (replication enabled on it),
    /// listening on `listener` if there is one.
    pub(super) fn new(
        listener: Option<TcpListener>,
        config: ReplicationConfig,
        server: &mut WinsServer,
        events: broadcast::Sender<PartnerEvent>,
    ) -> Self {
        server.enable_replication();
        let mut ids = OsRandomIds::new();
        let handles = move || (u32::from(ids.next_id()) << 16) | u32::from(ids.next_id());
        let owner = config.owner;
        let max_conns = config.max_connections;
        let max_waiting = config.max_queued_bytes;
        let partner = Partner::new(config, &*server, handles);
        let (inputs_tx, inputs) = mpsc::channel(INPUT_QUEUE);
        Self {
            listener,
            partner,
            conns: BTreeMap::new(),
            tasks: JoinSet::new(),
            inputs_tx,
            inputs,
            held: VecDeque::new(),
            next_conn: 1,
            told: server.version_counter(),
            owner,
            max_conns,
            max_waiting,
            events,
        }
    }

    /// The next deadline of the partner.
    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        self.partner.poll_timeout()
    }

    /// Runs the partner's timers due at `now`.
    pub(super) fn handle_timeout(&mut self, now: Instant) {
        if self.partner.poll_timeout().is_some_and(|t| t <= now) {
            self.partner.handle_timeout(now);
        }
    }

    /// Waits for a connection on the listener or an input from a
    /// connection (cancellation-safe: both are).
    pub(super) async fn next(&mut self) -> Next {
        let accept = async {
            match self.listener.as_ref() {
                Some(l) => l.accept().await,
                None => core::future::pending().await,
            }
        };
        ::tokio::select! {
            r = accept => Next::Accepted(r),
            i = self.inputs.recv() => match i {
                Some(i) => Next::Input(i),
                // The sender lives in `self`.
                None => core::future::pending().await,
            },
            // Reap the tasks of closed connections.
            Some(_) = self.tasks.join_next(), if !self.tasks.is_empty() => Next::Reaped,
        }
    }

    /// Handles what [`Replication::next`] returned.
    pub(super) fn handle(&mut self, next: Next, server: &mut WinsServer, now: Instant) {
        match next {
            Next::Accepted(Ok((stream, SocketAddr::V4(peer)))) => {
                if let Some(id) = self.add(stream) {
                    self.partner.handle_connected(id, peer, now);
                }
            }
            // An accept error (a connection reset before it was taken,
            // no file descriptors left) ends nothing but that connection.
            Next::Accepted(_) | Next::Reaped => {}
            Next::Input(Input::Received(id, bytes)) => {
                if self.conns.contains_key(&id) {
                    self.partner.handle_received(server, id, &bytes, now);
                }
            }
            Next::Input(Input::Closed(id)) => {
                if self.conns.remove(&id).is_some() {
                    self.partner.handle_closed(id, now);
                }
            }
            Next::Input(Input::Connected(peer, Ok(stream))) => match self.add(stream) {
                Some(id) => self.partner.handle_connected(id, peer, now),
                None => self.partner.handle_connect_failed(peer, now),
            },
            Next::Input(Input::Connected(peer, Err(_))) => {
                self.partner.handle_connect_failed(peer, now);
            }
        }
    }

    /// Drains the partner after an input: tells it when our version
    /// counter moved, starts the connections it asks for, and holds what
    /// it sends until change `seq` is committed.
    pub(super) fn drain(&mut self, server: &WinsServer, seq: u64, now: Instant) {
        if server.version_counter() != self.told {
            self.told = server.version_counter();
            self.partner.handle_db_changed(server, now);
        }
        while let Some(to) = self.partner.poll_connect() {
            let inputs = self.inputs_tx.clone();
            let from = self.owner;
            self.tasks.spawn(async move {
                let r = match timeout(CONNECT_TIMEOUT, connect_from(from, to)).await {
                    Ok(r) => r,
                    Err(_) => Err(io::ErrorKind::TimedOut.into()),
                };
                let _ = inputs.send(Input::Connected(to, r)).await;
            });
        }
        while let Some((id, bytes)) = self.partner.poll_send() {
            if let Some(c) = self.conns.get(&id) {
                c.waiting.fetch_add(bytes.len(), Ordering::Relaxed);
                self.held.push_back((seq, Held::Send(id, bytes)));
            }
        }
        while let Some(id) = self.partner.poll_close() {
            self.held.push_back((seq, Held::Close(id)));
        }
        while let Some(e) = self.partner.poll_event() {
            let _ = self.events.send(e);
        }
        self.cut_off_stalled(now);
    }

    /// Passes on what waited for changes up to `persisted`.
    pub(super) fn release(&mut self, persisted: u64) {
        while self.held.front().is_some_and(|(seq, _)| *seq <= persisted) {
            let Some((_, held)) = self.held.pop_front() else {
                break;
            };
            match held {
                Held::Send(id, bytes) => {
                    if let Some(c) = self.conns.get(&id) {
                        let _ = c.commands.send(Command::Send(bytes));
                    }
                }
                // The partner is done with it: its task writes what it
                // holds, closes, and ends (reaped by `next`).
                Held::Close(id) => {
                    if let Some(c) = self.conns.remove(&id) {
                        let _ = c.commands.send(Command::Close);
                    }
                }
            }
        }
    }

    /// Stops listening and closes every connection once it has written
    /// what it holds (bounded by [`CLOSE_GRACE`]); then ends the tasks.
    pub(super) async fn close_all(&mut self) {
        self.listener = None;
        for (_, c) in core::mem::take(&mut self.conns) {
            let _ = c.commands.send(Command::Close);
        }
        let all = async { while self.tasks.join_next().await.is_some() {} };
        if timeout(CLOSE_GRACE, all).await.is_err() {
            self.tasks.abort_all();
        }
    }

    /// A connection whose waiting bytes passed the cap is cut off.
    fn cut_off_stalled(&mut self, now: Instant) {
        let cap = self.max_waiting;
        let stalled: Vec<ConnectionId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.waiting.load(Ordering::Relaxed) > cap)
            .map(|(id, _)| *id)
            .collect();
        for id in stalled {
            if let Some(c) = self.conns.remove(&id) {
                c.task.abort();
                self.partner.handle_closed(id, now);
            }
        }
    }

    /// Starts the task of a new connection, if there is room.
    fn add(&mut self, stream: TcpStream) -> Option<ConnectionId> {
        // Tasks of connections still closing count too: twice the
        // partner's cap in all.
        if self.conns.len() >= self.max_conns || self.tasks.len() >= 2 * self.max_conns {
            return None;
        }
        let _ = stream.set_nodelay(true);
        let id = ConnectionId(self.next_conn);
        self.next_conn += 1;
        let (commands, rx) = mpsc::unbounded_channel();
        let waiting = Arc::new(AtomicUsize::new(0));
        let task = self.tasks.spawn(connection(
            id,
            stream,
            self.inputs_tx.clone(),
            rx,
            Arc::clone(&waiting),
        ));
        self.conns.insert(
            id,
            Conn {
                commands,
                waiting,
                task,
            },
        );
        Some(id)
    }
}

/// What woke the replication side.
#[derive(Debug)]
pub(super) enum Next {
    Accepted(io::Result<(TcpStream, SocketAddr)>),
    Input(Input),
    Reaped,
}

/// One connection: reads until the peer closes (then waits for the
/// runner's close), writes what it is given.
async fn connection(
    id: ConnectionId,
    stream: TcpStream,
    inputs: mpsc::Sender<Input>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    waiting: Arc<AtomicUsize>,
) {
    let (mut rd, mut wr) = stream.into_split();
    let reader = async {
        loop {
            let mut buf = vec![0; READ_CHUNK];
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    buf.truncate(n);
                    if inputs.send(Input::Received(id, buf)).await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = inputs.send(Input::Closed(id)).await;
        // The writer may still have the last answer to write.
        core::future::pending::<()>().await;
    };
    let writer = async {
        while let Some(c) = commands.recv().await {
            match c {
                Command::Send(bytes) => {
                    match timeout(WRITE_TIMEOUT, wr.write_all(&bytes)).await {
                        Ok(Ok(())) => {}
                        _ => return,
                    }
                    waiting.fetch_sub(bytes.len(), Ordering::Relaxed);
                }
                Command::Close => {
                    let _ = timeout(WRITE_TIMEOUT, wr.shutdown()).await;
                    return;
                }
            }
        }
    };
    ::tokio::select! {
        () = reader => {}
        () = writer => {}
    }
    // Unknown to the runner if it closed the connection itself.
    let _ = inputs.send(Input::Closed(id)).await;
}

/// A connection to `to` from our owner address `local` (partners know us
/// by it; on loopback, where every 127.0.0.x reaches the others, the
/// kernel would pick 127.0.0.1), or from any address when `local` is not
/// one of ours.
async fn connect_from(local: Ipv4Addr, to: SocketAddrV4) -> io::Result<TcpStream> {
    if !local.is_unspecified() {
        let s = TcpSocket::new_v4()?;
        if s.bind(SocketAddr::V4(SocketAddrV4::new(local, 0))).is_ok() {
            return s.connect(SocketAddr::V4(to)).await;
        }
    }
    TcpStream::connect(SocketAddr::V4(to)).await
}
