//! [`ServerRunner`]: a [`WinsServer`] on a tokio UDP socket (and, for
//! WINS replication, TCP), with its durable changes committed before
//! their answers leave.

use core::net::{SocketAddr, SocketAddrV4};
use core::ops::ControlFlow;
use core::time::Duration;
use std::io;

use ::tokio::net::{TcpListener, UdpSocket};
use ::tokio::sync::{broadcast, oneshot};
use ::tokio::task::JoinHandle;
use ::tokio::time::{Instant as TokioInstant, sleep_until};

use crate::server::{Change, Durability, ServerEvent, WinsServer};
use crate::winsrepl::{PartnerEvent, ReplicationConfig};

use super::node::{EVENT_CAPACITY, is_transient};
use super::replication::Replication;

/// A store's reason for refusing a batch.
pub type StoreFailure = Box<dyn core::error::Error + Send + Sync>;

/// Where a [`ServerRunner`] commits the server's durable changes
/// ([`WinsServer::poll_change`]). [`commit`](Self::commit) runs on a
/// blocking thread ([`spawn_blocking`](::tokio::task::spawn_blocking)),
/// one batch at a time: the changes made while a batch commits form the
/// next batch (group commit).
pub trait Persist: Send + 'static {
    /// Applies `batch`, in order, durably: when this returns `Ok`, every
    /// change of the batch survives a crash.
    ///
    /// # Errors
    /// Nothing of the batch may be counted as stored. The runner stops,
    /// or, with [`RunnerBuilder::retry_commits`], commits the batch again
    /// later (with the changes made meanwhile after it).
    fn commit(&mut self, batch: &[Change]) -> Result<(), StoreFailure>;

    /// Whether the store has work of its own to do while no change waits
    /// (for a [`Store`](crate::store::Store): a log to fold into its
    /// tables). While it says so and no change waits, the runner calls
    /// [`commit`](Self::commit) with an empty batch, one call at a time,
    /// each to do a bounded step of that work; changes made meanwhile wait
    /// for the step. A step that fails is not retried until a batch has
    /// been committed.
    fn has_idle_work(&self) -> bool {
        false
    }
}

#[cfg(feature = "redb")]
#[cfg_attr(docsrs, doc(cfg(feature = "redb")))]
impl Persist for crate::store::Store {
    fn commit(&mut self, batch: &[Change]) -> Result<(), StoreFailure> {
        Self::commit(self, batch).map_err(Into::into)
    }

    fn has_idle_work(&self) -> bool {
        self.unfolded() > 0
    }
}

/// Why a [`ServerRunner`] stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunnerError {
    /// The socket failed (not an ICMP report, which is skipped).
    #[error("socket: {0}")]
    Socket(#[from] io::Error),
    /// The store refused a batch; nothing of it was acknowledged.
    #[error("store: {0}")]
    Store(StoreFailure),
    /// At shutdown the store kept refusing for
    /// [`CommitRetry::at_shutdown`]: `changes` were never committed (and
    /// never acknowledged).
    #[error("{changes} changes could not be committed: {last}")]
    Uncommitted {
        /// Changes lost.
        changes: usize,
        /// The store's last refusal.
        last: StoreFailure,
    },
    /// The runner's task panicked or was cancelled.
    #[error("the runner's task ended abnormally")]
    Task,
}

/// How a [`ServerRunner`] retries a batch its [`Persist`] store refused
/// ([`RunnerBuilder::retry_commits`]): after `first`, then after twice
/// the previous wait up to `max`. Answers that wait for the batch stay
/// held, queries are answered meanwhile, and the server's cap on
/// unpersisted changes ([`ServerConfig::max_unpersisted`](crate::server::ServerConfig::max_unpersisted))
/// drops registrations beyond it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CommitRetry {
    /// The first wait.
    pub first: Duration,
    /// The longest wait.
    pub max: Duration,
    /// How long the final commit of [`ServerRunner::shutdown`] is retried
    /// before the changes are given up ([`RunnerError::Uncommitted`]).
    pub at_shutdown: Duration,
}

impl Default for CommitRetry {
    /// 20 ms doubling up to 2 s; 10 s at shutdown.
    fn default() -> Self {
        Self {
            first: Duration::from_millis(20),
            max: Duration::from_secs(2),
            at_shutdown: Duration::from_secs(10),
        }
    }
}

/// A look at each datagram before the server handles it; `Break` makes
/// it the last one received (the runner then stops as for
/// [`ServerRunner::shutdown`]).
pub type Inspect = Box<dyn FnMut(SocketAddrV4, &[u8]) -> ControlFlow<()> + Send>;

