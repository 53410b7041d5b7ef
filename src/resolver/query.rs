//! One query in flight: its phase (RFC 1002 §5.1.1–§5.1.3 find-name
//! procedures), its transaction ID and the broadcast answers collected so
//! far.

use core::net::SocketAddrV4;
use std::time::Instant;

use super::types::QueryHandle;
use crate::client::OwnedName;
use crate::node_type::Method;
use crate::wire::NbAddrEntry;

/// Where a query stands; each phase holds what only it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Asking name server number `server` of the configuration; `sent`
    /// sends so far (UCAST_REQ_RETRY_COUNT at most).
    NameServer { server: usize, sent: u32 },
    /// Broadcasting; `sent` sends so far (BCAST_REQ_RETRY_COUNT at most).
    Broadcast { sent: u32 },
    /// A positive broadcast answer came: further ones are collected until
    /// the query's deadline (CONFLICT_TIMER). `reported`: the outcome event
    /// has gone out already (a unique name is reported on its first answer;
    /// the window then only watches for conflicts).
    Collecting { reported: bool },
}

/// One broadcast responder's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    pub(crate) from: SocketAddrV4,
    pub(crate) group: bool,
    pub(crate) ttl: u32,
    pub(crate) addresses: Vec<NbAddrEntry>,
    /// It conflicted with the first answer (a demand went to its sender):
    /// not part of the resolution.
    pub(crate) conflict: bool,
}

impl Answer {
    /// Whether two answers carry the same data: the same addresses, in
    /// any order, and the same group bit (RFC 1001 §15.1.3.5 "different
    /// data").
    pub(crate) fn same_data(&self, other: &Self) -> bool {
        self.group == other.group
            && self.addresses.len() == other.addresses.len()
            && self
                .addresses
                .iter()
                .all(|a| other.addresses.iter().any(|b| b.address == a.address))
    }
}

pub(crate) struct Query {
    pub(crate) handle: QueryHandle,
    pub(crate) name: OwnedName,
    /// The current transaction's ID (kept across its retransmissions, new
    /// for each server and method).
    pub(crate) id: u16,
    pub(crate) phase: Phase,
    pub(crate) deadline: Instant,
    /// The node type's methods, and the index of the one in use.
    pub(crate) methods: &'static [Method],
    pub(crate) method: usize,
    /// Broadcast answers, first one first; distinct responders.
    pub(crate) answers: Vec<Answer>,
}
