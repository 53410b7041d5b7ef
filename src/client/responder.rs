//! The responder: what the node answers to other nodes (RFC 1002 §4.2.13,
//! §4.2.18, §5.1.1.5): positive name query responses for held names,
//! negative ones only to unicast queries, node status responses behind a
//! per-source token bucket, and defences (ACT_ERR) of held unique names.

use core::net::SocketAddrV4;
use std::time::Instant;

use super::{IdSource, NameClient, NameState, Queued, Transmit};
use crate::wire::{
    Message, Name, NameFlags, NbAddrEntry, NbAddrs, NbFlags, NodeName, NodeNames, NodeStatus,
    Packet, PacketKind, Rcode, Statistics,
};

impl<I: IdSource> NameClient<I> {
    /// Queues an answer unless [`max_queued_answers`] are waiting; returns
    /// whether it was queued.
    ///
    /// [`max_queued_answers`]: super::ClientConfig::max_queued_answers
    fn queue_answer(&mut self, destination: SocketAddrV4, packet: &Message<'_>) -> bool {
        if self.queued_answers >= self.config.max_queued_answers {
            self.stats.dropped_answer_backlog += 1;
            return false;
        }
        let mut contents = Vec::with_capacity(packet.buffer_len());
        if packet.emit_buf(&mut contents).is_err() {
            return false;
        }
        self.queued_answers += 1;
        self.transmits.push_back(Queued {
            transmit: Transmit {
                destination,
                source: None,
                contents,
            },
            answer: true,
        });
        true
    }

    pub(super) fn handle_request(&mut self, now: Instant, from: SocketAddrV4, p: &Packet<'_>) {
        let Some(q) = p.question() else {
            self.stats.ignored_requests += 1;
            return;
        };
        let slot = self.names.find(&q.name);
        let held = slot.and_then(|s| self.entry(s));
        match p.kind() {
            PacketKind::NameQueryRequest => {
                if let Some(e) = held.filter(|e| e.state().is_answered()) {
                    let flags = NbFlags::new(e.group, self.config.node_type);
                    let entries: Vec<NbAddrEntry> =
                        e.addrs().map(|a| NbAddrEntry::new(flags, a)).collect();
                    let ttl = if e.ttl == 0 {
                        self.config.requested_ttl
                    } else {
                        e.ttl
                    };
                    let resp = Message::positive_name_query_response(
                        p.id,
                        q.name,
                        ttl,
                        NbAddrs::from_slice(&entries),
                    );
                    if self.queue_answer(from, &resp) {
                        self.stats.query_answers += 1;
                    }
                } else if p.flags.broadcast() {
                    // Never a negative answer to a broadcast query.
                    self.stats.ignored_requests += 1;
                } else {
                    let resp =
                        Message::negative_name_query_response(p.id, q.name, Rcode::NameError);
                    if self.queue_answer(from, &resp) {
                        self.stats.negative_query_answers += 1;
                    }
                }
            }
            PacketKind::NodeStatusRequest => {
                let ours = held.is_some_and(|e| e.state().is_answered());
                let scope = self.names.find_scope(&q.name.scope);
                match scope {
                    Some(scope) if ours || q.name.netbios.is_wildcard() => {
                        let c = &self.config;
                        let now = self.ticks(now);
                        if self.status_limiter.allow(
                            *from.ip(),
                            now,
                            c.status_burst,
                            c.status_interval,
                        ) {
                            self.answer_node_status(from, p.id, q.name, scope);
                        } else {
                            self.stats.dropped_rate_limited += 1;
                        }
                    }
                    _ => self.stats.ignored_requests += 1,
                }
            }
            PacketKind::NameRegistrationRequest
            | PacketKind::NameOverwriteRequest
            | PacketKind::NameRefreshRequest
            | PacketKind::MultihomedRegistrationRequest => {
                let requester = p.additional().and_then(|r| r.nb()).and_then(|n| n.first());
                let defend = held.is_some_and(|e| {
                    !e.group
                        && e.state().is_defended()
                        && !e.is_star()
                        && requester.is_some_and(|r| !e.has_addr(r.address))
                });
                match requester {
                    Some(entry) if defend => {
                        let resp = Message::negative_registration_response(
                            p.id,
                            q.name,
                            Rcode::Active,
                            entry,
                        );
                        if self.queue_answer(from, &resp) {
                            self.stats.defences += 1;
                        }
                    }
                    _ => self.stats.ignored_requests += 1,
                }
            }
            _ => self.stats.ignored_requests += 1,
        }
    }

    fn answer_node_status(&mut self, from: SocketAddrV4, id: u16, qname: Name<'_>, scope: u16) {
        // Fit the answer in RFC 1002's 576-byte datagram: header 12, name,
        // type/class/TTL/RDLENGTH 10, NUM_NAMES 1, statistics 46.
        let room =
            crate::wire::MAX_DATAGRAM_LEN.saturating_sub(12 + qname.buffer_len() + 10 + 1 + 46);
        let max = (room / NodeName::LEN).min(255);
        let ont = self.config.node_type;
        let mut names = Vec::new();
        for e in self.names.iter() {
            if names.len() >= max {
                break;
            }
            if e.scope != scope || e.is_star() {
                continue;
            }
            let mut flags = NameFlags::active(e.group, ont).0;
            match e.state() {
                NameState::Conflict => flags |= NameFlags::CONFLICT,
                NameState::Releasing => flags |= NameFlags::DEREGISTERING,
                s if s.is_answered() => {}
                _ => continue,
            }
            names.push(NodeName {
                name: e.netbios,
                flags: NameFlags(flags),
            });
        }
        let stats = Statistics::block_with_unit_id(self.config.unit_id);
        let status = NodeStatus {
            names: NodeNames::from_slice(&names),
            statistics: Statistics(&stats),
        };
        let resp = Message::node_status_response(id, qname, status);
        if self.queue_answer(from, &resp) {
            self.stats.node_status_answers += 1;
        }
    }
}
