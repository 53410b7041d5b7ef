//! Arbitrary traffic into a replication partner: the input is a little
//! program of operations (connect from the partner or a stranger, bytes
//! on a connection, close, wait, write out what is queued, a change of
//! our records). Association handles are drawn from a counter (1, 2, ...)
//! so that inputs can carry valid ones. Never a panic; connections and
//! held bytes within the caps.
#![no_main]

use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use nbns::winsrepl::{
    AssociationConfig, ConnectionId, MemoryDb, Partner, PartnerConfig, RecordType,
    ReplicationConfig,
};
use nbns::wire::NetbiosName;

const US: Ipv4Addr = Ipv4Addr::new(10, 3, 0, 1);
const PEER: Ipv4Addr = Ipv4Addr::new(10, 3, 0, 2);
const STRANGER: Ipv4Addr = Ipv4Addr::new(10, 3, 0, 9);
const MAX_MESSAGE: usize = 4096;
const MAX_QUEUED: usize = 32 * 1024;
const MAX_CONNECTIONS: usize = 4;
const RECORDS_PER_REPLY: usize = 20;

fuzz_target!(|data: &[u8]| {
    let mut db = MemoryDb::new(US, 200);
    for k in 0..30u32 {
        let name = NetbiosName::new(&format!("N{k}"), 0x20).unwrap();
        let t = if k % 4 == 0 { RecordType::SpecialGroup } else { RecordType::Unique };
        db.register(name, t, &[PEER, Ipv4Addr::from(k)]);
    }
    let mut config = ReplicationConfig::new(US, vec![PartnerConfig::push_pull(PEER)]);
    config.association = AssociationConfig {
        max_message_len: MAX_MESSAGE,
        ..AssociationConfig::default()
    };
    config.max_connections = MAX_CONNECTIONS;
    config.max_queued_bytes = MAX_QUEUED;
    config.max_records_per_reply = RECORDS_PER_REPLY;
    config.max_events = 64;
    config.max_owners = 8;
    config.max_requests_per_pull = 16;
    let mut now = Instant::now();
    let mut handle = 0u32;
    let mut partner = Partner::new(config, &db, move || {
        handle += 1;
        handle
    });
    let mut next = 1u64;
    let mut slots = [ConnectionId(0); 4];
    let mut rest = data;
    while let Some((&op, r)) = rest.split_first() {
        rest = r;
        let slot = usize::from(op >> 6);
        match op & 7 {
            0 => {
                let ip = if op & 8 != 0 { PEER } else { STRANGER };
                slots[slot] = ConnectionId(next);
                next += 1;
                partner.handle_connected(slots[slot], SocketAddrV4::new(ip, 4000), now);
            }
            1..=3 => {
                let (&len, r) = rest.split_first().unwrap_or((&0, &[]));
                let (chunk, r) = r.split_at(r.len().min(usize::from(len) * 4));
                rest = r;
                partner.handle_received(&mut db, slots[slot], chunk, now);
            }
            4 => partner.handle_closed(slots[slot], now),
            5 => {
                let (&s, r) = rest.split_first().unwrap_or((&0, &[]));
                rest = r;
                now += Duration::from_millis(u64::from(s) * 1000);
                partner.handle_timeout(now);
            }
            6 => {
                while partner.poll_send().is_some() {}
                while partner.poll_close().is_some() {}
                while partner.poll_connect().is_some() {}
                while partner.poll_event().is_some() {}
            }
            _ => {
                let name = NetbiosName::new(&format!("X{}", op >> 3), 0).unwrap();
                db.register(name, RecordType::Unique, &[US]);
                partner.handle_db_changed(&db, now);
            }
        }
        assert!(partner.connections() <= MAX_CONNECTIONS);
        let per_conn = MAX_MESSAGE + MAX_QUEUED + 24 + RECORDS_PER_REPLY * 480;
        assert!(partner.buffered_bytes() <= MAX_CONNECTIONS * per_conn);
    }
});
