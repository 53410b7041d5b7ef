//! A simulated broadcast segment: sans-IO machines on one IPv4 subnet, a
//! simulated clock, seeded loss. No sockets, no sleeping.
//!
//! Every node is a [`Machine`] (the crate's name client, WINS server or
//! resolver, or anything a test wraps) with one or more addresses on the
//! subnet and one UDP port (137 unless the test says otherwise). A datagram
//! to the subnet's broadcast address or to 255.255.255.255 reaches every
//! *other* node listening on the destination port; one to a node's address
//! and port reaches that node. Each delivery is lost independently with the
//! segment's loss probability, drawn from a seeded generator, so a run is
//! reproducible from its seed.
//!
//! Delivery is immediate: a transmit is handed over at the instant it was
//! polled. Time moves only in [`Segment::step`] (and the `run_*` helpers built
//! on it), to the earliest `poll_timeout` of all nodes. A node that is down
//! ([`Segment::set_up`]) neither sends (its transmits are drained and lost)
//! nor receives, but its timers run, as for a host whose cable was pulled.
//!
//! [`Segment::inject`] puts a datagram of the test's choosing on the wire,
//! from any address: forged answers, replays, strangers.
//!
//! ```ignore
//! let mut seg = Segment::new(Ipv4Addr::new(10, 0, 0, 0), 24, 7);
//! let a = seg.add(Ipv4Addr::new(10, 0, 0, 2), ClientNode::new(client_a));
//! let b = seg.add(Ipv4Addr::new(10, 0, 0, 3), ClientNode::new(client_b));
//! seg.run_for(Duration::from_secs(5));
//! let events = seg.node_mut::<ClientNode>(a).take_events();
//! ```

use core::any::Any;
use core::net::{Ipv4Addr, SocketAddrV4};
use core::time::Duration;
use std::collections::VecDeque;
use std::time::Instant;

use nbns::client::{ClientEvent, NameClient};
use nbns::ids::IdSource;
use nbns::resolver::{Resolver, ResolverEvent};
use nbns::server::{ServerEvent, WinsServer};

/// The NBNS port.
pub(crate) const PORT: u16 = 137;
/// Upper bound on datagrams delivered at one instant: a loop between the
/// machines fails the test instead of hanging it.
const MAX_BURST: usize = 100_000;
/// Upper bound on timer steps of one `run_*` call.
const MAX_STEPS: usize = 1_000_000;

/// A datagram a machine hands to the segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Datagram {
    /// Where it goes: a node's address, the subnet broadcast address or
    /// 255.255.255.255.
    pub(crate) destination: SocketAddrV4,
    /// The local address it leaves from, if the machine chose one; it must
    /// be one of the node's addresses, else the node's first address is used.
    pub(crate) source: Option<Ipv4Addr>,
    /// The bytes.
    pub(crate) contents: Vec<u8>,
}

/// A sans-IO machine on the segment: the crate's run-loop vocabulary.
pub(crate) trait Machine: Any {
    /// A datagram arrived from `from`.
    fn handle_datagram(&mut self, now: Instant, from: SocketAddrV4, bytes: &[u8]);
    /// A deadline passed.
    fn handle_timeout(&mut self, now: Instant);
    /// The next deadline.
    fn poll_timeout(&mut self) -> Option<Instant>;
    /// The next datagram to send.
    fn poll_transmit(&mut self) -> Option<Datagram>;
    /// Called after every input and after the transmits are drained: a
    /// machine with events collects them here (they would otherwise pile up
    /// in its capped queue).
    fn after_input(&mut self) {}
}

/// The crate's [`NameClient`] as a node, collecting its events.
#[derive(Debug)]
pub(crate) struct ClientNode<I: IdSource + 'static> {
    /// The client.
    pub(crate) client: NameClient<I>,
    /// Events polled so far, oldest first.
    pub(crate) events: Vec<ClientEvent>,
}

impl<I: IdSource + 'static> ClientNode<I> {
    /// Wraps `client`.
    pub(crate) fn new(client: NameClient<I>) -> Self {
        Self {
            client,
            events: Vec::new(),
        }
    }

    /// The events collected since the last call.
    pub(crate) fn take_events(&mut self) -> Vec<ClientEvent> {
        core::mem::take(&mut self.events)
    }
}

