//! One replication association over a TCP connection the embedder owns
//! (MS-WINSRA 3.1.5.1), sans-IO: bytes and timeouts in with an explicit
//! `now`, bytes to send, events and the next deadline out.
//!
//! The association handles what belongs to the association itself: the
//! start handshake with handles on both sides, the stop, the handle check
//! on every message, framing, and the reply timeout. Replication messages
//! on an established association go up as [`Event::Replication`]; what to
//! answer is the caller's (a WINS server's) business, sent with
//! [`Association::send`].
//!
//! The run loop, after every input: drain [`Association::poll_send`] into
//! the socket and [`Association::poll_event`], close the socket once
//! [`Association::is_closed`] says so, and wait for bytes or
//! [`Association::poll_timeout`].
//!
//! Rules (MS-WINSRA 3.1.5.1; Samba `wrepl_in_call.c` where the spec is
//! silent):
//!
//! * A start request with Destination handle 0 or ours is answered with a
//!   start response carrying our handle; a repeated one gets the same
//!   handle. One with another handle, or with a major version other than 2
//!   (2.2.3: "silently discarded"), is ignored.
//! * A stop with our handle ends the association without a reply; a stop
//!   with another handle is ignored (as Samba does).
//! * A message with another handle than ours is ignored; a replication
//!   message before the association is set up, whatever its handle, is
//!   answered with a stop, reason 4, and the connection is closed.
//! * A message that does not parse, or a stream that cannot be framed,
//!   closes the connection (Samba does the same).

use core::time::Duration;
use std::collections::VecDeque;
use std::time::Instant;

use crate::winsrepl::{
    Body, BodyRepr, EmitError, FrameError, Framer, MAX_MESSAGE_LEN, Message, MessageRepr,
    OPCODE_BITS, ParseError, ReplCommand, Start, StopReason,
};

/// Timeouts of an association.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssociationConfig {
    /// How long an initiator waits for the start response.
    pub start_timeout: Duration,
    /// How long a map or name records request waits for its response
    /// (Samba's client: 60 s).
    pub reply_timeout: Duration,
    /// Largest message accepted, Packet Length included: the most the
    /// connection's framer buffers.
    pub max_message_len: usize,
}

impl Default for AssociationConfig {
    fn default() -> Self {
        Self {
            start_timeout: Duration::from_secs(60),
            reply_timeout: Duration::from_secs(60),
            max_message_len: MAX_MESSAGE_LEN,
        }
    }
}

/// Why an association failed; the connection is then closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AssociationError {
    /// The stream could not be cut into messages.
    #[error("framing: {0}")]
    Frame(FrameError),
    /// A message did not parse.
    #[error("message: {0}")]
    Parse(ParseError),
    /// No start response within [`AssociationConfig::start_timeout`].
    #[error("no start response in time")]
    StartTimeout,
    /// No response to a request within [`AssociationConfig::reply_timeout`].
    #[error("no response in time")]
    ReplyTimeout,
    /// The peer sent a replication message before the association was set
    /// up.
    #[error("replication message before the association")]
    NotAssociated,
}

/// What an association reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The association is set up.
    Associated {
        /// The peer's handle, put in every message we send.
        peer_handle: u32,
        /// The peer's NBNS Minor Version (5 or more: persistent
        /// associations and INFORM).
        minor: u16,
    },
    /// A replication message on the established association.
    Replication(Received),
    /// The peer stopped the association (no reply is sent); close the
    /// connection.
    Stopped(StopReason),
    /// The association failed; the connection is to be closed.
    Failed(AssociationError),
    /// The peer closed the connection; `clean` is false when it did so in
    /// the middle of a message.
    Closed {
        /// Whether the stream ended between messages.
        clean: bool,
    },
}

/// A replication message that parsed, kept as its bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Received {
    bytes: Vec<u8>,
}

impl Received {
    /// The message's bytes, Packet Length included.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The parsed message.
    #[must_use]
    pub fn message(&self) -> Option<Message<'_>> {
        Message::parse(&self.bytes).ok()
    }
}

impl core::fmt::Debug for Received {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.message() {
            Some(m) => m.fmt(f),
            None => f.write_str("Received(?)"),
        }
    }
}

/// Why [`Association::send`] refused a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The association is not set up, or is over.
    #[error("no established association")]
    NotAssociated,
    /// Start and stop messages are the association's own; use
    /// [`Association::stop`].
    #[error("start and stop messages are sent by the association")]
    NotReplication,
    /// The message cannot be emitted.
    #[error("emit: {0}")]
    Emit(EmitError),
}

