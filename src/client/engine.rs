//! The transaction engine of the name client: transaction IDs, requests
//! and their retransmission, failover between servers, WACK waits, the
//! end-node challenge, the responses that end a transaction (RFC 1002
//! §5.1.2), and the per-name timer.

use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;
use std::time::Instant;

use super::phase::{Phase, ReleaseWorst, Txn, TxnKind, bit};
use super::{
    ClientEvent, ConflictCause, IdSource, NameClient, Queued, RefreshOpcode, RegistrationOpcode,
    RegistrationOutcome, Transmit,
};
use crate::wire::{
    Message, Name, NbAddrEntry, NbAddrs, NbFlags, Opcode, Packet, PacketKind, RData, Rcode,
};

impl<I: IdSource> NameClient<I> {
    // ----- time ----------------------------------------------------------

    /// Sets the epoch from the first `now` the client is given.
    pub(super) fn touch(&mut self, now: Instant) {
        if self.epoch.is_none() {
            self.epoch = Some(now);
        }
    }

    pub(super) fn ticks(&self, t: Instant) -> u64 {
        match self.epoch {
            Some(e) => u64::try_from(t.saturating_duration_since(e).as_nanos()).unwrap_or(u64::MAX),
            None => 0,
        }
    }

    /// The instant `ticks` after the epoch; `None` before any `now` (no
    /// timer can be armed then).
    pub(super) fn instant_of(&self, ticks: u64) -> Option<Instant> {
        let epoch = self.epoch?;
        Some(
            epoch
                .checked_add(Duration::from_nanos(ticks))
                .unwrap_or(epoch),
        )
    }

    /// Drops stale timers from the top of the heap, so that
    /// [`poll_timeout`](Self::poll_timeout) reads the next live deadline.
    /// Called at the end of every input.
    pub(super) fn settle(&mut self) {
        let names = &self.names;
        self.timers
            .prune(|_, (slot, stamp)| names.get(slot).is_some_and(|e| e.stamp == stamp));
    }

    /// Arms the name's single timer at `now + after` (replacing any other).
    pub(super) fn arm(&mut self, slot: u32, now: Instant, after: Duration) {
        self.touch(now);
        let Some(at) = now.checked_add(after) else {
            self.disarm(slot);
            return;
        };
        let ticks = self.ticks(at);
        let stamp = self.next_stamp;
        self.next_stamp = self.next_stamp.wrapping_add(1).max(1);
        let Some(e) = self.entry_mut(slot) else {
            return;
        };
        e.stamp = stamp;
        self.timers.push(ticks, (slot, stamp));
        let live = self.names.len();
        if self.timers.len() > live + live / 8 + 64 {
            let names = &self.names;
            self.timers
                .retain(|_, (s, st)| names.get(s).is_some_and(|e| e.stamp == st));
        }
    }

    pub(super) fn disarm(&mut self, slot: u32) {
        if let Some(e) = self.entry_mut(slot) {
            e.stamp = 0;
        }
    }

    // ----- transactions --------------------------------------------------

    fn fresh_id(&mut self) -> u16 {
        for _ in 0..8 {
            let id = self.ids.next_id();
            if !self.by_id.contains_key(&id) {
                return id;
            }
        }
        // At most MAX_NAMES (half the space) are pending, so probing ends.
        let mut id = self.ids.next_id();
        while self.by_id.contains_key(&id) {
            id = id.wrapping_add(1);
        }
        id
    }

    /// Ends the name's request in flight, if any, and disarms its timer.
    pub(super) fn end_txn(&mut self, slot: u32) {
        let Some(e) = self.entry_mut(slot) else {
            return;
        };
        e.stamp = 0;
        let txn = e.phase.txn_slot().and_then(Option::take);
        if let Some(txn) = txn
            && self.by_id.get(&txn.id) == Some(&slot)
        {
            self.by_id.remove(&txn.id);
            if self.by_id.is_empty() && self.by_id.capacity() > 1024 {
                self.by_id.shrink_to(64);
            }
        }
    }

