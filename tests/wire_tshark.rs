//! Wireshark as an independent judge of what the crate emits: one packet of
//! every kind (scopes, several address entries, node status, WACK, negative
//! responses included) is written to a pcap, `tshark` reads it, and every
//! field it shows must match the packet, with nothing flagged as malformed.
//! Needs tshark; runs only when `NBNS_INTEROP=1` is set, and then fails,
//! not skips, without it.

mod support;

use core::net::{Ipv4Addr, SocketAddrV4};

use nbns::wire::{
    Flags, Labels, Message, Name, NameFlags, NbAddrEntry, NbAddrs, NbFlags, NetbiosName, NodeName,
    NodeNames, NodeStatus, NodeType, RData, Rcode, RrType, Statistics,
};
use support::tshark;

/// A name as tshark shows it: trailing spaces trimmed (NULs are not),
/// other bytes outside printable ASCII as `<xx>`, then `<suffix>`, then
/// `.scope` when there is one.
fn shown(name: &Name<'_>) -> String {
    let n = &name.netbios;
    let body = &n.as_bytes()[..15];
    let end = body.iter().rposition(|&c| c != b' ').map_or(0, |i| i + 1);
    let mut s: String = body[..end]
        .iter()
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                char::from(b).to_string()
            } else {
                format!("<{b:02x}>")
            }
        })
        .collect();
    s.push_str(&format!("<{:02x}>", n.suffix()));
    if !name.scope.is_empty() {
        s.push('.');
        s.push_str(&name.scope.to_string());
    }
    s
}

