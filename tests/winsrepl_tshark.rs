//! Wireshark as an independent judge of the replication messages the crate
//! emits: every message kind, with name records of every type (unique,
//! normal group, special group, multihomed, a `<1b>` name, a scoped name,
//! tombstoned, static and replica records), is written into a pcap as one
//! TCP conversation on port 42, long messages cut into several segments.
//! tshark's `winsrepl` dissector must read all of it with no malformed flag
//! or error, and show the same fields: sizes, opcodes, handles, message
//! types and commands, versions, owners, names, flags, addresses, counts.
//!
//! Runs only with `NBNS_INTEROP=1` (then a missing tshark is a failure).

mod support;

use core::net::{Ipv4Addr, SocketAddrV4};

use nbns::winsrepl::{
    AddressesRepr, BodyRepr, Member, MessageRepr, NameRecordRepr, OwnerRecord, REPLICATION_PORT,
    RecordFlags, RecordState, RecordType, StopReason, UpdateKind,
};
use nbns::wire::{NetbiosName, NodeType};
use support::pcap::{Side, write_tcp_pcap};
use support::tshark;

/// The fields compared, as tshark names them.
const FIELDS: &[&str] = &[
    "winsrepl.size",
    "winsrepl.opcode",
    "winsrepl.assoc_ctx",
    "winsrepl.message_type",
    "winsrepl.minor_version",
    "winsrepl.major_version",
    "winsrepl.reason",
    "winsrepl.repl_cmd",
    "winsrepl.partner_count",
    "winsrepl.owner_address",
    "winsrepl.max_version",
    "winsrepl.min_version",
    "winsrepl.owner_type",
    "winsrepl.initiator",
    "winsrepl.num_names",
    "winsrepl.name_len",
    "netbios.nb_name",
    "netbios.nb_name_type",
    "winsrepl.name_flags",
    "winsrepl.name_group_flag",
    "winsrepl.name_version_id",
    "winsrepl.num_ips",
    "winsrepl.ip_owner",
    "winsrepl.ip_address",
    "winsrepl.unknown",
];

fn hex(v: u32) -> String {
    format!("{v:#010x}")
}

/// The name as tshark shows it: the 15 name bytes as sent (so with the
/// `<1b>` swap), trailing spaces trimmed, other bytes outside printable
/// ASCII as `<xx>`.
fn shown_name(wire: &[u8; 16]) -> String {
    let body = &wire[..15];
    let end = body.iter().rposition(|&c| c != b' ').map_or(0, |i| i + 1);
    body[..end]
        .iter()
        .map(|&b| {
            if (0x21..0x7f).contains(&b) {
                char::from(b).to_string()
            } else {
                format!("<{b:02x}>")
            }
        })
        .collect()
}

fn owner_fields(o: &OwnerRecord, out: &mut Vec<(String, String)>) {
    let mut f = |k: &str, v: String| out.push((k.to_owned(), v));
    f("winsrepl.owner_address", o.owner.to_string());
    f("winsrepl.max_version", o.max_version.to_string());
    f("winsrepl.min_version", o.min_version.to_string());
    f("winsrepl.owner_type", o.reserved.to_string());
}

/// The fields tshark should show for `m`, in its dissection order, from
/// the values the message was built from.
fn expected_fields(m: &MessageRepr<'_>, out: &mut Vec<(String, String)>) {
    let push = |out: &mut Vec<(String, String)>, k: &str, v: String| out.push((k.to_owned(), v));
    push(out, "winsrepl.size", (m.buffer_len() - 4).to_string());
    push(out, "winsrepl.opcode", hex(m.opcode));
    push(out, "winsrepl.assoc_ctx", hex(m.handle));
    push(
        out,
        "winsrepl.message_type",
        u32::from(m.body.message_type()).to_string(),
    );
    if let Some(command) = m.body.command() {
        push(out, "winsrepl.repl_cmd", hex(command.into()));
    }
    match m.body {
        BodyRepr::StartRequest(s) | BodyRepr::StartReply(s) => {
            push(out, "winsrepl.assoc_ctx", hex(s.handle));
            // Wireshark names the spec's Major "minor_version".
            push(out, "winsrepl.minor_version", s.major.to_string());
            push(out, "winsrepl.major_version", s.minor.to_string());
        }
        BodyRepr::Stop(s) => push(out, "winsrepl.reason", hex(s.reason.into())),
        BodyRepr::TableReply(t) | BodyRepr::UpdateNotification(_, t) => {
            push(out, "winsrepl.partner_count", t.owners.len().to_string());
            t.owners.iter().for_each(|o| owner_fields(o, out));
            push(out, "winsrepl.initiator", t.initiator.to_string());
        }
        BodyRepr::SendRequest(o) => owner_fields(&o, out),
        BodyRepr::SendReply(records) => {
            push(out, "winsrepl.num_names", records.len().to_string());
            for r in records {
                let wire = r.wire_name();
                push(out, "winsrepl.name_len", r.name_len().to_string());
                push(out, "netbios.nb_name", shown_name(&wire));
                push(out, "netbios.nb_name_type", format!("{:#04x}", wire[15]));
                push(out, "winsrepl.name_flags", hex(r.flags.bits()));
                push(out, "winsrepl.name_group_flag", hex(r.group));
                push(out, "winsrepl.name_version_id", r.version.to_string());
                match r.addresses {
                    AddressesRepr::Single(a) => push(out, "winsrepl.ip_address", a.to_string()),
                    AddressesRepr::List(members) => {
                        push(out, "winsrepl.num_ips", members.len().to_string());
                        for m in members {
                            push(out, "winsrepl.ip_owner", m.owner.to_string());
                            push(out, "winsrepl.ip_address", m.address.to_string());
                        }
                    }
                }
                push(
                    out,
                    "winsrepl.unknown",
                    Ipv4Addr::from(r.reserved).to_string(),
                );
            }
        }
        BodyRepr::TableQuery | BodyRepr::UnknownCommand { .. } | BodyRepr::UnknownType { .. } => {}
    }
}

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 137, 9, last)
}

