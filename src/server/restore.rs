//! Building a server from the records and the version mark a store kept.

use std::time::Instant;

use crate::server::record::{Addrs, Key, Record};
use crate::server::{
    MAX_RECORD_ADDRS, MAX_SERVER_SCOPE_LEN, RecordState, ServerConfig, StoredRecord, WinsServer,
    set_deadline,
};
use crate::wire::Labels;

/// Why stored records could not be restored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// More records, or scopes, than the configuration allows.
    #[error("more records or scopes than the configuration allows")]
    TooMany,
    /// A record with version 0, no address, more than
    /// [`MAX_RECORD_ADDRS`] addresses, or a scope the server would refuse;
    /// `index` counts the records given, from 0.
    #[error("record {index}: invalid")]
    BadRecord {
        /// Position of the record in the input.
        index: usize,
    },
    /// Two records of the same name and scope; `index` is the second.
    #[error("record {index}: a second record of the same name and scope")]
    Duplicate {
        /// Position of the record in the input.
        index: usize,
    },
}

impl WinsServer {
    /// A server holding `records`, as a store kept them, with its version
    /// counter above `version_mark` and above every record's version: a
    /// version ID handed out before a crash is never handed out again.
    /// `now` becomes the epoch.
    ///
    /// Each record's deadline counts from `now` (the store turns its
    /// wall-clock deadlines into instants, so the time the server was down
    /// counts). A record whose deadline has passed moves on to its next
    /// state at the first [`WinsServer::handle_timeout`] (an active record
    /// expires, a released one becomes a tombstone, a tombstone is
    /// removed), one state per restore; the next state's time counts from
    /// then. A remaining time longer than the state can last (the clock
    /// went back) is cut to that state's longest: `max_ttl`,
    /// `extinction_interval` or `extinction_timeout`.
    ///
    /// # Errors
    /// [`RestoreError`] for an invalid or duplicate record, or more
    /// records or scopes than `config` allows.
    pub fn restore(
        config: ServerConfig,
        now: Instant,
        version_mark: u64,
        records: impl IntoIterator<Item = StoredRecord>,
    ) -> Result<Self, RestoreError> {
        let mut server = Self::new(config, now);
        let mut top = version_mark;
        for (index, r) in records.into_iter().enumerate() {
            let bad = RestoreError::BadRecord { index };
            if server.records.len() >= server.config.max_records {
                return Err(RestoreError::TooMany);
            }
            if r.version == 0 || r.addresses.len() > MAX_RECORD_ADDRS {
                return Err(bad);
            }
            if !r.member_owners.is_empty() && r.member_owners.len() != r.addresses.len() {
                return Err(bad);
            }
            let addrs = Addrs::from_vec(r.addresses.into_vec()).ok_or(bad)?;
            let scope = if r.scope.is_empty() {
                0
            } else {
                if r.scope.len() > MAX_SERVER_SCOPE_LEN || Labels::from_dotted(&r.scope).is_err() {
                    return Err(bad);
                }
                server
                    .intern_dotted(&r.scope)
                    .ok_or(RestoreError::TooMany)?
            };
            let key = Key {
                name: r.name,
                scope,
            };
            if server.records.contains_key(&key) {
                return Err(RestoreError::Duplicate { index });
            }
            let c = &server.config;
            let longest = match r.state {
                RecordState::Active if r.owner != c.address => c.verify_interval,
                RecordState::Active => c.max_ttl,
                RecordState::Released => c.extinction_interval,
                RecordState::Tombstoned => c.extinction_timeout,
            };
            let deadline = server.secs_ceil(r.deadline).min(longest);
            let mut rec = Record {
                version: r.version,
                addrs,
                deadline,
                heap_at: u32::MAX,
                owner: r.owner,
                kind: r.kind,
                state: r.state,
            };
            set_deadline(&mut server.heap, key, &mut rec, deadline);
            server.out.members.restore(key, &rec, &r.member_owners);
            server.records.insert(key, rec);
            if r.owner == server.config.address {
                top = top.max(r.version);
            }
        }
        let j = &mut server.out.journal;
        j.next_version = top.saturating_add(1);
        // The first version handed out reserves a new block first.
        j.mark = top;
        // Scope reference counts and the queues of inactive records.
        server.reindex();
        server.rebuild_owner_map();
        Ok(server)
    }
}
