//! Commit latency of the redb store (`nbns::store`, feature `redb`): one
//! transaction, durable on return (fsync), of 1 and of 64 record changes,
//! into a database already holding 10,000 records, in the system's temp
//! directory.

use core::hint::black_box;
use core::net::Ipv4Addr;
use core::time::Duration;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nbns::server::{Change, ChangeItem, EventKind, RecordKind, RecordState, StoredRecord};
use nbns::store::Store;
use nbns::wire::{NbAddrEntry, NbFlags, NetbiosName, NodeType};

fn put(seq: u64, i: u32) -> Change {
    let ip = Ipv4Addr::from(0x0A00_0000 | i);
    Change {
        seq,
        item: ChangeItem::Put {
            event: EventKind::Added,
            record: StoredRecord {
                name: NetbiosName::new(&format!("HOST{:07}", i % 20_000), 0x20).unwrap(),
                scope: Box::default(),
                kind: RecordKind::Unique,
                state: RecordState::Active,
                version: seq,
                owner: Ipv4Addr::new(10, 0, 0, 1),
                addresses: [NbAddrEntry::new(NbFlags::new(false, NodeType::H), ip)].into(),
                member_owners: Box::default(),
                deadline: Instant::now() + Duration::from_secs(3600),
            },
        },
    }
}

fn bench(c: &mut Criterion) {
    let path = std::env::temp_dir().join(format!("nbns-bench-{}.redb", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let mut store = Store::open(&path).unwrap();
    let mut seq = 0;
    let fill: Vec<Change> = (0..10_000)
        .map(|i| {
            seq += 1;
            put(seq, i)
        })
        .collect();
    store.commit(&fill).unwrap();

    let mut g = c.benchmark_group("store");
    for n in [1u32, 64] {
        g.throughput(Throughput::Elements(u64::from(n)));
        let mut i = 0;
        g.bench_function(format!("commit_{n}_changes"), |b| {
            b.iter(|| {
                let batch: Vec<Change> = (0..n)
                    .map(|_| {
                        seq += 1;
                        i += 1;
                        put(seq, i)
                    })
                    .collect();
                store.commit(black_box(&batch)).unwrap();
            });
        });
    }
    g.finish();
    drop(store);
    let _ = std::fs::remove_file(&path);
}

criterion_group!(benches, bench);
criterion_main!(benches);
