//! A full pull of 100,000 records between two of the crate's WINS servers
//! over loopback TCP, durable: `WinsServer` A (100,000 records of its own)
//! serves on 127.0.0.1; `WinsServer` B, empty, with a redb store, pulls
//! them all as a `Partner` (association, owner-version map, Name Records
//! Requests and Responses, stop), committing what it applied on a commit
//! thread, as the `wins_server` program does. One sample is from B's connect to the commit that
//! holds B's last replica and the owner-version entry of the pull; the
//! setup (A's records, B's empty store) is outside it.
//!
//! `full_pull_commit_in_turn/100000` is the same with B waiting for each
//! commit before it reads on (the pull and the commits take turns).
//! `NBNS_PULL_REPLY=n` sets the records per Name Records Response
//! (default 50,000); `NBNS_PULL_PHASES=1` prints B's apply and commit
//! times of each pull, and the time the store then takes to fold the log
//! the pull left into its record tables (outside the sample).
//!
//! `anchor/sum_words` is the yardstick of the run, for the shared host
//! whose speed drifts: it reads the bytes of a Name Records Response of
//! the same 100,000 records as big-endian words and adds them.
//!
//! `cargo bench --features redb --bench replication_tcp`

#[path = "support/anchor.rs"]
mod anchor;

use core::hint::black_box;
use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use core::time::Duration;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nbns::server::{Change, RecordKind, RecordState, ServerConfig, StoredRecord, WinsServer};
use nbns::store::Store;
use nbns::winsrepl::{
    ConnectionId, MessageRepr, Partner, PartnerConfig, PartnerEvent, PullConfig, Replica,
    ReplicationConfig, ReplicationDb,
};
use nbns::wire::{NbAddrEntry, NbFlags, NetbiosName, NodeType};

const RECORDS: u64 = 100_000;
/// A's owner address; the servers listen and connect on loopback.
const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn config(us: Ipv4Addr) -> ServerConfig {
    let mut c = ServerConfig::default();
    c.address = us;
    c.max_records = RECORDS as usize + 10;
    c.max_unpersisted = usize::MAX;
    c
}

/// A with `RECORDS` unique records of its own, versions 1 to `RECORDS`.
fn source(now: Instant) -> WinsServer {
    let records = (1..=RECORDS).map(|v| StoredRecord {
        name: NetbiosName::new(&format!("P{v:07}"), 0x20).unwrap(),
        scope: Box::default(),
        kind: RecordKind::Unique,
        state: RecordState::Active,
        version: v,
        owner: A,
        addresses: [NbAddrEntry::new(
            NbFlags::new(false, NodeType::H),
            Ipv4Addr::from(0x0a01_0000 + v as u32),
        )]
        .into(),
        member_owners: Box::default(),
        deadline: now + Duration::from_secs(3600),
    });
    let mut s = WinsServer::restore(config(A), now, RECORDS, records).unwrap();
    s.enable_replication();
    s
}

fn partner(us: Ipv4Addr, them: SocketAddrV4, pull: bool, db: &WinsServer) -> Partner {
    let mut p = PartnerConfig::push_pull(*them.ip());
    p.address = them;
    p.pull = pull.then_some(PullConfig {
        interval: None,
        ..PullConfig::default()
    });
    let mut h = u32::from(us);
    p.push = p.push.map(|mut push| {
        push.change_count = 0;
        push
    });
    let mut c = ReplicationConfig::new(us, vec![p]);
    if let Some(n) = std::env::var("NBNS_PULL_REPLY")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        c.max_records_per_reply = n;
    }
    Partner::new(c, db, move || {
        h = h.wrapping_mul(747_796_405).wrapping_add(1);
        h
    })
}

/// Serves one association on `listener` for A, until it closes.
fn serve(listener: TcpListener, mut a: WinsServer, mut p: Partner) -> WinsServer {
    let (mut s, peer) = listener.accept().unwrap();
    s.set_nodelay(true).unwrap();
    let SocketAddr::V4(peer) = peer else {
        unreachable!()
    };
    let id = ConnectionId(1);
    p.handle_connected(id, peer, Instant::now());
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        while let Some((_, bytes)) = p.poll_send() {
            if s.write_all(&bytes).is_err() {
                return a;
            }
        }
        if p.poll_close().is_some() {
            let _ = s.shutdown(Shutdown::Both);
            return a;
        }
        while p.poll_event().is_some() {}
        match s.read(&mut buf) {
            Ok(0) | Err(_) => {
                p.handle_closed(id, Instant::now());
                return a;
            }
            Ok(n) => p.handle_received(&mut a, id, &buf[..n], Instant::now()),
        }
    }
}