/// A [`WinsServer`] served over one UDP socket by a task of its own.
///
/// The task follows the server's polling order: after every datagram or
/// timeout it sends the transmits, publishes the events and hands the
/// durable changes to the [`Persist`] store; once a batch is committed it
/// calls [`WinsServer::handle_persisted`], which releases the answers
/// that waited for it. It sleeps until a datagram, a commit or the
/// server's next deadline. With no store the server must be
/// [`Durability::Volatile`].
///
/// With [`RunnerBuilder::replication`] the same task is a WINS
/// replication partner (MS-WINSRA, TCP port 42): it accepts partners'
/// connections, opens its own, and drives a
/// [`Partner`](crate::winsrepl::Partner) whose database is the server.
/// Replicas and owner-version entries are changes like any other, and
/// what the partner sends after an input waits for the commit of the
/// changes made so far, as UDP answers do. Non-partners get a stop and
/// their connection is closed.
///
/// Dropping the runner without [`shutdown`](Self::shutdown) aborts its
/// task: changes not yet committed are lost, and were never acknowledged.
#[derive(Debug)]
pub struct ServerRunner {
    local: SocketAddr,
    replication: Option<SocketAddr>,
    events: broadcast::Sender<ServerEvent>,
    partner_events: broadcast::Sender<PartnerEvent>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<WinsServer, RunnerError>>,
}

type Sink = Box<dyn Persist>;

/// The options of a [`ServerRunner`], from [`ServerRunner::builder`].
pub struct RunnerBuilder {
    socket: UdpSocket,
    server: WinsServer,
    store: Option<Sink>,
    retry: Option<CommitRetry>,
    replication: Option<(Option<TcpListener>, ReplicationConfig)>,
    inspect: Option<Inspect>,
}

impl core::fmt::Debug for RunnerBuilder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RunnerBuilder")
            .field("socket", &self.socket)
            .field("store", &self.store.is_some())
            .field("retry", &self.retry)
            .field("replication", &self.replication.as_ref().map(|r| &r.1))
            .finish_non_exhaustive()
    }
}

impl RunnerBuilder {
    /// Commits the server's changes to `store` (needed unless the server
    /// is [`Durability::Volatile`]).
    #[must_use]
    pub fn store(mut self, store: impl Persist) -> Self {
        self.store = Some(Box::new(store));
        self
    }

    /// Retries refused batches as `retry` says, instead of stopping.
    #[must_use]
    pub const fn retry_commits(mut self, retry: CommitRetry) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Replicates with the partners of `config` (its `owner` should be the
    /// server's [`ServerConfig::address`](crate::server::ServerConfig::address)),
    /// accepting their connections on `listener` (`None`: connect to them
    /// only). Turns on [`WinsServer::enable_replication`].
    #[must_use]
    pub fn replication(mut self, listener: Option<TcpListener>, config: ReplicationConfig) -> Self {
        self.replication = Some((listener, config));
        self
    }

    /// Calls `inspect` with each datagram before the server handles it
    /// (to log requests, or to stop after a number of them).
    #[must_use]
    pub fn inspect_datagrams(
        mut self,
        inspect: impl FnMut(SocketAddrV4, &[u8]) -> ControlFlow<()> + Send + 'static,
    ) -> Self {
        self.inspect = Some(Box::new(inspect));
        self
    }

    /// Starts the runner's task.
    ///
    /// # Errors
    /// A socket's local address cannot be read.
    pub fn spawn(self) -> io::Result<ServerRunner> {
        let mut server = self.server;
        let local = self.socket.local_addr()?;
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let (partner_events, _) = broadcast::channel(EVENT_CAPACITY);
        let (stop, stopped) = oneshot::channel();
        let mut replication = None;
        let mut repl_addr = None;
        if let Some((listener, config)) = self.replication {
            if let Some(l) = &listener {
                repl_addr = Some(l.local_addr()?);
            }
            replication = Some(Replication::new(
                listener,
                config,
                &mut server,
                partner_events.clone(),
            ));
        }
        let task = Task {
            socket: self.socket,
            server,
            store: self.store,
            retry: self.retry,
            inspect: self.inspect,
            replication,
            events: events.clone(),
        };
        let task = ::tokio::spawn(task.run(stopped));
        Ok(ServerRunner {
            local,
            replication: repl_addr,
            events,
            partner_events,
            stop: Some(stop),
            task,
        })
    }
}

impl ServerRunner {
    /// Serves `server` on `socket`, committing its changes to `store`
    /// (`None` for a [`Durability::Volatile`] server); the first refused
    /// batch stops the runner. [`ServerRunner::builder`] has the other
    /// options.
    ///
    /// # Errors
    /// The socket's local address cannot be read.
    pub fn spawn(
        socket: UdpSocket,
        server: WinsServer,
        store: Option<Box<dyn Persist>>,
    ) -> io::Result<Self> {
        let mut b = Self::builder(socket, server);
        b.store = store;
        b.spawn()
    }