impl<I: IdSource + 'static> Machine for ClientNode<I> {
    fn handle_datagram(&mut self, now: Instant, from: SocketAddrV4, bytes: &[u8]) {
        self.client.handle_datagram(now, from, bytes);
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.client.handle_timeout(now);
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.client.poll_timeout()
    }
    fn poll_transmit(&mut self) -> Option<Datagram> {
        self.client.poll_transmit().map(|t| Datagram {
            destination: t.destination,
            source: t.source,
            contents: t.contents,
        })
    }
    fn after_input(&mut self) {
        self.events
            .extend(core::iter::from_fn(|| self.client.poll_event()));
    }
}

/// The crate's [`WinsServer`] as a node, collecting its events. Durable
/// changes are acknowledged as soon as they are polled (a volatile store).
#[derive(Debug)]
pub(crate) struct ServerNode {
    /// The server.
    pub(crate) server: WinsServer,
    /// Events polled so far, oldest first.
    pub(crate) events: Vec<ServerEvent>,
}

impl ServerNode {
    /// Wraps `server`.
    pub(crate) fn new(server: WinsServer) -> Self {
        Self {
            server,
            events: Vec::new(),
        }
    }

    /// The events collected since the last call.
    pub(crate) fn take_events(&mut self) -> Vec<ServerEvent> {
        core::mem::take(&mut self.events)
    }
}

impl Machine for ServerNode {
    fn handle_datagram(&mut self, now: Instant, from: SocketAddrV4, bytes: &[u8]) {
        self.server.handle_datagram(now, from, bytes);
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.server.handle_timeout(now);
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.server.poll_timeout()
    }
    fn poll_transmit(&mut self) -> Option<Datagram> {
        let mut last = None;
        while let Some(change) = self.server.poll_change() {
            last = Some(change.seq);
        }
        if let Some(seq) = last {
            self.server.handle_persisted(seq);
        }
        self.server.poll_transmit().map(|t| Datagram {
            destination: t.destination,
            source: None,
            contents: t.contents,
        })
    }
    fn after_input(&mut self) {
        self.events
            .extend(core::iter::from_fn(|| self.server.poll_event()));
    }
}

/// The crate's [`Resolver`] as a node, collecting its events.
pub(crate) struct ResolverNode<I: IdSource + 'static> {
    /// The resolver.
    pub(crate) resolver: Resolver<I>,
    /// Events polled so far, oldest first.
    pub(crate) events: Vec<ResolverEvent>,
}

impl<I: IdSource + 'static> Machine for ResolverNode<I> {
    fn handle_datagram(&mut self, now: Instant, from: SocketAddrV4, bytes: &[u8]) {
        self.resolver.handle_datagram(now, from, bytes);
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.resolver.handle_timeout(now);
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.resolver.poll_timeout()
    }
    fn poll_transmit(&mut self) -> Option<Datagram> {
        self.resolver.poll_transmit().map(|t| Datagram {
            destination: t.destination,
            source: t.source,
            contents: t.contents,
        })
    }
    fn after_input(&mut self) {
        self.events
            .extend(core::iter::from_fn(|| self.resolver.poll_event()));
    }
}

/// A node's index on its segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct NodeId(pub(crate) usize);

/// One datagram as it crossed the segment.
#[derive(Debug, Clone)]
pub(crate) struct WireRecord {
    /// Time since the segment was created.
    pub(crate) at: Duration,
    /// Sender (address and port).
    pub(crate) from: SocketAddrV4,
    /// Destination as sent.
    pub(crate) to: SocketAddrV4,
    /// Whether it went to the subnet broadcast address or 255.255.255.255.
    pub(crate) broadcast: bool,
    /// The sending node (`None`: injected by the test).
    pub(crate) sender: Option<NodeId>,
    /// Nodes it reached.
    pub(crate) delivered_to: Vec<NodeId>,
    /// Nodes it was meant for but lost on the way to.
    pub(crate) lost_to: Vec<NodeId>,
    /// The bytes.
    pub(crate) contents: Vec<u8>,
}

struct Slot {
    addresses: Vec<Ipv4Addr>,
    port: u16,
    up: bool,
    machine: Box<dyn Machine>,
}

/// The segment; see the module documentation.
pub(crate) struct Segment {
    start: Instant,
    now: Instant,
    network: Ipv4Addr,
    prefix_len: u8,
    nodes: Vec<Slot>,
    /// Loss probability per delivery, in millionths.
    loss_ppm: u32,
    rng: u64,
    wire: Vec<WireRecord>,
    pending: VecDeque<(Option<NodeId>, SocketAddrV4, SocketAddrV4, Vec<u8>)>,
}

