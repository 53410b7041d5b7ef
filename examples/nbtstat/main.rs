//! `nbtstat` over UDP: release and re-register names at WINS servers
//! (`-RR`), hold them (`--hold`), list them (`-n`) and ask other nodes for
//! their name tables (`-a`, `-A`), on top of the crate's sans-IO
//! [`NameClient`](nbns::client::NameClient).
//!
//! ```text
//! cargo run --example nbtstat -- -RR                       # embedded WINS server on loopback
//! nbtstat -RR --wins 10.0.0.1 --name 'HOST<00>' --name 'HOST<20>' --addr 10.0.0.7
//! nbtstat --hold --wins 10.0.0.1 --name 'HOST<00>' --addr 10.0.0.7
//! nbtstat -A 10.0.0.1
//! nbtstat -a WINSSRV --wins 10.0.0.1
//! ```
//!
//! Run with `--help` for every option. Exit codes: 0 all fine, 1 some
//! names failed (or the request failed), 2 usage.
//!
//! With no `--wins`, `-RR` starts the crate's [`WinsServer`](nbns::server::WinsServer)
//! in this process on 127.0.0.1 (an ephemeral port), registers the names
//! from 127.0.0.2, runs `-RR` against it and prints each record's version ID
//! before and after: the release marks the records released, and the new
//! registration makes them active again with new version IDs.
//!
//! With `--wins`, the socket is bound to the registered address (`--addr`)
//! and port 137 (`--port` to change), because registrations and releases
//! must leave from the address they carry and WINS servers challenge a
//! name's owner at `<address>:137`.

mod args;
mod cooldown;
mod embedded;
mod node;
mod report;
mod status;

use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;
use std::io::BufRead;
use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Instant;

use nbns::wire::{NAME_SERVICE_PORT, NetbiosName};
use serde_json::json;

use args::{Args, Mode, NameArg};
use node::Node;
use report::{Reporter, TableRow, name_json, padded};

/// Why a run did not end well.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Bad arguments (exit code 2).
    Usage(String),
    /// Could not do the job at all (exit code 1).
    Error(String),
    /// Some names failed; already reported (exit code 1).
    Failed,
}

fn main() -> ExitCode {
    let args = match args::parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("nbtstat: {e}\n(nbtstat --help lists the options)");
            return ExitCode::from(2);
        }
    };
    let out = Reporter { json: args.json };
    let result = match &args.mode {
        Mode::Help => {
            println!("{}", args::USAGE);
            Ok(())
        }
        Mode::ReleaseRefresh if args.wins.is_empty() => rr_embedded(&args, out),
        Mode::ReleaseRefresh => rr_wins(&args, out),
        Mode::Register => register(&args, out),
        Mode::Hold => hold(&args, out),
        Mode::LocalNames => local_names(&args, out),
        Mode::StatusByName(name) => status_by_name(&args, *name, out),
        Mode::StatusByAddr(to) => status_by_addr(&args, *to, out),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(m)) => {
            eprintln!("nbtstat: {m}");
            ExitCode::from(2)
        }
        Err(Failure::Error(m)) => {
            if out.json {
                println!("{}", json!({ "event": "error", "message": m }));
            }
            eprintln!("nbtstat: {m}");
            ExitCode::from(1)
        }
        Err(Failure::Failed) => ExitCode::from(1),
    }
}

/// The host name, as NetBIOS takes it: the first DNS label, upper case, at
/// most 15 characters.
fn host_name() -> Option<String> {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())?;
    let first = raw.trim().split('.').next()?.to_ascii_uppercase();
    let name: String = first
        .chars()
        .filter(|c| c.is_ascii_graphic() && *c != '*')
        .take(15)
        .collect();
    (!name.is_empty()).then_some(name)
}

/// The names given, or the host name `<00>` and `<20>` (`NBNSDEMO` when the
/// host has no usable name).
fn names_or_default(args: &Args) -> Vec<NameArg> {
    if !args.names.is_empty() {
        return args.names.clone();
    }
    let host = host_name().unwrap_or_else(|| "NBNSDEMO".to_owned());
    [0x00, 0x20]
        .into_iter()
        .filter_map(|suffix| NetbiosName::new(&host, suffix).ok())
        .map(|name| NameArg { name, group: false })
        .collect()
}

/// `--addr`, or the local address on the route to the primary WINS server
/// (found by connecting a UDP socket, which sends nothing).
fn local_addr(args: &Args) -> Result<Ipv4Addr, Failure> {
    if let Some(a) = args.addr {
        return Ok(a);
    }
    let Some(primary) = args.wins.first() else {
        return Ok(Ipv4Addr::UNSPECIFIED);
    };
    route_source(*primary).ok_or_else(|| {
        Failure::Error(format!(
            "no route to the WINS server {primary}, or no local address on it: give --addr"
        ))
    })
}

