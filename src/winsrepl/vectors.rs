//! Byte vectors: real messages captured on TCP 42 against Samba 4.17.12's
//! AD DC WINS server (`tests/data/winsrepl/`, see its SOURCES), plus the
//! forms no capture holds, written from the MS-WINSRA layouts. Each message
//! kind has a `test_parse_*` and a `test_emit_*`; emit tests write into a
//! buffer pre-filled with 0xa5, so that bytes not written show.

use core::net::Ipv4Addr;

use crate::winsrepl::*;
use crate::wire::{NetbiosName, NodeType};

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2));
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Emits into a 0xa5-filled buffer longer than the message; checks the
/// length, that the tail is untouched, and that `emit_buf` agrees.
fn emitted(m: &MessageRepr<'_>) -> Vec<u8> {
    let mut buf = vec![0xa5u8; m.buffer_len() + 16];
    let n = m.emit(&mut buf).unwrap();
    assert_eq!(n, m.buffer_len());
    assert!(
        buf[n..].iter().all(|&b| b == 0xa5),
        "emit wrote past the message"
    );
    let mut via_buf = Vec::new();
    assert_eq!(m.emit_buf(&mut via_buf), Ok(n));
    assert_eq!(&via_buf[..], &buf[..n]);
    buf.truncate(n);
    buf
}

const SAMBA: Ipv4Addr = Ipv4Addr::new(10, 137, 9, 1);
const PUSHER: Ipv4Addr = Ipv4Addr::new(10, 137, 9, 4);

/// samba-pull.pcap frame 4: Association Start Request from the stdlib client `wrepl-pull.py` (handle 0x4a4b4c4d).
const PULL_START_REQUEST: &str =
    "000000290000780000000000000000004a4b4c4d00020005000000000000000000000000000000000000000000";

/// samba-pull.pcap frame 6: Samba 4.17.12's Association Start Response (its constant handle 0x12345678).
const SAMBA_START_REPLY: &str =
    "00000029000078004a4b4c4d000000011234567800020005000000000000000000000000000000000000000000";

/// samba-pull.pcap frame 8: Owner-Version Map Request from `wrepl-pull.py`.
const PULL_TABLE_QUERY: &str = "0000001000007800123456780000000300000000";

/// samba-pull.pcap frame 9: Samba's Owner-Version Map Response (one owner, max 15; its own address as Reserved2).
const SAMBA_TABLE_REPLY: &str = concat!(
    "00000030000078004a4b4c4d0000000300000001000000010a890901000000000000000f000000000000000000000001",
    "0a890901",
);

/// samba-pull.pcap frame 25: Name Records Request from `wrepl-pull.py` for versions 7..=9.
const PULL_SEND_REQUEST: &str =
    "00000028000078001234567800000003000000020a8909010000000000000009000000000000000700000001";

/// samba-pull.pcap frame 11: Samba's Name Records Response with all 13 records: its own names (multihomed, `<1b>` swapped, `<1c>` special group, normal group) and registered ones (unique, group, a two-member `<1c>`, multihomed, scoped).
const SAMBA_SEND_REPLY: &str = concat!(
    "000002d0000078004a4b4c4d00000003000000030000000d00000011533457494e532020202020202020200000000000",
    "00000043000000000000000000000001010000000a8909010a890901ffffffff00000011533457494e53202020202020",
    "202020030000000000000043000000000000000000000002010000000a8909010a890901ffffffff0000001153345749",
    "4e53202020202020202020200000000000000043000000000000000000000003010000000a8909010a890901ffffffff",
    "000000111b42544553542020202020202020204e0000000000000043000000000000000000000004010000000a890901",
    "0a890901ffffffff000000114e42544553542020202020202020201c0000000000000042010000000000000000000005",
    "010000000a8909010a890901ffffffff000000114e425445535420202020202020202000000000000000004101000000",
    "00000000000000060a890901ffffffff00000011484f5354412020202020202020202000000000000000006000000000",
    "00000000000000070a890902ffffffff00000011484f5354412020202020202020202020000000000000006000000000",
    "00000000000000080a890902ffffffff00000011574f524b475250202020202020202000000000000000006101000000",
    "00000000000000090a890903ffffffff00000011444f4d5820202020202020202020201c000000000000006201000000",
    "000000000000000b020000000a8909010a8909040a8909010a890903ffffffff000000114d554c544920202020202020",
    "20202000000000000000006300000000000000000000000d010000000a8909010a890906ffffffff0000001d53434f50",
    "454420202020202020202000636f72702e6578616d706c65000000000000006000000000000000000000000e0a890907",
    "ffffffff00000011474f4e45202020202020202020202000000000000000006000000000000000000000000f0a890908",
    "ffffffff",
);

