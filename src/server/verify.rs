//! Verification of replicas (MS-WINSRA 3.1.6, 3.2.5.3; Samba
//! `wreplsrv_scavenging_replica_active_records`).
//!
//! What the server does is told in the
//! [server docs](crate::server#replica-verification).

use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;
use std::time::Instant;

use crate::server::record::Key;
use crate::server::{EventKind, RecordState, WinsServer, set_deadline};
use crate::wire::{Message, NAME_SERVICE_PORT, Name, Packet};

/// How long a replica whose owner did not answer its verification waits
/// before it is asked again: 3 days, the period of Samba's scavenging run
/// (half its renew interval), which verifies every replica past its
/// interval again.
pub const VERIFY_RETRY: u32 = 3 * 24 * 3600;

/// A replica waiting for its owner's answer.
#[derive(Debug)]
pub(crate) struct Verification {
    /// The replica's owner, asked at its UDP 137.
    owner: Ipv4Addr,
    /// The replica's version when the verification began.
    version: u64,
    sends_left: u8,
    id: u16,
    deadline: Instant,
}

impl WinsServer {
    /// Starts verifying the active replica at `key`, whose verify interval
    /// ran out at `now`.
    pub(crate) fn start_verification(&mut self, now: Instant, key: Key) {
        let Some(rec) = self.records.get(&key) else {
            return;
        };
        let (owner, version) = (rec.owner, rec.version);
        if self.repl.verifications.contains_key(&key) {
            return;
        }
        if self.repl.verifications.len() >= self.config.max_pending {
            let later = now + self.config.challenge_interval;
            let at = self.secs_ceil(later);
            if let Some(rec) = self.records.get_mut(&key) {
                set_deadline(&mut self.heap, key, rec, at);
            }
            return;
        }
        let id = self.ids.next_id();
        self.repl.verifications.insert(
            key,
            Verification {
                owner,
                version,
                sends_left: self.config.challenge_sends.max(1) - 1,
                id,
                deadline: now + self.config.challenge_interval,
            },
        );
        self.out.stats.verifications += 1;
        self.send_verification(key);
    }

    fn send_verification(&mut self, key: Key) {
        let Some(v) = self.repl.verifications.get(&key) else {
            return;
        };
        let scope = Self::scope_labels(&self.scopes, key.scope);
        let q = Message::name_query_request(v.id, Name::new(key.name, scope), false);
        self.out
            .send(SocketAddrV4::new(v.owner, NAME_SERVICE_PORT), &q);
    }

    /// The earliest deadline of a verification.
    pub(crate) fn verification_deadline(&self) -> Option<Instant> {
        self.repl.verifications.values().map(|v| v.deadline).min()
    }

    /// Retries and gives up verifications that are due.
    pub(crate) fn verification_timers(&mut self, now: Instant) {
        if self.repl.verifications.is_empty() {
            return;
        }
        let due: Vec<Key> = self
            .repl
            .verifications
            .iter()
            .filter(|(_, v)| v.deadline <= now)
            .map(|(k, _)| *k)
            .collect();
        for key in due {
            let Some(v) = self.repl.verifications.get_mut(&key) else {
                continue;
            };
            if v.sends_left > 0 {
                v.sends_left -= 1;
                v.deadline = now + self.config.challenge_interval;
                self.send_verification(key);
            } else if let Some(v) = self.repl.verifications.remove(&key) {
                self.verified(now, key, &v, None);
            }
        }
    }

    /// An answer to a verification: from the owner's UDP 137, with the
    /// query's ID and name, before its deadline. Returns whether `p` was
    /// one.
    pub(crate) fn verification_response(
        &mut self,
        now: Instant,
        from: SocketAddrV4,
        p: &Packet<'_>,
    ) -> bool {
        if self.repl.verifications.is_empty() {
            return false;
        }
        let found = self
            .repl
            .verifications
            .iter()
            .find(|(_, v)| {
                v.id == p.id
                    && now <= v.deadline
                    && from == SocketAddrV4::new(v.owner, NAME_SERVICE_PORT)
            })
            .map(|(k, _)| *k);
        let Some(key) = found else {
            return false;
        };
        let Some(held) = self.query_answer(key, p) else {
            return false;
        };
        if let Some(v) = self.repl.verifications.remove(&key) {
            self.verified(now, key, &v, Some(held.as_deref()));
        }
        true
    }

    /// Carries out the owner's answer: `None` none, `Some(None)` negative,
    /// `Some(Some(addresses))` positive.
    fn verified(
        &mut self,
        now: Instant,
        key: Key,
        v: &Verification,
        answer: Option<Option<&[Ipv4Addr]>>,
    ) {
        let me = self.config.address;
        let now_s = self.secs_ceil(now);
        let Some(rec) = self.records.get_mut(&key) else {
            return;
        };
        if rec.version != v.version || rec.owner != v.owner || rec.state != RecordState::Active {
            // Replicated again meanwhile: that was its refresh.
            return;
        }
        match answer {
            None => {
                let at = now_s.saturating_add(VERIFY_RETRY);
                set_deadline(&mut self.heap, key, rec, at);
            }
            Some(None) => {
                self.remove_record(key);
            }
            Some(Some(held)) => {
                let ours = rec.addrs.as_slice();
                let same = ours.len() == held.len()
                    && ours.iter().all(|e| held.contains(&e.address))
                    && held.iter().all(|a| rec.addrs.contains(*a));
                if same {
                    let at = now_s.saturating_add(self.config.verify_interval);
                    set_deadline(&mut self.heap, key, rec, at);
                    self.note_change(key, EventKind::Refreshed);
                } else {
                    self.out.members.pin(key, rec);
                    rec.owner = me;
                    rec.version = self.out.journal.bump();
                    rec.state = RecordState::Tombstoned;
                    let at = now_s.saturating_add(self.config.extinction_timeout);
                    set_deadline(&mut self.heap, key, rec, at);
                    self.reclaim.push(rec.state, rec.deadline, key);
                    self.note_change(key, EventKind::Tombstoned);
                }
            }
        }
    }

    /// When a replica tombstone due at `now` may go: not before the server
    /// has run for the minimum uptime. `None`: now.
    pub(crate) fn replica_tombstone_hold(&self, now: Instant) -> Option<u32> {
        let until = self.epoch + Duration::from_secs(u64::from(self.config.tombstone_min_uptime));
        (now < until).then(|| self.secs_ceil(until))
    }
}
