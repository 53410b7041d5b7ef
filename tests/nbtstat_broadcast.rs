//! `nbtstat` on one broadcast segment of network namespaces the test
//! creates (tests/support/bridge.rs), beside Samba's nmbd as a B-node;
//! broadcasts never leave the namespaces.
//!
//! 1. `-a NAME` with no WINS server resolves the name by broadcast on the
//!    subnet of the member's interface (found from the interface list),
//!    then asks the answering host's node status by unicast; a name nobody
//!    holds says so. tshark reads the capture without a malformed packet.
//! 2. A holding node resolves names on its standard input (`resolve NAME`,
//!    here as an M-node: broadcast, then WINS) and prints its cache (`-c`)
//!    and statistics (`-r`) as Windows does; `-R` empties the cache.
//! 3. `--hold --node-type b` with no WINS server claims its names by
//!    broadcast: nmbd defends the name it holds, nmblookup finds ours, and
//!    the release at the end goes by broadcast.
//!
//! Runs only with `NBNS_INTEROP=1`, as root.

mod support;

use core::time::Duration;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Instant;

use serde_json::Value;
use support::bridge::Bridge;
use support::programs::{
    describe, events, json_lines, listed_names, nbtstat_bin, scratch, wait_bounded,
};
use support::tshark;

const PEER: &str = "BCASTPEER";

/// A bridge of `members` with nmbd in member 1 holding `PEER<00>`, `<20>`.
fn segment(members: usize) -> Bridge {
    Bridge::with_nmbd(members, PEER, &[0x00, 0x20])
}

/// `nbtstat args` in member `i`, with a system root of its own (no smb.conf,
/// no leases: no WINS server).
fn nbtstat_in(bridge: &Bridge, i: usize, args: &[&str]) -> Command {
    let root = scratch(&format!("bcast-root-{i}"));
    std::fs::create_dir_all(&root).unwrap();
    let mut c = bridge.command_in(i, nbtstat_bin());
    c.args(args)
        .env("NBTSTAT_SYSROOT", &root)
        .env_remove("NBTSTAT_STATE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

#[test]
fn a_without_wins_resolves_by_broadcast_then_asks_node_status() {
    if !support::interop_enabled("a_without_wins_resolves_by_broadcast_then_asks_node_status") {
        return;
    }
    let bridge = segment(2);
    let pcap = scratch("bcast-a.pcap");
    let capture = bridge.capture_nbns(2, &pcap);

    let child = nbtstat_in(&bridge, 2, &["-a", PEER, "--json"])
        .spawn()
        .unwrap();
    let out = wait_bounded(child, Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let lines = json_lines(&out);
    let table = &events(&lines, "name_table")[0];
    assert_eq!(table["address"], bridge.ip(1).to_string(), "{table}");
    let listed = listed_names(table);
    for n in [format!("{PEER}<00>"), format!("{PEER}<20>")] {
        assert!(listed.contains(&n), "{n} missing: {listed:?}");
    }

    // As people read it: the remote machine's table, headed by its address.
    let child = nbtstat_in(&bridge, 2, &["-a", PEER]).spawn().unwrap();
    let out = wait_bounded(child, Duration::from_secs(30));
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!(
        "$ nbtstat -a {PEER}\n{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(&format!("{}:", bridge.ip(1))),
        "{}",
        describe(&out)
    );
    assert!(
        text.contains("NetBIOS Remote Machine Name Table"),
        "{}",
        describe(&out)
    );

    let start = Instant::now();
    let child = nbtstat_in(&bridge, 2, &["-a", "NOBODYHERE", "--timeout", "2"])
        .spawn()
        .unwrap();
    let out = wait_bounded(child, Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        start.elapsed() < Duration::from_secs(6),
        "{:?}",
        start.elapsed()
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "Host not found: nobody answered the broadcast query on {}",
            bridge.broadcast()
        )),
        "{}",
        describe(&out)
    );

    let packets = tshark::dissect(&capture.stop().expect("stop capture")).expect("tshark");
    assert!(packets.iter().all(|p| !p.malformed), "{packets:#?}");
    let query = |p: &tshark::TsharkPacket| {
        p.field("nbns.flags.response") == Some("0") && p.field("nbns.flags.opcode") == Some("0")
    };
    // The broadcast query (B set) for PEER<00>, and the node status
    // request (type NBSTAT, 33) that followed it.
    assert!(
        packets.iter().any(|p| query(p)
            && p.field("nbns.flags.broadcast") == Some("1")
            && p.field("nbns.name")
                .is_some_and(|n| n.starts_with(&format!("{PEER}<00>")))),
        "no broadcast query: {packets:#?}"
    );
    assert!(
        packets
            .iter()
            .any(|p| query(p) && p.field("nbns.type") == Some("33")),
        "no node status request: {packets:#?}"
    );
    let _ = std::fs::remove_file(&pcap);
    bridge.stop().unwrap_or_else(|e| panic!("{e}"));
}

/// `nbtstat --hold --json args` in member `i`, its JSON lines read.
fn hold_in(bridge: &Bridge, i: usize, args: &[&str]) -> Holder {
    let mut all = vec!["--hold", "--json", "--hold-seconds", "90"];
    all.extend_from_slice(args);
    let mut child = nbtstat_in(bridge, i, &all)
        .stdin(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            eprintln!("hold: {line}");
            if let Ok(v) = serde_json::from_str::<Value>(&line)
                && tx.send(v).is_err()
            {
                break;
            }
        }
    });
    Holder {
        child,
        stdin,
        lines,
        seen: Vec::new(),
    }
}

