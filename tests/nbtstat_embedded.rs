//! `nbtstat -RR` with no WINS server configured: a demonstration against the
//! crate's own WINS server in-process on loopback. No root needed. Also
//! usage errors, an unreachable server and forged node status answers.
//! (`tests/nbtstat_cli.rs` has the cooldown against servers on loopback.)

mod support;

use core::time::Duration;
use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::time::Instant;

use support::programs::{
    describe, event_for, events, json_lines, loopback_node, nbtstat_bin, scratch,
};

fn nbtstat(args: &[&str]) -> std::process::Output {
    // A system root with no smb.conf and no DHCP leases: nothing configured.
    let root = scratch("empty-root");
    std::fs::create_dir_all(&root).expect("scratch root");
    Command::new(nbtstat_bin())
        .args(args)
        .env("NBTSTAT_SYSROOT", &root)
        .env_remove("NBTSTAT_STATE")
        .stdin(Stdio::null())
        .output()
        .expect("run nbtstat")
}

#[test]
fn embedded_rr_bumps_versions_and_keeps_no_cooldown() {
    let state = scratch("embedded.state");
    let _ = std::fs::remove_file(&state);
    let state_arg = state.to_str().expect("utf-8 temp path");

    let out = nbtstat(&["-RR", "--json", "--state", state_arg]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let lines = json_lines(&out);
    let versions = events(&lines, "version");
    assert_eq!(
        versions.len(),
        2,
        "host name <00> and <20>: {}",
        describe(&out)
    );
    for v in &versions {
        let (name, suffix) = (v["name"].as_str().unwrap(), v["suffix"].as_str().unwrap());
        let before = v["before"].as_u64().expect("version before");
        let after = v["after"].as_u64().expect("version after");
        assert!(after > before, "{name}<{suffix}>: {before} -> {after}");
        // released first, then registered again
        let released = event_for(&lines, "released", name, suffix).expect("released event");
        assert_eq!(released["outcome"], "confirmed");
        let registered: Vec<_> = lines
            .iter()
            .filter(|l| l["event"] == "registered" && l["name"] == name && l["suffix"] == suffix)
            .collect();
        assert_eq!(registered.len(), 2, "initial and -RR registration");
        assert!(registered[1]["ttl"].as_u64().unwrap() > 0);
    }
    assert_eq!(events(&lines, "summary")[0]["ok"], true);

    // Within 2 minutes: the demonstration runs again (its server lived only
    // in the previous process), and writes no state.
    let out = nbtstat(&["-RR", "--json", "--state", state_arg]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let lines = json_lines(&out);
    assert!(events(&lines, "refused").is_empty());
    assert_eq!(events(&lines, "version").len(), 2);
    assert!(
        !state.exists(),
        "the demonstration wrote {}",
        state.display()
    );

    // Text output has the version table, between the two plain-words
    // notices.
    let out = nbtstat(&["-RR", "--name", "DEMO<00>", "--group", "DEMOGROUP<00>"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Version ID before"), "{text}");
    assert!(text.contains("DEMO           <00>"), "{text}");
    assert!(text.contains("Demonstration"), "{text}");
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["-RR", "--name", "SIXTEENCHARSLONG"][..],
        &["-RR", "--name", "HOST<2>"],
        &["-RR", "--name", "HOST<zz>"],
        &["-RR", "--name", "*"],
        // Neither an address nor a host name: nothing is looked up.
        &["-RR", "--wins", "not an address"],
        &["-RR", "--wins", "10.0.0.300"],
        &["--hold"],
        &["-RR", "-n"],
        &["--frobnicate"],
    ] {
        let out = nbtstat(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", describe(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("nbtstat: "), "{args:?}: {}", describe(&out));
        assert_eq!(err.lines().count(), 1, "{args:?}: {}", describe(&out));
    }
    let out = nbtstat(&["-RR", "--name", "ABCDEFGHIJKLMNOP<00>"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("at most 15"), "{err}");
    let out = nbtstat(&["--help"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("-RR"));
}

#[test]
fn unreachable_server_times_out_with_exit_1() {
    // A loopback port nobody listens on.
    let port = UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("ephemeral port")
        .port();
    let wins = format!("127.0.0.1:{port}");
    let start = Instant::now();
    let mut args = loopback_node("--register", &wins).to_vec();
    args.extend(["--name", "LONELY<00>", "--timeout", "30"]);
    let out = nbtstat(&args);
    assert!(start.elapsed() < Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let lines = json_lines(&out);
    assert!(
        event_for(&lines, "timed_out", "LONELY", "00").is_some(),
        "{}",
        describe(&out)
    );
}

/// `-A` against a node on loopback that first sends three forged answers
/// (from another port; for another name; with another ID), then the real
/// one: only the real table is shown.
#[test]
fn node_status_takes_only_the_answer_to_its_request() {
    use nbns::wire::{
        Message, Name, NameFlags, NetbiosName, NodeName, NodeNames, NodeStatus, NodeType, Packet,
        Statistics,
    };
    let node = UdpSocket::bind("127.0.0.1:0").expect("bind node");
    let other = UdpSocket::bind("127.0.0.1:0").expect("bind forger");
    let addr = node.local_addr().unwrap().to_string();
    let responder = std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        node.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let (n, asker) = node.recv_from(&mut buf).expect("status request");
        let req = Packet::parse(&buf[..n]).expect("parse request");
        let asked = req.question().expect("question").name;
        let stats = Statistics::block_with_unit_id([2, 0, 0, 0, 0, 1]);
        let answer = |id: u16, name: Name<'_>, table: &str| {
            let names = [NodeName {
                name: NetbiosName::new(table, 0x20).unwrap(),
                flags: NameFlags::active(false, NodeType::H),
            }];
            let status = NodeStatus {
                names: NodeNames::from_slice(&names),
                statistics: Statistics(&stats),
            };
            let p = Message::node_status_response(id, name, status);
            let mut v = vec![0; p.buffer_len()];
            p.emit(&mut v).unwrap();
            v
        };
        let elsewhere = Name::unscoped(NetbiosName::new("ELSEWHERE", 0).unwrap());
        other
            .send_to(&answer(req.id, asked, "FORGEDPORT"), asker)
            .unwrap();
        node.send_to(&answer(req.id, elsewhere, "FORGEDNAME"), asker)
            .unwrap();
        node.send_to(&answer(req.id ^ 1, asked, "FORGEDID"), asker)
            .unwrap();
        node.send_to(&answer(req.id, asked, "GENUINE"), asker)
            .unwrap();
    });
    let out = nbtstat(&["-A", &addr, "--timeout", "5"]);
    responder.join().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(text.contains("GENUINE"), "{}", describe(&out));
    assert!(!text.contains("FORGED"), "{}", describe(&out));
}