/// The local address on the route to `to`, found by connecting a UDP
/// socket (which sends nothing).
fn route_source(to: SocketAddrV4) -> Option<Ipv4Addr> {
    let s = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    s.connect(to).ok()?;
    match s.local_addr().ok()? {
        SocketAddr::V4(a) if !a.ip().is_unspecified() => Some(*a.ip()),
        _ => None,
    }
}

fn state_path(args: &Args) -> PathBuf {
    args.state.clone().unwrap_or_else(cooldown::default_path)
}

/// The cooldown key of a set of WINS servers.
fn wins_key(wins: &[SocketAddrV4]) -> String {
    let list: Vec<String> = wins.iter().map(ToString::to_string).collect();
    format!("wins={}", list.join(","))
}

/// Refuses a `-RR` within the cooldown, as Windows does, before anything is
/// sent.
fn check_cooldown(path: &std::path::Path, key: &str, out: Reporter) -> Result<(), Failure> {
    let remaining = cooldown::remaining(path, key).map_err(|e| {
        Failure::Error(format!("cannot read the -RR state {}: {e}", path.display()))
    })?;
    let Some(left) = remaining else {
        return Ok(());
    };
    let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
    out.emit(
        &format!(
            "Failed to Release and Refresh the registration of the NetBIOS names: -RR can be \
             repeated only after 2 minutes. Retry in {secs} seconds.\n(state: {}, {key})",
            path.display()
        ),
        &json!({ "event": "refused", "retry_after_secs": secs,
                 "state_file": path.display().to_string(), "key": key }),
    );
    Err(Failure::Failed)
}

fn record_cooldown(path: &std::path::Path, key: &str, out: Reporter) {
    if let Err(e) = cooldown::record(path, key) {
        out.note(&format!(
            "warning: cannot write the -RR state {}: {e}",
            path.display()
        ));
    }
}

/// Prints how many names ended registered; `Err(Failed)` unless all did.
fn summary(node: &Node, names: &[NameArg], done_text: &str, out: Reporter) -> Result<(), Failure> {
    let ok = node.registered_count(names);
    let all = ok == names.len();
    let text = if all {
        done_text.to_owned()
    } else {
        format!("{ok} of {} names registered", names.len())
    };
    out.emit(
        &text,
        &json!({ "event": "summary", "registered": ok, "names": names.len(), "ok": all }),
    );
    if all { Ok(()) } else { Err(Failure::Failed) }
}

fn rr_wins(args: &Args, out: Reporter) -> Result<(), Failure> {
    let names = names_or_default(args);
    let path = state_path(args);
    let key = wins_key(&args.wins);
    check_cooldown(&path, &key, out)?;
    let addr = local_addr(args)?;
    let sock = node::bind(addr, args.port.unwrap_or(NAME_SERVICE_PORT))?;
    let mut node = Node::new(sock, &args.wins, out).map_err(|e| Failure::Error(e.to_string()))?;
    // This process did not register the names: the WINS server holds them
    // from an earlier run (or another nbtstat). Adopted, they count as
    // registered at the primary, so re-register-all releases them there
    // first and registers them again, as `nbtstat -RR` does. The TTL only
    // schedules a refresh, which this short run never reaches.
    node.adopt_names(&names, node.client.config().requested_ttl)?;
    let now = Instant::now();
    node.client
        .reregister_all(now)
        .map_err(|e| Failure::Error(e.to_string()))?;
    record_cooldown(&path, &key, out);
    out.note(&format!(
        "releasing and registering again {} names for {addr} at {}",
        names.len(),
        key.trim_start_matches("wins=")
    ));
    node.run_until_settled(&names, args.timeout);
    summary(
        &node,
        &names,
        "The NetBIOS names registered by this computer have been refreshed.",
        out,
    )
}

