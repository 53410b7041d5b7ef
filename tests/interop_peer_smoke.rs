//! Smoke tests of the interop test helpers themselves: a private nmbd WINS
//! server answers Samba's own client and exposes its database, and tshark
//! judges hand-made and captured packets.
//!
//! Needs root, nmbd, nmblookup, tshark and iproute2 (see `tests/support`);
//! runs only when `NBNS_INTEROP=1` is set.

mod support;

use core::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;

use support::tshark;
use support::{NmbdWins, RecordState};

/// A scratch file name unique to this process and test.
fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("nbns-smoke-{}-{name}", std::process::id()))
}

/// The first-level encoding of RFC 1001 section 14.1 of `name` padded with
/// spaces to 15 bytes plus `suffix`, as a length-prefixed label with the root.
fn encoded_name(name: &str, suffix: u8) -> Vec<u8> {
    let mut raw = [b' '; 16];
    raw[..name.len()].copy_from_slice(name.as_bytes());
    raw[15] = suffix;
    let mut out = vec![32];
    for byte in raw {
        out.push(b'A' + (byte >> 4));
        out.push(b'A' + (byte & 0x0f));
    }
    out.push(0);
    out
}

/// Asserts that nmblookup, asking the WINS server directly, gets `ip` for `name#20`.
fn assert_resolves(server: &NmbdWins, name: &str) {
    let wins = server.wins_ip().to_string();
    let query = format!("{name}#20");
    let output = server.nmblookup(["-U", wins.as_str(), "--recursion", query.as_str()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "nmblookup failed ({}): {stdout}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let expected = format!("{wins} {name}<20>");
    assert!(
        stdout.lines().any(|line| line.trim() == expected),
        "expected {expected:?} in nmblookup output:\n{stdout}"
    );
}

#[test]
fn nmbd_answers_and_exposes_version_ids() {
    if !support::interop_enabled("nmbd_answers_and_exposes_version_ids") {
        return;
    }
    let server = NmbdWins::start().expect("start nmbd");
    let name = server.netbios_name().to_owned();
    assert_resolves(&server, &name);

    let records = server.records();
    let listing: Vec<String> = records.iter().map(ToString::to_string).collect();
    for suffix in [0x00, 0x03, 0x20] {
        let record = server
            .record(&name, suffix)
            .unwrap_or_else(|| panic!("{name}<{suffix:02x}> missing from:\n{listing:#?}"));
        assert_eq!(record.state, RecordState::Active, "{record}");
        assert!(record.version >= 1, "{record}");
        assert_eq!(record.ips, vec![server.wins_ip()], "{record}");
        assert_eq!(
            server.version_of(&name.to_lowercase(), suffix),
            Some(record.version)
        );
    }
    // each registration got its own version ID
    let mut versions: Vec<u64> = [0x00, 0x03, 0x20]
        .iter()
        .filter_map(|&suffix| server.version_of(&name, suffix))
        .collect();
    versions.sort_unstable();
    versions.dedup();
    assert_eq!(versions.len(), 3, "{listing:#?}");
    assert_eq!(server.version_of("NOSUCHNAME", 0x00), None);

    // a negative answer for an unknown name, immediately
    let wins = server.wins_ip().to_string();
    let output = server.nmblookup(["-U", wins.as_str(), "--recursion", "NOSUCHNAME#00"]);
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("failed to find name"),
        "{output:?}"
    );
    server.stop().expect("stop nmbd");
}

#[test]
fn tshark_reads_a_hand_built_name_query() {
    if !support::interop_enabled("tshark_reads_a_hand_built_name_query") {
        return;
    }
    // NAME QUERY REQUEST (RFC 1002 section 4.2.12), broadcast, for FRED<00>
    let mut query = vec![
        0x12, 0x34, // transaction ID
        0x01, 0x10, // flags: opcode 0 (query), RD, B
        0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // QD/AN/NS/AR counts
    ];
    query.extend_from_slice(&encoded_name("FRED", 0x00));
    query.extend_from_slice(&[0x00, 0x20, 0x00, 0x01]); // type NB, class IN
    assert_eq!(query.len(), 50);

    let src = SocketAddrV4::new(Ipv4Addr::new(10, 137, 0, 2), 137);
    let dst = SocketAddrV4::new(Ipv4Addr::new(10, 137, 0, 255), 137);
    let path = scratch("fred.pcap");
    support::pcap::write_udp_pcap(&path, &[(src, dst, &query)]).expect("write pcap");

    // checksum validation on: a wrong IPv4 or UDP checksum would be an error
    let packets = tshark::dissect_with_options(
        &path,
        &[
            "-o",
            "ip.check_checksum:TRUE",
            "-o",
            "udp.check_checksum:TRUE",
        ],
    )
    .expect("tshark");
    assert_eq!(packets.len(), 1);
    let packet = &packets[0];
    assert!(packet.is_nbns(), "{packet:#?}");
    assert!(!packet.malformed, "{packet:#?}");
    assert_eq!(packet.field("nbns.id"), Some("0x1234"));
    assert_eq!(packet.field("nbns.flags"), Some("0x0110"));
    assert_eq!(packet.field("nbns.flags.opcode"), Some("0"));
    assert_eq!(packet.field("nbns.flags.broadcast"), Some("1"));
    assert_eq!(packet.field("nbns.count.queries"), Some("1"));
    assert_eq!(packet.field("nbns.name"), Some("FRED<00>"));
    assert_eq!(packet.field("nbns.type"), Some("32"));
    assert_eq!(packet.field("nbns.class"), Some("1"));

    // the same query cut short is reported as malformed
    let cut = &query[..30];
    support::pcap::write_udp_pcap(&path, &[(src, dst, cut)]).expect("write pcap");
    let packets = tshark::dissect(&path).expect("tshark");
    assert!(packets[0].malformed, "{:#?}", packets[0]);
    assert!(
        packets[0].expert.iter().any(|e| e.is_error()),
        "{:#?}",
        packets[0]
    );
    let _ = std::fs::remove_file(&path);
}

#[test]
fn two_servers_coexist_and_capture_works() {
    if !support::interop_enabled("two_servers_coexist_and_capture_works") {
        return;
    }
    let first = NmbdWins::start().expect("start first nmbd");
    let second = NmbdWins::start().expect("start second nmbd");
    assert_ne!(first.client_netns(), second.client_netns());
    assert_ne!(first.wins_ip(), second.wins_ip());

    let path = scratch("live.pcap");
    let capture = tshark::capture(
        Some(second.client_netns()),
        second.client_interface(),
        "udp port 137",
        &path,
    )
    .expect("start capture");
    assert_resolves(&first, first.netbios_name());
    assert_resolves(&second, second.netbios_name());
    let path = capture.stop().expect("stop capture");

    // the capture in the second client namespace holds nmblookup's unicast
    // query (among nmbd's own broadcasts) and the answer with the second
    // server's address
    let packets = tshark::dissect(&path).expect("tshark");
    let wins = second.wins_ip().to_string();
    let query = packets
        .iter()
        .find(|p| {
            p.field("nbns.flags.response") == Some("0")
                && p.field("nbns.flags.opcode") == Some("0")
                && p.field("nbns.flags.broadcast") == Some("0")
                && p.field("nbns.name") == Some("WINSSRV<20>")
        })
        .unwrap_or_else(|| panic!("no query captured: {packets:#?}"));
    let id = query.field("nbns.id");
    let answer = packets
        .iter()
        .find(|p| p.field("nbns.flags.response") == Some("1") && p.field("nbns.id") == id)
        .unwrap_or_else(|| panic!("no answer captured: {packets:#?}"));
    assert_eq!(
        answer.field("nbns.addr"),
        Some(wins.as_str()),
        "{answer:#?}"
    );
    assert!(packets.iter().all(|p| !p.malformed), "{packets:#?}");
    let _ = std::fs::remove_file(&path);

    first.stop().expect("stop first");
    second.stop().expect("stop second");
}
