//! Releases (RFC 1002 §5.1.2.5: to every server holding the name, for every
//! address) and the bookkeeping of a re-register-all (`nbtstat -RR`, MS KB
//! 188598): how many of its releases are still out, which names wait for
//! them, and when the registrations start.

use core::net::Ipv4Addr;
use std::time::Instant;

use super::phase::{Phase, ReleaseWorst, TxnKind, bit};
use super::{ClientEvent, Cooldown, IdSource, NameClient, ReleaseOutcome};

/// The re-register-all in progress, if any.
#[derive(Default)]
pub(super) struct Reregister {
    /// When the last accepted re-register-all began (for the cooldown).
    pub(super) last: Option<Instant>,
    /// Its releases not yet ended.
    pub(super) releasing: usize,
    /// Names released by it, waiting for the other releases, in the order
    /// their releases ended.
    pub(super) waiting: Vec<u32>,
    /// The outcomes of its names.
    pub(super) round: super::reregister::Round,
}

impl Reregister {
    #[cfg(any(test, feature = "testing"))]
    pub(super) fn heap_bytes(&self) -> usize {
        self.waiting.capacity() * size_of::<u32>()
    }
}

impl<I: IdSource> NameClient<I> {
    /// Starts releasing a name; `rr`: as part of a re-register-all, which
    /// registers it again afterwards.
    pub(super) fn begin_release(&mut self, slot: u32, now: Instant, rr: bool) {
        let Some(e) = self.entry(slot) else {
            return;
        };
        if let Phase::Releasing { rr: was_rr, .. } = e.phase {
            // Already releasing: a plain release only makes sure the name
            // goes away afterwards.
            if was_rr && !rr {
                if let Some(Phase::Releasing { rr, .. }) =
                    self.entry_mut(slot).map(|e| &mut e.phase)
                {
                    *rr = false;
                }
                self.rr_release_done(now);
            }
            return;
        }
        // Where the name may be held: servers that granted it, and a server
        // a registration in flight has reached.
        let in_flight = match (e.phase, e.phase.txn()) {
            (Phase::Registering { .. }, Some(t)) if t.tries > 0 => bit(t.server),
            _ => 0,
        };
        let left = match e.phase {
            Phase::Conflict | Phase::Local | Phase::AwaitingReregister => 0,
            _ => e.phase.servers() | in_flight,
        };
        self.end_txn(slot);
        if let Some(e) = self.entry_mut(slot) {
            e.phase = Phase::Releasing {
                txn: None,
                left,
                worst: ReleaseWorst::Confirmed,
                rr,
            };
        }
        if left == 0 {
            self.finish_release(slot, now, false);
        } else {
            let first = left.trailing_zeros() as u8;
            self.begin(slot, now, TxnKind::Release, first, 0, Ipv4Addr::UNSPECIFIED);
        }
    }

    pub(super) fn note_release(&mut self, slot: u32, answer: ReleaseWorst) {
        if let Some(Phase::Releasing { worst, .. }) = self.entry_mut(slot).map(|e| &mut e.phase) {
            *worst = worst.worse(answer);
        }
    }

    /// The current (server, address) release ended: go on with the next.
    pub(super) fn advance_release(&mut self, slot: u32, now: Instant) {
        let Some(e) = self.entry_mut(slot) else {
            return;
        };
        let addr_count = e.addr_count();
        let Phase::Releasing {
            txn: Some(txn),
            left,
            ..
        } = &mut e.phase
        else {
            return;
        };
        let txn = *txn;
        let next_addr = usize::from(txn.addr) + 1;
        if next_addr < addr_count {
            let unspecified = Ipv4Addr::UNSPECIFIED;
            self.begin(
                slot,
                now,
                TxnKind::Release,
                txn.server,
                next_addr as u8,
                unspecified,
            );
            return;
        }
        *left &= !bit(txn.server);
        let left = *left;
        if left == 0 {
            self.end_txn(slot);
            self.finish_release(slot, now, true);
        } else {
            let next = left.trailing_zeros() as u8;
            self.begin(slot, now, TxnKind::Release, next, 0, Ipv4Addr::UNSPECIFIED);
        }
    }

    /// Every release of the name ended (`sent`: at least one was sent).
    fn finish_release(&mut self, slot: u32, now: Instant, sent: bool) {
        let Some(Phase::Releasing { worst, rr, .. }) = self.entry(slot).map(|e| e.phase) else {
            return;
        };
        let outcome = if sent {
            worst.outcome()
        } else {
            ReleaseOutcome::NotRegistered
        };
        // A re-register-all reports only the releases it sent.
        if sent || !rr {
            let name = self.owned_name(slot);
            self.events
                .push_back(ClientEvent::Released { name, outcome });
        }
        if !rr {
            self.remove(slot);
            return;
        }
        if sent {
            self.round_released(slot, outcome);
        }
        if let Some(e) = self.entry_mut(slot) {
            e.phase = Phase::AwaitingReregister;
            e.ttl = 0;
        }
        self.disarm(slot);
        self.rr.waiting.push(slot);
        self.rr_release_done(now);
    }

    /// Starts a re-register-all: every name held at a server is released,
    /// then every name is registered again.
    pub(super) fn begin_reregister(&mut self, now: Instant) -> Result<(), Cooldown> {
        if let Some(last) = self.rr.last {
            let elapsed = now.saturating_duration_since(last);
            if elapsed < self.config.reregister_cooldown {
                return Err(Cooldown {
                    remaining: self.config.reregister_cooldown - elapsed,
                });
            }
        }
        self.rr.last = Some(now);
        self.close_round();
        let members: Vec<u32> = self
            .names
            .live_slots()
            .into_iter()
            .filter(|&slot| {
                self.entry(slot).is_some_and(|e| {
                    !matches!(
                        e.phase,
                        Phase::Local | Phase::AwaitingReregister | Phase::Releasing { .. }
                    )
                })
            })
            .collect();
        // Every member counts as releasing before the first release begins:
        // no registration starts before every release has been sent.
        self.rr.releasing += members.len();
        for &slot in &members {
            self.join_round(slot);
        }
        for slot in members {
            self.begin_release(slot, now, true);
        }
        if self.rr.releasing == 0 {
            self.start_reregistrations(now);
        }
        Ok(())
    }

    /// One release of the re-register-all ended; after the last one, the
    /// registrations start.
    fn rr_release_done(&mut self, now: Instant) {
        self.rr.releasing = self.rr.releasing.saturating_sub(1);
        if self.rr.releasing == 0 {
            self.start_reregistrations(now);
        }
    }

    fn start_reregistrations(&mut self, now: Instant) {
        let waiting = core::mem::take(&mut self.rr.waiting);
        let started: Vec<u32> = waiting
            .into_iter()
            .filter(|&slot| {
                self.entry(slot)
                    .is_some_and(|e| matches!(e.phase, Phase::AwaitingReregister))
            })
            .collect();
        self.events.push_back(ClientEvent::ReregistrationStarted {
            names: started.len(),
        });
        for slot in started {
            let name = self.owned_name(slot);
            self.events.push_back(ClientEvent::Reregistering { name });
            self.round_registering(slot);
            self.start_registration(slot, now);
        }
        self.finish_round_if_done();
    }
}