    /// A runner of `server` on `socket`, to configure before
    /// [`RunnerBuilder::spawn`].
    #[must_use]
    pub fn builder(socket: UdpSocket, server: WinsServer) -> RunnerBuilder {
        RunnerBuilder {
            socket,
            server,
            store: None,
            retry: None,
            replication: None,
            inspect: None,
        }
    }

    /// The socket's local address.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The local address of the replication listener, if there is one.
    #[must_use]
    pub fn replication_addr(&self) -> Option<SocketAddr> {
        self.replication
    }

    /// Changes to the database from now on ([`WinsServer::poll_event`]),
    /// as a [`broadcast`] receiver.
    #[must_use]
    pub fn events(&self) -> broadcast::Receiver<ServerEvent> {
        self.events.subscribe()
    }

    /// What the replication partner reports from now on (associations,
    /// pulls, notifications, refusals), as a [`broadcast`] receiver;
    /// nothing without [`RunnerBuilder::replication`].
    #[must_use]
    pub fn replication_events(&self) -> broadcast::Receiver<PartnerEvent> {
        self.partner_events.subscribe()
    }

    /// Stops receiving, commits the changes still waiting (a final
    /// commit), sends the answers they release, closes the replication
    /// connections once they have written what they hold (bounded), and
    /// returns the server.
    ///
    /// # Errors
    /// Why the runner had stopped, or the final commit failed.
    pub async fn shutdown(mut self) -> Result<WinsServer, RunnerError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.map_err(|_| RunnerError::Task)?
    }
}

impl Drop for ServerRunner {
    fn drop(&mut self) {
        if self.stop.is_some() {
            self.task.abort();
        }
    }
}

/// A commit under way: the store back, the batch, the result.
type Commit = JoinHandle<(Sink, Vec<Change>, Result<(), StoreFailure>)>;

fn now() -> std::time::Instant {
    TokioInstant::now().into_std()
}

/// Starts committing `batch` on a blocking thread.
fn commit(mut sink: Sink, batch: Vec<Change>) -> Commit {
    ::tokio::task::spawn_blocking(move || {
        let r = sink.commit(&batch);
        (sink, batch, r)
    })
}

/// A refused batch waiting for its next attempt.
struct Retrying {
    batch: Vec<Change>,
    at: TokioInstant,
    wait: Duration,
    last: StoreFailure,
}

/// The runner's task and what it owns.
struct Task {
    socket: UdpSocket,
    server: WinsServer,
    store: Option<Sink>,
    retry: Option<CommitRetry>,
    inspect: Option<Inspect>,
    replication: Option<Replication>,
    events: broadcast::Sender<ServerEvent>,
}

