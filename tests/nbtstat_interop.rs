//! The `nbtstat` example against Samba's nmbd as a WINS server, inside the
//! network namespaces of `tests/support` (nothing leaves them):
//!
//! 1. register, then `-RR`: each record is active again with a higher
//!    version ID (read from nmbd's `wins.tdb`);
//! 2. a plain refresh (op 8) leaves the version ID unchanged;
//! 3. a second `-RR` within 2 minutes is refused, sending nothing;
//! 4. `-A` and `-a` print nmbd's names, and `-a` of a name nmbd does not
//!    hold says so;
//! 5. a unique name held by another live node ends in ACT_ERR after nmbd's
//!    WACK and its challenge of the owner;
//! 6. in `--hold` mode, nmblookup finds the names through nmbd, and node
//!    status of our address lists them;
//! 7. tshark reads every captured packet without a malformed flag.
//!
//! Needs root, nmbd, nmblookup, tshark and iproute2; without them the test fails
//! when `NBNS_INTEROP=1` is set, and does not run when it is not.

mod support;

use core::net::Ipv4Addr;
use core::time::Duration;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Instant;

use serde_json::Value;
use support::programs::{
    describe, event_for, events, json_lines, listed_names, nbtstat_bin, scratch,
};
use support::tshark::{self, TsharkPacket};
use support::{NmbdWins, RecordState};

