//! The database file: a line-oriented text format, so that it can be read,
//! diffed and repaired by hand.
//!
//! ```text
//! nbns-wins-db 1
//! next-version 42
//! record 464f4f20202020202020202020202000 - unique active 17 21600 10.0.0.1 6000/10.0.0.5
//! ```
//!
//! * Line 1 is the magic and format version; line 2 the next version ID to
//!   hand out (so the counter stays monotonic across restarts even when the
//!   newest record was removed).
//! * Each `record` line holds, separated by single spaces: the 16 raw name
//!   bytes in hex (32 digits); the
//!   scope ID's dotted bytes in hex, or `-` for none; the kind (`unique`,
//!   `group`, `special`, `multihomed`); the state (`active`, `released`,
//!   `tombstoned`); the version ID; the seconds left in the current state at
//!   the time of saving; the owner address; and the addresses, each as
//!   NB_FLAGS in hex, `/`, dotted quad, joined by commas.
//! * Blank lines and lines starting with `#` are ignored.
//!
//! * An optional `saved-at SECS` line (seconds since the Unix epoch),
//!   written by [`WinsServer::save_to_stamped`], lets
//!   [`WinsServer::load_from_at`] count the time the server was down.
//!
//! The file is trusted input (it is read line by line without a length
//! limit), but a malformed file gives an error, never a panic.

use core::fmt::Write as _;
use core::net::Ipv4Addr;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::time::{Instant, SystemTime};

use crate::server::record::{Addrs, Key, Record, RecordKind, RecordState};
use crate::server::{ServerConfig, WinsServer, set_deadline};
use crate::wire::{NbAddrEntry, NbFlags, NetbiosName};

const MAGIC: &str = "nbns-wins-db 1";

/// Why a database file could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// Reading failed.
    #[error("reading the database: {0}")]
    Io(#[from] io::Error),
    /// The first line is not `nbns-wins-db 1`.
    #[error("not an nbns WINS database, or an unknown format version")]
    BadHeader,
    /// A line could not be understood.
    #[error("line {line}: malformed")]
    BadLine {
        /// 1-based line number.
        line: usize,
    },
    /// More records, or scopes, than the configuration allows.
    #[error("more records or scopes than the configuration allows")]
    TooMany,
}