/// samba-update.pcap frame 8: UPDATE from a stdlib push client at 10.137.9.4 (owner 10.137.9.4, max 2).
const UPDATE_FROM_PUSHER: &str = concat!(
    "0000003000007800123456780000000300000004000000010a8909040000000000000002000000000000000000000001",
    "00000000",
);

/// samba-update.pcap frame 9: Samba's Name Records Request after that UPDATE (versions 1..=2 of 10.137.9.4).
const SAMBA_SEND_REQUEST: &str =
    "00000028000078000000beef00000003000000020a8909040000000000000002000000000000000100000001";

/// samba-update.pcap frame 10: the push client's Name Records Response, which Samba stored as PUSHED<00> version 2.
const PUSHER_SEND_REPLY: &str = concat!(
    "000000440000780012345678000000030000000300000001000000115055534845442020202020202020200000000000",
    "000000600000000000000000000000020a890904ffffffff",
);

/// samba-update.pcap frame 11: Samba's Association Stop, reason 0, 16 bytes (no reserved bytes).
const SAMBA_STOP: &str = "00000010000078000000beef0000000200000000";

#[test]
fn test_parse_start_request() {
    let bytes = unhex(PULL_START_REQUEST);
    let m = Message::parse(&bytes).unwrap();
    assert_eq!(m.header.opcode, OPCODE_BITS);
    assert_eq!(m.header.handle, 0);
    assert_eq!(m.header.message_type, MessageType::StartRequest);
    assert_eq!(
        m.body,
        Body::StartRequest(Start {
            handle: 0x4a4b_4c4d,
            major: 2,
            minor: 5
        })
    );
    assert_eq!(m.padding, &[0u8; 21]);
}

#[test]
fn test_emit_start_request() {
    let m = MessageRepr::start_request(0x4a4b_4c4d);
    assert_eq!(emitted(&m), unhex(PULL_START_REQUEST));
}

#[test]
fn test_parse_start_reply() {
    let bytes = unhex(SAMBA_START_REPLY);
    let m = Message::parse(&bytes).unwrap();
    assert_eq!(m.header.handle, 0x4a4b_4c4d);
    assert_eq!(m.body, Body::StartReply(Start::new(0x1234_5678)));
    assert_eq!(m.padding.len(), 21);
}

#[test]
fn test_emit_start_reply() {
    let m = MessageRepr::start_reply(0x4a4b_4c4d, 0x1234_5678);
    assert_eq!(emitted(&m), unhex(SAMBA_START_REPLY));
}

#[test]
fn test_parse_short_start() {
    // Samba reads only the 8 body bytes; so does this crate.
    let bytes = unhex("000000140000780000000000000000000000000100020001");
    let m = Message::parse(&bytes).unwrap();
    assert_eq!(
        m.body,
        Body::StartRequest(Start {
            handle: 1,
            major: 2,
            minor: 1
        })
    );
    assert!(m.padding.is_empty());
}

#[test]
fn test_parse_stop() {
    let bytes = unhex(SAMBA_STOP);
    let m = Message::parse(&bytes).unwrap();
    assert_eq!(m.header.handle, 0xbeef);
    assert_eq!(
        m.body,
        Body::Stop(Stop {
            reason: StopReason::Normal
        })
    );
    assert!(m.padding.is_empty());
}

#[test]
fn test_emit_stop() {
    // Samba's 16-byte form, and the spec's 40-byte one.
    let samba = MessageRepr {
        padding: &[],
        ..MessageRepr::stop(0xbeef, StopReason::Normal)
    };
    assert_eq!(emitted(&samba), unhex(SAMBA_STOP));
    let spec = emitted(&MessageRepr::stop(0xbeef, StopReason::Error));
    assert_eq!(spec.len(), 44);
    assert_eq!(
        &spec[..20],
        &unhex(
            "0000002800007800 0000beef0000000200000004"
                .replace(' ', "")
                .as_str()
        )[..]
    );
    assert!(spec[20..].iter().all(|&b| b == 0));
}

