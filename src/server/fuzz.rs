//! A driver for fuzzing and property tests: turns arbitrary bytes into a
//! sequence of datagrams and clock steps, and checks the server's
//! invariants after each. Not part of the stable API.

use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Instant;

use crate::server::{Change, ChangeItem, DeterministicIds, ServerConfig, StoredRecord, WinsServer};
use crate::wire::{NetbiosName, Packet};

/// Small limits so that the fuzzer reaches the caps.
#[must_use]
pub fn fuzz_config() -> ServerConfig {
    ServerConfig {
        min_ttl: 2,
        max_ttl: 50,
        extinction_interval: 5,
        extinction_timeout: 5,
        max_records: 64,
        max_pending: 4,
        max_scopes: 4,
        max_queued: 32,
        max_unpersisted: 24,
        ..ServerConfig::default()
    }
}

/// A store as the server sees it: records by name and scope, the mark,
/// and every version ID ever stored with the name it was given to.
#[derive(Default)]
struct SimStore {
    records: BTreeMap<(NetbiosName, Box<[u8]>), StoredRecord>,
    mark: u64,
    given: HashMap<u64, (NetbiosName, Box<[u8]>)>,
}

impl SimStore {
    /// Applies one change; panics if a version lies above the stored mark
    /// or was stored before for another name.
    fn apply(&mut self, c: &Change) {
        match &c.item {
            ChangeItem::Put { record, .. } => {
                assert!(record.version <= self.mark, "version above the mark");
                let key = (record.name, record.scope.clone());
                let first = self.given.entry(record.version).or_insert(key.clone());
                assert!(*first == key, "version {} given twice", record.version);
                self.records.insert(key, record.clone());
            }
            ChangeItem::Remove(record) => {
                self.records.remove(&(record.name, record.scope.clone()));
            }
            ChangeItem::VersionMark(m) => self.mark = self.mark.max(*m),
            ChangeItem::OwnerVersion { .. } => {}
        }
    }
}

/// Drives a server from `data`, panicking if an invariant breaks:
/// `poll_timeout` is never at or before the last `handle_timeout` instant;
/// queues, records and challenges stay within their caps; version IDs never
/// decrease; a version is never used above the last mark reported, nor
/// stored for two names, across simulated crashes.
///
/// Format: a sequence of commands. Byte `c`:
/// * `c < 0x40`: advance the clock by `c × 100 ms` and run timers;
/// * `c < 0x80`: a datagram from `10.0.0.(c & 7)`, port 137; the next byte
///   is its length `n`, then `n` bytes follow;
/// * `c < 0xC0`: answer the last challenge query seen, positively if `c` is
///   odd, with the next byte as the answering address's last octet;
/// * `c < 0xFF`: persist the next `c & 0x3F` changes (one commit) and call
///   `handle_persisted`;
/// * `0xFF`: crash: the changes not persisted are lost, and a server is
///   restored from the simulated store.
pub fn fuzz_drive(data: &[u8]) {
    let start = Instant::now();
    let mut now = start;
    let config = fuzz_config();
    let mut server = WinsServer::with_ids(config.clone(), now, DeterministicIds::new(1));
    let mut last_query: Option<(u16, [u8; 34])> = None;
    let mut max_version = 0;
    let mut store = SimStore::default();
    let mut unsaved: VecDeque<Change> = VecDeque::new();
    let mut mark = 0;
    let mut i = 0;
    while let Some(&c) = data.get(i) {
        i += 1;
        if c < 0x40 {
            now += Duration::from_millis(100 * u64::from(c));
            server.handle_timeout(now);
            if let Some(t) = server.poll_timeout() {
                assert!(t > now, "poll_timeout in the past");
            }
        } else if c < 0x80 {
            let n = usize::from(data.get(i).copied().unwrap_or(0));
            i += 1;
            let end = (i + n).min(data.len());
            let bytes = data.get(i..end).unwrap_or_default();
            i = end;
            let from = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, c & 7), 137);
            server.handle_datagram(now, from, bytes);
        } else if c == 0xFF {
            unsaved.clear();
            let records = store.records.values().cloned();
            server = WinsServer::restore(config.clone(), now, store.mark, records)
                .unwrap_or_else(|e| panic!("restore: {e}"));
            assert!(server.version_counter() >= store.mark);
            max_version = server.version_counter();
            mark = store.mark;
            last_query = None;
        } else if c >= 0xC0 {
            let mut last = None;
            for _ in 0..(c & 0x3F) {
                let Some(ch) = unsaved.pop_front() else { break };
                store.apply(&ch);
                last = Some(ch.seq);
            }
            if let Some(seq) = last {
                server.handle_persisted(seq);
            }
        } else {
            let octet = data.get(i).copied().unwrap_or(0) & 7;
            i += 1;
            if let Some((id, encoded)) = last_query {
                let mut d = Vec::with_capacity(64);
                let flags: u16 = if c & 1 == 1 { 0x8500 } else { 0x8503 };
                d.extend_from_slice(&id.to_be_bytes());
                d.extend_from_slice(&flags.to_be_bytes());
                d.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0]);
                d.extend_from_slice(&encoded);
                if c & 1 == 1 {
                    d.extend_from_slice(&[0, 0x20, 0, 1, 0, 0, 0, 60, 0, 6, 0x60, 0]);
                    d.extend_from_slice(&[10, 0, 0, octet]);
                } else {
                    d.extend_from_slice(&[0, 0x0a, 0, 1, 0, 0, 0, 0, 0, 0]);
                }
                let from = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, octet), 137);
                server.handle_datagram(now, from, &d);
            }
        }
        let mut sent = 0;
        while let Some(t) = server.poll_transmit() {
            sent += 1;
            if let Ok(p) = Packet::parse(&t.contents)
                && !p.flags.is_response()
                && let Some(q) = p.question()
                && q.name.scope.is_empty()
            {
                let mut enc = [0u8; 34];
                enc[0] = 32;
                enc[1..33].copy_from_slice(&q.name.netbios.encode());
                last_query = Some((p.id, enc));
            }
        }
        assert!(sent <= config.max_queued);
        while server.poll_event().is_some() {}
        while let Some(ch) = server.poll_change() {
            match &ch.item {
                ChangeItem::VersionMark(m) => {
                    assert!(*m > mark, "the mark went back");
                    mark = *m;
                }
                ChangeItem::Put { record, .. } => assert!(record.version <= mark),
                ChangeItem::Remove(_) | ChangeItem::OwnerVersion { .. } => {}
            }
            unsaved.push_back(ch);
        }
        assert_eq!(server.unpersisted(), unsaved.len() as u64);
        // registrations stop at the cap; timers add at most a few changes
        // per record (expiry, tombstone, removal, and their marks)
        let cap = config.max_unpersisted + 6 * config.max_records + 2;
        assert!(server.unpersisted() <= cap as u64);
        assert!(server.len() <= config.max_records);
        assert!(server.pending_challenges() <= config.max_pending);
        assert!(server.version_counter() >= max_version);
        max_version = server.version_counter();
        for r in server.records() {
            assert!(r.version() <= max_version && r.version() > 0);
        }
    }
}
