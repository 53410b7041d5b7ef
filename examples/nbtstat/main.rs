//! `nbtstat` over UDP: release and re-register names at WINS servers
//! (`-RR`), register, release and hold them (`--register`, `--release`,
//! `--hold`), list them (`-n`) and ask other nodes for their name tables
//! (`-a`, `-A`). The names are the crate's tokio driver
//! [`NameNode`](nbns::tokio::NameNode) ([`node`], [`hold`]); `-a` resolves
//! with the crate's [`Resolver`](nbns::resolver::Resolver), by WINS or by
//! broadcast ([`resolve`]).
//!
//! ```text
//! nbtstat -RR                                  # the WINS servers this host is configured with
//! nbtstat -RR --wins wins1.example --wins 10.0.0.2 --name 'HOST<00>' --name 'HOST<20>' --addr 10.0.0.7
//! nbtstat --hold --wins 10.0.0.1 --name 'HOST<00>' --addr 10.0.0.7
//! nbtstat -A 10.0.0.1
//! nbtstat -a WINSSRV --wins 10.0.0.1
//! nbtstat -a FILESRV                           # no WINS server: by broadcast
//! cargo run --example nbtstat -- -RR           # on a host with no WINS server: a demonstration
//! ```
//!
//! Run with `--help` for every option and the exit codes ([`args::exit`]).
//!
//! The WINS servers are `--wins`, else those this host is configured with
//! (Samba's smb.conf, then DHCP leases: [`config`]). With none, `-RR` is a
//! demonstration, and says so: it starts the crate's
//! [`WinsServer`](nbns::server::WinsServer) in this process on 127.0.0.1
//! (an ephemeral port), registers the names from 127.0.0.2, runs `-RR`
//! against it and prints each record's version ID before and after.
//!
//! Against real servers the socket is bound to the registered address
//! (`--addr`) and port 137 (`--port` to change), because registrations and
//! releases must leave from the address they carry and WINS servers
//! challenge a name's owner at `<address>:137`.

mod args;
mod config;
mod cooldown;
mod embedded;
mod hold;
mod node;
mod report;
mod resolve;
mod status;
#[path = "../cli/usage_exit.rs"]
mod usage_exit;

use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use core::time::Duration;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use nbns::client::ReleaseOutcome;
use nbns::resolver::ResolverEvent;
use nbns::wire::{NAME_SERVICE_PORT, NetbiosName};
use serde_json::json;

use args::{Args, Mode, NameArg, Parsed, exit};
use node::{Node, Outcomes};
use report::{Reporter, TableRow, name_json, padded};

/// How long registrations may take when `--timeout` is not given.
const REGISTRATION_TIMEOUT: Duration = Duration::from_secs(180);

/// Why a run did not end well.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Bad arguments ([`exit::USAGE`]).
    Usage(String),
    /// Could not do the job at all ([`exit::FAILED`]).
    Error(String),
    /// Some names failed, or nothing answered; already reported
    /// ([`exit::FAILED`]).
    Failed,
    /// `-RR` refused by the cooldown; already reported ([`exit::REFUSED`]).
    Refused,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut args = match args::parse(std::env::args().skip(1).collect()) {
        Parsed::Run(a) => *a,
        Parsed::Exit(text, code) => {
            if code == exit::OK {
                print!("{text}");
            } else {
                eprintln!("{text}");
            }
            return ExitCode::from(code);
        }
    };
    let out = Reporter { json: args.json };
    let result = match servers(&mut args, out) {
        Ok(()) => run(&args, out).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => ExitCode::from(exit::OK),
        Err(Failure::Usage(m)) => {
            eprintln!("nbtstat: {m}");
            ExitCode::from(exit::USAGE)
        }
        Err(Failure::Error(m)) => {
            if out.json {
                println!("{}", json!({ "event": "error", "message": m }));
            }
            eprintln!("nbtstat: {m}");
            ExitCode::from(exit::FAILED)
        }
        Err(Failure::Failed) => ExitCode::from(exit::FAILED),
        Err(Failure::Refused) => ExitCode::from(exit::REFUSED),
    }
}

/// Does what `args` ask.
async fn run(args: &Args, out: Reporter) -> Result<(), Failure> {
    match &args.mode {
        Mode::ReleaseRefresh if args.wins.is_empty() => rr_embedded(args, out).await,
        Mode::ReleaseRefresh => rr_wins(args, out).await,
        Mode::Register => register(args, out).await,
        Mode::Release => release(args, out).await,
        Mode::Hold => hold::run(args, out).await,
        Mode::LocalNames => local_names(args, out).await,
        Mode::StatusByName(name) => status_by_name(args, *name, out).await,
        Mode::StatusByAddr(to) => status_by_addr(args, *to, out).await,
    }
}

