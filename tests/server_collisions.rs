//! Names chosen to collide cost the WINS server no more than random names.
//!
//! The names collide fully (all 64 bits) under the unkeyed fold-multiply
//! hash the server's table once used: that hash folds the key in per 8-byte
//! word, `s1 = fold(lo · K)`, `s2 = fold((s1 ^ hi) · K)`, so choosing the
//! second word as `fold(lo · K) ^ C` gives every name the hash `fold(C · K)`
//! for one multiply each. With that hash, every colliding registration
//! walks all earlier ones; with a keyed hash these names are as good as
//! random. Wall-clock times on a shared host are noisy, so the test
//! alternates rounds, compares medians and allows 2× (the old hash is
//! hundreds of times slower here and fails within the first round).

use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;
use std::time::Instant;

use nbns::server::{DeterministicIds, ServerConfig, WinsServer};
use nbns::wire::{Message, Name, NbAddrEntry, NbFlags, NetbiosName, NodeType};

const NAMES: usize = 60_000;
const ROUNDS: usize = 5;

/// The multiplier and fold of the old table hash.
const K: u64 = 0x9E37_79B9_7F4A_7C15;

fn fold_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// Whether a unique registration of this name is stored (0x1C, 0x1E are
/// refused and 0x1D is never stored: those would skip the table).
fn stored(raw: &[u8; 16]) -> bool {
    !matches!(raw[15], 0x1C..=0x1E)
}

/// `n` names whose keys (name, empty scope) all hash to `fold(C · K)`
/// under the old hash.
fn colliding(n: usize) -> Vec<NetbiosName> {
    const C: u64 = 0x0123_4567_89AB_CDEF;
    (0u64..)
        .map(|i| {
            let lo = i.wrapping_mul(0xD6E8_FEB8_6659_FD93) ^ 0x4E41_4D45;
            let hi = fold_mul(lo, K) ^ C;
            let mut raw = [0u8; 16];
            raw[..8].copy_from_slice(&lo.to_le_bytes());
            raw[8..].copy_from_slice(&hi.to_le_bytes());
            raw
        })
        .filter(stored)
        .take(n)
        .map(NetbiosName::from_raw)
        .collect()
}

/// `n` names from a seeded generator: no structure at all.
fn random(n: usize) -> Vec<NetbiosName> {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    core::iter::repeat_with(|| {
        let mut raw = [0u8; 16];
        raw[..8].copy_from_slice(&next().to_le_bytes());
        raw[8..].copy_from_slice(&next().to_le_bytes());
        raw
    })
    .filter(stored)
    .take(n)
    .map(NetbiosName::from_raw)
    .collect()
}

fn emit(p: &Message<'_>) -> Vec<u8> {
    let mut v = vec![0; p.buffer_len()];
    p.emit(&mut v).unwrap();
    v
}

/// A registration and a query for each name, from one address per name.
fn requests(names: &[NetbiosName]) -> Vec<(SocketAddrV4, Vec<u8>, Vec<u8>)> {
    names
        .iter()
        .enumerate()
        .map(|(i, &name)| {
            let ip = Ipv4Addr::from(0x0A00_0000 | i as u32);
            let e = NbAddrEntry::new(NbFlags::new(false, NodeType::H), ip);
            let n = Name::unscoped(name);
            (
                SocketAddrV4::new(ip, 137),
                emit(&Message::registration_request(i as u16, n, 3600, e, false)),
                emit(&Message::name_query_request(i as u16, n, false)),
            )
        })
        .collect()
}

/// Registers every name in a fresh server, then queries every one; the
/// time taken, or `None` once `budget` is exceeded.
fn run(reqs: &[(SocketAddrV4, Vec<u8>, Vec<u8>)], budget: Duration) -> Option<Duration> {
    let now = Instant::now();
    let mut s = WinsServer::with_ids(ServerConfig::default(), now, DeterministicIds::new(1));
    let start = Instant::now();
    for pass in 0..2 {
        for (i, (from, reg, query)) in reqs.iter().enumerate() {
            s.handle_datagram(now, *from, if pass == 0 { reg } else { query });
            while s.poll_transmit().is_some() {}
            while s.poll_event().is_some() {}
            if i % 1024 == 0 && start.elapsed() > budget {
                return None;
            }
        }
    }
    assert_eq!(s.len(), reqs.len());
    Some(start.elapsed())
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[test]
fn colliding_names_cost_no_more_than_random_ones() {
    let bad = requests(&colliding(NAMES));
    let good = requests(&random(NAMES));
    let (mut tb, mut tg) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let g = run(&good, Duration::from_secs(600)).unwrap();
        tg.push(g);
        // A colliding round that takes ten times the random one has failed
        // already; stop it there rather than wait for the quadratic end.
        match run(&bad, g * 10) {
            Some(b) => tb.push(b),
            None => panic!(
                "{NAMES} colliding names: over 10x the {:?} of random names",
                g
            ),
        }
    }
    let (b, g) = (median(&mut tb), median(&mut tg));
    let per = |d: Duration| d.as_nanos() / (2 * NAMES as u128);
    eprintln!(
        "per request: colliding {} ns, random {} ns (medians of {ROUNDS})",
        per(b),
        per(g)
    );
    assert!(
        b <= g * 2,
        "colliding {b:?} vs random {g:?} for {NAMES} registrations and queries"
    );
}
