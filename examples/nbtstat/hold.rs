//! `--hold`: register the names, keep them (refresh, answer queries, node
//! status and WINS challenges: the [`NameNode`] does it), take commands on
//! standard input, and release everything on a signal, `quit`, end of
//! input or after `--hold-seconds`.
//!
//! Commands: `refresh`; `names` (or `-n`); `rr` (or `-RR`); `resolve NAME`
//! (or `-a NAME`: a name query by the node type, which fills the cache);
//! `-c` (the remote name cache), `-r` (resolution and registration
//! statistics), `-R` (purge the cache), as Windows' nbtstat prints them;
//! `quit`.

use core::future::Future;
use core::time::Duration;
use std::io::BufRead;

use core::net::{Ipv4Addr, SocketAddrV4};

use nbns::client::{ClientConfig, NameState, ReregisterOutcome};
use nbns::resolver::ResolverEvent;
use nbns::tokio::{NameNode, RegisterError, ReregisterError};
use nbns::wire::NAME_SERVICE_PORT;
use nbns::wire::NetbiosName;
use serde_json::json;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{Instant, sleep, sleep_until};

use crate::args::{Args, NameArg};
use crate::node::{self, Node, Outcome, Outcomes};
use crate::report::{Reporter, name_json, padded};
use crate::resolve;
use crate::{
    Failure, check_cooldown, cooldown, holds_by_broadcast, names_or_default, record_cooldown,
    start_node,
};

type Rr = JoinHandle<Result<Vec<ReregisterOutcome>, ReregisterError>>;

pub(crate) async fn run(args: &Args, out: Reporter) -> Result<(), Failure> {
    let names = names_or_default(args);
    // With --node-type b|m|h the names are also claimed and defended by
    // broadcast on the resolver's subnet.
    let resolver = resolve::config(args)?;
    let mut node = if holds_by_broadcast(args) {
        let Some(subnet) = resolve::broadcast_subnet(&resolver) else {
            return Err(Failure::Usage(
                "no subnet to hold names on by broadcast: give --subnet ADDR/LEN".to_owned(),
            ));
        };
        let mut config = ClientConfig::with_servers(args.wins.iter().copied());
        config.node_type = resolver.node_type;
        config.broadcast = Some(SocketAddrV4::new(
            subnet.broadcast_address(),
            NAME_SERVICE_PORT,
        ));
        // On 0.0.0.0: broadcasts to the subnet reach only such a socket.
        let port = args.port.unwrap_or(NAME_SERVICE_PORT);
        let sock = node::bind(Ipv4Addr::UNSPECIFIED, port)?;
        Node::start_with(sock, config, args.addr.unwrap_or(subnet.address), out)?
    } else {
        start_node(args, out)?
    };
    let mut signals = signals()?;
    let mut commands = args.stdin.then(stdin_lines);
    let deadline = args
        .hold_seconds
        .map(|s| Instant::now() + Duration::from_secs(s));
    let (settled_tx, mut settled) = mpsc::unbounded_channel();
    let mut registrations = JoinSet::new();
    for n in &names {
        let (handle, tx) = (node.node.clone(), settled_tx.clone());
        registrations.spawn(keep_registering(handle, *n, tx, node.addr));
    }
    // Name queries of `resolve NAME` (their cache and counts are `-c`,
    // `-r`), on a socket of their own.
    let sock = node::bind(node.addr, 0)?;
    let mut resolving = resolve::Resolving::new(sock, resolver, out)?;
    let path = crate::state_path(args);
    let key = cooldown::key(&args.wins);
    let mut outcomes = Outcomes::default();
    let mut announced = false;
    // An `rr` under way: the cooldown starts when a server answered it.
    let mut rr: Option<Rr> = None;
    loop {
        tokio::select! {
            _ = signals.recv() => {
                out.note("signal: releasing the names");
                break;
            }
            () = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => break,
            Some((name, outcome)) = settled.recv() => {
                outcomes.set(name, outcome);
                // The outcome's event first, as it happened.
                node.printer.drain();
                if !announced && outcomes.all_settled(&names) {
                    announced = true;
                    announce(&node, &names, &outcomes, args.stdin, out).await;
                }
            }
            _ = node.printer.next() => {}
            done = when_some(rr.as_mut()) => {
                rr = None;
                match done {
                    Ok(Ok(done)) => outcomes.set_reregistered(&done),
                    Ok(Err(e)) => out.note(&e.to_string()),
                    Err(e) => out.note(&format!("-RR: {e}")),
                }
                if node.printer.answered {
                    record_cooldown(&path, &key, out);
                }
            }
            line = when_some(commands.as_mut().map(|c| c.recv())) => {
                match line.as_deref() {
                    None | Some("quit" | "exit" | "release") => break,
                    Some("") => {}
                    Some("refresh") => node.node.refresh_now().await,
                    Some("names" | "-n") => {
                        out.table("Local", node.addr, &node.table_rows().await, None, None);
                    }
                    Some("rr" | "-RR") if rr.is_some() => out.note("-RR is under way"),
                    Some("rr" | "-RR") => match check_cooldown(&path, &key, out) {
                        Ok(()) => {
                            node.printer.answered = false;
                            let n = node.node.clone();
                            rr = Some(tokio::spawn(async move { n.reregister_all().await }));
                        }
                        Err(Failure::Error(m)) => out.note(&m),
                        Err(_) => {}
                    },
                    Some("-c") => out.cache_table(node.addr, &resolving.cache_rows()),
                    Some("-r") => {
                        let held = node.node.names().await;
                        let by_broadcast = held.iter().filter(|h| h.state == NameState::Claimed).count();
                        let by_server = held.iter().filter(|h| matches!(h.state, NameState::Registered | NameState::Refreshing)).count();
                        out.resolution_stats(&resolving.stats(by_broadcast, by_server));
                    }
                    Some("-R") => {
                        resolving.purge();
                        out.emit(
                            "    Successful purge and preload of the NBT Remote Cache Name Table.",
                            &json!({ "event": "cache_purged" }),
                        );
                    }
                    Some(other) => match resolve_command(other) {
                        Some(Ok(name)) => resolved(name, resolving.resolve(name).await, out),
                        Some(Err(e)) => out.note(&e),
                        None => out.note(&format!(
                            "unknown command {other:?}: refresh, names, rr, resolve NAME, -c, \
                             -r, -R or quit"
                        )),
                    },
                }
            }
        }
    }
    registrations.abort_all();
    let ok = outcomes.registered_count(&names);
    node.release_all().await;
    let sent = node.node.datagrams_sent();
    out.emit(
        &format!("released the names; sent {sent} datagrams"),
        &json!({ "event": "summary", "registered": ok, "names": names.len(),
                 "ok": ok == names.len(), "sent": sent }),
    );
    if ok == names.len() {
        Ok(())
    } else {
        Err(Failure::Failed)
    }
}