/// Fills `args.wins` from the system's configuration when `--wins` is not
/// given (not for `-A`, which needs none), and removes repeated servers
/// (the first stays, so the primary stays primary).
fn servers(args: &mut Args, out: Reporter) -> Result<(), Failure> {
    if args.wins.is_empty() && !matches!(args.mode, Mode::StatusByAddr(_)) {
        let mut notes = Vec::new();
        let found = config::discover(args.configfile.as_deref(), &mut notes);
        for n in &notes {
            out.note(n);
        }
        if let Some(found) = found.map_err(Failure::Usage)? {
            for s in &found.servers {
                let server = args::parse_server(s, &found.source).map_err(Failure::Error)?;
                args.wins.push(server);
            }
            let list: Vec<String> = args.wins.iter().map(ToString::to_string).collect();
            out.note(&format!(
                "WINS servers from {}: {}",
                found.source,
                list.join(", ")
            ));
        }
    }
    let mut unique: Vec<SocketAddrV4> = Vec::with_capacity(args.wins.len());
    for w in &args.wins {
        if !unique.contains(w) {
            unique.push(*w);
        }
    }
    args.wins = unique;
    // A hold by broadcast (`--node-type b|m|h`) needs none.
    let needs_wins = match args.mode {
        Mode::Register | Mode::Release => true,
        Mode::Hold => !holds_by_broadcast(args),
        _ => false,
    };
    if needs_wins && args.wins.is_empty() {
        return Err(Failure::Usage(
            "no WINS server is configured on this host (smb.conf, DHCP): give --wins HOST[:PORT]"
                .to_owned(),
        ));
    }
    Ok(())
}

/// The host name, as NetBIOS takes it: the first DNS label, upper case, at
/// most 15 characters.
fn host_name() -> Option<String> {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())?;
    let first = raw.trim().split('.').next()?;
    let name: String = first
        .chars()
        .filter(|c| c.is_ascii_graphic() && *c != '*')
        .take(15)
        .collect();
    (!name.is_empty()).then_some(name)
}

