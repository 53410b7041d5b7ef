//! A WINS database on disk for [`WinsServer`], in [`redb`] (an embedded,
//! pure-Rust, ACID key-value store: a write transaction is all or nothing
//! and durable once `commit` returns, across a crash or a power cut).
//!
//! Windows WINS keeps its records in a transactional Jet database
//! (MS-WINSRA §3.1.1); this module does the same for the server's
//! [durable changes](crate::server::Change): [`Store::commit`] applies a
//! batch of them in one transaction, after which the embedder calls
//! [`WinsServer::handle_persisted`] with the batch's last sequence number.
//! [`Store::load`] builds a server from the store, its version counter
//! above the stored mark, so that a version ID is never handed out twice.
//! No async runtime is needed: calls block, and belong on a thread of
//! their own if commits must not stall the server (see
//! `examples/wins_server/`).
//!
//! Three tables: `records` (one row per name and scope, our own records
//! and replicas alike, each with its owner, laid out as the `codec`
//! module says), `meta` (`version-mark`) and `owners` (the owner-version
//! map of other owners: address → highest version pulled, from
//! [`ChangeItem::OwnerVersion`]). Deadlines are stored
//! as wall-clock seconds, so the time the server was down counts when it
//! is loaded again.
//!
//! Behind the `redb` feature.

mod codec;
mod export;

use core::time::Duration;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use redb::{Database, ReadableTable, TableDefinition};

use crate::server::{Change, ChangeItem, RestoreError, ServerConfig, StoredRecord, WinsServer};
use codec::Row;