#[test]
fn a_b_node_hold_claims_by_broadcast_beside_nmbd() {
    if !support::interop_enabled("a_b_node_hold_claims_by_broadcast_beside_nmbd") {
        return;
    }
    let bridge = segment(3);
    let me = bridge.ip(2).to_string();
    let peer_name = format!("{PEER}<00>");
    let mut h = hold_in(
        &bridge,
        2,
        &[
            "--node-type",
            "b",
            "--name",
            "OURBNODE<00>",
            "--name",
            &peer_name,
        ],
    );
    let claimed = h.wait_for("claimed", |v| v["event"] == "claimed");
    assert_eq!(claimed["name"], "OURBNODE", "{claimed}");
    let conflict = h.wait_for("conflict", |v| {
        v["event"] == "conflict" && v["name"] == PEER
    });
    assert!(
        conflict["cause"]
            .as_str()
            .is_some_and(|c| c.contains(&format!("defended by {}:137", bridge.ip(1)))),
        "{conflict}"
    );
    let holding = h.wait_for("holding", |v| v["event"] == "holding");
    assert_eq!(holding["registered"], 1, "{holding}");

    let out = bridge
        .nmblookup(3, ["-B", &bridge.broadcast().to_string(), "OURBNODE"])
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("{me} OURBNODE<00>")),
        "nmblookup: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    h.send("-r");
    let stats = h.wait_for("resolution_stats", |v| v["event"] == "resolution_stats");
    assert_eq!(stats["registered_by_broadcast"], 1, "{stats}");
    assert_eq!(stats["registered_by_name_server"], 0, "{stats}");

    h.send("quit");
    let released = h.wait_for("released", |v| {
        v["event"] == "released" && v["name"] == "OURBNODE"
    });
    assert_eq!(released["outcome"], "broadcast", "{released}");
    let summary = h.wait_for("summary", |v| v["event"] == "summary");
    assert_eq!(summary["ok"], false, "{summary}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while matches!(h.child.try_wait(), Ok(None)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        matches!(h.child.try_wait(), Ok(Some(s)) if s.code() == Some(1)),
        "one of two names held: exit 1"
    );
    drop(h);
    bridge.stop().unwrap_or_else(|e| panic!("{e}"));
}

/// An `nbtstat --hold --json` in a member, fed commands, its output read.
struct Holder {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<Value>,
    /// Lines read so far and not yet matched.
    seen: Vec<Value>,
}

