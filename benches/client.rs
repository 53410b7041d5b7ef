//! `nbtstat -RR` of 10,000 names against a simulated WINS server that
//! answers every request at once: the state machine's and the wire layer's
//! work only (the server's parse and emit are included).

use core::hint::black_box;
use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nbns::client::{ClientConfig, DeterministicIds, NameClient, NameSpec, NameState};
use nbns::wire::{Message, Name, NetbiosName, Packet, PacketKind};

const SERVER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 137);
const NAMES: usize = 10_000;

/// The simulated server: answers every request positively.
fn answer(req: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let Ok(p) = Packet::parse(req) else { return };
    let (Some(q), Some(rr)) = (p.question(), p.additional()) else {
        return;
    };
    let Some(entry) = rr.nb().and_then(|n| n.first()) else {
        return;
    };
    let resp = match p.kind() {
        PacketKind::NameReleaseRequest => Message::positive_release_response(p.id, q.name, entry),
        _ => Message::positive_registration_response(p.id, q.name, 600, entry),
    };
    let _ = resp.emit_buf(out);
}

/// Delivers every queued request to the server and its answer back, until
/// the client has nothing more to send.
fn exchange(c: &mut NameClient<DeterministicIds>, now: Instant, buf: &mut Vec<u8>) -> usize {
    let mut n = 0;
    while let Some(t) = c.poll_transmit() {
        answer(&t.contents, buf);
        c.handle_datagram(now, t.destination, buf);
        n += 1;
    }
    while c.poll_event().is_some() {}
    n
}

fn name(i: usize) -> Name<'static> {
    let text = format!("HOST{i:06}");
    Name::unscoped(NetbiosName::new(&text, 0x20).unwrap())
}

fn setup() -> (NameClient<DeterministicIds>, Instant) {
    let mut config = ClientConfig::with_servers([SERVER]);
    config.reregister_cooldown = Duration::ZERO;
    let mut c = NameClient::with_deterministic_ids(config, 1);
    let now = Instant::now();
    let me = [Ipv4Addr::new(10, 0, 0, 7)];
    let mut buf = Vec::new();
    for i in 0..NAMES {
        c.add_name(now, NameSpec::unique(name(i), &me)).unwrap();
    }
    exchange(&mut c, now, &mut buf);
    assert!(c.names().all(|n| n.state == NameState::Registered));
    (c, now)
}

fn rss_bytes() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn bench(cr: &mut Criterion) {
    let before = rss_bytes();
    let (mut c, now) = setup();
    let after = rss_bytes();
    eprintln!(
        "memory: {} bytes/name by table capacities; RSS delta {} bytes/name ({} names)",
        c.memory_usage() / NAMES,
        match (before, after) {
            (Some(b), Some(a)) => (a.saturating_sub(b) / NAMES).to_string(),
            _ => "n/a".into(),
        },
        NAMES
    );
    let mut buf = Vec::with_capacity(128);
    let mut g = cr.benchmark_group("client");
    g.throughput(Throughput::Elements(NAMES as u64));
    g.bench_function("reregister_all_10k", |b| {
        b.iter(|| {
            c.reregister_all(now).unwrap();
            let sent = exchange(&mut c, now, &mut buf);
            black_box(sent);
            debug_assert_eq!(sent, 2 * NAMES);
        });
    });
    g.finish();
    assert!(c.names().all(|n| n.state == NameState::Registered));
    eprintln!(
        "memory after the runs: {} bytes/name by table capacities",
        c.memory_usage() / NAMES
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
