//! A WINS server on UDP.
//!
//! ```text
//! wins_server [--listen ADDR:PORT] [--db FILE] [--min-ttl SECS] [--max-ttl SECS]
//!             [--address IP] [--run-for SECS] [--max-datagrams N] [--log-requests]
//! ```
//!
//! * `--listen`: where to serve (default `0.0.0.0:137`; port 137 needs
//!   privileges).
//! * `--db FILE`: load the database from FILE if it exists, and save it
//!   there after changes (at most every 5 s) and on exit. The time the
//!   server was down counts: a name whose TTL ran out meanwhile expires at
//!   start.
//! * `--min-ttl`, `--max-ttl`: bounds of the granted TTL (defaults 21600
//!   and 518400).
//! * `--address`: the server's own address, owner of its records (default:
//!   the listening address).
//! * `--run-for`, `--max-datagrams`: stop after this long or this many
//!   datagrams (default: run forever), for bounded test runs.
//! * `--log-requests`: also print one line per request received
//!   (`request <kind> opcode <n> <name> from <addr>`), for tests and
//!   debugging; off by default, as it costs throughput.
//!
//! Prints one line per database change on stdout, such as
//! `added HOST<20> unique 10.0.0.7 version 3`.

use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use core::time::Duration;
use std::fs::File;
use std::io::{self, BufWriter};
use std::net::UdpSocket;
use std::process::ExitCode;
use std::time::{Instant, SystemTime};

use nbns::server::{ServerConfig, WinsServer};
use nbns::wire::Packet;

struct Args {
    listen: SocketAddrV4,
    db: Option<String>,
    config: ServerConfig,
    run_for: Option<Duration>,
    max_datagrams: Option<u64>,
    log_requests: bool,
}

fn usage() -> String {
    "usage: wins_server [--listen ADDR:PORT] [--db FILE] [--min-ttl SECS] [--max-ttl SECS] \
     [--address IP] [--run-for SECS] [--max-datagrams N] [--log-requests]"
        .to_owned()
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        listen: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 137),
        db: None,
        config: ServerConfig::default(),
        run_for: None,
        max_datagrams: None,
        log_requests: false,
    };
    let mut address = None;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err(usage());
        }
        if flag == "--log-requests" {
            a.log_requests = true;
            continue;
        }
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{}", usage()))?;
        let bad = |e: &dyn core::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--listen" => a.listen = value.parse().map_err(|e| bad(&e))?,
            "--db" => a.db = Some(value),
            "--min-ttl" => a.config.min_ttl = value.parse().map_err(|e| bad(&e))?,
            "--max-ttl" => a.config.max_ttl = value.parse().map_err(|e| bad(&e))?,
            "--address" => address = Some(value.parse().map_err(|e| bad(&e))?),
            "--run-for" => {
                a.run_for = Some(Duration::from_secs(value.parse().map_err(|e| bad(&e))?));
            }
            "--max-datagrams" => a.max_datagrams = Some(value.parse().map_err(|e| bad(&e))?),
            _ => return Err(format!("unknown option {flag}\n{}", usage())),
        }
    }
    a.config.address = address.unwrap_or(*a.listen.ip());
    Ok(a)
}

fn save(server: &WinsServer, path: &str) -> io::Result<()> {
    let tmp = format!("{path}.tmp");
    let mut w = BufWriter::new(File::create(&tmp)?);
    server.save_to_stamped(&mut w, Instant::now(), SystemTime::now())?;
    drop(w);
    std::fs::rename(tmp, path)
}

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

fn run(a: Args) -> Result<(), String> {
    let start = Instant::now();
    let mut server = match &a.db {
        Some(path) => match File::open(path) {
            Ok(f) => WinsServer::load_from_at(f, a.config.clone(), start, SystemTime::now())
                .map_err(|e| format!("{path}: {e}"))?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                WinsServer::new(a.config.clone(), start)
            }
            Err(e) => return Err(format!("{path}: {e}")),
        },
        None => WinsServer::new(a.config.clone(), start),
    };
    let sock = UdpSocket::bind(a.listen).map_err(|e| format!("bind {}: {e}", a.listen))?;
    eprintln!(
        "wins_server: serving on {} with {} records, version counter {}",
        a.listen,
        server.len(),
        server.version_counter()
    );
    let mut buf = [0u8; 2048];
    let mut datagrams = 0u64;
    let mut dirty = false;
    let mut last_save = start;
    loop {
        let now = Instant::now();
        if a.run_for.is_some_and(|d| now >= start + d)
            || a.max_datagrams.is_some_and(|n| datagrams >= n)
        {
            break;
        }
        // Wake for the next timer, the save interval, or the run limit; at
        // most once a second.
        let mut wake = now + Duration::from_secs(1);
        if let Some(t) = server.poll_timeout() {
            wake = wake.min(t);
        }
        if let Some(d) = a.run_for {
            wake = wake.min(start + d);
        }
        let wait = wake
            .saturating_duration_since(now)
            .max(Duration::from_millis(1));
        sock.set_read_timeout(Some(wait))
            .map_err(|e| e.to_string())?;
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
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                server.handle_timeout(Instant::now());
            }
            Err(e) => eprintln!("wins_server: recv: {e}"),
        }
        while let Some(t) = server.poll_transmit() {
            if let Err(e) = sock.send_to(&t.contents, t.destination) {
                eprintln!("wins_server: send to {}: {e}", t.destination);
            }
        }
        while let Some(ev) = server.poll_event() {
            println!("{ev}");
            dirty = true;
        }
        if let Some(path) = &a.db
            && dirty
            && last_save.elapsed() >= Duration::from_secs(5)
        {
            save(&server, path).map_err(|e| format!("{path}: {e}"))?;
            dirty = false;
            last_save = Instant::now();
        }
    }
    if let Some(path) = &a.db {
        save(&server, path).map_err(|e| format!("{path}: {e}"))?;
    }
    eprintln!(
        "wins_server: stopping after {datagrams} datagrams; {:?}",
        server.stats()
    );
    Ok(())
}

fn main() -> ExitCode {
    match parse_args().and_then(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