fn hex(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

impl WinsServer {
    /// Writes every record and the version counter. `now` gives the
    /// remaining times.
    ///
    /// # Format
    ///
    /// ```text
    /// nbns-wins-db 1
    /// next-version 42
    /// record 464f4f20202020202020202020202000 - unique active 17 21600 10.0.0.1 6000/10.0.0.5
    /// ```
    ///
    /// * Line 1 is the magic and format version; line 2 the next version ID to
    ///   hand out (so the counter stays monotonic across restarts even when the
    ///   newest record was removed).
    /// * Each `record` line holds, separated by single spaces: the 16 raw name
    ///   bytes in hex (32 digits); the
    ///   scope ID's dotted bytes in hex, or `-` for none; the kind (`unique`,
    ///   `group`, `special`, `multihomed`); the state (`active`, `released`,
    ///   `tombstoned`); the version ID; the seconds left in the current state at
    ///   the time of saving; the owner address; and the addresses, each as
    ///   NB_FLAGS in hex, `/`, dotted quad, joined by commas.
    /// * Blank lines and lines starting with `#` are ignored.
    ///
    /// This file carries no wall-clock time, so [`WinsServer::load_from`]
    /// restarts the remaining seconds when it loads the file; use
    /// [`WinsServer::save_to_stamped`] and [`WinsServer::load_from_at`] to
    /// count the time the server was down. The file is trusted input (it
    /// is read line by line without a length limit), but a malformed file gives
    /// an error, never a panic.
    ///
    /// # Errors
    /// Any error of the writer.
    pub fn save_to<W: Write>(&self, w: &mut W, now: Instant) -> io::Result<()> {
        self.save_inner(w, now, None)
    }

    /// Like [`WinsServer::save_to`], with a `saved-at` line holding
    /// `wall_now` (the wall-clock time matching `now`, in whole seconds since
    /// the Unix epoch), so that [`WinsServer::load_from_at`] can count the
    /// downtime. The state machine reads no clock: the caller passes both.
    ///
    /// # Errors
    /// Any error of the writer.
    pub fn save_to_stamped<W: Write>(
        &self,
        w: &mut W,
        now: Instant,
        wall_now: SystemTime,
    ) -> io::Result<()> {
        let secs = wall_now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.save_inner(w, now, Some(secs))
    }

    fn save_inner<W: Write>(
        &self,
        w: &mut W,
        now: Instant,
        saved_at: Option<u64>,
    ) -> io::Result<()> {
        let now_s = self.secs_floor(now);
        let mut recs: Vec<_> = self.records.iter().collect();
        recs.sort_unstable_by_key(|(k, r)| (r.version, **k));
        let mut line = String::with_capacity(256);
        writeln!(w, "{MAGIC}")?;
        writeln!(w, "next-version {}", self.next_version)?;
        if let Some(t) = saved_at {
            writeln!(w, "saved-at {t}")?;
        }
        for (k, r) in recs {
            line.clear();
            line.push_str("record ");
            hex(&mut line, k.name.as_bytes());
            line.push(' ');
            match self.scopes.get(k.scope as usize) {
                Some(s) if !s.is_empty() => hex(&mut line, s),
                _ => line.push('-'),
            }
            let _ = write!(
                line,
                " {} {} {} {} {} ",
                r.kind.word(),
                r.state.word(),
                r.version,
                r.deadline.saturating_sub(now_s),
                r.owner
            );
            for (i, e) in r.addrs.as_slice().iter().enumerate() {
                if i > 0 {
                    line.push(',');
                }
                let _ = write!(line, "{:04x}/{}", e.flags.bits(), e.address);
            }
            writeln!(w, "{line}")?;
        }
        w.flush()
    }

    /// Builds a server from a file written by [`WinsServer::save_to`] (or
    /// [`WinsServer::save_to_stamped`]). `now` becomes the epoch; each
    /// record's remaining time counts from it, as if no time had passed
    /// since the file was saved.
    ///
    /// # Errors
    /// [`DbError`] for an unreadable or malformed file, or one holding more
    /// records or scopes than `config` allows.
    pub fn load_from<R: Read>(
        reader: R,
        config: ServerConfig,
        now: Instant,
    ) -> Result<Self, DbError> {
        Self::load_inner(reader, config, now, None)
    }

    /// Like [`WinsServer::load_from`], but counts the time since the file's
    /// `saved-at` stamp (see [`WinsServer::save_to_stamped`]) up to
    /// `wall_now`: it is taken off every record's remaining time. A record
    /// whose time ran out while the server was down moves on to its next
    /// state at the first [`WinsServer::handle_timeout`] (an active record
    /// expires, a released one becomes a tombstone, a tombstone is removed),
    /// one state per load; the next state's time counts from `now`. A file
    /// without a stamp, or a stamp in the future, counts no downtime.
    ///
    /// # Errors
    /// As [`WinsServer::load_from`].
    pub fn load_from_at<R: Read>(
        reader: R,
        config: ServerConfig,
        now: Instant,
        wall_now: SystemTime,
    ) -> Result<Self, DbError> {
        Self::load_inner(reader, config, now, Some(wall_now))
    }

    fn load_inner<R: Read>(
        reader: R,
        config: ServerConfig,
        now: Instant,
        wall_now: Option<SystemTime>,
    ) -> Result<Self, DbError> {
        let mut server = Self::new(config, now);
        let mut lines = BufReader::new(reader).lines();
        match lines.next() {
            Some(Ok(l)) if l.trim_end() == MAGIC => {}
            Some(Err(e)) => return Err(e.into()),
            _ => return Err(DbError::BadHeader),
        }
        let mut next_version = 1u64;
        let mut saved_at = None;
        let mut loaded = Vec::new();
        for (i, l) in lines.enumerate() {
            let l = l?;
            let line = i + 2;
            let bad = DbError::BadLine { line };
            let l = l.trim_end();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let mut f = l.split(' ');
            match f.next() {
                Some("next-version") => {
                    let v = f.next().and_then(|v| v.parse().ok()).ok_or(bad)?;
                    next_version = next_version.max(v);
                }
                Some("saved-at") => {
                    let t: u64 = f.next().and_then(|v| v.parse().ok()).ok_or(bad)?;
                    saved_at = Some(t);
                }
                Some("record") => {
                    let (key, rec) = server.parse_record(&mut f).ok_or(bad)?;
                    if loaded.len() >= server.config.max_records {
                        return Err(DbError::TooMany);
                    }
                    next_version = next_version.max(rec.version.saturating_add(1));
                    loaded.push((key, rec));
                }
                _ => return Err(bad),
            }
        }
        let down = match (wall_now, saved_at) {
            (Some(w), Some(t)) => w
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs().saturating_sub(t)),
            _ => 0,
        };
        let down = u32::try_from(down).unwrap_or(u32::MAX);
        server.records.reserve(loaded.len());
        for (key, mut rec) in loaded {
            let d = rec.deadline.saturating_sub(down);
            set_deadline(&mut server.heap, key, &mut rec, d);
            server.records.insert(key, rec);
        }
        server.reindex();
        server.next_version = next_version;
        Ok(server)
    }

    fn parse_record<'l>(&mut self, f: &mut impl Iterator<Item = &'l str>) -> Option<(Key, Record)> {
        let name: [u8; 16] = unhex(f.next()?)?.try_into().ok()?;
        let scope_text = f.next()?;
        let scope = if scope_text == "-" {
            0
        } else {
            let s = unhex(scope_text)?;
            crate::wire::Labels::from_dotted(&s).ok()?;
            if s.len() > crate::server::MAX_SERVER_SCOPE_LEN {
                return None;
            }
            self.intern_dotted(&s)?
        };
        let kind = RecordKind::from_word(f.next()?)?;
        let state = RecordState::from_word(f.next()?)?;
        let version: u64 = f.next()?.parse().ok()?;
        let remaining: u32 = f.next()?.parse().ok()?;
        let owner: Ipv4Addr = f.next()?.parse().ok()?;
        let mut addrs = Vec::new();
        for a in f.next()?.split(',') {
            let (flags, ip) = a.split_once('/')?;
            let flags = u16::from_str_radix(flags, 16).ok()?;
            addrs.push(NbAddrEntry::new(NbFlags(flags), ip.parse().ok()?));
            if addrs.len() > crate::server::MAX_RECORD_ADDRS {
                return None;
            }
        }
        if f.next().is_some() || version == 0 {
            return None;
        }
        let key = Key {
            name: NetbiosName::from_raw(name),
            scope,
        };
        let rec = Record {
            version,
            addrs: Addrs::from_vec(addrs)?,
            deadline: remaining,
            heap_at: u32::MAX,
            owner,
            kind,
            state,
        };
        Some((key, rec))
    }
}