/// The phases of an association.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Initiator: start request sent, waiting for the response until the
    /// deadline.
    Starting { deadline: Instant },
    /// Responder: waiting for the start request.
    AwaitingStart,
    /// Set up.
    Associated {
        peer_handle: u32,
        /// A request waits for its response until this.
        reply_deadline: Option<Instant>,
    },
    /// Over; the connection is to be closed once the output is sent.
    Closed,
}

/// One association over one TCP connection.
#[derive(Debug)]
pub struct Association {
    config: AssociationConfig,
    own_handle: u32,
    phase: Phase,
    framer: Framer,
    output: VecDeque<Vec<u8>>,
    events: VecDeque<Event>,
}

impl Association {
    /// The initiator's side of a connection it has just opened: queues the
    /// start request carrying `own_handle` (non-zero and unique among the
    /// caller's associations, as MS-WINSRA 3.1.5.1 asks).
    #[must_use]
    pub fn connect(now: Instant, config: AssociationConfig, own_handle: u32) -> Self {
        let mut a = Self::new(
            config,
            own_handle,
            Phase::Starting {
                deadline: now + config.start_timeout,
            },
        );
        a.queue(&MessageRepr::start_request(own_handle));
        a
    }

    /// The responder's side of an accepted connection.
    #[must_use]
    pub fn accept(config: AssociationConfig, own_handle: u32) -> Self {
        Self::new(config, own_handle, Phase::AwaitingStart)
    }

    fn new(config: AssociationConfig, own_handle: u32, phase: Phase) -> Self {
        Self {
            config,
            own_handle,
            phase,
            framer: Framer::with_limit(config.max_message_len),
            output: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Our handle.
    #[must_use]
    pub fn own_handle(&self) -> u32 {
        self.own_handle
    }

    /// The peer's handle, once associated.
    #[must_use]
    pub fn peer_handle(&self) -> Option<u32> {
        match self.phase {
            Phase::Associated { peer_handle, .. } => Some(peer_handle),
            _ => None,
        }
    }

    /// Bytes of memory the connection's input buffer holds: at most
    /// [`AssociationConfig::max_message_len`] while a message is incomplete.
    #[must_use]
    pub fn buffered_capacity(&self) -> usize {
        self.framer.capacity()
    }

    /// Whether the association is over: close the connection once
    /// [`Association::poll_send`] is drained.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// Bytes received on the connection, in chunks of any size.
    pub fn handle_received(&mut self, now: Instant, bytes: &[u8]) {
        if self.is_closed() {
            return;
        }
        let mut messages = Vec::new();
        let framed = self.framer.feed_all(bytes, |m| messages.push(m.to_vec()));
        for message in messages {
            if self.is_closed() {
                return;
            }
            self.handle_message(now, message);
        }
        if let Err(e) = framed {
            self.fail(AssociationError::Frame(e));
        }
    }

    /// The peer closed the connection.
    pub fn handle_closed(&mut self) {
        if !self.is_closed() {
            self.phase = Phase::Closed;
            self.events.push_back(Event::Closed {
                clean: self.framer.is_at_boundary(),
            });
        }
    }

    /// Time has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.phase {
            Phase::Starting { deadline } if now >= deadline => {
                self.fail(AssociationError::StartTimeout);
            }
            Phase::Associated {
                reply_deadline: Some(deadline),
                ..
            } if now >= deadline => {
                self.stop(StopReason::Error);
                self.events
                    .push_back(Event::Failed(AssociationError::ReplyTimeout));
            }
            _ => {}
        }
    }