impl core::fmt::Debug for Segment {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Segment")
            .field("network", &self.network)
            .field("prefix_len", &self.prefix_len)
            .field("nodes", &self.nodes.len())
            .field("elapsed", &self.elapsed())
            .finish_non_exhaustive()
    }
}

impl Segment {
    /// An empty segment on `network/prefix_len` (such as 10.0.0.0/24), no
    /// loss, the loss generator seeded with `seed`.
    pub(crate) fn new(network: Ipv4Addr, prefix_len: u8, seed: u64) -> Self {
        let now = Instant::now();
        Self {
            start: now,
            now,
            network,
            prefix_len: prefix_len.min(30),
            nodes: Vec::new(),
            loss_ppm: 0,
            rng: seed,
            wire: Vec::new(),
            pending: VecDeque::new(),
        }
    }

    /// The subnet's directed broadcast address.
    pub(crate) fn broadcast_address(&self) -> Ipv4Addr {
        let host_bits = 32 - u32::from(self.prefix_len);
        let mask = u32::MAX.checked_shl(host_bits).unwrap_or(0);
        Ipv4Addr::from(u32::from(self.network) & mask | !mask)
    }

    /// Whether `ip` is on the subnet.
    pub(crate) fn contains(&self, ip: Ipv4Addr) -> bool {
        let host_bits = 32 - u32::from(self.prefix_len);
        let mask = u32::MAX.checked_shl(host_bits).unwrap_or(0);
        u32::from(ip) & mask == u32::from(self.network) & mask
    }

    /// Adds `machine` at `address`, port 137.
    pub(crate) fn add(&mut self, address: Ipv4Addr, machine: impl Machine) -> NodeId {
        self.add_on_port(address, PORT, machine)
    }

    /// Adds `machine` at `address` and `port` (a resolver on an ephemeral
    /// port, say).
    pub(crate) fn add_on_port(
        &mut self,
        address: Ipv4Addr,
        port: u16,
        machine: impl Machine,
    ) -> NodeId {
        assert!(self.contains(address), "{address} is not on the segment");
        self.nodes.push(Slot {
            addresses: vec![address],
            port,
            up: true,
            machine: Box::new(machine),
        });
        NodeId(self.nodes.len() - 1)
    }

    /// Gives node `id` one more address (a multi-homed host).
    pub(crate) fn add_address(&mut self, id: NodeId, address: Ipv4Addr) {
        self.nodes[id.0].addresses.push(address);
    }

    /// The first address of node `id`, with its port.
    pub(crate) fn address(&self, id: NodeId) -> SocketAddrV4 {
        let slot = &self.nodes[id.0];
        SocketAddrV4::new(slot.addresses[0], slot.port)
    }

    /// Node `id` as the machine type it was added as. Panics on another type.
    pub(crate) fn node<T: Machine>(&self, id: NodeId) -> &T {
        let machine: &dyn Any = &*self.nodes[id.0].machine;
        machine
            .downcast_ref()
            .unwrap_or_else(|| panic!("node {} is not a {}", id.0, core::any::type_name::<T>()))
    }

    /// Node `id` as the machine type it was added as, mutably (to give it a
    /// command; [`Self::settle`] then delivers what it sends).
    pub(crate) fn node_mut<T: Machine>(&mut self, id: NodeId) -> &mut T {
        let machine: &mut dyn Any = &mut *self.nodes[id.0].machine;
        machine
            .downcast_mut()
            .unwrap_or_else(|| panic!("node {} is not a {}", id.0, core::any::type_name::<T>()))
    }

    /// Brings node `id` up or down.
    pub(crate) fn set_up(&mut self, id: NodeId, up: bool) {
        self.nodes[id.0].up = up;
    }

    /// Sets the loss probability per delivery (0.0 to 1.0).
    pub(crate) fn set_loss(&mut self, probability: f64) {
        self.loss_ppm = (probability.clamp(0.0, 1.0) * 1e6) as u32;
    }

    /// The simulated time.
    pub(crate) fn now(&self) -> Instant {
        self.now
    }

    /// Time since the segment was created.
    pub(crate) fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Every datagram so far.
    pub(crate) fn wire(&self) -> &[WireRecord] {
        &self.wire
    }

    /// Every datagram so far, handed over and forgotten.
    pub(crate) fn take_wire(&mut self) -> Vec<WireRecord> {
        core::mem::take(&mut self.wire)
    }

