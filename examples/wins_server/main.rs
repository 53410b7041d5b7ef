//! A WINS server on UDP, with its database in a redb file.
//!
//! ```text
//! wins_server [--listen ADDR:PORT] [--db FILE] [--min-ttl SECS] [--max-ttl SECS]
//!             [--address IP] [--run-for SECS] [--max-datagrams N] [--log-requests]
//!             [--ack-before-persist] [--hook PROGRAM [--hook-timeout SECS]
//!             [--hook-max N] [--hook-queue N]]
//! wins_server --db FILE --export
//! ```
//!
//! `--help` describes each option ([`args`]); a bad argument exits 2.
//! With `--db FILE` every change is committed before the answer that
//! acknowledges it is sent; the time the server was down counts (a name
//! whose TTL ran out meanwhile expires at start). Without `--db` the
//! records live in memory only. `--export` prints the records as text.
//! With `--replication ADDR:PORT` and `--partner IP[:PORT],push,pull,...`
//! the server is a WINS replication partner on TCP (`replication.rs`).
//!
//! Prints one line per database change on stdout once it is committed,
//! such as `added HOST<20> unique 10.0.0.7 version 3` (and `version mark
//! 1024` when a block of version IDs is reserved). `--hook PROGRAM` runs
//! PROGRAM for each of them as Samba's `wins hook` does ([`hook`]).
//!
//! Commits run on a thread of their own: the main thread answers queries
//! while one is under way, and every change made meanwhile goes into the
//! next transaction (group commit). A failing commit is logged, counted
//! and retried with backoff (the database is opened again); queries are
//! answered meanwhile, registrations are not acknowledged. SIGTERM and
//! SIGINT end the server after a last commit.

mod args;
mod hook;
mod replication;

use core::fmt::Write as _;
use core::net::{SocketAddr, SocketAddrV4};
use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;
use std::io::{self, Write};
use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::{self, JoinHandle};
use std::time::{Instant, SystemTime};

use nbns::server::{Change, WinsServer};
use nbns::store::Store;
use nbns::wire::Packet;

use args::Args;
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

/// Longest wait between two attempts of a failing commit.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// How long the last commit at exit is retried.
const EXIT_RETRY: Duration = Duration::from_secs(10);

