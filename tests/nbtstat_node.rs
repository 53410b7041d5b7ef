//! What `nbtstat` needs of the tokio driver, against the crate's own WINS
//! server on loopback (ephemeral ports, no root): a name registered by one
//! node and left behind ([`NameNode::detach`]) is taken over by a later one
//! ([`NameNode::adopt`]) and released there; [`NameNode::refresh_now`]
//! refreshes at once; and the program's `--register` / `--release` pair
//! does the same across two processes.
#![cfg(feature = "tokio")]

mod support;

use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;
use std::process::Stdio;

use nbns::client::{ClientConfig, ClientEvent, NameSpec, ReleaseOutcome};
use nbns::server::{RecordState, WinsServer};
use nbns::tokio::{NameNode, RegisterError};
use nbns::wire::{Name, NetbiosName};
use support::loopback::{v4, wins};
use support::programs::{describe, events, json_lines, loopback_node, nbtstat_bin, scratch};
use tokio::time::timeout;

const LOCALHOST: Ipv4Addr = Ipv4Addr::LOCALHOST;
const ME: [Ipv4Addr; 1] = [LOCALHOST];

async fn node(server: SocketAddrV4) -> NameNode {
    let mut config = ClientConfig::with_servers([server]);
    config.retry_interval = Duration::from_millis(200);
    NameNode::bind(SocketAddrV4::new(LOCALHOST, 0), config)
        .await
        .unwrap()
}

fn state(server: &WinsServer, name: &str) -> Option<RecordState> {
    server
        .record(NetbiosName::new(name, 0x00).unwrap(), b"")
        .map(|r| r.state())
}

#[tokio::test]
async fn a_detached_name_stays_and_a_later_node_adopts_and_releases_it() {
    let runner = wins().await;
    let server = v4(runner.local_addr());
    let name = Name::unscoped(NetbiosName::new("LEFT", 0x00).unwrap());

    let first = node(server).await;
    first
        .register(NameSpec::unique(name, &ME))
        .await
        .expect("registered");
    let sent = first.datagrams_sent();
    assert!(sent >= 1, "a registration was sent");
    first.detach().await;
    // Ended without a release: nothing more went out, and the node is gone.
    assert_eq!(first.datagrams_sent(), sent);
    assert_eq!(first.names().await, Vec::new());

    // A later node on another port of the same address adopts the name
    // (nothing sent) and releases it: the server confirms.
    let second = node(server).await;
    second
        .adopt(NameSpec::unique(name, &ME), 300)
        .await
        .expect("adopted");
    assert_eq!(second.datagrams_sent(), 0, "adopting sends nothing");
    assert_eq!(
        second.release(name).await,
        Ok(ReleaseOutcome::Confirmed),
        "the server held the first node's registration"
    );
    // Adopting a name twice is the client's duplicate error.
    second
        .adopt(NameSpec::unique(name, &ME), 300)
        .await
        .unwrap();
    assert!(matches!(
        second.adopt(NameSpec::unique(name, &ME), 300).await,
        Err(RegisterError::Invalid(_))
    ));
    second.detach().await;
    let server = runner.shutdown().await.unwrap();
    assert_eq!(state(&server, "LEFT"), Some(RecordState::Released));
}

#[tokio::test]
async fn refresh_now_refreshes_every_registered_name_at_once() {
    let runner = wins().await;
    let node = node(v4(runner.local_addr())).await;
    for n in ["ONE", "TWO"] {
        let name = Name::unscoped(NetbiosName::new(n, 0x00).unwrap());
        node.register(NameSpec::unique(name, &ME)).await.unwrap();
    }
    let mut events = node.events();
    node.refresh_now().await;
    let mut refreshed = Vec::new();
    while refreshed.len() < 2 {
        match timeout(Duration::from_secs(5), events.recv()).await {
            Ok(Ok(ClientEvent::Refreshed { name, .. })) => refreshed.push(name.netbios),
            Ok(Ok(_)) => {}
            other => panic!("no refresh: {other:?}"),
        }
    }
    refreshed.sort_by_key(|n| *n.as_bytes());
    assert_eq!(
        refreshed,
        [
            NetbiosName::new("ONE", 0).unwrap(),
            NetbiosName::new("TWO", 0).unwrap()
        ]
    );
    node.shutdown().await;
    runner.shutdown().await.unwrap();
}

/// `nbtstat --register` leaves the names at the server; `nbtstat
/// --release` of another process releases them there.
#[tokio::test]
async fn register_then_release_in_another_process() {
    let runner = wins().await;
    let wins = runner.local_addr().to_string();
    let root = scratch("node-release-root");
    std::fs::create_dir_all(&root).unwrap();
    let bin = tokio::task::spawn_blocking(nbtstat_bin).await.unwrap();
    let run = |mode: &'static str| {
        let mut c = tokio::process::Command::new(&bin);
        c.args(loopback_node(mode, &wins))
            .args(["--name", "KEEPME<00>", "--group", "KEEPGRP<00>"])
            .env("NBTSTAT_SYSROOT", &root)
            .stdin(Stdio::null());
        async move { c.output().await.unwrap() }
    };
    let out = run("--register").await;
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let lines = json_lines(&out);
    assert!(
        events(&lines, "released").is_empty(),
        "--register released: {}",
        describe(&out)
    );

    let out = run("--release").await;
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let lines = json_lines(&out);
    let released = events(&lines, "released");
    assert_eq!(released.len(), 2, "{}", describe(&out));
    assert!(
        released.iter().all(|v| v["outcome"] == "confirmed"),
        "{}",
        describe(&out)
    );
    assert_eq!(events(&lines, "summary")[0]["ok"], true);
    let server = runner.shutdown().await.unwrap();
    assert_eq!(state(&server, "KEEPME"), Some(RecordState::Released));
}

/// `--release` with a server that does not answer: exit 1, and it says so.
#[tokio::test]
async fn release_unanswered_fails() {
    let quiet = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let wins = quiet.local_addr().unwrap().to_string();
    let root = scratch("node-release-quiet");
    std::fs::create_dir_all(&root).unwrap();
    let bin = tokio::task::spawn_blocking(nbtstat_bin).await.unwrap();
    let out = tokio::process::Command::new(&bin)
        .args(loopback_node("--release", &wins))
        .args(["--name", "GONE<00>"])
        .env("NBTSTAT_SYSROOT", &root)
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let lines = json_lines(&out);
    assert_eq!(events(&lines, "released")[0]["outcome"], "unconfirmed");
    assert_eq!(events(&lines, "summary")[0]["ok"], false);
}
