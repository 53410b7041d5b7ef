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
//! Five tables: `unique-records` and `records` (one row per name and
//! scope, our own records and replicas alike, each with its owner, laid
//! out as the `codec` module says: a record without a scope and with one
//! address in the fixed-width rows of `unique-records`, every other in
//! `records`; a record is in one of them), `log` (below), `meta`
//! (`version-mark`) and `owners` (the owner-version map of other owners:
//! address → highest version pulled, from [`ChangeItem::OwnerVersion`]).
//! Deadlines are stored as wall-clock seconds, so the time the server was
//! down counts when it is loaded again.
//!
//! # The log
//!
//! A B-tree row costs microseconds to insert, so a commit of many records
//! (a replication pull: tens of thousands) would take seconds one row per
//! record. A commit that changes at least [`LOG_MIN`] records, or any
//! commit while the log is not empty, writes instead the last state of
//! each record it changed into rows of the `log` table, up to
//! [`LOG_ROW_ENTRIES`] records a row (about 200 kB): a few large values,
//! written at the speed of the disk. Loading applies the log over the
//! record tables, oldest row first. The log is folded into the record
//! tables later, oldest row first and in its own transactions: by
//! [`Store::fold_step`] (what an empty [`Store::commit`] does; the tokio
//! `ServerRunner` calls it while no change waits), by [`Store::fold`],
//! and by any commit that leaves more than [`LOG_CAP`] records in the
//! log (it folds the excess). The fold costs what the rows would have
//! cost, later, and in steps of at most [`FOLD_STEP`] records.
//!
//! Behind the `redb` feature.

mod codec;
mod export;
mod log;

use core::time::Duration;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use redb::{Database, ReadableTable, TableDefinition};

use crate::server::{Change, ChangeItem, RestoreError, ServerConfig, StoredRecord, WinsServer};
use codec::Row;

const RECORDS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("records");
/// Unscoped one-address records: name as a big-endian `u128` → value.
const UNIQUE: TableDefinition<'_, u128, [u8; codec::COMPACT_LEN]> =
    TableDefinition::new("unique-records");
/// Log position → a row of records' last states (see the `log` module).
const LOG: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("log");
const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");
const VERSION_MARK: &str = "version-mark";
/// Owner address (big-endian u32) → highest version pulled of that owner.
const OWNERS: TableDefinition<'_, u32, u64> = TableDefinition::new("owners");

/// A commit that changes at least this many records writes them to the
/// log (see the [module docs](self)).
pub const LOG_MIN: usize = 1024;
/// Records in one row of the log, at most.
pub const LOG_ROW_ENTRIES: usize = 4096;
/// Records a fold step folds, at most (at least one row, whatever its
/// size).
pub const FOLD_STEP: u64 = 4096;
/// Records the log holds after a commit, at most: a commit folds what is
/// above. A load keeps the logged records in a map of their own while it
/// reads the tables, so this bounds what a load needs beyond the server
/// it builds.
pub const LOG_CAP: u64 = 262_144;

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
    /// A row of the log could not be read at `offset` in it.
    #[error("damaged log row {position} at byte {offset}")]
    DamagedLog {
        /// The row's position in the log.
        position: u64,
        /// Where in the row it stops making sense.
        offset: usize,
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
    /// The order a commit applies its batch in (see `order_by_key`).
    order: Vec<usize>,
    /// A log row being written.
    row: Vec<u8>,
    /// The committed log: its rows' positions and entry counts, oldest
    /// first.
    log: std::collections::VecDeque<(u64, u64)>,
    /// The position of the next log row.
    log_next: u64,
    /// Entries in the committed log.
    log_entries: u64,
    /// [`LOG_MIN`], [`LOG_ROW_ENTRIES`], [`FOLD_STEP`] and [`LOG_CAP`],
    /// smaller in tests.
    limits: Limits,
}

/// The log's limits, as the constants say.
#[derive(Debug, Clone, Copy)]
struct Limits {
    log_min: usize,
    row_entries: usize,
    fold_step: u64,
    cap: u64,
}

impl Limits {
    const DEFAULT: Self = Self {
        log_min: LOG_MIN,
        row_entries: LOG_ROW_ENTRIES,
        fold_step: FOLD_STEP,
        cap: LOG_CAP,
    };
}

