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

#[path = "support/hashflood.rs"]
mod hashflood;

use hashflood::{colliding, random};

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
