//! The crate's name client as a B-node on one broadcast segment of network
//! namespaces the test creates (tests/support/bridge.rs), beside Samba's
//! nmbd as a B-node: nmbd defends its name against our broadcast
//! registration, ours defends against nmbd's, and nmblookup finds our name
//! by broadcast. Runs only with `NBNS_INTEROP=1`, as root.

mod support;

use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use core::time::Duration;
use std::process::Stdio;
use std::time::Instant;

use support::bridge::Bridge;
use support::tshark;

/// nmbd holds BNODEPEER<20> in member 1; our B-node in member 2 tries to
/// claim the same unique name, gets nmbd's negative answer and reports the
/// conflict. tshark reads every datagram without a malformed flag.
#[test]
fn nmbd_defends_its_name_against_our_broadcast_registration() {
    const TEST: &str = "nmbd_defends_its_name_against_our_broadcast_registration";
    if !runs_outside(TEST) {
        return;
    }
    let bridge = Bridge::with_nmbd(2, "BNODEPEER", &[0x20]);
    let pcap = bridge.dir().join("claim.pcap");
    let capture = bridge.capture_nbns(2, &pcap);
    bridge.run_driver_in(
        2,
        TEST,
        &[
            ("NBNS_CLIENT_DRIVER", "BNODEPEER".to_owned()),
            ("NBNS_CLIENT_HOLD", "6".to_owned()),
            ("NBNS_CLIENT_EXPECT", format!("conflict {}", bridge.ip(1))),
        ],
        "the client",
    );
    let pcap = capture.stop().unwrap_or_else(|e| panic!("{e}"));
    let packets = tshark::dissect_nbns_clean(&pcap);
    let me = bridge.ip(2).to_string();
    let peer = bridge.ip(1).to_string();
    let broadcast = bridge.broadcast().to_string();
    let claims = packets
        .iter()
        .filter(|p| {
            p.field("ip.src") == Some(&me)
                && p.field("ip.dst") == Some(&broadcast)
                && p.field("nbns.flags") == Some("0x2910")
        })
        .count();
    assert!(claims >= 1, "our broadcast registrations: {packets:?}");
    let defences = packets
        .iter()
        .filter(|p| {
            p.field("ip.src") == Some(&peer)
                && p.field("ip.dst") == Some(&me)
                && is_act_err_answer(p.field("nbns.flags"))
        })
        .count();
    assert!(defences >= 1, "nmbd's ACT_ERR answers: {packets:?}");
    bridge.stop().unwrap_or_else(|e| panic!("{e}"));
}

