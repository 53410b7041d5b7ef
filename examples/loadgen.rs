//! A bounded load generator for WINS (NBNS) servers over UDP.
//!
//! ```text
//! loadgen --server IP:PORT [--names N] [--requests N] [--duration SECS]
//!         [--inflight N] [--timeout-ms MS] [--seed N] [--no-prefill]
//!         [--first N] [--log-acks]
//! ```
//!
//! First (unless `--no-prefill`) every name is registered once, so that the
//! queries that follow find something. Then it sends a pseudo-random mix of
//! 20 % name registrations (opcode 5, RD), 75 % name queries and 5 %
//! releases over `--names` unique names (`LOAD0000000<20>` …), keeping
//! `--inflight` requests outstanding, and counts the requests answered
//! (positively or negatively) per second. A request unanswered after
//! `--timeout-ms` counts as lost. Every registration carries the address the
//! socket sends from, so the server never has to challenge an old owner.
//! `--first N` numbers the names from N (`LOAD<N>` ...), so that two runs
//! can register different names. `--log-acks` prints `ack NAME<20>` for
//! every positive registration answer (for crash tests: every name the
//! server acknowledged).
//!
//! It stops by itself: after `--requests` requests (default 200 000, at most
//! 10 000 000) or `--duration` seconds (default 10, at most 300) per phase,
//! whichever comes first, plus one timeout to collect late answers.
//!
//! **Targets**: only loopback addresses (127.0.0.0/8), or any address when
//! the generator runs inside a named network namespace (`ip netns add`, as
//! the test namespaces of `tests/peer/nmbd-wins.sh`), never from the host's
//! namespace: anything else is refused before a packet is sent. Use it
//! against your own servers only.
//!
//! The last line printed sums the mix phase up:
//!
//! ```text
//! loadgen: mix sent 200000 answered 200000 lost 0 in 1.234 s: 162074 answered/s, latency p50 380 us p99 910 us
//! ```

#[path = "cli/usage_exit.rs"]
mod usage_exit;

use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;
use std::collections::VecDeque;
use std::io;
use std::net::UdpSocket;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use nbns::wire::{Message, Name, NbAddrEntry, NbFlags, NetbiosName, NodeType, Opcode, Packet};
use usage_exit::usage_exit;

const MAX_REQUESTS: u64 = 10_000_000;
const MAX_DURATION: u64 = 300;
const MAX_INFLIGHT: usize = 4096;
const MAX_NAMES: u32 = 1_000_000;

struct Args {
    server: SocketAddrV4,
    names: u32,
    requests: u64,
    duration: Duration,
    inflight: usize,
    timeout: Duration,
    seed: u64,
    prefill: bool,
    first: u32,
    log_acks: bool,
}

/// A bounded load generator for WINS (NBNS) servers over UDP: registers
/// every name once, then sends a mix of 20 % registrations, 75 % queries
/// and 5 % releases and counts the answers.
#[derive(Debug, Parser)]
#[command(name = "loadgen")]
struct Cli {
    /// The server: a loopback address, or any address from inside a named
    /// network namespace.
    #[arg(long, value_name = "IP:PORT")]
    server: SocketAddrV4,
    /// Unique names (LOAD0000000<20> ...; 1 to 1,000,000).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    names: u32,
    /// Requests per phase (at most 10,000,000).
    #[arg(long, value_name = "N", default_value_t = 200_000)]
    requests: u64,
    /// Seconds per phase (at most 300).
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    duration: u64,
    /// Requests outstanding at once (1 to 4096).
    #[arg(long, value_name = "N", default_value_t = 64)]
    inflight: usize,
    /// A request unanswered after this long is lost (10 ms to 10 s).
    #[arg(long = "timeout-ms", value_name = "MS", default_value_t = 1000)]
    timeout_ms: u64,
    /// Seed of the request mix.
    #[arg(long, value_name = "N", default_value_t = 0x9E37_79B9_7F4A_7C15)]
    seed: u64,
    /// Skip registering every name first.
    #[arg(long = "no-prefill")]
    no_prefill: bool,
    /// Number the names from N (two runs can register different names).
    #[arg(long, value_name = "N", default_value_t = 0)]
    first: u32,
    /// Print `ack NAME<20>` for every positive registration answer.
    #[arg(long = "log-acks")]
    log_acks: bool,
}