#[test]
fn test_parse_table_query() {
    let bytes = unhex(PULL_TABLE_QUERY);
    let m = Message::parse(&bytes).unwrap();
    assert_eq!(m.header.handle, 0x1234_5678);
    assert_eq!(m.body, Body::TableQuery);
    assert_eq!(m.body.command(), Some(ReplCommand::TableQuery));
}

#[test]
fn test_emit_table_query() {
    assert_eq!(
        emitted(&MessageRepr::table_query(0x1234_5678)),
        unhex(PULL_TABLE_QUERY)
    );
}

#[test]
fn test_parse_table_reply() {
    let bytes = unhex(SAMBA_TABLE_REPLY);
    let m = Message::parse(&bytes).unwrap();
    let Body::TableReply(table) = m.body else {
        panic!("{m:?}")
    };
    assert_eq!(table.initiator, SAMBA);
    let owners: Vec<_> = table.owners.iter().collect();
    assert_eq!(owners, [OwnerRecord::new(SAMBA, 15, 0)]);
}

#[test]
fn test_emit_table_reply() {
    let owners = [OwnerRecord::new(SAMBA, 15, 0)];
    let m = MessageRepr::table_reply(0x4a4b_4c4d, &owners, SAMBA);
    assert_eq!(emitted(&m), unhex(SAMBA_TABLE_REPLY));
}

#[test]
fn test_parse_send_request() {
    let bytes = unhex(SAMBA_SEND_REQUEST);
    let m = Message::parse(&bytes).unwrap();
    assert_eq!(m.header.handle, 0xbeef);
    assert_eq!(m.body, Body::SendRequest(OwnerRecord::new(PUSHER, 2, 1)));
    let bytes = unhex(PULL_SEND_REQUEST);
    let m = Message::parse(&bytes).unwrap();
    assert_eq!(m.body, Body::SendRequest(OwnerRecord::new(SAMBA, 9, 7)));
}

#[test]
fn test_emit_send_request() {
    let m = MessageRepr::send_request(0xbeef, OwnerRecord::new(PUSHER, 2, 1));
    assert_eq!(emitted(&m), unhex(SAMBA_SEND_REQUEST));
}

#[test]
fn test_parse_update() {
    let bytes = unhex(UPDATE_FROM_PUSHER);
    let m = Message::parse(&bytes).unwrap();
    let Body::UpdateNotification(kind, table) = m.body else {
        panic!("{m:?}")
    };
    assert_eq!(kind, UpdateKind::Update);
    assert!(!kind.persistent() && !kind.propagate());
    assert_eq!(table.initiator, Ipv4Addr::UNSPECIFIED);
    assert_eq!(
        table.owners.iter().collect::<Vec<_>>(),
        [OwnerRecord::new(PUSHER, 2, 0)]
    );
}

#[test]
fn test_emit_update() {
    let owners = [OwnerRecord::new(PUSHER, 2, 0)];
    let m = MessageRepr::update(
        0x1234_5678,
        UpdateKind::Update,
        &owners,
        Ipv4Addr::UNSPECIFIED,
    );
    assert_eq!(emitted(&m), unhex(UPDATE_FROM_PUSHER));
}

/// UPDATE2, INFORM and INFORM2 share the UPDATE layout (MS-WINSRA 2.2.8);
/// only the command byte differs. No capture has them (Samba never sends
/// UPDATE2 or INFORM2, and sends INFORM only to partners it pushes to).
const NOTIFY_TEMPLATE: &str = concat!(
    "0000003000007800123456780000000300000000",
    "000000010a890904000000000000000200000000000000000000000100000000",
);

#[test]
fn test_parse_update2_inform_inform2() {
    for (byte, kind) in [
        (5u8, UpdateKind::Update2),
        (8, UpdateKind::Inform),
        (9, UpdateKind::Inform2),
    ] {
        let mut bytes = unhex(NOTIFY_TEMPLATE);
        bytes[19] = byte;
        let m = Message::parse(&bytes).unwrap();
        let Body::UpdateNotification(k, table) = m.body else {
            panic!("{m:?}")
        };
        assert_eq!(k, kind);
        assert_eq!(k.persistent(), byte >= 8);
        assert_eq!(k.propagate(), byte % 2 == 1);
        assert_eq!(table.owners.len(), 1);
    }
}