    /// The next deadline, if any.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.phase {
            Phase::Starting { deadline } => Some(deadline),
            Phase::Associated { reply_deadline, .. } => reply_deadline,
            _ => None,
        }
    }

    /// The next bytes to write to the connection.
    #[must_use]
    pub fn poll_send(&mut self) -> Option<Vec<u8>> {
        self.output.pop_front()
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Sends a replication message on the established association, with
    /// the peer's handle. A map or name records request starts the reply
    /// timeout, which the response stops.
    ///
    /// # Errors
    /// A [`SendError`]; nothing is queued then.
    pub fn send(&mut self, now: Instant, body: BodyRepr<'_>) -> Result<(), SendError> {
        let Phase::Associated {
            peer_handle,
            reply_deadline,
        } = self.phase
        else {
            return Err(SendError::NotAssociated);
        };
        let Some(command) = body.command() else {
            return Err(SendError::NotReplication);
        };
        let m = MessageRepr {
            opcode: OPCODE_BITS,
            handle: peer_handle,
            body,
            padding: &[],
        };
        let mut bytes = Vec::with_capacity(m.buffer_len());
        m.emit_buf(&mut bytes).map_err(SendError::Emit)?;
        self.output.push_back(bytes);
        if matches!(command, ReplCommand::TableQuery | ReplCommand::SendRequest) {
            self.phase = Phase::Associated {
                peer_handle,
                reply_deadline: reply_deadline.or(Some(now + self.config.reply_timeout)),
            };
        }
        Ok(())
    }

    /// Stops the association: queues a stop to the peer (when associated)
    /// and closes.
    pub fn stop(&mut self, reason: StopReason) {
        if let Phase::Associated { peer_handle, .. } = self.phase {
            self.queue(&MessageRepr::stop(peer_handle, reason));
        }
        self.phase = Phase::Closed;
    }

    fn handle_message(&mut self, now: Instant, bytes: Vec<u8>) {
        let message = match Message::parse(&bytes) {
            Ok(m) => m,
            Err(e) => return self.fail(AssociationError::Parse(e)),
        };
        let ours = message.header.handle == self.own_handle;
        match message.body {
            Body::StartRequest(start) => {
                if (ours || message.header.handle == 0) && start.major == 2 {
                    self.answer_start(start);
                }
            }
            Body::StartReply(start) => {
                if ours && matches!(self.phase, Phase::Starting { .. }) && start.major == 2 {
                    self.associated(start);
                }
            }
            Body::Stop(stop) => {
                if ours {
                    self.phase = Phase::Closed;
                    self.events.push_back(Event::Stopped(stop.reason));
                }
            }
            _ => match self.phase {
                Phase::Associated {
                    peer_handle,
                    reply_deadline,
                } if ours => {
                    let answers = matches!(message.body, Body::TableReply(_) | Body::SendReply(_));
                    if answers && reply_deadline.is_some_and(|d| now <= d) {
                        self.phase = Phase::Associated {
                            peer_handle,
                            reply_deadline: None,
                        };
                    }
                    self.events
                        .push_back(Event::Replication(Received { bytes }));
                }
                // Another association's handle: ignored, as Samba does.
                Phase::Associated { .. } => {}
                _ => {
                    self.queue(&MessageRepr::stop(0, StopReason::Error));
                    self.fail(AssociationError::NotAssociated);
                }
            },
        }
    }

    /// A start request we accept: answer with our handle, and (the first
    /// time) become associated.
    fn answer_start(&mut self, start: Start) {
        self.queue(&MessageRepr::start_reply(start.handle, self.own_handle));
        match self.phase {
            Phase::Associated { peer_handle, .. } if peer_handle == start.handle => {}
            Phase::Associated { reply_deadline, .. } => {
                self.phase = Phase::Associated {
                    peer_handle: start.handle,
                    reply_deadline,
                };
            }
            _ => self.associated(start),
        }
    }

    fn associated(&mut self, start: Start) {
        self.phase = Phase::Associated {
            peer_handle: start.handle,
            reply_deadline: None,
        };
        self.events.push_back(Event::Associated {
            peer_handle: start.handle,
            minor: start.minor,
        });
    }

    fn fail(&mut self, e: AssociationError) {
        self.phase = Phase::Closed;
        self.events.push_back(Event::Failed(e));
    }

    fn queue(&mut self, m: &MessageRepr<'_>) {
        let mut bytes = Vec::with_capacity(m.buffer_len());
        if m.emit_buf(&mut bytes).is_ok() {
            self.output.push_back(bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use core::net::Ipv4Addr;

    use super::*;
    use crate::winsrepl::{OwnerRecord, OwnerTableRepr, UpdateKind};

    const C: u32 = 0x4a4b_4c4d;
    const S: u32 = 0x1234_5678;

    fn cfg() -> AssociationConfig {
        AssociationConfig::default()
    }

    /// Moves every queued output of `from` into `to`, as one TCP stream.
    fn pump(now: Instant, from: &mut Association, to: &mut Association) -> usize {
        let mut n = 0;
        while let Some(bytes) = from.poll_send() {
            to.handle_received(now, &bytes);
            n += 1;
        }
        n
    }

    fn events(a: &mut Association) -> Vec<Event> {
        core::iter::from_fn(|| a.poll_event()).collect()
    }

    fn pair(now: Instant) -> (Association, Association) {
        let mut client = Association::connect(now, cfg(), C);
        let mut server = Association::accept(cfg(), S);
        assert_eq!(pump(now, &mut client, &mut server), 1);
        assert_eq!(pump(now, &mut server, &mut client), 1);
        assert_eq!(
            events(&mut server),
            [Event::Associated {
                peer_handle: C,
                minor: 5
            }]
        );
        assert_eq!(
            events(&mut client),
            [Event::Associated {
                peer_handle: S,
                minor: 5
            }]
        );
        (client, server)
    }

    fn command(e: &Event) -> Option<ReplCommand> {
        match e {
            Event::Replication(r) => r.message()?.body.command(),
            _ => None,
        }
    }

    #[test]
    fn associate_query_reply_and_stop() {
        let now = Instant::now();
        let (mut client, mut server) = pair(now);
        client.send(now, BodyRepr::TableQuery).unwrap();
        assert_eq!(client.poll_timeout(), Some(now + cfg().reply_timeout));
        pump(now, &mut client, &mut server);
        let got = events(&mut server);
        assert_eq!(got.len(), 1);
        assert_eq!(command(&got[0]), Some(ReplCommand::TableQuery));
        let Event::Replication(r) = &got[0] else {
            unreachable!()
        };
        assert_eq!(r.message().unwrap().header.handle, S);

        let owners = [OwnerRecord::new(Ipv4Addr::new(10, 0, 0, 1), 9, 0)];
        let table = OwnerTableRepr {
            owners: &owners,
            initiator: Ipv4Addr::new(10, 0, 0, 1),
        };
        server.send(now, BodyRepr::TableReply(table)).unwrap();
        pump(now, &mut server, &mut client);
        let got = events(&mut client);
        assert_eq!(command(&got[0]), Some(ReplCommand::TableReply));
        let Event::Replication(r) = &got[0] else {
            unreachable!()
        };
        assert_eq!(r.message().unwrap().header.handle, C);
        assert_eq!(client.poll_timeout(), None, "the reply stops the timeout");

        client.stop(StopReason::Normal);
        assert!(client.is_closed());
        pump(now, &mut client, &mut server);
        assert_eq!(events(&mut server), [Event::Stopped(StopReason::Normal)]);
        assert!(server.is_closed());
        assert_eq!(server.poll_send(), None, "no reply to a stop");
    }

    #[test]
    fn samba_start_reply_sets_up_the_initiator() {
        // Samba 4.17's start response to handle 0x4a4b4c4d (samba-pull.pcap, frame 6).
        let now = Instant::now();
        let mut client = Association::connect(now, cfg(), C);
        let start = client.poll_send().unwrap();
        assert_eq!(&start[..8], b"\x00\x00\x00\x29\x00\x00\x78\x00");
        let mut reply = vec![
            0, 0, 0, 0x29, 0, 0, 0x78, 0, 0x4a, 0x4b, 0x4c, 0x4d, 0, 0, 0, 1,
        ];
        reply.extend_from_slice(&[0x12, 0x34, 0x56, 0x78, 0, 2, 0, 5]);
        reply.extend_from_slice(&[0; 21]);
        for b in &reply {
            client.handle_received(now, core::slice::from_ref(b));
        }
        assert_eq!(
            events(&mut client),
            [Event::Associated {
                peer_handle: S,
                minor: 5
            }]
        );
        assert_eq!(client.peer_handle(), Some(S));
    }

    #[test]
    fn a_repeated_start_gets_the_same_handle() {
        let now = Instant::now();
        let (_client, mut server) = pair(now);
        // The client's start again, on the same connection.
        let mut again = Vec::new();
        MessageRepr::start_request(C).emit_buf(&mut again).unwrap();
        server.handle_received(now, &again);
        let reply = server.poll_send().unwrap();
        let m = Message::parse(&reply).unwrap();
        assert_eq!(m.body, Body::StartReply(Start::new(S)));
        assert_eq!(m.header.handle, C);
        assert!(events(&mut server).is_empty());
    }

    #[test]
    fn starts_and_messages_with_other_handles_are_ignored() {
        let now = Instant::now();
        let mut server = Association::accept(cfg(), S);
        let mut wrong = Vec::new();
        MessageRepr {
            handle: 7,
            ..MessageRepr::start_request(C)
        }
        .emit_buf(&mut wrong)
        .unwrap();
        server.handle_received(now, &wrong);
        assert_eq!(server.poll_send(), None);
        // Major version 1: silently discarded (MS-WINSRA 2.2.3).
        let mut old = Vec::new();
        let body = BodyRepr::StartRequest(Start {
            handle: C,
            major: 1,
            minor: 1,
        });
        MessageRepr {
            body,
            ..MessageRepr::start_request(C)
        }
        .emit_buf(&mut old)
        .unwrap();
        server.handle_received(now, &old);
        assert_eq!(server.poll_send(), None);
        assert!(events(&mut server).is_empty());

        let (_client, mut server) = pair(now);
        let mut foreign = Vec::new();
        MessageRepr::table_query(S + 1)
            .emit_buf(&mut foreign)
            .unwrap();
        server.handle_received(now, &foreign);
        let mut foreign_stop = Vec::new();
        MessageRepr::stop(S + 1, StopReason::Normal)
            .emit_buf(&mut foreign_stop)
            .unwrap();
        server.handle_received(now, &foreign_stop);
        assert!(events(&mut server).is_empty());
        assert!(!server.is_closed());
        assert_eq!(server.poll_send(), None);
    }

    #[test]
    fn replication_before_the_association_is_refused() {
        let now = Instant::now();
        let mut server = Association::accept(cfg(), S);
        let mut query = Vec::new();
        MessageRepr::table_query(0).emit_buf(&mut query).unwrap();
        server.handle_received(now, &query);
        let sent = server.poll_send().unwrap();
        let stop = Message::parse(&sent).unwrap();
        assert_eq!(
            stop.body,
            Body::Stop(crate::winsrepl::Stop {
                reason: StopReason::Error
            })
        );
        assert_eq!(
            events(&mut server),
            [Event::Failed(AssociationError::NotAssociated)]
        );
        assert!(server.is_closed());
        // Nothing more is read.
        server.handle_received(now, &query);
        assert!(events(&mut server).is_empty());
    }

    #[test]
    fn timeouts_close_the_association() {
        let now = Instant::now();
        let mut client = Association::connect(now, cfg(), C);
        let deadline = client.poll_timeout().unwrap();
        client.handle_timeout(deadline - Duration::from_millis(1));
        assert!(!client.is_closed());
        client.handle_timeout(deadline);
        assert_eq!(
            events(&mut client),
            [Event::Failed(AssociationError::StartTimeout)]
        );
        assert!(client.is_closed());

        let (mut client, _server) = pair(now);
        let owner = OwnerRecord::new(Ipv4Addr::new(10, 0, 0, 1), 9, 1);
        client.send(now, BodyRepr::SendRequest(owner)).unwrap();
        let _ = client.poll_send();
        client.handle_timeout(now + cfg().reply_timeout);
        assert_eq!(
            events(&mut client),
            [Event::Failed(AssociationError::ReplyTimeout)]
        );
        let sent = client.poll_send().unwrap();
        let stop = Message::parse(&sent).unwrap();
        assert_eq!(stop.header.handle, S);
        assert!(client.is_closed());
    }

    #[test]
    fn a_cut_and_a_bad_stream() {
        let now = Instant::now();
        let (mut client, mut server) = pair(now);
        let owners = [OwnerRecord::new(Ipv4Addr::new(10, 0, 0, 1), 9, 0)];
        client
            .send(
                now,
                BodyRepr::UpdateNotification(
                    UpdateKind::Inform,
                    OwnerTableRepr {
                        owners: &owners,
                        initiator: Ipv4Addr::UNSPECIFIED,
                    },
                ),
            )
            .unwrap();
        let bytes = client.poll_send().unwrap();
        server.handle_received(now, &bytes[..bytes.len() - 1]);
        server.handle_closed();
        assert_eq!(events(&mut server), [Event::Closed { clean: false }]);

        let (_client, mut server) = pair(now);
        server.handle_received(now, &[0xff, 0xff, 0xff, 0xff]);
        assert!(matches!(
            events(&mut server)[..],
            [Event::Failed(AssociationError::Frame(_))]
        ));
        assert!(server.is_closed());

        let (_client, mut server) = pair(now);
        // A whole message that does not parse: a name records response
        // whose count runs past its end.
        server.handle_received(now, b"\x00\x00\x00\x14\x00\x00\x78\x00\x12\x34\x56\x78\x00\x00\x00\x03\x00\x00\x00\x03\x00\x00\x00\x01");
        assert!(matches!(
            events(&mut server)[..],
            [Event::Failed(AssociationError::Parse(_))]
        ));
    }

    #[test]
    fn send_needs_an_association_and_a_replication_body() {
        let now = Instant::now();
        let mut server = Association::accept(cfg(), S);
        assert_eq!(
            server.send(now, BodyRepr::TableQuery),
            Err(SendError::NotAssociated)
        );
        let (mut client, _server) = pair(now);
        let body = BodyRepr::Stop(crate::winsrepl::Stop {
            reason: StopReason::Normal,
        });
        assert_eq!(client.send(now, body), Err(SendError::NotReplication));
        assert_eq!(client.poll_send(), None);
    }
}
