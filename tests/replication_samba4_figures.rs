//! Figures of Samba 4's AD DC WINS server pulling records, from another
//! Samba 4 and from the crate's WINS server, in one run (needs root, Samba
//! and tshark; runs only with `NBNS_INTEROP=1` and `--ignored`):
//!
//! ```text
//! NBNS_INTEROP=1 cargo test --test replication_samba4_figures -- --ignored --nocapture
//! ```
//!
//! Two Samba instances run at once ([`PAIR_A`], [`PAIR_B`]), each in its
//! own network namespace, on one bridged segment with the client
//! namespace.
//!
//! 1. Samba A holds `n` unique records of its own, `F0000001<20>` …,
//!    registered at A over UDP 137 from a client address.
//! 2. Samba B starts, empty; once it is up, A is added to its partners as
//!    a pull partner, and B pulls them at its next periodic run. Timed
//!    from B's first TCP SYN to A's port 42 (in a capture of the client
//!    namespace) until B's `wins.ldb` holds all `n` (polled with
//!    `ldbsearch`); B must hold each with A as owner and A's version.
//! 3. Samba B starts again, empty, with the same partners; our
//!    `WinsServer` holds the same `n` names (versions 1 to `n`) and
//!    notifies B at its partner's start; B pulls them on our stream. Timed
//!    from our partner's start until B's `wins.ldb` holds all `n`, polled
//!    the same way; B must hold each with our address as owner and our
//!    version.
//!
//! Steps 2 and 3 run `rounds` times, in alternating order (Samba's apply
//! is one fsync'd transaction per record, so the host's disk load moves
//! both). One line of figures per round and one of the medians: both
//! records/s and the ratio ours/Samba.

mod support;

use core::net::Ipv4Addr;
use core::time::Duration;
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use support::repl_tcp::{
    FIGURE_POLL, figure_names, ldb_count, nbns_register_many, serve_pull_figure,
};
use support::samba4::{PAIR_A, PAIR_B, Samba4Wins, ldb_records, run_driver_with};

const FIGURES: &str = "samba4_pull_figures";
/// Set in the environment of the driver that registers at Samba A.
const REGISTER_CHILD: &str = "NBNS_SAMBA4_FIGURES_REGISTER";
/// Set in the environment of the driver that serves Samba B's pull.
const PULL_CHILD: &str = "NBNS_SAMBA4_FIGURES_PULL";
/// Where the serving driver writes its time, in seconds.
const PULL_OUT: &str = "NBNS_SAMBA4_FIGURES_OUT";
/// Samba's periodic run (partners, pulls) every second, not every 15 s.
const PERIODIC: &str = "wreplsrv:periodic_interval = 1";
/// Samba B's partners at its start: our address, push and pull, no
/// periodic pull (it pulls when notified), as for the single instance.
const B_PARTNERS: &str = "2:3:0:0";
/// The longest either pull may take.
const PULL_LIMIT: Duration = Duration::from_secs(120);

/// Records of each pull (`NBNS_SAMBA4_PULL_RECORDS`, default 4,000:
/// Samba applies a pull at some hundred records a second).
fn figure_records() -> u64 {
    env_number("NBNS_SAMBA4_PULL_RECORDS", 4_000)
}

/// Rounds of both pulls (`NBNS_SAMBA4_PULL_ROUNDS`, default 3).
fn figure_rounds() -> u64 {
    env_number("NBNS_SAMBA4_PULL_ROUNDS", 3)
}