fn rr_embedded(args: &Args, out: Reporter) -> Result<(), Failure> {
    let names = names_or_default(args);
    let path = state_path(args);
    let key = "embedded";
    check_cooldown(&path, key, out)?;
    let server = embedded::Embedded::start()
        .map_err(|e| Failure::Error(format!("cannot start the embedded WINS server: {e}")))?;
    // The client on another loopback address than the server's (Linux
    // routes all of 127/8 to lo), or 127.0.0.1 where that is not possible.
    let port = args.port.unwrap_or(0);
    let sock = match args.addr {
        Some(a) => node::bind(a, port)?,
        None => node::bind(Ipv4Addr::new(127, 0, 0, 2), port)
            .or_else(|_| node::bind(Ipv4Addr::LOCALHOST, port))?,
    };
    let mut node =
        Node::new(sock, &[server.addr], out).map_err(|e| Failure::Error(e.to_string()))?;
    out.note(&format!(
        "no --wins given: using an embedded WINS server on {}; names registered for {}",
        server.addr,
        node.local.ip()
    ));
    node.add_names(&names)?;
    if !node.run_until_settled(&names, Duration::from_secs(15))
        || node.registered_count(&names) != names.len()
    {
        return Err(Failure::Error(
            "the embedded WINS server did not register the names".to_owned(),
        ));
    }
    let before: Vec<Option<u64>> = names.iter().map(|n| server.version(n.name)).collect();
    node.outcome.clear();
    node.client
        .reregister_all(Instant::now())
        .map_err(|e| Failure::Error(e.to_string()))?;
    record_cooldown(&path, key, out);
    out.note("-RR: releasing the names and registering them again");
    node.run_until_settled(&names, args.timeout);
    let after: Vec<Option<u64>> = names.iter().map(|n| server.version(n.name)).collect();

    if !out.json {
        println!("\n    Name                 Version ID before  after");
        println!("    -----------------------------------------------");
    }
    let mut increased = true;
    for ((n, b), a) in names.iter().zip(&before).zip(&after) {
        let show = |v: &Option<u64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
        // Normal groups stay active at a release (nmbd and this crate's
        // server): only unique names must get new versions.
        increased &= n.group || matches!((b, a), (Some(b), Some(a)) if a > b);
        let mut v = json!({ "event": "version", "before": b, "after": a });
        if let (Some(obj), serde_json::Value::Object(name)) =
            (v.as_object_mut(), name_json(&n.name))
        {
            obj.extend(name);
        }
        out.emit(
            &format!("    {}  {:>17}  {:>5}", padded(&n.name), show(b), show(a)),
            &v,
        );
    }
    if !out.json {
        println!();
    }
    let result = summary(
        &node,
        &names,
        "The NetBIOS names registered by this computer have been refreshed.",
        out,
    );
    if result.is_ok() && !increased {
        out.note("a version ID did not increase");
        return Err(Failure::Failed);
    }
    result
}

fn register(args: &Args, out: Reporter) -> Result<(), Failure> {
    let names = names_or_default(args);
    let addr = local_addr(args)?;
    let sock = node::bind(addr, args.port.unwrap_or(NAME_SERVICE_PORT))?;
    let mut node = Node::new(sock, &args.wins, out).map_err(|e| Failure::Error(e.to_string()))?;
    node.add_names(&names)?;
    node.run_until_settled(&names, args.timeout);
    summary(&node, &names, "The NetBIOS names are registered.", out)
}

/// Commands read from standard input in hold mode.
fn spawn_stdin_reader() -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        for line in stdin.lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line.trim().to_owned()).is_err() {
                return;
            }
        }
        let _ = tx.send("eof".to_owned());
    });
    rx
}

fn hold(args: &Args, out: Reporter) -> Result<(), Failure> {
    let names = names_or_default(args);
    let addr = local_addr(args)?;
    let sock = node::bind(addr, args.port.unwrap_or(NAME_SERVICE_PORT))?;
    let mut node = Node::new(sock, &args.wins, out).map_err(|e| Failure::Error(e.to_string()))?;
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let flag = Arc::clone(&interrupted);
        ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed))
            .map_err(|e| Failure::Error(format!("cannot handle Ctrl-C: {e}")))?;
    }
    let commands = args.stdin.then(spawn_stdin_reader);
    let deadline = args
        .hold_seconds
        .map(|s| Instant::now() + Duration::from_secs(s));
    node.add_names(&names)?;
    let mut announced = false;
    let path = state_path(args);
    let key = wins_key(&args.wins);
    loop {
        if interrupted.load(Ordering::Relaxed) {
            out.note("interrupted: releasing the names");
            break;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        node.step(Duration::from_millis(200));
        if !announced && node.all_settled(&names) {
            announced = true;
            out.table("Local", addr, &node.table_rows(), None, None);
            out.emit(
                &format!(
                    "holding {} names on {}; Ctrl-C{} releases them",
                    names.len(),
                    node.local,
                    if args.stdin {
                        ", `quit` or end of input"
                    } else {
                        ""
                    }
                ),
                &json!({ "event": "holding", "names": names.len(),
                         "registered": node.registered_count(&names),
                         "local": node.local.to_string() }),
            );
        }
        let Some(rx) = &commands else { continue };
        let mut quit = false;
        while let Ok(cmd) = rx.try_recv() {
            match cmd.as_str() {
                "" => {}
                "refresh" => node.client.refresh_now(Instant::now()),
                "names" | "-n" => out.table("Local", addr, &node.table_rows(), None, None),
                "rr" | "-RR" => {
                    if check_cooldown(&path, &key, out).is_ok() {
                        match node.client.reregister_all(Instant::now()) {
                            Ok(()) => {
                                record_cooldown(&path, &key, out);
                                node.outcome.clear();
                            }
                            Err(e) => out.note(&e.to_string()),
                        }
                    }
                }
                "quit" | "exit" | "release" | "eof" => quit = true,
                other => out.note(&format!(
                    "unknown command {other:?}: refresh, names, rr or quit"
                )),
            }
        }
        if quit {
            break;
        }
    }
    let ok = node.registered_count(&names);
    node.release_all(&names);
    out.emit(
        &format!("released the names; sent {} datagrams", node.sent),
        &json!({ "event": "summary", "registered": ok, "names": names.len(),
                 "ok": ok == names.len(), "sent": node.sent }),
    );
    if ok == names.len() {
        Ok(())
    } else {
        Err(Failure::Failed)
    }
}

