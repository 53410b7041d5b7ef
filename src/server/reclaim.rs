//! Which records make room when the server is full: released and
//! tombstoned records, oldest first, tombstones before released records.
//!
//! A released record is kept only so that a later registration of the name
//! gets a new version, and a tombstone only so that replication partners
//! learn of the deletion (MS-WINSRA); neither answers a query. Counting them
//! against [`ServerConfig::max_records`](crate::server::ServerConfig::max_records)
//! without reclaiming them would let one burst of registrations and
//! releases lock every new name out for the extinction interval and timeout
//! (five days by default).
//!
//! The queues hold `(deadline, key)` in the order records entered their
//! state, so the front is the oldest. Entries are checked when popped (a
//! record made active again, or removed, leaves a stale entry behind) and
//! the queues are rebuilt from the table when stale entries dominate, so
//! they hold at most about twice the number of records: 24 bytes per entry.

use std::collections::{HashMap, VecDeque};

use super::record::{Key, Record, RecordState};
use crate::hash::KeyedState;

/// Index of a state's queues: tombstones first.
fn rank(state: RecordState) -> Option<usize> {
    match state {
        RecordState::Tombstoned => Some(0),
        RecordState::Released => Some(1),
        RecordState::Active => None,
    }
}

const STATES: [RecordState; 2] = [RecordState::Tombstoned, RecordState::Released];

/// Inactive records by age: `[state][scoped]`, where scoped means a
/// non-empty scope ID.
#[derive(Debug, Default)]
pub(crate) struct Reclaim {
    queues: [[VecDeque<(u32, Key)>; 2]; 2],
}

impl Reclaim {
    /// Notes that the record `key` entered `state` with this deadline.
    pub(crate) fn push(&mut self, state: RecordState, deadline: u32, key: Key) {
        let scoped = usize::from(key.scope != 0);
        if let Some(q) = rank(state)
            .and_then(|r| self.queues.get_mut(r))
            .and_then(|q| q.get_mut(scoped))
        {
            q.push_back((deadline, key));
        }
    }

    fn len(&self) -> usize {
        self.queues.iter().flatten().map(VecDeque::len).sum()
    }

    /// The oldest inactive record (only those with a scope ID if
    /// `scoped_only`), taken off its queue; `None` when there is none.
    pub(crate) fn pop(
        &mut self,
        records: &HashMap<Key, Record, KeyedState>,
        scoped_only: bool,
    ) -> Option<Key> {
        for (queues, state) in self.queues.iter_mut().zip(STATES) {
            let [unscoped, scoped] = queues;
            loop {
                let from_scoped = match (unscoped.front(), scoped.front()) {
                    (_, Some(_)) if scoped_only => true,
                    (Some(u), Some(s)) => s.0 <= u.0,
                    (None, Some(_)) => true,
                    (Some(_), None) if !scoped_only => false,
                    _ => break,
                };
                let q = if from_scoped {
                    &mut *scoped
                } else {
                    &mut *unscoped
                };
                let Some((deadline, key)) = q.pop_front() else {
                    break;
                };
                let live = records
                    .get(&key)
                    .is_some_and(|r| r.state == state && r.deadline == deadline);
                if live {
                    return Some(key);
                }
            }
        }
        None
    }

    /// Rebuilds the queues from the table when stale entries dominate, or
    /// always with `force` (after records were loaded).
    pub(crate) fn compact(&mut self, records: &HashMap<Key, Record, KeyedState>, force: bool) {
        if !force && self.len() <= 2 * records.len() + 1024 {
            return;
        }
        let mut all: Vec<(u32, Key, RecordState)> = records
            .iter()
            .filter(|(_, r)| r.state != RecordState::Active)
            .map(|(k, r)| (r.deadline, *k, r.state))
            .collect();
        all.sort_unstable_by_key(|&(deadline, key, _)| (deadline, key));
        *self = Self::default();
        for (deadline, key, state) in all {
            self.push(state, deadline, key);
        }
    }
}