    /// Starts a new transaction (new ID) in the name's current phase and
    /// sends its first request.
    pub(super) fn begin(
        &mut self,
        slot: u32,
        now: Instant,
        kind: TxnKind,
        server: u8,
        addr: u8,
        owner: Ipv4Addr,
    ) {
        self.end_txn(slot);
        let id = self.fresh_id();
        let Some(cell) = self.entry_mut(slot).and_then(|e| e.phase.txn_slot()) else {
            return;
        };
        *cell = Some(Txn {
            kind,
            id,
            server,
            addr,
            tries: 0,
            wack: false,
            owner,
        });
        self.by_id.insert(id, slot);
        self.transmit_request(slot, now);
    }

    /// Where the name's request in flight goes.
    pub(super) fn destination(&self, txn: &Txn) -> Option<SocketAddrV4> {
        match txn.kind {
            TxnKind::Challenge => {
                Some(SocketAddrV4::new(txn.owner, crate::wire::NAME_SERVICE_PORT))
            }
            _ => self.server_addr(txn.server),
        }
    }

    /// (Re)sends the pending request and arms the retry timer.
    fn transmit_request(&mut self, slot: u32, now: Instant) {
        let Some(e) = self.entry(slot) else {
            return;
        };
        let Some(txn) = e.phase.txn().copied() else {
            return;
        };
        let Some(destination) = self.destination(&txn) else {
            self.end_txn(slot);
            return;
        };
        let name = Name::new(e.netbios, self.names.labels(e.scope));
        let address = e.addr(txn.addr);
        let entry = NbAddrEntry::new(NbFlags::new(e.group, self.config.node_type), address);
        let ttl = self.config.requested_ttl;
        let multihomed = !e.group
            && match self.config.registration_opcode {
                RegistrationOpcode::Auto => e.addr_count() > 1,
                RegistrationOpcode::Standard => false,
                RegistrationOpcode::Multihomed => true,
            };
        let (packet, source) = match txn.kind {
            TxnKind::Register if multihomed => (
                Message::multihomed_registration_request(txn.id, name, ttl, entry),
                Some(address),
            ),
            TxnKind::Register => (
                Message::registration_request(txn.id, name, ttl, entry, false),
                Some(address),
            ),
            TxnKind::Overwrite => (
                Message::overwrite_request(txn.id, name, ttl, entry, false),
                Some(address),
            ),
            TxnKind::Refresh => (
                Message::refresh_request(
                    txn.id,
                    name,
                    ttl,
                    entry,
                    self.config.refresh_opcode == RefreshOpcode::Nine,
                ),
                Some(address),
            ),
            TxnKind::Release => (
                Message::release_request(txn.id, name, entry, false),
                Some(address),
            ),
            TxnKind::Challenge => (Message::name_query_request(txn.id, name, false), None),
        };
        let mut contents = Vec::with_capacity(packet.buffer_len());
        if packet.emit_buf(&mut contents).is_ok() {
            self.transmits.push_back(Queued {
                transmit: Transmit {
                    destination,
                    source,
                    contents,
                },
                answer: false,
            });
            self.stats.requests_sent += 1;
            if txn.tries > 0 {
                self.stats.retransmissions += 1;
            }
        }
        if let Some(t) = self.entry_mut(slot).and_then(|e| e.phase.txn_mut()) {
            t.tries = t.tries.saturating_add(1);
        }
        let retry = self.config.retry();
        self.arm(slot, now, retry);
    }

    /// The name's timer fired.
    pub(super) fn fire(&mut self, slot: u32, now: Instant) {
        let Some(e) = self.entry(slot) else {
            return;
        };
        match (e.phase, e.phase.txn().copied()) {
            (Phase::Registered { .. }, _) => self.start_refresh(slot, now),
            (Phase::Registering { txn: None, .. }, _) => self.start_registration(slot, now),
            (_, Some(txn)) if !txn.wack && txn.tries < self.config.tries() => {
                self.transmit_request(slot, now);
            }
            (_, Some(txn)) => self.on_silence(slot, now, txn),
            _ => {}
        }
    }