#[test]
fn test_emit_update2_inform_inform2() {
    let owners = [OwnerRecord::new(PUSHER, 2, 0)];
    for (byte, kind) in [
        (5u8, UpdateKind::Update2),
        (8, UpdateKind::Inform),
        (9, UpdateKind::Inform2),
    ] {
        let mut want = unhex(NOTIFY_TEMPLATE);
        want[19] = byte;
        let m = MessageRepr::update(0x1234_5678, kind, &owners, Ipv4Addr::UNSPECIFIED);
        assert_eq!(emitted(&m), want);
    }
}

fn nb(name: &str, suffix: u8) -> NetbiosName {
    NetbiosName::new(name, suffix).unwrap()
}

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 137, 9, last)
}

/// The 13 records of Samba's reply, as values.
fn samba_records<'r>(
    own: &'r [Member],
    domx: &'r [Member],
    multi: &'r [Member],
) -> Vec<NameRecordRepr<'r>> {
    use RecordState::Active;
    use RecordType::*;
    let f = |t, node| RecordFlags::new(t, Active, node);
    let single = |last| AddressesRepr::Single(ip(last));
    let own_list = AddressesRepr::List(own);
    vec![
        NameRecordRepr::new(nb("S4WINS", 0x00), f(Multihomed, NodeType::M), 1, own_list),
        NameRecordRepr::new(nb("S4WINS", 0x03), f(Multihomed, NodeType::M), 2, own_list),
        NameRecordRepr::new(nb("S4WINS", 0x20), f(Multihomed, NodeType::M), 3, own_list),
        NameRecordRepr::new(nb("NBTEST", 0x1b), f(Multihomed, NodeType::M), 4, own_list),
        NameRecordRepr::new(
            nb("NBTEST", 0x1c),
            f(SpecialGroup, NodeType::M),
            5,
            own_list,
        ),
        NameRecordRepr::new(
            nb("NBTEST", 0x00),
            f(NormalGroup, NodeType::M),
            6,
            single(1),
        ),
        NameRecordRepr::new(nb("HOSTA", 0x00), f(Unique, NodeType::H), 7, single(2)),
        NameRecordRepr::new(nb("HOSTA", 0x20), f(Unique, NodeType::H), 8, single(2)),
        NameRecordRepr::new(
            nb("WORKGRP", 0x00),
            f(NormalGroup, NodeType::H),
            9,
            single(3),
        ),
        NameRecordRepr::new(
            nb("DOMX", 0x1c),
            f(SpecialGroup, NodeType::H),
            11,
            AddressesRepr::List(domx),
        ),
        NameRecordRepr::new(
            nb("MULTI", 0x00),
            f(Multihomed, NodeType::H),
            13,
            AddressesRepr::List(multi),
        ),
        NameRecordRepr::new(nb("SCOPED", 0x00), f(Unique, NodeType::H), 14, single(7))
            .with_scope(b"corp.example"),
        NameRecordRepr::new(nb("GONE", 0x00), f(Unique, NodeType::H), 15, single(8)),
    ]
}

#[test]
fn test_parse_send_reply() {
    let bytes = unhex(SAMBA_SEND_REPLY);
    let m = Message::parse(&bytes).unwrap();
    assert_eq!(m.header.handle, 0x4a4b_4c4d);
    let Body::SendReply(records) = m.body else {
        panic!("{m:?}")
    };
    assert_eq!(records.len(), 13);
    let all: Vec<_> = records.iter().collect();
    assert_eq!(all.len(), 13);

    // NBTEST<1b>: sent as 1b 'BTEST...' 'N', read back as NBTEST<1b>.
    let b1b = all[3];
    assert_eq!(b1b.name.as_bytes()[0], 0x1b);
    assert_eq!(b1b.name.as_bytes()[15], b'N');
    assert_eq!(b1b.name.netbios(), Some(nb("NBTEST", 0x1b)));
    assert_eq!(b1b.flags.bits(), 0x43);
    assert_eq!(b1b.flags.record_type(), RecordType::Multihomed);
    assert_eq!(b1b.flags.node_type(), NodeType::M);
    assert!(!b1b.flags.is_replica() && !b1b.flags.is_static());

    // DOMX<1c>: special group, group word 1, two members owned by Samba.
    let domx = all[9];
    assert_eq!(domx.name.netbios(), Some(nb("DOMX", 0x1c)));
    assert_eq!(domx.group, 1);
    assert_eq!(domx.version, 11);
    let Addresses::List(members) = domx.addresses else {
        panic!("{domx:?}")
    };
    let members: Vec<_> = members.iter().collect();
    assert_eq!(
        members,
        [
            Member {
                owner: SAMBA,
                address: ip(4)
            },
            Member {
                owner: SAMBA,
                address: ip(3)
            }
        ]
    );

    // SCOPED<00>.corp.example: Name Length 29, 3 bytes of padding.
    let scoped = all[11];
    assert_eq!(scoped.name.as_bytes().len(), 29);
    assert_eq!(scoped.name.scope(), b"corp.example");
    assert_eq!(scoped.addresses, Addresses::Single(ip(7)));
    assert_eq!(scoped.reserved, 0xffff_ffff);

    // The same records, as values, compare equal one by one.
    let own = [Member {
        owner: SAMBA,
        address: SAMBA,
    }];
    let domx = [
        Member {
            owner: SAMBA,
            address: ip(4),
        },
        Member {
            owner: SAMBA,
            address: ip(3),
        },
    ];
    let multi = [Member {
        owner: SAMBA,
        address: ip(6),
    }];
    let want = samba_records(&own, &domx, &multi);
    for (got, want) in all.iter().zip(&want) {
        assert_eq!(got, want);
    }
    assert_eq!(m, MessageRepr::send_reply(0x4a4b_4c4d, &want));
}

