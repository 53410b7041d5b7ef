//! [`ServerRunner`]: a [`WinsServer`] on a tokio UDP socket, with its
//! durable changes committed before their answers leave.

use core::net::SocketAddr;
use std::io;

use ::tokio::net::UdpSocket;
use ::tokio::sync::{broadcast, oneshot};
use ::tokio::task::JoinHandle;
use ::tokio::time::{Instant as TokioInstant, sleep_until};

use crate::server::{Change, ServerEvent, WinsServer};

use super::node::{EVENT_CAPACITY, is_transient};

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
    /// Nothing of the batch may be counted as stored; the runner stops.
    fn commit(&mut self, batch: &[Change]) -> Result<(), StoreFailure>;
}

#[cfg(feature = "redb")]
#[cfg_attr(docsrs, doc(cfg(feature = "redb")))]
impl Persist for crate::store::Store {
    fn commit(&mut self, batch: &[Change]) -> Result<(), StoreFailure> {
        Self::commit(self, batch).map_err(Into::into)
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
    /// The runner's task panicked or was cancelled.
    #[error("the runner's task ended abnormally")]
    Task,
}

/// A [`WinsServer`] served over one UDP socket by a task of its own.
///
/// The task follows the server's polling order: after every datagram or
/// timeout it sends the transmits, publishes the events and hands the
/// durable changes to the [`Persist`] store; once a batch is committed it
/// calls [`WinsServer::handle_persisted`], which releases the answers
/// that waited for it. It sleeps until a datagram, a commit or the
/// server's next deadline. With no store the server must be
/// [`Durability::Volatile`](crate::server::Durability::Volatile).
///
/// Dropping the runner without [`shutdown`](Self::shutdown) aborts its
/// task: changes not yet committed are lost, and were never acknowledged.
///
/// WINS replication (TCP port 42, [`crate::winsrepl`]) is not served
/// here yet: it joins the same task as another input beside the UDP
/// socket, sharing the server and the store.
#[derive(Debug)]
pub struct ServerRunner {
    local: SocketAddr,
    events: broadcast::Sender<ServerEvent>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<WinsServer, RunnerError>>,
}

type Sink = Box<dyn Persist>;

impl ServerRunner {
    /// Serves `server` on `socket`, committing its changes to `store`
    /// (`None` for a [`Durability::Volatile`](crate::server::Durability::Volatile)
    /// server).
    ///
    /// # Errors
    /// The socket's local address cannot be read.
    pub fn spawn(
        socket: UdpSocket,
        server: WinsServer,
        store: Option<Box<dyn Persist>>,
    ) -> io::Result<Self> {
        let local = socket.local_addr()?;
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let (stop, stopped) = oneshot::channel();
        let task = ::tokio::spawn(run(socket, server, store, events.clone(), stopped));
        Ok(Self {
            local,
            events,
            stop: Some(stop),
            task,
        })
    }

    /// The socket's local address.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Changes to the database from now on ([`WinsServer::poll_event`]),
    /// as a [`broadcast`] receiver.
    #[must_use]
    pub fn events(&self) -> broadcast::Receiver<ServerEvent> {
        self.events.subscribe()
    }

    /// Stops receiving, commits the changes still waiting (a final
    /// commit), sends the answers they release, and returns the server.
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

type Commit = JoinHandle<(Sink, u64, Result<(), StoreFailure>)>;

fn now() -> std::time::Instant {
    TokioInstant::now().into_std()
}

/// Starts committing `batch` on a blocking thread.
fn commit(mut sink: Sink, batch: Vec<Change>) -> Commit {
    ::tokio::task::spawn_blocking(move || {
        let last = batch.last().map_or(0, |c| c.seq);
        let r = sink.commit(&batch);
        (sink, last, r)
    })
}

async fn run(
    socket: UdpSocket,
    mut server: WinsServer,
    mut store: Option<Sink>,
    events: broadcast::Sender<ServerEvent>,
    mut stopped: oneshot::Receiver<()>,
) -> Result<WinsServer, RunnerError> {
    let mut buf = [0u8; 1500];
    let mut batch: Vec<Change> = Vec::new();
    let mut committing: Option<Commit> = None;
    let mut stopping = false;
    loop {
        // Outputs: transmits, events, changes; then start a commit.
        while let Some(t) = server.poll_transmit() {
            let _ = socket
                .send_to(&t.contents, SocketAddr::V4(t.destination))
                .await;
        }
        while let Some(e) = server.poll_event() {
            let _ = events.send(e);
        }
        while let Some(c) = server.poll_change() {
            batch.push(c);
        }
        if committing.is_none() && !batch.is_empty() {
            match store.take() {
                Some(sink) => committing = Some(commit(sink, core::mem::take(&mut batch))),
                // A volatile server reports no change.
                None => batch.clear(),
            }
        }
        if stopping && committing.is_none() && batch.is_empty() {
            return Ok(server);
        }
        let deadline = server.poll_timeout().map(TokioInstant::from_std);
        ::tokio::select! {
            r = socket.recv_from(&mut buf), if !stopping => match r {
                Ok((n, SocketAddr::V4(from))) => {
                    let data = buf.get(..n).unwrap_or_default();
                    server.handle_datagram(now(), from, data);
                }
                Ok(_) => {}
                Err(e) if is_transient(&e) => {}
                Err(e) => return Err(e.into()),
            },
            done = async {
                match committing.as_mut() {
                    Some(c) => c.await,
                    None => core::future::pending().await,
                }
            }, if committing.is_some() => {
                committing = None;
                let (sink, last, r) = done.map_err(|_| RunnerError::Task)?;
                r.map_err(RunnerError::Store)?;
                store = Some(sink);
                server.handle_persisted(last);
            }
            () = sleep_until(deadline.unwrap_or_else(TokioInstant::now)), if deadline.is_some() && !stopping => {
                server.handle_timeout(now());
            }
            _ = &mut stopped, if !stopping => stopping = true,
        }
    }
}
