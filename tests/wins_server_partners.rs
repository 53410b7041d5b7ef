//! `wins_server --partners FILE` as a process on loopback (127.0.0.13
//! and 127.0.0.14, ephemeral ports, no root): a file with mistakes is
//! refused with every mistake as `FILE:LINE: what` (exit 2); a good file,
//! with comments, makes the server replicate with the partner it lists.

mod support;

use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;
use std::net::UdpSocket;
use std::process::Command;

use nbns::wire::{Message, Name, NbAddrEntry, NbFlags, NetbiosName, NodeType, Packet, PacketKind};
use support::examples::{Proc, example_binary, free_tcp, free_udp};
use support::nmbd::wait_until;

const A: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 13);
const B: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 14);
const HOST: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 15);

fn scratch(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("nbns-partners-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn every_mistake_of_the_file_is_reported_with_its_line() {
    let dir = scratch("bad");
    let file = dir.join("partners.conf");
    std::fs::write(
        &file,
        "# partners\n\
         127.0.0.20 push pull\n\
         not-an-address pull\n\
         \n\
         127.0.0.21 pull sometimes\n\
         127.0.0.22 push changes=many interval=x\n\
         127.0.0.20:4200 pull ; the same partner again\n\
         127.0.0.23 ; the partner of --partner\n",
    )
    .unwrap();
    let out = Command::new(example_binary("wins_server", &["redb"]))
        .args(["--listen", "127.0.0.1:0", "--run-for", "5"])
        .args(["--replication", "127.0.0.1:0", "--partner", "127.0.0.23"])
        .arg("--partners")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    let f = file.display();
    for (line, what) in [
        (3, "\"not-an-address\" is not an IPv4 address"),
        (5, "unknown word \"sometimes\""),
        (6, "changes=many: invalid digit"),
        (6, "interval=x: invalid digit"),
        (7, "partner 127.0.0.20 already listed (line 2)"),
        (8, "partner 127.0.0.23 already listed (--partner)"),
    ] {
        let want = format!("{f}:{line}: {what}");
        assert!(err.contains(&want), "{want:?} missing in:\n{err}");
    }
    assert_eq!(err.lines().count(), 6, "{err}");
    assert!(!err.contains("serving on"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_partner_of_the_file_replicates() {
    let dir = scratch("good");
    let bin = example_binary("wins_server", &["redb"]);
    let (ua, ub, ta, tb) = (free_udp(A), free_udp(B), free_tcp(A), free_tcp(B));
    // A knows B from --partner; B knows A from its file only.
    let file = dir.join("partners.conf");
    std::fs::write(
        &file,
        format!("# A, pushing to us\n\n  {A}:{ta}   pull push interval=0 ; no periodic pull\n"),
    )
    .unwrap();
    let start = |ip: Ipv4Addr, udp: u16, tcp: u16, partners: &[&str]| {
        let mut cmd = Command::new(&bin);
        cmd.args(["--listen", &format!("{ip}:{udp}")])
            .args(["--replication", &format!("{ip}:{tcp}")])
            .args(partners)
            .args(["--run-for", "60"]);
        Proc::spawn(cmd)
    };
    let a = start(A, ua, ta, &["--partner", &format!("{B}:{tb},push,pull")]);
    let b = start(
        B,
        ub,
        tb,
        &[
            "--partners",
            file.to_str().unwrap(),
            "--db",
            dir.join("b.redb").to_str().unwrap(),
        ],
    );
    for p in [&a, &b] {
        assert!(
            wait_until(Duration::from_secs(10), || p.stderr.has("serving on")),
            "not started:\n{}",
            p.log()
        );
    }
    assert!(
        b.stderr.has(&format!(
            "replication partner {A}:{ta} pull Some(PullConfig {{ interval: None"
        )),
        "{}",
        b.log()
    );
    let sock = UdpSocket::bind((HOST, 0)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let entry = NbAddrEntry::new(NbFlags::new(false, NodeType::H), HOST);
    let n = Name::unscoped(NetbiosName::new("FILEHOST", 0x20).unwrap());
    let p = Message::registration_request(0x51, n, 300, entry, false);
    let mut v = vec![0; p.buffer_len()];
    p.emit(&mut v).unwrap();
    sock.send_to(&v, SocketAddrV4::new(A, ua)).unwrap();
    let mut buf = [0u8; 1024];
    let (len, _) = sock.recv_from(&mut buf).expect("an answer from A");
    assert_eq!(
        Packet::parse(&buf[..len]).unwrap().kind(),
        PacketKind::PositiveRegistrationResponse
    );
    assert!(
        wait_until(Duration::from_secs(5), || b
            .stdout
            .all()
            .iter()
            .any(|l| l.starts_with("replicated FILEHOST<20>"))),
        "B did not replicate from the partner of its file:\nA:\n{}\nB:\n{}",
        a.log(),
        b.log()
    );
    drop((a, b));
    let _ = std::fs::remove_dir_all(&dir);
}