fn env_number(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
#[ignore = "a figure, not a check: NBNS_INTEROP=1 cargo test --test replication_samba4_figures -- --ignored --nocapture"]
fn samba4_pull_figures() {
    if std::env::var_os(REGISTER_CHILD).is_some() {
        return register_driver();
    }
    if std::env::var_os(PULL_CHILD).is_some() {
        return pull_driver();
    }
    if !support::interop_enabled(FIGURES) {
        return;
    }
    let started = Instant::now();
    let n = figure_records();
    let a_ip = PAIR_A.server_ip();

    // 1: A, with B as the partner it serves, and n records of its own.
    let a = Samba4Wins::start_instance(PAIR_A, &format!("{}:3:0:0", PAIR_B.octet), PERIODIC)
        .unwrap_or_else(|e| panic!("{e}"));
    run_driver_with(
        &a,
        FIGURES,
        &[(REGISTER_CHILD, "1".into())],
        "nbns-samba4-figures-register.pcap",
        60,
    );
    let at_a: HashMap<(String, u8), u64> = ldb_records(Path::new(a.wins_ldb()), &owned_by(a_ip))
        .into_iter()
        .map(|r| ((r.name, r.suffix), r.version))
        .collect();
    assert_eq!(at_a.len() as u64, n, "Samba A holds {} of {n}", at_a.len());

    let rate = |secs: f64| n as f64 / secs;
    let (mut from_samba, mut from_ours, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=figure_rounds() {
        let (samba, ours) = if round % 2 == 1 {
            let samba = pull_from_samba(n, &at_a);
            (samba, pull_from_ours(n))
        } else {
            let ours = pull_from_ours(n);
            (pull_from_samba(n, &at_a), ours)
        };
        eprintln!(
            "{FIGURES}: round {round}: {n} records pulled by Samba 4: from Samba 4 {:.0} records/s \
             ({samba:.1} s), from our server {:.0} records/s ({ours:.1} s); ours/Samba {:.2}",
            rate(samba),
            rate(ours),
            samba / ours
        );
        from_samba.push(rate(samba));
        from_ours.push(rate(ours));
        ratios.push(samba / ours);
    }
    a.stop().unwrap();
    eprintln!(
        "{FIGURES}: medians of {} rounds, {n} records each: Samba 4 pulling from Samba 4 {:.0} \
         records/s, from our server {:.0} records/s; ours/Samba {:.2}; {:.0} s in all",
        ratios.len(),
        median(&mut from_samba),
        median(&mut from_ours),
        median(&mut ratios),
        started.elapsed().as_secs_f64()
    );
}

/// Samba B, empty, pulls Samba A's records `at_a` (name → version, `n` of
/// them); returns the seconds from B's first SYN to A until B holds them
/// all, each with A as owner and A's version.
fn pull_from_samba(n: u64, at_a: &HashMap<(String, u8), u64>) -> f64 {
    let (a_ip, b_ip) = (PAIR_A.server_ip(), PAIR_B.server_ip());
    let pcap = std::env::temp_dir().join("nbns-samba4-figures-pull.pcap");
    let capture = support::tshark::capture(
        Some(&PAIR_A.client_netns()),
        "any",
        &format!("tcp port 42 and host {b_ip}"),
        &pcap,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // B starts as for our server's pull; once it is up, A becomes its
    // pull partner, and B's next periodic run (within a second) pulls.
    let b =
        Samba4Wins::start_instance(PAIR_B, B_PARTNERS, PERIODIC).unwrap_or_else(|e| panic!("{e}"));
    let b_ldb = Path::new(b.wins_ldb()).to_owned();
    let names = owned_by(a_ip);
    b.add_partners(&format!("{}:1:3600:0", PAIR_A.octet))
        .unwrap_or_else(|e| panic!("{e}"));
    let limit = Instant::now() + PULL_LIMIT;
    let end = loop {
        thread::sleep(FIGURE_POLL);
        if ldb_count(&b_ldb, &names) >= n {
            break epoch_now();
        }
        assert!(Instant::now() < limit, "B did not pull A's {n} records");
    };
    let pcap = capture.stop().unwrap_or_else(|e| panic!("{e}"));
    let took = end - first_syn(&pcap, b_ip, a_ip);
    assert!(took > 0.0, "B's first SYN to A after the pull ended");
    let held = ldb_records(&b_ldb, "(name=F*)");
    assert_eq!(held.len() as u64, n);
    for r in held {
        let want = at_a.get(&(r.name.clone(), r.suffix));
        assert_eq!(
            (r.owner, Some(r.version), r.state, r.record_type),
            (a_ip, want.copied(), 0, 0),
            "{r:?}"
        );
    }
    b.stop().unwrap();
    took
}

/// Samba B, empty, pulls the same `n` names from our server; returns the
/// serving driver's seconds.
fn pull_from_ours(n: u64) -> f64 {
    let b =
        Samba4Wins::start_instance(PAIR_B, "2:3:0:0", PERIODIC).unwrap_or_else(|e| panic!("{e}"));
    let out = std::env::temp_dir().join("nbns-samba4-figures-ours.txt");
    let _ = std::fs::remove_file(&out);
    run_driver_with(
        &b,
        FIGURES,
        &[
            (PULL_CHILD, "1".into()),
            (PULL_OUT, out.display().to_string()),
        ],
        "nbns-samba4-figures-ours.pcap",
        PULL_LIMIT.as_secs() + 30,
    );
    let took: f64 = std::fs::read_to_string(&out)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .expect("the serving driver's time");
    assert_eq!(
        ldb_count(Path::new(b.wins_ldb()), "(name=F*)"),
        n,
        "B holds other F names"
    );
    b.stop().unwrap();
    took
}

/// The `ldbsearch` filter of the figure's names owned by `owner`.
fn owned_by(owner: Ipv4Addr) -> String {
    format!("(&(winsOwner={owner})(name=F*))")
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        l if l % 2 == 1 => v[l / 2],
        l => (v[l / 2 - 1] + v[l / 2]) / 2.0,
    }
}

/// Now, in seconds since the epoch, as tshark's `frame.time_epoch`.
fn epoch_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The time (seconds since the epoch) of the first TCP SYN from `from` to
/// `to`, port 42, in the capture `pcap`.
fn first_syn(pcap: &Path, from: Ipv4Addr, to: Ipv4Addr) -> f64 {
    let filter = format!(
        "tcp.flags.syn == 1 && tcp.flags.ack == 0 && ip.src == {from} && ip.dst == {to} \
         && tcp.dstport == 42"
    );
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args(["-Y", &filter, "-T", "fields", "-e", "frame.time_epoch"])
        .output()
        .expect("tshark");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse::<f64>().ok())
        .reduce(f64::min)
        .unwrap_or_else(|| panic!("no SYN from {from} to {to}:42 in {}", pcap.display()))
}

// ---- The drivers, inside the client namespace -------------------------------

/// Registers the figure's names at Samba A from the third client address.
fn register_driver() {
    let server: Ipv4Addr = std::env::var("S4_SERVER").unwrap().parse().unwrap();
    let us: Ipv4Addr = std::env::var("S4_CLIENT").unwrap().parse().unwrap();
    let from = Ipv4Addr::from(u32::from(us) + 1);
    let names = figure_names(figure_records());
    let t0 = Instant::now();
    let failed = nbns_register_many(from, server, &names, 10);
    assert!(failed.is_empty(), "not registered: {failed:?}");
    eprintln!(
        "driver: {} names registered at Samba A in {:?}",
        names.len(),
        t0.elapsed()
    );
}

/// Serves Samba B's pull of the figure's names from our server at the
/// first client address; writes the time to `PULL_OUT`.
fn pull_driver() {
    let var = |k: &str| std::env::var(k).unwrap();
    let server: Ipv4Addr = var("S4_SERVER").parse().unwrap();
    let us: Ipv4Addr = var("S4_CLIENT").parse().unwrap();
    let n = figure_records();
    // The address Samba A's records carry: the registering client's.
    let took = serve_pull_figure(
        server,
        us,
        Path::new(&var("S4_LDB")),
        n,
        |_| Ipv4Addr::from(u32::from(PAIR_A.server_ip()) + 2),
        PULL_LIMIT,
    )
    .unwrap_or_else(|| panic!("Samba B did not hold our {n} records"));
    eprintln!("driver: Samba B pulled {n} records from our server in {took:?}");
    std::fs::write(var(PULL_OUT), took.as_secs_f64().to_string()).unwrap();
}