fn local_names(args: &Args, out: Reporter) -> Result<(), Failure> {
    let names = names_or_default(args);
    if args.wins.is_empty() {
        let rows: Vec<TableRow> = names
            .iter()
            .map(|n| TableRow {
                name: n.name,
                group: n.group,
                status: "Not registered (no WINS server)".to_owned(),
            })
            .collect();
        let node = args.addr.unwrap_or(Ipv4Addr::UNSPECIFIED);
        out.table("Local", node, &rows, None, None);
        return Ok(());
    }
    let addr = local_addr(args)?;
    let sock = node::bind(addr, args.port.unwrap_or(0))?;
    let mut asker = status::Asker::new(sock);
    let mut rows = Vec::new();
    let mut all = true;
    for n in &names {
        let mut answer = None;
        for &server in &args.wins {
            answer = asker.query(server, n.name)?;
            if answer.is_some() {
                break;
            }
        }
        let status = match answer {
            Some(Ok(addrs)) if n.group || addrs.contains(&addr) => "Registered".to_owned(),
            Some(Ok(addrs)) => {
                all = false;
                let list: Vec<String> = addrs.iter().map(ToString::to_string).collect();
                format!("Conflict (held by {})", list.join(","))
            }
            Some(Err(rcode)) => {
                all = false;
                format!("Not registered ({rcode})")
            }
            None => {
                all = false;
                "No answer from WINS".to_owned()
            }
        };
        rows.push(TableRow {
            name: n.name,
            group: n.group,
            status,
        });
    }
    out.table("Local", addr, &rows, None, None);
    if all { Ok(()) } else { Err(Failure::Failed) }
}

fn status_by_addr(args: &Args, to: SocketAddrV4, out: Reporter) -> Result<(), Failure> {
    let bind_ip = args.addr.unwrap_or(Ipv4Addr::UNSPECIFIED);
    let sock = node::bind(bind_ip, args.port.unwrap_or(0))?;
    let mut asker = status::Asker::new(sock);
    match asker.node_status(to)? {
        Some((rows, mac)) => {
            let local = if bind_ip.is_unspecified() {
                route_source(to).unwrap_or_else(|| asker.local_ip())
            } else {
                bind_ip
            };
            out.table("Remote Machine", local, &rows, mac, Some(*to.ip()));
            Ok(())
        }
        None => {
            out.emit(
                "    Host not found.",
                &json!({ "event": "host_not_found", "address": to.to_string() }),
            );
            Err(Failure::Failed)
        }
    }
}

fn status_by_name(args: &Args, name: NetbiosName, out: Reporter) -> Result<(), Failure> {
    let bind_ip = args.addr.unwrap_or(Ipv4Addr::UNSPECIFIED);
    let sock = node::bind(bind_ip, args.port.unwrap_or(0))?;
    let mut asker = status::Asker::new(sock);
    let mut found = None;
    for &server in &args.wins {
        match asker.query(server, name)? {
            Some(Ok(addrs)) => {
                found = addrs
                    .into_iter()
                    .find(|a| !a.is_unspecified() && !a.is_broadcast());
                break;
            }
            Some(Err(_)) => break,
            None => {}
        }
    }
    let Some(ip) = found else {
        out.emit(
            "    Host not found.",
            &json!({ "event": "host_not_found", "name": name.to_string() }),
        );
        return Err(Failure::Failed);
    };
    status_by_addr(args, SocketAddrV4::new(ip, NAME_SERVICE_PORT), out)
}
