//! A WINS server on UDP, with its database in a redb file, run by the
//! crate's tokio driver ([`nbns::tokio::ServerRunner`]).
//!
//! ```text
//! wins_server [--listen ADDR:PORT] [--db FILE] [--min-ttl SECS] [--max-ttl SECS]
//!             [--address IP] [--run-for SECS] [--max-datagrams N] [--log-requests]
//!             [--ack-before-persist] [--hook PROGRAM [--hook-timeout SECS]
//!             [--hook-max N] [--hook-queue N]]
//!             [--replication ADDR:PORT [--partner SPEC]... [--partners FILE]]
//! wins_server --db FILE --export
//! ```
//!
//! `--help` describes each option ([`args`]); a bad argument exits 2.
//! With `--db FILE` every change is committed before the answer that
//! acknowledges it is sent; the time the server was down counts (a name
//! whose TTL ran out meanwhile expires at start). Without `--db` the
//! records live in memory only. `--export` prints the records as text.
//! With `--replication ADDR:PORT` and `--partner IP[:PORT],push,pull,...`
//! (or `--partners FILE`) the server is a WINS replication partner on TCP
//! ([`replication`], [`partners`]).
//!
//! Prints one line per database change on stdout once it is committed,
//! such as `added HOST<20> unique 10.0.0.7 version 3` (and `version mark
//! 1024` when a block of version IDs is reserved). `--hook PROGRAM` runs
//! PROGRAM for each of them as Samba's `wins hook` does ([`hook`]).
//!
//! The runner commits on a thread of its own: queries are answered while
//! a commit is under way, and every change made meanwhile goes into the
//! next transaction (group commit). A failing commit is logged and
//! counted ([`commit`]) and retried with backoff; queries are answered
//! meanwhile, registrations are not acknowledged. SIGTERM and SIGINT end
//! the server after a last commit.

mod args;
mod commit;
mod hook;
mod partners;
mod replication;
#[path = "../cli/usage_exit.rs"]
mod usage_exit;

use core::net::SocketAddrV4;
use core::ops::ControlFlow;
use std::io;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::SystemTime;

use nbns::server::WinsServer;
use nbns::store::Store;
use nbns::tokio::{CommitRetry, RunnerError, ServerRunner};
use nbns::winsrepl::ReplicationConfig;
use nbns::wire::Packet;
use tokio::net::{TcpListener, UdpSocket};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::Notify;
use tokio::time::Instant;

use args::Args;
use commit::Committer;
use hook::Hook;

/// One line per request: its kind, opcode, name and sender.
fn log_request(from: SocketAddrV4, bytes: &[u8]) {
    match Packet::parse(bytes) {
        Ok(p) if !p.is_response() => {
            let name = p.question().map(|q| q.name.to_string()).unwrap_or_default();
            println!(
                "request {} opcode {} {name} from {from}",
                p.kind().description(),
                u8::from(p.opcode())
            );
        }
        Ok(_) => {}
        Err(_) => println!("request malformed ({} bytes) from {from}", bytes.len()),
    }
}

async fn run(a: Args) -> Result<(), String> {
    let start = Instant::now();
    // The database: printed by --export, or the server restored from it.
    let (server, db) = match &a.db {
        Some(path) => {
            let shown = path.display();
            if a.export && !path.exists() {
                return Err(format!("{shown}: no such database"));
            }
            let store = Store::open(path).map_err(|e| format!("{shown}: {e}"))?;
            if a.export {
                let mut out = io::stdout().lock();
                return store.export(&mut out).map_err(|e| format!("{shown}: {e}"));
            }
            let server = store
                .load(a.config.clone(), start.into_std(), SystemTime::now())
                .map_err(|e| format!("{shown}: {e}"))?;
            (server, Some((path.clone(), store)))
        }
        None => (WinsServer::new(a.config.clone(), start.into_std()), None),
    };
    let (hook, hook_runner) = match a.hook.clone() {
        Some(h) => {
            let (hook, runner) = Hook::start(h).map_err(|e| format!("hook thread: {e}"))?;
            (Some(hook), Some(runner))
        }
        None => (None, None),
    };
    let mut term = signal(SignalKind::terminate()).map_err(|e| format!("signals: {e}"))?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| format!("signals: {e}"))?;
    let socket = UdpSocket::bind(a.listen)
        .await
        .map_err(|e| format!("bind {}: {e}", a.listen))?;
    let local = socket
        .local_addr()
        .map_err(|e| format!("bind {}: {e}", a.listen))?;
    let shown = format!(
        "{local} with {} records, version counter {}, mark {}",
        server.len(),
        server.version_counter(),
        server.version_mark(),
    );

    // Each datagram: counted, logged on request, the last one at
    // --max-datagrams.
    let (log_requests, max) = (a.log_requests, a.max_datagrams);
    let datagrams = Arc::new(core::sync::atomic::AtomicU64::new(0));
    let enough = Arc::new(Notify::new());
    let (count, done) = (Arc::clone(&datagrams), Arc::clone(&enough));
    let mut builder = ServerRunner::builder(socket, server)
        .store(Committer::new(db, hook))
        .retry_commits(CommitRetry::default())
        .inspect_datagrams(move |from, bytes| {
            let n = 1 + count.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
            if log_requests {
                log_request(from, bytes);
            }
            if max.is_some_and(|m| n >= m) {
                done.notify_one();
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        });
    if let Some(at) = a.replication {
        let listener = TcpListener::bind(at)
            .await
            .map_err(|e| format!("bind {at}: {e}"))?;
        for p in &a.partners {
            eprintln!(
                "wins_server: replication partner {} pull {:?} push {:?}",
                p.address, p.pull, p.push
            );
        }
        let owner = a.config.address;
        builder = builder.replication(Some(listener), ReplicationConfig::new(owner, a.partners));
    }
    let runner = builder.spawn().map_err(|e| e.to_string())?;
    let logging = ::tokio::spawn(replication::log(runner.replication_events()));
    if let Some(at) = runner.replication_addr() {
        eprintln!(
            "wins_server: replication on tcp {at} as owner {}",
            a.config.address
        );
    }
    eprintln!("wins_server: serving on {shown}");

    // Serve until a signal, --run-for or --max-datagrams.
    let run_for = async {
        match a.run_for {
            Some(d) => ::tokio::time::sleep_until(start + d).await,
            None => core::future::pending().await,
        }
    };
    ::tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
        () = run_for => {}
        () = enough.notified() => {}
    }
    let result = runner.shutdown().await;
    logging.abort();
    if let Some(r) = hook_runner {
        r.finish();
    }
    let n = datagrams.load(core::sync::atomic::Ordering::Relaxed);
    match result {
        Ok(server) => {
            eprintln!(
                "wins_server: stopping after {n} datagrams; {:?}",
                server.stats()
            );
            Ok(())
        }
        Err(RunnerError::Uncommitted { changes, last }) => {
            eprintln!("wins_server: stopping after {n} datagrams");
            Err(format!(
                "wins_server: {changes} changes could not be committed (none was \
                 acknowledged): {last}"
            ))
        }
        Err(e) => Err(format!("wins_server: {e}")),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run(args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