/// The commit thread: takes batches of changes from `batches`, commits
/// everything queued in one transaction, prints the changes, and reports
/// the last sequence number committed on `done`. Ends when `batches` is
/// closed and empty, or when a commit after the close keeps failing for
/// [`EXIT_RETRY`]; returns the number of changes it could not commit.
fn committer(
    mut store: Option<Store>,
    path: &PathBuf,
    batches: &Receiver<Vec<Change>>,
    done: &Sender<u64>,
    hook: Option<&Hook>,
) -> usize {
    let mut failures = 0u64;
    let mut closed = false;
    let mut text = String::new();
    while let Ok(mut batch) = batches.recv() {
        let mut backoff = Duration::from_millis(20);
        let mut failing_since = None;
        loop {
            // Everything queued meanwhile goes into the same transaction.
            loop {
                match batches.try_recv() {
                    Ok(more) => batch.extend(more),
                    Err(mpsc::TryRecvError::Empty) => break,
                    Err(mpsc::TryRecvError::Disconnected) => {
                        closed = true;
                        break;
                    }
                }
            }
            let result = match store.as_mut() {
                Some(s) => s.commit(&batch),
                None => Store::open(path).and_then(|mut s| {
                    let r = s.commit(&batch);
                    store = Some(s);
                    r
                }),
            };
            match result {
                Ok(()) => break,
                Err(e) => {
                    failures += 1;
                    eprintln!(
                        "wins_server: commit of {} changes failed ({failures} failures so far): \
                         {e}; retrying in {backoff:?}",
                        batch.len()
                    );
                    // After an I/O error redb refuses further transactions:
                    // open the database again for the next attempt.
                    store = None;
                    let since = *failing_since.get_or_insert_with(Instant::now);
                    if closed && since.elapsed() >= EXIT_RETRY {
                        return batch.len();
                    }
                    thread::sleep(backoff);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
        text.clear();
        for c in &batch {
            let _ = writeln!(text, "{c}");
        }
        let mut out = io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
        drop(out);
        if let Some(last) = batch.last() {
            let _ = done.send(last.seq);
        }
        if let Some(h) = hook {
            h.announce(&batch);
        }
    }
    0
}

/// Set by SIGTERM and SIGINT.
fn stop_flag() -> Result<Arc<AtomicBool>, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let s = Arc::clone(&stop);
    ctrlc::set_handler(move || s.store(true, Ordering::Relaxed))
        .map_err(|e| format!("signal handler: {e}"))?;
    Ok(stop)
}

struct Committer {
    batches: Sender<Vec<Change>>,
    done: Receiver<u64>,
    thread: JoinHandle<usize>,
}

fn run(a: Args) -> Result<(), String> {
    let start = Instant::now();
    let (hook, runner) = match a.hook.clone() {
        Some(h) => {
            let (hook, runner) = Hook::start(h).map_err(|e| format!("hook thread: {e}"))?;
            (Some(hook), Some(runner))
        }
        None => (None, None),
    };
    let (mut server, mut committer) = match &a.db {
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
                .load(a.config.clone(), start, SystemTime::now())
                .map_err(|e| format!("{shown}: {e}"))?;
            let (batches, batch_rx) = mpsc::channel();
            let (done_tx, done) = mpsc::channel();
            let path = path.clone();
            let commit_hook = hook.clone();
            let thread = thread::Builder::new()
                .name("commit".to_owned())
                .spawn(move || {
                    committer(
                        Some(store),
                        &path,
                        &batch_rx,
                        &done_tx,
                        commit_hook.as_ref(),
                    )
                })
                .map_err(|e| format!("commit thread: {e}"))?;
            let c = Committer {
                batches,
                done,
                thread,
            };
            (server, Some(c))
        }
        None => (WinsServer::new(a.config.clone(), start), None),
    };
    let mut repl = match a.replication {
        Some(at) => Some(replication::Replicator::start(
            at,
            a.partners.clone(),
            &mut server,
        )?),
        None => None,
    };
    let stop = stop_flag()?;
    let sock = UdpSocket::bind(a.listen).map_err(|e| format!("bind {}: {e}", a.listen))?;
    let local = sock
        .local_addr()
        .map_err(|e| format!("bind {}: {e}", a.listen))?;
    eprintln!(
        "wins_server: serving on {local} with {} records, version counter {}, mark {}",
        server.len(),
        server.version_counter(),
        server.version_mark(),
    );
    let mut buf = [0u8; 2048];
    let mut datagrams = 0u64;
    let mut timeout = None;
    let mut batch = Vec::new();
    loop {
        let now = Instant::now();
        if stop.load(Ordering::Relaxed)
            || a.run_for.is_some_and(|d| now >= start + d)
            || a.max_datagrams.is_some_and(|n| datagrams >= n)
        {
            break;
        }
        // Wake for the next timer, a signal or the run limit; while a
        // commit is under way, every millisecond to send what it releases.
        let mut wake = now + Duration::from_millis(200);
        if server.unpersisted() > 0 {
            wake = now + Duration::from_millis(1);
        }
        if let Some(t) = server.poll_timeout() {
            wake = wake.min(t);
        }
        if let Some(d) = a.run_for {
            wake = wake.min(start + d);
        }
        if let Some(r) = &repl {
            wake = wake.min(r.wake(now));
        }
        let ms = wake
            .saturating_duration_since(now)
            .as_millis()
            .clamp(1, 200);
        let wait = Some(Duration::from_millis(u64::try_from(ms).unwrap_or(200)));
        // Changing the timeout is a system call: only when it differs.
        if wait != timeout {
            sock.set_read_timeout(wait).map_err(|e| e.to_string())?;
            timeout = wait;
        }
        match sock.recv_from(&mut buf) {
            Ok((n, SocketAddr::V4(from))) => {
                datagrams += 1;
                let bytes = buf.get(..n).unwrap_or_default();
                if a.log_requests {
                    log_request(from, bytes);
                }
                server.handle_datagram(Instant::now(), from, bytes);
            }
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                server.handle_timeout(Instant::now());
            }
            Err(e) => eprintln!("wins_server: recv: {e}"),
        }
        flush(
            &mut server,
            committer.as_ref(),
            hook.as_ref(),
            &mut batch,
            &sock,
        );
        if let Some(r) = &mut repl {
            r.poll(&mut server);
            flush(
                &mut server,
                committer.as_ref(),
                hook.as_ref(),
                &mut batch,
                &sock,
            );
        }
        while server.poll_event().is_some() {}
    }
    let mut lost = 0;
    if let Some(c) = committer.take() {
        // A last commit: close the channel, wait for the thread, send what
        // it released.
        flush(&mut server, Some(&c), None, &mut batch, &sock);
        drop(c.batches);
        lost = c.thread.join().unwrap_or(usize::MAX);
        while let Ok(seq) = c.done.try_recv() {
            server.handle_persisted(seq);
        }
        send_all(&mut server, &sock);
    }
    if let Some(r) = runner {
        r.finish();
    }
    eprintln!(
        "wins_server: stopping after {datagrams} datagrams; {:?}",
        server.stats()
    );
    if lost > 0 {
        return Err(format!(
            "wins_server: {lost} changes could not be committed (none was acknowledged)"
        ));
    }
    Ok(())
}

/// Hands the new changes to the commit thread, applies the commits it
/// finished, and sends what is ready. Without a database, changes are
/// complete when made: they go to the hook at once.
fn flush(
    server: &mut WinsServer,
    committer: Option<&Committer>,
    hook: Option<&Hook>,
    batch: &mut Vec<Change>,
    sock: &UdpSocket,
) {
    batch.extend(core::iter::from_fn(|| server.poll_change()));
    if let Some(c) = committer {
        if !batch.is_empty() {
            let _ = c.batches.send(core::mem::take(batch));
        }
        while let Ok(seq) = c.done.try_recv() {
            server.handle_persisted(seq);
        }
    } else if let Some(last) = batch.last().map(|c| c.seq) {
        if let Some(h) = hook {
            h.announce(batch);
        }
        batch.clear();
        server.handle_persisted(last);
    }
    send_all(server, sock);
}

fn send_all(server: &mut WinsServer, sock: &UdpSocket) {
    while let Some(t) = server.poll_transmit() {
        if let Err(e) = sock.send_to(&t.contents, t.destination) {
            eprintln!("wins_server: send to {}: {e}", t.destination);
        }
    }
}

fn main() -> ExitCode {
    match run(args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