/// `resolve NAME` or `-a NAME`: the name, if the line is one of them.
fn resolve_command(line: &str) -> Option<Result<NetbiosName, String>> {
    let (word, rest) = line.split_once(char::is_whitespace)?;
    matches!(word, "resolve" | "-a").then(|| crate::args::parse_name(rest.trim()))
}

/// Prints how a `resolve` ended.
fn resolved(name: NetbiosName, r: Result<ResolverEvent, Failure>, out: Reporter) {
    let (text, value) = match r {
        Ok(ResolverEvent::Resolved { resolution, .. }) => (
            format!("resolved     {}  {resolution}", padded(&name)),
            json!({ "event": "resolved", "via": resolution.via.to_string(),
                    "addresses": resolution.addresses.iter()
                        .map(|a| a.address.to_string()).collect::<Vec<_>>() }),
        ),
        Ok(ResolverEvent::NotFound { server, rcode, .. }) => (
            format!("not found    {}  {rcode} from WINS {server}", padded(&name)),
            json!({ "event": "not_found", "server": server.to_string(),
                    "rcode_name": rcode.to_string() }),
        ),
        Ok(_) => (
            format!("not found    {}  nobody answered", padded(&name)),
            json!({ "event": "not_found", "reason": "no_answer" }),
        ),
        Err(Failure::Error(m) | Failure::Usage(m)) => (
            format!("not found    {}  {m}", padded(&name)),
            json!({ "event": "not_found", "reason": m }),
        ),
        Err(_) => return,
    };
    let mut value = value;
    if let (Some(obj), serde_json::Value::Object(n)) = (value.as_object_mut(), name_json(&name)) {
        obj.extend(n);
    }
    out.emit(&text, &value);
}

/// `f`'s output, or never when there is none.
async fn when_some<T>(f: Option<impl Future<Output = T>>) -> T {
    match f {
        Some(f) => f.await,
        None => core::future::pending().await,
    }
}

/// Registers `n` and reports how it ended; while no WINS server answers,
/// tries again every [`ClientConfig::registration_retry`] (10 minutes, as
/// Windows does).
async fn keep_registering(
    node: NameNode,
    n: NameArg,
    settled: mpsc::UnboundedSender<(NetbiosName, Outcome)>,
    addr: Ipv4Addr,
) {
    loop {
        let r = node::register_one(&node, n, addr).await;
        let again = matches!(r, Err(RegisterError::NoServerAnswered));
        let _ = settled.send((n.name, Outcome::of_register(&r)));
        if !again {
            return;
        }
        sleep(ClientConfig::default().registration_retry).await;
    }
}

/// The name table and the `holding` line, once every name has an outcome.
async fn announce(node: &Node, names: &[NameArg], outcomes: &Outcomes, stdin: bool, out: Reporter) {
    let local = node.local();
    out.table("Local", node.addr, &node.table_rows().await, None, None);
    out.emit(
        &format!(
            "holding {} names on {local}; Ctrl-C, SIGTERM{} release them",
            names.len(),
            if stdin {
                ", `quit` or end of input"
            } else {
                ""
            }
        ),
        &json!({ "event": "holding", "names": names.len(),
                 "registered": outcomes.registered_count(names),
                 "local": local.to_string() }),
    );
}

/// SIGINT, SIGTERM (a service stop) and SIGHUP alike (ctrlc's
/// `termination` feature).
fn signals() -> Result<mpsc::UnboundedReceiver<()>, Failure> {
    let (tx, rx) = mpsc::unbounded_channel();
    ctrlc::set_handler(move || {
        let _ = tx.send(());
    })
    .map_err(|e| Failure::Error(format!("cannot handle signals: {e}")))?;
    Ok(rx)
}

/// Lines of standard input, read by a thread of their own (a blocking read
/// that the runtime need not wait for at exit); the channel closes at end
/// of input.
fn stdin_lines() -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line.trim().to_owned()).is_err() {
                return;
            }
        }
    });
    rx
}