fn nb(name: &str, suffix: u8) -> NetbiosName {
    NetbiosName::new(name, suffix).unwrap()
}

#[test]
fn tshark_reads_every_replication_message_as_emitted() {
    if !support::interop_enabled("tshark_reads_every_replication_message_as_emitted") {
        return;
    }
    let server_ip = ip(1);
    let owners = [
        OwnerRecord::new(server_ip, 15, 0),
        OwnerRecord::new(ip(4), 0x1_0000_0002, 1),
        OwnerRecord::new(ip(200), u64::MAX, 0),
    ];
    let members = [
        Member {
            owner: server_ip,
            address: ip(3),
        },
        Member {
            owner: ip(4),
            address: ip(4),
        },
        Member {
            owner: ip(200),
            address: Ipv4Addr::new(192, 0, 2, 9),
        },
    ];
    let flags = |t, s, n| RecordFlags::new(t, s, n);
    use RecordState::{Active, Released, Tombstone};
    use RecordType::{Multihomed, NormalGroup, SpecialGroup, Unique};
    let records = [
        NameRecordRepr::new(
            nb("HOSTA", 0x00),
            flags(Unique, Active, NodeType::H),
            7,
            AddressesRepr::Single(ip(2)),
        ),
        NameRecordRepr::new(
            nb("WORKGRP", 0x00),
            flags(NormalGroup, Active, NodeType::B),
            9,
            AddressesRepr::Single(ip(3)),
        ),
        NameRecordRepr::new(
            nb("DOMX", 0x1c),
            flags(SpecialGroup, Active, NodeType::H),
            11,
            AddressesRepr::List(&members),
        ),
        NameRecordRepr::new(
            nb("MULTI", 0x00),
            flags(Multihomed, Active, NodeType::M),
            13,
            AddressesRepr::List(&members[..2]),
        ),
        NameRecordRepr::new(
            nb("NBTEST", 0x1b),
            flags(Multihomed, Active, NodeType::M),
            4,
            AddressesRepr::List(&members[..1]),
        ),
        NameRecordRepr::new(
            nb("SCOPED", 0x20),
            flags(Unique, Active, NodeType::P),
            14,
            AddressesRepr::Single(ip(7)),
        )
        .with_scope(b"corp.example"),
        NameRecordRepr::new(
            nb("ALIGNED", 0x00),
            flags(Unique, Active, NodeType::H),
            20,
            AddressesRepr::Single(ip(8)),
        )
        .with_scope(b"012"),
        NameRecordRepr::new(
            nb("GONE", 0x00),
            flags(Unique, Tombstone, NodeType::H),
            21,
            AddressesRepr::Single(ip(8)),
        ),
        NameRecordRepr::new(
            nb("STATIC", 0x20),
            flags(Unique, Active, NodeType::B).with_static(true),
            22,
            AddressesRepr::Single(ip(9)),
        ),
        NameRecordRepr::new(
            nb("REMOTE", 0x00),
            flags(Unique, Released, NodeType::H).with_replica(true),
            0x1_0000_0001,
            AddressesRepr::Single(ip(4)),
        ),
        NameRecordRepr::new(
            nb("EMPTYGRP", 0x1c),
            flags(SpecialGroup, Tombstone, NodeType::H),
            23,
            AddressesRepr::List(&[]),
        ),
    ];
    // A reply far longer than one segment, so that tshark reassembles it.
    let many: Vec<NameRecordRepr<'_>> = (0..300u32)
        .map(|i| {
            let name = nb(&format!("H{i:05}"), 0x00);
            match i % 3 {
                0 => NameRecordRepr::new(
                    name,
                    flags(Unique, Active, NodeType::H),
                    u64::from(i) + 100,
                    AddressesRepr::Single(ip(2)),
                ),
                1 => NameRecordRepr::new(
                    name,
                    flags(NormalGroup, Active, NodeType::H),
                    u64::from(i) + 100,
                    AddressesRepr::Single(ip(3)),
                ),
                _ => NameRecordRepr::new(
                    name,
                    flags(Multihomed, Active, NodeType::H),
                    u64::from(i) + 100,
                    AddressesRepr::List(&members),
                ),
            }
        })
        .collect();
    let c = 0x4a4b_4c4d;
    let s = 0x1234_5678;
    let conversation: Vec<(Side, MessageRepr<'_>)> = vec![
        (Side::Client, MessageRepr::start_request(c)),
        (Side::Server, MessageRepr::start_reply(c, s)),
        (Side::Client, MessageRepr::table_query(s)),
        (
            Side::Server,
            MessageRepr::table_reply(c, &owners, server_ip),
        ),
        (
            Side::Client,
            MessageRepr::send_request(s, OwnerRecord::new(server_ip, 15, 1)),
        ),
        (Side::Server, MessageRepr::send_reply(c, &records)),
        (
            Side::Client,
            MessageRepr::send_request(s, OwnerRecord::new(ip(4), 0, 0)),
        ),
        (Side::Server, MessageRepr::send_reply(c, &[])),
        (
            Side::Client,
            MessageRepr::send_request(s, OwnerRecord::new(ip(200), 400, 100)),
        ),
        (Side::Server, MessageRepr::send_reply(c, &many)),
        (
            Side::Server,
            MessageRepr::update(c, UpdateKind::Update, &owners, Ipv4Addr::UNSPECIFIED),
        ),
        (
            Side::Server,
            MessageRepr::update(c, UpdateKind::Update2, &owners[..1], server_ip),
        ),
        (
            Side::Server,
            MessageRepr::update(c, UpdateKind::Inform, &owners, server_ip),
        ),
        (
            Side::Server,
            MessageRepr::update(c, UpdateKind::Inform2, &owners[1..], ip(4)),
        ),
        (
            Side::Client,
            MessageRepr {
                padding: &[],
                ..MessageRepr::stop(s, StopReason::Normal)
            },
        ),
        (Side::Server, MessageRepr::stop(c, StopReason::Error)),
    ];
    let bytes: Vec<(Side, Vec<u8>)> = conversation
        .iter()
        .map(|(side, m)| {
            let mut out = Vec::new();
            m.emit_buf(&mut out).unwrap();
            (*side, out)
        })
        .collect();
    let payloads: Vec<(Side, &[u8])> = bytes.iter().map(|(s, b)| (*s, b.as_slice())).collect();
    let client = SocketAddrV4::new(ip(2), 49_152);
    let server = SocketAddrV4::new(server_ip, REPLICATION_PORT);
    let path =
        std::env::temp_dir().join(format!("nbns-winsrepl-tshark-{}.pcap", std::process::id()));
    write_tcp_pcap(&path, client, server, &payloads, 1460).unwrap();

    let packets = tshark::dissect_fields(
        &path,
        &["-o", "tcp.check_checksum:TRUE"],
        &["winsrepl.", "netbios."],
    )
    .expect("tshark");
    let _ = std::fs::remove_file(&path);
    for p in &packets {
        assert!(!p.malformed, "frame {} flagged: {:?}", p.number, p.expert);
        assert!(
            !p.expert.iter().any(|e| e.is_error()),
            "frame {}: {:?}",
            p.number,
            p.expert
        );
    }
    let got: Vec<(String, String)> = packets
        .iter()
        .flat_map(|p| p.fields.iter().cloned())
        .filter(|(name, _)| FIELDS.contains(&name.as_str()))
        .collect();
    let mut want = Vec::new();
    for (_, m) in &conversation {
        expected_fields(m, &mut want);
    }
    let dissected = got.iter().filter(|(n, _)| n == "winsrepl.size").count();
    assert_eq!(
        dissected,
        conversation.len(),
        "tshark found {dissected} messages"
    );
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "field {i} differs");
    }
    assert_eq!(got.len(), want.len());
}