#[test]
fn test_emit_send_reply() {
    let own = [Member {
        owner: SAMBA,
        address: SAMBA,
    }];
    let domx = [
        Member {
            owner: SAMBA,
            address: ip(4),
        },
        Member {
            owner: SAMBA,
            address: ip(3),
        },
    ];
    let multi = [Member {
        owner: SAMBA,
        address: ip(6),
    }];
    let records = samba_records(&own, &domx, &multi);
    let m = MessageRepr::send_reply(0x4a4b_4c4d, &records);
    assert_eq!(emitted(&m), unhex(SAMBA_SEND_REPLY));
    // And the reply Samba accepted from the push client.
    let pushed = [NameRecordRepr::new(
        nb("PUSHED", 0x00),
        RecordFlags::new(RecordType::Unique, RecordState::Active, NodeType::H),
        2,
        AddressesRepr::Single(PUSHER),
    )];
    assert_eq!(
        emitted(&MessageRepr::send_reply(0x1234_5678, &pushed)),
        unhex(PUSHER_SEND_REPLY)
    );
}

#[test]
fn test_padding_when_name_is_aligned() {
    // Name Length 20 (scope "012"): 4 bytes of padding, as Windows and
    // Samba send (MS-WINSRA 2.2.10.1).
    let r = [NameRecordRepr::new(
        nb("_SAME_OWNER_A", 0x00),
        RecordFlags::new(RecordType::Unique, RecordState::Tombstone, NodeType::B),
        9,
        AddressesRepr::Single(ip(2)),
    )
    .with_scope(b"012")];
    let bytes = emitted(&MessageRepr::send_reply(1, &r));
    assert_eq!(&bytes[24..28], &[0, 0, 0, 20]);
    assert_eq!(&bytes[28 + 20..28 + 24], &[0; 4]);
    assert_eq!(bytes.len(), 24 + 4 + 20 + 4 + 16 + 4 + 4);
    let m = Message::parse(&bytes).unwrap();
    assert_eq!(m, MessageRepr::send_reply(1, &r));
}

#[test]
fn test_unknown_type_and_command_kept() {
    let bytes = unhex("00000010000078000000000100000007deadbeef");
    let m = Message::parse(&bytes).unwrap();
    assert_eq!(m.header.message_type, MessageType::Unknown(7));
    assert_eq!(m.body, Body::UnknownType(&[0xde, 0xad, 0xbe, 0xef]));
    let r = MessageRepr {
        opcode: OPCODE_BITS,
        handle: 1,
        body: BodyRepr::UnknownType {
            message_type: 7,
            bytes: &[0xde, 0xad, 0xbe, 0xef],
        },
        padding: &[],
    };
    assert_eq!(emitted(&r), bytes);

    let bytes = unhex("000000140000780000000001000000030000000601020304");
    let m = Message::parse(&bytes).unwrap();
    assert_eq!(
        m.body,
        Body::UnknownCommand {
            command: 6,
            bytes: &[1, 2, 3, 4]
        }
    );
    assert_eq!(m.body.command(), Some(ReplCommand::Unknown(6)));
}