impl Holder {
    /// The first line, read or yet to come (bounded wait), that matches
    /// `pred`; it is taken out, so that a later wait finds the next.
    fn wait_for(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(i) = self.seen.iter().position(&pred) {
                return self.seen.remove(i);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(v) => self.seen.push(v),
                Err(_) => panic!("nbtstat --hold: no {what}: {:#?}", self.seen),
            }
        }
    }

    fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_holding_node_resolves_and_shows_its_cache_and_statistics() {
    if !support::interop_enabled("a_holding_node_resolves_and_shows_its_cache_and_statistics") {
        return;
    }
    let bridge = segment(3);
    // The crate's WINS server in member 3, with VIAWINS<00> registered there
    // for member 3 (nobody answers a broadcast for it).
    let (wins_ip, me) = (bridge.ip(3).to_string(), bridge.ip(2).to_string());
    let server_bin = support::examples::example_binary("wins_server", &["redb"]);
    let mut server = bridge
        .command_in(3, server_bin)
        .args(["--listen", &format!("{wins_ip}:137"), "--run-for", "120"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut registered = false;
    for _ in 0..50 {
        let args = [
            "--register",
            "--wins",
            &wins_ip,
            "--addr",
            &wins_ip,
            "--port",
            "0",
        ];
        let c = nbtstat_in(&bridge, 3, &args)
            .args(["--name", "VIAWINS<00>", "--timeout", "2"])
            .spawn()
            .unwrap();
        if wait_bounded(c, Duration::from_secs(20)).status.success() {
            registered = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(registered, "VIAWINS<00> not registered at the WINS server");

    let mut h = hold_in(
        &bridge,
        2,
        &[
            "--wins",
            &wins_ip,
            "--addr",
            &me,
            "--node-type",
            "m",
            "--name",
            "HOLDER<00>",
        ],
    );
    h.wait_for("holding", |v| v["event"] == "holding");

    h.send(&format!("resolve {PEER}"));
    let peer = h.wait_for("resolved", |v| {
        v["event"] == "resolved" && v["name"] == PEER
    });
    assert_eq!(peer["via"], "broadcast", "{peer}");
    assert_eq!(peer["addresses"][0], bridge.ip(1).to_string(), "{peer}");
    h.send("-a VIAWINS");
    let viawins = h.wait_for("resolved", |v| {
        v["event"] == "resolved" && v["name"] == "VIAWINS"
    });
    assert_eq!(
        viawins["via"],
        format!("name server {wins_ip}:137"),
        "{viawins}"
    );
    assert_eq!(viawins["addresses"][0], wins_ip, "{viawins}");

    h.send("-c");
    let cache = h.wait_for("cache", |v| v["event"] == "cache");
    let cached: Vec<(String, String)> = cache["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["name"].as_str().unwrap().to_owned(),
                n["address"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        cached,
        [
            (PEER.to_owned(), bridge.ip(1).to_string()),
            ("VIAWINS".to_owned(), wins_ip.clone())
        ],
        "{cache}"
    );
    h.send("-r");
    let stats = h.wait_for("resolution_stats", |v| v["event"] == "resolution_stats");
    assert_eq!(stats["resolved_by_broadcast"], 1, "{stats}");
    assert_eq!(stats["resolved_by_name_server"], 1, "{stats}");
    assert_eq!(stats["registered_by_name_server"], 1, "{stats}");
    assert_eq!(
        stats["resolved_by_broadcast_names"][0]["name"], PEER,
        "{stats}"
    );
    h.send("-R");
    h.wait_for("cache_purged", |v| v["event"] == "cache_purged");
    h.send("-c");
    let cache = h.wait_for("cache", |v| v["event"] == "cache");
    assert_eq!(cache["names"].as_array().map(Vec::len), Some(0), "{cache}");

    h.send("quit");
    h.wait_for("summary", |v| v["event"] == "summary");
    let deadline = Instant::now() + Duration::from_secs(20);
    while matches!(h.child.try_wait(), Ok(None)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        matches!(h.child.try_wait(), Ok(Some(s)) if s.success()),
        "nbtstat --hold did not exit cleanly"
    );
    let _ = server.kill();
    let _ = server.wait();
    drop(h);
    bridge.stop().unwrap_or_else(|e| panic!("{e}"));
}