    /// Puts `bytes` on the wire from `from` to `to`, as if sent by a host
    /// the segment does not simulate; delivered by [`Self::settle`].
    pub(crate) fn inject(&mut self, from: SocketAddrV4, to: SocketAddrV4, bytes: &[u8]) {
        self.pending.push_back((None, from, to, bytes.to_vec()));
        self.settle();
    }

    /// SplitMix64: the next pseudo-random word.
    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn lost(&mut self) -> bool {
        self.loss_ppm > 0 && (self.next_random() % 1_000_000) < u64::from(self.loss_ppm)
    }

    /// Collects every node's transmits into the pending queue.
    fn collect(&mut self) {
        for i in 0..self.nodes.len() {
            let slot = &mut self.nodes[i];
            while let Some(d) = slot.machine.poll_transmit() {
                if !slot.up {
                    continue;
                }
                let ip = d
                    .source
                    .filter(|s| slot.addresses.contains(s))
                    .unwrap_or(slot.addresses[0]);
                let from = SocketAddrV4::new(ip, slot.port);
                self.pending
                    .push_back((Some(NodeId(i)), from, d.destination, d.contents));
            }
            slot.machine.after_input();
        }
    }

    /// Delivers everything sent at this instant, and what that causes, until
    /// no node has anything more to send.
    pub(crate) fn settle(&mut self) {
        let mut delivered = 0usize;
        loop {
            self.collect();
            let Some((sender, from, to, bytes)) = self.pending.pop_front() else {
                break;
            };
            delivered += 1;
            assert!(delivered < MAX_BURST, "datagrams loop between the nodes");
            let broadcast = to.ip().is_broadcast() || *to.ip() == self.broadcast_address();
            let targets: Vec<NodeId> = (0..self.nodes.len())
                .filter(|&i| {
                    let slot = &self.nodes[i];
                    slot.up
                        && slot.port == to.port()
                        && if broadcast {
                            Some(NodeId(i)) != sender
                        } else {
                            slot.addresses.contains(to.ip())
                        }
                })
                .map(NodeId)
                .collect();
            let mut record = WireRecord {
                at: self.elapsed(),
                from,
                to,
                broadcast,
                sender,
                delivered_to: Vec::new(),
                lost_to: Vec::new(),
                contents: bytes,
            };
            for id in targets {
                if self.lost() {
                    record.lost_to.push(id);
                    continue;
                }
                let now = self.now;
                let machine = &mut self.nodes[id.0].machine;
                machine.handle_datagram(now, from, &record.contents);
                machine.after_input();
                record.delivered_to.push(id);
            }
            self.wire.push(record);
        }
    }

    /// The earliest deadline of all nodes (down ones included).
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        self.nodes
            .iter_mut()
            .filter_map(|slot| slot.machine.poll_timeout())
            .min()
    }

    /// Delivers what is pending, then moves the clock to the earliest
    /// deadline if it is no later than `limit`, fires the timeouts due and
    /// delivers what they send. False when no deadline is due by `limit`.
    pub(crate) fn step(&mut self, limit: Instant) -> bool {
        self.settle();
        let Some(next) = self.next_deadline().filter(|&t| t <= limit) else {
            return false;
        };
        self.now = self.now.max(next);
        let now = self.now;
        for slot in &mut self.nodes {
            if slot.machine.poll_timeout().is_some_and(|t| t <= now) {
                slot.machine.handle_timeout(now);
                slot.machine.after_input();
            }
        }
        self.settle();
        true
    }

    /// Runs until `d` of simulated time has passed.
    pub(crate) fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        self.run_until_time(end);
    }

    /// Runs until the simulated clock reads `end`.
    pub(crate) fn run_until_time(&mut self, end: Instant) {
        let mut steps = 0usize;
        while self.step(end) {
            steps += 1;
            assert!(steps < MAX_STEPS, "timers do not advance");
        }
        self.now = self.now.max(end);
        self.settle();
    }

    /// Runs until `done` holds (checked after every step) or `limit` of
    /// simulated time has passed; whether `done` held.
    pub(crate) fn run_until(
        &mut self,
        limit: Duration,
        mut done: impl FnMut(&mut Self) -> bool,
    ) -> bool {
        let end = self.now + limit;
        self.settle();
        let mut steps = 0usize;
        loop {
            if done(self) {
                return true;
            }
            if !self.step(end) {
                self.now = self.now.max(end);
                self.settle();
                return done(self);
            }
            steps += 1;
            assert!(steps < MAX_STEPS, "timers do not advance");
        }
    }
}
