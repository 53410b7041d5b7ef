//! Replication throughput in process, in records per second: a full pull
//! of 10,000 records from one `Partner` to another, both over `MemoryDb`s,
//! connected by in-memory byte pipes (association, map, one name records
//! request and response, apply, stop); and the apply alone of the same
//! 10,000 replicas into an empty `MemoryDb`.
//!
//! `server_apply/100000`: 100,000 unique replicas applied to an empty
//! `WinsServer` (durable mode, replication enabled, the changes drained as
//! the driver hands them to its store; the commit itself is the store
//! benchmark's).
//!
//! `anchor/sum_words` is a yardstick measured in the same run, for the
//! shared host whose speed drifts between runs: it reads the bytes of the
//! 10,000-record response as big-endian words and adds them.

#[path = "support/anchor.rs"]
mod anchor;

use core::hint::black_box;
use core::net::{Ipv4Addr, SocketAddrV4};
use std::time::Instant;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use nbns::server::{ServerConfig, WinsServer};
use nbns::winsrepl::{
    ConnectionId, MemoryDb, MessageRepr, Partner, PartnerConfig, PullConfig, Replica,
    ReplicationConfig, ReplicationDb,
};
use nbns::winsrepl::{RecordFlags, RecordState, RecordType, ReplicaAddresses};
use nbns::wire::{NetbiosName, NodeType};

const RECORDS: usize = 10_000;
const SERVER_RECORDS: usize = 100_000;
const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn source() -> MemoryDb {
    let mut db = MemoryDb::new(A, RECORDS + 10);
    for k in 0..RECORDS as u32 {
        let name = NetbiosName::new(&format!("HOST{k:06}"), 0x20).unwrap();
        let kind = if k % 4 == 0 {
            RecordType::Multihomed
        } else {
            RecordType::Unique
        };
        db.register(name, kind, &[Ipv4Addr::from(0x0a01_0000 + k), B]);
    }
    db
}

fn partner(us: Ipv4Addr, them: Ipv4Addr, db: &MemoryDb) -> Partner {
    let mut p = PartnerConfig::push_pull(them);
    p.pull = (us == B).then_some(PullConfig {
        interval: None,
        ..PullConfig::default()
    });
    let mut h = u32::from(us);
    Partner::new(ReplicationConfig::new(us, vec![p]), db, move || {
        h = h.wrapping_mul(747_796_405).wrapping_add(1);
        h
    })
}

/// B pulls everything from A; returns the records B holds.
fn pull(a_db: &mut MemoryDb, b_db: &mut MemoryDb) -> usize {
    let now = Instant::now();
    let mut a = partner(A, B, a_db);
    let mut b = partner(B, A, b_db);
    let to = b.poll_connect().unwrap();
    a.handle_connected(ConnectionId(1), SocketAddrV4::new(B, 40_000), now);
    b.handle_connected(ConnectionId(2), to, now);
    loop {
        let mut moved = false;
        while let Some((_, bytes)) = b.poll_send() {
            a.handle_received(a_db, ConnectionId(1), &bytes, now);
            moved = true;
        }
        while let Some((_, bytes)) = a.poll_send() {
            b.handle_received(b_db, ConnectionId(2), &bytes, now);
            moved = true;
        }
        if !moved {
            break;
        }
    }
    b_db.len()
}

fn bench(c: &mut Criterion) {
    let mut a_db = source();
    assert_eq!(
        pull(&mut a_db, &mut MemoryDb::new(B, RECORDS + 10)),
        RECORDS
    );
    let mut replicas = Vec::new();
    a_db.records(A, 1, u64::MAX, RECORDS, &mut replicas);
    let reprs: Vec<_> = replicas.iter().map(|r| r.to_repr(A).unwrap()).collect();
    let mut reply = Vec::new();
    MessageRepr::send_reply(1, &reprs)
        .emit_buf(&mut reply)
        .unwrap();

    let mut g = c.benchmark_group("replication");
    g.throughput(Throughput::Elements(RECORDS as u64));
    g.bench_function("anchor/sum_words", |b| {
        b.iter(|| anchor::sum_words(black_box(&reply)))
    });
    g.bench_function("pull/10000", |bench| {
        bench.iter_batched(
            || MemoryDb::new(B, RECORDS + 10),
            |mut b_db| pull(&mut a_db, &mut b_db),
            BatchSize::LargeInput,
        )
    });
    g.bench_function("apply/10000", |bench| {
        let now = Instant::now();
        bench.iter_batched(
            || MemoryDb::new(B, RECORDS + 10),
            |mut b_db| {
                for r in &replicas {
                    let _ = b_db.apply_replica(black_box::<&Replica>(r), A, now);
                }
                b_db.len()
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();

    let many: Vec<Replica> = (0..SERVER_RECORDS as u32)
        .map(|k| Replica {
            name: NetbiosName::new(&format!("R{k:07}"), 0x20).unwrap(),
            scope: Vec::new(),
            flags: RecordFlags::new(RecordType::Unique, RecordState::Active, NodeType::H),
            version: u64::from(k) + 1,
            owner: A,
            addresses: ReplicaAddresses::Single(Ipv4Addr::from(0x0a02_0000 + k)),
        })
        .collect();
    let mut g = c.benchmark_group("replication");
    g.throughput(Throughput::Elements(SERVER_RECORDS as u64));
    g.bench_function("server_apply/100000", |bench| {
        let now = Instant::now();
        bench.iter_batched(
            || {
                let mut config = ServerConfig::default();
                config.address = B;
                config.max_records = SERVER_RECORDS + 10;
                config.max_unpersisted = usize::MAX;
                let mut s = WinsServer::new(config, now);
                s.enable_replication();
                s
            },
            |mut s| {
                let mut changes = 0usize;
                for r in &many {
                    let _ = s.apply_replica(black_box(r), A, now);
                    while s.poll_change().is_some() {
                        changes += 1;
                    }
                }
                s.pulled(A, SERVER_RECORDS as u64, now);
                assert_eq!(s.len(), SERVER_RECORDS);
                (s, changes)
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