/// The record tables of a write transaction.
struct Tables<'t> {
    records: redb::Table<'t, &'static [u8], &'static [u8]>,
    unique: redb::Table<'t, u128, [u8; codec::COMPACT_LEN]>,
}

impl<'t> Tables<'t> {
    fn open(w: &'t redb::WriteTransaction) -> Result<Self, StoreError> {
        Ok(Self {
            records: w.open_table(RECORDS).map_err(dberr)?,
            unique: w.open_table(UNIQUE).map_err(dberr)?,
        })
    }

    /// Sets the record of `key` to `value`, or removes it (`None`): into
    /// its table, and out of the other one (where an earlier state of it,
    /// or a store written before the fixed-width table existed, may have
    /// put it).
    fn set(&mut self, key: &[u8], value: Option<&[u8]>) -> Result<(), StoreError> {
        let (name, scope) = key
            .split_first_chunk::<16>()
            .ok_or_else(|| StoreError::Damaged { key: hex(key) })?;
        let name = crate::wire::NetbiosName::from_raw(*name);
        let compact = value.and_then(|v| codec::compact(&name, scope, v));
        if let Some((k, v)) = compact {
            self.unique.insert(k, v).map_err(dberr)?;
            self.records.remove(key).map_err(dberr)?;
            return Ok(());
        }
        match value {
            Some(v) => {
                self.records.insert(key, v).map_err(dberr)?;
            }
            None => {
                self.records.remove(key).map_err(dberr)?;
            }
        }
        if scope.is_empty() {
            self.unique
                .remove(codec::compact_key(&name))
                .map_err(dberr)?;
        }
        Ok(())
    }
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
        w.open_table(UNIQUE).map_err(dberr)?;
        w.open_table(META).map_err(dberr)?;
        w.open_table(OWNERS).map_err(dberr)?;
        w.open_table(LOG).map_err(dberr)?;
        w.commit().map_err(dberr)?;
        let mut log = std::collections::VecDeque::new();
        {
            let r = db.begin_read().map_err(dberr)?;
            let t = r.open_table(LOG).map_err(dberr)?;
            for item in t.iter().map_err(dberr)? {
                let (k, v) = item.map_err(dberr)?;
                let position = k.value();
                let n = log::count(v.value()).ok_or(StoreError::DamagedLog {
                    position,
                    offset: 0,
                })?;
                log.push_back((position, u64::from(n)));
            }
        }
        let log_next = log.back().map_or(0, |&(p, _)| p + 1);
        let log_entries = log.iter().map(|&(_, n)| n).sum();
        Ok(Self {
            db,
            path,
            key: Vec::with_capacity(64),
            value: Vec::with_capacity(64),
            order: Vec::new(),
            row: Vec::new(),
            log,
            log_next,
            log_entries,
            limits: Limits::DEFAULT,
        })
    }

    /// Records in the log, not yet folded into the record tables.
    #[must_use]
    pub fn unfolded(&self) -> u64 {
        self.log_entries
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

    /// Every stored record, with wall-clock deadlines: the log applied
    /// over the record tables.
    fn rows(&self) -> Result<Vec<Row>, StoreError> {
        let r = self.db.begin_read().map_err(dberr)?;
        // The last state of each record in the log, oldest row first.
        let mut logged = std::collections::BTreeMap::<Vec<u8>, Option<Row>>::new();
        let log = r.open_table(LOG).map_err(dberr)?;
        for item in log.iter().map_err(dberr)? {
            let (k, v) = item.map_err(dberr)?;
            let position = k.value();
            for entry in log::entries(v.value()) {
                let (key, value) =
                    entry.map_err(|offset| StoreError::DamagedLog { position, offset })?;
                let row = value
                    .map(|v| codec::decode(key, v))
                    .transpose()
                    .map_err(|_| StoreError::Damaged { key: hex(key) })?;
                logged.insert(key.to_vec(), row);
            }
        }
        let mut rows = Vec::new();
        let unique = r.open_table(UNIQUE).map_err(dberr)?;
        for item in unique.iter().map_err(dberr)? {
            let (k, v) = item.map_err(dberr)?;
            let key = k.value().to_be_bytes();
            if logged.contains_key(key.as_slice()) {
                continue;
            }
            let row = codec::decode(&key, &v.value())
                .map_err(|_| StoreError::Damaged { key: hex(&key) })?;
            rows.push(row);
        }
        let t = r.open_table(RECORDS).map_err(dberr)?;
        for item in t.iter().map_err(dberr)? {
            let (k, v) = item.map_err(dberr)?;
            if logged.contains_key(k.value()) {
                continue;
            }
            let row = codec::decode(k.value(), v.value()).map_err(|_| StoreError::Damaged {
                key: hex(k.value()),
            })?;
            rows.push(row);
        }
        rows.extend(logged.into_values().flatten());
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
    /// returns `Ok`: into the record tables, or into the log when it is
    /// large or the log is not empty (see the [module docs](self)). An
    /// empty batch folds a step of the log ([`Store::fold_step`]).
    /// Deadlines are turned into wall-clock time with the clocks read
    /// now.
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
        if batch.is_empty() {
            return self.fold_step().map(drop);
        }
        let changed = self.order_by_key(batch);
        let to_log = self.log_entries > 0 || changed >= self.limits.log_min;
        let w = self.db.begin_write().map_err(dberr)?;
        // The log rows this commit writes: (position, entries).
        let mut appended = Vec::new();
        {
            let mut tables = Tables::open(&w)?;
            let mut log = w.open_table(LOG).map_err(dberr)?;
            let mut meta = w.open_table(META).map_err(dberr)?;
            let mut owners = w.open_table(OWNERS).map_err(dberr)?;
            let mut mark = meta
                .get(VERSION_MARK)
                .map_err(dberr)?
                .map_or(0, |v| v.value());
            let mark_before = mark;
            let mut in_row = 0;
            log::start(&mut self.row);
            for &i in &self.order {
                let Some(c) = batch.get(i) else { continue };
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
                    }
                    ChangeItem::Remove(r) => {
                        codec::key(&r.name, &r.scope, &mut self.key);
                        self.value.clear();
                    }
                    ChangeItem::VersionMark(m) => {
                        mark = mark.max(*m);
                        continue;
                    }
                    ChangeItem::OwnerVersion { owner, version } => {
                        let key = u32::from(*owner);
                        let old = owners.get(key).map_err(dberr)?.map_or(0, |v| v.value());
                        if *version > old {
                            owners.insert(key, *version).map_err(dberr)?;
                        }
                        continue;
                    }
                }
                let value = (!self.value.is_empty()).then_some(self.value.as_slice());
                if !to_log {
                    tables.set(&self.key, value)?;
                    continue;
                }
                log::push(&mut self.row, &self.key, value);
                in_row += 1;
                if in_row == self.limits.row_entries {
                    let position = self.log_next + appended.len() as u64;
                    log.insert(position, self.row.as_slice()).map_err(dberr)?;
                    appended.push((position, in_row as u64));
                    log::start(&mut self.row);
                    in_row = 0;
                }
            }
            if in_row > 0 {
                let position = self.log_next + appended.len() as u64;
                log.insert(position, self.row.as_slice()).map_err(dberr)?;
                appended.push((position, in_row as u64));
            }
            if mark != mark_before {
                meta.insert(VERSION_MARK, mark).map_err(dberr)?;
            }
        }
        // Above the cap, the oldest rows are folded in this transaction.
        let total = self.log_entries + appended.iter().map(|&(_, n)| n).sum::<u64>();
        let (folded_rows, folded) = if total > self.limits.cap {
            let rows = self.log.iter().chain(&appended).copied();
            fold_rows(&w, rows, Fold::AtLeast(total - self.limits.cap))?
        } else {
            (0, 0)
        };
        w.commit().map_err(dberr)?;
        self.log.extend(appended.iter().copied());
        self.log.drain(..folded_rows);
        self.log_next += appended.len() as u64;
        self.log_entries = total - folded;
        Ok(())
    }

    /// Folds the oldest rows of the log into the record tables, at least
    /// one and at most [`FOLD_STEP`] records (unless one row holds more),
    /// in one transaction. Returns whether any of the log is left.
    ///
    /// # Errors
    /// [`StoreError::Db`] (nothing is folded), [`StoreError::DamagedLog`]
    /// or [`StoreError::Damaged`] for a row that cannot be read.
    pub fn fold_step(&mut self) -> Result<bool, StoreError> {
        if self.log.is_empty() {
            return Ok(false);
        }
        let w = self.db.begin_write().map_err(dberr)?;
        let (rows, folded) = fold_rows(
            &w,
            self.log.iter().copied(),
            Fold::Within(self.limits.fold_step),
        )?;
        w.commit().map_err(dberr)?;
        self.log.drain(..rows);
        self.log_entries -= folded;
        Ok(!self.log.is_empty())
    }

    /// Folds the whole log into the record tables, a [`Store::fold_step`]
    /// at a time.
    ///
    /// # Errors
    /// As [`Store::fold_step`]; the steps before the error stay folded.
    pub fn fold(&mut self) -> Result<(), StoreError> {
        while self.fold_step()? {}
        Ok(())
    }

    /// Fills `order` with the indices into `batch` of the last change of
    /// each record, sorted by name and scope (the key order of both record
    /// tables: a B-tree takes inserts in key order with the fewest page
    /// splits and cache misses), followed by every mark and owner-version
    /// change. Within one transaction only the last change of a record
    /// counts: each one fully sets the record's row in both tables.
    /// Returns the number of records changed (the first entries).
    fn order_by_key(&mut self, batch: &[Change]) -> usize {
        let record = record_of;
        self.order.clear();
        self.order
            .extend((0..batch.len()).filter(|&i| batch.get(i).and_then(record).is_some()));
        let key = |i: &usize| batch.get(*i).and_then(record).map(|r| (r.name, &r.scope));
        // stable: the changes of one record stay in sequence order
        self.order.sort_by(|a, b| key(a).cmp(&key(b)));
        self.order.dedup_by(|later, earlier| {
            let same = key(later) == key(earlier);
            if same {
                *earlier = *later;
            }
            same
        });
        let records = self.order.len();
        self.order
            .extend((0..batch.len()).filter(|&i| batch.get(i).and_then(record).is_none()));
        records
    }
}