/// Our B-node in member 2 claims OURNODE<20>; nmblookup in member 1 finds
/// it by broadcast; then nmbd starts in member 1 as OURNODE and tries to
/// claim OURNODE<20> by broadcast: our node defends it (ACT_ERR) and keeps
/// it, and nmbd does not get it.
#[test]
fn our_b_node_defends_its_name_against_nmbd_and_nmblookup_finds_it() {
    const TEST: &str = "our_b_node_defends_its_name_against_nmbd_and_nmblookup_finds_it";
    if !runs_outside(TEST) {
        return;
    }
    let mut bridge = Bridge::start(2).unwrap_or_else(|e| panic!("{e}"));
    let pcap = bridge.dir().join("defence.pcap");
    let capture = bridge.capture_nbns(2, &pcap);
    let exe = std::env::current_exe().unwrap();
    let mut driver = bridge
        .command_in(2, exe)
        .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
        .env("NBNS_BRIDGE_IP", bridge.ip(2).to_string())
        .env("NBNS_BRIDGE_BROADCAST", bridge.broadcast().to_string())
        .env("NBNS_CLIENT_DRIVER", "OURNODE")
        .env("NBNS_CLIENT_HOLD", "40")
        .env("NBNS_CLIENT_EXPECT", "claimed")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The claim takes three broadcasts 750 ms apart.
    std::thread::sleep(Duration::from_secs(4));
    let out = bridge
        .nmblookup(1, ["-B", &bridge.broadcast().to_string(), "OURNODE#20"])
        .unwrap_or_else(|e| panic!("{e}"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();

    bridge
        .start_nmbd(1, "OURNODE")
        .unwrap_or_else(|e| panic!("{e}"));
    // nmbd claims its <00> (nobody holds it) but not our <20>.
    let got_00 = bridge.wait_nmbd_name(0x00, Duration::from_secs(20));
    let got_20 = bridge.wait_nmbd_name(0x20, Duration::from_secs(5));
    let nmbd_log = bridge.nmbd_log();
    bridge.stop_nmbd();

    let deadline = Instant::now() + Duration::from_secs(90);
    while matches!(driver.try_wait(), Ok(None)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = driver.kill();
    let out_driver = driver.wait_with_output().unwrap();
    let pcap = capture.stop().unwrap_or_else(|e| panic!("{e}"));
    let stdout = String::from_utf8_lossy(&out_driver.stdout);
    eprint!("nmblookup: {text}{stdout}");
    assert!(
        out_driver.status.success(),
        "the client failed:\n{stdout}{}\nnmbd:\n{nmbd_log}",
        String::from_utf8_lossy(&out_driver.stderr)
    );
    assert!(
        text.contains(&format!("{} OURNODE<20>", bridge.ip(2))),
        "nmblookup: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(got_00, "nmbd did not claim OURNODE<00>:\n{nmbd_log}");
    assert!(!got_20, "nmbd claimed our OURNODE<20>:\n{nmbd_log}");
    let packets = tshark::dissect_nbns_clean(&pcap);
    let me = bridge.ip(2).to_string();
    let peer = bridge.ip(1).to_string();
    let defences = packets
        .iter()
        .filter(|p| {
            p.field("ip.src") == Some(&me)
                && p.field("ip.dst") == Some(&peer)
                && is_act_err_answer(p.field("nbns.flags"))
        })
        .count();
    assert!(defences >= 1, "our ACT_ERR answers to nmbd: {packets:?}");
    bridge.stop().unwrap_or_else(|e| panic!("{e}"));
}

/// Whether the test `test` goes on as the part outside the bridge: inside
/// (`NBNS_CLIENT_DRIVER` set) this runs [`client_driver`] instead, and
/// outside the test runs only with `NBNS_INTEROP=1`.
fn runs_outside(test: &str) -> bool {
    if std::env::var_os("NBNS_CLIENT_DRIVER").is_some() {
        client_driver();
        return false;
    }
    support::interop_enabled(test)
}

/// Whether NBNS flags (as tshark prints them, `0x....`) are a response with
/// rcode ACT_ERR (6).
fn is_act_err_answer(flags: Option<&str>) -> bool {
    flags
        .and_then(|f| u16::from_str_radix(f.trim_start_matches("0x"), 16).ok())
        .is_some_and(|f| f & 0x8000 != 0 && f & 0xf == 6)
}

/// The side of the tests that runs inside the bridge: a B-node name client
/// over a real UDP socket on port 137, holding one name `<NAME><20>` for
/// `NBNS_CLIENT_HOLD` seconds, then releasing it. `NBNS_CLIENT_EXPECT` is
/// `claimed` or `conflict <defender address>`.
fn client_driver() {
    use std::io::ErrorKind;
    use std::net::UdpSocket;

    use nbns::client::{ClientConfig, ClientEvent, ConflictCause, NameClient, NameSpec, NameState};
    use nbns::wire::{Name, NetbiosName, NodeType};

    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} not set"));
    let me: Ipv4Addr = var("NBNS_BRIDGE_IP").parse().unwrap();
    let broadcast: Ipv4Addr = var("NBNS_BRIDGE_BROADCAST").parse().unwrap();
    let hold = Duration::from_secs(var("NBNS_CLIENT_HOLD").parse().unwrap());
    let expect = var("NBNS_CLIENT_EXPECT");
    let name = Name::unscoped(NetbiosName::new(&var("NBNS_CLIENT_DRIVER"), 0x20).unwrap());
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 137)).expect("bind port 137");
    socket.set_broadcast(true).unwrap();
    let config = ClientConfig::default()
        .node_type(NodeType::B)
        .broadcast(SocketAddrV4::new(broadcast, 137));
    let mut c = NameClient::with_os_ids(config);
    let start = Instant::now();
    c.add_name(start, NameSpec::unique(name, &[me])).unwrap();
    let mut events = Vec::new();
    let mut buf = [0u8; 1500];
    let mut released = false;
    loop {
        while let Some(t) = c.poll_transmit() {
            let _ = socket.send_to(&t.contents, t.destination);
        }
        for e in core::iter::from_fn(|| c.poll_event()) {
            println!("{:>6} ms  {e}", start.elapsed().as_millis());
            events.push(e);
        }
        let now = Instant::now();
        if !released && now >= start + hold {
            println!("state at the end: {:?}", c.name_state(name));
            println!("defences sent: {}", c.stats().defences);
            match expect.split_once(' ') {
                Some(("conflict", by)) => {
                    let by: Ipv4Addr = by.parse().unwrap();
                    assert_eq!(c.name_state(name), Some(NameState::Conflict));
                    assert!(events.iter().any(|e| matches!(
                        e,
                        ClientEvent::Conflict {
                            cause: ConflictCause::Defended { by: d, .. },
                            ..
                        } if *d.ip() == by
                    )));
                }
                _ => {
                    assert_eq!(c.name_state(name), Some(NameState::Claimed));
                    assert!(c.stats().defences >= 1, "no defence sent");
                }
            }
            c.release(now, name);
            released = true;
            continue;
        }
        if released && c.is_empty() && c.poll_timeout().is_none() {
            break;
        }
        assert!(now < start + hold + Duration::from_secs(10), "no end");
        let limit = if released {
            now + Duration::from_secs(1)
        } else {
            start + hold
        };
        let until = c.poll_timeout().map_or(limit, |d| d.min(limit).max(now));
        if until <= now {
            c.handle_timeout(now);
            continue;
        }
        socket.set_read_timeout(Some(until - now)).unwrap();
        match socket.recv_from(&mut buf) {
            Ok((n, SocketAddr::V4(from))) => c.handle_datagram(Instant::now(), from, &buf[..n]),
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                c.handle_timeout(Instant::now());
            }
            Err(_) => {} // ICMP reports of earlier datagrams
        }
    }
}