/// Parses the command line: `--help` prints the options and exits 0; a
/// bad argument is one line on stderr and exit status 2.
fn parse_args() -> Args {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => usage_exit("loadgen", &e),
    };
    Args {
        server: cli.server,
        names: cli.names.clamp(1, MAX_NAMES),
        requests: cli.requests.min(MAX_REQUESTS),
        duration: Duration::from_secs(cli.duration.min(MAX_DURATION)),
        inflight: cli.inflight.clamp(1, MAX_INFLIGHT),
        timeout: Duration::from_millis(cli.timeout_ms)
            .clamp(Duration::from_millis(10), Duration::from_secs(10)),
        seed: cli.seed,
        prefill: !cli.no_prefill,
        first: cli.first,
        log_acks: cli.log_acks,
    }
}

/// Loopback always; other addresses only from inside a named network
/// namespace (one made by `ip netns add`, such as the test namespaces), never
/// from the host's own namespace.
fn check_target(ip: Ipv4Addr) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    if ip.is_loopback() {
        return Ok(());
    }
    let refuse = || {
        format!(
            "refusing to load {ip}: only 127.0.0.0/8, or addresses reached from inside a \
             private network namespace (ip netns exec ...), are allowed"
        )
    };
    let me = std::fs::metadata("/proc/self/ns/net").map_err(|_| refuse())?;
    let named = std::fs::read_dir("/run/netns")
        .map_err(|_| refuse())?
        .flatten()
        .filter_map(|e| std::fs::metadata(e.path()).ok())
        .any(|m| m.dev() == me.dev() && m.ino() == me.ino());
    if named { Ok(()) } else { Err(refuse()) }
}

/// What a request is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Register,
    Query,
    Release,
}

#[derive(Default)]
struct Phase {
    sent: u64,
    answered: u64,
    positive: u64,
    lost: u64,
    stray: u64,
    wacks: u64,
    elapsed: Duration,
    latencies_us: Vec<u32>,
}

impl Phase {
    fn rate(&self) -> f64 {
        self.answered as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn percentile(&self, p: f64) -> u32 {
        if self.latencies_us.is_empty() {
            return 0;
        }
        let i = ((self.latencies_us.len() - 1) as f64 * p).round() as usize;
        self.latencies_us.get(i).copied().unwrap_or(0)
    }

    fn report(&mut self, label: &str) {
        self.latencies_us.sort_unstable();
        println!(
            "loadgen: {label} sent {} answered {} lost {} in {:.3} s: {:.0} answered/s, \
             latency p50 {} us p99 {} us (positive {}, stray {}, wack {})",
            self.sent,
            self.answered,
            self.lost,
            self.elapsed.as_secs_f64(),
            self.rate(),
            self.percentile(0.5),
            self.percentile(0.99),
            self.positive,
            self.stray,
            self.wacks,
        );
    }
}

/// xorshift64
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

struct Generator {
    sock: UdpSocket,
    local: Ipv4Addr,
    names: Vec<NetbiosName>,
    timeout: Duration,
    inflight: usize,
    /// Per transaction ID: (sequence number, send time, kind, name) while
    /// outstanding.
    slots: Vec<Option<(u64, Instant, Kind, u32)>>,
    log_acks: bool,
    /// Outstanding requests in send order: (id, sequence number).
    fifo: VecDeque<(u16, u64)>,
    outstanding: usize,
    next_id: u16,
    seq: u64,
    buf: Vec<u8>,
}

impl Generator {
    fn request(&mut self, kind: Kind, name: u32, id: u16) -> usize {
        let n = Name::unscoped(self.names[name as usize]);
        let e = NbAddrEntry::new(NbFlags::new(false, NodeType::H), self.local);
        let p = match kind {
            Kind::Register => Message::registration_request(id, n, 300_000, e, false),
            Kind::Release => Message::release_request(id, n, e, false),
            Kind::Query => Message::name_query_request(id, n, false),
        };
        p.emit(&mut self.buf).unwrap_or(0)
    }

    fn free_id(&mut self) -> u16 {
        loop {
            self.next_id = self.next_id.wrapping_add(1);
            if self.slots[usize::from(self.next_id)].is_none() {
                return self.next_id;
            }
        }
    }