    /// The peer of the pending request stayed silent (retries or WACK wait
    /// exhausted).
    fn on_silence(&mut self, slot: u32, now: Instant, txn: Txn) {
        let n = self.config.server_count();
        match txn.kind {
            TxnKind::Register | TxnKind::Overwrite => {
                let next = usize::from(txn.server) + 1;
                if next < n {
                    let unspecified = Ipv4Addr::UNSPECIFIED;
                    self.begin(slot, now, TxnKind::Register, next as u8, 0, unspecified);
                } else {
                    self.end_txn(slot);
                    let name = self.owned_name(slot);
                    self.events
                        .push_back(ClientEvent::NoServerAnswered { name });
                    self.round_registered(slot, RegistrationOutcome::NoServerAnswered);
                    let wait = self.config.registration_retry.max(Duration::from_millis(1));
                    self.arm(slot, now, wait);
                }
            }
            TxnKind::Challenge => {
                // RFC 1002 §5.1.2.1: no answer from the presumed owner, so
                // the name may be taken over.
                self.take_over(slot, now, &txn);
            }
            TxnKind::Refresh => {
                let start = match self.entry(slot).map(|e| e.phase) {
                    Some(Phase::Refreshing { start, .. }) => start,
                    _ => txn.server,
                };
                let next = ((usize::from(txn.server) + 1) % n.max(1)) as u8;
                if next == start || n <= 1 {
                    self.end_txn(slot);
                    let name = self.owned_name(slot);
                    self.events.push_back(ClientEvent::RefreshTimedOut { name });
                    self.start_registration(slot, now);
                } else {
                    self.begin(slot, now, TxnKind::Refresh, next, 0, Ipv4Addr::UNSPECIFIED);
                }
            }
            TxnKind::Release => {
                self.note_release(slot, ReleaseWorst::Silent);
                self.advance_release(slot, now);
            }
        }
    }

    /// Registers the name from the primary server, as a new round.
    pub(super) fn start_registration(&mut self, slot: u32, now: Instant) {
        self.end_txn(slot);
        let Some(e) = self.entry_mut(slot) else {
            return;
        };
        e.phase = Phase::Registering {
            txn: None,
            servers: e.phase.servers(),
            round_ttl: u32::MAX,
        };
        self.begin(slot, now, TxnKind::Register, 0, 0, Ipv4Addr::UNSPECIFIED);
    }

    /// Refreshes a registered name at the server that granted it last.
    pub(super) fn start_refresh(&mut self, slot: u32, now: Instant) {
        self.end_txn(slot);
        let Some(e) = self.entry_mut(slot) else {
            return;
        };
        let Phase::Registered { servers, home } = e.phase else {
            return;
        };
        e.phase = Phase::Refreshing {
            txn: None,
            servers,
            home,
            start: home,
            round_ttl: u32::MAX,
        };
        self.begin(slot, now, TxnKind::Refresh, home, 0, Ipv4Addr::UNSPECIFIED);
    }

    /// The presumed owner did not defend the name (RFC 1002 §5.1.2.1): take
    /// it over with an overwrite at the server that named the owner.
    fn take_over(&mut self, slot: u32, now: Instant, txn: &Txn) {
        let unspecified = Ipv4Addr::UNSPECIFIED;
        self.begin(
            slot,
            now,
            TxnKind::Overwrite,
            txn.server,
            txn.addr,
            unspecified,
        );
    }

    // ----- responses -----------------------------------------------------