/// B pulls everything from A at `to`, committing to `store` on a commit
/// thread as the `wins_server` program does (each commit takes every
/// change made while the one before ran); returns the time from the
/// connect to the last commit, and B.
///
/// With `overlap` false, B waits for each commit before it reads on: the
/// commit and the pull take turns.
fn pull(to: SocketAddrV4, store: Store, overlap: bool) -> (Duration, WinsServer, Store) {
    let t0 = Instant::now();
    let mut b = WinsServer::new(config(B), t0);
    b.enable_replication();
    let mut p = partner(B, to, true, &b);
    let target = p.poll_connect().unwrap();
    let mut s = TcpStream::connect(target).unwrap();
    s.set_nodelay(true).unwrap();
    let id = ConnectionId(1);
    p.handle_connected(id, target, Instant::now());
    let (to_commit, batches) = mpsc::channel::<Vec<Change>>();
    let (committed, persisted) = mpsc::channel::<(u64, Duration)>();
    let committer = thread::spawn(move || {
        let mut store = store;
        for batch in batches {
            let t = Instant::now();
            store.commit(&batch).unwrap();
            let last = batch.last().map_or(0, |c| c.seq);
            if committed.send((last, t.elapsed())).is_err() {
                break;
            }
        }
        store
    });
    let mut buf = vec![0u8; 256 * 1024];
    let mut done = false;
    let mut in_flight = 0;
    let mut commit_time = Duration::ZERO;
    let mut commits = 0;
    let mut apply_time = Duration::ZERO;
    let mut settle = |b: &mut WinsServer, wait: bool, in_flight: &mut u32| {
        while *in_flight > 0 {
            let got = if wait {
                persisted.recv().ok()
            } else {
                persisted.try_recv().ok()
            };
            let Some((seq, took)) = got else { break };
            *in_flight -= 1;
            commit_time += took;
            commits += 1;
            b.handle_persisted(seq);
        }
    };
    loop {
        while let Some((_, bytes)) = p.poll_send() {
            s.write_all(&bytes).unwrap();
        }
        while let Some(e) = p.poll_event() {
            done |= matches!(e, PartnerEvent::PullDone { .. });
        }
        settle(&mut b, false, &mut in_flight);
        if in_flight == 0 {
            let batch: Vec<Change> = core::iter::from_fn(|| b.poll_change()).collect();
            if !batch.is_empty() {
                to_commit.send(batch).unwrap();
                in_flight += 1;
                if !overlap {
                    settle(&mut b, true, &mut in_flight);
                }
            }
        }
        if done {
            // The last changes, committed.
            settle(&mut b, true, &mut in_flight);
            let batch: Vec<Change> = core::iter::from_fn(|| b.poll_change()).collect();
            if batch.is_empty() {
                break;
            }
            to_commit.send(batch).unwrap();
            in_flight += 1;
            continue;
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let t = Instant::now();
                p.handle_received(&mut b, id, &buf[..n], Instant::now());
                apply_time += t.elapsed();
            }
        }
    }
    let took = t0.elapsed();
    drop(to_commit);
    let store = committer.join().unwrap();
    if std::env::var_os("NBNS_PULL_PHASES").is_some() {
        eprintln!(
            "pull {took:?}: parse and apply {apply_time:?}; {commits} commits {commit_time:?} (on their thread)"
        );
    }
    assert_eq!(b.len(), RECORDS as usize, "B holds every record");
    assert_eq!(ReplicationDb::max_version(&b, A), RECORDS);
    let _ = s.shutdown(Shutdown::Both);
    (took, b, store)
}

/// One full pull: A serving in a thread, B pulling into a new store.
fn one_pull(a: WinsServer, overlap: bool) -> (Duration, WinsServer) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let SocketAddr::V4(at) = listener.local_addr().unwrap() else {
        unreachable!()
    };
    let pa = partner(A, SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0), false, &a);
    let server = thread::spawn(move || serve(listener, a, pa));
    let path = std::env::temp_dir().join(format!("nbns-pull-{}.redb", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let store = Store::open(&path).unwrap();
    let (took, _b, mut store) = pull(at, store, overlap);
    let a = server.join().unwrap();
    if std::env::var_os("NBNS_PULL_PHASES").is_some() {
        // What the pull left in the store's log, folded into its tables
        // (the work a server does later, while idle).
        let (left, t) = (store.unfolded(), Instant::now());
        store.fold().unwrap();
        eprintln!(
            "fold of {left} logged records afterwards: {:?}",
            t.elapsed()
        );
    }
    drop(store);
    let _ = std::fs::remove_file(&path);
    (took, a)
}

fn bench(c: &mut Criterion) {
    let now = Instant::now();
    let mut a = Some(source(now));
    let mut replicas: Vec<Replica> = Vec::new();
    if let Some(a) = &a {
        ReplicationDb::records(a, A, 1, RECORDS, RECORDS as usize, &mut replicas);
    }
    let reprs: Vec<_> = replicas.iter().map(|r| r.to_repr(A).unwrap()).collect();
    let mut reply = Vec::new();
    MessageRepr::send_reply(1, &reprs)
        .emit_buf(&mut reply)
        .unwrap();
    drop(reprs);

    let mut g = c.benchmark_group("replication_tcp");
    g.throughput(Throughput::Elements(RECORDS));
    g.sample_size(10);
    g.bench_function("anchor/sum_words", |b| {
        b.iter(|| anchor::sum_words(black_box(&reply)))
    });
    for (label, overlap) in [
        ("full_pull/100000", true),
        ("full_pull_commit_in_turn/100000", false),
    ] {
        g.bench_function(label, |bench| {
            bench.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let (took, back) = one_pull(a.take().unwrap(), overlap);
                    a = Some(back);
                    total += took;
                }
                total
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