impl Task {
    async fn run(mut self, mut stopped: oneshot::Receiver<()>) -> Result<WinsServer, RunnerError> {
        let mut buf = [0u8; 1500];
        let mut batch: Vec<Change> = Vec::new();
        let mut committing: Option<Commit> = None;
        let mut retrying: Option<Retrying> = None;
        // Whether the store's idle work may be started (not after a step
        // failed, until a batch commits).
        let mut idle_ok = true;
        // When shutdown began.
        let mut stopping: Option<TokioInstant> = None;
        // The last change made, and the last one committed.
        let (mut made, mut persisted) = (0u64, 0u64);
        // Without a durable store nothing waits for a commit.
        let holds = self.server.config().durability == Durability::Durable;
        loop {
            // Outputs: transmits, events, changes; then the partner's
            // output, held for the changes made so far; then commits.
            while let Some(t) = self.server.poll_transmit() {
                let _ = self
                    .socket
                    .send_to(&t.contents, SocketAddr::V4(t.destination))
                    .await;
            }
            while let Some(e) = self.server.poll_event() {
                let _ = self.events.send(e);
            }
            while let Some(c) = self.server.poll_change() {
                made = made.max(c.seq);
                batch.push(c);
            }
            if let Some(r) = &mut self.replication {
                r.drain(&self.server, if holds { made } else { 0 }, now());
                r.release(if holds { persisted } else { u64::MAX });
            }
            if committing.is_none() {
                let due = retrying
                    .as_ref()
                    .is_none_or(|r| r.at <= TokioInstant::now());
                if due {
                    // A refused batch goes first, with what came since.
                    let mut todo = retrying
                        .as_mut()
                        .map(|r| core::mem::take(&mut r.batch))
                        .unwrap_or_default();
                    todo.append(&mut batch);
                    if !todo.is_empty() {
                        match self.store.take() {
                            Some(sink) => committing = Some(commit(sink, todo)),
                            // A volatile server reports no change.
                            None => retrying = None,
                        }
                    } else if retrying.is_none()
                        && stopping.is_none()
                        && idle_ok
                        && self.store.as_ref().is_some_and(|s| s.has_idle_work())
                        && let Some(sink) = self.store.take()
                    {
                        committing = Some(commit(sink, todo));
                    }
                }
            }
            if let Some(since) = stopping
                && committing.is_none()
            {
                let waiting = retrying.as_ref().map_or(0, |r| r.batch.len()) + batch.len();
                let limit = self.retry.map_or(Duration::ZERO, |r| r.at_shutdown);
                if waiting == 0 || since.elapsed() >= limit {
                    if let Some(r) = &mut self.replication {
                        r.release(u64::MAX);
                        r.close_all().await;
                    }
                    return match retrying {
                        Some(r) if waiting > 0 => Err(RunnerError::Uncommitted {
                            changes: waiting,
                            last: r.last,
                        }),
                        _ => Ok(self.server),
                    };
                }
            }
            let deadline = [
                self.server.poll_timeout(),
                self.replication
                    .as_ref()
                    .and_then(Replication::poll_timeout),
            ]
            .into_iter()
            .flatten()
            .min()
            .map(TokioInstant::from_std);
            let retry_at = retrying
                .as_ref()
                .filter(|_| committing.is_none())
                .map(|r| r.at);
            let live = stopping.is_none();
            ::tokio::select! {
                r = self.socket.recv_from(&mut buf), if live => match r {
                    Ok((n, SocketAddr::V4(from))) => {
                        let data = buf.get(..n).unwrap_or_default();
                        let go = self.inspect.as_mut().map_or(ControlFlow::Continue(()), |f| f(from, data));
                        self.server.handle_datagram(now(), from, data);
                        if go.is_break() {
                            stopping = Some(TokioInstant::now());
                        }
                    }
                    Ok(_) => {}
                    Err(e) if is_transient(&e) => {}
                    Err(e) => return Err(e.into()),
                },
                next = async {
                    match self.replication.as_mut() {
                        Some(r) => r.next().await,
                        None => core::future::pending().await,
                    }
                }, if live && self.replication.is_some() => {
                    if let Some(r) = &mut self.replication {
                        r.handle(next, &mut self.server, now());
                    }
                }
                done = async {
                    match committing.as_mut() {
                        Some(c) => c.await,
                        None => core::future::pending().await,
                    }
                }, if committing.is_some() => {
                    committing = None;
                    let (sink, done, r) = done.map_err(|_| RunnerError::Task)?;
                    self.store = Some(sink);
                    match (r, self.retry) {
                        // A step of the store's idle work.
                        (r, _) if done.is_empty() => idle_ok = r.is_ok(),
                        (Ok(()), _) => {
                            idle_ok = true;
                            retrying = None;
                            if let Some(last) = done.last() {
                                persisted = persisted.max(last.seq);
                                self.server.handle_persisted(last.seq);
                            }
                        }
                        (Err(e), None) => return Err(RunnerError::Store(e)),
                        (Err(e), Some(policy)) => {
                            let wait = retrying
                                .as_ref()
                                .map_or(policy.first, |r| (r.wait * 2).min(policy.max));
                            retrying = Some(Retrying {
                                batch: done,
                                at: TokioInstant::now() + wait,
                                wait,
                                last: e,
                            });
                        }
                    }
                }
                () = sleep_until(retry_at.unwrap_or_else(TokioInstant::now)), if retry_at.is_some() => {}
                () = sleep_until(deadline.unwrap_or_else(TokioInstant::now)), if deadline.is_some() && live => {
                    let now = now();
                    self.server.handle_timeout(now);
                    if let Some(r) = &mut self.replication {
                        r.handle_timeout(now);
                    }
                }
                _ = &mut stopped, if live => stopping = Some(TokioInstant::now()),
            }
        }
    }
}