    pub(super) fn handle_response(&mut self, now: Instant, from: SocketAddrV4, p: &Packet<'_>) {
        let Some(&slot) = self.by_id.get(&p.id) else {
            if !self.conflict_demand(from, p) {
                self.stats.dropped_unsolicited += 1;
            }
            return;
        };
        let Some((e, txn)) = self
            .entry(slot)
            .and_then(|e| Some((e, e.phase.txn().copied()?)))
        else {
            self.stats.dropped_unsolicited += 1;
            return;
        };
        if self.destination(&txn) != Some(from) {
            if !self.conflict_demand(from, p) {
                self.stats.dropped_wrong_source += 1;
            }
            return;
        }
        let op = p.opcode();
        let opcode_ok = match txn.kind {
            TxnKind::Register | TxnKind::Overwrite | TxnKind::Refresh => {
                op.is_registration_like() || op == Opcode::Wack
            }
            TxnKind::Release => op == Opcode::Release || op == Opcode::Wack,
            TxnKind::Challenge => op == Opcode::Query,
        };
        if !opcode_ok {
            self.stats.dropped_wrong_opcode += 1;
            return;
        }
        let Some(answer) = p.answer() else {
            self.stats.dropped_bad_record += 1;
            return;
        };
        if answer.name.netbios != e.netbios || answer.name.scope != self.names.labels(e.scope) {
            self.stats.dropped_wrong_name += 1;
            return;
        }
        if !answer.class.is_in() {
            self.stats.dropped_bad_record += 1;
            return;
        }
        if op == Opcode::Wack {
            if !matches!(answer.rdata, RData::Wack(_)) {
                self.stats.dropped_bad_record += 1;
                return;
            }
            if txn.wack {
                self.stats.dropped_extra_wack += 1;
                return;
            }
            self.stats.accepted_responses += 1;
            if let Some(t) = self.entry_mut(slot).and_then(|e| e.phase.txn_mut()) {
                t.wack = true;
            }
            let wait = self.config.wack_wait(answer.ttl);
            self.arm(slot, now, wait);
            return;
        }
        // A positive answer must carry NB data with an address; a negative
        // one is judged by its rcode (a negative query answer carries NULL).
        let rcode = p.rcode();
        let positive = rcode == Rcode::NoError;
        let nb = answer.nb().unwrap_or(NbAddrs::EMPTY);
        if positive && nb.is_empty() {
            self.stats.dropped_bad_record += 1;
            return;
        }
        self.stats.accepted_responses += 1;
        match txn.kind {
            TxnKind::Register | TxnKind::Overwrite => {
                if !positive {
                    self.refused(slot, from, rcode);
                } else if txn.kind == TxnKind::Register && !p.flags.recursion_available() {
                    // END-NODE CHALLENGE REGISTRATION RESPONSE (§4.2.7).
                    let owner = nb.first().map_or(Ipv4Addr::UNSPECIFIED, |a| a.address);
                    let ours = self.entry(slot).is_some_and(|e| e.has_addr(owner));
                    let kind = if ours || owner.is_unspecified() || owner.is_broadcast() {
                        TxnKind::Overwrite
                    } else {
                        TxnKind::Challenge
                    };
                    self.begin(slot, now, kind, txn.server, txn.addr, owner);
                } else {
                    self.granted(slot, now, answer.ttl, &txn);
                }
            }
            TxnKind::Refresh => {
                if positive {
                    self.granted(slot, now, answer.ttl, &txn);
                } else {
                    self.conflict(slot, ConflictCause::NegativeRefresh(rcode));
                }
            }
            TxnKind::Release => {
                let worst = match rcode {
                    Rcode::NoError => ReleaseWorst::Confirmed,
                    Rcode::NameError => ReleaseWorst::NotFound,
                    _ => ReleaseWorst::Refused(rcode),
                };
                self.note_release(slot, worst);
                self.advance_release(slot, now);
            }
            TxnKind::Challenge => {
                if positive {
                    self.end_txn(slot);
                    if let Some(e) = self.entry_mut(slot) {
                        e.phase = Phase::Refused {
                            rcode: Rcode::Active,
                            servers: e.phase.servers(),
                        };
                    }
                    let name = self.owned_name(slot);
                    let owner = txn.owner;
                    self.events
                        .push_back(ClientEvent::OwnerDefended { name, owner });
                    self.round_registered(slot, RegistrationOutcome::OwnerDefended { owner });
                } else {
                    self.take_over(slot, now, &txn);
                }
            }
        }
    }

