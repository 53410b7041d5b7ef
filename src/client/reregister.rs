//! The outcomes of a re-register-all (`nbtstat -RR`, MS KB 188598): each
//! name of the round collects how its release and its new registration
//! ended, and [`ClientEvent::ReregistrationDone`] reports them together
//! once every name has one.

use super::{
    ClientEvent, IdSource, NameClient, RegistrationOutcome, ReleaseOutcome, ReregisterOutcome,
};

/// `Entry::round` of a name in no open round.
pub(super) const NO_ROUND: u32 = u32::MAX;

/// One name of the open round.
struct Member {
    outcome: ReregisterOutcome,
    /// Its registration has begun; only then do registration results count.
    registering: bool,
    done: bool,
}

/// The open re-register-all round: one member per name it released or
/// registers again.
#[derive(Default)]
pub(super) struct Round {
    members: Vec<Member>,
    open: usize,
}

impl<I: IdSource> NameClient<I> {
    /// Adds a name to the open round (before its release begins).
    pub(super) fn join_round(&mut self, slot: u32) {
        let Ok(index) = u32::try_from(self.rr.round.members.len()) else {
            return;
        };
        let name = self.owned_name(slot);
        let Some(e) = self.entry_mut(slot) else {
            return;
        };
        e.round = index;
        self.rr.round.members.push(Member {
            outcome: ReregisterOutcome {
                name,
                release: None,
                registration: RegistrationOutcome::Abandoned,
            },
            registering: false,
            done: false,
        });
        self.rr.round.open += 1;
    }

    /// The round name's release ended with `outcome`.
    pub(super) fn round_released(&mut self, slot: u32, outcome: ReleaseOutcome) {
        let Some(index) = self.entry(slot).map(|e| e.round) else {
            return;
        };
        if let Some(m) = self.rr.round.members.get_mut(index as usize) {
            m.outcome.release = Some(outcome);
        }
    }

    /// Marks the round's names whose registration begins now.
    pub(super) fn round_registering(&mut self, slot: u32) {
        let Some(index) = self.entry(slot).map(|e| e.round) else {
            return;
        };
        if let Some(m) = self.rr.round.members.get_mut(index as usize) {
            m.registering = true;
        }
    }

    /// A registration of `slot` ended with `outcome`: recorded if it is the
    /// round's registration of the name.
    pub(super) fn round_registered(&mut self, slot: u32, outcome: RegistrationOutcome) {
        let Some(index) = self.entry(slot).map(|e| e.round) else {
            return;
        };
        if !self
            .rr
            .round
            .members
            .get(index as usize)
            .is_some_and(|m| m.registering)
        {
            return;
        }
        if let Some(e) = self.entry_mut(slot) {
            e.round = NO_ROUND;
        }
        self.round_result(index, outcome);
        self.finish_round_if_done();
    }

    /// Sets member `index`'s registration outcome, once.
    pub(super) fn round_result(&mut self, index: u32, outcome: RegistrationOutcome) {
        let Some(m) = self.rr.round.members.get_mut(index as usize) else {
            return;
        };
        if !m.done {
            m.done = true;
            m.outcome.registration = outcome;
            self.rr.round.open = self.rr.round.open.saturating_sub(1);
        }
    }

    /// Reports the round once every member has its outcome.
    pub(super) fn finish_round_if_done(&mut self) {
        if self.rr.round.open == 0 && self.rr.releasing == 0 {
            self.report_round();
        }
    }

    /// Ends the open round now (a new re-register-all begins): members
    /// without an outcome are [`RegistrationOutcome::Abandoned`].
    pub(super) fn close_round(&mut self) {
        if self.rr.round.members.is_empty() {
            return;
        }
        self.report_round();
    }

    fn report_round(&mut self) {
        let members = core::mem::take(&mut self.rr.round.members);
        self.rr.round.open = 0;
        if members.is_empty() && self.rr.last.is_none() {
            return;
        }
        for slot in self.names.live_slots() {
            if let Some(e) = self.entry_mut(slot) {
                e.round = NO_ROUND;
            }
        }
        let outcomes = members.into_iter().map(|m| m.outcome).collect();
        self.events
            .push_back(ClientEvent::ReregistrationDone { outcomes });
    }
}