#[test]
fn tshark_reads_every_packet_kind_as_emitted() {
    if !support::interop_enabled("tshark_reads_every_packet_kind_as_emitted") {
        return;
    }
    let scope = Labels::from_dotted(b"corp.example").unwrap();
    let host = Name::new(NetbiosName::new("WORKSTATION1", 0x00).unwrap(), scope);
    let plain = Name::unscoped(NetbiosName::new("FILESRV", 0x20).unwrap());
    let dc = Name::unscoped(NetbiosName::new("CORP", 0x1c).unwrap());
    let star = Name::unscoped(NetbiosName::wildcard());
    let h = NbFlags::new(false, NodeType::H);
    let me = NbAddrEntry::new(h, Ipv4Addr::new(10, 0, 0, 5));
    let group = NbAddrEntry::new(NbFlags::new(true, NodeType::B), Ipv4Addr::new(10, 0, 0, 7));
    let members = [
        NbAddrEntry::new(NbFlags::new(true, NodeType::H), Ipv4Addr::new(10, 0, 0, 10)),
        NbAddrEntry::new(NbFlags::new(true, NodeType::H), Ipv4Addr::new(10, 0, 0, 11)),
        NbAddrEntry::new(NbFlags::new(true, NodeType::M), Ipv4Addr::new(10, 0, 0, 12)),
    ];
    let table = [
        NodeName {
            name: NetbiosName::new("WORKSTATION1", 0x00).unwrap(),
            flags: NameFlags::active(false, NodeType::B),
        },
        NodeName {
            name: NetbiosName::new("WORKGROUP", 0x00).unwrap(),
            flags: NameFlags::active(true, NodeType::B),
        },
        NodeName {
            name: NetbiosName::new("WORKSTATION1", 0x20).unwrap(),
            flags: NameFlags::active(false, NodeType::P),
        },
    ];
    let stats = Statistics::block_with_unit_id([0x00, 0x15, 0x5d, 0x01, 0x23, 0x08]);
    let status = NodeStatus {
        names: NodeNames::from_slice(&table),
        statistics: Statistics(&stats),
    };
    let packets = vec![
        Message::name_query_request(0x0101, plain, false),
        Message::name_query_request(0x0102, host, true),
        Message::node_status_request(0x0103, star),
        Message::registration_request(0x0104, host, 300_000, me, false),
        Message::registration_request(
            0x0105,
            Name::unscoped(NetbiosName::new("WORKGROUP", 0).unwrap()),
            0,
            group,
            true,
        ),
        Message::overwrite_request(0x0106, host, 300_000, me, true),
        Message::refresh_request(0x0107, host, 300_000, me, false),
        Message::refresh_request(0x0108, host, 300_000, me, true),
        Message::release_request(0x0109, host, me, false),
        Message::multihomed_registration_request(0x010a, plain, 300_000, me),
        Message::positive_registration_response(0x010b, host, 518_400, me),
        Message::negative_registration_response(0x010c, host, Rcode::Active, me),
        Message::negative_registration_response(0x010d, host, Rcode::Refused, me),
        Message::end_node_challenge_response(0x010e, host, 300_000, me),
        Message::name_conflict_demand(0x010f, host, NodeType::H),
        Message::positive_release_response(0x0110, host, me),
        Message::negative_release_response(0x0111, host, Rcode::NameError, me),
        Message::positive_name_query_response(0x0112, dc, 300_000, NbAddrs::from_slice(&members)),
        Message::negative_name_query_response(0x0113, plain, Rcode::NameError),
        Message::redirect_name_query_response(
            0x0114,
            plain,
            3600,
            Labels::from_dotted(b"wins.corp").unwrap(),
            Ipv4Addr::new(10, 0, 0, 1),
        ),
        Message::wack(0x0115, host, 60, Flags(0x2900), RrType::Null),
        Message::wack(0x0116, host, 9, Flags(0x7900), RrType::Nb),
        Message::node_status_response(0x0117, star, status),
    ];
    let bytes: Vec<Vec<u8>> = packets
        .iter()
        .map(|p| {
            let mut v = Vec::new();
            p.emit_buf(&mut v).unwrap();
            v
        })
        .collect();
    let a = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 1), 137);
    let b = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 2), 137);
    let datagrams: Vec<_> = bytes.iter().map(|v| (a, b, v.as_slice())).collect();
    let dir = std::env::temp_dir().join(format!("nbns-wire-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("every-kind.pcap");
    support::pcap::write_udp_pcap(&path, &datagrams).unwrap();
    let seen =
        tshark::dissect_with_options(&path, &["-o", "udp.check_checksum:TRUE"]).expect("tshark");
    assert_eq!(seen.len(), packets.len());

    for (p, t) in packets.iter().zip(&seen) {
        let ctx = format!(
            "packet {:#06x} ({}): tshark saw {:?}",
            p.id,
            p.kind(),
            t.fields
        );
        assert!(t.is_nbns(), "{ctx}");
        assert!(!t.malformed, "{ctx}: flagged malformed: {:?}", t.expert);
        assert_eq!(
            t.field("nbns.id"),
            Some(format!("0x{:04x}", p.id).as_str()),
            "{ctx}"
        );
        assert_eq!(
            t.field("nbns.flags"),
            Some(format!("0x{:04x}", p.flags.bits()).as_str()),
            "{ctx}"
        );
        assert_eq!(
            t.field("nbns.flags.opcode"),
            Some(u8::from(p.opcode()).to_string().as_str()),
            "{ctx}"
        );
        if p.is_response() {
            assert_eq!(
                t.field("nbns.flags.rcode"),
                Some(u8::from(p.rcode()).to_string().as_str()),
                "{ctx}"
            );
        }
        let h = p.header();
        let counts = [
            ("nbns.count.queries", h.qdcount),
            ("nbns.count.answers", h.ancount),
            ("nbns.count.auth_rr", h.nscount),
            ("nbns.count.add_rr", h.arcount),
        ];
        for (field, n) in counts {
            assert_eq!(
                t.field(field),
                Some(n.to_string().as_str()),
                "{ctx}: {field}"
            );
        }
        // Names of the question and of every record, in order.
        let ours: Vec<String> = p
            .question()
            .iter()
            .map(|q| shown(&q.name))
            .chain(p.records().map(|(_, r)| shown(&r.name)))
            .collect();
        // tshark appends the suffix's meaning to record names: "NAME<00> (Workstation/Redirector)".
        let theirs: Vec<&str> = t
            .fields_named("nbns.name")
            .into_iter()
            .map(|n| n.split(" (").next().unwrap())
            .collect();
        assert_eq!(theirs, ours, "{ctx}: names");
        // Record types, TTLs and data.
        let types: Vec<String> = p
            .question()
            .iter()
            .map(|q| u16::from(q.qtype))
            .chain(p.records().map(|(_, r)| u16::from(r.rr_type())))
            .map(|t| t.to_string())
            .collect();
        assert_eq!(t.fields_named("nbns.type"), types, "{ctx}: types");
        let ttls: Vec<String> = p.records().map(|(_, r)| r.ttl.to_string()).collect();
        assert_eq!(t.fields_named("nbns.ttl"), ttls, "{ctx}: ttls");
        let mut addrs = Vec::new();
        let mut nb_flags = Vec::new();
        // tshark shows NS and A record data as raw bytes.
        let mut raw_data = Vec::new();
        let hex = |b: &[u8]| {
            b.iter()
                .map(|x| format!("{x:02x}"))
                .collect::<Vec<_>>()
                .join(":")
        };
        for (_, r) in p.records() {
            match r.rdata {
                RData::Nb(a) => {
                    for e in a.iter() {
                        addrs.push(e.address.to_string());
                        nb_flags.push(format!("0x{:04x}", e.flags.bits()));
                    }
                }
                RData::A(ip) => raw_data.push(hex(&ip.octets())),
                RData::Null(d) | RData::Unknown { data: d, .. } => raw_data.push(hex(d)),
                RData::Wack(w) => {
                    assert_eq!(t.field("nbns.data_length"), Some("2"), "{ctx}");
                    if w.rr_type == RrType::Null {
                        raw_data.push(hex(&w.request_flags.bits().to_be_bytes()));
                    }
                }
                RData::NodeStatus(s) => {
                    assert_eq!(
                        t.field("nbns.number_of_names"),
                        Some(s.names.len().to_string().as_str()),
                        "{ctx}"
                    );
                    let names: Vec<String> = s
                        .names
                        .iter()
                        .map(|n| String::from_utf8_lossy(n.name.trimmed()).into_owned())
                        .collect();
                    assert_eq!(
                        t.fields_named("nbns.netbios_name"),
                        names,
                        "{ctx}: node names"
                    );
                    let flags: Vec<String> = s
                        .names
                        .iter()
                        .map(|n| format!("0x{:04x}", n.flags.0))
                        .collect();
                    assert_eq!(
                        t.fields_named("nbns.name_flags"),
                        flags,
                        "{ctx}: name flags"
                    );
                    assert_eq!(t.field("nbns.unit_id"), Some("00:15:5d:01:23:08"), "{ctx}");
                }
                RData::Ns(l) => {
                    let mut wire = Vec::new();
                    for label in l.iter() {
                        wire.push(label.len() as u8);
                        wire.extend_from_slice(label);
                    }
                    wire.push(0);
                    raw_data.push(hex(&wire));
                }
            }
        }
        assert_eq!(t.fields_named("nbns.addr"), addrs, "{ctx}: addresses");
        assert_eq!(t.fields_named("nbns.nb_flags"), nb_flags, "{ctx}: NB flags");
        assert_eq!(t.fields_named("nbns.data"), raw_data, "{ctx}: raw data");
    }
    std::fs::remove_dir_all(&dir).ok();
}