    /// A positive registration or refresh response for the address of
    /// `txn`: on to the next address, or registered.
    fn granted(&mut self, slot: u32, now: Instant, ttl: u32, txn: &Txn) {
        let Some(e) = self.entry_mut(slot) else {
            return;
        };
        let refresh = txn.kind == TxnKind::Refresh;
        let here = bit(txn.server);
        let servers = match &mut e.phase {
            Phase::Registering {
                servers, round_ttl, ..
            } => {
                *round_ttl = (*round_ttl).min(ttl);
                *servers |= here;
                *servers
            }
            Phase::Refreshing {
                servers,
                home,
                round_ttl,
                ..
            } => {
                *round_ttl = (*round_ttl).min(ttl);
                *servers |= here;
                *home = txn.server;
                *servers
            }
            _ => return,
        };
        let next_addr = usize::from(txn.addr) + 1;
        if next_addr < e.addr_count() {
            let kind = if refresh {
                TxnKind::Refresh
            } else {
                TxnKind::Register
            };
            let unspecified = Ipv4Addr::UNSPECIFIED;
            self.begin(slot, now, kind, txn.server, next_addr as u8, unspecified);
            return;
        }
        let ttl = match e.phase {
            Phase::Registering { round_ttl, .. } | Phase::Refreshing { round_ttl, .. } => round_ttl,
            _ => ttl,
        };
        e.ttl = ttl;
        self.end_txn(slot);
        if let Some(e) = self.entry_mut(slot) {
            e.phase = Phase::Registered {
                servers,
                home: txn.server,
            };
        }
        let name = self.owned_name(slot);
        let server = self
            .server_addr(txn.server)
            .unwrap_or(Self::unspecified_server());
        self.events.push_back(if refresh {
            ClientEvent::Refreshed { name, server, ttl }
        } else {
            ClientEvent::Registered { name, server, ttl }
        });
        if !refresh {
            self.round_registered(slot, RegistrationOutcome::Registered { server, ttl });
        }
        if let Some(after) = self.config.refresh_interval(ttl) {
            self.arm(slot, now, after);
        }
    }

    fn refused(&mut self, slot: u32, server: SocketAddrV4, rcode: Rcode) {
        self.end_txn(slot);
        if let Some(e) = self.entry_mut(slot) {
            e.phase = Phase::Refused {
                rcode,
                servers: e.phase.servers(),
            };
        }
        let name = self.owned_name(slot);
        self.events.push_back(ClientEvent::RegistrationRefused {
            name,
            server,
            rcode,
        });
        self.round_registered(slot, RegistrationOutcome::Refused { server, rcode });
    }

    pub(super) fn conflict(&mut self, slot: u32, cause: ConflictCause) {
        self.end_txn(slot);
        if let Some(e) = self.entry_mut(slot) {
            e.phase = Phase::Conflict;
        }
        let name = self.owned_name(slot);
        self.events.push_back(ClientEvent::Conflict { name, cause });
        self.round_registered(slot, RegistrationOutcome::Conflict(cause));
    }

    /// A NAME CONFLICT DEMAND from a configured WINS server for a name in
    /// use. Returns whether it was acted upon.
    fn conflict_demand(&mut self, from: SocketAddrV4, p: &Packet<'_>) -> bool {
        if p.kind() != PacketKind::NameConflictDemand {
            return false;
        }
        let n = self.config.server_count();
        if !self.config.servers.iter().take(n).any(|s| *s == from) {
            return false;
        }
        let Some(answer) = p.answer() else {
            return false;
        };
        if !answer.class.is_in() || answer.nb().is_none() {
            return false;
        }
        let Some(slot) = self.names.find(&answer.name) else {
            return false;
        };
        let in_use = self.entry(slot).is_some_and(|e| {
            matches!(
                e.phase,
                Phase::Registering { .. } | Phase::Registered { .. } | Phase::Refreshing { .. }
            )
        });
        if !in_use {
            return false;
        }
        self.stats.accepted_responses += 1;
        self.conflict(slot, ConflictCause::ConflictDemand);
        true
    }
}