/// The record a change sets or removes.
fn record_of(c: &Change) -> Option<&StoredRecord> {
    match &c.item {
        ChangeItem::Put { record, .. } | ChangeItem::Remove(record) => Some(record),
        _ => None,
    }
}

/// How much of the log a fold takes, in whole rows, oldest first.
#[derive(Debug, Clone, Copy)]
enum Fold {
    /// At least one row, and as many more as keep the records folded
    /// within this many.
    Within(u64),
    /// Rows until at least this many records are folded.
    AtLeast(u64),
}

/// Folds the oldest rows of `log` into the record tables in `w`, and
/// removes them from the log table, as much as `fold` says. Returns the
/// rows and the records folded.
fn fold_rows(
    w: &redb::WriteTransaction,
    log: impl IntoIterator<Item = (u64, u64)>,
    fold: Fold,
) -> Result<(usize, u64), StoreError> {
    let mut tables = Tables::open(w)?;
    let mut table = w.open_table(LOG).map_err(dberr)?;
    let (mut rows, mut folded) = (0, 0);
    for (position, n) in log {
        let done = match fold {
            Fold::Within(budget) => rows > 0 && folded + n > budget,
            Fold::AtLeast(enough) => folded >= enough,
        };
        if done {
            break;
        }
        // (A row missing from the table has nothing left to fold.)
        if let Some(row) = table.remove(position).map_err(dberr)? {
            for entry in log::entries(row.value()) {
                let (key, value) =
                    entry.map_err(|offset| StoreError::DamagedLog { position, offset })?;
                tables.set(key, value)?;
            }
        }
        rows += 1;
        folded += n;
    }
    Ok((rows, folded))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::RecordState;
    use crate::wire::{Labels, Message, Name, NbAddrEntry, NbFlags, NetbiosName, NodeType};
    use core::net::{Ipv4Addr, SocketAddrV4};
    use redb::ReadableTableMetadata;

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

    /// Rows of (`unique-records`, `records`).
    fn table_rows(store: &Store) -> (u64, u64) {
        let r = store.db.begin_read().unwrap();
        let unique = r.open_table(UNIQUE).unwrap().len().unwrap();
        (unique, r.open_table(RECORDS).unwrap().len().unwrap())
    }

    fn stored(name: &str, version: u64, addresses: &[u8], now: Instant) -> StoredRecord {
        let group = addresses.len() > 1;
        StoredRecord {
            name: NetbiosName::new(name, 0x1c).unwrap(),
            scope: Box::default(),
            kind: if group {
                crate::server::RecordKind::SpecialGroup
            } else {
                crate::server::RecordKind::Unique
            },
            state: RecordState::Active,
            version,
            owner: Ipv4Addr::new(10, 0, 0, 1),
            addresses: addresses
                .iter()
                .map(|&n| {
                    let flags = NbFlags::new(group, NodeType::H);
                    NbAddrEntry::new(flags, Ipv4Addr::new(10, 0, 0, n))
                })
                .collect(),
            member_owners: Box::default(),
            deadline: now + Duration::from_secs(600),
        }
    }

    fn put(seq: u64, record: StoredRecord) -> Change {
        Change {
            seq,
            item: ChangeItem::Put {
                event: crate::server::EventKind::Added,
                record,
            },
        }
    }

    #[test]
    fn a_record_is_in_one_table_as_its_shape_changes() {
        let path = temp("tables");
        let now = Instant::now();
        let wall = SystemTime::now();
        let mut store = Store::open(&path).unwrap();
        let loaded = |store: &Store| {
            let s = store.load(config(), now, wall).unwrap();
            s.records()
                .map(|r| (r.version(), r.addresses().len()))
                .collect::<Vec<_>>()
        };
        // one address, no scope: a fixed-width row
        store
            .commit_at(&[put(1, stored("DOM", 1, &[7], now))], now, wall)
            .unwrap();
        assert_eq!(table_rows(&store), (1, 0));
        assert_eq!(loaded(&store), [(1, 1)]);
        // two addresses: the row moves to `records`
        let two = stored("DOM", 2, &[7, 8], now);
        store.commit_at(&[put(2, two.clone())], now, wall).unwrap();
        assert_eq!(table_rows(&store), (0, 1));
        assert_eq!(loaded(&store), [(2, 2)]);
        // and back
        store
            .commit_at(&[put(3, stored("DOM", 3, &[8], now))], now, wall)
            .unwrap();
        assert_eq!(table_rows(&store), (1, 0));
        assert_eq!(loaded(&store), [(3, 1)]);
        // a removal leaves neither
        let gone = [Change {
            seq: 4,
            item: ChangeItem::Remove(stored("DOM", 3, &[8], now)),
        }];
        store.commit_at(&gone, now, wall).unwrap();
        assert_eq!(table_rows(&store), (0, 0));
        // the same in one transaction: only the last state is stored
        let batch = [
            put(5, stored("DOM", 5, &[7], now)),
            put(6, two),
            put(7, stored("DOM", 7, &[9], now)),
        ];
        store.commit_at(&batch, now, wall).unwrap();
        assert_eq!(table_rows(&store), (1, 0));
        assert_eq!(loaded(&store), [(7, 1)]);
        // interleaved records: each ends in its last state
        let mut scoped = stored("DOM", 11, &[7], now);
        scoped.scope = (*b"corp").into();
        let batch = [
            put(8, stored("ZED", 8, &[7], now)),
            put(9, stored("AB", 9, &[7, 8], now)),
            Change {
                seq: 10,
                item: ChangeItem::Remove(stored("DOM", 7, &[9], now)),
            },
            put(11, scoped),
            Change {
                seq: 12,
                item: ChangeItem::Remove(stored("ZED", 8, &[7], now)),
            },
            put(13, stored("ZED", 13, &[9], now)),
        ];
        store.commit_at(&batch, now, wall).unwrap();
        assert_eq!(table_rows(&store), (1, 2));
        let mut held = loaded(&store);
        held.sort_unstable();
        assert_eq!(held, [(9, 2), (11, 1), (13, 1)]);
        drop(store);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_store_with_unique_records_in_the_old_table_loads_and_moves_them() {
        let path = temp("old-table");
        let now = Instant::now();
        let wall = SystemTime::now();
        let store = Store::open(&path).unwrap();
        // as a store written before `unique-records` holds a unique record
        let w = store.db.begin_write().unwrap();
        {
            let r = stored("OLD", 9, &[7], now);
            let (mut k, mut v) = (Vec::new(), Vec::new());
            codec::key(&r.name, &r.scope, &mut k);
            let owner = r.owner;
            codec::value(r.kind, r.state, 9, 0, owner, &r.addresses, &[], &mut v);
            w.open_table(RECORDS)
                .unwrap()
                .insert(k.as_slice(), v.as_slice())
                .unwrap();
        }
        w.commit().unwrap();
        let mut store = store;
        let s = store.load(config(), now, wall).unwrap();
        let name = NetbiosName::new("OLD", 0x1c).unwrap();
        assert_eq!(s.record(name, b"").unwrap().version(), 9);
        // its next state goes to the fixed-width table, the old row away
        store
            .commit_at(&[put(1, stored("OLD", 10, &[8], now))], now, wall)
            .unwrap();
        assert_eq!(table_rows(&store), (1, 0));
        let s = store.load(config(), now, wall).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s.record(name, b"").unwrap().version(), 10);
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

    /// Small limits, so that a few records exercise the log.
    const SMALL: Limits = Limits {
        log_min: 4,
        row_entries: 3,
        fold_step: 4,
        cap: 9,
    };

    fn log_rows(store: &Store) -> u64 {
        let r = store.db.begin_read().unwrap();
        r.open_table(LOG).unwrap().len().unwrap()
    }

    fn versions(store: &Store, now: Instant, wall: SystemTime) -> Vec<(String, u64, usize)> {
        let s = store.load(config(), now, wall).unwrap();
        let mut v: Vec<_> = s
            .records()
            .map(|r| (r.name().to_string(), r.version(), r.addresses().len()))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_large_commit_goes_to_the_log_and_is_folded_later() {
        let path = temp("log");
        let now = Instant::now();
        let wall = SystemTime::now();
        let mut store = Store::open(&path).unwrap();
        store.limits = SMALL;
        // below log_min: the record tables
        let small: Vec<_> = (1..=3)
            .map(|v| put(v, stored(&format!("N{v}"), v, &[7], now)))
            .collect();
        store.commit_at(&small, now, wall).unwrap();
        assert_eq!((table_rows(&store), store.unfolded()), ((3, 0), 0));
        // seven records, N1 again among them: three log rows
        let large: Vec<_> = (4..=10)
            .map(|v| {
                let name = if v == 10 {
                    "N1".to_owned()
                } else {
                    format!("N{v}")
                };
                put(
                    v,
                    stored(&name, v, if v == 9 { &[7, 8] } else { &[7] }, now),
                )
            })
            .collect();
        store.commit_at(&large, now, wall).unwrap();
        assert_eq!((table_rows(&store), store.unfolded()), ((3, 0), 7));
        assert_eq!(log_rows(&store), 3);
        let all = versions(&store, now, wall);
        assert_eq!(all.len(), 9);
        assert!(all.contains(&("N1<1c>".to_owned(), 10, 1)), "{all:?}");
        assert!(all.contains(&("N9<1c>".to_owned(), 9, 2)), "{all:?}");
        // while the log is not empty, a small commit goes to it too
        let gone = [Change {
            seq: 11,
            item: ChangeItem::Remove(stored("N2", 2, &[7], now)),
        }];
        store.commit_at(&gone, now, wall).unwrap();
        assert_eq!(store.unfolded(), 8);
        let before = versions(&store, now, wall);
        assert_eq!(before.len(), 8);
        // the log is read back when the store is opened again
        drop(store);
        let mut store = Store::open(&path).unwrap();
        store.limits = SMALL;
        assert_eq!(store.unfolded(), 8);
        assert_eq!(versions(&store, now, wall), before);
        // one step folds whole rows within its budget: 3, not 3 + 3
        assert!(store.fold_step().unwrap());
        assert_eq!(store.unfolded(), 5);
        assert_eq!(versions(&store, now, wall), before);
        // an empty commit is a step too
        store.commit_at(&[], now, wall).unwrap();
        assert_eq!(store.unfolded(), 1);
        store.fold().unwrap();
        assert_eq!((store.unfolded(), log_rows(&store)), (0, 0));
        assert_eq!(table_rows(&store), (7, 1));
        assert_eq!(versions(&store, now, wall), before);
        // with the log empty, small commits go to the tables again
        store
            .commit_at(&[put(12, stored("N3", 12, &[9], now))], now, wall)
            .unwrap();
        assert_eq!(store.unfolded(), 0);
        drop(store);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_commit_folds_the_log_above_its_cap() {
        let path = temp("log-cap");
        let now = Instant::now();
        let wall = SystemTime::now();
        let mut store = Store::open(&path).unwrap();
        store.limits = SMALL;
        let batch = |from: u64| -> Vec<Change> {
            (from..from + 7)
                .map(|v| put(v, stored(&format!("N{v}"), v, &[7], now)))
                .collect()
        };
        store.commit_at(&batch(1), now, wall).unwrap();
        assert_eq!(store.unfolded(), 7);
        // 14 in the log, above the cap of 9: rows of 3 are folded until
        // at least 5 are, the oldest first
        store.commit_at(&batch(8), now, wall).unwrap();
        assert_eq!(store.unfolded(), 8);
        assert_eq!(table_rows(&store).0, 6);
        assert_eq!(versions(&store, now, wall).len(), 14);
        drop(store);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_damaged_log_row_is_an_error_with_its_offset() {
        let path = temp("log-damaged");
        let store = Store::open(&path).unwrap();
        let w = store.db.begin_write().unwrap();
        {
            let mut t = w.open_table(LOG).unwrap();
            // one entry said, its key cut short
            t.insert(7, &b"\x00\x00\x00\x01\x00\x10ABC"[..]).unwrap();
        }
        w.commit().unwrap();
        drop(store);
        let store = Store::open(&path).unwrap();
        assert_eq!(store.unfolded(), 1);
        let e = store
            .load(config(), Instant::now(), SystemTime::now())
            .unwrap_err();
        assert!(
            matches!(
                e,
                StoreError::DamagedLog {
                    position: 7,
                    offset: 4
                }
            ),
            "{e}"
        );
        drop(store);
        let _ = std::fs::remove_file(&path);
    }

    /// What a test does to the store.
    #[derive(Debug, Clone)]
    enum Op {
        /// Commit changes: (name 0..6, version bump or removal, addresses).
        Commit(Vec<(u8, bool, u8)>),
        FoldStep,
        Reopen,
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            4 => proptest::collection::vec((0u8..6, any::<bool>(), 1u8..3), 0..12).prop_map(Op::Commit),
            1 => Just(Op::FoldStep),
            1 => Just(Op::Reopen),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]
        /// Whatever mix of small and large commits, fold steps and
        /// reopenings, the store loads the last state of every record.
        #[test]
        fn the_store_loads_what_was_committed(ops in proptest::collection::vec(op(), 1..24)) {
            let path = temp(&format!("log-model-{:?}", std::thread::current().id()));
            let now = Instant::now();
            let wall = SystemTime::now();
            let mut store = Store::open(&path).unwrap();
            store.limits = SMALL;
            let mut model = std::collections::BTreeMap::new();
            let mut seq = 0;
            for op in ops {
                match op {
                    Op::Commit(changes) => {
                        let mut batch = Vec::new();
                        for (n, remove, addrs) in changes {
                            seq += 1;
                            let name = format!("N{n}");
                            let addresses: Vec<u8> = (1..=addrs).collect();
                            let record = stored(&name, seq, &addresses, now);
                            if remove {
                                model.remove(&name);
                                batch.push(Change { seq, item: ChangeItem::Remove(record) });
                            } else {
                                model.insert(name, (seq, addresses.len()));
                                batch.push(put(seq, record));
                            }
                        }
                        store.commit_at(&batch, now, wall).unwrap();
                        proptest::prop_assert!(store.unfolded() <= SMALL.cap + 2);
                    }
                    Op::FoldStep => {
                        store.fold_step().unwrap();
                    }
                    Op::Reopen => {
                        drop(store);
                        store = Store::open(&path).unwrap();
                        store.limits = SMALL;
                    }
                }
                let want: Vec<_> = model
                    .iter()
                    .map(|(n, &(v, a))| (format!("{n}<1c>"), v, a))
                    .collect();
                proptest::prop_assert_eq!(versions(&store, now, wall), want);
            }
            store.fold().unwrap();
            proptest::prop_assert_eq!(store.unfolded(), 0);
            let (unique, other) = table_rows(&store);
            proptest::prop_assert_eq!((unique + other) as usize, model.len());
            drop(store);
            let _ = std::fs::remove_file(&path);
        }
    }
}
