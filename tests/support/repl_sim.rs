//! A simulated network and clock for replication conversations between
//! the crate's `Partner`s: every TCP connection is a pair of in-order byte
//! pipes, the clock jumps to the next deadline, nothing sleeps.
//!
//! Each host ([`SimNode`]) is a `Partner` over some `ReplicationDb` (a
//! `MemoryDb`, or a `WinsServer` with its store), with the work a host does
//! besides replication (commits, UDP) in its [`Hooks`].

use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;
use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use nbns::winsrepl::{
    Body, ConnectionId, Message, OwnerRecord, Partner, PartnerConfig, PartnerEvent,
    REPLICATION_PORT, ReplicationConfig, ReplicationDb,
};

/// One host of a [`SimNet`]: a `Partner` over its database `D`, and what
/// else the host keeps (`X`, with the host's own work in [`Hooks`]).
pub(crate) struct SimNode<D, X = ()> {
    pub(crate) ip: Ipv4Addr,
    pub(crate) partner: Partner,
    pub(crate) db: D,
    /// The partner's events so far.
    pub(crate) events: Vec<PartnerEvent>,
    /// Whether the host accepts connections (false: it is down).
    pub(crate) up: bool,
    pub(crate) ext: X,
}

impl<D: ReplicationDb, X> SimNode<D, X> {
    /// A host at `ip` with `db`, a `Partner` of `partners` and `ext`.
    pub(crate) fn new(ip: Ipv4Addr, db: D, partners: Vec<PartnerConfig>, ext: X) -> Self {
        let partner = Partner::new(ReplicationConfig::new(ip, partners), &db, handles(ip));
        Self {
            ip,
            partner,
            db,
            events: Vec::new(),
            up: true,
            ext,
        }
    }
}

/// A host's own work besides replication (commits, datagrams, timers).
pub(crate) trait Hooks<D> {
    /// Work before the partner's outputs are drained; true if anything
    /// moved.
    fn before_drain(&mut self, _db: &mut D, _partner: &mut Partner, _now: Instant) -> bool {
        false
    }
    /// A deadline of the host's own, besides the partner's.
    fn poll_timeout(&self, _db: &D) -> Option<Instant> {
        None
    }
    /// The host's own deadline work, after the partner's.
    fn handle_timeout(&mut self, _db: &mut D, _now: Instant) {}
}

impl<D> Hooks<D> for () {}

/// One end of a simulated TCP connection.
#[derive(Clone, Copy, Debug)]
pub(crate) struct End {
    pub(crate) node: usize,
    pub(crate) conn: ConnectionId,
}

/// A message seen on the wire: who sent it and what it was.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) from: Ipv4Addr,
    pub(crate) bytes: Vec<u8>,
}

/// The simulated network of hosts `H`.
pub(crate) struct SimNet<D, X = ()> {
    pub(crate) now: Instant,
    pub(crate) nodes: Vec<SimNode<D, X>>,
    /// Connection id → the other end.
    links: BTreeMap<(usize, ConnectionId), End>,
    /// Bytes in flight, in order; `None` is a close.
    wire: VecDeque<(End, Option<Vec<u8>>)>,
    next_conn: u64,
    next_port: u16,
    /// Every replication message sent, in order.
    pub(crate) seen: Vec<Seen>,
    /// Cut the connection in the middle of the first message this matches.
    pub(crate) cut: Option<fn(&Message<'_>) -> bool>,
}

impl<D: ReplicationDb, X: Hooks<D>> SimNet<D, X> {
    pub(crate) fn new() -> Self {
        Self {
            now: Instant::now(),
            nodes: Vec::new(),
            links: BTreeMap::new(),
            wire: VecDeque::new(),
            next_conn: 1,
            next_port: 40_000,
            seen: Vec::new(),
            cut: None,
        }
    }

    /// Adds a host; returns its index.
    pub(crate) fn push(&mut self, host: SimNode<D, X>) -> usize {
        self.nodes.push(host);
        self.nodes.len() - 1
    }

    fn node_at(&self, ip: Ipv4Addr) -> Option<usize> {
        self.nodes.iter().position(|n| n.ip == ip && n.up)
    }

    /// Breaks every connection of node `i` (the peers see a close) and
    /// drops what is in flight to it.
    pub(crate) fn disconnect(&mut self, i: usize) {
        let conns: Vec<(usize, ConnectionId)> = self
            .links
            .keys()
            .filter(|(n, _)| *n == i)
            .copied()
            .collect();
        for k in conns {
            if let Some(other) = self.links.remove(&k) {
                self.links.remove(&(other.node, other.conn));
                self.wire.push_back((other, None));
            }
        }
        self.wire.retain(|(e, _)| e.node != i);
    }