/// Runs nbtstat in the client namespace and waits for it (bounded).
fn run(server: &NmbdWins, args: &[&str]) -> Output {
    let child = command(server, args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn nbtstat");
    support::programs::wait_bounded(child, Duration::from_secs(120))
}

fn command(server: &NmbdWins, args: &[&str]) -> Command {
    let mut c = server.client_command(nbtstat_bin());
    c.args(args).env_remove("NBTSTAT_STATE");
    c
}

/// An `nbtstat --hold --json` running in the background, its output read
/// line by line.
struct Holder {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<Value>,
    seen: Vec<Value>,
}

impl Holder {
    fn start(server: &NmbdWins, args: &[&str]) -> Self {
        let mut all = vec!["--hold", "--json", "--hold-seconds", "90"];
        all.extend_from_slice(args);
        let mut child = command(server, &all)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn nbtstat --hold");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    eprintln!("hold: {line}");
                    if tx.send(v).is_err() {
                        break;
                    }
                }
            }
        });
        Self {
            child,
            stdin,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits (bounded) for an output line matching `pred`.
    fn wait_for(&mut self, what: &str, limit: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(v) = self.seen.iter().find(|v| pred(v)) {
                return v.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left.max(Duration::from_millis(1))) {
                Ok(v) => self.seen.push(v),
                Err(_) => panic!(
                    "nbtstat --hold: no {what} within {limit:?}: {:#?}",
                    self.seen
                ),
            }
        }
    }

    fn send(&mut self, command: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{command}").expect("write to nbtstat --hold");
        stdin.flush().expect("flush");
    }

    /// Ends the hold (`quit`) and waits for the process.
    fn quit(mut self) -> std::process::ExitStatus {
        self.send("quit");
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(20);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        while let Ok(v) = self.lines.recv_timeout(Duration::from_millis(200)) {
            self.seen.push(v);
        }
        self.child.wait().expect("wait nbtstat --hold")
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn op(p: &TsharkPacket) -> (Option<&str>, Option<&str>) {
    (p.field("nbns.flags.response"), p.field("nbns.flags.opcode"))
}

/// Asserts tshark flags no packet of the capture as malformed; returns them.
fn dissect_clean(path: &Path) -> Vec<TsharkPacket> {
    let packets = tshark::dissect(path).expect("tshark");
    let bad: Vec<&TsharkPacket> = packets.iter().filter(|p| p.malformed).collect();
    assert!(bad.is_empty(), "malformed packets: {bad:#?}");
    packets
}

fn version_and_state(server: &NmbdWins, name: &str, suffix: u8) -> (u64, RecordState) {
    let r = server
        .record(name, suffix)
        .unwrap_or_else(|| panic!("{name}<{suffix:02x}> not in nmbd's database"));
    (r.version, r.state)
}

#[test]
fn rr_refresh_cooldown_and_node_status_against_nmbd() {
    if !support::interop_enabled("rr_refresh_cooldown_and_node_status_against_nmbd") {
        return;
    }
    let server = NmbdWins::start().expect("start nmbd");
    let wins = server.wins_ip().to_string();
    let me = server.client_ip();
    let addr = me.to_string();
    let state = scratch("interop.state");
    let _ = std::fs::remove_file(&state);
    let state = state.to_str().expect("utf-8 path").to_owned();
    let pcap = scratch("interop-main.pcap");
    let capture = tshark::capture(
        Some(server.client_netns()),
        server.client_interface(),
        "udp port 137",
        &pcap,
    )
    .expect("start capture");
    let base = [
        "--json",
        "--wins",
        wins.as_str(),
        "--addr",
        addr.as_str(),
        "--name",
        "ALPHA<00>",
        "--name",
        "ALPHA<20>",
        "--state",
        state.as_str(),
    ];
    let with = |mode: &'static str| {
        let mut v = vec![mode];
        v.extend_from_slice(&base);
        v
    };
    let names = [("ALPHA", 0x00u8, "00"), ("ALPHA", 0x20, "20")];

    // Register.
    let out = run(&server, &with("--register"));
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let mut registered = Vec::new();
    for (name, suffix, _) in names {
        let (v, s) = version_and_state(&server, name, suffix);
        assert_eq!(s, RecordState::Active);
        assert_eq!(server.record(name, suffix).unwrap().ips, vec![me]);
        registered.push(v);
    }

    // (1) -RR: released, registered again, active with a higher version.
    let out = run(&server, &with("-RR"));
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let lines = json_lines(&out);
    let mut after_rr = Vec::new();
    for ((name, suffix, hex), before) in names.iter().zip(&registered) {
        let released = event_for(&lines, "released", name, hex).expect("released");
        assert_eq!(released["outcome"], "confirmed", "{released}");
        let reg = event_for(&lines, "registered", name, hex).expect("registered");
        assert!(reg["ttl"].as_u64().unwrap() > 0);
        let (v, s) = version_and_state(&server, name, *suffix);
        assert_eq!(s, RecordState::Active, "{name}<{hex}>");
        assert!(v > *before, "{name}<{hex}>: version {before} -> {v}");
        eprintln!("{name}<{hex}>: version {before} after --register, {v} after -RR");
        after_rr.push(v);
    }
    let capture_path = capture.stop().expect("stop capture");
    let first = dissect_clean(&capture_path);
    let releases = first
        .iter()
        .filter(|p| op(p) == (Some("0"), Some("6")))
        .count();
    assert!(releases >= 2, "release requests in the capture: {first:#?}");

    // (3) A second -RR within 2 minutes: refused, nothing sent from our
    // address. (The -n afterwards proves the capture was live.)
    let quiet_pcap = scratch("interop-quiet.pcap");
    let filter = format!("udp and src host {me}");
    let capture = tshark::capture(
        Some(server.client_netns()),
        server.client_interface(),
        &filter,
        &quiet_pcap,
    )
    .expect("start capture");
    let out = run(&server, &with("-RR"));
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    let lines = json_lines(&out);
    let refused = events(&lines, "refused");
    assert_eq!(refused.len(), 1, "{}", describe(&out));
    let wait = refused[0]["retry_after_secs"].as_u64().unwrap();
    assert!((1..=120).contains(&wait), "{wait}");
    let out = run(&server, &with("-n"));
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let lines = json_lines(&out);
    let table = &events(&lines, "name_table")[0]["names"];
    assert_eq!(table.as_array().unwrap().len(), 2, "{table}");
    assert!(
        table
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["status"] == "Registered"),
        "{table}"
    );
    let quiet = dissect_clean(&capture.stop().expect("stop capture"));
    assert!(!quiet.is_empty(), "the capture saw nothing at all");
    assert!(
        quiet
            .iter()
            .all(|p| op(p) == (Some("0"), Some("0")) && p.field("nbns.type") == Some("32")),
        "only -n's name queries may leave our address: {quiet:#?}"
    );
    for (name, suffix, hex) in names {
        assert_eq!(
            version_and_state(&server, name, suffix),
            (after_rr[usize::from(suffix != 0)], RecordState::Active),
            "{name}<{hex}> after the refused -RR"
        );
    }

    // (2), (6): hold the names; a refresh keeps the version; nmblookup
    // finds the names through nmbd and by node status of our address.
    let hold_pcap = scratch("interop-hold.pcap");
    let capture = tshark::capture(
        Some(server.client_netns()),
        server.client_interface(),
        "udp port 137",
        &hold_pcap,
    )
    .expect("start capture");
    let mut holder = Holder::start(&server, &base);
    holder.wait_for("holding", Duration::from_secs(30), |v| {
        v["event"] == "holding"
    });
    let held: Vec<u64> = names
        .iter()
        .map(|(n, s, _)| version_and_state(&server, n, *s).0)
        .collect();
    holder.send("refresh");
    for (name, suffix, hex) in names {
        let ev = holder.wait_for("refreshed", Duration::from_secs(20), |v| {
            v["event"] == "refreshed" && v["name"] == name && v["suffix"] == hex
        });
        assert!(ev["ttl"].as_u64().unwrap() > 0, "{ev}");
        let (v, s) = version_and_state(&server, name, suffix);
        assert_eq!(s, RecordState::Active);
        assert_eq!(
            v,
            held[usize::from(suffix != 0)],
            "{name}<{hex}>: a refresh changed the version"
        );
        eprintln!("{name}<{hex}>: version {v} before and after a refresh");
    }
    let out = server.nmblookup(["-U", wins.as_str(), "--recursion", "ALPHA#20"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().any(|l| l.trim() == format!("{me} ALPHA<20>")),
        "nmblookup through nmbd: {text}"
    );
    let out = server.nmblookup(["-A", addr.as_str()]);
    let text = String::from_utf8_lossy(&out.stdout);
    for suffix in ["<00>", "<20>"] {
        assert!(
            text.lines().any(|l| l.trim_start().starts_with("ALPHA")
                && l.contains(suffix)
                && l.contains("ACTIVE")),
            "nmblookup -A {addr} lacks ALPHA{suffix}: {text}"
        );
    }
    let status = holder.quit();
    assert!(status.success(), "nbtstat --hold: {status}");
    for (name, suffix, hex) in names {
        let (_, s) = version_and_state(&server, name, suffix);
        assert_eq!(
            s,
            RecordState::Released,
            "{name}<{hex}> after quitting the hold"
        );
    }
    let hold_packets = dissect_clean(&capture.stop().expect("stop capture"));
    assert!(
        hold_packets.iter().any(|p| op(p) == (Some("0"), Some("8"))),
        "no op-8 refresh captured: {hold_packets:#?}"
    );

    // (4) -A and -a against nmbd print its names.
    let out = run(&server, &["-A", wins.as_str()]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "WINSSRV        <00>  UNIQUE      Registered",
        "WINSSRV        <20>  UNIQUE      Registered",
        "NBNSTEST       <00>  GROUP       Registered",
        "MAC Address = 00-00-00-00-00-00",
        "NetBIOS Remote Machine Name Table",
    ] {
        assert!(text.contains(needle), "-A lacks {needle:?}:\n{text}");
    }
    let out = run(
        &server,
        &["-a", "WINSSRV", "--wins", wins.as_str(), "--json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let lines = json_lines(&out);
    let table = &events(&lines, "name_table")[0];
    assert_eq!(table["address"], wins.as_str());
    let listed = listed_names(table);
    for n in ["WINSSRV<00>", "WINSSRV<03>", "WINSSRV<20>", "NBNSTEST<00>"] {
        assert!(listed.iter().any(|l| l == n), "-a lacks {n}: {listed:?}");
    }
    let out = run(&server, &["-a", "NOSUCHHOST", "--wins", wins.as_str()]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Host not found: NOSUCHHOST<00> is not registered at the WINS server"),
        "{text}"
    );

    for p in [&pcap, &quiet_pcap, &hold_pcap] {
        let _ = std::fs::remove_file(p);
    }
    let _ = std::fs::remove_file(&state);
    server.stop().expect("stop nmbd");
}

#[test]
fn conflict_with_a_live_owner_after_nmbd_wack() {
    if !support::interop_enabled("conflict_with_a_live_owner_after_nmbd_wack") {
        return;
    }
    let server = NmbdWins::start().expect("start nmbd");
    let wins = server.wins_ip().to_string();
    let me = server.client_ip();
    let owner: Ipv4Addr = server.client_extra_ips()[0];
    let pcap = scratch("interop-conflict.pcap");
    let capture = tshark::capture(
        Some(server.client_netns()),
        server.client_interface(),
        "udp port 137",
        &pcap,
    )
    .expect("start capture");

    // Another node holds OWNED<00> on a second address of the namespace.
    let owner_text = owner.to_string();
    let mut holder = Holder::start(
        &server,
        &[
            "--wins",
            &wins,
            "--addr",
            &owner_text,
            "--name",
            "OWNED<00>",
        ],
    );
    holder.wait_for("holding", Duration::from_secs(30), |v| {
        v["event"] == "holding"
    });
    assert_eq!(server.record("OWNED", 0).expect("record").ips, vec![owner]);

    // Our -RR of the same unique name: nmbd sends a WACK, challenges the
    // owner at owner:137, the owner answers, and nmbd refuses with ACT_ERR.
    let state = scratch("conflict.state");
    let _ = std::fs::remove_file(&state);
    let start = Instant::now();
    let out = run(
        &server,
        &[
            "-RR",
            "--json",
            "--wins",
            &wins,
            "--addr",
            &me.to_string(),
            "--name",
            "OWNED<00>",
            "--name",
            "MINE<00>",
            "--state",
            state.to_str().unwrap(),
        ],
    );
    let took = start.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(took < Duration::from_secs(30), "took {took:?}");
    let lines = json_lines(&out);
    let conflict = event_for(&lines, "conflict", "OWNED", "00")
        .unwrap_or_else(|| panic!("no conflict reported: {}", describe(&out)));
    assert_eq!(conflict["rcode"], 6, "{conflict}");
    assert_eq!(conflict["rcode_name"], "ACT_ERR", "{conflict}");
    // Releasing a name we never held: nmbd answers NAM_ERR.
    let released = event_for(&lines, "released", "OWNED", "00").expect("released");
    assert_eq!(released["outcome"], "not_found", "{released}");
    assert!(event_for(&lines, "registered", "MINE", "00").is_some());
    let summary = &events(&lines, "summary")[0];
    assert_eq!(summary["registered"], 1);
    assert_eq!(summary["ok"], false);
    // The owner keeps the name.
    let record = server.record("OWNED", 0).expect("record");
    assert_eq!(record.ips, vec![owner], "{record}");
    assert_eq!(record.state, RecordState::Active);

    assert!(holder.quit().success());
    let packets = dissect_clean(&capture.stop().expect("stop capture"));
    let wack = packets
        .iter()
        .find(|p| op(p) == (Some("1"), Some("7")))
        .unwrap_or_else(|| panic!("no WACK captured: {packets:#?}"));
    let wack_id = wack.field("nbns.id");
    assert!(
        packets.iter().any(|p| op(p) == (Some("1"), Some("5"))
            && p.field("nbns.id") == wack_id
            && p.field("nbns.flags.rcode") == Some("6")),
        "no ACT_ERR after the WACK: {packets:#?}"
    );
    // nmbd's challenge query of the owner and the owner's positive answer.
    assert!(
        packets.iter().any(|p| op(p) == (Some("1"), Some("0"))
            && p.field("nbns.name")
                .is_some_and(|n| n.starts_with("OWNED<00>"))
            && p.field("nbns.flags.rcode") == Some("0")),
        "no positive answer from the owner: {packets:#?}"
    );
    let _ = std::fs::remove_file(&pcap);
    let _ = std::fs::remove_file(&state);
    server.stop().expect("stop nmbd");
}