const RECORDS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("records");
const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");
const VERSION_MARK: &str = "version-mark";
/// Owner address (big-endian u32) → highest version pulled of that owner.
const OWNERS: TableDefinition<'_, u32, u64> = TableDefinition::new("owners");

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed (I/O, a full disk, a damaged file, a lock held
    /// by another process).
    #[error("database: {0}")]
    Db(Box<redb::Error>),
    /// A stored row could not be read; `key` is its key in hex.
    #[error("damaged record {key}")]
    Damaged {
        /// The row's key (name and scope bytes) in hex.
        key: String,
    },
    /// The stored records do not fit the configuration.
    #[error(transparent)]
    Restore(#[from] RestoreError),
    /// Writing the text export failed.
    #[error("writing: {0}")]
    Io(#[from] std::io::Error),
}

fn dberr(e: impl Into<redb::Error>) -> StoreError {
    StoreError::Db(Box::new(e.into()))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Seconds since the Unix epoch of `at`, given that `now` is `wall_now`.
fn wall_secs(at: Instant, now: Instant, wall_now: SystemTime) -> u64 {
    let base = wall_now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    match at.checked_duration_since(now) {
        Some(ahead) => base.saturating_add(ahead.as_secs()),
        None => base.saturating_sub(now.duration_since(at).as_secs()),
    }
}

/// The instant of `secs` since the Unix epoch, given that `now` is
/// `wall_now`; `now` for a time already past.
fn instant_of(secs: u64, now: Instant, wall_now: SystemTime) -> Instant {
    let base = wall_now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let ahead = Duration::from_secs(secs.saturating_sub(base));
    now.checked_add(ahead).unwrap_or(now)
}

/// An open WINS database file. See the [module docs](self).
#[derive(Debug)]
pub struct Store {
    db: Database,
    path: PathBuf,
    key: Vec<u8>,
    value: Vec<u8>,
}

impl Store {
    /// Opens the database at `path`, creating it if it does not exist. A
    /// file left by a crash is recovered to its last committed
    /// transaction.
    ///
    /// # Errors
    /// [`StoreError::Db`] if the file cannot be created or opened, is not a
    /// database, or is open in another process.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_owned();
        let db = Database::create(&path).map_err(dberr)?;
        let w = db.begin_write().map_err(dberr)?;
        w.open_table(RECORDS).map_err(dberr)?;
        w.open_table(META).map_err(dberr)?;
        w.open_table(OWNERS).map_err(dberr)?;
        w.commit().map_err(dberr)?;
        Ok(Self {
            db,
            path,
            key: Vec::with_capacity(64),
            value: Vec::with_capacity(64),
        })
    }

    /// Where the database is.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored version mark (0 for a new database).
    ///
    /// # Errors
    /// [`StoreError::Db`] if it cannot be read.
    pub fn version_mark(&self) -> Result<u64, StoreError> {
        let r = self.db.begin_read().map_err(dberr)?;
        let meta = r.open_table(META).map_err(dberr)?;
        Ok(meta
            .get(VERSION_MARK)
            .map_err(dberr)?
            .map_or(0, |v| v.value()))
    }

    /// The stored owner-version map of other owners, in address order.
    ///
    /// # Errors
    /// [`StoreError::Db`] if it cannot be read.
    pub fn owner_map(&self) -> Result<Vec<(core::net::Ipv4Addr, u64)>, StoreError> {
        let r = self.db.begin_read().map_err(dberr)?;
        let t = r.open_table(OWNERS).map_err(dberr)?;
        let mut out = Vec::new();
        for item in t.iter().map_err(dberr)? {
            let (k, v) = item.map_err(dberr)?;
            out.push((core::net::Ipv4Addr::from(k.value()), v.value()));
        }
        Ok(out)
    }

    /// Every stored record, in key order, with wall-clock deadlines.
    fn rows(&self) -> Result<Vec<Row>, StoreError> {
        let r = self.db.begin_read().map_err(dberr)?;
        let t = r.open_table(RECORDS).map_err(dberr)?;
        let mut rows = Vec::new();
        for item in t.iter().map_err(dberr)? {
            let (k, v) = item.map_err(dberr)?;
            let row = codec::decode(k.value(), v.value()).map_err(|_| StoreError::Damaged {
                key: hex(k.value()),
            })?;
            rows.push(row);
        }
        Ok(rows)
    }

    /// A server holding the stored records, with `now` as its epoch and
    /// `wall_now` the wall-clock time at `now`: the time since each
    /// record's stored deadline counts (see [`WinsServer::restore`]).
    ///
    /// # Errors
    /// [`StoreError::Db`] if reading fails, [`StoreError::Damaged`] for a
    /// row that cannot be read, [`StoreError::Restore`] for records that
    /// do not fit `config`.
    pub fn load(
        &self,
        config: ServerConfig,
        now: Instant,
        wall_now: SystemTime,
    ) -> Result<WinsServer, StoreError> {
        let mark = self.version_mark()?;
        let records = self.rows()?.into_iter().map(|r| StoredRecord {
            name: r.name,
            scope: r.scope,
            kind: r.kind,
            state: r.state,
            version: r.version,
            owner: r.owner,
            addresses: r.addresses,
            member_owners: r.member_owners,
            deadline: instant_of(r.deadline, now, wall_now),
        });
        let mut server = WinsServer::restore(config, now, mark, records)?;
        server.restore_owner_map(self.owner_map()?);
        Ok(server)
    }

    /// Applies `batch`, in order, in one transaction, durable when this
    /// returns `Ok`. Deadlines are turned into wall-clock time with the
    /// clocks read now.
    ///
    /// # Errors
    /// [`StoreError::Db`]: nothing of the batch is stored. After an I/O
    /// error the database may refuse every further transaction: open it
    /// again.
    pub fn commit(&mut self, batch: &[Change]) -> Result<(), StoreError> {
        self.commit_at(batch, Instant::now(), SystemTime::now())
    }

    /// [`Store::commit`] with the clocks given: `wall_now` is the
    /// wall-clock time at `now`.
    ///
    /// # Errors
    /// As [`Store::commit`].
    pub fn commit_at(
        &mut self,
        batch: &[Change],
        now: Instant,
        wall_now: SystemTime,
    ) -> Result<(), StoreError> {
        let w = self.db.begin_write().map_err(dberr)?;
        {
            let mut records = w.open_table(RECORDS).map_err(dberr)?;
            let mut meta = w.open_table(META).map_err(dberr)?;
            let mut owners = w.open_table(OWNERS).map_err(dberr)?;
            let mut mark = meta
                .get(VERSION_MARK)
                .map_err(dberr)?
                .map_or(0, |v| v.value());
            let mark_before = mark;
            for c in batch {
                match &c.item {
                    ChangeItem::Put { record: r, .. } => {
                        codec::key(&r.name, &r.scope, &mut self.key);
                        let deadline = wall_secs(r.deadline, now, wall_now);
                        codec::value(
                            r.kind,
                            r.state,
                            r.version,
                            deadline,
                            r.owner,
                            &r.addresses,
                            &r.member_owners,
                            &mut self.value,
                        );
                        records
                            .insert(self.key.as_slice(), self.value.as_slice())
                            .map_err(dberr)?;
                    }
                    ChangeItem::Remove(r) => {
                        codec::key(&r.name, &r.scope, &mut self.key);
                        records.remove(self.key.as_slice()).map_err(dberr)?;
                    }
                    ChangeItem::VersionMark(m) => mark = mark.max(*m),
                    ChangeItem::OwnerVersion { owner, version } => {
                        let key = u32::from(*owner);
                        let old = owners.get(key).map_err(dberr)?.map_or(0, |v| v.value());
                        if *version > old {
                            owners.insert(key, *version).map_err(dberr)?;
                        }
                    }
                }
            }
            if mark != mark_before {
                meta.insert(VERSION_MARK, mark).map_err(dberr)?;
            }
        }
        w.commit().map_err(dberr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::RecordState;
    use crate::wire::{Labels, Message, Name, NbAddrEntry, NbFlags, NetbiosName, NodeType};
    use core::net::{Ipv4Addr, SocketAddrV4};

    fn temp(name: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("nbns-store-{}-{name}.redb", std::process::id()));
        let _ = std::fs::remove_file(&p);
        p
    }

    fn send(s: &mut WinsServer, now: Instant, ip: u8, p: &Message<'_>) {
        let mut v = vec![0; p.buffer_len()];
        p.emit(&mut v).unwrap();
        s.handle_datagram(now, SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, ip), 137), &v);
    }

    fn reg(s: &mut WinsServer, now: Instant, ip: u8, name: Name<'_>, group: bool, ttl: u32) {
        let e = NbAddrEntry::new(
            NbFlags::new(group, NodeType::H),
            Ipv4Addr::new(10, 0, 0, ip),
        );
        send(
            s,
            now,
            ip,
            &Message::registration_request(u16::from(ip), name, ttl, e, false),
        );
    }

    fn config() -> ServerConfig {
        ServerConfig {
            min_ttl: 60,
            max_ttl: 3600,
            extinction_interval: 100,
            extinction_timeout: 50,
            ..ServerConfig::default()
        }
    }

    fn views(s: &WinsServer) -> Vec<String> {
        let mut v: Vec<String> = s
            .records()
            .map(|r| {
                format!(
                    "{} {:?} {} {} {} {:?} {}",
                    r.name(),
                    r.scope(),
                    r.kind(),
                    r.state(),
                    r.version(),
                    r.addresses(),
                    r.owner()
                )
            })
            .collect();
        v.sort();
        v
    }

    fn commit_all(store: &mut Store, s: &mut WinsServer, now: Instant, wall: SystemTime) {
        let batch: Vec<Change> = core::iter::from_fn(|| s.poll_change()).collect();
        store.commit_at(&batch, now, wall).unwrap();
        if let Some(c) = batch.last() {
            s.handle_persisted(c.seq);
        }
    }

    #[test]
    fn commit_load_and_export_round_trip() {
        let path = temp("round-trip");
        let now = Instant::now();
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut s = WinsServer::new(config(), now);
        let n = |x: &str, suffix| Name::unscoped(NetbiosName::new(x, suffix).unwrap());
        reg(&mut s, now, 2, n("SHORT", 0x20), false, 100);
        reg(&mut s, now, 3, n("LONG", 0x20), false, 1000);
        reg(&mut s, now, 4, n("WG", 0x00), true, 1000);
        reg(&mut s, now, 5, n("DOM", 0x1C), true, 1000);
        reg(&mut s, now, 6, n("DOM", 0x1C), true, 1000);
        let corp = Labels::from_dotted(b"corp").unwrap();
        let scoped = Name::new(NetbiosName::new("S", 0).unwrap(), corp);
        reg(&mut s, now, 7, scoped, false, 1000);
        let mut store = Store::open(&path).unwrap();
        commit_all(&mut store, &mut s, now, wall);
        assert_eq!(s.poll_transmit().map(|t| t.destination.port()), Some(137));

        let later = now + Duration::from_secs(5);
        let back = wall + Duration::from_secs(5);
        let loaded = store.load(config(), later, back).unwrap();
        assert_eq!(views(&loaded), views(&s));
        assert_eq!(loaded.version_counter(), s.version_mark());
        assert_eq!(store.version_mark().unwrap(), s.version_mark());

        let mut text = Vec::new();
        store.export(&mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "# nbns WINS database: 5 records");
        assert_eq!(lines[1], "version-mark 1024");
        assert_eq!(
            lines[2],
            "SHORT<20> - unique active version 1 owner 0.0.0.0 expires 1700000100 6000/10.0.0.2"
        );
        assert!(
            lines[5].starts_with("DOM<1c> - special active version 5 "),
            "{text}"
        );
        assert!(lines[5].ends_with(" e000/10.0.0.5,e000/10.0.0.6"), "{text}");
        assert!(
            lines[6].starts_with("S<00> corp unique active version 6 "),
            "{text}"
        );

        // down for 400 s: SHORT expired meanwhile, LONG has 600 s left
        drop(store);
        let store = Store::open(&path).unwrap();
        let mut s2 = store
            .load(config(), later, wall + Duration::from_secs(400))
            .unwrap();
        s2.handle_timeout(later);
        let state = |s: &WinsServer, x: &str| {
            s.record(NetbiosName::new(x, 0x20).unwrap(), b"")
                .unwrap()
                .state()
        };
        assert_eq!(state(&s2, "SHORT"), RecordState::Released);
        assert_eq!(state(&s2, "LONG"), RecordState::Active);
        let long = s2
            .record(NetbiosName::new("LONG", 0x20).unwrap(), b"")
            .unwrap();
        assert_eq!(long.deadline(), later + Duration::from_secs(600));
        drop(store);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn removal_deletes_and_the_mark_only_grows() {
        let path = temp("removal");
        let now = Instant::now();
        let wall = SystemTime::now();
        let mut s = WinsServer::new(config(), now);
        let name = Name::unscoped(NetbiosName::new("A", 0x20).unwrap());
        reg(&mut s, now, 2, name, false, 60);
        let mut store = Store::open(&path).unwrap();
        commit_all(&mut store, &mut s, now, wall);
        // expiry, tombstone, removal: the record leaves the store
        let mut t = now;
        for _ in 0..3 {
            t = s.poll_timeout().unwrap();
            s.handle_timeout(t);
        }
        assert!(s.is_empty());
        commit_all(&mut store, &mut s, t, wall);
        let loaded = store.load(config(), t, wall).unwrap();
        assert!(loaded.is_empty());
        assert_eq!(loaded.version_counter(), 1024);
        // a lower mark never lowers the stored one
        let low = [Change {
            seq: 1,
            item: ChangeItem::VersionMark(5),
        }];
        store.commit(&low).unwrap();
        assert_eq!(store.version_mark().unwrap(), 1024);
        drop(store);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn the_owner_map_is_kept_and_only_grows() {
        let path = temp("owners");
        let now = Instant::now();
        let wall = SystemTime::now();
        let other = Ipv4Addr::new(10, 9, 9, 9);
        let mut store = Store::open(&path).unwrap();
        let item = |version| ChangeItem::OwnerVersion {
            owner: other,
            version,
        };
        store
            .commit(&[
                Change {
                    seq: 1,
                    item: item(40),
                },
                Change {
                    seq: 2,
                    item: item(30),
                },
            ])
            .unwrap();
        assert_eq!(store.owner_map().unwrap(), [(other, 40)]);
        let loaded = store.load(config(), now, wall).unwrap();
        assert_eq!(loaded.owner_map().collect::<Vec<_>>(), [(other, 40)]);
        assert_eq!(loaded.version_counter(), 0);
        drop(store);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_damaged_row_is_an_error() {
        let path = temp("damaged");
        let store = Store::open(&path).unwrap();
        let w = store.db.begin_write().unwrap();
        {
            let mut t = w.open_table(RECORDS).unwrap();
            t.insert(&b"0123456789abcdef"[..], &b"\x01\x00"[..])
                .unwrap();
        }
        w.commit().unwrap();
        let e = store
            .load(config(), Instant::now(), SystemTime::now())
            .unwrap_err();
        assert!(
            matches!(&e, StoreError::Damaged { key } if key == "30313233343536373839616263646566"),
            "{e}"
        );
        drop(store);
        let _ = std::fs::remove_file(&path);
    }
}