    /// Runs everything that is due now until nothing moves.
    pub(crate) fn settle(&mut self) {
        for _ in 0..1_000_000 {
            let mut moved = false;
            for i in 0..self.nodes.len() {
                moved |= self.drain(i);
            }
            if let Some((end, data)) = self.wire.pop_front() {
                moved = true;
                let now = self.now;
                let n = &mut self.nodes[end.node];
                match data {
                    Some(bytes) => n.partner.handle_received(&mut n.db, end.conn, &bytes, now),
                    None => n.partner.handle_closed(end.conn, now),
                }
            }
            if !moved {
                return;
            }
        }
        panic!("the simulation does not settle");
    }

    /// Moves node `i`'s outputs onto the network.
    fn drain(&mut self, i: usize) -> bool {
        let now = self.now;
        let n = &mut self.nodes[i];
        let mut moved = n.ext.before_drain(&mut n.db, &mut n.partner, now);
        while let Some(to) = self.nodes[i].partner.poll_connect() {
            moved = true;
            match self.node_at(*to.ip()) {
                Some(j) if to.port() == REPLICATION_PORT => {
                    let (ci, cj) = (
                        ConnectionId(self.next_conn),
                        ConnectionId(self.next_conn + 1),
                    );
                    self.next_conn += 2;
                    self.next_port += 1;
                    let from = SocketAddrV4::new(self.nodes[i].ip, self.next_port);
                    self.links.insert((i, ci), End { node: j, conn: cj });
                    self.links.insert((j, cj), End { node: i, conn: ci });
                    self.nodes[j].partner.handle_connected(cj, from, now);
                    self.nodes[i].partner.handle_connected(ci, to, now);
                }
                _ => self.nodes[i].partner.handle_connect_failed(to, now),
            }
        }
        while let Some((conn, bytes)) = self.nodes[i].partner.poll_send() {
            moved = true;
            let Some(&other) = self.links.get(&(i, conn)) else {
                continue;
            };
            let m = Message::parse(&bytes).expect("the partner sends what parses");
            let cut = self.cut.is_some_and(|f| f(&m));
            self.seen.push(Seen {
                from: self.nodes[i].ip,
                bytes: bytes.clone(),
            });
            if cut {
                self.cut = None;
                let half = bytes[..bytes.len() / 2].to_vec();
                self.wire.push_back((other, Some(half)));
                self.wire.push_back((other, None));
                self.nodes[i].partner.handle_closed(conn, now);
                self.links.remove(&(i, conn));
                continue;
            }
            self.wire.push_back((other, Some(bytes)));
        }
        while let Some(conn) = self.nodes[i].partner.poll_close() {
            moved = true;
            if let Some(other) = self.links.remove(&(i, conn)) {
                self.links.remove(&(other.node, other.conn));
                self.wire.push_back((other, None));
            }
        }
        while let Some(e) = self.nodes[i].partner.poll_event() {
            moved = true;
            self.nodes[i].events.push(e);
        }
        moved
    }

    /// Runs the network for `d`, jumping from deadline to deadline.
    pub(crate) fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        loop {
            self.settle();
            let next = self
                .nodes
                .iter()
                .flat_map(|n| [n.partner.poll_timeout(), n.ext.poll_timeout(&n.db)])
                .flatten()
                .min();
            match next {
                Some(t) if t <= until => {
                    self.now = self.now.max(t);
                    let now = self.now;
                    for n in &mut self.nodes {
                        n.partner.handle_timeout(now);
                        n.ext.handle_timeout(&mut n.db, now);
                    }
                }
                _ => break,
            }
        }
        self.now = until;
        self.settle();
    }

    /// The Name Records Requests `from` sent, as (owner, min, max).
    pub(crate) fn requests_from(&self, from: Ipv4Addr) -> Vec<(Ipv4Addr, u64, u64)> {
        self.seen
            .iter()
            .filter(|s| s.from == from)
            .filter_map(|s| match Message::parse(&s.bytes).ok()?.body {
                Body::SendRequest(OwnerRecord {
                    owner,
                    max_version,
                    min_version,
                    ..
                }) => Some((owner, min_version, max_version)),
                _ => None,
            })
            .collect()
    }

    /// How many of node `i`'s events `f` matches.
    pub(crate) fn count(&self, i: usize, f: impl Fn(&PartnerEvent) -> bool) -> usize {
        self.nodes[i].events.iter().filter(|e| f(e)).count()
    }
}

/// Deterministic association handles for a host at `ip`.
pub(crate) fn handles(ip: Ipv4Addr) -> impl FnMut() -> u32 + Send + 'static {
    let mut seed = u32::from(ip);
    move || {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        seed
    }
}