/// The names given, or the host name `<00>` and `<20>` (`NBNSDEMO` when the
/// host has no usable name).
pub(crate) fn names_or_default(args: &Args) -> Vec<NameArg> {
    if !args.names.is_empty() {
        return args.names.clone();
    }
    let host = host_name().unwrap_or_else(|| "NBNSDEMO".to_owned());
    [0x00, 0x20]
        .into_iter()
        .filter_map(|suffix| NetbiosName::new_uppercase(&host, suffix).ok())
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

pub(crate) fn state_path(args: &Args) -> PathBuf {
    args.state.clone().unwrap_or_else(cooldown::default_path)
}

/// Refuses a `-RR` within the cooldown, as Windows does, and fails when the
/// state could not be recorded afterwards: both before anything is sent.
pub(crate) fn check_cooldown(path: &Path, key: &str, out: Reporter) -> Result<(), Failure> {
    let remaining = cooldown::remaining(path, key).map_err(|e| {
        Failure::Error(format!("cannot read the -RR state {}: {e}", path.display()))
    })?;
    if let Some(left) = remaining {
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
        return Err(Failure::Refused);
    }
    cooldown::check_writable(path).map_err(|e| {
        Failure::Error(format!(
            "cannot write the -RR state {}: {e} (nothing was sent; --state FILE in an \
             existing, writable directory)",
            path.display()
        ))
    })
}

/// Starts the cooldown, after a run that a server answered.
pub(crate) fn record_cooldown(path: &Path, key: &str, out: Reporter) {
    if let Err(e) = cooldown::record(path, key) {
        out.note(&format!(
            "warning: cannot write the -RR state {}: {e}",
            path.display()
        ));
    }
}

/// Prints how many names ended registered, and why each other one did not;
/// `Err(Failed)` unless all did.
fn summary(
    outcomes: &Outcomes,
    names: &[NameArg],
    done_text: &str,
    out: Reporter,
) -> Result<(), Failure> {
    let ok = outcomes.registered_count(names);
    let all = ok == names.len();
    for (name, why) in &outcomes.failures(names) {
        let mut v = json!({ "event": "failed", "reason": why });
        if let (Some(obj), serde_json::Value::Object(n)) = (v.as_object_mut(), name_json(name)) {
            obj.extend(n);
        }
        out.emit(&format!("failed       {}  {why}", padded(name)), &v);
    }
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

/// A node for `args`' names on `--addr` (or the address on the route to the
/// primary WINS server) and `--port` (default 137).
pub(crate) fn start_node(args: &Args, out: Reporter) -> Result<Node, Failure> {
    let sock = node::bind(local_addr(args)?, args.port.unwrap_or(NAME_SERVICE_PORT))?;
    Node::start(sock, &args.wins, out)
}

/// The node type asks for holding names by broadcast (`--node-type b|m|h`).
pub(crate) fn holds_by_broadcast(args: &Args) -> bool {
    args.node_type
        .is_some_and(|t| t.methods().contains(&nbns::node_type::Method::Broadcast))
}

async fn rr_wins(args: &Args, out: Reporter) -> Result<(), Failure> {
    let names = names_or_default(args);
    let path = state_path(args);
    let key = cooldown::key(&args.wins);
    check_cooldown(&path, &key, out)?;
    let mut node = start_node(args, out)?;
    // This process did not register the names: the WINS server holds them
    // from an earlier run (or another nbtstat). Adopted, they count as
    // registered at the primary, so re-register-all releases them there
    // first and registers them again, as `nbtstat -RR` does.
    node.adopt(&names).await?;
    out.note(&format!(
        "releasing and registering again {} names for {} at {}",
        names.len(),
        node.local().ip(),
        key.trim_start_matches("wins=")
    ));
    let outcomes = node
        .reregister(args.timeout.unwrap_or(REGISTRATION_TIMEOUT))
        .await
        .map_err(|e| Failure::Error(e.to_string()))?;
    if node.printer.answered {
        record_cooldown(&path, &key, out);
    } else {
        out.note("no WINS server answered: the 2-minute -RR cooldown was not started");
    }
    // The names stay registered at the servers.
    node.node.detach().await;
    summary(
        &outcomes,
        &names,
        "The NetBIOS names registered by this computer have been refreshed.",
        out,
    )
}

/// `-RR` with no WINS server configured: a demonstration against a server
/// in this process. It keeps no cooldown state (no server outside this
/// process is involved) and says on stdout that it is one.
async fn rr_embedded(args: &Args, out: Reporter) -> Result<(), Failure> {
    let names = names_or_default(args);
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
    let mut node = Node::start(sock, &[server.addr], out)?;
    let local = *node.local().ip();
    out.emit(
        &format!(
            "No WINS server is configured on this host (no --wins, no `wins server` in smb.conf, \
             no NetBIOS name servers in DHCP leases).\nDemonstration: a WINS server inside this \
             program on {}; the names are registered there for {local}, then released and \
             registered again. Nothing is sent to the network.",
            server.addr,
        ),
        &json!({ "event": "demonstration", "phase": "start",
                 "server": server.addr.to_string(), "local": local.to_string() }),
    );
    let registered = node.register(&names, Duration::from_secs(15)).await;
    if registered.registered_count(&names) != names.len() {
        return Err(Failure::Error(
            "the embedded WINS server did not register the names".to_owned(),
        ));
    }
    let before: Vec<Option<u64>> = names.iter().map(|n| server.version(n.name)).collect();
    out.note("-RR: releasing the names and registering them again");
    let outcomes = node
        .reregister(args.timeout.unwrap_or(REGISTRATION_TIMEOUT))
        .await
        .map_err(|e| Failure::Error(e.to_string()))?;
    let after: Vec<Option<u64>> = names.iter().map(|n| server.version(n.name)).collect();
    node.node.detach().await;

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
        &outcomes,
        &names,
        "The demonstration server released the names and registered them again.",
        out,
    );
    drop(server);
    out.emit(
        "Demonstration over: the in-process WINS server is gone, and no name is registered \
         anywhere. To refresh names at a real WINS server, give --wins HOST or set \
         `wins server` in smb.conf.",
        &json!({ "event": "demonstration", "phase": "end" }),
    );
    if result.is_ok() && !increased {
        out.note("a version ID did not increase");
        return Err(Failure::Failed);
    }
    result
}

/// `--register`: registers the names and leaves them registered.
async fn register(args: &Args, out: Reporter) -> Result<(), Failure> {
    let names = names_or_default(args);
    let mut node = start_node(args, out)?;
    let outcomes = node
        .register(&names, args.timeout.unwrap_or(REGISTRATION_TIMEOUT))
        .await;
    node.node.detach().await;
    summary(&outcomes, &names, "The NetBIOS names are registered.", out)
}

/// `--release`: releases names an earlier `--register` (or another node on
/// this address) left at the WINS servers.
async fn release(args: &Args, out: Reporter) -> Result<(), Failure> {
    let names = names_or_default(args);
    let mut node = start_node(args, out)?;
    node.adopt(&names).await?;
    let released = node.release_all().await;
    let answered = released
        .iter()
        .filter(|(_, o)| answered_release(*o))
        .count();
    let all = answered == names.len();
    out.emit(
        &if all {
            "The NetBIOS names are released.".to_owned()
        } else {
            format!(
                "{answered} of {} releases answered by a WINS server",
                names.len()
            )
        },
        &json!({ "event": "summary", "released": answered, "names": names.len(), "ok": all }),
    );
    if all { Ok(()) } else { Err(Failure::Failed) }
}

/// Whether a WINS server answered the release (it holds the name no more
/// either way).
fn answered_release(o: ReleaseOutcome) -> bool {
    matches!(o, ReleaseOutcome::Confirmed | ReleaseOutcome::NotFound)
}

async fn local_names(args: &Args, out: Reporter) -> Result<(), Failure> {
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
    let mut asker = status::Asker::new(sock, one_shot_timeout(args));
    let mut rows = Vec::new();
    let mut all = true;
    for n in &names {
        let mut answer = None;
        for &server in &args.wins {
            answer = asker.query(server, n.name).await?;
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

/// The wait for a one-shot request (`-a`, `-A`, `-n`).
fn one_shot_timeout(args: &Args) -> Duration {
    args.timeout.unwrap_or(status::DEFAULT_TIMEOUT)
}

async fn status_by_addr(args: &Args, to: SocketAddrV4, out: Reporter) -> Result<(), Failure> {
    let bind_ip = args.addr.unwrap_or(Ipv4Addr::UNSPECIFIED);
    let sock = node::bind(bind_ip, args.port.unwrap_or(0))?;
    let mut asker = status::Asker::new(sock, one_shot_timeout(args));
    match asker.node_status(to).await? {
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
            let secs = one_shot_timeout(args).as_secs_f64();
            out.emit(
                &format!("    Host not found: the host {to} did not answer the node status request within {secs} s."),
                &json!({ "event": "host_not_found", "reason": "host_no_answer",
                         "address": to.to_string() }),
            );
            Err(Failure::Failed)
        }
    }
}

/// `-a NAME`: the name's address from the WINS servers (in order, until one
/// answers) or by broadcast on the subnet ([`resolve::config`] says which),
/// then node status of that address, unicast. Says which step failed: the
/// name is not registered, nobody answered, or the host did not.
async fn status_by_name(args: &Args, name: NetbiosName, out: Reporter) -> Result<(), Failure> {
    let config = resolve::config(args)?;
    let broadcast = resolve::broadcast_subnet(&config);
    let bind_ip = args.addr.unwrap_or(Ipv4Addr::UNSPECIFIED);
    let sock = node::bind(bind_ip, args.port.unwrap_or(0))?;
    let mut resolving = resolve::Resolving::new(sock, config, out)?;
    let (text, reason) = match resolving.resolve(name).await? {
        ResolverEvent::Resolved { resolution, .. } => {
            let usable = resolution
                .addresses
                .iter()
                .map(|a| a.address)
                .find(|a| !a.is_unspecified() && !a.is_broadcast());
            if let Some(ip) = usable {
                out.note(&format!("{name}: {resolution}"));
                return status_by_addr(args, SocketAddrV4::new(ip, NAME_SERVICE_PORT), out).await;
            }
            (
                format!(
                    "    Host not found: {name} is not registered at the WINS server {} (no \
                     usable address in the answer).",
                    resolution
                        .responders
                        .first()
                        .map_or_else(String::new, ToString::to_string)
                ),
                "name_not_registered",
            )
        }
        ResolverEvent::NotFound { server, rcode, .. } => (
            format!(
                "    Host not found: {name} is not registered at the WINS server {server} ({rcode})."
            ),
            "name_not_registered",
        ),
        _ => {
            let secs = one_shot_timeout(args).as_secs_f64();
            let wins: Vec<String> = args.wins.iter().map(ToString::to_string).collect();
            match broadcast {
                Some(subnet) if wins.is_empty() => (
                    format!(
                        "    Host not found: nobody answered the broadcast query on {} ({}/{}).",
                        subnet.broadcast_address(),
                        subnet.address,
                        subnet.prefix_len
                    ),
                    "broadcast_no_answer",
                ),
                Some(subnet) => (
                    format!(
                        "    Host not found: no WINS server answered ({}), and nobody answered \
                         the broadcast query on {}.",
                        wins.join(", "),
                        subnet.broadcast_address()
                    ),
                    "no_answer",
                ),
                None => (
                    format!(
                        "    Host not found: no WINS server answered ({}) within {secs} s.",
                        wins.join(", ")
                    ),
                    "wins_no_answer",
                ),
            }
        }
    };
    out.emit(
        &text,
        &json!({ "event": "host_not_found", "reason": reason, "name": name.to_string() }),
    );
    Err(Failure::Failed)
}