#[test]
fn test_errors_carry_offsets() {
    // Packet Length does not match.
    let mut bytes = unhex(SAMBA_STOP);
    bytes[3] = 0x11;
    assert_eq!(
        Message::parse(&bytes),
        Err(ParseError::LengthMismatch {
            declared: 17,
            actual: 16
        })
    );
    // Header cut short.
    assert_eq!(
        Message::parse(&[0, 0, 0, 4, 0, 0, 0x78, 0]),
        Err(ParseError::Truncated {
            offset: 0,
            what: Field::Header
        })
    );
    // An owner count far beyond the bytes: refused at the count.
    let bytes = unhex("0000001800007800000000000000000300000001ffffffff00000000");
    assert_eq!(
        Message::parse(&bytes),
        Err(ParseError::CountTooLarge {
            offset: 20,
            count: u32::MAX,
            what: Field::OwnerCount
        })
    );
    // A record count beyond the records: truncated at the first missing one.
    let mut bytes = unhex(PUSHER_SEND_REPLY);
    bytes[23] = 2;
    assert_eq!(
        Message::parse(&bytes),
        Err(ParseError::Truncated {
            offset: 72,
            what: Field::Name
        })
    );
    // Name Length 0 and 256.
    for (len, word) in [(0u32, [0u8, 0, 0, 0]), (256, [0, 0, 1, 0])] {
        let mut bytes = unhex(PUSHER_SEND_REPLY);
        bytes[24..28].copy_from_slice(&word);
        assert_eq!(
            Message::parse(&bytes),
            Err(ParseError::BadNameLength { offset: 24, len })
        );
    }
    // An address count (little-endian) beyond the message.
    let mut bytes = unhex(SAMBA_SEND_REPLY);
    bytes[24 + 4 + 17 + 3 + 16..][..4].copy_from_slice(&[0, 1, 0, 0]);
    assert_eq!(
        Message::parse(&bytes),
        Err(ParseError::CountTooLarge {
            offset: 64,
            count: 256,
            what: Field::Addresses
        })
    );
}

#[test]
fn test_emit_refusals() {
    let flags = RecordFlags::new(RecordType::Unique, RecordState::Active, NodeType::H);
    let list = [Member {
        owner: SAMBA,
        address: SAMBA,
    }];
    let bad_form = [NameRecordRepr::new(
        nb("A", 0),
        flags,
        1,
        AddressesRepr::List(&list),
    )];
    assert_eq!(
        MessageRepr::send_reply(0, &bad_form).emit(&mut [0; 128]),
        Err(EmitError::AddressForm)
    );
    let long = [0x41u8; MAX_SCOPE_LEN + 1];
    let too_long = [
        NameRecordRepr::new(nb("A", 0), flags, 1, AddressesRepr::Single(SAMBA)).with_scope(&long),
    ];
    assert_eq!(
        MessageRepr::send_reply(0, &too_long).emit(&mut [0; 512]),
        Err(EmitError::ScopeTooLong {
            len: MAX_SCOPE_LEN + 1
        })
    );
    let swapped = [NameRecordRepr::new(
        NetbiosName::from_raw(*b"\x1bBC            \x00"),
        flags,
        1,
        AddressesRepr::Single(SAMBA),
    )];
    assert_eq!(
        MessageRepr::send_reply(0, &swapped).emit(&mut [0; 128]),
        Err(EmitError::AmbiguousName)
    );
    let many = vec![
        Member {
            owner: SAMBA,
            address: SAMBA
        };
        256
    ];
    let mh = RecordFlags::new(RecordType::Multihomed, RecordState::Active, NodeType::H);
    let too_many = [NameRecordRepr::new(
        nb("A", 0),
        mh,
        1,
        AddressesRepr::List(&many),
    )];
    assert_eq!(
        MessageRepr::send_reply(0, &too_many).emit(&mut [0; 4096]),
        Err(EmitError::TooManyAddresses { count: 256 })
    );
    // A short buffer is refused, and left as it was.
    let m = MessageRepr::table_query(1);
    let mut small = [0xa5u8; 19];
    assert_eq!(
        m.emit(&mut small),
        Err(EmitError::BufferTooSmall { need: 20, have: 19 })
    );
    assert!(small.iter().all(|&b| b == 0xa5));
}
