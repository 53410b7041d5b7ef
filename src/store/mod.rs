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
//! `examples/wins_server.rs`).
//!
//! Two tables: `records` (one row per name and scope, laid out as the
//! `codec` module says) and `meta` (`version-mark`). Deadlines are stored
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

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed (I/O, a full disk, a damaged file, a lock held
    /// by another process).
    #[error("database: {0}")]
    Db(#[from] redb::Error),
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
    StoreError::Db(e.into())
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
            deadline: instant_of(r.deadline, now, wall_now),
        });
        Ok(WinsServer::restore(config, now, mark, records)?)
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
                }
            }
            if mark != mark_before {
                meta.insert(VERSION_MARK, mark).map_err(dberr)?;
            }
        }
        w.commit().map_err(dberr)
    }
}