    /// Sends requests from `pick` until `total` were sent or `duration`
    /// passed, then waits at most one timeout for the last answers.
    fn run(
        &mut self,
        total: u64,
        duration: Duration,
        mut pick: impl FnMut(u64) -> (Kind, u32),
    ) -> io::Result<Phase> {
        let mut ph = Phase::default();
        let start = Instant::now();
        let send_until = start + duration;
        let mut last_answer = start;
        let mut rbuf = [0u8; 2048];
        loop {
            let now = Instant::now();
            let sending = ph.sent < total && now < send_until;
            if !sending && (self.outstanding == 0 || now >= send_until + self.timeout) {
                break;
            }
            while sending && self.outstanding < self.inflight && ph.sent < total {
                let (kind, name) = pick(ph.sent);
                let id = self.free_id();
                let len = self.request(kind, name, id);
                match self.sock.send(&self.buf[..len]) {
                    Ok(_) => {}
                    // a full socket buffer: try again after reading
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    // an ICMP port unreachable for an earlier datagram:
                    // the server is gone (for now)
                    Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                        ph.stray += 1;
                        break;
                    }
                    Err(e) => return Err(e),
                }
                self.seq += 1;
                self.slots[usize::from(id)] = Some((self.seq, Instant::now(), kind, name));
                self.fifo.push_back((id, self.seq));
                self.outstanding += 1;
                ph.sent += 1;
            }
            match self.sock.recv(&mut rbuf) {
                Ok(n) => {
                    let Ok(p) = Packet::parse(&rbuf[..n]) else {
                        ph.stray += 1;
                        continue;
                    };
                    if !p.is_response() {
                        ph.stray += 1;
                        continue;
                    }
                    let slot = &mut self.slots[usize::from(p.id)];
                    let Some((_, sent_at, kind, name)) = *slot else {
                        ph.stray += 1;
                        continue;
                    };
                    if p.opcode() == Opcode::Wack {
                        ph.wacks += 1;
                        continue;
                    }
                    *slot = None;
                    self.outstanding -= 1;
                    ph.answered += 1;
                    if u8::from(p.rcode()) == 0 {
                        ph.positive += 1;
                        if self.log_acks && kind == Kind::Register {
                            println!("ack {}", self.names[name as usize]);
                        }
                    }
                    let now = Instant::now();
                    last_answer = now;
                    let us = now.duration_since(sent_at).as_micros();
                    ph.latencies_us.push(u32::try_from(us).unwrap_or(u32::MAX));
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    // ICMP port unreachable: the server is not there (yet)
                    ph.stray += 1;
                }
                Err(e) => return Err(e),
            }
            // expire the oldest requests
            let now = Instant::now();
            while let Some(&(id, seq)) = self.fifo.front() {
                match self.slots[usize::from(id)] {
                    Some((s, at, _, _)) if s == seq => {
                        if now.duration_since(at) < self.timeout {
                            break;
                        }
                        self.slots[usize::from(id)] = None;
                        self.outstanding -= 1;
                        ph.lost += 1;
                        self.fifo.pop_front();
                    }
                    _ => {
                        self.fifo.pop_front();
                    }
                }
            }
        }
        ph.elapsed = last_answer.max(start + Duration::from_millis(1)) - start;
        Ok(ph)
    }
}

fn run(a: &Args) -> Result<(), String> {
    check_target(*a.server.ip())?;
    let sock = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).map_err(|e| e.to_string())?;
    sock.connect(a.server)
        .map_err(|e| format!("connect {}: {e}", a.server))?;
    sock.set_read_timeout(Some(Duration::from_millis(2)))
        .map_err(|e| e.to_string())?;
    let local = match sock.local_addr().map_err(|e| e.to_string())? {
        core::net::SocketAddr::V4(v4) => *v4.ip(),
        core::net::SocketAddr::V6(_) => return Err("not an IPv4 socket".to_owned()),
    };
    let names = (0..a.names)
        .map(|i| {
            let n = a.first.saturating_add(i);
            NetbiosName::new(&format!("LOAD{n:07}"), 0x20).map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    eprintln!(
        "loadgen: {} -> {}: {} names, at most {} requests or {:?} per phase, {} in flight",
        local, a.server, a.names, a.requests, a.duration, a.inflight
    );
    let mut g = Generator {
        sock,
        local,
        names,
        timeout: a.timeout,
        inflight: a.inflight,
        slots: vec![None; 65_536],
        log_acks: a.log_acks,
        fifo: VecDeque::with_capacity(a.inflight * 2),
        outstanding: 0,
        next_id: 0,
        seq: 0,
        buf: vec![0; 512],
    };
    if a.prefill {
        let count = u64::from(a.names);
        let mut ph = g
            .run(count, a.duration, |i| {
                (Kind::Register, u32::try_from(i).unwrap_or(0))
            })
            .map_err(|e| e.to_string())?;
        ph.report("prefill");
    }
    let mut rng = Rng(a.seed | 1);
    let names = u64::from(a.names);
    let mut ph = g
        .run(a.requests, a.duration, |_| {
            let r = rng.next();
            let name = u32::try_from(r % names).unwrap_or(0);
            let kind = match (r >> 40) % 100 {
                0..20 => Kind::Register,
                20..25 => Kind::Release,
                _ => Kind::Query,
            };
            (kind, name)
        })
        .map_err(|e| e.to_string())?;
    ph.report("mix");
    Ok(())
}

fn main() -> ExitCode {
    match run(&parse_args()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
